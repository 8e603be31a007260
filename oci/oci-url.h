/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The URLs of OCI requests: a service's base URL in a region, percent-encoding (libcurl's), and
 * base + path + query string. */

#include "oci-model.h"

/* Base URL of a service in a region, without trailing '/': "https://iaas.us-phoenix-1.oraclecloud.com",
 * or the endpoint template with {region} and {service} substituted. */
int oci_service_base_url(const char *endpoint, OciService service, const char *region, char **ret);

/* Percent-encodes s per RFC 3986 (unreserved characters kept, everything else %XX). */
char *oci_url_escape(const char *s);

/* base + path (already encoded) + "?name=value&..." from query (NULL-terminated name, value,
 * ...; encoded here; NULL or empty: no '?'). -EINVAL for a name without a value. */
int oci_url_build(const char *base, const char *path, const char * const *query, char **ret);

/* prefix + percent-encoded id + suffix ("/20160918/instances/" ID ""); NULL for an empty id or
 * on OOM. */
char *oci_url_path_with_id(const char *prefix, const char *id, const char *suffix);

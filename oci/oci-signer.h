/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* OCI request signing, signature version 1 (draft-cavage-http-signatures-08, rsa-sha256,
 * RSASSA-PKCS1-v1_5), see docs/oci-api.md §1.
 *
 * GET/HEAD/DELETE sign "date (request-target) host"; POST/PUT/PATCH also sign
 * "content-length content-type x-content-sha256", even for an empty body. The caller must send
 * exactly the signed values: the Date header, the URL's path and query bytes unchanged, and for
 * body methods Content-Type, Content-Length and x-content-sha256. Sign again for every attempt:
 * the date is part of the signature. */

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef struct OciSigner OciSigner;

/* Takes a reference on key. key_id is "TENANCY/USER/FINGERPRINT". */
int oci_signer_new(EVP_PKEY *key, const char *key_id, OciSigner **ret);
OciSigner *oci_signer_free(OciSigner *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciSigner*, oci_signer_free);
const char *oci_signer_key_id(const OciSigner *s);

/* The header values of one signed attempt. Fields are NULL when not used by the method. */
typedef struct OciSignedHeaders {
        char *date;              /* value of Date: */
        char *content_type;      /* body methods only */
        char *content_length;
        char *x_content_sha256;
        char *authorization;     /* value of Authorization: */
        char *signing_string;    /* what was signed (debugging, tests) */
} OciSignedHeaders;

void oci_signed_headers_done(OciSignedHeaders *h);

/* Signs method + url (absolute http(s) URL, already percent-encoded exactly as it will be sent)
 * with the given Date value (format_http_date()). For body methods body/body_size are hashed
 * (body may be NULL when body_size is 0) and content_type defaults to "application/json".
 * Returns -EINVAL for a malformed URL or method. ret is filled only on success. */
int oci_signer_sign(const OciSigner *s, const char *method, const char *url, const void *body, size_t body_size,
                    const char *content_type, const char *date, OciSignedHeaders *ret);

/* ---- building blocks (public for tests and special cases) ---- */

/* POST, PUT, PATCH. */
bool oci_method_has_body(const char *method);

/* base64(SHA-256(body)): 44 characters + NUL. */
#define OCI_SHA256_BASE64_MAX 45
int oci_body_sha256(const void *body, size_t size, char ret[static OCI_SHA256_BASE64_MAX]);

/* Splits an absolute http(s) URL into the signed host value (authority without userinfo; the
 * port only when it is not the scheme's default, which is what curl sends in Host:) and the
 * request target (path plus "?query", "/" for an empty path, no fragment). */
int oci_url_split(const char *url, char **ret_host, char **ret_target);

typedef struct OciSignHeader {
        const char *name;        /* lowercase, e.g. "(request-target)", "date" */
        const char *value;
} OciSignHeader;

/* "name: value" lines joined by "\n", no trailing newline; ret_header_list (optional) gets the
 * names joined by ' ' for the headers="..." parameter. */
int oci_signing_string(const OciSignHeader *headers, size_t n, char **ret, char **ret_header_list);

/* base64 (no line breaks) of the RSA-SHA256 PKCS#1 v1.5 signature of data. */
int oci_sign_base64(EVP_PKEY *key, const void *data, size_t size, char **ret);

/* The Authorization value: "Signature " + name="value" pairs joined by ','. param_order lists
 * "version", "headers", "keyId", "algorithm", "signature" in the wanted order (NULL-terminated);
 * NULL means the Go SDK order (version, headers, keyId, algorithm, signature), which is what
 * oci_signer_sign() produces. The order is not significant to the server. */
int oci_authorization_format(const char *key_id, const char *header_list, const char *signature,
                             const char * const *param_order, char **ret);

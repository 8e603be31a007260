/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The transport under the OCI client: it carries one logical request at a time for whoever
 * submitted it (the calls, oci-call.h), retrying and pacing it as oci-client.h describes, and
 * knows nothing of calls, pages or typed objects. A request waits in its endpoint's queue, is
 * sent when a slot within max_in_flight is free and the endpoint's pacer allows, and ends in
 * exactly one done() callback, from the event loop, unless it is cancelled first. */

#include <openssl/evp.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "oci-client.h"

typedef struct OciTransport OciTransport;
typedef struct OciRequest OciRequest;

/* Exactly one of response (2xx) and error is non-NULL; both are valid during the call only. The
 * request is freed when it returns. */
typedef void (*oci_request_done_t)(const OciResponse *response, const OciError *error, void *userdata);

/* Signs with key as key_id; settings as for oci_client_new(). */
int oci_transport_new(sd_event *event, EVP_PKEY *key, const char *key_id, const OciClientSettings *settings,
                      OciTransport **ret, char **ret_error);
/* Every request must have ended or been cancelled. */
OciTransport *oci_transport_free(OciTransport *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciTransport*, oci_transport_free);

void oci_transport_get_stats(OciTransport *t, OciClientStats *ret);
void oci_transport_reset_max_in_flight(OciTransport *t);

/* Queues a request; *ret is valid until done() returns or oci_request_cancel(). */
int oci_transport_submit(OciTransport *t, const OciRequestParams *params, oci_request_done_t done, void *userdata,
                         OciRequest **ret);
/* Drops a request wherever it is (queued, on the wire, waiting to retry): done() does not run. */
void oci_request_cancel(OciRequest *req);

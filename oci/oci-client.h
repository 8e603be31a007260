/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asynchronous OCI REST client on sd-event (curl-glue.h), with the calls stopstart needs.
 *
 * Every request is signed afresh for each attempt (oci-signer.h). Failed attempts are retried on
 * 429, 500, 502, 503, 504 and transport errors, with exponential backoff and full jitter
 * (random in [0, min(retry_max_delay, retry_base_delay * 2^(n-1))]), at least as long as a
 * Retry-After header asks, at most max_attempts attempts and no new attempt once retry_max_time
 * has passed since the first one. A POST is retried only when it carries an opc-retry-token (the
 * service then acts at most once), or when it is a read (Resource Search), or when the
 * connection could not even be opened (nothing was sent). At most max_in_flight requests are on
 * the wire; the rest wait in a queue per endpoint (host), served round-robin; with rate_limit > 0
 * each endpoint also has a token bucket of that many requests per second (burst: one second's
 * worth, at least 1). Each endpoint paces itself by what the service answers (OciPacer): a 429
 * lowers its rate, answers raise it again up to rate_limit, and a Retry-After holds back every
 * request to that endpoint, not only the one that got it.
 *
 * Callbacks run from the event loop, never from within the call that started the operation.
 * Objects handed to a callback (non-const pointers) belong to it. A handler may start and cancel
 * other calls, but must not free the client. Every started call ends in exactly one final
 * callback unless it is cancelled (oci_call_cancel()) or the client is freed, which cancel
 * silently. Paginated calls with all_pages call the handler once per page; the final call has
 * next_page == NULL or an error.
 *
 * The errors are in oci-error.h, waiting for an instance's state in oci-wait.h. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"
#include "oci-error.h"
#include "oci-model.h"
#include "oci-signer.h"
#include "time-util.h"

typedef struct OciClient OciClient;
typedef struct OciCall OciCall;

/* ---- settings, client ---- */

typedef struct OciClientSettings {
        const char *endpoint;    /* config oci.endpoint: base URL with {region}/{service}, or NULL */
        const char *ca_file;
        const char *user_agent;  /* NULL = "stopstart/VERSION" */
        usec_t connect_timeout;
        usec_t request_timeout;
        unsigned max_attempts;
        usec_t retry_max_time;
        usec_t retry_base_delay;
        usec_t retry_max_delay;
        uint64_t max_response_size;
        unsigned max_in_flight;
        double rate_limit;       /* requests/s per endpoint, 0 = none */
} OciClientSettings;

/* Fills s from a loaded Config (strings point into config). */
void oci_client_settings_from_config(OciClientSettings *s, const Config *config);

/* Signs with key as key_id ("TENANCY/USER/FINGERPRINT"); the client takes its own reference.
 * ret_error (optional) explains a bad ca_file. */
int oci_client_new(sd_event *event, EVP_PKEY *key, const char *key_id, const OciClientSettings *settings,
                   OciClient **ret, char **ret_error);
/* Cancels every call still running (no callbacks). */
OciClient *oci_client_free(OciClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciClient*, oci_client_free);

typedef struct OciClientStats {
        uint64_t requests;       /* logical requests finished (success or error) */
        uint64_t attempts;       /* HTTP requests sent, retries included */
        uint64_t retries;
        uint64_t failures;       /* logical requests that ended in an error */
        uint64_t bytes_received;
        unsigned in_flight;
        unsigned max_in_flight;  /* high-water mark */
        unsigned queued;
} OciClientStats;
void oci_client_get_stats(OciClient *c, OciClientStats *ret);
void oci_client_reset_max_in_flight(OciClient *c);

/* Cancels a call: no callback will run for it. The handle is invalid afterwards, as it is once
 * the final callback has run (cancelling from inside that callback is a no-op). */
void oci_call_cancel(OciCall *call);

/* A random opc-retry-token (32 alphanumerics). */
int oci_retry_token_new(char **ret);

/* ---- raw requests ---- */

typedef struct OciRequestParams {
        const char *operation;   /* name for messages and logs, e.g. "GetInstance" */
        const char *method;      /* "GET", "POST", ... */
        OciService service;
        const char *region;
        const char *path;        /* after the base URL, percent-encoded, e.g. "/20160918/instances" */
        const char * const *query; /* NULL-terminated name, value, name, value...; encoded here */
        const void *body;        /* body methods; copied */
        size_t body_size;
        const char *content_type; /* default application/json */
        const char *retry_token; /* opc-retry-token (also makes a POST retryable) */
        const char *if_match;
        bool idempotent;         /* a POST that only reads (Search): retry it without a token */
} OciRequestParams;

typedef struct OciResponse {
        long status;
        const char *body;        /* NUL-terminated, body_size bytes */
        size_t body_size;
        const char *request_id;
        const char *next_page;   /* opc-next-page, NULL on the last page */
        const char *etag;
        unsigned attempts;
} OciResponse;

/* Exactly one of response (2xx) and error is non-NULL; both are valid during the call only. */
typedef void (*oci_response_handler_t)(OciClient *c, const OciResponse *response, const OciError *error,
                                       void *userdata);

int oci_client_request(OciClient *c, const OciRequestParams *params, oci_response_handler_t handler, void *userdata,
                       OciCall **ret_call);

/* ---- the calls ---- */

typedef void (*oci_tenancy_handler_t)(OciClient *c, OciTenancy *tenancy, const OciError *error, void *userdata);
typedef void (*oci_region_subscriptions_handler_t)(OciClient *c, OciRegionSubscription *items, size_t n,
                                                   const OciError *error, void *userdata);
typedef void (*oci_compartment_handler_t)(OciClient *c, OciCompartment *compartment, const OciError *error,
                                          void *userdata);
typedef void (*oci_compartments_handler_t)(OciClient *c, OciCompartment *items, size_t n, const char *next_page,
                                           const OciError *error, void *userdata);
typedef void (*oci_instance_handler_t)(OciClient *c, OciInstance *instance, const char *etag,
                                       const OciError *error, void *userdata);
typedef void (*oci_instances_handler_t)(OciClient *c, OciInstance *items, size_t n, const char *next_page,
                                        const OciError *error, void *userdata);
typedef void (*oci_resources_handler_t)(OciClient *c, OciResourceSummary *items, size_t n, const char *next_page,
                                        const OciError *error, void *userdata);

/* Single objects handed to handlers are heap-allocated: free with these. */
OciTenancy *oci_tenancy_free(OciTenancy *t);
OciCompartment *oci_compartment_free(OciCompartment *c);
OciInstance *oci_instance_free(OciInstance *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciTenancy*, oci_tenancy_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciCompartment*, oci_compartment_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciInstance*, oci_instance_free);

/* Identity. IAM data is tenancy-wide: any subscribed region works, the home region is safest. */
int oci_get_tenancy(OciClient *c, const char *region, const char *tenancy_id, oci_tenancy_handler_t handler,
                    void *userdata, OciCall **ret_call);
int oci_list_region_subscriptions(OciClient *c, const char *region, const char *tenancy_id,
                                  oci_region_subscriptions_handler_t handler, void *userdata, OciCall **ret_call);
int oci_get_compartment(OciClient *c, const char *region, const char *compartment_id,
                        oci_compartment_handler_t handler, void *userdata, OciCall **ret_call);

typedef struct OciListCompartmentsParams {
        const char *compartment_id;      /* required; the tenancy for the whole tree */
        bool subtree;                    /* compartmentIdInSubtree=true (only with the tenancy) */
        OciAccessLevel access_level;     /* _OCI_ACCESS_LEVEL_INVALID (or < 0) = not sent (ANY) */
        const char *lifecycle_state;     /* filter, NULL = all */
        unsigned limit;                  /* page size, 0 = the service default */
        const char *page;                /* start at this opc-next-page token, NULL = first */
        bool all_pages;                  /* follow opc-next-page to the end */
} OciListCompartmentsParams;

int oci_list_compartments(OciClient *c, const char *region, const OciListCompartmentsParams *params,
                          oci_compartments_handler_t handler, void *userdata, OciCall **ret_call);

/* Compute. */
typedef struct OciListInstancesParams {
        const char *compartment_id;      /* required */
        const char *lifecycle_state;     /* filter, NULL = all */
        unsigned limit;
        const char *page;
        bool all_pages;
} OciListInstancesParams;

int oci_list_instances(OciClient *c, const char *region, const OciListInstancesParams *params,
                       oci_instances_handler_t handler, void *userdata, OciCall **ret_call);
int oci_get_instance(OciClient *c, const char *region, const char *instance_id, oci_instance_handler_t handler,
                     void *userdata, OciCall **ret_call);

/* POST .../instances/{id}?action=ACTION with an empty body. Use one retry_token per logical
 * action and reuse it for every attempt and resubmission: the service then acts at most once.
 * NULL generates one (retries inside this call stay safe). if_match (etag) is optional. The
 * handler gets the instance as returned (already in STARTING/STOPPING typically). */
int oci_instance_action(OciClient *c, const char *region, const char *instance_id, OciInstanceAction action,
                        const char *retry_token, const char *if_match, oci_instance_handler_t handler,
                        void *userdata, OciCall **ret_call);

/* Resource Search: structured query, e.g. "query instance resources where compartmentId = 'X'". */
typedef struct OciSearchParams {
        const char *query;               /* required */
        unsigned limit;                  /* 1..1000, 0 = service default */
        const char *page;
        bool all_pages;
} OciSearchParams;

int oci_search_resources(OciClient *c, const char *region, const OciSearchParams *params,
                         oci_resources_handler_t handler, void *userdata, OciCall **ret_call);

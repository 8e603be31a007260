/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A call on the OCI client, for the files that implement calls: oci-client.c (the client, a
 * call's life, the raw request), oci-calls.c (the typed calls: decoding and paging), oci-wait.c
 * (the waiter). A call submits one request at a time to the transport (oci-transport.h), again
 * for the next page or the next poll, and ends in one final run of its handler. The struct is
 * shared because the typed calls and the waiter keep their state in it. */

#include "oci-client.h"
#include "oci-transport.h"

/* Runs when the call's request ended (exactly one of response and error non-NULL); it runs the
 * typed handler and ends the call, or submits its next request. */
typedef void (*oci_call_response_t)(OciCall *call, const OciResponse *response, const OciError *error);

struct OciCall {
        OciClient *client;
        OciCall *prev, *next;
        OciRequest *request;     /* current request, NULL between requests */
        sd_event_source *timer;  /* waiter polls */
        unsigned in_callback;
        bool cancelled, finished;

        oci_call_response_t on_response;
        void (*handler)(void);   /* typed user handler, cast by on_response */
        void *userdata;

        /* what to (re)submit */
        char *operation, *method, *region, *path;
        OciService service;
        char **query;            /* name, value, ...: without the page */
        char *body;
        size_t body_size;
        char *retry_token, *if_match;
        bool idempotent;
        char *page;              /* next page to ask for */
        bool all_pages;
        unsigned empty_pages;    /* consecutive empty pages with the same token */

        /* waiter */
        OciInstanceState target;
        usec_t deadline, timeout, poll_delay, poll_max;
};

typedef struct OciCallSpec {
        const char *operation;
        const char *method;
        OciService service;
        const char *region;
        char *path;              /* taken */
        char **query;            /* taken */
        const char *body;
        const char *retry_token;
        const char *if_match;
        bool idempotent;
        const char *page;
        bool all_pages;
} OciCallSpec;

/* A new call on c, not submitted yet; takes s->path and s->query, also on failure. */
int oci_call_new(OciClient *c, OciCallSpec *s, oci_call_response_t on_response, void (*handler)(void),
                 void *userdata, OciCall **ret);
/* The first request of a call from oci_call_new(); on failure the call is freed. */
int oci_call_submit_first(OciCall *call, OciCall **ret_call);
/* oci_call_new() and oci_call_submit_first(). */
int oci_call_start(OciClient *c, OciCallSpec *s, oci_call_response_t on_response, void (*handler)(void),
                   void *userdata, OciCall **ret_call);
/* Submits the call's (next) request: its page, if any, is added to the query. */
int oci_call_submit(OciCall *call);
/* Frees the call and cancels its request (no callback runs). */
void oci_call_free(OciCall *call);

/* After a handler run that is not the final one (call->in_callback was raised around it):
 * false when the handler cancelled the call, which is then freed. */
bool oci_call_invoke_end(OciCall *call);

/* A bad-response error for a 2xx whose body did not decode; the message is stored in
 * *ret_message, which must outlive e. */
void oci_call_bad_response(OciCall *call, const OciResponse *resp, const char *reason, OciError *e,
                           char **ret_message);

sd_event *oci_client_get_event(OciClient *c);

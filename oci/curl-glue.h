/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libcurl multi driven by sd-event (systemd's CurlGlue recipe): curl's sockets become sd-event io
 * sources (CURLMOPT_SOCKETFUNCTION), its timeout one time source (CURLMOPT_TIMERFUNCTION); both
 * call curl_multi_socket_action(). No thread and no blocking call: DNS is curl's threaded
 * resolver, everything else is non-blocking. Connections stay in the multi handle's pool and are
 * reused by later transfers to the same host.
 *
 * Usage: curl_glue_easy_new() gives an easy handle with the house defaults (User-Agent, HTTP/1.1,
 * timeouts, CA store, http/https only, no redirects); set request-specific options on it; then
 * curl_glue_start(). When the transfer ends, the handle is taken out of the multi handle and
 * done() is called once with curl's result; from then on the caller owns the handle again
 * (curl_easy_cleanup() it, or start it again). */

#include <curl/curl.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "time-util.h"

typedef struct CurlGlue CurlGlue;

typedef struct CurlGlueSettings {
        usec_t connect_timeout;  /* 0 = curl's default (300 s) */
        usec_t total_timeout;    /* whole transfer; 0 = none */
        const char *ca_file;     /* PEM CAs trusted in addition to the system store; NULL = none */
        const char *user_agent;  /* NULL = "stopstart/VERSION" */
        unsigned max_connections; /* idle connections kept for reuse; 0 = curl's default */
} CurlGlueSettings;

typedef void (*curl_glue_done_t)(CurlGlue *g, CURL *c, CURLcode result, void *userdata);

/* ret_error (optional) explains a bad ca_file. */
int curl_glue_new(sd_event *event, const CurlGlueSettings *settings, CurlGlue **ret, char **ret_error);
/* Transfers still running are aborted and their easy handles freed; their done() is not called. */
CurlGlue *curl_glue_free(CurlGlue *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(CurlGlue*, curl_glue_free);

sd_event *curl_glue_get_event(CurlGlue *g);

/* A new easy handle for url with the defaults applied. */
int curl_glue_easy_new(CurlGlue *g, const char *url, CURL **ret);

/* Adds c to the multi handle; done(g, c, result, userdata) runs once when it ends (from an
 * sd-event callback, never from within this call). */
int curl_glue_start(CurlGlue *g, CURL *c, curl_glue_done_t done, void *userdata);

/* Aborts a started transfer without calling done(). The caller still owns c. No-op if c is not
 * running. */
void curl_glue_cancel(CurlGlue *g, CURL *c);

/* Number of transfers started and not yet ended. */
unsigned curl_glue_running(CurlGlue *g);

/* The default User-Agent value, "stopstart/VERSION". */
const char *curl_glue_user_agent(void);

/* Helpers. */
static inline void curl_easy_cleanupp(CURL **c) {
        if (*c) {
                curl_easy_cleanup(*c);
                *c = NULL;
        }
}

static inline void curl_slist_free_allp(struct curl_slist **l) {
        if (*l) {
                curl_slist_free_all(*l);
                *l = NULL;
        }
}

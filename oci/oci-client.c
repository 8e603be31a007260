/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OCI client: a transport (oci-transport.c) and the calls on it. This file owns a call's
 * life (oci-call.h): set up, (re)submitted one request at a time, cancelled, freed, and the raw
 * request; the typed calls are in oci-calls.c, the waiter in oci-wait.c. */
#include <errno.h>
#include <string.h>

#include "oci-call.h"
#include "strv.h"

struct OciClient {
        sd_event *event;
        OciTransport *transport;
        OciCall *calls;
};

void oci_client_settings_from_config(OciClientSettings *s, const Config *config) {
        assert(s);
        assert(config);
        *s = (OciClientSettings) {
                .endpoint = config->oci.endpoint,
                .ca_file = config->oci.ca_file,
                .connect_timeout = config->oci.connect_timeout,
                .request_timeout = config->oci.request_timeout,
                .max_attempts = config->oci.max_attempts,
                .retry_max_time = config->oci.retry_max_time,
                .retry_base_delay = config->oci.retry_base_delay,
                .retry_max_delay = config->oci.retry_max_delay,
                .max_response_size = config->oci.max_response_size,
                .max_in_flight = config->discovery.max_in_flight,
                .rate_limit = config->discovery.rate_limit,
        };
}

int oci_client_new(sd_event *event, EVP_PKEY *key, const char *key_id, const OciClientSettings *settings,
                   OciClient **ret, char **ret_error) {
        _cleanup_(oci_client_freep) OciClient *c = NULL;
        int r;

        assert(event);
        assert(key);
        assert(settings);
        assert(ret);

        c = new0(OciClient, 1);
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        r = oci_transport_new(event, key, key_id, settings, &c->transport, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

OciClient *oci_client_free(OciClient *c) {
        if (!c)
                return NULL;
        while (c->calls)
                oci_call_free(c->calls);
        oci_transport_free(c->transport);
        sd_event_unref(c->event);
        return mfree(c);
}

sd_event *oci_client_get_event(OciClient *c) {
        return ASSERT_PTR(c)->event;
}

void oci_client_get_stats(OciClient *c, OciClientStats *ret) {
        assert(c);
        oci_transport_get_stats(c->transport, ret);
}

void oci_client_reset_max_in_flight(OciClient *c) {
        assert(c);
        oci_transport_reset_max_in_flight(c->transport);
}

/* ---- calls ---- */

static void call_link(OciClient *c, OciCall *call) {
        call->client = c;
        call->next = c->calls;
        if (c->calls)
                c->calls->prev = call;
        c->calls = call;
}

static void call_unlink(OciCall *call) {
        OciClient *c = call->client;

        if (call->prev)
                call->prev->next = call->next;
        else if (c->calls == call)
                c->calls = call->next;
        if (call->next)
                call->next->prev = call->prev;
        call->prev = call->next = NULL;
}

void oci_call_free(OciCall *call) {
        if (!call)
                return;
        call_unlink(call);
        oci_request_cancel(call->request);
        sd_event_source_disable_unref(call->timer);
        free(call->operation);
        free(call->method);
        free(call->region);
        free(call->path);
        strv_free(call->query);
        free(call->body);
        free(call->retry_token);
        free(call->if_match);
        free(call->page);
        free(call);
}

void oci_call_cancel(OciCall *call) {
        if (!call || call->finished)
                return;
        if (call->in_callback > 0) {
                /* freed once the callback returns */
                call->cancelled = true;
                return;
        }
        oci_call_free(call);
}

/* The call's request ended. */
static void on_request_done(const OciResponse *response, const OciError *error, void *userdata) {
        OciCall *call = userdata;

        /* detach first: the handler may submit the call's next request */
        call->request = NULL;
        call->on_response(call, response, error);
}

static char **strv_copy(char * const *l) {
        char **r = new0(char *, strv_length(l) + 1);

        if (!r)
                return NULL;
        for (size_t i = 0; l && l[i]; i++)
                if (!(r[i] = strdup(l[i])))
                        return strv_free(r);
        return r;
}

int oci_call_submit(OciCall *call) {
        _cleanup_strv_free_ char **query = NULL;
        OciRequestParams p;
        int r;

        assert(!call->request);

        query = strv_copy(call->query);
        if (!query)
                return -ENOMEM;
        if (call->page) {
                if ((r = strv_extend(&query, "page")) < 0 || (r = strv_extend(&query, call->page)) < 0)
                        return r;
        }
        p = (OciRequestParams) {
                .operation = call->operation,
                .method = call->method,
                .service = call->service,
                .region = call->region,
                .path = call->path,
                .query = (const char * const *) query,
                .body = call->body,
                .body_size = call->body_size,
                .retry_token = call->retry_token,
                .if_match = call->if_match,
                .idempotent = call->idempotent,
        };
        return oci_transport_submit(call->client->transport, &p, on_request_done, call, &call->request);
}

int oci_call_new(OciClient *c, OciCallSpec *s, oci_call_response_t on_response, void (*handler)(void),
                 void *userdata, OciCall **ret) {
        OciCall *call;

        assert(c);
        assert(ret);
        if (!handler || isempty(s->region) || !s->path) {
                s->path = mfree(s->path);
                s->query = strv_free(s->query);
                return -EINVAL;
        }

        call = new0(OciCall, 1);
        if (!call) {
                s->path = mfree(s->path);
                s->query = strv_free(s->query);
                return -ENOMEM;
        }
        call_link(c, call);
        call->on_response = on_response;
        call->handler = handler;
        call->userdata = userdata;
        call->service = s->service;
        call->path = TAKE_PTR(s->path);
        call->query = TAKE_PTR(s->query);
        call->operation = strdup(s->operation);
        call->method = strdup(s->method);
        call->region = strdup(s->region);
        call->idempotent = s->idempotent;
        call->all_pages = s->all_pages;
        call->target = _OCI_INSTANCE_STATE_INVALID;
        if (!call->operation || !call->method || !call->region ||
            (s->body && !(call->body = strdup(s->body))) ||
            (s->retry_token && !(call->retry_token = strdup(s->retry_token))) ||
            (s->if_match && !(call->if_match = strdup(s->if_match))) ||
            (s->page && !(call->page = strdup(s->page)))) {
                oci_call_free(call);
                return -ENOMEM;
        }
        call->body_size = call->body ? strlen(call->body) : 0;
        *ret = call;
        return 0;
}

int oci_call_submit_first(OciCall *call, OciCall **ret_call) {
        int r;

        r = oci_call_submit(call);
        if (r < 0) {
                oci_call_free(call);
                return r;
        }
        if (ret_call)
                *ret_call = call;
        return 0;
}

int oci_call_start(OciClient *c, OciCallSpec *s, oci_call_response_t on_response, void (*handler)(void),
                   void *userdata, OciCall **ret_call) {
        OciCall *call;
        int r;

        r = oci_call_new(c, s, on_response, handler, userdata, &call);
        if (r < 0)
                return r;
        return oci_call_submit_first(call, ret_call);
}

bool oci_call_invoke_end(OciCall *call) {
        call->in_callback--;
        if (call->cancelled && call->in_callback == 0) {
                oci_call_free(call);
                return false;
        }
        return true;
}

void oci_call_bad_response(OciCall *call, const OciResponse *resp, const char *reason, OciError *e,
                           char **ret_message) {
        *ret_message = strprintf("malformed response: %s", strna(reason));
        *e = (OciError) {
                .kind = OCI_ERROR_BAD_RESPONSE,
                .error = -EBADMSG,
                .http_status = resp->status,
                .operation = call->operation,
                .method = call->method,
                .code = "BadResponse",
                .message = *ret_message ?: "malformed response",
                .request_id = resp->request_id,
                .attempts = resp->attempts,
        };
}

/* raw */

static void raw_on_response(OciCall *call, const OciResponse *resp, const OciError *error) {
        oci_response_handler_t h = (oci_response_handler_t) call->handler;

        call->finished = true;
        h(call->client, resp, error, call->userdata);
        oci_call_free(call);
}

int oci_client_request(OciClient *c, const OciRequestParams *params, oci_response_handler_t handler, void *userdata,
                       OciCall **ret_call) {
        OciCall *call;
        int r;

        assert(c);
        assert(params);

        if (!handler)
                return -EINVAL;
        call = new0(OciCall, 1);
        if (!call)
                return -ENOMEM;
        call_link(c, call);
        call->on_response = raw_on_response;
        call->handler = (void (*)(void)) handler;
        call->userdata = userdata;
        call->operation = strdup(strempty(params->operation));
        call->method = strdup(strempty(params->method));
        if (!call->operation || !call->method) {
                oci_call_free(call);
                return -ENOMEM;
        }
        r = oci_transport_submit(c->transport, params, on_request_done, call, &call->request);
        if (r < 0) {
                oci_call_free(call);
                return r;
        }
        if (ret_call)
                *ret_call = call;
        return 0;
}

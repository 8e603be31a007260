/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The transport under the OCI client: endpoints with their queue and pacer, dispatch within
 * max_in_flight, each attempt signed and sent on the curl multi (curl-glue.h), its answer read
 * (status, body, the opc-* headers), and the retry with backoff; oci-transport.h says what it
 * promises. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "curl-glue.h"
#include "log.h"
#include "oci-retry.h"
#include "oci-transport.h"
#include "oci-url.h"
#include "strv.h"

typedef struct Endpoint Endpoint;

struct Endpoint {
        char *key;               /* scheme://authority */
        OciPacer pacer;
        OciRequest *queue_head, *queue_tail;
        Endpoint *next;
};

typedef enum RequestState {
        REQUEST_NEW,
        REQUEST_QUEUED,
        REQUEST_RUNNING,
        REQUEST_BACKOFF,
} RequestState;

struct OciRequest {
        OciTransport *transport;
        oci_request_done_t done;
        void *userdata;
        Endpoint *endpoint;
        RequestState state;
        OciRequest *qprev, *qnext;

        char *operation, *method, *url, *client_request_id;
        char *body;
        size_t body_size;
        char *content_type, *retry_token, *if_match;
        bool safe_to_repeat;

        unsigned attempts;
        usec_t first_attempt;
        usec_t attempt_sent;     /* CLOCK_MONOTONIC: when the current attempt started */
        sd_event_source *timer;

        /* the current (or last) attempt */
        CURL *easy;
        struct curl_slist *headers;
        char errbuf[CURL_ERROR_SIZE];
        char *buf;
        size_t size, allocated;
        bool oversized;
        char *resp_request_id, *next_page, *etag, *retry_after;
};

struct OciTransport {
        sd_event *event;
        CurlGlue *glue;
        OciSigner *signer;
        char *endpoint;
        OciClientSettings settings;
        sd_event_source *defer;  /* dispatch queued requests from the loop */
        sd_event_source *rate_timer;
        Endpoint *endpoints, *rr;
        unsigned in_flight;
        OciClientStats stats;
        uint64_t rnd_state;
        uint64_t request_seq;
};

static uint64_t transport_random(OciTransport *t) {
        /* splitmix64: jitter does not need a CSPRNG, only independence between clients */
        uint64_t z = (t->rnd_state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static void schedule_dispatch(OciTransport *t) {
        (void) sd_event_source_set_enabled(t->defer, SD_EVENT_ONESHOT);
}

static void dispatch(OciTransport *t);

static int on_defer(sd_event_source *s, void *userdata) {
        dispatch(ASSERT_PTR(userdata));
        return 0;
}

static int on_rate_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        dispatch(ASSERT_PTR(userdata));
        return 0;
}

int oci_transport_new(sd_event *event, EVP_PKEY *key, const char *key_id, const OciClientSettings *settings,
                      OciTransport **ret, char **ret_error) {
        _cleanup_(oci_transport_freep) OciTransport *t = NULL;
        CurlGlueSettings gs;
        int r;

        assert(event);
        assert(key);
        assert(settings);
        assert(ret);

        t = new0(OciTransport, 1);
        if (!t)
                return -ENOMEM;
        t->event = sd_event_ref(event);
        t->settings = *settings;
        if (t->settings.max_attempts == 0)
                t->settings.max_attempts = 1;
        if (t->settings.max_in_flight == 0)
                t->settings.max_in_flight = 1;
        if (t->settings.max_response_size == 0)
                t->settings.max_response_size = CONFIG_DEFAULT_MAX_RESPONSE_SIZE;
        if (settings->endpoint) {
                t->endpoint = strdup(settings->endpoint);
                if (!t->endpoint)
                        return -ENOMEM;
        }
        t->settings.endpoint = t->endpoint;
        t->settings.ca_file = NULL;
        t->settings.user_agent = NULL;
        if (getrandom(&t->rnd_state, sizeof t->rnd_state, 0) != sizeof t->rnd_state)
                t->rnd_state = now(CLOCK_MONOTONIC) ^ (uint64_t) getpid();

        r = oci_signer_new(key, key_id, &t->signer);
        if (r < 0)
                return r;

        gs = (CurlGlueSettings) {
                .connect_timeout = settings->connect_timeout,
                .total_timeout = settings->request_timeout,
                .ca_file = settings->ca_file,
                .user_agent = settings->user_agent,
                /* keep one idle connection per possible in-flight request */
                .max_connections = MAX(t->settings.max_in_flight, 4U),
        };
        r = curl_glue_new(event, &gs, &t->glue, ret_error);
        if (r < 0)
                return r;

        r = sd_event_add_defer(event, &t->defer, on_defer, t);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(t->defer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(t->defer, "oci-dispatch");

        *ret = TAKE_PTR(t);
        return 0;
}

OciTransport *oci_transport_free(OciTransport *t) {
        if (!t)
                return NULL;
        while (t->endpoints) {
                Endpoint *e = t->endpoints;
                t->endpoints = e->next;
                free(e->key);
                free(e);
        }
        sd_event_source_disable_unref(t->defer);
        sd_event_source_disable_unref(t->rate_timer);
        curl_glue_free(t->glue);
        oci_signer_free(t->signer);
        sd_event_unref(t->event);
        free(t->endpoint);
        return mfree(t);
}

void oci_transport_get_stats(OciTransport *t, OciClientStats *ret) {
        assert(t);
        assert(ret);
        *ret = t->stats;
        ret->in_flight = t->in_flight;
        ret->queued = 0;
        for (Endpoint *e = t->endpoints; e; e = e->next)
                for (OciRequest *r = e->queue_head; r; r = r->qnext)
                        ret->queued++;
}

void oci_transport_reset_max_in_flight(OciTransport *t) {
        assert(t);
        t->stats.max_in_flight = t->in_flight;
}

/* ---- requests ---- */

static int endpoint_get(OciTransport *t, const char *url, Endpoint **ret) {
        const char *a = strstr(url, "://");
        size_t n;

        if (!a)
                return -EINVAL;
        n = (size_t) (a + 3 - url) + strcspn(a + 3, "/?#");
        for (Endpoint *e = t->endpoints; e; e = e->next)
                if (strlen(e->key) == n && strneq(e->key, url, n)) {
                        *ret = e;
                        return 0;
                }
        {
                Endpoint *e = new0(Endpoint, 1);
                if (!e)
                        return -ENOMEM;
                e->key = strndup(url, n);
                if (!e->key) {
                        free(e);
                        return -ENOMEM;
                }
                oci_pacer_init(&e->pacer, t->settings.rate_limit);
                e->next = t->endpoints;
                t->endpoints = e;
                *ret = e;
        }
        return 0;
}

static void queue_remove(OciRequest *req) {
        Endpoint *e = req->endpoint;

        if (req->state != REQUEST_QUEUED)
                return;
        if (req->qprev)
                req->qprev->qnext = req->qnext;
        else
                e->queue_head = req->qnext;
        if (req->qnext)
                req->qnext->qprev = req->qprev;
        else
                e->queue_tail = req->qprev;
        req->qprev = req->qnext = NULL;
        req->state = REQUEST_NEW;
}

static void queue_add(OciRequest *req, bool front) {
        Endpoint *e = req->endpoint;

        assert(req->state == REQUEST_NEW);
        if (front) {
                req->qnext = e->queue_head;
                if (e->queue_head)
                        e->queue_head->qprev = req;
                else
                        e->queue_tail = req;
                e->queue_head = req;
        } else {
                req->qprev = e->queue_tail;
                if (e->queue_tail)
                        e->queue_tail->qnext = req;
                else
                        e->queue_head = req;
                e->queue_tail = req;
        }
        req->state = REQUEST_QUEUED;
        schedule_dispatch(req->transport);
}

static void attempt_reset(OciRequest *req) {
        req->buf = mfree(req->buf);
        req->size = req->allocated = 0;
        req->oversized = false;
        req->resp_request_id = mfree(req->resp_request_id);
        req->next_page = mfree(req->next_page);
        req->etag = mfree(req->etag);
        req->retry_after = mfree(req->retry_after);
        req->errbuf[0] = 0;
}

static void attempt_release(OciRequest *req) {
        if (req->easy) {
                if (req->state == REQUEST_RUNNING) {
                        curl_glue_cancel(req->transport->glue, req->easy);
                        req->transport->in_flight--;
                }
                curl_easy_cleanup(req->easy);
                req->easy = NULL;
        }
        curl_slist_free_all(req->headers);
        req->headers = NULL;
}

static void request_free(OciRequest *req) {
        if (!req)
                return;
        queue_remove(req);
        attempt_release(req);
        attempt_reset(req);
        sd_event_source_disable_unref(req->timer);
        free(req->operation);
        free(req->method);
        free(req->url);
        free(req->client_request_id);
        free(req->body);
        free(req->content_type);
        free(req->retry_token);
        free(req->if_match);
        free(req);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        OciRequest *req = userdata;
        size_t n = size * nmemb;

        if (n == 0)
                return 0;
        if (req->size + n > req->transport->settings.max_response_size) {
                req->oversized = true;
                return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        if (req->size + n + 1 > req->allocated) {
                size_t a = MAX(req->allocated * 2, req->size + n + 1);
                char *b;

                a = MAX(a, (size_t) 16384);
                b = realloc(req->buf, a);
                if (!b)
                        return 0;
                req->buf = b;
                req->allocated = a;
        }
        memcpy(req->buf + req->size, data, n);
        req->size += n;
        req->buf[req->size] = 0;
        return n;
}

/* A header of the final response (not of a 100 Continue or a redirect before it), as libcurl
 * kept it; NULL when absent. */
static int response_header(CURL *easy, const char *name, char **ret) {
        struct curl_header *h;
        char *v;

        *ret = mfree(*ret);
        if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
                return 0;
        v = strdup(h->value);
        if (!v)
                return -ENOMEM;
        *ret = v;
        return 1;
}

static int read_response_headers(OciRequest *req) {
        if (response_header(req->easy, "opc-request-id", &req->resp_request_id) < 0 ||
            response_header(req->easy, "opc-next-page", &req->next_page) < 0 ||
            response_header(req->easy, "etag", &req->etag) < 0 ||
            response_header(req->easy, "retry-after", &req->retry_after) < 0)
                return -ENOMEM;
        return 0;
}

static void on_transfer_done(CurlGlue *g, CURL *easy, CURLcode result, void *userdata);

static int headers_add(struct curl_slist **l, const char *fmt, ...) _printf_(2, 3);
static int headers_add(struct curl_slist **l, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        struct curl_slist *n;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                return -ENOMEM;
        n = curl_slist_append(*l, s);
        if (!n)
                return -ENOMEM;
        *l = n;
        return 0;
}

static int attempt_start(OciRequest *req) {
        OciTransport *t = req->transport;
        _cleanup_(oci_signed_headers_done) OciSignedHeaders h = {};
        char date[HTTP_DATE_MAX];
        bool has_body = oci_method_has_body(req->method);
        int r;

        attempt_release(req);
        attempt_reset(req);

        /* a fresh Date and signature for every attempt: both are checked by the server */
        r = format_http_date(date, sizeof date, (time_t) (now(CLOCK_REALTIME) / USEC_PER_SEC));
        if (r < 0)
                return r;
        r = oci_signer_sign(t->signer, req->method, req->url, req->body, req->body_size, req->content_type, date, &h);
        if (r < 0)
                return r;

        r = curl_glue_easy_new(t->glue, req->url, &req->easy);
        if (r < 0)
                return r;

        if ((r = headers_add(&req->headers, "Date: %s", h.date)) < 0 ||
            (r = headers_add(&req->headers, "Authorization: %s", h.authorization)) < 0 ||
            (r = headers_add(&req->headers, "Accept: application/json")) < 0 ||
            (r = headers_add(&req->headers, "opc-request-id: %s", req->client_request_id)) < 0 ||
            /* no "Expect: 100-continue" round trip */
            (r = headers_add(&req->headers, "Expect:")) < 0)
                return r;
        if (has_body &&
            ((r = headers_add(&req->headers, "Content-Type: %s", h.content_type)) < 0 ||
             (r = headers_add(&req->headers, "Content-Length: %s", h.content_length)) < 0 ||
             (r = headers_add(&req->headers, "x-content-sha256: %s", h.x_content_sha256)) < 0))
                return r;
        if (req->retry_token && (r = headers_add(&req->headers, "opc-retry-token: %s", req->retry_token)) < 0)
                return r;
        if (req->if_match && (r = headers_add(&req->headers, "if-match: %s", req->if_match)) < 0)
                return r;

        if (curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_WRITEDATA, req) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_ERRORBUFFER, req->errbuf) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_MAXFILESIZE_LARGE,
                             (curl_off_t) t->settings.max_response_size) != CURLE_OK)
                return -EIO;

        if (streq(req->method, "GET"))
                r = curl_easy_setopt(req->easy, CURLOPT_HTTPGET, 1L) == CURLE_OK ? 0 : -EIO;
        else if (streq(req->method, "HEAD"))
                r = curl_easy_setopt(req->easy, CURLOPT_NOBODY, 1L) == CURLE_OK ? 0 : -EIO;
        else if (has_body) {
                /* the exact bytes that were hashed and signed; "" for an empty body so that curl
                 * still sends Content-Length: 0 */
                if (curl_easy_setopt(req->easy, CURLOPT_POST, 1L) != CURLE_OK ||
                    curl_easy_setopt(req->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_size) != CURLE_OK ||
                    curl_easy_setopt(req->easy, CURLOPT_POSTFIELDS, req->body ?: "") != CURLE_OK ||
                    (!streq(req->method, "POST") &&
                     curl_easy_setopt(req->easy, CURLOPT_CUSTOMREQUEST, req->method) != CURLE_OK))
                        r = -EIO;
        } else
                r = curl_easy_setopt(req->easy, CURLOPT_CUSTOMREQUEST, req->method) == CURLE_OK ? 0 : -EIO;
        if (r < 0)
                return r;

        r = curl_glue_start(t->glue, req->easy, on_transfer_done, req);
        if (r < 0)
                return r;

        req->state = REQUEST_RUNNING;
        req->attempt_sent = now(CLOCK_MONOTONIC);
        if (req->attempts == 0)
                req->first_attempt = req->attempt_sent;
        req->attempts++;
        t->stats.attempts++;
        if (req->attempts > 1)
                t->stats.retries++;
        t->in_flight++;
        t->stats.max_in_flight = MAX(t->stats.max_in_flight, t->in_flight);
        return 0;
}

static void request_finish(OciRequest *req, const OciResponse *response, const OciError *error);

static void request_fail_internal(OciRequest *req, int r, const char *what) {
        _cleanup_free_ char *m = strprintf("%s: %s", what, strerror(r < 0 ? -r : r));
        OciError e = {
                .kind = OCI_ERROR_INTERNAL,
                .error = r < 0 ? r : -EIO,
                .operation = req->operation,
                .method = req->method,
                .url = req->url,
                .message = m ?: what,
                .attempts = req->attempts,
        };
        request_finish(req, NULL, &e);
}

static void dispatch(OciTransport *t) {
        usec_t nw = now(CLOCK_MONOTONIC);

        for (;;) {
                usec_t min_wait = USEC_INFINITY;
                OciRequest *pick = NULL;
                Endpoint *e;
                size_t n = 0;

                for (e = t->endpoints; e; e = e->next)
                        n++;
                e = t->rr && t->rr->next ? t->rr->next : t->endpoints;
                for (size_t i = 0; i < n && t->in_flight < t->settings.max_in_flight; i++) {
                        if (e->queue_head) {
                                usec_t w = oci_pacer_take(&e->pacer, nw);
                                if (w == 0) {
                                        pick = e->queue_head;
                                        t->rr = e;
                                        break;
                                }
                                min_wait = MIN(min_wait, w);
                        }
                        e = e->next ?: t->endpoints;
                }

                if (!pick) {
                        if (min_wait != USEC_INFINITY && t->in_flight < t->settings.max_in_flight) {
                                int r;
                                if (t->rate_timer)
                                        r = sd_event_source_set_time(t->rate_timer, nw + min_wait) < 0 ? -EIO :
                                            sd_event_source_set_enabled(t->rate_timer, SD_EVENT_ONESHOT);
                                else
                                        r = sd_event_add_time(t->event, &t->rate_timer, CLOCK_MONOTONIC, nw + min_wait,
                                                              USEC_PER_MSEC, on_rate_timer, t);
                                if (r < 0)
                                        log_debug_errno(r, "Cannot arm the rate limit timer: %m");
                        }
                        return;
                }

                queue_remove(pick);
                {
                        int r = attempt_start(pick);
                        if (r < 0) {
                                attempt_release(pick);
                                request_fail_internal(pick, r, "cannot start the request");
                        }
                }
        }
}

static int on_backoff_done(sd_event_source *s, uint64_t usec, void *userdata) {
        OciRequest *req = userdata;

        req->state = REQUEST_NEW;
        /* ahead of requests that have not been tried yet: bounds the latency of retried ones */
        queue_add(req, true);
        return 0;
}

static const char *transport_code(CURLcode code) {
        switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return "CouldNotResolveHost";
        case CURLE_COULDNT_CONNECT:
                return "CouldNotConnect";
        case CURLE_OPERATION_TIMEDOUT:
                return "Timeout";
        case CURLE_GOT_NOTHING:
                return "EmptyReply";
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
                return "ConnectionLost";
        case CURLE_PARTIAL_FILE:
                return "TruncatedResponse";
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
                return "TlsVerificationFailed";
        case CURLE_SSL_CONNECT_ERROR:
                return "TlsHandshakeFailed";
        default:
                return "TransportError";
        }
}

static void on_transfer_done(CurlGlue *g, CURL *easy, CURLcode result, void *userdata) {
        OciRequest *req = userdata;
        OciTransport *t = req->transport;
        _cleanup_free_ char *code = NULL, *message = NULL, *m = NULL;
        long status = 0;
        OciError e = {};
        bool retry;

        assert(req->easy == easy);
        t->in_flight--;
        req->state = REQUEST_NEW;
        schedule_dispatch(t); /* a slot is free */

        if (result == CURLE_OK) {
                (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
                if (read_response_headers(req) < 0)
                        log_oom();   /* the answer stands without its request id and paging */
        }
        if (status == 429) {
                /* The service says slow down: the whole endpoint does, not just this request's retry. */
                usec_t ra = 0, nw = now(CLOCK_MONOTONIC);
                unsigned before = req->endpoint->pacer.decreases;

                if (req->retry_after)
                        (void) oci_parse_retry_after(req->retry_after, now(CLOCK_REALTIME), &ra);
                oci_pacer_throttled(&req->endpoint->pacer, req->attempt_sent, ra, nw);
                if (req->endpoint->pacer.decreases != before)
                        log_debug("%s: 429, pacing at %.1f requests/s%s", req->endpoint->key,
                                  req->endpoint->pacer.rate, ra > 0 ? " after its Retry-After" : "");
        } else if (status > 0)
                oci_pacer_accepted(&req->endpoint->pacer, now(CLOCK_MONOTONIC));
        t->stats.bytes_received += req->size;
        curl_easy_cleanup(req->easy);
        req->easy = NULL;
        curl_slist_free_all(req->headers);
        req->headers = NULL;

        if (result == CURLE_OK && status >= 200 && status <= 299) {
                OciResponse resp = {
                        .status = status,
                        .body = req->buf ?: "",
                        .body_size = req->size,
                        .request_id = req->resp_request_id,
                        .next_page = req->next_page,
                        .etag = req->etag,
                        .attempts = req->attempts,
                };
                request_finish(req, &resp, NULL);
                return;
        }

        e.operation = req->operation;
        e.method = req->method;
        e.url = req->url;
        e.attempts = req->attempts;
        /* without an answer, our own opc-request-id is what the service logged, if anything */
        e.request_id = req->resp_request_id ?: req->client_request_id;

        if ((result == CURLE_WRITE_ERROR && req->oversized) || result == CURLE_FILESIZE_EXCEEDED) {
                m = strprintf("response larger than %" PRIu64 " bytes (oci.max_response_size)",
                              t->settings.max_response_size);
                e.kind = OCI_ERROR_BAD_RESPONSE;
                e.error = -EFBIG;
                e.message = m ?: "response too large";
                e.http_status = 0;
                request_finish(req, NULL, &e);
                return;
        }

        if (result != CURLE_OK) {
                m = strdup(req->errbuf[0] ? req->errbuf : curl_easy_strerror(result));
                e.kind = OCI_ERROR_TRANSPORT;
                e.error = result == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT :
                          result == CURLE_COULDNT_CONNECT ? -ECONNREFUSED : -ECONNABORTED;
                e.code = transport_code(result);
                e.message = m ?: "transport error";
        } else {
                if (oci_error_body_decode(req->buf, req->size, &code, &message) < 0) {
                        request_fail_internal(req, -ENOMEM, "decoding the error body");
                        return;
                }
                e.kind = oci_error_kind_from_status(status);
                e.error = oci_error_kind_to_errno(e.kind);
                e.http_status = status;
                /* like the Go SDK: an error body that is not OCI's JSON is "BadErrorResponse" */
                e.code = code ?: "BadErrorResponse";
                if (!message)
                        m = strprintf("HTTP %ld without an OCI error body", status);
                e.message = message ?: m ?: "error";
        }

        log_debug("%s %s: attempt %u failed: %s %s (opc-request-id: %s)", req->method, req->url, req->attempts,
                  strna(e.code), e.message, strna(req->resp_request_id));

        retry = oci_should_retry(req->method, req->safe_to_repeat, status, result) &&
                req->attempts < t->settings.max_attempts;
        if (retry) {
                usec_t delay = oci_backoff_delay(req->attempts, t->settings.retry_base_delay,
                                                 t->settings.retry_max_delay, transport_random(t));
                usec_t ra = 0, elapsed = now(CLOCK_MONOTONIC) - req->first_attempt;
                int r;

                if (req->retry_after && oci_parse_retry_after(req->retry_after, now(CLOCK_REALTIME), &ra) >= 0)
                        delay = MAX(delay, ra);
                if (elapsed + delay > t->settings.retry_max_time)
                        retry = false;
                else {
                        if (req->timer)
                                r = sd_event_source_set_time_relative(req->timer, delay) < 0 ? -EIO :
                                    sd_event_source_set_enabled(req->timer, SD_EVENT_ONESHOT);
                        else
                                r = sd_event_add_time_relative(t->event, &req->timer, CLOCK_MONOTONIC, delay,
                                                               USEC_PER_MSEC, on_backoff_done, req);
                        if (r < 0) {
                                request_fail_internal(req, r, "cannot arm the retry timer");
                                return;
                        }
                        req->state = REQUEST_BACKOFF;
                        return;
                }
        }

        request_finish(req, NULL, &e);
}

static int request_new(OciTransport *t, const OciRequestParams *p, oci_request_done_t done, void *userdata,
                       OciRequest **ret) {
        _cleanup_free_ char *base = NULL, *url = NULL;
        OciRequest *req;
        int r;

        if (!p->method || !p->path || p->path[0] != '/' || isempty(p->region) || !p->operation)
                return -EINVAL;
        if (!oci_method_has_body(p->method) && p->body_size > 0)
                return -EINVAL;

        r = oci_service_base_url(t->endpoint, p->service, p->region, &base);
        if (r < 0)
                return r;

        r = oci_url_build(base, p->path, p->query, &url);
        if (r < 0)
                return r;

        req = new0(OciRequest, 1);
        if (!req)
                return -ENOMEM;
        req->transport = t;
        req->done = done;
        req->userdata = userdata;
        req->state = REQUEST_NEW;
        req->operation = strdup(p->operation);
        req->method = strdup(p->method);
        req->url = TAKE_PTR(url);
        req->client_request_id = strprintf("stopstart-%016" PRIx64 "-%" PRIu64, transport_random(t), ++t->request_seq);
        if (oci_method_has_body(p->method)) {
                req->body = malloc(p->body_size + 1);
                req->content_type = strdup(p->content_type ?: "application/json");
                if (req->body) {
                        if (p->body_size > 0)
                                memcpy(req->body, p->body, p->body_size);
                        req->body[p->body_size] = 0;
                }
                req->body_size = p->body_size;
                if (!req->body || !req->content_type)
                        goto oom;
        }
        if (p->retry_token && !(req->retry_token = strdup(p->retry_token)))
                goto oom;
        if (p->if_match && !(req->if_match = strdup(p->if_match)))
                goto oom;
        if (!req->operation || !req->method || !req->url || !req->client_request_id)
                goto oom;
        req->safe_to_repeat = !(streq(p->method, "POST") || streq(p->method, "PATCH")) || p->idempotent ||
                              !isempty(p->retry_token);
        r = endpoint_get(t, req->url, &req->endpoint);
        if (r < 0) {
                request_free(req);
                return r;
        }
        *ret = req;
        return 0;
oom:
        request_free(req);
        return -ENOMEM;
}

static void request_finish(OciRequest *req, const OciResponse *response, const OciError *error) {
        OciTransport *t = req->transport;

        t->stats.requests++;
        if (error)
                t->stats.failures++;
        req->done(response, error, req->userdata);
        request_free(req);
}

int oci_transport_submit(OciTransport *t, const OciRequestParams *params, oci_request_done_t done, void *userdata,
                         OciRequest **ret) {
        OciRequest *req;
        int r;

        assert(t);
        assert(params);
        assert(done);
        assert(ret);

        r = request_new(t, params, done, userdata, &req);
        if (r < 0)
                return r;
        queue_add(req, false);
        *ret = req;
        return 0;
}

void oci_request_cancel(OciRequest *req) {
        OciTransport *t;

        if (!req)
                return;
        t = req->transport;
        request_free(req);
        schedule_dispatch(t);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "curl-glue.h"
#include "json-util.h"
#include "log.h"
#include "oci-client.h"
#include "strv.h"

/* ---- string tables, error helpers ---- */

static const char * const oci_error_kind_table[_OCI_ERROR_KIND_MAX] = {
        [OCI_ERROR_NOT_FOUND]         = "not-found",
        [OCI_ERROR_NOT_AUTHENTICATED] = "not-authenticated",
        [OCI_ERROR_NOT_AUTHORIZED]    = "not-authorized",
        [OCI_ERROR_CONFLICT]          = "conflict",
        [OCI_ERROR_THROTTLED]         = "throttled",
        [OCI_ERROR_SERVER]            = "server",
        [OCI_ERROR_TRANSPORT]         = "transport",
        [OCI_ERROR_BAD_RESPONSE]      = "bad-response",
        [OCI_ERROR_INVALID_REQUEST]   = "invalid-request",
        [OCI_ERROR_TIMEOUT]           = "timeout",
        [OCI_ERROR_UNEXPECTED_STATE]  = "unexpected-state",
        [OCI_ERROR_INTERNAL]          = "internal",
};
DEFINE_STRING_TABLE_LOOKUP(oci_error_kind, OciErrorKind);

OciErrorKind oci_error_kind_from_status(long status) {
        if (status == 401)
                return OCI_ERROR_NOT_AUTHENTICATED;
        if (status == 403)
                return OCI_ERROR_NOT_AUTHORIZED;
        if (status == 404)
                return OCI_ERROR_NOT_FOUND;
        if (status == 409 || status == 412)
                return OCI_ERROR_CONFLICT;
        if (status == 429)
                return OCI_ERROR_THROTTLED;
        if (status >= 500 && status <= 599)
                return OCI_ERROR_SERVER;
        if (status >= 400 && status <= 499)
                return OCI_ERROR_INVALID_REQUEST;
        /* 1xx/3xx/other: nothing we asked for */
        return OCI_ERROR_BAD_RESPONSE;
}

int oci_error_kind_to_errno(OciErrorKind k) {
        switch (k) {
        case OCI_ERROR_NOT_FOUND:
                return -ENOENT;
        case OCI_ERROR_NOT_AUTHENTICATED:
                return -EACCES;
        case OCI_ERROR_NOT_AUTHORIZED:
                return -EPERM;
        case OCI_ERROR_CONFLICT:
                return -EBUSY;
        case OCI_ERROR_THROTTLED:
                return -EAGAIN;
        case OCI_ERROR_SERVER:
                return -EREMOTEIO;
        case OCI_ERROR_TRANSPORT:
                return -ECONNABORTED;
        case OCI_ERROR_BAD_RESPONSE:
                return -EBADMSG;
        case OCI_ERROR_INVALID_REQUEST:
                return -EINVAL;
        case OCI_ERROR_TIMEOUT:
                return -ETIME;
        case OCI_ERROR_UNEXPECTED_STATE:
                return -ESTALE;
        default:
                return -EIO;
        }
}

char *oci_error_to_string(const OciError *e) {
        _cleanup_free_ char *status = NULL, *extra = NULL;
        const char *hint = "";

        if (!e)
                return NULL;
        if (e->http_status > 0)
                status = strprintf("HTTP %ld%s%s: ", e->http_status, e->code ? " " : "", strempty(e->code));
        else if (e->code)
                status = strprintf("%s: ", e->code);
        else
                status = strdup("");
        if (!status)
                return NULL;
        if (e->kind == OCI_ERROR_NOT_AUTHENTICATED)
                hint = " (check user, tenancy, fingerprint and key_file in the OCI config, and the system clock)";
        if (e->request_id)
                extra = strprintf(" (opc-request-id: %s, attempts: %u)", e->request_id, e->attempts);
        else if (e->attempts > 0)
                extra = strprintf(" (attempts: %u)", e->attempts);
        else
                extra = strdup("");
        if (!extra)
                return NULL;
        return strprintf("%s: %s%s%s%s", e->operation ?: "OCI", status, e->message ?: "failed", hint, extra);
}

/* ---- pure helpers ---- */

char *oci_url_escape(const char *s) {
        char *e, *r;

        assert(s);
        /* RFC 3986: everything but the unreserved characters, as libcurl does it (the handle is
         * not needed since 7.82) */
        e = curl_easy_escape(NULL, s, 0);
        if (!e)
                return NULL;
        r = strdup(e);
        curl_free(e);
        return r;
}

int oci_retry_token_new(char **ret) {
        static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        uint8_t raw[32];
        char *t;

        if (getrandom(raw, sizeof raw, 0) != (ssize_t) sizeof raw)
                return -EIO;
        t = malloc(sizeof raw + 1);
        if (!t)
                return -ENOMEM;
        /* 256 % 62 != 0: a small bias, harmless for a uniqueness token */
        for (size_t i = 0; i < sizeof raw; i++)
                t[i] = alnum[raw[i] % (sizeof alnum - 1)];
        t[sizeof raw] = 0;
        *ret = t;
        return 0;
}

int oci_service_base_url(const char *endpoint, OciService service, const char *region, char **ret) {
        const char *name = oci_service_to_string(service);
        char *r;

        if (!name || isempty(region))
                return -EINVAL;

        if (!endpoint) {
                const char *domain = oci_region_domain(region);
                switch (service) {
                case OCI_SERVICE_IAAS:
                        r = strprintf("https://iaas.%s.%s", region, domain);
                        break;
                default: /* identity, query */
                        r = strprintf("https://%s.%s.oci.%s", name, region, domain);
                }
        } else {
                _cleanup_strv_free_ char **parts = NULL;
                const char *p = endpoint;
                int k;

                while (*p) {
                        const char *brace = strchr(p, '{');
                        const char *after = NULL, *value = NULL;

                        if (!brace) {
                                k = strv_extend(&parts, p);
                                if (k < 0)
                                        return k;
                                break;
                        }
                        if ((after = startswith(brace, "{region}")))
                                value = region;
                        else if ((after = startswith(brace, "{service}")))
                                value = name;
                        else {
                                after = brace + 1;
                                value = "{";
                        }
                        k = strv_consume(&parts, strndup(p, (size_t) (brace - p)));
                        if (k < 0)
                                return k;
                        k = strv_extend(&parts, value);
                        if (k < 0)
                                return k;
                        p = after;
                }
                r = strv_join(parts, "");
                if (r) {
                        size_t n = strlen(r);
                        while (n > 0 && r[n - 1] == '/')
                                r[--n] = 0;
                }
        }
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

/* ---- client ---- */

typedef struct Endpoint Endpoint;
typedef struct OciRequest OciRequest;

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
        OciClient *client;
        OciCall *call;
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

typedef void (*call_response_t)(OciCall *call, const OciResponse *response, const OciError *error);

/* A server that keeps answering "nothing yet, same page" is broken, not slow. */
#define OCI_MAX_EMPTY_PAGES 100U

struct OciCall {
        OciClient *client;
        OciCall *prev, *next;
        OciRequest *request;     /* current request, NULL between requests */
        sd_event_source *timer;  /* waiter polls */
        unsigned in_callback;
        bool cancelled, finished;

        call_response_t on_response;
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
        char *last_state;
};

struct OciClient {
        sd_event *event;
        CurlGlue *glue;
        OciSigner *signer;
        char *endpoint;
        OciClientSettings settings;
        sd_event_source *defer;  /* dispatch queued requests from the loop */
        sd_event_source *rate_timer;
        Endpoint *endpoints, *rr;
        OciCall *calls;
        unsigned in_flight;
        OciClientStats stats;
        uint64_t rnd_state;
        uint64_t request_seq;
};

static uint64_t client_random(OciClient *c) {
        /* splitmix64: jitter does not need a CSPRNG, only independence between clients */
        uint64_t z = (c->rnd_state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

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

static void schedule_dispatch(OciClient *c) {
        (void) sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
}

static void dispatch(OciClient *c);

static int on_defer(sd_event_source *s, void *userdata) {
        dispatch(ASSERT_PTR(userdata));
        return 0;
}

static int on_rate_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        dispatch(ASSERT_PTR(userdata));
        return 0;
}

int oci_client_new(sd_event *event, EVP_PKEY *key, const char *key_id, const OciClientSettings *settings,
                   OciClient **ret, char **ret_error) {
        _cleanup_(oci_client_freep) OciClient *c = NULL;
        CurlGlueSettings gs;
        int r;

        assert(event);
        assert(key);
        assert(settings);
        assert(ret);

        c = new0(OciClient, 1);
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->settings = *settings;
        if (c->settings.max_attempts == 0)
                c->settings.max_attempts = 1;
        if (c->settings.max_in_flight == 0)
                c->settings.max_in_flight = 1;
        if (c->settings.max_response_size == 0)
                c->settings.max_response_size = CONFIG_DEFAULT_MAX_RESPONSE_SIZE;
        if (settings->endpoint) {
                c->endpoint = strdup(settings->endpoint);
                if (!c->endpoint)
                        return -ENOMEM;
        }
        c->settings.endpoint = c->endpoint;
        c->settings.ca_file = NULL;
        c->settings.user_agent = NULL;
        if (getrandom(&c->rnd_state, sizeof c->rnd_state, 0) != sizeof c->rnd_state)
                c->rnd_state = now(CLOCK_MONOTONIC) ^ (uint64_t) getpid();

        r = oci_signer_new(key, key_id, &c->signer);
        if (r < 0)
                return r;

        gs = (CurlGlueSettings) {
                .connect_timeout = settings->connect_timeout,
                .total_timeout = settings->request_timeout,
                .ca_file = settings->ca_file,
                .user_agent = settings->user_agent,
                /* keep one idle connection per possible in-flight request */
                .max_connections = MAX(c->settings.max_in_flight, 4U),
        };
        r = curl_glue_new(event, &gs, &c->glue, ret_error);
        if (r < 0)
                return r;

        r = sd_event_add_defer(event, &c->defer, on_defer, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(c->defer, "oci-dispatch");

        *ret = TAKE_PTR(c);
        return 0;
}

static void request_free(OciRequest *req);
static void call_free(OciCall *call);

OciClient *oci_client_free(OciClient *c) {
        if (!c)
                return NULL;
        while (c->calls)
                call_free(c->calls);
        while (c->endpoints) {
                Endpoint *e = c->endpoints;
                c->endpoints = e->next;
                free(e->key);
                free(e);
        }
        sd_event_source_disable_unref(c->defer);
        sd_event_source_disable_unref(c->rate_timer);
        curl_glue_free(c->glue);
        oci_signer_free(c->signer);
        sd_event_unref(c->event);
        free(c->endpoint);
        return mfree(c);
}

void oci_client_get_stats(OciClient *c, OciClientStats *ret) {
        assert(c);
        assert(ret);
        *ret = c->stats;
        ret->in_flight = c->in_flight;
        ret->queued = 0;
        for (Endpoint *e = c->endpoints; e; e = e->next)
                for (OciRequest *r = e->queue_head; r; r = r->qnext)
                        ret->queued++;
}

void oci_client_reset_max_in_flight(OciClient *c) {
        assert(c);
        c->stats.max_in_flight = c->in_flight;
}

/* ---- requests ---- */

static int endpoint_get(OciClient *c, const char *url, Endpoint **ret) {
        const char *a = strstr(url, "://");
        size_t n;

        if (!a)
                return -EINVAL;
        n = (size_t) (a + 3 - url) + strcspn(a + 3, "/?#");
        for (Endpoint *e = c->endpoints; e; e = e->next)
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
                oci_pacer_init(&e->pacer, c->settings.rate_limit);
                e->next = c->endpoints;
                c->endpoints = e;
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
        schedule_dispatch(req->client);
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
                        curl_glue_cancel(req->client->glue, req->easy);
                        req->client->in_flight--;
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
        if (req->size + n > req->client->settings.max_response_size) {
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
        OciClient *c = req->client;
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
        r = oci_signer_sign(c->signer, req->method, req->url, req->body, req->body_size, req->content_type, date, &h);
        if (r < 0)
                return r;

        r = curl_glue_easy_new(c->glue, req->url, &req->easy);
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
                             (curl_off_t) c->settings.max_response_size) != CURLE_OK)
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

        r = curl_glue_start(c->glue, req->easy, on_transfer_done, req);
        if (r < 0)
                return r;

        req->state = REQUEST_RUNNING;
        req->attempt_sent = now(CLOCK_MONOTONIC);
        if (req->attempts == 0)
                req->first_attempt = req->attempt_sent;
        req->attempts++;
        c->stats.attempts++;
        if (req->attempts > 1)
                c->stats.retries++;
        c->in_flight++;
        c->stats.max_in_flight = MAX(c->stats.max_in_flight, c->in_flight);
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

static void dispatch(OciClient *c) {
        usec_t nw = now(CLOCK_MONOTONIC);

        for (;;) {
                usec_t min_wait = USEC_INFINITY;
                OciRequest *pick = NULL;
                Endpoint *e;
                size_t n = 0;

                for (e = c->endpoints; e; e = e->next)
                        n++;
                e = c->rr && c->rr->next ? c->rr->next : c->endpoints;
                for (size_t i = 0; i < n && c->in_flight < c->settings.max_in_flight; i++) {
                        if (e->queue_head) {
                                usec_t w = oci_pacer_take(&e->pacer, nw);
                                if (w == 0) {
                                        pick = e->queue_head;
                                        c->rr = e;
                                        break;
                                }
                                min_wait = MIN(min_wait, w);
                        }
                        e = e->next ?: c->endpoints;
                }

                if (!pick) {
                        if (min_wait != USEC_INFINITY && c->in_flight < c->settings.max_in_flight) {
                                int r;
                                if (c->rate_timer)
                                        r = sd_event_source_set_time(c->rate_timer, nw + min_wait) < 0 ? -EIO :
                                            sd_event_source_set_enabled(c->rate_timer, SD_EVENT_ONESHOT);
                                else
                                        r = sd_event_add_time(c->event, &c->rate_timer, CLOCK_MONOTONIC, nw + min_wait,
                                                              USEC_PER_MSEC, on_rate_timer, c);
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
        OciClient *c = req->client;
        _cleanup_free_ char *code = NULL, *message = NULL, *m = NULL;
        long status = 0;
        OciError e = {};
        bool retry;

        assert(req->easy == easy);
        c->in_flight--;
        req->state = REQUEST_NEW;
        schedule_dispatch(c); /* a slot is free */

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
        c->stats.bytes_received += req->size;
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
                              c->settings.max_response_size);
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
                req->attempts < c->settings.max_attempts;
        if (retry) {
                usec_t delay = oci_backoff_delay(req->attempts, c->settings.retry_base_delay,
                                                 c->settings.retry_max_delay, client_random(c));
                usec_t ra = 0, elapsed = now(CLOCK_MONOTONIC) - req->first_attempt;
                int r;

                if (req->retry_after && oci_parse_retry_after(req->retry_after, now(CLOCK_REALTIME), &ra) >= 0)
                        delay = MAX(delay, ra);
                if (elapsed + delay > c->settings.retry_max_time)
                        retry = false;
                else {
                        if (req->timer)
                                r = sd_event_source_set_time_relative(req->timer, delay) < 0 ? -EIO :
                                    sd_event_source_set_enabled(req->timer, SD_EVENT_ONESHOT);
                        else
                                r = sd_event_add_time_relative(c->event, &req->timer, CLOCK_MONOTONIC, delay,
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

static int request_new(OciClient *c, OciCall *call, const OciRequestParams *p, OciRequest **ret) {
        _cleanup_free_ char *base = NULL, *query = NULL;
        OciRequest *req;
        int r;

        if (!p->method || !p->path || p->path[0] != '/' || isempty(p->region) || !p->operation)
                return -EINVAL;
        if (!oci_method_has_body(p->method) && p->body_size > 0)
                return -EINVAL;

        r = oci_service_base_url(c->endpoint, p->service, p->region, &base);
        if (r < 0)
                return r;

        if (p->query) {
                _cleanup_strv_free_ char **parts = NULL;
                for (const char * const *q = p->query; q[0]; q += 2) {
                        _cleanup_free_ char *k = NULL, *v = NULL;
                        if (!q[1])
                                return -EINVAL;
                        k = oci_url_escape(q[0]);
                        v = oci_url_escape(q[1]);
                        if (!k || !v)
                                return -ENOMEM;
                        r = strv_consume(&parts, strprintf("%s=%s", k, v));
                        if (r < 0)
                                return r;
                }
                query = strv_join(parts, "&");
                if (!query)
                        return -ENOMEM;
        }

        req = new0(OciRequest, 1);
        if (!req)
                return -ENOMEM;
        req->client = c;
        req->call = call;
        req->state = REQUEST_NEW;
        req->operation = strdup(p->operation);
        req->method = strdup(p->method);
        req->url = strprintf("%s%s%s%s", base, p->path, isempty(query) ? "" : "?", strempty(query));
        req->client_request_id = strprintf("stopstart-%016" PRIx64 "-%" PRIu64, client_random(c), ++c->request_seq);
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
        r = endpoint_get(c, req->url, &req->endpoint);
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

/* ---- calls ---- */

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

static void call_free(OciCall *call) {
        if (!call)
                return;
        call_unlink(call);
        if (call->request) {
                request_free(call->request);
                schedule_dispatch(call->client);
        }
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
        free(call->last_state);
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
        call_free(call);
}

static void request_finish(OciRequest *req, const OciResponse *response, const OciError *error) {
        OciCall *call = req->call;
        OciClient *c = req->client;

        c->stats.requests++;
        if (error)
                c->stats.failures++;

        /* detach first: the handler may submit the call's next request */
        call->request = NULL;
        call->on_response(call, response, error);
        request_free(req);
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

static int call_submit(OciCall *call) {
        _cleanup_strv_free_ char **query = NULL;
        OciRequest *req = NULL;
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
        r = request_new(call->client, call, &p, &req);
        if (r < 0)
                return r;
        call->request = req;
        queue_add(req, false);
        return 0;
}

typedef struct CallSpec {
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
} CallSpec;

static int call_start(OciClient *c, CallSpec *s, call_response_t on_response, void (*handler)(void), void *userdata,
                      OciCall **ret_call, OciCall **ret_internal) {
        OciCall *call;
        int r;

        assert(c);
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
        call->client = c;
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
        call->next = c->calls;
        if (c->calls)
                c->calls->prev = call;
        c->calls = call;
        if (!call->operation || !call->method || !call->region ||
            (s->body && !(call->body = strdup(s->body))) ||
            (s->retry_token && !(call->retry_token = strdup(s->retry_token))) ||
            (s->if_match && !(call->if_match = strdup(s->if_match))) ||
            (s->page && !(call->page = strdup(s->page)))) {
                call_free(call);
                return -ENOMEM;
        }
        call->body_size = call->body ? strlen(call->body) : 0;

        if (ret_internal) {
                /* the caller finishes setting up and submits */
                *ret_internal = call;
                if (ret_call)
                        *ret_call = call;
                return 0;
        }
        r = call_submit(call);
        if (r < 0) {
                call_free(call);
                return r;
        }
        if (ret_call)
                *ret_call = call;
        return 0;
}

/* Runs a non-final handler invocation; returns false if the call was cancelled meanwhile (it is
 * then freed). */
static bool call_invoke_end(OciCall *call) {
        call->in_callback--;
        if (call->cancelled && call->in_callback == 0) {
                call_free(call);
                return false;
        }
        return true;
}

/* A bad-response error for a 2xx whose body did not decode. */
static void bad_response_error(OciCall *call, const OciResponse *resp, const char *reason, OciError *e,
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
        call_free(call);
}

int oci_client_request(OciClient *c, const OciRequestParams *params, oci_response_handler_t handler, void *userdata,
                       OciCall **ret_call) {
        OciCall *call;
        OciRequest *req;
        int r;

        assert(c);
        assert(params);

        if (!handler)
                return -EINVAL;
        call = new0(OciCall, 1);
        if (!call)
                return -ENOMEM;
        call->client = c;
        call->on_response = raw_on_response;
        call->handler = (void (*)(void)) handler;
        call->userdata = userdata;
        call->operation = strdup(strempty(params->operation));
        call->method = strdup(strempty(params->method));
        call->next = c->calls;
        if (c->calls)
                c->calls->prev = call;
        c->calls = call;
        if (!call->operation || !call->method) {
                call_free(call);
                return -ENOMEM;
        }
        r = request_new(c, call, params, &req);
        if (r < 0) {
                call_free(call);
                return r;
        }
        call->request = req;
        queue_add(req, false);
        if (ret_call)
                *ret_call = call;
        return 0;
}

/* single objects */

OciTenancy *oci_tenancy_free(OciTenancy *t) {
        oci_tenancy_done(t);
        return mfree(t);
}

OciCompartment *oci_compartment_free(OciCompartment *c) {
        oci_compartment_done(c);
        return mfree(c);
}

OciInstance *oci_instance_free(OciInstance *i) {
        oci_instance_done(i);
        return mfree(i);
}

/* One object in the body: decoded into a new Type, handed to the call's handler (with extra
 * arguments, e.g. the ETag), or a bad-response error when it does not decode. */
#define DEFINE_OBJECT_ON_RESPONSE(name, Type, decode, freep, handler_t, ...)                     \
        static void name(OciCall *call, const OciResponse *resp, const OciError *error) {        \
                handler_t h = (handler_t) call->handler;                                          \
                _cleanup_free_ char *reason = NULL, *m = NULL;                                    \
                _cleanup_(freep) Type *o = NULL;                                                  \
                OciError e;                                                                       \
                int r;                                                                            \
                                                                                                  \
                call->finished = true;                                                            \
                if (!error) {                                                                     \
                        o = new0(Type, 1);                                                        \
                        r = o ? decode(resp->body, resp->body_size, o, &reason) : -ENOMEM;        \
                        if (r < 0) {                                                              \
                                o = mfree(o);                                                     \
                                bad_response_error(call, resp, reason, &e, &m);                   \
                                error = &e;                                                       \
                        }                                                                         \
                }                                                                                 \
                h(call->client, error ? NULL : TAKE_PTR(o), __VA_ARGS__ error, call->userdata);   \
                call_free(call);                                                                  \
        }

DEFINE_OBJECT_ON_RESPONSE(tenancy_on_response, OciTenancy, oci_tenancy_decode, oci_tenancy_freep,
                          oci_tenancy_handler_t)
DEFINE_OBJECT_ON_RESPONSE(compartment_on_response, OciCompartment, oci_compartment_decode, oci_compartment_freep,
                          oci_compartment_handler_t)
DEFINE_OBJECT_ON_RESPONSE(instance_on_response, OciInstance, oci_instance_decode, oci_instance_freep,
                          oci_instance_handler_t, error ? NULL : resp->etag,)

static void region_subscriptions_on_response(OciCall *call, const OciResponse *resp, const OciError *error) {
        oci_region_subscriptions_handler_t h = (oci_region_subscriptions_handler_t) call->handler;
        _cleanup_free_ char *reason = NULL, *m = NULL;
        OciRegionSubscription *items = NULL;
        size_t n = 0;
        OciError e;

        call->finished = true;
        if (!error && oci_region_subscriptions_decode(resp->body, resp->body_size, &items, &n, &reason) < 0) {
                bad_response_error(call, resp, reason, &e, &m);
                error = &e;
        }
        h(call->client, items, n, error, call->userdata);
        call_free(call);
}

/* Pages: the decoders differ, the walk is the same. */
typedef int (*page_decode_t)(const char *body, size_t size, void **ret, size_t *ret_n, char **ret_error);
typedef void (*page_handler_t)(OciClient *c, void *items, size_t n, const char *next_page, const OciError *error,
                               void *userdata);
typedef void *(*page_free_t)(void *items, size_t n);

static void page_on_response(OciCall *call, const OciResponse *resp, const OciError *error, page_decode_t decode,
                             page_free_t free_items) {
        page_handler_t h = (page_handler_t) call->handler;
        _cleanup_free_ char *reason = NULL, *m = NULL, *next = NULL;
        void *items = NULL;
        size_t n = 0;
        OciError e;
        int r;

        if (!error) {
                if (decode(resp->body, resp->body_size, &items, &n, &reason) < 0) {
                        bad_response_error(call, resp, reason, &e, &m);
                        error = &e;
                } else if (resp->next_page && call->page && streq(resp->next_page, call->page) &&
                           (n > 0 || ++call->empty_pages > OCI_MAX_EMPTY_PAGES)) {
                        /* an empty page may point at the same place again (OCI: "keep going"),
                         * a full one must not: its items would come twice; and never forever */
                        free_items(items, n);
                        items = NULL;
                        bad_response_error(call, resp,
                                           n > 0 ? "opc-next-page repeats the page just read"
                                                 : "too many empty pages in a row", &e, &m);
                        n = 0;
                        error = &e;
                } else if (resp->next_page && !(next = strdup(resp->next_page))) {
                        free_items(items, n);
                        items = NULL;
                        n = 0;
                        e = (OciError) { .kind = OCI_ERROR_INTERNAL, .error = -ENOMEM, .operation = call->operation,
                                         .message = "out of memory" };
                        error = &e;
                }
        }

        if (error || !next || !call->all_pages) {
                call->finished = true;
                h(call->client, items, n, error ? NULL : next, error, call->userdata);
                call_free(call);
                return;
        }

        if (n > 0 || !call->page || !streq(next, call->page))
                call->empty_pages = 0;

        /* more to come: this page, then the next request */
        call->in_callback++;
        h(call->client, items, n, next, NULL, call->userdata);
        if (!call_invoke_end(call))
                return;
        free(call->page);
        call->page = TAKE_PTR(next);
        r = call_submit(call);
        if (r < 0) {
                _cleanup_free_ char *msg = strprintf("cannot request the next page: %s", strerror(-r));
                e = (OciError) { .kind = OCI_ERROR_INTERNAL, .error = r, .operation = call->operation,
                                 .message = msg ?: "cannot request the next page" };
                call->finished = true;
                h(call->client, NULL, 0, NULL, &e, call->userdata);
                call_free(call);
        }
}

static int compartments_decode_v(const char *b, size_t s, void **ret, size_t *n, char **err) {
        return oci_compartments_decode(b, s, (OciCompartment **) ret, n, err);
}
static void *compartments_free_v(void *a, size_t n) {
        return oci_compartments_free(a, n);
}
static void compartments_on_response(OciCall *call, const OciResponse *resp, const OciError *error) {
        page_on_response(call, resp, error, compartments_decode_v, compartments_free_v);
}

static int instances_decode_v(const char *b, size_t s, void **ret, size_t *n, char **err) {
        return oci_instances_decode(b, s, (OciInstance **) ret, n, err);
}
static void *instances_free_v(void *a, size_t n) {
        return oci_instances_free(a, n);
}
static void instances_on_response(OciCall *call, const OciResponse *resp, const OciError *error) {
        page_on_response(call, resp, error, instances_decode_v, instances_free_v);
}

static int resources_decode_v(const char *b, size_t s, void **ret, size_t *n, char **err) {
        return oci_resource_summaries_decode(b, s, (OciResourceSummary **) ret, n, err);
}
static void *resources_free_v(void *a, size_t n) {
        return oci_resource_summaries_free(a, n);
}
static void resources_on_response(OciCall *call, const OciResponse *resp, const OciError *error) {
        page_on_response(call, resp, error, resources_decode_v, resources_free_v);
}

/* prefix + percent-encoded id + suffix */
static char *path_with_id(const char *prefix, const char *id, const char *suffix) {
        _cleanup_free_ char *e = NULL;

        if (isempty(id))
                return NULL;
        e = oci_url_escape(id);
        return e ? strprintf("%s%s%s", prefix, e, suffix) : NULL;
}

int oci_get_tenancy(OciClient *c, const char *region, const char *tenancy_id, oci_tenancy_handler_t handler,
                    void *userdata, OciCall **ret_call) {
        CallSpec s = { .operation = "GetTenancy", .method = "GET", .service = OCI_SERVICE_IDENTITY, .region = region };

        if (isempty(tenancy_id))
                return -EINVAL;
        s.path = path_with_id("/20160918/tenancies/", tenancy_id, "");
        if (!s.path)
                return -ENOMEM;
        return call_start(c, &s, tenancy_on_response, (void (*)(void)) handler, userdata, ret_call, NULL);
}

int oci_list_region_subscriptions(OciClient *c, const char *region, const char *tenancy_id,
                                  oci_region_subscriptions_handler_t handler, void *userdata, OciCall **ret_call) {
        CallSpec s = { .operation = "ListRegionSubscriptions", .method = "GET", .service = OCI_SERVICE_IDENTITY,
                       .region = region };

        if (isempty(tenancy_id))
                return -EINVAL;
        s.path = path_with_id("/20160918/tenancies/", tenancy_id, "/regionSubscriptions");
        if (!s.path)
                return -ENOMEM;
        return call_start(c, &s, region_subscriptions_on_response, (void (*)(void)) handler, userdata, ret_call, NULL);
}

int oci_get_compartment(OciClient *c, const char *region, const char *compartment_id,
                        oci_compartment_handler_t handler, void *userdata, OciCall **ret_call) {
        CallSpec s = { .operation = "GetCompartment", .method = "GET", .service = OCI_SERVICE_IDENTITY, .region = region };

        if (isempty(compartment_id))
                return -EINVAL;
        s.path = path_with_id("/20160918/compartments/", compartment_id, "");
        if (!s.path)
                return -ENOMEM;
        return call_start(c, &s, compartment_on_response, (void (*)(void)) handler, userdata, ret_call, NULL);
}

static int query_add(char ***q, const char *name, const char *value) {
        int r;

        if (!value)
                return 0;
        r = strv_extend(q, name);
        if (r < 0)
                return r;
        return strv_extend(q, value);
}

static int query_add_limit(char ***q, unsigned limit) {
        char buf[16];

        if (limit == 0)
                return 0;
        snprintf(buf, sizeof buf, "%u", limit);
        return query_add(q, "limit", buf);
}

int oci_list_compartments(OciClient *c, const char *region, const OciListCompartmentsParams *params,
                          oci_compartments_handler_t handler, void *userdata, OciCall **ret_call) {
        CallSpec s = { .operation = "ListCompartments", .method = "GET", .service = OCI_SERVICE_IDENTITY,
                       .region = region };
        _cleanup_strv_free_ char **q = NULL;
        int r;

        if (!params || isempty(params->compartment_id))
                return -EINVAL;
        if ((r = query_add(&q, "compartmentId", params->compartment_id)) < 0 ||
            (r = query_add(&q, "compartmentIdInSubtree", params->subtree ? "true" : NULL)) < 0 ||
            (r = query_add(&q, "accessLevel", params->access_level >= 0 ? oci_access_level_to_string(params->access_level)
                                                                         : NULL)) < 0 ||
            (r = query_add(&q, "lifecycleState", params->lifecycle_state)) < 0 ||
            (r = query_add_limit(&q, params->limit)) < 0)
                return r;
        s.path = strdup("/20160918/compartments");
        if (!s.path)
                return -ENOMEM;
        s.query = TAKE_PTR(q);
        s.page = params->page;
        s.all_pages = params->all_pages;
        return call_start(c, &s, compartments_on_response, (void (*)(void)) handler, userdata, ret_call, NULL);
}

int oci_list_instances(OciClient *c, const char *region, const OciListInstancesParams *params,
                       oci_instances_handler_t handler, void *userdata, OciCall **ret_call) {
        CallSpec s = { .operation = "ListInstances", .method = "GET", .service = OCI_SERVICE_IAAS, .region = region };
        _cleanup_strv_free_ char **q = NULL;
        int r;

        if (!params || isempty(params->compartment_id))
                return -EINVAL;
        if ((r = query_add(&q, "compartmentId", params->compartment_id)) < 0 ||
            (r = query_add(&q, "lifecycleState", params->lifecycle_state)) < 0 ||
            (r = query_add_limit(&q, params->limit)) < 0)
                return r;
        s.path = strdup("/20160918/instances");
        if (!s.path)
                return -ENOMEM;
        s.query = TAKE_PTR(q);
        s.page = params->page;
        s.all_pages = params->all_pages;
        return call_start(c, &s, instances_on_response, (void (*)(void)) handler, userdata, ret_call, NULL);
}

int oci_get_instance(OciClient *c, const char *region, const char *instance_id, oci_instance_handler_t handler,
                     void *userdata, OciCall **ret_call) {
        CallSpec s = { .operation = "GetInstance", .method = "GET", .service = OCI_SERVICE_IAAS, .region = region };

        if (isempty(instance_id))
                return -EINVAL;
        s.path = path_with_id("/20160918/instances/", instance_id, "");
        if (!s.path)
                return -ENOMEM;
        return call_start(c, &s, instance_on_response, (void (*)(void)) handler, userdata, ret_call, NULL);
}

int oci_instance_action(OciClient *c, const char *region, const char *instance_id, OciInstanceAction action,
                        const char *retry_token, const char *if_match, oci_instance_handler_t handler,
                        void *userdata, OciCall **ret_call) {
        CallSpec s = { .operation = "InstanceAction", .method = "POST", .service = OCI_SERVICE_IAAS, .region = region,
                       .if_match = if_match, .body = "" };
        _cleanup_free_ char *generated = NULL;
        const char *a = oci_instance_action_to_string(action);
        int r;

        if (isempty(instance_id) || !a)
                return -EINVAL;
        if (retry_token && (strlen(retry_token) < 1 || strlen(retry_token) > 64))
                return -EINVAL;
        if (!retry_token) {
                r = oci_retry_token_new(&generated);
                if (r < 0)
                        return r;
        }
        s.retry_token = retry_token ?: generated;
        s.path = path_with_id("/20160918/instances/", instance_id, "");
        if (!s.path)
                return -ENOMEM;
        r = strv_extend(&s.query, "action");
        if (r >= 0)
                r = strv_extend(&s.query, a);
        if (r < 0) {
                free(s.path);
                strv_free(s.query);
                return r;
        }
        return call_start(c, &s, instance_on_response, (void (*)(void)) handler, userdata, ret_call, NULL);
}

int oci_search_resources(OciClient *c, const char *region, const OciSearchParams *params,
                         oci_resources_handler_t handler, void *userdata, OciCall **ret_call) {
        CallSpec s = { .operation = "SearchResources", .method = "POST", .service = OCI_SERVICE_QUERY, .region = region,
                       .idempotent = true };
        _cleanup_json_ json_object *body = NULL;
        _cleanup_strv_free_ char **q = NULL;
        const char *text;
        int r;

        if (!params || isempty(params->query) || params->limit > 1000)
                return -EINVAL;
        body = json_object_new_object();
        if (!body ||
            json_object_object_add(body, "type", json_object_new_string("Structured")) < 0 ||
            json_object_object_add(body, "query", json_object_new_string(params->query)) < 0 ||
            json_object_object_add(body, "matchingContextType", json_object_new_string("NONE")) < 0)
                return -ENOMEM;
        text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        s.body = text;
        if ((r = query_add_limit(&q, params->limit)) < 0)
                return r;
        s.path = strdup("/20180409/resources");
        if (!s.path)
                return -ENOMEM;
        s.query = TAKE_PTR(q);
        s.page = params->page;
        s.all_pages = params->all_pages;
        return call_start(c, &s, resources_on_response, (void (*)(void)) handler, userdata, ret_call, NULL);
}

/* wait for a lifecycle state */

static int on_wait_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void wait_finish(OciCall *call, OciInstance *instance, const char *etag, const OciError *error) {
        oci_instance_handler_t h = (oci_instance_handler_t) call->handler;

        call->finished = true;
        h(call->client, instance, etag, error, call->userdata);
        call_free(call);
}

static void wait_fail(OciCall *call, OciErrorKind kind, const char *message, const OciResponse *resp) {
        OciError e = {
                .kind = kind,
                .error = oci_error_kind_to_errno(kind),
                .operation = "WaitForInstanceState",
                .method = call->method,
                .message = message ?: "failed",
                .request_id = resp ? resp->request_id : NULL,
                .attempts = resp ? resp->attempts : 0,
        };
        wait_finish(call, NULL, NULL, &e);
}

static void wait_on_response(OciCall *call, const OciResponse *resp, const OciError *error) {
        _cleanup_free_ char *reason = NULL, *m = NULL;
        _cleanup_(oci_instance_freep) OciInstance *o = NULL;
        const char *target = oci_instance_state_to_string(call->target);
        usec_t nw;
        OciError e;
        int r;

        if (error) {
                wait_finish(call, NULL, NULL, error);
                return;
        }
        o = new0(OciInstance, 1);
        if (!o) {
                wait_fail(call, OCI_ERROR_INTERNAL, "out of memory", resp);
                return;
        }
        r = oci_instance_decode(resp->body, resp->body_size, o, &reason);
        if (r < 0) {
                o = mfree(o);
                bad_response_error(call, resp, reason, &e, &m);
                wait_finish(call, NULL, NULL, &e);
                return;
        }
        free(call->last_state);
        call->last_state = strdup(o->lifecycle_state_raw);

        if (o->lifecycle_state == call->target) {
                wait_finish(call, TAKE_PTR(o), resp->etag, NULL);
                return;
        }
        if ((o->lifecycle_state == OCI_INSTANCE_TERMINATED || o->lifecycle_state == OCI_INSTANCE_TERMINATING) &&
            call->target != OCI_INSTANCE_TERMINATED && call->target != OCI_INSTANCE_TERMINATING) {
                m = strprintf("instance %s is %s: it will never be %s", o->id, o->lifecycle_state_raw, target);
                wait_fail(call, OCI_ERROR_UNEXPECTED_STATE, m, resp);
                return;
        }

        nw = now(CLOCK_MONOTONIC);
        if (nw >= call->deadline) {
                char buf[TIMESPAN_MAX];
                m = strprintf("instance %s is still %s, not %s, after %s", o->id, o->lifecycle_state_raw, target,
                              format_timespan(buf, sizeof buf, call->timeout));
                wait_fail(call, OCI_ERROR_TIMEOUT, m, resp);
                return;
        }

        r = sd_event_add_time_relative(call->client->event, &call->timer, CLOCK_MONOTONIC,
                                       MIN(call->poll_delay, call->deadline - nw), USEC_PER_MSEC, on_wait_timer, call);
        if (r < 0) {
                wait_fail(call, OCI_ERROR_INTERNAL, "cannot arm the poll timer", resp);
                return;
        }
        call->poll_delay = MIN(call->poll_delay * 2, call->poll_max);
}

static int on_wait_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        OciCall *call = userdata;
        int r;

        call->timer = sd_event_source_disable_unref(call->timer);
        r = call_submit(call);
        if (r < 0)
                wait_fail(call, OCI_ERROR_INTERNAL, "cannot poll the instance", NULL);
        return 0;
}

int oci_wait_for_instance_state(OciClient *c, const char *region, const char *instance_id, OciInstanceState target,
                                const OciWaitParams *params, oci_instance_handler_t handler, void *userdata,
                                OciCall **ret_call) {
        CallSpec s = { .operation = "GetInstance", .method = "GET", .service = OCI_SERVICE_IAAS, .region = region };
        OciWaitParams p = params ? *params : (OciWaitParams) {};
        OciCall *call = NULL;
        int r;

        if (isempty(instance_id) || !oci_instance_state_to_string(target))
                return -EINVAL;
        if (p.timeout == 0)
                p.timeout = 20 * USEC_PER_MINUTE;
        if (p.poll_initial == 0)
                p.poll_initial = 2 * USEC_PER_SEC;
        if (p.poll_max == 0)
                p.poll_max = 30 * USEC_PER_SEC;
        s.path = path_with_id("/20160918/instances/", instance_id, "");
        if (!s.path)
                return -ENOMEM;
        r = call_start(c, &s, wait_on_response, (void (*)(void)) handler, userdata, NULL, &call);
        if (r < 0)
                return r;
        call->target = target;
        call->timeout = p.timeout;
        call->deadline = now(CLOCK_MONOTONIC) + p.timeout;
        call->poll_delay = MIN(p.poll_initial, p.poll_max);
        call->poll_max = p.poll_max;
        r = call_submit(call);
        if (r < 0) {
                call_free(call);
                return r;
        }
        if (ret_call)
                *ret_call = call;
        return 0;
}

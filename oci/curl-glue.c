/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <openssl/err.h>
#include <pthread.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>

#include "curl-glue.h"
#include "log.h"
#include "strv.h"

typedef struct Transfer Transfer;
typedef struct IoWatch IoWatch;

/* One per curl socket, handed to curl as the socket's pointer (curl_multi_assign). Also kept in
 * a list: curl_multi_cleanup() does not promise a CURL_POLL_REMOVE for every socket. */
struct IoWatch {
        CurlGlue *glue;
        curl_socket_t fd;
        sd_event_source *source;
        IoWatch *prev, *next;
};

struct Transfer {
        CurlGlue *glue;
        CURL *easy;
        curl_glue_done_t done;
        void *userdata;
        Transfer *prev, *next;
};

struct CurlGlue {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        CurlGlueSettings settings;
        char *user_agent;
        STACK_OF(X509) *extra_cas;
        Transfer *transfers;
        IoWatch *watches;
        unsigned n_running;
};

static pthread_once_t global_init_once = PTHREAD_ONCE_INIT;
static CURLcode global_init_result = CURLE_OK;

static void global_init(void) {
        global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *curl_glue_user_agent(void) {
        return "stopstart/" PROJECT_VERSION;
}

static void transfer_unlink(CurlGlue *g, Transfer *t) {
        if (t->prev)
                t->prev->next = t->next;
        else
                g->transfers = t->next;
        if (t->next)
                t->next->prev = t->prev;
        t->prev = t->next = NULL;
        g->n_running--;
}

static void check_finished(CurlGlue *g) {
        CURLMsg *msg;
        int left;

        /* done() may start or cancel transfers: curl_multi_info_read() copes with that */
        while ((msg = curl_multi_info_read(g->multi, &left))) {
                Transfer *t = NULL;
                CURL *c;
                CURLcode result;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                c = msg->easy_handle;
                result = msg->data.result;
                if (curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **) &t) != CURLE_OK || !t)
                        continue;
                (void) curl_multi_remove_handle(g->multi, c);
                (void) curl_easy_setopt(c, CURLOPT_PRIVATE, NULL);
                transfer_unlink(g, t);
                {
                        curl_glue_done_t done = t->done;
                        void *userdata = t->userdata;

                        free(t);
                        done(g, c, result, userdata);
                }
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CurlGlue *g = ASSERT_PTR(userdata);
        int action = 0, running;

        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;

        if (curl_multi_socket_action(g->multi, fd, action, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed on fd %d", fd);
        check_finished(g);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        CurlGlue *g = ASSERT_PTR(userdata);
        int running;

        if (curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action(timeout) failed");
        check_finished(g);
        return 0;
}

static void watch_free(IoWatch *w) {
        CurlGlue *g;

        if (!w)
                return;
        g = w->glue;
        if (w->prev)
                w->prev->next = w->next;
        else
                g->watches = w->next;
        if (w->next)
                w->next->prev = w->prev;
        sd_event_source_disable_unref(w->source);
        free(w);
}

static int socket_cb(CURL *c, curl_socket_t fd, int what, void *userp, void *socketp) {
        CurlGlue *g = ASSERT_PTR(userp);
        IoWatch *w = socketp;
        uint32_t events = 0;
        int r;

        if (what == CURL_POLL_REMOVE) {
                if (w) {
                        (void) curl_multi_assign(g->multi, fd, NULL);
                        watch_free(w);
                }
                return 0;
        }

        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;

        if (w) {
                r = sd_event_source_set_io_events(w->source, events);
                if (r >= 0)
                        r = sd_event_source_set_enabled(w->source, SD_EVENT_ON);
        } else {
                w = new0(IoWatch, 1);
                if (!w)
                        return -1;
                w->glue = g;
                w->fd = fd;
                w->next = g->watches;
                if (g->watches)
                        g->watches->prev = w;
                g->watches = w;
                r = sd_event_add_io(g->event, &w->source, fd, events, on_io, g);
                if (r >= 0) {
                        (void) sd_event_source_set_description(w->source, "curl-io");
                        if (curl_multi_assign(g->multi, fd, w) != CURLM_OK)
                                r = -EIO;
                }
                if (r < 0)
                        watch_free(w);
        }
        if (r < 0) {
                log_debug_errno(r, "Cannot watch curl socket %d: %m", fd);
                return -1; /* makes curl fail the transfer instead of hanging */
        }
        return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
        CurlGlue *g = ASSERT_PTR(userp);
        int r;

        if (timeout_ms < 0)
                return g->timer ? (sd_event_source_set_enabled(g->timer, SD_EVENT_OFF) < 0 ? -1 : 0) : 0;

        if (g->timer) {
                r = sd_event_source_set_time_relative(g->timer, (usec_t) timeout_ms * USEC_PER_MSEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT);
        } else {
                r = sd_event_add_time_relative(g->event, &g->timer, CLOCK_MONOTONIC,
                                               (usec_t) timeout_ms * USEC_PER_MSEC, USEC_PER_MSEC, on_timer, g);
                if (r >= 0) {
                        (void) sd_event_source_set_description(g->timer, "curl-timer");
                        r = sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT);
                }
        }
        return r < 0 ? -1 : 0;
}

static int load_cas(const char *path, STACK_OF(X509) **ret, char **ret_error) {
        STACK_OF(X509) *sk = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        X509 *x;

        f = fopen(path, "re");
        if (!f) {
                int r = -errno;
                if (ret_error)
                        *ret_error = strprintf("ca_file %s: cannot open: %s", path, strerror(errno));
                return r;
        }
        sk = sk_X509_new_null();
        if (!sk)
                return -ENOMEM;
        ERR_clear_error();
        while ((x = PEM_read_X509(f, NULL, NULL, NULL)))
                if (!sk_X509_push(sk, x)) {
                        X509_free(x);
                        sk_X509_pop_free(sk, X509_free);
                        return -ENOMEM;
                }
        /* reading stops at EOF with PEM_R_NO_START_LINE: anything else is a damaged file */
        if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || sk_X509_num(sk) == 0) {
                ERR_clear_error();
                sk_X509_pop_free(sk, X509_free);
                if (ret_error)
                        *ret_error = strprintf("ca_file %s: no usable PEM certificates", path);
                return -EBADMSG;
        }
        ERR_clear_error();
        *ret = sk;
        return 0;
}

static CURLcode ssl_ctx_cb(CURL *c, void *ssl_ctx, void *userptr) {
        CurlGlue *g = ASSERT_PTR(userptr);
        X509_STORE *store = SSL_CTX_get_cert_store(ssl_ctx);

        /* added to what curl loaded (the system store), not instead of it; adding a
         * certificate the store already has is a no-op */
        for (int i = 0; i < sk_X509_num(g->extra_cas); i++)
                if (!X509_STORE_add_cert(store, sk_X509_value(g->extra_cas, i))) {
                        ERR_clear_error();
                        return CURLE_SSL_CACERT_BADFILE;
                }
        return CURLE_OK;
}

int curl_glue_new(sd_event *event, const CurlGlueSettings *settings, CurlGlue **ret, char **ret_error) {
        _cleanup_(curl_glue_freep) CurlGlue *g = NULL;
        int r;

        assert(event);
        assert(ret);

        (void) pthread_once(&global_init_once, global_init);
        if (global_init_result != CURLE_OK)
                return -EIO;
        if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS))
                log_debug("libcurl resolves host names synchronously: lookups will block the event loop");

        g = new0(CurlGlue, 1);
        if (!g)
                return -ENOMEM;
        g->event = sd_event_ref(event);
        if (settings)
                g->settings = *settings;
        g->settings.ca_file = NULL; /* not kept: loaded below */
        g->user_agent = strdup(settings && settings->user_agent ? settings->user_agent : curl_glue_user_agent());
        if (!g->user_agent)
                return -ENOMEM;
        g->settings.user_agent = NULL;

        if (settings && settings->ca_file) {
                r = load_cas(settings->ca_file, &g->extra_cas, ret_error);
                if (r < 0)
                        return r;
        }

        g->multi = curl_multi_init();
        if (!g->multi)
                return -ENOMEM;
        if (curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, socket_cb) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK)
                return -EIO;
        if (g->settings.max_connections > 0 &&
            curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, (long) g->settings.max_connections) != CURLM_OK)
                return -EIO;

        *ret = TAKE_PTR(g);
        return 0;
}

CurlGlue *curl_glue_free(CurlGlue *g) {
        if (!g)
                return NULL;

        while (g->transfers) {
                Transfer *t = g->transfers;
                CURL *c = t->easy;

                if (g->multi)
                        (void) curl_multi_remove_handle(g->multi, c);
                transfer_unlink(g, t);
                free(t);
                curl_easy_cleanup(c);
        }
        if (g->multi)
                curl_multi_cleanup(g->multi);
        while (g->watches)
                watch_free(g->watches);
        sd_event_source_disable_unref(g->timer);
        sd_event_unref(g->event);
        if (g->extra_cas)
                sk_X509_pop_free(g->extra_cas, X509_free);
        free(g->user_agent);
        return mfree(g);
}

sd_event *curl_glue_get_event(CurlGlue *g) {
        return g ? g->event : NULL;
}

unsigned curl_glue_running(CurlGlue *g) {
        return g ? g->n_running : 0;
}

int curl_glue_easy_new(CurlGlue *g, const char *url, CURL **ret) {
        _cleanup_(curl_easy_cleanupp) CURL *c = NULL;

        assert(g);
        assert(url);
        assert(ret);

        c = curl_easy_init();
        if (!c)
                return -ENOMEM;

        if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_USERAGENT, g->user_agent) != CURLE_OK ||
            /* OCI signs the Host header: keep HTTP/1.1 so Host is what we signed (oci-api.md §1.4) */
            curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2) != CURLE_OK)
                return -EIO;
        if (g->settings.connect_timeout > 0 &&
            curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                             (long) MAX(1ULL, g->settings.connect_timeout / USEC_PER_MSEC)) != CURLE_OK)
                return -EIO;
        if (g->settings.total_timeout > 0 &&
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) MAX(1ULL, g->settings.total_timeout / USEC_PER_MSEC)) != CURLE_OK)
                return -EIO;
        if (g->extra_cas &&
            (curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb) != CURLE_OK ||
             curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, g) != CURLE_OK))
                return -EOPNOTSUPP; /* libcurl not built with OpenSSL */

        *ret = TAKE_PTR(c);
        return 0;
}

int curl_glue_start(CurlGlue *g, CURL *c, curl_glue_done_t done, void *userdata) {
        Transfer *t, *existing = NULL;

        assert(g);
        assert(c);
        assert(done);

        if (curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **) &existing) == CURLE_OK && existing)
                return -EBUSY;

        t = new0(Transfer, 1);
        if (!t)
                return -ENOMEM;
        *t = (Transfer) { .glue = g, .easy = c, .done = done, .userdata = userdata };

        if (curl_easy_setopt(c, CURLOPT_PRIVATE, t) != CURLE_OK) {
                free(t);
                return -EIO;
        }
        /* curl arms the timer (timeout 0) from here: the transfer starts on the next loop
         * iteration, so done() never runs inside this call */
        if (curl_multi_add_handle(g->multi, c) != CURLM_OK) {
                (void) curl_easy_setopt(c, CURLOPT_PRIVATE, NULL);
                free(t);
                return -EIO;
        }
        t->next = g->transfers;
        if (g->transfers)
                g->transfers->prev = t;
        g->transfers = t;
        g->n_running++;
        return 0;
}

void curl_glue_cancel(CurlGlue *g, CURL *c) {
        Transfer *t = NULL;

        assert(g);

        if (!c || curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **) &t) != CURLE_OK || !t || t->glue != g)
                return;
        (void) curl_multi_remove_handle(g->multi, c);
        (void) curl_easy_setopt(c, CURLOPT_PRIVATE, NULL);
        transfer_unlink(g, t);
        free(t);
}

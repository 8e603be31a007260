/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "macro.h"
#include "oci-retry.h"

usec_t oci_backoff_delay(unsigned n, usec_t base, usec_t cap, uint64_t rnd) {
        usec_t ceiling = base;

        if (n == 0 || base == 0)
                return 0;
        for (unsigned i = 1; i < n && ceiling < cap; i++) {
                if (ceiling > UINT64_MAX / 2) {
                        ceiling = UINT64_MAX;
                        break;
                }
                ceiling *= 2;
        }
        ceiling = MIN(ceiling, cap);
        if (ceiling == UINT64_MAX)
                return rnd;
        return rnd % (ceiling + 1);
}

int oci_parse_retry_after(const char *value, usec_t now_realtime, usec_t *ret) {
        const char *p = value;
        time_t t;

        if (!value)
                return -EINVAL;
        while (*p == ' ' || *p == '\t')
                p++;
        if (isdigit((unsigned char) *p)) {
                uint64_t v = 0;
                for (; isdigit((unsigned char) *p); p++) {
                        if (v > 1000000000ULL)
                                return -ERANGE;
                        v = v * 10 + (uint64_t) (*p - '0');
                }
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p)
                        return -EINVAL;
                *ret = v * USEC_PER_SEC;
                return 0;
        }

        /* An HTTP-date, in any of the three forms HTTP recipients accept: libcurl's parser. */
        t = curl_getdate(p, NULL);
        if (t == (time_t) -1)
                return -EINVAL;
        if ((usec_t) t * USEC_PER_SEC <= now_realtime)
                *ret = 0;
        else
                *ret = (usec_t) t * USEC_PER_SEC - now_realtime;
        return 0;
}

/* Transport errors after which nothing reached the server. */
static bool curl_code_not_sent(int code) {
        return code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_COULDNT_CONNECT;
}

static bool curl_code_retryable(int code) {
        switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_GOT_NOTHING:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

bool oci_should_retry(const char *method, bool safe_to_repeat, long status, int curl_code) {
        if (curl_code != CURLE_OK) {
                if (!curl_code_retryable(curl_code))
                        return false;
                return safe_to_repeat || curl_code_not_sent(curl_code);
        }
        if (!(status == 429 || status == 500 || status == 502 || status == 503 || status == 504))
                return false;
        return safe_to_repeat;
}

usec_t oci_token_bucket_take(OciTokenBucket *b, double rate, usec_t now) {
        return oci_token_bucket_take_burst(b, rate, MAX(1.0, rate), now);
}

usec_t oci_token_bucket_take_burst(OciTokenBucket *b, double rate, double burst, usec_t now) {
        assert(b);
        burst = MAX(1.0, burst);
        if (rate <= 0)
                return 0;
        if (!b->initialized) {
                b->tokens = burst;
                b->last = now;
                b->initialized = true;
        }
        if (now > b->last) {
                b->tokens += (double) (now - b->last) * rate / (double) USEC_PER_SEC;
                b->last = now;
        }
        b->tokens = MIN(burst, b->tokens);      /* the rate (and so the burst) may have been lowered */
        if (b->tokens >= 1.0) {
                b->tokens -= 1.0;
                return 0;
        }
        /* round up, and never 0: the caller must wait */
        return MAX((usec_t) 1, (usec_t) ceil((1.0 - b->tokens) * (double) USEC_PER_SEC / rate));
}

void oci_pacer_init(OciPacer *p, double limit) {
        assert(p);
        *p = (OciPacer) { .limit = MAX(0.0, limit), .rate = MAX(0.0, limit) };
}

/* Moves the slot ring to now: slots older than a second are emptied. */
static void pacer_advance(OciPacer *p, usec_t now) {
        const usec_t slot_len = USEC_PER_SEC / OCI_PACER_SLOTS;

        if (p->slot_start == 0 || now >= p->slot_start + OCI_PACER_SLOTS * slot_len) {
                memset(p->slot_ok, 0, sizeof p->slot_ok);
                p->slot = 0;
                p->slot_start = now;
                return;
        }
        while (now >= p->slot_start + slot_len) {
                p->slot = (p->slot + 1) % OCI_PACER_SLOTS;
                p->slot_ok[p->slot] = 0;
                p->slot_start += slot_len;
        }
}

unsigned oci_pacer_accepted_rate(OciPacer *p, usec_t now) {
        unsigned n = 0;

        pacer_advance(p, now);
        for (unsigned i = 0; i < OCI_PACER_SLOTS; i++)
                n += p->slot_ok[i];
        return n;
}

usec_t oci_pacer_take(OciPacer *p, usec_t now) {
        assert(p);
        if (now < p->paused_until)
                return p->paused_until - now;
        if (p->rate <= 0)
                return 0;
        return oci_token_bucket_take_burst(&p->bucket, p->rate, p->throttled ? p->rate / 10.0 : p->rate, now);
}

void oci_pacer_accepted(OciPacer *p, usec_t now) {
        assert(p);
        pacer_advance(p, now);
        p->slot_ok[p->slot]++;
        if (p->rate <= 0)
                return;         /* unpaced: nothing to raise */
        p->rate += OCI_PACER_INCREASE / p->rate;
        if (p->limit > 0)
                p->rate = MIN(p->rate, p->limit);
}

void oci_pacer_throttled(OciPacer *p, usec_t sent_at, usec_t retry_after, usec_t now) {
        double base;

        assert(p);
        p->throttles++;
        if (retry_after > 0)
                p->paused_until = MAX(p->paused_until, now + retry_after);
        if (p->decreases > 0 && (sent_at < p->last_decrease || now < p->last_decrease + OCI_PACER_DECREASE_INTERVAL))
                return;         /* that congestion was answered already */
        /* Unpaced, what the service admitted lately is all we know of what it takes; paced, the
         * rate is, unless the service admitted far less (a 429 now and then, as OCI answers
         * under load, must not make that count: it would cut twice). */
        base = (double) oci_pacer_accepted_rate(p, now);
        if (p->rate > 0 && (base <= 0 || base >= p->rate / 2))
                base = p->rate;
        p->rate = MAX(OCI_PACER_MIN_RATE, base * OCI_PACER_DECREASE);
        p->throttled = true;
        p->last_decrease = now;
        p->decreases++;
}

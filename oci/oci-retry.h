/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How the OCI client retries and paces (oci-transport.c uses them; pure functions of their
 * arguments and clock values, so the unit tests drive them without a network): backoff with
 * full jitter, Retry-After, which failures may be retried, and the per-endpoint token bucket
 * and AIMD pacer. */

#include <stdbool.h>
#include <stdint.h>

#include "time-util.h"

/* Backoff before attempt n+1 after n failed attempts (n >= 1): uniform in
 * [0, min(cap, base * 2^(n-1))], rnd supplying the randomness. */
usec_t oci_backoff_delay(unsigned n, usec_t base, usec_t cap, uint64_t rnd);

/* Retry-After: delta-seconds or an HTTP date (relative to now_realtime). -EINVAL if neither. */
int oci_parse_retry_after(const char *value, usec_t now_realtime, usec_t *ret);

/* Whether an attempt that ended with HTTP status (0 if none) / curl_code (CURLE_OK if an answer
 * came) may be retried for this method. safe_to_repeat: GET-like, idempotent or retry token. */
bool oci_should_retry(const char *method, bool safe_to_repeat, long status, int curl_code);

/* Token bucket: takes a token and returns 0, or returns the time until one is available. */
typedef struct OciTokenBucket {
        double tokens;
        usec_t last;
        bool initialized;
} OciTokenBucket;
usec_t oci_token_bucket_take(OciTokenBucket *b, double rate, usec_t now);
/* The same with an explicit bucket size (>= 1). */
usec_t oci_token_bucket_take_burst(OciTokenBucket *b, double rate, double burst, usec_t now);

/* Adaptive pacing of one endpoint, AIMD as TCP does it: a 429 multiplies the rate by
 * OCI_PACER_DECREASE (at most once per OCI_PACER_DECREASE_INTERVAL, and only for a request
 * sent at the current rate: the answers still in flight were sent faster and say nothing
 * new); each accepted answer adds OCI_PACER_INCREASE / rate, i.e. the rate grows by
 * OCI_PACER_INCREASE requests/s per second, up to the configured limit. Without a configured
 * limit the endpoint is unpaced until its first 429, whose new rate is then measured from the
 * answers the service accepted in the last second; so is a cut from a rate more than twice what
 * the service admitted (a limit configured far above the service's). A Retry-After pauses the
 * endpoint. Once paced
 * after a 429 the burst is 100 ms worth (at least one request): a server that just said "too many"
 * does not get a second's worth at once. Times are CLOCK_MONOTONIC µs. */
#define OCI_PACER_DECREASE 0.75
#define OCI_PACER_INCREASE 10.0
#define OCI_PACER_MIN_RATE 1.0
#define OCI_PACER_DECREASE_INTERVAL USEC_PER_SEC
#define OCI_PACER_SLOTS 10U             /* accepted answers per 100 ms, the last second */

typedef struct OciPacer {
        double limit;                   /* configured requests/s, 0 = none */
        double rate;                    /* current requests/s, 0 = unpaced */
        bool throttled;                 /* a 429 was seen: pace with the short burst */
        usec_t paused_until;            /* Retry-After */
        usec_t last_decrease;
        unsigned decreases, throttles;  /* counters, for logs and tests */
        unsigned slot_ok[OCI_PACER_SLOTS];
        usec_t slot_start;              /* start of the newest slot */
        unsigned slot;                  /* index of the newest slot */
        OciTokenBucket bucket;
} OciPacer;

void oci_pacer_init(OciPacer *p, double limit);
/* 0: send one request now (takes its token); else how long to wait before asking again. */
usec_t oci_pacer_take(OciPacer *p, usec_t now);
/* An answer other than 429 (any HTTP status: the service admitted the request). */
void oci_pacer_accepted(OciPacer *p, usec_t now);
/* A 429 for a request sent at sent_at; retry_after 0 when the answer had none. */
void oci_pacer_throttled(OciPacer *p, usec_t sent_at, usec_t retry_after, usec_t now);
/* Accepted answers in the last second. */
unsigned oci_pacer_accepted_rate(OciPacer *p, usec_t now);

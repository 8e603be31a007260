/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <curl/curl.h>
#include <math.h>
#include <stdint.h>

#include "oci-client.h"
#include "oci-retry.h"
#include "oci-url.h"
#include "tests.h"

#define S USEC_PER_SEC

TEST(backoff_bounds) {
        /* n failed attempts: uniform in [0, min(cap, base * 2^(n-1))] */
        static const struct {
                unsigned n;
                usec_t ceiling;
        } cases[] = {
                { 1, 1 * S }, { 2, 2 * S }, { 3, 4 * S }, { 4, 8 * S }, { 5, 16 * S }, { 6, 30 * S }, { 7, 30 * S },
                { 64, 30 * S }, { 1000, 30 * S },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                /* the extremes of the random input hit both ends of the range */
                ASSERT_EQ(oci_backoff_delay(cases[i].n, S, 30 * S, 0), 0);
                ASSERT_EQ(oci_backoff_delay(cases[i].n, S, 30 * S, cases[i].ceiling), cases[i].ceiling);
                ASSERT_EQ(oci_backoff_delay(cases[i].n, S, 30 * S, cases[i].ceiling + 1), 0);
                ASSERT_EQ(oci_backoff_delay(cases[i].n, S, 30 * S, UINT64_MAX) <= cases[i].ceiling, 1);
        }
        ASSERT_EQ(oci_backoff_delay(0, S, 30 * S, 12345), 0);
        ASSERT_EQ(oci_backoff_delay(3, 0, 30 * S, 12345), 0);
        /* a huge base does not overflow */
        ASSERT_TRUE(oci_backoff_delay(100, UINT64_MAX / 3, UINT64_MAX, 77) == 77);
}

TEST(backoff_distribution) {
        /* full jitter: the mean over many draws is about half the ceiling, and every draw is
         * within it */
        uint64_t x = 42;
        double sum = 0;
        usec_t max = 0, min = UINT64_MAX;
        const unsigned n = 20000;

        for (unsigned i = 0; i < n; i++) {
                usec_t d;
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                d = oci_backoff_delay(4, 250 * USEC_PER_MSEC, 10 * S, x);
                ASSERT_TRUE(d <= 2 * S);
                sum += (double) d;
                max = MAX(max, d);
                min = MIN(min, d);
        }
        ASSERT_TRUE(sum / n > 0.95 * S && sum / n < 1.05 * S);
        ASSERT_TRUE(max > 1.9 * S);
        ASSERT_TRUE(min < 0.1 * S);
}

TEST(retry_after) {
        usec_t now_rt = 1388957500ULL * S; /* Sun, 05 Jan 2014 21:31:40 GMT */
        usec_t d = 1;

        ASSERT_OK(oci_parse_retry_after("5", now_rt, &d));
        ASSERT_EQ(d, 5 * S);
        ASSERT_OK(oci_parse_retry_after(" 0 ", now_rt, &d));
        ASSERT_EQ(d, 0);
        ASSERT_OK(oci_parse_retry_after("Sun, 05 Jan 2014 21:31:50 GMT", now_rt, &d));
        ASSERT_EQ(d, 10 * S);
        ASSERT_OK(oci_parse_retry_after("Sun, 05 Jan 2014 21:30:00 GMT", now_rt, &d));
        ASSERT_EQ(d, 0); /* in the past */
        ASSERT_ERR(oci_parse_retry_after("soon", now_rt, &d), EINVAL);
        ASSERT_ERR(oci_parse_retry_after("5s", now_rt, &d), EINVAL);
        ASSERT_ERR(oci_parse_retry_after("-1", now_rt, &d), EINVAL);
        ASSERT_ERR(oci_parse_retry_after("Sun, 05 Foo 2014 21:30:00 GMT", now_rt, &d), EINVAL);
        /* HTTP's obsolete date forms too (RFC 9110 5.6.7: recipients accept all three) */
        ASSERT_OK(oci_parse_retry_after("Sunday, 05-Jan-14 21:31:50 GMT", now_rt, &d));
        ASSERT_EQ(d, 10 * S);
        ASSERT_OK(oci_parse_retry_after("Sun Jan  5 21:31:50 2014", now_rt, &d));
        ASSERT_EQ(d, 10 * S);
        ASSERT_ERR(oci_parse_retry_after("Sun, 05 Jan 2014 25:30:00 GMT", now_rt, &d), EINVAL);
        ASSERT_ERR(oci_parse_retry_after("Sun, 05 Jan 2014 21:30:00 XYZ", now_rt, &d), EINVAL);
        ASSERT_ERR(oci_parse_retry_after("99999999999999999999", now_rt, &d), ERANGE);
        ASSERT_ERR(oci_parse_retry_after(NULL, now_rt, &d), EINVAL);
}

TEST(should_retry) {
        static const long retried[] = { 429, 500, 502, 503, 504 };
        static const long final[] = { 200, 400, 401, 403, 404, 409, 412, 413, 501, 505 };

        for (size_t i = 0; i < ELEMENTSOF(retried); i++) {
                ASSERT_TRUE(oci_should_retry("GET", true, retried[i], CURLE_OK));
                /* a POST without a retry token: never, whatever the status */
                ASSERT_TRUE(!oci_should_retry("POST", false, retried[i], CURLE_OK));
                ASSERT_TRUE(oci_should_retry("POST", true, retried[i], CURLE_OK));
        }
        for (size_t i = 0; i < ELEMENTSOF(final); i++)
                ASSERT_TRUE(!oci_should_retry("GET", true, final[i], CURLE_OK));

        /* transport errors */
        ASSERT_TRUE(oci_should_retry("GET", true, 0, CURLE_OPERATION_TIMEDOUT));
        ASSERT_TRUE(oci_should_retry("GET", true, 0, CURLE_GOT_NOTHING));
        ASSERT_TRUE(oci_should_retry("GET", true, 0, CURLE_RECV_ERROR));
        ASSERT_TRUE(oci_should_retry("GET", true, 0, CURLE_PARTIAL_FILE));
        ASSERT_TRUE(!oci_should_retry("POST", false, 0, CURLE_RECV_ERROR));   /* may have been acted on */
        ASSERT_TRUE(!oci_should_retry("POST", false, 0, CURLE_GOT_NOTHING));
        ASSERT_TRUE(oci_should_retry("POST", false, 0, CURLE_COULDNT_CONNECT)); /* nothing was sent */
        ASSERT_TRUE(oci_should_retry("POST", true, 0, CURLE_RECV_ERROR));
        /* not transient */
        ASSERT_TRUE(!oci_should_retry("GET", true, 0, CURLE_PEER_FAILED_VERIFICATION));
        ASSERT_TRUE(!oci_should_retry("GET", true, 0, CURLE_URL_MALFORMAT));
        ASSERT_TRUE(!oci_should_retry("GET", true, 0, CURLE_WRITE_ERROR));
}

/* The pacing arithmetic (AIMD): what a 429 and the answers do to an endpoint's rate. */
TEST(pacer) {
        usec_t t = 1000 * S, ms = USEC_PER_MSEC;
        OciPacer p;

        /* Unpaced without a limit: requests go at once, until the first 429. */
        oci_pacer_init(&p, 0);
        for (int i = 0; i < 100; i++)
                ASSERT_EQ(oci_pacer_take(&p, t), 0);
        /* The service admitted 60 in the last second, then says 429: 0.75 of what it took. */
        for (int i = 0; i < 60; i++)
                oci_pacer_accepted(&p, t + (usec_t) i * 10 * ms);
        ASSERT_EQ(oci_pacer_accepted_rate(&p, t + 600 * ms), 60U);
        oci_pacer_throttled(&p, t + 590 * ms, 0, t + 600 * ms);
        ASSERT_EQ(p.decreases, 1U);
        ASSERT_TRUE(fabs(p.rate - 45.0) < 1e-9);
        /* 429s for requests sent before that decrease, or within a second of it: no second cut. */
        oci_pacer_throttled(&p, t + 599 * ms, 0, t + 700 * ms);
        oci_pacer_throttled(&p, t + 650 * ms, 0, t + 900 * ms);
        ASSERT_EQ(p.decreases, 1U);
        ASSERT_EQ(p.throttles, 3U);
        ASSERT_TRUE(fabs(p.rate - 45.0) < 1e-9);
        /* Paced: a burst of 100 ms worth (4.5 → 4 requests), then one every 1/45 s. */
        {
                usec_t x = t + 2 * S;
                unsigned burst = 0;
                while (oci_pacer_take(&p, x) == 0)
                        burst++;
                ASSERT_EQ(burst, 4U);
                ASSERT_EQ(oci_pacer_take(&p, x), (usec_t) ceil(S / 45.0 * (1.0 - (4.5 - 4.0))));
        }
        /* Additive increase: a second of answers at 45/s raises the rate by about OCI_PACER_INCREASE. */
        {
                double before = p.rate;
                for (int i = 0; i < 45; i++)
                        oci_pacer_accepted(&p, t + 3 * S + (usec_t) i * 22 * ms);
                ASSERT_TRUE(p.rate > before + 0.85 * OCI_PACER_INCREASE && p.rate < before + OCI_PACER_INCREASE);
        }
        /* Later 429s cut again, from the rate (the service admitted more than half of it). */
        {
                double before = p.rate;
                for (int i = 0; i < 200; i++)
                        oci_pacer_accepted(&p, t + 4 * S + (usec_t) i * ms);
                before = p.rate;
                oci_pacer_throttled(&p, t + 4 * S + 300 * ms, 0, t + 4 * S + 400 * ms);
                ASSERT_EQ(p.decreases, 2U);
                ASSERT_TRUE(fabs(p.rate - before * OCI_PACER_DECREASE) < 1e-9);
        }
        /* Never below the floor. */
        for (int i = 0; i < 40; i++)
                oci_pacer_throttled(&p, t + (10 + (usec_t) i * 2) * S, 0, t + (10 + (usec_t) i * 2) * S + ms);
        ASSERT_TRUE(fabs(p.rate - OCI_PACER_MIN_RATE) < 1e-9);

        /* Retry-After pauses the whole endpoint, even when the rate is not cut again. */
        {
                usec_t x = t + 200 * S;
                unsigned d = p.decreases;
                oci_pacer_throttled(&p, x - 2 * S, 3 * S, x);
                ASSERT_EQ(p.decreases, d + 1);      /* the last cut was long ago */
                ASSERT_EQ(oci_pacer_take(&p, x), 3 * S);
                ASSERT_EQ(oci_pacer_take(&p, x + 2 * S), 1 * S);
                ASSERT_EQ(oci_pacer_take(&p, x + 3 * S), 0);
        }

        /* A configured limit: paced from the start with a second's burst, never raised past it. */
        oci_pacer_init(&p, 10);
        for (int i = 0; i < 10; i++)
                ASSERT_EQ(oci_pacer_take(&p, t), 0);
        ASSERT_EQ(oci_pacer_take(&p, t), 100 * ms);
        for (int i = 0; i < 1000; i++)
                oci_pacer_accepted(&p, t + (usec_t) i * 100 * ms);
        ASSERT_TRUE(fabs(p.rate - 10.0) < 1e-9);
        oci_pacer_throttled(&p, t + 99 * S + 950 * ms, 0, t + 99 * S + 950 * ms);
        ASSERT_TRUE(fabs(p.rate - 7.5) < 1e-9);     /* the rate: 10 were admitted in the last second */

        /* A limit far above what the service admits: the first cut goes to what it admitted. */
        oci_pacer_init(&p, 1000);
        for (int i = 0; i < 20; i++)
                oci_pacer_accepted(&p, t + (usec_t) i * 40 * ms);
        oci_pacer_throttled(&p, t + 850 * ms, 0, t + 900 * ms);
        ASSERT_TRUE(fabs(p.rate - 15.0) < 1e-9);
}

/* An endpoint paced by AIMD against a server that admits 50 requests/s (a token bucket of 50,
 * burst 50, excess answered 429): simulated, 1,000 requests end near the floor (20 s) with few
 * 429s, and every request is eventually admitted. */
TEST(pacer_against_a_limit) {
        OciPacer p;
        OciTokenBucket server = {};
        usec_t t = 1000 * S, start = t, rtt = 30 * USEC_PER_MSEC;
        unsigned admitted = 0, throttled = 0, sent = 0;
        usec_t pending_at[16];          /* answers in flight (sent at), at most 16 at once */
        bool pending_ok[16];
        usec_t pending_sent[16];
        unsigned n_pending = 0;

        oci_pacer_init(&p, 0);
        while (admitted < 1000) {
                /* answers that are due */
                for (unsigned i = 0; i < n_pending;)
                        if (pending_at[i] <= t) {
                                if (pending_ok[i]) {
                                        admitted++;
                                        oci_pacer_accepted(&p, t);
                                } else {
                                        throttled++;
                                        oci_pacer_throttled(&p, pending_sent[i], 0, t);
                                }
                                n_pending--;
                                pending_at[i] = pending_at[n_pending];
                                pending_ok[i] = pending_ok[n_pending];
                                pending_sent[i] = pending_sent[n_pending];
                        } else
                                i++;
                while (n_pending < 16 && admitted + n_pending < 1000 && oci_pacer_take(&p, t) == 0) {
                        pending_sent[n_pending] = t;
                        pending_at[n_pending] = t + rtt;
                        pending_ok[n_pending] = oci_token_bucket_take(&server, 50, t) == 0;
                        n_pending++;
                        sent++;
                }
                t += USEC_PER_MSEC;
                ASSERT_TRUE(t - start < 120 * S);
        }
        fprintf(stderr, "# pacer: 1000 admitted in %.1f s (floor 20 s), %u sent, %u answered 429\n",
                 (double) (t - start) / S, sent, throttled);
        ASSERT_TRUE(t - start < 27 * S);        /* within 35% of the floor (20 s, less the burst) */
        ASSERT_TRUE(throttled < 100);           /* hammering would be thousands */
}

TEST(token_bucket) {
        OciTokenBucket b = {};
        usec_t t = 1000 * S;

        /* off */
        ASSERT_EQ(oci_token_bucket_take(&b, 0, t), 0);

        /* 4/s: a burst of 4, then one every 250 ms */
        for (int i = 0; i < 4; i++)
                ASSERT_EQ(oci_token_bucket_take(&b, 4, t), 0);
        ASSERT_EQ(oci_token_bucket_take(&b, 4, t), 250 * USEC_PER_MSEC);
        ASSERT_EQ(oci_token_bucket_take(&b, 4, t + 100 * USEC_PER_MSEC), 150 * USEC_PER_MSEC);
        ASSERT_EQ(oci_token_bucket_take(&b, 4, t + 250 * USEC_PER_MSEC), 0);
        ASSERT_TRUE(oci_token_bucket_take(&b, 4, t + 250 * USEC_PER_MSEC) > 0);
        /* a long pause refills to the burst size only */
        for (int i = 0; i < 4; i++)
                ASSERT_EQ(oci_token_bucket_take(&b, 4, t + 100 * S), 0);
        ASSERT_TRUE(oci_token_bucket_take(&b, 4, t + 100 * S) > 0);

        /* fractional rates: one every 2 s, burst 1 */
        {
                OciTokenBucket h = {};
                ASSERT_EQ(oci_token_bucket_take(&h, 0.5, t), 0);
                ASSERT_EQ(oci_token_bucket_take(&h, 0.5, t), 2 * S);
                ASSERT_EQ(oci_token_bucket_take(&h, 0.5, t + 2 * S), 0);
        }

        /* over a simulated minute at 10/s: about 600 + burst tokens */
        {
                OciTokenBucket h = {};
                unsigned got = 0;
                for (usec_t x = 0; x < 60 * S; x += USEC_PER_MSEC)
                        while (oci_token_bucket_take(&h, 10, t + x) == 0)
                                got++;
                ASSERT_TRUE(got >= 605 && got <= 611);
        }
}

TEST(urls) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL, *g = NULL, *h = NULL;

        ASSERT_OK(oci_service_base_url(NULL, OCI_SERVICE_IDENTITY, "us-phoenix-1", &a));
        ASSERT_STREQ(a, "https://identity.us-phoenix-1.oci.oraclecloud.com");
        ASSERT_OK(oci_service_base_url(NULL, OCI_SERVICE_IAAS, "us-phoenix-1", &b));
        ASSERT_STREQ(b, "https://iaas.us-phoenix-1.oraclecloud.com");
        ASSERT_OK(oci_service_base_url(NULL, OCI_SERVICE_QUERY, "uk-gov-london-1", &c));
        ASSERT_STREQ(c, "https://query.uk-gov-london-1.oci.oraclegovcloud.uk");
        ASSERT_OK(oci_service_base_url("http://127.0.0.1:8443/{region}", OCI_SERVICE_QUERY, "us-ashburn-1", &d));
        ASSERT_STREQ(d, "http://127.0.0.1:8443/us-ashburn-1");
        ASSERT_OK(oci_service_base_url("https://{service}.{region}.example.internal/", OCI_SERVICE_IAAS, "eu-zurich-1",
                                       &e));
        ASSERT_STREQ(e, "https://iaas.eu-zurich-1.example.internal");
        ASSERT_OK(oci_service_base_url("http://127.0.0.1:9000", OCI_SERVICE_IDENTITY, "eu-zurich-1", &f));
        ASSERT_STREQ(f, "http://127.0.0.1:9000");
        ASSERT_ERR(oci_service_base_url(NULL, _OCI_SERVICE_MAX, "eu-zurich-1", &g), EINVAL);
        ASSERT_ERR(oci_service_base_url(NULL, OCI_SERVICE_IAAS, "", &g), EINVAL);
        ASSERT_NULL(g);

        h = oci_url_escape("Pjwf: PHX-AD-1/x?y=z&ü~._-");
        ASSERT_STREQ(h, "Pjwf%3A%20PHX-AD-1%2Fx%3Fy%3Dz%26%C3%BC~._-");
}

TEST(errors) {
        ASSERT_EQ(oci_error_kind_from_status(401), OCI_ERROR_NOT_AUTHENTICATED);
        ASSERT_EQ(oci_error_kind_from_status(403), OCI_ERROR_NOT_AUTHORIZED);
        ASSERT_EQ(oci_error_kind_from_status(404), OCI_ERROR_NOT_FOUND);
        ASSERT_EQ(oci_error_kind_from_status(409), OCI_ERROR_CONFLICT);
        ASSERT_EQ(oci_error_kind_from_status(412), OCI_ERROR_CONFLICT);
        ASSERT_EQ(oci_error_kind_from_status(429), OCI_ERROR_THROTTLED);
        ASSERT_EQ(oci_error_kind_from_status(500), OCI_ERROR_SERVER);
        ASSERT_EQ(oci_error_kind_from_status(501), OCI_ERROR_SERVER);
        ASSERT_EQ(oci_error_kind_from_status(400), OCI_ERROR_INVALID_REQUEST);
        ASSERT_EQ(oci_error_kind_from_status(302), OCI_ERROR_BAD_RESPONSE);
        for (OciErrorKind k = 0; k < _OCI_ERROR_KIND_MAX; k++)
                ASSERT_TRUE(oci_error_kind_to_errno(k) < 0);
        ASSERT_EQ(oci_error_kind_to_errno(OCI_ERROR_NOT_FOUND), -ENOENT);

        {
                OciError e = {
                        .kind = OCI_ERROR_NOT_FOUND, .http_status = 404, .operation = "GetInstance",
                        .code = "NotAuthorizedOrNotFound", .message = "Authorization failed or requested resource not found.",
                        .request_id = "ABC/DEF", .attempts = 1,
                };
                _cleanup_free_ char *s = oci_error_to_string(&e);
                ASSERT_STREQ(s, "GetInstance: HTTP 404 NotAuthorizedOrNotFound: Authorization failed or requested "
                                "resource not found. (opc-request-id: ABC/DEF, attempts: 1)");
        }
        {
                OciError e = { .kind = OCI_ERROR_NOT_AUTHENTICATED, .http_status = 401, .operation = "GetTenancy",
                               .code = "NotAuthenticated", .message = "bad signature", .attempts = 1 };
                _cleanup_free_ char *s = oci_error_to_string(&e);
                ASSERT_TRUE(strstr(s, "GetTenancy: HTTP 401 NotAuthenticated: bad signature (check user, tenancy, "
                                      "fingerprint and key_file") != NULL);
        }
        {
                OciError e = { .kind = OCI_ERROR_TRANSPORT, .operation = "ListInstances", .code = "CouldNotConnect",
                               .message = "Failed to connect", .attempts = 8 };
                _cleanup_free_ char *s = oci_error_to_string(&e);
                ASSERT_STREQ(s, "ListInstances: CouldNotConnect: Failed to connect (attempts: 8)");
        }
}

TEST(retry_tokens) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        ASSERT_OK(oci_retry_token_new(&a));
        ASSERT_OK(oci_retry_token_new(&b));
        ASSERT_EQ(strlen(a), 32);
        ASSERT_TRUE(!streq(a, b));
        for (const char *p = a; *p; p++)
                ASSERT_TRUE((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'));
}

TEST(settings_from_config) {
        _cleanup_config_free_ Config *cfg = NULL;
        OciClientSettings s;

        ASSERT_OK(config_load_string("oci: {endpoint: 'http://h:1/{region}', max_attempts: 3, retry_max_delay: 5s}\n"
                                     "discovery: {max_in_flight: 7, rate_limit: 2.5}\n", "t", &cfg, NULL));
        oci_client_settings_from_config(&s, cfg);
        ASSERT_STREQ(s.endpoint, "http://h:1/{region}");
        ASSERT_EQ(s.max_attempts, 3);
        ASSERT_EQ(s.retry_max_delay, 5 * S);
        ASSERT_EQ(s.max_in_flight, 7);
        ASSERT_TRUE(s.rate_limit == 2.5);
        ASSERT_EQ(s.max_response_size, CONFIG_DEFAULT_MAX_RESPONSE_SIZE);
}

int main(void) {
        RUN(backoff_bounds);
        RUN(backoff_distribution);
        RUN(retry_after);
        RUN(should_retry);
        RUN(token_bucket);
        RUN(pacer);
        RUN(pacer_against_a_limit);
        RUN(urls);
        RUN(errors);
        RUN(retry_tokens);
        RUN(settings_from_config);
        return 0;
}

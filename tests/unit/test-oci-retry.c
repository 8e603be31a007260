/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <curl/curl.h>
#include <stdint.h>

#include "oci-client.h"
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
        ASSERT_ERR(oci_parse_retry_after("Sun, 05 Jan 2014 21:30:00 GMT trailing", now_rt, &d), EINVAL);
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
        RUN(urls);
        RUN(errors);
        RUN(retry_tokens);
        RUN(settings_from_config);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz corpora for what the daemon parses from outside (issue 13): the YAML configuration, the
 * OCI config file, and OCI's JSON answers. Each seed is mutated deterministically (truncated,
 * bytes flipped, inserted or deleted, chunks repeated, values replaced by huge strings, numbers by
 * strings and the other way round); every input must give success or a negative errno with a
 * one-line message, never a crash, a leak or a sanitizer report (this runs under ASan+UBSan too).
 *
 *     test-fuzz-parsers [ITERATIONS]     (default 3000 per target; make soak runs more) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "oci-config.h"
#include "oci-model.h"
#include "tests.h"

static const char config_seed[] =
        "database: \"host=/run/postgresql dbname=stopstart\"\n"
        "oci:\n"
        "  config_file: ~/.oci/config\n"
        "  profile: DEFAULT\n"
        "  regions: [us-phoenix-1, us-ashburn-1]\n"
        "  connect_timeout: 10s\n"
        "  request_timeout: 60s\n"
        "  max_attempts: 8\n"
        "  max_response_size: 64MiB\n"
        "discovery:\n"
        "  interval: 15min\n"
        "  max_in_flight: 16\n"
        "  details: auto\n"
        "migrations:\n"
        "  allow_reset: false\n"
        "  keep_backups: 10\n"
        "systemd:\n"
        "  bus: user\n"
        "scheduler:\n"
        "  time_zone: Europe/Berlin\n"
        "  max_parallel_actions: 16\n";

static const char oci_config_seed[] =
        "[DEFAULT]\n"
        "user=ocid1.user.oc1..aaaa\n"
        "fingerprint=12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0\n"
        "key_file=~/.oci/key.pem\n"
        "tenancy=ocid1.tenancy.oc1..tttt\n"
        "region=us-phoenix-1\n"
        "# a comment\n"
        "[OTHER]\n"
        "pass_phrase=secret\n"
        "region=us-ashburn-1\n";

static const char instance_seed[] =
        "{\"id\":\"ocid1.instance.oc1.phx.aaaa\",\"compartmentId\":\"ocid1.compartment.oc1..bbbb\","
        "\"availabilityDomain\":\"Uocm:PHX-AD-1\",\"faultDomain\":\"FAULT-DOMAIN-2\",\"displayName\":\"web-1\","
        "\"region\":\"phx\",\"shape\":\"VM.Standard.E4.Flex\",\"lifecycleState\":\"RUNNING\","
        "\"timeCreated\":\"2016-08-25T21:10:29.600Z\",\"freeformTags\":{\"env\":\"prod\"},"
        "\"definedTags\":{\"Ops\":{\"Owner\":\"jane\",\"Cost\":42,\"Critical\":true}}}";

static const char compartments_seed[] =
        "[{\"compartmentId\":\"ocid1.tenancy.oc1..tttt\",\"description\":\"d\",\"freeformTags\":{\"env\":\"qa\"},"
        "\"id\":\"ocid1.compartment.oc1..cccc\",\"inactiveStatus\":null,\"isAccessible\":true,"
        "\"lifecycleState\":\"ACTIVE\",\"name\":\"app\",\"timeCreated\":\"2018-08-18T17:53:26.704Z\"}]";

static const char tenancy_seed[] =
        "{\"description\":\"x\",\"homeRegionKey\":\"PHX\",\"id\":\"ocid1.tenancy.oc1..tttt\",\"name\":\"acme\"}";

static const char subscriptions_seed[] =
        "[{\"regionKey\":\"PHX\",\"regionName\":\"us-phoenix-1\",\"status\":\"READY\",\"isHomeRegion\":true}]";

static const char search_seed[] =
        "{\"items\":[{\"resourceType\":\"Instance\",\"identifier\":\"ocid1.instance.oc1.phx.aaaa\","
        "\"compartmentId\":\"ocid1.compartment.oc1..bbbb\",\"displayName\":\"web-1\","
        "\"availabilityDomain\":\"Uocm:PHX-AD-1\",\"lifecycleState\":\"STOPPED\",\"freeformTags\":{},"
        "\"definedTags\":{},\"additionalDetails\":{\"shape\":\"VM.Standard2.1\",\"faultDomain\":\"FD-1\"}}]}";

static const char error_seed[] = "{\"code\":\"NotAuthorizedOrNotFound\",\"message\":\"Authorization failed\"}";

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void) {
        /* xorshift64*: deterministic, so a failure replays */
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        return rng * 0x2545f4914f6cdd1dULL;
}

static size_t below(size_t n) {
        return n == 0 ? 0 : (size_t) (next() % n);
}

static const char * const tokens[] = {
        "\"", "'", "{", "}", "[", "]", ":", ",", "\n", "  ", "- ", "null", "true", "-1", "1e999", "18446744073709551616",
        "\\u0000", "\\ud800", "\xc3", "\xe2\x82", "\xff", "&a", "*a", "!!binary", "---\n", "...\n", "%YAML 1.2\n",
        "[DEFAULT]\n", "=", "~/", "\t", "é", "\x01", "\"\\", "{\"x\":", "[[[[[[[[",
};

/* One mutation of seed into a new buffer of *ret_size bytes (NUL-terminated as well). */
static char *mutate(const char *seed, size_t *ret_size) {
        size_t n = strlen(seed), cap = n * 4 + 300000;
        char *b = malloc(cap);
        ASSERT_TRUE(b);
        memcpy(b, seed, n);
        for (unsigned k = 0, rounds = 1 + below(4); k < rounds; k++) {
                size_t at = below(n + 1);
                switch (below(8)) {
                case 0: /* truncate */
                        n = at;
                        break;
                case 1: /* flip a byte */
                        if (n > 0)
                                b[below(n)] ^= (char) (1u << below(8));
                        break;
                case 2: { /* insert a token */
                        const char *t = tokens[below(ELEMENTSOF(tokens))];
                        size_t l = strlen(t);
                        if (n + l < cap) {
                                memmove(b + at + l, b + at, n - at);
                                memcpy(b + at, t, l);
                                n += l;
                        }
                        break;
                }
                case 3: { /* delete a run */
                        size_t want = below(20), l = MIN(want, n - at);
                        memmove(b + at, b + at + l, n - at - l);
                        n -= l;
                        break;
                }
                case 4: { /* repeat a chunk */
                        size_t want = below(60), l = MIN(want, n - at);
                        if (n + l < cap) {
                                memmove(b + at + l, b + at, n - at);
                                n += l;
                        }
                        break;
                }
                case 5: { /* a huge run of one character (a value or a key) */
                        size_t l = below(3) == 0 ? 200000 : below(5000);
                        if (n + l < cap) {
                                memmove(b + at + l, b + at, n - at);
                                memset(b + at, "a9é\"{"[below(5)], l);
                                n += l;
                        }
                        break;
                }
                case 6: /* a digit becomes a letter, or a letter a digit: wrong types */
                        for (size_t i = at; i < n; i++)
                                if ((b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'z')) {
                                        b[i] = b[i] <= '9' ? 'x' : '7';
                                        break;
                                }
                        break;
                default: /* random bytes */
                        for (size_t i = 0, l = below(8); i < l && at + i < n; i++)
                                b[at + i] = (char) next();
                }
        }
        b[n] = 0;
        *ret_size = n;
        return b;
}

/* [target][0] inputs accepted, [1] refused: both must occur, or the corpus tests nothing */
static unsigned outcomes[3][2];

static void check_error(const char *what, int r, const char *error) {
        if (r >= 0)
                return;
        if (!error || !*error)
                TEST_FAIL("%s: error %d without a message", what, r);
        if (strchr(error, '\n'))
                TEST_FAIL("%s: message over several lines: %s", what, error);
}

static void fuzz_config(unsigned iterations) {
        for (unsigned i = 0; i < iterations; i++) {
                size_t n;
                _cleanup_free_ char *text = mutate(config_seed, &n), *err = NULL;
                _cleanup_(config_freep) Config *c = NULL;
                int r = config_load_string(text, "fuzz.yaml", &c, &err);
                check_error("config", r, err);
                outcomes[0][r < 0]++;
                ASSERT_TRUE(r < 0 || c);
        }
}

static void fuzz_oci_config(unsigned iterations) {
        char path[] = "/tmp/fuzz-oci-config.XXXXXX";
        int fd = mkstemp(path);
        ASSERT_TRUE(fd >= 0);
        for (unsigned i = 0; i < iterations; i++) {
                size_t n;
                _cleanup_free_ char *text = mutate(oci_config_seed, &n), *err = NULL;
                _cleanup_(oci_profile_freep) OciProfile *p = NULL;
                ASSERT_TRUE(ftruncate(fd, 0) == 0);
                ASSERT_TRUE(pwrite(fd, text, n, 0) == (ssize_t) n);
                int r = oci_profile_load(path, i % 2 ? "OTHER" : NULL, &p, &err);
                check_error("oci config", r, err);
                outcomes[1][r < 0]++;
        }
        close(fd);
        unlink(path);
}

static void fuzz_json(unsigned iterations) {
        static const char * const seeds[] = { instance_seed, compartments_seed, tenancy_seed, subscriptions_seed,
                                              search_seed, error_seed };
        for (unsigned i = 0; i < iterations; i++) {
                size_t which = below(ELEMENTSOF(seeds)), n, count = 0;
                _cleanup_free_ char *body = mutate(seeds[which], &n), *err = NULL, *code = NULL, *message = NULL;
                int r;
                switch (which) {
                case 0: {
                        OciInstance x = {};
                        r = oci_instance_decode(body, n, &x, &err);
                        check_error("instance", r, err);
                        if (r >= 0)
                                oci_instance_done(&x);
                        break;
                }
                case 1: {
                        OciCompartment *a = NULL;
                        r = oci_compartments_decode(body, n, &a, &count, &err);
                        check_error("compartments", r, err);
                        oci_compartments_free(a, count);
                        break;
                }
                case 2: {
                        OciTenancy t = {};
                        r = oci_tenancy_decode(body, n, &t, &err);
                        check_error("tenancy", r, err);
                        if (r >= 0)
                                oci_tenancy_done(&t);
                        break;
                }
                case 3: {
                        OciRegionSubscription *a = NULL;
                        r = oci_region_subscriptions_decode(body, n, &a, &count, &err);
                        check_error("region subscriptions", r, err);
                        oci_region_subscriptions_free(a, count);
                        break;
                }
                case 4: {
                        OciResourceSummary *a = NULL;
                        r = oci_resource_summaries_decode(body, n, &a, &count, &err);
                        check_error("search", r, err);
                        oci_resource_summaries_free(a, count);
                        break;
                }
                default:
                        r = oci_error_body_decode(body, n, &code, &message);
                }
                outcomes[2][r < 0]++;
        }
}

int main(int argc, char *argv[]) {
        unsigned iterations = argc > 1 ? (unsigned) strtoul(argv[1], NULL, 10) : 3000;
        fuzz_config(iterations);
        fuzz_oci_config(iterations);
        fuzz_json(iterations * 2);
        printf("%u configurations (%u accepted), %u OCI config files (%u), %u JSON answers (%u): every one "
               "answered.\n", iterations, outcomes[0][0], iterations, outcomes[1][0], iterations * 2, outcomes[2][0]);
        for (size_t t = 0; t < ELEMENTSOF(outcomes); t++)
                ASSERT_TRUE(outcomes[t][0] > 0 && outcomes[t][1] > 0);
        return 0;
}

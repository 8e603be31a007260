/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "time-util.h"
#include "tests.h"

TEST(parse_timespan_good) {
        static const struct {
                const char *s;
                usec_t v;
        } cases[] = {
                { "0",          0 },
                { "30",         30 * USEC_PER_SEC },
                { "30s",        30 * USEC_PER_SEC },
                { "30 s",       30 * USEC_PER_SEC },
                { "15min",      15 * USEC_PER_MINUTE },
                { "15m",        15 * USEC_PER_MINUTE },
                { "1h",         USEC_PER_HOUR },
                { "1h 30min",   90 * USEC_PER_MINUTE },
                { "1h30min",    90 * USEC_PER_MINUTE },
                { "1.5h",       90 * USEC_PER_MINUTE },
                { "250ms",      250 * USEC_PER_MSEC },
                { "0.25s",      250 * USEC_PER_MSEC },
                { "7us",        7 },
                { "2d",         2 * USEC_PER_DAY },
                { "1w",         USEC_PER_WEEK },
                { "3 minutes",  3 * USEC_PER_MINUTE },
                { " 1s ",       USEC_PER_SEC },
                { "1.0000000001s", USEC_PER_SEC },
                { "9y",         9 * 31557600ULL * USEC_PER_SEC },
                { "1month",     2629800ULL * USEC_PER_SEC },
                { "2M",         2 * 2629800ULL * USEC_PER_SEC },
                { "1 year 2 months", (31557600ULL + 2 * 2629800ULL) * USEC_PER_SEC },
                { "1M 1m",      2629800ULL * USEC_PER_SEC + USEC_PER_MINUTE },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                usec_t u = 1;
                ASSERT_OK(parse_timespan(cases[i].s, &u));
                if (u != cases[i].v)
                        TEST_FAIL("%s: got %llu", cases[i].s, (unsigned long long) u);
        }
}

TEST(parse_timespan_bad) {
        static const char * const bad[] = {
                "", " ", "s", "min", "-1s", "1x", "15 fortnights", "1h-", ".s", "1..2s", "abc",
                "1s,2s", "0x10", "1 2", "1 2s", "1.s", "1s 2",
        };
        usec_t u = 42;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                if (parse_timespan(bad[i], &u) != -EINVAL)
                        TEST_FAIL("'%s' accepted", bad[i]);
                ASSERT_EQ(u, 42); /* ret untouched on failure */
        }
        ASSERT_ERR(parse_timespan("99999999999999999999s", &u), ERANGE);
        ASSERT_ERR(parse_timespan("999999999999w", &u), ERANGE);
        ASSERT_ERR(parse_timespan(NULL, &u), EINVAL);
}

TEST(format_timespan) {
        char buf[TIMESPAN_MAX];
        usec_t spans[] = { 0, 1, 999, USEC_PER_SEC, 90 * USEC_PER_MINUTE, USEC_PER_DAY + 5 * USEC_PER_MSEC,
                           3 * USEC_PER_WEEK + 7, 9 * USEC_PER_YEAR, USEC_PER_MONTH + USEC_PER_HOUR };

        ASSERT_STREQ(format_timespan(buf, sizeof buf, 0), "0");
        ASSERT_STREQ(format_timespan(buf, sizeof buf, 90 * USEC_PER_MINUTE), "1h 30min");
        ASSERT_STREQ(format_timespan(buf, sizeof buf, 250 * USEC_PER_MSEC), "250ms");
        ASSERT_STREQ(format_timespan(buf, sizeof buf, USEC_INFINITY), "infinity");
        /* systemd's largest units, as `systemd-analyze timespan` prints them */
        ASSERT_STREQ(format_timespan(buf, sizeof buf, 9 * USEC_PER_YEAR), "9y");
        ASSERT_STREQ(format_timespan(buf, sizeof buf, USEC_PER_MONTH + USEC_PER_HOUR), "1month 1h");
        /* round trip */
        for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
                usec_t u;
                ASSERT_OK(parse_timespan(format_timespan(buf, sizeof buf, spans[i]), &u));
                ASSERT_EQ(u, spans[i]);
        }
}

TEST(http_date) {
        char buf[HTTP_DATE_MAX];

        /* 2014-01-05 21:31:40 UTC was a Sunday (the OCI docs' "Thu" is wrong: see the vectors) */
        ASSERT_OK(format_http_date(buf, sizeof buf, 1388957500));
        ASSERT_STREQ(buf, "Sun, 05 Jan 2014 21:31:40 GMT");
        ASSERT_OK(format_http_date(buf, sizeof buf, 0));
        ASSERT_STREQ(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
        ASSERT_OK(format_http_date(buf, sizeof buf, 951782400)); /* leap day */
        ASSERT_STREQ(buf, "Tue, 29 Feb 2000 00:00:00 GMT");
        ASSERT_ERR(format_http_date(buf, 10, 0), ENOBUFS);
}

TEST(parse_timestamp) {
        /* 2026-11-23 12:00:00 UTC */
        const usec_t base = 1795435200ULL * USEC_PER_SEC;
        usec_t t = 42;

        setenv("TZ", "UTC", 1);
        tzset();

        ASSERT_OK(parse_timestamp("now", base, &t));
        ASSERT_EQ(t, base);
        ASSERT_OK(parse_timestamp("+3d", base, &t));
        ASSERT_EQ(t, base + 3 * USEC_PER_DAY);
        ASSERT_OK(parse_timestamp("-2h", base, &t));
        ASSERT_EQ(t, base - 2 * USEC_PER_HOUR);
        ASSERT_OK(parse_timestamp("90min ago", base, &t));
        ASSERT_EQ(t, base - 90 * USEC_PER_MINUTE);
        ASSERT_OK(parse_timestamp("1h 30min ago", base, &t));
        ASSERT_EQ(t, base - 90 * USEC_PER_MINUTE);
        ASSERT_OK(parse_timestamp("@1795435200", base, &t));
        ASSERT_EQ(t, base);
        ASSERT_OK(parse_timestamp("today", base, &t));
        ASSERT_EQ(t, base - 12 * USEC_PER_HOUR);
        ASSERT_OK(parse_timestamp("yesterday", base, &t));
        ASSERT_EQ(t, base - 36 * USEC_PER_HOUR);
        ASSERT_OK(parse_timestamp("tomorrow", base, &t));
        ASSERT_EQ(t, base + 12 * USEC_PER_HOUR);
        ASSERT_OK(parse_timestamp("2026-11-23", base, &t));
        ASSERT_EQ(t, base - 12 * USEC_PER_HOUR);
        ASSERT_OK(parse_timestamp("2026-11-23 12:00", base, &t));
        ASSERT_EQ(t, base);
        ASSERT_OK(parse_timestamp("2026-11-23T12:00:30Z", base, &t));
        ASSERT_EQ(t, base + 30 * USEC_PER_SEC);
        ASSERT_OK(parse_timestamp("2026-11-23 12:00:30 UTC", base, &t));
        ASSERT_EQ(t, base + 30 * USEC_PER_SEC);

        /* Local time is local. */
        setenv("TZ", "Europe/Berlin", 1);
        tzset();
        ASSERT_OK(parse_timestamp("2026-11-23 13:00", base, &t));
        ASSERT_EQ(t, base);
        ASSERT_OK(parse_timestamp("2026-11-23 12:00 UTC", base, &t));
        ASSERT_EQ(t, base);
        setenv("TZ", "UTC", 1);
        tzset();

        t = 42;
        static const char * const bad[] = {
                "", " ", "later", "+", "+3 fortnights", "3d", "2026-02-31", "2026-13-01", "2026-11-23 25:00",
                "2026-11-23x", "@", "@-5", "@12x", "ago", "x ago", "23/11/2026",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                int r = parse_timestamp(bad[i], base, &t);
                if (r != -EINVAL)
                        TEST_FAIL("'%s': expected -EINVAL, got %d", bad[i], r);
                ASSERT_EQ(t, 42);
        }
        ASSERT_ERR(parse_timestamp("-100000w", base, &t), ERANGE);
        ASSERT_ERR(parse_timestamp("+1000000w", base, &t), ERANGE);
        ASSERT_ERR(parse_timestamp("@99999999999999", base, &t), ERANGE);
        ASSERT_ERR(parse_timestamp(NULL, base, &t), EINVAL);
        ASSERT_EQ(t, 42);
}

TEST(format_timestamp) {
        const usec_t base = 1795435200ULL * USEC_PER_SEC;
        char buf[TIMESTAMP_MAX];
        usec_t t;

        setenv("TZ", "UTC", 1);
        tzset();
        ASSERT_STREQ(format_timestamp(buf, sizeof buf, base), "Mon 2026-11-23 12:00:00 UTC");
        ASSERT_STREQ(format_timestamp(buf, sizeof buf, 0), "n/a");
        /* What we print, we read back (at second resolution). */
        ASSERT_OK(parse_timestamp("2026-11-23 12:00:00 UTC", base, &t));
        ASSERT_EQ(t, base);

        ASSERT_STREQ(format_timestamp_relative(buf, sizeof buf, base - 90 * USEC_PER_SEC, base), "1min 30s ago");
        ASSERT_STREQ(format_timestamp_relative(buf, sizeof buf, base + 3 * USEC_PER_DAY + 7 * USEC_PER_HOUR + 5, base),
                     "in 3d 7h");
        ASSERT_STREQ(format_timestamp_relative(buf, sizeof buf, base + 300 * USEC_PER_MSEC, base), "now");
        ASSERT_STREQ(format_timestamp_relative(buf, sizeof buf, 0, base), "n/a");
}

TEST(now) {
        usec_t a = now(CLOCK_MONOTONIC), b = now(CLOCK_MONOTONIC);
        ASSERT_TRUE(b >= a);
        ASSERT_TRUE(now(CLOCK_REALTIME) > 1600000000ULL * USEC_PER_SEC);
}

int main(void) {
        RUN(parse_timespan_good);
        RUN(parse_timespan_bad);
        RUN(format_timespan);
        RUN(http_date);
        RUN(parse_timestamp);
        RUN(format_timestamp);
        RUN(now);
        return 0;
}

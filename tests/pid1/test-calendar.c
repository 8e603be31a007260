/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* calendar.h against the real systemd-analyze: validation, normalization, next-N, ranges, DST. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "calendar.h"
#include "strv.h"
#include "../unit/tests.h"

/* "2026-03-29 01:30:00" UTC -> µs */
static usec_t utc(const char *s) {
        struct tm tm = {};
        ASSERT_NOT_NULL(strptime(s, "%Y-%m-%d %H:%M:%S", &tm));
        return (usec_t) timegm(&tm) * USEC_PER_SEC;
}

#define SPECS(...) ((char *[]) { __VA_ARGS__, NULL })

static void assert_instants(const CalendarResult *r, const char * const *want) {
        size_t n = 0;
        while (want[n])
                n++;
        if (r->n_instants != n) {
                for (size_t i = 0; i < r->n_instants; i++) {
                        time_t t = (time_t) (r->instants[i] / USEC_PER_SEC);
                        fprintf(stderr, "  got %s", asctime(gmtime(&t)));
                }
        }
        ASSERT_EQ(r->n_instants, n);
        for (size_t i = 0; i < n; i++)
                ASSERT_EQ(r->instants[i], utc(want[i]));
}

TEST(validate) {
        _cleanup_(calendar_result_freep) CalendarResult *r = NULL;
        ASSERT_OK(calendar_validate_sync(SPECS("Mon..Fri 19:00", "Sat 08:00"), "Europe/Berlin", &r));
        ASSERT_EQ(r->error, 0);
        ASSERT_NULL(r->message);
        ASSERT_EQ(strv_length(r->normalized), 2);
        ASSERT_STREQ(r->normalized[0], "Mon..Fri *-*-* 19:00:00 Europe/Berlin");
        ASSERT_STREQ(r->normalized[1], "Sat *-*-* 08:00:00 Europe/Berlin");
}

TEST(validate_rejects_naming_the_spec) {
        _cleanup_(calendar_result_freep) CalendarResult *r = NULL;
        ASSERT_ERR(calendar_validate_sync(SPECS("daily", "Mon..Fri 25:00", "weekly"), "Europe/Berlin", &r), EINVAL);
        ASSERT_EQ(r->invalid_index, 1);
        ASSERT_STREQ(r->message, "Invalid calendar spec 'Mon..Fri 25:00' (time zone Europe/Berlin)");
        r = calendar_result_free(r);

        ASSERT_ERR(calendar_validate_sync(SPECS("every tuesday"), "UTC", &r), EINVAL);
        ASSERT_EQ(r->invalid_index, 0);
        ASSERT_TRUE(strstr(r->message, "'every tuesday'"));
        r = calendar_result_free(r);

        /* a spec that already names a zone cannot take another one */
        ASSERT_ERR(calendar_validate_sync(SPECS("Mon 19:00 UTC"), "Europe/Berlin", &r), EINVAL);
        ASSERT_EQ(r->invalid_index, 0);
        r = calendar_result_free(r);

        /* a zone systemd does not know */
        ASSERT_ERR(calendar_validate_sync(SPECS("Mon 19:00"), "Mars/Olympus_Mons", &r), EINVAL);
        ASSERT_TRUE(strstr(r->message, "Mars/Olympus_Mons"));
        r = calendar_result_free(r);

        /* never handed to systemd: empty, control characters, an option */
        ASSERT_ERR(calendar_validate_sync(SPECS("daily", ""), "UTC", &r), EINVAL);
        ASSERT_EQ(r->invalid_index, 1);
        ASSERT_STREQ(r->message, "Invalid calendar spec '': empty (time zone UTC)");
        r = calendar_result_free(r);
        ASSERT_ERR(calendar_validate_sync(SPECS("daily\n    Next elapse: never"), "UTC", &r), EINVAL);
        ASSERT_TRUE(strstr(r->message, "daily?    Next"));
        r = calendar_result_free(r);
        ASSERT_ERR(calendar_validate_sync(SPECS("--help"), "UTC", &r), EINVAL);
        ASSERT_TRUE(strstr(r->message, "'--help'"));
        r = calendar_result_free(r);

        /* unusable arguments fail at once */
        ASSERT_ERR(calendar_validate_sync(SPECS("daily"), "../etc/passwd", &r), EINVAL);
        ASSERT_ERR(calendar_validate_sync(SPECS("daily"), "", &r), EINVAL);
        ASSERT_ERR(calendar_validate_sync((char *[]) { NULL }, "UTC", &r), EINVAL);
}

TEST(next_berlin_spring_forward) {
        /* 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 does not exist that day */
        _cleanup_(calendar_result_freep) CalendarResult *r = NULL;
        ASSERT_OK(calendar_next_sync(SPECS("*-*-* 02:30"), "Europe/Berlin", utc("2026-03-27 00:00:00"), 4, &r));
        assert_instants(r, (const char *[]) { "2026-03-27 01:30:00", "2026-03-28 01:30:00", "2026-03-30 00:30:00",
                                              "2026-03-31 00:30:00", NULL });
}

TEST(next_berlin_fall_back) {
        /* 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice, systemd takes the first */
        _cleanup_(calendar_result_freep) CalendarResult *r = NULL;
        ASSERT_OK(calendar_next_sync(SPECS("*-*-* 02:30"), "Europe/Berlin", utc("2026-10-23 00:00:00"), 4, &r));
        assert_instants(r, (const char *[]) { "2026-10-23 00:30:00", "2026-10-24 00:30:00", "2026-10-25 00:30:00",
                                              "2026-10-26 01:30:00", NULL });
}

TEST(range_sao_paulo_history) {
        /* Brazil's last DST: 2018-11-04 00:00 -> 01:00 (00:30 does not exist), ended 2019-02-17
         * 00:00 -> 2019-02-16 23:00; no DST since. */
        _cleanup_(calendar_result_freep) CalendarResult *r = NULL;
        ASSERT_OK(calendar_range_sync(SPECS("*-*-* 00:30"), "America/Sao_Paulo", utc("2018-11-02 03:30:00"),
                                      utc("2018-11-06 02:30:00"), &r));
        assert_instants(r, (const char *[]) { "2018-11-02 03:30:00", "2018-11-03 03:30:00", "2018-11-05 02:30:00",
                                              NULL });
        r = calendar_result_free(r);
        ASSERT_OK(calendar_range_sync(SPECS("*-*-* 23:30"), "America/Sao_Paulo", utc("2019-02-15 00:00:00"),
                                      utc("2019-02-19 00:00:00"), &r));
        assert_instants(r, (const char *[]) { "2019-02-15 01:30:00", "2019-02-16 01:30:00", "2019-02-17 01:30:00",
                                              "2019-02-18 02:30:00", NULL });
        r = calendar_result_free(r);
        /* November 2019: no DST any more, 00:30 is 03:30 UTC every day */
        ASSERT_OK(calendar_range_sync(SPECS("*-*-* 00:30"), "America/Sao_Paulo", utc("2019-11-02 00:00:00"),
                                      utc("2019-11-05 00:00:00"), &r));
        assert_instants(r, (const char *[]) { "2019-11-02 03:30:00", "2019-11-03 03:30:00", "2019-11-04 03:30:00",
                                              NULL });
}

TEST(next_union_of_specs) {
        _cleanup_(calendar_result_freep) CalendarResult *r = NULL;
        /* two specs, one instant in common (Friday 19:00 twice): merged, sorted, once */
        ASSERT_OK(calendar_next_sync(SPECS("Fri 19:00", "*-*-* 19:00", "Sat 08:00"), "UTC",
                                     utc("2026-12-03 20:00:00"), 4, &r));
        assert_instants(r, (const char *[]) { "2026-12-04 19:00:00", "2026-12-05 08:00:00", "2026-12-05 19:00:00",
                                              "2026-12-06 19:00:00", NULL });
        r = calendar_result_free(r);
        /* strictly after the base */
        ASSERT_OK(calendar_next_sync(SPECS("*-*-* 19:00"), "UTC", utc("2026-12-04 19:00:00"), 1, &r));
        assert_instants(r, (const char *[]) { "2026-12-05 19:00:00", NULL });
        r = calendar_result_free(r);
        /* a spec that runs out */
        ASSERT_OK(calendar_next_sync(SPECS("2027-01-01 00:00"), "UTC", utc("2026-12-04 19:00:00"), 3, &r));
        assert_instants(r, (const char *[]) { "2027-01-01 00:00:00", NULL });
        r = calendar_result_free(r);
        ASSERT_OK(calendar_next_sync(SPECS("2020-01-01 00:00"), "UTC", utc("2026-12-04 19:00:00"), 3, &r));
        ASSERT_EQ(r->n_instants, 0);
        r = calendar_result_free(r);
        /* sub-second repetitions collapse to one instant per second, and the walk still ends */
        ASSERT_OK(calendar_next_sync(SPECS("*:*:0/0.25"), "UTC", utc("2026-12-04 19:00:00"), 3, &r));
        assert_instants(r, (const char *[]) { "2026-12-04 19:00:00", "2026-12-04 19:00:01", "2026-12-04 19:00:02",
                                              NULL });
}

TEST(range_batches) {
        /* hourly over 100 days: 2400 instants, more than one run of systemd-analyze; [from, to) */
        _cleanup_(calendar_result_freep) CalendarResult *r = NULL;
        ASSERT_OK(calendar_range_sync(SPECS("hourly", "*-*-* *:30"), "Asia/Kolkata", utc("2026-01-01 00:00:00"),
                                      utc("2026-04-11 00:00:00"), &r));
        ASSERT_EQ(r->n_instants, 2 * 2400);
        ASSERT_EQ(r->instants[0], utc("2026-01-01 00:00:00"));   /* from itself is included */
        ASSERT_EQ(r->instants[r->n_instants - 1], utc("2026-04-10 23:30:00"));
        for (size_t i = 1; i < r->n_instants; i++)
                ASSERT_EQ(r->instants[i] - r->instants[i - 1], 30 * USEC_PER_MINUTE);
        r = calendar_result_free(r);
        ASSERT_ERR(calendar_range_sync(SPECS("*:*:*"), "UTC", utc("2026-01-01 00:00:00"), utc("2026-01-02 00:00:00"),
                                       &r), E2BIG);
}

TEST(host_zone_does_not_matter) {
        /* the child runs with TZ=UTC whatever the daemon's zone */
        _cleanup_(calendar_result_freep) CalendarResult *a = NULL, *b = NULL;
        ASSERT_OK(calendar_next_sync(SPECS("Mon..Fri 08:00"), "Europe/Berlin", utc("2026-12-04 00:00:00"), 3, &a));
        setenv("TZ", "America/New_York", 1);
        tzset();
        ASSERT_OK(calendar_next_sync(SPECS("Mon..Fri 08:00"), "Europe/Berlin", utc("2026-12-04 00:00:00"), 3, &b));
        unsetenv("TZ");
        tzset();
        ASSERT_EQ(a->n_instants, 3);
        ASSERT_EQ(b->n_instants, 3);
        for (size_t i = 0; i < 3; i++)
                ASSERT_EQ(a->instants[i], b->instants[i]);
        ASSERT_EQ(a->instants[0], utc("2026-12-04 07:00:00"));
        ASSERT_EQ(a->instants[1], utc("2026-12-07 07:00:00"));
}

/* A wrapper around systemd-analyze: lets the tests feed the parser other output. */
static char *write_wrapper(const char *dir, const char *name, const char *body) {
        char *path = strprintf("%s/%s", dir, name);
        ASSERT_NOT_NULL(path);
        FILE *f = fopen(path, "w");
        ASSERT_NOT_NULL(f);
        fprintf(f, "#!/bin/sh\n%s\n", body);
        fclose(f);
        ASSERT_OK(chmod(path, 0755));
        return path;
}

TEST(zones_without_utc_lines) {
        /* zones at UTC+0 all year: systemd prints no "(in UTC)" lines, the local time is UTC */
        _cleanup_(calendar_result_freep) CalendarResult *a = NULL, *b = NULL;
        ASSERT_OK(calendar_next_sync(SPECS("*-*-* 12:00"), "Africa/Abidjan", utc("2026-07-01 00:00:00"), 1, &a));
        assert_instants(a, (const char *[]) { "2026-07-01 12:00:00", NULL });
        ASSERT_OK(calendar_next_sync(SPECS("*-*-* 12:00"), "UTC", utc("2026-07-01 00:00:00"), 1, &b));
        assert_instants(b, (const char *[]) { "2026-07-01 12:00:00", NULL });
        ASSERT_STREQ(b->normalized[0], "*-*-* 12:00:00 UTC");
}

TEST(bad_analyze) {
        char dir[] = "/tmp/test-calendar.XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(dir));

        /* garbage, a crash, a hang and a flood are errors, not hangs or crashes */
        _cleanup_free_ char *g = write_wrapper(dir, "garbage", "echo 'Normalized form: x'; echo 'Next elapse: tomorrow'");
        calendar_set_analyze_path(g);
        CalendarResult *r = NULL;
        ASSERT_ERR(calendar_next_sync(SPECS("daily"), "UTC", utc("2026-01-01 00:00:00"), 1, &r), EIO);
        r = calendar_result_free(r);
        _cleanup_free_ char *k = write_wrapper(dir, "killed", "kill -9 $$");
        calendar_set_analyze_path(k);
        ASSERT_ERR(calendar_validate_sync(SPECS("daily"), "UTC", &r), EIO);
        ASSERT_TRUE(strstr(r->message, "exit status 137"));
        r = calendar_result_free(r);
        _cleanup_free_ char *f = write_wrapper(dir, "flood", "exec yes 'Iter. #1: Thu 2026-01-01 00:00:00 UTC'");
        calendar_set_analyze_path(f);
        ASSERT_ERR(calendar_validate_sync(SPECS("daily"), "UTC", &r), E2BIG);
        r = calendar_result_free(r);
        calendar_set_analyze_path("/nonexistent/systemd-analyze");
        ASSERT_ERR(calendar_validate_sync(SPECS("daily"), "UTC", &r), ENOENT);
        calendar_set_analyze_path(NULL);
        unlink(g);
        unlink(k);
        unlink(f);
        rmdir(dir);
}

static void on_done(CalendarQuery *q, CalendarResult *r, void *userdata) {
        *(CalendarResult **) userdata = r;
}

TEST(async_cancel_and_parallel) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        ASSERT_OK(sd_event_new(&e));
        CalendarQuery *a = NULL, *b = NULL;
        CalendarResult *ra = NULL, *rb = NULL, *rc = NULL;
        ASSERT_OK(calendar_next(e, SPECS("daily"), "UTC", utc("2026-01-01 00:00:00"), 2, on_done, &ra, &a));
        ASSERT_OK(calendar_validate(e, SPECS("weekly"), "UTC", on_done, &rb, &b));
        ASSERT_OK(calendar_validate(e, SPECS("bogus"), "UTC", on_done, &rc, NULL)); /* floating */
        a = calendar_query_free(a); /* cancelled: its child is killed and reaped, no callback */
        while (!rb || !rc)
                ASSERT_OK(sd_event_run(e, UINT64_MAX));
        ASSERT_NULL(ra);
        ASSERT_EQ(rb->error, 0);
        ASSERT_STREQ(rb->normalized[0], "Mon *-*-* 00:00:00 UTC");
        ASSERT_EQ(rc->error, -EINVAL);
        calendar_query_free(b);
        calendar_result_free(rb);
        calendar_result_free(rc);
}

TEST(zone_names) {
        ASSERT_TRUE(calendar_zone_name_is_valid("Europe/Berlin"));
        ASSERT_TRUE(calendar_zone_name_is_valid("America/Argentina/Buenos_Aires"));
        ASSERT_TRUE(calendar_zone_name_is_valid("Etc/GMT+5"));
        ASSERT_TRUE(calendar_zone_name_is_valid("UTC"));
        ASSERT_TRUE(!calendar_zone_name_is_valid(""));
        ASSERT_TRUE(!calendar_zone_name_is_valid(NULL));
        ASSERT_TRUE(!calendar_zone_name_is_valid("/etc/localtime"));
        ASSERT_TRUE(!calendar_zone_name_is_valid("Europe/../../x"));
        ASSERT_TRUE(!calendar_zone_name_is_valid("Europe/Berlin daily"));
        _cleanup_free_ char *s = NULL;
        ASSERT_OK(calendar_spec_with_zone("Mon 19:00", "Europe/Berlin", &s));
        ASSERT_STREQ(s, "Mon 19:00 Europe/Berlin");
        char *z = NULL;
        setenv("TZ", ":Asia/Tokyo", 1);
        ASSERT_OK(calendar_host_zone(&z));
        ASSERT_STREQ(z, "Asia/Tokyo");
        free(z);
        unsetenv("TZ");
        ASSERT_OK(calendar_host_zone(&z));
        ASSERT_TRUE(calendar_zone_name_is_valid(z));
        free(z);
}

int main(void) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        RUN(validate);
        RUN(validate_rejects_naming_the_spec);
        RUN(next_berlin_spring_forward);
        RUN(next_berlin_fall_back);
        RUN(range_sao_paulo_history);
        RUN(next_union_of_specs);
        RUN(range_batches);
        RUN(host_zone_does_not_matter);
        RUN(zones_without_utc_lines);
        RUN(bad_analyze);
        RUN(async_cancel_and_parallel);
        RUN(zone_names);
        return 0;
}

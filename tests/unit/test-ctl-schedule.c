/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stopstartctl schedule/calendar: the stable TARGET syntax, actions, calendar entries and the
 * ISO 8601 times of --json (with the offset of the zone in force at that instant). */
#include <stdlib.h>
#include <time.h>

#include "ctl-schedule-util.h"
#include "json-util.h"
#include "tests.h"

TEST(action_table_round_trip) {
        for (ScheduleActionKind k = 0; k < _SCHEDULE_ACTION_MAX; k++)
                ASSERT_EQ(schedule_action_kind_from_string(schedule_action_kind_to_string(k)), k);
        ASSERT_EQ(schedule_action_kind_from_string("softstop"), SCHEDULE_ACTION_SOFTSTOP);
        ASSERT_EQ(schedule_action_kind_from_string("halt"), -EINVAL);
        ASSERT_EQ(schedule_action_kind_from_string("Stop"), -EINVAL);
        ASSERT_EQ(schedule_action_kind_from_string(NULL), -EINVAL);
        ASSERT_TRUE(schedule_action_kind_to_string(_SCHEDULE_ACTION_MAX) == NULL);
}

TEST(targets) {
        static const char * const good[] = {
                "web-1", "ocid1.instance.oc1.phx.abc", "compartment:ocid1.compartment.oc1..x", "compartment:tenancy/prod",
                "compartment-only:prod/web", "tag:env=dev", "tag:env=", "tag:a=b=c", "defined-tag:ops.schedule=office",
                "defined-tag:ns.k=", "a name with spaces",
        };
        static const char * const bad[] = {
                "", "compartment:", "compartment-only:", "tag:env", "tag:=x", "defined-tag:env=dev", "defined-tag:.k=v",
                "defined-tag:ns.=v", "defined-tag:k=v.w", "tags:env=dev", "compartments:prod", "web\n1", "x\x1b[2J",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (schedule_target_problem(good[i]))
                        TEST_FAIL("\"%s\" refused: %s", good[i], schedule_target_problem(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (!schedule_target_problem(bad[i]))
                        TEST_FAIL("\"%s\" accepted", bad[i]);
        ASSERT_TRUE(schedule_target_problem(NULL) != NULL);
}

TEST(calendar_entries) {
        static const char * const good[] = {
                "2026-12-24", "2024-02-29", "2026-12-24..2026-12-26", "2026-12-24..2026-12-24", "2026-12-31..2027-01-01",
        };
        static const char * const bad[] = {
                "", "2026-02-29", "2026-13-01", "2026-00-10", "2026-12-32", "26-12-24", "2026-1-2", "2026-12-24 ",
                "2026-12-24..", "..2026-12-24", "2026-12-26..2026-12-24", "2026-12-24...2026-12-26", "Dec 24",
                "2026-12-24..2026-12-26..2026-12-28", "2026/12/24",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (calendar_entry_problem(good[i]))
                        TEST_FAIL("\"%s\" refused: %s", good[i], calendar_entry_problem(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (!calendar_entry_problem(bad[i]))
                        TEST_FAIL("\"%s\" accepted", bad[i]);
        ASSERT_STREQ(calendar_entry_problem("2026-12-26..2026-12-24"), "the range ends before it starts");
}

static void set_tz(const char *tz) {
        ASSERT_OK(setenv("TZ", tz, 1));
        tzset();
}

TEST(iso8601) {
        char buf[ISO8601_MAX];
        _cleanup_json_ json_object *j = NULL;

        /* 2026-03-29 00:30 UTC: before Berlin's spring-forward (01:00 UTC), then after it. */
        set_tz("Europe/Berlin");
        ASSERT_STREQ(format_iso8601(buf, sizeof buf, 1774744200ULL * USEC_PER_SEC), "2026-03-29T01:30:00+01:00");
        ASSERT_STREQ(format_iso8601(buf, sizeof buf, 1774749600ULL * USEC_PER_SEC), "2026-03-29T04:00:00+02:00");
        ASSERT_STREQ(format_iso8601(buf, sizeof buf, 1774749600ULL * USEC_PER_SEC + 250000), "2026-03-29T04:00:00.250000+02:00");
        set_tz("America/Sao_Paulo");
        ASSERT_STREQ(format_iso8601(buf, sizeof buf, 1774749600ULL * USEC_PER_SEC), "2026-03-28T23:00:00-03:00");
        set_tz("Asia/Kolkata");
        ASSERT_STREQ(format_iso8601(buf, sizeof buf, 1774749600ULL * USEC_PER_SEC), "2026-03-29T07:30:00+05:30");
        set_tz("UTC");
        ASSERT_STREQ(format_iso8601(buf, sizeof buf, 1774749600ULL * USEC_PER_SEC), "2026-03-29T02:00:00+00:00");

        ASSERT_TRUE(format_iso8601(buf, sizeof buf, 0) == NULL);
        ASSERT_TRUE(format_iso8601(buf, sizeof buf, USEC_INFINITY) == NULL);
        ASSERT_TRUE(format_iso8601(buf, 8, 1774749600ULL * USEC_PER_SEC) == NULL);

        ASSERT_TRUE(json_iso8601(0) == NULL);   /* JSON null */
        j = json_iso8601(1774749600ULL * USEC_PER_SEC);
        ASSERT_NOT_NULL(j);
        ASSERT_STREQ(json_object_get_string(j), "2026-03-29T02:00:00+00:00");
}

TEST(yes_no) {
        ASSERT_EQ(parse_yes_no("yes"), 1);
        ASSERT_EQ(parse_yes_no("ON"), 1);
        ASSERT_EQ(parse_yes_no("0"), 0);
        ASSERT_EQ(parse_yes_no("false"), 0);
        ASSERT_EQ(parse_yes_no("maybe"), -EINVAL);
        ASSERT_EQ(parse_yes_no(""), -EINVAL);
        ASSERT_EQ(parse_yes_no(NULL), -EINVAL);
}

int main(void) {
        RUN(action_table_round_trip);
        RUN(targets);
        RUN(calendar_entries);
        RUN(iso8601);
        RUN(yes_no);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The schedule model without bus or database: string tables, target parsing and resolution
 * against an inventory of arrays, firing and per-instance decisions, priority ordering, retry
 * tokens, exception-calendar dates (evaluated in the schedule's zone). */
#include <stdlib.h>
#include <time.h>

#include "exception-calendar.h"
#include "schedule.h"
#include "strv.h"
#include "tests.h"
#include "time-util.h"


#define ROOT "ocid1.tenancy.oc1..root"
#define PROD "ocid1.compartment.oc1..prod"
#define WEB "ocid1.compartment.oc1..web"
#define DEV "ocid1.compartment.oc1..dev"

static const struct {
        const char *id, *path, *parent;
} compartments[] = {
        { ROOT, "root", NULL },
        { PROD, "root/prod", ROOT },
        { WEB, "root/prod/web", PROD },
        { DEV, "root/dev", ROOT },
};

static ScheduleCandidate instances[] = {
        { .id = "ocid1.instance.oc1..a", .display_name = "db-1", .compartment_id = PROD, .lifecycle_state = "RUNNING",
          .freeform_tags = "env\0prod\0role\0db\0", .defined_tags = "ops.schedule\0office\0", .managed = true,
          .priority = 10 },
        { .id = "ocid1.instance.oc1..b", .display_name = "web-1", .compartment_id = WEB, .lifecycle_state = "RUNNING",
          .freeform_tags = "env\0prod\0", .managed = true, .priority = 20 },
        { .id = "ocid1.instance.oc1..c", .display_name = "web-2", .compartment_id = WEB, .lifecycle_state = "STOPPED",
          .freeform_tags = "env\0prod\0", .managed = true, .priority = 20 },
        { .id = "ocid1.instance.oc1..d", .display_name = "dev-1", .compartment_id = DEV, .lifecycle_state = "RUNNING",
          .defined_tags = "ops.schedule\0office\0", .managed = true },
        { .id = "ocid1.instance.oc1..e", .display_name = "twin", .compartment_id = DEV, .lifecycle_state = "RUNNING",
          .managed = true },
        { .id = "ocid1.instance.oc1..f", .display_name = "twin", .compartment_id = DEV, .lifecycle_state = "RUNNING",
          .managed = true },
};

static int find_instance(void *u, const char *key, const char **ret, char ***ret_candidates) {
        const char *found = NULL;
        for (size_t i = 0; i < ELEMENTSOF(instances); i++)
                if (streq(instances[i].id, key)) {
                        *ret = instances[i].id;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(instances); i++)
                if (streq(instances[i].display_name, key)) {
                        if (found) {
                                if (ret_candidates && (strv_extend(ret_candidates, found) < 0 ||
                                                       strv_extend(ret_candidates, instances[i].id) < 0))
                                        return -ENOMEM;
                                return -ENOTUNIQ;
                        }
                        found = instances[i].id;
                }
        if (!found)
                return -ENXIO;
        *ret = found;
        return 0;
}

static int find_compartment(void *u, const char *key, const char **ret) {
        for (size_t i = 0; i < ELEMENTSOF(compartments); i++)
                if (streq(compartments[i].id, key) || streq(compartments[i].path, key)) {
                        *ret = compartments[i].id;
                        return 0;
                }
        return -ENXIO;
}

static void foreach_instance(void *u, int (*f)(const ScheduleCandidate *c, void *fdata), void *fdata) {
        for (size_t i = 0; i < ELEMENTSOF(instances); i++)
                if (f(&instances[i], fdata) != 0)
                        return;
}

static bool in_subtree(void *u, const char *id, const char *ancestor) {
        while (id) {
                const char *parent = NULL;
                if (streq(id, ancestor))
                        return true;
                for (size_t i = 0; i < ELEMENTSOF(compartments); i++)
                        if (streq(compartments[i].id, id))
                                parent = compartments[i].parent;
                id = parent;
        }
        return false;
}

static const ScheduleInventory inventory = {
        .find_instance = find_instance,
        .find_compartment = find_compartment,
        .foreach_instance = foreach_instance,
        .in_subtree = in_subtree,
};

TEST(string_tables) {
        for (int i = 0; i < _SCHEDULE_ACTION_MAX; i++)
                ASSERT_EQ(schedule_action_from_string(schedule_action_to_string(i)), i);
        for (int i = 0; i < _TARGET_KIND_MAX; i++)
                ASSERT_EQ(target_kind_from_string(target_kind_to_string(i)), i);
        for (int i = 0; i < _OCCURRENCE_STATE_MAX; i++)
                ASSERT_EQ(occurrence_state_from_string(occurrence_state_to_string(i)), i);
        for (int i = 0; i < _ACTION_STATE_MAX; i++)
                ASSERT_EQ(action_state_from_string(action_state_to_string(i)), i);
        for (int i = 0; i < _SKIP_REASON_MAX; i++)
                ASSERT_EQ(skip_reason_from_string(skip_reason_to_string(i)), i);
        for (int i = 0; i < _FIRING_DECISION_MAX; i++)
                ASSERT_EQ(firing_decision_from_string(firing_decision_to_string(i)), i);
        ASSERT_EQ(schedule_action_from_string("halt"), -EINVAL);
        ASSERT_NULL(schedule_action_to_string(_SCHEDULE_ACTION_MAX));
        /* The contract's spellings. */
        ASSERT_STREQ(schedule_action_to_string(SCHEDULE_ACTION_SOFTREBOOT), "softreboot");
        ASSERT_STREQ(target_kind_to_string(TARGET_COMPARTMENT_ONLY), "compartment-only");
        ASSERT_STREQ(target_kind_to_string(TARGET_DEFINED_TAG), "defined-tag");
        ASSERT_STREQ(occurrence_state_to_string(OCCURRENCE_MISSED), "missed");
        ASSERT_STREQ(action_state_to_string(ACTION_CONFIRMED), "confirmed");
}

static void parse_ok(const char *text, const char *canonical) {
        ScheduleTarget t = {};
        _cleanup_free_ char *err = NULL, *s = NULL;

        ASSERT_OK(schedule_target_parse(text, &inventory, &t, &err));
        ASSERT_NULL(err);
        s = schedule_target_to_string(&t);
        ASSERT_STREQ(s, canonical);
        schedule_target_done(&t);
}

static void parse_fails(const char *text, int error, const char *message_part) {
        ScheduleTarget t = {};
        _cleanup_free_ char *err = NULL;

        ASSERT_ERR(schedule_target_parse(text, &inventory, &t, &err), error);
        ASSERT_NOT_NULL(err);
        if (!strstr(err, message_part))
                TEST_FAIL("\"%s\" does not contain \"%s\"", err, message_part);
        ASSERT_NULL(t.id);
}

TEST(target_parse) {
        parse_ok("ocid1.instance.oc1..a", "ocid1.instance.oc1..a");
        parse_ok("web-1", "ocid1.instance.oc1..b");
        parse_ok("compartment:root/prod", "compartment:" PROD);
        parse_ok("compartment:" PROD, "compartment:" PROD);
        parse_ok("compartment-only:root/prod/web", "compartment-only:" WEB);
        parse_ok("tag:env=prod", "tag:env=prod");
        parse_ok("tag:note=", "tag:note=");
        parse_ok("tag:k=a=b", "tag:k=a=b");
        parse_ok("defined-tag:ops.schedule=office", "defined-tag:ops.schedule=office");

        parse_fails("nope", ENXIO, "no such instance");
        parse_fails("ocid1.instance.oc1..zzz", ENXIO, "no such instance");
        parse_fails("twin", ENOTUNIQ, "several instances have this name (ocid1.instance.oc1..e, ocid1.instance.oc1..f)");
        parse_fails("compartment:root/nope", ENXIO, "no such compartment");
        parse_fails("compartment:", EINVAL, "no compartment");
        parse_fails("compartment-only:", EINVAL, "no compartment");
        parse_fails("tag:", EINVAL, "tag:KEY=VALUE");
        parse_fails("tag:env", EINVAL, "tag:KEY=VALUE");
        parse_fails("tag:=prod", EINVAL, "tag:KEY=VALUE");
        parse_fails("defined-tag:ops=office", EINVAL, "NAMESPACE.KEY=VALUE");
        parse_fails("defined-tag:.k=v", EINVAL, "NAMESPACE.KEY=VALUE");
        parse_fails("defined-tag:ops.=v", EINVAL, "NAMESPACE.KEY=VALUE");
        parse_fails("defined-tag:a.b.c=v", EINVAL, "NAMESPACE.KEY=VALUE");
        parse_fails("label:x=y", EINVAL, "unknown kind \"label\"");
        parse_fails("", EINVAL, "empty");
        parse_fails("web\n1", EINVAL, "control characters");
}

TEST(set_targets_and_resolve) {
        _cleanup_(schedule_freep) Schedule *s = NULL;
        _cleanup_strv_free_ char **texts = NULL;
        _cleanup_free_ ScheduleCandidate *c = NULL;
        _cleanup_free_ char *err = NULL;
        size_t n;

        ASSERT_OK(schedule_new(&s));
        /* Duplicates collapse; an instance matched twice appears once. */
        ASSERT_OK(schedule_set_targets(s, STRV_MAKE("compartment:root/prod", "web-1", "compartment:" PROD,
                                                    "defined-tag:ops.schedule=office"), &inventory, &err));
        ASSERT_EQ(s->n_targets, 3);
        ASSERT_OK(schedule_targets_to_strv(s, &texts));
        ASSERT_STREQ(texts[0], "compartment:" PROD);
        ASSERT_STREQ(texts[1], "ocid1.instance.oc1..b");
        ASSERT_OK(schedule_resolve(s, &inventory, &c, &n));
        ASSERT_EQ(n, 4);        /* a, b, c (subtree of prod), d (defined tag) */
        ASSERT_STREQ(c[0].id, "ocid1.instance.oc1..a");
        ASSERT_STREQ(c[3].id, "ocid1.instance.oc1..d");
        c = mfree(c);

        /* compartment-only: not the subtree. */
        ASSERT_OK(schedule_set_targets(s, STRV_MAKE("compartment-only:root/prod"), &inventory, &err));
        ASSERT_OK(schedule_resolve(s, &inventory, &c, &n));
        ASSERT_EQ(n, 1);
        ASSERT_STREQ(c[0].id, "ocid1.instance.oc1..a");
        c = mfree(c);

        /* Freeform tags match key and value exactly. */
        ASSERT_OK(schedule_set_targets(s, STRV_MAKE("tag:role=db"), &inventory, &err));
        ASSERT_OK(schedule_resolve(s, &inventory, &c, &n));
        ASSERT_EQ(n, 1);
        c = mfree(c);
        ASSERT_OK(schedule_set_targets(s, STRV_MAKE("tag:role=DB"), &inventory, &err));
        ASSERT_OK(schedule_resolve(s, &inventory, &c, &n));
        ASSERT_EQ(n, 0);
        c = mfree(c);

        /* A refusal leaves the targets as they were; nothing at all is refused too. */
        ASSERT_ERR(schedule_set_targets(s, STRV_MAKE("web-1", "nope"), &inventory, &err), ENXIO);
        ASSERT_EQ(s->n_targets, 1);
        ASSERT_STREQ(s->targets[0].tag_value, "DB");
        ASSERT_ERR(schedule_set_targets(s, NULL, &inventory, &err), EINVAL);
}

static Schedule *valid_schedule(void) {
        Schedule *s;
        char *err = NULL;

        ASSERT_OK(schedule_new(&s));
        s->name = strdup("office-down");
        s->action = SCHEDULE_ACTION_STOP;
        ASSERT_OK(strv_extend(&s->calendars, "Mon..Fri 19:00"));
        s->time_zone = strdup("Europe/Berlin");
        ASSERT_OK(schedule_set_targets(s, STRV_MAKE("compartment:root"), &inventory, &err));
        s->enabled = true;
        s->enabled_since = 1000 * USEC_PER_SEC;
        ASSERT_OK(schedule_verify(s, &err));
        ASSERT_NULL(err);
        return s;
}

static void verify_fails(Schedule *s, const char *part) {
        _cleanup_free_ char *err = NULL;
        ASSERT_ERR(schedule_verify(s, &err), EINVAL);
        if (!err || !strstr(err, part))
                TEST_FAIL("\"%s\" does not contain \"%s\"", strna(err), part);
}

TEST(verify) {
        _cleanup_(schedule_freep) Schedule *s = valid_schedule();
        _cleanup_(schedule_freep) Schedule *copy = NULL;
        _cleanup_free_ char *err = NULL;

        ASSERT_OK(schedule_copy(s, &copy));
        ASSERT_OK(schedule_verify(copy, &err));
        ASSERT_STREQ(copy->targets[0].id, ROOT);

        free(copy->name);
        copy->name = strdup("-bad");
        verify_fails(copy, "Invalid schedule name");
        free(copy->name);
        copy->name = strdup("a234567890123456789012345678901234567890123456789012345678901234x");   /* 65 */
        verify_fails(copy, "Invalid schedule name");
        free(copy->name);
        copy->name = strdup("office-down");

        free(copy->time_zone);
        copy->time_zone = strdup("Mars/Olympus");
        verify_fails(copy, "Unknown time zone");
        free(copy->time_zone);
        copy->time_zone = strdup("../../etc/passwd");
        verify_fails(copy, "Unknown time zone");
        free(copy->time_zone);
        copy->time_zone = strdup("America/Sao_Paulo");
        ASSERT_OK(schedule_verify(copy, NULL));

        copy->calendars = strv_free(copy->calendars);
        verify_fails(copy, "at least one calendar");
        ASSERT_OK(strv_extend(&copy->calendars, "19:00\n"));
        verify_fails(copy, "Invalid calendar spec");
        copy->calendars = strv_free(copy->calendars);
        ASSERT_OK(strv_extend(&copy->calendars, "*-*-* 07:00"));

        copy->valid_from = 2000;
        copy->valid_until = 1000;
        verify_fails(copy, "valid_from");
        copy->valid_until = 0;
        ASSERT_OK(schedule_verify(copy, NULL));

        copy->misfire_grace = 8 * USEC_PER_DAY;
        verify_fails(copy, "misfire grace");
        copy->misfire_grace = 0;   /* every firing would be missed */
        verify_fails(copy, "at least 1s");
        copy->misfire_grace = USEC_PER_SEC;
        ASSERT_OK(schedule_verify(copy, NULL));
        copy->misfire_grace = SCHEDULE_MISFIRE_GRACE_DEFAULT;

        ASSERT_OK(strv_extend(&copy->exception_calendars, "holidays"));
        ASSERT_OK(strv_extend(&copy->exception_calendars, "holidays"));
        verify_fails(copy, "given twice");
        copy->exception_calendars = strv_free(copy->exception_calendars);

        ASSERT_OK(strv_extend(&copy->calendars, copy->calendars[0]));
        verify_fails(copy, "Calendar spec");
        free(copy->calendars[strv_length(copy->calendars) - 1]);
        copy->calendars[strv_length(copy->calendars) - 1] = NULL;
        ASSERT_OK(schedule_verify(copy, NULL));

        /* Windows: NAME-up starts, NAME-down stops. */
        copy->window_name = strdup("office");
        ASSERT_OK(schedule_verify(copy, NULL));
        copy->action = SCHEDULE_ACTION_START;
        verify_fails(copy, "office-up (start)");
        free(copy->name);
        copy->name = strdup("office-up");
        ASSERT_OK(schedule_verify(copy, NULL));
        copy->action = SCHEDULE_ACTION_REBOOT;
        verify_fails(copy, "window");
        ASSERT_TRUE(!schedule_window_name_is_valid("a23456789012345678901234567890123456789012345678901234567890"));
        ASSERT_TRUE(schedule_window_name_is_valid("a2345678901234567890123456789012345678901234567890123456789"));

        schedule_targets_free(copy->targets, copy->n_targets);
        copy->targets = NULL;
        copy->n_targets = 0;
        copy->action = SCHEDULE_ACTION_START;
        verify_fails(copy, "at least one target");
}

TEST(actions) {
        ASSERT_EQ(schedule_action_first(SCHEDULE_ACTION_START, STOP_MODE_HARD), OCI_ACTION_START);
        ASSERT_EQ(schedule_action_first(SCHEDULE_ACTION_STOP, STOP_MODE_SOFT), OCI_ACTION_SOFTSTOP);
        ASSERT_EQ(schedule_action_first(SCHEDULE_ACTION_STOP, STOP_MODE_HARD), OCI_ACTION_STOP);
        ASSERT_EQ(schedule_action_first(SCHEDULE_ACTION_SOFTSTOP, STOP_MODE_HARD), OCI_ACTION_SOFTSTOP);
        ASSERT_EQ(schedule_action_first(SCHEDULE_ACTION_REBOOT, STOP_MODE_SOFT), OCI_ACTION_SOFTRESET);
        ASSERT_EQ(schedule_action_first(SCHEDULE_ACTION_REBOOT, STOP_MODE_HARD), OCI_ACTION_RESET);
        ASSERT_EQ(schedule_action_first(SCHEDULE_ACTION_SOFTREBOOT, STOP_MODE_HARD), OCI_ACTION_SOFTRESET);
        ASSERT_EQ(schedule_action_fallback(OCI_ACTION_SOFTSTOP), OCI_ACTION_STOP);
        ASSERT_EQ(schedule_action_fallback(OCI_ACTION_SOFTRESET), OCI_ACTION_RESET);
        ASSERT_EQ(schedule_action_fallback(OCI_ACTION_STOP), _OCI_ACTION_INVALID);
        ASSERT_EQ(schedule_action_fallback(OCI_ACTION_START), _OCI_ACTION_INVALID);
        ASSERT_EQ(schedule_action_target_state(SCHEDULE_ACTION_SOFTSTOP), OCI_INSTANCE_STOPPED);
        ASSERT_EQ(schedule_action_target_state(SCHEDULE_ACTION_REBOOT), OCI_INSTANCE_RUNNING);
        ASSERT_TRUE(schedule_action_is_closed_by_calendar(SCHEDULE_ACTION_START));
        ASSERT_TRUE(schedule_action_is_closed_by_calendar(SCHEDULE_ACTION_SOFTREBOOT));
        ASSERT_TRUE(!schedule_action_is_closed_by_calendar(SCHEDULE_ACTION_STOP));
        ASSERT_TRUE(!schedule_action_is_closed_by_calendar(SCHEDULE_ACTION_SOFTSTOP));
}

TEST(firing_decisions) {
        _cleanup_(schedule_freep) Schedule *s = valid_schedule();
        const uint64_t t = 100000 * USEC_PER_SEC, grace = s->misfire_grace;
        const char *reason;

        ASSERT_EQ(schedule_decide_firing(s, t, t, &reason), FIRING_RUN);
        ASSERT_NULL(reason);
        ASSERT_EQ(schedule_decide_firing(s, t, t + 50 * USEC_PER_MSEC, NULL), FIRING_RUN);
        /* Exactly at the grace still runs; one µs beyond is missed. */
        ASSERT_EQ(schedule_decide_firing(s, t, t + grace, NULL), FIRING_RUN);
        ASSERT_EQ(schedule_decide_firing(s, t, t + grace + 1, &reason), FIRING_MISSED);
        ASSERT_TRUE(strstr(reason, "misfire grace"));
        /* A timer firing a little early is not late. */
        ASSERT_EQ(schedule_decide_firing(s, t, t - USEC_PER_MSEC, NULL), FIRING_RUN);

        /* A slot that passed while disabled: skipped, even when also beyond the grace. */
        s->enabled_since = t + 1;
        ASSERT_EQ(schedule_decide_firing(s, t, t + 2, &reason), FIRING_SKIPPED);
        ASSERT_TRUE(strstr(reason, "while the schedule was disabled"));
        ASSERT_EQ(schedule_decide_firing(s, t, t + grace * 10, NULL), FIRING_SKIPPED);
        s->enabled_since = t;
        ASSERT_EQ(schedule_decide_firing(s, t, t, NULL), FIRING_RUN);
        s->enabled = false;
        ASSERT_EQ(schedule_decide_firing(s, t, t, &reason), FIRING_SKIPPED);
        ASSERT_TRUE(strstr(reason, "disabled"));
        s->enabled = true;

        /* Validity: [valid_from, valid_until). */
        s->valid_from = t + 1;
        ASSERT_EQ(schedule_decide_firing(s, t, t, &reason), FIRING_SKIPPED);
        ASSERT_TRUE(strstr(reason, "valid_from"));
        s->valid_from = t;
        s->valid_until = t + 1;
        ASSERT_EQ(schedule_decide_firing(s, t, t, NULL), FIRING_RUN);
        s->valid_until = t;
        ASSERT_EQ(schedule_decide_firing(s, t, t, &reason), FIRING_SKIPPED);
        ASSERT_TRUE(strstr(reason, "valid_until"));

        /* Grace 0: only an on-time firing runs. */
        s->valid_from = s->valid_until = 0;
        s->misfire_grace = 0;
        ASSERT_EQ(schedule_decide_firing(s, t, t, NULL), FIRING_RUN);
        ASSERT_EQ(schedule_decide_firing(s, t, t + 1, NULL), FIRING_MISSED);
}

static SkipReason decide(Schedule *s, ScheduleCandidate c, OciInstanceState st, const char *closed,
                         OciInstanceAction *a) {
        *a = _OCI_ACTION_INVALID;
        return schedule_decide_instance(s, &c, st, closed, a);
}

TEST(instance_decisions) {
        _cleanup_(schedule_freep) Schedule *s = valid_schedule();
        ScheduleCandidate c = instances[0];
        OciInstanceAction a;
        _cleanup_free_ char *text = NULL;

        /* stop */
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_RUNNING, NULL, &a), SKIP_NONE);
        ASSERT_EQ(a, OCI_ACTION_SOFTSTOP);
        c.stop_mode = STOP_MODE_HARD;
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_RUNNING, NULL, &a), SKIP_NONE);
        ASSERT_EQ(a, OCI_ACTION_STOP);
        c.stop_mode = STOP_MODE_SOFT;
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_STOPPED, NULL, &a), SKIP_ALREADY);
        ASSERT_EQ(a, _OCI_ACTION_INVALID);
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_STOPPING, NULL, &a), SKIP_ALREADY);
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_STARTING, NULL, &a), SKIP_NONE);   /* settles, then stops */
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_TERMINATED, NULL, &a), SKIP_UNAVAILABLE);
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_MOVING, NULL, &a), SKIP_UNAVAILABLE);
        /* Stops still happen on closed days. */
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_RUNNING, "holidays", &a), SKIP_NONE);
        /* enforce follows an instance already on its way, but leaves one that is there. */
        s->enforce = true;
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_STOPPING, NULL, &a), SKIP_NONE);
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_STOPPED, NULL, &a), SKIP_ALREADY);
        s->enforce = false;

        /* Configuration wins first: unmanaged, then a live override (whatever the state). */
        c.managed = false;
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_RUNNING, NULL, &a), SKIP_UNMANAGED);
        c.managed = true;
        c.override_state = OVERRIDE_RUNNING;
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_RUNNING, NULL, &a), SKIP_OVERRIDE);
        text = schedule_skip_reason_text(SKIP_OVERRIDE, &c, OCI_INSTANCE_RUNNING, NULL);
        ASSERT_STREQ(text, "override: kept running");
        c.override_state = OVERRIDE_NONE;

        /* start: closed days skip it. */
        s->action = SCHEDULE_ACTION_START;
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_STOPPED, NULL, &a), SKIP_NONE);
        ASSERT_EQ(a, OCI_ACTION_START);
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_STOPPED, "holidays", &a), SKIP_CLOSED);
        text = mfree(text);
        text = schedule_skip_reason_text(SKIP_CLOSED, &c, OCI_INSTANCE_STOPPED, "holidays");
        ASSERT_STREQ(text, "closed by exception calendar holidays");
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_RUNNING, NULL, &a), SKIP_ALREADY);
        text = mfree(text);
        text = schedule_skip_reason_text(SKIP_ALREADY, &c, OCI_INSTANCE_RUNNING, NULL);
        ASSERT_STREQ(text, "already RUNNING");
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_STARTING, NULL, &a), SKIP_ALREADY);
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_STOPPING, NULL, &a), SKIP_NONE);

        /* reboot */
        s->action = SCHEDULE_ACTION_REBOOT;
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_RUNNING, NULL, &a), SKIP_NONE);
        ASSERT_EQ(a, OCI_ACTION_SOFTRESET);
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_STOPPED, NULL, &a), SKIP_NOT_RUNNING);
        ASSERT_EQ(decide(s, c, OCI_INSTANCE_RUNNING, "holidays", &a), SKIP_CLOSED);
}

TEST(priority_ordering) {
        ScheduleCandidate c[] = {
                { .id = "z", .priority = 5 }, { .id = "b", .priority = -1 }, { .id = "a", .priority = 5 },
                { .id = "y", .priority = 0 }, { .id = "c", .priority = -1 },
        };
        size_t ends[ELEMENTSOF(c)];

        ASSERT_EQ(schedule_order_by_priority(c, ELEMENTSOF(c), ends), 3);
        ASSERT_STREQ(c[0].id, "b");
        ASSERT_STREQ(c[1].id, "c");
        ASSERT_STREQ(c[2].id, "y");
        ASSERT_STREQ(c[3].id, "a");
        ASSERT_STREQ(c[4].id, "z");
        ASSERT_EQ(ends[0], 2);
        ASSERT_EQ(ends[1], 3);
        ASSERT_EQ(ends[2], 5);
        ASSERT_EQ(schedule_order_by_priority(c, 0, ends), 0);
        ASSERT_EQ(schedule_order_by_priority(c, 1, NULL), 1);
}

TEST(max_targets) {
        _cleanup_(schedule_freep) Schedule *s = valid_schedule();
        ASSERT_TRUE(!schedule_too_many_targets(s, 100000));
        s->max_targets = 3;
        ASSERT_TRUE(!schedule_too_many_targets(s, 3));
        ASSERT_TRUE(schedule_too_many_targets(s, 4));
}

TEST(retry_token) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

        ASSERT_OK(occurrence_retry_token(7, "ocid1.instance.oc1..a", OCI_ACTION_STOP, &a));
        ASSERT_EQ(strlen(a), 64);
        ASSERT_OK(occurrence_retry_token(7, "ocid1.instance.oc1..a", OCI_ACTION_STOP, &b));
        ASSERT_STREQ(a, b);     /* the same key, the same token: a replay cannot act twice */
        ASSERT_OK(occurrence_retry_token(8, "ocid1.instance.oc1..a", OCI_ACTION_STOP, &c));
        ASSERT_OK(occurrence_retry_token(7, "ocid1.instance.oc1..b", OCI_ACTION_STOP, &d));
        ASSERT_OK(occurrence_retry_token(7, "ocid1.instance.oc1..a", OCI_ACTION_SOFTSTOP, &e));
        ASSERT_TRUE(!streq(a, c) && !streq(a, d) && !streq(a, e));
        /* sha256("stopstart:occurrence:7:ocid1.instance.oc1..a:STOP"), computed independently. */
        ASSERT_STREQ(a, "f1aef57900fc651e7437fae18bb0bc4965538b12242d23ec9eddbf5452814100");
        ASSERT_ERR(occurrence_retry_token(0, "x", OCI_ACTION_STOP, &e), EINVAL);
        ASSERT_ERR(occurrence_retry_token(1, "", OCI_ACTION_STOP, &e), EINVAL);
}

TEST(calendar_dates) {
        civil_day_t d;
        int y, m, day;
        ExceptionRange r;
        char buf[EXCEPTION_RANGE_MAX];

        ASSERT_OK(civil_from_ymd(1970, 1, 1, &d));
        ASSERT_EQ(d, 0);
        ASSERT_OK(civil_from_ymd(2024, 2, 29, &d));
        civil_to_ymd(d, &y, &m, &day);
        ASSERT_EQ(y, 2024);
        ASSERT_EQ(m, 2);
        ASSERT_EQ(day, 29);
        ASSERT_ERR(civil_from_ymd(2026, 2, 29, &d), EINVAL);
        ASSERT_ERR(civil_from_ymd(2100, 2, 29, &d), EINVAL);
        ASSERT_OK(civil_from_ymd(2000, 2, 29, &d));
        ASSERT_ERR(civil_from_ymd(2026, 4, 31, &d), EINVAL);
        ASSERT_ERR(civil_from_ymd(2026, 13, 1, &d), EINVAL);
        ASSERT_ERR(civil_from_ymd(1969, 12, 31, &d), EINVAL);
        /* Every day of a few centuries round-trips. */
        for (civil_day_t k = 0; k < 150000; k += 7) {
                civil_day_t back;
                civil_to_ymd(k, &y, &m, &day);
                ASSERT_OK(civil_from_ymd(y, m, day, &back));
                ASSERT_EQ(back, k);
        }

        ASSERT_OK(exception_range_parse("2026-12-24", &r));
        ASSERT_EQ(r.first_day, r.last_day);
        ASSERT_STREQ(exception_range_format(&r, buf, sizeof buf), "2026-12-24");
        ASSERT_OK(exception_range_parse("2026-12-24..2027-01-01", &r));
        ASSERT_EQ(r.last_day - r.first_day, 8);
        ASSERT_STREQ(exception_range_format(&r, buf, sizeof buf), "2026-12-24..2027-01-01");
        ASSERT_OK(exception_range_parse("2026-12-24..2026-12-24", &r));
        ASSERT_ERR(exception_range_parse("2027-01-01..2026-12-24", &r), EINVAL);
        ASSERT_ERR(exception_range_parse("2026-12-24..", &r), EINVAL);
        ASSERT_ERR(exception_range_parse("2026-12-24 ", &r), EINVAL);
        ASSERT_ERR(exception_range_parse("2026-2-4", &r), EINVAL);
        ASSERT_ERR(exception_range_parse("2026-02-30", &r), EINVAL);
        ASSERT_ERR(exception_range_parse("2026-12-24...2026-12-25", &r), EINVAL);
        ASSERT_ERR(exception_range_parse("", &r), EINVAL);
}

static uint64_t utc(int y, int mo, int d, int h, int mi) {
        civil_day_t day;
        ASSERT_OK(civil_from_ymd(y, mo, d, &day));
        return ((uint64_t) day * 86400 + (uint64_t) h * 3600 + (uint64_t) mi * 60) * USEC_PER_SEC;
}

TEST(calendar_closed_in_zone) {
        _cleanup_(exception_calendar_freep) ExceptionCalendar *c = NULL, *other = NULL;
        _cleanup_(schedule_freep) Schedule *s = valid_schedule();
        ExceptionRange r[3];
        civil_day_t day, xmas;
        const char *name;

        ASSERT_OK(exception_calendar_new("holidays", &c));
        ASSERT_ERR(exception_calendar_new("bad name", &other), EINVAL);
        ASSERT_OK(exception_range_parse("2026-12-24..2026-12-26", &r[0]));
        ASSERT_OK(exception_range_parse("2026-05-01", &r[1]));
        ASSERT_OK(exception_range_parse("2026-05-01", &r[2]));
        ASSERT_EQ(exception_calendar_add(c, r, 3), 2);           /* the duplicate is ignored */
        ASSERT_EQ(exception_calendar_add(c, r, 1), 0);
        ASSERT_EQ(c->n_ranges, 2);
        ASSERT_EQ(c->ranges[0].first_day, r[1].first_day);      /* sorted */

        ASSERT_OK(civil_from_ymd(2026, 12, 25, &xmas));
        ASSERT_TRUE(exception_calendar_is_closed(c, xmas));
        ASSERT_TRUE(exception_calendar_is_closed(c, xmas + 1));
        ASSERT_TRUE(!exception_calendar_is_closed(c, xmas + 2));
        ASSERT_TRUE(exception_calendar_is_closed(c, xmas - 1));
        ASSERT_TRUE(!exception_calendar_is_closed(c, xmas - 2));

        /* The day is the schedule zone's: 2026-12-26 23:30 UTC is already the 27th in Berlin
         * (open) but still the 26th in Sao Paulo (closed); 2026-12-23 23:30 UTC is the 24th in
         * Berlin (closed) and the 23rd in Sao Paulo (open). */
        ASSERT_OK(civil_day_in_zone(utc(2026, 12, 26, 23, 30), "Europe/Berlin", &day));
        ASSERT_EQ(day, xmas + 2);
        ASSERT_OK(civil_day_in_zone(utc(2026, 12, 26, 23, 30), "America/Sao_Paulo", &day));
        ASSERT_EQ(day, xmas + 1);
        ASSERT_OK(civil_day_in_zone(utc(2026, 12, 26, 23, 30), "UTC", &day));
        ASSERT_EQ(day, xmas + 1);
        ASSERT_ERR(civil_day_in_zone(0, "Nowhere/Special", &day), EINVAL);

        s->action = SCHEDULE_ACTION_START;
        ASSERT_OK(strv_extend(&s->exception_calendars, "holidays"));
        ASSERT_EQ(schedule_closed_by(s, &c, 1, utc(2026, 12, 23, 23, 30), &name), 1);
        ASSERT_STREQ(name, "holidays");
        ASSERT_EQ(schedule_closed_by(s, &c, 1, utc(2026, 12, 26, 23, 30), &name), 0);
        ASSERT_NULL(name);
        free(s->time_zone);
        s->time_zone = strdup("America/Sao_Paulo");
        ASSERT_EQ(schedule_closed_by(s, &c, 1, utc(2026, 12, 26, 23, 30), &name), 1);
        ASSERT_EQ(schedule_closed_by(s, &c, 1, utc(2026, 12, 23, 23, 30), &name), 0);
        /* A stop is never closed; nor is a schedule that does not honour the calendar. */
        s->action = SCHEDULE_ACTION_STOP;
        ASSERT_EQ(schedule_closed_by(s, &c, 1, utc(2026, 12, 25, 12, 0), &name), 0);
        s->action = SCHEDULE_ACTION_START;
        s->exception_calendars = strv_free(s->exception_calendars);
        ASSERT_EQ(schedule_closed_by(s, &c, 1, utc(2026, 12, 25, 12, 0), &name), 0);

        /* The host's TZ is left as it was. */
        ASSERT_OK(setenv("TZ", ":Asia/Tokyo", 1));
        tzset();
        ASSERT_OK(civil_day_in_zone(utc(2026, 12, 26, 23, 30), "Europe/Berlin", &day));
        ASSERT_STREQ(getenv("TZ"), ":Asia/Tokyo");
        ASSERT_OK(civil_day_in_zone(utc(2026, 12, 26, 16, 0), NULL, &day));
        ASSERT_EQ(day, xmas + 2);       /* 01:00 on the 27th in Tokyo */

        ASSERT_EQ(exception_calendar_remove(c, &r[1], 1), 1);
        ASSERT_EQ(c->n_ranges, 1);
        ASSERT_EQ(exception_calendar_remove(c, &r[1], 1), 0);
}

TEST(time_zones) {
        ASSERT_TRUE(time_zone_is_valid("UTC"));
        ASSERT_TRUE(time_zone_is_valid("Europe/Berlin"));
        ASSERT_TRUE(time_zone_is_valid("America/Argentina/Buenos_Aires"));
        ASSERT_TRUE(!time_zone_is_valid(""));
        ASSERT_TRUE(!time_zone_is_valid(NULL));
        ASSERT_TRUE(!time_zone_is_valid("/etc/localtime"));
        ASSERT_TRUE(!time_zone_is_valid("Europe/../Europe/Berlin"));
        ASSERT_TRUE(!time_zone_is_valid("Europe"));             /* a directory */
        ASSERT_TRUE(!time_zone_is_valid("Europe/Berlin "));
        ASSERT_TRUE(!time_zone_is_valid("zone.tab"));           /* a file, not a zone */

        _cleanup_free_ char *host = NULL;
        ASSERT_OK(time_zone_host(&host));
        ASSERT_TRUE(time_zone_is_valid(host));
}

TEST(plan) {
        _cleanup_(schedule_freep) Schedule *s = valid_schedule();
        ScheduleCandidate c[3] = { instances[0], instances[2], instances[1] };
        SchedulePlanEntry *e = NULL;

        c[2].managed = false;
        ASSERT_OK(schedule_plan(s, c, 3, NULL, &e));
        ASSERT_EQ(e[0].skip, SKIP_NONE);
        ASSERT_EQ(e[0].action, OCI_ACTION_SOFTSTOP);
        ASSERT_STREQ(e[0].reason, "");
        ASSERT_EQ(e[1].skip, SKIP_ALREADY);
        ASSERT_STREQ(e[1].reason, "already STOPPED");
        ASSERT_EQ(e[2].skip, SKIP_UNMANAGED);
        ASSERT_STREQ(e[2].instance_id, "ocid1.instance.oc1..b");
        schedule_plan_free(e, 3);
}

int main(void) {
        RUN(string_tables);
        RUN(target_parse);
        RUN(set_targets_and_resolve);
        RUN(verify);
        RUN(actions);
        RUN(firing_decisions);
        RUN(instance_decisions);
        RUN(priority_ordering);
        RUN(max_targets);
        RUN(retry_token);
        RUN(calendar_dates);
        RUN(calendar_closed_in_zone);
        RUN(time_zones);
        RUN(plan);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store/schedule-store.c against a real cluster at schema head (run through
 * tests/lib/pgcluster.py run): schedules and windows round-trip, names, soft delete, enable
 * stamps, calendars, occurrences keyed by (schedule, instant), skip/delay, action rows keyed by
 * (occurrence, instance, action), audit entries. */
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "db.h"
#include "schedule-store.h"
#include "strv.h"
#include "time-util.h"
#include "store-test.h"

static const StoreActor alice = { .uid = 1000, .name = "alice" };

/* ---- answers ---- */

typedef struct Answer {
        int calls, error;
        char *message;
        uint64_t ids[4];
        size_t n;
        Schedule **schedules;
        ExceptionCalendar **calendars;
        OccurrenceRow *occurrences;
        ActionRow *actions;
} Answer;

static void answer_reset(Answer *a) {
        for (size_t i = 0; a->schedules && i < a->n; i++)
                schedule_free(a->schedules[i]);
        free(a->schedules);
        for (size_t i = 0; a->calendars && i < a->n; i++)
                exception_calendar_free(a->calendars[i]);
        free(a->calendars);
        occurrence_rows_free(a->occurrences, a->occurrences ? a->n : 0);
        action_rows_free(a->actions, a->actions ? a->n : 0);
        free(a->message);
        *a = (Answer) {};
}

static void got(Answer *a, int error, size_t n, const char *message) {
        a->calls++;
        a->error = error;
        a->n = n;
        a->message = message ? strdup(message) : NULL;
}

static void on_ids(int error, const uint64_t *ids, size_t n, const char *message, void *userdata) {
        Answer *a = userdata;
        got(a, error, n, message);
        for (size_t i = 0; i < n && i < ELEMENTSOF(a->ids); i++)
                a->ids[i] = ids[i];
}

static void on_schedules(int error, Schedule **l, size_t n, const char *message, void *userdata) {
        Answer *a = userdata;
        got(a, error, n, message);
        a->schedules = l;
}

static void on_calendars(int error, ExceptionCalendar **l, size_t n, const char *message, void *userdata) {
        Answer *a = userdata;
        got(a, error, n, message);
        a->calendars = l;
}

static void on_occurrences(int error, OccurrenceRow *l, size_t n, const char *message, void *userdata) {
        Answer *a = userdata;
        got(a, error, n, message);
        a->occurrences = l;
}

static void on_actions(int error, ActionRow *l, size_t n, const char *message, void *userdata) {
        Answer *a = userdata;
        got(a, error, n, message);
        a->actions = l;
}

#define WAIT(a) RUN_UNTIL((a).calls == 1)

static Schedule *make(const char *name, ScheduleAction action, const char *window) {
        Schedule *s;
        ASSERT_OK(schedule_new(&s));
        s->name = strdup(name);
        s->action = action;
        ASSERT_OK(strv_extend(&s->calendars, "Mon..Fri 08:00"));
        ASSERT_OK(strv_extend(&s->calendars, "Sat 10:00"));
        s->time_zone = strdup("Europe/Berlin");
        s->enabled = true;
        s->window_name = window ? strdup(window) : NULL;
        s->targets = new0(ScheduleTarget, 3);
        s->n_targets = 3;
        s->targets[0] = (ScheduleTarget) { .kind = TARGET_COMPARTMENT, .id = strdup("ocid1.compartment.oc1..a") };
        s->targets[1] = (ScheduleTarget) { .kind = TARGET_INSTANCE, .id = strdup("ocid1.instance.oc1..i1") };
        s->targets[2] = (ScheduleTarget) { .kind = TARGET_DEFINED_TAG, .tag_namespace = strdup("ops"),
                                           .tag_key = strdup("team"), .tag_value = strdup("web") };
        return s;
}

static void setup_inventory(void) {
        free(sql_value("INSERT INTO stopstart.compartments (id, name, lifecycle_state) VALUES "
                       "('ocid1.tenancy.oc1..root', 'root', 'ACTIVE'), ('ocid1.compartment.oc1..a', 'a', 'ACTIVE');"
                       "UPDATE stopstart.compartments SET parent_id = 'ocid1.tenancy.oc1..root' "
                       "WHERE id = 'ocid1.compartment.oc1..a';"
                       "INSERT INTO stopstart.instances (id, compartment_id, region, display_name, lifecycle_state) "
                       "SELECT 'ocid1.instance.oc1..i' || g, 'ocid1.compartment.oc1..a', 'us-phoenix-1', 'i' || g, "
                       "'RUNNING' FROM generate_series(1, 5) g RETURNING 1"));
}

TEST(schedules) {
        _cleanup_(schedule_freep) Schedule *one = make("nightly", SCHEDULE_ACTION_SOFTSTOP, NULL);
        _cleanup_(schedule_freep) Schedule *up = make("office-up", SCHEDULE_ACTION_START, "office");
        _cleanup_(schedule_freep) Schedule *down = make("office-down", SCHEDULE_ACTION_STOP, "office");
        Answer a = {};
        uint64_t id, up_id, down_id;
        Schedule *s;

        one->valid_from = 1767225600123456ULL;  /* µs survive the round trip */
        one->misfire_grace = 90 * USEC_PER_SEC + 1;
        one->max_targets = 50;
        one->enforce = true;
        ASSERT_OK(strv_extend(&one->exception_calendars, "holidays"));
        ASSERT_OK(schedule_store_insert(db, &one, 1, &alice, on_ids, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.n, 1);
        id = a.ids[0];
        answer_reset(&a);

        /* A taken name: -EEXIST, nothing stored. */
        ASSERT_OK(schedule_store_insert(db, &one, 1, &alice, on_ids, &a));
        WAIT(a);
        ASSERT_EQ(a.error, -EEXIST);
        ASSERT_NOT_NULL(a.message);
        answer_reset(&a);

        /* A window: both or neither. */
        ASSERT_OK(schedule_store_insert(db, (Schedule *[]) { up, down }, 2, &alice, on_ids, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.n, 2);
        up_id = a.ids[0];
        down_id = a.ids[1];
        ASSERT_TRUE(up_id != down_id && up_id != id);
        answer_reset(&a);

        /* A target whose instance the database does not know: -ENXIO. */
        {
                _cleanup_(schedule_freep) Schedule *bad = make("bad", SCHEDULE_ACTION_STOP, NULL);
                free(bad->targets[1].id);
                bad->targets[1].id = strdup("ocid1.instance.oc1..nope");
                ASSERT_OK(schedule_store_insert(db, &bad, 1, &alice, on_ids, &a));
                WAIT(a);
                ASSERT_EQ(a.error, -ENXIO);
                answer_reset(&a);
        }

        ASSERT_OK(schedule_store_load(db, on_schedules, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.n, 3);
        s = a.schedules[0];     /* by name: nightly, office-down, office-up */
        ASSERT_STREQ(s->name, "nightly");
        ASSERT_EQ(s->id, id);
        ASSERT_EQ(s->action, SCHEDULE_ACTION_SOFTSTOP);
        ASSERT_EQ(strv_length(s->calendars), 2);
        ASSERT_STREQ(s->calendars[1], "Sat 10:00");
        ASSERT_STREQ(s->time_zone, "Europe/Berlin");
        ASSERT_TRUE(s->enabled);
        ASSERT_TRUE(s->enabled_since > 0);
        ASSERT_EQ(s->valid_from, 1767225600123456ULL);
        ASSERT_EQ(s->valid_until, 0);
        ASSERT_EQ(s->misfire_grace, 90 * USEC_PER_SEC + 1);
        ASSERT_EQ(s->max_targets, 50);
        ASSERT_TRUE(s->enforce);
        ASSERT_NULL(s->window_name);
        ASSERT_EQ(s->n_targets, 3);
        ASSERT_EQ(s->targets[0].kind, TARGET_COMPARTMENT);
        ASSERT_STREQ(s->targets[1].id, "ocid1.instance.oc1..i1");
        ASSERT_EQ(s->targets[2].kind, TARGET_DEFINED_TAG);
        ASSERT_STREQ(s->targets[2].tag_namespace, "ops");
        ASSERT_STREQ(s->targets[2].tag_value, "web");
        /* The calendar did not exist: not linked. */
        ASSERT_EQ(strv_length(s->exception_calendars), 0);
        ASSERT_STREQ(a.schedules[1]->window_name, "office");
        ASSERT_EQ(a.schedules[2]->id, up_id);
        answer_reset(&a);

        /* Update: fields, targets and calendars replaced; enabled_since kept while enabled. */
        {
                Answer c = {};
                ExceptionRange r = { 20000, 20002 };
                ASSERT_OK(calendar_store_add(db, "holidays", &r, 1, &alice, on_calendars, &c));
                WAIT(c);
                ASSERT_EQ(c.error, 0);
                answer_reset(&c);
        }
        free(sql_value("SELECT 1 FROM pg_sleep(0.01)"));
        ASSERT_SQL("SELECT count(*) FROM stopstart.schedules WHERE enabled_since IS NOT NULL", "3");
        _cleanup_free_ char *since = sql_value("SELECT enabled_since FROM stopstart.schedules WHERE name = 'nightly'");
        one->id = id;
        free(one->name);
        one->name = strdup("nightly-stop");
        schedule_target_done(&one->targets[2]);
        one->n_targets = 2;
        one->valid_from = 0;
        ASSERT_OK(schedule_store_update(db, &one, 1, &alice, on_ids, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.ids[0], id);
        answer_reset(&a);
        ASSERT_SQL("SELECT name || ' ' || (valid_from IS NULL) FROM stopstart.schedules WHERE id = (SELECT id FROM "
                   "stopstart.schedules WHERE name = 'nightly-stop')", "nightly-stop true");
        ASSERT_SQL("SELECT string_agg(kind, ',' ORDER BY t.id) FROM stopstart.schedule_targets t JOIN stopstart.schedules s "
                   "ON s.id = t.schedule_id WHERE s.name = 'nightly-stop'", "compartment,instance");
        ASSERT_SQL("SELECT count(*) FROM stopstart.schedule_exceptions", "1");
        {
                _cleanup_free_ char *after = sql_value("SELECT enabled_since FROM stopstart.schedules WHERE name = 'nightly-stop'");
                ASSERT_STREQ(after, since);
        }
        ASSERT_SQL("SELECT old_value->>'name' || ' -> ' || (new_value->>'name') || ' by ' || actor || ' ' || actor_uid "
                   "FROM stopstart.audit_log WHERE operation = 'update' AND object_kind = 'schedule'",
                   "nightly -> nightly-stop by alice 1000");
        /* Both sides of the entry have one shape: the keys, and the values that did not change (the
         * exception calendar asked for does not exist, so none is linked: as stored, it differs). */
        ASSERT_SQL("SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(old_value) k) = "
                   "       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(new_value) k) "
                   "FROM stopstart.audit_log WHERE operation = 'update' AND object_kind = 'schedule'", "t");
        ASSERT_SQL("SELECT (SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(old_value) k "
                   "        WHERE old_value->k IS DISTINCT FROM new_value->k) "
                   "FROM stopstart.audit_log WHERE operation = 'update' AND object_kind = 'schedule'",
                   "exception_calendars,name,targets,valid_from");

        /* Updating a schedule that is gone changes nothing. */
        one->id = 999999;
        ASSERT_OK(schedule_store_update(db, &one, 1, &alice, on_ids, &a));
        WAIT(a);
        ASSERT_EQ(a.error, -ENOENT);
        answer_reset(&a);

        /* Disable clears enabled_since, enable stamps it anew. */
        ASSERT_OK(schedule_store_set_enabled(db, (uint64_t[]) { up_id, down_id }, 2, false, &alice, on_schedules, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.n, 2);
        ASSERT_TRUE(!a.schedules[0]->enabled);
        ASSERT_EQ(a.schedules[0]->enabled_since, 0);
        ASSERT_EQ(a.schedules[0]->n_targets, 3);
        answer_reset(&a);
        ASSERT_OK(schedule_store_set_enabled(db, &up_id, 1, true, &alice, on_schedules, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_TRUE(a.schedules[0]->enabled && a.schedules[0]->enabled_since > 0);
        answer_reset(&a);
        ASSERT_SQL("SELECT string_agg(operation, ',' ORDER BY id) FROM stopstart.audit_log WHERE object_kind = 'schedule' "
                   "AND operation IN ('enable', 'disable')", "disable,disable,enable");

        /* The calendar is in use: refused. */
        ASSERT_OK(calendar_store_remove(db, "holidays", &alice, on_calendars, &a));
        WAIT(a);
        ASSERT_EQ(a.error, -EBUSY);
        answer_reset(&a);

        /* Delete: softly; the name is free again, the calendar link goes. */
        ASSERT_OK(schedule_store_delete(db, &id, 1, &alice, on_ids, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.n, 1);
        answer_reset(&a);
        ASSERT_OK(schedule_store_delete(db, &id, 1, &alice, on_ids, &a));
        WAIT(a);
        ASSERT_EQ(a.error, -ENOENT);
        answer_reset(&a);
        ASSERT_SQL("SELECT count(*) FROM stopstart.schedules WHERE deleted_at IS NOT NULL AND NOT enabled", "1");
        one->id = 0;
        ASSERT_OK(schedule_store_insert(db, &one, 1, &alice, on_ids, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        answer_reset(&a);
        ASSERT_OK(schedule_store_load(db, on_schedules, &a));
        WAIT(a);
        ASSERT_EQ(a.n, 3);
        ASSERT_STREQ(a.schedules[0]->name, "nightly-stop");
        ASSERT_EQ(strv_length(a.schedules[0]->exception_calendars), 1);
        answer_reset(&a);
}

TEST(calendars) {
        Answer a = {};
        ExceptionRange r[3] = { { 20000, 20000 }, { 20010, 20020 }, { 20000, 20000 } };

        ASSERT_OK(calendar_store_add(db, "freeze", r, 3, &alice, on_calendars, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.n, 1);
        ASSERT_STREQ(a.calendars[0]->name, "freeze");
        ASSERT_EQ(a.calendars[0]->n_ranges, 2);
        ASSERT_EQ(a.calendars[0]->ranges[1].first_day, 20010);
        ASSERT_EQ(a.calendars[0]->ranges[1].last_day, 20020);
        answer_reset(&a);
        ASSERT_SQL("SELECT first_day::text FROM stopstart.exception_dates d JOIN stopstart.exception_calendars c "
                   "ON c.id = d.calendar_id WHERE c.name = 'freeze' ORDER BY first_day LIMIT 1", "2024-10-04");

        /* Adding again is a no-op for known entries. */
        ASSERT_OK(calendar_store_add(db, "freeze", r + 1, 1, &alice, on_calendars, &a));
        WAIT(a);
        ASSERT_EQ(a.calendars[0]->n_ranges, 2);
        answer_reset(&a);

        ASSERT_OK(calendar_store_remove_entries(db, "freeze", r, 1, &alice, on_calendars, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.calendars[0]->n_ranges, 1);
        ASSERT_EQ(a.calendars[0]->ranges[0].first_day, 20010);
        answer_reset(&a);
        ASSERT_OK(calendar_store_remove_entries(db, "nope", r, 1, &alice, on_calendars, &a));
        WAIT(a);
        ASSERT_EQ(a.error, -ENOENT);
        answer_reset(&a);

        ASSERT_OK(calendar_store_load(db, on_calendars, &a));
        WAIT(a);
        ASSERT_EQ(a.n, 2);
        ASSERT_STREQ(a.calendars[0]->name, "freeze");
        ASSERT_STREQ(a.calendars[1]->name, "holidays");
        ASSERT_EQ(a.calendars[1]->n_ranges, 1);
        answer_reset(&a);

        ASSERT_OK(calendar_store_remove(db, "freeze", &alice, on_calendars, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.n, 0);
        answer_reset(&a);
        ASSERT_OK(calendar_store_remove(db, "freeze", &alice, on_calendars, &a));
        WAIT(a);
        ASSERT_EQ(a.error, -ENOENT);
        answer_reset(&a);
        ASSERT_SQL("SELECT string_agg(operation, ',' ORDER BY id) FROM stopstart.audit_log WHERE object_id = 'freeze'",
                   "add-dates,add-dates,remove-dates,remove");
}

static OccurrenceRow fire(uint64_t schedule, uint64_t at, OccurrenceState st, const char *by, bool created) {
        Answer a = {};
        OccurrenceRow o;

        ASSERT_OK(occurrence_store_fire(db, schedule, at, st, st == OCCURRENCE_RUNNING ? "" : "why", by, &alice,
                                        on_occurrences, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.n, 1);
        ASSERT_EQ(a.occurrences[0].created, created);
        o = a.occurrences[0];
        a.occurrences[0] = (OccurrenceRow) {};
        answer_reset(&a);
        return o;
}

TEST(occurrences_and_actions) {
        _cleanup_free_ char *sid = sql_value("SELECT id FROM stopstart.schedules WHERE name = 'office-up'");
        uint64_t schedule = strtoull(sid, NULL, 10);
        const uint64_t t = 1780000000000000ULL + 123;
        OccurrenceRow o, again;
        Answer a = {};
        ActionRow rows[3] = {
                { .instance_id = (char *) "ocid1.instance.oc1..i1", .action = OCI_ACTION_START, .state = ACTION_PENDING,
                  .retry_token = (char *) "tok-1" },
                { .instance_id = (char *) "ocid1.instance.oc1..i2", .action = OCI_ACTION_START, .state = ACTION_SKIPPED,
                  .retry_token = (char *) "tok-2", .reason = (char *) "unmanaged (managed=no)" },
                { .instance_id = (char *) "ocid1.instance.oc1..i3", .action = OCI_ACTION_START, .state = ACTION_PENDING,
                  .retry_token = (char *) "tok-3" },
        };
        uint64_t a1;

        /* The first firing creates the occurrence; a second of the same instant is a no-op that
         * sees the first. */
        o = fire(schedule, t, OCCURRENCE_RUNNING, "timer", true);
        ASSERT_EQ(o.scheduled_at, t);
        ASSERT_EQ(o.state, OCCURRENCE_RUNNING);
        ASSERT_STREQ(o.schedule_name, "office-up");
        ASSERT_STREQ(o.fired_by, "timer");
        ASSERT_EQ(o.target_count, -1);
        ASSERT_TRUE(o.fired_at > 0 && o.finished_at == 0);
        again = fire(schedule, t, OCCURRENCE_MISSED, "timer", false);
        ASSERT_EQ(again.id, o.id);
        ASSERT_EQ(again.state, OCCURRENCE_RUNNING);
        occurrence_row_done(&again);

        /* Action rows before any HTTP call; inserting again returns them as stored. */
        ASSERT_OK(action_store_insert(db, o.id, rows, 3, on_actions, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.n, 3);
        ASSERT_STREQ(a.actions[0].instance_id, "ocid1.instance.oc1..i1");
        ASSERT_EQ(a.actions[0].state, ACTION_PENDING);
        ASSERT_EQ(a.actions[1].state, ACTION_SKIPPED);
        ASSERT_STREQ(a.actions[1].reason, "unmanaged (managed=no)");
        ASSERT_TRUE(a.actions[1].finished_at > 0);
        a1 = a.actions[0].id;
        answer_reset(&a);

        ASSERT_OK(action_store_mark_sent(db, a1, on_actions, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.actions[0].state, ACTION_SENT);
        ASSERT_EQ(a.actions[0].attempts, 1);
        answer_reset(&a);

        rows[0].retry_token = (char *) "other";        /* ignored: the stored row wins */
        ASSERT_OK(action_store_insert(db, o.id, rows, 1, on_actions, &a));
        WAIT(a);
        ASSERT_EQ(a.n, 1);
        ASSERT_EQ(a.actions[0].id, a1);
        ASSERT_EQ(a.actions[0].state, ACTION_SENT);
        ASSERT_STREQ(a.actions[0].retry_token, "tok-1");
        answer_reset(&a);

        ASSERT_OK(action_store_finish(db, a1, ACTION_CONFIRMED, NULL, NULL, "req-1", on_actions, &a));
        WAIT(a);
        ASSERT_EQ(a.actions[0].state, ACTION_CONFIRMED);
        ASSERT_STREQ(a.actions[0].opc_request_id, "req-1");
        ASSERT_TRUE(a.actions[0].confirmed_at > 0 && a.actions[0].finished_at == 0);
        answer_reset(&a);
        ASSERT_OK(action_store_reached(db, a1, on_actions, &a));
        WAIT(a);
        ASSERT_TRUE(a.actions[0].finished_at > 0);
        answer_reset(&a);
        ASSERT_OK(action_store_mark_sent(db, a1, on_actions, &a));      /* confirmed: never sent again */
        WAIT(a);
        ASSERT_EQ(a.error, -EBUSY);
        answer_reset(&a);

        /* Start-up sees the running occurrence with its actions. */
        ASSERT_OK(occurrence_store_unfinished(db, on_occurrences, &a));
        WAIT(a);
        ASSERT_EQ(a.n, 1);
        ASSERT_EQ(a.occurrences[0].n_actions, 3);
        ASSERT_EQ(a.occurrences[0].actions[0].state, ACTION_CONFIRMED);
        ASSERT_EQ(a.occurrences[0].actions[2].state, ACTION_PENDING);
        answer_reset(&a);

        ASSERT_OK(action_store_finish(db, a1 + 2, ACTION_FAILED, NULL, "InstanceAction: HTTP 500", NULL, on_actions, &a));
        WAIT(a);
        ASSERT_STREQ(a.actions[0].error, "InstanceAction: HTTP 500");
        answer_reset(&a);
        ASSERT_OK(occurrence_store_set_state(db, o.id, OCCURRENCE_FAILED, "1 of 2 actions failed", 3, on_occurrences, &a));
        WAIT(a);
        ASSERT_EQ(a.occurrences[0].state, OCCURRENCE_FAILED);
        ASSERT_EQ(a.occurrences[0].target_count, 3);
        ASSERT_TRUE(a.occurrences[0].finished_at > 0);
        answer_reset(&a);

        /* Skip and delay coming occurrences; neither touches one that ran. */
        ASSERT_OK(occurrence_store_skip(db, schedule, t, "operator", &alice, on_occurrences, &a));
        WAIT(a);
        ASSERT_EQ(a.error, -EBUSY);
        answer_reset(&a);
        ASSERT_OK(occurrence_store_skip(db, schedule, t + USEC_PER_DAY, "maintenance", &alice, on_occurrences, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.occurrences[0].state, OCCURRENCE_SKIPPED);
        answer_reset(&a);
        again = fire(schedule, t + USEC_PER_DAY, OCCURRENCE_RUNNING, "timer", false);
        ASSERT_EQ(again.state, OCCURRENCE_SKIPPED);     /* the timer finds it skipped: nothing runs */
        occurrence_row_done(&again);

        ASSERT_OK(occurrence_store_delay(db, schedule, t + 2 * USEC_PER_DAY, t + 2 * USEC_PER_DAY + USEC_PER_HOUR, &alice,
                                         on_occurrences, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.occurrences[0].state, OCCURRENCE_PENDING);
        ASSERT_EQ(a.occurrences[0].delayed_until, t + 2 * USEC_PER_DAY + USEC_PER_HOUR);
        answer_reset(&a);
        again = fire(schedule, t + 2 * USEC_PER_DAY, OCCURRENCE_RUNNING, "timer", false);
        ASSERT_EQ(again.state, OCCURRENCE_PENDING);
        ASSERT_TRUE(again.delayed_until > 0);
        /* At the delayed instant the executor claims it, once. */
        ASSERT_OK(occurrence_store_claim(db, again.id, on_occurrences, &a));
        WAIT(a);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(a.occurrences[0].state, OCCURRENCE_RUNNING);
        answer_reset(&a);
        ASSERT_OK(occurrence_store_claim(db, again.id, on_occurrences, &a));
        WAIT(a);
        ASSERT_EQ(a.error, -EBUSY);
        answer_reset(&a);
        occurrence_row_done(&again);

        /* A manual fire is audited with its operator. */
        again = fire(schedule, t + 3 * USEC_PER_DAY, OCCURRENCE_MISSED, "alice", true);
        ASSERT_EQ(again.state, OCCURRENCE_MISSED);
        ASSERT_STREQ(again.reason, "why");
        ASSERT_TRUE(again.finished_at > 0);
        occurrence_row_done(&again);
        ASSERT_SQL("SELECT string_agg(operation || ':' || actor, ',' ORDER BY id) FROM stopstart.audit_log "
                   "WHERE operation IN ('fire', 'skip', 'delay')",
                   "fire:alice,skip:alice,delay:alice,fire:alice");

        /* Listing: newest first, filters, actions on request. */
        {
                OccurrenceFilter f = { .schedule_id = schedule, .state = _OCCURRENCE_STATE_INVALID, .with_actions = true };
                ASSERT_OK(occurrence_store_list(db, &f, on_occurrences, &a));
                WAIT(a);
                ASSERT_EQ(a.error, 0);
                ASSERT_EQ(a.n, 4);
                ASSERT_EQ(a.occurrences[0].scheduled_at, t + 3 * USEC_PER_DAY);
                ASSERT_EQ(a.occurrences[3].id, o.id);
                ASSERT_EQ(a.occurrences[3].n_actions, 3);
                answer_reset(&a);
                f.state = OCCURRENCE_SKIPPED;
                f.with_actions = false;
                ASSERT_OK(occurrence_store_list(db, &f, on_occurrences, &a));
                WAIT(a);
                ASSERT_EQ(a.n, 1);
                answer_reset(&a);
                f = (OccurrenceFilter) { .since = t + 1, .until = t + 3 * USEC_PER_DAY, .limit = 1,
                                         .state = _OCCURRENCE_STATE_INVALID };
                ASSERT_OK(occurrence_store_list(db, &f, on_occurrences, &a));
                WAIT(a);
                ASSERT_EQ(a.n, 1);
                ASSERT_EQ(a.occurrences[0].scheduled_at, t + 2 * USEC_PER_DAY);
                answer_reset(&a);
        }
        occurrence_row_done(&o);
}

int main(void) {
        int r = store_test_setup();

        if (r != 0)
                return r;
        setup_inventory();

        RUN(schedules);
        RUN(calendars);
        RUN(occurrences_and_actions);

        store_test_teardown();
        return 0;
}

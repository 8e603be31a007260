/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small program around the occurrence executor (daemon/exec/occurrence.h) for
 * tests/integration/test_occurrence.py: the real OCI client against the fake OCI server, the
 * real store against a throwaway PostgreSQL (PG* environment), no bus.
 *
 *   occurrence-driver --config=FILE --targets=FILE.json [--action=stop] [--schedule=NAME]
 *                     [--at=USEC] [--max-parallel=N] [--max-targets=N] [--closed-by=CALENDAR]
 *                     [--enforce] [--poll=USEC] [--resume] [--journal=FILE]
 *
 * targets: [{id, region, compartment_id, priority, managed, override_state, stop_mode,
 * soft_stop_timeout_usec}]; their compartments and instances are inserted into the database if
 * missing (the actions' foreign keys). Without --resume it fires the schedule's occurrence at
 * --at (the schedule is created if missing) and runs it; with --resume it runs every occurrence
 * left running, with the rows it has. Prints one JSON object per occurrence: {id, created, state,
 * reason, total, acted, skipped, failed}. --journal=FILE appends the log's journal entries to FILE
 * as the journal would get them ("KEY=value" lines, a blank line after each entry). */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "json-util.h"
#include "log.h"
#include "occurrence.h"
#include "oci-config.h"
#include "schedule-store.h"
#include "strv.h"

static const char *arg_config, *arg_targets, *arg_schedule = "driver", *arg_closed_by, *arg_journal;
static ScheduleAction arg_action = SCHEDULE_ACTION_STOP;
static uint64_t arg_at, arg_poll;
static unsigned arg_max_parallel, arg_max_targets;
static bool arg_resume, arg_enforce;

static sd_event *event;
static Db *db;
static OciClient *oci;
static int running;
static int exit_status;

_noreturn_ static void fail(const char *fmt, ...) _printf_(1, 2);
static void fail(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("occurrence-driver: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        exit(2);
}

typedef struct Answer {
        int calls, error;
        char *message;
        uint64_t id;
        Schedule **schedules;
        size_t n;
        OccurrenceRow *occurrences;
} Answer;

static void wait_for(const int *calls) {
        while (*calls == 0)
                if (sd_event_run(event, UINT64_MAX) < 0)
                        fail("event loop");
}

static void on_sql(Db *d, PGresult *r, int error, void *userdata) {
        Answer *a = userdata;
        a->calls++;
        a->error = error;
        if (error < 0)
                a->message = strdup(db_last_error(d));
        PQclear(r);
}

static void on_ids(int error, const uint64_t *ids, size_t n, const char *message, void *userdata) {
        Answer *a = userdata;
        a->calls++;
        a->error = error;
        a->id = n > 0 ? ids[0] : 0;
        a->message = message ? strdup(message) : NULL;
}

static void on_schedules(int error, Schedule **l, size_t n, const char *message, void *userdata) {
        Answer *a = userdata;
        a->calls++;
        a->error = error;
        a->schedules = l;
        a->n = n;
}

static void on_occurrences(int error, OccurrenceRow *l, size_t n, const char *message, void *userdata) {
        Answer *a = userdata;
        a->calls++;
        a->error = error;
        a->occurrences = l;
        a->n = n;
        a->message = message ? strdup(message) : NULL;
}

static const char *jstr(json_object *o, const char *k) {
        json_object *v;
        return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ?
                json_object_get_string(v) : NULL;
}

static int64_t jint(json_object *o, const char *k, int64_t dflt) {
        json_object *v;
        return json_object_object_get_ex(o, k, &v) && !json_object_is_type(v, json_type_null) ?
                json_object_get_int64(v) : dflt;
}

static ScheduleCandidate *load_targets(json_object *a, size_t *ret_n) {
        size_t n = json_object_array_length(a);
        ScheduleCandidate *c = new0(ScheduleCandidate, n);

        for (size_t i = 0; c && i < n; i++) {
                json_object *o = json_object_array_get_idx(a, i);
                c[i] = (ScheduleCandidate) {
                        .id = jstr(o, "id"), .region = jstr(o, "region"), .compartment_id = jstr(o, "compartment_id"),
                        .priority = (int32_t) jint(o, "priority", 0), .managed = jint(o, "managed", 1) != 0,
                        .override_state = override_state_from_string(jstr(o, "override_state") ?: ""),
                        .stop_mode = stop_mode_from_string(jstr(o, "stop_mode") ?: "soft"),
                        .soft_stop_timeout = (uint64_t) jint(o, "soft_stop_timeout_usec", 300000000),
                };
                if (!c[i].id || !c[i].region || !c[i].compartment_id || (int) c[i].override_state < 0 ||
                    (int) c[i].stop_mode < 0)
                        fail("bad target %zu", i);
        }
        *ret_n = n;
        return c;
}

static void on_progress(OccurrenceRun *run, const OccurrenceProgress *p, void *userdata) {
        log_debug("progress %zu/%zu", p->finished, p->total);
}

static void on_done(OccurrenceRun *run, OccurrenceState state, const char *reason, void *userdata) {
        json_object *o = userdata;
        OccurrenceProgress p;

        occurrence_run_get_progress(run, &p);
        json_object_object_add(o, "state", json_object_new_string(occurrence_state_to_string(state)));
        json_object_object_add(o, "reason", json_object_new_string(strempty(reason)));
        json_object_object_add(o, "total", json_object_new_int64((int64_t) p.total));
        json_object_object_add(o, "acted", json_object_new_int64((int64_t) p.acted));
        json_object_object_add(o, "skipped", json_object_new_int64((int64_t) p.skipped));
        json_object_object_add(o, "failed", json_object_new_int64((int64_t) p.failed));
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        fflush(stdout);
        json_object_put(o);
        occurrence_run_free(run);
        if (state != OCCURRENCE_DONE)
                exit_status = 1;
        running--;
}

static void run_one(Schedule *s, const OccurrenceRow *occ, bool created, const ScheduleCandidate *c, size_t n) {
        OccurrenceRunParams p = { .max_parallel = arg_max_parallel, .poll_initial = arg_poll, .poll_max = arg_poll * 4,
                                  .conflict_delay = 200 * USEC_PER_MSEC };
        json_object *o = json_object_new_object();
        OccurrenceRun *run;
        int r;

        json_object_object_add(o, "id", json_object_new_int64((int64_t) occ->id));
        json_object_object_add(o, "created", json_object_new_boolean(created));
        r = occurrence_run_start(event, db, oci, s, occ, c, n, arg_closed_by, &p, on_progress, NULL, on_done, o,
                                 &run);
        if (r < 0)
                fail("occurrence_run_start: %s", strerror(-r));
        running++;
}

static FILE *journal;

static int capture_journal(const struct iovec *iov, int n) {
        for (int i = 0; i < n; i++)
                fprintf(journal, "%.*s\n", (int) iov[i].iov_len, (const char *) iov[i].iov_base);
        fputc('\n', journal);
        fflush(journal);
        return 0;
}

static int parse_options(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },       { "targets", required_argument, NULL, 't' },
                { "action", required_argument, NULL, 'a' },       { "schedule", required_argument, NULL, 's' },
                { "at", required_argument, NULL, 'T' },           { "max-parallel", required_argument, NULL, 'p' },
                { "max-targets", required_argument, NULL, 'm' },  { "closed-by", required_argument, NULL, 'x' },
                { "enforce", no_argument, NULL, 'e' },            { "poll", required_argument, NULL, 'P' },
                { "resume", no_argument, NULL, 'r' },             { "journal", required_argument, NULL, 'j' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'c': arg_config = optarg; break;
                case 't': arg_targets = optarg; break;
                case 'a':
                        arg_action = schedule_action_from_string(optarg);
                        if ((int) arg_action < 0)
                                fail("bad action");
                        break;
                case 's': arg_schedule = optarg; break;
                case 'T': arg_at = strtoull(optarg, NULL, 10); break;
                case 'p': arg_max_parallel = (unsigned) atoi(optarg); break;
                case 'm': arg_max_targets = (unsigned) atoi(optarg); break;
                case 'x': arg_closed_by = optarg; break;
                case 'e': arg_enforce = true; break;
                case 'P': arg_poll = strtoull(optarg, NULL, 10); break;
                case 'r': arg_resume = true; break;
                case 'j': arg_journal = optarg; break;
                default: fail("bad option");
                }
        if (!arg_config || !arg_targets)
                fail("--config= and --targets= are required");
        return optind;
}

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(oci_credentials_freep) OciCredentials *creds = NULL;
        _cleanup_json_ json_object *targets_json = NULL;
        _cleanup_free_ ScheduleCandidate *c = NULL;
        _cleanup_free_ char *err = NULL;
        OciClientSettings settings;
        Answer a = {};
        Schedule *s = NULL;
        size_t n;
        int r;

        parse_options(argc, argv);
        log_parse_environment();
        if (arg_journal) {
                journal = fopen(arg_journal, "ae");
                if (!journal)
                        fail("cannot open %s", arg_journal);
                log_set_journal_send(capture_journal);
        }
        alarm(240);     /* a test driver never hangs a suite */
        if (arg_poll == 0)
                arg_poll = 200 * USEC_PER_MSEC;
        r = config_load(arg_config, &config, &err);
        if (r < 0)
                fail("%s", strna(err));
        targets_json = json_object_from_file(arg_targets);
        if (!json_object_is_type(targets_json, json_type_array))
                fail("cannot read %s", arg_targets);
        c = load_targets(targets_json, &n);
        if (arg_max_parallel == 0)
                arg_max_parallel = config->scheduler.max_parallel_actions;

        r = sd_event_default(&event);
        if (r < 0)
                fail("sd_event_default");
        r = oci_credentials_load(config->oci.config_file, config->oci.profile, &creds, &err);
        if (r < 0)
                fail("%s", err ?: strerror(-r));
        oci_client_settings_from_config(&settings, config);
        r = oci_client_new(event, creds->key, creds->key_id, &settings, &oci, &err);
        if (r < 0)
                fail("%s", err ?: strerror(-r));
        r = db_new(event, "", &db);
        if (r >= 0)
                r = db_start(db);
        if (r < 0)
                fail("db: %s", strerror(-r));

        /* The inventory rows the actions refer to. */
        {
                const char *p[] = { json_object_to_json_string_ext(targets_json, JSON_C_TO_STRING_PLAIN) };
                r = db_query(db,
                             "WITH t AS (SELECT * FROM json_to_recordset($1::json) AS x(id text, region text, "
                             "compartment_id text)), c AS (INSERT INTO stopstart.compartments (id, name, lifecycle_state) "
                             "SELECT DISTINCT compartment_id, compartment_id, 'ACTIVE' FROM t ON CONFLICT DO NOTHING) "
                             "INSERT INTO stopstart.instances (id, compartment_id, region, display_name, lifecycle_state) "
                             "SELECT id, compartment_id, region, id, 'RUNNING' FROM t ON CONFLICT DO NOTHING",
                             1, p, 0, on_sql, &a);
                if (r < 0)
                        fail("db_query: %s", strerror(-r));
                wait_for(&a.calls);
                if (a.error < 0)
                        fail("inventory: %s", strna(a.message));
                a = (Answer) {};
        }

        /* The schedule: found by name, else created. */
        r = schedule_store_load(db, on_schedules, &a);
        if (r < 0)
                fail("schedule_store_load: %s", strerror(-r));
        wait_for(&a.calls);
        if (a.error < 0)
                fail("load: %s", strerror(-a.error));
        for (size_t i = 0; i < a.n; i++)
                if (streq(a.schedules[i]->name, arg_schedule))
                        s = TAKE_PTR(a.schedules[i]);
        for (size_t i = 0; i < a.n; i++)
                schedule_free(a.schedules[i]);
        free(a.schedules);
        a = (Answer) {};
        if (!s) {
                r = schedule_new(&s);
                if (r < 0)
                        fail("oom");
                s->name = strdup(arg_schedule);
                s->action = arg_action;
                s->time_zone = strdup("UTC");
                s->enabled = true;
                s->enforce = arg_enforce;
                s->max_targets = arg_max_targets;
                if (strv_extend(&s->calendars, "*-*-* 19:00") < 0)
                        fail("oom");
                s->targets = new0(ScheduleTarget, 1);
                s->n_targets = 1;
                s->targets[0] = (ScheduleTarget) { .kind = TARGET_TAG, .tag_key = strdup("driver"),
                                                   .tag_value = strdup("yes") };
                r = schedule_store_insert(db, &s, 1, NULL, on_ids, &a);
                if (r < 0)
                        fail("insert: %s", strerror(-r));
                wait_for(&a.calls);
                if (a.error < 0)
                        fail("insert: %s", strna(a.message));
                s->id = a.id;
                a = (Answer) {};
        }

        if (arg_resume) {
                r = occurrence_store_unfinished(db, on_occurrences, &a);
                if (r < 0)
                        fail("unfinished: %s", strerror(-r));
                wait_for(&a.calls);
                if (a.error < 0)
                        fail("unfinished: %s", strna(a.message));
                for (size_t i = 0; i < a.n; i++)
                        if (a.occurrences[i].state == OCCURRENCE_RUNNING && a.occurrences[i].schedule_id == s->id)
                                run_one(s, &a.occurrences[i], false, c, n);
        } else {
                r = occurrence_store_fire(db, s->id, arg_at ?: now(CLOCK_REALTIME), OCCURRENCE_RUNNING, "", "timer",
                                          NULL, on_occurrences, &a);
                if (r < 0)
                        fail("fire: %s", strerror(-r));
                wait_for(&a.calls);
                if (a.error < 0)
                        fail("fire: %s", strna(a.message));
                if (a.occurrences[0].created)
                        run_one(s, &a.occurrences[0], true, c, n);
                else
                        printf("{\"id\":%" PRIu64 ",\"created\":false,\"state\":\"%s\"}\n", a.occurrences[0].id,
                               occurrence_state_to_string(a.occurrences[0].state));
        }
        occurrence_rows_free(a.occurrences, a.n);
        free(a.message);

        while (running > 0)
                if (sd_event_run(event, UINT64_MAX) < 0)
                        fail("event loop");
        /* Let the last outcome writes land. */
        while (db_pending(db) > 0)
                if (sd_event_run(event, UINT64_MAX) < 0)
                        fail("event loop");
        schedule_free(s);
        oci = oci_client_free(oci);
        db = db_free(db);
        event = sd_event_unref(event);
        return exit_status;
}

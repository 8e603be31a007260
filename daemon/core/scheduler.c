/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "calendar.h"
#include "compartment.h"
#include "instance.h"
#include "instance-schedules.h"
#include "log.h"
#include "manager.h"
#include "job.h"
#include "occurrence.h"
#include "schedule-inventory.h"
#include "leader.h"
#include "scheduler.h"
#include "time-util.h"
#include "strv.h"

/* The model reads the Manager's maps (schedule-inventory.h), with the overrides live now. */
const ScheduleInventory *scheduler_inventory(Scheduler *s) {
        manager_inventory_init(&s->mi, s->manager, manager_now());
        return &s->mi.inventory;
}

static void candidate_of(Instance *i, uint64_t now, ScheduleCandidate *c) {
        InstanceConfig eff;

        instance_effective_config(i, now, &eff);
        *c = (ScheduleCandidate) {
                .id = i->id,
                .display_name = i->display_name,
                .compartment_id = i->compartment_id,
                .region = i->region,
                .lifecycle_state = i->lifecycle_state,
                .freeform_tags = i->freeform_tags,
                .defined_tags = i->defined_tags,
                .managed = eff.managed,
                .override_state = eff.override_state,
                .priority = eff.priority,
                .stop_mode = eff.stop_mode,
                .soft_stop_timeout = eff.soft_stop_timeout,
        };
}

typedef void (*start_handler_t)(Scheduler *s, int error, uint32_t job_id, void *userdata);
typedef struct Execution Execution;
static void execution_free(Execution *x);

/* ---- lifecycle ------------------------------------------------------------------------------------- */

static void on_pid1_fire(Pid1 *p, const Pid1Firing *firing, void *userdata);
static void on_pid1_timer_changed(Pid1 *p, const char *id, const Pid1TimerInfo *info, void *userdata);
static void on_pid1_state_changed(Pid1 *p, Pid1State state, int error, const char *message, void *userdata);

int scheduler_new(Manager *m, Scheduler **ret) {
        _cleanup_(scheduler_freep) Scheduler *s = NULL;
        int r;

        s = new0(Scheduler, 1);
        if (!s)
                return -ENOMEM;
        s->manager = m;
        r = time_zone_host(&s->default_zone);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

static ScheduleEntry *entry_free(ScheduleEntry *e) {
        if (!e)
                return NULL;
        schedule_free(e->schedule);
        free(e->bus_path);
        free(e->timer_id);
        return mfree(e);
}

/* The instances' Schedules/NextAction follow every change; the bus layer announces it. */
static void entry_mark_changed(ScheduleEntry *e, uint32_t props) {
        Manager *m = e->scheduler->manager;

        manager_schedules_changed(m);
        manager_queue_event(m, props & SCHEDULE_PROP_ADDED ? MANAGER_EVENT_OBJECT_ADDED :
                               props & SCHEDULE_PROP_REMOVED ? MANAGER_EVENT_OBJECT_REMOVED :
                               MANAGER_EVENT_SCHEDULE_CHANGED, e->bus_path, 0, props, NULL);
}

Scheduler *scheduler_free(Scheduler *s) {
        if (!s)
                return NULL;
        pid1_free(s->pid1);
        for (size_t i = 0; i < s->n_executions; i++)
                execution_free(s->executions[i]);
        free(s->executions);
        for (size_t i = 0; i < s->n_entries; i++)
                entry_free(s->entries[i]);
        free(s->entries);
        for (size_t i = 0; i < s->n_calendars; i++)
                exception_calendar_free(s->calendars[i]);
        free(s->calendars);
        for (size_t i = 0; i < s->n_delay_timers; i++)
                sd_event_source_disable_unref(s->delay_timers[i]);
        free(s->delay_timers);
        free(s->pending_firings);
        free(s->default_zone);
        return mfree(s);
}

const char *scheduler_default_zone(Scheduler *s) {
        Manager *m = s->manager;
        return m->config && m->config->scheduler.time_zone ? m->config->scheduler.time_zone : s->default_zone;
}

StoreActor scheduler_actor(uid_t uid, char **buf) {
        *buf = uid == (uid_t) -1 ? NULL : manager_actor_name(uid);
        return (StoreActor) { .uid = uid, .name = uid == (uid_t) -1 ? "stopstartd" : (*buf ?: "unknown") };
}

static void fail(Scheduler *s, scheduler_done_t handler, void *userdata, int error, SchedulerErrorKind kind,
                 const char *message) {
        SchedulerError e = { .error = error, .kind = kind, .message = message };
        if (handler)
                handler(s, &e, userdata);
}

/* A store error as the bus should see it. */
static SchedulerErrorKind store_error_kind(int error) {
        switch (error) {
        case -ENOTCONN:
        case -ECONNRESET:
                return SCHEDULER_ERROR_DATABASE;
        case -ENOENT:
                return SCHEDULER_ERROR_NO_SUCH_SCHEDULE;
        case -EEXIST:
        case -EINVAL:
                return SCHEDULER_ERROR_INVALID_CONFIG;
        case -ENXIO:
                return SCHEDULER_ERROR_INVALID_TARGET;
        case -EBUSY:
                return SCHEDULER_ERROR_BUSY;
        default:
                return SCHEDULER_ERROR_OTHER;
        }
}

/* ---- the entries ------------------------------------------------------------------------------------ */

ScheduleEntry *scheduler_get(Scheduler *s, uint64_t id) {
        for (size_t i = 0; i < s->n_entries; i++)
                if (s->entries[i]->schedule->id == id)
                        return s->entries[i];
        return NULL;
}

ScheduleEntry *scheduler_find(Scheduler *s, const char *name_or_id) {
        char *end;
        unsigned long long id;

        for (size_t i = 0; i < s->n_entries; i++)
                if (streq(s->entries[i]->schedule->name, name_or_id))
                        return s->entries[i];
        if (*name_or_id < '1' || *name_or_id > '9')
                return NULL;
        errno = 0;
        id = strtoull(name_or_id, &end, 10);
        if (errno != 0 || *end)
                return NULL;
        return scheduler_get(s, id);
}

ExceptionCalendar *scheduler_get_calendar(Scheduler *s, const char *name) {
        for (size_t i = 0; i < s->n_calendars; i++)
                if (streq(s->calendars[i]->name, name))
                        return s->calendars[i];
        return NULL;
}

size_t scheduler_window_members(Scheduler *s, ScheduleEntry *e, ScheduleEntry *ret[static 2]) {
        size_t n = 0;

        if (!e->schedule->window_name) {
                ret[0] = e;
                return 1;
        }
        for (size_t i = 0; i < s->n_entries && n < 2; i++)
                if (streq_ptr(s->entries[i]->schedule->window_name, e->schedule->window_name))
                        ret[n++] = s->entries[i];
        /* up first */
        if (n == 2 && ret[0]->schedule->action != SCHEDULE_ACTION_START) {
                ScheduleEntry *t = ret[0];
                ret[0] = ret[1];
                ret[1] = t;
        }
        return n;
}

static int entry_new(Scheduler *s, Schedule *schedule, ScheduleEntry **ret) {
        ScheduleEntry *e = new0(ScheduleEntry, 1);

        if (!e)
                return -ENOMEM;
        e->scheduler = s;
        e->bus_path = strprintf("%s/%" PRIu64, SS_BUS_PATH_SCHEDULE, schedule->id);
        e->timer_id = strprintf("%" PRIu64, schedule->id);
        if (!e->bus_path || !e->timer_id) {
                free(e->bus_path);
                free(e->timer_id);
                free(e);
                return -ENOMEM;
        }
        e->schedule = schedule;
        *ret = e;
        return 0;
}

static int compare_entries(const void *a, const void *b) {
        const ScheduleEntry *x = *(ScheduleEntry * const *) a, *y = *(ScheduleEntry * const *) b;
        return x->schedule->id < y->schedule->id ? -1 : x->schedule->id > y->schedule->id;
}

static int entries_add(Scheduler *s, ScheduleEntry *e) {
        ScheduleEntry **n = realloc(s->entries, (s->n_entries + 1) * sizeof(ScheduleEntry *));
        if (!n)
                return -ENOMEM;
        s->entries = n;
        s->entries[s->n_entries++] = e;
        qsort(s->entries, s->n_entries, sizeof(ScheduleEntry *), compare_entries);
        return 0;
}

static void entries_remove(Scheduler *s, ScheduleEntry *e) {
        for (size_t i = 0; i < s->n_entries; i++)
                if (s->entries[i] == e) {
                        memmove(s->entries + i, s->entries + i + 1, (s->n_entries - i - 1) * sizeof(ScheduleEntry *));
                        s->n_entries--;
                        return;
                }
}

/* The timer follows the schedule: declared while enabled, removed otherwise. */
static void on_timer_done(Pid1 *p, const char *id, int error, const char *message, void *userdata) {
        if (error < 0 && error != -ECANCELED && error != -ENOTCONN)
                log_warning("Timer of schedule %s: %s", strna(id), message ?: strerror(-error));
}

static void entry_sync_timer(Scheduler *s, ScheduleEntry *e) {
        int r;

        if (!s->pid1)
                return;
        if (e->schedule->enabled)
                r = pid1_timer_set(s->pid1, e->timer_id, e->schedule->calendars, e->schedule->time_zone,
                                   e->schedule->name, on_timer_done, s);
        else {
                r = pid1_timer_remove(s->pid1, e->timer_id, on_timer_done, s);
                e->timer = (Pid1TimerInfo) { .last_trigger = e->timer.last_trigger };
                entry_mark_changed(e, SCHEDULE_PROP_TIMER);
        }
        if (r < 0 && r != -ENOTCONN)
                log_warning_errno(r, "Could not declare the timer of schedule %s: %m", e->schedule->name);
}

/* ---- loading --------------------------------------------------------------------------------------- */

typedef struct LoadCtx {
        Scheduler *s;
        scheduler_done_t handler;
        void *userdata;
        Schedule **schedules;
        size_t n_schedules;
        uint64_t changes;               /* s->changes when the rows were asked for */
} LoadCtx;

static void load_ctx_free(LoadCtx *c) {
        for (size_t i = 0; i < c->n_schedules; i++)
                schedule_free(c->schedules[i]);
        free(c->schedules);
        free(c);
}

static int start_pid1(Scheduler *s) {
        static const Pid1Handlers handlers = {
                .fire = on_pid1_fire,
                .timer_changed = on_pid1_timer_changed,
                .state_changed = on_pid1_state_changed,
        };
        Manager *m = s->manager;
        int r;

        if (s->pid1)
                return 0;
        r = pid1_new(m->event, m->config->systemd.bus, &handlers, s, &s->pid1);
        if (r < 0)
                return r;
        return pid1_start(s->pid1);
}

static void resume_occurrences(Scheduler *s);
static void on_schedules_loaded(int error, Schedule **schedules, size_t n, const char *message, void *userdata);

static void on_calendars_loaded(int error, ExceptionCalendar **calendars, size_t n, const char *message,
                                void *userdata) {
        LoadCtx *c = userdata;
        Scheduler *s = c->s;
        bool first = !s->loaded;
        int r;

        if (error < 0) {
                log_warning("Could not load the exception calendars: %s", message ?: strerror(-error));
                fail(s, c->handler, c->userdata, error, SCHEDULER_ERROR_DATABASE, message);
                load_ctx_free(c);
                return;
        }
        if (c->changes != s->changes) {
                /* A write of ours was applied meanwhile: these rows may predate it (merging them
                 * would drop a schedule just created, or bring back one just deleted). Ask again:
                 * the connection runs statements in order, so the new answer includes it. */
                for (size_t i = 0; i < n; i++)
                        exception_calendar_free(calendars[i]);
                free(calendars);
                for (size_t i = 0; i < c->n_schedules; i++)
                        schedule_free(c->schedules[i]);
                c->schedules = mfree(c->schedules);
                c->n_schedules = 0;
                c->changes = s->changes;
                r = schedule_store_load(s->manager->db, on_schedules_loaded, c);
                if (r < 0) {
                        fail(s, c->handler, c->userdata, r, SCHEDULER_ERROR_DATABASE, NULL);
                        load_ctx_free(c);
                }
                return;
        }
        for (size_t i = 0; i < s->n_calendars; i++)
                exception_calendar_free(s->calendars[i]);
        free(s->calendars);
        s->calendars = calendars;
        s->n_calendars = n;

        /* Merge: same id → replace the model in place (the object stays), new → add, gone → remove. */
        for (size_t i = 0; i < s->n_entries;) {
                ScheduleEntry *e = s->entries[i];
                bool keep = false;
                for (size_t k = 0; k < c->n_schedules; k++)
                        if (c->schedules[k] && c->schedules[k]->id == e->schedule->id)
                                keep = true;
                if (keep) {
                        i++;
                        continue;
                }
                if (s->pid1)
                        (void) pid1_timer_remove(s->pid1, e->timer_id, on_timer_done, s);
                entry_mark_changed(e, SCHEDULE_PROP_REMOVED);
                entries_remove(s, e);
                entry_free(e);
        }
        for (size_t k = 0; k < c->n_schedules; k++) {
                Schedule *sch = TAKE_PTR(c->schedules[k]);
                ScheduleEntry *e = scheduler_get(s, sch->id);
                if (e) {
                        schedule_free(e->schedule);
                        e->schedule = sch;
                        entry_mark_changed(e, SCHEDULE_PROP_ALL);
                } else {
                        r = entry_new(s, sch, &e);
                        if (r >= 0)
                                r = entries_add(s, e);
                        if (r < 0) {
                                log_oom();
                                continue;
                        }
                        if (!first)
                                entry_mark_changed(e, SCHEDULE_PROP_ADDED);
                }
        }
        s->loaded = true;

        r = start_pid1(s);
        if (r < 0)
                log_warning_errno(r, "Could not set up the systemd manager client (%s): %m", s->manager->config->systemd.bus);
        for (size_t i = 0; i < s->n_entries; i++)
                entry_sync_timer(s, s->entries[i]);
        if (first && manager_is_leader(s->manager))
                resume_occurrences(s);

        log_info("Loaded %zu schedule%s and %zu exception calendar%s.", s->n_entries, s->n_entries == 1 ? "" : "s",
                 s->n_calendars, s->n_calendars == 1 ? "" : "s");
        if (c->handler)
                c->handler(s, NULL, c->userdata);
        load_ctx_free(c);
}

static void on_schedules_loaded(int error, Schedule **schedules, size_t n, const char *message, void *userdata) {
        LoadCtx *c = userdata;
        int r;

        if (error < 0) {
                log_warning("Could not load the schedules: %s", message ?: strerror(-error));
                fail(c->s, c->handler, c->userdata, error, SCHEDULER_ERROR_DATABASE, message);
                load_ctx_free(c);
                return;
        }
        c->schedules = schedules;
        c->n_schedules = n;
        r = calendar_store_load(c->s->manager->db, on_calendars_loaded, c);
        if (r < 0) {
                fail(c->s, c->handler, c->userdata, r, SCHEDULER_ERROR_DATABASE, NULL);
                load_ctx_free(c);
        }
}

int scheduler_load(Scheduler *s, scheduler_done_t handler, void *userdata) {
        LoadCtx *c;
        int r;

        c = new0(LoadCtx, 1);
        if (!c)
                return -ENOMEM;
        *c = (LoadCtx) { .s = s, .handler = handler, .userdata = userdata, .changes = s->changes };
        r = schedule_store_load(s->manager->db, on_schedules_loaded, c);
        if (r < 0)
                free(c);
        return r;
}

static void on_reconciled(Pid1 *p, const char *id, int error, const char *message, void *userdata) {
        if (error < 0 && error != -ENOTCONN && error != -ECANCELED)
                log_warning("Reconciling the schedules' timers failed: %s", message ?: strerror(-error));
}

int scheduler_reconcile(Scheduler *s) {
        if (!s->pid1)
                return 0;
        return pid1_reconcile(s->pid1, on_reconciled, s);
}

/* ---- timers ------------------------------------------------------------------------------------------ */

static ScheduleEntry *entry_by_timer_id(Scheduler *s, const char *id) {
        for (size_t i = 0; i < s->n_entries; i++)
                if (streq(s->entries[i]->timer_id, id))
                        return s->entries[i];
        return NULL;
}

static void on_pid1_timer_changed(Pid1 *p, const char *id, const Pid1TimerInfo *info, void *userdata) {
        Scheduler *s = userdata;
        ScheduleEntry *e = entry_by_timer_id(s, id);

        if (!e)
                return;
        if (e->timer.next_elapse == info->next_elapse && e->timer.last_trigger == info->last_trigger &&
            e->timer.active == info->active)
                return;
        e->timer = *info;
        entry_mark_changed(e, SCHEDULE_PROP_TIMER);
}

static void on_pid1_state_changed(Pid1 *p, Pid1State state, int error, const char *message, void *userdata) {
        /* both a lost connection and, on a bus that outlives it, a manager gone from the bus */
        if ((state == PID1_DISCONNECTED || state == PID1_RECONCILING) && error == -ESRCH)
                log_warning("The systemd manager (%s) is not on the bus: %s; its timers are reconciled when it is back.",
                            pid1_get_description(p), message ?: strerror(-error));
        else if (state == PID1_DISCONNECTED && error < 0)
                log_warning("Lost the systemd manager (%s): %s; retrying.", pid1_get_description(p),
                            message ?: strerror(-error));
        else
                log_debug("systemd manager %s: %s", pid1_get_description(p), pid1_state_to_string(state));
}

/* ---- firings: decision, occurrence row, executor ------------------------------------------------------- */

typedef struct FireCtx {
        Scheduler *s;
        uint64_t schedule_id;
        uint64_t instant;
        bool manual;
        bool replayed;                  /* a firing that waited for the database */
        uid_t uid;
        scheduler_fired_t handler;
        void *userdata;
} FireCtx;

/* A timer firing that could not be recorded (database away) waits here, and is decided when it
 * can be recorded: the misfire grace counts until then, so an outage longer than the grace gives
 * `missed`, never a late action. */
static int pending_firing_add(Scheduler *s, uint64_t schedule_id, uint64_t instant) {
        PendingFiring *n;

        for (size_t i = 0; i < s->n_pending_firings; i++)
                if (s->pending_firings[i].schedule_id == schedule_id && s->pending_firings[i].instant == instant)
                        return 0;
        n = reallocarray(s->pending_firings, s->n_pending_firings + 1, sizeof(PendingFiring));
        if (!n)
                return log_oom();
        s->pending_firings = n;
        s->pending_firings[s->n_pending_firings++] = (PendingFiring) { schedule_id, instant };
        return 0;
}

/* An occurrence being executed: its job (the bus object with progress) and the executor's run. */
typedef struct Execution {
        Scheduler *s;
        Schedule *schedule;             /* a copy: the entry may change or go meanwhile */
        OccurrenceRow row;              /* id, schedule, instant (no actions: the run reads them) */
        ActionRow *actions;             /* a resumed row's actions, handed to the run */
        size_t n_actions;
        uint32_t job_id;
        OccurrenceRun *run;
        start_handler_t started;
        void *userdata;
} Execution;

static bool executing(Scheduler *s, uint64_t occurrence_id) {
        for (size_t i = 0; i < s->n_executions; i++)
                if (s->executions[i]->row.id == occurrence_id)
                        return true;
        return false;
}

static void execution_free(Execution *x) {
        if (!x)
                return;
        occurrence_run_free(x->run);
        schedule_free(x->schedule);
        x->row.actions = x->actions;
        x->row.n_actions = x->n_actions;
        occurrence_row_done(&x->row);
        free(x);
}

static void executions_remove(Scheduler *s, Execution *x) {
        for (size_t i = 0; i < s->n_executions; i++)
                if (s->executions[i] == x) {
                        s->executions[i] = s->executions[--s->n_executions];
                        return;
                }
}

static void on_run_progress(OccurrenceRun *run, const OccurrenceProgress *p, void *userdata) {
        Execution *x = userdata;
        Job *j = manager_get_job(x->s->manager, x->job_id);

        if (j && p->total > 0)
                job_update_progress(j, (double) p->finished / (double) p->total);
}

static void on_run_observed(OccurrenceRun *run, const char *instance_id, OciInstanceState state, void *userdata) {
        Execution *x = userdata;

        manager_observe_instance(x->s->manager, instance_id, oci_instance_state_to_string(state));
}

static void on_run_done(OccurrenceRun *run, OccurrenceState state, const char *reason, void *userdata) {
        Execution *x = userdata;
        Scheduler *s = x->s;
        Job *j = manager_get_job(s->manager, x->job_id);

        log_info("Occurrence %" PRIu64 " of schedule %s %s%s%s", x->row.id, x->schedule->name,
                 occurrence_state_to_string(state), isempty(reason) ? "." : ": ", strempty(reason));
        if (j)
                /* A job that is done has no error (the counts are in the log and the occurrence). */
                job_finish(j, state == OCCURRENCE_DONE ? JOB_RESULT_DONE : JOB_RESULT_FAILED,
                           state == OCCURRENCE_DONE ? NULL : reason);
        executions_remove(s, x);
        execution_free(x);
}

static void execution_fail(Execution *x, int error, const char *why) {
        Scheduler *s = x->s;
        Job *j = manager_get_job(s->manager, x->job_id);

        log_warning("Occurrence %" PRIu64 " of schedule %s could not run: %s", x->row.id, x->schedule->name, why);
        /* Recorded failed (one statement; if the database is away, it stays running and resumes). */
        (void) occurrence_store_set_state(s->manager->db, x->row.id, OCCURRENCE_FAILED, why, -1, NULL, NULL);
        if (j)
                job_finish(j, JOB_RESULT_FAILED, why);
        if (x->started) {
                x->started(s, error, x->job_id, x->userdata);
                x->started = NULL;
        }
        executions_remove(s, x);
        execution_free(x);
}

static void on_occurrence_job(Manager *m, Job *j, int error, void *userdata) {
        Execution *x = userdata;
        Scheduler *s = x->s;
        _cleanup_free_ ScheduleCandidate *cands = NULL;
        _cleanup_free_ char *why = NULL;
        const char *closed_by = NULL;
        size_t n = 0;
        int r;

        if (error < 0) {
                /* No job (database away): the occurrence stays running and resumes at the next start. */
                log_warning_errno(error, "Could not create the job of occurrence %" PRIu64 ": %m", x->row.id);
                if (x->started)
                        x->started(s, error, 0, x->userdata);
                executions_remove(s, x);
                execution_free(x);
                return;
        }
        x->job_id = j->id;
        if (!manager_is_leader(m)) {
                /* It stopped leading while the job was being created: the next leader runs it. */
                if (x->started)
                        x->started(s, -EAGAIN, 0, x->userdata);
                job_abandon(j, "This daemon stopped leading; the leader resumes the occurrence.");
                executions_remove(s, x);
                execution_free(x);
                return;
        }
        if (!m->oci)
                return execution_fail(x, -ENOTCONN, m->oci_error ?: "OCI is not configured.");

        r = schedule_resolve(x->schedule, scheduler_inventory(s), &cands, &n);
        if (r < 0)
                return execution_fail(x, r, "Could not resolve the targets.");
        if (schedule_too_many_targets(x->schedule, n)) {
                why = strprintf("The targets resolve to %zu instances, more than max_targets (%" PRIu32 "): acting "
                                "on none.", n, x->schedule->max_targets);
                return execution_fail(x, -E2BIG, why ?: "Too many targets.");
        }
        (void) schedule_closed_by(x->schedule, s->calendars, s->n_calendars, x->row.scheduled_at, &closed_by);

        x->row.actions = x->actions;
        x->row.n_actions = x->n_actions;
        OccurrenceRunParams params = { .max_parallel = m->config->scheduler.max_parallel_actions };
        r = occurrence_run_start(m->event, m->db, m->oci, x->schedule, &x->row, cands, n, closed_by, &params,
                                 on_run_progress, on_run_observed, on_run_done, x, &x->run);
        x->row.actions = NULL;
        x->row.n_actions = 0;
        if (r < 0)
                return execution_fail(x, r, "Could not start the executor.");
        if (x->started) {
                x->started(s, 0, x->job_id, x->userdata);
                x->started = NULL;
        }
}

/* Executes (or resumes) occurrence row of entry e as a job; started gets the job's id. Takes the
 * row's content (the caller's row is left empty). */
static int start_occurrence(Scheduler *s, ScheduleEntry *e, OccurrenceRow *row, uid_t uid, start_handler_t started,
                            void *userdata) {
        Execution *x, **l;
        int r;

        for (size_t i = 0; i < s->n_executions; i++)
                if (s->executions[i]->row.id == row->id)
                        return -EALREADY;   /* already running here */
        x = new0(Execution, 1);
        if (!x)
                return -ENOMEM;
        *x = (Execution) { .s = s, .row = *row, .actions = row->actions, .n_actions = row->n_actions,
                           .started = started, .userdata = userdata };
        x->row.actions = NULL;
        x->row.n_actions = 0;
        *row = (OccurrenceRow) {};
        r = schedule_copy(e->schedule, &x->schedule);
        l = r >= 0 ? realloc(s->executions, (s->n_executions + 1) * sizeof(Execution *)) : NULL;
        if (!l) {
                execution_free(x);
                return r < 0 ? r : -ENOMEM;
        }
        s->executions = l;
        s->executions[s->n_executions++] = x;
        r = job_create(s->manager, JOB_OCCURRENCE, e->schedule->name, STOP_MODE_SOFT, uid, on_occurrence_job, x);
        if (r < 0) {
                executions_remove(s, x);
                x->started = NULL;
                execution_free(x);
        }
        return r;
}

static void on_fire_started(Scheduler *s, int error, uint32_t job_id, void *userdata) {
        FireCtx *c = userdata;
        SchedulerError err = { .error = error, .kind = SCHEDULER_ERROR_OTHER };

        if (c->handler)
                c->handler(s, error < 0 ? &err : NULL, job_id, c->userdata);
        free(c);
}

static void on_occurrence_fired(int error, OccurrenceRow *rows, size_t n, const char *message, void *userdata) {
        FireCtx *c = userdata;
        Scheduler *s = c->s;
        ScheduleEntry *e = scheduler_get(s, c->schedule_id);
        SchedulerError err = {};
        uint32_t job_id = 0;
        int r;

        if ((error == -ENOTCONN || error == -ECONNRESET) && !c->manual) {
                log_warning("Schedule %s: the firing at %" PRIu64 " waits for the database to be recorded.",
                            e ? e->schedule->name : "?", c->instant);
                (void) pending_firing_add(s, c->schedule_id, c->instant);
                goto finish;
        }
        if (error < 0 || n != 1) {
                log_warning("Could not record the firing of schedule %" PRIu64 " at %" PRIu64 ": %s", c->schedule_id,
                            c->instant, message ?: strerror(-(error < 0 ? error : EBADMSG)));
                err = (SchedulerError) { .error = error < 0 ? error : -EBADMSG, .kind = store_error_kind(error),
                                         .message = message };
                goto finish;
        }
        if (!rows[0].created && !c->manual && c->replayed && rows[0].state == OCCURRENCE_RUNNING && e &&
            !executing(s, rows[0].id)) {
                /* The first attempt was committed but its answer lost with the connection. */
                log_info("Schedule %s: the firing at %" PRIu64 " was recorded before the connection broke; running it.",
                         e->schedule->name, c->instant);
                if (start_occurrence(s, e, &rows[0], (uid_t) -1, NULL, NULL) < 0)
                        log_warning("Could not run occurrence %" PRIu64 ".", rows[0].id);
                goto finish;
        }
        if (!rows[0].created && !c->manual) {
                log_info("Schedule %s: the firing at %" PRIu64 " was handled already (%s); nothing to do.",
                         e ? e->schedule->name : "?", c->instant, occurrence_state_to_string(rows[0].state));
                goto finish;
        }
        if (rows[0].state != OCCURRENCE_RUNNING && rows[0].state != OCCURRENCE_PENDING) {
                log_info("Schedule %s: occurrence at %" PRIu64 " recorded %s: %s", e ? e->schedule->name : "?",
                         c->instant, occurrence_state_to_string(rows[0].state), strempty(rows[0].reason));
                if (c->manual)
                        err = (SchedulerError) { .error = -EBUSY, .kind = SCHEDULER_ERROR_BUSY,
                                                 .message = "That occurrence was handled already." };
                goto finish;
        }
        if (!e) {
                err = (SchedulerError) { .error = -ENOENT, .kind = SCHEDULER_ERROR_NO_SUCH_SCHEDULE };
                goto finish;
        }
        if (!manager_is_leader(s->manager)) {
                /* Recorded: the leader hears of the row (a notification) and executes it. */
                log_info("Schedule %s: occurrence at %" PRIu64 " recorded; the leader executes it.", e->schedule->name,
                         c->instant);
                goto finish;
        }
        r = start_occurrence(s, e, &rows[0], c->uid, on_fire_started, c);
        if (r >= 0) {
                occurrence_rows_free(rows, n);
                return;   /* on_fire_started answers */
        }
        log_warning_errno(r, "Schedule %s: could not start the occurrence: %m", e->schedule->name);
        err = (SchedulerError) { .error = r, .kind = SCHEDULER_ERROR_OTHER };
finish:
        if (c->handler)
                c->handler(s, err.error < 0 ? &err : NULL, job_id, c->userdata);
        occurrence_rows_free(rows, n);
        free(c);
}

static int record_firing(Scheduler *s, ScheduleEntry *e, uint64_t instant, bool manual, bool replayed, uid_t uid,
                         scheduler_fired_t handler, void *userdata) {
        _cleanup_free_ char *actor_buf = NULL;
        StoreActor actor = scheduler_actor(uid, &actor_buf);
        const char *reason = NULL;
        OccurrenceState state = OCCURRENCE_RUNNING;
        FireCtx *c;
        int r;

        if (!manual) {
                switch (schedule_decide_firing(e->schedule, instant, manager_now(), &reason)) {
                case FIRING_RUN:
                        break;
                case FIRING_MISSED:
                        state = OCCURRENCE_MISSED;
                        break;
                default:
                        state = OCCURRENCE_SKIPPED;
                }
        }
        c = new0(FireCtx, 1);
        if (!c)
                return -ENOMEM;
        *c = (FireCtx) { .s = s, .schedule_id = e->schedule->id, .instant = instant, .manual = manual,
                         .replayed = replayed, .uid = uid,
                         .handler = handler, .userdata = userdata };
        r = occurrence_store_fire(s->manager->db, e->schedule->id, instant, state, reason,
                                  manual ? actor.name : "timer", &actor, on_occurrence_fired, c);
        if (r < 0)
                free(c);
        return r;
}

static void on_pid1_fire(Pid1 *p, const Pid1Firing *firing, void *userdata) {
        Scheduler *s = userdata;
        ScheduleEntry *e = entry_by_timer_id(s, firing->id);
        int r;

        if (!e) {
                log_info("A timer of an unknown schedule (%s) fired; ignored.", firing->id);
                return;
        }
        log_info("Schedule %s fired for %" PRIu64 "%s.", e->schedule->name, firing->scheduled,
                 firing->catch_up ? " (catch-up)" : "");
        r = record_firing(s, e, firing->scheduled, false, false, (uid_t) -1, NULL, NULL);
        if (r == -ENOTCONN) {
                log_warning("Schedule %s: the database is unreachable; the firing is recorded when it is back "
                            "(if still within the misfire grace, it runs then).", e->schedule->name);
                r = pending_firing_add(s, e->schedule->id, firing->scheduled);
        }
        if (r < 0)
                log_warning_errno(r, "Schedule %s: could not record the firing (database away?): %m", e->schedule->name);
}

int scheduler_fire(Scheduler *s, ScheduleEntry *e, uid_t uid, scheduler_fired_t handler, void *userdata) {
        /* A manual firing is keyed by its own instant (now, to the microsecond). */
        return record_firing(s, e, manager_now(), true, false, uid, handler, userdata);
}

/* Delayed occurrences run at their new time from a timer of ours. */
typedef struct DelayedRun {
        Scheduler *s;
        uint64_t occurrence_id, schedule_id;
} DelayedRun;

static void on_claimed(int error, OccurrenceRow *rows, size_t n, const char *message, void *userdata) {
        DelayedRun *d = userdata;
        ScheduleEntry *e = scheduler_get(d->s, d->schedule_id);

        if (error >= 0 && n == 1 && e && start_occurrence(d->s, e, &rows[0], (uid_t) -1, NULL, NULL) < 0)
                log_warning("Could not run the delayed occurrence %" PRIu64 ".", d->occurrence_id);
        else if (error < 0 && error != -EBUSY)
                log_warning("Could not claim the delayed occurrence %" PRIu64 ": %s", d->occurrence_id,
                            message ?: strerror(-error));
        occurrence_rows_free(rows, n);
        free(d);
}

static int on_delay_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        DelayedRun *d = userdata;
        Scheduler *s = d->s;

        for (size_t i = 0; i < s->n_delay_timers; i++)
                if (s->delay_timers[i] == source) {
                        s->delay_timers[i] = s->delay_timers[--s->n_delay_timers];
                        break;
                }
        sd_event_source_set_userdata(source, NULL);
        sd_event_source_disable_unref(source);
        if (occurrence_store_claim(s->manager->db, d->occurrence_id, on_claimed, d) < 0) {
                log_warning("Could not claim the delayed occurrence %" PRIu64 ".", d->occurrence_id);
                free(d);
        }
        return 0;
}

static int arm_delayed(Scheduler *s, uint64_t occurrence_id, uint64_t schedule_id, uint64_t until) {
        sd_event_source *src = NULL, **n;
        DelayedRun *d;
        int r;

        if (!manager_is_leader(s->manager))
                return 0;  /* the leader hears of the row and arms its own */
        for (size_t i = 0; i < s->n_delay_timers; i++) {
                DelayedRun *o = sd_event_source_get_userdata(s->delay_timers[i]);
                if (o && o->occurrence_id == occurrence_id)   /* armed already: the newest time counts */
                        return sd_event_source_set_time(s->delay_timers[i], until);
        }
        d = new0(DelayedRun, 1);
        if (!d)
                return -ENOMEM;
        *d = (DelayedRun) { .s = s, .occurrence_id = occurrence_id, .schedule_id = schedule_id };
        n = realloc(s->delay_timers, (s->n_delay_timers + 1) * sizeof(sd_event_source *));
        if (!n) {
                free(d);
                return -ENOMEM;
        }
        s->delay_timers = n;
        r = sd_event_add_time(s->manager->event, &src, CLOCK_REALTIME, until, 1000, on_delay_timer, d);
        if (r < 0) {
                free(d);
                return r;
        }
        (void) sd_event_source_set_destroy_callback(src, free);
        s->delay_timers[s->n_delay_timers++] = src;
        return 0;
}

static void on_unfinished(int error, OccurrenceRow *rows, size_t n, const char *message, void *userdata) {
        Scheduler *s = userdata;

        if (error < 0) {
                log_warning("Could not look for unfinished occurrences: %s", message ?: strerror(-error));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                ScheduleEntry *e = scheduler_get(s, rows[i].schedule_id);

                if (rows[i].state == OCCURRENCE_PENDING) {
                        uint64_t at = rows[i].delayed_until ?: rows[i].scheduled_at;
                        if (arm_delayed(s, rows[i].id, rows[i].schedule_id, at) < 0)
                                log_warning("Could not arm the delayed occurrence %" PRIu64 ".", rows[i].id);
                        continue;
                }
                if (!e) {
                        log_warning("Occurrence %" PRIu64 " belongs to a removed schedule; left as it is.", rows[i].id);
                        continue;
                }
                if (executing(s, rows[i].id))
                        continue;   /* reconnected: this one never stopped; or another daemon recorded a firing */
                log_info("Resuming occurrence %" PRIu64 " of schedule %s.", rows[i].id, e->schedule->name);
                if (start_occurrence(s, e, &rows[i], (uid_t) -1, NULL, NULL) < 0)
                        log_warning("Could not resume occurrence %" PRIu64 ".", rows[i].id);
        }
        occurrence_rows_free(rows, n);
}

static void resume_occurrences(Scheduler *s) {
        if (occurrence_store_unfinished(s->manager->db, on_unfinished, s) < 0)
                log_warning("Could not look for unfinished occurrences.");
}

void scheduler_database_back(Scheduler *s) {
        _cleanup_free_ PendingFiring *pending = TAKE_PTR(s->pending_firings);
        size_t n = s->n_pending_firings;

        s->n_pending_firings = 0;

        if (!s->loaded)
                return;   /* the first load resumes everything */
        for (size_t i = 0; i < n; i++) {
                ScheduleEntry *e = scheduler_get(s, pending[i].schedule_id);
                int r;

                if (!e)
                        continue;   /* removed meanwhile */
                r = record_firing(s, e, pending[i].instant, false, true, (uid_t) -1, NULL, NULL);
                if (r == -ENOTCONN)
                        r = pending_firing_add(s, pending[i].schedule_id, pending[i].instant);
                if (r < 0)
                        log_warning_errno(r, "Schedule %s: could not record the firing at %" PRIu64 ": %m",
                                          e->schedule->name, pending[i].instant);
        }
        /* Occurrences whose job could not start while the database was away. */
        if (manager_is_leader(s->manager))
                resume_occurrences(s);
}

void scheduler_resume(Scheduler *s) {
        if (s->loaded && manager_is_leader(s->manager))
                resume_occurrences(s);
}

void scheduler_abandon(Scheduler *s) {
        for (size_t i = 0; i < s->n_executions;) {
                Execution *x = s->executions[i];
                if (x->job_id == 0) {
                        i++;   /* its job is being created: on_occurrence_job() lets it go */
                        continue;
                }
                log_info("Occurrence %" PRIu64 " of schedule %s left to the leader.", x->row.id, x->schedule->name);
                executions_remove(s, x);
                execution_free(x);
        }
        for (size_t i = 0; i < s->n_delay_timers; i++)
                sd_event_source_disable_unref(s->delay_timers[i]);
        s->n_delay_timers = 0;
}

/* ---- create, update, enable, delete -------------------------------------------------------------- */

typedef struct ChangeCtx {
        Scheduler *s;
        Schedule **schedules;
        size_t n, validated;
        uid_t uid;
        bool create;
        scheduler_created_t created;
        scheduler_done_t done;
        void *userdata;
        CalendarQuery *query;
        /* create: the stored ids while systemd is asked for their timers */
        uint64_t *ids;
        unsigned timers_pending;
        bool timers_cancelled;
        int timer_error;
        char *timer_message;
} ChangeCtx;

static void change_ctx_free(ChangeCtx *c) {
        for (size_t i = 0; i < c->n; i++)
                schedule_free(c->schedules[i]);
        free(c->schedules);
        free(c->ids);
        free(c->timer_message);
        calendar_query_free(c->query);
        free(c);
}

static void change_fail(ChangeCtx *c, int error, SchedulerErrorKind kind, const char *message) {
        SchedulerError e = { .error = error, .kind = kind, .message = message };
        if (c->create && c->created)
                c->created(c->s, &e, NULL, 0, c->userdata);
        else if (!c->create && c->done)
                c->done(c->s, &e, c->userdata);
        change_ctx_free(c);
}

static void writes_end(ChangeCtx *c) {
        for (size_t i = 0; i < c->n; i++) {
                ScheduleEntry *e = c->schedules[i] ? scheduler_get(c->s, c->schedules[i]->id) : NULL;
                if (e && e->n_writes > 0)
                        e->n_writes--;
        }
}

static void change_apply(ChangeCtx *c, const uint64_t *ids, size_t n);

static void on_retracted(int error, const uint64_t *ids, size_t n, const char *message, void *userdata) {
        ChangeCtx *c = userdata;
        _cleanup_free_ char *m = NULL;

        if (error < 0 || n != c->n) {
                log_warning("Could not take back the schedules systemd refused: %s",
                            message ?: strerror(error < 0 ? -error : ENOENT));
                m = strprintf("%s; taking it back failed (%s): it stays in the database, without a timer, until "
                              "removed after the next Reload()", strna(c->timer_message),
                              message ?: strerror(error < 0 ? -error : ENOENT));
        } else
                m = strprintf("%s; nothing was stored.", strna(c->timer_message));
        change_fail(c, c->timer_error, c->timer_error == -EINVAL ? SCHEDULER_ERROR_INVALID_CALENDAR : SCHEDULER_ERROR_OTHER,
                    m ?: c->timer_message);
}

static void on_create_timer(Pid1 *p, const char *id, int error, const char *message, void *userdata) {
        ChangeCtx *c = userdata;
        Scheduler *s = c->s;
        _cleanup_free_ char *actor_buf = NULL;
        StoreActor actor;
        int r;

        /* Away (-ENOTCONN): kept as desired, created when the manager is back; not a refusal.
         * Cancelled: the client is going away (pid1_free() calls us from inside), touch nothing. */
        if (error == -ECANCELED)
                c->timers_cancelled = true;
        else if (error < 0 && error != -ENOTCONN && c->timer_error == 0) {
                const char *name = "?", *why = message ?: strerror(-error);
                size_t l = strlen(why);
                for (size_t i = 0; i < c->n; i++)
                        if (c->schedules[i] && c->ids[i] == strtoull(strempty(id), NULL, 10))
                                name = c->schedules[i]->name;
                c->timer_error = error;
                /* systemd's messages end with a full stop; ours goes on. */
                c->timer_message = strprintf("systemd (%s) refused the timer of schedule \"%s\": %.*s",
                                             pid1_get_description(p), name,
                                             (int) (l > 0 && why[l - 1] == '.' ? l - 1 : l), why);
        }
        if (--c->timers_pending > 0)
                return;
        if (c->timers_cancelled)
                return change_fail(c, -ECANCELED, SCHEDULER_ERROR_OTHER,
                                   "The daemon is stopping; the schedule is stored and gets its timer at the next start.");
        if (c->timer_error == 0)
                return change_apply(c, c->ids, c->n);

        log_warning("%s", strna(c->timer_message));
        for (size_t i = 0; i < c->n; i++) {
                char tid[24];
                snprintf(tid, sizeof tid, "%" PRIu64, c->ids[i]);
                (void) pid1_timer_remove(s->pid1, tid, on_timer_done, s);
        }
        actor = scheduler_actor(c->uid, &actor_buf);
        r = schedule_store_retract(s->manager->db, c->ids, c->n, c->timer_message, &actor, on_retracted, c);
        if (r < 0)
                on_retracted(r, NULL, 0, NULL, c);
}

/* A new schedule is kept only once systemd has its timer: a timer the manager refuses (a unit of
 * that name masked, a spec it reads differently from systemd-analyze, no grant) fails the
 * creation, and the rows are taken back before the caller hears of it. */
static void create_timers(ChangeCtx *c, const uint64_t *ids, size_t n) {
        Scheduler *s = c->s;

        c->ids = new(uint64_t, n);
        if (!c->ids)
                return change_apply(c, ids, n);
        memcpy(c->ids, ids, n * sizeof *ids);
        c->timers_pending = 1;          /* held until every request is out */
        for (size_t i = 0; i < n; i++) {
                Schedule *sch = c->schedules[i];
                char tid[24];
                int r;

                if (!sch->enabled)
                        continue;
                snprintf(tid, sizeof tid, "%" PRIu64, ids[i]);
                c->timers_pending++;
                r = pid1_timer_set(s->pid1, tid, sch->calendars, sch->time_zone, sch->name, on_create_timer, c);
                if (r < 0)
                        on_create_timer(s->pid1, tid, r, NULL, c);
        }
        on_create_timer(s->pid1, NULL, 0, NULL, c);
}

static void on_stored(int error, const uint64_t *ids, size_t n, const char *message, void *userdata) {
        ChangeCtx *c = userdata;
        Scheduler *s = c->s;

        if (!c->create)
                writes_end(c);
        if (error < 0 || n != c->n) {
                if (error == -EEXIST)
                        return change_fail(c, error, SCHEDULER_ERROR_INVALID_CONFIG,
                                           message ?: "A schedule of that name exists already.");
                return change_fail(c, error < 0 ? error : -EBADMSG, store_error_kind(error), message);
        }
        if (c->create && s->pid1)
                return create_timers(c, ids, n);
        change_apply(c, ids, n);
}

/* The stored schedules become entries (announced), their timers follow; the caller is answered. */
static void change_apply(ChangeCtx *c, const uint64_t *ids, size_t n) {
        Scheduler *s = c->s;
        int r;

        s->changes++;
        for (size_t i = 0; i < n; i++) {
                Schedule *sch = TAKE_PTR(c->schedules[i]);
                ScheduleEntry *e;

                sch->id = ids[i];
                e = scheduler_get(s, ids[i]);
                if (e) {
                        schedule_free(e->schedule);
                        e->schedule = sch;
                        entry_mark_changed(e, SCHEDULE_PROP_ALL);
                } else {
                        r = entry_new(s, sch, &e);
                        if (r >= 0)
                                r = entries_add(s, e);
                        if (r < 0) {
                                log_oom();
                                continue;
                        }
                        /* A timer created before its entry (create_timers()) reported its times then. */
                        if (s->pid1)
                                (void) pid1_timer_get(s->pid1, e->timer_id, &e->timer);
                        entry_mark_changed(e, SCHEDULE_PROP_ADDED);
                }
                entry_sync_timer(s, e);
        }
        if (c->create && c->created)
                c->created(s, NULL, ids, n, c->userdata);
        else if (!c->create && c->done)
                c->done(s, NULL, c->userdata);
        change_ctx_free(c);
}

static void store_change(ChangeCtx *c) {
        _cleanup_free_ char *actor_buf = NULL;
        StoreActor actor = scheduler_actor(c->uid, &actor_buf);
        int r;

        if (c->create)
                r = schedule_store_insert(c->s->manager->db, c->schedules, c->n, &actor, on_stored, c);
        else
                r = schedule_store_update(c->s->manager->db, c->schedules, c->n, &actor, on_stored, c);
        if (r < 0) {
                if (!c->create)
                        writes_end(c);
                change_fail(c, r, SCHEDULER_ERROR_DATABASE, NULL);
        }
}

/* Windows and schedules share one namespace: "x" naming both a window (x-up, x-down) and a
 * schedule would let every verb taking a NAME pick one of them silently. */
static int name_clash(Scheduler *s, const Schedule *sch, char **ret_msg) {
        for (size_t i = 0; i < s->n_entries; i++) {
                const Schedule *o = s->entries[i]->schedule;

                if (o->id == sch->id)
                        continue;
                if (sch->window_name && streq(o->name, sch->window_name)) {
                        *ret_msg = strprintf("A schedule named \"%s\" exists already: the window needs that name.",
                                             o->name);
                        return -EEXIST;
                }
                if (!sch->window_name && streq_ptr(o->window_name, sch->name)) {
                        *ret_msg = strprintf("\"%s\" is the name of a window (%s-up, %s-down).", sch->name, sch->name,
                                             sch->name);
                        return -EEXIST;
                }
        }
        return 0;
}

static void validate_next(ChangeCtx *c);

static void on_validated(CalendarQuery *q, CalendarResult *result, void *userdata) {
        ChangeCtx *c = userdata;
        _cleanup_(calendar_result_freep) CalendarResult *res = result;

        c->query = calendar_query_free(c->query);
        if (res->error < 0) {
                if (!c->create)
                        writes_end(c);
                return change_fail(c, res->error,
                                   res->error == -EINVAL ? SCHEDULER_ERROR_INVALID_CALENDAR : SCHEDULER_ERROR_OTHER,
                                   res->message);
        }
        c->validated++;
        validate_next(c);
}

/* Every schedule's specs through systemd's calendar engine, one after the other, then the store. */
static void validate_next(ChangeCtx *c) {
        int r;

        if (c->validated >= c->n)
                return store_change(c);
        r = calendar_validate(c->s->manager->event, c->schedules[c->validated]->calendars,
                              c->schedules[c->validated]->time_zone, on_validated, c, &c->query);
        if (r < 0) {
                if (!c->create)
                        writes_end(c);
                change_fail(c, r, r == -EINVAL ? SCHEDULER_ERROR_INVALID_CALENDAR : SCHEDULER_ERROR_OTHER, NULL);
        }
}

static int check_calendars_exist(Scheduler *s, Schedule *sch, char **ret_message) {
        STRV_FOREACH(n, sch->exception_calendars)
                if (!scheduler_get_calendar(s, *n)) {
                        *ret_message = strprintf("No exception calendar \"%s\" (create it with stopstartctl calendar add).",
                                                 *n);
                        return -ENOENT;
                }
        return 0;
}

static int change_begin(Scheduler *s, Schedule **schedules, size_t n, uid_t uid, bool create,
                        scheduler_created_t created, scheduler_done_t done, void *userdata) {
        _cleanup_free_ char *msg = NULL;
        ChangeCtx *c;
        int r;

        c = new0(ChangeCtx, 1);
        if (!c) {
                for (size_t i = 0; i < n; i++)
                        schedule_free(schedules[i]);
                return -ENOMEM;
        }
        *c = (ChangeCtx) { .s = s, .n = n, .uid = uid, .create = create, .created = created, .done = done,
                           .userdata = userdata };
        c->schedules = new0(Schedule *, n);
        if (!c->schedules) {
                for (size_t i = 0; i < n; i++)
                        schedule_free(schedules[i]);
                free(c);
                return -ENOMEM;
        }
        memcpy(c->schedules, schedules, n * sizeof(Schedule *));

        for (size_t i = 0; i < n; i++) {
                Schedule *sch = c->schedules[i];
                ScheduleEntry *other = scheduler_find(s, sch->name);

                if (!sch->time_zone && !(sch->time_zone = strdup(scheduler_default_zone(s)))) {
                        change_ctx_free(c);
                        return -ENOMEM;
                }
                r = schedule_verify(sch, &msg);
                if (r < 0) {
                        change_fail(c, r, SCHEDULER_ERROR_INVALID_CONFIG, msg);
                        return 0;
                }
                if (other && (create || other->schedule->id != sch->id)) {
                        msg = strprintf("A schedule named \"%s\" exists already.", sch->name);
                        change_fail(c, -EEXIST, SCHEDULER_ERROR_INVALID_CONFIG, msg);
                        return 0;
                }
                r = name_clash(s, sch, &msg);
                if (r < 0) {
                        change_fail(c, r, SCHEDULER_ERROR_INVALID_CONFIG, msg);
                        return 0;
                }
                r = check_calendars_exist(s, sch, &msg);
                if (r < 0) {
                        change_fail(c, r, SCHEDULER_ERROR_NO_SUCH_CALENDAR, msg);
                        return 0;
                }
        }
        if (!create)
                for (size_t i = 0; i < n; i++) {
                        ScheduleEntry *e = scheduler_get(s, c->schedules[i]->id);
                        if (e)
                                e->n_writes++;
                }
        validate_next(c);
        return 0;
}

int scheduler_create(Scheduler *s, Schedule **schedules, size_t n, uid_t uid, scheduler_created_t handler,
                     void *userdata) {
        return change_begin(s, schedules, n, uid, true, handler, NULL, userdata);
}

int scheduler_update(Scheduler *s, Schedule **updated, size_t n, uid_t uid, scheduler_done_t handler,
                     void *userdata) {
        return change_begin(s, updated, n, uid, false, NULL, handler, userdata);
}

typedef struct SimpleCtx {
        Scheduler *s;
        uint64_t ids[2];
        size_t n;
        bool enabled;
        scheduler_done_t handler;
        void *userdata;
        /* enabling: systemd is asked for the timers first */
        uid_t uid;
        unsigned timers_pending;
        bool timers_cancelled;
        int timer_error;
        char *timer_message;
} SimpleCtx;

static void simple_ctx_free(SimpleCtx *c) {
        if (!c)
                return;
        free(c->timer_message);
        free(c);
}

static void simple_writes_end(SimpleCtx *c) {
        for (size_t i = 0; i < c->n; i++) {
                ScheduleEntry *e = scheduler_get(c->s, c->ids[i]);
                if (e && e->n_writes > 0)
                        e->n_writes--;
        }
}

/* Enabling whose timers were set first (enable_timers()) but is not kept: they go again. */
static void enable_drop_timers(SimpleCtx *c) {
        Scheduler *s = c->s;

        if (!c->enabled || !s->pid1)
                return;
        for (size_t i = 0; i < c->n; i++) {
                ScheduleEntry *e = scheduler_get(s, c->ids[i]);
                if (e && !e->schedule->enabled)
                        (void) pid1_timer_remove(s->pid1, e->timer_id, on_timer_done, s);
        }
}

static void on_enabled_stored(int error, Schedule **schedules, size_t n, const char *message, void *userdata) {
        SimpleCtx *c = userdata;
        Scheduler *s = c->s;

        simple_writes_end(c);
        if (error < 0) {
                enable_drop_timers(c);
                fail(s, c->handler, c->userdata, error, store_error_kind(error), message);
                simple_ctx_free(c);
                return;
        }
        s->changes++;
        for (size_t i = 0; i < n; i++) {
                ScheduleEntry *e = scheduler_get(s, schedules[i]->id);
                if (!e) {
                        schedule_free(schedules[i]);
                        continue;
                }
                schedule_free(e->schedule);
                e->schedule = schedules[i];
                entry_mark_changed(e, SCHEDULE_PROP_ALL);
                entry_sync_timer(s, e);
        }
        free(schedules);
        if (c->handler)
                c->handler(s, NULL, c->userdata);
        simple_ctx_free(c);
}

static SimpleCtx *simple_begin(Scheduler *s, ScheduleEntry *e, scheduler_done_t handler, void *userdata) {
        ScheduleEntry *members[2];
        SimpleCtx *c = new0(SimpleCtx, 1);

        if (!c)
                return NULL;
        *c = (SimpleCtx) { .s = s, .handler = handler, .userdata = userdata };
        c->n = scheduler_window_members(s, e, members);
        for (size_t i = 0; i < c->n; i++) {
                c->ids[i] = members[i]->schedule->id;
                members[i]->n_writes++;
        }
        return c;
}

static int enable_store(SimpleCtx *c) {
        _cleanup_free_ char *actor_buf = NULL;
        StoreActor actor = scheduler_actor(c->uid, &actor_buf);

        return schedule_store_set_enabled(c->s->manager->db, c->ids, c->n, c->enabled, &actor, on_enabled_stored, c);
}

static void on_enable_timer(Pid1 *p, const char *id, int error, const char *message, void *userdata) {
        SimpleCtx *c = userdata;
        Scheduler *s = c->s;
        int r;

        /* As for a new schedule (on_create_timer()): away is no refusal, cancelled touches nothing. */
        if (error == -ECANCELED)
                c->timers_cancelled = true;
        else if (error < 0 && error != -ENOTCONN && c->timer_error == 0) {
                ScheduleEntry *e = NULL;
                const char *why = message ?: strerror(-error);
                size_t l = strlen(why);

                for (size_t i = 0; i < c->n && !e; i++)
                        if (streq_ptr(scheduler_get(s, c->ids[i]) ? scheduler_get(s, c->ids[i])->timer_id : NULL, id))
                                e = scheduler_get(s, c->ids[i]);
                c->timer_error = error;
                c->timer_message = strprintf("systemd (%s) refused the timer of schedule \"%s\": %.*s; it stays "
                                             "disabled.", pid1_get_description(p), e ? e->schedule->name : "?",
                                             (int) (l > 0 && why[l - 1] == '.' ? l - 1 : l), why);
        }
        if (--c->timers_pending > 0)
                return;
        if (c->timers_cancelled || c->timer_error < 0) {
                if (!c->timers_cancelled) {
                        log_warning("%s", strna(c->timer_message));
                        enable_drop_timers(c);
                }
                simple_writes_end(c);
                fail(s, c->handler, c->userdata, c->timers_cancelled ? -ECANCELED : c->timer_error,
                     c->timer_error == -EINVAL ? SCHEDULER_ERROR_INVALID_CALENDAR : SCHEDULER_ERROR_OTHER,
                     c->timers_cancelled ? "The daemon is stopping." : c->timer_message);
                simple_ctx_free(c);
                return;
        }
        r = enable_store(c);
        if (r < 0) {
                enable_drop_timers(c);
                simple_writes_end(c);
                fail(s, c->handler, c->userdata, r, SCHEDULER_ERROR_DATABASE, NULL);
                simple_ctx_free(c);
        }
}

/* Enabling asks systemd for the timers first: one it refuses (a masked unit name, no grant) fails
 * the call and the schedule stays disabled, rather than being enabled without a timer. */
static void enable_timers(SimpleCtx *c) {
        Scheduler *s = c->s;

        c->timers_pending = 1;          /* held until every request is out */
        for (size_t i = 0; i < c->n; i++) {
                ScheduleEntry *e = scheduler_get(s, c->ids[i]);
                int r;

                if (!e || e->schedule->enabled)
                        continue;       /* has its timer */
                c->timers_pending++;
                r = pid1_timer_set(s->pid1, e->timer_id, e->schedule->calendars, e->schedule->time_zone,
                                   e->schedule->name, on_enable_timer, c);
                if (r < 0)
                        on_enable_timer(s->pid1, e->timer_id, r, NULL, c);
        }
        on_enable_timer(s->pid1, NULL, 0, NULL, c);
}

int scheduler_set_enabled(Scheduler *s, ScheduleEntry *e, bool enabled, uid_t uid, scheduler_done_t handler,
                          void *userdata) {
        SimpleCtx *c = simple_begin(s, e, handler, userdata);
        int r;

        if (!c)
                return -ENOMEM;
        c->enabled = enabled;
        c->uid = uid;
        if (enabled && s->pid1) {
                enable_timers(c);
                return 0;
        }
        r = enable_store(c);
        if (r < 0) {
                simple_writes_end(c);
                simple_ctx_free(c);
        }
        return r;
}

static void on_deleted(int error, const uint64_t *ids, size_t n, const char *message, void *userdata) {
        SimpleCtx *c = userdata;
        Scheduler *s = c->s;

        simple_writes_end(c);
        if (error < 0) {
                fail(s, c->handler, c->userdata, error, store_error_kind(error), message);
                free(c);
                return;
        }
        s->changes++;
        for (size_t i = 0; i < c->n; i++) {
                ScheduleEntry *e = scheduler_get(s, c->ids[i]);
                if (!e)
                        continue;
                if (s->pid1)
                        (void) pid1_timer_remove(s->pid1, e->timer_id, on_timer_done, s);
                entry_mark_changed(e, SCHEDULE_PROP_REMOVED);
                entries_remove(s, e);
                entry_free(e);
        }
        if (c->handler)
                c->handler(s, NULL, c->userdata);
        free(c);
}

int scheduler_delete(Scheduler *s, ScheduleEntry *e, uid_t uid, scheduler_done_t handler, void *userdata) {
        _cleanup_free_ char *actor_buf = NULL;
        StoreActor actor = scheduler_actor(uid, &actor_buf);
        SimpleCtx *c = simple_begin(s, e, handler, userdata);
        int r;

        if (!c)
                return -ENOMEM;
        r = schedule_store_delete(s->manager->db, c->ids, c->n, &actor, on_deleted, c);
        if (r < 0) {
                simple_writes_end(c);
                free(c);
        }
        return r;
}

/* ---- exception calendars ---------------------------------------------------------------------------- */

typedef struct CalCtx {
        Scheduler *s;
        char *name;
        bool remove_all;
        scheduler_done_t handler;
        void *userdata;
} CalCtx;

static void on_calendar_stored(int error, ExceptionCalendar **calendars, size_t n, const char *message,
                               void *userdata) {
        CalCtx *c = userdata;
        Scheduler *s = c->s;

        if (error < 0) {
                SchedulerErrorKind kind = error == -ENOENT ? SCHEDULER_ERROR_NO_SUCH_CALENDAR :
                                          error == -EBUSY ? SCHEDULER_ERROR_INVALID_CONFIG : store_error_kind(error);
                _cleanup_free_ char *msg = NULL;

                if (error == -EBUSY) {
                        /* Name the schedules that still use it. */
                        _cleanup_strv_free_ char **users = NULL;
                        _cleanup_free_ char *joined = NULL;
                        for (size_t i = 0; i < s->n_entries; i++)
                                if (strv_contains(s->entries[i]->schedule->exception_calendars, c->name))
                                        (void) strv_extend(&users, s->entries[i]->schedule->name);
                        joined = strv_join(users, ", ");
                        msg = strprintf("Exception calendar %s is used by %s: remove it from them first.", c->name,
                                        isempty(joined) ? "a schedule" : joined);
                } else if (error == -ENOENT)
                        msg = strprintf("No exception calendar \"%s\".", c->name);
                fail(s, c->handler, c->userdata, error, kind, msg ?: message);
                goto finish;
        }
        s->changes++;
        for (size_t i = 0; i < s->n_calendars; i++)
                if (streq(s->calendars[i]->name, c->name)) {
                        exception_calendar_free(s->calendars[i]);
                        s->calendars[i] = s->calendars[--s->n_calendars];
                        break;
                }
        for (size_t i = 0; i < n; i++) {
                ExceptionCalendar **k = realloc(s->calendars, (s->n_calendars + 1) * sizeof(ExceptionCalendar *));
                if (!k) {
                        exception_calendar_free(calendars[i]);
                        continue;
                }
                s->calendars = k;
                s->calendars[s->n_calendars++] = calendars[i];
        }
        free(calendars);
        calendars = NULL;
        n = 0;
        manager_schedules_changed(s->manager);  /* a closed day changes the instances' NextAction */
        if (c->handler)
                c->handler(s, NULL, c->userdata);
finish:
        for (size_t i = 0; i < n; i++)
                exception_calendar_free(calendars[i]);
        free(calendars);
        free(c->name);
        free(c);
}

int scheduler_calendar_change(Scheduler *s, const char *name, char * const *entries, bool add, uid_t uid,
                              scheduler_done_t handler, void *userdata) {
        _cleanup_free_ char *actor_buf = NULL;
        _cleanup_free_ ExceptionRange *ranges = NULL;
        StoreActor actor = scheduler_actor(uid, &actor_buf);
        size_t n = strv_length((char **) entries);
        CalCtx *c;
        int r;

        if (!exception_calendar_name_is_valid(name))
                return -EINVAL;
        if (n == 0 || n > EXCEPTION_CALENDAR_RANGES_MAX)
                return -E2BIG;
        ranges = new0(ExceptionRange, n);
        if (!ranges)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = exception_range_parse(entries[i], &ranges[i]);
                if (r < 0)
                        return r;
        }
        if (!add && !scheduler_get_calendar(s, name))
                return -ENOENT;
        c = new0(CalCtx, 1);
        if (!c)
                return -ENOMEM;
        *c = (CalCtx) { .s = s, .name = strdup(name), .handler = handler, .userdata = userdata };
        if (!c->name) {
                free(c);
                return -ENOMEM;
        }
        r = add ? calendar_store_add(s->manager->db, name, ranges, n, &actor, on_calendar_stored, c)
                : calendar_store_remove_entries(s->manager->db, name, ranges, n, &actor, on_calendar_stored, c);
        if (r < 0) {
                free(c->name);
                free(c);
        }
        return r;
}

int scheduler_calendar_remove(Scheduler *s, const char *name, uid_t uid, scheduler_done_t handler, void *userdata) {
        _cleanup_free_ char *actor_buf = NULL;
        StoreActor actor = scheduler_actor(uid, &actor_buf);
        CalCtx *c;
        int r;

        if (!scheduler_get_calendar(s, name))
                return -ENOENT;
        c = new0(CalCtx, 1);
        if (!c)
                return -ENOMEM;
        *c = (CalCtx) { .s = s, .name = strdup(name), .remove_all = true, .handler = handler, .userdata = userdata };
        if (!c->name) {
                free(c);
                return -ENOMEM;
        }
        r = calendar_store_remove(s->manager->db, name, &actor, on_calendar_stored, c);
        if (r < 0) {
                free(c->name);
                free(c);
        }
        return r;
}

/* ---- plans, previews, simulations -------------------------------------------------------------------- */

void plan_items_free(PlanItem *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(p[i].reason);
        free(p);
}

void preview_slots_free(PreviewSlot *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(p[i].reason);
                plan_items_free(p[i].items, p[i].n_items);
        }
        free(p);
}

int scheduler_plan(Scheduler *s, ScheduleEntry *e, uint64_t instant, PlanItem **ret, size_t *ret_n) {
        _cleanup_free_ ScheduleCandidate *cands = NULL;
        const char *closed_by = NULL;
        PlanItem *items;
        size_t n = 0;
        int r;

        r = schedule_resolve(e->schedule, scheduler_inventory(s), &cands, &n);
        if (r < 0)
                return r;
        r = schedule_closed_by(e->schedule, s->calendars, s->n_calendars, instant, &closed_by);
        if (r < 0)
                return r;
        items = new0(PlanItem, n);
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                OciInstanceState st = oci_instance_state_from_string(cands[i].lifecycle_state);
                SkipReason why = schedule_decide_instance(e->schedule, &cands[i], st, closed_by, NULL);

                items[i].instance_id = cands[i].id;
                items[i].act = why == SKIP_NONE;
                items[i].reason = schedule_skip_reason_text(why, &cands[i], st, closed_by);
                if (!items[i].reason) {
                        plan_items_free(items, i);
                        return -ENOMEM;
                }
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

typedef struct PreviewCtx {
        Scheduler *s;
        uint64_t schedule_id;
        scheduler_preview_t handler;
        void *userdata;
        CalendarResult *instants;
        CalendarQuery *query;
} PreviewCtx;

static void on_preview_occurrences(int error, OccurrenceRow *rows, size_t n_rows, const char *message, void *userdata) {
        PreviewCtx *c = userdata;
        Scheduler *s = c->s;
        ScheduleEntry *e = scheduler_get(s, c->schedule_id);
        PreviewSlot *slots = NULL;
        size_t n = 0;
        SchedulerError err = {};

        if (!e) {
                err = (SchedulerError) { .error = -ENOENT, .kind = SCHEDULER_ERROR_NO_SUCH_SCHEDULE };
                goto finish;
        }
        /* Without the database, skips and delays are unknown: the preview still shows the rest. */
        if (error < 0)
                n_rows = 0;
        slots = new0(PreviewSlot, c->instants->n_instants);
        if (!slots) {
                err = (SchedulerError) { .error = -ENOMEM, .kind = SCHEDULER_ERROR_OTHER };
                goto finish;
        }
        for (size_t i = 0; i < c->instants->n_instants; i++) {
                uint64_t at = c->instants->instants[i];
                const char *reason = NULL;
                PreviewSlot *slot = &slots[n++];
                FiringDecision d = schedule_decide_firing(e->schedule, at, at, &reason);

                slot->at = at;
                slot->run = d == FIRING_RUN;
                for (size_t k = 0; k < n_rows; k++)
                        if (rows[k].scheduled_at == at && rows[k].state == OCCURRENCE_SKIPPED) {
                                slot->run = false;
                                reason = rows[k].reason ?: "Skipped by an operator.";
                        } else if (rows[k].scheduled_at == at && rows[k].delayed_until > 0) {
                                slot->at = rows[k].delayed_until;
                        }
                slot->reason = strdup(slot->run ? "" : strempty(reason));
                if (!slot->reason || scheduler_plan(s, e, slot->at, &slot->items, &slot->n_items) < 0) {
                        err = (SchedulerError) { .error = -ENOMEM, .kind = SCHEDULER_ERROR_OTHER };
                        goto finish;
                }
                if (!slot->run)
                        for (size_t k = 0; k < slot->n_items; k++)
                                if (slot->items[k].act) {
                                        slot->items[k].act = false;
                                        free(slot->items[k].reason);
                                        slot->items[k].reason = strdup("the occurrence does not run");
                                }
        }
finish:
        c->handler(s, err.error < 0 ? &err : NULL, err.error < 0 ? NULL : slots, err.error < 0 ? 0 : n, c->userdata);
        if (err.error < 0)
                preview_slots_free(slots, n);
        occurrence_rows_free(rows, n_rows);
        calendar_result_free(c->instants);
        free(c);
}

static void on_preview_instants(CalendarQuery *q, CalendarResult *result, void *userdata) {
        PreviewCtx *c = userdata;
        OccurrenceFilter f;
        int r;

        c->query = calendar_query_free(c->query);
        if (result->error < 0) {
                SchedulerError e = { .error = result->error, .kind = SCHEDULER_ERROR_OTHER, .message = result->message };
                c->handler(c->s, &e, NULL, 0, c->userdata);
                calendar_result_free(result);
                free(c);
                return;
        }
        c->instants = result;
        /* While the database is away the query would wait in its queue and the caller time out:
         * answer now, without the skips and delays. */
        if (!c->s->manager->db || db_get_state(c->s->manager->db) != DB_CONNECTED)
                return on_preview_occurrences(-ENOTCONN, NULL, 0, NULL, c);
        f = (OccurrenceFilter) { .schedule_id = c->schedule_id, .since = manager_now(),
                                 .state = _OCCURRENCE_STATE_INVALID, .limit = 1000 };
        r = occurrence_store_list(c->s->manager->db, &f, on_preview_occurrences, c);
        if (r < 0)
                on_preview_occurrences(r, NULL, 0, NULL, c);
}

int scheduler_preview(Scheduler *s, ScheduleEntry *e, unsigned n, scheduler_preview_t handler, void *userdata) {
        PreviewCtx *c = new0(PreviewCtx, 1);
        int r;

        if (!c)
                return -ENOMEM;
        *c = (PreviewCtx) { .s = s, .schedule_id = e->schedule->id, .handler = handler, .userdata = userdata };
        r = calendar_next(s->manager->event, e->schedule->calendars, e->schedule->time_zone, manager_now(), n,
                          on_preview_instants, c, NULL);
        if (r < 0)
                free(c);
        return r;
}

/* Simulate: the firings of the schedule (and of its window partner) in [from, to) and each
 * targeted instance's desired state from firing to firing, against always-on. */
typedef struct SimCtx {
        Scheduler *s;
        uint64_t ids[2];
        size_t n_members, done;
        uint64_t from, to;
        CalendarResult *results[2];
        scheduler_simulate_t handler;
        void *userdata;
} SimCtx;

static void sim_ctx_free(SimCtx *c) {
        for (size_t i = 0; i < 2; i++)
                calendar_result_free(c->results[i]);
        free(c);
}

typedef struct SimEvent {
        uint64_t at;
        ScheduleEntry *e;
} SimEvent;

static int compare_sim_events(const void *a, const void *b) {
        const SimEvent *x = a, *y = b;
        return x->at < y->at ? -1 : x->at > y->at;
}

static void sim_finish(SimCtx *c) {
        Scheduler *s = c->s;
        _cleanup_free_ SimEvent *events = NULL;
        _cleanup_free_ ScheduleCandidate *cands = NULL;
        SimulatedFiring *firings = NULL;
        SimulatedHours *hours = NULL;
        bool *running = NULL;
        uint64_t *since = NULL;
        size_t n_events = 0, n_cands = 0, n_firings = 0;
        SchedulerError err = {};
        ScheduleEntry *members[2] = {};

        for (size_t m = 0; m < c->n_members; m++) {
                members[m] = scheduler_get(s, c->ids[m]);
                if (!members[m]) {
                        err = (SchedulerError) { .error = -ENOENT, .kind = SCHEDULER_ERROR_NO_SUCH_SCHEDULE };
                        goto finish;
                }
                n_events += c->results[m]->n_instants;
        }
        events = new0(SimEvent, n_events);
        if (!events)
                goto oom;
        n_events = 0;
        for (size_t m = 0; m < c->n_members; m++)
                for (size_t i = 0; i < c->results[m]->n_instants; i++)
                        events[n_events++] = (SimEvent) { .at = c->results[m]->instants[i], .e = members[m] };
        qsort(events, n_events, sizeof(SimEvent), compare_sim_events);

        if (schedule_resolve(members[0]->schedule, scheduler_inventory(s), &cands, &n_cands) < 0)
                goto oom;
        firings = new0(SimulatedFiring, n_events);
        hours = new0(SimulatedHours, n_cands);
        running = new0(bool, n_cands);
        since = new0(uint64_t, n_cands);
        if (!firings || !hours || !running || !since)
                goto oom;
        /* Each instance starts the range in the state it is in now. */
        for (size_t i = 0; i < n_cands; i++) {
                running[i] = streq_ptr(cands[i].lifecycle_state, "RUNNING") ||
                             streq_ptr(cands[i].lifecycle_state, "STARTING");
                since[i] = c->from;
                hours[i] = (SimulatedHours) { .instance_id = cands[i].id,
                                              .always_on = (double) (c->to - c->from) / USEC_PER_HOUR };
        }
        for (size_t k = 0; k < n_events; k++) {
                Schedule *sch = events[k].e->schedule;
                const char *closed_by = NULL;
                bool up = schedule_action_target_state(sch->action) == OCI_INSTANCE_RUNNING;
                SimulatedFiring *f = &firings[n_firings];

                if (schedule_decide_firing(sch, events[k].at, events[k].at, NULL) != FIRING_RUN)
                        continue;
                (void) schedule_closed_by(sch, s->calendars, s->n_calendars, events[k].at, &closed_by);
                f->at = events[k].at;
                f->action = schedule_action_to_string(sch->action);
                f->instance_ids = new0(const char *, n_cands);
                f->desired = new0(const char *, n_cands);
                if (!f->instance_ids || !f->desired)
                        goto oom;
                n_firings++;
                for (size_t i = 0; i < n_cands; i++) {
                        bool now_up;
                        if (!cands[i].managed || cands[i].override_state != OVERRIDE_NONE ||
                            (closed_by && schedule_action_is_closed_by_calendar(sch->action)))
                                now_up = running[i];
                        else if (sch->action == SCHEDULE_ACTION_REBOOT || sch->action == SCHEDULE_ACTION_SOFTREBOOT)
                                now_up = running[i];
                        else
                                now_up = up;
                        if (running[i] && !now_up)
                                hours[i].running += (double) (events[k].at - since[i]) / USEC_PER_HOUR;
                        if (!running[i] && now_up)
                                since[i] = events[k].at;
                        running[i] = now_up;
                        f->instance_ids[f->n] = cands[i].id;
                        f->desired[f->n] = now_up ? "RUNNING" : "STOPPED";
                        f->n++;
                }
        }
        for (size_t i = 0; i < n_cands; i++)
                if (running[i])
                        hours[i].running += (double) (c->to - since[i]) / USEC_PER_HOUR;
        goto finish;
oom:
        err = (SchedulerError) { .error = -ENOMEM, .kind = SCHEDULER_ERROR_OTHER };
finish:
        c->handler(s, err.error < 0 ? &err : NULL, firings, n_firings, hours, err.error < 0 ? 0 : n_cands, c->userdata);
        for (size_t k = 0; firings && k < n_events; k++) {
                free(firings[k].instance_ids);
                free(firings[k].desired);
        }
        free(firings);
        free(hours);
        free(running);
        free(since);
        sim_ctx_free(c);
}

static void sim_next(SimCtx *c);

static void on_sim_range(CalendarQuery *q, CalendarResult *result, void *userdata) {
        SimCtx *c = userdata;

        if (result->error < 0) {
                SchedulerError e = { .error = result->error,
                                     .kind = result->error == -E2BIG ? SCHEDULER_ERROR_INVALID_CONFIG : SCHEDULER_ERROR_OTHER,
                                     .message = result->message };
                c->handler(c->s, &e, NULL, 0, NULL, 0, c->userdata);
                calendar_result_free(result);
                sim_ctx_free(c);
                return;
        }
        c->results[c->done++] = result;
        sim_next(c);
}

/* The members' ranges one after the other (a window has two), then the simulation. */
static void sim_next(SimCtx *c) {
        ScheduleEntry *e;
        int r;

        if (c->done == c->n_members)
                return sim_finish(c);
        e = scheduler_get(c->s, c->ids[c->done]);
        r = e ? calendar_range(c->s->manager->event, e->schedule->calendars, e->schedule->time_zone, c->from, c->to,
                               on_sim_range, c, NULL)
              : -ENOENT;
        if (r < 0) {
                SchedulerError err = { .error = r, .kind = e ? SCHEDULER_ERROR_OTHER : SCHEDULER_ERROR_NO_SUCH_SCHEDULE };
                c->handler(c->s, &err, NULL, 0, NULL, 0, c->userdata);
                sim_ctx_free(c);
        }
}

int scheduler_simulate(Scheduler *s, ScheduleEntry *e, uint64_t from, uint64_t to, scheduler_simulate_t handler,
                       void *userdata) {
        ScheduleEntry *members[2];
        SimCtx *c = new0(SimCtx, 1);

        if (!c)
                return -ENOMEM;
        *c = (SimCtx) { .s = s, .from = from, .to = to, .handler = handler, .userdata = userdata };
        c->n_members = scheduler_window_members(s, e, members);
        for (size_t i = 0; i < c->n_members; i++)
                c->ids[i] = members[i]->schedule->id;
        sim_next(c);
        return 0;
}

/* ---- skip, delay ------------------------------------------------------------------------------------ */

typedef struct SkipCtx {
        Scheduler *s;
        uint64_t schedule_id, at, by;
        bool delay;
        uid_t uid;
        scheduler_done_t handler;
        void *userdata;
} SkipCtx;

static void on_skip_stored(int error, OccurrenceRow *rows, size_t n, const char *message, void *userdata) {
        SkipCtx *c = userdata;

        if (error < 0) {
                _cleanup_free_ char *msg = NULL;
                if (error == -EBUSY)
                        msg = strdup("That occurrence is not pending any more (skipped, missed, running or done).");
                fail(c->s, c->handler, c->userdata, error, store_error_kind(error), msg ?: message);
        } else {
                if (c->delay && n == 1 && arm_delayed(c->s, rows[0].id, c->schedule_id, c->at + c->by) < 0)
                        log_warning("Could not arm the delayed occurrence.");
                if (c->handler)
                        c->handler(c->s, NULL, c->userdata);
        }
        occurrence_rows_free(rows, n);
        free(c);
}

static void skip_store(SkipCtx *c) {
        _cleanup_free_ char *actor_buf = NULL;
        StoreActor actor = scheduler_actor(c->uid, &actor_buf);
        int r;

        if (c->delay)
                r = occurrence_store_delay(c->s->manager->db, c->schedule_id, c->at, c->at + c->by, &actor,
                                           on_skip_stored, c);
        else
                r = occurrence_store_skip(c->s->manager->db, c->schedule_id, c->at, "Skipped by an operator.", &actor,
                                          on_skip_stored, c);
        if (r < 0) {
                fail(c->s, c->handler, c->userdata, r, SCHEDULER_ERROR_DATABASE, NULL);
                free(c);
        }
}

static void on_skip_next(CalendarQuery *q, CalendarResult *result, void *userdata) {
        SkipCtx *c = userdata;
        _cleanup_(calendar_result_freep) CalendarResult *res = result;

        /* systemd's engine gives up on some far instants (9999-12-31): no occurrence there either. */
        if (res->error < 0 && c->at > 0) {
                _cleanup_free_ char *msg = strprintf("The schedule has no occurrence at that time (%s).",
                                                     strna(res->message));
                fail(c->s, c->handler, c->userdata, res->error, SCHEDULER_ERROR_INVALID_CONFIG,
                     msg ?: "The schedule has no occurrence at that time.");
                free(c);
                return;
        }
        if (res->error < 0 || (res->n_instants == 0 && c->at == 0)) {
                fail(c->s, c->handler, c->userdata, res->error < 0 ? res->error : -ENOENT, SCHEDULER_ERROR_INVALID_CONFIG,
                     res->error < 0 ? res->message : "The schedule has no coming occurrence.");
                free(c);
                return;
        }
        /* An instant given must be one of the schedule's: anything else would record an
         * occurrence that can never come (and skip nothing). */
        if (c->at > 0 && (res->n_instants == 0 || res->instants[0] != c->at)) {
                char when[TIMESTAMP_MAX];
                _cleanup_free_ char *msg = NULL;

                if (res->n_instants > 0)
                        msg = strprintf("The schedule has no occurrence at that time (the next one after it is %s).",
                                        format_timestamp(when, sizeof when, res->instants[0]));
                fail(c->s, c->handler, c->userdata, -ENOENT, SCHEDULER_ERROR_INVALID_CONFIG,
                     msg ?: "The schedule has no occurrence at that time.");
                free(c);
                return;
        }
        c->at = res->instants[0];
        skip_store(c);
}

static int skip_or_delay(Scheduler *s, ScheduleEntry *e, uint64_t at, uint64_t by, bool delay, uid_t uid,
                         scheduler_done_t handler, void *userdata) {
        SkipCtx *c = new0(SkipCtx, 1);
        int r;

        if (!c)
                return -ENOMEM;
        *c = (SkipCtx) { .s = s, .schedule_id = e->schedule->id, .at = at, .by = by, .delay = delay, .uid = uid,
                         .handler = handler, .userdata = userdata };
        /* The next instant, or (strictly after at - 1µs) whether at is one. */
        r = calendar_next(s->manager->event, e->schedule->calendars, e->schedule->time_zone,
                          at > 0 ? at - 1 : manager_now(), 1, on_skip_next, c, NULL);
        if (r < 0)
                free(c);
        return r;
}

int scheduler_skip(Scheduler *s, ScheduleEntry *e, uint64_t at, uid_t uid, scheduler_done_t handler, void *userdata) {
        return skip_or_delay(s, e, at, 0, false, uid, handler, userdata);
}

int scheduler_delay(Scheduler *s, ScheduleEntry *e, uint64_t at, uint64_t by, uid_t uid, scheduler_done_t handler,
                    void *userdata) {
        return skip_or_delay(s, e, at, by, true, uid, handler, userdata);
}

/* ---- the instances' view ---------------------------------------------------------------------------- */

int scheduler_schedules_of(Scheduler *s, Instance *i, ScheduleEntry ***ret, size_t *ret_n) {
        ScheduleCandidate c;
        ScheduleEntry **l;
        size_t n = 0;

        candidate_of(i, manager_now(), &c);
        l = new0(ScheduleEntry *, s->n_entries + 1);
        if (!l)
                return -ENOMEM;
        for (size_t k = 0; k < s->n_entries; k++) {
                Schedule *sch = s->entries[k]->schedule;
                for (size_t t = 0; t < sch->n_targets; t++)
                        if (schedule_target_matches(&sch->targets[t], &c, scheduler_inventory(s))) {
                                l[n++] = s->entries[k];
                                break;
                        }
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

size_t scheduler_target_count(Scheduler *s, ScheduleEntry *e) {
        _cleanup_free_ ScheduleCandidate *c = NULL;
        size_t n = 0;

        if (schedule_resolve(e->schedule, scheduler_inventory(s), &c, &n) < 0)
                return 0;
        return n;
}

char **scheduler_targets_text(Scheduler *s, ScheduleEntry *e) {
        char **l = NULL;
        if (schedule_targets_to_strv(e->schedule, &l) < 0)
                return NULL;
        return l;
}

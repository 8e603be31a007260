/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Firings: a timer's firing or Fire() decided (misfire grace, disabled, skipped, delayed) and
 * recorded as the occurrence row keyed by (schedule, instant), so that each runs exactly once
 * whatever daemon and however often it is asked; firings waiting for the database, delayed
 * occurrences on timers of ours, unfinished ones resumed by the leader; Skip() and Delay(). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "leader.h"
#include "log.h"
#include "manager.h"
#include "scheduler-internal.h"
#include "strv.h"
#include "time-util.h"

/* ---- firings: decided, recorded, executed ----------------------------------------------------------- */

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
                err = (SchedulerError) { .error = error < 0 ? error : -EBADMSG,
                                         .kind = scheduler_store_error_kind(error), .message = message };
                goto finish;
        }
        if (!rows[0].created && !c->manual && c->replayed && rows[0].state == OCCURRENCE_RUNNING && e &&
            !scheduler_executing(s, rows[0].id)) {
                /* The first attempt was committed but its answer lost with the connection. */
                log_info("Schedule %s: the firing at %" PRIu64 " was recorded before the connection broke; running it.",
                         e->schedule->name, c->instant);
                if (scheduler_start_occurrence(s, e, &rows[0], (uid_t) -1, NULL, NULL) < 0)
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
        r = scheduler_start_occurrence(s, e, &rows[0], c->uid, on_fire_started, c);
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

void scheduler_timer_fired(Scheduler *s, ScheduleEntry *e, const Pid1Firing *firing) {
        int r;

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

/* ---- delayed and unfinished occurrences ------------------------------------------------------------- */

/* Delayed occurrences run at their new time from a timer of ours. */
typedef struct DelayedRun {
        Scheduler *s;
        uint64_t occurrence_id, schedule_id;
} DelayedRun;

static void on_claimed(int error, OccurrenceRow *rows, size_t n, const char *message, void *userdata) {
        DelayedRun *d = userdata;
        ScheduleEntry *e = scheduler_get(d->s, d->schedule_id);

        if (error >= 0 && n == 1 && e && scheduler_start_occurrence(d->s, e, &rows[0], (uid_t) -1, NULL, NULL) < 0)
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
                if (scheduler_executing(s, rows[i].id))
                        continue;   /* reconnected: this one never stopped; or another daemon recorded a firing */
                log_info("Resuming occurrence %" PRIu64 " of schedule %s.", rows[i].id, e->schedule->name);
                if (scheduler_start_occurrence(s, e, &rows[i], (uid_t) -1, NULL, NULL) < 0)
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
        scheduler_abandon_executions(s);
        for (size_t i = 0; i < s->n_delay_timers; i++)
                sd_event_source_disable_unref(s->delay_timers[i]);
        s->n_delay_timers = 0;
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
                scheduler_fail(c->s, c->handler, c->userdata, error, scheduler_store_error_kind(error), msg ?: message);
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
                scheduler_fail(c->s, c->handler, c->userdata, r, SCHEDULER_ERROR_DATABASE, NULL);
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
                scheduler_fail(c->s, c->handler, c->userdata, res->error, SCHEDULER_ERROR_INVALID_CONFIG,
                               msg ?: "The schedule has no occurrence at that time.");
                free(c);
                return;
        }
        if (res->error < 0 || (res->n_instants == 0 && c->at == 0)) {
                scheduler_fail(c->s, c->handler, c->userdata, res->error < 0 ? res->error : -ENOENT,
                               SCHEDULER_ERROR_INVALID_CONFIG,
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
                scheduler_fail(c->s, c->handler, c->userdata, -ENOENT, SCHEDULER_ERROR_INVALID_CONFIG,
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The operator's changes to schedules: create and update (checked by the model and by systemd's
 * calendar engine, then stored; a new schedule is kept only once systemd has its timer), enable
 * and disable (enabling asks systemd for the timers first), delete; each applied to memory and
 * the timers once stored. A schedule with a change in flight refuses a second one (Busy). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "log.h"
#include "manager.h"
#include "scheduler-internal.h"
#include "strv.h"

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

/* What the caller hears of a timer systemd refused, with then appended. */
static char *timer_refusal(Pid1 *p, const char *schedule, int error, const char *message, const char *then) {
        const char *why = message ?: strerror(-error);
        size_t l = strlen(why);

        /* systemd's messages end with a full stop; ours goes on. */
        return strprintf("systemd (%s) refused the timer of schedule \"%s\": %.*s%s", pid1_get_description(p),
                         schedule, (int) (l > 0 && why[l - 1] == '.' ? l - 1 : l), why, then);
}

/* Once the refused creation's timers are gone, its rows are taken back. */
static void on_refused_timer_removed(Pid1 *p, const char *id, int error, const char *message, void *userdata) {
        ChangeCtx *c = userdata;
        _cleanup_free_ char *actor_buf = NULL;
        StoreActor actor;
        int r;

        if (error == -ECANCELED)
                c->timers_cancelled = true;     /* the client is going away: touch nothing more */
        else if (error < 0 && error != -ENOTCONN)
                log_warning("Could not remove the timer of refused schedule %s: %s", strna(id),
                            message ?: strerror(-error));
        if (--c->timers_pending > 0)
                return;
        if (c->timers_cancelled)
                return change_fail(c, -ECANCELED, SCHEDULER_ERROR_OTHER,
                                   "The daemon is stopping: the schedule stays stored and its timer is "
                                   "asked for again at the next start.");
        actor = scheduler_actor(c->uid, &actor_buf);
        r = schedule_store_retract(c->s->manager->db, c->ids, c->n, c->timer_message, &actor, on_retracted, c);
        if (r < 0)
                on_retracted(r, NULL, 0, NULL, c);
}

static void on_create_timer(Pid1 *p, const char *id, int error, const char *message, void *userdata) {
        ChangeCtx *c = userdata;
        Scheduler *s = c->s;
        int r;

        /* Away (-ENOTCONN): kept as desired, created when the manager is back; not a refusal.
         * Cancelled: the client is going away (pid1_free() calls us from inside), touch nothing. */
        if (error == -ECANCELED)
                c->timers_cancelled = true;
        else if (error < 0 && error != -ENOTCONN && c->timer_error == 0) {
                const char *name = "?";
                for (size_t i = 0; i < c->n; i++)
                        if (c->schedules[i] && c->ids[i] == strtoull(strempty(id), NULL, 10))
                                name = c->schedules[i]->name;
                c->timer_error = error;
                c->timer_message = timer_refusal(p, name, error, message, "");
        }
        if (--c->timers_pending > 0)
                return;
        if (c->timers_cancelled)
                return change_fail(c, -ECANCELED, SCHEDULER_ERROR_OTHER,
                                   "The daemon is stopping; the schedule is stored and gets its timer at the next start.");
        if (c->timer_error == 0)
                return change_apply(c, c->ids, c->n);

        log_warning("%s", strna(c->timer_message));
        /* The timers systemd did create (a window's other half) go first: when the caller hears
         * "nothing was stored", no timer of it is left either. */
        c->timers_pending = 1;
        for (size_t i = 0; i < c->n; i++) {
                char tid[24];
                snprintf(tid, sizeof tid, "%" PRIu64, c->ids[i]);
                c->timers_pending++;
                r = pid1_timer_remove(s->pid1, tid, on_refused_timer_removed, c);
                if (r < 0)
                        on_refused_timer_removed(s->pid1, tid, r, NULL, c);
        }
        on_refused_timer_removed(s->pid1, NULL, 0, NULL, c);
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
                return change_fail(c, error < 0 ? error : -EBADMSG, scheduler_store_error_kind(error), message);
        }
        if (c->create && s->pid1)
                return create_timers(c, ids, n);
        change_apply(c, ids, n);
}

/* The stored schedules become entries (announced), their timers follow; the caller is answered. */
static void change_apply(ChangeCtx *c, const uint64_t *ids, size_t n) {
        Scheduler *s = c->s;

        s->changes++;
        for (size_t i = 0; i < n; i++) {
                Schedule *sch = TAKE_PTR(c->schedules[i]);
                ScheduleEntry *e;

                sch->id = ids[i];
                e = scheduler_get(s, ids[i]);
                if (e)
                        schedule_entry_replace(e, sch);
                else if (scheduler_add_entry(s, sch, &e) < 0) {
                        log_oom();
                        continue;
                } else {
                        /* A timer created before its entry (create_timers()) reported its times then. */
                        if (s->pid1)
                                (void) pid1_timer_get(s->pid1, e->timer_id, &e->timer);
                        schedule_entry_mark_changed(e, SCHEDULE_PROP_ADDED);
                }
                schedule_entry_sync_timer(s, e);
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
                        scheduler_drop_timer(s, e->timer_id);
        }
}

static void on_enabled_stored(int error, Schedule **schedules, size_t n, const char *message, void *userdata) {
        SimpleCtx *c = userdata;
        Scheduler *s = c->s;

        simple_writes_end(c);
        if (error < 0) {
                enable_drop_timers(c);
                scheduler_fail(s, c->handler, c->userdata, error, scheduler_store_error_kind(error), message);
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
                schedule_entry_replace(e, schedules[i]);
                schedule_entry_sync_timer(s, e);
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

                for (size_t i = 0; i < c->n && !e; i++)
                        if (streq_ptr(scheduler_get(s, c->ids[i]) ? scheduler_get(s, c->ids[i])->timer_id : NULL, id))
                                e = scheduler_get(s, c->ids[i]);
                c->timer_error = error;
                c->timer_message = timer_refusal(p, e ? e->schedule->name : "?", error, message,
                                                 "; it stays disabled.");
        }
        if (--c->timers_pending > 0)
                return;
        if (c->timers_cancelled || c->timer_error < 0) {
                if (!c->timers_cancelled) {
                        log_warning("%s", strna(c->timer_message));
                        enable_drop_timers(c);
                }
                simple_writes_end(c);
                scheduler_fail(s, c->handler, c->userdata, c->timers_cancelled ? -ECANCELED : c->timer_error,
                               c->timer_error == -EINVAL ? SCHEDULER_ERROR_INVALID_CALENDAR : SCHEDULER_ERROR_OTHER,
                               c->timers_cancelled ? "The daemon is stopping." : c->timer_message);
                simple_ctx_free(c);
                return;
        }
        r = enable_store(c);
        if (r < 0) {
                enable_drop_timers(c);
                simple_writes_end(c);
                scheduler_fail(s, c->handler, c->userdata, r, SCHEDULER_ERROR_DATABASE, NULL);
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
                scheduler_fail(s, c->handler, c->userdata, error, scheduler_store_error_kind(error), message);
                free(c);
                return;
        }
        s->changes++;
        for (size_t i = 0; i < c->n; i++) {
                ScheduleEntry *e = scheduler_get(s, c->ids[i]);
                if (e)
                        scheduler_remove_entry(s, e);
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

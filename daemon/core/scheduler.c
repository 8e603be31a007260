/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scheduler object and its registry: the schedules (ScheduleEntry, one bus object each) and
 * exception calendars in memory, loaded from the database and merged on every load; the helpers
 * the other scheduler-*.c files share (scheduler-internal.h); the instances' view of them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "instance.h"
#include "instance-schedules.h"
#include "log.h"
#include "manager.h"
#include "schedule-inventory.h"
#include "scheduler-internal.h"
#include "strv.h"
#include "time-util.h"

/* The model reads the Manager's maps (schedule-inventory.h), with the overrides live now. */
const ScheduleInventory *scheduler_inventory(Scheduler *s) {
        manager_inventory_init(&s->mi, s->manager, manager_now());
        return &s->mi.inventory;
}

/* ---- lifecycle ------------------------------------------------------------------------------------- */

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

void schedule_entry_mark_changed(ScheduleEntry *e, uint32_t props) {
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
        scheduler_free_executions(s);
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

void scheduler_fail(Scheduler *s, scheduler_done_t handler, void *userdata, int error, SchedulerErrorKind kind,
                    const char *message) {
        SchedulerError e = { .error = error, .kind = kind, .message = message };
        if (handler)
                handler(s, &e, userdata);
}

SchedulerErrorKind scheduler_store_error_kind(int error) {
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

int scheduler_add_entry(Scheduler *s, Schedule *schedule, ScheduleEntry **ret) {
        ScheduleEntry *e;
        int r;

        r = entry_new(s, schedule, &e);
        if (r < 0) {
                schedule_free(schedule);
                return r;
        }
        r = entries_add(s, e);
        if (r < 0) {
                entry_free(e);
                return r;
        }
        *ret = e;
        return 0;
}

void scheduler_remove_entry(Scheduler *s, ScheduleEntry *e) {
        scheduler_drop_timer(s, e->timer_id);
        schedule_entry_mark_changed(e, SCHEDULE_PROP_REMOVED);
        entries_remove(s, e);
        entry_free(e);
}

void schedule_entry_replace(ScheduleEntry *e, Schedule *schedule) {
        schedule_free(e->schedule);
        e->schedule = schedule;
        schedule_entry_mark_changed(e, SCHEDULE_PROP_ALL);
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

static void on_schedules_loaded(int error, Schedule **schedules, size_t n, const char *message, void *userdata);

static void on_calendars_loaded(int error, ExceptionCalendar **calendars, size_t n, const char *message,
                                void *userdata) {
        LoadCtx *c = userdata;
        Scheduler *s = c->s;
        bool first = !s->loaded;
        int r;

        if (error < 0) {
                log_warning("Could not load the exception calendars: %s", message ?: strerror(-error));
                scheduler_fail(s, c->handler, c->userdata, error, SCHEDULER_ERROR_DATABASE, message);
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
                        scheduler_fail(s, c->handler, c->userdata, r, SCHEDULER_ERROR_DATABASE, NULL);
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
                scheduler_remove_entry(s, e);
        }
        for (size_t k = 0; k < c->n_schedules; k++) {
                Schedule *sch = TAKE_PTR(c->schedules[k]);
                ScheduleEntry *e = scheduler_get(s, sch->id);
                if (e)
                        schedule_entry_replace(e, sch);
                else if (scheduler_add_entry(s, sch, &e) < 0)
                        log_oom();
                else if (!first)
                        schedule_entry_mark_changed(e, SCHEDULE_PROP_ADDED);
        }
        s->loaded = true;

        r = scheduler_start_pid1(s);
        if (r < 0)
                log_warning_errno(r, "Could not set up the systemd manager client (%s): %m", s->manager->config->systemd.bus);
        for (size_t i = 0; i < s->n_entries; i++)
                schedule_entry_sync_timer(s, s->entries[i]);
        if (first)
                scheduler_resume(s);

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
                scheduler_fail(c->s, c->handler, c->userdata, error, SCHEDULER_ERROR_DATABASE, message);
                load_ctx_free(c);
                return;
        }
        c->schedules = schedules;
        c->n_schedules = n;
        r = calendar_store_load(c->s->manager->db, on_calendars_loaded, c);
        if (r < 0) {
                scheduler_fail(c->s, c->handler, c->userdata, r, SCHEDULER_ERROR_DATABASE, NULL);
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

/* ---- the instances' view ---------------------------------------------------------------------------- */

int scheduler_schedules_of(Scheduler *s, Instance *i, ScheduleEntry ***ret, size_t *ret_n) {
        ScheduleCandidate c;
        ScheduleEntry **l;
        size_t n = 0;

        schedule_candidate_identify(i, &c);
        schedule_candidate_configure(i, manager_now(), &c);
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's schedules at run time (issue 10): the set loaded from the database and kept in
 * memory, each enabled one backed by a transient timer on the systemd manager (daemon/pid1/),
 * firings turned into occurrence decisions and those into executor jobs. Every change goes
 * through here: validated by the model (schedule.h) and by systemd's calendar engine, stored
 * (store/schedule-store.h), then applied to memory and to the timers, and announced on the bus
 * (schedule-dbus.h). All operations are asynchronous; each handler runs exactly once. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "exception-calendar.h"
#include "macro.h"
#include "pid1-timer.h"
#include "schedule-inventory.h"
#include "schedule-store.h"
#include "schedule.h"

typedef struct Manager Manager;
typedef struct Scheduler Scheduler;
typedef struct Instance Instance;

/* What changed of a schedule object (announced by the bus layer). */
typedef enum ScheduleProp {
        SCHEDULE_PROP_TIMER = 1U << 0,          /* NextElapse, LastTrigger */
        SCHEDULE_PROP_ALL   = 1U << 1,          /* everything that can change */
        SCHEDULE_PROP_ADDED   = 1U << 30,       /* the object is new */
        SCHEDULE_PROP_REMOVED = 1U << 31,       /* the object goes away */
} ScheduleProp;

typedef struct ScheduleEntry {
        Scheduler *scheduler;
        Schedule *schedule;
        char *bus_path;                 /* /org/stopstart/StopStart1/schedule/<id> */
        char *timer_id;                 /* "<id>", the pid1 timer's id */
        Pid1TimerInfo timer;            /* NextElapse, LastTrigger as the manager reports them */
        unsigned n_writes;              /* changes in flight: a second one is refused (Busy) */
} ScheduleEntry;

typedef struct PendingFiring {
        uint64_t schedule_id;
        uint64_t instant;
} PendingFiring;

struct Scheduler {
        Manager *manager;
        Pid1 *pid1;
        ScheduleEntry **entries;        /* sorted by id */
        size_t n_entries;
        ExceptionCalendar **calendars;  /* sorted by name */
        size_t n_calendars;
        ManagerInventory mi;            /* scheduler_inventory() */
        char *default_zone;
        bool loaded;
        unsigned n_loads;
        uint64_t changes;               /* changes applied from this daemon's own writes */
        sd_event_source **delay_timers; /* one per delayed occurrence */
        size_t n_delay_timers;
        struct Execution **executions;  /* occurrences being executed */
        size_t n_executions;
        PendingFiring *pending_firings; /* timer firings waiting for the database */
        size_t n_pending_firings;
};

/* Why an operation failed: a negative errno and a one-line message (may be NULL). The bus
 * layer maps these: -EINVAL + kind names the error precisely (see SchedulerError). */
typedef enum SchedulerErrorKind {
        SCHEDULER_ERROR_NONE,
        SCHEDULER_ERROR_INVALID_CALENDAR,
        SCHEDULER_ERROR_INVALID_TARGET,
        SCHEDULER_ERROR_INVALID_CONFIG,
        SCHEDULER_ERROR_NO_SUCH_SCHEDULE,
        SCHEDULER_ERROR_NO_SUCH_CALENDAR,
        SCHEDULER_ERROR_TOO_MANY_TARGETS,
        SCHEDULER_ERROR_BUSY,
        SCHEDULER_ERROR_DATABASE,
        SCHEDULER_ERROR_OTHER,
} SchedulerErrorKind;

typedef struct SchedulerError {
        int error;
        SchedulerErrorKind kind;
        const char *message;
} SchedulerError;

typedef void (*scheduler_done_t)(Scheduler *s, const SchedulerError *e, void *userdata);

int scheduler_new(Manager *m, Scheduler **ret);
Scheduler *scheduler_free(Scheduler *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Scheduler*, scheduler_free);

/* Loads schedules and calendars from the database and (re)declares every timer; starts the
 * systemd manager client on the first call. Also what Reload() and a database reconnection
 * call. handler may be NULL. */
int scheduler_load(Scheduler *s, scheduler_done_t handler, void *userdata);
/* Reconciles every timer with the systemd manager now (Reload()). */
int scheduler_reconcile(Scheduler *s);
/* The database is back after an outage: firings that waited are recorded (and decided) now,
 * occurrences left running resume. */
void scheduler_database_back(Scheduler *s);
/* The leader's part (leader.h): executes the occurrences recorded unfinished (running ones
 * resumed from their action rows, pending ones at their time); those executing here already
 * are left alone. Only on the leader; the first load does it by itself. */
void scheduler_resume(Scheduler *s);
/* Stops executing (the daemon no longer leads): runs and delay timers are dropped without a
 * write, their rows stay for the next leader. */
void scheduler_abandon(Scheduler *s);

ScheduleEntry *scheduler_get(Scheduler *s, uint64_t id);
/* By name, or by id in decimal. */
ScheduleEntry *scheduler_find(Scheduler *s, const char *name_or_id);
ExceptionCalendar *scheduler_get_calendar(Scheduler *s, const char *name);
/* The zone of a schedule that names none: the host's. */
const char *scheduler_default_zone(Scheduler *s);

/* Creates schedules (one, or a window's two: up first). Each is checked by the model, its specs
 * by systemd; then stored, added, its timer declared, announced. ret_ids in the handler order. */
typedef void (*scheduler_created_t)(Scheduler *s, const SchedulerError *e, const uint64_t *ids, size_t n,
                                    void *userdata);
int scheduler_create(Scheduler *s, Schedule **schedules, size_t n, uid_t uid, scheduler_created_t handler,
                     void *userdata);
/* Replaces schedule(s) by updated copies (same ids). Takes ownership of updated. */
int scheduler_update(Scheduler *s, Schedule **updated, size_t n, uid_t uid, scheduler_done_t handler,
                     void *userdata);
/* The entry and its window partner, if any (both when a window): ret[0..n). */
size_t scheduler_window_members(Scheduler *s, ScheduleEntry *e, ScheduleEntry *ret[static 2]);
int scheduler_set_enabled(Scheduler *s, ScheduleEntry *e, bool enabled, uid_t uid, scheduler_done_t handler,
                          void *userdata);
int scheduler_delete(Scheduler *s, ScheduleEntry *e, uid_t uid, scheduler_done_t handler, void *userdata);

/* Exception calendars. */
int scheduler_calendar_change(Scheduler *s, const char *name, char * const *entries, bool add, uid_t uid,
                              scheduler_done_t handler, void *userdata);
int scheduler_calendar_remove(Scheduler *s, const char *name, uid_t uid, scheduler_done_t handler, void *userdata);

/* What a firing at instant would do to each instance targeted now. */
typedef struct PlanItem {
        const char *instance_id;        /* the inventory's */
        bool act;
        char *reason;                   /* allocated; "" when acting */
} PlanItem;
void plan_items_free(PlanItem *p, size_t n);

typedef struct PreviewSlot {
        uint64_t at;
        bool run;
        char *reason;                   /* why it does not run, "" otherwise */
        PlanItem *items;
        size_t n_items;
} PreviewSlot;
void preview_slots_free(PreviewSlot *p, size_t n);

typedef void (*scheduler_preview_t)(Scheduler *s, const SchedulerError *e, PreviewSlot *slots, size_t n,
                                    void *userdata);
int scheduler_preview(Scheduler *s, ScheduleEntry *e, unsigned n, scheduler_preview_t handler, void *userdata);

typedef struct SimulatedFiring {
        uint64_t at;
        const char *action;             /* static */
        const char **instance_ids;      /* the inventory's */
        const char **desired;           /* "RUNNING" or "STOPPED", static */
        size_t n;
} SimulatedFiring;
typedef struct SimulatedHours {
        const char *instance_id;
        double running, always_on;
} SimulatedHours;
typedef void (*scheduler_simulate_t)(Scheduler *s, const SchedulerError *e, SimulatedFiring *firings, size_t n_firings,
                                     SimulatedHours *hours, size_t n_hours, void *userdata);
int scheduler_simulate(Scheduler *s, ScheduleEntry *e, uint64_t from, uint64_t to, scheduler_simulate_t handler,
                       void *userdata);

/* The plan for a firing now (Fire's dry run and reply). */
int scheduler_plan(Scheduler *s, ScheduleEntry *e, uint64_t instant, PlanItem **ret, size_t *ret_n);

/* Fire(): an occurrence for now, run at once (not a dry run). The handler gets the job's id. */
typedef void (*scheduler_fired_t)(Scheduler *s, const SchedulerError *e, uint32_t job_id, void *userdata);
int scheduler_fire(Scheduler *s, ScheduleEntry *e, uid_t uid, scheduler_fired_t handler, void *userdata);
/* Skip(at)/Delay(at, by); at == 0: the next elapse. */
int scheduler_skip(Scheduler *s, ScheduleEntry *e, uint64_t at, uid_t uid, scheduler_done_t handler, void *userdata);
int scheduler_delay(Scheduler *s, ScheduleEntry *e, uint64_t at, uint64_t by, uid_t uid, scheduler_done_t handler,
                    void *userdata);

/* The instances' view for Instance.Schedules/NextAction/Explain: the entries whose targets
 * include instance i now (ret is allocated, NULL-terminated). */
int scheduler_schedules_of(Scheduler *s, Instance *i, ScheduleEntry ***ret, size_t *ret_n);
/* Instances the schedule's targets resolve to now. */
size_t scheduler_target_count(Scheduler *s, ScheduleEntry *e);
/* The targets as text (canonical form), NULL-terminated. */
char **scheduler_targets_text(Scheduler *s, ScheduleEntry *e);

/* The inventory as the model reads it, with the overrides live now. */
const ScheduleInventory *scheduler_inventory(Scheduler *s);

/* The store's actor for uid. */
StoreActor scheduler_actor(uid_t uid, char **buf);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the scheduler's files (scheduler.c: the object, its schedules and calendars in
 * memory, loading; -timers: the transient timers on the systemd manager; -firing: firings into
 * occurrence rows, waiting and delayed ones, Skip/Delay; -execution: an occurrence run as a job;
 * -change: create, update, enable, delete; -calendars: exception calendars' changes; -preview:
 * plans, previews, simulations); not part of scheduler.h's API. */

#include "scheduler.h"

/* ---- scheduler.c -------------------------------------------------------------------------------- */

/* Answers handler (if any) with the error. */
void scheduler_fail(Scheduler *s, scheduler_done_t handler, void *userdata, int error, SchedulerErrorKind kind,
                    const char *message);
/* A store error as the bus should see it. */
SchedulerErrorKind scheduler_store_error_kind(int error);

/* A stored schedule becomes an entry (not announced); the schedule is the entry's, also on failure. */
int scheduler_add_entry(Scheduler *s, Schedule *schedule, ScheduleEntry **ret);
/* The entry's timer goes, its removal is announced, the entry is freed. */
void scheduler_remove_entry(Scheduler *s, ScheduleEntry *e);
/* The entry takes the updated model (same id; the object stays) and announces it. */
void schedule_entry_replace(ScheduleEntry *e, Schedule *schedule);
/* The instances' Schedules/NextAction follow every change; the bus layer announces it. */
void schedule_entry_mark_changed(ScheduleEntry *e, uint32_t props);

/* ---- scheduler-timers.c ------------------------------------------------------------------------- */

/* Starts the systemd manager client (once). */
int scheduler_start_pid1(Scheduler *s);
/* The timer follows the schedule: declared while enabled, removed otherwise. */
void schedule_entry_sync_timer(Scheduler *s, ScheduleEntry *e);
/* Removes timer timer_id, if there is a manager client. */
void scheduler_drop_timer(Scheduler *s, const char *timer_id);

/* ---- scheduler-firing.c ------------------------------------------------------------------------- */

/* The timer of entry e fired: the firing is decided and recorded (or waits for the database). */
void scheduler_timer_fired(Scheduler *s, ScheduleEntry *e, const Pid1Firing *firing);

/* ---- scheduler-execution.c ---------------------------------------------------------------------- */

typedef void (*execution_started_t)(Scheduler *s, int error, uint32_t job_id, void *userdata);

/* Executes (or resumes) occurrence row of entry e as a job; started gets the job's id. Takes the
 * row's content (the caller's row is left empty). -EALREADY if it is executing here already. */
int scheduler_start_occurrence(Scheduler *s, ScheduleEntry *e, OccurrenceRow *row, uid_t uid,
                               execution_started_t started, void *userdata);
bool scheduler_executing(Scheduler *s, uint64_t occurrence_id);
/* No longer leading: the runs whose jobs exist are dropped without a write (their rows stay). */
void scheduler_abandon_executions(Scheduler *s);
void scheduler_free_executions(Scheduler *s);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The occurrence executor (issue 10): one firing of a schedule acted out on its resolved targets,
 * exactly once per (occurrence, instance, action).
 *
 *  1. If the schedule's max_targets is exceeded, the occurrence fails and acts on nothing.
 *  2. Fresh lifecycle states: ListInstances per compartment where several targets share one (pages,
 *     not one GetInstance per instance), GetInstance for the others. Never acts on stale data.
 *  3. Decisions (schedule.h): skipped instances get an action row in state skipped with the reason;
 *     the others a pending row with the retry token derived from the row's key. All rows are
 *     inserted in one statement BEFORE any InstanceAction is sent.
 *  4. Priority groups, lower first, each finished before the next starts; within a group at most
 *     max_parallel InstanceActions in flight (and the OCI client's rate limit). Each row: sent,
 *     InstanceAction with its token, confirmed (accepted) or failed with OCI's error; 409
 *     IncorrectState re-reads the state (already there: skipped) and retries with backoff.
 *  5. Accepted actions are followed to the target state by polling in bulk; a SOFTSTOP (SOFTRESET)
 *     still under way after the instance's effective soft_stop_timeout gets a STOP (RESET) row of
 *     its own; past the deadline the row fails. One failing instance never blocks the others.
 *  6. The occurrence ends done, or failed when an action failed.
 *
 * Resuming after a crash: start the run with the occurrence row as read by
 * occurrence_store_unfinished() (its actions included). Every instance that has a row continues
 * from it: pending and sent rows are sent again with their stored token (OCI acts at most once
 * per token), confirmed ones are followed to the target state, final ones are left alone; only
 * instances without a row are decided afresh. Nothing is acted on twice, nothing is forgotten.
 *
 * Domain code: no bus. The caller publishes progress (a Job of kind "occurrence"). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "db.h"
#include "oci-client.h"
#include "schedule-store.h"
#include "schedule.h"

typedef struct OccurrenceRun OccurrenceRun;

typedef struct OccurrenceRunParams {
        unsigned max_parallel;          /* scheduler.max_parallel_actions; 0 = 16 */
        usec_t wait_timeout;            /* per action, to reach the target state; 0 = 20 min */
        usec_t poll_initial, poll_max;  /* confirmation polls; 0 = 1 s and 10 s */
        unsigned bulk_threshold;        /* targets in one compartment from which ListInstances is used
                                         * instead of GetInstance each; 0 = 3 */
        unsigned max_conflicts;         /* 409 IncorrectState: re-read and retry this often; 0 = 3 */
        usec_t conflict_delay;          /* backoff unit after a 409; 0 = 2 s */
} OccurrenceRunParams;

typedef struct OccurrenceProgress {
        size_t total;                   /* instances of the occurrence */
        size_t finished;                /* of those: done (reached, skipped or failed) */
        size_t acted, skipped, failed;
        size_t group, n_groups;         /* priority group in progress (1-based) */
} OccurrenceProgress;

typedef void (*occurrence_progress_handler_t)(OccurrenceRun *run, const OccurrenceProgress *p, void *userdata);
/* A lifecycle state read from OCI for one of the occurrence's instances (its first reading, then
 * each change): the caller feeds it to its inventory, so that what is shown does not wait for the
 * next refresh. */
typedef void (*occurrence_observed_handler_t)(OccurrenceRun *run, const char *instance_id, OciInstanceState state,
                                              void *userdata);
/* The end: state done or failed with a one-line reason (recorded in the database first). The run
 * may be freed from here. */
typedef void (*occurrence_done_handler_t)(OccurrenceRun *run, OccurrenceState state, const char *reason,
                                          void *userdata);

/* Starts executing occurrence (claimed: state running) of schedule over targets (resolved at
 * the firing, effective configuration included; copied). closed_by: the exception calendar
 * closing the occurrence's day, or NULL. */
int occurrence_run_start(sd_event *event, Db *db, OciClient *oci, const Schedule *schedule,
                         const OccurrenceRow *occurrence, const ScheduleCandidate *targets, size_t n_targets,
                         const char *closed_by, const OccurrenceRunParams *params,
                         occurrence_progress_handler_t progress, occurrence_observed_handler_t observed,
                         occurrence_done_handler_t done, void *userdata, OccurrenceRun **ret);
/* Stops following the occurrence (no callbacks). Rows stay as they are: the occurrence stays
 * running in the database and resumes at the next start-up. */
OccurrenceRun *occurrence_run_free(OccurrenceRun *run);
DEFINE_TRIVIAL_CLEANUP_FUNC(OccurrenceRun*, occurrence_run_free);

uint64_t occurrence_run_id(const OccurrenceRun *run);
void occurrence_run_get_progress(const OccurrenceRun *run, OccurrenceProgress *ret);

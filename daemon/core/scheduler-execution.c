/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An occurrence being executed: the job that shows it on the bus, with its progress, and the
 * executor's run (daemon/exec/occurrence.h) on the targets resolved now; its end finishes the
 * job. Only the leader executes; one that stops leading drops its runs without a write. */
#include <inttypes.h>
#include <stdlib.h>

#include "job.h"
#include "leader.h"
#include "log.h"
#include "manager.h"
#include "occurrence.h"
#include "scheduler-internal.h"
#include "strv.h"

typedef struct Execution {
        Scheduler *s;
        Schedule *schedule;             /* a copy: the entry may change or go meanwhile */
        OccurrenceRow row;              /* id, schedule, instant (no actions: the run reads them) */
        ActionRow *actions;             /* a resumed row's actions, handed to the run */
        size_t n_actions;
        uint32_t job_id;
        OccurrenceRun *run;
        execution_started_t started;
        void *userdata;
} Execution;

bool scheduler_executing(Scheduler *s, uint64_t occurrence_id) {
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

int scheduler_start_occurrence(Scheduler *s, ScheduleEntry *e, OccurrenceRow *row, uid_t uid,
                               execution_started_t started, void *userdata) {
        Execution *x, **l;
        int r;

        if (scheduler_executing(s, row->id))
                return -EALREADY;
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

void scheduler_abandon_executions(Scheduler *s) {
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
}

void scheduler_free_executions(Scheduler *s) {
        for (size_t i = 0; i < s->n_executions; i++)
                execution_free(s->executions[i]);
        free(s->executions);
}

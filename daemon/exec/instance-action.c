/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One instance action of a start/stop/reboot job, from the fresh state read to the target state
 * (instance-action.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "instance-action.h"
#include "job-store.h"
#include "log.h"
#include "manager.h"
#include "oci-client.h"
#include "oci-wait.h"
#include "strv.h"

int action_retry_token(const char *origin, const char *instance_id, OciInstanceAction action, char **ret) {
        _cleanup_free_ char *key = NULL;

        key = strprintf("stopstart:%s:%s:%s", origin, instance_id, oci_instance_action_to_string(action));
        if (!key)
                return -ENOMEM;
        return oci_retry_token_from_key(key, ret);
}

typedef enum RunStep {
        STEP_CHECK,
        STEP_SETTLE,    /* waiting for a transitional state to end before deciding */
        STEP_RECORD,
        STEP_SEND,
        STEP_WAIT,
} RunStep;

struct InstanceActionRun {
        Job *job;
        uint64_t serial;
        RunStep step;
        char *region;
        OciCall *call;
        OciInstanceAction action;
        bool acted;             /* an action of this job was accepted (now or before a restart) */
        bool maybe_acted;       /* resumed: an action was sent, its answer never recorded */
        bool escalated;
        int64_t action_id;
        char *retry_token;
        uint64_t soft_timeout;
};

static uint64_t run_serial;

InstanceActionRun *instance_action_run_free(InstanceActionRun *run) {
        if (!run)
                return NULL;
        oci_call_cancel(run->call);
        free(run->region);
        free(run->retry_token);
        return mfree(run);
}

/* Database steps are answered through this, so a run that was cancelled meanwhile is left alone
 * (and its statements are not sent again when their answers are lost). */
typedef struct RunQuery {
        Manager *manager;
        uint32_t job_id;
        uint64_t serial;
        union {
                void (*actions)(InstanceActionRun *run, int error, const JobActionRow *rows, size_t n,
                                const char *message);
                void (*done)(InstanceActionRun *run, int error, const char *message);
        };
} RunQuery;

static InstanceActionRun *run_query_run(RunQuery *q) {
        Job *j = manager_get_job(q->manager, q->job_id);
        return j && j->action && j->action->serial == q->serial ? j->action : NULL;
}

static bool run_query_wanted(void *userdata) {
        return run_query_run(userdata);
}

static void on_run_actions(int error, const JobActionRow *rows, size_t n, const char *message, void *userdata) {
        _cleanup_free_ RunQuery *q = userdata;
        InstanceActionRun *run = error == -ECANCELED ? NULL : run_query_run(q);

        if (run)
                q->actions(run, error, rows, n, message);
}

static void on_run_done(int error, const char *message, void *userdata) {
        _cleanup_free_ RunQuery *q = userdata;
        InstanceActionRun *run = error == -ECANCELED ? NULL : run_query_run(q);

        if (run)
                q->done(run, error, message);
}

static RunQuery *run_query_new(InstanceActionRun *run) {
        RunQuery *q = new0(RunQuery, 1);

        if (q)
                *q = (RunQuery) { .manager = run->job->manager, .job_id = run->job->id, .serial = run->serial };
        return q;
}

static void run_fail(InstanceActionRun *run, JobResult result, const char *fmt, ...) _printf_(3, 4);
static void run_fail(InstanceActionRun *run, JobResult result, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        job_finish(run->job, result, msg ?: "out of memory");
}

static void run_oci_fail(InstanceActionRun *run, const OciError *e, const char *what) {
        _cleanup_free_ char *s = oci_error_to_string(e);
        const char *rest = s ? startswith(s, what) : NULL;
        JobResult result = e->kind == OCI_ERROR_TIMEOUT ? JOB_RESULT_TIMEOUT : JOB_RESULT_FAILED;

        /* The error names its operation already when it is this one: once is enough. */
        if (rest && rest[0] == ':')
                run_fail(run, result, "%s", s);
        else
                run_fail(run, result, "%s: %s", what, strna(s));
}

static void run_check(InstanceActionRun *run);
static void run_record(InstanceActionRun *run, OciInstanceAction action);

static OciInstanceState run_target(InstanceActionRun *run) {
        return oci_instance_action_target_state(run->action);
}

static void on_waited(OciClient *c, OciInstance *instance, const char *etag, const OciError *error, void *userdata) {
        InstanceActionRun *run = userdata;
        Job *j = run->job;

        run->call = NULL;
        if (instance)
                manager_observe_instance(j->manager, j->target, instance->lifecycle_state_raw);
        oci_instance_free(instance);

        if (error && error->kind == OCI_ERROR_TIMEOUT && run->action == OCI_ACTION_SOFTSTOP && !run->escalated) {
                /* The guest did not shut down in time: power it off. */
                log_job(LOG_INFO, j, NULL,
                        "Job %" PRIu32 ": SOFTSTOP of %s did not finish within the soft stop timeout; sending STOP.",
                        j->id, j->target);
                run->escalated = true;
                run_record(run, OCI_ACTION_STOP);
                return;
        }
        if (error) {
                run_oci_fail(run, error, run->step == STEP_SETTLE ? "Waiting for a stable state"
                                                                 : "Waiting for the instance");
                return;
        }

        if (run->step == STEP_SETTLE) {
                /* Stable now: decide again on fresh data. */
                run_check(run);
                return;
        }

        (void) job_store_action_finished(j->manager->db, run->action_id);
        job_finish(j, JOB_RESULT_DONE, NULL);
}

static void run_wait(InstanceActionRun *run, RunStep step, OciInstanceState target, uint64_t timeout) {
        Job *j = run->job;
        OciWaitParams params = { .timeout = timeout, .poll_initial = 500 * 1000, .poll_max = 10 * 1000000ULL };
        int r;

        run->step = step;
        r = oci_wait_for_instance_state(j->manager->oci, run->region, j->target, target, &params, on_waited, run,
                                        &run->call);
        if (r < 0)
                run_fail(run, JOB_RESULT_FAILED, "Could not poll the instance: %s", strerror(-r));
}

static void on_action_sent(OciClient *c, OciInstance *instance, const char *etag, const OciError *error,
                           void *userdata) {
        InstanceActionRun *run = userdata;
        Job *j = run->job;

        run->call = NULL;

        if (error) {
                _cleanup_free_ char *s = oci_error_to_string(error);
                (void) job_store_action_failed(j->manager->db, run->action_id, strna(s), error->request_id);
                oci_instance_free(instance);
                run_oci_fail(run, error, oci_instance_action_to_string(run->action));
                return;
        }

        run->acted = true;
        (void) job_store_action_confirmed(j->manager->db, run->action_id, NULL);
        if (instance)
                manager_observe_instance(j->manager, j->target, instance->lifecycle_state_raw);
        oci_instance_free(instance);
        job_update_progress(j, 0.6);

        run_wait(run, STEP_WAIT, run_target(run), run->action == OCI_ACTION_SOFTSTOP ? run->soft_timeout : 0);
}

static void on_marked_sent(InstanceActionRun *run, int error, const char *message) {
        Job *j = run->job;
        int k;

        if (error < 0) {
                run_fail(run, JOB_RESULT_FAILED, "Could not record the action: %s",
                         error == -EIO ? message : strerror(-error));
                return;
        }
        run->step = STEP_SEND;
        job_update_progress(j, 0.4);
        k = oci_instance_action(j->manager->oci, run->region, j->target, run->action, run->retry_token, NULL,
                                on_action_sent, run, &run->call);
        if (k < 0)
                run_fail(run, JOB_RESULT_FAILED, "Could not send %s: %s", oci_instance_action_to_string(run->action),
                         strerror(-k));
}

static void on_recorded(InstanceActionRun *run, int error, const JobActionRow *rows, size_t n, const char *message) {
        Job *j = run->job;
        RunQuery *q;

        if (error < 0) {
                run_fail(run, JOB_RESULT_FAILED, "Could not record the action: %s",
                         error == -EIO ? message : strerror(-error));
                return;
        }
        run->action_id = rows[0].id;
        free(run->retry_token);
        run->retry_token = strdup(rows[0].retry_token);
        if (!run->retry_token) {
                run_fail(run, JOB_RESULT_FAILED, "Out of memory.");
                return;
        }
        job_update_progress(j, 0.3);

        if (rows[0].state == ACTION_CONFIRMED) {
                /* Accepted before a restart: only the waiting is left. */
                run->acted = true;
                run_wait(run, STEP_WAIT, run_target(run), run->action == OCI_ACTION_SOFTSTOP ? run->soft_timeout : 0);
                return;
        }

        q = run_query_new(run);
        if (q)
                q->done = on_marked_sent;
        if (!q || job_store_mark_action_sent(j->manager->db, run->action_id, run_query_wanted, on_run_done, q) < 0) {
                free(q);
                run_fail(run, JOB_RESULT_FAILED, "Could not record the action.");
        }
}

static void run_record(InstanceActionRun *run, OciInstanceAction action) {
        Job *j = run->job;
        _cleanup_free_ char *origin = NULL, *token = NULL, *reason = NULL;
        RunQuery *q;
        int r;

        run->step = STEP_RECORD;
        run->action = action;
        origin = strprintf("job:%" PRIu32, j->id);
        if (!origin || action_retry_token(origin, j->target, action, &token) < 0) {
                run_fail(run, JOB_RESULT_FAILED, "Out of memory.");
                return;
        }
        reason = run->escalated ? strdup("SOFTSTOP did not finish within soft_stop_timeout")
                                : strprintf("manual %s (job %" PRIu32 ")", job_kind_to_string(j->kind), j->id);

        q = run_query_new(run);
        if (!q) {
                run_fail(run, JOB_RESULT_FAILED, "Could not record the action: %s", strerror(ENOMEM));
                return;
        }
        q->actions = on_recorded;
        r = job_store_record_action(j->manager->db, j->id, j->target, action, token, reason, run_query_wanted,
                                    on_run_actions, q);
        if (r < 0) {
                free(q);
                run_fail(run, JOB_RESULT_FAILED, "Could not record the action: %s", strerror(-r));
        }
}

static void on_checked(OciClient *c, OciInstance *instance, const char *etag, const OciError *error, void *userdata) {
        InstanceActionRun *run = userdata;
        Job *j = run->job;
        OciInstanceState st;
        const char *raw;

        run->call = NULL;
        if (error) {
                oci_instance_free(instance);
                run_oci_fail(run, error, "GetInstance");
                return;
        }
        st = instance->lifecycle_state;
        raw = strempty(instance->lifecycle_state_raw);
        manager_observe_instance(j->manager, j->target, raw);
        job_update_progress(j, 0.2);

        if (st == OCI_INSTANCE_TERMINATING || st == OCI_INSTANCE_TERMINATED) {
                run_fail(run, JOB_RESULT_FAILED, "The instance is %s.", raw);
                oci_instance_free(instance);
                return;
        }

        /* A resumed job whose action may have been performed: the instance being there (or on
         * the way) means it was. Where it is not, the action is sent again with the same token,
         * which OCI answers without acting twice. */
        switch (j->kind) {
        case JOB_START:
                if (st == OCI_INSTANCE_RUNNING || st == OCI_INSTANCE_STARTING || st == OCI_INSTANCE_PROVISIONING) {
                        if (run->acted || run->maybe_acted)
                                run_wait(run, STEP_WAIT, OCI_INSTANCE_RUNNING, 0);
                        else
                                job_finish(j, JOB_RESULT_SKIPPED, st == OCI_INSTANCE_RUNNING ? "Already RUNNING."
                                                                                            : "Already starting.");
                } else if (st == OCI_INSTANCE_STOPPED)
                        run_record(run, OCI_ACTION_START);
                else if (st == OCI_INSTANCE_STOPPING)
                        run_wait(run, STEP_SETTLE, OCI_INSTANCE_STOPPED, 0);
                else
                        run_fail(run, JOB_RESULT_FAILED, "The instance is %s; try again once it is RUNNING or STOPPED.",
                                 raw);
                break;

        case JOB_STOP:
                if (st == OCI_INSTANCE_STOPPED || st == OCI_INSTANCE_STOPPING) {
                        if (run->acted || run->maybe_acted)
                                run_wait(run, STEP_WAIT, OCI_INSTANCE_STOPPED,
                                         run->action == OCI_ACTION_SOFTSTOP && !run->escalated ? run->soft_timeout : 0);
                        else
                                job_finish(j, JOB_RESULT_SKIPPED, st == OCI_INSTANCE_STOPPED ? "Already STOPPED."
                                                                                            : "Already stopping.");
                } else if (st == OCI_INSTANCE_RUNNING)
                        run_record(run, j->mode == STOP_MODE_HARD ? OCI_ACTION_STOP : OCI_ACTION_SOFTSTOP);
                else if (st == OCI_INSTANCE_STARTING || st == OCI_INSTANCE_PROVISIONING)
                        run_wait(run, STEP_SETTLE, OCI_INSTANCE_RUNNING, 0);
                else
                        run_fail(run, JOB_RESULT_FAILED, "The instance is %s; try again once it is RUNNING or STOPPED.",
                                 raw);
                break;

        case JOB_REBOOT:
                if (run->acted)
                        run_wait(run, STEP_WAIT, OCI_INSTANCE_RUNNING, 0);
                else if (st == OCI_INSTANCE_RUNNING)
                        run_record(run, j->mode == STOP_MODE_HARD ? OCI_ACTION_RESET : OCI_ACTION_SOFTRESET);
                else if (st == OCI_INSTANCE_STOPPED)
                        job_finish(j, JOB_RESULT_SKIPPED, "The instance is STOPPED: nothing to reboot.");
                else if (st == OCI_INSTANCE_STARTING || st == OCI_INSTANCE_PROVISIONING)
                        run_wait(run, STEP_SETTLE, OCI_INSTANCE_RUNNING, 0);
                else
                        run_fail(run, JOB_RESULT_FAILED, "The instance is %s; try again once it is RUNNING.", raw);
                break;

        default:
                assert(false);
        }
        oci_instance_free(instance);
}

static void run_check(InstanceActionRun *run) {
        Job *j = run->job;
        int r;

        run->step = STEP_CHECK;
        r = oci_get_instance(j->manager->oci, run->region, j->target, on_checked, run, &run->call);
        if (r < 0)
                run_fail(run, JOB_RESULT_FAILED, "Could not ask OCI about the instance: %s", strerror(-r));
}

/* A resumed job finds its actions again: what was accepted is not sent twice. */
static void on_recorded_actions(InstanceActionRun *run, int error, const JobActionRow *rows, size_t n,
                                const char *message) {
        if (error < 0) {
                run_fail(run, JOB_RESULT_FAILED, "Could not read the job's actions: %s",
                         error == -EIO ? message : strerror(-error));
                return;
        }
        for (size_t k = 0; k < n; k++) {
                OciInstanceAction a = rows[k].action;
                if (a < 0)
                        continue;
                run->action = a;
                if (a == OCI_ACTION_STOP && run->job->kind == JOB_STOP && run->job->mode == STOP_MODE_SOFT)
                        run->escalated = true;
                if (rows[k].state == ACTION_CONFIRMED)
                        run->acted = true;
                else if (rows[k].state == ACTION_SENT)
                        run->maybe_acted = true;
        }
        run_check(run);
}

int instance_action_run_start(Job *j) {
        Manager *m = j->manager;
        Instance *i = manager_get_instance(m, j->target);
        InstanceConfig eff;
        InstanceActionRun *run;

        if (!i) {
                job_finish(j, JOB_RESULT_FAILED, "The instance is no longer known.");
                return 0;
        }
        if (!m->oci) {
                _cleanup_free_ char *e = strprintf("No OCI client: %s", m->oci_error ?: "OCI is not configured.");
                job_finish(j, JOB_RESULT_FAILED, e);
                return 0;
        }

        run = new0(InstanceActionRun, 1);
        if (!run)
                return -ENOMEM;
        run->job = j;
        run->serial = ++run_serial;
        run->region = strdup(i->region);
        if (!run->region) {
                free(run);
                return -ENOMEM;
        }
        instance_effective_config(i, manager_now(), &eff);
        run->soft_timeout = eff.soft_stop_timeout;
        j->action = run;
        i->job_id = j->id;
        job_set_state(j, JOB_RUNNING);
        job_update_progress(j, 0.1);

        if (j->resumed) {
                RunQuery *q = run_query_new(run);
                if (q)
                        q->actions = on_recorded_actions;
                if (!q || job_store_actions(m->db, j->id, run_query_wanted, on_run_actions, q) < 0) {
                        free(q);
                        run_fail(run, JOB_RESULT_FAILED, "Could not read the job's actions.");
                }
                return 0;
        }
        run_check(run);
        return 0;
}

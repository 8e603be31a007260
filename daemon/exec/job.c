/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-names.h"
#include "discovery.h"
#include "audit-store.h"
#include "inventory-load.h"
#include "job-store.h"
#include "job.h"
#include "json-util.h"
#include "log.h"
#include "manager.h"
#include "oci-client.h"
#include "oci-wait.h"
#include "strv.h"

#define PTR_TO_UINT32(p) ((uint32_t) (uintptr_t) (p))
#define UINT32_TO_PTR(u) ((void *) (uintptr_t) (u))

static const char * const job_kind_table[_JOB_KIND_MAX] = {
        [JOB_START] = "start",
        [JOB_STOP] = "stop",
        [JOB_REBOOT] = "reboot",
        [JOB_REFRESH] = "refresh",
        [JOB_OCCURRENCE] = "occurrence",
};
DEFINE_STRING_TABLE_LOOKUP(job_kind, JobKind);

static const char * const job_state_table[_JOB_STATE_MAX] = {
        [JOB_WAITING] = "waiting",
        [JOB_RUNNING] = "running",
        [JOB_DONE] = "done",
};
DEFINE_STRING_TABLE_LOOKUP(job_state, JobState);

static const char * const job_result_table[_JOB_RESULT_MAX] = {
        [JOB_RESULT_NONE] = "",
        [JOB_RESULT_DONE] = "done",
        [JOB_RESULT_FAILED] = "failed",
        [JOB_RESULT_CANCELED] = "canceled",
        [JOB_RESULT_SKIPPED] = "skipped",
        [JOB_RESULT_TIMEOUT] = "timeout",
};
DEFINE_STRING_TABLE_LOOKUP(job_result, JobResult);

int action_retry_token(const char *origin, const char *instance_id, OciInstanceAction action, char **ret) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        _cleanup_free_ char *key = NULL;
        char *hex;

        key = strprintf("stopstart:%s:%s:%s", origin, instance_id, oci_instance_action_to_string(action));
        if (!key)
                return -ENOMEM;
        if (EVP_Digest(key, strlen(key), md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
                return -EIO;
        hex = malloc(md_len * 2 + 1);
        if (!hex)
                return -ENOMEM;
        for (unsigned i = 0; i < md_len; i++)
                sprintf(hex + 2 * i, "%02x", md[i]);
        *ret = hex;
        return 0;
}

/* ---- journal ------------------------------------------------------------------------------ */

/* A job's events carry its journal fields: journalctl STOPSTART_JOB=17, or STOPSTART_INSTANCE=OCID
 * for everything about an instance. */
typedef struct JobLogFields {
        char job[32], kind[48], result[48], instance[320], message_id[48];
        const char *list[6];
} JobLogFields;

static const char * const *job_log_fields(const Job *j, const char *message_id, JobLogFields *f) {
        size_t n = 0;

        snprintf(f->job, sizeof f->job, "STOPSTART_JOB=%" PRIu32, j->id);
        f->list[n++] = f->job;
        snprintf(f->kind, sizeof f->kind, "STOPSTART_JOB_KIND=%s", job_kind_to_string(j->kind));
        f->list[n++] = f->kind;
        if (j->kind == JOB_START || j->kind == JOB_STOP || j->kind == JOB_REBOOT) {
                snprintf(f->instance, sizeof f->instance, "STOPSTART_INSTANCE=%s", j->target);
                f->list[n++] = f->instance;
        }
        if (j->state == JOB_DONE) {
                snprintf(f->result, sizeof f->result, "STOPSTART_JOB_RESULT=%s", job_result_to_string(j->result));
                f->list[n++] = f->result;
        }
        if (message_id) {
                snprintf(f->message_id, sizeof f->message_id, "MESSAGE_ID=%s", message_id);
                f->list[n++] = f->message_id;
        }
        f->list[n] = NULL;
        return f->list;
}

#define log_job(level, j, message_id, ...)                                                      \
        do {                                                                                    \
                JobLogFields _f_;                                                               \
                log_fields((level), job_log_fields((j), (message_id), &_f_), __VA_ARGS__);      \
        } while (0)

/* ---- objects ------------------------------------------------------------------------------ */

Job *manager_get_job(Manager *m, uint32_t id) {
        void *v;

        if (id == 0 || !m->jobs || !lh_table_lookup_ex(m->jobs, (void *) (uintptr_t) id, &v))
                return NULL;
        return v;
}

int job_new(Manager *m, uint32_t id, JobKind kind, const char *target, Job **ret) {
        Job *j;

        if (manager_get_job(m, id))
                return -EEXIST;
        j = new0(Job, 1);
        if (!j)
                return -ENOMEM;
        j->id = id;
        j->kind = kind;
        j->uid = (uid_t) -1;
        j->target = strdup(strempty(target));
        j->error = strdup("");
        if (!j->target || !j->error || lh_table_insert(m->jobs, (void *) (uintptr_t) id, j) < 0) {
                free(j->target);
                free(j->error);
                free(j);
                return -ENOMEM;
        }
        j->manager = m;
        manager_mark_dirty(m, MANAGER_PROP_N_JOBS);
        *ret = j;
        return 0;
}

static void job_run_free(Job *j);

Job *job_free(Job *j) {
        Manager *m;

        if (!j)
                return NULL;
        m = j->manager;
        job_run_free(j);
        if (m) {
                Instance *i = j->kind != JOB_REFRESH ? manager_get_instance(m, j->target) : NULL;
                if (i && i->job_id == j->id)
                        i->job_id = 0;
                if (m->refresh_job == j)
                        m->refresh_job = NULL;
                (void) lh_table_delete(m->jobs, (void *) (uintptr_t) j->id);
                if (j->dirty)
                        LIST_REMOVE(j, dirty_link);
                manager_mark_dirty(m, MANAGER_PROP_N_JOBS);
        }
        sd_event_source_disable_unref(j->linger);
        free(j->target);
        free(j->error);
        return mfree(j);
}

void job_mark_dirty(Job *j, uint32_t props) {
        Manager *m = j->manager;

        if (props == 0 || !m->emit_enabled)
                return;
        if (!j->dirty)
                LIST_INSERT_HEAD(&m->dirty_jobs, j, dirty_link);
        j->dirty |= props;
        manager_mark_dirty(m, 0);
}

void job_mark_removed(Job *j) {
        if (!(j->dirty & JOB_PROP_ADDED))
                manager_queue_removed(j->manager, job_bus_path(j));
}

/* JobNew and JobRemoved on the Manager. */
static void job_queue_signal(Job *j, ManagerEventKind kind) {
        _cleanup_free_ char *p = job_bus_path(j);
        manager_queue_event(j->manager, kind, p, j->id, 0, job_result_to_string(j->result));
}

char *job_bus_path(const Job *j) {
        return strprintf(SS_BUS_PATH_JOB "/%" PRIu32, j->id);
}

json_object *job_to_json(Job *j) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "id", json_object_new_int64(j->id));
        json_object_object_add(o, "kind", json_object_new_string(job_kind_to_string(j->kind)));
        json_object_object_add(o, "target", json_object_new_string(j->target));
        json_object_object_add(o, "state", json_object_new_string(job_state_to_string(j->state)));
        json_object_object_add(o, "progress", json_object_new_double(j->progress));
        /* JSON documents say "none yet" with null (D-Bus properties, typed "s", with "") */
        json_object_object_add(o, "result", j->result == JOB_RESULT_NONE ? NULL :
                               json_object_new_string(job_result_to_string(j->result)));
        json_object_object_add(o, "error", isempty(j->error) ? NULL : json_object_new_string(j->error));
        return o;
}

static void job_set_progress(Job *j, double p) {
        if (p == j->progress)
                return;
        j->progress = p;
        job_mark_dirty(j, JOB_PROP_PROGRESS);
}

static void job_persist_state(Job *j) {
        Db *db = j->manager->db;

        if (j->state == JOB_DONE)
                (void) job_store_finish(db, j->id, job_result_to_string(j->result), j->error);
        else
                (void) job_store_set_state(db, j->id, job_state_to_string(j->state));
}

static void job_set_state(Job *j, JobState state) {
        if (j->state == state)
                return;
        j->state = state;
        job_mark_dirty(j, JOB_PROP_STATE);
        if (state != JOB_DONE)
                job_persist_state(j);
        manager_update_status(j->manager);
}

/* ---- completion ------------------------------------------------------------------------------ */

static int on_linger_over(sd_event_source *s, uint64_t usec, void *userdata) {
        Job *j = userdata;

        job_mark_removed(j);
        job_free(j);
        return 0;
}

void job_finish(Job *j, JobResult result, const char *error) {
        Manager *m = j->manager;
        Instance *i;
        int r;

        if (j->state == JOB_DONE)
                return;

        job_run_free(j);
        j->result = result;
        if (!streq(j->error, strempty(error))) {
                char *e = strdup(strempty(error));
                if (e) {
                        free(j->error);
                        j->error = e;
                        job_mark_dirty(j, JOB_PROP_ERROR);
                }
        }
        if (result == JOB_RESULT_DONE)
                job_set_progress(j, 1.0);
        job_mark_dirty(j, JOB_PROP_RESULT);
        j->state = JOB_DONE;
        job_mark_dirty(j, JOB_PROP_STATE);
        job_persist_state(j);
        if (j->kind == JOB_REFRESH || j->kind == JOB_OCCURRENCE)
                manager_schedule_trim(m);   /* what a big tenancy's discovery or occurrence freed */

        i = j->kind != JOB_REFRESH ? manager_get_instance(m, j->target) : NULL;
        if (i && i->job_id == j->id)
                i->job_id = 0;
        if (i && (j->kind == JOB_START || j->kind == JOB_STOP || j->kind == JOB_REBOOT))
                (void) instance_set_last_job(i, j->id, job_kind_to_string(j->kind), job_result_to_string(result),
                                             j->error, now(CLOCK_REALTIME));
        if (m->refresh_job == j)
                m->refresh_job = NULL;

        log_job(result == JOB_RESULT_DONE || result == JOB_RESULT_SKIPPED ? LOG_INFO : LOG_WARNING, j,
                SS_MESSAGE_JOB_RESULT, "Job %" PRIu32 " (%s%s%s) %s%s%s", j->id, job_kind_to_string(j->kind),
                isempty(j->target) ? "" : " ", j->target, job_result_to_string(result), isempty(error) ? "" : ": ",
                strempty(error));

        job_queue_signal(j, MANAGER_EVENT_JOB_REMOVED);
        manager_mark_dirty(m, MANAGER_PROP_N_JOBS);
        manager_update_status(m);

        r = sd_event_add_time_relative(m->event, &j->linger, CLOCK_MONOTONIC, m->job_linger_usec, 0, on_linger_over,
                                       j);
        if (r < 0) {
                job_mark_removed(j);
                job_free(j);
        }
}

typedef enum RunStep {
        STEP_CHECK,
        STEP_SETTLE,    /* waiting for a transitional state to end before deciding */
        STEP_RECORD,
        STEP_SEND,
        STEP_WAIT,
} RunStep;

struct JobRun {
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

        Discovery *discovery;           /* refresh: the run in progress */
        Db *discovery_db;               /* its own connection (see job_start_refresh()) */
        char *discovery_error;
};

static uint64_t run_serial;

/* ---- refresh ------------------------------------------------------------------------------------
 *
 * Discovery stores what it finds in the database; the inventory in memory is then read back from
 * there, so a refresh always ends with a reload (also after a failed discovery: what it stored,
 * e.g. the tree, is shown). Without an OCI client (tests) a refresh is the reload alone. */

static void on_refresh_loaded(Manager *m, int error, void *userdata) {
        Job *j = manager_get_job(m, PTR_TO_UINT32(userdata));
        _cleanup_free_ char *discovery_error = NULL;

        if (!j || j->state == JOB_DONE)
                return;
        if (j->run)
                discovery_error = TAKE_PTR(j->run->discovery_error);
        if (discovery_error)
                job_finish(j, JOB_RESULT_FAILED, discovery_error);
        else if (error < 0) {
                _cleanup_free_ char *e = strprintf("Reading the inventory failed: %s", strerror(-error));
                job_finish(j, JOB_RESULT_FAILED, e);
        } else
                job_finish(j, JOB_RESULT_DONE, NULL);
}

static void refresh_reload(Job *j) {
        int r;

        job_set_progress(j, 0.95);
        r = manager_load(j->manager, on_refresh_loaded, UINT32_TO_PTR(j->id));
        if (r < 0) {
                _cleanup_free_ char *e = strprintf("Reading the inventory failed: %s", strerror(-r));
                job_finish(j, JOB_RESULT_FAILED, e);
        }
}

static void on_discovery_progress(Discovery *d, const DiscoveryProgress *p, void *userdata) {
        JobRun *run = userdata;
        double f = 0.05 + 0.85 * MIN(MAX(p->fraction, 0.0), 1.0);

        if (f > run->job->progress)
                job_set_progress(run->job, f);
}

static void on_discovery_done(Discovery *d, const DiscoveryResult *r, void *userdata) {
        JobRun *run = userdata;
        Job *j = run->job;

        run->discovery = NULL;  /* freed by discovery when we return */
        if (r->error < 0) {
                run->discovery_error = strprintf("Discovery failed: %s", strna(r->message));
                log_job(LOG_WARNING, j, NULL, "Job %" PRIu32 ": discovery failed: %s", j->id, strna(r->message));
        } else
                log_job(LOG_INFO, j, NULL,
                        "Job %" PRIu32 ": discovered %" PRIu64 " compartments and %" PRIu64 " instances with %" PRIu64
                        " requests in %" PRIu64 " ms.",
                        j->id, r->compartments, r->instances, r->http_requests, r->elapsed_usec / 1000);
        refresh_reload(j);
}

static int job_start_refresh(Job *j) {
        Manager *m = j->manager;
        DiscoveryParams params;
        JobRun *run;
        int r;

        m->refresh_job = j;
        job_set_state(j, JOB_RUNNING);

        if (!m->oci) {
                refresh_reload(j);
                return 0;
        }

        run = new0(JobRun, 1);
        if (!run)
                return -ENOMEM;
        run->job = j;
        run->serial = ++run_serial;
        j->run = run;
        job_set_progress(j, 0.05);

        /* A connection of its own, closed with the job: discovery sends the whole inventory as one
         * statement, and libpq keeps a connection's buffers at their largest size (some 20 MiB
         * with 20,000 instances) for as long as the connection lives. */
        r = db_new(m->event, m->config->database, &run->discovery_db);
        if (r >= 0) {
                db_set_reconnect_backoff(run->discovery_db, 100 * 1000, 5 * 1000000);
                r = db_start(run->discovery_db);
                if (r == -ECONNREFUSED)
                        r = 0;  /* retried with backoff; the statements wait */
        }
        if (r >= 0) {
                discovery_params_from_config(&params, m->config, m->oci_tenancy, m->oci_region);
                r = discovery_start(m->event, m->oci, run->discovery_db, &params, on_discovery_progress,
                                    on_discovery_done, run, &run->discovery);
        }
        if (r < 0) {
                run->discovery_error = strprintf("Discovery could not start: %s", strerror(-r));
                refresh_reload(j);
        }
        return 0;
}

/* ---- instance actions ---------------------------------------------------------------------------
 *
 * check:  GetInstance: never act on stale data. Already there (or on the way): skipped. Moving
 *         between states: wait for the stable one first, then decide again.
 * record: INSERT the action row (job, instance, action) — or find it again when resuming —
 *         before any HTTP call; its retry token is derived from that key.
 * send:   mark it sent, then InstanceAction with the token. OCI acts at most once per token.
 * wait:   poll until the target state. A SOFTSTOP that does not finish within soft_stop_timeout
 *         is escalated to STOP (a second row, its own token).
 * The database steps wait for the database when it is away (nothing is sent to OCI without its
 * row), and are re-sent when an answer is lost: each is idempotent. */




static void job_run_free(Job *j) {
        JobRun *run = j->run;

        if (!run)
                return;
        oci_call_cancel(run->call);
        if (run->discovery)
                discovery_cancel(run->discovery);
        /* A cancelled discovery still closes its run row on this connection. */
        db_free_when_idle(run->discovery_db);
        free(run->discovery_error);
        free(run->region);
        free(run->retry_token);
        j->run = mfree(run);
}

/* Database steps are answered through this, so a run that was cancelled meanwhile is left alone
 * (and its statements are not sent again when their answers are lost). */
typedef struct RunQuery {
        Manager *manager;
        uint32_t job_id;
        uint64_t serial;
        union {
                void (*actions)(JobRun *run, int error, const JobActionRow *rows, size_t n, const char *message);
                void (*done)(JobRun *run, int error, const char *message);
        };
} RunQuery;

static JobRun *run_query_run(RunQuery *q) {
        Job *j = manager_get_job(q->manager, q->job_id);
        return j && j->run && j->run->serial == q->serial ? j->run : NULL;
}

static bool run_query_wanted(void *userdata) {
        return run_query_run(userdata);
}

static void on_run_actions(int error, const JobActionRow *rows, size_t n, const char *message, void *userdata) {
        _cleanup_free_ RunQuery *q = userdata;
        JobRun *run = error == -ECANCELED ? NULL : run_query_run(q);

        if (run)
                q->actions(run, error, rows, n, message);
}

static void on_run_done(int error, const char *message, void *userdata) {
        _cleanup_free_ RunQuery *q = userdata;
        JobRun *run = error == -ECANCELED ? NULL : run_query_run(q);

        if (run)
                q->done(run, error, message);
}

static RunQuery *run_query_new(JobRun *run) {
        RunQuery *q = new0(RunQuery, 1);

        if (q)
                *q = (RunQuery) { .manager = run->job->manager, .job_id = run->job->id, .serial = run->serial };
        return q;
}

static void run_fail(JobRun *run, JobResult result, const char *fmt, ...) _printf_(3, 4);
static void run_fail(JobRun *run, JobResult result, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        job_finish(run->job, result, msg ?: "out of memory");
}

static void run_oci_fail(JobRun *run, const OciError *e, const char *what) {
        _cleanup_free_ char *s = oci_error_to_string(e);
        const char *rest = s ? startswith(s, what) : NULL;
        JobResult result = e->kind == OCI_ERROR_TIMEOUT ? JOB_RESULT_TIMEOUT : JOB_RESULT_FAILED;

        /* The error names its operation already when it is this one: once is enough. */
        if (rest && rest[0] == ':')
                run_fail(run, result, "%s", s);
        else
                run_fail(run, result, "%s: %s", what, strna(s));
}

static void run_check(JobRun *run);
static void run_record(JobRun *run, OciInstanceAction action);

static OciInstanceState run_target(JobRun *run) {
        return run->job->kind == JOB_STOP ? OCI_INSTANCE_STOPPED : OCI_INSTANCE_RUNNING;
}

static void on_waited(OciClient *c, OciInstance *instance, const char *etag, const OciError *error, void *userdata) {
        JobRun *run = userdata;
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

static void run_wait(JobRun *run, RunStep step, OciInstanceState target, uint64_t timeout) {
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
        JobRun *run = userdata;
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
        job_set_progress(j, 0.6);

        run_wait(run, STEP_WAIT, run_target(run), run->action == OCI_ACTION_SOFTSTOP ? run->soft_timeout : 0);
}

static void on_marked_sent(JobRun *run, int error, const char *message) {
        Job *j = run->job;
        int k;

        if (error < 0) {
                run_fail(run, JOB_RESULT_FAILED, "Could not record the action: %s",
                         error == -EIO ? message : strerror(-error));
                return;
        }
        run->step = STEP_SEND;
        job_set_progress(j, 0.4);
        k = oci_instance_action(j->manager->oci, run->region, j->target, run->action, run->retry_token, NULL,
                                on_action_sent, run, &run->call);
        if (k < 0)
                run_fail(run, JOB_RESULT_FAILED, "Could not send %s: %s", oci_instance_action_to_string(run->action),
                         strerror(-k));
}

static void on_recorded(JobRun *run, int error, const JobActionRow *rows, size_t n, const char *message) {
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
        job_set_progress(j, 0.3);

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

static void run_record(JobRun *run, OciInstanceAction action) {
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
        JobRun *run = userdata;
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
        job_set_progress(j, 0.2);

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

static void run_check(JobRun *run) {
        Job *j = run->job;
        int r;

        run->step = STEP_CHECK;
        r = oci_get_instance(j->manager->oci, run->region, j->target, on_checked, run, &run->call);
        if (r < 0)
                run_fail(run, JOB_RESULT_FAILED, "Could not ask OCI about the instance: %s", strerror(-r));
}

/* A resumed job finds its actions again: what was accepted is not sent twice. */
static void on_recorded_actions(JobRun *run, int error, const JobActionRow *rows, size_t n, const char *message) {
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

static int job_start_action(Job *j) {
        Manager *m = j->manager;
        Instance *i = manager_get_instance(m, j->target);
        InstanceConfig eff;
        JobRun *run;

        if (!i) {
                job_finish(j, JOB_RESULT_FAILED, "The instance is no longer known.");
                return 0;
        }
        if (!m->oci) {
                _cleanup_free_ char *e = strprintf("No OCI client: %s", m->oci_error ?: "OCI is not configured.");
                job_finish(j, JOB_RESULT_FAILED, e);
                return 0;
        }

        run = new0(JobRun, 1);
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
        j->run = run;
        i->job_id = j->id;
        job_set_state(j, JOB_RUNNING);
        job_set_progress(j, 0.1);

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

int job_start(Job *j) {
        if (j->state == JOB_DONE)
                return -ESTALE;
        if (j->kind == JOB_REFRESH)
                return job_start_refresh(j);
        if (j->kind == JOB_OCCURRENCE) {
                job_set_state(j, JOB_RUNNING);
                return 0;
        }
        return job_start_action(j);
}

void job_update_progress(Job *j, double progress) {
        if (j->state != JOB_DONE)
                job_set_progress(j, progress);
}

int job_cancel(Job *j, uid_t uid) {
        Manager *m = j->manager;
        _cleanup_free_ char *actor = NULL, *id = NULL, *msg = NULL;

        if (j->state == JOB_DONE)
                return -ESTALE;

        actor = manager_actor_name(uid);
        id = strprintf("%" PRIu32, j->id);
        msg = strprintf("Canceled by %s.", strna(actor));
        if (!actor || !id || !msg)
                return -ENOMEM;

        (void) audit_store_record(m->db, &(StoreActor) { uid, actor }, "cancel", "job", id, "{}");
        job_finish(j, JOB_RESULT_CANCELED, msg);
        return 0;
}

/* ---- creation ------------------------------------------------------------------------------------ */

typedef struct JobCreate {
        Manager *manager;
        JobKind kind;
        char *target;
        StopMode mode;
        uid_t uid;
        job_created_handler_t handler;
        void *userdata;
} JobCreate;

static void job_create_free(JobCreate *c) {
        free(c->target);
        free(c);
}

static void on_job_inserted(int error, uint64_t id, const char *message, void *userdata) {
        JobCreate *c = userdata;
        Manager *m = c->manager;
        Job *j = NULL;

        if (error >= 0)
                error = id <= UINT32_MAX ? job_new(m, (uint32_t) id, c->kind, c->target, &j) : -EBADMSG;

        if (error >= 0) {
                j->mode = c->mode;
                j->uid = c->uid;
                job_mark_dirty(j, JOB_PROP_ADDED);
                job_queue_signal(j, MANAGER_EVENT_JOB_NEW);
                if (j->kind != JOB_REFRESH) {
                        Instance *i = manager_get_instance(m, j->target);
                        if (i)
                                i->job_id = j->id;
                }
                log_job(LOG_INFO, j, NULL, "Job %" PRIu32 " (%s%s%s) queued.", j->id, job_kind_to_string(j->kind),
                         isempty(j->target) ? "" : " ", j->target);
        }
        if (c->handler)
                c->handler(m, j, error, c->userdata);
        if (j && error >= 0)
                (void) job_start(j);
        job_create_free(c);
}

int job_create(Manager *m, JobKind kind, const char *target, StopMode mode, uid_t uid,
               job_created_handler_t handler, void *userdata) {
        _cleanup_free_ char *actor = NULL;
        JobCreate *c;
        int r;

        if (!m->db || db_get_state(m->db) != DB_CONNECTED)
                return -ENOTCONN;

        actor = manager_actor_name(uid);
        if (!actor)
                return -ENOMEM;

        c = new0(JobCreate, 1);
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->kind = kind;
        c->mode = mode;
        c->uid = uid;
        c->handler = handler;
        c->userdata = userdata;
        c->target = strdup(strempty(target));
        if (!c->target) {
                job_create_free(c);
                return -ENOMEM;
        }

        r = job_store_insert(m->db, job_kind_to_string(kind), c->target,
                             kind == JOB_STOP || kind == JOB_REBOOT ? stop_mode_to_string(mode) : "",
                             kind == JOB_REFRESH ? "manager" : kind == JOB_OCCURRENCE ? "schedule" : "instance",
                             /* Periodic refreshes are not operator actions: they are not audited; an
                              * occurrence is audited by the schedule store. */
                             !((uid == (uid_t) -1 && kind == JOB_REFRESH) || kind == JOB_OCCURRENCE),
                             &(StoreActor) { uid, actor }, on_job_inserted, c);
        if (r < 0)
                job_create_free(c);
        return r;
}

/* ---- resumption at start-up ------------------------------------------------------------------------ */

static void on_unfinished_jobs(int error, const JobRow *rows, size_t n, const char *message, void *userdata) {
        Manager *m = userdata;

        if (error < 0) {
                if (error != -ECANCELED)
                        log_warning_errno(error, "Could not read unfinished jobs: %s", message);
                return;
        }

        for (size_t row = 0; row < n; row++) {
                JobKind kind = job_kind_from_string(rows[row].kind);
                Job *j;

                if (rows[row].id == 0 || rows[row].id > UINT32_MAX || kind < 0)
                        continue;
                if (manager_get_job(m, (uint32_t) rows[row].id))
                        continue;  /* running here already */
                if (job_new(m, (uint32_t) rows[row].id, kind, rows[row].target, &j) < 0)
                        continue;
                j->mode = stop_mode_from_string(rows[row].mode);
                if ((int) j->mode < 0)
                        j->mode = STOP_MODE_SOFT;
                j->resumed = true;
                job_mark_dirty(j, JOB_PROP_ADDED);

                if (kind == JOB_REFRESH) {
                        job_finish(j, JOB_RESULT_CANCELED, "Interrupted: stopstartd was restarted.");
                        continue;
                }
                if (kind == JOB_OCCURRENCE) {
                        /* The occurrence itself resumes from its rows, in a job of its own. */
                        job_finish(j, JOB_RESULT_CANCELED, "Interrupted: stopstartd was restarted; the occurrence "
                                   "resumes in a new job.");
                        continue;
                }
                /* Its action rows, if any, carry their retry tokens: resuming cannot act twice. */
                log_job(LOG_INFO, j, NULL, "Resuming job %" PRIu32 " (%s %s).", j->id, job_kind_to_string(kind), j->target);
                job_queue_signal(j, MANAGER_EVENT_JOB_NEW);
                (void) job_start(j);
        }
}

void job_abandon(Job *j, const char *why) {
        Manager *m = j->manager;
        char *s;

        log_job(LOG_INFO, j, NULL, "Job %" PRIu32 " (%s%s%s) left to the leader.", j->id,
                job_kind_to_string(j->kind), isempty(j->target) ? "" : " ", j->target);
        job_run_free(j);
        j->result = JOB_RESULT_CANCELED;
        s = strdup(why);
        if (s) {
                free(j->error);
                j->error = s;
        }
        j->state = JOB_DONE;
        job_queue_signal(j, MANAGER_EVENT_JOB_REMOVED);
        /* Gone at once: the same id comes back here, resumed, if this daemon leads again. */
        job_mark_removed(j);
        job_free(j);
        manager_update_status(m);
}

void manager_abandon_jobs(Manager *m, const char *why) {
        struct lh_entry *e, *tmp;

        lh_foreach_safe(m->jobs, e, tmp) {
                Job *j = lh_entry_v(e);
                if (j->state != JOB_DONE)
                        job_abandon(j, why);
        }
}

int manager_resume_jobs(Manager *m) {
        return job_store_unfinished(m->db, on_unfinished_jobs, m);
}

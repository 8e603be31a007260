/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-names.h"
#include "discovery.h"
#include "audit-store.h"
#include "inventory-load.h"
#include "job-store.h"
#include "instance-action.h"
#include "job.h"
#include "json-util.h"
#include "log.h"
#include "manager.h"
#include "oci-client.h"
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

/* ---- journal ------------------------------------------------------------------------------ */

const char * const *job_log_fields(const Job *j, const char *message_id, JobLogFields *f) {
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

void job_set_state(Job *j, JobState state) {
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

/* ---- refresh ------------------------------------------------------------------------------------
 *
 * Discovery stores what it finds in the database; the inventory in memory is then read back from
 * there, so a refresh always ends with a reload (also after a failed discovery: what it stored,
 * e.g. the tree, is shown). Without an OCI client (tests) a refresh is the reload alone. */

struct RefreshRun {
        Job *job;
        Discovery *discovery;           /* the run in progress */
        Db *discovery_db;               /* its own connection (see job_start_refresh()) */
        char *discovery_error;
};

static void on_refresh_loaded(Manager *m, int error, void *userdata) {
        Job *j = manager_get_job(m, PTR_TO_UINT32(userdata));
        _cleanup_free_ char *discovery_error = NULL;

        if (!j || j->state == JOB_DONE)
                return;
        if (j->refresh)
                discovery_error = TAKE_PTR(j->refresh->discovery_error);
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
        RefreshRun *run = userdata;
        double f = 0.05 + 0.85 * MIN(MAX(p->fraction, 0.0), 1.0);

        if (f > run->job->progress)
                job_set_progress(run->job, f);
}

static void on_discovery_done(Discovery *d, const DiscoveryResult *r, void *userdata) {
        RefreshRun *run = userdata;
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
        RefreshRun *run;
        int r;

        m->refresh_job = j;
        job_set_state(j, JOB_RUNNING);

        if (!m->oci) {
                refresh_reload(j);
                return 0;
        }

        run = new0(RefreshRun, 1);
        if (!run)
                return -ENOMEM;
        run->job = j;
        j->refresh = run;
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

/* Cancels what the job runs (an action or a discovery in flight). */
static void job_run_free(Job *j) {
        RefreshRun *run = j->refresh;

        j->action = instance_action_run_free(j->action);
        if (!run)
                return;
        if (run->discovery)
                discovery_cancel(run->discovery);
        /* A cancelled discovery still closes its run row on this connection. */
        db_free_when_idle(run->discovery_db);
        free(run->discovery_error);
        j->refresh = mfree(run);
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
        return instance_action_run_start(j);
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-names.h"
#include "job-dbus.h"
#include "job.h"
#include "json-util.h"
#include "log.h"
#include "manager-dbus.h"
#include "manager.h"
#include "strv.h"

#define PTR_TO_UINT32(p) ((uint32_t) (uintptr_t) (p))
#define UINT32_TO_PTR(u) ((void *) (uintptr_t) (u))

static const char * const job_kind_table[_JOB_KIND_MAX] = {
        [JOB_START] = "start",
        [JOB_STOP] = "stop",
        [JOB_REBOOT] = "reboot",
        [JOB_REFRESH] = "refresh",
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

static const char * const instance_action_table[_INSTANCE_ACTION_MAX] = {
        [ACTION_START] = "START",
        [ACTION_STOP] = "STOP",
        [ACTION_SOFTSTOP] = "SOFTSTOP",
        [ACTION_RESET] = "RESET",
        [ACTION_SOFTRESET] = "SOFTRESET",
};
DEFINE_STRING_TABLE_LOOKUP(instance_action, InstanceAction);

int action_retry_token(const char *origin, const char *instance_id, InstanceAction action, char **ret) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        _cleanup_free_ char *key = NULL;
        char *hex;

        key = strprintf("stopstart:%s:%s:%s", origin, instance_id, instance_action_to_string(action));
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

/* ---- objects ------------------------------------------------------------------------------ */

Job *manager_get_job(Manager *m, uint32_t id) {
        void *v;

        if (id == 0 || !lh_table_lookup_ex(m->jobs, (void *) (uintptr_t) id, &v))
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
        json_object_object_add(o, "result", json_object_new_string(job_result_to_string(j->result)));
        json_object_object_add(o, "error", json_object_new_string(j->error));
        return o;
}

static void job_set_progress(Job *j, double p) {
        if (p == j->progress)
                return;
        j->progress = p;
        job_mark_dirty(j, JOB_PROP_PROGRESS);
}

/* ---- persistence: statements that must not get lost ------------------------------------ */

typedef struct PersistentWrite {
        Manager *manager;
        char *sql;
        char **params;
        int n_params;
        unsigned attempts;
} PersistentWrite;

static void persistent_write_free(PersistentWrite *w) {
        free(w->sql);
        for (int i = 0; i < w->n_params; i++)
                free(w->params[i]);
        free(w->params);
        free(w);
}

static void on_persistent_write(Db *db, PGresult *r, int error, void *userdata) {
        PersistentWrite *w = userdata;

        PQclear(r);
        /* The statements are idempotent: a lost answer is answered by sending them again. */
        if (error == -ECONNRESET && ++w->attempts < 10 &&
            db_query(db, w->sql, w->n_params, (const char * const *) w->params, 0, on_persistent_write, w) >= 0)
                return;
        if (error < 0 && error != -ECANCELED)
                log_warning_errno(error, "Could not record a job change: %s", db_last_error(db));
        persistent_write_free(w);
}

/* Queued (not fail-fast): while the database is away it waits for the reconnection. */
static int job_write(Manager *m, const char *sql, int n_params, const char * const *params) {
        PersistentWrite *w;
        int r;

        if (!m->db)
                return -ENOTCONN;
        w = new0(PersistentWrite, 1);
        if (!w)
                return -ENOMEM;
        w->manager = m;
        w->sql = strdup(sql);
        w->params = new0(char *, n_params);
        if (!w->sql || !w->params) {
                persistent_write_free(w);
                return -ENOMEM;
        }
        for (int i = 0; i < n_params; i++) {
                w->n_params = i + 1;
                if (params[i] && !(w->params[i] = strdup(params[i]))) {
                        persistent_write_free(w);
                        return -ENOMEM;
                }
        }
        w->n_params = n_params;
        r = db_query(m->db, w->sql, w->n_params, (const char * const *) w->params, 0, on_persistent_write, w);
        if (r < 0)
                persistent_write_free(w);
        return r;
}

static void job_persist_state(Job *j) {
        char id[16];
        snprintf(id, sizeof id, "%" PRIu32, j->id);

        if (j->state == JOB_DONE) {
                const char *p[] = { id, job_result_to_string(j->result), j->error };
                (void) job_write(j->manager,
                                 "UPDATE stopstart.jobs SET state = 'done', result = $2, error = $3, "
                                 "started_at = coalesce(started_at, now()), finished_at = coalesce(finished_at, now()) "
                                 "WHERE id = $1::bigint",
                                 3, p);
        } else {
                const char *p[] = { id, job_state_to_string(j->state) };
                (void) job_write(j->manager,
                                 "UPDATE stopstart.jobs SET state = $2, started_at = CASE WHEN $2 = 'running' "
                                 "THEN coalesce(started_at, now()) END WHERE id = $1::bigint AND state <> 'done'",
                                 2, p);
        }
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

        job_emit_removed(j);
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

        i = j->kind != JOB_REFRESH ? manager_get_instance(m, j->target) : NULL;
        if (i && i->job_id == j->id)
                i->job_id = 0;
        if (m->refresh_job == j)
                m->refresh_job = NULL;

        if (result == JOB_RESULT_DONE || result == JOB_RESULT_SKIPPED)
                log_info("Job %" PRIu32 " (%s %s) %s%s%s", j->id, job_kind_to_string(j->kind), j->target,
                         job_result_to_string(result), isempty(error) ? "" : ": ", strempty(error));
        else
                log_warning("Job %" PRIu32 " (%s %s) %s%s%s", j->id, job_kind_to_string(j->kind), j->target,
                            job_result_to_string(result), isempty(error) ? "" : ": ", strempty(error));

        manager_send_job_removed(m, j);
        manager_mark_dirty(m, MANAGER_PROP_N_JOBS);
        manager_update_status(m);

        r = sd_event_add_time_relative(m->event, &j->linger, CLOCK_MONOTONIC, m->job_linger_usec, 0, on_linger_over,
                                       j);
        if (r < 0) {
                job_emit_removed(j);
                job_free(j);
        }
}

/* ---- refresh ------------------------------------------------------------------------------------ */

static void on_refresh_loaded(Manager *m, int error, void *userdata) {
        Job *j = manager_get_job(m, PTR_TO_UINT32(userdata));

        if (!j)
                return;
        if (error < 0) {
                _cleanup_free_ char *e = strprintf("Reading the inventory failed: %s", strerror(-error));
                job_finish(j, JOB_RESULT_FAILED, e);
        } else
                job_finish(j, JOB_RESULT_DONE, NULL);
}

static int job_start_refresh(Job *j) {
        Manager *m = j->manager;
        int r;

        m->refresh_job = j;
        job_set_state(j, JOB_RUNNING);
        job_set_progress(j, 0.5);
        /* Discovery stores what it finds in the database; the inventory in memory is then read
         * back from there, so a refresh always ends with a reload. */
        r = manager_load(m, on_refresh_loaded, UINT32_TO_PTR(j->id));
        if (r < 0) {
                _cleanup_free_ char *e = strprintf("Reading the inventory failed: %s", strerror(-r));
                job_finish(j, JOB_RESULT_FAILED, e);
        }
        return 0;
}

/* ---- instance actions --------------------------------------------------------------------------- */

struct JobRun {
        Job *job;
};

static void job_run_free(Job *j) {
        j->run = mfree(j->run);
}

static int job_start_action(Job *j) {
        Manager *m = j->manager;
        Instance *i = manager_get_instance(m, j->target);

        if (!i) {
                job_finish(j, JOB_RESULT_FAILED, "The instance is no longer known.");
                return 0;
        }
        i->job_id = j->id;
        job_set_state(j, JOB_RUNNING);
        job_finish(j, JOB_RESULT_FAILED, "No OCI client is configured.");
        return 0;
}

int job_start(Job *j) {
        if (j->state == JOB_DONE)
                return -ESTALE;
        if (j->kind == JOB_REFRESH)
                return job_start_refresh(j);
        return job_start_action(j);
}

int job_cancel(Job *j, uid_t uid) {
        Manager *m = j->manager;
        _cleanup_free_ char *actor = NULL, *uid_s = NULL, *id = NULL, *msg = NULL;

        if (j->state == JOB_DONE)
                return -ESTALE;

        actor = manager_actor_name(uid);
        id = strprintf("%" PRIu32, j->id);
        if (uid != (uid_t) -1)
                uid_s = strprintf("%u", (unsigned) uid);
        msg = strprintf("Canceled by %s.", strna(actor));
        if (!actor || !id || !msg)
                return -ENOMEM;

        const char *p[] = { uid_s, actor, id };
        (void) job_write(m,
                         "INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, new_value) "
                         "VALUES ($1::bigint, $2, 'cancel', 'job', $3, '{}'::jsonb)",
                         3, p);
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

static void on_job_inserted(Db *db, PGresult *r, int error, void *userdata) {
        JobCreate *c = userdata;
        Manager *m = c->manager;
        Job *j = NULL;
        uint64_t id = 0;

        if (error >= 0) {
                if (PQntuples(r) == 1 && sscanf(PQgetvalue(r, 0, 0), "%" SCNu64, &id) == 1 && id > 0 &&
                    id <= UINT32_MAX)
                        error = job_new(m, (uint32_t) id, c->kind, c->target, &j);
                else
                        error = -EBADMSG;
        }
        PQclear(r);

        if (error >= 0) {
                j->mode = c->mode;
                j->uid = c->uid;
                job_mark_dirty(j, JOB_PROP_ADDED);
                manager_send_job_new(m, j);
                if (j->kind != JOB_REFRESH) {
                        Instance *i = manager_get_instance(m, j->target);
                        if (i)
                                i->job_id = j->id;
                }
                log_info("Job %" PRIu32 " (%s %s) queued.", j->id, job_kind_to_string(j->kind), j->target);
        }
        if (c->handler)
                c->handler(m, j, error, c->userdata);
        if (j && error >= 0)
                (void) job_start(j);
        job_create_free(c);
}

int job_create(Manager *m, JobKind kind, const char *target, StopMode mode, uid_t uid,
               job_created_handler_t handler, void *userdata) {
        _cleanup_free_ char *actor = NULL, *uid_s = NULL;
        JobCreate *c;
        int r;

        if (!m->db || db_get_state(m->db) != DB_CONNECTED)
                return -ENOTCONN;

        actor = manager_actor_name(uid);
        if (uid != (uid_t) -1)
                uid_s = strprintf("%u", (unsigned) uid);
        if (!actor || (uid != (uid_t) -1 && !uid_s))
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

        const char *mode_s = kind == JOB_STOP || kind == JOB_REBOOT ? stop_mode_to_string(mode) : "";
        const char *params[] = {
                job_kind_to_string(kind), c->target, mode_s, actor, uid_s,
                kind == JOB_REFRESH ? "manager" : "instance",
                /* Periodic refreshes are not operator actions: they are not audited. */
                uid == (uid_t) -1 && kind == JOB_REFRESH ? "false" : "true",
        };
        r = db_query(m->db,
                     "WITH j AS (INSERT INTO stopstart.jobs (kind, target, mode, requested_by) "
                     "           VALUES ($1, $2, $3, $4) RETURNING id), "
                     "a AS (INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, new_value) "
                     "      SELECT $5::bigint, $4, $1, $6, $2, jsonb_build_object('job', j.id, 'mode', $3) "
                     "      FROM j WHERE $7::boolean) "
                     "SELECT id FROM j",
                     7, params, DB_QUERY_FAIL_FAST, on_job_inserted, c);
        if (r < 0)
                job_create_free(c);
        return r;
}

/* ---- resumption at start-up ------------------------------------------------------------------------ */

static void on_unfinished_jobs(Db *db, PGresult *r, int error, void *userdata) {
        Manager *m = userdata;

        if (error < 0) {
                if (error != -ECANCELED)
                        log_warning_errno(error, "Could not read unfinished jobs: %s", db_last_error(db));
                PQclear(r);
                return;
        }

        for (int row = 0; row < PQntuples(r); row++) {
                uint64_t id = 0;
                JobKind kind = job_kind_from_string(PQgetvalue(r, row, 1));
                Job *j;

                if (sscanf(PQgetvalue(r, row, 0), "%" SCNu64, &id) != 1 || id == 0 || id > UINT32_MAX || kind < 0)
                        continue;
                if (job_new(m, (uint32_t) id, kind, PQgetvalue(r, row, 2), &j) < 0)
                        continue;
                j->mode = stop_mode_from_string(PQgetvalue(r, row, 3));
                if ((int) j->mode < 0)
                        j->mode = STOP_MODE_SOFT;
                j->resumed = true;
                job_mark_dirty(j, JOB_PROP_ADDED);

                if (kind == JOB_REFRESH) {
                        job_finish(j, JOB_RESULT_CANCELED, "Interrupted: stopstartd was restarted.");
                        continue;
                }
                /* Its action rows, if any, carry their retry tokens: resuming cannot act twice. */
                log_info("Resuming job %" PRIu32 " (%s %s).", j->id, job_kind_to_string(kind), j->target);
                manager_send_job_new(m, j);
                (void) job_start(j);
        }
        PQclear(r);
}

int manager_resume_jobs(Manager *m) {
        return db_query(m->db,
                        "SELECT id, kind, target, mode FROM stopstart.jobs WHERE state <> 'done' "
                        "AND kind IN ('start', 'stop', 'reboot', 'refresh') ORDER BY id",
                        0, NULL, 0, on_unfinished_jobs, m);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "job-store.h"

typedef enum JobCallKind {
        JOB_CALL_ID,
        JOB_CALL_JOBS,
        JOB_CALL_ACTIONS,       /* action, state */
        JOB_CALL_RECORDED,      /* id, state, retry_token: exactly one row */
        JOB_CALL_DONE,
} JobCallKind;

typedef struct JobCall {
        JobCallKind kind;
        void (*handler)(void);
        void *userdata;
} JobCall;

static uint64_t get_u64(const PGresult *r, int row, int col) {
        uint64_t v = 0;
        return sscanf(PQgetvalue(r, row, col), "%" SCNu64, &v) == 1 ? v : 0;
}

static int decode(JobCall *c, const PGresult *r, int error, const char *message) {
        int n = error >= 0 ? PQntuples(r) : 0;

        if (c->kind == JOB_CALL_RECORDED && error >= 0 && n != 1) {
                error = -EBADMSG;
                n = 0;
        }

        switch (c->kind) {
        case JOB_CALL_ID: {
                uint64_t id = 0;
                if (error >= 0 && (n != 1 || (id = get_u64(r, 0, 0)) == 0))
                        error = -EBADMSG;
                ((job_store_id_handler_t) c->handler)(error, error >= 0 ? id : 0, error < 0 ? message : NULL,
                                                      c->userdata);
                return 0;
        }
        case JOB_CALL_JOBS: {
                _cleanup_free_ JobRow *rows = n > 0 ? new0(JobRow, n) : NULL;
                if (n > 0 && !rows)
                        return -ENOMEM;
                for (int i = 0; i < n; i++)
                        rows[i] = (JobRow) { get_u64(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                                             PQgetvalue(r, i, 3) };
                ((job_store_list_handler_t) c->handler)(error, rows, n, error < 0 ? message : NULL, c->userdata);
                return 0;
        }
        case JOB_CALL_RECORDED:
        case JOB_CALL_ACTIONS: {
                bool recorded = c->kind == JOB_CALL_RECORDED;
                _cleanup_free_ JobActionRow *rows = n > 0 ? new0(JobActionRow, n) : NULL;
                if (n > 0 && !rows)
                        return -ENOMEM;
                for (int i = 0; i < n; i++)
                        rows[i] = recorded ?
                                (JobActionRow) { .id = strtoll(PQgetvalue(r, i, 0), NULL, 10),
                                                 .action = _OCI_ACTION_INVALID,
                                                 .state = action_state_from_string(PQgetvalue(r, i, 1)),
                                                 .retry_token = PQgetvalue(r, i, 2) } :
                                (JobActionRow) { .action = oci_instance_action_from_string(PQgetvalue(r, i, 0)),
                                                 .state = action_state_from_string(PQgetvalue(r, i, 1)) };
                ((job_store_actions_handler_t) c->handler)(error, rows, n, error < 0 ? message : NULL, c->userdata);
                return 0;
        }
        case JOB_CALL_DONE:
                ((job_store_done_handler_t) c->handler)(error, error < 0 ? message : NULL, c->userdata);
                return 0;
        }
        return 0;
}

static void on_result(Db *db, PGresult *r, int error, void *userdata) {
        _cleanup_free_ JobCall *c = userdata;

        if (decode(c, r, error, db_last_error(db)) < 0)
                (void) decode(c, NULL, -ENOMEM, "out of memory");
        PQclear(r);
}

static JobCall *job_call_new(JobCallKind kind, void (*handler)(void), void *userdata) {
        JobCall *c = new(JobCall, 1);
        if (c)
                *c = (JobCall) { kind, handler, userdata };
        return c;
}

/* A statement answered through handler; with wanted set, sent again when its answer is lost. */
static int submit(Db *db, const char *sql, int n, const char * const *params, DbQueryFlags flags, bool retry,
                  store_wanted_t wanted, JobCallKind kind, void (*handler)(void), void *userdata) {
        JobCall *c;
        int r;

        if (!db)
                return -ENOTCONN;
        c = job_call_new(kind, handler, userdata);
        if (!c)
                return -ENOMEM;
        r = retry ? store_query_retry(db, sql, n, params, wanted, on_result, c)
                  : db_query(db, sql, n, params, flags, on_result, c);
        if (r < 0)
                free(c);
        return r;
}

static const char *fmt_u32(char buf[static 16], uint32_t v) {
        snprintf(buf, 16, "%" PRIu32, v);
        return buf;
}

static const char *fmt_i64(char buf[static 24], int64_t v) {
        snprintf(buf, 24, "%" PRId64, v);
        return buf;
}

/* ---- jobs ---- */

int job_store_insert(Db *db, const char *kind, const char *target, const char *mode, const char *object_kind,
                     bool audit, const StoreActor *actor, job_store_id_handler_t handler, void *userdata) {
        char uid[16];
        const char *params[] = {
                kind, target, mode, actor->name, actor->uid == (uid_t) -1 ? NULL : fmt_u32(uid, actor->uid),
                object_kind, audit ? "true" : "false",
        };

        assert(handler);
        return submit(db,
                      "WITH j AS (INSERT INTO stopstart.jobs (kind, target, mode, requested_by) "
                      "           VALUES ($1, $2, $3, $4) RETURNING id), "
                      "a AS (INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, new_value) "
                      "      SELECT $5::bigint, $4, $1, $6, $2, jsonb_build_object('job', j.id, 'mode', $3) "
                      "      FROM j WHERE $7::boolean) "
                      "SELECT id FROM j",
                      7, params, DB_QUERY_FAIL_FAST, false, NULL, JOB_CALL_ID, (void (*)(void)) handler, userdata);
}

int job_store_set_state(Db *db, uint32_t id, const char *state) {
        char s[16];

        return store_write(db,
                           "UPDATE stopstart.jobs SET state = $2, started_at = CASE WHEN $2 = 'running' "
                           "THEN coalesce(started_at, now()) END WHERE id = $1::bigint AND state <> 'done'",
                           2, (const char *[]) { fmt_u32(s, id), state });
}

int job_store_finish(Db *db, uint32_t id, const char *result, const char *error) {
        char s[16];

        return store_write(db,
                           "UPDATE stopstart.jobs SET state = 'done', result = $2, error = $3, "
                           "started_at = coalesce(started_at, now()), finished_at = coalesce(finished_at, now()) "
                           "WHERE id = $1::bigint",
                           3, (const char *[]) { fmt_u32(s, id), result, error });
}

int job_store_unfinished(Db *db, job_store_list_handler_t handler, void *userdata) {
        assert(handler);
        return submit(db,
                      "SELECT id, kind, target, mode FROM stopstart.jobs WHERE state <> 'done' "
                      "AND kind IN ('start', 'stop', 'reboot', 'refresh', 'occurrence') ORDER BY id",
                      0, NULL, 0, false, NULL, JOB_CALL_JOBS, (void (*)(void)) handler, userdata);
}

/* ---- a job's actions ---- */

int job_store_actions(Db *db, uint32_t job_id, store_wanted_t wanted, job_store_actions_handler_t handler,
                      void *userdata) {
        char id[16];

        assert(handler);
        return submit(db, "SELECT action, state FROM stopstart.actions WHERE job_id = $1::bigint ORDER BY id",
                      1, (const char *[]) { fmt_u32(id, job_id) }, 0, true, wanted, JOB_CALL_ACTIONS,
                      (void (*)(void)) handler, userdata);
}

int job_store_record_action(Db *db, uint32_t job_id, const char *instance_id, OciInstanceAction action,
                            const char *retry_token, const char *reason, store_wanted_t wanted,
                            job_store_actions_handler_t handler, void *userdata) {
        char id[16];

        assert(handler);
        return submit(db,
                      "INSERT INTO stopstart.actions (job_id, instance_id, action, retry_token, reason) "
                      "VALUES ($1::bigint, $2, $3, $4, $5) "
                      "ON CONFLICT (job_id, instance_id, action) WHERE job_id IS NOT NULL "
                      "DO UPDATE SET reason = stopstart.actions.reason "
                      "RETURNING id, state, retry_token",
                      5, (const char *[]) { fmt_u32(id, job_id), instance_id, oci_instance_action_to_string(action),
                                            retry_token, strempty(reason) },
                      0, true, wanted, JOB_CALL_RECORDED, (void (*)(void)) handler, userdata);
}

int job_store_mark_action_sent(Db *db, int64_t action_id, store_wanted_t wanted, job_store_done_handler_t handler,
                               void *userdata) {
        char id[24];

        assert(handler);
        return submit(db,
                      "UPDATE stopstart.actions SET state = 'sent', sent_at = coalesce(sent_at, now()), "
                      "attempts = attempts + 1 WHERE id = $1::bigint",
                      1, (const char *[]) { fmt_i64(id, action_id) }, 0, true, wanted, JOB_CALL_DONE,
                      (void (*)(void)) handler, userdata);
}

int job_store_action_failed(Db *db, int64_t action_id, const char *error, const char *opc_request_id) {
        char id[24];

        return store_write(db,
                           "UPDATE stopstart.actions SET state = 'failed', error = $2, opc_request_id = "
                           "coalesce($3, opc_request_id), finished_at = now() WHERE id = $1::bigint",
                           3, (const char *[]) { fmt_i64(id, action_id), error, opc_request_id });
}

int job_store_action_confirmed(Db *db, int64_t action_id, const char *opc_request_id) {
        char id[24];

        return store_write(db,
                           "UPDATE stopstart.actions SET state = 'confirmed', confirmed_at = now(), "
                           "opc_request_id = coalesce($2, opc_request_id) WHERE id = $1::bigint",
                           2, (const char *[]) { fmt_i64(id, action_id), opc_request_id });
}

int job_store_action_finished(Db *db, int64_t action_id) {
        char id[24];

        return store_write(db, "UPDATE stopstart.actions SET finished_at = now() WHERE id = $1::bigint",
                           1, (const char *[]) { fmt_i64(id, action_id) });
}

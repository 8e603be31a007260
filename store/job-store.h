/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every SQL statement about jobs (stopstart.jobs) and a job's instance actions
 * (stopstart.actions keyed job, instance, action), on the daemon's connection (db.h). Job kinds,
 * states, results and stop modes are passed as their stored text (the enums are the exec room's).
 *
 * Handlers run exactly once unless the submission failed (negative return, no handler); message
 * is db_last_error() on failure, NULL on success. Rows point into the result: valid during the
 * handler only. Writes documented as "kept" are store_write()s (store.h): queued while the
 * database is away, sent again when the answer is lost, failures logged. */

#include <stdbool.h>
#include <stdint.h>

#include "oci-model.h"
#include "schedule.h"
#include "store.h"

typedef void (*job_store_id_handler_t)(int error, uint64_t id, const char *message, void *userdata);

/* Inserts a job row (state waiting) and, when audit, its audit entry (operation = kind, object
 * object_kind/target, {"job": id, "mode": mode}) in one statement. Fail-fast: -ENOTCONN while the
 * database is away. The handler gets the new id (-EBADMSG: no id came back). */
int job_store_insert(Db *db, const char *kind, const char *target, const char *mode, const char *object_kind,
                     bool audit, const StoreActor *actor, job_store_id_handler_t handler, void *userdata);
/* waiting -> running (started_at) or back; never touches a job that is done. Kept. */
int job_store_set_state(Db *db, uint32_t id, const char *state);
/* done, with result and error (started_at, finished_at set if unset). Kept. */
int job_store_finish(Db *db, uint32_t id, const char *result, const char *error);

typedef struct JobRow {
        uint64_t id;                    /* 0: unreadable */
        const char *kind, *target, *mode;
} JobRow;
typedef void (*job_store_list_handler_t)(int error, const JobRow *rows, size_t n, const char *message,
                                         void *userdata);
/* Jobs not done of the kinds this build knows, in id order: what start-up resumes. */
int job_store_unfinished(Db *db, job_store_list_handler_t handler, void *userdata);

/* ---- a job's actions: sent again while wanted(userdata) when an answer is lost ---- */

typedef struct JobActionRow {
        int64_t id;                     /* job_store_record_action() only */
        OciInstanceAction action;       /* _OCI_ACTION_INVALID: unknown to this build */
        ActionState state;              /* _ACTION_STATE_INVALID: unknown to this build */
        const char *retry_token;        /* job_store_record_action() only */
} JobActionRow;
typedef void (*job_store_actions_handler_t)(int error, const JobActionRow *rows, size_t n, const char *message,
                                            void *userdata);
typedef void (*job_store_done_handler_t)(int error, const char *message, void *userdata);

/* The actions of a job, in id order (action, state). */
int job_store_actions(Db *db, uint32_t job_id, store_wanted_t wanted, job_store_actions_handler_t handler,
                      void *userdata);
/* Inserts the action row (job, instance, action) before any HTTP call, or finds it again when it
 * exists; the handler gets it (n == 1: id, state, retry_token as stored; -EBADMSG otherwise). */
int job_store_record_action(Db *db, uint32_t job_id, const char *instance_id, OciInstanceAction action,
                            const char *retry_token, const char *reason, store_wanted_t wanted,
                            job_store_actions_handler_t handler, void *userdata);
/* The action is about to be sent: state sent, sent_at (first time), attempts + 1. */
int job_store_mark_action_sent(Db *db, int64_t action_id, store_wanted_t wanted, job_store_done_handler_t handler,
                               void *userdata);
/* OCI refused it: failed with error (opc_request_id kept when NULL), finished_at. Kept. */
int job_store_action_failed(Db *db, int64_t action_id, const char *error, const char *opc_request_id);
/* OCI accepted it: confirmed, confirmed_at. Kept. */
int job_store_action_confirmed(Db *db, int64_t action_id, const char *opc_request_id);
/* The instance reached the action's target state: finished_at. Kept. */
int job_store_action_finished(Db *db, int64_t action_id);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Non-blocking PostgreSQL on sd-event.
 *
 * One connection, one statement in flight at a time, a FIFO of queued statements behind it.
 * The loop never blocks: connecting uses PQconnectStart/PQconnectPoll, statements
 * PQsendQueryParams + PQconsumeInput/PQflush driven by the socket's io source.
 *
 * When the connection drops, the statement in flight fails with -ECONNRESET (its outcome is
 * unknown to us, the caller decides), statements not yet sent stay queued unless they were
 * submitted with DB_QUERY_FAIL_FAST, and the connection is re-established with exponential
 * backoff. Nothing is dropped silently: every submitted statement gets exactly one callback. */

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "string-table.h"

typedef struct Db Db;
typedef struct DbQuery DbQuery;

typedef enum DbState {
        DB_DISCONNECTED,   /* not started, or waiting to reconnect */
        DB_CONNECTING,
        DB_CONNECTED,
        _DB_STATE_MAX,
        _DB_STATE_INVALID = -EINVAL,
} DbState;

DECLARE_STRING_TABLE_LOOKUP(db_state, DbState);

typedef enum DbQueryFlags {
        /* Fail with -ENOTCONN instead of waiting in the queue while disconnected. */
        DB_QUERY_FAIL_FAST = 1 << 0,
} DbQueryFlags;

/* Called once per statement, with the statement's last PGresult, owned by the handler from then
 * on (PQclear it, or keep it). error is 0 on success; -EIO when the server reported an error
 * (result is then the error result: PQresultErrorField gives SQLSTATE and message); with result
 * NULL: -ECONNRESET (connection lost while in flight: outcome unknown), -ENOTCONN
 * (DB_QUERY_FAIL_FAST while disconnected), -ECANCELED (db freed). */
typedef void (*db_result_handler_t)(Db *db, PGresult *result, int error, void *userdata);

/* Called for each notification (LISTEN/NOTIFY) the connection receives: channel, payload and the
 * PID of the server process that sent it. */
typedef void (*db_notify_handler_t)(Db *db, const char *channel, const char *payload, int sender_pid,
                                    void *userdata);

/* Called whenever the connection state changes. */
typedef void (*db_state_handler_t)(Db *db, DbState state, void *userdata);

int db_new(sd_event *event, const char *conninfo, Db **ret);
Db *db_free(Db *db);
DEFINE_TRIVIAL_CLEANUP_FUNC(Db*, db_free);
/* Lets the statements submitted so far finish, then frees db from the event loop (at once when
 * nothing is pending or the connection is down: nothing would answer them then). For a last
 * write such as closing a cancelled run's row. The caller gives up db. */
void db_free_when_idle(Db *db);

void db_set_state_handler(Db *db, db_state_handler_t handler, void *userdata);
void db_set_notify_handler(Db *db, db_notify_handler_t handler, void *userdata);
/* The server process of the connection (pg_backend_pid()), 0 while not connected: tells a
 * notification of our own writes from another daemon's. */
int db_backend_pid(Db *db);

/* Called when a statement fails because something it names does not exist (a table, column,
 * schema, function or type: SQLSTATE 42P01, 42703, 3F000, 42883, 42704): the schema is no longer
 * the one this build was written for (a `stopstartctl db downgrade` under us). Runs before the
 * statement's own handler. */
typedef void (*db_schema_handler_t)(Db *db, const char *message, void *userdata);
void db_set_schema_handler(Db *db, db_schema_handler_t handler, void *userdata);
/* Whether r failed that way. */
bool db_result_is_schema_mismatch(const PGresult *r);
/* First and maximum delay between reconnection attempts, in microseconds. */
void db_set_reconnect_backoff(Db *db, uint64_t initial_usec, uint64_t max_usec);

/* Starts connecting (asynchronously). */
int db_start(Db *db);

DbState db_get_state(Db *db);
/* Human text of the last connection or statement error ("" if none). */
const char *db_last_error(Db *db);
/* Number of statements queued or in flight. */
size_t db_pending(Db *db);

/* Queues a statement with text parameters (NULL entries are SQL NULL). */
int db_query(Db *db, const char *sql, int n_params, const char * const *params,
             DbQueryFlags flags, db_result_handler_t handler, void *userdata);
/* The same, taking the parameters (malloc'd strings, or NULL; set to NULL here, freed also on
 * failure): no copy of large ones, such as a 13 MB inventory snapshot. */
int db_query_take(Db *db, const char *sql, int n_params, char **params, DbQueryFlags flags,
                  db_result_handler_t handler, void *userdata);

/* db_query() and db_query_take() with a heap copy of the size bytes at call (a store call's
 * handler, userdata and whatever its result needs) as the userdata, which handler owns and frees;
 * freed here when the statement could not be queued. -ENOTCONN without a db. */
int db_query_call(Db *db, const char *sql, int n_params, const char * const *params, DbQueryFlags flags,
                  db_result_handler_t handler, const void *call, size_t size);
int db_query_call_take(Db *db, const char *sql, int n_params, char **params, DbQueryFlags flags,
                       db_result_handler_t handler, const void *call, size_t size);

/* Helpers for handlers. */
bool db_result_ok(const PGresult *r);

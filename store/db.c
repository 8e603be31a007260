/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "db.h"
#include "log.h"
#include "pq-util.h"
#include "strv.h"

struct DbQuery {
        DbQuery *next;
        char *sql;
        char **params;     /* n_params entries, NULL entries allowed (not a strv) */
        int n_params;
        DbQueryFlags flags;
        db_result_handler_t handler;
        void *userdata;
};

struct Db {
        sd_event *event;
        char *conninfo;
        PGconn *conn;
        sd_event_source *io;
        int io_fd;
        uint32_t io_events;
        sd_event_source *retry;
        sd_event_source *free_when_idle;
        bool want_free;

        DbState state;
        db_state_handler_t state_handler;
        db_schema_handler_t schema_handler;
        void *schema_userdata;
        db_notify_handler_t notify_handler;
        void *notify_userdata;
        void *state_userdata;

        DbQuery *head, *tail;   /* waiting to be sent */
        DbQuery *in_flight;
        PGresult *in_flight_result;
        size_t n_pending;

        uint64_t backoff_initial, backoff_max, backoff;
        char *error;

        DbQuery rollback;       /* internal, never completed to a caller */
};

static const char * const db_state_table[_DB_STATE_MAX] = {
        [DB_DISCONNECTED] = "disconnected",
        [DB_CONNECTING] = "connecting",
        [DB_CONNECTED] = "connected",
};

DEFINE_STRING_TABLE_LOOKUP(db_state, DbState);

static DbQuery *db_query_free(DbQuery *q) {
        if (!q)
                return NULL;
        free(q->sql);
        for (int i = 0; i < q->n_params; i++)
                free(q->params[i]);
        free(q->params);
        return mfree(q);
}

static void db_set_error(Db *db, const char *msg) {
        char *s = pq_one_line(msg);
        if (!s)
                return;
        free(db->error);
        db->error = s;
}

static void db_set_state(Db *db, DbState state) {
        if (db->state == state)
                return;
        db->state = state;
        log_debug("Database connection %s.", db_state_to_string(state));
        if (db->state_handler)
                db->state_handler(db, state, db->state_userdata);
}

static int db_free_handler(sd_event_source *s, void *userdata) {
        db_free(userdata);
        return 0;
}

/* Freeing is deferred to the loop: we may be deep inside db's own dispatch here. */
static void db_schedule_free(Db *db) {
        if (db->free_when_idle)
                return;
        if (sd_event_add_defer(db->event, &db->free_when_idle, db_free_handler, db) < 0) {
                log_debug("Cannot defer freeing the database connection, leaving it open.");
                return;
        }
        (void) sd_event_source_set_description(db->free_when_idle, "db-free-when-idle");
}

static void db_complete(Db *db, DbQuery *q, PGresult *r, int error) {
        if (q == &db->rollback) {
                /* A lost connection takes the transaction with it: nothing to roll back. */
                PQclear(r);
                return;
        }
        assert(db->n_pending > 0);
        db->n_pending--;
        if (q->handler)
                q->handler(db, r, error, q->userdata);
        else
                PQclear(r);
        db_query_free(q);
        if (db->want_free && db->n_pending == 0)
                db_schedule_free(db);
}

static DbQuery *db_pop(Db *db) {
        DbQuery *q = db->head;
        if (q) {
                db->head = q->next;
                if (!db->head)
                        db->tail = NULL;
                q->next = NULL;
        }
        return q;
}

static void db_push_front(Db *db, DbQuery *q) {
        q->next = db->head;
        db->head = q;
        if (!db->tail)
                db->tail = q;
}

static int db_watch(Db *db, uint32_t events);
static void db_connection_lost(Db *db);
static void db_send_next(Db *db);

static int db_retry_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        Db *db = userdata;
        db->retry = sd_event_source_unref(db->retry);
        (void) db_start(db);
        return 0;
}

static void db_schedule_retry(Db *db) {
        int r;

        if (db->retry)
                return;
        r = sd_event_add_time_relative(db->event, &db->retry, CLOCK_MONOTONIC, db->backoff, 0,
                                       db_retry_handler, db);
        if (r < 0) {
                log_debug_errno(r, "Failed to schedule database reconnection: %m");
                return;
        }
        (void) sd_event_source_set_description(db->retry, "db-reconnect");
        log_debug("Reconnecting to the database in %llu ms.", (unsigned long long) db->backoff / 1000);
        db->backoff = MIN(db->backoff * 2, db->backoff_max);
}

static void db_close(Db *db) {
        db->io = sd_event_source_disable_unref(db->io);
        db->io_fd = -1;
        db->io_events = 0;
        if (db->conn) {
                PQfinish(db->conn);
                db->conn = NULL;
        }
}

/* Everything that cannot wait fails now; the rest waits for the next connection. */
static void db_fail_fast_queued(Db *db) {
        DbQuery *keep_head = NULL, *keep_tail = NULL, *q;

        while ((q = db_pop(db))) {
                if (q == &db->rollback)
                        continue;  /* the transaction died with the connection */
                if (q->flags & DB_QUERY_FAIL_FAST) {
                        db_complete(db, q, NULL, -ENOTCONN);
                        continue;
                }
                if (keep_tail)
                        keep_tail->next = q;
                else
                        keep_head = q;
                keep_tail = q;
        }
        db->head = keep_head;
        db->tail = keep_tail;
}

static void db_connection_lost(Db *db) {
        DbQuery *q;

        if (db->conn)
                db_set_error(db, PQerrorMessage(db->conn));
        log_debug("Database connection lost: %s", strna(db->error));
        db_close(db);

        q = TAKE_PTR(db->in_flight);
        if (q) {
                PQclear(TAKE_PTR(db->in_flight_result));
                db_complete(db, q, NULL, -ECONNRESET);
        }
        db_set_state(db, DB_DISCONNECTED);
        if (db->want_free) {
                db_schedule_free(db);
                return;
        }
        db_fail_fast_queued(db);
        db_schedule_retry(db);
}

static void db_connected(Db *db) {
        if (PQsetnonblocking(db->conn, 1) < 0) {
                db_connection_lost(db);
                return;
        }
        db->backoff = db->backoff_initial;
        free(db->error);
        db->error = NULL;
        db_set_state(db, DB_CONNECTED);
        if (db_watch(db, EPOLLIN) < 0) {
                db_connection_lost(db);
                return;
        }
        db_send_next(db);
}

static void db_poll_connect(Db *db) {
        switch (PQconnectPoll(db->conn)) {
        case PGRES_POLLING_READING:
                if (db_watch(db, EPOLLIN) < 0)
                        db_connection_lost(db);
                break;
        case PGRES_POLLING_WRITING:
                if (db_watch(db, EPOLLOUT) < 0)
                        db_connection_lost(db);
                break;
        case PGRES_POLLING_OK:
                db_connected(db);
                break;
        default:
                db_connection_lost(db);
        }
}

/* Collects results of the statement in flight; completes it when libpq returns NULL. */
static void db_read_results(Db *db) {
        while (db->in_flight && !PQisBusy(db->conn)) {
                PGresult *r = PQgetResult(db->conn);
                if (!r) {
                        DbQuery *q = TAKE_PTR(db->in_flight);
                        PGresult *last = TAKE_PTR(db->in_flight_result);
                        int error = db_result_ok(last) ? 0 : -EIO;
                        if (error < 0)
                                db_set_error(db, last ? PQresultErrorMessage(last) : "no result");
                        if (error < 0 && q != &db->rollback && db->schema_handler &&
                            db_result_is_schema_mismatch(last))
                                db->schema_handler(db, db->error, db->schema_userdata);
                        /* Each statement is its own unit: a script that failed between BEGIN and
                         * COMMIT must not leave the session in an aborted transaction. */
                        if (q != &db->rollback && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
                                db_push_front(db, &db->rollback);
                        if (q == &db->rollback) {
                                PQclear(last);
                                continue;
                        }
                        db_complete(db, q, last, error);
                        continue;
                }
                /* A script of several statements stops at its first error: keep that one. */
                if (db->in_flight_result && !db_result_ok(db->in_flight_result))
                        PQclear(r);
                else {
                        PQclear(db->in_flight_result);
                        db->in_flight_result = r;
                }
        }

        PGnotify *n;
        while (db->conn && (n = PQnotifies(db->conn))) {
                if (db->notify_handler)
                        db->notify_handler(db, n->relname, n->extra, n->be_pid, db->notify_userdata);
                PQfreemem(n);
        }
}

static int db_io_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Db *db = userdata;

        if (db->state == DB_CONNECTING) {
                db_poll_connect(db);
                return 0;
        }

        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                if (!PQconsumeInput(db->conn) || PQstatus(db->conn) == CONNECTION_BAD) {
                        db_connection_lost(db);
                        return 0;
                }
                db_read_results(db);
        }
        if (db->conn && (revents & EPOLLOUT)) {
                int k = PQflush(db->conn);
                if (k < 0) {
                        db_connection_lost(db);
                        return 0;
                }
                if (k == 0 && db_watch(db, EPOLLIN) < 0) {
                        db_connection_lost(db);
                        return 0;
                }
        }
        if (db->conn && !db->in_flight)
                db_send_next(db);
        return 0;
}

static int db_watch(Db *db, uint32_t events) {
        int fd = PQsocket(db->conn), r;

        if (fd < 0)
                return -EBADF;
        /* libpq may switch sockets while connecting (several hosts, SSL fallback). */
        if (db->io && fd != db->io_fd)
                db->io = sd_event_source_disable_unref(db->io);
        if (!db->io) {
                r = sd_event_add_io(db->event, &db->io, fd, events, db_io_handler, db);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(db->io, "db-io");
                db->io_fd = fd;
        } else if (events != db->io_events) {
                r = sd_event_source_set_io_events(db->io, events);
                if (r < 0)
                        return r;
        }
        db->io_events = events;
        return 0;
}

static void db_send_next(Db *db) {
        DbQuery *q;
        int ok, k;

        if (db->state != DB_CONNECTED || db->in_flight)
                return;
        q = db_pop(db);
        if (!q)
                return;

        /* Without parameters the simple protocol runs scripts ("BEGIN; ...; COMMIT"). */
        if (q->n_params == 0)
                ok = PQsendQuery(db->conn, q->sql);
        else
                ok = PQsendQueryParams(db->conn, q->sql, q->n_params, NULL,
                                       (const char * const *) q->params, NULL, NULL, 0);
        if (!ok) {
                if (PQstatus(db->conn) == CONNECTION_BAD) {
                        db_push_front(db, q);  /* never reached the server: resend later */
                        db_connection_lost(db);
                        return;
                }
                db_set_error(db, PQerrorMessage(db->conn));
                db_complete(db, q, NULL, -EIO);
                db_send_next(db);
                return;
        }
        db->in_flight = q;
        /* libpq holds its own copy now, and a statement in flight is never resent: a large
         * parameter is not kept twice */
        for (int i = 0; i < q->n_params; i++)
                q->params[i] = mfree(q->params[i]);

        k = PQflush(db->conn);
        if (k < 0 || db_watch(db, k > 0 ? EPOLLIN | EPOLLOUT : EPOLLIN) < 0)
                db_connection_lost(db);
}

int db_new(sd_event *event, const char *conninfo, Db **ret) {
        _cleanup_(db_freep) Db *db = NULL;

        assert(event);
        assert(ret);

        db = new0(Db, 1);
        if (!db)
                return -ENOMEM;
        db->event = sd_event_ref(event);
        db->conninfo = strdup(strempty(conninfo));
        if (!db->conninfo)
                return -ENOMEM;
        db->io_fd = -1;
        db->rollback.sql = (char *) "ROLLBACK";
        db->backoff_initial = db->backoff = 100 * 1000;
        db->backoff_max = 30 * 1000 * 1000;
        *ret = TAKE_PTR(db);
        return 0;
}

Db *db_free(Db *db) {
        DbQuery *q;

        if (!db)
                return NULL;
        /* Callers are told, so no request is left hanging without an answer. */
        db->state_handler = NULL;
        db->schema_handler = NULL;
        db->notify_handler = NULL;
        q = TAKE_PTR(db->in_flight);
        if (q) {
                PQclear(TAKE_PTR(db->in_flight_result));
                db_complete(db, q, NULL, -ECANCELED);
        }
        while ((q = db_pop(db)))
                db_complete(db, q, NULL, -ECANCELED);
        db_close(db);
        db->retry = sd_event_source_disable_unref(db->retry);
        db->free_when_idle = sd_event_source_disable_unref(db->free_when_idle);
        sd_event_unref(db->event);
        free(db->conninfo);
        free(db->error);
        return mfree(db);
}

void db_free_when_idle(Db *db) {
        if (!db)
                return;
        db->state_handler = NULL;
        if (db->n_pending == 0 || db->state != DB_CONNECTED) {
                db_free(db);
                return;
        }
        db->want_free = true;
}

void db_set_schema_handler(Db *db, db_schema_handler_t handler, void *userdata) {
        db->schema_handler = handler;
        db->schema_userdata = userdata;
}

bool db_result_is_schema_mismatch(const PGresult *r) {
        static const char * const codes[] = { "42P01", "42703", "3F000", "42883", "42704" };
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

        if (!state)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (streq(state, codes[i]))
                        return true;
        return false;
}

void db_set_notify_handler(Db *db, db_notify_handler_t handler, void *userdata) {
        db->notify_handler = handler;
        db->notify_userdata = userdata;
}

int db_backend_pid(Db *db) {
        return db && db->conn && db->state == DB_CONNECTED ? PQbackendPID(db->conn) : 0;
}

void db_set_state_handler(Db *db, db_state_handler_t handler, void *userdata) {
        db->state_handler = handler;
        db->state_userdata = userdata;
}

void db_set_reconnect_backoff(Db *db, uint64_t initial_usec, uint64_t max_usec) {
        db->backoff_initial = db->backoff = MAX(initial_usec, (uint64_t) 1000);
        db->backoff_max = MAX(max_usec, db->backoff_initial);
}

int db_start(Db *db) {
        if (db->state != DB_DISCONNECTED)
                return 0;

        db->retry = sd_event_source_disable_unref(db->retry);
        /* Named, so `stopstartctl db downgrade/restore` can tell a daemon is connected; a name in the
         * conninfo wins. */
        db->conn = PQconnectStartParams((const char *[]) { "fallback_application_name", "dbname", NULL },
                                        (const char *[]) { STOPSTARTD_APPLICATION_NAME, db->conninfo, NULL }, 1);
        if (!db->conn)
                return -ENOMEM;
        (void) PQsetNoticeProcessor(db->conn, pq_notice_to_log, NULL);
        if (PQstatus(db->conn) == CONNECTION_BAD) {
                /* Bad conninfo or no socket: retrying will not help with the former, but the
                 * message says so and the caller sees the state. */
                db_set_error(db, PQerrorMessage(db->conn));
                db_close(db);
                db_fail_fast_queued(db);
                db_schedule_retry(db);
                return -ECONNREFUSED;
        }
        db_set_state(db, DB_CONNECTING);
        if (db_watch(db, EPOLLOUT) < 0) {
                db_connection_lost(db);
                return -EIO;
        }
        return 0;
}

DbState db_get_state(Db *db) {
        return db->state;
}

const char *db_last_error(Db *db) {
        return strempty(db->error);
}

size_t db_pending(Db *db) {
        return db->n_pending;
}

/* take: params are the caller's malloc'd strings, freed here in every case */
static int query_submit(Db *db, const char *sql, int n_params, char **params, bool take, DbQueryFlags flags,
                        db_result_handler_t handler, void *userdata) {
        DbQuery *q;
        int r = -ENOMEM;

        assert(db);
        assert(sql);
        assert(n_params >= 0);

        if ((flags & DB_QUERY_FAIL_FAST) && db->state != DB_CONNECTED) {
                r = -ENOTCONN;
                goto fail;
        }

        q = new0(DbQuery, 1);
        if (!q)
                goto fail;
        q->sql = strdup(sql);
        q->params = new0(char*, n_params);
        if (!q->sql || !q->params) {
                db_query_free(q);
                goto fail;
        }
        for (int i = 0; i < n_params; i++) {
                q->n_params = i + 1;
                if (take)
                        q->params[i] = TAKE_PTR(params[i]);
                else if (params[i] && !(q->params[i] = strdup(params[i]))) {
                        db_query_free(q);
                        goto fail;
                }
        }
        q->n_params = n_params;
        q->flags = flags;
        q->handler = handler;
        q->userdata = userdata;

        if (db->tail)
                db->tail->next = q;
        else
                db->head = q;
        db->tail = q;
        db->n_pending++;

        db_send_next(db);
        return 0;

fail:
        for (int i = 0; take && i < n_params; i++)
                params[i] = mfree(params[i]);
        return r;
}

int db_query(Db *db, const char *sql, int n_params, const char * const *params,
             DbQueryFlags flags, db_result_handler_t handler, void *userdata) {
        return query_submit(db, sql, n_params, (char **) params, false, flags, handler, userdata);
}

int db_query_take(Db *db, const char *sql, int n_params, char **params, DbQueryFlags flags,
                  db_result_handler_t handler, void *userdata) {
        return query_submit(db, sql, n_params, params, true, flags, handler, userdata);
}

static int query_submit_call(Db *db, const char *sql, int n_params, char **params, bool take, DbQueryFlags flags,
                             db_result_handler_t handler, const void *call, size_t size) {
        void *c;
        int r;

        if (!db || !(c = malloc(size))) {
                for (int i = 0; take && i < n_params; i++)
                        params[i] = mfree(params[i]);
                return db ? -ENOMEM : -ENOTCONN;
        }
        memcpy(c, call, size);
        r = query_submit(db, sql, n_params, params, take, flags, handler, c);
        if (r < 0)
                free(c);
        return r;
}

int db_query_call(Db *db, const char *sql, int n_params, const char * const *params, DbQueryFlags flags,
                  db_result_handler_t handler, const void *call, size_t size) {
        return query_submit_call(db, sql, n_params, (char **) params, false, flags, handler, call, size);
}

int db_query_call_take(Db *db, const char *sql, int n_params, char **params, DbQueryFlags flags,
                       db_result_handler_t handler, const void *call, size_t size) {
        return query_submit_call(db, sql, n_params, params, true, flags, handler, call, size);
}

bool db_result_ok(const PGresult *r) {
        if (!r)
                return false;
        switch (PQresultStatus(r)) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
                return true;
        default:
                return false;
        }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "migrate-internal.h"
#include "pq-util.h"
#include "strv.h"
#include "time-util.h"

static const char * const migration_state_table[_MIGRATION_STATE_MAX] = {
        [MIGRATION_STATE_APPLIED] = "applied",
        [MIGRATION_STATE_DIRTY] = "dirty",
        [MIGRATION_STATE_PENDING] = "pending",
        [MIGRATION_STATE_MISSING] = "missing",
};
DEFINE_STRING_TABLE_LOOKUP(migration_state, MigrationState);

static const char * const migrate_event_table[_MIGRATE_EVENT_MAX] = {
        [MIGRATE_EVENT_UPGRADE] = "upgrade",
        [MIGRATE_EVENT_DOWNGRADE] = "downgrade",
        [MIGRATE_EVENT_FAIL] = "fail",
        [MIGRATE_EVENT_STAMP] = "stamp",
        [MIGRATE_EVENT_FIX] = "fix",
        [MIGRATE_EVENT_RESTORE] = "restore",
        [MIGRATE_EVENT_RESET] = "reset",
};
DEFINE_STRING_TABLE_LOOKUP(migrate_event, MigrateEvent);

static const char * const migrate_problem_kind_table[_MIGRATE_PROBLEM_KIND_MAX] = {
        [MIGRATE_PROBLEM_DIRTY] = "dirty",
        [MIGRATE_PROBLEM_CHECKSUM] = "checksum",
        [MIGRATE_PROBLEM_RENAMED] = "renamed",
        [MIGRATE_PROBLEM_MISSING] = "missing",
        [MIGRATE_PROBLEM_OUT_OF_ORDER] = "out-of-order",
        [MIGRATE_PROBLEM_PENDING] = "pending",
        [MIGRATE_PROBLEM_VERIFY] = "verify",
        [MIGRATE_PROBLEM_DRIFT] = "drift",
};
DEFINE_STRING_TABLE_LOOKUP(migrate_problem_kind, MigrateProblemKind);

static const char * const migrate_drift_method_table[_MIGRATE_DRIFT_METHOD_MAX] = {
        [MIGRATE_DRIFT_NONE] = "none",
        [MIGRATE_DRIFT_SCRATCH] = "scratch",
        [MIGRATE_DRIFT_SNAPSHOT] = "snapshot",
};
DEFINE_STRING_TABLE_LOOKUP(migrate_drift_method, MigrateDriftMethod);

static const char * const migrate_fix_table[_MIGRATE_FIX_MAX] = {
        [MIGRATE_FIX_MARK_APPLIED] = "mark-applied",
        [MIGRATE_FIX_MARK_REVERTED] = "mark-reverted",
        [MIGRATE_FIX_STAMP] = "stamp",
        [MIGRATE_FIX_REALIGN_CHECKSUMS] = "realign-checksums",
        [MIGRATE_FIX_FORGET_MISSING] = "forget-missing",
};
DEFINE_STRING_TABLE_LOOKUP(migrate_fix, MigrateFix);

#define ISO_UTC(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

const char migrate_bootstrap_sql[] =
        "CREATE SCHEMA IF NOT EXISTS stopstart_meta;\n"
        "CREATE TABLE IF NOT EXISTS stopstart_meta.layout (version integer PRIMARY KEY);\n"
        "INSERT INTO stopstart_meta.layout VALUES (1) ON CONFLICT DO NOTHING;\n"
        "CREATE TABLE IF NOT EXISTS stopstart_meta.schema_version (\n"
        "    version       integer PRIMARY KEY CHECK (version > 0),\n"
        "    name          text NOT NULL,\n"
        "    checksum_up   text NOT NULL,\n"
        "    checksum_down text NOT NULL,\n"
        "    state         text NOT NULL CHECK (state IN ('applied', 'dirty')),\n"
        "    applied_at    timestamptz NOT NULL DEFAULT now(),\n"
        "    applied_by    text NOT NULL,\n"
        "    execution_ms  bigint,\n"
        "    tool_version  text NOT NULL\n"
        ");\n"
        "CREATE TABLE IF NOT EXISTS stopstart_meta.schema_log (\n"
        "    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        "    version       integer,\n"
        "    event         text NOT NULL CHECK (event IN ('upgrade', 'downgrade', 'fail', 'stamp', 'fix', 'restore', 'reset')),\n"
        "    checksum      text,\n"
        "    started_at    timestamptz NOT NULL,\n"
        "    finished_at   timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
        "    success       boolean NOT NULL,\n"
        "    error_text    text,\n"
        "    detail        text,\n"
        "    actor         text NOT NULL,\n"
        "    host          text NOT NULL,\n"
        "    db_user       text NOT NULL DEFAULT current_user,\n"
        "    tool_version  text NOT NULL\n"
        ");\n";

/* ---- the Migrator ------------------------------------------------------------------------ */

int migrator_new(PGconn *conn, const MigrationSet *set, Migrator **ret) {
        _cleanup_(migrator_freep) Migrator *m = NULL;
        struct passwd *pw;
        char host[256] = "";

        assert(conn);
        assert(set);
        assert(ret);

        m = new0(Migrator, 1);
        if (!m)
                return -ENOMEM;
        m->conn = conn;
        m->set = set;
        m->lock_timeout_usec = 60 * USEC_PER_SEC;

        pw = getpwuid(geteuid());
        m->actor = pw ? strdup(pw->pw_name) : strprintf("uid %u", (unsigned) geteuid());
        (void) gethostname(host, sizeof host - 1);
        m->host = strdup(host);
        m->error = strdup("");
        if (!m->actor || !m->host || !m->error)
                return -ENOMEM;

        *ret = TAKE_PTR(m);
        return 0;
}

Migrator *migrator_free(Migrator *m) {
        if (!m)
                return NULL;
        free(m->actor);
        free(m->host);
        free(m->error);
        return mfree(m);
}

void migrator_set_progress(Migrator *m, migrate_progress_t fn, void *userdata) {
        assert(m);
        m->progress = fn;
        m->userdata = userdata;
}

void migrator_set_lock_timeout(Migrator *m, uint64_t usec) {
        assert(m);
        m->lock_timeout_usec = usec;
}

int migrator_set_actor(Migrator *m, const char *actor, const char *host) {
        char *a = NULL, *h = NULL;

        assert(m);
        if (actor && !(a = strdup(actor)))
                return -ENOMEM;
        if (host && !(h = strdup(host))) {
                free(a);
                return -ENOMEM;
        }
        if (a) {
                free(m->actor);
                m->actor = a;
        }
        if (h) {
                free(m->host);
                m->host = h;
        }
        return 0;
}

const char *migrator_error(const Migrator *m) {
        return m && m->error ? m->error : "";
}

int migrator_fail(Migrator *m, int r, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        free(m->error);
        m->error = s ?: strdup("out of memory");
        log_debug("%s", strempty(m->error));
        return r;
}

void migrator_progress(Migrator *m, MigrateProgressKind kind, unsigned version, const char *name,
                       int64_t execution_ms, const char *text) {
        MigrateProgress p = {
                .kind = kind,
                .version = version,
                .name = name,
                .execution_ms = execution_ms,
                .text = text,
        };
        if (m->progress)
                m->progress(m, &p, m->userdata);
}

void migrator_rollback_quietly(PGconn *conn) {
        PGTransactionStatusType t = PQtransactionStatus(conn);
        if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR)
                PQclear(PQexec(conn, "ROLLBACK"));
}

/* The server's message without its trailing newline, and the SQLSTATE. */
static char *result_error_text(PGconn *conn, const PGresult *res) {
        const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        const char *msg = primary ?: (res ? PQresultErrorMessage(res) : NULL);
        _cleanup_free_ char *m = NULL;
        size_t l;

        if (isempty(msg))
                msg = PQerrorMessage(conn);
        if (isempty(msg))
                msg = "unknown error";
        m = strdup(msg);
        if (!m)
                return NULL;
        l = strlen(m);
        while (l > 0 && (m[l - 1] == '\n' || m[l - 1] == ' '))
                m[--l] = 0;
        /* libpq's own messages may span lines ("connection to server … failed: …\n\tIs …"). */
        {
                char *o = m;
                for (char *p = m; *p; p++) {
                        bool blank = *p == '\n' || *p == '\t' || *p == ' ';
                        if (blank && (o == m || o[-1] == ' '))
                                continue;
                        *o++ = blank ? ' ' : *p;
                }
                *o = 0;
        }
        if (state)
                return strprintf("%s (SQLSTATE %s)", m, state);
        return TAKE_PTR(m);
}

int migrator_exec(Migrator *m, const char *what, const char *sql, int n_params, const char * const *params,
                  PGresult **ret) {
        _cleanup_pqclear_ PGresult *res = NULL;
        ExecStatusType s;

        res = n_params > 0 ? PQexecParams(m->conn, sql, n_params, NULL, params, NULL, NULL, 0)
                           : PQexec(m->conn, sql);
        s = PQresultStatus(res);
        if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
                _cleanup_free_ char *t = result_error_text(m->conn, res);
                if (PQstatus(m->conn) == CONNECTION_BAD)
                        return migrator_fail(m, -ECONNRESET, "%s: connection to the server lost: %s", what, strna(t));
                return migrator_fail(m, -EIO, "%s: %s", what, strna(t));
        }
        if (ret)
                *ret = TAKE_PTR(res);
        return 0;
}

int migrator_server_now(Migrator *m, char **ret) {
        _cleanup_pqclear_ PGresult *res = NULL;
        int r;

        r = migrator_exec(m, "Cannot read the server's clock", "SELECT clock_timestamp()::text", 0, NULL, &res);
        if (r < 0)
                return r;
        *ret = strdup(PQgetvalue(res, 0, 0));
        return *ret ? 0 : -ENOMEM;
}

int migrator_set_local_lock_timeout(Migrator *m) {
        char buf[64];

        if (m->lock_timeout_usec == 0)
                return 0;
        snprintf(buf, sizeof buf, "%" PRIu64 "ms", MAX(m->lock_timeout_usec / USEC_PER_MSEC, (uint64_t) 1));
        return migrator_exec(m, "Cannot set lock_timeout",
                             "SELECT pg_catalog.set_config('lock_timeout', $1, true)", 1,
                             (const char *[]) { buf }, NULL);
}

int migrator_log_event(Migrator *m, unsigned version, MigrateEvent event, const char *checksum,
                       const char *started_at, bool success, const char *error, const char *detail) {
        char v[16];

        snprintf(v, sizeof v, "%u", version);
        return migrator_exec(m, "Cannot write to stopstart_meta.schema_log",
                             "INSERT INTO stopstart_meta.schema_log (version, event, checksum, started_at, success, "
                             "error_text, detail, actor, host, tool_version) "
                             "VALUES (NULLIF($1, '0')::integer, $2, $3, COALESCE($4::timestamptz, clock_timestamp()), $5, "
                             "$6, $7, $8, $9, $10)",
                             10,
                             (const char *[]) { v, migrate_event_to_string(event), checksum, started_at,
                                                success ? "true" : "false", error, detail, m->actor, m->host,
                                                PROJECT_VERSION },
                             NULL);
}

/* ---- statements ---------------------------------------------------------------------------- */

static char *statement_error(const char *file, const char *sql, const SqlStatement *st, PGconn *conn,
                             const PGresult *res, const char *what) {
        const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
        const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
        const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
        const char *context = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
        _cleanup_free_ char *text = result_error_text(conn, res), *ctx = NULL;
        unsigned line = st->line;

        if (pos)
                line = sql_statement_line_of_position(sql, st, (unsigned) strtoul(pos, NULL, 10));
        if (context) {
                /* The innermost frame says where in a function or DO body it happened. */
                ctx = strndup(context, strcspn(context, "\n"));
                if (!ctx)
                        return NULL;
        }
        return strprintf("%s:%u: %s%s%s%s%s%s%s%s", file, line, what ?: "", strna(text),
                         detail ? "\n  DETAIL: " : "", strempty(detail),
                         hint ? "\n  HINT: " : "", strempty(hint),
                         ctx ? "\n  CONTEXT: " : "", strempty(ctx));
}

static void set_error(char **error, char *msg) {
        if (error) {
                free(*error);
                *error = msg;
        } else
                free(msg);
}

int migrate_exec_script(PGconn *conn, const char *file, const char *sql, const SqlStatement *statements,
                        size_t n_statements, char **error) {
        for (size_t i = 0; i < n_statements; i++) {
                const SqlStatement *st = &statements[i];
                _cleanup_free_ char *text = strndup(sql + st->offset, st->length);
                _cleanup_pqclear_ PGresult *res = NULL;
                ExecStatusType s;

                if (!text)
                        return -ENOMEM;
                if (st->meta) {
                        /* pg_dump's \restrict/\unrestrict guard psql against a hostile server's
                         * output; we parse it ourselves and need no such guard. */
                        if (startswith(text, "\\restrict") || startswith(text, "\\unrestrict"))
                                continue;
                        set_error(error, strprintf("%s:%u: psql meta-command not supported: %s", file, st->line, text));
                        return -EIO;
                }
                res = PQexec(conn, text);
                s = PQresultStatus(res);

                if (s == PGRES_COPY_IN) {
                        bool ok = st->copy_in;
                        if (ok && st->copy_length > 0)
                                ok = PQputCopyData(conn, sql + st->copy_offset, (int) st->copy_length) == 1;
                        (void) PQputCopyEnd(conn, ok ? NULL : "COPY FROM STDIN needs its data inline, ended by \\.");
                        PQclear(TAKE_PTR(res));
                        /* The COPY's own outcome comes after the data. */
                        for (PGresult *x; (x = PQgetResult(conn)); ) {
                                if (!res && PQresultStatus(x) != PGRES_COMMAND_OK)
                                        res = x;
                                else
                                        PQclear(x);
                        }
                        if (!res)
                                continue;
                        s = PQresultStatus(res);
                } else if (s == PGRES_COPY_OUT) {
                        char *buf;
                        while (PQgetCopyData(conn, &buf, 0) > 0)
                                PQfreemem(buf);
                        for (PGresult *x; (x = PQgetResult(conn)); )
                                PQclear(x);
                        set_error(error, strprintf("%s:%u: COPY … TO STDOUT is not supported here", file, st->line));
                        return -EIO;
                }

                if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY)
                        continue;

                set_error(error, statement_error(file, sql, st, conn, res, NULL));
                return PQstatus(conn) == CONNECTION_BAD ? -ECONNRESET : -EIO;
        }
        return 0;
}

static int exec_migration_script(PGconn *conn, const MigrationScript *s, char **error) {
        return migrate_exec_script(conn, s->file, s->sql, s->statements, s->n_statements, error);
}

/* Runs a verify script without letting it change anything: in a savepoint when a transaction is
 * open, else in its own transaction, rolled back either way. */
static int run_verify(PGconn *conn, const MigrationScript *s, char **error) {
        bool in_tx = PQtransactionStatus(conn) == PQTRANS_INTRANS;
        int r;

        PQclear(PQexec(conn, in_tx ? "SAVEPOINT stopstart_verify" : "BEGIN"));
        r = exec_migration_script(conn, s, error);
        if (in_tx)
                PQclear(PQexec(conn, "ROLLBACK TO SAVEPOINT stopstart_verify"));
        else
                migrator_rollback_quietly(conn);
        if (r >= 0 && PQstatus(conn) == CONNECTION_BAD)
                return -ECONNRESET;
        return r;
}

/* ---- state --------------------------------------------------------------------------------- */

static void record_done(MigrationRecord *r) {
        free(r->name);
        free(r->checksum_up);
        free(r->checksum_down);
        free(r->applied_at);
        free(r->applied_by);
        free(r->tool_version);
}

MigrateStatus *migrate_status_free(MigrateStatus *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_records; i++)
                record_done(&s->records[i]);
        free(s->records);
        return mfree(s);
}

const MigrationRecord *migrate_status_find(const MigrateStatus *s, unsigned version) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_records; i++)
                if (s->records[i].version == version)
                        return &s->records[i];
        return NULL;
}

static int check_layout(Migrator *m, bool *ret_initialized) {
        _cleanup_pqclear_ PGresult *res = NULL;
        int r, layout;

        r = migrator_exec(m, "Cannot read the migration state",
                          "SELECT to_regclass('stopstart_meta.schema_version') IS NOT NULL, "
                          "       to_regclass('stopstart_meta.layout') IS NOT NULL", 0, NULL, &res);
        if (r < 0)
                return r;
        if (!streq(PQgetvalue(res, 0, 0), "t")) {
                *ret_initialized = false;
                return 0;
        }
        if (streq(PQgetvalue(res, 0, 1), "t")) {
                PQclear(TAKE_PTR(res));
                r = migrator_exec(m, "Cannot read the migration state",
                                  "SELECT COALESCE(max(version), 0) FROM stopstart_meta.layout", 0, NULL, &res);
                if (r < 0)
                        return r;
                layout = atoi(PQgetvalue(res, 0, 0));
                if (layout > MIGRATE_META_LAYOUT)
                        return migrator_fail(m, -EUCLEAN,
                                             "The migration state in schema stopstart_meta has layout %d, newer than this "
                                             "stopstartctl (%s) understands (%d); use a newer stopstartctl.",
                                             layout, PROJECT_VERSION, MIGRATE_META_LAYOUT);
        }
        *ret_initialized = true;
        return 0;
}

int migrator_status(Migrator *m, MigrateStatus **ret) {
        _cleanup_(migrate_status_freep) MigrateStatus *s = NULL;
        _cleanup_pqclear_ PGresult *res = NULL;
        int r, n;

        assert(m);
        assert(ret);

        s = new0(MigrateStatus, 1);
        if (!s)
                return -ENOMEM;
        r = check_layout(m, &s->initialized);
        if (r < 0)
                return r;
        if (!s->initialized) {
                *ret = TAKE_PTR(s);
                return 0;
        }

        r = migrator_exec(m, "Cannot read the migration state",
                          "SELECT version, name, checksum_up, checksum_down, state, " ISO_UTC("applied_at") ", "
                          "       applied_by, COALESCE(execution_ms, -1), tool_version "
                          "  FROM stopstart_meta.schema_version ORDER BY version",
                          0, NULL, &res);
        if (r < 0)
                return r;

        n = PQntuples(res);
        s->records = new0(MigrationRecord, (size_t) n);
        if (!s->records)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                MigrationRecord *rec = &s->records[s->n_records++];
                rec->version = (unsigned) strtoul(PQgetvalue(res, i, 0), NULL, 10);
                rec->name = strdup(PQgetvalue(res, i, 1));
                rec->checksum_up = strdup(PQgetvalue(res, i, 2));
                rec->checksum_down = strdup(PQgetvalue(res, i, 3));
                rec->state = streq(PQgetvalue(res, i, 4), "dirty") ? MIGRATION_STATE_DIRTY : MIGRATION_STATE_APPLIED;
                rec->applied_at = strdup(PQgetvalue(res, i, 5));
                rec->applied_by = strdup(PQgetvalue(res, i, 6));
                rec->execution_ms = strtoll(PQgetvalue(res, i, 7), NULL, 10);
                rec->tool_version = strdup(PQgetvalue(res, i, 8));
                if (!rec->name || !rec->checksum_up || !rec->checksum_down || !rec->applied_at ||
                    !rec->applied_by || !rec->tool_version)
                        return -ENOMEM;
                if (rec->state == MIGRATION_STATE_DIRTY) {
                        if (s->dirty == 0)
                                s->dirty = rec->version;
                } else
                        s->current = rec->version;
        }

        *ret = TAKE_PTR(s);
        return 0;
}

void migrate_log_free(MigrateLogEntry *l, size_t n) {
        if (!l)
                return;
        for (size_t i = 0; i < n; i++) {
                free(l[i].checksum);
                free(l[i].started_at);
                free(l[i].finished_at);
                free(l[i].error);
                free(l[i].detail);
                free(l[i].actor);
                free(l[i].host);
                free(l[i].db_user);
                free(l[i].tool_version);
        }
        free(l);
}

static char *dup_or_null(const PGresult *res, int row, int col) {
        return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

int migrator_log(Migrator *m, MigrateLogEntry **ret, size_t *ret_n) {
        _cleanup_pqclear_ PGresult *res = NULL;
        MigrateLogEntry *list;
        bool initialized;
        int r, n;

        assert(m);
        assert(ret);
        assert(ret_n);

        r = check_layout(m, &initialized);
        if (r < 0)
                return r;
        if (!initialized) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }

        r = migrator_exec(m, "Cannot read stopstart_meta.schema_log",
                          "SELECT id, COALESCE(version, 0), event, checksum, " ISO_UTC("started_at") ", "
                          ISO_UTC("finished_at") ", success, error_text, detail, actor, host, db_user, tool_version "
                          "  FROM stopstart_meta.schema_log ORDER BY id",
                          0, NULL, &res);
        if (r < 0)
                return r;

        n = PQntuples(res);
        list = new0(MigrateLogEntry, (size_t) n);
        if (!list)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                MigrateLogEntry *e = &list[i];
                e->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
                e->version = (unsigned) strtoul(PQgetvalue(res, i, 1), NULL, 10);
                e->event = migrate_event_from_string(PQgetvalue(res, i, 2));
                e->checksum = dup_or_null(res, i, 3);
                e->started_at = dup_or_null(res, i, 4);
                e->finished_at = dup_or_null(res, i, 5);
                e->success = streq(PQgetvalue(res, i, 6), "t");
                e->error = dup_or_null(res, i, 7);
                e->detail = dup_or_null(res, i, 8);
                e->actor = dup_or_null(res, i, 9);
                e->host = dup_or_null(res, i, 10);
                e->db_user = dup_or_null(res, i, 11);
                e->tool_version = dup_or_null(res, i, 12);
        }
        *ret = list;
        *ret_n = (size_t) n;
        return 0;
}

int migrator_bootstrap(Migrator *m) {
        bool initialized;
        int r;

        assert(m->locked);
        r = check_layout(m, &initialized);
        if (r < 0 || initialized)
                return r;
        return migrator_exec(m, "Cannot create schema stopstart_meta", migrate_bootstrap_sql, 0, NULL, NULL);
}

/* ---- locking ------------------------------------------------------------------------------- */

static int lock_holder_pid(Migrator *m) {
        _cleanup_pqclear_ PGresult *res = NULL;
        char k1[16], k2[16];

        snprintf(k1, sizeof k1, "%d", MIGRATE_LOCK_KEY1);
        snprintf(k2, sizeof k2, "%d", MIGRATE_LOCK_KEY2);
        if (migrator_exec(m, "Cannot read pg_locks",
                          "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                          "   AND classid = $1::integer::oid AND objid = $2::integer::oid AND objsubid = 2 "
                          "   AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1",
                          2, (const char *[]) { k1, k2 }, &res) < 0 || PQntuples(res) < 1)
                return 0;
        return atoi(PQgetvalue(res, 0, 0));
}

int migrator_lock(Migrator *m) {
        _cleanup_pqclear_ PGresult *res = NULL;
        char k1[16], k2[16];
        usec_t deadline;
        int r, holder;

        assert(m);
        if (m->locked)
                return 0;

        snprintf(k1, sizeof k1, "%d", MIGRATE_LOCK_KEY1);
        snprintf(k2, sizeof k2, "%d", MIGRATE_LOCK_KEY2);
        r = migrator_exec(m, "Cannot take the migration lock", "SELECT pg_try_advisory_lock($1::integer, $2::integer)",
                          2, (const char *[]) { k1, k2 }, &res);
        if (r < 0)
                return r;
        if (streq(PQgetvalue(res, 0, 0), "t")) {
                m->locked = true;
                return 0;
        }
        PQclear(TAKE_PTR(res));

        holder = lock_holder_pid(m);
        if (m->lock_timeout_usec == 0)
                return migrator_fail(m, -EBUSY,
                                     "Another migration run holds the lock on this database (server PID %d); not waiting "
                                     "(--lock-timeout=0).", holder);

        {
                MigrateProgress p = { .kind = MIGRATE_PROGRESS_LOCK_WAIT, .holder_pid = holder };
                if (m->progress)
                        m->progress(m, &p, m->userdata);
        }

        /* Poll rather than block in pg_advisory_lock(): a waiting statement keeps a transaction
         * open, and the holder's CREATE INDEX CONCURRENTLY waits for every open transaction,
         * ours included, which would deadlock. Each try is a transaction of its own. */
        deadline = now(CLOCK_MONOTONIC) + m->lock_timeout_usec;
        for (;;) {
                usec_t n = now(CLOCK_MONOTONIC);
                if (n >= deadline) {
                        char span[TIMESPAN_MAX];
                        int h = lock_holder_pid(m);
                        return migrator_fail(m, -EBUSY,
                                             "Timed out after %s waiting for the migration lock, held by another migration "
                                             "run (server PID %d).",
                                             format_timespan(span, sizeof span, m->lock_timeout_usec), h ?: holder);
                }
                (void) usleep((useconds_t) MIN(deadline - n, 100 * USEC_PER_MSEC));

                PQclear(TAKE_PTR(res));
                r = migrator_exec(m, "Cannot take the migration lock",
                                  "SELECT pg_try_advisory_lock($1::integer, $2::integer)",
                                  2, (const char *[]) { k1, k2 }, &res);
                if (r < 0)
                        return r;
                if (streq(PQgetvalue(res, 0, 0), "t")) {
                        m->locked = true;
                        return 0;
                }
        }
}

/* ---- problems ------------------------------------------------------------------------------ */

MigrateCheck *migrate_check_free(MigrateCheck *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_problems; i++)
                free(c->problems[i].message);
        free(c->problems);
        free(c->drift_note);
        return mfree(c);
}

static int add_problem(MigrateCheck *c, MigrateProblemKind kind, unsigned version, char *message) {
        MigrateProblem *p;

        if (!message)
                return -ENOMEM;
        p = realloc(c->problems, (c->n_problems + 1) * sizeof(MigrateProblem));
        if (!p) {
                free(message);
                return -ENOMEM;
        }
        c->problems = p;
        c->problems[c->n_problems++] = (MigrateProblem) { kind, version, message };
        return 0;
}

static const char *short_sum(const char *s, char buf[static 13]) {
        snprintf(buf, 13, "%.12s", strempty(s));
        return buf;
}

/* Everything the version rows alone tell about the database against the set. */
static int collect_state_problems(const MigrationSet *set, const MigrateStatus *st, MigrateCheck *c) {
        unsigned highest = 0;
        int r;

        for (size_t i = 0; i < st->n_records; i++)
                highest = MAX(highest, st->records[i].version);

        for (size_t i = 0; i < st->n_records; i++) {
                const MigrationRecord *rec = &st->records[i];
                const Migration *mig = migration_set_find(set, rec->version);
                char a[13], b[13];

                if (rec->state == MIGRATION_STATE_DIRTY) {
                        r = add_problem(c, MIGRATE_PROBLEM_DIRTY, rec->version,
                                        strprintf("%s is dirty: a no-transaction migration stopped part-way. Inspect the "
                                                  "database, then run `stopstartctl db fix-state --mark-applied %u` or "
                                                  "`--mark-reverted %u`.", rec->name, rec->version, rec->version));
                        if (r < 0)
                                return r;
                }
                if (!mig) {
                        r = add_problem(c, MIGRATE_PROBLEM_MISSING, rec->version,
                                        strprintf("%s is applied but not part of this build (the database is ahead of "
                                                  "this stopstartctl, or the file was removed).", rec->name));
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!streq(rec->name, mig->name)) {
                        r = add_problem(c, MIGRATE_PROBLEM_RENAMED, rec->version,
                                        strprintf("%04u was applied as %s but is named %s in this build.",
                                                  rec->version, rec->name, mig->name));
                        if (r < 0)
                                return r;
                }
                if (!streq(rec->checksum_up, mig->scripts[MIGRATION_UP].checksum)) {
                        r = add_problem(c, MIGRATE_PROBLEM_CHECKSUM, rec->version,
                                        strprintf("%s: the up script changed after it was applied (applied sha256 %s…, "
                                                  "build %s…).", mig->name, short_sum(rec->checksum_up, a),
                                                  short_sum(mig->scripts[MIGRATION_UP].checksum, b)));
                        if (r < 0)
                                return r;
                }
                if (!streq(rec->checksum_down, mig->scripts[MIGRATION_DOWN].checksum)) {
                        r = add_problem(c, MIGRATE_PROBLEM_CHECKSUM, rec->version,
                                        strprintf("%s: the down script changed after the migration was applied "
                                                  "(applied sha256 %s…, build %s…).", mig->name,
                                                  short_sum(rec->checksum_down, a),
                                                  short_sum(mig->scripts[MIGRATION_DOWN].checksum, b)));
                        if (r < 0)
                                return r;
                }
        }

        for (size_t i = 0; i < set->n_migrations; i++) {
                const Migration *mig = &set->migrations[i];
                if (migrate_status_find(st, mig->version))
                        continue;
                if (mig->version < highest) {
                        const MigrationRecord *h = migrate_status_find(st, highest);
                        r = add_problem(c, MIGRATE_PROBLEM_OUT_OF_ORDER, mig->version,
                                        strprintf("%s is not applied, but the later %s is (out of order).",
                                                  mig->name, h ? h->name : "migration"));
                } else
                        r = add_problem(c, MIGRATE_PROBLEM_PENDING, mig->version,
                                        strprintf("%s is not applied yet (pending).", mig->name));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Refuses a change while the state is not clean. pending and (for downgrades) out-of-order
 * migrations are no reason to refuse. */
static int refuse_unclean(Migrator *m, const MigrateStatus *st, const char *verb, bool allow_out_of_order) {
        _cleanup_(migrate_check_freep) MigrateCheck *c = new0(MigrateCheck, 1);
        int r;

        if (!c)
                return -ENOMEM;
        r = collect_state_problems(m->set, st, c);
        if (r < 0)
                return r;

        /* Dirty first: it is the one that needs a human before anything else. */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < c->n_problems; i++) {
                        const MigrateProblem *p = &c->problems[i];
                        if ((pass == 0) != (p->kind == MIGRATE_PROBLEM_DIRTY))
                                continue;
                        if (p->kind == MIGRATE_PROBLEM_PENDING ||
                            (allow_out_of_order && p->kind == MIGRATE_PROBLEM_OUT_OF_ORDER))
                                continue;
                        return migrator_fail(m, -EUCLEAN, "Refusing to %s: %s%s", verb, p->message,
                                             p->kind == MIGRATE_PROBLEM_DIRTY ? "" :
                                             " Run `stopstartctl db check` for details; `stopstartctl db fix-state` repairs the records.");
                }
        return 0;
}

/* ---- applying ------------------------------------------------------------------------------ */

static int64_t elapsed_ms(usec_t since) {
        return (int64_t) ((now(CLOCK_MONOTONIC) - since) / USEC_PER_MSEC);
}

static int log_failure(Migrator *m, const Migration *mig, const char *checksum, const char *started,
                       const char *err, const char *detail) {
        int r;

        migrator_rollback_quietly(m->conn);
        if (PQstatus(m->conn) == CONNECTION_BAD)
                return -ECONNRESET;
        r = migrator_log_event(m, mig->version, MIGRATE_EVENT_FAIL, checksum, started, false, err, detail);
        if (r < 0)
                log_debug("Could not log the failure: %s", migrator_error(m));
        return r;
}

static int apply_one(Migrator *m, const Migration *mig) {
        const MigrationScript *up = &mig->scripts[MIGRATION_UP], *down = &mig->scripts[MIGRATION_DOWN],
                *verify = &mig->scripts[MIGRATION_VERIFY];
        _cleanup_free_ char *started = NULL, *err = NULL;
        char v[16], ms[32];
        bool notx = up->flags & MIGRATION_NO_TRANSACTION;
        int64_t took = 0;
        usec_t t0;
        int r;

        snprintf(v, sizeof v, "%u", mig->version);
        r = migrator_server_now(m, &started);
        if (r < 0)
                return r;
        t0 = now(CLOCK_MONOTONIC);

        if (!notx) {
                r = migrator_exec(m, "Cannot begin a transaction", "BEGIN", 0, NULL, NULL);
                if (r >= 0)
                        r = migrator_set_local_lock_timeout(m);
                if (r < 0)
                        return r;

                r = exec_migration_script(m->conn, up, &err);
                if (r >= 0 && verify->present) {
                        r = run_verify(m->conn, verify, &err);
                        if (r < 0) {
                                char *e = strprintf("verify script failed: %s", strna(err));
                                free(err);
                                err = e;
                        }
                }
                if (r >= 0 && PQtransactionStatus(m->conn) != PQTRANS_INTRANS) {
                        /* A procedure that COMMITs ended our transaction: whatever ran before is in,
                         * the rest is not. Say so with a dirty row rather than pretend. */
                        _cleanup_free_ char *e = strprintf("%s ended the runner's transaction itself (COMMIT or ROLLBACK "
                                                           "inside a procedure?); its effects may be partly committed",
                                                           up->file);
                        migrator_rollback_quietly(m->conn);
                        (void) migrator_exec(m, "Cannot record the dirty state",
                                             "INSERT INTO stopstart_meta.schema_version (version, name, checksum_up, "
                                             "checksum_down, state, applied_by, tool_version) "
                                             "VALUES ($1, $2, $3, $4, 'dirty', $5, $6) ON CONFLICT (version) DO UPDATE SET state = 'dirty'",
                                             6, (const char *[]) { v, mig->name, up->checksum, down->checksum, m->actor,
                                                                   PROJECT_VERSION }, NULL);
                        (void) log_failure(m, mig, up->checksum, started, e, "upgrade");
                        return migrator_fail(m, -EIO, "Migration %s failed: %s. The database is now dirty at %s.",
                                             mig->name, strna(e), mig->name);
                }
                if (r >= 0) {
                        took = elapsed_ms(t0);
                        snprintf(ms, sizeof ms, "%" PRIi64, took);
                        r = migrator_exec(m, "Cannot record the migration",
                                          "WITH v AS (INSERT INTO stopstart_meta.schema_version (version, name, checksum_up, "
                                          "           checksum_down, state, applied_by, execution_ms, tool_version) "
                                          "           VALUES ($1::integer, $2, $3, $4, 'applied', $5, $6::bigint, $7)) "
                                          "INSERT INTO stopstart_meta.schema_log (version, event, checksum, started_at, success, "
                                          "            actor, host, tool_version) "
                                          "VALUES ($1::integer, 'upgrade', $3, $8::timestamptz, true, $5, $9, $7)",
                                          9, (const char *[]) { v, mig->name, up->checksum, down->checksum, m->actor, ms,
                                                                PROJECT_VERSION, started, m->host }, NULL);
                        if (r < 0) {
                                free(err);
                                err = strdup(migrator_error(m));
                        }
                }
                if (r >= 0) {
                        _cleanup_pqclear_ PGresult *res = PQexec(m->conn, "COMMIT");
                        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                                _cleanup_free_ char *t = result_error_text(m->conn, res);
                                free(err);
                                err = strprintf("%s: at COMMIT: %s", up->file, strna(t));
                                r = PQstatus(m->conn) == CONNECTION_BAD ? -ECONNRESET : -EIO;
                        }
                }
                if (r < 0) {
                        if (r == -ECONNRESET || PQstatus(m->conn) == CONNECTION_BAD)
                                return migrator_fail(m, -ECONNRESET,
                                                     "Connection to the server lost while applying %s (the server rolled "
                                                     "it back unless its COMMIT had arrived; `stopstartctl db status` "
                                                     "tells which): %s", mig->name, strna(err));
                        (void) log_failure(m, mig, up->checksum, started, err, "upgrade");
                        return migrator_fail(m, r == -ENOMEM ? r : -EIO, "Migration %s failed and was rolled back: %s",
                                             mig->name, strna(err));
                }
        } else {
                r = migrator_exec(m, "Cannot record the migration as dirty",
                                  "INSERT INTO stopstart_meta.schema_version (version, name, checksum_up, checksum_down, "
                                  "state, applied_by, tool_version) VALUES ($1, $2, $3, $4, 'dirty', $5, $6)",
                                  6, (const char *[]) { v, mig->name, up->checksum, down->checksum, m->actor,
                                                        PROJECT_VERSION }, NULL);
                if (r < 0)
                        return r;
                if (m->lock_timeout_usec > 0) {
                        snprintf(ms, sizeof ms, "%" PRIu64 "ms", MAX(m->lock_timeout_usec / USEC_PER_MSEC, (uint64_t) 1));
                        r = migrator_exec(m, "Cannot set lock_timeout",
                                          "SELECT pg_catalog.set_config('lock_timeout', $1, false)", 1,
                                          (const char *[]) { ms }, NULL);
                        if (r < 0)
                                return r;
                }
                r = exec_migration_script(m->conn, up, &err);
                if (r >= 0 && PQtransactionStatus(m->conn) != PQTRANS_IDLE) {
                        err = strprintf("%s: the script left a transaction open", up->file);
                        r = -EIO;
                }
                migrator_rollback_quietly(m->conn);
                PQclear(PQexec(m->conn, "RESET lock_timeout"));
                if (r >= 0 && verify->present) {
                        r = run_verify(m->conn, verify, &err);
                        if (r < 0) {
                                char *e = strprintf("verify script failed: %s", strna(err));
                                free(err);
                                err = e;
                        }
                }
                if (r >= 0) {
                        took = elapsed_ms(t0);
                        snprintf(ms, sizeof ms, "%" PRIi64, took);
                        r = migrator_exec(m, "Cannot record the migration",
                                          "WITH v AS (UPDATE stopstart_meta.schema_version SET state = 'applied', "
                                          "           applied_at = now(), execution_ms = $4::bigint WHERE version = $1::integer) "
                                          "INSERT INTO stopstart_meta.schema_log (version, event, checksum, started_at, success, "
                                          "            actor, host, tool_version, detail) "
                                          "VALUES ($1::integer, 'upgrade', $2, $3::timestamptz, true, $5, $6, $7, 'no-transaction')",
                                          7, (const char *[]) { v, up->checksum, started, ms, m->actor, m->host,
                                                                PROJECT_VERSION }, NULL);
                        if (r < 0) {
                                free(err);
                                err = strdup(migrator_error(m));
                        }
                }
                if (r < 0) {
                        if (r == -ECONNRESET || PQstatus(m->conn) == CONNECTION_BAD)
                                return migrator_fail(m, -ECONNRESET,
                                                     "Connection to the server lost while applying %s (no-transaction): %s. "
                                                     "The database is dirty at %s.", mig->name, strna(err), mig->name);
                        (void) log_failure(m, mig, up->checksum, started, err, "upgrade, no-transaction");
                        return migrator_fail(m, r == -ENOMEM ? r : -EIO,
                                             "Migration %s failed: %s\nIt runs outside a transaction, so the database is "
                                             "now dirty at %s: inspect it, then run `stopstartctl db fix-state "
                                             "--mark-applied %u` or `--mark-reverted %u`.",
                                             mig->name, strna(err), mig->name, mig->version, mig->version);
                }
        }

        migrator_progress(m, MIGRATE_PROGRESS_APPLIED, mig->version, mig->name, took, NULL);
        return 0;
}

static int revert_one(Migrator *m, const Migration *mig) {
        const MigrationScript *down = &mig->scripts[MIGRATION_DOWN];
        _cleanup_free_ char *started = NULL, *err = NULL;
        bool notx = down->flags & MIGRATION_NO_TRANSACTION;
        char v[16], ms[32];
        int64_t took = 0;
        usec_t t0;
        int r;

        snprintf(v, sizeof v, "%u", mig->version);
        r = migrator_server_now(m, &started);
        if (r < 0)
                return r;
        t0 = now(CLOCK_MONOTONIC);

        if (!notx) {
                r = migrator_exec(m, "Cannot begin a transaction", "BEGIN", 0, NULL, NULL);
                if (r >= 0)
                        r = migrator_set_local_lock_timeout(m);
                if (r < 0)
                        return r;
                r = exec_migration_script(m->conn, down, &err);
                if (r >= 0 && PQtransactionStatus(m->conn) != PQTRANS_INTRANS) {
                        err = strprintf("%s ended the runner's transaction itself", down->file);
                        r = -EIO;
                }
        } else {
                r = migrator_exec(m, "Cannot mark the migration dirty",
                                  "UPDATE stopstart_meta.schema_version SET state = 'dirty' WHERE version = $1::integer",
                                  1, (const char *[]) { v }, NULL);
                if (r < 0)
                        return r;
                r = exec_migration_script(m->conn, down, &err);
                if (r >= 0 && PQtransactionStatus(m->conn) != PQTRANS_IDLE) {
                        err = strprintf("%s: the script left a transaction open", down->file);
                        r = -EIO;
                }
                migrator_rollback_quietly(m->conn);
                if (r >= 0)
                        r = migrator_exec(m, "Cannot begin a transaction", "BEGIN", 0, NULL, NULL);
        }

        if (r >= 0) {
                took = elapsed_ms(t0);
                snprintf(ms, sizeof ms, "%" PRIi64, took);
                r = migrator_exec(m, "Cannot record the downgrade",
                                  "WITH v AS (DELETE FROM stopstart_meta.schema_version WHERE version = $1::integer) "
                                  "INSERT INTO stopstart_meta.schema_log (version, event, checksum, started_at, success, "
                                  "            actor, host, tool_version, detail) "
                                  "VALUES ($1::integer, 'downgrade', $2, $3::timestamptz, true, $4, $5, $6, $7)",
                                  7, (const char *[]) { v, down->checksum, started, m->actor, m->host, PROJECT_VERSION,
                                                        notx ? "no-transaction" : NULL }, NULL);
                if (r < 0) {
                        free(err);
                        err = strdup(migrator_error(m));
                }
        }
        if (r >= 0) {
                _cleanup_pqclear_ PGresult *res = PQexec(m->conn, "COMMIT");
                if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                        _cleanup_free_ char *t = result_error_text(m->conn, res);
                        free(err);
                        err = strprintf("%s: at COMMIT: %s", down->file, strna(t));
                        r = PQstatus(m->conn) == CONNECTION_BAD ? -ECONNRESET : -EIO;
                }
        }
        if (r < 0) {
                if (r == -ECONNRESET || PQstatus(m->conn) == CONNECTION_BAD)
                        return migrator_fail(m, -ECONNRESET, "Connection to the server lost while reverting %s: %s",
                                             mig->name, strna(err));
                (void) log_failure(m, mig, down->checksum, started, err, notx ? "downgrade, no-transaction" : "downgrade");
                if (notx)
                        return migrator_fail(m, r == -ENOMEM ? r : -EIO,
                                             "Reverting %s failed: %s\nIts down script runs outside a transaction, so the "
                                             "database is now dirty at %s: inspect it, then run `stopstartctl db fix-state "
                                             "--mark-applied %u` or `--mark-reverted %u`.",
                                             mig->name, strna(err), mig->name, mig->version, mig->version);
                return migrator_fail(m, r == -ENOMEM ? r : -EIO, "Reverting %s failed and was rolled back: %s",
                                     mig->name, strna(err));
        }

        migrator_progress(m, MIGRATE_PROGRESS_REVERTED, mig->version, mig->name, took, NULL);
        return 0;
}

int migrate_parse_version(const MigrationSet *set, const char *s, unsigned *ret) {
        const Migration *mig;
        unsigned long v;
        char *end;

        assert(set);
        assert(s);
        assert(ret);

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || v > MIGRATION_VERSION_MAX || (*end && *end != '_'))
                return -EINVAL;
        mig = migration_set_find(set, (unsigned) v);
        if (!mig)
                return v == 0 ? -EINVAL : -ENOENT;
        if (*end == '_' && !streq(end + 1, mig->slug))
                return -ENOENT;
        *ret = (unsigned) v;
        return 0;
}

static int parse_count(const char *s, unsigned *ret) {
        unsigned long v;
        char *end;

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v == 0 || v > MIGRATION_VERSION_MAX)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int version_target(Migrator *m, const char *target, unsigned *ret) {
        int r = migrate_parse_version(m->set, target, ret);
        if (r == -ENOENT)
                return migrator_fail(m, r, "No migration \"%s\" in this build (head is %04u).", target,
                                     migration_set_head(m->set));
        if (r < 0)
                return migrator_fail(m, r, "Invalid target \"%s\".", target);
        return 0;
}

int migrator_upgrade(Migrator *m, const char *target) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        _cleanup_free_ const Migration **todo = NULL;
        size_t n_todo = 0;
        unsigned limit = UINT32_MAX, count = UINT32_MAX;
        int r;

        assert(m);
        assert(m->locked);

        r = migrator_bootstrap(m);
        if (r < 0)
                return r;
        r = migrator_status(m, &st);
        if (r < 0)
                return r;
        r = refuse_unclean(m, st, "upgrade", false);
        if (r < 0)
                return r;

        todo = new0(const Migration*, m->set->n_migrations);
        if (!todo)
                return -ENOMEM;
        for (size_t i = 0; i < m->set->n_migrations; i++)
                if (!migrate_status_find(st, m->set->migrations[i].version))
                        todo[n_todo++] = &m->set->migrations[i];

        if (!target || streq(target, "head"))
                ;
        else if (target[0] == '+') {
                r = parse_count(target + 1, &count);
                if (r < 0)
                        return migrator_fail(m, -EINVAL, "Invalid upgrade target \"%s\" (want +N with N >= 1).", target);
                if (count > n_todo)
                        return migrator_fail(m, -EINVAL, "Cannot upgrade by %u: only %zu migration%s pending.",
                                             count, n_todo, n_todo == 1 ? " is" : "s are");
        } else {
                r = version_target(m, target, &limit);
                if (r < 0)
                        return r;
                if (limit < st->current)
                        return migrator_fail(m, -EINVAL,
                                             "Target %04u is below the current version %04u; use `stopstartctl db downgrade %u`.",
                                             limit, st->current, limit);
        }

        for (size_t i = 0; i < n_todo && i < count && todo[i]->version <= limit; i++) {
                r = apply_one(m, todo[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int migrator_downgrade(Migrator *m, const char *target) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        unsigned keep = 0, count = UINT32_MAX, n_applied = 0;
        int r;

        assert(m);
        assert(m->locked);

        r = migrator_bootstrap(m);
        if (r < 0)
                return r;
        r = migrator_status(m, &st);
        if (r < 0)
                return r;
        r = refuse_unclean(m, st, "downgrade", true);
        if (r < 0)
                return r;

        for (size_t i = 0; i < st->n_records; i++)
                n_applied++;

        if (!target) {
                if (n_applied == 0)
                        return 0;       /* already at base: nothing to do */
                target = "-1";
        }
        if (target[0] == '-') {
                r = parse_count(target + 1, &count);
                if (r < 0)
                        return migrator_fail(m, -EINVAL, "Invalid downgrade target \"%s\" (want -N with N >= 1).", target);
                if (count > n_applied)
                        return migrator_fail(m, -EINVAL, "Cannot downgrade by %u: only %u migration%s applied.",
                                             count, n_applied, n_applied == 1 ? " is" : "s are");
        } else if (streq(target, "base") || streq(target, "0"))
                keep = 0;
        else {
                r = version_target(m, target, &keep);
                if (r < 0)
                        return r;
                if (keep > st->current)
                        return migrator_fail(m, -EINVAL,
                                             "Target %04u is above the current version %04u; use `stopstartctl db upgrade %u`.",
                                             keep, st->current, keep);
        }

        for (size_t i = st->n_records; i > 0 && count > 0; i--) {
                const MigrationRecord *rec = &st->records[i - 1];
                const Migration *mig;

                if (rec->version <= keep)
                        break;
                mig = migration_set_find(m->set, rec->version);
                assert(mig);      /* refuse_unclean() refused missing ones */
                r = revert_one(m, mig);
                if (r < 0)
                        return r;
                count--;
        }
        return 0;
}

/* ---- fix-state, reset ------------------------------------------------------------------------ */

static int fix_commit(Migrator *m) {
        return migrator_exec(m, "Cannot commit", "COMMIT", 0, NULL, NULL);
}

int migrator_fix_state(Migrator *m, MigrateFix fix, unsigned version) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        const Migration *mig = NULL;
        const MigrationRecord *rec;
        char v[16];
        int r;

        assert(m);
        assert(m->locked);

        r = migrator_bootstrap(m);
        if (r < 0)
                return r;
        r = migrator_status(m, &st);
        if (r < 0)
                return r;

        snprintf(v, sizeof v, "%u", version);
        if (fix == MIGRATE_FIX_MARK_APPLIED || fix == MIGRATE_FIX_MARK_REVERTED || fix == MIGRATE_FIX_STAMP) {
                mig = migration_set_find(m->set, version);
                if (!mig && !(fix == MIGRATE_FIX_STAMP && version == 0) &&
                    !(fix == MIGRATE_FIX_MARK_REVERTED && migrate_status_find(st, version)))
                        return migrator_fail(m, -ENOENT, "No migration %04u in this build (head is %04u).", version,
                                             migration_set_head(m->set));
        }
        rec = migrate_status_find(st, version);

        r = migrator_exec(m, "Cannot begin a transaction", "BEGIN", 0, NULL, NULL);
        if (r < 0)
                return r;

        switch (fix) {

        case MIGRATE_FIX_MARK_APPLIED: {
                _cleanup_free_ char *detail = NULL, *text = NULL;
                if (rec && rec->state == MIGRATION_STATE_APPLIED &&
                    streq(rec->checksum_up, mig->scripts[MIGRATION_UP].checksum) &&
                    streq(rec->checksum_down, mig->scripts[MIGRATION_DOWN].checksum) && streq(rec->name, mig->name)) {
                        migrator_rollback_quietly(m->conn);
                        migrator_progress(m, MIGRATE_PROGRESS_CHANGED, version, mig->name, -1,
                                          "already recorded as applied; nothing changed");
                        return 0;
                }
                detail = strprintf("mark-applied (was %s)", !rec ? "not recorded" : migration_state_to_string(rec->state));
                if (!detail)
                        return -ENOMEM;
                r = migrator_exec(m, "Cannot mark the migration applied",
                                  "INSERT INTO stopstart_meta.schema_version (version, name, checksum_up, checksum_down, state, "
                                  "applied_by, tool_version) VALUES ($1, $2, $3, $4, 'applied', $5, $6) "
                                  "ON CONFLICT (version) DO UPDATE SET state = 'applied', name = EXCLUDED.name, "
                                  "checksum_up = EXCLUDED.checksum_up, checksum_down = EXCLUDED.checksum_down",
                                  6, (const char *[]) { v, mig->name, mig->scripts[MIGRATION_UP].checksum,
                                                        mig->scripts[MIGRATION_DOWN].checksum, m->actor, PROJECT_VERSION },
                                  NULL);
                if (r >= 0)
                        r = migrator_log_event(m, version, MIGRATE_EVENT_FIX, mig->scripts[MIGRATION_UP].checksum,
                                               NULL, true, NULL, detail);
                if (r >= 0)
                        r = fix_commit(m);
                if (r < 0)
                        break;
                text = strprintf("marked applied (was %s)", !rec ? "not recorded" : migration_state_to_string(rec->state));
                migrator_progress(m, MIGRATE_PROGRESS_CHANGED, version, mig->name, -1, text);
                return 0;
        }

        case MIGRATE_FIX_MARK_REVERTED: {
                _cleanup_free_ char *detail = NULL, *text = NULL, *name = NULL;
                if (!rec) {
                        migrator_rollback_quietly(m->conn);
                        return migrator_fail(m, -ENOENT, "Migration %04u is not recorded (neither applied nor dirty); "
                                             "nothing to mark reverted.", version);
                }
                name = strdup(rec->name);
                detail = strprintf("mark-reverted (was %s)", migration_state_to_string(rec->state));
                if (!name || !detail)
                        return -ENOMEM;
                r = migrator_exec(m, "Cannot mark the migration reverted",
                                  "DELETE FROM stopstart_meta.schema_version WHERE version = $1::integer",
                                  1, (const char *[]) { v }, NULL);
                if (r >= 0)
                        r = migrator_log_event(m, version, MIGRATE_EVENT_FIX, rec->checksum_up, NULL, true, NULL, detail);
                if (r >= 0)
                        r = fix_commit(m);
                if (r < 0)
                        break;
                text = strprintf("marked reverted (was %s)", migration_state_to_string(rec->state));
                migrator_progress(m, MIGRATE_PROGRESS_CHANGED, version, name, -1, text);
                return 0;
        }

        case MIGRATE_FIX_STAMP: {
                _cleanup_free_ char *detail = NULL, *text = NULL;
                unsigned added = 0, removed = 0, repaired = 0;

                for (size_t i = 0; i < st->n_records && r >= 0; i++) {
                        const MigrationRecord *x = &st->records[i];
                        char xv[16];
                        snprintf(xv, sizeof xv, "%u", x->version);
                        if (x->version > version) {
                                r = migrator_exec(m, "Cannot stamp",
                                                  "DELETE FROM stopstart_meta.schema_version WHERE version = $1::integer",
                                                  1, (const char *[]) { xv }, NULL);
                                removed++;
                        } else if (x->state == MIGRATION_STATE_DIRTY) {
                                r = migrator_exec(m, "Cannot stamp",
                                                  "UPDATE stopstart_meta.schema_version SET state = 'applied' WHERE version = $1::integer",
                                                  1, (const char *[]) { xv }, NULL);
                                repaired++;
                        }
                }
                for (size_t i = 0; i < m->set->n_migrations && r >= 0; i++) {
                        const Migration *x = &m->set->migrations[i];
                        char xv[16];
                        if (x->version > version || migrate_status_find(st, x->version))
                                continue;
                        snprintf(xv, sizeof xv, "%u", x->version);
                        r = migrator_exec(m, "Cannot stamp",
                                          "INSERT INTO stopstart_meta.schema_version (version, name, checksum_up, checksum_down, "
                                          "state, applied_by, tool_version) VALUES ($1, $2, $3, $4, 'applied', $5, $6)",
                                          6, (const char *[]) { xv, x->name, x->scripts[MIGRATION_UP].checksum,
                                                                x->scripts[MIGRATION_DOWN].checksum, m->actor,
                                                                PROJECT_VERSION }, NULL);
                        added++;
                }
                if (r < 0)
                        break;
                detail = strprintf("stamp %04u: %u recorded, %u removed, %u dirty marked applied", version, added, removed,
                                   repaired);
                if (!detail)
                        return -ENOMEM;
                r = migrator_log_event(m, version, MIGRATE_EVENT_STAMP, mig ? mig->scripts[MIGRATION_UP].checksum : NULL,
                                       NULL, true, NULL, detail);
                if (r >= 0)
                        r = fix_commit(m);
                if (r < 0)
                        break;
                text = strprintf("stamped at %04u: %u recorded as applied, %u removed, %u dirty marked applied "
                                 "(nothing was run)", version, added, removed, repaired);
                migrator_progress(m, MIGRATE_PROGRESS_CHANGED, version, mig ? mig->name : "base", -1, text);
                return 0;
        }

        case MIGRATE_FIX_REALIGN_CHECKSUMS:
        case MIGRATE_FIX_FORGET_MISSING: {
                unsigned changed = 0;
                for (size_t i = 0; i < st->n_records && r >= 0; i++) {
                        const MigrationRecord *x = &st->records[i];
                        const Migration *xm = migration_set_find(m->set, x->version);
                        _cleanup_free_ char *detail = NULL;
                        char xv[16], a[13], b[13], c2[13], d2[13];

                        snprintf(xv, sizeof xv, "%u", x->version);
                        if (fix == MIGRATE_FIX_FORGET_MISSING) {
                                if (xm)
                                        continue;
                                r = migrator_exec(m, "Cannot forget the migration",
                                                  "DELETE FROM stopstart_meta.schema_version WHERE version = $1::integer",
                                                  1, (const char *[]) { xv }, NULL);
                                if (r >= 0)
                                        r = migrator_log_event(m, x->version, MIGRATE_EVENT_FIX, x->checksum_up, NULL, true,
                                                               NULL, "forget-missing (not in this build)");
                                if (r >= 0)
                                        migrator_progress(m, MIGRATE_PROGRESS_CHANGED, x->version, x->name, -1,
                                                          "forgotten (not in this build)");
                                changed++;
                                continue;
                        }
                        if (!xm || (streq(x->checksum_up, xm->scripts[MIGRATION_UP].checksum) &&
                                    streq(x->checksum_down, xm->scripts[MIGRATION_DOWN].checksum) &&
                                    streq(x->name, xm->name)))
                                continue;
                        detail = strprintf("realign-checksums: %s up %s… -> %s…, down %s… -> %s…", x->name,
                                           short_sum(x->checksum_up, a), short_sum(xm->scripts[MIGRATION_UP].checksum, b),
                                           short_sum(x->checksum_down, c2), short_sum(xm->scripts[MIGRATION_DOWN].checksum, d2));
                        if (!detail)
                                return -ENOMEM;
                        r = migrator_exec(m, "Cannot realign the checksums",
                                          "UPDATE stopstart_meta.schema_version SET name = $2, checksum_up = $3, checksum_down = $4 "
                                          "WHERE version = $1::integer",
                                          4, (const char *[]) { xv, xm->name, xm->scripts[MIGRATION_UP].checksum,
                                                                xm->scripts[MIGRATION_DOWN].checksum }, NULL);
                        if (r >= 0)
                                r = migrator_log_event(m, x->version, MIGRATE_EVENT_FIX, xm->scripts[MIGRATION_UP].checksum,
                                                       NULL, true, NULL, detail);
                        if (r >= 0)
                                migrator_progress(m, MIGRATE_PROGRESS_CHANGED, x->version, xm->name, -1,
                                                  "recorded name and checksums realigned to this build");
                        changed++;
                }
                if (r >= 0)
                        r = fix_commit(m);
                if (r < 0)
                        break;
                if (changed == 0)
                        migrator_progress(m, MIGRATE_PROGRESS_CHANGED, 0, NULL, -1,
                                          fix == MIGRATE_FIX_FORGET_MISSING ? "no recorded migration is missing from this build; nothing changed"
                                                                            : "every recorded checksum already matches this build; nothing changed");
                return 0;
        }

        default:
                migrator_rollback_quietly(m->conn);
                return -EINVAL;
        }

        migrator_rollback_quietly(m->conn);
        return r;
}

int migrator_reset(Migrator *m) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        _cleanup_free_ char *detail = NULL;
        int r;

        assert(m);
        assert(m->locked);

        r = migrator_bootstrap(m);
        if (r < 0)
                return r;
        r = migrator_status(m, &st);
        if (r < 0)
                return r;
        if (st->dirty > 0) {
                const MigrationRecord *rec = migrate_status_find(st, st->dirty);
                return migrator_fail(m, -EUCLEAN, "Refusing to reset: %s is dirty. Repair the record first with "
                                     "`stopstartctl db fix-state --mark-applied %u` or `--mark-reverted %u`.",
                                     rec ? rec->name : "a migration", st->dirty, st->dirty);
        }

        detail = strprintf("dropped schema " MIGRATE_APP_SCHEMA " at %04u; %zu version rows cleared", st->current,
                           st->n_records);
        if (!detail)
                return -ENOMEM;
        r = migrator_exec(m, "Cannot begin a transaction", "BEGIN", 0, NULL, NULL);
        if (r >= 0)
                r = migrator_set_local_lock_timeout(m);
        if (r >= 0)
                r = migrator_exec(m, "Cannot drop schema " MIGRATE_APP_SCHEMA,
                                  "DROP SCHEMA IF EXISTS " MIGRATE_APP_SCHEMA " CASCADE", 0, NULL, NULL);
        if (r >= 0)
                r = migrator_exec(m, "Cannot clear the version rows", "DELETE FROM stopstart_meta.schema_version", 0, NULL, NULL);
        if (r >= 0)
                r = migrator_log_event(m, st->current, MIGRATE_EVENT_RESET, NULL, NULL, true, NULL, detail);
        if (r >= 0)
                r = migrator_exec(m, "Cannot commit", "COMMIT", 0, NULL, NULL);
        if (r < 0) {
                migrator_rollback_quietly(m->conn);
                return r;
        }
        migrator_progress(m, MIGRATE_PROGRESS_CHANGED, st->current, NULL, -1, detail);

        return migrator_upgrade(m, "head");
}

/* ---- drift ------------------------------------------------------------------------------- */

static void silent_notices(void *arg, const char *message) {
        log_debug("scratch database: %s", message);
}

/* Builds the given migrations (ascending) in a new scratch database on the same server and
 * describes its application schema. -EPERM when the role may not create databases. */
static int build_scratch(Migrator *m, unsigned *versions, size_t n, SchemaDescription **ret) {
        _cleanup_pqclear_ PGresult *res = NULL;
        _cleanup_free_ char *create = NULL, *drop = NULL, *err = NULL;
        PQconninfoOption *opts = NULL;
        const char *kw[64], *val[64];
        char name[64];
        uint32_t rnd = 0;
        PGconn *scratch = NULL;
        size_t k = 0;
        int r;

        if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
                rnd = (uint32_t) now(CLOCK_REALTIME) ^ (uint32_t) getpid();
        snprintf(name, sizeof name, "stopstart_scratch_%d_%08x", (int) getpid(), rnd);
        create = strprintf("CREATE DATABASE %s TEMPLATE template0", name);
        drop = strprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
        if (!create || !drop)
                return -ENOMEM;

        res = PQexec(m->conn, create);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                _cleanup_free_ char *t = result_error_text(m->conn, res);
                if (state && streq(state, "42501"))
                        return migrator_fail(m, -EPERM, "cannot create a scratch database: %s", strna(t));
                return migrator_fail(m, PQstatus(m->conn) == CONNECTION_BAD ? -ECONNRESET : -EIO,
                                     "Cannot create a scratch database: %s", strna(t));
        }

        /* Same server, same role, same everything but the database name. */
        opts = PQconninfo(m->conn);
        if (!opts) {
                r = -ENOMEM;
                goto finish;
        }
        for (PQconninfoOption *o = opts; o->keyword && k < ELEMENTSOF(kw) - 2; o++) {
                if (!o->val || streq(o->keyword, "dbname"))
                        continue;
                kw[k] = o->keyword;
                val[k++] = o->val;
        }
        kw[k] = "dbname";
        val[k++] = name;
        kw[k] = NULL;
        val[k] = NULL;
        scratch = PQconnectdbParams(kw, val, 0);
        if (PQstatus(scratch) != CONNECTION_OK) {
                _cleanup_free_ char *t = result_error_text(scratch, NULL);
                r = migrator_fail(m, -EIO, "Cannot connect to the scratch database %s: %s", name, strna(t));
                goto finish;
        }
        PQsetNoticeProcessor(scratch, silent_notices, NULL);

        for (size_t i = 0; i < n; i++) {
                const Migration *mig = migration_set_find(m->set, versions[i]);
                const MigrationScript *up = &mig->scripts[MIGRATION_UP];
                bool notx = up->flags & MIGRATION_NO_TRANSACTION;

                if (!notx)
                        PQclear(PQexec(scratch, "BEGIN"));
                r = exec_migration_script(scratch, up, &err);
                if (r >= 0 && !notx) {
                        _cleanup_pqclear_ PGresult *c = PQexec(scratch, "COMMIT");
                        if (PQresultStatus(c) != PGRES_COMMAND_OK) {
                                free(err);
                                err = result_error_text(scratch, c);
                                r = -EIO;
                        }
                }
                if (r < 0) {
                        r = migrator_fail(m, r == -ENOMEM ? r : -EIO,
                                          "Building the migrations in a scratch database failed: %s", strna(err));
                        goto finish;
                }
        }

        r = schema_describe(scratch, MIGRATE_APP_SCHEMA, ret, &err);
        if (r < 0)
                r = migrator_fail(m, r, "Scratch database: %s", strna(err));

finish:
        PQconninfoFree(opts);
        if (scratch)
                PQfinish(scratch);
        {
                _cleanup_pqclear_ PGresult *d = PQexec(m->conn, drop);
                if (PQresultStatus(d) != PGRES_COMMAND_OK)
                        log_debug("Could not drop scratch database %s: %s", name, PQresultErrorMessage(d));
        }
        return r;
}

MigrateDiff *migrate_diff_free(MigrateDiff *d) {
        if (!d)
                return NULL;
        free(d->differences);
        schema_description_free(d->expected);
        schema_description_free(d->actual);
        return mfree(d);
}

int migrator_describe_head(Migrator *m, SchemaDescription **ret) {
        _cleanup_free_ unsigned *versions = NULL;

        assert(m);
        assert(ret);

        versions = new0(unsigned, m->set->n_migrations);
        if (!versions)
                return -ENOMEM;
        for (size_t i = 0; i < m->set->n_migrations; i++)
                versions[i] = m->set->migrations[i].version;
        return build_scratch(m, versions, m->set->n_migrations, ret);
}

/* Why the snapshot cannot stand for what the database should hold, or NULL if it can. */
static char *snapshot_unusable(Migrator *m, const MigrateStatus *st, const SchemaDescription *snap) {
        const Migration *head = m->set->n_migrations > 0 ? &m->set->migrations[m->set->n_migrations - 1] : NULL;
        size_t applied = 0;

        for (size_t i = 0; i < st->n_records; i++)
                if (st->records[i].state == MIGRATION_STATE_APPLIED && migration_set_find(m->set, st->records[i].version))
                        applied++;
        if (!head)
                return strdup("this build has no migrations");
        if (applied != m->set->n_migrations || st->n_records != applied)
                return strdup("the snapshot describes head, and the database is not exactly at head");
        if (!snap->head || !streq(snap->head, head->name))
                return strprintf("the snapshot describes %s but head is %s (run `stopstartctl db snapshot`)",
                                 snap->head ?: "an unknown version", head->name);
        if (snap->server_major != PQserverVersion(m->conn) / 10000)
                return strprintf("the snapshot was taken on PostgreSQL %d, the server runs %d",
                                 snap->server_major, PQserverVersion(m->conn) / 10000);
        return NULL;
}

int migrator_diff(Migrator *m, MigrateCheckFlags flags, MigrateDiff **ret) {
        _cleanup_(migrate_diff_freep) MigrateDiff *d = NULL;
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        _cleanup_free_ unsigned *versions = NULL;
        _cleanup_free_ char *err = NULL, *scratch_error = NULL;
        size_t n = 0;
        int r;

        assert(m);
        assert(ret);

        r = migrator_status(m, &st);
        if (r < 0)
                return r;

        d = new0(MigrateDiff, 1);
        versions = new0(unsigned, st->n_records);
        if (!d || !versions)
                return -ENOMEM;

        /* Expected: what the recorded migrations build, in order (dirty ones included: their
         * half-done state then shows up as differences). */
        for (size_t i = 0; i < st->n_records; i++) {
                if (!migration_set_find(m->set, st->records[i].version))
                        return migrator_fail(m, -EUCLEAN, "Cannot tell what the schema should be: %s is applied but not "
                                             "part of this build.", st->records[i].name);
                versions[n++] = st->records[i].version;
        }
        d->version = st->current;

        if (flags & MIGRATE_CHECK_DRIFT_SCRATCH) {
                if (n == 0) {
                        d->expected = new0(SchemaDescription, 1);
                        if (!d->expected)
                                return -ENOMEM;
                        r = 0;
                } else
                        r = build_scratch(m, versions, n, &d->expected);
                if (r >= 0)
                        d->method = MIGRATE_DRIFT_SCRATCH;
                else if (r == -EPERM && (flags & MIGRATE_CHECK_DRIFT_SNAPSHOT)) {
                        scratch_error = strdup(migrator_error(m));
                        if (!scratch_error)
                                return -ENOMEM;
                } else
                        return r;
        }

        if (!d->expected && (flags & MIGRATE_CHECK_DRIFT_SNAPSHOT)) {
                _cleanup_(schema_description_freep) SchemaDescription *snap = NULL;
                _cleanup_free_ char *why = NULL;

                if (!m->set->snapshot)
                        return migrator_fail(m, -EUCLEAN, "Cannot compare the schema: %s%sand the migrations (%s) have "
                                             "no schema.snapshot.", strempty(scratch_error), scratch_error ? ", " : "",
                                             m->set->origin);
                r = schema_description_parse(m->set->snapshot, &snap, &err);
                if (r < 0)
                        return migrator_fail(m, -EUCLEAN, "Cannot compare the schema: schema.snapshot of %s: %s",
                                             m->set->origin, strna(err));
                why = snapshot_unusable(m, st, snap);
                if (why)
                        return migrator_fail(m, -EUCLEAN, "Cannot compare the schema: %s%s%s.",
                                             strempty(scratch_error), scratch_error ? ", and " : "", why);
                d->expected = TAKE_PTR(snap);
                d->method = MIGRATE_DRIFT_SNAPSHOT;
        }

        if (!d->expected)
                return migrator_fail(m, -EUCLEAN, "Cannot compare the schema: no comparison method allowed.");

        r = schema_describe(m->conn, MIGRATE_APP_SCHEMA, &d->actual, &err);
        if (r < 0)
                return migrator_fail(m, r, "%s", strna(err));
        r = schema_diff(d->expected, d->actual, &d->differences, &d->n_differences);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(d);
        return 0;
}

/* ---- check ------------------------------------------------------------------------------- */

int migrator_check(Migrator *m, MigrateCheckFlags flags, MigrateCheck **ret) {
        _cleanup_(migrate_check_freep) MigrateCheck *c = NULL;
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        int r;

        assert(m);
        assert(ret);

        c = new0(MigrateCheck, 1);
        if (!c)
                return -ENOMEM;
        r = migrator_status(m, &st);
        if (r < 0)
                return r;
        r = collect_state_problems(m->set, st, c);
        if (r < 0)
                return r;

        c->current = st->current;
        c->head = migration_set_head(m->set);
        for (size_t i = 0; i < st->n_records; i++)
                if (st->records[i].state == MIGRATION_STATE_APPLIED)
                        c->n_applied++;
        for (size_t i = 0; i < c->n_problems; i++)
                if (c->problems[i].kind == MIGRATE_PROBLEM_PENDING || c->problems[i].kind == MIGRATE_PROBLEM_OUT_OF_ORDER)
                        c->n_pending++;

        if (flags & MIGRATE_CHECK_VERIFY)
                for (size_t i = 0; i < st->n_records; i++) {
                        const Migration *mig = migration_set_find(m->set, st->records[i].version);
                        _cleanup_free_ char *err = NULL;

                        if (!mig || !mig->scripts[MIGRATION_VERIFY].present)
                                continue;
                        r = run_verify(m->conn, &mig->scripts[MIGRATION_VERIFY], &err);
                        if (r == -ECONNRESET)
                                return migrator_fail(m, r, "Connection to the server lost: %s", strna(err));
                        if (r < 0) {
                                r = add_problem(c, MIGRATE_PROBLEM_VERIFY, mig->version,
                                                strprintf("%s: verify script failed: %s", mig->name, strna(err)));
                                if (r < 0)
                                        return r;
                        }
                }

        if (flags & (MIGRATE_CHECK_DRIFT_SCRATCH | MIGRATE_CHECK_DRIFT_SNAPSHOT)) {
                _cleanup_(migrate_diff_freep) MigrateDiff *d = NULL;

                r = migrator_diff(m, flags, &d);
                if (r == -EUCLEAN) {
                        c->drift_note = strdup(migrator_error(m));
                        if (!c->drift_note)
                                return -ENOMEM;
                } else if (r == -EIO) {
                        /* The migrations do not even build from scratch: that is drift of the worst kind. */
                        r = add_problem(c, MIGRATE_PROBLEM_DRIFT, 0, strdup(migrator_error(m)));
                        if (r < 0)
                                return r;
                } else if (r < 0)
                        return r;
                else {
                        c->drift_method = d->method;
                        for (size_t i = 0; i < d->n_differences; i++) {
                                const SchemaDifference *x = &d->differences[i];
                                /* A wholesale mismatch is one finding, not hundreds: diff lists them all. */
                                if (i == MIGRATE_CHECK_MAX_DRIFT) {
                                        r = add_problem(c, MIGRATE_PROBLEM_DRIFT, 0,
                                                        strprintf("… and %zu more differences (`stopstartctl db diff` "
                                                                  "lists them all)", d->n_differences - i));
                                        if (r < 0)
                                                return r;
                                        break;
                                }
                                r = add_problem(c, MIGRATE_PROBLEM_DRIFT, 0,
                                                strprintf("%s %s %s", x->kind, x->name,
                                                          !x->expected ? "exists in the database but not in the migrations" :
                                                          !x->actual ? "is defined by the migrations but missing from the database" :
                                                          "differs from its definition in the migrations"));
                                if (r < 0)
                                        return r;
                        }
                }
        }

        *ret = TAKE_PTR(c);
        return 0;
}

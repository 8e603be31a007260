/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Migrator object, its error and progress reporting, statements, the event log, and the
 * string tables of migrate.h. */
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
        [MIGRATE_PROBLEM_UNDECLARED] = "undeclared",
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
char *migrate_result_error_text(PGconn *conn, const PGresult *res) {
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
                _cleanup_free_ char *t = migrate_result_error_text(m->conn, res);
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

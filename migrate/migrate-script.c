/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running a script statement by statement: COPY blocks, error positions, verify scripts. */
#include <stdlib.h>
#include <string.h>

#include "migrate-internal.h"
#include "pq-util.h"
#include "strv.h"

static char *statement_error(const char *file, const char *sql, const SqlStatement *st, PGconn *conn,
                             const PGresult *res, const char *what) {
        const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
        const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
        const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
        const char *context = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
        _cleanup_free_ char *text = migrate_result_error_text(conn, res), *ctx = NULL;
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

int migrate_exec_migration_script(PGconn *conn, const MigrationScript *s, char **error) {
        return migrate_exec_script(conn, s->file, s->sql, s->statements, s->n_statements, error);
}

/* Runs a verify script without letting it change anything: in a savepoint when a transaction is
 * open, else in its own transaction, rolled back either way. */
int migrate_run_verify(PGconn *conn, const MigrationScript *s, char **error) {
        bool in_tx = PQtransactionStatus(conn) == PQTRANS_INTRANS;
        int r;

        PQclear(PQexec(conn, in_tx ? "SAVEPOINT stopstart_verify" : "BEGIN"));
        r = migrate_exec_migration_script(conn, s, error);
        if (in_tx)
                PQclear(PQexec(conn, "ROLLBACK TO SAVEPOINT stopstart_verify"));
        else
                migrator_rollback_quietly(conn);
        if (r >= 0 && PQstatus(conn) == CONNECTION_BAD)
                return -ECONNRESET;
        return r;
}

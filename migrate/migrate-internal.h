/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the runner's files (migrate.c: the object and statements; -script: running
 * scripts; -state: stopstart_meta; -lock; -apply: upgrade/downgrade; -fix: fix-state and reset;
 * -drift: scratch builds and diff; -check: problems and check; -backup: backup and restore);
 * not part of the library's API. */

#include "migrate.h"

struct Migrator {
        PGconn *conn;
        const MigrationSet *set;
        migrate_progress_t progress;
        void *userdata;
        uint64_t lock_timeout_usec;
        char *actor;
        char *host;
        char *error;
        bool locked;
};

/* Sets m->error from a printf format and returns r. */
int migrator_fail(Migrator *m, int r, const char *fmt, ...) _printf_(3, 4);

/* Runs one statement; on failure sets m->error to "what: server message" and returns -EIO (or
 * -ECONNRESET when the connection is gone). *ret (if given) gets the result. */
int migrator_exec(Migrator *m, const char *what, const char *sql, int n_params, const char * const *params,
                  PGresult **ret);

/* The server's message of res (or of conn when res has none) on one line, with its SQLSTATE. */
char *migrate_result_error_text(PGconn *conn, const PGresult *res);

/* Runs every statement of a script (COPY … FROM stdin blocks included) on conn. On failure
 * *error (if given) gets "FILE:LINE: message (SQLSTATE …)" plus indented DETAIL/HINT/CONTEXT. */
int migrate_exec_script(PGconn *conn, const char *file, const char *sql, const SqlStatement *statements,
                        size_t n_statements, char **error);

/* migrate_exec_script() of a migration's script. */
int migrate_exec_migration_script(PGconn *conn, const MigrationScript *s, char **error);

/* Runs a verify script without letting it change anything (rolled back either way). */
int migrate_run_verify(PGconn *conn, const MigrationScript *s, char **error);

/* Refuses (-EUCLEAN, with the message set) a change while the version rows show a problem other
 * than pending migrations (and, if allow_out_of_order, out-of-order ones). */
int migrator_refuse_unclean(Migrator *m, const MigrateStatus *st, const char *verb, bool allow_out_of_order);

/* The first 12 hex digits of a checksum, for messages. */
const char *migrate_short_sum(const char *s, char buf[static 13]);

/* Appends an event to the log (in the current transaction, if any). */
int migrator_log_event(Migrator *m, unsigned version, MigrateEvent event, const char *checksum,
                       const char *started_at, bool success, const char *error, const char *detail);

/* CREATE … IF NOT EXISTS of stopstart_meta and its tables. */
extern const char migrate_bootstrap_sql[];

/* Creates stopstart_meta when missing; refuses a newer layout. Needs the lock. */
int migrator_bootstrap(Migrator *m);

/* "SET LOCAL lock_timeout = …" for the current transaction (nothing if no timeout is set). */
int migrator_set_local_lock_timeout(Migrator *m);

/* The server's clock_timestamp() as text (for started_at). */
int migrator_server_now(Migrator *m, char **ret);

void migrator_progress(Migrator *m, MigrateProgressKind kind, unsigned version, const char *name,
                       int64_t execution_ms, const char *text);

/* ROLLBACK if a transaction is open or failed. */
void migrator_rollback_quietly(PGconn *conn);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Applying and reverting migrations: upgrade and downgrade. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "migrate-internal.h"
#include "pq-util.h"
#include "strv.h"
#include "time-util.h"

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

                r = migrate_exec_migration_script(m->conn, up, &err);
                if (r >= 0 && verify->present) {
                        r = migrate_run_verify(m->conn, verify, &err);
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
                                _cleanup_free_ char *t = migrate_result_error_text(m->conn, res);
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
                r = migrate_exec_migration_script(m->conn, up, &err);
                if (r >= 0 && PQtransactionStatus(m->conn) != PQTRANS_IDLE) {
                        err = strprintf("%s: the script left a transaction open", up->file);
                        r = -EIO;
                }
                migrator_rollback_quietly(m->conn);
                PQclear(PQexec(m->conn, "RESET lock_timeout"));
                if (r >= 0 && verify->present) {
                        r = migrate_run_verify(m->conn, verify, &err);
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
                r = migrate_exec_migration_script(m->conn, down, &err);
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
                r = migrate_exec_migration_script(m->conn, down, &err);
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
                        _cleanup_free_ char *t = migrate_result_error_text(m->conn, res);
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
        r = migrator_refuse_unclean(m, st, "upgrade", false);
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

/* The migrations a downgrade to target reverts, newest first (indexes into st->records), with
 * the same refusals as the downgrade itself. */
static int downgrade_resolve(Migrator *m, const MigrateStatus *st, const char *target, size_t *ret_first,
                             size_t *ret_n) {
        unsigned keep = 0, count = UINT32_MAX;
        size_t n_applied = st->n_records, n = 0;
        int r;

        r = migrator_refuse_unclean(m, st, "downgrade", true);
        if (r < 0)
                return r;

        if (!target) {
                if (n_applied == 0) {
                        *ret_first = 0;
                        *ret_n = 0;
                        return 0;       /* already at base: nothing to do */
                }
                target = "-1";
        }
        if (target[0] == '-') {
                r = parse_count(target + 1, &count);
                if (r < 0)
                        return migrator_fail(m, -EINVAL, "Invalid downgrade target \"%s\" (want -N with N >= 1).", target);
                if (count > n_applied)
                        return migrator_fail(m, -EINVAL, "Cannot downgrade by %u: only %zu migration%s applied.",
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

        for (size_t i = st->n_records; i > 0 && n < count; i--) {
                if (st->records[i - 1].version <= keep)
                        break;
                n++;
        }
        *ret_first = st->n_records - n;
        *ret_n = n;
        return 0;
}

int migrator_downgrade_plan(Migrator *m, const char *target, MigrateDowngradePlan *ret) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        size_t first, n;
        int r;

        assert(m);
        assert(ret);

        r = migrator_status(m, &st);
        if (r < 0)
                return r;
        r = downgrade_resolve(m, st, target, &first, &n);
        if (r < 0)
                return r;
        *ret = (MigrateDowngradePlan) {
                .before = st->current,
                .after = first > 0 ? st->records[first - 1].version : 0,
                .n_revert = n,
                .first_reverted = n > 0 ? st->records[st->n_records - 1].version : 0,
                .last_reverted = n > 0 ? st->records[first].version : 0,
        };
        return 0;
}

int migrator_downgrade(Migrator *m, const char *target) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        size_t first, n;
        int r;

        assert(m);
        assert(m->locked);

        r = migrator_bootstrap(m);
        if (r < 0)
                return r;
        r = migrator_status(m, &st);
        if (r < 0)
                return r;
        r = downgrade_resolve(m, st, target, &first, &n);
        if (r < 0)
                return r;

        for (size_t i = first + n; i > first; i--) {
                const Migration *mig = migration_set_find(m->set, st->records[i - 1].version);

                assert(mig);      /* migrator_refuse_unclean() refused missing ones */
                r = revert_one(m, mig);
                if (r < 0)
                        return r;
        }
        return 0;
}

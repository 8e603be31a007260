/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drift: the live schema against the migrations built in a scratch database or the snapshot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "migrate-internal.h"
#include "pq-util.h"
#include "schema-autogen.h"
#include "sql-split.h"
#include "strv.h"
#include "time-util.h"

static void silent_notices(void *arg, const char *message) {
        log_debug("scratch database: %s", message);
}

/* Builds the given migrations (ascending), then sql when not NULL (display names it in
 * messages), in a new scratch database on the same server and describes its application schema.
 * -EPERM when the role may not create databases. */
static int build_scratch_sql(Migrator *m, unsigned *versions, size_t n, const char *sql, const char *display,
                             SchemaDescription **ret) {
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
                _cleanup_free_ char *t = migrate_result_error_text(m->conn, res);
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
                _cleanup_free_ char *t = migrate_result_error_text(scratch, NULL);
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
                r = migrate_exec_migration_script(scratch, up, &err);
                if (r >= 0 && !notx) {
                        _cleanup_pqclear_ PGresult *c = PQexec(scratch, "COMMIT");
                        if (PQresultStatus(c) != PGRES_COMMAND_OK) {
                                free(err);
                                err = migrate_result_error_text(scratch, c);
                                r = -EIO;
                        }
                }
                if (r < 0) {
                        r = migrator_fail(m, r == -ENOMEM ? r : -EIO,
                                          "Building the migrations in a scratch database failed: %s", strna(err));
                        goto finish;
                }
        }

        if (sql) {
                _cleanup_free_ SqlStatement *statements = NULL;
                size_t n_statements = 0;
                unsigned line = 0;
                r = sql_split(sql, &statements, &n_statements, &line);
                if (r < 0) {
                        r = migrator_fail(m, r == -ENOMEM ? r : -EINVAL, "%s:%u: unterminated quote or comment", display, line);
                        goto finish;
                }
                PQclear(PQexec(scratch, "BEGIN"));
                r = migrate_exec_script(scratch, display, sql, statements, n_statements, &err);
                if (r >= 0) {
                        _cleanup_pqclear_ PGresult *c = PQexec(scratch, "COMMIT");
                        if (PQresultStatus(c) != PGRES_COMMAND_OK) {
                                free(err);
                                err = migrate_result_error_text(scratch, c);
                                r = -EIO;
                        }
                }
                if (r < 0) {
                        r = migrator_fail(m, r == -ENOMEM ? r : -EINVAL, "Building %s in a scratch database failed: %s",
                                          display, strna(err));
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

static int build_scratch(Migrator *m, unsigned *versions, size_t n, SchemaDescription **ret) {
        return build_scratch_sql(m, versions, n, NULL, NULL, ret);
}

int migrator_describe_declared(Migrator *m, SchemaDescription **ret) {
        assert(m);
        assert(ret);

        if (!m->set->declared)
                return migrator_fail(m, -ENOENT, "The migrations in %s come without a declared schema (schema.sql).",
                                     m->set->origin);
        return build_scratch_sql(m, NULL, 0, m->set->declared, "migrations/schema.sql", ret);
}

int migrator_autogenerate(Migrator *m, bool from_live, char **ret_up, char **ret_down, unsigned *ret_reviews) {
        _cleanup_(schema_description_freep) SchemaDescription *head = NULL, *desired = NULL;
        _cleanup_free_ char *up = NULL, *down = NULL, *err = NULL;
        unsigned up_reviews = 0, down_reviews = 0;
        int r;

        assert(m);
        assert(ret_up);
        assert(ret_down);

        r = migrator_describe_head(m, &head);
        if (r < 0)
                return r;
        if (from_live) {
                r = schema_describe(m->conn, MIGRATE_APP_SCHEMA, &desired, &err);
                if (r < 0)
                        return migrator_fail(m, r, "Cannot read the live schema: %s", strna(err));
        } else {
                r = migrator_describe_declared(m, &desired);
                if (r < 0)
                        return r;
        }
        r = schema_autogen(head, desired, &up, &up_reviews);
        if (r >= 0)
                r = schema_autogen(desired, head, &down, &down_reviews);
        if (r < 0)
                return r;
        *ret_up = TAKE_PTR(up);
        *ret_down = TAKE_PTR(down);
        if (ret_reviews)
                *ret_reviews = up_reviews + down_reviews;
        return 0;
}

int migrator_diff_declared(Migrator *m, MigrateDiff **ret) {
        _cleanup_(migrate_diff_freep) MigrateDiff *d = NULL;
        int r;

        assert(m);
        assert(ret);

        d = new0(MigrateDiff, 1);
        if (!d)
                return -ENOMEM;
        r = migrator_describe_declared(m, &d->expected);
        if (r < 0)
                return r;
        r = migrator_describe_head(m, &d->actual);
        if (r < 0)
                return r;
        r = schema_diff(d->expected, d->actual, &d->differences, &d->n_differences);
        if (r < 0)
                return r;
        d->method = MIGRATE_DRIFT_SCRATCH;
        d->version = migration_set_head(m->set);
        *ret = TAKE_PTR(d);
        return 0;
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

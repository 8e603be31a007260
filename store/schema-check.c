/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrate.h"
#include "migration.h"
#include "pq-util.h"
#include "schema-check.h"
#include "strv.h"
#include "time-util.h"

/* libpq's text as one line, in place (it only gets shorter). */
static char *one_line(char *s) {
        _cleanup_free_ char *t = pq_one_line(s);
        if (t)
                strcpy(s, t);
        return s;
}

/* Read-only, with the migration runner: the migrations recorded in the database must be exactly
 * the ones built into this binary (none pending, none dirty, none changed or unknown). */
static int check_schema_at_head(PGconn *conn, char **ret_error) {
        _cleanup_(migration_set_freep) MigrationSet *set = NULL;
        _cleanup_(migrator_freep) Migrator *mg = NULL;
        _cleanup_(migrate_check_freep) MigrateCheck *c = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        r = migration_set_load_embedded(&set, &err);
        if (r < 0) {
                *ret_error = strprintf("The built-in migrations are broken: %s", strna(err));
                return r;
        }
        r = migrator_new(conn, set, &mg);
        if (r < 0)
                return r;
        r = migrator_check(mg, 0, &c);
        if (r < 0) {
                *ret_error = strprintf("Checking the database schema failed: %s", migrator_error(mg));
                return r;
        }
        if (c->n_problems == 0)
                return 0;

        for (size_t i = 0; i < c->n_problems; i++)
                if (c->problems[i].kind != MIGRATE_PROBLEM_PENDING) {
                        *ret_error = strprintf("The database schema is not usable: %s", c->problems[i].message);
                        return -EUCLEAN;
                }
        *ret_error = strprintf("The database schema is at version %u, this stopstartd needs %u (%zu pending): "
                               "run 'stopstartctl db upgrade'.",
                               c->current, c->head, c->n_pending);
        return -EUCLEAN;
}

int store_check_schema(const char *conninfo, uint64_t timeout_usec, void (*waiting)(const char *why, void *userdata),
                       void *userdata, char **ret_error) {
        _cleanup_pqfinish_ PGconn *conn = NULL;
        uint64_t deadline = now(CLOCK_MONOTONIC) + timeout_usec, delay = 100 * 1000;
        PQconninfoOption *opts;
        char *perr = NULL;

        /* A conninfo that cannot parse is a configuration error: waiting will not fix it. */
        opts = PQconninfoParse(conninfo, &perr);
        if (!opts) {
                *ret_error = strprintf("The database setting is not valid libpq conninfo: %s",
                                       perr ? one_line(perr) : "out of memory");
                PQfreemem(perr);
                return -EINVAL;
        }
        PQconninfoFree(opts);

        for (;;) {
                conn = PQconnectdb(conninfo);
                if (conn && PQstatus(conn) == CONNECTION_OK)
                        break;
                if (now(CLOCK_MONOTONIC) + delay > deadline) {
                        *ret_error = strprintf("The database is not reachable: %s",
                                               conn ? one_line(PQerrorMessage(conn)) : "out of memory");
                        return -ENOTCONN;
                }
                if (waiting)
                        waiting(conn ? one_line(PQerrorMessage(conn)) : "", userdata);
                PQfinish(TAKE_PTR(conn));
                (void) usleep(delay);
                delay = MIN(delay * 2, 2 * 1000000ULL);
        }

        return check_schema_at_head(conn, ret_error);
}

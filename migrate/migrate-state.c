/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state in stopstart_meta: its tables, the version rows, the event log. */
#include <stdlib.h>
#include <string.h>

#include "migrate-internal.h"
#include "pq-util.h"
#include "strv.h"

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

int migrator_count_sessions(Migrator *m, const char *application_name, unsigned *ret) {
        _cleanup_pqclear_ PGresult *res = NULL;
        int r;

        assert(m);
        assert(application_name);
        assert(ret);

        /* application_name is visible for every session, whoever's it is. */
        r = migrator_exec(m, "Cannot read pg_stat_activity",
                          "SELECT count(*) FROM pg_catalog.pg_stat_activity "
                          " WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()",
                          1, (const char *[]) { application_name }, &res);
        if (r < 0)
                return r;
        *ret = (unsigned) strtoul(PQgetvalue(res, 0, 0), NULL, 10);
        return 0;
}

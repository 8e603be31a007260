/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "store-test.h"
#include "strv.h"

sd_event *event;
Db *db;

typedef struct Sql {
        int calls, error;
        char *value;
} Sql;

static void on_sql(Db *d, PGresult *r, int error, void *userdata) {
        Sql *s = userdata;
        s->calls++;
        s->error = error;
        free(s->value);
        s->value = r && PQntuples(r) > 0 ? strdup(PQgetvalue(r, 0, 0)) : NULL;
        if (error < 0)
                fprintf(stderr, "sql failed: %s\n", db_last_error(d));
        PQclear(r);
}

char *sql_value_on(Db *d, const char *sql) {
        Sql s = {};
        ASSERT_OK(db_query(d, sql, 0, NULL, 0, on_sql, &s));
        RUN_UNTIL(s.calls == 1);
        ASSERT_EQ(s.error, 0);
        return s.value;
}

char *sql_value(const char *sql) {
        return sql_value_on(db, sql);
}

Db *store_test_connect(void) {
        Db *d;
        ASSERT_OK(db_new(event, "", &d));
        ASSERT_OK(db_start(d));
        RUN_UNTIL(db_get_state(d) == DB_CONNECTED);
        return d;
}

static char *read_file(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t n = 0;
        if (!f || getdelim(&buf, &n, '\0', f) < 0)
                TEST_FAIL("cannot read %s", path);
        return buf;
}

static int up_filter(const struct dirent *d) {
        size_t l = strlen(d->d_name);
        return l > 7 && streq(d->d_name + l - 7, ".up.sql");
}

int store_test_setup(void) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **files = NULL;
        int n;

        if (!getenv("PGCLUSTER_DIR")) {
                fprintf(stderr, "run me through tests/lib/pgcluster.py run\n");
                return 77;
        }
        log_parse_environment();
        ASSERT_OK(sd_event_default(&event));
        ASSERT_OK(db_new(event, "", &db));
        ASSERT_OK(db_start(db));

        dir = strprintf("%s/migrations", getenv("STOPSTART_SOURCE_ROOT"));
        n = scandir(dir, &files, up_filter, alphasort);
        ASSERT_TRUE(n >= 3);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = strprintf("%s/%s", dir, files[i]->d_name), *up = read_file(path);
                free(sql_value(up));
                free(files[i]);
        }
        free(files);
        return 0;
}

void store_test_teardown(void) {
        db = db_free(db);
        event = sd_event_unref(event);
}

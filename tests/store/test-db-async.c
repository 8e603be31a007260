/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The non-blocking PostgreSQL client against a real throwaway cluster (run through
 * tests/lib/pgcluster.py run, which sets PG* and PGCLUSTER_DIR). */
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "db.h"
#include "log.h"
#include "pq-util.h"
#include "strv.h"
#include "../unit/tests.h"

static sd_event *event;

typedef struct Outcome {
        int calls;
        int error;
        char *value;      /* first column of the first row */
        char *sqlstate;
} Outcome;

static void outcome_done(Outcome *o) {
        free(o->value);
        free(o->sqlstate);
        *o = (Outcome) {};
}

static void on_result(Db *db, PGresult *r, int error, void *userdata) {
        Outcome *o = userdata;
        o->calls++;
        o->error = error;
        if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
                o->value = strdup(PQgetvalue(r, 0, 0));
        if (r && PQresultErrorField(r, PG_DIAG_SQLSTATE))
                o->sqlstate = strdup(PQresultErrorField(r, PG_DIAG_SQLSTATE));
        PQclear(r);
}

/* Runs the loop until cond holds or 20 s pass. */
#define RUN_UNTIL(cond)                                                                 \
        do {                                                                            \
                for (int _i_ = 0; !(cond); _i_++) {                                     \
                        if (_i_ > 2000)                                                 \
                                TEST_FAIL("timeout waiting for %s", #cond);             \
                        ASSERT_OK(sd_event_run(event, 10 * 1000));                      \
                }                                                                       \
        } while (0)

static void pg_control(const char *verb) {
        _cleanup_free_ char *cmd = strprintf("/usr/bin/python3 %s %s %s >/dev/null", getenv("PGCLUSTER"), verb,
                                             getenv("PGCLUSTER_DIR"));
        ASSERT_NOT_NULL(cmd);
        ASSERT_EQ(system(cmd), 0);
}

static int n_states;
static void on_state(Db *db, DbState s, void *userdata) {
        n_states++;
}

TEST(string_table) {
        for (DbState s = 0; s < _DB_STATE_MAX; s++) {
                ASSERT_NOT_NULL(db_state_to_string(s));
                ASSERT_EQ(db_state_from_string(db_state_to_string(s)), s);
        }
        ASSERT_EQ(db_state_from_string("nope"), _DB_STATE_INVALID);
        ASSERT_NULL(db_state_to_string(_DB_STATE_MAX));
}

TEST(queries_in_order) {
        _cleanup_(db_freep) Db *db = NULL;
        Outcome o[50] = {};
        char sql[64];

        ASSERT_OK(db_new(event, "", &db)); /* PG* environment */
        db_set_state_handler(db, on_state, NULL);
        /* Queued before the connection exists: they wait, then run in order. */
        for (int i = 0; i < 50; i++) {
                snprintf(sql, sizeof sql, "SELECT %d + $1::int", i);
                ASSERT_OK(db_query(db, sql, 1, (const char *[]) { "1000" }, 0, on_result, &o[i]));
        }
        ASSERT_EQ(db_pending(db), 50);
        ASSERT_OK(db_start(db));
        RUN_UNTIL(o[49].calls == 1);
        for (int i = 0; i < 50; i++) {
                char want[16];
                snprintf(want, sizeof want, "%d", 1000 + i);
                ASSERT_EQ(o[i].calls, 1);
                ASSERT_EQ(o[i].error, 0);
                ASSERT_STREQ(o[i].value, want);
                outcome_done(&o[i]);
        }
        ASSERT_EQ(db_pending(db), 0);
        ASSERT_EQ(db_get_state(db), DB_CONNECTED);
        ASSERT_TRUE(n_states >= 2);
}

TEST(errors_and_scripts) {
        _cleanup_(db_freep) Db *db = NULL;
        Outcome a = {}, b = {}, c = {}, d = {};

        ASSERT_OK(db_new(event, "", &db));
        ASSERT_OK(db_start(db));
        ASSERT_OK(db_query(db, "CREATE TABLE t (k int PRIMARY KEY)", 0, NULL, 0, on_result, &a));
        /* A script stops at its first error and the whole transaction is gone. */
        ASSERT_OK(db_query(db, "BEGIN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (1); COMMIT", 0, NULL, 0,
                           on_result, &b));
        ASSERT_OK(db_query(db, "SELECT count(*) FROM t", 0, NULL, 0, on_result, &c));
        ASSERT_OK(db_query(db, "SELECT $1::int", 1, (const char *[]) { "not a number" }, 0, on_result, &d));
        RUN_UNTIL(d.calls == 1);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(b.error, -EIO);
        ASSERT_STREQ(b.sqlstate, "23505");
        ASSERT_EQ(c.error, 0);
        ASSERT_STREQ(c.value, "0");
        ASSERT_EQ(d.error, -EIO);
        ASSERT_STREQ(d.sqlstate, "22P02");
        ASSERT_TRUE(strstr(db_last_error(db), "invalid input syntax") != NULL);
        /* The connection survives statement errors. */
        ASSERT_EQ(db_get_state(db), DB_CONNECTED);
        outcome_done(&a), outcome_done(&b), outcome_done(&c), outcome_done(&d);
}

TEST(application_name) {
        /* stopstartctl db downgrade/restore look for it in pg_stat_activity; a conninfo's own wins. */
        const char *conninfo[] = { "", "application_name=mine" }, *want[] = { STOPSTARTD_APPLICATION_NAME, "mine" };

        for (size_t i = 0; i < ELEMENTSOF(conninfo); i++) {
                _cleanup_(db_freep) Db *db = NULL;
                Outcome o = {};

                ASSERT_OK(db_new(event, conninfo[i], &db));
                ASSERT_OK(db_start(db));
                ASSERT_OK(db_query(db, "SELECT current_setting('application_name')", 0, NULL, 0, on_result, &o));
                RUN_UNTIL(o.calls == 1);
                ASSERT_EQ(o.error, 0);
                ASSERT_STREQ(o.value, want[i]);
                outcome_done(&o);
        }
}

TEST(in_flight_fails_on_connection_loss_and_reconnects) {
        _cleanup_(db_freep) Db *db = NULL, *killer = NULL;
        Outcome slow = {}, after = {}, k = {};

        ASSERT_OK(db_new(event, "", &db));
        db_set_reconnect_backoff(db, 20 * 1000, 200 * 1000);
        ASSERT_OK(db_start(db));
        ASSERT_OK(db_query(db, "SELECT pg_sleep(30)", 0, NULL, 0, on_result, &slow));
        ASSERT_OK(db_query(db, "SELECT 'after'", 0, NULL, 0, on_result, &after));

        ASSERT_OK(db_new(event, "", &killer));
        ASSERT_OK(db_start(killer));
        RUN_UNTIL(db_get_state(db) == DB_CONNECTED && db_get_state(killer) == DB_CONNECTED);
        /* The server may not have started the sleep yet: try until one backend was hit. */
        for (int i = 0; i < 200 && !streq_ptr(k.value, "1"); i++) {
                outcome_done(&k);
                ASSERT_OK(db_query(killer,
                                   "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE query = 'SELECT pg_sleep(30)' AND pid <> pg_backend_pid()",
                                   0, NULL, 0, on_result, &k));
                RUN_UNTIL(k.calls == 1);
        }
        ASSERT_STREQ(k.value, "1");
        RUN_UNTIL(after.calls == 1);
        /* The statement in flight has an unknown outcome: the caller is told. The queued one
         * was never sent, so it ran after the reconnection. */
        ASSERT_EQ(slow.calls, 1);
        ASSERT_EQ(slow.error, -ECONNRESET);
        ASSERT_EQ(after.error, 0);
        ASSERT_STREQ(after.value, "after");
        outcome_done(&slow), outcome_done(&after), outcome_done(&k);
}

TEST(server_stopped_and_started) {
        _cleanup_(db_freep) Db *db = NULL;
        Outcome fast = {}, queued = {}, first = {};

        ASSERT_OK(db_new(event, "", &db));
        db_set_reconnect_backoff(db, 20 * 1000, 200 * 1000);
        ASSERT_OK(db_start(db));
        ASSERT_OK(db_query(db, "SELECT 1", 0, NULL, 0, on_result, &first));
        RUN_UNTIL(first.calls == 1);

        pg_control("stop");
        RUN_UNTIL(db_get_state(db) == DB_DISCONNECTED);
        ASSERT_TRUE(strlen(db_last_error(db)) > 0);

        /* While it is down: fail-fast statements fail at once, the others wait. */
        ASSERT_ERR(db_query(db, "SELECT 2", 0, NULL, DB_QUERY_FAIL_FAST, on_result, &fast), ENOTCONN);
        ASSERT_OK(db_query(db, "SELECT 'queued'", 0, NULL, 0, on_result, &queued));
        for (int i = 0; i < 30; i++)
                ASSERT_OK(sd_event_run(event, 10 * 1000));
        ASSERT_EQ(queued.calls, 0);

        pg_control("resume");
        RUN_UNTIL(queued.calls == 1);
        ASSERT_EQ(queued.error, 0);
        ASSERT_STREQ(queued.value, "queued");
        outcome_done(&fast), outcome_done(&queued), outcome_done(&first);
}

TEST(free_answers_everything) {
        Db *db = NULL;
        Outcome a = {}, b = {};

        ASSERT_OK(db_new(event, "host=/nonexistent-dir port=1", &db));
        ASSERT_OK(db_query(db, "SELECT 1", 0, NULL, 0, on_result, &a));
        ASSERT_OK(db_query(db, "SELECT 2", 0, NULL, 0, on_result, &b));
        (void) db_start(db);
        ASSERT_TRUE(strstr(db_last_error(db), "nonexistent-dir") != NULL || db_get_state(db) == DB_CONNECTING);
        db_free(db);
        ASSERT_EQ(a.calls, 1);
        ASSERT_EQ(a.error, -ECANCELED);
        ASSERT_EQ(b.error, -ECANCELED);
}

TEST(free_when_idle_lets_pending_finish) {
        Db *db = NULL;
        Outcome a = {}, b = {};

        ASSERT_OK(db_new(event, "", &db));
        ASSERT_OK(db_start(db));
        RUN_UNTIL(db_get_state(db) == DB_CONNECTED);
        ASSERT_OK(db_query(db, "SELECT pg_sleep(0.2)", 0, NULL, 0, on_result, &a));
        ASSERT_OK(db_query(db, "SELECT 'last'", 0, NULL, 0, on_result, &b));
        db_free_when_idle(db);  /* given up: ASan reports a leak if it is never freed */
        RUN_UNTIL(b.calls == 1);
        ASSERT_EQ(a.error, 0);
        ASSERT_EQ(b.error, 0);
        ASSERT_STREQ(b.value, "last");
        for (int i = 0; i < 10; i++)
                ASSERT_OK(sd_event_run(event, 10 * 1000));
        outcome_done(&a), outcome_done(&b);

        /* Disconnected: freed at once, pending statements are told. */
        ASSERT_OK(db_new(event, "host=/nonexistent-dir port=1", &db));
        ASSERT_OK(db_query(db, "SELECT 1", 0, NULL, 0, on_result, &a));
        db_free_when_idle(db);
        ASSERT_EQ(a.calls, 1);
        ASSERT_EQ(a.error, -ECANCELED);
}

int main(void) {
        if (!getenv("PGCLUSTER_DIR")) {
                fprintf(stderr, "run me through tests/lib/pgcluster.py run\n");
                return 77;
        }
        log_parse_environment();
        ASSERT_OK(sd_event_default(&event));
        RUN(string_table);
        RUN(queries_in_order);
        RUN(errors_and_scripts);
        RUN(application_name);
        RUN(in_flight_fails_on_connection_loss_and_reconnects);
        RUN(server_stopped_and_started);
        RUN(free_answers_everything);
        RUN(free_when_idle_lets_pending_finish);
        event = sd_event_unref(event);
        return 0;
}

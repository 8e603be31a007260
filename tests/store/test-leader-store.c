/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store/leader-store.c against a real cluster at schema head (run through tests/lib/pgcluster.py
 * run), with several connections standing for several daemons: one takes the lock and is named,
 * the others are refused and name it; the holder's check; the lock goes with its session and a
 * leftover record names nobody; a committed change notifies the listeners with the table's name
 * and the writer's backend PID. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "db.h"
#include "leader-store.h"
#include "strv.h"
#include "../unit/tests.h"

static sd_event *event;

#define RUN_UNTIL(cond)                                                                 \
        do {                                                                            \
                for (int _i_ = 0; !(cond); _i_++) {                                     \
                        if (_i_ > 6000)                                                 \
                                TEST_FAIL("timeout waiting for %s", #cond);             \
                        ASSERT_OK(sd_event_run(event, 10 * 1000));                      \
                }                                                                       \
        } while (0)

typedef struct Sql {
        int calls, error;
} Sql;

static void on_sql(Db *d, PGresult *r, int error, void *userdata) {
        Sql *s = userdata;
        s->calls++;
        s->error = error;
        if (error < 0)
                fprintf(stderr, "sql failed: %s\n", db_last_error(d));
        PQclear(r);
}

static void sql(Db *db, const char *text) {
        Sql s = {};
        ASSERT_OK(db_query(db, text, 0, NULL, 0, on_sql, &s));
        RUN_UNTIL(s.calls == 1);
        ASSERT_EQ(s.error, 0);
}

static Db *connect_db(void) {
        Db *db;
        ASSERT_OK(db_new(event, "", &db));
        ASSERT_OK(db_start(db));
        RUN_UNTIL(db_get_state(db) == DB_CONNECTED);
        return db;
}

typedef struct Claim {
        int calls, error;
        bool leader;
        char *holder;
} Claim;

static void on_claim(int error, bool leader, const char *holder, const char *message, void *userdata) {
        Claim *c = userdata;
        c->calls++;
        c->error = error;
        c->leader = leader;
        free(c->holder);
        c->holder = strdup(strempty(holder));
        if (error < 0)
                fprintf(stderr, "claim failed: %s\n", strna(message));
}

/* leader and holder as the statement answered; mode: 't' try, 'y' try unless others are present,
 * 'p' peek, 'c' check */
static void expect(Db *db, char mode, const char *identity, bool leader, const char *holder) {
        Claim c = {};
        if (mode == 'c')
                ASSERT_OK(leader_store_check(db, on_claim, &c));
        else
                ASSERT_OK(leader_store_claim(db, mode == 't' ? LEADER_CLAIM_TRY : mode == 'y' ? LEADER_CLAIM_YIELD
                                                                             : LEADER_CLAIM_PEEK,
                                             identity, on_claim, &c));
        RUN_UNTIL(c.calls == 1);
        ASSERT_EQ(c.error, 0);
        ASSERT_EQ(c.leader, leader);
        ASSERT_STREQ(c.holder, holder);
        free(c.holder);
}

typedef struct Heard {
        int calls;
        char *channel, *payload;
        char **payloads;        /* every one, in order */
        int sender;
} Heard;

static void on_notify(Db *db, const char *channel, const char *payload, int sender, void *userdata) {
        Heard *h = userdata;
        h->calls++;
        free(h->channel);
        free(h->payload);
        h->channel = strdup(channel);
        h->payload = strdup(payload);
        ASSERT_OK(strv_extend(&h->payloads, payload));
        h->sender = sender;
}

static void on_listening(int error, const char *message, void *userdata) {
        Sql *s = userdata;
        s->calls++;
        s->error = error;
}

static void on_listening(int error, const char *message, void *userdata);

static void listen_on(Db *db) {
        Sql s = {};
        ASSERT_OK(leader_store_listen(db, on_listening, &s));
        RUN_UNTIL(s.calls == 1);
        ASSERT_EQ(s.error, 0);
}

TEST(election) {
        Db *a = connect_db(), *b = connect_db(), *c;

        /* Nobody leads yet. */
        expect(b, 'p', NULL, false, "");
        expect(a, 't', "host-a:1", true, "host-a:1");
        expect(b, 't', "host-b:2", false, "host-a:1");
        expect(b, 'p', NULL, false, "host-a:1");
        expect(a, 'c', NULL, true, "host-a:1");
        expect(b, 'c', NULL, false, "host-a:1");

        /* The lock goes with the session; the record left behind names nobody. */
        a = db_free(a);
        c = connect_db();
        for (int i = 0; i < 100; i++) {
                Claim p = {};
                ASSERT_OK(leader_store_claim(c, LEADER_CLAIM_PEEK, NULL, on_claim, &p));
                RUN_UNTIL(p.calls == 1);
                bool gone = isempty(p.holder);
                free(p.holder);
                if (gone)
                        break;
                ASSERT_OK(sd_event_run(event, 20 * 1000));   /* the server ends the session */
        }
        expect(c, 'p', NULL, false, "");
        /* Yielding: b takes the lock only while nobody else is present (marked by listening). */
        listen_on(c);
        expect(b, 'y', "host-b:2", false, "");
        c = db_free(c);
        c = connect_db();
        for (int i = 0; i < 100; i++) {
                Claim p = {};
                ASSERT_OK(leader_store_claim(b, LEADER_CLAIM_YIELD, "host-b:2", on_claim, &p));
                RUN_UNTIL(p.calls == 1);
                bool got = p.leader;
                free(p.holder);
                if (got)
                        break;
                ASSERT_OK(sd_event_run(event, 20 * 1000));   /* until the server ended c's session */
        }
        expect(b, 'c', NULL, true, "host-b:2");
        expect(c, 't', "host-c:3", false, "host-b:2");
        expect(b, 'c', NULL, true, "host-b:2");
        db_free(b);
        db_free(c);
}

TEST(notifications) {
        Db *writer = connect_db(), *listener = connect_db();
        Heard h = {};
        Sql s = {};

        db_set_notify_handler(listener, on_notify, &h);
        ASSERT_OK(leader_store_listen(listener, on_listening, &s));
        RUN_UNTIL(s.calls == 1);
        ASSERT_EQ(s.error, 0);

        /* Delivered at commit, with the table and the writer's server process. */
        sql(writer, "BEGIN; INSERT INTO stopstart.exception_calendars (name) VALUES ('ha-test'); "
                    "UPDATE stopstart.exception_calendars SET description = 'x' WHERE name = 'ha-test'; COMMIT");
        RUN_UNTIL(h.calls >= 1);
        ASSERT_STREQ(h.channel, LEADER_CHANGES_CHANNEL);
        ASSERT_STREQ(h.payload, "exception_calendars");
        ASSERT_EQ(h.sender, db_backend_pid(writer));
        ASSERT_TRUE(h.sender > 0);
        /* One per table and transaction (PostgreSQL folds identical ones). */
        for (int i = 0; i < 20; i++)
                ASSERT_OK(sd_event_run(event, 10 * 1000));
        ASSERT_EQ(h.calls, 1);

        /* A rolled-back change says nothing. */
        sql(writer, "BEGIN; DELETE FROM stopstart.exception_calendars; ROLLBACK");
        for (int i = 0; i < 20; i++)
                ASSERT_OK(sd_event_run(event, 10 * 1000));
        ASSERT_EQ(h.calls, 1);

        /* A cascade tells of both tables. */
        sql(writer, "DELETE FROM stopstart.exception_calendars WHERE name = 'ha-test'");
        RUN_UNTIL(h.calls == 3);
        ASSERT_TRUE(strv_contains(h.payloads + 1, "exception_calendars"));
        ASSERT_TRUE(strv_contains(h.payloads + 1, "exception_dates"));

        db_free(writer);
        db_free(listener);
        free(h.channel);
        free(h.payload);
        strv_free(h.payloads);
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

int main(void) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **files = NULL;
        Db *db;
        int n;

        if (!getenv("PGCLUSTER_DIR")) {
                fprintf(stderr, "run me through tests/lib/pgcluster.py run\n");
                return 77;
        }
        ASSERT_OK(sd_event_default(&event));
        db = connect_db();
        /* Schema head: every up migration in order. */
        dir = strprintf("%s/migrations", getenv("STOPSTART_SOURCE_ROOT"));
        n = scandir(dir, &files, up_filter, alphasort);
        ASSERT_TRUE(n >= 4);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = strprintf("%s/%s", dir, files[i]->d_name), *up = read_file(path);
                sql(db, up);
                free(files[i]);
        }
        free(files);
        db_free(db);

        RUN(election);
        RUN(notifications);

        event = sd_event_unref(event);
        return 0;
}

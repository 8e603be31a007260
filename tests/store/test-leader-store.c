/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store/leader-store.c against a real cluster at schema head (run through tests/lib/pgcluster.py
 * run), with several connections standing for several daemons: one takes the lock and is named,
 * the others are refused and name it; the holder's check; the lock goes with its session and a
 * leftover record names nobody; a committed change notifies the listeners with the table's name
 * and the writer's backend PID. */
#include <stdio.h>
#include <stdlib.h>

#include "leader-store.h"
#include "store-test.h"
#include "strv.h"

static void sql(Db *d, const char *text) {
        free(sql_value_on(d, text));
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
static void expect(Db *d, char mode, const char *identity, bool leader, const char *holder) {
        Claim c = {};
        if (mode == 'c')
                ASSERT_OK(leader_store_check(d, on_claim, &c));
        else
                ASSERT_OK(leader_store_claim(d, mode == 't' ? LEADER_CLAIM_TRY : mode == 'y' ? LEADER_CLAIM_YIELD
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

static void on_notify(Db *d, const char *channel, const char *payload, int sender, void *userdata) {
        Heard *h = userdata;
        h->calls++;
        free(h->channel);
        free(h->payload);
        h->channel = strdup(channel);
        h->payload = strdup(payload);
        ASSERT_OK(strv_extend(&h->payloads, payload));
        h->sender = sender;
}

typedef struct Listening {
        int calls, error;
} Listening;

static void on_listening(int error, const char *message, void *userdata) {
        Listening *s = userdata;
        s->calls++;
        s->error = error;
}

static void listen_on(Db *d) {
        Listening s = {};
        ASSERT_OK(leader_store_listen(d, on_listening, &s));
        RUN_UNTIL(s.calls == 1);
        ASSERT_EQ(s.error, 0);
}

TEST(election) {
        Db *a = store_test_connect(), *b = store_test_connect(), *c;

        /* Nobody leads yet. */
        expect(b, 'p', NULL, false, "");
        expect(a, 't', "host-a:1", true, "host-a:1");
        expect(b, 't', "host-b:2", false, "host-a:1");
        expect(b, 'p', NULL, false, "host-a:1");
        expect(a, 'c', NULL, true, "host-a:1");
        expect(b, 'c', NULL, false, "host-a:1");

        /* The lock goes with the session; the record left behind names nobody. */
        a = db_free(a);
        c = store_test_connect();
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
        c = store_test_connect();
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
        Db *writer = store_test_connect(), *listener = store_test_connect();
        Heard h = {};

        db_set_notify_handler(listener, on_notify, &h);
        listen_on(listener);

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

int main(void) {
        int r = store_test_setup();
        if (r != 0)
                return r;

        RUN(election);
        RUN(notifications);

        store_test_teardown();
        return 0;
}

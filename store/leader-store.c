/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "leader-store.h"
#include "log.h"
#include "pq-util.h"

/* The holder as PostgreSQL sees it: a leader row whose session holds the lock now. A row left by
 * a leader that died names nobody. */
#define HOLDER_SQL                                                                                      \
        "(SELECT s.identity FROM stopstart.leader s JOIN pg_locks k ON k.pid = s.backend_pid "          \
        " WHERE k.locktype = 'advisory' AND k.granted AND k.objsubid = 1 "                              \
        "   AND ((k.classid::bigint << 32) | k.objid::bigint) = " LEADER_LOCK_KEY ")"

/* The lock is taken once (a volatile CTE is evaluated once); the row is written in the same
 * statement, so a leader is never without its record. */
#define OTHERS_PRESENT_SQL                                                                              \
        "EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted AND k.objsubid = 1 "    \
        "        AND ((k.classid::bigint << 32) | k.objid::bigint) = " LEADER_PRESENCE_KEY                     \
        "        AND k.pid <> pg_backend_pid())"

/* $2: yield to the others present (CASE evaluates the lock only when it gets there). */
static const char claim_sql[] =
        "WITH l AS (SELECT CASE WHEN $2::boolean AND " OTHERS_PRESENT_SQL " THEN false "
        "                  ELSE pg_try_advisory_lock(" LEADER_LOCK_KEY ") END AS got), "
        "w AS (INSERT INTO stopstart.leader (id, identity, backend_pid, since) "
        "      SELECT true, $1, pg_backend_pid(), now() FROM l WHERE l.got "
        "      ON CONFLICT (id) DO UPDATE SET identity = EXCLUDED.identity, backend_pid = EXCLUDED.backend_pid, "
        "                                     since = EXCLUDED.since RETURNING identity) "
        "SELECT l.got, coalesce((SELECT identity FROM w), " HOLDER_SQL ", '') FROM l";

static const char peek_sql[] = "SELECT false, coalesce(" HOLDER_SQL ", '')";

static const char check_sql[] =
        "SELECT EXISTS (SELECT 1 FROM pg_locks k WHERE k.pid = pg_backend_pid() AND k.locktype = 'advisory' "
        "AND k.granted AND k.objsubid = 1 AND ((k.classid::bigint << 32) | k.objid::bigint) = " LEADER_LOCK_KEY "), "
        "coalesce(" HOLDER_SQL ", '')";

typedef struct ClaimCtx {
        leader_store_claim_handler_t handler;
        void *userdata;
} ClaimCtx;

static void on_claim(Db *db, PGresult *r, int error, void *userdata) {
        ClaimCtx *c = userdata;
        _cleanup_free_ char *message = NULL;
        bool leader = false;
        const char *holder = "";

        if (error == -EIO)
                message = pq_one_line(r ? PQresultErrorMessage(r) : db_last_error(db));
        else if (error >= 0) {
                if (PQntuples(r) != 1 || PQnfields(r) != 2)
                        error = -EBADMSG;
                else {
                        leader = streq(PQgetvalue(r, 0, 0), "t");
                        holder = PQgetvalue(r, 0, 1);
                }
        }
        c->handler(error, leader, holder, message, c->userdata);
        PQclear(r);
        free(c);
}

static int submit(Db *db, const char *sql, int n_params, const char * const *params,
                  leader_store_claim_handler_t handler, void *userdata) {
        ClaimCtx *c;
        int r;

        assert(handler);
        c = new0(ClaimCtx, 1);
        if (!c)
                return -ENOMEM;
        *c = (ClaimCtx) { .handler = handler, .userdata = userdata };
        r = db_query(db, sql, n_params, params, DB_QUERY_FAIL_FAST, on_claim, c);
        if (r < 0)
                free(c);
        return r;
}

int leader_store_claim(Db *db, LeaderClaim how, const char *identity, leader_store_claim_handler_t handler,
                       void *userdata) {
        const char *params[] = { identity, how == LEADER_CLAIM_YIELD ? "true" : "false" };

        if (how == LEADER_CLAIM_PEEK)
                return submit(db, peek_sql, 0, NULL, handler, userdata);
        return submit(db, claim_sql, 2, params, handler, userdata);
}

int leader_store_check(Db *db, leader_store_claim_handler_t handler, void *userdata) {
        return submit(db, check_sql, 0, NULL, handler, userdata);
}

typedef struct DoneCtx {
        leader_store_done_handler_t handler;
        void *userdata;
} DoneCtx;

static void on_done(Db *db, PGresult *r, int error, void *userdata) {
        DoneCtx *c = userdata;
        _cleanup_free_ char *message = NULL;

        if (error == -EIO)
                message = pq_one_line(r ? PQresultErrorMessage(r) : db_last_error(db));
        if (c->handler)
                c->handler(error, message, c->userdata);
        PQclear(r);
        free(c);
}

int leader_store_listen(Db *db, leader_store_done_handler_t handler, void *userdata) {
        DoneCtx *c;
        int r;

        c = new0(DoneCtx, 1);
        if (!c)
                return -ENOMEM;
        *c = (DoneCtx) { .handler = handler, .userdata = userdata };
        /* Over TCP, the server ends the session of a host gone silent (and with it the lock) within
         * about 6 s rather than the kernel's two hours of keepalive (no-ops on a unix socket). */
        r = db_query(db, "LISTEN " LEADER_CHANGES_CHANNEL "; SELECT pg_advisory_lock_shared(" LEADER_PRESENCE_KEY "); "
                         "SET tcp_keepalives_idle = 3; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 3; "
                         "SET tcp_user_timeout = 6000",
                     0, NULL, DB_QUERY_FAIL_FAST, on_done, c);
        if (r < 0)
                free(c);
        return r;
}

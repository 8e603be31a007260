/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The session-level advisory lock that serialises runners on one database. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "migrate-internal.h"
#include "pq-util.h"
#include "strv.h"
#include "time-util.h"

static int lock_holder_pid(Migrator *m) {
        _cleanup_pqclear_ PGresult *res = NULL;
        char k1[16], k2[16];

        snprintf(k1, sizeof k1, "%d", MIGRATE_LOCK_KEY1);
        snprintf(k2, sizeof k2, "%d", MIGRATE_LOCK_KEY2);
        if (migrator_exec(m, "Cannot read pg_locks",
                          "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                          "   AND classid = $1::integer::oid AND objid = $2::integer::oid AND objsubid = 2 "
                          "   AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1",
                          2, (const char *[]) { k1, k2 }, &res) < 0 || PQntuples(res) < 1)
                return 0;
        return atoi(PQgetvalue(res, 0, 0));
}

int migrator_lock(Migrator *m) {
        _cleanup_pqclear_ PGresult *res = NULL;
        char k1[16], k2[16];
        usec_t deadline;
        int r, holder;

        assert(m);
        if (m->locked)
                return 0;

        snprintf(k1, sizeof k1, "%d", MIGRATE_LOCK_KEY1);
        snprintf(k2, sizeof k2, "%d", MIGRATE_LOCK_KEY2);
        r = migrator_exec(m, "Cannot take the migration lock", "SELECT pg_try_advisory_lock($1::integer, $2::integer)",
                          2, (const char *[]) { k1, k2 }, &res);
        if (r < 0)
                return r;
        if (streq(PQgetvalue(res, 0, 0), "t")) {
                m->locked = true;
                return 0;
        }
        PQclear(TAKE_PTR(res));

        holder = lock_holder_pid(m);
        if (m->lock_timeout_usec == 0)
                return migrator_fail(m, -EBUSY,
                                     "Another migration run holds the lock on this database (server PID %d); not waiting "
                                     "(--lock-timeout=0).", holder);

        {
                MigrateProgress p = { .kind = MIGRATE_PROGRESS_LOCK_WAIT, .holder_pid = holder };
                if (m->progress)
                        m->progress(m, &p, m->userdata);
        }

        /* Poll rather than block in pg_advisory_lock(): a waiting statement keeps a transaction
         * open, and the holder's CREATE INDEX CONCURRENTLY waits for every open transaction,
         * ours included, which would deadlock. Each try is a transaction of its own. */
        deadline = now(CLOCK_MONOTONIC) + m->lock_timeout_usec;
        for (;;) {
                usec_t n = now(CLOCK_MONOTONIC);
                if (n >= deadline) {
                        char span[TIMESPAN_MAX];
                        int h = lock_holder_pid(m);
                        return migrator_fail(m, -EBUSY,
                                             "Timed out after %s waiting for the migration lock, held by another migration "
                                             "run (server PID %d).",
                                             format_timespan(span, sizeof span, m->lock_timeout_usec), h ?: holder);
                }
                (void) usleep((useconds_t) MIN(deadline - n, 100 * USEC_PER_MSEC));

                PQclear(TAKE_PTR(res));
                r = migrator_exec(m, "Cannot take the migration lock",
                                  "SELECT pg_try_advisory_lock($1::integer, $2::integer)",
                                  2, (const char *[]) { k1, k2 }, &res);
                if (r < 0)
                        return r;
                if (streq(PQgetvalue(res, 0, 0), "t")) {
                        m->locked = true;
                        return 0;
                }
        }
}

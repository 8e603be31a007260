/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every store call shares (schedule-store.h, config-store.h, job-store.h, audit-store.h,
 * inventory-load.h): who asks, and statements that must not get lost. */

#include <stdbool.h>
#include <sys/types.h>

#include "db.h"

/* Who asks, for the audit log and created_by/updated_by. uid (uid_t) -1 = stopstartd itself. */
typedef struct StoreActor {
        uid_t uid;
        const char *name;               /* "alice", "uid 1000", "stopstartd" */
} StoreActor;

/* A statement that must not get lost: queued while the database is away, and sent again when
 * its answer is lost with the connection (so it runs at least once: the store's writes of this
 * kind are idempotent; an audit row may then appear twice, never zero times). Failures are
 * logged. -ENOTCONN without a database. */
int store_write(Db *db, const char *sql, int n_params, const char * const *params);

/* Whether the caller still wants the answer of a statement whose answer was lost (and so whether
 * to send it again). */
typedef bool (*store_wanted_t)(void *userdata);

/* A statement answered through handler (exactly once, as db_query()'s), waiting for the database
 * while it is away and sent again (up to 10 times) when its answer is lost and wanted(userdata)
 * (NULL: always) says it is still wanted. For the idempotent steps of a job. -ENOTCONN without a
 * database. */
int store_query_retry(Db *db, const char *sql, int n_params, const char * const *params, store_wanted_t wanted,
                      db_result_handler_t handler, void *userdata);

/* The rows of a large answer (the inventory, the history), read in place with the getter of the
 * call that gave them, without a copy: valid during the handler only. */
typedef struct StoreRows StoreRows;
size_t store_rows_count(const StoreRows *rows);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The audit log (stopstart.audit_log): entries of operations that change nothing else in the
 * database (a reload, a cancel; the others are written with their change, in its statement), and
 * the history read back. */

#include <stdint.h>

#include "store.h"

/* Appends an entry (new_value: JSON object text). Kept (store_write()). */
int audit_store_record(Db *db, const StoreActor *actor, const char *operation, const char *object_kind,
                       const char *object_id, const char *new_value);
/* The entry of a reload of the daemon's configuration file ({"file": path}). Kept (store_write()). */
int audit_store_record_reload(Db *db, const StoreActor *actor, const char *file);

typedef struct HistoryFilter {
        const char *instance;           /* an OCID, NULL: any */
        const char *compartment;        /* an OCID: its subtree and their instances, NULL: any */
        uint64_t since, until;          /* µs since the epoch, [since, until); 0: open */
        uint32_t limit;                 /* the newest this many */
} HistoryFilter;

typedef struct HistoryRow {
        uint64_t id;
        uint64_t at;                    /* µs since the epoch */
        const char *actor;
        uint32_t actor_uid;             /* (uint32_t) -1: stopstartd */
        const char *operation, *object_kind, *object_id;
        const char *details;            /* {"old": …, "new": …} */
} HistoryRow;

/* error: 0, -ENOTCONN (fail-fast), -ECONNRESET, -EIO; message: the database's last error. The
 * entries come oldest first: read them with history_row_get(). */
typedef void (*audit_store_history_handler_t)(int error, const StoreRows *rows, const char *message,
                                              void *userdata);
int audit_store_history(Db *db, const HistoryFilter *filter, audit_store_history_handler_t handler,
                        void *userdata);
void history_row_get(const StoreRows *rows, size_t i, HistoryRow *ret);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Storing what discovery saw: the compartment tree and the instances of a set of regions, each
 * as one complete snapshot synchronised in a single statement (insert, update, mark deleted,
 * and record every change in stopstart.inventory_changes), so a sync of 20,000 instances is one
 * round trip and never half-applied.
 *
 * Snapshots are JSON arrays of objects with these keys (snake_case, ours, not OCI's):
 *   compartment: id, parent_id (null for the tenancy), name, description, lifecycle_state,
 *                time_created, freeform_tags, defined_tags
 *   instance:    id, compartment_id, region, availability_domain, fault_domain, shape,
 *                display_name, lifecycle_state, time_created, freeform_tags, defined_tags
 * For instances, fault_domain and shape may be null ("not known from this source", e.g.
 * Resource Search): the stored value is then kept. */

#include <json-c/json.h>
#include <stdint.h>

#include "db.h"

typedef struct InventorySyncResult {
        int64_t total;     /* rows in the snapshot that were stored */
        int64_t added, removed, moved, renamed, state_changed, updated;
        int64_t skipped;   /* instances whose compartment is unknown (not stored) */
} InventorySyncResult;

typedef void (*inventory_sync_handler_t)(int error, const InventorySyncResult *result, const char *message,
                                         void *userdata);
typedef void (*inventory_run_handler_t)(int error, int64_t run_id, void *userdata);

/* Starts a discovery run row; the handler gets its id. */
int inventory_run_begin(Db *db, inventory_run_handler_t handler, void *userdata);
/* Closes it (error_text NULL or "" = success). */
int inventory_run_finish(Db *db, int64_t run_id, const char *error_text, int64_t compartments, int64_t instances,
                         int64_t requests, int64_t elapsed_ms, inventory_run_handler_t handler, void *userdata);

/* The complete tree: compartments missing from it are marked deleted. run_id may be 0. */
int inventory_sync_compartments(Db *db, int64_t run_id, json_object *snapshot, inventory_sync_handler_t handler,
                                void *userdata);

/* All instances of the given regions (NULL-terminated): instances of those regions missing from
 * the snapshot are marked deleted; other regions are untouched. */
int inventory_sync_instances(Db *db, int64_t run_id, char * const *regions, json_object *snapshot,
                             inventory_sync_handler_t handler, void *userdata);
/* The same with the snapshot as JSON text (a JSON array of the objects above), which is taken
 * (freed also on failure): discovery builds it record by record instead of holding 20,000
 * json-c objects, and no copy of it is made. */
int inventory_sync_instances_take(Db *db, int64_t run_id, char * const *regions, char *snapshot,
                                  inventory_sync_handler_t handler, void *userdata);

/* The regions discovery covers (name, region_key, is_home, status): rows of other regions are
 * deleted, as the table only says which regions the daemon looks at. result->total is the number
 * stored, result->removed the number deleted. */
int inventory_sync_regions(Db *db, json_object *snapshot, inventory_sync_handler_t handler, void *userdata);

/* The SQL, exposed for tests and for EXPLAIN. */
extern const char inventory_sync_compartments_sql[];
extern const char inventory_sync_instances_sql[];

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Storing what discovery saw: the compartment tree as one complete snapshot synchronised in a
 * single statement (insert, update, mark deleted, and record every change in
 * stopstart.inventory_changes), never half-applied; instances incrementally (batches while
 * discovery fetches, then the unseen marked removed per region: see below), so that the
 * database works while the network does.
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

/* Compartments not in the table yet are inserted (recorded as 'added'); existing ones are left
 * alone: discovery sends them while the tree is still being listed, each only once its parent
 * is stored, so that their instances can be stored early. The tree's sync follows as usual.
 * result->total and result->added: the number inserted. */
int inventory_add_compartments(Db *db, int64_t run_id, json_object *compartments, inventory_sync_handler_t handler,
                               void *userdata);

/* Incremental form, for discovery (run_id > 0 required: it marks what the run saw): one batch
 * of instances (JSON array text, taken) is upserted with change recording for its ids only
 * (added, moved, renamed, state, updated; never removed), and stopstart.instances.last_run set.
 * result->total counts instances this run had not stored before, so the totals of a run's
 * batches add up to distinct instances even when an id comes twice. */
int inventory_upsert_instances_take(Db *db, int64_t run_id, char *batch, inventory_sync_handler_t handler,
                                    void *userdata);
/* Then, once a region's listing is complete and all its batches are stored: its instances this
 * run did not upsert are marked deleted ('removed' changes; result->removed). Never call it for
 * a region whose listing failed. */
int inventory_remove_unseen_instances(Db *db, int64_t run_id, const char *region, inventory_sync_handler_t handler,
                                      void *userdata);

/* The regions discovery covers (name, region_key, is_home, status): rows of other regions are
 * deleted, as the table only says which regions the daemon looks at. result->total is the number
 * stored, result->removed the number deleted. */
int inventory_sync_regions(Db *db, json_object *snapshot, inventory_sync_handler_t handler, void *userdata);

/* The SQL, exposed for tests and for EXPLAIN. */
extern const char inventory_sync_compartments_sql[];
extern const char inventory_add_compartments_sql[];
extern const char inventory_upsert_instances_sql[];
extern const char inventory_remove_unseen_instances_sql[];

/* Ids of stored rows: the handler owns ids (n strings, NULL-terminated; strv_free() it) or gets
 * NULL on failure, with message the database's last error. */
typedef void (*inventory_ids_handler_t)(int error, char **ids, size_t n, const char *message, void *userdata);
/* Every compartment ever stored (deleted ones too: compartments never leave the table). */
int inventory_compartment_ids(Db *db, inventory_ids_handler_t handler, void *userdata);
/* Of the instances ids (a JSON array of strings), those stored with a shape and a fault domain. */
int inventory_instances_with_details(Db *db, json_object *ids, inventory_ids_handler_t handler, void *userdata);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The storing pipeline (inventory-store.h), while fetching goes on: one discovery_runs row per
 * run; the compartment snapshot is synchronised as soon as the tree is complete, new
 * compartments go ahead of it once their parent is stored. Instances go out per region as pages
 * arrive, in batches of store_batch (or smaller when the database is idle), behind their
 * compartments (the Db FIFO orders them); when a region's listing is complete and its batches
 * are stored, one statement marks its instances this run did not store as removed. A region
 * whose listing failed is never marked; if the tree could not be listed, nothing is stored. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "discovery-internal.h"
#include "log.h"
#include "strv.h"

static void on_run_finished(int error, int64_t run_id, void *userdata);

void discovery_store_close_cancelled(Discovery *d, int64_t run_id) {
        discovery_ref(d);
        if (inventory_run_finish(d->db, run_id, "cancelled", 0, 0, (int64_t) discovery_http_requests(d),
                                 (int64_t) ((now_usec(d) - d->started) / USEC_PER_MSEC), on_run_finished, d) < 0) {
                discovery_unref(d);
                return;
        }
        d->db_pending++;
}

static void on_db_compartments(int error, char **ids, size_t n, const char *message, void *userdata) {
        Discovery *d = userdata;
        struct lh_table *t = NULL;

        d->db_pending--;
        if (!d->cancelled) {
                /* without it every instance waits for the tree: slower, the same result */
                if (error >= 0)
                        t = lh_kchar_table_new(MAX(16, (int) n * 2), key_entry_free);
                for (size_t i = 0; t && i < n; i++) {
                        if (lh_table_insert(t, ids[i], NULL) < 0) {
                                lh_table_free(t);
                                t = NULL;
                        } else
                                ids[i] = NULL;  /* the table owns it now */
                }
                if (!t)
                        log_debug("Discovery: could not read the stored compartments: %s", strna(message));
                d->db_compartments = t;
                discovery_advance(d);
        }
        for (size_t i = 0; ids && i < n; i++)
                free(ids[i]);
        free(ids);
        discovery_unref(d);
}

static void on_run_begun(int error, int64_t run_id, void *userdata) {
        Discovery *d = userdata;

        d->db_pending--;
        if (d->cancelled && error >= 0)
                discovery_store_close_cancelled(d, run_id);
        if (!d->cancelled) {
                if (error < 0) {
                        discovery_set_error(d, error, _OCI_ERROR_KIND_INVALID, "Cannot record the discovery run: %s",
                                            error == -EIO ? db_last_error(d->db) : strerror(-error));
                        discovery_abort(d);
                } else
                        d->run_id = run_id;
                d->run_known = true;
                discovery_advance(d);
        }
        discovery_unref(d);
}

int discovery_store_begin(Discovery *d) {
        int r;

        r = inventory_run_begin(d->db, on_run_begun, d);
        if (r < 0)
                return r;
        discovery_ref(d);
        d->db_pending++;
        /* compartments never leave the table (deleted ones are marked): instances of these can
         * be stored before this run's tree */
        r = inventory_compartment_ids(d->db, on_db_compartments, d);
        if (r >= 0) {
                discovery_ref(d);
                d->db_pending++;
        }
        return 0;
}

static void on_compartments_synced(int error, const InventorySyncResult *res, const char *message, void *userdata) {
        Discovery *d = userdata;

        d->db_pending--;
        if (!d->cancelled) {
                if (error < 0) {
                        discovery_set_error(d, error, _OCI_ERROR_KIND_INVALID, "Storing the compartments failed: %s",
                                            message ?: strerror(-error));
                        discovery_abort(d);
                } else {
                        d->comp_sync_ok = true;
                        d->comp_changes = *res;
                        d->comp_changes.added += d->comp_added_early;
                        d->n_compartments_stored = (uint64_t) res->total;
                }
                discovery_advance(d);
        }
        discovery_unref(d);
}

static void on_run_finished(int error, int64_t run_id, void *userdata) {
        Discovery *d = userdata;

        d->db_pending--;
        if (error < 0)
                log_debug("Discovery: closing run %" PRIi64 " failed: %s", d->run_id,
                          error == -EIO ? db_last_error(d->db) : strerror(-error));
        if (!d->cancelled)
                discovery_finish(d);
        discovery_unref(d);
}

static void on_regions_synced(int error, const InventorySyncResult *res, const char *message, void *userdata) {
        Discovery *d = userdata;

        d->db_pending--;
        if (!d->cancelled) {
                if (error < 0)
                        discovery_set_error(d, error, _OCI_ERROR_KIND_INVALID, "Storing the regions failed: %s",
                                            message ?: strerror(-error));
                discovery_advance(d);
        }
        discovery_unref(d);
}

int discovery_store_region_list(Discovery *d) {
        _cleanup_json_ json_object *a = json_object_new_array();
        int r;

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_regions; i++) {
                const char *name = d->regions[i]->name, *key = oci_region_key(name);
                json_object *o = json_object_new_object();

                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
                if (json_add_string(o, "name", name) < 0 ||
                    json_add_string(o, "region_key", key) < 0 ||
                    json_object_object_add(o, "is_home",
                                           json_object_new_boolean(key && streq_ptr(key, d->home_region_key))) < 0)
                        return -ENOMEM;
        }
        r = inventory_sync_regions(d->db, a, on_regions_synced, d);
        if (r < 0)
                return r;
        discovery_ref(d);
        d->db_pending++;
        return 0;
}

static void on_batch_stored(int error, const InventorySyncResult *res, const char *message, void *userdata) {
        Region *reg = userdata;
        Discovery *d = reg->discovery;

        d->db_pending--;
        reg->db_batches--;
        reg->n_answered++;       /* FIFO: answers come in the order the batches went */
        if (!d->cancelled) {
                if (error < 0)
                        region_fail(reg, message ?: strerror(-error), NULL, error);
                else {
                        d->inst_changes.added += res->added;
                        d->inst_changes.moved += res->moved;
                        d->inst_changes.renamed += res->renamed;
                        d->inst_changes.state_changed += res->state_changed;
                        d->inst_changes.updated += res->updated;
                        d->inst_changes.skipped += res->skipped;
                        reg->n_stored += (uint64_t) res->total;
                }
                discovery_advance(d);
        }
        discovery_unref(d);
}

/* Instances of compartments the database has may be stored before the tree. */
static bool compartment_stored(Discovery *d, const char *id) {
        return d->comp_sync_submitted || (d->db_compartments && lh_table_lookup_entry(d->db_compartments, id));
}

int discovery_store_instance(Region *reg, const InstanceFields *f, bool listed) {
        Discovery *d = reg->discovery;
        const char *cid = tree_intern(d, f->compartment_id);
        int r;

        if (!cid)
                return -ENOMEM;
        r = instance_batches_put(&reg->instances, f, cid, compartment_stored(d, cid), listed);
        if (r > 0)
                d->details_differ++;
        return MIN(r, 0);
}

/* A batch goes out: READY ones as soon as they are full, HELD ones queued behind the tree (the
 * Db FIFO keeps the order). */
static int region_flush(Region *reg, InstanceBatchKind kind) {
        Discovery *d = reg->discovery;
        char *text;
        int r;

        r = instance_batches_take(&reg->instances, kind, &text);
        if (r <= 0)
                return r;
        r = inventory_upsert_instances_take(d->db, d->run_id, text, on_batch_stored, reg);
        if (r < 0)
                return r;
        discovery_ref(d);
        d->db_pending++;
        reg->db_batches++;
        reg->n_flushed++;
        return 0;
}

static void on_unseen_removed(int error, const InventorySyncResult *res, const char *message, void *userdata) {
        Region *reg = userdata;
        Discovery *d = reg->discovery;

        d->db_pending--;
        if (!d->cancelled) {
                if (error < 0)
                        region_fail(reg, message ?: strerror(-error), NULL, error);
                else {
                        d->inst_changes.removed += res->removed;
                        reg->synced = true;
                }
                discovery_advance(d);
        }
        discovery_unref(d);
}

static void on_compartments_added(int error, const InventorySyncResult *res, const char *message, void *userdata) {
        Discovery *d = userdata;

        d->db_pending--;
        if (!d->cancelled) {
                if (error < 0) {
                        discovery_set_error(d, error, _OCI_ERROR_KIND_INVALID, "Storing the compartments failed: %s",
                                            message ?: strerror(-error));
                        discovery_abort(d);
                } else
                        d->comp_added_early += res->added;
                discovery_advance(d);
        }
        discovery_unref(d);
}

/* Can o go ahead of the tree: is its parent stored and will the tree keep it as its parent? */
static bool compartment_releasable(Discovery *d, json_object *o) {
        json_object *p = NULL;
        const char *parent;

        if (!json_object_object_get_ex(o, "parent_id", &p) || !p)
                return true;   /* the root */
        parent = json_object_get_string(p);
        return lh_table_lookup_entry(d->db_compartments, parent) &&
               (streq(parent, d->tenancy_id) || lh_table_lookup_entry(d->compartment_ids, parent));
}

/* New compartments whose parents are stored go ahead of the tree, so that their instances can be
 * stored while the tree is still being listed. */
static void release_compartments(Discovery *d) {
        _cleanup_json_ json_object *out = NULL;
        bool progress = true;
        int r = -ENOMEM;

        if (d->aborted || d->cancelled || d->comp_sync_submitted || !d->db_compartments || !d->run_known ||
            d->run_id <= 0 || !d->comp_waiting || json_object_array_length(d->comp_waiting) == 0)
                return;
        out = json_object_new_array();
        if (!out)
                goto fail;
        while (progress) {
                _cleanup_json_ json_object *rest = json_object_new_array();
                size_t n = json_object_array_length(d->comp_waiting);

                if (!rest)
                        goto fail;
                progress = false;
                for (size_t i = 0; i < n; i++) {
                        json_object *o = json_object_array_get_idx(d->comp_waiting, i), *v = NULL;
                        const char *id;
                        char *key;

                        if (!json_object_object_get_ex(o, "id", &v) || !(id = json_object_get_string(v)) ||
                            lh_table_lookup_entry(d->db_compartments, id))
                                continue;   /* stored already */
                        if (!compartment_releasable(d, o)) {
                                if (json_object_array_add(rest, json_object_get(o)) < 0) {
                                        json_object_put(o);
                                        goto fail;
                                }
                                continue;
                        }
                        key = strdup(id);
                        if (!key || lh_table_insert(d->db_compartments, key, NULL) < 0) {
                                free(key);
                                goto fail;
                        }
                        /* the statement goes before any batch they move into (FIFO) */
                        for (size_t j = 0; j < d->n_regions; j++)
                                (void) instance_batches_promote(&d->regions[j]->instances, id);
                        if (json_object_array_add(out, json_object_get(o)) < 0) {
                                json_object_put(o);
                                goto fail;
                        }
                        progress = true;
                }
                json_object_put(d->comp_waiting);
                d->comp_waiting = TAKE_PTR(rest);
        }
        if (json_object_array_length(out) == 0)
                return;
        r = inventory_add_compartments(d->db, d->run_id, out, on_compartments_added, d);
        if (r < 0)
                goto fail;
        discovery_ref(d);
        d->db_pending++;
        return;
fail:
        discovery_set_error(d, r, _OCI_ERROR_KIND_INVALID, "Cannot store the compartments: %s", strerror(-r));
        discovery_abort(d);
}

void discovery_store_compartments(Discovery *d) {
        int r;

        /* the tree, as soon as it is complete and the run row exists */
        if (!d->aborted && tree_complete(d) && d->run_known && !d->comp_sync_submitted) {
                d->comp_sync_submitted = true;
                r = inventory_sync_compartments(d->db, d->run_id, d->compartments, on_compartments_synced, d);
                if (r < 0) {
                        discovery_set_error(d, r, _OCI_ERROR_KIND_INVALID, "Cannot store the compartments: %s",
                                            strerror(-r));
                        discovery_abort(d);
                } else {
                        discovery_ref(d);
                        d->db_pending++;
                        /* the statement has its copy */
                        d->compartments = json_object_unref(d->compartments);
                }
                d->comp_waiting = json_object_unref(d->comp_waiting);
        }
        release_compartments(d);
}

/* Instance batches while fetching; once a region's listing is complete and every batch of it is
 * stored, what it did not see is marked removed. A failed region never gets there. */
void discovery_store_regions(Discovery *d) {
        int r = 0;

        if (d->aborted || d->cancelled || d->run_id <= 0)
                return;
        for (size_t i = 0; i < d->n_regions; i++) {
                Region *reg = d->regions[i];
                bool last = reg->state == REGION_COMPLETE && d->comp_sync_submitted;
                /* Search is over: what it found goes out now, the details pass does not hold it */
                bool search_last = reg->state != REGION_SEARCHING && d->comp_sync_submitted && !reg->search_flushed;
                unsigned ready;

                r = 0;
                if (reg->state == REGION_FAILED || reg->last_batch_sent)
                        goto removal;
                /* full, or the database has nothing else to do */
                ready = instance_batches_pending(&reg->instances, INSTANCE_BATCH_READY);
                if (last || search_last || ready >= d->store_batch || (ready > 0 && db_pending(d->db) == 0))
                        r = region_flush(reg, INSTANCE_BATCH_READY);
                if (r >= 0 && d->comp_sync_submitted)   /* nothing joins it any more */
                        r = region_flush(reg, INSTANCE_BATCH_HELD);
                if (r < 0) {
                        region_fail(reg, "cannot store the instances", NULL, r);
                        continue;
                }
                reg->last_batch_sent = last;
                if (search_last) {
                        reg->search_flushed = true;
                        reg->search_mark = reg->n_flushed;
                }
        removal:
                if (reg->state == REGION_FAILED)
                        continue;
                /* Every instance Search saw is stored with this run's id: the rest is gone. Not
                 * waiting for ListInstances keeps it off the critical path (it only fills in
                 * shapes and fault domains). */
                if (reg->search_flushed && reg->n_answered >= reg->search_mark && d->comp_sync_ok &&
                    !reg->removal_submitted) {
                        reg->removal_submitted = true;
                        r = inventory_remove_unseen_instances(d->db, d->run_id, reg->name, on_unseen_removed, reg);
                        if (r < 0) {
                                region_fail(reg, "cannot store the instances", NULL, r);
                                continue;
                        }
                        discovery_ref(d);
                        d->db_pending++;
                }
        }
}

bool discovery_store_over(Discovery *d) {
        for (size_t i = 0; i < d->n_regions; i++)
                if (d->regions[i]->state != REGION_FAILED && !d->regions[i]->synced)
                        return false;
        return true;
}

bool discovery_store_inventory_complete(Discovery *d) {
        return d->comp_sync_ok && d->regions_known && discovery_store_over(d);
}

/* The regions' outcome, once everything is answered. */
static void regions_result(Discovery *d) {
        if (!d->regions_submitted)
                return;
        for (size_t i = 0; i < d->n_regions; i++) {
                Region *reg = d->regions[i];
                bool done = reg->synced && reg->state == REGION_COMPLETE;

                if (strv_extend(done ? &d->regions_done : &d->regions_failed, reg->name) < 0) {
                        discovery_set_error(d, -ENOMEM, _OCI_ERROR_KIND_INVALID, "Out of memory");
                        d->regions_failed = strv_free(d->regions_failed);
                        d->regions_done = strv_free(d->regions_done);
                        d->n_instances_stored = 0;
                        return;
                }
                if (done)
                        d->n_instances_stored += reg->n_stored;
        }
}

void discovery_store_finish(Discovery *d) {
        int r;

        regions_result(d);
        d->finish_submitted = true;
        if (d->run_id <= 0) {
                discovery_finish(d);
                return;
        }
        r = inventory_run_finish(d->db, d->run_id, d->error < 0 ? strempty(d->message) : NULL,
                                 (int64_t) d->n_compartments_stored, (int64_t) d->n_instances_stored,
                                 (int64_t) discovery_http_requests(d),
                                 (int64_t) ((now_usec(d) - d->started) / USEC_PER_MSEC),
                                 on_run_finished, d);
        if (r < 0) {
                discovery_finish(d);
                return;
        }
        discovery_ref(d);
        d->db_pending++;
}

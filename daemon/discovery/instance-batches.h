/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The instances one region's discovery run found, on their way to the store: a record per
 * instance, and the objects themselves as JSON text in two open batches, each of which goes to
 * inventory_upsert_instances_take() as it is. 20,000 instances as json-c objects would take
 * several times the memory of the text the database gets anyway.
 *
 * READY holds instances of compartments the database has already (they may go before the
 * tree); HELD those that wait for their compartment (instance_batches_promote() moves them
 * once it is stored, the tree statement makes every one of them ready). */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "snapshot-json.h"

typedef enum InstanceBatchKind {
        INSTANCE_BATCH_READY,
        INSTANCE_BATCH_HELD,
        _INSTANCE_BATCH_MAX,
} InstanceBatchKind;

typedef struct InstanceBatch {
        char *text;                      /* "[obj,obj,...,": the open batch */
        size_t length, allocated;
        unsigned n;                      /* objects in it */
        unsigned generation;             /* unique per region and opening */
} InstanceBatch;

/* One instance: where its object is in an open batch (while generation is that batch's), and a
 * hash of it once the batch went out. */
typedef struct InstanceRecord {
        size_t offset, length;
        uint64_t hash;                   /* FNV-1a of the object */
        unsigned generation;             /* of the batch it went into */
        InstanceBatchKind batch;
        struct InstanceRecord *next_held;/* InstanceBatches.held list of its compartment */
        bool in_held_list;
        const char *compartment_id;      /* the caller's, which must outlive the records */
        bool shape_known;
        bool listed;             /* from ListInstances: authoritative, Search does not overwrite */
        char id[];
} InstanceRecord;

typedef struct InstanceBatches {
        struct lh_table *records;        /* id → InstanceRecord* (all of the run, stored or not) */
        InstanceBatch batches[_INSTANCE_BATCH_MAX];
        struct lh_table *held;           /* compartment id → InstanceRecord* list: may be in HELD */
        unsigned generation;             /* the last one given to a batch */
} InstanceBatches;

/* Empty batches; -ENOMEM (then instance_batches_done() frees what was made). */
int instance_batches_init(InstanceBatches *ib);
void instance_batches_done(InstanceBatches *ib);

/* Adds or updates an instance; compartment_id is f's, as a pointer that outlives ib, and ready
 * says whether its compartment is stored (READY) or not yet (HELD). From Search (listed = false)
 * it never overwrites what ListInstances said; from ListInstances it replaces Search's record.
 * A replaced object of an open batch is overwritten in place when the new one fits, else
 * blanked to "{}" (a row of NULLs, which the store drops) and the new one appended. One that went
 * out with an earlier batch is sent again only when it differs. Returns 1 when a listed instance
 * was not known, or known otherwise (ListInstances and Search disagree), else 0 or -ENOMEM. */
int instance_batches_put(InstanceBatches *ib, const InstanceFields *f, const char *compartment_id, bool ready,
                         bool listed);

/* The compartment is stored now: its instances waiting in HELD move to READY (blanked in HELD).
 * Those not there any more (sent, or replaced) are skipped. */
int instance_batches_promote(InstanceBatches *ib, const char *compartment_id);

static inline unsigned instance_batches_pending(const InstanceBatches *ib, InstanceBatchKind kind) {
        return ib->batches[kind].n;
}

/* Closes a batch, "[obj,...,obj]", into *ret_text and opens an empty one in its place: 1, or 0
 * with *ret_text NULL when it holds nothing, or -ENOMEM. */
int instance_batches_take(InstanceBatches *ib, InstanceBatchKind kind, char **ret_text);

static inline size_t instance_batches_size(const InstanceBatches *ib) {
        return (size_t) lh_table_length(ib->records);
}

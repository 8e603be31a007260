/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the engine's files; not part of discovery.h's API:
 *   discovery.c           the run: start, cancel, the state machine (discovery_advance()),
 *                         errors, progress and the result
 *   discovery-requests.c  discovery's OCI calls (chains), at most max_in_flight on the wire
 *   discovery-tree.c      the identity calls: the tenancy (root), its regions, the compartment tree
 *   discovery-search.c    Resource Search: compartments batched into queries, one search per
 *                         batch and region
 *   discovery-details.c   the details pass: ListInstances where Search gave no shape
 *   discovery-store.c     the storing pipeline: the run row, compartments, instance batches,
 *                         the unseen marked removed, the regions
 * and, with narrow APIs of their own, instance-batches.h and snapshot-json.h. */

#include <stdlib.h>
#include <sys/queue.h>

#include "discovery.h"
#include "instance-batches.h"
#include "oci-search.h"

typedef enum ChainKind {
        CHAIN_TENANCY,
        CHAIN_SUBSCRIPTIONS,
        CHAIN_COMPARTMENTS,
        CHAIN_SEARCH,
        CHAIN_DETAILS,
} ChainKind;

typedef enum RegionState {
        REGION_SEARCHING,
        REGION_CHECKING,         /* asking the database which unknown shapes it knows */
        REGION_DETAILS,
        REGION_COMPLETE,
        REGION_FAILED,
} RegionState;

typedef struct Region Region;

/* One OCI call of discovery (all pages of it): queued, then active with at most one request
 * on the wire at any time. */
typedef struct Chain {
        Discovery *discovery;
        ChainKind kind;
        Region *region;          /* SEARCH, DETAILS */
        char *arg;               /* SEARCH: the query; DETAILS: the compartment */
        OciCall *call;           /* while active */
        bool active;
        TAILQ_ENTRY(Chain) link;
} Chain;

struct Region {
        Discovery *discovery;
        char *name;
        RegionState state;
        InstanceBatches instances;       /* all of the run, stored or not */
        struct lh_table *listed;         /* compartment id → NULL: listed with ListInstances */
        unsigned n_chains;               /* queued or active */
        unsigned db_batches;             /* batch statements not answered yet */
        bool last_batch_sent, removal_submitted, synced;
        /* Search's batches went out (the details pass may add more): once they are answered,
         * the region's inventory is complete and the unseen can be marked removed. */
        bool search_flushed;
        unsigned n_flushed, n_answered, search_mark;
        uint64_t n_stored;               /* instances its batches stored */
};

struct Discovery {
        unsigned n_ref;
        sd_event *event;
        OciClient *client;
        Db *db;

        char *tenancy_id;
        char *identity_region;
        char *home_region_key;           /* from GetTenancy, "PHX" */
        unsigned max_in_flight;
        unsigned page_size;
        unsigned store_batch;
        DiscoveryDetails details;

        discovery_progress_t on_progress;
        discovery_done_t on_done;
        void *userdata;

        sd_event_source *dispatch_event;
        TAILQ_HEAD(, Chain) pending;
        TAILQ_HEAD(, Chain) active;
        unsigned n_active;

        Region **regions;
        size_t n_regions;
        bool regions_known;

        OciSearchBatch batch;
        char **queries;                  /* every closed batch, for regions that come later */

        json_object *compartments;       /* the tree snapshot (array) */
        json_object *comp_waiting;       /* of it, new ones not sent ahead of the tree yet */
        int64_t comp_added_early;
        struct lh_table *compartment_ids;/* id → NULL */
        struct lh_table *other_compartments; /* id → NULL: of instances, not in the tree */
        struct lh_table *db_compartments;/* id → NULL: in the database when the run began */
        bool have_root, compartments_listed;

        int64_t run_id;
        bool run_known;
        unsigned db_pending;
        bool comp_sync_submitted, comp_sync_ok;
        bool regions_submitted;
        bool finish_submitted;

        bool aborted, cancelled, finished;
        int error;
        char *message;
        OciErrorKind oci_error;

        usec_t started, last_progress;
        double fraction;
        OciClientStats stats_start;
        uint64_t requests, details_requests, details_compartments, details_differ;
        unsigned max_active;
        usec_t fetch_usec;
        usec_t inventory_usec;           /* start → inventory complete (0: not yet) */
        uint64_t n_compartments_stored, n_instances_stored;
        char **regions_done, **regions_failed;
        InventorySyncResult comp_changes, inst_changes;
};

/* discovery.c */
Discovery *discovery_ref(Discovery *d);
void discovery_unref(Discovery *d);
/* Runs after every event: moves regions on, starts requests and statements, finishes the run. */
void discovery_advance(Discovery *d);
/* The result to the done callback, then the caller's reference is dropped. */
void discovery_finish(Discovery *d);
/* The first error wins; later ones only go to the debug log. */
void discovery_set_error(Discovery *d, int error, OciErrorKind kind, const char *fmt, ...) _printf_(4, 5);
void discovery_set_oci_error(Discovery *d, const char *context, const OciError *e);
/* Tree, tenancy or regions could not be listed, or the database failed: nothing more is
 * fetched, and what was not synchronised yet will not be. */
void discovery_abort(Discovery *d);
/* Sent by the client since the start, retries included (others' too on a shared client). */
uint64_t discovery_http_requests(Discovery *d);
/* A region by name, made (and given every search so far) when new; NULL: out of memory. */
Region *region_new(Discovery *d, const char *name);
/* Nothing more is fetched or stored for the region; the run's error names it. */
void region_fail(Region *r, const char *what, const OciError *e, int error);

static inline usec_t now_usec(Discovery *d) {
        return now(CLOCK_MONOTONIC);
}

static inline void key_entry_free(struct lh_entry *e) {
        free(lh_entry_k(e));
}

/* discovery-requests.c */
int chain_enqueue(Discovery *d, ChainKind kind, Region *r, const char *arg);
/* Removes a chain whose call has ended (or never started). */
void chain_end(Chain *c);
/* An answer (a page) came: counted, and the chain ends with its last page or a failure. */
void chain_answered(Chain *c, const char *next_page, const OciError *e);
/* Cancels and frees every chain (of one region, or all with r == NULL). No callbacks. */
void chains_drop(Discovery *d, Region *r);
/* Starts queued chains while discovery has slots free. */
void discovery_dispatch(Discovery *d);
/* The same from the loop, once the running handler returned. */
void discovery_schedule_dispatch(Discovery *d);

/* discovery-tree.c */
int tree_chain_start(Chain *c);
/* The root and every compartment of the tree are known. */
bool tree_complete(Discovery *d);
/* A compartment id as a pointer that lives as long as discovery: the tree's own key, or one
 * added for instances of compartments the tree does not (yet) have. NULL: out of memory. */
const char *tree_intern(Discovery *d, const char *id);

/* discovery-search.c */
int search_chain_start(Chain *c);
/* A compartment to search in: a batch it closes goes out to every region. */
int search_add(Discovery *d, const char *compartment_id);
/* The tree is complete: the last partial batch goes out too. */
int search_flush(Discovery *d);
/* A new region gets a search for every batch closed so far. */
int search_region_catch_up(Region *r);

/* discovery-details.c */
int details_chain_start(Chain *c);
/* ListInstances for the region's compartments that need it (details=always: all); known_in_db:
 * ids of instances whose shape the database knows (NULL: none). */
void details_start(Region *reg, struct lh_table *known_in_db);
/* details=auto: asks the database first which unknown shapes it knows, then details_start(). */
void details_check_known(Region *reg);
/* Every ListInstances of the region is answered. */
void details_done(Region *reg);

/* discovery-store.c */
/* The run row, and the compartments the database has (their instances may go before the tree). */
int discovery_store_begin(Discovery *d);
/* An instance from Search or ListInstances into the region's batches. */
int discovery_store_instance(Region *reg, const InstanceFields *f, bool listed);
/* The tree, as soon as it is complete and the run row exists; before that, the new compartments
 * whose parents are stored. */
void discovery_store_compartments(Discovery *d);
/* Each region's instance batches, then the removal of the instances the run did not see. */
void discovery_store_regions(Discovery *d);
/* Tree stored and every region synchronised (or failed): the inventory is complete, though the
 * details pass may still fill in shapes. */
bool discovery_store_inventory_complete(Discovery *d);
/* Every region that did not fail is synchronised. */
bool discovery_store_over(Discovery *d);
/* The regions this run covers, for the Manager's Regions property. */
int discovery_store_region_list(Discovery *d);
/* The outcome per region, and the run row closed; then discovery_finish(). */
void discovery_store_finish(Discovery *d);
/* A cancelled run still gets its row closed, behind whatever statement is queued (FIFO). */
void discovery_store_close_cancelled(Discovery *d, int64_t run_id);

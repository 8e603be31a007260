/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Discovery: maps the tenancy's compartment tree and the instances of every configured region
 * into the database (inventory-store.h), asynchronously on the event loop.
 *
 * How (docs/oci-api.md §4, §7):
 *   - GetTenancy gives the root; ListCompartments (tenancy, compartmentIdInSubtree, ACCESSIBLE,
 *     no state filter: DELETED compartments are stored as such) gives the rest of the tree, page
 *     by page; ListRegionSubscriptions gives the READY regions unless the caller names them.
 *   - Instances come from Resource Search, per region (Search is regional): "query instance
 *     resources return allAdditionalFields where compartmentId = 'a' || compartmentId = 'b' ..."
 *     over batches of compartments (each query at most query_max bytes), started as soon as the
 *     compartment page that completes a batch arrives, all batches paginated in parallel.
 *   - Search summaries carry no shape or fault domain except in additionalDetails. When those
 *     are missing they are stored as NULL (the store keeps known values) and, with details=auto,
 *     a ListInstances pass runs only for compartments holding instances whose shape is unknown
 *     here and in the database (at most DISCOVERY_DETAILS_MAX_COMPARTMENTS per region and run;
 *     the rest follow on later runs); details=always lists every compartment with instances
 *     (and counts where ListInstances and Search disagree), details=never skips the pass.
 *   - At most max_in_flight of discovery's requests are on the wire at once; the compartment
 *     listing keeps its slot so the pipeline never starves.
 *   - Storing: one discovery_runs row per run; the compartment snapshot is synchronised as soon
 *     as the tree is complete (while instance searches still run); new compartments go ahead
 *     of it once their parent is stored. Instances go out per region as pages arrive, in
 *     batches of store_batch (or smaller when the database is idle), behind their compartments
 *     (the Db FIFO orders them), so the database works while fetching continues; each batch
 *     records the changes of its ids. When a region's listing is complete and its batches are stored, one statement
 *     marks its instances this run did not store as removed. A region whose listing failed is
 *     never marked (what it did see is stored); if the tree could not be listed, nothing is
 *     stored. The run row then says "failed" with the first error. When Search and
 *     ListInstances disagree about an instance, both versions are stored in turn (the changes
 *     then show the step through Search's).
 *
 * Never blocks: OCI calls go through OciClient (curl multi on sd-event), statements through Db.
 * Callbacks run from the event loop, never from within discovery_start(). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "db.h"
#include "inventory-store.h"
#include "oci-client.h"
#include "string-table.h"
#include "time-util.h"

#define DISCOVERY_DETAILS_MAX_COMPARTMENTS 256U
#define DISCOVERY_DEFAULT_STORE_BATCH CONFIG_DEFAULT_STORE_BATCH

typedef struct Discovery Discovery;

typedef struct DiscoveryParams {
        const char *tenancy_id;          /* required: the root of the tree (OCI config "tenancy") */
        const char *identity_region;     /* region for identity calls; NULL = regions[0] (then
                                          * required: -EINVAL when neither is given) */
        char * const *regions;           /* NULL or empty = every READY subscribed region */
        unsigned max_in_flight;          /* 0 = CONFIG_DEFAULT_MAX_IN_FLIGHT */
        unsigned page_size;              /* limit= of list and search calls, 0 = CONFIG_DEFAULT_PAGE_SIZE */
        DiscoveryDetails details;
        size_t query_max;                /* bytes per search query, 0 = OCI_SEARCH_QUERY_MAX_DEFAULT */
        unsigned store_batch;            /* instances per stored batch, 0 = DISCOVERY_DEFAULT_STORE_BATCH */
} DiscoveryParams;

/* Fills p from config (strings point into config and profile_region). identity_region is the
 * OCI profile's region (profile_region, may be NULL), else the first configured region. */
void discovery_params_from_config(DiscoveryParams *p, const Config *config, const char *tenancy_id,
                                  const char *profile_region);

typedef enum DiscoveryPhase {
        DISCOVERY_LISTING,       /* tree and search running */
        DISCOVERY_DETAILS,       /* ListInstances for missing shapes */
        DISCOVERY_STORING,       /* the OCI part is over, the database is being written */
        _DISCOVERY_PHASE_MAX,
        _DISCOVERY_PHASE_INVALID = -EINVAL,
} DiscoveryPhase;
DECLARE_STRING_TABLE_LOOKUP(discovery_phase, DiscoveryPhase);

typedef struct DiscoveryProgress {
        DiscoveryPhase phase;
        double fraction;                 /* 0..1, an estimate that never goes back */
        uint64_t compartments;           /* seen so far, the root included */
        uint64_t instances;
        uint64_t requests;               /* OCI requests (pages) answered so far */
} DiscoveryProgress;

typedef struct DiscoveryResult {
        int error;                       /* 0, or the first failure as a negative errno */
        const char *message;             /* one line, NULL on success */
        OciErrorKind oci_error;          /* kind of the first failure if it came from OCI, else
                                          * _OCI_ERROR_KIND_INVALID */
        int64_t run_id;                  /* the stopstart.discovery_runs row, 0 if none was made */
        uint64_t compartments;           /* in the stored tree, root included (0: not stored) */
        uint64_t instances;              /* stored, of the regions in regions_done */
        uint64_t requests;               /* OCI requests discovery made: one per page */
        uint64_t http_requests;          /* HTTP requests the client sent meanwhile, retries
                                          * included (exact when nobody else uses the client) */
        unsigned max_in_flight;          /* high-water mark of discovery's own requests */
        uint64_t details_requests;       /* of requests: ListInstances pages */
        uint64_t details_compartments;   /* compartments listed with ListInstances */
        uint64_t details_differ;         /* instances ListInstances saw otherwise than Search,
                                          * or only one of them saw (in listed compartments) */
        usec_t fetch_usec;               /* start → last OCI answer */
        usec_t inventory_usec;           /* start → tree and instances stored, the unseen marked
                                          * removed (0: never); shapes may follow (details pass) */
        usec_t elapsed_usec;             /* start → everything stored */
        char **regions_done;             /* regions whose instances were synchronised */
        char **regions_failed;
        InventorySyncResult compartment_changes;
        InventorySyncResult instance_changes;
} DiscoveryResult;

/* Called at most every 100 ms and on phase changes. May call discovery_cancel(). */
typedef void (*discovery_progress_t)(Discovery *d, const DiscoveryProgress *p, void *userdata);
/* Called exactly once unless cancelled, after the run row is closed; the result and d are valid
 * during the call only (d is freed when it returns). */
typedef void (*discovery_done_t)(Discovery *d, const DiscoveryResult *r, void *userdata);

/* Starts a run. client and db must outlive it (or it must be cancelled first); client may be
 * shared with other users (discovery's own in-flight limit applies on top of the client's).
 * progress may be NULL. -EINVAL for missing parameters. */
int discovery_start(sd_event *event, OciClient *client, Db *db, const DiscoveryParams *params,
                    discovery_progress_t progress, discovery_done_t done, void *userdata, Discovery **ret);

/* Stops a run: every OCI call is cancelled at once, no callback runs any more. Statements
 * already sent finish (each is atomic); the run row is closed as failed ("cancelled"); then the
 * object frees itself (or when the Db is freed). No-op from the done callback. */
void discovery_cancel(Discovery *d);


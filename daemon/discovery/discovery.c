/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "discovery.h"
#include "json-util.h"
#include "log.h"
#include "oci-search.h"
#include "strv.h"

#define PROGRESS_INTERVAL_USEC (100 * USEC_PER_MSEC)

static const char * const discovery_phase_table[_DISCOVERY_PHASE_MAX] = {
        [DISCOVERY_LISTING] = "listing",
        [DISCOVERY_DETAILS] = "details",
        [DISCOVERY_STORING] = "storing",
};
DEFINE_STRING_TABLE_LOOKUP(discovery_phase, DiscoveryPhase);

/* ---- the engine -------------------------------------------------------------------------------- */

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

/* Instances being batched for the database: READY ones belong to compartments the database has
 * already (they may go before the tree), HELD ones wait until the tree statement is queued. */
enum { BATCH_READY, BATCH_HELD, _BATCH_MAX };

typedef struct Batch {
        char *text;                      /* "[obj,obj,...,": the open batch */
        size_t length, allocated;
        unsigned n;                      /* objects in it */
        unsigned generation;             /* unique per region and opening */
} Batch;

/* One instance: where its object is in an open batch (while generation is that batch's), and a
 * hash of it once the batch went out. 20,000 instances as json-c objects would take several
 * times the memory of the text the database gets anyway. */
typedef struct Record {
        size_t offset, length;
        uint64_t hash;                   /* FNV-1a of the object */
        unsigned generation;             /* of the batch it went into */
        unsigned batch;                  /* BATCH_READY or BATCH_HELD */
        struct Record *next_held;        /* Region.held list of its compartment */
        bool in_held_list;
        const char *compartment_id;      /* interned in Discovery.compartment_ids */
        bool shape_known;
        bool listed;             /* from ListInstances: authoritative, Search does not overwrite */
        char id[];
} Record;

struct Region {
        Discovery *discovery;
        char *name;
        RegionState state;
        struct lh_table *records;        /* id → Record* (all of the run, stored or not) */
        Batch batches[_BATCH_MAX];
        struct lh_table *held;           /* compartment id → Record* list: may be in HELD */
        unsigned generation;             /* the last one given to a batch */
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

static void advance(Discovery *d);
static void release_compartments(Discovery *d);

void discovery_params_from_config(DiscoveryParams *p, const Config *config, const char *tenancy_id,
                                  const char *profile_region) {
        assert(p);
        assert(config);
        *p = (DiscoveryParams) {
                .tenancy_id = tenancy_id,
                .identity_region = !isempty(profile_region) ? profile_region
                                   : config->oci.regions ? config->oci.regions[0] : NULL,
                .regions = config->oci.regions,
                .max_in_flight = config->discovery.max_in_flight,
                .page_size = config->discovery.page_size,
                .store_batch = config->discovery.store_batch,
                .details = config->discovery.details,
        };
}

static usec_t now_usec(Discovery *d) {
        return now(CLOCK_MONOTONIC);
}

/* Sent by the client since the start, retries included (others' too on a shared client). */
static uint64_t http_requests(Discovery *d) {
        OciClientStats st;

        oci_client_get_stats(d->client, &st);
        return st.attempts - d->stats_start.attempts;
}

static void record_entry_free(struct lh_entry *e) {
        free(lh_entry_v(e));
}

static void key_entry_free(struct lh_entry *e) {
        free(lh_entry_k(e));
}

static void chain_free(Chain *c) {
        if (!c)
                return;
        free(c->arg);
        free(c);
}

static Region *region_free(Region *r) {
        if (!r)
                return NULL;
        free(r->name);
        for (size_t i = 0; i < _BATCH_MAX; i++)
                free(r->batches[i].text);
        if (r->records)
                lh_table_free(r->records);
        if (r->listed)
                lh_table_free(r->listed);
        if (r->held)
                lh_table_free(r->held);
        return mfree(r);
}

/* An empty batch "[" with a new generation: records of the one before are out of it. */
static int batch_open(Region *r, Batch *b) {
        b->allocated = MAX(b->allocated, (size_t) 4096);
        b->text = malloc(b->allocated);
        if (!b->text)
                return -ENOMEM;
        b->text[0] = '[';
        b->length = 1;
        b->n = 0;
        b->generation = ++r->generation;
        return 0;
}

/* Cancels and frees every chain (of one region, or all with r == NULL). No callbacks. */
static void chains_drop(Discovery *d, Region *r) {
        Chain *c, *next;

        for (c = TAILQ_FIRST(&d->pending); c; c = next) {
                next = TAILQ_NEXT(c, link);
                if (r && c->region != r)
                        continue;
                TAILQ_REMOVE(&d->pending, c, link);
                if (c->region)
                        c->region->n_chains--;
                chain_free(c);
        }
        for (c = TAILQ_FIRST(&d->active); c; c = next) {
                next = TAILQ_NEXT(c, link);
                if (r && c->region != r)
                        continue;
                TAILQ_REMOVE(&d->active, c, link);
                d->n_active--;
                if (c->call)
                        oci_call_cancel(c->call);
                if (c->region)
                        c->region->n_chains--;
                chain_free(c);
        }
}

static void discovery_free(Discovery *d) {
        if (!d)
                return;
        chains_drop(d, NULL);
        for (size_t i = 0; i < d->n_regions; i++)
                region_free(d->regions[i]);
        free(d->regions);
        oci_search_batch_done(&d->batch);
        strv_free(d->queries);
        json_object_put(d->compartments);
        json_object_put(d->comp_waiting);
        /* after the regions: records point at these keys */
        if (d->compartment_ids)
                lh_table_free(d->compartment_ids);
        if (d->other_compartments)
                lh_table_free(d->other_compartments);
        if (d->db_compartments)
                lh_table_free(d->db_compartments);
        free(d->tenancy_id);
        free(d->identity_region);
        free(d->home_region_key);
        free(d->message);
        sd_event_source_disable_unref(d->dispatch_event);
        strv_free(d->regions_done);
        strv_free(d->regions_failed);
        sd_event_unref(d->event);
        free(d);
}

static Discovery *discovery_ref(Discovery *d) {
        d->n_ref++;
        return d;
}

static void discovery_unref(Discovery *d) {
        assert(d->n_ref > 0);
        if (--d->n_ref == 0)
                discovery_free(d);
}

/* The first error wins; later ones only go to the debug log. */
static void set_error(Discovery *d, int error, OciErrorKind kind, const char *fmt, ...) _printf_(4, 5);
static void set_error(Discovery *d, int error, OciErrorKind kind, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        log_debug("Discovery: %s", strna(m));
        if (d->error < 0)
                return;
        d->error = error < 0 ? error : -EIO;
        d->oci_error = kind;
        d->message = TAKE_PTR(m);
}

static void set_oci_error(Discovery *d, const char *context, const OciError *e) {
        _cleanup_free_ char *s = oci_error_to_string(e);

        set_error(d, e->error, e->kind, "%s%s%s", strempty(context), context ? ": " : "", s ?: e->message);
}

/* Tree, tenancy or regions could not be listed, or the database failed: nothing more is
 * fetched, and what was not synchronised yet will not be. */
static void abort_all(Discovery *d) {
        if (d->aborted)
                return;
        d->aborted = true;
        chains_drop(d, NULL);
        for (size_t i = 0; i < d->n_regions; i++)
                if (d->regions[i]->state != REGION_COMPLETE)
                        d->regions[i]->state = REGION_FAILED;
}

static void region_fail(Region *r, const char *what, const OciError *e, int error) {
        Discovery *d = r->discovery;

        if (r->state == REGION_FAILED)
                return;
        r->state = REGION_FAILED;
        if (e) {
                _cleanup_free_ char *ctx = strprintf("Region %s", r->name);
                set_oci_error(d, ctx, e);
        } else
                set_error(d, error, _OCI_ERROR_KIND_INVALID, "Region %s: %s", r->name, what);
        chains_drop(d, r);
}

static int chain_enqueue(Discovery *d, ChainKind kind, Region *r, const char *arg) {
        Chain *c = new0(Chain, 1);

        if (!c)
                return -ENOMEM;
        c->discovery = d;
        c->kind = kind;
        c->region = r;
        if (arg && !(c->arg = strdup(arg))) {
                free(c);
                return -ENOMEM;
        }
        if (r)
                r->n_chains++;
        TAILQ_INSERT_TAIL(&d->pending, c, link);
        return 0;
}

/* Removes a chain whose call has ended (or never started). */
static void chain_end(Chain *c) {
        Discovery *d = c->discovery;

        if (c->active) {
                TAILQ_REMOVE(&d->active, c, link);
                d->n_active--;
        } else
                TAILQ_REMOVE(&d->pending, c, link);
        if (c->region)
                c->region->n_chains--;
        chain_free(c);
}

static void on_tenancy(OciClient *cl, OciTenancy *t, const OciError *e, void *userdata);
static void on_subscriptions(OciClient *cl, OciRegionSubscription *items, size_t n, const OciError *e,
                             void *userdata);
static void on_compartments(OciClient *cl, OciCompartment *items, size_t n, const char *next_page,
                            const OciError *e, void *userdata);
static void on_search(OciClient *cl, OciResourceSummary *items, size_t n, const char *next_page, const OciError *e,
                      void *userdata);
static void on_details(OciClient *cl, OciInstance *items, size_t n, const char *next_page, const OciError *e,
                       void *userdata);

static int chain_start(Chain *c) {
        Discovery *d = c->discovery;

        switch (c->kind) {
        case CHAIN_TENANCY:
                return oci_get_tenancy(d->client, d->identity_region, d->tenancy_id, on_tenancy, c, &c->call);
        case CHAIN_SUBSCRIPTIONS:
                return oci_list_region_subscriptions(d->client, d->identity_region, d->tenancy_id, on_subscriptions,
                                                     c, &c->call);
        case CHAIN_COMPARTMENTS: {
                OciListCompartmentsParams p = {
                        .compartment_id = d->tenancy_id,
                        .subtree = true,
                        .access_level = OCI_ACCESS_ACCESSIBLE,
                        .limit = d->page_size,
                        .all_pages = true,
                };
                return oci_list_compartments(d->client, d->identity_region, &p, on_compartments, c, &c->call);
        }
        case CHAIN_SEARCH: {
                OciSearchParams p = { .query = c->arg, .limit = d->page_size, .all_pages = true };
                return oci_search_resources(d->client, c->region->name, &p, on_search, c, &c->call);
        }
        case CHAIN_DETAILS: {
                OciListInstancesParams p = { .compartment_id = c->arg, .limit = d->page_size, .all_pages = true };
                return oci_list_instances(d->client, c->region->name, &p, on_details, c, &c->call);
        }
        }
        return -EINVAL;
}

/* Starts queued chains while discovery has slots free. */
static void dispatch(Discovery *d) {
        Chain *c;
        int r;

        while (!d->aborted && d->n_active < d->max_in_flight && (c = TAILQ_FIRST(&d->pending))) {
                TAILQ_REMOVE(&d->pending, c, link);
                TAILQ_INSERT_TAIL(&d->active, c, link);
                c->active = true;
                d->n_active++;
                d->max_active = MAX(d->max_active, d->n_active);
                r = chain_start(c);
                if (r < 0) {
                        Region *reg = c->region;

                        c->call = NULL;
                        chain_end(c);
                        if (reg)
                                region_fail(reg, "cannot start a request", NULL, r);
                        else {
                                set_error(d, r, _OCI_ERROR_KIND_INVALID, "Cannot start a request: %s", strerror(-r));
                                abort_all(d);
                        }
                }
        }
}

static int on_dispatch(sd_event_source *s, void *userdata) {
        Discovery *d = discovery_ref(userdata);

        dispatch(d);
        advance(d);
        discovery_unref(d);
        return 0;
}

/* New requests start from the loop, after the handler that made them returned: a list call
 * queues its next page when its handler returns, and that page is on the critical path (the
 * tree feeds every search), so it goes out ahead of the searches its page just made. */
static void schedule_dispatch(Discovery *d) {
        int r;

        if (!d->dispatch_event) {
                r = sd_event_add_defer(d->event, &d->dispatch_event, on_dispatch, d);
                if (r < 0) {
                        log_debug_errno(r, "Discovery: cannot defer, starting requests now: %m");
                        dispatch(d);
                        return;
                }
                (void) sd_event_source_set_description(d->dispatch_event, "discovery-dispatch");
        }
        (void) sd_event_source_set_enabled(d->dispatch_event, SD_EVENT_ONESHOT);
}

static Region *region_new(Discovery *d, const char *name) {
        Region *r;

        for (size_t i = 0; i < d->n_regions; i++)
                if (streq(d->regions[i]->name, name))
                        return d->regions[i];

        r = new0(Region, 1);
        if (!r)
                return NULL;
        r->discovery = d;
        r->name = strdup(name);
        r->records = lh_kchar_table_new(1024, record_entry_free);
        for (size_t i = 0; i < _BATCH_MAX; i++)
                if (batch_open(r, r->batches + i) < 0) {
                        region_free(r);
                        return NULL;
                }
        r->listed = lh_kchar_table_new(64, key_entry_free);
        r->held = lh_kchar_table_new(64, NULL);   /* keys: interned compartment ids */
        if (!r->name || !r->records || !r->listed || !r->held) {
                region_free(r);
                return NULL;
        }
        {
                Region **a = realloc(d->regions, sizeof(Region*) * (d->n_regions + 1));

                if (!a) {
                        region_free(r);
                        return NULL;
                }
                d->regions = a;
                d->regions[d->n_regions++] = r;
        }
        /* every batch closed so far, for this region too */
        STRV_FOREACH(q, d->queries)
                if (chain_enqueue(d, CHAIN_SEARCH, r, *q) < 0) {
                        region_fail(r, "out of memory", NULL, -ENOMEM);
                        break;
                }
        return r;
}

/* A closed batch: one search per known region (regions listed later pick it up from queries). */
static int batch_emit(Discovery *d, char *query) {
        int r;

        if (!query)
                return 0;
        r = strv_consume(&d->queries, query);
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->n_regions; i++)
                if (d->regions[i]->state == REGION_SEARCHING) {
                        r = chain_enqueue(d, CHAIN_SEARCH, d->regions[i], query);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int batch_add(Discovery *d, const char *compartment_id) {
        char *q = NULL;
        int r;

        r = oci_search_batch_add(&d->batch, compartment_id, &q);
        if (r < 0)
                return r;
        return batch_emit(d, q);
}

static bool compartments_complete(Discovery *d) {
        return d->have_root && d->compartments_listed;
}

static uint64_t instances_seen(Discovery *d) {
        uint64_t n = 0;

        for (size_t i = 0; i < d->n_regions; i++)
                n += (uint64_t) lh_table_length(d->regions[i]->records);
        return n;
}

/* ---- building snapshot objects ---- */

static int json_add_string(json_object *o, const char *key, const char *value) {
        json_object *v = NULL;

        if (value && !(v = json_object_new_string(value)))
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int json_add_tags(json_object *o, const OciTags *tags) {
        json_object *f = oci_tags_freeform_to_json(tags), *t = oci_tags_defined_to_json(tags);

        if (!f || !t || json_object_object_add(o, "freeform_tags", f) < 0) {
                json_object_put(f);
                json_object_put(t);
                return -ENOMEM;
        }
        if (json_object_object_add(o, "defined_tags", t) < 0) {
                json_object_put(t);
                return -ENOMEM;
        }
        return 0;
}

typedef struct InstanceFields {
        const char *id, *compartment_id, *region, *availability_domain, *fault_domain, *shape, *display_name,
                *lifecycle_state, *time_created;
        const OciTags *tags;
} InstanceFields;

/* The store's instance object (inventory-store.h). Missing text fields that the store requires
 * become "" rather than dropping the row (which would then count as removed). */
static char *instance_json(const InstanceFields *f) {
        _cleanup_json_ json_object *o = json_object_new_object();
        const char *s;

        if (!o ||
            json_add_string(o, "id", f->id) < 0 ||
            json_add_string(o, "compartment_id", f->compartment_id) < 0 ||
            json_add_string(o, "region", f->region) < 0 ||
            json_add_string(o, "availability_domain", strempty(f->availability_domain)) < 0 ||
            json_add_string(o, "fault_domain", f->fault_domain) < 0 ||
            json_add_string(o, "shape", f->shape) < 0 ||
            json_add_string(o, "display_name", strempty(f->display_name)) < 0 ||
            json_add_string(o, "lifecycle_state", strempty(f->lifecycle_state)) < 0 ||
            json_add_string(o, "time_created", f->time_created) < 0 ||
            json_add_tags(o, f->tags) < 0)
                return NULL;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        return s ? strdup(s) : NULL;
}

/* A compartment id as a pointer that lives as long as discovery: the tree's own key, or one
 * added for instances of compartments the tree does not (yet) have. */
static const char *intern_compartment(Discovery *d, const char *id) {
        struct lh_entry *e = lh_table_lookup_entry(d->compartment_ids, id);
        char *k;

        if (!e)
                e = lh_table_lookup_entry(d->other_compartments, id);
        if (e)
                return lh_entry_k(e);
        k = strdup(id);
        if (!k || lh_table_insert(d->other_compartments, k, NULL) < 0) {
                free(k);
                return NULL;
        }
        return k;
}

static uint64_t fnv1a(const char *s, size_t l) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (size_t i = 0; i < l; i++)
                h = (h ^ (uint8_t) s[i]) * UINT64_C(1099511628211);
        return h;
}

static int text_append(Batch *b, const char *s, size_t l) {
        if (b->length + l + 2 > b->allocated) {
                size_t a = MAX(b->allocated * 2, b->length + l + 2);
                char *m = realloc(b->text, a);

                if (!m)
                        return -ENOMEM;
                b->text = m;
                b->allocated = a;
        }
        memcpy(b->text + b->length, s, l);
        b->length += l;
        b->text[b->length++] = ',';
        return 0;
}

/* Instances of compartments the database has may be stored before the tree. */
static bool compartment_stored(Discovery *d, const char *id) {
        return d->comp_sync_submitted || (d->db_compartments && lh_table_lookup_entry(d->db_compartments, id));
}

/* Adds or updates an instance of region r. From Search (listed = false) it never overwrites what
 * ListInstances said; from ListInstances it replaces Search's record and counts differences. A
 * replaced object of the open batch is overwritten in place when the new one fits, else blanked
 * to "{}" (a row of NULLs, which the store drops) and the new one appended. One that went out
 * with an earlier batch is sent again only when it differs. */
static int record_put(Region *r, const InstanceFields *f, bool listed) {
        Discovery *d = r->discovery;
        _cleanup_free_ char *json = NULL;
        const char *cid;
        struct lh_entry *e;
        Record *rec;
        Batch *b, *old = NULL;
        uint64_t h;
        size_t l;
        int k;

        e = lh_table_lookup_entry(r->records, f->id);
        rec = e ? lh_entry_v(e) : NULL;
        if (rec && rec->listed && !listed)
                return 0;

        json = instance_json(f);
        cid = intern_compartment(d, f->compartment_id);
        if (!json || !cid)
                return -ENOMEM;
        l = strlen(json);
        h = fnv1a(json, l);
        if (listed && (!rec || rec->length != l || rec->hash != h))
                d->details_differ++;
        if (rec && rec->generation == r->batches[rec->batch].generation)
                old = r->batches + rec->batch;
        if (rec && !old && rec->length == l && rec->hash == h) {
                /* stored (or on its way) as it is */
                rec->compartment_id = cid;
                rec->listed = listed;
                return 0;
        }
        b = r->batches + (compartment_stored(d, cid) ? BATCH_READY : BATCH_HELD);

        if (old == b && l <= rec->length) {
                memcpy(b->text + rec->offset, json, l);
                memset(b->text + rec->offset + l, ' ', rec->length - l);
                rec->length = l;
        } else {
                k = text_append(b, json, l);
                if (k < 0)
                        return k;
                b->n++;
                if (old) {
                        memcpy(old->text + rec->offset, "{}", 2);
                        memset(old->text + rec->offset + 2, ' ', rec->length - 2);
                } else if (!rec) {
                        size_t il = strlen(f->id);

                        rec = malloc(offsetof(Record, id) + il + 1);
                        if (!rec) {
                                b->length -= l + 1;
                                b->n--;
                                return -ENOMEM;
                        }
                        *rec = (Record) {};
                        memcpy(rec->id, f->id, il + 1);
                        if (lh_table_insert(r->records, rec->id, rec) < 0) {
                                free(rec);
                                b->length -= l + 1;
                                b->n--;
                                return -ENOMEM;
                        }
                }
                rec->offset = b->length - l - 1;
                rec->length = l;
        }
        rec->compartment_id = cid;
        rec->hash = h;
        rec->batch = (unsigned) (b - r->batches);
        rec->generation = b->generation;
        rec->shape_known = f->shape != NULL;
        rec->listed = listed;
        if (rec->batch == BATCH_HELD && !rec->in_held_list) {
                /* to move it to READY as soon as its compartment is stored */
                e = lh_table_lookup_entry(r->held, cid);
                if (e) {
                        rec->next_held = lh_entry_v(e);
                        lh_entry_set_val(e, rec);
                } else {
                        rec->next_held = NULL;
                        if (lh_table_insert(r->held, cid, rec) < 0)
                                return 0;   /* then it waits for the tree */
                }
                rec->in_held_list = true;
        }
        return 0;
}

/* The compartment cid is stored now: its instances waiting in HELD move to READY (blanked in
 * HELD). Those not there any more (sent, or replaced) are skipped. */
static int region_promote(Region *r, const char *cid) {
        struct lh_entry *e = lh_table_lookup_entry(r->held, cid);
        Batch *held = r->batches + BATCH_HELD, *ready = r->batches + BATCH_READY;
        Record *rec, *next;
        int k = 0;

        if (!e)
                return 0;
        rec = lh_entry_v(e);
        lh_table_delete_entry(r->held, e);
        for (; rec; rec = next) {
                next = rec->next_held;
                rec->next_held = NULL;
                rec->in_held_list = false;
                if (k < 0 || rec->batch != BATCH_HELD || rec->generation != held->generation ||
                    !streq(rec->compartment_id, cid))
                        continue;
                k = text_append(ready, held->text + rec->offset, rec->length);
                if (k < 0)
                        continue;   /* stays in HELD */
                ready->n++;
                held->n--;
                memcpy(held->text + rec->offset, "{}", 2);
                memset(held->text + rec->offset + 2, ' ', rec->length - 2);
                rec->offset = ready->length - rec->length - 1;
                rec->batch = BATCH_READY;
                rec->generation = ready->generation;
        }
        return k;
}

/* ---- OCI handlers ---- */

static void on_tenancy(OciClient *cl, OciTenancy *t, const OciError *e, void *userdata) {
        Chain *c = userdata;
        Discovery *d = discovery_ref(c->discovery);
        _cleanup_json_ json_object *o = NULL;

        c->call = NULL;
        chain_end(c);
        d->requests++;
        if (e) {
                set_oci_error(d, NULL, e);
                abort_all(d);
                goto out;
        }
        o = json_object_new_object();
        if (!o ||
            json_add_string(o, "id", d->tenancy_id) < 0 ||
            json_add_string(o, "parent_id", NULL) < 0 ||
            json_add_string(o, "name", t->name) < 0 ||
            json_add_string(o, "description", strempty(t->description)) < 0 ||
            json_add_string(o, "lifecycle_state", "ACTIVE") < 0 ||
            json_add_string(o, "time_created", NULL) < 0 ||
            json_add_tags(o, &t->tags) < 0 ||
            json_object_array_add(d->compartments, o) < 0) {
                set_error(d, -ENOMEM, _OCI_ERROR_KIND_INVALID, "Out of memory");
                abort_all(d);
                goto out;
        }
        if (json_object_array_add(d->comp_waiting, json_object_get(o)) < 0)
                json_object_put(o);   /* then it waits for the tree */
        TAKE_PTR(o);
        d->have_root = true;
        free(d->home_region_key);
        d->home_region_key = t->home_region_key ? strdup(t->home_region_key) : NULL;
out:
        oci_tenancy_free(t);
        advance(d);
        discovery_unref(d);
}

static void on_subscriptions(OciClient *cl, OciRegionSubscription *items, size_t n, const OciError *e,
                             void *userdata) {
        Chain *c = userdata;
        Discovery *d = discovery_ref(c->discovery);

        c->call = NULL;
        chain_end(c);
        d->requests++;
        if (e) {
                set_oci_error(d, NULL, e);
                abort_all(d);
                goto out;
        }
        for (size_t i = 0; i < n; i++)
                if (streq(items[i].status, "READY") && !region_new(d, items[i].region_name)) {
                        set_error(d, -ENOMEM, _OCI_ERROR_KIND_INVALID, "Out of memory");
                        abort_all(d);
                        goto out;
                }
        if (d->n_regions == 0) {
                set_error(d, -ENXIO, _OCI_ERROR_KIND_INVALID, "The tenancy has no READY subscribed region.");
                abort_all(d);
                goto out;
        }
        d->regions_known = true;
out:
        oci_region_subscriptions_free(items, n);
        advance(d);
        discovery_unref(d);
}

static int compartment_add(Discovery *d, const OciCompartment *oc) {
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ char *key = NULL;
        int r;

        if (streq(oc->id, d->tenancy_id) || lh_table_lookup_entry(d->compartment_ids, oc->id))
                return 0;   /* a page boundary moved under us: seen already */
        key = strdup(oc->id);
        o = json_object_new_object();
        if (!key || !o ||
            json_add_string(o, "id", oc->id) < 0 ||
            json_add_string(o, "parent_id", oc->compartment_id ?: d->tenancy_id) < 0 ||
            json_add_string(o, "name", oc->name) < 0 ||
            json_add_string(o, "description", strempty(oc->description)) < 0 ||
            json_add_string(o, "lifecycle_state", oc->lifecycle_state_raw) < 0 ||
            json_add_string(o, "time_created", oc->time_created) < 0 ||
            json_add_tags(o, &oc->tags) < 0)
                return -ENOMEM;
        r = batch_add(d, oc->id);
        if (r < 0)
                return r;
        if (lh_table_insert(d->compartment_ids, key, NULL) < 0)
                return -ENOMEM;
        TAKE_PTR(key);
        if (json_object_array_add(d->compartments, o) < 0)
                return -ENOMEM;
        if (json_object_array_add(d->comp_waiting, json_object_get(o)) < 0)
                json_object_put(o);   /* then it waits for the tree */
        TAKE_PTR(o);
        return 0;
}

/* Parents missing from the listing (not visible to us) would break the tree: such compartments
 * hang off the root instead, which keeps them and their instances visible. */
static void compartments_fix_parents(Discovery *d) {
        size_t n = json_object_array_length(d->compartments);

        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(d->compartments, i), *p = NULL;
                const char *parent;

                if (!json_object_object_get_ex(o, "parent_id", &p) || !p)
                        continue;
                parent = json_object_get_string(p);
                if (streq(parent, d->tenancy_id) || lh_table_lookup_entry(d->compartment_ids, parent))
                        continue;
                log_debug("Discovery: the parent %s of a compartment is not visible, attaching it to the root.",
                          parent);
                (void) json_add_string(o, "parent_id", d->tenancy_id);
        }
}

static void on_compartments(OciClient *cl, OciCompartment *items, size_t n, const char *next_page,
                            const OciError *e, void *userdata) {
        Chain *c = userdata;
        Discovery *d = discovery_ref(c->discovery);
        char *q = NULL;
        int r = 0;

        d->requests++;
        if (e || !next_page) {
                c->call = NULL;
                chain_end(c);
        }
        if (e) {
                set_oci_error(d, NULL, e);
                abort_all(d);
                goto out;
        }
        for (size_t i = 0; i < n && r >= 0; i++)
                r = compartment_add(d, items + i);
        if (r >= 0 && !next_page) {
                /* the tree is complete: the last partial batch goes out too */
                r = oci_search_batch_flush(&d->batch, &q);
                if (r >= 0)
                        r = batch_emit(d, q);
                d->compartments_listed = true;
                compartments_fix_parents(d);
        }
        if (r < 0) {
                if (r == -EINVAL)
                        set_error(d, r, _OCI_ERROR_KIND_INVALID,
                                  "ListCompartments returned a compartment id that cannot be searched for.");
                else
                        set_error(d, r, _OCI_ERROR_KIND_INVALID, "Out of memory");
                abort_all(d);
        }
out:
        oci_compartments_free(items, n);
        advance(d);
        discovery_unref(d);
}

static void on_search(OciClient *cl, OciResourceSummary *items, size_t n, const char *next_page, const OciError *e,
                      void *userdata) {
        Chain *c = userdata;
        Discovery *d = discovery_ref(c->discovery);
        Region *reg = c->region;
        int r = 0;

        d->requests++;
        if (e || !next_page) {
                c->call = NULL;
                chain_end(c);
        }
        if (e) {
                region_fail(reg, NULL, e, 0);
                goto out;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                const OciResourceSummary *s = items + i;

                if (strcasecmp(s->resource_type, "Instance") != 0)
                        continue;
                r = record_put(reg, &(InstanceFields) {
                                .id = s->identifier,
                                .compartment_id = s->compartment_id,
                                .region = reg->name,   /* Search is regional: the endpoint's */
                                .availability_domain = s->availability_domain,
                                .fault_domain = s->fault_domain,
                                .shape = s->shape,
                                .display_name = s->display_name,
                                .lifecycle_state = s->lifecycle_state,
                                .time_created = s->time_created,
                                .tags = &s->tags,
                        }, false);
        }
        if (r < 0)
                region_fail(reg, "out of memory", NULL, r);
out:
        oci_resource_summaries_free(items, n);
        advance(d);
        discovery_unref(d);
}

static void on_details(OciClient *cl, OciInstance *items, size_t n, const char *next_page, const OciError *e,
                       void *userdata) {
        Chain *c = userdata;
        Discovery *d = discovery_ref(c->discovery);
        Region *reg = c->region;
        int r = 0;

        d->requests++;
        d->details_requests++;
        if (e || !next_page) {
                c->call = NULL;
                chain_end(c);
        }
        if (e) {
                region_fail(reg, NULL, e, 0);
                goto out;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                const OciInstance *s = items + i;

                r = record_put(reg, &(InstanceFields) {
                                .id = s->id,
                                .compartment_id = s->compartment_id,
                                .region = reg->name,
                                .availability_domain = s->availability_domain,
                                .fault_domain = s->fault_domain,
                                .shape = s->shape,
                                .display_name = s->display_name,
                                .lifecycle_state = s->lifecycle_state_raw,
                                .time_created = s->time_created,
                                .tags = &s->tags,
                        }, true);
        }
        if (r < 0)
                region_fail(reg, "out of memory", NULL, r);
out:
        oci_instances_free(items, n);
        advance(d);
        discovery_unref(d);
}

/* ---- the details pass ---- */

/* ListInstances for each compartment (of the region's records) for which want() holds. */
static int details_enqueue(Region *reg, bool (*want)(const Record *rec, void *userdata), void *userdata,
                           unsigned max) {
        Discovery *d = reg->discovery;
        struct lh_entry *e;
        unsigned n = 0;
        int r;

        lh_foreach(reg->records, e) {
                Record *rec = lh_entry_v(e);
                _cleanup_free_ char *key = NULL;

                if (!want(rec, userdata) || lh_table_lookup_entry(reg->listed, rec->compartment_id))
                        continue;
                if (max > 0 && n >= max) {
                        log_debug("Discovery: region %s: more than %u compartments need ListInstances; the rest "
                                  "follow on later runs.", reg->name, max);
                        break;
                }
                key = strdup(rec->compartment_id);
                if (!key || lh_table_insert(reg->listed, key, NULL) < 0)
                        return -ENOMEM;
                r = chain_enqueue(d, CHAIN_DETAILS, reg, TAKE_PTR(key));
                if (r < 0)
                        return r;
                n++;
        }
        d->details_compartments += n;
        return (int) n;
}

static bool want_any(const Record *rec, void *userdata) {
        return true;
}

static bool want_unknown(const Record *rec, void *userdata) {
        struct lh_table *known = userdata;
        return !rec->shape_known && !(known && lh_table_lookup_entry(known, rec->id));
}

static void region_details_start(Region *reg, struct lh_table *known_in_db) {
        int r;

        r = reg->discovery->details == DISCOVERY_DETAILS_ALWAYS
                    ? details_enqueue(reg, want_any, NULL, 0)
                    : details_enqueue(reg, want_unknown, known_in_db, DISCOVERY_DETAILS_MAX_COMPARTMENTS);
        if (r < 0)
                region_fail(reg, "out of memory", NULL, r);
        else
                reg->state = r > 0 ? REGION_DETAILS : REGION_COMPLETE;
}

/* Instances Search reported in a listed compartment that ListInstances did not return. */
static void region_details_done(Region *reg) {
        struct lh_entry *e;

        lh_foreach(reg->records, e) {
                Record *rec = lh_entry_v(e);
                if (!rec->listed && lh_table_lookup_entry(reg->listed, rec->compartment_id))
                        reg->discovery->details_differ++;
        }
        reg->state = REGION_COMPLETE;
}

typedef struct CheckCall {
        Discovery *discovery;
        Region *region;
} CheckCall;

static void on_known_shapes(int error, char **ids, size_t n, const char *message, void *userdata) {
        _cleanup_free_ CheckCall *cc = userdata;
        Discovery *d = cc->discovery;
        struct lh_table *known = NULL;

        d->db_pending--;
        if (!d->cancelled && !d->aborted && cc->region->state == REGION_CHECKING) {
                /* without the answer: list them all (bounded), the result is the same, only slower */
                if (error >= 0) {
                        known = lh_kchar_table_new(MAX(16, (int) n * 2), NULL);
                        for (size_t i = 0; known && i < n; i++)
                                if (lh_table_insert(known, ids[i], NULL) < 0) {
                                        lh_table_free(known);
                                        known = NULL;
                                }
                } else
                        log_debug("Discovery: could not read the known shapes: %s", strna(message));
                region_details_start(cc->region, known);
                if (known)
                        lh_table_free(known);
                advance(d);
        }
        strv_free(ids);
        discovery_unref(d);
}

/* details=auto: which unknown shapes does the database know already? */
static void region_check_known(Region *reg) {
        Discovery *d = reg->discovery;
        _cleanup_json_ json_object *ids = json_object_new_array();
        CheckCall *cc = NULL;
        struct lh_entry *e;
        int r = -ENOMEM;

        if (!ids)
                goto fail;
        lh_foreach(reg->records, e) {
                Record *rec = lh_entry_v(e);
                if (!rec->shape_known && json_object_array_add(ids, json_object_new_string(rec->id)) < 0)
                        goto fail;
        }
        if (json_object_array_length(ids) == 0) {
                reg->state = REGION_COMPLETE;
                return;
        }
        cc = new0(CheckCall, 1);
        if (!cc)
                goto fail;
        *cc = (CheckCall) { .discovery = d, .region = reg };
        r = inventory_instances_with_details(d->db, ids, on_known_shapes, cc);
        if (r < 0)
                goto fail;
        discovery_ref(d);
        d->db_pending++;
        reg->state = REGION_CHECKING;
        return;
fail:
        free(cc);
        region_details_start(reg, NULL);
}

/* ---- storing ---- */

static void on_run_finished(int error, int64_t run_id, void *userdata);

/* A cancelled run still gets its row closed, behind whatever statement is queued (FIFO). */
static void close_cancelled_run(Discovery *d, int64_t run_id) {
        discovery_ref(d);
        if (inventory_run_finish(d->db, run_id, "cancelled", 0, 0, (int64_t) http_requests(d),
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
                advance(d);
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
                close_cancelled_run(d, run_id);
        if (!d->cancelled) {
                if (error < 0) {
                        set_error(d, error, _OCI_ERROR_KIND_INVALID, "Cannot record the discovery run: %s",
                                  error == -EIO ? db_last_error(d->db) : strerror(-error));
                        abort_all(d);
                } else
                        d->run_id = run_id;
                d->run_known = true;
                advance(d);
        }
        discovery_unref(d);
}

static void on_compartments_synced(int error, const InventorySyncResult *res, const char *message, void *userdata) {
        Discovery *d = userdata;

        d->db_pending--;
        if (!d->cancelled) {
                if (error < 0) {
                        set_error(d, error, _OCI_ERROR_KIND_INVALID, "Storing the compartments failed: %s",
                                  message ?: strerror(-error));
                        abort_all(d);
                } else {
                        d->comp_sync_ok = true;
                        d->comp_changes = *res;
                        d->comp_changes.added += d->comp_added_early;
                        d->n_compartments_stored = (uint64_t) res->total;
                }
                advance(d);
        }
        discovery_unref(d);
}

static void finish(Discovery *d) {
        DiscoveryResult r;

        if (d->finished)
                return;
        d->finished = true;
        r = (DiscoveryResult) {
                .error = d->error,
                .message = d->message,
                .oci_error = d->error < 0 ? d->oci_error : _OCI_ERROR_KIND_INVALID,
                .run_id = d->run_id,
                .compartments = d->n_compartments_stored,
                .instances = d->n_instances_stored,
                .requests = d->requests,
                .http_requests = http_requests(d),
                .max_in_flight = d->max_active,
                .details_requests = d->details_requests,
                .details_compartments = d->details_compartments,
                .details_differ = d->details_differ,
                .fetch_usec = d->fetch_usec,
                .inventory_usec = d->inventory_usec,
                .elapsed_usec = now_usec(d) - d->started,
                .regions_done = d->regions_done,
                .regions_failed = d->regions_failed,
                .compartment_changes = d->comp_changes,
                .instance_changes = d->inst_changes,
        };
        if (d->on_done)
                d->on_done(d, &r, d->userdata);
        discovery_unref(d);   /* the caller's reference */
}

static void on_run_finished(int error, int64_t run_id, void *userdata) {
        Discovery *d = userdata;

        d->db_pending--;
        if (error < 0)
                log_debug("Discovery: closing run %" PRIi64 " failed: %s", d->run_id,
                          error == -EIO ? db_last_error(d->db) : strerror(-error));
        if (!d->cancelled)
                finish(d);
        discovery_unref(d);
}

static bool fetching_over(Discovery *d) {
        if (d->n_active > 0 || !TAILQ_EMPTY(&d->pending))
                return false;
        if (d->aborted)
                return true;
        if (!d->regions_known || !compartments_complete(d))
                return false;
        for (size_t i = 0; i < d->n_regions; i++)
                if (d->regions[i]->state != REGION_COMPLETE && d->regions[i]->state != REGION_FAILED)
                        return false;
        return true;
}

static void on_regions_synced(int error, const InventorySyncResult *res, const char *message, void *userdata) {
        Discovery *d = userdata;

        d->db_pending--;
        if (!d->cancelled) {
                if (error < 0)
                        set_error(d, error, _OCI_ERROR_KIND_INVALID, "Storing the regions failed: %s",
                                  message ?: strerror(-error));
                advance(d);
        }
        discovery_unref(d);
}

/* The regions this run covers, for the Manager's Regions property. */
static int submit_regions(Discovery *d) {
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
                advance(d);
        }
        discovery_unref(d);
}

/* A batch goes out: READY ones as soon as they are full, HELD ones queued behind the tree (the
 * Db FIFO keeps the order). */
static int region_flush(Region *reg, Batch *b) {
        Discovery *d = reg->discovery;
        char *text;
        int r;

        if (b->n == 0)
                return 0;
        /* "[obj,...,obj," + the room text_append keeps: "[obj,...,obj]" */
        b->text[b->length - 1] = ']';
        b->text[b->length] = 0;
        text = TAKE_PTR(b->text);
        r = batch_open(reg, b);
        if (r < 0) {
                free(text);
                return r;
        }
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
                advance(d);
        }
        discovery_unref(d);
}

static void on_compartments_added(int error, const InventorySyncResult *res, const char *message, void *userdata) {
        Discovery *d = userdata;

        d->db_pending--;
        if (!d->cancelled) {
                if (error < 0) {
                        set_error(d, error, _OCI_ERROR_KIND_INVALID, "Storing the compartments failed: %s",
                                  message ?: strerror(-error));
                        abort_all(d);
                } else
                        d->comp_added_early += res->added;
                advance(d);
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
                                (void) region_promote(d->regions[j], id);
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
        set_error(d, r, _OCI_ERROR_KIND_INVALID, "Cannot store the compartments: %s", strerror(-r));
        abort_all(d);
}

/* Instance batches while fetching; once a region's listing is complete and every batch of it is
 * stored, what it did not see is marked removed. A failed region never gets there. */
static void store_regions(Discovery *d) {
        int r = 0;

        if (d->aborted || d->cancelled || d->run_id <= 0)
                return;
        for (size_t i = 0; i < d->n_regions; i++) {
                Region *reg = d->regions[i];
                bool last = reg->state == REGION_COMPLETE && d->comp_sync_submitted;
                /* Search is over: what it found goes out now, the details pass does not hold it */
                bool search_last = reg->state != REGION_SEARCHING && d->comp_sync_submitted && !reg->search_flushed;

                r = 0;
                if (reg->state == REGION_FAILED || reg->last_batch_sent)
                        goto removal;
                /* full, or the database has nothing else to do */
                if (last || search_last || reg->batches[BATCH_READY].n >= d->store_batch ||
                    (reg->batches[BATCH_READY].n > 0 && db_pending(d->db) == 0))
                        r = region_flush(reg, reg->batches + BATCH_READY);
                if (r >= 0 && d->comp_sync_submitted)   /* nothing joins it any more */
                        r = region_flush(reg, reg->batches + BATCH_HELD);
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

/* Tree stored and every region synchronised (or failed): the details pass may go on. */
static bool inventory_complete(Discovery *d) {
        if (!d->comp_sync_ok || !d->regions_known)
                return false;
        for (size_t i = 0; i < d->n_regions; i++)
                if (d->regions[i]->state != REGION_FAILED && !d->regions[i]->synced)
                        return false;
        return true;
}

static bool storing_over(Discovery *d) {
        for (size_t i = 0; i < d->n_regions; i++)
                if (d->regions[i]->state != REGION_FAILED && !d->regions[i]->synced)
                        return false;
        return true;
}

/* The regions' outcome, once everything is answered. */
static void regions_result(Discovery *d) {
        if (!d->regions_submitted)
                return;
        for (size_t i = 0; i < d->n_regions; i++) {
                Region *reg = d->regions[i];
                bool done = reg->synced && reg->state == REGION_COMPLETE;

                if (strv_extend(done ? &d->regions_done : &d->regions_failed, reg->name) < 0) {
                        set_error(d, -ENOMEM, _OCI_ERROR_KIND_INVALID, "Out of memory");
                        d->regions_failed = strv_free(d->regions_failed);
                        d->regions_done = strv_free(d->regions_done);
                        d->n_instances_stored = 0;
                        return;
                }
                if (done)
                        d->n_instances_stored += reg->n_stored;
        }
}

static void submit_finish(Discovery *d) {
        int r;

        d->finish_submitted = true;
        if (d->run_id <= 0) {
                finish(d);
                return;
        }
        r = inventory_run_finish(d->db, d->run_id, d->error < 0 ? strempty(d->message) : NULL,
                                 (int64_t) d->n_compartments_stored, (int64_t) d->n_instances_stored,
                                 (int64_t) http_requests(d), (int64_t) ((now_usec(d) - d->started) / USEC_PER_MSEC),
                                 on_run_finished, d);
        if (r < 0) {
                finish(d);
                return;
        }
        discovery_ref(d);
        d->db_pending++;
}

static DiscoveryPhase phase(Discovery *d) {
        if (d->fetch_usec > 0)
                return DISCOVERY_STORING;
        for (size_t i = 0; i < d->n_regions; i++)
                if (d->regions[i]->state == REGION_CHECKING || d->regions[i]->state == REGION_DETAILS)
                        return DISCOVERY_DETAILS;
        return DISCOVERY_LISTING;
}

static void maybe_progress(Discovery *d, bool force) {
        usec_t t = now_usec(d);
        DiscoveryProgress p;
        unsigned open;
        double f;

        if (!d->on_progress || d->finished || d->cancelled || (!force && t < d->last_progress + PROGRESS_INTERVAL_USEC))
                return;
        d->last_progress = t;

        /* requests answered against those known to come, with room for the tree still growing */
        open = d->n_active;
        for (Chain *c = TAILQ_FIRST(&d->pending); c; c = TAILQ_NEXT(c, link))
                open++;
        if (d->fetch_usec > 0)
                f = 0.9;
        else {
                double pending = open + (compartments_complete(d) ? 0 : 8.0 * MAX(d->n_regions, (size_t) 1));
                f = 0.85 * (double) d->requests / ((double) d->requests + pending + 1.0);
        }
        d->fraction = MAX(d->fraction, f);

        p = (DiscoveryProgress) {
                .phase = phase(d),
                .fraction = d->fraction,
                .compartments = (uint64_t) lh_table_length(d->compartment_ids) + d->have_root,
                .instances = instances_seen(d),
                .requests = d->requests,
        };
        d->on_progress(d, &p, d->userdata);
}

/* The state machine, run after every event. */
static void advance(Discovery *d) {
        DiscoveryPhase before;
        int r;

        if (d->finished || d->cancelled)
                return;
        before = phase(d);

        /* regions whose searches are all answered move on to the details pass */
        if (!d->aborted && compartments_complete(d))
                for (size_t i = 0; i < d->n_regions; i++) {
                        Region *reg = d->regions[i];

                        if (reg->n_chains > 0)
                                continue;
                        if (reg->state == REGION_SEARCHING) {
                                if (d->details == DISCOVERY_DETAILS_NEVER)
                                        reg->state = REGION_COMPLETE;
                                else if (d->details == DISCOVERY_DETAILS_ALWAYS)
                                        region_details_start(reg, NULL);
                                else
                                        region_check_known(reg);
                        } else if (reg->state == REGION_DETAILS)
                                region_details_done(reg);
                }

        if (!TAILQ_EMPTY(&d->pending) && d->n_active < d->max_in_flight && !d->aborted)
                schedule_dispatch(d);

        /* the tree, as soon as it is complete and the run row exists */
        if (!d->aborted && compartments_complete(d) && d->run_known && !d->comp_sync_submitted) {
                d->comp_sync_submitted = true;
                r = inventory_sync_compartments(d->db, d->run_id, d->compartments, on_compartments_synced, d);
                if (r < 0) {
                        set_error(d, r, _OCI_ERROR_KIND_INVALID, "Cannot store the compartments: %s", strerror(-r));
                        abort_all(d);
                } else {
                        discovery_ref(d);
                        d->db_pending++;
                        /* the statement has its copy */
                        d->compartments = json_object_unref(d->compartments);
                }
                d->comp_waiting = json_object_unref(d->comp_waiting);
        }
        release_compartments(d);

        store_regions(d);
        if (d->inventory_usec == 0 && inventory_complete(d)) {
                d->inventory_usec = MAX(now_usec(d) - d->started, (usec_t) 1);
                log_debug("Discovery: the inventory is complete after %" PRIu64 " ms%s.", d->inventory_usec / USEC_PER_MSEC,
                          d->n_active > 0 || !TAILQ_EMPTY(&d->pending) ? "; shapes and fault domains follow" : "");
        }

        if (fetching_over(d)) {
                if (d->fetch_usec == 0)
                        d->fetch_usec = MAX(now_usec(d) - d->started, (usec_t) 1);
                if (!d->aborted && d->comp_sync_ok && !d->regions_submitted) {
                        d->regions_submitted = true;
                        r = submit_regions(d);
                        if (r < 0)
                                set_error(d, r, _OCI_ERROR_KIND_INVALID, "Cannot store the regions: %s", strerror(-r));
                }
                if ((d->aborted || storing_over(d)) && d->db_pending == 0 && d->run_known && !d->finish_submitted) {
                        regions_result(d);
                        submit_finish(d);
                        return;
                }
        }
        maybe_progress(d, phase(d) != before);
}

int discovery_start(sd_event *event, OciClient *client, Db *db, const DiscoveryParams *params,
                    discovery_progress_t progress, discovery_done_t done, void *userdata, Discovery **ret) {
        Discovery *d;
        const char *identity;
        int r;

        assert(event);
        assert(client);
        assert(db);
        assert(params);
        assert(ret);

        if (isempty(params->tenancy_id))
                return -EINVAL;
        identity = params->identity_region ?: (params->regions ? params->regions[0] : NULL);
        if (isempty(identity))
                return -EINVAL;

        d = new0(Discovery, 1);
        if (!d)
                return -ENOMEM;
        d->n_ref = 1;
        d->event = sd_event_ref(event);
        d->client = client;
        d->db = db;
        d->max_in_flight = params->max_in_flight ?: CONFIG_DEFAULT_MAX_IN_FLIGHT;
        d->page_size = params->page_size ?: CONFIG_DEFAULT_PAGE_SIZE;
        d->store_batch = params->store_batch ?: DISCOVERY_DEFAULT_STORE_BATCH;
        d->details = params->details;
        d->batch.max = params->query_max ?: OCI_SEARCH_QUERY_MAX_DEFAULT;
        d->oci_error = _OCI_ERROR_KIND_INVALID;
        d->on_progress = progress;
        d->on_done = done;
        d->userdata = userdata;
        TAILQ_INIT(&d->pending);
        TAILQ_INIT(&d->active);
        d->started = now_usec(d);
        oci_client_get_stats(client, &d->stats_start);

        d->tenancy_id = strdup(params->tenancy_id);
        d->identity_region = strdup(identity);
        d->compartments = json_object_new_array();
        d->comp_waiting = json_object_new_array();
        d->compartment_ids = lh_kchar_table_new(1024, key_entry_free);
        d->other_compartments = lh_kchar_table_new(16, key_entry_free);
        if (!d->tenancy_id || !d->identity_region || !d->compartments || !d->comp_waiting || !d->compartment_ids ||
            !d->other_compartments) {
                r = -ENOMEM;
                goto fail;
        }

        /* the tree and the root first: they hold the first slots */
        r = chain_enqueue(d, CHAIN_COMPARTMENTS, NULL, NULL);
        if (r >= 0)
                r = chain_enqueue(d, CHAIN_TENANCY, NULL, NULL);
        if (r < 0)
                goto fail;
        if (params->regions && params->regions[0]) {
                STRV_FOREACH(i, params->regions)
                        if (!region_new(d, *i)) {
                                r = -ENOMEM;
                                goto fail;
                        }
                d->regions_known = true;
        } else {
                r = chain_enqueue(d, CHAIN_SUBSCRIPTIONS, NULL, NULL);
                if (r < 0)
                        goto fail;
        }
        /* the root's own instances are searched for with the first batch */
        r = batch_add(d, d->tenancy_id);
        if (r < 0)
                goto fail;

        r = inventory_run_begin(db, on_run_begun, d);
        if (r < 0)
                goto fail;
        discovery_ref(d);
        d->db_pending++;
        /* compartments never leave the table (deleted ones are marked): instances of these can
         * be stored before this run's tree */
        r = inventory_compartment_ids(db, on_db_compartments, d);
        if (r >= 0) {
                discovery_ref(d);
                d->db_pending++;
        }

        /* a request that cannot even start is reported from the loop, like everything else */
        dispatch(d);
        *ret = d;
        return 0;

fail:
        chains_drop(d, NULL);
        discovery_free(d);
        return r;
}

void discovery_cancel(Discovery *d) {
        if (!d || d->finished || d->cancelled)
                return;
        d->cancelled = true;
        chains_drop(d, NULL);
        /* an unknown run id is handled when it arrives (on_run_begun) */
        if (d->run_known && d->run_id > 0 && !d->finish_submitted)
                close_cancelled_run(d, d->run_id);
        discovery_unref(d);   /* the caller's reference */
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The run (discovery.h): start and cancel, the state machine that every event ends in
 * (discovery_advance()), errors, progress and the result. What it moves along lives in the
 * files discovery-internal.h lists. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery-internal.h"
#include "log.h"
#include "strv.h"

#define PROGRESS_INTERVAL_USEC (100 * USEC_PER_MSEC)

static const char * const discovery_phase_table[_DISCOVERY_PHASE_MAX] = {
        [DISCOVERY_LISTING] = "listing",
        [DISCOVERY_DETAILS] = "details",
        [DISCOVERY_STORING] = "storing",
};
DEFINE_STRING_TABLE_LOOKUP(discovery_phase, DiscoveryPhase);

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

uint64_t discovery_http_requests(Discovery *d) {
        OciClientStats st;

        oci_client_get_stats(d->client, &st);
        return st.attempts - d->stats_start.attempts;
}

static Region *region_free(Region *r) {
        if (!r)
                return NULL;
        free(r->name);
        instance_batches_done(&r->instances);
        if (r->listed)
                lh_table_free(r->listed);
        return mfree(r);
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

Discovery *discovery_ref(Discovery *d) {
        d->n_ref++;
        return d;
}

void discovery_unref(Discovery *d) {
        assert(d->n_ref > 0);
        if (--d->n_ref == 0)
                discovery_free(d);
}

void discovery_set_error(Discovery *d, int error, OciErrorKind kind, const char *fmt, ...) {
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

void discovery_set_oci_error(Discovery *d, const char *context, const OciError *e) {
        _cleanup_free_ char *s = oci_error_to_string(e);

        discovery_set_error(d, e->error, e->kind, "%s%s%s", strempty(context), context ? ": " : "", s ?: e->message);
}

void discovery_abort(Discovery *d) {
        if (d->aborted)
                return;
        d->aborted = true;
        chains_drop(d, NULL);
        for (size_t i = 0; i < d->n_regions; i++)
                if (d->regions[i]->state != REGION_COMPLETE)
                        d->regions[i]->state = REGION_FAILED;
}

void region_fail(Region *r, const char *what, const OciError *e, int error) {
        Discovery *d = r->discovery;

        if (r->state == REGION_FAILED)
                return;
        r->state = REGION_FAILED;
        if (e) {
                _cleanup_free_ char *ctx = strprintf("Region %s", r->name);
                discovery_set_oci_error(d, ctx, e);
        } else
                discovery_set_error(d, error, _OCI_ERROR_KIND_INVALID, "Region %s: %s", r->name, what);
        chains_drop(d, r);
}

Region *region_new(Discovery *d, const char *name) {
        Region *r;

        for (size_t i = 0; i < d->n_regions; i++)
                if (streq(d->regions[i]->name, name))
                        return d->regions[i];

        r = new0(Region, 1);
        if (!r)
                return NULL;
        r->discovery = d;
        r->name = strdup(name);
        if (instance_batches_init(&r->instances) < 0) {
                region_free(r);
                return NULL;
        }
        r->listed = lh_kchar_table_new(64, key_entry_free);
        if (!r->name || !r->listed) {
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
        if (search_region_catch_up(r) < 0)
                region_fail(r, "out of memory", NULL, -ENOMEM);
        return r;
}

static uint64_t instances_seen(Discovery *d) {
        uint64_t n = 0;

        for (size_t i = 0; i < d->n_regions; i++)
                n += (uint64_t) instance_batches_size(&d->regions[i]->instances);
        return n;
}

void discovery_finish(Discovery *d) {
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
                .http_requests = discovery_http_requests(d),
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

static bool fetching_over(Discovery *d) {
        if (d->n_active > 0 || !TAILQ_EMPTY(&d->pending))
                return false;
        if (d->aborted)
                return true;
        if (!d->regions_known || !tree_complete(d))
                return false;
        for (size_t i = 0; i < d->n_regions; i++)
                if (d->regions[i]->state != REGION_COMPLETE && d->regions[i]->state != REGION_FAILED)
                        return false;
        return true;
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
                double pending = open + (tree_complete(d) ? 0 : 8.0 * MAX(d->n_regions, (size_t) 1));
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

void discovery_advance(Discovery *d) {
        DiscoveryPhase before;
        int r;

        if (d->finished || d->cancelled)
                return;
        before = phase(d);

        /* regions whose searches are all answered move on to the details pass */
        if (!d->aborted && tree_complete(d))
                for (size_t i = 0; i < d->n_regions; i++) {
                        Region *reg = d->regions[i];

                        if (reg->n_chains > 0)
                                continue;
                        if (reg->state == REGION_SEARCHING) {
                                if (d->details == DISCOVERY_DETAILS_NEVER)
                                        reg->state = REGION_COMPLETE;
                                else if (d->details == DISCOVERY_DETAILS_ALWAYS)
                                        details_start(reg, NULL);
                                else
                                        details_check_known(reg);
                        } else if (reg->state == REGION_DETAILS)
                                details_done(reg);
                }

        if (!TAILQ_EMPTY(&d->pending) && d->n_active < d->max_in_flight && !d->aborted)
                discovery_schedule_dispatch(d);

        discovery_store_compartments(d);
        discovery_store_regions(d);
        if (d->inventory_usec == 0 && discovery_store_inventory_complete(d)) {
                d->inventory_usec = MAX(now_usec(d) - d->started, (usec_t) 1);
                log_debug("Discovery: the inventory is complete after %" PRIu64 " ms%s.", d->inventory_usec / USEC_PER_MSEC,
                          d->n_active > 0 || !TAILQ_EMPTY(&d->pending) ? "; shapes and fault domains follow" : "");
        }

        if (fetching_over(d)) {
                if (d->fetch_usec == 0)
                        d->fetch_usec = MAX(now_usec(d) - d->started, (usec_t) 1);
                if (!d->aborted && d->comp_sync_ok && !d->regions_submitted) {
                        d->regions_submitted = true;
                        r = discovery_store_region_list(d);
                        if (r < 0)
                                discovery_set_error(d, r, _OCI_ERROR_KIND_INVALID, "Cannot store the regions: %s",
                                                    strerror(-r));
                }
                if ((d->aborted || discovery_store_over(d)) && d->db_pending == 0 && d->run_known &&
                    !d->finish_submitted) {
                        discovery_store_finish(d);
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
        r = search_add(d, d->tenancy_id);
        if (r < 0)
                goto fail;

        r = discovery_store_begin(d);
        if (r < 0)
                goto fail;

        /* a request that cannot even start is reported from the loop, like everything else */
        discovery_dispatch(d);
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
                discovery_store_close_cancelled(d, d->run_id);
        discovery_unref(d);   /* the caller's reference */
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Instances come from Resource Search, per region (Search is regional): the compartments are
 * batched into queries (oci-search.h), each batch searched for in every region as soon as the
 * compartment page that closes it arrives, all of them paginated in parallel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "discovery-internal.h"
#include "strv.h"

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

int search_add(Discovery *d, const char *compartment_id) {
        char *q = NULL;
        int r = oci_search_batch_add(&d->batch, compartment_id, &q);

        return r < 0 ? r : batch_emit(d, q);
}

int search_flush(Discovery *d) {
        char *q = NULL;
        int r = oci_search_batch_flush(&d->batch, &q);

        return r < 0 ? r : batch_emit(d, q);
}

int search_region_catch_up(Region *r) {
        Discovery *d = r->discovery;
        int k;

        STRV_FOREACH(q, d->queries) {
                k = chain_enqueue(d, CHAIN_SEARCH, r, *q);
                if (k < 0)
                        return k;
        }
        return 0;
}

static void on_search(OciClient *cl, OciResourceSummary *items, size_t n, const char *next_page, const OciError *e,
                      void *userdata) {
        Chain *c = userdata;
        Discovery *d = discovery_ref(c->discovery);
        Region *reg = c->region;
        int r = 0;

        chain_answered(c, next_page, e);
        if (e) {
                region_fail(reg, NULL, e, 0);
                goto out;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                const OciResourceSummary *s = items + i;

                if (strcasecmp(s->resource_type, "Instance") != 0)
                        continue;
                r = discovery_store_instance(reg, &(InstanceFields) {
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
        discovery_advance(d);
        discovery_unref(d);
}

int search_chain_start(Chain *c) {
        Discovery *d = c->discovery;
        OciSearchParams p = { .query = c->arg, .limit = d->page_size, .all_pages = true };

        return oci_search_resources(d->client, c->region->name, &p, on_search, c, &c->call);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The identity calls, in the identity region: GetTenancy (the root), ListRegionSubscriptions (the
 * READY regions, unless the caller named them) and ListCompartments over the whole subtree, page
 * by page, into the tree snapshot. Each compartment goes to Resource Search's batches as it
 * arrives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "discovery-internal.h"
#include "log.h"

bool tree_complete(Discovery *d) {
        return d->have_root && d->compartments_listed;
}

const char *tree_intern(Discovery *d, const char *id) {
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

static void on_tenancy(OciClient *cl, OciTenancy *t, const OciError *e, void *userdata) {
        Chain *c = userdata;
        Discovery *d = discovery_ref(c->discovery);
        _cleanup_json_ json_object *o = NULL;

        chain_answered(c, NULL, e);
        if (e) {
                discovery_set_oci_error(d, NULL, e);
                discovery_abort(d);
                goto out;
        }
        o = snapshot_compartment(d->tenancy_id, NULL, t->name, t->description, "ACTIVE", NULL, &t->tags);
        if (!o || json_object_array_add(d->compartments, o) < 0) {
                discovery_set_error(d, -ENOMEM, _OCI_ERROR_KIND_INVALID, "Out of memory");
                discovery_abort(d);
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
        discovery_advance(d);
        discovery_unref(d);
}

static void on_subscriptions(OciClient *cl, OciRegionSubscription *items, size_t n, const OciError *e,
                             void *userdata) {
        Chain *c = userdata;
        Discovery *d = discovery_ref(c->discovery);

        chain_answered(c, NULL, e);
        if (e) {
                discovery_set_oci_error(d, NULL, e);
                discovery_abort(d);
                goto out;
        }
        for (size_t i = 0; i < n; i++)
                if (streq(items[i].status, "READY") && !region_new(d, items[i].region_name)) {
                        discovery_set_error(d, -ENOMEM, _OCI_ERROR_KIND_INVALID, "Out of memory");
                        discovery_abort(d);
                        goto out;
                }
        if (d->n_regions == 0) {
                discovery_set_error(d, -ENXIO, _OCI_ERROR_KIND_INVALID, "The tenancy has no READY subscribed region.");
                discovery_abort(d);
                goto out;
        }
        d->regions_known = true;
out:
        oci_region_subscriptions_free(items, n);
        discovery_advance(d);
        discovery_unref(d);
}

static int compartment_add(Discovery *d, const OciCompartment *oc) {
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ char *key = NULL;
        int r;

        if (streq(oc->id, d->tenancy_id) || lh_table_lookup_entry(d->compartment_ids, oc->id))
                return 0;   /* a page boundary moved under us: seen already */
        key = strdup(oc->id);
        o = snapshot_compartment(oc->id, oc->compartment_id ?: d->tenancy_id, oc->name, oc->description,
                                 oc->lifecycle_state_raw, oc->time_created, &oc->tags);
        if (!key || !o)
                return -ENOMEM;
        r = search_add(d, oc->id);
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
        int r = 0;

        chain_answered(c, next_page, e);
        if (e) {
                discovery_set_oci_error(d, NULL, e);
                discovery_abort(d);
                goto out;
        }
        for (size_t i = 0; i < n && r >= 0; i++)
                r = compartment_add(d, items + i);
        if (r >= 0 && !next_page) {
                r = search_flush(d);
                d->compartments_listed = true;
                compartments_fix_parents(d);
        }
        if (r < 0) {
                if (r == -EINVAL)
                        discovery_set_error(d, r, _OCI_ERROR_KIND_INVALID,
                                            "ListCompartments returned a compartment id that cannot be searched for.");
                else
                        discovery_set_error(d, r, _OCI_ERROR_KIND_INVALID, "Out of memory");
                discovery_abort(d);
        }
out:
        oci_compartments_free(items, n);
        discovery_advance(d);
        discovery_unref(d);
}

int tree_chain_start(Chain *c) {
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
        default:
                return -EINVAL;
        }
}

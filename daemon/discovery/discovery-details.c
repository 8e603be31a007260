/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The details pass: Search summaries carry no shape or fault domain except in additionalDetails.
 * With details=auto, ListInstances runs only for compartments holding instances whose shape is
 * unknown here and in the database (at most DISCOVERY_DETAILS_MAX_COMPARTMENTS per region and
 * run, the rest follow on later runs); details=always lists every compartment with instances
 * and counts where ListInstances and Search disagree; details=never skips the pass. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "discovery-internal.h"
#include "log.h"
#include "strv.h"

static void on_details(OciClient *cl, OciInstance *items, size_t n, const char *next_page, const OciError *e,
                       void *userdata) {
        Chain *c = userdata;
        Discovery *d = discovery_ref(c->discovery);
        Region *reg = c->region;
        int r = 0;

        d->details_requests++;
        chain_answered(c, next_page, e);
        if (e) {
                region_fail(reg, NULL, e, 0);
                goto out;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                const OciInstance *s = items + i;

                r = discovery_store_instance(reg, &(InstanceFields) {
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
        discovery_advance(d);
        discovery_unref(d);
}

/* ListInstances for each compartment (of the region's records) for which want() holds. */
static int details_enqueue(Region *reg, bool (*want)(const InstanceRecord *rec, void *userdata), void *userdata,
                           unsigned max) {
        Discovery *d = reg->discovery;
        struct lh_entry *e;
        unsigned n = 0;
        int r;

        lh_foreach(reg->instances.records, e) {
                InstanceRecord *rec = lh_entry_v(e);
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

static bool want_any(const InstanceRecord *rec, void *userdata) {
        return true;
}

static bool want_unknown(const InstanceRecord *rec, void *userdata) {
        struct lh_table *known = userdata;
        return !rec->shape_known && !(known && lh_table_lookup_entry(known, rec->id));
}

void details_start(Region *reg, struct lh_table *known_in_db) {
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
void details_done(Region *reg) {
        struct lh_entry *e;

        lh_foreach(reg->instances.records, e) {
                InstanceRecord *rec = lh_entry_v(e);
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
                details_start(cc->region, known);
                if (known)
                        lh_table_free(known);
                discovery_advance(d);
        }
        strv_free(ids);
        discovery_unref(d);
}

/* details=auto: which unknown shapes does the database know already? */
void details_check_known(Region *reg) {
        Discovery *d = reg->discovery;
        _cleanup_json_ json_object *ids = json_object_new_array();
        CheckCall *cc = NULL;
        struct lh_entry *e;
        int r = -ENOMEM;

        if (!ids)
                goto fail;
        lh_foreach(reg->instances.records, e) {
                InstanceRecord *rec = lh_entry_v(e);
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
        details_start(reg, NULL);
}

int details_chain_start(Chain *c) {
        Discovery *d = c->discovery;
        OciListInstancesParams p = { .compartment_id = c->arg, .limit = d->page_size, .all_pages = true };

        return oci_list_instances(d->client, c->region->name, &p, on_details, c, &c->call);
}

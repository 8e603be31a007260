/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/linkhash.h>

#include "manager.h"
#include "schedule-inventory.h"

static int find_instance(void *userdata, const char *key, const char **ret_id, char ***ret_candidates) {
        ManagerInventory *c = userdata;
        Instance *i;
        int r;

        r = manager_resolve_instance(c->manager, key, &i, ret_candidates);
        if (r < 0)
                return r;
        *ret_id = i->id;
        return 0;
}

static int find_compartment(void *userdata, const char *key, const char **ret_id) {
        ManagerInventory *c = userdata;
        Compartment *x = manager_find_compartment(c->manager, key);

        if (!x)
                return -ENXIO;
        *ret_id = x->id;
        return 0;
}

void schedule_candidate_identify(Instance *i, ScheduleCandidate *ret) {
        *ret = (ScheduleCandidate) {
                .id = i->id,
                .display_name = i->display_name,
                .compartment_id = i->compartment_id,
                .region = i->region,
                .lifecycle_state = i->lifecycle_state,
                .freeform_tags = i->freeform_tags,
                .defined_tags = i->defined_tags,
        };
}

void schedule_candidate_configure(Instance *i, uint64_t now, ScheduleCandidate *c) {
        InstanceConfig eff;

        instance_effective_config(i, now, &eff);
        c->managed = eff.managed;
        c->override_state = instance_config_is_set(&eff, CONFIG_OVERRIDE_STATE) ? eff.override_state : OVERRIDE_NONE;
        c->priority = eff.priority;
        c->stop_mode = eff.stop_mode;
        c->soft_stop_timeout = eff.soft_stop_timeout;
}

static void foreach_instance(void *userdata, int (*f)(const ScheduleCandidate *cand, void *fdata), void *fdata) {
        ManagerInventory *c = userdata;
        struct lh_entry *e;

        lh_foreach(c->manager->instances, e) {
                Instance *i = (Instance *) lh_entry_v(e);
                ScheduleCandidate cand;

                schedule_candidate_identify(i, &cand);
                schedule_candidate_configure(i, c->now ?: manager_now(), &cand);
                if (f(&cand, fdata) != 0)
                        return;
        }
}

static bool in_subtree(void *userdata, const char *compartment_id, const char *ancestor_id) {
        ManagerInventory *c = userdata;
        Compartment *x = manager_get_compartment(c->manager, compartment_id),
                    *a = manager_get_compartment(c->manager, ancestor_id);

        return x && a && compartment_is_in_subtree(x, a);
}

static const char *compartment_path(void *userdata, const char *compartment_id) {
        ManagerInventory *c = userdata;
        Compartment *x = manager_get_compartment(c->manager, compartment_id);

        return x ? x->path : NULL;
}

void manager_inventory_init(ManagerInventory *mi, Manager *m, uint64_t now) {
        *mi = (ManagerInventory) {
                .manager = m,
                .now = now,
                .inventory = {
                        .userdata = mi,
                        .find_instance = find_instance,
                        .find_compartment = find_compartment,
                        .foreach_instance = foreach_instance,
                        .in_subtree = in_subtree,
                        .compartment_path = compartment_path,
                },
        };
}

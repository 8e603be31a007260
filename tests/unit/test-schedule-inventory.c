/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The schedule model on the Manager's in-memory inventory (no bus, no database): names, paths,
 * subtrees, and each candidate's effective configuration at the firing. */
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "manager.h"
#include "schedule-inventory.h"
#include "strv.h"
#include "tests.h"


static Compartment *add_compartment(Manager *m, const char *id, const char *parent, const char *name) {
        Compartment *c;
        ASSERT_OK(compartment_new(m, id, &c));
        c->parent_id = parent ? strdup(parent) : NULL;
        free(c->name);
        c->name = strdup(name);
        return c;
}

static Instance *add_instance(Manager *m, const char *id, const char *name, const char *comp, const char *tags) {
        Instance *i;
        ASSERT_OK(instance_new(m, id, &i));
        free(i->display_name);
        i->display_name = strdup(name);
        ASSERT_OK(string_pool_set(m->strings, &i->compartment_id, comp));
        ASSERT_OK(string_pool_set(m->strings, &i->lifecycle_state, "RUNNING"));
        i->compartment = manager_get_compartment(m, comp);
        if (tags)
                ASSERT_OK(tags_pack_json(tags, &i->freeform_tags));
        return i;
}

static int check_candidate(const ScheduleCandidate *c, void *userdata) {
        int *seen = userdata;
        if (streq(c->id, "ocid1.instance.oc1..b")) {
                ASSERT_TRUE(!c->managed);
                ASSERT_EQ(c->priority, 7);
                (*seen)++;
        }
        if (streq(c->id, "ocid1.instance.oc1..c")) {
                /* An expired override is no override. */
                ASSERT_EQ(c->override_state, OVERRIDE_NONE);
                ASSERT_TRUE(c->managed);
                (*seen)++;
        }
        if (streq(c->id, "ocid1.instance.oc1..a")) {
                ASSERT_EQ(c->override_state, OVERRIDE_STOPPED);
                ASSERT_EQ(c->stop_mode, STOP_MODE_HARD);
                (*seen)++;
        }
        return 0;
}

int main(void) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(schedule_freep) Schedule *s = NULL;
        _cleanup_free_ ScheduleCandidate *c = NULL;
        _cleanup_free_ char *err = NULL;
        ManagerInventory mi;
        Compartment *prod;
        Instance *a, *b, *x;
        size_t n;
        int seen = 0;
        const uint64_t now = 1800000000ULL * 1000000;

        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(manager_new(event, &m));
        Compartment *root = add_compartment(m, "ocid1.tenancy.oc1..root", NULL, "root");
        prod = add_compartment(m, "ocid1.compartment.oc1..prod", "ocid1.tenancy.oc1..root", "prod");
        add_compartment(m, "ocid1.compartment.oc1..web", "ocid1.compartment.oc1..prod", "web");
        add_compartment(m, "ocid1.compartment.oc1..dev", "ocid1.tenancy.oc1..root", "dev");
        a = add_instance(m, "ocid1.instance.oc1..a", "db-1", "ocid1.compartment.oc1..prod", "{\"env\":\"prod\"}");
        b = add_instance(m, "ocid1.instance.oc1..b", "web-1", "ocid1.compartment.oc1..web", "{\"env\":\"prod\"}");
        x = add_instance(m, "ocid1.instance.oc1..c", "twin", "ocid1.compartment.oc1..dev", NULL);
        add_instance(m, "ocid1.instance.oc1..d", "twin", "ocid1.compartment.oc1..dev", NULL);
        manager_relink(m);

        /* Configuration: b unmanaged with priority 7 inherited from prod; a overridden; c's
         * override is over. */
        /* managed is opt-in: the tenancy's defaults turn it on for everything. */
        ASSERT_OK(instance_config_set(&root->defaults, "managed", &(ConfigValue) { .type = 'b', .b = true }, now, NULL));
        ASSERT_OK(instance_config_set(&prod->defaults, "priority", &(ConfigValue) { .type = 'i', .i = 7 }, now, NULL));
        ASSERT_OK(instance_config_set(&b->config, "managed", &(ConfigValue) { .type = 'b', .b = false }, now, NULL));
        ASSERT_OK(instance_config_set(&a->config, "stop_mode", &(ConfigValue) { .type = 's', .s = "hard" }, now, NULL));
        ASSERT_OK(instance_config_set(&a->config, "override_state", &(ConfigValue) { .type = 's', .s = "stopped" }, now,
                                      NULL));
        ASSERT_OK(instance_config_set(&a->config, "override_until",
                                      &(ConfigValue) { .type = 't', .t = now + USEC_PER_HOUR }, now, NULL));
        ASSERT_OK(instance_config_set(&x->config, "override_state", &(ConfigValue) { .type = 's', .s = "running" }, now,
                                      NULL));
        ASSERT_OK(instance_config_set(&x->config, "override_until",
                                      &(ConfigValue) { .type = 't', .t = now + USEC_PER_MINUTE }, now, NULL));

        manager_inventory_init(&mi, m, now + USEC_PER_MINUTE + 1);
        ASSERT_OK(schedule_new(&s));
        ASSERT_OK(schedule_set_targets(s, STRV_MAKE("compartment:root/prod", "db-1", "tag:env=prod"), &mi.inventory,
                                       &err));
        ASSERT_EQ(s->n_targets, 3);
        ASSERT_STREQ(s->targets[0].id, "ocid1.compartment.oc1..prod");
        ASSERT_STREQ(s->targets[1].id, "ocid1.instance.oc1..a");
        ASSERT_OK(schedule_resolve(s, &mi.inventory, &c, &n));
        ASSERT_EQ(n, 2);
        c = mfree(c);

        ASSERT_ERR(schedule_set_targets(s, STRV_MAKE("twin"), &mi.inventory, &err), ENOTUNIQ);
        ASSERT_ERR(schedule_set_targets(s, STRV_MAKE("compartment:root/nope"), &mi.inventory, &err), ENXIO);
        ASSERT_OK(schedule_set_targets(s, STRV_MAKE("compartment-only:root/dev", "compartment:ocid1.compartment.oc1..prod"),
                                       &mi.inventory, &err));
        ASSERT_OK(schedule_resolve(s, &mi.inventory, &c, &n));
        ASSERT_EQ(n, 4);
        ASSERT_STREQ(mi.inventory.compartment_path(mi.inventory.userdata, "ocid1.compartment.oc1..web"), "root/prod/web");

        mi.inventory.foreach_instance(mi.inventory.userdata, check_candidate, &seen);
        ASSERT_EQ(seen, 3);
        c = mfree(c);

        /* Defined tags as stored ({"namespace":{"key":value}}), packed as namespace.key; what is
         * not a namespace of keys is left out. */
        {
                _cleanup_free_ char *packed = NULL;
                ASSERT_OK(defined_tags_pack_json("{}", &packed));
                ASSERT_TRUE(!packed);
                ASSERT_ERR(defined_tags_pack_json("[1]", &packed), EBADMSG);
                ASSERT_OK(defined_tags_pack_json("{\"Ops\":{\"CostCenter\":\"42\",\"n\":7},\"odd\":\"x\",\"\":{\"k\":\"v\"}}",
                                                 &packed));
                ASSERT_EQ(tags_packed_size(packed), sizeof("Ops.CostCenter\0" "42\0" "Ops.n\0" "7\0"));
                ASSERT_TRUE(memcmp(packed, "Ops.CostCenter\0" "42\0" "Ops.n\0" "7\0", tags_packed_size(packed)) == 0);
                ASSERT_OK(defined_tags_pack_json("{\"Ops\":{\"CostCenter\":\"42\"}}", &b->defined_tags));
                ASSERT_OK(defined_tags_pack_json("{\"Finance\":{\"CostCenter\":\"42\"}}", &x->defined_tags));
        }
        ASSERT_OK(schedule_set_targets(s, STRV_MAKE("defined-tag:Ops.CostCenter=42"), &mi.inventory, &err));
        ASSERT_OK(schedule_resolve(s, &mi.inventory, &c, &n));
        ASSERT_EQ(n, 1);
        ASSERT_STREQ(c[0].id, "ocid1.instance.oc1..b");
        ASSERT_STREQ(c[0].defined_tags, b->defined_tags);
        printf("ok - schedule model on the Manager's inventory\n");
        return 0;
}

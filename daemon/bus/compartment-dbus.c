/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <stdlib.h>

#include "bus-error.h"
#include "bus-polkit.h"
#include "bus-config.h"
#include "compartment-dbus.h"
#include "log.h"
#include "manager.h"
#include "strv.h"

static int property_get_parent(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Compartment *c = ASSERT_PTR(userdata);
        return sd_bus_message_append(reply, "o", c->parent ? c->parent->bus_path : "/");
}

static int property_get_children(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Compartment *c = ASSERT_PTR(userdata);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_children; i++) {
                r = sd_bus_message_append(reply, "o", c->children[i]->bus_path);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_defaults(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Compartment *c = ASSERT_PTR(userdata);
        return bus_append_config(reply, &c->defaults, false);
}

static int property_get_effective_defaults(sd_bus *bus, const char *path, const char *interface,
                                           const char *property, sd_bus_message *reply, void *userdata,
                                           sd_bus_error *error) {
        Compartment *c = ASSERT_PTR(userdata);
        InstanceConfig eff;

        compartment_effective_defaults(c, manager_now(), &eff);
        return bus_append_config(reply, &eff, true);
}

static int method_set_defaults(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Compartment *c = ASSERT_PTR(userdata);
        return bus_method_set_settings(message, c->manager, true, c->id, &c->defaults, c->n_writes, error);
}

static int compartment_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                                   void **found, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_free_ char *id = NULL;
        Compartment *c;
        int r;

        r = sd_bus_path_decode(path, SS_BUS_PATH_COMPARTMENT, &id);
        if (r <= 0)
                return 0;
        c = manager_get_compartment(m, id);
        if (!c)
                return 0;
        *found = c;
        return 1;
}

static int compartment_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                       sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_strv_free_ char **l = NULL;
        size_t n = (size_t) lh_table_length(m->compartments), k = 0;
        struct lh_entry *e;

        l = new0(char *, n + 1);
        if (!l)
                return -ENOMEM;
        lh_foreach(m->compartments, e) {
                l[k] = compartment_bus_path(lh_entry_v(e));
                if (!l[k])
                        return -ENOMEM;
                k++;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

static const sd_bus_vtable compartment_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", NULL, offsetof(Compartment, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Compartment, name), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Description", "s", NULL, offsetof(Compartment, description),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Path", "s", NULL, offsetof(Compartment, path), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Parent", "o", property_get_parent, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Children", "ao", property_get_children, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("InstanceCount", "u", NULL, offsetof(Compartment, n_instances),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LifecycleState", "s", NULL, offsetof(Compartment, lifecycle_state),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Defaults", "a{sv}", property_get_defaults, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Explicit: computed up the tree, left out of GetAll and GetManagedObjects (see README). */
        SD_BUS_PROPERTY("EffectiveDefaults", "a{sv}", property_get_effective_defaults, 0,
                        SD_BUS_VTABLE_PROPERTY_EXPLICIT | SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_METHOD_WITH_ARGS("SetDefaults",
                                SD_BUS_ARGS("a{sv}", settings),
                                SD_BUS_NO_RESULT,
                                method_set_defaults,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

const BusObjectImplementation compartment_object = {
        SS_BUS_PATH_COMPARTMENT,
        SS_BUS_IFACE_COMPARTMENT,
        .fallback_vtables = (const BusObjectVtablePair[]) {
                { compartment_vtable, compartment_object_find },
                {}
        },
        .node_enumerator = compartment_node_enumerator,
        /* Enough for a tree in GetManagedObjects (see instance_object); the rest with Get/GetAll. */
        .managed_properties = (const char * const[]) { "Name", "Parent", "LifecycleState", "InstanceCount", NULL },
};

static const struct {
        uint32_t bit;
        const char *name;
} compartment_props[] = {
        { COMPARTMENT_PROP_NAME, "Name" },
        { COMPARTMENT_PROP_DESCRIPTION, "Description" },
        { COMPARTMENT_PROP_PATH, "Path" },
        { COMPARTMENT_PROP_PARENT, "Parent" },
        { COMPARTMENT_PROP_CHILDREN, "Children" },
        { COMPARTMENT_PROP_INSTANCE_COUNT, "InstanceCount" },
        { COMPARTMENT_PROP_LIFECYCLE_STATE, "LifecycleState" },
        { COMPARTMENT_PROP_DEFAULTS, "Defaults" },
        { COMPARTMENT_PROP_EFFECTIVE_DEFAULTS, "EffectiveDefaults" },
};

void compartment_emit_changes(Compartment *c, uint32_t props) {
        Manager *m = c->manager;
        _cleanup_free_ char *p = compartment_bus_path(c);
        const char *names[ELEMENTSOF(compartment_props) + 1];
        size_t n = 0;
        int r;

        if (!p || !m->bus)
                return;
        if (props & COMPARTMENT_PROP_ADDED) {
                r = sd_bus_emit_object_added(m->bus, p);
                if (r < 0)
                        log_debug_errno(r, "Failed to announce %s: %m", p);
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(compartment_props); i++)
                if (props & compartment_props[i].bit)
                        names[n++] = compartment_props[i].name;
        names[n] = NULL;
        if (n == 0)
                return;
        r = sd_bus_emit_properties_changed_strv(m->bus, p, SS_BUS_IFACE_COMPARTMENT, (char **) names);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for %s: %m", p);
}


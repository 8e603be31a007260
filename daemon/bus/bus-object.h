/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Bus objects described as a table (systemd's BusObjectImplementation): one call registers a
 * tree of vtables, fallback vtables with their finders, node enumerators and object managers,
 * and the same table prints the introspection XML for --bus-introspect. */

#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

typedef struct BusObjectVtablePair {
        const sd_bus_vtable *vtable;
        sd_bus_object_find_t object_find;
} BusObjectVtablePair;

typedef struct BusObjectImplementation BusObjectImplementation;
struct BusObjectImplementation {
        const char *path;
        const char *interface;
        const sd_bus_vtable **vtables;                  /* NULL-terminated, registered at path */
        const BusObjectVtablePair *fallback_vtables;    /* terminated by an empty pair, under path */
        sd_bus_node_enumerator_t node_enumerator;
        bool manager;                                   /* an ObjectManager at path */
        /* The properties GetManagedObjects carries for this interface (NULL-terminated; NULL:
         * all that GetAll returns). An ObjectManager answer holds every object at once and must
         * stay inside the bus limits at 50,000 instances; the rest is read with Get/GetAll. */
        const char * const *managed_properties;
        const BusObjectImplementation **children;       /* NULL-terminated */
};

/* Registers impl and its children; userdata goes to every vtable, finder and enumerator. */
int bus_add_implementation(sd_bus *bus, const BusObjectImplementation *impl, void *userdata);

/* The implementation (in impl's tree) that provides interface, or NULL. */
const BusObjectImplementation *bus_find_implementation_by_interface(const BusObjectImplementation *impl,
                                                                    const char *interface);

/* Writes the introspection XML of one interface (a <node> holding that <interface>), in the
 * format sd-bus itself uses. -ENOENT if no implementation in the tree provides interface. */
int bus_introspect_interface(FILE *f, const BusObjectImplementation *impl, const char *interface);

/* Lists the interfaces of impl's tree, one per line. */
void bus_list_interfaces(FILE *f, const BusObjectImplementation *impl);

/* Appends one {sa{sv}} entry: the interface and every property of vtable that GetAll returns
 * (not hidden, not explicit), read through the vtable's getters, or from userdata + offset for
 * entries without a getter, exactly as sd-bus does. */
int bus_append_interface_properties(sd_bus *bus, sd_bus_message *reply, const char *path, const char *interface,
                                    const sd_bus_vtable *vtable, void *userdata, sd_bus_error *error);
/* Same, limited to the properties named in only (NULL-terminated; NULL: no limit). */
int bus_append_interface_properties_only(sd_bus *bus, sd_bus_message *reply, const char *path,
                                         const char *interface, const sd_bus_vtable *vtable,
                                         const char * const *only, void *userdata, sd_bus_error *error);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A compartment of the tenancy's tree, as last stored by discovery, with the configuration
 * defaults its subtree inherits. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "instance-config.h"

typedef struct Manager Manager;
typedef struct Compartment Compartment;

/* Properties that changed since the last PropertiesChanged (emitted coalesced). */
typedef enum CompartmentProp {
        COMPARTMENT_PROP_NAME               = 1U << 0,
        COMPARTMENT_PROP_DESCRIPTION        = 1U << 1,
        COMPARTMENT_PROP_PATH               = 1U << 2,
        COMPARTMENT_PROP_PARENT             = 1U << 3,
        COMPARTMENT_PROP_CHILDREN           = 1U << 4,
        COMPARTMENT_PROP_INSTANCE_COUNT     = 1U << 5,
        COMPARTMENT_PROP_LIFECYCLE_STATE    = 1U << 6,
        COMPARTMENT_PROP_DEFAULTS           = 1U << 7,
        COMPARTMENT_PROP_EFFECTIVE_DEFAULTS = 1U << 8,
        COMPARTMENT_PROP_ADDED              = 1U << 31,  /* new: announce with InterfacesAdded */
} CompartmentProp;

struct Compartment {
        Manager *manager;
        char *id;
        char *parent_id;                /* NULL for the tenancy */
        char *name;
        char *description;
        char *lifecycle_state;
        char *path;                     /* tenancy/a/b */
        char *bus_path;                 /* /org/stopstart/StopStart1/compartment/<encoded id> */

        Compartment *parent;            /* NULL for the root, or when the parent is unknown */
        Compartment **children;         /* sorted by name */
        size_t n_children;
        uint32_t n_instances;           /* whole subtree */

        InstanceConfig defaults;
        uint64_t effective_hash;        /* of the resolved defaults, to see them change */
        unsigned n_writes;              /* database writes in flight */

        uint32_t dirty;                 /* CompartmentProp */
        LIST_ENTRY(Compartment) dirty_link;
        bool seen;                      /* reload bookkeeping */
};

/* Creates a compartment and adds it to the manager's map. */
int compartment_new(Manager *m, const char *id, Compartment **ret);
/* Removes it from the manager's map (and its children's parent pointers) and frees it. */
Compartment *compartment_free(Compartment *c);

Compartment *manager_get_compartment(Manager *m, const char *id);
/* By OCID or by path (tenancy/a/b). */
Compartment *manager_find_compartment(Manager *m, const char *id_or_path);

/* Re-links the tree after compartments or instances were merged from the database: each
 * compartment's parent, children (by name) and path, the root (the tenancy), each instance's
 * compartment and the subtree instance counts; marks what changed. */
void manager_relink(Manager *m);

/* The inheritance chain of the compartment's subtree: c itself, then its ancestors. Returns
 * the number of layers written (at most max); their sources are NULL (see
 * config_layers_name_sources()). */
size_t compartment_config_layers(Compartment *c, ConfigLayer *layers, size_t max);
#define COMPARTMENT_DEPTH_MAX 64

/* Fills the sources of layers[first…n-1], which are compartment layers, with
 * "compartment:<OCID>" strings allocated into ret_buf (free it). */
int config_layers_name_sources(ConfigLayer *layers, size_t first, size_t n, Compartment *c, char **ret_buf);

/* Resolved defaults (a view into the chain; see instance_config_resolve()). */
void compartment_effective_defaults(Compartment *c, uint64_t now, InstanceConfig *ret);

/* Marks properties changed; queues the coalesced emission. */
void compartment_mark_dirty(Compartment *c, uint32_t props);

/* True if c is a or lies below a. */
bool compartment_is_in_subtree(const Compartment *c, const Compartment *a);

/* Object path (allocated). */
char *compartment_bus_path(const Compartment *c);
/* Before freeing a compartment that went away: its removal is announced (unless its addition
 * never was). */
void compartment_mark_removed(Compartment *c);

/* Describe() element of one compartment; without "effective_defaults" unless effective. */
json_object *compartment_to_json(Compartment *c, uint64_t now, bool effective);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The objects of the inventory snapshot as inventory-store.h takes them, built from what OCI
 * answered: compartments (a json-c object each, the tree is an array of them) and instances
 * (JSON text: they are batched as text, see instance-batches.h). */

#include <stdbool.h>

#include "json-util.h"
#include "oci-model.h"

/* An instance as Search or ListInstances describe it (they name the fields differently). */
typedef struct InstanceFields {
        const char *id, *compartment_id, *region, *availability_domain, *fault_domain, *shape, *display_name,
                *lifecycle_state, *time_created;
        const OciTags *tags;
} InstanceFields;

/* Sets (or, with value NULL, nulls) a string member. */
int json_add_string(json_object *o, const char *key, const char *value);

/* The instance as one line of JSON text. Missing text fields that the store requires become ""
 * rather than dropping the row (which would then count as removed). NULL: out of memory. */
char *snapshot_instance_json(const InstanceFields *f);

/* A compartment (parent_id NULL: the root; description NULL: ""); NULL: out of memory. */
json_object *snapshot_compartment(const char *id, const char *parent_id, const char *name, const char *description,
                                  const char *lifecycle_state, const char *time_created, const OciTags *tags);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-object.h"
#include "manager.h"

/* The root object; its children are the compartment, instance and job objects. */
extern const BusObjectImplementation manager_object;

int manager_register_objects(Manager *m, sd_bus *bus);
void manager_emit_changes(Manager *m, uint32_t props);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The change-signal coalescer: the domain marks changes (dirty flags, added included) and this
 * turns them into one PropertiesChanged or InterfacesAdded per changed object on an idle defer
 * source, as homed does (held back while a reload merges its results). Events the domain queues
 * (objects removed, JobNew, JobRemoved, schedule changes) are signals of their own, sent as they
 * happen. */

#include <systemd/sd-bus.h>

#include "manager.h"

/* Registers every object on bus (not yet requesting the name) and starts announcing changes. */
int manager_attach_bus(Manager *m, sd_bus *bus);

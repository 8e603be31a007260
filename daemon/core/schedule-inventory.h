/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager's in-memory inventory as the schedule model sees it (schedule.h): target parsing
 * resolves names and paths against it, and an occurrence's target set is resolved from it at
 * each firing, with each instance's effective configuration at that moment (its freeform and
 * defined tags as the last refresh stored them). */

#include <stdint.h>

#include "schedule.h"

typedef struct Manager Manager;
typedef struct Instance Instance;

/* An instance as the model sees it: what targets select by (OCID, compartment, region, tags) ... */
void schedule_candidate_identify(Instance *i, ScheduleCandidate *ret);
/* ... and what decides whether a schedule acts on it: its effective configuration at now. */
void schedule_candidate_configure(Instance *i, uint64_t now, ScheduleCandidate *c);

typedef struct ManagerInventory {
        ScheduleInventory inventory;    /* pass &mi.inventory to the model */
        Manager *manager;
        uint64_t now;                   /* µs since the epoch: which overrides are live; 0 = the
                                         * time of each call (a long-lived inventory) */
} ManagerInventory;

/* Sets mi up to read m. Valid as long as mi lives and m's maps are not changed meanwhile (one
 * call into the model). */
void manager_inventory_init(ManagerInventory *mi, Manager *m, uint64_t now);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Instance.Schedules and Instance.NextAction follow from every schedule's targets and timer and
 * from the inventory, so one change (a schedule created, updated, enabled, disabled or deleted, a
 * timer's next elapse, an instance moved or retagged, the compartment tree) may change them for
 * any number of instances. Changes are coalesced into one pass over the instances, run on an idle
 * source in slices so that 50,000 instances never stall the event loop; the pass compares each
 * instance's fingerprints and marks only those that really changed (INSTANCE_PROP_SCHEDULES,
 * INSTANCE_PROP_NEXT_ACTION), which the bus layer announces. */

#include <stdint.h>

typedef struct Manager Manager;
typedef struct Instance Instance;
typedef struct ScheduleEntry ScheduleEntry;

/* Something the instances' view depends on changed: (re)start the pass. Safe to call often. */
void manager_schedules_changed(Manager *m);

/* instance_free() calls this: the pass must not resume from a freed instance. */
void instance_schedules_forget(Instance *i);

/* The schedules whose targets include i now (enabled or not), in id order, and the one whose
 * next firing comes first among the enabled ones (NULL: none). ret is allocated. */
int instance_schedules(Instance *i, ScheduleEntry ***ret, size_t *ret_n, ScheduleEntry **ret_next);

/* Instances handled per slice of the pass. */
#define INSTANCE_SCHEDULES_SLICE 2048U

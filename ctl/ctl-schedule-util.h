/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The parts of stopstartctl's schedule and calendar verbs that need no bus: the stable TARGET
 * syntax, schedule actions, exception-calendar entries, ISO 8601 times for --json. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "string-table.h"
#include "time-util.h"

typedef enum ScheduleActionKind {
        SCHEDULE_ACTION_START,
        SCHEDULE_ACTION_STOP,
        SCHEDULE_ACTION_SOFTSTOP,
        SCHEDULE_ACTION_REBOOT,
        SCHEDULE_ACTION_SOFTREBOOT,
        _SCHEDULE_ACTION_MAX,
        _SCHEDULE_ACTION_INVALID = -EINVAL,
} ScheduleActionKind;
DECLARE_STRING_TABLE_LOOKUP(schedule_action_kind, ScheduleActionKind);

/* TARGET as the issue defines it: an instance (OCID or unique display name),
 * "compartment:OCID-or-path", "compartment-only:OCID-or-path", "tag:KEY=VALUE",
 * "defined-tag:NAMESPACE.KEY=VALUE". Returns NULL when t is well-formed, else why not (a static
 * string). Whether the instance, compartment or tag exists is the daemon's answer. */
const char *schedule_target_problem(const char *t);

/* An exception-calendar entry: "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD" (real dates, first not
 * after last). Returns NULL when fine, else why not (a static string). */
const char *calendar_entry_problem(const char *e);

/* "2026-12-05T19:00:00+01:00" in the local time zone ($TZ); fractions of a second only when there
 * are any ("…:00.250000+01:00"). buf must hold ISO8601_MAX. Returns NULL for 0 (none) or a time
 * that cannot be represented. */
#define ISO8601_MAX 48
char *format_iso8601(char *buf, size_t l, usec_t t);
/* The same as a JSON string, or JSON null (NULL) for 0. */
json_object *json_iso8601(usec_t t);

/* "yes"/"no" and friends, as systemd's parse_boolean(); -EINVAL otherwise. */
int parse_yes_no(const char *v);

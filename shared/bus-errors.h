/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-names.h"

/* Every error the API names, in one place. Both binaries register the map, so a name received
 * becomes an errno (stopstartctl's exit codes come from it). sd-bus does not use the map the
 * other way round: in the daemon, bus_error_errno() (daemon/bus/bus-error.h) picks the name. */
#define SS_ERROR_PREFIX SS_BUS_NAME ".Error."
#define SS_ERROR_NO_SUCH_INSTANCE SS_ERROR_PREFIX "NoSuchInstance"
#define SS_ERROR_NO_SUCH_COMPARTMENT SS_ERROR_PREFIX "NoSuchCompartment"
#define SS_ERROR_NO_SUCH_JOB SS_ERROR_PREFIX "NoSuchJob"
#define SS_ERROR_AMBIGUOUS_NAME SS_ERROR_PREFIX "AmbiguousName"
#define SS_ERROR_INVALID_CONFIG SS_ERROR_PREFIX "InvalidConfig"
#define SS_ERROR_BUSY SS_ERROR_PREFIX "Busy"
#define SS_ERROR_DATABASE_UNAVAILABLE SS_ERROR_PREFIX "DatabaseUnavailable"
#define SS_ERROR_NOT_LEADER SS_ERROR_PREFIX "NotLeader"
#define SS_ERROR_INVALID_CALENDAR SS_ERROR_PREFIX "InvalidCalendar"
#define SS_ERROR_NO_SUCH_SCHEDULE SS_ERROR_PREFIX "NoSuchSchedule"
#define SS_ERROR_INVALID_TARGET SS_ERROR_PREFIX "InvalidTarget"
#define SS_ERROR_TOO_MANY_TARGETS SS_ERROR_PREFIX "TooManyTargets"
#define SS_ERROR_NO_SUCH_CALENDAR SS_ERROR_PREFIX "NoSuchCalendar"
#define SS_ERROR_TOO_LARGE SS_ERROR_PREFIX "TooLarge"

extern const sd_bus_error_map ss_bus_error_map[];

/* Idempotent. */
int ss_bus_errors_register(void);

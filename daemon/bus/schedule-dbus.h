/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.stopstart.StopStart1.Schedule objects, the Manager's schedule and exception-calendar
 * methods, and the Instance's Schedules/NextAction properties (dbus/README.md "Schedules"). Only
 * unpacking, validation, polkit, calling the scheduler and packing; errors become D-Bus names
 * in schedule_bus_set_error(). */

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus-object.h"

typedef struct ScheduleEntry ScheduleEntry;
typedef struct SchedulerError SchedulerError;

extern const BusObjectImplementation schedule_object;

/* PropertiesChanged of the schedule at path (props: ScheduleProp). */
void schedule_bus_emit_changed(sd_bus *bus, const char *path, uint32_t props);

/* Appends the schedules (path → Schedule interface properties) to a GetManagedObjects reply. */
int schedule_bus_append_managed_objects(sd_bus *bus, sd_bus_message *reply, void *manager, sd_bus_error *error);

/* The scheduler's error as the D-Bus error of the API. */
int schedule_bus_set_error(sd_bus_error *error, const SchedulerError *e);

/* Explain()'s "schedules" member for an instance: a JSON array (new reference) or NULL. */
struct json_object;
struct json_object *schedule_explain_instance(void *manager, void *instance);

int method_create_schedule(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_create_window(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_get_schedule(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_list_schedules(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_list_occurrences(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_list_calendars(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_add_calendar_dates(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_remove_calendar_dates(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_remove_calendar(sd_bus_message *message, void *userdata, sd_bus_error *error);

int property_get_instance_schedules(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error);
int property_get_instance_next_action(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error);

/* The Manager's schedule methods, for its vtable (one interface per path in sd-bus). */
#define MANAGER_SCHEDULE_METHODS                                                                        \
        SD_BUS_METHOD_WITH_ARGS("CreateSchedule",                                                       \
                                SD_BUS_ARGS("s", name, "s", action, "as", calendars, "s", time_zone,    \
                                            "as", targets, "a{sv}", options),                           \
                                SD_BUS_RESULT("o", schedule),                                           \
                                method_create_schedule, SD_BUS_VTABLE_UNPRIVILEGED),                    \
        SD_BUS_METHOD_WITH_ARGS("CreateWindow",                                                         \
                                SD_BUS_ARGS("s", name, "as", up_calendars, "as", down_calendars,        \
                                            "s", time_zone, "as", targets, "a{sv}", options),           \
                                SD_BUS_RESULT("o", up, "o", down),                                      \
                                method_create_window, SD_BUS_VTABLE_UNPRIVILEGED),                      \
        SD_BUS_METHOD_WITH_ARGS("GetSchedule",                                                          \
                                SD_BUS_ARGS("s", name_or_id),                                           \
                                SD_BUS_RESULT("o", schedule),                                           \
                                method_get_schedule, SD_BUS_VTABLE_UNPRIVILEGED),                       \
        SD_BUS_METHOD_WITH_ARGS("ListSchedules",                                                        \
                                SD_BUS_NO_ARGS,                                                         \
                                SD_BUS_RESULT("a(ossbtt)", schedules),                                  \
                                method_list_schedules, SD_BUS_VTABLE_UNPRIVILEGED),                     \
        SD_BUS_METHOD_WITH_ARGS("ListOccurrences",                                                      \
                                SD_BUS_ARGS("a{sv}", filters),                                          \
                                SD_BUS_RESULT("a(tstssa(ssss))", occurrences),                          \
                                method_list_occurrences, SD_BUS_VTABLE_UNPRIVILEGED),                   \
        SD_BUS_METHOD_WITH_ARGS("ListCalendars",                                                        \
                                SD_BUS_NO_ARGS,                                                         \
                                SD_BUS_RESULT("a(sas)", calendars),                                     \
                                method_list_calendars, SD_BUS_VTABLE_UNPRIVILEGED),                     \
        SD_BUS_METHOD_WITH_ARGS("AddCalendarDates",                                                     \
                                SD_BUS_ARGS("s", name, "as", entries),                                  \
                                SD_BUS_NO_RESULT,                                                       \
                                method_add_calendar_dates, SD_BUS_VTABLE_UNPRIVILEGED),                 \
        SD_BUS_METHOD_WITH_ARGS("RemoveCalendarDates",                                                  \
                                SD_BUS_ARGS("s", name, "as", entries),                                  \
                                SD_BUS_NO_RESULT,                                                       \
                                method_remove_calendar_dates, SD_BUS_VTABLE_UNPRIVILEGED),              \
        SD_BUS_METHOD_WITH_ARGS("RemoveCalendar",                                                       \
                                SD_BUS_ARGS("s", name),                                                 \
                                SD_BUS_NO_RESULT,                                                       \
                                method_remove_calendar, SD_BUS_VTABLE_UNPRIVILEGED)

/* The Instance's schedule properties: in GetAll (not in GetManagedObjects: see the instance's
 * managed_properties), announced with their values when a pass of instance-schedules.h finds
 * that they changed. */
#define INSTANCE_SCHEDULE_PROPERTIES                                                                    \
        SD_BUS_PROPERTY("Schedules", "ao", property_get_instance_schedules, 0,                          \
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),                                           \
        SD_BUS_PROPERTY("NextAction", "(sto)", property_get_instance_next_action, 0,                    \
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

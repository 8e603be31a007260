/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Names shared by stopstartd and stopstartctl (see dbus/README.md). */
#define SS_BUS_NAME "org.stopstart.StopStart1"
#define SS_BUS_PATH "/org/stopstart/StopStart1"
#define SS_BUS_PATH_COMPARTMENT SS_BUS_PATH "/compartment"
#define SS_BUS_PATH_INSTANCE SS_BUS_PATH "/instance"
#define SS_BUS_PATH_JOB SS_BUS_PATH "/job"
#define SS_BUS_PATH_SCHEDULE SS_BUS_PATH "/schedule"

#define SS_BUS_IFACE_MANAGER SS_BUS_NAME ".Manager"
#define SS_BUS_IFACE_COMPARTMENT SS_BUS_NAME ".Compartment"
#define SS_BUS_IFACE_INSTANCE SS_BUS_NAME ".Instance"
#define SS_BUS_IFACE_JOB SS_BUS_NAME ".Job"
#define SS_BUS_IFACE_SCHEDULE SS_BUS_NAME ".Schedule"

#define SS_POLKIT_VIEW SS_BUS_NAME ".view"
#define SS_POLKIT_CONFIGURE SS_BUS_NAME ".configure"
#define SS_POLKIT_OPERATE SS_BUS_NAME ".operate"
#define SS_POLKIT_MANAGE_SCHEDULES SS_BUS_NAME ".manage-schedules"

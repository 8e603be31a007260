/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The configuration of instances and the defaults of compartments on the bus: a{sv} out and in,
 * and the SetConfig()/SetDefaults() handler that instance-dbus.c and compartment-dbus.c share. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "instance-config.h"

typedef struct Manager Manager;

/* Appends a{sv}: the keys set on c, or every key (effective view) with all_keys. */
int bus_append_config(sd_bus_message *reply, const InstanceConfig *c, bool all_keys);

/* Reads an a{sv} of settings from m and applies each to c (see instance_config_set()), then
 * checks the cross-key rules. Refusals set error to InvalidConfig with a human message. */
int bus_read_config_changes(sd_bus_message *m, InstanceConfig *c, uint64_t now, sd_bus_error *error);

/* SetConfig() and SetDefaults(): reads the changes over current, answers a no-op at once (no
 * polkit, no audit), refuses while another save of the object runs or the database is away,
 * asks polkit, saves, and replies once the database has it. */
int bus_method_set_settings(sd_bus_message *message, Manager *m, bool compartment, const char *id,
                            const InstanceConfig *current, unsigned n_writes, sd_bus_error *error);

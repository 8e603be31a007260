/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers shared by the *-dbus.c files. */

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

/* Longest string argument we look at (OCIDs, names, patterns); longer ones are refused. */
#define BUS_STRING_ARG_MAX 1024U

/* NotLeader, naming the leading daemon: for actions that only the leader runs. */
int bus_set_not_leader(sd_bus_error *error, Manager *m);

/* SetConfig() and SetDefaults(): reads the changes over current, answers a no-op at once (no
 * polkit, no audit), refuses while another save of the object runs or the database is away,
 * asks polkit, saves, and replies once the database has it. */
int bus_method_set_settings(sd_bus_message *message, Manager *m, bool compartment, const char *id,
                            const InstanceConfig *current, unsigned n_writes, sd_bus_error *error);

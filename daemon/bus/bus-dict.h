/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

/* Longest string argument we look at (OCIDs, names, patterns); longer ones are refused. */
#define BUS_STRING_ARG_MAX 1024U

/* One key of an a{sv} argument a method accepts. */
typedef struct BusDictKey {
        const char *key;
        char type;              /* 's' (at most BUS_STRING_ARG_MAX bytes), 'b', 't' or 'u' */
        void *value;            /* const char ** (valid while the message is), int *, uint64_t *, uint32_t * */
        bool *seen;             /* optional: set when the key was given */
} BusDictKey;

/* Reads an a{sv} whose keys are described by keys[0..n_keys): an unknown key (the message lists
 * the known ones), a key given twice or a value of the wrong type is an InvalidArgs error
 * naming what ("filter", …). Values land where keys[].value points. */
int bus_read_dict(sd_bus_message *m, const BusDictKey *keys, size_t n_keys, const char *what,
                  sd_bus_error *error);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Options that only `stopstartctl db` verbs take (ctl-db.c), merged into stopstartctl's option
 * table like the schedule options. */

#include <getopt.h>

/* Codes of the options below start here, clear of stopstartctl's own and the schedule ones. */
#define DB_OPTION_FIRST 0x500
#define DB_SHORT_OPTIONS "m:"

extern const struct option db_options[];   /* terminated by an all-zero entry */

/* Handles one option of db_options: 1 when it was one of ours, 0 when not. */
int db_parse_option(int c, const char *arg);

void db_options_help(void);

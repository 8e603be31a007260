/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* stopstartctl schedule … and calendar … (issue 10's stable contract; README "Schedules"). Their
 * options live here and are merged into stopstartctl's option table. */

#include <getopt.h>

/* Codes of the options below start here, clear of stopstartctl's own. */
#define SCHEDULE_OPTION_FIRST 0x400
#define SCHEDULE_SHORT_OPTIONS "n:"

extern const struct option schedule_options[];   /* terminated by an all-zero entry */

/* Handles one option of schedule_options (c, optarg as getopt_long gave them): 1 when it was
 * one of ours, 0 when not, -EINVAL (logged) for a bad value. */
int schedule_parse_option(int c, const char *arg);

/* Before connecting: the sub-verb exists, its argument count fits and every schedule option
 * given applies to it (and none is given to another verb). verb_argv[0] is the verb. Logs and
 * returns -EINVAL. */
int schedule_check_command(int verb_argc, char *verb_argv[]);

void schedule_help(void);
void schedule_options_help(void);

int verb_schedule(int argc, char *argv[], void *userdata);
int verb_calendar(int argc, char *argv[], void *userdata);

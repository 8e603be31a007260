/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The command line of stopstartctl, shared by its verb files. */

#include <stdbool.h>
#include <stdint.h>

#include "ctl-output.h"
#include "time-util.h"

/* Exit statuses (README "Database migrations"). Verbs return one of these (>= 0) or a negative
 * errno, which exit_status_from_errno() maps. */
enum {
        EXIT_NOT_OK = 1,        /* a "not OK" answer: pending, dirty, problems, differences */
        EXIT_USAGE = 2,         /* bad usage, configuration or argument */
        EXIT_UNREACHABLE = 3,   /* the database server cannot be reached */
        EXIT_REFUSED = 4,       /* refused by the database's state or a safety guard */
        EXIT_FAILED = 5,        /* something ran and failed (migration, pg_dump, ...) */
};
int exit_status_from_errno(int r);

extern OutputFlags arg_output;
extern const char *arg_database;
extern const char *arg_config;
extern const char *arg_migrations_dir;
extern usec_t arg_lock_timeout;          /* USEC_INFINITY: not given */
extern usec_t arg_timeout;               /* USEC_INFINITY: not given */
extern bool arg_log;
extern bool arg_yes;
extern bool arg_allow_reset;
extern int arg_fix;                      /* MigrateFix, or -1 */
extern unsigned arg_fix_version;

/* The "db" verb and its sub-verbs (ctl-db.c). */
int verb_db(int argc, char *argv[], void *userdata);
void db_help(void);

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
        EXIT_NOT_RUNNING = 3,   /* bus verbs: status (daemon not "running", instance not RUNNING), is-running */
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

/* Options of the verbs that talk to stopstartd (ctl-bus.c and the verb files). */
extern bool arg_ask_password;
extern const char *arg_host;
extern char **arg_properties;            /* show -p, in order */
extern bool arg_value;
extern const char *arg_compartment;      /* list-instances, history */
extern bool arg_recursive;
extern const char *arg_state;
extern const char *arg_stop_mode;        /* "" (the instance's stop_mode), "soft" or "hard" */
extern bool arg_no_block;
extern const char *arg_instance;         /* history */
extern usec_t arg_since;                 /* history; USEC_INFINITY: not given */
extern bool arg_quiet;                   /* is-running */

/* The verbs (ctl-compartment.c, ctl-instance.c, ctl-job.c). */
int verb_tree(int argc, char *argv[], void *userdata);
int verb_list_compartments(int argc, char *argv[], void *userdata);
int verb_set_defaults(int argc, char *argv[], void *userdata);
int verb_list_instances(int argc, char *argv[], void *userdata);
int verb_show(int argc, char *argv[], void *userdata);
int verb_object_status(int argc, char *argv[], void *userdata);
int verb_is_running(int argc, char *argv[], void *userdata);
int verb_reload(int argc, char *argv[], void *userdata);
int verb_action(int argc, char *argv[], void *userdata);       /* start, stop, reboot */
int verb_set_config(int argc, char *argv[], void *userdata);
int verb_explain(int argc, char *argv[], void *userdata);
int verb_refresh(int argc, char *argv[], void *userdata);
int verb_audit_history(int argc, char *argv[], void *userdata);
int verb_list_jobs(int argc, char *argv[], void *userdata);
int verb_cancel(int argc, char *argv[], void *userdata);

/* The "db" verb and its sub-verbs (ctl-db.c). */
int verb_db(int argc, char *argv[], void *userdata);
void db_help(void);

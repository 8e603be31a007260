/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every stopstartctl verb that talks to stopstartd shares: the connection, call helpers
 * around a BusLocator (systemd's bus-locator.c in small), uniform "Could not …: message" errors,
 * object lookups, generic property reading (show), settings parsing and waiting for jobs. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "ctl-output.h"
#include "macro.h"

typedef struct BusLocator {
        const char *destination;
        const char *path;
        const char *interface;
} BusLocator;

extern const BusLocator bus_manager;

/* Exit statuses of the bus verbs: 0 ok, 1 failure, 4 no such object (ENXIO). */
#define EXIT_NO_SUCH_OBJECT 4
int bus_exit_status(int r);

/* The system bus (or -H HOST over ssh), with the API's error map registered and interactive
 * authorization allowed unless --no-ask-password. Logs on failure. */
int ctl_bus_connect(sd_bus **ret);

/* systemd's polkit_agent_open(): on a terminal (stdin), for a caller other than root, unless
 * --no-ask-password or -H, starts pkttyagent --notify-fd --fallback --process=OUR_PID and
 * waits until it has registered, so that polkit can ask for the admin's password. Best effort. */
void polkit_agent_open_if_enabled(void);
void polkit_agent_close(void);

/* A method call; the interactive-authorization flag follows --no-ask-password. */
int bus_new_method_call(sd_bus *bus, const char *path, const char *interface, const char *member,
                        sd_bus_message **ret);
int bus_call(sd_bus *bus, sd_bus_message *m, sd_bus_error *error, sd_bus_message **reply);
/* Both at once, with sd_bus_message_append() arguments (types may be NULL). */
int bus_call_method(sd_bus *bus, const BusLocator *l, const char *member, sd_bus_error *error,
                    sd_bus_message **reply, const char *types, ...);
int bus_call_object(sd_bus *bus, const char *path, const char *interface, const char *member, sd_bus_error *error,
                    sd_bus_message **reply, const char *types, ...);

/* ListInstances page by page (the daemon refuses whole answers over 16 MiB): append_filters adds
 * the caller's a{sv} entries (NULL: none). On success *ret_pages holds every page's reply
 * (NULL-terminated), each rewound to its start, ready to read "a(ssssssbo)". */
#define BUS_PAGE_SIZE 10000U
int bus_list_instances_pages(sd_bus *bus, int (*append_filters)(sd_bus_message *m, void *userdata), void *userdata,
                             sd_bus_error *error, sd_bus_message ***ret_pages);
sd_bus_message **bus_pages_free(sd_bus_message **pages);
DEFINE_TRIVIAL_CLEANUP_FUNC(sd_bus_message**, bus_pages_free);
/* Describe()'s document, assembled from DescribeWith({"instances": false}) and DescribeInstances()
 * pages, whatever the size. */
int bus_describe(sd_bus *bus, sd_bus_error *error, json_object **ret);

/* A name as typed, for a message: escaped, at most 120 columns, cut on a character boundary.
 * Returns buf. */
#define NAME_TEXT_MAX 500
const char *name_text(const char *s, char buf[static NAME_TEXT_MAX]);

/* The error's message (or strerror(r)). */
const char *bus_error_message(const sd_bus_error *error, int r);
/* Logs "Could not <what>: <message>" and returns r (negative errno from the error name). */
int log_bus_error(const sd_bus_error *error, int r, const char *what_fmt, ...) _printf_(3, 4);

/* Object lookups by the daemon's rules (OCID, unique display name, compartment path). They log
 * their failure ("Could not find instance X: …") and return ENXIO for unknown objects. */
int bus_find_instance(sd_bus *bus, const char *name, char **ret_path);
int bus_find_compartment(sd_bus *bus, const char *name, char **ret_path);
/* Anything show accepts: an instance, a compartment, a job (number or path) or an object path.
 * A name that matches more than one kind (an instance named "1" and job 1, an instance named like
 * a compartment path) is refused with -ENOTUNIQ, naming each candidate. ret_interface gets the
 * object's stopstart interface (a static string). */
int bus_find_object(sd_bus *bus, const char *name, char **ret_path, const char **ret_interface);
/* A filter's instance (history --instance=) as an OCID: display names are resolved here, so that
 * an ambiguous one is refused with its candidates; names no instance has go on as given. */
int bus_resolve_instance_filter(sd_bus *bus, const char *name, char **ret_id);
/* "/…/job/17" for "17" or a job path; -EINVAL otherwise. */
int bus_job_path(const char *s, char **ret_path, uint32_t *ret_id);

/* Reads the next complete value of m (any type: basic, array, dict, struct, variant) as JSON:
 * integers and doubles as numbers, dicts as objects (keys as strings), structs as arrays. */
int bus_message_read_json(sd_bus_message *m, json_object **ret);
/* How show prints a value: strings as they are, booleans yes/no, arrays space-separated,
 * objects as key=value pairs. */
char *bus_json_to_text(json_object *j);
/* The same for property name, worded as systemctl show does: timestamps (LastRefresh, …At,
 * override_until) as "Sat 2026-12-05 08:35:45 UTC" (nothing for 0), spans (soft_stop_timeout,
 * …USec) as "5min", doubles as "0.6". Not escaped. */
char *bus_property_to_text(const char *name, json_object *j);
/* One property (Get) as JSON. Logs nothing. */
int bus_get_property_json(sd_bus *bus, const char *path, const char *interface, const char *name, sd_bus_error *error,
                          json_object **ret);
/* GetAll of interface at path as a JSON object (property name → value), plus the explicit
 * properties GetAll leaves out (EffectiveConfig, EffectiveDefaults) — all of them, or those named
 * in wanted. Logs nothing. */
int bus_get_all_properties(sd_bus *bus, const char *path, const char *interface, char * const *wanted,
                           sd_bus_error *error, json_object **ret);
/* show's output of such an object: "Name=value" lines (only those named in filter, if any),
 * bare values with value_only, or the object as JSON. Unknown names in filter are an error. */
int bus_print_properties(json_object *props, char * const *filter, bool value_only, const OutputFlags *flags);

/* A configuration value for humans: durations and times formatted, "" as "-", NULL (not set) as
 * "inherit". */
char *bus_config_value_text(const char *key, json_object *v);

/* Appends settings ("key=value" each) as a{sv}, typed per key (dbus/README.md "Configuration
 * keys"): managed yes/no, soft_stop_timeout a time span ("5min"), priority an integer,
 * override_until a time ("2026-12-01 18:00", "+3d", "@SECONDS"), "inherit" for any key. Unknown
 * keys go as strings: the daemon names them in its refusal. Logs bad values. */
int bus_append_settings(sd_bus_message *m, char * const *assignments);

/* Waiting for jobs, by watching JobRemoved (subscribed before the call that makes the job), the
 * jobs' PropertiesChanged for progress on a terminal, and the daemon leaving the bus. */
typedef struct JobWaiter JobWaiter;
int job_waiter_new(sd_bus *bus, JobWaiter **ret);
JobWaiter *job_waiter_free(JobWaiter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(JobWaiter*, job_waiter_free);
/* what describes the job in messages ("stop web-1"); instance is the instance as given (or NULL). */
int job_waiter_add(JobWaiter *w, const char *job_path, const char *kind, const char *instance);
/* Waits until every job added has finished. Failed, timed-out and canceled jobs are logged
 * ("Could not stop web-1: job 17 failed: …"), skipped ones noted; returns the first failure. */
int job_waiter_wait(JobWaiter *w);
/* The jobs as a table (job, kind, instance, path, state, result, error): --json and --no-block
 * output. */
int job_waiter_print(JobWaiter *w, bool waited);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-errors.h"
#include "macro.h"
#include "utf8.h"

/* The one place where the daemon's outcomes become D-Bus errors. sd-bus cannot send an error
 * whose message is not valid UTF-8, and then sends nothing at all: the caller waits for its
 * timeout. So every error message goes through here, is checked, and falls back to a generic
 * message rather than to silence. */

/* How much of a caller's string an error message quotes. */
#define BUS_ECHO_MAX 80
/* The caller's string s, escaped and cut on a character boundary (a temporary of the caller's
 * block, good for one message). */
#define bus_echo(s) utf8_echo((s), BUS_ECHO_MAX, (char[UTF8_ECHO_BUF(BUS_ECHO_MAX)]) {})

/* Sets error to name with message (NULL or invalid UTF-8: a generic message). Returns the
 * negative errno of name (sd_bus_error_set's mapping). */
int bus_error_set(sd_bus_error *error, const char *name, const char *message);
int bus_error_setf(sd_bus_error *error, const char *name, const char *fmt, ...) _printf_(3, 4);

/* What an outcome is about: the same errno is a different name for each. */
typedef enum BusSubject {
        BUS_SUBJECT_NONE,
        BUS_SUBJECT_INSTANCE,
        BUS_SUBJECT_COMPARTMENT,
        BUS_SUBJECT_JOB,
        BUS_SUBJECT_SCHEDULE,
        BUS_SUBJECT_CALENDAR,           /* an exception calendar */
        BUS_SUBJECT_CALENDAR_SPEC,      /* a systemd calendar spec */
        BUS_SUBJECT_TARGET,             /* a schedule's targets */
        BUS_SUBJECT_DATABASE,           /* a statement of ours that changes something */
        BUS_SUBJECT_DATABASE_READ,      /* a statement of ours that only reads */
        _BUS_SUBJECT_MAX,
} BusSubject;

/* The one place where the daemon's outcomes, a negative errno, become the API's error names
 * (dbus/README.md "Errors"); handlers pass the domain's -errno here with what it is about:
 *   -ENXIO, -ENOENT  NoSuchInstance, NoSuchCompartment, NoSuchJob, NoSuchSchedule, NoSuchCalendar;
 *                    InvalidTarget for a target
 *   -ENOTUNIQ        AmbiguousName
 *   -EBUSY           Busy
 *   -EINVAL          InvalidConfig; InvalidCalendar for a spec, InvalidTarget for a target
 *   -E2BIG           TooManyTargets
 *   -EMSGSIZE        TooLarge
 *   -ENOTCONN, -ECANCELED, -ECONNRESET   DatabaseUnavailable
 *   -EAGAIN          NotLeader
 *   anything else    org.freedesktop.DBus.Error.Failed
 * Each name's errno here is the one dbus/README.md documents for it (what a client's sd-bus
 * turns it back into), except where it says which subject picks the name.
 * message: the one line the caller reads (NULL: a generic one). About the database, the message
 * is the database's text and is framed ("The database is not reachable; nothing was changed: …").
 * Returns the negative errno of the name. */
int bus_error_errno(sd_bus_error *error, int r, BusSubject subject, const char *message);
int bus_error_errnof(sd_bus_error *error, int r, BusSubject subject, const char *fmt, ...) _printf_(4, 5);
/* NotLeader for an action only the leading daemon runs, naming it (leader: "HOST:PID", or NULL
 * or "" while none leads). */
int bus_error_not_leader(sd_bus_error *error, const char *leader);
/* The name bus_error_errno() picks (for tests and documentation). */
const char *bus_error_name(int r, BusSubject subject);

/* Replies to call with e; should that fail, still with a generic error: every call is answered. */
int bus_reply_error(sd_bus_message *call, const sd_bus_error *e);

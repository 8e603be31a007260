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

/* Replies to call with e; should that fail, still with a generic error: every call is answered. */
int bus_reply_error(sd_bus_message *call, const sd_bus_error *e);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* stopstartd's start-up check that the database is at the migration head (with the migration
 * runner, read-only). Blocking libpq: it runs before the event loop does. */

#include <stdint.h>

/* Connects (retrying with backoff for up to timeout_usec; waiting(why) is called before each
 * retry, why being libpq's one-line reason) and checks that the migrations recorded are exactly
 * the ones built in (none pending, none dirty, changed or unknown). Errors, with a one-line
 * ret_error: -EINVAL (conninfo does not parse: waiting will not fix it), -ENOTCONN (not
 * reachable in time), -EUCLEAN (not at head, or not usable), others from the runner. */
int store_check_schema(const char *conninfo, uint64_t timeout_usec, void (*waiting)(const char *why, void *userdata),
                       void *userdata, char **ret_error);

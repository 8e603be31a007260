/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"

/* Exit code of `stopstartd --discover-once` when OCI refused our key (401/403): EX_NOPERM. The
 * others are manager.h's EXIT_* (config 78, schema 65, database 69) and 1 for any other failure. */
#define EXIT_OCI_AUTH 77

/* `stopstartd --discover-once`: checks the schema with check_schema (main.c's start-up check:
 * 0, or -EINVAL bad conninfo / -ENOTCONN unreachable / other: not at head, with a one-line
 * message), runs one discovery with its own event loop, OCI client and database connection,
 * prints {"compartments":N,"instances":N,"requests":N,"elapsed_ms":N} on stdout and returns 0;
 * on failure logs one line and returns a non-zero exit code. requests counts HTTP requests
 * (retries included), elapsed_ms the whole run including storing; details go to stderr at info
 * level. */
int discover_once(const Config *config, int (*check_schema)(const char *conninfo, char **ret_error));

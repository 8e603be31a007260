/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "db.h"
#include "discovery.h"
#include "oci-client.h"
#include "oci-config.h"

/* Exit code of `stopstartd --discover-once` when OCI refused our key (401/403): EX_NOPERM. The
 * others are manager.h's EXIT_* (config 78, schema 65, database 69) and 1 for any other failure. */
#define EXIT_OCI_AUTH 77

/* `stopstartd --discover-once`: checks the schema with check_schema (main.c's start-up check, store_check_schema():
 * 0, or -EINVAL bad conninfo / -ENOTCONN unreachable / other: not at head, with a one-line
 * message), runs one discovery with its own event loop, OCI client and database connection,
 * prints {"compartments":N,"instances":N,"requests":N,"elapsed_ms":N} on stdout and returns 0;
 * on failure logs one line and returns a non-zero exit code. requests counts HTTP requests
 * (retries included), elapsed_ms the whole run including storing; details go to stderr at info
 * level. */
int discover_once(const Config *config, int (*check_schema)(const char *conninfo, char **ret_error));

/* Everything one discovery run outside the Manager needs: its own event loop, credentials, OCI
 * client, started database connection and parameters (which point into creds and the Config). */
typedef struct DiscoverySetup {
        sd_event *event;
        OciCredentials *creds;
        OciClient *client;
        Db *db;
        DiscoveryParams params;
} DiscoverySetup;

/* Builds s from config. Returns 0, or logs one line and returns the exit code of
 * `stopstartd --discover-once` for that failure (EXIT_CONFIG, EXIT_DATABASE or EXIT_FAILURE). */
int discovery_setup(DiscoverySetup *s, const Config *config);
void discovery_setup_done(DiscoverySetup *s);

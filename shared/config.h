/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon configuration file, stopstartd.yaml (also read by stopstartctl for `database` and
 * `migrations`). Parsed with libyaml; unknown keys, duplicate keys, wrong types and bad values
 * are errors that name FILE:LINE:COL. Every key is optional; defaults are listed below.
 *
 *   database: "host=/run/postgresql dbname=stopstart"  # libpq conninfo or URI
 *                                                       # default "dbname=stopstart"
 *   oci:
 *     config_file: ~/.oci/config     # OCI CLI config file; "~/" is expanded from $HOME
 *     profile: DEFAULT
 *     regions: [us-phoenix-1]        # default (or []): every READY subscribed region
 *     endpoint: https://host:port/base
 *                                    # optional: one base URL for every service. "{region}" and
 *                                    # "{service}" (identity, iaas, query) are substituted per
 *                                    # request, e.g. "http://127.0.0.1:8443/{region}" or
 *                                    # "https://{service}.{region}.example.internal". Without
 *                                    # placeholders every request goes to that very base URL.
 *                                    # The API version path (/20160918/...) is appended to it.
 *     ca_file: /path/ca.pem          # optional extra CA bundle (in addition to the system store)
 *     connect_timeout: 10s           # TCP+TLS connect, per attempt
 *     request_timeout: 60s           # whole transfer, per attempt
 *     max_attempts: 8                # attempts per request, including the first (1 = no retry)
 *     retry_max_time: 5min           # give up retrying once this long has passed since the first
 *                                    # attempt (a started attempt still completes)
 *     retry_base_delay: 1s           # backoff: random in [0, min(base*2^(n-1), max)] (full jitter)
 *     retry_max_delay: 30s
 *     max_response_size: 64MiB      # larger responses are errors (bytes, or K/M/G[i]B suffixes)
 *   discovery:
 *     interval: 15min                # time between discovery runs
 *     max_in_flight: 16              # HTTP requests in flight at once, over all endpoints
 *     rate_limit: 0                  # requests/s per endpoint (host), 0 = none; may be fractional
 *     page_size: 100                 # limit= for list and search calls (1..1000)
 *     store_batch: 1000              # instances written to the database per batch while the
 *                                    # listing goes on (1..100000)
 *     details: auto                  # shape and fault domain of instances, which Resource Search
 *                                    # reports only in additionalDetails: "auto" takes them from
 *                                    # there and runs ListInstances only for compartments holding
 *                                    # instances whose shape is still unknown (also in the
 *                                    # database), at most 256 compartments per region and run;
 *                                    # "always" runs ListInstances for every compartment that has
 *                                    # instances (slow, exact); "never" keeps what Search says
 *   migrations:
 *     allow_reset: false             # `stopstartctl db reset` refuses unless true
 *     lock_timeout: 60s              # wait this long for the migration advisory lock
 *     backup_dir: /var/lib/stopstart/backups  # `db backup` without FILE, automatic backups
 *     keep_backups: 10               # backups kept in backup_dir (0: all)
 *     backup_before_upgrade: false   # `db upgrade` backs up first
 *   systemd:
 *     bus: user                      # the systemd manager that runs the schedules' timers:
 *                                    # "user" (the daemon user's own user manager, reached like
 *                                    # `systemctl --user`: $XDG_RUNTIME_DIR/systemd/private, else
 *                                    # the user bus), "system" (the system bus; needs polkit's
 *                                    # manage-units for a non-root daemon), or a D-Bus address
 *                                    # ("unix:path=/run/user/998/systemd/private")
 *   scheduler:
 *     time_zone: Europe/Berlin       # IANA zone of schedules created without one; default: the
 *                                    # host's zone (/etc/localtime), else UTC
 *     max_parallel_actions: 16       # instance actions of one occurrence in flight at once
 *                                    # (1..1024), under the OCI client's rate limit
 *
 * Time spans use time-util.h syntax ("30s", "15min", "1h 30min", "250ms"; a bare number is
 * seconds). */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "string-table.h"
#include "time-util.h"

typedef struct ConfigOci {
        char *config_file;       /* never NULL; "~/" expanded */
        char *profile;           /* never NULL */
        char **regions;          /* NULL-terminated; NULL or empty = every subscribed region */
        char *endpoint;          /* NULL = the public OCI endpoints of each service and region */
        char *ca_file;           /* NULL = system store only; "~/" expanded */
        usec_t connect_timeout;
        usec_t request_timeout;
        unsigned max_attempts;   /* >= 1 */
        usec_t retry_max_time;
        usec_t retry_base_delay;
        usec_t retry_max_delay;
        uint64_t max_response_size;
} ConfigOci;

typedef enum DiscoveryDetails {
        DISCOVERY_DETAILS_AUTO,
        DISCOVERY_DETAILS_ALWAYS,
        DISCOVERY_DETAILS_NEVER,
        _DISCOVERY_DETAILS_MAX,
        _DISCOVERY_DETAILS_INVALID = -EINVAL,
} DiscoveryDetails;
DECLARE_STRING_TABLE_LOOKUP(discovery_details, DiscoveryDetails);

typedef struct ConfigDiscovery {
        usec_t interval;         /* > 0 */
        unsigned max_in_flight;  /* >= 1 */
        double rate_limit;       /* requests per second per endpoint, 0 = unlimited */
        unsigned page_size;      /* 1..1000 */
        unsigned store_batch;    /* 1..100000 */
        DiscoveryDetails details;
} ConfigDiscovery;

typedef struct ConfigMigrations {
        bool allow_reset;
        usec_t lock_timeout;
        char *backup_dir;            /* never NULL */
        unsigned keep_backups;       /* 0: keep all */
        bool backup_before_upgrade;
} ConfigMigrations;

typedef struct ConfigSystemd {
        char *bus;               /* never NULL: "system", "user" or a D-Bus address */
} ConfigSystemd;

typedef struct ConfigScheduler {
        char *time_zone;         /* NULL = the host's zone */
        unsigned max_parallel_actions;
} ConfigScheduler;

typedef struct Config {
        char *path;              /* file it was loaded from, NULL for config_new() */
        char *database;          /* never NULL */
        ConfigOci oci;
        ConfigDiscovery discovery;
        ConfigMigrations migrations;
        ConfigSystemd systemd;
        ConfigScheduler scheduler;
} Config;

#define CONFIG_DEFAULT_DATABASE          "dbname=stopstart"
#define CONFIG_DEFAULT_OCI_CONFIG_FILE   "~/.oci/config"
#define CONFIG_DEFAULT_OCI_PROFILE       "DEFAULT"
#define CONFIG_DEFAULT_CONNECT_TIMEOUT   (10 * USEC_PER_SEC)
#define CONFIG_DEFAULT_REQUEST_TIMEOUT   (60 * USEC_PER_SEC)
#define CONFIG_DEFAULT_MAX_ATTEMPTS      8U
#define CONFIG_DEFAULT_RETRY_MAX_TIME    (5 * USEC_PER_MINUTE)
#define CONFIG_DEFAULT_RETRY_BASE_DELAY  (1 * USEC_PER_SEC)
#define CONFIG_DEFAULT_RETRY_MAX_DELAY   (30 * USEC_PER_SEC)
#define CONFIG_DEFAULT_MAX_RESPONSE_SIZE (64ULL * 1024 * 1024)
#define CONFIG_DEFAULT_INTERVAL          (15 * USEC_PER_MINUTE)
#define CONFIG_DEFAULT_MAX_IN_FLIGHT     16U
#define CONFIG_DEFAULT_PAGE_SIZE         100U
#define CONFIG_DEFAULT_STORE_BATCH       1000U
#define CONFIG_DEFAULT_LOCK_TIMEOUT      (60 * USEC_PER_SEC)
#define CONFIG_DEFAULT_BACKUP_DIR        "/var/lib/stopstart/backups"
#define CONFIG_DEFAULT_KEEP_BACKUPS      10
#define CONFIG_DEFAULT_SYSTEMD_BUS       "user"
#define CONFIG_DEFAULT_MAX_PARALLEL_ACTIONS 16U

/* A Config holding only the defaults (for callers that run without a file). */
int config_new(Config **ret);

/* Loads and validates path. On failure returns a negative errno (-EINVAL for content errors,
 * the open/read error otherwise) and, if ret_error is given, a one-line human message:
 * "FILE:LINE:COL: what is wrong" for content errors, "FILE: reason" for I/O errors. */
int config_load(const char *path, Config **ret, char **ret_error);

/* Same, from a string; name is used in messages in place of FILE. */
int config_load_string(const char *text, const char *name, Config **ret, char **ret_error);

Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config*, config_free);
#define _cleanup_config_free_ _cleanup_(config_freep)

/* Expands a leading "~/" (or a lone "~") from $HOME (falling back to the passwd entry).
 * Other paths are copied unchanged. */
int path_expand_home(const char *path, char **ret);

/* Parses a byte size: a number with an optional suffix B, K/KB/KiB, M/MB/MiB, G/GB/GiB
 * (all binary multiples of 1024). */
int parse_size(const char *s, uint64_t *ret);

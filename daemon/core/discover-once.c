/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "discover-once.h"
#include "log.h"
#include "manager.h"
#include "strv.h"

typedef struct Outcome {
        sd_event *event;
        bool done;
        int exit_code;
        char *message;
        uint64_t compartments, instances, http_requests, elapsed_ms;
} Outcome;

static void on_done(Discovery *d, const DiscoveryResult *r, void *userdata) {
        Outcome *o = userdata;
        _cleanup_free_ char *done = strv_join(r->regions_done, ","), *failed = strv_join(r->regions_failed, ",");

        o->done = true;
        o->compartments = r->compartments;
        o->instances = r->instances;
        o->http_requests = r->http_requests;
        o->elapsed_ms = r->elapsed_usec / USEC_PER_MSEC;
        if (r->error < 0) {
                o->message = strdup(strna(r->message));
                o->exit_code = r->oci_error == OCI_ERROR_NOT_AUTHENTICATED || r->oci_error == OCI_ERROR_NOT_AUTHORIZED
                                       ? EXIT_OCI_AUTH : EXIT_FAILURE;
        }

        /* on failure the error line says it all */
        log_full(r->error < 0 ? LOG_DEBUG : LOG_INFO, "Discovery run %" PRIi64 ": %" PRIu64 " compartments, %" PRIu64 " instances (regions done: %s%s%s); "
                 "%" PRIu64 " HTTP requests for %" PRIu64 " pages (ListInstances: %" PRIu64 " pages, %" PRIu64
                 " compartments, %" PRIu64 " instances not as Search said), at most %u in flight; "
                 "inventory complete in %" PRIu64 " ms; fetched in %" PRIu64 " ms, stored in %" PRIu64 " ms; compartments +%" PRIi64 " -%" PRIi64
                 "; instances +%" PRIi64 " -%" PRIi64 " moved %" PRIi64 " renamed %" PRIi64 " state %" PRIi64 ".",
                 r->run_id, r->compartments, r->instances, isempty(done) ? "none" : done,
                 isempty(failed) ? "" : ", failed: ", strempty(failed), r->http_requests, r->requests,
                 r->details_requests, r->details_compartments, r->details_differ, r->max_in_flight,
                 r->inventory_usec / USEC_PER_MSEC, r->fetch_usec / USEC_PER_MSEC, (r->elapsed_usec - MIN(r->fetch_usec, r->elapsed_usec)) / USEC_PER_MSEC,
                 r->compartment_changes.added, r->compartment_changes.removed, r->instance_changes.added,
                 r->instance_changes.removed, r->instance_changes.moved, r->instance_changes.renamed,
                 r->instance_changes.state_changed);
        (void) sd_event_exit(o->event, 0);
}

int discovery_setup(DiscoverySetup *s, const Config *config) {
        _cleanup_free_ char *err = NULL;
        OciClientSettings settings;
        int r;

        *s = (DiscoverySetup) {};

        r = oci_credentials_load(config->oci.config_file, config->oci.profile, &s->creds, &err);
        if (r < 0) {
                log_error("OCI credentials: %s", err ?: strerror(-r));
                return EXIT_CONFIG;
        }
        discovery_params_from_config(&s->params, config, s->creds->tenancy, s->creds->region);
        if (isempty(s->params.identity_region)) {
                log_error("No OCI region: set 'region' in the OCI config profile %s or list oci.regions in %s.",
                          s->creds->profile, strna(config->path));
                return EXIT_CONFIG;
        }

        r = sd_event_new(&s->event);
        if (r < 0) {
                log_error_errno(r, "Failed to allocate an event loop: %m");
                return EXIT_FAILURE;
        }

        oci_client_settings_from_config(&settings, config);
        r = oci_client_new(s->event, s->creds->key, s->creds->key_id, &settings, &s->client, &err);
        if (r < 0) {
                log_error("Cannot set up the OCI client: %s", err ?: strerror(-r));
                return EXIT_CONFIG;
        }
        r = db_new(s->event, config->database, &s->db);
        if (r >= 0)
                r = db_start(s->db);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the database connection: %m");
                return EXIT_DATABASE;
        }
        return 0;
}

void discovery_setup_done(DiscoverySetup *s) {
        /* The connection and the client hang off the event loop: free them first. */
        s->db = db_free(s->db);
        s->client = oci_client_free(s->client);
        s->creds = oci_credentials_free(s->creds);
        s->event = sd_event_unref(s->event);
}

int discover_once(const Config *config, int (*check_schema)(const char *conninfo, char **ret_error)) {
        _cleanup_(discovery_setup_done) DiscoverySetup s = {};
        _cleanup_free_ char *err = NULL;
        Discovery *d = NULL;
        Outcome o = {};
        int r;

        /* 1. The database must be reachable and at the migration head (read-only check). */
        r = check_schema(config->database, &err);
        if (r < 0) {
                log_error("%s", strna(err));
                return r == -EINVAL ? EXIT_CONFIG : r == -ENOTCONN ? EXIT_DATABASE : EXIT_SCHEMA;
        }

        /* 2. Credentials, where to go, the client and the connection. */
        r = discovery_setup(&s, config);
        if (r != 0)
                return r;
        o.event = s.event;

        /* 3. One run. */
        r = discovery_start(s.event, s.client, s.db, &s.params, NULL, on_done, &o, &d);
        if (r < 0) {
                log_error_errno(r, "Cannot start discovery: %m");
                return EXIT_FAILURE;
        }
        r = sd_event_loop(s.event);
        if (r < 0 || !o.done) {
                discovery_cancel(d);
                log_error_errno(r < 0 ? r : -EIO, "The event loop failed: %m");
                return EXIT_FAILURE;
        }
        if (o.exit_code != 0) {
                log_error("Discovery failed: %s", strna(o.message));
                free(o.message);
                return o.exit_code;
        }

        printf("{\"compartments\":%" PRIu64 ",\"instances\":%" PRIu64 ",\"requests\":%" PRIu64
               ",\"elapsed_ms\":%" PRIu64 "}\n",
               o.compartments, o.instances, o.http_requests, o.elapsed_ms);
        if (fflush(stdout) != 0) {
                log_error_errno(errno, "Failed to write to stdout: %m");
                return EXIT_FAILURE;
        }
        return 0;
}

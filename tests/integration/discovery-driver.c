/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs the discovery engine as the Manager does (daemon/discovery/discovery.h) with the set-up of
 * `stopstartd --discover-once` (daemon/core/discover-once.h), for test_discovery.py:
 *
 *   discovery-driver CONFIG [CANCEL_AFTER_MS]
 *
 * prints one JSON object per line: {"progress":{phase,fraction,compartments,instances,requests}}
 * for each progress callback, then {"done":{error,message,run_id,compartments,instances}} — or,
 * with CANCEL_AFTER_MS, {"cancelled":true} once discovery_cancel() was called and every statement
 * it had sent is answered (the process must then exit without leaks). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "discover-once.h"
#include "json-util.h"

typedef struct State {
        sd_event *event;
        Db *db;
        Discovery *discovery;
        bool cancelled;
} State;

static void print_json(json_object *o) {
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        fflush(stdout);
        json_object_put(o);
}

static void on_progress(Discovery *d, const DiscoveryProgress *p, void *userdata) {
        json_object *o = json_object_new_object(), *v = json_object_new_object();

        json_object_object_add(v, "phase", json_object_new_string(discovery_phase_to_string(p->phase)));
        json_object_object_add(v, "fraction", json_object_new_double(p->fraction));
        json_object_object_add(v, "compartments", json_object_new_uint64(p->compartments));
        json_object_object_add(v, "instances", json_object_new_uint64(p->instances));
        json_object_object_add(v, "requests", json_object_new_uint64(p->requests));
        json_object_object_add(o, "progress", v);
        print_json(o);
}

static void on_done(Discovery *d, const DiscoveryResult *r, void *userdata) {
        State *s = userdata;
        json_object *o = json_object_new_object(), *v = json_object_new_object();

        json_object_object_add(v, "error", json_object_new_int(r->error));
        json_object_object_add(v, "message", r->message ? json_object_new_string(r->message) : NULL);
        json_object_object_add(v, "run_id", json_object_new_int64(r->run_id));
        json_object_object_add(v, "compartments", json_object_new_uint64(r->compartments));
        json_object_object_add(v, "instances", json_object_new_uint64(r->instances));
        json_object_object_add(o, "done", v);
        print_json(o);
        s->discovery = NULL;
        discovery_cancel(d);   /* a no-op from here, as documented */
        (void) sd_event_exit(s->event, 0);
}

static int on_cancel_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        State *s = userdata;

        if (s->discovery) {
                discovery_cancel(s->discovery);
                s->discovery = NULL;
                s->cancelled = true;
        }
        return 0;
}

/* After a cancel: done once every statement discovery sent is answered. */
static int on_poll(sd_event_source *es, uint64_t usec, void *userdata) {
        State *s = userdata;

        if (s->cancelled && db_pending(s->db) == 0) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "cancelled", json_object_new_boolean(true));
                print_json(o);
                return sd_event_exit(s->event, 0);
        }
        return sd_event_source_set_time_relative(es, 10 * USEC_PER_MSEC) < 0 ? -EIO
               : sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
}

int main(int argc, char *argv[]) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(discovery_setup_done) DiscoverySetup setup = {};
        _cleanup_free_ char *err = NULL;
        State s = {};

        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: %s CONFIG [CANCEL_AFTER_MS]\n", argv[0]);
                return 2;
        }
        if (config_load(argv[1], &config, &err) < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
        }
        if (discovery_setup(&setup, config) != 0)
                return 1;
        s.event = setup.event;
        s.db = setup.db;
        if (discovery_start(setup.event, setup.client, setup.db, &setup.params, on_progress, on_done, &s,
                            &s.discovery) < 0)
                return 1;
        if (argc == 3) {
                uint64_t ms = strtoull(argv[2], NULL, 10);
                if (sd_event_add_time_relative(setup.event, NULL, CLOCK_MONOTONIC, ms * USEC_PER_MSEC, 0,
                                               on_cancel_timer, &s) < 0 ||
                    sd_event_add_time_relative(setup.event, NULL, CLOCK_MONOTONIC, ms * USEC_PER_MSEC, 0, on_poll,
                                               &s) < 0)
                        return 1;
        }
        if (sd_event_loop(setup.event) < 0)
                return 1;
        return 0;
}

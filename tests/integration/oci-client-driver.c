/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drives the OCI client (oci/oci-client.h) on sd-event from the command line, for the
 * integration tests in test_oci_client.py. Prints one JSON object on stdout: the outcome of the
 * command ("ok", the data or the typed error) and the client's counters. Exits 0 when the
 * command ran (whatever OCI answered), 1 when it could not (bad config, key...), with a
 * one-line message on stderr.
 *
 *   oci-client-driver --config STOPSTARTD.yaml [--region R] COMMAND [ARGS]
 *     tenancy | regions | compartment ID | instance ID
 *     compartments [--limit N] [--one-page]         ListCompartments (subtree, ACCESSIBLE)
 *     instances COMPARTMENT [--limit N]
 *     search QUERY [--limit N] [--split N]          N queries in parallel, partitioned by time
 *     walk [--limit N]                              every compartment, then every compartment's
 *                                                   instances in every configured region, pipelined
 *     action INSTANCE ACTION [--token T]
 *     actions ACTION INSTANCE...                    in parallel, token "tok-ACTION-INSTANCE"
 *     wait INSTANCE STATE [--timeout S] [--poll MS]
 *     post-no-token PATH                            a raw POST without opc-retry-token
 *     get URL [--count N]                           curl-glue alone: N GETs in parallel
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "curl-glue.h"
#include "json-util.h"
#include "oci-client.h"
#include "oci-config.h"
#include "oci-wait.h"
#include "strv.h"

static OciClient *client;
static sd_event *event;
static Config *config;
static OciCredentials *creds;
static json_object *result;
static const char *arg_region;
static unsigned arg_limit;
static bool arg_one_page;
static const char *arg_token;
static double arg_timeout = 60;
static unsigned arg_poll_ms = 200;
static unsigned arg_count = 1;
static unsigned arg_split = 1;
static unsigned pending;

static void fail(const char *fmt, ...) _printf_(1, 2) _noreturn_;
static void fail(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("oci-client-driver: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        exit(1);
}

static void set(json_object *o, const char *k, json_object *v) {
        if (json_object_object_add(o, k, v) < 0)
                fail("out of memory");
}

static json_object *jstr(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static json_object *error_json(const OciError *e) {
        json_object *o = json_object_new_object();
        _cleanup_free_ char *text = oci_error_to_string(e);

        set(o, "kind", jstr(oci_error_kind_to_string(e->kind)));
        set(o, "errno", json_object_new_int(e->error));
        set(o, "status", json_object_new_int64(e->http_status));
        set(o, "code", jstr(e->code));
        set(o, "message", jstr(e->message));
        set(o, "request_id", jstr(e->request_id));
        set(o, "attempts", json_object_new_int((int) e->attempts));
        set(o, "operation", jstr(e->operation));
        set(o, "text", jstr(text));
        return o;
}

/* The first error wins; the loop stops when nothing is pending. */
static void record_error(const OciError *e) {
        json_object *x;

        if (!json_object_object_get_ex(result, "error", &x))
                set(result, "error", error_json(e));
        set(result, "ok", json_object_new_boolean(false));
}

static void done_one(void) {
        if (--pending == 0)
                (void) sd_event_exit(event, 0);
}

static const char *region(void) {
        if (arg_region)
                return arg_region;
        if (config->oci.regions && config->oci.regions[0])
                return config->oci.regions[0];
        if (creds->region)
                return creds->region;
        fail("no region: use --region, oci.regions or the profile's region");
}

static void add_count(const char *key, size_t n) {
        json_object *x;
        int64_t v = 0;

        if (json_object_object_get_ex(result, key, &x))
                v = json_object_get_int64(x);
        set(result, key, json_object_new_int64(v + (int64_t) n));
}

/* ---- simple calls ---- */

static void on_tenancy(OciClient *c, OciTenancy *t, const OciError *e, void *userdata) {
        if (e)
                record_error(e);
        else {
                set(result, "id", jstr(t->id));
                set(result, "name", jstr(t->name));
                set(result, "home_region_key", jstr(t->home_region_key));
                oci_tenancy_free(t);
        }
        done_one();
}

static void on_regions(OciClient *c, OciRegionSubscription *items, size_t n, const OciError *e, void *userdata) {
        if (e)
                record_error(e);
        else {
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < n; i++) {
                        json_object *o = json_object_new_object();
                        set(o, "region", jstr(items[i].region_name));
                        set(o, "key", jstr(items[i].region_key));
                        set(o, "status", jstr(items[i].status));
                        set(o, "home", json_object_new_boolean(items[i].is_home_region));
                        json_object_array_add(a, o);
                }
                set(result, "regions", a);
                oci_region_subscriptions_free(items, n);
        }
        done_one();
}

static void on_compartment(OciClient *c, OciCompartment *o, const OciError *e, void *userdata) {
        if (e)
                record_error(e);
        else {
                set(result, "id", jstr(o->id));
                set(result, "name", jstr(o->name));
                set(result, "lifecycle_state", jstr(o->lifecycle_state_raw));
                oci_compartment_free(o);
        }
        done_one();
}

static void on_instance(OciClient *c, OciInstance *o, const char *etag, const OciError *e, void *userdata) {
        if (e)
                record_error(e);
        else {
                set(result, "id", jstr(o->id));
                set(result, "display_name", jstr(o->display_name));
                set(result, "lifecycle_state", jstr(o->lifecycle_state_raw));
                set(result, "etag", jstr(etag));
                oci_instance_free(o);
        }
        done_one();
}

static void on_compartments_page(OciClient *c, OciCompartment *items, size_t n, const char *next_page,
                                 const OciError *e, void *userdata) {
        if (e)
                record_error(e);
        else {
                add_count("count", n);
                add_count("pages", 1);
                set(result, "next_page", jstr(next_page));
        }
        oci_compartments_free(items, n);
        if (e || !next_page || arg_one_page)
                done_one();
}

static void on_instances_page(OciClient *c, OciInstance *items, size_t n, const char *next_page, const OciError *e,
                              void *userdata) {
        if (e)
                record_error(e);
        else {
                add_count("count", n);
                add_count("pages", 1);
        }
        oci_instances_free(items, n);
        if (e || !next_page)
                done_one();
}

static void on_search_page(OciClient *c, OciResourceSummary *items, size_t n, const char *next_page,
                           const OciError *e, void *userdata) {
        json_object *ids = userdata;

        if (e)
                record_error(e);
        else {
                add_count("count", n);
                add_count("pages", 1);
                for (size_t i = 0; i < n; i++)
                        json_object_array_add(ids, json_object_new_string(items[i].identifier));
        }
        oci_resource_summaries_free(items, n);
        if (e || !next_page)
                done_one();
}

/* ---- walk: compartments, and each compartment's instances as soon as its page arrives ---- */

static void walk_instances(const char *compartment_id) {
        OciListInstancesParams p = { .compartment_id = compartment_id, .limit = arg_limit, .all_pages = true };
        int r;

        STRV_FOREACH(reg, config->oci.regions) {
                r = oci_list_instances(client, *reg, &p, on_instances_page, NULL, NULL);
                if (r < 0)
                        fail("oci_list_instances: %s", strerror(-r));
                pending++;
        }
}

static void on_walk_compartments(OciClient *c, OciCompartment *items, size_t n, const char *next_page,
                                 const OciError *e, void *userdata) {
        if (e)
                record_error(e);
        else {
                add_count("compartments", n);
                for (size_t i = 0; i < n; i++)
                        walk_instances(items[i].id);
        }
        oci_compartments_free(items, n);
        if (e || !next_page)
                done_one();
}

/* ---- actions ---- */

static void on_action(OciClient *c, OciInstance *o, const char *etag, const OciError *e, void *userdata) {
        if (e)
                record_error(e);
        else {
                json_object *states;
                if (!json_object_object_get_ex(result, "states", &states)) {
                        states = json_object_new_object();
                        set(result, "states", states);
                }
                set(states, o->id, jstr(o->lifecycle_state_raw));
                oci_instance_free(o);
        }
        done_one();
}

static void on_raw(OciClient *c, const OciResponse *resp, const OciError *e, void *userdata) {
        if (e)
                record_error(e);
        else
                set(result, "status", json_object_new_int64(resp->status));
        done_one();
}

/* ---- get: curl-glue alone ---- */

static void on_get(CurlGlue *g, CURL *easy, CURLcode code, void *userdata) {
        json_object *a = userdata, *o = json_object_new_object();
        long status = 0;
        char *ip = NULL;

        (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        (void) curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip);
        set(o, "curl", json_object_new_int(code));
        set(o, "error", jstr(code == CURLE_OK ? NULL : curl_easy_strerror(code)));
        set(o, "status", json_object_new_int64(status));
        json_object_array_add(a, o);
        curl_easy_cleanup(easy);
        done_one();
}

static size_t discard(char *p, size_t s, size_t n, void *u) {
        return s * n;
}

static int run_get(const char *url) {
        _cleanup_(curl_glue_freep) CurlGlue *g = NULL;
        _cleanup_free_ char *err = NULL;
        CurlGlueSettings s = {
                .connect_timeout = config->oci.connect_timeout,
                .total_timeout = config->oci.request_timeout,
                .ca_file = config->oci.ca_file,
        };
        json_object *a = json_object_new_array();
        int r;

        r = curl_glue_new(event, &s, &g, &err);
        if (r < 0)
                fail("curl_glue_new: %s", err ?: strerror(-r));
        set(result, "results", a);
        set(result, "user_agent", jstr(curl_glue_user_agent()));
        for (unsigned i = 0; i < arg_count; i++) {
                CURL *c;
                r = curl_glue_easy_new(g, url, &c);
                if (r < 0)
                        fail("curl_glue_easy_new: %s", strerror(-r));
                curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
                r = curl_glue_start(g, c, on_get, a);
                if (r < 0)
                        fail("curl_glue_start: %s", strerror(-r));
                pending++;
        }
        set(result, "running_after_start", json_object_new_int((int) curl_glue_running(g)));
        r = sd_event_loop(event);
        if (r < 0)
                fail("event loop: %s", strerror(-r));
        set(result, "running_at_end", json_object_new_int((int) curl_glue_running(g)));
        return 0;
}

static int parse_options(int argc, char **argv) {
        static const struct option options[] = {
                { "config",   required_argument, NULL, 'c' },
                { "region",   required_argument, NULL, 'r' },
                { "limit",    required_argument, NULL, 'l' },
                { "one-page", no_argument,       NULL, '1' },
                { "token",    required_argument, NULL, 't' },
                { "timeout",  required_argument, NULL, 'T' },
                { "poll",     required_argument, NULL, 'p' },
                { "count",    required_argument, NULL, 'n' },
                { "split",    required_argument, NULL, 's' },
                {}
        };
        const char *cfg = NULL;
        _cleanup_free_ char *err = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        cfg = optarg;
                        break;
                case 'r':
                        arg_region = optarg;
                        break;
                case 'l':
                        arg_limit = (unsigned) atoi(optarg);
                        break;
                case '1':
                        arg_one_page = true;
                        break;
                case 't':
                        arg_token = optarg;
                        break;
                case 'T':
                        arg_timeout = atof(optarg);
                        break;
                case 'p':
                        arg_poll_ms = (unsigned) atoi(optarg);
                        break;
                case 'n':
                        arg_count = (unsigned) atoi(optarg);
                        break;
                case 's':
                        arg_split = (unsigned) atoi(optarg);
                        break;
                default:
                        fail("bad option");
                }
        if (!cfg)
                fail("--config is required");
        r = config_load(cfg, &config, &err);
        if (r < 0)
                fail("%s", err ?: strerror(-r));
        return optind;
}

int main(int argc, char **argv) {
        _cleanup_free_ char *err = NULL;
        OciClientSettings s;
        const char *cmd;
        int i, r;

        i = parse_options(argc, argv);
        if (i >= argc)
                fail("no command");
        cmd = argv[i++];

        r = sd_event_default(&event);
        if (r < 0)
                fail("sd_event_default: %s", strerror(-r));
        result = json_object_new_object();
        set(result, "ok", json_object_new_boolean(true));

        if (streq(cmd, "get")) {
                if (i >= argc)
                        fail("get URL");
                r = run_get(argv[i]);
                goto print;
        }

        r = oci_credentials_load(config->oci.config_file, config->oci.profile, &creds, &err);
        if (r < 0)
                fail("%s", err ?: strerror(-r));
        oci_client_settings_from_config(&s, config);
        r = oci_client_new(event, creds->key, creds->key_id, &s, &client, &err);
        if (r < 0)
                fail("%s", err ?: strerror(-r));

        if (streq(cmd, "tenancy"))
                r = oci_get_tenancy(client, region(), creds->tenancy, on_tenancy, NULL, NULL);
        else if (streq(cmd, "regions"))
                r = oci_list_region_subscriptions(client, region(), creds->tenancy, on_regions, NULL, NULL);
        else if (streq(cmd, "compartment") && i < argc)
                r = oci_get_compartment(client, region(), argv[i], on_compartment, NULL, NULL);
        else if (streq(cmd, "instance") && i < argc)
                r = oci_get_instance(client, region(), argv[i], on_instance, NULL, NULL);
        else if (streq(cmd, "compartments")) {
                OciListCompartmentsParams p = { .compartment_id = creds->tenancy, .subtree = true,
                                                .access_level = OCI_ACCESS_ACCESSIBLE, .limit = arg_limit,
                                                .all_pages = !arg_one_page };
                set(result, "count", json_object_new_int(0));
                r = oci_list_compartments(client, region(), &p, on_compartments_page, NULL, NULL);
        } else if (streq(cmd, "instances") && i < argc) {
                OciListInstancesParams p = { .compartment_id = argv[i], .limit = arg_limit, .all_pages = true };
                set(result, "count", json_object_new_int(0));
                r = oci_list_instances(client, region(), &p, on_instances_page, NULL, NULL);
        } else if (streq(cmd, "search") && i < argc) {
                json_object *ids = json_object_new_array();
                set(result, "count", json_object_new_int(0));
                set(result, "ids", ids);
                /* split: N disjoint queries by timeCreated ranges, run in parallel */
                for (unsigned k = 0; k < arg_split; k++) {
                        _cleanup_free_ char *q = NULL;
                        OciSearchParams p = { .limit = arg_limit, .all_pages = true };
                        /* disjoint, covering: (-inf, e1), [e1, e2), ..., [eN-1, +inf) */
                        int lo = 2016 + (int) (k * 8 / arg_split), hi = 2016 + (int) ((k + 1) * 8 / arg_split);
                        _cleanup_free_ char *c1 = k > 0 ? strprintf("timeCreated >= '%04d-01-01T00:00:00Z'", lo) : NULL;
                        _cleanup_free_ char *c2 = k + 1 < arg_split ? strprintf("timeCreated < '%04d-01-01T00:00:00Z'", hi) : NULL;
                        if (!c1 && !c2)
                                q = strdup(argv[i]);
                        else
                                q = strprintf("%s where %s%s%s", argv[i], strempty(c1), c1 && c2 ? " && " : "", strempty(c2));
                        p.query = q;
                        r = oci_search_resources(client, region(), &p, on_search_page, ids, NULL);
                        if (r < 0)
                                break;
                        if (k + 1 < arg_split)
                                pending++;
                }
        } else if (streq(cmd, "walk")) {
                OciListCompartmentsParams p = { .compartment_id = creds->tenancy, .subtree = true,
                                                .access_level = OCI_ACCESS_ACCESSIBLE, .limit = arg_limit,
                                                .all_pages = true };
                if (!config->oci.regions)
                        fail("walk needs oci.regions");
                set(result, "compartments", json_object_new_int(0));
                set(result, "count", json_object_new_int(0));
                walk_instances(creds->tenancy); /* the root holds instances too */
                r = oci_list_compartments(client, region(), &p, on_walk_compartments, NULL, NULL);
        } else if (streq(cmd, "action") && i + 1 < argc) {
                OciInstanceAction a = oci_instance_action_from_string(argv[i + 1]);
                if (a < 0)
                        fail("unknown action %s", argv[i + 1]);
                r = oci_instance_action(client, region(), argv[i], a, arg_token, NULL, on_action, NULL, NULL);
        } else if (streq(cmd, "actions") && i + 1 < argc) {
                OciInstanceAction a = oci_instance_action_from_string(argv[i]);
                if (a < 0)
                        fail("unknown action %s", argv[i]);
                r = 0;
                for (int k = i + 1; k < argc && r >= 0; k++) {
                        _cleanup_free_ char *tok = strprintf("tok-%s-%08x", argv[i], (unsigned) (k * 2654435761u));
                        r = oci_instance_action(client, region(), argv[k], a, tok, NULL, on_action, NULL, NULL);
                        if (r >= 0 && k + 1 < argc)
                                pending++;
                }
        } else if (streq(cmd, "wait") && i + 1 < argc) {
                OciInstanceState st = oci_instance_state_from_string(argv[i + 1]);
                OciWaitParams p = { .timeout = (usec_t) (arg_timeout * USEC_PER_SEC),
                                    .poll_initial = arg_poll_ms * USEC_PER_MSEC,
                                    .poll_max = 4 * arg_poll_ms * USEC_PER_MSEC };
                usec_t t0 = now(CLOCK_MONOTONIC);
                if (st < 0)
                        fail("unknown state %s", argv[i + 1]);
                r = oci_wait_for_instance_state(client, region(), argv[i], st, &p, on_instance, NULL, NULL);
                if (r >= 0) {
                        pending = 1;
                        r = sd_event_loop(event);
                        set(result, "elapsed_ms", json_object_new_int64((int64_t) ((now(CLOCK_MONOTONIC) - t0) / 1000)));
                        goto stats;
                }
        } else if (streq(cmd, "post-no-token") && i < argc) {
                OciRequestParams p = { .operation = "RawPost", .method = "POST", .service = OCI_SERVICE_IAAS,
                                       .region = region(), .path = argv[i] };
                r = oci_client_request(client, &p, on_raw, NULL, NULL);
        } else
                fail("unknown command or missing arguments: %s", cmd);
        if (r < 0)
                fail("%s: cannot start: %s", cmd, strerror(-r));

        pending++;
        {
                usec_t t0 = now(CLOCK_MONOTONIC);
                r = sd_event_loop(event);
                if (r < 0)
                        fail("event loop: %s", strerror(-r));
                set(result, "elapsed_ms", json_object_new_int64((int64_t) ((now(CLOCK_MONOTONIC) - t0) / 1000)));
        }

stats:
        {
                OciClientStats st;
                json_object *o = json_object_new_object();
                oci_client_get_stats(client, &st);
                set(o, "requests", json_object_new_int64((int64_t) st.requests));
                set(o, "attempts", json_object_new_int64((int64_t) st.attempts));
                set(o, "retries", json_object_new_int64((int64_t) st.retries));
                set(o, "failures", json_object_new_int64((int64_t) st.failures));
                set(o, "max_in_flight", json_object_new_int((int) st.max_in_flight));
                set(o, "in_flight", json_object_new_int((int) st.in_flight));
                set(o, "queued", json_object_new_int((int) st.queued));
                set(result, "stats", o);
        }
print:
        puts(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN));
        json_object_put(result);
        oci_client_free(client);
        oci_credentials_free(creds);
        config_free(config);
        sd_event_unref(event);
        return 0;
}

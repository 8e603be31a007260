/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stopstartctl list-instances, show, status, start/stop/reboot, set-config, explain. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-bus.h"
#include "json-util.h"
#include "log.h"
#include "stopstartctl.h"
#include "strv.h"
#include "time-util.h"

/* ---- list-instances -------------------------------------------------------------------------- */

typedef struct InstanceRow {
        const char *id, *name, *compartment_id, *region, *shape, *state, *object;
        int managed;
} InstanceRow;

static int compare_rows_by_name(const void *a, const void *b) {
        const InstanceRow *x = a, *y = b;
        int r = strcmp(x->name, y->name);
        return r != 0 ? r : strcmp(x->id, y->id);
}

static int append_list_filters(sd_bus_message *m, void *userdata) {
        const char *name = userdata;
        int r = 0;

        if (arg_compartment)
                r = sd_bus_message_append(m, "{sv}{sv}", "compartment", "s", arg_compartment, "recursive", "b",
                                          (int) arg_recursive);
        if (r >= 0 && arg_state)
                r = sd_bus_message_append(m, "{sv}", "state", "s", arg_state);
        if (r >= 0 && name)
                r = sd_bus_message_append(m, "{sv}", "name", "s", name);
        return r;
}

int verb_list_instances(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ InstanceRow *rows = NULL;
        _cleanup_(bus_pages_freep) sd_bus_message **pages = NULL;
        sd_bus *bus = userdata;
        size_t n = 0;
        int r;

        r = bus_list_instances_pages(bus, append_list_filters, argc > 1 ? argv[1] : NULL, &error, &pages);
        if (r < 0)
                return log_bus_error(&error, r, "list instances");

        for (size_t p = 0; pages[p]; p++) {
                sd_bus_message *reply = pages[p];

                r = sd_bus_message_enter_container(reply, 'a', "(ssssssbo)");
                if (r < 0)
                        return log_bus_error(NULL, r, "read the instances");
                for (;;) {
                        InstanceRow row;
                        InstanceRow *k;

                        r = sd_bus_message_read(reply, "(ssssssbo)", &row.id, &row.name, &row.compartment_id,
                                                &row.region, &row.shape, &row.state, &row.managed, &row.object);
                        if (r < 0)
                                return log_bus_error(NULL, r, "read the instances");
                        if (r == 0)
                                break;
                        k = realloc(rows, (n + 1) * sizeof(InstanceRow));
                        if (!k)
                                return log_oom();
                        rows = k;
                        rows[n++] = row;
                }
        }
        if (n > 0)
                qsort(rows, n, sizeof(InstanceRow), compare_rows_by_name);

        t = table_new("display_name", "lifecycle_state", "managed", "region", "shape", "id", "compartment_id",
                      "object", NULL);
        if (!t)
                return log_oom();
        (void) table_set_header(t, "display_name", "NAME");
        (void) table_set_header(t, "lifecycle_state", "STATE");
        (void) table_set_display(t, "display_name", "lifecycle_state", "managed", "region", "shape", "id", NULL);
        for (size_t i = 0; i < n; i++)
                if (table_add_string(t, rows[i].name) < 0 || table_add_string(t, rows[i].state) < 0 ||
                    table_add_bool(t, rows[i].managed) < 0 || table_add_string(t, rows[i].region) < 0 ||
                    table_add_string(t, rows[i].shape) < 0 || table_add_string(t, rows[i].id) < 0 ||
                    table_add_string(t, rows[i].compartment_id) < 0 || table_add_string(t, rows[i].object) < 0)
                        return log_oom();
        (void) table_set_footer(t, "%zu instance%s listed.", n, n == 1 ? "" : "s");
        (void) table_set_empty_text(t, "No instances.");
        pager_open(&arg_output);
        return table_print(t, &arg_output);
}

/* ---- show ---------------------------------------------------------------------------------------- */

static int show_one(sd_bus *bus, const char *name, bool first) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_json_ json_object *props = NULL;
        _cleanup_free_ char *path = NULL;
        const char *iface = SS_BUS_IFACE_MANAGER;
        int r;

        if (name) {
                r = bus_find_object(bus, name, &path, &iface);
                if (r < 0)
                        return r;
        }
        r = bus_get_all_properties(bus, path ?: SS_BUS_PATH, iface, arg_properties, &error, &props);
        if (r < 0) {
                char buf[NAME_TEXT_MAX];
                if (sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE))
                        return log_error_errno(ENXIO, "Could not show %s: no such object.", name_text(name ?: SS_BUS_PATH, buf));
                return log_bus_error(&error, r, "show %s", name ?: "the daemon");
        }
        if (!first && arg_output.json == JSON_FORMAT_OFF && !arg_value)
                putchar('\n');
        return bus_print_properties(props, arg_properties, arg_value, &arg_output);
}

int verb_show(int argc, char *argv[], void *userdata) {
        sd_bus *bus = userdata;
        int r;

        pager_open(&arg_output);
        if (argc <= 1)
                return show_one(bus, NULL, true);
        for (int i = 1; i < argc; i++) {
                r = show_one(bus, argv[i], i == 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- status -------------------------------------------------------------------------------------- */

static int set_str(char **p, const char *s) {
        char *d = strdup(s);
        if (!d)
                return -ENOMEM;
        free(*p);
        *p = d;
        return 0;
}

static uint64_t prop_u64(json_object *props, const char *name) {
        json_object *v;
        if (!json_object_object_get_ex(props, name, &v))
                return 0;
        return json_object_get_uint64(v);
}

static int add_text(Table *t, const char *key, const char *label, const char *value) {
        if (table_add_key(t, key, label) < 0 || table_add_string(t, value) < 0)
                return -ENOMEM;
        return 0;
}

static int add_time(Table *t, const char *key, const char *label, uint64_t usec) {
        char a[TIMESTAMP_MAX], b[TIMESTAMP_MAX];

        if (usec == 0)
                return add_text(t, key, label, "never");
        if (table_add_key(t, key, label) < 0 ||
            table_add_stringf(t, "%s (%s)", format_timestamp(a, sizeof a, usec),
                              format_timestamp_relative(b, sizeof b, usec, now(CLOCK_REALTIME))) < 0)
                return -ENOMEM;
        return 0;
}

static int status_daemon(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_json_ json_object *props = NULL;
        _cleanup_free_ char *regions = NULL;
        json_object *v;
        int r;

        if (arg_output.json != JSON_FORMAT_OFF) {
                /* The daemon defines that document (hostnamectl's Describe()). */
                _cleanup_json_ json_object *doc = NULL;

                r = bus_describe(bus, &error, &doc);
                if (r == -EBADMSG)
                        return log_error_errno(EBADMSG, "Could not read the daemon's status: invalid JSON.");
                if (r < 0)
                        return log_bus_error(&error, r, "read the daemon's status");
                r = output_json(doc, &arg_output);
                if (r < 0)
                        return r;
                return streq_ptr(json_member_string(doc, "state"), "running") ? 0 : EXIT_NOT_RUNNING;
        }

        r = bus_get_all_properties(bus, SS_BUS_PATH, SS_BUS_IFACE_MANAGER, NULL, &error, &props);
        if (r < 0)
                return log_bus_error(&error, r, "read the daemon's status");
        regions = json_object_object_get_ex(props, "Regions", &v) ? bus_json_to_text(v) : strdup("");
        t = table_new_vertical();
        if (!t || !regions)
                return log_oom();
        if (add_text(t, "state", "State", json_member_string(props, "State")) < 0 ||
            add_text(t, "status", "Status", json_member_string(props, "StatusText")) < 0 ||
            add_text(t, "role", "Role", strdash(json_member_string(props, "Role"))) < 0 ||
            add_text(t, "leader", "Leader", strdash(json_member_string(props, "Leader"))) < 0 ||
            add_text(t, "version", "Version", json_member_string(props, "Version")) < 0 ||
            add_text(t, "tenancy", "Tenancy", strdash(json_member_string(props, "Tenancy"))) < 0 ||
            add_text(t, "regions", "Regions", strdash(regions)) < 0 ||
            add_time(t, "last_refresh", "Last refresh", prop_u64(props, "LastRefresh")) < 0 ||
            table_add_key(t, "compartments", "Compartments") < 0 || table_add_int(t, (int64_t) prop_u64(props, "NCompartments")) < 0 ||
            table_add_key(t, "instances", "Instances") < 0 || table_add_int(t, (int64_t) prop_u64(props, "NInstances")) < 0 ||
            table_add_key(t, "jobs", "Jobs") < 0 || table_add_int(t, (int64_t) prop_u64(props, "NJobs")) < 0)
                return log_oom();
        r = table_print(t, &arg_output);
        if (r < 0)
                return r;
        /* As systemctl is-system-running: scripts can tell "degraded" from "running". */
        return streq_ptr(json_member_string(props, "State"), "running") ? 0 : EXIT_NOT_RUNNING;
}

/* The instance's last finished job as the daemon keeps it (LastJob, from the database: it
 * survives restarts), when no job of it is on the bus any more. */
static int instance_last_job(sd_bus *bus, const char *path, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *kind, *result, *err;
        uint32_t id;
        uint64_t at;

        if (sd_bus_get_property(bus, SS_BUS_NAME, path, SS_BUS_IFACE_INSTANCE, "LastJob", NULL, &reply, "(ussst)") < 0 ||
            sd_bus_message_read(reply, "(ussst)", &id, &kind, &result, &err, &at) < 0 || id == 0)
                return 0;  /* best effort, as instance_job() */
        *ret = strprintf("%" PRIu32 " (%s): %s%s%s", id, kind, isempty(result) ? "done" : result, isempty(err) ? "" : ": ",
                         err);
        return *ret ? 0 : -ENOMEM;
}

/* The instance's newest job (running, or finished within the last minutes: the daemon keeps
 * finished jobs for a while), from ListJobs and the job's own properties. */
static int instance_job(sd_bus *bus, const char *id, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *newest_path = NULL, *newest_kind = NULL, *newest_state = NULL, *result = NULL,
                            *err = NULL;
        const char *kind, *target, *state, *path;
        uint32_t job, newest = 0;
        int r;

        *ret = NULL;
        r = bus_call_method(bus, &bus_manager, "ListJobs", &error, &reply, NULL);
        if (r < 0)
                return 0;  /* best effort: status still shows the rest */
        r = sd_bus_message_enter_container(reply, 'a', "(ussso)");
        if (r < 0)
                return 0;
        while (sd_bus_message_read(reply, "(ussso)", &job, &kind, &target, &state, &path) > 0)
                if (streq(target, id) && job > newest) {
                        newest = job;
                        if (set_str(&newest_path, path) < 0 || set_str(&newest_kind, kind) < 0 ||
                            set_str(&newest_state, state) < 0)
                                return -ENOMEM;
                }
        if (newest == 0)
                return 0;
        if (!streq(newest_state, "done")) {
                *ret = strprintf("%" PRIu32 " (%s, %s)", newest, newest_kind, newest_state);
                return *ret ? 0 : -ENOMEM;
        }
        (void) sd_bus_get_property_string(bus, SS_BUS_NAME, newest_path, SS_BUS_IFACE_JOB, "Result", NULL, &result);
        (void) sd_bus_get_property_string(bus, SS_BUS_NAME, newest_path, SS_BUS_IFACE_JOB, "Error", NULL, &err);
        *ret = strprintf("%" PRIu32 " (%s): %s%s%s", newest, newest_kind, isempty(result) ? "done" : result,
                         isempty(err) ? "" : ": ", strempty(err));
        return *ret ? 0 : -ENOMEM;
}

/* Explain()'s answer: key → {value, source}. */
static int explain_json(sd_bus *bus, const char *path, const char *name, json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        json_object *doc;
        const char *json;
        int r;

        r = bus_call_object(bus, path, SS_BUS_IFACE_INSTANCE, "Explain", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "explain %s", name);
        r = sd_bus_message_read(reply, "s", &json);
        if (r < 0)
                return log_bus_error(NULL, r, "explain %s", name);
        doc = json_tokener_parse(json);
        if (!doc || !json_object_is_type(doc, json_type_object)) {
                json_object_put(doc);
                return log_error_errno(EBADMSG, "Could not explain %s: Explain() returned invalid JSON.", name);
        }
        *ret = doc;
        return 0;
}

/* "compartment:<OCID>" → "compartment tenancy/prod" (the path, when the daemon knows it). */
static char *source_text(sd_bus *bus, const char *source) {
        const char *id = startswith(source, "compartment:");
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *cpath = NULL;
        const char *p;

        if (!id)
                return strdup(source);
        if (bus_call_method(bus, &bus_manager, "GetCompartment", &error, &reply, "s", id) >= 0 &&
            sd_bus_message_read(reply, "o", &p) >= 0 &&
            sd_bus_get_property_string(bus, SS_BUS_NAME, p, SS_BUS_IFACE_COMPARTMENT, "Path", NULL, &cpath) >= 0)
                return strprintf("compartment %s", cpath);
        return strprintf("compartment %s", id);
}

/* A setting for status: "value (source)", the source worded as explain words it. */
static int add_setting(sd_bus *bus, Table *t, json_object *explained, const char *key, const char *label) {
        _cleanup_free_ char *value = NULL, *source = NULL;
        json_object *entry, *v = NULL, *s = NULL;

        if (!json_object_object_get_ex(explained, key, &entry))
                return 0;
        (void) json_object_object_get_ex(entry, "value", &v);
        (void) json_object_object_get_ex(entry, "source", &s);
        value = bus_config_value_text(key, v);
        source = source_text(bus, s ? json_object_get_string(s) : "default");
        if (!value || !source)
                return -ENOMEM;
        if (table_add_key(t, key, label) < 0 || table_add_stringf(t, "%s (%s)", value, source) < 0)
                return -ENOMEM;
        return 0;
}

static const char *explained_string(json_object *explained, const char *key) {
        json_object *entry, *v;
        if (!json_object_object_get_ex(explained, key, &entry) || !json_object_object_get_ex(entry, "value", &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* The schedules that target the instance, and the next firing that acts on it (issue 10). */
static int add_schedules(sd_bus *bus, Table *t, json_object *props) {
        json_object *l = NULL, *next = NULL;
        size_t n;

        if (json_object_object_get_ex(props, "Schedules", &l) && json_object_is_type(l, json_type_array) &&
            (n = json_object_array_length(l)) > 0)
                for (size_t k = 0; k < n; k++) {
                        _cleanup_free_ char *name = NULL;
                        const char *p = json_object_get_string(json_object_array_get_idx(l, k));
                        (void) sd_bus_get_property_string(bus, SS_BUS_NAME, p, SS_BUS_IFACE_SCHEDULE, "Name", NULL,
                                                          &name);
                        if (table_add_key(t, "schedules", k == 0 ? "Schedules" : "") < 0 ||
                            table_add_string(t, name ?: p) < 0)
                                return -ENOMEM;
                }
        if (json_object_object_get_ex(props, "NextAction", &next) && json_object_is_type(next, json_type_array) &&
            json_object_array_length(next) == 3 &&
            !isempty(json_object_get_string(json_object_array_get_idx(next, 0)))) {
                _cleanup_free_ char *name = NULL;
                char a[TIMESTAMP_MAX], b[TIMESTAMP_MAX];
                uint64_t at = json_object_get_uint64(json_object_array_get_idx(next, 1));
                (void) sd_bus_get_property_string(bus, SS_BUS_NAME, json_object_get_string(json_object_array_get_idx(next, 2)),
                                                  SS_BUS_IFACE_SCHEDULE, "Name", NULL, &name);
                if (table_add_key(t, "next_action", "Next action") < 0 ||
                    table_add_stringf(t, "%s at %s (%s), by %s", json_object_get_string(json_object_array_get_idx(next, 0)),
                                      format_timestamp(a, sizeof a, at),
                                      format_timestamp_relative(b, sizeof b, at, now(CLOCK_REALTIME)), strna(name)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Explain()'s "schedules": which schedules apply, what selects the instance, and what their next
 * firing would do to it (issue 10). */
/* "compartment:OCID" (or compartment-only:) as typed: with the compartment's path. */
static char *selected_by_text(sd_bus *bus, const char *sel) {
        const char *colon = sel ? strchr(sel, ':') : NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *cpath = NULL;
        const char *p;

        if (!colon || !(startswith(sel, "compartment:") || startswith(sel, "compartment-only:")))
                return sel ? strdup(sel) : NULL;
        if (bus_call_method(bus, &bus_manager, "GetCompartment", NULL, &reply, "s", colon + 1) >= 0 &&
            sd_bus_message_read(reply, "o", &p) >= 0 &&
            sd_bus_get_property_string(bus, SS_BUS_NAME, p, SS_BUS_IFACE_COMPARTMENT, "Path", NULL, &cpath) >= 0)
                return strprintf("%.*s%s", (int) (colon - sel + 1), sel, cpath);
        return strdup(sel);
}

static int print_explained_schedules(sd_bus *bus, json_object *doc) {
        _cleanup_(table_freep) Table *t = NULL;
        json_object *l = NULL;

        if (!json_object_object_get_ex(doc, "schedules", &l) || !json_object_is_type(l, json_type_array) ||
            json_object_array_length(l) == 0)
                return 0;
        t = table_new("schedule", "action", "selected_by", "decision", "reason", NULL);
        if (!t)
                return log_oom();
        (void) table_set_header(t, "decision", "AT NEXT FIRING");
        for (size_t i = 0; i < json_object_array_length(l); i++) {
                json_object *o = json_object_array_get_idx(l, i), *v;
                _cleanup_free_ char *sel = NULL;
#define FIELD(k) (json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL)
                sel = selected_by_text(bus, FIELD("selected_by"));
                if (table_add_string(t, FIELD("schedule")) < 0 || table_add_string(t, FIELD("action")) < 0 ||
                    table_add_string(t, sel) < 0 || table_add_string(t, FIELD("decision")) < 0 ||
                    table_add_string(t, FIELD("reason")) < 0)
                        return log_oom();
#undef FIELD
        }
        putchar('\n');
        return table_print(t, &arg_output);
}

static int status_instance(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_json_ json_object *props = NULL, *explained = NULL;
        _cleanup_free_ char *path = NULL, *compartment = NULL, *tags = NULL, *job = NULL;
        const char *cpath, *ostate, *note;
        json_object *v;
        int r;

        r = bus_find_instance(bus, name, &path);
        if (r < 0)
                return r;
        r = bus_get_all_properties(bus, path, SS_BUS_IFACE_INSTANCE, NULL, &error, &props);
        if (r < 0)
                return log_bus_error(&error, r, "read instance %s", name);
        if (arg_output.json != JSON_FORMAT_OFF) {
                r = output_json(props, &arg_output);
                if (r < 0)
                        return r;
                return streq_ptr(json_member_string(props, "LifecycleState"), "RUNNING") ? 0 : EXIT_NOT_RUNNING;
        }

        cpath = json_member_string(props, "Compartment");
        if (cpath && !streq(cpath, "/"))
                (void) sd_bus_get_property_string(bus, SS_BUS_NAME, cpath, SS_BUS_IFACE_COMPARTMENT, "Path", NULL,
                                                  &compartment);
        r = instance_job(bus, json_member_string(props, "Id") ?: "", &job);
        if (r >= 0 && !job)
                r = instance_last_job(bus, path, &job);
        if (r < 0)
                return log_oom();
        r = explain_json(bus, path, name, &explained);
        if (r < 0)
                return r;
        tags = json_object_object_get_ex(props, "FreeformTags", &v) ? bus_json_to_text(v) : strdup("");

        t = table_new_vertical();
        if (!t || !tags)
                return log_oom();
        if (add_text(t, "name", "Name", json_member_string(props, "DisplayName")) < 0 ||
            add_text(t, "id", "Id", json_member_string(props, "Id")) < 0 ||
            add_text(t, "state", "State", json_member_string(props, "LifecycleState")) < 0 ||
            add_time(t, "state_observed_at", "Observed", prop_u64(props, "StateObservedAt")) < 0 ||
            add_text(t, "compartment", "Compartment", compartment ?: json_member_string(props, "CompartmentId")) < 0 ||
            add_text(t, "region", "Region", json_member_string(props, "Region")) < 0 ||
            add_text(t, "availability_domain", "Avail. domain", json_member_string(props, "AvailabilityDomain")) < 0 ||
            add_text(t, "fault_domain", "Fault domain", json_member_string(props, "FaultDomain")) < 0 ||
            add_text(t, "shape", "Shape", json_member_string(props, "Shape")) < 0 ||
            add_text(t, "tags", "Tags", strdash(tags)) < 0)
                return log_oom();
        if (job && add_text(t, "job", "Job", job) < 0)
                return log_oom();
        if (add_schedules(bus, t, props) < 0)
                return log_oom();

        /* Each effective setting with where it comes from, as explain names it. */
        if (add_setting(bus, t, explained, "managed", "Managed") < 0 ||
            add_setting(bus, t, explained, "stop_mode", "Stop mode") < 0 ||
            add_setting(bus, t, explained, "soft_stop_timeout", "Soft stop timeout") < 0 ||
            add_setting(bus, t, explained, "priority", "Priority") < 0)
                return log_oom();
        ostate = explained_string(explained, "override_state");
        if (!isempty(ostate)) {
                /* Live: Explain() reports an override only until it ends. */
                json_object *entry, *until = NULL, *s = NULL;
                _cleanup_free_ char *source = NULL;
                char a[TIMESTAMP_MAX], b[TIMESTAMP_MAX];
                uint64_t u = 0;

                if (json_object_object_get_ex(explained, "override_until", &entry) &&
                    json_object_object_get_ex(entry, "value", &until))
                        u = json_object_get_uint64(until);
                if (json_object_object_get_ex(explained, "override_state", &entry))
                        (void) json_object_object_get_ex(entry, "source", &s);
                source = source_text(bus, s ? json_object_get_string(s) : "default");
                if (!source || table_add_key(t, "override", "Override") < 0 ||
                    table_add_stringf(t, "%s until %s, %s (%s)", ostate, format_timestamp(a, sizeof a, u),
                                      format_timestamp_relative(b, sizeof b, u, now(CLOCK_REALTIME)), source) < 0)
                        return log_oom();
        }
        note = explained_string(explained, "note");
        if (!isempty(note) && add_setting(bus, t, explained, "note", "Note") < 0)
                return log_oom();
        r = table_print(t, &arg_output);
        if (r < 0)
                return r;
        /* As systemctl status UNIT: 3 when it is not running. */
        return streq_ptr(json_member_string(props, "LifecycleState"), "RUNNING") ? 0 : EXIT_NOT_RUNNING;
}

int verb_is_running(int argc, char *argv[], void *userdata) {
        sd_bus *bus = userdata;
        int ret = 0;

        for (int i = 1; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *path = NULL, *state = NULL;
                int r;

                r = bus_find_instance(bus, argv[i], &path);
                if (r < 0)
                        return r;
                r = sd_bus_get_property_string(bus, SS_BUS_NAME, path, SS_BUS_IFACE_INSTANCE, "LifecycleState", &error,
                                               &state);
                if (r < 0)
                        return log_bus_error(&error, r, "read instance %s", argv[i]);
                if (!arg_quiet)
                        puts(state);
                if (!streq(state, "RUNNING"))
                        ret = EXIT_NOT_RUNNING;
        }
        return fflush(stdout) == 0 ? ret : -EIO;
}

int verb_object_status(int argc, char *argv[], void *userdata) {
        sd_bus *bus = userdata;
        return argc > 1 ? status_instance(bus, argv[1]) : status_daemon(bus);
}

/* ---- start, stop, reboot ------------------------------------------------------------------------- */

int verb_action(int argc, char *argv[], void *userdata) {
        _cleanup_(job_waiter_freep) JobWaiter *w = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        const char *method = streq(argv[0], "start") ? "Start" : streq(argv[0], "stop") ? "Stop" : "Reboot";
        sd_bus *bus = userdata;
        int r, ret = 0;

        /* Every name resolves before anything is done: a typo acts on none. */
        for (int i = 1; i < argc; i++) {
                char *p = NULL;
                r = bus_find_instance(bus, argv[i], &p);
                if (r < 0)
                        return r;
                if (strv_consume(&paths, p) < 0)
                        return log_oom();
        }

        r = job_waiter_new(bus, &w);
        if (r < 0)
                return r;

        for (int i = 1; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                const char *job;

                if (streq(method, "Start"))
                        r = bus_call_object(bus, paths[i - 1], SS_BUS_IFACE_INSTANCE, method, &error, &reply, NULL);
                else
                        r = bus_call_object(bus, paths[i - 1], SS_BUS_IFACE_INSTANCE, method, &error, &reply, "s",
                                            strempty(arg_stop_mode));
                if (r >= 0)
                        r = sd_bus_message_read(reply, "o", &job);
                if (r < 0) {
                        r = log_bus_error(&error, r, "%s %s", argv[0], argv[i]);
                        if (ret == 0)
                                ret = r;
                        continue;
                }
                r = job_waiter_add(w, job, argv[0], argv[i]);
                if (r < 0)
                        return r;
        }

        if (!arg_no_block) {
                r = job_waiter_wait(w);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        r = job_waiter_print(w, !arg_no_block);
        return ret < 0 ? ret : r;
}

/* ---- set-config ---------------------------------------------------------------------------------- */

int verb_set_config(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *path = NULL;
        sd_bus *bus = userdata;
        int r;

        r = bus_find_instance(bus, argv[1], &path);
        if (r < 0)
                return r;
        r = bus_new_method_call(bus, path, SS_BUS_IFACE_INSTANCE, "SetConfig", &m);
        if (r < 0)
                return log_oom();
        r = bus_append_settings(m, argv + 2);
        if (r < 0)
                return r;
        r = bus_call(bus, m, &error, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "configure %s", argv[1]);
        return 0;
}

/* ---- explain ---------------------------------------------------------------------------------------- */

/* explain --json: the settings' rows, then one row per schedule that would act on the instance
 * (key "schedule", value its name, source what selected it, with its action, decision and reason),
 * so that a script sees what the text shows. */
static int explain_output_json(Table *t, json_object *doc) {
        _cleanup_json_ json_object *rows = table_to_json(t);
        json_object *l;

        if (!rows)
                return log_oom();
        if (json_object_object_get_ex(doc, "schedules", &l) && json_object_is_type(l, json_type_array))
                for (size_t i = 0; i < json_object_array_length(l); i++) {
                        json_object *o = json_object_array_get_idx(l, i), *row = json_object_new_object(), *v;
#define COPY(from, to) (json_object_object_add(row, to, json_object_object_get_ex(o, from, &v) && \
                                                         !isempty(json_object_get_string(v)) ? \
                                                         json_object_get(v) : NULL) < 0)
                        if (!row || json_object_object_add(row, "key", json_object_new_string("schedule")) < 0 ||
                            COPY("schedule", "value") || COPY("selected_by", "source") || COPY("action", "action") ||
                            COPY("decision", "decision") || COPY("reason", "reason") ||
                            json_object_array_add(rows, row) < 0) {
                                json_object_put(row);
                                return log_oom();
                        }
#undef COPY
                }
        return output_json(rows, &arg_output);
}

int verb_explain(int argc, char *argv[], void *userdata) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_json_ json_object *doc = NULL, *sources = NULL;
        _cleanup_free_ char *path = NULL;
        sd_bus *bus = userdata;
        int r;

        r = bus_find_instance(bus, argv[1], &path);
        if (r < 0)
                return r;
        r = explain_json(bus, path, argv[1], &doc);
        if (r < 0)
                return r;

        t = table_new("key", "value", "shown", "source", "from", NULL);
        sources = json_object_new_object();  /* source → text, each looked up once */
        if (!t || !sources)
                return log_oom();
        (void) table_set_header(t, "shown", "VALUE");
        (void) table_set_header(t, "from", "SOURCE");
        (void) table_set_display(t, "key", "shown", "from", NULL);
        (void) table_hide_from_json(t, "shown");
        (void) table_hide_from_json(t, "from");

        json_object_object_foreach(doc, key, entry) {
                json_object *v = NULL, *s = NULL, *cached;
                _cleanup_free_ char *shown = NULL;
                const char *source;

                /* The schedules that apply are listed after the settings. */
                if (streq(key, "schedules"))
                        continue;

                (void) json_object_object_get_ex(entry, "value", &v);
                (void) json_object_object_get_ex(entry, "source", &s);
                source = s ? json_object_get_string(s) : "";
                if (!json_object_object_get_ex(sources, source, &cached)) {
                        _cleanup_free_ char *text = source_text(bus, source);
                        if (!text)
                                return log_oom();
                        cached = json_object_new_string(text);
                        if (!cached || json_object_object_add(sources, source, cached) < 0)
                                return log_oom();
                }
                shown = bus_config_value_text(key, v);
                if (!shown)
                        return log_oom();

                r = table_add_string(t, key);
                if (r >= 0) {
                        if (json_object_is_type(v, json_type_boolean))
                                r = table_add_bool(t, json_object_get_boolean(v));
                        else if (json_object_is_type(v, json_type_int))
                                r = table_add_int(t, json_object_get_int64(v));
                        else    /* "no value" (an unset note, no override) is null, as everywhere */
                                r = table_add_string(t, v && !isempty(json_object_get_string(v)) ?
                                                     json_object_get_string(v) : NULL);
                }
                if (r < 0 || table_add_string(t, shown) < 0 || table_add_string(t, source) < 0 ||
                    table_add_string(t, json_object_get_string(cached)) < 0)
                        return log_oom();
        }
        if (arg_output.json != JSON_FORMAT_OFF)
                return explain_output_json(t, doc);
        r = table_print(t, &arg_output);
        if (r < 0)
                return r;
        return print_explained_schedules(bus, doc);
}

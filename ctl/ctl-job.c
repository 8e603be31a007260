/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stopstartctl list-jobs, cancel, refresh, history. */
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

/* id → display name (instances), path (compartments) or name (schedules, keyed "schedule/ID": the
 * history names them by id), for human output only: best effort. */
static json_object *object_names(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *rc = NULL, *rs = NULL;
        _cleanup_(bus_pages_freep) sd_bus_message **pages = NULL;
        json_object *names = json_object_new_object();
        const char *id, *name, *a, *b, *c, *d, *path, *o;
        uint32_t u;
        int managed;

        if (!names)
                return NULL;
        if (bus_list_instances_pages(bus, NULL, NULL, NULL, &pages) >= 0)
                for (size_t p = 0; pages[p]; p++)
                        if (sd_bus_message_enter_container(pages[p], 'a', "(ssssssbo)") >= 0)
                                while (sd_bus_message_read(pages[p], "(ssssssbo)", &id, &name, &a, &b, &c, &d, &managed,
                                                           &o) > 0)
                                        json_object_object_add(names, id, json_object_new_string(name));
        if (bus_call_method(bus, &bus_manager, "ListCompartments", NULL, &rc, NULL) >= 0 &&
            sd_bus_message_enter_container(rc, 'a', "(ssssuo)") >= 0)
                while (sd_bus_message_read(rc, "(ssssuo)", &id, &name, &path, &a, &u, &o) > 0)
                        json_object_object_add(names, id, json_object_new_string(path));
        if (bus_call_method(bus, &bus_manager, "ListSchedules", NULL, &rs, NULL) >= 0 &&
            sd_bus_message_enter_container(rs, 'a', "(ossbtt)") >= 0) {
                uint64_t next, last;
                while (sd_bus_message_read(rs, "(ossbtt)", &o, &name, &a, &managed, &next, &last) > 0) {
                        const char *sid = strrchr(o, '/');
                        _cleanup_free_ char *key = sid ? strprintf("schedule%s", sid) : NULL;
                        if (key)
                                json_object_object_add(names, key, json_object_new_string(name));
                }
        }
        return names;
}

static const char *object_name(json_object *names, const char *id) {
        json_object *v;
        if (names && json_object_object_get_ex(names, id, &v))
                return json_object_get_string(v);
        return id;
}

/* A history entry's object: schedules by name while they exist (the entry has their id). */
static const char *history_object_name(json_object *names, const char *kind, const char *id) {
        _cleanup_free_ char *key = NULL;
        json_object *v;

        if (!streq(kind, "schedule"))
                return object_name(names, id);
        key = strprintf("schedule/%s", id);
        if (key && names && json_object_object_get_ex(names, key, &v))
                return json_object_get_string(v);
        return id;
}

/* ---- list-jobs ---------------------------------------------------------------------------------------- */

int verb_list_jobs(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_json_ json_object *names = NULL;
        _cleanup_free_ char *result = NULL, *err = NULL;
        sd_bus *bus = userdata;
        const char *kind, *target, *state, *path;
        uint32_t id;
        int r;

        r = bus_call_method(bus, &bus_manager, "ListJobs", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "list jobs");

        t = table_new("id", "kind", "target", "target_name", "state", "result", "error", "object", NULL);
        if (!t)
                return log_oom();
        (void) table_set_header(t, "id", "JOB");
        (void) table_set_header(t, "target_name", "INSTANCE");
        (void) table_set_display(t, "id", "kind", "target_name", "state", "result", NULL);
        (void) table_hide_from_json(t, "target_name");

        r = sd_bus_message_enter_container(reply, 'a', "(ussso)");
        if (r < 0)
                return log_bus_error(NULL, r, "read the jobs");
        for (;;) {
                r = sd_bus_message_read(reply, "(ussso)", &id, &kind, &target, &state, &path);
                if (r < 0)
                        return log_bus_error(NULL, r, "read the jobs");
                if (r == 0)
                        break;
                if (!names && arg_output.json == JSON_FORMAT_OFF)
                        names = object_names(bus);
                /* ListJobs has no result: a finished job's own properties say it (null while it runs
                 * and when there is no error). */
                result = mfree(result);
                err = mfree(err);
                if (streq(state, "done")) {
                        (void) sd_bus_get_property_string(bus, SS_BUS_NAME, path, SS_BUS_IFACE_JOB, "Result", NULL,
                                                          &result);
                        (void) sd_bus_get_property_string(bus, SS_BUS_NAME, path, SS_BUS_IFACE_JOB, "Error", NULL, &err);
                }
                if (table_add_int(t, id) < 0 || table_add_string(t, kind) < 0 || table_add_string(t, target) < 0 ||
                    table_add_string(t, isempty(target) ? "-" : object_name(names, target)) < 0 ||
                    table_add_string(t, state) < 0 || table_add_string(t, isempty(result) ? NULL : result) < 0 ||
                    table_add_string(t, isempty(err) ? NULL : err) < 0 || table_add_string(t, path) < 0)
                        return log_oom();
        }
        (void) table_set_footer(t, "%zu job%s listed.", table_get_rows(t), table_get_rows(t) == 1 ? "" : "s");
        (void) table_set_empty_text(t, "No jobs.");
        pager_open(&arg_output);
        return table_print(t, &arg_output);
}

/* ---- cancel --------------------------------------------------------------------------------------------- */

int verb_cancel(int argc, char *argv[], void *userdata) {
        sd_bus *bus = userdata;
        int r, ret = 0;

        for (int i = 1; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *path = NULL;
                char buf[NAME_TEXT_MAX];

                r = bus_job_path(argv[i], &path, NULL);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(EINVAL, "Could not cancel %s: not a job number.", name_text(argv[i], buf));
                r = bus_call_object(bus, path, SS_BUS_IFACE_JOB, "Cancel", &error, NULL, NULL);
                if (r < 0 && sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE,
                                                    SD_BUS_ERROR_UNKNOWN_METHOD))
                        r = log_error_errno(ENXIO, "Could not cancel job %s: no such job.", name_text(argv[i], buf));
                else if (r < 0)
                        r = log_bus_error(&error, r, "cancel job %s", argv[i]);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

/* ---- refresh -------------------------------------------------------------------------------------------- */

int verb_refresh(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(job_waiter_freep) JobWaiter *w = NULL;
        sd_bus *bus = userdata;
        const char *job;
        int r;

        r = job_waiter_new(bus, &w);
        if (r < 0)
                return r;
        r = bus_call_method(bus, &bus_manager, "Refresh", &error, &reply, NULL);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return log_bus_error(&error, r, "refresh the inventory");
        r = job_waiter_add(w, job, "refresh", NULL);
        if (r < 0)
                return r;
        if (!arg_no_block) {
                r = job_waiter_wait(w);
                if (r < 0)
                        return r;
        }
        return job_waiter_print(w, !arg_no_block);
}

/* ---- reload --------------------------------------------------------------------------------------------- */

int verb_reload(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus = userdata;
        int r;

        r = bus_call_method(bus, &bus_manager, "Reload", &error, NULL, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "reload the configuration");
        return 0;
}

/* ---- history -------------------------------------------------------------------------------------------- */

/* {"old":{…},"new":{…}} → "managed: no → yes, note: - → x"; other shapes compact. config: a
 * set-config/set-defaults entry, where a key left out is an inherited setting. */
static char *details_text(const char *details, bool config) {
        _cleanup_json_ json_object *d = json_tokener_parse(details);
        _cleanup_free_ char *out = NULL;
        json_object *old = NULL, *new = NULL;
        size_t len = 0;

        if (!d || !json_object_is_type(d, json_type_object))
                return strdup(details);
        (void) json_object_object_get_ex(d, "old", &old);
        (void) json_object_object_get_ex(d, "new", &new);
        if (!json_object_is_type(new, json_type_object) || (old && !json_object_is_type(old, json_type_object)))
                return strdup(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN));

        out = strdup("");
        if (!out)
                return NULL;
        /* Keys in either, each once: removed ones show as inherited (config) or as none. */
        for (int pass = 0; pass < 2; pass++) {
                json_object *from = pass == 0 ? new : old;
                if (!from)
                        continue;
                json_object_object_foreach(from, k, v) {
                        json_object *a = NULL, *b = NULL;
                        _cleanup_free_ char *ta = NULL, *tb = NULL, *piece = NULL;
                        bool has_a, has_b;
                        char *n;

                        if (pass == 1 && json_object_object_get_ex(new, k, NULL))
                                continue;
                        has_a = old && json_object_object_get_ex(old, k, &a);
                        has_b = json_object_object_get_ex(new, k, &b);
                        if ((a && b && json_object_equal(a, b)) || (has_a && has_b && !a && !b))
                                continue;
                        /* Present as null, or left out of another kind of entry: no value. */
                        ta = (has_a || !config) && !a ? strdup("-") : bus_config_value_text(k, a);
                        tb = (has_b || !config) && !b ? strdup("-") : bus_config_value_text(k, b);
                        if (!ta || !tb)
                                return NULL;
                        if (isempty(ta) && !(free(ta), ta = strdup("-")))
                                return NULL;
                        if (isempty(tb) && !(free(tb), tb = strdup("-")))
                                return NULL;
                        if (old && streq(ta, tb))   /* e.g. null and 0, both shown as none */
                                continue;
                        piece = old ? strprintf("%s%s: %s %s %s", len ? ", " : "", k, ta, glyph(GLYPH_ARROW), tb)
                                    : strprintf("%s%s=%s", len ? ", " : "", k, tb);
                        if (!piece)
                                return NULL;
                        n = realloc(out, len + strlen(piece) + 1);
                        if (!n)
                                return NULL;
                        out = n;
                        strcpy(out + len, piece);
                        len += strlen(piece);
                        (void) v;
                }
        }
        return len ? TAKE_PTR(out) : strdup("-");
}

int verb_audit_history(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_json_ json_object *names = NULL;
        _cleanup_free_ char *instance = NULL;
        sd_bus *bus = userdata;
        int r;

        if (arg_instance) {
                r = bus_resolve_instance_filter(bus, arg_instance, &instance);
                if (r < 0)
                        return r;
        }
        r = bus_new_method_call(bus, SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "History", &m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && instance)
                r = sd_bus_message_append(m, "{sv}", "instance", "s", instance);
        if (r >= 0 && arg_compartment)
                r = sd_bus_message_append(m, "{sv}", "compartment", "s", arg_compartment);
        if (r >= 0 && arg_since != USEC_INFINITY)
                r = sd_bus_message_append(m, "{sv}", "since", "t", (uint64_t) arg_since);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_oom();
        r = bus_call(bus, m, &error, &reply);
        if (r < 0)
                return log_bus_error(&error, r, "read the history");

        t = table_new("id", "time", "when", "actor", "uid", "operation", "object_kind", "object_id", "object",
                      "details", "change", NULL);
        if (!t)
                return log_oom();
        (void) table_set_header(t, "when", "TIME");
        (void) table_set_header(t, "object_kind", "KIND");
        (void) table_set_header(t, "change", "DETAILS");
        (void) table_set_display(t, "when", "actor", "operation", "object_kind", "object", "change", NULL);
        (void) table_hide_from_json(t, "when");
        (void) table_hide_from_json(t, "object");
        (void) table_hide_from_json(t, "change");

        r = sd_bus_message_enter_container(reply, 'a', "(ttsussss)");
        if (r < 0)
                return log_bus_error(NULL, r, "read the history");
        for (;;) {
                const char *actor, *op, *kind, *object_id, *details;
                _cleanup_free_ char *change = NULL;
                uint64_t id, time;
                uint32_t uid;
                char when[TIMESTAMP_MAX];

                r = sd_bus_message_read(reply, "(ttsussss)", &id, &time, &actor, &uid, &op, &kind, &object_id, &details);
                if (r < 0)
                        return log_bus_error(NULL, r, "read the history");
                if (r == 0)
                        break;
                if (!names && arg_output.json == JSON_FORMAT_OFF)
                        names = object_names(bus);
                change = arg_output.json == JSON_FORMAT_OFF
                         ? details_text(details, streq(op, "set-config") || streq(op, "set-defaults"))
                         : strdup("");
                if (!change)
                        return log_oom();
                if (table_add_int(t, (int64_t) id) < 0 || table_add_int(t, (int64_t) time) < 0 ||
                    table_add_string(t, format_timestamp(when, sizeof when, time)) < 0 ||
                    table_add_string(t, actor) < 0 || table_add_int(t, uid) < 0 || table_add_string(t, op) < 0 ||
                    table_add_string(t, kind) < 0 || table_add_string(t, object_id) < 0 ||
                    table_add_string(t, isempty(object_id) ? "-" : history_object_name(names, kind, object_id)) < 0 ||
                    table_add_json(t, details) < 0 || table_add_string(t, change) < 0)
                        return log_oom();
        }
        (void) table_set_footer(t, "%zu entr%s.", table_get_rows(t), table_get_rows(t) == 1 ? "y" : "ies");
        (void) table_set_empty_text(t, "No history.");
        pager_open(&arg_output);
        return table_print(t, &arg_output);
}

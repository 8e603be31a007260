/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <strings.h>

#include "audit-store.h"
#include "bus-dict.h"
#include "bus-error.h"
#include "bus-polkit.h"
#include "compartment-dbus.h"
#include "instance-dbus.h"
#include "job-dbus.h"
#include "leader.h"
#include "log.h"
#include "manager-dbus.h"
#include "schedule-dbus.h"
#include "strv.h"

#define HISTORY_LIMIT_DEFAULT 1000U
#define HISTORY_LIMIT_MAX 100000U

/* The instance a caller names, or the error saying why there is none: an ambiguous name lists
 * its candidates. */
static int resolve_instance(Manager *m, const char *name, Instance **ret, sd_bus_error *error) {
        _cleanup_strv_free_ char **candidates = NULL;
        int r;

        r = manager_resolve_instance(m, name, ret, &candidates);
        if (r == -ENOTUNIQ) {
                size_t n = strv_length(candidates);
                _cleanup_free_ char *list = NULL;
                for (size_t k = 10; k < n; k++)
                        candidates[k] = mfree(candidates[k]);
                list = strv_join(candidates, ", ");
                return bus_error_errnof(error, -ENOTUNIQ, BUS_SUBJECT_NONE, "Name '%s' matches %zu instances: %s%s",
                                        bus_echo(name), n, strempty(list), n > 10 ? ", ..." : "");
        }
        if (r == -ENXIO)
                return bus_error_errnof(error, -ENXIO, BUS_SUBJECT_INSTANCE, "No instance '%s' known.", bus_echo(name));
        return r;
}

/* The compartment a caller names (OCID or path), or NoSuchCompartment. */
static int resolve_compartment(Manager *m, const char *name, Compartment **ret, sd_bus_error *error) {
        *ret = manager_find_compartment(m, name);
        if (!*ret)
                return bus_error_errnof(error, -ENXIO, BUS_SUBJECT_COMPARTMENT, "No compartment '%s' known.",
                                        bus_echo(name));
        return 0;
}

static int check_view(sd_bus_message *message, Manager *m, sd_bus_error *error) {
        return bus_verify_polkit_async(message, SS_POLKIT_VIEW, NULL, m->polkit, error);
}

/* ---- properties --------------------------------------------------------------------------------- */

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PROJECT_VERSION);
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        return sd_bus_message_append(reply, "s", manager_state_to_string(m->state));
}

static int property_get_role(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", manager_role(ASSERT_PTR(userdata)));
}

static int property_get_leader(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", manager_leader(ASSERT_PTR(userdata)));
}

static int property_get_tenancy(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        return sd_bus_message_append(reply, "s", m->root ? m->root->id : "");
}

static int property_get_regions(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        return sd_bus_message_append_strv(reply, m->regions);
}

static int property_get_counts(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        uint32_t n = 0;

        if (streq(property, "NCompartments"))
                n = (uint32_t) lh_table_length(m->compartments);
        else if (streq(property, "NInstances"))
                n = (uint32_t) lh_table_length(m->instances);
        else {
                struct lh_entry *e;
                lh_foreach(m->jobs, e)
                        if (((Job *) lh_entry_v(e))->state != JOB_DONE)
                                n++;
        }
        return sd_bus_message_append(reply, "u", n);
}

/* ---- lists and lookups ------------------------------------------------------------------------------- */

static int method_list_compartments(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        struct lh_entry *e;
        int r;

        r = check_view(message, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssssuo)");
        if (r < 0)
                return r;
        lh_foreach(m->compartments, e) {
                Compartment *c = lh_entry_v(e);
                _cleanup_free_ char *p = compartment_bus_path(c);
                if (!p)
                        return -ENOMEM;
                r = sd_bus_message_append(reply, "(ssssuo)", c->id, c->name, c->path, c->lifecycle_state,
                                          c->n_instances, p);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The most an answer may carry: dbus-daemon drops a peer for a message over max_message_size
 * (32 MiB by default) and dbus-broker's per-peer quotas are tighter; answers that could grow
 * past this with the tenancy are refused with TooLarge instead, naming how to page. */
#define BUS_ANSWER_MAX_DEFAULT (16U * 1024U * 1024U - 64U * 1024U)
#define BUS_ANSWER_MAX_MIN (4U * 1024U)

/* $STOPSTART_BUS_ANSWER_MAX (bytes) lowers the bound, never raises it: for a broker configured
 * tighter, and for tests, which scale it down with their tenancy so that a small one takes the
 * paths of a large one. */
static uint64_t bus_answer_max(void) {
        const char *e = getenv("STOPSTART_BUS_ANSWER_MAX");
        unsigned long long v;
        char *end;

        if (!e)
                return BUS_ANSWER_MAX_DEFAULT;
        errno = 0;
        v = strtoull(e, &end, 10);
        if (errno != 0 || end == e || *end != 0 || v < BUS_ANSWER_MAX_MIN || v > BUS_ANSWER_MAX_DEFAULT)
                return BUS_ANSWER_MAX_DEFAULT;
        return v;
}
#define BUS_ANSWER_MAX bus_answer_max()

/* ret_effective: also accept DescribeInstances' option "effective" (NULL: ListInstances, which has none). */
static int read_instance_query(sd_bus_message *message, Manager *m, InstanceQuery *q, int *ret_effective,
                               sd_bus_error *error) {
        const char *compartment = NULL;
        int recursive = false;
        bool managed_given = false;
        int r;

        *q = (InstanceQuery) { .managed = -1 };

        const BusDictKey keys[] = {
                { "compartment", 's', &compartment },
                { "recursive", 'b', &recursive },
                { "state", 's', &q->state },
                { "name", 's', &q->name },
                { "managed", 'b', &q->managed, &managed_given },
                { "limit", 'u', &q->limit },
                { "after", 's', &q->after },
                { "effective", 'b', ret_effective },
        };
        r = bus_read_dict(message, keys, ELEMENTSOF(keys) - !ret_effective, "filter", error);
        if (r < 0)
                return r;
        q->recursive = recursive;
        if (managed_given)
                q->managed = !!q->managed;
        if (compartment) {
                r = resolve_compartment(m, compartment, &q->compartment, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int too_large(sd_bus_error *error, const char *method, size_t n, uint64_t bytes, const char *how) {
        return bus_error_errnof(error, -EMSGSIZE, BUS_SUBJECT_NONE,
                                "%s would answer %zu instances in %.1f MiB, more than one answer may carry (%.1f MiB): %s.",
                                method, n, (double) bytes / (1024.0 * 1024.0), (double) BUS_ANSWER_MAX / (1024.0 * 1024.0),
                                how);
}

/* A string's share of a message: length, NUL, and up to 3 bytes of alignment. */
static uint64_t string_size(const char *s) {
        return 4 + strlen(s) + 1 + 3;
}

static int method_list_instances(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ Instance **l = NULL;
        uint64_t now = manager_now(), bytes = 64;
        InstanceQuery q;
        size_t n = 0;
        int r;

        r = read_instance_query(message, m, &q, NULL, error);
        if (r < 0)
                return r;
        r = check_view(message, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_query_instances(m, &q, &l, &n, NULL);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssssssbo)");
        if (r < 0)
                return r;
        for (size_t k = 0; k < n; k++) {
                Instance *i = l[k];
                InstanceConfig eff;
                _cleanup_free_ char *p = instance_bus_path(i);

                if (!p)
                        return -ENOMEM;
                bytes += 8 + string_size(strempty(i->id)) + string_size(strempty(i->display_name)) +
                         string_size(strempty(i->compartment_id)) + string_size(strempty(i->region)) +
                         string_size(strempty(i->shape)) + string_size(strempty(i->lifecycle_state)) + 4 +
                         string_size(p);
                if (bytes > BUS_ANSWER_MAX)
                        return too_large(error, "ListInstances", n, bytes * n / (k + 1),
                                         "page with the filters 'limit' and 'after' (the last OCID of a page), or "
                                         "narrow with 'compartment'");
                instance_effective_config(i, now, &eff);
                r = sd_bus_message_append(reply, "(ssssssbo)", i->id, i->display_name, i->compartment_id, i->region,
                                          i->shape, i->lifecycle_state, (int) eff.managed, p);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_describe_instances(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_free_ Instance **l = NULL;
        _cleanup_free_ char *json = NULL;
        InstanceQuery q;
        bool more = false;
        int effective = true;
        size_t n = 0;
        int r;

        r = read_instance_query(message, m, &q, &effective, error);
        if (r < 0)
                return r;
        r = check_view(message, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_query_instances(m, &q, &l, &n, &more);
        if (r < 0)
                return r;
        r = manager_describe_instances(m, l, n, more, effective, &json);
        if (r < 0)
                return r;
        if (strlen(json) > BUS_ANSWER_MAX)
                return too_large(error, "DescribeInstances", n, strlen(json),
                                 "page with the filters 'limit' and 'after' (the answer's \"next\")");
        return sd_bus_reply_method_return(message, "s", json);
}

/* Answers a Get*() with the object's path (owned; NULL: out of memory) once the caller may view. */
static int reply_object_path(sd_bus_message *message, Manager *m, char *path, sd_bus_error *error) {
        _cleanup_free_ char *p = path;
        int r;

        r = check_view(message, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (!p)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "o", p);
}

static int method_get_compartment(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        const char *name;
        Compartment *c;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        r = resolve_compartment(m, name, &c, error);
        if (r < 0)
                return r;
        return reply_object_path(message, m, compartment_bus_path(c), error);
}

static int method_get_instance(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        const char *name;
        Instance *i;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        r = resolve_instance(m, name, &i, error);
        if (r < 0)
                return r;
        return reply_object_path(message, m, instance_bus_path(i), error);
}

static int method_list_jobs(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        struct lh_entry *e;
        int r;

        r = check_view(message, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ussso)");
        if (r < 0)
                return r;
        lh_foreach(m->jobs, e) {
                Job *j = lh_entry_v(e);
                _cleanup_free_ char *p = job_bus_path(j);
                if (!p)
                        return -ENOMEM;
                r = sd_bus_message_append(reply, "(ussso)", j->id, job_kind_to_string(j->kind), j->target,
                                          job_state_to_string(j->state), p);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_describe(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_free_ char *json = NULL;
        int r;

        r = check_view(message, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_describe(m, &DESCRIBE_OPTIONS_DEFAULT, &json);
        if (r < 0)
                return r;
        if (strlen(json) > BUS_ANSWER_MAX) {
                /* Refused: the next caller pages; keeping it cached would only hold its memory. */
                size_t size = strlen(json);
                json = mfree(json);
                manager_invalidate_describe(m);
                return too_large(error, "Describe", lh_table_length(m->instances), size,
                                 "read it with DescribeWith({\"instances\": false}) and the instances with "
                                 "DescribeInstances({\"limit\": N, \"after\": …})");
        }
        return sd_bus_reply_method_return(message, "s", json);
}

static int method_describe_with(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_free_ char *json = NULL;
        int instances = true, effective = true, subtree_states = false;
        int r;

        const BusDictKey keys[] = {
                { "instances", 'b', &instances },
                { "effective", 'b', &effective },
                { "subtree_states", 'b', &subtree_states },
        };
        r = bus_read_dict(message, keys, ELEMENTSOF(keys), "option", error);
        if (r < 0)
                return r;
        r = check_view(message, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_describe(m, &(DescribeOptions) { .instances = instances, .effective = effective,
                                                      .subtree_states = subtree_states }, &json);
        if (r < 0)
                return r;
        if (strlen(json) > BUS_ANSWER_MAX) {
                size_t size = strlen(json);
                json = mfree(json);
                if (instances && effective && !subtree_states)
                        manager_invalidate_describe(m);   /* the cached document: see Describe() */
                return too_large(error, "DescribeWith", lh_table_length(m->instances), size,
                                 "leave the instances out ({\"instances\": false}) and read them with "
                                 "DescribeInstances({\"limit\": N, \"after\": …})");
        }
        return sd_bus_reply_method_return(message, "s", json);
}

/* ---- operations ------------------------------------------------------------------------------------- */

static int method_refresh(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        int r;

        /* One refresh at a time: asking again while one runs returns that one. */
        if (m->refresh_job) {
                _cleanup_free_ char *p = job_bus_path(m->refresh_job);
                if (!p)
                        return -ENOMEM;
                return sd_bus_reply_method_return(message, "o", p);
        }
        if (!m->db || db_get_state(m->db) != DB_CONNECTED)
                return bus_error_errno(error, -ENOTCONN, BUS_SUBJECT_DATABASE, m->db ? db_last_error(m->db) : NULL);
        if (!manager_is_leader(m))
                return bus_error_not_leader(error, manager_leader(m));

        const char *details[] = { "verb", "refresh", NULL };
        r = bus_verify_polkit_async(message, SS_POLKIT_OPERATE, details, m->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;  /* polkit will call us back */

        sd_bus_message_ref(message);
        r = job_create(m, JOB_REFRESH, "", STOP_MODE_SOFT, bus_message_sender_uid(message), bus_reply_job_queued, message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return bus_error_errno(error, r, BUS_SUBJECT_DATABASE, NULL);
        }
        return 1;
}

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_free_ char *err = NULL;
        int r;

        const char *details[] = { "verb", "reload", NULL };
        r = bus_verify_polkit_async(message, SS_POLKIT_CONFIGURE, details, m->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;  /* polkit will call us back */

        r = manager_reload_config(m, bus_message_sender_uid(message), &err);
        if (r < 0)
                return bus_error_errnof(error, -EINVAL, BUS_SUBJECT_NONE,
                                         "The configuration was not reloaded (the running one stays): %s",
                                         err ?: strerror(-r));
        return sd_bus_reply_method_return(message, NULL);
}

/* ---- history ------------------------------------------------------------------------------------- */

static void on_history(int error, const StoreRows *rows, const char *message, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = userdata, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        size_t n = store_rows_count(rows);
        HistoryRow h;
        int k;

        if (error < 0) {
                (void) bus_error_errno(&e, error, BUS_SUBJECT_DATABASE_READ, message);
                (void) bus_reply_error(msg, &e);
                return;
        }

        /* the same bound as every answer: long details could make 100,000 entries ~30 MB */
        uint64_t bytes = 64;
        for (size_t row = 0; row < n; row++) {
                history_row_get(rows, row, &h);
                bytes += 8 + 8 + 8 + 4;
                const char *strings[] = { h.actor, h.operation, h.object_kind, h.object_id, h.details };
                for (size_t x = 0; x < ELEMENTSOF(strings); x++)
                        bytes += 4 + (uint64_t) strlen(strings[x]) + 1 + 3;
        }
        if (bytes > BUS_ANSWER_MAX) {
                (void) bus_error_errnof(&e, -EMSGSIZE, BUS_SUBJECT_NONE,
                                        "History would answer %zu entries in %.1f MiB, more than one answer may carry "
                                        "(%.1f MiB): lower 'limit', or narrow with 'since', 'until', 'instance' or "
                                        "'compartment'.", n, (double) bytes / (1024.0 * 1024.0),
                                        (double) BUS_ANSWER_MAX / (1024.0 * 1024.0));
                (void) bus_reply_error(msg, &e);
                return;
        }

        k = sd_bus_message_new_method_return(msg, &reply);
        if (k >= 0)
                k = sd_bus_message_open_container(reply, 'a', "(ttsussss)");
        for (size_t row = 0; k >= 0 && row < n; row++) {
                history_row_get(rows, row, &h);
                k = sd_bus_message_append(reply, "(ttsussss)", h.id, h.at, h.actor, h.actor_uid, h.operation,
                                          h.object_kind, h.object_id, h.details);
        }
        if (k >= 0)
                k = sd_bus_message_close_container(reply);
        if (k >= 0)
                k = sd_bus_send(NULL, reply, NULL);
        if (k < 0)
                (void) sd_bus_reply_method_errno(msg, -k, NULL);
}

static int method_history(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        const char *instance = NULL, *compartment = NULL;
        uint64_t since = 0, until = 0;
        uint32_t limit = HISTORY_LIMIT_DEFAULT;
        int r;

        const BusDictKey keys[] = {
                { "instance", 's', &instance },
                { "compartment", 's', &compartment },
                { "since", 't', &since },
                { "until", 't', &until },
                { "limit", 'u', &limit },
        };
        r = bus_read_dict(message, keys, ELEMENTSOF(keys), "filter", error);
        if (r < 0)
                return r;
        if (since > (uint64_t) INT64_MAX / 2 || until > (uint64_t) INT64_MAX / 2)
                return bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The filter '%s' is out of range.",
                                      since > (uint64_t) INT64_MAX / 2 ? "since" : "until");
        if (limit == 0)
                limit = HISTORY_LIMIT_DEFAULT;
        if (limit > HISTORY_LIMIT_MAX)
                return bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The filter 'limit' is at most %u.",
                                      HISTORY_LIMIT_MAX);

        /* Names resolve through what we know; an OCID we no longer know still has a history. */
        if (compartment) {
                Compartment *c;
                r = resolve_compartment(m, compartment, &c, error);
                if (r >= 0)
                        compartment = c->id;
                else if (startswith(compartment, "ocid1."))
                        sd_bus_error_free(error);
                else
                        return r;
        }
        if (instance) {
                Instance *found;
                r = resolve_instance(m, instance, &found, error);
                if (r >= 0)
                        instance = found->id;
                else if (r == -ENXIO && startswith(instance, "ocid1."))
                        sd_bus_error_free(error);
                else
                        return r;
        }

        if (!m->db || db_get_state(m->db) != DB_CONNECTED)
                return bus_error_errno(error, -ENOTCONN, BUS_SUBJECT_DATABASE_READ, m->db ? db_last_error(m->db) : NULL);

        r = check_view(message, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        sd_bus_message_ref(message);
        r = audit_store_history(m->db, &(HistoryFilter) { instance, compartment, since, until, limit }, on_history,
                                message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return bus_error_errno(error, r, BUS_SUBJECT_DATABASE_READ, NULL);
        }
        return 1;
}

/* ---- vtable and registration ------------------------------------------------------------------- */

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),

        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StatusText", "s", NULL, offsetof(Manager, status_text), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Role", "s", property_get_role, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Leader", "s", property_get_leader, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Tenancy", "s", property_get_tenancy, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Regions", "as", property_get_regions, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastRefresh", "t", NULL, offsetof(Manager, last_refresh), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NCompartments", "u", property_get_counts, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NInstances", "u", property_get_counts, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NJobs", "u", property_get_counts, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        MANAGER_SCHEDULE_METHODS,
        SD_BUS_METHOD_WITH_ARGS("ListCompartments",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssssuo)", compartments),
                                method_list_compartments,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListInstances",
                                SD_BUS_ARGS("a{sv}", filters),
                                SD_BUS_RESULT("a(ssssssbo)", instances),
                                method_list_instances,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetCompartment",
                                SD_BUS_ARGS("s", id_or_path),
                                SD_BUS_RESULT("o", compartment),
                                method_get_compartment,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetInstance",
                                SD_BUS_ARGS("s", id_or_name),
                                SD_BUS_RESULT("o", instance),
                                method_get_instance,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Refresh",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("o", job),
                                method_refresh,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListJobs",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ussso)", jobs),
                                method_list_jobs,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Describe",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", json),
                                method_describe,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DescribeWith",
                                SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("s", json),
                                method_describe_with,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DescribeInstances",
                                SD_BUS_ARGS("a{sv}", filters),
                                SD_BUS_RESULT("s", json),
                                method_describe_instances,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("History",
                                SD_BUS_ARGS("a{sv}", filters),
                                SD_BUS_RESULT("a(ttsussss)", entries),
                                method_history,
                                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("JobNew",
                                SD_BUS_ARGS("u", id, "o", job),
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("JobRemoved",
                                SD_BUS_ARGS("u", id, "o", job, "s", result),
                                0),

        SD_BUS_VTABLE_END
};

const BusObjectImplementation manager_object = {
        SS_BUS_PATH,
        SS_BUS_IFACE_MANAGER,
        .vtables = (const sd_bus_vtable *[]) { manager_vtable, NULL },
        .manager = true,
        .children = (const BusObjectImplementation *[]) {
                &compartment_object,
                &instance_object,
                &job_object,
                &schedule_object,
                NULL
        },
};

static int append_managed_object(sd_bus *bus, sd_bus_message *reply, const char *path,
                                 const BusObjectImplementation *impl, void *object, sd_bus_error *error) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "oa{sa{sv}}");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(reply, 'o', path);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sa{sv}}");
        if (r < 0)
                return r;
        r = bus_append_interface_properties_only(bus, reply, path, impl->interface, impl->fallback_vtables[0].vtable,
                                                 impl->managed_properties, object, error);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* GetManagedObjects, answered from the maps: sd-bus's generic implementation enumerates every
 * path, then walks its prefixes and runs the finder for each object, which with 20,000 instances
 * costs ten times more than writing the answer. Same content, minus the standard interfaces
 * (Peer, Introspectable, Properties) that every object has. Runs before sd-bus's own handler;
 * everything else on this path falls through to the vtables. */
static int on_root_message(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus *bus = sd_bus_message_get_bus(message);
        struct lh_entry *e;
        int r;

        if (!sd_bus_message_is_method_call(message, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects") ||
            !sd_bus_message_has_signature(message, ""))
                return 0;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return r;
        lh_foreach(m->compartments, e) {
                Compartment *c = lh_entry_v(e);
                r = append_managed_object(bus, reply, c->bus_path, &compartment_object, c, error);
                if (r < 0)
                        return r;
        }
        lh_foreach(m->instances, e) {
                Instance *i = lh_entry_v(e);
                _cleanup_free_ char *p = instance_bus_path(i);
                if (!p)
                        return -ENOMEM;
                r = append_managed_object(bus, reply, p, &instance_object, i, error);
                if (r < 0)
                        return r;
        }
        lh_foreach(m->jobs, e) {
                Job *j = lh_entry_v(e);
                _cleanup_free_ char *p = job_bus_path(j);
                if (!p)
                        return -ENOMEM;
                r = append_managed_object(bus, reply, p, &job_object, j, error);
                if (r < 0)
                        return r;
        }
        r = schedule_bus_append_managed_objects(bus, reply, m, error);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        r = sd_bus_send(NULL, reply, NULL);
        return r < 0 ? r : 1;
}

int manager_register_objects(Manager *m, sd_bus *bus) {
        int r;

        r = bus_add_implementation(bus, &manager_object, m);
        if (r < 0)
                return r;
        return sd_bus_add_object(bus, NULL, SS_BUS_PATH, on_root_message, m);
}

void manager_emit_changes(Manager *m, uint32_t props) {
        static const struct {
                uint32_t bit;
                const char *name;
        } table[] = {
                { MANAGER_PROP_STATE, "State" },
                { MANAGER_PROP_STATUS_TEXT, "StatusText" },
                { MANAGER_PROP_ROLE, "Role" },
                { MANAGER_PROP_LEADER, "Leader" },
                { MANAGER_PROP_TENANCY, "Tenancy" },
                { MANAGER_PROP_REGIONS, "Regions" },
                { MANAGER_PROP_LAST_REFRESH, "LastRefresh" },
                { MANAGER_PROP_N_COMPARTMENTS, "NCompartments" },
                { MANAGER_PROP_N_INSTANCES, "NInstances" },
                { MANAGER_PROP_N_JOBS, "NJobs" },
        };
        const char *names[ELEMENTSOF(table) + 1];
        size_t n = 0;
        int r;

        if (!m->bus)
                return;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (props & table[i].bit)
                        names[n++] = table[i].name;
        names[n] = NULL;
        if (n == 0)
                return;
        r = sd_bus_emit_properties_changed_strv(m->bus, SS_BUS_PATH, SS_BUS_IFACE_MANAGER, (char **) names);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for the manager: %m");
}


/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>

#include "bus-error.h"
#include "bus-polkit.h"
#include "job-dbus.h"
#include "log.h"
#include "manager.h"
#include "strv.h"

static int property_get_kind(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Job *j = ASSERT_PTR(userdata);
        return sd_bus_message_append(reply, "s", job_kind_to_string(j->kind));
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Job *j = ASSERT_PTR(userdata);
        return sd_bus_message_append(reply, "s", job_state_to_string(j->state));
}

static int property_get_result(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Job *j = ASSERT_PTR(userdata);
        return sd_bus_message_append(reply, "s", job_result_to_string(j->result));
}

static int method_cancel(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Job *j = ASSERT_PTR(userdata);
        Manager *m = j->manager;
        char id[16];
        int r;

        if (j->state == JOB_DONE)
                return bus_error_errnof(error, -ENXIO, BUS_SUBJECT_JOB, "Job %" PRIu32 " has finished already.", j->id);

        snprintf(id, sizeof id, "%" PRIu32, j->id);
        const char *details[] = { "job", id, "verb", "cancel", NULL };
        r = bus_verify_polkit_async(message, SS_POLKIT_OPERATE, details, m->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;  /* polkit will call us back */

        r = job_cancel(j, bus_message_sender_uid(message));
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int parse_job_id(const char *s, uint32_t *ret) {
        char *end;
        unsigned long v;

        if (!s || *s < '1' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

static int job_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                           sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        const char *e = startswith(path, SS_BUS_PATH_JOB "/");
        uint32_t id;
        Job *j;

        if (!e || parse_job_id(e, &id) < 0)
                return 0;
        j = manager_get_job(m, id);
        if (!j)
                return 0;
        *found = j;
        return 1;
}

static int job_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_strv_free_ char **l = NULL;
        size_t k = 0;
        struct lh_entry *e;

        l = new0(char *, (size_t) lh_table_length(m->jobs) + 1);
        if (!l)
                return -ENOMEM;
        lh_foreach(m->jobs, e) {
                l[k] = job_bus_path(lh_entry_v(e));
                if (!l[k])
                        return -ENOMEM;
                k++;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

static const sd_bus_vtable job_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "u", NULL, offsetof(Job, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Kind", "s", property_get_kind, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Target", "s", NULL, offsetof(Job, target), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Progress", "d", NULL, offsetof(Job, progress), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Result", "s", property_get_result, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Error", "s", NULL, offsetof(Job, error), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Cancel",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_cancel,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

const BusObjectImplementation job_object = {
        SS_BUS_PATH_JOB,
        SS_BUS_IFACE_JOB,
        .fallback_vtables = (const BusObjectVtablePair[]) {
                { job_vtable, job_object_find },
                {}
        },
        .node_enumerator = job_node_enumerator,
};

void job_emit_changes(Job *j, uint32_t props) {
        Manager *m = j->manager;
        _cleanup_free_ char *p = job_bus_path(j);
        const char *names[5];
        size_t n = 0;
        int r;

        if (!p || !m->bus)
                return;
        if (props & JOB_PROP_ADDED) {
                r = sd_bus_emit_object_added(m->bus, p);
                if (r < 0)
                        log_debug_errno(r, "Failed to announce %s: %m", p);
                return;
        }
        if (props & JOB_PROP_STATE)
                names[n++] = "State";
        if (props & JOB_PROP_PROGRESS)
                names[n++] = "Progress";
        if (props & JOB_PROP_RESULT)
                names[n++] = "Result";
        if (props & JOB_PROP_ERROR)
                names[n++] = "Error";
        names[n] = NULL;
        if (n == 0)
                return;
        r = sd_bus_emit_properties_changed_strv(m->bus, p, SS_BUS_IFACE_JOB, (char **) names);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for %s: %m", p);
}


void bus_reply_job_queued(Manager *m, Job *j, int error, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *p = NULL;

        if (error < 0) {
                (void) bus_error_errno(&e, error, BUS_SUBJECT_DATABASE, m->db ? db_last_error(m->db) : NULL);
                (void) bus_reply_error(msg, &e);
                return;
        }
        p = job_bus_path(j);
        if (!p) {
                (void) sd_bus_reply_method_errno(msg, ENOMEM, NULL);
                return;
        }
        (void) sd_bus_reply_method_return(msg, "o", p);
}

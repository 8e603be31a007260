/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <stdlib.h>

#include "bus-error.h"
#include "bus-polkit.h"
#include "bus-config.h"
#include "instance-dbus.h"
#include "job-dbus.h"
#include "json-util.h"
#include "schedule-dbus.h"
#include "log.h"
#include "manager.h"
#include "strv.h"
#include "leader.h"

static int property_get_compartment(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Instance *i = ASSERT_PTR(userdata);

        return sd_bus_message_append(reply, "o", i->compartment ? i->compartment->bus_path : "/");
}

static int property_get_tags(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Instance *i = ASSERT_PTR(userdata);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{ss}");
        if (r < 0)
                return r;
        TAGS_FOREACH(k, v, i->freeform_tags) {
                r = sd_bus_message_append(reply, "{ss}", k, v);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_config(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Instance *i = ASSERT_PTR(userdata);
        return bus_append_config(reply, &i->config, false);
}

static int property_get_last_job(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Instance *i = ASSERT_PTR(userdata);
        const InstanceLastJob *l = &i->last_job;
        return sd_bus_message_append(reply, "(ussst)", l->id, strempty(l->kind), strempty(l->result),
                                     strempty(l->error), l->finished_at);
}

static int property_get_effective_config(sd_bus *bus, const char *path, const char *interface,
                                         const char *property, sd_bus_message *reply, void *userdata,
                                         sd_bus_error *error) {
        Instance *i = ASSERT_PTR(userdata);
        InstanceConfig eff;

        instance_effective_config(i, manager_now(), &eff);
        return bus_append_config(reply, &eff, true);
}

static int method_set_config(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Instance *i = ASSERT_PTR(userdata);
        return bus_method_set_settings(message, i->manager, false, i->id, &i->config, i->n_writes, error);
}

static int method_explain(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Instance *i = ASSERT_PTR(userdata);
        Manager *m = i->manager;
        _cleanup_free_ char *json = NULL;
        int r;

        const char *details[] = { "instance", i->id, "verb", "explain", NULL };
        r = bus_verify_polkit_async(message, SS_POLKIT_VIEW, details, m->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = instance_explain(i, manager_now(), &json);
        if (r < 0)
                return r;
        {
                /* Which schedules apply, and why (issue 10). */
                _cleanup_json_ json_object *doc = json_tokener_parse(json), *sched = schedule_explain_instance(m, i);
                if (doc && sched && json_object_is_type(doc, json_type_object)) {
                        json_object_object_add(doc, "schedules", TAKE_PTR(sched));
                        return sd_bus_reply_method_return(message, "s",
                                                          json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
                }
        }
        return sd_bus_reply_method_return(message, "s", json);
}

static int instance_action(sd_bus_message *message, Instance *i, JobKind kind, sd_bus_error *error) {
        Manager *m = i->manager;
        const char *mode_s = "";
        StopMode mode = STOP_MODE_SOFT;
        int r;

        if (kind != JOB_START) {
                r = sd_bus_message_read(message, "s", &mode_s);
                if (r < 0)
                        return r;
        }
        if (isempty(mode_s)) {
                InstanceConfig eff;
                instance_effective_config(i, manager_now(), &eff);
                mode = eff.stop_mode;
        } else {
                mode = stop_mode_from_string(mode_s);
                if (mode < 0)
                        return bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Mode must be \"soft\", \"hard\" or \"\" (the instance's stop_mode).");
        }

        if (i->job_id != 0)
                return bus_error_errnof(error, -EBUSY, BUS_SUBJECT_NONE, "Instance %s has job %u running.", i->id,
                                         (unsigned) i->job_id);
        if (!m->db || db_get_state(m->db) != DB_CONNECTED)
                return bus_error_errno(error, -ENOTCONN, BUS_SUBJECT_DATABASE, m->db ? db_last_error(m->db) : NULL);
        if (!manager_is_leader(m))
                return bus_error_not_leader(error, manager_leader(m));

        const char *details[] = { "instance", i->id, "verb", job_kind_to_string(kind), NULL };
        r = bus_verify_polkit_async(message, SS_POLKIT_OPERATE, details, m->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;  /* polkit will call us back */

        sd_bus_message_ref(message);
        r = job_create(m, kind, i->id, mode, bus_message_sender_uid(message), bus_reply_job_queued, message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return bus_error_errno(error, r, BUS_SUBJECT_DATABASE, NULL);
        }
        return 1;
}

static int method_start(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return instance_action(message, ASSERT_PTR(userdata), JOB_START, error);
}

static int method_stop(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return instance_action(message, ASSERT_PTR(userdata), JOB_STOP, error);
}

static int method_reboot(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return instance_action(message, ASSERT_PTR(userdata), JOB_REBOOT, error);
}

static int instance_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                                void **found, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_free_ char *id = NULL;
        Instance *i;
        int r;

        r = sd_bus_path_decode(path, SS_BUS_PATH_INSTANCE, &id);
        if (r <= 0)
                return 0;
        i = manager_get_instance(m, id);
        if (!i)
                return 0;
        *found = i;
        return 1;
}

static int instance_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                    sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_strv_free_ char **l = NULL;
        size_t k = 0;
        struct lh_entry *e;

        l = new0(char *, (size_t) lh_table_length(m->instances) + 1);
        if (!l)
                return -ENOMEM;
        lh_foreach(m->instances, e) {
                l[k] = instance_bus_path(lh_entry_v(e));
                if (!l[k])
                        return -ENOMEM;
                k++;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

static const sd_bus_vtable instance_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", NULL, offsetof(Instance, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DisplayName", "s", NULL, offsetof(Instance, display_name), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Compartment", "o", property_get_compartment, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CompartmentId", "s", NULL, offsetof(Instance, compartment_id),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Region", "s", NULL, offsetof(Instance, region), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("AvailabilityDomain", "s", NULL, offsetof(Instance, availability_domain),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FaultDomain", "s", NULL, offsetof(Instance, fault_domain), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Shape", "s", NULL, offsetof(Instance, shape), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LifecycleState", "s", NULL, offsetof(Instance, lifecycle_state),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StateObservedAt", "t", NULL, offsetof(Instance, state_observed_at),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FreeformTags", "a{ss}", property_get_tags, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Config", "a{sv}", property_get_config, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Explicit: it costs more than all other properties together in GetManagedObjects with
         * 20,000 instances; clients Get it by name (see README). */
        SD_BUS_PROPERTY("EffectiveConfig", "a{sv}", property_get_effective_config, 0,
                        SD_BUS_VTABLE_PROPERTY_EXPLICIT | SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        /* The newest finished start/stop/reboot job: id (0: none), kind, result, error, finished
         * (µs); kept in the database, so it survives restarts. Explicit, like EffectiveConfig. */
        SD_BUS_PROPERTY("LastJob", "(ussst)", property_get_last_job, 0,
                        SD_BUS_VTABLE_PROPERTY_EXPLICIT | SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_METHOD_WITH_ARGS("Start",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("o", job),
                                method_start,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stop",
                                SD_BUS_ARGS("s", mode),
                                SD_BUS_RESULT("o", job),
                                method_stop,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reboot",
                                SD_BUS_ARGS("s", mode),
                                SD_BUS_RESULT("o", job),
                                method_reboot,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetConfig",
                                SD_BUS_ARGS("a{sv}", settings),
                                SD_BUS_NO_RESULT,
                                method_set_config,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        INSTANCE_SCHEDULE_PROPERTIES,
        SD_BUS_METHOD_WITH_ARGS("Explain",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", json),
                                method_explain,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

const BusObjectImplementation instance_object = {
        SS_BUS_PATH_INSTANCE,
        SS_BUS_IFACE_INSTANCE,
        .fallback_vtables = (const BusObjectVtablePair[]) {
                { instance_vtable, instance_object_find },
                {}
        },
        .node_enumerator = instance_node_enumerator,
        /* GetManagedObjects lists every instance with its state only: at 50,000 instances each
         * further property (the OCIDs, the compartment path, tags, names) would take the answer
         * over the bus limits (dbus/README.md, "Object paths and ObjectManager"). */
        .managed_properties = (const char * const[]) { "LifecycleState", NULL },
};

static const struct {
        uint32_t bit;
        const char *name;
} instance_props[] = {
        { INSTANCE_PROP_DISPLAY_NAME, "DisplayName" },
        { INSTANCE_PROP_COMPARTMENT, "Compartment" },
        { INSTANCE_PROP_COMPARTMENT, "CompartmentId" },
        { INSTANCE_PROP_AVAILABILITY_DOMAIN, "AvailabilityDomain" },
        { INSTANCE_PROP_FAULT_DOMAIN, "FaultDomain" },
        { INSTANCE_PROP_SHAPE, "Shape" },
        { INSTANCE_PROP_LIFECYCLE_STATE, "LifecycleState" },
        { INSTANCE_PROP_LIFECYCLE_STATE, "StateObservedAt" },
        { INSTANCE_PROP_FREEFORM_TAGS, "FreeformTags" },
        { INSTANCE_PROP_CONFIG, "Config" },
        { INSTANCE_PROP_EFFECTIVE_CONFIG, "EffectiveConfig" },
        { INSTANCE_PROP_LAST_JOB, "LastJob" },
        { INSTANCE_PROP_SCHEDULES, "Schedules" },
        { INSTANCE_PROP_NEXT_ACTION, "NextAction" },
};

void instance_emit_changes(Instance *i, uint32_t props) {
        Manager *m = i->manager;
        _cleanup_free_ char *p = instance_bus_path(i);
        const char *names[ELEMENTSOF(instance_props) + 1];
        size_t n = 0;
        int r;

        if (!p || !m->bus)
                return;
        if (props & INSTANCE_PROP_ADDED) {
                r = sd_bus_emit_object_added(m->bus, p);
                if (r < 0)
                        log_debug_errno(r, "Failed to announce %s: %m", p);
                return;
        }
        for (size_t k = 0; k < ELEMENTSOF(instance_props); k++)
                if (props & instance_props[k].bit)
                        names[n++] = instance_props[k].name;
        names[n] = NULL;
        if (n == 0)
                return;
        r = sd_bus_emit_properties_changed_strv(m->bus, p, SS_BUS_IFACE_INSTANCE, (char **) names);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for %s: %m", p);
}


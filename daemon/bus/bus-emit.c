/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "bus-emit.h"
#include "bus-errors.h"
#include "bus-names.h"
#include "bus-polkit.h"
#include "compartment-dbus.h"
#include "instance-dbus.h"
#include "job-dbus.h"
#include "log.h"
#include "manager-dbus.h"
#include "schedule-dbus.h"

static void emit_event(Manager *m, const ManagerEvent *e) {
        int r = 0;

        switch (e->kind) {
        case MANAGER_EVENT_OBJECT_ADDED:
                r = sd_bus_emit_object_added(m->bus, e->path);
                break;
        case MANAGER_EVENT_OBJECT_REMOVED:
                r = sd_bus_emit_object_removed(m->bus, e->path);
                break;
        case MANAGER_EVENT_SCHEDULE_CHANGED:
                schedule_bus_emit_changed(m->bus, e->path, e->props);
                break;
        case MANAGER_EVENT_JOB_NEW:
                r = sd_bus_emit_signal(m->bus, SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "JobNew", "uo", e->job_id, e->path);
                break;
        case MANAGER_EVENT_JOB_REMOVED:
                r = sd_bus_emit_signal(m->bus, SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "JobRemoved", "uos", e->job_id,
                                       e->path, strempty(e->result));
                break;
        default:
                assert(false);
        }
        if (r < 0)
                log_debug_errno(r, "Failed to announce a change of %s: %m", e->path);
}

static void send_events(Manager *m) {
        ManagerEvent *ev;

        if (!m->emit_enabled || !m->bus)
                return;
        while ((ev = TAILQ_FIRST(&m->events))) {
                TAILQ_REMOVE(&m->events, ev, link);
                emit_event(m, ev);
                manager_event_free(ev);
        }
}

static int on_emit(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        Compartment *c;
        Instance *i;
        Job *j;

        if (!m->emit_enabled || !m->bus)
                return 0;
        send_events(m);

        /* A reload merges its results one statement at a time: announce its outcome once, when
         * it is complete (load_finish() marks the manager dirty again). */
        if (m->load)
                return 0;

        /* Compartments first, so a client sees a parent before its children and instances. */
        while ((c = LIST_FIRST(&m->dirty_compartments))) {
                uint32_t d = c->dirty;
                LIST_REMOVE(c, dirty_link);
                c->dirty = 0;
                compartment_emit_changes(c, d);
        }
        while ((i = LIST_FIRST(&m->dirty_instances))) {
                uint32_t d = i->dirty;
                LIST_REMOVE(i, dirty_link);
                i->dirty = 0;
                instance_emit_changes(i, d);
        }
        while ((j = LIST_FIRST(&m->dirty_jobs))) {
                uint32_t d = j->dirty;
                LIST_REMOVE(j, dirty_link);
                j->dirty = 0;
                job_emit_changes(j, d);
        }
        if (m->dirty) {
                uint32_t d = m->dirty;
                m->dirty = 0;
                manager_emit_changes(m, d);
        }
        return 0;
}

/* Answers to these calls are built from every object at once (tens of MB with 20,000
 * instances): once they are sent, give the pages back. */
static int on_bus_message(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *member = sd_bus_message_get_member(message);

        if (sd_bus_message_is_method_call(message, NULL, NULL) && member &&
            (streq(member, "GetManagedObjects") || streq(member, "Describe") || streq(member, "ListInstances") ||
             streq(member, "Introspect") || streq(member, "History")))
                manager_schedule_trim(m);
        return 0;
}

static void bus_detach(Manager *m) {
        m->polkit = polkit_registry_free(m->polkit);
}

static const ManagerBusHooks bus_hooks = {
        .send_events = send_events,
        .detach = bus_detach,
};

int manager_attach_bus(Manager *m, sd_bus *bus) {
        int r;

        assert(m);
        assert(bus);

        r = ss_bus_errors_register();
        if (r < 0)
                return r;
        if (!m->polkit) {
                r = polkit_registry_new(&m->polkit);
                if (r < 0)
                        return r;
                m->bus_hooks = &bus_hooks;
        }
        if (!m->emit_event) {
                r = sd_event_add_defer(m->event, &m->emit_event, on_emit, m);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_priority(m->emit_event, SD_EVENT_PRIORITY_IDLE);
                (void) sd_event_source_set_description(m->emit_event, "emit-changes");
                (void) sd_event_source_set_enabled(m->emit_event, SD_EVENT_OFF);
        }
        r = manager_register_objects(m, bus);
        if (r < 0)
                return r;
        r = sd_bus_add_filter(bus, NULL, on_bus_message, m);
        if (r < 0)
                return r;
        m->bus = sd_bus_ref(bus);
        m->emit_enabled = true;
        return 0;
}

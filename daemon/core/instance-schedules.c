/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/linkhash.h>
#include <stdlib.h>

#include "instance-schedules.h"
#include "schedule-inventory.h"
#include "log.h"
#include "manager.h"
#include "scheduler.h"

static bool entry_selects(Scheduler *s, ScheduleEntry *e, const ScheduleCandidate *c) {
        for (size_t t = 0; t < e->schedule->n_targets; t++)
                if (schedule_target_matches(&e->schedule->targets[t], c, scheduler_inventory(s)))
                        return true;
        return false;
}

/* The exception calendar that closes the day of the entry's next firing, or NULL. */
static const char *entry_closed_by(Scheduler *s, ScheduleEntry *e) {
        const char *name = NULL;

        if (schedule_closed_by(e->schedule, s->calendars, s->n_calendars, e->timer.next_elapse, &name) < 0)
                return NULL;
        return name;
}

/* Whether the entry's next firing would act on the instance, as Preview would decide it now:
 * unmanaged, overridden, a closed day or an instance already there (acting on transitions)
 * mean it would not. c carries the effective configuration. */
static bool entry_acts_on(ScheduleEntry *e, const ScheduleCandidate *c, const char *closed_by) {
        OciInstanceState state = oci_instance_state_from_string(c->lifecycle_state);
        OciInstanceAction action;

        if (!e->schedule->enabled || e->timer.next_elapse == 0)
                return false;
        if (schedule_decide_firing(e->schedule, e->timer.next_elapse, e->timer.next_elapse, NULL) != FIRING_RUN)
                return false;
        return schedule_decide_instance(e->schedule, c, state, closed_by, &action) == SKIP_NONE;
}

static ScheduleEntry *walk(Instance *i, const char * const *closed, void (*f)(ScheduleEntry *e, void *userdata),
                           void *userdata) {
        Scheduler *s = i->manager->scheduler;
        ScheduleEntry *next = NULL;
        ScheduleCandidate c;
        bool configured = false;

        if (!s)
                return NULL;
        /* Targets select by OCID, compartment and tags: the configuration only matters once one
         * does. */
        schedule_candidate_identify(i, &c);
        for (size_t k = 0; k < s->n_entries; k++) {
                ScheduleEntry *e = s->entries[k];

                if (!entry_selects(s, e, &c))
                        continue;
                f(e, userdata);
                if (!e->schedule->enabled || e->timer.next_elapse == 0 ||
                    (next && next->timer.next_elapse <= e->timer.next_elapse))
                        continue;
                if (!configured) {
                        schedule_candidate_configure(i, manager_now(), &c);
                        configured = true;
                }
                if (entry_acts_on(e, &c, closed ? closed[k] : entry_closed_by(s, e)))
                        next = e;
        }
        return next;
}

typedef struct Collect {
        ScheduleEntry **list;
        size_t n;
} Collect;

static void collect(ScheduleEntry *e, void *userdata) {
        Collect *c = userdata;
        c->list[c->n++] = e;
}

int instance_schedules(Instance *i, ScheduleEntry ***ret, size_t *ret_n, ScheduleEntry **ret_next) {
        Scheduler *s = i->manager->scheduler;
        Collect c = {};
        ScheduleEntry *next;

        c.list = new0(ScheduleEntry *, (s ? s->n_entries : 0) + 1);
        if (!c.list)
                return -ENOMEM;
        next = walk(i, NULL, collect, &c);
        *ret = c.list;
        if (ret_n)
                *ret_n = c.n;
        if (ret_next)
                *ret_next = next;
        return 0;
}

/* FNV-1a; 0 stands for "none", the value of a new instance. */
static uint32_t hash_u64(uint32_t h, uint64_t v) {
        for (unsigned b = 0; b < 8; b++) {
                h ^= (uint8_t) (v >> (8 * b));
                h *= 16777619U;
        }
        return h;
}

static void hash_entry(ScheduleEntry *e, void *userdata) {
        uint32_t *h = userdata;
        *h = hash_u64(*h ?: 2166136261U, e->schedule->id);
}

static int on_pass(sd_event_source *source, void *userdata) {
        Manager *m = userdata;
        Scheduler *s = m->scheduler;
        _cleanup_free_ const char **closed = NULL;
        struct lh_entry *e;
        unsigned n = 0;

        if (!s)
                return 0;
        /* Per slice, not per instance: the zone arithmetic of the calendars costs. */
        closed = new0(const char *, s->n_entries + 1);
        if (!closed)
                return log_oom();
        for (size_t k = 0; k < s->n_entries; k++)
                closed[k] = entry_closed_by(s, s->entries[k]);

        if (m->schedules_cursor) {
                e = lh_table_lookup_entry(m->instances, m->schedules_cursor->id);
                m->schedules_cursor = NULL;
        } else {
                e = m->instances->head;
                m->schedules_again = false;
        }
        for (; e; e = e->next) {
                Instance *i = (Instance *) lh_entry_v(e);
                uint32_t hs = 0, hn = 0, changed = 0;
                ScheduleEntry *next;

                if (n++ == INSTANCE_SCHEDULES_SLICE) {
                        m->schedules_cursor = i;  /* the next slice starts here */
                        return sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
                }
                next = walk(i, closed, hash_entry, &hs);
                if (next)
                        hn = hash_u64(hash_u64(hash_u64(2166136261U, next->schedule->id), next->timer.next_elapse),
                                      (uint64_t) next->schedule->action);
                if (hs != i->schedules_hash)
                        changed |= INSTANCE_PROP_SCHEDULES;
                if (hn != i->next_action_hash)
                        changed |= INSTANCE_PROP_NEXT_ACTION;
                i->schedules_hash = hs;
                i->next_action_hash = hn;
                /* An instance not announced yet goes out whole, with these values. */
                if (changed && !(i->dirty & INSTANCE_PROP_ADDED))
                        instance_mark_dirty(i, changed);
        }
        /* Changes during the pass may concern instances it had passed already. */
        if (m->schedules_again)
                return sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
        return 0;
}

void manager_schedules_changed(Manager *m) {
        int r;

        if (!m || !m->scheduler || !m->instances)
                return;  /* no schedules yet, or the Manager is going away */
        /* A pass under way goes on (a stream of changes must not keep it from finishing); one
         * more follows it. */
        m->schedules_again = true;
        if (!m->schedules_event) {
                r = sd_event_add_defer(m->event, &m->schedules_event, on_pass, m);
                if (r < 0) {
                        log_warning_errno(r, "Could not queue the update of Instance.Schedules: %m");
                        return;
                }
                (void) sd_event_source_set_priority(m->schedules_event, SD_EVENT_PRIORITY_IDLE);
                (void) sd_event_source_set_description(m->schedules_event, "instance-schedules");
        }
        (void) sd_event_source_set_enabled(m->schedules_event, SD_EVENT_ONESHOT);
}

void instance_schedules_forget(Instance *i) {
        Manager *m = i->manager;
        struct lh_entry *e;

        if (!m || m->schedules_cursor != i)
                return;
        /* Resume from the instance after it (the table keeps its order). */
        e = lh_table_lookup_entry(m->instances, i->id);
        m->schedules_cursor = e && e->next ? (Instance *) lh_entry_v(e->next) : NULL;
        if (!m->schedules_cursor)
                manager_schedules_changed(m);
}

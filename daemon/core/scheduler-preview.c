/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a schedule would do, computed and never acted on: the plan of a firing (each instance
 * acted on or skipped, and why), the next occurrences with their plans and the operators' skips
 * and delays, and a simulation over a range of the desired states and running hours. */
#include <stdlib.h>

#include "calendar.h"
#include "manager.h"
#include "scheduler-internal.h"
#include "strv.h"
#include "time-util.h"

void plan_items_free(PlanItem *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(p[i].reason);
        free(p);
}

void preview_slots_free(PreviewSlot *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(p[i].reason);
                plan_items_free(p[i].items, p[i].n_items);
        }
        free(p);
}

int scheduler_plan(Scheduler *s, ScheduleEntry *e, uint64_t instant, PlanItem **ret, size_t *ret_n) {
        _cleanup_free_ ScheduleCandidate *cands = NULL;
        const char *closed_by = NULL;
        PlanItem *items;
        size_t n = 0;
        int r;

        r = schedule_resolve(e->schedule, scheduler_inventory(s), &cands, &n);
        if (r < 0)
                return r;
        r = schedule_closed_by(e->schedule, s->calendars, s->n_calendars, instant, &closed_by);
        if (r < 0)
                return r;
        items = new0(PlanItem, n);
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                OciInstanceState st = oci_instance_state_from_string(cands[i].lifecycle_state);
                SkipReason why = schedule_decide_instance(e->schedule, &cands[i], st, closed_by, NULL);

                items[i].instance_id = cands[i].id;
                items[i].act = why == SKIP_NONE;
                items[i].reason = schedule_skip_reason_text(why, &cands[i], st, closed_by);
                if (!items[i].reason) {
                        plan_items_free(items, i);
                        return -ENOMEM;
                }
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

typedef struct PreviewCtx {
        Scheduler *s;
        uint64_t schedule_id;
        scheduler_preview_t handler;
        void *userdata;
        CalendarResult *instants;
        CalendarQuery *query;
} PreviewCtx;

static void on_preview_occurrences(int error, OccurrenceRow *rows, size_t n_rows, const char *message, void *userdata) {
        PreviewCtx *c = userdata;
        Scheduler *s = c->s;
        ScheduleEntry *e = scheduler_get(s, c->schedule_id);
        PreviewSlot *slots = NULL;
        size_t n = 0;
        SchedulerError err = {};

        if (!e) {
                err = (SchedulerError) { .error = -ENOENT, .kind = SCHEDULER_ERROR_NO_SUCH_SCHEDULE };
                goto finish;
        }
        /* Without the database, skips and delays are unknown: the preview still shows the rest. */
        if (error < 0)
                n_rows = 0;
        slots = new0(PreviewSlot, c->instants->n_instants);
        if (!slots) {
                err = (SchedulerError) { .error = -ENOMEM, .kind = SCHEDULER_ERROR_OTHER };
                goto finish;
        }
        for (size_t i = 0; i < c->instants->n_instants; i++) {
                uint64_t at = c->instants->instants[i];
                const char *reason = NULL;
                PreviewSlot *slot = &slots[n++];
                FiringDecision d = schedule_decide_firing(e->schedule, at, at, &reason);

                slot->at = at;
                slot->run = d == FIRING_RUN;
                for (size_t k = 0; k < n_rows; k++)
                        if (rows[k].scheduled_at == at && rows[k].state == OCCURRENCE_SKIPPED) {
                                slot->run = false;
                                reason = rows[k].reason ?: "Skipped by an operator.";
                        } else if (rows[k].scheduled_at == at && rows[k].delayed_until > 0) {
                                slot->at = rows[k].delayed_until;
                        }
                slot->reason = strdup(slot->run ? "" : strempty(reason));
                if (!slot->reason || scheduler_plan(s, e, slot->at, &slot->items, &slot->n_items) < 0) {
                        err = (SchedulerError) { .error = -ENOMEM, .kind = SCHEDULER_ERROR_OTHER };
                        goto finish;
                }
                if (!slot->run)
                        for (size_t k = 0; k < slot->n_items; k++)
                                if (slot->items[k].act) {
                                        slot->items[k].act = false;
                                        free(slot->items[k].reason);
                                        slot->items[k].reason = strdup("the occurrence does not run");
                                }
        }
finish:
        c->handler(s, err.error < 0 ? &err : NULL, err.error < 0 ? NULL : slots, err.error < 0 ? 0 : n, c->userdata);
        if (err.error < 0)
                preview_slots_free(slots, n);
        occurrence_rows_free(rows, n_rows);
        calendar_result_free(c->instants);
        free(c);
}

static void on_preview_instants(CalendarQuery *q, CalendarResult *result, void *userdata) {
        PreviewCtx *c = userdata;
        OccurrenceFilter f;
        int r;

        c->query = calendar_query_free(c->query);
        if (result->error < 0) {
                SchedulerError e = { .error = result->error, .kind = SCHEDULER_ERROR_OTHER, .message = result->message };
                c->handler(c->s, &e, NULL, 0, c->userdata);
                calendar_result_free(result);
                free(c);
                return;
        }
        c->instants = result;
        /* While the database is away the query would wait in its queue and the caller time out:
         * answer now, without the skips and delays. */
        if (!c->s->manager->db || db_get_state(c->s->manager->db) != DB_CONNECTED)
                return on_preview_occurrences(-ENOTCONN, NULL, 0, NULL, c);
        f = (OccurrenceFilter) { .schedule_id = c->schedule_id, .since = manager_now(),
                                 .state = _OCCURRENCE_STATE_INVALID, .limit = 1000 };
        r = occurrence_store_list(c->s->manager->db, &f, on_preview_occurrences, c);
        if (r < 0)
                on_preview_occurrences(r, NULL, 0, NULL, c);
}

int scheduler_preview(Scheduler *s, ScheduleEntry *e, unsigned n, scheduler_preview_t handler, void *userdata) {
        PreviewCtx *c = new0(PreviewCtx, 1);
        int r;

        if (!c)
                return -ENOMEM;
        *c = (PreviewCtx) { .s = s, .schedule_id = e->schedule->id, .handler = handler, .userdata = userdata };
        r = calendar_next(s->manager->event, e->schedule->calendars, e->schedule->time_zone, manager_now(), n,
                          on_preview_instants, c, NULL);
        if (r < 0)
                free(c);
        return r;
}

/* Simulate: the firings of the schedule (and of its window partner) in [from, to) and each
 * targeted instance's desired state from firing to firing, against always-on. */
typedef struct SimCtx {
        Scheduler *s;
        uint64_t ids[2];
        size_t n_members, done;
        uint64_t from, to;
        CalendarResult *results[2];
        scheduler_simulate_t handler;
        void *userdata;
} SimCtx;

static void sim_ctx_free(SimCtx *c) {
        for (size_t i = 0; i < 2; i++)
                calendar_result_free(c->results[i]);
        free(c);
}

typedef struct SimEvent {
        uint64_t at;
        ScheduleEntry *e;
} SimEvent;

static int compare_sim_events(const void *a, const void *b) {
        const SimEvent *x = a, *y = b;
        return x->at < y->at ? -1 : x->at > y->at;
}

static void sim_finish(SimCtx *c) {
        Scheduler *s = c->s;
        _cleanup_free_ SimEvent *events = NULL;
        _cleanup_free_ ScheduleCandidate *cands = NULL;
        SimulatedFiring *firings = NULL;
        SimulatedHours *hours = NULL;
        bool *running = NULL;
        uint64_t *since = NULL;
        size_t n_events = 0, n_cands = 0, n_firings = 0;
        SchedulerError err = {};
        ScheduleEntry *members[2] = {};

        for (size_t m = 0; m < c->n_members; m++) {
                members[m] = scheduler_get(s, c->ids[m]);
                if (!members[m]) {
                        err = (SchedulerError) { .error = -ENOENT, .kind = SCHEDULER_ERROR_NO_SUCH_SCHEDULE };
                        goto finish;
                }
                n_events += c->results[m]->n_instants;
        }
        events = new0(SimEvent, n_events);
        if (!events)
                goto oom;
        n_events = 0;
        for (size_t m = 0; m < c->n_members; m++)
                for (size_t i = 0; i < c->results[m]->n_instants; i++)
                        events[n_events++] = (SimEvent) { .at = c->results[m]->instants[i], .e = members[m] };
        qsort(events, n_events, sizeof(SimEvent), compare_sim_events);

        if (schedule_resolve(members[0]->schedule, scheduler_inventory(s), &cands, &n_cands) < 0)
                goto oom;
        firings = new0(SimulatedFiring, n_events);
        hours = new0(SimulatedHours, n_cands);
        running = new0(bool, n_cands);
        since = new0(uint64_t, n_cands);
        if (!firings || !hours || !running || !since)
                goto oom;
        /* Each instance starts the range in the state it is in now. */
        for (size_t i = 0; i < n_cands; i++) {
                running[i] = streq_ptr(cands[i].lifecycle_state, "RUNNING") ||
                             streq_ptr(cands[i].lifecycle_state, "STARTING");
                since[i] = c->from;
                hours[i] = (SimulatedHours) { .instance_id = cands[i].id,
                                              .always_on = (double) (c->to - c->from) / USEC_PER_HOUR };
        }
        for (size_t k = 0; k < n_events; k++) {
                Schedule *sch = events[k].e->schedule;
                const char *closed_by = NULL;
                bool up = schedule_action_target_state(sch->action) == OCI_INSTANCE_RUNNING;
                SimulatedFiring *f = &firings[n_firings];

                if (schedule_decide_firing(sch, events[k].at, events[k].at, NULL) != FIRING_RUN)
                        continue;
                (void) schedule_closed_by(sch, s->calendars, s->n_calendars, events[k].at, &closed_by);
                f->at = events[k].at;
                f->action = schedule_action_to_string(sch->action);
                f->instance_ids = new0(const char *, n_cands);
                f->desired = new0(const char *, n_cands);
                if (!f->instance_ids || !f->desired)
                        goto oom;
                n_firings++;
                for (size_t i = 0; i < n_cands; i++) {
                        bool now_up;
                        if (!cands[i].managed || cands[i].override_state != OVERRIDE_NONE ||
                            (closed_by && schedule_action_is_closed_by_calendar(sch->action)))
                                now_up = running[i];
                        else if (sch->action == SCHEDULE_ACTION_REBOOT || sch->action == SCHEDULE_ACTION_SOFTREBOOT)
                                now_up = running[i];
                        else
                                now_up = up;
                        if (running[i] && !now_up)
                                hours[i].running += (double) (events[k].at - since[i]) / USEC_PER_HOUR;
                        if (!running[i] && now_up)
                                since[i] = events[k].at;
                        running[i] = now_up;
                        f->instance_ids[f->n] = cands[i].id;
                        f->desired[f->n] = now_up ? "RUNNING" : "STOPPED";
                        f->n++;
                }
        }
        for (size_t i = 0; i < n_cands; i++)
                if (running[i])
                        hours[i].running += (double) (c->to - since[i]) / USEC_PER_HOUR;
        goto finish;
oom:
        err = (SchedulerError) { .error = -ENOMEM, .kind = SCHEDULER_ERROR_OTHER };
finish:
        c->handler(s, err.error < 0 ? &err : NULL, firings, n_firings, hours, err.error < 0 ? 0 : n_cands, c->userdata);
        for (size_t k = 0; firings && k < n_events; k++) {
                free(firings[k].instance_ids);
                free(firings[k].desired);
        }
        free(firings);
        free(hours);
        free(running);
        free(since);
        sim_ctx_free(c);
}

static void sim_next(SimCtx *c);

static void on_sim_range(CalendarQuery *q, CalendarResult *result, void *userdata) {
        SimCtx *c = userdata;

        if (result->error < 0) {
                SchedulerError e = { .error = result->error,
                                     .kind = result->error == -E2BIG ? SCHEDULER_ERROR_INVALID_CONFIG : SCHEDULER_ERROR_OTHER,
                                     .message = result->message };
                c->handler(c->s, &e, NULL, 0, NULL, 0, c->userdata);
                calendar_result_free(result);
                sim_ctx_free(c);
                return;
        }
        c->results[c->done++] = result;
        sim_next(c);
}

/* The members' ranges one after the other (a window has two), then the simulation. */
static void sim_next(SimCtx *c) {
        ScheduleEntry *e;
        int r;

        if (c->done == c->n_members)
                return sim_finish(c);
        e = scheduler_get(c->s, c->ids[c->done]);
        r = e ? calendar_range(c->s->manager->event, e->schedule->calendars, e->schedule->time_zone, c->from, c->to,
                               on_sim_range, c, NULL)
              : -ENOENT;
        if (r < 0) {
                SchedulerError err = { .error = r, .kind = e ? SCHEDULER_ERROR_OTHER : SCHEDULER_ERROR_NO_SUCH_SCHEDULE };
                c->handler(c->s, &err, NULL, 0, NULL, 0, c->userdata);
                sim_ctx_free(c);
        }
}

int scheduler_simulate(Scheduler *s, ScheduleEntry *e, uint64_t from, uint64_t to, scheduler_simulate_t handler,
                       void *userdata) {
        ScheduleEntry *members[2];
        SimCtx *c = new0(SimCtx, 1);

        if (!c)
                return -ENOMEM;
        *c = (SimCtx) { .s = s, .from = from, .to = to, .handler = handler, .userdata = userdata };
        c->n_members = scheduler_window_members(s, e, members);
        for (size_t i = 0; i < c->n_members; i++)
                c->ids[i] = members[i]->schedule->id;
        sim_next(c);
        return 0;
}

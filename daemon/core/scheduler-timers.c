/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The schedules' transient timers on the systemd manager (daemon/pid1/): the manager client,
 * each timer declared while its schedule is enabled and removed otherwise, all of them reconciled
 * on Reload() and when the manager comes back, their NextElapse/LastTrigger followed; a timer's
 * firing goes to scheduler-firing.c. */
#include <string.h>

#include "log.h"
#include "manager.h"
#include "scheduler-internal.h"

static void on_timer_done(Pid1 *p, const char *id, int error, const char *message, void *userdata) {
        if (error < 0 && error != -ECANCELED && error != -ENOTCONN)
                log_warning("Timer of schedule %s: %s", strna(id), message ?: strerror(-error));
}

void schedule_entry_sync_timer(Scheduler *s, ScheduleEntry *e) {
        int r;

        if (!s->pid1)
                return;
        if (e->schedule->enabled)
                r = pid1_timer_set(s->pid1, e->timer_id, e->schedule->calendars, e->schedule->time_zone,
                                   e->schedule->name, on_timer_done, s);
        else {
                r = pid1_timer_remove(s->pid1, e->timer_id, on_timer_done, s);
                e->timer = (Pid1TimerInfo) { .last_trigger = e->timer.last_trigger };
                schedule_entry_mark_changed(e, SCHEDULE_PROP_TIMER);
        }
        if (r < 0 && r != -ENOTCONN)
                log_warning_errno(r, "Could not declare the timer of schedule %s: %m", e->schedule->name);
}

void scheduler_drop_timer(Scheduler *s, const char *timer_id) {
        if (s->pid1)
                (void) pid1_timer_remove(s->pid1, timer_id, on_timer_done, s);
}

static void on_reconciled(Pid1 *p, const char *id, int error, const char *message, void *userdata) {
        if (error < 0 && error != -ENOTCONN && error != -ECANCELED)
                log_warning("Reconciling the schedules' timers failed: %s", message ?: strerror(-error));
}

int scheduler_reconcile(Scheduler *s) {
        if (!s->pid1)
                return 0;
        return pid1_reconcile(s->pid1, on_reconciled, s);
}

/* ---- what the manager reports ------------------------------------------------------------------- */

static ScheduleEntry *entry_by_timer_id(Scheduler *s, const char *id) {
        for (size_t i = 0; i < s->n_entries; i++)
                if (streq(s->entries[i]->timer_id, id))
                        return s->entries[i];
        return NULL;
}

static void on_pid1_fire(Pid1 *p, const Pid1Firing *firing, void *userdata) {
        Scheduler *s = userdata;
        ScheduleEntry *e = entry_by_timer_id(s, firing->id);

        if (!e) {
                log_info("A timer of an unknown schedule (%s) fired; ignored.", firing->id);
                return;
        }
        scheduler_timer_fired(s, e, firing);
}

static void on_pid1_timer_changed(Pid1 *p, const char *id, const Pid1TimerInfo *info, void *userdata) {
        Scheduler *s = userdata;
        ScheduleEntry *e = entry_by_timer_id(s, id);

        if (!e)
                return;
        if (e->timer.next_elapse == info->next_elapse && e->timer.last_trigger == info->last_trigger &&
            e->timer.active == info->active)
                return;
        e->timer = *info;
        schedule_entry_mark_changed(e, SCHEDULE_PROP_TIMER);
}

static void on_pid1_state_changed(Pid1 *p, Pid1State state, int error, const char *message, void *userdata) {
        /* both a lost connection and, on a bus that outlives it, a manager gone from the bus */
        if ((state == PID1_DISCONNECTED || state == PID1_RECONCILING) && error == -ESRCH)
                log_warning("The systemd manager (%s) is not on the bus: %s; its timers are reconciled when it is back.",
                            pid1_get_description(p), message ?: strerror(-error));
        else if (state == PID1_DISCONNECTED && error < 0)
                log_warning("Lost the systemd manager (%s): %s; retrying.", pid1_get_description(p),
                            message ?: strerror(-error));
        else
                log_debug("systemd manager %s: %s", pid1_get_description(p), pid1_state_to_string(state));
}

int scheduler_start_pid1(Scheduler *s) {
        static const Pid1Handlers handlers = {
                .fire = on_pid1_fire,
                .timer_changed = on_pid1_timer_changed,
                .state_changed = on_pid1_state_changed,
        };
        Manager *m = s->manager;
        int r;

        if (s->pid1)
                return 0;
        r = pid1_new(m->event, m->config->systemd.bus, &handlers, s, &s->pid1);
        if (r < 0)
                return r;
        return pid1_start(s->pid1);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "calendar.h"
#include "log.h"
#include "pid1-timer.h"
#include "strv.h"

#define SD_DEST   "org.freedesktop.systemd1"
#define SD_PATH   "/org/freedesktop/systemd1"
#define SD_MGR    "org.freedesktop.systemd1.Manager"
#define SD_TIMER  "org.freedesktop.systemd1.Timer"
#define UNIT_PATH_PREFIX "/org/freedesktop/systemd1/unit/"

#define BACKOFF_MIN (100 * USEC_PER_MSEC)
#define BACKOFF_MAX (5 * USEC_PER_SEC)
/* StartTransientUnit right after a stop can find the old unit not yet unloaded (UnitExists). */
#define EXISTS_RETRY_DELAY (50 * USEC_PER_MSEC)
#define EXISTS_RETRIES 40
/* A timer unit that disappears behind our back is re-created after this pause. */
#define HEAL_DELAY (1 * USEC_PER_SEC)
#define RECENT_JOBS 64

static const char * const pid1_bus_kind_table[_PID1_BUS_KIND_MAX] = {
        [PID1_BUS_SYSTEM] = "system",
        [PID1_BUS_USER] = "user",
        [PID1_BUS_ADDRESS] = "address",
};
DEFINE_STRING_TABLE_LOOKUP(pid1_bus_kind, Pid1BusKind);

static const char * const pid1_state_table[_PID1_STATE_MAX] = {
        [PID1_DISCONNECTED] = "disconnected",
        [PID1_RECONCILING] = "reconciling",
        [PID1_READY] = "ready",
};
DEFINE_STRING_TABLE_LOOKUP(pid1_state, Pid1State);

typedef struct Waiter {
        uint64_t gen;
        pid1_done_t done;
        void *userdata;
} Waiter;

typedef enum Step {
        STEP_IDLE,
        STEP_CHECK,          /* ListUnitsByNames */
        STEP_PROPERTIES,     /* GetAll(Timer) of the unit found */
        STEP_STOP,           /* StopUnit + JobRemoved */
        STEP_START,          /* StartTransientUnit + JobRemoved */
        STEP_REFRESH,        /* GetAll(Timer) of the unit created */
} Step;

typedef struct Timer {
        Pid1 *pid1;
        char *id, *unit, *service, *path;

        /* desired */
        bool wanted;
        char **specs, **normalized;
        char *zone, *description;
        uint64_t gen;            /* bumped by every set/remove call */
        uint64_t desired_gen;    /* the call the desired state above comes from */
        unsigned n_validating;
        unsigned pinned;         /* callbacks running: do not drop */

        /* applying it */
        Step step;
        uint64_t run_gen;
        bool dirty;              /* desired state changed during the run */
        bool in_reconcile;
        unsigned exists_retries;
        unsigned stale_inspected; /* units of ours checked for a crashed manager's leftover file */
        sd_bus_slot *slot;
        char *job;
        sd_event_source *retry_source;
        Waiter *waiters;
        size_t n_waiters;

        /* what the manager has */
        bool active;
        usec_t next_elapse, last_trigger;
        usec_t started_at;       /* CLOCK_REALTIME of our StartTransientUnit */
        usec_t pending_due;      /* NextElapseUSecRealtime seen before the next trigger */
        bool props_known;
        char **have_calendar;    /* TimersCalendar specs found by STEP_PROPERTIES */
        usec_t have_accuracy, have_randomized;
        bool have_persistent;
} Timer;

typedef struct SetRequest {
        Pid1 *pid1;
        char *id;
        uint64_t gen;
        char **specs;
        char *zone, *description;
        pid1_done_t done;
        void *userdata;
        CalendarQuery *query;
        struct SetRequest *next, *prev;
} SetRequest;

typedef struct RecentJob {
        char *path;
        char *result;
} RecentJob;

struct Pid1 {
        sd_event *event;
        Pid1BusKind kind;
        char *address;           /* PID1_BUS_ADDRESS */
        char *description;
        Pid1Handlers handlers;
        void *userdata;

        sd_bus *bus;
        bool direct;             /* peer-to-peer with the manager (its private socket) */
        bool started;
        Pid1State state;
        usec_t backoff;
        sd_event_source *reconnect_source;
        sd_bus_slot *owner_slot, *subscribe_slot, *list_slot;

        Timer **timers;
        size_t n_timers;

        SetRequest *set_requests;

        /* reconcile */
        unsigned reconcile_pending;
        int reconcile_error;
        char *reconcile_message;
        Waiter *reconcile_waiters;
        size_t n_reconcile_waiters;
        bool reconcile_again;
        bool reconcile_deferred; /* waits for pending pid1_timer_set() validations */

        RecentJob recent[RECENT_JOBS];
        unsigned recent_next;
};

static void timer_apply(Timer *t);
static void pid1_schedule_reconnect(Pid1 *p, int error, const char *message);
static void reconcile_begin(Pid1 *p);
static void reconcile_timer_done(Pid1 *p, Timer *t, int error, const char *message);

/* ---- names ---- */

bool pid1_timer_id_is_valid(const char *id) {
        if (isempty(id) || strlen(id) > PID1_ID_MAX)
                return false;
        for (const char *c = id; *c; c++)
                if (!isalnum((unsigned char) *c) && *c != '_' && *c != '-')
                        return false;
        return true;
}

int pid1_timer_unit_name(const char *id, char **ret) {
        assert(ret);
        if (!pid1_timer_id_is_valid(id))
                return -EINVAL;
        char *s = strprintf(PID1_TIMER_PREFIX "%s.timer", id);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int pid1_timer_id_from_unit(const char *unit, char **ret) {
        assert(ret);
        const char *s = unit ? startswith(unit, PID1_TIMER_PREFIX) : NULL;
        if (!s)
                return -EINVAL;
        size_t l = strlen(s);
        if (l <= strlen(".timer") || !streq(s + l - strlen(".timer"), ".timer"))
                return -EINVAL;
        char *id = strndup(s, l - strlen(".timer"));
        if (!id)
                return -ENOMEM;
        if (!pid1_timer_id_is_valid(id)) {
                free(id);
                return -EINVAL;
        }
        *ret = id;
        return 0;
}

/* ---- errors ---- */

/* -errno and a one-line message for a failed call. */
static int call_error(const sd_bus_error *e, int r, const char *what, const char *unit, char **ret_message) {
        int k = sd_bus_error_get_errno(e);
        if (k > 0)
                r = -k;
        if (r >= 0)
                r = -EIO;
        if (e && sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
                r = -EACCES;
        if (ret_message)
                *ret_message = strprintf("%s(%s) failed: %s%s%s", what, strempty(unit),
                                         e && e->name ? e->name : strerror(-r), e && e->message ? ": " : "",
                                         e && e->message ? e->message : "");
        return r;
}

/* ---- waiters ---- */

static int waiters_add(Waiter **w, size_t *n, uint64_t gen, pid1_done_t done, void *userdata) {
        if (!done)
                return 0;
        Waiter *nw = realloc(*w, (*n + 1) * sizeof(Waiter));
        if (!nw)
                return -ENOMEM;
        *w = nw;
        nw[(*n)++] = (Waiter) { .gen = gen, .done = done, .userdata = userdata };
        return 0;
}

/* Calls (and removes) the waiters with gen <= upto. Callbacks may call back into us: work on a
 * detached copy. */
static void waiters_fire(Pid1 *p, const char *id, Waiter **w, size_t *n, uint64_t upto, int error,
                         const char *message) {
        size_t k = 0, m = 0;
        Waiter *fire = new(Waiter, *n);
        if (!fire && *n > 0)
                return (void) log_oom();
        for (size_t i = 0; i < *n; i++) {
                if ((*w)[i].gen <= upto)
                        fire[m++] = (*w)[i];
                else
                        (*w)[k++] = (*w)[i];
        }
        *n = k;
        _cleanup_free_ char *idc = id ? strdup(id) : NULL;
        for (size_t i = 0; i < m; i++)
                fire[i].done(p, idc, error, message, fire[i].userdata);
        free(fire);
}

/* ---- timers ---- */

static Timer *timer_find(Pid1 *p, const char *id) {
        for (size_t i = 0; i < p->n_timers; i++)
                if (streq(p->timers[i]->id, id))
                        return p->timers[i];
        return NULL;
}

static Timer *timer_find_by_path(Pid1 *p, const char *path) {
        for (size_t i = 0; i < p->n_timers; i++)
                if (streq(p->timers[i]->path, path))
                        return p->timers[i];
        return NULL;
}

static void timer_clear_desired(Timer *t) {
        t->specs = strv_free(t->specs);
        t->normalized = strv_free(t->normalized);
        t->zone = mfree(t->zone);
        t->description = mfree(t->description);
}

static void timer_cancel_step(Timer *t) {
        t->slot = sd_bus_slot_unref(t->slot);
        t->retry_source = sd_event_source_disable_unref(t->retry_source);
        t->job = mfree(t->job);
        t->step = STEP_IDLE;
}

static Timer *timer_free(Timer *t) {
        if (!t)
                return NULL;
        timer_cancel_step(t);
        timer_clear_desired(t);
        strv_free(t->have_calendar);
        free(t->waiters);
        free(t->id);
        free(t->unit);
        free(t->service);
        free(t->path);
        return mfree(t);
}

static int timer_get_or_new(Pid1 *p, const char *id, Timer **ret) {
        Timer *t = timer_find(p, id);
        if (t) {
                *ret = t;
                return 0;
        }
        t = new0(Timer, 1);
        if (!t)
                return -ENOMEM;
        t->pid1 = p;
        t->id = strdup(id);
        int r = pid1_timer_unit_name(id, &t->unit);
        if (r >= 0)
                t->service = strprintf(PID1_TIMER_PREFIX "%s.service", id);
        if (r >= 0 && t->id && t->service)
                r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", t->unit, &t->path);
        else if (r >= 0)
                r = -ENOMEM;
        Timer **nt = r >= 0 ? realloc(p->timers, (p->n_timers + 1) * sizeof(Timer *)) : NULL;
        if (!nt) {
                timer_free(t);
                return r < 0 ? r : -ENOMEM;
        }
        p->timers = nt;
        p->timers[p->n_timers++] = t;
        *ret = t;
        return 0;
}

/* Forgets a timer that is neither wanted nor busy (stopped stray, removed schedule). */
static void timer_maybe_drop(Timer *t) {
        Pid1 *p = t->pid1;
        if (t->wanted || t->step != STEP_IDLE || t->n_waiters > 0 || t->n_validating > 0 || t->in_reconcile ||
            t->dirty || t->pinned > 0)
                return;
        for (size_t i = 0; i < p->n_timers; i++)
                if (p->timers[i] == t) {
                        p->timers[i] = p->timers[--p->n_timers];
                        break;
                }
        timer_free(t);
}

static void timer_notify_changed(Timer *t) {
        Pid1 *p = t->pid1;
        if (!p->handlers.timer_changed || !t->wanted)
                return;
        Pid1TimerInfo info = {
                .active = t->active,
                .next_elapse = t->next_elapse,
                .last_trigger = t->last_trigger,
        };
        p->handlers.timer_changed(p, t->id, &info, p->userdata);
}

/* New values of the timer's properties, from a signal or a GetAll. A LastTriggerUSec that moves
 * past the time we (re)created the unit is a firing; it was due at the NextElapseUSecRealtime seen
 * before it. */
static void timer_update(Timer *t, bool has_next, usec_t next, bool has_last, usec_t last) {
        Pid1 *p = t->pid1;
        bool changed = false;

        if (has_last && last != t->last_trigger) {
                bool fired = last > t->last_trigger && t->started_at > 0 && last >= t->started_at;
                t->last_trigger = last;
                changed = true;
                if (fired && t->wanted) {
                        usec_t due = t->pending_due;
                        if (due == 0 || due > last)
                                /* not seen (or not plausible): the trigger time is the best we know */
                                due = last;
                        Pid1Firing f = {
                                .id = t->id,
                                .scheduled = due,
                                .triggered = last,
                                .catch_up = due < t->started_at,
                        };
                        t->pending_due = 0;
                        log_debug("%s fired: due %" PRIu64 ", triggered %" PRIu64 "%s", t->unit, f.scheduled,
                                  f.triggered, f.catch_up ? " (catch-up)" : "");
                        if (p->handlers.fire)
                                p->handlers.fire(p, &f, p->userdata);
                }
        }
        if (has_next) {
                /* USEC_INFINITY while the triggered service runs, or when nothing is ahead */
                if (next == USEC_INFINITY)
                        next = 0;
                if (next != t->next_elapse) {
                        t->next_elapse = next;
                        changed = true;
                }
                /* the due instant of the next trigger stays what it was meanwhile */
                if (next > 0)
                        t->pending_due = next;
        }
        if (changed)
                timer_notify_changed(t);
}

/* ---- recent jobs: a JobRemoved may overtake the reply that names its job ---- */

static void recent_add(Pid1 *p, const char *path, const char *result) {
        RecentJob *j = &p->recent[p->recent_next++ % RECENT_JOBS];
        free(j->path);
        free(j->result);
        j->path = strdup(path);
        j->result = strdup(result);
}

static const char *recent_find(Pid1 *p, const char *path) {
        for (size_t i = 0; i < RECENT_JOBS; i++)
                if (p->recent[i].path && streq(p->recent[i].path, path))
                        return p->recent[i].result;
        return NULL;
}

static void recent_clear(Pid1 *p) {
        for (size_t i = 0; i < RECENT_JOBS; i++) {
                p->recent[i].path = mfree(p->recent[i].path);
                p->recent[i].result = mfree(p->recent[i].result);
        }
}

/* ---- applying a timer's desired state: check, (properties), (stop), (start), refresh ---- */

static void timer_step_done(Timer *t, int error, const char *message) {
        Pid1 *p = t->pid1;
        uint64_t gen = t->run_gen;

        timer_cancel_step(t);
        if (error < 0)
                log_debug("%s: %s", t->unit, strna(message));

        _cleanup_free_ char *id = strdup(t->id);
        bool again = t->dirty && p->state != PID1_DISCONNECTED;
        t->dirty = false;
        /* the caller of the run's generation and of every earlier one gets this result */
        t->pinned++; /* the callbacks may call our API: t stays */
        waiters_fire(p, id, &t->waiters, &t->n_waiters, gen, error, message);
        t->pinned--;
        if (t->in_reconcile && !again) {
                t->in_reconcile = false;
                reconcile_timer_done(p, t, error, message);
        }
        if (again)
                timer_apply(t);
        else
                timer_maybe_drop(t);
}

static int on_job_result(Timer *t, const char *result);

static int timer_wait_job(Timer *t, sd_bus_message *reply) {
        const char *job;
        int r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return r;
        const char *res = recent_find(t->pid1, job);
        if (res)
                return on_job_result(t, res);
        t->job = strdup(job);
        return t->job ? 0 : -ENOMEM;
}

static void timer_start_unit(Timer *t);

static void timer_after_stop(Timer *t) {
        t->active = false;
        t->next_elapse = 0;
        timer_notify_changed(t);
        /* a failed unit stays loaded until its failure is reset; ignore the answer */
        (void) sd_bus_call_method_async(t->pid1->bus, NULL, SD_DEST, SD_PATH, SD_MGR, "ResetFailedUnit", NULL, NULL,
                                        "s", t->unit);
        if (t->wanted)
                timer_start_unit(t);
        else
                timer_step_done(t, 0, NULL);
}

static int on_refresh(sd_bus_message *m, void *userdata, sd_bus_error *ret_error);

static int on_job_result(Timer *t, const char *result) {
        _cleanup_free_ char *msg = NULL;
        t->job = mfree(t->job);
        switch (t->step) {
        case STEP_STOP:
                /* "done", or "canceled" by a newer job on the unit: it is stopped or going */
                timer_after_stop(t);
                return 0;
        case STEP_START:
                if (!streq(result, "done")) {
                        msg = strprintf("Job for %s failed: %s", t->unit, result);
                        timer_step_done(t, -EIO, msg);
                        return 0;
                }
                t->active = true;
                t->step = STEP_REFRESH;
                int r = sd_bus_call_method_async(t->pid1->bus, &t->slot, SD_DEST, t->path,
                                                 "org.freedesktop.DBus.Properties", "GetAll", on_refresh, t, "s",
                                                 SD_TIMER);
                if (r < 0)
                        timer_step_done(t, r, "GetAll failed");
                return 0;
        default:
                return 0;
        }
}

static int on_stop_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Timer *t = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        t->slot = sd_bus_slot_unref(t->slot);
        if (e) {
                if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit")) {
                        timer_after_stop(t);
                        return 0;
                }
                _cleanup_free_ char *msg = NULL;
                int r = call_error(e, -EIO, "StopUnit", t->unit, &msg);
                timer_step_done(t, r, msg);
                return 0;
        }
        int r = timer_wait_job(t, m);
        if (r < 0)
                timer_step_done(t, r, "Bad reply to StopUnit");
        return 0;
}

static void timer_stop_unit(Timer *t) {
        log_debug("Stopping %s", t->unit);
        t->step = STEP_STOP;
        int r = sd_bus_call_method_async(t->pid1->bus, &t->slot, SD_DEST, SD_PATH, SD_MGR, "StopUnit", on_stop_reply,
                                         t, "ss", t->unit, "replace");
        if (r < 0)
                timer_step_done(t, r, "Cannot call StopUnit");
}

static int append_timer_properties(Timer *t, sd_bus_message *m) {
        _cleanup_free_ char *desc = strprintf("stopstart schedule %s: %s", t->id, strempty(t->description));
        if (!desc)
                return -ENOMEM;
        int r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "(sv)", "Description", "s", desc);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "TimersCalendar");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(ss)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(ss)");
        STRV_FOREACH(s, t->normalized)
                if (r >= 0)
                        r = sd_bus_message_append(m, "(ss)", "OnCalendar", *s);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)", "AccuracyUSec", "t", (uint64_t) PID1_TIMER_ACCURACY_USEC,
                                          "RandomizedDelayUSec", "t", (uint64_t) 0, "Persistent", "b", 1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;

        /* aux: the unit the timer triggers (a transient timer cannot name another one). It only
         * marks the firing; the daemon learns of it from LastTriggerUSec. */
        _cleanup_free_ char *sdesc = strprintf("stopstart schedule %s: firing marker (the daemon acts)", t->id);
        if (!sdesc)
                return -ENOMEM;
        r = sd_bus_message_open_container(m, 'a', "(sa(sv))");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sa(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", t->service);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)", "Description", "s", sdesc, "Type", "s", "oneshot");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "ExecStart", "a(sasb)", 1, "/bin/true", 1, "/bin/true", 0);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int on_retry_start(sd_event_source *s, uint64_t usec, void *userdata) {
        Timer *t = userdata;
        t->retry_source = sd_event_source_disable_unref(t->retry_source);
        timer_start_unit(t);
        return 0;
}

static char *invalid_calendar_message(Timer *t, const sd_bus_error *e) {
        _cleanup_free_ char *list = NULL;
        size_t n = strv_length(t->specs);
        for (size_t i = 0; i < n; i++) {
                char *nl = strprintf("%s%s'%s'", strempty(list), i > 0 ? ", " : "", t->specs[i]);
                if (!nl)
                        return NULL;
                free(list);
                list = nl;
        }
        return strprintf("Invalid calendar spec %s%s (time zone %s), rejected by the systemd manager: %s",
                         n > 1 ? "in " : "", strempty(list), strempty(t->zone), e->message ?: e->name);
}

/* A manager killed without a chance to clean up (SIGKILL, OOM, power loss of a persistent
 * runtime dir) leaves its transient unit files behind. Its successor loads them as ordinary
 * fragments that are never unloaded, so StartTransientUnit fails with UnitExists forever. Such a
 * file is ours (the unit names carry our prefix) and dead: remove it and let the retry create the
 * unit again. Returns 1 when a file was removed, 0 when the unit is not such a leftover. */
static int remove_stale_transient_file(Timer *t, const char *unit, const char *fragment, int transient,
                                       char **ret_message) {
        if (transient || isempty(fragment))
                return 0;
        const char *slash = strrchr(fragment, '/');
        if (!slash || !streq(slash + 1, unit))
                return 0;
        size_t dirlen = slash - fragment;
        static const char suffix[] = "/systemd/transient";
        if (dirlen < strlen(suffix) || strncmp(fragment + dirlen - strlen(suffix), suffix, strlen(suffix)) != 0)
                return 0;
        if (unlink(fragment) < 0 && errno != ENOENT) {
                int r = -errno;
                *ret_message = strprintf("%s is blocked by %s, a transient unit file left behind by a crashed "
                                         "systemd manager, and it cannot be removed: %s",
                                         t->unit, fragment, strerror(-r));
                return r;
        }
        log_warning("Removed %s, a transient unit file left behind by a crashed systemd manager", fragment);
        return 1;
}

static void timer_inspect_stale(Timer *t);

static int on_inspect_stale(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Timer *t = userdata;
        const char *unit = t->stale_inspected == 1 ? t->unit : t->service;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        t->slot = sd_bus_slot_unref(t->slot);

        const char *fragment = NULL;
        int transient = 0, r = 0;
        if (!e) {
                r = sd_bus_message_enter_container(m, 'a', "{sv}");
                while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                        const char *name;
                        r = sd_bus_message_read(m, "s", &name);
                        if (r < 0)
                                break;
                        if (streq(name, "FragmentPath"))
                                r = sd_bus_message_read(m, "v", "s", &fragment);
                        else if (streq(name, "Transient"))
                                r = sd_bus_message_read(m, "v", "b", &transient);
                        else
                                r = sd_bus_message_skip(m, "v");
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                }
        }
        if (r >= 0 && fragment) {
                _cleanup_free_ char *msg = NULL;
                r = remove_stale_transient_file(t, unit, fragment, transient, &msg);
                if (r < 0) {
                        timer_step_done(t, r, msg);
                        return 0;
                }
        }
        if (t->stale_inspected < 2)
                timer_inspect_stale(t);
        else
                /* whatever was found, the ordinary path: stop, wait for the unload, create */
                on_retry_start(NULL, 0, t);
        return 0;
}

/* Asks for FragmentPath and Transient of the timer, then of its service. */
static void timer_inspect_stale(Timer *t) {
        _cleanup_free_ char *path = NULL;
        const char *unit = t->stale_inspected++ == 0 ? t->unit : t->service;
        int r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
        if (r >= 0)
                r = sd_bus_call_method_async(t->pid1->bus, &t->slot, SD_DEST, path, "org.freedesktop.DBus.Properties",
                                             "GetAll", on_inspect_stale, t, "s", "org.freedesktop.systemd1.Unit");
        if (r < 0)
                timer_step_done(t, r, "Cannot call GetAll(org.freedesktop.systemd1.Unit)");
}

static int on_start_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Timer *t = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        t->slot = sd_bus_slot_unref(t->slot);
        if (e) {
                if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists") && t->stale_inspected == 0) {
                        /* before waiting for an unload, rule out a file that never unloads */
                        timer_inspect_stale(t);
                        return 0;
                }
                if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists") &&
                    t->exists_retries++ < EXISTS_RETRIES) {
                        /* the stopped unit (or its service, still running /bin/true) is not
                         * unloaded yet: stop again (harmless) and retry */
                        (void) sd_bus_call_method_async(t->pid1->bus, NULL, SD_DEST, SD_PATH, SD_MGR, "StopUnit",
                                                        NULL, NULL, "ss", t->unit, "replace");
                        int r = sd_event_add_time_relative(t->pid1->event, &t->retry_source, CLOCK_MONOTONIC,
                                                           EXISTS_RETRY_DELAY, 0, on_retry_start, t);
                        if (r < 0)
                                timer_step_done(t, r, "Cannot arm a timer");
                        return 0;
                }
                _cleanup_free_ char *msg = NULL;
                int r;
                if (sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS) && e->message &&
                    strstr(e->message, "alendar")) {
                        r = -EINVAL;
                        msg = invalid_calendar_message(t, e);
                } else
                        r = call_error(e, -EIO, "StartTransientUnit", t->unit, &msg);
                timer_step_done(t, r, msg);
                return 0;
        }
        int r = timer_wait_job(t, m);
        if (r < 0)
                timer_step_done(t, r, "Bad reply to StartTransientUnit");
        return 0;
}

static void timer_start_unit(Timer *t) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        log_debug("Creating %s", t->unit);
        t->step = STEP_START;
        r = sd_bus_message_new_method_call(t->pid1->bus, &m, SD_DEST, SD_PATH, SD_MGR, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", t->unit, "fail");
        if (r >= 0)
                r = append_timer_properties(t, m);
        if (r < 0)
                return timer_step_done(t, r, "Cannot build StartTransientUnit");
        /* firings after this instant are new; a LastTriggerUSec before it is an old stamp */
        t->started_at = now(CLOCK_REALTIME);
        t->pending_due = 0;
        r = sd_bus_call_async(t->pid1->bus, &t->slot, m, on_start_reply, t, 0);
        if (r < 0)
                timer_step_done(t, r, "Cannot call StartTransientUnit");
}

/* Reads NextElapseUSecRealtime, LastTriggerUSec and, for the comparison, TimersCalendar,
 * AccuracyUSec, RandomizedDelayUSec, Persistent from a GetAll(Timer) reply. */
static int read_timer_properties(Timer *t, sd_bus_message *m, usec_t *next, bool *has_next, usec_t *last,
                                 bool *has_last) {
        int r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        t->have_calendar = strv_free(t->have_calendar);
        t->have_accuracy = t->have_randomized = USEC_INFINITY;
        t->have_persistent = false;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (streq(name, "TimersCalendar")) {
                        r = sd_bus_message_enter_container(m, 'v', "a(sst)");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_enter_container(m, 'a', "(sst)");
                        if (r < 0)
                                return r;
                        const char *base, *spec;
                        uint64_t nx;
                        while ((r = sd_bus_message_read(m, "(sst)", &base, &spec, &nx)) > 0)
                                if (streq(base, "OnCalendar") && strv_extend(&t->have_calendar, spec) < 0)
                                        return -ENOMEM;
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                } else if (streq(name, "NextElapseUSecRealtime")) {
                        r = sd_bus_message_read(m, "v", "t", next);
                        *has_next = true;
                } else if (streq(name, "LastTriggerUSec")) {
                        r = sd_bus_message_read(m, "v", "t", last);
                        *has_last = true;
                } else if (streq(name, "AccuracyUSec")) {
                        r = sd_bus_message_read(m, "v", "t", &t->have_accuracy);
                } else if (streq(name, "RandomizedDelayUSec")) {
                        r = sd_bus_message_read(m, "v", "t", &t->have_randomized);
                } else if (streq(name, "Persistent")) {
                        int b;
                        r = sd_bus_message_read(m, "v", "b", &b);
                        t->have_persistent = b;
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int strv_cmp_sorted(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

static bool same_set(char **a, char **b) {
        size_t n = strv_length(a);
        if (n != strv_length(b))
                return false;
        qsort(a, n, sizeof(char *), strv_cmp_sorted);
        _cleanup_free_ char **bs = new(char *, n + 1);
        if (!bs)
                return false;
        memcpy(bs, b, (n + 1) * sizeof(char *));
        qsort(bs, n, sizeof(char *), strv_cmp_sorted);
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], bs[i]))
                        return false;
        return true;
}

static int on_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Timer *t = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        t->slot = sd_bus_slot_unref(t->slot);
        if (e) {
                /* gone in the meantime: create it */
                if (t->wanted)
                        timer_start_unit(t);
                else
                        timer_step_done(t, 0, NULL);
                return 0;
        }
        usec_t next = 0, last = 0;
        bool has_next = false, has_last = false;
        int r = read_timer_properties(t, m, &next, &has_next, &last, &has_last);
        if (r < 0) {
                timer_step_done(t, r, "Bad reply to GetAll(org.freedesktop.systemd1.Timer)");
                return 0;
        }
        t->active = true;
        bool same = t->wanted && same_set(t->have_calendar, t->normalized) &&
                    t->have_accuracy == PID1_TIMER_ACCURACY_USEC && t->have_randomized == 0 && t->have_persistent;
        if (same) {
                timer_update(t, has_next, next, has_last, last);
                timer_step_done(t, 0, NULL);
        } else {
                _cleanup_free_ char *have = strv_join(t->have_calendar, "; "), *want = strv_join(t->normalized, "; ");
                log_debug("%s differs from the desired timer (calendar '%s' vs '%s', accuracy %" PRIu64
                          ", randomized delay %" PRIu64 ", persistent %d): replacing it", t->unit, strna(have),
                          strna(want), t->have_accuracy, t->have_randomized, t->have_persistent);
                timer_stop_unit(t);
        }
        return 0;
}

static int on_refresh(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Timer *t = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        t->slot = sd_bus_slot_unref(t->slot);
        if (!e) {
                usec_t next = 0, last = 0;
                bool has_next = false, has_last = false;
                if (read_timer_properties(t, m, &next, &has_next, &last, &has_last) >= 0)
                        timer_update(t, has_next, next, has_last, last);
        }
        timer_step_done(t, 0, NULL);
        return 0;
}

static int on_check(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Timer *t = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        t->slot = sd_bus_slot_unref(t->slot);
        if (e) {
                _cleanup_free_ char *msg = NULL;
                int r = call_error(e, -EIO, "ListUnitsByNames", t->unit, &msg);
                timer_step_done(t, r, msg);
                return 0;
        }
        /* a(ssssssouso): name, description, load, active, sub, following, path, job id, type, path */
        const char *name, *desc = "", *load = "not-found", *active = "inactive";
        bool found = false;
        int r = sd_bus_message_enter_container(m, 'a', "(ssssssouso)");
        if (r >= 0) {
                const char *sub, *following, *path, *jtype, *jpath;
                uint32_t jid;
                while ((r = sd_bus_message_read(m, "(ssssssouso)", &name, &desc, &load, &active, &sub, &following,
                                                &path, &jid, &jtype, &jpath)) > 0)
                        if (streq(name, t->unit)) {
                                found = true;
                                break;
                        }
        }
        if (r < 0) {
                timer_step_done(t, r, "Bad reply to ListUnitsByNames");
                return 0;
        }
        bool loaded = found && streq(load, "loaded");
        if (!loaded) {
                if (t->active) {
                        t->active = false;
                        t->next_elapse = 0;
                        timer_notify_changed(t);
                }
                if (t->wanted)
                        timer_start_unit(t);
                else
                        timer_step_done(t, 0, NULL);
                return 0;
        }
        if (!t->wanted || !streq(active, "active")) {
                timer_stop_unit(t);
                return 0;
        }
        _cleanup_free_ char *want_desc = strprintf("stopstart schedule %s: %s", t->id, strempty(t->description));
        if (want_desc && !streq(desc, want_desc)) {
                log_debug("%s has description '%s', not '%s': replacing it", t->unit, desc, want_desc);
                timer_stop_unit(t);
                return 0;
        }
        t->step = STEP_PROPERTIES;
        r = sd_bus_call_method_async(t->pid1->bus, &t->slot, SD_DEST, t->path, "org.freedesktop.DBus.Properties",
                                     "GetAll", on_properties, t, "s", SD_TIMER);
        if (r < 0)
                timer_step_done(t, r, "Cannot call GetAll");
        return 0;
}

/* Brings the manager's unit in line with the desired state: one run at a time per timer. */
static void timer_apply(Timer *t) {
        Pid1 *p = t->pid1;
        if (t->step != STEP_IDLE) {
                t->dirty = true;
                return;
        }
        if (p->state == PID1_DISCONNECTED || !p->bus)
                return;
        t->run_gen = t->desired_gen;
        t->exists_retries = 0;
        t->stale_inspected = 0;
        /* a firing seen from now on is new (an older LastTriggerUSec is a stamp from before) */
        if (t->started_at == 0)
                t->started_at = now(CLOCK_REALTIME);
        t->step = STEP_CHECK;
        int r = sd_bus_call_method_async(p->bus, &t->slot, SD_DEST, SD_PATH, SD_MGR, "ListUnitsByNames", on_check, t,
                                         "as", 1, t->unit);
        if (r < 0)
                timer_step_done(t, r, "Cannot call ListUnitsByNames");
}

/* ---- reconcile ---- */

static void set_state(Pid1 *p, Pid1State s, int error, const char *message) {
        if (p->state == s && error >= 0)
                return;
        p->state = s;
        if (error < 0)
                log_debug("systemd manager: %s: %s", pid1_state_to_string(s), strna(message));
        if (p->handlers.state_changed)
                p->handlers.state_changed(p, s, error, message, p->userdata);
}

static void reconcile_finish(Pid1 *p) {
        int error = p->reconcile_error;
        _cleanup_free_ char *msg = TAKE_PTR(p->reconcile_message);
        p->reconcile_error = 0;
        if (p->reconcile_again) {
                p->reconcile_again = false;
                reconcile_begin(p);
                return;
        }
        p->backoff = 0;
        set_state(p, PID1_READY, error, msg);
        waiters_fire(p, NULL, &p->reconcile_waiters, &p->n_reconcile_waiters, UINT64_MAX, error, msg);
}

static void reconcile_timer_done(Pid1 *p, Timer *t, int error, const char *message) {
        if (error < 0 && p->reconcile_error == 0) {
                p->reconcile_error = error;
                free(p->reconcile_message);
                p->reconcile_message = strprintf("%s: %s", t->unit, strna(message));
        }
        assert(p->reconcile_pending > 0);
        if (--p->reconcile_pending == 0)
                reconcile_finish(p);
}

static int on_list(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pid1 *p = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        p->list_slot = sd_bus_slot_unref(p->list_slot);
        if (e) {
                _cleanup_free_ char *msg = NULL;
                int r = call_error(e, -EIO, "ListUnitsByPatterns", PID1_TIMER_PREFIX "*.timer", &msg);
                pid1_schedule_reconnect(p, r, msg);
                return 0;
        }
        int r = sd_bus_message_enter_container(m, 'a', "(ssssssouso)");
        const char *name, *desc, *load, *active, *sub, *following, *path, *jtype, *jpath;
        uint32_t jid;
        while (r >= 0 && (r = sd_bus_message_read(m, "(ssssssouso)", &name, &desc, &load, &active, &sub, &following,
                                                  &path, &jid, &jtype, &jpath)) > 0) {
                _cleanup_free_ char *id = NULL;
                Timer *t;
                if (pid1_timer_id_from_unit(name, &id) < 0)
                        continue;
                /* a unit of ours not in the desired set is a stray: it gets a Timer that is not
                 * wanted, which stops it */
                if (timer_get_or_new(p, id, &t) < 0)
                        return log_oom(), 0;
        }
        if (r < 0) {
                pid1_schedule_reconnect(p, r, "Bad reply to ListUnitsByPatterns");
                return 0;
        }
        p->reconcile_pending = 1; /* held until every timer is started */
        for (size_t i = 0; i < p->n_timers; i++) {
                Timer *t = p->timers[i];
                if (t->in_reconcile)
                        continue;
                t->in_reconcile = true;
                p->reconcile_pending++;
        }
        /* timer_apply() may finish a timer (and drop it) at once only on a call error; iterate on
         * a copy */
        _cleanup_free_ Timer **copy = new(Timer *, p->n_timers);
        size_t n = p->n_timers;
        if (!copy && n > 0)
                return log_oom(), 0;
        if (n > 0)
                memcpy(copy, p->timers, n * sizeof(Timer *));
        for (size_t i = 0; i < n; i++)
                timer_apply(copy[i]);
        if (--p->reconcile_pending == 0)
                reconcile_finish(p);
        return 0;
}

static int on_subscribe(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pid1 *p = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        p->subscribe_slot = sd_bus_slot_unref(p->subscribe_slot);
        if (e && !sd_bus_error_has_name(e, "org.freedesktop.systemd1.AlreadySubscribed")) {
                _cleanup_free_ char *msg = NULL;
                int r = call_error(e, -EIO, "Subscribe", "", &msg);
                pid1_schedule_reconnect(p, r, msg);
                return 0;
        }
        int r = sd_bus_call_method_async(p->bus, &p->list_slot, SD_DEST, SD_PATH, SD_MGR, "ListUnitsByPatterns",
                                         on_list, p, "asas", 0, 1, PID1_TIMER_PREFIX "*.timer");
        if (r < 0)
                pid1_schedule_reconnect(p, r, "Cannot call ListUnitsByPatterns");
        return 0;
}

static void reconcile_begin(Pid1 *p) {
        if (p->reconcile_pending > 0 || p->subscribe_slot || p->list_slot) {
                p->reconcile_again = true;
                return;
        }
        set_state(p, PID1_RECONCILING, 0, NULL);
        /* a timer still being declared would look like a stray: wait for the declarations */
        if (p->set_requests) {
                p->reconcile_deferred = true;
                return;
        }
        p->reconcile_deferred = false;
        /* the manager sends unit signals on its bus only to subscribers (on its private socket
         * always); a restarted manager has forgotten us */
        int r = sd_bus_call_method_async(p->bus, &p->subscribe_slot, SD_DEST, SD_PATH, SD_MGR, "Subscribe",
                                         on_subscribe, p, "");
        if (r < 0)
                pid1_schedule_reconnect(p, r, "Cannot call Subscribe");
}

int pid1_reconcile(Pid1 *p, pid1_done_t done, void *userdata) {
        if (!p)
                return -EINVAL;
        if (p->state == PID1_DISCONNECTED)
                return -ENOTCONN;
        int r = waiters_add(&p->reconcile_waiters, &p->n_reconcile_waiters, 0, done, userdata);
        if (r < 0)
                return r;
        reconcile_begin(p);
        return 0;
}

/* ---- signals ---- */

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pid1 *p = userdata;
        uint32_t id;
        const char *job, *unit, *result;
        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        for (size_t i = 0; i < p->n_timers; i++) {
                Timer *t = p->timers[i];
                if (t->job && streq(t->job, job))
                        return on_job_result(t, result);
        }
        if (startswith(unit, PID1_TIMER_PREFIX))
                recent_add(p, job, result);
        return 0;
}

static int on_heal(sd_event_source *s, uint64_t usec, void *userdata) {
        Timer *t = userdata;
        t->retry_source = sd_event_source_disable_unref(t->retry_source);
        if (t->step == STEP_IDLE && t->wanted && !t->active)
                timer_apply(t);
        return 0;
}

static int on_unit_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pid1 *p = userdata;
        const char *unit, *path;
        if (sd_bus_message_read(m, "so", &unit, &path) < 0)
                return 0;
        Timer *t = timer_find_by_path(p, path);
        if (!t || t->step != STEP_IDLE || p->state != PID1_READY)
                return 0;
        if (t->active) {
                t->active = false;
                t->next_elapse = 0;
                timer_notify_changed(t);
        }
        /* stopped behind our back (systemctl stop): a wanted timer comes back, after a pause so
         * that we never spin against someone */
        if (t->wanted && !t->retry_source)
                (void) sd_event_add_time_relative(p->event, &t->retry_source, CLOCK_MONOTONIC, HEAL_DELAY, 0, on_heal,
                                                  t);
        return 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pid1 *p = userdata;
        const char *path = sd_bus_message_get_path(m), *iface;
        if (!path || !startswith(path, UNIT_PATH_PREFIX))
                return 0;
        Timer *t = timer_find_by_path(p, path);
        if (!t)
                return 0;
        if (sd_bus_message_read(m, "s", &iface) < 0 || !streq(iface, SD_TIMER))
                return 0;
        usec_t next = 0, last = 0;
        bool has_next = false, has_last = false;
        if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
                return 0;
        int r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;
                if (sd_bus_message_read(m, "s", &name) < 0)
                        return 0;
                if (streq(name, "NextElapseUSecRealtime")) {
                        r = sd_bus_message_read(m, "v", "t", &next);
                        has_next = true;
                } else if (streq(name, "LastTriggerUSec")) {
                        r = sd_bus_message_read(m, "v", "t", &last);
                        has_last = true;
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0 || sd_bus_message_exit_container(m) < 0)
                        return 0;
        }
        timer_update(t, has_next, next, has_last, last);
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pid1 *p = userdata;
        const char *name, *old, *new;
        if (sd_bus_message_read(m, "sss", &name, &old, &new) < 0 || !streq(name, SD_DEST))
                return 0;
        if (isempty(new)) {
                /* the manager went away (stopped, crashed, re-executing): wait for its return */
                for (size_t i = 0; i < p->n_timers; i++) {
                        Timer *t = p->timers[i];
                        t->active = false;
                        t->next_elapse = 0;
                }
                set_state(p, PID1_RECONCILING, -ESRCH, "org.freedesktop.systemd1 has no owner on the bus");
                return 0;
        }
        log_debug("org.freedesktop.systemd1 is now %s: reconciling", new);
        reconcile_begin(p);
        return 0;
}

static int on_name_owner(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pid1 *p = userdata;
        p->owner_slot = sd_bus_slot_unref(p->owner_slot);
        if (sd_bus_message_is_method_error(m, NULL)) {
                /* no owner yet: NameOwnerChanged will tell */
                set_state(p, PID1_RECONCILING, -ESRCH, "org.freedesktop.systemd1 has no owner on the bus yet");
                return 0;
        }
        reconcile_begin(p);
        return 0;
}

/* ---- connection ---- */

static void fail_all_waiters(Pid1 *p, int error, const char *message) {
        /* detach everything first: the callbacks may call our API */
        size_t n = 0, k = 0;
        for (size_t i = 0; i < p->n_timers; i++)
                n += p->timers[i]->n_waiters;
        typedef struct { char *id; Waiter w; } Pending;
        Pending *all = new0(Pending, n);
        if (!all && n > 0)
                return (void) log_oom();
        for (size_t i = 0; i < p->n_timers; i++) {
                Timer *t = p->timers[i];
                for (size_t j = 0; j < t->n_waiters; j++)
                        all[k++] = (Pending) { .id = strdup(t->id), .w = t->waiters[j] };
                t->n_waiters = 0;
        }
        _cleanup_free_ char *msg = message ? strdup(message) : NULL;
        for (size_t i = 0; i < k; i++) {
                all[i].w.done(p, all[i].id, error, msg, all[i].w.userdata);
                free(all[i].id);
        }
        free(all);
        waiters_fire(p, NULL, &p->reconcile_waiters, &p->n_reconcile_waiters, UINT64_MAX, error, msg);
}

static void pid1_disconnect(Pid1 *p) {
        p->owner_slot = sd_bus_slot_unref(p->owner_slot);
        p->subscribe_slot = sd_bus_slot_unref(p->subscribe_slot);
        p->list_slot = sd_bus_slot_unref(p->list_slot);
        for (size_t i = 0; i < p->n_timers; i++) {
                Timer *t = p->timers[i];
                timer_cancel_step(t);
                t->dirty = false;
                t->in_reconcile = false;
                t->active = false;
                t->next_elapse = 0;
        }
        p->reconcile_pending = 0;
        p->reconcile_again = false;
        p->reconcile_deferred = false;
        p->reconcile_error = 0;
        p->reconcile_message = mfree(p->reconcile_message);
        recent_clear(p);
        if (p->bus) {
                sd_bus_detach_event(p->bus);
                p->bus = sd_bus_flush_close_unref(p->bus);
        }
        /* drop what is neither wanted nor awaited (strays we were stopping) */
        for (size_t i = p->n_timers; i > 0; i--)
                if (!p->timers[i - 1]->wanted && p->timers[i - 1]->n_waiters == 0 &&
                    p->timers[i - 1]->n_validating == 0)
                        timer_maybe_drop(p->timers[i - 1]);
}

static int pid1_connect(Pid1 *p);

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        Pid1 *p = userdata;
        p->reconnect_source = sd_event_source_disable_unref(p->reconnect_source);
        int r = pid1_connect(p);
        if (r < 0) {
                _cleanup_free_ char *msg = strprintf("Cannot connect to %s: %s", p->description, strerror(-r));
                pid1_schedule_reconnect(p, r, msg);
        }
        return 0;
}

static void pid1_schedule_reconnect(Pid1 *p, int error, const char *message) {
        pid1_disconnect(p);
        set_state(p, PID1_DISCONNECTED, error, message);
        fail_all_waiters(p, -ENOTCONN, message);
        p->backoff = p->backoff == 0 ? BACKOFF_MIN : MIN(p->backoff * 2, BACKOFF_MAX);
        if (!p->reconnect_source)
                (void) sd_event_add_time_relative(p->event, &p->reconnect_source, CLOCK_MONOTONIC, p->backoff, 0,
                                                  on_reconnect, p);
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pid1 *p = userdata;
        _cleanup_free_ char *msg = strprintf("Connection to %s lost", p->description);
        pid1_schedule_reconnect(p, -ECONNRESET, msg);
        return 0;
}

static int bus_new_at(const char *address, bool bus_client, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *b = NULL;
        int r = sd_bus_new(&b);
        if (r < 0)
                return r;
        r = sd_bus_set_address(b, address);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(b, bus_client);
        if (r < 0)
                return r;
        r = sd_bus_start(b);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

static bool address_is_private_socket(const char *a) {
        const char *path = strstr(a, "path=");
        if (!path)
                return false;
        path += strlen("path=");
        size_t l = strcspn(path, ",;");
        return l >= strlen("systemd/private") && strneq(path + l - strlen("systemd/private"), "systemd/private",
                                                        strlen("systemd/private"));
}

static int runtime_dir(char **ret) {
        const char *e = getenv("XDG_RUNTIME_DIR");
        char *s = !isempty(e) && e[0] == '/' ? strdup(e) : strprintf("/run/user/%u", (unsigned) getuid());
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int pid1_open_bus(Pid1 *p) {
        _cleanup_free_ char *rt = NULL, *addr = NULL;
        int r;

        switch (p->kind) {
        case PID1_BUS_SYSTEM:
                p->direct = false;
                return sd_bus_open_system(&p->bus);
        case PID1_BUS_ADDRESS:
                p->direct = address_is_private_socket(p->address);
                return bus_new_at(p->address, !p->direct, &p->bus);
        case PID1_BUS_USER:
                /* as systemctl --user: the manager's private socket, else the user bus */
                r = runtime_dir(&rt);
                if (r < 0)
                        return r;
                addr = strprintf("unix:path=%s/systemd/private", rt);
                if (!addr)
                        return -ENOMEM;
                r = bus_new_at(addr, false, &p->bus);
                if (r >= 0) {
                        p->direct = true;
                        free(p->description);
                        p->description = strprintf("the user manager at %s", addr);
                        return 0;
                }
                free(addr);
                addr = strprintf("unix:path=%s/bus", rt);
                if (!addr)
                        return -ENOMEM;
                r = bus_new_at(addr, true, &p->bus);
                if (r < 0)
                        return r;
                p->direct = false;
                free(p->description);
                p->description = strprintf("the user manager on the user bus %s", addr);
                return 0;
        default:
                return -EINVAL;
        }
}

static int add_match(Pid1 *p, const char *path, const char *iface, const char *member, const char *arg0,
                     sd_bus_message_handler_t cb) {
        /* on the manager's private socket messages carry no sender: match without one */
        _cleanup_free_ char *sender = p->direct ? strdup("") : strdup(",sender='" SD_DEST "'");
        _cleanup_free_ char *pathm = path ? strprintf(",path='%s'", path) : strdup("");
        _cleanup_free_ char *argm = arg0 ? strprintf(",arg0='%s'", arg0) : strdup("");
        if (!sender || !pathm || !argm)
                return -ENOMEM;
        _cleanup_free_ char *rule = strprintf("type='signal'%s%s,interface='%s',member='%s'%s", sender, pathm, iface,
                                              member, argm);
        if (!rule)
                return -ENOMEM;
        return sd_bus_add_match_async(p->bus, NULL, rule, cb, NULL, p);
}

static int pid1_connect(Pid1 *p) {
        int r;

        assert(!p->bus);
        r = pid1_open_bus(p);
        if (r < 0) {
                p->bus = NULL;
                return r;
        }
        r = sd_bus_attach_event(p->bus, p->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                goto fail;
        r = sd_bus_match_signal(p->bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, p);
        if (r >= 0)
                r = add_match(p, SD_PATH, SD_MGR, "JobRemoved", NULL, on_job_removed);
        if (r >= 0)
                r = add_match(p, SD_PATH, SD_MGR, "UnitRemoved", NULL, on_unit_removed);
        if (r >= 0)
                r = add_match(p, NULL, "org.freedesktop.DBus.Properties", "PropertiesChanged", SD_TIMER,
                              on_properties_changed);
        if (r < 0)
                goto fail;
        if (!p->direct) {
                r = sd_bus_match_signal_async(p->bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                              "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed,
                                              NULL, p);
                if (r >= 0)
                        r = sd_bus_call_method_async(p->bus, &p->owner_slot, "org.freedesktop.DBus",
                                                     "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner",
                                                     on_name_owner, p, "s", SD_DEST);
                if (r < 0)
                        goto fail;
                set_state(p, PID1_RECONCILING, 0, NULL);
                return 0;
        }
        reconcile_begin(p);
        return 0;
fail:
        sd_bus_detach_event(p->bus);
        p->bus = sd_bus_flush_close_unref(p->bus);
        return r;
}

/* ---- API ---- */

int pid1_new(sd_event *e, const char *bus, const Pid1Handlers *handlers, void *userdata, Pid1 **ret) {
        if (!e || isempty(bus) || !ret)
                return -EINVAL;
        _cleanup_(pid1_freep) Pid1 *p = new0(Pid1, 1);
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(e);
        if (handlers)
                p->handlers = *handlers;
        p->userdata = userdata;
        p->state = PID1_DISCONNECTED;
        if (streq(bus, "system")) {
                p->kind = PID1_BUS_SYSTEM;
                p->description = strdup("the system bus");
        } else if (streq(bus, "user")) {
                p->kind = PID1_BUS_USER;
                p->description = strdup("the user manager");
        } else if (strchr(bus, ':') && strchr(bus, '=')) {
                p->kind = PID1_BUS_ADDRESS;
                p->address = strdup(bus);
                p->description = strdup(bus);
                if (!p->address)
                        return -ENOMEM;
        } else
                return -EINVAL;
        if (!p->description)
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}

Pid1 *pid1_free(Pid1 *p) {
        if (!p)
                return NULL;
        /* callers of pending requests learn that nothing more will happen */
        for (SetRequest *s = p->set_requests, *n; s; s = n) {
                n = s->next;
                s->query = calendar_query_free(s->query);
                if (s->done)
                        s->done(p, s->id, -ECANCELED, "The systemd manager client is shutting down", s->userdata);
                strv_free(s->specs);
                free(s->zone);
                free(s->description);
                free(s->id);
                free(s);
        }
        p->set_requests = NULL;
        p->reconnect_source = sd_event_source_disable_unref(p->reconnect_source);
        pid1_disconnect(p);
        fail_all_waiters(p, -ECANCELED, "The systemd manager client is shutting down");
        for (size_t i = 0; i < p->n_timers; i++)
                timer_free(p->timers[i]);
        free(p->timers);
        free(p->reconcile_waiters);
        free(p->reconcile_message);
        recent_clear(p);
        sd_event_unref(p->event);
        free(p->address);
        free(p->description);
        return mfree(p);
}

int pid1_start(Pid1 *p) {
        if (!p)
                return -EINVAL;
        if (p->started)
                return 0;
        p->started = true;
        int r = pid1_connect(p);
        if (r < 0) {
                _cleanup_free_ char *msg = strprintf("Cannot connect to %s: %s", p->description, strerror(-r));
                pid1_schedule_reconnect(p, r, msg);
        }
        return 0;
}

Pid1State pid1_get_state(Pid1 *p) {
        return p ? p->state : _PID1_STATE_INVALID;
}

const char *pid1_get_description(Pid1 *p) {
        return p ? p->description : NULL;
}

int pid1_timer_get(Pid1 *p, const char *id, Pid1TimerInfo *ret) {
        if (!p || !id || !ret)
                return -EINVAL;
        Timer *t = timer_find(p, id);
        if (!t || !t->wanted)
                return -ENOENT;
        *ret = (Pid1TimerInfo) {
                .active = t->active,
                .next_elapse = t->next_elapse,
                .last_trigger = t->last_trigger,
        };
        return 0;
}

/* Queues a waiter for generation gen and applies; when not connected, the waiter learns at once
 * (the desired state is kept for the next connection). */
static int timer_request(Timer *t, uint64_t gen, pid1_done_t done, void *userdata) {
        Pid1 *p = t->pid1;
        int r = waiters_add(&t->waiters, &t->n_waiters, gen, done, userdata);
        if (r < 0)
                return r;
        if (p->state == PID1_DISCONNECTED || !p->bus) {
                _cleanup_free_ char *msg = strprintf("Not connected to %s; the timer follows when it is back",
                                                     p->description);
                waiters_fire(p, t->id, &t->waiters, &t->n_waiters, gen, -ENOTCONN, msg);
                return 0;
        }
        timer_apply(t);
        return 0;
}

static void set_request_free(Pid1 *p, SetRequest *s) {
        if (s->prev)
                s->prev->next = s->next;
        else
                p->set_requests = s->next;
        if (s->next)
                s->next->prev = s->prev;
        calendar_query_free(s->query);
        strv_free(s->specs);
        free(s->zone);
        free(s->description);
        free(s->id);
        free(s);
}

static void on_validated_one(CalendarQuery *q, CalendarResult *result, void *userdata);

static void on_validated(CalendarQuery *q, CalendarResult *result, void *userdata) {
        Pid1 *p = ((SetRequest *) userdata)->pid1;
        on_validated_one(q, result, userdata);
        if (!p->set_requests && p->reconcile_deferred && p->bus) {
                p->reconcile_deferred = false;
                reconcile_begin(p);
        }
}

static void on_validated_one(CalendarQuery *q, CalendarResult *result, void *userdata) {
        SetRequest *s = userdata;
        Pid1 *p = s->pid1;
        Timer *t = timer_find(p, s->id);
        _cleanup_(calendar_result_freep) CalendarResult *res = result;
        pid1_done_t done = s->done;
        void *ud = s->userdata;

        assert(t && t->n_validating > 0);
        t->n_validating--;
        int r = res ? res->error : -ENOMEM;
        _cleanup_free_ char *id = strdup(s->id);
        if (r < 0) {
                _cleanup_free_ char *msg = res && res->message ? strdup(res->message) : NULL;
                set_request_free(p, s);
                if (done)
                        done(p, id, r, msg ?: "Cannot validate the calendar specs", ud);
                timer_maybe_drop(t);
                return;
        }
        if (t->gen != s->gen) {
                set_request_free(p, s);
                if (done)
                        done(p, id, -ECANCELED, "Superseded by a later change of the same timer", ud);
                timer_maybe_drop(t);
                return;
        }
        timer_clear_desired(t);
        t->wanted = true;
        t->specs = TAKE_PTR(s->specs);
        t->zone = TAKE_PTR(s->zone);
        t->description = TAKE_PTR(s->description);
        t->normalized = TAKE_PTR(res->normalized);
        t->desired_gen = s->gen;
        uint64_t gen = s->gen;
        set_request_free(p, s);
        r = timer_request(t, gen, done, ud);
        if (r < 0 && done)
                done(p, id, r, "Out of memory", ud);
}

int pid1_timer_set(Pid1 *p, const char *id, char * const *specs, const char *zone, const char *description,
                   pid1_done_t done, void *userdata) {
        Timer *t;
        int r;

        if (!p || !pid1_timer_id_is_valid(id) || strv_length((char **) specs) == 0 || !calendar_zone_name_is_valid(zone))
                return -EINVAL;
        r = timer_get_or_new(p, id, &t);
        if (r < 0)
                return r;
        SetRequest *s = new0(SetRequest, 1);
        if (!s)
                return -ENOMEM;
        s->pid1 = p;
        s->id = strdup(id);
        s->zone = strdup(zone);
        s->description = strdup(strempty(description));
        s->done = done;
        s->userdata = userdata;
        for (char * const *x = specs; *x && s->id; x++)
                if (strv_extend(&s->specs, *x) < 0)
                        break;
        if (!s->id || !s->zone || !s->description || strv_length(s->specs) != strv_length((char **) specs)) {
                strv_free(s->specs);
                free(s->id);
                free(s->zone);
                free(s->description);
                free(s);
                return -ENOMEM;
        }
        /* validated and normalized first: the normalized forms are what PID1 reports back */
        CalendarQuery *q = NULL;
        r = calendar_validate(p->event, s->specs, zone, on_validated, s, &q);
        if (r < 0) {
                strv_free(s->specs);
                free(s->id);
                free(s->zone);
                free(s->description);
                free(s);
                timer_maybe_drop(t);
                return r;
        }
        s->query = q;
        s->gen = ++t->gen;
        t->n_validating++;
        s->next = p->set_requests;
        if (s->next)
                s->next->prev = s;
        p->set_requests = s;
        return 0;
}

int pid1_timer_remove(Pid1 *p, const char *id, pid1_done_t done, void *userdata) {
        Timer *t;
        if (!p || !pid1_timer_id_is_valid(id))
                return -EINVAL;
        int r = timer_get_or_new(p, id, &t);
        if (r < 0)
                return r;
        t->wanted = false;
        timer_clear_desired(t);
        t->desired_gen = ++t->gen;
        r = timer_request(t, t->desired_gen, done, userdata);
        if (r < 0)
                return r;
        timer_maybe_drop(t);
        return 0;
}

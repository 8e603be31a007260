/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Schedules on systemd timers: the client of the systemd manager's D-Bus API
 * (org.freedesktop.systemd1) that keeps one transient timer unit per enabled schedule and
 * reports its firings. Knows nothing of SQL or of our bus objects: the daemon core tells it the
 * desired set (pid1_timer_set()/pid1_timer_remove()) and gets callbacks.
 *
 * Each timer is stopstart-schedule-<ID>.timer, created with StartTransientUnit:
 *   TimersCalendar=  one OnCalendar entry per spec, the zone appended ("Mon..Fri 19:00 Europe/Berlin")
 *   Persistent=yes   a slot missed while the manager was down runs at once when it is back
 *   AccuracyUSec=    PID1_TIMER_ACCURACY_USEC (the default 1min would coalesce firings)
 *   RandomizedDelayUSec=0
 *   Description=     "stopstart schedule ID: DESCRIPTION"
 * plus, in the same call, the unit it triggers: a transient stopstart-schedule-<ID>.service
 * (Type=oneshot, ExecStart=/bin/true). A transient timer cannot name another unit (Unit= is read-
 * only), and the firing is not delivered by that service: this client watches the timer's
 * LastTriggerUSec (PropertiesChanged) and reports the NextElapseUSecRealtime it had before, i.e.
 * the instant the firing was due. Nothing needs to be installed for this on the manager's side.
 *
 * The manager: PID1_BUS_USER ("user", the default of the `systemd: {bus:}` config key) is the
 * daemon user's own systemd user manager, reached as `systemctl --user` reaches it: its private
 * socket $XDG_RUNTIME_DIR/systemd/private (XDG_RUNTIME_DIR defaulting to /run/user/UID), else the
 * user bus. "system" is the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured: the tests' private bus
 * with a user manager registered as org.freedesktop.systemd1). Anything else is a D-Bus address;
 * an address whose path ends in "systemd/private" is a manager's private socket (peer to peer).
 *
 * Lifecycle: pid1_start() connects; a lost connection is retried with backoff (100 ms doubling up
 * to 5 s); on every (re)connection and whenever org.freedesktop.systemd1 gets a new owner on the
 * bus (manager restarted or re-executed), the client subscribes and reconciles: it lists
 * stopstart-schedule-*.timer (ListUnitsByPatterns), creates the missing timers, replaces the
 * changed ones (TimersCalendar, AccuracyUSec, Persistent, RandomizedDelayUSec compared with the
 * desired set, specs in systemd's normalized form) and stops the stray ones. Firings, timer
 * properties and state changes are reported through Pid1Handlers. All calls are asynchronous on
 * the caller's sd-event loop.
 *
 * Errors (negative errno, with a one-line message where a callback has one):
 *   -EINVAL       invalid ID, or a spec systemd rejects ("Invalid calendar spec 'SPEC'", from
 *                 systemd-analyze or from PID1's InvalidArgs): the bus layer's InvalidCalendar
 *   -ENOTCONN     no connection to the manager right now; the desired state is kept and applied
 *                 at the next (re)connection
 *   -ECANCELED    superseded by a later pid1_timer_set()/remove() of the same ID, or pid1_free()
 *   -EACCES       the manager refused us (e.g. no polkit grant on the system manager)
 *   other         from sd-bus (the message carries the D-Bus error) or from the job's result
 *                 ("Job for UNIT failed: RESULT"). */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "string-table.h"
#include "time-util.h"

#define PID1_TIMER_PREFIX         "stopstart-schedule-"
#define PID1_TIMER_ACCURACY_USEC  (1 * USEC_PER_MSEC)
#define PID1_ID_MAX               64U

typedef struct Pid1 Pid1;

typedef enum Pid1BusKind {
        PID1_BUS_SYSTEM,
        PID1_BUS_USER,
        PID1_BUS_ADDRESS,
        _PID1_BUS_KIND_MAX,
        _PID1_BUS_KIND_INVALID = -EINVAL,
} Pid1BusKind;
DECLARE_STRING_TABLE_LOOKUP(pid1_bus_kind, Pid1BusKind);  /* "system", "user", "address" */

typedef enum Pid1State {
        PID1_DISCONNECTED,       /* no connection; retrying with backoff */
        PID1_RECONCILING,        /* connected; subscribing and reconciling */
        PID1_READY,              /* connected and reconciled; changes are applied one by one */
        _PID1_STATE_MAX,
        _PID1_STATE_INVALID = -EINVAL,
} Pid1State;
DECLARE_STRING_TABLE_LOOKUP(pid1_state, Pid1State);     /* "disconnected", "reconciling", "ready" */

typedef struct Pid1Firing {
        const char *id;
        usec_t scheduled;        /* the instant the firing was due (µs since the epoch) */
        usec_t triggered;        /* LastTriggerUSec: when the manager triggered it */
        bool catch_up;           /* a Persistent= catch-up: the slot passed before the timer was
                                  * (re)created (manager or daemon down, schedule disabled). The
                                  * daemon decides what to do with it (missed, skipped, run). */
} Pid1Firing;

typedef struct Pid1TimerInfo {
        bool active;             /* the unit exists and is active on the manager */
        usec_t next_elapse;      /* NextElapseUSecRealtime, 0 = none known */
        usec_t last_trigger;     /* LastTriggerUSec, 0 = never */
} Pid1TimerInfo;

typedef struct Pid1Handlers {
        /* A timer fired (its LastTriggerUSec advanced). */
        void (*fire)(Pid1 *p, const Pid1Firing *firing, void *userdata);
        /* NextElapse / LastTrigger of a timer changed (for the Schedule object's properties). */
        void (*timer_changed)(Pid1 *p, const char *id, const Pid1TimerInfo *info, void *userdata);
        /* The connection state changed; error/message say why when it went down or a reconcile
         * failed in part (the failing timers are retried at the next reconcile). */
        void (*state_changed)(Pid1 *p, Pid1State state, int error, const char *message, void *userdata);
} Pid1Handlers;

/* Called once per request when it is done. id is NULL for pid1_reconcile(). Callbacks may call
 * the pid1_timer_*() functions, but must not free the Pid1. */
typedef void (*pid1_done_t)(Pid1 *p, const char *id, int error, const char *message, void *userdata);

/* bus: "system", "user" or a D-Bus address (see above). handlers may be NULL; they are copied. */
int pid1_new(sd_event *e, const char *bus, const Pid1Handlers *handlers, void *userdata, Pid1 **ret);
/* Pending done callbacks are called with -ECANCELED; the timers stay on the manager (they are ours
 * to reconcile at the next start; a clean manager stop removes them anyway). */
Pid1 *pid1_free(Pid1 *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Pid1*, pid1_free);

/* Connects (now; on failure retries with backoff) and reconciles. Declare the desired set first
 * (pid1_timer_set() for every enabled schedule, before this call): every unit of ours not in it is
 * a stray and gets stopped. A reconcile waits for declarations still being validated. Connection
 * problems go to state_changed; pending done callbacks get -ENOTCONN while disconnected. */
int pid1_start(Pid1 *p);

Pid1State pid1_get_state(Pid1 *p);
/* What the client talks to: "user manager at unix:path=/run/user/998/systemd/private", ... */
const char *pid1_get_description(Pid1 *p);

/* Declares the timer of schedule ID (enabled schedule): specs as the operator wrote them
 * (NULL-terminated, at least one), the IANA zone, a human description (the schedule's name).
 * Creates it, replaces it if it differs, or leaves it alone if identical. done (may be NULL) is
 * called when the manager has it as declared, or with the error. The specs are validated and
 * normalized with calendar.h first: a rejected one fails with -EINVAL and the desired set is left
 * as it was. */
int pid1_timer_set(Pid1 *p, const char *id, char * const *specs, const char *zone, const char *description,
                   pid1_done_t done, void *userdata);

/* Removes schedule ID from the desired set and stops its timer (disabled or deleted schedule).
 * Unknown IDs are fine (a stray unit of that name is stopped all the same). */
int pid1_timer_remove(Pid1 *p, const char *id, pid1_done_t done, void *userdata);

/* Reconciles the whole set now (the daemon's Reload()); done when finished. -ENOTCONN when not
 * connected (a reconcile follows the connection anyway). */
int pid1_reconcile(Pid1 *p, pid1_done_t done, void *userdata);

/* The last known state of the timer of ID. -ENOENT if ID is not in the desired set. */
int pid1_timer_get(Pid1 *p, const char *id, Pid1TimerInfo *ret);

/* ID: 1..PID1_ID_MAX characters of [A-Za-z0-9_-] (a schedule's numeric id fits). */
bool pid1_timer_id_is_valid(const char *id);
/* "stopstart-schedule-ID.timer" */
int pid1_timer_unit_name(const char *id, char **ret);
/* The inverse: ID of "stopstart-schedule-ID.timer", or -EINVAL for any other name. */
int pid1_timer_id_from_unit(const char *unit, char **ret);

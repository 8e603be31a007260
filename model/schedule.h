/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Schedules (issue 10): the model, its validation, targets, and every decision of a firing as a
 * pure function. Domain code: no bus, no database, no OCI calls. The store (schedule-store.h)
 * persists what this validates; the executor (exec/occurrence.h) acts on what this decides.
 *
 * Actions map onto OCI's InstanceAction as follows (the per-instance stop_mode applies where the
 * schedule leaves the choice open, as for a manual Stop):
 *   start       START
 *   stop        SOFTSTOP, falling back to STOP after soft_stop_timeout, or STOP at once when the
 *               instance's effective stop_mode is hard
 *   softstop    SOFTSTOP, falling back to STOP after soft_stop_timeout (whatever stop_mode says)
 *   reboot      SOFTRESET falling back to RESET, or RESET when stop_mode is hard
 *   softreboot  SOFTRESET, falling back to RESET after soft_stop_timeout */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exception-calendar.h"
#include "instance-config.h"
#include "macro.h"
#include "oci-model.h"
#include "string-table.h"

typedef enum ScheduleAction {
        SCHEDULE_ACTION_START,
        SCHEDULE_ACTION_STOP,
        SCHEDULE_ACTION_SOFTSTOP,
        SCHEDULE_ACTION_REBOOT,
        SCHEDULE_ACTION_SOFTREBOOT,
        _SCHEDULE_ACTION_MAX,
        _SCHEDULE_ACTION_INVALID = -EINVAL,
} ScheduleAction;

typedef enum TargetKind {
        TARGET_INSTANCE,                /* OCID or unique display name */
        TARGET_COMPARTMENT,             /* compartment:OCID-or-path, with its subtree */
        TARGET_COMPARTMENT_ONLY,        /* compartment-only:OCID-or-path */
        TARGET_TAG,                     /* tag:KEY=VALUE (freeform) */
        TARGET_DEFINED_TAG,             /* defined-tag:NAMESPACE.KEY=VALUE */
        _TARGET_KIND_MAX,
        _TARGET_KIND_INVALID = -EINVAL,
} TargetKind;

typedef enum OccurrenceState {
        OCCURRENCE_PENDING,
        OCCURRENCE_RUNNING,
        OCCURRENCE_DONE,
        OCCURRENCE_FAILED,
        OCCURRENCE_SKIPPED,
        OCCURRENCE_MISSED,
        _OCCURRENCE_STATE_MAX,
        _OCCURRENCE_STATE_INVALID = -EINVAL,
} OccurrenceState;

typedef enum ActionState {
        ACTION_PENDING,
        ACTION_SENT,
        ACTION_CONFIRMED,
        ACTION_SKIPPED,
        ACTION_FAILED,
        _ACTION_STATE_MAX,
        _ACTION_STATE_INVALID = -EINVAL,
} ActionState;

/* Why an instance is left alone by an occurrence. */
typedef enum SkipReason {
        SKIP_NONE,
        SKIP_UNMANAGED,                 /* managed=no */
        SKIP_OVERRIDE,                  /* a live override wins over every schedule */
        SKIP_CLOSED,                    /* an exception calendar closes the day (starts, reboots) */
        SKIP_ALREADY,                   /* already in (or moving to) the target state */
        SKIP_NOT_RUNNING,               /* reboot of an instance that is not running */
        SKIP_UNAVAILABLE,               /* terminated, terminating, or in a state nothing acts on */
        _SKIP_REASON_MAX,
        _SKIP_REASON_INVALID = -EINVAL,
} SkipReason;

DECLARE_STRING_TABLE_LOOKUP(schedule_action, ScheduleAction);
DECLARE_STRING_TABLE_LOOKUP(target_kind, TargetKind);        /* also the database's kind column */
DECLARE_STRING_TABLE_LOOKUP(occurrence_state, OccurrenceState);
DECLARE_STRING_TABLE_LOOKUP(action_state, ActionState);
DECLARE_STRING_TABLE_LOOKUP(skip_reason, SkipReason);

typedef struct ScheduleTarget {
        TargetKind kind;
        char *id;                       /* instance or compartment OCID; NULL for tags */
        char *tag_namespace;            /* defined tags only */
        char *tag_key, *tag_value;      /* tags only */
} ScheduleTarget;

#define SCHEDULE_NAME_MAX 64U
#define SCHEDULE_CALENDARS_MAX 64U
#define SCHEDULE_CALENDAR_SPEC_MAX 512U
#define SCHEDULE_TARGETS_MAX 1024U
#define SCHEDULE_EXCEPTIONS_MAX 64U
#define SCHEDULE_DESCRIPTION_MAX 4096U
#define SCHEDULE_MISFIRE_GRACE_DEFAULT (15ULL * 60 * 1000000)
#define SCHEDULE_MISFIRE_GRACE_MAX (7ULL * 24 * 3600 * 1000000)   /* a week */
/* A timer fires a few milliseconds after its instant (more under load): a smaller grace would
 * record every firing missed. */
#define SCHEDULE_MISFIRE_GRACE_MIN (1ULL * 1000000)
#define SCHEDULE_WINDOW_UP_SUFFIX "-up"
#define SCHEDULE_WINDOW_DOWN_SUFFIX "-down"

typedef struct Schedule {
        uint64_t id;                    /* database id, 0 until stored */
        char *name;
        char *description;
        ScheduleAction action;
        char **calendars;               /* systemd calendar specs without a zone; >= 1 */
        char *time_zone;                /* IANA name */
        ScheduleTarget *targets;
        size_t n_targets;
        bool enabled;
        uint64_t enabled_since;         /* µs since the epoch while enabled, else 0 */
        uint64_t valid_from, valid_until;       /* µs since the epoch, 0 = open */
        uint64_t misfire_grace;         /* µs */
        bool enforce;
        char **exception_calendars;     /* names, sorted, unique */
        uint32_t max_targets;           /* 0 = no limit */
        char *window_name;              /* the window this schedule belongs to, or NULL */
} Schedule;

int schedule_new(Schedule **ret);
Schedule *schedule_free(Schedule *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Schedule*, schedule_free);
int schedule_copy(const Schedule *s, Schedule **ret);

void schedule_target_done(ScheduleTarget *t);
void schedule_targets_free(ScheduleTarget *t, size_t n);

bool schedule_name_is_valid(const char *name);
/* The window of NAME is the pair NAME-up (start) and NAME-down (stop): a window name leaves
 * room for the longer suffix. */
bool schedule_window_name_is_valid(const char *name);

/* The OCI action that carries out a schedule action on an instance whose effective stop_mode is
 * mode, and the action it falls back to when the first does not finish within soft_stop_timeout
 * (_OCI_ACTION_INVALID when there is none). */
OciInstanceAction schedule_action_first(ScheduleAction a, StopMode mode);
OciInstanceAction schedule_action_fallback(OciInstanceAction first);
/* The state a schedule action leaves an instance in: RUNNING for start and the reboots,
 * STOPPED for the stops. */
OciInstanceState schedule_action_target_state(ScheduleAction a);
/* start and the reboots bring an instance up: they are what an exception calendar closes. */
bool schedule_action_is_closed_by_calendar(ScheduleAction a);

/* ---- inventory, as the model sees it ----
 *
 * Target parsing and resolution run against this interface: the Manager implements it on its
 * compartment and instance maps, unit tests on a few arrays. */

typedef struct ScheduleCandidate {
        const char *id;
        const char *display_name;
        const char *compartment_id;
        const char *region;
        const char *lifecycle_state;    /* OCI's string, as last observed */
        const char *freeform_tags;      /* packed "key\0value\0…\0" (instance.h), NULL = none */
        const char *defined_tags;       /* packed "namespace.key\0value\0…\0", NULL = none */
        /* The instance's effective configuration at the time of the firing. */
        bool managed;
        OverrideState override_state;   /* a live override, OVERRIDE_NONE if none */
        int32_t priority;
        StopMode stop_mode;
        uint64_t soft_stop_timeout;     /* µs */
} ScheduleCandidate;

typedef struct ScheduleInventory {
        void *userdata;
        /* By OCID or by display name: 0 with the OCID, -ENXIO when unknown, -ENOTUNIQ when the
         * name is not unique. Deleted instances are unknown. */
        /* -ENOTUNIQ for a display name several instances share: their OCIDs in *ret_candidates
         * (sorted; may be NULL) */
        int (*find_instance)(void *userdata, const char *id_or_name, const char **ret_id, char ***ret_candidates);
        /* By OCID or by path (tenancy/a/b): 0 with the OCID, -ENXIO when unknown. */
        int (*find_compartment)(void *userdata, const char *id_or_path, const char **ret_id);
        /* Calls f for every live instance; stops early when f returns non-zero. */
        void (*foreach_instance)(void *userdata, int (*f)(const ScheduleCandidate *c, void *fdata), void *fdata);
        /* Whether compartment_id is ancestor_id or lies below it. */
        bool (*in_subtree)(void *userdata, const char *compartment_id, const char *ancestor_id);
        /* For display: the path of a compartment, NULL if unknown (targets are formatted with
         * OCIDs without it). */
        const char *(*compartment_path)(void *userdata, const char *compartment_id);
} ScheduleInventory;

/* Parses one TARGET (stopstartctl syntax) and resolves names and paths to OCIDs. On refusal
 * returns -EINVAL (malformed), -ENXIO (unknown instance or compartment) or -ENOTUNIQ (a display
 * name several instances share), with a one-line message naming the target in ret_error. */
int schedule_target_parse(const char *text, const ScheduleInventory *inv, ScheduleTarget *ret, char **ret_error);
/* The canonical text of a target: "ocid1.instance…", "compartment:ocid1…", "tag:env=dev". */
char *schedule_target_to_string(const ScheduleTarget *t);
bool schedule_target_equal(const ScheduleTarget *a, const ScheduleTarget *b) _pure_;
/* Whether candidate c is matched by target t. */
bool schedule_target_matches(const ScheduleTarget *t, const ScheduleCandidate *c, const ScheduleInventory *inv);

/* Replaces the schedule's targets with the parsed list (duplicates dropped, order kept). On
 * refusal the schedule is unchanged. */
int schedule_set_targets(Schedule *s, char * const *texts, const ScheduleInventory *inv, char **ret_error);
/* The targets as text, in order (NULL-terminated). */
int schedule_targets_to_strv(const Schedule *s, char ***ret);

/* The instances the schedule targets now, each once, in inventory order. The candidates' string
 * pointers belong to the inventory. */
int schedule_resolve(const Schedule *s, const ScheduleInventory *inv, ScheduleCandidate **ret, size_t *ret_n);

/* ---- validation ---- */

/* Checks everything that does not need systemd (calendar specs are checked by PID1 or
 * systemd-analyze, daemon/pid1/): name, action, at least one calendar spec of sane length
 * without control characters, time zone, validity interval, grace, exception calendar names,
 * window pairing. -EINVAL with a one-line message on refusal. */
int schedule_verify(const Schedule *s, char **ret_error);

/* ---- decisions of a firing (pure) ---- */

typedef enum FiringDecision {
        FIRING_RUN,
        FIRING_SKIPPED,                 /* disabled, slot before enabled_since, outside validity */
        FIRING_MISSED,                  /* now − instant > misfire grace */
        _FIRING_DECISION_MAX,
        _FIRING_DECISION_INVALID = -EINVAL,
} FiringDecision;
DECLARE_STRING_TABLE_LOOKUP(firing_decision, FiringDecision);

/* What to do with a firing for instant (µs) seen at now (µs); ret_reason (optional) gets a
 * static one-line reason for anything but FIRING_RUN. A manual Fire passes its own instant
 * (now) and is never missed. */
FiringDecision schedule_decide_firing(const Schedule *s, uint64_t instant, uint64_t now, const char **ret_reason);

/* The decision for one instance of an occurrence: SKIP_NONE (act: *ret_action is the OCI action
 * to send first) or a skip reason. closed_by is the name of the exception calendar that closes
 * the occurrence's day, or NULL. state is the freshly confirmed lifecycle state. */
SkipReason schedule_decide_instance(const Schedule *s, const ScheduleCandidate *c, OciInstanceState state,
                                    const char *closed_by, OciInstanceAction *ret_action);
/* "managed=no", "override: keep running until …", "closed by calendar holidays",
 * "already STOPPED"… (allocated). */
char *schedule_skip_reason_text(SkipReason r, const ScheduleCandidate *c, OciInstanceState state,
                                const char *closed_by);

/* The name of the first of calendars (those the schedule honours) that closes the day of instant
 * in the schedule's zone, or NULL. Only for actions an exception calendar closes. -EINVAL for a
 * bad zone. */
int schedule_closed_by(const Schedule *s, ExceptionCalendar * const *calendars, size_t n_calendars,
                       uint64_t instant, const char **ret_name);

/* The target set exceeds max_targets: the occurrence fails and acts on nothing. */
static inline bool schedule_too_many_targets(const Schedule *s, size_t n) {
        return s->max_targets > 0 && n > s->max_targets;
}

/* Orders candidates for a mass action: by priority (lower first), then by id (stable). The
 * groups of equal priority are the batches: each is finished before the next starts. Returns
 * the number of groups and, in ret_group_ends (n entries allocated by the caller, optional), the
 * index one past each group's last candidate. */
size_t schedule_order_by_priority(ScheduleCandidate *c, size_t n, size_t *ret_group_ends);

/* The opc-retry-token of the action (occurrence, instance, action): 64 hex characters of
 * SHA-256 over "stopstart:occurrence:ID:INSTANCE:ACTION", the same derivation as a job's action
 * (exec/job.h) with origin "occurrence:ID", so the key and the token are one. */
int occurrence_retry_token(uint64_t occurrence_id, const char *instance_id, OciInstanceAction action, char **ret);

/* What a firing would do now to each candidate, from the last observed lifecycle states (a dry
 * run: Fire(dry_run), Preview). entries[i] belongs to c[i]; reason is "" when acting. */
typedef struct SchedulePlanEntry {
        const char *instance_id;        /* points into the candidate */
        SkipReason skip;                /* SKIP_NONE: acts */
        OciInstanceAction action;       /* the action it would send first (also when skipped) */
        char *reason;
} SchedulePlanEntry;
void schedule_plan_free(SchedulePlanEntry *e, size_t n);
int schedule_plan(const Schedule *s, const ScheduleCandidate *c, size_t n, const char *closed_by,
                  SchedulePlanEntry **ret);

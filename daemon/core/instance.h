/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A compute instance as last stored by discovery (or observed by a job), with its own
 * configuration. There may be 20,000 of them: keep the struct small. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "instance-config.h"

typedef struct Manager Manager;
typedef struct Compartment Compartment;
typedef struct Instance Instance;

typedef enum InstanceProp {
        INSTANCE_PROP_DISPLAY_NAME      = 1U << 0,
        INSTANCE_PROP_COMPARTMENT       = 1U << 1,   /* Compartment and CompartmentId */
        INSTANCE_PROP_FAULT_DOMAIN      = 1U << 2,
        INSTANCE_PROP_SHAPE             = 1U << 3,
        INSTANCE_PROP_LIFECYCLE_STATE   = 1U << 4,   /* LifecycleState and StateObservedAt */
        INSTANCE_PROP_FREEFORM_TAGS     = 1U << 5,
        INSTANCE_PROP_CONFIG            = 1U << 6,
        INSTANCE_PROP_EFFECTIVE_CONFIG  = 1U << 7,
        INSTANCE_PROP_AVAILABILITY_DOMAIN = 1U << 8,
        INSTANCE_PROP_LAST_JOB          = 1U << 9,
        INSTANCE_PROP_SCHEDULES         = 1U << 10,
        INSTANCE_PROP_NEXT_ACTION       = 1U << 11,
        INSTANCE_PROP_ADDED             = 1U << 31,
} InstanceProp;

/* How the instance's newest finished start/stop/reboot job ended; id 0: none yet. */
typedef struct InstanceLastJob {
        uint32_t id;
        char *kind, *result, *error;
        uint64_t finished_at;           /* µs since the epoch */
} InstanceLastJob;

/* Records a finished job as the instance's last (marks the property). */
int instance_set_last_job(Instance *i, uint32_t id, const char *kind, const char *result, const char *error,
                          uint64_t finished_at);

struct Instance {
        Manager *manager;
        char *id;
        char *display_name;
        /* Values many instances share: references into manager->strings. */
        const char *compartment_id;
        const char *region;
        const char *availability_domain;
        const char *fault_domain;       /* "" when not known */
        const char *shape;              /* "" when not known */
        const char *lifecycle_state;
        Compartment *compartment;       /* NULL while the compartment is unknown */
        uint64_t state_observed_at;     /* µs since the epoch */
        char *freeform_tags;            /* packed "key\0value\0key\0value\0\0", NULL = none */
        char *defined_tags;             /* packed "namespace.key\0value\0…\0" (what defined-tag targets
                                         * select by), NULL = none */

        InstanceConfig config;
        uint64_t effective_hash;
        uint32_t schedules_hash;        /* fingerprints of Schedules and NextAction (instance-schedules.h) */
        uint32_t next_action_hash;
        unsigned n_writes;
        uint32_t job_id;                /* the action job running on it, 0 if none */
        InstanceLastJob last_job;       /* the newest finished action job (kept in the database) */

        uint32_t dirty;                 /* InstanceProp */
        LIST_ENTRY(Instance) dirty_link;
        bool seen;
};

int instance_new(Manager *m, const char *id, Instance **ret);
Instance *instance_free(Instance *i);

Instance *manager_get_instance(Manager *m, const char *id);
/* The instance a caller names: by OCID or by display name. -ENXIO when none answers to name;
 * -ENOTUNIQ when several do (display names are not unique in OCI, and a display name may be
 * another instance's OCID) — never resolved by precedence; then *ret_candidates (if given)
 * lists their OCIDs, sorted. */
int manager_resolve_instance(Manager *m, const char *name, Instance **ret, char ***ret_candidates);

/* A lifecycle state a job or an occurrence saw on OCI (its raw string): when it differs from the
 * inventory's, the instance takes it (LifecycleState and StateObservedAt are announced, the
 * schedules' views follow) and the database is updated (best effort). Unknown ids and empty
 * states are ignored: the next refresh is the authority on those. */
void manager_observe_instance(Manager *m, const char *id, const char *state_raw);

/* The inheritance chain: the instance, its compartment, … the root. */
size_t instance_config_layers(Instance *i, ConfigLayer *layers, size_t max);
void instance_effective_config(Instance *i, uint64_t now, InstanceConfig *ret);
/* Recomputes the effective config's fingerprint; marks EffectiveConfig changed if it moved. */
void instance_update_effective(Instance *i, uint64_t now);
int instance_explain(Instance *i, uint64_t now, char **ret_json);

void instance_mark_dirty(Instance *i, uint32_t props);

/* Packs a JSON object of string values ({"k":"v",…}, as stored) into the form above; NULL for
 * an empty object. Non-string values are stored as their JSON text. -EBADMSG on bad JSON. */
int tags_pack_json(const char *json, char **ret);
/* The same for defined tags ({"namespace":{"key":"value"},…}, as stored): "namespace.key" keys. */
int defined_tags_pack_json(const char *json, char **ret);
size_t tags_packed_size(const char *packed);
bool tags_packed_equal(const char *a, const char *b);
#define TAGS_FOREACH(k, v, packed) \
        for (const char *k = (packed), *v = (k) ? (k) + strlen(k) + 1 : NULL; (k) && *(k); \
             (k) = (v) + strlen(v) + 1, (v) = *(k) ? (k) + strlen(k) + 1 : NULL)

char *instance_bus_path(const Instance *i);
/* Before freeing an instance that went away: its removal is announced (unless its addition
 * never was). */
void instance_mark_removed(Instance *i);

/* Describe() element of one instance; without "effective_config" unless effective. */
json_object *instance_to_json(Instance *i, uint64_t now, bool effective);

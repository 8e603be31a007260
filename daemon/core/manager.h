/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's root object: event loop, bus, database, configuration and the entity maps
 * (compartments, instances, jobs), loaded from the database and kept in memory, so reads are
 * served from memory also while the database is away. */

#include <json-c/linkhash.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "compartment.h"
#include "config.h"
#include "db.h"
#include "instance.h"
#include "job.h"
#include "oci-client.h"
#include "string-pool.h"
#include "string-table.h"

typedef enum ManagerState {
        MANAGER_STARTING,
        MANAGER_RUNNING,
        MANAGER_DEGRADED,       /* the database is away: serving reads from memory */
        MANAGER_STOPPING,
        _MANAGER_STATE_MAX,
        _MANAGER_STATE_INVALID = -EINVAL,
} ManagerState;

DECLARE_STRING_TABLE_LOOKUP(manager_state, ManagerState);

typedef enum ManagerProp {
        MANAGER_PROP_STATE          = 1U << 0,
        MANAGER_PROP_STATUS_TEXT    = 1U << 1,
        MANAGER_PROP_TENANCY        = 1U << 2,
        MANAGER_PROP_REGIONS        = 1U << 3,
        MANAGER_PROP_LAST_REFRESH   = 1U << 4,
        MANAGER_PROP_N_COMPARTMENTS = 1U << 5,
        MANAGER_PROP_N_INSTANCES    = 1U << 6,
        MANAGER_PROP_N_JOBS         = 1U << 7,
        MANAGER_PROP_ROLE           = 1U << 8,
        MANAGER_PROP_LEADER         = 1U << 9,
} ManagerProp;

/* Describe()'s inventory JSON is built once per change and kept this long after the last call. */
#define DESCRIBE_CACHE_IDLE_USEC (30ULL * 1000000ULL)

/* Exit codes of stopstartd (sysexits.h values, which systemd names in its status output). */
#define EXIT_USAGE        64    /* EX_USAGE: bad command line */
#define EXIT_SCHEMA       65    /* EX_DATAERR: database schema not at the migration head */
#define EXIT_DATABASE     69    /* EX_UNAVAILABLE: database unreachable at start-up */
#define EXIT_BUS_LOST     75    /* EX_TEMPFAIL: the bus connection went away (systemd restarts us) */
#define EXIT_CONFIG       78    /* EX_CONFIG: configuration file missing or invalid */

/* What the bus layer announces besides property changes: signals of their own, sent as they
 * happen and in that order (daemon/bus/bus-emit.c), as replies and other signals expect them. */
typedef enum ManagerEventKind {
        MANAGER_EVENT_OBJECT_ADDED,     /* path */
        MANAGER_EVENT_OBJECT_REMOVED,   /* path */
        MANAGER_EVENT_SCHEDULE_CHANGED, /* path, props (ScheduleProp) */
        MANAGER_EVENT_JOB_NEW,          /* path, job_id */
        MANAGER_EVENT_JOB_REMOVED,      /* path, job_id, result */
        _MANAGER_EVENT_KIND_MAX,
        _MANAGER_EVENT_KIND_INVALID = -EINVAL,
} ManagerEventKind;

typedef struct ManagerEvent ManagerEvent;
struct ManagerEvent {
        ManagerEventKind kind;
        char *path;
        uint32_t job_id;
        uint32_t props;
        const char *result;             /* a static string */
        TAILQ_ENTRY(ManagerEvent) link;
};

typedef struct LoadContext LoadContext;
typedef struct PolkitRegistry PolkitRegistry;

/* Set by the bus layer when it attaches (daemon/bus/bus-emit.h): the domain calls it without
 * knowing it. */
typedef struct ManagerBusHooks {
        void (*send_events)(Manager *m);        /* sends the queued events now */
        void (*detach)(Manager *m);             /* frees what the bus layer attached */
} ManagerBusHooks;
typedef struct Scheduler Scheduler;
typedef struct Leader Leader;
typedef void (*manager_load_handler_t)(Manager *m, int error, void *userdata);

struct Manager {
        sd_event *event;
        sd_bus *bus;
        Db *db;
        Config *config;
        char *config_path;

        struct lh_table *compartments;  /* id → Compartment* (owned) */
        struct lh_table *instances;     /* id → Instance* (owned) */
        struct lh_table *jobs;          /* (uintptr_t) id → Job* (owned) */
        StringPool *strings;            /* values instances share */
        Compartment *root;              /* the tenancy, NULL until discovered */
        char **regions;

        PolkitRegistry *polkit;         /* the bus layer's */
        const ManagerBusHooks *bus_hooks;
        OciClient *oci;                 /* NULL when OCI is not configured: actions fail */
        char *oci_error;                /* why there is no client */
        char *oci_tenancy;              /* the credentials' tenancy: the root discovery maps */
        char *oci_region;               /* the profile's region (identity calls), may be NULL */

        ManagerState state;
        char *status_text;
        uint64_t last_refresh;          /* µs since the epoch, 0 = never */
        bool db_was_lost;               /* reload once the connection is back */
        bool schema_lost;               /* a statement found the schema no longer at head */
        sd_event_source *schema_recheck; /* reloads until the daemon's queries work again */

        /* Coalesced change signals (homed's idle defer source, which the bus layer creates and
         * runs: the domain only marks changes and queues events). */
        uint32_t dirty;                 /* ManagerProp */
        LIST_HEAD(, Compartment) dirty_compartments;
        LIST_HEAD(, Instance) dirty_instances;
        LIST_HEAD(, Job) dirty_jobs;
        TAILQ_HEAD(, ManagerEvent) events;
        sd_event_source *emit_event;
        sd_event_source *schedules_event; /* the pass of instance-schedules.h */
        Instance *schedules_cursor;     /* where its next slice starts, NULL: the first instance */
        bool schedules_again;           /* changes since the pass under way started */
        sd_event_source *trim_event;    /* malloc_trim() once idle, after a large answer */
        bool emit_enabled;              /* objects are on the bus */

        char *describe_cache;           /* "compartments":[…],"instances":[…] */
        sd_event_source *describe_release; /* drops the cache when nobody asked for a while */

        LoadContext *load;              /* a load in progress */
        bool load_again;                /* another one was asked for meanwhile */
        manager_load_handler_t load_handler;
        void *load_userdata;
        manager_load_handler_t next_load_handler;
        void *next_load_userdata;

        Scheduler *scheduler;           /* schedules, timers, occurrences (issue 10) */
        Leader *leader;                 /* leadership among daemons on one database (leader.h) */

        sd_event_source *refresh_timer;
        sd_event_source *expiry_timer;  /* ends overrides when due (effective-config.h) */
        Job *refresh_job;
        uint64_t job_linger_usec;       /* how long finished jobs stay on the bus */
        bool exit_requested;
};

int manager_new(sd_event *event, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager*, manager_free);

/* Takes ownership of config (also on failure). Applies what can change at run time. */
int manager_set_config(Manager *m, Config *config);
/* Re-reads m->config_path atomically: a bad file keeps the old config, and the one-line
 * reason is returned in ret_error. uid (or -1 for a signal) is recorded in the audit log. */
int manager_reload_config(Manager *m, uid_t uid, char **ret_error);

/* Creates the OCI client from m->config (credentials from oci.config_file/profile). On failure
 * returns a negative errno with a one-line reason; m->oci stays NULL. */
int manager_setup_oci(Manager *m, char **ret_error);

/* Creates the database connection for m->config->database and starts connecting. */
int manager_connect_db(Manager *m);

/* Loads (or re-loads and merges) compartments, instances and their configuration from the
 * database. Changes found against memory are announced on the bus. handler may be NULL. While
 * a load runs, another one is queued behind it (one handler may wait; -EBUSY for a second). */
int manager_load(Manager *m, manager_load_handler_t handler, void *userdata);

void manager_set_state(Manager *m, ManagerState state);
/* Updates StatusText and the service manager's STATUS= line. */
void manager_update_status(Manager *m);

/* StatusText while the daemon's queries fail because the schema is no longer at head. */
#define MANAGER_STATUS_SCHEMA_NOT_AT_HEAD \
        "database schema is not at the migration head: run stopstartctl db upgrade"
/* How often a daemon in that state tries its queries again. */
#define MANAGER_SCHEMA_RECHECK_USEC (2 * 1000000ULL)

void manager_mark_dirty(Manager *m, uint32_t props);
/* An event for the bus, sent at once (nothing while no objects are on the bus). path is copied. */
void manager_queue_event(Manager *m, ManagerEventKind kind, const char *path, uint32_t job_id, uint32_t props,
                         const char *result);
ManagerEvent *manager_event_free(ManagerEvent *e);
/* InterfacesRemoved for an object that was announced (callers skip the ones whose addition is
 * still pending: nothing to take back). Takes path (NULL: out of memory, nothing queued). */
void manager_queue_removed(Manager *m, char *path);
void manager_invalidate_describe(Manager *m);
/* What DescribeWith() leaves out or adds (dbus/README.md). */
typedef struct DescribeOptions {
        bool instances;         /* the "instances" array */
        bool effective;         /* "effective_config" of instances, "effective_defaults" of compartments */
        bool subtree_states;    /* compartments' "subtree_states": instances of the subtree by state */
} DescribeOptions;
#define DESCRIBE_OPTIONS_DEFAULT ((DescribeOptions) { .instances = true, .effective = true })

/* Describe() JSON; the inventory part of the default document is built once per change. */
int manager_describe(Manager *m, const DescribeOptions *o, char **ret);

/* What ListInstances() and DescribeInstances() select: in OCID order, those after `after` (an
 * OCID; NULL: from the first), at most `limit` (0: all). */
typedef struct InstanceQuery {
        Compartment *compartment;
        bool recursive;
        const char *state;
        const char *name;        /* fnmatch() pattern of the display name */
        int managed;             /* -1 = any */
        const char *after;
        uint32_t limit;
} InstanceQuery;
/* The page: *ret (freed by the caller; the instances are the manager's), *ret_more when the
 * limit cut it. */
int manager_query_instances(Manager *m, const InstanceQuery *q, Instance ***ret, size_t *ret_n, bool *ret_more);
/* {"instances": [...], "next": OCID to continue after, or null}; "effective_config" if effective */
int manager_describe_instances(Manager *m, Instance **l, size_t n, bool more, bool effective, char **ret);

/* Re-arms the periodic refresh. */
void manager_schedule_refresh(Manager *m);

/* Returns free heap pages to the kernel once the loop is idle. */
void manager_schedule_trim(Manager *m);

/* "name" or "uid N" for audit entries. */
char *manager_actor_name(uid_t uid);

/* Start a refresh job unless one is running (then returns it). */
int manager_refresh(Manager *m, uid_t uid, Job **ret);

/* µs since the epoch. */
uint64_t manager_now(void);

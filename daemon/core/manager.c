/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <malloc.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "audit-store.h"
#include "effective-config.h"
#include "inventory-load.h"
#include "leader.h"
#include "log.h"
#include "manager.h"
#include "instance-schedules.h"
#include "scheduler.h"
#include "oci-config.h"
#include "strv.h"

static const char * const manager_state_table[_MANAGER_STATE_MAX] = {
        [MANAGER_STARTING] = "starting",
        [MANAGER_RUNNING] = "running",
        [MANAGER_DEGRADED] = "degraded",
        [MANAGER_STOPPING] = "stopping",
};
DEFINE_STRING_TABLE_LOOKUP(manager_state, ManagerState);

struct LoadContext {
        Manager *manager;
        unsigned n_pending;
        int error;
        char *error_text;
};

uint64_t manager_now(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static unsigned long job_id_hash(const void *k) {
        uintptr_t x = (uintptr_t) k;
        return (unsigned long) (x * 0x9E3779B97F4A7C15ULL);
}

static int job_id_equal(const void *a, const void *b) {
        return a == b;
}

int manager_new(sd_event *event, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        assert(event);
        assert(ret);

        m = new0(Manager, 1);
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->state = MANAGER_STARTING;
        m->job_linger_usec = 5 * 60 * 1000000ULL;
        LIST_INIT(&m->dirty_compartments);
        LIST_INIT(&m->dirty_instances);
        LIST_INIT(&m->dirty_jobs);
        TAILQ_INIT(&m->events);

        m->compartments = lh_kchar_table_new(256, NULL);
        m->instances = lh_kchar_table_new(1024, NULL);
        m->jobs = lh_table_new(16, NULL, job_id_hash, job_id_equal);
        if (!m->compartments || !m->instances || !m->jobs)
                return -ENOMEM;

        r = string_pool_new(&m->strings);
        if (r < 0)
                return r;

        r = config_new(&m->config);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        struct lh_entry *e, *tmp;

        if (!m)
                return NULL;

        m->state = MANAGER_STOPPING;
        m->emit_enabled = false;
        /* Its session holds the leader's lock: closed first, a standby takes over at once. */
        m->leader = leader_free(m->leader);

        /* Jobs first: they cancel what they run (OCI calls, a discovery) while the database
         * connection those use is still there. */
        if (m->jobs) {
                lh_foreach_safe(m->jobs, e, tmp)
                        job_free(lh_entry_v(e));
                lh_table_free(m->jobs);
                m->jobs = NULL;
        }

        /* Its statements are answered (-ECANCELED) with the database below, while it still exists. */
        Scheduler *scheduler = TAKE_PTR(m->scheduler);

        /* Statements still queued are answered (-ECANCELED) while the entities are alive. */
        m->db = db_free(m->db);
        scheduler_free(scheduler);
        if (m->instances) {
                lh_foreach_safe(m->instances, e, tmp)
                        instance_free(lh_entry_v(e));
                lh_table_free(m->instances);
        }
        if (m->compartments) {
                lh_foreach_safe(m->compartments, e, tmp)
                        compartment_free(lh_entry_v(e));
                lh_table_free(m->compartments);
        }
        m->strings = string_pool_free(m->strings);
        free(m->load);

        if (m->bus_hooks)
                m->bus_hooks->detach(m);
        for (ManagerEvent *ev; (ev = TAILQ_FIRST(&m->events)); ) {
                TAILQ_REMOVE(&m->events, ev, link);
                manager_event_free(ev);
        }
        m->oci = oci_client_free(m->oci);
        free(m->oci_error);
        free(m->oci_tenancy);
        free(m->oci_region);
        sd_event_source_disable_unref(m->emit_event);
        sd_event_source_disable_unref(m->schedules_event);
        sd_event_source_disable_unref(m->trim_event);
        sd_event_source_disable_unref(m->describe_release);
        sd_event_source_disable_unref(m->refresh_timer);
        sd_event_source_disable_unref(m->expiry_timer);
        sd_event_source_disable_unref(m->schema_recheck);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        config_free(m->config);
        free(m->config_path);
        strv_free(m->regions);
        free(m->status_text);
        free(m->describe_cache);
        return mfree(m);
}

int manager_set_config(Manager *m, Config *config) {
        assert(m);
        assert(config);

        config_free(m->config);
        m->config = config;
        manager_schedule_refresh(m);
        return 0;
}

int manager_reload_config(Manager *m, uid_t uid, char **ret_error) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        if (!m->config_path) {
                if (ret_error)
                        *ret_error = strdup("The daemon runs without a configuration file.");
                return -ENOENT;
        }

        r = config_load(m->config_path, &c, &err);
        if (r < 0) {
                log_warning("Reloading %s failed, keeping the running configuration: %s", m->config_path,
                            strna(err));
                if (ret_error)
                        *ret_error = TAKE_PTR(err);
                return r;
        }

        /* The connection is kept: a new conninfo applies when the daemon restarts. */
        if (m->config && !streq(m->config->database, c->database))
                log_notice("The database setting changed; it takes effect when stopstartd restarts.");

        log_info("Configuration reloaded from %s.", m->config_path);
        {
                _cleanup_free_ char *actor = manager_actor_name(uid);
                (void) audit_store_record_reload(m->db, &(StoreActor) { uid, actor ?: "" }, m->config_path);
        }
        r = manager_set_config(m, TAKE_PTR(c));
        if (r >= 0 && m->scheduler) {
                /* Reload() re-reads the schedules and heals the timers (a hand-removed unit). */
                if (scheduler_load(m->scheduler, NULL, NULL) < 0)
                        log_warning("Could not reload the schedules.");
                (void) scheduler_reconcile(m->scheduler);
        }
        return r;
}

/* ---- status ---------------------------------------------------------------------------- */

void manager_update_status(Manager *m) {
        _cleanup_free_ char *s = NULL;
        unsigned n_c = (unsigned) lh_table_length(m->compartments),
                 n_i = (unsigned) lh_table_length(m->instances),
                 n_j = 0;
        struct lh_entry *e;

        if (m->jobs)
                lh_foreach(m->jobs, e) {
                        Job *j = lh_entry_v(e);
                        if (j->state != JOB_DONE)
                                n_j++;
                }

        switch (m->state) {
        case MANAGER_STARTING:
                s = strdup("Starting...");
                break;
        case MANAGER_DEGRADED:
                if (m->schema_lost && m->db && db_get_state(m->db) == DB_CONNECTED) {
                        s = strdup(MANAGER_STATUS_SCHEMA_NOT_AT_HEAD);
                        break;
                }
                s = strprintf("Database unavailable (%s); serving %u compartments and %u instances from memory, "
                              "reconnecting.",
                              m->db && *db_last_error(m->db) ? db_last_error(m->db) : "connection lost", n_c, n_i);
                break;
        case MANAGER_STOPPING:
                s = strdup("Stopping...");
                break;
        default:
                if (n_j > 0)
                        s = strprintf("Serving %u compartments and %u instances; %u job%s running.", n_c, n_i, n_j,
                                      n_j == 1 ? "" : "s");
                else if (!manager_is_leader(m))
                        s = strprintf("Serving %u compartments and %u instances; standby, %s%s.", n_c, n_i,
                                      isempty(manager_leader(m)) ? "no daemon leads" : "the leader is ",
                                      manager_leader(m));
                else
                        s = strprintf("Serving %u compartments and %u instances.", n_c, n_i);
        }
        if (!s)
                return;
        /* One line: database errors may carry newlines. */
        for (char *p = s; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        if (streq_ptr(s, m->status_text))
                return;
        free(m->status_text);
        m->status_text = TAKE_PTR(s);
        (void) sd_notifyf(false, "STATUS=%s", m->status_text);
        manager_mark_dirty(m, MANAGER_PROP_STATUS_TEXT);
}

void manager_set_state(Manager *m, ManagerState state) {
        if (m->state != state) {
                log_debug("Manager state %s -> %s", manager_state_to_string(m->state), manager_state_to_string(state));
                m->state = state;
                manager_mark_dirty(m, MANAGER_PROP_STATE);
        }
        manager_update_status(m);
}

/* ---- changes: marked here, announced by the bus layer (daemon/bus/bus-emit.c) ------------- */

void manager_mark_dirty(Manager *m, uint32_t props) {
        m->dirty |= props;
        /* the source exists while objects are on the bus */
        if (m->emit_enabled && m->emit_event)
                (void) sd_event_source_set_enabled(m->emit_event, SD_EVENT_ONESHOT);
}

ManagerEvent *manager_event_free(ManagerEvent *e) {
        if (!e)
                return NULL;
        free(e->path);
        return mfree(e);
}

void manager_queue_event(Manager *m, ManagerEventKind kind, const char *path, uint32_t job_id, uint32_t props,
                         const char *result) {
        ManagerEvent *e;

        if (!m->emit_enabled || !path)
                return;
        e = new0(ManagerEvent, 1);
        if (!e || !(e->path = strdup(path))) {
                free(e);
                log_oom();
                return;
        }
        e->kind = kind;
        e->job_id = job_id;
        e->props = props;
        e->result = result;
        TAILQ_INSERT_TAIL(&m->events, e, link);
        if (m->bus_hooks)
                m->bus_hooks->send_events(m);
}

void manager_queue_removed(Manager *m, char *path) {
        _cleanup_free_ char *p = path;
        manager_queue_event(m, MANAGER_EVENT_OBJECT_REMOVED, p, 0, 0, NULL);
}

void manager_invalidate_describe(Manager *m) {
        m->describe_cache = mfree(m->describe_cache);
}

/* ---- periodic refresh --------------------------------------------------------------------- */

static int on_refresh_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        if (!manager_is_leader(m)) {   /* only the leader discovers; standbys hear of its results */
                manager_schedule_refresh(m);
                return 0;
        }
        r = manager_refresh(m, (uid_t) -1, NULL);
        if (r < 0)
                log_warning_errno(r, "Periodic refresh not started: %m");
        manager_schedule_refresh(m);
        return 0;
}

void manager_schedule_refresh(Manager *m) {
        uint64_t interval = m->config ? m->config->discovery.interval : 0;
        int r;

        /* Only once the daemon is up: the first refresh is started explicitly after READY=1. */
        if (interval == 0 || m->state == MANAGER_STARTING || m->state == MANAGER_STOPPING) {
                (void) sd_event_source_set_enabled(m->refresh_timer, SD_EVENT_OFF);
                return;
        }
        if (!m->refresh_timer) {
                r = sd_event_add_time_relative(m->event, &m->refresh_timer, CLOCK_MONOTONIC, interval, 0,
                                               on_refresh_timer, m);
                if (r < 0) {
                        log_warning_errno(r, "Failed to arm the refresh timer: %m");
                        return;
                }
                (void) sd_event_source_set_description(m->refresh_timer, "refresh");
                return;
        }
        (void) sd_event_source_set_time_relative(m->refresh_timer, interval);
        (void) sd_event_source_set_enabled(m->refresh_timer, SD_EVENT_ONESHOT);
}

static void on_refresh_created(Manager *m, Job *j, int error, void *userdata) {
        if (error < 0)
                log_warning_errno(error, "Could not create the refresh job: %m");
}

int manager_refresh(Manager *m, uid_t uid, Job **ret) {
        if (m->refresh_job) {
                if (ret)
                        *ret = m->refresh_job;
                return 0;
        }
        if (!m->db || db_get_state(m->db) != DB_CONNECTED)
                return -ENOTCONN;
        return job_create(m, JOB_REFRESH, "", STOP_MODE_SOFT, uid, on_refresh_created, NULL);
}

/* ---- database --------------------------------------------------------------------------- */

static void on_db_state(Db *db, DbState state, void *userdata) {
        Manager *m = userdata;

        if (m->state == MANAGER_STOPPING)
                return;
        if (state == DB_DISCONNECTED) {
                m->db_was_lost = true;
                if (m->state == MANAGER_RUNNING)
                        log_warning("Database connection lost: %s; serving from memory, reconnecting.",
                                    db_last_error(db));
                if (m->state != MANAGER_STARTING)
                        manager_set_state(m, MANAGER_DEGRADED);
                else
                        manager_update_status(m);
        } else if (state == DB_CONNECTED) {
                if (m->state == MANAGER_DEGRADED && !m->schema_lost && leader_settled(m->leader)) {
                        log_info("Database connection re-established.");
                        manager_set_state(m, MANAGER_RUNNING);
                }
                if (m->db_was_lost && m->state != MANAGER_STARTING) {
                        /* Whatever happened meanwhile (discovery by a peer, an override that ended, a
                         * write whose answer was lost): read it back. */
                        m->db_was_lost = false;
                        (void) manager_load(m, NULL, NULL);
                        if (m->scheduler)
                                scheduler_database_back(m->scheduler);
                }
                manager_schedule_expiry(m);
        }
}

int manager_setup_oci(Manager *m, char **ret_error) {
        _cleanup_(oci_credentials_freep) OciCredentials *creds = NULL;
        _cleanup_free_ char *err = NULL;
        OciClientSettings settings;
        OciClient *c = NULL;
        int r;

        assert(m->config);

        r = oci_credentials_load(m->config->oci.config_file, m->config->oci.profile, &creds, &err);
        if (r >= 0) {
                oci_client_settings_from_config(&settings, m->config);
                r = oci_client_new(m->event, creds->key, creds->key_id, &settings, &c, &err);
        }
        if (r < 0) {
                free(m->oci_error);
                m->oci_error = strdup(err ?: strerror(-r));
                if (ret_error)
                        *ret_error = TAKE_PTR(err);
                return r;
        }
        oci_client_free(m->oci);
        m->oci = c;
        m->oci_error = mfree(m->oci_error);
        free(m->oci_tenancy);
        m->oci_tenancy = TAKE_PTR(creds->tenancy);
        free(m->oci_region);
        m->oci_region = TAKE_PTR(creds->region);
        return 0;
}

static void schedule_schema_recheck(Manager *m);

static void on_schema_rechecked(Manager *m, int error, void *userdata) {
        if (error < 0 || !m->schema_lost) {
                schedule_schema_recheck(m);
                return;
        }
        log_info("The daemon's queries work again: the database schema is back at the migration head.");
        m->schema_lost = false;
        if (m->state == MANAGER_DEGRADED && db_get_state(m->db) == DB_CONNECTED && leader_settled(m->leader))
                manager_set_state(m, MANAGER_RUNNING);
        else
                manager_update_status(m);
}

static int on_schema_recheck(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        /* The load reads what the daemon serves; once it works, the schema is usable again. */
        if (db_get_state(m->db) != DB_CONNECTED || manager_load(m, on_schema_rechecked, NULL) < 0)
                schedule_schema_recheck(m);
        return 0;
}

static void schedule_schema_recheck(Manager *m) {
        if (!m->schema_lost || m->state == MANAGER_STOPPING)
                return;
        if (!m->schema_recheck) {
                if (sd_event_add_time_relative(m->event, &m->schema_recheck, CLOCK_MONOTONIC,
                                               MANAGER_SCHEMA_RECHECK_USEC, 0, on_schema_recheck, m) < 0)
                        return;
                (void) sd_event_source_set_description(m->schema_recheck, "schema-recheck");
                return;
        }
        (void) sd_event_source_set_time_relative(m->schema_recheck, MANAGER_SCHEMA_RECHECK_USEC);
        (void) sd_event_source_set_enabled(m->schema_recheck, SD_EVENT_ONESHOT);
}

static void on_db_schema(Db *db, const char *message, void *userdata) {
        Manager *m = userdata;

        if (m->schema_lost || m->state == MANAGER_STOPPING)
                return;
        log_error("A query failed because the database schema is not at the migration head (%s): "
                  "run 'stopstartctl db upgrade'.", strna(message));
        m->schema_lost = true;
        if (m->state == MANAGER_RUNNING)
                manager_set_state(m, MANAGER_DEGRADED);
        else
                manager_update_status(m);
        schedule_schema_recheck(m);
}

int manager_connect_db(Manager *m) {
        int r;

        assert(m->config);

        m->db = db_free(m->db);
        r = db_new(m->event, m->config->database, &m->db);
        if (r < 0)
                return r;
        db_set_state_handler(m->db, on_db_state, m);
        db_set_schema_handler(m->db, on_db_schema, m);
        db_set_reconnect_backoff(m->db, 100 * 1000, 10 * 1000000);
        r = db_start(m->db);
        /* Refused at once (no socket yet): db retries by itself with backoff. */
        return r == -ECONNREFUSED ? 0 : r;
}

/* ---- loading ------------------------------------------------------------------------------ */

/* A line about one object, with its journal field (STOPSTART_INSTANCE=, STOPSTART_COMPARTMENT=). */
#define log_object(level, kind, id, ...)                                                                \
        do {                                                                                            \
                _cleanup_free_ char *_field_ = strprintf("STOPSTART_" kind "=%s", (id));               \
                log_fields((level), ((const char *[]) { _field_, NULL }), __VA_ARGS__);                \
        } while (0)

/* Replaces *field if different: 1 if it changed, 0 if not, -ENOMEM. */
static int set_field(char **field, const char *value) {
        char *s;

        if (streq_ptr(*field, value))
                return 0;
        if (value) {
                s = strdup(value);
                if (!s)
                        return -ENOMEM;
        } else
                s = NULL;
        free(*field);
        *field = s;
        return 1;
}

static int apply_compartments(Manager *m, const StoreRows *rows) {
        struct lh_entry *e, *tmp;
        size_t n = store_rows_count(rows);
        int k;

        lh_foreach(m->compartments, e)
                ((Compartment *) lh_entry_v(e))->seen = false;

        for (size_t row = 0; row < n; row++) {
                CompartmentRow cr;
                InstanceConfig cfg;
                uint32_t changed = 0;
                Compartment *c;

                compartment_row_get(rows, row, &cr);
                c = manager_get_compartment(m, cr.id);
                if (!c) {
                        k = compartment_new(m, cr.id, &c);
                        if (k < 0)
                                return k;
                        changed |= COMPARTMENT_PROP_ADDED;
                }
                c->seen = true;

                k = set_field(&c->parent_id, cr.parent_id);
                if (k < 0)
                        return k;
                k = set_field(&c->name, cr.name);
                if (k < 0)
                        return k;
                changed |= k ? COMPARTMENT_PROP_NAME : 0;
                k = set_field(&c->description, cr.description);
                if (k < 0)
                        return k;
                changed |= k ? COMPARTMENT_PROP_DESCRIPTION : 0;
                k = set_field(&c->lifecycle_state, cr.lifecycle_state);
                if (k < 0)
                        return k;
                changed |= k ? COMPARTMENT_PROP_LIFECYCLE_STATE : 0;

                k = compartment_row_defaults(rows, row, &cfg);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        log_object(LOG_WARNING, "COMPARTMENT", cr.id, "Ignoring unreadable defaults of compartment %s.",
                                   cr.id);
                else if (!instance_config_equal(&cfg, &c->defaults) && c->n_writes == 0) {
                        instance_config_done(&c->defaults);
                        c->defaults = cfg;
                        changed |= COMPARTMENT_PROP_DEFAULTS;
                } else
                        instance_config_done(&cfg);

                compartment_mark_dirty(c, changed);
        }

        lh_foreach_safe(m->compartments, e, tmp) {
                Compartment *c = lh_entry_v(e);
                if (!c->seen) {
                        compartment_mark_removed(c);
                        compartment_free(c);
                }
        }
        return 0;
}

static int apply_instances(Manager *m, const StoreRows *rows) {
        struct lh_entry *e, *tmp;
        size_t n = store_rows_count(rows);
        int k;

        lh_foreach(m->instances, e)
                ((Instance *) lh_entry_v(e))->seen = false;

        for (size_t row = 0; row < n; row++) {
                _cleanup_free_ char *tags = NULL, *dtags = NULL;
                InstanceConfig cfg;
                uint32_t changed = 0;
                InstanceRow ir;
                Instance *i;

                instance_row_get(rows, row, &ir);
                i = manager_get_instance(m, ir.id);
                if (!i) {
                        k = instance_new(m, ir.id, &i);
                        if (k < 0)
                                return k;
                        changed |= INSTANCE_PROP_ADDED;
                }
                i->seen = true;

#define FIELD(field, value, prop)                                       \
                do {                                                    \
                        k = set_field(&i->field, value);                \
                        if (k < 0)                                      \
                                return k;                               \
                        if (k > 0)                                      \
                                changed |= (prop);                      \
                } while (0)
#define POOLED(field, value, prop)                                      \
                do {                                                    \
                        k = string_pool_set(m->strings, &i->field, value); \
                        if (k < 0)                                      \
                                return k;                               \
                        if (k > 0)                                      \
                                changed |= (prop);                      \
                } while (0)
                POOLED(compartment_id, ir.compartment_id, INSTANCE_PROP_COMPARTMENT);
                POOLED(region, ir.region, 0);
                POOLED(availability_domain, ir.availability_domain, INSTANCE_PROP_AVAILABILITY_DOMAIN);
                POOLED(fault_domain, ir.fault_domain, INSTANCE_PROP_FAULT_DOMAIN);
                POOLED(shape, ir.shape, INSTANCE_PROP_SHAPE);
                FIELD(display_name, ir.display_name, INSTANCE_PROP_DISPLAY_NAME);
                POOLED(lifecycle_state, ir.lifecycle_state, INSTANCE_PROP_LIFECYCLE_STATE);
#undef POOLED
#undef FIELD
                if (ir.state_observed_at != i->state_observed_at) {
                        i->state_observed_at = ir.state_observed_at;
                        changed |= INSTANCE_PROP_LIFECYCLE_STATE;
                }

                k = tags_pack_json(ir.freeform_tags, &tags);
                if (k == -ENOMEM)
                        return k;
                if (k >= 0 && !tags_packed_equal(tags, i->freeform_tags)) {
                        free(i->freeform_tags);
                        i->freeform_tags = TAKE_PTR(tags);
                        changed |= INSTANCE_PROP_FREEFORM_TAGS;
                }
                k = defined_tags_pack_json(ir.defined_tags, &dtags);
                if (k == -ENOMEM)
                        return k;
                if (k >= 0 && !tags_packed_equal(dtags, i->defined_tags)) {
                        /* Not a bus property: only what the schedules select by. */
                        free(i->defined_tags);
                        i->defined_tags = TAKE_PTR(dtags);
                        manager_schedules_changed(m);
                }

                k = instance_row_config(rows, row, &cfg);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        log_object(LOG_WARNING, "INSTANCE", ir.id, "Ignoring unreadable configuration of instance %s.",
                                   ir.id);
                else if (!instance_config_equal(&cfg, &i->config) && i->n_writes == 0) {
                        instance_config_done(&i->config);
                        i->config = cfg;
                        changed |= INSTANCE_PROP_CONFIG;
                } else
                        instance_config_done(&cfg);

                if (ir.last_job_kind) {
                        k = instance_set_last_job(i, ir.last_job_id, ir.last_job_kind, ir.last_job_result,
                                                  ir.last_job_error, ir.last_job_finished_at);
                        if (k < 0)
                                return k;
                }

                instance_mark_dirty(i, changed);
        }

        lh_foreach_safe(m->instances, e, tmp) {
                Instance *i = lh_entry_v(e);
                if (!i->seen) {
                        instance_mark_removed(i);
                        instance_free(i);
                }
        }
        return 0;
}

static int apply_meta(Manager *m, InventoryMeta *meta) {
        _cleanup_free_ char *a = meta->regions ? strv_join(meta->regions, " ") : strdup(""),
                            *b = m->regions ? strv_join(m->regions, " ") : strdup("");

        if (!a || !b)
                return -ENOMEM;
        if (!streq(a, b)) {
                strv_free(m->regions);
                m->regions = TAKE_PTR(meta->regions);
                manager_mark_dirty(m, MANAGER_PROP_REGIONS);
                manager_invalidate_describe(m);
        }
        if (meta->last_refresh != m->last_refresh) {
                m->last_refresh = meta->last_refresh;
                manager_mark_dirty(m, MANAGER_PROP_LAST_REFRESH);
        }
        return 0;
}

static void load_finish(Manager *m, LoadContext *l) {
        manager_load_handler_t handler = m->load_handler;
        void *userdata = m->load_userdata;
        int error = l->error;

        m->load = NULL;
        m->load_handler = NULL;
        m->load_userdata = NULL;

        if (error < 0)
                log_warning_errno(error, "Loading the inventory from the database failed: %s", strna(l->error_text));
        free(l->error_text);
        free(l);

        manager_mark_dirty(m, 0);  /* emit what the load held back */
        if (error >= 0) {
                manager_update_effective(m);
                manager_schedule_expiry(m);
                if (m->state != MANAGER_STARTING)
                        manager_update_status(m);
                /* Give back what the PGresults of a large load left in the heap. */
                manager_schedule_trim(m);
        }

        if (handler)
                handler(m, error, userdata);

        if (m->load_again && !m->load) {
                manager_load_handler_t next = m->next_load_handler;
                void *next_userdata = m->next_load_userdata;

                m->load_again = false;
                m->next_load_handler = NULL;
                m->next_load_userdata = NULL;
                if (manager_load(m, next, next_userdata) < 0 && next)
                        next(m, -ENOMEM, next_userdata);
        }
}

typedef enum LoadStep {
        LOAD_COMPARTMENTS,
        LOAD_INSTANCES,
        LOAD_META,
} LoadStep;

typedef struct LoadQuery {
        LoadContext *load;
        LoadStep step;
} LoadQuery;

/* One result of a load: merged (by apply, unless a step failed before) as it arrives. */
static void load_step_done(LoadQuery *q, int error, const char *message, const StoreRows *rows,
                           InventoryMeta *meta) {
        LoadContext *l = q->load;
        Manager *m = l->manager;
        LoadStep step = q->step;
        int k = 0;

        free(q);

        if (error == -ECANCELED) {
                /* The manager is going away. */
                if (--l->n_pending == 0) {
                        m->load = NULL;
                        free(l->error_text);
                        free(l);
                }
                return;
        }

        if (error < 0) {
                if (l->error >= 0) {
                        l->error = error;
                        l->error_text = strdup(strempty(message));
                }
        } else if (l->error >= 0) {
                uint32_t n_c = (uint32_t) lh_table_length(m->compartments),
                         n_i = (uint32_t) lh_table_length(m->instances);

                switch (step) {
                case LOAD_COMPARTMENTS:
                        k = apply_compartments(m, rows);
                        break;
                case LOAD_INSTANCES:
                        k = apply_instances(m, rows);
                        break;
                case LOAD_META:
                        k = apply_meta(m, meta);
                        break;
                }
                if (step != LOAD_META)
                        manager_relink(m);
                if (k < 0) {
                        l->error = k;
                        l->error_text = strdup("unexpected result");
                }
                if (n_c != (uint32_t) lh_table_length(m->compartments))
                        manager_mark_dirty(m, MANAGER_PROP_N_COMPARTMENTS);
                if (n_i != (uint32_t) lh_table_length(m->instances))
                        manager_mark_dirty(m, MANAGER_PROP_N_INSTANCES);
        }

        if (--l->n_pending == 0)
                load_finish(m, l);
}

static void on_load_rows(int error, const StoreRows *rows, const char *message, void *userdata) {
        load_step_done(userdata, error, message, rows, NULL);
}

static void on_load_meta(int error, InventoryMeta *meta, const char *message, void *userdata) {
        load_step_done(userdata, error, message, NULL, meta);
}

int manager_load(Manager *m, manager_load_handler_t handler, void *userdata) {
        LoadContext *l;
        int r;

        assert(m->db);

        if (m->load) {
                /* One at a time; this one runs after the current one, with fresh data. */
                if (handler) {
                        if (m->next_load_handler)
                                return -EBUSY;
                        m->next_load_handler = handler;
                        m->next_load_userdata = userdata;
                }
                m->load_again = true;
                return 0;
        }

        l = new0(LoadContext, 1);
        if (!l)
                return -ENOMEM;
        l->manager = m;
        m->load = l;
        m->load_handler = handler;
        m->load_userdata = userdata;

        /* Each result is merged as it arrives: a write queued behind a SELECT lands after it. */
        for (LoadStep s = LOAD_COMPARTMENTS; s <= LOAD_META; s++) {
                LoadQuery *q = new0(LoadQuery, 1);
                if (!q) {
                        r = -ENOMEM;
                        goto fail;
                }
                q->load = l;
                q->step = s;
                l->n_pending++;
                r = s == LOAD_COMPARTMENTS ? inventory_load_compartments(m->db, on_load_rows, q) :
                    s == LOAD_INSTANCES ? inventory_load_instances(m->db, on_load_rows, q) :
                    inventory_load_meta(m->db, on_load_meta, q);
                if (r < 0) {
                        l->n_pending--;
                        free(q);
                        goto fail;
                }
        }
        return 0;

fail:
        if (l->error >= 0)
                l->error = r;
        if (l->n_pending == 0)
                load_finish(m, l);
        return 0;
}

/* ---- misc ----------------------------------------------------------------------------------- */

char *manager_actor_name(uid_t uid) {
        struct passwd pw, *result = NULL;
        char buf[4096];

        if (uid == (uid_t) -1)
                return strdup("stopstartd");
        if (getpwuid_r(uid, &pw, buf, sizeof buf, &result) == 0 && result)
                return strdup(result->pw_name);
        return strprintf("uid %u", (unsigned) uid);
}

static int on_trim(sd_event_source *s, void *userdata) {
        (void) malloc_trim(0);
        return 0;
}

void manager_schedule_trim(Manager *m) {
        if (!m->trim_event) {
                if (sd_event_add_defer(m->event, &m->trim_event, on_trim, m) < 0)
                        return;
                (void) sd_event_source_set_priority(m->trim_event, SD_EVENT_PRIORITY_IDLE + 1);
                (void) sd_event_source_set_description(m->trim_event, "malloc-trim");
        }
        (void) sd_event_source_set_enabled(m->trim_event, SD_EVENT_ONESHOT);
}

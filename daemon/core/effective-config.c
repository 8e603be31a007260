/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The effective configuration over time: fingerprints recomputed, configuration saved, overrides
 * ended when due (effective-config.h). */
#include <stdlib.h>

#include "config-store.h"
#include "effective-config.h"
#include "log.h"
#include "manager.h"
#include "strv.h"

void manager_update_effective(Manager *m) {
        uint64_t now = manager_now();
        struct lh_entry *e;

        lh_foreach(m->compartments, e) {
                Compartment *c = lh_entry_v(e);
                InstanceConfig eff;
                uint64_t h;

                compartment_effective_defaults(c, now, &eff);
                h = instance_config_hash(&eff);
                if (h != c->effective_hash) {
                        /* 0: never computed, the object is new and announced whole. */
                        if (c->effective_hash != 0)
                                compartment_mark_dirty(c, COMPARTMENT_PROP_EFFECTIVE_DEFAULTS);
                        c->effective_hash = h;
                }
        }
        lh_foreach(m->instances, e)
                instance_update_effective(lh_entry_v(e), now);
}

/* ---- override expiry --------------------------------------------------------------------- */

typedef struct ExpiryWrite {
        Manager *manager;
        bool compartment;
        char *id;
        uint64_t until;
} ExpiryWrite;

static void on_expiry_written(int error, const char *message, void *userdata) {
        ExpiryWrite *w = userdata;
        Manager *m = w->manager;

        if (error == -ECANCELED)
                goto finish;

        if (w->compartment) {
                Compartment *c = manager_get_compartment(m, w->id);
                if (c) {
                        c->n_writes--;
                        if (error >= 0 && instance_config_is_set(&c->defaults, CONFIG_OVERRIDE_UNTIL) &&
                            c->defaults.override_until == w->until) {
                                instance_config_unset(&c->defaults, CONFIG_OVERRIDE_STATE);
                                instance_config_unset(&c->defaults, CONFIG_OVERRIDE_UNTIL);
                                compartment_mark_dirty(c, COMPARTMENT_PROP_DEFAULTS);
                        }
                }
        } else {
                Instance *i = manager_get_instance(m, w->id);
                if (i) {
                        i->n_writes--;
                        if (error >= 0 && instance_config_is_set(&i->config, CONFIG_OVERRIDE_UNTIL) &&
                            i->config.override_until == w->until) {
                                instance_config_unset(&i->config, CONFIG_OVERRIDE_STATE);
                                instance_config_unset(&i->config, CONFIG_OVERRIDE_UNTIL);
                                instance_mark_dirty(i, INSTANCE_PROP_CONFIG);
                        }
                }
        }
        if (error < 0) {
                _cleanup_free_ char *field = strprintf("STOPSTART_%s=%s", w->compartment ? "COMPARTMENT" : "INSTANCE",
                                                       w->id);
                log_fields_errno(LOG_WARNING, error, ((const char *[]) { field, NULL }),
                                 "Could not record the end of the override of %s (will retry): %s", w->id,
                                 strna(message));
        }
        manager_schedule_expiry(m);

finish:
        free(w->id);
        free(w);
}

static void expire_one(Manager *m, bool compartment, const char *id, uint64_t until, unsigned *n_writes) {
        ExpiryWrite *w;

        if (*n_writes > 0 || !m->db || db_get_state(m->db) != DB_CONNECTED)
                return;  /* retried when the write finishes, or after reconnecting */
        w = new0(ExpiryWrite, 1);
        if (!w)
                return;
        w->manager = m;
        w->compartment = compartment;
        w->until = until;
        w->id = strdup(id);
        if (!w->id) {
                free(w);
                return;
        }
        (*n_writes)++;
        if (config_store_expire_override(m->db, compartment ? CONFIG_OWNER_COMPARTMENT : CONFIG_OWNER_INSTANCE, id,
                                         on_expiry_written, w) < 0) {
                (*n_writes)--;
                free(w->id);
                free(w);
        }
}

static int on_expiry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t now = manager_now();
        struct lh_entry *e;

        /* Effective values change at once; the stored override is removed (and audited) next. */
        manager_update_effective(m);

        lh_foreach(m->compartments, e) {
                Compartment *c = lh_entry_v(e);
                if (instance_config_override_expired(&c->defaults, now))
                        expire_one(m, true, c->id, c->defaults.override_until, &c->n_writes);
        }
        lh_foreach(m->instances, e) {
                Instance *i = lh_entry_v(e);
                if (instance_config_override_expired(&i->config, now))
                        expire_one(m, false, i->id, i->config.override_until, &i->n_writes);
        }
        manager_schedule_expiry(m);
        return 0;
}

void manager_schedule_expiry(Manager *m) {
        uint64_t next = UINT64_MAX, now = manager_now();
        bool pending = false;
        struct lh_entry *e;
        int r;

        lh_foreach(m->compartments, e) {
                Compartment *c = lh_entry_v(e);
                uint64_t t = instance_config_next_expiry(&c->defaults);
                if (t <= now)
                        pending = true;
                else
                        next = MIN(next, t);
        }
        lh_foreach(m->instances, e) {
                Instance *i = lh_entry_v(e);
                uint64_t t = instance_config_next_expiry(&i->config);
                if (t <= now)
                        pending = true;
                else
                        next = MIN(next, t);
        }
        /* Overrides already over but not yet cleared (database away): try again in a while. */
        if (pending)
                next = MIN(next, now + 5 * 1000000ULL);

        if (next == UINT64_MAX) {
                (void) sd_event_source_set_enabled(m->expiry_timer, SD_EVENT_OFF);
                return;
        }
        if (!m->expiry_timer) {
                r = sd_event_add_time(m->event, &m->expiry_timer, CLOCK_REALTIME, next, 0, on_expiry, m);
                if (r < 0) {
                        log_warning_errno(r, "Failed to arm the override expiry timer: %m");
                        return;
                }
                (void) sd_event_source_set_description(m->expiry_timer, "override-expiry");
                return;
        }
        (void) sd_event_source_set_time(m->expiry_timer, next);
        (void) sd_event_source_set_enabled(m->expiry_timer, SD_EVENT_ONESHOT);
}

/* ---- configuration writes ------------------------------------------------------------------ */

typedef struct ConfigSave {
        Manager *manager;
        bool compartment;
        char *id;
        InstanceConfig config;
        manager_config_saved_t handler;
        void *userdata;
} ConfigSave;

static void config_save_free(ConfigSave *s) {
        free(s->id);
        instance_config_done(&s->config);
        free(s);
}

static void on_config_saved(int error, const char *message, void *userdata) {
        ConfigSave *s = userdata;
        Manager *m = s->manager;
        Compartment *c = NULL;
        Instance *i = NULL;

        if (s->compartment)
                c = manager_get_compartment(m, s->id);
        else
                i = manager_get_instance(m, s->id);
        if (c)
                c->n_writes--;
        if (i)
                i->n_writes--;

        if (error >= 0 && !c && !i)
                error = -ENXIO;  /* removed by a reload meanwhile */

        if (error >= 0) {
                InstanceConfig *target = c ? &c->defaults : &i->config;
                instance_config_done(target);
                *target = s->config;
                s->config = (InstanceConfig) {};
                if (c) {
                        compartment_mark_dirty(c, COMPARTMENT_PROP_DEFAULTS);
                        manager_update_effective(m);
                } else {
                        instance_mark_dirty(i, INSTANCE_PROP_CONFIG);
                        instance_update_effective(i, manager_now());
                }
                manager_schedule_expiry(m);
        } else if (error == -ECONNRESET)
                m->db_was_lost = true;  /* read the outcome back after reconnecting */

        if (s->handler)
                s->handler(m, error, message, s->userdata);
        config_save_free(s);
}

int manager_save_config(Manager *m, bool compartment, const char *id, const InstanceConfig *config, uid_t uid,
                        manager_config_saved_t handler, void *userdata) {
        _cleanup_free_ char *actor = NULL;
        const InstanceConfig *old;
        unsigned *n_writes;
        ConfigSave *s;
        int r;

        if (compartment) {
                Compartment *c = manager_get_compartment(m, id);
                if (!c)
                        return -ENXIO;
                old = &c->defaults;
                n_writes = &c->n_writes;
        } else {
                Instance *i = manager_get_instance(m, id);
                if (!i)
                        return -ENXIO;
                old = &i->config;
                n_writes = &i->n_writes;
        }
        if (!m->db || db_get_state(m->db) != DB_CONNECTED)
                return -ENOTCONN;

        actor = manager_actor_name(uid);
        if (!actor)
                return -ENOMEM;

        s = new0(ConfigSave, 1);
        if (!s)
                return -ENOMEM;
        s->manager = m;
        s->compartment = compartment;
        s->handler = handler;
        s->userdata = userdata;
        s->id = strdup(id);
        r = s->id ? instance_config_copy(config, &s->config) : -ENOMEM;
        if (r < 0) {
                config_save_free(s);
                return r;
        }

        (*n_writes)++;
        r = config_store_save(m->db, compartment ? CONFIG_OWNER_COMPARTMENT : CONFIG_OWNER_INSTANCE, id, old, config,
                              &(StoreActor) { uid, actor }, on_config_saved, s);
        if (r < 0) {
                (*n_writes)--;
                config_save_free(s);
                return r;
        }
        return 0;
}

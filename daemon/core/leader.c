/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "leader-store.h"
#include "leader.h"
#include "log.h"
#include "manager.h"
#include "scheduler.h"
#include "strv.h"
#include "time-util.h"

static const char * const leader_role_table[_LEADER_ROLE_MAX] = {
        [LEADER_ROLE_STANDBY] = "standby",
        [LEADER_ROLE_LEADER] = "leader",
};
DEFINE_STRING_TABLE_LOOKUP(leader_role, LeaderRole);

/* What other daemons changed, to reload. */
typedef enum LeaderChange {
        CHANGED_INVENTORY   = 1U << 0,  /* compartments, instances, regions, discovery runs */
        CHANGED_CONFIG      = 1U << 1,  /* instance configuration, compartment defaults */
        CHANGED_SCHEDULES   = 1U << 2,  /* schedules, their targets and exceptions, calendars */
        CHANGED_OCCURRENCES = 1U << 3,
        CHANGED_ALL         = (1U << 4) - 1,
} LeaderChange;

struct Leader {
        Manager *manager;
        Db *db;                         /* the lock's own connection, also the listener */
        char *identity;                 /* "host:pid" */
        char *leader;                   /* the leading daemon's identity, "" unknown */
        LeaderRole role;
        bool in_flight;                 /* a claim or check is under way */
        uint64_t in_flight_since;       /* CLOCK_MONOTONIC */
        unsigned silent_ticks;          /* ticks that found it unanswered */
        bool was_connected;             /* notifications may have been missed: reload all */
        bool settled;                   /* connected and answered since: the role is known */
        uint64_t rejoin_at;             /* CLOCK_MONOTONIC: no claim before */
        sd_event_source *tick;
        sd_event_source *reload;
        uint32_t changed;               /* LeaderChange */
};

static void leader_tick_later(Leader *l, uint64_t usec);

/* Whether it changed. */
static bool set_leader_name(Leader *l, const char *name) {
        char *s;

        if (streq_ptr(l->leader, name))
                return false;
        s = strdup(name);
        if (!s)
                return false;
        free(l->leader);
        l->leader = s;
        manager_mark_dirty(l->manager, MANAGER_PROP_LEADER);
        manager_update_status(l->manager);
        return true;
}

/* ---- taking over and stepping down ---------------------------------------------------------------- */

static void become_leader(Leader *l) {
        Manager *m = l->manager;

        l->role = LEADER_ROLE_LEADER;
        set_leader_name(l, l->identity);
        manager_mark_dirty(m, MANAGER_PROP_ROLE);
        log_info("This daemon (%s) leads now: resuming unfinished jobs and occurrences.", l->identity);

        /* What a predecessor (or a standby's timer) left: jobs and their action rows with their
         * retry tokens, occurrences pending or running; as after a restart. */
        if (manager_resume_jobs(m) < 0)
                log_warning("Could not look for unfinished jobs.");
        if (m->scheduler)
                scheduler_resume(m->scheduler);
        /* During start-up the first refresh follows READY=1. */
        if (m->state != MANAGER_STARTING) {
                if (manager_refresh(m, (uid_t) -1, NULL) < 0)
                        log_warning("The refresh after taking over could not start; the periodic one will try again.");
                manager_schedule_refresh(m);
        }
        manager_update_status(m);
}

static void step_down(Leader *l, const char *why) {
        Manager *m = l->manager;

        if (l->role != LEADER_ROLE_LEADER)
                return;
        log_warning("This daemon no longer leads (%s): it stops executing; the next leader resumes from the "
                    "database.", why);
        l->role = LEADER_ROLE_STANDBY;
        l->rejoin_at = now(CLOCK_MONOTONIC) + LEADER_REJOIN_USEC;
        set_leader_name(l, "");
        manager_mark_dirty(m, MANAGER_PROP_ROLE);
        /* Occurrences first (their jobs go with the others): nothing is written, the rows stay as
         * they are for the next leader. */
        if (m->scheduler)
                scheduler_abandon(m->scheduler);
        manager_abandon_jobs(m, "This daemon stopped leading; the leader resumes the job.");
        manager_update_status(m);
}

/* Running needs the database and a known role: a daemon whose elector is not settled would
 * refuse actions as if another led. */
static void update_manager_state(Leader *l) {
        Manager *m = l->manager;
        bool ok = l->settled && m->db && db_get_state(m->db) == DB_CONNECTED && !m->schema_lost;

        if (ok && m->state == MANAGER_DEGRADED)
                manager_set_state(m, MANAGER_RUNNING);
        else if (!ok && m->state == MANAGER_RUNNING)
                manager_set_state(m, MANAGER_DEGRADED);
}

/* ---- the lock ------------------------------------------------------------------------------------- */

static void on_claimed(int error, bool leader, const char *holder, const char *message, void *userdata) {
        Leader *l = userdata;

        if (error == -ECANCELED)
                return;  /* freed */
        l->in_flight = false;
        if (error < 0) {
                if (error != -ENOTCONN && error != -ECONNRESET)
                        log_warning("Could not check the leadership: %s", message ?: strerror(-error));
                /* A lost connection takes the lock with it: on_db_state() steps down. */
        } else if (!l->settled) {
                l->settled = true;
                /* State is running again once the role is known, not before (an action in between
                 * would be refused as if another daemon led). */
                if (l->role == LEADER_ROLE_STANDBY && leader)
                        become_leader(l);
                else if (l->role == LEADER_ROLE_STANDBY)
                        (void) set_leader_name(l, holder);
                update_manager_state(l);
        } else if (l->role == LEADER_ROLE_LEADER && !leader)
                step_down(l, "the database no longer shows its lock");
        else if (l->role == LEADER_ROLE_STANDBY && leader)
                become_leader(l);
        else if (l->role == LEADER_ROLE_STANDBY && set_leader_name(l, holder)) {
                if (isempty(holder))
                        log_info("Standby; no daemon leads at the moment.");
                else
                        log_info("Standby; the leader is %s.", holder);
        }
        leader_tick_later(l, l->role == LEADER_ROLE_LEADER ? LEADER_CHECK_USEC : LEADER_RETRY_USEC);
}

static void leader_tick_now(Leader *l) {
        uint64_t t = now(CLOCK_MONOTONIC);
        int r;

        if (l->in_flight) {
                /* No answer on a connection that looks fine (its host or the network gone): stop
                 * executing before the server ends the session and a standby takes over. */
                /* Several ticks, not one late one: a loop busy for seconds (a large reload) has the
                 * answer waiting unread, not missing. */
                if (l->role == LEADER_ROLE_LEADER && ++l->silent_ticks >= 3 &&
                    t >= l->in_flight_since + LEADER_SILENCE_USEC)
                        step_down(l, "its database connection does not answer");
                leader_tick_later(l, LEADER_CHECK_USEC);
                return;
        }
        if (db_get_state(l->db) != DB_CONNECTED)
                return;
        if (l->role == LEADER_ROLE_LEADER)
                r = leader_store_check(l->db, on_claimed, l);
        else
                r = leader_store_claim(l->db, t >= l->rejoin_at ? LEADER_CLAIM_TRY : LEADER_CLAIM_YIELD, l->identity,
                                       on_claimed, l);
        if (r < 0) {
                log_debug_errno(r, "Could not ask for the leadership: %m");
                leader_tick_later(l, LEADER_RETRY_USEC);
                return;
        }
        l->in_flight = true;
        l->in_flight_since = t;
        l->silent_ticks = 0;
        /* Also to notice an answer that does not come. */
        leader_tick_later(l, LEADER_CHECK_USEC);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        leader_tick_now(userdata);
        return 0;
}

static void leader_tick_later(Leader *l, uint64_t usec) {
        if (!l->tick) {
                if (sd_event_add_time_relative(l->manager->event, &l->tick, CLOCK_MONOTONIC, usec, 0, on_tick, l) < 0) {
                        log_warning("Cannot arm the leadership timer.");
                        return;
                }
                (void) sd_event_source_set_description(l->tick, "leader-tick");
                return;
        }
        (void) sd_event_source_set_time_relative(l->tick, usec);
        (void) sd_event_source_set_enabled(l->tick, SD_EVENT_ONESHOT);
}

/* ---- changes by other daemons ------------------------------------------------------------------- */

static int on_reload(sd_event_source *s, uint64_t usec, void *userdata) {
        Leader *l = userdata;
        Manager *m = l->manager;
        uint32_t c = l->changed;

        l->changed = 0;
        if (c & (CHANGED_INVENTORY | CHANGED_CONFIG))
                (void) manager_load(m, NULL, NULL);
        if ((c & CHANGED_SCHEDULES) && m->scheduler && scheduler_load(m->scheduler, NULL, NULL) < 0)
                log_warning("Could not reload the schedules.");
        /* A standby's timer recorded a firing, or a delay moved one: the leader executes it. */
        if ((c & CHANGED_OCCURRENCES) && l->role == LEADER_ROLE_LEADER && m->scheduler)
                scheduler_resume(m->scheduler);
        return 0;
}

static void mark_changed(Leader *l, uint32_t what) {
        l->changed |= what;
        if (!l->reload) {
                if (sd_event_add_time_relative(l->manager->event, &l->reload, CLOCK_MONOTONIC, LEADER_RELOAD_DELAY_USEC,
                                               0, on_reload, l) < 0)
                        return;
                (void) sd_event_source_set_description(l->reload, "leader-reload");
                return;
        }
        if (sd_event_source_get_enabled(l->reload, NULL) > 0)
                return;  /* armed: this change goes with it */
        (void) sd_event_source_set_time_relative(l->reload, LEADER_RELOAD_DELAY_USEC);
        (void) sd_event_source_set_enabled(l->reload, SD_EVENT_ONESHOT);
}

static void on_notify(Db *db, const char *channel, const char *payload, int sender_pid, void *userdata) {
        static const struct {
                const char *table;
                uint32_t change;
        } tables[] = {
                { "compartments", CHANGED_INVENTORY },
                { "instances", CHANGED_INVENTORY },
                { "regions", CHANGED_INVENTORY },
                { "discovery_runs", CHANGED_INVENTORY },
                { "instance_config", CHANGED_CONFIG },
                { "compartment_defaults", CHANGED_CONFIG },
                { "schedules", CHANGED_SCHEDULES },
                { "schedule_targets", CHANGED_SCHEDULES },
                { "schedule_exceptions", CHANGED_SCHEDULES },
                { "exception_calendars", CHANGED_SCHEDULES },
                { "exception_dates", CHANGED_SCHEDULES },
                { "occurrences", CHANGED_OCCURRENCES },
        };
        Leader *l = userdata;
        Manager *m = l->manager;

        if (!streq_ptr(channel, LEADER_CHANGES_CHANNEL))
                return;
        /* Our own writes are in memory already. */
        if (sender_pid != 0 && sender_pid == db_backend_pid(m->db))
                return;
        for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
                if (!streq_ptr(payload, tables[i].table))
                        continue;
                /* Only the leader discovers: its own discovery (on a connection of its own) needs no
                 * reload, the refresh ends with one. */
                if (tables[i].change == CHANGED_INVENTORY && l->role == LEADER_ROLE_LEADER)
                        return;
                mark_changed(l, tables[i].change);
                return;
        }
}

static void on_listening(int error, const char *message, void *userdata) {
        if (error < 0 && error != -ECANCELED && error != -ENOTCONN && error != -ECONNRESET)
                log_warning("Cannot listen for the changes of other daemons: %s", message ?: strerror(-error));
}

static void on_db_state(Db *db, DbState state, void *userdata) {
        Leader *l = userdata;

        if (state == DB_DISCONNECTED) {
                l->in_flight = false;
                l->settled = false;
                step_down(l, "its database connection was lost");
                update_manager_state(l);
                return;
        }
        if (state != DB_CONNECTED)
                return;
        if (leader_store_listen(l->db, on_listening, l) < 0)
                log_warning("Cannot listen for the changes of other daemons.");
        /* Whatever others committed while we did not listen. */
        if (l->was_connected)
                mark_changed(l, CHANGED_ALL);
        l->was_connected = true;
        leader_tick_now(l);
}

/* ---- object ----------------------------------------------------------------------------------------- */

int leader_new(Manager *m, Leader **ret) {
        _cleanup_(leader_freep) Leader *l = NULL;
        char host[256] = "";
        int r;

        assert(m);
        assert(m->config);
        assert(ret);

        l = new0(Leader, 1);
        if (!l)
                return -ENOMEM;
        l->manager = m;
        l->role = LEADER_ROLE_STANDBY;
        if (gethostname(host, sizeof host - 1) < 0 || !*host)
                strcpy(host, "localhost");
        l->identity = strprintf("%s:%d", host, (int) getpid());
        l->leader = strdup("");
        if (!l->identity || !l->leader)
                return -ENOMEM;

        r = db_new(m->event, m->config->database, &l->db);
        if (r < 0)
                return r;
        db_set_state_handler(l->db, on_db_state, l);
        db_set_notify_handler(l->db, on_notify, l);
        /* A standby's connection retries quickly: taking over within seconds needs it. */
        db_set_reconnect_backoff(l->db, 100 * 1000, LEADER_RETRY_USEC);
        r = db_start(l->db);
        if (r < 0 && r != -ECONNREFUSED)
                return r;
        /* Also retries while the connection is away, and asks again when it is not answered. */
        leader_tick_later(l, LEADER_RETRY_USEC);
        *ret = TAKE_PTR(l);
        return 0;
}

Leader *leader_free(Leader *l) {
        if (!l)
                return NULL;
        /* Closing the session releases the lock: a standby takes over at its next try. */
        l->db = db_free(l->db);
        sd_event_source_disable_unref(l->tick);
        sd_event_source_disable_unref(l->reload);
        free(l->identity);
        free(l->leader);
        return mfree(l);
}

bool leader_settled(const Leader *l) {
        return !l || l->settled;
}

LeaderRole leader_role(const Leader *l) {
        return l->role;
}

const char *leader_name(const Leader *l) {
        return strempty(l->leader);
}

const char *leader_identity(const Leader *l) {
        return l->identity;
}

bool manager_is_leader(Manager *m) {
        return !m->leader || m->leader->role == LEADER_ROLE_LEADER;
}

const char *manager_role(Manager *m) {
        return leader_role_to_string(manager_is_leader(m) ? LEADER_ROLE_LEADER : LEADER_ROLE_STANDBY);
}

const char *manager_leader(Manager *m) {
        return m->leader ? leader_name(m->leader) : "";
}

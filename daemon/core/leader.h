/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Leadership among several stopstartd sharing one database (high availability).
 *
 * The leader is the daemon whose dedicated connection holds the session-level advisory lock of
 * store/leader-store.h; only it runs jobs (instance actions, refreshes: discovery) and executes
 * occurrences. The others are standbys: they serve reads, keep their timers (a firing anywhere
 * records the occurrence row, which exists once; the leader picks it up) and write rows
 * (configuration, schedules), but refuse actions (the bus answers NotLeader naming the leader).
 * A standby tries the lock every LEADER_RETRY_USEC; the one that gets it resumes what was left
 * unfinished (pending occurrences, jobs and action rows, with their retry tokens), as after a
 * restart. A leader whose lock connection is lost steps down at once (stops executing: the rows
 * stay for the next leader) and competes again only after LEADER_REJOIN_USEC, so that a healthy
 * standby takes over (when no other daemon is present, it takes the lock again at once). A leader whose check goes unanswered for LEADER_SILENCE_USEC (the server or
 * the network gone silent) steps down too, before the server can end its session.
 *
 * The same connection LISTENs for the changes other daemons commit and reloads what they touched
 * (the load announces the differences on the bus). Domain code: no bus; changes of Role and
 * Leader are marked on the manager. */

#include <stdbool.h>

#include "string-table.h"

typedef struct Manager Manager;
typedef struct Leader Leader;

typedef enum LeaderRole {
        LEADER_ROLE_STANDBY,
        LEADER_ROLE_LEADER,
        _LEADER_ROLE_MAX,
        _LEADER_ROLE_INVALID = -EINVAL,
} LeaderRole;

DECLARE_STRING_TABLE_LOOKUP(leader_role, LeaderRole);

#define LEADER_RETRY_USEC (1000ULL * 1000ULL)          /* a standby tries the lock this often */
#define LEADER_CHECK_USEC (1000ULL * 1000ULL)          /* the leader checks it still holds it */
#define LEADER_REJOIN_USEC (3000ULL * 1000ULL)         /* after losing it, before competing again */
/* A check unanswered this long: step down, before the server ends the silent session (about 6 s
 * over TCP, leader-store.h) and a standby takes over. */
#define LEADER_SILENCE_USEC (3000ULL * 1000ULL)
#define LEADER_RELOAD_DELAY_USEC (200ULL * 1000ULL)    /* notifications are coalesced this long */

/* A new leader elector of m (m->config->database), connecting at once; standby until the lock
 * is ours. */
int leader_new(Manager *m, Leader **ret);
Leader *leader_free(Leader *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Leader*, leader_free);

LeaderRole leader_role(const Leader *l);
/* Whether the role is known: the lock's connection is up and has been answered since (true
 * without an elector). The manager is "running" only then. */
bool leader_settled(const Leader *l);
/* The leading daemon's identity ("host:pid"), "" while unknown. */
const char *leader_name(const Leader *l);
/* This daemon's identity. */
const char *leader_identity(const Leader *l);

/* Whether m may run jobs and occurrences: it leads, or it has no elector (alone). */
bool manager_is_leader(Manager *m);
/* Role and Leader as the bus shows them. */
const char *manager_role(Manager *m);
const char *manager_leader(Manager *m);

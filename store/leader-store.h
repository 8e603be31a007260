/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The SQL of leadership among several stopstartd on one database (daemon/core/leader.h), on the
 * leader's own connection (db.h): the leader is the session holding a session-level advisory
 * lock on LEADER_LOCK_KEY, and records who it is in stopstart.leader so the others can name it.
 * Committed changes of the rows daemons serve are announced on LEADER_CHANGES_CHANNEL by
 * triggers (migration 0004), the payload being the table's name.
 *
 * Each call is one statement; its handler runs exactly once unless the submission failed
 * (negative return). Errors: -ENOTCONN (not connected), -ECONNRESET (connection lost in
 * flight), -ECANCELED (db freed), -EBADMSG, -EIO; message is the server's text or NULL. */

#include <stdbool.h>

#include "db.h"

/* "stopstrt" in ASCII: the two-integer advisory locks of the migration runner (objsubid 2) can
 * never collide with this one-bigint lock (objsubid 1). */
#define LEADER_LOCK_KEY "8319396940424180340"
#define LEADER_CHANGES_CHANNEL "stopstart_changes"
/* "stopstrp": every daemon's connection holds it shared, so a daemon can tell whether others are
 * there to take over. */
#define LEADER_PRESENCE_KEY "8319396940424180336"

/* leader: whether this session holds the lock now; holder: the identity of the daemon that holds
 * it ("" when nobody does, or its record is missing). */
typedef void (*leader_store_claim_handler_t)(int error, bool leader, const char *holder, const char *message,
                                             void *userdata);

/* How a standby asks. */
typedef enum LeaderClaim {
        LEADER_CLAIM_PEEK,      /* only read who holds the lock */
        LEADER_CLAIM_TRY,       /* try to take it */
        LEADER_CLAIM_YIELD,     /* try to take it only if no other daemon is present to take it */
} LeaderClaim;

/* Tries to take the lock as how says (never asked again by its holder: the lock would nest) and
 * on success records identity as the leader's. */
int leader_store_claim(Db *db, LeaderClaim how, const char *identity, leader_store_claim_handler_t handler,
                       void *userdata);
/* The holder's check that its session still holds the lock (leader false: it was lost). */
int leader_store_check(Db *db, leader_store_claim_handler_t handler, void *userdata);

typedef void (*leader_store_done_handler_t)(int error, const char *message, void *userdata);
/* LISTEN on LEADER_CHANGES_CHANNEL, mark this session present, and have the server end it
 * within about 6 s once its peer is gone silent over TCP (again after every reconnection: a new
 * session listens to nothing and holds nothing). */
int leader_store_listen(Db *db, leader_store_done_handler_t handler, void *userdata);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every SQL statement about schedules, exception calendars, occurrences and their actions
 * (issue 10), on the daemon's asynchronous connection (db.h). Each call is one statement (a
 * change and its audit entry commit together), takes typed parameters and answers with plain
 * structs through one callback, which always runs exactly once (also on failure) unless the
 * submission itself failed (negative return, no callback). A NULL handler is allowed: nobody
 * hears of the outcome.
 *
 * Errors handed to callbacks: 0; -ENOTCONN (database away, nothing written: changes are
 * submitted fail-fast), -ECONNRESET (connection lost in flight: outcome unknown), -EEXIST (a
 * name is taken), -ENOENT (no such schedule, calendar or occurrence), -EBUSY (refused: the row
 * is in use or no longer in a state that allows it), -EINVAL (refused by a constraint), -ENXIO
 * (a target's instance or compartment is unknown to the database), -EBADMSG (an answer we cannot
 * read), -EIO (other server errors); message is the server's one-line text, or NULL. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "db.h"
#include "exception-calendar.h"
#include "schedule.h"
#include "store.h"

/* ---- schedules ---- */

typedef void (*schedule_store_list_handler_t)(int error, Schedule **schedules, size_t n, const char *message,
                                               void *userdata);
/* ids[i] belongs to the i-th schedule of the call. */
typedef void (*schedule_store_ids_handler_t)(int error, const uint64_t *ids, size_t n, const char *message,
                                              void *userdata);

/* Every schedule not deleted, ordered by name, with targets and exception calendar names. The
 * handler owns the schedules (schedule_free() each, free() the array). */
int schedule_store_load(Db *db, schedule_store_list_handler_t handler, void *userdata);
/* Inserts schedules (one, or a window's two) in one statement; enabled_since is set from the
 * database's clock. Exception calendars are linked by name (the caller checked they exist). */
int schedule_store_insert(Db *db, Schedule * const *schedules, size_t n, const StoreActor *actor,
                          schedule_store_ids_handler_t handler, void *userdata);
/* Replaces every field, target and exception link of existing schedules (matched by id).
 * Enabling sets enabled_since, disabling clears it; staying enabled keeps it. -ENOENT if one is
 * gone (then nothing is changed). */
int schedule_store_update(Db *db, Schedule * const *schedules, size_t n, const StoreActor *actor,
                          schedule_store_ids_handler_t handler, void *userdata);
/* Enables or disables schedules; the handler gets the schedules as stored afterwards (with
 * enabled_since). */
int schedule_store_set_enabled(Db *db, const uint64_t *ids, size_t n, bool enabled, const StoreActor *actor,
                               schedule_store_list_handler_t handler, void *userdata);
/* Deletes schedules (softly: their occurrences and actions stay). */
int schedule_store_delete(Db *db, const uint64_t *ids, size_t n, const StoreActor *actor,
                          schedule_store_ids_handler_t handler, void *userdata);
/* Takes back schedules just inserted whose timers systemd refused: removed for good (targets and
 * exception links with them; never one that has an occurrence), with an audit entry
 * "create-refused" naming the reason. */
int schedule_store_retract(Db *db, const uint64_t *ids, size_t n, const char *reason, const StoreActor *actor,
                           schedule_store_ids_handler_t handler, void *userdata);

/* ---- exception calendars ---- */

typedef void (*calendar_store_list_handler_t)(int error, ExceptionCalendar **calendars, size_t n,
                                              const char *message, void *userdata);

/* Every calendar with its entries, ordered by name. */
int calendar_store_load(Db *db, calendar_store_list_handler_t handler, void *userdata);
/* Adds entries to calendar name, creating it when missing; entries already there are kept. The
 * handler gets the calendar as stored afterwards (n == 1). */
int calendar_store_add(Db *db, const char *name, const ExceptionRange *ranges, size_t n, const StoreActor *actor,
                       calendar_store_list_handler_t handler, void *userdata);
/* Removes entries; -ENOENT without the calendar. The handler gets the calendar afterwards. */
int calendar_store_remove_entries(Db *db, const char *name, const ExceptionRange *ranges, size_t n,
                                  const StoreActor *actor, calendar_store_list_handler_t handler, void *userdata);
/* Removes a calendar: -EBUSY while a schedule honours it, -ENOENT without it. n == 0. */
int calendar_store_remove(Db *db, const char *name, const StoreActor *actor, calendar_store_list_handler_t handler,
                          void *userdata);

/* ---- occurrences and their actions ---- */

typedef struct ActionRow {
        uint64_t id;
        uint64_t occurrence_id;
        char *instance_id;
        OciInstanceAction action;
        ActionState state;
        char *retry_token;
        unsigned attempts;
        char *reason;
        char *error;
        char *opc_request_id;           /* NULL if none */
        uint64_t created_at, sent_at, confirmed_at, finished_at;       /* µs, 0 = not yet */
} ActionRow;

typedef struct OccurrenceRow {
        uint64_t id;
        uint64_t schedule_id;
        char *schedule_name;
        uint64_t scheduled_at;          /* µs since the epoch: the key, with schedule_id */
        uint64_t delayed_until;         /* 0 = not delayed */
        OccurrenceState state;
        char *reason;
        char *fired_by;
        int64_t target_count;           /* -1 = not resolved yet */
        uint64_t fired_at, finished_at;
        bool created;                   /* occurrence_store_fire(): this call inserted it */
        ActionRow *actions;             /* occurrence_store_list() only */
        size_t n_actions;
} OccurrenceRow;

void action_row_done(ActionRow *a);
void action_rows_free(ActionRow *a, size_t n);
void occurrence_row_done(OccurrenceRow *o);
void occurrence_rows_free(OccurrenceRow *o, size_t n);

typedef void (*occurrence_store_handler_t)(int error, OccurrenceRow *rows, size_t n, const char *message,
                                           void *userdata);
typedef void (*action_store_handler_t)(int error, ActionRow *rows, size_t n, const char *message, void *userdata);

/* A firing of (schedule, scheduled_at): inserts the occurrence with the given state (running to
 * execute it, skipped or missed with the reason) unless it exists; either way the handler gets
 * the row (created tells which). A second firing of the same instant therefore changes nothing
 * and sees what the first one did. Audited as "fire" when fired_by is not "timer". */
int occurrence_store_fire(Db *db, uint64_t schedule_id, uint64_t scheduled_at, OccurrenceState state,
                          const char *reason, const char *fired_by, const StoreActor *actor,
                          occurrence_store_handler_t handler, void *userdata);
/* Claims a pending occurrence for execution (pending -> running): -EBUSY when it is not pending
 * any more (someone else runs it, or it was skipped). */
int occurrence_store_claim(Db *db, uint64_t id, occurrence_store_handler_t handler, void *userdata);
/* Marks a coming occurrence skipped (creating its row): -EBUSY if it already ran or runs. */
int occurrence_store_skip(Db *db, uint64_t schedule_id, uint64_t scheduled_at, const char *reason,
                          const StoreActor *actor, occurrence_store_handler_t handler, void *userdata);
/* Delays a coming occurrence to until (> scheduled_at): -EBUSY if it already ran or runs. */
int occurrence_store_delay(Db *db, uint64_t schedule_id, uint64_t scheduled_at, uint64_t until,
                           const StoreActor *actor, occurrence_store_handler_t handler, void *userdata);
/* Records the outcome (done, failed, skipped) or progress (running with target_count >= 0). */
int occurrence_store_set_state(Db *db, uint64_t id, OccurrenceState state, const char *reason, int64_t target_count,
                               occurrence_store_handler_t handler, void *userdata);

typedef struct OccurrenceFilter {
        uint64_t schedule_id;           /* 0 = all */
        uint64_t since, until;          /* scheduled_at range, 0 = open */
        OccurrenceState state;          /* _OCCURRENCE_STATE_INVALID = all */
        unsigned limit;                 /* 0 = 100 */
        bool with_actions;
} OccurrenceFilter;
/* Newest first, with actions when asked. */
int occurrence_store_list(Db *db, const OccurrenceFilter *filter, occurrence_store_handler_t handler,
                          void *userdata);
/* What start-up picks up: occurrences running, and pending ones (delayed or not yet claimed),
 * oldest first, each with its actions. */
int occurrence_store_unfinished(Db *db, occurrence_store_handler_t handler, void *userdata);

/* Inserts action rows of one occurrence (before any HTTP call for them): rows[i] gives
 * instance_id, action, retry_token, state (pending, skipped, or failed: reason is then stored as
 * the error) and reason. A row that exists
 * (same occurrence, instance, action) is returned as stored, untouched: resuming finds its
 * state and token again. The handler gets the rows as stored, in the order given. */
int action_store_insert(Db *db, uint64_t occurrence_id, const ActionRow *rows, size_t n,
                        action_store_handler_t handler, void *userdata);
/* pending -> sent (attempts + 1, sent_at). n == 1 for the handler. */
int action_store_mark_sent(Db *db, uint64_t action_id, action_store_handler_t handler, void *userdata);
/* The outcome: confirmed (opc_request_id optional), failed (error), skipped (reason). */
int action_store_finish(Db *db, uint64_t action_id, ActionState state, const char *reason, const char *error,
                        const char *opc_request_id, action_store_handler_t handler, void *userdata);
/* A confirmed action's instance reached the target state: finished_at. -EBUSY if not confirmed. */
int action_store_reached(Db *db, uint64_t action_id, action_store_handler_t handler, void *userdata);
/* The actions of one occurrence, in id order. */
int action_store_list(Db *db, uint64_t occurrence_id, action_store_handler_t handler, void *userdata);

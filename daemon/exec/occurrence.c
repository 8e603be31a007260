/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "occurrence.h"
#include "strv.h"

typedef enum ItemStep {
        ITEM_CONFIRM,           /* needs a fresh state, then a decision */
        ITEM_SEND,              /* queued for (re)sending its row */
        ITEM_SENDING,           /* db write or InstanceAction in flight */
        ITEM_SETTLE,            /* decided to act, but the instance is between states: poll first */
        ITEM_WAIT,              /* accepted: following it to the target state */
        ITEM_DONE,
} ItemStep;

typedef struct Item {
        char *id, *region, *compartment_id;
        int32_t priority;
        ScheduleCandidate candidate;    /* strings point at the fields above */
        size_t group;

        ItemStep step;
        OciInstanceState state;         /* last observed */
        bool read;                      /* its state was (or is being) read for the decision */
        bool read_pending;              /* that read is in flight */
        bool found;                     /* seen by the last read */
        unsigned read_failures;
        char *read_error;               /* why its state could not be read (recorded as failed) */

        uint64_t action_id;
        OciInstanceAction action;
        char *token;
        uint64_t accepted_at;           /* realtime µs the action was confirmed, 0 = not yet */
        uint64_t waiting_since;         /* realtime µs: deadline base */
        bool left_running;              /* resets: seen away from RUNNING since accepted */
        unsigned conflicts;
        OciCall *call;
        uint64_t *call_ud;              /* the call's userdata: a cancelled call never frees it */
        sd_event_source *retry;
        bool acted, failed;
} Item;

struct OccurrenceRun {
        OccurrenceRun *next;            /* registry of live runs (db answers find theirs) */
        uint64_t serial;
        sd_event *event;
        Db *db;
        OciClient *oci;
        Schedule *schedule;
        OccurrenceRow occurrence;       /* id, schedule_id, scheduled_at; actions moved into items */
        char *closed_by;
        OccurrenceRunParams params;
        occurrence_progress_handler_t progress;
        occurrence_observed_handler_t observed;
        occurrence_done_handler_t done;
        void *userdata;

        Item *items;
        size_t n_items;
        size_t n_groups, group;         /* group in progress (0-based) */
        size_t *group_ends;
        size_t confirming;              /* confirmation calls in flight */
        size_t sending;                 /* InstanceActions (and their db writes) in flight */
        size_t polling;                 /* poll calls in flight */
        struct PollCall *polls;         /* those of them that are OCI calls: cancelled when freed */
        sd_event_source *poll_timer;
        usec_t poll_interval;
        bool finishing;
        OccurrenceState final_state;
        char *final_reason;
};

static OccurrenceRun *runs;
static uint64_t run_serial;

static OccurrenceRun *run_by_serial(uint64_t serial) {
        for (OccurrenceRun *r = runs; r; r = r->next)
                if (r->serial == serial)
                        return r;
        return NULL;
}

static uint64_t realtime(void) {
        return now(CLOCK_REALTIME);
}

/* ---- journal ---------------------------------------------------------------------------------- */

/* An occurrence's events carry its journal fields: journalctl STOPSTART_OCCURRENCE=12 for one
 * firing, STOPSTART_SCHEDULE=NAME for all of a schedule's, and on the lines about one instance
 * STOPSTART_INSTANCE=OCID, so that instance's journal shows what the schedules did to it too. */
typedef struct OccurrenceLogFields {
        char occurrence[48], schedule[96], instance[320];
        const char *list[4];
} OccurrenceLogFields;

static const char * const *occurrence_log_fields(const OccurrenceRun *run, const Item *it, OccurrenceLogFields *f) {
        size_t n = 0;

        snprintf(f->occurrence, sizeof f->occurrence, "STOPSTART_OCCURRENCE=%" PRIu64, run->occurrence.id);
        f->list[n++] = f->occurrence;
        snprintf(f->schedule, sizeof f->schedule, "STOPSTART_SCHEDULE=%s", run->schedule->name);
        f->list[n++] = f->schedule;
        if (it) {
                snprintf(f->instance, sizeof f->instance, "STOPSTART_INSTANCE=%s", it->id);
                f->list[n++] = f->instance;
        }
        f->list[n] = NULL;
        return f->list;
}

/* A line about one instance of the run (it) or about the run (it = NULL). */
#define log_item(level, run, it, ...)                                                                   \
        do {                                                                                            \
                OccurrenceLogFields _f_;                                                                \
                log_fields((level), occurrence_log_fields((run), (it), &_f_), __VA_ARGS__);             \
        } while (0)
#define log_run(level, run, ...) log_item((level), (run), NULL, __VA_ARGS__)

static void item_done_fields(Item *i) {
        if (i->call) {
                oci_call_cancel(i->call);
                free(i->call_ud);
        }
        i->call = NULL;
        i->call_ud = NULL;
        i->retry = sd_event_source_disable_unref(i->retry);
        free(i->id);
        free(i->region);
        free(i->compartment_id);
        free(i->token);
        free(i->read_error);
}

static void polls_cancel(OccurrenceRun *run);

OccurrenceRun *occurrence_run_free(OccurrenceRun *run) {
        if (!run)
                return NULL;
        for (OccurrenceRun **p = &runs; *p; p = &(*p)->next)
                if (*p == run) {
                        *p = run->next;
                        break;
                }
        for (size_t i = 0; i < run->n_items; i++)
                item_done_fields(&run->items[i]);
        polls_cancel(run);
        free(run->items);
        free(run->group_ends);
        sd_event_source_disable_unref(run->poll_timer);
        schedule_free(run->schedule);
        occurrence_row_done(&run->occurrence);
        free(run->closed_by);
        free(run->final_reason);
        sd_event_unref(run->event);
        return mfree(run);
}

uint64_t occurrence_run_id(const OccurrenceRun *run) {
        return run->occurrence.id;
}

void occurrence_run_get_progress(const OccurrenceRun *run, OccurrenceProgress *ret) {
        OccurrenceProgress p = { .total = run->n_items, .group = run->group + 1, .n_groups = run->n_groups };

        for (size_t i = 0; i < run->n_items; i++) {
                const Item *it = &run->items[i];
                if (it->step != ITEM_DONE)
                        continue;
                p.finished++;
                if (it->failed)
                        p.failed++;
                else if (it->acted)
                        p.acted++;
                else
                        p.skipped++;
        }
        *ret = p;
}

static void report_progress(OccurrenceRun *run) {
        OccurrenceProgress p;

        if (!run->progress)
                return;
        occurrence_run_get_progress(run, &p);
        run->progress(run, &p, run->userdata);
}

/* ---- database answers ------------------------------------------------------------------------ *
 *
 * Every write is idempotent: when its answer is lost with the connection it is sent again. The
 * answer finds its run through the registry, so a run freed meanwhile is left alone. */

typedef enum DbOp {
        OP_MARK_SENT,
        OP_CONFIRMED,
        OP_REACHED,
        OP_FAILED,
        OP_SKIPPED,
        OP_INSERT_FALLBACK,
} DbOp;

typedef struct DbCall {
        uint64_t serial;
        size_t item;
        DbOp op;
        unsigned attempts;
        char *text;                     /* reason or error */
} DbCall;

static void run_step(OccurrenceRun *run);
static void run_finish(OccurrenceRun *run, OccurrenceState state, const char *reason);
static void item_send(OccurrenceRun *run, Item *it);
static int db_call_submit(OccurrenceRun *run, DbCall *c);

static void item_finish(OccurrenceRun *run, Item *it, bool acted, bool failed) {
        if (it->step == ITEM_DONE)
                return;
        it->step = ITEM_DONE;
        it->acted = acted;
        it->failed = failed;
        report_progress(run);
}

static void on_db_actions(int error, ActionRow *rows, size_t n, const char *message, void *userdata) {
        DbCall *c = userdata;
        OccurrenceRun *run = run_by_serial(c->serial);
        Item *it = run && c->item < run->n_items ? &run->items[c->item] : NULL;

        if (error == -ECONNRESET && run && ++c->attempts < 20) {
                /* Outcome unknown: the statement is idempotent, ask again. */
                action_rows_free(rows, n);
                if (db_call_submit(run, c) >= 0)
                        return;
        }
        if (!it) {
                action_rows_free(rows, n);
                free(c->text);
                free(c);
                return;
        }

        switch (c->op) {
        case OP_MARK_SENT:
                run->sending--;
                if (error == -EBUSY) {
                        /* Confirmed meanwhile (resumed twice?): only the waiting is left. */
                        it->step = ITEM_WAIT;
                        it->waiting_since = realtime();
                } else if (error < 0) {
                        log_item(LOG_WARNING, run, it, "Occurrence %" PRIu64 ": cannot record the action on %s: %s",
                                 run->occurrence.id, it->id, message ?: strerror(-error));
                        item_finish(run, it, false, true);
                } else {
                        it->step = ITEM_SENDING;
                        item_send(run, it);
                        break;
                }
                run_step(run);
                break;

        case OP_INSERT_FALLBACK:
                if (error < 0 || n != 1) {
                        log_item(LOG_WARNING, run, it,
                                 "Occurrence %" PRIu64 ": cannot record the fallback action on %s: %s",
                                 run->occurrence.id, it->id, message ?: strerror(error < 0 ? -error : EBADMSG));
                        item_finish(run, it, true, true);
                } else {
                        it->action_id = rows[0].id;
                        it->action = rows[0].action;
                        free(it->token);
                        it->token = TAKE_PTR(rows[0].retry_token);
                        it->accepted_at = 0;
                        it->step = rows[0].state == ACTION_CONFIRMED ? ITEM_WAIT : ITEM_SEND;
                        if (rows[0].state == ACTION_CONFIRMED)
                                it->accepted_at = rows[0].confirmed_at ?: realtime();
                }
                run_step(run);
                break;

        default:
                /* Outcome writes: memory already moved on; a failure is only logged. */
                if (error < 0)
                        log_item(LOG_WARNING, run, it, "Occurrence %" PRIu64 ": cannot record the outcome on %s: %s",
                                 run->occurrence.id, it->id, message ?: strerror(-error));
                break;
        }
        action_rows_free(rows, n);
        free(c->text);
        free(c);
}

static int db_call_submit(OccurrenceRun *run, DbCall *c) {
        Item *it = &run->items[c->item];

        switch (c->op) {
        case OP_MARK_SENT:
                return action_store_mark_sent(run->db, it->action_id, on_db_actions, c);
        case OP_CONFIRMED:
                return action_store_finish(run->db, it->action_id, ACTION_CONFIRMED, NULL, NULL, NULL, on_db_actions, c);
        case OP_REACHED:
                return action_store_reached(run->db, it->action_id, on_db_actions, c);
        case OP_FAILED:
                return action_store_finish(run->db, it->action_id, ACTION_FAILED, NULL, c->text, NULL, on_db_actions, c);
        case OP_SKIPPED:
                return action_store_finish(run->db, it->action_id, ACTION_SKIPPED, c->text, NULL, NULL, on_db_actions, c);
        case OP_INSERT_FALLBACK: {
                ActionRow row = { .instance_id = it->id, .action = it->action, .retry_token = it->token,
                                  .state = ACTION_PENDING, .reason = c->text };
                return action_store_insert(run->db, run->occurrence.id, &row, 1, on_db_actions, c);
        }
        }
        return -EINVAL;
}

static int db_call(OccurrenceRun *run, Item *it, DbOp op, const char *text) {
        DbCall *c = new0(DbCall, 1);
        int r;

        if (!c)
                return -ENOMEM;
        *c = (DbCall) { .serial = run->serial, .item = (size_t) (it - run->items), .op = op };
        if (text && !(c->text = strdup(text))) {
                free(c);
                return -ENOMEM;
        }
        r = db_call_submit(run, c);
        if (r < 0) {
                free(c->text);
                free(c);
        }
        return r;
}

static void item_fail(OccurrenceRun *run, Item *it, const char *fmt, ...) _printf_(3, 4);
static void item_fail(OccurrenceRun *run, Item *it, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        log_item(LOG_WARNING, run, it, "Occurrence %" PRIu64 ": %s: %s", run->occurrence.id, it->id, strna(msg));
        if (it->action_id > 0)
                (void) db_call(run, it, OP_FAILED, msg ?: "out of memory");
        item_finish(run, it, it->acted, true);
}

/* ---- states ----------------------------------------------------------------------------------- */

static OciInstanceState target_state(const OccurrenceRun *run) {
        return schedule_action_target_state(run->schedule->action);
}

static bool is_reset(OciInstanceAction a) {
        return a == OCI_ACTION_RESET || a == OCI_ACTION_SOFTRESET;
}

/* The state an action can be sent from. */
static OciInstanceState action_precondition(OciInstanceAction a) {
        return a == OCI_ACTION_START ? OCI_INSTANCE_STOPPED : OCI_INSTANCE_RUNNING;
}

static void item_observe(OccurrenceRun *run, Item *it, OciInstanceState st) {
        bool changed = st != it->state;

        it->state = st;
        it->found = true;
        if (st != OCI_INSTANCE_RUNNING)
                it->left_running = true;
        if (changed && st >= 0 && run->observed)
                run->observed(run, it->id, st, run->userdata);
}

/* A waiting item after a fresh observation: reached, fallen back, failed, or still waiting. */
static void item_check_wait(OccurrenceRun *run, Item *it) {
        OciInstanceState target = target_state(run);
        uint64_t t = realtime();
        OciInstanceAction fb;

        if (it->state == OCI_INSTANCE_TERMINATING || it->state == OCI_INSTANCE_TERMINATED) {
                item_fail(run, it, "the instance is %s", oci_instance_state_to_string(it->state));
                return;
        }
        if (it->state == target && (!is_reset(it->action) || it->left_running)) {
                (void) db_call(run, it, OP_REACHED, NULL);
                item_finish(run, it, true, false);
                return;
        }
        fb = schedule_action_fallback(it->action);
        if (fb >= 0 && it->accepted_at > 0 && t >= it->accepted_at + it->candidate.soft_stop_timeout) {
                char span[TIMESPAN_MAX];
                _cleanup_free_ char *reason = strprintf("%s did not finish within soft_stop_timeout (%s)",
                                                        oci_instance_action_to_string(it->action),
                                                        format_timespan(span, sizeof span,
                                                                        it->candidate.soft_stop_timeout));
                _cleanup_free_ char *token = NULL;

                log_item(LOG_INFO, run, it, "Occurrence %" PRIu64 ": %s: %s; sending %s.", run->occurrence.id, it->id,
                         strna(reason), oci_instance_action_to_string(fb));
                if (occurrence_retry_token(run->occurrence.id, it->id, fb, &token) < 0) {
                        item_fail(run, it, "out of memory");
                        return;
                }
                it->action = fb;
                free(it->token);
                it->token = TAKE_PTR(token);
                it->step = ITEM_SENDING;   /* until the row is there */
                it->left_running = false;
                it->conflicts = 0;
                if (db_call(run, it, OP_INSERT_FALLBACK, reason) < 0)
                        item_fail(run, it, "cannot record the fallback action");
                return;
        }
        if (t >= it->waiting_since + run->params.wait_timeout) {
                char span[TIMESPAN_MAX];
                item_fail(run, it, "did not reach %s within %s (last seen %s)", oci_instance_state_to_string(target),
                          format_timespan(span, sizeof span, run->params.wait_timeout),
                          strna(oci_instance_state_to_string(it->state)));
        }
}

/* ---- sending ---------------------------------------------------------------------------------- */

static int on_conflict_retry(sd_event_source *s, uint64_t usec, void *userdata);

static void on_recheck(OciClient *c, OciInstance *instance, const char *etag, const OciError *error, void *userdata);

static void on_action_sent(OciClient *c, OciInstance *instance, const char *etag, const OciError *error,
                           void *userdata) {
        OccurrenceRun *run = run_by_serial(((uint64_t *) userdata)[0]);
        size_t idx = ((uint64_t *) userdata)[1];
        Item *it;

        free(userdata);
        if (!run || idx >= run->n_items) {
                oci_instance_free(instance);
                return;
        }
        it = &run->items[idx];
        it->call = NULL;
        it->call_ud = NULL;
        run->sending--;

        if (error && error->kind == OCI_ERROR_CONFLICT && error->http_status == 409 &&
            streq_ptr(error->code, "IncorrectState")) {
                /* Not in the state the action needs (and not ours: a replayed token answers 200).
                 * Read it again: already there means skipped, else back off and retry. */
                uint64_t *ud = new(uint64_t, 2);
                int r;
                if (!ud) {
                        item_fail(run, it, "out of memory");
                        run_step(run);
                        return;
                }
                ud[0] = run->serial;
                ud[1] = idx;
                it->conflicts++;
                run->sending++;
                r = oci_get_instance(run->oci, it->region, it->id, on_recheck, ud, &it->call);
                if (r >= 0)
                        it->call_ud = ud;
                if (r < 0) {
                        free(ud);
                        run->sending--;
                        item_fail(run, it, "GetInstance: %s", strerror(-r));
                }
                run_step(run);
                return;
        }
        if (error) {
                _cleanup_free_ char *s = oci_error_to_string(error);
                item_fail(run, it, "%s", strna(s));
                oci_instance_free(instance);
                run_step(run);
                return;
        }

        it->acted = true;
        it->accepted_at = realtime();
        it->waiting_since = it->accepted_at;
        it->left_running = false;
        (void) db_call(run, it, OP_CONFIRMED, NULL);
        if (instance)
                item_observe(run, it, instance->lifecycle_state);
        oci_instance_free(instance);
        it->step = ITEM_WAIT;
        run_step(run);
}

static void on_recheck(OciClient *c, OciInstance *instance, const char *etag, const OciError *error, void *userdata) {
        OccurrenceRun *run = run_by_serial(((uint64_t *) userdata)[0]);
        size_t idx = ((uint64_t *) userdata)[1];
        OciInstanceState target;
        Item *it;

        free(userdata);
        if (!run || idx >= run->n_items) {
                oci_instance_free(instance);
                return;
        }
        it = &run->items[idx];
        it->call = NULL;
        it->call_ud = NULL;
        run->sending--;
        target = target_state(run);

        if (error) {
                _cleanup_free_ char *s = oci_error_to_string(error);
                item_fail(run, it, "%s", strna(s));
        } else {
                item_observe(run, it, instance->lifecycle_state);
                if (!is_reset(it->action) && (it->state == target ||
                    (target == OCI_INSTANCE_STOPPED && it->state == OCI_INSTANCE_STOPPING) ||
                    (target == OCI_INSTANCE_RUNNING && it->state == OCI_INSTANCE_STARTING))) {
                        _cleanup_free_ char *why = strprintf("already %s",
                                                             oci_instance_state_to_string(it->state));
                        (void) db_call(run, it, OP_SKIPPED, why);
                        item_finish(run, it, false, false);
                } else if (it->state == OCI_INSTANCE_TERMINATED || it->state == OCI_INSTANCE_TERMINATING) {
                        item_fail(run, it, "the instance is %s", oci_instance_state_to_string(it->state));
                } else if (it->conflicts > run->params.max_conflicts) {
                        item_fail(run, it, "%s: HTTP 409 IncorrectState %u times (instance %s)",
                                  oci_instance_action_to_string(it->action), it->conflicts,
                                  strna(oci_instance_state_to_string(it->state)));
                } else {
                        /* Between states: wait a little, then send again (same row, same token). */
                        it->step = ITEM_SENDING;
                        run->sending++;
                        if (sd_event_add_time_relative(run->event, &it->retry, CLOCK_MONOTONIC,
                                                       run->params.conflict_delay * it->conflicts, 0,
                                                       on_conflict_retry, it) < 0) {
                                run->sending--;
                                item_fail(run, it, "cannot arm a timer");
                        }
                }
        }
        oci_instance_free(instance);
        run_step(run);
}

static int on_conflict_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Item *it = userdata;
        OccurrenceRun *run = NULL;

        for (OccurrenceRun *r = runs; r && !run; r = r->next)
                if (it >= r->items && it < r->items + r->n_items)
                        run = r;
        it->retry = sd_event_source_disable_unref(it->retry);
        if (!run)
                return 0;
        run->sending--;
        it->step = ITEM_SEND;
        run_step(run);
        return 0;
}

/* The row is marked sent: InstanceAction with its token. */
static void item_send(OccurrenceRun *run, Item *it) {
        uint64_t *ud = new(uint64_t, 2);
        int r;

        if (!ud) {
                item_fail(run, it, "out of memory");
                return;
        }
        ud[0] = run->serial;
        ud[1] = (uint64_t) (it - run->items);
        run->sending++;
        r = oci_instance_action(run->oci, it->region, it->id, it->action, it->token, NULL, on_action_sent, ud,
                                &it->call);
        if (r >= 0)
                it->call_ud = ud;
        if (r < 0) {
                free(ud);
                run->sending--;
                item_fail(run, it, "InstanceAction: %s", strerror(-r));
        }
}

static void item_start_send(OccurrenceRun *run, Item *it) {
        it->step = ITEM_SENDING;
        run->sending++;
        if (db_call(run, it, OP_MARK_SENT, NULL) < 0) {
                run->sending--;
                item_fail(run, it, "cannot record the action");
        }
}

/* ---- polling (bulk) --------------------------------------------------------------------------- */

typedef struct PollCall {
        uint64_t serial;
        size_t *items;                  /* the items this call answers for */
        size_t n;
        bool list;
        char *error;                    /* the read failed (a missing instance is not a failure) */
        OciCall *call;
        struct PollCall *prev, *next;   /* in run->polls while the call runs */
} PollCall;

static void poll_call_free(PollCall *p) {
        free(p->error);
        free(p->items);
        free(p);
}

static void poll_link(OccurrenceRun *run, PollCall *p) {
        p->prev = NULL;
        p->next = run->polls;
        if (run->polls)
                run->polls->prev = p;
        run->polls = p;
}

static void poll_unlink(OccurrenceRun *run, PollCall *p) {
        if (p->prev)
                p->prev->next = p->next;
        else if (run->polls == p)
                run->polls = p->next;
        if (p->next)
                p->next->prev = p->prev;
        p->prev = p->next = NULL;
        p->call = NULL;
}

/* A cancelled call never runs its handler: its PollCall is ours to free. */
static void polls_cancel(OccurrenceRun *run) {
        while (run->polls) {
                PollCall *p = run->polls;
                OciCall *call = p->call;

                poll_unlink(run, p);
                oci_call_cancel(call);
                poll_call_free(p);
        }
}

static void poll_apply(OccurrenceRun *run, PollCall *p, const char *id, OciInstanceState st) {
        for (size_t k = 0; k < p->n; k++) {
                Item *it = &run->items[p->items[k]];
                if (streq(it->id, id))
                        item_observe(run, it, st);
        }
}

static void poll_call_end(OccurrenceRun *run, PollCall *p) {
        run->polling--;
        for (size_t k = 0; k < p->n; k++) {
                Item *it = &run->items[p->items[k]];
                if (it->step == ITEM_CONFIRM) {
                        it->read_pending = false;
                        if (p->error && ++it->read_failures < 3)
                                it->read = false;       /* read again at the next step */
                        else if (p->error) {
                                free(it->read_error);
                                it->read_error = strdup(p->error);
                        }
                }
                else if (it->step == ITEM_WAIT)
                        item_check_wait(run, it);
                else if (it->step == ITEM_SETTLE && oci_instance_state_is_stable(it->state))
                        it->step = ITEM_CONFIRM;        /* decide again on the stable state (read) */
                else if (it->step == ITEM_SETTLE && realtime() >= it->waiting_since + run->params.wait_timeout)
                        item_fail(run, it, "stayed %s", strna(oci_instance_state_to_string(it->state)));
        }
}

static void on_poll_page(OciClient *c, OciInstance *items, size_t n, const char *next_page, const OciError *error,
                         void *userdata) {
        PollCall *p = userdata;
        OccurrenceRun *run = run_by_serial(p->serial);

        for (size_t i = 0; run && i < n; i++)
                poll_apply(run, p, items[i].id, items[i].lifecycle_state);
        oci_instances_free(items, n);
        if (next_page && !error)
                return;
        if (error)
                p->error = oci_error_to_string(error);
        if (run) {
                poll_unlink(run, p);
                if (error)
                        log_run(LOG_DEBUG, run, "Occurrence %" PRIu64 ": %s", run->occurrence.id, strna(p->error));
                poll_call_end(run, p);
                run_step(run);
        }
        poll_call_free(p);
}

static void on_poll_one(OciClient *c, OciInstance *instance, const char *etag, const OciError *error,
                        void *userdata) {
        PollCall *p = userdata;
        OccurrenceRun *run = run_by_serial(p->serial);

        if (run && instance)
                poll_apply(run, p, instance->id, instance->lifecycle_state);
        oci_instance_free(instance);
        if (error && error->kind != OCI_ERROR_NOT_FOUND)
                p->error = oci_error_to_string(error);
        if (run) {
                poll_unlink(run, p);
                poll_call_end(run, p);
                run_step(run);
        }
        poll_call_free(p);
}

/* Reads the states of the items for which want(item) holds: per (region, compartment) one
 * ListInstances when bulk_threshold or more of the occurrence's targets are there (however few of
 * them are wanted now: actions paced by the OCI client's rate end at different times, and the
 * stragglers would otherwise cost one GetInstance each), else GetInstance each. */
static void poll_items(OccurrenceRun *run, bool (*want)(const Item *it)) {
        _cleanup_free_ bool *taken = new0(bool, run->n_items);

        if (!taken)
                return;
        for (size_t i = 0; i < run->n_items; i++) {
                Item *it = &run->items[i];
                size_t m = 0, targets = 0;
                PollCall *p;
                int r;

                if (taken[i] || !want(it))
                        continue;
                for (size_t j = 0; j < run->n_items; j++)
                        if (streq(run->items[j].region, it->region) &&
                            streq(run->items[j].compartment_id, it->compartment_id))
                                targets++;
                p = new0(PollCall, 1);
                if (!p || !(p->items = new(size_t, run->n_items - i))) {
                        free(p);
                        return;
                }
                p->serial = run->serial;
                for (size_t j = i; j < run->n_items; j++)
                        if (!taken[j] && want(&run->items[j]) && streq(run->items[j].region, it->region) &&
                            streq(run->items[j].compartment_id, it->compartment_id)) {
                                taken[j] = true;
                                p->items[m++] = j;
                        }
                if (targets >= run->params.bulk_threshold) {
                        OciListInstancesParams lp = { .compartment_id = it->compartment_id, .limit = 1000,
                                                      .all_pages = true };
                        p->n = m;
                        p->list = true;
                        run->polling++;
                        r = oci_list_instances(run->oci, it->region, &lp, on_poll_page, p, &p->call);
                        if (r < 0) {
                                run->polling--;
                                poll_call_free(p);
                        } else
                                poll_link(run, p);
                        continue;
                }
                /* Few: one GetInstance each. */
                for (size_t k = 0; k < m; k++) {
                        PollCall *q = k == 0 ? p : new0(PollCall, 1);
                        Item *x = &run->items[p->items[k]];
                        if (!q || (k > 0 && !(q->items = new(size_t, 1)))) {
                                free(q);
                                continue;
                        }
                        if (k > 0) {
                                q->serial = run->serial;
                                q->items[0] = p->items[k];
                        }
                        q->n = 1;
                        run->polling++;
                        r = oci_get_instance(run->oci, x->region, x->id, on_poll_one, q, &q->call);
                        if (r < 0) {
                                run->polling--;
                                poll_call_free(q);
                        } else
                                poll_link(run, q);
                }
        }
}

static bool want_read(const Item *it) {
        return it->step == ITEM_CONFIRM && it->read_pending;
}

static bool want_wait(const Item *it) {
        return it->step == ITEM_WAIT || it->step == ITEM_SETTLE;
}

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        OccurrenceRun *run = userdata;

        run->poll_timer = sd_event_source_disable_unref(run->poll_timer);
        poll_items(run, want_wait);
        run->poll_interval = MIN(run->poll_interval * 2, run->params.poll_max);
        run_step(run);
        return 0;
}

/* ---- decisions -------------------------------------------------------------------------------- */

typedef struct InsertCall {
        uint64_t serial;
        size_t *items;
        size_t n;
} InsertCall;

static void on_rows_inserted(int error, ActionRow *rows, size_t n, const char *message, void *userdata) {
        InsertCall *c = userdata;
        OccurrenceRun *run = run_by_serial(c->serial);

        if (run) {
                run->confirming--;
                for (size_t k = 0; k < c->n; k++) {
                        Item *it = &run->items[c->items[k]];
                        ActionRow *row = NULL;

                        for (size_t j = 0; error >= 0 && j < n && !row; j++)
                                if (streq(rows[j].instance_id, it->id) && rows[j].action == it->action)
                                        row = &rows[j];
                        if (!row) {
                                item_fail(run, it, "cannot record the action: %s", message ?: strerror(-error));
                                continue;
                        }
                        /* As stored: a row that was there already (resumed) continues from its state. */
                        it->action_id = row->id;
                        free(it->token);
                        it->token = TAKE_PTR(row->retry_token);
                        switch (row->state) {
                        case ACTION_PENDING:
                        case ACTION_SENT:
                                it->step = ITEM_SEND;
                                break;
                        case ACTION_CONFIRMED:
                                it->acted = true;
                                it->accepted_at = row->confirmed_at ?: realtime();
                                it->waiting_since = realtime();
                                it->step = row->finished_at > 0 ? ITEM_DONE : ITEM_WAIT;
                                break;
                        case ACTION_FAILED:
                                item_finish(run, it, false, true);
                                break;
                        default:
                                item_finish(run, it, false, false);
                                break;
                        }
                }
                report_progress(run);
                run_step(run);
        }
        action_rows_free(rows, n);
        free(c->items);
        free(c);
}

/* Items with a fresh state: decide, then insert their rows (skipped and pending) in one go. */
static void decide_and_record(OccurrenceRun *run) {
        _cleanup_free_ ActionRow *rows = new0(ActionRow, run->n_items);
        _cleanup_strv_free_ char **reasons = NULL;
        InsertCall *c;
        size_t n = 0;
        int r;

        c = new0(InsertCall, 1);
        if (!rows || !c || !(c->items = new(size_t, run->n_items))) {
                free(c);
                return;
        }
        c->serial = run->serial;
        for (size_t i = 0; i < run->n_items; i++) {
                Item *it = &run->items[i];
                OciInstanceAction a = _OCI_ACTION_INVALID;
                SkipReason why;
                char *reason = NULL;

                if (it->step != ITEM_CONFIRM || !it->read || it->read_pending)
                        continue;
                if (it->read_error) {
                        why = _SKIP_REASON_INVALID;     /* recorded as failed */
                        reason = strprintf("cannot read the instance's state: %s", it->read_error);
                        a = schedule_action_first(run->schedule->action, it->candidate.stop_mode);
                } else if (!it->found) {
                        why = SKIP_UNAVAILABLE;
                        reason = strdup("not found in OCI (terminated or moved?)");
                        a = schedule_action_first(run->schedule->action, it->candidate.stop_mode);
                } else {
                        why = schedule_decide_instance(run->schedule, &it->candidate, it->state, run->closed_by, &a);
                        if (why != SKIP_NONE) {
                                reason = schedule_skip_reason_text(why, &it->candidate, it->state, run->closed_by);
                                a = schedule_action_first(run->schedule->action, it->candidate.stop_mode);
                        } else if (it->state != action_precondition(a)) {
                                /* Acting, but it is between states: settle first, decide again. */
                                it->step = ITEM_SETTLE;
                                it->waiting_since = realtime();
                                continue;
                        }
                }
                it->action = a;
                free(it->token);
                it->token = NULL;
                if (occurrence_retry_token(run->occurrence.id, it->id, a, &it->token) < 0 ||
                    (reason && strv_consume(&reasons, reason) < 0)) {
                        item_fail(run, it, "out of memory");
                        continue;
                }
                rows[n] = (ActionRow) { .instance_id = it->id, .action = a, .retry_token = it->token,
                                        .state = why == SKIP_NONE ? ACTION_PENDING :
                                                 why < 0 ? ACTION_FAILED : ACTION_SKIPPED,
                                        .reason = reason };
                it->step = ITEM_SENDING;        /* until the row is there */
                c->items[c->n++] = i;
                n++;
        }
        if (n == 0) {
                free(c->items);
                free(c);
                return;
        }
        run->confirming++;
        r = action_store_insert(run->db, run->occurrence.id, rows, n, on_rows_inserted, c);
        if (r < 0) {
                run->confirming--;
                for (size_t k = 0; k < c->n; k++)
                        item_fail(run, &run->items[c->items[k]], "cannot record the action: %s", strerror(-r));
                free(c->items);
                free(c);
        }
}

/* ---- the run ---------------------------------------------------------------------------------- */

static void on_state_recorded(int error, OccurrenceRow *rows, size_t n, const char *message, void *userdata) {
        uint64_t serial = *(uint64_t *) userdata;
        OccurrenceRun *run = run_by_serial(serial);

        free(userdata);
        occurrence_rows_free(rows, n);
        if (error == -ECONNRESET && run) {
                /* Lost: the update is idempotent, send it again. */
                run->finishing = false;
                run_finish(run, run->final_state, run->final_reason);
                return;
        }
        if (!run)
                return;
        if (error < 0)
                log_run(LOG_WARNING, run, "Occurrence %" PRIu64 ": cannot record its end: %s", run->occurrence.id,
                        message ?: strerror(-error));
        log_run(LOG_INFO, run, "Occurrence %" PRIu64 " of %s %s: %s.", run->occurrence.id, run->schedule->name,
                occurrence_state_to_string(run->final_state), strna(run->final_reason));
        if (run->done)
                run->done(run, run->final_state, run->final_reason, run->userdata);
}

static void run_finish(OccurrenceRun *run, OccurrenceState state, const char *reason) {
        uint64_t *ud;
        int r;

        if (run->finishing)
                return;
        run->finishing = true;
        run->final_state = state;
        if (reason != run->final_reason) {
                free(run->final_reason);
                run->final_reason = strdup(strempty(reason));
        }
        ud = new(uint64_t, 1);
        if (!ud)
                return;
        *ud = run->serial;
        r = occurrence_store_set_state(run->db, run->occurrence.id, state, reason, (int64_t) run->n_items,
                                       on_state_recorded, ud);
        if (r < 0)
                free(ud);
}

static void run_step(OccurrenceRun *run) {
        bool pending_confirm = false, group_open = false;
        size_t begin = 0, end = 0;

        if (run->finishing)
                return;

        /* Decisions first: read the states of undecided instances in bulk, then decide and insert
         * their rows in one statement. */
        for (size_t i = 0; i < run->n_items; i++) {
                Item *it = &run->items[i];
                if (it->step == ITEM_CONFIRM && !it->read) {
                        it->read = it->read_pending = true;
                        it->found = false;
                        pending_confirm = true;
                }
        }
        if (pending_confirm)
                poll_items(run, want_read);
        decide_and_record(run);
        if (run->confirming > 0)
                return;         /* rows being inserted: sending starts once they are there */

        /* The current priority group: send up to max_parallel, follow the accepted ones. */
        while (run->group < run->n_groups) {
                begin = run->group == 0 ? 0 : run->group_ends[run->group - 1];
                end = run->group_ends[run->group];
                group_open = false;
                for (size_t i = begin; i < end; i++) {
                        Item *it = &run->items[i];
                        if (it->step == ITEM_CONFIRM)
                                return;         /* its decision is being made */
                        if (it->step == ITEM_SEND && run->sending < run->params.max_parallel)
                                item_start_send(run, it);
                        if (it->step != ITEM_DONE)
                                group_open = true;
                }
                if (group_open)
                        break;
                run->group++;
                run->poll_interval = run->params.poll_initial;
                report_progress(run);
        }

        if (run->group >= run->n_groups) {
                OccurrenceProgress p;
                _cleanup_free_ char *reason = NULL;
                occurrence_run_get_progress(run, &p);
                reason = p.failed > 0 ? strprintf("%zu of %zu actions failed", p.failed, p.acted + p.failed)
                                      : strprintf("%zu acted on, %zu skipped", p.acted, p.skipped);
                run_finish(run, p.failed > 0 ? OCCURRENCE_FAILED : OCCURRENCE_DONE, reason);
                return;
        }

        /* Something to follow: arm the poll. */
        if (!run->poll_timer && run->polling == 0)
                for (size_t i = begin; i < end; i++)
                        if (want_wait(&run->items[i])) {
                                if (sd_event_add_time_relative(run->event, &run->poll_timer, CLOCK_MONOTONIC,
                                                               run->poll_interval, 0, on_poll_timer, run) < 0)
                                        item_fail(run, &run->items[i], "cannot arm a timer");
                                break;
                        }
}

static int item_init(Item *it, const ScheduleCandidate *c) {
        it->id = strdup(c->id);
        it->region = strdup(strempty(c->region));
        it->compartment_id = strdup(strempty(c->compartment_id));
        if (!it->id || !it->region || !it->compartment_id)
                return -ENOMEM;
        it->candidate = *c;
        it->candidate.id = it->id;
        it->candidate.region = it->region;
        it->candidate.compartment_id = it->compartment_id;
        it->candidate.display_name = NULL;
        it->candidate.lifecycle_state = NULL;
        it->candidate.freeform_tags = NULL;
        it->candidate.defined_tags = NULL;
        it->priority = c->priority;
        it->step = ITEM_CONFIRM;
        it->state = _OCI_INSTANCE_STATE_INVALID;
        return 0;
}

static int item_priority_cmp(const void *a, const void *b) {
        const Item *x = a, *y = b;
        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        return strcmp(x->id, y->id);
}

/* Resuming: instances that have rows continue from their latest one. */
static void item_resume(Item *it, const ActionRow *row) {
        it->action_id = row->id;
        it->action = row->action;
        free(it->token);
        it->token = strdup(row->retry_token);
        it->found = true;
        switch (row->state) {
        case ACTION_PENDING:
        case ACTION_SENT:
                it->step = ITEM_SEND;
                break;
        case ACTION_CONFIRMED:
                it->acted = true;
                it->accepted_at = row->confirmed_at;
                it->waiting_since = now(CLOCK_REALTIME);
                it->left_running = true;        /* unknown: do not wait for a dip we may have missed */
                it->step = row->finished_at > 0 ? ITEM_DONE : ITEM_WAIT;
                break;
        default:
                it->step = ITEM_DONE;
                it->failed = row->state == ACTION_FAILED;
                break;
        }
}

int occurrence_run_start(sd_event *event, Db *db, OciClient *oci, const Schedule *schedule,
                         const OccurrenceRow *occurrence, const ScheduleCandidate *targets, size_t n_targets,
                         const char *closed_by, const OccurrenceRunParams *params,
                         occurrence_progress_handler_t progress, occurrence_observed_handler_t observed,
                         occurrence_done_handler_t done, void *userdata, OccurrenceRun **ret) {
        _cleanup_(occurrence_run_freep) OccurrenceRun *run = NULL;
        size_t n = 0, cap;
        int r;

        if (!event || !db || !oci || !schedule || !occurrence || occurrence->id == 0)
                return -EINVAL;

        run = new0(OccurrenceRun, 1);
        if (!run)
                return -ENOMEM;
        run->event = sd_event_ref(event);
        run->db = db;
        run->oci = oci;
        run->progress = progress;
        run->observed = observed;
        run->done = done;
        run->userdata = userdata;
        run->params = params ? *params : (OccurrenceRunParams) {};
        if (run->params.max_parallel == 0)
                run->params.max_parallel = 16;
        if (run->params.wait_timeout == 0)
                run->params.wait_timeout = 20 * USEC_PER_MINUTE;
        if (run->params.poll_initial == 0)
                run->params.poll_initial = USEC_PER_SEC;
        if (run->params.poll_max == 0)
                run->params.poll_max = 10 * USEC_PER_SEC;
        if (run->params.bulk_threshold == 0)
                run->params.bulk_threshold = 3;
        if (run->params.max_conflicts == 0)
                run->params.max_conflicts = 3;
        if (run->params.conflict_delay == 0)
                run->params.conflict_delay = 2 * USEC_PER_SEC;
        run->poll_interval = run->params.poll_initial;
        r = schedule_copy(schedule, &run->schedule);
        if (r < 0)
                return r;
        run->occurrence = (OccurrenceRow) { .id = occurrence->id, .schedule_id = occurrence->schedule_id,
                                            .scheduled_at = occurrence->scheduled_at };
        if (closed_by && !(run->closed_by = strdup(closed_by)))
                return -ENOMEM;

        cap = n_targets + occurrence->n_actions;
        run->items = new0(Item, cap);
        if (!run->items)
                return -ENOMEM;

        /* Targets resolved now. */
        for (size_t i = 0; i < n_targets; i++) {
                bool dup = false;
                for (size_t k = 0; k < n && !dup; k++)
                        dup = streq(run->items[k].id, targets[i].id);
                if (dup)
                        continue;
                r = item_init(&run->items[n], &targets[i]);
                run->n_items = ++n;
                if (r < 0)
                        return r;
        }
        /* Rows already there (resuming): the latest per instance wins; instances no longer
         * targeted are still followed to the end. */
        for (size_t j = 0; j < occurrence->n_actions; j++) {
                const ActionRow *row = &occurrence->actions[j];
                Item *it = NULL;
                for (size_t k = 0; k < n && !it; k++)
                        if (streq(run->items[k].id, row->instance_id))
                                it = &run->items[k];
                if (!it) {
                        /* Not among the targets passed: its region is unknown, it cannot be
                         * followed (the caller passes every instance that has a row). */
                        ScheduleCandidate c = { .id = row->instance_id, .managed = true,
                                                .soft_stop_timeout = CONFIG_SOFT_STOP_TIMEOUT_DEFAULT };
                        r = item_init(&run->items[n], &c);
                        run->n_items = ++n;
                        if (r < 0)
                                return r;
                        it = &run->items[n - 1];
                }
                if (it->action_id == 0 || row->id > it->action_id)
                        item_resume(it, row);
        }

        for (size_t i = 0; i < n; i++)
                if (isempty(run->items[i].region) && run->items[i].step != ITEM_DONE) {
                        log_item(LOG_WARNING, run, &run->items[i],
                                 "Occurrence %" PRIu64 ": %s has an action row but is no longer known; "
                                 "it is not followed.", occurrence->id, run->items[i].id);
                        run->items[i].step = ITEM_DONE;
                        run->items[i].failed = true;
                }

        /* max_targets: fail loudly and act on nothing (only for a fresh occurrence). */
        if (occurrence->n_actions == 0 && schedule_too_many_targets(schedule, n)) {
                _cleanup_free_ char *reason = strprintf("%zu targets exceed max_targets %u: nothing was done", n,
                                                        schedule->max_targets);
                run->serial = ++run_serial;
                run->next = runs;
                runs = run;
                for (size_t i = 0; i < n; i++)
                        run->items[i].step = ITEM_DONE;
                run->n_groups = 0;
                log_run(LOG_WARNING, run, "Occurrence %" PRIu64 " of %s: %s.", occurrence->id, schedule->name,
                        strna(reason));
                run_finish(run, OCCURRENCE_FAILED, reason);
                *ret = TAKE_PTR(run);
                return 0;
        }

        qsort(run->items, n, sizeof *run->items, item_priority_cmp);
        for (size_t i = 0; i < n; i++) {
                /* The candidate's strings point into the item, which moved: re-point them. */
                Item *it = &run->items[i];
                it->candidate.id = it->id;
                it->candidate.region = it->region;
                it->candidate.compartment_id = it->compartment_id;
        }
        run->group_ends = new0(size_t, MAX(n, 1U));
        if (!run->group_ends)
                return -ENOMEM;
        for (size_t i = 1; i <= n; i++)
                if (i == n || run->items[i].priority != run->items[i - 1].priority)
                        run->group_ends[run->n_groups++] = i;

        run->serial = ++run_serial;
        run->next = runs;
        runs = run;
        log_run(LOG_INFO, run, "Occurrence %" PRIu64 " of %s: %zu instances in %zu priority groups%s.",
                occurrence->id, schedule->name, n, run->n_groups, occurrence->n_actions > 0 ? " (resumed)" : "");
        report_progress(run);
        run_step(run);
        *ret = TAKE_PTR(run);
        return 0;
}

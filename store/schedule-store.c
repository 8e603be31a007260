/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "json-util.h"
#include "pq-util.h"
#include "schedule-store.h"
#include "strv.h"

/* µs since the epoch <-> timestamptz, exactly (extract() is numeric since PostgreSQL 14). */
#define US(col) "coalesce((extract(epoch from " col ") * 1000000)::bigint, 0)"
#define TS(param) "('epoch'::timestamptz + nullif(" param ", 0) * interval '1 microsecond')"

/* ---- plumbing ---------------------------------------------------------------------------------- */

typedef enum CallKind {
        CALL_SCHEDULES,
        CALL_IDS,
        CALL_CALENDARS,
        CALL_OCCURRENCES,
        CALL_ACTIONS,
} CallKind;

typedef struct StoreCall {
        CallKind kind;
        void (*handler)(void);
        void *userdata;
        /* Errors of this call that mean "in use" rather than "unknown target" (calendar removal). */
        bool foreign_key_is_busy;
        bool no_rows_is_enoent;
        bool no_rows_is_ebusy;
} StoreCall;

static int error_from_sqlstate(const PGresult *r, const StoreCall *c) {
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

        if (!state)
                return -EIO;
        if (streq(state, "23505"))
                return -EEXIST;
        if (streq(state, "23503"))
                return c->foreign_key_is_busy ? -EBUSY : -ENXIO;
        if (streq(state, "23514") || streq(state, "23502") || startswith(state, "22"))
                return -EINVAL;
        if (streq(state, "P0002"))
                return -ENOENT;
        if (streq(state, "55000"))
                return -EBUSY;
        return -EIO;
}

static uint64_t get_u64(const PGresult *r, int row, int col) {
        return PQgetisnull(r, row, col) ? 0 : strtoull(PQgetvalue(r, row, col), NULL, 10);
}

static int dup_value(const PGresult *r, int row, int col, char **ret) {
        if (PQgetisnull(r, row, col)) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(PQgetvalue(r, row, col));
        return *ret ? 0 : -ENOMEM;
}

/* ---- rows -------------------------------------------------------------------------------------- */

void action_row_done(ActionRow *a) {
        if (!a)
                return;
        free(a->instance_id);
        free(a->retry_token);
        free(a->reason);
        free(a->error);
        free(a->opc_request_id);
        *a = (ActionRow) {};
}

void action_rows_free(ActionRow *a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                action_row_done(&a[i]);
        free(a);
}

void occurrence_row_done(OccurrenceRow *o) {
        if (!o)
                return;
        free(o->schedule_name);
        free(o->reason);
        free(o->fired_by);
        action_rows_free(o->actions, o->n_actions);
        *o = (OccurrenceRow) {};
}

void occurrence_rows_free(OccurrenceRow *o, size_t n) {
        for (size_t i = 0; o && i < n; i++)
                occurrence_row_done(&o[i]);
        free(o);
}

static uint64_t json_u64(json_object *o, const char *key) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        return (uint64_t) json_object_get_int64(v);
}

/* A JSON array (the text of a json_agg() column) as n rows of size bytes, each parsed by parse; an
 * extra zeroed row follows the last one (so a string list ends with NULL). On failure the rows
 * parsed so far are released with done. */
static int rows_from_json_text(const char *text, size_t size, int (*parse)(json_object *e, void *ret_row),
                               void (*done)(void *row), void **ret, size_t *ret_n) {
        _cleanup_json_ json_object *a = json_tokener_parse(text);
        uint8_t *rows;
        size_t n;
        int k;

        if (!json_object_is_type(a, json_type_array))
                return -EBADMSG;
        n = json_object_array_length(a);
        rows = calloc(n + 1, size);
        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                k = parse(json_object_array_get_idx(a, i), rows + i * size);
                if (k < 0) {
                        for (size_t j = 0; j < i; j++)
                                done(rows + j * size);
                        free(rows);
                        return k;
                }
        }
        *ret = rows;
        if (ret_n)
                *ret_n = n;
        return 0;
}

static int string_from_json(json_object *e, void *ret) {
        if (!json_object_is_type(e, json_type_string))
                return -EBADMSG;
        *(char **) ret = strdup(json_object_get_string(e));
        return *(char **) ret ? 0 : -ENOMEM;
}

static void string_done(void *p) {
        free(*(char **) p);
}

static int strv_from_json_text(const char *text, char ***ret) {
        return rows_from_json_text(text, sizeof(char *), string_from_json, string_done, (void **) ret, NULL);
}

/* A copy of o's string member key, NULL without one. */
static int strdup_member(json_object *o, const char *key, char **ret) {
        const char *v = json_member_string(o, key);

        *ret = v ? strdup(v) : NULL;
        return v && !*ret ? -ENOMEM : 0;
}

static int target_from_json(json_object *e, void *ret) {
        ScheduleTarget t = {};
        const char *id;
        int k = target_kind_from_string(json_member_string(e, "kind"));

        if (k < 0)
                return -EBADMSG;
        t.kind = k;
        id = json_member_string(e, k == TARGET_INSTANCE ? "instance_id" : "compartment_id");
        if ((id && !(t.id = strdup(id))) ||
            strdup_member(e, "tag_namespace", &t.tag_namespace) < 0 || strdup_member(e, "tag_key", &t.tag_key) < 0 ||
            strdup_member(e, "tag_value", &t.tag_value) < 0) {
                schedule_target_done(&t);
                return -ENOMEM;
        }
        *(ScheduleTarget *) ret = t;
        return 0;
}

static void target_done(void *t) {
        schedule_target_done(t);
}

static int targets_from_json_text(const char *text, ScheduleTarget **ret, size_t *ret_n) {
        return rows_from_json_text(text, sizeof(ScheduleTarget), target_from_json, target_done, (void **) ret, ret_n);
}

#define SCHEDULE_COLUMNS \
        "s.id, s.name, s.description, s.action, array_to_json(s.calendars)::text, s.time_zone, s.enabled, " \
        US("s.enabled_since") ", " US("s.valid_from") ", " US("s.valid_until") ", " \
        "(extract(epoch from s.misfire_grace) * 1000000)::bigint, s.enforce, coalesce(s.max_targets, 0), " \
        "s.window_name, " \
        "(SELECT coalesce(json_agg(json_build_object('kind', t.kind, 'instance_id', t.instance_id, " \
        "        'compartment_id', t.compartment_id, 'tag_namespace', t.tag_namespace, 'tag_key', t.tag_key, " \
        "        'tag_value', t.tag_value) ORDER BY t.id), '[]') " \
        " FROM stopstart.schedule_targets t WHERE t.schedule_id = s.id)::text, " \
        "(SELECT coalesce(json_agg(c.name ORDER BY c.name), '[]') FROM stopstart.schedule_exceptions e " \
        " JOIN stopstart.exception_calendars c ON c.id = e.calendar_id WHERE e.schedule_id = s.id)::text"
#define SCHEDULE_N_COLUMNS 16

static int schedule_from_row(const PGresult *r, int row, Schedule **ret) {
        _cleanup_(schedule_freep) Schedule *s = NULL;
        int k;

        if (schedule_new(&s) < 0)
                return -ENOMEM;
        s->id = get_u64(r, row, 0);
        free(s->description);
        s->description = NULL;
        if (dup_value(r, row, 1, &s->name) < 0 || dup_value(r, row, 2, &s->description) < 0 ||
            dup_value(r, row, 5, &s->time_zone) < 0 || dup_value(r, row, 13, &s->window_name) < 0)
                return -ENOMEM;
        k = schedule_action_from_string(PQgetvalue(r, row, 3));
        if (k < 0 || !s->name || !s->description || !s->time_zone)
                return -EBADMSG;
        s->action = k;
        k = strv_from_json_text(PQgetvalue(r, row, 4), &s->calendars);
        if (k < 0)
                return k;
        s->enabled = streq(PQgetvalue(r, row, 6), "t");
        s->enabled_since = get_u64(r, row, 7);
        s->valid_from = get_u64(r, row, 8);
        s->valid_until = get_u64(r, row, 9);
        s->misfire_grace = get_u64(r, row, 10);
        s->enforce = streq(PQgetvalue(r, row, 11), "t");
        s->max_targets = (uint32_t) get_u64(r, row, 12);
        k = targets_from_json_text(PQgetvalue(r, row, 14), &s->targets, &s->n_targets);
        if (k < 0)
                return k;
        k = strv_from_json_text(PQgetvalue(r, row, 15), &s->exception_calendars);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(s);
        return 0;
}

#define CALENDAR_COLUMNS \
        "c.id, c.name, c.description, " \
        "(SELECT coalesce(json_agg(json_build_array(d.first_day - date '1970-01-01', d.last_day - date '1970-01-01') " \
        "        ORDER BY d.first_day, d.last_day), '[]') " \
        " FROM stopstart.exception_dates d WHERE d.calendar_id = c.id)::text"

static int calendar_from_row(const PGresult *r, int row, ExceptionCalendar **ret) {
        _cleanup_(exception_calendar_freep) ExceptionCalendar *c = NULL;
        _cleanup_json_ json_object *a = NULL;
        int k;

        k = exception_calendar_new(PQgetvalue(r, row, 1), &c);
        if (k < 0)
                return k == -EINVAL ? -EBADMSG : k;
        c->id = get_u64(r, row, 0);
        free(c->description);
        if (dup_value(r, row, 2, &c->description) < 0)
                return -ENOMEM;
        a = json_tokener_parse(PQgetvalue(r, row, 3));
        if (!json_object_is_type(a, json_type_array))
                return -EBADMSG;
        c->n_ranges = json_object_array_length(a);
        c->ranges = new0(ExceptionRange, c->n_ranges);
        if (!c->ranges)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_ranges; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_array) || json_object_array_length(e) != 2)
                        return -EBADMSG;
                c->ranges[i].first_day = json_object_get_int(json_object_array_get_idx(e, 0));
                c->ranges[i].last_day = json_object_get_int(json_object_array_get_idx(e, 1));
        }
        *ret = TAKE_PTR(c);
        return 0;
}

#define ACTION_JSON(a) \
        "json_build_object('id', " a ".id, 'occurrence_id', " a ".occurrence_id, 'instance_id', " a ".instance_id, " \
        "'action', " a ".action, 'state', " a ".state, 'retry_token', " a ".retry_token, 'attempts', " a ".attempts, " \
        "'reason', " a ".reason, 'error', " a ".error, 'opc_request_id', " a ".opc_request_id, " \
        "'created_at', " US(a ".created_at") ", 'sent_at', " US(a ".sent_at") ", " \
        "'confirmed_at', " US(a ".confirmed_at") ", 'finished_at', " US(a ".finished_at") ")"

static int action_from_json(json_object *o, void *ret) {
        ActionRow a = {
                .id = json_u64(o, "id"), .occurrence_id = json_u64(o, "occurrence_id"),
                .attempts = (unsigned) json_u64(o, "attempts"), .created_at = json_u64(o, "created_at"),
                .sent_at = json_u64(o, "sent_at"), .confirmed_at = json_u64(o, "confirmed_at"),
                .finished_at = json_u64(o, "finished_at"),
        };
        int k;

        k = oci_instance_action_from_string(json_member_string(o, "action"));
        if (k < 0)
                return -EBADMSG;
        a.action = k;
        k = action_state_from_string(json_member_string(o, "state"));
        if (k < 0)
                return -EBADMSG;
        a.state = k;
        if (!json_member_string(o, "instance_id") || !json_member_string(o, "retry_token"))
                return -EBADMSG;
        a.instance_id = strdup(json_member_string(o, "instance_id"));
        a.retry_token = strdup(json_member_string(o, "retry_token"));
        a.reason = strdup(strempty(json_member_string(o, "reason")));
        a.error = strdup(strempty(json_member_string(o, "error")));
        if (json_member_string(o, "opc_request_id"))
                a.opc_request_id = strdup(json_member_string(o, "opc_request_id"));
        if (!a.instance_id || !a.retry_token || !a.reason || !a.error ||
            (json_member_string(o, "opc_request_id") && !a.opc_request_id)) {
                action_row_done(&a);
                return -ENOMEM;
        }
        *(ActionRow *) ret = a;
        return 0;
}

static void action_done(void *a) {
        action_row_done(a);
}

static int actions_from_json_text(const char *text, ActionRow **ret, size_t *ret_n) {
        return rows_from_json_text(text, sizeof(ActionRow), action_from_json, action_done, (void **) ret, ret_n);
}

/* Occurrence columns; the last one (actions) is '[]' when not asked for. */
#define OCCURRENCE_COLUMNS(o, actions) \
        o ".id, " o ".schedule_id, (SELECT name FROM stopstart.schedules WHERE id = " o ".schedule_id), " \
        US(o ".scheduled_at") ", " US(o ".delayed_until") ", " o ".state, " o ".reason, " o ".fired_by, " \
        "coalesce(" o ".target_count, -1), " US(o ".fired_at") ", " US(o ".finished_at") ", " actions

static int occurrence_from_row(const PGresult *r, int row, OccurrenceRow *ret) {
        OccurrenceRow o = {
                .id = get_u64(r, row, 0), .schedule_id = get_u64(r, row, 1), .scheduled_at = get_u64(r, row, 3),
                .delayed_until = get_u64(r, row, 4), .target_count = strtoll(PQgetvalue(r, row, 8), NULL, 10),
                .fired_at = get_u64(r, row, 9), .finished_at = get_u64(r, row, 10),
        };
        int k = occurrence_state_from_string(PQgetvalue(r, row, 5));

        if (k < 0)
                return -EBADMSG;
        o.state = k;
        if (dup_value(r, row, 2, &o.schedule_name) < 0 || dup_value(r, row, 6, &o.reason) < 0 ||
            dup_value(r, row, 7, &o.fired_by) < 0) {
                occurrence_row_done(&o);
                return -ENOMEM;
        }
        if (PQnfields(r) > 12)
                o.created = streq(PQgetvalue(r, row, 12), "t");
        k = actions_from_json_text(PQgetvalue(r, row, 11), &o.actions, &o.n_actions);
        if (k < 0) {
                occurrence_row_done(&o);
                return k;
        }
        *ret = o;
        return 0;
}

/* The n rows of r as an array of objects, each made by from_row; NULL and an error if one fails (the
 * ones made before it released with done). */
static int objects_from_rows(const PGresult *r, int n, int (*from_row)(const PGresult *r, int row, void **ret),
                             void (*done)(void *o), void ***ret) {
        void **l = new0(void *, n > 0 ? n : 1);
        int k;

        if (!l)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                k = from_row(r, i, &l[i]);
                if (k < 0) {
                        for (int j = 0; j < i; j++)
                                done(l[j]);
                        free(l);
                        return k;
                }
        }
        *ret = l;
        return 0;
}

static int schedule_row(const PGresult *r, int row, void **ret) {
        Schedule *s = NULL;
        int k = schedule_from_row(r, row, &s);
        *ret = s;
        return k;
}

static void schedule_done(void *s) {
        schedule_free(s);
}

static int calendar_row(const PGresult *r, int row, void **ret) {
        ExceptionCalendar *c = NULL;
        int k = calendar_from_row(r, row, &c);
        *ret = c;
        return k;
}

static void calendar_done(void *c) {
        exception_calendar_free(c);
}

static void on_result(Db *db, PGresult *r, int error, void *userdata) {
        _cleanup_free_ StoreCall *c = userdata;
        _cleanup_pqclear_ PGresult *res = r;
        _cleanup_free_ char *message = NULL;
        int n = 0, k = 0;

        if (error == -EIO) {
                message = strdup(db_last_error(db));
                error = error_from_sqlstate(r, c);
        } else if (error >= 0) {
                n = PQntuples(r);
                if (n == 0 && c->no_rows_is_enoent)
                        error = -ENOENT;
                else if (n == 0 && c->no_rows_is_ebusy)
                        error = -EBUSY;
        }

        if (!c->handler)
                return;         /* fire and forget (the result is freed here) */

        switch (c->kind) {
        case CALL_SCHEDULES: {
                schedule_store_list_handler_t h = (schedule_store_list_handler_t) c->handler;
                Schedule **l = NULL;
                if (error >= 0 && PQnfields(r) != SCHEDULE_N_COLUMNS)
                        error = -EBADMSG;
                if (error >= 0)
                        error = objects_from_rows(r, n, schedule_row, schedule_done, (void ***) &l);
                h(error, l, error < 0 ? 0 : (size_t) n, error < 0 ? message : NULL, c->userdata);
                break;
        }
        case CALL_IDS: {
                schedule_store_ids_handler_t h = (schedule_store_ids_handler_t) c->handler;
                _cleanup_free_ uint64_t *ids = NULL;
                if (error >= 0 && !(ids = new0(uint64_t, n)))
                        error = -ENOMEM;
                for (int i = 0; error >= 0 && i < n; i++)
                        ids[i] = get_u64(r, i, 0);
                h(error, error >= 0 ? ids : NULL, error >= 0 ? (size_t) n : 0, message, c->userdata);
                break;
        }
        case CALL_CALENDARS: {
                calendar_store_list_handler_t h = (calendar_store_list_handler_t) c->handler;
                ExceptionCalendar **l = NULL;
                /* Removal answers with one row of NULLs: nothing left to show. */
                if (error >= 0 && n == 1 && PQgetisnull(r, 0, 0))
                        n = 0;
                if (error >= 0)
                        error = objects_from_rows(r, n, calendar_row, calendar_done, (void ***) &l);
                h(error, l, error < 0 ? 0 : (size_t) n, error < 0 ? message : NULL, c->userdata);
                break;
        }
        case CALL_OCCURRENCES: {
                occurrence_store_handler_t h = (occurrence_store_handler_t) c->handler;
                OccurrenceRow *l = NULL;
                if (error >= 0 && !(l = new0(OccurrenceRow, n)))
                        error = -ENOMEM;
                for (int i = 0; error >= 0 && i < n; i++)
                        if ((k = occurrence_from_row(r, i, &l[i])) < 0) {
                                error = k;
                                occurrence_rows_free(l, (size_t) i);
                                l = NULL;
                        }
                if (error < 0)
                        h(error, NULL, 0, message, c->userdata);
                else
                        h(0, l, (size_t) n, NULL, c->userdata);
                break;
        }
        case CALL_ACTIONS: {
                action_store_handler_t h = (action_store_handler_t) c->handler;
                ActionRow *l = NULL;
                size_t m = 0;
                /* One row holding the JSON array of the actions. */
                if (error >= 0 && n != 1)
                        error = -EBADMSG;
                if (error >= 0)
                        error = actions_from_json_text(PQgetvalue(r, 0, 0), &l, &m);
                if (error >= 0 && m == 0 && (c->no_rows_is_enoent || c->no_rows_is_ebusy))
                        error = c->no_rows_is_enoent ? -ENOENT : -EBUSY;
                if (error < 0) {
                        action_rows_free(l, m);
                        h(error, NULL, 0, message, c->userdata);
                } else
                        h(0, l, m, NULL, c->userdata);
                break;
        }
        }
}

static int submit(Db *db, const char *sql, int n, const char * const *params, DbQueryFlags flags, StoreCall tmpl) {
        return db_query_call(db, sql, n, params, flags, on_result, &tmpl, sizeof tmpl);
}

#define CALL(k, h, u, ...) ((StoreCall) { .kind = (k), .handler = (void (*)(void)) (h), .userdata = (u), __VA_ARGS__ })

static void fmt_u64(char buf[static 24], uint64_t v) {
        snprintf(buf, 24, "%" PRIu64, v);
}

static char *fmt_uid(const StoreActor *a, char buf[static 24]) {
        if (!a || a->uid == (uid_t) -1)
                return NULL;
        snprintf(buf, 24, "%u", (unsigned) a->uid);
        return buf;
}

static const char *actor_name(const StoreActor *a) {
        return a && a->name ? a->name : "stopstartd";
}

/* "{1,2,3}" */
static char *ids_array(const uint64_t *ids, size_t n) {
        char *s = NULL;
        size_t l = 0;
        FILE *f = open_memstream(&s, &l);

        if (!f)
                return NULL;
        fputc('{', f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%" PRIu64, i > 0 ? "," : "", ids[i]);
        fputc('}', f);
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

/* A change to the schedules ids, audited: $1 is the ids ("{1,2}"), $2 the actor's uid, $3 its name,
 * $4 (when the statement has it) extra. */
static int submit_for_ids(Db *db, const uint64_t *ids, size_t n, const StoreActor *actor, const char *sql,
                          const char *extra, StoreCall tmpl) {
        _cleanup_free_ char *a = NULL;
        char uid[24];

        if (n == 0)
                return -EINVAL;
        a = ids_array(ids, n);
        if (!a)
                return -ENOMEM;
        return submit(db, sql, extra ? 4 : 3, (const char *[]) { a, fmt_uid(actor, uid), actor_name(actor), extra },
                      DB_QUERY_FAIL_FAST, tmpl);
}

/* ---- schedules --------------------------------------------------------------------------------- */

int schedule_store_load(Db *db, schedule_store_list_handler_t handler, void *userdata) {
        return submit(db, "SELECT " SCHEDULE_COLUMNS " FROM stopstart.schedules s WHERE s.deleted_at IS NULL ORDER BY s.name",
                      0, NULL, 0, CALL(CALL_SCHEDULES, handler, userdata));
}

static json_object *schedule_to_store_json(const Schedule *s) {
        json_object *o = json_object_new_object(), *cal = json_object_new_array(), *exc = json_object_new_array(),
                    *tg = json_object_new_array();

        if (!o || !cal || !exc || !tg) {
                json_object_put(o);
                json_object_put(cal);
                json_object_put(exc);
                json_object_put(tg);
                return NULL;
        }
        STRV_FOREACH(c, s->calendars)
                json_object_array_add(cal, json_object_new_string(*c));
        STRV_FOREACH(c, s->exception_calendars)
                json_object_array_add(exc, json_object_new_string(*c));
        for (size_t i = 0; i < s->n_targets; i++) {
                const ScheduleTarget *t = &s->targets[i];
                json_object *e = json_object_new_object();
                json_object_object_add(e, "kind", json_object_new_string(target_kind_to_string(t->kind)));
                if (t->kind == TARGET_INSTANCE)
                        json_object_object_add(e, "instance_id", json_object_new_string(t->id));
                else if (t->id)
                        json_object_object_add(e, "compartment_id", json_object_new_string(t->id));
                if (t->tag_namespace)
                        json_object_object_add(e, "tag_namespace", json_object_new_string(t->tag_namespace));
                if (t->tag_key)
                        json_object_object_add(e, "tag_key", json_object_new_string(t->tag_key));
                if (t->tag_value)
                        json_object_object_add(e, "tag_value", json_object_new_string(t->tag_value));
                json_object_array_add(tg, e);
        }
        json_object_object_add(o, "id", json_object_new_int64((int64_t) s->id));
        json_object_object_add(o, "name", json_object_new_string(strempty(s->name)));
        json_object_object_add(o, "description", json_object_new_string(strempty(s->description)));
        json_object_object_add(o, "action", json_object_new_string(strempty(schedule_action_to_string(s->action))));
        json_object_object_add(o, "calendars", cal);
        json_object_object_add(o, "time_zone", json_object_new_string(strempty(s->time_zone)));
        json_object_object_add(o, "enabled", json_object_new_boolean(s->enabled));
        json_object_object_add(o, "enforce", json_object_new_boolean(s->enforce));
        json_object_object_add(o, "valid_from", json_object_new_int64((int64_t) s->valid_from));
        json_object_object_add(o, "valid_until", json_object_new_int64((int64_t) s->valid_until));
        json_object_object_add(o, "misfire_grace", json_object_new_int64((int64_t) s->misfire_grace));
        json_object_object_add(o, "max_targets", json_object_new_int64(s->max_targets));
        json_object_object_add(o, "window_name", s->window_name ? json_object_new_string(s->window_name) : NULL);
        json_object_object_add(o, "targets", tg);
        json_object_object_add(o, "exception_calendars", exc);
        return o;
}

static char *schedules_to_store_json(Schedule * const *l, size_t n) {
        _cleanup_json_ json_object *a = json_object_new_array();
        const char *text;

        if (!a)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                json_object *o = schedule_to_store_json(l[i]);
                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return NULL;
                }
        }
        text = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
        return text ? strdup(text) : NULL;
}

/* The input rows of a schedules JSON array, with their position. */
#define SCHEDULE_INPUT \
        "input AS (\n" \
        "    SELECT e.n, e.j, x.* FROM json_array_elements($1::json) WITH ORDINALITY AS e(j, n),\n" \
        "    json_to_record(e.j) AS x(id bigint, name text, description text, action text, calendars text[],\n" \
        "        time_zone text, enabled boolean, enforce boolean, valid_from bigint, valid_until bigint,\n" \
        "        misfire_grace bigint, max_targets integer, window_name text, targets json,\n" \
        "        exception_calendars text[])\n" \
        ")"

/* Targets and exception links of the schedules in "saved" (id, n), from input. */
#define SCHEDULE_CHILDREN \
        "tgt AS (\n" \
        "    INSERT INTO stopstart.schedule_targets (schedule_id, kind, instance_id, compartment_id, tag_namespace,\n" \
        "                                            tag_key, tag_value)\n" \
        "    SELECT s.id, t.j->>'kind', t.j->>'instance_id', t.j->>'compartment_id', t.j->>'tag_namespace',\n" \
        "           t.j->>'tag_key', t.j->>'tag_value'\n" \
        "    FROM saved s JOIN input i USING (n), json_array_elements(i.targets) WITH ORDINALITY AS t(j, k)\n" \
        "    ORDER BY s.n, t.k\n" \
        "), exc AS (\n" \
        "    INSERT INTO stopstart.schedule_exceptions (schedule_id, calendar_id)\n" \
        "    SELECT s.id, c.id FROM saved s JOIN input i USING (n)\n" \
        "    JOIN stopstart.exception_calendars c ON c.name = ANY (i.exception_calendars)\n" \
        "    ON CONFLICT DO NOTHING\n" \
        ")"

static const char schedule_insert_sql[] =
        "WITH " SCHEDULE_INPUT ", ins AS (\n"
        "    INSERT INTO stopstart.schedules AS s (name, description, action, calendars, time_zone, enabled,\n"
        "        enabled_since, enforce, valid_from, valid_until, misfire_grace, max_targets, window_name,\n"
        "        created_by, updated_by)\n"
        "    SELECT name, coalesce(description, ''), action, calendars, time_zone, enabled,\n"
        "           CASE WHEN enabled THEN now() END, enforce, " TS("valid_from") ", " TS("valid_until") ",\n"
        "           misfire_grace * interval '1 microsecond', nullif(max_targets, 0), window_name, $3, $3\n"
        "    FROM input ORDER BY n\n"
        "    RETURNING s.id, s.name\n"
        "), saved AS (SELECT ins.id, i.n FROM ins JOIN input i USING (name))\n"
        ", " SCHEDULE_CHILDREN ", audit AS (\n"
        "    INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, new_value)\n"
        "    SELECT $2::bigint, $3, 'create', 'schedule', s.id::text, i.j::jsonb - 'id'\n"
        "    FROM saved s JOIN input i USING (n)\n"
        ")\n"
        "SELECT id FROM saved ORDER BY n";

int schedule_store_insert(Db *db, Schedule * const *schedules, size_t n, const StoreActor *actor,
                          schedule_store_ids_handler_t handler, void *userdata) {
        _cleanup_free_ char *json = NULL;
        char uid[24];

        if (n == 0)
                return -EINVAL;
        json = schedules_to_store_json(schedules, n);
        if (!json)
                return -ENOMEM;
        return submit(db, schedule_insert_sql, 3, (const char *[]) { json, fmt_uid(actor, uid), actor_name(actor) },
                      DB_QUERY_FAIL_FAST, CALL(CALL_IDS, handler, userdata));
}

/* A stored schedule in the shape of the input's objects (schedule_to_store_json() without the id),
 * so that an update's audit entry compares like with like. */
#define SCHEDULE_AUDIT_JSON(s) \
        "jsonb_build_object('name', " s ".name, 'description', " s ".description, 'action', " s ".action, " \
        "'calendars', to_jsonb(" s ".calendars), 'time_zone', " s ".time_zone, 'enabled', " s ".enabled, " \
        "'enforce', " s ".enforce, 'valid_from', " US(s ".valid_from") ", 'valid_until', " US(s ".valid_until") ", " \
        "'misfire_grace', (extract(epoch from " s ".misfire_grace) * 1000000)::bigint, " \
        "'max_targets', coalesce(" s ".max_targets, 0), 'window_name', " s ".window_name, " \
        "'targets', (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('kind', t.kind, " \
        "    'instance_id', t.instance_id, 'compartment_id', t.compartment_id, 'tag_namespace', t.tag_namespace, " \
        "    'tag_key', t.tag_key, 'tag_value', t.tag_value)) ORDER BY t.id), '[]') " \
        "    FROM stopstart.schedule_targets t WHERE t.schedule_id = " s ".id), " \
        "'exception_calendars', (SELECT coalesce(jsonb_agg(c.name ORDER BY c.name), '[]') " \
        "    FROM stopstart.schedule_exceptions e JOIN stopstart.exception_calendars c ON c.id = e.calendar_id " \
        "    WHERE e.schedule_id = " s ".id))"

static const char schedule_update_sql[] =
        "WITH " SCHEDULE_INPUT ", old AS (\n"
        "    SELECT s.id, " SCHEDULE_AUDIT_JSON("s") " AS v FROM stopstart.schedules s JOIN input i ON i.id = s.id\n"
        "    WHERE s.deleted_at IS NULL FOR UPDATE OF s\n"
        "), complete AS (\n"
        "    SELECT (SELECT count(*) FROM old) = (SELECT count(*) FROM input) AS ok\n"
        "), saved AS (\n"
        "    UPDATE stopstart.schedules s SET name = i.name, description = coalesce(i.description, ''),\n"
        "        action = i.action, calendars = i.calendars, time_zone = i.time_zone, enabled = i.enabled,\n"
        "        enabled_since = CASE WHEN i.enabled THEN coalesce(s.enabled_since, now()) END,\n"
        "        enforce = i.enforce, valid_from = " TS("i.valid_from") ", valid_until = " TS("i.valid_until") ",\n"
        "        misfire_grace = i.misfire_grace * interval '1 microsecond', max_targets = nullif(i.max_targets, 0),\n"
        "        window_name = i.window_name, updated_at = now(), updated_by = $3\n"
        "    FROM input i WHERE s.id = i.id AND s.deleted_at IS NULL AND (SELECT ok FROM complete)\n"
        "    RETURNING s.id, i.n\n"
        "), old_targets AS (\n"
        "    DELETE FROM stopstart.schedule_targets WHERE schedule_id IN (SELECT id FROM saved)\n"
        "), old_exceptions AS (\n"
        "    DELETE FROM stopstart.schedule_exceptions e USING saved s, input i\n"
        "    WHERE e.schedule_id = s.id AND i.n = s.n AND e.calendar_id NOT IN (\n"
        "        SELECT c.id FROM stopstart.exception_calendars c WHERE c.name = ANY (i.exception_calendars))\n"
        "), " SCHEDULE_CHILDREN ", audit AS (\n"
        "    INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, old_value, new_value)\n"
        "    SELECT $2::bigint, $3, 'update', 'schedule', s.id::text, o.v, i.j::jsonb - 'id'\n"
        "    FROM saved s JOIN input i USING (n) JOIN old o ON o.id = s.id\n"
        ")\n"
        "SELECT id FROM saved ORDER BY n";

int schedule_store_update(Db *db, Schedule * const *schedules, size_t n, const StoreActor *actor,
                          schedule_store_ids_handler_t handler, void *userdata) {
        _cleanup_free_ char *json = NULL;
        char uid[24];

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (schedules[i]->id == 0)
                        return -EINVAL;
        json = schedules_to_store_json(schedules, n);
        if (!json)
                return -ENOMEM;
        return submit(db, schedule_update_sql, 3, (const char *[]) { json, fmt_uid(actor, uid), actor_name(actor) },
                      DB_QUERY_FAIL_FAST, CALL(CALL_IDS, handler, userdata, .no_rows_is_enoent = true));
}

int schedule_store_set_enabled(Db *db, const uint64_t *ids, size_t n, bool enabled, const StoreActor *actor,
                               schedule_store_list_handler_t handler, void *userdata) {
        return submit_for_ids(
                db, ids, n, actor,
                "WITH s AS (\n"
                "    UPDATE stopstart.schedules s SET enabled = $4::boolean,\n"
                "        enabled_since = CASE WHEN $4::boolean THEN coalesce(s.enabled_since, now()) END,\n"
                "        updated_at = now(), updated_by = $3\n"
                "    WHERE s.id = ANY ($1::bigint[]) AND s.deleted_at IS NULL RETURNING s.*\n"
                "), audit AS (\n"
                "    INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, new_value)\n"
                "    SELECT $2::bigint, $3, CASE WHEN $4::boolean THEN 'enable' ELSE 'disable' END, 'schedule',\n"
                "           s.id::text, jsonb_build_object('enabled', $4::boolean) FROM s\n"
                ")\n"
                "SELECT " SCHEDULE_COLUMNS " FROM s ORDER BY s.name",
                enabled ? "true" : "false", CALL(CALL_SCHEDULES, handler, userdata, .no_rows_is_enoent = true));
}

int schedule_store_delete(Db *db, const uint64_t *ids, size_t n, const StoreActor *actor,
                          schedule_store_ids_handler_t handler, void *userdata) {
        return submit_for_ids(
                db, ids, n, actor,
                "WITH del AS (\n"
                "    UPDATE stopstart.schedules SET deleted_at = now(), enabled = false, enabled_since = NULL,\n"
                "        updated_at = now(), updated_by = $3\n"
                "    WHERE id = ANY ($1::bigint[]) AND deleted_at IS NULL RETURNING id, name\n"
                "), exc AS (\n"
                "    DELETE FROM stopstart.schedule_exceptions WHERE schedule_id IN (SELECT id FROM del)\n"
                "), audit AS (\n"
                "    INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, old_value)\n"
                "    SELECT $2::bigint, $3, 'delete', 'schedule', id::text, jsonb_build_object('name', name) FROM del\n"
                ")\n"
                "SELECT id FROM del ORDER BY id",
                NULL, CALL(CALL_IDS, handler, userdata, .no_rows_is_enoent = true));
}

int schedule_store_retract(Db *db, const uint64_t *ids, size_t n, const char *reason, const StoreActor *actor,
                           schedule_store_ids_handler_t handler, void *userdata) {
        return submit_for_ids(
                db, ids, n, actor,
                "WITH gone AS (\n"
                "    DELETE FROM stopstart.schedules s WHERE s.id = ANY ($1::bigint[]) AND s.deleted_at IS NULL\n"
                "        AND NOT EXISTS (SELECT 1 FROM stopstart.occurrences o WHERE o.schedule_id = s.id)\n"
                "    RETURNING s.id, s.name\n"
                "), audit AS (\n"
                "    INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, old_value)\n"
                "    SELECT $2::bigint, $3, 'create-refused', 'schedule', id::text,\n"
                "           jsonb_build_object('name', name, 'reason', $4::text) FROM gone\n"
                ")\n"
                "SELECT id FROM gone ORDER BY id",
                strempty(reason), CALL(CALL_IDS, handler, userdata));
}

/* ---- exception calendars ----------------------------------------------------------------------- */

int calendar_store_load(Db *db, calendar_store_list_handler_t handler, void *userdata) {
        return submit(db, "SELECT " CALENDAR_COLUMNS " FROM stopstart.exception_calendars c ORDER BY c.name", 0, NULL,
                      0, CALL(CALL_CALENDARS, handler, userdata));
}

/* [[first, last], …] in days since the epoch. */
static char *ranges_json(const ExceptionRange *ranges, size_t n) {
        char *s = NULL;
        size_t l = 0;
        FILE *f = open_memstream(&s, &l);

        if (!f)
                return NULL;
        fputc('[', f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s[%" PRIi32 ",%" PRIi32 "]", i > 0 ? "," : "", ranges[i].first_day, ranges[i].last_day);
        fputc(']', f);
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

#define RANGES_INPUT \
        "input AS (\n" \
        "    SELECT date '1970-01-01' + (x->>0)::integer AS first_day, date '1970-01-01' + (x->>1)::integer AS last_day\n" \
        "    FROM json_array_elements($2::json) x\n" \
        ")"
#define RANGES_AUDIT(op) \
        "audit AS (\n" \
        "    INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, new_value)\n" \
        "    SELECT $3::bigint, $4, '" op "', 'calendar', $1,\n" \
        "           jsonb_build_object('entries', (SELECT jsonb_agg(CASE WHEN first_day = last_day THEN first_day::text\n" \
        "                  ELSE first_day::text || '..' || last_day::text END) FROM input))\n" \
        ")"

int calendar_store_add(Db *db, const char *name, const ExceptionRange *ranges, size_t n, const StoreActor *actor,
                       calendar_store_list_handler_t handler, void *userdata) {
        _cleanup_free_ char *json = NULL;
        char uid[24];

        if (!exception_calendar_name_is_valid(name))
                return -EINVAL;
        json = ranges_json(ranges, n);
        if (!json)
                return -ENOMEM;
        return submit(db,
                      "WITH " RANGES_INPUT ", cal AS (\n"
                      "    INSERT INTO stopstart.exception_calendars AS c (name) VALUES ($1)\n"
                      "    ON CONFLICT (name) DO UPDATE SET updated_at = now() RETURNING c.id, c.name, c.description\n"
                      "), ins AS (\n"
                      "    INSERT INTO stopstart.exception_dates (calendar_id, first_day, last_day)\n"
                      "    SELECT cal.id, i.first_day, i.last_day FROM cal, input i\n"
                      "    ON CONFLICT (calendar_id, first_day, last_day) DO NOTHING RETURNING first_day, last_day\n"
                      "), " RANGES_AUDIT("add-dates") "\n"
                      "SELECT cal.id, cal.name, cal.description,\n"
                      "    (SELECT coalesce(json_agg(json_build_array(d.first_day - date '1970-01-01',\n"
                      "                                              d.last_day - date '1970-01-01')\n"
                      "                              ORDER BY d.first_day, d.last_day), '[]') FROM (\n"
                      "        SELECT first_day, last_day FROM stopstart.exception_dates WHERE calendar_id = cal.id\n"
                      "        UNION SELECT first_day, last_day FROM ins) d)::text\n"
                      "FROM cal",
                      4, (const char *[]) { name, json, fmt_uid(actor, uid), actor_name(actor) }, DB_QUERY_FAIL_FAST,
                      CALL(CALL_CALENDARS, handler, userdata));
}

int calendar_store_remove_entries(Db *db, const char *name, const ExceptionRange *ranges, size_t n,
                                  const StoreActor *actor, calendar_store_list_handler_t handler, void *userdata) {
        _cleanup_free_ char *json = NULL;
        char uid[24];

        json = ranges_json(ranges, n);
        if (!json)
                return -ENOMEM;
        return submit(db,
                      "WITH " RANGES_INPUT ", cal AS (\n"
                      "    UPDATE stopstart.exception_calendars c SET updated_at = now() WHERE c.name = $1\n"
                      "    RETURNING c.id, c.name, c.description\n"
                      "), del AS (\n"
                      "    DELETE FROM stopstart.exception_dates d USING cal, input i\n"
                      "    WHERE d.calendar_id = cal.id AND d.first_day = i.first_day AND d.last_day = i.last_day\n"
                      "    RETURNING d.id\n"
                      "), " RANGES_AUDIT("remove-dates") "\n"
                      "SELECT cal.id, cal.name, cal.description,\n"
                      "    (SELECT coalesce(json_agg(json_build_array(d.first_day - date '1970-01-01',\n"
                      "                                              d.last_day - date '1970-01-01')\n"
                      "                              ORDER BY d.first_day, d.last_day), '[]')\n"
                      "     FROM stopstart.exception_dates d WHERE d.calendar_id = cal.id AND d.id NOT IN (SELECT id FROM del))::text\n"
                      "FROM cal",
                      4, (const char *[]) { name, json, fmt_uid(actor, uid), actor_name(actor) }, DB_QUERY_FAIL_FAST,
                      CALL(CALL_CALENDARS, handler, userdata, .no_rows_is_enoent = true));
}

int calendar_store_remove(Db *db, const char *name, const StoreActor *actor, calendar_store_list_handler_t handler,
                          void *userdata) {
        char uid[24];

        return submit(db,
                      "WITH del AS (\n"
                      "    DELETE FROM stopstart.exception_calendars WHERE name = $1 RETURNING id\n"
                      "), audit AS (\n"
                      "    INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, new_value)\n"
                      "    SELECT $2::bigint, $3, 'remove', 'calendar', $1, '{}'::jsonb FROM del\n"
                      ")\n"
                      "SELECT NULL::bigint, NULL::text, NULL::text, NULL::text FROM del",
                      3, (const char *[]) { name, fmt_uid(actor, uid), actor_name(actor) }, DB_QUERY_FAIL_FAST,
                      CALL(CALL_CALENDARS, handler, userdata, .no_rows_is_enoent = true, .foreign_key_is_busy = true));
}

/* ---- occurrences ------------------------------------------------------------------------------- */

#define ACTIONS_OF(o) \
        "(SELECT coalesce(json_agg(" ACTION_JSON("a") " ORDER BY a.id), '[]') FROM stopstart.actions a " \
        " WHERE a.occurrence_id = " o ".id)::text"

int occurrence_store_fire(Db *db, uint64_t schedule_id, uint64_t scheduled_at, OccurrenceState state,
                          const char *reason, const char *fired_by, const StoreActor *actor,
                          occurrence_store_handler_t handler, void *userdata) {
        char id[24], at[24], uid[24];

        if (schedule_id == 0 || scheduled_at == 0 || !occurrence_state_to_string(state) || isempty(fired_by))
                return -EINVAL;
        fmt_u64(id, schedule_id);
        fmt_u64(at, scheduled_at);
        return submit(db,
                      "WITH ins AS (\n"
                      "    INSERT INTO stopstart.occurrences AS o (schedule_id, scheduled_at, state, reason, fired_at,\n"
                      "                                             fired_by, finished_at)\n"
                      "    VALUES ($1::bigint, " TS("$2::bigint") ", $3, $4, now(), $5,\n"
                      "            CASE WHEN $3 IN ('done', 'failed', 'skipped', 'missed') THEN now() END)\n"
                      "    ON CONFLICT (schedule_id, scheduled_at) DO NOTHING RETURNING o.*\n"
                      "), audit AS (\n"
                      "    INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, new_value)\n"
                      "    SELECT $6::bigint, $7, 'fire', 'schedule', $1,\n"
                      "           jsonb_build_object('occurrence', o.id, 'scheduled_at', o.scheduled_at, 'state', o.state,\n"
                      "                              'reason', o.reason, 'fired_by', o.fired_by)\n"
                      "    FROM ins o\n"
                      ")\n"
                      "SELECT " OCCURRENCE_COLUMNS("o", "'[]'") ", true FROM ins o\n"
                      "UNION ALL\n"
                      "SELECT " OCCURRENCE_COLUMNS("o", ACTIONS_OF("o")) ", false FROM stopstart.occurrences o\n"
                      "WHERE o.schedule_id = $1::bigint AND o.scheduled_at = " TS("$2::bigint") "\n"
                      "      AND NOT EXISTS (SELECT 1 FROM ins)",
                      7,
                      (const char *[]) { id, at, occurrence_state_to_string(state), strempty(reason), fired_by,
                                         fmt_uid(actor, uid), actor_name(actor) },
                      DB_QUERY_FAIL_FAST, CALL(CALL_OCCURRENCES, handler, userdata, .no_rows_is_enoent = true));
}

int occurrence_store_claim(Db *db, uint64_t id, occurrence_store_handler_t handler, void *userdata) {
        char i[24];

        fmt_u64(i, id);
        return submit(db,
                      "UPDATE stopstart.occurrences o SET state = 'running', fired_at = coalesce(o.fired_at, now())\n"
                      "WHERE o.id = $1::bigint AND o.state = 'pending'\n"
                      "RETURNING " OCCURRENCE_COLUMNS("o", "'[]'"),
                      1, (const char *[]) { i }, 0, CALL(CALL_OCCURRENCES, handler, userdata, .no_rows_is_ebusy = true));
}

int occurrence_store_skip(Db *db, uint64_t schedule_id, uint64_t scheduled_at, const char *reason,
                          const StoreActor *actor, occurrence_store_handler_t handler, void *userdata) {
        char id[24], at[24], uid[24];

        if (schedule_id == 0 || scheduled_at == 0)
                return -EINVAL;
        fmt_u64(id, schedule_id);
        fmt_u64(at, scheduled_at);
        return submit(db,
                      "WITH up AS (\n"
                      "    INSERT INTO stopstart.occurrences AS o (schedule_id, scheduled_at, state, reason, finished_at,\n"
                      "                                             fired_by)\n"
                      "    VALUES ($1::bigint, " TS("$2::bigint") ", 'skipped', $3, now(), $5)\n"
                      "    ON CONFLICT (schedule_id, scheduled_at) DO UPDATE SET state = 'skipped', reason = excluded.reason,\n"
                      "        finished_at = now(), fired_by = excluded.fired_by, delayed_until = NULL\n"
                      "    WHERE o.state = 'pending' RETURNING o.*\n"
                      "), audit AS (\n"
                      "    INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, new_value)\n"
                      "    SELECT $4::bigint, $5, 'skip', 'schedule', $1,\n"
                      "           jsonb_build_object('occurrence', o.id, 'scheduled_at', o.scheduled_at, 'reason', o.reason)\n"
                      "    FROM up o\n"
                      ")\n"
                      "SELECT " OCCURRENCE_COLUMNS("o", "'[]'") " FROM up o",
                      5, (const char *[]) { id, at, strempty(reason), fmt_uid(actor, uid), actor_name(actor) },
                      DB_QUERY_FAIL_FAST, CALL(CALL_OCCURRENCES, handler, userdata, .no_rows_is_ebusy = true));
}

int occurrence_store_delay(Db *db, uint64_t schedule_id, uint64_t scheduled_at, uint64_t until,
                           const StoreActor *actor, occurrence_store_handler_t handler, void *userdata) {
        char id[24], at[24], u[24], uid[24];

        if (schedule_id == 0 || scheduled_at == 0 || until <= scheduled_at)
                return -EINVAL;
        fmt_u64(id, schedule_id);
        fmt_u64(at, scheduled_at);
        fmt_u64(u, until);
        return submit(db,
                      "WITH up AS (\n"
                      "    INSERT INTO stopstart.occurrences AS o (schedule_id, scheduled_at, state, delayed_until, reason)\n"
                      "    VALUES ($1::bigint, " TS("$2::bigint") ", 'pending', " TS("$3::bigint") ", 'delayed by ' || $5)\n"
                      "    ON CONFLICT (schedule_id, scheduled_at) DO UPDATE SET delayed_until = excluded.delayed_until,\n"
                      "        reason = excluded.reason\n"
                      "    WHERE o.state = 'pending' RETURNING o.*\n"
                      "), audit AS (\n"
                      "    INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, new_value)\n"
                      "    SELECT $4::bigint, $5, 'delay', 'schedule', $1,\n"
                      "           jsonb_build_object('occurrence', o.id, 'scheduled_at', o.scheduled_at,\n"
                      "                              'delayed_until', o.delayed_until)\n"
                      "    FROM up o\n"
                      ")\n"
                      "SELECT " OCCURRENCE_COLUMNS("o", "'[]'") " FROM up o",
                      5, (const char *[]) { id, at, u, fmt_uid(actor, uid), actor_name(actor) }, DB_QUERY_FAIL_FAST,
                      CALL(CALL_OCCURRENCES, handler, userdata, .no_rows_is_ebusy = true));
}

int occurrence_store_set_state(Db *db, uint64_t id, OccurrenceState state, const char *reason, int64_t target_count,
                               occurrence_store_handler_t handler, void *userdata) {
        char i[24], tc[24];

        if (!occurrence_state_to_string(state))
                return -EINVAL;
        fmt_u64(i, id);
        snprintf(tc, sizeof tc, "%" PRIi64, target_count);
        return submit(db,
                      "UPDATE stopstart.occurrences o SET state = $2, reason = coalesce($3, o.reason),\n"
                      "    target_count = CASE WHEN $4::integer >= 0 THEN $4::integer ELSE o.target_count END,\n"
                      "    fired_at = coalesce(o.fired_at, now()),\n"
                      "    finished_at = CASE WHEN $2 IN ('done', 'failed', 'skipped', 'missed')\n"
                      "                       THEN coalesce(o.finished_at, now()) END\n"
                      "WHERE o.id = $1::bigint\n"
                      "RETURNING " OCCURRENCE_COLUMNS("o", "'[]'"),
                      4, (const char *[]) { i, occurrence_state_to_string(state), reason, tc }, 0,
                      CALL(CALL_OCCURRENCES, handler, userdata, .no_rows_is_enoent = true));
}

int occurrence_store_list(Db *db, const OccurrenceFilter *f, occurrence_store_handler_t handler, void *userdata) {
        char id[24], since[24], until[24], limit[24];

        fmt_u64(id, f->schedule_id);
        fmt_u64(since, f->since);
        fmt_u64(until, f->until);
        fmt_u64(limit, f->limit > 0 ? f->limit : 100);
        return submit(db,
                      "SELECT " OCCURRENCE_COLUMNS("o", "CASE WHEN $6::boolean THEN " ACTIONS_OF("o") " ELSE '[]' END") "\n"
                      "FROM stopstart.occurrences o\n"
                      "WHERE ($1::bigint = 0 OR o.schedule_id = $1::bigint)\n"
                      "  AND ($2::bigint = 0 OR o.scheduled_at >= " TS("$2::bigint") ")\n"
                      "  AND ($3::bigint = 0 OR o.scheduled_at < " TS("$3::bigint") ")\n"
                      "  AND ($4::text IS NULL OR o.state = $4::text)\n"
                      "ORDER BY o.scheduled_at DESC, o.id DESC LIMIT $5::integer",
                      6,
                      (const char *[]) { id, since, until, occurrence_state_to_string(f->state), limit,
                                         f->with_actions ? "true" : "false" },
                      0, CALL(CALL_OCCURRENCES, handler, userdata));
}

int occurrence_store_unfinished(Db *db, occurrence_store_handler_t handler, void *userdata) {
        return submit(db,
                      "SELECT " OCCURRENCE_COLUMNS("o", ACTIONS_OF("o")) "\n"
                      "FROM stopstart.occurrences o WHERE o.state IN ('pending', 'running')\n"
                      "ORDER BY coalesce(o.delayed_until, o.scheduled_at), o.id",
                      0, NULL, 0, CALL(CALL_OCCURRENCES, handler, userdata));
}

/* ---- actions ----------------------------------------------------------------------------------- */

int action_store_insert(Db *db, uint64_t occurrence_id, const ActionRow *rows, size_t n,
                        action_store_handler_t handler, void *userdata) {
        _cleanup_json_ json_object *a = json_object_new_array();
        _cleanup_free_ char *json = NULL;
        char id[24];

        if (!a)
                return -ENOMEM;
        if (occurrence_id == 0 || n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_new_object();
                if (!o || !oci_instance_action_to_string(rows[i].action) || isempty(rows[i].instance_id) ||
                    isempty(rows[i].retry_token) ||
                    (rows[i].state != ACTION_PENDING && rows[i].state != ACTION_SKIPPED && rows[i].state != ACTION_FAILED)) {
                        json_object_put(o);
                        return o ? -EINVAL : -ENOMEM;
                }
                json_object_object_add(o, "instance_id", json_object_new_string(rows[i].instance_id));
                json_object_object_add(o, "action", json_object_new_string(oci_instance_action_to_string(rows[i].action)));
                json_object_object_add(o, "retry_token", json_object_new_string(rows[i].retry_token));
                json_object_object_add(o, "state", json_object_new_string(action_state_to_string(rows[i].state)));
                json_object_object_add(o, "reason", json_object_new_string(strempty(rows[i].reason)));
                json_object_array_add(a, o);
        }
        json = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
        if (!json)
                return -ENOMEM;
        fmt_u64(id, occurrence_id);
        return submit(db,
                      "WITH input AS (\n"
                      "    SELECT e.n, x.* FROM json_array_elements($2::json) WITH ORDINALITY AS e(j, n),\n"
                      "    json_to_record(e.j) AS x(instance_id text, action text, retry_token text, state text, reason text)\n"
                      "), ins AS (\n"
                      "    INSERT INTO stopstart.actions AS a (occurrence_id, instance_id, action, retry_token, state, reason,\n"
                      "                                        error, finished_at)\n"
                      "    SELECT $1::bigint, instance_id, action, retry_token, state,\n"
                      "           CASE WHEN state = 'failed' THEN '' ELSE coalesce(reason, '') END,\n"
                      "           CASE WHEN state = 'failed' THEN coalesce(reason, '') ELSE '' END,\n"
                      "           CASE WHEN state IN ('skipped', 'failed') THEN now() END\n"
                      "    FROM input ORDER BY n\n"
                      "    ON CONFLICT (occurrence_id, instance_id, action) WHERE occurrence_id IS NOT NULL DO NOTHING\n"
                      "    RETURNING a.*\n"
                      "), r AS (\n"
                      "    SELECT * FROM ins\n"
                      "    UNION ALL\n"
                      "    SELECT a.* FROM stopstart.actions a JOIN input i\n"
                      "        ON a.occurrence_id = $1::bigint AND a.instance_id = i.instance_id AND a.action = i.action\n"
                      ")\n"
                      "SELECT coalesce(json_agg(" ACTION_JSON("r") " ORDER BY i.n), '[]')::text\n"
                      "FROM r JOIN input i ON i.instance_id = r.instance_id AND i.action = r.action",
                      2, (const char *[]) { id, json }, 0, CALL(CALL_ACTIONS, handler, userdata));
}

#define ACTION_RETURNING(a) "SELECT coalesce(json_agg(" ACTION_JSON(a) "), '[]')::text FROM u " a

int action_store_mark_sent(Db *db, uint64_t action_id, action_store_handler_t handler, void *userdata) {
        char id[24];

        fmt_u64(id, action_id);
        return submit(db,
                      "WITH u AS (\n"
                      "    UPDATE stopstart.actions SET state = 'sent', sent_at = coalesce(sent_at, now()), attempts = attempts + 1\n"
                      "    WHERE id = $1::bigint AND state IN ('pending', 'sent') RETURNING *\n"
                      ")\n" ACTION_RETURNING("x"),
                      1, (const char *[]) { id }, 0, CALL(CALL_ACTIONS, handler, userdata, .no_rows_is_ebusy = true));
}

int action_store_finish(Db *db, uint64_t action_id, ActionState state, const char *reason, const char *error,
                        const char *opc_request_id, action_store_handler_t handler, void *userdata) {
        char id[24];

        if (state != ACTION_CONFIRMED && state != ACTION_FAILED && state != ACTION_SKIPPED)
                return -EINVAL;
        fmt_u64(id, action_id);
        /* confirmed: OCI accepted it (finished_at follows once the target state is reached, see
         * action_store_reached()); failed and skipped are final. An occurrence's action that
         * was accepted or failed is also an entry of the audit log (actor "schedule NAME"), so
         * an instance's history says who stopped it; once, when the state changes (a write
         * repeated after a lost answer finds it changed already). Skipped ones stay in the
         * occurrence's record only: a daily stop of a mostly stopped fleet is not news. */
        return submit(db,
                      "WITH old AS (SELECT id, state FROM stopstart.actions WHERE id = $1::bigint),\n"
                      "u AS (\n"
                      "    UPDATE stopstart.actions SET state = $2, reason = coalesce($3, reason), error = coalesce($4, error),\n"
                      "        opc_request_id = coalesce($5, opc_request_id),\n"
                      "        confirmed_at = CASE WHEN $2 = 'confirmed' THEN coalesce(confirmed_at, now()) ELSE confirmed_at END,\n"
                      "        finished_at = CASE WHEN $2 = 'confirmed' THEN finished_at ELSE now() END\n"
                      "    WHERE id = $1::bigint RETURNING *\n"
                      "), audit AS (\n"
                      "    INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, new_value)\n"
                      "    SELECT NULL, 'schedule ' || s.name,\n"
                      "           CASE u.action WHEN 'RESET' THEN 'reboot' WHEN 'SOFTRESET' THEN 'softreboot' ELSE lower(u.action) END,\n"
                      "           'instance', u.instance_id,\n"
                      "           jsonb_build_object('schedule', s.name, 'occurrence', o.id, 'scheduled_at', o.scheduled_at,\n"
                      "                              'action', u.action, 'state', u.state, 'reason', nullif(u.reason, ''), 'error', nullif(u.error, ''),\n"
                      "                              'opc_request_id', u.opc_request_id)\n"
                      "    FROM u JOIN old ON old.id = u.id\n"
                      "           JOIN stopstart.occurrences o ON o.id = u.occurrence_id\n"
                      "           JOIN stopstart.schedules s ON s.id = o.schedule_id\n"
                      "    WHERE old.state <> u.state AND u.state IN ('confirmed', 'failed')\n"
                      ")\n" ACTION_RETURNING("x"),
                      5, (const char *[]) { id, action_state_to_string(state), reason, error, opc_request_id }, 0,
                      CALL(CALL_ACTIONS, handler, userdata, .no_rows_is_enoent = true));
}

int action_store_reached(Db *db, uint64_t action_id, action_store_handler_t handler, void *userdata) {
        char id[24];

        fmt_u64(id, action_id);
        return submit(db,
                      "WITH u AS (\n"
                      "    UPDATE stopstart.actions SET finished_at = coalesce(finished_at, now())\n"
                      "    WHERE id = $1::bigint AND state = 'confirmed' RETURNING *\n"
                      ")\n" ACTION_RETURNING("x"),
                      1, (const char *[]) { id }, 0, CALL(CALL_ACTIONS, handler, userdata, .no_rows_is_ebusy = true));
}

int action_store_list(Db *db, uint64_t occurrence_id, action_store_handler_t handler, void *userdata) {
        char id[24];

        fmt_u64(id, occurrence_id);
        return submit(db,
                      "SELECT coalesce(json_agg(" ACTION_JSON("a") " ORDER BY a.id), '[]')::text\n"
                      "FROM stopstart.actions a WHERE a.occurrence_id = $1::bigint",
                      1, (const char *[]) { id }, 0, CALL(CALL_ACTIONS, handler, userdata));
}

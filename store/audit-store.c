/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit-store.h"
#include "json-util.h"

int audit_store_record(Db *db, const StoreActor *actor, const char *operation, const char *object_kind,
                       const char *object_id, const char *new_value) {
        char uid[16];

        if (actor->uid != (uid_t) -1)
                snprintf(uid, sizeof uid, "%u", (unsigned) actor->uid);
        return store_write(db,
                           "INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, "
                           "new_value) VALUES ($1::bigint, $2, $3, $4, $5, $6::jsonb)",
                           6, (const char *[]) { actor->uid != (uid_t) -1 ? uid : NULL, actor->name, operation,
                                                 object_kind, object_id, new_value });
}

int audit_store_record_reload(Db *db, const StoreActor *actor, const char *file) {
        _cleanup_json_ json_object *value = json_object_new_object();

        if (!value || json_object_object_add(value, "file", json_object_new_string(file)) < 0)
                return -ENOMEM;
        return audit_store_record(db, actor, "reload", "manager", "",
                                  json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
}

static const char history_sql[] =
        "WITH RECURSIVE sub AS ("
        "  SELECT id FROM stopstart.compartments WHERE id = $2 "
        "  UNION SELECT c.id FROM stopstart.compartments c JOIN sub ON c.parent_id = sub.id) "
        "SELECT * FROM ("
        "  SELECT a.id, (extract(epoch from a.at) * 1000000)::bigint, a.actor, coalesce(a.actor_uid, 4294967295), "
        "         a.operation, a.object_kind, a.object_id, "
        "         jsonb_build_object('old', a.old_value, 'new', a.new_value)::text "
        "  FROM stopstart.audit_log a "
        "  WHERE ($1::text IS NULL OR a.object_id = $1) "
        "    AND ($2::text IS NULL OR a.object_id IN (SELECT id FROM sub) "
        "         OR a.object_id IN (SELECT i.id FROM stopstart.instances i WHERE i.compartment_id IN (SELECT id FROM sub))) "
        "    AND ($3::bigint IS NULL OR a.at >= 'epoch'::timestamptz + $3::bigint * interval '1 microsecond') "
        "    AND ($4::bigint IS NULL OR a.at < 'epoch'::timestamptz + $4::bigint * interval '1 microsecond') "
        "  ORDER BY a.id DESC LIMIT $5::integer) h "
        "ORDER BY 1";

typedef struct HistoryCall {
        audit_store_history_handler_t handler;
        void *userdata;
} HistoryCall;

static void on_history(Db *db, PGresult *r, int error, void *userdata) {
        _cleanup_free_ HistoryCall *c = userdata;

        if (error >= 0 && PQnfields(r) != 8)
                error = -EBADMSG;
        c->handler(error, error >= 0 ? (const StoreRows *) r : NULL, error < 0 ? db_last_error(db) : NULL,
                   c->userdata);
        PQclear(r);
}

int audit_store_history(Db *db, const HistoryFilter *filter, audit_store_history_handler_t handler,
                        void *userdata) {
        char since[24], until[24], limit[16];
        assert(handler);
        snprintf(since, sizeof since, "%" PRIu64, filter->since);
        snprintf(until, sizeof until, "%" PRIu64, filter->until);
        snprintf(limit, sizeof limit, "%" PRIu32, filter->limit);
        return db_query_call(db, history_sql, 5,
                             (const char *[]) { filter->instance, filter->compartment,
                                                filter->since > 0 ? since : NULL, filter->until > 0 ? until : NULL,
                                                limit },
                             DB_QUERY_FAIL_FAST, on_history, &(HistoryCall) { handler, userdata },
                             sizeof(HistoryCall));
}

static uint64_t parse_u64_or_zero(const char *s) {
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        return *end || *s == '-' ? 0 : (uint64_t) v;
}

void history_row_get(const StoreRows *rows, size_t i, HistoryRow *ret) {
        const PGresult *r = (const PGresult *) rows;
        int row = (int) i;

        *ret = (HistoryRow) {
                .id = parse_u64_or_zero(PQgetvalue(r, row, 0)),
                .at = parse_u64_or_zero(PQgetvalue(r, row, 1)),
                .actor = PQgetvalue(r, row, 2),
                .actor_uid = (uint32_t) parse_u64_or_zero(PQgetvalue(r, row, 3)),
                .operation = PQgetvalue(r, row, 4),
                .object_kind = PQgetvalue(r, row, 5),
                .object_id = PQgetvalue(r, row, 6),
                .details = PQgetvalue(r, row, 7),
        };
}

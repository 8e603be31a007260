/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "config-store.h"
#include "json-util.h"

#define CONFIG_VALUES "$2::boolean, $3, $4::bigint * interval '1 microsecond', $5::integer, $6, $7, " \
                      "'epoch'::timestamptz + $8::bigint * interval '1 microsecond'"
#define CONFIG_UPDATE "managed = EXCLUDED.managed, stop_mode = EXCLUDED.stop_mode, " \
                      "soft_stop_timeout = EXCLUDED.soft_stop_timeout, priority = EXCLUDED.priority, " \
                      "note = EXCLUDED.note, override_state = EXCLUDED.override_state, " \
                      "override_until = EXCLUDED.override_until, updated_at = now(), updated_by = EXCLUDED.updated_by"

static const char save_instance_sql[] =
        "WITH up AS (INSERT INTO stopstart.instance_config (instance_id, managed, stop_mode, soft_stop_timeout, "
        "            priority, note, override_state, override_until, updated_at, updated_by) "
        "            VALUES ($1, " CONFIG_VALUES ", now(), $9) "
        "            ON CONFLICT (instance_id) DO UPDATE SET " CONFIG_UPDATE " RETURNING instance_id) "
        "INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, old_value, new_value) "
        "SELECT $10::bigint, $9, 'set-config', 'instance', $1, $11::jsonb, $12::jsonb FROM up";

static const char save_compartment_sql[] =
        "WITH up AS (INSERT INTO stopstart.compartment_defaults (compartment_id, managed, stop_mode, "
        "            soft_stop_timeout, priority, note, override_state, override_until, updated_at, updated_by) "
        "            VALUES ($1, " CONFIG_VALUES ", now(), $9) "
        "            ON CONFLICT (compartment_id) DO UPDATE SET " CONFIG_UPDATE " RETURNING compartment_id) "
        "INSERT INTO stopstart.audit_log (actor_uid, actor, operation, object_kind, object_id, old_value, new_value) "
        "SELECT $10::bigint, $9, 'set-defaults', 'compartment', $1, $11::jsonb, $12::jsonb FROM up";

static const char expire_instance_sql[] =
        "WITH old AS (SELECT override_state, override_until FROM stopstart.instance_config "
        "             WHERE instance_id = $1 AND override_until <= now()), "
        "up AS (UPDATE stopstart.instance_config SET override_state = NULL, override_until = NULL, "
        "              updated_at = now(), updated_by = 'stopstartd' "
        "       WHERE instance_id = $1 AND override_until <= now() RETURNING instance_id) "
        "INSERT INTO stopstart.audit_log (actor, operation, object_kind, object_id, old_value, new_value, reason) "
        "SELECT 'stopstartd', 'override-expired', 'instance', $1, "
        "       jsonb_build_object('override_state', old.override_state, 'override_until', "
        "                          (extract(epoch from old.override_until) * 1000000)::bigint), '{}'::jsonb, "
        "       'override ended' FROM up, old";

static const char expire_compartment_sql[] =
        "WITH old AS (SELECT override_state, override_until FROM stopstart.compartment_defaults "
        "             WHERE compartment_id = $1 AND override_until <= now()), "
        "up AS (UPDATE stopstart.compartment_defaults SET override_state = NULL, override_until = NULL, "
        "              updated_at = now(), updated_by = 'stopstartd' "
        "       WHERE compartment_id = $1 AND override_until <= now() RETURNING compartment_id) "
        "INSERT INTO stopstart.audit_log (actor, operation, object_kind, object_id, old_value, new_value, reason) "
        "SELECT 'stopstartd', 'override-expired', 'compartment', $1, "
        "       jsonb_build_object('override_state', old.override_state, 'override_until', "
        "                          (extract(epoch from old.override_until) * 1000000)::bigint), '{}'::jsonb, "
        "       'override ended' FROM up, old";

typedef struct ConfigCall {
        bool save;
        config_store_handler_t handler;
        void *userdata;
} ConfigCall;

static void on_result(Db *db, PGresult *r, int error, void *userdata) {
        _cleanup_free_ ConfigCall *c = userdata;
        _cleanup_free_ char *message = NULL;

        if (c->save && error == -EIO && r) {
                const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
                message = strdup(strempty(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)));
                if (state && streq(state, "23503"))
                        error = -ENXIO;        /* foreign key: the object is gone */
                else if (state && strneq(state, "23", 2))
                        error = -EINVAL;       /* a constraint refused the value */
        } else if (error == -EIO || (!c->save && error < 0))
                message = strdup(db_last_error(db));
        PQclear(r);
        if (c->handler)
                c->handler(error, message, c->userdata);
}

static int submit(Db *db, const char *sql, int n, const char * const *params, bool save,
                  config_store_handler_t handler, void *userdata) {
        return db_query_call(db, sql, n, params, DB_QUERY_FAIL_FAST, on_result,
                             &(ConfigCall) { save, handler, userdata }, sizeof(ConfigCall));
}

int config_store_save(Db *db, ConfigOwner owner, const char *id, const InstanceConfig *old,
                      const InstanceConfig *config, const StoreActor *actor, config_store_handler_t handler,
                      void *userdata) {
        _cleanup_json_ json_object *old_json = NULL, *new_json = NULL;
        char *values[CONFIG_SQL_COLUMNS] = {}, uid[16];
        int r;

        old_json = instance_config_to_json(old, false);
        new_json = instance_config_to_json(config, false);
        if (!old_json || !new_json)
                return -ENOMEM;
        r = instance_config_to_sql(config, values);
        if (r < 0)
                return r;
        if (actor->uid != (uid_t) -1)
                snprintf(uid, sizeof uid, "%u", (unsigned) actor->uid);

        const char *params[12] = {
                id, values[0], values[1], values[2], values[3], values[4], values[5], values[6],
                actor->name, actor->uid != (uid_t) -1 ? uid : NULL,
                json_object_to_json_string_ext(old_json, JSON_C_TO_STRING_PLAIN),
                json_object_to_json_string_ext(new_json, JSON_C_TO_STRING_PLAIN),
        };
        r = submit(db, owner == CONFIG_OWNER_COMPARTMENT ? save_compartment_sql : save_instance_sql, 12, params,
                   true, handler, userdata);
        instance_config_sql_free(values);
        return r;
}

int config_store_expire_override(Db *db, ConfigOwner owner, const char *id, config_store_handler_t handler,
                                 void *userdata) {
        return submit(db, owner == CONFIG_OWNER_COMPARTMENT ? expire_compartment_sql : expire_instance_sql, 1,
                      (const char *[]) { id }, false, handler, userdata);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "inventory-load.h"
#include "strv.h"

#define CONFIG_COLUMNS(t)                                                                             \
        t ".managed, " t ".stop_mode, (extract(epoch from " t ".soft_stop_timeout) * 1000000)::bigint, " \
        t ".priority, " t ".note, " t ".override_state, (extract(epoch from " t ".override_until) * 1000000)::bigint"

#define COMPARTMENT_N_COLUMNS (5 + CONFIG_SQL_COLUMNS)
static const char load_compartments_sql[] =
        "SELECT c.id, c.parent_id, c.name, c.description, c.lifecycle_state, " CONFIG_COLUMNS("d") " "
        "FROM stopstart.compartments c LEFT JOIN stopstart.compartment_defaults d ON d.compartment_id = c.id "
        "WHERE c.deleted_at IS NULL ORDER BY c.id";

#define INSTANCE_CONFIG_COLUMN 11
#define INSTANCE_JOB_COLUMN (INSTANCE_CONFIG_COLUMN + CONFIG_SQL_COLUMNS)
#define INSTANCE_N_COLUMNS (INSTANCE_JOB_COLUMN + 5)
static const char load_instances_sql[] =
        "SELECT i.id, i.compartment_id, i.region, i.availability_domain, coalesce(i.fault_domain, ''), "
        "coalesce(i.shape, ''), i.display_name, i.lifecycle_state, "
        "(extract(epoch from i.state_observed_at) * 1000000)::bigint, i.freeform_tags::text, i.defined_tags::text, "
        CONFIG_COLUMNS("c") " "
        ", lj.id, lj.kind, lj.result, lj.error, (extract(epoch from lj.finished_at) * 1000000)::bigint "
        "FROM stopstart.instances i LEFT JOIN stopstart.instance_config c ON c.instance_id = i.id "
        /* each instance's newest finished action job, in one pass over the jobs */
        "LEFT JOIN (SELECT DISTINCT ON (target) target, id, kind, result, error, finished_at FROM stopstart.jobs "
        "           WHERE state = 'done' AND kind IN ('start', 'stop', 'reboot') ORDER BY target, id DESC) lj "
        "       ON lj.target = i.id "
        "WHERE i.deleted_at IS NULL ORDER BY i.display_name, i.id";

static const char load_meta_sql[] =
        "SELECT (SELECT coalesce(string_agg(name, ' ' ORDER BY name), '') FROM stopstart.regions), "
        "(SELECT coalesce((extract(epoch from max(finished_at)) * 1000000)::bigint, 0) "
        " FROM stopstart.discovery_runs WHERE result = 'done')";

static uint64_t parse_usec(const char *s) {
        char *end;
        long long v;

        if (!s || !*s)
                return 0;
        v = strtoll(s, &end, 10);
        return *end || v < 0 ? 0 : (uint64_t) v;
}

static const char *get_or_null(const PGresult *r, int row, int col) {
        return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

typedef struct LoadCall {
        int n_fields;
        inventory_load_handler_t handler;
        inventory_meta_handler_t meta_handler;
        void *userdata;
} LoadCall;

static int meta_from_result(const PGresult *r, InventoryMeta *ret) {
        _cleanup_strv_free_ char **regions = NULL;
        _cleanup_free_ char *copy = NULL;
        char *p, *saveptr = NULL;

        if (PQntuples(r) != 1 || PQnfields(r) != 2)
                return -EBADMSG;
        copy = strdup(PQgetvalue(r, 0, 0));
        if (!copy)
                return -ENOMEM;
        for (p = strtok_r(copy, " ", &saveptr); p; p = strtok_r(NULL, " ", &saveptr))
                if (strv_extend(&regions, p) < 0)
                        return -ENOMEM;
        *ret = (InventoryMeta) { .regions = TAKE_PTR(regions), .last_refresh = parse_usec(PQgetvalue(r, 0, 1)) };
        return 0;
}

static void on_load(Db *db, PGresult *r, int error, void *userdata) {
        _cleanup_free_ LoadCall *c = userdata;
        const char *message = NULL;

        if (c->meta_handler) {
                InventoryMeta meta = {};
                if (error >= 0)
                        error = meta_from_result(r, &meta);
                if (error < 0)
                        message = error == -EBADMSG || error == -ENOMEM ? "unexpected result" : db_last_error(db);
                c->meta_handler(error, error >= 0 ? &meta : NULL, message, c->userdata);
                strv_free(meta.regions);
        } else {
                if (error >= 0 && PQnfields(r) != c->n_fields)
                        error = -EBADMSG;
                if (error < 0)
                        message = error == -EBADMSG ? "unexpected result" : db_last_error(db);
                c->handler(error, error >= 0 ? (const StoreRows *) r : NULL, message, c->userdata);
        }
        PQclear(r);
}

static int submit(Db *db, const char *sql, LoadCall tmpl) {
        return db_query_call(db, sql, 0, NULL, 0, on_load, &tmpl, sizeof tmpl);
}

int inventory_load_compartments(Db *db, inventory_load_handler_t handler, void *userdata) {
        assert(handler);
        return submit(db, load_compartments_sql,
                      (LoadCall) { .n_fields = COMPARTMENT_N_COLUMNS, .handler = handler, .userdata = userdata });
}

int inventory_load_instances(Db *db, inventory_load_handler_t handler, void *userdata) {
        assert(handler);
        return submit(db, load_instances_sql,
                      (LoadCall) { .n_fields = INSTANCE_N_COLUMNS, .handler = handler, .userdata = userdata });
}

int inventory_load_meta(Db *db, inventory_meta_handler_t handler, void *userdata) {
        assert(handler);
        return submit(db, load_meta_sql, (LoadCall) { .meta_handler = handler, .userdata = userdata });
}

void compartment_row_get(const StoreRows *rows, size_t i, CompartmentRow *ret) {
        const PGresult *r = (const PGresult *) rows;
        int row = (int) i;

        *ret = (CompartmentRow) {
                .id = PQgetvalue(r, row, 0),
                .parent_id = get_or_null(r, row, 1),
                .name = PQgetvalue(r, row, 2),
                .description = PQgetvalue(r, row, 3),
                .lifecycle_state = PQgetvalue(r, row, 4),
        };
}

static int config_from_row(const PGresult *r, int row, int first, InstanceConfig *ret) {
        const char *values[CONFIG_SQL_COLUMNS];

        for (int k = 0; k < CONFIG_SQL_COLUMNS; k++)
                values[k] = get_or_null(r, row, first + k);
        return instance_config_from_sql(values, ret);
}

int compartment_row_defaults(const StoreRows *rows, size_t i, InstanceConfig *ret) {
        return config_from_row((const PGresult *) rows, (int) i, 5, ret);
}

void instance_row_get(const StoreRows *rows, size_t i, InstanceRow *ret) {
        const PGresult *r = (const PGresult *) rows;
        int row = (int) i, lj = INSTANCE_JOB_COLUMN;

        *ret = (InstanceRow) {
                .id = PQgetvalue(r, row, 0),
                .compartment_id = PQgetvalue(r, row, 1),
                .region = PQgetvalue(r, row, 2),
                .availability_domain = PQgetvalue(r, row, 3),
                .fault_domain = PQgetvalue(r, row, 4),
                .shape = PQgetvalue(r, row, 5),
                .display_name = PQgetvalue(r, row, 6),
                .lifecycle_state = PQgetvalue(r, row, 7),
                .state_observed_at = parse_usec(PQgetvalue(r, row, 8)),
                .freeform_tags = PQgetvalue(r, row, 9),
                .defined_tags = PQgetvalue(r, row, 10),
        };
        if (!PQgetisnull(r, row, lj)) {
                ret->last_job_id = (uint32_t) parse_usec(PQgetvalue(r, row, lj));
                ret->last_job_kind = PQgetvalue(r, row, lj + 1);
                ret->last_job_result = PQgetvalue(r, row, lj + 2);
                ret->last_job_error = PQgetvalue(r, row, lj + 3);
                ret->last_job_finished_at = parse_usec(PQgetvalue(r, row, lj + 4));
        }
}

int instance_row_config(const StoreRows *rows, size_t i, InstanceConfig *ret) {
        return config_from_row((const PGresult *) rows, (int) i, INSTANCE_CONFIG_COLUMN, ret);
}

int inventory_store_observed_state(Db *db, const char *instance_id, const char *lifecycle_state) {
        return store_write(db,
                           "UPDATE stopstart.instances SET lifecycle_state = $2, state_observed_at = now() "
                           "WHERE id = $1 AND deleted_at IS NULL",
                           2, (const char *[]) { instance_id, lifecycle_state });
}

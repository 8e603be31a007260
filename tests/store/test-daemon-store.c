/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's own statements (inventory-load.h, config-store.h, job-store.h, audit-store.h,
 * store.h) against a real cluster at schema head (run through tests/lib/pgcluster.py run). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit-store.h"
#include "config-store.h"
#include "inventory-load.h"
#include "inventory-store.h"
#include "json-util.h"
#include "job-store.h"
#include "log.h"
#include "strv.h"
#include "store-test.h"

static const StoreActor alice = { 1000, "alice" }, daemon_actor = { (uid_t) -1, "stopstartd" };

/* Kept writes are queued: wait until the connection has answered them all. */
static void settle(void) {
        RUN_UNTIL(db_pending(db) == 0);
}

/* ---- inventory ---- */

typedef struct Rows {
        int calls, error;
        size_t n;
        char *first, *last;             /* ids */
        char *parent, *last_job_kind, *tags;
        uint64_t observed, last_job_finished;
        uint32_t last_job_id;
        InstanceConfig config;
        int config_error;
} Rows;

static void on_compartments(int error, const StoreRows *rows, const char *message, void *userdata) {
        Rows *r = userdata;
        CompartmentRow c;

        r->calls++;
        r->error = error;
        r->n = store_rows_count(rows);
        if (r->n == 0)
                return;
        compartment_row_get(rows, 0, &c);
        r->first = strdup(c.id);
        r->parent = c.parent_id ? strdup(c.parent_id) : NULL;
        r->config_error = compartment_row_defaults(rows, 0, &r->config);
        compartment_row_get(rows, r->n - 1, &c);
        r->last = strdup(c.id);
        ASSERT_NULL(c.parent_id);       /* in id order, the tenancy comes last here */
}

static void on_instances(int error, const StoreRows *rows, const char *message, void *userdata) {
        Rows *r = userdata;
        InstanceRow i;

        r->calls++;
        r->error = error;
        r->n = store_rows_count(rows);
        if (r->n == 0)
                return;
        instance_row_get(rows, 0, &i);
        r->first = strdup(i.id);
        r->observed = i.state_observed_at;
        r->tags = strdup(i.freeform_tags);
        r->last_job_id = i.last_job_id;
        r->last_job_kind = i.last_job_kind ? strdup(i.last_job_kind) : NULL;
        r->last_job_finished = i.last_job_finished_at;
        r->config_error = instance_row_config(rows, 0, &r->config);
        ASSERT_STREQ(i.shape, "");      /* NULL in the table: "" */
        instance_row_get(rows, r->n - 1, &i);
        r->last = strdup(i.id);
}

static void rows_done(Rows *r) {
        free(r->first);
        free(r->last);
        free(r->parent);
        free(r->last_job_kind);
        free(r->tags);
        instance_config_done(&r->config);
        *r = (Rows) {};
}

typedef struct Meta {
        int calls, error;
        char *regions;
        uint64_t last_refresh;
} Meta;

static void on_meta(int error, InventoryMeta *meta, const char *message, void *userdata) {
        Meta *m = userdata;
        m->calls++;
        m->error = error;
        if (meta) {
                m->regions = strv_join(meta->regions, ",");
                m->last_refresh = meta->last_refresh;
        }
}

TEST(inventory) {
        Rows r = {};
        Meta m = {};

        ASSERT_OK(inventory_load_compartments(db, on_compartments, &r));
        RUN_UNTIL(r.calls == 1);
        ASSERT_EQ(r.error, 0);
        ASSERT_EQ(r.n, 3);
        ASSERT_STREQ(r.first, "ocid1.compartment.oc1..a");
        ASSERT_STREQ(r.last, "ocid1.tenancy.oc1..root");
        ASSERT_STREQ(r.parent, "ocid1.tenancy.oc1..root");
        ASSERT_EQ(r.config_error, 0);
        ASSERT_EQ(r.config.set, 0);     /* no defaults row */
        rows_done(&r);

        /* ordered by display name: i1, i10, i2 … */
        ASSERT_OK(inventory_load_instances(db, on_instances, &r));
        RUN_UNTIL(r.calls == 1);
        ASSERT_EQ(r.error, 0);
        ASSERT_EQ(r.n, 10);
        ASSERT_STREQ(r.first, "ocid1.instance.oc1..i1");
        ASSERT_STREQ(r.last, "ocid1.instance.oc1..i9");
        ASSERT_STREQ(r.tags, "{\"env\": \"dev\"}");
        ASSERT_NULL(r.last_job_kind);
        ASSERT_TRUE(r.observed > 1700000000ULL * 1000000ULL);
        rows_done(&r);

        ASSERT_OK(inventory_load_meta(db, on_meta, &m));
        RUN_UNTIL(m.calls == 1);
        ASSERT_EQ(m.error, 0);
        ASSERT_STREQ(m.regions, "eu-frankfurt-1,us-phoenix-1");
        ASSERT_EQ(m.last_refresh, 0);
        free(m.regions);

        ASSERT_OK(inventory_store_observed_state(db, "ocid1.instance.oc1..i1", "STOPPING"));
        settle();
        ASSERT_SQL("SELECT lifecycle_state FROM stopstart.instances WHERE id = 'ocid1.instance.oc1..i1'", "STOPPING");
}

typedef struct Ids {
        int calls, error;
        char *joined;
} Ids;

static void on_ids(int error, char **ids, size_t n, const char *message, void *userdata) {
        Ids *i = userdata;
        i->calls++;
        i->error = error;
        ASSERT_EQ(strv_length(ids), n);
        i->joined = ids ? strv_join(ids, ",") : NULL;
        strv_free(ids);
}

TEST(discovery_reads) {
        _cleanup_json_ json_object *ids = json_tokener_parse("[\"ocid1.instance.oc1..i1\", \"ocid1.instance.oc1..i2\", \"nope\"]");
        Ids a = {}, b = {};

        free(sql_value("UPDATE stopstart.compartments SET deleted_at = now() WHERE id = 'ocid1.compartment.oc1..gone' "
                       "RETURNING 1"));
        ASSERT_OK(inventory_compartment_ids(db, on_ids, &a));
        RUN_UNTIL(a.calls == 1);
        ASSERT_EQ(a.error, 0);
        /* deleted ones too */
        ASSERT_TRUE(strstr(a.joined, "ocid1.compartment.oc1..gone") != NULL);
        ASSERT_TRUE(strstr(a.joined, "ocid1.tenancy.oc1..root") != NULL);
        free(a.joined);

        /* only i2 has both a shape and a fault domain */
        ASSERT_OK(inventory_instances_with_details(db, ids, on_ids, &b));
        RUN_UNTIL(b.calls == 1);
        ASSERT_EQ(b.error, 0);
        ASSERT_STREQ(b.joined, "ocid1.instance.oc1..i2");
        free(b.joined);
}

/* ---- configuration ---- */

typedef struct Done {
        int calls, error;
        char *message;
} Done;

static void on_done(int error, const char *message, void *userdata) {
        Done *d = userdata;
        d->calls++;
        d->error = error;
        free(d->message);
        d->message = message ? strdup(message) : NULL;
}

TEST(config) {
        InstanceConfig old = {}, c = {};
        Done d = {};

        ASSERT_OK(instance_config_set(&c, "managed", &(ConfigValue) { .type = 'b', .b = false }, 0, NULL));
        ASSERT_OK(instance_config_set(&c, "note", &(ConfigValue) { .type = 's', .s = "db" }, 0, NULL));
        ASSERT_OK(config_store_save(db, CONFIG_OWNER_INSTANCE, "ocid1.instance.oc1..i1", &old, &c, &alice, on_done, &d));
        RUN_UNTIL(d.calls == 1);
        ASSERT_EQ(d.error, 0);
        ASSERT_SQL("SELECT managed::text || ' ' || note FROM stopstart.instance_config "
                   "WHERE instance_id = 'ocid1.instance.oc1..i1'", "false db");
        ASSERT_SQL("SELECT actor || ' ' || actor_uid || ' ' || new_value::text FROM stopstart.audit_log "
                   "WHERE operation = 'set-config' ORDER BY id DESC LIMIT 1",
                   "alice 1000 {\"note\": \"db\", \"managed\": false}");

        /* the object is gone: a foreign key, -ENXIO with the server's text */
        d.calls = 0;
        ASSERT_OK(config_store_save(db, CONFIG_OWNER_COMPARTMENT, "ocid1.compartment.oc1..nope", &old, &c, &alice,
                                    on_done, &d));
        RUN_UNTIL(d.calls == 1);
        ASSERT_EQ(d.error, -ENXIO);
        ASSERT_NOT_NULL(d.message);

        /* an override over by the database's clock is cleared and audited; a live one stays */
        free(sql_value("INSERT INTO stopstart.compartment_defaults (compartment_id, override_state, override_until) "
                       "VALUES ('ocid1.compartment.oc1..a', 'stopped', now() - interval '1 second'), "
                       "('ocid1.tenancy.oc1..root', 'stopped', now() + interval '1 day') RETURNING 1"));
        d.calls = 0;
        ASSERT_OK(config_store_expire_override(db, CONFIG_OWNER_COMPARTMENT, "ocid1.compartment.oc1..a", on_done, &d));
        RUN_UNTIL(d.calls == 1);
        ASSERT_EQ(d.error, 0);
        d.calls = 0;
        ASSERT_OK(config_store_expire_override(db, CONFIG_OWNER_COMPARTMENT, "ocid1.tenancy.oc1..root", on_done, &d));
        RUN_UNTIL(d.calls == 1);
        ASSERT_EQ(d.error, 0);
        ASSERT_SQL("SELECT string_agg(compartment_id || ':' || coalesce(override_state, '-'), ',' ORDER BY compartment_id) "
                   "FROM stopstart.compartment_defaults", "ocid1.compartment.oc1..a:-,ocid1.tenancy.oc1..root:stopped");
        ASSERT_SQL("SELECT count(*) FROM stopstart.audit_log WHERE operation = 'override-expired'", "1");
        free(d.message);
        instance_config_done(&c);
}

/* ---- jobs ---- */

typedef struct JobAnswer {
        int calls, error;
        uint64_t id;
        size_t n;
        JobActionRow action;            /* the last row */
        char *token;
        char *jobs;                     /* "id kind target mode," … */
} JobAnswer;

static void on_job_id(int error, uint64_t id, const char *message, void *userdata) {
        JobAnswer *a = userdata;
        a->calls++;
        a->error = error;
        a->id = id;
}

static void on_actions(int error, const JobActionRow *rows, size_t n, const char *message, void *userdata) {
        JobAnswer *a = userdata;
        a->calls++;
        a->error = error;
        a->n = n;
        if (n > 0) {
                a->action = rows[n - 1];
                free(a->token);
                a->token = rows[n - 1].retry_token ? strdup(rows[n - 1].retry_token) : NULL;
                a->action.retry_token = NULL;
        }
}

static void on_jobs(int error, const JobRow *rows, size_t n, const char *message, void *userdata) {
        JobAnswer *a = userdata;
        a->calls++;
        a->error = error;
        a->n = n;
        free(a->jobs);
        a->jobs = strdup("");
        for (size_t i = 0; i < n; i++) {
                char *s = strprintf("%s%" PRIu64 " %s %s %s,", a->jobs, rows[i].id, rows[i].kind, rows[i].target,
                                    rows[i].mode);
                free(a->jobs);
                a->jobs = s;
        }
}

static bool wanted(void *userdata) {
        return true;
}

TEST(jobs) {
        JobAnswer a = {}, b = {};
        Done d = {};
        _cleanup_free_ char *sql = NULL, *expected = NULL;

        ASSERT_OK(job_store_insert(db, "stop", "ocid1.instance.oc1..i1", "soft", "instance", true, &alice, on_job_id, &a));
        RUN_UNTIL(a.calls == 1);
        ASSERT_EQ(a.error, 0);
        ASSERT_TRUE(a.id > 0);
        sql = strprintf("SELECT operation || ' ' || object_id || ' ' || new_value::text FROM stopstart.audit_log "
                        "WHERE new_value->>'job' = '%" PRIu64 "'", a.id);
        expected = strprintf("stop ocid1.instance.oc1..i1 {\"job\": %" PRIu64 ", \"mode\": \"soft\"}", a.id);
        ASSERT_SQL(sql, expected);

        /* not audited: a periodic refresh */
        ASSERT_OK(job_store_insert(db, "refresh", "", "", "manager", false, &daemon_actor, on_job_id, &b));
        RUN_UNTIL(b.calls == 1);
        ASSERT_EQ(b.error, 0);
        ASSERT_SQL("SELECT count(*) FROM stopstart.audit_log WHERE operation = 'refresh'", "0");

        ASSERT_OK(job_store_set_state(db, (uint32_t) a.id, "running"));
        ASSERT_OK(job_store_finish(db, (uint32_t) b.id, "canceled", "Interrupted."));
        settle();

        b.calls = 0;
        ASSERT_OK(job_store_unfinished(db, on_jobs, &b));
        RUN_UNTIL(b.calls == 1);
        ASSERT_EQ(b.error, 0);
        free(expected);
        expected = strprintf("%" PRIu64 " stop ocid1.instance.oc1..i1 soft,", a.id);
        ASSERT_STREQ(b.jobs, expected);

        /* the action row: inserted once, found again with its token */
        JobAnswer r = {};
        ASSERT_OK(job_store_record_action(db, (uint32_t) a.id, "ocid1.instance.oc1..i1", OCI_ACTION_SOFTSTOP, "tok1",
                                          "manual stop", wanted, on_actions, &r));
        RUN_UNTIL(r.calls == 1);
        ASSERT_EQ(r.error, 0);
        ASSERT_EQ(r.n, 1);
        ASSERT_EQ(r.action.state, ACTION_PENDING);
        ASSERT_STREQ(r.token, "tok1");
        int64_t action_id = r.action.id;
        r.calls = 0;
        ASSERT_OK(job_store_record_action(db, (uint32_t) a.id, "ocid1.instance.oc1..i1", OCI_ACTION_SOFTSTOP, "tok2",
                                          "again", NULL, on_actions, &r));
        RUN_UNTIL(r.calls == 1);
        ASSERT_EQ(r.action.id, action_id);
        ASSERT_STREQ(r.token, "tok1");

        ASSERT_OK(job_store_mark_action_sent(db, action_id, wanted, on_done, &d));
        RUN_UNTIL(d.calls == 1);
        ASSERT_EQ(d.error, 0);
        ASSERT_OK(job_store_action_confirmed(db, action_id, "req-1"));
        ASSERT_OK(job_store_action_finished(db, action_id));
        settle();
        free(sql);
        sql = strprintf("SELECT state || ' ' || attempts || ' ' || opc_request_id || ' ' || (finished_at IS NOT NULL) "
                        "FROM stopstart.actions WHERE id = %" PRId64, action_id);
        ASSERT_SQL(sql, "confirmed 1 req-1 true");

        /* escalation: a second row of the job, refused by OCI */
        r.calls = 0;
        ASSERT_OK(job_store_record_action(db, (uint32_t) a.id, "ocid1.instance.oc1..i1", OCI_ACTION_STOP, "tok3",
                                          NULL, NULL, on_actions, &r));
        RUN_UNTIL(r.calls == 1);
        ASSERT_OK(job_store_action_failed(db, r.action.id, "NotAuthorized", NULL));
        settle();

        r.calls = 0;
        ASSERT_OK(job_store_actions(db, (uint32_t) a.id, NULL, on_actions, &r));
        RUN_UNTIL(r.calls == 1);
        ASSERT_EQ(r.error, 0);
        ASSERT_EQ(r.n, 2);
        ASSERT_EQ(r.action.action, OCI_ACTION_STOP);
        ASSERT_EQ(r.action.state, ACTION_FAILED);

        /* the newest finished action job comes with the instance */
        ASSERT_OK(job_store_finish(db, (uint32_t) a.id, "done", ""));
        settle();
        Rows rows = {};
        ASSERT_OK(inventory_load_instances(db, on_instances, &rows));
        RUN_UNTIL(rows.calls == 1);
        ASSERT_EQ(rows.last_job_id, a.id);
        ASSERT_STREQ(rows.last_job_kind, "stop");
        ASSERT_TRUE(rows.last_job_finished > 0);
        ASSERT_EQ(rows.config_error, 0);
        ASSERT_TRUE(instance_config_is_set(&rows.config, CONFIG_NOTE));
        rows_done(&rows);

        free(r.token);
        free(a.token);
        free(b.jobs);
        free(d.message);
}

/* ---- audit ---- */

typedef struct History {
        int calls, error;
        size_t n;
        HistoryRow first;
        char *operations;
} History;

static void on_history(int error, const StoreRows *rows, const char *message, void *userdata) {
        History *h = userdata;
        HistoryRow row;

        h->calls++;
        h->error = error;
        h->n = store_rows_count(rows);
        free(h->operations);
        h->operations = strdup("");
        for (size_t i = 0; i < h->n; i++) {
                history_row_get(rows, i, &row);
                char *s = strprintf("%s%s%s", h->operations, i > 0 ? "," : "", row.operation);
                free(h->operations);
                h->operations = s;
                if (i == 0)
                        h->first = (HistoryRow) { .id = row.id, .at = row.at, .actor_uid = row.actor_uid };
        }
}

TEST(audit) {
        History h = {};

        ASSERT_OK(audit_store_record_reload(db, &daemon_actor, "/etc/x.yaml"));
        settle();
        ASSERT_SQL("SELECT coalesce(actor_uid::text, 'null') || ' ' || actor || ' ' || (new_value->>'file') "
                   "FROM stopstart.audit_log WHERE operation = 'reload'", "null stopstartd /etc/x.yaml");

        /* one instance's entries, oldest first */
        ASSERT_OK(audit_store_history(db, &(HistoryFilter) { .instance = "ocid1.instance.oc1..i1", .limit = 10 },
                                      on_history, &h));
        RUN_UNTIL(h.calls == 1);
        ASSERT_EQ(h.error, 0);
        ASSERT_STREQ(h.operations, "set-config,stop");
        ASSERT_EQ(h.first.actor_uid, 1000);
        ASSERT_TRUE(h.first.at > 0);

        /* a compartment's subtree covers its instances; limit keeps the newest */
        h.calls = 0;
        ASSERT_OK(audit_store_history(db, &(HistoryFilter) { .compartment = "ocid1.tenancy.oc1..root", .limit = 2 },
                                      on_history, &h));
        RUN_UNTIL(h.calls == 1);
        ASSERT_STREQ(h.operations, "override-expired,stop");

        /* a window in the future is empty */
        h.calls = 0;
        ASSERT_OK(audit_store_history(db, &(HistoryFilter) { .since = UINT64_C(4102444800000000), .limit = 10 },
                                      on_history, &h));
        RUN_UNTIL(h.calls == 1);
        ASSERT_EQ(h.n, 0);
        free(h.operations);
}

int main(void) {
        int r = store_test_setup();

        if (r != 0)
                return r;
        free(sql_value("INSERT INTO stopstart.compartments (id, name, lifecycle_state) VALUES "
                       "('ocid1.tenancy.oc1..root', 'root', 'ACTIVE'), ('ocid1.compartment.oc1..a', 'a', 'ACTIVE'), "
                       "('ocid1.compartment.oc1..gone', 'gone', 'DELETED');"
                       "UPDATE stopstart.compartments SET parent_id = 'ocid1.tenancy.oc1..root' "
                       "WHERE id <> 'ocid1.tenancy.oc1..root';"
                       "INSERT INTO stopstart.regions (name, region_key) VALUES ('us-phoenix-1', 'PHX'), ('eu-frankfurt-1', 'FRA');"
                       "INSERT INTO stopstart.instances (id, compartment_id, region, display_name, lifecycle_state, "
                       "                                 freeform_tags) "
                       "SELECT 'ocid1.instance.oc1..i' || g, 'ocid1.compartment.oc1..a', 'us-phoenix-1', 'i' || g, "
                       "'RUNNING', '{\"env\": \"dev\"}' FROM generate_series(1, 10) g;"
                       "UPDATE stopstart.instances SET shape = 'VM', fault_domain = 'FD-1' "
                       "WHERE id = 'ocid1.instance.oc1..i2';"
                       "UPDATE stopstart.instances SET shape = 'VM' WHERE id = 'ocid1.instance.oc1..i3' RETURNING 1"));

        RUN(inventory);
        RUN(discovery_reads);
        RUN(config);
        RUN(jobs);
        RUN(audit);

        store_test_teardown();
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Storing the inventory (the tree as a snapshot, instances in batches) against a real cluster at
 * schema head (run through tests/lib/pgcluster.py run). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "db.h"
#include "inventory-store.h"
#include "json-util.h"
#include "log.h"
#include "strv.h"
#include "store-test.h"

typedef struct Sync {
        int calls, error;
        InventorySyncResult res;
} Sync;

static void on_sync(int error, const InventorySyncResult *res, const char *message, void *userdata) {
        Sync *s = userdata;
        s->calls++;
        s->error = error;
        if (res)
                s->res = *res;
        if (error < 0)
                fprintf(stderr, "sync failed: %s\n", strna(message));
}

static json_object *compartment(const char *id, const char *parent, const char *name, const char *state) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "parent_id", parent ? json_object_new_string(parent) : NULL);
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "lifecycle_state", json_object_new_string(state));
        json_object_object_add(o, "time_created", json_object_new_string("2024-01-02T03:04:05.678Z"));
        return o;
}

static json_object *instance(const char *id, const char *comp, const char *region, const char *name,
                             const char *state, const char *shape) {
        json_object *o = json_object_new_object(), *tags = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "compartment_id", json_object_new_string(comp));
        json_object_object_add(o, "region", json_object_new_string(region));
        json_object_object_add(o, "availability_domain", json_object_new_string("Uocm:PHX-AD-1"));
        json_object_object_add(o, "shape", shape ? json_object_new_string(shape) : NULL);
        json_object_object_add(o, "display_name", json_object_new_string(name));
        json_object_object_add(o, "lifecycle_state", json_object_new_string(state));
        json_object_object_add(tags, "env", json_object_new_string("dev"));
        json_object_object_add(o, "freeform_tags", tags);
        return o;
}

static Sync sync_compartments(json_object *snap) {
        Sync s = {};
        ASSERT_OK(inventory_sync_compartments(db, 0, snap, on_sync, &s));
        RUN_UNTIL(s.calls == 1);
        ASSERT_EQ(s.error, 0);
        return s;
}

static json_object *tree(const char *b_name, const char *c_parent, bool with_d, const char *a_state) {
        json_object *a = json_object_new_array();
        json_object_array_add(a, compartment("ocid1.tenancy.oc1..root", NULL, "root", "ACTIVE"));
        json_object_array_add(a, compartment("ocid1.compartment.oc1..a", "ocid1.tenancy.oc1..root", "a", a_state));
        json_object_array_add(a, compartment("ocid1.compartment.oc1..b", "ocid1.compartment.oc1..a", b_name, "ACTIVE"));
        json_object_array_add(a, compartment("ocid1.compartment.oc1..c", c_parent, "c", "ACTIVE"));
        if (with_d)
                json_object_array_add(a, compartment("ocid1.compartment.oc1..d", "ocid1.tenancy.oc1..root", "d", "ACTIVE"));
        return a;
}

TEST(compartments) {
        _cleanup_json_ json_object *t1 = tree("b", "ocid1.tenancy.oc1..root", true, "ACTIVE");
        _cleanup_json_ json_object *t2 = tree("b2", "ocid1.compartment.oc1..a", false, "INACTIVE");
        _cleanup_json_ json_object *bad = json_object_new_object();
        Sync s;

        s = sync_compartments(t1);
        ASSERT_EQ(s.res.total, 5);
        ASSERT_EQ(s.res.added, 5);

        /* Same snapshot again: nothing changes, nothing is logged. */
        s = sync_compartments(t1);
        ASSERT_EQ(s.res.total, 5);
        ASSERT_EQ(s.res.added + s.res.removed + s.res.moved + s.res.renamed + s.res.state_changed + s.res.updated, 0);

        /* b renamed, c moved under a, d gone, a inactive. */
        s = sync_compartments(t2);
        ASSERT_EQ(s.res.total, 4);
        ASSERT_EQ(s.res.added, 0);
        ASSERT_EQ(s.res.renamed, 1);
        ASSERT_EQ(s.res.moved, 1);
        ASSERT_EQ(s.res.removed, 1);
        ASSERT_EQ(s.res.state_changed, 1);
        ASSERT_SQL("SELECT parent_id FROM stopstart.compartments WHERE id = 'ocid1.compartment.oc1..c'",
                   "ocid1.compartment.oc1..a");
        ASSERT_SQL("SELECT deleted_at IS NOT NULL FROM stopstart.compartments WHERE id = 'ocid1.compartment.oc1..d'", "t");
        ASSERT_SQL("SELECT string_agg(change, ',' ORDER BY change) FROM stopstart.inventory_changes "
                   "WHERE object_id = 'ocid1.compartment.oc1..d'", "added,removed");

        /* d comes back: added again, deleted_at cleared. */
        s = sync_compartments(t1);
        ASSERT_EQ(s.res.added, 1);
        ASSERT_SQL("SELECT deleted_at IS NULL FROM stopstart.compartments WHERE id = 'ocid1.compartment.oc1..d'", "t");

        ASSERT_ERR(inventory_sync_compartments(db, 0, bad, on_sync, NULL), EINVAL);
}

static void on_run(int error, int64_t id, void *userdata) {
        int64_t *p = userdata;
        ASSERT_EQ(error, 0);
        *p = id;
}

static int64_t run_begin(void) {
        int64_t run = 0;

        ASSERT_OK(inventory_run_begin(db, on_run, &run));
        RUN_UNTIL(run > 0);
        return run;
}

/* Discovery's incremental form: each batch one statement. */
static Sync upsert_batch(int64_t run, json_object *batch) {
        const char *text = json_object_to_json_string_ext(batch, JSON_C_TO_STRING_PLAIN);
        Sync s = {};

        ASSERT_OK(inventory_upsert_instances_take(db, run, strdup(text), on_sync, &s));
        RUN_UNTIL(s.calls == 1);
        ASSERT_EQ(s.error, 0);
        return s;
}

static Sync upsert_one(int64_t run, json_object *instance) {
        _cleanup_json_ json_object *a = json_object_new_array();

        json_object_array_add(a, instance);
        return upsert_batch(run, a);
}

static Sync remove_unseen(int64_t run, const char *region) {
        Sync s = {};

        ASSERT_OK(inventory_remove_unseen_instances(db, run, region, on_sync, &s));
        RUN_UNTIL(s.calls == 1);
        ASSERT_EQ(s.error, 0);
        return s;
}

static void add_up(InventorySyncResult *sum, const InventorySyncResult *r) {
        sum->total += r->total;
        sum->added += r->added;
        sum->removed += r->removed;
        sum->moved += r->moved;
        sum->renamed += r->renamed;
        sum->state_changed += r->state_changed;
        sum->updated += r->updated;
        sum->skipped += r->skipped;
}

/* Two runs over one region, one instance per batch (and one twice), then the unseen marked
 * removed: each change recorded once. */
TEST(instances_in_batches) {
        const char *fra = "eu-frankfurt-1";
        int64_t run;
        InventorySyncResult sum = {};
        char sql[256];
        Sync s;

        ASSERT_EQ(inventory_upsert_instances_take(db, 0, strdup("[]"), on_sync, NULL), -EINVAL);
        ASSERT_EQ(inventory_remove_unseen_instances(db, 1, "", on_sync, NULL), -EINVAL);

        run = run_begin();
        s = upsert_one(run, instance("k1", "ocid1.compartment.oc1..a", fra, "web-1", "RUNNING", "VM.Standard.E4.Flex"));
        add_up(&sum, &s.res);
        s = upsert_one(run, instance("k2", "ocid1.compartment.oc1..b", fra, "web-2", "STOPPED", "VM.Standard2.1"));
        add_up(&sum, &s.res);
        s = upsert_one(run, instance("k3", "ocid1.compartment.oc1..b", fra, "db-1", "RUNNING", NULL));
        add_up(&sum, &s.res);
        s = upsert_one(run, instance("k4", "ocid1.compartment.oc1..nope", fra, "lost", "RUNNING", NULL));
        add_up(&sum, &s.res);
        /* k1 again (a page boundary moved): not counted twice, no change */
        s = upsert_one(run, instance("k1", "ocid1.compartment.oc1..a", fra, "web-1", "RUNNING", "VM.Standard.E4.Flex"));
        add_up(&sum, &s.res);
        ASSERT_EQ(s.res.added + s.res.moved + s.res.renamed + s.res.state_changed + s.res.updated, 0);
        ASSERT_EQ(sum.total, 3);
        ASSERT_EQ(sum.added, 3);
        ASSERT_EQ(sum.skipped, 1);
        s = remove_unseen(run, fra);
        ASSERT_EQ(s.res.removed, 0);

        /* second run: k2 moved and started, k3 renamed, k1 not seen */
        run = run_begin();
        sum = (InventorySyncResult) {};
        s = upsert_one(run, instance("k2", "ocid1.compartment.oc1..c", fra, "web-2", "RUNNING", NULL));
        add_up(&sum, &s.res);
        /* a run whose listing stops here never marks k3 removed */
        ASSERT_SQL("SELECT count(*) FROM stopstart.instances WHERE id = 'k3' AND deleted_at IS NULL", "1");
        s = upsert_one(run, instance("k3", "ocid1.compartment.oc1..b", fra, "db-one", "RUNNING", "VM.X"));
        add_up(&sum, &s.res);
        s = remove_unseen(run, fra);
        ASSERT_EQ(sum.total, 2);
        ASSERT_EQ(s.res.removed, 1);
        ASSERT_EQ(sum.moved, 1);
        ASSERT_EQ(sum.state_changed, 1);
        ASSERT_EQ(sum.renamed, 1);
        ASSERT_EQ(sum.added, 0);
        ASSERT_EQ(sum.updated, 0);
        snprintf(sql, sizeof sql,
                 "SELECT string_agg(object_id || ':' || change, ',' ORDER BY object_id, change) "
                 "FROM stopstart.inventory_changes WHERE run_id = %lld", (long long) run);
        ASSERT_SQL(sql, "k1:removed,k2:moved,k2:state,k3:renamed");
        /* a batch without a shape (Resource Search) keeps the stored one */
        ASSERT_SQL("SELECT shape FROM stopstart.instances WHERE id = 'k2'", "VM.Standard2.1");
        ASSERT_SQL("SELECT shape FROM stopstart.instances WHERE id = 'k3'", "VM.X");
        ASSERT_SQL("SELECT freeform_tags->>'env' FROM stopstart.instances WHERE id = 'k2'", "dev");
        ASSERT_SQL("SELECT deleted_at IS NOT NULL FROM stopstart.instances WHERE id = 'k1'", "t");
        /* other regions untouched */
        ASSERT_SQL("SELECT count(*) FROM stopstart.instances WHERE region <> 'eu-frankfurt-1' AND deleted_at IS NOT NULL "
                   "AND last_run IS NOT NULL", "0");
}

/* Compartments ahead of the tree: inserted once ('added'), existing ones left alone. */
TEST(compartments_ahead) {
        _cleanup_json_ json_object *a = json_object_new_array();
        Sync s = {};

        json_object_array_add(a, compartment("ocid1.compartment.oc1..e", "ocid1.tenancy.oc1..root", "e", "ACTIVE"));
        json_object_array_add(a, compartment("ocid1.compartment.oc1..f", "ocid1.compartment.oc1..e", "f", "ACTIVE"));
        json_object_array_add(a, compartment("ocid1.compartment.oc1..a", "ocid1.tenancy.oc1..root", "a-renamed", "ACTIVE"));
        ASSERT_OK(inventory_add_compartments(db, 0, a, on_sync, &s));
        RUN_UNTIL(s.calls == 1);
        ASSERT_EQ(s.error, 0);
        ASSERT_EQ(s.res.total, 2);
        ASSERT_EQ(s.res.added, 2);
        ASSERT_SQL("SELECT name FROM stopstart.compartments WHERE id = 'ocid1.compartment.oc1..a'", "a");
        ASSERT_SQL("SELECT parent_id FROM stopstart.compartments WHERE id = 'ocid1.compartment.oc1..f'",
                   "ocid1.compartment.oc1..e");
}

TEST(runs_and_scale) {
        _cleanup_json_ json_object *comps = json_object_new_array(), *insts = json_object_new_array();
        int64_t run = 0, finished = 0;
        struct timespec t0, t1;
        char id[64], parent[64], name[64];
        Sync s;

        run = run_begin();

        json_object_array_add(comps, compartment("ocid1.tenancy.oc1..root", NULL, "root", "ACTIVE"));
        for (int i = 0; i < 2000; i++) {
                snprintf(id, sizeof id, "ocid1.compartment.oc1..big%04d", i);
                snprintf(parent, sizeof parent, "ocid1.compartment.oc1..big%04d", i / 10 - 1);
                snprintf(name, sizeof name, "big-%d", i);
                /* 10 children per node; the first ten hang off the root */
                json_object_array_add(comps, compartment(id, i < 10 ? "ocid1.tenancy.oc1..root" : parent, name, "ACTIVE"));
        }
        for (int i = 0; i < 20000; i++) {
                snprintf(id, sizeof id, "ocid1.instance.oc1.phx.big%05d", i);
                snprintf(parent, sizeof parent, "ocid1.compartment.oc1..big%04d", i % 2000);
                snprintf(name, sizeof name, "vm-%d", i);
                json_object_array_add(insts, instance(id, parent, "us-phoenix-1", name, i % 3 ? "RUNNING" : "STOPPED", NULL));
        }

        clock_gettime(CLOCK_MONOTONIC, &t0);
        s = sync_compartments(comps);
        ASSERT_EQ(s.res.added, 2000);
        s = upsert_batch(run, insts);
        ASSERT_EQ(s.res.total, 20000);
        s = remove_unseen(run, "us-phoenix-1");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ASSERT_EQ(s.res.removed, 0);
        printf("# 2,000 compartments + 20,000 instances stored in %.0f ms\n",
               (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);

        /* Again, with every instance's state flipped: 20,000 state changes, one statement. */
        for (size_t i = 0; i < json_object_array_length(insts); i++)
                json_object_object_add(json_object_array_get_idx(insts, i), "lifecycle_state",
                                       json_object_new_string(i % 3 ? "STOPPED" : "RUNNING"));
        ASSERT_OK(inventory_run_finish(db, run, NULL, 2001, 20000, 42, 1234, on_run, &finished));
        RUN_UNTIL(finished == run);
        run = run_begin();
        s = upsert_batch(run, insts);
        ASSERT_EQ(s.res.state_changed, 20000);
        ASSERT_EQ(s.res.added, 0);

        finished = 0;
        ASSERT_OK(inventory_run_finish(db, run, NULL, 2001, 20000, 42, 1234, on_run, &finished));
        RUN_UNTIL(finished == run);
        ASSERT_SQL("SELECT result || ' ' || requests FROM stopstart.discovery_runs ORDER BY id DESC LIMIT 1", "done 42");
}

int main(void) {
        int r = store_test_setup();

        if (r != 0)
                return r;

        RUN(compartments);
        RUN(instances_in_batches);
        RUN(compartments_ahead);
        RUN(runs_and_scale);

        store_test_teardown();
        return 0;
}

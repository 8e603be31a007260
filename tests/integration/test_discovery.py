#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Discovery (daemon/discovery/discovery.h) end to end: `stopstartd --discover-once` against the fake OCI
server (tests/fake-oci), storing into a throwaway PostgreSQL migrated with stopstartctl. What
lands in the database is compared with the fake's own dump of the tenancy, the number of
requests and the concurrency with its counters.

    /usr/bin/python3 tests/integration/test_discovery.py [-v] [TestClass[.test_name]]
"""
import json
import os
import re
import shutil
import sys
import tempfile
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("STOPSTART_SOURCE_ROOT", os.path.normpath(os.path.join(HERE, "..", "..")))
BUILD_ROOT = os.environ.get("STOPSTART_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "lib"))

import fakeoci  # noqa: E402
import ocikeys  # noqa: E402
import sanitizers  # noqa: E402
from pgcluster import PgCluster  # noqa: E402

DAEMON = os.path.join(BUILD_ROOT, "daemon", "stopstartd")
CTL = os.path.join(BUILD_ROOT, "ctl", "stopstartctl")
DRIVER = os.path.join(BUILD_ROOT, "tests", "integration", "discovery-driver")
REGIONS = ["us-phoenix-1", "us-ashburn-1"]
# stopstartd's exit codes (daemon/core/manager.h, daemon/core/discover-once.h)
EXIT_SCHEMA, EXIT_OCI_AUTH = 65, 77
SUMMARY = re.compile(r"Discovery run (\d+): .*?(\d+) HTTP requests for (\d+) pages \(ListInstances: (\d+) pages, "
                     r"(\d+) compartments, (\d+) instances not as Search said\), at most (\d+) in flight")


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["STOPSTART_LOG_LEVEL"] = "info"
    return env


class DiscoveryCase(unittest.TestCase):
    """One PostgreSQL cluster and one fake OCI server per class; every test gets a fresh database
    at the migration head and the tenancy as it was generated."""
    server = dict(seed=3, compartments=60, depth=4, instances=800, regions=REGIONS,
                  state_mix="RUNNING=6,STOPPED=3,TERMINATED=1")
    server_args = ["--compartment-state-mix", "ACTIVE=9,DELETED=1"]
    extra_env = {}
    store_batch = None      # discovery.store_batch of every config written (None: the default)

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="test-discovery.")
        cls.pg = PgCluster().start()
        try:
            cls.oci = fakeoci.FakeOci(workdir=os.path.join(cls.tmp, "oci"), args=cls.server_args,
                                      **cls.server).start()
        except Exception:
            cls.pg.stop()
            raise
        cls.fixture = cls.oci.dump()

    @classmethod
    def tearDownClass(cls):
        rc = cls.oci.stop()
        cls.pg.stop()
        PgCluster.cleanup_template()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, f"fake OCI server exit status {rc}"

    def setUp(self):
        self.oci.clear_faults()
        self.oci.config(search={"additional_details": True})
        if self.oci.summary()["version"] != 0:
            self.oci.load(self.fixture)
        self.oci.reset_counters()
        self.db = self.new_db()
        self.config = self.write_config()

    def tearDown(self):
        self.assertEqual(self.oci.counters()["internal_errors"], 0, "the fake server hit a bug")

    # --- helpers ---------------------------------------------------------------------------------
    def new_db(self):
        name = "d_" + uuid.uuid4().hex[:10]
        self.pg.createdb(name)
        url = self.pg.url_for(name)
        r = sanitizers.run("stopstartctl db upgrade", [CTL, f"--database={url}", "db", "upgrade", "head"],
                           env=clean_env(), timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.dbname = name
        return url

    def write_config(self, name="stopstartd.yaml", database=None, oci_config=None, regions=REGIONS, oci=None,
                     **discovery):
        o = dict(connect_timeout="5s", request_timeout="30s", max_attempts=10, retry_max_time="60s",
                 retry_base_delay="10ms", retry_max_delay="200ms")
        o.update(oci or {})
        lines = [f"database: \"{database or self.db}\"", "oci:",
                 f"  config_file: {oci_config or self.oci.config_file}",
                 f"  endpoint: \"{self.oci.url}/{{region}}\""]
        if regions:
            lines.append(f"  regions: [{', '.join(regions)}]")
        lines += [f"  {k}: {v}" for k, v in o.items()]
        if self.store_batch:
            discovery.setdefault("store_batch", self.store_batch)
        if discovery:
            lines += ["discovery:"] + [f"  {k}: {v}" for k, v in discovery.items()]
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def discover(self, config=None, expect=0, timeout=300):
        """Runs stopstartd --discover-once; returns (JSON line or None, stderr, the log summary)."""
        p = sanitizers.run("stopstartd --discover-once", [DAEMON, "--config", config or self.config, "--discover-once"],
                           env=dict(clean_env(), **self.extra_env), timeout=timeout)
        self.assertEqual(p.returncode, expect, f"stdout: {p.stdout}\nstderr: {p.stderr}")
        m = SUMMARY.search(p.stderr)
        summary = dict(zip(("run", "http", "pages", "list_pages", "list_compartments", "differ", "in_flight"),
                           map(int, m.groups()))) if m else None
        if expect != 0:
            self.assertEqual(p.stdout, "")
            lines = p.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, p.stderr)   # one clear line
            return None, lines[0], None
        self.assertEqual(len(p.stdout.splitlines()), 1, p.stdout)
        out = json.loads(p.stdout)
        self.assertEqual(sorted(out), ["compartments", "elapsed_ms", "instances", "requests"])
        self.assertIsNotNone(summary, p.stderr)
        return out, p.stderr, summary

    def drive(self, *args, timeout=120):
        """The engine's API as the Manager uses it (discovery-driver.c): its JSON lines."""
        p = sanitizers.run("discovery-driver", [DRIVER, self.config, *map(str, args)], env=clean_env(),
                           timeout=timeout)
        self.assertEqual(p.returncode, 0, p.stderr)
        return [json.loads(line) for line in p.stdout.splitlines()]

    def sql(self, query, db=None):
        """The JSON value of a query that returns one json column, one row."""
        return json.loads(self.pg.psql(query, dbname=db or self.dbname) or "null")

    def stored(self):
        comps = self.sql("SELECT coalesce(json_object_agg(id, json_build_array(parent_id, name, lifecycle_state)), "
                         "'{}') FROM stopstart.compartments WHERE deleted_at IS NULL")
        insts = self.sql("SELECT coalesce(json_object_agg(id, json_build_array(compartment_id, region, "
                         "availability_domain, fault_domain, shape, display_name, lifecycle_state, freeform_tags, "
                         "defined_tags, (extract(epoch FROM time_created) * 1000)::bigint)), '{}') "
                         "FROM stopstart.instances WHERE deleted_at IS NULL")
        return comps, insts

    @staticmethod
    def millis(t):
        import datetime
        return round(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000)

    def expected(self, dump=None, regions=REGIONS):
        d = dump or self.oci.dump()
        t = d["tenancy"]
        comps = {t["id"]: [None, t["name"], "ACTIVE"]}
        comps.update({c["id"]: [c["compartmentId"], c["name"], c["lifecycleState"]] for c in d["compartments"]})
        insts = {i["id"]: [i["compartmentId"], i["region"], i["availabilityDomain"], i["faultDomain"], i["shape"],
                           i["displayName"], i["lifecycleState"], i["freeformTags"], i["definedTags"],
                           self.millis(i["timeCreated"])]
                 for i in d["instances"] if i["region"] in regions}
        return comps, insts

    def assert_stored_exactly(self, regions=REGIONS):
        comps, insts = self.stored()
        want_c, want_i = self.expected(regions=regions)
        self.assertEqual(len(comps), len(want_c))
        self.assertEqual(comps, want_c)          # the tree: ids, parents, names, states
        self.assertEqual(len(insts), len(want_i))
        for k, v in want_i.items():
            self.assertEqual(insts.get(k), v, k)

    def run_row(self, run_id):
        return self.sql(f"SELECT row_to_json(r) FROM stopstart.discovery_runs r WHERE id = {int(run_id)}")

    def changes(self, run_id):
        rows = self.sql("SELECT coalesce(json_agg(json_build_array(object_kind, object_id, change, old_value, "
                        f"new_value)), '[]') FROM stopstart.inventory_changes WHERE run_id = {int(run_id)}")
        ch = {(k, i, c): (o, n) for k, i, c, o, n in rows}
        self.assertEqual(len(ch), len(rows), "a change recorded twice")
        return ch

    def last_run(self):
        return self.sql("SELECT row_to_json(r) FROM stopstart.discovery_runs r ORDER BY id DESC LIMIT 1")


class TestSmall(DiscoveryCase):
    def test_exact_tree_and_instances(self):
        out, err, s = self.discover()
        summary = self.oci.summary()
        self.assertEqual(out["compartments"], summary["compartments"] + 1)   # with the root
        self.assertEqual(out["instances"], summary["instances"])
        self.assert_stored_exactly()
        # DELETED compartments are stored as such, not as removed
        deleted = [c["id"] for c in self.fixture["compartments"] if c["lifecycleState"] == "DELETED"]
        self.assertTrue(deleted)
        cnt = self.oci.counters()
        self.assertEqual(out["requests"], cnt["total"])
        self.assertLessEqual(cnt["max_in_flight"], 16)
        self.assertEqual(set(cnt["requests"]), {"GetTenancy", "ListCompartments", "SearchResources"})
        self.assertEqual(s["list_pages"], 0)     # Search gave every shape
        row = self.run_row(s["run"])
        self.assertEqual((row["result"], row["compartments"], row["instances"], row["requests"], row["error"]),
                         ("done", out["compartments"], out["instances"], out["requests"], ""))
        # the regions the run covered, the home region marked (the Manager's Regions property)
        regions = self.sql("SELECT json_agg(json_build_array(name, region_key, is_home) ORDER BY name) "
                           "FROM stopstart.regions")
        self.assertEqual(regions, sorted([[r, {"us-phoenix-1": "PHX", "us-ashburn-1": "IAD"}[r],
                                           r == self.oci.home_region] for r in REGIONS]))
        ch = self.changes(s["run"])
        self.assertEqual(len(ch), out["compartments"] + out["instances"])
        self.assertEqual({c for _, _, c in ch}, {"added"})
        # a second run finds nothing new and records nothing
        out2, _, s2 = self.discover()
        self.assertEqual((out2["compartments"], out2["instances"]), (out["compartments"], out["instances"]))
        self.assertEqual(self.changes(s2["run"]), {})

    def test_subscribed_regions_and_page_size(self):
        # no oci.regions: every READY subscription; small pages: many of them, all followed
        self.config = self.write_config(regions=None, page_size=7, max_in_flight=4)
        out, _, s = self.discover()
        self.assert_stored_exactly()
        cnt = self.oci.counters()
        self.assertEqual(cnt["requests"]["ListRegionSubscriptions"]["200"], 1)
        self.assertGreaterEqual(cnt["requests"]["ListCompartments"]["200"], len(self.fixture["compartments"]) // 7)
        self.assertLessEqual(cnt["max_in_flight"], 4)
        self.assertLessEqual(s["in_flight"], 4)

    def test_search_matches_list_instances(self):
        """Search alone, then ListInstances for every compartment with instances: identical."""
        out, _, s = self.discover(self.write_config(details="never"))
        self.assertEqual(s["list_pages"], 0)
        self.assert_stored_exactly()
        out, _, s = self.discover(self.write_config(details="always"))
        self.assertGreater(s["list_pages"], 0)
        with_instances = {(i["compartmentId"], i["region"]) for i in self.fixture["instances"]}
        self.assertEqual(s["list_compartments"], len(with_instances))
        self.assertEqual(s["differ"], 0)
        self.assertEqual(self.changes(s["run"]), {})
        self.assert_stored_exactly()

    def test_details_from_list_instances_when_search_lacks_them(self):
        self.oci.config(search={"additional_details": False})
        # first run: no shape known anywhere: ListInstances for every compartment with instances
        out, _, s = self.discover()
        self.assert_stored_exactly()
        self.assertGreater(s["list_compartments"], 0)
        # known in the database now: no ListInstances at all
        out, _, s = self.discover()
        self.assertEqual(s["list_pages"], 0)
        self.assert_stored_exactly()
        # one new instance: ListInstances for its compartment only
        cid = self.fixture["compartments"][5]["id"]
        new = self.oci.add_instance(compartmentId=cid, region="us-ashburn-1", displayName="fresh",
                                    shape="VM.Standard.E5.Flex", lifecycleState="RUNNING")
        out, _, s = self.discover()
        self.assertEqual((s["list_compartments"], s["list_pages"]), (1, 1))
        self.assertEqual(self.sql(f"SELECT to_json(shape) FROM stopstart.instances WHERE id = '{new['id']}'"),
                         "VM.Standard.E5.Flex")
        self.assert_stored_exactly()
        # details never: the shape of a new instance stays unknown (NULL), nothing else changes
        new2 = self.oci.add_instance(compartmentId=cid, region="us-ashburn-1", displayName="fresh2",
                                     shape="VM.Standard.E5.Flex")
        out, _, s = self.discover(self.write_config(details="never"))
        self.assertEqual(s["list_pages"], 0)
        self.assertEqual(self.sql(f"SELECT json_build_array(shape, fault_domain) FROM stopstart.instances "
                                  f"WHERE id = '{new2['id']}'"), [None, None])
        self.assertEqual(self.sql("SELECT count(*) FROM stopstart.instances WHERE shape IS NULL"), 1)

    def test_details_pass_is_off_the_critical_path(self):
        """Without additionalDetails the inventory (names, states, compartments, the unseen marked
        removed) is complete before ListInstances fills in the shapes: slow ListInstances pages
        delay the shapes, not the inventory."""
        self.oci.config(search={"additional_details": False})
        gone = self.fixture["instances"][0]["id"]
        self.discover()
        self.oci.remove_instance(gone)
        self.pg.psql("UPDATE stopstart.instances SET shape = NULL, fault_domain = NULL", dbname=self.dbname)
        self.oci.set_faults(operations={"ListInstances": {"latency_ms": 400}})
        _, err, s = self.discover()
        m = re.search(r"inventory complete in (\d+) ms; fetched in (\d+) ms", err)
        self.assertIsNotNone(m, err)
        inventory_ms, fetched_ms = int(m.group(1)), int(m.group(2))
        self.assertGreater(s["list_pages"], 0)
        # every ListInstances page takes 400 ms: the inventory was complete before the first one
        # answered, the shapes came after
        self.assertLess(inventory_ms + 300, fetched_ms, err)
        self.assertEqual(self.sql(f"SELECT to_json(deleted_at IS NOT NULL) FROM stopstart.instances WHERE id = '{gone}'"),
                         True)
        self.assertEqual(self.sql("SELECT count(*) FROM stopstart.instances WHERE shape IS NULL AND deleted_at IS NULL"),
                         0)
        self.assert_stored_exactly()

    def test_incremental_changes(self):
        out, _, s = self.discover()
        d = self.fixture
        root = d["tenancy"]["id"]
        live = [c for c in d["compartments"] if c["lifecycleState"] == "ACTIVE"]
        parents = {c["compartmentId"] for c in d["compartments"]}
        leaves = [c for c in live if c["id"] not in parents]
        c_ren, c_mov, c_del = leaves[0], leaves[1], leaves[2]
        target = next(c for c in live if c["id"] not in (c_ren["id"], c_mov["id"], c_del["id"], c_mov["compartmentId"]))
        insts = [i for i in d["instances"] if i["lifecycleState"] in ("RUNNING", "STOPPED")
                 and i["compartmentId"] not in (c_del["id"],)]
        i_rm, i_mv, i_rn, i_st = insts[0], insts[1], insts[2], insts[3]

        new_c = self.oci.add_compartment(name="brand-new", compartmentId=root)
        self.oci.update_compartment(c_ren["id"], name=c_ren["name"] + "-renamed")
        self.oci.update_compartment(c_mov["id"], compartmentId=target["id"])
        self.oci.update_compartment(c_del["id"], lifecycleState="DELETED")
        new_i = self.oci.add_instance(compartmentId=new_c["id"], region="us-phoenix-1", displayName="added-one",
                                      lifecycleState="RUNNING")
        self.oci.remove_instance(i_rm["id"])
        mv_to = next(c["id"] for c in live if c["id"] != i_mv["compartmentId"] and c["id"] != c_del["id"])
        self.oci.update_instance(i_mv["id"], compartmentId=mv_to)
        self.oci.update_instance(i_rn["id"], displayName=i_rn["displayName"] + "-renamed")
        new_state = "STOPPED" if i_st["lifecycleState"] == "RUNNING" else "RUNNING"
        self.oci.update_instance(i_st["id"], lifecycleState=new_state)

        out, _, s = self.discover()
        ch = self.changes(s["run"])
        want = {("compartment", new_c["id"], "added"), ("compartment", c_ren["id"], "renamed"),
                ("compartment", c_mov["id"], "moved"), ("compartment", c_del["id"], "state"),
                ("instance", new_i["id"], "added"), ("instance", i_rm["id"], "removed"),
                ("instance", i_mv["id"], "moved"), ("instance", i_rn["id"], "renamed"),
                ("instance", i_st["id"], "state")}
        self.assertEqual(set(ch), want)
        self.assertEqual(ch[("instance", i_st["id"], "state")],
                         ({"lifecycle_state": i_st["lifecycleState"]}, {"lifecycle_state": new_state}))
        self.assertEqual(ch[("instance", i_mv["id"], "moved")][1], {"compartment_id": mv_to})
        self.assertEqual(ch[("compartment", c_mov["id"], "moved")][1], {"parent_id": target["id"]})
        self.assertEqual(ch[("compartment", c_ren["id"], "renamed")][1], {"name": c_ren["name"] + "-renamed"})
        self.assert_stored_exactly()
        self.assertIsNotNone(self.sql(f"SELECT to_json(deleted_at) FROM stopstart.instances "
                                      f"WHERE id = '{i_rm['id']}'"))

    def test_incremental_changes_in_small_batches(self):
        # instances stored 7 at a time while fetching: exactly the same changes, each once
        self.store_batch = 7
        self.config = self.write_config()
        out, _, s = self.discover()
        self.assertEqual(len(self.changes(s["run"])), len(self.expected()[0]) + len(self.expected()[1]))
        self.assert_stored_exactly()
        self.setUp()
        self.test_incremental_changes()

    def test_failed_listing_in_small_batches(self):
        # what a failed region's pages showed is stored, but nothing of it is marked removed
        self.store_batch = 3
        self.config = self.write_config()
        self.test_failed_listing_never_marks_unseen_as_removed()

    def test_failed_listing_never_marks_unseen_as_removed(self):
        out, _, s = self.discover()
        # one instance gone in each region; then the first search fails for good (no retries)
        gone = {}
        for region in REGIONS:
            i = next(i for i in self.fixture["instances"] if i["region"] == region)
            self.oci.remove_instance(i["id"])
            gone[region] = i["id"]
        cfg = self.write_config(oci={"max_attempts": 1})
        self.oci.set_faults(once=[{"operation": "SearchResources", "fault": "500", "count": 1}])
        _, line, _ = self.discover(cfg, expect=1)
        m = re.match(r"stopstartd: Discovery failed: Region (\S+): SearchResources: HTTP 500 ", line)
        self.assertIsNotNone(m, line)
        failed = m.group(1)
        ok = next(r for r in REGIONS if r != failed)
        run = self.last_run()
        self.assertEqual(run["result"], "failed")
        self.assertIn("HTTP 500", run["error"])
        ch = self.changes(run["id"])
        # the region that completed is synchronised, the other one is left alone
        self.assertEqual(set(ch), {("instance", gone[ok], "removed")})
        self.assertEqual(self.sql("SELECT json_object_agg(id, deleted_at IS NOT NULL) FROM stopstart.instances "
                                  f"WHERE id IN ('{gone[ok]}', '{gone[failed]}')"),
                         {gone[ok]: True, gone[failed]: False})

        # the tree cannot be listed: nothing is synchronised at all
        c = self.fixture["compartments"][0]
        self.oci.update_compartment(c["id"], name="not-seen")
        self.oci.set_faults(once=[{"operation": "ListCompartments", "fault": "503", "count": 1}])
        _, line, _ = self.discover(cfg, expect=1)
        self.assertIn("ListCompartments: HTTP 503", line)
        run = self.last_run()
        self.assertEqual((run["result"], run["compartments"], run["instances"]), ("failed", 0, 0))
        self.assertEqual(self.changes(run["id"]), {})
        self.assertEqual(self.sql(f"SELECT to_json(name) FROM stopstart.compartments WHERE id = '{c['id']}'"),
                         c["name"])
        self.assertEqual(self.sql(f"SELECT to_json(deleted_at IS NULL) FROM stopstart.instances "
                                  f"WHERE id = '{gone[failed]}'"), True)
        # and a run without faults catches up
        self.oci.clear_faults()
        out, _, s = self.discover()
        self.assertEqual(set(self.changes(s["run"])), {("instance", gone[failed], "removed"),
                                                       ("compartment", c["id"], "renamed")})
        self.assert_stored_exactly()

    def test_api_progress_and_done(self):
        self.oci.set_faults(latency_ms=15)
        lines = self.drive()
        done = lines[-1]["done"]
        summary = self.oci.summary()
        self.assertEqual((done["error"], done["message"]), (0, None))
        self.assertEqual((done["compartments"], done["instances"]), (summary["compartments"] + 1,
                                                                    summary["instances"]))
        progress = [x["progress"] for x in lines[:-1]]
        self.assertGreater(len(progress), 1)
        fractions = [p["fraction"] for p in progress]
        self.assertEqual(fractions, sorted(fractions))
        self.assertTrue(all(0 <= f < 1 for f in fractions))
        self.assertEqual(progress[-1]["phase"], "storing")
        self.assertTrue({p["phase"] for p in progress} <= {"listing", "details", "storing"})
        self.assertEqual(progress[-1]["instances"], summary["instances"])
        self.assert_stored_exactly()

    def test_api_cancel(self):
        # slow enough that the searches are still running when the run is cancelled
        self.oci.set_faults(latency_ms=60)
        lines = self.drive(150)
        self.assertEqual(lines[-1], {"cancelled": True})
        self.assertFalse(any("done" in x for x in lines))
        run = self.last_run()
        self.assertEqual((run["result"], run["error"]), ("failed", "cancelled"))
        # batches stored before the cancel stay (what the run saw), but nothing is marked removed
        self.assertEqual(self.sql("SELECT count(*) FROM stopstart.instances WHERE deleted_at IS NOT NULL"), 0)
        self.assertEqual(self.sql("SELECT count(*) FROM stopstart.inventory_changes WHERE object_kind = 'instance' "
                                  "AND change <> 'added'"), 0)
        self.assertEqual(self.sql("SELECT count(*) FROM stopstart.instances"),
                         self.sql("SELECT count(*) FROM stopstart.inventory_changes WHERE object_kind = 'instance'"))
        # and the next run is complete
        self.oci.clear_faults()
        out, _, s = self.discover()
        self.assert_stored_exactly()

    def test_wrong_key_is_a_clear_401(self):
        kdir = os.path.join(self.tmp, "wrong-key")
        key = ocikeys.generate_key(kdir)
        cfg = ocikeys.write_oci_config(os.path.join(kdir, "config"), key, self.oci.tenancy_id, self.oci.home_region)
        _, line, _ = self.discover(self.write_config("wrong.yaml", oci_config=cfg), expect=EXIT_OCI_AUTH)
        self.assertRegex(line, r"^stopstartd: Discovery failed: \w+: HTTP 401 NotAuthenticated: ")
        self.assertIn("opc-request-id", line)
        run = self.last_run()
        self.assertEqual(run["result"], "failed")
        self.assertIn("NotAuthenticated", run["error"])
        self.assertEqual(self.sql("SELECT count(*) FROM stopstart.compartments"), 0)
        self.assertGreater(self.oci.counters()["auth_failures"].get("unknown-key", 0), 0)

    def test_database_not_at_head_is_refused(self):
        name = "empty_" + uuid.uuid4().hex[:8]
        self.pg.createdb(name)
        cfg = self.write_config("behind.yaml", database=self.pg.url_for(name))
        _, line, _ = self.discover(cfg, expect=EXIT_SCHEMA)
        self.assertIn("stopstartctl db upgrade", line)
        self.assertIn("version 0", line)
        self.assertEqual(self.oci.counters()["total"], 0)   # not a single OCI request
        # nothing was created there either
        self.assertEqual(self.sql("SELECT to_json(count(*)) FROM pg_namespace WHERE nspname LIKE 'stopstart%'",
                                  db=name), 0)


class TestFaults(DiscoveryCase):
    # small pages: some 300 requests, so every kind of fault surely happens
    server = dict(seed=11, compartments=80, depth=3, instances=3000, regions=REGIONS, page_cap=10)
    server_args = ["--fault-seed", "7"]

    def test_exact_under_429_5xx_and_drops(self):
        self.oci.set_faults(rate_429=0.2, rate_5xx=0.05, rate_drop=0.05)
        out, _, s = self.discover(self.write_config(max_in_flight=8))
        self.assert_stored_exactly()
        summary = self.oci.summary()
        self.assertEqual((out["compartments"], out["instances"]), (summary["compartments"] + 1,
                                                                   summary["instances"]))
        cnt = self.oci.counters()
        statuses = {}
        for per_op in cnt["requests"].values():
            for k, v in per_op.items():
                statuses[k] = statuses.get(k, 0) + v
        self.assertGreater(statuses.get("429", 0), 0)
        self.assertGreater(sum(v for k, v in statuses.items() if k.startswith("5")), 0)
        self.assertGreater(statuses.get("dropped", 0), 0)
        # every attempt is counted; libcurl itself resends a request once when it finds a reused
        # connection closed, which the server sees and we do not
        self.assertLessEqual(out["requests"], cnt["total"])
        self.assertGreaterEqual(out["requests"], cnt["total"] - statuses["dropped"])
        self.assertGreater(out["requests"], s["pages"])         # retries happened
        self.assertLessEqual(cnt["max_in_flight"], 8)
        self.assertEqual(self.last_run()["result"], "done")


class TestLarge(DiscoveryCase):
    """2,000 compartments / 20,000 instances, once."""
    server = dict(seed=1, compartments=2000, instances=20000, regions=["us-phoenix-1"], page_cap=100)
    server_args = []

    def test_2000_20000(self):
        out, _, s = self.discover(self.write_config(regions=["us-phoenix-1"]), timeout=600)
        self.assertEqual((out["compartments"], out["instances"]), (2001, 20000))
        self.assert_stored_exactly(regions=["us-phoenix-1"])
        cnt = self.oci.counters()
        self.assertEqual(out["requests"], cnt["total"])
        self.assertLessEqual(cnt["max_in_flight"], 16)
        # 20 pages of compartments, ~2 pages per search batch; the TypeScript SDK needs 2,067
        self.assertLess(out["requests"], 400)
        self.assertEqual(self.run_row(s["run"])["result"], "done")


if __name__ == "__main__":
    unittest.main()

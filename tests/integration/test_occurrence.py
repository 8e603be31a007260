#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The occurrence executor (daemon/exec/occurrence.h) against the fake OCI server, which counts
InstanceActions per instance and honours opc-retry-tokens, and a throwaway PostgreSQL, through
tests/integration/occurrence-driver: exactly once under 429s, 5xx and lost responses; a SIGKILL
in the middle of an occurrence and a resume with none acted on twice and none forgotten; skips
and their reasons; priority groups; max_targets; the SOFTSTOP -> STOP fallback.

    /usr/bin/python3 tests/integration/test_occurrence.py [-v] [TestClass[.test_name]]
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("STOPSTART_SOURCE_ROOT", os.path.normpath(os.path.join(HERE, "..", "..")))
BUILD_ROOT = os.environ.get("STOPSTART_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "lib"))

import fakeoci  # noqa: E402
from pgcluster import PgCluster  # noqa: E402

CTL = os.path.join(BUILD_ROOT, "ctl", "stopstartctl")
DRIVER = os.path.join(BUILD_ROOT, "tests", "integration", "occurrence-driver")
REGION = "us-phoenix-1"


class OccurrenceCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="test-occurrence.")
        cls.pg = PgCluster().start()
        try:
            cls.oci = fakeoci.FakeOci(workdir=os.path.join(cls.tmp, "oci"), seed=5, compartments=6, depth=2,
                                      instances=200, regions=[REGION], state_mix="RUNNING=1").start()
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
        self.oci.load(self.fixture)
        self.oci.set_lifecycle(start_delay=0.3, stop_delay=0.3, softstop_delay=0.3, reset_delay=0.2,
                               softreset_delay=0.2, hang_softstop=[], hang_softreset=[])
        self.oci.reset_counters()
        name = "o_" + uuid.uuid4().hex[:10]
        self.pg.createdb(name)
        self.dbname = name
        self.db = self.pg.url_for(name)
        r = subprocess.run([CTL, f"--database={self.db}", "db", "upgrade", "head"], capture_output=True, text=True,
                           env=self.env(), timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.config = os.path.join(self.tmp, "stopstartd.yaml")
        with open(self.config, "w") as f:
            f.write(f"database: \"{self.db}\"\noci:\n  config_file: {self.oci.config_file}\n"
                    f"  endpoint: \"{self.oci.url}/{{region}}\"\n  regions: [{REGION}]\n"
                    "  max_attempts: 30\n  retry_max_time: 120s\n  retry_base_delay: 10ms\n"
                    "  retry_max_delay: 100ms\n  request_timeout: 10s\n"
                    "scheduler:\n  max_parallel_actions: 16\n")

    def tearDown(self):
        self.assertEqual(self.oci.counters()["internal_errors"], 0, "the fake server hit a bug")

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        return env

    def pg_env(self):
        env = self.env()
        env.update(self.pg.env())
        env["PGDATABASE"] = self.dbname
        return env

    def psql(self, sql):
        return self.pg.psql(sql, dbname=self.dbname)

    def instances(self):
        return [i for i in self.fixture["instances"] if i["lifecycleState"] == "RUNNING"]

    def targets(self, instances=None, **per_id):
        out = []
        for i in instances if instances is not None else self.instances():
            t = {"id": i["id"], "region": REGION, "compartment_id": i["compartmentId"], "priority": 0, "managed": 1,
                 "stop_mode": "soft", "soft_stop_timeout_usec": 300_000_000}
            t.update(per_id.get(i["id"], {}))
            out.append(t)
        path = os.path.join(self.tmp, f"targets-{uuid.uuid4().hex[:6]}.json")
        with open(path, "w") as f:
            json.dump(out, f)
        return path

    def driver(self, targets, *args, wait=True):
        cmd = [DRIVER, f"--config={self.config}", f"--targets={targets}", *args]
        if not wait:
            return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env=self.pg_env())
        p = subprocess.run(cmd, capture_output=True, text=True, env=self.pg_env(), timeout=300)
        self.assertNotIn("Sanitizer", p.stderr)
        self.assertNotIn("runtime error", p.stderr)
        lines = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
        return p.returncode, lines, p.stderr

    def states(self):
        return {i["id"]: i["lifecycleState"] for i in self.oci.dump()["instances"]}

    @staticmethod
    def journal(path):
        """The entries the driver's --journal=PATH captured, each a dict of its fields."""
        with open(path) as f:
            return [dict(line.split("=", 1) for line in entry.splitlines() if "=" in line)
                    for entry in f.read().split("\n\n") if entry.strip()]

    def action_rows(self):
        rows = self.psql("SELECT instance_id, action, state, reason FROM stopstart.actions ORDER BY id")
        return [r.split("|") for r in rows.splitlines() if r]

    def assert_exactly_once(self, ids, actions=("SOFTSTOP",)):
        counters = self.oci.counters()["actions"]
        for iid in ids:
            got = counters.get(iid, {})
            self.assertEqual(sum(got.get(a, 0) for a in actions), 1, f"{iid}: {got}")
            for a, n in got.items():
                self.assertLessEqual(n, 1, f"{iid} got {a} {n} times")


class TestExactlyOnce(OccurrenceCase):
    def test_stop_under_faults_and_lost_responses(self):
        ids = [i["id"] for i in self.instances()]
        self.assertEqual(len(ids), 200)
        self.oci.set_faults(rate_429=0.2, rate_5xx=0.05, rate_lost=0.1)
        rc, out, err = self.driver(self.targets(), "--action=stop", "--at=1780000000000000")
        self.oci.clear_faults()
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[0]["state"], "done", out)
        self.assertEqual((out[0]["acted"], out[0]["skipped"], out[0]["failed"]), (200, 0, 0))
        self.assert_exactly_once(ids)
        counters = self.oci.counters()
        # Lost responses happened and were answered from the retry token, not acted on again.
        self.assertGreater(sum(sum(d.values()) for d in counters["action_replays"].values()), 0)
        # States are read in pages per compartment, not one GetInstance per instance.
        ok = {op: d.get("200", 0) for op, d in counters["requests"].items()}
        self.assertEqual(ok.get("InstanceAction"), 200, ok)
        self.assertLess(ok.get("GetInstance", 0), 20, ok)
        self.assertLess(ok.get("ListInstances", 0), 200, ok)
        st = self.states()
        self.assertTrue(all(st[i] == "STOPPED" for i in ids))
        rows = self.action_rows()
        self.assertEqual(len(rows), 200)
        self.assertTrue(all(r[1] == "SOFTSTOP" and r[2] == "confirmed" for r in rows), rows[:3])
        self.assertEqual(self.psql("SELECT count(*) FROM stopstart.actions WHERE finished_at IS NULL"), "0")
        self.assertEqual(self.psql("SELECT state || ' ' || target_count FROM stopstart.occurrences"), "done 200")

        # A second firing of the same instant is a recorded no-op.
        before = self.oci.counters()["actions_total"]
        rc, out, err = self.driver(self.targets(), "--action=stop", "--at=1780000000000000")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, [{"id": out[0]["id"], "created": False, "state": "done"}])
        self.assertEqual(self.oci.counters()["actions_total"], before)

        # The next firing finds them stopped: all skipped, nothing sent.
        rc, out, err = self.driver(self.targets(), "--action=stop", "--at=1780000100000000")
        self.assertEqual(rc, 0, err)
        self.assertEqual((out[0]["acted"], out[0]["skipped"]), (0, 200))
        self.assertEqual(self.oci.counters()["actions_total"], before)
        self.assertEqual(self.psql("SELECT DISTINCT reason FROM stopstart.actions WHERE state = 'skipped'"),
                         "already STOPPED")

    def test_resume_after_sigkill(self):
        ids = [i["id"] for i in self.instances()]
        self.oci.set_lifecycle(softstop_delay=1.0, stop_delay=1.0)
        self.oci.set_faults(rate_lost=0.1)
        targets = self.targets()
        p = self.driver(targets, "--action=stop", "--at=1780000000000000", "--max-parallel=4", wait=False)
        deadline = time.monotonic() + 60
        while self.oci.counters()["actions_total"] < 40:
            self.assertIsNone(p.poll(), p.stderr.read() if p.poll() is not None else "")
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        p.stderr.close()
        acted = self.oci.counters()["actions_total"]
        self.assertLess(acted, 200)
        self.assertEqual(self.psql("SELECT state FROM stopstart.occurrences"), "running")
        # Killed in the middle: rows not yet confirmed (or not sent at all) are left for the resume.
        unfinished = int(self.psql("SELECT count(*) FROM stopstart.actions WHERE state IN ('pending', 'sent')"))
        self.assertGreater(unfinished, 0)

        rc, out, err = self.driver(targets, "--resume")
        self.oci.clear_faults()
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[0]["state"], "done", out)
        self.assertEqual(out[0]["created"], False)
        self.assertEqual(out[0]["failed"], 0)
        self.assert_exactly_once(ids)
        st = self.states()
        self.assertEqual([i for i in ids if st[i] != "STOPPED"], [])
        self.assertEqual(self.psql("SELECT count(*) FROM stopstart.actions WHERE state <> 'confirmed' "
                                   "OR finished_at IS NULL"), "0")
        self.assertEqual(self.psql("SELECT count(DISTINCT instance_id) FROM stopstart.actions"), "200")


class TestDecisions(OccurrenceCase):
    def test_skip_reasons_and_priorities(self):
        inst = self.instances()[:8]
        a, b, c, d = (i["id"] for i in inst[:4])
        self.oci.update_instance(d, lifecycleState="STOPPED")
        targets = self.targets(inst, **{a: {"managed": 0}, b: {"override_state": "running"},
                                        inst[4]["id"]: {"priority": 1, "stop_mode": "hard"},
                                        inst[5]["id"]: {"priority": -1}})
        rc, out, err = self.driver(targets, "--action=stop")
        self.assertEqual(rc, 0, err)
        self.assertEqual((out[0]["acted"], out[0]["skipped"], out[0]["failed"]), (5, 3, 0), out)
        reasons = {r[0]: (r[1], r[2], r[3]) for r in self.action_rows()}
        self.assertEqual(reasons[a], ("SOFTSTOP", "skipped", "unmanaged (managed=no)"))
        self.assertEqual(reasons[b], ("SOFTSTOP", "skipped", "override: kept running"))
        self.assertEqual(reasons[d], ("SOFTSTOP", "skipped", "already STOPPED"))
        self.assertEqual(reasons[inst[4]["id"]][0], "STOP")            # stop_mode=hard
        self.assertEqual(self.oci.counters()["actions"].get(a), None)
        # Priority groups: -1 before 0 before 1, each finished before the next is sent.
        order = self.psql("SELECT instance_id FROM stopstart.actions WHERE state = 'confirmed' ORDER BY sent_at")
        order = order.splitlines()
        self.assertEqual(order[0], inst[5]["id"])
        self.assertEqual(order[-1], inst[4]["id"])
        first_done = self.psql(f"SELECT finished_at < (SELECT sent_at FROM stopstart.actions WHERE instance_id = "
                               f"'{inst[4]['id']}') FROM stopstart.actions WHERE instance_id = '{inst[5]['id']}'")
        self.assertEqual(first_done, "t")

    def test_closed_day_skips_starts_not_stops(self):
        inst = self.instances()[:3]
        for i in inst:
            self.oci.update_instance(i["id"], lifecycleState="STOPPED")
        rc, out, err = self.driver(self.targets(inst), "--action=start", "--schedule=up", "--closed-by=holidays")
        self.assertEqual(rc, 0, err)
        self.assertEqual((out[0]["acted"], out[0]["skipped"]), (0, 3))
        self.assertEqual({r[3] for r in self.action_rows()}, {"closed by exception calendar holidays"})
        self.assertEqual(self.oci.counters()["actions_total"], 0)
        for i in inst:
            self.oci.update_instance(i["id"], lifecycleState="RUNNING")
        rc, out, err = self.driver(self.targets(inst), "--action=softstop", "--schedule=down", "--closed-by=holidays")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[0]["acted"], 3)

    def test_max_targets_fails_and_acts_on_nothing(self):
        rc, out, err = self.driver(self.targets(self.instances()[:5]), "--action=stop", "--max-targets=4")
        self.assertEqual(rc, 1, err)
        self.assertEqual(out[0]["state"], "failed")
        self.assertIn("5 targets exceed max_targets 4", out[0]["reason"])
        self.assertEqual(self.oci.counters()["actions_total"], 0)
        self.assertEqual(self.psql("SELECT count(*) FROM stopstart.actions"), "0")
        self.assertEqual(self.psql("SELECT state FROM stopstart.occurrences"), "failed")

    def test_softstop_falls_back_to_stop(self):
        inst = self.instances()[:2]
        hung = inst[0]["id"]
        self.oci.set_lifecycle(hang_softstop=[hung])
        targets = self.targets(inst, **{i["id"]: {"soft_stop_timeout_usec": 1_000_000} for i in inst})
        journal = os.path.join(self.tmp, f"journal-{uuid.uuid4().hex[:6]}")
        rc, out, err = self.driver(targets, "--action=softstop", "--schedule=fallback", f"--journal={journal}")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[0]["state"], "done", out)
        # journalctl STOPSTART_INSTANCE=… shows the fallback; STOPSTART_OCCURRENCE=… the whole firing
        entries = self.journal(journal)
        occurrence = {"STOPSTART_OCCURRENCE": str(out[0]["id"]), "STOPSTART_SCHEDULE": "fallback"}
        fallback = [e for e in entries if e.get("STOPSTART_INSTANCE") == hung]
        self.assertTrue(any("sending STOP" in e["MESSAGE"] for e in fallback), entries)
        for e in fallback:
            self.assertEqual({k: e.get(k) for k in occurrence}, occurrence, e)
        ended = [e for e in entries if e["MESSAGE"].startswith(f"Occurrence {out[0]['id']} of fallback done")]
        self.assertEqual(len(ended), 1, entries)
        self.assertEqual({k: ended[0].get(k) for k in occurrence}, occurrence, ended[0])
        self.assertNotIn("STOPSTART_INSTANCE", ended[0])
        got = self.oci.counters()["actions"]
        self.assertEqual(got[hung], {"SOFTSTOP": 1, "STOP": 1})
        self.assertEqual(got[inst[1]["id"]], {"SOFTSTOP": 1})
        rows = [r for r in self.action_rows() if r[0] == hung]
        self.assertEqual([r[1] for r in rows], ["SOFTSTOP", "STOP"])
        self.assertIn("SOFTSTOP did not finish within soft_stop_timeout (1s)", rows[1][3])
        self.assertEqual(self.states()[hung], "STOPPED")

    def test_failure_is_recorded_and_blocks_nothing(self):
        inst = self.instances()[:4]
        gone = inst[0]["id"]
        targets = self.targets(inst)
        self.oci.remove_instance(gone)
        rc, out, err = self.driver(targets, "--action=stop")
        self.assertEqual(rc, 0, err)
        self.assertEqual((out[0]["acted"], out[0]["skipped"]), (3, 1))
        self.assertIn("not found in OCI", {r[0]: r[3] for r in self.action_rows()}[gone])


if __name__ == "__main__":
    unittest.main()

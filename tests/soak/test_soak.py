#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fault soak (issue 13; meson suite "soak"): the whole stack with a real systemd user manager,
then the night's worst: a faulty OCI during discovery and a mass occurrence, the daemon SIGKILLed
again and again in the middle of an occurrence, PostgreSQL stopped under load, the systemd
manager restarted around a firing. What the daemon did is counted at the fake OCI server: every
action exactly once, none forgotten.

make check runs the short form; `make soak` the long one (STOPSTART_SOAK_LONG=1: 1,000 instances,
25 kills, a 30 s database outage). One meson test per class:
    test_soak.py TestOciFaults
"""
import json
import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from busenv import wait_for  # noqa: E402
from schedcase import ScheduleTest, ahead, utc_spec  # noqa: E402
from ssstack import MANAGER, ROOT_PATH, V  # noqa: E402

LONG = os.environ.get("STOPSTART_SOAK_LONG") == "1"
SEED = int(os.environ.get("STOPSTART_SOAK_SEED", str(int(time.time()))))
RUNNING_STATES = ("running", "pending")


def figure(name, value):
    """A measured figure, one line each, for the log (make soak prints them)."""
    print(f"soak: {name}: {value}", file=sys.stderr, flush=True)


class SoakCase(ScheduleTest):
    def live_ids(self):
        """The instances the daemon knows, by OCID (stopstartctl list-instances --json)."""
        return {i["id"] for i in self.ctl_json("list-instances") if i["lifecycle_state"] != "TERMINATED"}

    def assert_exactly_once(self, occ, targets):
        """Every target stopped by one action (the stop mode decides SOFTSTOP or STOP; replays of a
        retry token are not actions), nothing else touched, each target's action row confirmed."""
        acted = self.actions()
        self.assertEqual(set(acted), targets, "acted on exactly the targets")
        doubled = {i: a for i, a in acted.items() if sum(a.values()) != 1}
        self.assertEqual(doubled, {}, "an instance acted on more than once (or otherwise)")
        confirmed = {a["instance_id"] for a in occ["actions"] if a["state"] == "confirmed"}
        self.assertEqual(confirmed, targets, ["every action confirmed in the occurrence's history"] +
                         [a for a in occ["actions"] if a["state"] != "confirmed"])
        for i in targets:
            self.assertEqual(self.st.oci.get_instance(i)["lifecycleState"], "STOPPED", i)
        # The history is complete: one entry per action the occurrence had accepted, none twice.
        entries = self.call(ROOT_PATH, MANAGER, "History", "a{sv}", {"limit": V("UInt32", 100000)})[0]
        seen = {}
        for _, _, actor, _, op, kind, object_id, details in entries:
            d = json.loads(details).get("new") or {}
            if kind == "instance" and d.get("occurrence") == occ["id"]:
                self.assertEqual(actor, f"schedule {occ['schedule']}")
                self.assertEqual((op, d["state"]), (d["action"].lower(), "confirmed"), d)
                seen[object_id] = seen.get(object_id, 0) + 1
        self.assertEqual(seen, {i: 1 for i in targets}, "every action once in the history")


class TestOciFaults(SoakCase):
    """20% 429, 5% 5xx, 5% connection resets and 5% lost responses during a discovery that must
    see a changed tenancy exactly, then during a mass stop occurrence."""
    N = 1000 if LONG else 300
    # 35% of the answers are faults: a production retry budget (oci.max_attempts) of 12 makes a
    # call that fails every attempt a one-in-10^5 event.
    STACK_ARGS = {"instances": N, "compartments": 20, "depth": 3, "max_attempts": 12,
                  "oci_args": ["--start-delay", "0.5", "--stop-delay", "0.5", "--softstop-delay", "0.5"]}
    FAULTS = dict(rate_429=0.2, rate_5xx=0.05, rate_drop=0.05, drop_reset=True, rate_lost=0.05)

    def test_discovery_and_occurrence_under_faults(self):
        self.manage_all()
        # Change the tenancy behind the daemon's back: the refresh must see exactly the new one.
        dump = self.st.oci.dump()
        victims = [i["id"] for i in dump["instances"][:3]]
        for iid in victims:
            self.st.oci.remove_instance(iid)
        self.st.oci.reset_counters()
        self.st.oci.set_faults(**self.FAULTS)
        before = self.st.manager_prop("LastRefresh")
        t0 = time.monotonic()
        r = self.ctl("refresh")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.st.wait_refreshed(before)
        figure("discovery under faults", f"{time.monotonic() - t0:.1f} s, "
               f"answers by status {self.st.oci.counters().get('by_status')}")
        expected = {i["id"] for i in self.instances()}
        self.assertEqual(self.live_ids(), expected, "the inventory equals the tenancy after a refresh under faults")

        running = {i["id"] for i in self.instances("RUNNING")}
        self.st.oci.reset_counters()
        t = ahead(6)
        self.add("mass", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", f"compartment:{self.tenancy}")
        t0 = time.monotonic()
        occ = self.wait_occurrence("mass", timeout=900 if LONG else 400)[0]
        counters = self.st.oci.counters()
        self.st.oci.clear_faults()
        figure("occurrence under faults", f"{len(running)} instances in {time.monotonic() - t0:.1f} s, "
               f"answers by status {counters.get('by_status')}, actions {counters['actions_total']}")
        self.assertEqual(occ["state"], "done", {k: occ[k] for k in ("state", "reason")})
        self.assert_exactly_once(occ, running)
        self.st.check_daemon_log()


class TestKills(SoakCase):
    """SIGKILL at random points of a 200-instance occurrence (10 times; 25 in the long form),
    restarting each time: the occurrence finishes with every action exactly once."""
    N = 600 if LONG else 200
    KILLS = 25 if LONG else 10
    STACK_ARGS = {"instances": N, "compartments": 6,
                  "oci_args": ["--start-delay", "2", "--stop-delay", "2", "--softstop-delay", "2", "--latency", "20"]}

    def test_sigkill_at_random_points(self):
        self.manage_all()
        running = {i["id"] for i in self.instances("RUNNING")}
        self.assertGreater(len(running), 4 * self.KILLS)
        rnd = random.Random(SEED)
        # Kill points as counts of actions the server has received: each one inside the
        # occurrence by construction, spread over its whole length.
        points = sorted(rnd.sample(range(1, len(running) - 2), self.KILLS))
        figure("kill points (actions received)", f"{points} (seed {SEED})")
        self.st.oci.reset_counters()
        t = ahead(5)
        self.add("all-down", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", f"compartment:{self.tenancy}")
        kills = 0
        for p in points:
            wait_for(lambda: self.st.oci.counters()["actions_total"] >= p, 300, 0.02,
                     f"{p} actions received by the server")
            # A few milliseconds later on every other kill: in the middle of a request too.
            time.sleep(rnd.choice((0, rnd.uniform(0, 0.05))))
            self.st.kill_daemon()
            kills += 1
            self.st.start_daemon()
        sent_at_last_kill = points[-1]
        occ = self.wait_occurrence("all-down", timeout=600)[0]
        figure("kills during the occurrence", f"{kills}, the last after {sent_at_last_kill} of {len(running)} actions")
        self.assertEqual(occ["state"], "done", {k: occ[k] for k in ("state", "reason")})
        self.assert_exactly_once(occ, running)
        self.st.check_daemon_log()


class TestDatabaseOutage(SoakCase):
    """PostgreSQL stopped under load (15 s; 30 s in the long form) while two firings fall into the
    outage: reads are served, writes refused in one clear line, the daemon reconnects by itself,
    the firing within its grace is executed once, the one beyond its grace is recorded missed."""
    OUTAGE = 30 if LONG else 15
    # An immediate shutdown is a crash: a commit must survive it as in production.
    STACK_ARGS = {"instances": 40, "compartments": 4, "pg_durable": True}

    def test_outage_under_load(self):
        self.manage_all()
        running = sorted(i["id"] for i in self.instances("RUNNING"))
        self.assertGreaterEqual(len(running), 2)
        within, beyond = running[0], running[1]
        self.ctl("set-config", within, "note=before the outage", check=0)
        t = ahead(6)
        self.add("in-grace", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", "--grace=10min", within)
        self.add("past-grace", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", "--grace=3s", beyond)
        self.st.oci.reset_counters()

        # Load: readers on the bus for the whole outage, each call timed.
        stop = threading.Event()
        answered, failed, slowest = [0], [], [0.0]

        def reader():
            while not stop.is_set():
                t1 = time.monotonic()
                r = self.ctl("list-instances", "--json", timeout=60)
                slowest[0] = max(slowest[0], time.monotonic() - t1)
                if r.returncode == 0 and len(json.loads(r.stdout)) == len(self.fake["instances"]):
                    answered[0] += 1
                else:
                    failed.append((r.returncode, r.stderr.strip()[:200]))
        threads = [threading.Thread(target=reader, daemon=True) for _ in range(2)]
        for th in threads:
            th.start()

        time.sleep(2)
        self.st.pg.stop_server(mode="immediate")
        down_at = time.monotonic()
        try:
            wait_for(lambda: self.st.manager_prop("State") == "degraded", 20, 0.1, "the daemon degraded")
            r = self.ctl("set-config", within, "note=during the outage")
            self.assertNotEqual(r.returncode, 0, "a write while the database is down")
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertRegex(lines[0], "(?i)database", r.stderr)
            for args in (("status",), ("show",), ("tree",)):
                r = self.ctl(*args)
                self.assertIn(r.returncode, (0, 3), (args, r.stderr))   # 3: degraded (README)
                self.assertTrue(r.stdout.strip(), args)
            # Both firings fall into the outage.
            wait_for(lambda: time.time() > t + 4, 30, 0.1, "the firings' instant passed")
            time.sleep(max(0.0, self.OUTAGE - (time.monotonic() - down_at)))
        finally:
            self.st.pg.start_server()
        up_at = time.monotonic()
        wait_for(lambda: self.st.manager_prop("State") == "running", 60, 0.2, "the daemon reconnected by itself")
        figure("reconnected after the outage", f"{time.monotonic() - up_at:.1f} s after PostgreSQL came back")
        stop.set()
        for th in threads:
            th.join(70)
        figure("reads during the outage", f"{answered[0]} answered, {len(failed)} failed, slowest {slowest[0]:.2f} s")
        self.assertEqual(failed, [], "every read answered from memory")
        self.assertGreater(answered[0], 0)

        occ = self.wait_occurrence("in-grace", timeout=60)[0]
        self.assertEqual(occ["state"], "done", occ)
        acted = self.actions()
        self.assertEqual(set(acted), {within}, "the firing within grace executed, alone")
        self.assertEqual(sum(acted[within].values()), 1, acted)
        missed = self.wait_occurrence("past-grace", timeout=60)[0]
        self.assertEqual(missed["state"], "missed", missed)
        self.assertEqual(self.st.oci.get_instance(beyond)["lifecycleState"], "RUNNING")
        # Nothing lost: the write before the outage is there, the refused one is not.
        explain = self.ctl("explain", within, check=0).stdout
        self.assertIn("before the outage", explain)
        self.assertNotIn("during the outage", explain)
        self.st.check_daemon_log()


class TestOutageMidOccurrence(SoakCase):
    """PostgreSQL stopped in the middle of a 120-instance stop occurrence (its action rows are
    written before each request): the occurrence finishes after the outage, every action once."""
    OUTAGE = 30 if LONG else 10
    STACK_ARGS = {"instances": 120, "compartments": 4, "pg_durable": True,
                  "oci_args": ["--start-delay", "1", "--stop-delay", "1", "--softstop-delay", "1", "--latency", "20"]}

    def test_outage_mid_occurrence(self):
        self.manage_all()
        running = {i["id"] for i in self.instances("RUNNING")}
        self.st.oci.reset_counters()
        t = ahead(5)
        self.add("mass", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", f"compartment:{self.tenancy}")
        wait_for(lambda: self.st.oci.counters()["actions_total"] >= 10, 60, 0.02, "the occurrence under way")
        self.st.pg.stop_server(mode="immediate")
        at_stop = self.st.oci.counters()["actions_total"]
        time.sleep(self.OUTAGE)
        during = self.st.oci.counters()["actions_total"] - at_stop
        self.st.pg.start_server()
        wait_for(lambda: self.st.manager_prop("State") == "running", 60, 0.2, "the daemon reconnected by itself")
        occ = self.wait_occurrence("mass", timeout=300)[0]
        figure("outage mid-occurrence", f"{at_stop} of {len(running)} actions before, {during} sent during "
               f"the {self.OUTAGE} s outage")
        self.assertLess(at_stop, len(running), "the occurrence finished before the outage: test proves nothing")
        self.assertEqual(occ["state"], "done", {k: occ[k] for k in ("state", "reason")})
        self.assert_exactly_once(occ, running)
        self.st.check_daemon_log()


class TestManagerRestart(SoakCase):
    """The systemd manager killed just before a firing and back after it: the timers are
    reconciled, the firing that fell into the gap is not lost (within grace), and the firings
    before the restart are not doubled."""
    STACK_ARGS = {"instances": 16, "compartments": 4}

    def test_firing_across_manager_restart(self):
        self.manage_all()
        running = sorted(i["id"] for i in self.instances("RUNNING"))
        self.assertGreaterEqual(len(running), 2)
        early, gap = running[0], running[1]
        self.st.oci.reset_counters()
        t = ahead(5)
        self.add("early", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", early)
        self.add("gap", "--action=stop", f"--on={utc_spec(t + 6)}", "--tz=UTC", "--grace=10min", gap)
        self.wait_occurrence("early", timeout=30)
        self.st.usermgr.stop(kill=True)
        wait_for(lambda: time.time() > t + 8, 30, 0.1, "the gap's instant passed with no manager")
        self.st.usermgr.start()
        wait_for(lambda: len(self.timer_units()) == 2, 30, 0.1, "the timers re-created")
        occ = self.wait_occurrence("gap", timeout=60)
        self.assertEqual(len(occ), 1, occ)
        self.assertEqual(occ[0]["state"], "done", occ)
        time.sleep(2)   # room for a wrong second firing
        acted = self.actions()
        self.assertEqual(set(acted), {early, gap})
        self.assertEqual([sum(a.values()) for a in acted.values()], [1, 1], acted)
        self.assertEqual(len(self.occurrences("early")), 1, "the firing before the restart not doubled")
        self.st.check_daemon_log()


if __name__ == "__main__":
    unittest.main(verbosity=2)

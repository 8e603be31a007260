#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Two stopstartd on one database (high availability; meson suite "integration"): each daemon
on a private system bus of its own (tests/lib/ssstack.py), both on one PostgreSQL and one fake
OCI server, whose counters tell how often each instance was acted on.

    Role/Leader on both (and in stopstartctl status); actions on the standby answer NotLeader
    naming the leader; a configuration change and a schedule made on the standby reach the
    leader (its PropertiesChanged); SIGKILL of the leader in the middle of an occurrence of
    ~200 instances: the standby leads within 10 s (the failover time is printed) and finishes
    it, every instance acted on exactly once; pg_terminate_backend() of the leader's lock
    connection: it steps down (stops executing) and the other takes over, again exactly once; a
    timer firing on the standby is recorded there and executed by the leader.

    /usr/bin/python3 tests/integration/test_ha.py [-v]
"""
import json
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from propmonitor import PropMonitor  # noqa: E402
from busenv import wait_for  # noqa: E402
from schedcase import ahead, utc_spec  # noqa: E402
from ssstack import BUS_NAME, INSTANCE, MANAGER, ROOT_PATH, CallError, Stack  # noqa: E402

SCHEDULE = "org.stopstart.StopStart1.Schedule"
NOT_LEADER = "org.stopstart.StopStart1.Error.NotLeader"
TAKEOVER_LIMIT = 10.0   # seconds: the contract


class HaTest(unittest.TestCase):
    """Tests run in name order on one pair of daemons; each leaves both running."""

    @classmethod
    def setUpClass(cls):
        cls.a = Stack(seed=11, compartments=4, depth=2, instances=200, regions=("us-phoenix-1",),
                      oci_args=["--state-mix", "RUNNING=1", "--start-delay", "0.5", "--stop-delay", "0.5",
                                "--softstop-delay", "0.5", "--reset-delay", "0.5"]).start()
        try:
            # b alone has a systemd user manager: its timers fire, a's cannot (test_6)
            cls.b = Stack(database=cls.a.database, oci=cls.a.oci, regions=("us-phoenix-1",),
                          systemd_manager=True).start()
        except BaseException:
            cls.a.stop()
            raise
        cls.stacks = {"a": cls.a, "b": cls.b}
        cls.tenancy = cls.a.oci.tenancy_id

    @classmethod
    def tearDownClass(cls):
        try:
            Stack.stop_daemons_checked({"b": cls.b, "a": cls.a})
        finally:
            cls.b.stop()
            cls.a.stop()

    def run(self, result=None):
        r = super().run(result)
        if result is not None and (result.failures or result.errors) and not getattr(type(self), "_shown", False):
            for name, st in self.stacks.items():
                print(f"--- stopstartd {name} log (tail) ---\n" + st.log_tail(60), file=sys.stderr)
            type(self)._shown = True
        return r

    # --- helpers ----------------------------------------------------------------------------------
    @staticmethod
    def identity(st):
        return f"{socket.gethostname()}:{st.daemon.pid}"

    def roles(self):
        return {n: st.manager_prop("Role") for n, st in self.stacks.items()}

    def leader_and_standby(self):
        """(leader stack, standby stack), once exactly one leads and both agree who."""
        def settled():
            r = self.roles()
            if sorted(r.values()) != ["leader", "standby"]:
                return False
            lead = self.a if r["a"] == "leader" else self.b
            return all(st.manager_prop("Leader") == self.identity(lead) for st in self.stacks.values())
        wait_for(settled, 30, 0.1, "one leader, named by both daemons")
        r = self.roles()
        return (self.a, self.b) if r["a"] == "leader" else (self.b, self.a)

    def restart(self, st):
        """Starts a stack's daemon again after it was killed; it joins as standby."""
        st.start_daemon()
        self.leader_and_standby()

    def actions(self):
        return self.a.oci.counters()["actions"]

    def running(self):
        return {i["id"] for i in self.a.oci.dump()["instances"] if i["lifecycleState"] == "RUNNING"}

    def stopped(self):
        return {i["id"] for i in self.a.oci.dump()["instances"] if i["lifecycleState"] == "STOPPED"}

    def schedule_path(self, st, name):
        return {s["name"]: s["object"] for s in st.ctl_json("schedule", "list")}[name]

    def occurrences(self, st, name):
        """[] while st does not know the schedule yet (made on the other daemon)."""
        r = st.ctl("--json=short", "schedule", "occurrences", name)
        if r.returncode == 4:
            return []
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def wait_done(self, st, name, timeout=240):
        def done():
            occ = self.occurrences(st, name)
            return occ and all(o["state"] in ("done", "failed") for o in occ)
        wait_for(done, timeout, 0.5, f"the occurrence of {name} finished")
        return self.occurrences(st, name)

    def fire_and_fail_over(self, schedule, expect_action, cut):
        """Fires schedule on the leader, lets cut(leader) happen once a quarter of the targets
        was acted on, measures until the other daemon leads, waits for the occurrence to finish
        there. Returns (targets, seconds to take over, new leader, old leader)."""
        lead, standby = self.leader_and_standby()
        before = self.actions()
        targets = self.running() if expect_action == "SOFTSTOP" else self.stopped()
        self.assertGreaterEqual(len(targets), 150)
        lead.call(self.schedule_path(lead, schedule), SCHEDULE, "Fire", "b", False)

        def acted():
            now = self.actions()
            return sum(1 for i in targets if now.get(i, {}).get(expect_action, 0) >
                       before.get(i, {}).get(expect_action, 0))
        wait_for(lambda: acted() >= len(targets) // 4, 120, 0.05, "a quarter of the targets acted on")
        self.assertLess(acted(), len(targets), "the occurrence finished before the failover: nothing was tested")
        t0 = time.monotonic()
        cut(lead)
        wait_for(lambda: standby.manager_prop("Role") == "leader", 30, 0.05, "the standby leading")
        took = time.monotonic() - t0
        occ = self.wait_done(standby, schedule)
        self.assertEqual(occ[0]["state"], "done", occ[0])
        after = self.actions()
        for i in targets:
            n = after.get(i, {}).get(expect_action, 0) - before.get(i, {}).get(expect_action, 0)
            self.assertEqual(n, 1, f"{i}: {expect_action} sent {n} times")
        return targets, took, standby, lead

    # --- tests --------------------------------------------------------------------------------------
    def test_1_roles(self):
        lead, standby = self.leader_and_standby()
        self.assertEqual(lead.manager_prop("Leader"), self.identity(lead))
        r = standby.ctl("status", check=0)
        self.assertRegex(r.stdout, r"(?m)^\s*Role: standby$")
        self.assertRegex(r.stdout, rf"(?m)^\s*Leader: {self.identity(lead)}$")
        self.assertIn(f"; standby, the leader is {self.identity(lead)}.", standby.manager_prop("StatusText"))
        j = lead.ctl_json("status")
        self.assertEqual((j["role"], j["leader"]), ("leader", self.identity(lead)))
        # the standby serves the inventory the leader discovered, from the database
        self.assertEqual(standby.manager_prop("NInstances"), lead.manager_prop("NInstances"))
        self.assertEqual(standby.manager_prop("NInstances"), 200)

    def test_2_not_leader(self):
        lead, standby = self.leader_and_standby()
        inst = sorted(self.running())[0]
        ipath = json.loads(standby.busctl("--json=short", "call", BUS_NAME, ROOT_PATH, MANAGER, "GetInstance", "s",
                                          inst).stdout)["data"][0]
        with self.assertRaises(CallError) as cm:
            standby.call(ipath, INSTANCE, "Start")
        self.assertEqual(cm.exception.name, NOT_LEADER)
        self.assertIn(self.identity(lead), cm.exception.message)
        with self.assertRaises(CallError) as cm:
            standby.call(ROOT_PATH, MANAGER, "Refresh")
        self.assertEqual(cm.exception.name, NOT_LEADER)
        r = standby.ctl("stop", inst)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(self.identity(lead), r.stderr)
        self.assertEqual(self.actions().get(inst, {}), {}, "the standby acted")

    def test_3_changes_reach_the_other(self):
        lead, standby = self.leader_and_standby()
        inst = sorted(self.running())[1]
        ipath = json.loads(lead.busctl("--json=short", "call", BUS_NAME, ROOT_PATH, MANAGER, "GetInstance", "s",
                                       inst).stdout)["data"][0]
        with PropMonitor(lead) as mon:
            standby.ctl("set-config", inst, "note=set on the standby", check=0)
            wait_for(lambda: mon.values(ipath, "Config"), 15, 0.1, "PropertiesChanged(Config) on the leader")
        self.assertEqual(lead.prop(ipath, INSTANCE, "Config")["note"]["data"], "set on the standby")
        # a schedule made on the standby, and its targets' managed default, are the leader's too
        standby.ctl("set-defaults", self.tenancy, "managed=yes", check=0)
        for name, action in (("ha-down", "stop"), ("ha-up", "start")):
            standby.ctl("schedule", "add", name, f"--action={action}", "--on=2099-01-01 00:00:00", "--tz=UTC",
                        f"compartment:{self.tenancy}", check=0)
        wait_for(lambda: {"ha-down", "ha-up"} <= {s["name"] for s in lead.ctl_json("schedule", "list")}, 15, 0.1,
                 "the schedules on the leader")
        wait_for(lambda: {r["key"]: r["value"] for r in lead.ctl_json("explain", inst)}["managed"] is True, 15, 0.1,
                 "managed=yes on the leader")
        # Fire on the standby: the leader runs occurrences
        with self.assertRaises(CallError) as cm:
            standby.call(self.schedule_path(standby, "ha-down"), SCHEDULE, "Fire", "b", False)
        self.assertEqual(cm.exception.name, NOT_LEADER)

    def test_4_sigkill_leader_mid_occurrence(self):
        def kill(st):
            st.daemon.kill()
            st.daemon.wait()
        targets, took, new, old = self.fire_and_fail_over("ha-down", "SOFTSTOP", kill)
        print(f"\nfailover after SIGKILL of the leader: {took:.2f} s ({len(targets)} instances, each SOFTSTOP once)",
              file=sys.stderr)
        self.assertLess(took, TAKEOVER_LIMIT)
        self.assertEqual(new.manager_prop("Leader"), self.identity(new))
        self.restart(old)
        self.assertEqual(old.manager_prop("Role"), "standby")

    def test_5_lock_connection_cut(self):
        def cut(st):
            pid = self.a.pg.psql("SELECT backend_pid FROM stopstart.leader").strip()
            self.a.pg.psql(f"SELECT pg_terminate_backend({pid})")
            wait_for(lambda: st.manager_prop("Role") == "standby", 10, 0.05, "the old leader stepping down")
        lead, standby = self.leader_and_standby()
        with PropMonitor(lead) as mon_old, PropMonitor(standby) as mon_new:
            targets, took, new, old = self.fire_and_fail_over("ha-up", "START", cut)
            # both announced the change of roles and of the leader's name
            wait_for(lambda: "leader" in mon_new.values(ROOT_PATH, "Role"), 10, 0.1, "PropertiesChanged(Role) leader")
            wait_for(lambda: self.identity(new) in mon_old.values(ROOT_PATH, "Leader"), 10, 0.1,
                     "PropertiesChanged(Leader) on the old leader")
            self.assertIn("standby", mon_old.values(ROOT_PATH, "Role"))
        self.assertIs(new, standby)
        print(f"\nfailover after pg_terminate_backend of the lock connection: {took:.2f} s ({len(targets)} "
              "instances, each START once)", file=sys.stderr)
        self.assertLess(took, TAKEOVER_LIMIT)
        # the old leader stays a standby, names the new one, and refuses actions
        self.assertEqual(old.manager_prop("Role"), "standby")
        wait_for(lambda: old.manager_prop("Leader") == self.identity(new), 10, 0.1, "the new leader named")
        self.assertEqual(old.manager_prop("NJobs"), 0)

    def test_6_standby_timer_fires_leader_executes(self):
        # after test_5 a leads; only b has a systemd manager, so only b's timer can fire
        lead, standby = self.leader_and_standby()
        self.assertIs(lead, self.a)
        picked = sorted(self.running())[:3]
        before = self.actions()
        t = ahead(6)
        standby.ctl("schedule", "add", "ha-timer", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", *picked,
                    check=0)
        occ = self.wait_done(lead, "ha-timer", timeout=120)
        self.assertEqual(occ[0]["state"], "done", occ[0])
        after = self.actions()
        for i in picked:
            n = after.get(i, {}).get("SOFTSTOP", 0) - before.get(i, {}).get("SOFTSTOP", 0)
            self.assertEqual(n, 1, f"{i}: SOFTSTOP sent {n} times")
        self.assertIn("recorded; the leader executes it", standby.log_tail(2000))
        self.assertEqual(standby.manager_prop("NJobs"), 0)

    def test_7_concurrent_schedule_writes(self):
        """Each daemon creates schedules while reloading the other's: none vanishes from memory
        (a reload answered before a write of its own must not drop that write)."""
        inst = sorted(self.running())[0]
        names = {st: [f"ha-burst-{n}-{k}" for k in range(12)] for n, st in self.stacks.items()}

        failed = []

        def burst(st):
            for name in names[st]:
                # disabled: a has no systemd manager for timers
                r = st.ctl("schedule", "add", name, "--disabled", "--action=stop", "--on=2099-01-01 00:00:00",
                           "--tz=UTC", inst)
                if r.returncode != 0:
                    failed.append((name, r.stderr.strip()))
        threads = [threading.Thread(target=burst, args=(st,)) for st in self.stacks.values()]
        for th in threads:
            th.start()
        for th in threads:
            th.join(300)
        self.assertEqual(failed, [], "\n".join(f"{n}: {e}" for n, e in failed))
        want = {n for v in names.values() for n in v}
        for n, st in self.stacks.items():
            try:
                wait_for(lambda: want <= {s["name"] for s in st.ctl_json("schedule", "list")}, 20, 0.2,
                         "every schedule on both daemons")
            except TimeoutError:
                have = {s["name"] for s in st.ctl_json("schedule", "list")}
                self.fail(f"daemon {n} lacks {sorted(want - have)}; the database has "
                          f"{self.a.pg.psql('SELECT count(*) FROM stopstart.schedules WHERE deleted_at IS NULL')}")
        time.sleep(1)   # and they stay
        for st in self.stacks.values():
            self.assertLessEqual(want, {s["name"] for s in st.ctl_json("schedule", "list")})


if __name__ == "__main__":
    unittest.main(verbosity=2)

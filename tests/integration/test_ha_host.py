#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The leader's host vanishes (meson suite "integration"): the leading stopstartd runs on another
host (a network namespace, tests/lib/netns.py) and reaches PostgreSQL and the fake OCI server over
TCP; the standby runs here. In the middle of an occurrence of 200 instances the other host falls
silent: every packet to and from it is dropped, nothing is closed or refused. Then:

    the old leader notices that its lock check goes unanswered and stops executing (its Role is
    standby within a few seconds, its bus still answers); the server ends its silent session
    (keepalives and tcp_user_timeout set on the lock session) and with it the lock; the standby
    leads (the time from the silence is printed; the limit is TAKEOVER_LIMIT) and finishes the
    occurrence, every instance acted on exactly once; when the host comes back its daemon
    reconnects and stays a standby that names the new leader.

    /usr/bin/python3 tests/integration/test_ha_host.py [-v]
"""
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import sanitizers  # noqa: E402
from busenv import wait_for  # noqa: E402
from netns import Peer  # noqa: E402
from pgcluster import PgCluster  # noqa: E402
from ssstack import BUILD, Stack  # noqa: E402

SCHEDULE = "org.stopstart.StopStart1.Schedule"
# seconds from the silence to the standby leading: the server's keepalives end the session after
# about 6 s (3 s idle + 3 probes a second apart, or 6 s of unacknowledged data), the standby tries
# the lock every second
TAKEOVER_LIMIT = 12.0
STEP_DOWN_LIMIT = 8.0   # the old leader's lock check unanswered for 3 s, checked every second


class HostGone(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.peer = Peer()
        try:
            cls.peer.start()
        except subprocess.CalledProcessError as e:
            cls.peer.stop()
            raise unittest.SkipTest(f"no second host here: {' '.join(e.cmd)}: {e.stderr.strip()}") from None
        cls.pg = cls.a = cls.b = None
        try:
            cls.pg = PgCluster(listen=[cls.peer.host_addr])
            cls.pg.start()
            r = sanitizers.run("stopstartctl db upgrade head",
                               [os.path.join(BUILD, "ctl", "stopstartctl"), "db", "upgrade", "head"],
                               env=dict(os.environ, **cls.pg.env()))
            if r.returncode != 0:
                raise RuntimeError(f"stopstartctl db upgrade head failed:\n{r.stdout}{r.stderr}")
            # a, on the other host, starts first and leads
            cls.a = Stack(seed=13, compartments=4, depth=2, instances=200, regions=("us-phoenix-1",),
                          database=cls.pg.tcp_conninfo(cls.peer.host_addr), peer=cls.peer,
                          oci_args=["--also-listen", cls.peer.host_addr, "--state-mix", "RUNNING=1",
                                    "--start-delay", "0.5", "--stop-delay", "0.5", "--softstop-delay", "0.5"]).start()
            # b alone has a systemd manager for the schedule's timer
            cls.b = Stack(database=cls.pg.conninfo, oci=cls.a.oci, regions=("us-phoenix-1",),
                          systemd_manager=True).start()
        except BaseException:
            cls.teardown_all()
            raise

    @classmethod
    def teardown_all(cls):
        for part in (cls.b, cls.a, cls.pg, cls.peer):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # noqa: BLE001 - tear down everything we can
                    pass

    @classmethod
    def tearDownClass(cls):
        try:
            Stack.stop_daemons_checked({"b": cls.b, "a": cls.a})
        finally:
            cls.teardown_all()

    def run(self, result=None):
        r = super().run(result)
        if result is not None and (result.failures or result.errors):
            for name, st in (("a", self.a), ("b", self.b)):
                print(f"--- stopstartd {name} log (tail) ---\n" + st.log_tail(60), file=sys.stderr)
        return r

    @staticmethod
    def identity(st):
        return f"{socket.gethostname()}:{st.daemon.pid}"

    def actions(self):
        return self.a.oci.counters()["actions"]

    def test_leader_host_falls_silent(self):
        a, b = self.a, self.b
        wait_for(lambda: (a.manager_prop("Role"), b.manager_prop("Role")) == ("leader", "standby"), 30, 0.1,
                 "a leading, b standing by")
        wait_for(lambda: b.manager_prop("Leader") == self.identity(a), 10, 0.1, "b naming a")
        tenancy = a.oci.tenancy_id
        b.ctl("set-defaults", tenancy, "managed=yes", check=0)
        b.ctl("schedule", "add", "gone-down", "--action=stop", "--on=2099-01-01 00:00:00", "--tz=UTC",
              f"compartment:{tenancy}", check=0)
        wait_for(lambda: "gone-down" in {s["name"] for s in a.ctl_json("schedule", "list")}, 15, 0.1,
                 "the schedule on a")
        path = {s["name"]: s["object"] for s in a.ctl_json("schedule", "list")}["gone-down"]
        targets = {i["id"] for i in a.oci.dump()["instances"] if i["lifecycleState"] == "RUNNING"}
        self.assertEqual(len(targets), 200)
        before = self.actions()

        def acted():
            now = self.actions()
            return sum(1 for i in targets if now.get(i, {}).get("SOFTSTOP", 0) > before.get(i, {}).get("SOFTSTOP", 0))

        a.call(path, SCHEDULE, "Fire", "b", False)
        wait_for(lambda: acted() >= len(targets) // 4, 120, 0.05, "a quarter of the targets acted on")
        self.assertLess(acted(), len(targets), "the occurrence finished before the host fell silent: nothing tested")

        t0 = time.monotonic()
        self.peer.silence()
        wait_for(lambda: a.manager_prop("Role") == "standby", STEP_DOWN_LIMIT, 0.05, "a stepping down")
        stepped_down = time.monotonic() - t0
        wait_for(lambda: b.manager_prop("Role") == "leader", 60, 0.05, "b leading")
        took = time.monotonic() - t0
        print(f"\nleader's host silent: it stepped down after {stepped_down:.2f} s, the standby led after "
              f"{took:.2f} s", file=sys.stderr)
        self.assertLess(took, TAKEOVER_LIMIT)

        def occurrence():
            r = b.ctl_json("schedule", "occurrences", "gone-down")
            return r[0] if r and r[0]["state"] in ("done", "failed") else None
        wait_for(occurrence, 240, 0.5, "the occurrence finished on b")
        self.assertEqual(occurrence()["state"], "done", occurrence())
        after = self.actions()
        for i in targets:
            n = after.get(i, {}).get("SOFTSTOP", 0) - before.get(i, {}).get("SOFTSTOP", 0)
            self.assertEqual(n, 1, f"{i}: SOFTSTOP sent {n} times")

        # The host is back: its daemon reconnects, stays a standby and names the new leader.
        self.peer.speak()
        wait_for(lambda: a.manager_prop("State") == "running" and a.manager_prop("Leader") == self.identity(b),
                 60, 0.2, "a back, naming b")
        self.assertEqual(a.manager_prop("Role"), "standby")
        self.assertEqual(b.manager_prop("Role"), "leader")


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every list-returning answer of stopstartd stays inside the default bus limits at scale
(issue 8 item 2: at 5,000 compartments / 50,000 instances one GetManagedObjects used to exceed
dbus-daemon's 32 MiB max_message_size; dbus-daemon then disconnected the daemon). Our bound is
16 MiB, since dbus-broker's per-peer quotas are tighter than dbus-daemon's message limit.

A throwaway PostgreSQL at schema head, the fake OCI server with a generated tenancy, a private
system bus with dbus-daemon's default limits (tests/lib/busenv.py sets none), and the built
stopstartd as root; after its first refresh each call's reply is measured as it travels
(tests/lib/busreply.py) and the daemon must still own its name afterwards.

    test_scale.py [--compartments N] [--instances N] [--report]

make check runs it at 500/5,000 (suite bus, figures scale linearly); `make bench` (scripts/bench
--scale) at the issue's 5,000/50,000. --report prints the figures as one JSON line per call."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import busreply  # noqa: E402
from busreply import Gio, GLib  # noqa: E402
import sanitizers  # noqa: E402
from busenv import SystemBus, stop_process, wait_for  # noqa: E402
from fakeoci import FakeOci  # noqa: E402
from pgcluster import PgCluster  # noqa: E402

BUILD = os.environ.get("STOPSTART_BUILD_ROOT") or os.path.join(HERE, "..", "..", "build")
BUS_NAME = "org.stopstart.StopStart1"
ROOT = "/org/stopstart/StopStart1"
MANAGER = BUS_NAME + ".Manager"
INSTANCE = BUS_NAME + ".Instance"
LIMIT = 16 * 1024 * 1024
FULL_OBJECTS = 5000 + 50000
ANSWER_MAX = 16 * 1024 * 1024 - 64 * 1024    # the daemon's bound (daemon/bus/manager-dbus.c)
ROOT_POLICY = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><policy user="root"><allow own="org.stopstart.StopStart1"/></policy></busconfig>
"""
ARGS = argparse.Namespace(compartments=500, instances=5000, report=False, raise_bus_limits=False)
RAISED_LIMITS = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <limit name="max_message_size">134217728</limit>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
</busconfig>
"""


class DaemonOnPrivateBus(unittest.TestCase):
    """stopstartd after its first refresh of a generated tenancy, on a bus of its own."""
    COMPARTMENTS = INSTANCES = None   # None: from the command line

    @classmethod
    def setUpClass(cls):
        cls.pg = cls.oci = cls.bus = cls.daemon = cls.log = None
        cls.figures = []
        try:
            cls.start()
        except BaseException:
            cls.stop_all()
            raise

    @classmethod
    def start(cls):
        a = argparse.Namespace(compartments=cls.COMPARTMENTS or ARGS.compartments,
                               instances=cls.INSTANCES or ARGS.instances)
        cls.work = tempfile.mkdtemp(prefix="ssscale.")
        os.makedirs(os.path.join(cls.work, "bus"))
        policy = os.path.join(cls.work, "root-owns.conf")
        with open(policy, "w") as f:
            f.write(ROOT_POLICY)
        policies = [os.path.join(HERE, "..", "..", "dbus", "org.stopstart.StopStart1.conf"), policy]
        if ARGS.raise_bus_limits:   # figures only: how large the answers are when nothing stops them
            limits = os.path.join(cls.work, "raised-limits.conf")
            with open(limits, "w") as f:
                f.write(RAISED_LIMITS)
            policies.append(limits)
        cls.pg = PgCluster().start()
        sanitizers.run("stopstartctl db upgrade", [f"{BUILD}/ctl/stopstartctl", "db", "upgrade", "head",
                                                   f"--database={cls.pg.url}"], check=True)
        cls.oci = FakeOci(compartments=a.compartments, instances=a.instances, regions=["us-phoenix-1", "us-ashburn-1"],
                          workdir=os.path.join(cls.work, "oci")).start()
        cls.bus = SystemBus(policies=policies, basedir=os.path.join(cls.work, "bus")).start()
        conf = os.path.join(cls.work, "stopstartd.yaml")
        with open(conf, "w") as f:
            f.write(f'database: "{cls.pg.url}"\noci:\n  config_file: {cls.oci.config_file}\n'
                    f'  endpoint: "{cls.oci.url}/{{region}}"\ndiscovery:\n  interval: 1h\n')
        cls.log_path = os.path.join(cls.work, "stopstartd.log")
        cls.log = open(cls.log_path, "w+")
        t0 = time.monotonic()
        # A smaller tenancy gets the daemon's bound scaled down with it, so that it takes the
        # paths of the full size: whole answers refused, clients (stopstartctl too) paging.
        cls.scale = min(1.0, (a.compartments + a.instances) / FULL_OBJECTS)
        cls.env = dict(cls.bus.env(), STOPSTART_LOG_LEVEL="info")
        if cls.scale < 1.0 and not ARGS.raise_bus_limits:
            cls.env["STOPSTART_BUS_ANSWER_MAX"] = str(max(4096, int(ANSWER_MAX * cls.scale)))
        cls.daemon = subprocess.Popen([f"{BUILD}/daemon/stopstartd", f"--config={conf}"],
                                      env=cls.env,
                                      stdin=subprocess.DEVNULL, stdout=cls.log, stderr=subprocess.STDOUT)

        def refreshed():
            cls.log.seek(0)
            text = cls.log.read()
            if cls.daemon.poll() is not None:
                raise RuntimeError(f"stopstartd exited with {cls.daemon.returncode}: {text}")
            return "(refresh) done" in text or "(refresh) failed" in text
        wait_for(refreshed, timeout=900, step=0.2, what="the first refresh")
        cls.startup = time.monotonic() - t0
        # the peak of the start-up (the first refresh: discovery of the whole tenancy, the load)
        cls.startup_memory = daemon_memory(cls.daemon.pid)
        cls.conn = busreply.connect(cls.bus.address)

    @classmethod
    def tearDownClass(cls):
        try:
            if ARGS.report:
                print(json.dumps({"startup_seconds": round(cls.startup, 1), **cls.startup_memory}))
                for f in cls.figures:
                    print(json.dumps(f))
            if cls.daemon.poll() is None:
                cls.daemon.terminate()
                cls.daemon.wait(60)
            cls.log.seek(0)
            log = cls.log.read()
            sanitizers.check("stopstartd", cls.daemon.returncode, log)
            # 75: dropped by the broker for an answer known to be over its limit (full size only)
            if cls.daemon.returncode not in (0, 75) or (cls.daemon.returncode == 75 and "Lost the connection" not in log):
                raise AssertionError(f"stopstartd exited with {cls.daemon.returncode}")
        finally:
            cls.stop_all()

    @classmethod
    def stop_all(cls):
        stop_process(cls.daemon)
        if cls.log and not cls.log.closed:
            cls.log.close()
        for part in (cls.bus, cls.oci, cls.pg):
            try:
                if part is not None:
                    part.stop()
            except Exception:  # noqa: BLE001 - tear down what we can
                pass
        shutil.rmtree(cls.work, ignore_errors=True)


def reset_peak_memory(pid):
    """Starts the daemon's peak RSS (VmHWM) afresh (Linux >= 4.0: clear_refs 5), so that the next
    daemon_memory() tells the peak of what happened in between."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def daemon_memory(pid):
    """The daemon's resident set now and its peak since the start or the last reset (KiB)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out["rss_kib" if k == "VmRSS" else "peak_rss_kib"] = int(v.split()[0])
    except OSError:
        pass
    return out


class TestScale(DaemonOnPrivateBus):
    """Reply sizes: absolute (<= 16 MiB) and per object, extrapolated to 5,000 compartments and
    50,000 instances (the answers grow linearly), so that the small tenancy of make check guards
    the bound of the large one."""

    def measure(self, what, path, iface, method, sig=None, args=None, extrapolate=True):
        reset_peak_memory(self.daemon.pid)
        size, seconds, reply = busreply.call_size(self.conn, BUS_NAME, path, iface, method, sig, args, timeout=300)
        objects = ARGS.compartments + ARGS.instances
        type(self).figures.append({"call": what, "compartments": ARGS.compartments, "instances": ARGS.instances,
                                   "bytes": size, "bytes_per_object": round(size / objects, 1),
                                   "seconds": round(seconds, 2), **daemon_memory(self.daemon.pid)})
        self.assertLessEqual(size, LIMIT, f"{what}: {size} bytes")
        if extrapolate:
            at_scale = size * (5000 + 50000) / objects
            self.assertLessEqual(at_scale, LIMIT, f"{what}: {size} bytes for {objects} objects, "
                                 f"{at_scale / 2**20:.1f} MiB at 5,000 compartments and 50,000 instances")
        # still on the bus, still answering
        self.assertIsNone(self.daemon.poll())
        self.assertTrue(self.bus.has_name(BUS_NAME), f"stopstartd lost its name after {what}")
        return reply

    def test_get_managed_objects(self):
        reply = self.measure("GetManagedObjects", ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
        objects = reply.get_body().unpack()[0]
        instances = [p for p, ifaces in objects.items() if INSTANCE in ifaces]
        self.assertEqual(len(instances), ARGS.instances)
        # Bulky properties stay out of the ObjectManager answer and are read with Get.
        props = objects[instances[0]][INSTANCE]
        for bulky in ("FreeformTags", "Config", "EffectiveConfig"):
            self.assertNotIn(bulky, props)
        size, _, _ = busreply.call_size(self.conn, BUS_NAME, instances[0], "org.freedesktop.DBus.Properties",
                                           "Get", "ss", (INSTANCE, "FreeformTags"))
        self.assertTrue(size > 0)

    # Whole, ListInstances and Describe grow with the tenancy (352 and 635 bytes per instance): at
    # 50,000 instances they would be over the bound, so the daemon refuses them there with
    # TooLarge (tests/bus/test-bus-pages.c) and clients page. Here: a page stays inside the bound
    # whatever the tenancy, and the pages together are the whole inventory, once each.
    PAGE = 10000

    def page(self):
        """stopstartctl's page (PAGE at the full size), scaled like the daemon's bound."""
        return max(1, int(self.PAGE * self.scale))

    def pages(self, method, limit):
        got, after, largest = [], None, 0
        while True:
            f = {"limit": GLib.Variant("u", limit)}
            if after:
                f["after"] = GLib.Variant("s", after)
            size, _, reply = busreply.call_size(self.conn, BUS_NAME, ROOT, MANAGER, method, "a{sv}", (f,), timeout=300)
            self.assertLessEqual(size, LIMIT)
            # the page as large, relative to the tenancy, at the full size
            self.assertLessEqual(size / self.scale, LIMIT, f"{method}: a page of {limit}: {size} bytes")
            largest = max(largest, size)
            body = reply.get_body().unpack()[0]
            if method == "ListInstances":
                ids = [x[0] for x in body]
                after = ids[-1] if len(ids) == limit else None
            else:
                doc = json.loads(body)
                ids = [x["id"] for x in doc["instances"]]
                after = doc["next"]
            got += ids
            if not after:
                type(self).figures.append({"call": f"{method} pages of {limit}", "compartments": ARGS.compartments,
                                           "instances": ARGS.instances, "largest_page_bytes": largest,
                                           "bytes_per_instance": round(largest / min(limit, ARGS.instances), 1)})
                return got

    def whole_or_refused(self, method, sig=None, args=None):
        """The unpaged answer, or None when the daemon refused it as TooLarge (the full-size run)."""
        try:
            return self.measure(method, ROOT, MANAGER, method, sig, args, extrapolate=False)
        except busreply.CallFailed as e:
            self.assertIn("org.stopstart.StopStart1.Error.TooLarge", str(e))
            self.assertTrue(self.bus.has_name(BUS_NAME))
            type(self).figures.append({"call": method, "refused": str(e)})
            return None

    def test_list_instances(self):
        reply = self.whole_or_refused("ListInstances", "a{sv}", ({},))
        page = self.page() if reply is None else max(ARGS.instances // 7, 1)
        ids = self.pages("ListInstances", page)
        self.assertEqual(len(ids), ARGS.instances)
        self.assertEqual(ids, sorted(set(ids)))                      # all, once each, in OCID order
        if reply is not None:
            whole = reply.get_body().unpack()[0]
            self.assertEqual(ids, sorted(x[0] for x in whole))
            per_instance = len(reply.to_blob(Gio.DBusCapabilityFlags.NONE)) / ARGS.instances
            self.assertLessEqual(per_instance * self.PAGE, LIMIT, f"a page: {per_instance:.0f} B/instance")

    def test_describe(self):
        reply = self.whole_or_refused("Describe")
        if reply is None:
            ids = self.pages("DescribeInstances", self.page())
            self.assertEqual(len(ids), ARGS.instances)
            lean = self.measure("DescribeWith(instances: false)", ROOT, MANAGER, "DescribeWith", "a{sv}",
                                ({"instances": GLib.Variant("b", False)},), extrapolate=False)
            size = len(lean.to_blob(Gio.DBusCapabilityFlags.NONE))
            self.assertLessEqual(size * 5000 / ARGS.compartments, LIMIT)
            self.assertNotIn("instances", json.loads(lean.get_body().unpack()[0]))
            return
        whole = json.loads(reply.get_body().unpack()[0])
        per_instance = len(reply.to_blob(Gio.DBusCapabilityFlags.NONE)) / (ARGS.instances + ARGS.compartments)
        self.assertLessEqual(per_instance * self.PAGE, LIMIT)
        # the rest without instances grows with the compartments only
        size, _, lean = busreply.call_size(self.conn, BUS_NAME, ROOT, MANAGER, "DescribeWith", "a{sv}",
                                           ({"instances": GLib.Variant("b", False)},))
        self.assertLessEqual(size * 5000 / ARGS.compartments, LIMIT)
        lean = json.loads(lean.get_body().unpack()[0])
        self.assertNotIn("instances", lean)
        self.assertEqual(len(lean["compartments"]), len(whole["compartments"]))
        ids = self.pages("DescribeInstances", max(ARGS.instances // 5, 1))
        self.assertEqual(ids, sorted(x["id"] for x in whole["instances"]))

    def ctl(self, *args):
        p = subprocess.run([f"{BUILD}/ctl/stopstartctl", "--no-pager", *args], env=self.env, capture_output=True,
                           text=True, timeout=600)
        sanitizers.check("stopstartctl", p.returncode, p.stderr)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_ctl_pages(self):
        """stopstartctl pages by itself (smaller pages when one is refused as too large): the
        whole inventory, as if it had come in one answer, which the daemon refuses here."""
        for method, sig, args in (("ListInstances", "a{sv}", ({},)), ("Describe", None, None)):
            with self.assertRaises(busreply.CallFailed) as cm:
                busreply.call_size(self.conn, BUS_NAME, ROOT, MANAGER, method, sig, args, timeout=300)
            self.assertIn("org.stopstart.StopStart1.Error.TooLarge", str(cm.exception))
        rows = self.ctl("list-instances", "--no-legend").splitlines()
        self.assertEqual(len(rows), ARGS.instances)
        listed = json.loads(self.ctl("list-instances", "--json=short"))
        self.assertEqual(len({i["id"] for i in listed}), ARGS.instances)
        status = json.loads(self.ctl("status", "--json=short"))
        self.assertEqual(len({i["id"] for i in status["instances"]}), ARGS.instances)
        self.assertEqual(len(status["compartments"]), ARGS.compartments + 1)
        self.assertIn(f"{ARGS.compartments + 1} compartments, {ARGS.instances} instances.", self.ctl("tree"))

    def test_history(self):
        # at most HISTORY_LIMIT_MAX entries, whatever the tenancy
        self.measure("History", ROOT, MANAGER, "History", "a{sv}", ({"limit": GLib.Variant("u", 10000)},),
                     extrapolate=False)

    def test_list_jobs(self):
        self.measure("ListJobs", ROOT, MANAGER, "ListJobs", extrapolate=False)



class TestBusLoss(DaemonOnPrivateBus):
    """When the bus goes away, stopstartd says so in one line and exits non-zero (75,
    EX_TEMPFAIL), so that systemd restarts it instead of keeping a zombie that pings the watchdog."""
    COMPARTMENTS, INSTANCES = 3, 12

    def test_exits_when_the_bus_goes(self):
        self.assertTrue(self.bus.has_name(BUS_NAME))
        stop_process(self.bus.proc)
        try:
            rc = self.daemon.wait(30)
        except subprocess.TimeoutExpired:
            self.fail("stopstartd still runs 30 s after its bus went away")
        self.assertEqual(rc, 75)
        self.log.seek(0)
        lines = [x for x in self.log.read().splitlines() if "system bus" in x]
        self.assertEqual(lines, ["stopstartd: Lost the connection to the system bus (the bus daemon closed it: restarted, or it "
                                 "dropped us, e.g. for a message over its limits); exiting so that systemd restarts "
                                 "stopstartd."])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compartments", type=int, default=ARGS.compartments)
    ap.add_argument("--instances", type=int, default=ARGS.instances)
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--raise-bus-limits", action="store_true",
                    help="figures only: 128 MiB messages, sizes not asserted")
    ARGS, rest = ap.parse_known_args()
    if ARGS.raise_bus_limits:
        LIMIT = float("inf")
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)

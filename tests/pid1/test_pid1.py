#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""daemon/pid1 against a real systemd user manager (tests/lib/usermgr.py), through pid1-driver:
timers fire with their due instant, invalid specs are refused, reconcile creates/replaces/stops,
manager restarts (bus and private socket) are healed, Persistent= catch-ups are reported.

    test_pid1.py CLASS      (one meson test per class; each class has its own manager)
"""
import os
import select
import shutil
import subprocess
import tempfile
import sys
import time
import unittest

ROOT = os.environ.get("STOPSTART_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../.."))
BUILD = os.environ.get("STOPSTART_BUILD_ROOT", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "tests/lib"))

import busenv  # noqa: E402
import usermgr  # noqa: E402

DRIVER = os.path.join(BUILD, "tests/pid1/pid1-driver")
USEC = 1_000_000
LATENCIES = []


def unit(i):
    return f"stopstart-schedule-{i}.timer"


def utc_spec(t):
    """An OnCalendar spec for one instant (whole seconds, UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


class Driver:
    """pid1-driver: commands in, callbacks out (tab-separated lines)."""

    def __init__(self, bus, env, user=None, start=True, prefix=None):
        if prefix is None:
            prefix = busenv.as_user(user) if user else []
        self.proc = subprocess.Popen(prefix + [DRIVER, bus] + ([] if start else ["--no-start"]), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=None, text=True, env=env, bufsize=1)
        self.lines = []
        self.buf = b""
        first = self.expect("started")
        self.description = first[1]

    def send(self, *fields):
        self.proc.stdin.write("\t".join(fields) + "\n")
        self.proc.stdin.flush()

    def _read(self, timeout):
        # from the raw fd: a buffered reader could hold lines select() does not see
        end = time.monotonic() + max(timeout, 0)
        while b"\n" not in self.buf:
            r, _, _ = select.select([self.proc.stdout.fileno()], [], [], max(end - time.monotonic(), 0))
            if not r:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"pid1-driver exited ({self.proc.poll()})")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode().split("\t")

    def expect(self, kind, pred=lambda f: True, timeout=15.0):
        """The next line of kind that satisfies pred (earlier ones of other kinds are kept)."""
        for i, f in enumerate(self.lines):
            if f[0] == kind and pred(f):
                del self.lines[i]
                return f
        end = time.monotonic() + timeout
        while True:
            f = self._read(end - time.monotonic())
            if f is None:
                raise AssertionError(f"no '{kind}' line within {timeout}s; seen: {self.lines[-20:]}")
            if f[0] == kind and pred(f):
                return f
            self.lines.append(f)

    def none(self, kind, pred=lambda f: True, timeout=1.0):
        """Asserts no such line comes within timeout."""
        for f in self.lines:
            if f[0] == kind and pred(f):
                raise AssertionError(f"unexpected {f}")
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            f = self._read(end - time.monotonic())
            if f is None:
                return
            if f[0] == kind and pred(f):
                raise AssertionError(f"unexpected {f}")
            self.lines.append(f)

    def set(self, i, specs, zone="UTC", desc="test"):
        self.send("set", str(i), zone, desc, *specs)
        f = self.expect("done", lambda f: f[1] == str(i))
        return int(f[2]), f[3]

    def remove(self, i):
        self.send("remove", str(i))
        f = self.expect("done", lambda f: f[1] == str(i))
        return int(f[2]), f[3]

    def get(self, i):
        self.send("get", str(i))
        f = self.expect("get", lambda f: f[1] == str(i))
        return {"error": int(f[2]), "active": f[3] == "1", "next": int(f[4]), "last": int(f[5])}

    def wait_ready(self, timeout=20.0):
        return self.expect("state", lambda f: f[1] == "ready", timeout)

    def quit(self):
        """Ends the driver; its exit status (non-zero on a sanitizer report, leaks included)."""
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Base(unittest.TestCase):
    user = None
    shared_bus = False

    @classmethod
    def setUpClass(cls):
        cls.bus = None
        if cls.user:
            busenv.ensure_user(cls.user)
        if cls.shared_bus:
            cls.bus = busenv.SystemBus().start()
        cls.um = usermgr.UserManager(user=cls.user, bus=cls.bus).start()

    @classmethod
    def tearDownClass(cls):
        cls.um.cleanup()
        if cls.bus:
            cls.bus.stop()

    def setUp(self):
        self.drivers = []

    def tearDown(self):
        for d in self.drivers:
            self.assertEqual(d.quit(), 0, "pid1-driver failed (see its stderr)")

    def driver(self, bus="system", env=None):
        d = Driver(bus, env or self.um.env(), self.user)
        self.drivers.append(d)
        d.wait_ready()
        return d

    def show(self, name, *props):
        """systemctl show; a property listed on several lines (TimersCalendar) is joined by newlines."""
        out = self.um.systemctl("show", name, *[f"--property={p}" for p in props], check=False).stdout
        d = {}
        for line in out.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                d[k] = d[k] + "\n" + v if k in d else v
        return d

    def our_units(self):
        out = self.um.systemctl("list-units", "--all", "--plain", "--no-legend", "stopstart-schedule-*.timer",
                                check=False).stdout
        return sorted(line.split()[0] for line in out.splitlines() if line.strip())

    def wait_units(self, want, timeout=10.0):
        busenv.wait_for(lambda: self.our_units() == sorted(want), timeout, 0.1, f"units {want}")

    def fire_soon(self, d, i, ahead=2):
        """A timer due `ahead` s from now; returns its instant (µs)."""
        t = int(time.time()) + ahead
        err, msg = d.set(i, [utc_spec(t)])
        self.assertEqual(err, 0, msg)
        return t * USEC


class TestTimers(Base):
    def test_fires_on_time(self):
        d = self.driver()
        due = self.fire_soon(d, 1)
        info = d.get(1)
        self.assertTrue(info["active"])
        self.assertEqual(info["next"], due)
        f = d.expect("fire", lambda f: f[1] == "1", timeout=10)
        self.assertEqual(int(f[2]), due)                     # the instant it was due
        self.assertGreaterEqual(int(f[3]), due)              # LastTriggerUSec
        self.assertEqual(f[4], "0")                          # not a catch-up
        latency = int(f[5])
        LATENCIES.append(latency)
        print(f"firing latency (due -> callback): {latency / 1000:.1f} ms")
        self.assertLess(latency, 2 * USEC)                   # goal: well under 100 ms (loaded CI: lenient)
        self.assertEqual(d.get(1)["last"], int(f[3]))
        d.none("fire", lambda f: f[1] == "1", timeout=1.5)   # exactly once
        self.assertEqual(d.remove(1)[0], 0)
        self.wait_units([])

    def test_repeated_firings(self):
        d = self.driver()
        err, msg = d.set(2, ["*:*:0/2"], zone="Europe/Berlin", desc="every 2 s")
        self.assertEqual(err, 0, msg)
        seen = []
        for _ in range(3):
            f = d.expect("fire", lambda f: f[1] == "2", timeout=5)
            seen.append(int(f[2]))
            LATENCIES.append(int(f[5]))
        for a, b in zip(seen, seen[1:]):
            self.assertEqual(b - a, 2 * USEC)
        for s in seen:
            self.assertEqual(s % (2 * USEC), 0)
        self.assertEqual(d.remove(2)[0], 0)

    def test_unit_properties(self):
        d = self.driver()
        err, msg = d.set(3, ["Mon..Fri 19:00", "Sat 08:00"], zone="Europe/Berlin", desc="office-down")
        self.assertEqual(err, 0, msg)
        p = self.show(unit(3), "Description", "AccuracyUSec", "Persistent", "RandomizedDelayUSec",
                      "TimersCalendar", "ActiveState", "Triggers")
        self.assertEqual(p["Description"], "stopstart schedule 3: office-down")
        self.assertEqual(p["AccuracyUSec"], "1ms")
        self.assertEqual(p["Persistent"], "yes")
        self.assertEqual(p["RandomizedDelayUSec"], "0")
        self.assertEqual(p["ActiveState"], "active")
        self.assertEqual(p["Triggers"], "stopstart-schedule-3.service")
        self.assertIn("Mon..Fri *-*-* 19:00:00 Europe/Berlin", p["TimersCalendar"])
        self.assertIn("Sat *-*-* 08:00:00 Europe/Berlin", p["TimersCalendar"])
        self.assertEqual(d.remove(3)[0], 0)
        self.wait_units([])

    def test_invalid_spec_refused(self):
        d = self.driver()
        err, msg = d.set(4, ["daily", "Mon..Fri 25:00"], zone="Europe/Berlin")
        self.assertEqual(err, -22)
        self.assertIn("'Mon..Fri 25:00'", msg)
        err, msg = d.set(4, ["Mon 19:00"], zone="Mars/Olympus_Mons")
        self.assertEqual(err, -22)
        self.assertEqual(d.get(4)["error"], -2)              # nothing desired
        self.assertEqual(self.our_units(), [])
        # a valid timer stays as it is when a change of it is refused
        self.assertEqual(d.set(5, ["daily"])[0], 0)
        err, msg = d.set(5, ["every tuesday"])
        self.assertEqual(err, -22)
        self.assertIn("'every tuesday'", msg)
        self.assertIn("*-*-* 00:00:00 UTC", self.show(unit(5), "TimersCalendar")["TimersCalendar"])
        self.assertEqual(d.remove(5)[0], 0)
        # bad ids never reach the manager
        d.send("set", "../x", "UTC", "x", "daily")
        self.assertEqual(d.expect("done", lambda f: f[1] == "../x")[2], "-22")

    def test_reconcile(self):
        a = self.driver()
        for i, spec in ((10, "daily"), (11, "weekly"), (12, "monthly")):
            self.assertEqual(a.set(i, [spec])[0], 0)
        a.quit()
        # a stray of ours made by hand, and someone else's timer that must stay
        for name in ("stopstart-schedule-99", "someone-else"):
            subprocess.run((busenv.as_user(self.user) if self.user else []) +
                           ["systemd-run", "--user", f"--unit={name}", "--on-calendar=hourly", "/bin/true"],
                           env=self.um.env(), check=True, capture_output=True)
        self.wait_units([unit(10), unit(11), unit(12), unit(99)])
        before = self.show(unit(10), "ActiveEnterTimestampMonotonic")
        # the daemon comes back with: 10 unchanged, 11 changed, 12 gone, 13 new; it declares its
        # set, then connects (the reconcile also waits for declarations still being validated)
        b = Driver("system", self.um.env(), self.user, start=False)
        self.drivers.append(b)
        for i, spec in ((10, "daily"), (11, "Mon 08:00"), (13, "yearly")):
            b.send("set", str(i), "UTC", "test", spec)
        b.send("start")
        for i in (10, 11, 13):
            self.assertEqual(b.expect("done", lambda f, i=i: f[1] == str(i))[2], "0")
        b.send("remove", "12")
        self.assertEqual(b.expect("done", lambda f: f[1] == "12")[2], "0")
        b.wait_ready()
        self.wait_units([unit(10), unit(11), unit(13)])
        self.assertEqual(self.show(unit(10), "ActiveEnterTimestampMonotonic"), before)   # left alone
        self.assertIn("Mon *-*-* 08:00:00 UTC", self.show(unit(11), "TimersCalendar")["TimersCalendar"])
        self.assertEqual(self.show("someone-else.timer", "ActiveState")["ActiveState"], "active")
        # an explicit reconcile (the daemon's Reload()) changes nothing
        b.send("reconcile")
        self.assertEqual(b.expect("done", lambda f: f[1] == "-")[2], "0")
        self.assertEqual(self.show(unit(10), "ActiveEnterTimestampMonotonic"), before)
        # stopped by hand: it comes back
        self.um.systemctl("stop", unit(13))
        self.wait_units([unit(10), unit(11), unit(13)], timeout=10)
        for i in (10, 11, 13):
            self.assertEqual(b.remove(i)[0], 0)
        self.wait_units([])
        self.um.systemctl("stop", "someone-else.timer", check=False)

    def test_persistent_catch_up(self):
        d = self.driver()
        self.assertEqual(d.set(20, ["*:*:0/3"])[0], 0)
        d.expect("fire", lambda f: f[1] == "20", timeout=6)
        self.assertEqual(d.remove(20)[0], 0)                 # disabled...
        time.sleep(4)                                        # ...while a slot passes
        before = int(time.time() * USEC)
        self.assertEqual(d.set(20, ["*:*:0/3"])[0], 0)       # enabled again: systemd catches up at once
        f = d.expect("fire", lambda f: f[1] == "20", timeout=3)
        self.assertEqual(f[4], "1")                          # reported as a catch-up
        self.assertLess(int(f[2]), before)                   # of a slot that passed while it was off
        self.assertEqual(int(f[2]) % (3 * USEC), 0)
        self.assertGreaterEqual(int(f[3]), before)
        f = d.expect("fire", lambda f: f[1] == "20", timeout=5)
        self.assertEqual(f[4], "0")                          # then regular firings again
        self.assertEqual(d.remove(20)[0], 0)


class TestManagerRestart(Base):
    """The manager's own bus dies with it: the client loses its connection and reconnects."""

    def check_restart(self, bus, env=None):
        d = self.driver(bus, env)
        self.assertEqual(d.set(30, ["daily"])[0], 0)
        self.assertEqual(d.set(31, ["*:*:0/2"])[0], 0)
        d.expect("fire", lambda f: f[1] == "31", timeout=5)
        self.um.restart()                                    # transient units are gone with it
        d.expect("state", lambda f: f[1] == "disconnected", timeout=10)
        d.wait_ready(timeout=20)
        self.wait_units([unit(30), unit(31)])
        self.assertTrue(d.get(30)["active"])
        # and firings come again
        d.lines.clear()
        d.expect("fire", lambda f: f[1] == "31", timeout=6)
        self.assertEqual(d.remove(30)[0], 0)
        self.assertEqual(d.remove(31)[0], 0)
        self.wait_units([])

    def test_restart_bus(self):
        self.check_restart("system")

    def test_restart_private_socket(self):
        self.check_restart(self.um.private_address)

    def test_crash_leaves_transient_files(self):
        """A SIGKILLed manager leaves its transient unit files behind; its successor loads them as
        plain fragments that StartTransientUnit can never replace (UnitExists). The client removes
        such leftovers of its own units and creates them again."""
        d = self.driver()
        self.assertEqual(d.set(33, ["*:*:0/2"])[0], 0)
        d.expect("fire", lambda f: f[1] == "33", timeout=5)
        self.um.restart(kill=True)                           # leaves its transient files behind
        d.wait_ready(timeout=20)
        show = lambda: self.um.systemctl("show", "-P", "Transient", "-P", "ActiveState", unit(33),
                                         check=False).stdout.split()
        busenv.wait_for(lambda: sorted(show()) == ["active", "yes"], 10, 0.1, "stopstart-schedule-33.timer re-created")
        d.lines.clear()
        d.expect("fire", lambda f: f[1] == "33", timeout=6)
        self.assertEqual(d.remove(33)[0], 0)
        self.wait_units([])

    def test_manager_absent_at_start(self):
        """The daemon may start before the manager: it retries until the manager is there."""
        self.um.stop()
        d = Driver("system", self.um.env(), self.user)
        self.drivers.append(d)
        d.expect("state", lambda f: f[1] == "disconnected")
        err, msg = d.set(32, ["daily"])
        self.assertEqual(err, -107)                          # ENOTCONN: kept for later
        self.um.start()
        d.wait_ready(timeout=20)
        self.wait_units([unit(32)])
        self.assertEqual(d.remove(32)[0], 0)


class TestSharedBus(Base):
    """Manager, clients (and in the integration stack polkitd and the daemon) on one private bus:
    the bus outlives the manager, so a restart shows as NameOwnerChanged."""
    shared_bus = True

    def test_restart_name_owner_changed(self):
        d = self.driver()
        self.assertEqual(d.set(40, ["daily"])[0], 0)
        self.um.restart()
        d.expect("state", lambda f: f[1] == "reconciling" and f[2] != "0", timeout=10)   # name lost
        d.wait_ready(timeout=20)
        self.wait_units([unit(40)])
        self.assertEqual(d.remove(40)[0], 0)

    def test_user_kind_private_socket(self):
        """bus: user finds the manager as systemctl --user does ($XDG_RUNTIME_DIR/systemd/private)."""
        d = self.driver("user")
        d.send("describe")
        self.assertEqual(d.expect("describe")[1], f"the user manager at {self.um.private_address}")
        due = self.fire_soon(d, 41)
        f = d.expect("fire", lambda f: f[1] == "41", timeout=10)
        self.assertEqual(int(f[2]), due)
        LATENCIES.append(int(f[5]))
        self.assertEqual(d.remove(41)[0], 0)


class TestAsServiceUser(Base):
    """The production design: the manager is the `stopstart` user's own, the client runs as that
    user too, and needs no privilege at all."""
    user = "stopstart"

    def test_user_manager_of_the_daemon_user(self):
        d = self.driver("user")
        due = self.fire_soon(d, 50)
        f = d.expect("fire", lambda f: f[1] == "50", timeout=10)
        self.assertEqual(int(f[2]), due)
        LATENCIES.append(int(f[5]))
        self.assertEqual(d.remove(50)[0], 0)
        self.wait_units([])

    def test_other_users_are_refused(self):
        busenv.ensure_user("sstest-other")
        d = Driver("system", self.um.env(), "sstest-other")
        self.drivers.append(d)
        d.wait_ready()
        err, msg = d.set(51, ["daily"])
        self.assertEqual(err, -13, msg)                      # EACCES: the manager is not theirs
        self.assertEqual(self.our_units(), [])


class TestHardening(unittest.TestCase):
    """stopstartd.service's sandbox still lets the daemon reach its user manager (in /run/user,
    /run/user writable) and run systemd-analyze (seccomp filter, MemoryDenyWriteExecute,
    ProtectSystem=strict, PrivateUsers, ...): pid1-driver runs under the unit's [Service] settings
    as a transient service of a user manager whose runtime directory is below /run/user."""
    UNIT = os.path.join(BUILD, "systemd/stopstartd.service")
    # not sandboxing, or what a transient service of a user manager cannot take
    NOT_SANDBOX = {"Type", "BusName", "ExecStart", "ExecReload", "User", "Group", "WatchdogSec", "Restart",
                   "RestartSec", "RestartPreventExitStatus", "TimeoutStartSec", "ConfigurationDirectory",
                   "StateDirectory", "StateDirectoryMode"}
    # what a service of a user manager in this container (PID 1 is not systemd) cannot get as
    # under PID 1: ProtectKernelTunables/Logs fail for any service (exit 226/NAMESPACE), and
    # ProtectProc/ProcSubset/ProtectControlGroups come with a fresh tmpfs on /run here (under PID 1
    # they only remount /proc or /sys/fs/cgroup)
    CONTAINER_CANNOT = {"ProtectKernelTunables", "ProtectKernelLogs", "ProtectProc", "ProcSubset",
                        "ProtectControlGroups"}

    def test_exposure(self):
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", self.UNIT],
                           capture_output=True, text=True)
        print(r.stdout.strip().splitlines()[-1])
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)

    def sandbox_properties(self):
        props, section = [], None
        for line in open(self.UNIT):
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == "[Service]" and line and not line.startswith("#"):
                k, v = line.split("=", 1)
                if k not in self.NOT_SANDBOX and k not in self.CONTAINER_CANNOT:
                    props += ["-p", f"{k}={v}"]
        self.assertIn("ReadWritePaths=-/run/user", props)
        self.assertIn("SystemCallFilter=@system-service", props)
        return props

    def test_driver_in_the_sandbox(self):
        os.makedirs("/run/user", exist_ok=True)
        um = usermgr.UserManager(basedir=tempfile.mkdtemp(prefix="ssum.", dir="/run/user")).start()
        try:
            prefix = ["systemd-run", "--user", "--pipe", "--quiet", "--wait", "--collect",
                      f"--setenv=XDG_RUNTIME_DIR={um.rt}",
                      # LeakSanitizer cannot inspect the process from inside the sandbox
                      "--setenv=ASAN_OPTIONS=detect_leaks=0", *self.sandbox_properties(),
                      # the driver is built where the checkout is, which may be below /tmp
                      # (PrivateTmp= hides it; the daemon itself is installed in /usr)
                      "-p", f"BindReadOnlyPaths={os.path.realpath(BUILD)}"]
            d = Driver("user", um.env(), prefix=prefix)
            try:
                d.wait_ready()
                d.send("describe")
                self.assertEqual(d.expect("describe")[1], f"the user manager at {um.private_address}")
                err, msg = d.set(60, ["Mon..Fri 19:00"], zone="Europe/Berlin")   # systemd-analyze ran
                self.assertEqual(err, 0, msg)
                err, msg = d.set(61, ["Mon..Fri 25:00"], zone="Europe/Berlin")
                self.assertEqual(err, -22)
                self.assertIn("'Mon..Fri 25:00'", msg)
                # a crashed manager's leftover, which the sandboxed client must be able to remove
                for kind, body in (("timer", "[Timer]\nOnCalendar=daily\n"),
                                   ("service", "[Service]\nExecStart=/bin/true\n")):
                    with open(f"{um.rt}/systemd/transient/stopstart-schedule-62.{kind}", "w") as f:
                        f.write(body)
                um.systemctl("daemon-reload")
                t = int(time.time()) + 2
                self.assertEqual(d.set(62, [utc_spec(t)])[0], 0)
                f = d.expect("fire", lambda f: f[1] == "62", timeout=10)
                self.assertEqual(int(f[2]), t * USEC)
                self.assertEqual(d.remove(60)[0], 0)
                self.assertEqual(d.remove(62)[0], 0)
            finally:
                self.assertEqual(d.quit(), 0)
        finally:
            um.cleanup()
            shutil.rmtree(um.base, ignore_errors=True)


if __name__ == "__main__":
    names = sys.argv[1:] or ["TestTimers", "TestManagerRestart", "TestSharedBus", "TestAsServiceUser", "TestHardening"]
    suite = unittest.TestSuite()
    for n in names:
        suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(globals()[n]))
    ok = unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()
    if LATENCIES:
        s = sorted(LATENCIES)
        print(f"firing latency over {len(s)} firings: median {s[len(s) // 2] / 1000:.1f} ms, "
              f"max {s[-1] / 1000:.1f} ms")
    sys.exit(0 if ok else 1)

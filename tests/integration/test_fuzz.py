#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon under a D-Bus fuzzer (tests/lib/busfuzz.py, issue 13): every method of every object
kind and every writable property, with random typed values, wrong signatures, huge and
multi-byte strings, control characters and unknown paths, as an unprivileged user (polkit denies
every change) and as an allowed one (destructive methods left out). No call is left unanswered,
the daemon keeps its name and state, the sanitizers stay silent, and its open descriptors (and,
without ASan's quarantine, its RSS) come back to their level.

    test_fuzz.py [--calls N]     (make check: 1,500 calls per user; make soak: more)"""
import argparse
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import sanitizers  # noqa: E402
from busenv import PY, as_user, wait_for  # noqa: E402
from ssstack import BUS_NAME, OPERATOR, ROOT_PATH, VIEWER, Stack  # noqa: E402

FUZZ = os.path.join(HERE, "..", "lib", "busfuzz.py")
# acts on instances or removes what the allowed user's later calls need
DESTRUCTIVE = ["Start", "Stop", "Reboot", "SoftStop", "SoftReboot", "Delete", "Fire", "RemoveCalendar",
               "RemoveCalendarDates", "Disable", "Refresh", "Reload"]
ARGS = argparse.Namespace(calls=1500)


def status(pid):
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return fds, rss


def asan(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


class TestFuzz(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = Stack(compartments=4, instances=12, systemd_manager=True).start()

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.st.stop_daemon()
            log = cls.st.log_tail(1000000)
        finally:
            cls.st.stop()
        sanitizers.check("stopstartd", rc, log)
        if rc != 0:
            raise AssertionError(f"stopstartd exited with {rc} on SIGTERM")

    def fuzz(self, user, calls, seed, skip=()):
        st = self.st
        # a copy the user can read (the checkout may sit in a 0700 directory)
        prog = os.path.join(st.dir, "bin", "busfuzz.py")
        if not os.path.exists(prog):
            with open(FUZZ) as src, open(prog, "w") as dst:
                dst.write(src.read())
            os.chmod(prog, 0o755)
        argv = as_user(user) + [PY, prog, st.bus.address, BUS_NAME, ROOT_PATH, "--calls", str(calls),
                                "--seed", str(seed), "--timeout", "30"]
        if skip:
            argv += ["--skip", *skip]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=calls * 2 + 120)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        out = json.loads(r.stdout)
        print(f"\n{user}: {json.dumps(out)}", file=sys.stderr)
        self.assertEqual(out["unanswered"], [], f"calls left unanswered as {user}")
        self.assertGreater(out["calls"], calls * 0.9)
        self.assertEqual(out["answered"], out["calls"])
        self.assertGreater(out["methods"], 30)            # every interface was found
        self.assertIsNone(st.daemon.poll(), st.log_tail())
        self.assertTrue(st.bus.has_name(BUS_NAME))
        return out

    def test_fuzz(self):
        st = self.st
        pid = st.daemon.pid
        # warm up (caches, polkit connection), then the level to come back to
        self.fuzz(VIEWER, 200, seed=99)
        time.sleep(1)
        fds0, rss0 = status(pid)
        denied = self.fuzz(VIEWER, ARGS.calls, seed=1)
        self.assertGreater(denied["errors"].get("org.freedesktop.DBus.Error.AccessDenied", 0) +
                           denied["errors"].get("org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", 0), 0)
        allowed = self.fuzz(OPERATOR, ARGS.calls, seed=2, skip=DESTRUCTIVE)
        self.assertGreater(sum(allowed["errors"].values()), 0)
        # still itself: running, answering, and back to its level once the jobs settle
        self.assertEqual(st.manager_prop("State"), "running")
        wait_for(lambda: status(pid)[0] <= fds0 + 2, 30, 0.5, f"descriptors back to {fds0} (now {status(pid)[0]})")
        fds1, rss1 = status(pid)
        print(f"descriptors {fds0} -> {fds1}, RSS {rss0} -> {rss1} KiB", file=sys.stderr)
        if not asan(st.stopstartd):
            self.assertLess(rss1, rss0 + 16 * 1024, f"RSS grew from {rss0} to {rss1} KiB")
        st.check_daemon_log()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=ARGS.calls)
    ARGS, rest = ap.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)

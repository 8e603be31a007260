# SPDX-License-Identifier: LGPL-2.1-or-later
"""The stack of a schedules test (suites integration and soak): tests/lib/ssstack.py with a real
systemd user manager holding the timers, and the helpers every such test uses (schedule add with
clean-up, occurrences once finished, the fake server's action counters)."""
import datetime
import os
import sys
import time
import unittest

from ssstack import Stack

USEC = 1000000


def utc_spec(t):
    """A calendar spec for the second t (epoch seconds), in UTC."""
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def ahead(seconds):
    """An instant `seconds` from now, on a whole second (epoch seconds)."""
    return int(time.time()) + seconds


class ScheduleTest(unittest.TestCase):
    STACK_ARGS = {}

    @classmethod
    def setUpClass(cls):
        args = dict(seed=5, compartments=4, depth=2, instances=16, systemd_manager=True,
                    oci_args=["--start-delay", "0.2", "--stop-delay", "0.2", "--softstop-delay", "0.2",
                              "--reset-delay", "0.2"])
        args.update(cls.STACK_ARGS)
        cls.st = Stack(**args).start()
        cls.fake = cls.st.oci.dump()
        cls.tenancy = cls.st.oci.tenancy_id

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.st.stop_daemon()
            log = cls.st.log_tail(100000)
        finally:
            cls.st.stop()
        reports = [x for x in log.splitlines() if "Sanitizer" in x or "runtime error:" in x]
        if rc != 0 or reports:
            raise AssertionError(f"stopstartd exited with {rc} on SIGTERM; sanitizer reports: {reports[:5]}")

    def run(self, result=None):
        r = super().run(result)
        if result is not None and (result.failures or result.errors) and not getattr(self, "_log_shown", False):
            print("--- stopstartd log (tail) ---\n" + self.st.log_tail(int(os.environ.get("SCHEDCASE_LOG_LINES", "80"))), file=sys.stderr)
            type(self)._log_shown = True
        return r

    # --- helpers ---------------------------------------------------------------------------------
    def ctl(self, *args, **kw):
        return self.st.ctl(*args, **kw)

    def ctl_json(self, *args, **kw):
        return self.st.ctl_json(*args, **kw)

    def call(self, path, iface, method, sig="", *args, user=None):
        return self.st.call(path, iface, method, sig, *args, user=user)

    def instances(self, state=None):
        out = [i for i in self.st.oci.dump()["instances"] if i["lifecycleState"] != "TERMINATED"]
        return [i for i in out if state is None or i["lifecycleState"] == state]

    def manage_all(self):
        self.ctl("set-defaults", self.tenancy, "managed=yes", check=0)

    def actions(self):
        """{instance id: {ACTION: n}} as the fake server counted them."""
        return self.st.oci.counters()["actions"]

    def occurrences(self, name):
        return self.ctl_json("schedule", "occurrences", name)

    def wait_occurrence(self, name, states=("done", "failed", "skipped", "missed"), n=1, timeout=60):
        """The schedule's occurrences (newest first) once n of them have finished."""
        end = time.monotonic() + timeout
        while True:
            occ = self.occurrences(name)
            if len(occ) >= n and all(o["state"] in states for o in occ):
                return occ
            if time.monotonic() > end:
                raise TimeoutError(f"timeout waiting for {n} finished occurrence(s) of {name}: {occ}")
            time.sleep(0.2)

    def timer_of(self, name):
        sid = self.ctl_json("schedule", "show", name)["id"]
        return f"stopstart-schedule-{sid}.timer"

    def add(self, name, *args, check=0):
        """schedule add NAME ARGS, removed again when the test ends."""
        r = self.ctl("schedule", "add", name, *args)
        if check is not None:
            self.assertEqual(r.returncode, check, r.stderr)
        self.addCleanup(self.ctl, "schedule", "remove", name)
        return r

    def timer_units(self):
        out = self.st.usermgr.systemctl("list-units", "--all", "--plain", "--no-legend", "stopstart-schedule-*.timer",
                                   check=False).stdout
        return sorted(line.split()[0] for line in out.splitlines() if line.strip())

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Schedules end to end (issue 10; meson suite "integration"): the whole stack of
tests/lib/ssstack.py plus a real systemd user manager (tests/lib/usermgr.py) that holds the
schedules' transient timers, reached by the daemon as in production (its private socket).
Firings are real timer firings; what the daemon did is counted at the fake OCI server.

One meson test per class (each with its own stack):
    test_schedules.py TestVerbs
"""
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from propmonitor import PropMonitor  # noqa: E402
from busenv import as_user, wait_for  # noqa: E402
from ssstack import (BUS_NAME, INSTANCE, MANAGER, OPERATOR, ROOT_PATH, VIEWER, CallError)  # noqa: E402
from schedcase import USEC, ScheduleTest, ahead, utc_spec  # noqa: E402

SCHEDULE = "org.stopstart.StopStart1.Schedule"
EXIT_USAGE = 2
EXIT_NO_SUCH_OBJECT = 4
ISO_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$"


def analyze_next(spec, n, base=None):
    """systemd-analyze calendar's next n instants of spec (µs), the reference for Preview."""
    cmd = ["systemd-analyze", "calendar", f"--iterations={n}", spec]
    if base is not None:
        cmd.insert(3, "--base-time=@%d" % base)
    out = subprocess.run(cmd, env=dict(os.environ, TZ="UTC", LANG="C"), capture_output=True, text=True,
                         check=True).stdout
    res = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Next elapse:") or line.startswith("Iter. #"):
            ts = line.split(":", 1)[1].strip()
            res.append(int(datetime.datetime.strptime(ts, "%a %Y-%m-%d %H:%M:%S UTC").replace(
                tzinfo=datetime.timezone.utc).timestamp()) * USEC)
    return res


class TestVerbs(ScheduleTest):
    """The stable contract of stopstartctl schedule/calendar, the D-Bus objects, polkit, and
    Preview/Simulate against systemd's calendar engine (DST included); nothing fires here."""

    def test_add_list_show_remove(self):
        inst = self.instances()[0]
        r = self.ctl("schedule", "add", "evening", "--action=stop", "--on=Mon..Fri 19:00", "--on=Sat 13:00",
                     "--tz=Europe/Berlin", "--grace=10min", inst["displayName"], f"compartment:{self.tenancy}")
        self.assertEqual(r.returncode, 0, r.stderr)
        lst = self.ctl_json("schedule", "list")
        row = [s for s in lst if s["name"] == "evening"][0]
        self.assertEqual(row["action"], "stop")
        self.assertIs(row["enabled"], True)
        wait_for(lambda: self.ctl_json("schedule", "list")[0]["next_elapse"], 10, 0.1, "NextElapse")
        row = [s for s in self.ctl_json("schedule", "list") if s["name"] == "evening"][0]
        self.assertRegex(row["next_elapse"], ISO_RE)
        self.assertIsNone(row["last_trigger"])

        show = self.ctl_json("schedule", "show", "evening")
        self.assertEqual(show["calendars"], ["Mon..Fri 19:00", "Sat 13:00"])
        self.assertEqual(show["time_zone"], "Europe/Berlin")
        self.assertEqual(show["misfire_grace_usec"], 600 * USEC)
        self.assertIn(inst["id"], show["targets"])
        self.assertIn(f"compartment:{self.tenancy}", show["targets"])
        self.assertEqual(show["target_count"], len(self.st.oci.dump()["instances"]))
        human = self.ctl("schedule", "show", "evening", check=0).stdout
        self.assertIn("Mon..Fri 19:00", human)
        # A list's further values are under the first, without a label's colon (systemctl status).
        self.assertRegex(human, r"(?m)^( +)Calendar: Mon\.\.Fri 19:00\n\1          Sat 13:00$")
        self.assertNotRegex(human, r"(?m)^ *:")
        # A compartment target reads as its path, as the operator names it (--json keeps the OCID).
        tpath = next(c["path"] for c in self.ctl_json("list-compartments") if c["id"] == self.tenancy)
        self.assertRegex(human, rf"(?m)^ +compartment:{re.escape(tpath)}$")
        self.assertNotIn(self.tenancy, human)
        other = self.instances()[1]["id"]   # in the tenancy's subtree, not named itself
        ex = self.ctl("explain", other, check=0).stdout
        self.assertRegex(ex, rf"(?m)^evening +stop +compartment:{re.escape(tpath)} ")
        # --json says the same: a row per schedule after the settings; "no value" is null
        rows = self.ctl_json("explain", other)
        sched = [r for r in rows if r["key"] == "schedule"]
        self.assertEqual([(r["value"], r["action"], r["source"]) for r in sched],
                         [("evening", "stop", f"compartment:{self.tenancy}")], rows)
        self.assertIsNone({r["key"]: r["value"] for r in rows}["note"], rows)
        unit = self.timer_of("evening")
        self.assertIn(unit, self.timer_units())

        # The bus object: properties, ObjectManager, the Manager's list.
        path = self.call(ROOT_PATH, MANAGER, "GetSchedule", "s", "evening")[0]
        self.assertEqual(self.st.prop(path, SCHEDULE, "Action"), "stop")
        self.assertEqual(self.st.prop(path, SCHEDULE, "TimeZone"), "Europe/Berlin")
        objs = json.loads(self.st.busctl("--json=short", "call", "org.stopstart.StopStart1", ROOT_PATH,
                                         "org.freedesktop.DBus.ObjectManager", "GetManagedObjects").stdout)
        self.assertIn(path, objs["data"][0])

        r = self.ctl("schedule", "remove", "evening")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("schedule", "show", "evening")
        self.assertEqual(r.returncode, EXIT_NO_SUCH_OBJECT)
        wait_for(lambda: unit not in self.timer_units(), 10, 0.1, "the timer gone")

    def test_add_json_prints_what_was_created(self):
        """add --json answers with the new schedule as show --json gives it; add-window with both
        halves; text output stays quiet on success."""
        inst = self.instances()[0]
        r = self.add("made", "--json=short", "--action=stop", "--on=daily", inst["id"])
        made = json.loads(r.stdout)
        self.assertEqual(made, self.ctl_json("schedule", "show", "made"))
        self.assertEqual((made["name"], made["action"], made["calendars"]), ("made", "stop", ["daily"]))
        r = self.ctl("schedule", "add-window", "--json=short", "shop", "--up=*-*-* 08:00", "--down=*-*-* 19:00",
                     inst["id"])
        self.addCleanup(self.ctl, "schedule", "remove", "shop")
        self.assertEqual(r.returncode, 0, r.stderr)
        halves = json.loads(r.stdout)
        self.assertEqual([h["name"] for h in halves], ["shop-up", "shop-down"])
        self.assertEqual(halves, self.ctl_json("schedule", "show", "shop"))
        self.assertEqual(self.add("quiet", "--action=stop", "--on=daily", inst["id"]).stdout, "")

    def test_history_text_of_schedules(self):
        """history names a schedule by its name, words its grace and validity as show does, and a
        value that is absent is "-": "inherit" belongs to set-config/set-defaults alone."""
        inst = self.instances()[0]
        self.add("hist", "--action=stop", "--on=daily", "--grace=10min", inst["id"])
        self.ctl("schedule", "edit", "hist", "--valid-until=2030-01-01 00:00", check=0)
        self.ctl("set-config", inst["id"], "note=x", check=0)
        self.ctl("set-config", inst["id"], "note=inherit", check=0)
        rows = self.ctl("--no-legend", "history", check=0).stdout.splitlines()
        sched = [r for r in rows if " schedule " in r]
        create = next(r for r in sched if "name=hist," in r)
        self.assertRegex(create, r" create +schedule +hist +name=hist, ")
        self.assertIn("misfire_grace=10min", create)
        self.assertIn("window_name=-", create)
        self.assertIn("valid_until=-", create)
        update = next(r for r in sched if re.search(r" update +schedule +hist ", r))
        self.assertIn("valid_until: - → Tue 2030-01-01 00:00:00 UTC", update)
        for r in sched:
            self.assertNotIn("inherit", r)
        self.assertIn("note: x → inherit", [r for r in rows if " set-config " in r][-1])
        # --json keeps the entry as stored.
        sid = str(self.ctl_json("schedule", "show", "hist")["id"])
        entry = [e for e in self.ctl_json("history") if e["object_kind"] == "schedule" and e["object_id"] == sid][0]
        self.assertEqual(entry["details"]["new"]["name"], "hist")

    def test_invalid_specs_refused_nothing_stored(self):
        inst = self.instances()[0]
        for spec in ("Mon..Fri 25:00", "every tuesday", "*-*-* 19:00 Europe/Berlin"):
            r = self.ctl("schedule", "add", "broken", "--action=stop", f"--on={spec}", inst["id"])
            self.assertNotEqual(r.returncode, 0)
            self.assertEqual(r.returncode, EXIT_USAGE, r.stderr)
            self.assertIn(spec.split(" Europe")[0], r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertNotIn("broken", [s["name"] for s in self.ctl_json("schedule", "list")])
        # On the bus: the named error, naming the spec.
        with self.assertRaises(CallError) as cm:
            self.call(ROOT_PATH, MANAGER, "CreateSchedule", "ssassasa{sv}", "broken", "stop", ["Mon 25:00"], "UTC",
                      [inst["id"]], {})
        self.assertEqual(cm.exception.name, "org.stopstart.StopStart1.Error.InvalidCalendar")
        self.assertIn("Mon 25:00", cm.exception.message)
        # A valid spec whose edit is invalid keeps the old one.
        self.add("keep", "--action=stop", "--on=daily", inst["id"])
        r = self.ctl("schedule", "edit", "keep", "--on=Mon 25:00")
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertEqual(self.ctl_json("schedule", "show", "keep")["calendars"], ["daily"])
        # Targets: unknown instances and compartments, malformed tags.
        for t, code in (("no-such-instance", EXIT_USAGE), ("compartment:tenancy/nope", EXIT_USAGE),
                        ("tag:novalue", EXIT_USAGE)):
            r = self.ctl("schedule", "add", "t", "--action=stop", "--on=daily", t)
            self.assertEqual(r.returncode, code, (t, r.stderr))
            self.assertIn(t.split(":")[-1], r.stderr)

    def test_timer_refused_by_systemd_stores_nothing(self):
        """The manager refuses the timer of a new schedule (here: a unit of that name is masked):
        CreateSchedule answers an error naming systemd's reason, and nothing is stored or
        announced; the same name can be used once the manager accepts. Enable likewise: the
        schedule stays disabled."""
        inst = self.instances()[0]
        self.add("probe", "--action=stop", "--on=daily", inst["id"])
        next_id = self.ctl_json("schedule", "show", "probe")["id"] + 1
        unit = f"stopstart-schedule-{next_id}.timer"
        self.st.usermgr.systemctl("--runtime", "mask", unit)
        self.addCleanup(self.st.usermgr.systemctl, "--runtime", "unmask", unit, check=False)
        wait_for(lambda: all(x["next_elapse"] for x in self.ctl_json("schedule", "list") if x["enabled"]), 10, 0.1,
                 "NextElapse")
        before = self.ctl_json("schedule", "list")
        with PropMonitor(self.st) as mon:
            r = self.ctl("schedule", "add", "refused", "--action=stop", "--on=daily", inst["id"])
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("refused the timer", r.stderr)
            self.assertIn("already loaded or has a fragment file", r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            time.sleep(0.3)
            self.assertNotIn(f"/org/stopstart/StopStart1/schedule/{next_id}", mon.paths())
        self.assertEqual(self.ctl_json("schedule", "list"), before)
        self.assertEqual(self.ctl("schedule", "show", "refused", check=None).returncode, EXIT_NO_SUCH_OBJECT)
        self.assertNotIn(unit, self.timer_units())
        # A window whose second timer is refused takes both back.
        self.st.usermgr.systemctl("--runtime", "mask", f"stopstart-schedule-{next_id + 2}.timer")
        self.addCleanup(self.st.usermgr.systemctl, "--runtime", "unmask", f"stopstart-schedule-{next_id + 2}.timer",
                        check=False)
        r = self.ctl("schedule", "add-window", "half", "--up=*-*-* 08:00", "--down=*-*-* 19:00", inst["id"])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(self.ctl_json("schedule", "list"), before)
        for k in (1, 2):
            self.assertNotIn(f"stopstart-schedule-{next_id + k}.timer", self.timer_units())
        # Accepted now (another id): stored and timed as usual.
        self.add("refused", "--action=stop", "--on=daily", inst["id"])
        wait_for(lambda: self.timer_of("refused") in self.timer_units(), 10, 0.1, "the timer")

        # Enabling asks for the timer first: refused, the schedule stays disabled, without a timer.
        self.add("sleeper", "--action=stop", "--on=daily", "--disabled", inst["id"])
        sleeper = self.timer_of("sleeper")
        self.st.usermgr.systemctl("--runtime", "mask", sleeper)
        self.addCleanup(self.st.usermgr.systemctl, "--runtime", "unmask", sleeper, check=False)
        r = self.ctl("schedule", "enable", "sleeper")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("refused the timer", r.stderr)
        self.assertIn("stays disabled", r.stderr)
        self.assertIs(self.ctl_json("schedule", "show", "sleeper")["enabled"], False)
        self.assertNotIn(sleeper, self.timer_units())
        self.st.usermgr.systemctl("--runtime", "unmask", sleeper)
        self.ctl("schedule", "enable", "sleeper", check=0)
        self.assertIs(self.ctl_json("schedule", "show", "sleeper")["enabled"], True)
        wait_for(lambda: sleeper in self.timer_units(), 10, 0.1, "the timer once enabled")

    def test_window_calendars_preview(self):
        inst = [i for i in self.instances()][:3]
        self.ctl("calendar", "add", "holidays", "2030-12-24..2030-12-26", "2030-01-01", check=0)
        self.ctl("calendar", "add", "holidays", "2030-05-01", check=0)
        cal = self.ctl_json("calendar", "show", "holidays")
        self.assertEqual(cal["entries"], ["2030-01-01", "2030-05-01", "2030-12-24..2030-12-26"])
        self.assertIn("holidays", [c["name"] for c in self.ctl_json("calendar", "list")])
        r = self.ctl("calendar", "add", "holidays", "2030-02-30")
        self.assertEqual(r.returncode, EXIT_USAGE)

        r = self.ctl("schedule", "add-window", "office", "--up=Mon..Fri 08:00", "--down=Mon..Fri 19:00",
                     "--tz=Europe/Berlin", *[i["id"] for i in inst])
        self.assertEqual(r.returncode, 0, r.stderr)
        names = [s["name"] for s in self.ctl_json("schedule", "list")]
        self.assertIn("office-up", names)
        self.assertIn("office-down", names)
        both = self.ctl_json("schedule", "show", "office")
        self.assertEqual([s["action"] for s in both], ["start", "stop"])
        self.assertEqual({s["window"] for s in both}, {"office"})
        r = self.ctl("schedule", "edit", "office", "--exceptions=holidays", "--down=Mon..Fri 18:30")
        self.assertEqual(r.returncode, 0, r.stderr)
        both = self.ctl_json("schedule", "show", "office")
        self.assertEqual([s["exception_calendars"] for s in both], [["holidays"], ["holidays"]])
        self.assertEqual(both[1]["calendars"], ["Mon..Fri 18:30"])
        self.assertEqual(both[0]["calendars"], ["Mon..Fri 08:00"])
        r = self.ctl("calendar", "remove", "holidays")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("office", r.stderr)

        # Disabled together, enabled together; timers follow.
        self.ctl("schedule", "disable", "office", check=0)
        self.assertEqual({s["enabled"] for s in self.ctl_json("schedule", "show", "office")}, {False})
        units = {self.timer_of("office-up"), self.timer_of("office-down")}
        wait_for(lambda: not units & set(self.timer_units()), 10, 0.1, "the window's timers gone")
        self.ctl("schedule", "enable", "office", check=0)
        wait_for(lambda: units <= set(self.timer_units()), 10, 0.1, "the window's timers back")

        # Preview of a window interleaves up and down, each with an ISO time.
        prev = self.ctl_json("schedule", "preview", "office", "-n", "6")
        self.assertEqual(len(prev), 6)
        for p in prev:
            self.assertRegex(p["at"], ISO_RE)
        self.assertEqual({p["schedule"] for p in prev}, {"office-up", "office-down"})
        self.ctl("schedule", "remove", "office", check=0)
        self.assertNotIn("office-up", [s["name"] for s in self.ctl_json("schedule", "list")])
        self.ctl("calendar", "remove", "holidays", check=0)
        r = self.ctl("calendar", "show", "holidays")
        self.assertEqual(r.returncode, EXIT_NO_SUCH_OBJECT)

    def test_preview_simulate_dst_match_systemd(self):
        """Europe/Berlin's spring-forward (2027-03-28, 02:00 → 03:00) and fall-back (2027-10-31):
        the instants are systemd's, never our own arithmetic."""
        inst = self.instances()[0]
        spec = "*-03,10-27..29 01,02:30"
        self.add("dst", "--action=stop", f"--on={spec}", "--tz=Europe/Berlin", inst["id"])
        prev = self.ctl_json("schedule", "preview", "dst", "-n", "8")
        path = self.call(ROOT_PATH, MANAGER, "GetSchedule", "s", "dst")[0]
        raw = self.call(path, SCHEDULE, "Preview", "u", 8)[0]
        expect = analyze_next(spec + " Europe/Berlin", 8)
        self.assertEqual([p[0] for p in raw], expect)
        self.assertEqual(len(prev), 8)

        frm = int(datetime.datetime(2027, 3, 26, tzinfo=datetime.timezone.utc).timestamp())
        to = int(datetime.datetime(2027, 11, 1, tzinfo=datetime.timezone.utc).timestamp())
        sim = self.call(path, SCHEDULE, "Simulate", "tt", frm * USEC, to * USEC)
        got = [f[0] for f in sim[0]]
        ref = [t for t in analyze_next(spec + " Europe/Berlin", 40, base=frm) if t < to * USEC]
        self.assertEqual(got, ref)
        # The skipped hour: 02:30 does not exist on 2027-03-28 in Berlin; systemd says what happens.
        j = self.ctl_json("schedule", "simulate", "dst", "--from=@%d" % frm, "--to=@%d" % to)
        self.assertEqual(len(j["occurrences"]), len(ref))
        for o in j["occurrences"]:
            self.assertRegex(o["at"], ISO_RE)
            self.assertEqual(o["instances"][0]["instance_id"], inst["id"])
        self.assertEqual(j["instances"][0]["instance_id"], inst["id"])

    def test_skip_delay_dry_run_instance_view(self):
        self.manage_all()
        inst = self.instances("RUNNING")[0]
        self.add("later", "--action=stop", "--on=*-*-* 03:00", "--tz=UTC", inst["id"])
        prev = self.ctl_json("schedule", "preview", "later", "-n", "2")
        self.assertEqual(prev[0]["status"], "run")
        self.assertEqual(prev[0]["instances"][0]["decision"], "act")
        self.assertIsNone(prev[0]["instances"][0]["reason"])
        r = self.ctl("schedule", "skip", "later")
        self.assertEqual(r.returncode, 0, r.stderr)
        prev = self.ctl_json("schedule", "preview", "later", "-n", "2")
        self.assertEqual(prev[0]["status"], "skip")
        self.assertEqual(prev[1]["status"], "run")
        r = self.ctl("schedule", "delay", "later", "--by=30min", "--at=@%d" % (
            datetime.datetime.fromisoformat(prev[1]["at"]).timestamp()))
        self.assertEqual(r.returncode, 0, r.stderr)

        dry = self.ctl_json("schedule", "fire", "later", "--dry-run")
        self.assertIsNone(dry["job"])
        self.assertEqual(dry["plan"], [{"instance_id": inst["id"], "decision": "act", "reason": None}])
        self.assertEqual(self.actions(), {})   # acted on nothing

        # The instance's view: Schedules, NextAction, Explain.
        ipath = self.call(ROOT_PATH, MANAGER, "GetInstance", "s", inst["id"])[0]
        spath = self.call(ROOT_PATH, MANAGER, "GetSchedule", "s", "later")[0]
        self.assertEqual(self.st.prop(ipath, INSTANCE, "Schedules"), [spath])
        na = self.st.prop(ipath, INSTANCE, "NextAction")
        self.assertEqual(na[0], "stop")
        self.assertEqual(na[2], spath)
        explain = json.loads(self.call(ipath, INSTANCE, "Explain")[0])
        self.assertEqual(explain["schedules"][0]["schedule"], "later")
        self.assertEqual(explain["schedules"][0]["selected_by"], inst["id"])

    def get_all(self, path, iface):
        out = json.loads(self.st.busctl("--json=short", "call", BUS_NAME, path, "org.freedesktop.DBus.Properties",
                                        "GetAll", "s", iface).stdout)
        return {k: v["data"] for k, v in out["data"][0].items()}

    def test_instance_schedules_live(self):
        """Instance.Schedules and NextAction are in GetAll and announced with their new values
        when a schedule is created, disabled, enabled, retargeted and removed; instances it
        does not target hear nothing. NextAction is the next firing that would act on the
        instance: a start does nothing to a running one."""
        self.manage_all()
        inst, other, bystander = self.instances("RUNNING")[:3]
        stopped = self.instances("STOPPED")[0]
        ipath, opath, bpath, spath_ = (self.call(ROOT_PATH, MANAGER, "GetInstance", "s", x["id"])[0]
                                       for x in (inst, other, bystander, stopped))
        none = ["", 0, "/"]
        self.assertEqual(self.get_all(ipath, INSTANCE)["Schedules"], [])
        self.assertEqual(self.get_all(ipath, INSTANCE)["NextAction"], none)
        with PropMonitor(self.st) as mon:
            self.add("live", "--action=stop", "--on=*-*-* 04:00", "--tz=UTC", inst["id"])
            spath = self.call(ROOT_PATH, MANAGER, "GetSchedule", "s", "live")[0]
            # Schedules at once; NextAction once the timer reports its next elapse.
            wait_for(lambda: (mon.last(ipath, "NextAction") or none)[1] > 0, 15, 0.05, "NextAction announced")
            elapse = self.st.prop(spath, SCHEDULE, "NextElapse")
            self.assertEqual(mon.last(ipath, "Schedules"), [spath])
            self.assertEqual(mon.last(ipath, "NextAction"), ["stop", elapse, spath])
            props = self.get_all(ipath, INSTANCE)
            self.assertEqual(props["Schedules"], [spath])
            self.assertEqual(props["NextAction"], ["stop", elapse, spath])

            r = self.ctl("schedule", "disable", "live")
            self.assertEqual(r.returncode, 0, r.stderr)
            wait_for(lambda: mon.last(ipath, "NextAction") == none, 15, 0.05, "NextAction cleared")
            props = self.get_all(ipath, INSTANCE)
            self.assertEqual(props["NextAction"], none)
            self.assertEqual(props["Schedules"], [spath])   # still targeted, just disabled

            r = self.ctl("schedule", "enable", "live")
            self.assertEqual(r.returncode, 0, r.stderr)
            wait_for(lambda: (mon.last(ipath, "NextAction") or none)[1] > 0, 15, 0.05, "NextAction back")

            r = self.ctl("schedule", "edit", "live", other["id"])   # retargeted
            self.assertEqual(r.returncode, 0, r.stderr)
            wait_for(lambda: mon.last(ipath, "Schedules") == [] and mon.last(opath, "Schedules") == [spath],
                     15, 0.05, "Schedules moved to the new target")
            wait_for(lambda: mon.last(ipath, "NextAction") == none, 15, 0.05, "old target's NextAction cleared")
            wait_for(lambda: (mon.last(opath, "NextAction") or none)[1] > 0, 15, 0.05, "new target's NextAction")

            r = self.ctl("schedule", "remove", "live")
            self.assertEqual(r.returncode, 0, r.stderr)
            wait_for(lambda: mon.last(opath, "Schedules") == [], 15, 0.05, "Schedules after removal")
            wait_for(lambda: mon.last(opath, "NextAction") == none, 15, 0.05, "NextAction after removal")
            time.sleep(0.5)
            self.assertNotIn(bpath, mon.paths())

        # A start acts on the stopped instance only; status shows the schedules and the next action.
        self.add("live2", "--action=start", "--on=*-*-* 05:00", "--tz=UTC", inst["id"], stopped["id"])
        wait_for(lambda: self.st.prop(spath_, INSTANCE, "NextAction")[1] > 0, 15, 0.05, "NextAction")
        self.assertEqual(len(self.st.prop(ipath, INSTANCE, "Schedules")), 1)
        self.assertEqual(self.st.prop(ipath, INSTANCE, "NextAction"), none)   # already RUNNING
        out = self.ctl("status", stopped["id"], check=None).stdout
        self.assertRegex(out, r"Schedules:\s+live2")
        self.assertRegex(out, r"Next action:\s+start at .*by live2")

    def test_polkit(self):
        inst = self.instances()[0]
        r = self.ctl("schedule", "add", "viewer-try", "--action=stop", "--on=daily", inst["id"], user=VIEWER,
                     check=None)
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("viewer-try", [s["name"] for s in self.ctl_json("schedule", "list")])
        r = self.ctl("--no-ask-password", "schedule", "add", "op-made", "--action=stop", "--on=daily", inst["id"],
                     user=OPERATOR)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Reads need nothing.
        self.assertEqual(self.ctl("schedule", "list", user=VIEWER).returncode, 0)
        self.assertEqual(self.ctl("schedule", "preview", "op-made", user=VIEWER).returncode, 0)
        r = self.ctl("--no-ask-password", "schedule", "fire", "op-made", user=VIEWER)
        self.assertNotEqual(r.returncode, 0)
        self.ctl("schedule", "remove", "op-made", check=0)


class TestOperatorMistakes(ScheduleTest):
    """What an operator gets wrong is refused in one clear line, and an answer comes even while
    PostgreSQL is away (found trying the product as a new operator would)."""

    def refused(self, args, code, *parts):
        r = self.ctl(*args)
        self.assertEqual(r.returncode, code, (args, r.stderr))
        self.assertEqual(len(r.stderr.splitlines()), 1, (args, r.stderr))
        for p in parts:
            self.assertIn(p, r.stderr, args)
        return r

    def test_zero_grace_refused(self):
        # Every firing comes a few ms after its instant: a grace of 0 would record each one missed.
        inst = self.instances()[0]
        self.refused(["schedule", "add", "g0", "--action=stop", "--on=daily", "--grace=0", inst["id"]], EXIT_USAGE,
                     "at least 1s")
        self.assertNotIn("g0", [s["name"] for s in self.ctl_json("schedule", "list")])
        self.add("g1", "--action=stop", "--on=daily", "--grace=1s", inst["id"])
        self.refused(["schedule", "edit", "g1", "--grace=0"], EXIT_USAGE, "at least 1s")

    def test_unknown_name_in_a_list_changes_nothing(self):
        """enable/disable/remove with one unknown name among known ones refuse the list (exit 4,
        one line naming it) and change none of them, as systemctl disable does."""
        inst = self.instances()[0]
        self.add("keep1", "--action=stop", "--on=daily", inst["id"])
        self.add("keep2", "--action=stop", "--on=daily", "--disabled", inst["id"])
        for verb in ("disable", "enable", "remove"):
            self.refused(["schedule", verb, "keep1", "nosuch", "keep2"], EXIT_NO_SUCH_OBJECT, "nosuch")
            shown = {s["name"]: s["enabled"] for s in self.ctl_json("schedule", "list")}
            self.assertEqual((shown.get("keep1"), shown.get("keep2")), (True, False), verb)

    def test_list_occurrences_filters(self):
        """ListOccurrences reads its filters as every a{sv} of the API does: an unknown key (the
        known ones listed), a key given twice, a wrong type, a bad value are InvalidArgs naming it."""
        inst = self.instances()[0]
        self.add("filtered", "--action=stop", "--on=daily", inst["id"])
        call = ["call", BUS_NAME, ROOT_PATH, MANAGER, "ListOccurrences", "a{sv}"]
        for args, part in ((["1", "nope", "s", "x"], "Unknown filter 'nope'"),
                           (["2", "limit", "u", "5", "limit", "u", "6"], "'limit' is given twice"),
                           (["1", "limit", "s", "5"], "limit"),
                           (["1", "limit", "u", "0"], "limit: 1 to 10000"),
                           (["1", "state", "s", "bogus"], 'Unknown state "bogus"'),
                           (["1", "schedule", "s", "nosuch"], 'No schedule "nosuch"')):
            r = self.st.busctl(*call, *args, check=False)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(part, r.stderr, args)
        r = self.st.busctl(*call, "2", "schedule", "s", "filtered", "limit", "u", "5")
        self.assertEqual(r.stdout.strip(), "a(tstssa(ssss)) 0")

    def test_window_and_schedule_names_do_not_clash(self):
        inst = self.instances()[0]
        self.add("shift", "--action=stop", "--on=daily", inst["id"])
        self.refused(["schedule", "add-window", "shift", "--up=Mon 08:00", "--down=Mon 18:00", inst["id"]],
                     EXIT_USAGE, '"shift" exists already')
        self.assertEqual(sorted(s["name"] for s in self.ctl_json("schedule", "list")), ["shift"])
        r = self.ctl("schedule", "add-window", "office", "--up=Mon 08:00", "--down=Mon 18:00", inst["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(self.ctl, "schedule", "remove", "office")
        self.refused(["schedule", "add", "office", "--action=stop", "--on=daily", inst["id"]], EXIT_USAGE,
                     "window (office-up, office-down)")
        self.refused(["schedule", "edit", "shift", "--name=office"], EXIT_USAGE, "window (office-up, office-down)")
        self.assertEqual(sorted(s["name"] for s in self.ctl_json("schedule", "list")),
                         ["office-down", "office-up", "shift"])

    def test_skip_twice_and_messages(self):
        inst = self.instances()[0]
        self.add("twice", "--action=stop", "--on=*-*-* 03:00", "--tz=UTC", inst["id"])
        self.ctl("schedule", "skip", "twice", check=0)
        self.refused(["schedule", "skip", "twice"], 1, "not pending any more")
        self.refused(["schedule", "delay", "twice", "--by=1h"], 1, "not pending any more")
        self.refused(["schedule", "delay", "twice", "--by=31d"], EXIT_USAGE, "at most 30 days")
        self.refused(["schedule", "simulate", "twice", "--from=now", "--to=+400d"], EXIT_USAGE, "at most a year")

    def test_skip_at_a_time_that_is_no_occurrence(self):
        inst = self.instances()[0]
        self.add("slots", "--action=stop", "--on=*-*-* 03:00", "--tz=UTC", inst["id"])
        day = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).date()
        slot = int(datetime.datetime(day.year, day.month, day.day, 3, tzinfo=datetime.timezone.utc).timestamp())
        for args in (["skip", "slots", f"--at=@{slot + 1800}"], ["delay", "slots", f"--at=@{slot + 1800}", "--by=1h"],
                     ["skip", "slots", "--at=9999-12-31"]):
            self.refused(["schedule", *args], EXIT_USAGE, "no occurrence at that time")
        self.assertEqual(self.occurrences("slots"), [])
        self.ctl("schedule", "skip", "slots", f"--at=@{slot}", check=0)
        occ = self.occurrences("slots")
        self.assertEqual([(datetime.datetime.fromisoformat(o["scheduled_at"]).timestamp(), o["state"]) for o in occ],
                         [(slot, "skipped")])

    def test_window_occurrences_newest_first(self):
        """A window's occurrences are one list, newest first, in text and --json (they were the up
        half's, then the down half's)."""
        inst = self.instances()[0]
        r = self.ctl("schedule", "add-window", "rota", "--up=*-*-* 08:00", "--down=*-*-* 19:00", "--tz=UTC",
                     inst["id"])
        self.addCleanup(self.ctl, "schedule", "remove", "rota")
        self.assertEqual(r.returncode, 0, r.stderr)
        day = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).date()

        def at(days, hour):
            d = day + datetime.timedelta(days=days)
            return int(datetime.datetime(d.year, d.month, d.day, hour, tzinfo=datetime.timezone.utc).timestamp())
        for half, t in (("rota-up", at(0, 8)), ("rota-up", at(2, 8)), ("rota-down", at(1, 19))):
            self.ctl("schedule", "skip", half, f"--at=@{t}", check=0)
        occ = self.occurrences("rota")
        self.assertEqual([(o["schedule"], datetime.datetime.fromisoformat(o["scheduled_at"]).timestamp()) for o in occ],
                         [("rota-up", at(2, 8)), ("rota-down", at(1, 19)), ("rota-up", at(0, 8))])
        rows = self.ctl("--no-legend", "schedule", "occurrences", "rota", check=0).stdout.splitlines()
        self.assertEqual([r.split()[4] for r in rows if r.strip()][:3], ["rota-up", "rota-down", "rota-up"], rows)

    def test_reload_during_removals_undoes_none(self):
        """Reload() (and another daemon's change) read the schedules in two statements: a removal
        that went between them came back in memory with its timer, and could not be removed
        again ("No such schedule"). Reloads run here while schedules are removed."""
        inst = self.instances()[0]
        names = [f"rl{i}" for i in range(40)]
        for n in names:
            self.ctl("schedule", "add", n, "--action=stop", "--on=*-*-* 03:00", "--tz=UTC", inst["id"], check=0)
        back = []
        for n in names:
            reload = subprocess.Popen([self.st.stopstartctl, "reload"], env=self.st.env(),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.ctl("schedule", "remove", n, check=0)
            reload.wait()
            time.sleep(0.2)   # the reload merged (the next one would hide what this one did)
            if self.ctl("schedule", "show", n).returncode == 0:
                back.append(n)
        self.assertEqual(back, [])
        self.assertEqual(self.ctl_json("schedule", "list"), [])
        wait_for(lambda: self.timer_units() == [], 20, 0.2, "no timer left")

    def test_simulate_share_of_an_empty_range(self):
        inst = self.instances()[0]
        self.add("tiny", "--action=stop", "--on=*-*-* 03:00", "--tz=UTC", inst["id"])
        out = self.ctl("schedule", "simulate", "tiny", "--from=@1800000000", "--to=@1800000001", check=0).stdout
        row = next(x for x in out.splitlines() if x.startswith(inst["displayName"]))
        self.assertRegex(row, r" 0\.0 +0\.0 +-$")   # no 0% or 100% of nothing

    def test_preview_answers_while_the_database_is_away(self):
        inst = self.instances()[0]
        self.add("away", "--action=stop", "--on=*-*-* 03:00", "--tz=UTC", inst["id"])
        loads = self.loads()
        self.st.pg.stop_server("fast")
        try:
            wait_for(lambda: self.ctl("status").returncode == 3, 30, 0.2, "degraded")
            t = time.monotonic()
            prev = self.ctl_json("schedule", "preview", "away", "-n", "2")
            self.assertLess(time.monotonic() - t, 10, "Preview waited for the database")
            self.assertEqual([p["status"] for p in prev], ["run", "run"])
            self.assertEqual(self.ctl("schedule", "simulate", "away", "--from=now", "--to=+2d").returncode, 0)
            self.refused(["schedule", "skip", "away"], 1, "database is not reachable")
        finally:
            self.st.pg.start_server()
            wait_for(lambda: self.ctl("status").returncode == 0, 60, 0.2, "running again")
            # Reconnected, the daemon reloads the schedules once; a schedule created while that
            # reload runs can vanish from memory (reported), so the next test waits for it.
            wait_for(lambda: self.loads() > loads, 30, 0.2, "the schedules reloaded after the outage")

    def loads(self):
        return self.st.log_tail(100000).count("stopstartd: Loaded ")


class TestTimers(ScheduleTest):
    """The timers follow the database: re-created after the manager restarts and after the daemon
    restarts; stray ones of ours are stopped."""

    def test_manager_and_daemon_restart(self):
        inst = self.instances()[0]
        self.ctl("schedule", "add", "a", "--action=stop", "--on=daily", inst["id"], check=0)
        self.ctl("schedule", "add", "b", "--action=start", "--on=hourly", inst["id"], check=0)
        self.ctl("schedule", "add", "c", "--action=start", "--on=hourly", "--disabled", inst["id"], check=0)
        wait_for(lambda: len(self.timer_units()) == 2, 10, 0.1, "two timers")

        self.st.restart_usermgr()
        wait_for(lambda: len(self.timer_units()) == 2, 20, 0.1, "the timers re-created after the manager restart")
        wait_for(lambda: all(s["next_elapse"] for s in self.ctl_json("schedule", "list") if s["enabled"]), 10, 0.1,
                 "NextElapse again")

        # A stray timer of ours (a schedule removed while the daemon was down) is stopped; a
        # hand-stopped one is re-created.
        self.st.stop_daemon()
        self.st.usermgr.systemctl("stop", self.timer_units()[0])
        subprocess.run(as_user(self.st.daemon_user) + ["env", f"XDG_RUNTIME_DIR={self.st.usermgr.rt}", "systemd-run", "--user",
                                                       "--unit=stopstart-schedule-999", "--on-calendar=daily",
                                                       "/bin/true"], check=True, capture_output=True)
        self.assertIn("stopstart-schedule-999.timer", self.timer_units())
        self.st.start_daemon()
        wait_for(lambda: len(self.timer_units()) == 2 and "stopstart-schedule-999.timer" not in self.timer_units(),
                 20, 0.2, "exactly our two timers after the daemon restart")

        self.st.restart_usermgr(kill=True)
        wait_for(lambda: len(self.timer_units()) == 2, 20, 0.1, "the timers re-created after a manager crash")
        for n in ("a", "b", "c"):
            self.ctl("schedule", "remove", n, check=0)


class TestFiring(ScheduleTest):
    """Real timer firings: exactly the targeted running instances are acted on, once; disabled
    slots, misfires, exception calendars and overrides are recorded and act on nothing."""
    STACK_ARGS = {"instances": 20}

    def setUp(self):
        self.manage_all()
        self.st.oci.reset_counters()

    def running(self, n):
        """n running instances: earlier tests stopped some, so enough are started on the fake
        server and the daemon refreshes to see them."""
        live = self.instances()
        for i in live[:n]:
            if i["lifecycleState"] != "RUNNING":
                self.st.oci.update_instance(i["id"], lifecycleState="RUNNING")
        self.ctl("refresh", check=0)
        self.st.oci.reset_counters()
        return [self.st.oci.get_instance(i["id"]) for i in live[:n]]

    def wait_slot(self, t, extra=0.5):
        time.sleep(max(0.0, t - time.time() + extra))

    def test_fires_and_stops_exactly_the_targets(self):
        running = self.instances("RUNNING")
        targets, bystanders = running[:3], running[3:]
        t = ahead(5)
        self.add("stop-three", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", *[i["id"] for i in targets])
        occ = self.wait_occurrence("stop-three", timeout=60)[0]
        self.assertEqual(occ["state"], "done", occ)
        self.assertRegex(occ["scheduled_at"], ISO_RE)
        self.assertEqual(int(datetime.datetime.fromisoformat(occ["scheduled_at"]).timestamp()), t)
        self.assertEqual(sorted(a["instance_id"] for a in occ["actions"]), sorted(i["id"] for i in targets))
        for a in occ["actions"]:
            self.assertEqual(a["state"], "confirmed", a)
            self.assertIn(a["action"], ("SOFTSTOP", "STOP"))
        acted = self.actions()
        self.assertEqual(sorted(acted), sorted(i["id"] for i in targets))
        for i in targets:
            self.assertEqual(sum(acted[i["id"]].values()), 1, acted[i["id"]])
        wait_for(lambda: all(self.st.oci.get_instance(i["id"])["lifecycleState"] == "STOPPED" for i in targets), 20,
                 0.2, "the targets stopped")
        for i in bystanders:
            self.assertEqual(self.st.oci.get_instance(i["id"])["lifecycleState"], "RUNNING")
        last = [s for s in self.ctl_json("schedule", "list") if s["name"] == "stop-three"][0]["last_trigger"]
        self.assertRegex(last, ISO_RE)
        human = self.ctl("schedule", "occurrences", "stop-three", check=0).stdout
        self.assertIn("confirmed", human)
        # its job ended done, and a job that is done has no error (null, as every --json says)
        jobs = [j for j in self.ctl_json("list-jobs") if j.get("kind") == "occurrence"]
        self.assertTrue(jobs)
        self.assertEqual({(j["result"], j["error"]) for j in jobs}, {("done", None)}, jobs)

    def test_inventory_follows_the_firing(self):
        """The states the occurrence confirms reach the inventory at once: Instance.LifecycleState
        is STOPPED and announced with PropertiesChanged, and status INSTANCE says so, with no
        refresh in between; instances it did not target hear nothing."""
        running = self.running(3)
        targets, bystander = running[:2], running[2]
        paths = {i["id"]: self.call(ROOT_PATH, MANAGER, "GetInstance", "s", i["id"])[0] for i in running[:3]}
        for i in targets:
            self.assertEqual(self.st.prop(paths[i["id"]], INSTANCE, "LifecycleState"), "RUNNING")
        refreshed = self.st.manager_prop("LastRefresh")
        t = ahead(5)
        with PropMonitor(self.st) as mon:
            self.add("follow", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", *[i["id"] for i in targets])
            occ = self.wait_occurrence("follow", timeout=60)[0]
            self.assertEqual(occ["state"], "done", occ)
            for i in targets:
                p = paths[i["id"]]
                wait_for(lambda: mon.last(p, "LifecycleState") == "STOPPED", 10, 0.05,
                         f"PropertiesChanged LifecycleState=STOPPED for {i['id']}")
                self.assertEqual(self.st.prop(p, INSTANCE, "LifecycleState"), "STOPPED")
                self.assertGreaterEqual(self.st.prop(p, INSTANCE, "StateObservedAt"), t * USEC)
                r = self.ctl("status", i["id"], check=None)
                self.assertEqual(r.returncode, 3, r.stdout)   # not RUNNING
                self.assertRegex(r.stdout, r"STOPPED")
            self.assertIsNone(mon.last(paths[bystander["id"]], "LifecycleState"))
        self.assertEqual(self.st.prop(paths[bystander["id"]], INSTANCE, "LifecycleState"), "RUNNING")
        self.assertEqual(self.st.manager_prop("LastRefresh"), refreshed, "a refresh ran: the test proves nothing")

    def test_defined_tag_targets(self):
        """defined-tag:NAMESPACE.KEY=VALUE selects by the instances' defined tags as the last
        refresh stored them, resolved at the firing: exactly the matching running instances are
        stopped (another value, the same key in another namespace, a freeform tag of that name
        are not); a tag given after the schedule was saved counts."""
        running = self.running(8)
        match, late, other_value, other_ns, freeform = running[:5]
        bystanders = running[5:]

        def tag(inst, defined=None, freeform_tags=None):
            fields = {"definedTags": dict(inst["definedTags"], **(defined or {}))}
            if freeform_tags:
                fields["freeformTags"] = dict(inst["freeformTags"], **freeform_tags)
            self.st.oci.update_instance(inst["id"], **fields)

        tag(match, {"Operations": {"CostCenter": "cc-42"}})
        tag(other_value, {"Operations": {"CostCenter": "cc-7"}})
        tag(other_ns, {"Finance": {"CostCenter": "cc-42"}})
        tag(freeform, freeform_tags={"Operations.CostCenter": "cc-42", "CostCenter": "cc-42"})
        self.ctl("refresh", check=0)
        r = self.ctl("schedule", "add", "bad-tag", "--action=stop", "--on=daily", "defined-tag:CostCenter=cc-42")
        self.assertEqual(r.returncode, EXIT_USAGE, r.stderr)   # no namespace: malformed, nothing stored
        self.assertNotIn("bad-tag", [s["name"] for s in self.ctl_json("schedule", "list")])

        t = ahead(8)
        self.add("by-cost-center", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC",
                 "defined-tag:Operations.CostCenter=cc-42")
        plan = self.ctl_json("schedule", "fire", "by-cost-center", "--dry-run")["plan"]
        self.assertEqual(sorted(p["instance_id"] for p in plan), [match["id"]], plan)
        tag(late, {"Operations": {"CostCenter": "cc-42"}})    # after the save, before the firing
        self.ctl("refresh", check=0)
        self.st.oci.reset_counters()
        occ = self.wait_occurrence("by-cost-center", timeout=60)[0]
        self.assertEqual(occ["state"], "done", occ)
        want = sorted([match["id"], late["id"]])
        self.assertEqual(sorted(a["instance_id"] for a in occ["actions"]), want, occ)
        self.assertEqual(sorted(self.actions()), want)
        wait_for(lambda: all(self.st.oci.get_instance(i)["lifecycleState"] == "STOPPED" for i in want), 20, 0.2,
                 "the tagged instances stopped")
        for i in [other_value, other_ns, freeform] + bystanders:
            self.assertEqual(self.st.oci.get_instance(i["id"])["lifecycleState"], "RUNNING", i["id"])

    def test_disabled_slot_then_enable_does_not_act(self):
        inst = self.instances("RUNNING")[0]
        t1, t2 = ahead(5), ahead(13)
        self.add("twice", "--action=stop", f"--on={utc_spec(t1)}", f"--on={utc_spec(t2)}", "--tz=UTC", inst["id"])
        self.wait_occurrence("twice", timeout=60)
        self.ctl("schedule", "disable", "twice", check=0)
        self.st.oci.update_instance(inst["id"], lifecycleState="RUNNING")
        self.wait_slot(t2, 2)
        self.ctl("schedule", "enable", "twice", check=0)
        # Persistent= makes the timer fire at once for the slot it missed: recorded skipped.
        occ = self.wait_occurrence("twice", n=2, timeout=30)
        by_at = {int(datetime.datetime.fromisoformat(o["scheduled_at"]).timestamp()): o for o in occ}
        self.assertEqual(by_at[t1]["state"], "done")
        self.assertEqual(by_at[t2]["state"], "skipped", by_at[t2])
        self.assertEqual(by_at[t2]["actions"], [])
        self.assertEqual(sum(self.actions()[inst["id"]].values()), 1)
        self.assertEqual(self.st.oci.get_instance(inst["id"])["lifecycleState"], "RUNNING")

    def test_beyond_grace_is_missed(self):
        inst = self.instances("RUNNING")[0]
        t = ahead(5)
        self.add("late", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", "--grace=1s", inst["id"])
        # The daemon is frozen over the instant: it sees the firing 4 s late.
        self.wait_slot(t, -1)
        self.st.daemon.send_signal(signal.SIGSTOP)
        try:
            self.wait_slot(t, 3)
        finally:
            self.st.daemon.send_signal(signal.SIGCONT)
        occ = self.wait_occurrence("late", timeout=30)[0]
        self.assertEqual(occ["state"], "missed", occ)
        self.assertIsNotNone(occ["reason"])
        self.assertEqual(occ["actions"], [])
        self.assertNotIn(inst["id"], self.actions())

    def test_exception_calendar_skips_start_not_stop(self):
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        tomorrow = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        self.ctl("calendar", "add", "closed", today, tomorrow, check=0)   # also past midnight UTC
        self.addCleanup(self.ctl, "calendar", "remove", "closed")
        stopped = self.instances("STOPPED")[0]
        running = self.instances("RUNNING")[0]
        t = ahead(5)
        self.add("up", "--action=start", f"--on={utc_spec(t)}", "--tz=UTC", "--exceptions=closed", stopped["id"])
        self.add("down", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", "--exceptions=closed", running["id"])
        prev = self.ctl_json("schedule", "fire", "up", "--dry-run")["plan"]
        self.assertEqual(prev[0]["decision"], "skip")
        self.assertIn("closed", prev[0]["reason"])
        up = self.wait_occurrence("up", timeout=60)[0]
        down = self.wait_occurrence("down", timeout=60)[0]
        self.assertNotIn(stopped["id"], self.actions())
        self.assertEqual([a["state"] for a in up["actions"]] or [up["state"]], ["skipped"])
        reasons = [a["reason"] for a in up["actions"]] + [up["reason"]]
        self.assertTrue(any(r and "closed" in r for r in reasons), up)
        self.assertEqual(down["state"], "done", down)
        self.assertEqual(sum(self.actions()[running["id"]].values()), 1)

    def test_override_wins(self):
        inst = self.instances("RUNNING")[0]
        self.ctl("set-config", inst["id"], "override_state=running", "override_until=+1h", check=0)
        self.addCleanup(self.ctl, "set-config", inst["id"], "override_state=inherit")
        t = ahead(5)
        self.add("overridden", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", inst["id"])
        occ = self.wait_occurrence("overridden", timeout=60)[0]
        self.assertNotIn(inst["id"], self.actions())
        self.assertEqual(occ["actions"][0]["state"], "skipped", occ)
        self.assertIn("override", occ["actions"][0]["reason"])
        self.assertEqual(self.st.oci.get_instance(inst["id"])["lifecycleState"], "RUNNING")


class TestExactlyOnce(ScheduleTest):
    """SIGKILL in the middle of a 200-instance occurrence: after the restart the occurrence
    finishes, no instance is acted on twice and none is forgotten (counted at the fake server)."""
    STACK_ARGS = {"instances": 200, "compartments": 6,
                  "oci_args": ["--start-delay", "2", "--stop-delay", "2", "--softstop-delay", "2", "--latency", "20"]}

    def test_sigkill_mid_occurrence(self):
        self.manage_all()
        self.st.oci.reset_counters()
        running = {i["id"] for i in self.instances("RUNNING")}
        self.assertGreater(len(running), 50)
        t = ahead(5)
        self.add("all-down", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", f"compartment:{self.tenancy}")
        wait_for(lambda: self.st.oci.counters()["actions_total"] >= 20, 60, 0.05, "the occurrence under way")
        self.st.kill_daemon()
        sent_before = self.st.oci.counters()["actions_total"]
        self.assertLess(sent_before, len(running), "the occurrence finished before the kill: test proves nothing")
        self.st.start_daemon()
        # the bus name comes before the schedules are read back from the database
        wait_for(lambda: self.ctl("schedule", "list").returncode == 0, 60, 0.1, "the schedules loaded")
        occ = self.wait_occurrence("all-down", timeout=240)[0]
        self.assertEqual(occ["state"], "done", {k: occ[k] for k in ("state", "reason")})
        acted = self.actions()
        self.assertEqual(set(acted), running, "every running target acted on, nothing else")
        twice = {i: a for i, a in acted.items() if sum(a.values()) != 1 and "STOP" not in a}
        self.assertEqual(twice, {}, "an instance acted on twice")
        for i, a in acted.items():
            self.assertLessEqual(a.get("SOFTSTOP", 0), 1, (i, a))
            self.assertLessEqual(a.get("STOP", 0), 1, (i, a))
        self.assertEqual({a["instance_id"] for a in occ["actions"] if a["state"] == "confirmed"}, running)


class TestFaults(ScheduleTest):
    """A 1,000-instance occurrence under 20% 429s, 5% 5xx and lost responses: every action once."""
    # 28% of the answers are errors: the stack's 4 attempts would give up on ~0.6% of the calls, so
    # the retry budget is that of a production configuration (oci.max_attempts default 8).
    STACK_ARGS = {"instances": 1000, "compartments": 20, "depth": 3, "max_attempts": 12,
                  "oci_args": ["--start-delay", "0.5", "--stop-delay", "0.5", "--softstop-delay", "0.5"]}

    def test_thousand_under_faults(self):
        self.manage_all()
        running = {i["id"] for i in self.instances("RUNNING")}
        self.st.oci.reset_counters()
        self.st.oci.set_faults(rate_429=0.2, rate_5xx=0.05, rate_lost=0.03)
        t = ahead(6)
        self.add("mass", "--action=stop", f"--on={utc_spec(t)}", "--tz=UTC", f"compartment:{self.tenancy}")
        occ = self.wait_occurrence("mass", timeout=500)[0]
        self.st.oci.clear_faults()
        self.assertEqual(occ["state"], "done", {k: occ[k] for k in ("state", "reason")})
        acted = self.actions()
        self.assertEqual(set(acted), running)
        for i, a in acted.items():
            self.assertEqual(sum(a.values()), 1, (i, a))   # replays of the same token are not actions
        states = {}
        for a in occ["actions"]:
            states[a["state"]] = states.get(a["state"], 0) + 1
        self.assertEqual(states.get("confirmed"), len(running), states)


if __name__ == "__main__":
    unittest.main(verbosity=2)

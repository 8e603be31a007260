#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""stopstartd and stopstartctl together (meson suite "integration"): a private system bus with our
policy, polkitd (real, with test rules; python-dbusmock's template in TestAuthMock), a throwaway
PostgreSQL at the schema head, the fake OCI server with a generated tenancy, the built daemon as
the "stopstart" user and the built ctl as root and as unprivileged users (tests/lib/ssstack.py).

One meson test per class (they run in parallel, each with its own stack):
    test_stopstartctl.py TestVerbs
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import sanitizers  # noqa: E402
from propmonitor import PropMonitor  # noqa: E402
from busenv import as_user, wait_for  # noqa: E402
from ssstack import (COMPARTMENT, DENIED, INSTANCE, JOB, MANAGER, OPERATOR, ROOT_PATH,  # noqa: E402
                     VIEWER, CallError, Stack, V, settings)

EXIT_NO_SUCH_OBJECT = 4
USEC = 1000000


class StackTest(unittest.TestCase):
    """Each class gets one stack; STACK_ARGS tunes it."""
    STACK_ARGS = {}

    @classmethod
    def setUpClass(cls):
        args = dict(seed=3, compartments=6, depth=3, instances=24,
                    oci_args=["--start-delay", "0.3", "--stop-delay", "0.3", "--softstop-delay", "0.3",
                              "--reset-delay", "0.4"])
        args.update(cls.STACK_ARGS)
        cls.st = Stack(**args).start()
        cls.fake = cls.st.oci.dump()
        cls._used = set()

    @classmethod
    def tearDownClass(cls):
        # A clean SIGTERM exit, and nothing from the sanitizers (in the ASan+UBSan build) in its log.
        try:
            rc = cls.st.stop_daemon()
            log = cls.st.log_tail(100000)
        finally:
            cls.st.stop()
        sanitizers.check("stopstartd", rc, log)
        if rc != 0:
            raise AssertionError(f"stopstartd exited with {rc} on SIGTERM")

    def run(self, result=None):
        r = super().run(result)
        if result is not None and (result.failures or result.errors) and not getattr(self, "_log_shown", False):
            print("--- stopstartd log (tail) ---\n" + self.st.log_tail(60), file=sys.stderr)
            type(self)._log_shown = True
        return r

    # --- helpers ---------------------------------------------------------------------------------
    def ctl(self, *args, **kw):
        return self.st.ctl(*args, **kw)

    def ctl_json(self, *args, **kw):
        return self.st.ctl_json(*args, **kw)

    def call(self, path, iface, method, sig="", *args, user=None):
        return self.st.call(path, iface, method, sig, *args, user=user)

    def assertCallError(self, name, path, iface, method, sig="", *args, user=None):
        with self.assertRaises(CallError) as cm:
            self.call(path, iface, method, sig, *args, user=user)
        self.assertEqual(cm.exception.name, name, cm.exception.message)
        return cm.exception

    def instance_path(self, name):
        return self.call(ROOT_PATH, MANAGER, "GetInstance", "s", name)[0]

    def compartment_path(self, name):
        return self.call(ROOT_PATH, MANAGER, "GetCompartment", "s", name)[0]

    def prop(self, path, iface, name):
        return self.st.prop(path, iface, name)

    def fake_instances(self, state=None):
        return [i for i in self.fake["instances"] if state is None or i["lifecycleState"] == state]

    def pick(self, state, n=1, exclude=()):
        """n instances of the fake in state, with unique display names, not yet used by this class."""
        used = self._used
        names = [i["displayName"] for i in self.fake["instances"]]
        out = []
        for i in self.fake_instances(state):
            if i["id"] in used or i["id"] in exclude or names.count(i["displayName"]) != 1:
                continue
            used.add(i["id"])
            out.append(i)
            if len(out) == n:
                return out
        self.fail(f"the fake tenancy has not {n} more unique {state} instances")

    def actions(self, iid):
        return self.st.oci.counters().get("actions", {}).get(iid, {})

    def history(self, **filters):
        f = {}
        for k, v in filters.items():
            f[k] = V("UInt64", v) if k in ("since", "until") else V("String", v)
        return self.call(ROOT_PATH, MANAGER, "History", "a{sv}", f)[0]

    def job_props(self, path):
        return {k: self.prop(path, JOB, k) for k in ("Kind", "Target", "State", "Result", "Error")}


# =====================================================================================================
class TestVerbs(StackTest):
    """Every verb and flag at least once, checked against --json and direct D-Bus reads; the tree
    equals the fake tenancy."""

    def fake_subtree(self, cid):
        children = {}
        for c in self.fake["compartments"]:
            children.setdefault(c["compartmentId"], []).append(c["id"])
        out, todo = set(), [cid]
        while todo:
            x = todo.pop()
            out.add(x)
            todo += children.get(x, [])
        return out

    def test_tree_equals_fake_tenancy(self):
        rows = self.ctl_json("tree")
        tenancy = self.fake["tenancy"]
        expect = {(tenancy["id"], None, tenancy["name"])}
        expect |= {(c["id"], c["compartmentId"], c["name"]) for c in self.fake["compartments"]}
        self.assertEqual({(r["id"], r["parent_id"], r["name"]) for r in rows}, expect)
        self.assertEqual(rows[0]["id"], tenancy["id"])
        self.assertEqual(rows[0]["depth"], 0)
        by_id = {r["id"]: r for r in rows}
        for r in rows:
            sub = self.fake_subtree(r["id"])
            inst = [i for i in self.fake["instances"] if i["compartmentId"] in sub]
            self.assertEqual(r["instances"], len(inst), r["path"])
            self.assertEqual(r["running"], sum(i["lifecycleState"] == "RUNNING" for i in inst), r["path"])
            self.assertEqual(r["stopped"], sum(i["lifecycleState"] == "STOPPED" for i in inst), r["path"])
            self.assertEqual(r["other"], len(inst) - r["running"] - r["stopped"], r["path"])
            if r["parent_id"]:
                self.assertEqual(r["depth"], by_id[r["parent_id"]]["depth"] + 1)
                self.assertEqual(r["path"], by_id[r["parent_id"]]["path"] + "/" + r["name"])
            # the daemon's own count agrees
            self.assertEqual(self.prop(self.compartment_path(r["id"]), COMPARTMENT, "InstanceCount"), r["instances"])

        human = self.ctl("tree", check=0).stdout
        self.assertRegex(human.splitlines()[0], r"^COMPARTMENT\s+STATE\s+INSTANCES\s+RUNNING\s+STOPPED\s+OTHER$")
        self.assertIn("└─ ", human)
        self.assertIn(f"{len(rows)} compartments, {len(self.fake['instances'])} instances.", human)
        bare = self.ctl("--no-legend", "--no-pager", "tree", check=0).stdout.splitlines()
        self.assertEqual(len(bare), len(rows))
        self.assertTrue(bare[0].startswith(tenancy["name"]))

        # a subtree, by path
        child = next(r for r in rows if r["depth"] == 1)
        sub = self.ctl_json("tree", child["path"])
        self.assertEqual({r["id"] for r in sub}, self.fake_subtree(child["id"]))
        self.assertEqual(sub[0]["id"], child["id"])
        self.assertEqual(sub[0]["depth"], 0)
        r = self.ctl("tree", "no/such/compartment")
        self.assertEqual(r.returncode, EXIT_NO_SUCH_OBJECT)
        self.assertRegex(r.stderr, r"^stopstartctl: Could not find compartment no/such/compartment: .+\n$")

    def test_list_compartments(self):
        rows = self.ctl_json("list-compartments")
        bus = self.call(ROOT_PATH, MANAGER, "ListCompartments")[0]
        self.assertEqual([(r["id"], r["name"], r["path"], r["lifecycle_state"], r["instance_count"], r["object"])
                          for r in rows], sorted((tuple(b) for b in bus), key=lambda b: (b[2], b[0])))
        self.assertEqual(len(rows), len(self.fake["compartments"]) + 1)
        out = self.ctl("list-compartments", check=0).stdout
        self.assertTrue(out.startswith("PATH"))
        self.assertIn(f"{len(rows)} compartments listed.", out)

    def test_list_instances_and_filters(self):
        rows = self.ctl_json("list-instances")
        bus = self.call(ROOT_PATH, MANAGER, "ListInstances", "a{sv}", {})[0]
        self.assertEqual(sorted((r["id"], r["display_name"], r["compartment_id"], r["region"], r["shape"],
                                 r["lifecycle_state"], r["managed"], r["object"]) for r in rows),
                         sorted(tuple(b) for b in bus))
        self.assertEqual({r["id"] for r in rows}, {i["id"] for i in self.fake["instances"]})
        self.assertEqual([r["display_name"] for r in rows], sorted(r["display_name"] for r in rows))

        stopped = self.ctl_json("list-instances", "--state=STOPPED")
        self.assertEqual({r["id"] for r in stopped}, {i["id"] for i in self.fake_instances("STOPPED")})
        self.assertEqual(len(self.ctl_json("list-instances", "--state=stopped")), len(stopped))

        parent = next(c for c in self.fake["compartments"] if any(x["compartmentId"] == c["id"]
                                                                  for x in self.fake["compartments"]))
        direct = self.ctl_json("list-instances", f"--compartment={parent['id']}")
        self.assertEqual({r["id"] for r in direct},
                         {i["id"] for i in self.fake["instances"] if i["compartmentId"] == parent["id"]})
        sub = self.fake_subtree(parent["id"])
        rec = self.ctl_json("list-instances", f"--compartment={parent['id']}", "--recursive")
        self.assertEqual({r["id"] for r in rec}, {i["id"] for i in self.fake["instances"] if i["compartmentId"] in sub})
        self.assertGreater(len(rec), len(direct))

        name = self.fake["instances"][0]["displayName"]
        prefix = name.split("-")[0]
        glob = self.ctl_json("list-instances", f"{prefix}-*")
        self.assertEqual({r["id"] for r in glob},
                         {i["id"] for i in self.fake["instances"] if i["displayName"].startswith(prefix + "-")})

        r = self.ctl("list-instances", "no-such-*")
        self.assertEqual((r.returncode, r.stdout), (0, "No instances.\n"))
        r = self.ctl("--no-legend", "list-instances", "no-such-*")
        self.assertEqual((r.returncode, r.stdout), (0, ""))
        r = self.ctl("list-instances", "--compartment=nowhere")
        self.assertEqual(r.returncode, EXIT_NO_SUCH_OBJECT)
        self.assertIn("No compartment 'nowhere' known.", r.stderr)
        self.assertEqual(self.ctl("list-instances", "--recursive").returncode, 2)

    def test_show(self):
        inst = self.pick("RUNNING")[0]
        path = self.instance_path(inst["id"])
        j = self.ctl_json("show", inst["displayName"])
        getall = self.call(path, "org.freedesktop.DBus.Properties", "GetAll", "s", INSTANCE)[0]
        for k, v in getall.items():
            self.assertEqual(j[k], v, k)
        # explicit properties are read by name
        self.assertEqual(j["EffectiveConfig"], self.call(path, "org.freedesktop.DBus.Properties", "Get", "ss",
                                                         INSTANCE, "EffectiveConfig")[0])
        self.assertEqual(j["DisplayName"], inst["displayName"])
        self.assertEqual(j["Shape"], inst["shape"])

        lines = self.ctl("show", inst["id"], check=0).stdout.splitlines()
        self.assertIn(f"DisplayName={inst['displayName']}", lines)
        self.assertIn("LifecycleState=RUNNING", lines)
        self.assertTrue(any(x.startswith("EffectiveConfig=managed=no stop_mode=soft") for x in lines), lines)
        r = self.ctl("show", "-p", "LifecycleState,Region", "--value", inst["id"], check=0)
        self.assertEqual(r.stdout, f"RUNNING\n{inst['region']}\n")
        r = self.ctl("show", "--property=EffectiveConfig", "--property=Id", inst["id"], check=0)
        self.assertEqual([x.split("=")[0] for x in r.stdout.splitlines()], ["EffectiveConfig", "Id"])
        r = self.ctl("show", "-p", "NoSuchProperty", inst["id"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("Could not show property NoSuchProperty", r.stderr)

        comp = self.fake["compartments"][0]
        c = self.ctl_json("show", comp["id"])
        self.assertEqual((c["Id"], c["Name"]), (comp["id"], comp["name"]))
        self.assertIn("EffectiveDefaults", c)
        self.assertEqual(self.ctl_json("show", c["Path"])["Id"], comp["id"])

        m = self.ctl_json("show")
        self.assertEqual(m["State"], "running")
        self.assertEqual(m["Tenancy"], self.fake["tenancy"]["id"])
        self.assertEqual(m["NInstances"], len(self.fake["instances"]))
        self.assertEqual(self.ctl("show", "-p", "Version", "--value", check=0).stdout.strip(),
                         self.prop(ROOT_PATH, MANAGER, "Version"))
        # two objects, separated by an empty line
        two = self.ctl("show", "-p", "Id", inst["id"], comp["id"], check=0).stdout
        self.assertEqual(two, f"Id={inst['id']}\n\nId={comp['id']}\n")

        r = self.ctl("show", "nothing-of-that-name")
        self.assertEqual(r.returncode, EXIT_NO_SUCH_OBJECT)
        self.assertEqual(r.stderr, "stopstartctl: Could not find nothing-of-that-name: no instance, compartment or "
                                   "job of that name is known.\n")

    def test_status(self):
        out = self.ctl("status", check=0).stdout
        self.assertRegex(out, r"(?m)^\s*State: running$")
        self.assertRegex(out, rf"(?m)^\s*Instances: {len(self.fake['instances'])}$")
        self.assertRegex(out, rf"(?m)^\s*Tenancy: {self.fake['tenancy']['id']}$")
        self.assertRegex(out, r"(?m)^\s*Last refresh: \w{3} \d{4}-\d\d-\d\d .*\((now|.* ago)\)$")
        doc = self.ctl_json("status")
        describe = json.loads(self.call(ROOT_PATH, MANAGER, "Describe")[0])
        for k in ("version", "tenancy", "compartments", "instances"):
            self.assertEqual(doc[k], describe[k], k)
        pretty = self.ctl("--json=pretty", "status", check=0).stdout
        self.assertGreater(len(pretty.splitlines()), 10)
        self.assertEqual(json.loads(pretty)["tenancy"], describe["tenancy"])
        self.assertEqual(len(self.ctl("--json=short", "status", check=0).stdout.splitlines()), 1)

        inst = self.pick("STOPPED")[0]
        r = self.ctl("status", inst["displayName"], check=3)     # 3: not running, as systemctl status
        out = r.stdout
        self.assertRegex(out, rf"(?m)^\s*Name: {re.escape(inst['displayName'])}$")
        self.assertRegex(out, r"(?m)^\s*State: STOPPED$")
        self.assertRegex(out, r"(?m)^\s*Managed: no \(default\)$")
        j = json.loads(self.ctl("--json=short", "status", inst["id"], check=3).stdout)
        self.assertEqual((j["Id"], j["LifecycleState"]), (inst["id"], "STOPPED"))
        self.assertEqual(self.ctl("status", "ocid1.instance.oc1..nope").returncode, EXIT_NO_SUCH_OBJECT)

    def test_configure_explain_history(self):
        inst = self.pick("RUNNING")[0]
        path = self.instance_path(inst["id"])
        comp_path = self.compartment_path(inst["compartmentId"])
        since = int(time.time() * USEC)

        self.ctl("set-config", inst["displayName"], "managed=yes", "soft_stop_timeout=5min 30s", "priority=-3",
                 "note=night owl", "override_state=running", "override_until=+2d", check=0)
        cfg = self.prop(path, INSTANCE, "Config")
        self.assertEqual({k: v["data"] for k, v in cfg.items() if k != "override_until"},
                         {"managed": True, "soft_stop_timeout": 330 * USEC, "priority": -3, "note": "night owl",
                          "override_state": "running"})
        self.assertAlmostEqual(cfg["override_until"]["data"] / USEC, time.time() + 2 * 86400, delta=120)

        self.ctl("set-defaults", inst["compartmentId"], "stop_mode=hard", "managed=no", check=0)
        self.assertEqual({k: v["data"] for k, v in self.prop(comp_path, COMPARTMENT, "Defaults").items()},
                         {"stop_mode": "hard", "managed": False})

        ex = {r["key"]: r for r in self.ctl_json("explain", inst["id"])}
        self.assertEqual(set(ex), {"managed", "stop_mode", "soft_stop_timeout", "priority", "note",
                                   "override_state", "override_until"})
        self.assertEqual((ex["managed"]["value"], ex["managed"]["source"]), (True, "instance"))
        self.assertEqual((ex["stop_mode"]["value"], ex["stop_mode"]["source"]),
                         ("hard", "compartment:" + inst["compartmentId"]))
        self.assertEqual((ex["priority"]["value"], ex["priority"]["source"]), (-3, "instance"))
        human = self.ctl("explain", inst["displayName"], check=0).stdout
        cpath = self.prop(comp_path, COMPARTMENT, "Path")
        self.assertRegex(human, rf"(?m)^stop_mode\s+hard\s+compartment {re.escape(cpath)}$")
        self.assertRegex(human, r"(?m)^soft_stop_timeout\s+5min 30s\s+instance$")

        self.ctl("set-config", inst["id"], "override_until=inherit", "priority=inherit", check=0)
        self.assertEqual(set(self.prop(path, INSTANCE, "Config")), {"managed", "soft_stop_timeout", "note"})

        h = self.ctl_json("history", f"--instance={inst['displayName']}")
        self.assertEqual([e["operation"] for e in h], ["set-config", "set-config"])
        self.assertEqual(h[0]["actor"], "root")
        self.assertEqual(h[0]["uid"], 0)
        self.assertEqual([e["id"] for e in h], [e[0] for e in self.history(instance=inst["id"])])
        # details: an object, not JSON text inside JSON
        self.assertEqual(h[1]["details"]["new"].get("priority"), None)
        self.assertEqual(h[0]["details"]["new"]["priority"], -3)
        hc = self.ctl_json("history", f"--compartment={inst['compartmentId']}", "--since=-10min")
        self.assertEqual([e["operation"] for e in hc], ["set-config", "set-defaults", "set-config"])
        self.assertTrue(all(e["time"] >= since for e in hc))
        self.assertEqual(self.ctl_json("history", f"--instance={inst['id']}", "--since=tomorrow"), [])
        out = self.ctl("history", f"--instance={inst['id']}", check=0).stdout
        self.assertIn("priority: -3 → inherit", out)
        self.assertIn(inst["displayName"], out)
        self.assertEqual(self.ctl("history", "--since=someday").returncode, 2)

    def test_refresh_jobs_and_flags(self):
        before = self.prop(ROOT_PATH, MANAGER, "LastRefresh")
        self.ctl("refresh", check=0)
        self.assertGreater(self.prop(ROOT_PATH, MANAGER, "LastRefresh"), before)
        r = self.ctl("refresh", "--no-block", check=0)
        m = re.fullmatch(r"Queued job (\d+) \(refresh\): (/org/stopstart/StopStart1/job/\d+)\n", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        wait_for(lambda: self.prop(m.group(2), JOB, "State") == "done", 30)
        jobs = self.ctl_json("list-jobs")
        row = next(j for j in jobs if j["id"] == int(m.group(1)))
        self.assertEqual((row["kind"], row["state"], row["object"]), ("refresh", "done", m.group(2)))
        bus = self.call(ROOT_PATH, MANAGER, "ListJobs")[0]
        self.assertEqual(sorted((j["id"], j["kind"], j["target"], j["state"], j["object"]) for j in jobs),
                         sorted(tuple(b) for b in bus))
        shown = self.ctl_json("show", m.group(1))
        self.assertEqual((shown["Kind"], shown["Result"]), ("refresh", "done"))
        self.assertEqual(self.ctl("show", "-p", "Result", "--value", m.group(2), check=0).stdout, "done\n")
        self.assertIn("jobs listed.", self.ctl("--no-pager", "list-jobs", check=0).stdout)
        self.ctl("--no-ask-password", "refresh", check=0)

    def test_usage_and_exit_codes(self):
        for args, code, msg in (
                (["frobnicate"], 2, 'Unknown command "frobnicate"'),
                (["start"], 2, 'Too few arguments for "start"'),
                (["status", "a", "b"], 2, 'Too many arguments for "status"'),
                (["status", "--soft"], 2, '--soft/--hard does not apply to "status"'),
                (["tree", "--yes"], 2, "Database options only apply"),
                (["stop", "--soft", "--hard", "x"], 2, "either --soft or --hard"),
                (["--json=fancy", "tree"], 2, "Invalid --json= mode"),
                (["start", "--hard", "x"], 2, '--soft/--hard does not apply to "start"'),
                (["start", "no-such-instance"], EXIT_NO_SUCH_OBJECT, "Could not find instance no-such-instance"),
                (["cancel", "424242"], EXIT_NO_SUCH_OBJECT, "Could not cancel job 424242: no such job."),
                (["cancel", "x1"], 2, "not a job number"),
                (["set-config", "nope", "managed=yes"], EXIT_NO_SUCH_OBJECT, "No instance 'nope' known."),
                (["set-defaults", "nope", "managed=yes"], EXIT_NO_SUCH_OBJECT, "No compartment 'nope' known."),
                (["explain", "nope"], EXIT_NO_SUCH_OBJECT, "No instance 'nope' known.")):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, code, (args, r.stderr))
            self.assertIn(msg, r.stderr, args)
            self.assertEqual(len(r.stderr.splitlines()), 1, (args, r.stderr))
            self.assertTrue(r.stderr.startswith("stopstartctl: "), r.stderr)
        self.assertIn("list-instances", self.ctl("--help", check=0).stdout)
        # -H: over ssh; a host that cannot exist fails cleanly (ssh says why, then we do)
        r = self.ctl("-H", "nosuchhost.invalid", "status")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.endswith("stopstartctl: Could not read the daemon's status: Transport endpoint is "
                                          "not connected\n"), r.stderr)

    def test_ambiguous_display_name(self):
        a, b = self.pick("RUNNING", 2)
        dup = self.st.oci.add_instance(compartmentId=a["compartmentId"], displayName=a["displayName"],
                                       lifecycleState="STOPPED")
        self.ctl("refresh", check=0)
        try:
            r = self.ctl("status", a["displayName"])
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("matches 2 instances", r.stderr)
            self.assertIn(a["id"], r.stderr)
            self.assertIn(dup["id"], r.stderr)
            self.assertCallError("org.stopstart.StopStart1.Error.AmbiguousName", ROOT_PATH, MANAGER, "GetInstance",
                                 "s", a["displayName"])
            # the OCID still works (exit 3: it is STOPPED)
            self.assertEqual(json.loads(self.ctl("--json=short", "status", dup["id"], check=3).stdout)["Id"], dup["id"])
        finally:
            self.st.oci.remove_instance(dup["id"])
            self.ctl("refresh", check=0)


# =====================================================================================================
class TestActions(StackTest):
    """start/stop/reboot reach the fake OCI server exactly once and the job ends right; SOFTSTOP
    falls back to STOP; skipped, failed, busy and canceled jobs."""

    def wait_state(self, iid, state, timeout=20):
        wait_for(lambda: self.st.oci.get_instance(iid)["lifecycleState"] == state, timeout, 0.1,
                 f"{iid} {state} in the fake")

    def test_start_stop_reboot_once(self):
        run1, run2, run3 = self.pick("RUNNING", 3)
        stop1, stop2 = self.pick("STOPPED", 2)
        self.st.oci.reset_counters()

        r = self.ctl("stop", "--hard", run1["displayName"], check=0)
        self.assertEqual((r.stdout, r.stderr), ("", ""))
        self.assertEqual(self.actions(run1["id"]), {"STOP": 1})
        # status names the instance's last job and how it ended
        self.assertRegex(self.ctl("status", run1["id"], check=3).stdout, r"(?m)^\s*Job: \d+ \(stop\): done$")
        self.assertEqual(self.st.oci.get_instance(run1["id"])["lifecycleState"], "STOPPED")
        self.assertEqual(self.prop(self.instance_path(run1["id"]), INSTANCE, "LifecycleState"), "STOPPED")

        # two at once, JSON: each job ends "done"
        jobs = self.ctl_json("start", stop1["displayName"], stop2["id"])
        self.assertEqual([(j["kind"], j["instance"], j["state"], j["result"], j["error"]) for j in jobs],
                         [("start", stop1["displayName"], "done", "done", None), ("start", stop2["id"], "done", "done", None)])
        for j in jobs:
            self.assertEqual(self.job_props(j["path"])["Result"], "done")
        self.assertEqual(self.actions(stop1["id"]), {"START": 1})
        self.assertEqual(self.actions(stop2["id"]), {"START": 1})
        self.assertEqual(self.st.oci.get_instance(stop2["id"])["lifecycleState"], "RUNNING")

        jobs = self.ctl_json("reboot", run2["id"])      # soft by default: SOFTRESET
        self.assertEqual(jobs[0]["result"], "done")
        self.assertEqual(self.actions(run2["id"]), {"SOFTRESET": 1})
        jobs = self.ctl_json("reboot", "--hard", run3["id"])
        self.assertEqual(jobs[0]["result"], "done")
        self.assertEqual(self.actions(run3["id"]), {"RESET": 1})
        self.assertEqual(self.st.oci.counters()["actions_total"], 5)

        ops = [(e[4], e[6]) for e in self.history() if e[4] in ("start", "stop", "reboot")]
        for op, iid in (("stop", run1["id"]), ("start", stop1["id"]), ("start", stop2["id"]),
                        ("reboot", run2["id"]), ("reboot", run3["id"])):
            self.assertIn((op, iid), ops)

    def test_soft_stop_falls_back_to_stop(self):
        inst = self.pick("RUNNING")[0]
        self.st.oci.set_lifecycle(hang_softstop=[inst["id"]])
        self.ctl("set-config", inst["id"], "soft_stop_timeout=2s", check=0)
        self.st.oci.reset_counters()
        t0 = time.monotonic()
        jobs = self.ctl_json("stop", "--soft", inst["displayName"])
        self.assertGreaterEqual(time.monotonic() - t0, 2.0)
        self.assertEqual(jobs[0]["result"], "done")
        self.assertEqual(self.actions(inst["id"]), {"SOFTSTOP": 1, "STOP": 1})
        self.assertEqual(self.st.oci.get_instance(inst["id"])["lifecycleState"], "STOPPED")

    def test_skipped_failed_busy(self):
        running, flaky = self.pick("RUNNING", 2)
        self.st.oci.reset_counters()
        r = self.ctl("start", running["id"], check=0)
        self.assertIn("had nothing to do: Already RUNNING.", r.stderr)
        self.assertEqual(self.actions(running["id"]), {})

        self.st.oci.set_faults(operations={"InstanceAction": {"rate_5xx": 1.0, "codes_5xx": [500]}})
        try:
            r = self.ctl("stop", "--hard", flaky["id"])
        finally:
            self.st.oci.clear_faults()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, rf"^stopstartctl: Could not stop {flaky['id']}: job \d+ failed: .*STOP.*\n$")
        self.assertEqual(self.actions(flaky["id"]), {})

        # one action job per instance at a time
        self.st.oci.set_lifecycle(hang_softstop=[flaky["id"]])
        self.ctl("set-config", flaky["id"], "soft_stop_timeout=1h", check=0)
        r = self.ctl("stop", "--no-block", flaky["id"], check=0)
        job = re.fullmatch(r"Queued job (\d+) \(stop \S+\): (\S+)\n", r.stdout)
        self.assertIsNotNone(job, r.stdout)
        r = self.ctl("stop", flaky["id"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("has job", r.stderr)
        self.assertCallError("org.stopstart.StopStart1.Error.Busy", self.instance_path(flaky["id"]), INSTANCE,
                             "Start")

        wait_for(lambda: self.actions(flaky["id"]).get("SOFTSTOP") == 1, 20)
        running_jobs = [j for j in self.ctl_json("list-jobs") if j["state"] != "done"]
        self.assertEqual([j["id"] for j in running_jobs], [int(job.group(1))])
        self.ctl("cancel", job.group(1), check=0)
        p = self.job_props(job.group(2))
        self.assertEqual((p["State"], p["Result"], p["Error"]), ("done", "canceled", "Canceled by root."))
        # list-jobs shows how each job ended: RESULT column, result and error in JSON (null: none)
        rows = {j["id"]: j for j in self.ctl_json("list-jobs")}
        self.assertEqual((rows[int(job.group(1))]["result"], rows[int(job.group(1))]["error"]),
                         ("canceled", "Canceled by root."))
        self.assertIn("failed", [j["result"] for j in rows.values() if j["target"] == flaky["id"]])
        self.assertIn(("skipped", "Already RUNNING."), [(j["result"], j["error"]) for j in rows.values()
                                                        if j["target"] == running["id"]])
        self.assertTrue(all(j["error"] is None for j in rows.values() if j["result"] == "done"))
        # status --json (the daemon's Describe()) says "no error" the same way: null
        described = {j["id"]: j for j in self.ctl_json("status")["jobs"]}
        self.assertTrue(all(j["error"] is None for j in described.values() if j["result"] == "done"), described)
        self.assertEqual(described[int(job.group(1))]["error"], "Canceled by root.")
        # and so does the daemon's document itself, not only stopstartctl's rendering of it
        raw = json.loads(self.st.call(ROOT_PATH, MANAGER, "Describe")[0])["jobs"]
        self.assertTrue(raw and all(j["error"] is None for j in raw if j["result"] == "done"), raw)
        human = self.ctl("list-jobs", check=0).stdout
        self.assertRegex(human.splitlines()[0], r"^JOB\s+KIND\s+INSTANCE\s+STATE\s+RESULT$")
        self.assertRegex(human, rf"(?m)^\s*{job.group(1)}\s+stop\s+\S+\s+done\s+canceled$")
        self.assertRegex(self.ctl("status", flaky["id"]).stdout,
                         rf"(?m)^\s*Job: {job.group(1)} \(stop\): canceled: Canceled by root\.$")
        r = self.ctl("cancel", job.group(2))
        self.assertEqual(r.returncode, EXIT_NO_SUCH_OBJECT)
        self.assertIn("has finished already", r.stderr)
        self.assertEqual(self.actions(flaky["id"]), {"SOFTSTOP": 1})
        self.assertIn(("cancel", "job", job.group(1)), [(e[4], e[5], e[6]) for e in self.history()])


# =====================================================================================================
class TestConfig(StackTest):
    """Inheritance and explain, overrides that expire, PropertiesChanged for real changes only."""

    def test_inheritance_and_explain(self):
        inst = next(i for i in self.fake["instances"]
                    if any(c["id"] == i["compartmentId"] and c["compartmentId"] != self.fake["tenancy"]["id"]
                           for c in self.fake["compartments"]))
        comp = next(c for c in self.fake["compartments"] if c["id"] == inst["compartmentId"])
        root = self.fake["tenancy"]["id"]
        path = self.instance_path(inst["id"])

        self.ctl("set-defaults", root, "soft_stop_timeout=10min", "priority=9", check=0)
        self.ctl("set-defaults", comp["id"], "priority=7", "stop_mode=hard", check=0)
        ex = self.ctl_json("explain", inst["id"])
        src = {r["key"]: (r["value"], r["source"]) for r in ex}
        self.assertEqual(src["soft_stop_timeout"], (600 * USEC, "compartment:" + root))
        self.assertEqual(src["priority"], (7, "compartment:" + comp["id"]))
        self.assertEqual(src["stop_mode"], ("hard", "compartment:" + comp["id"]))
        self.assertEqual(src["managed"], (False, "default"))
        eff = self.prop(path, INSTANCE, "EffectiveConfig")
        self.assertEqual(eff["priority"]["data"], 7)
        self.assertEqual(eff["soft_stop_timeout"]["data"], 600 * USEC)
        # the daemon's own Explain() says the same
        raw = json.loads(self.call(path, INSTANCE, "Explain")[0])
        self.assertEqual(raw.pop("schedules"), [])
        # (stopstartctl's JSON says null where the daemon's has "": no value)
        self.assertEqual({k: (v["value"] if v["value"] != "" else None, v["source"]) for k, v in raw.items()}, src)

        self.ctl("set-config", inst["id"], "priority=1", check=0)
        self.assertEqual({r["key"]: r["source"] for r in self.ctl_json("explain", inst["id"])}["priority"], "instance")
        self.ctl("set-config", inst["id"], "priority=inherit", check=0)
        self.ctl("set-defaults", comp["id"], "priority=inherit", check=0)
        self.assertEqual({r["key"]: (r["value"], r["source"]) for r in self.ctl_json("explain", inst["id"])}["priority"],
                         (9, "compartment:" + root))
        self.assertEqual(self.prop(self.compartment_path(comp["id"]), COMPARTMENT, "EffectiveDefaults")["priority"]["data"], 9)

    def test_override_expires(self):
        inst = self.pick("STOPPED")[0]
        path = self.instance_path(inst["id"])
        with PropMonitor(self.st) as mon:
            self.ctl("set-config", inst["id"], "override_state=running", "override_until=+3s", check=0)
            self.assertEqual(self.prop(path, INSTANCE, "EffectiveConfig")["override_state"]["data"], "running")
            self.assertEqual(set(self.prop(path, INSTANCE, "Config")), {"override_state", "override_until"})
            wait_for(lambda: self.prop(path, INSTANCE, "Config") == {}, 15, 0.1, "the override to end")
            self.assertEqual(self.prop(path, INSTANCE, "EffectiveConfig")["override_state"]["data"], "")
            self.assertEqual(self.prop(path, INSTANCE, "EffectiveConfig")["override_until"]["data"], 0)
            sigs = mon.wait(path, 2)
        # set: one signal with both; expired: the effective values change at once, the stored pair
        # goes once it is deleted (one or two signals), and nothing else
        self.assertEqual((set(sigs[0].changed), sigs[0].invalidated), ({"Config"}, {"EffectiveConfig"}), sigs)
        later = sigs[1:]
        self.assertIn(len(later), (1, 2), sigs)
        self.assertEqual(set().union(*(set(s.changed) for s in later)), {"Config"}, sigs)
        self.assertEqual(set().union(*(s.invalidated for s in later)), {"EffectiveConfig"}, sigs)
        h = [e for e in self.history(instance=inst["id"])]
        self.assertEqual([(e[4], e[2]) for e in h], [("set-config", "root"), ("override-expired", "stopstartd")])
        self.assertEqual(h[1][3], 4294967295)
        out = self.ctl("history", f"--instance={inst['id']}", check=0).stdout
        self.assertIn("override-expired", out)

    def test_properties_changed_only_on_real_changes(self):
        inst = self.pick("RUNNING")[0]
        path = self.instance_path(inst["id"])
        comp_path = self.compartment_path(inst["compartmentId"])
        n_history = len(self.history())
        with PropMonitor(self.st) as mon:
            self.ctl("set-config", inst["id"], "note=first", "managed=yes", check=0)
            self.assertEqual(len(mon.wait(path, 1)), 1)
            # the same again, in another spelling: a no-op emits nothing and writes no audit entry
            self.ctl("set-config", inst["displayName"], "managed=true", "note=first", check=0)
            self.call(path, INSTANCE, "SetConfig", "a{sv}", settings(managed=True))
            mon.settle()
            self.assertEqual(len(mon.for_path(path)), 1)
            self.assertEqual(len(self.history()), n_history + 1)
            # a compartment default the instance overrides: the compartment changes, the instance's
            # effective values do not
            self.ctl("set-defaults", inst["compartmentId"], "managed=no", check=0)
            self.assertEqual(len(mon.wait(comp_path, 1)), 1)
            self.assertEqual(len(mon.for_path(path)), 1)
            self.ctl("set-defaults", inst["compartmentId"], "managed=no", check=0)
            # a default it inherits: its EffectiveConfig is invalidated, its Config is not
            self.ctl("set-defaults", inst["compartmentId"], "priority=3", check=0)
            self.assertEqual(len(mon.wait(comp_path, 2)), 2)
            sigs = mon.wait(path, 2)
            self.assertEqual(len(sigs), 2)
            self.assertEqual((set(sigs[1].changed), sigs[1].invalidated), (set(), {"EffectiveConfig"}))
        self.assertEqual(len(self.history()), n_history + 3)

    def test_bad_values_change_nothing(self):
        inst = self.pick("RUNNING")[0]
        path = self.instance_path(inst["id"])
        self.ctl("set-config", inst["id"], "note=keep", check=0)
        before = self.prop(path, INSTANCE, "Config")
        n_history = len(self.history())
        for args, msg in ((["soft_stop_timeout=0"], "soft_stop_timeout"),
                          (["soft_stop_timeout=2w"], "soft_stop_timeout"),
                          (["override_state=running", "override_until=-1h"], "'override_until' must lie in the future"),
                          (["override_state=running", "override_until=next week"], "Could not parse override_until"),
                          (["override_state=running", "override_until=@1000"], "override_until"),
                          (["override_state=running"], "override"),
                          (["stop_mode=gentle"], "stop_mode"),
                          (["note=" + "x" * 5000], "note"),
                          (["managed=maybe"], "Could not parse managed=maybe"),
                          (["colour=blue"], "colour"),
                          (["note=ok", "priority=1.5"], "Could not parse priority=1.5")):
            r = self.ctl("set-config", inst["id"], *args)
            # what stopstartctl cannot parse and what the daemon refuses: bad usage (2)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(msg, r.stderr, args)
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertEqual(self.prop(path, INSTANCE, "Config"), before)
        self.assertEqual(len(self.history()), n_history)


# =====================================================================================================
class TestAuth(StackTest):
    """Real polkitd with our .policy and test rules: viewers read, operators act, denied callers
    get AccessDenied (or InteractiveAuthorizationRequired) and nothing changes."""

    def test_daemon_runs_as_stopstart(self):
        with open(f"/proc/{self.st.daemon.pid}/status") as f:
            uid = next(line.split()[1] for line in f if line.startswith("Uid:"))
        import pwd
        self.assertEqual(pwd.getpwuid(int(uid)).pw_name, "stopstart")

    def test_viewer_reads(self):
        for verb in (["tree"], ["list-compartments"], ["list-instances"], ["list-jobs"], ["status"],
                     ["history"], ["show", self.fake["instances"][0]["id"]],
                     ["explain", self.fake["instances"][0]["id"]]):
            r = self.ctl("--no-ask-password", *verb, user=VIEWER)
            self.assertEqual(r.returncode, 0, (verb, r.stderr))
        self.assertEqual(len(self.ctl_json("list-instances", user=VIEWER)), len(self.fake["instances"]))

    def test_denied_callers_change_nothing(self):
        inst = self.pick("RUNNING")[0]
        path = self.instance_path(inst["id"])
        comp = self.fake["compartments"][0]["id"]
        config = self.prop(path, INSTANCE, "Config")
        n_history = len(self.history())
        self.st.oci.reset_counters()

        for user, name in ((VIEWER, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"),
                           (DENIED, "org.freedesktop.DBus.Error.AccessDenied")):
            for verb, what in ((["stop", inst["id"]], f"stop {inst['id']}"),
                               (["reboot", "--hard", inst["id"]], f"reboot {inst['id']}"),
                               (["set-config", inst["id"], "managed=yes"], f"configure {inst['id']}"),
                               (["set-defaults", comp, "managed=yes"], f"set the defaults of {comp}"),
                               (["refresh"], "refresh the inventory")):
                r = self.ctl("--no-ask-password", *verb, user=user)
                self.assertEqual(r.returncode, 1, (user, verb, r.stderr))
                self.assertRegex(r.stderr, rf"^stopstartctl: Could not {re.escape(what)}: .*"
                                           r"(Interactive authentication required|Not authorized) for "
                                           r"org\.stopstart\.StopStart1\.(operate|configure)\.\n$")
            self.assertCallError(name, path, INSTANCE, "Stop", "s", "hard", user=user)
            self.assertCallError(name, path, INSTANCE, "SetConfig", "a{sv}", settings(note="x"), user=user)
            self.assertCallError(name, ROOT_PATH, MANAGER, "Reload", user=user)

        self.assertEqual(self.actions(inst["id"]), {})
        self.assertEqual(self.st.oci.counters()["actions_total"], 0)
        self.assertEqual(self.prop(path, INSTANCE, "Config"), config)
        self.assertEqual(len(self.history()), n_history)
        self.assertEqual(self.st.oci.get_instance(inst["id"])["lifecycleState"], "RUNNING")

    def test_operator_acts(self):
        inst = self.pick("RUNNING")[0]
        import pwd
        uid = pwd.getpwnam(OPERATOR).pw_uid
        self.ctl("set-config", inst["displayName"], "note=by operator", user=OPERATOR, check=0)
        self.ctl("stop", "--hard", inst["displayName"], user=OPERATOR, check=0)
        self.assertEqual(self.actions(inst["id"]), {"STOP": 1})
        h = [e for e in self.history(instance=inst["id"])]
        self.assertEqual([(e[4], e[2], e[3]) for e in h], [("set-config", OPERATOR, uid), ("stop", OPERATOR, uid)])


class TestAuthMock(StackTest):
    """python-dbusmock's polkitd: the daemon asks for exactly view, configure and operate."""
    STACK_ARGS = {"polkit": "mock", "instances": 8, "compartments": 3}

    def test_actions_asked(self):
        inst = self.pick("RUNNING")[0]
        path = self.instance_path(inst["id"])
        pk = self.st.polkit
        # denies everything: even reads (root is trusted by the daemon without asking)
        r = self.ctl("list-instances", user=VIEWER)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Could not list instances: Not authorized for org.stopstart.StopStart1.view.", r.stderr)
        self.assertCallError("org.freedesktop.DBus.Error.AccessDenied", ROOT_PATH, MANAGER, "Describe", user=VIEWER)
        self.assertEqual(len(self.ctl_json("list-instances")), len(self.fake["instances"]))
        # properties need no authorization
        self.assertEqual(self.prop(path, INSTANCE, "Id"), inst["id"])

        pk.allow("org.stopstart.StopStart1.view")
        self.assertEqual(len(self.ctl_json("list-instances", user=VIEWER)), len(self.fake["instances"]))
        r = self.ctl("set-config", inst["id"], "note=x", user=VIEWER)
        self.assertIn("Not authorized for org.stopstart.StopStart1.configure.", r.stderr)
        pk.allow("org.stopstart.StopStart1.view", "org.stopstart.StopStart1.configure")
        self.ctl("set-config", inst["id"], "note=x", user=VIEWER, check=0)
        r = self.ctl("stop", inst["id"], user=VIEWER)
        self.assertIn("Not authorized for org.stopstart.StopStart1.operate.", r.stderr)
        self.assertEqual(self.actions(inst["id"]), {})
        pk.allow("org.stopstart.StopStart1.view", "org.stopstart.StopStart1.operate")
        self.ctl("stop", "--hard", inst["id"], user=VIEWER, check=0)
        self.assertEqual(self.actions(inst["id"]), {"STOP": 1})


# =====================================================================================================
class TestRestart(StackTest):
    """The daemon restarted keeps configuration and history; PostgreSQL stopped and started under
    it loses nothing."""
    STACK_ARGS = {"instances": 12, "compartments": 4}

    def test_daemon_restart_keeps_config_and_history(self):
        inst = self.pick("RUNNING")[0]
        comp = self.fake["compartments"][0]["id"]
        self.ctl("set-config", inst["id"], "managed=yes", "note=survives", "override_state=stopped",
                 "override_until=+1d", check=0)
        self.ctl("set-defaults", comp, "priority=4", check=0)
        self.ctl("stop", "--hard", inst["id"], check=0)
        path = self.instance_path(inst["id"])
        before = (self.prop(path, INSTANCE, "Config"), self.prop(self.compartment_path(comp), COMPARTMENT, "Defaults"),
                  self.history(), self.ctl_json("explain", inst["id"]))

        self.st.restart_daemon()
        after = (self.prop(path, INSTANCE, "Config"), self.prop(self.compartment_path(comp), COMPARTMENT, "Defaults"),
                 [e for e in self.history() if e[4] != "refresh"], self.ctl_json("explain", inst["id"]))
        self.assertEqual(after, before)
        self.assertEqual(self.prop(path, INSTANCE, "LifecycleState"), "STOPPED")
        self.assertEqual(self.actions(inst["id"]), {"STOP": 1})
        # the last job's result too: no job on the bus any more, the daemon read it back (issue 8 item 16)
        last = self.prop(path, INSTANCE, "LastJob")
        self.assertEqual((last[1], last[2], last[3]), ("stop", "done", ""), last)
        self.assertGreater(last[0], 0)
        self.assertRegex(self.ctl("status", inst["id"]).stdout, rf"(?m)^\s*Job: {last[0]} \(stop\): done$")

    def test_waiting_client_when_the_daemon_goes(self):
        inst = self.pick("RUNNING")[0]
        self.st.oci.set_lifecycle(hang_softstop=[inst["id"]])
        self.ctl("set-config", inst["id"], "soft_stop_timeout=1h", check=0)
        waiting = subprocess.Popen([self.st.stopstartctl, "stop", "--soft", inst["id"]], env=self.st.env(),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: self.actions(inst["id"]).get("SOFTSTOP") == 1, 20, 0.1, "the SOFTSTOP")
            self.assertEqual(self.st.stop_daemon(), 0)
            out, err = waiting.communicate(timeout=20)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.communicate()
        sanitizers.check("stopstartctl stop --soft", waiting.returncode, err)
        self.assertEqual(waiting.returncode, 1)
        m = re.fullmatch(rf"stopstartctl: Could not stop {inst['id']}: stopstartd left the bus while job (\d+) "
                         r"was running; it resumes the job when it starts again\.\n", err)
        self.assertIsNotNone(m, err)

        r = self.ctl("status")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "stopstartctl: Could not read the daemon's status: stopstartd is not running "
                                   "(org.stopstart.StopStart1 is not on the bus)\n")

        self.st.start_daemon()
        job = next(j for j in self.ctl_json("list-jobs") if j["id"] == int(m.group(1)))
        self.assertEqual((job["kind"], job["target"]), ("stop", inst["id"]))
        self.assertNotEqual(job["state"], "done")
        self.ctl("cancel", m.group(1), check=0)
        # resumed with the same retry token: OCI was not asked twice
        self.assertEqual(self.actions(inst["id"]), {"SOFTSTOP": 1})

    def test_postgres_stopped_and_started(self):
        inst = self.pick("RUNNING")[0]
        path = self.instance_path(inst["id"])
        self.ctl("set-config", inst["id"], "note=before", check=0)
        hist = self.history()
        n_instances = len(self.ctl_json("list-instances"))

        self.st.pg.stop_server("fast")
        try:
            wait_for(lambda: self.prop(ROOT_PATH, MANAGER, "State") == "degraded", 30, 0.1, "degraded")
            # reads are served from memory
            self.assertEqual(len(self.ctl_json("list-instances")), n_instances)
            self.assertEqual(self.ctl_json("show", inst["id"])["Config"]["note"], "before")
            # degraded: status says so and exits 3, as systemctl is-system-running does
            self.assertRegex(self.ctl("status", check=3).stdout, r"(?m)^\s*State: degraded$")
            self.ctl("--json=short", "status", check=3)
            # writes are refused, and say why
            for verb in (["set-config", inst["id"], "note=lost?"], ["stop", inst["id"]]):
                r = self.ctl(*verb)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn("The database is not reachable; nothing was changed", r.stderr)
            # a read that needs the database says so, without talking of changes
            r = self.ctl("history")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("The database is not reachable", r.stderr)
            self.assertNotIn("changed", r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertCallError("org.stopstart.StopStart1.Error.DatabaseUnavailable", path, INSTANCE, "SetConfig",
                                 "a{sv}", settings(note="lost?"))
            self.assertEqual(self.prop(path, INSTANCE, "Config")["note"]["data"], "before")
            self.assertEqual(self.actions(inst["id"]), {})
        finally:
            self.st.pg.start_server()
        wait_for(lambda: self.prop(ROOT_PATH, MANAGER, "State") == "running", 60, 0.1, "running again")
        self.ctl("set-config", inst["id"], "note=after", check=0)
        self.assertEqual(self.prop(path, INSTANCE, "Config")["note"]["data"], "after")
        now = self.history()
        self.assertEqual(now[:len(hist)], hist)
        self.assertEqual([e[4] for e in now[len(hist):] if e[4] != "refresh"], ["set-config"])
        self.assertEqual(json.loads(now[-1][7])["old"]["note"], "before")
        # and in the database itself
        self.assertEqual(self.st.pg.psql(f"SELECT note FROM stopstart.instance_config WHERE instance_id = "
                                         f"'{inst['id']}'"), "after")


# =====================================================================================================
class TestBadCalls(StackTest):
    """Unknown objects, bad keys, wrong types and huge strings get named errors; the daemon
    survives all of it."""
    STACK_ARGS = {"instances": 8, "compartments": 3}

    def test_bad_calls(self):
        inst = self.fake["instances"][0]
        path = self.instance_path(inst["id"])
        P = "org.stopstart.StopStart1.Error."
        n_history = len(self.history())
        config = self.prop(path, INSTANCE, "Config")

        self.assertCallError(P + "NoSuchInstance", ROOT_PATH, MANAGER, "GetInstance", "s", "ocid1.instance.oc1..nope")
        self.assertCallError(P + "NoSuchCompartment", ROOT_PATH, MANAGER, "GetCompartment", "s", "x/y")
        self.assertCallError(P + "NoSuchCompartment", ROOT_PATH, MANAGER, "ListInstances", "a{sv}",
                             {"compartment": V("String", "nowhere")})
        self.assertCallError("org.freedesktop.DBus.Error.UnknownObject", "/org/stopstart/StopStart1/job/987654", JOB,
                             "Cancel")
        self.assertCallError("org.freedesktop.DBus.Error.UnknownObject",
                             "/org/stopstart/StopStart1/instance/ocid1_2einstance_2enope", INSTANCE, "Start")

        for s, why in ((settings(colour="blue"), "unknown key"),
                       (settings(managed="yes"), "string for a boolean"),
                       ({"priority": V("UInt32", 5)}, "u for i"),
                       ({"soft_stop_timeout": V("Int64", 5)}, "x for t"),
                       (settings(soft_stop_timeout=("t", 0)), "zero timeout"),
                       (settings(override_state="running"), "half an override"),
                       (settings(override_state="sideways", override_until=("t", int(time.time() + 60) * USEC)),
                        "bad override state"),
                       (settings(note="\x01bell"), "control character"),
                       ({"managed": V("Array", ["a"], "s")}, "array")):
            e = self.assertCallError(P + "InvalidConfig", path, INSTANCE, "SetConfig", "a{sv}", s)
            self.assertTrue(e.message, why)
        self.assertCallError("org.freedesktop.DBus.Error.InvalidArgs", path, INSTANCE, "Stop", "s", "sideways")
        self.assertCallError("org.freedesktop.DBus.Error.InvalidArgs", path, INSTANCE, "Start", "s", "hard")
        self.assertCallError("org.freedesktop.DBus.Error.InvalidArgs", ROOT_PATH, MANAGER, "ListInstances", "a{sv}",
                             {"state": V("Int32", 5)})
        self.assertCallError("org.freedesktop.DBus.Error.InvalidArgs", ROOT_PATH, MANAGER, "ListInstances", "a{sv}",
                             {"colour": V("String", "x")})
        self.assertCallError("org.freedesktop.DBus.Error.InvalidArgs", ROOT_PATH, MANAGER, "History", "a{sv}",
                             {"limit": V("UInt32", 10 ** 9)})

        huge = "x" * (1024 * 1024)
        e = self.assertCallError(P + "NoSuchInstance", ROOT_PATH, MANAGER, "GetInstance", "s", huge)
        self.assertLess(len(e.message), 200)
        self.assertCallError("org.freedesktop.DBus.Error.InvalidArgs", ROOT_PATH, MANAGER, "ListInstances", "a{sv}",
                             {"name": V("String", huge)})
        self.assertCallError("org.freedesktop.DBus.Error.InvalidArgs", ROOT_PATH, MANAGER, "History", "a{sv}",
                             {"instance": V("String", huge)})
        self.assertCallError(P + "InvalidConfig", path, INSTANCE, "SetConfig", "a{sv}", settings(note=huge))
        self.assertCallError(P + "InvalidConfig", path, INSTANCE, "SetConfig", "a{sv}", {huge: V("String", "x")})
        r = self.ctl("status", huge[:100000])
        self.assertEqual(r.returncode, EXIT_NO_SUCH_OBJECT)
        self.assertLess(len(r.stderr), 300)

        # alive, unchanged
        self.assertIsNone(self.st.daemon.poll())
        self.assertEqual(self.prop(ROOT_PATH, MANAGER, "State"), "running")
        self.assertEqual(self.prop(path, INSTANCE, "Config"), config)
        self.assertEqual(len(self.history()), n_history)
        self.assertEqual(len(self.ctl_json("list-instances")), len(self.fake["instances"]))

# =====================================================================================================
def run_on_tty(argv, env, timeout=30, until=None, on_start=None):
    """argv on a new pseudo-terminal (its controlling terminal, as in an ssh session): (exit status,
    everything it wrote there). until(output) ends the wait early (the process is then killed);
    on_start(pid) runs once the process is started."""
    import pty
    import select
    import signal
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    if on_start:
        on_start(pid)
    out, end, status = b"", time.monotonic() + timeout, None
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:     # EIO: the other side is closed
                    data = b""
                out += data
                if until and until(out):
                    break
                if not data:
                    break
        else:
            raise AssertionError(f"{argv} did not finish on the terminal within {timeout}s: {out!r}")
    finally:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.killpg(pid, signal.SIGKILL)
            done, st = os.waitpid(pid, 0)
        status = os.waitstatus_to_exitcode(st)
        os.close(fd)
    text = out.decode("utf-8", "replace").replace("\r\n", "\n")
    sanitizers.check(" ".join(argv), status, text)
    return status, text


class TestOutput(StackTest):
    """What reaches a terminal: control characters escaped, long names ellipsized (whole with
    --full), the pager's environment, bad input in one line with exit 2, exit statuses of status
    and is-running, names that match several kinds of object, show's units."""
    STACK_ARGS = {"instances": 8, "compartments": 3}

    EVIL = "evil\x1b]0;owned\x07\x1b[2J\nfake-row\tRUNNING"
    LONG = "long-" + "é" * 295          # 300 characters, 595 bytes

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        comp = cls.fake["compartments"][0]["id"]
        cls.evil = cls.st.oci.add_instance(compartmentId=comp, displayName=cls.EVIL, lifecycleState="RUNNING")
        cls.long = cls.st.oci.add_instance(compartmentId=comp, displayName=cls.LONG, lifecycleState="STOPPED")
        cls.st.ctl("refresh", check=0)

    def tty_env(self, **kw):
        e = self.st.env()
        e.pop("PAGER", None)
        e.update({"TERM": "xterm-256color", "COLUMNS": "100", "LANG": "C.UTF-8"})
        e.update(kw)
        return {k: v for k, v in e.items() if v is not None}

    def test_control_characters_escaped(self):
        n = len(self.fake["instances"]) + 2
        out = self.ctl("--no-legend", "list-instances", check=0).stdout
        # one row per instance, whatever the names hold
        self.assertEqual(len(out.splitlines()), n, out)
        self.assertNotIn("\x1b", out)
        self.assertNotIn("\x07", out)
        self.assertIn(r"evil\x1b]0;owned\a\x1b[2J\nfake-row\tRUNNING", out)
        # JSON stays exact
        names = {r["display_name"] for r in self.ctl_json("list-instances")}
        self.assertIn(self.EVIL, names)
        self.assertIn(self.LONG, names)
        for args in (["status", self.evil["id"]], ["show", self.evil["id"]],
                     ["show", "-p", "DisplayName", "--value", self.evil["id"]]):
            out = self.ctl(*args).stdout
            self.assertNotIn("\x1b", out, args)
            self.assertIn(r"evil\x1b]0;owned\a", out, args)
        self.assertEqual(self.ctl_json("show", self.evil["id"])["DisplayName"], self.EVIL)
        # the daemon's messages echo names: escaped too
        r = self.ctl("status", "nope\x1b[2J")
        self.assertEqual(r.returncode, EXIT_NO_SUCH_OBJECT)
        self.assertNotIn("\x1b", r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        # notes (newline and tab are allowed in them) and the history's details
        self.ctl("set-config", self.evil["id"], "note=two\nlines\there", check=0)
        out = self.ctl("status", self.evil["id"]).stdout
        self.assertRegex(out, r"(?m)^\s+Note: two\\nlines\\there \(instance\)$")
        hist = self.ctl("--no-legend", "history", f"--instance={self.evil['id']}", check=0).stdout
        self.assertEqual(len(hist.splitlines()), 1, hist)
        self.assertIn(r"two\nlines\there", hist)

    def test_long_names_ellipsized_on_a_terminal(self):
        ctl = self.st.stopstartctl
        rc, out = run_on_tty([ctl, "--no-pager", "list-instances"], self.tty_env())
        self.assertEqual(rc, 0, out)
        lines = out.splitlines()
        self.assertTrue(all(len(x) <= 100 for x in lines), lines)
        row = next(x for x in lines if x.startswith("long-"))
        self.assertRegex(row, r"^long-é+…  STOPPED")
        # --full (-l): whole, however wide; and not on a terminal: whole
        for args in (["--full"], ["-l"]):
            rc, out = run_on_tty([ctl, "--no-pager", *args, "list-instances"], self.tty_env())
            self.assertIn(self.LONG + "  STOPPED", out, args)
        self.assertIn(self.LONG + "  STOPPED", self.ctl("list-instances", check=0).stdout)
        # status too
        rc, out = run_on_tty([ctl, "--no-pager", "status", self.long["id"]], self.tty_env())
        self.assertEqual(rc, 3, out)
        name = next(x for x in out.splitlines() if x.strip().startswith("Name:"))
        self.assertLessEqual(len(name), 100)
        self.assertTrue(name.endswith("…"), name)

    def test_pager(self):
        ctl = self.st.stopstartctl
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o777)
            seen = os.path.join(d, "pager")
            record = f"echo \"$0 LESS=$LESS\" > {seen}; cat"
            # TERM=dumb or unset: no pager, even with less (which would wait for RETURN)
            for term in ("dumb", None):
                rc, out = run_on_tty([ctl, "list-compartments"], self.tty_env(TERM=term, PAGER="less"), timeout=15)
                self.assertEqual(rc, 0, out)
                self.assertIn("compartments listed.", out)
            # $STOPSTART_PAGER over $SYSTEMD_PAGER over $PAGER; LESS=FRSXMK as systemd sets it
            for env, who in (({"PAGER": "sh -c '" + record.replace("$0", "PAGER") + "'"}, "PAGER"),
                             ({"PAGER": "false", "SYSTEMD_PAGER": "sh -c '" + record.replace("$0", "SYSTEMD") + "'"},
                              "SYSTEMD"),
                             ({"PAGER": "false", "SYSTEMD_PAGER": "false",
                               "STOPSTART_PAGER": "sh -c '" + record.replace("$0", "STOPSTART") + "'"}, "STOPSTART")):
                if os.path.exists(seen):
                    os.unlink(seen)
                rc, out = run_on_tty([ctl, "list-compartments"], self.tty_env(LESS="-N", **env), timeout=15)
                self.assertEqual(rc, 0, out)
                self.assertIn("compartments listed.", out)
                with open(seen) as f:
                    self.assertEqual(f.read(), f"{who} LESS=FRSXMK\n")
            rc, out = run_on_tty([ctl, "list-compartments"], self.tty_env(SYSTEMD_PAGER="cat", PAGER="false"))
            self.assertIn("compartments listed.", out)

    def test_bad_input_is_one_line_exit_2(self):
        inst = self.fake["instances"][0]["id"]
        for args, msg in ((["list-instances", "sp\udce4ter"], r'Invalid argument "sp\xe4ter": not valid UTF-8.'),
                          (["set-config", inst, "note=\udcff"], r'Invalid argument "note=\xff": not valid UTF-8.'),
                          (["status", "\udcc3"], "not valid UTF-8"),
                          (["set-config", inst, "managed=maybe"], "Could not parse managed=maybe"),
                          (["set-config", inst, "priority=1.5"], "Could not parse priority=1.5"),
                          (["set-config", inst, "soft_stop_timeout=soon"], "Could not parse soft_stop_timeout=soon"),
                          (["set-config", inst, "override_until=someday"], "Could not parse override_until"),
                          (["set-config", inst, "novalue"], 'Could not parse "novalue": expected KEY=VALUE.'),
                          (["cancel", "x1"], "not a job number"),
                          (["list-instances", "--state="], 'Invalid --state="": expected one of MOVING, '),
                          (["list-instances", "--state=sideways"], "RUNNING, STARTING, STOPPING, STOPPED"),
                          (["list-instances", "--state=\x1b[2J"], r'Invalid --state="\x1b[2J"')):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(msg, r.stderr, args)
            self.assertEqual(len(r.stderr.splitlines()), 1, (args, r.stderr))
            self.assertNotIn("\x1b", r.stderr)
        # a value the daemon refuses is bad usage too (as for the schedule verbs)
        r = self.ctl("set-config", inst, "soft_stop_timeout=2w")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(len(self.ctl_json("list-instances", "--state=running")),
                         len([i for i in self.ctl_json("list-instances") if i["lifecycle_state"] == "RUNNING"]))
        self.assertIn("TERMINATED", self.ctl("list-instances", "--state=help", check=0).stdout.split())

    def test_schedule_bad_input_escaped(self):
        """The schedule and calendar verbs' refusals echo what was typed escaped, in one line."""
        inst = self.fake["instances"][0]["id"]
        evil = "x\x1b[2J\ny"
        shown = r"x\x1b[2J\ny"
        add = ["schedule", "add", "s", "--action=stop", "--on=daily"]
        for args, code in ((add + [f"tag:{evil}=v"], 2), (add + [evil], 2),
                           (["schedule", "add", "s", f"--action={evil}", "--on=daily", inst], 2),
                           (add + [f"--grace={evil}", inst], 2), (add + [f"--valid-from={evil}", inst], 2),
                           (add + [f"--max-targets={evil}", inst], 2), (add + [f"--enforce={evil}", inst], 2),
                           (["schedule", "preview", "s", f"-n{evil}"], 2),
                           (["schedule", "delay", "s", f"--by={evil}"], 2),
                           (["schedule", "skip", "s", f"--at={evil}"], 2),
                           (["schedule", evil], 2), (["calendar", "add", "c", evil], 2),
                           (["history", f"--since={evil}"], 2), ([f"--json={evil}", "schedule", "list"], 2),
                           (["calendar", "show", evil], 4)):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, code, (args, r.stderr))
            self.assertIn(shown, r.stderr, args)
            self.assertNotIn("\x1b", r.stderr, args)
            self.assertEqual(len(r.stderr.splitlines()), 1, (args, r.stderr))

    def test_status_exit_codes_and_is_running(self):
        running = next(i for i in self.fake["instances"] if i["lifecycleState"] == "RUNNING")
        stopped = next(i for i in self.fake["instances"] if i["lifecycleState"] == "STOPPED")
        self.ctl("status", check=0)
        self.ctl("--json=short", "status", check=0)
        self.ctl("status", running["id"], check=0)
        self.assertEqual(self.ctl("status", stopped["id"]).returncode, 3)
        self.assertEqual(self.ctl("--json=short", "status", stopped["id"]).returncode, 3)
        r = self.ctl("is-running", running["id"], check=0)
        self.assertEqual(r.stdout, "RUNNING\n")
        r = self.ctl("is-running", running["id"], stopped["id"])
        self.assertEqual((r.returncode, r.stdout), (3, "RUNNING\nSTOPPED\n"))
        r = self.ctl("is-running", "--quiet", stopped["id"])
        self.assertEqual((r.returncode, r.stdout), (3, ""))
        self.assertEqual(self.ctl("-q", "is-running", running["id"]).returncode, 0)
        self.assertEqual(self.ctl("is-running", "no-such").returncode, EXIT_NO_SUCH_OBJECT)
        self.assertEqual(self.ctl("status", "--quiet").returncode, 2)

    def test_show_formats_times_and_spans(self):
        inst = self.fake["instances"][1]["id"]
        self.ctl("set-config", inst, "soft_stop_timeout=90s", check=0)
        out = self.ctl("show", inst, check=0).stdout
        self.assertRegex(out, r"(?m)^StateObservedAt=\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$")
        self.assertRegex(out, r"(?m)^Config=soft_stop_timeout=1min 30s$")
        self.assertRegex(out, r"(?m)^EffectiveConfig=.*soft_stop_timeout=1min 30s .*override_until=$")
        out = self.ctl("show", check=0).stdout
        self.assertRegex(out, r"(?m)^LastRefresh=\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$")
        job = self.ctl_json("list-jobs")[-1]
        self.assertEqual(self.ctl("show", "-p", "Progress", "--value", job["object"], check=0).stdout, "1\n")
        # the spans systemd accepts: months and years
        for span, seconds in (("+1month", 2629800), ("+9y", 9 * 31557600)):
            self.ctl("set-config", inst, "override_state=running", f"override_until={span}", check=0)
            until = self.ctl_json("show", inst)["Config"]["override_until"]
            self.assertAlmostEqual(until / USEC, time.time() + seconds, delta=120)
        self.ctl("set-config", inst, "override_until=inherit", check=0)
        # JSON stays raw: µs and numbers
        self.assertIsInstance(self.ctl_json("show")["LastRefresh"], int)
        self.assertEqual(self.ctl_json("show", inst)["Config"]["soft_stop_timeout"], 90 * USEC)

    def test_ambiguous_names(self):
        # an instance named like the number of a job, and one named like the tenancy (a compartment path)
        job = self.ctl_json("list-jobs")[0]
        comp = self.fake["compartments"][0]["id"]
        by_number = self.st.oci.add_instance(compartmentId=comp, displayName=str(job["id"]), lifecycleState="STOPPED")
        tenancy = self.fake["tenancy"]["name"]
        like_tenancy = self.st.oci.add_instance(compartmentId=comp, displayName=tenancy, lifecycleState="STOPPED")
        twin1 = self.st.oci.add_instance(compartmentId=comp, displayName="twin", lifecycleState="STOPPED")
        twin2 = self.st.oci.add_instance(compartmentId=comp, displayName="twin", lifecycleState="STOPPED")
        self.ctl("refresh", check=0)
        try:
            r = self.ctl("show", str(job["id"]))
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("ambiguous", r.stderr)
            self.assertIn(job["object"], r.stderr)
            self.assertIn(by_number["id"], r.stderr)
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
            r = self.ctl("show", tenancy)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(like_tenancy["id"], r.stderr)
            self.assertIn(self.fake["tenancy"]["id"], r.stderr)
            # each by the name unique to it
            self.assertEqual(self.ctl_json("show", job["object"])["Id"], job["id"])
            self.assertEqual(self.ctl_json("show", by_number["id"])["Id"], by_number["id"])
            self.assertEqual(self.ctl_json("show", self.fake["tenancy"]["id"])["Id"], self.fake["tenancy"]["id"])
            # history --instance= with a name two instances have: refused, naming both
            r = self.ctl("history", "--instance=twin")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(twin1["id"], r.stderr)
            self.assertIn(twin2["id"], r.stderr)
            self.assertEqual(self.ctl_json("history", f"--instance={twin1['id']}"), [])
        finally:
            for i in (by_number, like_tenancy, twin1, twin2):
                self.st.oci.remove_instance(i["id"])
            self.ctl("refresh", check=0)

    def test_reload_and_status_settings(self):
        n = len(self.history())
        r = self.ctl("reload", check=0)
        self.assertEqual((r.stdout, r.stderr), ("", ""))
        self.assertEqual([e[4] for e in self.history()[n:]], ["reload"])
        r = self.ctl("--no-ask-password", "reload", user=VIEWER)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("Could not reload the configuration: Interactive authentication required", r.stderr)
        self.assertEqual(self.ctl("reload", "now").returncode, 2)

        inst = self.fake["instances"][2]
        comp_path = self.prop(self.compartment_path(inst["compartmentId"]), COMPARTMENT, "Path")
        self.ctl("set-defaults", inst["compartmentId"], "priority=4", check=0)
        self.ctl("set-config", inst["id"], "override_state=stopped", "override_until=+2h", "note=hands off", check=0)
        out = self.ctl("status", inst["id"]).stdout
        self.assertRegex(out, rf"(?m)^\s*Priority: 4 \(compartment {re.escape(comp_path)}\)$")
        self.assertRegex(out, r"(?m)^\s*Override: stopped until \w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+, "
                              r"in 1h 59min \(instance\)$")
        self.assertRegex(out, r"(?m)^\s*Note: hands off \(instance\)$")
        self.assertRegex(out, r"(?m)^\s*Stop mode: soft \(default\)$")

    def test_tree_ascii_without_utf8(self):
        utf8 = self.ctl("tree", check=0).stdout
        self.assertIn("└─ ", utf8)
        env = self.st.env()
        env.update(LANG="C", LC_ALL="C")
        r = sanitizers.run("stopstartctl tree", [self.st.stopstartctl, "tree"], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("`- ", r.stdout)
        self.assertTrue(r.stdout.isascii(), r.stdout)
        self.assertEqual(len(r.stdout.splitlines()), len(utf8.splitlines()))

    def test_polkit_agent_on_a_terminal(self):
        import signal
        inst = self.fake["instances"][0]["id"]
        polkitd = self.st.polkit.proc.pid
        ctl = self.st.stopstartctl

        def agents_of(pid):
            found = []
            for p in os.listdir("/proc"):
                try:
                    with open(f"/proc/{p}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    with open(f"/proc/{p}/cmdline", "rb") as f:
                        cmd = f.read().split(b"\0")[:-1]
                except (OSError, ValueError, IndexError):
                    continue
                if ppid == pid and cmd and cmd[0].endswith(b"pkttyagent"):
                    found.append([c.decode() for c in cmd])
            return found

        # polkitd held still: the agent waits to register and the ctl waits for the agent
        for args, expect_agent in ((["stop", inst], True), (["--no-ask-password", "stop", inst], False)):
            seen, started = [], []

            def watch(pid):
                started.append(pid)
                end = time.monotonic() + 5
                while time.monotonic() < end and not seen:
                    seen.extend(agents_of(pid))
                    time.sleep(0.05)
                os.kill(polkitd, signal.SIGCONT)

            os.kill(polkitd, signal.SIGSTOP)
            try:
                rc, out = run_on_tty(as_user(VIEWER) + [ctl, *args], self.tty_env(), on_start=watch)
            finally:
                os.kill(polkitd, signal.SIGCONT)
            self.assertEqual(rc, 1, out)
            self.assertIn("authentication required", out)
            self.assertNotIn("Error registering", out)
            if expect_agent:
                self.assertEqual(len(seen), 1, seen)
                agent = seen[0]
                self.assertEqual(agent[1], "--notify-fd")
                self.assertEqual(agent[3:], ["--fallback", "--process", str(started[0])])
            else:
                self.assertEqual(seen, [])
        self.assertEqual(self.actions(inst), {})



if __name__ == "__main__":
    unittest.main(verbosity=2)

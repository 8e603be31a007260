#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tenancy generator (determinism, shape), fixtures, lifecycle engine and the search query
language of the fake OCI server, in-process."""
import json
import os
import re
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import regions as R  # noqa: E402
import search_query as Q  # noqa: E402
import tenancy as T  # noqa: E402

OCID_TENANCY = re.compile(r"^ocid1\.tenancy\.oc1\.\.aaaaaaaa[a-z2-7]{52}$")
OCID_COMPARTMENT = re.compile(r"^ocid1\.compartment\.oc1\.\.aaaaaaaa[a-z2-7]{52}$")
OCID_INSTANCE = re.compile(r"^ocid1\.instance\.(oc[0-9]+)\.([a-z]{3})\.an[a-z2-7]{58}$")
LC = {"start_delay": 1.0, "stop_delay": 2.0, "softstop_delay": 3.0, "reset_delay": 4.0,
      "softreset_delay": 4.0, "hang_softstop": [], "hang_softreset": []}


def gen(**kw):
    return T.Tenancy.generate(kw)


def canon(t):
    d = t.dump()
    d["counts"].pop("version")
    return json.dumps(d, sort_keys=True)


class GeneratorTests(unittest.TestCase):
    def test_deterministic_for_a_seed(self):
        p = dict(seed=42, compartments=60, depth=4, instances=500, regions=["us-ashburn-1", "eu-frankfurt-1"])
        a, b = gen(**p), gen(**p)
        self.assertEqual(canon(a), canon(b))
        c = gen(**dict(p, seed=43))
        self.assertNotEqual(a.id, c.id)
        self.assertNotEqual(canon(a), canon(c))
        self.assertEqual(gen(seed="x").id, gen(seed="x").id)

    def test_shape(self):
        t = gen(seed=7, compartments=200, depth=5, instances=3000,
                regions=["us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"],
                state_mix={"RUNNING": 50, "STOPPED": 40, "TERMINATED": 10})
        self.assertRegex(t.id, OCID_TENANCY)
        self.assertEqual(len(t.compartments), 200)
        self.assertEqual(len(t.instances), 3000)
        self.assertEqual(t.home_region, "us-phoenix-1")
        depth = {}

        def d(cid):
            if cid == t.id:
                return 0
            if cid not in depth:
                depth[cid] = d(t.compartments[cid].parent) + 1
            return depth[cid]
        self.assertEqual(max(d(c) for c in t.compartments), 5)
        for c in t.compartments.values():
            self.assertRegex(c.id, OCID_COMPARTMENT)
            self.assertTrue(c.parent == t.id or c.parent in t.compartments)
        names = {}
        for c in t.compartments.values():
            names.setdefault(c.parent, set())
            self.assertNotIn(c.name, names[c.parent])  # unique among siblings
            names[c.parent].add(c.name)
        states, regs = {}, {}
        for i in t.instances.values():
            m = OCID_INSTANCE.match(i.id)
            self.assertIsNotNone(m, i.id)
            self.assertEqual(R.SHORT_TO_REGION[m.group(2)], i.region)
            self.assertTrue(i.ad.endswith(("-AD-1", "-AD-2", "-AD-3")))
            self.assertIn(R.short_code(i.region).upper(), i.ad)
            self.assertTrue(t.container_exists(i.compartment_id))
            self.assertEqual(T.fmt_time(T.parse_time(i.time_created)), i.time_created)
            states[i.state] = states.get(i.state, 0) + 1
            regs[i.region] = regs.get(i.region, 0) + 1
        self.assertEqual(set(states), {"RUNNING", "STOPPED", "TERMINATED"})
        self.assertTrue(1200 < states["RUNNING"] < 1800, states)
        self.assertEqual(set(regs), {"us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"})
        api = next(iter(t.instances.values())).api()
        self.assertIn(api["region"], ("phx", "iad", "eu-frankfurt-1"))
        for k in ("id", "compartmentId", "availabilityDomain", "lifecycleState", "region", "shape",
                  "timeCreated", "displayName", "freeformTags", "definedTags", "shapeConfig"):
            self.assertIn(k, api)
        subs = t.api_region_subscriptions()
        self.assertEqual([s["regionName"] for s in subs if s["isHomeRegion"]], ["us-phoenix-1"])
        self.assertEqual(t.api_tenancy()["homeRegionKey"], "PHX")

    def test_distribution_even(self):
        t = gen(compartments=9, instances=100, distribution="even")
        per = {}
        for i in t.instances.values():
            per[i.compartment_id] = per.get(i.compartment_id, 0) + 1
        self.assertEqual(sorted(per.values()), [10] * 10)
        t = gen(compartments=9, instances=90, distribution="even", root_instances=False)
        self.assertNotIn(t.id, {i.compartment_id for i in t.instances.values()})

    def test_bad_params(self):
        for bad in ({"compartments": -1}, {"depth": 0}, {"regions": ["mars-north-1"]},
                    {"state_mix": {"BROKEN": 1}}, {"distribution": "weird"}, {"nonsense": 1},
                    {"state_mix": {"RUNNING": 0}}, {"region_status": {"us-phoenix-1": "IN_PROGRESS"}}):
            with self.subTest(bad):
                with self.assertRaises(T.FixtureError):
                    T.Tenancy.generate(bad)

    def test_fixture_round_trip(self):
        t = gen(seed=3, compartments=30, instances=200, regions=["us-phoenix-1", "uk-london-1"],
                compartment_state_mix={"ACTIVE": 9, "DELETED": 1})
        d = t.dump()
        t2 = T.Tenancy.load(json.loads(json.dumps(d)))
        self.assertEqual(canon(t), canon(t2))

    def test_minimal_fixture_and_errors(self):
        tid = "ocid1.tenancy.oc1..aaaaaaaafixture"
        fx = {"tenancy": {"id": tid, "name": "fx"}, "regions": ["us-ashburn-1", "iad"],
              "compartments": [{"id": "ocid1.compartment.oc1..aaaaaaaaa1", "name": "a"},
                               {"id": "ocid1.compartment.oc1..aaaaaaaab1", "name": "b",
                                "compartmentId": "ocid1.compartment.oc1..aaaaaaaaa1"}],
              "instances": [{"id": "ocid1.instance.oc1.iad.anaaaa1", "compartmentId":
                             "ocid1.compartment.oc1..aaaaaaaab1", "lifecycleState": "stopped"}]}
        t = T.Tenancy.load(fx)
        self.assertEqual(t.home_region, "us-ashburn-1")
        self.assertEqual(t.instances["ocid1.instance.oc1.iad.anaaaa1"].state, "STOPPED")
        broken = [
            {},
            dict(fx, compartments=[{"id": "ocid1.compartment.oc1..x", "name": "x",
                                    "compartmentId": "ocid1.compartment.oc1..nope"}]),
            dict(fx, compartments=[{"id": "ocid1.compartment.oc1..x", "name": "x",
                                    "compartmentId": "ocid1.compartment.oc1..y"},
                                   {"id": "ocid1.compartment.oc1..y", "name": "y",
                                    "compartmentId": "ocid1.compartment.oc1..x"}]),
            dict(fx, instances=[{"id": "ocid1.instance.oc1.iad.x", "region": "eu-paris-1"}]),
            dict(fx, instances=[{"id": "ocid1.instance.oc1.iad.x", "lifecycleState": "ASLEEP"}]),
            dict(fx, instances=[{"id": "ocid1.instance.oc1.iad.x"}, {"id": "ocid1.instance.oc1.iad.x"}]),
            dict(fx, instances=[{"id": "ocid1.instance.oc1.iad.x", "timeCreated": "last week"}]),
            dict(fx, instances=[{"id": "not-an-ocid"}]),
        ]
        for k, b in enumerate(broken):
            with self.subTest(k):
                with self.assertRaises(T.FixtureError):
                    T.Tenancy.load(b)


class LifecycleTests(unittest.TestCase):
    def setUp(self):
        self.t = gen(instances=20, state_mix={"RUNNING": 1})
        self.i = next(iter(self.t.instances.values()))

    def test_stop_start(self):
        t, i = self.t, self.i
        self.assertIsNone(t.instance_action(i, "STOP", LC, 100.0))
        self.assertEqual(i.state, "STOPPING")
        t.advance(101.9)
        self.assertEqual(i.state, "STOPPING")
        t.advance(102.0)
        self.assertEqual(i.state, "STOPPED")
        self.assertIsNotNone(t.instance_action(i, "STOP", LC, 103.0))
        self.assertIsNotNone(t.instance_action(i, "SOFTSTOP", LC, 103.0))
        self.assertIsNotNone(t.instance_action(i, "RESET", LC, 103.0))
        self.assertIsNone(t.instance_action(i, "START", LC, 103.0))
        self.assertEqual(i.state, "STARTING")
        self.assertIsNotNone(t.instance_action(i, "START", LC, 103.5))
        t.advance(104.0)
        self.assertEqual(i.state, "RUNNING")

    def test_reset_and_hang(self):
        t, i = self.t, self.i
        self.assertIsNone(t.instance_action(i, "RESET", LC, 0.0))
        seen = [i.state]
        for now in (1.0, 2.0, 3.0, 4.0):
            t.advance(now)
            seen.append(i.state)
        self.assertEqual(seen, ["STOPPING", "STOPPING", "STARTING", "STARTING", "RUNNING"])
        lc = dict(LC, hang_softstop=[i.id], reset_delay=0.0)
        self.assertIsNone(t.instance_action(i, "RESET", lc, 5.0))
        self.assertEqual(i.state, "RUNNING")
        self.assertIsNone(t.instance_action(i, "SOFTSTOP", lc, 5.0))
        t.advance(10000.0)
        self.assertEqual(i.state, "STOPPING")     # hangs
        self.assertIsNone(t.instance_action(i, "STOP", lc, 10000.0))  # fallback works
        t.advance(10002.0)
        self.assertEqual(i.state, "STOPPED")

    def test_terminated_refuses_everything(self):
        self.t.update_instance(self.i.id, {"lifecycleState": "TERMINATED"})
        for a in T.ACTIONS:
            self.assertIn("TERMINATED", self.t.instance_action(self.i, a, LC, 0.0))

    def test_manual_state_cancels_transition(self):
        t, i = self.t, self.i
        t.instance_action(i, "STOP", LC, 0.0)
        t.update_instance(i.id, {"lifecycleState": "RUNNING"})
        t.advance(100.0)
        self.assertEqual(i.state, "RUNNING")


class QueryTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = gen(seed=11, compartments=80, depth=4, instances=2000, regions=["us-phoenix-1", "us-ashburn-1"],
                    state_mix={"RUNNING": 5, "STOPPED": 4, "TERMINATED": 1})
        cls.region = "us-phoenix-1"
        cls.inst = [i for i in cls.t.instances.values() if i.region == cls.region]
        # Generated instances all carry the same Oracle-Tags namespace and keys: give a known
        # subset a namespace of its own, so definedTags queries have something to tell apart.
        for n, i in enumerate(cls.inst):
            if n % 3 == 0:
                i.defined_tags = dict(i.defined_tags, Operations={"CostCenter": "cc-%d" % (n % 2)})

    def ids(self, q):
        return {o.id for o in Q.run(Q.parse(q), self.t, self.region)}

    def expect(self, q, pred):
        got = self.ids(q)
        want = {i.id for i in self.inst if pred(i)}
        self.assertEqual(got, want, q)
        return got

    def expect_subset(self, q, pred):
        """expect(), for a query that must tell instances apart: it matches some, not all."""
        got = self.expect(q, pred)
        self.assertTrue(0 < len(got) < len(self.inst), f"{q}: matches {len(got)} of {len(self.inst)}")
        return got

    def test_all_and_types(self):
        self.expect("query instance resources", lambda i: True)
        got = self.ids("query compartment resources")
        self.assertEqual(got, set(self.t.compartments))
        got = self.ids("QUERY all RESOURCES")
        self.assertEqual(len(got), len(self.inst) + len(self.t.compartments))
        self.assertEqual(self.ids("query instance, compartment resources"), got)
        self.assertEqual(self.ids("query vcn resources"), set())

    def test_operators(self):
        cid = self.inst[0].compartment_id
        self.expect(f"query instance resources where compartmentId = '{cid}'", lambda i: i.compartment_id == cid)
        self.expect(f"query instance resources where compartmentId != '{cid}'", lambda i: i.compartment_id != cid)
        self.expect("query instance resources where lifecycleState = 'running'", lambda i: i.state == "RUNNING")
        self.expect("query instance resources where lifeCycleState != 'TERMINATED' && lifecycleState != 'STOPPED'",
                    lambda i: i.state == "RUNNING")
        self.expect("query instance resources where displayName =~ 'web'", lambda i: "web" in i.display_name)
        self.expect("query instance resources where displayName !=~ 'web'", lambda i: "web" not in i.display_name)
        iid = self.inst[5].id
        self.expect(f"query instance resources where identifier = '{iid}'", lambda i: i.id == iid)
        t1 = T.parse_time("2022-03-01T00:00:00Z")
        self.expect("query instance resources where timeCreated >= '2022-03-01T00:00:00Z'", lambda i: i.tc_ms >= t1)
        self.expect("query instance resources where timeCreated < '2022-03-01'", lambda i: i.tc_ms < t1)
        self.expect("query instance resources where timeCreated > '2022-03-01T01:00:00+01:00'", lambda i: i.tc_ms > t1)
        self.expect("query instance resources where timeCreated <= '2022-03-01T00:00:00.000Z'", lambda i: i.tc_ms <= t1)
        x = self.inst[3]
        self.expect(f"query instance resources where timeCreated = '{x.time_created}'", lambda i: i.tc_ms == x.tc_ms)

    def test_boolean_structure(self):
        a, b = self.inst[0].compartment_id, self.inst[1].compartment_id
        self.expect(f"query instance resources where (compartmentId = '{a}' || compartmentId = '{b}') "
                    "&& lifecycleState = 'RUNNING'",
                    lambda i: i.compartment_id in (a, b) and i.state == "RUNNING")
        self.expect(f"query instance resources where compartmentId = '{a}' || compartmentId = '{b}' "
                    "&& lifecycleState = 'RUNNING'",   # && binds tighter
                    lambda i: i.compartment_id == a or (i.compartment_id == b and i.state == "RUNNING"))
        self.expect(f"query instance resources where ((compartmentId = '{a}') || ((lifecycleState = 'STOPPED' "
                    f"&& displayName =~ 'db')))",
                    lambda i: i.compartment_id == a or (i.state == "STOPPED" and "db" in i.display_name))

    def test_tags(self):
        self.expect("query instance resources where (freeformTags.key = 'env' && freeformTags.value = 'prod')",
                    lambda i: i.freeform_tags.get("env") == "prod")
        self.expect("query instance resources where freeformTags.key = 'env'", lambda i: "env" in i.freeform_tags)
        self.expect("query instance resources where freeformTags.key != 'env'", lambda i: "env" not in i.freeform_tags)
        self.expect("query instance resources where freeformTags.value = 'prod'",
                    lambda i: "prod" in i.freeform_tags.values())

    def test_defined_tags(self):
        def tag(i, ns, key):
            return i.defined_tags.get(ns, {}).get(key)

        def year(i):
            return time.gmtime(i.tc_ms / 1000).tm_year

        self.expect_subset("query instance resources where definedTags.namespace = 'Operations'",
                           lambda i: "Operations" in i.defined_tags)
        self.expect_subset("query instance resources where definedTags.namespace != 'Operations'",
                           lambda i: "Operations" not in i.defined_tags)
        self.expect_subset("query instance resources where definedTags.namespace = 'Operations' && "
                           "definedTags.key = 'CostCenter' && definedTags.value = 'cc-1'",
                           lambda i: tag(i, "Operations", "CostCenter") == "cc-1")
        # The conditions joined by && bind to one tag: CostCenter never has CreatedBy's value.
        self.assertEqual(self.ids("query instance resources where definedTags.key = 'CostCenter' && "
                                  "definedTags.value = 'default/admin@example.com'"), set())
        # Generated instances are created 2021-2026 (CreatedOn is timeCreated): the year splits them.
        y = year(self.inst[0])
        self.expect_subset("query instance resources where definedTags.namespace = 'Oracle-Tags' && "
                           f"definedTags.key = 'CreatedOn' && definedTags.value =~ '{y}-'",
                           lambda i: year(i) == y)
        self.expect_subset("query instance resources where definedTags.value = 'cc-0'",
                           lambda i: tag(i, "Operations", "CostCenter") == "cc-0")

    def test_partitions_add_up(self):
        """Disjoint partitions (compartment sets; timeCreated ranges) cover the full set once."""
        every = self.ids("query instance resources")
        comps = [self.t.id] + list(self.t.compartments)
        seen = []
        for k in range(0, len(comps), 7):
            q = "query instance resources where " + " || ".join(f"compartmentId = '{c}'" for c in comps[k:k + 7])
            seen.extend(self.ids(q))
        self.assertEqual(len(seen), len(every))
        self.assertEqual(set(seen), every)
        edges = ["2019-01-01", "2021-06-01", "2022-01-01T12:00:00Z", "2023-05-05", "2024-01-01", "2031-01-01"]
        seen = []
        for lo, hi in zip(edges, edges[1:]):
            seen.extend(self.ids(f"query instance resources where timeCreated >= '{lo}' && timeCreated < '{hi}'"))
        self.assertEqual(len(seen), len(every))
        self.assertEqual(set(seen), every)

    def test_sorted_by(self):
        r = Q.run(Q.parse("query instance resources sorted by displayName asc"), self.t, self.region)
        names = [o.display_name for o in r]
        self.assertEqual(names, sorted(names))
        r = Q.run(Q.parse("query instance resources where lifecycleState = 'RUNNING' sorted by timeCreated"),
                  self.t, self.region)
        times = [o.tc_ms for o in r]
        self.assertEqual(times, sorted(times, reverse=True))

    def test_bad_queries(self):
        for q in ("", "query", "query instance", "query instances resources", "select * from instance",
                  "query instance resources where", "query instance resources where foo = 'x'",
                  "query instance resources where lifecycleState 'x'", "query instance resources where (a",
                  "query instance resources where lifecycleState = 'x' &&",
                  "query instance resources where timeCreated >= 'soon'",
                  "query instance resources where timeCreated =~ '2020'",
                  "query instance resources where " + "(" * 100 + "lifecycleState = 'x'" + ")" * 100,
                  "query instance resources sorted by shape"):
            with self.subTest(q):
                with self.assertRaises(Q.QueryError):
                    Q.run(Q.parse(q), self.t, self.region)

    def test_long_or_chain(self):
        comps = list(self.t.compartments)
        q = "query instance resources where " + " || ".join(f"compartmentId = '{c}'" for c in comps * 20)
        self.expect(q, lambda i: i.compartment_id in self.t.compartments)

    def test_free_text(self):
        got = {o.id for o in Q.free_text("web", self.t, self.region)}
        self.assertEqual({i.id for i in self.inst if "web" in i.display_name or "web" in i.freeform_tags.values()}
                         | {c.id for c in self.t.compartments.values() if "web" in c.name or
                            "web" in c.freeform_tags.values()}, got)


if __name__ == "__main__":
    unittest.main(verbosity=2)

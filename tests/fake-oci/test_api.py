#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The fake OCI server over HTTP: identity, compute and search endpoints, pagination, regions,
authentication, error format, control-API mutations, fixtures, determinism, shutdown."""
import concurrent.futures
import http.client
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import fakeoci  # noqa: E402
import ocikeys  # noqa: E402
import ocisign  # noqa: E402

REGIONS = ["us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"]
SEARCH = "/20180409/resources"


def search_body(q):
    return {"type": "Structured", "query": q, "matchingContextType": "NONE"}


class ApiTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.oci = fakeoci.FakeOci(seed=5, compartments=40, depth=4, instances=600, regions=REGIONS,
                                  state_mix="RUNNING=5,STOPPED=4,TERMINATED=1",
                                  args=["--compartment-state-mix", "ACTIVE=9,DELETED=1"]).start()
        cls.dump = cls.oci.dump()
        cls.tid = cls.oci.tenancy_id
        cls.c = cls.oci.client()

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.oci.stop()

    def region_instances(self, region):
        return {i["id"]: i for i in self.dump["instances"] if i["region"] == region}

    # --- identity ---------------------------------------------------------------------------------
    def test_identity(self):
        t = self.c.get(f"/20160918/tenancies/{self.tid}")
        self.assertEqual(t["id"], self.tid)
        self.assertEqual(t["homeRegionKey"], "PHX")
        subs = self.c.get(f"/20160918/tenancies/{self.tid}/regionSubscriptions")
        self.assertEqual([s["regionName"] for s in subs], REGIONS)
        self.assertEqual([s["regionKey"] for s in subs], ["PHX", "IAD", "FRA"])
        self.assertEqual([s["isHomeRegion"] for s in subs], [True, False, False])
        self.assertEqual({s["status"] for s in subs}, {"READY"})
        root, h = self.c.call("GET", f"/20160918/compartments/{self.tid}")
        self.assertEqual((root["id"], root["lifecycleState"]), (self.tid, "ACTIVE"))
        cid = self.dump["compartments"][3]["id"]
        comp, h = self.c.call("GET", f"/20160918/compartments/{cid}")
        self.assertEqual(comp, self.dump["compartments"][3])
        self.assertTrue(h.get("etag"))
        for path in (f"/20160918/compartments/{cid}x", f"/20160918/tenancies/{self.tid}x",
                     f"/20160918/tenancies/{self.tid}x/regionSubscriptions"):
            st, h, body = self.c.request("GET", path)
            self.assertEqual((st, body["code"]), (404, "NotAuthorizedOrNotFound"), path)
            self.assertTrue(h.get("opc-request-id"))

    def test_list_compartments_pagination(self):
        every = {c["id"]: c for c in self.dump["compartments"]}
        for limit in (1, 7, 39, 40, 100, 1000, None):
            with self.subTest(limit=limit):
                items = self.c.paginate("/20160918/compartments", compartmentId=self.tid,
                                        compartmentIdInSubtree="true", accessLevel="ACCESSIBLE", limit=limit)
                self.assertEqual(len(items), len(every))
                self.assertEqual({c["id"]: c for c in items}, every)
                self.assertEqual(self.c.last_pages, math.ceil(len(every) / (limit or 100)))
        self.assertNotIn(self.tid, {c["id"] for c in items})   # the root is never listed
        active = self.c.paginate("/20160918/compartments", compartmentId=self.tid,
                                 compartmentIdInSubtree="true", lifecycleState="ACTIVE", limit=9)
        self.assertEqual({c["id"] for c in active},
                         {c["id"] for c in every.values() if c["lifecycleState"] == "ACTIVE"})
        self.assertLess(len(active), len(every))
        # Without the subtree flag: direct children only, of any compartment.
        for parent in [self.tid] + list(every)[:5]:
            kids = self.c.paginate("/20160918/compartments", compartmentId=parent, limit=3)
            self.assertEqual({c["id"] for c in kids},
                             {c["id"] for c in every.values() if c["compartmentId"] == parent})
        one = next(iter(every.values()))
        named = self.c.get("/20160918/compartments", compartmentId=one["compartmentId"], name=one["name"])
        self.assertEqual([c["id"] for c in named], [one["id"]])
        by_name = self.c.paginate("/20160918/compartments", compartmentId=self.tid, compartmentIdInSubtree="true",
                                  sortBy="NAME", limit=6)
        self.assertEqual([c["name"] for c in by_name], sorted(c["name"] for c in every.values()))
        by_time = self.c.paginate("/20160918/compartments", compartmentId=self.tid, compartmentIdInSubtree="true",
                                  sortBy="TIMECREATED", sortOrder="ASC", limit=6)
        self.assertEqual([c["timeCreated"] for c in by_time], sorted(c["timeCreated"] for c in every.values()))

    def test_bad_list_parameters(self):
        cases = [({"compartmentId": self.tid, "limit": "0"}, 400, "InvalidParameter"),
                 ({"compartmentId": self.tid, "limit": "ten"}, 400, "InvalidParameter"),
                 ({"compartmentId": self.tid, "page": "garbage!"}, 400, "InvalidParameter"),
                 ({"limit": "5"}, 400, "MissingParameter"),
                 ({"compartmentId": self.dump["compartments"][0]["id"], "compartmentIdInSubtree": "true"},
                  400, "InvalidParameter"),
                 ({"compartmentId": self.tid, "compartmentIdInSubtree": "yes"}, 400, "InvalidParameter"),
                 ({"compartmentId": self.tid, "accessLevel": "SOME"}, 400, "InvalidParameter"),
                 ({"compartmentId": self.tid, "lifecycleState": "ALIVE"}, 400, "InvalidParameter"),
                 ({"compartmentId": "ocid1.compartment.oc1..nope"}, 404, "NotAuthorizedOrNotFound")]
        for q, st, code in cases:
            with self.subTest(q):
                s, h, body = self.c.request("GET", "/20160918/compartments", q)
                self.assertEqual((s, body["code"]), (st, code))
                self.assertTrue(body["message"])
        # A page token of one query does not fit another.
        s, h, body = self.c.request("GET", "/20160918/compartments", {"compartmentId": self.tid,
                                                                      "compartmentIdInSubtree": "true", "limit": 2})
        token = h["opc-next-page"]
        s, h, body = self.c.request("GET", "/20160918/compartments", {"compartmentId": self.tid, "page": token})
        self.assertEqual((s, body["code"]), (400, "InvalidParameter"))

    def test_page_cap(self):
        try:
            self.oci.config(limits={"page_cap": 10})
            items = self.c.paginate("/20160918/compartments", compartmentId=self.tid,
                                    compartmentIdInSubtree="true", limit=1000)
            self.assertEqual((len(items), self.c.last_pages), (40, 4))
            self.oci.config(limits={"page_cap": None, "ListCompartments": {"default": 15}})
            items = self.c.paginate("/20160918/compartments", compartmentId=self.tid, compartmentIdInSubtree="true")
            self.assertEqual((len(items), self.c.last_pages), (40, 3))
        finally:
            self.oci.config(limits={"page_cap": None, "ListCompartments": {"default": 100}})

    # --- compute ----------------------------------------------------------------------------------
    def test_list_instances_every_region(self):
        containers = [self.tid] + [c["id"] for c in self.dump["compartments"]]
        for region in REGIONS:
            with self.subTest(region):
                c = self.oci.client(region)
                want = self.region_instances(region)
                got = {}
                for cid in containers:
                    for i in c.paginate("/20160918/instances", compartmentId=cid, limit=4):
                        self.assertNotIn(i["id"], got)
                        self.assertEqual(i["compartmentId"], cid)
                        got[i["id"]] = i
                self.assertEqual(set(got), set(want))
                one = next(iter(want.values()))
                api = dict(one)
                api["region"] = {"us-phoenix-1": "phx", "us-ashburn-1": "iad"}.get(region, region)
                self.assertEqual(got[one["id"]], api)
                inst, h = c.call("GET", f"/20160918/instances/{one['id']}")
                self.assertEqual(inst, api)
                self.assertTrue(h["etag"])
                # An instance of another region is not found here.
                other = next(i for i in self.dump["instances"] if i["region"] != region)
                s, h, body = c.request("GET", f"/20160918/instances/{other['id']}")
                self.assertEqual((s, body["code"]), (404, "NotAuthorizedOrNotFound"))
                c.close()

    def test_list_instances_filters(self):
        region = "us-phoenix-1"
        want = self.region_instances(region)
        cid = max({i["compartmentId"] for i in want.values()},
                  key=lambda x: sum(1 for i in want.values() if i["compartmentId"] == x))
        mine = [i for i in want.values() if i["compartmentId"] == cid]
        running = self.c.paginate("/20160918/instances", compartmentId=cid, lifecycleState="running", limit=2)
        self.assertEqual({i["id"] for i in running}, {i["id"] for i in mine if i["lifecycleState"] == "RUNNING"})
        name = mine[0]["displayName"]
        self.assertEqual([i["id"] for i in self.c.get("/20160918/instances", compartmentId=cid, displayName=name)],
                         [i["id"] for i in mine if i["displayName"] == name])
        ad = mine[0]["availabilityDomain"]
        self.assertEqual({i["id"] for i in self.c.paginate("/20160918/instances", compartmentId=cid,
                                                           availabilityDomain=ad)},
                         {i["id"] for i in mine if i["availabilityDomain"] == ad})
        default = self.c.get("/20160918/instances", compartmentId=cid)
        self.assertEqual([i["timeCreated"] for i in default],
                         sorted((i["timeCreated"] for i in mine), reverse=True))
        asc = self.c.get("/20160918/instances", compartmentId=cid, sortBy="DISPLAYNAME")
        self.assertEqual([i["displayName"] for i in asc], sorted(i["displayName"] for i in mine))
        for q, code in (({"compartmentId": cid, "lifecycleState": "ASLEEP"}, "InvalidParameter"),
                        ({}, "MissingParameter"), ({"compartmentId": cid, "sortBy": "SHAPE"}, "InvalidParameter")):
            s, h, body = self.c.request("GET", "/20160918/instances", q)
            self.assertEqual((s, body["code"]), (400, code))

    # --- search -----------------------------------------------------------------------------------
    def test_search_matches_list_instances(self):
        for region in REGIONS:
            with self.subTest(region):
                c = self.oci.client(region)
                want = self.region_instances(region)
                items = c.paginate(SEARCH, "POST", search_body("query instance resources"), limit=37)
                self.assertEqual(len(items), len(want))
                for s in items:
                    i = want[s["identifier"]]
                    self.assertEqual(s["resourceType"], "Instance")
                    for a, b in (("compartmentId", "compartmentId"), ("lifecycleState", "lifecycleState"),
                                 ("displayName", "displayName"), ("timeCreated", "timeCreated"),
                                 ("availabilityDomain", "availabilityDomain"), ("freeformTags", "freeformTags")):
                        self.assertEqual(s[a], i[b])
                comps = c.paginate(SEARCH, "POST", search_body("query compartment resources"))
                self.assertEqual({x["identifier"] for x in comps}, {x["id"] for x in self.dump["compartments"]})
                c.close()

    def test_search_additional_details(self):
        """'return allAdditionalFields' (before 'where', as OCI writes it, or last) adds the Compute
        fields shape, faultDomain, region to instance summaries; without it, or with the server
        setting off, additionalDetails stays empty."""
        region = "us-phoenix-1"
        want = self.region_instances(region)
        c = self.oci.client(region)
        cid = next(iter(want.values()))["compartmentId"]
        try:
            for q in (f"query instance resources return allAdditionalFields where compartmentId = '{cid}'",
                      f"query instance resources where compartmentId = '{cid}' return allAdditionalFields"):
                items = c.paginate(SEARCH, "POST", search_body(q))
                self.assertTrue(items)
                for s in items:
                    i = want[s["identifier"]]
                    self.assertEqual(s["additionalDetails"], {"shape": i["shape"], "faultDomain": i["faultDomain"],
                                                              "region": "phx"})  # as Compute says
            plain = c.paginate(SEARCH, "POST", search_body(f"query instance resources where compartmentId = '{cid}'"))
            self.assertEqual({json.dumps(s["additionalDetails"]) for s in plain}, {"{}"})
            self.oci.config(search={"additional_details": False})
            try:
                off = c.paginate(SEARCH, "POST", search_body(
                    f"query instance resources return allAdditionalFields where compartmentId = '{cid}'"))
                self.assertEqual({json.dumps(s["additionalDetails"]) for s in off}, {"{}"})
            finally:
                self.oci.config(search={"additional_details": True})
            with self.assertRaises(Exception):
                self.oci.config(search={"additional_details": "yes"})
        finally:
            c.close()

    def test_search_parallel_partitions(self):
        """Split one query into disjoint partitions fetched in parallel: they add up exactly."""
        region = "us-ashburn-1"
        want = self.region_instances(region)
        containers = [self.tid] + [c["id"] for c in self.dump["compartments"]]
        parts = ["query instance resources where " + " || ".join(f"compartmentId = '{x}'" for x in containers[k::6])
                 for k in range(6)]
        times = sorted(i["timeCreated"] for i in want.values())
        edges = [times[0]] + [times[len(times) * k // 5] for k in range(1, 5)]
        parts_t = [f"query instance resources where timeCreated >= '{lo}' && timeCreated < '{hi}'"
                   for lo, hi in zip(edges, edges[1:])]
        parts_t += [f"query instance resources where timeCreated < '{edges[0]}'",
                    f"query instance resources where timeCreated >= '{edges[-1]}'"]

        def fetch(q):
            c = self.oci.client(region)
            try:
                return c.paginate(SEARCH, "POST", search_body(q), limit=25)
            finally:
                c.close()
        for partition in (parts, parts_t):
            with concurrent.futures.ThreadPoolExecutor(8) as ex:
                results = list(ex.map(fetch, partition))
            ids = [s["identifier"] for r in results for s in r]
            self.assertEqual(len(ids), len(want))
            self.assertEqual(set(ids), set(want))
        live = fetch("query instance resources where lifecycleState != 'TERMINATED'")
        self.assertEqual({s["identifier"] for s in live},
                         {k for k, i in want.items() if i["lifecycleState"] != "TERMINATED"})

    def test_search_errors_and_free_text(self):
        for body, code in ((search_body("query instance resource"), "InvalidParameter"),
                           (search_body("query instance resources where nope = 'x'"), "InvalidParameter"),
                           ({"type": "Fancy"}, "InvalidParameter"),
                           ({"type": "Structured"}, "MissingParameter")):
            s, h, out = self.c.request("POST", SEARCH, body=body)
            self.assertEqual((s, out["code"]), (400, code), body)
        s, h, out = self.c.request("POST", SEARCH, body=b"{not json")
        self.assertEqual((s, out["code"]), (400, "CannotParseRequest"))
        name = next(i for i in self.dump["instances"] if i["region"] == "us-phoenix-1")["displayName"]
        hits = self.c.paginate(SEARCH, "POST", {"type": "FreeText", "text": name})
        self.assertIn(name, [h["displayName"] for h in hits])
        s, h, out = self.c.request("POST", SEARCH, body=search_body("query instance resources"), query={"limit": 2})
        self.assertEqual(s, 200)
        self.assertEqual(len(out["items"]), 2)
        self.assertTrue(h["opc-next-page"])

    # --- regions ----------------------------------------------------------------------------------
    def test_region_from_host_and_default(self):
        signer = self.c.signer
        iad = self.region_instances("us-ashburn-1")
        some = next(iter(iad))
        c = ocisign.OciClient(self.oci.url, signer, host_header="iaas.us-ashburn-1.oraclecloud.com")
        inst = c.get(f"/20160918/instances/{some}")
        self.assertEqual(inst["region"], "iad")
        c.close()
        c = ocisign.OciClient(self.oci.url, signer)      # no region anywhere: the home region
        s, h, body = c.request("GET", f"/20160918/instances/{some}")
        self.assertEqual(s, 404)
        phx = next(i for i in self.dump["instances"] if i["region"] == "us-phoenix-1")["id"]
        self.assertEqual(c.get(f"/20160918/instances/{phx}")["id"], phx)
        c.close()
        c = ocisign.OciClient(self.oci.url + "/uk-london-1", signer)   # not subscribed
        s, h, body = c.request("GET", f"/20160918/tenancies/{self.tid}")
        self.assertEqual((s, body["code"]), (401, "NotAuthenticated"))
        c.close()

    # --- authentication ---------------------------------------------------------------------------
    def test_authentication_failures(self):
        before = self.oci.counters()["auth_failures"]
        path = f"/20160918/tenancies/{self.tid}"
        stranger = ocikeys.generate_key(os.path.join(self.oci.dir, "stranger"))
        c = self.oci.client(key=stranger)
        s, h, body = c.request("GET", path)
        self.assertEqual((s, body["code"]), (401, "NotAuthenticated"))
        self.assertTrue(h["opc-request-id"])
        c.close()
        # Right user, wrong fingerprint in keyId; right fingerprint, wrong tenancy.
        k = self.oci.key
        for kid in (f"{self.tid}/{k.user}/{stranger.fingerprint}", f"{self.tid[:-2]}aa/{k.user}/{k.fingerprint}"):
            c = ocisign.OciClient(self.oci.endpoint(), ocisign.Signer(kid, k.private_key))
            self.assertEqual(c.request("GET", path)[0], 401)
            c.close()
        now = __import__("time").time()
        for skew in (-400, 400):
            s, h, body = self.c.request("GET", path, date=ocisign.http_date(now + skew))
            self.assertEqual(s, 401, skew)
        for skew in (-200, 200):
            self.assertEqual(self.c.request("GET", path, date=ocisign.http_date(now + skew))[0], 200)
        # Server clock moved: every request is now skewed.
        self.oci.config(auth={"clock_offset": 3600})
        try:
            self.assertEqual(self.c.request("GET", path)[0], 401)
        finally:
            self.oci.config(auth={"clock_offset": 0})
        self.assertEqual(self.c.request("GET", path)[0], 200)
        # Unsigned, and a body that is not the one signed.
        s, h, body = self.c.request("GET", path, sign=False)
        self.assertEqual(s, 401)
        signer = self.c.signer
        target = f"/{self.oci.home_region}{SEARCH}"
        hdrs = signer.sign("POST", target, f"127.0.0.1:{self.oci.port}", body=b'{"type":"FreeText","text":"a"}')
        conn = http.client.HTTPConnection("127.0.0.1", self.oci.port)
        conn.request("POST", target, body=b'{"type":"FreeText","text":"b"}', headers=hdrs)
        r = conn.getresponse()
        self.assertEqual((r.status, json.loads(r.read())["code"]), (401, "NotAuthenticated"))
        conn.close()
        after = self.oci.counters()["auth_failures"]
        for reason in ("unknown-key", "unknown-tenancy", "clock-skew", "no-authorization", "body-hash"):
            self.assertGreater(after.get(reason, 0), before.get(reason, 0), reason)

    def test_keys_added_at_run_time(self):
        k = ocikeys.generate_key(os.path.join(self.oci.dir, "late"))
        c = self.oci.client(key=k)
        self.assertEqual(c.request("GET", f"/20160918/tenancies/{self.tid}")[0], 401)
        r = self.oci.add_key(k.public_key_pem, user=k.user)
        self.assertEqual(r["keyId"], k.key_id(self.tid))
        self.assertEqual(c.request("GET", f"/20160918/tenancies/{self.tid}")[0], 200)
        c.close()

    # --- protocol ---------------------------------------------------------------------------------
    def test_error_format_and_request_ids(self):
        s, h, body = self.c.request("GET", "/20160918/volumes")
        self.assertEqual((s, body["code"]), (404, "NotFound"))
        s, h, body = self.c.request("DELETE", f"/20160918/tenancies/{self.tid}")
        self.assertEqual((s, body["code"]), (405, "MethodNotAllowed"))
        s, h, body = self.c.request("GET", f"/20160918/tenancies/{self.tid}", headers={"opc-request-id": "MYID"})
        self.assertTrue(h["opc-request-id"].startswith("MYID/"))
        ids = {self.c.request("GET", f"/20160918/tenancies/{self.tid}")[1]["opc-request-id"] for _ in range(5)}
        self.assertEqual(len(ids), 5)

    def test_keep_alive_and_expect(self):
        self.oci.reset_counters()
        c = self.oci.client()
        for _ in range(30):
            c.get(f"/20160918/tenancies/{self.tid}")
        big = search_body("query instance resources where " +
                          " || ".join(f"compartmentId = '{x['id']}'" for x in self.dump["compartments"]))
        st, h, out = c.request("POST", SEARCH, body=big, headers={"Expect": "100-continue"})
        self.assertEqual(st, 200)
        self.assertEqual(self.oci.counters()["connections_opened"], 1)
        c.close()

    def test_malformed_http(self):
        for raw in (b"NONSENSE\r\n\r\n", b"GET / HTTP/1.1\r\nbad header\r\n\r\n",
                    b"POST /x HTTP/1.1\r\nContent-Length: zz\r\n\r\n",
                    b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                    b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", self.oci.port)) as s:
                s.sendall(raw)
                s.settimeout(10)
                data = s.recv(65536)
                self.assertRegex(data, rb"^HTTP/1.1 4(00|31) ")
        self.assertEqual(self.oci.counters()["internal_errors"], 0)

    # --- control API ------------------------------------------------------------------------------
    def test_control_mutations(self):
        o = self.oci
        c = o.client("us-ashburn-1")
        comp = o.add_compartment(name="incr", compartmentId=self.tid, description="new")
        self.assertEqual(comp["lifecycleState"], "ACTIVE")
        sub = o.add_compartment(name="incr-sub", compartmentId=comp["id"])
        inst = o.add_instance(compartmentId=sub["id"], displayName="fresh", region="us-ashburn-1",
                              lifecycleState="STOPPED", freeformTags={"env": "dev"})
        self.assertTrue(inst["id"].startswith("ocid1.instance.oc1.iad."))
        got = c.get("/20160918/instances", compartmentId=sub["id"])
        self.assertEqual([i["displayName"] for i in got], ["fresh"])
        hits = c.paginate(SEARCH, "POST", search_body(f"query instance resources where compartmentId = '{sub['id']}'"))
        self.assertEqual([h["identifier"] for h in hits], [inst["id"]])
        # rename, move, state change
        o.update_instance(inst["id"], displayName="renamed", compartmentId=comp["id"], lifecycleState="RUNNING")
        self.assertEqual(c.get("/20160918/instances", compartmentId=sub["id"]), [])
        moved = c.get("/20160918/instances", compartmentId=comp["id"])
        self.assertEqual([(i["displayName"], i["lifecycleState"]) for i in moved], [("renamed", "RUNNING")])
        o.update_compartment(sub["id"], name="sub-renamed", compartmentId=self.tid)
        self.assertEqual(c.get(f"/20160918/compartments/{sub['id']}")["name"], "sub-renamed")
        with self.assertRaises(fakeoci.FakeOciError):
            o.update_compartment(comp["id"], compartmentId=comp["id"])   # below itself
        with self.assertRaises(fakeoci.FakeOciError):
            o.remove_compartment(comp["id"])                              # not empty
        o.remove_instance(inst["id"])
        self.assertEqual(c.request("GET", f"/20160918/instances/{inst['id']}")[0], 404)
        o.remove_compartment(comp["id"])
        self.assertEqual(c.get(f"/20160918/compartments/{comp['id']}")["lifecycleState"], "DELETED")
        o.remove_compartment(sub["id"], purge=True)
        self.assertEqual(c.request("GET", f"/20160918/compartments/{sub['id']}")[0], 404)
        o.remove_compartment(comp["id"], purge=True)
        for bad in ({"compartmentId": "ocid1.compartment.oc1..none"}, {"region": "mars-1"}, {"lifecycleState": "X"}):
            with self.assertRaises(fakeoci.FakeOciError):
                o.add_instance(**bad)
        self.assertEqual(o.summary()["instances"], 600)
        c.close()


class ServerProcessTests(unittest.TestCase):
    def test_determinism_over_http(self):
        a = fakeoci.FakeOci(seed=99, compartments=15, instances=80, regions=["eu-frankfurt-1", "us-ashburn-1"]).start()
        b = fakeoci.FakeOci(seed=99, compartments=15, instances=80, regions=["eu-frankfurt-1", "us-ashburn-1"]).start()
        c = fakeoci.FakeOci(seed=100, compartments=15, instances=80, regions=["eu-frankfurt-1", "us-ashburn-1"]).start()
        try:
            da, db, dc = a.dump(), b.dump(), c.dump()
            self.assertEqual(da, db)
            self.assertNotEqual(da["tenancy"]["id"], dc["tenancy"]["id"])
            self.assertEqual(da["tenancy"]["homeRegionKey"], "FRA")
            # The same tenancy through the API of both servers.
            for srv, d in ((a, da), (b, db)):
                cl = srv.client("us-ashburn-1")
                items = cl.paginate(SEARCH, "POST", search_body("query instance resources"))
                self.assertEqual(sorted(i["identifier"] for i in items),
                                 sorted(i["id"] for i in d["instances"] if i["region"] == "us-ashburn-1"))
                cl.close()
        finally:
            for s in (a, b, c):
                s.stop()

    def test_fixture_load_and_generate(self):
        with fakeoci.FakeOci(compartments=2, instances=2) as o:
            fx = {"tenancy": {"id": "ocid1.tenancy.oc1..aaaaaaaafixture", "name": "fx"},
                  "regions": [{"regionName": "ap-tokyo-1"}, {"regionName": "ap-osaka-1", "status": "IN_PROGRESS"}],
                  "compartments": [{"id": "ocid1.compartment.oc1..aaaaaaaaone", "name": "one"}],
                  "instances": [{"id": "ocid1.instance.oc1.nrt.anone", "compartmentId": "ocid1.compartment.oc1..aaaaaaaaone",
                                 "region": "ap-tokyo-1", "displayName": "tokyo-vm"}]}
            o.load(fx)
            c = o.client()
            self.assertEqual(c.get("/20160918/tenancies/ocid1.tenancy.oc1..aaaaaaaafixture")["homeRegionKey"], "NRT")
            subs = c.get("/20160918/tenancies/ocid1.tenancy.oc1..aaaaaaaafixture/regionSubscriptions")
            self.assertEqual([(s["regionName"], s["status"]) for s in subs],
                             [("ap-tokyo-1", "READY"), ("ap-osaka-1", "IN_PROGRESS")])
            got = c.get("/20160918/instances", compartmentId="ocid1.compartment.oc1..aaaaaaaaone")
            self.assertEqual([(i["displayName"], i["region"]) for i in got], [("tokyo-vm", "ap-tokyo-1")])
            c.close()
            with self.assertRaises(fakeoci.FakeOciError):
                o.load({"tenancy": {"id": "bad"}})
            o.generate(seed=4, compartments=7, instances=30)
            c = o.client()
            comps = c.paginate("/20160918/compartments", compartmentId=o.tenancy_id, compartmentIdInSubtree="true")
            self.assertEqual(len(comps), 7)
            c.close()

    def test_fixture_file_and_bad_cli(self):
        with fakeoci.FakeOci(seed=8, compartments=5, instances=20) as o:
            d = o.dump()
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"fx-{os.getpid()}.json")
        with open(path, "w") as f:
            json.dump(d, f)
        try:
            with fakeoci.FakeOci(fixture=path) as o2:
                d2 = o2.dump()
                d["counts"].pop("version"), d2["counts"].pop("version")
                self.assertEqual(d, d2)
        finally:
            os.unlink(path)
        for args in (["--regions", "mars-1"], ["--fixture", "/nonexistent.json"], ["--state-mix", "X=1"],
                     ["--fault", "Nope"]):
            with self.assertRaises(fakeoci.FakeOciError, msg=args) as cm:
                fakeoci.FakeOci(args=args).start()
            self.assertIn("exited with 2", str(cm.exception))

    def test_oci_config_keys_tenancy_ocid_and_dump(self):
        tid = "ocid1.tenancy.oc1..aaaaaaaaexplicittenancy"
        with fakeoci.FakeOci(compartments=2, instances=3) as o:
            kdir = os.path.join(o.dir, "cfgkey")
            k = ocikeys.generate_key(kdir, fmt="pkcs1", passphrase="secret")
            cfg = ocikeys.write_oci_config(os.path.join(kdir, "config"), k, tid, "us-phoenix-1", profile="P")
            with fakeoci.FakeOci(compartments=2, instances=3,
                                 args=["--tenancy-ocid", tid, "--oci-config", cfg + ":P"]) as o2:
                self.assertEqual(o2.tenancy_id, tid)
                self.assertIn(k.key_id(tid), o2.info["keys"])
                c = ocisign.OciClient(o2.endpoint(), ocisign.Signer.from_config(cfg, "P"))
                self.assertEqual(c.get(f"/20160918/tenancies/{tid}")["id"], tid)
                c.close()
        out = subprocess.run([fakeoci.PYTHON, fakeoci.SERVER, "--dump", "--seed", "3", "--compartments", "4",
                              "--instances", "6"], capture_output=True, check=True).stdout
        d = json.loads(out)
        self.assertEqual((len(d["compartments"]), len(d["instances"])), (4, 6))

    def test_shell_start_stop(self):
        d = tempfile.mkdtemp(prefix="fakeoci-cli.")
        helper = os.path.join(HERE, "..", "lib", "fakeoci.py")
        try:
            out = subprocess.run([fakeoci.PYTHON, helper, "start", d, "--compartments", "3", "--instances", "5"],
                                 capture_output=True, text=True, check=True, timeout=60).stdout
            env = dict(line[len("export "):].split("=", 1) for line in out.splitlines())
            env = {k: v.strip("'") for k, v in env.items()}
            signer = ocisign.Signer.from_config(env["FAKE_OCI_CONFIG"])
            c = ocisign.OciClient(env["FAKE_OCI_URL"] + "/" + env["FAKE_OCI_HOME_REGION"], signer)
            self.assertEqual(c.get(f"/20160918/tenancies/{env['FAKE_OCI_TENANCY']}")["id"], env["FAKE_OCI_TENANCY"])
            c.close()
            self.assertEqual(os.stat(env["FAKE_OCI_CONFIG"]).st_mode & 0o777, 0o600)
            subprocess.run([fakeoci.PYTHON, helper, "stop", d], check=True, timeout=30)
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", int(env["FAKE_OCI_PORT"])), timeout=2).close()
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_sigterm_clean_shutdown(self):
        o = fakeoci.FakeOci(compartments=3, instances=10).start()
        port = o.port
        c = o.client()
        c.get(f"/20160918/tenancies/{o.tenancy_id}")     # an idle keep-alive connection stays open
        self.assertEqual(o.stop(), 0)
        c.close()
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


if __name__ == "__main__":
    unittest.main(verbosity=2)

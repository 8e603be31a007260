#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fault injection of the fake OCI server: latency (without serialising requests), jitter,
429 by rate and token bucket, 5xx, dropped connections (FIN and RST), lost action responses,
hangs, per-operation overrides, one-shot faults, CLI flags, and counters."""
import concurrent.futures
import http.client
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import fakeoci  # noqa: E402


class FaultTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.oci = fakeoci.FakeOci(seed=31, compartments=10, instances=300, state_mix="RUNNING=1",
                                  args=["--fault-seed", "7", "--stop-delay", "0.2"]).start()
        cls.tid = cls.oci.tenancy_id
        cls.ids = [i["id"] for i in cls.oci.dump()["instances"] if i["region"] == cls.oci.home_region]
        cls.path = f"/20160918/tenancies/{cls.tid}"

    @classmethod
    def tearDownClass(cls):
        cls.oci.stop()

    def setUp(self):
        self.oci.clear_faults()
        self.oci.reset_counters()
        self.c = self.oci.client()

    def tearDown(self):
        self.c.close()
        self.oci.clear_faults()

    def timed(self, fn):
        t0 = time.monotonic()
        r = fn()
        return r, time.monotonic() - t0

    def test_latency_does_not_serialise(self):
        self.oci.set_faults(latency_ms=300)
        r, dt = self.timed(lambda: self.c.request("GET", self.path))
        self.assertEqual(r[0], 200)
        self.assertGreaterEqual(dt, 0.3)

        def one(_):
            c = self.oci.client()
            try:
                return c.request("GET", self.path)[0]
            finally:
                c.close()
        self.oci.reset_counters()
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            (codes, dt) = self.timed(lambda: list(ex.map(one, range(16))))
        self.assertEqual(codes, [200] * 16)
        self.assertLess(dt, 0.3 * 4, "16 requests with 300 ms latency must overlap")
        self.assertEqual(self.oci.counters()["max_in_flight"], 16)

    def test_jitter(self):
        self.oci.set_faults(latency_ms=50, jitter_ms=100)
        times = [self.timed(lambda: self.c.request("GET", self.path))[1] for _ in range(12)]
        self.assertGreaterEqual(min(times), 0.05)
        self.assertGreater(max(times) - min(times), 0.02)

    def test_429_rate(self):
        self.oci.set_faults(rate_429=1.0, retry_after=2)
        st, h, body = self.c.request("GET", self.path)
        self.assertEqual((st, body["code"], h.get("retry-after")), (429, "TooManyRequests", "2"))
        self.assertTrue(h["opc-request-id"])
        self.oci.set_faults(rate_429=0.3, retry_after=None)
        codes = [self.c.request("GET", self.path)[0] for _ in range(300)]
        n = codes.count(429)
        self.assertTrue(45 <= n <= 135, n)
        self.assertEqual(n + codes.count(200), 300)
        self.assertEqual(self.oci.counters()["requests"]["GetTenancy"]["429"], n + 1)

    def test_token_bucket(self):
        self.oci.set_faults(bucket_rps=10, bucket_burst=5)
        codes = [self.c.request("GET", self.path)[0] for _ in range(8)]
        self.assertEqual(codes[:5], [200] * 5)
        self.assertIn(429, codes[5:])
        t0 = time.monotonic()
        ok = 0
        while time.monotonic() - t0 < 1.0:
            ok += self.c.request("GET", self.path)[0] == 200
        self.assertTrue(7 <= ok <= 17, ok)   # ~10/s refill plus what was left in the bucket

    def test_5xx(self):
        self.oci.set_faults(rate_5xx=1.0, codes_5xx=[503], retry_after=1)
        st, h, body = self.c.request("GET", self.path)
        self.assertEqual((st, body["code"], h.get("retry-after")), (503, "ServiceUnavailable", "1"))
        self.oci.set_faults(codes_5xx=[500, 502])
        seen = {self.c.request("GET", self.path)[0] for _ in range(40)}
        self.assertEqual(seen, {500, 502})
        self.oci.set_faults(rate_5xx=0.2, codes_5xx=[500])
        codes = [self.c.request("GET", self.path)[0] for _ in range(300)]
        self.assertTrue(25 <= codes.count(500) <= 95, codes.count(500))

    def test_drop(self):
        self.oci.set_faults(rate_drop=1.0)
        with self.assertRaises(http.client.RemoteDisconnected):
            self.c.request("GET", self.path)
        self.oci.set_faults(drop_reset=True)
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected)) as cm:
            self.c.request("GET", self.path)
        self.assertIsInstance(cm.exception, ConnectionResetError)
        self.oci.clear_faults()
        self.assertEqual(self.c.request("GET", self.path)[0], 200)
        self.assertEqual(self.oci.counters()["requests"]["GetTenancy"], {"dropped": 2, "200": 1})

    def test_lost_action_response(self):
        iid = self.ids[0]
        self.oci.set_faults(operations={"InstanceAction": {"rate_lost": 1.0}})
        self.assertEqual(self.c.request("GET", f"/20160918/instances/{iid}")[0], 200)  # other ops unaffected
        with self.assertRaises(http.client.RemoteDisconnected):
            self.c.request("POST", f"/20160918/instances/{iid}", {"action": "STOP"},
                           headers={"opc-retry-token": "lost-1"})
        # The action happened even though the answer was lost.
        self.assertEqual(self.c.get(f"/20160918/instances/{iid}")["lifecycleState"], "STOPPING")
        self.oci.clear_faults()
        st, h, body = self.c.request("POST", f"/20160918/instances/{iid}", {"action": "STOP"},
                                     headers={"opc-retry-token": "lost-1"})
        self.assertEqual((st, body["lifecycleState"]), (200, "STOPPING"))
        c = self.oci.counters()
        self.assertEqual(c["actions"][iid], {"STOP": 1})
        self.assertEqual(c["action_replays"][iid], {"STOP": 1})
        self.assertEqual(c["requests"]["InstanceAction"], {"lost": 1, "200": 1})

    def test_hang(self):
        self.oci.set_faults(rate_hang=1.0, hang_ms=400)
        t0 = time.monotonic()
        with self.assertRaises(http.client.RemoteDisconnected):
            self.c.request("GET", self.path)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        # ...and a client timeout shorter than the hang sees a timeout.
        self.c.timeout = 0.1
        self.c.close()
        with self.assertRaises(TimeoutError):
            self.c.request("GET", self.path)

    def test_per_operation_override_and_once(self):
        self.oci.set_faults(rate_429=1.0, operations={"GetTenancy": {"rate_429": 0.0}})
        self.assertEqual(self.c.request("GET", self.path)[0], 200)
        self.assertEqual(self.c.request("GET", "/20160918/instances", {"compartmentId": self.tid})[0], 429)
        self.oci.clear_faults()
        self.oci.set_faults(once=[{"operation": "GetInstance", "fault": "503", "count": 2},
                                  {"operation": "*", "fault": "429"}])
        path = f"/20160918/instances/{self.ids[1]}"
        self.assertEqual(self.c.request("GET", self.path)[0], 429)   # the "*" entry
        self.assertEqual([self.c.request("GET", path)[0] for _ in range(3)], [503, 503, 200])
        self.assertEqual(self.c.request("GET", self.path)[0], 200)
        self.assertEqual(self.oci.faults()["once"], [])
        self.oci.set_faults(once=[{"operation": "GetTenancy", "fault": "lost"}])
        with self.assertRaises(http.client.RemoteDisconnected):
            self.c.request("GET", self.path)

    def test_empty_pages(self):
        """OCI may answer an empty page that still carries opc-next-page (oci-api.md 4.6)."""
        every = self.c.paginate("/20160918/compartments", compartmentId=self.tid, compartmentIdInSubtree="true",
                                limit=3)
        pages = self.c.last_pages
        self.oci.set_faults(once=[{"operation": "ListCompartments", "fault": "empty_page", "count": 2}])
        st, h, body = self.c.request("GET", "/20160918/compartments", {"compartmentId": self.tid,
                                                                       "compartmentIdInSubtree": "true", "limit": 3})
        self.assertEqual((st, body), (200, []))
        self.assertTrue(h["opc-next-page"])
        got = self.c.paginate("/20160918/compartments", compartmentId=self.tid, compartmentIdInSubtree="true", limit=3)
        self.assertEqual(got, every)
        self.assertEqual(self.c.last_pages, pages + 1)
        self.oci.set_faults(rate_empty_page=0.5)
        items = self.c.paginate("/20180409/resources", "POST", {"type": "Structured",
                                                                "query": "query instance resources"}, limit=50)
        self.assertEqual(sorted(i["identifier"] for i in items), sorted(self.ids))
        self.assertGreater(self.c.last_pages, len(self.ids) // 50 + 1)

    def test_control_api_is_never_faulted(self):
        self.oci.set_faults(rate_drop=1.0, latency_ms=2000)
        t0 = time.monotonic()
        for _ in range(5):
            self.oci.counters()
        self.assertLess(time.monotonic() - t0, 1.5)

    def test_bad_fault_config(self):
        for spec in ({"rate_429": 2}, {"nonsense": 1}, {"operations": {"Nope": {}}},
                     {"codes_5xx": [404]}, {"once": [{"fault": "boom"}]}, {"latency_ms": -1}):
            with self.subTest(spec):
                with self.assertRaises(fakeoci.FakeOciError):
                    self.oci.set_faults(**spec)
        self.assertEqual(self.oci.faults()["default"]["rate_429"], 0.0)


class CliFaultTests(unittest.TestCase):
    def test_flags(self):
        with fakeoci.FakeOci(compartments=2, instances=5,
                             args=["--rate-429", "1", "--fault", "GetTenancy:rate_429=0,latency_ms=200",
                                   "--latency", "10"]) as o:
            c = o.client()
            t0 = time.monotonic()
            self.assertEqual(c.request("GET", f"/20160918/tenancies/{o.tenancy_id}")[0], 200)
            self.assertGreaterEqual(time.monotonic() - t0, 0.2)
            self.assertEqual(c.request("GET", "/20160918/compartments", {"compartmentId": o.tenancy_id})[0], 429)
            f = o.faults()
            self.assertEqual(f["default"]["latency_ms"], 10)
            self.assertEqual(f["operations"], {"GetTenancy": {"rate_429": 0.0, "latency_ms": 200.0}})
            c.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""InstanceAction through the fake OCI server: lifecycle transitions with delays, 409s, hung
SOFTSTOP and the STOP fallback, opc-retry-token exactly-once, if-match."""
import concurrent.futures
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import fakeoci  # noqa: E402

DELAY = 0.4


class ActionTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.oci = fakeoci.FakeOci(seed=21, compartments=5, instances=200, regions=["us-phoenix-1", "us-ashburn-1"],
                                  state_mix="RUNNING=1,STOPPED=1,TERMINATED=1",
                                  args=["--start-delay", str(DELAY), "--stop-delay", str(DELAY),
                                        "--softstop-delay", str(DELAY), "--reset-delay", str(DELAY),
                                        "--softreset-delay", str(DELAY)]).start()
        cls.c = cls.oci.client()
        cls.pool = {}
        for i in cls.oci.dump()["instances"]:
            if i["region"] == "us-phoenix-1":
                cls.pool.setdefault(i["lifecycleState"], []).append(i["id"])

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.oci.stop()

    def take(self, state):
        return self.pool[state].pop()

    def act(self, iid, action, token=None, headers=None, body=None):
        h = dict(headers or {})
        if token:
            h["opc-retry-token"] = token
        return self.c.request("POST", f"/20160918/instances/{iid}", {"action": action}, body=body, headers=h)

    def state(self, iid):
        return self.c.get(f"/20160918/instances/{iid}")["lifecycleState"]

    def wait_state(self, iid, want, timeout=5.0):
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.state(iid)
            if not seen or seen[-1] != s:
                seen.append(s)
            if s == want:
                return seen
            time.sleep(0.02)
        self.fail(f"{iid} never reached {want}: {seen}")

    def test_start_stop_transitions(self):
        iid = self.take("STOPPED")
        t0 = time.monotonic()
        st, h, body = self.act(iid, "START")
        self.assertEqual((st, body["lifecycleState"], body["id"]), (200, "STARTING", iid))
        self.assertTrue(h["etag"] and h["opc-request-id"])
        self.assertEqual(self.wait_state(iid, "RUNNING"), ["STARTING", "RUNNING"])
        self.assertGreaterEqual(time.monotonic() - t0, DELAY)
        st, h, body = self.act(iid, "STOP")
        self.assertEqual((st, body["lifecycleState"]), (200, "STOPPING"))
        self.assertEqual(self.wait_state(iid, "STOPPED"), ["STOPPING", "STOPPED"])
        st, h, body = self.act(iid, "START")
        self.wait_state(iid, "RUNNING")
        st, h, body = self.act(iid, "SOFTSTOP")
        self.assertEqual((st, body["lifecycleState"]), (200, "STOPPING"))
        self.wait_state(iid, "STOPPED")
        counts = self.oci.counters()["actions"][iid]
        self.assertEqual(counts, {"START": 2, "STOP": 1, "SOFTSTOP": 1})

    def test_reset_goes_through_stopping_and_starting(self):
        iid = self.take("RUNNING")
        for action in ("RESET", "SOFTRESET"):
            st, h, body = self.act(iid, action)
            self.assertEqual((st, body["lifecycleState"]), (200, "STOPPING"))
            self.assertEqual(self.wait_state(iid, "RUNNING"), ["STOPPING", "STARTING", "RUNNING"])

    def test_incorrect_state(self):
        running, stopped, gone = self.take("RUNNING"), self.take("STOPPED"), self.take("TERMINATED")
        cases = [(running, "START"), (stopped, "STOP"), (stopped, "SOFTSTOP"), (stopped, "RESET"),
                 (stopped, "SOFTRESET")] + [(gone, a) for a in ("START", "STOP", "SOFTSTOP", "RESET", "SOFTRESET")]
        for iid, action in cases:
            st, h, body = self.act(iid, action)
            self.assertEqual((st, body["code"]), (409, "IncorrectState"), (iid, action))
            self.assertTrue(h["opc-request-id"])
        st, h, body = self.act(stopped, "START")
        self.assertEqual(st, 200)
        st, h, body = self.act(stopped, "START")       # STARTING: not again
        self.assertEqual((st, body["code"]), (409, "IncorrectState"))
        self.assertNotIn(gone, self.oci.counters()["actions"])

    def test_bad_requests(self):
        iid = self.take("RUNNING")
        for q, st, code in (({"action": "EXPLODE"}, 400, "InvalidParameter"), ({}, 400, "MissingParameter")):
            s, h, body = self.c.request("POST", f"/20160918/instances/{iid}", q)
            self.assertEqual((s, body["code"]), (st, code))
        s, h, body = self.act(iid + "x", "STOP")
        self.assertEqual((s, body["code"]), (404, "NotAuthorizedOrNotFound"))
        other = self.oci.client("us-ashburn-1")
        s, h, body = other.request("POST", f"/20160918/instances/{iid}", {"action": "STOP"})
        self.assertEqual((s, body["code"]), (404, "NotAuthorizedOrNotFound"))
        other.close()
        s, h, body = self.act(iid, "STOP", body=b"{nope")
        self.assertEqual((s, body["code"]), (400, "CannotParseRequest"))
        s, h, body = self.act(iid, "STOP", token="x" * 65)
        self.assertEqual((s, body["code"]), (400, "InvalidParameter"))
        self.assertEqual(self.state(iid), "RUNNING")
        s, h, body = self.act(iid, "RESET", body={"actionType": "reset", "allowDenseRebootMigration": False})
        self.assertEqual(s, 200)

    def test_hung_softstop_and_stop_fallback(self):
        iid = self.take("RUNNING")
        self.oci.set_lifecycle(hang_softstop=[iid])
        try:
            st, h, body = self.act(iid, "SOFTSTOP")
            self.assertEqual((st, body["lifecycleState"]), (200, "STOPPING"))
            time.sleep(DELAY * 3)
            self.assertEqual(self.state(iid), "STOPPING")
            st, h, body = self.act(iid, "STOP")
            self.assertEqual((st, body["lifecycleState"]), (200, "STOPPING"))
            self.wait_state(iid, "STOPPED")
        finally:
            self.oci.set_lifecycle(hang_softstop=[])

    def test_retry_token_exactly_once(self):
        iid = self.take("RUNNING")
        before = self.oci.counters()
        st1, h1, b1 = self.act(iid, "STOP", token="tok-stop-1")
        self.assertEqual((st1, b1["lifecycleState"]), (200, "STOPPING"))
        self.wait_state(iid, "STOPPED")
        st2, h2, b2 = self.act(iid, "STOP", token="tok-stop-1")   # the same answer, no new action
        self.assertEqual((st2, b2), (st1, b1))
        self.assertEqual(h2["etag"], h1["etag"])
        self.assertNotEqual(h2["opc-request-id"], h1["opc-request-id"])
        st3, h3, b3 = self.act(iid, "STOP")                        # without the token: a new request
        self.assertEqual((st3, b3["code"]), (409, "IncorrectState"))
        st, h, b = self.act(iid, "START", token="tok-stop-1")      # same token, other request
        self.assertEqual((st, b["code"]), (409, "InvalidatedRetryToken"))
        after = self.oci.counters()
        self.assertEqual(after["actions"][iid], {"STOP": 1})
        self.assertEqual(after["action_replays"][iid], {"STOP": 1})
        self.assertEqual(after["actions_total"] - before["actions_total"], 1)

    def test_conflict_is_not_remembered(self):
        """A 409 is not bound to the token: after backing off, the same token can act."""
        iid = self.take("STOPPED")
        st, h, b = self.act(iid, "STOP", token="tok-late")
        self.assertEqual(st, 409)
        self.act(iid, "START")
        self.wait_state(iid, "RUNNING")
        st, h, b = self.act(iid, "STOP", token="tok-late")
        self.assertEqual((st, b["lifecycleState"]), (200, "STOPPING"))

    def test_concurrent_same_token(self):
        iid = self.take("STOPPED")
        self.oci.set_faults(latency_ms=150)
        try:
            def go(_):
                c = self.oci.client()
                try:
                    return c.request("POST", f"/20160918/instances/{iid}", {"action": "START"},
                                     headers={"opc-retry-token": "tok-race"})
                finally:
                    c.close()
            with concurrent.futures.ThreadPoolExecutor(8) as ex:
                results = list(ex.map(go, range(8)))
        finally:
            self.oci.clear_faults()
        self.assertEqual({r[0] for r in results}, {200})
        self.assertEqual(len({json_key(r[2]) for r in results}), 1)
        c = self.oci.counters()
        self.assertEqual(c["actions"][iid], {"START": 1})
        self.assertEqual(c["action_replays"][iid], {"START": 7})

    def test_if_match(self):
        iid = self.take("RUNNING")
        inst, h = self.c.call("GET", f"/20160918/instances/{iid}")
        st, _, body = self.act(iid, "STOP", headers={"if-match": "stale"})
        self.assertEqual((st, body["code"]), (412, "NoEtagMatch"))
        st, _, body = self.act(iid, "STOP", headers={"if-match": h["etag"]})
        self.assertEqual(st, 200)


def json_key(d):
    return tuple(sorted((k, str(v)) for k, v in d.items()))


if __name__ == "__main__":
    unittest.main(verbosity=2)

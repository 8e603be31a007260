#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The C OCI client (oci/oci-client.h, oci/curl-glue.h) against the fake OCI server, which
verifies signatures like OCI, and against canned_server.py for malformed answers and TLS.
Each test runs tests/integration/oci-client-driver (a small C program on sd-event) and checks
its JSON output against the server's counters.

    /usr/bin/python3 tests/integration/test_oci_client.py [-v] [TestClass.test_name]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("STOPSTART_SOURCE_ROOT", os.path.normpath(os.path.join(HERE, "..", "..")))
BUILD_ROOT = os.environ.get("STOPSTART_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "lib"))

import fakeoci  # noqa: E402
import ocikeys  # noqa: E402
import sanitizers  # noqa: E402

DRIVER = os.path.join(BUILD_ROOT, "tests", "integration", "oci-client-driver")
CANNED = os.path.join(HERE, "canned_server.py")
REGIONS = ["us-phoenix-1", "us-ashburn-1"]


def write_config(path, endpoint, oci_config, regions=REGIONS, oci=None, discovery=None):
    oci = dict({"connect_timeout": "5s", "request_timeout": "20s", "max_attempts": 8, "retry_max_time": "60s",
                "retry_base_delay": "20ms", "retry_max_delay": "200ms"}, **(oci or {}))
    discovery = dict({"max_in_flight": 8}, **(discovery or {}))
    lines = ["database: \"dbname=unused\"", "oci:", f"  config_file: {oci_config}", f"  endpoint: \"{endpoint}\"",
             f"  regions: [{', '.join(regions)}]"]
    lines += [f"  {k}: {v}" for k, v in oci.items()]
    lines += ["discovery:"] + [f"  {k}: {v}" for k, v in discovery.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def run_driver(config, *args, timeout=180, check=True):
    p = sanitizers.run(f"oci-client-driver {' '.join(args)}", [DRIVER, "--config", config, *args], timeout=timeout)
    if p.returncode != 0:
        if check:
            raise AssertionError(f"driver {args} failed ({p.returncode}): {p.stderr}")
        return p
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"driver {args}: not JSON: {p.stdout!r} {p.stderr}")


class FakeOciCase(unittest.TestCase):
    """One fake server for the class, faults cleared and counters reset before each test."""
    server_args = {}

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="test-oci-client.")
        kw = dict(compartments=30, depth=3, instances=300, regions=REGIONS,
                  args=["--start-delay", "0.3", "--stop-delay", "0.3", "--softstop-delay", "0.3"])
        kw.update(cls.server_args)
        cls.oci = fakeoci.FakeOci(**kw).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.oci.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, f"fake OCI server exit status {rc}"

    def setUp(self):
        self.oci.clear_faults()
        self.oci.reset_counters()
        self.config = self.make_config()

    def tearDown(self):
        self.assertEqual(self.oci.counters()["internal_errors"], 0, "the fake server hit a bug")

    def make_config(self, name="stopstartd.yaml", **kw):
        return write_config(os.path.join(self.tmp, name), f"{self.oci.url}/{{region}}", self.oci.config_file, **kw)

    def assert_ok(self, out):
        self.assertTrue(out["ok"], json.dumps(out.get("error"), indent=1))
        return out

    def region_instances(self):
        s = self.oci.summary()
        return {r: sum(st.values()) for r, st in s["instancesByRegionAndState"].items()}


class TestCalls(FakeOciCase):
    def test_signing_accepted_every_call(self):
        t = self.assert_ok(run_driver(self.config, "tenancy"))
        self.assertEqual(t["id"], self.oci.tenancy_id)
        self.assertEqual(t["home_region_key"], "PHX")
        r = self.assert_ok(run_driver(self.config, "regions"))
        self.assertEqual([x["region"] for x in r["regions"]], REGIONS)
        self.assertTrue(r["regions"][0]["home"])

        dump = self.oci.dump()
        comp = dump["compartments"][3]
        c = self.assert_ok(run_driver(self.config, "compartment", comp["id"]))
        self.assertEqual(c["name"], comp["name"])
        inst = next(i for i in dump["instances"] if i["region"] in ("phx", "us-phoenix-1"))
        i = self.assert_ok(run_driver(self.config, "instance", inst["id"]))
        self.assertEqual(i["lifecycle_state"], inst["lifecycleState"])
        self.assertTrue(i["etag"])

        cnt = self.oci.counters()
        self.assertEqual(cnt["auth_failures"], {})
        self.assertEqual(set(cnt["by_status"]), {"200"})

    def test_pagination(self):
        n = self.oci.summary()["compartments"]
        out = self.assert_ok(run_driver(self.config, "compartments", "--limit", "7"))
        self.assertEqual(out["count"], n)
        self.assertEqual(out["pages"], -(-n // 7))
        # empty pages that point at the same place again: keep going (oci-api.md §4.6)
        self.oci.set_faults(once=[{"operation": "ListCompartments", "fault": "empty_page", "count": 3}])
        out = self.assert_ok(run_driver(self.config, "compartments", "--limit", "7"))
        self.assertEqual(out["count"], n)
        self.assertEqual(out["pages"], -(-n // 7) + 3)
        one = self.assert_ok(run_driver(self.config, "compartments", "--limit", "7", "--one-page"))
        self.assertEqual(one["count"], 7)
        self.assertTrue(one["next_page"])

    def test_walk_counts(self):
        out = self.assert_ok(run_driver(self.config, "walk", "--limit", "10"))
        self.assertEqual(out["compartments"], self.oci.summary()["compartments"])
        self.assertEqual(out["count"], sum(self.region_instances().values()))
        self.assertEqual(out["stats"]["failures"], 0)
        self.assertEqual(out["stats"]["retries"], 0)
        # every HTTP request the client sent is one the server answered
        self.assertEqual(out["stats"]["attempts"], self.oci.counters()["total"])

    def test_search_split_matches(self):
        want = self.region_instances()["us-phoenix-1"]
        one = self.assert_ok(run_driver(self.config, "search", "query instance resources", "--limit", "20"))
        four = self.assert_ok(run_driver(self.config, "search", "query instance resources", "--limit", "20",
                                         "--split", "4"))
        self.assertEqual(one["count"], want)
        self.assertEqual(sorted(four["ids"]), sorted(one["ids"]))
        self.assertEqual(len(set(four["ids"])), want)

    def test_in_flight_limit_and_connection_reuse(self):
        self.oci.set_faults(latency_ms=30)
        cfg = self.make_config("limit4.yaml", discovery={"max_in_flight": 4})
        out = self.assert_ok(run_driver(cfg, "walk", "--limit", "10"))
        cnt = self.oci.counters()
        self.assertLessEqual(cnt["max_in_flight"], 4)
        self.assertEqual(out["stats"]["max_in_flight"], 4)
        # many requests over few kept-alive connections
        self.assertGreater(cnt["total"], 60)
        self.assertLessEqual(cnt["connections_opened"], 8)

    def test_rate_limit(self):
        cfg = self.make_config("rate.yaml", discovery={"max_in_flight": 16, "rate_limit": 20})
        t0 = time.monotonic()
        out = self.assert_ok(run_driver(cfg, "compartments", "--limit", "1"))
        elapsed = time.monotonic() - t0
        n = out["stats"]["attempts"]
        self.assertGreater(n, 25)
        # burst of 20, then 20/s on the single identity endpoint
        self.assertGreater(elapsed, (n - 20) / 20 * 0.9)


class TestErrors(FakeOciCase):
    def test_wrong_key_is_401(self):
        key = ocikeys.generate_key(os.path.join(self.tmp, "other"))
        conf = ocikeys.write_oci_config(os.path.join(self.tmp, "other", "config"), key, self.oci.tenancy_id,
                                        "us-phoenix-1")
        cfg = write_config(os.path.join(self.tmp, "wrongkey.yaml"), f"{self.oci.url}/{{region}}", conf)
        out = run_driver(cfg, "tenancy")
        self.assertFalse(out["ok"])
        e = out["error"]
        self.assertEqual(e["kind"], "not-authenticated")
        self.assertEqual(e["status"], 401)
        self.assertEqual(e["code"], "NotAuthenticated")
        self.assertEqual(e["attempts"], 1)  # never retried
        self.assertTrue(e["request_id"])
        self.assertIn("GetTenancy: HTTP 401 NotAuthenticated: ", e["text"])
        self.assertIn("check user, tenancy, fingerprint and key_file", e["text"])
        self.assertIn(f"opc-request-id: {e['request_id']}", e["text"])
        self.assertEqual(self.oci.counters()["auth_failures"], {"unknown-key": 1})

    def test_not_found(self):
        out = run_driver(self.config, "instance", "ocid1.instance.oc1.phx.doesnotexist")
        e = out["error"]
        self.assertEqual((e["kind"], e["status"], e["code"], e["attempts"]),
                         ("not-found", 404, "NotAuthorizedOrNotFound", 1))
        self.assertTrue(e["request_id"].startswith("stopstart-"), e["request_id"])

    def test_clock_skew_is_401(self):
        self.oci.config(auth={"clock_offset": 600})
        try:
            out = run_driver(self.config, "tenancy")
        finally:
            self.oci.config(auth={"clock_offset": 0})
        self.assertEqual(out["error"]["kind"], "not-authenticated")
        self.assertEqual(self.oci.counters()["auth_failures"], {"clock-skew": 1})

    def test_retries_exhausted(self):
        self.oci.set_faults(operations={"GetTenancy": {"rate_5xx": 1.0, "codes_5xx": [503]}})
        cfg = self.make_config("three.yaml", oci={"max_attempts": 3})
        out = run_driver(cfg, "tenancy")
        e = out["error"]
        self.assertEqual((e["kind"], e["status"], e["attempts"]), ("server", 503, 3))
        self.assertEqual(self.oci.counters()["requests"]["GetTenancy"], {"503": 3})
        self.assertIn("attempts: 3", e["text"])

    def test_throttled_exhausted(self):
        self.oci.set_faults(operations={"GetTenancy": {"rate_429": 1.0}})
        cfg = self.make_config("two.yaml", oci={"max_attempts": 2})
        e = run_driver(cfg, "tenancy")["error"]
        self.assertEqual((e["kind"], e["status"], e["code"], e["attempts"]), ("throttled", 429, "TooManyRequests", 2))

    def test_retry_max_time(self):
        self.oci.set_faults(operations={"GetTenancy": {"rate_5xx": 1.0}})
        cfg = self.make_config("time.yaml", oci={"max_attempts": 100, "retry_max_time": "1s",
                                                   "retry_base_delay": "100ms", "retry_max_delay": "100ms"})
        t0 = time.monotonic()
        e = run_driver(cfg, "tenancy")["error"]
        self.assertEqual(e["kind"], "server")
        self.assertLess(time.monotonic() - t0, 3)
        self.assertGreater(e["attempts"], 3)
        self.assertLess(e["attempts"], 40)

    def test_retry_after_honoured(self):
        self.oci.set_faults(retry_after=1, once=[{"operation": "GetTenancy", "fault": "429", "count": 1}])
        out = self.assert_ok(run_driver(self.config, "tenancy"))
        self.assertEqual(out["stats"]["attempts"], 2)
        # backoff alone is at most 200 ms here: the wait is Retry-After's
        self.assertGreaterEqual(out["elapsed_ms"], 950)

    def test_date_signed_per_attempt(self):
        # the server accepts dates at most 1 s off and makes the client wait 2 s before the
        # retry: a retry that reused the first attempt's Date would be refused (401)
        self.oci.config(auth={"max_skew": 1})
        try:
            self.oci.set_faults(retry_after=2, once=[{"operation": "GetTenancy", "fault": "503", "count": 1}])
            out = self.assert_ok(run_driver(self.config, "tenancy"))
        finally:
            self.oci.config(auth={"max_skew": 300})
        self.assertEqual(out["stats"]["attempts"], 2)
        self.assertGreaterEqual(out["elapsed_ms"], 1900)
        self.assertEqual(self.oci.counters()["auth_failures"], {})

    def test_endless_empty_pages(self):
        self.oci.set_faults(operations={"ListCompartments": {"rate_empty_page": 1.0}})
        e = run_driver(self.config, "compartments", "--limit", "5")["error"]
        self.assertEqual((e["kind"], e["operation"]), ("bad-response", "ListCompartments"))
        self.assertIn("too many empty pages in a row", e["message"])
        self.assertLess(self.oci.counters()["total"], 110)

    def test_post_without_token_not_retried(self):
        inst = next(i for i in self.oci.dump()["instances"]
                    if i["lifecycleState"] == "RUNNING" and i["region"] in ("phx", "us-phoenix-1"))
        self.oci.set_faults(once=[{"operation": "InstanceAction", "fault": "503", "count": 1}])
        out = run_driver(self.config, "post-no-token", f"/20160918/instances/{inst['id']}?action=STOP")
        self.assertEqual((out["error"]["kind"], out["error"]["attempts"]), ("server", 1))
        self.oci.set_faults(once=[{"operation": "InstanceAction", "fault": "drop", "count": 1}])
        out = run_driver(self.config, "post-no-token", f"/20160918/instances/{inst['id']}?action=STOP")
        self.assertEqual((out["error"]["kind"], out["error"]["attempts"]), ("transport", 1))
        self.assertEqual(self.oci.counters()["actions_total"], 0)

    def test_request_timeout(self):
        self.oci.set_faults(operations={"GetTenancy": {"latency_ms": 3000}})
        cfg = self.make_config("timeout.yaml", oci={"request_timeout": "300ms", "max_attempts": 2})
        e = run_driver(cfg, "tenancy")["error"]
        self.assertEqual((e["kind"], e["code"], e["attempts"], e["errno"]), ("transport", "Timeout", 2, -110))

    def test_connection_refused(self):
        cfg = write_config(os.path.join(self.tmp, "refused.yaml"), "http://127.0.0.1:1/{region}",
                           self.oci.config_file, oci={"max_attempts": 2})
        e = run_driver(cfg, "tenancy")["error"]
        self.assertEqual((e["kind"], e["code"], e["attempts"]), ("transport", "CouldNotConnect", 2))
        self.assertTrue(e["request_id"].startswith("stopstart-"), e["request_id"])  # the id we sent


class TestFaults(FakeOciCase):
    server_args = dict(compartments=60, instances=600)

    def test_walk_exact_under_faults(self):
        want_c = self.oci.summary()["compartments"]
        want_i = sum(self.region_instances().values())
        self.oci.set_faults(rate_429=0.2, rate_5xx=0.05, rate_drop=0.03, rate_empty_page=0.05)
        out = self.assert_ok(run_driver(self.config, "walk", "--limit", "10"))
        self.assertEqual(out["compartments"], want_c)
        self.assertEqual(out["count"], want_i)
        cnt = self.oci.counters()
        statuses = cnt["by_status"]
        self.assertGreater(statuses.get("429", 0), 10)
        self.assertGreater(sum(v for k, v in statuses.items() if k.startswith("5")), 0)
        dropped = sum(r.get("dropped", 0) for r in cnt["requests"].values())
        self.assertGreater(dropped, 0)
        self.assertGreater(out["stats"]["retries"], 10)
        self.assertEqual(out["stats"]["failures"], 0)

    def test_walk_with_resets_and_retry_after(self):
        want_i = sum(self.region_instances().values())
        self.oci.set_faults(rate_429=0.1, retry_after=0, rate_drop=0.05, drop_reset=True)
        out = self.assert_ok(run_driver(self.config, "walk", "--limit", "25"))
        self.assertEqual(out["count"], want_i)


class TestActions(FakeOciCase):
    def running(self, n, region="us-phoenix-1"):
        codes = (region, "phx") if region == "us-phoenix-1" else (region, "iad")
        ids = [i["id"] for i in self.oci.dump()["instances"]
               if i["lifecycleState"] == "RUNNING" and i["region"] in codes]
        self.assertGreaterEqual(len(ids), n)
        return ids[:n]

    def test_actions_exactly_once_under_lost_responses(self):
        ids = self.running(12)
        # every first answer is lost after the action was performed; drops before it, too
        self.oci.set_faults(operations={"InstanceAction": {"rate_lost": 0.5, "rate_drop": 0.1, "rate_5xx": 0.1}})
        out = self.assert_ok(run_driver(self.config, "actions", "STOP", *ids))
        self.assertEqual(sorted(out["states"]), sorted(ids))
        cnt = self.oci.counters()
        for i in ids:
            self.assertEqual(cnt["actions"].get(i), {"STOP": 1}, i)
        self.assertEqual(cnt["actions_total"], len(ids))
        lost = cnt["requests"]["InstanceAction"].get("lost", 0)
        self.assertGreater(lost, 0)
        self.assertGreater(sum(sum(v.values()) for v in cnt["action_replays"].values()), 0)

    def test_resubmitting_same_token_acts_once(self):
        (iid,) = self.running(1)
        a = self.assert_ok(run_driver(self.config, "action", iid, "SOFTSTOP", "--token", "sched-42-slot-7"))
        b = self.assert_ok(run_driver(self.config, "action", iid, "SOFTSTOP", "--token", "sched-42-slot-7"))
        self.assertEqual(a["states"][iid], "STOPPING")
        self.assertEqual(b["states"][iid], "STOPPING")
        cnt = self.oci.counters()
        self.assertEqual(cnt["actions"][iid], {"SOFTSTOP": 1})
        self.assertEqual(cnt["action_replays"][iid], {"SOFTSTOP": 1})

    def test_action_and_wait(self):
        (iid,) = self.running(1)
        self.assert_ok(run_driver(self.config, "action", iid, "STOP"))
        w = self.assert_ok(run_driver(self.config, "wait", iid, "STOPPED", "--poll", "100", "--timeout", "20"))
        self.assertEqual(w["lifecycle_state"], "STOPPED")
        self.assert_ok(run_driver(self.config, "action", iid, "START"))
        gets = lambda: sum(self.oci.counters()["requests"].get("GetInstance", {}).values())  # noqa: E731
        before = gets()
        w = self.assert_ok(run_driver(self.config, "wait", iid, "RUNNING", "--poll", "100", "--timeout", "20"))
        self.assertEqual(w["lifecycle_state"], "RUNNING")
        # it waited: STARTING first, then polled again (counted by the server, not by the clock,
        # which a slow start of the driver under ASan eats into)
        self.assertGreaterEqual(gets() - before, 2)

    def test_conflict(self):
        (iid,) = self.running(1)
        e = run_driver(self.config, "action", iid, "START")["error"]
        self.assertEqual((e["kind"], e["status"], e["code"]), ("conflict", 409, "IncorrectState"))

    def test_wait_timeout_and_unexpected_state(self):
        (iid,) = self.running(1)
        self.oci.set_lifecycle(hang_softstop=[iid])
        try:
            self.assert_ok(run_driver(self.config, "action", iid, "SOFTSTOP"))
            e = run_driver(self.config, "wait", iid, "STOPPED", "--poll", "100", "--timeout", "1")["error"]
            self.assertEqual(e["kind"], "timeout")
            self.assertIn("still STOPPING, not STOPPED, after 1s", e["message"])
        finally:
            self.oci.set_lifecycle(hang_softstop=[])
        self.oci.update_instance(iid, lifecycleState="TERMINATED")
        e = run_driver(self.config, "wait", iid, "RUNNING", "--poll", "100", "--timeout", "5")["error"]
        self.assertEqual(e["kind"], "unexpected-state")


class TestCanned(unittest.TestCase):
    """Bodies and transports the fake never produces."""

    @classmethod
    def start(cls, name, tls):
        ready = os.path.join(cls.tmp, f"{name}.json")
        args = ["/usr/bin/python3", CANNED, "--ready-file", ready]
        if tls:
            args += ["--tls-dir", os.path.join(cls.tmp, "tls")]
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not os.path.exists(ready):
            if p.poll() is not None or time.monotonic() > deadline:
                p.kill()
                raise RuntimeError("canned server did not start")
            time.sleep(0.02)
        with open(ready) as f:
            return p, json.load(f)["url"]

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="test-oci-canned.")
        cls.http, cls.http_url = cls.start("http", False)
        cls.https, cls.https_url = cls.start("https", True)
        key = ocikeys.generate_key(os.path.join(cls.tmp, "key"))
        cls.oci_config = ocikeys.write_oci_config(os.path.join(cls.tmp, "key", "config"), key,
                                                  "ocid1.tenancy.oc1..canned", "us-phoenix-1")

    @classmethod
    def tearDownClass(cls):
        for p in (cls.http, cls.https):
            p.terminate()
            p.wait(10)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def cfg(self, name, url, **oci):
        oci = dict({"max_attempts": 3}, **oci)
        return write_config(os.path.join(self.tmp, name), url, self.oci_config, oci=oci)

    def instance(self, cfg, seg):
        return run_driver(cfg, "--region", "us-phoenix-1", "instance", seg)

    def test_bad_bodies(self):
        cfg = self.cfg("canned.yaml", self.http_url)
        ok = self.instance(cfg, "ok")
        self.assertTrue(ok["ok"])
        self.assertRegex(ok["display_name"], r"^stopstart/\d+\.\d+")  # our User-Agent
        for seg, message in (("badjson", "malformed response: truncated JSON"),
                             ("missing", "malformed response: lifecycleState: missing"),
                             ("wrongtype", "malformed response: lifecycleState: expected a string, got a number")):
            e = self.instance(cfg, seg)["error"]
            self.assertEqual((e["kind"], e["status"], e["attempts"]), ("bad-response", 200, 1), seg)
            self.assertIn(message, e["message"])
            self.assertEqual(e["request_id"], f"CANNED//20160918/instances/{seg}")

    def test_truncated_is_retried_then_fails(self):
        e = self.instance(self.cfg("canned.yaml", self.http_url), "truncated")["error"]
        self.assertEqual((e["kind"], e["code"], e["attempts"]), ("transport", "TruncatedResponse", 3))

    def test_oversized(self):
        e = self.instance(self.cfg("small.yaml", self.http_url, max_response_size="1MiB"), "big")["error"]
        self.assertEqual((e["kind"], e["errno"], e["attempts"]), ("bad-response", -27, 1))
        self.assertIn("response larger than 1048576 bytes", e["message"])
        ok = self.instance(self.cfg("large.yaml", self.http_url, max_response_size="4MiB"), "big")
        self.assertTrue(ok["ok"], ok)

    def test_non_json_error_body(self):
        e = self.instance(self.cfg("canned.yaml", self.http_url), "html502")["error"]
        self.assertEqual((e["kind"], e["status"], e["code"], e["attempts"]), ("server", 502, "BadErrorResponse", 3))
        e = self.instance(self.cfg("canned.yaml", self.http_url), "teapot")["error"]
        self.assertEqual((e["kind"], e["status"], e["code"], e["message"], e["attempts"]),
                         ("invalid-request", 418, "Teapot", "short and stout", 1))

    def test_tls(self):
        ca = os.path.join(self.tmp, "tls", "ca.pem")
        # the private CA is not in the system store: refused, and not retried
        e = self.instance(self.cfg("tls-no-ca.yaml", self.https_url), "ok")["error"]
        self.assertEqual((e["kind"], e["code"], e["attempts"]), ("transport", "TlsVerificationFailed", 1))
        ok = self.instance(self.cfg("tls-ca.yaml", self.https_url, ca_file=ca), "ok")
        self.assertTrue(ok["ok"], ok)
        # curl-glue alone, several transfers at once over the same CA
        out = run_driver(self.cfg("tls-ca.yaml", self.https_url, ca_file=ca), "get", f"{self.https_url}/x/ok",
                         "--count", "5")
        self.assertEqual([r["status"] for r in out["results"]], [200] * 5)
        self.assertEqual(out["running_after_start"], 5)
        self.assertEqual(out["running_at_end"], 0)

    def test_bad_ca_file(self):
        bad = os.path.join(self.tmp, "not-a-ca.pem")
        with open(bad, "w") as f:
            f.write("hello\n")
        p = run_driver(self.cfg("bad-ca.yaml", self.https_url, ca_file=bad), "tenancy", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"ca_file {bad}: no usable PEM certificates", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

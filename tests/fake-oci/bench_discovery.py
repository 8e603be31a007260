#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reference discovery runs against the fake OCI server, to show what the server sustains and
to give the daemon's discovery something to compare with (not a test; never fails on timing).

    bench_discovery.py [--compartments 2000] [--instances 20000] [--latency 20] [--workers 16]

Strategies, each with a pool of --workers threads (one keep-alive connection each):
  lists   ListCompartments (subtree, pages of 100) then ListInstances for every compartment:
          what the SDK-based pool in design.md section 6 does.
  search  ListCompartments as above, then "query instance resources" split into --workers
          disjoint timeCreated ranges fetched in parallel (pages of 100).
Prints one JSON line per strategy: wall time, requests, max in flight, counts.
"""
import argparse
import concurrent.futures
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import fakeoci  # noqa: E402

SEARCH = "/20180409/resources"


class Pool:
    def __init__(self, oci, n):
        self.oci = oci
        self.local = threading.local()
        self.ex = concurrent.futures.ThreadPoolExecutor(n)

    def client(self):
        c = getattr(self.local, "c", None)
        if c is None:
            c = self.local.c = self.oci.client()
        return c


def compartments(pool):
    c = pool.client()
    return c.paginate("/20160918/compartments", compartmentId=pool.oci.tenancy_id,
                      compartmentIdInSubtree="true", accessLevel="ACCESSIBLE", lifecycleState="ACTIVE", limit=100)


def run_lists(pool):
    comps = compartments(pool)
    ids = [pool.oci.tenancy_id] + [c["id"] for c in comps]

    def one(cid):
        return pool.client().paginate("/20160918/instances", compartmentId=cid, limit=100)
    n = sum(len(r) for r in pool.ex.map(one, ids))
    return len(comps), n


def run_search(pool, parts):
    comps = compartments(pool)
    # Partition edges from the data range the tenancy can have; a real client would bisect
    # adaptively, this one just splits 2018..2032 evenly.
    lo, hi = 2018.0, 2032.0
    edges = [lo + (hi - lo) * k / parts for k in range(parts + 1)]

    def iso(y):
        yy = int(y)
        days = int((y - yy) * 365)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(
            time.mktime((yy, 1, 1, 0, 0, 0, 0, 0, 0)) - time.timezone + days * 86400))

    qs = [f"query instance resources where timeCreated >= '{iso(a)}' && timeCreated < '{iso(b)}'"
          for a, b in zip(edges, edges[1:])]

    def one(q):
        return pool.client().paginate(SEARCH, "POST", {"type": "Structured", "query": q}, limit=100)
    n = sum(len(r) for r in pool.ex.map(one, qs))
    return len(comps), n


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compartments", type=int, default=2000)
    ap.add_argument("--instances", type=int, default=20000)
    ap.add_argument("--latency", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--strategy", choices=("lists", "search", "both"), default="both")
    a = ap.parse_args()
    with fakeoci.FakeOci(seed=1, compartments=a.compartments, depth=5, instances=a.instances,
                         latency_ms=a.latency, page_cap=100) as oci:
        for strat in (("lists", "search") if a.strategy == "both" else (a.strategy,)):
            pool = Pool(oci, a.workers)
            oci.reset_counters()
            cpu0 = cpu_seconds(oci.info["pid"])
            t0 = time.monotonic()
            nc, ni = run_lists(pool) if strat == "lists" else run_search(pool, a.workers)
            el = time.monotonic() - t0
            c = oci.counters()
            print(json.dumps({"strategy": strat, "compartments": nc, "instances": ni,
                              "elapsed_ms": round(el * 1000), "requests": c["total"],
                              "max_in_flight": c["max_in_flight"], "latency_ms": a.latency,
                              "server_cpu_ms": round(1000 * (cpu_seconds(oci.info["pid"]) - cpu0)),
                              "statuses": c["by_status"]}), flush=True)
            pool.ex.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

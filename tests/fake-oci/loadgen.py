#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Throughput check for the fake OCI server: N keep-alive connections, one request in flight on
each, replaying a pool of pre-signed small requests (GetInstance, or ListInstances with --list)
for a few seconds. Signing happens up front so that the client's RSA private-key operations do
not compete with the server for the CPU; the server still verifies every request.

    loadgen.py [--concurrency 16] [--seconds 5] [--latency MS] [--list] [--compartments N --instances N]

Starts its own server (tests/lib/fakeoci.py) and prints one JSON line
{"requests":N,"seconds":S,"rps":R,"errors":E,"max_in_flight":M,"p50_ms":..,"p99_ms":..}.
"""
import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import fakeoci  # noqa: E402
import ocisign  # noqa: E402


def build_requests(oci, n, use_list):
    dump = oci.dump()
    signer = ocisign.Signer(oci.key.key_id(oci.tenancy_id), oci.key.private_key)
    host = f"127.0.0.1:{oci.port}"
    region = oci.home_region
    out = []
    if use_list:
        ids = [c["id"] for c in dump["compartments"]]
        targets = [f"/{region}/20160918/instances?compartmentId={cid}&limit=100" for cid in ids]
    else:
        ids = [i["id"] for i in dump["instances"] if i["region"] == region]
        targets = [f"/{region}/20160918/instances/{iid}" for iid in ids]
    for t in targets[:n]:
        h = signer.sign("GET", t, host)
        lines = [f"GET {t} HTTP/1.1"] + [f"{k}: {v}" for k, v in h.items()] + ["", ""]
        out.append("\r\n".join(lines).encode())
    return out


async def worker(port, reqs, offset, stop_at, lat, errors):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    k = offset
    while time.monotonic() < stop_at:
        t0 = time.monotonic()
        writer.write(reqs[k % len(reqs)])
        k += 1
        head = await reader.readuntil(b"\r\n\r\n")
        status = head[9:12]
        n = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                n = int(line[15:])
        await reader.readexactly(n)
        if status != b"200":
            errors.append(status)
        lat.append(time.monotonic() - t0)
    writer.close()


async def run(port, reqs, conc, seconds):
    lat, errors = [], []
    stop_at = time.monotonic() + seconds
    t0 = time.monotonic()
    await asyncio.gather(*(worker(port, reqs, i * 7, stop_at, lat, errors) for i in range(conc)))
    return lat, errors, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--latency", type=float, default=0.0, help="server latency, ms")
    ap.add_argument("--list", action="store_true", help="ListInstances pages instead of GetInstance")
    ap.add_argument("--compartments", type=int, default=200)
    ap.add_argument("--instances", type=int, default=2000)
    ap.add_argument("--pool", type=int, default=500, help="distinct pre-signed requests")
    a = ap.parse_args()
    with fakeoci.FakeOci(compartments=a.compartments, instances=a.instances, latency_ms=a.latency) as oci:
        reqs = build_requests(oci, a.pool, a.list)
        oci.reset_counters()
        lat, errors, el = asyncio.run(run(oci.port, reqs, a.concurrency, a.seconds))
        c = oci.counters()
    lat.sort()
    res = {"requests": len(lat), "seconds": round(el, 2), "rps": round(len(lat) / el),
           "errors": len(errors), "max_in_flight": c["max_in_flight"],
           "server_total": c["total"],
           "p50_ms": round(1000 * lat[len(lat) // 2], 2), "p99_ms": round(1000 * lat[int(len(lat) * .99)], 2)}
    print(json.dumps(res))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())

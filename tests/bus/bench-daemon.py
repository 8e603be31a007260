#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon at scale (design.md §6: RSS <= 40 MiB with 20,000 instances, GetManagedObjects
< 300 ms). Starts a throwaway PostgreSQL at schema head, the fake OCI server with a generated
tenancy, a private system bus, and the built stopstartd (as root, with a test policy letting
root own the name); waits for the first refresh (discovery of the whole tenancy), then prints
RSS and call timings as JSON lines. Not a test: figures only.

    bench-daemon.py BUILD_DIR [--compartments N] [--instances N] [--calls N]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from busenv import SystemBus, stop_process, wait_for  # noqa: E402
from fakeoci import FakeOci  # noqa: E402
from pgcluster import PgCluster  # noqa: E402

ROOT_POLICY = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><policy user="root"><allow own="org.stopstart.StopStart1"/></policy></busconfig>
"""


def rss(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon"):
                out[k] = round(int(v.split()[0]) / 1024, 1)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--compartments", type=int, default=2000)
    ap.add_argument("--instances", type=int, default=20000)
    ap.add_argument("--calls", type=int, default=5)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    work = tempfile.mkdtemp(prefix="ssbench.")
    policy = os.path.join(work, "root-owns.conf")
    with open(policy, "w") as f:
        f.write(ROOT_POLICY)

    with PgCluster() as pg:
        subprocess.run([f"{build}/ctl/stopstartctl", "db", "upgrade", "head", f"--database={pg.url}"], check=True,
                       stdout=subprocess.DEVNULL)
        with FakeOci(compartments=a.compartments, instances=a.instances,
                     regions=["us-phoenix-1", "us-ashburn-1"]) as oci, \
                SystemBus(policies=[os.path.join(HERE, "..", "..", "dbus", "org.stopstart.StopStart1.conf"),
                                    policy]) as bus:
            conf = os.path.join(work, "stopstartd.yaml")
            with open(conf, "w") as f:
                f.write(f'database: "{pg.url}"\noci:\n  config_file: {oci.config_file}\n'
                        f'  endpoint: "{oci.url}/{{region}}"\ndiscovery:\n  interval: 1h\n')
            env = bus.env()
            log = open(os.path.join(work, "stopstartd.log"), "w+")
            d = subprocess.Popen([f"{build}/daemon/stopstartd", f"--config={conf}"], env=env, stderr=log)
            try:
                t0 = time.monotonic()

                def refreshed():
                    log.seek(0)
                    text = log.read()
                    if d.poll() is not None:
                        raise RuntimeError(f"stopstartd exited: {text}")
                    return "(refresh) done" in text or "(refresh) failed" in text
                wait_for(refreshed, timeout=600, step=0.2, what="first refresh")
                time.sleep(1)
                print(json.dumps({"phase": "after discovery", "seconds": round(time.monotonic() - t0, 1),
                                  **rss(d.pid)}))
                for method in ("GetManagedObjects", "ListInstances", "Describe"):
                    r = subprocess.run([f"{build}/tests/bus/bench-call", str(a.calls), method], env=env,
                                       stdout=subprocess.PIPE, text=True, check=True)
                    print(r.stdout.strip())
                    time.sleep(0.5)
                    print(json.dumps({"phase": f"after {method}", **rss(d.pid)}))
            finally:
                stop_process(d)
                log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Start/stop stopstart's fake OCI server (tests/fake-oci/fake_oci.py) and drive its control API.

    from fakeoci import FakeOci
    with FakeOci(compartments=20, instances=200, regions=["us-phoenix-1", "us-ashburn-1"],
                 latency_ms=20, args=["--start-delay", "0.2"]) as oci:
        oci.url                      # http://127.0.0.1:PORT
        oci.endpoint("us-ashburn-1") # http://127.0.0.1:PORT/us-ashburn-1
        oci.config_file              # OCI CLI config for a fresh 2048-bit key the server trusts
        oci.client()                 # ocisign.OciClient signed with that key (home region)
        oci.counters(); oci.reset_counters(); oci.set_faults(rate_429=0.2); oci.clear_faults()
        oci.dump(); oci.add_instance(compartmentId=..., displayName=...); ...

Command line (make demo / make bench):
    fakeoci.py start DIR [SERVER ARGS...]   starts it in the background, writes DIR/oci/config
                                            and prints shell exports (FAKE_OCI_URL, ...)
    fakeoci.py stop DIR
"""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ocikeys  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.normpath(os.path.join(HERE, "..", "fake-oci", "fake_oci.py"))
PYTHON = "/usr/bin/python3"


class FakeOciError(RuntimeError):
    pass


class FakeOci:
    """The fake server as a child process. Keyword arguments map to server flags:
    seed, compartments, depth, instances, regions (list), state_mix (dict or "A=1,B=2"),
    distribution, fixture (path or dict), latency_ms, page_cap, key (an ocikeys.ApiKey; default:
    a new key in the work directory), args (extra CLI flags), verbose."""

    def __init__(self, *, seed=1, compartments=None, depth=None, instances=None, regions=None,
                 state_mix=None, distribution=None, fixture=None, latency_ms=None, page_cap=None,
                 key=None, args=(), workdir=None, verbose=False, log_to=None):
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="fakeoci.")
        os.makedirs(self.dir, exist_ok=True)
        self.ready_file = os.path.join(self.dir, "ready.json")
        self.log_path = log_to or os.path.join(self.dir, "fake-oci.log")
        self.key = key
        cmd = [PYTHON, SERVER, "--port", "0", "--ready-file", self.ready_file, "--seed", str(seed)]
        for flag, v in (("--compartments", compartments), ("--depth", depth), ("--instances", instances),
                        ("--distribution", distribution), ("--latency", latency_ms),
                        ("--page-cap", page_cap)):
            if v is not None:
                cmd += [flag, str(v)]
        if regions:
            cmd += ["--regions", ",".join(regions) if not isinstance(regions, str) else regions]
        if state_mix:
            cmd += ["--state-mix", state_mix if isinstance(state_mix, str)
                    else ",".join(f"{k}={v}" for k, v in state_mix.items())]
        if fixture is not None:
            if isinstance(fixture, dict):
                path = os.path.join(self.dir, "fixture.json")
                with open(path, "w") as f:
                    json.dump(fixture, f)
                fixture = path
            cmd += ["--fixture", fixture]
        if verbose:
            cmd.append("-v")
        self.cmd = cmd + list(args)
        self.proc = None
        self.info = None
        self._conn = None

    # --- process --------------------------------------------------------------------------------
    def start(self, timeout=60):
        if self.key is None:
            self.key = ocikeys.generate_key(os.path.join(self.dir, "oci"))
        cmd = self.cmd + ["--api-key", f"{self.key.user}={self.key.public_key_path or self._pub()}"]
        if os.path.exists(self.ready_file):
            os.unlink(self.ready_file)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.ready_file):
            if self.proc.poll() is not None:
                msg = f"fake OCI server exited with {self.proc.returncode}: {self.log_tail()}"
                self.stop()
                raise FakeOciError(msg)
            if time.monotonic() > deadline:
                msg = f"fake OCI server not ready after {timeout}s: {self.log_tail()}"
                self.stop()
                raise FakeOciError(msg)
            time.sleep(0.02)
        with open(self.ready_file) as f:
            self.info = json.load(f)
        self.config_file = ocikeys.write_oci_config(os.path.join(self.dir, "oci", "config"), self.key,
                                                    self.tenancy_id, self.home_region)
        return self

    def _pub(self):
        path = os.path.join(self.dir, "oci", "extra_public.pem")
        with open(path, "w") as f:
            f.write(self.key.public_key_pem)
        return path

    def log_tail(self, n=20):
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout=10):
        """SIGTERM, wait; returns the exit code (0 on a clean shutdown)."""
        rc = None
        if self._conn:
            self._conn.close()
            self._conn = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        elif self.proc:
            rc = self.proc.returncode
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.own_dir = False
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- addresses --------------------------------------------------------------------------------
    @property
    def port(self):
        return self.info["port"]

    @property
    def url(self):
        return self.info["url"]

    @property
    def tenancy_id(self):
        return self.info["tenancy"]

    @property
    def home_region(self):
        return self.info["homeRegion"]

    @property
    def regions(self):
        return self.info["regions"]

    def endpoint(self, region=None):
        """Base URL whose first path segment selects the region."""
        return f"{self.url}/{region or self.home_region}"

    def client(self, region=None, key=None):
        import ocisign
        k = key or self.key
        signer = ocisign.Signer(k.key_id(self.tenancy_id), k.private_key)
        return ocisign.OciClient(self.endpoint(region), signer)

    # --- control API ------------------------------------------------------------------------------
    def control(self, method, path, body=None, ok=True):
        """Unsigned call under /_fake/; returns the decoded JSON (raises on non-2xx if ok)."""
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self._conn.request(method, "/_fake/" + path.lstrip("/"), body=data,
                                   headers={"Content-Type": "application/json"})
                r = self._conn.getresponse()
                out = json.loads(r.read() or b"null")
                break
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
        if ok and not 200 <= r.status < 300:
            raise FakeOciError(f"control {method} {path}: {r.status} {out}")
        return out

    def counters(self):
        return self.control("GET", "counters")

    def reset_counters(self):
        return self.control("POST", "counters/reset")

    def faults(self):
        return self.control("GET", "faults")

    def set_faults(self, replace=False, **spec):
        """Merge (or with replace=True set) faults: default-spec keys (latency_ms, rate_429, ...),
        operations={"Op": {...}}, once=[{"operation", "fault", "count"}]."""
        return self.control("PUT" if replace else "POST", "faults", spec)

    def clear_faults(self):
        return self.control("DELETE", "faults")

    def config(self, **sections):
        """GET (no arguments) or merge config sections: faults, lifecycle, limits, auth, idempotency,
        search."""
        return self.control("POST", "config", sections) if sections else self.control("GET", "config")

    def set_lifecycle(self, **kw):
        return self.config(lifecycle=kw)

    def dump(self):
        return self.control("GET", "tenancy")

    def summary(self):
        return self.control("GET", "tenancy/summary")

    def load(self, fixture):
        r = self.control("PUT", "tenancy", fixture)
        self.info = self.control("GET", "info")
        return r

    def generate(self, **params):
        r = self.control("POST", "tenancy/generate", params)
        self.info = self.control("GET", "info")
        return r

    def add_instance(self, **fields):
        return self.control("POST", "instances", fields)

    def update_instance(self, iid, **fields):
        return self.control("PATCH", f"instances/{iid}", fields)

    def remove_instance(self, iid):
        return self.control("DELETE", f"instances/{iid}")

    def get_instance(self, iid):
        return self.control("GET", f"instances/{iid}")

    def add_compartment(self, **fields):
        return self.control("POST", "compartments", fields)

    def update_compartment(self, cid, **fields):
        return self.control("PATCH", f"compartments/{cid}", fields)

    def remove_compartment(self, cid, purge=False, force=False):
        q = "&".join(x for x in ("purge=1" if purge else "", "force=1" if force else "") if x)
        return self.control("DELETE", f"compartments/{cid}" + (f"?{q}" if q else ""))

    def add_key(self, public_key_pem, user=None, fingerprint=None):
        body = {"publicKeyPem": public_key_pem}
        if user:
            body["user"] = user
        if fingerprint:
            body["fingerprint"] = fingerprint
        return self.control("POST", "keys", body)


def _cli(argv):
    if len(argv) >= 2 and argv[0] == "start":
        d = os.path.abspath(argv[1])
        os.makedirs(d, exist_ok=True)
        f = FakeOci(workdir=d, args=argv[2:])
        f.start()
        f.proc = None          # leave it running; "stop DIR" ends it
        with open(os.path.join(d, "pid"), "w") as fh:
            fh.write(str(f.info["pid"]))
        exports = {"FAKE_OCI_URL": f.url, "FAKE_OCI_PORT": f.port, "FAKE_OCI_PID": f.info["pid"],
                   "FAKE_OCI_TENANCY": f.tenancy_id, "FAKE_OCI_HOME_REGION": f.home_region,
                   "FAKE_OCI_CONFIG": f.config_file, "FAKE_OCI_LOG": f.log_path}
        for k, v in exports.items():
            print(f"export {k}='{v}'")
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        d = os.path.abspath(argv[1])
        try:
            with open(os.path.join(d, "pid")) as fh:
                pid = int(fh.read())
        except (OSError, ValueError):
            print(f"fakeoci.py: no fake OCI server recorded in {d}", file=sys.stderr)
            return 1
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        for _ in range(500):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        os.unlink(os.path.join(d, "pid"))
        return 0
    print(__doc__.split("Command line")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))

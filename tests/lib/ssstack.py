#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The whole stopstart stack on this machine, for integration tests and make demo:

    throwaway PostgreSQL at the schema head (stopstartctl db upgrade head), the fake OCI server
    with a generated tenancy, a private system bus with our policy, polkitd (real, with a rules
    file; or python-dbusmock's template), and the built stopstartd as the "stopstart" user.

    from ssstack import Stack
    with Stack(compartments=6, instances=20) as st:
        st.ctl("tree")                            # stopstartctl as root → CompletedProcess
        st.ctl("stop", "web-1", user="sstest-op") # as another user (setpriv)
        st.prop(path, iface, "Config")            # a property, read with busctl (JSON value)
        st.call(path, iface, "SetConfig", "a{sv}", 1, "managed", "b", True)
        st.restart_daemon(); st.pg.stop_server(); st.pg.start_server()

    Stack(systemd_manager=True): also the daemon user's systemd --user (tests/lib/usermgr.py) for
    the schedules' transient timers: st.usermgr.systemctl("list-timers"), st.restart_usermgr().

Users: OPERATOR ("sstest-op", in group sstest-operators, which the test rules allow to operate
and configure) and VIEWER ("sstest-viewer", nothing beyond polkit's defaults: view only). The
daemon runs as "stopstart" (the production account; our .policy names it as action owner).

Command line (make demo):
    ssstack.py start DIR [--build DIR] [--database CONNINFO] [--compartments N --instances N]
                         [--allow-user USER] [--usermgr]
        starts everything in DIR (PostgreSQL too unless --database), leaves it running, prints
        shell exports
    ssstack.py stop DIR
        stops every process it started, by PID, and removes DIR
"""
import argparse
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import busenv  # noqa: E402
from busenv import PolkitMock, Polkitd, SystemBus, alive, as_user, wait_for  # noqa: E402
from fakeoci import FakeOci  # noqa: E402
from pgcluster import PgCluster  # noqa: E402
import sanitizers  # noqa: E402

SRC = os.environ.get("STOPSTART_SOURCE_ROOT") or os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("STOPSTART_BUILD_ROOT") or os.path.join(SRC, "build")
BUS_NAME = "org.stopstart.StopStart1"
ROOT_PATH = "/org/stopstart/StopStart1"
MANAGER = BUS_NAME + ".Manager"
INSTANCE = BUS_NAME + ".Instance"
COMPARTMENT = BUS_NAME + ".Compartment"
JOB = BUS_NAME + ".Job"

DAEMON_USER = "stopstart"
OPERATOR = "sstest-op"
OPERATORS_GROUP = "sstest-operators"
VIEWER = "sstest-viewer"
DENIED = "sstest-denied"

TEST_RULES = """// Test rules: members of %(group)s may do everything stopstart offers; %(denied)s is refused
// everything but viewing (a plain "no", where the defaults would ask for authentication).
polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.stopstart.StopStart1.") == 0 && subject.isInGroup("%(group)s"))
        return polkit.Result.YES;
    if (action.id.indexOf("org.stopstart.StopStart1.") == 0 && action.id != "org.stopstart.StopStart1.view" &&
        subject.user == "%(denied)s")
        return polkit.Result.NO;
});
"""

ROOT_OWNER_POLICY = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "https://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- Test only: the daemon runs as root here. -->
<busconfig>
  <policy user="root"><allow own="org.stopstart.StopStart1"/></policy>
</busconfig>
"""


def ensure_user(name, groups=()):
    """busenv.ensure_user, safe when parallel test processes create the same account."""
    for attempt in range(50):
        try:
            return busenv.ensure_user(name, groups)
        except subprocess.CalledProcessError:
            time.sleep(0.1 + 0.02 * attempt)  # another process holds /etc/passwd's lock
    return busenv.ensure_user(name, groups)


def stop_pid(pid, timeout=10.0):
    """SIGTERM, wait, SIGKILL: a process we started and recorded."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not alive(pid):
            return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Stack:
    def __init__(self, *, seed=1, compartments=5, depth=3, instances=16, regions=("us-phoenix-1", "us-ashburn-1"),
                 fixture=None, oci_args=(), polkit="real", daemon_user=DAEMON_USER, allow_users=(),
                 refresh_interval="1h", workdir=None, wait_refresh=True, database=None, systemd_manager=False,
                 max_attempts=4, pg_durable=False, oci=None, peer=None):
        self.dir = workdir or tempfile.mkdtemp(prefix="ssstack.")
        self.own_dir = workdir is None
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.seed, self.compartments, self.depth, self.instances = seed, compartments, depth, instances
        self.regions, self.fixture, self.oci_args = list(regions), fixture, list(oci_args)
        self.polkit_kind = polkit
        self.daemon_user = daemon_user
        self.allow_users = list(allow_users)
        self.refresh_interval = refresh_interval
        self.wait_refresh = wait_refresh
        self.database = database   # conninfo of a database at the schema head; None: a throwaway cluster
        # a real `systemd --user` of the daemon's user as org.freedesktop.systemd1 on the stack's bus
        # (tests/lib/usermgr.py): the schedules' timers; the daemon is configured for it anyway
        self.systemd_manager = systemd_manager
        self.max_attempts = max_attempts   # oci.max_attempts: retries of every OCI call
        self.pg_durable = pg_durable       # PgCluster(durable=): tests that crash PostgreSQL
        self.usermgr = None
        # another stack's fake OCI server (two daemons on one tenancy: tests/integration/test_ha.py);
        # that stack starts and stops it
        self.shared_oci = oci
        # the daemon runs on another host (a tests/lib/netns.py Peer): it reaches the fake OCI server
        # at the peer's host address (the server must --also-listen there), its database as given
        self.peer = peer
        # Other users (the daemon's, the test callers) run these: the checkout may sit in a 0700
        # directory (mktemp -d), so they get copies in our 0755 directory.
        bindir = os.path.join(self.dir, "bin")
        os.makedirs(bindir, exist_ok=True)
        os.chmod(bindir, 0o755)
        for src in (os.path.join(BUILD, "daemon", "stopstartd"), os.path.join(BUILD, "ctl", "stopstartctl"),
                    os.path.join(HERE, "dbuscall.py")):
            shutil.copy2(src, bindir)
            os.chmod(os.path.join(bindir, os.path.basename(src)), 0o755)
        self.stopstartd = os.path.join(bindir, "stopstartd")
        self.stopstartctl = os.path.join(bindir, "stopstartctl")
        self.dbuscall = os.path.join(bindir, "dbuscall.py")
        self.pg = self.oci = self.bus = self.polkit = self.daemon = None
        self.daemon_log = os.path.join(self.dir, "stopstartd.log")
        self.config_path = os.path.join(self.dir, "stopstartd.yaml")

    # --- start/stop --------------------------------------------------------------------------
    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        ensure_user(self.daemon_user) if self.daemon_user != "root" else None
        ensure_user(OPERATOR, [OPERATORS_GROUP])
        ensure_user(VIEWER)
        ensure_user(DENIED)

        if self.database is None:
            self.pg = PgCluster(durable=self.pg_durable)
            self.pg.start()
            self.database = self.pg.conninfo
            r = sanitizers.run("stopstartctl db upgrade head", [self.stopstartctl, "db", "upgrade", "head"],
                               env=self.env(dict(os.environ, **self.pg.env())))
            if r.returncode != 0:
                raise RuntimeError(f"stopstartctl db upgrade head failed:\n{r.stdout}{r.stderr}")

        if self.shared_oci is not None:
            self.oci = self.shared_oci
        else:
            self.oci = FakeOci(seed=self.seed, compartments=self.compartments, depth=self.depth,
                               instances=self.instances, regions=self.regions, fixture=self.fixture,
                               args=self.oci_args, workdir=os.path.join(self.dir, "oci"))
            self.oci.start()
            self._give_to_daemon(os.path.join(self.dir, "oci"))

        policies = [os.path.join(SRC, "dbus", "org.stopstart.StopStart1.conf")]
        if self.daemon_user == "root":
            p = os.path.join(self.dir, "test-root-owner.conf")
            with open(p, "w") as f:
                f.write(ROOT_OWNER_POLICY)
            policies.append(p)
        os.makedirs(os.path.join(self.dir, "bus"), exist_ok=True)
        self.bus = SystemBus(policies=policies, basedir=os.path.join(self.dir, "bus")).start()

        if self.systemd_manager:
            from usermgr import UserManager
            self.usermgr = UserManager(bus=self.bus, user=None if self.daemon_user == "root" else self.daemon_user,
                                       basedir=os.path.join(self.dir, "usermgr")).start()

        if self.polkit_kind == "mock":
            self.polkit = PolkitMock(self.bus).start()
        else:
            rules = os.path.join(self.dir, "50-stopstart-test.rules")
            with open(rules, "w") as f:
                f.write(TEST_RULES % {"group": OPERATORS_GROUP, "denied": DENIED})
                for u in self.allow_users:
                    f.write('polkit.addRule(function(action, subject) {\n'
                            '    if (action.id.indexOf("org.stopstart.StopStart1.") == 0 && subject.user == "%s")\n'
                            '        return polkit.Result.YES;\n});\n' % u)
            self.polkit = Polkitd(self.bus, files=[os.path.join(SRC, "dbus", "org.stopstart.StopStart1.policy"),
                                                   rules]).start()

        self.write_config()
        self.start_daemon()

    def _give_to_daemon(self, path):
        if self.daemon_user == "root" or os.getuid() != 0:
            return
        pw = pwd.getpwnam(self.daemon_user)
        os.chmod(path, 0o755)
        for root, dirs, files in os.walk(path):
            for n in dirs + files:
                os.lchown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
            os.chown(root, pw.pw_uid, pw.pw_gid)

    def write_config(self, **overrides):
        cfg = {
            "database": self.database,
            "oci_config_file": self.oci.config_file,
            "endpoint": (f"http://{self.peer.host_addr}:{self.oci.port}/{{region}}" if self.peer else
                         f"{self.oci.url}/{{region}}"),
            "interval": self.refresh_interval,
        }
        cfg.update(overrides)
        text = (f'database: "{cfg["database"]}"\n'
                "oci:\n"
                f'  config_file: "{cfg["oci_config_file"]}"\n'
                f'  endpoint: "{cfg["endpoint"]}"\n'
                "  connect_timeout: 2s\n"
                "  request_timeout: 10s\n"
                f"  max_attempts: {self.max_attempts}\n"
                "  retry_base_delay: 100ms\n"
                "  retry_max_delay: 500ms\n"
                "discovery:\n"
                f"  interval: {cfg['interval']}\n"
                "systemd:\n"
                "  bus: system\n")
        with open(self.config_path, "w") as f:
            f.write(text)
        os.chmod(self.config_path, 0o644)

    def start_daemon(self, wait=True):
        env = self.env()
        env["HOME"] = self.dir
        env.setdefault("STOPSTART_LOG_LEVEL", os.environ.get("SSSTACK_LOG_LEVEL", "info"))
        prefix = as_user(self.daemon_user) if self.daemon_user != "root" and os.getuid() == 0 else []
        if self.peer:
            prefix = self.peer.prefix() + prefix
        log = open(self.daemon_log, "a")
        self.daemon = subprocess.Popen(prefix + [self.stopstartd, f"--config={self.config_path}"], env=env,
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            try:
                self.bus.wait_name(BUS_NAME, 60, self.daemon)
                wait_for(lambda: self.manager_prop("State") == "running", 60, 0.05, "the daemon running")
                if self.wait_refresh:
                    self.wait_refreshed()
            except Exception as e:
                raise RuntimeError(f"stopstartd did not come up: {e}\n{self.log_tail()}") from None
        return self.daemon

    def wait_refreshed(self, after=0, timeout=60):
        """Until LastRefresh is later than after (µs)."""
        def done():
            if self.daemon.poll() is not None:
                raise RuntimeError(f"stopstartd exited with {self.daemon.returncode}")
            return self.manager_prop("LastRefresh") > after
        wait_for(done, timeout, 0.05, "a refresh")

    def stop_daemon(self, sig=signal.SIGTERM, timeout=30):
        """Returns the exit status."""
        if self.daemon is None or self.daemon.poll() is not None:
            return None if self.daemon is None else self.daemon.returncode
        self.daemon.send_signal(sig)
        try:
            return self.daemon.wait(timeout)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.daemon.wait()
            raise RuntimeError("stopstartd did not stop on SIGTERM within %ss" % timeout)

    def restart_daemon(self):
        rc = self.stop_daemon()
        if rc != 0:
            raise RuntimeError(f"stopstartd exited with {rc} on SIGTERM\n{self.log_tail()}")
        self.bus.wait_name  # noqa: B018 (the name goes with the process)
        wait_for(lambda: not self.bus.has_name(BUS_NAME), 10, 0.05, "the name released")
        return self.start_daemon()

    @staticmethod
    def stop_daemons_checked(stacks):
        """Stops the daemons of stacks ({name: Stack}, in that order): each must exit 0 on SIGTERM
        without a sanitizer report in its log; raises AssertionError (with the log's tail) otherwise."""
        failed = []
        for name, st in stacks.items():
            rc = st.stop_daemon()
            log = st.log_tail(100000)
            reports = [x for x in log.splitlines() if "Sanitizer" in x or "runtime error:" in x]
            if rc not in (0, None) or reports:
                print(f"--- stopstartd {name} log (tail) ---\n" + "\n".join(log.splitlines()[-80:]), file=sys.stderr)
                failed.append(f"stopstartd {name} exited with {rc}; sanitizer reports: {reports[:5]}")
        if failed:
            raise AssertionError("; ".join(failed))

    def check_daemon_log(self):
        """Raises sanitizers.SanitizerReport when stopstartd's log holds a sanitizer report (or
        its last exit was a sanitizer's)."""
        rc = self.daemon.returncode if self.daemon is not None else None
        sanitizers.check("stopstartd", rc, self.log_tail(1000000))

    def kill_daemon(self):
        """SIGKILL, as a crash: nothing is cleaned up."""
        self.daemon.kill()
        self.daemon.wait()
        wait_for(lambda: not self.bus.has_name(BUS_NAME), 10, 0.05, "the name released")

    def restart_usermgr(self, kill=False):
        """Stops the systemd user manager (its transient timers go with it) and starts it again."""
        self.usermgr.restart(kill=kill)

    def log_tail(self, n=40):
        try:
            with open(self.daemon_log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.daemon is not None:
            try:
                self.stop_daemon()
            except RuntimeError:
                pass
        if self.usermgr is not None:
            try:
                self.usermgr.cleanup()
            except Exception:  # noqa: BLE001 - tear down everything we can
                pass
        for part in (self.polkit, self.bus, None if self.shared_oci is not None else self.oci, self.pg):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # noqa: BLE001 - tear down everything we can
                    pass
                log = getattr(part, "log", None)
                if hasattr(log, "close"):
                    log.close()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- clients -------------------------------------------------------------------------------
    def env(self, base=None):
        e = dict(os.environ if base is None else base)
        if self.bus is not None:
            e["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus.address
        e.pop("STOPSTART_PAGER", None)
        e["PAGER"] = "cat"
        e["SYSTEMD_COLORS"] = "0"
        return e

    def ctl(self, *args, user=None, check=None, timeout=120, input=None):
        """stopstartctl ARGS as root (or user); check=N asserts the exit status."""
        prefix = as_user(user) if user else []
        # A sanitizer report raises whatever the test expects (it would otherwise pass for exit 1).
        r = sanitizers.run(f"stopstartctl {' '.join(args)}", prefix + [self.stopstartctl, *args], env=self.env(),
                           timeout=timeout, input=input)
        if check is not None and r.returncode != check:
            raise AssertionError(f"stopstartctl {' '.join(args)} (as {user or 'root'}): exit {r.returncode}, "
                                 f"expected {check}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def ctl_json(self, *args, user=None):
        r = self.ctl("--json=short", *args, user=user, check=0)
        return json.loads(r.stdout)

    def busctl(self, *args, user=None, check=True):
        prefix = as_user(user) if user else []
        r = subprocess.run(prefix + ["busctl", "--system", *args], env=self.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"busctl {' '.join(args)}: {r.stderr.strip()}")
        return r

    def prop(self, path, iface, name):
        r = self.busctl("--json=short", "get-property", BUS_NAME, path, iface, name)
        return json.loads(r.stdout)["data"]

    def manager_prop(self, name):
        try:
            return self.prop(ROOT_PATH, MANAGER, name)
        except RuntimeError:
            return None

    def call(self, path, iface, method, sig="", *args, user=None):
        """busctl call; returns the decoded reply data (list) or raises CallError with the error name."""
        return dbus_call(self, path, iface, method, sig, *args, user=user)

    def pids(self):
        return {"stopstartd": self.daemon.pid if self.daemon else None,
                "polkitd": self.polkit.proc.pid if self.polkit else None,
                "dbus-daemon": self.bus.proc.pid if self.bus else None,
                "fake-oci": self.oci.info["pid"] if self.oci else None,
                "usermgr": self.usermgr.pid if self.usermgr else None}


class CallError(Exception):
    def __init__(self, name, message):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def dbus_call(stack, path, iface, method, sig="", *args, user=None, timeout=60):
    """One method call (tests/lib/dbuscall.py) as root or user: returns the reply's values as a
    list, raises CallError with the D-Bus error name."""
    spec = json.dumps({"dest": BUS_NAME, "path": path, "iface": iface, "method": method, "sig": sig,
                       "args": list(args), "timeout": timeout})
    prefix = as_user(user) if user else []
    r = subprocess.run(prefix + [busenv.PY, stack.dbuscall, stack.bus.address], input=spec,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout + 10)
    if r.returncode != 0:
        raise RuntimeError(f"dbuscall.py failed: {r.stderr}")
    out = json.loads(r.stdout)
    if "error" in out:
        raise CallError(out["error"], out["message"])
    return out["ok"]


def V(type_name, value, sig=None):
    """A variant for dbus_call args: V('Boolean', True), V('String', 'x'), V('UInt64', 5)."""
    d = {"__variant__": type_name, "value": value}
    if sig:
        d["sig"] = sig
    return d


def settings(**kw):
    """a{sv} for SetConfig/SetDefaults from typed values: bool → b, str → s, ('t', n), ('i', n)."""
    out = {}
    for k, v in kw.items():
        if isinstance(v, bool):
            out[k] = V("Boolean", v)
        elif isinstance(v, str):
            out[k] = V("String", v)
        elif isinstance(v, tuple) and v[0] == "t":
            out[k] = V("UInt64", v[1])
        elif isinstance(v, tuple) and v[0] == "i":
            out[k] = V("Int32", v[1])
        else:
            raise ValueError(f"unsupported value for {k}: {v!r}")
    return out


# --- command line (make demo) ---------------------------------------------------------------------

def _cli_start(a):
    d = os.path.abspath(a.dir)
    if os.path.exists(os.path.join(d, "stack.json")):
        print(f"ssstack.py: {d} holds a running stack; stop it first", file=sys.stderr)
        return 1
    os.makedirs(d, exist_ok=True)
    global BUILD
    if a.build:
        BUILD = os.path.abspath(a.build)
    st = Stack(compartments=a.compartments, instances=a.instances, depth=a.depth, seed=a.seed,
               allow_users=a.allow_user, workdir=d, database=a.database, systemd_manager=a.usermgr, oci_args=["--start-delay", "2", "--stop-delay", "2",
                                                              "--softstop-delay", "3", "--reset-delay", "2"])
    st.start()
    state = {"pids": st.pids(), "pg_dir": st.pg.dir if st.pg else None,
             "polkit_dir": getattr(st.polkit, "dir", None), "bus_address": st.bus.address,
             "usermgr": {"base": st.usermgr.base, "user": st.usermgr.user, "cgroups": st.usermgr.cgroups}
             if st.usermgr else None}
    with open(os.path.join(d, "stack.json"), "w") as f:
        json.dump(state, f)
    # Leave the processes running: forget them, so nothing stops them when we exit.
    st.oci.proc = None
    if st.usermgr is not None:
        st.usermgr.proc = None
    print(f"export DBUS_SYSTEM_BUS_ADDRESS='{st.bus.address}'")
    for k, v in (st.pg.env().items() if st.pg else ()):
        print(f"export {k}='{v}'")
    print(f"export STOPSTART_DEMO_CONFIG='{st.config_path}'")
    print(f"export STOPSTART_DEMO_DAEMON_LOG='{st.daemon_log}'")
    print(f"export FAKE_OCI_URL='{st.oci.url}'")
    return 0


def _cli_stop(a):
    d = os.path.abspath(a.dir)
    try:
        with open(os.path.join(d, "stack.json")) as f:
            state = json.load(f)
    except OSError:
        return 0
    for name in ("stopstartd",):
        pid = state["pids"].get(name)
        if pid:
            stop_pid(pid)
    if state.get("usermgr"):
        from usermgr import UserManager
        um = UserManager(basedir=state["usermgr"]["base"], user=state["usermgr"]["user"])
        um.pid = state["pids"].get("usermgr")
        um.cgroups = state["usermgr"]["cgroups"]
        if um.pid:
            um._stop_pid(um.pid)
        um.cleanup()
    for name in ("polkitd", "dbus-daemon", "fake-oci"):
        pid = state["pids"].get(name)
        if pid:
            stop_pid(pid)
    if state.get("pg_dir") and os.path.isdir(os.path.join(state["pg_dir"], "data")):
        pg = PgCluster(basedir=state["pg_dir"])
        pg.running = True
        pg.stop_server("fast")
    if state.get("pg_dir"):
        # the stack's own cluster (mkdtemp in /dev/shm at start): ~135 MB of memory per run
        # otherwise, two per suite ui
        shutil.rmtree(state["pg_dir"], ignore_errors=True)
    if state.get("polkit_dir"):
        shutil.rmtree(state["polkit_dir"], ignore_errors=True)
    os.unlink(os.path.join(d, "stack.json"))
    return 0


def main(argv):
    ap = argparse.ArgumentParser(prog="ssstack.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("dir")
    s.add_argument("--build")
    s.add_argument("--compartments", type=int, default=8)
    s.add_argument("--depth", type=int, default=3)
    s.add_argument("--instances", type=int, default=30)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--allow-user", action="append", default=[])
    s.add_argument("--usermgr", action="store_true", help="a systemd user manager for the schedules' timers")
    s.add_argument("--database", help="conninfo of a database at the schema head (default: a throwaway cluster)")
    t = sub.add_parser("stop")
    t.add_argument("dir")
    a = ap.parse_args(argv)
    return _cli_start(a) if a.cmd == "start" else _cli_stop(a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Private system-like D-Bus and polkit for tests.

    bus = SystemBus(policies=["dbus/org.stopstart.StopStart1.conf"]).start()
    pk = Polkitd(bus, files=["org.stopstart.StopStart1.policy", "test.rules"]).start()
    env = bus.env()        # DBUS_SYSTEM_BUS_ADDRESS=...
    ...
    pk.stop(); bus.stop()

SystemBus runs dbus-daemon with the default-deny policy of Debian's system bus, our policy files
and the distribution's (polkit, systemd1), on a socket in a fresh directory: nothing outside it
is touched. Polkitd runs the real polkitd in a private mount namespace in which copies of the
action and rules directories (the distribution's actions plus ours) are bind-mounted over
/usr/share/polkit-1/actions and /etc/polkit-1/rules.d. PolkitMock runs python-dbusmock's polkitd
template instead (denial and challenge cases).
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

from sysuser import ensure_system_user

PY = "/usr/bin/python3"

SYSTEM_BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path={dir}/system_bus_socket</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <includedir>{dir}/system.d</includedir>
  <includedir>/usr/share/dbus-1/system.d</includedir>
</busconfig>
"""


def ensure_user(name, groups=()):
    """Creates a system account (no home, no shell) when missing; adds it to groups."""
    return ensure_system_user(name, groups)


def as_user(name):
    """argv prefix that runs a command as another user (uid, gid, supplementary groups)."""
    return ["setpriv", f"--reuid={name}", f"--regid={name}", "--init-groups"]


def alive(pid):
    """True while pid runs; a zombie counts as gone (PID 1 may reap reparented ones late)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def stop_process(proc, timeout=5.0):
    """SIGTERM, wait, SIGKILL: only for processes the test started."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for(cond, timeout=10.0, step=0.02, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    raise TimeoutError(f"timeout waiting for {what}")


class SystemBus:
    def __init__(self, policies=(), basedir=None):
        self.policies = list(policies)
        self.dir = basedir or tempfile.mkdtemp(prefix="ssbus.")
        self.own_dir = basedir is None
        self.proc = None
        self.address = None

    def start(self):
        os.chmod(self.dir, 0o755)  # other test users must reach the socket
        os.makedirs(f"{self.dir}/system.d", exist_ok=True)
        for p in self.policies:
            shutil.copy(p, f"{self.dir}/system.d/")
        with open(f"{self.dir}/system.conf", "w") as f:
            f.write(SYSTEM_BUS_CONF.format(dir=self.dir))
        r, w = os.pipe()
        self.log = open(f"{self.dir}/dbus.log", "w")
        # --nofork keeps stderr (a forked daemon sends it to /dev/null)
        self.proc = subprocess.Popen(["dbus-daemon", f"--config-file={self.dir}/system.conf", "--nofork",
                                      "--nopidfile", f"--print-address={w}"],
                                     pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        os.close(w)
        with os.fdopen(r) as f:
            self.address = f.readline().strip()
        if not self.address:
            raise RuntimeError("dbus-daemon did not start: " + open(f"{self.dir}/dbus.log").read())
        return self

    def env(self, base=None):
        e = dict(os.environ if base is None else base)
        e["DBUS_SYSTEM_BUS_ADDRESS"] = self.address
        return e

    def has_name(self, name):
        return subprocess.run(["busctl", "--system", "status", name], env=self.env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def wait_name(self, name, timeout=10.0, proc=None):
        def ok():
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode} before owning {name}")
            return self.has_name(name)
        wait_for(ok, timeout, 0.05, f"{name} on the bus")

    def stop(self):
        stop_process(self.proc)
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Polkitd:
    """The real polkitd, deciding with the distribution's actions plus ours and our rules."""

    def __init__(self, bus, files=()):
        self.bus = bus
        self.files = list(files)
        self.dir = tempfile.mkdtemp(prefix="sspk.")
        self.proc = None

    def start(self):
        os.makedirs(f"{self.dir}/actions")
        os.makedirs(f"{self.dir}/rules.d")
        for f in os.listdir("/usr/share/polkit-1/actions"):
            shutil.copy(f"/usr/share/polkit-1/actions/{f}", f"{self.dir}/actions/")
        for f in self.files:
            if f.endswith(".policy"):
                shutil.copy(f, f"{self.dir}/actions/")
            elif f.endswith(".rules"):
                shutil.copy(f, f"{self.dir}/rules.d/")
            else:
                raise ValueError(f"{f} is neither .policy nor .rules")
        for root, dirs, files in os.walk(self.dir):  # polkitd drops to its own user
            os.chmod(root, 0o755)
            for n in files:
                os.chmod(os.path.join(root, n), 0o644)
        script = ('mount --bind "$1/actions" /usr/share/polkit-1/actions && '
                  'mount --bind "$1/rules.d" /etc/polkit-1/rules.d && '
                  'exec /usr/lib/polkit-1/polkitd --no-debug')
        self.log = open(f"{self.dir}/polkitd.log", "w")
        self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                                      "sh", self.dir],
                                     env=self.bus.env(), stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        try:
            self.bus.wait_name("org.freedesktop.PolicyKit1", 15, self.proc)
        except Exception:
            raise RuntimeError("polkitd did not start: " + open(f"{self.dir}/polkitd.log").read())
        return self

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class PolkitMock:
    """python-dbusmock's polkitd template: denies everything until told otherwise."""

    def __init__(self, bus):
        self.bus = bus
        self.proc = None

    def start(self):
        ensure_user("polkitd")
        self.proc = subprocess.Popen(as_user("polkitd") + [PY, "-m", "dbusmock", "--system", "--template",
                                                           "polkitd"],
                                     env=self.bus.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.bus.wait_name("org.freedesktop.PolicyKit1", 15, self.proc)
        return self

    def _mock(self, method, sig, *args):
        subprocess.run(["busctl", "--system", "call", "org.freedesktop.PolicyKit1",
                        "/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.DBus.Mock", method, sig,
                        *map(str, args)], env=self.bus.env(), check=True, stdout=subprocess.DEVNULL)

    def allow(self, *actions):
        self._mock("SetAllowed", "as", len(actions), *actions)

    def allow_unknown(self, yes=True):
        self._mock("AllowUnknown", "b", "true" if yes else "false")

    def stop(self):
        stop_process(self.proc)

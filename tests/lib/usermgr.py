#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real systemd manager for tests: `systemd --user`, registered as org.freedesktop.systemd1.

    um = UserManager().start()              # its own private system-like bus
    env = um.env()                          # DBUS_SYSTEM_BUS_ADDRESS=..., XDG_RUNTIME_DIR=...
    um.private_address                      # unix:path=.../run/systemd/private (peer to peer)
    um.restart()                            # stop (SIGTERM) + start: transient units are gone,
                                            # Persistent= stamps stay (in its HOME)
    um.stop()

    bus = busenv.SystemBus(policies=[...]).start()
    um = UserManager(bus=bus).start()       # on that bus, beside polkitd and the daemon

PID 1 here is not systemd, but `systemd --user` serves the same Manager API (StartTransientUnit,
timers, jobs, signals). It refuses to start unless /run/systemd/system exists (created, left in
place). It attaches to an API bus only while ITS OWN dbus.socket and dbus.service units run, and
then connects to $XDG_RUNTIME_DIR/bus. So:
- own bus (default): those units are a socket-activated dbus-daemon with a system-like
  configuration (busenv's), on BASE/bus/system_bus_socket; stopping the manager stops the bus.
- bus=SystemBus: $XDG_RUNTIME_DIR/bus points at that bus's socket, and the two units are
  placeholders (a socket nobody uses, a `sleep infinity` service) that only tell the manager
  "the bus is up"; the bus outlives manager restarts (NameOwnerChanged is what clients see).
Each manager gets its own cgroup subtree in every hierarchy systemd uses (else all managers on
the machine would share /app.slice). user= runs manager, bus and units as that account; a policy
file lets it own org.freedesktop.systemd1 (the distribution's lets only root). Processes are
stopped by PID, never by name.
"""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

from busenv import SYSTEM_BUS_CONF, alive, as_user, wait_for

SYSTEMD = "/usr/lib/systemd/systemd"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class UserManager:
    def __init__(self, basedir=None, user=None, bus=None, policies=()):
        # socket paths are limited to 107 bytes: keep the directory short
        self.base = basedir or tempfile.mkdtemp(prefix="ssum.")
        self.own_base = basedir is None
        self.user = user
        self.bus = bus
        self.policies = list(policies)
        self.proc = None
        self.pid = None
        self.rt = f"{self.base}/run"
        self.home = f"{self.base}/home"
        self.unit_dir = f"{self.home}/.config/systemd/user"
        self.busdir = f"{self.base}/bus"
        self.cgroups = []

    # ---- addresses ----
    @property
    def bus_address(self):
        if self.bus is not None:
            return self.bus.address
        return f"unix:path={self.busdir}/system_bus_socket"

    @property
    def private_address(self):
        """The manager's private socket: what `systemctl --user` uses (peer to peer)."""
        return f"unix:path={self.rt}/systemd/private"

    @property
    def stamp_dir(self):
        """Where Persistent= timers keep their stamps (/var/lib/systemd/timers under PID 1)."""
        return f"{self.home}/.local/share/systemd/timers"

    def env(self, base=None):
        e = dict(os.environ if base is None else base)
        e["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        e["XDG_RUNTIME_DIR"] = self.rt
        return e

    # ---- setup ----
    def _write(self, path, text):
        with open(path, "w") as f:
            f.write(text)

    def _prepare(self):
        os.makedirs("/run/systemd/system", exist_ok=True)   # sd_booted()
        os.makedirs(self.rt, exist_ok=True)
        os.makedirs(self.unit_dir, exist_ok=True)
        os.makedirs(f"{self.busdir}/system.d", exist_ok=True)
        os.chmod(self.rt, 0o700)
        os.chmod(self.base, 0o755)
        os.chmod(self.busdir, 0o755)
        if self.bus is None:
            for p in self.policies:
                shutil.copy(p, f"{self.busdir}/system.d/")
            if self.user:
                self._write(f"{self.busdir}/system.d/usermgr-owner.conf",
                            f'<busconfig><policy user="{self.user}"><allow own="org.freedesktop.systemd1"/>'
                            f'</policy></busconfig>\n')
            self._write(f"{self.busdir}/system.conf", SYSTEM_BUS_CONF.format(dir=self.busdir))
            self._write(f"{self.unit_dir}/dbus.socket",
                        "[Unit]\nDescription=Private system-like bus socket\n"
                        f"[Socket]\nListenStream={self.busdir}/system_bus_socket\nSocketMode=0666\n")
            self._write(f"{self.unit_dir}/dbus.service",
                        "[Unit]\nDescription=Private system-like bus\nRequires=dbus.socket\n"
                        "[Service]\nType=notify\nNotifyAccess=main\n"
                        f"ExecStart=/usr/bin/dbus-daemon --config-file={self.busdir}/system.conf "
                        "--address=systemd: --nofork --nopidfile\n"
                        f"StandardError=append:{self.busdir}/dbus.log\n")
            target = f"{self.busdir}/system_bus_socket"
        else:
            # placeholders: the manager only checks that these run, then connects to $XDG_RUNTIME_DIR/bus
            self._write(f"{self.unit_dir}/dbus.socket",
                        "[Unit]\nDescription=Placeholder: the bus is the test's dbus-daemon\n"
                        f"[Socket]\nListenStream={self.busdir}/unused_socket\n")
            self._write(f"{self.unit_dir}/dbus.service",
                        "[Unit]\nDescription=Placeholder: the bus is the test's dbus-daemon\n"
                        "Requires=dbus.socket\n[Service]\nExecStart=/bin/sleep infinity\n")
            target = self.bus.address.split("path=", 1)[1].split(",")[0]
            if self.user:
                # the test bus reads its policy directory at start-up: reload it after adding ours
                self._write(f"{self.bus.dir}/system.d/usermgr-owner-{self.user}.conf",
                            f'<busconfig><policy user="{self.user}"><allow own="org.freedesktop.systemd1"/>'
                            f'</policy></busconfig>\n')
                subprocess.run(["busctl", "--system", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "ReloadConfig"], env=self.bus.env(), check=True,
                               stdout=subprocess.DEVNULL)
        link = f"{self.rt}/bus"
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(target, link)
        if self.user:
            pw = pwd.getpwnam(self.user)
            for root, dirs, files in os.walk(self.base):
                os.lchown(root, pw.pw_uid, pw.pw_gid)
                for n in dirs + files:
                    os.lchown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
        if not self.cgroups:
            name = f"usermgr-{os.path.basename(self.base)}-{os.getpid()}"
            for h in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup"):
                if not os.path.exists(f"{h}/cgroup.procs"):
                    continue
                if h != "/sys/fs/cgroup/systemd" and subprocess.run(
                        ["stat", "-f", "-c", "%T", h], capture_output=True, text=True).stdout.strip() != "cgroup2fs":
                    continue
                d = f"{h}/{name}"
                os.makedirs(d, exist_ok=True)
                if self.user:   # delegate the subtree
                    pw = pwd.getpwnam(self.user)
                    for root, dirs, files in os.walk(d):
                        os.chown(root, pw.pw_uid, pw.pw_gid)
                        for n in files:
                            try:
                                os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
                            except OSError:
                                pass
                self.cgroups.append(d)

    def systemctl(self, *args, check=True, capture=True):
        """systemctl --user against this manager (through its private socket)."""
        prefix = as_user(self.user) if self.user else []
        return subprocess.run(prefix + ["env", f"XDG_RUNTIME_DIR={self.rt}", "systemctl", "--user", *args],
                              check=check, capture_output=capture, text=True)

    def start(self, timeout=20.0):
        self._prepare()
        prefix = " ".join(as_user(self.user)) if self.user else ""
        moves = "; ".join(f'echo $$ > "{d}/cgroup.procs"' for d in self.cgroups) or ":"
        user_env = f"USER={self.user} LOGNAME={self.user}" if self.user else ""
        script = (f"{moves}; exec setsid {prefix} env -i PATH={PATH} XDG_RUNTIME_DIR={self.rt} HOME={self.home} "
                  f"LANG=C.UTF-8 SYSTEMD_LOG_TARGET=console {user_env} {SYSTEMD} --user")
        self.log = open(f"{self.base}/systemd.log", "a")
        self.proc = subprocess.Popen(["sh", "-c", script], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        try:
            def running():
                if self.proc.poll() is not None:
                    raise RuntimeError("systemd --user exited: " + open(f"{self.base}/systemd.log").read()[-3000:])
                st = self.systemctl("is-system-running", check=False).stdout.strip()
                return st in ("running", "degraded")
            wait_for(running, timeout, 0.05, "systemd --user")
            self.systemctl("start", "dbus.socket", "dbus.service")
            wait_for(self.owns_name, timeout, 0.05, "org.freedesktop.systemd1 on the bus")
        except Exception:
            self.stop()
            raise
        return self

    def owns_name(self):
        return subprocess.run(["busctl", "--system", "status", "org.freedesktop.systemd1"], env=self.env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def _stop_pid(self, pid, timeout=5.0):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        end = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < end:
            time.sleep(0.02)
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self, kill=False):
        """SIGTERM (or SIGKILL with kill=True) to the manager, by PID; then whatever is left in
        its cgroups (a killed manager leaves its units' processes), by PID."""
        if self.proc is not None:
            if kill:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self._stop_pid(self.pid)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        if getattr(self, "log", None) is not None:
            self.log.close()
            self.log = None
        for _ in range(3):
            left = set()
            for d in self.cgroups:
                for root, dirs, files in os.walk(d):
                    try:
                        with open(f"{root}/cgroup.procs") as f:
                            left.update(int(x) for x in f.read().split())
                    except OSError:
                        pass
            if not left:
                break
            for pid in left:
                self._stop_pid(pid)

    def cleanup(self):
        self.stop()
        for d in self.cgroups:
            for root, dirs, files in os.walk(d, topdown=False):
                try:
                    os.rmdir(root)
                except OSError:
                    pass
        self.cgroups = []
        if self.bus is not None and self.user:
            try:
                os.unlink(f"{self.bus.dir}/system.d/usermgr-owner-{self.user}.conf")
            except OSError:
                pass
        if self.own_base:
            shutil.rmtree(self.base, ignore_errors=True)

    def restart(self, kill=False):
        self.stop(kill=kill)
        if self.bus is None:
            # the old bus socket file stays behind; the socket unit binds it again
            try:
                os.unlink(f"{self.busdir}/system_bus_socket")
            except OSError:
                pass
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

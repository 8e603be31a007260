# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the daemon announces: a `busctl monitor` of one stack's PropertiesChanged signals, read in a
thread, for tests that count signals or follow a property's values as a client sees them."""

import collections
import json
import subprocess
import threading
import time

from busenv import wait_for
from ssstack import BUS_NAME

# changed: {name: value}; invalidated: {name}
PropSignal = collections.namedtuple("PropSignal", "path interface changed invalidated")


class PropMonitor:
    def __init__(self, st):
        self.st = st
        self.signals = []
        self.lock = threading.Lock()

    def __enter__(self):
        self.proc = subprocess.Popen(
            ["busctl", "--system", "monitor", "--json=short",
             f"--match=type='signal',sender='{BUS_NAME}',interface='org.freedesktop.DBus.Properties',"
             "member='PropertiesChanged'"],
            env=self.st.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()   # busctl says so once its match is in place
        if "Monitoring" not in line:
            raise RuntimeError(f"busctl monitor did not start: {line}")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        return self

    def _read(self):
        for line in self.proc.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            iface, changed, invalidated = m["payload"]["data"]
            with self.lock:
                self.signals.append(PropSignal(m["path"], iface, {k: v["data"] for k, v in changed.items()},
                                               set(invalidated)))

    def for_path(self, path):
        with self.lock:
            return [s for s in self.signals if s.path == path]

    def values(self, path, name):
        """Every value of name announced for path, oldest first."""
        return [s.changed[name] for s in self.for_path(path) if name in s.changed]

    def last(self, path, name):
        v = self.values(path, name)
        return v[-1] if v else None

    def paths(self):
        with self.lock:
            return {s.path for s in self.signals}

    def settle(self, seconds=0.6):
        """The daemon coalesces on an idle source; give it (and busctl) a moment."""
        time.sleep(seconds)

    def wait(self, path, n, timeout=15):
        """Until path has had n signals, then a moment more, so that one too many would show."""
        wait_for(lambda: len(self.for_path(path)) >= n, timeout, 0.05, f"{n} PropertiesChanged on {path}")
        self.settle()
        return self.for_path(path)

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()
        self.thread.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()

# SPDX-License-Identifier: LGPL-2.1-or-later
"""A second host on this machine, for tests where a host must vanish: a network namespace joined to
ours by a veth pair (host_addr here, peer_addr there: a /30 of 10.213.0.0/16 picked by our pid).
silence() makes the link drop every packet both ways without telling anyone (blackhole routes: no
RST, no ICMP, the link stays up), as when a machine loses power or its network; speak() undoes it.
Needs root and a kernel that allows network namespaces: start() raises CalledProcessError (its
stderr says why) where they cannot be made."""

import os
import subprocess


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


class Peer:
    def __init__(self, name=None):
        self.name = name or f"ss{os.getpid() % 100000}"
        self.host_if = f"{self.name}h"
        self.peer_if = f"{self.name}p"
        self.up = False
        n = os.getpid() % 16384
        self.host_addr = f"10.213.{n // 64}.{(n % 64) * 4 + 1}"
        self.peer_addr = f"10.213.{n // 64}.{(n % 64) * 4 + 2}"

    def start(self):
        _ip("netns", "add", self.name)
        self.up = True   # stop() cleans up after a half-made start
        _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.peer_if)
        _ip("link", "set", self.peer_if, "netns", self.name)
        _ip("addr", "add", f"{self.host_addr}/30", "dev", self.host_if)
        _ip("link", "set", self.host_if, "up")
        _ip("-n", self.name, "addr", "add", f"{self.peer_addr}/30", "dev", self.peer_if)
        _ip("-n", self.name, "link", "set", self.peer_if, "up")
        _ip("-n", self.name, "link", "set", "lo", "up")
        return self

    def prefix(self):
        """What runs a command on the other host."""
        return ["ip", "netns", "exec", self.name]

    def silence(self):
        _ip("route", "replace", "blackhole", f"{self.peer_addr}/32")
        _ip("-n", self.name, "route", "replace", "blackhole", f"{self.host_addr}/32")

    def speak(self):
        _ip("route", "del", "blackhole", f"{self.peer_addr}/32", check=False)
        _ip("-n", self.name, "route", "del", "blackhole", f"{self.host_addr}/32", check=False)

    def stop(self):
        if not self.up:
            return
        self.speak()
        _ip("link", "del", self.host_if, check=False)   # takes its peer with it
        _ip("netns", "del", self.name, check=False)
        self.up = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A bounded D-Bus fuzzer in the manner of dfuzzer (not packaged for Debian 12): introspects every
object of a service, then calls every method and sets every writable property with random typed
values, wrong signatures, huge strings, strings of multi-byte characters whose byte cuts fall
inside a character, control characters, and unknown object paths. Every call must get an answer
(a reply or an error) within the timeout: a call left unanswered is the failure it hunts.

    busfuzz.py ADDRESS DEST ROOT [--calls N] [--seed S] [--skip METHOD ...] [--timeout SECONDS]

Run as the user whose view it tests (setpriv). Prints one JSON object: calls, answered,
unanswered (the first ones, with their arguments' signature), error names with counts, the
slowest answer."""
import argparse
import json
import random
import re
import sys
import time
import xml.etree.ElementTree as ET

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

KEYS = ["managed", "stop_mode", "soft_stop_timeout", "priority", "note", "override_state", "override_until",
        "compartment", "instance", "state", "limit", "since", "until", "name", "action", "specs", "time_zone",
        "targets", "enabled", "grace", "enforce", "exceptions", "max_targets", "valid_from", "valid_until",
        "region", "actor", "after", "subtree", "dry_run", "tag", "x" * 300, "é" * 50, ""]
# single complete types (variant contents, property values) and argument lists (wrong signatures)
VTYPES = ["s", "u", "t", "b", "a{sv}", "as", "o", "i", "x", "d", "(ss)", "ay", "a(ss)", "v", "y", "n", "q", "g"]
SIGS = VTYPES + ["ss", "su", "tt", "sa{sv}", "st", "uu"]


class Fuzzer:
    def __init__(self, address, dest, root, seed, timeout):
        flags = Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
        self.conn = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
        self.dest, self.root = dest, root
        self.rnd = random.Random(seed)
        self.timeout_ms = int(timeout * 1000)
        self.words = ["", "a", "web-1", "nope", "ocid1.instance.oc1..nope", "/", "..", "tree/dev", "daily",
                      "Mon..Fri 19:00", "UTC", "Europe/Berlin", "tag:env=prod", "compartment:nowhere"]
        self.paths = [root, root + "/instance/nope", root + "/job/4294967295", root + "/schedule/0",
                      "/org/stopstart", "/"]
        self.calls = self.answered = 0
        self.unanswered = []
        self.errors = {}
        self.slowest = (0.0, "")

    # ---- values ----
    def string(self):
        r = self.rnd.random()
        if r < 0.35:
            return self.rnd.choice(self.words)
        if r < 0.5:
            return "a" + "é" * self.rnd.randint(30, 400)           # byte cuts fall inside an 'é'
        if r < 0.6:
            return "".join(chr(self.rnd.choice([1, 7, 8, 9, 10, 13, 27, 0x7f, 0x85, 0x2028])) for _ in range(20))
        if r < 0.7:
            return "x" * self.rnd.choice([1024, 65536, 1 << 20])
        if r < 0.8:
            return "🙂" * self.rnd.randint(1, 300) + "\u200b\u202e"
        return "".join(self.rnd.choice("abcXYZ019 ._-/:*=%'\"\\") for _ in range(self.rnd.randint(0, 40)))

    def number(self, bits, signed):
        edge = [0, 1, -1, 2 ** (bits - 1) - 1, -(2 ** (bits - 1)), 2 ** bits - 1, 1000, 10 ** 6, 86400 * 10 ** 6]
        v = self.rnd.choice(edge) if self.rnd.random() < 0.7 else self.rnd.getrandbits(bits)
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
        return min(max(v, lo), hi)

    def value(self, t, depth=0):
        """A Python value for GLib.Variant of type string t."""
        c = t[0]
        if c == "s":
            return self.string()
        if c == "o":
            return self.rnd.choice(self.paths)
        if c == "g":
            return self.rnd.choice(SIGS)
        if c == "b":
            return self.rnd.random() < 0.5
        if c == "y":
            return self.rnd.randint(0, 255)
        if c in "nqiuxt":
            bits = {"n": 16, "q": 16, "i": 32, "u": 32, "x": 64, "t": 64}[c]
            return self.number(bits, c in "nix")
        if c == "d":
            return self.rnd.choice([0.0, -1.0, 1e308, float("inf"), float("nan"), 0.5])
        if c == "v":
            sig = self.rnd.choice(VTYPES) if depth < 3 else "s"
            return GLib.Variant(sig, self.value(sig, depth + 1))
        if c == "a":
            inner = t[1:]
            n = self.rnd.choice([0, 1, 2, 3, 8]) if depth < 3 else 0
            if inner.startswith("{"):
                kt, vt = split_dict(inner)
                out = {}
                for _ in range(n):
                    k = self.rnd.choice(KEYS) if kt == "s" and self.rnd.random() < 0.8 else self.value(kt, depth + 1)
                    out[k] = self.value(vt, depth + 1)
                return out
            return [self.value(inner, depth + 1) for _ in range(n)]
        if c == "(":
            return tuple(self.value(x, depth + 1) for x in split_tuple(t))
        raise ValueError(f"type {t}")

    # ---- calls ----
    def send(self, path, iface, method, sig, args, what):
        msg = Gio.DBusMessage.new_method_call(self.dest, path, iface, method)
        if sig:
            try:
                msg.set_body(GLib.Variant(f"({sig})", tuple(args)))
            except (TypeError, OverflowError, ValueError):
                return
        self.calls += 1
        t0 = time.monotonic()
        try:
            reply, _ = self.conn.send_message_with_reply_sync(msg, Gio.DBusSendMessageFlags.NONE, self.timeout_ms, None)
        except GLib.Error as e:
            if e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT):
                if len(self.unanswered) < 20:
                    self.unanswered.append(f"{path} {iface}.{method}({sig}) {what}")
                return
            raise
        dt = time.monotonic() - t0
        self.answered += 1
        if dt > self.slowest[0]:
            self.slowest = (dt, f"{iface}.{method}({sig}) {what}")
        if reply.get_message_type() == Gio.DBusMessageType.ERROR:
            name = reply.get_error_name()
            self.errors[name] = self.errors.get(name, 0) + 1

    def introspect(self):
        """[(path, iface, kind, name, sig)] for every method and writable property."""
        found, todo, seen = [], [self.root], set()
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            r = self.conn.call_sync(self.dest, path, "org.freedesktop.DBus.Introspectable", "Introspect", None,
                                    GLib.VariantType("(s)"), Gio.DBusCallFlags.NONE, 30000, None)
            node = ET.fromstring(r.unpack()[0])
            for child in node.findall("node"):
                todo.append(path.rstrip("/") + "/" + child.get("name"))
            for iface in node.findall("interface"):
                iname = iface.get("name")
                if not iname.startswith("org.stopstart."):
                    continue
                for m in iface.findall("method"):
                    sig = "".join(a.get("type") for a in m.findall("arg") if a.get("direction", "in") == "in")
                    found.append((path, iname, "method", m.get("name"), sig))
                for p in iface.findall("property"):
                    if "write" in p.get("access", ""):
                        found.append((path, iname, "property", p.get("name"), p.get("type")))
            if len(seen) > 60:          # a sample of objects of each kind is enough
                todo = [p for p in todo if re.search(r"/(schedule|job)/", p)][:10]
        for path in seen:
            if path not in self.paths:
                self.paths.append(path)
        return found

    def run(self, n, skip):
        targets = [t for t in self.introspect() if t[3] not in skip]
        for i in range(n):
            path, iface, kind, name, sig = self.rnd.choice(targets)
            r = self.rnd.random()
            if r < 0.08:
                path = self.rnd.choice(self.paths[:6])                         # unknown or wrong object
            if kind == "property":
                wrong = r > 0.85
                t = self.rnd.choice(VTYPES) if wrong else sig
                self.send(path, "org.freedesktop.DBus.Properties", "Set", "ssv",
                          [iface, name, GLib.Variant(t, self.value(t))], f"Set {name} as {t}")
            elif 0.08 <= r < 0.2:
                wrong = self.rnd.choice(SIGS + [""])                          # wrong signature
                self.send(path, iface, name, wrong, [self.value(x) for x in split_tuple(f"({wrong})")] if wrong else [],
                          "wrong signature")
            else:
                self.send(path, iface, name, sig, [self.value(x) for x in split_tuple(f"({sig})")] if sig else [],
                          "typed")
        return {"calls": self.calls, "answered": self.answered, "unanswered": self.unanswered,
                "errors": self.errors, "slowest": {"seconds": round(self.slowest[0], 3), "call": self.slowest[1]},
                "methods": len(targets)}


def split_tuple(t):
    """'(sa{sv}t)' -> ['s', 'a{sv}', 't']"""
    inner, out, i = t[1:-1], [], 0
    while i < len(inner):
        j = complete_type(inner, i)
        out.append(inner[i:j])
        i = j
    return out


def split_dict(t):
    """'{sv}' -> ('s', 'v')"""
    k = complete_type(t, 1)
    return t[1:k], t[k:-1]


def complete_type(s, i):
    """End index of the complete type starting at s[i]."""
    c = s[i]
    if c == "a":
        return complete_type(s, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        i += 1
        while s[i] != close:
            i = complete_type(s, i)
        return i + 1
    return i + 1


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("address")
    ap.add_argument("dest")
    ap.add_argument("root")
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip", nargs="*", default=[])
    ap.add_argument("--timeout", type=float, default=10.0)
    a = ap.parse_args(argv)
    f = Fuzzer(a.address, a.dest, a.root, a.seed, a.timeout)
    print(json.dumps(f.run(a.calls, set(a.skip))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

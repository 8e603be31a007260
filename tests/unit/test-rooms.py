#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The rooms' include graph (README "Layout"): the domain (daemon/core, daemon/exec,
daemon/discovery, store/, oci/) never includes a daemon/bus header nor sends on the bus itself
(it marks changes; daemon/bus/bus-emit.c announces them), no include cycle runs through
daemon/bus, the daemon names the API's errors in one place (daemon/bus/bus-error.c turns
-errno into them), and its SQL is all in store/ (nothing under daemon/ sends a statement or
reads a result); the libraries below the daemon (shared, oci, model, migrate, store, pid1,
discovery) are layers, none including a header of one built on it. Run on the source tree, and first on small trees that break each rule, so that the
check itself is known to catch them."""

import os
import re
import sys
import tempfile

DOMAIN = ("model", "daemon/core", "daemon/exec", "daemon/discovery", "store", "oci")
# The libraries under the daemon: each builds on the ones before it and never reaches back up
# (a room's include of a later room, or of daemon/, is a cycle waiting to happen).
LAYERS = ("shared", "oci", "model", "migrate", "store", "daemon/pid1", "daemon/discovery")
BUS = "daemon/bus"
ROOMS = ("shared", "oci", "model", "store", "migrate", "migrations", "daemon/core", "daemon/exec", "daemon/discovery",
         "daemon/pid1", BUS, "daemon", "ctl")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# calls that put something on the bus: signals, replies, messages
SEND = re.compile(r'\bsd_bus_(emit_\w+|send\w*|reply_\w+)\s*\(')
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
API_ERROR = re.compile(r'\bSS_ERROR_(?!PREFIX\b)\w+')
ERROR_MAP = "daemon/bus/bus-error.c"
SQL_CALL = re.compile(r'\b(db_query\w*|PQ[a-z]\w*)\s*\(')
SQL_TEXT = re.compile(r'"[^"\n]*\b(SELECT|INSERT INTO|DELETE FROM|UPDATE\s+\w+\.\w+\s+SET)\b')


def room_of(root, path):
    rel = os.path.relpath(path, root)
    for room in sorted(ROOMS, key=len, reverse=True):
        if rel == room or rel.startswith(room + "/"):
            return room
    return None


def scan(root):
    """files: {path: (room, [included names], text without comments)}, headers: {name: room}"""
    files, headers = {}, {}
    for room in ROOMS:
        d = os.path.join(root, room)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if not os.path.isfile(p) or not name.endswith((".c", ".h")):
                continue
            with open(p, encoding="utf-8") as f:
                text = COMMENT.sub("", f.read())
            files[p] = (room, INCLUDE.findall(text), text)
            if name.endswith(".h"):
                headers.setdefault(name, room)
    return files, headers


def cycles_through(graph, node):
    """Rooms on a cycle with node: those node reaches that also reach node."""
    def reach(start, edges):
        seen, todo = set(), [start]
        while todo:
            for n in edges.get(todo.pop(), ()):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return seen
    reverse = {}
    for a, bs in graph.items():
        for b in bs:
            reverse.setdefault(b, set()).add(a)
    return sorted((reach(node, graph) & reach(node, reverse)) - {node})


def check(root):
    files, headers = scan(root)
    problems = []
    graph = {}
    for path, (room, includes, text) in files.items():
        rel = os.path.relpath(path, root)
        for inc in includes:
            target = headers.get(os.path.basename(inc))
            if target and target != room:
                graph.setdefault(room, set()).add(target)
            if room in LAYERS and target and target != room and (
                    target not in LAYERS or LAYERS.index(target) > LAYERS.index(room)):
                problems.append(f"{rel}: {room}/ includes {inc} of {target}/, which builds on it")
            if room in DOMAIN and (target == BUS or inc.endswith("-dbus.h")):
                problems.append(f"{rel}: the domain includes {inc} (of {target or 'a bus object'})")
        if room in DOMAIN:
            for m in SEND.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{rel}:{line}: the domain sends on the bus (sd_bus_{m.group(1)}): mark the "
                                f"change instead")
        if rel.startswith("daemon/"):
            for m in list(SQL_CALL.finditer(text)) + list(SQL_TEXT.finditer(text)):
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{rel}:{line}: SQL outside store/ ({m.group(1)}): add a store/ function")
        if rel.startswith("daemon/") and rel != ERROR_MAP:
            for m in API_ERROR.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{rel}:{line}: {m.group(0)} named outside {ERROR_MAP}: pass the -errno to "
                                f"bus_error_errno()")
    cycle = cycles_through(graph, BUS)
    if cycle:
        problems.append(f"include cycle between {BUS} and " + ", ".join(cycle))
    return problems


def write(root, rel, text):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w", encoding="utf-8") as f:
        f.write(text)


def self_test():
    cases = {
        "include": {"daemon/core/a.c": '#include "b-dbus.h"\n', "daemon/bus/b-dbus.h": ""},
        "send": {"store/s.c": "void f(void) { sd_bus_emit_signal(bus, p); }\n"},
        "sql call": {"daemon/exec/j.c": "void f(void) { db_query(db, q, 0, 0, 0, h, 0); }\n"},
        "sql text": {"daemon/core/m.c": 'const char q[] = "UPDATE stopstart.jobs SET state = 1";\n'},
        "error name": {"daemon/bus/x-dbus.c": "int f(void) { return bus_error_set(e, SS_ERROR_BUSY, 0); }\n"},
        "cycle": {"daemon/bus/b.h": '#include "c.h"\n', "daemon/core/c.h": '#include "d.h"\n',
                  "daemon/exec/d.h": '#include "b.h"\n'},
        "layer": {"store/s.h": '#include "m.h"\n', "daemon/core/m.h": ""},
        "layer order": {"oci/o.c": '#include "s.h"\n', "store/s.h": ""},
    }
    clean = {"daemon/core/a.c": '#include "b.h"\n/* sd_bus_emit_signal() is the bus layer\'s */\n',
             "daemon/bus/e.c": '#include "b.h"\nvoid f(void) { sd_bus_emit_signal(bus, p); }\n',
             "daemon/bus/bus-error.c": "const char *f(void) { return SS_ERROR_BUSY; }\n",
             "daemon/core/b.h": "",
             "daemon/core/u.c": '#include "s.h"\n#include "v.h"\n', "model/v.h": '#include "o.h"\n',
             "oci/o.h": "",
             "store/s.c": 'const char q[] = "SELECT 1"; void f(void) { db_query(db, q, 0, 0, 0, h, 0); }\n',
             "daemon/core/n.c": "/* a write queued behind a SELECT lands after it */\n"}
    for what, tree in list(cases.items()) + [("clean", clean)]:
        with tempfile.TemporaryDirectory() as root:
            for rel, text in tree.items():
                write(root, rel, text)
            found = check(root)
        if (what == "clean") != (not found):
            sys.exit(f"self-test '{what}': {found or 'not detected'}")


def main():
    self_test()
    root = os.environ.get("STOPSTART_SOURCE_ROOT") or os.path.join(os.path.dirname(__file__), "..", "..")
    problems = check(root)
    for p in problems:
        print(p, file=sys.stderr)
    n = len(scan(root)[0])
    if n < 50:
        sys.exit(f"only {n} source files found under {root}: wrong root?")
    if problems:
        return 1
    print(f"# {n} files: the domain never reaches {BUS}, the layers {', '.join(LAYERS)} never reach back up, "
          f"errors are named in {ERROR_MAP}, SQL is in store/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

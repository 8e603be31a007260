#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Embeds migrations/*.sql (migrations/schema.sql, the declared schema, included) and
migrations/schema.snapshot into a generated C file.

    gen-migrations.py DIR OUTPUT.c     write OUTPUT.c (only when its content changes)
    gen-migrations.py --check DIR      validate only

The rules are those of migration.h (file names, pairing, header options, checksum
normalisation); migration.c implements them again at run time and refuses to start when the two
disagree on an embedded file, and tests/unit/test-gen-migrations.py covers the refusals here.
Exit status 1 with "gen-migrations: FILE: reason" on stderr for a bad set.
"""
import hashlib
import os
import re
import sys

NAME_RE = re.compile(r"^([0-9]{4})_([a-z0-9][a-z0-9_]*)\.(up|down|verify)\.sql$")
KINDS = {"up": 0, "down": 1, "verify": 2}
OPTION_LIST_RE = re.compile(r"^[a-z][a-z0-9-]*(?:[ \t]*,[ \t]*[a-z][a-z0-9-]*)*$")
DIRECTIVE_RE = re.compile(r"^[ \t]*--[ \t]*stopstart:(.*)$")
KNOWN_OPTIONS = {"no-transaction": 1}     # name -> MigrationFlags bit


class SetError(Exception):
    pass


def normalize(data: bytes) -> bytes:
    if b"\0" in data:
        raise ValueError("contains a NUL byte (not a SQL text file)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if data and not data.endswith(b"\n"):
        data += b"\n"
    return data


def parse_header(text: bytes, kind: str):
    """Returns the MigrationFlags bits; raises ValueError("N: reason") (N = line)."""
    flags = 0
    in_header = True
    lines = text.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for n, raw in enumerate(lines, 1):
        line = raw.decode("utf-8", errors="replace")
        stripped = line.lstrip(" \t")
        if in_header and stripped and not stripped.startswith("--"):
            in_header = False
        m = DIRECTIVE_RE.match(line)
        if not m:
            continue
        payload = m.group(1).strip(" \t")
        if OPTION_LIST_RE.match(payload):
            if not in_header:
                raise ValueError(f'{n}: option line "-- stopstart: {payload}" after the header '
                                 "(options go before the first statement)")
            for word in re.split(r"[ \t]*,[ \t]*", payload):
                if word not in KNOWN_OPTIONS:
                    raise ValueError(f'{n}: unknown option "{word}" (known: no-transaction)')
                if kind == "verify":
                    raise ValueError(f'{n}: option "{word}" is not allowed in a verify script '
                                     "(it always runs in a transaction that is rolled back)")
                flags |= KNOWN_OPTIONS[word]
        else:
            folded = "-".join(w.lower() for w in re.split(r"[^A-Za-z0-9]+", payload) if w)
            if folded in KNOWN_OPTIONS:
                raise ValueError(f'{n}: malformed option "{payload}" (write: -- stopstart: {folded})')
    return flags


def load(directory):
    """Returns (scripts sorted by version and kind, snapshot bytes or None, declared schema bytes or None)."""
    try:
        names = sorted(os.listdir(directory))
    except OSError as e:
        raise SetError(f"{directory}: cannot open migrations directory: {e.strerror}")
    scripts = []
    for name in names:
        if name.startswith(".") or not name.endswith(".sql") or name == "schema.sql":
            continue
        path = os.path.join(directory, name)
        m = NAME_RE.match(name)
        if not m or int(m.group(1)) == 0:
            raise SetError(f"{path}: bad migration file name (expected NNNN_slug.up.sql, NNNN_slug.down.sql or "
                           "NNNN_slug.verify.sql; NNNN from 0001, slug of a-z, 0-9 and _)")
        if not os.path.isfile(path):
            raise SetError(f"{path}: not a regular file")
        with open(path, "rb") as f:
            raw = f.read()
        try:
            text = normalize(raw)
            flags = parse_header(text, m.group(3))
        except ValueError as e:
            raise SetError(f"{path}:{e}" if str(e)[:1].isdigit() else f"{path}: {e}")
        scripts.append({"version": int(m.group(1)), "slug": m.group(2), "kind": m.group(3), "name": name,
                        "path": path, "text": text, "flags": flags,
                        "checksum": hashlib.sha256(text).hexdigest()})

    scripts.sort(key=lambda s: (s["version"], KINDS[s["kind"]], s["name"]))
    by_version = {}
    for s in scripts:
        v = by_version.setdefault(s["version"], {})
        first = next(iter(v.values()), None)
        if first and first["slug"] != s["slug"]:
            raise SetError(f"duplicate migration number {s['version']:04d}: {first['path']} and {s['path']}")
        v[s["kind"]] = s
    for version, v in sorted(by_version.items()):
        first = next(iter(v.values()))
        for kind in ("up", "down"):
            if kind not in v:
                raise SetError(f"{first['path']}: no matching {version:04d}_{first['slug']}.{kind}.sql "
                               "(every migration needs both an up and a down script)")

    snapshot = None
    spath = os.path.join(directory, "schema.snapshot")
    if os.path.exists(spath):
        with open(spath, "rb") as f:
            snapshot = normalize(f.read())
    declared = None
    dpath = os.path.join(directory, "schema.sql")
    if os.path.exists(dpath):
        with open(dpath, "rb") as f:
            try:
                declared = normalize(f.read())
            except ValueError as e:
                raise SetError(f"{dpath}: {e}")
    return scripts, snapshot, declared


def c_string(data: bytes, indent="        "):
    """A C string literal, one source line per text line."""
    if not data:
        return '""'
    out = []
    for line in data.splitlines(keepends=True):
        s = []
        for b in line:
            c = chr(b)
            if c == "\\":
                s.append("\\\\")
            elif c == '"':
                s.append('\\"')
            elif c == "?":
                s.append("\\?")               # no trigraphs, whatever the compiler mode
            elif c == "\n":
                s.append("\\n")
            elif c == "\t":
                s.append("\\t")
            elif 0x20 <= b < 0x7f:
                s.append(c)
            else:
                s.append(f"\\{b:03o}")
        out.append('"' + "".join(s) + '"')
    return ("\n" + indent).join(out)


def generate(scripts, snapshot, declared=None):
    lines = ["/* Generated by migrations/gen-migrations.py from the .sql files of migrations/. Do not edit. */",
             '#include "migrations-embedded.h"', ""]
    for i, s in enumerate(scripts):
        lines.append(f"/* {s['name']} */")
        lines.append(f"static const char script_{i}[] =\n        {c_string(s['text'])};")
        lines.append("")
    lines.append("const EmbeddedMigrationScript embedded_migration_scripts[] = {")
    for i, s in enumerate(scripts):
        lines.append(f"        {{ {s['version']}, {KINDS[s['kind']]}, \"{s['name']}\", script_{i}, "
                     f"sizeof(script_{i}) - 1, \"{s['checksum']}\", {s['flags']} }},")
    if not scripts:
        lines.append("        { 0, 0, \"\", \"\", 0, \"\", 0 },   /* placeholder: C has no empty arrays */")
    lines.append("};")
    lines.append(f"const size_t embedded_migration_scripts_count = {len(scripts)};")
    lines.append("")
    if snapshot is None:
        lines.append("const char *const embedded_schema_snapshot = NULL;")
    else:
        lines.append(f"const char *const embedded_schema_snapshot =\n        {c_string(snapshot)};")
    if declared is None:
        lines.append("const char *const embedded_declared_schema = NULL;")
    else:
        lines.append(f"const char *const embedded_declared_schema =\n        {c_string(declared)};")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        directory, output = argv[2], None
    elif len(argv) == 3:
        directory, output = argv[1], argv[2]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        scripts, snapshot, declared = load(directory)
    except SetError as e:
        print(f"gen-migrations: {e}", file=sys.stderr)
        return 1
    if output is None:
        print(f"gen-migrations: {directory}: {len({s['version'] for s in scripts})} migrations OK")
        return 0
    text = generate(scripts, snapshot, declared)
    try:
        with open(output) as f:
            if f.read() == text:
                return 0              # unchanged: ninja's restat then skips the recompile
    except FileNotFoundError:
        pass
    tmp = output + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""migrations/gen-migrations.py: what it embeds, and every set it must refuse."""
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import unittest

SOURCE_ROOT = os.environ.get("STOPSTART_SOURCE_ROOT",
                             os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
GEN = os.path.join(SOURCE_ROOT, "migrations", "gen-migrations.py")


def gen(directory, output=None):
    argv = ["/usr/bin/python3", GEN] + ([directory, output] if output else ["--check", directory])
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Generator(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, data):
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())

    def pair(self, base, up="SELECT 1;\n", down="SELECT 1;\n"):
        self.write(base + ".up.sql", up)
        self.write(base + ".down.sql", down)

    def refuses(self, pattern):
        r = gen(self.dir)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, pattern)
        # Building refuses too, and writes nothing.
        out = os.path.join(self.dir, "out.c")
        r = gen(self.dir, out)
        self.assertEqual(r.returncode, 1)
        self.assertFalse(os.path.exists(out))

    def test_good_set(self):
        self.pair("0002_second", up=b"\xef\xbb\xbf-- stopstart: no-transaction\r\nCREATE INDEX CONCURRENTLY i ON t (a);\r\n")
        self.pair("0001_first", up="CREATE TABLE t (a int);")
        self.write("0001_first.verify.sql", "SELECT 'it''s \"quoted\" ??= \\\\ fine';\n")
        self.write("README.md", "not a migration")
        self.write(".#0003_lock.up.sql", "editor lock file")
        self.write("schema.snapshot", "-- head: 0002_second\ntable s.t\r\n")
        out = os.path.join(self.dir, "out.c")
        r = gen(self.dir, out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            c = f.read()
        rows = re.findall(r'\{ (\d+), (\d), "([^"]+)", script_\d+, sizeof\(script_\d+\) - 1, "([0-9a-f]{64})", (\d) \}', c)
        self.assertEqual([(int(v), int(k), n, int(fl)) for v, k, n, _, fl in rows],
                         [(1, 0, "0001_first.up.sql", 0), (1, 1, "0001_first.down.sql", 0),
                          (1, 2, "0001_first.verify.sql", 0),
                          (2, 0, "0002_second.up.sql", 1), (2, 1, "0002_second.down.sql", 0)])
        # Checksums of the normalised text: BOM gone, CRLF -> LF, final LF added.
        sums = {n: s for _, _, n, s, _ in rows}
        self.assertEqual(sums["0001_first.up.sql"], hashlib.sha256(b"CREATE TABLE t (a int);\n").hexdigest())
        self.assertEqual(sums["0002_second.up.sql"], hashlib.sha256(
            b"-- stopstart: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n").hexdigest())
        self.assertIn("embedded_migration_scripts_count = 5;", c)
        self.assertIn('"table s.t\\n"', c)
        self.assertNotIn("??=", c)                     # no trigraph survives
        self.assertIn("\\?\\?=", c)

        # Unchanged input: the output file is left alone (ninja restat).
        mtime = os.stat(out).st_mtime_ns
        r = gen(self.dir, out)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(os.stat(out).st_mtime_ns, mtime)

    def test_empty_set(self):
        out = os.path.join(self.dir, "out.c")
        r = gen(self.dir, out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            c = f.read()
        self.assertIn("embedded_migration_scripts_count = 0;", c)
        self.assertIn("embedded_schema_snapshot = NULL;", c)

    def test_missing_down(self):
        self.write("0001_a.up.sql", "SELECT 1;\n")
        self.refuses(r"0001_a\.up\.sql: no matching 0001_a\.down\.sql")

    def test_missing_up(self):
        self.write("0001_a.down.sql", "SELECT 1;\n")
        self.write("0001_a.verify.sql", "SELECT 1;\n")
        self.refuses(r"no matching 0001_a\.up\.sql")

    def test_duplicate_number(self):
        self.pair("0001_a")
        self.pair("0001_b")
        self.refuses(r"duplicate migration number 0001: .*0001_a\.\w+\.sql and .*0001_b\.\w+\.sql")

    def test_bad_names(self):
        for name in ("1_short.up.sql", "0001-dash.up.sql", "0001_Upper.up.sql", "0000_zero.up.sql",
                     "0001_x.upgrade.sql", "00001_long.up.sql", "0001_.up.sql"):
            with self.subTest(name=name):
                for f in os.listdir(self.dir):
                    os.unlink(os.path.join(self.dir, f))
                self.pair("0001_ok")
                self.write(name, "SELECT 1;\n")
                self.refuses(re.escape(name) + r": bad migration file name")

    def test_unknown_option(self):
        self.pair("0001_a", up="-- stopstart: no-transactoin\nSELECT 1;\n")
        self.refuses(r"0001_a\.up\.sql:1: unknown option \"no-transactoin\"")

    def test_malformed_option(self):
        self.pair("0001_a", up="-- a title\n-- stopstart: No Transaction\nSELECT 1;\n")
        self.refuses(r"0001_a\.up\.sql:2: malformed option \"No Transaction\"")

    def test_option_after_header(self):
        self.pair("0001_a", up="SELECT 1;\n-- stopstart: no-transaction\n")
        self.refuses(r"0001_a\.up\.sql:2: option line .* after the header")

    def test_option_in_verify(self):
        self.pair("0001_a")
        self.write("0001_a.verify.sql", "-- stopstart: no-transaction\nSELECT 1;\n")
        self.refuses(r"0001_a\.verify\.sql:1: option \"no-transaction\" is not allowed in a verify script")

    def test_nul_byte(self):
        self.pair("0001_a", up=b"SELECT 1;\0\n")
        self.refuses(r"0001_a\.up\.sql: contains a NUL byte")

    def test_title_is_not_an_option(self):
        self.pair("0001_a", up="-- stopstart: initial schema\nSELECT 1;\n")
        r = gen(self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_real_migrations(self):
        r = gen(os.path.join(SOURCE_ROOT, "migrations"))
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

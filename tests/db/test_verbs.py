#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every stopstartctl db verb, its output (human and JSON field names) and its exit status;
connection, configuration and usage errors."""
import json
import os
import re

import dbtest
from dbtest import FAILED, NOT_OK, OK, REFUSED, UNREACHABLE, USAGE, clean_env


class Verbs(dbtest.DbTestCase):
    def test_status(self):
        r = self.ctl("db", "status", migrations="basic", expect=NOT_OK)
        self.assertEqual(re.findall(r"^\[ \]\s+(\S+)", r.stdout, re.M),
                         ["0001_items", "0002_item_notes", "0003_items_name_index"])
        self.assertIn("Applied: 0, pending: 3.", r.stdout)
        self.ctl("db", "upgrade", "+1", migrations="basic", expect=OK)
        r = self.ctl("db", "status", migrations="basic", expect=NOT_OK)
        self.assertRegex(r.stdout, r"(?m)^\[X\]\s+0001_items\s+applied\s+\d{4}-")
        self.assertRegex(r.stdout, r"(?m)^\[ \]\s+0002_item_notes\s+pending")
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        r = self.ctl("db", "status", migrations="basic", expect=OK)
        self.assertIn("Applied: 3, pending: 0.", r.stdout)
        # --no-legend: rows only; "db" alone is "db status".
        r = self.ctl("--no-legend", "db", migrations="basic", expect=OK)
        self.assertEqual(len(r.stdout.splitlines()), 3)
        j = self.ctl_json("db", "status", migrations="basic")
        self.assertEqual([(m["version"], m["name"], m["state"]) for m in j],
                         [(1, "0001_items", "applied"), (2, "0002_item_notes", "applied"),
                          (3, "0003_items_name_index", "applied")])
        self.assertEqual(set(j[0]), {"version", "name", "state", "applied_at"})

    def test_current(self):
        # the head is the project's newest migration
        head = max(f[:-len(".up.sql")] for f in os.listdir(dbtest.MIGRATIONS) if re.match(r"^\d{4}_.*\.up\.sql$", f))
        r = self.ctl("db", "current", expect=OK)
        self.assertRegex(r.stdout, r"Version: base\n\s+Dirty: no\n\s+Head: " + re.escape(head) + "\n")
        self.ctl("db", "upgrade", expect=OK)
        j = self.ctl_json("db", "current")
        self.assertEqual(j, {"version": int(head[:4]), "name": head, "dirty": False, "dirty_version": None,
                             "head": int(head[:4]), "head_name": head})
        # --json=pretty is the same document on several lines.
        r = self.ctl("--json=pretty", "db", "current", expect=OK)
        self.assertGreater(len(r.stdout.splitlines()), 5)
        self.assertEqual(json.loads(r.stdout), j)

    def test_history_and_log(self):
        self.ctl("db", "upgrade", "2", migrations="basic", expect=OK)
        r = self.ctl("db", "history", migrations="basic", expect=OK)
        self.assertRegex(r.stdout, r"(?m)^\s+1\s+0001_items\s+applied\s+\S+\s+\S+")
        self.assertRegex(r.stdout, r"(?m)^\s+3\s+0003_items_name_index\s+pending\s+-\s+-\s+-")
        j = self.ctl_json("db", "history", migrations="basic")
        self.assertEqual(set(j[0]), {"version", "name", "state", "applied_at", "applied_by", "execution_ms",
                                     "tool_version"})
        self.assertEqual([m["state"] for m in j], ["applied", "applied", "pending"])
        self.assertIsInstance(j[0]["execution_ms"], int)
        self.assertIsNone(j[2]["applied_at"])

        self.ctl("db", "downgrade", "--yes", migrations="basic", expect=OK)
        r = self.ctl("db", "history", "--log", migrations="basic", expect=OK)
        self.assertEqual(re.findall(r"(?m)^\s*\d+\s+\S+\s+(upgrade|downgrade)\s+(\d+)", r.stdout),
                         [("upgrade", "1"), ("upgrade", "2"), ("downgrade", "2")])
        j = self.ctl_json("db", "history", "--log", migrations="basic")
        self.assertEqual(set(j[0]), {"id", "version", "event", "success", "checksum", "started_at", "finished_at",
                                     "actor", "host", "db_user", "tool_version", "error", "detail"})
        self.assertEqual([(e["event"], e["version"], e["success"]) for e in j],
                         [("upgrade", 1, True), ("upgrade", 2, True), ("downgrade", 2, True)])
        self.assertEqual(j[0]["db_user"], "test")
        self.assertRegex(j[0]["checksum"], r"^[0-9a-f]{64}$")
        # Nothing recorded yet: an empty log, not an error (and no stopstart_meta is created).
        other = "t_empty_" + self.db[2:]
        self.pg.createdb(other)
        r = self.ctl(f"--database={self.pg.url_for(other)}", "db", "history", "--log", db=False, expect=OK)
        self.assertIn("No events recorded.", r.stdout)
        self.assertEqual(self.psql("SELECT to_regnamespace('stopstart_meta') IS NULL", db=other), "t")

    def test_upgrade_downgrade_targets(self):
        ctl = lambda *a, **k: self.ctl("db", *a, migrations="basic", **k)  # noqa: E731
        r = ctl("upgrade", "0001_items", expect=OK)
        self.assertIn("Applied 0001_items", r.stdout)
        self.assertEqual(self.versions(), {1: "applied"})
        r = ctl("upgrade", "0001", expect=OK)
        self.assertIn("Nothing to upgrade.", r.stdout)
        ctl("upgrade", "+2", expect=OK)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "applied"})
        r = ctl("upgrade", "head", expect=OK)
        self.assertIn("Nothing to upgrade.", r.stdout)
        r = ctl("upgrade", "1", expect=USAGE)
        self.assertIn("below the current version", r.stderr)
        ctl("downgrade", "-2", "--yes", expect=OK)
        self.assertEqual(self.versions(), {1: "applied"})
        r = ctl("downgrade", "-3", expect=USAGE)
        self.assertIn("only 1 migration is applied", r.stderr)
        r = ctl("downgrade", "3", expect=USAGE)
        self.assertIn("above the current version", r.stderr)
        ctl("upgrade", expect=OK)
        ctl("downgrade", "1", "--yes", expect=OK)
        self.assertEqual(self.versions(), {1: "applied"})
        ctl("downgrade", "base", "--yes", "--allow-reset", expect=OK)
        self.assertEqual(self.versions(), {})
        r = ctl("downgrade", expect=OK)
        self.assertIn("Nothing to downgrade.", r.stdout)
        for bad in ("7", "0009_x", "0001_wrong", "+0", "+x", "tail"):
            with self.subTest(target=bad):
                r = ctl("upgrade", bad, expect=USAGE)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        for bad in ("-0", "-x", "0002_x"):
            with self.subTest(target=bad):
                ctl("downgrade", bad, expect=USAGE)
        # JSON: what changed, and the versions around it.
        j = self.ctl_json("db", "upgrade", migrations="basic")
        self.assertEqual((j["version_before"], j["version_after"], j["dirty"], j["error"]), (0, 3, False, None))
        self.assertEqual([(c["change"], c["version"], c["name"]) for c in j["changes"]],
                         [("applied", 1, "0001_items"), ("applied", 2, "0002_item_notes"),
                          ("applied", 3, "0003_items_name_index")])
        self.assertIsInstance(j["changes"][0]["execution_ms"], int)
        j = self.ctl_json("db", "downgrade", "base", "--yes", "--allow-reset", migrations="basic")
        self.assertEqual([c["change"] for c in j["changes"]], ["reverted"] * 3)

    def test_check_and_diff_clean(self):
        r = self.ctl("db", "check", migrations="basic", expect=NOT_OK)
        self.assertEqual(re.findall(r"(?m)^pending\s", r.stdout), ["pending "] * 3)
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        r = self.ctl("db", "check", migrations="basic", expect=OK)
        self.assertIn("OK: 3 migrations applied", r.stdout)
        self.assertIn("built in a scratch database", r.stdout)
        j = self.ctl_json("db", "check", migrations="basic")
        self.assertEqual(j, {"ok": True, "current": 3, "head": 3, "applied": 3, "pending": 0,
                             "drift_check": "scratch", "drift_note": None, "problems": []})
        r = self.ctl("db", "diff", migrations="basic", expect=OK)
        self.assertIn("No differences", r.stdout)
        j = self.ctl_json("db", "diff", migrations="basic")
        # the fixture set declares no schema.sql: nothing to compare head with
        self.assertEqual(j, {"method": "scratch", "version": 3, "differences": [], "declared_differences": None})
        # Scratch databases are dropped again.
        self.assertEqual(self.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'stopstart_scratch%'"), "0")

    def test_new(self):
        d = self.copy_set("basic")
        r = self.ctl("db", "new", "Add widgets & gadgets!", db=False, migrations=d, expect=OK)
        up = os.path.join(d, "0004_add_widgets_gadgets.up.sql")
        down = os.path.join(d, "0004_add_widgets_gadgets.down.sql")
        self.assertIn(up, r.stdout)
        with open(up) as f:
            text = f.read()
        self.assertTrue(text.startswith("-- 0004_add_widgets_gadgets (up): Add widgets & gadgets!\n"), text)
        self.assertTrue(os.path.exists(down))
        # The new pair is a valid (empty) migration: it shows up pending and applies.
        self.ctl("db", "upgrade", migrations=d, expect=OK)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "applied", 4: "applied"})
        j = self.ctl_json("db", "new", "second one", db=False, migrations=d)
        self.assertEqual((j["version"], j["name"]), (5, "0005_second_one.up.sql"))
        self.ctl("db", "new", "!!!", db=False, migrations=d, expect=USAGE)
        self.ctl("db", "new", db=False, migrations=d, expect=USAGE)
        # A broken directory is reported, not numbered after.
        with open(os.path.join(d, "0006_half.up.sql"), "w") as f:
            f.write("SELECT 1;\n")
        r = self.ctl("db", "new", "x", db=False, migrations=d, expect=USAGE)
        self.assertIn("no matching 0006_half.down.sql", r.stderr)

    def test_usage_errors(self):
        for args, msg in [(("db", "frobnicate"), "Unknown db command"),
                          (("frobnicate",), "Unknown command"),
                          (("db", "current", "extra"), "Too many arguments"),
                          (("db", "restore", "a", "b"), "Too many arguments"),
                          (("--json=yaml", "db", "status"), "Invalid --json"),
                          (("--lock-timeout=soon", "db", "upgrade"), "Invalid --lock-timeout"),
                          (("db", "status", "--log"), "--log only applies"),
                          (("db", "upgrade", "--yes"), "--yes only applies"),
                          (("db", "check", "--mark-applied=1"), "only applies to \"db fix-state\""),
                          (("db", "fix-state", "--mark-applied=1", "--stamp=2"), "one fix-state operation"),
                          (("db", "fix-state", "--mark-applied=x"), "Invalid migration number"),
                          (("db", "fix-state"), "needs one of"),
                          (("db", "status", "--timeout=1"), "--timeout= only applies"),
                          ((), "Missing command")]:
            with self.subTest(args=args):
                r = self.ctl(*args, expect=USAGE)
                self.assertIn(msg, r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = self.ctl("--help", db=False, expect=OK)
        self.assertIn("upgrade [head|REV|+N]", r.stdout)
        r = self.ctl("--version", db=False, expect=OK)
        self.assertRegex(r.stdout, r"^stopstartctl \d+\.\d+")

    def test_bad_conninfo(self):
        for bad in ("host=/tmp dbname=x bogus=1", "postgresql://[::1", "dbname='unterminated"):
            with self.subTest(conninfo=bad):
                r = self.ctl(f"--database={bad}", "db", "status", db=False, expect=USAGE)
                self.assertRegex(r.stderr, r"^stopstartctl: Invalid database connection string \(from --database\): ")
                self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        # The password never shows up in the message.
        r = self.ctl("--database=password=s3cret bogus=1", "db", "status", db=False, expect=USAGE)
        self.assertNotIn("s3cret", r.stderr)
        self.ctl("--database=bogus=1", "db", "wait", db=False, expect=USAGE)

    def test_unreachable(self):
        nowhere = os.path.join(self.tmp, "nowhere")
        for verb in (("status",), ("upgrade",), ("check",), ("backup",), ("fix-state", "--stamp=0")):
            with self.subTest(verb=verb):
                r = self.ctl(f"--database=host={nowhere} port=5999 dbname=x user=test", "db", *verb, db=False,
                             expect=UNREACHABLE)
                self.assertRegex(r.stderr, r"^stopstartctl: Cannot connect to the database \(from --database\): "
                                           r"connection to server on socket .*nowhere/\.s\.PGSQL\.5999.* failed")
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        # A server that is up, a database that is not there: also "cannot connect".
        r = self.ctl(f"--database={self.pg.url_for('no_such_db')}", "db", "status", db=False, expect=UNREACHABLE)
        self.assertIn('database "no_such_db" does not exist', r.stderr)

    def test_environment_and_config(self):
        # No --database, no config file: libpq's PG* environment.
        env = clean_env(PGHOST=self.pg.host, PGPORT=str(self.pg.port), PGUSER="test", PGDATABASE=self.db)
        missing = os.path.join(self.tmp, "none.yaml")
        self.ctl("db", "upgrade", db=False, env=env, migrations="basic", expect=OK)
        self.assertEqual(len(self.versions()), 3)

        # The config file's database: key.
        cfg = os.path.join(self.tmp, "stopstartd.yaml")
        with open(cfg, "w") as f:
            f.write(f'database: "{self.url}"\nmigrations:\n  allow_reset: true\n  lock_timeout: 1s\n')
        r = self.ctl(f"--config={cfg}", "db", "current", db=False, migrations="basic", expect=OK)
        self.assertIn("Version: 0003_items_name_index", r.stdout)
        # --database wins over the config file.
        r = self.ctl(f"--config={cfg}", "--database=host=/nonexistent dbname=x", "db", "status", db=False,
                     expect=UNREACHABLE)
        # An explicit config file must exist; a broken one is an error with its line.
        r = self.ctl(f"--config={missing}", "db", "status", expect=USAGE)
        self.assertIn("none.yaml", r.stderr)
        with open(cfg, "w") as f:
            f.write("database: x\nmigrations:\n  allow_reset: maybe\n")
        r = self.ctl(f"--config={cfg}", "db", "status", expect=USAGE)
        self.assertRegex(r.stderr, r"stopstartd\.yaml:3:")

    def test_built_in_set_matches_source(self):
        # stopstartctl's embedded migrations are the source tree's: same names, same checksums.
        self.ctl("db", "upgrade", expect=OK)
        self.ctl("db", "check", migrations=dbtest.MIGRATIONS, expect=OK)
        j = self.ctl_json("db", "status")
        names = sorted(f[:-7] for f in os.listdir(dbtest.MIGRATIONS) if f.endswith(".up.sql"))
        self.assertEqual([m["name"] for m in j], names)


if __name__ == "__main__":
    dbtest.main()

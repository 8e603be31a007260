#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""backup, reset and restore."""
import json
import os
import re

import dbtest
from dbtest import FAILED, NOT_OK, OK, REFUSED, USAGE


class BackupRestore(dbtest.DbTestCase):
    def test_backup_reset_restore_keeps_rows(self):
        self.ctl("db", "upgrade", expect=OK)
        self.psql("INSERT INTO stopstart.regions (name, region_key, is_home) VALUES "
                  "('us-phoenix-1', 'PHX', true), ('eu-frankfurt-1', 'FRA', false); "
                  "INSERT INTO stopstart.audit_log (operation, object_kind, object_id, reason) "
                  "VALUES ('test', 'region', 'us-phoenix-1', 'it''s; a \"row\"\\nwith\ttabs')")
        before = self.psql("SELECT name, region_key, is_home FROM stopstart.regions ORDER BY name")
        audit = self.psql("SELECT reason FROM stopstart.audit_log")
        head = max(self.versions())

        dump = os.path.join(self.tmp, "b.dump")
        r = self.ctl("db", "backup", dump, expect=OK)
        self.assertIn(f"to {dump} (metadata in {dump}.json)", r.stdout)
        with open(dump, "rb") as f:
            self.assertEqual(f.read(5), b"PGDMP")                       # pg_dump -Fc
        self.assertEqual(os.stat(dump).st_mode & 0o777, 0o600)
        with open(dump + ".json") as f:
            meta = json.load(f)
        self.assertEqual(meta["format"], "stopstart-backup")
        self.assertEqual(meta["schema_version"], head)
        self.assertEqual(meta["database"], self.db)
        self.assertRegex(meta["schema_checksum"], r"^[0-9a-f]{64}$")
        self.assertEqual(meta["head_checksum"], meta["schema_checksum"])
        self.assertRegex(meta["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertIn("tool_version", meta)
        self.assertFalse(meta["dirty"])
        # Never overwrites.
        r = self.ctl("db", "backup", dump, expect=REFUSED)
        self.assertIn("already exists", r.stderr)

        # reset: refused unless opted in, and without --yes.
        r = self.ctl("db", "reset", "--yes", expect=REFUSED)
        self.assertIn("Refusing to reset: it is disabled", r.stderr)
        r = self.ctl("db", "reset", "--allow-reset", expect=REFUSED)
        self.assertIn("without --yes", r.stderr)
        cfg = os.path.join(self.tmp, "c.yaml")
        with open(cfg, "w") as f:
            f.write("migrations:\n  allow_reset: true\n")
        r = self.ctl(f"--config={cfg}", "db", "reset", "--yes", expect=OK)
        self.assertIn("Dropped schema stopstart", r.stdout)
        self.assertEqual(self.psql("SELECT count(*) FROM stopstart.regions"), "0")
        self.ctl("db", "check", expect=OK)

        r = self.ctl("db", "restore", dump, "--yes", expect=OK)
        self.assertIn("Check after the restore:\nOK:", r.stdout)
        self.assertEqual(self.psql("SELECT name, region_key, is_home FROM stopstart.regions ORDER BY name"), before)
        self.assertEqual(self.psql("SELECT reason FROM stopstart.audit_log"), audit)
        # The event log of this database survives reset and restore, and records both.
        events = [e for e, _, _ in self.events()]
        self.assertEqual(events, ["upgrade"] * head + ["reset"] + ["upgrade"] * head + ["restore"])
        # Identity sequences continue after the restored rows.
        self.psql("INSERT INTO stopstart.audit_log (operation, object_kind, object_id) VALUES ('x', 'y', 'z')")
        self.assertEqual(self.psql("SELECT count(DISTINCT id) FROM stopstart.audit_log"), "2")
        self.ctl("db", "upgrade", expect=OK)

    def test_restore_into_fresh_database(self):
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        self.psql("INSERT INTO stopstart.items (name, note) VALUES ('a', 'x'), ('b', 'y')")
        dump = os.path.join(self.tmp, "f.dump")
        j = self.ctl_json("db", "backup", dump, migrations="basic")
        self.assertEqual((j["file"], j["schema_version"], j["schema_name"]), (dump, 3, "0003_items_name_index"))

        other = "t_fresh_" + self.db[2:]
        self.pg.createdb(other)
        url = self.pg.url_for(other)
        r = self.ctl(f"--database={url}", "db", "restore", dump, "--yes", db=False, migrations="basic", expect=OK)
        self.assertEqual(self.psql("SELECT string_agg(name || note, ',' ORDER BY name) FROM stopstart.items",
                                   db=other), "ax,by")
        # No log there before: the backup's log is kept, plus the restore.
        out = self.psql("SELECT string_agg(event, ',' ORDER BY id) FROM stopstart_meta.schema_log", db=other)
        self.assertEqual(out, "upgrade,upgrade,upgrade,restore")
        self.ctl(f"--database={url}", "db", "check", db=False, migrations="basic", expect=OK)

    def test_restore_refusals(self):
        self.ctl("db", "upgrade", "+1", migrations="basic", expect=OK)
        dump = os.path.join(self.tmp, "n.dump")
        self.ctl("db", "backup", dump, migrations="basic", expect=OK)
        # A backup newer than this build's head is refused, and nothing changes.
        with open(dump + ".json") as f:
            meta = json.load(f)
        meta["schema_version"] = 7
        meta["schema_name"] = "0007_future"
        with open(dump + ".json", "w") as f:
            json.dump(meta, f)
        r = self.ctl("db", "restore", dump, migrations="basic", expect=REFUSED)
        self.assertRegex(r.stderr, r"Refusing to restore .*n\.dump: it holds schema version 0007 \(0007_future\), "
                                   r"newer than this build's head 0003")
        # No metadata: not a backup of ours.
        os.unlink(dump + ".json")
        r = self.ctl("db", "restore", dump, migrations="basic", expect=USAGE)
        self.assertIn("n.dump.json: cannot read the backup's metadata", r.stderr)
        # Garbage where the dump should be: pg_restore says so; the database is untouched.
        bad = os.path.join(self.tmp, "bad.dump")
        with open(bad, "w") as f:
            f.write("not a dump\n")
        with open(bad + ".json", "w") as f:
            json.dump(dict(meta, schema_version=1), f)
        r = self.ctl("db", "restore", bad, "--yes", migrations="basic", expect=FAILED)
        self.assertIn("pg_restore cannot read", r.stderr)
        self.assertEqual(self.versions(), {1: "applied"})
        with open(bad + ".json", "w") as f:
            f.write("{ not json")
        self.ctl("db", "restore", bad, migrations="basic", expect=USAGE)
        self.ctl("db", "restore", os.path.join(self.tmp, "none.dump"), migrations="basic", expect=USAGE)

    def test_default_backup_name(self):
        """Without FILE the backup goes to migrations: backup_dir (created when missing)."""
        self.ctl("db", "upgrade", "+1", migrations="basic", expect=OK)
        self.assertFalse(os.path.exists(self.backup_dir))
        r = self.ctl("db", "backup", migrations="basic", expect=OK)
        m = re.search(r"to (" + re.escape(self.backup_dir) + r"/stopstart-" + self.db + r"-0001-\d{8}T\d{6}Z\.dump) ",
                      r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertTrue(os.path.exists(m.group(1)))
        self.assertTrue(os.path.exists(m.group(1) + ".json"))
        self.assertEqual(os.stat(self.backup_dir).st_mode & 0o777, 0o700)
        # A second one in the same second gets its own name.
        r = self.ctl("db", "backup", migrations="basic", expect=OK)
        self.assertEqual(len([f for f in os.listdir(self.backup_dir) if f.endswith(".dump")]), 2)

    def test_nothing_to_back_up(self):
        r = self.ctl("db", "backup", os.path.join(self.tmp, "e.dump"), expect=USAGE)
        self.assertIn("Nothing to back up", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "e.dump")))


if __name__ == "__main__":
    dbtest.main()

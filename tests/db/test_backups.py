#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 12's backups and verb names: the backup directory and its retention, db backups, db
restore of the newest backup, the automatic backup before destructive verbs (and before
upgrade when asked), and db migrate/rollback/revision."""
import json
import os
import re
import time

import dbtest
from dbtest import OK, REFUSED, USAGE


class Backups(dbtest.DbTestCase):
    def configure(self, **keys):
        path = os.path.join(self.tmp, "custom.yaml")
        with open(path, "w") as f:
            f.write(f"migrations:\n  backup_dir: {self.backup_dir}\n")
            for k, v in keys.items():
                f.write(f"  {k}: {v}\n")
        return f"--config={path}"

    def dumps(self):
        if not os.path.isdir(self.backup_dir):
            return []
        return sorted(f for f in os.listdir(self.backup_dir) if f.endswith(".dump"))

    def items(self):
        return self.psql("SELECT string_agg(name, ',' ORDER BY name) FROM stopstart.items")

    def test_list_and_retention(self):
        self.ctl("db", "upgrade", "+1", migrations="basic", expect=OK)
        r = self.ctl("db", "backups", migrations="basic", expect=OK)
        self.assertIn("No backups.", r.stdout)
        self.ctl("db", "backup", migrations="basic", expect=OK)
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        self.ctl("db", "backup", migrations="basic", expect=OK)
        j = self.ctl_json("db", "backups", migrations="basic")
        self.assertEqual([b["schema_version"] for b in j], [3, 1])       # newest first
        self.assertEqual([b["schema_name"] for b in j], ["0003_items_name_index", "0001_items"])
        for b in j:
            self.assertEqual(os.path.dirname(b["file"]), self.backup_dir)
            self.assertEqual(b["size"], os.path.getsize(b["file"]))
            self.assertRegex(b["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        r = self.ctl("db", "backups", migrations="basic", expect=OK)
        self.assertRegex(r.stdout, r"(?m)^FILE\s+TIME\s+SCHEMA\s+SIZE")
        self.assertIn("2 backups in " + self.backup_dir, r.stdout)
        # keep_backups: the oldest of ours go; a file someone put there stays.
        with open(os.path.join(self.backup_dir, "mine.dump"), "wb") as f, open(j[1]["file"], "rb") as g:
            f.write(g.read())
        with open(os.path.join(self.backup_dir, "mine.dump.json"), "w") as f, open(j[1]["file"] + ".json") as g:
            meta = json.load(g)
            meta["created_at"] = "2000-01-01T00:00:00.000Z"
            json.dump(meta, f)
        cfg = self.configure(keep_backups=2)
        time.sleep(1.1)
        self.ctl(cfg, "db", "backup", migrations="basic", expect=OK)
        left = self.dumps()
        self.assertEqual(len(left), 3, left)
        self.assertIn("mine.dump", left)
        self.assertNotIn(os.path.basename(j[1]["file"]), left)
        self.assertIn(os.path.basename(j[0]["file"]), left)

    def test_restore_newest(self):
        r = self.ctl("db", "restore", "--yes", migrations="basic", expect=USAGE)
        self.assertIn("No backups in " + self.backup_dir, r.stderr)
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        self.psql("INSERT INTO stopstart.items (name) VALUES ('a')")
        self.ctl("db", "backup", migrations="basic", expect=OK)
        newest = self.ctl_json("db", "backups", migrations="basic")[0]["file"]
        self.psql("INSERT INTO stopstart.items (name) VALUES ('b')")
        r = self.ctl("db", "restore", migrations="basic", expect=REFUSED)
        self.assertIn(f"The newest backup in {self.backup_dir} is {newest}.", r.stderr)
        self.assertEqual(self.items(), "a,b")
        r = self.ctl("db", "restore", "--yes", "--no-backup", migrations="basic", expect=OK)
        self.assertIn(f"is {newest}", r.stderr)
        self.assertEqual(self.items(), "a")
        self.assertEqual(len(self.dumps()), 1)     # --no-backup: no recovery point taken

    def test_automatic_backups(self):
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        self.psql("INSERT INTO stopstart.items (name) VALUES ('before')")
        r = self.ctl("db", "downgrade", "--yes", migrations="basic", expect=OK)
        self.assertRegex(r.stdout, r"^Backed up database \S+ at 0003_items_name_index to " + re.escape(self.backup_dir))
        self.assertEqual(len(self.dumps()), 1)
        self.ctl("db", "downgrade", "--yes", "--no-backup", migrations="basic", expect=OK)
        self.assertEqual(len(self.dumps()), 1)
        # The recovery point really holds the data: restore it.
        time.sleep(1.1)
        self.ctl("db", "restore", "--yes", migrations="basic", expect=OK)   # restores 0003, backs up 0001 first
        self.assertEqual(self.items(), "before")
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "applied"})
        self.assertEqual(sorted(b["schema_version"] for b in self.ctl_json("db", "backups", migrations="basic")), [1, 3])
        self.ctl("db", "reset", "--yes", "--allow-reset", migrations="basic", expect=OK)
        self.assertEqual(len(self.dumps()), 3)
        # upgrade backs up only when asked to, and only when something is pending.
        self.ctl("db", "downgrade", "-1", "--yes", "--no-backup", migrations="basic", expect=OK)
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        self.assertEqual(len(self.dumps()), 3)
        self.ctl("db", "downgrade", "-1", "--yes", "--no-backup", migrations="basic", expect=OK)
        cfg = self.configure(backup_before_upgrade="true")
        r = self.ctl(cfg, "db", "upgrade", migrations="basic", expect=OK)
        self.assertIn("Backed up database", r.stdout)
        self.assertEqual(len(self.dumps()), 4)
        r = self.ctl(cfg, "db", "upgrade", migrations="basic", expect=OK)
        self.assertNotIn("Backed up", r.stdout)
        # A backup that cannot be written stops the destructive verb.
        blocker = os.path.join(self.tmp, "file")
        open(blocker, "w").close()
        r = self.ctl(self.configure_dir(blocker + "/sub"), "db", "downgrade", "--yes", migrations="basic",
                     expect=USAGE)
        self.assertIn("Automatic backup before downgrade failed (--no-backup skips it)", r.stderr)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "applied"})

    def configure_dir(self, d):
        path = os.path.join(self.tmp, "other.yaml")
        with open(path, "w") as f:
            f.write(f"migrations:\n  backup_dir: {d}\n")
        return f"--config={path}"

    def test_origin_verb_names(self):
        r = self.ctl("db", "migrate", migrations="basic", expect=OK)
        self.assertIn("Applied 0003_items_name_index", r.stdout)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "applied"})
        self.ctl("db", "migrate", "head", migrations="basic", expect=USAGE)
        r = self.ctl("db", "rollback", migrations="basic", expect=REFUSED)
        self.assertIn("Refusing to downgrade without --yes", r.stderr)
        r = self.ctl("db", "rollback", "--yes", migrations="basic", expect=OK)
        self.assertIn("Reverted 0003_items_name_index", r.stdout)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied"})
        self.ctl("db", "rollback", "--yes", migrations="basic", expect=OK)
        r = self.ctl("db", "rollback", "--yes", migrations="basic", expect=REFUSED)
        self.assertIn("Refusing to downgrade to base", r.stderr)
        d = self.copy_set("basic")
        r = self.ctl("db", "revision", "-m", "Add widgets", db=False, migrations=d, expect=OK)
        self.assertIn("0004_add_widgets.up.sql", r.stdout)
        self.assertTrue(os.path.exists(os.path.join(d, "0004_add_widgets.down.sql")))
        r = self.ctl("db", "revision", db=False, migrations=d, expect=USAGE)
        self.assertIn("needs -m", r.stderr)
        r = self.ctl("db", "new", "x", "-m", "y", db=False, migrations=d, expect=USAGE)
        self.assertIn("-m/--message only applies", r.stderr)
        r = self.ctl("db", "status", "--no-backup", migrations="basic", expect=USAGE)
        self.assertIn("--no-backup only applies", r.stderr)


if __name__ == "__main__":
    dbtest.main()

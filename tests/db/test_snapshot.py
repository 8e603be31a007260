#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""migrations/schema.snapshot: it is what head builds (so it cannot rot), and check falls back
to it when the role may not create a scratch database."""
import os

import dbtest
from dbtest import MIGRATIONS, NOT_OK, OK


class Snapshot(dbtest.DbTestCase):
    def test_committed_snapshot_is_head(self):
        path = os.path.join(self.tmp, "schema.snapshot")
        r = self.ctl("db", "snapshot", path, expect=OK)
        self.assertIn("objects at", r.stdout)
        with open(path) as f:
            built = f.read()
        with open(os.path.join(MIGRATIONS, "schema.snapshot")) as f:
            committed = f.read()
        self.assertEqual(committed, built,
                         "migrations/schema.snapshot is stale: run `stopstartctl db snapshot` (it rewrites the file "
                         "in the source tree) and commit the result")
        # Building it touched nothing of ours.
        self.assertEqual(self.psql("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'stopstart%'"), "0")

    def test_check_without_createdb_uses_snapshot(self):
        self.ctl("db", "upgrade", expect=OK)
        self.psql("DO $$ BEGIN CREATE ROLE migrate_reader LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$; "
                  "GRANT USAGE ON SCHEMA stopstart, stopstart_meta TO migrate_reader; "
                  "GRANT SELECT ON ALL TABLES IN SCHEMA stopstart, stopstart_meta TO migrate_reader")
        url = self.url.replace("test@", "migrate_reader@")
        r = self.ctl(f"--database={url}", "db", "check", db=False, expect=OK)
        self.assertIn("compared with schema.snapshot", r.stdout)
        j = self.ctl_json(f"--database={url}", "db", "check", db=False)
        self.assertEqual(j["drift_check"], "snapshot")

        self.psql("CREATE TABLE stopstart.by_hand (x int)")
        r = self.ctl(f"--database={url}", "db", "check", db=False, expect=NOT_OK)
        self.assertIn("drift  table stopstart.by_hand exists in the database but not in the migrations", r.stdout)
        r = self.ctl(f"--database={url}", "db", "diff", db=False, expect=NOT_OK)
        self.assertIn("(schema.snapshot)", r.stdout)
        self.assertIn("+ table stopstart.by_hand", r.stdout)

        # Behind head, the snapshot cannot stand in: check says drift was not compared, and why.
        self.psql("DROP TABLE stopstart.by_hand")
        d = self.copy_set(None)
        with open(os.path.join(d, "9000_later.up.sql"), "w") as f:
            f.write("CREATE TABLE stopstart.later (x int);\n")
        with open(os.path.join(d, "9000_later.down.sql"), "w") as f:
            f.write("DROP TABLE stopstart.later;\n")
        r = self.ctl(f"--database={url}", "db", "check", db=False, migrations=d, expect=NOT_OK)
        self.assertIn("pending  9000_later is not applied yet", r.stdout)
        self.assertIn("Note: schema drift was not checked: Cannot compare the schema: cannot create a scratch "
                      "database: permission denied to create database", r.stdout)


if __name__ == "__main__":
    dbtest.main()

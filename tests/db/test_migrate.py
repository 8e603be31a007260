#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Applying and reverting: the real migrations' round trip, failures, the dirty path and its
repair, and everything check must catch (changed, missing, out-of-order files, drift)."""
import os
import re

import dbtest
from dbtest import FAILED, NOT_OK, OK, REFUSED, USAGE


class RealMigrations(dbtest.DbTestCase):
    def test_round_trip(self):
        """up -> base -> up of the built-in set, with check clean at head both times."""
        self.ctl("db", "upgrade", expect=OK)
        head = max(self.versions())
        self.assertTrue(self.relation_exists("stopstart.instances"))
        self.ctl("db", "check", expect=OK)
        r = self.ctl("db", "downgrade", "base", "--yes", "--allow-reset", expect=OK)
        self.assertEqual(len(re.findall(r"^Reverted ", r.stdout, re.M)), head)
        self.assertEqual(self.versions(), {})
        self.assertEqual(self.psql("SELECT to_regnamespace('stopstart') IS NULL"), "t")
        self.ctl("db", "upgrade", expect=OK)
        self.ctl("db", "check", expect=OK)
        events = self.events()
        self.assertEqual([e for e, _, _ in events], ["upgrade"] * head + ["downgrade"] * head + ["upgrade"] * head)
        self.assertTrue(all(ok for _, _, ok in events))

    def test_manual_ddl_is_drift(self):
        self.ctl("db", "upgrade", expect=OK)
        self.psql("ALTER TABLE stopstart.instances ADD COLUMN owner text; "
                  "DROP INDEX stopstart.instances_compartment_idx; "
                  "ALTER TABLE stopstart.jobs ALTER COLUMN target DROP DEFAULT")
        r = self.ctl("db", "check", expect=NOT_OK)
        self.assertIn("drift  column stopstart.instances.owner exists in the database but not in the migrations", r.stdout)
        self.assertIn("drift  index stopstart.instances_compartment_idx is defined by the migrations but missing",
                      r.stdout)
        self.assertIn("drift  column stopstart.jobs.target differs", r.stdout)
        r = self.ctl("db", "diff", expect=NOT_OK)
        self.assertRegex(r.stdout, r"(?m)^\+ column stopstart\.instances\.owner\n\s+text$")
        self.assertRegex(r.stdout, r"(?m)^- index stopstart\.instances_compartment_idx\n\s+CREATE INDEX")
        self.assertRegex(r.stdout, r"(?m)^~ column stopstart\.jobs\.target\n\s+migrations: text not null default ''::text\n"
                                   r"\s+database:   text not null$")
        j = self.ctl_json("db", "diff", expect=NOT_OK)
        self.assertEqual(sorted((d["change"], d["kind"], d["name"]) for d in j["differences"]),
                         [("changed", "column", "stopstart.jobs.target"), ("extra", "column", "stopstart.instances.owner"),
                          ("missing", "index", "stopstart.instances_compartment_idx")])


class Failures(dbtest.DbTestCase):
    def test_failing_migration_leaves_nothing(self):
        r = self.ctl("db", "upgrade", migrations="failing", expect=FAILED)
        self.assertIn("Applied 0001_items", r.stdout)
        self.assertRegex(r.stderr, r"^stopstartctl: Migration 0002_broken failed and was rolled back: "
                                   r"\S*failing/0002_broken\.up\.sql:9: relation \"stopstart\.nope\" does not exist "
                                   r"\(SQLSTATE 42P01\)")
        self.assertFalse(self.relation_exists("stopstart.half"))
        self.assertEqual(self.versions(), {1: "applied"})
        self.assertEqual(self.events(), [("upgrade", 1, True), ("fail", 2, False)])
        err = self.psql("SELECT error_text FROM stopstart_meta.schema_log WHERE event = 'fail'")
        self.assertIn("0002_broken.up.sql:9: relation \"stopstart.nope\" does not exist", err)
        # It failed cleanly: nothing is dirty, and a fixed file applies.
        self.ctl("db", "status", migrations="failing", expect=NOT_OK)
        d = self.copy_set("failing")
        with open(os.path.join(d, "0002_broken.up.sql"), "a") as f:
            f.write("-- fixed: the next line would be right\n")
        with open(os.path.join(d, "0002_broken.up.sql")) as f:
            text = f.read().replace("FROM stopstart.nope", "FROM stopstart.half WHERE false")
        with open(os.path.join(d, "0002_broken.up.sql"), "w") as f:
            f.write(text)
        self.ctl("db", "upgrade", migrations=d, expect=OK)
        self.assertTrue(self.relation_exists("stopstart.half"))

    def test_failing_json_reports_progress(self):
        j = self.ctl_json("db", "upgrade", migrations="failing", expect=FAILED)
        self.assertEqual((j["version_before"], j["version_after"]), (0, 1))
        self.assertEqual([c["name"] for c in j["changes"]], ["0001_items"])
        self.assertIn("0002_broken.up.sql:9:", j["error"])

    def test_dirty_refused_then_fixed(self):
        """A no-transaction migration that fails leaves a dirty row; every mutating verb refuses
        until fix-state repairs the record; then check is clean."""
        self.psql(f"ALTER DATABASE {self.db} SET stopstart_test.fail_0003 = on")
        r = self.ctl("db", "upgrade", migrations="basic", expect=FAILED)
        self.assertIn("0003_items_name_index.up.sql:6: simulated failure", r.stderr)
        self.assertIn("now dirty at 0003_items_name_index", r.stderr)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "dirty"})
        self.assertEqual(self.events()[-1], ("fail", 3, False))
        # The part that ran outside the transaction stays: that is what dirty means.
        self.assertTrue(self.relation_exists("stopstart.items_name_idx"))

        j = self.ctl_json("db", "current", migrations="basic", expect=NOT_OK)
        self.assertEqual((j["version"], j["dirty"], j["dirty_version"]), (2, True, 3))
        r = self.ctl("db", "status", migrations="basic", expect=NOT_OK)
        self.assertRegex(r.stdout, r"(?m)^\[D\]\s+0003_items_name_index\s+dirty")
        r = self.ctl("db", "check", migrations="basic", expect=NOT_OK)
        self.assertIn("dirty  0003_items_name_index is dirty", r.stdout)
        for verb in (("upgrade",), ("downgrade",), ("downgrade", "base"), ("reset", "--yes", "--allow-reset"),
                     ("restore", os.path.join(self.tmp, "x.dump"))):
            with self.subTest(verb=verb):
                if verb[0] == "restore":
                    with open(verb[1] + ".json", "w") as f:
                        f.write('{"format": "stopstart-backup", "format_version": 1, "schema_version": 1, '
                                '"head_version": 1}')
                    open(verb[1], "w").close()
                r = self.ctl("db", *verb, migrations="basic", expect=REFUSED)
                self.assertIn("is dirty", r.stderr)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "dirty"})

        # The operator finishes the job by hand (here: nothing left to do), then records it.
        self.psql(f"ALTER DATABASE {self.db} RESET stopstart_test.fail_0003")
        r = self.ctl("db", "fix-state", "--mark-applied=3", migrations="basic", expect=OK)
        self.assertIn("0003_items_name_index: marked applied (was dirty).", r.stdout)
        self.assertEqual(self.events()[-1], ("fix", 3, True))
        self.ctl("db", "check", migrations="basic", expect=OK)
        # And the other way round: mark-reverted after undoing by hand.
        self.ctl("db", "downgrade", "--yes", migrations="basic", expect=OK)
        self.psql(f"ALTER DATABASE {self.db} SET stopstart_test.fail_0003 = on")
        self.ctl("db", "upgrade", migrations="basic", expect=FAILED)
        self.psql(f"ALTER DATABASE {self.db} RESET stopstart_test.fail_0003")
        self.psql("DROP INDEX stopstart.items_name_idx")
        self.ctl("db", "fix-state", "--mark-reverted=3", migrations="basic", expect=OK)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied"})
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        self.ctl("db", "check", migrations="basic", expect=OK)

    def test_no_transaction_round_trip(self):
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        self.assertTrue(self.relation_exists("stopstart.items_name_idx"))
        self.assertEqual(self.psql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'stopstart.items_name_idx'::regclass"),
                         "t")
        detail = self.psql("SELECT detail FROM stopstart_meta.schema_log WHERE version = 3")
        self.assertEqual(detail, "no-transaction")
        self.ctl("db", "downgrade", "--yes", migrations="basic", expect=OK)
        self.assertFalse(self.relation_exists("stopstart.items_name_idx"))
        self.assertEqual(self.versions(), {1: "applied", 2: "applied"})

    def test_verify_script_failure_rolls_back(self):
        d = self.copy_set("basic")
        with open(os.path.join(d, "0002_item_notes.verify.sql"), "w") as f:
            f.write("DO $$ BEGIN RAISE EXCEPTION 'verify says no'; END $$;\n")
        r = self.ctl("db", "upgrade", migrations=d, expect=FAILED)
        self.assertIn("verify script failed", r.stderr)
        self.assertIn("0002_item_notes.verify.sql:1: verify says no", r.stderr)
        self.assertEqual(self.versions(), {1: "applied"})
        self.assertEqual(self.psql("SELECT count(*) FROM information_schema.columns WHERE column_name = 'note'"), "0")


class CheckCatches(dbtest.DbTestCase):
    def test_tampered_file(self):
        d = self.copy_set("basic")
        self.ctl("db", "upgrade", migrations=d, expect=OK)
        # Line endings and a BOM do not count as a change...
        p = os.path.join(d, "0001_items.up.sql")
        with open(p, "rb") as f:
            data = f.read()
        with open(p, "wb") as f:
            f.write(b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n"))
        self.ctl("db", "check", migrations=d, expect=OK)
        # ...an edit does.
        with open(p, "wb") as f:
            f.write(data.replace(b"name    text NOT NULL", b"name    text"))
        r = self.ctl("db", "check", migrations=d, expect=NOT_OK)
        self.assertRegex(r.stdout, r"checksum\s+0001_items: the up script changed after it was applied "
                                   r"\(applied sha256 [0-9a-f]{12}…, build [0-9a-f]{12}…\)")
        # Mutating verbs refuse a changed history.
        r = self.ctl("db", "downgrade", "--yes", migrations=d, expect=REFUSED)
        self.assertIn("Refusing to downgrade: 0001_items: the up script changed", r.stderr)
        # Realigning needs --yes, is logged, and makes check pass on the state (the schema
        # still differs from the edited file: that is drift, and check says so).
        self.ctl("db", "fix-state", "--realign-checksums", migrations=d, expect=REFUSED)
        r = self.ctl("db", "fix-state", "--realign-checksums", "--yes", migrations=d, expect=OK)
        self.assertIn("0001_items: recorded name and checksums realigned to this build.", r.stdout)
        self.assertEqual(self.events()[-1], ("fix", 1, True))
        r = self.ctl("db", "check", migrations=d, expect=NOT_OK)
        self.assertNotIn("checksum", r.stdout)
        self.assertIn("drift  column stopstart.items.name differs", r.stdout)

    def test_missing_from_build(self):
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        d = self.copy_set("basic", drop=("0003_items_name_index.up.sql", "0003_items_name_index.down.sql"))
        r = self.ctl("db", "check", migrations=d, expect=NOT_OK)
        self.assertIn("missing  0003_items_name_index is applied but not part of this build", r.stdout)
        self.assertIn("schema drift was not checked", r.stdout)
        r = self.ctl("db", "upgrade", migrations=d, expect=REFUSED)
        self.assertIn("Refusing to upgrade: 0003_items_name_index is applied but not part of this build", r.stderr)
        r = self.ctl("db", "status", migrations=d, expect=OK)
        self.assertRegex(r.stdout, r"(?m)^\[\?\]\s+0003_items_name_index\s+missing")
        self.ctl("db", "fix-state", "--forget-missing", migrations=d, expect=OK)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied"})

    def test_out_of_order(self):
        early = self.copy_set("basic", drop=("0002_item_notes.up.sql", "0002_item_notes.down.sql",
                                             "0002_item_notes.verify.sql"))
        self.ctl("db", "upgrade", migrations=early, expect=OK)
        self.assertEqual(self.versions(), {1: "applied", 3: "applied"})
        r = self.ctl("db", "check", migrations="basic", expect=NOT_OK)
        self.assertIn("out-of-order  0002_item_notes is not applied, but the later 0003_items_name_index is "
                      "(out of order).", r.stdout)
        r = self.ctl("db", "upgrade", migrations="basic", expect=REFUSED)
        self.assertIn("Refusing to upgrade: 0002_item_notes is not applied, but the later", r.stderr)
        self.assertEqual(self.versions(), {1: "applied", 3: "applied"})
        # Reverting the later one resolves it.
        self.ctl("db", "downgrade", "--yes", migrations="basic", expect=OK)
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        self.ctl("db", "check", migrations="basic", expect=OK)

    def test_stamp_adopts_existing_schema(self):
        # A database built by other means (here: by hand) is adopted with --stamp.
        for f in ("0001_items.up.sql", "0002_item_notes.up.sql"):
            with open(os.path.join(dbtest.FIXTURES, "basic", f)) as fh:
                self.psql(fh.read().replace("current_setting('stopstart_test.sleep', true)", "''"))
        r = self.ctl("db", "fix-state", "--stamp=2", migrations="basic", expect=OK)
        self.assertIn("stamped at 0002: 2 recorded as applied, 0 removed", r.stdout)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied"})
        self.assertEqual(self.events(), [("stamp", 2, True)])
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        self.ctl("db", "check", migrations="basic", expect=OK)
        self.ctl("db", "fix-state", "--stamp=1", migrations="basic", expect=OK)
        self.assertEqual(self.versions(), {1: "applied"})
        self.ctl("db", "fix-state", "--stamp=9", migrations="basic", expect=USAGE)
        self.ctl("db", "fix-state", "--mark-reverted=2", migrations="basic", expect=USAGE)
        self.ctl("db", "fix-state", "--stamp=0", migrations="basic", expect=OK)
        self.assertEqual(self.versions(), {})

    def test_verify_failure_in_check(self):
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        self.psql("ALTER TABLE stopstart.items DROP COLUMN note")
        r = self.ctl("db", "check", migrations="basic", expect=NOT_OK)
        self.assertIn("verify  0002_item_notes: verify script failed: ", r.stdout)
        self.assertIn("0002_item_notes.verify.sql:2: column stopstart.items.note is missing", r.stdout)
        j = self.ctl_json("db", "check", migrations="basic", expect=NOT_OK)
        kinds = sorted({p["kind"] for p in j["problems"]})
        self.assertEqual(kinds, ["drift", "verify"])
        self.assertFalse(j["ok"])


if __name__ == "__main__":
    dbtest.main()

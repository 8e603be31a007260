#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The guards of the destructive verbs (issue 8 item 3): downgrade to base needs reset's guard
(--yes and allow_reset), every other downgrade and every restore needs --yes or a "y" typed on a
terminal, and both warn when a stopstartd is connected to the database."""
import os
import pty
import subprocess
import time

import dbtest
from dbtest import CTL, OK, REFUSED, clean_env


class Guards(dbtest.DbTestCase):
    def at_head(self):
        self.ctl("db", "upgrade", migrations="basic", expect=OK)
        self.psql("INSERT INTO stopstart.items (name) VALUES ('kept')")

    def write_config(self, allow_reset):
        path = os.path.join(self.tmp, "stopstartd.yaml")
        with open(path, "w") as f:
            f.write(f'database: "{self.url}"\nmigrations:\n  allow_reset: {"true" if allow_reset else "false"}\n'
                    f'  backup_dir: {self.backup_dir}\n')
        return path

    def on_terminal(self, *args, answer, migrations="basic"):
        """Runs stopstartctl with a pseudo-terminal as stdin, types answer, returns
        (exit status, what it wrote to stderr)."""
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([CTL, f"--config={self.config}", f"--database={self.url}", f"--migrations-dir={dbtest.FIXTURES}/{migrations}",
                                  *args], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=clean_env())
            os.close(slave)
            slave = None
            os.write(master, answer.encode() + b"\n")
            out, err = p.communicate(timeout=60)
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)
        self.assertNotIn("Sanitizer", err)
        return p.returncode, out, err

    def test_downgrade_to_base_needs_allow_reset_and_yes(self):
        self.at_head()
        # "base", "0", and -N or a lone -1 that revert everything are all "to base".
        for args in (("base",), ("0",), ("-3",), ("base", "--yes"), ("-3", "--yes")):
            with self.subTest(args=args):
                r = self.ctl("db", "downgrade", *args, migrations="basic", expect=REFUSED)
                self.assertIn("Refusing to downgrade to base: like reset, it drops schema stopstart", r.stderr)
                self.assertIn("allow_reset: true", r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = self.ctl("db", "downgrade", "base", "--allow-reset", migrations="basic", expect=REFUSED)
        self.assertIn("Refusing to downgrade to base without --yes", r.stderr)
        # allow_reset from the configuration file counts like --allow-reset; false does not.
        cfg = self.write_config(False)
        self.ctl(f"--config={cfg}", "db", "downgrade", "base", "--yes", db=False, migrations="basic", expect=REFUSED)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "applied"})
        self.assertEqual(self.psql("SELECT name FROM stopstart.items"), "kept")
        # Confirming on a terminal is not enough for base: it needs --yes like reset.
        rc, _, err = self.on_terminal("db", "downgrade", "base", "--allow-reset", answer="y")
        self.assertEqual(rc, REFUSED, err)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "applied"})

        cfg = self.write_config(True)
        self.ctl(f"--config={cfg}", "db", "downgrade", "base", "--yes", db=False, migrations="basic", expect=OK)
        self.assertEqual(self.versions(), {})
        # Nothing left to revert: no guard, nothing to confirm.
        r = self.ctl("db", "downgrade", "base", migrations="basic", expect=OK)
        self.assertIn("Nothing to downgrade.", r.stdout)

    def test_last_migration_is_base_too(self):
        self.ctl("db", "upgrade", "1", migrations="basic", expect=OK)
        r = self.ctl("db", "downgrade", "--yes", migrations="basic", expect=REFUSED)
        self.assertIn("Refusing to downgrade to base", r.stderr)
        self.assertEqual(self.versions(), {1: "applied"})
        self.ctl("db", "downgrade", "--yes", "--allow-reset", migrations="basic", expect=OK)
        self.assertEqual(self.versions(), {})

    def test_downgrade_needs_yes(self):
        self.at_head()
        for args in ((), ("-1",), ("1",)):
            with self.subTest(args=args):
                r = self.ctl("db", "downgrade", *args, migrations="basic", expect=REFUSED)
                self.assertRegex(r.stderr, r"^stopstartctl: Refusing to downgrade without --yes: it reverts "
                                           r"(0003_items_name_index|2 migrations \(0003_items_name_index down to "
                                           r"0002_item_notes\)), and what (it|they) created is dropped with its data\. "
                                           r"Confirm with --yes")
        # The guard comes after the state checks: a bad target is still a usage error.
        self.ctl("db", "downgrade", "7", migrations="basic", expect=dbtest.USAGE)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "applied"})
        r = self.ctl("db", "downgrade", "1", "--yes", migrations="basic", expect=OK)
        self.assertIn("Reverted 0003_items_name_index", r.stdout)
        self.assertEqual(self.versions(), {1: "applied"})

    def test_downgrade_confirmed_on_a_terminal(self):
        self.at_head()
        for answer in ("n", "", "maybe"):
            with self.subTest(answer=answer):
                rc, out, err = self.on_terminal("db", "downgrade", answer=answer)
                self.assertEqual(rc, REFUSED, err)
                self.assertIn("Downgrade database " + self.db + " from 0003_items_name_index to 0002_item_notes? "
                              "It reverts 0003_items_name_index", err)
                self.assertIn("Not confirmed; nothing was changed.", err)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "applied"})
        rc, out, err = self.on_terminal("db", "downgrade", answer="y")
        self.assertEqual(rc, OK, err)
        self.assertIn("Reverted 0003_items_name_index", out)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied"})

    def test_restore_needs_yes(self):
        self.at_head()
        dump = os.path.join(self.tmp, "b.dump")
        self.ctl("db", "backup", dump, migrations="basic", expect=OK)
        self.psql("INSERT INTO stopstart.items (name) VALUES ('later')")
        r = self.ctl("db", "restore", dump, migrations="basic", expect=REFUSED)
        self.assertIn("Refusing to restore without --yes: it replaces schemas stopstart and stopstart_meta with the "
                      "backup's, and everything written since the backup is lost.", r.stderr)
        rc, _, err = self.on_terminal("db", "restore", dump, answer="no")
        self.assertEqual(rc, REFUSED, err)
        self.assertIn(f"Restore {dump} (database {self.db} at 0003_items_name_index, taken ", err)
        self.assertEqual(self.psql("SELECT string_agg(name, ',' ORDER BY name) FROM stopstart.items"), "kept,later")
        rc, out, err = self.on_terminal("db", "restore", dump, answer="yes")
        self.assertEqual(rc, OK, err)
        self.assertEqual(self.psql("SELECT string_agg(name, ',' ORDER BY name) FROM stopstart.items"), "kept")

    def test_warns_when_stopstartd_is_connected(self):
        self.at_head()
        dump = os.path.join(self.tmp, "b.dump")
        self.ctl("db", "backup", dump, migrations="basic", expect=OK)
        r = self.ctl("db", "downgrade", "--yes", migrations="basic", expect=OK)
        self.assertNotIn("stopstartd is connected", r.stderr)
        # A session named like the daemon's (daemon/db.c sets it; test-db-async checks that).
        env = clean_env(PGAPPNAME="stopstartd")
        holder = subprocess.Popen(["psql", "-X", "-q", self.url, "-c", "SELECT pg_sleep(60)"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(holder.wait)
        self.addCleanup(holder.kill)
        for _ in range(100):
            if self.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'stopstartd'") == "1":
                break
            time.sleep(0.1)
        r = self.ctl("db", "downgrade", "--yes", migrations="basic", expect=OK)
        self.assertIn(f"Warning: stopstartd is connected to database {self.db} (1 session)", r.stderr)
        r = self.ctl("db", "restore", dump, "--yes", migrations="basic", expect=OK)
        self.assertIn("stopstartd is connected", r.stderr)
        # The warning comes before the question, so it also precedes a refusal.
        r = self.ctl("db", "downgrade", migrations="basic", expect=REFUSED)
        self.assertIn("stopstartd is connected", r.stderr)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "applied"})


if __name__ == "__main__":
    dbtest.main()

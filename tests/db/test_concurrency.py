#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Two runners at once, the advisory lock's timeout, and db wait."""
import subprocess
import threading
import time

import dbtest
from dbtest import CTL, FIXTURES, OK, REFUSED, UNREACHABLE, clean_env


class Concurrency(dbtest.DbTestCase):
    def start(self, *args):
        return subprocess.Popen([CTL, f"--database={self.url}", f"--migrations-dir={FIXTURES}/basic", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())

    def wait_for_lock_holder(self):
        for _ in range(200):
            if self.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                         "AND classid = 1397970000 AND objsubid = 2") == "1":
                return
            time.sleep(0.05)
        self.fail("nobody took the migration lock")

    def test_two_upgrades_apply_each_migration_once(self):
        # 0002 sleeps, so the two runs overlap for sure.
        self.psql(f"ALTER DATABASE {self.db} SET stopstart_test.sleep = '1'")
        a = self.start("db", "upgrade")
        b = self.start("db", "upgrade")
        out = [p.communicate(timeout=60) for p in (a, b)]
        self.assertEqual([a.returncode, b.returncode], [0, 0], out)
        self.assertEqual(self.versions(), {1: "applied", 2: "applied", 3: "applied"})
        self.assertEqual(self.events(), [("upgrade", 1, True), ("upgrade", 2, True), ("upgrade", 3, True)])
        # One of them did the work, the other waited for the lock and found nothing to do.
        stdouts = sorted(o for o, _ in out)
        self.assertIn("Nothing to upgrade.", stdouts[1])
        self.assertIn("Applied 0002_item_notes", stdouts[0])
        self.assertTrue(any("holds the lock on this database" in e for _, e in out), out)

    def test_lock_timeout(self):
        self.psql(f"ALTER DATABASE {self.db} SET stopstart_test.sleep = '2'")
        a = self.start("db", "upgrade")
        try:
            self.wait_for_lock_holder()
            t0 = time.monotonic()
            r = self.ctl("--lock-timeout=500ms", "db", "upgrade", migrations="basic", expect=REFUSED)
            self.assertLess(time.monotonic() - t0, 2.5)
            self.assertRegex(r.stderr, r"stopstartctl: Timed out after 500ms waiting for the migration lock, held by "
                                       r"another migration run \(server PID \d+\)\.")
            r = self.ctl("--lock-timeout=0", "db", "fix-state", "--stamp=0", migrations="basic", expect=REFUSED)
            self.assertIn("not waiting (--lock-timeout=0)", r.stderr)
            # Readers do not take the lock.
            self.ctl("db", "status", migrations="basic")
        finally:
            a.communicate(timeout=60)
        self.assertEqual(a.returncode, 0)
        # The lock timeout from the config file applies too.
        cfg = f"{self.tmp}/c.yaml"
        with open(cfg, "w") as f:
            f.write("migrations:\n  lock_timeout: 300ms\n")
        self.ctl("db", "downgrade", "base", "--yes", "--allow-reset", migrations="basic", expect=OK)
        a = self.start("db", "upgrade")
        try:
            self.wait_for_lock_holder()
            r = self.ctl(f"--config={cfg}", "db", "upgrade", migrations="basic", expect=REFUSED)
            self.assertIn("Timed out after 300ms", r.stderr)
        finally:
            a.communicate(timeout=60)

    def test_connection_lost_mid_migration(self):
        self.psql(f"ALTER DATABASE {self.db} SET stopstart_test.sleep = '5'")
        a = self.start("db", "upgrade")
        try:
            self.wait_for_lock_holder()
            time.sleep(0.3)                      # inside 0002's pg_sleep by now
            self.pg.stop_server("fast")
            out, err = a.communicate(timeout=60)
        finally:
            if not self.pg.running:
                self.pg.start_server()
        self.assertEqual(a.returncode, UNREACHABLE, err)
        self.assertRegex(err, r"^stopstartctl: Connection to the server lost while applying 0002_item_notes \(the "
                              r"server rolled it back unless its COMMIT had arrived; .*\): \S*0002_item_notes\.up\.sql:6: ")
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        # 0002 was rolled back with the connection; nothing is dirty and the run can resume.
        self.assertEqual(self.versions(), {1: "applied"})
        self.psql(f"ALTER DATABASE {self.db} RESET stopstart_test.sleep")
        self.ctl("db", "upgrade", migrations="basic", expect=OK)

    def test_wait(self):
        r = self.ctl("db", "wait", expect=OK)
        self.assertIn("accepts connections", r.stdout)
        self.assertEqual(self.ctl_json("db", "wait"), {"ready": True})
        self.pg.stop_server()
        try:
            t0 = time.monotonic()
            r = self.ctl("db", "wait", "--timeout=1", expect=UNREACHABLE)
            self.assertGreaterEqual(time.monotonic() - t0, 1.0)
            self.assertRegex(r.stderr, r"^stopstartctl: Timed out after 1s waiting for the database server "
                                       r"\(from --database\) to accept connections \(no answer\)\.\n$")
            r = self.ctl("db", "status", expect=UNREACHABLE)
            self.assertIn("Cannot connect to the database", r.stderr)
            # A server that comes up while we wait.
            starter = threading.Timer(1.0, self.pg.start_server)
            starter.start()
            t0 = time.monotonic()
            r = self.ctl("db", "wait", "--timeout=30s", expect=OK)
            self.assertGreater(time.monotonic() - t0, 0.5)
            starter.join()
        finally:
            if not self.pg.running:
                self.pg.start_server()
        self.ctl("db", "status", expect=1)


if __name__ == "__main__":
    dbtest.main()

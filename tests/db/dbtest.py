# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared by the db suite: one throwaway PostgreSQL cluster per test file (PgCluster copies the
first initdb for later clusters of the same process), one fresh database per test, and the built
stopstartctl run as a subprocess exactly as an administrator would."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import uuid

SOURCE_ROOT = os.environ["STOPSTART_SOURCE_ROOT"]
BUILD_ROOT = os.environ["STOPSTART_BUILD_ROOT"]
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "lib"))

from pgcluster import PgCluster  # noqa: E402

CTL = os.path.join(BUILD_ROOT, "ctl", "stopstartctl")
FIXTURES = os.path.join(SOURCE_ROOT, "tests", "fixtures", "migrations")
MIGRATIONS = os.path.join(SOURCE_ROOT, "migrations")

# Exit statuses of stopstartctl (README, "Database migrations").
OK, NOT_OK, USAGE, UNREACHABLE, REFUSED, FAILED = 0, 1, 2, 3, 4, 5


def clean_env(**extra):
    """Our environment without libpq's PG* variables, so only what a test passes counts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["STOPSTART_PAGER"] = "cat"
    env.update(extra)
    return env


class DbTestCase(unittest.TestCase):
    pg = None

    @classmethod
    def setUpClass(cls):
        cls.pg = PgCluster()
        cls.pg.start()

    @classmethod
    def tearDownClass(cls):
        if cls.pg:
            cls.pg.stop()
        PgCluster.cleanup_template()

    def setUp(self):
        self.db = "t_" + uuid.uuid4().hex[:12]
        self.pg.createdb(self.db)
        self.url = self.pg.url_for(self.db)
        self.tmp = tempfile.mkdtemp(prefix="ssdb.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        # Automatic backups go to this test's directory, never to /var/lib/stopstart.
        self.backup_dir = os.path.join(self.tmp, "backups")
        self.config = os.path.join(self.tmp, "default.yaml")
        with open(self.config, "w") as f:
            f.write(f"migrations:\n  backup_dir: {self.backup_dir}\n")

    # --- running things -------------------------------------------------------------------
    def ctl(self, *args, db=True, migrations=None, env=None, expect=None, timeout=60, stdin=subprocess.DEVNULL):
        """Runs stopstartctl ARGS against this test's database; returns CompletedProcess.
        migrations: a fixture set name or a directory (default: the built-in set).
        expect: the exit status to assert. stdin: never the caller's terminal unless given, so a
        confirmation prompt cannot wait for a human."""
        argv = [CTL]
        # The test's configuration (backup_dir in self.tmp) unless the test names one, or leaves
        # the database to the PG* environment (a config file would name it).
        if not any(a.startswith("--config") for a in args) and (db or any(a.startswith("--database") for a in args)):
            argv.append(f"--config={self.config}")
        if db:
            argv.append(f"--database={self.url}")
        if migrations:
            d = migrations if os.path.isabs(migrations) else os.path.join(FIXTURES, migrations)
            argv.append(f"--migrations-dir={d}")
        argv += list(args)
        r = subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env or clean_env(), timeout=timeout)
        if expect is not None:
            self.assertEqual(r.returncode, expect,
                             f"stopstartctl {' '.join(args)}: exit {r.returncode}, expected {expect}\n"
                             f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        # Whatever happened, stopstartctl did not crash or trip a sanitizer.
        self.assertNotIn("Sanitizer", r.stderr)
        self.assertNotIn("runtime error", r.stderr)
        self.assertLess(r.returncode, 64, r.stderr)
        return r

    def ctl_json(self, *args, expect=OK, **kw):
        r = self.ctl("--json=short", *args, expect=expect, **kw)
        return json.loads(r.stdout)

    def psql(self, sql, db=None):
        return self.pg.psql(sql, dbname=db or self.db)

    # --- inspecting -----------------------------------------------------------------------
    def versions(self):
        """{version: state} from stopstart_meta.schema_version."""
        out = self.psql("SELECT version, state FROM stopstart_meta.schema_version ORDER BY version")
        return {int(v): s for v, s in (line.split("|") for line in out.splitlines() if line)}

    def events(self):
        """[(event, version, success)] from the log, oldest first."""
        out = self.psql("SELECT event, COALESCE(version, 0), success FROM stopstart_meta.schema_log ORDER BY id")
        return [(e, int(v), s == "t") for e, v, s in (line.split("|") for line in out.splitlines() if line)]

    def relation_exists(self, name):
        return self.psql(f"SELECT to_regclass('{name}') IS NOT NULL") == "t"

    def copy_set(self, name, drop=()):
        """A writable copy of a fixture set (or of migrations/ for name=None) without the
        files in drop; returns its directory."""
        src = os.path.join(FIXTURES, name) if name else MIGRATIONS
        dst = os.path.join(self.tmp, "set-" + (name or "real"))
        shutil.rmtree(dst, ignore_errors=True)
        os.makedirs(dst)
        for f in os.listdir(src):
            if (f.endswith(".sql") or f == "schema.snapshot") and f not in drop:
                shutil.copy(os.path.join(src, f), dst)
        return dst


def main():
    unittest.main(verbosity=2)

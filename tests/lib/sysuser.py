# SPDX-License-Identifier: LGPL-2.1-or-later
"""The system accounts the test stacks run their servers as (PostgreSQL, stopstartd, the unprivileged
caller). Tests run in parallel and a fresh machine has none of them yet: two tests creating the same
account at once must not fail (useradd exits 9 for "exists"), nor must one read /etc/passwd while
another rewrites it, so creation is serialised with a lock and re-checked under it."""

import fcntl
import grp
import os
import pwd
import subprocess

LOCK = os.path.join(os.environ.get("TMPDIR", "/tmp"), "stopstart-tests-accounts.lock")


def ensure_system_user(name, groups=()):
    """Creates a system account (no home, no shell) when missing, adds it to groups (created when
    missing) and returns its passwd entry."""
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                           check=True)
        for g in groups:
            try:
                grp.getgrnam(g)
            except KeyError:
                subprocess.run(["groupadd", "--system", g], check=True)
            if name not in grp.getgrnam(g).gr_mem:
                subprocess.run(["usermod", "-aG", g, name], check=True)
        return pwd.getpwnam(name)

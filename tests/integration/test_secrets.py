#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Secrets stay secret (issue 13): the OCI API key, its passphrase and the database password never
appear on the bus (every object's every property, Describe, History, ListJobs, Explain, errors),
in the daemon's log (its journal), or in the audit log — also not when they are wrong.

The stack runs with a passphrase-protected key and a password in the database conninfo (the
throwaway cluster trusts local connections, so the password is carried, not checked: exactly
what could leak). The test operates the daemon (refresh, configuration, a stop, a reload with a
wrong passphrase, a database outage) and then greps everything it can read."""
import base64
import os
import re
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

from cryptography.hazmat.primitives import serialization  # noqa: E402

import ocikeys  # noqa: E402
from busenv import wait_for  # noqa: E402
from ssstack import BUS_NAME, MANAGER, ROOT_PATH, Stack  # noqa: E402

PASSPHRASE = "pass-Phrase-7c1e9b"
DB_PASSWORD = "db-Secret-4f2a8d"


class TestSecrets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = Stack(compartments=3, instances=8).start()
        st = cls.st
        try:
            # the same key, now encrypted, with its passphrase in the OCI config file
            key = st.oci.key
            enc = key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.BestAvailableEncryption(PASSPHRASE.encode()))
            enc_path = os.path.join(os.path.dirname(st.oci.config_file), "encrypted.pem")
            fd = os.open(enc_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(enc)
            cls.pem = enc.decode()
            cls.plain_pem = key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()).decode()
            protected = ocikeys.ApiKey(enc_path, None, key.private_key, PASSPHRASE, key.user)
            cls.config = os.path.join(os.path.dirname(st.oci.config_file), "config-encrypted")
            ocikeys.write_oci_config(cls.config, protected, st.oci.tenancy_id, st.oci.home_region)
            st._give_to_daemon(os.path.dirname(st.oci.config_file))
            db = st.database
            db += ("&" if "?" in db else "?") + f"password={DB_PASSWORD}" if db.startswith("postgres") else \
                f" password={DB_PASSWORD}"
            st.write_config(oci_config_file=cls.config, database=db)
            st.restart_daemon()
        except BaseException:
            st.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.st.stop()

    def secrets(self):
        """What must never show: the passphrase, the password, any 32-character run of either
        PEM's base64 body, and the key's private numbers."""
        out = [PASSPHRASE, DB_PASSWORD]
        for pem in (self.pem, self.plain_pem):
            body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
            out += [body[i:i + 32] for i in range(0, len(body) - 32, 32)]
        d = self.st.oci.key.private_key.private_numbers().d
        out.append(base64.b64encode(d.to_bytes((d.bit_length() + 7) // 8, "big")).decode()[:32])
        out.append(format(d, "x")[:32])
        return out

    def assertClean(self, what, text):
        for s in self.secrets():
            self.assertNotIn(s, text, f"a secret ({s[:6]}…) shows in {what}")

    def bus_text(self):
        """Every property of every object, and the answers that echo state."""
        st = self.st
        parts = [st.busctl("--json=short", "call", BUS_NAME, ROOT_PATH, "org.freedesktop.DBus.ObjectManager",
                           "GetManagedObjects").stdout]
        paths = re.findall(r'"(/org/stopstart/StopStart1[^"]*)"', parts[0]) + [ROOT_PATH]
        for path in sorted(set(paths)):
            intro = st.busctl("introspect", "--xml-interface", BUS_NAME, path, check=False).stdout
            for iface in set(re.findall(r'interface name="(org\.stopstart\.[^"]+)"', intro)):
                parts.append(st.busctl("--json=short", "call", BUS_NAME, path, "org.freedesktop.DBus.Properties",
                                       "GetAll", "s", iface).stdout)
                if iface.endswith(".Instance"):
                    parts.append(st.busctl("--json=short", "call", BUS_NAME, path, iface, "Explain",
                                           check=False).stdout)
        for method, sig, args in (("Describe", "", []), ("ListJobs", "", []), ("History", "a{sv}", ["0"])):
            parts.append(st.busctl("--json=short", "call", BUS_NAME, ROOT_PATH, MANAGER, method, sig, *args).stdout)
        return "\n".join(parts)

    def test_secrets_stay_secret(self):
        st = self.st
        self.assertEqual(st.manager_prop("State"), "running", st.log_tail())
        # work, with errors on the way
        st.ctl("refresh", check=0)
        inst = st.ctl_json("list-instances")[0]
        st.ctl("set-config", inst["display_name"], "note=secrets test", check=0)
        st.ctl("stop", inst["display_name"], "--no-block", check=0)
        # a wrong passphrase: the daemon refuses to start with one clear line naming neither
        with open(self.config) as f:
            good = f.read()
        with open(self.config, "w") as f:
            f.write(good.replace(PASSPHRASE, "wrong-" + PASSPHRASE[::-1]))
        self.assertEqual(st.stop_daemon(), 0)
        wait_for(lambda: not st.bus.has_name(BUS_NAME), 10, 0.05, "the name released")
        before = len(st.log_tail(1000000))
        self.assertEqual(st.start_daemon(wait=False).wait(60), 78)
        wrong_out = st.log_tail(1000000)[before:]
        self.assertIn("wrong pass_phrase", wrong_out)
        with open(self.config, "w") as f:
            f.write(good)
        st.start_daemon()
        # the database away and back: connection errors are logged and shown
        st.pg.stop_server()
        time.sleep(1)
        r = st.ctl("status")
        outage_out = r.stdout + r.stderr
        print("status during the outage:", r.returncode, outage_out.strip()[:300])
        st.pg.start_server()
        wait_for(lambda: st.manager_prop("State") == "running", 60, 0.2, "the daemon running again")
        st.ctl("refresh", check=0)

        self.assertClean("stopstartctl's output", wrong_out + outage_out)
        self.assertNotIn("wrong-", wrong_out)
        self.assertClean("the bus", self.bus_text())
        with open(st.daemon_log, errors="replace") as f:
            log = f.read()
        self.assertIn("stopstartd", log)
        self.assertClean("the daemon's log", log)
        audit = st.pg.psql("SELECT row_to_json(a)::text FROM stopstart.audit_log a")
        self.assertTrue(audit.strip(), "the audit log is empty: nothing was checked")
        # the check itself can fail: the key's body is found where it is
        with self.assertRaises(AssertionError):
            self.assertClean("the encrypted key file", self.pem)
        self.assertClean("the audit log", audit)


if __name__ == "__main__":
    unittest.main(verbosity=2)

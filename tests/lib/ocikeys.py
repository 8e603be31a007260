#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Test API keys and OCI CLI-style config files.

    key = generate_key("/tmp/dir")                      # 2048-bit RSA, PKCS#8, mode 0600
    key.fingerprint, key.user, key.private_key_path, key.public_key_pem
    write_oci_config("/tmp/dir/config", key, tenancy=tid, region="us-phoenix-1")

Command line (used by make demo):
    ocikeys.py generate DIR [--bits N] [--format pkcs1|pkcs8] [--passphrase P]
        writes DIR/oci_api_key.pem (0600) and DIR/oci_api_key_public.pem; prints JSON
        {"private_key": ..., "public_key": ..., "fingerprint": ..., "user": ...}
    ocikeys.py config DIR --tenancy OCID --region REGION [--profile P]
        writes DIR/config for the key in DIR; prints its path
"""
import argparse
import base64
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_NAME = "oci_api_key.pem"
PUB_NAME = "oci_api_key_public.pem"


def fingerprint(public_key):
    """MD5 of the DER SubjectPublicKeyInfo as aa:bb:..., what the OCI console shows."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return ":".join(f"{b:02x}" for b in hashlib.md5(der).digest())


def user_ocid_for(fp):
    """A stable, real-looking user OCID for a key (the fake server derives the same one)."""
    s = base64.b32encode(hashlib.sha256(fp.encode()).digest()).decode().lower().rstrip("=")
    return "ocid1.user.oc1..aaaaaaaa" + s[:52]


class ApiKey:
    def __init__(self, private_key_path, public_key_path, private_key, passphrase=None, user=None):
        self.private_key_path = private_key_path
        self.public_key_path = public_key_path
        self.private_key = private_key
        self.passphrase = passphrase
        pub = private_key.public_key()
        self.public_key_pem = pub.public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.fingerprint = fingerprint(pub)
        self.user = user or user_ocid_for(self.fingerprint)

    def key_id(self, tenancy):
        return f"{tenancy}/{self.user}/{self.fingerprint}"

    def to_json(self):
        return {"private_key": self.private_key_path, "public_key": self.public_key_path,
                "fingerprint": self.fingerprint, "user": self.user}


def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def generate_key(directory, name=KEY_NAME, bits=2048, fmt="pkcs8", passphrase=None, user=None):
    """New RSA key in directory (created 0700 if missing): private key 0600, public key 0644."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    enc = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
           else serialization.NoEncryption())
    pf = serialization.PrivateFormat.PKCS8 if fmt == "pkcs8" else serialization.PrivateFormat.TraditionalOpenSSL
    priv = os.path.join(directory, name)
    _write_private(priv, key.private_bytes(serialization.Encoding.PEM, pf, enc))
    pub = os.path.join(directory, name.replace(".pem", "") + "_public.pem")
    k = ApiKey(priv, pub, key, passphrase, user)
    with open(pub, "w") as f:
        f.write(k.public_key_pem)
    return k


def load_key(private_key_path, passphrase=None, user=None):
    with open(private_key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=passphrase.encode() if passphrase else None)
    return ApiKey(private_key_path, None, key, passphrase, user)


def write_oci_config(path, key, tenancy, region, profile="DEFAULT", fingerprint_override=None, extra=None):
    """An OCI CLI config file with one profile for key (0600)."""
    lines = [f"[{profile}]", f"user={key.user}", f"fingerprint={fingerprint_override or key.fingerprint}",
             f"key_file={key.private_key_path}", f"tenancy={tenancy}", f"region={region}"]
    if key.passphrase:
        lines.append(f"pass_phrase={key.passphrase}")
    for k, v in (extra or {}).items():
        lines.append(f"{k}={v}")
    _write_private(path, ("\n".join(lines) + "\n").encode())
    return path


def main(argv):
    ap = argparse.ArgumentParser(prog="ocikeys.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("dir")
    g.add_argument("--bits", type=int, default=2048)
    g.add_argument("--format", choices=("pkcs1", "pkcs8"), default="pkcs8")
    g.add_argument("--passphrase")
    c = sub.add_parser("config")
    c.add_argument("dir")
    c.add_argument("--tenancy", required=True)
    c.add_argument("--region", required=True)
    c.add_argument("--profile", default="DEFAULT")
    c.add_argument("--passphrase")
    a = ap.parse_args(argv)
    if a.cmd == "generate":
        k = generate_key(a.dir, bits=a.bits, fmt=a.format, passphrase=a.passphrase)
        print(json.dumps(k.to_json()))
    else:
        k = load_key(os.path.join(a.dir, KEY_NAME), a.passphrase)
        print(write_oci_config(os.path.join(a.dir, "config"), k, a.tenancy, a.region, a.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

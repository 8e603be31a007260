#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A small HTTP(S) server with canned answers, for what the fake OCI server never does on
purpose: malformed, truncated and oversized bodies, non-JSON errors, TLS with a private CA.
Signatures are not checked. The answer is chosen by the last path segment:

    ok         200, a valid Instance whose displayName is the request's User-Agent
    badjson    200, '{"id":' (malformed)
    missing    200, an Instance without lifecycleState
    wrongtype  200, an Instance whose lifecycleState is a number
    truncated  200, Content-Length 1000 but 40 bytes, then the connection is closed
    big        200, a valid Instance padded to 2 MiB
    html502    502, an HTML page (not OCI's JSON error body)
    teapot     418, {"code":"Teapot","message":"short and stout"}

GET /_count returns {"segment": requests, ..., "connections": N}.

    canned_server.py --ready-file FILE [--tls-dir DIR]
With --tls-dir: a CA and a server certificate for 127.0.0.1/localhost are generated, DIR/ca.pem
is the CA to trust, and the server speaks HTTPS only.
"""
import argparse
import datetime
import http.server
import ipaddress
import json
import os
import socketserver
import ssl
import sys
import threading

COUNTS = {}
CONNECTIONS = [0]
LOCK = threading.Lock()


def instance(display_name, **over):
    o = {"id": "ocid1.instance.oc1.phx.canned", "compartmentId": "ocid1.compartment.oc1..canned",
         "availabilityDomain": "Uocm:PHX-AD-1", "region": "phx", "shape": "VM.Standard.E4.Flex",
         "lifecycleState": "RUNNING", "timeCreated": "2020-01-01T00:00:00.000Z", "displayName": display_name}
    o.update(over)
    return o


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        with LOCK:
            CONNECTIONS[0] += 1

    def send(self, status, body, ctype="application/json", length=None, close=False):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("opc-request-id", f"CANNED/{self.path}")
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        if close:
            self.close_connection = True

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        seg = self.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        if seg == "_count":
            with LOCK:
                self.send(200, dict(COUNTS, connections=CONNECTIONS[0]))
            return
        with LOCK:
            COUNTS[seg] = COUNTS.get(seg, 0) + 1
        ua = self.headers.get("User-Agent", "")
        if seg == "ok":
            self.send(200, instance(ua))
        elif seg == "badjson":
            self.send(200, b'{"id":')
        elif seg == "missing":
            o = instance(ua)
            del o["lifecycleState"]
            self.send(200, o)
        elif seg == "wrongtype":
            self.send(200, instance(ua, lifecycleState=5))
        elif seg == "truncated":
            self.send(200, json.dumps(instance(ua)).encode()[:40], length=1000, close=True)
        elif seg == "big":
            self.send(200, instance(ua, metadata={"pad": "x" * (2 * 1024 * 1024)}))
        elif seg == "html502":
            self.send(502, b"<html><body>502 Bad Gateway</body></html>", ctype="text/html")
        elif seg == "teapot":
            self.send(418, {"code": "Teapot", "message": "short and stout"})
        else:
            self.send(404, {"code": "NotFound", "message": f"no canned answer {seg}"})

    do_GET = answer
    do_POST = answer


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # clients that hang up early (the size cap, TLS refusals) are part of the tests
        if isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)


def make_tls(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stopstart test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    os.makedirs(directory, exist_ok=True)
    paths = {n: os.path.join(directory, n) for n in ("ca.pem", "server.pem", "server.key")}
    with open(paths["ca.pem"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["server.pem"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["server.key"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--tls-dir")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    scheme = "http"
    if a.tls_dir:
        p = make_tls(a.tls_dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(p["server.pem"], p["server.key"])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    port = srv.server_address[1]
    tmp = a.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"url": f"{scheme}://127.0.0.1:{port}", "port": port}, f)
    os.replace(tmp, a.ready_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

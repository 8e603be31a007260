# SPDX-License-Identifier: LGPL-2.1-or-later
"""OCI request signing (signature version 1) and a small keep-alive HTTP client, for tests.

    signer = Signer(key_id, "/path/key.pem")                  # or Signer.from_config(path)
    hdrs = signer.sign("GET", "/20160918/instances?compartmentId=x", host="127.0.0.1:8080")
    client = OciClient("http://127.0.0.1:8080/us-phoenix-1", signer)
    status, headers, body = client.get("/20160918/instances", compartmentId=cid, limit=100)
    items = client.paginate("/20160918/compartments", compartmentId=tid, compartmentIdInSubtree="true")

Run with /usr/bin/python3 (needs Debian's python3-cryptography).
"""
import base64
import configparser
import email.utils
import hashlib
import http.client
import json
import os
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

BODY_METHODS = ("POST", "PUT", "PATCH")
GET_HEADERS = ("date", "(request-target)", "host")
BODY_HEADERS = GET_HEADERS + ("content-length", "content-type", "x-content-sha256")


def http_date(t=None):
    return email.utils.formatdate(t, usegmt=True)


def body_sha256(body):
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def load_private_key(path_or_pem, passphrase=None):
    if isinstance(path_or_pem, (bytes, str)) and (b"-----BEGIN" if isinstance(path_or_pem, bytes)
                                                  else "-----BEGIN") in path_or_pem:
        data = path_or_pem.encode() if isinstance(path_or_pem, str) else path_or_pem
    else:
        with open(os.path.expanduser(path_or_pem), "rb") as f:
            data = f.read()
    return serialization.load_pem_private_key(data, password=passphrase.encode() if passphrase else None)


class Signer:
    def __init__(self, key_id, private_key, passphrase=None):
        self.key_id = key_id
        self.key = private_key if hasattr(private_key, "sign") else load_private_key(private_key, passphrase)

    @classmethod
    def from_config(cls, path, profile="DEFAULT"):
        cp = configparser.ConfigParser(interpolation=None)
        if not cp.read(os.path.expanduser(path)):
            raise FileNotFoundError(path)
        sec = cp[profile] if profile != "DEFAULT" else cp.defaults()
        key_id = f"{sec['tenancy']}/{sec['user']}/{sec['fingerprint']}"
        return cls(key_id, sec["key_file"], sec.get("pass_phrase"))

    def signing_string(self, method, target, headers, order):
        lines = []
        for h in order:
            v = f"{method.lower()} {target}" if h == "(request-target)" else headers[h]
            lines.append(f"{h}: {v}")
        return "\n".join(lines)

    def sign(self, method, target, host, body=None, date=None, headers=None, order=None,
             content_type="application/json", date_header="date"):
        """Headers to send (lower-case names): date, host, body headers, authorization.
        target is the path plus '?query' exactly as it goes on the request line. order
        overrides the signed header list (tests use it to build deficient signatures)."""
        method = method.upper()
        out = {k.lower(): v for k, v in (headers or {}).items()}
        out[date_header] = date if date is not None else http_date()
        out["host"] = host
        is_body = method in BODY_METHODS
        if is_body or body is not None:
            body = body or b""
            if isinstance(body, str):
                body = body.encode()
            out["content-length"] = str(len(body))
            out["content-type"] = content_type
            out["x-content-sha256"] = body_sha256(body)
        if order is None:
            base = BODY_HEADERS if is_body else GET_HEADERS
            order = tuple(date_header if h == "date" else h for h in base)
        ss = self.signing_string(method, target, out, order)
        sig = base64.b64encode(self.key.sign(ss.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
        out["authorization"] = (f'Signature version="1",headers="{" ".join(order)}",keyId="{self.key_id}",'
                                f'algorithm="rsa-sha256",signature="{sig}"')
        return out


def encode_query(params):
    """RFC 3986 encoding ('%20', '%3A'); keeps the caller's parameter order."""
    return urllib.parse.urlencode([(k, v) for k, v in params.items() if v is not None],
                                  quote_via=urllib.parse.quote, safe="")


class OciError(Exception):
    def __init__(self, status, code, message, request_id):
        super().__init__(f"{status} {code}: {message} (opc-request-id {request_id})")
        self.status, self.code, self.message, self.request_id = status, code, message, request_id


class OciClient:
    """Signed requests over one keep-alive HTTP/1.1 connection. base: 'http://host:port' plus an
    optional path prefix (e.g. '/us-ashburn-1'); host_header overrides Host (region by host)."""

    def __init__(self, base, signer, host_header=None, timeout=30):
        u = urllib.parse.urlsplit(base)
        self.netloc, self.prefix = u.netloc, u.path.rstrip("/")
        self.signer = signer
        self.host_header = host_header or u.netloc
        self.timeout = timeout
        self.conn = None

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def request(self, method, path, query=None, body=None, headers=None, sign=True, **sign_kw):
        """Returns (status, headers dict lower-case, parsed JSON or raw bytes)."""
        target = self.prefix + path
        if query:
            target += "?" + (query if isinstance(query, str) else encode_query(query))
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        hdrs = dict(headers or {})
        if sign:
            hdrs = self.signer.sign(method, target, self.host_header, body=body, headers=hdrs, **sign_kw)
        else:
            hdrs.setdefault("host", self.host_header)
        # No automatic resend: tests count requests, and a POST must never go out twice by accident.
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.netloc, timeout=self.timeout)
        try:
            self.conn.request(method, target, body=body, headers=hdrs)
            r = self.conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if r.getheader("connection", "").lower() == "close":
            self.close()
        rh = {k.lower(): v for k, v in r.getheaders()}
        if rh.get("content-type", "").startswith("application/json") and data:
            data = json.loads(data)
        return r.status, rh, data

    def call(self, method, path, query=None, body=None, headers=None):
        """Like request() but raises OciError on a non-2xx answer; returns (body, headers)."""
        st, h, data = self.request(method, path, query, body, headers)
        if not 200 <= st < 300:
            d = data if isinstance(data, dict) else {}
            raise OciError(st, d.get("code"), d.get("message"), h.get("opc-request-id"))
        return data, h

    def get(self, path, **query):
        return self.call("GET", path, query or None)[0]

    def paginate(self, path, method="GET", body=None, **query):
        """Every item of a list (bare array) or search ({"items": [...]}) operation."""
        items, page, pages = [], None, 0
        while True:
            q = dict(query)
            if page:
                q["page"] = page
            data, h = self.call(method, path, q, body)
            items.extend(data["items"] if isinstance(data, dict) else data)
            pages += 1
            page = h.get("opc-next-page")
            if not page:
                self.last_pages = pages
                return items

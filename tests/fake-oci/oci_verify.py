# SPDX-License-Identifier: LGPL-2.1-or-later
"""Server-side verification of OCI request signatures (draft-cavage-http-signatures-08 as OCI
uses it; ../shared/docs/oci-api.md §1), independent of any signer.

    keys = KeyStore(); keys.add(user_ocid, public_key_pem)
    key_id = verify("GET", "/20160918/instances?compartmentId=...", headers, b"", keys,
                    tenancy_id, now=time.time())       # raises AuthError

headers: lower-case name -> value exactly as received (repeated headers joined with ", ").
"""
import base64
import calendar
import email.utils
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

BODY_METHODS = ("POST", "PUT", "PATCH")
MAX_SKEW = 300  # seconds: OCI answers 401 when the client clock is more than 5 minutes off
AUTH_MESSAGE = "The required information to complete authentication was not provided or was incorrect."
_FP_RE = re.compile(r"^([0-9a-f]{2}:){15}[0-9a-f]{2}$")
_PARAM_RE = re.compile(r'\s*([A-Za-z]+)="([^"]*)"\s*(?:,|$)')
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                       "Oct", "Nov", "Dec"), 1)}


class AuthError(Exception):
    """401 NotAuthenticated. reason: short machine-readable tag (for the fake's counters)."""

    def __init__(self, reason, detail):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def fingerprint(public_key):
    """MD5 of the DER SubjectPublicKeyInfo, lower-case hex pairs joined by ':'."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return ":".join(f"{b:02x}" for b in hashlib.md5(der).digest())


def load_public_key(pem, password=None):
    """A public key from PEM text/bytes holding a public key or an (optionally encrypted)
    private key."""
    if isinstance(pem, str):
        pem = pem.encode()
    if b"PRIVATE KEY" in pem:
        key = serialization.load_pem_private_key(pem, password=password.encode() if password else None)
        pub = key.public_key()
    else:
        pub = serialization.load_pem_public_key(pem)
    if not isinstance(pub, rsa.RSAPublicKey):
        raise ValueError("not an RSA key")
    return pub


class KeyStore:
    """API keys by (user OCID, fingerprint)."""

    def __init__(self):
        self._keys = {}

    def add(self, user, public_key, fp=None):
        """public_key: key object or PEM. fp overrides the computed fingerprint (only for
        published vectors whose keyId carries a fingerprint that is not the key's)."""
        if not isinstance(public_key, rsa.RSAPublicKey):
            public_key = load_public_key(public_key)
        fp = fp or fingerprint(public_key)
        if not _FP_RE.match(fp):
            raise ValueError(f"bad fingerprint {fp!r}")
        self._keys[(user, fp)] = public_key
        return fp

    def get(self, user, fp):
        return self._keys.get((user, fp))

    def users(self):
        return sorted({u for u, _ in self._keys})

    def entries(self):
        return [{"user": u, "fingerprint": f} for u, f in sorted(self._keys)]


def parse_authorization(value):
    if not value:
        raise AuthError("no-authorization", "missing Authorization header")
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "signature":
        raise AuthError("bad-scheme", f"Authorization scheme must be Signature, not {scheme!r}")
    params, pos, rest = {}, 0, rest.strip()
    while pos < len(rest):
        m = _PARAM_RE.match(rest, pos)
        if not m or m.end() == pos:
            raise AuthError("bad-authorization", "cannot parse the Authorization header parameters")
        name = m.group(1)
        if name in params:
            raise AuthError("bad-authorization", f"duplicate Authorization parameter {name}")
        params[name] = m.group(2)
        pos = m.end()
    for need in ("keyId", "signature", "algorithm", "headers"):
        if need not in params:
            raise AuthError("bad-authorization", f"Authorization lacks {need}")
    if params["algorithm"] != "rsa-sha256":
        raise AuthError("bad-algorithm", f"unsupported algorithm {params['algorithm']!r}")
    if params.get("version", "1") != "1":
        raise AuthError("bad-version", f"unsupported signature version {params['version']!r}")
    return params


def parse_http_date(value):
    """IMF-fixdate (what every SDK sends) fast; other RFC 7231/2822 forms via email.utils.
    The weekday is not checked (published vectors sign 'Thu, 05 Jan 2014', a Sunday)."""
    p = value.split()
    try:
        if len(p) == 6 and p[5] == "GMT" and p[0].endswith(","):
            hh, mm, ss = p[4].split(":")
            return calendar.timegm((int(p[3]), _MONTHS[p[2]], int(p[1]), int(hh), int(mm), int(ss)))
    except (KeyError, ValueError):
        pass
    try:
        t = email.utils.parsedate_tz(value)
    except (TypeError, ValueError):
        t = None
    if t is None:
        raise AuthError("bad-date", f"cannot parse date {value!r}")
    return email.utils.mktime_tz(t)


def body_sha256(body):
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def verify(method, target, headers, body, keys, tenancy_id, now, max_skew=MAX_SKEW):
    """Raise AuthError unless the request carries a valid OCI signature. Returns the keyId."""
    params = parse_authorization(headers.get("authorization"))
    key_id = params["keyId"]
    parts = key_id.split("/")
    if len(parts) != 3 or not all(parts):
        raise AuthError("bad-keyid", f"keyId {key_id!r} is not TENANCY/USER/FINGERPRINT")
    tenancy, user, fp = parts
    if tenancy != tenancy_id:
        raise AuthError("unknown-tenancy", f"unknown tenancy {tenancy}")
    key = keys.get(user, fp)
    if key is None:
        raise AuthError("unknown-key", f"no API key with fingerprint {fp} for user {user}")

    signed = params["headers"].split()
    if len(set(signed)) != len(signed):
        raise AuthError("bad-headers", "a header is listed twice in headers")
    if any(h != h.lower() for h in signed):
        raise AuthError("bad-headers", "header names in headers must be lower case")
    required = ["(request-target)", "host"]
    if method.upper() in BODY_METHODS:
        required += ["x-content-sha256", "content-type", "content-length"]
    missing = [h for h in required if h not in signed]
    if "date" not in signed and "x-date" not in signed:
        missing.append("date")
    if missing:
        raise AuthError("unsigned-header", f"required header(s) not signed: {' '.join(missing)}")

    lines = []
    for h in signed:
        if h == "(request-target)":
            value = f"{method.lower()} {target}"
        else:
            value = headers.get(h)
            if value is None:
                raise AuthError("missing-header", f"signed header {h} is not in the request")
        lines.append(f"{h}: {value}")

    # Checks that do not need the key: body hash/length and clock skew.
    if "x-content-sha256" in headers and headers["x-content-sha256"] != body_sha256(body):
        raise AuthError("body-hash", "x-content-sha256 does not match the body")
    if "content-length" in headers and headers["content-length"] != str(len(body)):
        raise AuthError("content-length", "content-length does not match the body")
    date_header = "x-date" if "x-date" in headers else "date"
    if date_header not in signed:
        raise AuthError("unsigned-header", f"{date_header} is sent but not signed")
    when = parse_http_date(headers[date_header])
    if abs(when - now) > max_skew:
        raise AuthError("clock-skew", f"date {headers[date_header]!r} is more than {max_skew} s "
                                      "from the server clock")

    try:
        sig = base64.b64decode(params["signature"], validate=True)
    except ValueError:
        raise AuthError("bad-signature", "signature is not base64") from None
    try:
        key.verify(sig, "\n".join(lines).encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise AuthError("bad-signature", "signature does not verify") from None
    return key_id

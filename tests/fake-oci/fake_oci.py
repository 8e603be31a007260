#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""stopstart's fake OCI server: Identity, Compute and Resource Search over HTTP/1.1 on
127.0.0.1, with real signature verification, a generated or loaded tenancy, pagination,
instance lifecycle with delays, opc-retry-token idempotency, fault injection and an unsigned
control API under /_fake/. See README.md next to this file.

One asyncio loop, no threads and no locks: injected latency is an asyncio sleep, so requests
in flight never wait for each other.
"""
import argparse
import asyncio
import base64
import configparser
import errno
import json
import os
import random
import signal
import socket
import struct
import sys
import time
import traceback
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import oci_verify as V  # noqa: E402
import regions as R  # noqa: E402
import search_query as Q  # noqa: E402
import tenancy as T  # noqa: E402

MAX_HEADER = 64 * 1024
MAX_BODY = 8 * 1024 * 1024

OPERATIONS = ("GetTenancy", "ListRegionSubscriptions", "ListCompartments", "GetCompartment",
              "ListInstances", "GetInstance", "InstanceAction", "SearchResources")
# Page sizes: (default, maximum). OCI documents 1-1000 for Search; for the lists the public
# docs give no maximum (PCA documents 1-1000, default 100), so the same is used here.
DEFAULT_LIMITS = {"ListCompartments": (100, 1000), "ListInstances": (100, 1000),
                  "SearchResources": (100, 1000)}

FAULT_DEFAULTS = {
    "latency_ms": 0.0,      # added to every API request
    "jitter_ms": 0.0,       # plus uniform [0, jitter_ms)
    "rate_429": 0.0,        # fraction answered 429 TooManyRequests
    "bucket_rps": 0.0,      # token bucket: requests/s allowed (0 = off); excess -> 429
    "bucket_burst": 0.0,    # bucket size (default: max(1, bucket_rps))
    "retry_after": None,    # seconds to put in Retry-After on injected 429/503
    "rate_5xx": 0.0,        # fraction answered with one of codes_5xx
    "codes_5xx": [500, 502, 503, 504],
    "rate_drop": 0.0,       # fraction whose connection is closed without an answer
    "drop_reset": False,    # drop with a TCP RST instead of a FIN
    "rate_lost": 0.0,       # fraction processed (actions performed) and then dropped
    "rate_hang": 0.0,       # fraction held for hang_ms, then dropped
    "hang_ms": 60000.0,
    "rate_empty_page": 0.0,  # list/search pages answered empty but with opc-next-page (OCI may do so)
}
ONCE_KINDS = ("429", "500", "502", "503", "504", "drop", "reset", "lost", "hang", "empty_page")
LIFECYCLE_DEFAULTS = {"start_delay": 1.0, "stop_delay": 1.0, "softstop_delay": 1.0,
                      "reset_delay": 1.0, "softreset_delay": 1.0,
                      "hang_softstop": [], "hang_softreset": []}
ERROR_CODES = {400: "InvalidParameter", 401: "NotAuthenticated", 404: "NotAuthorizedOrNotFound",
               405: "MethodNotAllowed", 409: "IncorrectState", 412: "NoEtagMatch",
               413: "PayloadTooLarge", 429: "TooManyRequests", 500: "InternalServerError",
               502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
REASONS = {100: "Continue", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 411: "Length Required", 412: "Precondition Failed",
           413: "Payload Too Large", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}

DROP = object()    # handler result: close the connection without answering
RESET = object()   # ... with a TCP RST
LOST = object()    # processed, then closed without answering


class ApiError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or []


def bad(msg, code="InvalidParameter"):
    return ApiError(400, code, msg)


def not_found(what):
    return ApiError(404, "NotAuthorizedOrNotFound", f"{what} not found or not authorized")


class ConfigError(ValueError):
    pass


# --- settings ---------------------------------------------------------------------------------
def _num(v, key, lo=0.0, hi=None):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < lo or (hi is not None and v > hi):
        raise ConfigError(f"{key} must be a number in [{lo}, {hi if hi is not None else 'inf'}]")
    return float(v)


def check_fault_spec(spec, partial=True):
    if not isinstance(spec, dict):
        raise ConfigError("a fault spec must be an object")
    out = {}
    for k, v in spec.items():
        if k not in FAULT_DEFAULTS:
            raise ConfigError(f"unknown fault setting {k!r}")
        if k.startswith("rate_"):
            out[k] = _num(v, k, 0.0, 1.0)
        elif k == "codes_5xx":
            if not isinstance(v, list) or not v or not all(isinstance(c, int) and 500 <= c <= 599 for c in v):
                raise ConfigError("codes_5xx must be a non-empty list of 5xx codes")
            out[k] = list(v)
        elif k == "drop_reset":
            if not isinstance(v, bool):
                raise ConfigError("drop_reset must be true or false")
            out[k] = v
        elif k == "retry_after":
            out[k] = None if v is None else _num(v, k)
        else:
            out[k] = _num(v, k)
    if not partial:
        out = dict(FAULT_DEFAULTS, **out)
    return out


def check_once(entries):
    if not isinstance(entries, list):
        raise ConfigError("once must be a list")
    out = []
    for e in entries:
        if not isinstance(e, dict) or set(e) - {"operation", "fault", "count"}:
            raise ConfigError("once entries are {operation, fault, count}")
        op = e.get("operation", "*")
        if op != "*" and op not in OPERATIONS:
            raise ConfigError(f"unknown operation {op!r}")
        kind = str(e.get("fault"))
        if kind not in ONCE_KINDS:
            raise ConfigError(f"fault must be one of {', '.join(ONCE_KINDS)}")
        n = e.get("count", 1)
        if not isinstance(n, int) or n < 1:
            raise ConfigError("count must be an integer >= 1")
        out.append({"operation": op, "fault": kind, "count": n})
    return out


class Settings:
    def __init__(self):
        self.default = dict(FAULT_DEFAULTS)
        self.operations = {}           # op -> partial fault spec
        self.once = []                 # one-shot faults, consumed in order
        self.lifecycle = {k: (list(v) if isinstance(v, list) else v) for k, v in LIFECYCLE_DEFAULTS.items()}
        self.page_cap = None
        self.limits = {op: list(v) for op, v in DEFAULT_LIMITS.items()}
        self.clock_offset = 0.0
        self.max_skew = float(V.MAX_SKEW)
        self.retry_token_ttl = 86400.0
        # "return allAdditionalFields" fills additionalDetails (off: as a service that has none)
        self.additional_details = True
        self._eff = {}

    def faults_json(self):
        return {"default": dict(self.default), "operations": {k: dict(v) for k, v in self.operations.items()},
                "once": [dict(e) for e in self.once]}

    def set_faults(self, body, replace):
        if not isinstance(body, dict):
            raise ConfigError("faults must be an object")
        body = dict(body)
        ops = body.pop("operations", None)
        once = body.pop("once", None)
        default = body.pop("default", {})
        default = dict(check_fault_spec(default), **check_fault_spec(body))
        new_ops = {}
        for op, spec in (ops or {}).items():
            if op not in OPERATIONS:
                raise ConfigError(f"unknown operation {op!r} (one of {', '.join(OPERATIONS)})")
            new_ops[op] = check_fault_spec(spec)
        new_once = check_once(once) if once is not None else []
        if replace:
            self.default = dict(FAULT_DEFAULTS, **default)
            self.operations = new_ops
            self.once = new_once
        else:
            self.default.update(default)
            for op, spec in new_ops.items():
                self.operations.setdefault(op, {}).update(spec)
            self.once.extend(new_once)
        self._eff.clear()

    def effective(self, op):
        e = self._eff.get(op)
        if e is None:
            e = self._eff[op] = dict(self.default, **self.operations.get(op, {}))
        return e

    def take_once(self, op):
        for e in self.once:
            if e["operation"] in ("*", op):
                e["count"] -= 1
                if e["count"] <= 0:
                    self.once.remove(e)
                return e["fault"]
        return None

    def set_lifecycle(self, body):
        if not isinstance(body, dict):
            raise ConfigError("lifecycle must be an object")
        new = dict(self.lifecycle)
        for k, v in body.items():
            if k not in LIFECYCLE_DEFAULTS:
                raise ConfigError(f"unknown lifecycle setting {k!r}")
            if k.startswith("hang_"):
                if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                    raise ConfigError(f"{k} must be a list of instance OCIDs (or \"*\")")
                new[k] = list(v)
            else:
                new[k] = _num(v, k)
        self.lifecycle = new

    def set_limits(self, body):
        if not isinstance(body, dict):
            raise ConfigError("limits must be an object")
        for k, v in body.items():
            if k == "page_cap":
                self.page_cap = None if v is None else int(_num(v, k, 1))
            elif k in DEFAULT_LIMITS:
                if not isinstance(v, dict) or set(v) - {"default", "max"}:
                    raise ConfigError(f"limits.{k} must be {{default, max}}")
                cur = self.limits[k]
                cur[0] = int(_num(v.get("default", cur[0]), "default", 1))
                cur[1] = int(_num(v.get("max", cur[1]), "max", 1))
            else:
                raise ConfigError(f"unknown limits setting {k!r}")

    def limits_json(self):
        return {"page_cap": self.page_cap,
                **{op: {"default": d, "max": m} for op, (d, m) in self.limits.items()}}

    def page_limits(self, op):
        d, m = self.limits[op]
        if self.page_cap:
            m = min(m, self.page_cap)
        return min(d, m), m

    def set_auth(self, body):
        if not isinstance(body, dict):
            raise ConfigError("auth must be an object")
        for k, v in body.items():
            if k == "clock_offset":
                self.clock_offset = _num(v, k, -1e9)
            elif k == "max_skew":
                self.max_skew = _num(v, k)
            else:
                raise ConfigError(f"unknown auth setting {k!r}")

    def config_json(self):
        return {"faults": self.faults_json(), "lifecycle": dict(self.lifecycle),
                "limits": self.limits_json(),
                "auth": {"clock_offset": self.clock_offset, "max_skew": self.max_skew},
                "idempotency": {"retry_token_ttl": self.retry_token_ttl},
                "search": {"additional_details": self.additional_details}}

    def set_config(self, body):
        if not isinstance(body, dict):
            raise ConfigError("config must be an object")
        unknown = set(body) - {"faults", "lifecycle", "limits", "auth", "idempotency", "search"}
        if unknown:
            raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}")
        if "faults" in body:
            self.set_faults(body["faults"], replace=False)
        if "lifecycle" in body:
            self.set_lifecycle(body["lifecycle"])
        if "limits" in body:
            self.set_limits(body["limits"])
        if "auth" in body:
            self.set_auth(body["auth"])
        if "idempotency" in body:
            v = body["idempotency"]
            if not isinstance(v, dict) or set(v) - {"retry_token_ttl"}:
                raise ConfigError("idempotency must be {retry_token_ttl}")
            self.retry_token_ttl = _num(v.get("retry_token_ttl", self.retry_token_ttl), "retry_token_ttl")
        if "search" in body:
            v = body["search"]
            if not isinstance(v, dict) or set(v) - {"additional_details"} or \
                    not isinstance(v.get("additional_details", True), bool):
                raise ConfigError("search must be {additional_details: bool}")
            self.additional_details = v.get("additional_details", self.additional_details)


class Counters:
    def __init__(self):
        self.reset()
        self.in_flight = 0
        self.connections = 0

    def reset(self):
        self.total = 0
        self.requests = {}
        self.by_status = {}
        self.max_in_flight = getattr(self, "in_flight", 0)
        self.max_connections = getattr(self, "connections", 0)
        self.connections_opened = 0
        self.actions = {}
        self.actions_total = 0
        self.action_replays = {}
        self.auth_failures = {}
        self.internal_errors = 0
        self.control_requests = 0
        self.since = time.time()

    def count(self, op, status):
        s = str(status)
        d = self.requests.setdefault(op, {})
        d[s] = d.get(s, 0) + 1
        self.by_status[s] = self.by_status.get(s, 0) + 1

    def json(self):
        return {"total": self.total, "requests": self.requests, "by_status": self.by_status,
                "in_flight": self.in_flight, "max_in_flight": self.max_in_flight,
                "connections": self.connections, "max_connections": self.max_connections,
                "connections_opened": self.connections_opened,
                "actions": self.actions, "actions_total": self.actions_total,
                "action_replays": self.action_replays, "auth_failures": self.auth_failures,
                "internal_errors": self.internal_errors, "control_requests": self.control_requests,
                "since": self.since}


class Request:
    __slots__ = ("method", "target", "path", "query", "headers", "body", "region", "op", "args", "params")


class Bucket:
    def __init__(self):
        self.tokens = None
        self.t = 0.0

    def take(self, rps, burst, now):
        cap = burst or max(1.0, rps)
        if self.tokens is None:
            self.tokens, self.t = cap, now
        self.tokens = min(cap, self.tokens + (now - self.t) * rps)
        self.t = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _b64(s):
    return base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")


def _unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode()


def _bool_param(params, name):
    v = params.get(name)
    if v is None:
        return False
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise bad(f"{name} must be true or false")


def _enum_param(params, name, allowed):
    v = params.get(name)
    if v is None:
        return None
    if v.upper() not in allowed:
        raise bad(f"{name} must be one of {', '.join(allowed)}")
    return v.upper()


# --- the server -------------------------------------------------------------------------------
class FakeOci:
    def __init__(self, tenancy, keys, settings, fault_seed=0, verbose=False):
        self.t = tenancy
        self.keys = keys
        self.s = settings
        self.c = Counters()
        self.rnd = random.Random(fault_seed)
        self.verbose = verbose
        self.tokens = {}          # opc-retry-token -> (fingerprint, status, body, etag, monotonic time)
        self.buckets = {}
        self.writers = set()
        self.empty_page = False
        self.req_seq = 0
        self.port = None
        self._date = (0, "")

    def prewarm(self):
        """Serialise every object and build the indexes up front (about 1 s for 20,000
        instances) so that the first discovery is not slowed by the server's own start-up."""
        t = self.t
        for o in list(t.instances.values()) + list(t.compartments.values()):
            t.json_of(o)
            t.json_of(o, "summary")
        for r in t.region_names():
            t.by_compartment(r)
            t.region_instances(r)
        t.children()

    # --- helpers ----------------------------------------------------------------------------
    def request_id(self, req_headers):
        self.req_seq += 1
        rid = f"{zlib.crc32(str(self.port).encode()):08X}{self.req_seq:024X}"
        client = req_headers.get("opc-request-id") if req_headers else None
        return f"{client}/{rid}" if client else rid

    def http_date(self):
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)))
        return self._date[1]

    def response(self, status, body, headers=(), close=False, req_headers=None):
        if not isinstance(body, bytes):
            body = body.encode() if isinstance(body, str) else json.dumps(body, separators=(",", ":")).encode()
        head = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
                "Content-Type: application/json",
                f"Content-Length: {len(body)}",
                f"Date: {self.http_date()}",
                f"opc-request-id: {self.request_id(req_headers)}"]
        head.extend(f"{k}: {v}" for k, v in headers)
        if close:
            head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body

    def error_body(self, code, message):
        return json.dumps({"code": code, "message": message})

    # --- connection handling ------------------------------------------------------------------
    async def handle(self, reader, writer):
        c = self.c
        c.connections += 1
        c.connections_opened += 1
        if c.connections > c.max_connections:
            c.max_connections = c.connections
        self.writers.add(writer)
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                keep = await self.one_request(reader, writer)
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        except OSError as e:
            if e.errno not in (errno.ECONNRESET, errno.EPIPE):
                traceback.print_exc()
                c.internal_errors += 1
        except Exception:  # a bug in the fake: keep serving other connections, and count it
            traceback.print_exc()
            c.internal_errors += 1
        finally:
            c.connections -= 1
            self.writers.discard(writer)
            if not writer.is_closing():
                writer.close()

    async def read_head(self, reader):
        try:
            return await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            return None
        except asyncio.IncompleteReadError as e:
            if e.partial.strip():
                raise
            raise ConnectionResetError from None

    async def one_request(self, reader, writer):
        head = await self.read_head(reader)
        if head is None:
            writer.write(self.response(431, self.error_body("RequestHeaderFieldsTooLarge",
                                                            "request headers too large"), close=True))
            return False
        lines = head[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            writer.write(self.response(400, self.error_body("CannotParseRequest", "bad request line"),
                                       close=True))
            return False
        method, target, version = parts
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                writer.write(self.response(400, self.error_body("CannotParseRequest", "bad header line"),
                                           close=True))
                return False
            k = name.lower()
            v = value.strip(" \t")
            headers[k] = f"{headers[k]}, {v}" if k in headers else v
        conn_tokens = headers.get("connection", "").lower()
        keep = ("close" not in conn_tokens) if version == "HTTP/1.1" else ("keep-alive" in conn_tokens)

        # body
        body = b""
        te = headers.get("transfer-encoding", "").lower()
        cl = headers.get("content-length")
        if "chunked" in te or cl not in (None, "0"):
            if headers.get("expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if "chunked" in te:
                try:
                    body = await self.read_chunked(reader)
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(self.response(400, self.error_body("CannotParseRequest", "bad chunked body"),
                                               close=True))
                    return False
                if body is None:
                    writer.write(self.response(413, self.error_body("PayloadTooLarge", "body too large"),
                                               close=True))
                    return False
            else:
                if not cl.isdigit():
                    writer.write(self.response(400, self.error_body("CannotParseRequest",
                                                                    "bad Content-Length"), close=True))
                    return False
                n = int(cl)
                if n > MAX_BODY:
                    writer.write(self.response(413, self.error_body("PayloadTooLarge", "body too large"),
                                               close=True))
                    return False
                body = await reader.readexactly(n)

        if target.startswith("/_fake/") or target == "/_fake":
            self.c.control_requests += 1
            writer.write(self.control(method, target, headers, body, not keep))
            await writer.drain()
            return keep

        c = self.c
        c.total += 1
        c.in_flight += 1
        if c.in_flight > c.max_in_flight:
            c.max_in_flight = c.in_flight
        t0 = time.monotonic()
        try:
            result, op, status = await self.api(method, target, headers, body, not keep)
        finally:
            c.in_flight -= 1
        if result is DROP or result is LOST or result is RESET:
            what = "lost" if result is LOST else "dropped"
            c.count(op, what)
            self.log(method, target, op, what, t0)
            if result is RESET:
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
            return False
        c.count(op, status)
        self.log(method, target, op, status, t0)
        writer.write(result)
        await writer.drain()
        return keep

    async def read_chunked(self, reader):
        out = bytearray()
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return bytes(out)
            if len(out) + size > MAX_BODY:
                return None
            out += await reader.readexactly(size)
            await reader.readexactly(2)

    def log(self, method, target, op, status, t0):
        if self.verbose:
            print(f"fake-oci: {method} {target} -> {op} {status} {1000 * (time.monotonic() - t0):.1f}ms",
                  file=sys.stderr, flush=True)

    # --- API dispatch ---------------------------------------------------------------------------
    def classify(self, method, target):
        """(region, path, query, op, args) from the request line; region None = unsubscribed."""
        path, _, query = target.partition("?")
        region = None
        segs = path.split("/", 2)
        if len(segs) > 1 and R.REGION_RE.match(segs[1]):
            region = segs[1]
            path = "/" + (segs[2] if len(segs) > 2 else "")
        segs = [urllib.parse.unquote(s) for s in path.split("/")[1:]]
        op, args = "Unknown", ()
        n = len(segs)
        if n >= 2 and segs[0] == "20160918":
            if segs[1] == "tenancies" and n == 3:
                op, args = "GetTenancy", (segs[2],)
            elif segs[1] == "tenancies" and n == 4 and segs[3] == "regionSubscriptions":
                op, args = "ListRegionSubscriptions", (segs[2],)
            elif segs[1] == "compartments" and n == 2:
                op = "ListCompartments"
            elif segs[1] == "compartments" and n == 3:
                op, args = "GetCompartment", (segs[2],)
            elif segs[1] == "instances" and n == 2:
                op = "ListInstances"
            elif segs[1] == "instances" and n == 3:
                op, args = ("InstanceAction" if method == "POST" else "GetInstance"), (segs[2],)
        elif n == 2 and segs == ["20180409", "resources"]:
            op = "SearchResources"
        return region, path, query, op, args

    async def api(self, method, target, headers, body, close=False):
        region, path, query, op, args = self.classify(method, target)
        spec = self.s.effective(op if op != "Unknown" else "")
        once = self.s.take_once(op)
        delay = spec["latency_ms"] + (self.rnd.random() * spec["jitter_ms"] if spec["jitter_ms"] else 0.0)
        if delay > 0:
            await asyncio.sleep(delay / 1000.0)
        rnd = self.rnd.random
        if once == "hang" or (spec["rate_hang"] and rnd() < spec["rate_hang"]):
            await asyncio.sleep(spec["hang_ms"] / 1000.0)
            return DROP, op, None
        if once in ("drop", "reset") or (spec["rate_drop"] and rnd() < spec["rate_drop"]):
            return (RESET if once == "reset" or spec["drop_reset"] else DROP), op, None

        now = time.time()
        # Region: a leading path segment, else the Host header (service.region.domain), else home.
        if region is None:
            host = headers.get("host", "").split(":")[0].split(".")
            region = host[1] if len(host) >= 3 and R.REGION_RE.match(host[1]) else self.t.home_region
        try:
            if not self.t.subscribed(region):
                raise V.AuthError("region", f"the tenancy is not subscribed to region {region}")
            V.verify(method, target, headers, body, self.keys, self.t.id, now + self.s.clock_offset,
                     self.s.max_skew)
        except V.AuthError as e:
            self.c.auth_failures[e.reason] = self.c.auth_failures.get(e.reason, 0) + 1
            msg = f"{V.AUTH_MESSAGE} (fake-oci: {e.detail})"
            return self.response(401, self.error_body("NotAuthenticated", msg), close=close,
                                 req_headers=headers), op, 401

        extra = []
        if spec["retry_after"] is not None:
            extra.append(("Retry-After", str(int(spec["retry_after"]))))
        throttled = once == "429" or (spec["rate_429"] and rnd() < spec["rate_429"])
        if not throttled and spec["bucket_rps"] > 0:
            key = op if "bucket_rps" in self.s.operations.get(op, {}) else "*"
            b = self.buckets.setdefault(key, Bucket())
            throttled = not b.take(spec["bucket_rps"], spec["bucket_burst"], time.monotonic())
        if throttled:
            return self.response(429, self.error_body("TooManyRequests", "User-rate limit exceeded."),
                                 extra, close=close, req_headers=headers), op, 429
        code = int(once) if once in ("500", "502", "503", "504") else None
        if code is None and spec["rate_5xx"] and rnd() < spec["rate_5xx"]:
            code = spec["codes_5xx"][self.rnd.randrange(len(spec["codes_5xx"]))]
        if code is not None:
            return self.response(code, self.error_body(ERROR_CODES.get(code, "InternalServerError"),
                                                       "Injected failure (fake-oci)"),
                                 extra if code == 503 else (), close=close, req_headers=headers), op, code

        self.t.advance(time.monotonic())
        # Read by paginate() within this same synchronous call (no await in between).
        self.empty_page = once == "empty_page" or bool(spec["rate_empty_page"] and rnd() < spec["rate_empty_page"])
        try:
            status, out, hdrs = self.dispatch(method, op, args, region, query, headers, body)
        except ApiError as e:
            status, out, hdrs = e.status, self.error_body(e.code, e.message), e.headers
        except Exception as e:  # a bug in the fake: answer 500 and say so loudly
            traceback.print_exc()
            self.c.internal_errors += 1
            status, out, hdrs = 500, self.error_body("InternalServerError", f"fake-oci bug: {e!r}"), []
        resp = self.response(status, out, hdrs, close=close, req_headers=headers)
        if once == "lost" or (spec["rate_lost"] and rnd() < spec["rate_lost"]):
            return LOST, op, status
        return resp, op, status

    def dispatch(self, method, op, args, region, query, headers, body):
        if op == "Unknown":
            raise ApiError(404, "NotFound", "no such operation")
        want = "POST" if op in ("InstanceAction", "SearchResources") else "GET"
        if method != want:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed here")
        params = {}
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
            params.setdefault(k, v)
        return getattr(self, "op_" + op)(args, region, params, headers, body)

    def paginate(self, op, params, n, qkey):
        """(start, end, next-page token or None) for n results of one query."""
        default, cap = self.s.page_limits(op)
        limit = default
        if "limit" in params:
            try:
                limit = int(params["limit"])
            except ValueError:
                raise bad("limit must be an integer") from None
            if limit < 1:
                raise bad("limit must be at least 1")
            limit = min(limit, cap)
        start = 0
        qh = f"{zlib.crc32(qkey.encode()):08x}"
        if params.get("page"):
            try:
                h, off = _unb64(params["page"]).split(":")
                start = int(off)
            except (ValueError, UnicodeDecodeError):
                raise bad("invalid page token") from None
            if h != qh or start < 0:
                raise bad("page token does not belong to this query")
        if self.empty_page and start < n:
            return start, start, _b64(f"{qh}:{start}")
        end = min(n, start + limit)
        return start, end, (_b64(f"{qh}:{end}") if end < n else None)

    def list_response(self, items, start, end, token, kind="api", wrap=False):
        j = self.t.json_of
        text = ",".join(j(o, kind) for o in items[start:end])
        body = '{"items":[' + text + "]}" if wrap else "[" + text + "]"
        return 200, body, ([("opc-next-page", token)] if token else [])

    # --- Identity -------------------------------------------------------------------------------
    def op_GetTenancy(self, args, region, params, headers, body):
        if args[0] != self.t.id:
            raise not_found("Tenancy")
        return 200, json.dumps(self.t.api_tenancy()), []

    def op_ListRegionSubscriptions(self, args, region, params, headers, body):
        if args[0] != self.t.id:
            raise not_found("Tenancy")
        return 200, json.dumps(self.t.api_region_subscriptions()), []

    def op_GetCompartment(self, args, region, params, headers, body):
        cid = args[0]
        if cid == self.t.id:
            return 200, json.dumps(self.t.api_root_compartment()), [("etag", "root")]
        c = self.t.compartments.get(cid)
        if c is None:
            raise not_found("Compartment")
        return 200, self.t.json_of(c), [("etag", self.t.etag(c))]

    def op_ListCompartments(self, args, region, params, headers, body):
        cid = params.get("compartmentId")
        if not cid:
            raise bad("compartmentId is required", "MissingParameter")
        if not self.t.container_exists(cid):
            raise not_found("Compartment")
        subtree = _bool_param(params, "compartmentIdInSubtree")
        if subtree and cid != self.t.id:
            raise bad("compartmentIdInSubtree can only be true when compartmentId is the tenancy")
        _enum_param(params, "accessLevel", ("ANY", "ACCESSIBLE"))  # the fake user can see everything
        state = _enum_param(params, "lifecycleState", T.COMPARTMENT_STATES)
        sort_by = _enum_param(params, "sortBy", ("TIMECREATED", "NAME")) or "TIMECREATED"
        order = _enum_param(params, "sortOrder", ("ASC", "DESC")) or ("DESC" if sort_by == "TIMECREATED" else "ASC")
        name = params.get("name")
        key = f"LC|{cid}|{subtree}|{state}|{name}|{sort_by}|{order}"

        def build():
            if subtree:
                objs = list(self.t.compartments.values())
            else:
                objs = list(self.t.children().get(cid, ()))
            objs = [c for c in objs if (state is None or c.state == state) and (name is None or c.name == name)]
            if sort_by == "NAME":
                objs.sort(key=lambda c: (c.name, c.id), reverse=order == "DESC")
            else:
                objs.sort(key=lambda c: (c.tc_ms, c.id), reverse=order == "DESC")
            return objs
        objs = self.t.cached(key, build)
        start, end, token = self.paginate("ListCompartments", params, len(objs), key)
        return self.list_response(objs, start, end, token)

    # --- Compute --------------------------------------------------------------------------------
    def op_ListInstances(self, args, region, params, headers, body):
        cid = params.get("compartmentId")
        if not cid:
            raise bad("compartmentId is required", "MissingParameter")
        if not self.t.container_exists(cid):
            raise not_found("Compartment")
        state = _enum_param(params, "lifecycleState", T.INSTANCE_STATES)
        sort_by = _enum_param(params, "sortBy", ("TIMECREATED", "DISPLAYNAME")) or "TIMECREATED"
        order = _enum_param(params, "sortOrder", ("ASC", "DESC")) or \
            ("DESC" if sort_by == "TIMECREATED" else "ASC")
        ad, name = params.get("availabilityDomain"), params.get("displayName")
        key = f"LI|{region}|{cid}|{state}|{ad}|{name}|{sort_by}|{order}"

        def build():
            objs = self.t.by_compartment(region).get(cid, [])
            if state or ad or name:
                objs = [i for i in objs if (state is None or i.state == state) and
                        (ad is None or i.ad == ad) and (name is None or i.display_name == name)]
            if sort_by == "DISPLAYNAME":
                objs = sorted(objs, key=lambda i: (i.display_name, i.id), reverse=order == "DESC")
            elif order == "ASC":
                objs = sorted(objs, key=lambda i: (i.tc_ms, i.id))
            return objs
        objs = self.t.cached(key, build)
        start, end, token = self.paginate("ListInstances", params, len(objs), key)
        return self.list_response(objs, start, end, token)

    def instance_in(self, iid, region):
        i = self.t.instances.get(iid)
        if i is None or i.region != region:
            raise not_found("Instance")
        return i

    def op_GetInstance(self, args, region, params, headers, body):
        i = self.instance_in(args[0], region)
        return 200, self.t.json_of(i), [("etag", self.t.etag(i))]

    def op_InstanceAction(self, args, region, params, headers, body):
        action = params.get("action")
        if not action:
            raise bad("action is required", "MissingParameter")
        if action not in T.ACTIONS:
            raise bad(f"action must be one of {', '.join(T.ACTIONS)}")
        if body:
            try:
                details = json.loads(body)
            except ValueError:
                raise bad("request body is not valid JSON", "CannotParseRequest") from None
            if not isinstance(details, dict):
                raise bad("request body must be an InstancePowerActionDetails object")
        token = headers.get("opc-retry-token")
        now = time.monotonic()
        fp = (args[0], action)
        if token is not None:
            if not 1 <= len(token) <= 64:
                raise bad("opc-retry-token must be 1 to 64 characters")
            hit = self.tokens.get(token)
            if hit is not None and now - hit[4] <= self.s.retry_token_ttl:
                if hit[0] != fp:
                    raise ApiError(409, "InvalidatedRetryToken",
                                   "The retry token was already used for a different request")
                d = self.c.action_replays.setdefault(args[0], {})
                d[action] = d.get(action, 0) + 1
                return hit[1], hit[2], [("etag", hit[3])]
        i = self.instance_in(args[0], region)
        if headers.get("if-match") is not None and headers["if-match"] != self.t.etag(i):
            raise ApiError(412, "NoEtagMatch", "The resource's etag does not match if-match")
        err = self.t.instance_action(i, action, self.s.lifecycle, now)
        if err:
            raise ApiError(409, "IncorrectState", err)
        d = self.c.actions.setdefault(i.id, {})
        d[action] = d.get(action, 0) + 1
        self.c.actions_total += 1
        text, etag = self.t.json_of(i), self.t.etag(i)
        if token is not None:
            # Only successes are remembered: a 409 must not stick to the token, or a client
            # that backs off and retries with the same token could never act.
            self.tokens[token] = (fp, 200, text, etag, now)
            if len(self.tokens) > 100000:
                self.prune_tokens(now)
        return 200, text, [("etag", etag)]

    def prune_tokens(self, now):
        ttl = self.s.retry_token_ttl
        for k in [k for k, v in self.tokens.items() if now - v[4] > ttl]:
            del self.tokens[k]

    # --- Search ---------------------------------------------------------------------------------
    def op_SearchResources(self, args, region, params, headers, body):
        try:
            d = json.loads(body or b"null")
        except ValueError:
            raise bad("request body is not valid JSON", "CannotParseRequest") from None
        if not isinstance(d, dict) or d.get("type") not in ("Structured", "FreeText"):
            raise bad("body must be SearchDetails with type Structured or FreeText")
        tid = params.get("tenantId")
        if tid is not None and tid != self.t.id:
            raise not_found("Tenancy")
        mct = d.get("matchingContextType", "NONE")
        if mct not in ("NONE", "HIGHLIGHTS"):
            raise bad("matchingContextType must be NONE or HIGHLIGHTS")
        if d["type"] == "Structured":
            text = d.get("query")
            if not isinstance(text, str):
                raise bad("query is required", "MissingParameter")
            key = f"SS|{region}|{text}"
            try:
                q = self.t.cached("Q|" + text, lambda: Q.parse(text))
                objs = self.t.cached(key, lambda: Q.run(q, self.t, region))
            except Q.QueryError as e:
                raise bad(f"Invalid query: {e}") from None
            kind = "summary+" if q.all_additional and self.s.additional_details else "summary"
        else:
            text = d.get("text")
            if not isinstance(text, str):
                raise bad("text is required", "MissingParameter")
            key = f"SF|{region}|{text}"
            kind = "summary"
            try:
                objs = self.t.cached(key, lambda: Q.free_text(text, self.t, region))
            except Q.QueryError as e:
                raise bad(str(e)) from None
        start, end, token = self.paginate("SearchResources", params, len(objs), key)
        return self.list_response(objs, start, end, token, kind=kind, wrap=True)

    # --- control API ------------------------------------------------------------------------------
    def control(self, method, target, headers, body, close=False):
        path, _, query = target.partition("?")
        q = dict(urllib.parse.parse_qsl(query))
        try:
            data = json.loads(body) if body else None
        except ValueError:
            return self.response(400, self.error_body("CannotParseRequest", "body is not JSON"), close=close)
        try:
            status, out = self.control_dispatch(method, path.rstrip("/"), q, data)
        except ConfigError as e:
            status, out = 400, {"code": "InvalidParameter", "message": str(e)}
        except T.FixtureError as e:
            status, out = 400, {"code": "InvalidParameter", "message": str(e)}
        except KeyError as e:
            status, out = 404, {"code": "NotFound", "message": f"no such object {e}"}
        except ValueError as e:
            status, out = 400, {"code": "InvalidParameter", "message": str(e)}
        except ApiError as e:
            status, out = e.status, {"code": e.code, "message": e.message}
        return self.response(status, out, close=close)

    def info(self):
        return {"url": f"http://127.0.0.1:{self.port}", "port": self.port, "pid": os.getpid(),
                "tenancy": self.t.id, "tenancyName": self.t.name, "homeRegion": self.t.home_region,
                "regions": self.t.region_names(),
                "keys": [f"{self.t.id}/{k['user']}/{k['fingerprint']}" for k in self.keys.entries()]}

    def control_dispatch(self, method, path, q, data):
        t = self.t
        segs = path.split("/")[2:]
        head = segs[0] if segs else ""
        rest = segs[1:]
        t.advance(time.monotonic())
        if head == "health" and method == "GET":
            return 200, {"ok": True}
        if head == "info" and method == "GET":
            return 200, self.info()
        if head == "counters":
            if method == "GET" and not rest:
                return 200, self.c.json()
            if method == "POST" and rest == ["reset"]:
                self.c.reset()
                return 200, self.c.json()
        if head == "config" and not rest:
            if method == "GET":
                return 200, self.s.config_json()
            if method == "POST":
                self.s.set_config(data or {})
                return 200, self.s.config_json()
        if head == "faults" and not rest:
            if method == "GET":
                return 200, self.s.faults_json()
            if method in ("PUT", "POST"):
                self.s.set_faults(data or {}, replace=method == "PUT")
                return 200, self.s.faults_json()
            if method == "DELETE":
                self.s.set_faults({}, replace=True)
                self.buckets.clear()
                return 200, self.s.faults_json()
        if head == "retry-tokens" and not rest and method == "DELETE":
            self.tokens.clear()
            return 200, {"ok": True}
        if head == "keys" and not rest:
            if method == "GET":
                return 200, self.info()["keys"]
            if method == "POST":
                if not isinstance(data, dict) or not isinstance(data.get("publicKeyPem"), str):
                    raise ValueError("body must be {publicKeyPem, user?, fingerprint?}")
                pub = V.load_public_key(data["publicKeyPem"])
                user = data.get("user") or user_ocid_for(V.fingerprint(pub))
                fp = self.keys.add(user, pub, data.get("fingerprint"))
                return 200, {"keyId": f"{t.id}/{user}/{fp}", "user": user, "fingerprint": fp}
        if head == "tenancy":
            if method == "GET" and not rest:
                return 200, t.dump()
            if method == "GET" and rest == ["summary"]:
                return 200, t.counts()
            if method == "PUT" and not rest:
                self.replace_tenancy(T.Tenancy.load(data))
                return 200, self.t.counts()
            if method == "POST" and rest == ["generate"]:
                self.replace_tenancy(T.Tenancy.generate(data or {}))
                return 200, self.t.counts()
        if head in ("instances", "compartments"):
            kind = head[:-1]
            if method == "GET" and len(rest) == 1:
                obj = (t.instances if kind == "instance" else t.compartments)[rest[0]]
                return 200, dict(obj.api(), region=obj.region) if kind == "instance" else obj.api()
            if method == "POST" and not rest:
                if not isinstance(data, dict):
                    raise ValueError("body must be an object")
                if kind == "instance":
                    i = t.add_instance(data)
                    return 200, dict(i.api(), region=i.region)
                return 200, t.add_compartment(data).api()
            if method == "PATCH" and len(rest) == 1:
                if not isinstance(data, dict):
                    raise ValueError("body must be an object")
                if kind == "instance":
                    i = t.update_instance(rest[0], data)
                    return 200, dict(i.api(), region=i.region)
                return 200, t.update_compartment(rest[0], data).api()
            if method == "DELETE" and len(rest) == 1:
                if kind == "instance":
                    t.remove_instance(rest[0])
                else:
                    t.remove_compartment(rest[0], purge=q.get("purge") in ("1", "true"),
                                         force=q.get("force") in ("1", "true"))
                return 200, {"ok": True}
        raise ApiError(404, "NotFound", f"no control endpoint {method} {path}")

    def replace_tenancy(self, new):
        # API keys belong to users and stay registered; keyIds must now name the new tenancy.
        self.t = new
        self.tokens.clear()
        self.prewarm()


def user_ocid_for(fp):
    """Same derivation as tests/lib/ocikeys.py (a stable user OCID per key)."""
    import hashlib
    s = base64.b32encode(hashlib.sha256(fp.encode()).digest()).decode().lower().rstrip("=")
    return "ocid1.user.oc1..aaaaaaaa" + s[:52]


# --- command line -----------------------------------------------------------------------------
def parse_fault_arg(s):
    """OP:key=value[,key=value...] (values: numbers, true/false, or 500/503 lists with '/')."""
    op, sep, kvs = s.partition(":")
    if not sep:
        raise ConfigError(f"--fault {s!r}: expected OP:key=value,...")
    spec = {}
    for kv in kvs.split(","):
        k, sep, v = kv.partition("=")
        if not sep:
            raise ConfigError(f"--fault {s!r}: expected key=value")
        k = k.strip().replace("-", "_")
        if k == "codes_5xx":
            spec[k] = [int(x) for x in v.split("/")]
        elif v in ("true", "false"):
            spec[k] = v == "true"
        else:
            try:
                spec[k] = float(v)
            except ValueError:
                raise ConfigError(f"--fault {s!r}: {k} needs a number") from None
    return op, spec


def build_parser():
    ap = argparse.ArgumentParser(prog="fake_oci.py", description="stopstart's fake OCI server (127.0.0.1; --also-listen)")
    a = ap.add_argument_group("server")
    a.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free port)")
    a.add_argument("--also-listen", action="append", default=[], metavar="ADDRESS",
                   help="serve on ADDRESS too, same port (another host's view of the server: a test's "
                        "network namespace)")
    a.add_argument("--ready-file", help="write {url, port, pid, tenancy, ...} here once listening")
    a.add_argument("-v", "--verbose", action="store_true", help="log every API request to stderr")
    a.add_argument("--dump", action="store_true", help="print the tenancy as fixture JSON and exit")
    g = ap.add_argument_group("tenancy (generated from a seed unless --fixture)")
    g.add_argument("--fixture", help="load the tenancy from this JSON file (format of GET /_fake/tenancy)")
    g.add_argument("--seed", default="1")
    g.add_argument("--compartments", type=int, default=T.DEFAULT_PARAMS["compartments"])
    g.add_argument("--depth", type=int, default=T.DEFAULT_PARAMS["depth"])
    g.add_argument("--instances", type=int, default=T.DEFAULT_PARAMS["instances"])
    g.add_argument("--regions", default=",".join(T.DEFAULT_PARAMS["regions"]),
                   help="comma-separated, home region first")
    g.add_argument("--region-in-progress", action="append", default=[], metavar="REGION",
                   help="subscription status IN_PROGRESS for this region")
    g.add_argument("--state-mix", help="e.g. RUNNING=60,STOPPED=35,TERMINATED=5")
    g.add_argument("--compartment-state-mix", help="e.g. ACTIVE=95,DELETED=5")
    g.add_argument("--distribution", choices=("random", "even", "skewed"), default="random")
    g.add_argument("--no-root-instances", action="store_true")
    g.add_argument("--ads", type=int, default=3)
    g.add_argument("--shapes", help="comma-separated shape names")
    g.add_argument("--no-tags", action="store_true")
    g.add_argument("--tenancy-name")
    g.add_argument("--tenancy-ocid")
    k = ap.add_argument_group("API keys")
    k.add_argument("--api-key", action="append", default=[], metavar="[USER_OCID=]PEM",
                   help="register a public (or private) key PEM file; user OCID derived from its "
                        "fingerprint when not given")
    k.add_argument("--oci-config", action="append", default=[], metavar="FILE[:PROFILE]",
                   help="register the key of an OCI config profile (user + key_file)")
    k.add_argument("--max-skew", type=float, default=V.MAX_SKEW, help="allowed date skew, s")
    k.add_argument("--clock-offset", type=float, default=0.0, help="add to the server clock for date checks, s")
    f = ap.add_argument_group("faults (defaults for every operation)")
    f.add_argument("--latency", type=float, default=0.0, metavar="MS")
    f.add_argument("--jitter", type=float, default=0.0, metavar="MS")
    f.add_argument("--rate-429", type=float, default=0.0)
    f.add_argument("--bucket-rps", type=float, default=0.0)
    f.add_argument("--bucket-burst", type=float, default=0.0)
    f.add_argument("--retry-after", type=float)
    f.add_argument("--rate-5xx", type=float, default=0.0)
    f.add_argument("--codes-5xx", default="500,502,503,504")
    f.add_argument("--rate-drop", type=float, default=0.0)
    f.add_argument("--drop-reset", action="store_true")
    f.add_argument("--rate-lost", type=float, default=0.0)
    f.add_argument("--rate-hang", type=float, default=0.0)
    f.add_argument("--hang-ms", type=float, default=60000.0)
    f.add_argument("--rate-empty-page", type=float, default=0.0)
    f.add_argument("--fault", action="append", default=[], metavar="OP:key=value,...",
                   help="per-operation override, e.g. InstanceAction:rate_lost=1")
    f.add_argument("--fault-seed", type=int, default=0)
    lc = ap.add_argument_group("lifecycle (seconds)")
    for name in ("start", "stop", "softstop", "reset", "softreset"):
        lc.add_argument(f"--{name}-delay", type=float, default=1.0)
    lc.add_argument("--hang-softstop", action="append", default=[], metavar="OCID|*")
    lc.add_argument("--hang-softreset", action="append", default=[], metavar="OCID|*")
    p = ap.add_argument_group("pagination")
    p.add_argument("--page-cap", type=int, help="cap every operation's limit (e.g. 100)")
    p.add_argument("--limit", action="append", default=[], metavar="OP=DEFAULT:MAX")
    p.add_argument("--retry-token-ttl", type=float, default=86400.0)
    p.add_argument("--no-additional-details", action="store_true",
                   help="Search: leave additionalDetails empty even with 'return allAdditionalFields'")
    return ap


def make_tenancy(a):
    if a.fixture:
        with open(a.fixture) as f:
            return T.Tenancy.load(json.load(f))
    seed = int(a.seed) if a.seed.lstrip("-").isdigit() else a.seed
    params = {"seed": seed, "compartments": a.compartments, "depth": a.depth, "instances": a.instances,
              "regions": [r for r in a.regions.split(",") if r], "distribution": a.distribution,
              "root_instances": not a.no_root_instances, "ads": a.ads, "tags": not a.no_tags,
              "region_status": {r: "IN_PROGRESS" for r in a.region_in_progress}}
    if a.state_mix:
        params["state_mix"] = a.state_mix
    if a.compartment_state_mix:
        params["compartment_state_mix"] = a.compartment_state_mix
    if a.shapes:
        params["shapes"] = a.shapes
    if a.tenancy_name:
        params["tenancy_name"] = a.tenancy_name
    if a.tenancy_ocid:
        params["tenancy_id"] = a.tenancy_ocid
    return T.Tenancy.generate(params)


def make_keys(a):
    keys = V.KeyStore()
    for spec in a.api_key:
        user, sep, path = spec.partition("=")
        if not sep:
            user, path = None, spec
        with open(path, "rb") as f:
            pub = V.load_public_key(f.read())
        keys.add(user or user_ocid_for(V.fingerprint(pub)), pub)
    for spec in a.oci_config:
        path, _, profile = spec.partition(":")
        cp = configparser.ConfigParser(interpolation=None)
        if not cp.read(path):
            raise ConfigError(f"cannot read OCI config {path}")
        sec = cp[profile] if profile and profile != "DEFAULT" else cp.defaults()
        with open(os.path.expanduser(sec["key_file"]), "rb") as f:
            pub = V.load_public_key(f.read(), sec.get("pass_phrase"))
        keys.add(sec["user"], pub)
    return keys


def make_settings(a):
    s = Settings()
    s.set_faults({"latency_ms": a.latency, "jitter_ms": a.jitter, "rate_429": a.rate_429,
                  "bucket_rps": a.bucket_rps, "bucket_burst": a.bucket_burst, "retry_after": a.retry_after,
                  "rate_5xx": a.rate_5xx, "codes_5xx": [int(c) for c in a.codes_5xx.split(",")],
                  "rate_drop": a.rate_drop, "drop_reset": a.drop_reset, "rate_lost": a.rate_lost,
                  "rate_hang": a.rate_hang, "hang_ms": a.hang_ms,
                  "rate_empty_page": a.rate_empty_page}, replace=True)
    ops = {}
    for spec in a.fault:
        op, sp = parse_fault_arg(spec)
        ops.setdefault(op, {}).update(sp)
    if ops:
        s.set_faults({"operations": ops}, replace=False)
    s.set_lifecycle({"start_delay": a.start_delay, "stop_delay": a.stop_delay,
                     "softstop_delay": a.softstop_delay, "reset_delay": a.reset_delay,
                     "softreset_delay": a.softreset_delay, "hang_softstop": a.hang_softstop,
                     "hang_softreset": a.hang_softreset})
    lim = {}
    for spec in a.limit:
        op, sep, dm = spec.partition("=")
        d, sep2, m = dm.partition(":")
        if not sep or not sep2 or not d.isdigit() or not m.isdigit():
            raise ConfigError(f"--limit {spec!r}: expected OP=DEFAULT:MAX")
        lim[op] = {"default": int(d), "max": int(m)}
    if a.page_cap is not None:
        lim["page_cap"] = a.page_cap
    s.set_limits(lim)
    s.set_auth({"clock_offset": a.clock_offset, "max_skew": a.max_skew})
    s.retry_token_ttl = _num(a.retry_token_ttl, "retry-token-ttl")
    s.additional_details = not a.no_additional_details
    return s


async def serve(server_obj, a):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    srv = await asyncio.start_server(server_obj.handle, "127.0.0.1", a.port,
                                     limit=MAX_HEADER, backlog=1024, reuse_address=True)
    server_obj.port = srv.sockets[0].getsockname()[1]
    also = []
    for address in a.also_listen:
        also.append(await asyncio.start_server(server_obj.handle, address, server_obj.port, limit=MAX_HEADER,
                                               backlog=1024, reuse_address=True))
    server_obj.prewarm()
    info = server_obj.info()
    if a.ready_file:
        tmp = a.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(info, f)
        os.replace(tmp, a.ready_file)
    print(f"fake-oci: listening on {info['url']} tenancy {info['tenancy']} "
          f"({len(server_obj.t.compartments)} compartments, {len(server_obj.t.instances)} instances)",
          file=sys.stderr, flush=True)
    await stop.wait()
    for s in also:
        s.close()
    srv.close()
    for w in list(server_obj.writers):
        w.close()
    await srv.wait_closed()
    print("fake-oci: stopped", file=sys.stderr, flush=True)


def main(argv=None):
    a = build_parser().parse_args(argv)
    try:
        ten = make_tenancy(a)
        if a.dump:
            json.dump(ten.dump(), sys.stdout, indent=1)
            sys.stdout.write("\n")
            return 0
        server_obj = FakeOci(ten, make_keys(a), make_settings(a), a.fault_seed, a.verbose)
    except (OSError, ValueError, KeyError, ConfigError, T.FixtureError) as e:
        print(f"fake-oci: {e}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(server_obj, a))
    except OSError as e:
        print(f"fake-oci: cannot listen on 127.0.0.1:{a.port}: {e.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

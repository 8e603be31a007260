# SPDX-License-Identifier: LGPL-2.1-or-later
"""The fake tenancy: compartments (tenancy-wide), instances (per region), generator, fixtures,
instance lifecycle, and cached JSON/index views for fast serving.

Single-threaded by design: the server runs on one asyncio loop, so nothing here locks.
"""
import base64
import bisect
import calendar
import heapq
import json
import random
import time
import zlib

import regions as R

INSTANCE_STATES = ("PROVISIONING", "RUNNING", "STARTING", "STOPPING", "STOPPED", "CREATING_IMAGE",
                   "TERMINATING", "TERMINATED", "MOVING")
COMPARTMENT_STATES = ("CREATING", "ACTIVE", "INACTIVE", "DELETING", "DELETED")
ACTIONS = ("START", "STOP", "SOFTSTOP", "RESET", "SOFTRESET")

FIXTURE_FORMAT = "stopstart-fake-oci/1"

DEFAULT_PARAMS = {
    "seed": 1,
    "compartments": 10,          # excluding the root (the tenancy)
    "depth": 3,                  # deepest level; top-level compartments are depth 1
    "instances": 50,             # total over every region
    "regions": ["us-phoenix-1"],  # first = home region
    "region_status": {},         # region -> "IN_PROGRESS" (default READY)
    "state_mix": {"RUNNING": 60, "STOPPED": 35, "TERMINATED": 5},
    "compartment_state_mix": {"ACTIVE": 100},
    "distribution": "random",    # random | even | skewed (which compartments get instances)
    "root_instances": True,      # may the root compartment hold instances
    "ads": 3,                    # availability domains per region
    "shapes": ["VM.Standard.E4.Flex", "VM.Standard.E5.Flex", "VM.Standard3.Flex",
               "VM.Standard.A1.Flex", "VM.Standard2.1", "VM.Standard2.2", "VM.Standard.E2.1.Micro"],
    "tags": True,                # freeform tags from small pools
    "tenancy_name": None,        # default "fake-tenancy-SEED"
    "tenancy_id": None,          # default: generated from the seed
}

_TAG_POOL = {
    "env": ["prod", "staging", "dev", "test", "qa"],
    "team": ["payments", "search", "platform", "data", "web", "mobile", "infra"],
    "schedule": ["office-hours", "always-on", "weekdays", "nightly-off"],
    "cost-center": ["cc-100", "cc-200", "cc-300", "cc-400"],
}
_COMP_WORDS = ["dept", "project", "team", "app", "env", "sandbox", "shared", "lab"]
_INST_WORDS = ["web", "api", "db", "worker", "batch", "cache", "build", "bastion", "etl", "ml"]
_FLEX_MEM = {"VM.Standard.A1.Flex": 6.0}
_FIXED = {"VM.Standard2.1": (1.0, 15.0), "VM.Standard2.2": (2.0, 30.0),
          "VM.Standard.E2.1.Micro": (1.0, 1.0), "BM.Standard2.52": (52.0, 768.0)}

_B32 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567=", "abcdefghijklmnopqrstuvwxyz234567a")
_EPOCH_2018 = calendar.timegm((2018, 1, 1, 0, 0, 0))


class FixtureError(ValueError):
    pass


def unique_part(rnd, prefix="aaaaaaaa"):
    """60 characters like the unique part of real OCIDs (lower-case base32)."""
    s = base64.b32encode(rnd.randbytes(40)).decode().translate(_B32)
    return (prefix + s)[:60]


def make_ocid(kind, rnd, realm="oc1", region=None):
    if region is None:
        return f"ocid1.{kind}.{realm}..{unique_part(rnd)}"
    return f"ocid1.{kind}.{realm}.{R.short_code(region)}.{unique_part(rnd, 'an')}"


def fmt_time(ms):
    """RFC 3339 with milliseconds, as OCI prints timeCreated."""
    s, m = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{m:03d}Z"


def parse_time(value):
    """RFC 3339 / ISO date (Z or offset, optional fraction) -> epoch milliseconds. ValueError if bad."""
    if not isinstance(value, str):
        raise ValueError("time must be a string")
    v = value.strip()
    if len(v) == 10:
        v += "T00:00:00Z"
    try:
        date, rest = v.split("T", 1) if "T" in v else v.split("t", 1)
        y, mo, d = (int(x) for x in date.split("-"))
        tz_ms = 0
        if rest.endswith(("Z", "z")):
            rest = rest[:-1]
        else:
            for sign in ("+", "-"):
                if sign in rest:
                    rest, tz = rest.rsplit(sign, 1)
                    th, tm = tz.split(":")
                    tz_ms = (int(th) * 60 + int(tm)) * 60000 * (1 if sign == "+" else -1)
                    break
            else:
                raise ValueError("no time zone")
        hms, _, frac = rest.partition(".")
        hh, mm, ss = (int(x) for x in hms.split(":"))
        ms = int((frac + "000")[:3]) if frac else 0
        if not (1 <= mo <= 12 and 1 <= d <= 31 and hh < 24 and mm < 60 and ss < 61):
            raise ValueError("out of range")
        return (calendar.timegm((y, mo, d, hh, mm, ss)) * 1000 + ms) - tz_ms
    except (ValueError, TypeError) as e:
        raise ValueError(f"invalid time {value!r}") from e


def _weighted(rnd, mix):
    keys = list(mix)
    cum, t = [], 0
    for k in keys:
        t += float(mix[k])
        cum.append(t)
    return lambda: keys[bisect.bisect_right(cum, rnd.random() * t)] if t > 0 else keys[0]


class Compartment:
    __slots__ = ("id", "parent", "name", "description", "time_created", "tc_ms", "state",
                 "freeform_tags", "defined_tags", "rev")

    def api(self):
        return {
            "compartmentId": self.parent,
            "definedTags": self.defined_tags,
            "description": self.description,
            "freeformTags": self.freeform_tags,
            "id": self.id,
            "inactiveStatus": None,
            "isAccessible": True,
            "lifecycleState": self.state,
            "name": self.name,
            "timeCreated": self.time_created,
        }

    def summary(self, additional=False):
        return {
            "resourceType": "Compartment",
            "identifier": self.id,
            "compartmentId": self.parent,
            "timeCreated": self.time_created,
            "displayName": self.name,
            "availabilityDomain": None,
            "lifecycleState": self.state,
            "freeformTags": self.freeform_tags,
            "definedTags": self.defined_tags,
            "systemTags": {},
            "searchContext": None,
            "identityContext": {},
            "additionalDetails": {},
        }


class Instance:
    __slots__ = ("id", "region", "compartment_id", "display_name", "ad", "fault_domain", "shape",
                 "ocpus", "memory", "image_id", "state", "time_created", "tc_ms", "freeform_tags",
                 "defined_tags", "rev", "transition")

    def api(self):
        vcpus = int(self.ocpus * (1 if "A1" in self.shape else 2))
        return {
            "agentConfig": {"areAllPluginsDisabled": False, "isManagementDisabled": False,
                            "isMonitoringDisabled": False, "pluginsConfig": None},
            "availabilityConfig": {"isLiveMigrationPreferred": None, "recoveryAction": "RESTORE_INSTANCE"},
            "availabilityDomain": self.ad,
            "capacityReservationId": None,
            "compartmentId": self.compartment_id,
            "dedicatedVmHostId": None,
            "definedTags": self.defined_tags,
            "displayName": self.display_name,
            "extendedMetadata": {},
            "faultDomain": self.fault_domain,
            "freeformTags": self.freeform_tags,
            "id": self.id,
            "imageId": self.image_id,
            "instanceOptions": {"areLegacyImdsEndpointsDisabled": False},
            "ipxeScript": None,
            "isCrossNumaNode": False,
            "launchMode": "PARAVIRTUALIZED",
            "lifecycleState": self.state,
            "metadata": {},
            "region": R.instance_region_field(self.region),
            "shape": self.shape,
            "shapeConfig": {"baselineOcpuUtilization": None, "gpus": 0, "localDisks": 0,
                            "maxVnicAttachments": 2, "memoryInGBs": self.memory,
                            "networkingBandwidthInGbps": 1.0, "ocpus": self.ocpus, "vcpus": vcpus},
            "sourceDetails": {"bootVolumeSizeInGBs": None, "imageId": self.image_id, "sourceType": "image"},
            "systemTags": {},
            "timeCreated": self.time_created,
            "timeMaintenanceRebootDue": None,
        }

    def summary(self, additional=False):
        return {
            "resourceType": "Instance",
            "identifier": self.id,
            "compartmentId": self.compartment_id,
            "timeCreated": self.time_created,
            "displayName": self.display_name,
            "availabilityDomain": self.ad,
            "lifecycleState": self.state,
            "freeformTags": self.freeform_tags,
            "definedTags": self.defined_tags,
            "systemTags": {},
            "searchContext": None,
            "identityContext": {},
            "additionalDetails": ({"shape": self.shape, "faultDomain": self.fault_domain,
                                   "region": R.instance_region_field(self.region)} if additional else {}),
        }


class Tenancy:
    def __init__(self):
        self.id = None
        self.name = None
        self.description = ""
        self.home_region = None
        self.freeform_tags = {}
        self.defined_tags = {}
        self.regions = []          # [{"regionName":..., "status":...}] home first
        self.compartments = {}     # id -> Compartment (the root is not in here)
        self.instances = {}        # id -> Instance
        self.params = None         # generator parameters when generated
        self.ad_prefix = "Fake"
        self.version = 0
        self._cache = {}           # derived views, cleared on every change
        self._json = {}            # (kind, id) -> (rev, text)
        self._heap = []            # (monotonic time, seq, instance id) pending transitions
        self._seq = 0
        self._rnd = random.Random(0)

    # --- change tracking ------------------------------------------------------------------
    def changed(self, obj=None):
        self.version += 1
        self._cache.clear()
        if obj is not None:
            obj.rev += 1

    def region_names(self):
        return [r["regionName"] for r in self.regions]

    def subscribed(self, region):
        return any(r["regionName"] == region for r in self.regions)

    # --- API views ------------------------------------------------------------------------
    def api_tenancy(self):
        return {
            "definedTags": self.defined_tags,
            "description": self.description,
            "freeformTags": self.freeform_tags,
            "homeRegionKey": R.region_key(self.home_region),
            "id": self.id,
            "name": self.name,
            "upiIdcsCompatibilityLayerEndpoint": None,
        }

    def api_root_compartment(self):
        """GetCompartment on the tenancy OCID: the root as a compartment."""
        return {
            "compartmentId": self.id, "definedTags": self.defined_tags, "description": self.description,
            "freeformTags": self.freeform_tags, "id": self.id, "inactiveStatus": None,
            "isAccessible": True, "lifecycleState": "ACTIVE", "name": self.name,
            "timeCreated": fmt_time(_EPOCH_2018 * 1000 - 86400000),
        }

    def api_region_subscriptions(self):
        return [{"isHomeRegion": r["regionName"] == self.home_region,
                 "regionKey": R.region_key(r["regionName"]),
                 "regionName": r["regionName"], "status": r["status"]} for r in self.regions]

    def json_of(self, obj, kind="api"):
        """Cached JSON text of one object (kind api|summary|summary+, the last with
        additionalDetails); serialising 20,000 instances per discovery is what would otherwise
        dominate the server's CPU."""
        key = (kind, obj.id)
        hit = self._json.get(key)
        if hit is not None and hit[0] == obj.rev:
            return hit[1]
        text = json.dumps(obj.api() if kind == "api" else obj.summary(additional=kind == "summary+"),
                          separators=(",", ":"))
        self._json[key] = (obj.rev, text)
        return text

    @staticmethod
    def etag(obj):
        return f"{zlib.crc32(obj.id.encode()):08x}{obj.rev:08x}"

    # --- queries --------------------------------------------------------------------------
    def cached(self, key, fn):
        v = self._cache.get(key)
        if v is None:
            v = self._cache[key] = fn()
        return v

    def children(self):
        def build():
            ch = {}
            for c in self.compartments.values():
                ch.setdefault(c.parent, []).append(c)
            return ch
        return self.cached(("children",), build)

    def subtree_ids(self, root_id):
        """root_id and every compartment below it."""
        ch = self.children()
        out, stack = [], [root_id]
        while stack:
            cid = stack.pop()
            out.append(cid)
            stack.extend(c.id for c in ch.get(cid, ()))
        return out

    def by_compartment(self, region):
        """region -> {compartmentId: [Instance...]} in default order (timeCreated desc, id)."""
        def build():
            idx = {}
            for i in self.instances.values():
                if i.region == region:
                    idx.setdefault(i.compartment_id, []).append(i)
            for lst in idx.values():
                lst.sort(key=lambda i: (-i.tc_ms, i.id))
            return idx
        return self.cached(("bycomp", region), build)

    def region_instances(self, region):
        """Instances of one region sorted by (timeCreated, id) ascending, with the key list."""
        def build():
            lst = sorted((i for i in self.instances.values() if i.region == region),
                         key=lambda i: (i.tc_ms, i.id))
            return lst, [i.tc_ms for i in lst]
        return self.cached(("regioninst", region), build)

    def container_exists(self, cid):
        return cid == self.id or cid in self.compartments

    # --- generation -----------------------------------------------------------------------
    @classmethod
    def generate(cls, params=None):
        p = dict(DEFAULT_PARAMS)
        for k, v in (params or {}).items():
            if k not in DEFAULT_PARAMS:
                raise FixtureError(f"unknown generator parameter {k!r}")
            p[k] = v
        _validate_params(p)
        t = cls()
        t.params = p
        rnd = random.Random(f"stopstart-fake-oci:{p['seed']}")
        t._rnd = random.Random(f"stopstart-fake-oci-mutations:{p['seed']}")
        t.id = p["tenancy_id"] or make_ocid("tenancy", rnd)
        t.name = p["tenancy_name"] or f"fake-tenancy-{p['seed']}"
        t.description = "Generated by stopstart's fake OCI server"
        t.home_region = p["regions"][0]
        t.regions = [{"regionName": r, "status": p["region_status"].get(r, "READY")} for r in p["regions"]]
        t.ad_prefix = "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
                              for _ in range(4))

        # Compartment tree: a chain reaching the requested depth first, then random parents
        # among compartments that are not yet at the maximum depth.
        n, depth = p["compartments"], p["depth"]
        comp_state = _weighted(rnd, p["compartment_state_mix"])
        depth_of = {t.id: 0}
        open_parents = [t.id]
        base_ms = _EPOCH_2018 * 1000
        prev = t.id
        for k in range(n):
            if k < depth:
                parent = prev
            else:
                parent = open_parents[rnd.randrange(len(open_parents))]
            c = Compartment()
            cid = c.id = make_ocid("compartment", rnd)
            c.parent = parent
            c.name = f"{_COMP_WORDS[rnd.randrange(len(_COMP_WORDS))]}-{k + 1:05d}"
            c.description = f"generated compartment {k + 1}"
            c.tc_ms = base_ms + rnd.randrange(2 * 365 * 86400 * 1000)
            c.time_created = fmt_time(c.tc_ms)
            c.state = comp_state()
            c.freeform_tags = _tags(rnd) if p["tags"] else {}
            c.defined_tags = {"Oracle-Tags": {"CreatedBy": "default/admin@example.com",
                                              "CreatedOn": c.time_created}}
            c.rev = 0
            t.compartments[cid] = c
            prev = cid
            depth_of[cid] = depth_of[parent] + 1
            if depth_of[cid] < depth:
                open_parents.append(cid)

        containers = ([t.id] if p["root_instances"] else []) + \
            [c.id for c in t.compartments.values() if c.state == "ACTIVE"]
        if p["instances"] and not containers:
            raise FixtureError("no ACTIVE compartment (and root_instances is false) to hold instances")
        dist = p["distribution"]
        if dist == "skewed":
            cum, s = [], 0.0
            for r in range(len(containers)):
                s += 1.0 / (r + 1)
                cum.append(s)
        state = _weighted(rnd, p["state_mix"])
        regs = p["regions"]
        shapes = p["shapes"]
        inst_base = base_ms + 2 * 365 * 86400 * 1000
        for k in range(p["instances"]):
            if dist == "even":
                comp = containers[k % len(containers)]
            elif dist == "skewed":
                comp = containers[bisect.bisect_right(cum, rnd.random() * s)]
            else:
                comp = containers[rnd.randrange(len(containers))]
            region = regs[rnd.randrange(len(regs))]
            i = Instance()
            i.id = make_ocid("instance", rnd, R.realm(region), region)
            i.region = region
            i.compartment_id = comp
            i.display_name = f"{_INST_WORDS[rnd.randrange(len(_INST_WORDS))]}-{k + 1:06d}"
            i.ad = f"{t.ad_prefix}:{R.short_code(region).upper()}-AD-{rnd.randrange(p['ads']) + 1}"
            i.fault_domain = f"FAULT-DOMAIN-{rnd.randrange(3) + 1}"
            i.shape = shapes[rnd.randrange(len(shapes))]
            i.ocpus, i.memory = _shape_size(rnd, i.shape)
            i.image_id = f"ocid1.image.{R.realm(region)}.{R.short_code(region)}.{unique_part(rnd, 'aa')}"
            i.state = state()
            i.tc_ms = inst_base + rnd.randrange(5 * 365 * 86400 * 1000)
            i.time_created = fmt_time(i.tc_ms)
            i.freeform_tags = _tags(rnd) if p["tags"] else {}
            i.defined_tags = {"Oracle-Tags": {"CreatedBy": "default/admin@example.com",
                                              "CreatedOn": i.time_created}}
            i.rev = 0
            i.transition = None
            t.instances[i.id] = i
        return t

    # --- fixtures -------------------------------------------------------------------------
    def dump(self):
        return {
            "format": FIXTURE_FORMAT,
            "tenancy": self.api_tenancy(),
            "homeRegion": self.home_region,
            "regions": [dict(r) for r in self.regions],
            "availabilityDomainPrefix": self.ad_prefix,
            "generator": self.params,
            "compartments": [c.api() for c in self.compartments.values()],
            "instances": [dict(i.api(), region=i.region) for i in self.instances.values()],
            "counts": self.counts(),
        }

    def counts(self):
        comp = {}
        for c in self.compartments.values():
            comp[c.state] = comp.get(c.state, 0) + 1
        inst = {r: {} for r in self.region_names()}
        for i in self.instances.values():
            d = inst.setdefault(i.region, {})
            d[i.state] = d.get(i.state, 0) + 1
        return {"compartments": len(self.compartments), "compartmentsByState": comp,
                "instances": len(self.instances), "instancesByRegionAndState": inst,
                "version": self.version}

    @classmethod
    def load(cls, data):
        """Build a tenancy from a fixture (the format dump() writes; most fields optional)."""
        if not isinstance(data, dict):
            raise FixtureError("fixture must be a JSON object")
        t = cls()
        tn = data.get("tenancy") or {}
        if not isinstance(tn, dict) or not isinstance(tn.get("id"), str) or \
                not tn["id"].startswith("ocid1.tenancy."):
            raise FixtureError("fixture: tenancy.id must be a tenancy OCID")
        t.id = tn["id"]
        t.name = tn.get("name") or "fake-tenancy"
        t.description = tn.get("description") or ""
        t.freeform_tags = dict(tn.get("freeformTags") or {})
        t.defined_tags = dict(tn.get("definedTags") or {})
        regs = data.get("regions") or [{"regionName": data.get("homeRegion") or "us-phoenix-1"}]
        for r in regs:
            name = R.normalize(r.get("regionName") if isinstance(r, dict) else r)
            if not name:
                raise FixtureError(f"fixture: unknown region {r!r}")
            status = r.get("status", "READY") if isinstance(r, dict) else "READY"
            t.regions.append({"regionName": name, "status": status})
        t.home_region = R.normalize(data.get("homeRegion") or t.regions[0]["regionName"])
        if not t.home_region or not t.subscribed(t.home_region):
            raise FixtureError("fixture: homeRegion must be one of regions")
        t.regions.sort(key=lambda r: r["regionName"] != t.home_region)
        t.ad_prefix = data.get("availabilityDomainPrefix") or "Fake"
        t.params = data.get("generator")
        seed = (t.params or {}).get("seed", 0) if isinstance(t.params, dict) else 0
        t._rnd = random.Random(f"stopstart-fake-oci-mutations:{seed}:{t.id}")
        for k, c in enumerate(data.get("compartments") or []):
            try:
                t._add_compartment_obj(_compartment_from(c, t), check_parent=False)
            except (KeyError, TypeError, ValueError) as e:
                raise FixtureError(f"fixture: compartments[{k}]: {e}") from None
        for c in t.compartments.values():
            if not t.container_exists(c.parent):
                raise FixtureError(f"fixture: compartment {c.id} has unknown parent {c.parent}")
        for c in t.compartments.values():  # cycles: every chain must reach the root
            seen, cur = set(), c.id
            while cur != t.id:
                if cur in seen:
                    raise FixtureError(f"fixture: compartment cycle through {c.id}")
                seen.add(cur)
                cur = t.compartments[cur].parent
        for k, i in enumerate(data.get("instances") or []):
            try:
                inst = _instance_from(i, t)
            except (KeyError, TypeError, ValueError) as e:
                raise FixtureError(f"fixture: instances[{k}]: {e}") from None
            if inst.id in t.instances:
                raise FixtureError(f"fixture: duplicate instance id {inst.id}")
            t.instances[inst.id] = inst
        return t

    # --- mutations (control API) ----------------------------------------------------------
    def _add_compartment_obj(self, c, check_parent=True):
        if c.id in self.compartments or c.id == self.id:
            raise ValueError(f"duplicate compartment id {c.id}")
        if check_parent and not self.container_exists(c.parent):
            raise ValueError(f"unknown parent compartment {c.parent}")
        self.compartments[c.id] = c
        self.changed()
        return c

    def add_compartment(self, spec):
        spec = dict(spec)
        spec.setdefault("id", make_ocid("compartment", self._rnd))
        spec.setdefault("compartmentId", self.id)
        spec.setdefault("timeCreated", fmt_time(time.time() * 1000))
        c = _compartment_from(spec, self)
        return self._add_compartment_obj(c)

    def update_compartment(self, cid, spec):
        c = self.compartments[cid]
        for k, v in spec.items():
            if k == "name":
                c.name = _str(v, "name")
            elif k == "description":
                c.description = _str(v, "description")
            elif k in ("compartmentId", "parentId"):
                if not self.container_exists(v):
                    raise ValueError(f"unknown parent compartment {v}")
                if v in self.subtree_ids(cid):
                    raise ValueError("cannot move a compartment below itself")
                c.parent = v
            elif k == "lifecycleState":
                c.state = _enum(v, COMPARTMENT_STATES, "lifecycleState")
            elif k == "freeformTags":
                c.freeform_tags = _tagdict(v)
            elif k == "definedTags":
                c.defined_tags = dict(v)
            else:
                raise ValueError(f"unknown or read-only field {k!r}")
        self.changed(c)
        return c

    def remove_compartment(self, cid, purge=False, force=False):
        c = self.compartments[cid]
        if not force:
            busy = [x.id for x in self.compartments.values() if x.parent == cid and x.state != "DELETED"]
            busy += [i.id for i in self.instances.values()
                     if i.compartment_id == cid and i.state != "TERMINATED"]
            if busy:
                raise ValueError(f"compartment is not empty ({len(busy)} live children); use force")
        if purge:
            del self.compartments[cid]
            for x in self.compartments.values():  # orphans (force) move up to keep the tree whole
                if x.parent == cid:
                    x.parent = c.parent
                    x.rev += 1
            for i in self.instances.values():
                if i.compartment_id == cid:
                    i.compartment_id = c.parent
                    i.rev += 1
        else:
            c.state = "DELETED"
        self.changed(c)

    def add_instance(self, spec):
        spec = dict(spec)
        region = R.normalize(spec.get("region") or self.home_region)
        if not region or not self.subscribed(region):
            raise ValueError(f"region {spec.get('region')!r} is not subscribed")
        spec["region"] = region
        spec.setdefault("id", make_ocid("instance", self._rnd, R.realm(region), region))
        spec.setdefault("compartmentId", self.id)
        spec.setdefault("timeCreated", fmt_time(time.time() * 1000))
        spec.setdefault("availabilityDomain", f"{self.ad_prefix}:{R.short_code(region).upper()}-AD-1")
        i = _instance_from(spec, self)
        if i.id in self.instances:
            raise ValueError(f"duplicate instance id {i.id}")
        self.instances[i.id] = i
        self.changed()
        return i

    def update_instance(self, iid, spec):
        i = self.instances[iid]
        for k, v in spec.items():
            if k == "displayName":
                i.display_name = _str(v, "displayName")
            elif k == "compartmentId":
                if not self.container_exists(v):
                    raise ValueError(f"unknown compartment {v}")
                i.compartment_id = v
            elif k == "lifecycleState":
                i.state = _enum(v, INSTANCE_STATES, "lifecycleState")
                i.transition = None
            elif k == "freeformTags":
                i.freeform_tags = _tagdict(v)
            elif k == "definedTags":
                i.defined_tags = dict(v)
            elif k == "shape":
                i.shape = _str(v, "shape")
            else:
                raise ValueError(f"unknown or read-only field {k!r}")
        self.changed(i)
        return i

    def remove_instance(self, iid):
        i = self.instances.pop(iid)
        i.transition = None
        self._json.pop(("api", iid), None)
        self._json.pop(("summary", iid), None)
        self.changed()

    # --- lifecycle ------------------------------------------------------------------------
    def instance_action(self, inst, action, lc, now):
        """Apply an InstanceAction. lc: lifecycle settings. Returns None or an error message
        (the action conflicts with the current state -> 409 IncorrectState)."""
        st = inst.state
        if action == "START":
            if st != "STOPPED":
                return f"Instance {inst.id} is {st}; START needs STOPPED"
            steps = [("STARTING", 0), ("RUNNING", lc["start_delay"])]
        elif action == "STOP":
            # STOP is also how a client escalates a SOFTSTOP that is taking too long.
            if st != "RUNNING" and st != "STOPPING":
                return f"Instance {inst.id} is {st}; STOP needs RUNNING"
            steps = [("STOPPING", 0), ("STOPPED", lc["stop_delay"])]
        elif action == "SOFTSTOP":
            if st != "RUNNING":
                return f"Instance {inst.id} is {st}; SOFTSTOP needs RUNNING"
            if _hangs(lc, "hang_softstop", inst.id):
                steps = [("STOPPING", 0), None]
            else:
                steps = [("STOPPING", 0), ("STOPPED", lc["softstop_delay"])]
        elif action in ("RESET", "SOFTRESET"):
            if st != "RUNNING":
                return f"Instance {inst.id} is {st}; {action} needs RUNNING"
            d = lc["reset_delay"] if action == "RESET" else lc["softreset_delay"]
            if action == "SOFTRESET" and _hangs(lc, "hang_softreset", inst.id):
                steps = [("STOPPING", 0), None]
            elif d > 0:
                steps = [("STOPPING", 0), ("STARTING", d / 2), ("RUNNING", d)]
            else:
                steps = [("RUNNING", 0)]
        else:
            raise ValueError(action)
        inst.state = steps[0][0]
        if steps[-1] is None:
            inst.transition = []           # hangs: never completes by itself
        else:
            inst.transition = [(now + off, s) for s, off in steps[1:]]
            if inst.transition:
                self._seq += 1
                heapq.heappush(self._heap, (inst.transition[0][0], self._seq, inst.id))
        self.changed(inst)
        return None

    def advance(self, now):
        """Apply every due lifecycle step (called before serving each request)."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, iid = heapq.heappop(heap)
            inst = self.instances.get(iid)
            if inst is None or not inst.transition:
                continue
            moved = False
            while inst.transition and inst.transition[0][0] <= now:
                inst.state = inst.transition.pop(0)[1]
                moved = True
            if inst.transition:
                self._seq += 1
                heapq.heappush(heap, (inst.transition[0][0], self._seq, iid))
            if moved:
                self.changed(inst)


def _hangs(lc, key, iid):
    v = lc.get(key) or []
    return "*" in v or iid in v


def _tags(rnd):
    keys = list(_TAG_POOL)
    out = {}
    for k in keys:
        if rnd.random() < 0.6:
            vals = _TAG_POOL[k]
            out[k] = vals[rnd.randrange(len(vals))]
    return out


def _shape_size(rnd, shape):
    if shape in _FIXED:
        return _FIXED[shape]
    ocpus = float(rnd.choice((1, 1, 2, 2, 4, 8)))
    return ocpus, ocpus * _FLEX_MEM.get(shape, 16.0)


def _str(v, name):
    if not isinstance(v, str):
        raise ValueError(f"{name} must be a string")
    return v


def _enum(v, allowed, name):
    if not isinstance(v, str) or v.upper() not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}")
    return v.upper()


def _tagdict(v):
    if not isinstance(v, dict) or not all(isinstance(a, str) and isinstance(b, str) for a, b in v.items()):
        raise ValueError("freeformTags must be an object of strings")
    return dict(v)


def _compartment_from(d, t):
    if not isinstance(d, dict):
        raise TypeError("must be an object")
    c = Compartment()
    c.id = _str(d["id"], "id")
    if not c.id.startswith("ocid1.compartment."):
        raise ValueError(f"id {c.id!r} is not a compartment OCID")
    c.parent = _str(d.get("compartmentId") or d.get("parentId") or t.id, "compartmentId")
    c.name = _str(d["name"], "name")
    c.description = _str(d.get("description") or "", "description")
    c.tc_ms = parse_time(d.get("timeCreated") or "2018-01-01T00:00:00.000Z")
    c.time_created = fmt_time(c.tc_ms)
    c.state = _enum(d.get("lifecycleState") or "ACTIVE", COMPARTMENT_STATES, "lifecycleState")
    c.freeform_tags = _tagdict(d.get("freeformTags") or {})
    c.defined_tags = dict(d.get("definedTags") or {})
    c.rev = 0
    return c


def _instance_from(d, t):
    if not isinstance(d, dict):
        raise TypeError("must be an object")
    i = Instance()
    i.id = _str(d["id"], "id")
    if not i.id.startswith("ocid1.instance."):
        raise ValueError(f"id {i.id!r} is not an instance OCID")
    region = R.normalize(d.get("region") or t.home_region)
    if not region or not t.subscribed(region):
        raise ValueError(f"region {d.get('region')!r} is not subscribed")
    i.region = region
    i.compartment_id = _str(d.get("compartmentId") or t.id, "compartmentId")
    if not t.container_exists(i.compartment_id):
        raise ValueError(f"unknown compartment {i.compartment_id}")
    i.display_name = _str(d.get("displayName") or i.id[-8:], "displayName")
    i.ad = _str(d.get("availabilityDomain") or f"{t.ad_prefix}:{R.short_code(region).upper()}-AD-1",
                "availabilityDomain")
    i.fault_domain = _str(d.get("faultDomain") or "FAULT-DOMAIN-1", "faultDomain")
    i.shape = _str(d.get("shape") or "VM.Standard.E4.Flex", "shape")
    sc = d.get("shapeConfig") or {}
    i.ocpus = float(sc.get("ocpus") or 1.0)
    i.memory = float(sc.get("memoryInGBs") or 16.0)
    i.image_id = d.get("imageId") or f"ocid1.image.{R.realm(region)}.{R.short_code(region)}.aaaafake"
    i.state = _enum(d.get("lifecycleState") or "RUNNING", INSTANCE_STATES, "lifecycleState")
    i.tc_ms = parse_time(d.get("timeCreated") or "2020-01-01T00:00:00.000Z")
    i.time_created = fmt_time(i.tc_ms)
    i.freeform_tags = _tagdict(d.get("freeformTags") or {})
    i.defined_tags = dict(d.get("definedTags") or {})
    i.rev = 0
    i.transition = None
    return i


def _validate_params(p):
    def intp(k, lo=0):
        if not isinstance(p[k], int) or isinstance(p[k], bool) or p[k] < lo:
            raise FixtureError(f"generator: {k} must be an integer >= {lo}")
    intp("compartments")
    intp("depth", 1)
    intp("instances")
    intp("ads", 1)
    if not isinstance(p["seed"], (int, str)):
        raise FixtureError("generator: seed must be an integer or a string")
    regs = p["regions"]
    if isinstance(regs, str):
        regs = [r for r in regs.split(",") if r]
    if not isinstance(regs, list) or not regs:
        raise FixtureError("generator: regions must be a non-empty list")
    norm = []
    for r in regs:
        n = R.normalize(r)
        if not n:
            raise FixtureError(f"generator: unknown region {r!r}")
        if n not in norm:
            norm.append(n)
    p["regions"] = norm
    if not isinstance(p["region_status"], dict):
        raise FixtureError("generator: region_status must be an object")
    for r, s in list(p["region_status"].items()):
        if R.normalize(r) not in norm or s not in ("READY", "IN_PROGRESS"):
            raise FixtureError(f"generator: bad region_status {r}={s}")
        if R.normalize(r) == norm[0] and s != "READY":
            raise FixtureError("generator: the home region must be READY")
    for key, allowed in (("state_mix", INSTANCE_STATES), ("compartment_state_mix", COMPARTMENT_STATES)):
        m = p[key]
        if isinstance(m, str):
            m = _parse_mix(m, key)
        if not isinstance(m, dict) or not m:
            raise FixtureError(f"generator: {key} must be a non-empty object STATE -> weight")
        out = {}
        for s, w in m.items():
            if not isinstance(s, str) or s.upper() not in allowed:
                raise FixtureError(f"generator: {key}: unknown state {s!r}")
            if not isinstance(w, (int, float)) or w < 0:
                raise FixtureError(f"generator: {key}: weight of {s} must be a number >= 0")
            out[s.upper()] = w
        if sum(out.values()) <= 0:
            raise FixtureError(f"generator: {key}: weights sum to 0")
        p[key] = out
    if p["distribution"] not in ("random", "even", "skewed"):
        raise FixtureError("generator: distribution must be random, even or skewed")
    if isinstance(p["shapes"], str):
        p["shapes"] = [s for s in p["shapes"].split(",") if s]
    if not isinstance(p["shapes"], list) or not p["shapes"]:
        raise FixtureError("generator: shapes must be a non-empty list")
    if p["tenancy_id"] is not None and (not isinstance(p["tenancy_id"], str)
                                        or not p["tenancy_id"].startswith("ocid1.tenancy.")):
        raise FixtureError("generator: tenancy_id must be a tenancy OCID")


def _parse_mix(s, key):
    out = {}
    for part in s.split(","):
        if not part.strip():
            continue
        name, sep, w = part.partition("=")
        try:
            out[name.strip()] = float(w) if sep else 1.0
        except ValueError:
            raise FixtureError(f"generator: {key}: bad weight in {part!r}") from None
    return out

// The daemon's objects as the page sees them, kept from ObjectManager data and signals.
// cockpit.dbus(...).watch() delivers GetManagedObjects, InterfacesAdded/Removed and
// PropertiesChanged as "notify" payloads {path: {interface: {property: value} | null}}; apply()
// merges one, loadDescribe()/loadInstances() the snapshot's JSON. Pure: unit-tested under Node.
export const BUS_NAME = "org.stopstart.StopStart1";
export const ROOT = "/org/stopstart/StopStart1";
export const IFACE = {
    manager: BUS_NAME + ".Manager",
    compartment: BUS_NAME + ".Compartment",
    instance: BUS_NAME + ".Instance",
    job: BUS_NAME + ".Job",
    schedule: BUS_NAME + ".Schedule",
};

// D-Bus property name -> field of our plain objects
const FIELDS = {
    [IFACE.compartment]: {
        Id: "id", Name: "name", Description: "description", Path: "ocipath", Parent: "parent",
        Children: "children", InstanceCount: "instanceCount", LifecycleState: "lifecycle", Defaults: "defaults",
    },
    [IFACE.instance]: {
        Id: "id", DisplayName: "name", Compartment: "compartment", CompartmentId: "compartmentId", Region: "region",
        AvailabilityDomain: "ad", FaultDomain: "fd", Shape: "shape", LifecycleState: "state",
        StateObservedAt: "observedAt", FreeformTags: "tags", Config: "config", Schedules: "schedules",
        NextAction: "nextAction",
    },
    [IFACE.job]: {
        Id: "id", Kind: "kind", Target: "target", State: "state", Progress: "progress", Result: "result", Error: "error",
    },
    [IFACE.schedule]: {
        Id: "id", Name: "name", Action: "action", Calendars: "calendars", TimeZone: "timeZone", Targets: "targets",
        Enabled: "enabled", ValidFrom: "validFrom", ValidUntil: "validUntil", MisfireGraceUSec: "misfireGrace",
        Enforce: "enforce", ExceptionCalendars: "exceptionCalendars", MaxTargets: "maxTargets", Window: "window",
        NextElapse: "nextElapse", LastTrigger: "lastTrigger", TargetCount: "targetCount",
    },
};

const COLLECTION = {
    [IFACE.compartment]: "compartments",
    [IFACE.instance]: "instances",
    [IFACE.job]: "jobs",
    [IFACE.schedule]: "schedules",
};

// a{sv} from cockpit arrives as {key: {t: "s", v: value}}: keep the values only
export function unvariant(dict) {
    const out = {};
    for (const [k, v] of Object.entries(dict || {}))
        out[k] = v && typeof v === "object" && "v" in v && "t" in v ? v.v : v;
    return out;
}

function convert(iface, prop, value) {
    if ((prop === "Defaults" || prop === "Config") && value)
        return unvariant(value);
    if (prop === "NextAction" && Array.isArray(value))
        return { action: value[0], at: Number(value[1]), schedule: value[2] };
    if (typeof value === "number" || typeof value === "string" || typeof value === "boolean" || value === null)
        return value;
    return value;
}

export class Model {
    constructor() {
        this.manager = {};
        this.compartments = new Map();
        this.instances = new Map();
        this.jobs = new Map();
        this.schedules = new Map();
        this.generation = 0;        // bumped by every change: the page re-renders on it
        this.structureGeneration = 0; // objects added/removed, or tree-relevant fields changed
        this.schedulesGeneration = 0; // any schedule changed: what applies to instances may have
    }

    // payload: {path: {iface: props | null}}
    apply(payload) {
        let changed = false;
        for (const [path, ifaces] of Object.entries(payload)) {
            for (const [iface, props] of Object.entries(ifaces)) {
                if (iface === IFACE.manager) {
                    if (props)
                        Object.assign(this.manager, props);
                    changed = true;
                    continue;
                }
                const coll = COLLECTION[iface];
                if (!coll)
                    continue;
                const map = this[coll];
                if (coll === "schedules")
                    this.schedulesGeneration++;
                if (props === null) {
                    if (map.delete(path)) {
                        changed = true;
                        this.structureGeneration++;
                    }
                    continue;
                }
                let obj = map.get(path);
                if (!obj) {
                    obj = { path };
                    map.set(path, obj);
                    this.structureGeneration++;
                }
                const fields = FIELDS[iface];
                for (const [prop, value] of Object.entries(props)) {
                    const f = fields[prop];
                    if (!f)
                        continue;
                    obj[f] = convert(iface, prop, value);
                    if (coll === "compartments" || prop === "Compartment" || prop === "LifecycleState" ||
                        prop === "Config" || prop === "DisplayName")
                        this.structureGeneration++;
                }
                changed = true;
            }
        }
        if (changed)
            this.generation++;
        return changed;
    }

    // Describe()'s JSON (Manager.DescribeWith, DescribeInstances) straight into the model: the same
    // objects and merging as apply() with the properties, without a payload of 20,000 entries in
    // between (building that cost more than parsing the JSON). Compartments asked with
    // "subtree_states" keep those counts (subtreeStates) for the tree until the instances are in.
    loadDescribe(doc) {
        const cpath = compartmentPathCache();
        if ("state" in doc) {
            Object.assign(this.manager, {
                Version: doc.version, State: doc.state, StatusText: doc.status_text, Tenancy: doc.tenancy,
                Regions: doc.regions, LastRefresh: doc.last_refresh, Role: doc.role, Leader: doc.leader,
            });
        }
        for (const c of doc.compartments || []) {
            const path = cpath(c.id);
            let obj = this.compartments.get(path);
            if (!obj)
                this.compartments.set(path, obj = { path });
            obj.id = c.id;
            obj.name = c.name;
            obj.description = c.description;
            obj.ocipath = c.path;
            obj.parent = c.parent_id ? cpath(c.parent_id) : "/";
            obj.children = (c.children || []).map(cpath);
            obj.instanceCount = c.instance_count;
            obj.lifecycle = c.lifecycle_state;
            obj.defaults = c.defaults || {};
            if (c.subtree_states)
                obj.subtreeStates = c.subtree_states;
        }
        this.loadInstances(doc.instances || [], cpath);
        for (const j of doc.jobs || []) {
            const path = `${ROOT}/job/${j.id}`;
            let obj = this.jobs.get(path);
            if (!obj)
                this.jobs.set(path, obj = { path });
            Object.assign(obj, { id: j.id, kind: j.kind, target: j.target, state: j.state, progress: j.progress, result: j.result ?? "", error: j.error ?? "" });
        }
        this.structureGeneration++;
        this.generation++;
    }

    loadInstances(list, cpath = compartmentPathCache()) {
        const prefix = ROOT + "/instance";
        for (const i of list) {
            const path = pathEncode(prefix, i.id);
            let obj = this.instances.get(path);
            if (!obj)
                this.instances.set(path, obj = { path });
            obj.id = i.id;
            obj.name = i.display_name;
            obj.compartment = cpath(i.compartment_id);
            obj.compartmentId = i.compartment_id;
            obj.region = i.region;
            obj.ad = i.availability_domain;
            obj.fd = i.fault_domain;
            obj.shape = i.shape;
            obj.state = i.lifecycle_state;
            obj.observedAt = i.state_observed_at;
            obj.tags = i.freeform_tags || {};
            obj.config = i.config || {};
        }
        if (list.length) {
            this.structureGeneration++;
            this.generation++;
        }
    }

    jobForTarget(ocid) {
        // the newest job acting on this target (unfinished first)
        let best = null;
        for (const j of this.jobs.values()) {
            if (j.target !== ocid)
                continue;
            if (!best || (best.state === "done" && j.state !== "done") ||
                ((best.state === "done") === (j.state === "done") && j.id > best.id))
                best = j;
        }
        return best;
    }
}

// sd_bus_path_encode(): the daemon names objects by their OCID this way. OCIDs are ASCII: runs of
// letters and digits are copied as slices (20,000 instances are 40,000 encodings at first load).
const HEX = Array.from({ length: 256 }, (_v, b) => "_" + b.toString(16).padStart(2, "0"));

export function pathEncode(prefix, id) {
    if (!id)
        return prefix + "/_";
    let out = prefix + "/";
    let start = 0;
    for (let k = 0; k < id.length; k++) {
        const b = id.charCodeAt(k);
        if ((b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57 && k > 0))
            continue;
        if (b >= 0x80)
            return pathEncodeBytes(prefix, id);
        out += id.slice(start, k) + HEX[b];
        start = k + 1;
    }
    return out + id.slice(start);
}

function pathEncodeBytes(prefix, id) {
    let out = "";
    for (const b of new TextEncoder().encode(id)) {
        const alpha = (b >= 65 && b <= 90) || (b >= 97 && b <= 122);
        const digit = b >= 48 && b <= 57;
        out += alpha || (digit && out.length) ? String.fromCharCode(b) : HEX[b];
    }
    return prefix + "/" + out;
}

function compartmentPathCache() {
    const cache = new Map();
    return id => {
        let p = cache.get(id);
        if (p === undefined)
            cache.set(id, p = pathEncode(ROOT + "/compartment", id));
        return p;
    };
}

// signal arguments carry variants: {Name: {t, v}} -> {Name: v}
export function signalProps(props) {
    const out = {};
    for (const [k, v] of Object.entries(props || {}))
        out[k] = v && typeof v === "object" && "v" in v && "t" in v ? v.v : v;
    return out;
}

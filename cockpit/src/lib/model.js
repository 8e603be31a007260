// The daemon's objects as the page sees them, kept from ObjectManager data and signals.
// cockpit.dbus(...).watch() delivers GetManagedObjects, InterfacesAdded/Removed and
// PropertiesChanged as "notify" payloads {path: {interface: {property: value} | null}}; apply()
// merges one. Pure: unit-tested under Node.
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

// sd_bus_path_encode(): the daemon names objects by their OCID this way
export function pathEncode(prefix, id) {
    if (!id)
        return prefix + "/_";
    let out = "";
    for (const b of new TextEncoder().encode(id)) {
        const alpha = (b >= 65 && b <= 90) || (b >= 97 && b <= 122);
        const digit = b >= 48 && b <= 57;
        out += alpha || (digit && out.length) ? String.fromCharCode(b) : "_" + b.toString(16).padStart(2, "0");
    }
    return prefix + "/" + out;
}

// Manager.Describe() JSON -> the payload shape apply() takes. One string through the bridge is
// far cheaper at 20,000 instances than GetManagedObjects' dictionaries of variants.
export function describeToPayload(doc) {
    const cpath = id => pathEncode(ROOT + "/compartment", id);
    const out = {
        [ROOT]: {
            [IFACE.manager]: {
                Version: doc.version, State: doc.state, StatusText: doc.status_text, Tenancy: doc.tenancy,
                Regions: doc.regions, LastRefresh: doc.last_refresh,
            },
        },
    };
    for (const c of doc.compartments || [])
        out[cpath(c.id)] = {
            [IFACE.compartment]: {
                Id: c.id, Name: c.name, Description: c.description, Path: c.path,
                Parent: c.parent_id ? cpath(c.parent_id) : "/", Children: (c.children || []).map(cpath),
                InstanceCount: c.instance_count, LifecycleState: c.lifecycle_state, Defaults: c.defaults || {},
            },
        };
    for (const i of doc.instances || [])
        out[pathEncode(ROOT + "/instance", i.id)] = {
            [IFACE.instance]: {
                Id: i.id, DisplayName: i.display_name, Compartment: cpath(i.compartment_id), CompartmentId: i.compartment_id,
                Region: i.region, AvailabilityDomain: i.availability_domain, FaultDomain: i.fault_domain, Shape: i.shape,
                LifecycleState: i.lifecycle_state, StateObservedAt: i.state_observed_at, FreeformTags: i.freeform_tags || {},
                Config: i.config || {},
            },
        };
    for (const j of doc.jobs || [])
        out[`${ROOT}/job/${j.id}`] = {
            [IFACE.job]: { Id: j.id, Kind: j.kind, Target: j.target, State: j.state, Progress: j.progress, Result: j.result ?? "", Error: j.error ?? "" },
        };
    return out;
}

// signal arguments carry variants: {Name: {t, v}} -> {Name: v}
export function signalProps(props) {
    const out = {};
    for (const [k, v] of Object.entries(props || {}))
        out[k] = v && typeof v === "object" && "v" in v && "t" in v ? v.v : v;
    return out;
}

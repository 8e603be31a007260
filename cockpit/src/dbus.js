// The page's only connection: cockpit.dbus() to stopstartd on the system bus. The model is kept
// current from ObjectManager's InterfacesAdded/Removed and PropertiesChanged signals: no polling.
import { BUS_NAME, ROOT, IFACE, pathEncode, signalProps } from "./lib/model.js";
import { _, format } from "./lib/i18n.js";

const cockpit = window.cockpit;
export const client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: false });

export function call(path, iface, method, args = []) {
    return client.call(path, iface, method, args);
}

export function managerCall(method, args = []) {
    return call(ROOT, IFACE.manager, method, args);
}

// Keeps the model current from ObjectManager's InterfacesAdded/Removed and PropertiesChanged
// below our root (onChange(payload) for each), after loading a snapshot in stages so that the
// first paint waits only for what it shows:
//   start(): DescribeWith without instances (the compartments, with the daemon's per-subtree
//            counts of instance states for the tree), the schedules, then the instances of the
//            top compartments (the one selected first);
//   rest():  every instance, PAGE at a time, after the first paint;
//   ensure(): the instances of a compartment picked before rest() is done.
// Effective configuration is left out of every answer: the page computes it from the chain of
// compartment defaults it has (lib/config.js), as the daemon does. Replies and signals arrive in
// order on the same channel, so a change signalled before a snapshot reply is in it, and every
// later one is applied after it.
const PAGE = 5000;
const TOO_LARGE = "org.stopstart.StopStart1.Error.TooLarge";

export class Loader {
    constructor(model, onChange, onLoaded) {
        this.model = model;
        this.onChange = onChange;   // a signal's payload
        this.onLoaded = onLoaded;   // instances came in (the model changed without apply())
        this.complete = false;
        this.loaded = new Set();    // compartment paths whose own instances are in ("r:" + path: subtree)
        this.pending = new Map();   // the same keys: loads under way
        this.restPromise = null;
        // where the first load's time goes (the ui-scale test prints it)
        this.t = window.__stopstartTimings = { start: performance.now(), bytes: 0, calls: 0, parse: 0, model: 0, restBytes: 0, restPages: 0 };
    }

    // one DescribeWith/DescribeInstances answer: parsed and loaded into the model, timed
    json(method, args, load) {
        const t = this.t;
        const sent = performance.now();
        return managerCall(method, args).then(([json]) => {
            const t0 = performance.now();
            t.calls++;
            t.wait = (t.wait || 0) + (t0 - sent);
            t.bytes += json.length;
            const doc = JSON.parse(json);
            const t1 = performance.now();
            load(doc);
            t.parse += t1 - t0;
            t.model += performance.now() - t1;
            return doc;
        });
    }

    start() {
        client.subscribe({ path_namespace: ROOT, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged" },
                         (path, iface, signal, [ifc, changed]) => this.onChange({ [path]: { [ifc]: signalProps(changed) } }));
        client.subscribe({ path: ROOT, interface: "org.freedesktop.DBus.ObjectManager" }, (path, iface, signal, args) => {
            if (signal === "InterfacesAdded") {
                const ifaces = {};
                for (const [ifc, props] of Object.entries(args[1]))
                    ifaces[ifc] = signalProps(props);
                this.onChange({ [args[0]]: ifaces });
            } else if (signal === "InterfacesRemoved") {
                this.onChange({ [args[0]]: Object.fromEntries(args[1].map(ifc => [ifc, null])) });
            }
        });
        const t = this.t;
        const schedules = loadSchedules(this.onChange).then(() => { t.schedules = performance.now() });
        const opts = { instances: cockpit.variant("b", false), effective: cockpit.variant("b", false), subtree_states: cockpit.variant("b", true) };
        const first = this.json("DescribeWith", [opts], doc => this.model.loadDescribe(doc))
                .then(doc => {
                    t.compartments = performance.now();
                    const ids = new Set(doc.compartments.map(c => c.id));
                    const tops = doc.compartments.filter(c => !c.parent_id || !ids.has(c.parent_id));
                    return Promise.all(tops.map(c => this.ensure(pathEncode(ROOT + "/compartment", c.id), false)));
                })
                .then(() => { t.first = performance.now() });
        return Promise.all([first, schedules]).then(() => { t.ready = performance.now() });
    }

    // Pages of DescribeInstances with the filters given; a page refused as TooLarge (very long
    // names) is asked again at half the size.
    pages(filters, limit = PAGE, after = null, onPage = () => {}) {
        const f = { ...filters, effective: cockpit.variant("b", false), limit: cockpit.variant("u", limit) };
        if (after)
            f.after = cockpit.variant("s", after);
        return this.json("DescribeInstances", [f], doc => { this.model.loadInstances(doc.instances); onPage(doc) })
                .then(doc => {
                    this.onLoaded();
                    return doc.next ? this.pages(filters, limit, doc.next, onPage) : null;
                }, ex => {
                    if (ex.name === TOO_LARGE && limit > 1)
                        return this.pages(filters, Math.ceil(limit / 2), after, onPage);
                    throw ex;
                });
    }

    ready(path, recursive) {
        return this.complete || this.loaded.has("r:" + path) || (!recursive && this.loaded.has(path));
    }

    // Resolves once the instances of the compartment (recursive: of its subtree) are in. A subtree
    // larger than a page waits for rest(), which loads it anyway.
    ensure(path, recursive) {
        const c = this.model.compartments.get(path);
        if (this.ready(path, recursive) || !c)
            return Promise.resolve();
        if (recursive && (c.instanceCount || 0) > PAGE)
            return this.rest();
        const key = recursive ? "r:" + path : path;
        if (!this.pending.has(key)) {
            const filters = { compartment: cockpit.variant("s", c.id), recursive: cockpit.variant("b", recursive) };
            this.pending.set(key, this.pages(filters).then(() => { this.loaded.add(key); this.onLoaded() })
                    .finally(() => this.pending.delete(key)));
        }
        return this.pending.get(key);
    }

    rest() {
        if (!this.restPromise) {
            const t = this.t;
            t.restStart = performance.now();
            const before = t.bytes;
            this.restPromise = this.pages({}, PAGE, null, () => t.restPages++).then(() => {
                t.restBytes = t.bytes - before;
                t.rest = performance.now();
                this.complete = true;
                this.onLoaded();
            });
        }
        return this.restPromise;
    }
}

export function getAll(path, iface) {
    return call(path, "org.freedesktop.DBus.Properties", "GetAll", [iface]).then(([props]) => signalProps(props));
}

// The schedules are few: ListSchedules() for their objects, GetAll() for each; later changes come
// as signals. A daemon without schedules support answers UnknownMethod: the page works without.
export function loadSchedules(onChange) {
    return managerCall("ListSchedules")
            .then(([list]) => Promise.all(list.map(([path]) => getAll(path, IFACE.schedule)
                    .then(props => onChange({ [path]: { [IFACE.schedule]: props } }))
                    .catch(() => {}))))
            .catch(ex => { if (!/UnknownMethod/.test(ex.name || "")) throw ex });
}

// Instance.Schedules and NextAction are not in Describe(): the visible rows ask for them (a few
// dozen GetAll at a time), PropertiesChanged keeps them current afterwards.
export function loadInstanceExtras(paths, onChange) {
    return Promise.all(paths.map(path => call(path, "org.freedesktop.DBus.Properties", "Get", [IFACE.instance, "Schedules"])
            .then(([sch]) => call(path, "org.freedesktop.DBus.Properties", "Get", [IFACE.instance, "NextAction"])
                    .then(([na]) => onChange({ [path]: { [IFACE.instance]: { Schedules: sch.v, NextAction: na.v } } })))
            .catch(() => onChange({ [path]: { [IFACE.instance]: { Schedules: [], NextAction: null } } }))));
}

// The next instants of calendar specs not saved yet, from systemd's own calendar engine (what the
// daemon's timers and Preview() use): `systemd-analyze calendar` in UTC, parsed by the caller.
export function analyzeCalendars(argv) {
    return cockpit.spawn(argv, { environ: ["TZ=UTC", "LC_ALL=C.UTF-8"], err: "out" });
}

// What the user may do, asked up front so that controls are disabled with the reason instead of
// failing after a click. The daemon authorizes with polkit; pkcheck asks polkit the same question
// for this session's process (no interaction): 0 yes, 1 no, 2 only after authentication.
export const ACTIONS = {
    configure: "org.stopstart.StopStart1.configure",
    operate: "org.stopstart.StopStart1.operate",
    "manage-schedules": "org.stopstart.StopStart1.manage-schedules",
};

export function checkRight(verb) {
    const id = ACTIONS[verb];
    return cockpit.script('exec pkcheck --action-id "$1" --process $$', [id], { err: "message" })
            .then(() => ({ allowed: true, reason: "" }))
            .catch(ex => {
                const st = ex.exit_status;
                let reason;
                if (st === 1 || st === 3)
                    reason = _("polkit does not allow you this.");
                else if (st === 2)
                    reason = _("polkit asks for an administrator's authentication, which this page cannot give.");
                else
                    reason = format(_("Could not ask polkit: $0"), ex.message || ex.problem || String(ex));
                return { allowed: false, reason, action: id };
            });
}

// The page's only connection: cockpit.dbus() to stopstartd on the system bus. The model is kept
// current from ObjectManager's InterfacesAdded/Removed and PropertiesChanged signals: no polling.
import { BUS_NAME, ROOT, IFACE, describeToPayload, signalProps } from "./lib/model.js";
import { _, format } from "./lib/i18n.js";

const cockpit = window.cockpit;
export const client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: false });

export function call(path, iface, method, args = []) {
    return client.call(path, iface, method, args);
}

export function managerCall(method, args = []) {
    return call(ROOT, IFACE.manager, method, args);
}

// Calls onChange(payload) for every change and once for the initial state; resolves once that is
// in. Signals first (InterfacesAdded/Removed, PropertiesChanged below our root), then one
// Describe() for the snapshot: replies and signals arrive in order on the same channel, so a
// change applied before the snapshot is in it, and every later one comes as a signal.
export function watchAll(onChange) {
    client.subscribe({ path_namespace: ROOT, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged" },
                     (path, iface, signal, [ifc, changed]) => onChange({ [path]: { [ifc]: signalProps(changed) } }));
    client.subscribe({ path: ROOT, interface: "org.freedesktop.DBus.ObjectManager" }, (path, iface, signal, args) => {
        if (signal === "InterfacesAdded") {
            const ifaces = {};
            for (const [ifc, props] of Object.entries(args[1]))
                ifaces[ifc] = signalProps(props);
            onChange({ [args[0]]: ifaces });
        } else if (signal === "InterfacesRemoved") {
            onChange({ [args[0]]: Object.fromEntries(args[1].map(ifc => [ifc, null])) });
        }
    });
    // where the first load's time goes (the ui-scale test prints it)
    const t = window.__stopstartTimings = { start: performance.now(), bytes: 0 };
    return describe(t).then(doc => {
        t.parsed = performance.now();
        const payload = describeToPayload(doc);
        t.converted = performance.now();
        onChange(payload);
        t.applied = performance.now();
    })
            .then(() => loadSchedules(onChange))
            .then(() => { t.schedules = performance.now() });
}

const TOO_LARGE = "org.stopstart.StopStart1.Error.TooLarge";
const PAGE = 10000;

// Describe()'s document. A tenancy too large for one answer (16 MiB) comes in pages: the state
// without instances, then the instances 10,000 at a time (dbus/README.md, "Answer sizes").
export function describe(t = {}) {
    const parse = json => {
        t.reply = performance.now();
        t.bytes = (t.bytes || 0) + json.length;
        return JSON.parse(json);
    };
    return managerCall("Describe")
            .then(([json]) => parse(json))
            .catch(ex => {
                if (ex.name !== TOO_LARGE)
                    throw ex;
                return managerCall("DescribeWith", [{ instances: cockpit.variant("b", false) }])
                        .then(([json]) => {
                            const doc = parse(json);
                            doc.instances = [];
                            const next = after => {
                                const filters = { limit: cockpit.variant("u", PAGE) };
                                if (after)
                                    filters.after = cockpit.variant("s", after);
                                return managerCall("DescribeInstances", [filters]).then(([page]) => {
                                    const p = parse(page);
                                    doc.instances.push(...p.instances);
                                    return p.next ? next(p.next) : doc;
                                });
                            };
                            return next(null);
                        });
            });
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

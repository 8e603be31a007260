// The page's only connection: cockpit.dbus() to stopstartd on the system bus. watch() keeps the
// model current from GetManagedObjects, InterfacesAdded/Removed and PropertiesChanged: no polling.
import { BUS_NAME, ROOT, IFACE } from "./lib/model.js";
import { _, format } from "./lib/i18n.js";

const cockpit = window.cockpit;
export const client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: false });

export function call(path, iface, method, args = []) {
    return client.call(path, iface, method, args);
}

export function managerCall(method, args = []) {
    return call(ROOT, IFACE.manager, method, args);
}

// Calls onChange(payload) for the initial objects and every change; resolves once the initial
// state is in.
export function watchAll(onChange) {
    // GetManagedObjects carries only a few properties of each compartment and instance (its size
    // at 50,000 instances, dbus/README.md "Answer sizes"): the rest of the objects it lists comes
    // from GetAll. Objects announced later (InterfacesAdded) arrive whole.
    let initial = true;
    const incomplete = new Map(); // path -> interface
    client.addEventListener("notify", (ev, payload) => {
        if (initial) {
            for (const [path, ifaces] of Object.entries(payload)) {
                for (const [iface, props] of Object.entries(ifaces)) {
                    if (props && ((iface === IFACE.instance && !("DisplayName" in props)) ||
                                  (iface === IFACE.compartment && !("Id" in props))))
                        incomplete.set(path, iface);
                }
            }
        }
        onChange(payload);
    });
    // GetManagedObjects lists the objects below the root, not the root's own Manager
    return Promise.all([client.watch({ path: ROOT, interface: IFACE.manager }), client.watch({ path_namespace: ROOT })])
            .then(() => {
                initial = false;
                return Promise.all([...incomplete].map(([path, iface]) =>
                    call(path, "org.freedesktop.DBus.Properties", "GetAll", [iface])
                            .then(([props]) => {
                                const plain = {};
                                for (const [name, variant] of Object.entries(props))
                                    plain[name] = variant.v;
                                onChange({ [path]: { [iface]: plain } });
                            })
                            .catch(() => {}))); // gone meanwhile: InterfacesRemoved follows
            });
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

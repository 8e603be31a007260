// Filtering and sorting of the instances table, and the plan shown before a bulk action.
// Pure: unit-tested under Node.
import { _, format } from "./i18n.js";
import { formatDuration } from "./config.js";

// filter: {text, state ("" | "RUNNING" | "STOPPED" | "other"), managed ("" | "yes" | "no")}
// managedOf(instance) -> bool (the effective value)
export function filterInstances(list, filter, managedOf) {
    const text = (filter.text || "").trim().toLowerCase();
    const out = [];
    for (const i of list) {
        if (filter.state) {
            if (filter.state === "other") {
                if (i.state === "RUNNING" || i.state === "STOPPED")
                    continue;
            } else if (i.state !== filter.state) {
                continue;
            }
        }
        if (filter.managed && managedOf && (managedOf(i) ? "yes" : "no") !== filter.managed)
            continue;
        if (text && !((i.name || "").toLowerCase().includes(text) || (i.id || "").toLowerCase().includes(text) ||
                      (i.shape || "").toLowerCase().includes(text) || (i.region || "").toLowerCase().includes(text)))
            continue;
        out.push(i);
    }
    return out;
}

const COLUMNS = {
    name: i => (i.name || "").toLowerCase(),
    state: i => i.state || "",
    shape: i => i.shape || "",
    region: i => i.region || "",
    observed: i => Number(i.observedAt || 0),
    next: i => (i.nextAction && i.nextAction.at ? Number(i.nextAction.at) : Number.MAX_SAFE_INTEGER),
};

export const SORTABLE = Object.keys(COLUMNS);

// Stable sort by column, ties by name then OCID
export function sortInstances(list, column, direction = "asc", extra = {}) {
    const key = COLUMNS[column] || extra[column] || COLUMNS.name;
    const dir = direction === "desc" ? -1 : 1;
    const keyed = list.map(i => [key(i), (i.name || "").toLowerCase(), i.id || "", i]);
    keyed.sort((a, b) => {
        if (a[0] < b[0]) return -dir;
        if (a[0] > b[0]) return dir;
        if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
        return a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0;
    });
    return keyed.map(k => k[3]);
}

// What a bulk start/stop/reboot will do to each instance, from what the page knows now (the
// daemon re-reads each instance from OCI before acting, so this is a forecast).
// effective(instance) -> {stop_mode, soft_stop_timeout}
export function bulkPlan(action, instances, effective) {
    return instances.map(i => {
        const eff = effective(i);
        const mode = eff.stop_mode === "hard" ? "hard" : "soft";
        let what;
        let skip = false;
        if (action === "start") {
            skip = i.state === "RUNNING";
            what = skip ? _("nothing: already running") : _("start (START)");
        } else if (action === "stop") {
            skip = i.state === "STOPPED";
            what = skip ? _("nothing: already stopped")
                : mode === "hard" ? _("hard stop (STOP)")
                    : format(_("soft stop (SOFTSTOP, then STOP after $0)"), formatDuration(eff.soft_stop_timeout));
        } else {
            skip = i.state === "STOPPED";
            what = skip ? _("nothing: it is stopped") : mode === "hard" ? _("hard reboot (RESET)") : _("soft reboot (SOFTRESET)");
        }
        if (i.state === "TERMINATED") {
            skip = true;
            what = _("nothing: terminated");
        }
        return { instance: i, mode, what, skip };
    });
}

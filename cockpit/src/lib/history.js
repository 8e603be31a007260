// History (Manager.History) filters and rows. Pure: unit-tested under Node.
import { _ } from "./i18n.js";

// form: {instance, compartment, actor, since, until}: since/until as "YYYY-MM-DDTHH:MM" local
// (the datetime-local input) or "". -> {filters: a{sv} for History, errors}
export function historyFilters(form, limit = 1000) {
    const filters = { limit: { t: "u", v: limit } };
    const errors = {};
    if (form.instance && form.instance.trim())
        filters.instance = { t: "s", v: form.instance.trim() };
    if (form.compartment)
        filters.compartment = { t: "s", v: form.compartment };
    for (const k of ["since", "until"]) {
        if (!form[k])
            continue;
        const ms = Date.parse(form[k]);
        if (Number.isNaN(ms))
            errors[k] = _("Not a valid time.");
        else
            filters[k] = { t: "t", v: ms * 1000 };
    }
    if (filters.since && filters.until && filters.since.v > filters.until.v)
        errors.until = _("The end is before the start.");
    return { filters, errors };
}

// a(ttsussss) rows -> objects; the actor filter applies here (History has no actor filter)
export function historyRows(reply, actor) {
    const a = (actor || "").trim().toLowerCase();
    const rows = [];
    for (const [id, time, who, uid, operation, kind, object, details] of reply) {
        if (a && !String(who).toLowerCase().includes(a))
            continue;
        let parsed = null;
        try {
            parsed = JSON.parse(details);
        } catch (e) {
            parsed = null;
        }
        rows.push({ id: Number(id), time: Number(time), actor: who, uid, operation, kind, object, details: parsed, raw: details });
    }
    rows.reverse(); // newest first on the page
    return rows;
}

export function summarizeDetails(d) {
    if (!d || typeof d !== "object")
        return "";
    const parts = [];
    // times (µs since the epoch) as ISO dates, the rest as they are
    const show = (k, v) => (typeof v === "number" && /_until$|_at$|^since$|^until$/.test(k) && v > 0
        ? new Date(v / 1000).toISOString().replace(/\.\d+Z$/, "Z")
        : typeof v === "object" ? JSON.stringify(v) : String(v));
    const oldv = d.old || {};
    const newv = d.new || {};
    const keys = new Set([...Object.keys(oldv), ...Object.keys(newv)]);
    for (const k of keys) {
        if (newv[k] === "" && !(k in oldv))
            continue;
        if (k in oldv && k in newv)
            parts.push(`${k}: ${show(k, oldv[k])} → ${show(k, newv[k])}`);
        else if (k in newv)
            parts.push(`${k} = ${show(k, newv[k])}`);
        else
            parts.push(`${k}: ${show(k, oldv[k])} → ${_("inherit")}`);
    }
    return parts.join(", ");
}

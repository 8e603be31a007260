// Schedules as the page handles them: the create/edit form <-> CreateSchedule/Update arguments,
// systemd-analyze's calendar previews, occurrences and simulations as rows. Pure: unit-tested
// under Node.
import { _, format } from "./i18n.js";

export const ACTIONS = ["start", "stop", "softstop", "reboot", "softreboot"];
export const DEFAULT_GRACE_MIN = 15;

const lines = text => (text || "").split("\n").map(s => s.trim()).filter(Boolean);

export function formFromSchedule(s) {
    if (!s)
        return { name: "", action: "start", calendars: "", timeZone: "", targets: [], exceptions: [],
                 grace: String(DEFAULT_GRACE_MIN), enforce: false, enabled: true };
    return {
        name: s.name || "",
        action: s.action || "start",
        calendars: (s.calendars || []).join("\n"),
        timeZone: s.timeZone || "",
        targets: [...(s.targets || [])],
        exceptions: [...(s.exceptionCalendars || [])],
        grace: String(Math.round(Number(s.misfireGrace || 0) / 60e6)),
        enforce: !!s.enforce,
        enabled: s.enabled !== false,
    };
}

const v = (t, value) => ({ t, v: value });
const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// -> { errors: {field: text}, create: [name, action, calendars, zone, targets, options] | null,
//      changes: a{sv} for Update (only what differs from `old`) }
export function scheduleArgs(form, old = null) {
    const errors = {};
    const name = form.name.trim();
    const calendars = lines(form.calendars);
    const targets = form.targets.map(t => t.trim()).filter(Boolean);
    const zone = form.timeZone.trim();
    if (!name)
        errors.name = _("A schedule needs a name.");
    else if (/\s/.test(name))
        errors.name = _("The name cannot contain spaces.");
    if (!ACTIONS.includes(form.action))
        errors.action = _("Pick an action.");
    if (!calendars.length)
        errors.calendars = _("Give at least one calendar spec, such as Mon..Fri 07:00.");
    if (!targets.length)
        errors.targets = _("Pick at least one target.");
    const grace = String(form.grace).trim();
    if (!/^\d+$/.test(grace))
        errors.grace = _("The grace period is a whole number of minutes.");
    const graceUsec = Number(grace) * 60e6;
    if (Object.keys(errors).length)
        return { errors, create: null, changes: null };

    const opts = {
        misfire_grace_usec: v("t", graceUsec),
        enforce: v("b", !!form.enforce),
        exception_calendars: v("as", [...form.exceptions]),
    };
    if (!old)
        return { errors, create: [name, form.action, calendars, zone, targets, { ...opts, enabled: v("b", !!form.enabled) }], changes: null };

    const changes = {};
    if (name !== old.name) changes.name = v("s", name);
    if (form.action !== old.action) changes.action = v("s", form.action);
    if (!sameList(calendars, old.calendars || [])) changes.calendars = v("as", calendars);
    if (zone !== (old.timeZone || "")) changes.time_zone = v("s", zone);
    if (!sameList(targets, old.targets || [])) changes.targets = v("as", targets);
    if (graceUsec !== Number(old.misfireGrace || 0)) changes.misfire_grace_usec = opts.misfire_grace_usec;
    if (!!form.enforce !== !!old.enforce) changes.enforce = opts.enforce;
    if (!sameList(form.exceptions, old.exceptionCalendars || [])) changes.exception_calendars = opts.exception_calendars;
    return { errors, create: null, changes };
}

// The arguments of `systemd-analyze calendar`: each spec with the zone appended, as systemd reads
// a spec in a zone (the daemon's timers do the same).
export function analyzeArgs(calendarsText, zone, iterations) {
    const specs = lines(calendarsText).map(s => (zone ? `${s} ${zone}` : s));
    return ["systemd-analyze", "calendar", `--iterations=${iterations}`, ...specs];
}

// `systemd-analyze calendar` output run with TZ=UTC -> sorted instants (µs), at most `count`
const ELAPSE = /^\s*(?:Next elapse|Iter\. #\d+):\s+\w+ (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) UTC\s*$/;
export function parseAnalyze(text, count) {
    const out = [];
    for (const line of (text || "").split("\n")) {
        const m = ELAPSE.exec(line);
        if (m)
            out.push(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) * 1000);
    }
    return [...new Set(out)].sort((a, b) => a - b).slice(0, count);
}

// "Failed to parse calendar specification 'x': Invalid argument" -> one line for the form
export function analyzeError(text) {
    const line = (text || "").split("\n").find(l => /Failed to parse|Invalid/i.test(l)) || (text || "").trim().split("\n")[0] || "";
    return line.trim();
}

// Preview() a(tssa(sss)) -> rows
export function previewRows(reply) {
    return (reply || []).map(([at, decision, reason, per]) => ({
        at: Number(at), run: decision === "run", decision, reason,
        act: (per || []).filter(p => p[1] === "act").length,
        skip: (per || []).filter(p => p[1] !== "act").length,
    }));
}

// ListOccurrences() a(tstssa(ssss)) -> rows, newest first
export function occurrenceRows(reply) {
    return (reply || []).map(([id, schedule, at, state, reason, actions]) => ({
        id: Number(id), schedule, at: Number(at), state, reason,
        actions: (actions || []).map(([instance, action, st, why]) => ({ instance, action, state: st, reason: why })),
    })).sort((a, b) => b.at - a.at || b.id - a.id);
}

export function actionSummary(actions) {
    const by = {};
    for (const a of actions)
        by[a.state] = (by[a.state] || 0) + 1;
    return Object.entries(by).sort().map(([st, n]) => `${n} ${st}`).join(", ");
}

// Simulate() (a(tsa(ss)) a(sdd)) -> chart data: per instance, the hours the schedule implies and
// the always-on hours of the range, the largest first; totals.
export function simulationChart(firings, instances, nameOf = id => id) {
    const bars = (instances || []).map(([id, running, always]) => ({ id, name: nameOf(id), running: Number(running), always: Number(always) }))
            .sort((a, b) => b.running - a.running || b.always - a.always || a.name.localeCompare(b.name));
    const total = bars.reduce((t, b) => ({ running: t.running + b.running, always: t.always + b.always }), { running: 0, always: 0 });
    const saved = total.always > 0 ? Math.round(100 * (1 - total.running / total.always)) : 0;
    return { bars, total, saved, firings: (firings || []).length };
}

// Date inputs (YYYY-MM-DD, the browser's zone) -> [from, to) in µs; `to` is the end of its day
export function simulationRange(fromText, toText) {
    const parse = t => {
        const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(t || "");
        return m ? new Date(+m[1], +m[2] - 1, +m[3]).getTime() : NaN;
    };
    const from = parse(fromText);
    const to = parse(toText);
    if (Number.isNaN(from) || Number.isNaN(to))
        return { error: _("Give both dates.") };
    if (to < from)
        return { error: _("The range ends before it starts.") };
    const end = new Date(to);
    end.setDate(end.getDate() + 1);
    if (end.getTime() - from > 366 * 86400e3)
        return { error: _("Simulate at most one year.") };
    return { from: from * 1000, to: end.getTime() * 1000 };
}

// A target in the daemon's syntax, readable: compartment:OCID -> "compartment Name (subtree)"
export function targetLabel(t, compartmentName, instanceName) {
    let m;
    if ((m = /^compartment:(.*)$/.exec(t)))
        return format(_("compartment $0 and below"), compartmentName(m[1]));
    if ((m = /^compartment-only:(.*)$/.exec(t)))
        return format(_("compartment $0 only"), compartmentName(m[1]));
    if ((m = /^(defined-)?tag:(.*)$/.exec(t)))
        return format(_("tag $0"), m[2]);
    return instanceName(t);
}

// Configuration keys (dbus/README.md "Configuration keys"): effective values computed like the
// daemon does (own value, then the nearest compartment up the tree, then the built-in default;
// the override pair only while live), durations, and the config form's validation, which
// mirrors the daemon's limits so that mistakes show before anything is sent. Pure.
import { _, format } from "./i18n.js";

export const USEC_PER_SEC = 1000000;
const WEEK = 7 * 24 * 3600 * USEC_PER_SEC;
const TEN_YEARS = 10 * 366 * 24 * 3600 * USEC_PER_SEC;
export const NOTE_MAX = 4096;

export const KEYS = {
    managed: { type: "b", def: false },
    stop_mode: { type: "s", def: "soft" },
    soft_stop_timeout: { type: "t", def: 5 * 60 * USEC_PER_SEC },
    priority: { type: "i", def: 0 },
    note: { type: "s", def: "" },
    override_state: { type: "s", def: "" },
    override_until: { type: "t", def: 0 },
};
export const SETTING_KEYS = ["managed", "stop_mode", "soft_stop_timeout", "priority", "note"];

export function nowUsec() {
    return Date.now() * 1000;
}

function overrideLive(cfg, now) {
    return cfg && cfg.override_state && Number(cfg.override_until) > now;
}

// {key: {value, source}}; source "instance", "compartment:<OCID>" or "default" as in Explain().
// chain: the config dicts from the object itself up to the root, as [{config, source}].
export function effectiveFromChain(chain, now = nowUsec()) {
    const out = {};
    for (const key of SETTING_KEYS) {
        out[key] = { value: KEYS[key].def, source: "default" };
        for (const link of chain) {
            if (link.config && key in link.config) {
                out[key] = { value: link.config[key], source: link.source };
                break;
            }
        }
    }
    out.override_state = { value: "", source: "default" };
    out.override_until = { value: 0, source: "default" };
    for (const link of chain) {
        if (overrideLive(link.config, now)) {
            out.override_state = { value: link.config.override_state, source: link.source };
            out.override_until = { value: Number(link.config.override_until), source: link.source };
            break;
        }
    }
    return out;
}

// chain of an instance (own config first) or a compartment (own defaults first)
export function configChain(compartments, obj, isInstance) {
    const chain = [];
    if (isInstance)
        chain.push({ config: obj.config, source: "instance" });
    let c = compartments.get(isInstance ? obj.compartment : obj.path);
    const seen = new Set();
    while (c && !seen.has(c.path)) {
        seen.add(c.path);
        chain.push({ config: c.defaults, source: "compartment:" + c.id });
        c = compartments.get(c.parent);
    }
    return chain;
}

// The chain a compartment's subtree inherits from above it (its own defaults left out): what the
// defaults editor shows next to each key.
export function inheritedChain(compartments, comp) {
    return configChain(compartments, comp, false).slice(1);
}

// --- durations: systemd's syntax ("5min", "1h 30min", "90s", "2.5s"; a bare number = seconds)
const UNITS = [
    [["us", "usec", "µs"], 1], [["ms", "msec"], 1000],
    [["s", "sec", "second", "seconds"], USEC_PER_SEC], [["m", "min", "minute", "minutes"], 60 * USEC_PER_SEC],
    [["h", "hr", "hour", "hours"], 3600 * USEC_PER_SEC], [["d", "day", "days"], 86400 * USEC_PER_SEC],
    [["w", "week", "weeks"], 7 * 86400 * USEC_PER_SEC],
];
const UNIT = new Map(UNITS.flatMap(([names, mult]) => names.map(n => [n, mult])));

// µs, or null when the text is not a duration
export function parseDuration(text) {
    const s = String(text ?? "").trim();
    if (!s)
        return null;
    if (/^\d+(\.\d+)?$/.test(s))
        return Math.round(Number(s) * USEC_PER_SEC);
    let total = 0;
    let rest = s;
    const re = /^\s*(\d+(?:\.\d+)?)\s*([a-zµ]+)/i;
    while (rest.trim()) {
        const m = rest.match(re);
        if (!m || !UNIT.has(m[2].toLowerCase()))
            return null;
        total += Number(m[1]) * UNIT.get(m[2].toLowerCase());
        rest = rest.slice(m[0].length);
    }
    return Math.round(total);
}

export function formatDuration(usec) {
    let u = Number(usec);
    if (!u)
        return "0";
    const parts = [];
    for (const [name, mult] of [["w", 7 * 86400e6], ["d", 86400e6], ["h", 3600e6], ["min", 60e6], ["s", 1e6], ["ms", 1000], ["us", 1]]) {
        if (u >= mult) {
            const n = Math.floor(u / mult);
            parts.push(n + name);
            u -= n * mult;
        }
    }
    return parts.join(" ");
}

// --- the form: one entry per key, {set: bool, value}; the override as {set, state, until (µs)}
export function formFromConfig(own) {
    const f = {};
    for (const key of SETTING_KEYS) {
        const set = own && key in own;
        const v = set ? own[key] : KEYS[key].def;
        f[key] = { set, value: key === "soft_stop_timeout" ? formatDuration(v) : v };
    }
    const live = own && own.override_state;
    f.override = { set: !!live, state: live ? own.override_state : "stopped", until: live ? Number(own.override_until) : 0 };
    return f;
}

function variant(type, v) {
    return { t: type, v };
}

function utf8Length(s) {
    return new TextEncoder().encode(s).length;
}

// -> {errors: {key: message}, changes: a{sv} for SetConfig/SetDefaults (only what differs from own)}
export function validateForm(form, own, now = nowUsec()) {
    const errors = {};
    const changes = {};
    own = own || {};
    const want = {};
    for (const key of SETTING_KEYS) {
        const e = form[key];
        if (!e || !e.set)
            continue;
        let v = e.value;
        if (key === "managed") {
            v = !!v;
        } else if (key === "stop_mode") {
            if (v !== "soft" && v !== "hard")
                errors[key] = _("Choose soft or hard.");
        } else if (key === "soft_stop_timeout") {
            v = parseDuration(e.value);
            if (v === null)
                errors[key] = _("Not a duration: use for example 90s, 5min or 1h.");
            else if (v <= 0 || v > WEEK)
                errors[key] = _("The timeout must be more than 0 and at most a week.");
        } else if (key === "priority") {
            const s = String(v).trim();
            if (!/^[+-]?\d+$/.test(s) || Number(s) < -2147483648 || Number(s) > 2147483647)
                errors[key] = _("The priority must be a whole number.");
            v = Number(s);
        } else if (key === "note") {
            v = String(v ?? "");
            if (utf8Length(v) > NOTE_MAX)
                errors[key] = format(_("The note may have at most $0 bytes."), NOTE_MAX);
            // eslint-disable-next-line no-control-regex
            else if (/[\x00-\x08\x0b-\x1f\x7f]/.test(v))
                errors[key] = _("The note may not contain control characters (newlines and tabs are fine).");
        }
        want[key] = v;
    }
    const o = form.override;
    if (o && o.set) {
        if (o.state !== "running" && o.state !== "stopped")
            errors.override = _("Choose running or stopped.");
        else if (!o.until || !Number.isFinite(Number(o.until)))
            errors.override = _("Pick when the override ends.");
        else if (Number(o.until) <= now)
            errors.override = _("The override must end in the future.");
        else if (Number(o.until) > now + TEN_YEARS)
            errors.override = _("The override may last at most ten years.");
    }
    if (Object.keys(errors).length)
        return { errors, changes: {} };

    for (const key of SETTING_KEYS) {
        const has = key in own;
        if (key in want) {
            if (!has || own[key] !== want[key])
                changes[key] = variant(KEYS[key].type, want[key]);
        } else if (has) {
            changes[key] = variant("s", "inherit");
        }
    }
    const hasOverride = !!own.override_state;
    if (o && o.set) {
        if (!hasOverride || own.override_state !== o.state || Number(own.override_until) !== Number(o.until)) {
            changes.override_state = variant("s", o.state);
            changes.override_until = variant("t", Number(o.until));
        }
    } else if (hasOverride) {
        changes.override_state = variant("s", "inherit");
    }
    return { errors, changes };
}

// Human text for a value of key
export function describeValue(key, value) {
    if (key === "managed")
        return value ? _("yes") : _("no");
    if (key === "stop_mode")
        return value === "hard" ? _("hard (STOP)") : _("soft (SOFTSTOP, then STOP)");
    if (key === "soft_stop_timeout")
        return formatDuration(value);
    if (key === "note")
        return value === "" ? _("(none)") : value;
    if (key === "override_state")
        return value === "running" ? _("keep running") : value === "stopped" ? _("keep stopped") : _("none");
    return String(value);
}

export function keyLabel(key) {
    return {
        managed: _("Managed"),
        stop_mode: _("Stop mode"),
        soft_stop_timeout: _("Soft stop timeout"),
        priority: _("Priority"),
        note: _("Note"),
        override_state: _("Override"),
        override_until: _("Override until"),
        override: _("Temporary override"),
    }[key] || key;
}

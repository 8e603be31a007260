import { test } from "node:test";
import assert from "node:assert/strict";
import { effectiveFromChain, configChain, parseDuration, formatDuration, formFromConfig, validateForm } from "../src/lib/config.js";

const NOW = 1_800_000_000_000_000;
const H = 3600e6;

test("effective: own value, then nearest compartment, then default; override only while live", () => {
    const compartments = new Map([
        ["/c/root", { path: "/c/root", id: "ocid.root", parent: "/", defaults: { managed: true, override_state: "running", override_until: NOW - 1 } }],
        ["/c/mid", { path: "/c/mid", id: "ocid.mid", parent: "/c/root", defaults: { stop_mode: "hard", override_state: "stopped", override_until: NOW + H } }],
    ]);
    const i = { compartment: "/c/mid", config: { priority: 5 } };
    const e = effectiveFromChain(configChain(compartments, i, true), NOW);
    assert.deepEqual(e.priority, { value: 5, source: "instance" });
    assert.deepEqual(e.stop_mode, { value: "hard", source: "compartment:ocid.mid" });
    assert.deepEqual(e.managed, { value: true, source: "compartment:ocid.root" });
    assert.deepEqual(e.soft_stop_timeout, { value: 300e6, source: "default" });
    assert.deepEqual(e.override_state, { value: "stopped", source: "compartment:ocid.mid" });
    // the expired override of root never counts
    const later = effectiveFromChain(configChain(compartments, i, true), NOW + 2 * H);
    assert.deepEqual(later.override_state, { value: "", source: "default" });
});

test("durations in systemd's syntax", () => {
    assert.equal(parseDuration("5min"), 300e6);
    assert.equal(parseDuration("1h 30min"), 5400e6);
    assert.equal(parseDuration("90"), 90e6);
    assert.equal(parseDuration("2.5s"), 2.5e6);
    assert.equal(parseDuration("5 parsecs"), null);
    assert.equal(parseDuration(""), null);
    assert.equal(formatDuration(5400e6), "1h 30min");
    assert.equal(formatDuration(parseDuration("1w 2d 3h")), "1w 2d 3h");
});

test("form: only changed keys are sent, typed as the daemon requires", () => {
    const own = { stop_mode: "soft", priority: 3 };
    const f = formFromConfig(own);
    assert.equal(f.stop_mode.set, true);
    assert.equal(f.managed.set, false);
    f.stop_mode.value = "hard";
    f.priority.set = false;                       // back to inherited
    f.soft_stop_timeout = { set: true, value: "2min" };
    const { errors, changes } = validateForm(f, own, NOW);
    assert.deepEqual(errors, {});
    assert.deepEqual(changes, {
        stop_mode: { t: "s", v: "hard" },
        soft_stop_timeout: { t: "t", v: 120e6 },
        priority: { t: "s", v: "inherit" },
    });
    assert.deepEqual(validateForm(formFromConfig(own), own, NOW).changes, {});
});

test("form: the daemon's limits are checked before sending", () => {
    const f = formFromConfig({});
    f.soft_stop_timeout = { set: true, value: "8d" };
    f.priority = { set: true, value: "1.5" };
    f.note = { set: true, value: "bell\x07" };
    f.override = { set: true, state: "running", until: NOW - 1 };
    const { errors, changes } = validateForm(f, {}, NOW);
    assert.deepEqual(Object.keys(errors).sort(), ["note", "override", "priority", "soft_stop_timeout"]);
    assert.deepEqual(changes, {});
    f.note.value = "x".repeat(4097);
    assert.ok(validateForm(f, {}, NOW).errors.note);
    f.note.value = "two\nlines\tok";
    assert.equal(validateForm(f, {}, NOW).errors.note, undefined);
    f.override.until = NOW + 11 * 366 * 24 * H;
    assert.ok(validateForm(f, {}, NOW).errors.override);
});

test("form: the override goes as a pair, and is removed as one", () => {
    const f = formFromConfig({});
    f.override = { set: true, state: "stopped", until: NOW + H };
    assert.deepEqual(validateForm(f, {}, NOW).changes, {
        override_state: { t: "s", v: "stopped" }, override_until: { t: "t", v: NOW + H },
    });
    const own = { override_state: "stopped", override_until: NOW + H };
    const g = formFromConfig(own);
    assert.equal(g.override.set, true);
    g.override.set = false;
    assert.deepEqual(validateForm(g, own, NOW).changes, { override_state: { t: "s", v: "inherit" } });
});

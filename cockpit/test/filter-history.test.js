import { test } from "node:test";
import assert from "node:assert/strict";
import { filterInstances, sortInstances, bulkPlan } from "../src/lib/filter.js";
import { historyFilters, historyRows, summarizeDetails } from "../src/lib/history.js";
import { errorText } from "../src/lib/errors.js";

const list = [
    { path: "/1", id: "ocid1.instance.aaa", name: "web-2", state: "RUNNING", shape: "VM.A", region: "r1", observedAt: 3 },
    { path: "/2", id: "ocid1.instance.bbb", name: "Web-10", state: "STOPPED", shape: "VM.B", region: "r2", observedAt: 1 },
    { path: "/3", id: "ocid1.instance.ccc", name: "db", state: "STARTING", shape: "VM.A", region: "r1", observedAt: 2 },
    { path: "/4", id: "ocid1.instance.ddd", name: "gone", state: "TERMINATED", shape: "VM.A", region: "r1", observedAt: 2 },
];

test("filter by text (name, OCID, shape, region), state and managed", () => {
    assert.deepEqual(filterInstances(list, { text: "web" }).map(i => i.path), ["/1", "/2"]);
    assert.deepEqual(filterInstances(list, { text: "CCC" }).map(i => i.path), ["/3"]);
    assert.deepEqual(filterInstances(list, { state: "other" }).map(i => i.path), ["/3", "/4"]);
    assert.deepEqual(filterInstances(list, { managed: "yes" }, i => i.path === "/2").map(i => i.path), ["/2"]);
});

test("sort is stable with ties by name", () => {
    assert.deepEqual(sortInstances(list, "name").map(i => i.name), ["db", "gone", "web-10", "web-2"].map(n => list.find(i => i.name.toLowerCase() === n).name));
    assert.deepEqual(sortInstances(list, "observed", "desc").map(i => i.path), ["/1", "/3", "/4", "/2"]);
    assert.deepEqual(sortInstances(list, "shape").map(i => i.path), ["/3", "/4", "/1", "/2"]);
});

test("bulk plan says what happens to each instance", () => {
    const eff = i => (i.path === "/1" ? { stop_mode: "hard" } : { stop_mode: "soft", soft_stop_timeout: 300e6 });
    const stop = bulkPlan("stop", list, eff);
    assert.deepEqual(stop.map(p => [p.skip, p.mode]), [[false, "hard"], [true, "soft"], [false, "soft"], [true, "soft"]]);
    assert.match(stop[2].what, /SOFTSTOP.*5min/);
    const start = bulkPlan("start", list, eff);
    assert.deepEqual(start.map(p => p.skip), [true, false, false, true]);
});

test("history filters and rows", () => {
    const { filters, errors } = historyFilters({ instance: " web-2 ", compartment: "ocid1.compartment.x", since: "2026-01-02T03:04", until: "" });
    assert.deepEqual(errors, {});
    assert.deepEqual(filters.instance, { t: "s", v: "web-2" });
    assert.equal(filters.since.t, "t");
    assert.equal(filters.since.v, Date.parse("2026-01-02T03:04") * 1000);
    assert.ok(historyFilters({ since: "2026-01-02T03:04", until: "2026-01-01T00:00" }).errors.until);
    assert.ok(historyFilters({ since: "garbage" }).errors.since);
    const rows = historyRows([
        [1, 10, "alice", 1000, "set-config", "instance", "ocid1.instance.a", '{"old":{"stop_mode":"soft"},"new":{"stop_mode":"hard"}}'],
        [2, 20, "stopstartd", 4294967295, "override-expired", "instance", "ocid1.instance.a", "not json"],
    ], "ALI");
    assert.equal(rows.length, 1);
    assert.equal(summarizeDetails(rows[0].details), "stop_mode: soft → hard");
    assert.equal(summarizeDetails({ new: { override_state: "stopped", override_until: 1796494691829000 } }),
                 "override_state = stopped, override_until = 2026-12-05T18:18:11Z");
});

test("named D-Bus errors become one clear line", () => {
    assert.equal(errorText({ name: "org.stopstart.StopStart1.Error.InvalidConfig", message: "priority must be i" }),
                 "Invalid setting: priority must be i");
    assert.match(errorText({ name: "org.freedesktop.DBus.Error.AccessDenied", message: "no" }), /^Not permitted/);
    assert.equal(errorText({ name: "org.example.Odd", message: "m" }), "org.example.Odd: m");
});

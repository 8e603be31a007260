import { test } from "node:test";
import assert from "node:assert/strict";
import { Model, IFACE, pathEncode } from "../src/lib/model.js";
import { buildTree, searchTree, flattenTree, instancesOf, ancestorsOf } from "../src/lib/tree.js";

const C = p => `/org/stopstart/StopStart1/compartment/${p}`;
const I = p => `/org/stopstart/StopStart1/instance/${p}`;

function comp(id, name, parent) {
    return { [IFACE.compartment]: { Id: "ocid1.compartment." + id, Name: name, Parent: parent ? C(parent) : "/", Children: [], Defaults: {} } };
}
function inst(id, compartment, state, config = {}) {
    return { [IFACE.instance]: { Id: "ocid1.instance." + id, DisplayName: id, Compartment: C(compartment), LifecycleState: state, Config: config } };
}

function sample() {
    const m = new Model();
    m.apply({
        [C("t")]: comp("t", "tenancy", null),
        [C("b")]: comp("b", "beta", "t"),
        [C("a")]: comp("a", "alpha", "t"),
        [C("a1")]: comp("a1", "alpha-child", "a"),
        [I("i1")]: inst("i1", "a", "RUNNING"),
        [I("i2")]: inst("i2", "a1", "STOPPED"),
        [I("i3")]: inst("i3", "a1", "STARTING"),
        [I("i4")]: inst("i4", "b", "RUNNING"),
        [I("i5")]: inst("i5", "t", "STOPPED"),
    });
    return m;
}

test("apply merges ObjectManager data, PropertiesChanged and InterfacesRemoved", () => {
    const m = sample();
    assert.equal(m.compartments.size, 4);
    assert.equal(m.instances.size, 5);
    const g = m.generation;
    m.apply({ [I("i2")]: { [IFACE.instance]: { LifecycleState: "RUNNING", Config: { managed: { t: "b", v: true } } } } });
    assert.equal(m.instances.get(I("i2")).state, "RUNNING");
    assert.deepEqual(m.instances.get(I("i2")).config, { managed: true });
    assert.ok(m.generation > g);
    m.apply({ [I("i2")]: { [IFACE.instance]: null } });
    assert.equal(m.instances.has(I("i2")), false);
    // unknown interfaces are ignored, not fatal
    assert.equal(m.apply({ "/x": { "org.example.Other": { A: 1 } } }), false);
});

test("tree: sorted children, subtree counts", () => {
    const t = buildTree(sample().compartments, sample().instances);
    assert.equal(t.roots.length, 1);
    const root = t.roots[0];
    assert.deepEqual(root.children.map(n => n.c.name), ["alpha", "beta"]);
    assert.deepEqual([root.running, root.stopped, root.other, root.total], [2, 2, 1, 5]);
    const alpha = t.nodes.get(C("a"));
    assert.deepEqual([alpha.running, alpha.stopped, alpha.other, alpha.total], [1, 1, 1, 3]);
    assert.equal(t.nodes.get(C("a1")).depth, 2);
});

test("instancesOf: direct or whole subtree", () => {
    const m = sample();
    const t = buildTree(m.compartments, m.instances);
    assert.deepEqual(instancesOf(t, C("a"), false).map(i => i.name), ["i1"]);
    assert.deepEqual(instancesOf(t, C("a"), true).map(i => i.name).sort(), ["i1", "i2", "i3"]);
    assert.deepEqual(instancesOf(t, C("nope"), true), []);
    assert.deepEqual(ancestorsOf(t, C("a1")), [C("t"), C("a"), C("a1")]);
});

test("flatten follows expansion; search shows matches with their ancestors", () => {
    const m = sample();
    const t = buildTree(m.compartments, m.instances);
    assert.deepEqual(flattenTree(t, new Set(), null).map(r => r.node.c.name), ["tenancy"]);
    assert.deepEqual(flattenTree(t, new Set([C("t")]), null).map(r => r.node.c.name), ["tenancy", "alpha", "beta"]);
    const s = searchTree(t, "CHILD");
    assert.deepEqual(flattenTree(t, new Set(), s).map(r => [r.node.c.name, r.match]),
                     [["tenancy", false], ["alpha", false], ["alpha-child", true]]);
    const byOcid = searchTree(t, "ocid1.compartment.b");
    assert.deepEqual([...byOcid.matches], [C("b")]);
    assert.equal(searchTree(t, "  "), null);
    assert.deepEqual(flattenTree(t, new Set(), searchTree(t, "zzz")), []);
});

test("20,000 instances in 2,000 compartments build in well under a second (linear, not quadratic)", () => {
    const m = new Model();
    const payload = {};
    payload[C("c0")] = comp("c0", "root", null);
    for (let k = 1; k < 2000; k++)
        payload[C("c" + k)] = comp("c" + k, "c" + k, "c" + Math.floor((k - 1) / 5));
    for (let k = 0; k < 20000; k++)
        payload[I("i" + k)] = inst("i" + k, "c" + (k % 2000), k % 3 ? "RUNNING" : "STOPPED");
    m.apply(payload);
    const t0 = performance.now();
    const t = buildTree(m.compartments, m.instances);
    const ms = performance.now() - t0;
    assert.equal(t.roots[0].total, 20000);
    assert.ok(ms < 1000, `buildTree took ${ms} ms`);
});

test("Describe() JSON gives the same objects as the bus, at the daemon's paths", () => {
    assert.equal(pathEncode("/p", "ocid1.instance.oc1.x-y"), "/p/ocid1_2einstance_2eoc1_2ex_2dy");
    assert.equal(pathEncode("/p", "1a"), "/p/_31a");
    assert.equal(pathEncode("/p", "a1"), "/p/a1");
    assert.equal(pathEncode("/p", ""), "/p/_");
    // sd_bus_path_encode() escapes UTF-8 bytewise
    assert.equal(pathEncode("/p", "é1"), "/p/_c3_a91");
    const m = new Model();
    // a signal that came before the snapshot: the snapshot's fields land on the same object
    m.apply({ [I("ocid1_2einstance_2ei")]: { [IFACE.instance]: { LifecycleState: "STOPPING" } } });
    m.loadDescribe({
        version: "0.1.0", state: "running", role: "standby", leader: "db1:42", compartments: [
            { id: "ocid1.tenancy.t", name: "t", path: "t", parent_id: null, children: ["ocid1.compartment.a"], defaults: { managed: true },
              subtree_states: { RUNNING: 7, STOPPED: 2, STARTING: 1 } },
            { id: "ocid1.compartment.a", name: "a", path: "t/a", parent_id: "ocid1.tenancy.t", children: [], defaults: {} }],
        jobs: [{ id: 4, kind: "start", target: "ocid1.instance.i", state: "done", progress: 1, result: "done", error: null }],
    });
    assert.equal(m.manager.State, "running");
    assert.deepEqual([m.manager.Role, m.manager.Leader], ["standby", "db1:42"]);
    assert.equal(m.jobForTarget("ocid1.instance.i").id, 4);
    assert.equal(m.jobForTarget("ocid1.instance.i").error, "");
    // before the instances are in, the tree can show the daemon's counts
    const early = buildTree(m.compartments, m.instances, { daemonCounts: true });
    assert.deepEqual([early.roots[0].running, early.roots[0].stopped, early.roots[0].other, early.roots[0].total], [7, 2, 1, 10]);
    const g = m.structureGeneration;
    m.loadInstances([{ id: "ocid1.instance.i", display_name: "i", compartment_id: "ocid1.compartment.a", lifecycle_state: "RUNNING", config: { priority: 3 } }]);
    assert.ok(m.structureGeneration > g);
    assert.equal(m.instances.size, 1);
    const i = m.instances.get(I("ocid1_2einstance_2ei"));
    assert.equal(i.state, "RUNNING");
    assert.deepEqual(i.config, { priority: 3 });
    assert.equal(i.compartment, C("ocid1_2ecompartment_2ea"));
    const t = buildTree(m.compartments, m.instances);
    assert.equal(t.roots.length, 1);
    assert.equal(t.roots[0].total, 1);
    assert.equal(t.nodes.get(C("ocid1_2ecompartment_2ea")).running, 1);
});

test("schedules and the instances' Schedules/NextAction come from signals and Get", () => {
    const m = new Model();
    const s = "/org/stopstart/StopStart1/schedule/1";
    const i = "/org/stopstart/StopStart1/instance/x";
    m.apply({ [i]: { [IFACE.instance]: { Id: "x", DisplayName: "x" } } });
    const g = m.schedulesGeneration;
    m.apply({ [s]: { [IFACE.schedule]: { Name: "nightly", NextElapse: 5, Targets: ["tag:a=b"] } } });
    assert.equal(m.schedules.get(s).name, "nightly");
    assert.ok(m.schedulesGeneration > g, "a schedule change is seen");
    m.apply({ [i]: { [IFACE.instance]: { Schedules: [s], NextAction: ["stop", 7, s] } } });
    assert.deepEqual(m.instances.get(i).schedules, [s]);
    assert.deepEqual(m.instances.get(i).nextAction, { action: "stop", at: 7, schedule: s });
    m.apply({ [s]: { [IFACE.schedule]: null } });
    assert.equal(m.schedules.size, 0);
});

// 2,000 compartments / 20,000 instances: the first render of the tree and the table stays under
// 2 s in the browser (issue 11), and the page stays usable: search, select, scroll.
import { test, before, after } from "node:test";
import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import path from "node:path";
import { Stack, CockpitWs, launchBrowser, outputDir, log, waitFor, OPERATOR } from "./uilib.mjs";

const OUT = outputDir("scale");
// Issue 11's budget, always enforced, in both builds: from navigation to the tree and the first
// compartment's table in the DOM. The page asks first only for what that shows (the compartments
// with the daemon's per-subtree state counts, the selected compartment's instances; no effective
// configuration) and loads the other instances after the first paint. Measured after a warm-up
// load, as the best of two loads (a third when both are over), so that a moment of load from
// other work on the machine does not decide.
const BUDGET_MS = 2000;
let stack, ws, browser;

before(async () => {
    stack = new Stack({ compartments: 2000, depth: 4, instances: 20000, seed: 11 }).start();
    ws = await new CockpitWs(stack, OPERATOR).start();
    browser = await launchBrowser();
});

after(async () => {
    log(`screenshots in ${OUT}`);
    await browser?.close();
    await ws?.stop();
    stack?.stop();
});

// The daemon and the bus alone (busctl as the page's user, no bridge, no browser): what the
// page's calls cost before cockpit-bridge and the browser add theirs.
function timeBusctl(...args) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync("setpriv", ["--reuid=" + OPERATOR, "--regid=" + OPERATOR, "--init-groups",
        "busctl", "--system", "call", "org.stopstart.StopStart1", "/org/stopstart/StopStart1",
        "org.stopstart.StopStart1.Manager", ...args], { env: stack.procEnv(), encoding: "utf8", maxBuffer: 64 << 20 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(r.status, 0, r.stderr);
    return { ms: Math.round(ms), mb: +(r.stdout.length / 1e6).toFixed(2) };
}

const restLoaded = page => waitFor(() => page.evaluate(() => !!window.__stopstartTimings?.rest), 60000,
                                   "every instance loaded in the background");

test("2,000 compartments and 20,000 instances render within the budget", async () => {
    const bus = {
        compartments: timeBusctl("DescribeWith", "a{sv}", "3", "instances", "b", "false", "effective", "b", "false",
                                 "subtree_states", "b", "true"),
        allLean: timeBusctl("DescribeInstances", "a{sv}", "1", "effective", "b", "false"),
        allWithEffective: timeBusctl("Describe"),
    };
    log(`daemon + bus alone (busctl): ${JSON.stringify(bus)}`);

    const ctx = await browser.newContext({ viewport: { width: 1400, height: 850 } });
    const page = await ctx.newPage();
    page.on("pageerror", e => log("page error:", e.message));
    // a first load warms the caches every later visit has (files, the bridge's introspection)
    await page.goto(ws.url);
    await page.waitForSelector("#instances tr.ss-row", { timeout: 60000 });
    await restLoaded(page);
    const runs = [];
    for (let k = 0; k < 2 || (k < 3 && !runs.some(r => r.wall < BUDGET_MS)); k++) {
        const t0 = Date.now();
        await page.goto(ws.url);
        await page.waitForSelector(".ss-tree-row", { timeout: 60000 });
        await page.waitForSelector("#instances tr.ss-row", { timeout: 60000 });
        const wall = Date.now() - t0;
        const rootCounts = () => page.locator(".ss-tree-row").first().locator(".ss-counts").textContent();
        const early = await rootCounts();
        // the rest of the instances, loaded after the first paint
        await restLoaded(page);
        const inPage = await page.evaluate(() => {
            const t = window.__stopstartTimings;
            const r = v => Math.round(v || 0);
            return {
                script: r(t.start), // navigation -> the page's script runs (cockpit's shell, the bundle)
                compartments: r(t.compartments - t.start), // DescribeWith without instances, into the model
                firstInstances: r(t.first - t.compartments), // the selected compartment's instances
                schedules: r(t.schedules - t.start), // in parallel with the two above
                render: r(t.rendered - t.ready), // React's first render of the tree and the table
                paint: r(t.painted - t.rendered),
                firstMB: +((t.bytes - t.restBytes) / 1e6).toFixed(2),
                callsWait: r(t.wait), parse: r(t.parse), model: r(t.model), calls: t.calls, // all calls, rest included
                rest: r(t.rest - t.restStart), restMB: +(t.restBytes / 1e6).toFixed(1), restPages: t.restPages,
            };
        });
        runs.push({ wall, ...inPage });
        // the daemon's counts shown at first paint are those the page computes once all is in
        await page.waitForTimeout(100);
        assert.equal(await rootCounts(), early);
    }
    log(`render at 20,000 instances: ${JSON.stringify(runs)} (wall: ms from navigation to the tree and the table in ` +
        `the DOM; the rest in-page ms: script start, DescribeWith, the first compartment's instances, React render, ` +
        `and the background load of every instance after the first paint)`);
    const best = Math.min(...runs.map(r => r.wall));
    log(`first render at 20,000 instances: ${best} ms (best of ${runs.length}; budget ${BUDGET_MS} ms)`);
    const counts = await page.locator(".ss-tree-row").first().locator(".ss-counts").textContent();
    assert.ok(counts.length > 0);
    await page.screenshot({ path: path.join(OUT, "scale-tree-table.png") });
    assert.ok(best < BUDGET_MS, `first render took ${best} ms (budget ${BUDGET_MS} ms)`);

    // the whole tenancy in one table, scrolled to its end: the virtualised rows keep up
    await page.locator(`label.pf-v5-c-switch[for="recursive"]`).click();
    // (polled with evaluate: waitForFunction's polling evaluates a string, which the page's CSP forbids)
    await waitFor(() => page.evaluate(() => /20[,.]?000/.test(document.querySelector("#instance-count")?.textContent || "")),
                  30000, "20,000 instances in the table");
    const n = await page.locator("#instances tr.ss-row").count();
    assert.ok(n < 200, `${n} rows in the DOM: not virtualised`);
    await page.locator(".ss-table-scroll").evaluate(el => { el.scrollTop = el.scrollHeight });
    await page.waitForTimeout(300);
    assert.ok(await page.locator("#instances tr.ss-row").count() > 0);
    await page.fill("#tree-search input", "env-0");
    await page.waitForSelector(".ss-tree-row.ss-match");
    await page.screenshot({ path: path.join(OUT, "scale-search.png") });
    await ctx.close();
});

// A compartment picked right after the first paint, while the other instances are still coming:
// its own are asked for at once (DescribeInstances for it) and the table shows exactly them.
test("a compartment picked before every instance is in lists exactly its instances", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 850 } });
    const page = await ctx.newPage();
    page.on("pageerror", e => log("page error:", e.message));
    await page.goto(ws.url);
    await page.waitForSelector("#instances tr.ss-row", { timeout: 60000 });
    // the last top-level compartment in the tree with instances of its own
    const rows = await page.locator(".ss-tree-row[aria-level='2']").evaluateAll(els => els.map(e => e.dataset.ocid));
    let pick = null;
    for (const ocid of rows.reverse()) {
        const own = stack.busctlJson("call", "org.stopstart.StopStart1", "/org/stopstart/StopStart1",
                                     "org.stopstart.StopStart1.Manager", "ListInstances", "a{sv}", "1", "compartment", "s", ocid).data[0];
        if (own.length > 0) {
            pick = { ocid, names: own.map(i => i[1]).sort() };
            break;
        }
    }
    assert.ok(pick, "a top-level compartment with instances");
    const early = await page.evaluate(ocid => {
        document.querySelector(`.ss-tree-row[data-ocid="${ocid}"]`).click();
        return !window.__stopstartTimings.rest;
    }, pick.ocid);
    log(`picked ${pick.ocid} (${pick.names.length} instances) ${early ? "before" : "after"} the background load ended`);
    await waitFor(() => page.evaluate(n => new RegExp(`^${n} `).test(document.querySelector("#instance-count")?.textContent || "") &&
                                           !document.querySelector("#instances-loading"), pick.names.length),
                  30000, `${pick.names.length} instances in the table`);
    const shown = await page.locator("#instances tr.ss-row").evaluateAll(els => els.map(e => e.dataset.name).sort());
    // every row in the DOM (the table is virtualised) is one of the compartment's; all of them when few
    assert.ok(shown.length > 0 && shown.every(n => pick.names.includes(n)), `rows ${shown} are not all of ${pick.ocid}`);
    if (pick.names.length <= 15)
        assert.deepEqual(shown, pick.names);
    await ctx.close();
});


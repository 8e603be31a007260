// The Cockpit page in headless Chromium against the whole stack (suite "ui"): what the page shows
// is checked against the fake tenancy and the daemon, what it does against the daemon and the fake
// OCI server. Screenshots of each main view go to the output directory (printed at the end and on
// failure).
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { Stack, CockpitWs, launchBrowser, outputDir, waitFor, log, OPERATOR, DENIED } from "./uilib.mjs";

const OUT = outputDir("page");
let stack, ws, wsDenied, browser, page, tenancy;
const VIEW = { width: 1400, height: 850 };

async function shot(p, name) {
    const f = path.join(OUT, name + ".png");
    await p.screenshot({ path: f });
    log("screenshot", f);
}

async function openPage(url, options = {}) {
    const ctx = await browser.newContext({ viewport: VIEW, locale: options.locale || "en-US" });
    if (options.style)
        await ctx.addInitScript(s => window.localStorage.setItem("shell:style", s), options.style);
    const p = await ctx.newPage();
    p.on("pageerror", e => log("page error:", e.message));
    p.on("console", m => { if (m.type() === "error") log("console error:", m.text()) });
    await p.goto(url);
    await p.waitForSelector("#stopstart[data-ready]", { timeout: 30000 });
    return p;
}

const ociInstance = name => tenancy.instances.find(i => i.displayName === name);
const busPath = (kind, ocid) => `/org/stopstart/StopStart1/${kind}/` + ocid.replace(/[^A-Za-z0-9]/g, c => "_" + c.charCodeAt(0).toString(16).padStart(2, "0"));

async function selectCompartment(p, ocid) {
    await p.locator(`.ss-tree-row[data-ocid="${ocid}"]`).click();
    await p.waitForSelector(`#compartment-title[title="${ocid}"]`);
}

async function openInstance(p, name) {
    await p.locator(`#instances tr.ss-row[data-name="${name}"] td.ss-name a`).click();
    await p.waitForSelector("#instance-dialog");
}

// PatternFly switches draw a toggle over the input: click their label
async function setSwitch(p, id, on) {
    if ((await p.isChecked("#" + id)) !== on)
        await p.locator(`label.pf-v5-c-switch[for="${id}"]`).click();
    await waitFor(async () => (await p.isChecked("#" + id)) === on, 5000, `switch ${id}`);
}

async function closeDialog(p) {
    await p.locator("#instance-close, #defaults-close, #bulk-cancel, #bulk-close").first().click();
    await p.waitForSelector("#instance-dialog, #defaults-dialog, #bulk-dialog", { state: "detached" });
}

before(async () => {
    // the systemd user manager runs the schedules' timers: NextElapse is systemd's own
    stack = new Stack({ compartments: 8, depth: 3, instances: 30, seed: 7, usermgr: true }).start();
    tenancy = await stack.oci("GET", "tenancy");
    ws = await new CockpitWs(stack, OPERATOR).start();
    browser = await launchBrowser();
    page = await openPage(ws.url);
});

// a failed test must not leave its dialog in the way of the next one
beforeEach(async () => {
    if (page && await page.locator(".pf-v5-c-modal-box").count()) {
        await page.keyboard.press("Escape");
        await page.waitForSelector(".pf-v5-c-modal-box", { state: "detached", timeout: 5000 }).catch(() => {});
    }
});

after(async () => {
    log(`screenshots in ${OUT}`);
    await browser?.close();
    await ws?.stop();
    await wsDenied?.stop();
    stack?.stop();
});

test("the tree is the fake tenancy, with the counts of its subtrees", async () => {
    // open every collapsed node until none is left
    for (let round = 0; round < 20; round++) {
        const n = await page.$$eval('.ss-tree-row[aria-expanded="false"] .ss-tree-toggle', ts => { ts.forEach(t => t.click()); return ts.length });
        if (n === 0)
            break;
        await page.waitForFunction(k => document.querySelectorAll('.ss-tree-row[aria-expanded="false"]').length !== k || k === 0, n);
    }
    const shown = await page.$$eval(".ss-tree-row", rows => rows.map(r => r.dataset.ocid));
    const want = [tenancy.tenancy.id, ...tenancy.compartments.filter(c => c.lifecycleState === "ACTIVE").map(c => c.id)];
    assert.deepEqual(shown.slice().sort(), want.slice().sort());
    // the root's counts are every instance of the tenancy the daemon keeps
    const daemon = stack.ctlJson("list-instances");
    const running = daemon.filter(i => (i.lifecycle_state || i.state) === "RUNNING").length;
    const rootCounts = await page.locator(`.ss-tree-row[data-ocid="${tenancy.tenancy.id}"] .ss-count-running`).textContent();
    assert.equal(Number(rootCounts), running);
    await shot(page, "tree-table");
});

test("selecting a compartment lists exactly its instances; search finds by name and OCID", async () => {
    const byComp = new Map();
    for (const i of tenancy.instances)
        if (i.lifecycleState !== "TERMINATED" || true)
            byComp.set(i.compartmentId, [...(byComp.get(i.compartmentId) || []), i]);
    const daemonIds = new Set(stack.ctlJson("list-instances").map(i => i.id));
    const [cid, list] = [...byComp.entries()].sort((a, b) => b[1].length - a[1].length)[0];
    await selectCompartment(page, cid);
    const rows = await page.$$eval("#instances tr.ss-row", rs => rs.map(r => r.dataset.ocid));
    assert.deepEqual(rows.sort(), list.map(i => i.id).filter(id => daemonIds.has(id)).sort());
    assert.ok(rows.length > 0);

    const comp = tenancy.compartments.find(c => c.id === cid);
    await page.fill("#tree-search input", comp.name);
    await waitFor(async () => (await page.$$eval(".ss-tree-row.ss-match", rs => rs.map(r => r.dataset.ocid))).includes(cid), 5000, "a name match");
    await page.fill("#tree-search input", cid);
    await waitFor(async () => {
        const m = await page.$$eval(".ss-tree-row.ss-match", rs => rs.map(r => r.dataset.ocid));
        return m.length === 1 && m[0] === cid;
    }, 5000, "the OCID match");
    await page.fill("#tree-search input", "");
    await selectCompartment(page, tenancy.tenancy.id);
});

test("the popup's stop mode changes the daemon's property; an override shows in explain", async () => {
    const target = stack.ctlJson("list-instances").find(i => i.compartment_id === tenancy.tenancy.id) ||
                   stack.ctlJson("list-instances")[0];
    await selectCompartment(page, target.compartment_id);
    await openInstance(page, target.display_name ?? target.name);
    await shot(page, "popup-status");
    await page.getByRole("tab", { name: "Configuration" }).click();
    await page.check("#cfg-stop_mode-set");
    await page.selectOption("#cfg-stop_mode", "hard");
    await page.click("#instance-save");
    await page.waitForSelector("#instance-saved");
    const objPath = busPath("instance", target.id);
    const cfg = stack.prop(objPath, "org.stopstart.StopStart1.Instance", "Config");
    assert.equal(cfg.stop_mode?.data, "hard");

    await page.check("#cfg-override-set");
    await page.selectOption("#cfg-override-state", "stopped");
    await page.getByRole("button", { name: "+8 h" }).click();
    await page.click("#instance-save");
    await waitFor(() => stack.prop(objPath, "org.stopstart.StopStart1.Instance", "Config").override_state, 5000, "the override");
    const explain = stack.ctl("explain", target.id);
    assert.match(explain, /override_state\s+stopped/);
    await shot(page, "popup-config");

    await page.getByRole("tab", { name: "Explain" }).click();
    await page.click("#instance-explain");
    await page.waitForSelector('#explain-result tr[data-key="stop_mode"]');
    assert.match(await page.locator('#explain-result tr[data-key="stop_mode"]').textContent(), /hard.*this instance/);
    await shot(page, "popup-explain");

    // a bad value is refused inline, before anything is sent
    await page.getByRole("tab", { name: "Configuration" }).click();
    await page.check("#cfg-soft_stop_timeout-set");
    await page.fill("#cfg-soft_stop_timeout", "9 parsecs");
    await page.click("#instance-save");
    await page.waitForSelector("#cfg-soft_stop_timeout-error");
    assert.equal(stack.prop(objPath, "org.stopstart.StopStart1.Instance", "Config").soft_stop_timeout, undefined);
    await closeDialog(page);
});

test("Start reaches the fake server once and the table follows the state live", async () => {
    const target = stack.ctlJson("list-instances").find(i => i.lifecycle_state === "STOPPED");
    assert.ok(target, "a stopped instance");
    await selectCompartment(page, target.compartment_id);
    const row = page.locator(`#instances tr.ss-row[data-ocid="${target.id}"]`);
    assert.equal(await row.getAttribute("data-state"), "STOPPED");
    await stack.oci("POST", "counters/reset");
    await openInstance(page, target.display_name);
    await page.click("#instance-start");
    await page.waitForSelector("#instance-job");
    await shot(page, "popup-job");
    await page.waitForSelector('#instance-job[data-state="done"]', { timeout: 60000 });
    assert.equal(await page.locator("#instance-job").getAttribute("data-result"), "done");
    await closeDialog(page);
    await waitFor(async () => (await row.getAttribute("data-state")) === "RUNNING", 30000, "RUNNING in the table");
    const counters = await stack.oci("GET", "counters");
    assert.deepEqual(counters.actions, { [target.id]: { START: 1 } });
});

test("bulk stop asks first, listing exactly what will happen", async () => {
    await selectCompartment(page, tenancy.tenancy.id);
    await setSwitch(page, "recursive", true);
    const running = page.locator('#instances tr.ss-row[data-state="RUNNING"]');
    const stopped = page.locator('#instances tr.ss-row[data-state="STOPPED"]');
    const picks = [await running.nth(0).getAttribute("data-ocid"), await running.nth(1).getAttribute("data-ocid"),
                   await stopped.nth(0).getAttribute("data-ocid")];
    for (const id of picks)
        await page.locator(`#instances tr.ss-row[data-ocid="${id}"] input[type=checkbox]`).check();
    await stack.oci("POST", "counters/reset");
    await page.click("#bulk-stop");
    await page.waitForSelector("#bulk-dialog");
    const planned = await page.$$eval("#bulk-plan tbody tr", rs => rs.map(r => [r.dataset.path, r.className.includes("ss-muted")]));
    assert.equal(planned.length, 3);
    assert.equal(planned.filter(([, skip]) => skip).length, 1, "the stopped one is left alone");
    assert.match(await page.locator("#bulk-dialog").textContent(), /Stop 2 instances/);
    await shot(page, "bulk-confirm");
    await page.click("#bulk-cancel");
    assert.deepEqual((await stack.oci("GET", "counters")).actions, {}, "nothing happens without confirmation");
    await setSwitch(page, "recursive", false);
});

test("compartment defaults show what the subtree inherits and save through SetDefaults", async () => {
    const comp = tenancy.compartments[0];
    await selectCompartment(page, tenancy.tenancy.id);
    await page.click("#edit-defaults");
    await page.waitForSelector("#defaults-dialog");
    await page.check("#def-managed-set");
    await setSwitch(page, "def-managed", true);
    await page.click("#defaults-save");
    await page.waitForSelector("#defaults-saved");
    const d = stack.prop(busPath("compartment", tenancy.tenancy.id), "org.stopstart.StopStart1.Compartment", "Defaults");
    assert.equal(d.managed?.data, true);
    await shot(page, "defaults");
    await closeDialog(page);
    // an instance below now inherits managed=yes: the table shows it at once
    await waitFor(async () => (await page.$$eval("#instances td.ss-managed", tds => tds.map(t => t.textContent))).every(t => t.startsWith("yes")),
                  10000, "managed=yes inherited");
    void comp;
});

test("History lists the changes made in the page, filterable", async () => {
    await page.getByRole("tab", { name: "History" }).click();
    await page.waitForSelector("#history-table tbody tr");
    const ops = await page.$$eval("#history-table tbody tr", rs => rs.map(r => r.dataset.operation));
    for (const op of ["set-config", "set-defaults", "start"])
        assert.ok(ops.includes(op), `${op} in ${ops}`);
    await shot(page, "history");
    await page.fill("#history-actor", "nobody-by-that-name");
    await page.click("#history-apply");
    await page.waitForSelector("#history-table tbody tr", { state: "detached" });
    await page.fill("#history-actor", "");
    await page.getByRole("tab", { name: "Instances" }).click();
});

test("a schedule created in the page is the daemon's, with systemd's next elapse; skipping shows in preview", async () => {
    await page.getByRole("tab", { name: "Schedules" }).click();
    await page.click("#schedule-create");
    await page.waitForSelector("#schedule-dialog");
    await page.fill("#schedule-name", "ui-weekdays");
    await page.selectOption("#schedule-action", "stop");
    await page.fill("#schedule-calendars", "Mon..Fri 19:30");
    await page.fill("#schedule-zone", "America/Sao_Paulo");
    // the live preview: systemd's instants of the spec as typed, before anything is saved
    await page.waitForSelector("#schedule-draft-preview li[data-at]");
    const draft = await page.$$eval("#schedule-draft-preview li[data-at]", ls => ls.map(l => Number(l.dataset.at)));
    assert.equal(draft.length, 5);
    await page.fill("#schedule-calendars", "Mon..Fri 19:61");
    await page.waitForSelector("#schedule-draft-error");
    await page.fill("#schedule-calendars", "Mon..Fri 19:30");
    await page.waitForSelector("#schedule-draft-preview li[data-at]");
    await page.selectOption("#schedule-target-compartment", tenancy.tenancy.id);
    await page.click("#schedule-target-add-compartment");
    await page.fill("#schedule-target-other", "tag:team=web");
    await page.click("#schedule-target-add-other");
    await page.fill("#schedule-grace", "20");
    await shot(page, "schedule-create");
    await page.click("#schedule-save");
    await page.waitForSelector("#schedule-dialog", { state: "detached" });

    const row = page.locator('#schedules-table tr.ss-schedule-row[data-name="ui-weekdays"]');
    await waitFor(async () => Number(await row.getAttribute("data-next")) > 0, 15000, "the next elapse in the list");
    const shown = Number(await row.getAttribute("data-next"));
    const listed = stack.ctlJson("schedule", "list").find(s => s.name === "ui-weekdays");
    assert.ok(listed, "in stopstartctl schedule list");
    assert.equal(listed.action, "stop");
    assert.equal(Date.parse(listed.next_elapse) * 1000, shown, "the page shows the daemon's next elapse");
    assert.equal(shown, draft[0], "the next elapse is the preview's first instant");
    const obj = listed.object;
    assert.deepEqual(stack.prop(obj, "org.stopstart.StopStart1.Schedule", "Targets"), [`compartment:${tenancy.tenancy.id}`, "tag:team=web"]);
    assert.equal(stack.prop(obj, "org.stopstart.StopStart1.Schedule", "MisfireGraceUSec"), 20 * 60e6);

    // its next occurrences, skipped from the page
    await row.locator("td.ss-name").click();
    await page.waitForSelector("#schedule-preview tbody tr[data-at]");
    assert.equal(Number(await page.locator("#schedule-preview tbody tr[data-at]").first().getAttribute("data-at")), shown);
    await page.click("#sim-run");
    await page.waitForSelector("#sim-result svg .ss-bar");
    assert.ok(Number(await page.locator("#sim-result").getAttribute("data-always")) > 0);
    await shot(page, "schedules");
    await page.locator("#sim-result").scrollIntoViewIfNeeded();
    await shot(page, "schedule-simulation");
    await page.click("#skip-0");
    await page.waitForSelector(`#schedule-preview tbody tr[data-at="${shown}"][data-decision="skip"]`);
    const preview = stack.ctlJson("schedule", "preview", "ui-weekdays");
    const first = preview.find(p => Date.parse(p.at) * 1000 === shown);
    assert.ok(first, `${shown} in ${JSON.stringify(preview)}`);
    assert.equal(first.status, "skip");

    // the instances it targets now show it in the table
    await page.getByRole("tab", { name: "Instances" }).click();
    await selectCompartment(page, tenancy.tenancy.id);
    await waitFor(async () => (await page.$$eval("#instances td.ss-schedules-cell", tds => tds.map(t => t.textContent))).some(t => t.includes("ui-weekdays")),
                  15000, "the schedule in the instances table");
    await shot(page, "tree-table-schedules");
});

test("a denied user sees disabled controls with the reason, and nothing changes", async () => {
    wsDenied = await new CockpitWs(stack, DENIED).start();
    const p = await openPage(wsDenied.url);
    await p.waitForSelector("#read-only");
    assert.equal(await p.locator("#refresh").isDisabled(), true);
    const before = JSON.stringify(stack.ctlJson("list-instances").map(i => [i.id, i.lifecycle_state]));
    const target = stack.ctlJson("list-instances").find(i => i.compartment_id === tenancy.tenancy.id);
    const cfgBefore = stack.prop(busPath("instance", target.id), "org.stopstart.StopStart1.Instance", "Config");
    await openInstance(p, target.display_name);
    assert.equal(await p.locator("#instance-start").isDisabled(), true);
    assert.equal(await p.locator("#instance-stop").isDisabled(), true);
    assert.match(await p.locator("#instance-operate-reason").textContent(), /polkit/);
    await p.locator("#instance-start").click({ force: true }).catch(() => {});
    await p.getByRole("tab", { name: "Configuration" }).click();
    assert.equal(await p.locator("#instance-save").isDisabled(), true);
    assert.equal(await p.locator("#cfg-stop_mode-set").isDisabled(), true);
    await p.waitForSelector("#instance-configure-reason");
    await shot(p, "denied");
    await p.locator("#instance-close").click();
    await p.getByRole("tab", { name: "Schedules" }).click();
    await p.waitForSelector("#schedules-manage-reason");
    assert.equal(await p.locator("#schedule-create").isDisabled(), true);
    await p.locator('#schedules-table tr.ss-schedule-row[data-name="ui-weekdays"] td.ss-name').click();
    await p.waitForSelector("#schedule-preview tbody tr[data-at]");
    assert.equal(await p.locator("#skip-0").isDisabled(), true);
    assert.equal(await p.locator("#schedule-edit").isDisabled(), true);
    assert.match(await p.locator("#schedule-operate-reason").textContent(), /polkit/);
    await shot(p, "denied-schedules");
    await stack.oci("POST", "counters/reset");
    await new Promise(r => setTimeout(r, 500));
    assert.deepEqual((await stack.oci("GET", "counters")).actions, {});
    assert.deepEqual(stack.prop(busPath("instance", target.id), "org.stopstart.StopStart1.Instance", "Config"), cfgBefore);
    assert.equal(JSON.stringify(stack.ctlJson("list-instances").map(i => [i.id, i.lifecycle_state])), before);
    await p.context().close();
});

test("pt-BR renders translated strings", async () => {
    const p = await openPage(ws.url, { locale: "pt-BR" });
    await p.waitForSelector("text=Histórico");
    assert.equal(await p.locator("#compartment-tree").getAttribute("aria-label"), "Compartimentos");
    assert.match(await p.locator("#instance-count").textContent(), /instâncias?/);
    await shot(p, "pt-BR");
    await p.getByRole("tab", { name: "Agendamentos" }).click();
    await p.waitForSelector("#schedule-create");
    assert.equal((await p.locator("#schedule-create").textContent()).trim(), "Criar agendamento");
    assert.equal(await p.locator("#schedules-table th").first().textContent(), "Nome");
    await p.locator("#schedules-table tr.ss-schedule-row td.ss-name").first().click();
    await p.waitForSelector("text=Próximas ocorrências");
    await shot(p, "pt-BR-schedules");
    await p.context().close();
});

test("dark theme as Cockpit sets it", async () => {
    const p = await openPage(ws.url, { style: "dark" });
    assert.equal(await p.evaluate(() => document.documentElement.classList.contains("pf-v5-theme-dark")), true);
    await shot(p, "dark");
    await p.context().close();
});

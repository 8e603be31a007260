// Test fixtures for the Cockpit page (suite "ui"): the whole stopstart stack (tests/lib/ssstack.py:
// PostgreSQL, fake OCI, private system bus, polkitd, stopstartd), cockpit-ws with a local session
// on loopback as a chosen user, and Debian's chromium driven by playwright-core. Everything is
// started here and stopped by PID; nothing outside the test's directories changes.
import { spawn, spawnSync, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import { createRequire } from "node:module";

export const SRC = process.env.STOPSTART_SOURCE_ROOT || path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
export const BUILD = process.env.STOPSTART_BUILD_ROOT || path.join(SRC, "build");
const require = createRequire(path.join(SRC, "cockpit", "package.json"));
const { chromium } = require("playwright-core");

export const OPERATOR = "sstest-op";
export const DENIED = "sstest-denied";
export const VIEWER = "sstest-viewer";
const PY = "/usr/bin/python3";
const COCKPIT_WS = "/usr/lib/cockpit/cockpit-ws";

export function log(...args) {
    process.stderr.write(`[ui ${new Date().toISOString().slice(11, 23)}] ${args.join(" ")}\n`);
}

function alive(pid) {
    try {
        const st = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return st.slice(st.lastIndexOf(")") + 2).split(" ")[0] !== "Z";
    } catch (e) {
        return false;
    }
}

export async function stopPid(pid, timeout = 10000) {
    if (!pid || !alive(pid))
        return;
    try { process.kill(pid, "SIGTERM") } catch (e) { return }
    const end = Date.now() + timeout;
    while (Date.now() < end && alive(pid))
        await sleep(20);
    if (alive(pid))
        try { process.kill(pid, "SIGKILL") } catch (e) { /* gone */ }
}

function descendants(pid) {
    const out = [];
    let kids = [];
    try {
        kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch (e) { /* gone */ }
    for (const k of kids)
        out.push(...descendants(k), k);
    return out;
}

export const sleep = ms => new Promise(r => setTimeout(r, ms));

export async function waitFor(cond, timeout = 10000, what = "condition", step = 50) {
    const end = Date.now() + timeout;
    let last;
    while (Date.now() < end) {
        try {
            last = await cond();
            if (last)
                return last;
        } catch (e) {
            last = e;
        }
        await sleep(step);
    }
    throw new Error(`timeout waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => {
            const p = s.address().port;
            s.close(() => resolve(p));
        });
        s.on("error", reject);
    });
}

function mkdtemp(prefix) {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.chmodSync(d, 0o755);
    return d;
}

function userIds(name) {
    const out = execFileSync("id", ["-u", name], { encoding: "utf8" }).trim();
    const gid = execFileSync("id", ["-g", name], { encoding: "utf8" }).trim();
    return { uid: Number(out), gid: Number(gid) };
}

// --- the stack -----------------------------------------------------------------------------------
export class Stack {
    constructor({ compartments = 8, depth = 3, instances = 30, seed = 7, usermgr = false } = {}) {
        this.opts = { compartments, depth, instances, seed, usermgr };
        this.dir = mkdtemp("ssui.");
        this.env = null;
    }

    start() {
        const t0 = Date.now();
        const r = spawnSync(PY, [path.join(SRC, "tests/lib/ssstack.py"), "start", path.join(this.dir, "stack"),
            "--build", BUILD, "--compartments", String(this.opts.compartments), "--depth", String(this.opts.depth),
            "--instances", String(this.opts.instances), "--seed", String(this.opts.seed),
            ...(this.opts.usermgr ? ["--usermgr"] : [])],
        { encoding: "utf8", env: { ...process.env, STOPSTART_SOURCE_ROOT: SRC, STOPSTART_BUILD_ROOT: BUILD }, timeout: 300000 });
        if (r.status !== 0)
            throw new Error(`ssstack.py start failed (${r.status}): ${r.stderr}\n${r.stdout}`);
        this.env = {};
        for (const line of r.stdout.split("\n")) {
            const m = line.match(/^export (\w+)='(.*)'$/);
            if (m)
                this.env[m[1]] = m[2];
        }
        this.busAddress = this.env.DBUS_SYSTEM_BUS_ADDRESS;
        this.ociUrl = this.env.FAKE_OCI_URL;
        this.ctlPath = path.join(this.dir, "stack", "bin", "stopstartctl");
        log(`stack up in ${Date.now() - t0} ms (${this.opts.compartments} compartments, ${this.opts.instances} instances)`);
        return this;
    }

    procEnv(extra = {}) {
        return { ...process.env, ...this.env, SYSTEMD_COLORS: "0", PAGER: "cat", ...extra };
    }

    ctl(...args) {
        const r = spawnSync(this.ctlPath, ["--no-pager", ...args], { encoding: "utf8", env: this.procEnv(), timeout: 60000 });
        if (r.status !== 0)
            throw new Error(`stopstartctl ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
        return r.stdout;
    }

    ctlJson(...args) {
        return JSON.parse(this.ctl("--json=short", ...args));
    }

    busctlJson(...args) {
        const out = execFileSync("busctl", ["--system", "--json=short", ...args], { encoding: "utf8", env: this.procEnv() });
        return JSON.parse(out);
    }

    prop(objPath, iface, name) {
        return this.busctlJson("get-property", "org.stopstart.StopStart1", objPath, iface, name).data;
    }

    async oci(method, p, body) {
        const res = await fetch(`${this.ociUrl}/_fake/${p}`, {
            method, body: body ? JSON.stringify(body) : undefined, headers: { "Content-Type": "application/json" },
        });
        if (!res.ok)
            throw new Error(`fake OCI ${method} ${p}: ${res.status}`);
        return res.json();
    }

    stop() {
        spawnSync(PY, [path.join(SRC, "tests/lib/ssstack.py"), "stop", path.join(this.dir, "stack")],
                  { encoding: "utf8", timeout: 120000 });
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

// --- cockpit-ws with a local session, as a given user ---------------------------------------------
export class CockpitWs {
    constructor(stack, user) {
        this.stack = stack;
        this.user = user;
        this.dir = mkdtemp("ssws.");
        this.procs = [];
    }

    async start() {
        const { uid, gid } = userIds(this.user);
        // the package, where the bridge looks: $XDG_DATA_DIRS/cockpit/stopstart
        const pkg = path.join(this.dir, "data", "cockpit", "stopstart");
        fs.mkdirSync(pkg, { recursive: true });
        for (const f of fs.readdirSync(path.join(BUILD, "cockpit")))
            if (/\.(js|css|html|json)$/.test(f))
                fs.copyFileSync(path.join(BUILD, "cockpit", f), path.join(pkg, f));
        const run = path.join(this.dir, "run");
        fs.mkdirSync(run, { mode: 0o700 });
        fs.chownSync(run, uid, gid);
        const asUser = ["setpriv", `--reuid=${this.user}`, `--regid=${gid}`, "--init-groups"];
        // a session bus of our own: otherwise the bridge starts one that outlives it
        const sbus = spawn(asUser[0], [...asUser.slice(1), "dbus-daemon", "--session", `--address=unix:path=${run}/bus`, "--nofork", "--print-address=1"],
                           { stdio: ["ignore", "pipe", "ignore"] });
        this.procs.push(sbus);
        await waitFor(() => fs.existsSync(`${run}/bus`), 10000, "the session bus");
        this.port = await freePort();
        const env = {
            PATH: process.env.PATH, LANG: "C.UTF-8",
            XDG_DATA_DIRS: `${path.join(this.dir, "data")}:/usr/local/share:/usr/share`,
            XDG_RUNTIME_DIR: run, DBUS_SESSION_BUS_ADDRESS: `unix:path=${run}/bus`,
            SSH_AUTH_SOCK: `${run}/no-ssh-agent`, DBUS_SYSTEM_BUS_ADDRESS: this.stack.busAddress,
        };
        const logf = fs.openSync(path.join(this.dir, "ws.log"), "a");
        const ws = spawn(asUser[0], [...asUser.slice(1), COCKPIT_WS, "--local-session=cockpit-bridge",
            "--port", String(this.port), "--address", "127.0.0.1"], { env, stdio: ["ignore", logf, logf] });
        fs.closeSync(logf);
        this.procs.push(ws);
        this.url = `http://127.0.0.1:${this.port}/cockpit/@localhost/stopstart/index.html`;
        await waitFor(async () => (await fetch(`http://127.0.0.1:${this.port}/cockpit/login`).catch(() => null)) !== null,
                      15000, "cockpit-ws");
        return this;
    }

    log() {
        try { return fs.readFileSync(path.join(this.dir, "ws.log"), "utf8") } catch (e) { return "" }
    }

    async stop() {
        for (const p of this.procs.slice().reverse()) {
            for (const k of descendants(p.pid))
                await stopPid(k);
            await stopPid(p.pid);
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

// --- the browser -----------------------------------------------------------------------------------
const CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

export async function launchBrowser() {
    const profile = mkdtemp("ssui-chromium.");
    const browser = await chromium.launch({
        executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_FLAGS,
        env: { ...process.env, TMPDIR: profile }, timeout: 60000,
    });
    browser.on("disconnected", () => fs.rmSync(profile, { recursive: true, force: true }));
    return browser;
}

export function outputDir(name) {
    const d = process.env.STOPSTART_UI_OUTPUT || path.join(BUILD, "meson-logs", "ui", name);
    fs.mkdirSync(d, { recursive: true });
    return d;
}

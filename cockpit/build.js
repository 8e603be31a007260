#!/usr/bin/env node
// Builds the Cockpit package into OUTDIR: index.html, manifest.json, index.js and index.css
// (esbuild bundle of src/ with React + PatternFly, fonts inlined: nothing is loaded from the
// network at run time) and po.LANG.js for every po/LANG.po (Cockpit's gettext format).
// Works offline once `npm ci` has filled node_modules.
//   node build.js --outdir DIR [--depfile FILE] [--dev]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { poToCockpitJs, manifestMessages } from "./src/lib/po.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
function opt(name) {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
}
const outdir = path.resolve(opt("--outdir") || path.join(HERE, "dist"));
const depfile = opt("--depfile");
const dev = args.includes("--dev");

let esbuild;
try {
    esbuild = await import("esbuild");
} catch (e) {
    console.error(`build.js: esbuild is missing (${e.message}); run "npm ci" in ${HERE} (scripts/install-deps does)`);
    process.exit(1);
}

fs.mkdirSync(outdir, { recursive: true });
const result = await esbuild.build({
    entryPoints: { index: path.join(HERE, "src/index.jsx") },
    outdir,
    bundle: true,
    minify: !dev,
    sourcemap: dev ? "inline" : false,
    target: ["es2020"],
    jsx: "automatic",
    format: "iife",
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
    define: { "process.env.NODE_ENV": dev ? '"development"' : '"production"' },
    loader: { ".woff2": "dataurl", ".woff": "dataurl", ".svg": "dataurl", ".png": "dataurl", ".jpg": "dataurl" },
});

const inputs = Object.keys(result.metafile.inputs).map(p => path.resolve(p));
for (const f of ["src/index.html", "manifest.json"]) {
    fs.copyFileSync(path.join(HERE, f), path.join(outdir, path.basename(f)));
    inputs.push(path.join(HERE, f));
}
for (const f of fs.readdirSync(path.join(HERE, "po")).filter(f => f.endsWith(".po")).sort()) {
    const lang = f.slice(0, -3);
    const src = path.join(HERE, "po", f);
    const text = fs.readFileSync(src, "utf8");
    fs.writeFileSync(path.join(outdir, `po.${lang}.js`), poToCockpitJs(text, lang));
    // the shell's menu label, translated before the page is loaded
    const labels = new Set(manifestMessages(fs.readFileSync(path.join(HERE, "manifest.json"), "utf8")).map(m => m.id));
    fs.writeFileSync(path.join(outdir, `po.manifest.${lang}.js`), poToCockpitJs(text, lang, labels));
    inputs.push(src);
}
if (depfile) {
    const esc = p => p.replace(/ /g, "\\ ");
    fs.writeFileSync(depfile, `${esc(path.join(outdir, "index.js"))}: ${inputs.map(esc).join(" \\\n ")}\n`);
}

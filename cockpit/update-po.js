#!/usr/bin/env node
// Extracts the translatable strings of src/ into po/stopstart.pot and merges them into every
// po/LANG.po: translations are kept, new strings are added untranslated, unused ones dropped.
// The unit test test/po.test.js fails while a language misses a translation.
//   node update-po.js
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { extractMessages, manifestMessages, parsePo } from "./src/lib/po.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));

export function sourceMessages() {
    const files = [];
    const walk = d => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory())
                walk(p);
            else if (/\.(js|jsx)$/.test(e.name) && e.name !== "po.js")
                files.push(p);
        }
    };
    walk(path.join(HERE, "src"));
    const seen = new Map();
    for (const f of files.sort()) {
        const rel = path.relative(HERE, f);
        for (const m of extractMessages(fs.readFileSync(f, "utf8"))) {
            const key = m.id;
            if (!seen.has(key))
                seen.set(key, { ...m, refs: [] });
            if (m.plural)
                seen.get(key).plural = m.plural;
            if (!seen.get(key).refs.includes(rel))
                seen.get(key).refs.push(rel);
        }
    }
    for (const m of manifestMessages(fs.readFileSync(path.join(HERE, "manifest.json"), "utf8"))) {
        if (!seen.has(m.id))
            seen.set(m.id, { ...m, refs: [] });
        seen.get(m.id).refs.push("manifest.json");
    }
    return [...seen.values()];
}

const q = s => JSON.stringify(s).replace(/\\u([0-9a-f]{4})/g, (m, h) => String.fromCharCode(parseInt(h, 16)));

function entryText(m, str) {
    let t = `#: ${m.refs.join(" ")}\nmsgid ${q(m.id)}\n`;
    if (m.plural) {
        t += `msgid_plural ${q(m.plural)}\n`;
        t += `msgstr[0] ${q(str[0] || "")}\nmsgstr[1] ${q(str[1] || "")}\n`;
    } else {
        t += `msgstr ${q(str[0] || "")}\n`;
    }
    return t;
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const msgs = sourceMessages();
    const header = 'msgid ""\nmsgstr ""\n"Project-Id-Version: stopstart\\n"\n"MIME-Version: 1.0\\n"\n' +
                   '"Content-Type: text/plain; charset=UTF-8\\n"\n"Content-Transfer-Encoding: 8bit\\n"\n';
    fs.writeFileSync(path.join(HERE, "po", "stopstart.pot"),
                     header + "\n" + msgs.map(m => entryText(m, [])).join("\n"));
    for (const f of fs.readdirSync(path.join(HERE, "po")).filter(f => f.endsWith(".po"))) {
        const p = path.join(HERE, "po", f);
        const old = parsePo(fs.readFileSync(p, "utf8"));
        const head = old.find(e => e.id === "");
        const byId = new Map(old.map(e => [e.id, e]));
        let out = `msgid ""\nmsgstr ""\n` + (head ? head.str[0].split("\n").filter(Boolean).map(l => `${q(l + "\n")}\n`).join("") : "") + "\n";
        let missing = 0;
        out += msgs.map(m => {
            const e = byId.get(m.id);
            const str = e && !e.fuzzy ? e.str : [];
            if (!str.length || str.some(s => !s))
                missing++;
            return entryText(m, str);
        }).join("\n");
        fs.writeFileSync(p, out);
        console.log(`${f}: ${msgs.length} messages, ${missing} untranslated`);
    }
}

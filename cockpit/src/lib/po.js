// Gettext .po files -> Cockpit's locale data (what `cockpit.locale()` takes in po.LANG.js),
// and the message extraction used by the translation check. No dependencies: runs at build
// time and in the unit tests.

function unquote(s) {
    // a po string literal: "..." with C escapes
    return JSON.parse(s.replace(/\\([^"\\nt])/g, "$1"));
}

// Returns [{ctx, id, plural, str: [..], fuzzy}], the header entry (id "") included.
export function parsePo(text) {
    const entries = [];
    let cur = null;
    let field = null;
    const flush = () => {
        if (cur && cur.id !== undefined)
            entries.push(cur);
        cur = null;
        field = null;
    };
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "") {
            flush();
            continue;
        }
        if (line.startsWith("#,")) {
            if (cur && cur.id !== undefined)
                flush();
            cur = cur || { str: [] };
            cur.fuzzy = line.includes("fuzzy");
            continue;
        }
        if (line.startsWith("#"))
            continue;
        let m;
        if ((m = line.match(/^(msgctxt|msgid|msgid_plural|msgstr)(?:\[(\d+)\])?\s+(".*")$/))) {
            const [, kw, idx, lit] = m;
            if ((kw === "msgctxt" || kw === "msgid") && cur && cur.id !== undefined && (kw === "msgctxt" || field !== "ctx"))
                flush();
            cur = cur || { str: [] };
            const v = unquote(lit);
            if (kw === "msgctxt") { cur.ctx = v; field = "ctx" }
            else if (kw === "msgid") { cur.id = v; field = "id" }
            else if (kw === "msgid_plural") { cur.plural = v; field = "plural" }
            else { field = "str" + (idx || 0); cur.str[Number(idx || 0)] = v }
        } else if (line.startsWith('"') && cur) {
            const v = unquote(line);
            if (field === "ctx") cur.ctx += v;
            else if (field === "id") cur.id += v;
            else if (field === "plural") cur.plural += v;
            else if (field && field.startsWith("str")) cur.str[Number(field.slice(3))] += v;
        } else {
            throw new Error(`po: cannot parse line: ${raw}`);
        }
    }
    flush();
    return entries;
}

function headerField(header, name) {
    const m = header.match(new RegExp(`^${name}:\\s*(.*)$`, "mi"));
    return m ? m[1].trim() : undefined;
}

// The JavaScript of po.LANG.js: cockpit.locale({...}) with a real plural function.
// only: a Set of msgids to keep (po.manifest.LANG.js carries the manifest's strings alone)
export function poToCockpitJs(text, lang, only = null) {
    const entries = parsePo(text);
    const header = entries.find(e => e.id === "")?.str[0] || "";
    const pf = headerField(header, "Plural-Forms") || "nplurals=2; plural=(n != 1);";
    if (!/^[\sa-z0-9=;()?:<>!&|%+-]*$/i.test(pf))
        throw new Error(`po: suspicious Plural-Forms: ${pf}`);
    const data = {};
    for (const e of entries) {
        if (e.id === "" || e.fuzzy || !e.str.length || e.str.some(s => !s) || (only && !only.has(e.id)))
            continue;
        const key = e.ctx !== undefined ? `${e.ctx}\u0004${e.id}` : e.id;
        data[key] = [e.plural ?? null, ...e.str];
    }
    const body = JSON.stringify(data);
    return `cockpit.locale({"": {"plural-forms": function(n) { var nplurals, plural; ${pf} return plural; }, ` +
           `"language": ${JSON.stringify(lang)}, "language-direction": "ltr"}, ${body.slice(1)});\n`;
}

// The strings of manifest.json that Cockpit's shell shows (menu and tools labels, dashboard
// entries); the shell translates them from the package's po.manifest.LANG.js.
export function manifestMessages(manifestText) {
    const m = JSON.parse(manifestText);
    const out = [];
    for (const section of ["menu", "tools", "dashboard"])
        for (const entry of Object.values(m[section] || {}))
            if (entry.label)
                out.push({ id: entry.label });
    return out;
}

// Messages used in the sources: _("..."), N_("..."), cockpit.gettext("..."),
// ngettext("one", "many", n), pgettext/C_("ctx", "..."). Only plain string literals count.
export function extractMessages(source) {
    const out = [];
    const lit = String.raw`"((?:[^"\\\n]|\\.)*)"`;
    const one = new RegExp(String.raw`(?<![\w.])(?:_|N_|cockpit\.gettext|gettext)\(\s*${lit}\s*[,)]`, "g");
    const many = new RegExp(String.raw`(?<![\w])(?:cockpit\.)?ngettext\(\s*${lit}\s*,\s*${lit}`, "g");
    const ctx = new RegExp(String.raw`(?<![\w])(?:C_|cockpit\.gettext)\(\s*${lit}\s*,\s*${lit}\s*\)`, "g");
    const dec = s => JSON.parse(`"${s}"`);
    for (const m of source.matchAll(one))
        out.push({ id: dec(m[1]) });
    for (const m of source.matchAll(many))
        out.push({ id: dec(m[1]), plural: dec(m[2]) });
    for (const m of source.matchAll(ctx))
        out.push({ ctx: dec(m[1]), id: dec(m[2]) });
    return out;
}

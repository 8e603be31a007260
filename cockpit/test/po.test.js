import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath } from "node:url";
import { parsePo, poToCockpitJs, extractMessages, manifestMessages } from "../src/lib/po.js";
import { sourceMessages } from "../update-po.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PO = path.join(HERE, "..", "po");

test("extraction finds _(), ngettext() and nothing else", () => {
    const m = extractMessages('x = _("Hello \\"you\\""); y = ngettext("$0 cat", "$0 cats", n); z = foo_("no"); w = _(variable);');
    assert.deepEqual(m, [{ id: 'Hello "you"' }, { id: "$0 cat", plural: "$0 cats" }]);
});

test("po.LANG.js is what cockpit.locale() takes, with a working plural function", () => {
    const js = poToCockpitJs('msgid ""\nmsgstr "Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n\n' +
                             'msgid "Save"\nmsgstr "Salvar"\n\nmsgid "$0 cat"\nmsgid_plural "$0 cats"\nmsgstr[0] "$0 gato"\nmsgstr[1] "$0 gatos"\n\n' +
                             '#, fuzzy\nmsgid "Close"\nmsgstr "Fechar?"\n', "pt_BR");
    let got;
    let plural;
    vm.runInNewContext(js, { cockpit: { locale: d => { got = d; plural = d[""]["plural-forms"] } } });
    got = JSON.parse(JSON.stringify(got, (k, v) => (typeof v === "function" ? undefined : v))), got[""]["plural-forms"] = plural;
    assert.deepEqual(got.Save, [null, "Salvar"]);
    assert.deepEqual(got["$0 cat"], ["$0 cats", "$0 gato", "$0 gatos"]);
    assert.equal(got.Close, undefined, "fuzzy entries are not used");
    assert.equal(got[""].language, "pt_BR");
    assert.equal(got[""]["plural-forms"](1), false);
    assert.equal(got[""]["plural-forms"](2), true);
});

for (const f of fs.readdirSync(PO).filter(f => f.endsWith(".po"))) {
    test(`${f} translates every string of the page`, () => {
        const entries = new Map(parsePo(fs.readFileSync(path.join(PO, f), "utf8")).map(e => [e.id, e]));
        const missing = [];
        for (const m of sourceMessages()) {
            const e = entries.get(m.id);
            if (!e || e.fuzzy || !e.str.length || e.str.some(s => !s) || (m.plural && e.str.length < 2))
                missing.push(m.id);
            else
                for (const ph of m.id.match(/\$\d/g) || [])
                    if (!e.str.every(s => s.includes(ph)))
                        missing.push(`${m.id} (placeholder ${ph} lost)`);
        }
        assert.deepEqual(missing, [], `untranslated in ${f} (run node update-po.js, then translate)`);
    });
}

test("the manifest's menu label is translatable and po.manifest.LANG.js carries it alone", () => {
    const labels = manifestMessages(fs.readFileSync(path.join(HERE, "..", "manifest.json"), "utf8"));
    assert.deepEqual(labels, [{ id: "Instance schedules" }]);
    assert.ok(sourceMessages().some(m => m.id === "Instance schedules"));
    let got;
    vm.runInNewContext(poToCockpitJs(fs.readFileSync(path.join(PO, "pt_BR.po"), "utf8"), "pt_BR", new Set(labels.map(l => l.id))),
                       { cockpit: { locale: d => { got = d } } });
    assert.deepEqual(Object.keys(got).sort(), ["", "Instance schedules"]);
    assert.equal(got["Instance schedules"][1], "Agendamento de instâncias");
});

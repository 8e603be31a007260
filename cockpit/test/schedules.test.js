import { test } from "node:test";
import assert from "node:assert/strict";
import {
    formFromSchedule, scheduleArgs, analyzeArgs, parseAnalyze, analyzeError, previewRows, occurrenceRows,
    actionSummary, simulationChart, simulationRange, targetLabel,
} from "../src/lib/schedules.js";

const ANALYZE = `  Original form: Mon..Fri 07:00 Europe/Lisbon
Normalized form: Mon..Fri *-*-* 07:00:00 Europe/Lisbon
    Next elapse: Mon 2026-12-07 07:00:00 UTC
       From now: 1 day 12h left
       Iter. #2: Tue 2026-12-08 07:00:00 UTC
       From now: 2 days left

  Original form: Sat 09:00 America/Sao_Paulo
Normalized form: Sat *-*-* 09:00:00 America/Sao_Paulo
    Next elapse: Sat 2026-12-12 12:00:00 UTC
       From now: 6 days left
       Iter. #2: Mon 2026-12-07 07:00:00 UTC
`;

test("systemd-analyze's instants of several specs merge sorted, without repeats, at most count", () => {
    const got = parseAnalyze(ANALYZE, 5);
    assert.deepEqual(got, [Date.UTC(2026, 11, 7, 7) * 1000, Date.UTC(2026, 11, 8, 7) * 1000, Date.UTC(2026, 11, 12, 12) * 1000]);
    assert.equal(parseAnalyze(ANALYZE, 1).length, 1);
    assert.deepEqual(parseAnalyze("", 3), []);
});

test("each spec is read in the zone, as the daemon's timers read it", () => {
    assert.deepEqual(analyzeArgs("Mon..Fri 07:00\n\n  Sat 09:00 ", "Europe/Lisbon", 4),
                     ["systemd-analyze", "calendar", "--iterations=4", "Mon..Fri 07:00 Europe/Lisbon", "Sat 09:00 Europe/Lisbon"]);
    assert.deepEqual(analyzeArgs("daily", "", 2), ["systemd-analyze", "calendar", "--iterations=2", "daily"]);
    assert.equal(analyzeError("Failed to parse calendar specification 'bogus': Invalid argument\n"),
                 "Failed to parse calendar specification 'bogus': Invalid argument");
});

test("the form refuses what the daemon would, before anything is sent", () => {
    const f = { ...formFromSchedule(null), name: "has space", calendars: " ", grace: "x", targets: [] };
    const a = scheduleArgs(f);
    assert.deepEqual(Object.keys(a.errors).sort(), ["calendars", "grace", "name", "targets"]);
    assert.equal(a.create, null);
});

test("a new schedule becomes CreateSchedule's arguments", () => {
    const f = { ...formFromSchedule(null), name: "office", action: "stop", calendars: "Mon..Fri 19:00\nSat 12:00",
                timeZone: "America/Sao_Paulo", targets: ["compartment:ocid1.c", "tag:env=dev"], grace: "30", exceptions: ["holidays"] };
    const a = scheduleArgs(f);
    assert.deepEqual(a.errors, {});
    assert.deepEqual(a.create, ["office", "stop", ["Mon..Fri 19:00", "Sat 12:00"], "America/Sao_Paulo", ["compartment:ocid1.c", "tag:env=dev"], {
        misfire_grace_usec: { t: "t", v: 30 * 60e6 }, enforce: { t: "b", v: false },
        exception_calendars: { t: "as", v: ["holidays"] }, enabled: { t: "b", v: true },
    }]);
});

test("an edit sends only what changed to Update", () => {
    const old = { name: "office", action: "stop", calendars: ["Mon..Fri 19:00"], timeZone: "UTC", targets: ["tag:a=b"],
                  misfireGrace: 15 * 60e6, enforce: false, exceptionCalendars: [] };
    const f = formFromSchedule(old);
    assert.equal(f.grace, "15");
    assert.deepEqual(scheduleArgs(f, old).changes, {});
    const a = scheduleArgs({ ...f, calendars: "Mon..Fri 20:00", enforce: true }, old);
    assert.deepEqual(a.changes, { calendars: { t: "as", v: ["Mon..Fri 20:00"] }, enforce: { t: "b", v: true } });
});

test("Preview, ListOccurrences and Simulate replies become rows", () => {
    assert.deepEqual(previewRows([[5, "skip", "skipped by alice", [["i1", "skip", "x"]]], [9, "run", "", [["i1", "act", ""], ["i2", "skip", "unmanaged"]]]]),
                     [{ at: 5, run: false, decision: "skip", reason: "skipped by alice", act: 0, skip: 1 },
                      { at: 9, run: true, decision: "run", reason: "", act: 1, skip: 1 }]);
    const occ = occurrenceRows([[1, "s", 10, "done", "", [["i1", "stop", "done", ""], ["i2", "stop", "skipped", "unmanaged"]]],
                                [2, "s", 20, "missed", "late", []]]);
    assert.deepEqual(occ.map(o => o.id), [2, 1]);
    assert.equal(actionSummary(occ[1].actions), "1 done, 1 skipped");
    const c = simulationChart([[1, "stop", []], [2, "start", []]], [["i1", 40, 168], ["i2", 168, 168]], id => id.toUpperCase());
    assert.deepEqual(c.bars.map(b => b.name), ["I2", "I1"]);
    assert.deepEqual(c.total, { running: 208, always: 336 });
    assert.equal(c.saved, 38);
    assert.equal(c.firings, 2);
});

test("the simulation range covers whole days and stays sane", () => {
    const r = simulationRange("2026-03-01", "2026-03-07");
    assert.equal((r.to - r.from) / 3600e6 >= 7 * 24 - 1, true);
    assert.ok(simulationRange("2026-03-07", "2026-03-01").error);
    assert.ok(simulationRange("", "2026-03-01").error);
    assert.ok(simulationRange("2026-01-01", "2027-06-01").error);
});

test("targets read as words", () => {
    const cn = id => "Name(" + id + ")";
    const inn = id => "Inst(" + id + ")";
    assert.equal(targetLabel("compartment:ocid1.c", cn, inn), "compartment Name(ocid1.c) and below");
    assert.equal(targetLabel("compartment-only:ocid1.c", cn, inn), "compartment Name(ocid1.c) only");
    assert.equal(targetLabel("defined-tag:ns.k=v", cn, inn), "tag ns.k=v");
    assert.equal(targetLabel("web-1", cn, inn), "Inst(web-1)");
});

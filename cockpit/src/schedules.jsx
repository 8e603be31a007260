// Schedules: the list, a schedule's next and past occurrences (skip, delay), a simulation of
// running hours as a chart, and the create/edit dialog with a live preview of the next instants.
import React, { useEffect, useMemo, useState } from "react";
import { Modal } from "@patternfly/react-core/dist/esm/components/Modal/index.js";
import { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
import { Switch } from "@patternfly/react-core/dist/esm/components/Switch/index.js";
import { Checkbox } from "@patternfly/react-core/dist/esm/components/Checkbox/index.js";
import { TextInput } from "@patternfly/react-core/dist/esm/components/TextInput/index.js";
import { TextArea } from "@patternfly/react-core/dist/esm/components/TextArea/index.js";
import { FormSelect, FormSelectOption } from "@patternfly/react-core/dist/esm/components/FormSelect/index.js";
import { Form, FormGroup, FormHelperText } from "@patternfly/react-core/dist/esm/components/Form/index.js";
import { HelperText, HelperTextItem } from "@patternfly/react-core/dist/esm/components/HelperText/index.js";
import { Label } from "@patternfly/react-core/dist/esm/components/Label/index.js";
import { Alert } from "@patternfly/react-core/dist/esm/components/Alert/index.js";
import { Toolbar, ToolbarContent, ToolbarItem } from "@patternfly/react-core/dist/esm/components/Toolbar/index.js";
import { Table, Thead, Tr, Th, Tbody, Td } from "@patternfly/react-table/dist/esm/components/Table/index.js";
import {
    ACTIONS, formFromSchedule, scheduleArgs, analyzeArgs, parseAnalyze, analyzeError, previewRows, occurrenceRows,
    actionSummary, simulationChart, simulationRange, targetLabel,
} from "./lib/schedules.js";
import { errorText } from "./lib/errors.js";
import { IFACE } from "./lib/model.js";
import { call, managerCall, analyzeCalendars } from "./dbus.js";
import { Disabled, InlineError } from "./widgets.jsx";
import { _, format, ngettext } from "./lib/i18n.js";
import { formatTime } from "./time.js";

const PREVIEW_COUNT = 5;
const HOUR_USEC = 3600e6;

export function actionLabel(a) {
    return { start: _("start"), stop: _("stop"), softstop: _("soft stop"), reboot: _("reboot"), softreboot: _("soft reboot") }[a] || a;
}

function specsText(s) {
    return (s.calendars || []).join("; ") + (s.timeZone ? " (" + s.timeZone + ")" : "");
}

export function SchedulesView({ model, gen, rights, compartments, compartmentName, instanceName }) {
    const [selected, setSelected] = useState(null);
    const [dialog, setDialog] = useState(null);
    const [error, setError] = useState("");
    const list = useMemo(() => [...model.schedules.values()].sort((a, b) => (a.name || "").localeCompare(b.name || "")),
                         [gen]); // eslint-disable-line react-hooks/exhaustive-deps
    const manage = rights["manage-schedules"];
    const sel = selected && model.schedules.get(selected);

    const setEnabled = (s, on) => {
        setError("");
        call(s.path, IFACE.schedule, on ? "Enable" : "Disable").catch(ex => setError(errorText(ex)));
    };

    return (
        <div className="ss-schedules" id="schedules">
            <Toolbar inset={{ default: "insetNone" }}>
                <ToolbarContent>
                    <ToolbarItem>
                        <Disabled reason={!manage.allowed ? manage.reason : ""}>
                            <Button variant="primary" id="schedule-create" isDisabled={!manage.allowed}
                                    onClick={() => setDialog({ path: null })}>{_("Create schedule")}</Button>
                        </Disabled>
                    </ToolbarItem>
                    <ToolbarItem>
                        <span className="ss-muted" id="schedule-count">{format(ngettext("$0 schedule", "$0 schedules", list.length), list.length)}</span>
                    </ToolbarItem>
                    {!manage.allowed && manage.reason &&
                        <ToolbarItem><span className="ss-muted" id="schedules-manage-reason">{format(_("Changing schedules: $0"), manage.reason)}</span></ToolbarItem>}
                </ToolbarContent>
            </Toolbar>
            <InlineError error={error} id="schedules-error" />
            <div className="ss-schedules-scroll">
                <Table id="schedules-table" aria-label={_("Schedules")} variant="compact">
                    <Thead>
                        <Tr>
                            <Th>{_("Name")}</Th>
                            <Th>{_("Action")}</Th>
                            <Th>{_("Calendar")}</Th>
                            <Th>{_("Targets")}</Th>
                            <Th>{_("Enabled")}</Th>
                            <Th>{_("Next elapse")}</Th>
                        </Tr>
                    </Thead>
                    <Tbody>
                        {list.map(s => (
                            <Tr key={s.path} className={"ss-schedule-row" + (s.path === selected ? " ss-row-selected" : "")}
                                data-name={s.name} data-next={s.nextElapse || 0} isClickable isRowSelected={s.path === selected}
                                onRowClick={ev => { if (!ev.target.closest("input, label")) setSelected(s.path) }}>
                                <Td dataLabel={_("Name")} className="ss-name">{s.name}{s.window ? <small className="ss-muted">{" " + format(_("window $0"), s.window)}</small> : null}</Td>
                                <Td dataLabel={_("Action")}>{actionLabel(s.action)}</Td>
                                <Td dataLabel={_("Calendar")} className="ss-wrap">{specsText(s)}</Td>
                                <Td dataLabel={_("Targets")} className="ss-wrap">
                                    {(s.targets || []).map(t => targetLabel(t, compartmentName, instanceName)).join(", ")}
                                </Td>
                                <Td dataLabel={_("Enabled")}>
                                    <Disabled reason={!manage.allowed ? manage.reason : ""}>
                                        <Switch id={"schedule-enabled-" + s.id} aria-label={_("Enabled")} isChecked={!!s.enabled}
                                                isDisabled={!manage.allowed} onChange={(_ev, on) => setEnabled(s, on)} />
                                    </Disabled>
                                </Td>
                                <Td dataLabel={_("Next elapse")} className="ss-next">{s.enabled && s.nextElapse ? formatTime(s.nextElapse) : "—"}</Td>
                            </Tr>
                        ))}
                    </Tbody>
                </Table>
                {list.length === 0 && <p className="ss-empty" id="schedules-empty">{_("No schedules yet.")}</p>}
                {sel && <ScheduleDetail key={sel.path} s={sel} gen={gen} rights={rights} instanceName={instanceName}
                                        onEdit={() => setDialog({ path: sel.path })} />}
            </div>
            {dialog &&
                <ScheduleDialog model={model} path={dialog.path} rights={rights} compartments={compartments}
                                compartmentName={compartmentName} instanceName={instanceName}
                                onClose={created => { setDialog(null); if (created) setSelected(created) }} />}
        </div>
    );
}

function ScheduleDetail({ s, gen, rights, instanceName, onEdit }) {
    const [preview, setPreview] = useState(null);
    const [past, setPast] = useState(null);
    const [open, setOpen] = useState(() => new Set());
    const [error, setError] = useState("");
    const [busy, setBusy] = useState(false);
    const operate = rights.operate;
    const manage = rights["manage-schedules"];

    // the schedule's properties change on every skip, delay or edit: ask again then
    const key = [s.name, s.nextElapse, s.lastTrigger, s.enabled, (s.calendars || []).join(","), s.timeZone, (s.targets || []).join(",")].join("|");
    useEffect(() => {
        call(s.path, IFACE.schedule, "Preview", [PREVIEW_COUNT])
                .then(([r]) => setPreview(previewRows(r)))
                .catch(ex => { setPreview([]); setError(errorText(ex)) });
        managerCall("ListOccurrences", [{ schedule: { t: "s", v: s.name }, limit: { t: "u", v: 20 } }])
                .then(([r]) => setPast(occurrenceRows(r)))
                .catch(ex => { setPast([]); setError(errorText(ex)) });
    }, [key, gen > 0]); // eslint-disable-line react-hooks/exhaustive-deps

    const act = (method, args) => {
        setError("");
        setBusy(true);
        call(s.path, IFACE.schedule, method, args)
                .then(() => call(s.path, IFACE.schedule, "Preview", [PREVIEW_COUNT]))
                .then(([r]) => setPreview(previewRows(r)))
                .catch(ex => setError(errorText(ex)))
                .finally(() => setBusy(false));
    };
    const operateReason = !operate.allowed ? operate.reason : "";
    const toggle = id => setOpen(o => { const n = new Set(o); if (n.has(id)) n.delete(id); else n.add(id); return n });

    return (
        <section className="ss-schedule-detail" id="schedule-detail" data-name={s.name}>
            <div className="ss-actions">
                <h2 className="ss-pane-title">{s.name}</h2>
                <Label isCompact color={s.enabled ? "green" : "grey"}>{s.enabled ? _("enabled") : _("disabled")}</Label>
                <span className="ss-muted">{format(ngettext("$0 instance now", "$0 instances now", s.targetCount || 0), s.targetCount || 0)}</span>
                <span className="ss-muted">
                    {format(_("grace $0 min"), Math.round(Number(s.misfireGrace || 0) / 60e6))}
                    {s.enforce ? " · " + _("enforced") : ""}
                    {(s.exceptionCalendars || []).length ? " · " + format(_("except $0"), s.exceptionCalendars.join(", ")) : ""}
                </span>
                <Disabled reason={!manage.allowed ? manage.reason : ""}>
                    <Button variant="secondary" id="schedule-edit" isDisabled={!manage.allowed} onClick={onEdit}>{_("Edit")}</Button>
                </Disabled>
            </div>
            <InlineError error={error} id="schedule-error" />
            {operateReason && <p className="ss-muted" id="schedule-operate-reason">{format(_("Skipping and delaying: $0"), operateReason)}</p>}

            <h3 className="ss-subtitle">{_("Next occurrences")}</h3>
            {!s.enabled && <p className="ss-muted">{_("The schedule is disabled: these are the instants it would fire at.")}</p>}
            <table className="ss-simple-table" id="schedule-preview">
                <thead><tr><th>{_("When")}</th><th>{_("Decision")}</th><th>{_("Instances")}</th><th /></tr></thead>
                <tbody>
                    {(preview || []).map((p, k) => (
                        <tr key={p.at} data-at={p.at} data-decision={p.decision} className={p.run ? "" : "ss-muted"}>
                            <td>{formatTime(p.at)}</td>
                            <td>{p.run ? _("runs") : format(_("skipped: $0"), p.reason)}</td>
                            <td>{format(_("$0 act, $1 left alone"), p.act, p.skip)}</td>
                            <td className="ss-row-buttons">
                                <Disabled reason={operateReason}>
                                    <Button variant="link" isInline id={"skip-" + k} isDisabled={!!operateReason || busy || !p.run}
                                            onClick={() => act("Skip", [p.at])}>{_("Skip")}</Button>
                                </Disabled>
                                <Disabled reason={operateReason}>
                                    <Button variant="link" isInline id={"delay-" + k} isDisabled={!!operateReason || busy || !p.run}
                                            onClick={() => act("Delay", [p.at, HOUR_USEC])}>{_("Delay 1 h")}</Button>
                                </Disabled>
                            </td>
                        </tr>
                    ))}
                    {preview && preview.length === 0 && <tr><td colSpan={4} className="ss-muted">{_("No upcoming occurrence.")}</td></tr>}
                </tbody>
            </table>

            <h3 className="ss-subtitle">{_("Past occurrences")}</h3>
            <table className="ss-simple-table" id="schedule-past">
                <thead><tr><th>{_("When")}</th><th>{_("State")}</th><th>{_("Instances")}</th></tr></thead>
                <tbody>
                    {(past || []).map(o => (
                        <React.Fragment key={o.id}>
                            <tr data-state={o.state} className="ss-occurrence" onClick={() => toggle(o.id)}>
                                <td><Button variant="link" isInline aria-expanded={open.has(o.id)}>{formatTime(o.at)}</Button></td>
                                <td>{o.state}{o.reason ? " — " + o.reason : ""}</td>
                                <td>{actionSummary(o.actions) || "—"}</td>
                            </tr>
                            {open.has(o.id) && o.actions.map((a, k) => (
                                <tr key={o.id + ":" + k} className="ss-occurrence-action" data-state={a.state}>
                                    <td className="ss-indent">{instanceName(a.instance)}</td>
                                    <td>{actionLabel(a.action)}: {a.state}</td>
                                    <td>{a.reason}</td>
                                </tr>
                            ))}
                        </React.Fragment>
                    ))}
                    {past && past.length === 0 && <tr><td colSpan={3} className="ss-muted">{_("It has not fired yet.")}</td></tr>}
                </tbody>
            </table>

            <Simulation s={s} instanceName={instanceName} />
        </section>
    );
}

function dayInput(d) {
    const p = n => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function Simulation({ s, instanceName }) {
    const [range, setRange] = useState(() => {
        const from = new Date();
        const to = new Date();
        to.setDate(to.getDate() + 6);
        return { from: dayInput(from), to: dayInput(to) };
    });
    const [chart, setChart] = useState(null);
    const [error, setError] = useState("");
    const run = () => {
        const r = simulationRange(range.from, range.to);
        setError(r.error || "");
        if (r.error)
            return;
        call(s.path, IFACE.schedule, "Simulate", [r.from, r.to])
                .then(([firings, instances]) => setChart(simulationChart(firings, instances, instanceName)))
                .catch(ex => setError(errorText(ex)));
    };
    return (
        <>
            <h3 className="ss-subtitle">{_("Running hours simulation")}</h3>
            <div className="ss-actions">
                <label className="ss-inline-label">{_("From")}
                    <TextInput id="sim-from" type="date" aria-label={_("From")} value={range.from} onChange={(_ev, v) => setRange({ ...range, from: v })} />
                </label>
                <label className="ss-inline-label">{_("To")}
                    <TextInput id="sim-to" type="date" aria-label={_("To")} value={range.to} onChange={(_ev, v) => setRange({ ...range, to: v })} />
                </label>
                <Button variant="secondary" id="sim-run" onClick={run}>{_("Simulate")}</Button>
            </div>
            <InlineError error={error} id="sim-error" />
            {chart && <SimulationChart chart={chart} />}
        </>
    );
}

const MAX_BARS = 15;

// Horizontal bars per instance: the always-on hours of the range (pale) and the hours the
// schedule leaves it running (solid).
export function SimulationChart({ chart }) {
    const bars = chart.bars.slice(0, MAX_BARS);
    const max = Math.max(1, ...bars.map(b => Math.max(b.always, b.running)));
    const W = 640, LABEL = 200, BAR = 18, GAP = 6;
    const H = bars.length * (BAR + GAP) + 24;
    const x = h => LABEL + (W - LABEL - 60) * (h / max);
    return (
        <div id="sim-result" data-running={chart.total.running.toFixed(1)} data-always={chart.total.always.toFixed(1)}>
            <p>
                {format(_("$0 h running of $1 h always on ($2% saved), $3 firings."),
                        chart.total.running.toFixed(1), chart.total.always.toFixed(1), chart.saved, chart.firings)}
                {chart.bars.length > MAX_BARS ? " " + format(_("The $0 largest of $1 instances:"), MAX_BARS, chart.bars.length) : ""}
            </p>
            {bars.length > 0 &&
                <svg className="ss-chart" width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img"
                     aria-label={_("Running hours per instance")}>
                    {bars.map((b, k) => {
                        const y = k * (BAR + GAP);
                        return (
                            <g key={b.id} className="ss-bar" data-id={b.id}>
                                <title>{format(_("$0: $1 h of $2 h"), b.name, b.running.toFixed(1), b.always.toFixed(1))}</title>
                                <text x={LABEL - 8} y={y + BAR - 5} textAnchor="end" className="ss-chart-label">
                                    {b.name.length > 28 ? b.name.slice(0, 27) + "…" : b.name}
                                </text>
                                <rect x={LABEL} y={y} width={x(b.always) - LABEL} height={BAR} className="ss-bar-always" />
                                <rect x={LABEL} y={y} width={x(b.running) - LABEL} height={BAR} className="ss-bar-running" />
                                <text x={x(b.always) + 6} y={y + BAR - 5} className="ss-chart-label">{b.running.toFixed(1) + " h"}</text>
                            </g>
                        );
                    })}
                    <g className="ss-chart-legend" transform={`translate(${LABEL}, ${H - 12})`}>
                        <rect width="10" height="10" className="ss-bar-running" />
                        <text x="14" y="9" className="ss-chart-label">{_("running by the schedule")}</text>
                        <rect x="180" width="10" height="10" className="ss-bar-always" />
                        <text x="194" y="9" className="ss-chart-label">{_("always on")}</text>
                    </g>
                </svg>}
        </div>
    );
}

function zones() {
    try {
        return Intl.supportedValuesOf("timeZone");
    } catch (e) {
        return [];
    }
}

function ScheduleDialog({ model, path, rights, compartments, compartmentName, instanceName, onClose }) {
    const old = path ? model.schedules.get(path) : null;
    const [form, setForm] = useState(() => formFromSchedule(old));
    const [errors, setErrors] = useState({});
    const [error, setError] = useState("");
    const [busy, setBusy] = useState(false);
    const [calendars, setCalendars] = useState([]);
    const [preview, setPreview] = useState({ instants: [], error: "" });
    const [pick, setPick] = useState({ compartment: "", subtree: true, other: "" });
    const manage = rights["manage-schedules"];
    const set = (k, v) => setForm(f => ({ ...f, [k]: v }));

    useEffect(() => {
        managerCall("ListCalendars").then(([list]) => setCalendars(list.map(([name]) => name))).catch(() => {});
    }, []);

    // the next instants of the specs as typed, from systemd's calendar engine, a moment after typing
    useEffect(() => {
        if (!form.calendars.trim()) {
            setPreview({ instants: [], error: "" });
            return;
        }
        let live = true;
        const timer = setTimeout(() => {
            analyzeCalendars(analyzeArgs(form.calendars, form.timeZone.trim(), PREVIEW_COUNT))
                    .then(out => { if (live) setPreview({ instants: parseAnalyze(out, PREVIEW_COUNT), error: "" }) })
                    .catch(ex => { if (live) setPreview({ instants: [], error: analyzeError(ex.message) || errorText(ex) }) });
        }, 300);
        return () => { live = false; clearTimeout(timer) };
    }, [form.calendars, form.timeZone]);

    const addTarget = t => {
        if (t && !form.targets.includes(t))
            set("targets", [...form.targets, t]);
    };

    const save = () => {
        const a = scheduleArgs(form, old);
        setErrors(a.errors);
        setError("");
        if (Object.keys(a.errors).length)
            return;
        setBusy(true);
        const p = old
            ? (Object.keys(a.changes).length ? call(old.path, IFACE.schedule, "Update", [a.changes]) : Promise.resolve()).then(() => old.path)
            : managerCall("CreateSchedule", a.create).then(([obj]) => obj);
        p.then(obj => onClose(obj))
                .catch(ex => setError(errorText(ex)))
                .finally(() => setBusy(false));
    };
    const del = () => {
        setBusy(true);
        call(old.path, IFACE.schedule, "Delete").then(() => onClose(null)).catch(ex => setError(errorText(ex))).finally(() => setBusy(false));
    };

    const reason = !manage.allowed ? manage.reason : "";
    const footer = (
        <>
            <Disabled reason={reason}>
                <Button variant="primary" id="schedule-save" isDisabled={!!reason || busy} isLoading={busy} onClick={save}>
                    {old ? _("Save") : _("Create")}
                </Button>
            </Disabled>
            {old && <Button variant="danger" id="schedule-delete" isDisabled={!!reason || busy} onClick={del}>{_("Delete")}</Button>}
            <Button variant="link" id="schedule-cancel" onClick={() => onClose(null)}>{_("Cancel")}</Button>
        </>
    );
    const err = k => errors[k] ? <FormHelperText><HelperText><HelperTextItem variant="error" id={"schedule-" + k + "-error"}>{errors[k]}</HelperTextItem></HelperText></FormHelperText> : null;

    return (
        <Modal isOpen variant="medium" id="schedule-dialog" title={old ? format(_("Edit schedule $0"), old.name) : _("Create schedule")}
               onClose={() => onClose(null)} footer={footer}>
            <InlineError error={error} id="schedule-dialog-error" />
            {reason && <Alert variant="info" isInline isPlain title={reason} />}
            <Form isHorizontal onSubmit={ev => ev.preventDefault()}>
                <FormGroup label={_("Name")} fieldId="schedule-name" isRequired>
                    <TextInput id="schedule-name" value={form.name} validated={errors.name ? "error" : "default"} onChange={(_ev, v) => set("name", v)} />
                    {err("name")}
                </FormGroup>
                <FormGroup label={_("Action")} fieldId="schedule-action">
                    <FormSelect id="schedule-action" value={form.action} onChange={(_ev, v) => set("action", v)}>
                        {ACTIONS.map(a => <FormSelectOption key={a} value={a} label={actionLabel(a)} />)}
                    </FormSelect>
                </FormGroup>
                <FormGroup label={_("Calendar")} fieldId="schedule-calendars" isRequired>
                    <TextArea id="schedule-calendars" value={form.calendars} rows={2} resizeOrientation="vertical"
                              validated={errors.calendars || preview.error ? "error" : "default"}
                              placeholder="Mon..Fri 07:00" onChange={(_ev, v) => set("calendars", v)} />
                    <FormHelperText><HelperText><HelperTextItem>{_("systemd calendar specs, one per line (see systemd.time).")}</HelperTextItem></HelperText></FormHelperText>
                    {err("calendars")}
                </FormGroup>
                <FormGroup label={_("Time zone")} fieldId="schedule-zone">
                    <TextInput id="schedule-zone" value={form.timeZone} list="schedule-zones" placeholder={_("the daemon's default")}
                               onChange={(_ev, v) => set("timeZone", v)} />
                    <datalist id="schedule-zones">{zones().map(z => <option key={z} value={z} />)}</datalist>
                </FormGroup>
                <FormGroup label={_("Next instants")} fieldId="schedule-draft-preview">
                    <div id="schedule-draft-preview" className="ss-draft-preview" data-count={preview.instants.length}>
                        {preview.error
                            ? <span className="ss-error-text" id="schedule-draft-error">{preview.error}</span>
                            : preview.instants.length
                                ? <ul>{preview.instants.map(t => <li key={t} data-at={t}>{formatTime(t)}</li>)}</ul>
                                : <span className="ss-muted">{_("Type a calendar spec to see when it fires.")}</span>}
                    </div>
                </FormGroup>
                <FormGroup label={_("Targets")} fieldId="schedule-target-compartment" isRequired>
                    <div className="ss-targets" id="schedule-targets">
                        {form.targets.map(t => (
                            <Label key={t} data-target={t} onClose={() => set("targets", form.targets.filter(x => x !== t))}
                                   closeBtnAriaLabel={_("Remove")}>{targetLabel(t, compartmentName, instanceName)}</Label>
                        ))}
                        {!form.targets.length && <span className="ss-muted">{_("No targets yet.")}</span>}
                    </div>
                    <div className="ss-target-pick">
                        <FormSelect id="schedule-target-compartment" aria-label={_("Compartment")} value={pick.compartment}
                                    onChange={(_ev, v) => setPick({ ...pick, compartment: v })}>
                            <FormSelectOption value="" label={_("Pick a compartment…")} />
                            {compartments.map(c => <FormSelectOption key={c.id} value={c.id} label={c.ocipath || c.name} />)}
                        </FormSelect>
                        <Checkbox id="schedule-target-subtree" label={_("and below")} isChecked={pick.subtree}
                                  onChange={(_ev, v) => setPick({ ...pick, subtree: v })} />
                        <Button variant="secondary" id="schedule-target-add-compartment" isDisabled={!pick.compartment}
                                onClick={() => addTarget((pick.subtree ? "compartment:" : "compartment-only:") + pick.compartment)}>{_("Add")}</Button>
                    </div>
                    <div className="ss-target-pick">
                        <TextInput id="schedule-target-other" aria-label={_("Instance or tag")} value={pick.other}
                                   placeholder={_("tag:KEY=VALUE, instance name or OCID")} onChange={(_ev, v) => setPick({ ...pick, other: v })} />
                        <Button variant="secondary" id="schedule-target-add-other" isDisabled={!pick.other.trim()}
                                onClick={() => { addTarget(pick.other.trim()); setPick({ ...pick, other: "" }) }}>{_("Add")}</Button>
                    </div>
                    {err("targets")}
                </FormGroup>
                <FormGroup label={_("Exception calendars")} fieldId="schedule-exceptions">
                    {calendars.length === 0 && <span className="ss-muted">{_("None defined (stopstartctl calendar add).")}</span>}
                    {calendars.map(c => (
                        <Checkbox key={c} id={"schedule-exception-" + c} label={c} isChecked={form.exceptions.includes(c)}
                                  onChange={(_ev, on) => set("exceptions", on ? [...form.exceptions, c] : form.exceptions.filter(x => x !== c))} />
                    ))}
                </FormGroup>
                <FormGroup label={_("Misfire grace (minutes)")} fieldId="schedule-grace">
                    <TextInput id="schedule-grace" value={form.grace} validated={errors.grace ? "error" : "default"}
                               onChange={(_ev, v) => set("grace", v)} />
                    {err("grace")}
                </FormGroup>
                <FormGroup fieldId="schedule-enforce">
                    <Switch id="schedule-enforce" label={_("Enforce: re-assert the state at every firing, even after a manual change")}
                            isChecked={form.enforce} onChange={(_ev, v) => set("enforce", v)} />
                    {!old && <Switch id="schedule-enabled" label={_("Enabled")} isChecked={form.enabled} onChange={(_ev, v) => set("enabled", v)} />}
                </FormGroup>
            </Form>
        </Modal>
    );
}

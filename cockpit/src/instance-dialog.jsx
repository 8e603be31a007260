// The instance popup: status, Start/Stop/Reboot with the job's progress until it ends, the
// configuration form, Explain and the last actions.
import React, { useEffect, useState } from "react";
import { Modal } from "@patternfly/react-core/dist/esm/components/Modal/index.js";
import { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
import { Progress } from "@patternfly/react-core/dist/esm/components/Progress/index.js";
import { Tabs, Tab, TabTitleText } from "@patternfly/react-core/dist/esm/components/Tabs/index.js";
import { DescriptionList, DescriptionListGroup, DescriptionListTerm, DescriptionListDescription } from "@patternfly/react-core/dist/esm/components/DescriptionList/index.js";
import { Alert } from "@patternfly/react-core/dist/esm/components/Alert/index.js";
import { ConfigForm, sourceText } from "./config-form.jsx";
import { StateLabel } from "./instances.jsx";
import { Disabled, InlineError } from "./widgets.jsx";
import { formFromConfig, validateForm, describeValue, keyLabel, configChain, effectiveFromChain } from "./lib/config.js";
import { historyRows, summarizeDetails } from "./lib/history.js";
import { errorText } from "./lib/errors.js";
import { IFACE } from "./lib/model.js";
import { call, managerCall } from "./dbus.js";
import { _, format } from "./lib/i18n.js";
import { formatTime } from "./time.js";

export function JobProgress({ job, idPrefix }) {
    if (!job)
        return null;
    const done = job.state === "done";
    const ok = job.result === "done" || job.result === "skipped";
    const title = done
        ? format(_("$0: $1"), job.kind, job.result) + (job.error ? " — " + job.error : "")
        : format(_("$0: $1"), job.kind, job.state);
    return (
        <div className="ss-job" id={`${idPrefix}-job`} data-state={job.state} data-result={job.result || ""}>
            <Progress value={Math.round((done ? 1 : job.progress || 0) * 100)} title={title} size="sm"
                      variant={done ? (ok ? "success" : "danger") : undefined} aria-label={title} />
        </div>
    );
}

export function InstanceDialog({ model, path, rights, compartmentName, onClose }) {
    const inst = model.instances.get(path);
    const [tab, setTab] = useState("status");
    const [form, setForm] = useState(() => formFromConfig(inst?.config));
    const [errors, setErrors] = useState({});
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState("");
    const [saved, setSaved] = useState("");
    const [jobPath, setJobPath] = useState(null);
    const [explain, setExplain] = useState(null);
    const [history, setHistory] = useState(null);

    const ocid = inst?.id;
    useEffect(() => {
        if (!ocid)
            return;
        managerCall("History", [{ instance: { t: "s", v: ocid }, limit: { t: "u", v: 10 } }])
                .then(([rows]) => setHistory(historyRows(rows)))
                .catch(ex => setHistory({ error: errorText(ex) }));
    }, [ocid, jobPath, saved]);

    if (!inst)
        return (
            <Modal isOpen variant="medium" title={_("Instance")} onClose={onClose}>
                <Alert variant="warning" isInline title={_("The instance is gone (it was removed in the meantime).")} />
            </Modal>
        );

    const chain = configChain(model.compartments, inst, true);
    const effective = effectiveFromChain(chain);
    const inherited = effectiveFromChain(chain.slice(1));
    const job = jobPath ? model.jobs.get(jobPath) : model.jobForTarget(inst.id);
    const jobRunning = job && job.state !== "done";

    const act = (method, args) => {
        setError("");
        setBusy(true);
        call(path, IFACE.instance, method, args)
                .then(([jp]) => setJobPath(jp))
                .catch(ex => setError(errorText(ex)))
                .finally(() => setBusy(false));
    };

    const save = () => {
        const v = validateForm(form, inst.config);
        setErrors(v.errors);
        setSaved("");
        if (Object.keys(v.errors).length)
            return;
        if (!Object.keys(v.changes).length) {
            setSaved(_("Nothing changed."));
            return;
        }
        setBusy(true);
        setError("");
        call(path, IFACE.instance, "SetConfig", [v.changes])
                .then(() => setSaved(_("Saved.")))
                .catch(ex => setError(errorText(ex)))
                .finally(() => setBusy(false));
    };

    const runExplain = () => {
        setExplain(null);
        call(path, IFACE.instance, "Explain", [])
                .then(([json]) => setExplain({ data: JSON.parse(json) }))
                .catch(ex => setExplain({ error: errorText(ex) }));
    };

    const opReason = !rights.operate.allowed ? rights.operate.reason : "";
    const cfgReason = !rights.configure.allowed ? rights.configure.reason : "";
    const actionButton = (id, label, method, args, variant = "secondary") => (
        <Disabled reason={opReason || (jobRunning ? _("A job for this instance is running.") : "")}>
            <Button id={id} variant={variant} isDisabled={!!opReason || busy || jobRunning}
                    onClick={() => act(method, args)}>{label}</Button>
        </Disabled>
    );

    const footer = [
        tab === "config" &&
            <Disabled key="save" reason={cfgReason}>
                <Button id="instance-save" variant="primary" isDisabled={!!cfgReason || busy} onClick={save}>{_("Save")}</Button>
            </Disabled>,
        <Button key="close" id="instance-close" variant="link" onClick={onClose}>{_("Close")}</Button>,
    ].filter(Boolean);

    return (
        <Modal isOpen variant="large" id="instance-dialog" title={inst.name} description={inst.id}
               onClose={onClose} footer={footer} className="ss-instance-dialog">
            <InlineError error={error} id="instance-error" />
            {saved && <Alert variant="success" isInline isPlain title={saved} id="instance-saved" />}
            <Tabs activeKey={tab} onSelect={(_ev, k) => setTab(k)} id="instance-tabs">
                <Tab eventKey="status" title={<TabTitleText>{_("Status")}</TabTitleText>} id="instance-tab-status">
                    <div className="ss-tab-body">
                        <DescriptionList isHorizontal isCompact columnModifier={{ lg: "2Col" }}>
                            <Item term={_("State")}><span id="instance-state" data-state={inst.state}><StateLabel state={inst.state} observedAt={inst.observedAt} /></span></Item>
                            <Item term={_("Observed")}>{formatTime(inst.observedAt)}</Item>
                            <Item term={_("Shape")}>{inst.shape}</Item>
                            <Item term={_("Region")}>{inst.region}</Item>
                            <Item term={_("Availability domain")}>{inst.ad}</Item>
                            <Item term={_("Fault domain")}>{inst.fd}</Item>
                            <Item term={_("Compartment")}>{compartmentName(inst.compartmentId)}</Item>
                            <Item term={_("Managed")}>{describeValue("managed", effective.managed.value)}</Item>
                            <Item term={_("Stop mode")}>{describeValue("stop_mode", effective.stop_mode.value)}</Item>
                            <Item term={_("Override")}>{effective.override_state.value
                                ? format(_("$0 until $1"), describeValue("override_state", effective.override_state.value), formatTime(effective.override_until.value))
                                : _("none")}</Item>
                            <Item term={_("Tags")}>{Object.entries(inst.tags || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "—"}</Item>
                        </DescriptionList>
                        <div className="ss-actions">
                            {actionButton("instance-start", _("Start"), "Start", [], "primary")}
                            {actionButton("instance-stop", _("Stop"), "Stop", [""])}
                            {actionButton("instance-reboot", _("Reboot"), "Reboot", [""])}
                            {opReason && <span className="ss-muted ss-reason" id="instance-operate-reason">{opReason}</span>}
                        </div>
                        <JobProgress job={job} idPrefix="instance" />
                        <h3 className="ss-subtitle">{_("Last actions")}</h3>
                        <LastActions history={history} />
                    </div>
                </Tab>
                <Tab eventKey="config" title={<TabTitleText>{_("Configuration")}</TabTitleText>} id="instance-tab-config">
                    <div className="ss-tab-body">
                        {cfgReason && <Alert variant="info" isInline isPlain id="instance-configure-reason"
                                             title={format(_("Read only: $0"), cfgReason)} />}
                        <ConfigForm idPrefix="cfg" form={form} setForm={setForm} inherited={inherited} errors={errors}
                                    disabled={!!cfgReason || busy} compartmentName={compartmentName} />
                    </div>
                </Tab>
                <Tab eventKey="explain" title={<TabTitleText>{_("Explain")}</TabTitleText>} id="instance-tab-explain">
                    <div className="ss-tab-body">
                        <Button id="instance-explain" variant="secondary" onClick={runExplain}>{_("Explain")}</Button>
                        <ExplainView explain={explain} compartmentName={compartmentName} />
                    </div>
                </Tab>
            </Tabs>
        </Modal>
    );
}

function Item({ term, children }) {
    return (
        <DescriptionListGroup>
            <DescriptionListTerm>{term}</DescriptionListTerm>
            <DescriptionListDescription>{children}</DescriptionListDescription>
        </DescriptionListGroup>
    );
}

function LastActions({ history }) {
    if (!history)
        return <p className="ss-muted">{_("Loading…")}</p>;
    if (history.error)
        return <InlineError error={history.error} />;
    if (!history.length)
        return <p className="ss-muted" id="last-actions-empty">{_("No actions or changes recorded yet.")}</p>;
    return (
        <table className="ss-simple-table" id="last-actions">
            <tbody>
                {history.map(r => (
                    <tr key={r.id}>
                        <td>{formatTime(r.time)}</td><td>{r.actor}</td><td>{r.operation}</td>
                        <td>{summarizeDetails(r.details)}</td>
                    </tr>
                ))}
            </tbody>
        </table>
    );
}

function ExplainView({ explain, compartmentName }) {
    if (!explain)
        return null;
    if (explain.error)
        return <InlineError error={explain.error} id="explain-error" />;
    const d = explain.data;
    const entries = Object.entries(d || {});
    const simple = entries.filter(([, v]) => v && typeof v === "object" && "source" in v);
    const other = entries.filter(([, v]) => !(v && typeof v === "object" && "source" in v));
    return (
        <div id="explain-result">
            <table className="ss-simple-table">
                <thead><tr><th>{_("Setting")}</th><th>{_("Value")}</th><th>{_("From")}</th></tr></thead>
                <tbody>
                    {simple.map(([k, v]) => (
                        <tr key={k} data-key={k}>
                            <td>{keyLabel(k)}</td>
                            <td>{k === "override_until" ? formatTime(v.value) : describeValue(k, v.value)}</td>
                            <td>{sourceText(v.source, compartmentName)}</td>
                        </tr>
                    ))}
                </tbody>
            </table>
            {other.length > 0 && <pre className="ss-pre">{JSON.stringify(Object.fromEntries(other), null, 2)}</pre>}
        </div>
    );
}

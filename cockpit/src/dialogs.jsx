// Compartment defaults editor and the bulk action confirmation.
import React, { useState } from "react";
import { Modal } from "@patternfly/react-core/dist/esm/components/Modal/index.js";
import { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
import { Alert } from "@patternfly/react-core/dist/esm/components/Alert/index.js";
import { ConfigForm } from "./config-form.jsx";
import { JobProgress } from "./instance-dialog.jsx";
import { Disabled, InlineError } from "./widgets.jsx";
import { formFromConfig, validateForm, configChain, effectiveFromChain, SETTING_KEYS, describeValue, keyLabel } from "./lib/config.js";
import { bulkPlan } from "./lib/filter.js";
import { errorText } from "./lib/errors.js";
import { IFACE } from "./lib/model.js";
import { call } from "./dbus.js";
import { _, format, ngettext } from "./lib/i18n.js";

export function DefaultsDialog({ model, path, rights, compartmentName, onClose }) {
    const comp = model.compartments.get(path);
    const [form, setForm] = useState(() => formFromConfig(comp?.defaults));
    const [errors, setErrors] = useState({});
    const [error, setError] = useState("");
    const [saved, setSaved] = useState("");
    const [busy, setBusy] = useState(false);
    if (!comp)
        return null;
    const chain = configChain(model.compartments, comp, false);
    const inherited = effectiveFromChain(chain.slice(1));
    const effective = effectiveFromChain(chain);
    const reason = !rights.configure.allowed ? rights.configure.reason : "";

    const save = () => {
        const v = validateForm(form, comp.defaults);
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
        call(path, IFACE.compartment, "SetDefaults", [v.changes])
                .then(() => setSaved(_("Saved.")))
                .catch(ex => setError(errorText(ex)))
                .finally(() => setBusy(false));
    };
    return (
        <Modal isOpen variant="large" id="defaults-dialog" onClose={onClose}
               title={format(_("Defaults of $0"), comp.name)} description={comp.ocipath || comp.id}
               footer={[
                   <Disabled key="save" reason={reason}>
                       <Button id="defaults-save" variant="primary" isDisabled={!!reason || busy} onClick={save}>{_("Save")}</Button>
                   </Disabled>,
                   <Button key="close" id="defaults-close" variant="link" onClick={onClose}>{_("Close")}</Button>,
               ]}>
            <p className="ss-muted">{_("Settings made here apply to every instance and compartment below unless they set their own.")}</p>
            {reason && <Alert variant="info" isInline isPlain id="defaults-configure-reason" title={format(_("Read only: $0"), reason)} />}
            <InlineError error={error} id="defaults-error" />
            {saved && <Alert variant="success" isInline isPlain title={saved} id="defaults-saved" />}
            <ConfigForm idPrefix="def" form={form} setForm={setForm} inherited={inherited} errors={errors}
                        disabled={!!reason || busy} compartmentName={compartmentName} />
            <h3 className="ss-subtitle">{_("What the subtree inherits now")}</h3>
            <table className="ss-simple-table" id="defaults-effective">
                <tbody>
                    {SETTING_KEYS.map(k => (
                        <tr key={k}><td>{keyLabel(k)}</td><td>{describeValue(k, effective[k].value)}</td></tr>
                    ))}
                </tbody>
            </table>
        </Modal>
    );
}

const ACTION_LABEL = { start: () => _("Start"), stop: () => _("Stop"), reboot: () => _("Reboot") };

export function BulkDialog({ model, action, instances, effectiveOf, onClose }) {
    const [plan] = useState(() => bulkPlan(action, instances, i => effectiveOf(i)));
    const [results, setResults] = useState(null);
    const acting = plan.filter(p => !p.skip);
    const run = () => {
        const res = {};
        setResults({ ...res });
        // one call per instance; the daemon queues the jobs and acts on them concurrently
        Promise.all(acting.map(p => {
            const args = action === "start" ? [] : [p.mode];
            const method = { start: "Start", stop: "Stop", reboot: "Reboot" }[action];
            return call(p.instance.path, IFACE.instance, method, args)
                    .then(([job]) => { res[p.instance.path] = { job } })
                    .catch(ex => { res[p.instance.path] = { error: errorText(ex) } })
                    .finally(() => setResults({ ...res }));
        }));
    };
    const title = format(ngettext("$0 $1 instance?", "$0 $1 instances?", acting.length), ACTION_LABEL[action](), acting.length);
    return (
        <Modal isOpen variant="medium" id="bulk-dialog" title={results ? ACTION_LABEL[action]() : title} onClose={onClose}
               footer={results
                   ? [<Button key="close" id="bulk-close" variant="primary" onClick={onClose}>{_("Close")}</Button>]
                   : [<Button key="go" id="bulk-confirm" variant={action === "start" ? "primary" : "danger"} isDisabled={!acting.length} onClick={run}>
                       {format(_("$0 $1"), ACTION_LABEL[action](), format(ngettext("$0 instance", "$0 instances", acting.length), acting.length))}
                   </Button>,
                      <Button key="cancel" id="bulk-cancel" variant="link" onClick={onClose}>{_("Cancel")}</Button>]}>
            <p>{_("This is what will happen; the daemon reads each instance from Oracle Cloud again before it acts.")}</p>
            <table className="ss-simple-table" id="bulk-plan">
                <thead><tr><th>{_("Instance")}</th><th>{_("State now")}</th><th>{_("What happens")}</th>{results && <th>{_("Result")}</th>}</tr></thead>
                <tbody>
                    {plan.map(p => {
                        const r = results && results[p.instance.path];
                        const job = r && r.job ? model.jobs.get(r.job) : null;
                        return (
                            <tr key={p.instance.path} data-path={p.instance.path} className={p.skip ? "ss-muted" : ""}>
                                <td>{p.instance.name}</td><td>{p.instance.state}</td><td>{p.what}</td>
                                {results && <td>{r ? (r.error ? <InlineError error={r.error} /> : <JobProgress job={job} idPrefix={"bulk-" + p.instance.id} />) : (p.skip ? "—" : _("sending…"))}</td>}
                            </tr>
                        );
                    })}
                </tbody>
            </table>
        </Modal>
    );
}

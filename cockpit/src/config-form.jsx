// The per-object configuration form (instance popup and compartment defaults): each key is set
// here or inherited, and shows what it would inherit and from where.
import React from "react";
import { Form, FormGroup } from "@patternfly/react-core/dist/esm/components/Form/index.js";
import { FormHelperText } from "@patternfly/react-core/dist/esm/components/Form/FormHelperText.js";
import { HelperText, HelperTextItem } from "@patternfly/react-core/dist/esm/components/HelperText/index.js";
import { Checkbox } from "@patternfly/react-core/dist/esm/components/Checkbox/index.js";
import { Switch } from "@patternfly/react-core/dist/esm/components/Switch/index.js";
import { TextInput } from "@patternfly/react-core/dist/esm/components/TextInput/index.js";
import { TextArea } from "@patternfly/react-core/dist/esm/components/TextArea/index.js";
import { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
import { FormSelect, FormSelectOption } from "@patternfly/react-core/dist/esm/components/FormSelect/index.js";
import { describeValue, keyLabel } from "./lib/config.js";
import { _, format } from "./lib/i18n.js";
import { formatTime, toLocalInput, fromLocalInput } from "./time.js";

export function sourceText(source, compartmentName) {
    if (source === "instance")
        return _("this instance");
    if (source === "default" || !source)
        return _("built-in default");
    if (source.startsWith("compartment:"))
        return format(_("compartment $0"), compartmentName(source.slice("compartment:".length)));
    return source;
}

function Inherited({ inherited, k, compartmentName }) {
    const i = inherited[k];
    return format(_("Inherits $0 from $1"), describeValue(k, i.value), sourceText(i.source, compartmentName));
}

export function ConfigForm({ idPrefix, form, setForm, inherited, errors, disabled, compartmentName }) {
    const set = (k, patch) => setForm({ ...form, [k]: { ...form[k], ...patch } });
    const row = (k, editor) => (
        <FormGroup key={k} label={keyLabel(k)} fieldId={`${idPrefix}-${k}`} className="ss-config-row">
            <div className="ss-config-line">
                <Checkbox id={`${idPrefix}-${k}-set`} label={_("Set here")} isChecked={form[k].set} isDisabled={disabled}
                          onChange={(_ev, v) => set(k, { set: v })} />
                <div className="ss-config-editor">{form[k].set ? editor : <span className="ss-muted ss-inherited" id={`${idPrefix}-${k}-inherited`}><Inherited inherited={inherited} k={k} compartmentName={compartmentName} /></span>}</div>
            </div>
            {form[k].set &&
                <FormHelperText>
                    <HelperText>
                        {errors[k]
                            ? <HelperTextItem variant="error" id={`${idPrefix}-${k}-error`}>{errors[k]}</HelperTextItem>
                            : <HelperTextItem><Inherited inherited={inherited} k={k} compartmentName={compartmentName} /></HelperTextItem>}
                    </HelperText>
                </FormHelperText>}
        </FormGroup>
    );
    const o = form.override;
    const setO = patch => setForm({ ...form, override: { ...o, ...patch } });
    const quick = hours => setO({ until: (Date.now() + hours * 3600e3) * 1000 });
    const inhO = inherited.override_state;
    return (
        <Form isHorizontal className="ss-config-form" onSubmit={ev => ev.preventDefault()}>
            {row("managed", <Switch id={`${idPrefix}-managed`} isDisabled={disabled} isChecked={!!form.managed.value}
                                    label={_("Schedules act on it")} onChange={(_ev, v) => set("managed", { value: v })} />)}
            {row("stop_mode",
                 <FormSelect id={`${idPrefix}-stop_mode`} isDisabled={disabled} value={form.stop_mode.value}
                             onChange={(_ev, v) => set("stop_mode", { value: v })} aria-label={keyLabel("stop_mode")}>
                     <FormSelectOption value="soft" label={describeValue("stop_mode", "soft")} />
                     <FormSelectOption value="hard" label={describeValue("stop_mode", "hard")} />
                 </FormSelect>)}
            {row("soft_stop_timeout",
                 <TextInput id={`${idPrefix}-soft_stop_timeout`} isDisabled={disabled} value={form.soft_stop_timeout.value}
                            validated={errors.soft_stop_timeout ? "error" : "default"}
                            onChange={(_ev, v) => set("soft_stop_timeout", { value: v })} aria-label={keyLabel("soft_stop_timeout")} />)}
            {row("priority",
                 <TextInput id={`${idPrefix}-priority`} isDisabled={disabled} value={String(form.priority.value)} type="number"
                            validated={errors.priority ? "error" : "default"}
                            onChange={(_ev, v) => set("priority", { value: v })} aria-label={keyLabel("priority")} />)}
            {row("note",
                 <TextArea id={`${idPrefix}-note`} isDisabled={disabled} value={form.note.value} resizeOrientation="vertical"
                           validated={errors.note ? "error" : "default"} rows={2}
                           onChange={(_ev, v) => set("note", { value: v })} aria-label={keyLabel("note")} />)}
            <FormGroup label={keyLabel("override")} fieldId={`${idPrefix}-override`} className="ss-config-row">
                <div className="ss-config-line">
                    <Checkbox id={`${idPrefix}-override-set`} label={_("Set here")} isChecked={o.set} isDisabled={disabled}
                              onChange={(_ev, v) => setO({ set: v, until: v && !o.until ? (Date.now() + 3600e3) * 1000 : o.until })} />
                    <div className="ss-config-editor">
                        {o.set
                            ? <div className="ss-override">
                                <FormSelect id={`${idPrefix}-override-state`} isDisabled={disabled} value={o.state}
                                            onChange={(_ev, v) => setO({ state: v })} aria-label={_("Keep the instance")}>
                                    <FormSelectOption value="running" label={_("keep running")} />
                                    <FormSelectOption value="stopped" label={_("keep stopped")} />
                                </FormSelect>
                                <span>{_("until")}</span>
                                <TextInput id={`${idPrefix}-override-until`} type="datetime-local" isDisabled={disabled}
                                           value={toLocalInput(o.until)} aria-label={_("Override ends")}
                                           validated={errors.override ? "error" : "default"}
                                           onChange={(_ev, v) => setO({ until: fromLocalInput(v) })} />
                                {[[1, _("+1 h")], [8, _("+8 h")], [24, _("+1 day")], [168, _("+1 week")]].map(([h, l]) =>
                                    <Button key={h} variant="link" isInline isDisabled={disabled} onClick={() => quick(h)}>{l}</Button>)}
                            </div>
                            : <span className="ss-muted" id={`${idPrefix}-override-inherited`}>
                                {inhO.value
                                    ? format(_("Inherits an override ($0 until $1) from $2"), describeValue("override_state", inhO.value), formatTime(inherited.override_until.value), sourceText(inhO.source, compartmentName))
                                    : _("No override: schedules decide.")}
                            </span>}
                    </div>
                </div>
                {o.set && errors.override &&
                    <FormHelperText><HelperText><HelperTextItem variant="error" id={`${idPrefix}-override-error`}>{errors.override}</HelperTextItem></HelperText></FormHelperText>}
                {o.set && !errors.override &&
                    <FormHelperText><HelperText><HelperTextItem>{_("Wins over schedules until it ends, then it is removed by itself.")}</HelperTextItem></HelperText></FormHelperText>}
            </FormGroup>
        </Form>
    );
}


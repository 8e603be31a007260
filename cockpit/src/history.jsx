// History: the daemon's audit log, filtered by instance, compartment, actor and time.
import React, { useCallback, useEffect, useState } from "react";
import { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
import { TextInput } from "@patternfly/react-core/dist/esm/components/TextInput/index.js";
import { FormSelect, FormSelectOption } from "@patternfly/react-core/dist/esm/components/FormSelect/index.js";
import { Toolbar, ToolbarContent, ToolbarItem } from "@patternfly/react-core/dist/esm/components/Toolbar/index.js";
import { Table, Thead, Tr, Th, Tbody, Td } from "@patternfly/react-table/dist/esm/components/Table/index.js";
import { historyFilters, historyRows, summarizeDetails } from "./lib/history.js";
import { errorText } from "./lib/errors.js";
import { managerCall } from "./dbus.js";
import { InlineError } from "./widgets.jsx";
import { _, format, ngettext } from "./lib/i18n.js";
import { formatTime } from "./time.js";

export function HistoryView({ compartments, instanceName, compartmentName }) {
    const [form, setForm] = useState({ instance: "", compartment: "", actor: "", since: "", until: "" });
    const [rows, setRows] = useState(null);
    const [error, setError] = useState("");
    const [errors, setErrors] = useState({});

    const load = useCallback(() => {
        const { filters, errors } = historyFilters(form);
        setErrors(errors);
        if (Object.keys(errors).length)
            return;
        setError("");
        managerCall("History", [filters])
                .then(([reply]) => setRows(historyRows(reply, form.actor)))
                .catch(ex => { setRows([]); setError(errorText(ex)) });
    }, [form]);
    useEffect(() => { load() }, []); // eslint-disable-line react-hooks/exhaustive-deps

    const set = (k, v) => setForm({ ...form, [k]: v });
    const objectName = r => (r.kind === "instance" ? instanceName(r.object) : r.kind === "compartment" ? compartmentName(r.object) : r.object);
    return (
        <div className="ss-history" id="history">
            <Toolbar inset={{ default: "insetNone" }}>
                <ToolbarContent>
                    <ToolbarItem>
                        <TextInput id="history-instance" aria-label={_("Instance")} placeholder={_("Instance name or OCID")}
                                   value={form.instance} onChange={(_ev, v) => set("instance", v)} />
                    </ToolbarItem>
                    <ToolbarItem>
                        <FormSelect id="history-compartment" aria-label={_("Compartment")} value={form.compartment}
                                    onChange={(_ev, v) => set("compartment", v)}>
                            <FormSelectOption value="" label={_("All compartments")} />
                            {compartments.map(c => <FormSelectOption key={c.id} value={c.id} label={c.ocipath || c.name} />)}
                        </FormSelect>
                    </ToolbarItem>
                    <ToolbarItem>
                        <TextInput id="history-actor" aria-label={_("Actor")} placeholder={_("Actor")}
                                   value={form.actor} onChange={(_ev, v) => set("actor", v)} />
                    </ToolbarItem>
                    <ToolbarItem>
                        <label className="ss-inline-label">{_("From")}
                            <TextInput id="history-since" type="datetime-local" aria-label={_("From")} value={form.since}
                                       validated={errors.since ? "error" : "default"} onChange={(_ev, v) => set("since", v)} />
                        </label>
                    </ToolbarItem>
                    <ToolbarItem>
                        <label className="ss-inline-label">{_("To")}
                            <TextInput id="history-until" type="datetime-local" aria-label={_("To")} value={form.until}
                                       validated={errors.until ? "error" : "default"} onChange={(_ev, v) => set("until", v)} />
                        </label>
                    </ToolbarItem>
                    <ToolbarItem>
                        <Button id="history-apply" variant="primary" onClick={load}>{_("Show")}</Button>
                    </ToolbarItem>
                    <ToolbarItem>
                        <span className="ss-muted" id="history-count">{rows ? format(ngettext("$0 entry", "$0 entries", rows.length), rows.length) : ""}</span>
                    </ToolbarItem>
                </ToolbarContent>
            </Toolbar>
            <InlineError error={error || errors.since || errors.until} id="history-error" />
            <div className="ss-history-scroll">
                <Table id="history-table" aria-label={_("History")} variant="compact" isStickyHeader>
                    <Thead>
                        <Tr>
                            <Th>{_("Time")}</Th><Th>{_("Actor")}</Th><Th>{_("Operation")}</Th>
                            <Th>{_("Object")}</Th><Th>{_("Details")}</Th>
                        </Tr>
                    </Thead>
                    <Tbody>
                        {(rows || []).map(r => (
                            <Tr key={r.id} data-operation={r.operation} data-object={r.object}>
                                <Td dataLabel={_("Time")}>{formatTime(r.time)}</Td>
                                <Td dataLabel={_("Actor")}>{r.actor}</Td>
                                <Td dataLabel={_("Operation")}>{r.operation}</Td>
                                <Td dataLabel={_("Object")} title={r.object}>{objectName(r)}</Td>
                                <Td dataLabel={_("Details")} className="ss-details">{summarizeDetails(r.details)}</Td>
                            </Tr>
                        ))}
                    </Tbody>
                </Table>
                {rows && !rows.length && !error && <p className="ss-empty">{_("Nothing recorded for this filter.")}</p>}
            </div>
        </div>
    );
}

// Right pane: the instances of the selected compartment (optionally its subtree), sortable and
// filterable, virtualised; bulk start/stop/reboot after a confirmation that lists what happens.
import React, { useEffect, useMemo, useState } from "react";
import { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
import { Switch } from "@patternfly/react-core/dist/esm/components/Switch/index.js";
import { TextInput } from "@patternfly/react-core/dist/esm/components/TextInput/index.js";
import { FormSelect, FormSelectOption } from "@patternfly/react-core/dist/esm/components/FormSelect/index.js";
import { Toolbar, ToolbarContent, ToolbarItem } from "@patternfly/react-core/dist/esm/components/Toolbar/index.js";
import { Label } from "@patternfly/react-core/dist/esm/components/Label/index.js";
import { Spinner } from "@patternfly/react-core/dist/esm/components/Spinner/index.js";
import { Table, Thead, Tr, Th, Tbody, Td } from "@patternfly/react-table/dist/esm/components/Table/index.js";
import { useScrollWindow } from "./virtual.jsx";
import { filterInstances, sortInstances } from "./lib/filter.js";
import { describeValue } from "./lib/config.js";
import { stateClass } from "./lib/tree.js";
import { _, format, ngettext } from "./lib/i18n.js";
import { formatTime, formatAgo } from "./time.js";
import { Disabled } from "./widgets.jsx";

const ROW = 37;

export function StateLabel({ state, observedAt }) {
    const cls = stateClass(state);
    const color = cls === "running" ? "green" : cls === "stopped" ? "grey" : "orange";
    return (
        <span className="ss-state" title={observedAt ? format(_("observed $0"), formatTime(observedAt)) : undefined}>
            <Label isCompact color={color} className="ss-state-label">{state || _("unknown")}</Label>
            {observedAt ? <small className="ss-observed">{formatAgo(observedAt)}</small> : null}
        </span>
    );
}

export function nextActionText(i, schedules) {
    const na = i.nextAction;
    if (!na || !na.action || !na.at)
        return "—";
    const name = schedules && na.schedule && na.schedule !== "/" ? schedules(na.schedule) : "";
    return format(_("$0 at $1"), na.action, formatTime(na.at)) + (name ? " (" + name + ")" : "");
}

const COLUMNS = [
    { key: "name", title: () => _("Name") },
    { key: "state", title: () => _("State") },
    { key: "shape", title: () => _("Shape") },
    { key: "region", title: () => _("Region") },
    { key: "managed", title: () => _("Managed") },
    { key: "schedules", title: () => _("Schedules") },
    { key: "next", title: () => _("Next action") },
];

export function InstancesPane({ compartment, instances, loading, effectiveOf, recursive, onRecursive, onOpen, onBulk,
                                onDefaults, rights, scheduleNames, onVisible }) {
    const [filter, setFilter] = useState({ text: "", state: "", managed: "" });
    const [sort, setSort] = useState({ index: 0, direction: "asc" });
    const [selected, setSelected] = useState(() => new Set());

    const managedOf = i => effectiveOf(i).managed;
    const rows = useMemo(() => {
        if (loading)
            return [];
        const f = filterInstances(instances, filter, managedOf);
        const key = COLUMNS[sort.index].key;
        return sortInstances(f, key, sort.direction, { managed: i => (managedOf(i) ? 0 : 1), schedules: i => (i.schedules || []).length });
    }, [instances, loading, filter, sort]); // eslint-disable-line react-hooks/exhaustive-deps

    const w = useScrollWindow(rows.length, ROW);
    useEffect(() => { onVisible?.(rows.slice(w.first, w.last)) });
    const selectedRows = rows.filter(i => selected.has(i.path));
    const allSelected = rows.length > 0 && selectedRows.length === rows.length;
    const toggle = (path, on) => setSelected(s => {
        const n = new Set(s);
        if (on) n.add(path); else n.delete(path);
        return n;
    });

    const sortParams = idx => ({
        sortBy: { index: sort.index, direction: sort.direction },
        onSort: (_ev, index, direction) => setSort({ index, direction }),
        columnIndex: idx,
    });

    const bulkButton = (action, label) => (
        <Disabled reason={!rights.operate.allowed ? rights.operate.reason : selectedRows.length === 0 ? _("Select instances first.") : ""}>
            <Button variant="secondary" id={"bulk-" + action} isDisabled={!rights.operate.allowed || selectedRows.length === 0}
                    onClick={() => onBulk(action, selectedRows)}>{label}</Button>
        </Disabled>
    );

    const body = [];
    for (let k = w.first; k < w.last; k++) {
        const i = rows[k];
        const eff = effectiveOf(i);
        body.push(
            <Tr key={i.path} data-path={i.path} data-name={i.name} data-ocid={i.id} data-state={i.state} className="ss-row" isClickable
                onRowClick={ev => { if (!ev.target.closest("input")) onOpen(i.path) }}>
                <Td select={{ rowIndex: k, onSelect: (_ev, on) => toggle(i.path, on), isSelected: selected.has(i.path) }} />
                <Td dataLabel={_("Name")} className="ss-name"><a href="#" onClick={ev => { ev.preventDefault(); onOpen(i.path) }}>{i.name}</a></Td>
                <Td dataLabel={_("State")}><StateLabel state={i.state} observedAt={i.observedAt} /></Td>
                <Td dataLabel={_("Shape")}>{i.shape}</Td>
                <Td dataLabel={_("Region")}>{i.region}</Td>
                <Td dataLabel={_("Managed")} className="ss-managed">
                    {eff.managed ? _("yes") : _("no")}
                    {eff.override_state ? <Label isCompact color="purple" className="ss-override">{format(_("override: $0"), describeValue("override_state", eff.override_state))}</Label> : null}
                </Td>
                <Td dataLabel={_("Schedules")} className="ss-schedules-cell">{i.schedules === undefined ? "…" : i.schedules.map(p => scheduleNames(p)).join(", ") || "—"}</Td>
                <Td dataLabel={_("Next action")} className="ss-next-action" data-at={i.nextAction?.at || 0}>{i.schedules === undefined ? "…" : nextActionText(i, scheduleNames)}</Td>
            </Tr>
        );
    }

    return (
        <div className="ss-instances-pane">
            <Toolbar className="ss-toolbar" inset={{ default: "insetNone" }}>
                <ToolbarContent>
                    <ToolbarItem>
                        <h2 className="ss-pane-title" id="compartment-title" title={compartment?.id}>{compartment ? compartment.name : _("No compartment")}</h2>
                    </ToolbarItem>
                    <ToolbarItem>
                        <Switch id="recursive" label={_("Include subcompartments")} isChecked={recursive}
                                onChange={(_ev, v) => onRecursive(v)} />
                    </ToolbarItem>
                    <ToolbarItem>
                        <Button variant="secondary" id="edit-defaults" isDisabled={!compartment} onClick={onDefaults}>
                            {_("Compartment defaults")}
                        </Button>
                    </ToolbarItem>
                </ToolbarContent>
                <ToolbarContent>
                    <ToolbarItem>
                        <TextInput id="instance-filter" type="search" aria-label={_("Filter instances")}
                                   placeholder={_("Filter by name, OCID, shape, region")}
                                   value={filter.text} onChange={(_ev, v) => setFilter({ ...filter, text: v })} />
                    </ToolbarItem>
                    <ToolbarItem>
                        <FormSelect id="state-filter" aria-label={_("State")} value={filter.state}
                                    onChange={(_ev, v) => setFilter({ ...filter, state: v })}>
                            <FormSelectOption value="" label={_("All states")} />
                            <FormSelectOption value="RUNNING" label={_("Running")} />
                            <FormSelectOption value="STOPPED" label={_("Stopped")} />
                            <FormSelectOption value="other" label={_("Other states")} />
                        </FormSelect>
                    </ToolbarItem>
                    <ToolbarItem>
                        <FormSelect id="managed-filter" aria-label={_("Managed")} value={filter.managed}
                                    onChange={(_ev, v) => setFilter({ ...filter, managed: v })}>
                            <FormSelectOption value="" label={_("Managed or not")} />
                            <FormSelectOption value="yes" label={_("Managed")} />
                            <FormSelectOption value="no" label={_("Not managed")} />
                        </FormSelect>
                    </ToolbarItem>
                    <ToolbarItem variant="separator" />
                    <ToolbarItem>{bulkButton("start", _("Start"))}</ToolbarItem>
                    <ToolbarItem>{bulkButton("stop", _("Stop"))}</ToolbarItem>
                    <ToolbarItem>{bulkButton("reboot", _("Reboot"))}</ToolbarItem>
                    <ToolbarItem>
                        <span id="instance-count" className="ss-muted">
                            {format(ngettext("$0 instance", "$0 instances", rows.length), rows.length)}
                            {selectedRows.length ? " · " + format(ngettext("$0 selected", "$0 selected", selectedRows.length), selectedRows.length) : ""}
                        </span>
                    </ToolbarItem>
                </ToolbarContent>
            </Toolbar>
            <div className="ss-table-scroll" ref={w.ref}>
                <Table id="instances" aria-label={_("Instances")} variant="compact" isStickyHeader>
                    <Thead>
                        <Tr>
                            <Th select={{ onSelect: (_ev, on) => setSelected(on ? new Set(rows.map(i => i.path)) : new Set()), isSelected: allSelected }}
                                aria-label={_("Select all")} />
                            {COLUMNS.map((c, idx) => (
                                <Th key={c.key} modifier="nowrap" sort={c.key === "schedules" ? undefined : sortParams(idx)}>{c.title()}</Th>
                            ))}
                        </Tr>
                    </Thead>
                    <Tbody>
                        {w.before > 0 && <tr aria-hidden="true" style={{ height: w.before }} />}
                        {body}
                        {w.after > 0 && <tr aria-hidden="true" style={{ height: w.after }} />}
                    </Tbody>
                </Table>
                {loading && <p className="ss-empty" id="instances-loading"><Spinner size="md" /> {_("Loading instances…")}</p>}
                {!loading && rows.length === 0 && <p className="ss-empty" id="instances-empty">{instances.length ? _("No instance matches the filter.") : _("No instances in this compartment.")}</p>}
            </div>
        </div>
    );
}

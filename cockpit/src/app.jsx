// The stopstart page: tree on the left, instances on the right, popups; History and (when the
// daemon offers them) Schedules in tabs. State comes from ObjectManager data and signals only.
import React, { useEffect, useMemo, useRef, useState } from "react";
import { Page, PageSection } from "@patternfly/react-core/dist/esm/components/Page/index.js";
import { Tabs, Tab, TabTitleText } from "@patternfly/react-core/dist/esm/components/Tabs/index.js";
import { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
import { Alert } from "@patternfly/react-core/dist/esm/components/Alert/index.js";
import { Spinner } from "@patternfly/react-core/dist/esm/components/Spinner/index.js";
import { EmptyState, EmptyStateBody, EmptyStateHeader } from "@patternfly/react-core/dist/esm/components/EmptyState/index.js";
import { Model } from "./lib/model.js";
import { buildTree, searchTree, flattenTree, instancesOf, ancestorsOf } from "./lib/tree.js";
import { configChain, effectiveFromChain, nowUsec } from "./lib/config.js";
import { errorText } from "./lib/errors.js";
import { Loader, checkRight, managerCall, loadInstanceExtras } from "./dbus.js";
import { CompartmentTree } from "./tree-view.jsx";
import { InstancesPane } from "./instances.jsx";
import { InstanceDialog } from "./instance-dialog.jsx";
import { DefaultsDialog, BulkDialog } from "./dialogs.jsx";
import { HistoryView } from "./history.jsx";
import { SchedulesView } from "./schedules.jsx";
import { Disabled, InlineError } from "./widgets.jsx";
import { _, format } from "./lib/i18n.js";
import { formatTime } from "./time.js";

const CHECKING = { allowed: false, reason: _("Checking your permissions…") };

export function App() {
    const modelRef = useRef(null);
    if (!modelRef.current)
        modelRef.current = new Model();
    const model = modelRef.current;
    const [gen, setGen] = useState(0);
    const [loadError, setLoadError] = useState(null);
    const [loaded, setLoaded] = useState(false);
    const [rights, setRights] = useState({ configure: CHECKING, operate: CHECKING, "manage-schedules": CHECKING });
    const [expanded, setExpanded] = useState(() => new Set());
    const [selected, setSelected] = useState(null);
    const [query, setQuery] = useState("");
    const [recursive, setRecursive] = useState(false);
    const [dialog, setDialog] = useState(null);
    const [tab, setTab] = useState("instances");
    const [actionError, setActionError] = useState("");
    const [tick, setTick] = useState(0);
    const applyRef = useRef(null);
    // Schedules and NextAction of the rows in view: asked once per instance, and again for the
    // rows in view after any schedule changed (a daemon that signals their changes needs no more)
    const extrasAsked = useRef(new Map());
    const needExtras = list => {
        const v = modelRef.current.schedulesGeneration;
        const paths = list.filter(i => extrasAsked.current.get(i.path) !== v).map(i => i.path);
        if (!paths.length)
            return;
        paths.forEach(p => extrasAsked.current.set(p, v));
        loadInstanceExtras(paths, applyRef.current);
    };

    const loaderRef = useRef(null);
    const [complete, setComplete] = useState(false);
    useEffect(() => {
        let frame = 0;
        const changed = () => {
            if (!frame)
                frame = requestAnimationFrame(() => { frame = 0; setGen(model.generation) });
        };
        applyRef.current = payload => {
            if (model.apply(payload))
                changed();
        };
        const loader = loaderRef.current = new Loader(model, applyRef.current, () => {
            changed();
            if (loader.complete)
                setComplete(true);
        });
        loader.start()
                .then(() => {
                    setGen(model.generation);
                    setLoaded(true);
                })
                .catch(ex => setLoadError(errorText(ex)));
        Promise.all([checkRight("configure"), checkRight("operate"), checkRight("manage-schedules")])
                .then(([configure, operate, manage]) => setRights({ configure, operate, "manage-schedules": manage }));
        // relative times ("5 minutes ago") and override expiry age with the clock
        const clock = setInterval(() => setTick(t => t + 1), 30000);
        return () => clearInterval(clock);
    }, [model]);

    // until every instance is in, the tree's counts are the daemon's (subtree_states)
    const tree = useMemo(() => buildTree(model.compartments, model.instances, { daemonCounts: !complete }),
                         [model.structureGeneration, loaded, complete]); // eslint-disable-line react-hooks/exhaustive-deps

    // Select the tenancy and open the first level once the tree is there.
    useEffect(() => {
        if (!loaded || selected || !tree.roots.length)
            return;
        setSelected(tree.roots[0].c.path);
        setExpanded(new Set(tree.roots.map(r => r.c.path)));
    }, [loaded, tree]); // eslint-disable-line react-hooks/exhaustive-deps

    const search = useMemo(() => searchTree(tree, query), [tree, query]);
    const rows = useMemo(() => flattenTree(tree, expanded, search), [tree, expanded, search]);

    const ids = useMemo(() => {
        const comp = new Map();
        const inst = new Map();
        for (const c of model.compartments.values())
            comp.set(c.id, c);
        for (const i of model.instances.values())
            inst.set(i.id, i);
        return { comp, inst };
    }, [model.structureGeneration]); // eslint-disable-line react-hooks/exhaustive-deps
    const sortedCompartments = useMemo(() => (tab === "instances" ? [] : [...tree.nodes.values()].map(n => n.c)
            .sort((a, b) => (a.ocipath || "").localeCompare(b.ocipath || ""))), [tree, tab === "instances"]); // eslint-disable-line react-hooks/exhaustive-deps
    const compartmentName = id => { const c = ids.comp.get(id); return c ? (c.ocipath || c.name) : id };
    const instanceName = id => ids.inst.get(id)?.name || id;

    const effCache = useMemo(() => new Map(), [model.structureGeneration, tick]); // eslint-disable-line react-hooks/exhaustive-deps
    const effectiveOf = i => {
        let e = effCache.get(i.path);
        if (!e) {
            const full = effectiveFromChain(configChain(model.compartments, i, true), nowUsec());
            e = {};
            for (const [k, v] of Object.entries(full))
                e[k] = v.value;
            effCache.set(i.path, e);
        }
        return e;
    };

    const instances = useMemo(() => (selected ? instancesOf(tree, selected, recursive) : []),
                              [tree, selected, recursive, gen]); // eslint-disable-line react-hooks/exhaustive-deps

    // the instances of a compartment picked before all are in
    const instancesReady = !loaded || complete || loaderRef.current.ready(selected, recursive);
    useEffect(() => {
        if (loaded && selected && !instancesReady)
            loaderRef.current.ensure(selected, recursive).catch(ex => setActionError(errorText(ex)));
    }, [loaded, selected, recursive, instancesReady]);

    useEffect(() => {
        if (!loaded)
            return;
        const t = loaderRef.current.t;
        t.rendered = performance.now();
        // the rest of the instances after the first paint, in the background
        requestAnimationFrame(() => {
            t.painted = performance.now();
            setTimeout(() => loaderRef.current.rest().catch(ex => setActionError(errorText(ex))), 0);
        });
    }, [loaded]);
    useEffect(() => {
        if (loaded)
            document.title = "StopStart";
    }, [loaded]);

    if (loadError)
        return (
            <Page>
                <PageSection>
                    <EmptyState id="load-error">
                        <EmptyStateHeader titleText={_("Cannot reach stopstartd")} headingLevel="h2" />
                        <EmptyStateBody>{loadError}</EmptyStateBody>
                    </EmptyState>
                </PageSection>
            </Page>
        );
    if (!loaded)
        return (
            <Page>
                <PageSection><EmptyState><Spinner /><EmptyStateBody>{_("Loading compartments and instances…")}</EmptyStateBody></EmptyState></PageSection>
            </Page>
        );

    const toggle = path => setExpanded(s => {
        const n = new Set(s);
        if (n.has(path)) n.delete(path); else n.add(path);
        return n;
    });
    const select = path => {
        setSelected(path);
        if (query) // keep the found compartment visible once the search is cleared
            setExpanded(s => new Set([...s, ...ancestorsOf(tree, path).slice(0, -1)]));
    };
    const m = model.manager;
    const refresh = () => {
        setActionError("");
        managerCall("Refresh").catch(ex => setActionError(errorText(ex)));
    };
    const readOnly = !rights.configure.allowed && !rights.operate.allowed && rights.configure !== CHECKING;

    return (
        <Page className="ss-page" id="stopstart" data-ready="true">
            <PageSection variant="light" className="ss-header" padding={{ default: "noPadding" }}>
                <div className="ss-header-inner">
                <div className="ss-header-line">
                    <h1 className="ss-title">{_("Instance schedules")}</h1>
                    <span className="ss-status" id="daemon-status">
                        {format(_("stopstartd $0: $1"), m.Version || "", m.State || "")}
                        {m.StatusText ? " — " + m.StatusText : ""}
                    </span>
                    {/* With two daemons on one database, this one may only watch: say who acts. */}
                    {m.Role === "standby" &&
                        <span className="ss-muted" id="daemon-role">
                            {m.Leader ? format(_("Standby: starts, stops and schedules run on $0"), m.Leader)
                                : _("Standby: no daemon leads at the moment")}
                        </span>}
                    <span className="ss-muted" id="last-refresh">{format(_("Inventory refreshed $0"), formatTime(m.LastRefresh))}</span>
                    <Disabled reason={!rights.operate.allowed ? rights.operate.reason : ""}>
                        <Button variant="secondary" id="refresh" isDisabled={!rights.operate.allowed} onClick={refresh}>{_("Refresh inventory")}</Button>
                    </Disabled>
                </div>
                {readOnly && <Alert variant="info" isInline isPlain id="read-only" title={format(_("You can look but not change anything: $0"), rights.configure.reason)} />}
                <InlineError error={actionError} id="page-error" />
                <Tabs activeKey={tab} onSelect={(_ev, k) => setTab(k)} id="main-tabs" className="ss-tabs">
                    <Tab eventKey="instances" id="tab-instances" title={<TabTitleText>{_("Instances")}</TabTitleText>} />
                    <Tab eventKey="schedules" id="tab-schedules" title={<TabTitleText>{_("Schedules")}</TabTitleText>} />
                    <Tab eventKey="history" id="tab-history" title={<TabTitleText>{_("History")}</TabTitleText>} />
                </Tabs>
                </div>
            </PageSection>
            <PageSection className="ss-main" padding={{ default: "noPadding" }} isFilled>
                {tab === "instances" &&
                    <div className="ss-split">
                        <CompartmentTree rows={rows} selected={selected} onSelect={select} onToggle={toggle}
                                         query={query} onQuery={setQuery} matches={search ? search.matches.size : null} />
                        <InstancesPane key={selected + ":" + recursive} compartment={model.compartments.get(selected)}
                                       instances={instances} loading={!instancesReady} effectiveOf={effectiveOf}
                                       recursive={recursive} onRecursive={setRecursive}
                                       onOpen={path => setDialog({ kind: "instance", path })}
                                       onBulk={(action, list) => setDialog({ kind: "bulk", action, list })}
                                       onDefaults={() => setDialog({ kind: "defaults", path: selected })}
                                       rights={rights} scheduleNames={p => model.schedules.get(p)?.name || p}
                                       onVisible={needExtras} />
                    </div>}
                {tab === "schedules" &&
                    <SchedulesView model={model} gen={gen} rights={rights} compartments={sortedCompartments}
                                   compartmentName={compartmentName} instanceName={instanceName} />}
                {tab === "history" &&
                    <HistoryView compartments={sortedCompartments}
                                 instanceName={instanceName} compartmentName={compartmentName} />}
            </PageSection>
            {dialog?.kind === "instance" &&
                <InstanceDialog model={model} path={dialog.path} rights={rights} compartmentName={compartmentName}
                                onClose={() => setDialog(null)} />}
            {dialog?.kind === "defaults" &&
                <DefaultsDialog model={model} path={dialog.path} rights={rights} compartmentName={compartmentName}
                                onClose={() => setDialog(null)} />}
            {dialog?.kind === "bulk" &&
                <BulkDialog model={model} action={dialog.action} instances={dialog.list} effectiveOf={effectiveOf}
                            onClose={() => setDialog(null)} />}
        </Page>
    );
}


// Left pane: the compartment tree with subtree counts, expand/collapse and search.
import React from "react";
import { SearchInput } from "@patternfly/react-core/dist/esm/components/SearchInput/index.js";
import { AngleRightIcon } from "@patternfly/react-icons/dist/esm/icons/angle-right-icon.js";
import { AngleDownIcon } from "@patternfly/react-icons/dist/esm/icons/angle-down-icon.js";
import { VirtualList } from "./virtual.jsx";
import { _, format, ngettext } from "./lib/i18n.js";

const ROW = 32;

export function CompartmentTree({ rows, selected, onSelect, onToggle, query, onQuery, matches }) {
    const renderRow = k => {
        const { node, depth, expanded, hasChildren, match } = rows[k];
        const c = node.c;
        const sel = c.path === selected;
        return (
            <div key={c.path} role="treeitem" aria-level={depth + 1} aria-selected={sel}
                 aria-expanded={hasChildren ? expanded : undefined}
                 className={"ss-tree-row" + (sel ? " ss-selected" : "") + (match ? " ss-match" : "")}
                 style={{ height: ROW, paddingInlineStart: 4 + depth * 16 }}
                 data-path={c.path} data-name={c.name} data-ocid={c.id} title={c.id}
                 onClick={() => onSelect(c.path)}>
                <button type="button" className="ss-tree-toggle" tabIndex={-1}
                        aria-label={expanded ? _("Collapse") : _("Expand")}
                        style={{ visibility: hasChildren ? "visible" : "hidden" }}
                        onClick={ev => { ev.stopPropagation(); onToggle(c.path) }}>
                    {expanded ? <AngleDownIcon /> : <AngleRightIcon />}
                </button>
                <span className="ss-tree-name">{c.name}</span>
                <span className="ss-counts" title={format(_("$0 running, $1 stopped, $2 other in this subtree"), node.running, node.stopped, node.other)}>
                    <span className="ss-count-running">{node.running}</span>
                    <span className="ss-count-stopped">{node.stopped}</span>
                    {node.other > 0 && <span className="ss-count-other">{node.other}</span>}
                </span>
            </div>
        );
    };
    return (
        <div className="ss-tree-pane">
            <SearchInput id="tree-search" placeholder={_("Search compartments by name or OCID")}
                         value={query} onChange={(_ev, v) => onQuery(v)} onClear={() => onQuery("")}
                         resultsCount={matches !== null ? format(ngettext("$0 match", "$0 matches", matches), matches) : undefined} />
            <div className="ss-tree-legend">
                <span className="ss-count-running">{_("running")}</span>
                <span className="ss-count-stopped">{_("stopped")}</span>
            </div>
            <VirtualList id="compartment-tree" role="tree" aria-label={_("Compartments")} className="ss-tree"
                         count={rows.length} rowHeight={ROW} renderRow={renderRow} />
        </div>
    );
}

// The compartment tree built from the model: children sorted by name, instances grouped by
// compartment, running/stopped counts per subtree; flattening for the (virtualised) tree view and
// search by name or OCID. Pure: unit-tested under Node. O(compartments + instances) per build.
// While the instances are still loading (the page's first paint has the compartments and the
// selected one's instances only), daemonCounts takes the counts from the daemon's subtree_states.

export function stateClass(state) {
    if (state === "RUNNING")
        return "running";
    if (state === "STOPPED")
        return "stopped";
    return "other";
}

export function buildTree(compartments, instances, { daemonCounts = false } = {}) {
    const nodes = new Map();
    for (const c of compartments.values())
        nodes.set(c.path, { c, children: [], parent: null, depth: 0, direct: [], running: 0, stopped: 0, other: 0, total: 0 });
    const roots = [];
    for (const n of nodes.values()) {
        const p = n.c.parent && nodes.get(n.c.parent);
        if (p && p !== n) {
            n.parent = p;
            p.children.push(n);
        } else {
            roots.push(n);
        }
    }
    const orphans = [];
    for (const i of instances.values()) {
        const n = nodes.get(i.compartment);
        if (n)
            n.direct.push(i);
        else
            orphans.push(i);
    }
    const byName = (a, b) => (a.c.name || "").localeCompare(b.c.name || "") || a.c.path.localeCompare(b.c.path);
    // iterative post-order: depths, sorting and subtree counts without recursion limits
    const order = [];
    const stack = roots.map(r => r);
    roots.sort(byName);
    while (stack.length) {
        const n = stack.pop();
        order.push(n);
        n.children.sort(byName);
        for (const ch of n.children) {
            ch.depth = n.depth + 1;
            stack.push(ch);
        }
    }
    for (let k = order.length - 1; k >= 0; k--) {
        const n = order[k];
        for (const i of n.direct)
            n[stateClass(i.state)]++;
        n.total += n.direct.length;
        if (n.parent) {
            n.parent.running += n.running;
            n.parent.stopped += n.stopped;
            n.parent.other += n.other;
            n.parent.total += n.total;
        }
    }
    if (daemonCounts)
        for (const n of nodes.values()) {
            const st = n.c.subtreeStates;
            if (!st)
                continue;
            n.running = n.stopped = n.other = n.total = 0;
            for (const [state, count] of Object.entries(st)) {
                n[stateClass(state)] += count;
                n.total += count;
            }
        }
    return { roots, nodes, orphans };
}

// Compartments matching the query (case-insensitive part of the name, or of the OCID) and the
// set to show: the matches and their ancestors. null query: everything.
export function searchTree(tree, query) {
    const q = (query || "").trim().toLowerCase();
    if (!q)
        return null;
    const matches = new Set();
    const visible = new Set();
    for (const n of tree.nodes.values()) {
        if ((n.c.name || "").toLowerCase().includes(q) || (n.c.id || "").toLowerCase().includes(q)) {
            matches.add(n.c.path);
            for (let p = n; p && !visible.has(p.c.path); p = p.parent)
                visible.add(p.c.path);
        }
    }
    return { matches, visible };
}

// Rows of the tree view: [{node, depth, expanded, hasChildren, match}]. While searching, every
// ancestor of a match is open and only matches and their ancestors show.
export function flattenTree(tree, expanded, search) {
    const rows = [];
    const stack = tree.roots.slice().reverse();
    while (stack.length) {
        const n = stack.pop();
        if (search && !search.visible.has(n.c.path))
            continue;
        const kids = search ? n.children.filter(ch => search.visible.has(ch.c.path)) : n.children;
        const open = search ? kids.length > 0 : expanded.has(n.c.path);
        rows.push({ node: n, depth: n.depth, expanded: open, hasChildren: n.children.length > 0,
                    match: search ? search.matches.has(n.c.path) : false });
        if (open)
            for (let k = kids.length - 1; k >= 0; k--)
                stack.push(kids[k]);
    }
    return rows;
}

// The instances of a compartment, or of its whole subtree.
export function instancesOf(tree, path, recursive) {
    const n = tree.nodes.get(path);
    if (!n)
        return [];
    if (!recursive)
        return n.direct.slice();
    const out = [];
    const stack = [n];
    while (stack.length) {
        const x = stack.pop();
        for (const i of x.direct)
            out.push(i);
        for (const ch of x.children)
            stack.push(ch);
    }
    return out;
}

// Paths from the root down to path (inclusive): to open the tree at a compartment.
export function ancestorsOf(tree, path) {
    const out = [];
    for (let n = tree.nodes.get(path); n; n = n.parent)
        out.unshift(n.c.path);
    return out;
}

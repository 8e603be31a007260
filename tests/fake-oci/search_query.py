# SPDX-License-Identifier: LGPL-2.1-or-later
"""Resource Search structured query language (the subset the daemon needs), with an index
planner so that partitioned queries over 20,000 instances stay cheap.

    query instance resources
    query instance, compartment resources where (compartmentId = 'ocid1...' || compartmentId = '...')
    query instance resources where timeCreated >= '2021-01-01T00:00:00Z' && timeCreated < '2022-01-01'
    query all resources where lifecycleState != 'TERMINATED' sorted by timeCreated desc

Operators: = != > >= < <= =~ (contains) !=~; && || and parentheses. Keywords, resource types
and attribute names are case-insensitive; string comparisons are case-insensitive too.
Attributes: identifier, compartmentId, displayName, lifecycleState, timeCreated,
availabilityDomain, freeformTags.key/.value, definedTags.namespace/.key/.value. Tag conditions
joined by && in one group refer to the same tag (freeformTags.key = 'k' && freeformTags.value = 'v').
A negated tag condition (freeformTags.key != 'k') means "no tag has key k".
"""
import bisect
import re

import tenancy as T

KNOWN_TYPES = {"instance", "compartment", "all",
               # real types the fake has none of: valid queries that match nothing
               "instancepool", "vcn", "subnet", "volume", "bootvolume", "dbsystem",
               "autonomousdatabase", "bucket", "image", "vnic", "loadbalancer", "instanceconfiguration"}
ATTRS = {"identifier", "compartmentid", "displayname", "lifecyclestate", "timecreated",
         "availabilitydomain", "freeformtags.key", "freeformtags.value", "definedtags.namespace",
         "definedtags.key", "definedtags.value"}
OPS = ("!=~", "=~", "!=", ">=", "<=", "=", ">", "<")
NEGATIVE = ("!=", "!=~")
MAX_DEPTH = 64

_TOKEN = re.compile(r"""\s*(?:
      (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op>!=~|=~|!=|>=|<=|=|>|<|&&|\|\||\(|\)|,)
    | (?P<word>[A-Za-z0-9_.:\-+]+)
    )""", re.X)


class QueryError(ValueError):
    pass


def tokenize(text):
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"cannot parse query near {text[pos:pos + 20]!r}")
        pos = m.end()
        if m.group("str") is not None:
            s = m.group("str")[1:-1]
            out.append(("str", re.sub(r"\\(.)", r"\1", s)))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        else:
            out.append(("word", m.group("word")))
    return out


class Query:
    def __init__(self, types, expr, sort_attr, sort_desc, return_fields=None):
        self.types = types
        self.expr = expr
        self.sort_attr = sort_attr
        self.sort_desc = sort_desc
        # "return allAdditionalFields": summaries then carry additionalDetails (instances: the
        # Compute fields shape, faultDomain, region, as OCI Search does since Dec 2021)
        self.return_fields = return_fields
        self.all_additional = (return_fields or "").lower() == "alladditionalfields"


def parse(text):
    if not isinstance(text, str) or not text.strip():
        raise QueryError("query is empty")
    toks = tokenize(text)
    p = _Parser(toks)
    p.keyword("query")
    types = set()
    while True:
        t = p.next("resource type")
        if t[0] != "word":
            raise QueryError(f"expected a resource type, got {t[1]!r}")
        name = t[1].lower()
        if name not in KNOWN_TYPES:
            raise QueryError(f"Unknown resource type {t[1]!r}")
        types.add(name)
        if p.peek() == ("op", ","):
            p.i += 1
            continue
        break
    p.keyword("resources")
    expr = None
    sort_attr, sort_desc = None, True
    return_fields = None
    # OCI's grammar puts "return FIELDS" before "where"; older callers put it last: take both
    if p.peek_word("return"):
        p.i += 1
        return_fields = p.next("return field")[1]
    if p.peek_word("where"):
        p.i += 1
        expr = p.expr(0)
    if p.peek_word("sorted"):
        p.i += 1
        p.keyword("by")
        t = p.next("sort attribute")
        sort_attr = t[1].lower()
        if sort_attr not in ("timecreated", "displayname"):
            raise QueryError(f"cannot sort by {t[1]!r} (timeCreated or displayName)")
        sort_desc = sort_attr == "timecreated"
        if p.peek_word("asc") or p.peek_word("desc"):
            sort_desc = p.next("order")[1].lower() == "desc"
    if return_fields is None and p.peek_word("return"):
        p.i += 1
        return_fields = p.next("return field")[1]
    if p.i != len(toks):
        raise QueryError(f"unexpected {toks[p.i][1]!r} in query")
    if "all" in types:
        types |= {"instance", "compartment"}
    return Query(types, expr, sort_attr, sort_desc, return_fields)


class _Parser:
    def __init__(self, toks):
        self.t = toks
        self.i = 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def peek_word(self, w):
        x = self.peek()
        return x is not None and x[0] == "word" and x[1].lower() == w

    def next(self, what):
        if self.i >= len(self.t):
            raise QueryError(f"query ends where {what} was expected")
        self.i += 1
        return self.t[self.i - 1]

    def keyword(self, w):
        t = self.next(repr(w))
        if t[0] != "word" or t[1].lower() != w:
            raise QueryError(f"expected {w!r}, got {t[1]!r}")

    def expr(self, depth):
        if depth > MAX_DEPTH:
            raise QueryError("query nests too deeply")
        terms = [self.conj(depth)]
        while self.peek() == ("op", "||"):
            self.i += 1
            terms.append(self.conj(depth))
        return terms[0] if len(terms) == 1 else ("or", terms)

    def conj(self, depth):
        terms = [self.unary(depth)]
        while self.peek() == ("op", "&&"):
            self.i += 1
            terms.append(self.unary(depth))
        return terms[0] if len(terms) == 1 else ("and", terms)

    def unary(self, depth):
        t = self.next("a condition")
        if t == ("op", "("):
            e = self.expr(depth + 1)
            if self.next("')'") != ("op", ")"):
                raise QueryError("missing ')'")
            return e
        if t[0] != "word":
            raise QueryError(f"expected an attribute, got {t[1]!r}")
        attr = t[1].lower()
        if attr not in ATTRS:
            raise QueryError(f"Unknown attribute {t[1]!r}")
        op = self.next("an operator")
        if op[0] != "op" or op[1] not in OPS:
            raise QueryError(f"expected a comparison operator after {t[1]}, got {op[1]!r}")
        v = self.next("a value")
        if v[0] not in ("str", "word"):
            raise QueryError(f"expected a value after {t[1]} {op[1]}, got {v[1]!r}")
        return ("cmp", attr, op[1], v[1])


# --- evaluation -------------------------------------------------------------------------------
def _getter(attr, kind):
    if kind == "instance":
        return {"identifier": lambda o: o.id, "compartmentid": lambda o: o.compartment_id,
                "displayname": lambda o: o.display_name, "lifecyclestate": lambda o: o.state,
                "availabilitydomain": lambda o: o.ad}[attr]
    return {"identifier": lambda o: o.id, "compartmentid": lambda o: o.parent,
            "displayname": lambda o: o.name, "lifecyclestate": lambda o: o.state,
            "availabilitydomain": lambda o: None}[attr]


def _str_test(op, v):
    v = v.lower()
    if op == "=":
        return lambda s: s is not None and s.lower() == v
    if op == "!=":
        return lambda s: s is None or s.lower() != v
    if op == "=~":
        return lambda s: s is not None and v in s.lower()
    if op == "!=~":
        return lambda s: s is None or v not in s.lower()
    if op == ">":
        return lambda s: s is not None and s.lower() > v
    if op == ">=":
        return lambda s: s is not None and s.lower() >= v
    if op == "<":
        return lambda s: s is not None and s.lower() < v
    return lambda s: s is not None and s.lower() <= v


def _time_value(v):
    try:
        return T.parse_time(v)
    except ValueError:
        raise QueryError(f"invalid timeCreated value {v!r}") from None


def _time_test(op, v):
    ms = _time_value(v)
    return {"=": lambda x: x == ms, "!=": lambda x: x != ms, ">": lambda x: x > ms,
            ">=": lambda x: x >= ms, "<": lambda x: x < ms, "<=": lambda x: x <= ms}[op]


def _is_tag(attr):
    return attr.startswith(("freeformtags.", "definedtags."))


_POSITIVE = {"!=": "=", "!=~": "=~"}


def _tag_group(conds):
    """Predicate for tag conditions joined by && (they bind to one tag)."""
    fams = {c[1].split(".")[0] for c in conds}
    if len(fams) != 1:
        preds = [_tag_group([c for c in conds if c[1].startswith(f)]) for f in fams]
        return lambda o: all(p(o) for p in preds)
    fam = fams.pop()
    fields = {"key": 0, "value": 1} if fam == "freeformtags" else {"namespace": 0, "key": 1, "value": 2}

    def matcher(c, op):
        idx = fields[c[1].split(".", 1)[1]]
        test = _str_test(op, c[3])
        return lambda e: test(e[idx])
    pos = [matcher(c, c[2]) for c in conds if c[2] not in NEGATIVE]
    neg = [matcher(c, _POSITIVE[c[2]]) for c in conds if c[2] in NEGATIVE]

    if fam == "freeformtags":
        def entries(o):
            return o.freeform_tags.items()
    else:
        def entries(o):
            return [(ns, k, str(v)) for ns, kv in o.defined_tags.items()
                    if isinstance(kv, dict) for k, v in kv.items()]

    def pred(o):
        es = list(entries(o))
        if pos and not any(all(m(e) for m in pos) for e in es):
            return False
        return not any(m(e) for m in neg for e in es)
    return pred


def compile_expr(node, kind):
    if node is None:
        return lambda o: True
    tag = node[0]
    if tag == "cmp":
        _, attr, op, v = node
        if _is_tag(attr):
            return _tag_group([node])
        if attr == "timecreated":
            test = _time_test(op, v) if op not in ("=~", "!=~") else None
            if test is None:
                raise QueryError("=~ does not apply to timeCreated")
            return lambda o: test(o.tc_ms)
        get, test = _getter(attr, kind), _str_test(op, v)
        return lambda o: test(get(o))
    if tag == "or":
        # attr = 'a' || attr = 'b' || ... (how clients partition) becomes one set lookup.
        sets, rest = {}, []
        for c in node[1]:
            if c[0] == "cmp" and c[2] == "=" and not _is_tag(c[1]) and c[1] != "timecreated":
                sets.setdefault(c[1], set()).add(c[3].lower())
            else:
                rest.append(c)
        preds = [compile_expr(c, kind) for c in rest]
        for attr, values in sets.items():
            get = _getter(attr, kind)
            preds.append(lambda o, get=get, values=values: (get(o) or "").lower() in values)
        return lambda o: any(p(o) for p in preds)
    preds, tags = [], []
    for c in node[1]:
        (tags if c[0] == "cmp" and _is_tag(c[1]) else preds).append(c)
    fns = [compile_expr(c, kind) for c in preds]
    if tags:
        fns.append(_tag_group(tags))
    return lambda o: all(p(o) for p in fns)


def _plan(node, ten, region):
    """A superset of the matching instance ids from indexes, or None (scan everything)."""
    if node is None:
        return None
    if node[0] == "cmp":
        _, attr, op, v = node
        if attr == "compartmentid" and op == "=":
            return {i.id for i in ten.by_compartment(region).get(v.lower(), ())} | \
                   {i.id for i in ten.by_compartment(region).get(v, ())}
        if attr == "identifier" and op == "=":
            i = ten.instances.get(v) or ten.instances.get(v.lower())
            return {i.id} if i is not None and i.region == region else set()
        if attr == "timecreated" and op in ("=", ">", ">=", "<", "<="):
            lst, keys = ten.region_instances(region)
            ms = _time_value(v)
            lo, hi = 0, len(keys)
            if op in (">", "="):
                lo = bisect.bisect_right(keys, ms) if op == ">" else bisect.bisect_left(keys, ms)
            if op == ">=":
                lo = bisect.bisect_left(keys, ms)
            if op in ("<", "="):
                hi = bisect.bisect_left(keys, ms) if op == "<" else bisect.bisect_right(keys, ms)
            if op == "<=":
                hi = bisect.bisect_right(keys, ms)
            return {i.id for i in lst[lo:hi]}
        return None
    sets = [_plan(c, ten, region) for c in node[1]]
    if node[0] == "or":
        if any(s is None for s in sets):
            return None
        return set().union(*sets)
    known = [s for s in sets if s is not None]
    if not known:
        return None
    known.sort(key=len)
    out = set(known[0])
    for s in known[1:]:
        out &= s
    return out


def run(q, ten, region):
    """Objects (Instance/Compartment) matching q in region, in result order."""
    out = []
    if "instance" in q.types:
        pred = compile_expr(q.expr, "instance")
        cand = _plan(q.expr, ten, region)
        if cand is None:
            objs = ten.region_instances(region)[0]
        else:
            objs = [ten.instances[i] for i in cand]
        out.extend(o for o in objs if pred(o))
    if "compartment" in q.types:
        pred = compile_expr(q.expr, "compartment")
        out.extend(c for c in ten.compartments.values() if pred(c))
    if q.sort_attr == "displayname":
        out.sort(key=lambda o: (o.display_name if isinstance(o, T.Instance) else o.name, o.id),
                 reverse=q.sort_desc)
    else:
        out.sort(key=lambda o: (o.tc_ms, o.id), reverse=q.sort_desc)
    return out


def free_text(text, ten, region):
    t = (text or "").lower()
    if not t:
        raise QueryError("text is empty")

    def hit(o, name):
        return (t in name.lower() or t == o.id or
                any(t in k.lower() or t in v.lower() for k, v in o.freeform_tags.items()))
    out = [i for i in ten.region_instances(region)[0] if hit(i, i.display_name)]
    out += [c for c in ten.compartments.values() if hit(c, c.name)]
    out.sort(key=lambda o: (o.tc_ms, o.id), reverse=True)
    return out

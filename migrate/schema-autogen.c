/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema-autogen.h"
#include "strv.h"

/* Statements go into phases, written in this order: drops from the most dependent object to the
 * least, then creates from the least dependent to the most. */
typedef enum Phase {
        DROP_TRIGGER,
        DROP_RULE,
        DROP_POLICY,
        DROP_VIEW,
        DROP_FOREIGN_KEY,
        DROP_CONSTRAINT,
        DROP_INDEX,
        DROP_COLUMN,
        DROP_TABLE,
        DROP_FUNCTION,
        DROP_SEQUENCE,
        DROP_TYPE,
        DROP_SCHEMA,
        CREATE_SCHEMA,
        CREATE_TYPE,
        CREATE_SEQUENCE,
        CREATE_FUNCTION,
        CREATE_TABLE,
        ALTER_COLUMN,
        OWN_SEQUENCE,
        CREATE_CONSTRAINT,
        CREATE_INDEX,
        CREATE_FOREIGN_KEY,
        CREATE_VIEW,
        CREATE_TRIGGER,
        CREATE_RULE,
        CREATE_POLICY,
        SET_COMMENT,
        _PHASE_MAX,
} Phase;

typedef struct Gen {
        const SchemaDescription *from, *to;
        FILE *out[_PHASE_MAX];
        char *text[_PHASE_MAX];
        size_t size[_PHASE_MAX];
        unsigned reviews;
        bool functions;
} Gen;

static const SchemaObject *find(const SchemaDescription *d, const char *kind, const char *name) {
        size_t lo = 0, hi = d ? d->n_objects : 0;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int c = strcmp(d->objects[mid].kind, kind);
                if (c == 0)
                        c = strcmp(d->objects[mid].name, name);
                if (c == 0)
                        return &d->objects[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static _printf_(3, 4) void emit(Gen *g, Phase p, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        (void) vfprintf(g->out[p], fmt, ap);
        va_end(ap);
}

static _printf_(3, 4) void review(Gen *g, Phase p, const char *fmt, ...) {
        va_list ap;
        fputs("-- REVIEW: ", g->out[p]);
        va_start(ap, fmt);
        (void) vfprintf(g->out[p], fmt, ap);
        va_end(ap);
        fputc('\n', g->out[p]);
        g->reviews++;
}

/* ---- names ---- */

static const char * const reserved[] = {
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
        "binary", "both", "case", "cast", "check", "collate", "collation", "column", "concurrently",
        "constraint", "create", "cross", "current_catalog", "current_date", "current_role",
        "current_schema", "current_time", "current_timestamp", "current_user", "default", "deferrable",
        "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "freeze",
        "from", "full", "grant", "group", "having", "ilike", "in", "initially", "inner", "intersect",
        "into", "is", "isnull", "join", "lateral", "leading", "left", "like", "limit", "localtime",
        "localtimestamp", "natural", "not", "notnull", "null", "offset", "on", "only", "or", "order",
        "outer", "overlaps", "placing", "primary", "references", "returning", "right", "select",
        "session_user", "similar", "some", "symmetric", "table", "tablesample", "then", "to", "trailing",
        "true", "union", "unique", "user", "using", "variadic", "verbose", "when", "where", "window",
        "with", NULL,
};

/* An identifier as SQL needs it written: bare when it is a plain lower-case word. */
static void put_ident(FILE *f, const char *s, size_t n) {
        bool plain = n > 0 && (islower((unsigned char) s[0]) || s[0] == '_');
        for (size_t i = 0; plain && i < n; i++)
                plain = islower((unsigned char) s[i]) || isdigit((unsigned char) s[i]) || s[i] == '_' || s[i] == '$';
        if (plain)
                for (const char * const *k = reserved; *k; k++)
                        if (strlen(*k) == n && strncmp(*k, s, n) == 0) {
                                plain = false;
                                break;
                        }
        if (plain) {
                fwrite(s, 1, n, f);
                return;
        }
        fputc('"', f);
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '"')
                        fputc('"', f);
                fputc(s[i], f);
        }
        fputc('"', f);
}

/* "schema.a.b" -> schema.a.b with each part quoted as needed (dots separate the parts). */
static char *qname(const char *name) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        for (const char *p = name;;) {
                const char *dot = strchr(p, '.');
                size_t n = dot ? (size_t) (dot - p) : strlen(p);
                put_ident(f, p, n);
                if (!dot)
                        break;
                fputc('.', f);
                p = dot + 1;
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* The relation of "schema.rel.sub": "schema.rel". */
static char *parent_of(const char *name) {
        const char *last = strrchr(name, '.');
        return last ? strndup(name, (size_t) (last - name)) : strdup(name);
}

static const char *last_part(const char *name) {
        const char *last = strrchr(name, '.');
        return last ? last + 1 : name;
}

/* "schema.f(integer, text)" -> schema.f(integer, text), the name part quoted as needed. */
static char *qfunction(const char *name) {
        const char *paren = strchr(name, '(');
        _cleanup_free_ char *base = paren ? strndup(name, (size_t) (paren - name)) : strdup(name);
        if (!base)
                return NULL;
        _cleanup_free_ char *q = qname(base);
        return q ? strprintf("%s%s", q, paren ?: "") : NULL;
}

static void put_literal(FILE *f, const char *s) {
        fputc('\'', f);
        for (; *s; s++) {
                if (*s == '\'')
                        fputc('\'', f);
                fputc(*s, f);
        }
        fputc('\'', f);
}

static bool startswith_word(const char *s, const char *prefix) {
        return startswith(s, prefix) != NULL;
}

/* The definition without a trailing ';' and white space. */
static char *strip_semicolon(const char *def) {
        size_t l = strlen(def);
        while (l > 0 && (isspace((unsigned char) def[l - 1]) || def[l - 1] == ';'))
                l--;
        return strndup(def, l);
}

/* ---- what an object is ---- */

static bool is_view(const SchemaDescription *d, const char *rel) {
        return find(d, "view", rel) || find(d, "matview", rel);
}

static bool is_domain(const SchemaDescription *d, const char *name) {
        const SchemaObject *t = find(d, "type", name);
        return t && startswith_word(t->definition, "domain ");
}

static bool column_is_identity(const SchemaDescription *d, const char *column) {
        const SchemaObject *c = find(d, "column", column);
        return c && strstr(c->definition, " as identity");
}

/* "... owned by schema.t.c" of a sequence definition, or NULL. */
static const char *sequence_owner(const char *def) {
        const char *o = strstr(def, " owned by ");
        return o ? o + strlen(" owned by ") : NULL;
}

/* Identity columns make and drop their sequences themselves. */
static bool sequence_is_implicit(const SchemaDescription *d, const SchemaObject *s) {
        const char *owner = sequence_owner(s->definition);
        return owner && column_is_identity(d, owner);
}

static bool constraint_has_index(const char *def) {
        return startswith_word(def, "PRIMARY KEY") || startswith_word(def, "UNIQUE") || startswith_word(def, "EXCLUDE");
}

/* Indexes that a primary key, unique or exclusion constraint owns come and go with it. */
static bool index_is_implicit(const SchemaDescription *d, const SchemaObject *idx) {
        const char *want = last_part(idx->name);
        for (size_t i = 0; i < d->n_objects; i++) {
                const SchemaObject *o = &d->objects[i];
                if (streq(o->kind, "constraint") && streq(last_part(o->name), want) && constraint_has_index(o->definition))
                        return true;
        }
        return false;
}

/* The table of "CREATE ... INDEX name ON [ONLY] schema.t USING ...", as "schema.t" (unquoted
 * names as the catalogs give them; quoted ones are not matched, which only costs a redundant
 * drop). */
static char *index_table(const char *def) {
        const char *on = strstr(def, " ON ");
        if (!on)
                return NULL;
        on += 4;
        if (startswith_word(on, "ONLY "))
                on += 5;
        size_t n = strcspn(on, " (");
        return strndup(on, n);
}

/* ---- columns ---- */

typedef struct Column {
        char *type;
        char *collation;
        bool not_null;
        const char *identity;     /* "ALWAYS", "BY DEFAULT" or NULL */
        char *default_expr;
        char *generated;          /* "generated always as (...) stored" */
} Column;

static void column_done(Column *c) {
        free(c->type);
        free(c->collation);
        free(c->default_expr);
        free(c->generated);
}

/* Parses schema-describe's column definition: "type [collate C] [not null]
 * [generated always|by default as identity] [default EXPR | generated always as (EXPR) stored]". */
static int column_parse(const char *def, Column *ret) {
        static const char * const markers[] = { " collate ", " not null", " generated ", " default " };
        const char *end = def + strlen(def);
        for (size_t i = 0; i < ELEMENTSOF(markers); i++) {
                const char *m = strstr(def, markers[i]);
                if (m && m < end)
                        end = m;
        }
        *ret = (Column) {};
        ret->type = strndup(def, (size_t) (end - def));
        if (!ret->type)
                return -ENOMEM;
        const char *p = end;
        while (*p) {
                if (startswith_word(p, " collate ")) {
                        p += strlen(" collate ");
                        size_t n = strcspn(p, " ");
                        ret->collation = strndup(p, n);
                        if (!ret->collation)
                                return -ENOMEM;
                        p += n;
                } else if (startswith_word(p, " not null")) {
                        ret->not_null = true;
                        p += strlen(" not null");
                } else if (startswith_word(p, " generated always as identity")) {
                        ret->identity = "ALWAYS";
                        p += strlen(" generated always as identity");
                } else if (startswith_word(p, " generated by default as identity")) {
                        ret->identity = "BY DEFAULT";
                        p += strlen(" generated by default as identity");
                } else if (startswith_word(p, " default ")) {
                        ret->default_expr = strdup(p + strlen(" default "));
                        return ret->default_expr ? 0 : -ENOMEM;
                } else if (startswith_word(p, " generated always as (")) {
                        ret->generated = strdup(p + 1);
                        return ret->generated ? 0 : -ENOMEM;
                } else
                        return -EINVAL;
        }
        return 0;
}

static void put_column(FILE *f, const char *column, const Column *c) {
        put_ident(f, column, strlen(column));
        fprintf(f, " %s", c->type);
        if (c->collation) {
                fputs(" COLLATE ", f);
                fputc('"', f);
                fputs(c->collation, f);
                fputc('"', f);
        }
        if (c->not_null)
                fputs(" NOT NULL", f);
        if (c->identity)
                fprintf(f, " GENERATED %s AS IDENTITY", c->identity);
        if (c->default_expr)
                fprintf(f, " DEFAULT %s", c->default_expr);
        if (c->generated)
                fprintf(f, " %s", c->generated);
}

/* A column of `to` whose table exists in `from` too, added with the same definition as a column
 * of the same table that is dropped: name the likely rename. */
static const char *renamed_column_from(Gen *g, const SchemaObject *added) {
        _cleanup_free_ char *table = parent_of(added->name);
        if (!table)
                return NULL;
        size_t tl = strlen(table);
        for (size_t i = 0; i < g->from->n_objects; i++) {
                const SchemaObject *o = &g->from->objects[i];
                if (streq(o->kind, "column") && strncmp(o->name, table, tl) == 0 && o->name[tl] == '.' &&
                    !strchr(o->name + tl + 1, '.') && !find(g->to, "column", o->name) &&
                    streq(o->definition, added->definition))
                        return o->name;
        }
        return NULL;
}

static void column_added(Gen *g, const SchemaObject *o) {
        _cleanup_free_ char *table = parent_of(o->name), *qt = NULL;
        _cleanup_(column_done) Column c = {};
        if (!table || is_view(g->to, table))
                return;
        qt = qname(table);
        if (!qt || column_parse(o->definition, &c) < 0) {
                review(g, ALTER_COLUMN, "cannot read the definition of %s: \"%s\"", o->name, o->definition);
                return;
        }
        bool table_existed = find(g->from, "table", table) != NULL;
        if (table_existed) {
                const char *old = renamed_column_from(g, o);
                if (old)
                        review(g, ALTER_COLUMN, "%s is dropped and %s added with the same definition: if this is a "
                               "rename, replace both with ALTER TABLE %s RENAME COLUMN %s TO %s (as written, the "
                               "column's data is lost)", old, o->name, qt, last_part(old), last_part(o->name));
                if (c.not_null && !c.default_expr && !c.identity && !c.generated)
                        review(g, ALTER_COLUMN, "%s is NOT NULL without a default: this fails on a table with rows "
                               "(add a DEFAULT, or add it nullable, fill it, then SET NOT NULL)", o->name);
        }
        emit(g, ALTER_COLUMN, "ALTER TABLE %s ADD COLUMN ", qt);
        put_column(g->out[ALTER_COLUMN], last_part(o->name), &c);
        emit(g, ALTER_COLUMN, ";\n");
}

static void column_dropped(Gen *g, const SchemaObject *o) {
        _cleanup_free_ char *table = parent_of(o->name), *qt = NULL;
        if (!table || is_view(g->from, table) || !find(g->to, "table", table))
                return;    /* a view's columns come with it, a dropped table's with the table */
        qt = qname(table);
        if (!qt)
                return;
        emit(g, DROP_COLUMN, "ALTER TABLE %s DROP COLUMN ", qt);
        put_ident(g->out[DROP_COLUMN], last_part(o->name), strlen(last_part(o->name)));
        emit(g, DROP_COLUMN, ";\n");
}

static void column_changed(Gen *g, const SchemaObject *was, const SchemaObject *now) {
        _cleanup_free_ char *table = parent_of(now->name), *qt = NULL;
        _cleanup_(column_done) Column a = {}, b = {};
        if (!table || is_view(g->to, table) || is_view(g->from, table))
                return;
        qt = qname(table);
        if (!qt)
                return;
        if (column_parse(was->definition, &a) < 0 || column_parse(now->definition, &b) < 0) {
                review(g, ALTER_COLUMN, "%s changed from \"%s\" to \"%s\"; cannot read these definitions", now->name,
                       was->definition, now->definition);
                return;
        }
        const char *col = last_part(now->name);
        FILE *f = g->out[ALTER_COLUMN];
#define ALTER() do { fprintf(f, "ALTER TABLE %s ALTER COLUMN ", qt); put_ident(f, col, strlen(col)); } while (0)

        if (!streq_ptr(a.generated, b.generated)) {
                /* PostgreSQL 15 cannot change a generation expression: the column is derived data */
                fprintf(f, "ALTER TABLE %s DROP COLUMN ", qt);
                put_ident(f, col, strlen(col));
                fprintf(f, ";\nALTER TABLE %s ADD COLUMN ", qt);
                put_column(f, col, &b);
                fputs(";\n", f);
                return;
        }
        bool type_changed = !streq(a.type, b.type) || !streq_ptr(a.collation, b.collation);
        if (a.identity && !b.identity) {
                ALTER();
                fputs(" DROP IDENTITY;\n", f);
        }
        if (a.default_expr && (!b.default_expr || !streq(a.default_expr, b.default_expr) || type_changed)) {
                ALTER();
                fputs(" DROP DEFAULT;\n", f);
        }
        if (type_changed) {
                review(g, ALTER_COLUMN, "%s changes type from %s to %s: add USING (%s::%s) or another conversion if "
                       "the old values do not convert implicitly", now->name, a.type, b.type, col, b.type);
                ALTER();
                fprintf(f, " TYPE %s", b.type);
                if (b.collation)
                        fprintf(f, " COLLATE \"%s\"", b.collation);
                fputs(";\n", f);
        }
        if (a.not_null != b.not_null) {
                ALTER();
                fputs(b.not_null ? " SET NOT NULL;\n" : " DROP NOT NULL;\n", f);
        }
        if (b.default_expr && (!a.default_expr || !streq(a.default_expr, b.default_expr) || type_changed)) {
                ALTER();
                fprintf(f, " SET DEFAULT %s;\n", b.default_expr);
        }
        if (b.identity && !a.identity) {
                ALTER();
                fprintf(f, " ADD GENERATED %s AS IDENTITY;\n", b.identity);
        } else if (a.identity && b.identity && !streq(a.identity, b.identity)) {
                ALTER();
                fprintf(f, " SET GENERATED %s;\n", b.identity);
        }
#undef ALTER
}

/* ---- tables ---- */

static bool def_has_line(const char *def, const char *prefix) {
        for (const char *l = def; l && *l;) {
                if (startswith_word(l, prefix))
                        return true;
                l = strchr(l, '\n');
                if (l)
                        l++;
        }
        return false;
}

/* The rest of the line of def starting with prefix, or NULL. */
static char *def_line_value(const char *def, const char *prefix) {
        for (const char *l = def; l && *l;) {
                if (startswith_word(l, prefix)) {
                        l += strlen(prefix);
                        return strndup(l, strcspn(l, "\n"));
                }
                l = strchr(l, '\n');
                if (l)
                        l++;
        }
        return NULL;
}

/* The columns of table in d, "name definition" lines in name order: a table's signature. */
static char *table_signature(const SchemaDescription *d, const char *table) {
        char *buf = NULL;
        size_t size = 0, tl = strlen(table);
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        for (size_t i = 0; i < d->n_objects; i++) {
                const SchemaObject *o = &d->objects[i];
                if (streq(o->kind, "column") && strncmp(o->name, table, tl) == 0 && o->name[tl] == '.')
                        fprintf(f, "%s %s\n", o->name + tl + 1, o->definition);
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static void table_rls(Gen *g, const char *qt, const char *was, const char *now) {
        bool a = was && def_has_line(was, "row level security"), b = def_has_line(now, "row level security");
        bool af = was && def_has_line(was, "row level security (forced)"), bf = def_has_line(now, "row level security (forced)");
        if (a != b)
                emit(g, CREATE_TABLE, "ALTER TABLE %s %s ROW LEVEL SECURITY;\n", qt, b ? "ENABLE" : "DISABLE");
        if (af != bf)
                emit(g, CREATE_TABLE, "ALTER TABLE %s %s ROW LEVEL SECURITY;\n", qt, bf ? "FORCE" : "NO FORCE");
}

static void table_added(Gen *g, const SchemaObject *o) {
        _cleanup_free_ char *qt = qname(o->name), *part_by = def_line_value(o->definition, "partition by "),
                *inherits = def_line_value(o->definition, "inherits "), *with = def_line_value(o->definition, "with ");
        if (!qt)
                return;
        if (def_has_line(o->definition, "partition of ")) {
                review(g, CREATE_TABLE, "%s is a partition (%s): write CREATE TABLE %s PARTITION OF … by hand; its "
                       "columns come from the parent", o->name, o->definition, qt);
                return;
        }
        if (inherits)
                review(g, CREATE_TABLE, "%s inherits %s: inherited columns must not be added again below", o->name, inherits);
        /* a dropped table with the same columns: likely a rename */
        _cleanup_free_ char *sig = table_signature(g->to, o->name);
        for (size_t i = 0; sig && i < g->from->n_objects; i++) {
                const SchemaObject *x = &g->from->objects[i];
                if (!streq(x->kind, "table") || find(g->to, "table", x->name))
                        continue;
                _cleanup_free_ char *xs = table_signature(g->from, x->name);
                if (xs && streq(xs, sig) && *sig) {
                        review(g, CREATE_TABLE, "%s is dropped and %s created with the same columns: if this is a rename, "
                               "replace both with ALTER TABLE %s RENAME TO %s (as written, the rows are lost)",
                               x->name, o->name, x->name, last_part(o->name));
                        break;
                }
        }
        emit(g, CREATE_TABLE, "CREATE %sTABLE %s ()", def_has_line(o->definition, "unlogged") ? "UNLOGGED " : "", qt);
        if (inherits) {
                _cleanup_free_ char *qi = qname(inherits);
                emit(g, CREATE_TABLE, " INHERITS (%s)", qi ?: inherits);
        }
        if (part_by)
                emit(g, CREATE_TABLE, " PARTITION BY %s", part_by);
        if (with)
                emit(g, CREATE_TABLE, " WITH %s", with);
        emit(g, CREATE_TABLE, ";\n");
        table_rls(g, qt, NULL, o->definition);
}

static void table_changed(Gen *g, const SchemaObject *was, const SchemaObject *now) {
        _cleanup_free_ char *qt = qname(now->name);
        if (!qt)
                return;
        bool a = def_has_line(was->definition, "unlogged"), b = def_has_line(now->definition, "unlogged");
        if (a != b)
                emit(g, CREATE_TABLE, "ALTER TABLE %s SET %s;\n", qt, b ? "UNLOGGED" : "LOGGED");
        table_rls(g, qt, was->definition, now->definition);
        static const char * const manual[] = { "partition by ", "partition of ", "inherits ", "with " };
        for (size_t i = 0; i < ELEMENTSOF(manual); i++) {
                _cleanup_free_ char *x = def_line_value(was->definition, manual[i]),
                        *y = def_line_value(now->definition, manual[i]);
                if (!streq_ptr(x, y))
                        review(g, CREATE_TABLE, "%s: \"%s%s\" becomes \"%s%s\": write this change by hand", now->name,
                               x ? manual[i] : "", strempty(x), y ? manual[i] : "", strempty(y));
        }
}

/* ---- sequences ---- */

/* "bigint start 1 increment 1 min 1 max 9 cache 1 [cycle] [owned by x]" -> the CREATE/ALTER clauses. */
static void put_sequence_options(FILE *f, const char *def) {
        char type[64], start[32], inc[32], min[32], max[32], cache[32];
        int consumed = 0;
        if (sscanf(def, "%63s start %31s increment %31s min %31s max %31s cache %31s%n", type, start, inc, min, max,
                   cache, &consumed) < 6)
                return;
        fprintf(f, " AS %s START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s %s", type, start, inc, min,
                max, cache, startswith(def + consumed, " cycle") ? "CYCLE" : "NO CYCLE");
}

/* The length of a sequence definition without its " owned by …". */
static size_t sequence_options_length(const char *def) {
        const char *o = strstr(def, " owned by ");
        return o ? (size_t) (o - def) : strlen(def);
}

static void sequence_owned(Gen *g, const char *qs, const char *was, const char *now) {
        const char *a = was ? sequence_owner(was) : NULL, *b = sequence_owner(now);
        if (streq_ptr(a, b))
                return;
        _cleanup_free_ char *qo = b ? qname(b) : NULL;
        emit(g, OWN_SEQUENCE, "ALTER SEQUENCE %s OWNED BY %s;\n", qs, qo ?: "NONE");
}

static void sequence_added(Gen *g, const SchemaObject *o) {
        if (sequence_is_implicit(g->to, o))
                return;
        _cleanup_free_ char *qs = qname(o->name);
        if (!qs)
                return;
        emit(g, CREATE_SEQUENCE, "CREATE SEQUENCE %s", qs);
        put_sequence_options(g->out[CREATE_SEQUENCE], o->definition);
        emit(g, CREATE_SEQUENCE, ";\n");
        sequence_owned(g, qs, NULL, o->definition);
}

static void sequence_changed(Gen *g, const SchemaObject *was, const SchemaObject *now) {
        if (sequence_is_implicit(g->to, now))
                return;
        _cleanup_free_ char *qs = qname(now->name);
        if (!qs)
                return;
        if (sequence_is_implicit(g->from, was)) {
                /* was an identity column's, now stands alone: the column change dropped it */
                sequence_added(g, now);
                return;
        }
        size_t la = sequence_options_length(was->definition), lb = sequence_options_length(now->definition);
        if (la != lb || strncmp(was->definition, now->definition, la) != 0) {
                emit(g, OWN_SEQUENCE, "ALTER SEQUENCE %s", qs);
                put_sequence_options(g->out[OWN_SEQUENCE], now->definition);
                emit(g, OWN_SEQUENCE, ";\n");
        }
        sequence_owned(g, qs, was->definition, now->definition);
}

/* ---- types ---- */

/* "enum ('a', 'b')" -> labels. */
static char **enum_labels(const char *def) {
        char **l = NULL;
        const char *p = strchr(def, '(');
        if (!p)
                return NULL;
        for (p++; *p == '\'';) {
                char *buf = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&buf, &size);
                if (!f)
                        return strv_free(l);
                for (p++; *p; p++) {
                        if (*p == '\'' && p[1] == '\'') {
                                fputc('\'', f);
                                p++;
                        } else if (*p == '\'')
                                break;
                        else
                                fputc(*p, f);
                }
                if (fclose(f) != 0 || strv_consume(&l, buf) < 0)
                        return strv_free(l);
                if (*p)
                        p++;
                while (*p == ',' || *p == ' ')
                        p++;
        }
        return l ?: new0(char *, 1);
}

static void type_create(Gen *g, Phase p, const SchemaObject *o) {
        _cleanup_free_ char *qt = qname(o->name);
        const char *d = o->definition;
        if (!qt)
                return;
        if (startswith_word(d, "enum "))
                emit(g, p, "CREATE TYPE %s AS ENUM %s;\n", qt, d + strlen("enum "));
        else if (startswith_word(d, "composite "))
                emit(g, p, "CREATE TYPE %s AS %s;\n", qt, d + strlen("composite "));
        else if (startswith_word(d, "range of "))
                emit(g, p, "CREATE TYPE %s AS RANGE (SUBTYPE = %s);\n", qt, d + strlen("range of "));
        else if (startswith_word(d, "domain ")) {
                _cleanup_(column_done) Column c = {};
                if (column_parse(d + strlen("domain "), &c) < 0) {
                        review(g, p, "cannot read the definition of domain %s: \"%s\"", o->name, d);
                        return;
                }
                emit(g, p, "CREATE DOMAIN %s AS %s%s%s%s;\n", qt, c.type, c.not_null ? " NOT NULL" : "",
                     c.default_expr ? " DEFAULT " : "", strempty(c.default_expr));
        } else
                review(g, p, "type %s (%s): write CREATE TYPE by hand", o->name, d);
}

static void type_drop(Gen *g, const SchemaObject *o) {
        _cleanup_free_ char *qt = qname(o->name);
        if (qt)
                emit(g, DROP_TYPE, "DROP %s %s;\n", startswith_word(o->definition, "domain ") ? "DOMAIN" : "TYPE", qt);
}

static void type_changed(Gen *g, const SchemaObject *was, const SchemaObject *now) {
        _cleanup_free_ char *qt = qname(now->name);
        if (!qt)
                return;
        if (startswith_word(was->definition, "enum ") && startswith_word(now->definition, "enum ")) {
                _cleanup_strv_free_ char **a = enum_labels(was->definition), **b = enum_labels(now->definition);
                size_t na = strv_length(a), nb = strv_length(b);
                bool appended = a && b && na <= nb;
                for (size_t i = 0; appended && i < na; i++)
                        appended = streq(a[i], b[i]);
                if (appended) {
                        for (size_t i = na; i < nb; i++) {
                                emit(g, CREATE_TYPE, "ALTER TYPE %s ADD VALUE ", qt);
                                put_literal(g->out[CREATE_TYPE], b[i]);
                                emit(g, CREATE_TYPE, ";\n");
                        }
                        return;
                }
                review(g, CREATE_TYPE, "enum %s changes from %s to %s: labels cannot be removed or reordered in "
                       "place (create a new type, convert the columns, drop the old one)", now->name,
                       was->definition, now->definition);
                return;
        }
        if (startswith_word(was->definition, "domain ") && startswith_word(now->definition, "domain ")) {
                _cleanup_(column_done) Column a = {}, b = {};
                if (column_parse(was->definition + 7, &a) >= 0 && column_parse(now->definition + 7, &b) >= 0 &&
                    streq(a.type, b.type)) {
                        if (a.not_null != b.not_null)
                                emit(g, CREATE_TYPE, "ALTER DOMAIN %s %s NOT NULL;\n", qt, b.not_null ? "SET" : "DROP");
                        if (!streq_ptr(a.default_expr, b.default_expr)) {
                                if (b.default_expr)
                                        emit(g, CREATE_TYPE, "ALTER DOMAIN %s SET DEFAULT %s;\n", qt, b.default_expr);
                                else
                                        emit(g, CREATE_TYPE, "ALTER DOMAIN %s DROP DEFAULT;\n", qt);
                        }
                        return;
                }
        }
        review(g, CREATE_TYPE, "type %s changes from \"%s\" to \"%s\": write this change by hand", now->name,
               was->definition, now->definition);
}

/* ---- constraints, indexes, views, functions, triggers, rules, policies ---- */

static void constraint_emit(Gen *g, const SchemaDescription *d, const SchemaObject *o, bool add) {
        _cleanup_free_ char *owner = parent_of(o->name), *qo = NULL;
        if (!owner)
                return;
        bool domain = is_domain(d, owner);
        if (!add && !domain && !find(g->to, "table", owner))
                return;    /* goes with its table */
        if (!add && domain && !find(g->to, "type", owner))
                return;
        qo = qname(owner);
        if (!qo)
                return;
        bool fk = startswith_word(o->definition, "FOREIGN KEY");
        Phase p = add ? (fk ? CREATE_FOREIGN_KEY : CREATE_CONSTRAINT) : (fk ? DROP_FOREIGN_KEY : DROP_CONSTRAINT);
        emit(g, p, "ALTER %s %s %s CONSTRAINT ", domain ? "DOMAIN" : "TABLE", qo, add ? "ADD" : "DROP");
        put_ident(g->out[p], last_part(o->name), strlen(last_part(o->name)));
        if (add)
                emit(g, p, " %s", o->definition);
        emit(g, p, ";\n");
}

static void index_emit(Gen *g, const SchemaDescription *d, const SchemaObject *o, bool add) {
        if (index_is_implicit(d, o))
                return;
        if (add) {
                const char *inv = strstr(o->definition, " (invalid)");
                _cleanup_free_ char *def = strndup(o->definition, inv ? (size_t) (inv - o->definition) : strlen(o->definition));
                emit(g, CREATE_INDEX, "%s;\n", def ?: o->definition);
                return;
        }
        _cleanup_free_ char *table = index_table(o->definition), *qi = qname(o->name);
        if (table && !find(g->to, "table", table) && !find(g->to, "matview", table))
                return;    /* goes with its table */
        if (qi)
                emit(g, DROP_INDEX, "DROP INDEX %s;\n", qi);
}

/* A view's definition: option lines ("with (...)") then the query. */
static void view_emit(Gen *g, const SchemaObject *o, bool add) {
        bool mat = streq(o->kind, "matview");
        _cleanup_free_ char *qv = qname(o->name);
        if (!qv)
                return;
        if (!add) {
                emit(g, DROP_VIEW, "DROP %sVIEW %s;\n", mat ? "MATERIALIZED " : "", qv);
                return;
        }
        const char *query = o->definition;
        _cleanup_free_ char *with = def_line_value(o->definition, "with (");
        if (with) {
                const char *nl = strchr(query, '\n');
                query = nl ? nl + 1 : "";
        }
        _cleanup_free_ char *q = strip_semicolon(query);
        emit(g, CREATE_VIEW, "CREATE %sVIEW %s%s%s AS\n%s%s;\n", mat ? "MATERIALIZED " : "", qv, with ? " WITH (" : "",
             strempty(with), strempty(q), mat ? "\n  WITH DATA" : "");
}

static void function_emit(Gen *g, const SchemaObject *o, bool add) {
        _cleanup_free_ char *qf = qfunction(o->name);
        if (!qf)
                return;
        if (streq(o->kind, "aggregate")) {
                review(g, add ? CREATE_FUNCTION : DROP_FUNCTION, "aggregate %s (%s): write CREATE/DROP AGGREGATE by hand",
                       o->name, o->definition);
                return;
        }
        if (!add) {
                emit(g, DROP_FUNCTION, "DROP %s %s;\n", streq(o->kind, "procedure") ? "PROCEDURE" : "FUNCTION", qf);
                return;
        }
        g->functions = true;
        _cleanup_free_ char *def = strip_semicolon(o->definition);
        emit(g, CREATE_FUNCTION, "%s;\n", def ?: o->definition);
}

/* "CREATE TRIGGER t ... (disabled)": the statement, and how it is enabled. */
static void trigger_emit(Gen *g, const SchemaObject *o, bool add) {
        _cleanup_free_ char *table = parent_of(o->name), *qt = NULL;
        const char *name = last_part(o->name);
        if (!table)
                return;
        qt = qname(table);
        if (!qt)
                return;
        if (!add) {
                if (!find(g->to, "table", table) && !find(g->to, "view", table))
                        return;
                emit(g, DROP_TRIGGER, "DROP TRIGGER ");
                put_ident(g->out[DROP_TRIGGER], name, strlen(name));
                emit(g, DROP_TRIGGER, " ON %s;\n", qt);
                return;
        }
        static const struct { const char *suffix, *alter; } modes[] = {
                { " (disabled)", "DISABLE" }, { " (replica)", "ENABLE REPLICA" }, { " (always)", "ENABLE ALWAYS" },
        };
        const char *def = o->definition, *alter = NULL;
        size_t l = strlen(def);
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                size_t sl = strlen(modes[i].suffix);
                if (l > sl && streq(def + l - sl, modes[i].suffix)) {
                        l -= sl;
                        alter = modes[i].alter;
                }
        }
        emit(g, CREATE_TRIGGER, "%.*s;\n", (int) l, def);
        if (alter) {
                emit(g, CREATE_TRIGGER, "ALTER TABLE %s %s TRIGGER ", qt, alter);
                put_ident(g->out[CREATE_TRIGGER], name, strlen(name));
                emit(g, CREATE_TRIGGER, ";\n");
        }
}

static void rule_emit(Gen *g, const SchemaObject *o, bool add) {
        _cleanup_free_ char *table = parent_of(o->name), *qt = NULL;
        if (!table)
                return;
        qt = qname(table);
        if (!qt)
                return;
        if (add) {
                _cleanup_free_ char *def = strip_semicolon(o->definition);
                emit(g, CREATE_RULE, "%s;\n", def ?: o->definition);
        } else if (find(g->to, "table", table) || find(g->to, "view", table)) {
                emit(g, DROP_RULE, "DROP RULE ");
                put_ident(g->out[DROP_RULE], last_part(o->name), strlen(last_part(o->name)));
                emit(g, DROP_RULE, " ON %s;\n", qt);
        }
}

/* "permissive for r to public using (...) with check (...)" */
static void policy_emit(Gen *g, const SchemaObject *o, bool add) {
        _cleanup_free_ char *table = parent_of(o->name), *qt = NULL;
        const char *name = last_part(o->name);
        if (!table)
                return;
        qt = qname(table);
        if (!qt)
                return;
        if (!add) {
                if (!find(g->to, "table", table))
                        return;
                emit(g, DROP_POLICY, "DROP POLICY ");
                put_ident(g->out[DROP_POLICY], name, strlen(name));
                emit(g, DROP_POLICY, " ON %s;\n", qt);
                return;
        }
        const char *d = o->definition;
        bool permissive = startswith_word(d, "permissive for ");
        const char *p = strstr(d, " for ");
        if (!p || (!permissive && !startswith_word(d, "restrictive for "))) {
                review(g, CREATE_POLICY, "policy %s (%s): write CREATE POLICY by hand", o->name, d);
                return;
        }
        p += strlen(" for ");
        const char *cmd = *p == 'r' ? "SELECT" : *p == 'a' ? "INSERT" : *p == 'w' ? "UPDATE" : *p == 'd' ? "DELETE" : "ALL";
        const char *to = strstr(p, " to ");
        const char *using = strstr(d, " using ("), *check = strstr(d, " with check (");
        const char *roles_end = using ?: check ?: d + strlen(d);
        emit(g, CREATE_POLICY, "CREATE POLICY ");
        put_ident(g->out[CREATE_POLICY], name, strlen(name));
        emit(g, CREATE_POLICY, " ON %s AS %s FOR %s", qt, permissive ? "PERMISSIVE" : "RESTRICTIVE", cmd);
        if (to && to < roles_end)
                emit(g, CREATE_POLICY, " TO %.*s", (int) (roles_end - to - 4), to + 4);
        if (using)
                emit(g, CREATE_POLICY, " USING %.*s", (int) ((check && check > using ? check : d + strlen(d)) - using - 7),
                     using + 7);
        if (check)
                emit(g, CREATE_POLICY, " WITH CHECK %s", check + strlen(" with check "));
        emit(g, CREATE_POLICY, ";\n");
}

/* ---- comments ("comment" objects are named "KIND NAME") ---- */

static void comment_emit(Gen *g, const SchemaObject *o, const char *text) {
        const char *sp = strchr(o->name, ' ');
        if (!sp)
                return;
        _cleanup_free_ char *kind = strndup(o->name, (size_t) (sp - o->name));
        const char *name = sp + 1;
        if (!kind)
                return;
        /* the object itself must still exist for a removed comment */
        static const struct { const char *kind, *sql, *object_kind; } kinds[] = {
                { "table", "TABLE", "table" }, { "view", "VIEW", "view" },
                { "materialized-view", "MATERIALIZED VIEW", "matview" }, { "foreign-table", "FOREIGN TABLE", "foreign-table" },
                { "index", "INDEX", "index" }, { "sequence", "SEQUENCE", "sequence" }, { "column", "COLUMN", "column" },
                { "function", "FUNCTION", "function" }, { "procedure", "PROCEDURE", "procedure" },
                { "aggregate", "AGGREGATE", "aggregate" }, { "type", "TYPE", "type" }, { "domain", "DOMAIN", "type" },
                { "constraint", "CONSTRAINT", "constraint" }, { "trigger", "TRIGGER", "trigger" },
                { "schema", "SCHEMA", "schema" },
        };
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                if (!streq(kind, kinds[i].kind))
                        continue;
                if (!text && !find(g->to, kinds[i].object_kind, name))
                        return;
                _cleanup_free_ char *target = NULL;
                if (streq(kind, "constraint") || streq(kind, "trigger")) {
                        _cleanup_free_ char *owner = parent_of(name), *qo = owner ? qname(owner) : NULL;
                        const char *last = last_part(name);
                        char *buf = NULL;
                        size_t size = 0;
                        FILE *f = open_memstream(&buf, &size);
                        if (!f || !qo) {
                                if (f)
                                        fclose(f);
                                free(buf);
                                return;
                        }
                        put_ident(f, last, strlen(last));
                        fprintf(f, " ON %s%s", streq(kind, "constraint") && is_domain(g->to, owner) ? "DOMAIN " : "", qo);
                        if (fclose(f) != 0) {
                                free(buf);
                                return;
                        }
                        target = buf;
                } else if (strchr(name, '('))
                        target = qfunction(name);
                else
                        target = qname(name);
                if (!target)
                        return;
                emit(g, SET_COMMENT, "COMMENT ON %s %s IS ", kinds[i].sql, target);
                if (text)
                        put_literal(g->out[SET_COMMENT], text);
                else
                        emit(g, SET_COMMENT, "NULL");
                emit(g, SET_COMMENT, ";\n");
                return;
        }
        review(g, SET_COMMENT, "comment on %s: write COMMENT ON by hand", o->name);
}

/* ---- the walk ---- */

static void object_added(Gen *g, const SchemaObject *o) {
        const char *k = o->kind;
        if (streq(k, "schema")) {
                _cleanup_free_ char *q = qname(o->name);
                emit(g, CREATE_SCHEMA, "CREATE SCHEMA %s;\n", strna(q));
        } else if (streq(k, "table"))
                table_added(g, o);
        else if (streq(k, "column"))
                column_added(g, o);
        else if (streq(k, "constraint"))
                constraint_emit(g, g->to, o, true);
        else if (streq(k, "index"))
                index_emit(g, g->to, o, true);
        else if (streq(k, "sequence"))
                sequence_added(g, o);
        else if (streq(k, "view") || streq(k, "matview"))
                view_emit(g, o, true);
        else if (streq(k, "function") || streq(k, "procedure") || streq(k, "aggregate"))
                function_emit(g, o, true);
        else if (streq(k, "trigger"))
                trigger_emit(g, o, true);
        else if (streq(k, "type"))
                type_create(g, CREATE_TYPE, o);
        else if (streq(k, "rule"))
                rule_emit(g, o, true);
        else if (streq(k, "policy"))
                policy_emit(g, o, true);
        else if (streq(k, "comment"))
                comment_emit(g, o, o->definition);
        else
                review(g, CREATE_TABLE, "%s %s (%s): write this by hand", k, o->name, o->definition);
}

static void object_dropped(Gen *g, const SchemaObject *o) {
        const char *k = o->kind;
        _cleanup_free_ char *q = NULL;
        if (streq(k, "schema")) {
                q = qname(o->name);
                emit(g, DROP_SCHEMA, "DROP SCHEMA %s;\n", strna(q));
        } else if (streq(k, "table")) {
                q = qname(o->name);
                emit(g, DROP_TABLE, "DROP TABLE %s;\n", strna(q));
        } else if (streq(k, "column"))
                column_dropped(g, o);
        else if (streq(k, "constraint"))
                constraint_emit(g, g->from, o, false);
        else if (streq(k, "index"))
                index_emit(g, g->from, o, false);
        else if (streq(k, "sequence")) {
                if (sequence_is_implicit(g->from, o))
                        return;
                q = qname(o->name);
                /* IF EXISTS: a sequence owned by a dropped table or column goes with it */
                emit(g, DROP_SEQUENCE, "DROP SEQUENCE IF EXISTS %s;\n", strna(q));
        } else if (streq(k, "view") || streq(k, "matview"))
                view_emit(g, o, false);
        else if (streq(k, "function") || streq(k, "procedure") || streq(k, "aggregate"))
                function_emit(g, o, false);
        else if (streq(k, "trigger"))
                trigger_emit(g, o, false);
        else if (streq(k, "type"))
                type_drop(g, o);
        else if (streq(k, "rule"))
                rule_emit(g, o, false);
        else if (streq(k, "policy"))
                policy_emit(g, o, false);
        else if (streq(k, "comment"))
                comment_emit(g, o, NULL);
        else
                review(g, DROP_TABLE, "%s %s is gone: write its removal by hand", k, o->name);
}

static void object_changed(Gen *g, const SchemaObject *was, const SchemaObject *now) {
        const char *k = now->kind;
        if (streq(k, "table"))
                table_changed(g, was, now);
        else if (streq(k, "column"))
                column_changed(g, was, now);
        else if (streq(k, "sequence"))
                sequence_changed(g, was, now);
        else if (streq(k, "type"))
                type_changed(g, was, now);
        else if (streq(k, "function") || streq(k, "procedure"))
                function_emit(g, now, true);      /* CREATE OR REPLACE */
        else if (streq(k, "comment"))
                comment_emit(g, now, now->definition);
        else {
                /* whole-object replacement: constraints, indexes, views, triggers, rules, policies */
                object_dropped(g, was);
                object_added(g, now);
        }
}

int schema_autogen(const SchemaDescription *from, const SchemaDescription *to, char **ret_sql, unsigned *ret_reviews) {
        Gen g = { .from = from, .to = to };
        int r = 0;

        assert(from);
        assert(to);
        assert(ret_sql);

        for (Phase p = 0; p < _PHASE_MAX; p++) {
                g.out[p] = open_memstream(&g.text[p], &g.size[p]);
                if (!g.out[p]) {
                        r = -ENOMEM;
                        goto finish;
                }
        }

        /* both lists are sorted by (kind, name): one merge */
        for (size_t i = 0, j = 0; i < from->n_objects || j < to->n_objects;) {
                const SchemaObject *a = i < from->n_objects ? &from->objects[i] : NULL;
                const SchemaObject *b = j < to->n_objects ? &to->objects[j] : NULL;
                int c = !a ? 1 : !b ? -1 : strcmp(a->kind, b->kind);
                if (a && b && c == 0)
                        c = strcmp(a->name, b->name);
                if (c < 0) {
                        object_dropped(&g, a);
                        i++;
                } else if (c > 0) {
                        object_added(&g, b);
                        j++;
                } else {
                        if (!streq(a->definition, b->definition))
                                object_changed(&g, a, b);
                        i++;
                        j++;
                }
        }

        for (Phase p = 0; p < _PHASE_MAX; p++) {
                if (fclose(g.out[p]) != 0)
                        r = -ENOMEM;
                g.out[p] = NULL;
        }
        if (r < 0)
                goto finish;

        {
                char *buf = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&buf, &size);
                if (!f) {
                        r = -ENOMEM;
                        goto finish;
                }
                bool any = false;
                if (g.functions) {
                        /* like pg_dump: bodies may name objects created further down */
                        fputs("SET LOCAL check_function_bodies = off;\n", f);
                        any = true;
                }
                for (Phase p = 0; p < _PHASE_MAX; p++) {
                        if (g.size[p] == 0)
                                continue;
                        if (any)
                                fputc('\n', f);
                        fwrite(g.text[p], 1, g.size[p], f);
                        any = true;
                }
                if (fclose(f) != 0) {
                        free(buf);
                        r = -ENOMEM;
                        goto finish;
                }
                *ret_sql = buf;
        }
        if (ret_reviews)
                *ret_reviews = g.reviews;

finish:
        for (Phase p = 0; p < _PHASE_MAX; p++) {
                if (g.out[p])
                        fclose(g.out[p]);
                free(g.text[p]);
        }
        return r;
}

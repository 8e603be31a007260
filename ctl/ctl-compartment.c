/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stopstartctl tree, list-compartments, set-defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-bus.h"
#include "json-util.h"
#include "log.h"
#include "stopstartctl.h"
#include "strv.h"

/* ---- list-compartments ------------------------------------------------------------------------- */

typedef struct CompartmentRow {
        const char *id, *name, *path, *state, *object;
        uint32_t n_instances;
} CompartmentRow;

static int compare_rows_by_path(const void *a, const void *b) {
        const CompartmentRow *x = a, *y = b;
        int r = strcmp(x->path, y->path);
        return r != 0 ? r : strcmp(x->id, y->id);
}

int verb_list_compartments(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ CompartmentRow *rows = NULL;
        size_t n = 0;
        sd_bus *bus = userdata;
        int r;

        r = bus_call_method(bus, &bus_manager, "ListCompartments", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "list compartments");

        r = sd_bus_message_enter_container(reply, 'a', "(ssssuo)");
        if (r < 0)
                return log_bus_error(NULL, r, "read the compartments");
        for (;;) {
                CompartmentRow row;
                CompartmentRow *m;

                r = sd_bus_message_read(reply, "(ssssuo)", &row.id, &row.name, &row.path, &row.state,
                                        &row.n_instances, &row.object);
                if (r < 0)
                        return log_bus_error(NULL, r, "read the compartments");
                if (r == 0)
                        break;
                m = realloc(rows, (n + 1) * sizeof(CompartmentRow));
                if (!m)
                        return log_oom();
                rows = m;
                rows[n++] = row;
        }
        if (n > 0)
                qsort(rows, n, sizeof(CompartmentRow), compare_rows_by_path);

        t = table_new("path", "lifecycle_state", "instance_count", "name", "id", "object", NULL);
        if (!t)
                return log_oom();
        (void) table_set_header(t, "lifecycle_state", "STATE");
        (void) table_set_header(t, "instance_count", "INSTANCES");
        (void) table_set_display(t, "path", "lifecycle_state", "instance_count", "id", NULL);
        for (size_t i = 0; i < n; i++)
                if (table_add_string(t, rows[i].path) < 0 || table_add_string(t, rows[i].state) < 0 ||
                    table_add_int(t, rows[i].n_instances) < 0 || table_add_string(t, rows[i].name) < 0 ||
                    table_add_string(t, rows[i].id) < 0 || table_add_string(t, rows[i].object) < 0)
                        return log_oom();
        (void) table_set_footer(t, "%zu compartment%s listed.", n, n == 1 ? "" : "s");
        (void) table_set_empty_text(t, "No compartments.");
        pager_open(&arg_output);
        return table_print(t, &arg_output);
}

/* ---- tree ---------------------------------------------------------------------------------------------
 *
 * Built from Describe(): one call carries every compartment with its parent and every instance
 * with its compartment and state. */

typedef struct TreeNode {
        json_object *json;
        const char *id, *name, *parent_id;
        size_t *children;
        size_t n_children;
        bool has_parent;
        unsigned n_running, n_stopped, n_other;   /* whole subtree */
} TreeNode;

typedef struct Tree {
        TreeNode *nodes;
        size_t n;
        struct lh_table *by_id;                   /* id → index + 1 */
} Tree;

static void tree_done(Tree *t) {
        for (size_t i = 0; i < t->n; i++)
                free(t->nodes[i].children);
        free(t->nodes);
        if (t->by_id)
                lh_table_free(t->by_id);
}

static ssize_t tree_find(Tree *t, const char *id) {
        void *v;
        if (!id || !lh_table_lookup_ex(t->by_id, id, &v))
                return -1;
        return (ssize_t) ((uintptr_t) v - 1);
}

static Tree *sort_tree;
static int compare_children(const void *a, const void *b) {
        const TreeNode *x = &sort_tree->nodes[*(const size_t *) a], *y = &sort_tree->nodes[*(const size_t *) b];
        int r = strcmp(x->name, y->name);
        return r != 0 ? r : strcmp(x->id, y->id);
}

static void tree_count(Tree *t, size_t i, unsigned depth) {
        TreeNode *n = &t->nodes[i];

        if (depth > 64)  /* a cycle cannot happen in the daemon's data; do not loop if it does */
                return;
        for (size_t k = 0; k < n->n_children; k++) {
                TreeNode *c = &t->nodes[n->children[k]];
                tree_count(t, n->children[k], depth + 1);
                n->n_running += c->n_running;
                n->n_stopped += c->n_stopped;
                n->n_other += c->n_other;
        }
}

static int tree_build(json_object *doc, Tree *t) {
        json_object *compartments, *instances;
        size_t n;

        if (!json_object_object_get_ex(doc, "compartments", &compartments) ||
            !json_object_is_type(compartments, json_type_array) ||
            !json_object_object_get_ex(doc, "instances", &instances) ||
            !json_object_is_type(instances, json_type_array))
                return log_error_errno(EBADMSG, "Could not read the tree: Describe() lacks compartments or instances.");

        n = json_object_array_length(compartments);
        t->nodes = new0(TreeNode, n);
        t->by_id = lh_kchar_table_new((int) MAX(n, (size_t) 16), NULL);
        if (!t->nodes || !t->by_id)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                json_object *c = json_object_array_get_idx(compartments, i);
                TreeNode *node = &t->nodes[t->n];

                node->json = c;
                node->id = json_member_string(c, "id");
                node->name = json_member_string(c, "name") ?: "";
                node->parent_id = json_member_string(c, "parent_id");
                if (!node->id)
                        continue;
                if (lh_table_insert(t->by_id, node->id, (void *) (uintptr_t) (t->n + 1)) < 0)
                        return log_oom();
                t->n++;
        }
        for (size_t i = 0; i < t->n; i++) {
                ssize_t p = tree_find(t, t->nodes[i].parent_id);
                size_t *m;

                if (p < 0 || (size_t) p == i)
                        continue;
                m = realloc(t->nodes[p].children, (t->nodes[p].n_children + 1) * sizeof(size_t));
                if (!m)
                        return log_oom();
                t->nodes[p].children = m;
                t->nodes[p].children[t->nodes[p].n_children++] = i;
                t->nodes[i].has_parent = true;
        }
        sort_tree = t;
        for (size_t i = 0; i < t->n; i++)
                if (t->nodes[i].n_children > 1)
                        qsort(t->nodes[i].children, t->nodes[i].n_children, sizeof(size_t), compare_children);

        for (size_t i = 0; i < json_object_array_length(instances); i++) {
                json_object *o = json_object_array_get_idx(instances, i);
                ssize_t c = tree_find(t, json_member_string(o, "compartment_id"));
                const char *state = json_member_string(o, "lifecycle_state");

                if (c < 0)
                        continue;
                if (streq_ptr(state, "RUNNING"))
                        t->nodes[c].n_running++;
                else if (streq_ptr(state, "STOPPED"))
                        t->nodes[c].n_stopped++;
                else
                        t->nodes[c].n_other++;
        }
        for (size_t i = 0; i < t->n; i++)
                if (!t->nodes[i].has_parent)
                        tree_count(t, i, 0);
        return 0;
}

static int tree_add_rows(Tree *t, Table *table, size_t i, const char *prefix, bool last, unsigned depth) {
        TreeNode *n = &t->nodes[i];
        _cleanup_free_ char *label = NULL, *child_prefix = NULL;
        json_object *v;
        int64_t count;

        if (depth > 64)
                return 0;
        /* The name is escaped when the table is printed; the glyphs fall back to ASCII when the
         * locale is not UTF-8, as systemctl's do. */
        label = depth == 0 ? strdup(n->name) : strprintf("%s%s%s", prefix, glyph(last ? GLYPH_TREE_RIGHT : GLYPH_TREE_BRANCH),
                                                         n->name);
        child_prefix = depth == 0 ? strdup("") : strprintf("%s%s", prefix, glyph(last ? GLYPH_TREE_SPACE : GLYPH_TREE_VERTICAL));
        if (!label || !child_prefix)
                return log_oom();
        count = json_object_object_get_ex(n->json, "instance_count", &v) ? json_object_get_int64(v)
                                                                         : (int64_t) (n->n_running + n->n_stopped + n->n_other);

        if (table_add_string(table, label) < 0 || table_add_string(table, n->name) < 0 ||
            table_add_string(table, n->id) < 0 || table_add_string(table, n->parent_id) < 0 ||
            table_add_string(table, json_member_string(n->json, "path")) < 0 || table_add_int(table, depth) < 0 ||
            table_add_string(table, json_member_string(n->json, "lifecycle_state")) < 0 ||
            table_add_int(table, count) < 0 || table_add_int(table, n->n_running) < 0 ||
            table_add_int(table, n->n_stopped) < 0 || table_add_int(table, n->n_other) < 0)
                return log_oom();

        for (size_t k = 0; k < n->n_children; k++) {
                int r = tree_add_rows(t, table, n->children[k], child_prefix, k + 1 == n->n_children, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

int verb_tree(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(table_freep) Table *table = NULL;
        _cleanup_json_ json_object *doc = NULL;
        _cleanup_free_ char *start_id = NULL;
        _cleanup_(tree_done) Tree t = {};
        sd_bus *bus = userdata;
        size_t n_roots = 0;
        int r;

        if (argc > 1) {
                _cleanup_free_ char *path = NULL;
                r = bus_find_compartment(bus, argv[1], &path);
                if (r < 0)
                        return r;
                r = sd_bus_get_property_string(bus, SS_BUS_NAME, path, SS_BUS_IFACE_COMPARTMENT, "Id", &error, &start_id);
                if (r < 0)
                        return log_bus_error(&error, r, "read compartment %s", argv[1]);
        }

        r = bus_describe(bus, &error, &doc);
        if (r == -EBADMSG)
                return log_error_errno(EBADMSG, "Could not read the inventory: Describe() returned invalid JSON.");
        if (r < 0)
                return log_bus_error(&error, r, "read the inventory");
        r = tree_build(doc, &t);
        if (r < 0)
                return r;

        table = table_new("tree", "name", "id", "parent_id", "path", "depth", "lifecycle_state", "instances",
                          "running", "stopped", "other", NULL);
        if (!table)
                return log_oom();
        (void) table_set_header(table, "tree", "COMPARTMENT");
        (void) table_set_header(table, "lifecycle_state", "STATE");
        (void) table_set_display(table, "tree", "lifecycle_state", "instances", "running", "stopped", "other", NULL);
        (void) table_hide_from_json(table, "tree");

        if (start_id) {
                ssize_t i = tree_find(&t, start_id);
                char buf[NAME_TEXT_MAX];
                if (i < 0)
                        return log_error_errno(ENXIO, "Could not show the tree of %s: it is not in the inventory.",
                                               name_text(argv[1], buf));
                r = tree_add_rows(&t, table, (size_t) i, "", true, 0);
                if (r < 0)
                        return r;
                n_roots = 1;
        } else
                for (size_t i = 0; i < t.n; i++)
                        if (!t.nodes[i].has_parent) {
                                r = tree_add_rows(&t, table, i, "", true, 0);
                                if (r < 0)
                                        return r;
                                n_roots++;
                        }

        {
                size_t rows = table_get_rows(table);
                unsigned total = 0;
                for (size_t i = 0; i < t.n; i++)
                        if (start_id ? streq(t.nodes[i].id, start_id) : !t.nodes[i].has_parent)
                                total += t.nodes[i].n_running + t.nodes[i].n_stopped + t.nodes[i].n_other;
                (void) table_set_footer(table, "%zu compartment%s, %u instance%s.", rows, rows == 1 ? "" : "s", total,
                                        total == 1 ? "" : "s");
        }
        (void) table_set_empty_text(table, "No compartments known yet (has the first refresh run?).");
        pager_open(&arg_output);
        return table_print(table, &arg_output);
}

/* ---- set-defaults ------------------------------------------------------------------------------- */

int verb_set_defaults(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *path = NULL;
        sd_bus *bus = userdata;
        int r;

        r = bus_find_compartment(bus, argv[1], &path);
        if (r < 0)
                return r;
        r = bus_new_method_call(bus, path, SS_BUS_IFACE_COMPARTMENT, "SetDefaults", &m);
        if (r < 0)
                return log_oom();
        r = bus_append_settings(m, argv + 2);
        if (r < 0)
                return r;
        r = bus_call(bus, m, &error, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "set the defaults of %s", argv[1]);
        return 0;
}

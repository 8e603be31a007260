/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "compartment.h"
#include "instance-schedules.h"
#include "json-util.h"
#include "manager.h"
#include "strv.h"

int compartment_new(Manager *m, const char *id, Compartment **ret) {
        Compartment *c;

        assert(m);
        assert(id);

        c = new0(Compartment, 1);
        if (!c)
                return -ENOMEM;
        c->id = strdup(id);
        c->name = strdup("");
        c->description = strdup("");
        c->lifecycle_state = strdup("");
        c->path = strdup("");
        c->bus_path = compartment_bus_path(c);
        if (!c->id || !c->name || !c->description || !c->lifecycle_state || !c->path || !c->bus_path ||
            lh_table_insert(m->compartments, c->id, c) < 0) {
                compartment_free(c);
                return -ENOMEM;
        }
        c->manager = m;
        *ret = c;
        return 0;
}

Compartment *compartment_free(Compartment *c) {
        Manager *m;

        if (!c)
                return NULL;

        m = c->manager;
        if (m) {
                (void) lh_table_delete(m->compartments, c->id);
                if (c->dirty)
                        LIST_REMOVE(c, dirty_link);
                if (m->root == c)
                        m->root = NULL;
                manager_invalidate_describe(m);
                manager_schedules_changed(m);
        }
        /* Instances are re-linked by the caller (manager_relink()); the tree we fix here. */
        for (size_t i = 0; i < c->n_children; i++)
                if (c->children[i]->parent == c)
                        c->children[i]->parent = NULL;
        if (c->parent)
                for (size_t i = 0; i < c->parent->n_children; i++)
                        if (c->parent->children[i] == c) {
                                memmove(c->parent->children + i, c->parent->children + i + 1,
                                        (c->parent->n_children - i - 1) * sizeof(Compartment *));
                                c->parent->n_children--;
                                break;
                        }

        free(c->children);
        free(c->id);
        free(c->parent_id);
        free(c->name);
        free(c->description);
        free(c->lifecycle_state);
        free(c->path);
        free(c->bus_path);
        instance_config_done(&c->defaults);
        return mfree(c);
}

Compartment *manager_get_compartment(Manager *m, const char *id) {
        void *v;

        if (!id || !lh_table_lookup_ex(m->compartments, id, &v))
                return NULL;
        return v;
}

Compartment *manager_find_compartment(Manager *m, const char *id_or_path) {
        Compartment *c = manager_get_compartment(m, id_or_path);
        struct lh_entry *e;

        if (c || !id_or_path || !*id_or_path)
                return c;
        /* Paths are unique: compartment names are unique among siblings. */
        lh_foreach(m->compartments, e) {
                Compartment *x = lh_entry_v(e);
                if (streq(x->path, id_or_path))
                        return x;
        }
        return NULL;
}

size_t compartment_config_layers(Compartment *c, ConfigLayer *layers, size_t max) {
        size_t n = 0;

        for (; c && n < max; c = c->parent)
                layers[n++] = (ConfigLayer) { .config = &c->defaults };
        return n;
}

int config_layers_name_sources(ConfigLayer *layers, size_t first, size_t n, Compartment *c, char **ret_buf) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, off = 0;
        Compartment *x;
        size_t i;

        for (i = first, x = c; i < n && x; i++, x = x->parent)
                size += strlen("compartment:") + strlen(x->id) + 1;
        buf = malloc(size ?: 1);
        if (!buf)
                return -ENOMEM;
        for (i = first, x = c; i < n && x; i++, x = x->parent) {
                int k = sprintf(buf + off, "compartment:%s", x->id);
                layers[i].source = buf + off;
                off += (size_t) k + 1;
        }
        *ret_buf = TAKE_PTR(buf);
        return 0;
}

void compartment_effective_defaults(Compartment *c, uint64_t now, InstanceConfig *ret) {
        ConfigLayer layers[COMPARTMENT_DEPTH_MAX];
        size_t n = compartment_config_layers(c, layers, ELEMENTSOF(layers));

        instance_config_resolve(layers, n, now, ret, NULL);
}

bool compartment_is_in_subtree(const Compartment *c, const Compartment *a) {
        for (unsigned depth = 0; c && depth < COMPARTMENT_DEPTH_MAX; c = c->parent, depth++)
                if (c == a)
                        return true;
        return false;
}

char *compartment_bus_path(const Compartment *c) {
        char *p = NULL;

        if (sd_bus_path_encode(SS_BUS_PATH_COMPARTMENT, c->id, &p) < 0)
                return NULL;
        return p;
}

void compartment_mark_dirty(Compartment *c, uint32_t props) {
        Manager *m = c->manager;

        if (props == 0)
                return;
        manager_invalidate_describe(m);
        /* Subtree targets of schedules select by the tree. */
        if (props & (COMPARTMENT_PROP_ADDED | COMPARTMENT_PROP_PARENT))
                manager_schedules_changed(m);
        if (!m->emit_enabled)
                return;
        if (!c->dirty)
                LIST_INSERT_HEAD(&m->dirty_compartments, c, dirty_link);
        c->dirty |= props;
        manager_mark_dirty(m, 0);
}

void compartment_mark_removed(Compartment *c) {
        if (!(c->dirty & COMPARTMENT_PROP_ADDED))
                manager_queue_removed(c->manager, compartment_bus_path(c));
}

json_object *compartment_to_json(Compartment *c, uint64_t now, bool effective) {
        _cleanup_json_ json_object *o = json_object_new_object(), *children = json_object_new_array();
        json_object *defaults;

        if (!o || !children)
                return NULL;
        for (size_t i = 0; i < c->n_children; i++)
                json_object_array_add(children, json_object_new_string(c->children[i]->id));

        defaults = instance_config_to_json(&c->defaults, false);
        if (!defaults)
                return NULL;

        json_object_object_add(o, "id", json_object_new_string(c->id));
        json_object_object_add(o, "name", json_object_new_string(c->name));
        json_object_object_add(o, "description", json_object_new_string(c->description));
        json_object_object_add(o, "path", json_object_new_string(c->path));
        json_object_object_add(o, "parent_id", c->parent_id ? json_object_new_string(c->parent_id) : NULL);
        json_object_object_add(o, "lifecycle_state", json_object_new_string(c->lifecycle_state));
        json_object_object_add(o, "instance_count", json_object_new_int64(c->n_instances));
        json_object_object_add(o, "children", TAKE_PTR(children));
        json_object_object_add(o, "defaults", defaults);
        if (effective) {
                InstanceConfig eff;
                json_object *j;

                compartment_effective_defaults(c, now, &eff);
                j = instance_config_to_json(&eff, true);
                if (!j)
                        return NULL;
                json_object_object_add(o, "effective_defaults", j);
        }
        return TAKE_PTR(o);
}

/* ---- the tree: parents, children, paths and subtree counts, re-linked after a load ---------- */

static int compare_by_name(const void *a, const void *b) {
        const Compartment *x = *(Compartment * const *) a, *y = *(Compartment * const *) b;
        int r = strcmp(x->name, y->name);
        return r != 0 ? r : strcmp(x->id, y->id);
}

static char *compartment_compute_path(Compartment *c) {
        const Compartment *chain[COMPARTMENT_DEPTH_MAX];
        size_t n = 0, len = 0;
        char *p, *s;

        for (const Compartment *x = c; x && n < ELEMENTSOF(chain); x = x->parent) {
                chain[n++] = x;
                len += strlen(x->name) + 1;
        }
        s = p = malloc(len + 1);
        if (!s)
                return NULL;
        while (n > 0) {
                const Compartment *x = chain[--n];
                p = stpcpy(p, x->name);
                if (n > 0)
                        *p++ = '/';
        }
        *p = 0;
        return s;
}

static int compare_by_parent_then_name(const void *a, const void *b) {
        const Compartment *x = *(Compartment * const *) a, *y = *(Compartment * const *) b;
        uintptr_t px = (uintptr_t) x->parent, py = (uintptr_t) y->parent;

        if (px != py)
                return px < py ? -1 : 1;
        return compare_by_name(a, b);
}

static void compartment_set_children(Compartment *c, Compartment **children, size_t n) {
        Compartment **copy = NULL;

        if (n == c->n_children && (n == 0 || memcmp(children, c->children, n * sizeof(Compartment *)) == 0))
                return;
        if (n > 0) {
                copy = new(Compartment *, n);
                if (!copy)
                        return;
                memcpy(copy, children, n * sizeof(Compartment *));
        }
        free(c->children);
        c->children = copy;
        c->n_children = n;
        compartment_mark_dirty(c, COMPARTMENT_PROP_CHILDREN);
}

void manager_relink(Manager *m) {
        size_t n_c = (size_t) lh_table_length(m->compartments), k = 0;
        _cleanup_free_ Compartment **all = NULL;
        _cleanup_free_ uint32_t *old = NULL;
        Compartment *root = NULL;
        struct lh_entry *e;

        all = new(Compartment *, n_c);
        old = new(uint32_t, n_c);
        if (!all || !old)
                return;

        /* Parents. */
        lh_foreach(m->compartments, e) {
                Compartment *c = lh_entry_v(e);
                Compartment *p = c->parent_id ? manager_get_compartment(m, c->parent_id) : NULL;

                if (p == c)
                        p = NULL;
                if (p != c->parent) {
                        c->parent = p;
                        compartment_mark_dirty(c, COMPARTMENT_PROP_PARENT);
                }
                if (!c->parent_id && (!root || strcmp(c->id, root->id) < 0))
                        root = c;
                c->seen = false;  /* scratch below: "children assigned" */
                all[k++] = c;
        }
        if (root != m->root) {
                m->root = root;
                manager_mark_dirty(m, MANAGER_PROP_TENANCY);
        }

        /* Children: siblings are adjacent once sorted by parent, each group by name. */
        qsort(all, n_c, sizeof(Compartment *), compare_by_parent_then_name);
        for (size_t i = 0; i < n_c;) {
                Compartment *p = all[i]->parent;
                size_t j = i;
                while (j < n_c && all[j]->parent == p)
                        j++;
                if (p) {
                        compartment_set_children(p, all + i, j - i);
                        p->seen = true;
                }
                i = j;
        }
        for (k = 0; k < n_c; k++)
                if (!all[k]->seen)
                        compartment_set_children(all[k], NULL, 0);

        /* Paths. */
        for (k = 0; k < n_c; k++) {
                Compartment *c = all[k];
                _cleanup_free_ char *p = compartment_compute_path(c);
                if (p && !streq(p, c->path)) {
                        free(c->path);
                        c->path = TAKE_PTR(p);
                        compartment_mark_dirty(c, COMPARTMENT_PROP_PATH);
                }
        }

        /* Instances: their compartment, and the subtree counts. */
        for (k = 0; k < n_c; k++) {
                old[k] = all[k]->n_instances;
                all[k]->n_instances = 0;
        }
        lh_foreach(m->instances, e) {
                Instance *i = lh_entry_v(e);
                Compartment *c = manager_get_compartment(m, i->compartment_id);
                unsigned depth = 0;

                if (c != i->compartment) {
                        i->compartment = c;
                        instance_mark_dirty(i, INSTANCE_PROP_COMPARTMENT);
                }
                for (; c && depth < COMPARTMENT_DEPTH_MAX; c = c->parent, depth++)
                        c->n_instances++;
        }
        for (k = 0; k < n_c; k++)
                if (old[k] != all[k]->n_instances)
                        compartment_mark_dirty(all[k], COMPARTMENT_PROP_INSTANCE_COUNT);
}

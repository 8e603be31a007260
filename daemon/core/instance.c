/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "instance.h"
#include "instance-schedules.h"
#include "inventory-load.h"
#include "json-util.h"
#include "manager.h"
#include "strv.h"

int instance_new(Manager *m, const char *id, Instance **ret) {
        Instance *i;

        assert(m);
        assert(id);

        i = new0(Instance, 1);
        if (!i)
                return -ENOMEM;
        i->manager = m;
        i->id = strdup(id);
        i->display_name = strdup("");
        i->compartment_id = string_pool_ref(m->strings, "");
        i->region = string_pool_ref(m->strings, "");
        i->availability_domain = string_pool_ref(m->strings, "");
        i->fault_domain = string_pool_ref(m->strings, "");
        i->shape = string_pool_ref(m->strings, "");
        i->lifecycle_state = string_pool_ref(m->strings, "");
        if (!i->id || !i->compartment_id || !i->display_name || !i->region || !i->availability_domain ||
            !i->fault_domain || !i->shape || !i->lifecycle_state) {
                instance_free(i);
                return -ENOMEM;
        }
        if (lh_table_insert(m->instances, i->id, i) < 0) {
                i->id = mfree(i->id);  /* not in the table: keep instance_free() from removing a namesake */
                instance_free(i);
                return -ENOMEM;
        }
        *ret = i;
        return 0;
}

int instance_set_last_job(Instance *i, uint32_t id, const char *kind, const char *result, const char *error,
                          uint64_t finished_at) {
        InstanceLastJob l = {
                .id = id,
                .kind = strdup(strempty(kind)),
                .result = strdup(strempty(result)),
                .error = strdup(strempty(error)),
                .finished_at = finished_at,
        };

        if (!l.kind || !l.result || !l.error) {
                free(l.kind);
                free(l.result);
                free(l.error);
                return -ENOMEM;
        }
        if (i->last_job.id == id && streq_ptr(i->last_job.result, l.result) && streq_ptr(i->last_job.error, l.error)) {
                free(l.kind);
                free(l.result);
                free(l.error);
                return 0;
        }
        free(i->last_job.kind);
        free(i->last_job.result);
        free(i->last_job.error);
        i->last_job = l;
        instance_mark_dirty(i, INSTANCE_PROP_LAST_JOB);
        return 1;
}

Instance *instance_free(Instance *i) {
        Manager *m;

        if (!i)
                return NULL;
        m = i->manager;
        instance_schedules_forget(i);
        if (i->id && manager_get_instance(m, i->id) == i) {
                (void) lh_table_delete(m->instances, i->id);
                if (i->dirty)
                        LIST_REMOVE(i, dirty_link);
                manager_invalidate_describe(m);
        }
        string_pool_unref(m->strings, i->compartment_id);
        string_pool_unref(m->strings, i->region);
        string_pool_unref(m->strings, i->availability_domain);
        string_pool_unref(m->strings, i->fault_domain);
        string_pool_unref(m->strings, i->shape);
        string_pool_unref(m->strings, i->lifecycle_state);
        free(i->id);
        free(i->display_name);
        free(i->freeform_tags);
        free(i->defined_tags);
        free(i->last_job.kind);
        free(i->last_job.result);
        free(i->last_job.error);
        instance_config_done(&i->config);
        return mfree(i);
}

Instance *manager_get_instance(Manager *m, const char *id) {
        void *v;

        if (!id || !lh_table_lookup_ex(m->instances, id, &v))
                return NULL;
        return v;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

int manager_resolve_instance(Manager *m, const char *name, Instance **ret, char ***ret_candidates) {
        _cleanup_strv_free_ char **candidates = NULL;
        Instance *found = manager_get_instance(m, name);
        size_t n = found ? 1 : 0;
        struct lh_entry *e;

        if (found && ret_candidates && strv_extend(&candidates, found->id) < 0)
                return -ENOMEM;
        if (!isempty(name))
                lh_foreach(m->instances, e) {
                        Instance *x = lh_entry_v(e);
                        if (x == found || !streq(x->display_name, name))
                                continue;
                        if (!found)
                                found = x;
                        n++;
                        if (ret_candidates && strv_extend(&candidates, x->id) < 0)
                                return -ENOMEM;
                }
        if (n == 0)
                return -ENXIO;
        if (n > 1) {
                if (ret_candidates) {
                        qsort(candidates, strv_length(candidates), sizeof(char *), cmp_str);
                        *ret_candidates = TAKE_PTR(candidates);
                }
                return -ENOTUNIQ;
        }
        if (ret)
                *ret = found;
        return 0;
}

size_t instance_config_layers(Instance *i, ConfigLayer *layers, size_t max) {
        if (max == 0)
                return 0;
        layers[0] = (ConfigLayer) { .config = &i->config, .source = "instance" };
        return 1 + compartment_config_layers(i->compartment, layers + 1, max - 1);
}

void instance_effective_config(Instance *i, uint64_t now, InstanceConfig *ret) {
        ConfigLayer layers[COMPARTMENT_DEPTH_MAX + 1];
        size_t n = instance_config_layers(i, layers, ELEMENTSOF(layers));

        instance_config_resolve(layers, n, now, ret, NULL);
}

void instance_update_effective(Instance *i, uint64_t now) {
        InstanceConfig eff;
        uint64_t h;

        instance_effective_config(i, now, &eff);
        h = instance_config_hash(&eff);
        if (h != i->effective_hash) {
                /* 0: never computed, the instance is new and announced whole. */
                if (i->effective_hash != 0)
                        instance_mark_dirty(i, INSTANCE_PROP_EFFECTIVE_CONFIG);
                i->effective_hash = h;
        }
}

int instance_explain(Instance *i, uint64_t now, char **ret_json) {
        ConfigLayer layers[COMPARTMENT_DEPTH_MAX + 1];
        _cleanup_free_ char *buf = NULL;
        size_t n = instance_config_layers(i, layers, ELEMENTSOF(layers));
        int r;

        r = config_layers_name_sources(layers, 1, n, i->compartment, &buf);
        if (r < 0)
                return r;
        return instance_config_explain(layers, n, now, ret_json);
}

void instance_mark_dirty(Instance *i, uint32_t props) {
        Manager *m = i->manager;

        if (props == 0)
                return;
        manager_invalidate_describe(m);
        /* What the schedules' targets select by, and what decides whether a firing acts. */
        if (props & (INSTANCE_PROP_ADDED | INSTANCE_PROP_COMPARTMENT | INSTANCE_PROP_FREEFORM_TAGS |
                     INSTANCE_PROP_LIFECYCLE_STATE | INSTANCE_PROP_CONFIG | INSTANCE_PROP_EFFECTIVE_CONFIG))
                manager_schedules_changed(m);
        if (!m->emit_enabled)
                return;
        if (!i->dirty)
                LIST_INSERT_HEAD(&m->dirty_instances, i, dirty_link);
        i->dirty |= props;
        manager_mark_dirty(m, 0);
}

void instance_mark_removed(Instance *i) {
        if (!(i->dirty & INSTANCE_PROP_ADDED))
                manager_queue_removed(i->manager, instance_bus_path(i));
}

char *instance_bus_path(const Instance *i) {
        char *p = NULL;

        if (sd_bus_path_encode(SS_BUS_PATH_INSTANCE, i->id, &p) < 0)
                return NULL;
        return p;
}

int tags_pack_json(const char *json, char **ret) {
        _cleanup_json_ json_object *o = NULL;
        size_t size = 1, off = 0;
        char *buf;

        o = json_tokener_parse(strempty(json));
        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        if (json_object_object_length(o) == 0) {
                *ret = NULL;
                return 0;
        }

        json_object_object_foreach(o, k1, v1) {
                const char *s = json_object_is_type(v1, json_type_string) ? json_object_get_string(v1)
                                : json_object_to_json_string_ext(v1, JSON_C_TO_STRING_PLAIN);
                if (!*k1)
                        continue;  /* an empty key would end the packed list */
                size += strlen(k1) + 1 + strlen(s) + 1;
        }
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        json_object_object_foreach(o, k2, v2) {
                const char *s = json_object_is_type(v2, json_type_string) ? json_object_get_string(v2)
                                : json_object_to_json_string_ext(v2, JSON_C_TO_STRING_PLAIN);
                if (!*k2)
                        continue;
                off += (size_t) sprintf(buf + off, "%s", k2) + 1;
                off += (size_t) sprintf(buf + off, "%s", s) + 1;
        }
        buf[off] = 0;
        *ret = buf;
        return 0;
}

static const char *tag_value_text(json_object *v) {
        return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                        : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

int defined_tags_pack_json(const char *json, char **ret) {
        _cleanup_json_ json_object *o = NULL;
        size_t size = 1, off = 0;
        char *buf;

        o = json_tokener_parse(strempty(json));
        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        /* Two passes (size, then fill) over {"namespace": {"key": value}}; anything else in a
         * namespace's place is not a tag and is left out. */
        json_object_object_foreach(o, ns1, keys1) {
                if (!*ns1 || !json_object_is_type(keys1, json_type_object))
                        continue;
                json_object_object_foreach(keys1, k1, v1)
                        if (*k1)
                                size += strlen(ns1) + 1 + strlen(k1) + 1 + strlen(tag_value_text(v1)) + 1;
        }
        if (size == 1) {
                *ret = NULL;
                return 0;
        }
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        json_object_object_foreach(o, ns2, keys2) {
                if (!*ns2 || !json_object_is_type(keys2, json_type_object))
                        continue;
                json_object_object_foreach(keys2, k2, v2) {
                        if (!*k2)
                                continue;
                        off += (size_t) sprintf(buf + off, "%s.%s", ns2, k2) + 1;
                        off += (size_t) sprintf(buf + off, "%s", tag_value_text(v2)) + 1;
                }
        }
        buf[off] = 0;
        *ret = buf;
        return 0;
}

size_t tags_packed_size(const char *packed) {
        const char *p = packed;

        if (!p)
                return 0;
        while (*p) {
                p += strlen(p) + 1;  /* key */
                p += strlen(p) + 1;  /* value */
        }
        return (size_t) (p - packed) + 1;
}

bool tags_packed_equal(const char *a, const char *b) {
        size_t la = tags_packed_size(a), lb = tags_packed_size(b);
        return la == lb && (la == 0 || memcmp(a, b, la) == 0);
}

json_object *instance_to_json(Instance *i, uint64_t now, bool effective) {
        _cleanup_json_ json_object *o = json_object_new_object(), *tags = json_object_new_object();
        json_object *own;

        if (!o || !tags)
                return NULL;
        TAGS_FOREACH(k, v, i->freeform_tags)
                json_object_object_add(tags, k, json_object_new_string(v));

        own = instance_config_to_json(&i->config, false);
        if (!own)
                return NULL;

        json_object_object_add(o, "id", json_object_new_string(i->id));
        json_object_object_add(o, "display_name", json_object_new_string(i->display_name));
        json_object_object_add(o, "compartment_id", json_object_new_string(i->compartment_id));
        json_object_object_add(o, "region", json_object_new_string(i->region));
        json_object_object_add(o, "availability_domain", json_object_new_string(i->availability_domain));
        json_object_object_add(o, "fault_domain", json_object_new_string(i->fault_domain));
        json_object_object_add(o, "shape", json_object_new_string(i->shape));
        json_object_object_add(o, "lifecycle_state", json_object_new_string(i->lifecycle_state));
        json_object_object_add(o, "state_observed_at", json_object_new_uint64(i->state_observed_at));
        json_object_object_add(o, "freeform_tags", TAKE_PTR(tags));
        json_object_object_add(o, "config", own);
        if (effective) {
                InstanceConfig eff;
                json_object *j;

                instance_effective_config(i, now, &eff);
                j = instance_config_to_json(&eff, true);
                if (!j)
                        return NULL;
                json_object_object_add(o, "effective_config", j);
        }
        return TAKE_PTR(o);
}

void manager_observe_instance(Manager *m, const char *id, const char *state_raw) {
        Instance *i = manager_get_instance(m, id);

        /* Only a change: an occurrence confirms thousands of states in bulk, most of them as known. */
        if (!i || isempty(state_raw) || streq_ptr(i->lifecycle_state, state_raw))
                return;
        if (string_pool_set(m->strings, &i->lifecycle_state, state_raw) < 0)
                return;
        i->state_observed_at = manager_now();
        instance_mark_dirty(i, INSTANCE_PROP_LIFECYCLE_STATE);
        (void) inventory_store_observed_state(m->db, id, state_raw);
}

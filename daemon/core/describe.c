/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What Describe(), DescribeWith() and DescribeInstances() answer, and the instance queries
 * ListInstances() and DescribeInstances() page through. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json-util.h"
#include "leader.h"
#include "manager.h"
#include "strv.h"

static void states_free(struct lh_entry *e) {
        json_object_put(lh_entry_v(e));
}

static json_object *states_of(struct lh_table *t, const Compartment *c) {
        void *v = NULL;

        return lh_table_lookup_ex(t, c, &v) ? v : NULL;
}

/* Compartment -> {"STATE": instances of its subtree in that state}, for "subtree_states": one pass
 * over the instances, each counted up its chain of ancestors. */
static int count_subtree_states(Manager *m, struct lh_table **ret) {
        struct lh_table *t = lh_kptr_table_new(lh_table_length(m->compartments) + 16, states_free);
        struct lh_entry *e;

        if (!t)
                return -ENOMEM;
        lh_foreach(m->compartments, e) {
                json_object *o = json_object_new_object();
                if (!o || lh_table_insert(t, lh_entry_v(e), o) < 0) {
                        json_object_put(o);
                        lh_table_free(t);
                        return -ENOMEM;
                }
        }
        lh_foreach(m->instances, e) {
                Instance *i = lh_entry_v(e);
                const char *state = strempty(i->lifecycle_state);
                unsigned depth = 0;

                for (Compartment *c = i->compartment; c && depth < COMPARTMENT_DEPTH_MAX; c = c->parent, depth++) {
                        json_object *o = states_of(t, c), *n;

                        if (!o)
                                continue;
                        if (json_object_object_get_ex(o, state, &n))
                                json_object_int_inc(n, 1);
                        else if (json_object_object_add(o, state, json_object_new_int64(1)) < 0) {
                                lh_table_free(t);
                                return -ENOMEM;
                        }
                }
        }
        *ret = t;
        return 0;
}

static int build_inventory_json(Manager *m, const DescribeOptions *opt, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&buf, &size);
        struct lh_table *states = NULL;
        uint64_t now = manager_now();
        struct lh_entry *e;
        bool first = true;
        int r = 0;

        if (!f)
                return -ENOMEM;
        if (opt->subtree_states) {
                r = count_subtree_states(m, &states);
                if (r < 0)
                        return r;
        }

        /* One element at a time: a json-c tree of 20,000 instances would cost far more memory. */
        fputs("\"compartments\":[", f);
        lh_foreach(m->compartments, e) {
                json_object *o = compartment_to_json(lh_entry_v(e), now, opt->effective);
                if (!o) {
                        r = -ENOMEM;
                        break;
                }
                if (states)
                        json_object_object_add(o, "subtree_states",
                                               json_object_get(states_of(states, lh_entry_v(e))));
                fprintf(f, "%s%s", first ? "" : ",", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                json_object_put(o);
                first = false;
        }
        if (states)
                lh_table_free(states);
        if (r < 0)
                return r;
        fputs("]", f);
        if (opt->instances) {
                /* In OCID order, as DescribeInstances() pages: the pages joined are this array. */
                _cleanup_free_ Instance **l = NULL;
                size_t n;
                r = manager_query_instances(m, &(InstanceQuery) { .managed = -1 }, &l, &n, NULL);
                if (r < 0)
                        return r;
                fputs(",\"instances\":[", f);
                for (size_t k = 0; k < n; k++) {
                        json_object *o = instance_to_json(l[k], now, opt->effective);
                        if (!o)
                                return -ENOMEM;
                        fprintf(f, "%s%s", k == 0 ? "" : ",", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                        json_object_put(o);
                }
                fputs("]", f);
        }
        if (fflush(f) != 0 || ferror(f))
                return -ENOMEM;
        f = safe_fclose(f);
        *ret = TAKE_PTR(buf);
        return 0;
}

static int on_describe_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        /* Nobody asked for a while: the cache is most of our memory with a large tenancy. */
        manager_invalidate_describe(m);
        manager_schedule_trim(m);
        return 0;
}

int manager_describe(Manager *m, const DescribeOptions *opt, char **ret) {
        _cleanup_json_ json_object *o = json_object_new_object(), *regions = json_object_new_array(),
                                   *jobs = json_object_new_array();
        _cleanup_free_ char *other = NULL;
        struct lh_entry *e;
        const char *head;
        /* The default document is what stopstartctl and Describe() ask for: cached. Others are
         * small (no instances) or asked once by a page: built each time. */
        bool cached = opt->instances && opt->effective && !opt->subtree_states;
        size_t l;
        int r;

        if (!o || !regions || !jobs)
                return -ENOMEM;

        if (!cached) {
                r = build_inventory_json(m, opt, &other);
                if (r < 0)
                        return r;
        } else if (!m->describe_cache) {
                r = build_inventory_json(m, opt, &m->describe_cache);
                if (r < 0)
                        return r;
        }
        if (cached && !m->describe_release) {
                r = sd_event_add_time_relative(m->event, &m->describe_release, CLOCK_MONOTONIC,
                                               DESCRIBE_CACHE_IDLE_USEC, 0, on_describe_idle, m);
                if (r >= 0)
                        (void) sd_event_source_set_description(m->describe_release, "describe-release");
        } else if (cached) {
                (void) sd_event_source_set_time_relative(m->describe_release, DESCRIBE_CACHE_IDLE_USEC);
                (void) sd_event_source_set_enabled(m->describe_release, SD_EVENT_ONESHOT);
        }

        STRV_FOREACH(s, m->regions)
                json_object_array_add(regions, json_object_new_string(*s));
        lh_foreach(m->jobs, e)
                json_object_array_add(jobs, job_to_json(lh_entry_v(e)));

        json_object_object_add(o, "version", json_object_new_string(PROJECT_VERSION));
        json_object_object_add(o, "state", json_object_new_string(manager_state_to_string(m->state)));
        json_object_object_add(o, "status_text", json_object_new_string(strempty(m->status_text)));
        json_object_object_add(o, "role", json_object_new_string(manager_role(m)));
        json_object_object_add(o, "leader", json_object_new_string(manager_leader(m)));
        json_object_object_add(o, "tenancy", json_object_new_string(m->root ? m->root->id : ""));
        json_object_object_add(o, "regions", TAKE_PTR(regions));
        json_object_object_add(o, "last_refresh", json_object_new_uint64(m->last_refresh));
        json_object_object_add(o, "jobs", TAKE_PTR(jobs));

        /* Splice the cached inventory in before the closing brace. */
        head = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        l = strlen(head);
        assert(l >= 2 && head[l - 1] == '}');
        const char *inventory = cached ? m->describe_cache : other;
        char *s = malloc(l + 1 + strlen(inventory) + 1);
        if (!s)
                return -ENOMEM;
        memcpy(s, head, l - 1);
        s[l - 1] = ',';
        strcpy(stpcpy(s + l, inventory), "}");
        *ret = s;
        return 0;
}


/* ---- instance queries ---- */

static int instance_compare_id(const void *a, const void *b) {
        return strcmp((*(Instance * const *) a)->id, (*(Instance * const *) b)->id);
}

int manager_query_instances(Manager *m, const InstanceQuery *q, Instance ***ret, size_t *ret_n, bool *ret_more) {
        _cleanup_free_ Instance **l = NULL;
        uint64_t now = manager_now();
        size_t n = 0;
        struct lh_entry *e;

        assert(m);
        assert(q);
        assert(ret);
        assert(ret_n);

        l = new(Instance *, lh_table_length(m->instances) + 1);
        if (!l)
                return -ENOMEM;
        lh_foreach(m->instances, e) {
                Instance *i = lh_entry_v(e);
                InstanceConfig eff;

                if (q->compartment && !(q->recursive ? compartment_is_in_subtree(i->compartment, q->compartment)
                                                     : i->compartment == q->compartment))
                        continue;
                if (q->state && strcasecmp(q->state, i->lifecycle_state) != 0)
                        continue;
                if (q->name && fnmatch(q->name, i->display_name, 0) != 0)
                        continue;
                if (q->after && strcmp(i->id, q->after) <= 0)
                        continue;
                if (q->managed >= 0) {
                        instance_effective_config(i, now, &eff);
                        if (eff.managed != (bool) q->managed)
                                continue;
                }
                l[n++] = i;
        }
        /* a stable order, so that "after" continues where a page ended */
        qsort(l, n, sizeof(Instance *), instance_compare_id);
        if (ret_more)
                *ret_more = q->limit > 0 && n > q->limit;
        if (q->limit > 0 && n > q->limit)
                n = q->limit;
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

int manager_describe_instances(Manager *m, Instance **l, size_t n, bool more, bool effective, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&buf, &size);
        uint64_t now = manager_now();

        if (!f)
                return -ENOMEM;
        fputs("{\"instances\":[", f);
        for (size_t k = 0; k < n; k++) {
                json_object *o = instance_to_json(l[k], now, effective);
                if (!o)
                        return -ENOMEM;
                fprintf(f, "%s%s", k > 0 ? "," : "", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                json_object_put(o);
        }
        fputs("],\"next\":", f);
        if (more && n > 0) {
                json_object *id = json_object_new_string(l[n - 1]->id);
                if (!id)
                        return -ENOMEM;
                fputs(json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN), f);
                json_object_put(id);
        } else
                fputs("null", f);
        fputs("}", f);
        if (fflush(f) != 0 || ferror(f))
                return -ENOMEM;
        f = safe_fclose(f);
        *ret = TAKE_PTR(buf);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/linkhash.h>
#include <stdlib.h>

#include "string-pool.h"

typedef struct PooledString {
        unsigned refs;
        char s[];
} PooledString;

struct StringPool {
        struct lh_table *table;         /* s → PooledString* (the key lives in the value) */
};

int string_pool_new(StringPool **ret) {
        StringPool *p = new0(StringPool, 1);

        if (!p)
                return -ENOMEM;
        p->table = lh_kchar_table_new(64, NULL);
        if (!p->table) {
                free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

StringPool *string_pool_free(StringPool *p) {
        struct lh_entry *e, *tmp;

        if (!p)
                return NULL;
        lh_foreach_safe(p->table, e, tmp)
                free(lh_entry_v(e));
        lh_table_free(p->table);
        return mfree(p);
}

static PooledString *pooled_of(const char *s) {
        return (PooledString *) (s - offsetof(PooledString, s));
}

const char *string_pool_ref(StringPool *p, const char *s) {
        PooledString *ps;
        void *v;
        size_t l;

        s = strempty(s);
        if (lh_table_lookup_ex(p->table, s, &v)) {
                ps = v;
                ps->refs++;
                return ps->s;
        }
        l = strlen(s);
        ps = malloc(sizeof(PooledString) + l + 1);
        if (!ps)
                return NULL;
        ps->refs = 1;
        memcpy(ps->s, s, l + 1);
        if (lh_table_insert(p->table, ps->s, ps) < 0) {
                free(ps);
                return NULL;
        }
        return ps->s;
}

void string_pool_unref(StringPool *p, const char *s) {
        PooledString *ps;

        if (!s)
                return;
        ps = pooled_of(s);
        assert(ps->refs > 0);
        if (--ps->refs > 0)
                return;
        (void) lh_table_delete(p->table, ps->s);
        free(ps);
}

int string_pool_set(StringPool *p, const char **field, const char *value) {
        const char *n;

        if (*field && streq(*field, strempty(value)))
                return 0;
        n = string_pool_ref(p, value);
        if (!n)
                return -ENOMEM;
        string_pool_unref(p, *field);
        *field = n;
        return 1;
}

size_t string_pool_size(StringPool *p) {
        return (size_t) lh_table_length(p->table);
}

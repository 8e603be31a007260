/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "oci-search.h"
#include "strv.h"

/* OCI's grammar: "return" before "where". */
const char oci_search_instances_prefix[] = "query instance resources return allAdditionalFields where ";

static bool id_quotable(const char *id) {
        if (isempty(id))
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr(".-_:", *p)))
                        return false;
        return true;
}

int oci_search_batch_flush(OciSearchBatch *b, char **ret_query) {
        char *q;

        assert(b);
        assert(ret_query);
        if (b->n == 0) {
                *ret_query = NULL;
                return 0;
        }
        q = strprintf("%s%s", oci_search_instances_prefix, b->buf);
        if (!q)
                return -ENOMEM;
        b->len = 0;
        b->n = 0;
        b->buf[0] = 0;
        *ret_query = q;
        return 0;
}

int oci_search_batch_add(OciSearchBatch *b, const char *id, char **ret_query) {
        static const char sep[] = " || ", head[] = "compartmentId = '";
        size_t max = b->max ?: OCI_SEARCH_QUERY_MAX_DEFAULT, add;
        _cleanup_free_ char *done = NULL;
        int r;

        assert(b);
        assert(ret_query);
        if (!id_quotable(id))
                return -EINVAL;

        add = strlen(head) + strlen(id) + 1;
        if (b->n > 0 && strlen(oci_search_instances_prefix) + b->len + strlen(sep) + add > max) {
                r = oci_search_batch_flush(b, &done);
                if (r < 0)
                        return r;
        }
        if (b->len + strlen(sep) + add + 1 > b->allocated) {
                size_t a = MAX(b->allocated * 2, b->len + strlen(sep) + add + 1);
                char *m = realloc(b->buf, MAX(a, (size_t) 256));

                if (!m)
                        return -ENOMEM;
                b->buf = m;
                b->allocated = MAX(a, (size_t) 256);
        }
        b->len += (size_t) sprintf(b->buf + b->len, "%s%s%s'", b->n > 0 ? sep : "", head, id);
        b->n++;
        *ret_query = TAKE_PTR(done);
        return 0;
}

void oci_search_batch_done(OciSearchBatch *b) {
        if (!b)
                return;
        b->buf = mfree(b->buf);
        b->len = b->allocated = 0;
        b->n = 0;
}

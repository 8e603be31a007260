/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Resource Search queries (oci/oci-search.h): compartment ids batched into as few queries as fit,
 * every id in exactly one, each query of the exact shape OCI's grammar wants. */
#include <stdlib.h>
#include <string.h>

#include "oci-search.h"
#include "strv.h"
#include "tests.h"

#define OCID_LEN 83

static char *fake_ocid(unsigned i) {
        /* the length of real compartment OCIDs: "ocid1.compartment.oc1.." + 60 characters */
        char *s = strprintf("ocid1.compartment.oc1..aaaaaaaa%052u", i);
        ASSERT_NOT_NULL(s);
        ASSERT_EQ(strlen(s), OCID_LEN);
        return s;
}

/* Splits a query back into its ids, checking the exact shape. */
static char **query_ids(const char *q) {
        char **ids = NULL;
        const char *p;

        p = startswith(q, oci_search_instances_prefix);
        ASSERT_NOT_NULL(p);
        for (;;) {
                const char *e;

                p = startswith(p, "compartmentId = '");
                ASSERT_NOT_NULL(p);
                e = strchr(p, '\'');
                ASSERT_NOT_NULL(e);
                ASSERT_OK(strv_consume(&ids, strndup(p, e - p)));
                p = e + 1;
                if (!*p)
                        return ids;
                p = startswith(p, " || ");
                ASSERT_NOT_NULL(p);
        }
}

static void check_batches(size_t max, unsigned n) {
        OciSearchBatch b = { .max = max };
        char **queries = NULL, **seen = NULL, *q;
        size_t per_query = 0;

        for (unsigned i = 0; i < n; i++) {
                char *id = fake_ocid(i);
                ASSERT_OK(oci_search_batch_add(&b, id, &q));
                if (q)
                        ASSERT_OK(strv_consume(&queries, q));
                free(id);
        }
        ASSERT_OK(oci_search_batch_flush(&b, &q));
        if (n > 0) {
                ASSERT_NOT_NULL(q);
                ASSERT_OK(strv_consume(&queries, q));
        } else
                ASSERT_NULL(q);
        ASSERT_OK(oci_search_batch_flush(&b, &q));   /* empty now */
        ASSERT_NULL(q);

        STRV_FOREACH(i, queries) {
                char **ids = query_ids(*i);
                size_t k = strv_length(ids);

                ASSERT_TRUE(strlen(*i) <= max || k == 1);
                /* greedy: one more id would not have fitted (except in the last query) */
                if (*(i + 1)) {
                        ASSERT_TRUE(strlen(*i) + strlen(" || compartmentId = ''") + OCID_LEN > max);
                        if (per_query == 0)
                                per_query = k;
                        ASSERT_EQ(k, per_query);
                }
                STRV_FOREACH(id, ids)
                        ASSERT_OK(strv_extend(&seen, *id));
                strv_free(ids);
        }
        /* every id exactly once, in order */
        ASSERT_EQ(strv_length(seen), n);
        for (unsigned i = 0; i < n; i++) {
                char *id = fake_ocid(i);
                ASSERT_STREQ(seen[i], id);
                free(id);
        }
        strv_free(seen);
        strv_free(queries);
        oci_search_batch_done(&b);
}

TEST(batches) {
        check_batches(OCI_SEARCH_QUERY_MAX_DEFAULT, 0);
        check_batches(OCI_SEARCH_QUERY_MAX_DEFAULT, 1);
        check_batches(OCI_SEARCH_QUERY_MAX_DEFAULT, 17);
        check_batches(OCI_SEARCH_QUERY_MAX_DEFAULT, 2001);
        check_batches(4096, 500);
        /* smaller than one id: one id per query, never an empty one */
        check_batches(10, 5);
}

TEST(batch_refuses_unquotable) {
        OciSearchBatch b = {};
        char *q = NULL;

        ASSERT_ERR(oci_search_batch_add(&b, "ocid1.compartment.oc1..a'b", &q), EINVAL);
        ASSERT_ERR(oci_search_batch_add(&b, "a\\b", &q), EINVAL);
        ASSERT_ERR(oci_search_batch_add(&b, "a b", &q), EINVAL);
        ASSERT_ERR(oci_search_batch_add(&b, "", &q), EINVAL);
        ASSERT_ERR(oci_search_batch_add(&b, NULL, &q), EINVAL);
        ASSERT_OK(oci_search_batch_flush(&b, &q));
        ASSERT_NULL(q);
        ASSERT_OK(oci_search_batch_add(&b, "ocid1.tenancy.oc1..x-y_z:1", &q));
        ASSERT_NULL(q);
        ASSERT_OK(oci_search_batch_flush(&b, &q));
        ASSERT_STREQ(q, "query instance resources return allAdditionalFields where "
                        "compartmentId = 'ocid1.tenancy.oc1..x-y_z:1'");
        free(q);
        oci_search_batch_done(&b);
        oci_search_batch_done(&b);   /* idempotent */
}

int main(void) {
        RUN(batches);
        RUN(batch_refuses_unquotable);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Discovery's pure parts: search batching, its tables, the discovery.details config key and the
 * parameters taken from a config. The engine itself runs in tests/integration/test_discovery.py
 * against the fake OCI server and a real PostgreSQL. */
#include "config.h"
#include "discovery.h"
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

        p = startswith(q, discovery_search_prefix);
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
        SearchBatch b = { .max = max };
        char **queries = NULL, **seen = NULL, *q;
        size_t per_query = 0;

        for (unsigned i = 0; i < n; i++) {
                char *id = fake_ocid(i);
                ASSERT_OK(search_batch_add(&b, id, &q));
                if (q)
                        ASSERT_OK(strv_consume(&queries, q));
                free(id);
        }
        ASSERT_OK(search_batch_flush(&b, &q));
        if (n > 0) {
                ASSERT_NOT_NULL(q);
                ASSERT_OK(strv_consume(&queries, q));
        } else
                ASSERT_NULL(q);
        ASSERT_OK(search_batch_flush(&b, &q));   /* empty now */
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
        search_batch_done(&b);
}

TEST(batches) {
        check_batches(DISCOVERY_DEFAULT_QUERY_MAX, 0);
        check_batches(DISCOVERY_DEFAULT_QUERY_MAX, 1);
        check_batches(DISCOVERY_DEFAULT_QUERY_MAX, 17);
        check_batches(DISCOVERY_DEFAULT_QUERY_MAX, 2001);
        check_batches(4096, 500);
        /* smaller than one id: one id per query, never an empty one */
        check_batches(10, 5);
}

TEST(batch_refuses_unquotable) {
        SearchBatch b = {};
        char *q = NULL;

        ASSERT_ERR(search_batch_add(&b, "ocid1.compartment.oc1..a'b", &q), EINVAL);
        ASSERT_ERR(search_batch_add(&b, "a\\b", &q), EINVAL);
        ASSERT_ERR(search_batch_add(&b, "a b", &q), EINVAL);
        ASSERT_ERR(search_batch_add(&b, "", &q), EINVAL);
        ASSERT_ERR(search_batch_add(&b, NULL, &q), EINVAL);
        ASSERT_OK(search_batch_flush(&b, &q));
        ASSERT_NULL(q);
        ASSERT_OK(search_batch_add(&b, "ocid1.tenancy.oc1..x-y_z:1", &q));
        ASSERT_NULL(q);
        ASSERT_OK(search_batch_flush(&b, &q));
        ASSERT_STREQ(q, "query instance resources return allAdditionalFields where "
                        "compartmentId = 'ocid1.tenancy.oc1..x-y_z:1'");
        free(q);
        search_batch_done(&b);
        search_batch_done(&b);   /* idempotent */
}

TEST(tables) {
        for (int i = 0; i < _DISCOVERY_PHASE_MAX; i++) {
                ASSERT_NOT_NULL(discovery_phase_to_string(i));
                ASSERT_EQ(discovery_phase_from_string(discovery_phase_to_string(i)), i);
        }
        ASSERT_NULL(discovery_phase_to_string(_DISCOVERY_PHASE_MAX));
        ASSERT_ERR(discovery_phase_from_string("nope"), EINVAL);

        for (int i = 0; i < _DISCOVERY_DETAILS_MAX; i++) {
                ASSERT_NOT_NULL(discovery_details_to_string(i));
                ASSERT_EQ(discovery_details_from_string(discovery_details_to_string(i)), i);
        }
        ASSERT_NULL(discovery_details_to_string(_DISCOVERY_DETAILS_MAX));
        ASSERT_ERR(discovery_details_from_string("sometimes"), EINVAL);
        ASSERT_ERR(discovery_details_from_string(NULL), EINVAL);
}

TEST(config_details) {
        Config *c = NULL;
        char *err = NULL;

        ASSERT_OK(config_new(&c));
        ASSERT_EQ(c->discovery.details, DISCOVERY_DETAILS_AUTO);
        c = config_free(c);

        ASSERT_OK(config_load_string("discovery:\n  details: never\n", "inline", &c, &err));
        ASSERT_EQ(c->discovery.details, DISCOVERY_DETAILS_NEVER);
        c = config_free(c);
        ASSERT_OK(config_load_string("discovery: {details: always}\n", "inline", &c, &err));
        ASSERT_EQ(c->discovery.details, DISCOVERY_DETAILS_ALWAYS);
        c = config_free(c);

        ASSERT_ERR(config_load_string("discovery:\n  details: sometimes\n", "inline", &c, &err), EINVAL);
        ASSERT_STREQ(err, "inline:2:12: discovery.details: expected auto, always or never, got 'sometimes'");
        err = mfree(err);
        ASSERT_ERR(config_load_string("discovery:\n  details: [auto]\n", "inline", &c, &err), EINVAL);
        ASSERT_NOT_NULL(err);
        err = mfree(err);
        ASSERT_ERR(config_load_string("discovery:\n  details: \"auto\"\n", "inline", &c, &err), EINVAL);
        err = mfree(err);
        ASSERT_NULL(c);
}

TEST(params_from_config) {
        Config *c = NULL;
        DiscoveryParams p;

        ASSERT_OK(config_load_string("oci: {regions: [eu-frankfurt-1, us-ashburn-1]}\n"
                                     "discovery: {max_in_flight: 7, page_size: 250, details: never}\n",
                                     "inline", &c, NULL));
        discovery_params_from_config(&p, c, "ocid1.tenancy.oc1..t", NULL);
        ASSERT_STREQ(p.tenancy_id, "ocid1.tenancy.oc1..t");
        ASSERT_STREQ(p.identity_region, "eu-frankfurt-1");
        ASSERT_EQ(strv_length((char **) p.regions), 2);
        ASSERT_EQ(p.max_in_flight, 7);
        ASSERT_EQ(p.page_size, 250);
        ASSERT_EQ(p.details, DISCOVERY_DETAILS_NEVER);
        ASSERT_EQ(p.query_max, 0);
        /* the profile's region is the identity region when there is one */
        discovery_params_from_config(&p, c, "t", "us-phoenix-1");
        ASSERT_STREQ(p.identity_region, "us-phoenix-1");
        c = config_free(c);

        ASSERT_OK(config_new(&c));
        discovery_params_from_config(&p, c, "t", NULL);
        ASSERT_NULL(p.identity_region);
        ASSERT_NULL(p.regions);
        ASSERT_EQ(p.max_in_flight, CONFIG_DEFAULT_MAX_IN_FLIGHT);
        discovery_params_from_config(&p, c, "t", "");
        ASSERT_NULL(p.identity_region);
        c = config_free(c);
}

int main(void) {
        RUN(batches);
        RUN(batch_refuses_unquotable);
        RUN(tables);
        RUN(config_details);
        RUN(params_from_config);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Discovery's pure parts: its tables, the discovery.details config key and the
 * parameters taken from a config. The engine itself runs in tests/integration/test_discovery.py
 * against the fake OCI server and a real PostgreSQL. */
#include "config.h"
#include "discovery.h"
#include "strv.h"
#include "tests.h"

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
        RUN(tables);
        RUN(config_details);
        RUN(params_from_config);
        return 0;
}

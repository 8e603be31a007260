/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdlib.h>

#include "json-util.h"
#include "oci-client.h"
#include "oci-model.h"
#include "strv.h"
#include "tests.h"

#define INSTANCE_JSON                                                                                  \
        "{\"id\":\"ocid1.instance.oc1.phx.aaaa\",\"compartmentId\":\"ocid1.compartment.oc1..bbbb\","  \
        "\"availabilityDomain\":\"Uocm:PHX-AD-1\",\"faultDomain\":\"FAULT-DOMAIN-2\","                  \
        "\"displayName\":\"web-1\",\"region\":\"phx\",\"shape\":\"VM.Standard.E4.Flex\","              \
        "\"lifecycleState\":\"RUNNING\",\"timeCreated\":\"2016-08-25T21:10:29.600Z\","                   \
        "\"freeformTags\":{\"env\":\"prod\",\"stopstart\":\"office-hours\"},"                           \
        "\"definedTags\":{\"Ops\":{\"Owner\":\"jane\",\"Cost\":42,\"Critical\":true}},"                 \
        "\"shapeConfig\":{\"ocpus\":1.0,\"memoryInGBs\":16.0},\"metadata\":{\"ssh\":\"x\"},"             \
        "\"systemTags\":{},\"someFutureField\":[1,2,3]}"

#define COMPARTMENT_JSON                                                                                \
        "{\"compartmentId\":\"ocid1.tenancy.oc1..tttt\",\"definedTags\":{\"Oracle-Tags\":"               \
        "{\"CreatedBy\":\"default/admin@example.com\"}},\"description\":\"d\",\"freeformTags\":"         \
        "{\"env\":\"qa\"},\"id\":\"ocid1.compartment.oc1..cccc\",\"inactiveStatus\":null,"              \
        "\"isAccessible\":true,\"lifecycleState\":\"ACTIVE\",\"name\":\"app-00001\","                   \
        "\"timeCreated\":\"2018-08-18T17:53:26.704Z\"}"

#define TENANCY_JSON                                                                                    \
        "{\"definedTags\":{},\"description\":\"x\",\"freeformTags\":{},\"homeRegionKey\":\"PHX\","       \
        "\"id\":\"ocid1.tenancy.oc1..tttt\",\"name\":\"acme\",\"upiIdcsCompatibilityLayerEndpoint\":null}"

#define SUBSCRIPTIONS_JSON                                                                              \
        "[{\"regionKey\":\"PHX\",\"regionName\":\"us-phoenix-1\",\"status\":\"READY\",\"isHomeRegion\":true}," \
        "{\"regionKey\":\"IAD\",\"regionName\":\"us-ashburn-1\",\"status\":\"IN_PROGRESS\",\"isHomeRegion\":false}]"

#define SEARCH_JSON                                                                                     \
        "{\"items\":[{\"resourceType\":\"Instance\",\"identifier\":\"ocid1.instance.oc1.phx.aaaa\","      \
        "\"compartmentId\":\"ocid1.compartment.oc1..bbbb\",\"displayName\":\"web-1\","                   \
        "\"availabilityDomain\":\"Uocm:PHX-AD-1\",\"lifecycleState\":\"STOPPED\","                       \
        "\"timeCreated\":\"2016-08-25T21:10:29.600Z\",\"freeformTags\":{},\"definedTags\":{},"           \
        "\"systemTags\":{},\"searchContext\":null,\"identityContext\":{},\"additionalDetails\":{}}]}"

/* ---- tables ---- */

#define TEST_TABLE(name, type, max)                                                     \
        do {                                                                            \
                for (int _i = 0; _i < (int) (max); _i++) {                              \
                        const char *_s = name##_to_string((type) _i);                   \
                        if (!_s)                                                        \
                                TEST_FAIL(#name ": no string for %d", _i);              \
                        ASSERT_EQ(name##_from_string(_s), _i);                          \
                }                                                                       \
                ASSERT_NULL(name##_to_string((type) (max)));                            \
                ASSERT_TRUE(name##_from_string("no-such-value") < 0);                   \
                ASSERT_TRUE(name##_from_string(NULL) < 0);                              \
        } while (0)

TEST(tables) {
        TEST_TABLE(oci_instance_state, OciInstanceState, _OCI_INSTANCE_STATE_MAX);
        TEST_TABLE(oci_compartment_state, OciCompartmentState, _OCI_COMPARTMENT_STATE_MAX);
        TEST_TABLE(oci_instance_action, OciInstanceAction, _OCI_ACTION_MAX);
        TEST_TABLE(oci_service, OciService, _OCI_SERVICE_MAX);
        TEST_TABLE(oci_access_level, OciAccessLevel, _OCI_ACCESS_LEVEL_MAX);
        TEST_TABLE(oci_error_kind, OciErrorKind, _OCI_ERROR_KIND_MAX);

        /* the wire values OCI uses */
        ASSERT_STREQ(oci_instance_action_to_string(OCI_ACTION_SOFTSTOP), "SOFTSTOP");
        ASSERT_STREQ(oci_instance_action_to_string(OCI_ACTION_SOFTRESET), "SOFTRESET");
        ASSERT_STREQ(oci_instance_state_to_string(OCI_INSTANCE_CREATING_IMAGE), "CREATING_IMAGE");
        ASSERT_STREQ(oci_access_level_to_string(OCI_ACCESS_ACCESSIBLE), "ACCESSIBLE");
        ASSERT_STREQ(oci_service_to_string(OCI_SERVICE_QUERY), "query");

        ASSERT_TRUE(oci_instance_state_is_stable(OCI_INSTANCE_RUNNING));
        ASSERT_TRUE(oci_instance_state_is_stable(OCI_INSTANCE_STOPPED));
        ASSERT_TRUE(oci_instance_state_is_stable(OCI_INSTANCE_TERMINATED));
        ASSERT_TRUE(!oci_instance_state_is_stable(OCI_INSTANCE_STOPPING));
        ASSERT_TRUE(!oci_instance_state_is_stable(_OCI_INSTANCE_STATE_INVALID));

        ASSERT_EQ(oci_instance_action_target_state(OCI_ACTION_START), OCI_INSTANCE_RUNNING);
        ASSERT_EQ(oci_instance_action_target_state(OCI_ACTION_STOP), OCI_INSTANCE_STOPPED);
        ASSERT_EQ(oci_instance_action_target_state(OCI_ACTION_SOFTSTOP), OCI_INSTANCE_STOPPED);
        ASSERT_EQ(oci_instance_action_target_state(OCI_ACTION_RESET), OCI_INSTANCE_RUNNING);
        ASSERT_EQ(oci_instance_action_target_state(OCI_ACTION_SOFTRESET), OCI_INSTANCE_RUNNING);
}

TEST(regions) {
        ASSERT_STREQ(oci_region_domain("us-phoenix-1"), "oraclecloud.com");
        ASSERT_STREQ(oci_region_domain("uk-gov-london-1"), "oraclegovcloud.uk");
        ASSERT_STREQ(oci_region_domain("eu-frankfurt-2"), "oraclecloud.eu");
        ASSERT_STREQ(oci_region_domain("sa-riodejaneiro-1"), "oraclecloud52.com");
        ASSERT_STREQ(oci_region_domain("xx-nowhere-9"), "oraclecloud.com");
        ASSERT_STREQ(oci_region_normalize("phx"), "us-phoenix-1");
        ASSERT_STREQ(oci_region_normalize("IAD"), "us-ashburn-1");
        ASSERT_STREQ(oci_region_normalize("eu-zurich-1"), "eu-zurich-1");
        ASSERT_NULL(oci_region_normalize("xyz"));
        ASSERT_NULL(oci_region_normalize(NULL));
        ASSERT_STREQ(oci_region_key("us-phoenix-1"), "PHX");
        ASSERT_STREQ(oci_region_key("ap-tokyo-1"), "NRT");
        ASSERT_NULL(oci_region_key("xx-nowhere-9"));
}

/* ---- good bodies ---- */

TEST(decode_instance) {
        _cleanup_(oci_instance_done) OciInstance i = {};
        _cleanup_free_ char *err = NULL;
        _cleanup_json_ json_object *ff = NULL, *df = NULL;

        ASSERT_OK(oci_instance_decode(INSTANCE_JSON, strlen(INSTANCE_JSON), &i, &err));
        ASSERT_STREQ(i.id, "ocid1.instance.oc1.phx.aaaa");
        ASSERT_STREQ(i.compartment_id, "ocid1.compartment.oc1..bbbb");
        ASSERT_STREQ(i.availability_domain, "Uocm:PHX-AD-1");
        ASSERT_STREQ(i.fault_domain, "FAULT-DOMAIN-2");
        ASSERT_STREQ(i.display_name, "web-1");
        ASSERT_STREQ(i.region, "phx");
        ASSERT_STREQ(i.shape, "VM.Standard.E4.Flex");
        ASSERT_EQ(i.lifecycle_state, OCI_INSTANCE_RUNNING);
        ASSERT_STREQ(i.time_created, "2016-08-25T21:10:29.600Z");
        ASSERT_EQ(i.tags.n_freeform, 2);
        ASSERT_STREQ(i.tags.freeform[0].key, "env");
        ASSERT_STREQ(i.tags.freeform[0].value, "prod");
        ASSERT_NULL(i.tags.freeform[0].ns);
        ASSERT_EQ(i.tags.n_defined, 3);
        ASSERT_STREQ(i.tags.defined[0].ns, "Ops");
        ASSERT_STREQ(i.tags.defined[0].key, "Owner");
        ASSERT_STREQ(i.tags.defined[0].value, "jane");
        ASSERT_TRUE(!i.tags.defined[0].value_is_json);
        ASSERT_STREQ(i.tags.defined[1].value, "42");
        ASSERT_TRUE(i.tags.defined[1].value_is_json);
        ASSERT_STREQ(i.tags.defined[2].value, "true");

        ff = oci_tags_freeform_to_json(&i.tags);
        df = oci_tags_defined_to_json(&i.tags);
        ASSERT_STREQ(json_object_to_json_string_ext(ff, JSON_C_TO_STRING_PLAIN),
                     "{\"env\":\"prod\",\"stopstart\":\"office-hours\"}");
        ASSERT_STREQ(json_object_to_json_string_ext(df, JSON_C_TO_STRING_PLAIN),
                     "{\"Ops\":{\"Owner\":\"jane\",\"Cost\":42,\"Critical\":true}}");
}

TEST(decode_unknown_state) {
        _cleanup_(oci_instance_done) OciInstance i = {};
        const char *j = "{\"id\":\"i\",\"compartmentId\":\"c\",\"availabilityDomain\":\"ad\",\"region\":\"us-ashburn-1\","
                        "\"shape\":\"s\",\"lifecycleState\":\"HIBERNATING\",\"timeCreated\":\"t\"}";

        ASSERT_OK(oci_instance_decode(j, strlen(j), &i, NULL));
        ASSERT_EQ(i.lifecycle_state, _OCI_INSTANCE_STATE_INVALID);
        ASSERT_STREQ(i.lifecycle_state_raw, "HIBERNATING");
        ASSERT_NULL(i.display_name);
        ASSERT_NULL(i.fault_domain);
        ASSERT_EQ(i.tags.n_freeform + i.tags.n_defined, 0);
}

TEST(decode_others) {
        _cleanup_(oci_compartment_done) OciCompartment c = {};
        _cleanup_(oci_tenancy_done) OciTenancy t = {};
        OciRegionSubscription *subs = NULL;
        OciResourceSummary *res = NULL;
        OciCompartment *list = NULL;
        size_t n;
        char body[4096];

        ASSERT_OK(oci_compartment_decode(COMPARTMENT_JSON, strlen(COMPARTMENT_JSON), &c, NULL));
        ASSERT_STREQ(c.id, "ocid1.compartment.oc1..cccc");
        ASSERT_STREQ(c.compartment_id, "ocid1.tenancy.oc1..tttt");
        ASSERT_STREQ(c.name, "app-00001");
        ASSERT_EQ(c.lifecycle_state, OCI_COMPARTMENT_ACTIVE);
        ASSERT_TRUE(c.has_is_accessible && c.is_accessible);
        ASSERT_TRUE(!c.has_inactive_status);
        ASSERT_EQ(c.tags.n_defined, 1);

        ASSERT_OK(oci_tenancy_decode(TENANCY_JSON, strlen(TENANCY_JSON), &t, NULL));
        ASSERT_STREQ(t.name, "acme");
        ASSERT_STREQ(t.home_region_key, "PHX");

        ASSERT_OK(oci_region_subscriptions_decode(SUBSCRIPTIONS_JSON, strlen(SUBSCRIPTIONS_JSON), &subs, &n, NULL));
        ASSERT_EQ(n, 2);
        ASSERT_STREQ(subs[0].region_name, "us-phoenix-1");
        ASSERT_TRUE(subs[0].is_home_region);
        ASSERT_STREQ(subs[1].status, "IN_PROGRESS");
        ASSERT_TRUE(!subs[1].is_home_region);
        subs = oci_region_subscriptions_free(subs, n);

        ASSERT_OK(oci_resource_summaries_decode(SEARCH_JSON, strlen(SEARCH_JSON), &res, &n, NULL));
        ASSERT_EQ(n, 1);
        ASSERT_STREQ(res[0].resource_type, "Instance");
        ASSERT_STREQ(res[0].identifier, "ocid1.instance.oc1.phx.aaaa");
        ASSERT_STREQ(res[0].lifecycle_state, "STOPPED");
        ASSERT_NULL(res[0].shape);
        ASSERT_NULL(res[0].fault_domain);
        ASSERT_NULL(res[0].region);
        res = oci_resource_summaries_free(res, n);

        /* additionalDetails: the Compute fields when they are strings, anything else ignored */
        {
                const char *ad = "{\"items\":[{\"resourceType\":\"Instance\",\"identifier\":\"i1\","
                                 "\"compartmentId\":\"c1\",\"additionalDetails\":{\"shape\":\"VM.Standard.E4.Flex\","
                                 "\"faultDomain\":\"FAULT-DOMAIN-2\",\"region\":\"phx\",\"imageId\":\"x\"}},"
                                 "{\"resourceType\":\"Vcn\",\"identifier\":\"v1\",\"compartmentId\":\"c1\","
                                 "\"additionalDetails\":{\"shape\":{\"a\":1},\"faultDomain\":null,\"region\":7}},"
                                 "{\"resourceType\":\"Vcn\",\"identifier\":\"v2\",\"compartmentId\":\"c1\","
                                 "\"additionalDetails\":[1,2]}]}";
                ASSERT_OK(oci_resource_summaries_decode(ad, strlen(ad), &res, &n, NULL));
                ASSERT_EQ(n, 3);
                ASSERT_STREQ(res[0].shape, "VM.Standard.E4.Flex");
                ASSERT_STREQ(res[0].fault_domain, "FAULT-DOMAIN-2");
                ASSERT_STREQ(res[0].region, "phx");
                for (size_t i = 1; i < 3; i++) {
                        ASSERT_NULL(res[i].shape);
                        ASSERT_NULL(res[i].fault_domain);
                        ASSERT_NULL(res[i].region);
                }
                res = oci_resource_summaries_free(res, n);
        }

        snprintf(body, sizeof body, "[%s,%s]\n", COMPARTMENT_JSON, COMPARTMENT_JSON);
        ASSERT_OK(oci_compartments_decode(body, strlen(body), &list, &n, NULL));
        ASSERT_EQ(n, 2);
        list = oci_compartments_free(list, n);

        ASSERT_OK(oci_compartments_decode("[]", 2, &list, &n, NULL));
        ASSERT_EQ(n, 0);
        list = oci_compartments_free(list, n);
        ASSERT_OK(oci_resource_summaries_decode("{\"items\":[]}", 12, &res, &n, NULL));
        ASSERT_EQ(n, 0);
        res = oci_resource_summaries_free(res, n);
}

/* ---- bad bodies ---- */

typedef enum Kind { K_INSTANCE, K_INSTANCES, K_COMPARTMENT, K_COMPARTMENTS, K_TENANCY, K_SUBSCRIPTIONS, K_SEARCH,
                    _K_MAX } Kind;

/* Runs one decoder; returns its result, frees whatever it produced. */
static int decode(Kind k, const char *body, size_t size, char **err) {
        size_t n = 0;
        int r;

        switch (k) {
        case K_INSTANCE: {
                OciInstance i = {};
                r = oci_instance_decode(body, size, &i, err);
                oci_instance_done(&i);
                return r;
        }
        case K_COMPARTMENT: {
                OciCompartment c = {};
                r = oci_compartment_decode(body, size, &c, err);
                oci_compartment_done(&c);
                return r;
        }
        case K_TENANCY: {
                OciTenancy t = {};
                r = oci_tenancy_decode(body, size, &t, err);
                oci_tenancy_done(&t);
                return r;
        }
        case K_INSTANCES: {
                OciInstance *a = NULL;
                r = oci_instances_decode(body, size, &a, &n, err);
                oci_instances_free(a, n);
                return r;
        }
        case K_COMPARTMENTS: {
                OciCompartment *a = NULL;
                r = oci_compartments_decode(body, size, &a, &n, err);
                oci_compartments_free(a, n);
                return r;
        }
        case K_SUBSCRIPTIONS: {
                OciRegionSubscription *a = NULL;
                r = oci_region_subscriptions_decode(body, size, &a, &n, err);
                oci_region_subscriptions_free(a, n);
                return r;
        }
        case K_SEARCH: {
                OciResourceSummary *a = NULL;
                r = oci_resource_summaries_decode(body, size, &a, &n, err);
                oci_resource_summaries_free(a, n);
                return r;
        }
        default:
                abort();
        }
}

TEST(bad_corpus) {
        static const struct {
                Kind kind;
                const char *body;
                const char *message;
        } cases[] = {
                { K_INSTANCE, "", "empty body" },
                { K_INSTANCE, " \r\n ", "empty body" },
                { K_INSTANCE, "{\"id\":\"x\"", "truncated JSON" },
                { K_INSTANCE, "{\"id\":\"x\",}", "malformed JSON" },
                { K_INSTANCE, "{'id':'x'}", "malformed JSON" },
                { K_INSTANCE, "{\"id\":\"x\"} {}", "malformed JSON at byte 11" },
                { K_INSTANCE, "<html>502 Bad Gateway</html>", "malformed JSON" },
                { K_INSTANCE, "null", "expected an object, got null" },
                { K_INSTANCE, "[]", "expected an object, got an array" },
                { K_INSTANCE, "{}", "id: missing" },
                { K_INSTANCE, "{\"id\":7}", "id: expected a string, got a number" },
                { K_INSTANCE, "{\"id\":\"\"}", "id: is empty" },
                { K_INSTANCE, "{\"id\":\"a\\u0000b\"}", "id: contains a NUL character" },
                { K_INSTANCE,
                  "{\"id\":\"i\",\"compartmentId\":\"c\",\"availabilityDomain\":\"ad\",\"region\":\"r\",\"shape\":\"s\","
                  "\"lifecycleState\":\"RUNNING\"}",
                  "timeCreated: missing" },
                { K_INSTANCE,
                  "{\"id\":\"i\",\"compartmentId\":\"c\",\"availabilityDomain\":\"ad\",\"region\":\"r\",\"shape\":\"s\","
                  "\"lifecycleState\":[\"RUNNING\"],\"timeCreated\":\"t\"}",
                  "lifecycleState: expected a string, got an array" },
                { K_INSTANCE,
                  "{\"id\":\"i\",\"compartmentId\":\"c\",\"availabilityDomain\":\"ad\",\"region\":\"r\",\"shape\":\"s\","
                  "\"lifecycleState\":\"RUNNING\",\"timeCreated\":\"t\",\"freeformTags\":{\"a\":1}}",
                  "freeformTags: value of 'a': expected a string, got a number" },
                { K_INSTANCE,
                  "{\"id\":\"i\",\"compartmentId\":\"c\",\"availabilityDomain\":\"ad\",\"region\":\"r\",\"shape\":\"s\","
                  "\"lifecycleState\":\"RUNNING\",\"timeCreated\":\"t\",\"freeformTags\":[]}",
                  "freeformTags: expected an object, got an array" },
                { K_INSTANCE,
                  "{\"id\":\"i\",\"compartmentId\":\"c\",\"availabilityDomain\":\"ad\",\"region\":\"r\",\"shape\":\"s\","
                  "\"lifecycleState\":\"RUNNING\",\"timeCreated\":\"t\",\"definedTags\":{\"ns\":\"v\"}}",
                  "definedTags: namespace 'ns': expected an object, got a string" },
                { K_INSTANCES, "{}", "expected an array, got an object" },
                { K_INSTANCES, "[{\"id\":\"x\"}]", "items[0].compartmentId: missing" },
                { K_INSTANCES, "[" INSTANCE_JSON ",7]", "items[1]: expected an object, got a number" },
                { K_INSTANCES, "[" INSTANCE_JSON ",", "truncated JSON" },
                { K_COMPARTMENT, "{\"id\":\"c\",\"name\":\"n\",\"lifecycleState\":\"ACTIVE\",\"timeCreated\":\"t\","
                                 "\"isAccessible\":\"yes\"}",
                  "isAccessible: expected a boolean, got a string" },
                { K_COMPARTMENT, "{\"id\":\"c\",\"name\":\"n\",\"lifecycleState\":\"ACTIVE\",\"timeCreated\":\"t\","
                                 "\"inactiveStatus\":\"x\"}",
                  "inactiveStatus: expected an integer, got a string" },
                { K_COMPARTMENTS, "[{\"id\":\"c\",\"lifecycleState\":\"ACTIVE\",\"timeCreated\":\"t\"}]",
                  "items[0].name: missing" },
                { K_TENANCY, "{\"id\":\"t\"}", "name: missing" },
                { K_SUBSCRIPTIONS, "[{\"regionKey\":\"PHX\",\"regionName\":\"us-phoenix-1\",\"status\":\"READY\"}]",
                  "items[0].isHomeRegion: missing" },
                { K_SUBSCRIPTIONS, "[{\"regionKey\":\"PHX\",\"regionName\":\"us-phoenix-1\",\"status\":\"READY\","
                                   "\"isHomeRegion\":1}]",
                  "items[0].isHomeRegion: expected a boolean, got a number" },
                { K_SEARCH, "[]", "expected an object with \"items\", got an array" },
                { K_SEARCH, "{\"item\":[]}", "items: missing" },
                { K_SEARCH, "{\"items\":{}}", "items: expected an array, got an object" },
                { K_SEARCH, "{\"items\":[{\"resourceType\":\"Instance\",\"identifier\":\"x\"}]}",
                  "items[0].compartmentId: missing" },
                /* deeper than any OCI object: refused rather than recursed into */
                { K_SEARCH,
                  "{\"items\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
                  "malformed JSON" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *err = NULL;
                size_t size = strlen(cases[i].body);
                int r;

                /* the NUL case needs its escape kept: strlen() is right, the NUL is \u0000 */
                r = decode(cases[i].kind, cases[i].body, size, &err);
                if (r != -EBADMSG)
                        TEST_FAIL("case %zu (%s): expected -EBADMSG, got %d", i, cases[i].body, r);
                if (!err || !strstr(err, cases[i].message))
                        TEST_FAIL("case %zu (%s): message '%s' lacks '%s'", i, cases[i].body, strna(err),
                                  cases[i].message);
        }

        /* a NUL byte inside the body */
        {
                static const char b[] = "{\"id\":\"x\"}\0{}";
                _cleanup_free_ char *err = NULL;
                ASSERT_ERR(decode(K_INSTANCE, b, sizeof b - 1, &err), EBADMSG);
                ASSERT_TRUE(strstr(err, "NUL byte") != NULL);
        }
        /* ret untouched on failure, ret_error optional */
        {
                OciInstance i = { .id = (char *) "sentinel" };
                ASSERT_ERR(oci_instance_decode("{}", 2, &i, NULL), EBADMSG);
                ASSERT_STREQ(i.id, "sentinel");
        }
}

TEST(error_body) {
        _cleanup_free_ char *code = NULL, *message = NULL;

        const char *b = "{\"code\":\"NotAuthorizedOrNotFound\",\"message\":\"gone\"}";

        ASSERT_OK(oci_error_body_decode(b, strlen(b), &code, &message));
        ASSERT_STREQ(code, "NotAuthorizedOrNotFound");
        ASSERT_STREQ(message, "gone");
        code = mfree(code);
        message = mfree(message);
        ASSERT_OK(oci_error_body_decode("<html>", 6, &code, &message));
        ASSERT_NULL(code);
        ASSERT_NULL(message);
        ASSERT_OK(oci_error_body_decode("{\"code\":5}", 10, &code, &message));
        ASSERT_NULL(code);
        ASSERT_OK(oci_error_body_decode(NULL, 0, &code, &message));
        ASSERT_NULL(message);
}

/* ---- mutation fuzzing ---- */

static uint64_t rnd_state = 0x5eed5eed5eedULL;
static uint64_t rnd(void) {
        uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static size_t mutate(const char *in, size_t n, char *out, size_t cap) {
        static const char alphabet[] = "{}[]\",:0123456789.eE+-truefalsn \\u\x01\x7f\xff";
        size_t m = n;
        unsigned rounds = 1 + (unsigned) (rnd() % 4);

        memcpy(out, in, n);
        for (unsigned k = 0; k < rounds && m > 0; k++) {
                size_t pos = rnd() % m;
                switch (rnd() % 6) {
                case 0: /* replace a byte */
                        out[pos] = alphabet[rnd() % (sizeof alphabet - 1)];
                        break;
                case 1: /* flip a bit */
                        out[pos] ^= (char) (1 << (rnd() % 8));
                        break;
                case 2: { /* delete a range */
                        size_t len = 1 + rnd() % MIN((size_t) 16, m - pos);
                        memmove(out + pos, out + pos + len, m - pos - len);
                        m -= len;
                        break;
                }
                case 3: { /* duplicate a range */
                        size_t len = 1 + rnd() % MIN((size_t) 32, m - pos);
                        if (m + len > cap)
                                break;
                        memmove(out + pos + len, out + pos, m - pos);
                        m += len;
                        break;
                }
                case 4: /* truncate */
                        m = pos;
                        break;
                case 5: /* insert a byte */
                        if (m + 1 > cap)
                                break;
                        memmove(out + pos + 1, out + pos, m - pos);
                        out[pos] = alphabet[rnd() % (sizeof alphabet - 1)];
                        m++;
                        break;
                }
        }
        return m;
}

TEST(fuzz) {
        static const struct {
                Kind kind;
                const char *body;
        } seeds[] = {
                { K_INSTANCE, INSTANCE_JSON },
                { K_INSTANCES, "[" INSTANCE_JSON "," INSTANCE_JSON "]" },
                { K_COMPARTMENT, COMPARTMENT_JSON },
                { K_COMPARTMENTS, "[" COMPARTMENT_JSON "]" },
                { K_TENANCY, TENANCY_JSON },
                { K_SUBSCRIPTIONS, SUBSCRIPTIONS_JSON },
                { K_SEARCH, SEARCH_JSON },
        };
        unsigned ok = 0, bad = 0, iterations = getenv("FUZZ_ITERATIONS") ? (unsigned) atoi(getenv("FUZZ_ITERATIONS")) : 20000;
        char *buf = malloc(16384);

        ASSERT_NOT_NULL(buf);
        for (unsigned it = 0; it < iterations; it++) {
                size_t s = it % ELEMENTSOF(seeds), n;
                int r;

                n = mutate(seeds[s].body, strlen(seeds[s].body), buf, 16384);
                /* every decoder on every mutant: a mutated instance body must not crash the
                 * search decoder either */
                for (Kind k = 0; k < _K_MAX; k++) {
                        _cleanup_free_ char *err = NULL;
                        r = decode(k, buf, n, &err);
                        if (r == 0)
                                ok++;
                        else if (r == -EBADMSG && err && !strchr(err, '\n'))
                                bad++;
                        else
                                TEST_FAIL("iteration %u decoder %d: unexpected %d (%s)", it, k, r, strna(err));
                }
        }
        free(buf);
        printf("  %u mutants decoded, %u refused\n", ok, bad);
        /* the mutator must produce both kinds, or it is not testing anything */
        ASSERT_TRUE(ok > 0);
        ASSERT_TRUE(bad > 0);
}

int main(void) {
        RUN(tables);
        RUN(regions);
        RUN(decode_instance);
        RUN(decode_unknown_state);
        RUN(decode_others);
        RUN(bad_corpus);
        RUN(error_body);
        RUN(fuzz);
        return 0;
}

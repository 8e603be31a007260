/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Answers that grow with the tenancy stay inside what one D-Bus message may carry (issue 8 item
 * 2): over 16 MiB, ListInstances, Describe and DescribeWith are refused with TooLarge naming how
 * to page, and the pages (limit/after, DescribeWith without instances, DescribeInstances) give
 * the whole inventory, once each, in OCID order; History beyond the bound names its filters. The
 * fixture: 24,000 instances with 600-byte names (about 20 MiB as one ListInstances answer) and
 * 20,000 audit entries of 1 KB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bus-errors.h"
#include "bus-names.h"
#include "bus-test.h"
#include "json-util.h"
#include "strv.h"

#define N_INSTANCES 24000
#define MGR SS_BUS_PATH, SS_BUS_IFACE_MANAGER

static const char fixture[] =
        "INSERT INTO stopstart.compartments (id, parent_id, name, description, lifecycle_state) VALUES "
        " ('ocid1.tenancy.oc1..big', NULL, 'big', '', 'ACTIVE');"
        "INSERT INTO stopstart.regions (name, region_key, is_home) VALUES ('us-phoenix-1', 'PHX', true);"
        "INSERT INTO stopstart.instances (id, compartment_id, region, availability_domain, display_name, "
        "                                 lifecycle_state, freeform_tags) "
        "SELECT 'ocid1.instance.oc1.phx.' || lpad(n::text, 8, '0'), 'ocid1.tenancy.oc1..big', 'us-phoenix-1', "
        "       'AD-1', 'vm-' || n || '-' || repeat('x', 600), 'RUNNING', '{}' "
        "  FROM generate_series(1, 24000) n;"
        "INSERT INTO stopstart.audit_log (actor, operation, object_kind, object_id, new_value) "
        "SELECT 'root', 'set-config', 'instance', 'ocid1.instance.oc1.phx.' || lpad(n::text, 8, '0'), "
        "       jsonb_build_object('note', repeat('n', 1000)) FROM generate_series(1, 20000) n;";

static void assert_too_large(sd_bus_message *m, const char *hint) {
        ASSERT_REPLY_ERROR(m, SS_ERROR_TOO_LARGE);
        const char *msg = sd_bus_message_get_error(m)->message;
        if (!strstr(msg, hint) || !strstr(msg, "24000 instances"))
                TEST_FAIL("TooLarge message lacks '%s': %s", hint, msg);
        sd_bus_message_unref(m);
}

TEST(whole_answers_are_refused) {
        assert_too_large(call(MGR, "ListInstances", "a{sv}", 0), "'limit' and 'after'");
        assert_too_large(call(MGR, "Describe", ""), "DescribeInstances");
        assert_too_large(call(MGR, "DescribeWith", "a{sv}", 0), "DescribeInstances");
        /* a filter that selects little needs no paging */
        sd_bus_message *m = call(MGR, "ListInstances", "a{sv}", 1, "name", "s", "vm-17-*");
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "(ssssssbo)"));
        size_t n = 0;
        while (sd_bus_message_skip(m, "(ssssssbo)") > 0)
                n++;
        ASSERT_EQ(n, 1);
        sd_bus_message_unref(m);
}

TEST(history_is_bounded) {
        sd_bus_message *m = call(MGR, "History", "a{sv}", 1, "limit", "u", 100000);
        ASSERT_REPLY_ERROR(m, SS_ERROR_TOO_LARGE);
        if (!strstr(sd_bus_message_get_error(m)->message, "lower 'limit'"))
                TEST_FAIL("%s", sd_bus_message_get_error(m)->message);
        sd_bus_message_unref(m);
        m = call(MGR, "History", "a{sv}", 1, "limit", "u", 2000);
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);
}

TEST(list_instances_pages) {
        _cleanup_free_ char *after = NULL;
        char *prev = NULL;
        size_t total = 0;

        for (;;) {
                sd_bus_message *m = after ? call(MGR, "ListInstances", "a{sv}", 2, "limit", "u", 5000, "after", "s", after)
                                          : call(MGR, "ListInstances", "a{sv}", 1, "limit", "u", 5000);
                size_t n = 0;
                const char *id, *s;
                int b;

                ASSERT_REPLY_OK(m);
                ASSERT_OK(sd_bus_message_enter_container(m, 'a', "(ssssssbo)"));
                while (sd_bus_message_read(m, "(ssssssbo)", &id, &s, &s, &s, &s, &s, &b, &s) > 0) {
                        if (prev && strcmp(prev, id) >= 0)
                                TEST_FAIL("not in OCID order: %s after %s", id, prev);
                        free(prev);
                        prev = strdup(id);
                        n++;
                }
                total += n;
                free(after);
                after = n == 5000 ? strdup(prev) : NULL;
                sd_bus_message_unref(m);
                if (!after)
                        break;
        }
        free(prev);
        ASSERT_EQ(total, N_INSTANCES);
}

TEST(describe_pages) {
        sd_bus_message *m = call(MGR, "DescribeWith", "a{sv}", 1, "instances", "b", 0);
        const char *json;
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "s", &json));
        _cleanup_json_ json_object *lean = json_tokener_parse(json);
        ASSERT_TRUE(lean);
        ASSERT_TRUE(!json_object_object_get_ex(lean, "instances", NULL));
        ASSERT_TRUE(json_object_object_get_ex(lean, "compartments", NULL));
        sd_bus_message_unref(m);

        _cleanup_free_ char *next = NULL;
        size_t total = 0;
        do {
                m = next ? call(MGR, "DescribeInstances", "a{sv}", 2, "limit", "u", 4000, "after", "s", next)
                         : call(MGR, "DescribeInstances", "a{sv}", 1, "limit", "u", 4000);
                ASSERT_REPLY_OK(m);
                ASSERT_OK(sd_bus_message_read(m, "s", &json));
                _cleanup_json_ json_object *page = json_tokener_parse(json);
                json_object *instances, *n;
                ASSERT_TRUE(page && json_object_object_get_ex(page, "instances", &instances));
                ASSERT_TRUE(json_object_object_get_ex(page, "next", &n));
                total += json_object_array_length(instances);
                next = mfree(next);
                if (n)
                        next = strdup(json_object_get_string(n));
                sd_bus_message_unref(m);
        } while (next);
        ASSERT_EQ(total, N_INSTANCES);
}

int main(void) {
        harness_start(fixture);
        RUN(whole_answers_are_refused);
        RUN(history_is_bounded);
        RUN(list_instances_pages);
        RUN(describe_pages);
        harness_stop();
        return 0;
}

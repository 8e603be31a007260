/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Caller input at the bus boundary: every method that quotes a caller's string in its error
 * answers, promptly and in valid UTF-8, whatever the string (issue 8 item 1); names that several
 * instances answer to are errors listing them (item 11); repeated keys and contradictory pairs in
 * a{sv} arguments are refused (item 12). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-errors.h"
#include "bus-names.h"
#include "bus-test.h"
#include "strv.h"
#include "utf8.h"

#define T "ocid1.tenancy.oc1..acme"
#define C_DEV "ocid1.compartment.oc1..dev"
#define I_ONE "ocid1.instance.oc1.phx.one"
#define I_TWO "ocid1.instance.oc1.phx.two"
#define I_ALIAS "ocid1.instance.oc1.phx.alias"

/* I_ALIAS's display name is I_ONE's OCID. */
static const char fixture[] =
        "INSERT INTO stopstart.compartments (id, parent_id, name, description, lifecycle_state) VALUES "
        " ('" T "', NULL, 'acme', '', 'ACTIVE'), ('" C_DEV "', '" T "', 'dev', '', 'ACTIVE');"
        "INSERT INTO stopstart.instances (id, compartment_id, region, availability_domain, display_name, "
        "                                 lifecycle_state, freeform_tags) VALUES "
        " ('" I_ONE "', '" C_DEV "', 'us-phoenix-1', 'AD-1', 'one', 'RUNNING', '{}'), "
        " ('" I_TWO "', '" C_DEV "', 'us-phoenix-1', 'AD-1', 'two', 'STOPPED', '{}'), "
        " ('" I_ALIAS "', '" C_DEV "', 'us-phoenix-1', 'AD-1', '" I_ONE "', 'STOPPED', '{}');"
        "INSERT INTO stopstart.regions (name, region_key, is_home) VALUES ('us-phoenix-1', 'PHX', true);";

#define MGR SS_BUS_PATH, SS_BUS_IFACE_MANAGER

static char *p_two, *p_c_dev;
/* 'a' and 100 × 'é': a byte cut at 76 falls inside an 'é'. */
static char accented[1 + 2 * 100 + 1];

typedef struct Answer {
        bool done;
        sd_bus_message *m;
} Answer;

static int on_answer(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Answer *a = userdata;
        a->m = sd_bus_message_ref(m);
        a->done = true;
        return 0;
}

/* Calls with a one-second timeout and returns the daemon's answer, failing the test when there
 * is none (sd-bus then reports its own Timeout/NoReply) or its message is not UTF-8. */
static sd_bus_message *call_answered(const char *path, const char *iface, const char *member, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL;
        Answer a = {};
        va_list ap;

        ASSERT_OK(sd_bus_message_new_method_call(client, &req, NULL, path, iface, member));
        va_start(ap, types);
        ASSERT_OK(sd_bus_message_appendv(req, types, ap));
        va_end(ap);
        ASSERT_OK(sd_bus_call_async(client, NULL, req, on_answer, &a, 1000000ULL));
        RUN_UNTIL_TIMEOUT(a.done, 5);
        if (sd_bus_message_is_method_error(a.m, SD_BUS_ERROR_TIMEOUT) ||
            sd_bus_message_is_method_error(a.m, SD_BUS_ERROR_NO_REPLY))
                TEST_FAIL("%s.%s was not answered within a second", iface, member);
        if (sd_bus_message_is_method_error(a.m, NULL) &&
            !utf8_string_is_valid(strempty(sd_bus_message_get_error(a.m)->message)))
                TEST_FAIL("%s.%s: error message is not UTF-8", iface, member);
        return a.m;
}

static const char *error_message(sd_bus_message *m) {
        return strempty(sd_bus_message_get_error(m)->message);
}

TEST(every_echo_answers) {
        sd_bus_message *m;

        m = call_answered(MGR, "GetInstance", "s", accented);
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_INSTANCE);
        ASSERT_TRUE(strstr(error_message(m), "...") != NULL);
        sd_bus_message_unref(m);

        m = call_answered(MGR, "GetCompartment", "s", accented);
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_COMPARTMENT);
        sd_bus_message_unref(m);

        m = call_answered(MGR, "ListInstances", "a{sv}", 1, "compartment", "s", accented);
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_COMPARTMENT);
        sd_bus_message_unref(m);

        m = call_answered(MGR, "ListInstances", "a{sv}", 1, accented, "s", "x");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_message_unref(m);

        m = call_answered(MGR, "History", "a{sv}", 1, "instance", "s", accented);
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_INSTANCE);
        sd_bus_message_unref(m);

        m = call_answered(MGR, "History", "a{sv}", 1, "compartment", "s", accented);
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_COMPARTMENT);
        sd_bus_message_unref(m);

        m = call_answered(MGR, "History", "a{sv}", 1, accented, "s", "x");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_message_unref(m);

        m = call_answered(p_two, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, accented, "s", "x");
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        sd_bus_message_unref(m);

        m = call_answered(p_c_dev, SS_BUS_IFACE_COMPARTMENT, "SetDefaults", "a{sv}", 1, accented, "s", "x");
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        sd_bus_message_unref(m);

        /* Control characters are escaped, not passed on. */
        m = call_answered(MGR, "GetInstance", "s", "evil\x1b]0;title\x07\nname");
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_INSTANCE);
        ASSERT_TRUE(strstr(error_message(m), "evil\\x1b]0;title\\x07\\nname") != NULL);
        sd_bus_message_unref(m);
}

TEST(ambiguous_names_list_candidates) {
        sd_bus_message *m;

        /* I_ONE's OCID is also I_ALIAS's display name: neither wins by precedence. */
        m = call_answered(MGR, "GetInstance", "s", I_ONE);
        ASSERT_REPLY_ERROR(m, SS_ERROR_AMBIGUOUS_NAME);
        ASSERT_TRUE(strstr(error_message(m), I_ONE) != NULL);
        ASSERT_TRUE(strstr(error_message(m), I_ALIAS) != NULL);
        sd_bus_message_unref(m);

        m = call_answered(MGR, "History", "a{sv}", 1, "instance", "s", I_ONE);
        ASSERT_REPLY_ERROR(m, SS_ERROR_AMBIGUOUS_NAME);
        ASSERT_TRUE(strstr(error_message(m), I_ALIAS) != NULL);
        sd_bus_message_unref(m);

        /* Unique names and OCIDs still resolve. */
        m = call_answered(MGR, "GetInstance", "s", "two");
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);
        m = call_answered(MGR, "GetInstance", "s", I_ALIAS);
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);
}

TEST(repeated_and_contradictory_keys) {
        _cleanup_free_ char *before = get_config(p_two, SS_BUS_IFACE_INSTANCE, "Config"), *after = NULL;
        sd_bus_message *m;

        m = call_answered(p_two, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 2, "managed", "b", 0, "managed", "b", 1);
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        ASSERT_TRUE(strstr(error_message(m), "twice") != NULL);
        sd_bus_message_unref(m);

        m = call_answered(p_two, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 2, "override_state", "s", "stopped",
                          "override_until", "s", "inherit");
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        sd_bus_message_unref(m);

        m = call_answered(p_c_dev, SS_BUS_IFACE_COMPARTMENT, "SetDefaults", "a{sv}", 2, "override_state", "s",
                          "running", "override_until", "s", "inherit");
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        sd_bus_message_unref(m);

        m = call_answered(MGR, "ListInstances", "a{sv}", 2, "state", "s", "RUNNING", "state", "s", "STOPPED");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_message_unref(m);

        m = call_answered(MGR, "History", "a{sv}", 2, "limit", "u", 1, "limit", "u", 2);
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_message_unref(m);

        /* Both halves "inherit" is the way to remove an override. */
        m = call_answered(p_two, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 2, "override_state", "s", "inherit",
                          "override_until", "s", "inherit");
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);
        settle();

        after = get_config(p_two, SS_BUS_IFACE_INSTANCE, "Config");
        ASSERT_STREQ(before, after);
}

/* libpq's notices go through our logger, one line each, and StatusText is one clean line
 * (issue 8 item 14): the server terminating our connection says "FATAL: terminating
 * connection…" and "server closed the connection unexpectedly\n\tThis probably means…". */
TEST(libpq_messages_are_clean_lines) {
        _cleanup_free_ char *log = NULL;
        char path[] = "/tmp/test-bus-input-XXXXXX";
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        bool seen_degraded = false;
        size_t n = 0;
        FILE *f;

        ASSERT_TRUE(fd >= 0 && saved >= 0);
        fflush(stderr);
        ASSERT_TRUE(dup2(fd, STDERR_FILENO) >= 0);

        pg_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()");
        for (uint64_t deadline = manager_now() + 30 * 1000000ULL;
             !(seen_degraded && manager->state == MANAGER_RUNNING);) {
                seen_degraded = seen_degraded || manager->state == MANAGER_DEGRADED;
                if (manager->status_text && strpbrk(manager->status_text, "\t\n"))
                        TEST_FAIL("StatusText is not one clean line: %s", manager->status_text);
                if (manager_now() > deadline)
                        TEST_FAIL("the daemon did not notice the lost connection, or did not reconnect");
                ASSERT_OK(sd_event_run(event, 10 * 1000));
        }
        settle();

        fflush(stderr);
        ASSERT_TRUE(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        f = fdopen(fd, "r");
        ASSERT_NOT_NULL(f);
        rewind(f);
        for (char line[4096]; fgets(line, sizeof line, f);) {
                fputs(line, stderr);
                if (strstr(line, "terminating connection")) {
                        n++;
                        if (!strstr(line, "PostgreSQL: "))
                                TEST_FAIL("libpq's notice bypassed the logger: %s", line);
                }
                if (line[0] == '\t')
                        TEST_FAIL("a continuation line reached the log: %s", line);
        }
        fclose(f);
        (void) unlink(path);
        ASSERT_TRUE(n >= 1);
}

/* A statement failing because the schema is no longer at head (a downgrade under the running
 * daemon) makes it `degraded` with a status that says what to do, not a raw SQL error (issue 8
 * item 9); once its queries work again it is `running`. */
TEST(schema_not_at_head) {
        _cleanup_free_ char *state = NULL, *status = NULL;
        sd_bus_message *m;

        pg_exec("ALTER TABLE stopstart.instance_config RENAME TO instance_config_gone");
        m = call_answered(p_two, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "note", "s", "after a downgrade");
        ASSERT_TRUE(sd_bus_message_is_method_error(m, NULL));
        sd_bus_message_unref(m);
        RUN_UNTIL_TIMEOUT(manager->state == MANAGER_DEGRADED, 10);
        settle();
        state = get_string(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "State");
        ASSERT_STREQ(state, "degraded");
        status = get_string(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "StatusText");
        ASSERT_STREQ(status, "database schema is not at the migration head: run stopstartctl db upgrade");

        pg_exec("ALTER TABLE stopstart.instance_config_gone RENAME TO instance_config");
        RUN_UNTIL_TIMEOUT(manager->state == MANAGER_RUNNING, 20);
        free(status);
        status = get_string(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "StatusText");
        ASSERT_TRUE(strstr(status, "Serving") == status);
}

int main(void) {
        accented[0] = 'a';
        for (size_t i = 0; i < 100; i++)
                memcpy(accented + 1 + 2 * i, "\xc3\xa9", 2);

        harness_start(fixture);
        p_two = instance_path(I_TWO);
        p_c_dev = compartment_path(C_DEV);

        RUN(every_echo_answers);
        RUN(ambiguous_names_list_candidates);
        RUN(repeated_and_contradictory_keys);
        RUN(libpq_messages_are_clean_lines);
        RUN(schema_not_at_head);

        free(p_two);
        free(p_c_dev);
        harness_stop();
        return 0;
}

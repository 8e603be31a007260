/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's vtables over a socketpair (no broker), with the real Manager on a throwaway
 * PostgreSQL: properties, errors, enumerators, ObjectManager, signals on real changes only,
 * audit, polkit, database loss, override expiry, refresh jobs. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus-errors.h"
#include "bus-names.h"
#include "bus-polkit.h"
#include "bus-test.h"
#include "json-util.h"
#include "strv.h"

#define T "ocid1.tenancy.oc1..acme"
#define C_DEV "ocid1.compartment.oc1..dev"
#define C_WEB "ocid1.compartment.oc1..web"
#define C_PROD "ocid1.compartment.oc1..prod"
#define I_DEV1 "ocid1.instance.oc1.phx.dev1"
#define I_WEB1 "ocid1.instance.oc1.phx.web1"
#define I_DUP1 "ocid1.instance.oc1.phx.dup1"
#define I_DUP2 "ocid1.instance.oc1.phx.dup2"
#define I_ROOT "ocid1.instance.oc1.phx.root"

static const char fixture[] =
        "INSERT INTO stopstart.compartments (id, parent_id, name, description, lifecycle_state) VALUES "
        " ('" T "', NULL, 'acme', 'the tenancy', 'ACTIVE'), "
        " ('" C_DEV "', '" T "', 'dev', 'development', 'ACTIVE'), "
        " ('" C_WEB "', '" C_DEV "', 'web', '', 'ACTIVE'), "
        " ('" C_PROD "', '" T "', 'prod', '', 'ACTIVE');"
        "INSERT INTO stopstart.instances (id, compartment_id, region, availability_domain, fault_domain, shape, "
        "                                 display_name, lifecycle_state, freeform_tags) VALUES "
        " ('" I_DEV1 "', '" C_DEV "', 'us-phoenix-1', 'AD-1', 'FAULT-DOMAIN-1', 'VM.Standard.E4.Flex', 'dev-1', "
        "  'RUNNING', '{\"env\": \"dev\", \"team\": \"a\"}'), "
        " ('" I_WEB1 "', '" C_WEB "', 'us-phoenix-1', 'AD-1', NULL, NULL, 'web-1', 'STOPPED', '{}'), "
        " ('" I_DUP1 "', '" C_PROD "', 'us-phoenix-1', 'AD-2', NULL, NULL, 'dup', 'RUNNING', '{}'), "
        " ('" I_DUP2 "', '" C_PROD "', 'us-ashburn-1', 'AD-3', NULL, NULL, 'dup', 'STOPPED', '{}'), "
        " ('" I_ROOT "', '" T "', 'us-phoenix-1', 'AD-1', NULL, NULL, 'root-vm', 'RUNNING', '{}');"
        "INSERT INTO stopstart.regions (name, region_key, is_home) VALUES "
        " ('us-phoenix-1', 'PHX', true), ('us-ashburn-1', 'IAD', false);"
        "INSERT INTO stopstart.instance_config (instance_id, note) VALUES ('" I_DUP1 "', 'keep');";

#define MGR SS_BUS_PATH, SS_BUS_IFACE_MANAGER

static char *p_dev1, *p_web1, *p_dup1, *p_root, *p_c_dev, *p_c_web, *p_c_prod, *p_c_root;

/* A test's own preconditions, set the way a client would (each test starts from the fixture). */
static void set_note(const char *path, const char *note) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                call(path, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "note", "s", note);
        ASSERT_REPLY_OK(m);
}

static void set_managed(const char *path, int managed) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                call(path, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "managed", "b", managed);
        ASSERT_REPLY_OK(m);
}

static void set_default_stop_mode(const char *path, const char *mode) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                call(path, SS_BUS_IFACE_COMPARTMENT, "SetDefaults", "a{sv}", 1, "stop_mode", "s", mode);
        ASSERT_REPLY_OK(m);
}

static void set_default_priority(const char *path, int priority) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                call(path, SS_BUS_IFACE_COMPARTMENT, "SetDefaults", "a{sv}", 1, "priority", "i", priority);
        ASSERT_REPLY_OK(m);
}

TEST(manager_properties) {
        _cleanup_free_ char *v = NULL, *st = NULL, *t = NULL;

        v = get_string(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "Version");
        ASSERT_STREQ(v, PROJECT_VERSION);
        st = get_string(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "State");
        ASSERT_STREQ(st, "running");
        t = get_string(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "Tenancy");
        ASSERT_STREQ(t, T);
        ASSERT_EQ(get_u32(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "NCompartments"), 4);
        ASSERT_EQ(get_u32(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "NInstances"), 5);
        ASSERT_EQ(get_u32(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "NJobs"), 0);
        ASSERT_EQ(get_u64(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "LastRefresh"), 0);

        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                call(SS_BUS_PATH, "org.freedesktop.DBus.Properties", "Get", "ss", SS_BUS_IFACE_MANAGER, "Regions");
        _cleanup_strv_free_ char **regions = NULL;
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_enter_container(m, 'v', "as"));
        ASSERT_OK(sd_bus_message_read_strv(m, &regions));
        ASSERT_EQ(strv_length(regions), 2);
        ASSERT_STREQ(regions[0], "us-ashburn-1");
        ASSERT_STREQ(regions[1], "us-phoenix-1");
}

TEST(compartment_properties) {
        _cleanup_free_ char *name = get_string(p_c_web, SS_BUS_IFACE_COMPARTMENT, "Name"),
                            *path = get_string(p_c_web, SS_BUS_IFACE_COMPARTMENT, "Path"),
                            *parent = get_string(p_c_web, SS_BUS_IFACE_COMPARTMENT, "Parent"),
                            *root_parent = get_string(p_c_root, SS_BUS_IFACE_COMPARTMENT, "Parent"),
                            *desc = get_string(p_c_dev, SS_BUS_IFACE_COMPARTMENT, "Description"),
                            *defaults = get_config(p_c_dev, SS_BUS_IFACE_COMPARTMENT, "Defaults"),
                            *eff = get_config(p_c_dev, SS_BUS_IFACE_COMPARTMENT, "EffectiveDefaults");

        ASSERT_STREQ(name, "web");
        ASSERT_STREQ(path, "acme/dev/web");
        ASSERT_STREQ(parent, p_c_dev);
        ASSERT_STREQ(root_parent, "/");
        ASSERT_STREQ(desc, "development");
        ASSERT_STREQ(defaults, "");
        ASSERT_STREQ(eff, "managed=false,stop_mode=soft,soft_stop_timeout=300000000,priority=0,note=,"
                          "override_state=,override_until=0");
        ASSERT_EQ(get_u32(p_c_root, SS_BUS_IFACE_COMPARTMENT, "InstanceCount"), 5);
        ASSERT_EQ(get_u32(p_c_dev, SS_BUS_IFACE_COMPARTMENT, "InstanceCount"), 2);
        ASSERT_EQ(get_u32(p_c_web, SS_BUS_IFACE_COMPARTMENT, "InstanceCount"), 1);

        /* Children, sorted by name */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                call(p_c_root, "org.freedesktop.DBus.Properties", "Get", "ss", SS_BUS_IFACE_COMPARTMENT, "Children");
        _cleanup_strv_free_ char **children = NULL;
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_enter_container(m, 'v', "ao"));
        ASSERT_OK(sd_bus_message_read_strv(m, &children));
        ASSERT_EQ(strv_length(children), 2);
        ASSERT_STREQ(children[0], p_c_dev);
        ASSERT_STREQ(children[1], p_c_prod);
}

TEST(instance_properties) {
        _cleanup_free_ char *dn = get_string(p_dev1, SS_BUS_IFACE_INSTANCE, "DisplayName"),
                            *c = get_string(p_dev1, SS_BUS_IFACE_INSTANCE, "Compartment"),
                            *cid = get_string(p_dev1, SS_BUS_IFACE_INSTANCE, "CompartmentId"),
                            *shape = get_string(p_dev1, SS_BUS_IFACE_INSTANCE, "Shape"),
                            *fd = get_string(p_web1, SS_BUS_IFACE_INSTANCE, "FaultDomain"),
                            *state = get_string(p_web1, SS_BUS_IFACE_INSTANCE, "LifecycleState"),
                            *own = get_config(p_dup1, SS_BUS_IFACE_INSTANCE, "Config"),
                            *eff = get_config(p_dup1, SS_BUS_IFACE_INSTANCE, "EffectiveConfig");

        ASSERT_STREQ(dn, "dev-1");
        ASSERT_STREQ(c, p_c_dev);
        ASSERT_STREQ(cid, C_DEV);
        ASSERT_STREQ(shape, "VM.Standard.E4.Flex");
        ASSERT_STREQ(fd, "");
        ASSERT_STREQ(state, "STOPPED");
        ASSERT_STREQ(own, "note=keep");
        ASSERT_STREQ(eff, "managed=false,stop_mode=soft,soft_stop_timeout=300000000,priority=0,note=keep,"
                          "override_state=,override_until=0");
        ASSERT_TRUE(get_u64(p_dev1, SS_BUS_IFACE_INSTANCE, "StateObservedAt") > 1600000000000000ULL);

        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                call(p_dev1, "org.freedesktop.DBus.Properties", "Get", "ss", SS_BUS_IFACE_INSTANCE, "FreeformTags");
        const char *k, *v;
        _cleanup_strv_free_ char **tags = NULL;
        int r;
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_enter_container(m, 'v', "a{ss}"));
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "{ss}"));
        while ((r = sd_bus_message_read(m, "{ss}", &k, &v)) > 0) {
                ASSERT_OK(strv_extend(&tags, k));
                ASSERT_OK(strv_extend(&tags, v));
        }
        ASSERT_OK(r);
        _cleanup_free_ char *joined = strv_join(tags, "=");
        ASSERT_STREQ(joined, "env=dev=team=a");

        /* Properties are read-only: Set fails, nothing changes. */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s =
                call(p_dev1, "org.freedesktop.DBus.Properties", "Set", "ssv", SS_BUS_IFACE_INSTANCE, "DisplayName",
                     "s", "x");
        ASSERT_TRUE(sd_bus_message_is_method_error(s, NULL));
}

TEST(lookups_and_errors) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *o;

        m = call(MGR, "GetInstance", "s", I_WEB1);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "o", &o));
        ASSERT_STREQ(o, p_web1);
        sd_bus_message_unref(m);

        m = call(MGR, "GetInstance", "s", "web-1");  /* unique display name */
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "o", &o));
        ASSERT_STREQ(o, p_web1);
        sd_bus_message_unref(m);

        m = call(MGR, "GetInstance", "s", "dup");
        ASSERT_REPLY_ERROR(m, SS_ERROR_AMBIGUOUS_NAME);
        ASSERT_TRUE(strstr(sd_bus_message_get_error(m)->message, I_DUP1) != NULL);
        ASSERT_TRUE(strstr(sd_bus_message_get_error(m)->message, I_DUP2) != NULL);
        ASSERT_EQ(sd_bus_error_get_errno(sd_bus_message_get_error(m)), ENOTUNIQ);
        sd_bus_message_unref(m);

        m = call(MGR, "GetInstance", "s", "ocid1.instance.oc1.phx.nope");
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_INSTANCE);
        ASSERT_EQ(sd_bus_error_get_errno(sd_bus_message_get_error(m)), ENXIO);
        sd_bus_message_unref(m);

        m = call(MGR, "GetInstance", "s", "");
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_INSTANCE);
        sd_bus_message_unref(m);

        m = call(MGR, "GetCompartment", "s", "acme/dev/web");
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "o", &o));
        ASSERT_STREQ(o, p_c_web);
        sd_bus_message_unref(m);

        m = call(MGR, "GetCompartment", "s", C_PROD);
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);

        m = call(MGR, "GetCompartment", "s", "acme/nope");
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_COMPARTMENT);
        sd_bus_message_unref(m);

        /* An object that does not exist, and a path that is no object. */
        _cleanup_free_ char *gone = instance_path("ocid1.instance.oc1.phx.gone");
        m = call(gone, "org.freedesktop.DBus.Properties", "Get", "ss", SS_BUS_IFACE_INSTANCE, "DisplayName");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_UNKNOWN_OBJECT);
        sd_bus_message_unref(m);
        m = call(SS_BUS_PATH_JOB "/12x", "org.freedesktop.DBus.Properties", "Get", "ss", SS_BUS_IFACE_JOB, "State");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_UNKNOWN_OBJECT);
        sd_bus_message_unref(m);

        /* Bad filters and arguments. */
        m = call(MGR, "ListInstances", "a{sv}", 1, "colour", "s", "blue");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_message_unref(m);
        m = call(MGR, "ListInstances", "a{sv}", 1, "recursive", "s", "yes");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_message_unref(m);
        m = call(MGR, "ListInstances", "a{sv}", 1, "compartment", "s", "acme/none");
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_COMPARTMENT);
        sd_bus_message_unref(m);
        m = call(p_dev1, SS_BUS_IFACE_INSTANCE, "Stop", "s", "gently");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_message_unref(m);
        m = call(MGR, "History", "a{sv}", 1, "limit", "t", (uint64_t) 5);
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_message_unref(m);
        /* Wrong signature altogether */
        m = call(MGR, "GetInstance", "u", 5);
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_message_unref(m);
        m = NULL;
}

TEST(huge_strings) {
        size_t n = 1024 * 1024;
        _cleanup_free_ char *big = malloc(n + 1);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        ASSERT_NOT_NULL(big);
        memset(big, 'a', n);
        big[n] = 0;

        m = call(MGR, "GetInstance", "s", big);
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_INSTANCE);
        /* The message names it, briefly. */
        ASSERT_TRUE(strlen(sd_bus_message_get_error(m)->message) < 200);
        sd_bus_message_unref(m);

        m = call(MGR, "ListInstances", "a{sv}", 1, "name", "s", big);
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_message_unref(m);

        m = call(p_dev1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "note", "s", big);
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        sd_bus_message_unref(m);

        m = call(p_dev1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, big, "b", 1);
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        ASSERT_TRUE(strlen(sd_bus_message_get_error(m)->message) < 200);
        sd_bus_message_unref(m);
        m = NULL;

        /* Still alive and unchanged. */
        _cleanup_free_ char *own = get_config(p_dev1, SS_BUS_IFACE_INSTANCE, "Config");
        ASSERT_STREQ(own, "");
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log"), 0);
}

static size_t list_instances(const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL;
        size_t n = 0;
        va_list ap;
        int r;

        ASSERT_OK(sd_bus_message_new_method_call(client, &req, NULL, MGR, "ListInstances"));
        va_start(ap, types);
        ASSERT_OK(sd_bus_message_appendv(req, types, ap));
        va_end(ap);
        m = call_prepared(req);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "(ssssssbo)"));
        while ((r = sd_bus_message_skip(m, "(ssssssbo)")) > 0)
                n++;
        ASSERT_OK(r);
        return n;
}

TEST(list_instances_filters) {
        ASSERT_EQ(list_instances("a{sv}", 0), 5);
        ASSERT_EQ(list_instances("a{sv}", 1, "compartment", "s", C_DEV), 1);
        ASSERT_EQ(list_instances("a{sv}", 2, "compartment", "s", "acme/dev", "recursive", "b", 1), 2);
        ASSERT_EQ(list_instances("a{sv}", 2, "compartment", "s", T, "recursive", "b", 1), 5);
        ASSERT_EQ(list_instances("a{sv}", 1, "state", "s", "stopped"), 2);
        ASSERT_EQ(list_instances("a{sv}", 1, "name", "s", "d*"), 3);
        ASSERT_EQ(list_instances("a{sv}", 1, "managed", "b", 1), 0);
        ASSERT_EQ(list_instances("a{sv}", 1, "managed", "b", 0), 5);

        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = call(MGR, "ListCompartments", NULL);
        const char *id, *name, *path, *state, *obj;
        uint32_t n;
        int r, seen_web = 0;
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "(ssssuo)"));
        while ((r = sd_bus_message_read(m, "(ssssuo)", &id, &name, &path, &state, &n, &obj)) > 0)
                if (streq(id, C_WEB)) {
                        ASSERT_STREQ(path, "acme/dev/web");
                        ASSERT_EQ(n, 1);
                        ASSERT_STREQ(obj, p_c_web);
                        seen_web++;
                }
        ASSERT_OK(r);
        ASSERT_EQ(seen_web, 1);
}

static size_t count_nodes(const char *xml) {
        size_t n = 0;
        for (const char *p = xml; (p = strstr(p, "<node name=")); p++)
                n++;
        return n;
}

TEST(enumerators_and_object_manager) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *xml;
        int r;

        m = call(SS_BUS_PATH, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "s", &xml));
        ASSERT_TRUE(strstr(xml, "<node name=\"instance\"/>") != NULL);
        ASSERT_TRUE(strstr(xml, "<node name=\"compartment\"/>") != NULL);
        ASSERT_TRUE(strstr(xml, "org.freedesktop.DBus.ObjectManager") != NULL);
        ASSERT_TRUE(strstr(xml, "<interface name=\"" SS_BUS_IFACE_MANAGER "\">") != NULL);
        sd_bus_message_unref(m);

        m = call(SS_BUS_PATH_INSTANCE, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "s", &xml));
        ASSERT_EQ(count_nodes(xml), 5);
        sd_bus_message_unref(m);

        m = call(p_dev1, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "s", &xml));
        ASSERT_TRUE(strstr(xml, "<method name=\"SetConfig\">") != NULL);
        sd_bus_message_unref(m);

        /* GetAll of one instance, to compare with what GetManagedObjects says about it. */
        _cleanup_strv_free_ char **getall = NULL, **managed = NULL;
        m = call(p_dev1, "org.freedesktop.DBus.Properties", "GetAll", "s", SS_BUS_IFACE_INSTANCE);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "{sv}"));
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name, *contents;
                char *item;
                ASSERT_OK(sd_bus_message_read(m, "s", &name));
                ASSERT_OK(sd_bus_message_peek_type(m, NULL, &contents));
                item = strprintf("%s:%s", name, contents);
                ASSERT_OK(strv_consume(&getall, item));
                ASSERT_OK(sd_bus_message_skip(m, "v"));
                ASSERT_OK(sd_bus_message_exit_container(m));
        }
        ASSERT_OK(r);
        sd_bus_message_unref(m);
        /* Explicit properties are left out of GetAll, and so of GetManagedObjects. */
        ASSERT_TRUE(!strv_contains(getall, "EffectiveConfig:a{sv}"));
        ASSERT_TRUE(strv_contains(getall, "Config:a{sv}"));

        /* GetManagedObjects: every compartment and instance, each with its interface. */
        m = call(SS_BUS_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL);
        ASSERT_REPLY_OK(m);
        size_t n_c = 0, n_i = 0;
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}"));
        while ((r = sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}")) > 0) {
                const char *path, *iface;
                ASSERT_OK(sd_bus_message_read(m, "o", &path));
                ASSERT_OK(sd_bus_message_enter_container(m, 'a', "{sa{sv}}"));
                while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
                        ASSERT_OK(sd_bus_message_read(m, "s", &iface));
                        if (streq(iface, SS_BUS_IFACE_INSTANCE))
                                n_i++;
                        if (streq(iface, SS_BUS_IFACE_COMPARTMENT))
                                n_c++;
                        if (streq(path, p_dev1) && streq(iface, SS_BUS_IFACE_INSTANCE)) {
                                ASSERT_OK(sd_bus_message_enter_container(m, 'a', "{sv}"));
                                while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                                        const char *name, *contents;
                                        ASSERT_OK(sd_bus_message_read(m, "s", &name));
                                        ASSERT_OK(sd_bus_message_peek_type(m, NULL, &contents));
                                        ASSERT_OK(strv_consume(&managed, strprintf("%s:%s", name, contents)));
                                        ASSERT_OK(sd_bus_message_skip(m, "v"));
                                        ASSERT_OK(sd_bus_message_exit_container(m));
                                }
                                ASSERT_OK(r);
                                ASSERT_OK(sd_bus_message_exit_container(m));
                        } else
                                ASSERT_OK(sd_bus_message_skip(m, "a{sv}"));
                        ASSERT_OK(sd_bus_message_exit_container(m));
                }
                ASSERT_OK(r);
                ASSERT_OK(sd_bus_message_exit_container(m));
                ASSERT_OK(sd_bus_message_exit_container(m));
        }
        ASSERT_OK(r);
        ASSERT_EQ(n_c, 4);
        ASSERT_EQ(n_i, 5);
        /* GetManagedObjects carries an instance's state only (its size at 50,000 instances), GetAll
         * everything else too. */
        _cleanup_free_ char *b = strv_join(managed, " ");
        ASSERT_STREQ(b, "LifecycleState:s");
        ASSERT_TRUE(strv_contains(getall, "LifecycleState:s"));
        ASSERT_TRUE(strv_contains(getall, "DisplayName:s"));
        ASSERT_TRUE(strv_contains(getall, "FreeformTags:a{ss}"));
}

TEST(set_config_signals_and_audit) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *own = NULL, *eff = NULL, *uid = strprintf("%u", (unsigned) getuid());

        signals_reset();
        m = call(p_dev1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 2, "managed", "b", 1, "priority", "i", 3);
        ASSERT_REPLY_OK(m);
        settle();
        ASSERT_EQ(signals_count("PropertiesChanged", p_dev1, "Instance:Config,EffectiveConfig"), 1);
        ASSERT_EQ(signals_count("PropertiesChanged", NULL, NULL), 1);
        own = get_config(p_dev1, SS_BUS_IFACE_INSTANCE, "Config");
        ASSERT_STREQ(own, "managed=true,priority=3");
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log WHERE operation = 'set-config' AND "
                           "object_id = '" I_DEV1 "' AND actor_uid = %s AND old_value = '{}' AND "
                           "new_value = '{\"managed\": true, \"priority\": 3}'", uid),
                  1);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.instance_config WHERE instance_id = '" I_DEV1 "' "
                           "AND managed AND priority = 3 AND note IS NULL"),
                  1);
        ASSERT_EQ(list_instances("a{sv}", 1, "managed", "b", 1), 1);
        sd_bus_message_unref(m);

        /* The same again: a no-op emits nothing and writes no audit entry. */
        signals_reset();
        m = call(p_dev1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "managed", "b", 1);
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);
        m = call(p_dev1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 0);
        ASSERT_REPLY_OK(m);
        settle();
        ASSERT_EQ(signals_count(NULL, NULL, NULL), 0);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log"), 1);
        sd_bus_message_unref(m);

        /* Bad values change nothing, and say why. */
        m = call(p_dev1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 2, "managed", "b", 0, "stop_mode", "s", "later");
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        ASSERT_EQ(sd_bus_error_get_errno(sd_bus_message_get_error(m)), EINVAL);
        sd_bus_message_unref(m);
        m = call(p_dev1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "priority", "s", "high");
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        sd_bus_message_unref(m);
        m = call(p_dev1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "priority", "as", 1, "x");
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        sd_bus_message_unref(m);
        m = call(p_dev1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "override_state", "s", "running");
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        sd_bus_message_unref(m);
        settle();
        ASSERT_EQ(signals_count(NULL, NULL, NULL), 0);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log"), 1);

        /* inherit removes the key again */
        m = call(p_dev1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "priority", "s", "inherit");
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);
        m = NULL;
        settle();
        free(own);
        own = get_config(p_dev1, SS_BUS_IFACE_INSTANCE, "Config");
        ASSERT_STREQ(own, "managed=true");
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log WHERE old_value = "
                           "'{\"managed\": true, \"priority\": 3}' AND new_value = '{\"managed\": true}'"),
                  1);
}

TEST(defaults_inheritance_and_explain) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *eff_web = NULL, *eff_dev1 = NULL, *eff_c = NULL;
        const char *json;

        /* dev-1 has its own managed=true; web-1 inherits. */
        set_managed(p_dev1, 1);
        settle();
        signals_reset();
        m = call(p_c_dev, SS_BUS_IFACE_COMPARTMENT, "SetDefaults", "a{sv}", 2, "managed", "b", 0, "stop_mode", "s",
                 "hard");
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);
        settle();
        ASSERT_EQ(signals_count("PropertiesChanged", p_c_dev, "Compartment:Defaults,EffectiveDefaults"), 1);
        ASSERT_EQ(signals_count("PropertiesChanged", p_c_web, "Compartment:EffectiveDefaults"), 1);
        ASSERT_EQ(signals_count("PropertiesChanged", p_web1, "Instance:EffectiveConfig"), 1);
        ASSERT_EQ(signals_count("PropertiesChanged", p_dev1, "Instance:EffectiveConfig"), 1);  /* stop_mode */
        /* Outside the subtree nothing moves. */
        ASSERT_EQ(signals_count("PropertiesChanged", p_dup1, NULL), 0);
        ASSERT_EQ(signals_count("PropertiesChanged", p_c_root, NULL), 0);
        ASSERT_EQ(signals_count("PropertiesChanged", NULL, NULL), 4);

        eff_web = get_config(p_web1, SS_BUS_IFACE_INSTANCE, "EffectiveConfig");
        ASSERT_TRUE(strstr(eff_web, "managed=false,stop_mode=hard") == eff_web);
        eff_dev1 = get_config(p_dev1, SS_BUS_IFACE_INSTANCE, "EffectiveConfig");
        ASSERT_TRUE(strstr(eff_dev1, "managed=true,stop_mode=hard") == eff_dev1);
        eff_c = get_config(p_c_web, SS_BUS_IFACE_COMPARTMENT, "EffectiveDefaults");
        ASSERT_TRUE(strstr(eff_c, "stop_mode=hard") != NULL);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log WHERE operation = 'set-defaults' AND "
                           "object_kind = 'compartment' AND object_id = '" C_DEV "'"),
                  1);

        /* A change that alters no effective value of dev-1 (it sets managed itself). */
        signals_reset();
        m = call(p_c_web, SS_BUS_IFACE_COMPARTMENT, "SetDefaults", "a{sv}", 1, "managed", "b", 1);
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);
        settle();
        ASSERT_EQ(signals_count("PropertiesChanged", p_dev1, NULL), 0);
        ASSERT_EQ(signals_count("PropertiesChanged", p_web1, "Instance:EffectiveConfig"), 1);

        /* Explain: where each value comes from. */
        m = call(p_web1, SS_BUS_IFACE_INSTANCE, "Explain", NULL);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "s", &json));
        _cleanup_json_ json_object *j = json_tokener_parse(json);
        json_object *e, *v;
        ASSERT_NOT_NULL(j);
        ASSERT_TRUE(json_object_object_get_ex(j, "managed", &e));
        ASSERT_TRUE(json_object_object_get_ex(e, "source", &v));
        ASSERT_STREQ(json_object_get_string(v), "compartment:" C_WEB);
        ASSERT_TRUE(json_object_object_get_ex(e, "value", &v));
        ASSERT_TRUE(json_object_get_boolean(v));
        ASSERT_TRUE(json_object_object_get_ex(j, "stop_mode", &e));
        ASSERT_TRUE(json_object_object_get_ex(e, "source", &v));
        ASSERT_STREQ(json_object_get_string(v), "compartment:" C_DEV);
        ASSERT_TRUE(json_object_object_get_ex(j, "priority", &e));
        ASSERT_TRUE(json_object_object_get_ex(e, "source", &v));
        ASSERT_STREQ(json_object_get_string(v), "default");
}

TEST(polkit) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *before = get_config(p_web1, SS_BUS_IFACE_INSTANCE, "Config"), *after = NULL;
        long long audits = pg_count("SELECT count(*) FROM stopstart.audit_log");

        polkit_registry_set_trust_privileged(manager->polkit, false);

        /* Refused: AccessDenied, nothing changes, nothing is emitted or audited. */
        pk_mode = PK_DENY;
        pk_calls = 0;
        signals_reset();
        m = call(p_web1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "note", "s", "denied");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_ACCESS_DENIED);
        ASSERT_EQ(sd_bus_error_get_errno(sd_bus_message_get_error(m)), EACCES);
        ASSERT_EQ(pk_calls, 1);
        ASSERT_STREQ(pk_last_action, SS_POLKIT_CONFIGURE);
        ASSERT_STREQ(pk_last_details, "instance=" I_WEB1 "=verb=set-config");
        ASSERT_STREQ(pk_last_subject, "unix-process");
        sd_bus_message_unref(m);
        settle();
        after = get_config(p_web1, SS_BUS_IFACE_INSTANCE, "Config");
        ASSERT_STREQ(after, before);
        ASSERT_EQ(signals_count(NULL, NULL, NULL), 0);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log"), audits);

        /* Validation and no-op detection come before asking. */
        m = call(p_web1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "bogus", "b", 1);
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        sd_bus_message_unref(m);
        m = call(p_web1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 0);
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);
        ASSERT_EQ(pk_calls, 1);

        /* Other operations ask for their action. */
        m = call(p_web1, SS_BUS_IFACE_INSTANCE, "Start", NULL);
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_ACCESS_DENIED);
        ASSERT_STREQ(pk_last_action, SS_POLKIT_OPERATE);
        sd_bus_message_unref(m);
        m = call(MGR, "Refresh", NULL);
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_ACCESS_DENIED);
        sd_bus_message_unref(m);
        m = call(MGR, "Reload", NULL);
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_ACCESS_DENIED);
        ASSERT_STREQ(pk_last_action, SS_POLKIT_CONFIGURE);
        sd_bus_message_unref(m);
        m = call(MGR, "ListJobs", NULL);
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_ACCESS_DENIED);
        ASSERT_STREQ(pk_last_action, SS_POLKIT_VIEW);
        sd_bus_message_unref(m);

        /* A challenge needs interactive authentication. */
        pk_mode = PK_CHALLENGE;
        m = call(p_web1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "note", "s", "challenge");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED);
        sd_bus_message_unref(m);

        /* No polkit on the bus: denied. */
        pk_mode = PK_ABSENT;
        m = call(p_web1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "note", "s", "absent");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_ACCESS_DENIED);
        sd_bus_message_unref(m);

        /* Allowed: the request is dispatched again and goes through. */
        pk_mode = PK_ALLOW;
        signals_reset();
        m = call(p_web1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "note", "s", "allowed");
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);
        m = NULL;
        settle();
        free(after);
        after = get_config(p_web1, SS_BUS_IFACE_INSTANCE, "Config");
        ASSERT_STREQ(after, "note=allowed");
        ASSERT_EQ(signals_count("PropertiesChanged", p_web1, "Instance:Config,EffectiveConfig"), 1);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log"), audits + 1);
        ASSERT_EQ(polkit_registry_pending(manager->polkit), 0);

        polkit_registry_set_trust_privileged(manager->polkit, true);
}

static bool job_done_seen(uint32_t id) {
        char buf[32];
        snprintf(buf, sizeof buf, "%u done", id);
        return signals_count("JobRemoved", SS_BUS_PATH, buf) > 0;
}

TEST(refresh_and_object_manager_signals) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *p_qa = compartment_path("ocid1.compartment.oc1..qa"),
                            *p_qa1 = instance_path("ocid1.instance.oc1.phx.qa1"), *dn = NULL, *state = NULL,
                            *jp = NULL;
        const char *job;
        uint32_t id;

        /* What a discovery run would store: a new compartment with an instance, an instance gone,
         * a rename, a state change. */
        pg_exec("INSERT INTO stopstart.compartments (id, parent_id, name, lifecycle_state) VALUES "
                "('ocid1.compartment.oc1..qa', '" T "', 'qa', 'ACTIVE');"
                "INSERT INTO stopstart.instances (id, compartment_id, region, display_name, lifecycle_state) VALUES "
                "('ocid1.instance.oc1.phx.qa1', 'ocid1.compartment.oc1..qa', 'us-phoenix-1', 'qa-1', 'RUNNING');"
                "UPDATE stopstart.instances SET deleted_at = now() WHERE id = '" I_DUP2 "';"
                "UPDATE stopstart.instances SET display_name = 'dev-one' WHERE id = '" I_DEV1 "';"
                "UPDATE stopstart.instances SET lifecycle_state = 'STARTING', state_observed_at = now() "
                "WHERE id = '" I_WEB1 "';");

        signals_reset();
        m = call(MGR, "Refresh", NULL);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "o", &job));
        jp = strdup(job);
        ASSERT_TRUE(startswith(jp, SS_BUS_PATH_JOB "/") != NULL);
        id = (uint32_t) atoi(jp + strlen(SS_BUS_PATH_JOB "/"));
        RUN_UNTIL(job_done_seen(id));
        settle();

        ASSERT_EQ(signals_count("JobNew", SS_BUS_PATH, NULL), 1);
        ASSERT_EQ(signals_count("InterfacesAdded", SS_BUS_PATH, p_qa), 1);
        ASSERT_EQ(signals_count("InterfacesAdded", SS_BUS_PATH, p_qa1), 1);
        ASSERT_EQ(signals_count("InterfacesAdded", SS_BUS_PATH, jp), 1);
        _cleanup_free_ char *p_dup2 = instance_path(I_DUP2);
        ASSERT_EQ(signals_count("InterfacesRemoved", SS_BUS_PATH, p_dup2), 1);
        ASSERT_EQ(signals_count("PropertiesChanged", p_dev1, "Instance:DisplayName"), 1);
        ASSERT_EQ(signals_count("PropertiesChanged", p_web1, "Instance:LifecycleState,StateObservedAt"), 1);
        ASSERT_EQ(signals_count("PropertiesChanged", p_c_prod, "Compartment:InstanceCount"), 1);
        ASSERT_EQ(signals_count("PropertiesChanged", p_c_root, "Compartment:Children"), 1);
        ASSERT_EQ(signals_count_containing("PropertiesChanged", SS_BUS_PATH, "NCompartments"), 1);
        /* New objects are announced whole: no PropertiesChanged for them right after. */
        ASSERT_EQ(signals_count("PropertiesChanged", p_qa, NULL), 0);
        ASSERT_EQ(signals_count("PropertiesChanged", p_qa1, NULL), 0);

        dn = get_string(p_dev1, SS_BUS_IFACE_INSTANCE, "DisplayName");
        ASSERT_STREQ(dn, "dev-one");
        ASSERT_EQ(get_u32(p_c_root, SS_BUS_IFACE_COMPARTMENT, "InstanceCount"), 5);
        ASSERT_EQ(get_u32(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "NCompartments"), 5);
        state = get_string(jp, SS_BUS_IFACE_JOB, "Result");
        ASSERT_STREQ(state, "done");
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.jobs WHERE kind = 'refresh' AND state = 'done' "
                           "AND result = 'done' AND finished_at IS NOT NULL"),
                  1);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log WHERE operation = 'refresh'"), 1);

        /* A second refresh with nothing changed: only the job's own signals. */
        sd_bus_message_unref(m);
        signals_reset();
        m = call(MGR, "Refresh", NULL);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "o", &job));
        free(jp);
        jp = strdup(job);
        id = (uint32_t) atoi(jp + strlen(SS_BUS_PATH_JOB "/"));
        RUN_UNTIL(job_done_seen(id));
        settle();
        ASSERT_EQ(signals_count("InterfacesRemoved", SS_BUS_PATH, NULL), 0);
        ASSERT_EQ(signals_count("PropertiesChanged", NULL, NULL) -
                          signals_count("PropertiesChanged", SS_BUS_PATH, NULL), 0);

        /* The finished job object goes away after its linger time. */
        RUN_UNTIL(signals_count("InterfacesRemoved", SS_BUS_PATH, jp) == 1);
        sd_bus_message_unref(m);
        m = call(jp, "org.freedesktop.DBus.Properties", "Get", "ss", SS_BUS_IFACE_JOB, "State");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_UNKNOWN_OBJECT);
}

TEST(describe_and_history) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *json;
        json_object *v;

        m = call(MGR, "Describe", NULL);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "s", &json));
        _cleanup_json_ json_object *j = json_tokener_parse(json);
        ASSERT_NOT_NULL(j);
        ASSERT_TRUE(json_object_object_get_ex(j, "instances", &v));
        ASSERT_EQ(json_object_array_length(v), 5);
        ASSERT_TRUE(json_object_object_get_ex(j, "compartments", &v));
        ASSERT_EQ(json_object_array_length(v), 4);
        ASSERT_TRUE(json_object_object_get_ex(j, "tenancy", &v));
        ASSERT_STREQ(json_object_get_string(v), T);
        ASSERT_TRUE(json_object_object_get_ex(j, "state", &v));
        ASSERT_STREQ(json_object_get_string(v), "running");
        sd_bus_message_unref(m);

        /* The cache follows changes. */
        m = call(p_root, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "note", "s", "described");
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);
        m = call(MGR, "Describe", NULL);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "s", &json));
        ASSERT_TRUE(strstr(json, "\"note\":\"described\"") != NULL);
        sd_bus_message_unref(m);

        /* History, oldest first, with filters: dev-1 twice, web-1 once, defaults of dev and web,
         * and outside the dev subtree root-vm (above). */
        set_note(p_dev1, "first");
        set_note(p_dev1, "second");
        set_note(p_web1, "third");
        set_default_priority(p_c_dev, 3);
        set_default_priority(p_c_web, 4);
        m = call(MGR, "History", "a{sv}", 1, "instance", "s", I_DEV1);
        ASSERT_REPLY_OK(m);
        uint64_t hid, at;
        uint32_t uid;
        const char *actor, *op, *kind, *obj, *details;
        size_t n = 0;
        int r;
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "(ttsussss)"));
        while ((r = sd_bus_message_read(m, "(ttsussss)", &hid, &at, &actor, &uid, &op, &kind, &obj, &details)) > 0) {
                ASSERT_STREQ(obj, I_DEV1);
                ASSERT_EQ(uid, getuid());
                if (n == 0) {
                        ASSERT_STREQ(op, "set-config");
                        ASSERT_TRUE(strstr(details, "\"old\": {}") != NULL);
                }
                n++;
        }
        ASSERT_OK(r);
        ASSERT_EQ(n, 2);
        sd_bus_message_unref(m);

        m = call(MGR, "History", "a{sv}", 2, "compartment", "s", "acme/dev", "limit", "u", 100);
        ASSERT_REPLY_OK(m);
        n = 0;
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "(ttsussss)"));
        while ((r = sd_bus_message_skip(m, "(ttsussss)")) > 0)
                n++;
        ASSERT_OK(r);
        /* dev-1 twice, web-1 once, SetDefaults on dev and on web */
        ASSERT_EQ(n, 5);
        sd_bus_message_unref(m);

        m = call(MGR, "History", "a{sv}", 1, "since", "t", manager_now() + 3600ULL * 1000000ULL);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "(ttsussss)"));
        ASSERT_EQ(sd_bus_message_skip(m, "(ttsussss)"), 0);
        sd_bus_message_unref(m);

        /* By display name when unique, AmbiguousName when not, or not at all. */
        m = call(MGR, "History", "a{sv}", 1, "instance", "s", "web-1");
        ASSERT_REPLY_OK(m);
        n = 0;
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "(ttsussss)"));
        while ((r = sd_bus_message_skip(m, "(ttsussss)")) > 0)
                n++;
        ASSERT_OK(r);
        ASSERT_EQ(n, 1);
        sd_bus_message_unref(m);
        m = call(MGR, "History", "a{sv}", 1, "instance", "s", "dup");
        ASSERT_REPLY_ERROR(m, SS_ERROR_AMBIGUOUS_NAME);
        sd_bus_message_unref(m);
        m = call(MGR, "History", "a{sv}", 1, "instance", "s", "nope");
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_INSTANCE);
        sd_bus_message_unref(m);
        m = call(MGR, "History", "a{sv}", 1, "compartment", "s", "acme/nope");
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_COMPARTMENT);
        sd_bus_message_unref(m);
        m = NULL;
}

/* Describe()'s elements by id, from a parsed document's array. */
static json_object *element(json_object *doc, const char *array, const char *id) {
        json_object *a, *v;

        ASSERT_TRUE(json_object_object_get_ex(doc, array, &a));
        for (size_t k = 0; k < json_object_array_length(a); k++) {
                json_object *e = json_object_array_get_idx(a, k);
                if (json_object_object_get_ex(e, "id", &v) && streq(json_object_get_string(v), id))
                        return e;
        }
        return NULL;
}

static json_object *describe_json(sd_bus_message *m) {
        const char *json;
        json_object *j;

        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "s", &json));
        j = json_tokener_parse(json);
        ASSERT_NOT_NULL(j);
        return j;
}

static void assert_states(json_object *doc, const char *id, int running, int stopped) {
        json_object *c = element(doc, "compartments", id), *st, *v;

        ASSERT_NOT_NULL(c);
        ASSERT_TRUE(json_object_object_get_ex(c, "subtree_states", &st));
        ASSERT_EQ(json_object_object_length(st), (running > 0) + (stopped > 0));
        if (running > 0) {
                ASSERT_TRUE(json_object_object_get_ex(st, "RUNNING", &v));
                ASSERT_EQ(json_object_get_int(v), running);
        }
        if (stopped > 0) {
                ASSERT_TRUE(json_object_object_get_ex(st, "STOPPED", &v));
                ASSERT_EQ(json_object_get_int(v), stopped);
        }
}

/* The page's lean first load: effective configuration left out (the client has the chain of
 * defaults), the tree's counts by state per subtree, instances per compartment. */
TEST(describe_options) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        json_object *v;

        m = call(MGR, "Describe", NULL);
        _cleanup_json_ json_object *full = describe_json(m);
        ASSERT_TRUE(json_object_object_get_ex(element(full, "instances", I_DEV1), "effective_config", &v));
        ASSERT_TRUE(json_object_object_get_ex(element(full, "compartments", C_DEV), "effective_defaults", &v));
        ASSERT_TRUE(!json_object_object_get_ex(element(full, "compartments", C_DEV), "subtree_states", &v));
        sd_bus_message_unref(m);

        m = call(MGR, "DescribeWith", "a{sv}", 2, "effective", "b", 0, "subtree_states", "b", 1);
        _cleanup_json_ json_object *lean = describe_json(m);
        ASSERT_TRUE(json_object_object_get_ex(lean, "instances", &v));
        ASSERT_EQ(json_object_array_length(v), 5);
        ASSERT_TRUE(!json_object_object_get_ex(element(lean, "instances", I_DEV1), "effective_config", &v));
        ASSERT_TRUE(json_object_object_get_ex(element(lean, "instances", I_DUP1), "config", &v));
        ASSERT_STREQ(json_object_get_string(json_object_object_get(v, "note")), "keep");
        ASSERT_TRUE(!json_object_object_get_ex(element(lean, "compartments", C_DEV), "effective_defaults", &v));
        assert_states(lean, T, 3, 2);
        assert_states(lean, C_DEV, 1, 1);
        assert_states(lean, C_WEB, 0, 1);
        assert_states(lean, C_PROD, 1, 1);
        sd_bus_message_unref(m);

        /* the default document is cached: the options above did not change it */
        m = call(MGR, "DescribeWith", "a{sv}", 1, "instances", "b", 1);
        _cleanup_json_ json_object *again = describe_json(m);
        ASSERT_TRUE(json_object_object_get_ex(element(again, "instances", I_DEV1), "effective_config", &v));
        sd_bus_message_unref(m);

        m = call(MGR, "DescribeInstances", "a{sv}", 3, "compartment", "s", "acme/dev", "recursive", "b", 1,
                 "effective", "b", 0);
        _cleanup_json_ json_object *dev = describe_json(m);
        ASSERT_TRUE(json_object_object_get_ex(dev, "instances", &v));
        ASSERT_EQ(json_object_array_length(v), 2);
        ASSERT_NOT_NULL(element(dev, "instances", I_WEB1));
        ASSERT_TRUE(!json_object_object_get_ex(element(dev, "instances", I_DEV1), "effective_config", &v));
        sd_bus_message_unref(m);
        m = call(MGR, "DescribeInstances", "a{sv}", 1, "compartment", "s", "acme/dev");
        _cleanup_json_ json_object *devdef = describe_json(m);
        ASSERT_TRUE(json_object_object_get_ex(element(devdef, "instances", I_DEV1), "effective_config", &v));
        sd_bus_message_unref(m);

        /* ListInstances has no such option; a wrong type is refused */
        m = call(MGR, "ListInstances", "a{sv}", 1, "effective", "b", 0);
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_message_unref(m);
        m = call(MGR, "DescribeWith", "a{sv}", 1, "subtree_states", "s", "yes");
        ASSERT_REPLY_ERROR(m, SD_BUS_ERROR_INVALID_ARGS);
}

TEST(override_expiry) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *own = NULL, *eff = NULL;
        uint64_t until;

        set_note(p_root, "described");   /* stays when the override goes */
        until = manager_now() + 1500 * 1000;
        m = call(p_root, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 2, "override_state", "s", "stopped",
                 "override_until", "t", until);
        ASSERT_REPLY_OK(m);
        settle();
        eff = get_config(p_root, SS_BUS_IFACE_INSTANCE, "EffectiveConfig");
        ASSERT_TRUE(strstr(eff, "override_state=stopped") != NULL);

        signals_reset();
        Instance *i = manager_get_instance(manager, I_ROOT);
        ASSERT_NOT_NULL(i);
        RUN_UNTIL_TIMEOUT(!instance_config_is_set(&i->config, CONFIG_OVERRIDE_STATE), 15);
        settle();
        /* Effective values change at the expiry, the stored override goes right after: one or
         * two signals, depending on whether the write beat the idle pass. */
        ASSERT_EQ(signals_count_containing("PropertiesChanged", p_root, "EffectiveConfig"), 1);
        ASSERT_EQ(signals_count_containing("PropertiesChanged", p_root, ":Config") +
                          signals_count_containing("PropertiesChanged", p_root, ",Config"),
                  1);
        own = get_config(p_root, SS_BUS_IFACE_INSTANCE, "Config");
        ASSERT_STREQ(own, "note=described");
        free(eff);
        eff = get_config(p_root, SS_BUS_IFACE_INSTANCE, "EffectiveConfig");
        ASSERT_TRUE(strstr(eff, "override_state=,override_until=0") != NULL);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log WHERE operation = 'override-expired' AND "
                           "object_id = '" I_ROOT "' AND actor = 'stopstartd'"),
                  1);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.instance_config WHERE instance_id = '" I_ROOT "' AND "
                           "override_state IS NULL AND override_until IS NULL"),
                  1);
}

TEST(actions_without_oci) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *jp = NULL, *res = NULL, *err = NULL;
        const char *job;
        char buf[32];
        uint32_t id;

        set_default_stop_mode(p_c_dev, "hard");
        settle();
        signals_reset();
        m = call(p_web1, SS_BUS_IFACE_INSTANCE, "Stop", "s", "");
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "o", &job));
        jp = strdup(job);
        id = (uint32_t) atoi(jp + strlen(SS_BUS_PATH_JOB "/"));
        snprintf(buf, sizeof buf, "%u failed", id);
        RUN_UNTIL(signals_count("JobRemoved", SS_BUS_PATH, buf) == 1);
        settle();  /* the job's row is updated behind the signal */
        res = get_string(jp, SS_BUS_IFACE_JOB, "Result");
        ASSERT_STREQ(res, "failed");
        err = get_string(jp, SS_BUS_IFACE_JOB, "Error");
        ASSERT_TRUE(strstr(err, "OCI") != NULL);
        /* The mode was the effective stop_mode (hard, from the compartment dev). */
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.jobs WHERE id = %u AND kind = 'stop' AND mode = 'hard' "
                           "AND result = 'failed'", id),
                  1);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log WHERE operation = 'stop' AND "
                           "object_id = '" I_WEB1 "'"),
                  1);
}

TEST(database_loss) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *state = NULL, *status = NULL, *own = NULL;

        set_note(p_web1, "allowed");
        settle();
        signals_reset();
        pg_control("stop");
        RUN_UNTIL(manager->state == MANAGER_DEGRADED);
        settle();
        ASSERT_TRUE(signals_count("PropertiesChanged", SS_BUS_PATH, "Manager:State,StatusText") >= 1);
        state = get_string(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "State");
        ASSERT_STREQ(state, "degraded");
        status = get_string(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "StatusText");
        ASSERT_TRUE(strstr(status, "Database unavailable") == status);

        /* Reads are served from memory. */
        ASSERT_EQ(list_instances("a{sv}", 0), 5);
        own = get_config(p_web1, SS_BUS_IFACE_INSTANCE, "Config");
        ASSERT_STREQ(own, "note=allowed");

        /* Writes are refused, clearly, and nothing changes. */
        m = call(p_web1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "note", "s", "while down");
        ASSERT_REPLY_ERROR(m, SS_ERROR_DATABASE_UNAVAILABLE);
        ASSERT_EQ(sd_bus_error_get_errno(sd_bus_message_get_error(m)), ENOTCONN);
        sd_bus_message_unref(m);
        m = call(MGR, "Refresh", NULL);
        ASSERT_REPLY_ERROR(m, SS_ERROR_DATABASE_UNAVAILABLE);
        sd_bus_message_unref(m);
        m = call(p_web1, SS_BUS_IFACE_INSTANCE, "Start", NULL);
        ASSERT_REPLY_ERROR(m, SS_ERROR_DATABASE_UNAVAILABLE);
        sd_bus_message_unref(m);
        m = call(MGR, "History", "a{sv}", 0);
        ASSERT_REPLY_ERROR(m, SS_ERROR_DATABASE_UNAVAILABLE);
        sd_bus_message_unref(m);
        free(own);
        own = get_config(p_web1, SS_BUS_IFACE_INSTANCE, "Config");
        ASSERT_STREQ(own, "note=allowed");

        /* Back: running again, and writes work. */
        signals_reset();
        pg_control("resume");
        RUN_UNTIL_TIMEOUT(manager->state == MANAGER_RUNNING, 60);
        pg_reconnect();
        settle();
        free(state);
        state = get_string(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "State");
        ASSERT_STREQ(state, "running");
        m = call(p_web1, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "note", "s", "after");
        ASSERT_REPLY_OK(m);
        sd_bus_message_unref(m);
        m = NULL;
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.instance_config WHERE instance_id = '" I_WEB1 "' AND "
                           "note = 'after'"),
                  1);
}

TEST(reload) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char path[] = "/tmp/stopstart-reload-XXXXXX";
        int fd = mkstemp(path);
        FILE *f;

        ASSERT_TRUE(fd >= 0);
        free(manager->config_path);
        manager->config_path = strdup(path);
        ASSERT_NOT_NULL(manager->config_path);

        f = fdopen(fd, "w");
        ASSERT_NOT_NULL(f);
        fprintf(f, "database: \"%s\"\ndiscovery:\n  interval: 7min\n", getenv("DATABASE_URL"));
        ASSERT_EQ(fclose(f), 0);
        m = call(MGR, "Reload", NULL);
        ASSERT_REPLY_OK(m);
        ASSERT_EQ(manager->config->discovery.interval, 7 * 60 * 1000000ULL);
        sd_bus_message_unref(m);
        settle();
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log WHERE operation = 'reload' AND actor_uid = %u "
                           "AND new_value->>'file' = '%s'", (unsigned) getuid(), path),
                  1);

        /* A bad file is reported, with its line, and the running configuration stays. */
        f = fopen(path, "we");
        ASSERT_NOT_NULL(f);
        fprintf(f, "database: \"%s\"\ndiscovery:\n  intervall: 9min\n", getenv("DATABASE_URL"));
        ASSERT_EQ(fclose(f), 0);
        m = call(MGR, "Reload", NULL);
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        ASSERT_TRUE(strstr(sd_bus_message_get_error(m)->message, path) != NULL);
        ASSERT_TRUE(strstr(sd_bus_message_get_error(m)->message, "intervall") != NULL);
        ASSERT_EQ(manager->config->discovery.interval, 7 * 60 * 1000000ULL);
        sd_bus_message_unref(m);

        ASSERT_EQ(unlink(path), 0);
        m = call(MGR, "Reload", NULL);
        ASSERT_REPLY_ERROR(m, SS_ERROR_INVALID_CONFIG);
        ASSERT_EQ(manager->config->discovery.interval, 7 * 60 * 1000000ULL);
        /* Still serving. */
        ASSERT_EQ(get_u32(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "NInstances"), 5);
}

typedef struct Test {
        const char *name;
        void (*run)(void);
} Test;

#define T_(n) { #n, test_##n }
static const Test tests[] = {
        T_(manager_properties),
        T_(compartment_properties),
        T_(instance_properties),
        T_(lookups_and_errors),
        T_(huge_strings),
        T_(list_instances_filters),
        T_(enumerators_and_object_manager),
        T_(set_config_signals_and_audit),
        T_(defaults_inheritance_and_explain),
        T_(polkit),
        T_(refresh_and_object_manager_signals),
        T_(describe_and_history),
        T_(describe_options),
        T_(override_expiry),
        T_(actions_without_oci),
        T_(database_loss),
        T_(reload),
};

/* test-bus-manager [--reverse] [TEST...]: each test starts from the fixture with a new Manager
 * (harness_reset), so any order and any subset must pass; meson runs them forward and backward. */
int main(int argc, char *argv[]) {
        bool reverse = argc > 1 && streq(argv[1], "--reverse");
        char **only = argv + 1 + reverse;
        size_t n = ELEMENTSOF(tests), ran = 0;

        harness_start(fixture);

        p_dev1 = instance_path(I_DEV1);
        p_web1 = instance_path(I_WEB1);
        p_dup1 = instance_path(I_DUP1);
        p_root = instance_path(I_ROOT);
        p_c_dev = compartment_path(C_DEV);
        p_c_web = compartment_path(C_WEB);
        p_c_prod = compartment_path(C_PROD);
        p_c_root = compartment_path(T);

        for (size_t k = 0; k < n; k++) {
                const Test *t = &tests[reverse ? n - 1 - k : k];

                if (*only && !strv_contains(only, t->name))
                        continue;
                if (ran++ > 0)
                        harness_reset();
                t->run();
                printf("ok - %s\n", t->name);
        }
        if (ran == 0)
                TEST_FAIL("no test named %s", *only);

        free(p_dev1);
        free(p_web1);
        free(p_dup1);
        free(p_root);
        free(p_c_dev);
        free(p_c_web);
        free(p_c_prod);
        free(p_c_root);
        harness_stop();
        return 0;
}

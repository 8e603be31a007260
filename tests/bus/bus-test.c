/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "bus-emit.h"
#include "bus-errors.h"
#include "bus-names.h"
#include "bus-test.h"
#include "log.h"
#include "migrate.h"
#include "migration.h"
#include "pq-util.h"
#include "strv.h"

sd_event *event;
Manager *manager;
sd_bus *server, *client;
static PGconn *pg;

PolkitMode pk_mode = PK_ALLOW;
unsigned pk_calls;
char *pk_last_action, *pk_last_details, *pk_last_subject;

static SeenSignal seen[8192];
static size_t n_seen;

void run_until_or_fail(const char *what, const char *file, int line, bool (*cond)(void), unsigned seconds) {
        uint64_t deadline = manager_now() + seconds * 1000000ULL;

        while (!cond()) {
                if (manager_now() > deadline) {
                        fprintf(stderr, "%s:%d: timeout waiting for %s\n", file, line, what);
                        exit(EXIT_FAILURE);
                }
                int r = sd_event_run(event, 10 * 1000);
                if (r < 0) {
                        fprintf(stderr, "%s:%d: sd_event_run: %s\n", file, line, strerror(-r));
                        exit(EXIT_FAILURE);
                }
        }
}

void settle(void) {
        for (unsigned quiet = 0, i = 0; quiet < 3; i++) {
                int r = sd_event_run(event, 20 * 1000);
                ASSERT_OK(r);
                quiet = r == 0 ? quiet + 1 : 0;
                if (i > 20000)
                        TEST_FAIL("the loop never settles");
        }
}

/* ---- database ---- */

static char *vformat(const char *fmt, va_list ap) {
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                TEST_FAIL("out of memory");
        return s;
}

void pg_exec(const char *fmt, ...) {
        _cleanup_free_ char *sql = NULL;
        _cleanup_pqclear_ PGresult *r = NULL;
        va_list ap;

        va_start(ap, fmt);
        sql = vformat(fmt, ap);
        va_end(ap);
        r = PQexec(pg, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
                TEST_FAIL("SQL failed: %s\n%s", PQerrorMessage(pg), sql);
}

static char *pg_value_v(const char *fmt, va_list ap) {
        _cleanup_free_ char *sql = vformat(fmt, ap);
        _cleanup_pqclear_ PGresult *r = PQexec(pg, sql);
        char *v;

        if (PQresultStatus(r) != PGRES_TUPLES_OK)
                TEST_FAIL("SQL failed: %s\n%s", PQerrorMessage(pg), sql);
        v = strdup(PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
        ASSERT_NOT_NULL(v);
        return v;
}

char *pg_value(const char *fmt, ...) {
        va_list ap;
        char *v;

        va_start(ap, fmt);
        v = pg_value_v(fmt, ap);
        va_end(ap);
        return v;
}

long long pg_count(const char *fmt, ...) {
        _cleanup_free_ char *v = NULL;
        va_list ap;

        va_start(ap, fmt);
        v = pg_value_v(fmt, ap);
        va_end(ap);
        return atoll(v);
}

void pg_control(const char *verb) {
        _cleanup_free_ char *cmd = strprintf("/usr/bin/python3 %s %s %s >/dev/null", getenv("PGCLUSTER"), verb,
                                             getenv("PGCLUSTER_DIR"));
        ASSERT_NOT_NULL(cmd);
        ASSERT_EQ(system(cmd), 0);
}

void pg_reconnect(void) {
        PQreset(pg);
        if (PQstatus(pg) != CONNECTION_OK)
                TEST_FAIL("reconnect: %s", PQerrorMessage(pg));
}

/* Schema head the way an operator gets there: the migration runner with the built-in set. */
static void apply_schema(void) {
        _cleanup_(migration_set_freep) MigrationSet *set = NULL;
        _cleanup_(migrator_freep) Migrator *mg = NULL;
        _cleanup_free_ char *err = NULL;

        if (migration_set_load_embedded(&set, &err) < 0)
                TEST_FAIL("migrations: %s", strna(err));
        ASSERT_OK(migrator_new(pg, set, &mg));
        migrator_set_lock_timeout(mg, 30 * 1000000ULL);
        ASSERT_OK(migrator_lock(mg));
        if (migrator_upgrade(mg, "head") < 0)
                TEST_FAIL("upgrade: %s", migrator_error(mg));
}

/* ---- bus ---- */

typedef struct Reply {
        bool done;
        sd_bus_message *m;
} Reply;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Reply *r = userdata;
        r->m = sd_bus_message_ref(m);
        r->done = true;
        return 0;
}

static Reply *current_reply;
static bool reply_done(void) {
        return current_reply->done;
}

sd_bus_message *call_prepared(sd_bus_message *request) {
        Reply r = {};

        ASSERT_OK(sd_bus_call_async(client, NULL, request, on_reply, &r, 60 * 1000000ULL));
        current_reply = &r;
        run_until_or_fail(sd_bus_message_get_member(request), __FILE__, __LINE__, reply_done, 60);
        return r.m;
}

sd_bus_message *call(const char *path, const char *iface, const char *member, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;

        ASSERT_OK(sd_bus_message_new_method_call(client, &m, NULL, path, iface, member));
        if (types) {
                va_start(ap, types);
                ASSERT_OK(sd_bus_message_appendv(m, types, ap));
                va_end(ap);
        }
        return call_prepared(m);
}

static sd_bus_message *get_property(const char *path, const char *iface, const char *prop, const char *type) {
        sd_bus_message *m = call(path, "org.freedesktop.DBus.Properties", "Get", "ss", iface, prop);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_enter_container(m, 'v', type));
        return m;
}

char *get_string(const char *path, const char *iface, const char *prop) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *s;
        char type;

        m = call(path, "org.freedesktop.DBus.Properties", "Get", "ss", iface, prop);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_peek_type(m, &type, NULL));
        {
                const char *contents;
                ASSERT_OK(sd_bus_message_peek_type(m, NULL, &contents));
                ASSERT_OK(sd_bus_message_enter_container(m, 'v', contents));
                ASSERT_OK(sd_bus_message_read_basic(m, contents[0], &s));
        }
        return strdup(s);
}

uint32_t get_u32(const char *path, const char *iface, const char *prop) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = get_property(path, iface, prop, "u");
        uint32_t u;
        ASSERT_OK(sd_bus_message_read(m, "u", &u));
        return u;
}

uint64_t get_u64(const char *path, const char *iface, const char *prop) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = get_property(path, iface, prop, "t");
        uint64_t t;
        ASSERT_OK(sd_bus_message_read(m, "t", &t));
        return t;
}

char *get_config(const char *path, const char *iface, const char *prop) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = get_property(path, iface, prop, "a{sv}");
        _cleanup_strv_free_ char **l = NULL;
        const char *key, *contents;
        int r;

        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "{sv}"));
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                char *item = NULL;
                ASSERT_OK(sd_bus_message_read(m, "s", &key));
                ASSERT_OK(sd_bus_message_peek_type(m, NULL, &contents));
                ASSERT_OK(sd_bus_message_enter_container(m, 'v', contents));
                switch (contents[0]) {
                case 'b': {
                        int b;
                        ASSERT_OK(sd_bus_message_read(m, "b", &b));
                        item = strprintf("%s=%s", key, b ? "true" : "false");
                        break;
                }
                case 's': {
                        const char *s;
                        ASSERT_OK(sd_bus_message_read(m, "s", &s));
                        item = strprintf("%s=%s", key, s);
                        break;
                }
                case 't': {
                        uint64_t t;
                        ASSERT_OK(sd_bus_message_read(m, "t", &t));
                        item = strprintf("%s=%llu", key, (unsigned long long) t);
                        break;
                }
                case 'i': {
                        int32_t i;
                        ASSERT_OK(sd_bus_message_read(m, "i", &i));
                        item = strprintf("%s=%d", key, i);
                        break;
                }
                default:
                        TEST_FAIL("unexpected type %s", contents);
                }
                ASSERT_OK(strv_consume(&l, item));
                ASSERT_OK(sd_bus_message_exit_container(m));
                ASSERT_OK(sd_bus_message_exit_container(m));
        }
        ASSERT_OK(r);
        return strv_join(l, ",") ?: strdup("");
}

/* ---- signals ---- */

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *member = sd_bus_message_get_member(m);
        _cleanup_free_ char *arg = NULL;
        SeenSignal *s;

        if (n_seen >= ELEMENTSOF(seen))
                TEST_FAIL("too many signals");

        if (streq(member, "PropertiesChanged")) {
                _cleanup_strv_free_ char **names = NULL;
                const char *iface, *name;
                int r;

                ASSERT_OK(sd_bus_message_read(m, "s", &iface));
                ASSERT_OK(sd_bus_message_enter_container(m, 'a', "{sv}"));
                while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                        ASSERT_OK(sd_bus_message_read(m, "s", &name));
                        ASSERT_OK(strv_extend(&names, name));
                        ASSERT_OK(sd_bus_message_skip(m, "v"));
                        ASSERT_OK(sd_bus_message_exit_container(m));
                }
                ASSERT_OK(r);
                ASSERT_OK(sd_bus_message_exit_container(m));
                ASSERT_OK(sd_bus_message_enter_container(m, 'a', "s"));
                while ((r = sd_bus_message_read(m, "s", &name)) > 0)
                        ASSERT_OK(strv_extend(&names, name));
                ASSERT_OK(r);
                _cleanup_free_ char *joined = strv_join(names, ",");
                arg = strprintf("%s:%s", strrchr(iface, '.') + 1, strempty(joined));
        } else if (streq(member, "InterfacesAdded") || streq(member, "InterfacesRemoved")) {
                const char *path;
                ASSERT_OK(sd_bus_message_read(m, "o", &path));
                arg = strdup(path);
        } else if (streq(member, "JobNew")) {
                uint32_t id;
                const char *path;
                ASSERT_OK(sd_bus_message_read(m, "uo", &id, &path));
                arg = strprintf("%u", id);
        } else if (streq(member, "JobRemoved")) {
                uint32_t id;
                const char *path, *result;
                ASSERT_OK(sd_bus_message_read(m, "uos", &id, &path, &result));
                arg = strprintf("%u %s", id, result);
        } else
                arg = strdup("");

        s = &seen[n_seen++];
        s->member = strdup(member);
        s->path = strdup(sd_bus_message_get_path(m));
        s->arg = TAKE_PTR(arg);
        return 0;
}

void signals_reset(void) {
        for (size_t i = 0; i < n_seen; i++) {
                free(seen[i].member);
                free(seen[i].path);
                free(seen[i].arg);
        }
        n_seen = 0;
}

size_t signals_count(const char *member, const char *path, const char *arg) {
        size_t n = 0;
        for (size_t i = 0; i < n_seen; i++)
                if ((!member || streq(seen[i].member, member)) && (!path || streq(seen[i].path, path)) &&
                    (!arg || streq(seen[i].arg, arg)))
                        n++;
        return n;
}

size_t signals_count_containing(const char *member, const char *path, const char *arg_part) {
        size_t n = 0;
        for (size_t i = 0; i < n_seen; i++)
                if ((!member || streq(seen[i].member, member)) && (!path || streq(seen[i].path, path)) &&
                    strstr(seen[i].arg, arg_part))
                        n++;
        return n;
}

void signals_dump(void) {
        for (size_t i = 0; i < n_seen; i++)
                fprintf(stderr, "  signal %s %s %s\n", seen[i].member, seen[i].path, seen[i].arg);
}

/* ---- the fake polkit ---- */

static int pk_check(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **details = NULL;
        const char *kind, *action, *k, *v;
        int r;

        pk_calls++;
        ASSERT_OK(sd_bus_message_enter_container(m, 'r', "sa{sv}"));
        ASSERT_OK(sd_bus_message_read(m, "s", &kind));
        free(pk_last_subject);
        pk_last_subject = strdup(kind);
        ASSERT_OK(sd_bus_message_skip(m, "a{sv}"));
        ASSERT_OK(sd_bus_message_exit_container(m));
        ASSERT_OK(sd_bus_message_read(m, "s", &action));
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "{ss}"));
        while ((r = sd_bus_message_read(m, "{ss}", &k, &v)) > 0) {
                ASSERT_OK(strv_extend(&details, k));
                ASSERT_OK(strv_extend(&details, v));
        }
        ASSERT_OK(r);
        free(pk_last_action);
        pk_last_action = strdup(action);
        free(pk_last_details);
        pk_last_details = strv_join(details, "=") ?: strdup("");

        switch (pk_mode) {
        case PK_ALLOW:
                return sd_bus_reply_method_return(m, "(bba{ss})", 1, 0, 0);
        case PK_DENY:
                return sd_bus_reply_method_return(m, "(bba{ss})", 0, 0, 0);
        case PK_CHALLENGE:
                return sd_bus_reply_method_return(m, "(bba{ss})", 0, 1, 0);
        default:
                return sd_bus_error_set(error, SD_BUS_ERROR_SERVICE_UNKNOWN, "The name is not activatable");
        }
}

static const sd_bus_vtable pk_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", pk_check, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

/* ---- set-up ---- */

static bool manager_loaded;
static int load_error;
static void on_loaded(Manager *m, int error, void *userdata) {
        manager_loaded = true;
        load_error = error;
}

static bool is_loaded(void) {
        return manager_loaded;
}

static bool db_connected(void) {
        return db_get_state(manager->db) == DB_CONNECTED;
}

void (*harness_configure)(Config *c) = NULL;
uint64_t harness_job_linger_usec = 500 * 1000;

void manager_start(void) {
        sd_id128_t id;
        int fds[2];

        manager_loaded = false;
        ASSERT_OK(manager_new(event, &manager));
        free(manager->config->database);
        manager->config->database = strdup("");  /* libpq takes PG* from the environment */
        ASSERT_NOT_NULL(manager->config->database);
        if (harness_configure) {
                _cleanup_free_ char *err = NULL;
                harness_configure(manager->config);
                if (manager_setup_oci(manager, &err) < 0)
                        TEST_FAIL("OCI client: %s", strna(err));
        }
        manager->job_linger_usec = harness_job_linger_usec;
        ASSERT_OK(manager_connect_db(manager));
        run_until_or_fail("database connected", __FILE__, __LINE__, db_connected, 30);
        ASSERT_OK(manager_load(manager, on_loaded, NULL));
        run_until_or_fail("manager loaded", __FILE__, __LINE__, is_loaded, 60);
        ASSERT_OK(load_error);

        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds));
        ASSERT_OK(sd_id128_randomize(&id));
        ASSERT_OK(sd_bus_new(&server));
        ASSERT_OK(sd_bus_set_fd(server, fds[0], fds[0]));
        ASSERT_OK(sd_bus_set_server(server, 1, id));
        ASSERT_OK(sd_bus_start(server));
        ASSERT_OK(sd_bus_attach_event(server, event, 0));

        ASSERT_OK(sd_bus_new(&client));
        ASSERT_OK(sd_bus_set_fd(client, fds[1], fds[1]));
        ASSERT_OK(sd_bus_start(client));
        ASSERT_OK(sd_bus_attach_event(client, event, 0));
        ASSERT_OK(sd_bus_add_match(client, NULL, "type='signal'", on_signal, NULL));
        ASSERT_OK(sd_bus_add_object_vtable(client, NULL, "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", pk_vtable, NULL));

        ASSERT_OK(manager_attach_bus(manager, server));
        manager_set_state(manager, MANAGER_RUNNING);
        settle();
        signals_reset();
        /* After the reset: a resumed job may finish while the loop settles, and its JobRemoved
         * must stay seen. */
        ASSERT_OK(manager_resume_jobs(manager));
        settle();
}

void manager_stop(void) {
        manager = manager_free(manager);
        server = sd_bus_unref(server);
        client = sd_bus_flush_close_unref(client);
        signals_reset();
}

static const char *harness_fixture;

/* Every table of the application schema emptied (the migration bookkeeping in stopstart_meta
 * stays), then the fixture again. The audit log refuses TRUNCATE by trigger: triggers are off
 * for this (superuser) session while it empties the tables. */
static void restore_database(void) {
        _cleanup_free_ char *tables = pg_value(
                "SELECT string_agg(format('%%I.%%I', schemaname, tablename), ', ') FROM pg_tables "
                "WHERE schemaname = 'stopstart'");
        if (!isempty(tables))
                pg_exec("SET session_replication_role = replica; TRUNCATE %s RESTART IDENTITY CASCADE; "
                        "RESET session_replication_role", tables);
        if (harness_fixture)
                pg_exec("%s", harness_fixture);
}

void harness_reset(void) {
        manager_stop();
        restore_database();
        pk_mode = PK_ALLOW;
        pk_calls = 0;
        pk_last_action = mfree(pk_last_action);
        pk_last_details = mfree(pk_last_details);
        pk_last_subject = mfree(pk_last_subject);
        manager_start();
}

void harness_start(const char *fixture_sql) {
        if (!getenv("PGCLUSTER_DIR")) {
                fprintf(stderr, "run me through tests/lib/pgcluster.py run\n");
                exit(77);
        }
        log_parse_environment();
        ASSERT_OK(ss_bus_errors_register());

        pg = PQconnectdb("");
        if (PQstatus(pg) != CONNECTION_OK)
                TEST_FAIL("connect: %s", PQerrorMessage(pg));
        PQsetNoticeProcessor(pg, NULL, NULL);
        pg_exec("SET client_min_messages = warning");
        apply_schema();
        harness_fixture = fixture_sql;
        if (fixture_sql)
                pg_exec("%s", fixture_sql);

        ASSERT_OK(sd_event_new(&event));
        manager_start();
}

void harness_stop(void) {
        manager_stop();
        event = sd_event_unref(event);
        PQfinish(pg);
        pg = NULL;
        free(pk_last_action);
        free(pk_last_details);
        free(pk_last_subject);
}

char *instance_path(const char *id) {
        char *p = NULL;
        ASSERT_OK(sd_bus_path_encode(SS_BUS_PATH_INSTANCE, id, &p));
        return p;
}

char *compartment_path(const char *id) {
        char *p = NULL;
        ASSERT_OK(sd_bus_path_encode(SS_BUS_PATH_COMPARTMENT, id, &p));
        return p;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Harness of the `bus` suite: the real Manager against a throwaway PostgreSQL cluster at schema
 * head (run through tests/lib/pgcluster.py run), its objects on one end of a socketpair (sd-bus
 * server, no broker) and a client on the other end, both on one sd-event loop in one thread.
 * The client also plays polkit's Authority (a direct connection has no bus names, so the
 * daemon's CheckAuthorization reaches the peer). */

#include <libpq-fe.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "manager.h"
#include "../unit/tests.h"

extern sd_event *event;
extern Manager *manager;
extern sd_bus *server, *client;

#define RUN_UNTIL_TIMEOUT(cond, seconds)                                                        \
        do {                                                                                    \
                uint64_t _deadline_ = manager_now() + (uint64_t) (seconds) * 1000000ULL;        \
                while (!(cond)) {                                                               \
                        if (manager_now() > _deadline_)                                         \
                                TEST_FAIL("timeout waiting for %s", #cond);                     \
                        ASSERT_OK(sd_event_run(event, 10 * 1000));                              \
                }                                                                               \
        } while (0)
#define RUN_UNTIL(cond) RUN_UNTIL_TIMEOUT(cond, 30)
void run_until_or_fail(const char *what, const char *file, int line, bool (*cond)(void), unsigned seconds);

/* Runs the loop until nothing has happened for a while (idle sources, signals, replies). */
void settle(void);

/* Database (a blocking connection of the test's own). */
void pg_exec(const char *fmt, ...) _printf_(1, 2);
/* First column of the first row, allocated ("" for no rows). */
char *pg_value(const char *fmt, ...) _printf_(1, 2);
long long pg_count(const char *fmt, ...) _printf_(1, 2);
/* pgcluster.py stop|resume of the test's cluster. */
void pg_control(const char *verb);
void pg_reconnect(void);

/* Starts everything: schema, fixture SQL (may be NULL), manager loaded, buses up. */
void harness_start(const char *fixture_sql);
void harness_stop(void);
/* Back to the state harness_start() left: a new Manager on new buses over the database emptied
 * and filled with the fixture again, polkit answering yes, no signals seen. Each test of a
 * suite starts with it, so none depends on what another left behind. */
void harness_reset(void);
/* Called on each new Manager's Config before it connects; when set, an OCI client is created. */
extern void (*harness_configure)(Config *c);
/* How long finished jobs stay on the bus (default 0.5 s). */
extern uint64_t harness_job_linger_usec;
/* A new Manager on new buses (as after a daemon restart), and its end. */
void manager_start(void);
void manager_stop(void);

/* Calls a method; the reply (possibly an error) is returned. */
sd_bus_message *call_prepared(sd_bus_message *request);
sd_bus_message *call(const char *path, const char *iface, const char *member, const char *types, ...);
#define ASSERT_REPLY_OK(m)                                                                      \
        do {                                                                                    \
                sd_bus_message *_m_ = (m);                                                      \
                if (sd_bus_message_is_method_error(_m_, NULL))                                  \
                        TEST_FAIL("call failed: %s: %s", sd_bus_message_get_error(_m_)->name,   \
                                  sd_bus_message_get_error(_m_)->message);                      \
        } while (0)
#define ASSERT_REPLY_ERROR(m, ename)                                                            \
        do {                                                                                    \
                sd_bus_message *_m_ = (m);                                                      \
                if (!sd_bus_message_is_method_error(_m_, (ename)))                              \
                        TEST_FAIL("expected %s, got %s", (ename),                               \
                                  sd_bus_message_is_method_error(_m_, NULL)                     \
                                          ? sd_bus_message_get_error(_m_)->name : "success");   \
        } while (0)

/* Property values (allocated strings for "s"/"o"). */
char *get_string(const char *path, const char *iface, const char *prop);
uint32_t get_u32(const char *path, const char *iface, const char *prop);
uint64_t get_u64(const char *path, const char *iface, const char *prop);
/* An a{sv} config property as JSON-ish text "key=value,key=value" in key order. */
char *get_config(const char *path, const char *iface, const char *prop);

/* Signals seen by the client. */
typedef struct SeenSignal {
        char *member;
        char *path;
        char *arg;      /* PropertiesChanged: "Iface:Name,Name"; Interfaces*: the object; Job*: "id result" */
} SeenSignal;
void signals_reset(void);
size_t signals_count(const char *member, const char *path, const char *arg);
/* Same, with arg matched as a substring. */
size_t signals_count_containing(const char *member, const char *path, const char *arg_part);
void signals_dump(void);

/* The fake polkit. */
typedef enum PolkitMode {
        PK_ALLOW,
        PK_DENY,
        PK_CHALLENGE,
        PK_ABSENT,      /* answers ServiceUnknown, as a bus without polkit would */
} PolkitMode;
extern PolkitMode pk_mode;
extern unsigned pk_calls;
extern char *pk_last_action, *pk_last_details, *pk_last_subject;

char *instance_path(const char *id);
char *compartment_path(const char *id);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>

#include "bus-emit.h"
#include "bus-names.h"
#include "discover-once.h"
#include "leader.h"
#include "log.h"
#include "manager-dbus.h"
#include "manager.h"
#include "scheduler.h"
#include "schema-check.h"
#include "strv.h"

/* How long start-up waits for the database before giving up (the unit restarts us). */
#define STARTUP_DB_TIMEOUT_USEC (30ULL * 1000000ULL)

static const char *arg_config = DEFAULT_CONFIG_FILE;
static const char *arg_bus_introspect = NULL;
static bool arg_discover_once = false;

static int help(void) {
        printf("%s [OPTIONS...]\n\n"
               "The stopstart daemon: keeps an OCI tenancy's instances on schedules and publishes\n"
               "them on the system bus as " SS_BUS_NAME ".\n\n"
               "  -h --help                    Show this help\n"
               "     --version                 Show the version\n"
               "     --config=PATH             Configuration file (default: %s)\n"
               "     --bus-introspect=INTERFACE\n"
               "                               Print the introspection XML of INTERFACE and exit\n"
               "                               (\"list\" lists the interfaces)\n"
               "     --discover-once           Discover the tenancy once into the database, print\n"
               "                               {\"compartments\",\"instances\",\"requests\",\"elapsed_ms\"}\n"
               "                               as one JSON line and exit\n",
               program_invocation_short_name, DEFAULT_CONFIG_FILE);
        return 0;
}

/* Returns 1 to continue, 0 to exit successfully, a positive exit code to fail. */
static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_CONFIG,
                ARG_BUS_INTROSPECT,
                ARG_DISCOVER_ONCE,
        };
        static const struct option options[] = {
                { "help",           no_argument,       NULL, 'h'                },
                { "version",        no_argument,       NULL, ARG_VERSION        },
                { "config",         required_argument, NULL, ARG_CONFIG         },
                { "bus-introspect", required_argument, NULL, ARG_BUS_INTROSPECT },
                { "discover-once",  no_argument,       NULL, ARG_DISCOVER_ONCE  },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case ARG_VERSION:
                        printf("stopstartd %s\n", PROJECT_VERSION);
                        return 0;
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_BUS_INTROSPECT:
                        arg_bus_introspect = optarg;
                        break;
                case ARG_DISCOVER_ONCE:
                        arg_discover_once = true;
                        break;
                case '?':
                        return EXIT_USAGE;
                default:
                        assert(false);
                }

        if (optind < argc) {
                log_error("%s takes no positional arguments.", program_invocation_short_name);
                return EXIT_USAGE;
        }
        return 1;
}

static int bus_introspect(const char *interface) {
        int r;

        if (streq(interface, "list")) {
                bus_list_interfaces(stdout, &manager_object);
                return 0;
        }
        r = bus_introspect_interface(stdout, &manager_object, interface);
        if (r == -ENOENT) {
                log_error("Unknown interface '%s'; --bus-introspect=list shows them.", interface);
                return EXIT_USAGE;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write the introspection data: %m");
        return fflush(stdout) == 0 ? 0 : log_error_errno(errno, "Failed to write to stdout: %m");
}

/* Start-up failures: one clear line in the log and on STATUS=, and a distinct exit code. */
static int startup_failed(int exit_code, const char *fmt, ...) _printf_(2, 3);
static int startup_failed(int exit_code, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        log_error("%s", strna(s));
        (void) sd_notifyf(false, "STATUS=%s\nERRNO=%d", strna(s), exit_code == EXIT_CONFIG ? EINVAL : EIO);
        return exit_code;
}

static void on_db_waiting(const char *why, void *userdata) {
        (void) sd_notifyf(false, "STATUS=Waiting for the database: %s\nWATCHDOG=1", why);
}

/* The schema must be the one this build was written for; migrating is an explicit admin step
 * (stopstartctl db upgrade), never something the daemon does. */
static int check_schema(const char *conninfo, char **ret_error) {
        return store_check_schema(conninfo, STARTUP_DB_TIMEOUT_USEC, on_db_waiting, NULL, ret_error);
}

static int run_until(Manager *m, bool *done, uint64_t timeout_usec) {
        uint64_t deadline = manager_now() + timeout_usec;
        int r;

        while (!*done) {
                if (manager_now() >= deadline)
                        return -ETIMEDOUT;
                r = sd_event_run(m->event, 100 * 1000);
                if (r < 0)
                        return r;
                if (m->exit_requested)
                        return -ECANCELED;
        }
        return 0;
}

typedef struct LoadWait {
        bool done;
        int error;
} LoadWait;

static void on_loaded(Manager *m, int error, void *userdata) {
        LoadWait *w = userdata;
        w->done = true;
        w->error = error;
}

static void on_name_acquired_ready(Manager *m) {
        /* The connection may have dropped since the inventory was loaded. */
        manager_set_state(m, db_get_state(m->db) == DB_CONNECTED && leader_settled(m->leader) ? MANAGER_RUNNING
                                                                                              : MANAGER_DEGRADED);
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", strempty(m->status_text));
        log_info("Serving %s: %u compartments, %u instances.", SS_BUS_NAME,
                 (unsigned) lh_table_length(m->compartments), (unsigned) lh_table_length(m->instances));

        /* The first refresh, then periodically: the leader's part (a standby hears of its results;
         * one that takes over refreshes then). */
        if (manager_is_leader(m) && manager_refresh(m, (uid_t) -1, NULL) < 0)
                log_warning("The first refresh could not start; the periodic one will try again.");
        manager_schedule_refresh(m);
}

static int on_request_name(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
                        log_error("Not allowed to own %s: %s (is the bus policy file installed, and does the daemon "
                                  "run as the user it names?)", SS_BUS_NAME, e->message);
                else
                        log_error("Failed to acquire %s: %s", SS_BUS_NAME, e->message);
                (void) sd_notifyf(false, "STATUS=Failed to acquire the bus name %s.", SS_BUS_NAME);
                (void) sd_event_exit(m->event, EXIT_FAILURE);
                return 0;
        }
        {
                uint32_t ret = 0;
                if (sd_bus_message_read(reply, "u", &ret) >= 0 && ret != 1 /* primary owner */) {
                        log_error("%s is owned by another process already: is stopstartd running?", SS_BUS_NAME);
                        (void) sd_notify(false, "STATUS=Another stopstartd owns the bus name.");
                        (void) sd_event_exit(m->event, EXIT_FAILURE);
                        return 0;
                }
        }
        on_name_acquired_ready(m);
        return 0;
}

/* The broker closed our connection: it restarted, or it dropped us (e.g. a message over its
 * limits). Our name is gone and nobody can reach us; staying alive would be a zombie that still
 * pings the watchdog. Exit non-zero, as systemd's own daemons do, so Restart=on-failure brings a
 * fresh instance onto the bus; leaving the event loop also ends the watchdog pings. */
static int on_bus_disconnected(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;

        log_error("Lost the connection to the system bus (the bus daemon closed it: restarted, or it dropped "
                  "us, e.g. for a message over its limits); exiting so that systemd restarts stopstartd.");
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Lost the connection to the system bus.");
        m->exit_requested = true;
        (void) sd_event_exit(m->event, EXIT_BUS_LOST);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, stopping.", si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        (void) sd_notify(false, "STOPPING=1");
        m->exit_requested = true;
        manager_set_state(m, MANAGER_STOPPING);
        (void) sd_event_exit(m->event, 0);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *err = NULL;

        (void) sd_notify(false, "RELOADING=1");
        if (manager_reload_config(m, (uid_t) -1, &err) < 0)
                (void) sd_notifyf(false, "READY=1\nSTATUS=Reload failed, the running configuration stays: %s",
                                  strna(err));
        else
                (void) sd_notifyf(false, "READY=1\nSTATUS=%s", strempty(m->status_text));
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        /* Freed first: queued statements are answered and replies flushed while the bus is up. */
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *err = NULL;
        LoadWait lw = {};
        sigset_t mask;
        int r;

        log_set_program_name("stopstartd");
        log_parse_environment();

        /* Answers over the whole inventory are large and short-lived: a fixed mmap threshold
         * (glibc raises it dynamically otherwise) keeps such buffers out of the heap, so their
         * memory goes back to the kernel when they are freed. */
        (void) mallopt(M_MMAP_THRESHOLD, 256 * 1024);

        r = parse_argv(argc, argv);
        if (r <= 0 || r > 1)
                return r;
        if (arg_bus_introspect)
                return bus_introspect(arg_bus_introspect);

        /* 1. Configuration. */
        r = config_load(arg_config, &config, &err);
        if (r < 0)
                return startup_failed(EXIT_CONFIG, "Configuration error: %s", strna(err));
        if (arg_discover_once)
                return discover_once(config, check_schema);

        r = sd_event_default(&event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_set_watchdog(event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog: %m");

        r = manager_new(event, &m);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the manager: %m");
        m->config_path = strdup(arg_config);
        if (!m->config_path)
                return log_oom();
        r = manager_set_config(m, TAKE_PTR(config));
        if (r < 0)
                return log_error_errno(r, "Failed to apply the configuration: %m");

        err = mfree(err);
        r = manager_setup_oci(m, &err);
        if (r < 0)
                return startup_failed(EXIT_CONFIG, "OCI configuration error: %s", strna(err));

        r = sd_event_add_signal(event, NULL, SIGTERM, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to install signal handlers: %m");

        /* 2. Database: reachable and at the schema head. */
        (void) sd_notify(false, "STATUS=Checking the database...");
        err = mfree(err);
        r = check_schema(m->config->database, &err);
        if (r == -EINVAL)
                return startup_failed(EXIT_CONFIG, "%s", strna(err));
        if (r == -ENOTCONN)
                return startup_failed(EXIT_DATABASE, "%s", strna(err));
        if (r < 0)
                return startup_failed(EXIT_SCHEMA, "%s", strna(err));

        r = manager_connect_db(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the database connection: %m");

        /* 3. State. */
        (void) sd_notify(false, "STATUS=Loading the inventory...");
        r = manager_load(m, on_loaded, &lw);
        if (r < 0)
                return log_error_errno(r, "Failed to start loading: %m");
        r = run_until(m, &lw.done, STARTUP_DB_TIMEOUT_USEC);
        if (r == -ECANCELED)
                return 0;
        if (r < 0 || lw.error < 0)
                return startup_failed(EXIT_DATABASE, "Loading the inventory failed: %s",
                                      m->db && *db_last_error(m->db) ? db_last_error(m->db)
                                                                     : strerror(-(r < 0 ? r : lw.error)));

        /* 4. Objects, then the name. */
        r = sd_bus_open_system(&bus);
        if (r < 0)
                return startup_failed(EXIT_FAILURE, "Failed to connect to the system bus: %s", strerror(-r));
        r = manager_attach_bus(m, bus);
        if (r < 0)
                return log_error_errno(r, "Failed to register the bus objects: %m");
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        /* sd-bus synthesizes this local signal when the connection goes away. */
        r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_bus_disconnected, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch for the loss of the bus connection: %m");


        /* Schedules: loaded, their timers declared on the systemd manager, unfinished occurrences
         * resumed. Answers come on the loop; schedule calls wait for it (DatabaseUnavailable). */
        r = scheduler_new(m, &m->scheduler);
        if (r >= 0)
                r = scheduler_load(m->scheduler, NULL, NULL);
        if (r < 0)
                log_warning_errno(r, "Could not load the schedules: %m");

        /* Leadership among the daemons on this database: the leader resumes the jobs and
         * occurrences left unfinished (as after a restart), standbys serve and wait. */
        r = leader_new(m, &m->leader);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the leader election: %m");
        /* Known before the name is taken: leader, or standby naming the leader. Without an answer
         * it goes on degraded, and runs once the answer comes. */
        {
                uint64_t deadline = manager_now() + STARTUP_DB_TIMEOUT_USEC;
                while (!leader_settled(m->leader) && manager_now() < deadline && !m->exit_requested) {
                        r = sd_event_run(event, 100 * 1000);
                        if (r < 0)
                                return log_error_errno(r, "Event loop failed: %m");
                }
                if (m->exit_requested)
                        return 0;
        }

        r = sd_bus_request_name_async(bus, NULL, SS_BUS_NAME, 0, on_request_name, m);
        if (r < 0)
                return log_error_errno(r, "Failed to request the bus name: %m");

        /* 5. READY=1 follows once the name is ours (on_request_name). */
        r = sd_event_loop(event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopped.");
        return r;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-errors.h"
#include "ctl-bus.h"
#include "json-util.h"
#include "log.h"
#include "stopstartctl.h"
#include "strv.h"
#include "time-util.h"

const BusLocator bus_manager = {
        .destination = SS_BUS_NAME,
        .path = SS_BUS_PATH,
        .interface = SS_BUS_IFACE_MANAGER,
};

int bus_exit_status(int r) {
        if (r >= 0)
                return r;
        /* A value stopstartctl cannot parse, or one the daemon refuses (InvalidConfig, InvalidArgs):
         * bad usage, as the schedule verbs count it too. */
        if (r == -EINVAL)
                return EXIT_USAGE;
        return r == -ENXIO ? EXIT_NO_SUCH_OBJECT : EXIT_FAILURE;
}

int ctl_bus_connect(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = ss_bus_errors_register();
        if (r < 0)
                return log_error_errno(r, "Could not register the D-Bus error names: %m");
        if (arg_host)
                r = sd_bus_open_system_remote(&bus, arg_host);
        else
                r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Could not connect to the system bus%s%s: %m", arg_host ? " of " : "",
                                       strempty(arg_host));
        r = sd_bus_set_allow_interactive_authorization(bus, arg_ask_password);
        if (r < 0)
                return log_error_errno(r, "Could not set up the bus connection: %m");
        *ret = TAKE_PTR(bus);
        return 0;
}

#define POLKIT_AGENT_BINARY_PATH "/usr/bin/pkttyagent"
static pid_t agent_pid = 0;

void polkit_agent_open_if_enabled(void) {
        int fds[2];
        pid_t pid, parent = getpid();

        /* Root is trusted without asking; the agent needs a terminal to ask on (stdin: this is
         * about input); over -H the remote polkit would need a remote agent. */
        if (agent_pid > 0 || !arg_ask_password || arg_host || geteuid() == 0 || !isatty(STDIN_FILENO))
                return;
        if (access(POLKIT_AGENT_BINARY_PATH, X_OK) < 0)
                return;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return;

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                safe_close(fds[0]);
                safe_close(fds[1]);
                return;
        }
        if (pid == 0) {
                char notify_fd[16], process[16];

                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(EXIT_FAILURE);
                /* The agent talks to the terminal even when our output goes elsewhere. */
                for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++)
                        if (!isatty(fd)) {
                                int t = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);
                                if (t >= 0) {
                                        (void) dup2(t, fd);
                                        safe_close(t);
                                }
                        }
                /* The write end stays open across exec: pkttyagent closes it once registered. */
                if (fcntl(fds[1], F_SETFD, 0) < 0)
                        _exit(EXIT_FAILURE);
                snprintf(notify_fd, sizeof notify_fd, "%d", fds[1]);
                snprintf(process, sizeof process, "%d", (int) parent);
                execl(POLKIT_AGENT_BINARY_PATH, POLKIT_AGENT_BINARY_PATH, "--notify-fd", notify_fd, "--fallback",
                      "--process", process, (char *) NULL);
                _exit(EXIT_FAILURE);
        }
        safe_close(fds[1]);
        /* Until the agent closes its end: registered (or gone). */
        for (;;) {
                struct pollfd p = { .fd = fds[0], .events = POLLIN };
                char c;
                int k = poll(&p, 1, 10 * 1000);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0 || read(fds[0], &c, 1) <= 0)
                        break;
        }
        safe_close(fds[0]);
        agent_pid = pid;
}

void polkit_agent_close(void) {
        if (agent_pid <= 0)
                return;
        (void) kill(agent_pid, SIGTERM);
        (void) kill(agent_pid, SIGCONT);
        while (waitpid(agent_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        agent_pid = 0;
}

int bus_new_method_call(sd_bus *bus, const char *path, const char *interface, const char *member,
                        sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SS_BUS_NAME, path, interface, member);
        if (r < 0)
                return r;
        r = sd_bus_message_set_allow_interactive_authorization(m, arg_ask_password);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int bus_call(sd_bus *bus, sd_bus_message *m, sd_bus_error *error, sd_bus_message **reply) {
        /* A human may be typing a password for polkit: give them time. */
        uint64_t timeout = arg_ask_password && isatty(STDIN_FILENO) ? 5 * USEC_PER_MINUTE : 0;
        return sd_bus_call(bus, m, timeout, error, reply);
}

static int bus_call_va(sd_bus *bus, const char *path, const char *interface, const char *member, sd_bus_error *error,
                       sd_bus_message **reply, const char *types, va_list ap) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_new_method_call(bus, path, interface, member, &m);
        if (r < 0)
                return sd_bus_error_set_errno(error, r);
        if (types) {
                r = sd_bus_message_appendv(m, types, ap);
                if (r < 0)
                        return sd_bus_error_set_errno(error, r);
        }
        return bus_call(bus, m, error, reply);
}

int bus_call_method(sd_bus *bus, const BusLocator *l, const char *member, sd_bus_error *error,
                    sd_bus_message **reply, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = bus_call_va(bus, l->path, l->interface, member, error, reply, types, ap);
        va_end(ap);
        return r;
}

int bus_call_object(sd_bus *bus, const char *path, const char *interface, const char *member, sd_bus_error *error,
                    sd_bus_message **reply, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = bus_call_va(bus, path, interface, member, error, reply, types, ap);
        va_end(ap);
        return r;
}

sd_bus_message **bus_pages_free(sd_bus_message **pages) {
        for (size_t i = 0; pages && pages[i]; i++)
                sd_bus_message_unref(pages[i]);
        return mfree(pages);
}

int bus_list_instances_pages(sd_bus *bus, int (*append_filters)(sd_bus_message *m, void *userdata), void *userdata,
                             sd_bus_error *error, sd_bus_message ***ret_pages) {
        _cleanup_(sd_bus_error_free) sd_bus_error local = SD_BUS_ERROR_NULL;
        sd_bus_message **pages = NULL;
        _cleanup_free_ char *after = NULL;
        uint32_t limit = BUS_PAGE_SIZE;
        size_t n = 0;
        int r;

        if (!error)
                error = &local;   /* the refusal's name decides whether to ask for less */
        for (;;) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
                const char *id, *s;
                size_t count = 0;
                int b;

                r = bus_new_method_call(bus, SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "ListInstances", &m);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{sv}");
                if (r >= 0 && append_filters)
                        r = append_filters(m, userdata);
                if (r >= 0)
                        r = sd_bus_message_append(m, "{sv}", "limit", "u", limit);
                if (r >= 0 && after)
                        r = sd_bus_message_append(m, "{sv}", "after", "s", after);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r < 0)
                        goto fail;
                r = bus_call(bus, m, error, &reply);
                if (r < 0 && limit > 1 && sd_bus_error_has_name(error, SS_ERROR_TOO_LARGE)) {
                        /* long names, or a daemon with a lower bound: smaller pages */
                        sd_bus_error_free(error);
                        limit /= 2;
                        continue;
                }
                if (r < 0)
                        goto fail;
                /* the last OCID of the page is where the next one starts */
                r = sd_bus_message_enter_container(reply, 'a', "(ssssssbo)");
                while (r >= 0 && (r = sd_bus_message_read(reply, "(ssssssbo)", &id, &s, &s, &s, &s, &s, &b, &s)) > 0) {
                        count++;
                        free(after);
                        after = strdup(id);
                        if (!after) {
                                r = -ENOMEM;
                                goto fail;
                        }
                }
                if (r >= 0)
                        r = sd_bus_message_rewind(reply, true);
                if (r < 0)
                        goto fail;
                sd_bus_message **k = realloc(pages, (n + 2) * sizeof(sd_bus_message *));
                if (!k) {
                        r = -ENOMEM;
                        goto fail;
                }
                pages = k;
                pages[n++] = TAKE_PTR(reply);
                pages[n] = NULL;
                if (count < limit)
                        break;
        }
        *ret_pages = pages;
        return 0;
fail:
        bus_pages_free(pages);
        return r;
}

static int describe_call(sd_bus *bus, const char *member, sd_bus_error *error, json_object **ret,
                         const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *json;
        va_list ap;
        int r;

        va_start(ap, types);
        r = bus_call_va(bus, SS_BUS_PATH, SS_BUS_IFACE_MANAGER, member, error, &reply, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &json);
        if (r < 0)
                return r;
        *ret = json_tokener_parse(json);
        return *ret ? 0 : -EBADMSG;
}

int bus_describe(sd_bus *bus, sd_bus_error *error, json_object **ret) {
        _cleanup_json_ json_object *doc = NULL, *instances = NULL;
        _cleanup_free_ char *next = NULL;
        uint32_t limit = BUS_PAGE_SIZE;
        int r;

        /* Always in pages: asking for the whole first would make the daemon build all of it (33 MiB
         * at 50,000 instances) only to refuse it. */
        r = describe_call(bus, "DescribeWith", error, &doc, "a{sv}", 1, "instances", "b", 0);
        if (r < 0)
                return r;
        instances = json_object_new_array();
        if (!instances)
                return -ENOMEM;
        for (;;) {
                _cleanup_json_ json_object *page = NULL;
                json_object *items, *n;

                r = next ? describe_call(bus, "DescribeInstances", error, &page, "a{sv}", 2, "limit", "u", limit,
                                         "after", "s", next)
                         : describe_call(bus, "DescribeInstances", error, &page, "a{sv}", 1, "limit", "u", limit);
                if (r < 0 && limit > 1 && sd_bus_error_has_name(error, SS_ERROR_TOO_LARGE)) {
                        sd_bus_error_free(error);
                        limit /= 2;
                        continue;
                }
                if (r < 0)
                        return r;
                if (!json_object_object_get_ex(page, "instances", &items) || !json_object_is_type(items, json_type_array))
                        return -EBADMSG;
                for (size_t i = 0; i < json_object_array_length(items); i++)
                        if (json_object_array_add(instances, json_object_get(json_object_array_get_idx(items, i))) < 0)
                                return -ENOMEM;
                next = mfree(next);
                if (json_object_object_get_ex(page, "next", &n) && n) {
                        next = strdup(json_object_get_string(n));
                        if (!next)
                                return -ENOMEM;
                }
                if (!next)
                        break;
        }
        json_object_object_add(doc, "instances", TAKE_PTR(instances));
        *ret = TAKE_PTR(doc);
        return 0;
}

const char *bus_error_message(const sd_bus_error *error, int r) {
        if (error && sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN))
                return "stopstartd is not running (" SS_BUS_NAME " is not on the bus)";
        if (error && !isempty(error->message))
                return error->message;
        return strerror(abs(r));
}

int log_bus_error(const sd_bus_error *error, int r, const char *what_fmt, ...) {
        _cleanup_free_ char *what = NULL, *what_escaped = NULL, *message = NULL, *shown_what = NULL,
                            *shown_message = NULL;
        va_list ap;
        int k;

        va_start(ap, what_fmt);
        k = vasprintf(&what, what_fmt, ap);
        va_end(ap);
        if (k < 0)
                return log_oom();
        if (r >= 0)
                r = -EIO;
        /* Names and the daemon's message (which echoes them) may carry anything: one safe line. */
        what_escaped = text_escape(what);
        message = text_escape(bus_error_message(error, r));
        shown_what = what_escaped ? text_ellipsize(what_escaped, 200) : NULL;
        shown_message = message ? text_ellipsize(message, 400) : NULL;
        if (!shown_what || !shown_message)
                return log_oom();
        return log_error_errno(r, "Could not %s: %s", shown_what, shown_message);
}

#define SHORT_MAX NAME_TEXT_MAX
#define shorten name_text
const char *name_text(const char *s, char buf[static NAME_TEXT_MAX]) {
        _cleanup_free_ char *t = text_for_message(s);

        snprintf(buf, SHORT_MAX, "%s", t ?: "?");
        return buf;
}

/* ---- lookups -------------------------------------------------------------------------------------- */

static int find(sd_bus *bus, const char *method, const char *name, sd_bus_error *error,
                char **ret_path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *p;
        char *s;
        int r;

        r = bus_call_method(bus, &bus_manager, method, error, &reply, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &p);
        if (r < 0)
                return sd_bus_error_set_errno(error, r);
        s = strdup(p);
        if (!s)
                return sd_bus_error_set_errno(error, -ENOMEM);
        *ret_path = s;
        return 0;
}

int bus_find_instance(sd_bus *bus, const char *name, char **ret_path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = find(bus, "GetInstance", name, &error, ret_path);
        char buf[SHORT_MAX];
        return r < 0 ? log_bus_error(&error, r, "find instance %s", shorten(name, buf)) : 0;
}

int bus_find_compartment(sd_bus *bus, const char *name, char **ret_path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = find(bus, "GetCompartment", name, &error, ret_path);
        char buf[SHORT_MAX];
        return r < 0 ? log_bus_error(&error, r, "find compartment %s", shorten(name, buf)) : 0;
}

int bus_job_path(const char *s, char **ret_path, uint32_t *ret_id) {
        const char *n = startswith(s, SS_BUS_PATH_JOB "/") ?: s;
        unsigned long v;
        char *end, *p;

        if (*n < '1' || *n > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(n, &end, 10);
        if (errno != 0 || *end || v > UINT32_MAX)
                return -EINVAL;
        p = strprintf("%s/%lu", SS_BUS_PATH_JOB, v);
        if (!p)
                return -ENOMEM;
        *ret_path = p;
        if (ret_id)
                *ret_id = (uint32_t) v;
        return 0;
}

/* Whether a job object exists at path (finished jobs stay a while). */
static int job_exists(sd_bus *bus, const char *path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint32_t id;
        int r;

        r = sd_bus_get_property_trivial(bus, SS_BUS_NAME, path, SS_BUS_IFACE_JOB, "Id", &error, 'u', &id);
        if (r >= 0)
                return 1;
        if (sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE,
                                   SD_BUS_ERROR_UNKNOWN_PROPERTY))
                return 0;
        return log_bus_error(&error, r, "look up job %s", path);
}

int bus_find_object(sd_bus *bus, const char *name, char **ret_path, const char **ret_interface) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *job = NULL, *instance = NULL, *compartment = NULL, *instance_id = NULL,
                            *compartment_id = NULL;
        char buf[SHORT_MAX];
        unsigned n;
        int r;

        if (startswith(name, SS_BUS_PATH_JOB "/") && bus_job_path(name, ret_path, NULL) >= 0) {
                *ret_interface = SS_BUS_IFACE_JOB;
                return 0;
        }
        if (name[0] == '/') {
                static const struct {
                        const char *prefix, *interface;
                } kinds[] = {
                        { SS_BUS_PATH_INSTANCE "/", SS_BUS_IFACE_INSTANCE },
                        { SS_BUS_PATH_COMPARTMENT "/", SS_BUS_IFACE_COMPARTMENT },
                };
                if (streq(name, SS_BUS_PATH)) {
                        *ret_interface = SS_BUS_IFACE_MANAGER;
                        *ret_path = strdup(name);
                        return *ret_path ? 0 : log_oom();
                }
                for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                        if (startswith(name, kinds[i].prefix) && sd_bus_object_path_is_valid(name)) {
                                *ret_interface = kinds[i].interface;
                                *ret_path = strdup(name);
                                return *ret_path ? 0 : log_oom();
                        }
                return log_error_errno(ENXIO, "Could not find %s: not a stopstart object path.", shorten(name, buf));
        }

        if (startswith(name, "ocid1.compartment.") || startswith(name, "ocid1.tenancy.")) {
                *ret_interface = SS_BUS_IFACE_COMPARTMENT;
                return bus_find_compartment(bus, name, ret_path);
        }
        if (startswith(name, "ocid1.instance.")) {
                *ret_interface = SS_BUS_IFACE_INSTANCE;
                return bus_find_instance(bus, name, ret_path);
        }

        /* Anything else may name a job (its number), an instance (its display name) and a
         * compartment (its path) at once: look for all three and refuse to guess. */
        if (bus_job_path(name, &job, NULL) >= 0) {
                r = job_exists(bus, job);
                if (r < 0)
                        return r;
                if (r == 0)
                        job = mfree(job);
        }
        r = find(bus, "GetInstance", name, &error, &instance);
        if (r < 0 && !sd_bus_error_has_name(&error, SS_ERROR_NO_SUCH_INSTANCE)) {
                if (sd_bus_error_has_name(&error, SS_ERROR_AMBIGUOUS_NAME) && job)
                        log_error("%s is also job %s.", shorten(name, buf), job);
                return log_bus_error(&error, r, "find %s", shorten(name, buf));
        }
        sd_bus_error_free(&error);
        r = find(bus, "GetCompartment", name, &error, &compartment);
        if (r < 0 && !sd_bus_error_has_name(&error, SS_ERROR_NO_SUCH_COMPARTMENT))
                return log_bus_error(&error, r, "find %s", shorten(name, buf));

        n = !!job + !!instance + !!compartment;
        if (n == 0)
                return log_error_errno(ENXIO, "Could not find %s: no instance, compartment or job of that name is known.",
                                       shorten(name, buf));
        if (n > 1) {
                /* Each candidate by the name that is unique to it. */
                if (instance)
                        (void) sd_bus_get_property_string(bus, SS_BUS_NAME, instance, SS_BUS_IFACE_INSTANCE, "Id", NULL,
                                                          &instance_id);
                if (compartment)
                        (void) sd_bus_get_property_string(bus, SS_BUS_NAME, compartment, SS_BUS_IFACE_COMPARTMENT, "Id",
                                                          NULL, &compartment_id);
                return log_error_errno(ENOTUNIQ, "Could not find %s: the name is ambiguous, it matches %s%s%s%s%s%s%s%s%s; "
                                       "name one of those instead.", shorten(name, buf),
                                       job ? "job " : "", strempty(job),
                                       job && (instance || compartment) ? ", " : "",
                                       instance ? "instance " : "", instance ? (instance_id ?: instance) : "",
                                       instance && compartment ? ", " : "",
                                       compartment ? "compartment " : "",
                                       compartment ? (compartment_id ?: compartment) : "", "");
        }
        if (job) {
                *ret_interface = SS_BUS_IFACE_JOB;
                *ret_path = TAKE_PTR(job);
        } else if (instance) {
                *ret_interface = SS_BUS_IFACE_INSTANCE;
                *ret_path = TAKE_PTR(instance);
        } else {
                *ret_interface = SS_BUS_IFACE_COMPARTMENT;
                *ret_path = TAKE_PTR(compartment);
        }
        return 0;
}

int bus_resolve_instance_filter(sd_bus *bus, const char *name, char **ret_id) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        char buf[SHORT_MAX];
        int r;

        /* OCIDs go as they are: the history of an instance that is gone is still there. */
        if (startswith(name, "ocid1."))
                return (*ret_id = strdup(name)) ? 0 : log_oom();
        r = find(bus, "GetInstance", name, &error, &path);
        if (r < 0 && sd_bus_error_has_name(&error, SS_ERROR_NO_SUCH_INSTANCE))
                return (*ret_id = strdup(name)) ? 0 : log_oom();
        if (r < 0)
                return log_bus_error(&error, r, "find instance %s", shorten(name, buf));
        r = sd_bus_get_property_string(bus, SS_BUS_NAME, path, SS_BUS_IFACE_INSTANCE, "Id", &error, ret_id);
        if (r < 0)
                return log_bus_error(&error, r, "find instance %s", shorten(name, buf));
        return 0;
}

/* ---- generic values ------------------------------------------------------------------------------- */

static int read_basic_json(sd_bus_message *m, char type, json_object **ret) {
        union {
                uint8_t y;
                int b;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
                const char *s;
                int h;
        } v;
        json_object *j;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        switch (type) {
        case 'y': j = json_object_new_int64(v.y); break;
        case 'b': j = json_object_new_boolean(v.b); break;
        case 'n': j = json_object_new_int64(v.n); break;
        case 'q': j = json_object_new_int64(v.q); break;
        case 'i': j = json_object_new_int64(v.i); break;
        case 'u': j = json_object_new_int64(v.u); break;
        case 'x': j = json_object_new_int64(v.x); break;
        case 't': j = json_object_new_uint64(v.t); break;
        case 'd': j = json_object_new_double(v.d); break;
        case 'h': j = json_object_new_int64(v.h); break;
        case 's':
        case 'o':
        case 'g': j = json_object_new_string(v.s); break;
        default: return -EBADMSG;
        }
        if (!j)
                return -ENOMEM;
        *ret = j;
        return 0;
}

int bus_message_read_json(sd_bus_message *m, json_object **ret) {
        _cleanup_json_ json_object *j = NULL;
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENXIO;

        switch (type) {
        case 'v':
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;
                r = bus_message_read_json(m, &j);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                break;

        case 'a':
                r = sd_bus_message_enter_container(m, 'a', contents);
                if (r < 0)
                        return r;
                if (contents[0] == '{') {
                        _cleanup_free_ char *entry = strndup(contents + 1, strlen(contents) - 2);
                        if (!entry)
                                return -ENOMEM;
                        j = json_object_new_object();
                        if (!j)
                                return -ENOMEM;
                        while ((r = sd_bus_message_enter_container(m, 'e', entry)) > 0) {
                                _cleanup_json_ json_object *k = NULL, *v = NULL;
                                const char *key;
                                char kbuf[32];

                                r = bus_message_read_json(m, &k);
                                if (r < 0)
                                        return r;
                                if (json_object_is_type(k, json_type_string))
                                        key = json_object_get_string(k);
                                else {
                                        snprintf(kbuf, sizeof kbuf, "%s", json_object_to_json_string(k));
                                        key = kbuf;
                                }
                                r = bus_message_read_json(m, &v);
                                if (r < 0)
                                        return r;
                                if (json_object_object_add(j, key, TAKE_PTR(v)) < 0)
                                        return -ENOMEM;
                                r = sd_bus_message_exit_container(m);
                                if (r < 0)
                                        return r;
                        }
                } else {
                        j = json_object_new_array();
                        if (!j)
                                return -ENOMEM;
                        for (;;) {
                                json_object *v = NULL;
                                r = sd_bus_message_at_end(m, false);
                                if (r < 0)
                                        return r;
                                if (r > 0)
                                        break;
                                r = bus_message_read_json(m, &v);
                                if (r < 0)
                                        return r;
                                if (json_object_array_add(j, v) < 0) {
                                        json_object_put(v);
                                        return -ENOMEM;
                                }
                        }
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                break;

        case 'r':
                r = sd_bus_message_enter_container(m, 'r', contents);
                if (r < 0)
                        return r;
                j = json_object_new_array();
                if (!j)
                        return -ENOMEM;
                for (;;) {
                        json_object *v = NULL;
                        r = sd_bus_message_at_end(m, false);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                break;
                        r = bus_message_read_json(m, &v);
                        if (r < 0)
                                return r;
                        if (json_object_array_add(j, v) < 0) {
                                json_object_put(v);
                                return -ENOMEM;
                        }
                }
                r = sd_bus_message_exit_container(m);
                break;

        default:
                r = read_basic_json(m, type, &j);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

static int text_append(char **buf, size_t *len, const char *s) {
        size_t l = strlen(s);
        char *n = realloc(*buf, *len + l + 1);
        if (!n)
                return -ENOMEM;
        memcpy(n + *len, s, l + 1);
        *buf = n;
        *len += l;
        return 0;
}

/* How show words a value, from its name (as systemctl show does by suffix): points in time,
 * spans of time, or as it is. */
typedef enum ValueKind {
        VALUE_PLAIN,
        VALUE_TIMESTAMP,
        VALUE_TIMESPAN,
} ValueKind;

static ValueKind value_kind(const char *name) {
        size_t l = name ? strlen(name) : 0;

        if (!name)
                return VALUE_PLAIN;
        if (streq(name, "LastRefresh") || streq(name, "override_until") ||
            (l > 2 && streq(name + l - 2, "At")) || (l > 9 && streq(name + l - 9, "Timestamp")))
                return VALUE_TIMESTAMP;
        if (streq(name, "soft_stop_timeout") || (l > 4 && streq(name + l - 4, "USec")))
                return VALUE_TIMESPAN;
        return VALUE_PLAIN;
}

static int json_to_text_append(json_object *j, const char *name, char **buf, size_t *len) {
        char tbuf[MAX(TIMESTAMP_MAX, TIMESPAN_MAX)];
        bool first = true;
        int r;

        switch (json_object_get_type(j)) {
        case json_type_null:
                return 0;
        case json_type_boolean:
                return text_append(buf, len, json_object_get_boolean(j) ? "yes" : "no");
        case json_type_string:
                return text_append(buf, len, json_object_get_string(j));
        case json_type_int:
                switch (value_kind(name)) {
                case VALUE_TIMESTAMP:
                        /* 0 is "never": systemctl show prints nothing for it either. */
                        return json_object_get_uint64(j) == 0 ? 0 :
                                text_append(buf, len, format_timestamp(tbuf, sizeof tbuf, json_object_get_uint64(j)));
                case VALUE_TIMESPAN:
                        return text_append(buf, len, format_timespan(tbuf, sizeof tbuf, json_object_get_uint64(j)));
                default:
                        return text_append(buf, len, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
                }
        case json_type_double:
                /* 0.6, not 0.59999999999999998 */
                snprintf(tbuf, sizeof tbuf, "%g", json_object_get_double(j));
                return text_append(buf, len, tbuf);
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(j); i++) {
                        if (!first && (r = text_append(buf, len, " ")) < 0)
                                return r;
                        r = json_to_text_append(json_object_array_get_idx(j, i), name, buf, len);
                        if (r < 0)
                                return r;
                        first = false;
                }
                return 0;
        case json_type_object:
                json_object_object_foreach(j, k, v) {
                        if ((!first && (r = text_append(buf, len, " ")) < 0) || (r = text_append(buf, len, k)) < 0 ||
                            (r = text_append(buf, len, "=")) < 0 || (r = json_to_text_append(v, k, buf, len)) < 0)
                                return r;
                        first = false;
                }
                return 0;
        default:
                return text_append(buf, len, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        }
}

char *bus_json_to_text(json_object *j) {
        return bus_property_to_text(NULL, j);
}

char *bus_property_to_text(const char *name, json_object *j) {
        char *buf = strdup("");
        size_t len = 0;

        if (buf && json_to_text_append(j, name, &buf, &len) < 0)
                buf = mfree(buf);
        return buf;
}

int bus_get_property_json(sd_bus *bus, const char *path, const char *interface, const char *name, sd_bus_error *error,
                          json_object **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = bus_call_object(bus, path, "org.freedesktop.DBus.Properties", "Get", error, &reply, "ss", interface, name);
        if (r < 0)
                return r;
        r = bus_message_read_json(reply, ret);
        if (r < 0)
                return sd_bus_error_set_errno(error, r);
        return 0;
}

/* Properties left out of GetAll (org.freedesktop.systemd1.Explicit): show reads them by name. */
static const struct {
        const char *interface, *name;
} explicit_properties[] = {
        { SS_BUS_IFACE_INSTANCE, "EffectiveConfig" },
        { SS_BUS_IFACE_COMPARTMENT, "EffectiveDefaults" },
};

int bus_get_all_properties(sd_bus *bus, const char *path, const char *interface, char * const *wanted,
                           sd_bus_error *error, json_object **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_json_ json_object *props = NULL;
        int r;

        r = bus_call_object(bus, path, "org.freedesktop.DBus.Properties", "GetAll", error, &reply, "s", interface);
        if (r < 0)
                return r;
        r = bus_message_read_json(reply, &props);
        if (r < 0)
                return sd_bus_error_set_errno(error, r);

        for (size_t i = 0; i < ELEMENTSOF(explicit_properties); i++) {
                json_object *v = NULL;
                if (!streq(explicit_properties[i].interface, interface) ||
                    (wanted && !strv_contains(wanted, explicit_properties[i].name)))
                        continue;
                r = bus_get_property_json(bus, path, interface, explicit_properties[i].name, error, &v);
                if (r < 0)
                        return r;
                json_object_object_add(props, explicit_properties[i].name, v);
        }
        *ret = TAKE_PTR(props);
        return 0;
}

int bus_print_properties(json_object *props, char * const *filter, bool value_only, const OutputFlags *flags) {
        _cleanup_json_ json_object *selected = NULL;

        STRV_FOREACH(p, filter)
                if (!json_object_object_get_ex(props, *p, NULL))
                        return log_error_errno(ENOENT, "Could not show property %s: the object has no such property.",
                                               *p);

        if (filter) {
                /* In the order asked for. */
                selected = json_object_new_object();
                if (!selected)
                        return log_oom();
                STRV_FOREACH(p, filter)
                        json_object_object_add(selected, *p,
                                               json_object_get(json_object_object_get(props, *p)));
                props = selected;
        }

        if (flags->json != JSON_FORMAT_OFF)
                return output_json(props, flags);

        json_object_object_foreach(props, k, v) {
                _cleanup_free_ char *raw = bus_property_to_text(k, v), *text = raw ? text_escape(raw) : NULL;
                if (!text)
                        return log_oom();
                if (value_only)
                        printf("%s\n", text);
                else
                        printf("%s=%s\n", k, text);
        }
        return fflush(stdout) == 0 ? 0 : -EIO;
}

char *bus_config_value_text(const char *key, json_object *v) {
        char buf[TIMESTAMP_MAX];

        if (!v)
                return strdup("inherit");
        /* The history's schedule entries share the wording: misfire_grace, valid_from/until. */
        if ((streq(key, "soft_stop_timeout") || streq(key, "misfire_grace")) && json_object_is_type(v, json_type_int))
                return strdup(format_timespan(buf, sizeof buf, json_object_get_uint64(v)));
        if ((streq(key, "override_until") || streq(key, "valid_from") || streq(key, "valid_until")) &&
            json_object_is_type(v, json_type_int))
                return json_object_get_uint64(v) == 0 ? strdup("-")
                                                      : strdup(format_timestamp(buf, sizeof buf, json_object_get_uint64(v)));
        if (json_object_is_type(v, json_type_string) && isempty(json_object_get_string(v)))
                return strdup("-");
        return bus_json_to_text(v);
}

/* ---- settings --------------------------------------------------------------------------------------- */

static int parse_boolean(const char *v) {
        static const char * const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char * const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

static int append_setting(sd_bus_message *m, const char *key, const char *raw_value) {
        char value[NAME_TEXT_MAX];   /* for messages; raw_value goes on the bus */
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", key);
        if (r < 0)
                return r;

        name_text(raw_value, value);
        if (streq(raw_value, "inherit"))
                r = sd_bus_message_append(m, "v", "s", raw_value);
        else if (streq(key, "managed")) {
                int b = parse_boolean(raw_value);
                if (b < 0)
                        return log_error_errno(EINVAL, "Could not parse managed=%s: expected yes or no.", value);
                r = sd_bus_message_append(m, "v", "b", b);
        } else if (streq(key, "soft_stop_timeout")) {
                usec_t t;
                if (parse_timespan(raw_value, &t) < 0)
                        return log_error_errno(EINVAL, "Could not parse soft_stop_timeout=%s: expected a time span "
                                               "such as 90s or 5min.", value);
                r = sd_bus_message_append(m, "v", "t", (uint64_t) t);
        } else if (streq(key, "override_until")) {
                usec_t t;
                if (parse_timestamp(raw_value, now(CLOCK_REALTIME), &t) < 0)
                        return log_error_errno(EINVAL, "Could not parse override_until=%s: expected a time such as "
                                               "\"2026-12-01 18:00\", \"+3d\" or \"@1796000000\".", value);
                r = sd_bus_message_append(m, "v", "t", (uint64_t) t);
        } else if (streq(key, "priority")) {
                char *end;
                long v;
                errno = 0;
                v = strtol(raw_value, &end, 10);
                if (isempty(raw_value) || *end || errno != 0 || v < INT32_MIN || v > INT32_MAX)
                        return log_error_errno(EINVAL, "Could not parse priority=%s: expected an integer.", value);
                r = sd_bus_message_append(m, "v", "i", (int32_t) v);
        } else
                /* stop_mode, note, override_state; and keys we do not know: the daemon refuses
                 * those with a message that names them. */
                r = sd_bus_message_append(m, "v", "s", raw_value);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

int bus_append_settings(sd_bus_message *m, char * const *assignments) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return log_oom();
        STRV_FOREACH(a, assignments) {
                const char *eq = strchr(*a, '=');
                _cleanup_free_ char *key = NULL;

                if (!eq || eq == *a) {
                        char buf[NAME_TEXT_MAX];
                        return log_error_errno(EINVAL, "Could not parse \"%s\": expected KEY=VALUE.", name_text(*a, buf));
                }
                key = strndup(*a, (size_t) (eq - *a));
                if (!key)
                        return log_oom();
                r = append_setting(m, key, eq + 1);
                if (r == -EINVAL)
                        return r;
                if (r < 0)
                        return log_oom();
        }
        r = sd_bus_message_close_container(m);
        return r < 0 ? log_oom() : 0;
}

/* ---- jobs ------------------------------------------------------------------------------------------- */

#define JOB_WHAT_MAX (SHORT_MAX + 32)

typedef struct WaitedJob {
        char *path;
        uint32_t id;
        char *kind;
        char *instance;
        char *state;
        char *result;           /* NULL until it ended */
        char *error;
        double progress;
} WaitedJob;

struct JobWaiter {
        sd_bus *bus;
        sd_bus_slot *removed_slot, *changed_slot, *owner_slot;
        WaitedJob *jobs;
        size_t n_jobs;
        bool daemon_left;
        bool progress;          /* a status line on the terminal */
        bool progress_shown;
        char last_line[JOB_WHAT_MAX + 64];
};

static WaitedJob *waiter_find(JobWaiter *w, const char *path) {
        for (size_t i = 0; i < w->n_jobs; i++)
                if (streq(w->jobs[i].path, path))
                        return &w->jobs[i];
        return NULL;
}

static int set_string(char **p, const char *s) {
        char *d = strdup(s);
        if (!d)
                return -ENOMEM;
        free(*p);
        *p = d;
        return 0;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        JobWaiter *w = userdata;
        const char *path, *result;
        uint32_t id;
        WaitedJob *j;

        if (sd_bus_message_read(m, "uos", &id, &path, &result) < 0)
                return 0;
        j = waiter_find(w, path);
        if (j && !j->result)
                (void) set_string(&j->result, result);
        return 0;
}

static int on_job_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        JobWaiter *w = userdata;
        _cleanup_json_ json_object *changed = NULL;
        json_object *v;
        const char *iface;
        WaitedJob *j;

        j = waiter_find(w, sd_bus_message_get_path(m));
        if (!j || sd_bus_message_read(m, "s", &iface) < 0 || !streq(iface, SS_BUS_IFACE_JOB) ||
            bus_message_read_json(m, &changed) < 0)
                return 0;
        if (json_object_object_get_ex(changed, "Progress", &v))
                j->progress = json_object_get_double(v);
        if (json_object_object_get_ex(changed, "State", &v))
                (void) set_string(&j->state, json_object_get_string(v));
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        JobWaiter *w = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) >= 0 && streq(name, SS_BUS_NAME) &&
            isempty(new_owner))
                w->daemon_left = true;
        return 0;
}

int job_waiter_new(sd_bus *bus, JobWaiter **ret) {
        _cleanup_(job_waiter_freep) JobWaiter *w = NULL;
        int r;

        w = new0(JobWaiter, 1);
        if (!w)
                return log_oom();
        w->bus = sd_bus_ref(bus);
        w->progress = isatty(STDERR_FILENO) && arg_output.json == JSON_FORMAT_OFF;

        /* Synchronous AddMatch: the subscription is in place before the call that makes the job. */
        r = sd_bus_add_match(bus, &w->removed_slot,
                             "type='signal',sender='" SS_BUS_NAME "',path='" SS_BUS_PATH "',"
                             "interface='" SS_BUS_IFACE_MANAGER "',member='JobRemoved'",
                             on_job_removed, w);
        if (r >= 0)
                r = sd_bus_add_match(bus, &w->owner_slot,
                                     "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" SS_BUS_NAME "'",
                                     on_owner_changed, w);
        if (r >= 0 && w->progress)
                r = sd_bus_add_match(bus, &w->changed_slot,
                                     "type='signal',sender='" SS_BUS_NAME "',interface='org.freedesktop.DBus.Properties',"
                                     "member='PropertiesChanged',path_namespace='" SS_BUS_PATH_JOB "'",
                                     on_job_changed, w);
        if (r < 0)
                return log_error_errno(r, "Could not subscribe to job signals: %m");
        *ret = TAKE_PTR(w);
        return 0;
}

JobWaiter *job_waiter_free(JobWaiter *w) {
        if (!w)
                return NULL;
        sd_bus_slot_unref(w->removed_slot);
        sd_bus_slot_unref(w->changed_slot);
        sd_bus_slot_unref(w->owner_slot);
        for (size_t i = 0; i < w->n_jobs; i++) {
                free(w->jobs[i].path);
                free(w->jobs[i].kind);
                free(w->jobs[i].instance);
                free(w->jobs[i].state);
                free(w->jobs[i].result);
                free(w->jobs[i].error);
        }
        free(w->jobs);
        sd_bus_unref(w->bus);
        return mfree(w);
}

int job_waiter_add(JobWaiter *w, const char *job_path, const char *kind, const char *instance) {
        WaitedJob *n, *j;
        uint32_t id = 0;
        const char *e = startswith(job_path, SS_BUS_PATH_JOB "/");

        if (e)
                id = (uint32_t) strtoul(e, NULL, 10);
        n = realloc(w->jobs, (w->n_jobs + 1) * sizeof(WaitedJob));
        if (!n)
                return log_oom();
        w->jobs = n;
        j = &w->jobs[w->n_jobs];
        *j = (WaitedJob) { .id = id };
        j->path = strdup(job_path);
        j->kind = strdup(kind);
        j->instance = instance ? strdup(instance) : NULL;
        j->state = strdup("waiting");
        w->n_jobs++;
        if (!j->path || !j->kind || (instance && !j->instance) || !j->state)
                return log_oom();
        return 0;
}

static const char *job_what(const WaitedJob *j, char buf[static JOB_WHAT_MAX]) {
        char name[SHORT_MAX];

        if (j->instance)
                snprintf(buf, JOB_WHAT_MAX, "%s %s", j->kind, shorten(j->instance, name));
        else
                snprintf(buf, JOB_WHAT_MAX, "%s", j->kind);
        return buf;
}

static void progress_clear(JobWaiter *w) {
        if (w->progress_shown) {
                fputs("\r\033[K", stderr);
                fflush(stderr);
                w->progress_shown = false;
                w->last_line[0] = 0;
        }
}

static void progress_show(JobWaiter *w) {
        size_t done = 0;
        const WaitedJob *cur = NULL;
        char buf[JOB_WHAT_MAX];

        for (size_t i = 0; i < w->n_jobs; i++) {
                if (w->jobs[i].result)
                        done++;
                else if (!cur)
                        cur = &w->jobs[i];
        }
        char line[sizeof w->last_line];

        if (!cur)
                return;
        snprintf(line, sizeof line, "Job %" PRIu32 " (%s): %s, %d%%%s", cur->id, job_what(cur, buf), strna(cur->state),
                 (int) (cur->progress * 100 + 0.5), "");
        if (w->n_jobs > 1)
                snprintf(line + strlen(line), sizeof line - strlen(line), " [%zu/%zu done]", done, w->n_jobs);
        if (w->progress_shown && streq(line, w->last_line))
                return;
        fprintf(stderr, "\r\033[K%s", line);
        fflush(stderr);
        strcpy(w->last_line, line);
        w->progress_shown = true;
}

/* The job's own state, read once after it was added: it may have ended already (a refresh
 * returns the one running, which may finish at any moment). */
static void job_read_state(JobWaiter *w, WaitedJob *j) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *state = NULL, *result = NULL;

        if (sd_bus_get_property_string(w->bus, SS_BUS_NAME, j->path, SS_BUS_IFACE_JOB, "State", &error, &state) < 0)
                return;
        (void) set_string(&j->state, state);
        (void) sd_bus_get_property_trivial(w->bus, SS_BUS_NAME, j->path, SS_BUS_IFACE_JOB, "Progress", NULL, 'd',
                                           &j->progress);
        if (streq(state, "done") && !j->result &&
            sd_bus_get_property_string(w->bus, SS_BUS_NAME, j->path, SS_BUS_IFACE_JOB, "Result", &error, &result) >= 0)
                j->result = TAKE_PTR(result);
}

int job_waiter_wait(JobWaiter *w) {
        int ret = 0, r;

        for (size_t i = 0; i < w->n_jobs; i++)
                job_read_state(w, &w->jobs[i]);

        for (;;) {
                bool pending = false;

                for (size_t i = 0; i < w->n_jobs; i++)
                        if (!w->jobs[i].result)
                                pending = true;
                if (!pending)
                        break;
                if (w->daemon_left) {
                        progress_clear(w);
                        for (size_t i = 0; i < w->n_jobs; i++) {
                                char buf[JOB_WHAT_MAX];
                                if (w->jobs[i].result)
                                        continue;
                                (void) set_string(&w->jobs[i].result, "unknown");
                                log_error("Could not %s: stopstartd left the bus while job %" PRIu32 " was running; "
                                          "it resumes the job when it starts again.",
                                          job_what(&w->jobs[i], buf), w->jobs[i].id);
                        }
                        return -ECONNRESET;
                }

                r = sd_bus_process(w->bus, NULL);
                if (r < 0) {
                        progress_clear(w);
                        return log_error_errno(r, "Could not wait for the jobs: %m");
                }
                if (r > 0)
                        continue;
                if (w->progress)
                        progress_show(w);
                r = sd_bus_wait(w->bus, w->progress ? 250 * USEC_PER_MSEC : UINT64_MAX);
                if (r < 0 && r != -EINTR) {
                        progress_clear(w);
                        return log_error_errno(r, "Could not wait for the jobs: %m");
                }
        }
        progress_clear(w);

        for (size_t i = 0; i < w->n_jobs; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                WaitedJob *j = &w->jobs[i];
                _cleanup_free_ char *e = NULL, *shown = NULL;
                char buf[JOB_WHAT_MAX];

                /* The finished job stays on the bus for a while: its Error says why. */
                if (!streq(j->result, "done") &&
                    sd_bus_get_property_string(w->bus, SS_BUS_NAME, j->path, SS_BUS_IFACE_JOB, "Error", &error, &e) >= 0 &&
                    !isempty(e))
                        j->error = TAKE_PTR(e);  /* "no error" stays NULL: null in JSON */
                (void) set_string(&j->state, "done");

                if (streq(j->result, "done"))
                        continue;
                if (streq(j->result, "skipped")) {
                        if (arg_output.json == JSON_FORMAT_OFF)
                                log_info("Job %" PRIu32 " (%s) had nothing to do: %s", j->id, job_what(j, buf),
                                         isempty(j->error) ? "skipped" : j->error);
                        continue;
                }
                r = streq(j->result, "timeout") ? -ETIME : streq(j->result, "canceled") ? -ECANCELED : -EIO;
                shown = text_escape(strempty(j->error));
                log_error("Could not %s: job %" PRIu32 " %s%s%s", job_what(j, buf), j->id,
                          streq(j->result, "timeout") ? "timed out" : j->result, isempty(j->error) ? "." : ": ",
                          strempty(shown));
                if (ret == 0)
                        ret = r;
        }
        return ret;
}

int job_waiter_print(JobWaiter *w, bool waited) {
        _cleanup_(table_freep) Table *t = table_new("job", "kind", "instance", "path", "state", "result", "error", NULL);

        if (!t)
                return log_oom();
        for (size_t i = 0; i < w->n_jobs; i++) {
                const WaitedJob *j = &w->jobs[i];
                if (table_add_int(t, j->id) < 0 || table_add_string(t, j->kind) < 0 ||
                    table_add_string(t, j->instance) < 0 || table_add_string(t, j->path) < 0 ||
                    table_add_string(t, j->state) < 0 || table_add_string(t, j->result) < 0 ||
                    table_add_string(t, j->error) < 0)
                        return log_oom();
        }
        if (arg_output.json != JSON_FORMAT_OFF)
                return table_print(t, &arg_output);
        if (waited)
                return 0;  /* success is quiet, failures were logged */
        for (size_t i = 0; i < w->n_jobs; i++) {
                char buf[JOB_WHAT_MAX];
                printf("Queued job %" PRIu32 " (%s): %s\n", w->jobs[i].id, job_what(&w->jobs[i], buf), w->jobs[i].path);
        }
        return fflush(stdout) == 0 ? 0 : -EIO;
}

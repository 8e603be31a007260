/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stopstartctl schedule … and calendar … over org.stopstart.StopStart1 (dbus/README.md
 * "Schedules"). Names are resolved by the daemon (GetSchedule); a window NAME stands for its pair
 * NAME-up/NAME-down where that makes sense (show, edit, enable, disable, remove, preview,
 * occurrences). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-errors.h"
#include "ctl-bus.h"
#include "ctl-schedule-util.h"
#include "ctl-schedule.h"
#include "json-util.h"
#include "log.h"
#include "stopstartctl.h"
#include "strv.h"
#include "time-util.h"
#include "verbs.h"

/* ---- options ------------------------------------------------------------------------------------ */

enum {
        ARG_ACTION = SCHEDULE_OPTION_FIRST,
        ARG_ON,
        ARG_TZ,
        ARG_GRACE,
        ARG_EXCEPTIONS,
        ARG_UP,
        ARG_DOWN,
        ARG_FROM,
        ARG_TO,
        ARG_DRY_RUN,
        ARG_AT,
        ARG_BY,
        ARG_VALID_FROM,
        ARG_VALID_UNTIL,
        ARG_ENFORCE,
        ARG_MAX_TARGETS,
        ARG_NAME,
        ARG_DISABLED,
        ARG_LIMIT,
        ARG_COUNT = 'n',
};

const struct option schedule_options[] = {
        { "action",       required_argument, NULL, ARG_ACTION      },
        { "on",           required_argument, NULL, ARG_ON          },
        { "tz",           required_argument, NULL, ARG_TZ          },
        { "grace",        required_argument, NULL, ARG_GRACE       },
        { "exceptions",   required_argument, NULL, ARG_EXCEPTIONS  },
        { "up",           required_argument, NULL, ARG_UP          },
        { "down",         required_argument, NULL, ARG_DOWN        },
        { "count",        required_argument, NULL, ARG_COUNT       },
        { "from",         required_argument, NULL, ARG_FROM        },
        { "to",           required_argument, NULL, ARG_TO          },
        { "dry-run",      no_argument,       NULL, ARG_DRY_RUN     },
        { "at",           required_argument, NULL, ARG_AT          },
        { "by",           required_argument, NULL, ARG_BY          },
        { "valid-from",   required_argument, NULL, ARG_VALID_FROM  },
        { "valid-until",  required_argument, NULL, ARG_VALID_UNTIL },
        { "enforce",      optional_argument, NULL, ARG_ENFORCE     },
        { "max-targets",  required_argument, NULL, ARG_MAX_TARGETS },
        { "name",         required_argument, NULL, ARG_NAME        },
        { "disabled",     no_argument,       NULL, ARG_DISABLED    },
        { "limit",        required_argument, NULL, ARG_LIMIT       },
        {}
};

/* One bit per option (in the order of option_names), to say which sub-verbs take it. */
enum {
        O_ACTION = 1 << 0,
        O_ON = 1 << 1,
        O_TZ = 1 << 2,
        O_GRACE = 1 << 3,
        O_EXCEPTIONS = 1 << 4,
        O_UP = 1 << 5,
        O_DOWN = 1 << 6,
        O_COUNT = 1 << 7,
        O_FROM = 1 << 8,
        O_TO = 1 << 9,
        O_DRY_RUN = 1 << 10,
        O_AT = 1 << 11,
        O_BY = 1 << 12,
        O_VALID_FROM = 1 << 13,
        O_VALID_UNTIL = 1 << 14,
        O_ENFORCE = 1 << 15,
        O_MAX_TARGETS = 1 << 16,
        O_NAME = 1 << 17,
        O_DISABLED = 1 << 18,
        O_LIMIT = 1 << 19,
};

static const char * const option_names[] = {
        "--action", "--on", "--tz", "--grace", "--exceptions", "--up", "--down", "-n/--count", "--from", "--to",
        "--dry-run", "--at", "--by", "--valid-from", "--valid-until", "--enforce", "--max-targets", "--name",
        "--disabled", "--limit",
};

#define O_SETTINGS (O_TZ | O_GRACE | O_EXCEPTIONS | O_VALID_FROM | O_VALID_UNTIL | O_ENFORCE | O_MAX_TARGETS)

static unsigned arg_given = 0;
static char *arg_action = NULL;
static char **arg_on = NULL, **arg_up = NULL, **arg_down = NULL;
static char *arg_tz = NULL;
static usec_t arg_grace = 0;
static char **arg_exceptions = NULL;
static uint32_t arg_count = 10;
static usec_t arg_from = 0, arg_to = 0, arg_at = 0, arg_by = 0;
static bool arg_dry_run = false;
static usec_t arg_valid_from = 0, arg_valid_until = 0;
static bool arg_enforce = false;
static uint32_t arg_max_targets = 0;
static char *arg_new_name = NULL;
static bool arg_disabled = false;
static uint32_t arg_limit = 0;

static void free_args(void) {
        free(arg_action);
        strv_free(arg_on);
        strv_free(arg_up);
        strv_free(arg_down);
        free(arg_tz);
        strv_free(arg_exceptions);
        free(arg_new_name);
}

static int parse_u32(const char *s, uint32_t *ret) {
        char *end;
        unsigned long long v;

        if (isempty(s) || s[0] == '-' || s[0] == '+')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

static int set_string(char **p, const char *s) {
        char *d = strdup(s);
        if (!d)
                return log_oom();
        free(*p);
        *p = d;
        return 0;
}

static int parse_time_option(const char *option, const char *s, bool allow_empty, usec_t *ret) {
        char shown[NAME_TEXT_MAX];

        if (allow_empty && isempty(s)) {
                *ret = 0;
                return 0;
        }
        if (parse_timestamp(s, now(CLOCK_REALTIME), ret) < 0)
                return log_error_errno(EINVAL, "Invalid %s=\"%s\" (e.g. \"2026-12-24 18:00\", \"+2h\", \"tomorrow\", "
                                       "\"@1798128000\").", option, name_text(s, shown));
        return 0;
}

int schedule_parse_option(int c, const char *arg) {
        static bool cleanup_registered = false;
        char shown[NAME_TEXT_MAX];   /* the argument as a message may show it: escaped, shortened */
        int r;

        if (c < SCHEDULE_OPTION_FIRST && c != ARG_COUNT)
                return 0;
        if (!cleanup_registered) {
                atexit(free_args);
                cleanup_registered = true;
        }

        switch (c) {
        case ARG_ACTION:
                if (schedule_action_kind_from_string(arg) < 0)
                        return log_error_errno(EINVAL, "Invalid --action=\"%s\" (want start, stop, softstop, reboot "
                                               "or softreboot).", name_text(arg, shown));
                arg_given |= O_ACTION;
                return set_string(&arg_action, arg) < 0 ? -ENOMEM : 1;
        case ARG_ON:
        case ARG_UP:
        case ARG_DOWN:
                if (isempty(arg))
                        return log_error_errno(EINVAL, "--%s= needs a calendar spec (e.g. \"Mon..Fri 19:00\").",
                                               c == ARG_ON ? "on" : c == ARG_UP ? "up" : "down");
                arg_given |= c == ARG_ON ? O_ON : c == ARG_UP ? O_UP : O_DOWN;
                r = strv_extend(c == ARG_ON ? &arg_on : c == ARG_UP ? &arg_up : &arg_down, name_text(arg, shown));
                return r < 0 ? log_oom() : 1;
        case ARG_TZ:
                if (isempty(arg))
                        return log_error_errno(EINVAL, "--tz= needs a time zone (e.g. Europe/Berlin).");
                arg_given |= O_TZ;
                return set_string(&arg_tz, arg) < 0 ? -ENOMEM : 1;
        case ARG_GRACE:
                if (parse_timespan(arg, &arg_grace) < 0)
                        return log_error_errno(EINVAL, "Invalid --grace=\"%s\" (a time span such as 15min or 1h).", name_text(arg, shown));
                arg_given |= O_GRACE;
                return 1;
        case ARG_EXCEPTIONS: {
                /* Repeatable and comma-separated; an empty value clears the list (edit). */
                const char *p = arg;
                arg_given |= O_EXCEPTIONS;
                while (*p) {
                        size_t l = strcspn(p, ",");
                        if (l > 0) {
                                char *n = strndup(p, l);
                                if (!n || strv_consume(&arg_exceptions, n) < 0)
                                        return log_oom();
                        }
                        p += l;
                        if (*p == ',')
                                p++;
                }
                return 1;
        }
        case ARG_COUNT:
                if (parse_u32(arg, &arg_count) < 0 || arg_count == 0 || arg_count > 1000)
                        return log_error_errno(EINVAL, "Invalid -n \"%s\" (a count from 1 to 1000).", name_text(arg, shown));
                arg_given |= O_COUNT;
                return 1;
        case ARG_FROM:
                arg_given |= O_FROM;
                return parse_time_option("--from", arg, false, &arg_from) < 0 ? -EINVAL : 1;
        case ARG_TO:
                arg_given |= O_TO;
                return parse_time_option("--to", arg, false, &arg_to) < 0 ? -EINVAL : 1;
        case ARG_AT:
                arg_given |= O_AT;
                return parse_time_option("--at", arg, false, &arg_at) < 0 ? -EINVAL : 1;
        case ARG_VALID_FROM:
                arg_given |= O_VALID_FROM;
                return parse_time_option("--valid-from", arg, true, &arg_valid_from) < 0 ? -EINVAL : 1;
        case ARG_VALID_UNTIL:
                arg_given |= O_VALID_UNTIL;
                return parse_time_option("--valid-until", arg, true, &arg_valid_until) < 0 ? -EINVAL : 1;
        case ARG_BY:
                if (parse_timespan(arg, &arg_by) < 0 || arg_by == 0)
                        return log_error_errno(EINVAL, "Invalid --by=\"%s\" (a time span such as 30min or 2h).", name_text(arg, shown));
                arg_given |= O_BY;
                return 1;
        case ARG_DRY_RUN:
                arg_given |= O_DRY_RUN;
                arg_dry_run = true;
                return 1;
        case ARG_ENFORCE:
                r = arg ? parse_yes_no(arg) : 1;
                if (r < 0)
                        return log_error_errno(EINVAL, "Invalid --enforce=\"%s\" (yes or no).", name_text(arg, shown));
                arg_given |= O_ENFORCE;
                arg_enforce = r;
                return 1;
        case ARG_MAX_TARGETS:
                if (parse_u32(arg, &arg_max_targets) < 0)
                        return log_error_errno(EINVAL, "Invalid --max-targets=\"%s\" (a count; 0 = no limit).", name_text(arg, shown));
                arg_given |= O_MAX_TARGETS;
                return 1;
        case ARG_NAME:
                if (isempty(arg))
                        return log_error_errno(EINVAL, "--name= needs the new name.");
                arg_given |= O_NAME;
                return set_string(&arg_new_name, arg) < 0 ? -ENOMEM : 1;
        case ARG_DISABLED:
                arg_given |= O_DISABLED;
                arg_disabled = true;
                return 1;
        case ARG_LIMIT:
                if (parse_u32(arg, &arg_limit) < 0 || arg_limit == 0)
                        return log_error_errno(EINVAL, "Invalid --limit=\"%s\" (a count from 1).", name_text(arg, shown));
                arg_given |= O_LIMIT;
                return 1;
        }
        return 0;
}

/* ---- sub-verbs and what they take ------------------------------------------------------------------- */

static int schedule_add(int argc, char *argv[], void *userdata);
static int schedule_add_window(int argc, char *argv[], void *userdata);
static int schedule_list(int argc, char *argv[], void *userdata);
static int schedule_show(int argc, char *argv[], void *userdata);
static int schedule_edit(int argc, char *argv[], void *userdata);
static int schedule_enable(int argc, char *argv[], void *userdata);
static int schedule_preview(int argc, char *argv[], void *userdata);
static int schedule_simulate(int argc, char *argv[], void *userdata);
static int schedule_fire(int argc, char *argv[], void *userdata);
static int schedule_skip(int argc, char *argv[], void *userdata);
static int schedule_delay(int argc, char *argv[], void *userdata);
static int schedule_occurrences(int argc, char *argv[], void *userdata);
static int calendar_list(int argc, char *argv[], void *userdata);
static int calendar_show(int argc, char *argv[], void *userdata);
static int calendar_add(int argc, char *argv[], void *userdata);
static int calendar_remove(int argc, char *argv[], void *userdata);

static const Verb schedule_verbs[] = {
        { "add",         3, VERB_ANY, 0, schedule_add         },
        { "add-window",  3, VERB_ANY, 0, schedule_add_window  },
        { "list",        1, 1,        0, schedule_list        },
        { "show",        2, VERB_ANY, 0, schedule_show        },
        { "edit",        2, VERB_ANY, 0, schedule_edit        },
        { "enable",      2, VERB_ANY, 0, schedule_enable      },
        { "disable",     2, VERB_ANY, 0, schedule_enable      },
        { "remove",      2, VERB_ANY, 0, schedule_enable      },
        { "preview",     2, 2,        0, schedule_preview     },
        { "simulate",    2, 2,        0, schedule_simulate    },
        { "fire",        2, 2,        0, schedule_fire        },
        { "skip",        2, 2,        0, schedule_skip        },
        { "delay",       2, 2,        0, schedule_delay       },
        { "occurrences", 2, 2,        0, schedule_occurrences },
        {}
};

static const Verb calendar_verbs[] = {
        { "list",   1, 1,        0, calendar_list   },
        { "show",   2, 2,        0, calendar_show   },
        { "add",    3, VERB_ANY, 0, calendar_add    },
        { "remove", 2, VERB_ANY, 0, calendar_remove },
        {}
};

static const struct {
        const char *verb, *sub;
        unsigned options;
        unsigned required;
} applicable[] = {
        { "schedule", "add",         O_ACTION | O_ON | O_SETTINGS | O_DISABLED,            O_ACTION | O_ON },
        { "schedule", "add-window",  O_UP | O_DOWN | O_SETTINGS | O_DISABLED,              O_UP | O_DOWN   },
        { "schedule", "edit",        O_ACTION | O_ON | O_UP | O_DOWN | O_SETTINGS | O_NAME, 0               },
        { "schedule", "preview",     O_COUNT,                                              0               },
        { "schedule", "simulate",    O_FROM | O_TO,                                        O_FROM | O_TO   },
        { "schedule", "fire",        O_DRY_RUN,                                            0               },
        { "schedule", "skip",        O_AT,                                                 0               },
        { "schedule", "delay",       O_AT | O_BY,                                          O_BY            },
        { "schedule", "occurrences", O_LIMIT,                                              0               },
};

static const Verb *find_verb(const Verb *table, const char *name) {
        for (const Verb *v = table; v->name; v++)
                if (streq(v->name, name))
                        return v;
        return NULL;
}

static int check_targets(char **targets) {
        STRV_FOREACH(t, targets) {
                const char *problem = schedule_target_problem(*t);
                char shown[NAME_TEXT_MAX];
                if (problem)
                        return log_error_errno(EINVAL, "Invalid target \"%s\": %s.", name_text(*t, shown), problem);
        }
        return 0;
}

static int check_entries(char **entries) {
        STRV_FOREACH(e, entries) {
                const char *problem = calendar_entry_problem(*e);
                char shown[NAME_TEXT_MAX];
                if (problem)
                        return log_error_errno(EINVAL, "Invalid date \"%s\": %s.", name_text(*e, shown), problem);
        }
        return 0;
}

int schedule_check_command(int verb_argc, char *verb_argv[]) {
        const char *verb = verb_argc > 0 ? verb_argv[0] : "";
        unsigned allowed = 0, required = 0;
        const Verb *v;

        if (!streq(verb, "schedule") && !streq(verb, "calendar")) {
                for (size_t i = 0; i < ELEMENTSOF(option_names); i++)
                        if (arg_given & (1u << i))
                                return log_error_errno(EINVAL, "%s does not apply to \"%s\".", option_names[i], verb);
                return 0;
        }
        if (verb_argc < 2)
                return log_error_errno(EINVAL, "Missing %s command; see --help.", verb);
        v = find_verb(streq(verb, "schedule") ? schedule_verbs : calendar_verbs, verb_argv[1]);
        if (!v) {
                char shown[NAME_TEXT_MAX];
                return log_error_errno(EINVAL, "Unknown %s command \"%s\"; see --help.", verb,
                                       name_text(verb_argv[1], shown));
        }
        if ((v->min_args != VERB_ANY && (unsigned) verb_argc - 1 < v->min_args) ||
            (v->max_args != VERB_ANY && (unsigned) verb_argc - 1 > v->max_args))
                return log_error_errno(EINVAL, "Wrong number of arguments for \"%s %s\"; see --help.", verb, v->name);

        for (size_t i = 0; i < ELEMENTSOF(applicable); i++)
                if (streq(applicable[i].verb, verb) && streq(applicable[i].sub, v->name)) {
                        allowed = applicable[i].options;
                        required = applicable[i].required;
                }
        for (size_t i = 0; i < ELEMENTSOF(option_names); i++) {
                if ((arg_given & (1u << i)) && !(allowed & (1u << i)))
                        return log_error_errno(EINVAL, "%s does not apply to \"%s %s\".", option_names[i], verb, v->name);
                if ((required & (1u << i)) && !(arg_given & (1u << i)))
                        return log_error_errno(EINVAL, "\"%s %s\" needs %s; see --help.", verb, v->name, option_names[i]);
        }
        if (streq(v->name, "simulate") && arg_to <= arg_from)
                return log_error_errno(EINVAL, "--to= must be later than --from=.");
        if (streq(v->name, "edit") && (arg_given & O_ON) && (arg_given & (O_UP | O_DOWN)))
                return log_error_errno(EINVAL, "Give --on= for a schedule, or --up=/--down= for a window, not both.");
        if (arg_no_block && !(streq(verb, "schedule") && streq(v->name, "fire")))
                return log_error_errno(EINVAL, "--no-block does not apply to \"%s %s\".", verb, v->name);
        /* Malformed targets and dates are named before anything is asked of the daemon. */
        if (streq(verb, "schedule") && (streq(v->name, "add") || streq(v->name, "add-window") || streq(v->name, "edit")))
                return check_targets(verb_argv + 3);
        if (streq(verb, "calendar") && (streq(v->name, "add") || streq(v->name, "remove")))
                return check_entries(verb_argv + 3);
        return 0;
}

void schedule_help(void) {
        printf("Schedules:\n"
               "  schedule add NAME --action=ACTION --on=SPEC [--on=SPEC...] [--tz=ZONE] [--grace=SPAN]\n"
               "               [--exceptions=CALENDAR...] TARGET...\n"
               "                           Create a schedule (ACTION: start, stop, softstop, reboot,\n"
               "                           softreboot; SPEC: a systemd calendar spec)\n"
               "  schedule add-window NAME --up=SPEC --down=SPEC [--tz=ZONE] TARGET...\n"
               "                           Create NAME-up (start) and NAME-down (stop) together\n"
               "  schedule list            List schedules with their next and last firing\n"
               "  schedule show NAME...    Show a schedule (or a window's pair)\n"
               "  schedule edit NAME [OPTIONS] [TARGET...]\n"
               "                           Change what is given (targets replace the list)\n"
               "  schedule enable|disable|remove NAME...\n"
               "  schedule preview NAME [-n N]\n"
               "                           The next N firings with what each would do now\n"
               "  schedule simulate NAME --from=TIME --to=TIME\n"
               "                           Every firing in a range and the running hours it implies\n"
               "  schedule fire NAME [--dry-run]\n"
               "                           Run an occurrence now (--dry-run: only show the plan)\n"
               "  schedule skip NAME [--at=TIME]\n"
               "                           Skip the next (or that) occurrence\n"
               "  schedule delay NAME --by=SPAN [--at=TIME]\n"
               "                           Delay the next (or that) occurrence\n"
               "  schedule occurrences NAME\n"
               "                           The schedule's history: each instance's action and result\n"
               "      TARGET: an instance (OCID or unique name), compartment:OCID-or-path (with its\n"
               "      subtree), compartment-only:OCID-or-path, tag:KEY=VALUE, defined-tag:NS.KEY=VALUE\n\n"
               "Exception calendars (holidays, freezes: starts and reboots skipped, stops still run):\n"
               "  calendar list            List exception calendars\n"
               "  calendar show NAME       Show a calendar's dates\n"
               "  calendar add NAME DATE|DATE..DATE...\n"
               "                           Add dates (YYYY-MM-DD) or ranges; creates the calendar\n"
               "  calendar remove NAME [DATE|DATE..DATE...]\n"
               "                           Remove those dates, or the whole calendar\n\n");
}

void schedule_options_help(void) {
        printf("     --action=ACTION       schedule add, edit: start, stop, softstop, reboot, softreboot\n"
               "     --on=SPEC             schedule add, edit: a calendar spec (repeat for several)\n"
               "     --up=SPEC --down=SPEC schedule add-window, edit: the window's start and stop specs\n"
               "     --tz=ZONE             schedule add, add-window, edit: IANA time zone of the specs\n"
               "     --grace=SPAN          misfire grace (default 15min): later firings are \"missed\"\n"
               "     --exceptions=CAL,...  exception calendars (edit: \"\" clears them)\n"
               "     --valid-from=TIME --valid-until=TIME\n"
               "                           only fire within this interval (edit: \"\" clears)\n"
               "     --enforce[=BOOL]      re-assert the state at each firing even after manual changes\n"
               "     --max-targets=N       fail an occurrence whose targets grew beyond N (0: no limit)\n"
               "     --disabled            schedule add, add-window: create it disabled\n"
               "     --name=NEW            schedule edit: rename\n"
               "  -n --count=N             schedule preview: how many firings (default 10)\n"
               "     --from=TIME --to=TIME schedule simulate: the range\n"
               "     --dry-run             schedule fire: show what would happen, act on nothing\n"
               "     --at=TIME             schedule skip, delay: the occurrence at TIME (default: next)\n"
               "     --by=SPAN             schedule delay: by how long\n"
               "     --limit=N             schedule occurrences: the newest N\n");
}

/* ---- shared helpers ------------------------------------------------------------------------------- */

/* Exit statuses of these verbs (README): 2 for input the client or the daemon refused (a spec,
 * a target, a zone, a date), 4 for an unknown schedule or calendar, 1 for other failures. */
static int exit_status(int r) {
        if (r >= 0)
                return r;
        switch (-r) {
        case ENXIO:
                return EXIT_NO_SUCH_OBJECT;
        case EINVAL:
        case E2BIG:
                return EXIT_USAGE;
        default:
                return EXIT_FAILURE;
        }
}

static int get_schedule(sd_bus *bus, const char *name, sd_bus_error *error, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *p;
        int r;

        r = bus_call_method(bus, &bus_manager, "GetSchedule", error, &reply, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &p);
        if (r < 0)
                return r;
        *ret = strdup(p);
        return *ret ? 0 : -ENOMEM;
}

static char *schedule_string_property(sd_bus *bus, const char *path, const char *name) {
        char *s = NULL;
        if (sd_bus_get_property_string(bus, SS_BUS_NAME, path, SS_BUS_IFACE_SCHEDULE, name, NULL, &s) < 0)
                return NULL;
        return s;
}

/* NAME → its object, or a window's pair (up first). Logs; ENXIO when there is neither. */
static int resolve(sd_bus *bus, const char *name, bool allow_window, char ***ret_paths) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = get_schedule(bus, name, &error, &path);
        if (r >= 0) {
                if (strv_consume(&paths, TAKE_PTR(path)) < 0)
                        return log_oom();
                *ret_paths = TAKE_PTR(paths);
                return 0;
        }
        if (!sd_bus_error_has_name(&error, SS_ERROR_NO_SUCH_SCHEDULE))
                return log_bus_error(&error, r, "find schedule %s", name);

        /* A window's name: NAME-up and NAME-down, both saying so. */
        for (int i = 0; i < 2; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *member = strprintf("%s-%s", name, i == 0 ? "up" : "down"), *p = NULL, *w = NULL;

                if (!member)
                        return log_oom();
                if (get_schedule(bus, member, &e, &p) < 0)
                        break;
                w = schedule_string_property(bus, p, "Window");
                if (!w || !streq(w, name))
                        break;
                if (strv_consume(&paths, TAKE_PTR(p)) < 0)
                        return log_oom();
        }
        if (strv_length(paths) == 2) {
                if (!allow_window)
                        return log_error_errno(EINVAL, "%s is a window: name %s-up or %s-down.", name, name, name);
                *ret_paths = TAKE_PTR(paths);
                return 0;
        }
        return log_bus_error(&error, -ENXIO, "find schedule %s", name);
}

/* id → display name, for human output only (best effort: the id stays when unknown). */
static json_object *instance_names(sd_bus *bus) {
        _cleanup_(bus_pages_freep) sd_bus_message **pages = NULL;
        json_object *names = json_object_new_object();
        const char *id, *name, *a, *b, *c, *d, *o;
        int managed;

        if (!names)
                return NULL;
        if (bus_list_instances_pages(bus, NULL, NULL, NULL, &pages) >= 0)
                for (size_t p = 0; pages[p]; p++)
                        if (sd_bus_message_enter_container(pages[p], 'a', "(ssssssbo)") >= 0)
                                while (sd_bus_message_read(pages[p], "(ssssssbo)", &id, &name, &a, &b, &c, &d, &managed,
                                                           &o) > 0)
                                        json_object_object_add(names, id, json_object_new_string(name));
        return names;
}

static const char *instance_name(json_object *names, const char *id) {
        json_object *v;
        if (names && json_object_object_get_ex(names, id, &v))
                return json_object_get_string(v);
        return id;
}

/* "" → JSON null: the convention for "no reason", "no error". */
static json_object *json_string_or_null(const char *s) {
        return isempty(s) ? NULL : json_object_new_string(s);
}

static int json_add(json_object *o, const char *key, json_object *v) {
        return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

static char *time_text(usec_t t) {
        char buf[TIMESTAMP_MAX];
        return t == 0 ? strdup("-") : strdup(format_timestamp(buf, sizeof buf, t));
}

static char *relative_text(usec_t t) {
        char buf[TIMESTAMP_MAX];
        return t == 0 ? strdup("-") : strdup(format_timestamp_relative(buf, sizeof buf, t, now(CLOCK_REALTIME)));
}

static int append_strv(sd_bus_message *m, char **l) {
        static char *empty[] = { NULL };
        return sd_bus_message_append_strv(m, l ?: empty);
}

/* {"key", <as>} into an open a{sv}. */
static int append_strv_entry(sd_bus_message *m, const char *key, char **l) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = append_strv(m, l);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* The a{sv} of CreateSchedule/CreateWindow (create) or Update from the options given;
 * calendars and targets only for Update (NULL: unchanged). */
static int append_options(sd_bus_message *m, bool create, char **calendars, char **targets) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && !create && (arg_given & O_NAME))
                r = sd_bus_message_append(m, "{sv}", "name", "s", arg_new_name);
        if (r >= 0 && !create && (arg_given & O_ACTION))
                r = sd_bus_message_append(m, "{sv}", "action", "s", arg_action);
        if (r >= 0 && !create && calendars)
                r = append_strv_entry(m, "calendars", calendars);
        if (r >= 0 && !create && targets)
                r = append_strv_entry(m, "targets", targets);
        if (r >= 0 && !create && (arg_given & O_TZ))
                r = sd_bus_message_append(m, "{sv}", "time_zone", "s", arg_tz);
        if (r >= 0 && (arg_given & O_GRACE))
                r = sd_bus_message_append(m, "{sv}", "misfire_grace_usec", "t", (uint64_t) arg_grace);
        if (r >= 0 && (arg_given & O_EXCEPTIONS))
                r = append_strv_entry(m, "exception_calendars", arg_exceptions);
        if (r >= 0 && (arg_given & O_VALID_FROM))
                r = sd_bus_message_append(m, "{sv}", "valid_from", "t", (uint64_t) arg_valid_from);
        if (r >= 0 && (arg_given & O_VALID_UNTIL))
                r = sd_bus_message_append(m, "{sv}", "valid_until", "t", (uint64_t) arg_valid_until);
        if (r >= 0 && (arg_given & O_ENFORCE))
                r = sd_bus_message_append(m, "{sv}", "enforce", "b", (int) arg_enforce);
        if (r >= 0 && (arg_given & O_MAX_TARGETS))
                r = sd_bus_message_append(m, "{sv}", "max_targets", "u", arg_max_targets);
        if (r >= 0 && create && arg_disabled)
                r = sd_bus_message_append(m, "{sv}", "enabled", "b", 0);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* ---- schedule add, add-window ------------------------------------------------------------------- */

static json_object *schedule_json(json_object *props, const char *path);

/* With --json, what add and add-window created, as `schedule show --json` shows it: the schedule,
 * or a window's two. Text output stays quiet, as systemctl's is on success. */
static int print_created(sd_bus *bus, const char *what, char **paths) {
        _cleanup_json_ json_object *all = NULL;

        if (arg_output.json == JSON_FORMAT_OFF)
                return 0;
        all = json_object_new_array();
        if (!all)
                return log_oom();
        STRV_FOREACH(p, paths) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_json_ json_object *props = NULL;
                json_object *o;
                int r;

                r = bus_get_all_properties(bus, *p, SS_BUS_IFACE_SCHEDULE, NULL, &error, &props);
                if (r < 0)
                        return log_bus_error(&error, r, "read the new schedule %s", what);
                o = schedule_json(props, *p);
                if (!o || json_object_array_add(all, o) < 0)
                        return log_oom();
        }
        if (strv_length(paths) == 1)
                return output_json(json_object_array_get_idx(all, 0), &arg_output);
        return output_json(all, &arg_output);
}

static int schedule_add(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus *bus = userdata;
        const char *name = argv[1];
        char **targets = argv + 2;
        int r;

        r = bus_new_method_call(bus, SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "CreateSchedule", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", name, arg_action);
        if (r >= 0)
                r = append_strv(m, arg_on);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", strempty(arg_tz));
        if (r >= 0)
                r = append_strv(m, targets);
        if (r >= 0)
                r = append_options(m, true, NULL, NULL);
        if (r < 0)
                return log_bus_error(NULL, r, "create schedule %s", name);
        const char *path;

        r = bus_call(bus, m, &error, &reply);
        if (r < 0)
                return log_bus_error(&error, r, "create schedule %s", name);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_bus_error(NULL, r, "read the answer to creating schedule %s", name);
        return print_created(bus, name, STRV_MAKE(path));
}

static int schedule_add_window(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus *bus = userdata;
        const char *name = argv[1];
        char **targets = argv + 2;
        int r;

        r = bus_new_method_call(bus, SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "CreateWindow", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = append_strv(m, arg_up);
        if (r >= 0)
                r = append_strv(m, arg_down);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", strempty(arg_tz));
        if (r >= 0)
                r = append_strv(m, targets);
        if (r >= 0)
                r = append_options(m, true, NULL, NULL);
        if (r < 0)
                return log_bus_error(NULL, r, "create window %s", name);
        const char *up, *down;

        r = bus_call(bus, m, &error, &reply);
        if (r < 0)
                return log_bus_error(&error, r, "create window %s", name);
        r = sd_bus_message_read(reply, "oo", &up, &down);
        if (r < 0)
                return log_bus_error(NULL, r, "read the answer to creating window %s", name);
        return print_created(bus, name, STRV_MAKE(up, down));
}

/* ---- schedule list ---------------------------------------------------------------------------------- */

typedef struct ScheduleRow {
        const char *path, *name, *action;
        int enabled;
        uint64_t next, last;
} ScheduleRow;

static int compare_schedule_rows(const void *a, const void *b) {
        const ScheduleRow *x = a, *y = b;
        return strcmp(x->name, y->name);
}

static int schedule_list(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ ScheduleRow *rows = NULL;
        sd_bus *bus = userdata;
        size_t n = 0;
        int r;

        r = bus_call_method(bus, &bus_manager, "ListSchedules", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "list schedules");
        r = sd_bus_message_enter_container(reply, 'a', "(ossbtt)");
        if (r < 0)
                return log_bus_error(NULL, r, "read the schedules");
        for (;;) {
                ScheduleRow row, *k;

                r = sd_bus_message_read(reply, "(ossbtt)", &row.path, &row.name, &row.action, &row.enabled, &row.next,
                                        &row.last);
                if (r < 0)
                        return log_bus_error(NULL, r, "read the schedules");
                if (r == 0)
                        break;
                k = realloc(rows, (n + 1) * sizeof(ScheduleRow));
                if (!k)
                        return log_oom();
                rows = k;
                rows[n++] = row;
        }
        if (n > 0)
                qsort(rows, n, sizeof(ScheduleRow), compare_schedule_rows);

        t = table_new("name", "action", "enabled", "next", "left", "last", "next_elapse", "last_trigger", "object",
                      NULL);
        if (!t)
                return log_oom();
        (void) table_set_display(t, "name", "action", "enabled", "next", "left", "last", NULL);
        (void) table_hide_from_json(t, "next");
        (void) table_hide_from_json(t, "left");
        (void) table_hide_from_json(t, "last");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *next = time_text(rows[i].next), *left = relative_text(rows[i].next),
                                    *last = time_text(rows[i].last);
                char a[ISO8601_MAX], b[ISO8601_MAX];

                if (!next || !left || !last)
                        return log_oom();
                if (table_add_string(t, rows[i].name) < 0 || table_add_string(t, rows[i].action) < 0 ||
                    table_add_bool(t, rows[i].enabled) < 0 || table_add_string(t, next) < 0 ||
                    table_add_string(t, left) < 0 || table_add_string(t, last) < 0 ||
                    table_add_string(t, format_iso8601(a, sizeof a, rows[i].next)) < 0 ||
                    table_add_string(t, format_iso8601(b, sizeof b, rows[i].last)) < 0 ||
                    table_add_string(t, rows[i].path) < 0)
                        return log_oom();
        }
        (void) table_set_footer(t, "%zu schedule%s listed.", n, n == 1 ? "" : "s");
        (void) table_set_empty_text(t, "No schedules.");
        pager_open(&arg_output);
        return table_print(t, &arg_output);
}

/* ---- schedule show ---------------------------------------------------------------------------------- */

static const char *prop_str(json_object *props, const char *name) {
        json_object *v;
        if (!json_object_object_get_ex(props, name, &v) || !json_object_is_type(v, json_type_string))
                return "";
        return json_object_get_string(v);
}

static uint64_t prop_u64(json_object *props, const char *name) {
        json_object *v;
        return json_object_object_get_ex(props, name, &v) ? json_object_get_uint64(v) : 0;
}

static bool prop_bool(json_object *props, const char *name) {
        json_object *v;
        return json_object_object_get_ex(props, name, &v) && json_object_get_boolean(v);
}

static json_object *prop_array(json_object *props, const char *name) {
        json_object *v;
        if (!json_object_object_get_ex(props, name, &v) || !json_object_is_type(v, json_type_array))
                return NULL;
        return v;
}

static json_object *array_or_empty(json_object *a) {
        return a ? json_object_get(a) : json_object_new_array();
}

/* The schedule as --json shows it: snake_case keys, ISO 8601 times, null for none. */
static json_object *schedule_json(json_object *props, const char *path) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o || json_add(o, "name", json_object_new_string(prop_str(props, "Name"))) < 0 ||
            json_add(o, "id", json_object_new_uint64(prop_u64(props, "Id"))) < 0 ||
            json_add(o, "action", json_object_new_string(prop_str(props, "Action"))) < 0 ||
            json_add(o, "enabled", json_object_new_boolean(prop_bool(props, "Enabled"))) < 0 ||
            json_add(o, "calendars", array_or_empty(prop_array(props, "Calendars"))) < 0 ||
            json_add(o, "time_zone", json_object_new_string(prop_str(props, "TimeZone"))) < 0 ||
            json_add(o, "targets", array_or_empty(prop_array(props, "Targets"))) < 0 ||
            json_add(o, "target_count", json_object_new_uint64(prop_u64(props, "TargetCount"))) < 0 ||
            json_add(o, "exception_calendars", array_or_empty(prop_array(props, "ExceptionCalendars"))) < 0 ||
            json_add(o, "misfire_grace_usec", json_object_new_uint64(prop_u64(props, "MisfireGraceUSec"))) < 0 ||
            json_add(o, "enforce", json_object_new_boolean(prop_bool(props, "Enforce"))) < 0 ||
            json_add(o, "max_targets", json_object_new_uint64(prop_u64(props, "MaxTargets"))) < 0 ||
            json_add(o, "valid_from", json_iso8601(prop_u64(props, "ValidFrom"))) < 0 ||
            json_add(o, "valid_until", json_iso8601(prop_u64(props, "ValidUntil"))) < 0 ||
            json_add(o, "window", json_string_or_null(prop_str(props, "Window"))) < 0 ||
            json_add(o, "next_elapse", json_iso8601(prop_u64(props, "NextElapse"))) < 0 ||
            json_add(o, "last_trigger", json_iso8601(prop_u64(props, "LastTrigger"))) < 0 ||
            json_add(o, "object", json_object_new_string(path)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static int add_row(Table *t, const char *key, const char *label, const char *value) {
        if (table_add_key(t, key, label) < 0 || table_add_string(t, value) < 0)
                return -ENOMEM;
        return 0;
}

/* One row per element; the label only on the first. */
static int add_list_rows(Table *t, const char *key, const char *label, json_object *a) {
        size_t n = a ? json_object_array_length(a) : 0;
        int r;

        if (n == 0)
                return add_row(t, key, label, "-");
        for (size_t i = 0; i < n; i++) {
                r = add_row(t, key, i == 0 ? label : "", json_object_get_string(json_object_array_get_idx(a, i)));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_time_row(Table *t, const char *key, const char *label, uint64_t usec, const char *none) {
        char a[TIMESTAMP_MAX], b[TIMESTAMP_MAX];

        if (usec == 0)
                return add_row(t, key, label, none);
        if (table_add_key(t, key, label) < 0 ||
            table_add_stringf(t, "%s (%s)", format_timestamp(a, sizeof a, usec),
                              format_timestamp_relative(b, sizeof b, usec, now(CLOCK_REALTIME))) < 0)
                return -ENOMEM;
        return 0;
}

/* compartment OCID → path, for human output only (best effort: the OCID stays when unknown). */
static json_object *compartment_paths(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        json_object *paths = json_object_new_object();
        const char *id, *name, *path, *state, *o;
        uint32_t n;

        if (paths && bus_call_method(bus, &bus_manager, "ListCompartments", NULL, &reply, NULL) >= 0 &&
            sd_bus_message_enter_container(reply, 'a', "(ssssuo)") >= 0)
                while (sd_bus_message_read(reply, "(ssssuo)", &id, &name, &path, &state, &n, &o) > 0)
                        json_object_object_add(paths, id, json_object_new_string(path));
        return paths;
}

/* Targets as the operator names them: compartment:tenancy/prod rather than its OCID. */
static json_object *targets_text(json_object *targets, json_object *paths) {
        json_object *out = json_object_new_array();

        for (size_t i = 0; out && i < (targets ? json_object_array_length(targets) : 0); i++) {
                const char *t = json_object_get_string(json_object_array_get_idx(targets, i)), *colon = strchr(t, ':');
                json_object *path = NULL;
                _cleanup_free_ char *shown = NULL;

                if (colon && (startswith(t, "compartment:") || startswith(t, "compartment-only:")) &&
                    json_object_object_get_ex(paths, colon + 1, &path))
                        shown = strprintf("%.*s%s", (int) (colon - t + 1), t, json_object_get_string(path));
                if (json_object_array_add(out, json_object_new_string(shown ?: t)) < 0)
                        return json_object_put(out), NULL;
        }
        return out;
}

static int print_schedule_human(json_object *props, const char *path, json_object *paths) {
        _cleanup_(table_freep) Table *t = table_new_vertical();
        _cleanup_json_ json_object *targets = targets_text(prop_array(props, "Targets"), paths);
        const char *tz = prop_str(props, "TimeZone"), *window = prop_str(props, "Window");
        uint64_t max = prop_u64(props, "MaxTargets");
        char span[TIMESPAN_MAX];

        if (!t)
                return log_oom();
        if (add_row(t, "name", "Name", prop_str(props, "Name")) < 0 ||
            add_row(t, "action", "Action", prop_str(props, "Action")) < 0 ||
            add_row(t, "enabled", "Enabled", prop_bool(props, "Enabled") ? "yes" : "no") < 0 ||
            add_list_rows(t, "calendars", "Calendar", prop_array(props, "Calendars")) < 0 ||
            add_row(t, "time_zone", "Time zone", strdash(tz)) < 0 ||
            add_list_rows(t, "targets", "Targets", targets) < 0 ||
            table_add_key(t, "target_count", "Instances") < 0 ||
            table_add_stringf(t, "%" PRIu64 " targeted now", prop_u64(props, "TargetCount")) < 0 ||
            (max > 0 && (table_add_key(t, "max_targets", "Max targets") < 0 || table_add_int(t, (int64_t) max) < 0)) ||
            add_list_rows(t, "exception_calendars", "Exceptions", prop_array(props, "ExceptionCalendars")) < 0 ||
            add_row(t, "misfire_grace", "Misfire grace",
                    format_timespan(span, sizeof span, prop_u64(props, "MisfireGraceUSec"))) < 0 ||
            add_row(t, "enforce", "Enforce", prop_bool(props, "Enforce") ? "yes" : "no") < 0 ||
            (prop_u64(props, "ValidFrom") &&
             add_time_row(t, "valid_from", "Valid from", prop_u64(props, "ValidFrom"), "-") < 0) ||
            (prop_u64(props, "ValidUntil") &&
             add_time_row(t, "valid_until", "Valid until", prop_u64(props, "ValidUntil"), "-") < 0) ||
            (!isempty(window) && add_row(t, "window", "Window", window) < 0) ||
            add_time_row(t, "next_elapse", "Next", prop_u64(props, "NextElapse"), "-") < 0 ||
            add_time_row(t, "last_trigger", "Last", prop_u64(props, "LastTrigger"), "never") < 0 ||
            add_row(t, "object", "Object", path) < 0)
                return log_oom();
        return table_print(t, &arg_output);
}

static int schedule_show(int argc, char *argv[], void *userdata) {
        _cleanup_json_ json_object *all = NULL, *paths = NULL;
        sd_bus *bus = userdata;
        bool first = true;
        int r;

        if (arg_output.json != JSON_FORMAT_OFF) {
                all = json_object_new_array();
                if (!all)
                        return log_oom();
        } else {
                paths = compartment_paths(bus);
                pager_open(&arg_output);
        }

        for (int i = 1; i < argc; i++) {
                _cleanup_strv_free_ char **objects = NULL;

                r = resolve(bus, argv[i], true, &objects);
                if (r < 0)
                        return r;
                STRV_FOREACH(p, objects) {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                        _cleanup_json_ json_object *props = NULL;

                        r = bus_get_all_properties(bus, *p, SS_BUS_IFACE_SCHEDULE, NULL, &error, &props);
                        if (r < 0)
                                return log_bus_error(&error, r, "read schedule %s", argv[i]);
                        if (all) {
                                json_object *o = schedule_json(props, *p);
                                if (!o || json_object_array_add(all, o) < 0)
                                        return log_oom();
                                continue;
                        }
                        if (!first)
                                putchar('\n');
                        first = false;
                        r = print_schedule_human(props, *p, paths);
                        if (r < 0)
                                return r;
                }
        }
        if (!all)
                return 0;
        /* One NAME that is one schedule: the object itself; else an array. */
        if (argc == 2 && json_object_array_length(all) == 1)
                return output_json(json_object_array_get_idx(all, 0), &arg_output);
        return output_json(all, &arg_output);
}

/* ---- schedule edit ---------------------------------------------------------------------------------- */

static int update_one(sd_bus *bus, const char *path, const char *what, char **calendars, char **targets) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_new_method_call(bus, path, SS_BUS_IFACE_SCHEDULE, "Update", &m);
        if (r >= 0)
                r = append_options(m, false, calendars, targets);
        if (r < 0)
                return log_bus_error(NULL, r, "change schedule %s", what);
        r = bus_call(bus, m, &error, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "change schedule %s", what);
        return 0;
}

static int schedule_edit(int argc, char *argv[], void *userdata) {
        _cleanup_strv_free_ char **paths = NULL;
        sd_bus *bus = userdata;
        const char *name = argv[1];
        char **targets = argc > 2 ? argv + 2 : NULL;
        size_t n;
        int r;

        if (arg_given == 0 && !targets)
                return log_error_errno(EINVAL, "Nothing to change: give options or targets; see --help.");
        r = resolve(bus, name, true, &paths);
        if (r < 0)
                return r;
        n = strv_length(paths);
        if (n == 1 && (arg_given & (O_UP | O_DOWN)))
                return log_error_errno(EINVAL, "--up=/--down= apply to a window; %s is a schedule: use --on=.", name);
        if (n == 2 && (arg_given & (O_ON | O_ACTION | O_NAME)))
                return log_error_errno(EINVAL, "%s is a window: change its specs with --up=/--down=; "
                                       "its members' actions and names are fixed.", name);

        for (size_t i = 0; i < n; i++) {
                char **calendars = n == 1 ? ((arg_given & O_ON) ? arg_on : NULL)
                                          : i == 0 ? ((arg_given & O_UP) ? arg_up : NULL)
                                                   : ((arg_given & O_DOWN) ? arg_down : NULL);
                r = update_one(bus, paths[i], name, calendars, targets);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- schedule enable, disable, remove ----------------------------------------------------------- */

/* Every name is resolved before anything changes (as systemctl disable refuses a list with an
 * unknown unit in it): a typo in the list changes nothing, rather than the names before it. */
static int schedule_enable(int argc, char *argv[], void *userdata) {
        sd_bus *bus = userdata;
        const char *method = streq(argv[0], "enable") ? "Enable" : streq(argv[0], "disable") ? "Disable" : "Delete";
        _cleanup_strv_free_ char **first = NULL;
        int r, ret = 0;

        for (int i = 1; i < argc; i++) {
                _cleanup_strv_free_ char **paths = NULL;

                r = resolve(bus, argv[i], true, &paths);
                if (r < 0) {
                        if (ret == 0)
                                ret = r;
                        continue;
                }
                /* The daemon changes a window's pair together: one call does both. */
                if (strv_extend(&first, paths[0]) < 0)
                        return log_oom();
        }
        if (ret < 0)
                return ret;

        for (int i = 1; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                r = bus_call_object(bus, first[i - 1], SS_BUS_IFACE_SCHEDULE, method, &error, NULL, NULL);
                if (r < 0) {
                        r = log_bus_error(&error, r, "%s schedule %s", argv[0], argv[i]);
                        if (ret == 0)
                                ret = r;
                }
        }
        return ret;
}

/* ---- schedule preview ------------------------------------------------------------------------------- */

typedef struct PreviewRow {
        uint64_t at;
        char *schedule, *status, *reason;
        json_object *o;          /* the --json object */
        unsigned act, skip;
} PreviewRow;

static void preview_rows_free(PreviewRow *rows, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(rows[i].schedule);
                free(rows[i].status);
                free(rows[i].reason);
                json_object_put(rows[i].o);
        }
        free(rows);
}

static int compare_preview(const void *a, const void *b) {
        const PreviewRow *x = a, *y = b;
        return x->at < y->at ? -1 : x->at > y->at ? 1 : strcmp(x->schedule, y->schedule);
}

/* Reads one Preview() reply into rows. */
static int read_preview(sd_bus_message *reply, const char *sname, PreviewRow **rows, size_t *n) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(tssa(sss))");
        if (r < 0)
                return r;
        for (;;) {
                _cleanup_json_ json_object *o = NULL, *inst = NULL;
                const char *status, *reason, *id, *decision, *why;
                PreviewRow *k;
                uint64_t at;
                unsigned act = 0, skip = 0;

                r = sd_bus_message_enter_container(reply, 'r', "tssa(sss)");
                if (r <= 0)
                        return r;
                r = sd_bus_message_read(reply, "tss", &at, &status, &reason);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "(sss)");
                if (r < 0)
                        return r;
                inst = json_object_new_array();
                if (!inst)
                        return -ENOMEM;
                while ((r = sd_bus_message_read(reply, "(sss)", &id, &decision, &why)) > 0) {
                        json_object *e = json_object_new_object();
                        if (!e || json_add(e, "instance_id", json_object_new_string(id)) < 0 ||
                            json_add(e, "decision", json_object_new_string(decision)) < 0 ||
                            json_add(e, "reason", json_string_or_null(why)) < 0 || json_object_array_add(inst, e) < 0)
                                return -ENOMEM;
                        if (streq(decision, "act"))
                                act++;
                        else
                                skip++;
                }
                if (r < 0 || (r = sd_bus_message_exit_container(reply)) < 0 ||
                    (r = sd_bus_message_exit_container(reply)) < 0)
                        return r;

                o = json_object_new_object();
                if (!o || json_add(o, "at", json_iso8601(at)) < 0 ||
                    json_add(o, "schedule", json_object_new_string(sname)) < 0 ||
                    json_add(o, "status", json_object_new_string(status)) < 0 ||
                    json_add(o, "reason", json_string_or_null(reason)) < 0 ||
                    json_add(o, "instances", TAKE_PTR(inst)) < 0)
                        return -ENOMEM;
                k = realloc(*rows, (*n + 1) * sizeof(PreviewRow));
                if (!k)
                        return -ENOMEM;
                *rows = k;
                k[*n] = (PreviewRow) { .at = at, .o = TAKE_PTR(o), .act = act, .skip = skip, .schedule = strdup(sname),
                                       .status = strdup(status), .reason = strdup(reason) };
                (*n)++;
                if (!k[*n - 1].schedule || !k[*n - 1].status || !k[*n - 1].reason)
                        return -ENOMEM;
        }
}

static int print_preview(PreviewRow *rows, size_t n, bool window) {
        _cleanup_json_ json_object *out = json_object_new_array();
        _cleanup_(table_freep) Table *t = table_new("at", "left", "schedule", "status", "act", "skip", "reason", NULL);

        if (!out || !t)
                return log_oom();
        (void) table_set_header(t, "act", "ACTING ON");
        (void) table_set_header(t, "skip", "SKIPPING");
        if (!window)
                (void) table_set_display(t, "at", "left", "status", "act", "skip", "reason", NULL);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *at = time_text(rows[i].at), *left = relative_text(rows[i].at);
                if (!at || !left || table_add_string(t, at) < 0 || table_add_string(t, left) < 0 ||
                    table_add_string(t, rows[i].schedule) < 0 || table_add_string(t, rows[i].status) < 0 ||
                    table_add_int(t, rows[i].act) < 0 || table_add_int(t, rows[i].skip) < 0 ||
                    table_add_string(t, isempty(rows[i].reason) ? NULL : rows[i].reason) < 0 ||
                    json_object_array_add(out, json_object_get(rows[i].o)) < 0)
                        return log_oom();
        }
        if (arg_output.json != JSON_FORMAT_OFF)
                return output_json(out, &arg_output);
        (void) table_set_empty_text(t, "No coming firings (disabled, or past its validity).");
        pager_open(&arg_output);
        return table_print(t, &arg_output);
}

static int schedule_preview(int argc, char *argv[], void *userdata) {
        _cleanup_strv_free_ char **paths = NULL;
        PreviewRow *rows = NULL;
        sd_bus *bus = userdata;
        size_t n = 0;
        int r;

        r = resolve(bus, argv[1], true, &paths);
        if (r < 0)
                return r;
        STRV_FOREACH(p, paths) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                _cleanup_free_ char *sname = schedule_string_property(bus, *p, "Name");

                r = bus_call_object(bus, *p, SS_BUS_IFACE_SCHEDULE, "Preview", &error, &reply, "u", arg_count);
                if (r < 0) {
                        r = log_bus_error(&error, r, "preview schedule %s", argv[1]);
                        goto finish;
                }
                r = read_preview(reply, strempty(sname), &rows, &n);
                if (r < 0) {
                        r = log_bus_error(NULL, r, "read the preview of %s", argv[1]);
                        goto finish;
                }
        }
        /* A window shows both members' firings interleaved, still N in all. */
        if (n > 0)
                qsort(rows, n, sizeof(PreviewRow), compare_preview);
        r = print_preview(rows, MIN(n, (size_t) arg_count), strv_length(paths) > 1);
finish:
        preview_rows_free(rows, n);
        return r;
}

/* ---- schedule simulate ---------------------------------------------------------------------------- */

static int schedule_simulate(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_json_ json_object *out = NULL, *occ = NULL, *inst = NULL, *names = NULL;
        _cleanup_(table_freep) Table *t = NULL, *h = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        sd_bus *bus = userdata;
        int r;

        r = resolve(bus, argv[1], false, &paths);
        if (r < 0)
                return r;
        r = bus_call_object(bus, paths[0], SS_BUS_IFACE_SCHEDULE, "Simulate", &error, &reply, "tt", (uint64_t) arg_from,
                            (uint64_t) arg_to);
        if (r < 0)
                return log_bus_error(&error, r, "simulate schedule %s", argv[1]);

        out = json_object_new_object();
        occ = json_object_new_array();
        inst = json_object_new_array();
        t = table_new("at", "action", "instances", NULL);
        h = table_new("instance", "running_hours", "always_on_hours", "saved", NULL);
        if (!out || !occ || !inst || !t || !h)
                return log_oom();
        if (arg_output.json == JSON_FORMAT_OFF)
                names = instance_names(bus);
        (void) table_set_header(h, "running_hours", "RUNNING H");
        (void) table_set_header(h, "always_on_hours", "ALWAYS-ON H");

        r = sd_bus_message_enter_container(reply, 'a', "(tsa(ss))");
        if (r < 0)
                return log_bus_error(NULL, r, "read the simulation");
        for (;;) {
                _cleanup_json_ json_object *o = NULL, *states = NULL;
                _cleanup_free_ char *when = NULL;
                const char *action, *id, *desired;
                uint64_t at;
                unsigned count = 0;

                r = sd_bus_message_enter_container(reply, 'r', "tsa(ss)");
                if (r < 0)
                        return log_bus_error(NULL, r, "read the simulation");
                if (r == 0)
                        break;
                r = sd_bus_message_read(reply, "ts", &at, &action);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "(ss)");
                if (r < 0)
                        return log_bus_error(NULL, r, "read the simulation");
                states = json_object_new_array();
                if (!states)
                        return log_oom();
                while ((r = sd_bus_message_read(reply, "(ss)", &id, &desired)) > 0) {
                        json_object *e = json_object_new_object();
                        if (!e || json_add(e, "instance_id", json_object_new_string(id)) < 0 ||
                            json_add(e, "desired_state", json_object_new_string(desired)) < 0 ||
                            json_object_array_add(states, e) < 0)
                                return log_oom();
                        count++;
                }
                if (r < 0 || (r = sd_bus_message_exit_container(reply)) < 0 ||
                    (r = sd_bus_message_exit_container(reply)) < 0)
                        return log_bus_error(NULL, r, "read the simulation");
                o = json_object_new_object();
                when = time_text(at);
                if (!o || !when || json_add(o, "at", json_iso8601(at)) < 0 ||
                    json_add(o, "action", json_object_new_string(action)) < 0 ||
                    json_add(o, "instances", TAKE_PTR(states)) < 0 || json_object_array_add(occ, TAKE_PTR(o)) < 0 ||
                    table_add_string(t, when) < 0 || table_add_string(t, action) < 0 || table_add_int(t, count) < 0)
                        return log_oom();
        }
        r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(sdd)");
        if (r < 0)
                return log_bus_error(NULL, r, "read the simulation");
        for (;;) {
                const char *id;
                double running, always;
                json_object *e;

                r = sd_bus_message_read(reply, "(sdd)", &id, &running, &always);
                if (r < 0)
                        return log_bus_error(NULL, r, "read the simulation");
                if (r == 0)
                        break;
                e = json_object_new_object();
                if (!e || json_add(e, "instance_id", json_object_new_string(id)) < 0 ||
                    json_add(e, "running_hours", json_object_new_double(running)) < 0 ||
                    json_add(e, "always_on_hours", json_object_new_double(always)) < 0 ||
                    json_object_array_add(inst, e) < 0)
                        return log_oom();
                /* No share of a range too short to show (0.0 h always-on): 0% or 100% would be noise. */
                if (table_add_string(h, instance_name(names, id)) < 0 || table_add_stringf(h, "%.1f", running) < 0 ||
                    table_add_stringf(h, "%.1f", always) < 0 ||
                    (always < 0.05 ? table_add_string(h, "-")
                                   : table_add_stringf(h, "%.0f%%", 100.0 * (always - running) / always)) < 0)
                        return log_oom();
        }

        if (arg_output.json != JSON_FORMAT_OFF) {
                if (json_add(out, "occurrences", TAKE_PTR(occ)) < 0 || json_add(out, "instances", TAKE_PTR(inst)) < 0)
                        return log_oom();
                return output_json(out, &arg_output);
        }
        pager_open(&arg_output);
        (void) table_set_footer(t, "%zu firing%s in the range.", table_get_rows(t), table_get_rows(t) == 1 ? "" : "s");
        (void) table_set_empty_text(t, "No firings in the range.");
        r = table_print(t, &arg_output);
        if (r < 0 || table_get_rows(h) == 0)
                return r;
        putchar('\n');
        (void) table_set_footer(h, "%zu instance%s.", table_get_rows(h), table_get_rows(h) == 1 ? "" : "s");
        return table_print(h, &arg_output);
}

/* ---- schedule fire ---------------------------------------------------------------------------------- */

static int schedule_fire(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(job_waiter_freep) JobWaiter *w = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_json_ json_object *out = NULL, *plan = NULL, *names = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        sd_bus *bus = userdata;
        const char *job, *id, *decision, *reason;
        unsigned act = 0, skip = 0;
        int r, ret = 0;

        r = resolve(bus, argv[1], false, &paths);
        if (r < 0)
                return r;
        if (!arg_dry_run) {
                r = job_waiter_new(bus, &w);
                if (r < 0)
                        return r;
        }
        r = bus_call_object(bus, paths[0], SS_BUS_IFACE_SCHEDULE, "Fire", &error, &reply, "b", (int) arg_dry_run);
        if (r < 0)
                return log_bus_error(&error, r, "fire schedule %s", argv[1]);
        r = sd_bus_message_read(reply, "o", &job);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(sss)");
        if (r < 0)
                return log_bus_error(NULL, r, "read the plan");

        plan = json_object_new_array();
        t = table_new("instance", "decision", "reason", NULL);
        if (!plan || !t)
                return log_oom();
        if (arg_output.json == JSON_FORMAT_OFF)
                names = instance_names(bus);
        while ((r = sd_bus_message_read(reply, "(sss)", &id, &decision, &reason)) > 0) {
                json_object *e = json_object_new_object();
                if (!e || json_add(e, "instance_id", json_object_new_string(id)) < 0 ||
                    json_add(e, "decision", json_object_new_string(decision)) < 0 ||
                    json_add(e, "reason", json_string_or_null(reason)) < 0 || json_object_array_add(plan, e) < 0)
                        return log_oom();
                if (table_add_string(t, instance_name(names, id)) < 0 || table_add_string(t, decision) < 0 ||
                    table_add_string(t, isempty(reason) ? NULL : reason) < 0)
                        return log_oom();
                if (streq(decision, "act"))
                        act++;
                else
                        skip++;
        }
        if (r < 0)
                return log_bus_error(NULL, r, "read the plan");

        if (!arg_dry_run && !streq(job, "/")) {
                r = job_waiter_add(w, job, "fire", argv[1]);
                if (r < 0)
                        return r;
                if (!arg_no_block)
                        ret = job_waiter_wait(w);
        }

        if (arg_output.json != JSON_FORMAT_OFF) {
                out = json_object_new_object();
                if (!out || json_add(out, "job", streq(job, "/") ? NULL : json_object_new_string(job)) < 0 ||
                    json_add(out, "dry_run", json_object_new_boolean(arg_dry_run)) < 0 ||
                    json_add(out, "plan", TAKE_PTR(plan)) < 0)
                        return log_oom();
                r = output_json(out, &arg_output);
                return ret < 0 ? ret : r;
        }
        if (arg_dry_run) {
                (void) table_set_footer(t, "Would act on %u instance%s, skip %u. Nothing was done (dry run).", act,
                                        act == 1 ? "" : "s", skip);
                (void) table_set_empty_text(t, "No instances targeted. Nothing was done (dry run).");
                pager_open(&arg_output);
                return table_print(t, &arg_output);
        }
        if (arg_no_block)
                printf("Queued job %s (fire %s): acting on %u instance%s, skipping %u.\n",
                       startswith(job, SS_BUS_PATH_JOB "/") ?: job, argv[1], act, act == 1 ? "" : "s", skip);
        return ret;
}

/* ---- schedule skip, delay ------------------------------------------------------------------------ */

static int schedule_skip(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **paths = NULL;
        sd_bus *bus = userdata;
        int r;

        r = resolve(bus, argv[1], false, &paths);
        if (r < 0)
                return r;
        r = bus_call_object(bus, paths[0], SS_BUS_IFACE_SCHEDULE, "Skip", &error, NULL, "t", (uint64_t) arg_at);
        return r < 0 ? log_bus_error(&error, r, "skip an occurrence of %s", argv[1]) : 0;
}

static int schedule_delay(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **paths = NULL;
        sd_bus *bus = userdata;
        int r;

        r = resolve(bus, argv[1], false, &paths);
        if (r < 0)
                return r;
        r = bus_call_object(bus, paths[0], SS_BUS_IFACE_SCHEDULE, "Delay", &error, NULL, "tt", (uint64_t) arg_at,
                            (uint64_t) arg_by);
        return r < 0 ? log_bus_error(&error, r, "delay an occurrence of %s", argv[1]) : 0;
}

/* ---- schedule occurrences -------------------------------------------------------------------------- */

/* Human output is one row per instance acted on (or skipped), plus one row for an occurrence that
 * has none (missed, skipped, failed before acting); --json one object per occurrence. */
/* One occurrence as --json shows it, with its instant for ordering the schedules' lists together. */
typedef struct OccurrenceItem {
        uint64_t at, id;
        json_object *json;
} OccurrenceItem;

static void occurrence_items_free(OccurrenceItem **items, size_t n) {
        for (size_t i = 0; *items && i < n; i++)
                json_object_put((*items)[i].json);
        *items = mfree(*items);
}

/* Newest first, as ListOccurrences answers for one schedule; a window's two halves interleaved. */
static int compare_occurrence_items(const void *a, const void *b) {
        const OccurrenceItem *x = a, *y = b;
        if (x->at != y->at)
                return x->at < y->at ? 1 : -1;
        return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

static int list_occurrences(sd_bus *bus, const char *schedule, const char *what, OccurrenceItem **items,
                            size_t *n_items) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = bus_new_method_call(bus, SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "ListOccurrences", &m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "schedule", "s", schedule);
        if (r >= 0 && arg_limit > 0)
                r = sd_bus_message_append(m, "{sv}", "limit", "u", arg_limit);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_bus_error(NULL, r, "list the occurrences of %s", what);
        r = bus_call(bus, m, &error, &reply);
        if (r < 0)
                return log_bus_error(&error, r, "list the occurrences of %s", what);

        r = sd_bus_message_enter_container(reply, 'a', "(tstssa(ssss))");
        if (r < 0)
                return log_bus_error(NULL, r, "read the occurrences");
        for (;;) {
                _cleanup_json_ json_object *o = NULL, *actions = NULL;
                const char *sname, *state, *reason, *id, *action, *astate, *areason;
                OccurrenceItem *grown;
                uint64_t oid, at;

                r = sd_bus_message_enter_container(reply, 'r', "tstssa(ssss)");
                if (r < 0)
                        return log_bus_error(NULL, r, "read the occurrences");
                if (r == 0)
                        break;
                r = sd_bus_message_read(reply, "tstss", &oid, &sname, &at, &state, &reason);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "(ssss)");
                if (r < 0)
                        return log_bus_error(NULL, r, "read the occurrences");
                actions = json_object_new_array();
                if (!actions)
                        return log_oom();
                while ((r = sd_bus_message_read(reply, "(ssss)", &id, &action, &astate, &areason)) > 0) {
                        json_object *e = json_object_new_object();
                        if (!e || json_add(e, "instance_id", json_object_new_string(id)) < 0 ||
                            json_add(e, "action", json_object_new_string(action)) < 0 ||
                            json_add(e, "state", json_object_new_string(astate)) < 0 ||
                            json_add(e, "reason", json_string_or_null(areason)) < 0 ||
                            json_object_array_add(actions, e) < 0)
                                return log_oom();
                }
                if (r < 0 || (r = sd_bus_message_exit_container(reply)) < 0 ||
                    (r = sd_bus_message_exit_container(reply)) < 0)
                        return log_bus_error(NULL, r, "read the occurrences");

                o = json_object_new_object();
                if (!o || json_add(o, "id", json_object_new_uint64(oid)) < 0 ||
                    json_add(o, "schedule", json_object_new_string(sname)) < 0 ||
                    json_add(o, "scheduled_at", json_iso8601(at)) < 0 ||
                    json_add(o, "state", json_object_new_string(state)) < 0 ||
                    json_add(o, "reason", json_string_or_null(reason)) < 0 ||
                    json_add(o, "actions", TAKE_PTR(actions)) < 0)
                        return log_oom();
                grown = reallocarray(*items, *n_items + 1, sizeof(OccurrenceItem));
                if (!grown)
                        return log_oom();
                *items = grown;
                (*items)[(*n_items)++] = (OccurrenceItem) { at, oid, TAKE_PTR(o) };
        }
        return 0;
}

/* The table's rows of one occurrence: one per action, or one for an occurrence without actions. */
static int add_occurrence_rows(Table *t, const OccurrenceItem *item, json_object *names) {
        _cleanup_free_ char *when = time_text(item->at);
        json_object *actions;
        const char *sname = json_member_string(item->json, "schedule");
        const char *state = json_member_string(item->json, "state");
        size_t n;

        if (!when)
                return -ENOMEM;
        if (!json_object_object_get_ex(item->json, "actions", &actions))
                return -EINVAL;
        n = json_object_array_length(actions);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(actions, i);
                if (table_add_string(t, when) < 0 || table_add_string(t, sname) < 0 ||
                    table_add_string(t, state) < 0 ||
                    table_add_string(t, instance_name(names, json_member_string(e, "instance_id"))) < 0 ||
                    table_add_string(t, json_member_string(e, "action")) < 0 ||
                    table_add_string(t, json_member_string(e, "state")) < 0 ||
                    table_add_string(t, json_member_string(e, "reason")) < 0)
                        return -ENOMEM;
        }
        if (n == 0 &&
            (table_add_string(t, when) < 0 || table_add_string(t, sname) < 0 || table_add_string(t, state) < 0 ||
             table_add_null(t) < 0 || table_add_null(t) < 0 || table_add_null(t) < 0 ||
             table_add_string(t, json_member_string(item->json, "reason")) < 0))
                return -ENOMEM;
        return 0;
}

static int schedule_occurrences(int argc, char *argv[], void *userdata) {
        _cleanup_json_ json_object *out = NULL, *names = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        OccurrenceItem *items = NULL;
        size_t n_items = 0;
        sd_bus *bus = userdata;
        int r;

        r = resolve(bus, argv[1], true, &paths);
        if (r < 0)
                return r;
        STRV_FOREACH(p, paths) {
                _cleanup_free_ char *sname = schedule_string_property(bus, *p, "Name");
                if (!sname) {
                        occurrence_items_free(&items, n_items);
                        return log_error_errno(ENXIO, "Could not read schedule %s: it went away.", argv[1]);
                }
                r = list_occurrences(bus, sname, argv[1], &items, &n_items);
                if (r < 0) {
                        occurrence_items_free(&items, n_items);
                        return r;
                }
        }
        if (n_items > 1)
                qsort(items, n_items, sizeof(OccurrenceItem), compare_occurrence_items);

        if (arg_output.json != JSON_FORMAT_OFF) {
                out = json_object_new_array_ext((int) n_items);
                r = out ? 0 : -ENOMEM;
                for (size_t i = 0; r >= 0 && i < n_items; i++)
                        r = json_object_array_add(out, json_object_get(items[i].json)) < 0 ? -ENOMEM : 0;
                occurrence_items_free(&items, n_items);
                if (r < 0)
                        return log_oom();
                return output_json(out, &arg_output);
        }

        t = table_new("scheduled", "schedule", "state", "instance", "action", "result", "reason", NULL);
        if (t && strv_length(paths) == 1)
                (void) table_set_display(t, "scheduled", "state", "instance", "action", "result", "reason", NULL);
        if (t && n_items > 0)
                names = instance_names(bus);
        for (size_t i = 0; t && i < n_items; i++)
                if (add_occurrence_rows(t, &items[i], names) < 0)
                        t = table_free(t);
        occurrence_items_free(&items, n_items);
        if (!t)
                return log_oom();
        (void) table_set_footer(t, "%zu occurrence%s.", n_items, n_items == 1 ? "" : "s");
        (void) table_set_empty_text(t, "No occurrences yet.");
        pager_open(&arg_output);
        return table_print(t, &arg_output);
}

/* ---- calendar ------------------------------------------------------------------------------------------ */

static int read_calendars(sd_bus *bus, json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_json_ json_object *out = json_object_new_array();
        const char *name;
        int r;

        if (!out)
                return log_oom();
        r = bus_call_method(bus, &bus_manager, "ListCalendars", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "list exception calendars");
        r = sd_bus_message_enter_container(reply, 'a', "(sas)");
        if (r < 0)
                return log_bus_error(NULL, r, "read the calendars");
        for (;;) {
                _cleanup_strv_free_ char **entries = NULL;
                json_object *o, *a;

                r = sd_bus_message_enter_container(reply, 'r', "sas");
                if (r < 0)
                        return log_bus_error(NULL, r, "read the calendars");
                if (r == 0)
                        break;
                r = sd_bus_message_read(reply, "s", &name);
                if (r >= 0)
                        r = sd_bus_message_read_strv(reply, &entries);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return log_bus_error(NULL, r, "read the calendars");
                o = json_object_new_object();
                a = json_object_new_array();
                if (!o || !a || json_object_array_add(out, o) < 0) {
                        json_object_put(o);
                        json_object_put(a);
                        return log_oom();
                }
                if (json_add(o, "name", json_object_new_string(name)) < 0 || json_add(o, "entries", a) < 0)
                        return log_oom();
                STRV_FOREACH(e, entries)
                        if (json_object_array_add(a, json_object_new_string(*e)) < 0)
                                return log_oom();
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static int calendar_list(int argc, char *argv[], void *userdata) {
        _cleanup_json_ json_object *cals = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        r = read_calendars(userdata, &cals);
        if (r < 0)
                return r;
        if (arg_output.json != JSON_FORMAT_OFF)
                return output_json(cals, &arg_output);
        t = table_new("name", "entries", "dates", NULL);
        if (!t)
                return log_oom();
        for (size_t i = 0; i < json_object_array_length(cals); i++) {
                json_object *c = json_object_array_get_idx(cals, i), *name = NULL, *entries = NULL;
                _cleanup_free_ char *text = NULL;

                (void) json_object_object_get_ex(c, "name", &name);
                (void) json_object_object_get_ex(c, "entries", &entries);
                text = bus_json_to_text(entries);
                if (!text || table_add_string(t, json_object_get_string(name)) < 0 ||
                    table_add_int(t, (int64_t) json_object_array_length(entries)) < 0 ||
                    table_add_string(t, isempty(text) ? NULL : text) < 0)
                        return log_oom();
        }
        (void) table_set_footer(t, "%zu calendar%s listed.", table_get_rows(t), table_get_rows(t) == 1 ? "" : "s");
        (void) table_set_empty_text(t, "No exception calendars.");
        pager_open(&arg_output);
        return table_print(t, &arg_output);
}

static int calendar_show(int argc, char *argv[], void *userdata) {
        _cleanup_json_ json_object *cals = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        r = read_calendars(userdata, &cals);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(cals); i++) {
                json_object *c = json_object_array_get_idx(cals, i), *name = NULL, *entries = NULL;

                (void) json_object_object_get_ex(c, "name", &name);
                if (!streq(json_object_get_string(name), argv[1]))
                        continue;
                if (arg_output.json != JSON_FORMAT_OFF)
                        return output_json(c, &arg_output);
                (void) json_object_object_get_ex(c, "entries", &entries);
                t = table_new("entry", NULL);
                if (!t)
                        return log_oom();
                (void) table_set_header(t, "entry", "DATES");
                for (size_t k = 0; k < json_object_array_length(entries); k++)
                        if (table_add_string(t, json_object_get_string(json_object_array_get_idx(entries, k))) < 0)
                                return log_oom();
                (void) table_set_footer(t, "%zu entr%s.", table_get_rows(t), table_get_rows(t) == 1 ? "y" : "ies");
                (void) table_set_empty_text(t, "No dates.");
                pager_open(&arg_output);
                return table_print(t, &arg_output);
        }
        char shown[NAME_TEXT_MAX];
        name_text(argv[1], shown);
        return log_error_errno(ENXIO, "Could not show calendar %s: No exception calendar \"%s\".", shown, shown);
}

static int calendar_dates(sd_bus *bus, const char *method, const char *what, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_new_method_call(bus, SS_BUS_PATH, SS_BUS_IFACE_MANAGER, method, &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[1]);
        if (r >= 0)
                r = append_strv(m, argv + 2);
        if (r < 0)
                return log_bus_error(NULL, r, "%s calendar %s", what, argv[1]);
        r = bus_call(bus, m, &error, NULL);
        return r < 0 ? log_bus_error(&error, r, "%s calendar %s", what, argv[1]) : 0;
}

static int calendar_add(int argc, char *argv[], void *userdata) {
        return calendar_dates(userdata, "AddCalendarDates", "add dates to", argc, argv);
}

static int calendar_remove(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (argc > 2)
                return calendar_dates(userdata, "RemoveCalendarDates", "remove dates from", argc, argv);
        r = bus_call_method(userdata, &bus_manager, "RemoveCalendar", &error, NULL, "s", argv[1]);
        return r < 0 ? log_bus_error(&error, r, "remove calendar %s", argv[1]) : 0;
}

/* ---- entry points -------------------------------------------------------------------------------------- */

int verb_schedule(int argc, char *argv[], void *userdata) {
        return exit_status(dispatch_verb(argc - 1, argv + 1, schedule_verbs, "schedule command", userdata));
}

int verb_calendar(int argc, char *argv[], void *userdata) {
        return exit_status(dispatch_verb(argc - 1, argv + 1, calendar_verbs, "calendar command", userdata));
}

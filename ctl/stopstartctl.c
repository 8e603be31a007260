/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl-bus.h"
#include "ctl-db.h"
#include "ctl-schedule.h"
#include "log.h"
#include "migrate.h"
#include "stopstartctl.h"
#include "strv.h"
#include "verbs.h"

OutputFlags arg_output = { .json = JSON_FORMAT_OFF, .legend = true, .pager = true };
const char *arg_database = NULL;
const char *arg_config = NULL;
const char *arg_migrations_dir = NULL;
usec_t arg_lock_timeout = USEC_INFINITY;
usec_t arg_timeout = USEC_INFINITY;
bool arg_log = false;
bool arg_yes = false;
bool arg_allow_reset = false;
int arg_fix = -1;
unsigned arg_fix_version = 0;
bool arg_ask_password = true;
const char *arg_host = NULL;
char **arg_properties = NULL;
bool arg_value = false;
const char *arg_compartment = NULL;
bool arg_recursive = false;
const char *arg_state = NULL;
const char *arg_stop_mode = "";
bool arg_no_block = false;
const char *arg_instance = NULL;
usec_t arg_since = USEC_INFINITY;
bool arg_quiet = false;

int exit_status_from_errno(int r) {
        switch (-r) {
        case EINVAL:
        case ENOENT:
        case ENOTDIR:
        case E2BIG:
                return EXIT_USAGE;
        case ECONNREFUSED:
        case ECONNRESET:
        case ENOTCONN:
        case EHOSTUNREACH:
        case ENETUNREACH:
        case ETIMEDOUT:
                return EXIT_UNREACHABLE;
        case EUCLEAN:
        case EBUSY:
        case EPERM:
        case EEXIST:
                return EXIT_REFUSED;
        default:
                return EXIT_FAILED;
        }
}

static void help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n\n"
               "Control stopstart.\n\n"
               "Inventory:\n"
               "  tree [COMPARTMENT]       Show the compartment tree with instance counts\n"
               "  list-compartments        List compartments\n"
               "  list-instances [PATTERN] List instances (--compartment=, --recursive, --state=)\n"
               "  show [NAME...]           Show properties of the daemon, instances, compartments\n"
               "                           or jobs (-p PROP, --value)\n"
               "  status [INSTANCE]        Show the daemon's or an instance's status\n"
               "  is-running INSTANCE...   Check whether instances are RUNNING\n"
               "  explain INSTANCE         Show each effective setting and where it comes from\n"
               "  history                  Show the audit log (--instance=, --compartment=, --since=)\n\n"
               "Operations:\n"
               "  start INSTANCE...        Start instances\n"
               "  stop INSTANCE...         Stop instances (--soft, --hard)\n"
               "  reboot INSTANCE...       Reboot instances (--soft, --hard)\n"
               "  refresh                  Read the tenancy from OCI again\n"
               "  reload                   Make stopstartd re-read its configuration file\n"
               "  list-jobs                List jobs\n"
               "  cancel JOB...            Cancel jobs\n\n"
               "Configuration:\n"
               "  set-config INSTANCE KEY=VALUE...\n"
               "                           Set an instance's own settings\n"
               "  set-defaults COMPARTMENT KEY=VALUE...\n"
               "                           Set the defaults of a compartment's subtree\n"
               "      Keys: managed=yes|no, stop_mode=soft|hard, soft_stop_timeout=5min,\n"
               "      priority=N, note=TEXT, override_state=running|stopped with\n"
               "      override_until=TIME (\"2026-12-01 18:00\", \"+3d\"); KEY=inherit unsets KEY.\n\n",
               program_invocation_short_name);
        schedule_help();
        printf("Database:\n"
               "  db VERB ...              Manage the database schema (see below)\n"
               "  help                     Show this help\n\n");
        db_help();
        printf("\nOptions:\n"
               "  -h --help                Show this help\n"
               "     --version             Show the version\n"
               "     --no-pager            Do not pipe output into a pager\n"
               "     --no-legend           Do not show headers and footers\n"
               "  -l --full                Do not ellipsize long names on a terminal\n"
               "  -q --quiet               is-running: print nothing, only set the exit status\n"
               "     --json[=pretty|short|off]\n"
               "                           Print JSON (bare --json: pretty on a terminal, else short)\n"
               "     --no-ask-password     Do not ask for authentication (polkit)\n"
               "  -H --host=[USER@]HOST    Talk to stopstartd on a remote host (over ssh)\n"
               "  -p --property=NAME       show: only these properties (repeat or separate with \",\")\n"
               "     --value               show: print values only\n"
               "     --compartment=C       list-instances, history: only compartment C (OCID or path)\n"
               "     --recursive           list-instances: with --compartment, its whole subtree\n"
               "     --state=STATE         list-instances: only instances in this lifecycle state\n"
               "                           (RUNNING, STOPPED, STARTING, STOPPING, ...; see --state=help)\n"
               "     --soft                stop, reboot: ACPI shutdown, then power off after\n"
               "                           soft_stop_timeout (default: the instance's stop_mode)\n"
               "     --hard                stop, reboot: power off at once\n"
               "     --no-block            start, stop, reboot, refresh: do not wait for the job\n"
               "     --instance=I          history: only instance I\n"
               "     --since=TIME          history: entries from TIME (\"2026-11-01\", \"-2h\", \"today\")\n"
               );
        schedule_options_help();
        printf("     --database=CONNINFO   libpq conninfo or URI (default: the config file's\n"
               "                           \"database:\", else libpq's PG* environment)\n"
               "     --config=FILE         Configuration file (default: %s)\n"
               "     --migrations-dir=DIR  Read migrations from DIR instead of the built-in set\n"
               "     --lock-timeout=SPAN   Wait this long for the migration lock (default: config, 60s)\n"
               "     --timeout=SPAN        db wait: give up after SPAN (default: 60s)\n"
               "     --log                 db history: show the event log\n"
               "     --mark-applied=N      db fix-state: record N as applied\n"
               "     --mark-reverted=N     db fix-state: remove the record of N\n"
               "     --stamp=N             db fix-state: record exactly the migrations up to N\n"
               "     --realign-checksums   db fix-state: record this build's checksums (with --yes)\n"
               "     --forget-missing      db fix-state: remove records of migrations not in this build\n"
               "     --yes                 Confirm a destructive operation\n"
               "     --allow-reset         db reset, db downgrade to base: allow it without\n"
               "                           \"allow_reset: true\" in the config\n", DEFAULT_CONFIG_FILE);
        db_options_help();
        printf("\n"
               "Exit status: 0 success, 1 failure, 2 bad usage (schedule, calendar: also a value the daemon\n"
               "refused: calendar spec, target, zone, date), 3 not running (status: the daemon is not\n"
               "\"running\", e.g. degraded; status INSTANCE, is-running: an instance is not RUNNING),\n"
               "4 no such object (instance, compartment, job, schedule, calendar). db verbs: 1 not OK\n"
               "(pending, dirty, problems, differences), 2 bad usage or configuration, 3 database\n"
               "unreachable, 4 refused (state or safety guard), 5 failed.\n");
}

static int verb_help(int argc, char *argv[], void *userdata) {
        help();
        return 0;
}

static int parse_version_arg(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v > 9999 || s[0] == '-' || s[0] == '+')
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

/* OCI's instance lifecycle states: --state= takes one of these, in any case. Returns 0 (and
 * prints them) for "help". */
static const char * const lifecycle_states[] = {
        "MOVING", "PROVISIONING", "RUNNING", "STARTING", "STOPPING", "STOPPED", "CREATING_IMAGE",
        "TERMINATING", "TERMINATED",
};

static int parse_lifecycle_state(const char *s, const char **ret) {
        _cleanup_free_ char *valid = NULL, *shown = NULL;

        if (streq(s, "help")) {
                for (size_t i = 0; i < ELEMENTSOF(lifecycle_states); i++)
                        puts(lifecycle_states[i]);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(lifecycle_states); i++)
                if (strcasecmp(s, lifecycle_states[i]) == 0) {
                        *ret = lifecycle_states[i];
                        return 1;
                }
        for (size_t i = 0; i < ELEMENTSOF(lifecycle_states); i++) {
                char *n = strprintf("%s%s%s", strempty(valid), valid ? ", " : "", lifecycle_states[i]);
                if (!n)
                        return log_oom();
                free(valid);
                valid = n;
        }
        shown = text_for_message(s);
        return log_error_errno(EINVAL, "Invalid --state=\"%s\": expected one of %s.", strna(shown), valid);
}

/* getopt would take "downgrade -2" for an option: hide the dash of a bare "-N" from it. A
 * leading \001 (never typed) marks such an argument; verbs see it restored. */
#define NEG_MARK '\001'
static char **marked_args = NULL;       /* owns the rewritten argv entries */

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_NO_PAGER,
                ARG_NO_LEGEND,
                ARG_JSON,
                ARG_DATABASE,
                ARG_CONFIG,
                ARG_MIGRATIONS_DIR,
                ARG_LOCK_TIMEOUT,
                ARG_TIMEOUT,
                ARG_LOG,
                ARG_MARK_APPLIED,
                ARG_MARK_REVERTED,
                ARG_STAMP,
                ARG_REALIGN_CHECKSUMS,
                ARG_FORGET_MISSING,
                ARG_YES,
                ARG_ALLOW_RESET,
                ARG_NO_ASK_PASSWORD,
                ARG_VALUE,
                ARG_COMPARTMENT,
                ARG_RECURSIVE,
                ARG_STATE,
                ARG_SOFT,
                ARG_HARD,
                ARG_NO_BLOCK,
                ARG_INSTANCE,
                ARG_SINCE,
        };
        static const struct option options[] = {
                { "help",              no_argument,       NULL, 'h'                   },
                { "version",           no_argument,       NULL, ARG_VERSION           },
                { "no-pager",          no_argument,       NULL, ARG_NO_PAGER          },
                { "no-legend",         no_argument,       NULL, ARG_NO_LEGEND         },
                { "json",              optional_argument, NULL, ARG_JSON              },
                { "database",          required_argument, NULL, ARG_DATABASE          },
                { "config",            required_argument, NULL, ARG_CONFIG            },
                { "migrations-dir",    required_argument, NULL, ARG_MIGRATIONS_DIR    },
                { "lock-timeout",      required_argument, NULL, ARG_LOCK_TIMEOUT      },
                { "timeout",           required_argument, NULL, ARG_TIMEOUT           },
                { "log",               no_argument,       NULL, ARG_LOG               },
                { "mark-applied",      required_argument, NULL, ARG_MARK_APPLIED      },
                { "mark-reverted",     required_argument, NULL, ARG_MARK_REVERTED     },
                { "stamp",             required_argument, NULL, ARG_STAMP             },
                { "realign-checksums", no_argument,       NULL, ARG_REALIGN_CHECKSUMS },
                { "forget-missing",    no_argument,       NULL, ARG_FORGET_MISSING    },
                { "yes",               no_argument,       NULL, ARG_YES               },
                { "allow-reset",       no_argument,       NULL, ARG_ALLOW_RESET       },
                { "no-ask-password",   no_argument,       NULL, ARG_NO_ASK_PASSWORD   },
                { "host",              required_argument, NULL, 'H'                   },
                { "property",          required_argument, NULL, 'p'                   },
                { "value",             no_argument,       NULL, ARG_VALUE             },
                { "compartment",       required_argument, NULL, ARG_COMPARTMENT       },
                { "recursive",         no_argument,       NULL, ARG_RECURSIVE         },
                { "state",             required_argument, NULL, ARG_STATE             },
                { "soft",              no_argument,       NULL, ARG_SOFT              },
                { "hard",              no_argument,       NULL, ARG_HARD              },
                { "no-block",          no_argument,       NULL, ARG_NO_BLOCK          },
                { "instance",          required_argument, NULL, ARG_INSTANCE          },
                { "since",             required_argument, NULL, ARG_SINCE             },
                { "full",              no_argument,       NULL, 'l'                   },
                { "quiet",             no_argument,       NULL, 'q'                   },
                {}
        };
        _cleanup_free_ struct option *all_options = NULL;
        size_t n_options = ELEMENTSOF(options) - 1, n_schedule = 0, n_db = 0;
        char shown[NAME_TEXT_MAX];   /* an argument as a message shows it: escaped, shortened */
        int c, r;

        /* schedule/calendar options (ctl-schedule.c) join the table. */
        while (schedule_options[n_schedule].name)
                n_schedule++;
        /* ... and so do the db ones (ctl-db.c). */
        while (db_options[n_db].name)
                n_db++;
        all_options = new0(struct option, n_options + n_schedule + n_db + 1);
        if (!all_options)
                return log_oom();
        memcpy(all_options, options, n_options * sizeof(struct option));
        memcpy(all_options + n_options, schedule_options, n_schedule * sizeof(struct option));
        memcpy(all_options + n_options + n_schedule, db_options, n_db * sizeof(struct option));

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (streq(a, "--"))
                        break;
                if (a[0] == '-' && a[1] >= '0' && a[1] <= '9' && strspn(a + 1, "0123456789") == strlen(a + 1)) {
                        char *m = strprintf("%c%s", NEG_MARK, a);
                        if (!m || strv_consume(&marked_args, m) < 0)
                                return log_oom();
                        argv[i] = m;
                }
        }

        while ((c = getopt_long(argc, argv, "hH:p:lq" SCHEDULE_SHORT_OPTIONS DB_SHORT_OPTIONS, all_options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("stopstartctl %s\n", PROJECT_VERSION);
                        return 0;
                case ARG_NO_PAGER:
                        arg_output.pager = false;
                        break;
                case ARG_NO_LEGEND:
                        arg_output.legend = false;
                        break;
                case 'l':
                        arg_output.full = true;
                        break;
                case 'q':
                        arg_quiet = true;
                        break;
                case ARG_JSON:
                        if (parse_json_argument(optarg, &arg_output.json) < 0)
                                return log_error_errno(EINVAL, "Invalid --json= mode \"%s\" (want pretty, short or off).", name_text(optarg, shown));
                        break;
                case ARG_DATABASE:
                        arg_database = optarg;
                        break;
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_MIGRATIONS_DIR:
                        arg_migrations_dir = optarg;
                        break;
                case ARG_LOCK_TIMEOUT:
                        r = parse_timespan(optarg, &arg_lock_timeout);
                        if (r < 0)
                                return log_error_errno(EINVAL, "Invalid --lock-timeout= \"%s\" (e.g. 30s, 2min, 0).", name_text(optarg, shown));
                        break;
                case ARG_TIMEOUT:
                        r = parse_timespan(optarg, &arg_timeout);
                        if (r < 0)
                                return log_error_errno(EINVAL, "Invalid --timeout= \"%s\" (e.g. 30s, 2min).", name_text(optarg, shown));
                        break;
                case ARG_LOG:
                        arg_log = true;
                        break;
                case ARG_MARK_APPLIED:
                case ARG_MARK_REVERTED:
                case ARG_STAMP:
                case ARG_REALIGN_CHECKSUMS:
                case ARG_FORGET_MISSING: {
                        int fix = c == ARG_MARK_APPLIED ? MIGRATE_FIX_MARK_APPLIED :
                                  c == ARG_MARK_REVERTED ? MIGRATE_FIX_MARK_REVERTED :
                                  c == ARG_STAMP ? MIGRATE_FIX_STAMP :
                                  c == ARG_REALIGN_CHECKSUMS ? MIGRATE_FIX_REALIGN_CHECKSUMS : MIGRATE_FIX_FORGET_MISSING;
                        if (arg_fix >= 0 && arg_fix != fix)
                                return log_error_errno(EINVAL, "Give one fix-state operation at a time (--%s and --%s).",
                                                       migrate_fix_to_string(arg_fix), migrate_fix_to_string(fix));
                        arg_fix = fix;
                        if (optarg) {
                                const char *v = optarg[0] == NEG_MARK ? optarg + 1 : optarg;
                                if (parse_version_arg(v, &arg_fix_version) < 0 ||
                                    (arg_fix_version == 0 && fix != MIGRATE_FIX_STAMP))
                                        return log_error_errno(EINVAL, "Invalid migration number \"%s\" for --%s.", v,
                                                               migrate_fix_to_string(fix));
                        }
                        break;
                }
                case ARG_YES:
                        arg_yes = true;
                        break;
                case ARG_ALLOW_RESET:
                        arg_allow_reset = true;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case 'H':
                        arg_host = optarg;
                        break;
                case 'p': {
                        const char *p = optarg;
                        if (isempty(p))
                                return log_error_errno(EINVAL, "--property= needs a property name.");
                        while (*p) {
                                size_t l = strcspn(p, ",");
                                if (l > 0) {
                                        char *name = strndup(p, l);
                                        if (!name || strv_consume(&arg_properties, name) < 0)
                                                return log_oom();
                                }
                                p += l;
                                if (*p == ',')
                                        p++;
                        }
                        break;
                }
                case ARG_VALUE:
                        arg_value = true;
                        break;
                case ARG_COMPARTMENT:
                        arg_compartment = optarg;
                        break;
                case ARG_RECURSIVE:
                        arg_recursive = true;
                        break;
                case ARG_STATE:
                        r = parse_lifecycle_state(optarg, &arg_state);
                        if (r <= 0)
                                return r;
                        break;
                case ARG_SOFT:
                case ARG_HARD: {
                        const char *mode = c == ARG_SOFT ? "soft" : "hard";
                        if (!isempty(arg_stop_mode) && !streq(arg_stop_mode, mode))
                                return log_error_errno(EINVAL, "Give either --soft or --hard, not both.");
                        arg_stop_mode = mode;
                        break;
                }
                case ARG_NO_BLOCK:
                        arg_no_block = true;
                        break;
                case ARG_INSTANCE:
                        arg_instance = optarg;
                        break;
                case ARG_SINCE:
                        if (parse_timestamp(optarg, now(CLOCK_REALTIME), &arg_since) < 0)
                                return log_error_errno(EINVAL, "Invalid --since= \"%s\" (e.g. \"2026-11-01\", "
                                                       "\"2026-11-01 08:00\", \"-2h\", \"today\").", name_text(optarg, shown));
                        break;
                case '?':
                        return -EINVAL;
                default:
                        r = db_parse_option(c, optarg);
                        if (r == 0)
                                r = schedule_parse_option(c, optarg);
                        if (r < 0)
                                return r;
                        assert(r > 0 && "unhandled option");
                }
        }

        for (int i = optind; i < argc; i++)
                if (argv[i][0] == NEG_MARK)
                        argv[i]++;
        return 1;
}

/* Options that only some verbs take: anywhere else they are a mistake, not something to ignore. */
static int check_bus_options(const char *verb) {
        static const struct {
                const char *option;
                const char *verbs;   /* space-separated, with spaces around */
        } table[] = {
                { "--property",    " show " },
                { "--value",       " show " },
                { "--compartment", " list-instances history " },
                { "--recursive",   " list-instances " },
                { "--state",       " list-instances " },
                { "--soft/--hard", " stop reboot " },
                { "--no-block",    " start stop reboot refresh schedule " },
                { "--instance",    " history " },
                { "--since",       " history " },
                { "--quiet",       " is-running " },
                { "--host",        " tree list-compartments list-instances show status explain history start stop "
                                   "reboot refresh reload list-jobs cancel set-config set-defaults is-running schedule "
                                   "calendar " },
        };
        bool given[] = {
                arg_properties, arg_value, arg_compartment, arg_recursive, arg_state, !isempty(arg_stop_mode),
                arg_no_block, arg_instance, arg_since != USEC_INFINITY, arg_quiet, arg_host,
        };
        _cleanup_free_ char *key = strprintf(" %s ", verb);

        if (!key)
                return log_oom();
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (given[i] && !strstr(table[i].verbs, key))
                        return log_error_errno(EINVAL, "%s does not apply to \"%s\".", table[i].option, verb);
        if (arg_recursive && !arg_compartment)
                return log_error_errno(EINVAL, "--recursive needs --compartment=.");
        return 0;
}

static int run(int argc, char *argv[]) {
        static const Verb verbs[] = {
                { "tree",              1, 2,        0, verb_tree              },
                { "list-compartments", 1, 1,        0, verb_list_compartments },
                { "list-instances",    1, 2,        0, verb_list_instances    },
                { "show",              1, VERB_ANY, 0, verb_show              },
                { "status",            1, 2,        0, verb_object_status     },
                { "is-running",        2, VERB_ANY, 0, verb_is_running        },
                { "explain",           2, 2,        0, verb_explain           },
                { "history",           1, 1,        0, verb_audit_history     },
                { "start",             2, VERB_ANY, 0, verb_action            },
                { "stop",              2, VERB_ANY, 0, verb_action            },
                { "reboot",            2, VERB_ANY, 0, verb_action            },
                { "refresh",           1, 1,        0, verb_refresh           },
                { "reload",            1, 1,        0, verb_reload            },
                { "list-jobs",         1, 1,        0, verb_list_jobs         },
                { "cancel",            2, VERB_ANY, 0, verb_cancel            },
                { "set-config",        3, VERB_ANY, 0, verb_set_config        },
                { "set-defaults",      3, VERB_ANY, 0, verb_set_defaults      },
                { "schedule",          2, VERB_ANY, 0, verb_schedule          },
                { "calendar",          2, VERB_ANY, 0, verb_calendar          },
                { "db",                1, VERB_ANY, 0, verb_db                },
                { "help",              1, 1,        0, verb_help              },
                {}
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *verb;
        bool uses_bus;
        int r;

        /* The character set only (widths, the tree's glyphs); numbers stay in the C locale. */
        (void) setlocale(LC_CTYPE, "");
        log_set_program_name(program_invocation_short_name);
        log_parse_environment();

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;

        if (optind >= argc)
                return log_error_errno(EINVAL, "Missing command; see --help."), EXIT_USAGE;

        verb = argv[optind];
        uses_bus = !streq(verb, "db") && !streq(verb, "help");
        if (uses_bus)
                /* sd-bus refuses strings that are not UTF-8: say so here, in one line, not later. */
                for (int i = 1; i < argc; i++)
                        if (!utf8_string_is_valid(argv[i])) {
                                _cleanup_free_ char *shown = text_for_message(argv[i]);
                                log_error("Invalid argument \"%s\": not valid UTF-8.", strna(shown));
                                return EXIT_USAGE;
                        }
        r = check_bus_options(verb);
        if (r >= 0)
                r = schedule_check_command(argc - optind, argv + optind);
        if (r < 0)
                return EXIT_USAGE;
        if (uses_bus) {
                /* Unknown verbs and wrong argument counts are reported before connecting. */
                bool known = false;
                for (const Verb *v = verbs; v->name; v++)
                        if (streq(v->name, verb)) {
                                known = true;
                                if ((v->min_args != VERB_ANY && (unsigned) (argc - optind) < v->min_args) ||
                                    (v->max_args != VERB_ANY && (unsigned) (argc - optind) > v->max_args))
                                        known = false;
                        }
                if (!known) {
                        (void) dispatch_verb(argc - optind, argv + optind, verbs, "command", NULL);
                        return EXIT_USAGE;
                }
                if (arg_database || arg_config || arg_migrations_dir || arg_lock_timeout != USEC_INFINITY ||
                    arg_timeout != USEC_INFINITY || arg_log || arg_yes || arg_allow_reset || arg_fix >= 0)
                        return log_error_errno(EINVAL, "Database options only apply to \"db\" commands."), EXIT_USAGE;
                r = ctl_bus_connect(&bus);
                if (r < 0)
                        return EXIT_FAILURE;
                /* Verbs that change something may need the admin's password (systemctl's
                 * polkit_agent_open_maybe()). */
                if (strv_contains((char *[]) { (char *) "start", (char *) "stop", (char *) "reboot", (char *) "refresh",
                                          (char *) "reload", (char *) "cancel", (char *) "set-config",
                                          (char *) "set-defaults", NULL }, verb))
                        polkit_agent_open_if_enabled();
        }

        r = dispatch_verb(argc - optind, argv + optind, verbs, "command", bus);
        if (!uses_bus)
                return r >= 0 ? r : exit_status_from_errno(r);
        return bus_exit_status(r);
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        pager_close();
        polkit_agent_close();
        strv_free(marked_args);
        strv_free(arg_properties);
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
               "Commands:\n"
               "  db VERB ...              Manage the database schema (see below)\n"
               "  help                     Show this help\n\n",
               program_invocation_short_name);
        db_help();
        printf("\nOptions:\n"
               "  -h --help                Show this help\n"
               "     --version             Show the version\n"
               "     --no-pager            Do not pipe output into a pager\n"
               "     --no-legend           Do not show headers and footers\n"
               "     --json[=pretty|short|off]\n"
               "                           Print JSON (bare --json: pretty on a terminal, else short)\n"
               "     --database=CONNINFO   libpq conninfo or URI (default: the config file's\n"
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
               "     --allow-reset         db reset: allow it without \"allow_reset: true\" in the config\n\n"
               "Exit status: 0 success, 1 not OK (pending, dirty, problems, differences), 2 bad usage or\n"
               "configuration, 3 database unreachable, 4 refused (state or safety guard), 5 failed.\n",
               DEFAULT_CONFIG_FILE);
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
                {}
        };
        int c, r;

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

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
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
                case ARG_JSON:
                        if (parse_json_argument(optarg, &arg_output.json) < 0)
                                return log_error_errno(EINVAL, "Invalid --json= mode \"%s\" (want pretty, short or off).", optarg);
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
                                return log_error_errno(EINVAL, "Invalid --lock-timeout= \"%s\" (e.g. 30s, 2min, 0).", optarg);
                        break;
                case ARG_TIMEOUT:
                        r = parse_timespan(optarg, &arg_timeout);
                        if (r < 0)
                                return log_error_errno(EINVAL, "Invalid --timeout= \"%s\" (e.g. 30s, 2min).", optarg);
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
                case '?':
                        return -EINVAL;
                default:
                        assert(!"unhandled option");
                }
        }

        for (int i = optind; i < argc; i++)
                if (argv[i][0] == NEG_MARK)
                        argv[i]++;
        return 1;
}

static int run(int argc, char *argv[]) {
        static const Verb verbs[] = {
                { "db",   1, VERB_ANY, 0, verb_db   },
                { "help", 1, 1,        0, verb_help },
                {}
        };
        int r;

        log_set_program_name(program_invocation_short_name);
        log_parse_environment();

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;

        if (optind >= argc)
                return log_error_errno(EINVAL, "Missing command; see --help."), EXIT_USAGE;

        r = dispatch_verb(argc - optind, argv + optind, verbs, "command", NULL);
        return r >= 0 ? r : exit_status_from_errno(r);
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        pager_close();
        strv_free(marked_args);
        return r;
}

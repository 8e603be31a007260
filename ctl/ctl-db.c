/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stopstartctl db VERB: the migration runner's command line (migrate/migrate.h does the work). */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ctl-db.h"
#include "json-util.h"
#include "log.h"
#include "migrate.h"
#include "pq-util.h"
#include "stopstartctl.h"
#include "strv.h"
#include "verbs.h"

#define DEFAULT_WAIT_TIMEOUT (60 * USEC_PER_SEC)
#define DEFAULT_CONNECT_TIMEOUT "10"

/* Everything a db verb opened, released in one place. */
typedef struct DbContext {
        Config *config;
        bool config_loaded;
        MigrationSet *set;
        PGconn *conn;
        Migrator *migrator;
        json_object *changes;    /* progress, collected for --json */
} DbContext;

static DbContext ctx = {};

enum {
        ARG_NO_BACKUP = DB_OPTION_FIRST,
        ARG_AUTOGENERATE,
        ARG_FROM_LIVE,
        ARG_MESSAGE = 'm',
};

const struct option db_options[] = {
        { "no-backup",    no_argument,       NULL, ARG_NO_BACKUP    },
        { "autogenerate", no_argument,       NULL, ARG_AUTOGENERATE },
        { "from-live",    no_argument,       NULL, ARG_FROM_LIVE    },
        { "message",      required_argument, NULL, ARG_MESSAGE      },
        {}
};

static bool arg_no_backup = false;
static bool arg_autogenerate = false;
static bool arg_from_live = false;
static const char *arg_message = NULL;

int db_parse_option(int c, const char *arg) {
        switch (c) {
        case ARG_NO_BACKUP:
                arg_no_backup = true;
                return 1;
        case ARG_AUTOGENERATE:
                arg_autogenerate = true;
                return 1;
        case ARG_FROM_LIVE:
                arg_from_live = true;
                return 1;
        case ARG_MESSAGE:
                arg_message = arg;
                return 1;
        default:
                return 0;
        }
}

void db_options_help(void) {
        printf("     --no-backup           db downgrade, rollback, reset, restore (and upgrade with\n"
               "                           backup_before_upgrade): skip the automatic backup\n"
               "  -m --message=TEXT        db revision: the description\n"
               "     --autogenerate        db new, revision: write the SQL that moves head to\n"
               "                           migrations/schema.sql (and back)\n"
               "     --from-live           with --autogenerate: the live database is the desired schema\n");
}

static void db_context_done(void) {
        ctx.migrator = migrator_free(ctx.migrator);
        if (ctx.conn)
                PQfinish(ctx.conn);
        ctx.conn = NULL;
        ctx.set = migration_set_free(ctx.set);
        ctx.config = config_free(ctx.config);
        ctx.changes = json_object_unref(ctx.changes);
}

/* ---- configuration and connection --------------------------------------------------------- */

/* The config file is optional unless named with --config. */
static int load_config(Config **ret) {
        _cleanup_free_ char *err = NULL;
        const char *path = arg_config ?: DEFAULT_CONFIG_FILE;
        int r;

        if (!ctx.config_loaded) {
                r = config_load(path, &ctx.config, &err);
                if (r == -ENOENT && !arg_config)
                        ctx.config = NULL;
                else if (r < 0)
                        return log_error_errno(r == -ENOENT ? ENOENT : EINVAL, "%s",
                                               err ?: "Cannot load the configuration file.");
                ctx.config_loaded = true;
        }
        *ret = ctx.config;
        return 0;
}

/* --database, else the config file's "database:", else "" (libpq's PG* environment). */
static int database_conninfo(const char **ret, const char **ret_source) {
        Config *c = NULL;
        int r;

        if (arg_database) {
                *ret = arg_database;
                *ret_source = "--database";
                return 0;
        }
        r = load_config(&c);
        if (r < 0)
                return r;
        if (c) {
                *ret = c->database;
                *ret_source = "the configuration file's \"database\"";
        } else {
                *ret = "";
                *ret_source = "the PG* environment";
        }
        return 0;
}

static void notice_to_debug(void *arg, const char *message) {
        size_t l = strlen(message);
        while (l > 0 && message[l - 1] == '\n')
                l--;
        log_debug("server: %.*s", (int) l, message);
}

/* One line of a libpq message ("…failed: …\n\tIs the server running…" becomes one line). */
static char *one_line(const char *s) {
        char *t = strdup(strempty(s)), *o = t;
        bool space = false;

        if (!t)
                return NULL;
        for (const char *p = s ? s : ""; *p; p++) {
                if (*p == '\n' || *p == '\t' || *p == ' ') {
                        space = true;
                        continue;
                }
                if (space && o > t)
                        *o++ = ' ';
                space = false;
                *o++ = *p;
        }
        *o = 0;
        return t;
}

/* Keywords for PQconnectdbParams/PQpingParams: our defaults first, so anything the conninfo sets
 * overrides them (libpq applies array entries in order, an expanded dbname included). */
static int connection_params(const char *conninfo, const char *connect_timeout, const char *kw[static 4],
                             const char *val[static 4]) {
        size_t n = 0;

        if (!getenv("PGCONNECT_TIMEOUT")) {
                kw[n] = "connect_timeout";
                val[n++] = connect_timeout;
        }
        kw[n] = "fallback_application_name";
        val[n++] = "stopstartctl";
        kw[n] = "dbname";
        val[n++] = conninfo;
        kw[n] = NULL;
        val[n] = NULL;
        return 0;
}

static int validate_conninfo(const char *conninfo, const char *source) {
        PQconninfoOption *opts;
        char *err = NULL;

        if (isempty(conninfo))
                return 0;
        opts = PQconninfoParse(conninfo, &err);
        if (!opts) {
                _cleanup_free_ char *e = one_line(err);
                PQfreemem(err);
                /* Never echo the string itself: it may hold a password. */
                return log_error_errno(EINVAL, "Invalid database connection string (from %s): %s", source,
                                       e && *e ? e : "cannot parse it");
        }
        PQconninfoFree(opts);
        return 0;
}

static int connect_db(PGconn **ret) {
        const char *conninfo, *source, *kw[4], *val[4];
        PGconn *conn;
        int r;

        if (ctx.conn) {
                *ret = ctx.conn;
                return 0;
        }
        r = database_conninfo(&conninfo, &source);
        if (r < 0)
                return r;
        r = validate_conninfo(conninfo, source);
        if (r < 0)
                return r;

        connection_params(conninfo, DEFAULT_CONNECT_TIMEOUT, kw, val);
        conn = PQconnectdbParams(kw, val, 1);
        if (!conn)
                return log_oom();
        if (PQstatus(conn) != CONNECTION_OK) {
                _cleanup_free_ char *e = one_line(PQerrorMessage(conn));
                PQfinish(conn);
                return log_error_errno(ECONNREFUSED, "Cannot connect to the database (from %s): %s", source,
                                       e && *e ? e : "unknown error");
        }
        PQsetNoticeProcessor(conn, notice_to_debug, NULL);
        ctx.conn = conn;
        *ret = conn;
        return 0;
}

static int load_set(MigrationSet **ret) {
        _cleanup_free_ char *err = NULL;
        int r;

        if (!ctx.set) {
                if (arg_migrations_dir)
                        r = migration_set_load_dir(arg_migrations_dir, &ctx.set, &err);
                else
                        r = migration_set_load_embedded(&ctx.set, &err);
                if (r < 0)
                        return log_error_errno(r == -ENOMEM ? ENOMEM : EINVAL, "%s",
                                               err ?: "Cannot load the migrations.");
        }
        *ret = ctx.set;
        return 0;
}

static char *version_label(const MigrationSet *set, const MigrateStatus *st, unsigned v) {
        const Migration *m;
        const MigrationRecord *rec;

        if (v == 0)
                return strdup("base");
        m = migration_set_find(set, v);
        if (m)
                return strdup(m->name);
        rec = migrate_status_find(st, v);
        return rec ? strdup(rec->name) : strprintf("%04u", v);
}

static void on_progress(Migrator *m, const MigrateProgress *p, void *userdata) {
        char span[TIMESPAN_MAX];

        if (p->kind == MIGRATE_PROGRESS_LOCK_WAIT) {
                log_info("Another migration run holds the lock on this database (server PID %d); waiting up to %s.",
                         p->holder_pid,
                         format_timespan(span, sizeof span, arg_lock_timeout != USEC_INFINITY ? arg_lock_timeout :
                                         ctx.config ? ctx.config->migrations.lock_timeout : CONFIG_DEFAULT_LOCK_TIMEOUT));
                return;
        }

        if (arg_output.json != JSON_FORMAT_OFF) {
                json_object *o = json_object_new_object();
                if (!o)
                        return;
                json_object_object_add(o, "change", json_object_new_string(
                                p->kind == MIGRATE_PROGRESS_APPLIED ? "applied" :
                                p->kind == MIGRATE_PROGRESS_REVERTED ? "reverted" : "changed"));
                json_object_object_add(o, "version", json_object_new_int64(p->version));
                json_object_object_add(o, "name", p->name ? json_object_new_string(p->name) : NULL);
                json_object_object_add(o, "execution_ms", p->execution_ms >= 0 ? json_object_new_int64(p->execution_ms) : NULL);
                json_object_object_add(o, "text", p->text ? json_object_new_string(p->text) : NULL);
                if (!ctx.changes)
                        ctx.changes = json_object_new_array();
                if (ctx.changes)
                        json_object_array_add(ctx.changes, o);
                else
                        json_object_put(o);
                return;
        }

        switch (p->kind) {
        case MIGRATE_PROGRESS_APPLIED:
                printf("Applied %s (%" PRIi64 " ms).\n", p->name, p->execution_ms);
                break;
        case MIGRATE_PROGRESS_REVERTED:
                printf("Reverted %s (%" PRIi64 " ms).\n", p->name, p->execution_ms);
                break;
        default:
                if (p->name)
                        printf("%s: %s.\n", p->name, p->text);
                else
                        printf("%c%s.\n", toupper((unsigned char) p->text[0]), p->text + 1);
        }
        fflush(stdout);
}

/* Connects, loads the set, and (for mutating verbs) takes the migration lock. */
static int open_migrator(bool lock, Migrator **ret) {
        MigrationSet *set = NULL;
        PGconn *conn = NULL;
        Config *c = NULL;
        int r;

        r = load_set(&set);
        if (r < 0)
                return r;
        r = load_config(&c);
        if (r < 0)
                return r;
        r = connect_db(&conn);
        if (r < 0)
                return r;
        r = migrator_new(conn, set, &ctx.migrator);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the migration runner: %m");
        migrator_set_progress(ctx.migrator, on_progress, NULL);
        migrator_set_lock_timeout(ctx.migrator, arg_lock_timeout != USEC_INFINITY ? arg_lock_timeout :
                                  c ? c->migrations.lock_timeout : CONFIG_DEFAULT_LOCK_TIMEOUT);
        if (lock) {
                r = migrator_lock(ctx.migrator);
                if (r < 0)
                        return log_error_errno(r, "%s", migrator_error(ctx.migrator));
        }
        *ret = ctx.migrator;
        return 0;
}

static int migrator_error_exit(Migrator *m, int r) {
        (void) log_error_errno(r, "%s", migrator_error(m));
        return r;
}

/* ---- read-only verbs ----------------------------------------------------------------------- */

static int verb_db_current(int argc, char *argv[], void *userdata) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *cur = NULL, *head = NULL, *dirty = NULL;
        Migrator *m;
        unsigned h;
        int r;

        r = open_migrator(false, &m);
        if (r < 0)
                return r;
        r = migrator_status(m, &st);
        if (r < 0)
                return migrator_error_exit(m, r);

        h = migration_set_head(ctx.set);
        cur = version_label(ctx.set, st, st->current);
        head = version_label(ctx.set, st, h);
        dirty = st->dirty ? version_label(ctx.set, st, st->dirty) : NULL;
        if (!cur || !head || (st->dirty && !dirty))
                return log_oom();

        t = table_new_vertical();
        if (!t)
                return log_oom();
        if (arg_output.json) {
                if (table_add_key(t, "version", NULL) < 0 || table_add_int(t, st->current) < 0 ||
                    table_add_key(t, "name", NULL) < 0 || table_add_string(t, st->current ? cur : NULL) < 0 ||
                    table_add_key(t, "dirty", NULL) < 0 || table_add_bool(t, st->dirty > 0) < 0 ||
                    table_add_key(t, "dirty_version", NULL) < 0 ||
                    (st->dirty ? table_add_int(t, st->dirty) : table_add_null(t)) < 0 ||
                    table_add_key(t, "head", NULL) < 0 || table_add_int(t, h) < 0 ||
                    table_add_key(t, "head_name", NULL) < 0 || table_add_string(t, h ? head : NULL) < 0)
                        return log_oom();
        } else if (table_add_key(t, "version", "Version") < 0 || table_add_string(t, cur) < 0 ||
                   table_add_key(t, "dirty", "Dirty") < 0 || table_add_string(t, dirty ? dirty : "no") < 0 ||
                   table_add_key(t, "head", "Head") < 0 || table_add_string(t, head) < 0)
                return log_oom();
        r = table_print(t, &arg_output);
        if (r < 0)
                return r;
        return st->dirty ? EXIT_NOT_OK : 0;
}

static int verb_db_status(int argc, char *argv[], void *userdata) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        size_t i = 0, j = 0, applied = 0, pending = 0, other = 0;
        Migrator *m;
        int r;

        r = open_migrator(false, &m);
        if (r < 0)
                return r;
        r = migrator_status(m, &st);
        if (r < 0)
                return migrator_error_exit(m, r);

        t = table_new("mark", "version", "name", "state", "applied_at", NULL);
        if (!t)
                return log_oom();
        (void) table_set_header(t, "mark", "");
        (void) table_set_header(t, "name", "MIGRATION");
        (void) table_set_display(t, "mark", "name", "state", "applied_at", NULL);
        (void) table_hide_from_json(t, "mark");

        /* Merge the set and the records, both ascending. */
        while (i < ctx.set->n_migrations || j < st->n_records) {
                const Migration *mig = i < ctx.set->n_migrations ? &ctx.set->migrations[i] : NULL;
                const MigrationRecord *rec = j < st->n_records ? &st->records[j] : NULL;
                MigrationState s;

                if (mig && (!rec || mig->version < rec->version)) {
                        s = MIGRATION_STATE_PENDING;
                        rec = NULL;
                        i++;
                        pending++;
                } else if (!mig || rec->version < mig->version) {
                        s = MIGRATION_STATE_MISSING;
                        mig = NULL;
                        j++;
                        other++;
                } else {
                        s = rec->state;
                        i++;
                        j++;
                        if (s == MIGRATION_STATE_APPLIED)
                                applied++;
                        else
                                other++;
                }
                r = table_add_string(t, s == MIGRATION_STATE_APPLIED ? "[X]" : s == MIGRATION_STATE_PENDING ? "[ ]" :
                                        s == MIGRATION_STATE_DIRTY ? "[D]" : "[?]");
                if (r >= 0)
                        r = table_add_int(t, mig ? mig->version : rec->version);
                if (r >= 0)
                        r = table_add_string(t, mig ? mig->name : rec->name);
                if (r >= 0)
                        r = table_add_string(t, migration_state_to_string(s));
                if (r >= 0)
                        r = table_add_string(t, rec ? rec->applied_at : NULL);
                if (r < 0)
                        return log_oom();
        }
        (void) table_set_footer(t, "Applied: %zu, pending: %zu%s.", applied, pending,
                                st->dirty ? ", DIRTY" : other ? ", some applied migrations are not in this build" : "");
        (void) table_set_empty_text(t, "No migrations in this build, none applied.");

        pager_open(&arg_output);
        r = table_print(t, &arg_output);
        if (r < 0)
                return r;
        return pending > 0 || st->dirty ? EXIT_NOT_OK : 0;
}

static int print_log(Migrator *m) {
        _cleanup_(table_freep) Table *t = NULL;
        MigrateLogEntry *l = NULL;
        size_t n = 0;
        int r;

        r = migrator_log(m, &l, &n);
        if (r < 0)
                return migrator_error_exit(m, r);

        t = table_new("id", "version", "event", "success", "checksum", "started_at", "finished_at", "actor", "host",
                      "db_user", "tool_version", "error", "detail", NULL);
        if (!t) {
                migrate_log_free(l, n);
                return log_oom();
        }
        (void) table_set_header(t, "success", "OK");
        (void) table_set_header(t, "finished_at", "TIME");
        (void) table_set_display(t, "id", "finished_at", "event", "version", "success", "actor", "host", "error",
                                 "detail", NULL);
        for (size_t i = 0; i < n && r >= 0; i++) {
                const MigrateLogEntry *e = &l[i];
                r = table_add_int(t, e->id);
                if (r >= 0)
                        r = e->version ? table_add_int(t, e->version) : table_add_null(t);
                if (r >= 0)
                        r = table_add_string(t, migrate_event_to_string(e->event));
                if (r >= 0)
                        r = table_add_bool(t, e->success);
                if (r >= 0)
                        r = table_add_string(t, e->checksum);
                if (r >= 0)
                        r = table_add_string(t, e->started_at);
                if (r >= 0)
                        r = table_add_string(t, e->finished_at);
                if (r >= 0)
                        r = table_add_string(t, e->actor);
                if (r >= 0)
                        r = table_add_string(t, e->host);
                if (r >= 0)
                        r = table_add_string(t, e->db_user);
                if (r >= 0)
                        r = table_add_string(t, e->tool_version);
                if (r >= 0) {
                        /* Keep the human table one line per event: the first line of the error. */
                        _cleanup_free_ char *first = e->error && !arg_output.json ? strndup(e->error, strcspn(e->error, "\n")) : NULL;
                        r = table_add_string(t, first ?: e->error);
                }
                if (r >= 0)
                        r = table_add_string(t, e->detail);
        }
        migrate_log_free(l, n);
        if (r < 0)
                return log_oom();
        (void) table_set_footer(t, "%zu event%s.", n, n == 1 ? "" : "s");
        (void) table_set_empty_text(t, "No events recorded.");
        pager_open(&arg_output);
        return table_print(t, &arg_output);
}

static int verb_db_history(int argc, char *argv[], void *userdata) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        size_t i = 0, j = 0;
        Migrator *m;
        int r;

        r = open_migrator(false, &m);
        if (r < 0)
                return r;
        if (arg_log)
                return print_log(m);

        r = migrator_status(m, &st);
        if (r < 0)
                return migrator_error_exit(m, r);

        t = table_new("version", "name", "state", "applied_at", "applied_by", "execution_ms", "tool_version", NULL);
        if (!t)
                return log_oom();
        (void) table_set_header(t, "execution_ms", "MS");
        while (i < ctx.set->n_migrations || j < st->n_records) {
                const Migration *mig = i < ctx.set->n_migrations ? &ctx.set->migrations[i] : NULL;
                const MigrationRecord *rec = j < st->n_records ? &st->records[j] : NULL;
                MigrationState s;

                if (mig && (!rec || mig->version < rec->version)) {
                        s = MIGRATION_STATE_PENDING;
                        rec = NULL;
                        i++;
                } else if (!mig || rec->version < mig->version) {
                        s = MIGRATION_STATE_MISSING;
                        mig = NULL;
                        j++;
                } else {
                        s = rec->state;
                        i++;
                        j++;
                }
                r = table_add_int(t, mig ? mig->version : rec->version);
                if (r >= 0)
                        r = table_add_string(t, mig ? mig->name : rec->name);
                if (r >= 0)
                        r = table_add_string(t, migration_state_to_string(s));
                if (r >= 0)
                        r = table_add_string(t, rec ? rec->applied_at : NULL);
                if (r >= 0)
                        r = table_add_string(t, rec ? rec->applied_by : NULL);
                if (r >= 0)
                        r = rec && rec->execution_ms >= 0 ? table_add_int(t, rec->execution_ms) : table_add_null(t);
                if (r >= 0)
                        r = table_add_string(t, rec ? rec->tool_version : NULL);
                if (r < 0)
                        return log_oom();
        }
        (void) table_set_footer(t, "%zu migration%s; database at %04u, head %04u.", table_get_rows(t),
                                table_get_rows(t) == 1 ? "" : "s", st->current, migration_set_head(ctx.set));
        (void) table_set_empty_text(t, "No migrations in this build, none applied.");
        pager_open(&arg_output);
        return table_print(t, &arg_output);
}

static int print_check(const MigrateCheck *c) {
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        if (arg_output.json) {
                _cleanup_json_ json_object *j = json_object_new_object();
                json_object *a = json_object_new_array();
                if (!j || !a) {
                        json_object_put(a);
                        return log_oom();
                }
                json_object_object_add(j, "ok", json_object_new_boolean(c->n_problems == 0));
                json_object_object_add(j, "current", json_object_new_int64(c->current));
                json_object_object_add(j, "head", json_object_new_int64(c->head));
                json_object_object_add(j, "applied", json_object_new_int64((int64_t) c->n_applied));
                json_object_object_add(j, "pending", json_object_new_int64((int64_t) c->n_pending));
                json_object_object_add(j, "drift_check", json_object_new_string(migrate_drift_method_to_string(c->drift_method)));
                json_object_object_add(j, "drift_note", c->drift_note ? json_object_new_string(c->drift_note) : NULL);
                for (size_t i = 0; i < c->n_problems; i++) {
                        json_object *p = json_object_new_object();
                        if (!p)
                                return log_oom();
                        json_object_object_add(p, "kind", json_object_new_string(migrate_problem_kind_to_string(c->problems[i].kind)));
                        json_object_object_add(p, "version", c->problems[i].version ? json_object_new_int64(c->problems[i].version) : NULL);
                        json_object_object_add(p, "message", json_object_new_string(c->problems[i].message));
                        json_object_array_add(a, p);
                }
                json_object_object_add(j, "problems", a);
                return output_json(j, &arg_output);
        }

        if (c->n_problems > 0) {
                t = table_new("kind", "version", "message", NULL);
                if (!t)
                        return log_oom();
                (void) table_set_display(t, "kind", "message", NULL);
                for (size_t i = 0; i < c->n_problems; i++)
                        if (table_add_string(t, migrate_problem_kind_to_string(c->problems[i].kind)) < 0 ||
                            table_add_int(t, c->problems[i].version) < 0 ||
                            table_add_string(t, c->problems[i].message) < 0)
                                return log_oom();
                (void) table_set_footer(t, "%zu problem%s found.", c->n_problems, c->n_problems == 1 ? "" : "s");
                r = table_print(t, &arg_output);
                if (r < 0)
                        return r;
        } else
                printf("OK: %zu migration%s applied, database at %04u, head %04u%s%s%s.\n", c->n_applied,
                       c->n_applied == 1 ? "" : "s", c->current, c->head,
                       c->drift_method != MIGRATE_DRIFT_NONE ? "; the schema matches the migrations (" : "",
                       c->drift_method == MIGRATE_DRIFT_SCRATCH ? "built in a scratch database" :
                       c->drift_method == MIGRATE_DRIFT_SNAPSHOT ? "compared with schema.snapshot" : "",
                       c->drift_method != MIGRATE_DRIFT_NONE ? ")" : "");
        if (c->drift_note)
                printf("Note: schema drift was not checked: %s\n", c->drift_note);
        return 0;
}

static int run_check(Migrator *m) {
        _cleanup_(migrate_check_freep) MigrateCheck *c = NULL;
        int r;

        r = migrator_check(m, MIGRATE_CHECK_ALL, &c);
        if (r < 0)
                return migrator_error_exit(m, r);
        r = print_check(c);
        if (r < 0)
                return r;
        return c->n_problems > 0 ? EXIT_NOT_OK : 0;
}

static int verb_db_check(int argc, char *argv[], void *userdata) {
        Migrator *m;
        int r;

        r = open_migrator(false, &m);
        if (r < 0)
                return r;
        return run_check(m);
}

static void print_definition(const char *label, const char *def) {
        if (!strchr(def, '\n')) {
                printf("      %s%s\n", label, def);
                return;
        }
        if (*label)
                printf("      %.*s\n", (int) strcspn(label, " "), label);
        for (const char *p = def; ; ) {
                const char *e = strchrnul(p, '\n');
                printf("          %.*s\n", (int) (e - p), p);
                if (!*e)
                        break;
                p = e + 1;
        }
}

static void print_declared_differences(const MigrateDiff *d) {
        printf("%sHead differs from migrations/schema.sql (run `stopstartctl db new \"…\" --autogenerate`):\n"
               "(- declared only, + made by the migrations only, ~ different)\n\n", arg_output.legend ? "\n" : "");
        for (size_t i = 0; i < d->n_differences; i++) {
                const SchemaDifference *x = &d->differences[i];
                printf("%c %s %s\n", !x->expected ? '+' : !x->actual ? '-' : '~', x->kind, x->name);
                if (x->expected && x->actual) {
                        print_definition("declared:   ", x->expected);
                        print_definition("migrations: ", x->actual);
                } else if (*(x->expected ?: x->actual))
                        print_definition("", x->expected ?: x->actual);
        }
}

static json_object *differences_json(const MigrateDiff *d) {
        json_object *a = json_object_new_array();
        for (size_t i = 0; a && i < d->n_differences; i++) {
                const SchemaDifference *x = &d->differences[i];
                json_object *o = json_object_new_object();
                if (!o) {
                        json_object_put(a);
                        return NULL;
                }
                json_object_object_add(o, "kind", json_object_new_string(x->kind));
                json_object_object_add(o, "name", json_object_new_string(x->name));
                json_object_object_add(o, "change", json_object_new_string(!x->expected ? "extra" :
                                                                            !x->actual ? "missing" : "changed"));
                json_object_object_add(o, "expected", x->expected ? json_object_new_string(x->expected) : NULL);
                json_object_object_add(o, "actual", x->actual ? json_object_new_string(x->actual) : NULL);
                json_object_array_add(a, o);
        }
        return a;
}

static int verb_db_diff(int argc, char *argv[], void *userdata) {
        _cleanup_(migrate_diff_freep) MigrateDiff *d = NULL, *declared = NULL;
        _cleanup_free_ char *label = NULL;
        Migrator *m;
        int r;

        r = open_migrator(false, &m);
        if (r < 0)
                return r;
        r = migrator_diff(m, MIGRATE_CHECK_DRIFT_SCRATCH | MIGRATE_CHECK_DRIFT_SNAPSHOT, &d);
        if (r < 0)
                return migrator_error_exit(m, r);
        /* and the migrations' head against the declared schema, when both can be built */
        if (ctx.set->declared && d->method == MIGRATE_DRIFT_SCRATCH) {
                r = migrator_diff_declared(m, &declared);
                if (r < 0 && r != -EPERM)
                        return migrator_error_exit(m, r);
        }
        size_t n_declared = declared ? declared->n_differences : 0;

        if (arg_output.json) {
                _cleanup_json_ json_object *j = json_object_new_object();
                json_object *a = differences_json(d);
                if (!j || !a) {
                        json_object_put(a);
                        return log_oom();
                }
                json_object_object_add(j, "method", json_object_new_string(migrate_drift_method_to_string(d->method)));
                json_object_object_add(j, "version", json_object_new_int64(d->version));
                json_object_object_add(j, "differences", a);
                /* head against migrations/schema.sql; null when not compared */
                json_object_object_add(j, "declared_differences", declared ? differences_json(declared) : NULL);
                r = output_json(j, &arg_output);
                if (r < 0)
                        return r;
                return d->n_differences + n_declared > 0 ? EXIT_NOT_OK : 0;
        }

        label = strprintf("%s (%s)", d->version ? migration_set_find(ctx.set, d->version)->name : "base",
                          d->method == MIGRATE_DRIFT_SCRATCH ? "built in a scratch database" : "schema.snapshot");
        if (!label)
                return log_oom();
        if (d->n_differences == 0) {
                printf("No differences: schema " MIGRATE_APP_SCHEMA " matches the migrations up to %s.\n", label);
                if (n_declared == 0)
                        return 0;
                print_declared_differences(declared);
                return EXIT_NOT_OK;
        }

        pager_open(&arg_output);
        if (arg_output.legend)
                printf("Schema " MIGRATE_APP_SCHEMA " differs from the migrations up to %s:\n"
                       "(- defined by the migrations only, + in the database only, ~ different)\n\n", label);
        for (size_t i = 0; i < d->n_differences; i++) {
                const SchemaDifference *x = &d->differences[i];
                if (!x->expected) {
                        printf("+ %s %s\n", x->kind, x->name);
                        if (*x->actual)
                                print_definition("", x->actual);
                } else if (!x->actual) {
                        printf("- %s %s\n", x->kind, x->name);
                        if (*x->expected)
                                print_definition("", x->expected);
                } else {
                        printf("~ %s %s\n", x->kind, x->name);
                        print_definition("migrations: ", x->expected);
                        print_definition("database:   ", x->actual);
                }
        }
        if (arg_output.legend)
                printf("\n%zu difference%s.\n", d->n_differences, d->n_differences == 1 ? "" : "s");
        if (n_declared > 0)
                print_declared_differences(declared);
        return EXIT_NOT_OK;
}

/* ---- mutating verbs ------------------------------------------------------------------------ */

/* Reports the outcome of a mutating verb: the changes (progress was printed as it happened in
 * human mode) and the version before and after. r is the verb's result. */
static int finish_change(Migrator *m, unsigned before, int r) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        _cleanup_free_ char *label = NULL;
        int q;

        if (r < 0)
                (void) log_error_errno(r, "%s", migrator_error(m));

        q = PQstatus(ctx.conn) == CONNECTION_OK ? migrator_status(m, &st) : -ENOTCONN;

        if (arg_output.json) {
                _cleanup_json_ json_object *j = json_object_new_object();
                if (!j)
                        return log_oom();
                json_object_object_add(j, "version_before", json_object_new_int64(before));
                json_object_object_add(j, "version_after", q >= 0 ? json_object_new_int64(st->current) : NULL);
                json_object_object_add(j, "dirty", q >= 0 ? json_object_new_boolean(st->dirty > 0) : NULL);
                json_object_object_add(j, "changes", ctx.changes ? json_object_get(ctx.changes) : json_object_new_array());
                json_object_object_add(j, "error", r < 0 ? json_object_new_string(migrator_error(m)) : NULL);
                (void) output_json(j, &arg_output);
                return r;
        }
        if (r < 0 || q < 0)
                return r;

        label = version_label(ctx.set, st, st->current);
        if (!label)
                return log_oom();
        printf("Database at %s%s%s.\n", label, st->current == migration_set_head(ctx.set) ? " (head)" : "",
               st->dirty ? ", DIRTY" : "");
        return 0;
}

static const char *backup_dir(void) {
        return ctx.config ? ctx.config->migrations.backup_dir : CONFIG_DEFAULT_BACKUP_DIR;
}

/* Keeps migrations: keep_backups of ours in the backup directory. After the verb's work, so a
 * backup being restored is never the one pruned. */
static void prune_backups(void) {
        _cleanup_strv_free_ char **removed = NULL;
        unsigned keep = ctx.config ? ctx.config->migrations.keep_backups : CONFIG_DEFAULT_KEEP_BACKUPS;
        int r;

        r = migrate_backup_prune(backup_dir(), keep, &removed);
        if (r < 0)
                log_warning_errno(r, "Cannot prune old backups in %s: %m", backup_dir());
        STRV_FOREACH(f, removed)
                log_debug("Removed old backup %s (keep_backups: %u).", *f, keep);
}

/* The recovery point of a destructive verb, taken under the lock right before it runs. */
static int auto_backup(Migrator *m, const char *verb) {
        _cleanup_(migrate_backup_info_freep) MigrateBackupInfo *info = NULL;
        int r;

        if (arg_no_backup)
                return 0;
        r = migrator_backup_into(m, backup_dir(), &info);
        if (r == -ENOENT)
                return 0;       /* nothing to back up */
        if (r < 0)
                return log_error_errno(r, "Automatic backup before %s failed (--no-backup skips it): %s", verb,
                                       migrator_error(m));
        if (!arg_output.json) {
                printf("Backed up database %s at %s to %s.\n", info->database, info->schema_name ?: "base", info->file);
                fflush(stdout);
        }
        return 0;
}

static unsigned current_version(Migrator *m) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        return migrator_status(m, &st) >= 0 ? st->current : 0;
}

static size_t pending_count(Migrator *m) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        size_t n = 0;

        if (migrator_status(m, &st) < 0)
                return 0;
        for (size_t i = 0; i < ctx.set->n_migrations; i++)
                if (!migrate_status_find(st, ctx.set->migrations[i].version))
                        n++;
        return n;
}

static unsigned progress_count = 0;

static void count_progress(Migrator *m, const MigrateProgress *p, void *userdata) {
        if (p->kind != MIGRATE_PROGRESS_LOCK_WAIT)
                progress_count++;
        on_progress(m, p, userdata);
}

static int verb_db_upgrade(int argc, char *argv[], void *userdata) {
        Migrator *m;
        unsigned before;
        int r;

        r = open_migrator(true, &m);
        if (r < 0)
                return r;
        migrator_set_progress(m, count_progress, NULL);
        before = current_version(m);
        if (ctx.config && ctx.config->migrations.backup_before_upgrade && pending_count(m) > 0) {
                r = auto_backup(m, "upgrade");
                if (r < 0)
                        return r;
        }
        r = migrator_upgrade(m, argc > 1 ? argv[1] : "head");
        prune_backups();
        if (r >= 0 && progress_count == 0 && !arg_output.json)
                printf("Nothing to upgrade.\n");
        return finish_change(m, before, r);
}

/* A stopstartd connected to the database keeps running on the schema it checked at start-up:
 * say so before changing that schema under it. */
static void warn_daemon_connected(Migrator *m) {
        unsigned n = 0;

        if (migrator_count_sessions(m, STOPSTARTD_APPLICATION_NAME, &n) < 0 || n == 0)
                return;
        log_warning("Warning: stopstartd is connected to database %s (%u session%s); it will fail until the schema is "
                    "back at its head. Consider `systemctl stop stopstartd` first.", PQdb(ctx.conn), n, n == 1 ? "" : "s");
}

/* --yes, or a "y" typed on a terminal. Without either it refuses: a destructive verb in a script
 * must say so explicitly. */
static int confirm(const char *verb, const char *consequence, const char *question) {
        _cleanup_free_ char *line = NULL;
        size_t allocated = 0;
        ssize_t l;

        if (arg_yes)
                return 0;
        if (!isatty(STDIN_FILENO))
                return log_error_errno(EPERM, "Refusing to %s without --yes: %s. Confirm with --yes, or run it on a "
                                       "terminal to be asked.", verb, consequence);
        fprintf(stderr, "%s %c%s. Continue? [y/N] ", question, toupper((unsigned char) consequence[0]), consequence + 1);
        fflush(stderr);
        l = getline(&line, &allocated, stdin);
        if (l > 0 && line[l - 1] == '\n')
                line[--l] = 0;
        if (l > 0 && (strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0))
                return 0;
        return log_error_errno(EPERM, "Not confirmed; nothing was changed.");
}

static bool reset_allowed(void) {
        return arg_allow_reset || (ctx.config && ctx.config->migrations.allow_reset);
}

static int guard_downgrade(Migrator *m, const MigrateDowngradePlan *p) {
        _cleanup_free_ char *from = NULL, *to = NULL, *newest = NULL, *oldest = NULL, *consequence = NULL,
                *question = NULL;

        if (p->after == 0) {
                /* Reverting everything drops the whole application schema: reset's guard. */
                if (!reset_allowed())
                        return log_error_errno(EPERM, "Refusing to downgrade to base: like reset, it drops schema "
                                               MIGRATE_APP_SCHEMA " with all its data (configuration, audit log, jobs), "
                                               "and that is disabled. Set \"migrations: allow_reset: true\" in %s or "
                                               "pass --allow-reset, and confirm with --yes.",
                                               arg_config ?: DEFAULT_CONFIG_FILE);
                if (!arg_yes)
                        return log_error_errno(EPERM, "Refusing to downgrade to base without --yes: it reverts every "
                                               "migration and drops schema " MIGRATE_APP_SCHEMA " with all its data.");
                warn_daemon_connected(m);
                return 0;
        }

        from = version_label(ctx.set, NULL, p->before);
        to = version_label(ctx.set, NULL, p->after);
        newest = version_label(ctx.set, NULL, p->first_reverted);
        oldest = version_label(ctx.set, NULL, p->last_reverted);
        if (!from || !to || !newest || !oldest)
                return log_oom();
        consequence = p->n_revert == 1 ?
                strprintf("it reverts %s, and what it created is dropped with its data", newest) :
                strprintf("it reverts %zu migrations (%s down to %s), and what they created is dropped with its data",
                          p->n_revert, newest, oldest);
        question = strprintf("Downgrade database %s from %s to %s?", PQdb(ctx.conn), from, to);
        if (!consequence || !question)
                return log_oom();
        warn_daemon_connected(m);
        return confirm("downgrade", consequence, question);
}

static int verb_db_downgrade(int argc, char *argv[], void *userdata) {
        const char *target = argc > 1 ? argv[1] : NULL;
        MigrateDowngradePlan plan;
        Migrator *m;
        unsigned before;
        int r;

        r = open_migrator(true, &m);
        if (r < 0)
                return r;
        migrator_set_progress(m, count_progress, NULL);
        before = current_version(m);
        /* Under the lock: what is confirmed is what runs. */
        r = migrator_downgrade_plan(m, target, &plan);
        if (r < 0)
                return finish_change(m, before, r);
        if (plan.n_revert > 0) {
                r = guard_downgrade(m, &plan);
                if (r < 0)
                        return r;
                r = auto_backup(m, "downgrade");
                if (r < 0)
                        return r;
        }
        r = migrator_downgrade(m, target);
        prune_backups();
        if (r >= 0 && progress_count == 0 && !arg_output.json)
                printf("Nothing to downgrade.\n");
        return finish_change(m, before, r);
}

static int verb_db_fix_state(int argc, char *argv[], void *userdata) {
        Migrator *m;
        unsigned before;
        int r;

        if (arg_fix < 0)
                return log_error_errno(EINVAL, "fix-state needs one of --mark-applied=N, --mark-reverted=N, --stamp=N, "
                                       "--realign-checksums, --forget-missing.");
        if (arg_fix == MIGRATE_FIX_REALIGN_CHECKSUMS && !arg_yes)
                return log_error_errno(EPERM, "--realign-checksums makes the recorded checksums match this build, "
                                       "hiding any change to applied migrations; confirm with --yes.");

        r = open_migrator(true, &m);
        if (r < 0)
                return r;
        before = current_version(m);
        r = migrator_fix_state(m, arg_fix, arg_fix_version);
        return finish_change(m, before, r);
}

static int verb_db_reset(int argc, char *argv[], void *userdata) {
        Config *c = NULL;
        Migrator *m;
        unsigned before;
        int r;

        r = load_config(&c);
        if (r < 0)
                return r;
        if (!arg_allow_reset && !(c && c->migrations.allow_reset))
                return log_error_errno(EPERM, "Refusing to reset: it is disabled. Set \"migrations: allow_reset: true\" "
                                       "in %s or pass --allow-reset.", arg_config ?: DEFAULT_CONFIG_FILE);
        if (!arg_yes)
                return log_error_errno(EPERM, "Refusing to reset without --yes: it drops schema " MIGRATE_APP_SCHEMA
                                       " with all its data and rebuilds it empty.");

        r = open_migrator(true, &m);
        if (r < 0)
                return r;
        before = current_version(m);
        r = auto_backup(m, "reset");
        if (r < 0)
                return r;
        r = migrator_reset(m);
        prune_backups();
        return finish_change(m, before, r);
}

static json_object *backup_info_json(const MigrateBackupInfo *i) {
        json_object *j = json_object_new_object();
        if (!j)
                return NULL;
        json_object_object_add(j, "file", json_object_new_string(i->file));
        json_object_object_add(j, "schema_version", json_object_new_int64(i->schema_version));
        json_object_object_add(j, "schema_name", i->schema_name ? json_object_new_string(i->schema_name) : NULL);
        json_object_object_add(j, "schema_checksum", i->schema_checksum ? json_object_new_string(i->schema_checksum) : NULL);
        json_object_object_add(j, "head_version", json_object_new_int64(i->head_version));
        json_object_object_add(j, "head_checksum", i->head_checksum ? json_object_new_string(i->head_checksum) : NULL);
        json_object_object_add(j, "dirty", json_object_new_boolean(i->dirty));
        json_object_object_add(j, "tool_version", i->tool_version ? json_object_new_string(i->tool_version) : NULL);
        json_object_object_add(j, "created_at", i->created_at ? json_object_new_string(i->created_at) : NULL);
        json_object_object_add(j, "database", i->database ? json_object_new_string(i->database) : NULL);
        return j;
}

static int verb_db_backup(int argc, char *argv[], void *userdata) {
        _cleanup_(migrate_backup_info_freep) MigrateBackupInfo *info = NULL;
        Migrator *m;
        int r;

        r = open_migrator(true, &m);
        if (r < 0)
                return r;
        /* Without FILE: into the backup directory, which keeps keep_backups of them. */
        r = argc > 1 ? migrator_backup(m, argv[1], &info) : migrator_backup_into(m, backup_dir(), &info);
        if (r < 0)
                return migrator_error_exit(m, r);
        if (argc <= 1)
                prune_backups();
        if (info->dirty)
                log_warning("The database is dirty at %04u; the backup records that.", info->schema_version);
        if (arg_output.json) {
                _cleanup_json_ json_object *j = backup_info_json(info);
                return j ? output_json(j, &arg_output) : log_oom();
        }
        printf("Backed up database %s at %s to %s (metadata in %s.json).\n", info->database,
               info->schema_name ?: "base", info->file, info->file);
        return 0;
}

static int verb_db_backups(int argc, char *argv[], void *userdata) {
        _cleanup_(table_freep) Table *t = NULL;
        MigrateBackupInfo **l = NULL;
        Config *c = NULL;
        size_t n = 0;
        int r;

        r = load_config(&c);
        if (r < 0)
                return r;
        r = migrate_backup_list(backup_dir(), &l, &n);
        if (r < 0)
                return log_error_errno(r, "Cannot list the backups in %s: %m", backup_dir());

        t = table_new("file", "created_at", "schema_version", "schema_name", "size", "database", "dirty", "tool_version",
                      NULL);
        if (!t) {
                migrate_backup_list_free(l, n);
                return log_oom();
        }
        (void) table_set_header(t, "created_at", "TIME");
        (void) table_set_header(t, "schema_version", "VERSION");
        (void) table_set_display(t, "file", "created_at", "schema_name", "size", NULL);
        (void) table_set_header(t, "schema_name", "SCHEMA");
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = table_add_string(t, l[i]->file);
                if (r >= 0)
                        r = table_add_string(t, l[i]->created_at);
                if (r >= 0)
                        r = table_add_int(t, l[i]->schema_version);
                if (r >= 0)
                        r = table_add_string(t, l[i]->schema_name ?: (arg_output.json ? NULL : "base"));
                if (r >= 0)
                        r = table_add_int(t, (int64_t) l[i]->size);
                if (r >= 0)
                        r = table_add_string(t, l[i]->database);
                if (r >= 0)
                        r = table_add_bool(t, l[i]->dirty);
                if (r >= 0)
                        r = table_add_string(t, l[i]->tool_version);
        }
        migrate_backup_list_free(l, n);
        if (r < 0)
                return log_oom();
        (void) table_set_footer(t, "%zu backup%s in %s, newest first.", n, n == 1 ? "" : "s", backup_dir());
        (void) table_set_empty_text(t, "No backups.");
        pager_open(&arg_output);
        return table_print(t, &arg_output);
}

/* db restore without FILE: the newest backup in the backup directory. */
static int newest_backup(char **ret) {
        MigrateBackupInfo **l = NULL;
        size_t n = 0;
        int r;

        r = migrate_backup_list(backup_dir(), &l, &n);
        if (r < 0)
                return log_error_errno(r, "Cannot list the backups in %s: %m", backup_dir());
        if (n == 0) {
                migrate_backup_list_free(l, n);
                return log_error_errno(ENOENT, "No backups in %s to restore; name a FILE.", backup_dir());
        }
        *ret = strdup(l[0]->file);
        migrate_backup_list_free(l, n);
        if (!*ret)
                return log_oom();
        /* On stderr: it is said before the question, and stdout may be JSON. */
        log_info("The newest backup in %s is %s.", backup_dir(), *ret);
        return 0;
}

static int guard_restore(Migrator *m, const char *file) {
        _cleanup_(migrate_backup_info_freep) MigrateBackupInfo *info = NULL;
        _cleanup_free_ char *question = NULL;
        int r;

        /* Refusals first: nobody should confirm what would be refused anyway. */
        r = migrator_restore_check(m, file, &info);
        if (r < 0)
                return migrator_error_exit(m, r);
        question = strprintf("Restore %s (database %s at %s, taken %s) into database %s?", file, strna(info->database),
                             info->schema_name ?: "base", strna(info->created_at), PQdb(ctx.conn));
        if (!question)
                return log_oom();
        warn_daemon_connected(m);
        return confirm("restore", "it replaces schemas " MIGRATE_APP_SCHEMA " and " MIGRATE_META_SCHEMA
                       " with the backup's, and everything written since the backup is lost", question);
}

static int verb_db_restore(int argc, char *argv[], void *userdata) {
        _cleanup_(migrate_backup_info_freep) MigrateBackupInfo *info = NULL;
        _cleanup_(migrate_check_freep) MigrateCheck *c = NULL;
        Migrator *m;
        int r;

        _cleanup_free_ char *newest = NULL;
        const char *file = argc > 1 ? argv[1] : NULL;

        r = open_migrator(true, &m);
        if (r < 0)
                return r;
        if (!file) {
                r = newest_backup(&newest);
                if (r < 0)
                        return r;
                file = newest;
        }
        r = guard_restore(m, file);
        if (r < 0)
                return r;
        r = auto_backup(m, "restore");
        if (r < 0)
                return r;
        r = migrator_restore(m, file, &info);
        prune_backups();
        if (r < 0)
                return migrator_error_exit(m, r);

        r = migrator_check(m, MIGRATE_CHECK_ALL, &c);
        if (r < 0)
                return migrator_error_exit(m, r);

        if (arg_output.json) {
                _cleanup_json_ json_object *j = json_object_new_object();
                json_object *b = backup_info_json(info);
                if (!j || !b) {
                        json_object_put(b);
                        return log_oom();
                }
                json_object_object_add(j, "restored", b);
                json_object_object_add(j, "check_ok", json_object_new_boolean(c->n_problems == 0));
                r = output_json(j, &arg_output);
                if (r < 0)
                        return r;
        } else {
                printf("Check after the restore:\n");
                r = print_check(c);
                if (r < 0)
                        return r;
        }
        return c->n_problems > 0 ? EXIT_NOT_OK : 0;
}

/* ---- verbs without a database ------------------------------------------------------------- */

static const char *source_migrations_dir(void) {
        return arg_migrations_dir ?: PROJECT_SOURCE_ROOT "/migrations";
}

static int write_exclusive(const char *path, const char *text) {
        _cleanup_close_ int fd = -1;
        size_t l = strlen(text);

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return negative_errno();
        if (write(fd, text, l) != (ssize_t) l) {
                int r = errno > 0 ? -errno : -EIO;
                (void) unlink(path);
                return r;
        }
        return 0;
}

static int new_migration(const char *description) {
        _cleanup_(migration_set_freep) MigrationSet *set = NULL;
        _cleanup_free_ char *err = NULL, *slug = NULL, *desc = NULL, *up = NULL, *down = NULL, *up_text = NULL,
                *down_text = NULL, *up_sql = NULL, *down_sql = NULL;
        const char *dir = source_migrations_dir();
        unsigned next, reviews = 0;
        int r;

        /* A developer command: it writes into the source tree, next to the files it numbers after. */
        r = migration_set_load_dir(dir, &set, &err);
        if (r < 0)
                return log_error_errno(r == -ENOMEM ? ENOMEM : EINVAL, "%s", err ?: "Cannot read the migrations.");

        desc = strdup(description);
        if (!desc)
                return log_oom();
        for (char *p = desc; *p; p++)
                if ((unsigned char) *p < 0x20)
                        *p = ' ';
        r = migration_slugify(desc, &slug);
        if (r < 0)
                return log_error_errno(EINVAL, "The description \"%s\" has no letters or digits to name the migration by.", desc);

        next = migration_set_head(set) + 1;
        if (next > MIGRATION_VERSION_MAX)
                return log_error_errno(E2BIG, "No migration numbers left (head is %04u).", next - 1);

        if (arg_autogenerate) {
                Migrator *m;

                /* the declared schema as just edited in the source tree, not the one built in */
                if (!arg_migrations_dir)
                        arg_migrations_dir = dir;
                r = open_migrator(false, &m);
                if (r < 0)
                        return r;
                r = migrator_autogenerate(m, arg_from_live, &up_sql, &down_sql, &reviews);
                if (r < 0)
                        return migrator_error_exit(m, r);
                if (isempty(up_sql) && isempty(down_sql)) {
                        const Migration *head = ctx.set->n_migrations > 0 ?
                                &ctx.set->migrations[ctx.set->n_migrations - 1] : NULL;
                        if (arg_output.json) {
                                _cleanup_json_ json_object *j = json_object_new_object();
                                if (!j)
                                        return log_oom();
                                json_object_object_add(j, "version", NULL);
                                json_object_object_add(j, "changes", json_object_new_boolean(false));
                                return output_json(j, &arg_output);
                        }
                        printf("Nothing to generate: head (%s) already is %s; no migration written.\n",
                               head ? head->name : "base", arg_from_live ? "the live schema" : "migrations/schema.sql");
                        return 0;
                }
        }

        up = strprintf("%s/%04u_%s.up.sql", dir, next, slug);
        down = strprintf("%s/%04u_%s.down.sql", dir, next, slug);
        up_text = strprintf("-- %04u_%s (up): %s\n"
                            "--\n"
                            "-- Runs in one transaction together with its version row. Qualify every name with its\n"
                            "-- schema (stopstart.…). A statement that cannot run inside a transaction (CREATE INDEX\n"
                            "-- CONCURRENTLY, …) needs a header line reading exactly \"-- stopstart: no-transaction\";\n"
                            "-- the file then runs statement by statement, and a failure leaves the database dirty.\n"
                            "\n", next, slug, desc);
        down_text = strprintf("-- %04u_%s (down): reverts \"%s\"\n"
                              "--\n"
                              "-- Undoes exactly what %04u_%s.up.sql does, in reverse order.\n"
                              "\n", next, slug, desc, next, slug);
        if (!up || !down || !up_text || !down_text)
                return log_oom();
        if (arg_autogenerate) {
                const char *source = arg_from_live ? "the live database's schema" : "migrations/schema.sql";
                char *u = strprintf("%s-- Generated by `stopstartctl db new --autogenerate` from %s: review it%s.\n\n%s",
                                    up_text, source, reviews > 0 ? " (the places marked \"-- REVIEW:\" first)" : "", up_sql);
                char *d = strprintf("%s-- Generated by `stopstartctl db new --autogenerate`: moves %s back to the "
                                    "previous head.\n\n%s", down_text, source, down_sql);
                free(up_text);
                up_text = u;
                free(down_text);
                down_text = d;
                if (!up_text || !down_text)
                        return log_oom();
        }

        r = write_exclusive(up, up_text);
        if (r < 0)
                return log_error_errno(r, "Cannot create %s: %m", up);
        r = write_exclusive(down, down_text);
        if (r < 0) {
                (void) unlink(up);
                return log_error_errno(r, "Cannot create %s: %m", down);
        }

        if (arg_output.json) {
                _cleanup_json_ json_object *j = json_object_new_object();
                if (!j)
                        return log_oom();
                json_object_object_add(j, "version", json_object_new_int64(next));
                json_object_object_add(j, "name", json_object_new_string(strrchr(up, '/') + 1));
                json_object_object_add(j, "up", json_object_new_string(up));
                json_object_object_add(j, "down", json_object_new_string(down));
                if (arg_autogenerate) {
                        json_object_object_add(j, "changes", json_object_new_boolean(true));
                        json_object_object_add(j, "reviews", json_object_new_int64(reviews));
                }
                return output_json(j, &arg_output);
        }
        printf("Created %s\n    and %s\n", up, down);
        if (arg_autogenerate && reviews > 0)
                printf("%u place%s need%s review: search the files for \"-- REVIEW:\" (renames, type conversions, …).\n",
                       reviews, reviews == 1 ? "" : "s", reviews == 1 ? "s" : "");
        else if (arg_autogenerate)
                printf("Review them, then run `stopstartctl db check`.\n");
        return 0;
}

static int verb_db_new(int argc, char *argv[], void *userdata) {
        return new_migration(argv[1]);
}

/* Alembic's spelling: db revision -m "…" [--autogenerate]. */
static int verb_db_revision(int argc, char *argv[], void *userdata) {
        if (!arg_message)
                return log_error_errno(EINVAL, "db revision needs -m \"DESCRIPTION\" (or use db new \"DESCRIPTION\").");
        return new_migration(arg_message);
}

/* The origin's names: migrate = upgrade head, rollback = downgrade -1 (same guard). */
static int verb_db_migrate(int argc, char *argv[], void *userdata) {
        return verb_db_upgrade(1, (char *[]) { argv[0], NULL }, userdata);
}

static int verb_db_rollback(int argc, char *argv[], void *userdata) {
        return verb_db_downgrade(2, (char *[]) { argv[0], (char *) "-1", NULL }, userdata);
}

static int verb_db_wait(int argc, char *argv[], void *userdata) {
        const char *conninfo, *source, *kw[4], *val[4];
        usec_t timeout = arg_timeout != USEC_INFINITY ? arg_timeout : DEFAULT_WAIT_TIMEOUT, until;
        char span[TIMESPAN_MAX];
        PGPing p;
        int r;

        r = database_conninfo(&conninfo, &source);
        if (r < 0)
                return r;
        r = validate_conninfo(conninfo, source);
        if (r < 0)
                return r;

        until = now(CLOCK_MONOTONIC) + timeout;
        for (;;) {
                usec_t left = until > now(CLOCK_MONOTONIC) ? until - now(CLOCK_MONOTONIC) : 0;
                char ct[32];

                /* libpq's connect_timeout has a floor of 2 s. */
                snprintf(ct, sizeof ct, "%" PRIu64, MAX((left + USEC_PER_SEC - 1) / USEC_PER_SEC, (usec_t) 2));
                connection_params(conninfo, ct, kw, val);
                p = PQpingParams(kw, val, 1);
                if (p == PQPING_OK)
                        break;
                if (p == PQPING_NO_ATTEMPT)
                        return log_error_errno(EINVAL, "Invalid database connection parameters (from %s).", source);
                if (now(CLOCK_MONOTONIC) >= until)
                        return log_error_errno(ETIMEDOUT, "Timed out after %s waiting for the database server (from %s) to "
                                               "accept connections (%s).", format_timespan(span, sizeof span, timeout),
                                               source, p == PQPING_REJECT ? "it answers but rejects connections" :
                                               "no answer");
                (void) usleep(200 * 1000);
        }

        if (arg_output.json) {
                _cleanup_json_ json_object *j = json_object_new_object();
                if (!j)
                        return log_oom();
                json_object_object_add(j, "ready", json_object_new_boolean(true));
                return output_json(j, &arg_output);
        }
        printf("The database server accepts connections.\n");
        return 0;
}

static int verb_db_snapshot(int argc, char *argv[], void *userdata) {
        _cleanup_(schema_description_freep) SchemaDescription *d = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL, *tmp = NULL;
        Migrator *m;
        int r;

        r = open_migrator(false, &m);
        if (r < 0)
                return r;
        if (ctx.set->n_migrations == 0)
                return log_error_errno(EINVAL, "No migrations: nothing to describe.");
        path = argc > 1 ? strdup(argv[1]) : strprintf("%s/schema.snapshot", source_migrations_dir());
        if (!path)
                return log_oom();

        r = migrator_describe_head(m, &d);
        if (r < 0)
                return migrator_error_exit(m, r);
        r = schema_description_format(d, ctx.set->migrations[ctx.set->n_migrations - 1].name, &text);
        if (r < 0)
                return log_oom();

        tmp = strprintf("%s.tmp", path);
        if (!tmp)
                return log_oom();
        (void) unlink(tmp);
        r = write_exclusive(tmp, text);
        if (r < 0)
                return log_error_errno(r, "Cannot write %s: %m", tmp);
        if (rename(tmp, path) < 0) {
                r = negative_errno();
                (void) unlink(tmp);
                return log_error_errno(r, "Cannot write %s: %m", path);
        }
        if (arg_output.json) {
                _cleanup_json_ json_object *j = json_object_new_object();
                if (!j)
                        return log_oom();
                json_object_object_add(j, "file", json_object_new_string(path));
                json_object_object_add(j, "objects", json_object_new_int64((int64_t) d->n_objects));
                json_object_object_add(j, "head", json_object_new_string(ctx.set->migrations[ctx.set->n_migrations - 1].name));
                return output_json(j, &arg_output);
        }
        printf("Wrote %s (%zu objects at %s).\n", path, d->n_objects, ctx.set->migrations[ctx.set->n_migrations - 1].name);
        return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

void db_help(void) {
        printf("Database commands (stopstartctl db VERB):\n"
               "  upgrade [head|REV|+N]    Apply pending migrations (default: all)\n"
               "  migrate                  Alias of upgrade head\n"
               "  downgrade [-N|REV|base]  Revert migrations (default: -1); needs --yes or a terminal's\n"
               "                           confirmation; to base also allow_reset (or --allow-reset)\n"
               "  current                  Show the version and the dirty flag\n"
               "  history [--log]          List every migration, or the event log\n"
               "  status                   [X]/[ ] list; exit status 1 when anything is pending\n"
               "  check                    Verify checksums, order, dirty state, verify scripts, drift\n"
               "  diff                     Show how the live schema differs from the migrations\n"
               "  fix-state OPERATION      Repair the records (--mark-applied=N, --mark-reverted=N,\n"
               "                           --stamp=N, --realign-checksums --yes, --forget-missing)\n"
               "  backup [FILE]            pg_dump -Fc plus FILE.json metadata (default: into backup_dir)\n"
               "  rollback                 Alias of downgrade -1 (same guard)\n"
               "  backups                  List the backups in migrations: backup_dir\n"
               "  restore [FILE]           Restore a backup (default: the newest in backup_dir) in one\n"
               "                           transaction, then check (--yes)\n"
               "  reset --yes              Drop and rebuild schema stopstart (needs allow_reset or --allow-reset)\n"
               "  wait [--timeout=SPAN]    Wait until the server accepts connections\n"
               "  new \"DESCRIPTION\"        Developer: create the next migration pair in the source tree\n"
               "                           (--autogenerate: from migrations/schema.sql)\n"
               "  revision -m \"DESCRIPTION\" Alias of new\n"
               "  snapshot [FILE]          Developer: write migrations/schema.snapshot from head\n");
}

static int check_options(const char *verb) {
        /* An alias takes the options of what it stands for. */
        verb = streq(verb, "migrate") ? "upgrade" : streq(verb, "rollback") ? "downgrade" : verb;

        if (arg_no_backup && !strv_contains((char **) (const char *[]) { "upgrade", "downgrade", "reset", "restore", NULL },
                                            verb))
                return log_error_errno(EINVAL, "--no-backup only applies to \"db downgrade\", \"db rollback\", "
                                       "\"db reset\", \"db restore\" and \"db upgrade\".");
        if (arg_message && !streq(verb, "revision"))
                return log_error_errno(EINVAL, "-m/--message only applies to \"db revision\".");
        if (arg_autogenerate && !streq(verb, "new") && !streq(verb, "revision"))
                return log_error_errno(EINVAL, "--autogenerate only applies to \"db new\" and \"db revision\".");
        if (arg_from_live && !arg_autogenerate)
                return log_error_errno(EINVAL, "--from-live only applies with --autogenerate.");
        if (arg_log && !streq(verb, "history"))
                return log_error_errno(EINVAL, "--log only applies to \"db history\".");
        if (arg_timeout != USEC_INFINITY && !streq(verb, "wait"))
                return log_error_errno(EINVAL, "--timeout= only applies to \"db wait\".");
        if (arg_fix >= 0 && !streq(verb, "fix-state"))
                return log_error_errno(EINVAL, "--%s only applies to \"db fix-state\".", migrate_fix_to_string(arg_fix));
        if (arg_yes && !strv_contains((char **) (const char *[]) { "fix-state", "reset", "downgrade", "restore", NULL }, verb))
                return log_error_errno(EINVAL, "--yes only applies to \"db downgrade\", \"db restore\", \"db reset\" "
                                       "and \"db fix-state\".");
        if (arg_allow_reset && !streq(verb, "reset") && !streq(verb, "downgrade"))
                return log_error_errno(EINVAL, "--allow-reset only applies to \"db reset\" and \"db downgrade\" (to base).");
        return 0;
}

int verb_db(int argc, char *argv[], void *userdata) {
        static const Verb verbs[] = {
                { "upgrade",   1, 2, 0,            verb_db_upgrade   },
                { "downgrade", 1, 2, 0,            verb_db_downgrade },
                { "current",   1, 1, 0,            verb_db_current   },
                { "history",   1, 1, 0,            verb_db_history   },
                { "status",    1, 1, VERB_DEFAULT, verb_db_status    },
                { "new",       2, 2, 0,            verb_db_new       },
                { "check",     1, 1, 0,            verb_db_check     },
                { "diff",      1, 1, 0,            verb_db_diff      },
                { "fix-state", 1, 1, 0,            verb_db_fix_state },
                { "backup",    1, 2, 0,            verb_db_backup    },
                { "backups",   1, 1, 0,            verb_db_backups   },
                { "restore",   1, 2, 0,            verb_db_restore   },
                { "migrate",   1, 1, 0,            verb_db_migrate   },
                { "rollback",  1, 1, 0,            verb_db_rollback  },
                { "revision",  1, 1, 0,            verb_db_revision  },
                { "reset",     1, 1, 0,            verb_db_reset     },
                { "wait",      1, 1, 0,            verb_db_wait      },
                { "snapshot",  1, 2, 0,            verb_db_snapshot  },
                {}
        };
        int r;

        r = check_options(argc > 1 ? argv[1] : "status");
        if (r < 0)
                return r;
        r = dispatch_verb(argc - 1, argv + 1, verbs, "db command", userdata);
        db_context_done();
        return r;
}

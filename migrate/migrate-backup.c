/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libgen.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json-util.h"
#include "log.h"
#include "migrate-internal.h"
#include "pq-util.h"
#include "strv.h"

extern char **environ;

#define BACKUP_FORMAT "stopstart-backup"
#define BACKUP_FORMAT_VERSION 1

MigrateBackupInfo *migrate_backup_info_free(MigrateBackupInfo *i) {
        if (!i)
                return NULL;
        free(i->file);
        free(i->schema_name);
        free(i->schema_checksum);
        free(i->head_checksum);
        free(i->tool_version);
        free(i->created_at);
        free(i->database);
        free(i->server_version);
        return mfree(i);
}

/* pg_dump/pg_restore: $PATH first (Debian's pg_wrapper picks the newest client there), then the
 * build-time fallback directory, then the newest /usr/lib/postgresql/N/bin. */
static int find_pg_tool(const char *name, char **ret) {
        const char *path = getenv("PATH");
        glob_t g = {};
        char *best = NULL;
        long best_version = -1;

        for (const char *p = path; p && *p; ) {
                size_t l = strcspn(p, ":");
                _cleanup_free_ char *c = l > 0 ? strprintf("%.*s/%s", (int) l, p, name) : NULL;
                if (c && access(c, X_OK) == 0) {
                        *ret = TAKE_PTR(c);
                        return 0;
                }
                p += l;
                if (*p == ':')
                        p++;
        }

        if (!isempty(PG_BINDIR_FALLBACK)) {
                _cleanup_free_ char *c = strprintf("%s/%s", PG_BINDIR_FALLBACK, name);
                if (c && access(c, X_OK) == 0) {
                        *ret = TAKE_PTR(c);
                        return 0;
                }
        }

        {
                _cleanup_free_ char *pattern = strprintf("/usr/lib/postgresql/*/bin/%s", name);
                if (!pattern)
                        return -ENOMEM;
                if (glob(pattern, 0, NULL, &g) == 0)
                        for (size_t i = 0; i < g.gl_pathc; i++) {
                                long v = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL, 10);
                                if (v > best_version && access(g.gl_pathv[i], X_OK) == 0) {
                                        best_version = v;
                                        best = g.gl_pathv[i];
                                }
                        }
                if (best) {
                        *ret = strdup(best);
                        globfree(&g);
                        return *ret ? 0 : -ENOMEM;
                }
                globfree(&g);
        }
        return -ENOENT;
}

/* The environment for a PostgreSQL client tool: ours, with every libpq variable replaced by the
 * parameters our own connection actually used (so it reaches the same server, database and role,
 * and no password shows up in argv). */
static int tool_environment(PGconn *conn, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        PQconninfoOption *opts = PQconninfo(conn);
        int r = 0;

        if (!opts)
                return -ENOMEM;
        for (char **e = environ; e && *e; e++) {
                size_t l = strcspn(*e, "=");
                bool ours = false;
                for (PQconninfoOption *o = opts; o->keyword; o++)
                        if (o->envvar && strlen(o->envvar) == l && strneq(*e, o->envvar, l))
                                ours = true;
                if (!ours && (r = strv_extend(&env, *e)) < 0)
                        goto finish;
        }
        for (PQconninfoOption *o = opts; o->keyword; o++)
                if (o->envvar && !isempty(o->val) && (r = strv_consume(&env, strprintf("%s=%s", o->envvar, o->val))) < 0)
                        goto finish;
        *ret = TAKE_PTR(env);
finish:
        PQconninfoFree(opts);
        return r;
}

typedef struct Capture {
        char *data;
        size_t len, allocated;
} Capture;

static int capture_read(int fd, Capture *c, bool keep) {
        char tmp[65536];
        ssize_t k = read(fd, tmp, sizeof tmp);

        if (k < 0)
                return errno == EINTR || errno == EAGAIN ? 1 : negative_errno();
        if (k == 0)
                return 0;
        if (!keep)
                return 1;
        if (c->len + (size_t) k + 1 > c->allocated) {
                size_t na = MAX(c->allocated * 2, c->len + (size_t) k + 65536);
                char *m = realloc(c->data, na);
                if (!m)
                        return -ENOMEM;
                c->data = m;
                c->allocated = na;
        }
        memcpy(c->data + c->len, tmp, (size_t) k);
        c->len += (size_t) k;
        c->data[c->len] = 0;
        return 1;
}

/* Runs path argv with envp, stdin from /dev/null, capturing stdout (if ret_out) and stderr. */
static int run_tool(const char *path, char *const *argv, char *const *envp, char **ret_out, size_t *ret_out_len,
                    char **ret_err, int *ret_status) {
        int out[2] = { -1, -1 }, err[2] = { -1, -1 }, status = 0, r = 0;
        posix_spawn_file_actions_t fa;
        Capture co = {}, ce = {};
        bool out_open = true, err_open = true;
        pid_t pid;

        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
                r = negative_errno();
                goto finish;
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
        r = -posix_spawn(&pid, path, &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        out[1] = safe_close(out[1]);
        err[1] = safe_close(err[1]);
        if (r < 0)
                goto finish;

        while (out_open || err_open) {
                struct pollfd p[2] = {
                        { .fd = out_open ? out[0] : -1, .events = POLLIN },
                        { .fd = err_open ? err[0] : -1, .events = POLLIN },
                };
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        break;
                }
                if (p[0].revents) {
                        int k = capture_read(out[0], &co, ret_out != NULL);
                        if (k <= 0)
                                out_open = false;
                        if (k < 0 && r == 0)
                                r = k;
                }
                if (p[1].revents) {
                        int k = capture_read(err[0], &ce, true);
                        if (k <= 0)
                                err_open = false;
                        if (k < 0 && r == 0)
                                r = k;
                }
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        if (r == 0)
                                r = negative_errno();
                        break;
                }
        if (r < 0)
                goto finish;

        if (ret_out) {
                *ret_out = co.data ? TAKE_PTR(co.data) : strdup("");
                if (ret_out_len)
                        *ret_out_len = co.len;
        }
        if (ret_err) {
                /* The last non-empty line says what went wrong; earlier ones are context. */
                size_t l = ce.len;
                while (l > 0 && (ce.data[l - 1] == '\n' || ce.data[l - 1] == ' '))
                        ce.data[--l] = 0;
                *ret_err = ce.data ? TAKE_PTR(ce.data) : strdup("");
                if (*ret_err)
                        for (char *c = *ret_err; *c; c++)
                                if (*c == '\n')
                                        *c = ' ';
        }
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);

finish:
        safe_close(out[0]);
        safe_close(out[1]);
        safe_close(err[0]);
        safe_close(err[1]);
        free(co.data);
        free(ce.data);
        return r;
}

static json_object *json_string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static int backup_info_write(const MigrateBackupInfo *info, const char *sidecar) {
        _cleanup_json_ json_object *j = json_object_new_object();
        _cleanup_free_ char *tmp = NULL, *file = NULL;
        const char *text;
        _cleanup_close_ int fd = -1;
        size_t len;

        if (!j)
                return -ENOMEM;
        file = strdup(info->file);
        if (!file)
                return -ENOMEM;
        json_object_object_add(j, "format", json_object_new_string(BACKUP_FORMAT));
        json_object_object_add(j, "format_version", json_object_new_int(BACKUP_FORMAT_VERSION));
        json_object_object_add(j, "file", json_object_new_string(basename(file)));
        json_object_object_add(j, "schema_version", json_object_new_int64(info->schema_version));
        json_object_object_add(j, "schema_name", json_string_or_null(info->schema_name));
        json_object_object_add(j, "schema_checksum", json_string_or_null(info->schema_checksum));
        json_object_object_add(j, "head_version", json_object_new_int64(info->head_version));
        json_object_object_add(j, "head_checksum", json_string_or_null(info->head_checksum));
        json_object_object_add(j, "dirty", json_object_new_boolean(info->dirty));
        json_object_object_add(j, "tool_version", json_string_or_null(info->tool_version));
        json_object_object_add(j, "created_at", json_string_or_null(info->created_at));
        json_object_object_add(j, "database", json_string_or_null(info->database));
        json_object_object_add(j, "server_version", json_string_or_null(info->server_version));

        text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
        if (!text)
                return -ENOMEM;
        len = strlen(text);

        tmp = strprintf("%s.tmp", sidecar);
        if (!tmp)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return negative_errno();
        if (write(fd, text, len) != (ssize_t) len || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
                int r = errno > 0 ? -errno : -EIO;
                (void) unlink(tmp);
                return r;
        }
        if (link(tmp, sidecar) < 0) {         /* never replaces an existing sidecar */
                int r = negative_errno();
                (void) unlink(tmp);
                return r;
        }
        (void) unlink(tmp);
        return 0;
}

static int json_get_string(json_object *j, const char *key, char **ret) {
        json_object *v;
        if (!json_object_object_get_ex(j, key, &v) || json_object_is_type(v, json_type_null)) {
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return -EINVAL;
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

static int json_get_uint(json_object *j, const char *key, unsigned *ret) {
        json_object *v;
        int64_t i;
        if (!json_object_object_get_ex(j, key, &v) || !json_object_is_type(v, json_type_int))
                return -EINVAL;
        i = json_object_get_int64(v);
        if (i < 0 || i > MIGRATION_VERSION_MAX)
                return -EINVAL;
        *ret = (unsigned) i;
        return 0;
}

int migrate_backup_info_read(const char *backup_path, MigrateBackupInfo **ret, char **error) {
        _cleanup_(migrate_backup_info_freep) MigrateBackupInfo *info = NULL;
        _cleanup_free_ char *sidecar = NULL, *format = NULL;
        _cleanup_json_ json_object *j = NULL;
        json_object *v;
        int64_t fv;

        assert(backup_path);
        assert(ret);

        sidecar = strprintf("%s.json", backup_path);
        if (!sidecar)
                return -ENOMEM;
        if (access(sidecar, F_OK) < 0) {
                int r = negative_errno();
                if (error)
                        *error = strprintf("%s: cannot read the backup's metadata (%s); was %s written by "
                                           "`stopstartctl db backup`?", sidecar, strerror(-r), backup_path);
                return r;
        }
        j = json_object_from_file(sidecar);
        if (!j || !json_object_is_type(j, json_type_object)) {
                if (error)
                        *error = strprintf("%s: not valid JSON: %s", sidecar, json_util_get_last_err() ?: "not an object");
                return -EINVAL;
        }

        info = new0(MigrateBackupInfo, 1);
        if (!info)
                return -ENOMEM;
        info->file = strdup(backup_path);
        if (!info->file)
                return -ENOMEM;
        if (json_get_string(j, "format", &format) < 0 || !format || !streq(format, BACKUP_FORMAT) ||
            !json_object_object_get_ex(j, "format_version", &v) || !json_object_is_type(v, json_type_int)) {
                if (error)
                        *error = strprintf("%s: not a stopstart backup description", sidecar);
                return -EINVAL;
        }
        fv = json_object_get_int64(v);
        if (fv != BACKUP_FORMAT_VERSION) {
                if (error)
                        *error = strprintf("%s: backup format version %" PRIi64 " is not supported (this stopstartctl "
                                           "reads %d)", sidecar, fv, BACKUP_FORMAT_VERSION);
                return -EUCLEAN;
        }
        if (json_get_uint(j, "schema_version", &info->schema_version) < 0 ||
            json_get_uint(j, "head_version", &info->head_version) < 0 ||
            json_get_string(j, "schema_name", &info->schema_name) < 0 ||
            json_get_string(j, "schema_checksum", &info->schema_checksum) < 0 ||
            json_get_string(j, "head_checksum", &info->head_checksum) < 0 ||
            json_get_string(j, "tool_version", &info->tool_version) < 0 ||
            json_get_string(j, "created_at", &info->created_at) < 0 ||
            json_get_string(j, "database", &info->database) < 0 ||
            json_get_string(j, "server_version", &info->server_version) < 0) {
                if (error)
                        *error = strprintf("%s: missing or malformed fields", sidecar);
                return -EINVAL;
        }
        if (json_object_object_get_ex(j, "dirty", &v))
                info->dirty = json_object_get_boolean(v);

        *ret = TAKE_PTR(info);
        return 0;
}

/* mkdir -p, new directories 0700: backups hold the whole application's data. */
static int mkdir_parents(const char *dir) {
        _cleanup_free_ char *p = strdup(dir);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; ; s++) {
                if (*s != '/' && *s != 0)
                        continue;
                char c = *s;
                *s = 0;
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = c;
                if (!c)
                        break;
        }
        return 0;
}

/* Claims a new file: path as given, or (path NULL) the default name in dir (NULL: the working
 * directory), with -2, -3, … when a backup of the same second exists. */
static int claim_backup_file(Migrator *m, const char *path, const char *dir, const char *base, char **ret) {
        for (unsigned k = 1; k < 100; k++) {
                _cleanup_free_ char *file = NULL, *sidecar = NULL;
                int fd;

                if (path)
                        file = strdup(path);
                else if (k == 1)
                        file = strprintf("%s%s%s.dump", strempty(dir), dir ? "/" : "", base);
                else
                        file = strprintf("%s%s%s-%u.dump", strempty(dir), dir ? "/" : "", base, k);
                sidecar = file ? strprintf("%s.json", file) : NULL;
                if (!sidecar)
                        return -ENOMEM;
                if (access(sidecar, F_OK) == 0) {
                        if (path)
                                return migrator_fail(m, -EEXIST, "%s already exists; not overwriting a backup.", sidecar);
                        continue;
                }
                fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (fd < 0) {
                        int r = negative_errno();
                        if (r == -EEXIST && !path)
                                continue;
                        return migrator_fail(m, r, r == -EEXIST ? "%s already exists; not overwriting a backup." :
                                             "Cannot create %s: %m", file);
                }
                safe_close(fd);
                *ret = TAKE_PTR(file);
                return 0;
        }
        return migrator_fail(m, -EEXIST, "Too many backups named %s in the same second.", base);
}

static int backup_impl(Migrator *m, const char *path, const char *dir, MigrateBackupInfo **ret_info) {
        _cleanup_(migrate_backup_info_freep) MigrateBackupInfo *info = NULL;
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        _cleanup_pqclear_ PGresult *res = NULL;
        _cleanup_free_ char *tool = NULL, *sidecar = NULL, *out_err = NULL, *file_arg = NULL, *base = NULL;
        _cleanup_strv_free_ char **env = NULL, **argv = NULL;
        const MigrationRecord *rec;
        const Migration *head;
        int r, status = 0;

        assert(m);
        assert(m->locked);

        r = migrator_status(m, &st);
        if (r < 0)
                return r;

        r = migrator_exec(m, "Cannot read the database",
                          "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
                          "       to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"'), "
                          "       EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '" MIGRATE_APP_SCHEMA "'), "
                          "       EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '" MIGRATE_META_SCHEMA "')",
                          0, NULL, &res);
        if (r < 0)
                return r;
        if (!streq(PQgetvalue(res, 0, 2), "t") && !streq(PQgetvalue(res, 0, 3), "t"))
                return migrator_fail(m, -ENOENT, "Nothing to back up: database %s has neither schema " MIGRATE_APP_SCHEMA
                                     " nor " MIGRATE_META_SCHEMA ".", PQdb(m->conn));

        info = new0(MigrateBackupInfo, 1);
        if (!info)
                return -ENOMEM;
        base = strprintf("stopstart-%s-%04u-%s", PQdb(m->conn), st->current, PQgetvalue(res, 0, 1));
        if (!base)
                return -ENOMEM;
        info->schema_version = st->current;
        rec = migrate_status_find(st, st->current);
        info->schema_name = rec ? strdup(rec->name) : NULL;
        info->schema_checksum = rec ? strdup(rec->checksum_up) : NULL;
        head = m->set->n_migrations > 0 ? &m->set->migrations[m->set->n_migrations - 1] : NULL;
        info->head_version = head ? head->version : 0;
        info->head_checksum = head ? strdup(head->scripts[MIGRATION_UP].checksum) : NULL;
        info->dirty = st->dirty > 0;
        info->tool_version = strdup(PROJECT_VERSION);
        info->created_at = strdup(PQgetvalue(res, 0, 0));
        info->database = strdup(PQdb(m->conn));
        info->server_version = strdup(strempty(PQparameterStatus(m->conn, "server_version")));
        if ((rec && (!info->schema_name || !info->schema_checksum)) || (head && !info->head_checksum) ||
            !info->tool_version || !info->created_at || !info->database || !info->server_version)
                return -ENOMEM;

        r = find_pg_tool("pg_dump", &tool);
        if (r < 0)
                return migrator_fail(m, -ENOPKG, "pg_dump not found on $PATH nor under /usr/lib/postgresql (install "
                                     "postgresql-client).");

        if (dir) {
                r = mkdir_parents(dir);
                if (r < 0)
                        return migrator_fail(m, r, "Cannot create the backup directory %s: %s", dir, strerror(-r));
        }
        /* Claim the name first: a backup never replaces a file. */
        r = claim_backup_file(m, path, dir, base, &info->file);
        if (r < 0)
                return r;
        sidecar = strprintf("%s.json", info->file);
        if (!sidecar) {
                r = -ENOMEM;
                goto fail;
        }

        file_arg = strprintf("--file=%s", info->file);
        if (!file_arg)
                return -ENOMEM;
        if (strv_extend(&argv, tool) < 0 || strv_extend(&argv, "--format=custom") < 0 ||
            strv_extend(&argv, "--no-password") < 0 || strv_extend(&argv, file_arg) < 0 ||
            (streq(PQgetvalue(res, 0, 2), "t") && strv_extend(&argv, "--schema=" MIGRATE_APP_SCHEMA) < 0) ||
            (streq(PQgetvalue(res, 0, 3), "t") && strv_extend(&argv, "--schema=" MIGRATE_META_SCHEMA) < 0)) {
                r = -ENOMEM;
                goto fail;
        }
        r = tool_environment(m->conn, &env);
        if (r < 0)
                goto fail;
        r = run_tool(tool, argv, env, NULL, NULL, &out_err, &status);
        if (r < 0) {
                r = migrator_fail(m, r, "Cannot run %s: %s", tool, strerror(-r));
                goto fail;
        }
        if (status != 0) {
                r = migrator_fail(m, -EIO, "pg_dump failed (exit status %d): %s", status, strna(out_err));
                goto fail;
        }

        r = backup_info_write(info, sidecar);
        if (r < 0) {
                r = migrator_fail(m, r, "Cannot write %s: %s", sidecar, strerror(-r));
                goto fail;
        }

        if (ret_info)
                *ret_info = TAKE_PTR(info);
        return 0;

fail:
        (void) unlink(info->file);
        return r;
}

int migrator_backup(Migrator *m, const char *path, MigrateBackupInfo **ret_info) {
        return backup_impl(m, path, NULL, ret_info);
}

int migrator_backup_into(Migrator *m, const char *dir, MigrateBackupInfo **ret_info) {
        assert(dir);
        return backup_impl(m, NULL, dir, ret_info);
}

static int backup_compare(const void *a, const void *b) {
        const MigrateBackupInfo *x = *(MigrateBackupInfo * const *) a, *y = *(MigrateBackupInfo * const *) b;
        int c = strcmp(strempty(y->created_at), strempty(x->created_at));
        return c != 0 ? c : strcmp(y->file, x->file);
}

void migrate_backup_list_free(MigrateBackupInfo **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                migrate_backup_info_free(l[i]);
        free(l);
}

int migrate_backup_list(const char *dir, MigrateBackupInfo ***ret, size_t *ret_n) {
        _cleanup_free_ char *pattern = NULL;
        MigrateBackupInfo **list = NULL;
        glob_t g = {};
        size_t n = 0;
        int r;

        assert(dir);
        assert(ret);
        assert(ret_n);

        pattern = strprintf("%s/*.dump.json", dir);
        if (!pattern)
                return -ENOMEM;
        r = glob(pattern, 0, NULL, &g);
        if (r == GLOB_NOMATCH || (r == GLOB_ABORTED && access(dir, F_OK) < 0)) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (r != 0)
                return r == GLOB_NOSPACE ? -ENOMEM : -EIO;

        list = new0(MigrateBackupInfo*, g.gl_pathc);
        if (!list) {
                globfree(&g);
                return -ENOMEM;
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
                _cleanup_free_ char *dump = strndup(g.gl_pathv[i], strlen(g.gl_pathv[i]) - strlen(".json")), *err = NULL;
                MigrateBackupInfo *info = NULL;
                struct stat s;

                if (!dump) {
                        r = -ENOMEM;
                        break;
                }
                /* A sidecar without its dump, or one we cannot read, is no backup to offer. */
                if (stat(dump, &s) < 0 || !S_ISREG(s.st_mode) || migrate_backup_info_read(dump, &info, &err) < 0)
                        continue;
                info->size = (uint64_t) s.st_size;
                list[n++] = info;
        }
        globfree(&g);
        if (r < 0 && r != GLOB_NOMATCH) {
                migrate_backup_list_free(list, n);
                return r;
        }
        qsort(list, n, sizeof(MigrateBackupInfo*), backup_compare);
        *ret = list;
        *ret_n = n;
        return 0;
}

int migrate_backup_prune(const char *dir, unsigned keep, char ***ret_removed) {
        MigrateBackupInfo **list = NULL;
        _cleanup_strv_free_ char **removed = NULL;
        size_t n = 0, kept = 0;
        int r;

        assert(dir);
        if (keep == 0)
                goto done;
        r = migrate_backup_list(dir, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const char *name = strrchr(list[i]->file, '/');
                _cleanup_free_ char *sidecar = NULL;

                /* Only the backups we named; a file someone put there by hand is theirs. */
                if (!startswith(name ? name + 1 : list[i]->file, "stopstart-"))
                        continue;
                if (kept++ < keep)
                        continue;
                sidecar = strprintf("%s.json", list[i]->file);
                if (!sidecar || strv_extend(&removed, list[i]->file) < 0) {
                        migrate_backup_list_free(list, n);
                        return -ENOMEM;
                }
                (void) unlink(list[i]->file);
                (void) unlink(sidecar);
        }
        migrate_backup_list_free(list, n);
done:
        if (ret_removed)
                *ret_removed = TAKE_PTR(removed);
        return 0;
}

int migrator_restore_check(Migrator *m, const char *path, MigrateBackupInfo **ret_info) {
        _cleanup_(migrate_backup_info_freep) MigrateBackupInfo *info = NULL;
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        _cleanup_free_ char *err = NULL;
        unsigned head = migration_set_head(m->set);
        int r;

        assert(m);
        assert(path);

        r = migrate_backup_info_read(path, &info, &err);
        if (r < 0)
                return migrator_fail(m, r, "%s", strna(err));
        if (info->schema_version > head)
                return migrator_fail(m, -EUCLEAN,
                                     "Refusing to restore %s: it holds schema version %04u (%s), newer than this build's "
                                     "head %04u; restore it with the stopstartctl that wrote it (%s) or a newer one.",
                                     path, info->schema_version, strna(info->schema_name), head, strna(info->tool_version));
        if (access(path, R_OK) < 0) {
                r = negative_errno();
                return migrator_fail(m, r, "Cannot read %s: %s", path, strerror(-r));
        }

        r = migrator_status(m, &st);
        if (r < 0)
                return r;
        if (st->dirty > 0)
                return migrator_fail(m, -EUCLEAN, "Refusing to restore: migration %04u is dirty. Repair the record "
                                     "first with `stopstartctl db fix-state --mark-applied %u` or `--mark-reverted %u`.",
                                     st->dirty, st->dirty, st->dirty);
        if (ret_info)
                *ret_info = TAKE_PTR(info);
        return 0;
}

int migrator_restore(Migrator *m, const char *path, MigrateBackupInfo **ret_info) {
        _cleanup_(migrate_backup_info_freep) MigrateBackupInfo *info = NULL;
        _cleanup_pqclear_ PGresult *res = NULL;
        _cleanup_free_ char *tool = NULL, *err = NULL, *out = NULL, *started = NULL, *detail = NULL, *label = NULL;
        _cleanup_free_ SqlStatement *statements = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        unsigned eline = 0;
        size_t n_statements = 0, out_len = 0;
        bool had_log;
        int r, status = 0;

        assert(m);
        assert(m->locked);
        assert(path);

        r = migrator_restore_check(m, path, &info);
        if (r < 0)
                return r;

        r = find_pg_tool("pg_restore", &tool);
        if (r < 0)
                return migrator_fail(m, -ENOPKG, "pg_restore not found on $PATH nor under /usr/lib/postgresql (install "
                                     "postgresql-client).");
        /* pg_restore only turns the archive into SQL; we replay it ourselves so the drops, the
         * restore and the log merge are one transaction on our locked session. */
        if (strv_extend(&argv, tool) < 0 || strv_extend(&argv, "--no-owner") < 0 || strv_extend(&argv, "--file=-") < 0 ||
            strv_extend(&argv, path) < 0)
                return -ENOMEM;
        free(err);
        err = NULL;
        r = run_tool(tool, argv, environ, &out, &out_len, &err, &status);
        if (r < 0)
                return migrator_fail(m, r, "Cannot run %s: %s", tool, strerror(-r));
        if (status != 0)
                return migrator_fail(m, -EIO, "pg_restore cannot read %s (exit status %d): %s", path, status, strna(err));
        if (memchr(out, 0, out_len))
                return migrator_fail(m, -EIO, "pg_restore produced binary output for %s", path);

        r = sql_split(out, &statements, &n_statements, &eline);
        if (r < 0)
                return migrator_fail(m, r == -EINVAL ? -EIO : r, "Cannot parse pg_restore's SQL for %s (line %u).",
                                     path, eline);

        r = migrator_server_now(m, &started);
        if (r < 0)
                return r;
        r = migrator_exec(m, "Cannot begin a transaction", "BEGIN", 0, NULL, NULL);
        if (r >= 0)
                r = migrator_set_local_lock_timeout(m);
        if (r >= 0)
                r = migrator_exec(m, "Cannot read the migration state",
                                  "SELECT to_regclass('stopstart_meta.schema_log') IS NOT NULL", 0, NULL, &res);
        if (r < 0)
                goto fail;
        had_log = streq(PQgetvalue(res, 0, 0), "t");

        /* The live event log is this database's history: it survives the restore. */
        if (had_log)
                r = migrator_exec(m, "Cannot keep the event log",
                                  "CREATE TEMP TABLE stopstart_restore_log ON COMMIT DROP AS "
                                  "SELECT * FROM stopstart_meta.schema_log", 0, NULL, NULL);
        if (r >= 0)
                r = migrator_exec(m, "Cannot drop schema " MIGRATE_APP_SCHEMA,
                                  "DROP SCHEMA IF EXISTS " MIGRATE_APP_SCHEMA " CASCADE", 0, NULL, NULL);
        if (r >= 0)
                r = migrator_exec(m, "Cannot drop schema " MIGRATE_META_SCHEMA,
                                  "DROP SCHEMA IF EXISTS " MIGRATE_META_SCHEMA " CASCADE", 0, NULL, NULL);
        if (r < 0)
                goto fail;

        label = strprintf("%s (as SQL from pg_restore)", path);
        if (!label) {
                r = -ENOMEM;
                goto fail;
        }
        free(err);
        err = NULL;
        r = migrate_exec_script(m->conn, label, out, statements, n_statements, &err);
        if (r < 0) {
                r = migrator_fail(m, r == -ENOMEM ? r : r == -ECONNRESET ? r : -EIO,
                                  "Restoring %s failed and was rolled back: %s", path, strna(err));
                goto fail;
        }

        /* The dump's SET commands are session-wide: from here on every name is qualified. */
        r = migrator_exec(m, "Cannot complete schema " MIGRATE_META_SCHEMA, migrate_bootstrap_sql, 0, NULL, NULL);
        if (r >= 0 && had_log)
                r = migrator_exec(m, "Cannot keep the event log",
                                  "DELETE FROM stopstart_meta.schema_log; "
                                  "INSERT INTO stopstart_meta.schema_log (id, version, event, checksum, started_at, finished_at, "
                                  "       success, error_text, detail, actor, host, db_user, tool_version) "
                                  "OVERRIDING SYSTEM VALUE "
                                  "SELECT id, version, event, checksum, started_at, finished_at, success, error_text, detail, "
                                  "       actor, host, db_user, tool_version FROM pg_temp.stopstart_restore_log; "
                                  "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('stopstart_meta.schema_log', 'id'), "
                                  "       GREATEST((SELECT max(id) FROM stopstart_meta.schema_log), 1))",
                                  0, NULL, NULL);
        if (r < 0)
                goto fail;

        detail = strprintf("restored %s (schema %04u, taken %s from database %s by stopstartctl %s)", path,
                           info->schema_version, strna(info->created_at), strna(info->database), strna(info->tool_version));
        if (!detail) {
                r = -ENOMEM;
                goto fail;
        }
        r = migrator_log_event(m, info->schema_version, MIGRATE_EVENT_RESTORE, info->schema_checksum, started, true,
                               NULL, detail);
        if (r >= 0)
                r = migrator_exec(m, "Cannot commit the restore", "COMMIT", 0, NULL, NULL);
        if (r < 0)
                goto fail;
        (void) migrator_exec(m, "Cannot reset the session", "RESET ALL", 0, NULL, NULL);

        migrator_progress(m, MIGRATE_PROGRESS_CHANGED, info->schema_version, info->schema_name, -1, detail);
        if (ret_info)
                *ret_info = TAKE_PTR(info);
        return 0;

fail:
        migrator_rollback_quietly(m->conn);
        PQclear(PQexec(m->conn, "RESET ALL"));
        return r;
}

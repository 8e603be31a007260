/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "migration.h"
#include "migrations-embedded.h"
#include "strv.h"

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
        *d = NULL;
}

static const char * const migration_script_kind_table[_MIGRATION_SCRIPT_KIND_MAX] = {
        [MIGRATION_UP] = "up",
        [MIGRATION_DOWN] = "down",
        [MIGRATION_VERIFY] = "verify",
};

DEFINE_STRING_TABLE_LOOKUP(migration_script_kind, MigrationScriptKind);

static void set_error(char **error, char *msg) {
        /* msg may be NULL on OOM: the caller still returns its errno. */
        if (error) {
                free(*error);
                *error = msg;
        } else
                free(msg);
}

int migration_parse_filename(const char *filename, unsigned *ret_version, char **ret_slug,
                             MigrationScriptKind *ret_kind) {
        const char *p = filename, *slug, *dot;
        unsigned version = 0;
        MigrationScriptKind kind;

        assert(filename);

        for (int i = 0; i < 4; i++, p++) {
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                version = version * 10 + (unsigned) (*p - '0');
        }
        if (*p != '_' || version == 0)
                return -EINVAL;
        slug = ++p;
        if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p))
                return -EINVAL;
        while (islower((unsigned char) *p) || isdigit((unsigned char) *p) || *p == '_')
                p++;
        dot = p;
        if (*p != '.')
                return -EINVAL;
        p++;
        if (streq(p, "up.sql"))
                kind = MIGRATION_UP;
        else if (streq(p, "down.sql"))
                kind = MIGRATION_DOWN;
        else if (streq(p, "verify.sql"))
                kind = MIGRATION_VERIFY;
        else
                return -EINVAL;

        if (ret_slug) {
                char *s = strndup(slug, (size_t) (dot - slug));
                if (!s)
                        return -ENOMEM;
                *ret_slug = s;
        }
        if (ret_version)
                *ret_version = version;
        if (ret_kind)
                *ret_kind = kind;
        return 0;
}

int migration_normalize(const char *data, size_t size, char **ret) {
        char *out, *o;
        size_t i = 0;

        assert(data || size == 0);
        assert(ret);

        if (data && memchr(data, 0, size))
                return -EINVAL;
        if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
                i = 3;

        out = o = malloc(size - i + 2);
        if (!out)
                return -ENOMEM;
        for (; i < size; i++) {
                if (data[i] == '\r') {
                        *o++ = '\n';
                        if (i + 1 < size && data[i + 1] == '\n')
                                i++;
                } else
                        *o++ = data[i];
        }
        if (o > out && o[-1] != '\n')
                *o++ = '\n';
        *o = 0;
        *ret = out;
        return 0;
}

static int sha256_hex(const char *data, size_t size, char ret[static MIGRATION_CHECKSUM_HEX_LEN + 1]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;

        if (EVP_Digest(data, size, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
                return -EIO;
        for (unsigned k = 0; k < len; k++)
                sprintf(ret + 2 * k, "%02x", md[k]);
        ret[MIGRATION_CHECKSUM_HEX_LEN] = 0;
        return 0;
}

int migration_checksum(const char *data, size_t size, char ret[static MIGRATION_CHECKSUM_HEX_LEN + 1]) {
        _cleanup_free_ char *n = NULL;
        int r;

        r = migration_normalize(data, size, &n);
        if (r < 0)
                return r;
        return sha256_hex(n, strlen(n), ret);
}

/* A payload like "no-transaction" or "a, b-c": lower-case words with digits and dashes. */
static bool payload_is_option_list(const char *p) {
        bool want_word = true;

        if (!*p)
                return false;
        while (*p) {
                if (want_word) {
                        if (!islower((unsigned char) *p))
                                return false;
                        while (islower((unsigned char) *p) || isdigit((unsigned char) *p) || *p == '-')
                                p++;
                        want_word = false;
                } else {
                        while (*p == ' ' || *p == '\t')
                                p++;
                        if (*p != ',')
                                return false;
                        p++;
                        while (*p == ' ' || *p == '\t')
                                p++;
                        want_word = true;
                }
        }
        return !want_word;
}

/* Lower-cases and turns every run of other characters into one dash: "No Transaction" -> "no-transaction". */
static char *payload_fold(const char *p) {
        char *s = malloc(strlen(p) + 1), *o = s;
        bool dash = false;

        if (!s)
                return NULL;
        for (; *p; p++) {
                if (isalnum((unsigned char) *p)) {
                        if (dash && o > s)
                                *o++ = '-';
                        dash = false;
                        *o++ = (char) tolower((unsigned char) *p);
                } else
                        dash = true;
        }
        *o = 0;
        return s;
}

static const char *const known_options[] = { "no-transaction" };

int migration_parse_header(const char *text, MigrationScriptKind kind, MigrationFlags *ret_flags, char **error) {
        MigrationFlags flags = 0;
        bool in_header = true;
        unsigned line = 0;

        assert(text);
        assert(ret_flags);

        for (const char *l = text; *l; ) {
                const char *eol = strchrnul(l, '\n'), *p = l, *payload;
                _cleanup_free_ char *pl = NULL;

                line++;
                while (p < eol && (*p == ' ' || *p == '\t'))
                        p++;
                if (in_header && p < eol && !(eol - p >= 2 && p[0] == '-' && p[1] == '-'))
                        in_header = false;

                if (eol - p >= 2 && p[0] == '-' && p[1] == '-') {
                        p += 2;
                        while (p < eol && (*p == ' ' || *p == '\t'))
                                p++;
                        if ((size_t) (eol - p) >= strlen("stopstart:") && strneq(p, "stopstart:", strlen("stopstart:"))) {
                                const char *e = eol;
                                payload = p + strlen("stopstart:");
                                while (payload < e && (*payload == ' ' || *payload == '\t'))
                                        payload++;
                                while (e > payload && (e[-1] == ' ' || e[-1] == '\t'))
                                        e--;
                                pl = strndup(payload, (size_t) (e - payload));
                                if (!pl)
                                        return -ENOMEM;

                                if (payload_is_option_list(pl)) {
                                        if (!in_header) {
                                                set_error(error, strprintf("%u: option line \"-- stopstart: %s\" after the header "
                                                                           "(options go before the first statement)", line, pl));
                                                return -EINVAL;
                                        }
                                        for (char *w = pl; *w; ) {
                                                size_t wl = strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789-");
                                                bool known = false;
                                                for (size_t k = 0; k < ELEMENTSOF(known_options); k++)
                                                        if (strlen(known_options[k]) == wl && strneq(w, known_options[k], wl))
                                                                known = true;
                                                if (!known) {
                                                        set_error(error, strprintf("%u: unknown option \"%.*s\" (known: no-transaction)",
                                                                                   line, (int) wl, w));
                                                        return -EINVAL;
                                                }
                                                if (kind == MIGRATION_VERIFY) {
                                                        set_error(error, strprintf("%u: option \"%.*s\" is not allowed in a verify script "
                                                                                   "(it always runs in a transaction that is rolled back)",
                                                                                   line, (int) wl, w));
                                                        return -EINVAL;
                                                }
                                                flags |= MIGRATION_NO_TRANSACTION;
                                                w += wl;
                                                w += strspn(w, " \t,");
                                        }
                                } else {
                                        _cleanup_free_ char *folded = payload_fold(pl);
                                        if (!folded)
                                                return -ENOMEM;
                                        for (size_t k = 0; k < ELEMENTSOF(known_options); k++)
                                                if (streq(folded, known_options[k])) {
                                                        set_error(error, strprintf("%u: malformed option \"%s\" (write: -- stopstart: %s)",
                                                                                   line, pl, known_options[k]));
                                                        return -EINVAL;
                                                }
                                        /* Anything else is a title, like "-- stopstart: initial schema". */
                                }
                        }
                }
                l = *eol ? eol + 1 : eol;
        }

        *ret_flags = flags;
        return 0;
}

static void migration_script_done(MigrationScript *s) {
        free(s->file);
        free(s->sql);
        free(s->statements);
        *s = (MigrationScript) {};
}

static void migration_done(Migration *m) {
        free(m->slug);
        free(m->name);
        for (size_t k = 0; k < _MIGRATION_SCRIPT_KIND_MAX; k++)
                migration_script_done(&m->scripts[k]);
}

MigrationSet *migration_set_free(MigrationSet *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_migrations; i++)
                migration_done(&s->migrations[i]);
        free(s->migrations);
        free(s->origin);
        free(s->snapshot);
        free(s->declared);
        return mfree(s);
}

const Migration *migration_set_find(const MigrationSet *s, unsigned version) {
        size_t lo = 0, hi;

        if (!s)
                return NULL;
        hi = s->n_migrations;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (s->migrations[mid].version == version)
                        return &s->migrations[mid];
                if (s->migrations[mid].version < version)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

unsigned migration_set_head(const MigrationSet *s) {
        return s && s->n_migrations > 0 ? s->migrations[s->n_migrations - 1].version : 0;
}

typedef struct ParsedSource {
        const MigrationSource *src;
        unsigned version;
        char *slug;
        MigrationScriptKind kind;
} ParsedSource;

static int parsed_source_compare(const void *a, const void *b) {
        const ParsedSource *x = a, *y = b;
        if (x->version != y->version)
                return x->version < y->version ? -1 : 1;
        if (x->kind != y->kind)
                return x->kind < y->kind ? -1 : 1;
        return strcmp(x->src->filename, y->src->filename);
}

static int script_load(MigrationScript *s, const MigrationSource *src, MigrationScriptKind kind, char **error) {
        _cleanup_free_ char *herr = NULL;
        unsigned eline = 0;
        int r;

        s->file = strdup(src->display ?: src->filename);
        if (!s->file)
                return -ENOMEM;
        r = migration_normalize(src->data, src->size, &s->sql);
        if (r == -EINVAL) {
                set_error(error, strprintf("%s: contains a NUL byte (not a SQL text file)", s->file));
                return r;
        }
        if (r < 0)
                return r;
        r = sha256_hex(s->sql, strlen(s->sql), s->checksum);
        if (r < 0)
                return r;
        r = migration_parse_header(s->sql, kind, &s->flags, &herr);
        if (r < 0) {
                set_error(error, strprintf("%s:%s", s->file, strna(herr)));
                return r;
        }
        r = sql_split(s->sql, &s->statements, &s->n_statements, &eline);
        if (r == -EINVAL) {
                set_error(error, strprintf("%s:%u: unterminated string, quoted identifier, comment or dollar-quoted body",
                                           s->file, eline));
                return r;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_statements; i++)
                if (s->statements[i].meta) {
                        set_error(error, strprintf("%s:%u: psql meta-commands (\\…) are not supported in migrations",
                                                   s->file, s->statements[i].line));
                        return -EINVAL;
                }
        if (!(s->flags & MIGRATION_NO_TRANSACTION))
                for (size_t i = 0; i < s->n_statements; i++)
                        if (sql_statement_is_transaction_control(s->sql, &s->statements[i])) {
                                char kw[32];
                                sql_statement_keyword(s->sql, &s->statements[i], 0, kw, sizeof kw);
                                set_error(error, strprintf("%s:%u: %s is not allowed here: the runner wraps each migration "
                                                           "in its own transaction (use \"-- stopstart: no-transaction\" "
                                                           "to manage transactions yourself)",
                                                           s->file, s->statements[i].line, kw));
                                return -EINVAL;
                        }
        s->present = true;
        return 0;
}

int migration_set_build(const MigrationSource *sources, size_t n, const char *origin, const char *snapshot,
                        MigrationSet **ret, char **error) {
        _cleanup_(migration_set_freep) MigrationSet *set = NULL;
        ParsedSource *parsed = NULL;
        int r = 0;

        assert(sources || n == 0);
        assert(ret);

        set = new0(MigrationSet, 1);
        if (!set)
                return -ENOMEM;
        set->origin = strdup(origin ?: "");
        if (!set->origin)
                return -ENOMEM;
        if (snapshot) {
                set->snapshot = strdup(snapshot);
                if (!set->snapshot)
                        return -ENOMEM;
        }

        parsed = new0(ParsedSource, n);
        if (!parsed)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                parsed[i].src = &sources[i];
                r = migration_parse_filename(sources[i].filename, &parsed[i].version, &parsed[i].slug, &parsed[i].kind);
                if (r == -EINVAL) {
                        set_error(error, strprintf("%s: bad migration file name (expected NNNN_slug.up.sql, "
                                                   "NNNN_slug.down.sql or NNNN_slug.verify.sql; NNNN from 0001, "
                                                   "slug of a-z, 0-9 and _)",
                                                   sources[i].display ?: sources[i].filename));
                        goto finish;
                }
                if (r < 0)
                        goto finish;
        }
        qsort(parsed, n, sizeof(ParsedSource), parsed_source_compare);

        set->migrations = new0(Migration, n);
        if (!set->migrations) {
                r = -ENOMEM;
                goto finish;
        }

        for (size_t i = 0; i < n; ) {
                Migration *m = &set->migrations[set->n_migrations];
                size_t j = i;

                m->version = parsed[i].version;
                m->slug = strdup(parsed[i].slug);
                m->name = strprintf("%04u_%s", m->version, parsed[i].slug);
                set->n_migrations++;
                if (!m->slug || !m->name) {
                        r = -ENOMEM;
                        goto finish;
                }

                for (; j < n && parsed[j].version == m->version; j++) {
                        const ParsedSource *p = &parsed[j];
                        if (!streq(p->slug, m->slug)) {
                                set_error(error, strprintf("duplicate migration number %04u: %s and %s",
                                                           m->version, parsed[i].src->display ?: parsed[i].src->filename,
                                                           p->src->display ?: p->src->filename));
                                r = -EINVAL;
                                goto finish;
                        }
                        if (m->scripts[p->kind].present) {
                                set_error(error, strprintf("duplicate migration file %s", p->src->display ?: p->src->filename));
                                r = -EINVAL;
                                goto finish;
                        }
                        r = script_load(&m->scripts[p->kind], p->src, p->kind, error);
                        if (r < 0)
                                goto finish;
                }

                for (MigrationScriptKind k = MIGRATION_UP; k <= MIGRATION_DOWN; k++)
                        if (!m->scripts[k].present) {
                                const ParsedSource *p = &parsed[i];
                                set_error(error, strprintf("%s: no matching %04u_%s.%s.sql (every migration needs both "
                                                           "an up and a down script)",
                                                           p->src->display ?: p->src->filename, m->version, m->slug,
                                                           migration_script_kind_to_string(k)));
                                r = -EINVAL;
                                goto finish;
                        }
                i = j;
        }

        *ret = TAKE_PTR(set);
        r = 0;
finish:
        for (size_t i = 0; i < n; i++)
                free(parsed[i].slug);
        free(parsed);
        return r;
}

static int read_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        for (;;) {
                size_t k;
                if (allocated - size < 4096) {
                        size_t na = MAX(allocated * 2, (size_t) 16384);
                        char *m = realloc(buf, na);
                        if (!m)
                                return -ENOMEM;
                        buf = m;
                        allocated = na;
                }
                k = fread(buf + size, 1, allocated - size - 1, f);
                size += k;
                if (k == 0) {
                        if (ferror(f))
                                return -EIO;
                        break;
                }
        }
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

typedef struct LoadedFile {
        char *filename;
        char *display;
        char *data;
        size_t size;
} LoadedFile;

int migration_set_load_dir(const char *dir, MigrationSet **ret, char **error) {
        _cleanup_(closedirp) DIR *d = NULL;
        LoadedFile *files = NULL;
        MigrationSource *sources = NULL;
        _cleanup_free_ char *snapshot = NULL, *snapshot_path = NULL, *declared = NULL, *declared_path = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;
        int r;

        assert(dir);
        assert(ret);

        d = opendir(dir);
        if (!d) {
                r = negative_errno();
                set_error(error, strprintf("%s: cannot open migrations directory: %s", dir, strerror(-r)));
                return r;
        }

        errno = 0;
        while ((de = readdir(d))) {
                const char *e;
                struct stat st;
                _cleanup_free_ char *path = NULL;

                if (de->d_name[0] == '.' || streq(de->d_name, "schema.sql"))
                        continue;
                e = strrchr(de->d_name, '.');
                if (!e || !streq(e, ".sql"))
                        continue;

                path = strprintf("%s/%s", dir, de->d_name);
                if (!path) {
                        r = -ENOMEM;
                        goto finish;
                }
                if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
                        r = -EINVAL;
                        set_error(error, strprintf("%s: not a regular file", path));
                        goto finish;
                }
                if (n == allocated) {
                        size_t na = MAX(allocated * 2, (size_t) 16);
                        LoadedFile *m = realloc(files, na * sizeof(LoadedFile));
                        if (!m) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        files = m;
                        allocated = na;
                }
                files[n] = (LoadedFile) {};
                files[n].filename = strdup(de->d_name);
                files[n].display = TAKE_PTR(path);
                n++;
                if (!files[n - 1].filename) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = read_file(files[n - 1].display, &files[n - 1].data, &files[n - 1].size);
                if (r < 0) {
                        set_error(error, strprintf("%s: cannot read: %s", files[n - 1].display, strerror(-r)));
                        goto finish;
                }
                errno = 0;
        }
        if (errno != 0) {
                r = negative_errno();
                set_error(error, strprintf("%s: cannot read directory: %s", dir, strerror(-r)));
                goto finish;
        }

        snapshot_path = strprintf("%s/schema.snapshot", dir);
        if (!snapshot_path) {
                r = -ENOMEM;
                goto finish;
        }
        r = read_file(snapshot_path, &snapshot, NULL);
        if (r < 0 && r != -ENOENT) {
                set_error(error, strprintf("%s: cannot read: %s", snapshot_path, strerror(-r)));
                goto finish;
        }

        sources = new0(MigrationSource, n);
        if (!sources) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < n; i++)
                sources[i] = (MigrationSource) {
                        .filename = files[i].filename,
                        .display = files[i].display,
                        .data = files[i].data,
                        .size = files[i].size,
                };
        declared_path = strprintf("%s/schema.sql", dir);
        if (!declared_path) {
                r = -ENOMEM;
                goto finish;
        }
        r = read_file(declared_path, &declared, NULL);
        if (r < 0 && r != -ENOENT) {
                set_error(error, strprintf("%s: cannot read: %s", declared_path, strerror(-r)));
                goto finish;
        }
        r = migration_set_build(sources, n, dir, snapshot, ret, error);
        if (r >= 0 && declared)
                (*ret)->declared = TAKE_PTR(declared);

finish:
        for (size_t i = 0; i < n; i++) {
                free(files[i].filename);
                free(files[i].display);
                free(files[i].data);
        }
        free(files);
        free(sources);
        return r;
}

int migration_set_load_embedded(MigrationSet **ret, char **error) {
        _cleanup_(migration_set_freep) MigrationSet *set = NULL;
        _cleanup_free_ MigrationSource *sources = NULL;
        char **displays = NULL;
        size_t n = embedded_migration_scripts_count;
        int r;

        assert(ret);

        sources = new0(MigrationSource, n);
        displays = new0(char*, n + 1);
        if (!sources || !displays) {
                free(displays);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                const EmbeddedMigrationScript *e = &embedded_migration_scripts[i];
                displays[i] = strprintf("migrations/%s", e->filename);
                if (!displays[i]) {
                        strv_free(displays);
                        return -ENOMEM;
                }
                sources[i] = (MigrationSource) {
                        .filename = e->filename,
                        .display = displays[i],
                        .data = e->sql,
                        .size = e->size,
                };
        }

        r = migration_set_build(sources, n, "embedded", embedded_schema_snapshot, &set, error);
        strv_free(displays);
        if (r < 0)
                return r;
        if (embedded_declared_schema) {
                set->declared = strdup(embedded_declared_schema);
                if (!set->declared)
                        return -ENOMEM;
        }

        /* The generator parsed the same files at build time: both must agree, or one of the two
         * implementations of the rules is wrong and nothing here can be trusted. */
        for (size_t i = 0; i < n; i++) {
                const EmbeddedMigrationScript *e = &embedded_migration_scripts[i];
                const Migration *m = migration_set_find(set, e->version);
                const MigrationScript *s;

                if (!m || e->kind >= _MIGRATION_SCRIPT_KIND_MAX || !m->scripts[e->kind].present) {
                        set_error(error, strprintf("migrations/%s: embedded data is inconsistent", e->filename));
                        return -EUCLEAN;
                }
                s = &m->scripts[e->kind];
                if (!streq(s->checksum, e->checksum) || (unsigned) s->flags != e->flags) {
                        set_error(error, strprintf("migrations/%s: build-time and run-time checksum or options differ "
                                                   "(gen-migrations.py and migration.c disagree)", e->filename));
                        return -EUCLEAN;
                }
        }

        *ret = TAKE_PTR(set);
        return 0;
}

int migration_slugify(const char *description, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t o = 0;
        bool sep = false;

        assert(description);
        assert(ret);

        s = malloc(strlen(description) + 1);
        if (!s)
                return -ENOMEM;
        for (const char *p = description; *p && o < 48; p++) {
                unsigned char c = (unsigned char) *p;
                if (c < 0x80 && isalnum(c)) {
                        if (sep && o > 0 && o < 47)
                                s[o++] = '_';
                        sep = false;
                        s[o++] = (char) tolower(c);
                } else
                        sep = true;
        }
        while (o > 0 && s[o - 1] == '_')
                o--;
        s[o] = 0;
        if (o == 0)
                return -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}

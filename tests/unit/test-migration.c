/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Migration files without a database: names, header options, pairing, checksums, statement
 * splitting, the embedded set, schema descriptions, and the runner's string tables. */
#include <dirent.h>
#include <stdio.h>

#include "migrate.h"
#include "migration.h"
#include "migrations-embedded.h"
#include "schema-describe.h"
#include "sql-split.h"
#include "strv.h"
#include "tests.h"

TEST(filename) {
        _cleanup_free_ char *slug = NULL;
        MigrationScriptKind kind;
        unsigned v;

        ASSERT_OK(migration_parse_filename("0001_initial.up.sql", &v, &slug, &kind));
        ASSERT_EQ(v, 1);
        ASSERT_STREQ(slug, "initial");
        ASSERT_EQ(kind, MIGRATION_UP);
        free(slug);
        slug = NULL;
        ASSERT_OK(migration_parse_filename("0042_add_2_things.down.sql", &v, &slug, &kind));
        ASSERT_EQ(v, 42);
        ASSERT_STREQ(slug, "add_2_things");
        ASSERT_EQ(kind, MIGRATION_DOWN);
        ASSERT_OK(migration_parse_filename("9999_x.verify.sql", &v, NULL, &kind));
        ASSERT_EQ(v, 9999);
        ASSERT_EQ(kind, MIGRATION_VERIFY);

        ASSERT_ERR(migration_parse_filename("0000_zero.up.sql", NULL, NULL, NULL), EINVAL);
        ASSERT_ERR(migration_parse_filename("001_short.up.sql", NULL, NULL, NULL), EINVAL);
        ASSERT_ERR(migration_parse_filename("00001_long.up.sql", NULL, NULL, NULL), EINVAL);
        ASSERT_ERR(migration_parse_filename("0001-dash.up.sql", NULL, NULL, NULL), EINVAL);
        ASSERT_ERR(migration_parse_filename("0001_Upper.up.sql", NULL, NULL, NULL), EINVAL);
        ASSERT_ERR(migration_parse_filename("0001_bad-slug.up.sql", NULL, NULL, NULL), EINVAL);
        ASSERT_ERR(migration_parse_filename("0001_.up.sql", NULL, NULL, NULL), EINVAL);
        ASSERT_ERR(migration_parse_filename("0001_x.sql", NULL, NULL, NULL), EINVAL);
        ASSERT_ERR(migration_parse_filename("0001_x.upgrade.sql", NULL, NULL, NULL), EINVAL);
        ASSERT_ERR(migration_parse_filename("0001_x.up.sql.orig", NULL, NULL, NULL), EINVAL);
        ASSERT_ERR(migration_parse_filename("", NULL, NULL, NULL), EINVAL);
}

TEST(normalize_and_checksum) {
        char a[MIGRATION_CHECKSUM_HEX_LEN + 1], b[MIGRATION_CHECKSUM_HEX_LEN + 1];
        _cleanup_free_ char *n = NULL;
        static const char * const variants[] = {
                "SELECT 1;\nSELECT 2;\n",
                "SELECT 1;\r\nSELECT 2;\r\n",
                "\xEF\xBB\xBFSELECT 1;\nSELECT 2;\n",
                "\xEF\xBB\xBFSELECT 1;\r\nSELECT 2;",
                "SELECT 1;\rSELECT 2;\r",
                "SELECT 1;\nSELECT 2;",
        };

        ASSERT_OK(migration_normalize("\xEF\xBB\xBF" "a\r\nb\rc", 9, &n));
        ASSERT_STREQ(n, "a\nb\nc\n");
        free(n);
        n = NULL;
        ASSERT_OK(migration_normalize("", 0, &n));
        ASSERT_STREQ(n, "");
        ASSERT_ERR(migration_normalize("a\0b", 3, &n), EINVAL);

        /* printf 'SELECT 1;\nSELECT 2;\n' | sha256sum; every variant normalises to that text. */
        ASSERT_OK(migration_checksum(variants[0], strlen(variants[0]), a));
        ASSERT_STREQ(a, "82efb67f3010c6eb7ead02e4f6d9550633dbc1407f99aa487468e7b2567aebbc");
        for (size_t i = 1; i < ELEMENTSOF(variants); i++) {
                ASSERT_OK(migration_checksum(variants[i], strlen(variants[i]), b));
                ASSERT_STREQ(a, b);
        }
        /* A real change changes the checksum; so does a changed blank line. */
        ASSERT_OK(migration_checksum("SELECT 1;\nSELECT 3;\n", 20, b));
        ASSERT_TRUE(!streq(a, b));
        ASSERT_OK(migration_checksum("SELECT 1;\n\nSELECT 2;\n", 21, b));
        ASSERT_TRUE(!streq(a, b));
}

TEST(checksum_known_value) {
        char a[MIGRATION_CHECKSUM_HEX_LEN + 1];
        /* printf 'SELECT 1;\n' | sha256sum: the missing final newline is added first. */
        ASSERT_OK(migration_checksum("SELECT 1;", 9, a));
        ASSERT_STREQ(a, "b4e0497804e46e0a0b0b8c31975b062152d551bac49c3c2e80932567b4085dcd");
}

static int header(const char *text, MigrationScriptKind kind, MigrationFlags *flags, char **err) {
        return migration_parse_header(text, kind, flags, err);
}

TEST(header_options) {
        _cleanup_free_ char *err = NULL;
        MigrationFlags f;

        ASSERT_OK(header("-- stopstart: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n", MIGRATION_UP, &f, NULL));
        ASSERT_EQ(f, MIGRATION_NO_TRANSACTION);
        ASSERT_OK(header("-- a title\n\n   --stopstart:no-transaction  \nSELECT 1;\n", MIGRATION_DOWN, &f, NULL));
        ASSERT_EQ(f, MIGRATION_NO_TRANSACTION);
        ASSERT_OK(header("-- stopstart: no-transaction, no-transaction\nSELECT 1;\n", MIGRATION_UP, &f, NULL));
        ASSERT_EQ(f, MIGRATION_NO_TRANSACTION);
        ASSERT_OK(header("SELECT 1;\n", MIGRATION_UP, &f, NULL));
        ASSERT_EQ(f, 0);
        ASSERT_OK(header("", MIGRATION_UP, &f, NULL));
        ASSERT_EQ(f, 0);
        /* Free text after "stopstart:" is a title (0001_initial uses one). */
        ASSERT_OK(header("-- stopstart: initial schema (revert)\nDROP SCHEMA x;\n", MIGRATION_DOWN, &f, NULL));
        ASSERT_EQ(f, 0);
        /* A later comment that is not option-shaped is harmless. */
        ASSERT_OK(header("SELECT 1;\n-- stopstart: see the notes above\n", MIGRATION_UP, &f, NULL));

        ASSERT_ERR(header("-- stopstart: no-transactoin\nSELECT 1;\n", MIGRATION_UP, &f, &err), EINVAL);
        ASSERT_STREQ(err, "1: unknown option \"no-transactoin\" (known: no-transaction)");
        ASSERT_ERR(header("-- x\n-- stopstart: No Transaction\n", MIGRATION_UP, &f, &err), EINVAL);
        ASSERT_STREQ(err, "2: malformed option \"No Transaction\" (write: -- stopstart: no-transaction)");
        ASSERT_ERR(header("-- stopstart: no_transaction\n", MIGRATION_UP, &f, &err), EINVAL);
        ASSERT_ERR(header("SELECT 1;\n-- stopstart: no-transaction\n", MIGRATION_UP, &f, &err), EINVAL);
        ASSERT_TRUE(strstr(err, "2: option line") == err);
        ASSERT_ERR(header("-- stopstart: no-transaction\nSELECT 1;\n", MIGRATION_VERIFY, &f, &err), EINVAL);
        ASSERT_TRUE(strstr(err, "not allowed in a verify script") != NULL);
        ASSERT_ERR(header("-- stopstart: initial\n", MIGRATION_UP, &f, &err), EINVAL);
}

#define SRC(name, text) { name, name, text, sizeof(text) - 1 }

static int build(const MigrationSource *s, size_t n, MigrationSet **ret, char **err) {
        free(*err);
        *err = NULL;
        *ret = migration_set_free(*ret);
        return migration_set_build(s, n, "test", NULL, ret, err);
}

TEST(pairing) {
        _cleanup_(migration_set_freep) MigrationSet *set = NULL;
        _cleanup_free_ char *err = NULL;

        {
                /* Given out of order on purpose: the set comes out sorted. */
                const MigrationSource s[] = {
                        SRC("0010_ten.down.sql", "DROP TABLE t10;\n"),
                        SRC("0002_two.up.sql", "CREATE TABLE t2 (a int);\n"),
                        SRC("0010_ten.up.sql", "CREATE TABLE t10 (a int);\n"),
                        SRC("0002_two.verify.sql", "SELECT 1;\n"),
                        SRC("0002_two.down.sql", "DROP TABLE t2;\n"),
                };
                ASSERT_OK(build(s, ELEMENTSOF(s), &set, &err));
                ASSERT_EQ(set->n_migrations, 2);
                ASSERT_EQ(set->migrations[0].version, 2);
                ASSERT_STREQ(set->migrations[0].name, "0002_two");
                ASSERT_TRUE(set->migrations[0].scripts[MIGRATION_VERIFY].present);
                ASSERT_EQ(set->migrations[1].version, 10);
                ASSERT_TRUE(!set->migrations[1].scripts[MIGRATION_VERIFY].present);
                ASSERT_EQ(migration_set_head(set), 10);
                ASSERT_NOT_NULL(migration_set_find(set, 10));
                ASSERT_NULL(migration_set_find(set, 3));
                ASSERT_EQ(set->migrations[1].scripts[MIGRATION_UP].n_statements, 1);
        }
        {
                const MigrationSource s[] = { SRC("0001_a.up.sql", "SELECT 1;\n") };
                ASSERT_ERR(build(s, ELEMENTSOF(s), &set, &err), EINVAL);
                ASSERT_STREQ(err, "0001_a.up.sql: no matching 0001_a.down.sql (every migration needs both an up and a down script)");
        }
        {
                const MigrationSource s[] = { SRC("0001_a.down.sql", "SELECT 1;\n"), SRC("0001_a.verify.sql", "SELECT 1;\n") };
                ASSERT_ERR(build(s, ELEMENTSOF(s), &set, &err), EINVAL);
                ASSERT_TRUE(strstr(err, "no matching 0001_a.up.sql") != NULL);
        }
        {
                const MigrationSource s[] = {
                        SRC("0001_a.up.sql", "SELECT 1;\n"), SRC("0001_a.down.sql", "SELECT 1;\n"),
                        SRC("0001_b.up.sql", "SELECT 1;\n"), SRC("0001_b.down.sql", "SELECT 1;\n"),
                };
                ASSERT_ERR(build(s, ELEMENTSOF(s), &set, &err), EINVAL);
                ASSERT_STREQ(err, "duplicate migration number 0001: 0001_a.up.sql and 0001_b.up.sql");
        }
        {
                const MigrationSource s[] = { SRC("0001_a.up.sql", "SELECT 1;\n"), SRC("1_b.up.sql", "SELECT 1;\n") };
                ASSERT_ERR(build(s, ELEMENTSOF(s), &set, &err), EINVAL);
                ASSERT_TRUE(strstr(err, "1_b.up.sql: bad migration file name") == err);
        }
        {
                const MigrationSource s[] = {
                        SRC("0001_a.up.sql", "-- stopstart: no-transactoin\nSELECT 1;\n"),
                        SRC("0001_a.down.sql", "SELECT 1;\n"),
                };
                ASSERT_ERR(build(s, ELEMENTSOF(s), &set, &err), EINVAL);
                ASSERT_STREQ(err, "0001_a.up.sql:1: unknown option \"no-transactoin\" (known: no-transaction)");
        }
        {
                /* The runner owns the transaction: a migration may not end it. */
                const MigrationSource s[] = {
                        SRC("0001_a.up.sql", "CREATE TABLE t (a int);\nCOMMIT;\n"),
                        SRC("0001_a.down.sql", "DROP TABLE t;\n"),
                };
                ASSERT_ERR(build(s, ELEMENTSOF(s), &set, &err), EINVAL);
                ASSERT_TRUE(strstr(err, "0001_a.up.sql:2: COMMIT is not allowed here") == err);
        }
        {
                /* ...unless it runs outside one. */
                const MigrationSource s[] = {
                        SRC("0001_a.up.sql", "-- stopstart: no-transaction\nBEGIN;\nCREATE TABLE t (a int);\nCOMMIT;\n"),
                        SRC("0001_a.down.sql", "DROP TABLE t;\n"),
                };
                ASSERT_OK(build(s, ELEMENTSOF(s), &set, &err));
                ASSERT_EQ(set->migrations[0].scripts[MIGRATION_UP].flags, MIGRATION_NO_TRANSACTION);
                ASSERT_EQ(set->migrations[0].scripts[MIGRATION_DOWN].flags, 0);
                set = migration_set_free(set);
        }
        {
                const MigrationSource s[] = {
                        SRC("0001_a.up.sql", "\\i other.sql\n"),
                        SRC("0001_a.down.sql", "SELECT 1;\n"),
                };
                ASSERT_ERR(build(s, ELEMENTSOF(s), &set, &err), EINVAL);
                ASSERT_TRUE(strstr(err, "0001_a.up.sql:1: psql meta-commands") == err);
        }
        {
                const MigrationSource s[] = {
                        SRC("0001_a.up.sql", "SELECT 'unterminated;\n"),
                        SRC("0001_a.down.sql", "SELECT 1;\n"),
                };
                ASSERT_ERR(build(s, ELEMENTSOF(s), &set, &err), EINVAL);
                ASSERT_TRUE(strstr(err, "0001_a.up.sql:1: unterminated") == err);
        }
        {
                const MigrationSource s[] = {
                        { "0001_a.up.sql", "0001_a.up.sql", "SELECT 1;\0", 10 },
                        SRC("0001_a.down.sql", "SELECT 1;\n"),
                };
                ASSERT_ERR(build(s, ELEMENTSOF(s), &set, &err), EINVAL);
                ASSERT_TRUE(strstr(err, "NUL byte") != NULL);
        }
        {
                ASSERT_OK(build(NULL, 0, &set, &err));
                ASSERT_EQ(set->n_migrations, 0);
                ASSERT_EQ(migration_set_head(set), 0);
        }
}

static void split_expect(const char *text, size_t n_expected, const unsigned *lines, const char * const *starts) {
        _cleanup_free_ SqlStatement *st = NULL;
        size_t n = 0;

        ASSERT_OK(sql_split(text, &st, &n, NULL));
        if (n != n_expected)
                TEST_FAIL("split of <<%s>>: %zu statements, expected %zu", text, n, n_expected);
        for (size_t i = 0; i < n; i++) {
                ASSERT_EQ(st[i].line, lines[i]);
                if (strncmp(text + st[i].offset, starts[i], strlen(starts[i])) != 0)
                        TEST_FAIL("statement %zu starts <<%.20s>>, expected <<%s>>", i, text + st[i].offset, starts[i]);
        }
}

TEST(split) {
        split_expect("SELECT 1; SELECT 2;", 2, (unsigned[]) { 1, 1 }, (const char *[]) { "SELECT 1;", "SELECT 2;" });
        split_expect("-- c;\n\n/* x; /* nested; */ y; */\nSELECT ';'';' AS a;\n;;\nSELECT 2",
                     2, (unsigned[]) { 4, 6 }, (const char *[]) { "SELECT ';'';' AS a;", "SELECT 2" });
        split_expect("SELECT E'it\\'s; ok';\nSELECT \"we;ird\" FROM t;",
                     2, (unsigned[]) { 1, 2 }, (const char *[]) { "SELECT E'it", "SELECT \"we;ird\"" });
        split_expect("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\nSELECT 1;\n$$;\nDO $body$ BEGIN PERFORM 1; END $body$;\n",
                     2, (unsigned[]) { 1, 4 }, (const char *[]) { "CREATE FUNCTION", "DO $body$" });
        /* $1 and a$b are no dollar quotes. */
        split_expect("PREPARE p AS SELECT $1; SELECT a$b FROM t;", 2, (unsigned[]) { 1, 1 },
                     (const char *[]) { "PREPARE", "SELECT a$b" });
        /* Standard strings: a backslash is just a character. */
        split_expect("SELECT 'a\\'; SELECT 2;", 2, (unsigned[]) { 1, 1 }, (const char *[]) { "SELECT 'a\\';", "SELECT 2;" });

        {
                const char *t = "SET x = 1;\nCOPY s.t (a, b) FROM stdin;\n1\tx;y\n2\t\\N\n\\.\nSELECT 3;\n";
                _cleanup_free_ SqlStatement *st = NULL;
                size_t n = 0;
                ASSERT_OK(sql_split(t, &st, &n, NULL));
                ASSERT_EQ(n, 3);
                ASSERT_TRUE(st[1].copy_in);
                ASSERT_EQ(st[1].copy_length, strlen("1\tx;y\n2\t\\N\n"));
                ASSERT_TRUE(strncmp(t + st[1].copy_offset, "1\tx;y", 5) == 0);
                ASSERT_EQ(st[2].line, 6);
                ASSERT_TRUE(!st[2].copy_in);
        }
        {
                const char *t = "\\restrict abc\nSELECT 1;\n\\unrestrict abc\n";
                _cleanup_free_ SqlStatement *st = NULL;
                size_t n = 0;
                ASSERT_OK(sql_split(t, &st, &n, NULL));
                ASSERT_EQ(n, 3);
                ASSERT_TRUE(st[0].meta && !st[1].meta && st[2].meta);
                ASSERT_EQ(st[2].line, 3);
        }
        {
                _cleanup_free_ SqlStatement *st = NULL;
                size_t n = 0;
                unsigned line = 0;
                ASSERT_ERR(sql_split("SELECT 1;\n\nSELECT $x$ never closed;\n", &st, &n, &line), EINVAL);
                ASSERT_EQ(line, 3);
                ASSERT_ERR(sql_split("SELECT 1;\n/* open\n", &st, &n, &line), EINVAL);
                ASSERT_EQ(line, 2);
                ASSERT_ERR(sql_split("COPY t FROM stdin;\n1\n", &st, &n, &line), EINVAL);
                ASSERT_EQ(line, 1);
        }
}

TEST(split_keywords_and_positions) {
        const char *t = "-- x\n/* c */ commit;\nROLLBACK TO SAVEPOINT s;\nrollback;\nSTART TRANSACTION;\nEND;\n"
                        "CREATE TABLE ä (\n  b nope\n);\n";
        _cleanup_free_ SqlStatement *st = NULL;
        size_t n = 0;
        char kw[16];

        ASSERT_OK(sql_split(t, &st, &n, NULL));
        ASSERT_EQ(n, 6);
        sql_statement_keyword(t, &st[0], 0, kw, sizeof kw);
        ASSERT_STREQ(kw, "COMMIT");
        ASSERT_TRUE(sql_statement_is_transaction_control(t, &st[0]));
        ASSERT_TRUE(!sql_statement_is_transaction_control(t, &st[1]));
        ASSERT_TRUE(sql_statement_is_transaction_control(t, &st[2]));
        ASSERT_TRUE(sql_statement_is_transaction_control(t, &st[3]));
        ASSERT_TRUE(sql_statement_is_transaction_control(t, &st[4]));
        ASSERT_TRUE(!sql_statement_is_transaction_control(t, &st[5]));
        sql_statement_keyword(t, &st[5], 1, kw, sizeof kw);
        ASSERT_STREQ(kw, "TABLE");
        /* "nope" is character 20 of the statement (ä counts once although it is two bytes). */
        ASSERT_EQ(st[5].line, 7);
        ASSERT_EQ(sql_statement_line_of_position(t, &st[5], 1), 7);
        ASSERT_EQ(sql_statement_line_of_position(t, &st[5], 20), 8);
        ASSERT_EQ(sql_statement_line_of_position(t, &st[5], 16), 7);
        ASSERT_EQ(sql_statement_line_of_position(t, &st[5], 0), 7);
}

static char *read_source(const char *name, size_t *ret_size) {
        _cleanup_free_ char *path = strprintf("%s/migrations/%s", getenv("STOPSTART_SOURCE_ROOT"), name);
        _cleanup_fclose_ FILE *f = NULL;
        char *buf;
        long l;

        ASSERT_NOT_NULL(path);
        f = fopen(path, "re");
        if (!f)
                TEST_FAIL("cannot open %s", path);
        ASSERT_TRUE(fseek(f, 0, SEEK_END) == 0);
        l = ftell(f);
        ASSERT_TRUE(l >= 0);
        rewind(f);
        buf = malloc((size_t) l + 1);
        ASSERT_NOT_NULL(buf);
        ASSERT_EQ(fread(buf, 1, (size_t) l, f), l);
        buf[l] = 0;
        *ret_size = (size_t) l;
        return buf;
}

TEST(embedded_set) {
        _cleanup_(migration_set_freep) MigrationSet *set = NULL, *dir = NULL;
        _cleanup_free_ char *err = NULL, *src = NULL, *dirname = NULL;
        size_t n_up = 0;
        DIR *d;

        ASSERT_NOT_NULL(getenv("STOPSTART_SOURCE_ROOT"));
        ASSERT_OK(migration_set_load_embedded(&set, &err));
        ASSERT_STREQ(set->origin, "embedded");

        /* Every *.up.sql of the source tree is embedded: the generator never drops a file. */
        dirname = strprintf("%s/migrations", getenv("STOPSTART_SOURCE_ROOT"));
        d = opendir(dirname);
        ASSERT_NOT_NULL(d);
        for (struct dirent *de; (de = readdir(d)); ) {
                size_t l = strlen(de->d_name);
                if (de->d_name[0] != '.' && l > 7 && streq(de->d_name + l - 7, ".up.sql"))
                        n_up++;
        }
        closedir(d);
        ASSERT_TRUE(n_up > 0);
        ASSERT_EQ(set->n_migrations, n_up);

        /* Strictly ascending, as built and as generated. */
        for (size_t i = 1; i < set->n_migrations; i++)
                ASSERT_TRUE(set->migrations[i - 1].version < set->migrations[i].version);
        for (size_t i = 1; i < embedded_migration_scripts_count; i++) {
                const EmbeddedMigrationScript *a = &embedded_migration_scripts[i - 1], *b = &embedded_migration_scripts[i];
                ASSERT_TRUE(a->version < b->version || (a->version == b->version && a->kind < b->kind));
        }

        /* The generator's checksums and flags are the ones this library computes from the files. */
        for (size_t i = 0; i < embedded_migration_scripts_count; i++) {
                const EmbeddedMigrationScript *e = &embedded_migration_scripts[i];
                char sum[MIGRATION_CHECKSUM_HEX_LEN + 1];
                MigrationFlags flags;
                _cleanup_free_ char *norm = NULL;
                size_t size;

                src = mfree(src);
                src = read_source(e->filename, &size);
                ASSERT_OK(migration_checksum(src, size, sum));
                ASSERT_STREQ(e->checksum, sum);
                ASSERT_OK(migration_normalize(src, size, &norm));
                ASSERT_STREQ(e->sql, norm);
                ASSERT_OK(migration_parse_header(norm, e->kind, &flags, NULL));
                ASSERT_EQ(e->flags, flags);
        }

        /* And loading the directory at run time gives the same set. */
        ASSERT_OK(migration_set_load_dir(dirname, &dir, &err));
        ASSERT_EQ(dir->n_migrations, set->n_migrations);
        for (size_t i = 0; i < set->n_migrations; i++) {
                ASSERT_STREQ(dir->migrations[i].name, set->migrations[i].name);
                for (size_t k = 0; k < _MIGRATION_SCRIPT_KIND_MAX; k++) {
                        ASSERT_EQ(dir->migrations[i].scripts[k].present, set->migrations[i].scripts[k].present);
                        if (set->migrations[i].scripts[k].present)
                                ASSERT_STREQ(dir->migrations[i].scripts[k].checksum, set->migrations[i].scripts[k].checksum);
                }
        }
        ASSERT_TRUE(streq_ptr(dir->snapshot, set->snapshot));
}

TEST(load_dir_errors) {
        _cleanup_(migration_set_freep) MigrationSet *set = NULL;
        _cleanup_free_ char *err = NULL;

        ASSERT_ERR(migration_set_load_dir("/nonexistent/migrations", &set, &err), ENOENT);
        ASSERT_TRUE(strstr(err, "/nonexistent/migrations: cannot open migrations directory") == err);
}

TEST(slugify) {
        _cleanup_free_ char *s = NULL;

        ASSERT_OK(migration_slugify("Add foo, bar & baz!", &s));
        ASSERT_STREQ(s, "add_foo_bar_baz");
        free(s);
        s = NULL;
        ASSERT_OK(migration_slugify("  --Trim--  ", &s));
        ASSERT_STREQ(s, "trim");
        free(s);
        s = NULL;
        ASSERT_OK(migration_slugify("Ünïcode 2 names", &s));
        ASSERT_STREQ(s, "n_code_2_names");
        free(s);
        s = NULL;
        ASSERT_OK(migration_slugify("a very long description that goes on and on and on beyond any limit", &s));
        ASSERT_TRUE(strlen(s) <= 48);
        ASSERT_TRUE(s[strlen(s) - 1] != '_');
        ASSERT_ERR(migration_slugify("!!!", &s), EINVAL);
}

TEST(schema_description) {
        _cleanup_(schema_description_freep) SchemaDescription *a = NULL, *b = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;
        _cleanup_free_ SchemaDifference *diff = NULL;
        size_t n = 0;
        const char *snap =
                "-- comment\n"
                "-- head: 0002_x\n"
                "-- server: 15\n"
                "table s.t\n"
                "function s.f()\n"
                "    CREATE FUNCTION s.f()\n"
                "\n"
                "    AS $$ x $$\n"
                "column s.t.a\n"
                "    integer not null\n";

        ASSERT_OK(schema_description_parse(snap, &a, &err));
        ASSERT_STREQ(a->head, "0002_x");
        ASSERT_EQ(a->server_major, 15);
        ASSERT_EQ(a->n_objects, 3);
        /* Sorted by kind, then name. */
        ASSERT_STREQ(a->objects[0].kind, "column");
        ASSERT_STREQ(a->objects[1].kind, "function");
        ASSERT_STREQ(a->objects[1].definition, "CREATE FUNCTION s.f()\n\nAS $$ x $$");
        ASSERT_STREQ(a->objects[2].definition, "");

        /* Format and parse again: the same description. */
        ASSERT_OK(schema_description_format(a, a->head, &text));
        ASSERT_OK(schema_description_parse(text, &b, &err));
        ASSERT_OK(schema_diff(a, b, &diff, &n));
        ASSERT_EQ(n, 0);
        ASSERT_STREQ(b->head, "0002_x");
        free(diff);
        diff = NULL;

        /* One changed, one missing, one extra. */
        free(b->objects[0].definition);
        b->objects[0].definition = strdup("integer");
        free(b->objects[1].name);
        b->objects[1].name = strdup("s.g()");
        ASSERT_OK(schema_diff(a, b, &diff, &n));
        ASSERT_EQ(n, 3);
        ASSERT_STREQ(diff[0].name, "s.t.a");
        ASSERT_STREQ(diff[0].expected, "integer not null");
        ASSERT_STREQ(diff[0].actual, "integer");
        ASSERT_STREQ(diff[1].name, "s.f()");
        ASSERT_NULL(diff[1].actual);
        ASSERT_STREQ(diff[2].name, "s.g()");
        ASSERT_NULL(diff[2].expected);

        ASSERT_ERR(schema_description_parse("    indented first\n", &b, &err), EINVAL);
        ASSERT_ERR(schema_description_parse("nospace\n", &b, &err), EINVAL);
}

TEST(embedded_snapshot_parses) {
        _cleanup_(schema_description_freep) SchemaDescription *d = NULL;
        _cleanup_(migration_set_freep) MigrationSet *set = NULL;
        _cleanup_free_ char *err = NULL;

        ASSERT_OK(migration_set_load_embedded(&set, &err));
        if (!set->snapshot)
                return;
        ASSERT_OK(schema_description_parse(set->snapshot, &d, &err));
        ASSERT_TRUE(d->n_objects > 0);
        ASSERT_NOT_NULL(d->head);
}

#define TEST_TABLE(name, max)                                                   \
        do {                                                                    \
                for (int _i = 0; _i < (int) (max); _i++) {                      \
                        const char *_s = name##_to_string(_i);                  \
                        ASSERT_NOT_NULL(_s);                                    \
                        ASSERT_EQ(name##_from_string(_s), _i);                  \
                }                                                               \
                ASSERT_NULL(name##_to_string(max));                             \
                ASSERT_TRUE((int) name##_from_string("no-such-value") < 0);     \
        } while (0)

TEST(tables) {
        TEST_TABLE(migration_script_kind, _MIGRATION_SCRIPT_KIND_MAX);
        TEST_TABLE(migration_state, _MIGRATION_STATE_MAX);
        TEST_TABLE(migrate_event, _MIGRATE_EVENT_MAX);
        TEST_TABLE(migrate_problem_kind, _MIGRATE_PROBLEM_KIND_MAX);
        TEST_TABLE(migrate_drift_method, _MIGRATE_DRIFT_METHOD_MAX);
        TEST_TABLE(migrate_fix, _MIGRATE_FIX_MAX);
}

int main(void) {
        RUN(filename);
        RUN(normalize_and_checksum);
        RUN(checksum_known_value);
        RUN(header_options);
        RUN(pairing);
        RUN(split);
        RUN(split_keywords_and_positions);
        RUN(embedded_set);
        RUN(load_dir_errors);
        RUN(slugify);
        RUN(schema_description);
        RUN(embedded_snapshot_parses);
        RUN(tables);
        return 0;
}

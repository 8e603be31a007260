/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Migration files and sets, without a database.
 *
 * A migration is a pair NNNN_slug.up.sql / NNNN_slug.down.sql with an optional
 * NNNN_slug.verify.sql (a script that raises when the migration's effect is missing). NNNN is a
 * 4-digit number 0001..9999, slug is [a-z0-9][a-z0-9_]*. Other *.sql names in the directory are
 * errors; names starting with '.' and files not ending in .sql are ignored.
 *
 * Header options: the leading block of blank and "--" comment lines may hold lines
 *     -- stopstart: no-transaction
 * whose payload is a comma-separated list of option words. A payload that is free text (it has
 * a space or another non-option character, e.g. "-- stopstart: initial schema") is a title and
 * ignored, unless it spells a known option differently ("No Transaction"), which is an error, as
 * are unknown option words, options in a verify script, and option lines after the header.
 * Options:
 *     no-transaction   run the script's statements one by one outside a transaction; the
 *                      version row is marked dirty before and applied after, so a failure
 *                      leaves a dirty row (the only way to get one).
 *
 * Checksums are SHA-256 (lower-case hex) of the normalised text: a leading UTF-8 BOM removed,
 * CRLF and lone CR turned into LF, a final LF added when missing. The SQL that runs is that same
 * normalised text, so line numbers match the file. migrations/gen-migrations.py implements the
 * same rules for the embedded set; tests/unit/test-migration.c keeps the two in step. */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "sql-split.h"
#include "string-table.h"

#define MIGRATION_CHECKSUM_HEX_LEN 64
#define MIGRATION_VERSION_MAX 9999U

typedef enum MigrationScriptKind {
        MIGRATION_UP,
        MIGRATION_DOWN,
        MIGRATION_VERIFY,
        _MIGRATION_SCRIPT_KIND_MAX,
        _MIGRATION_SCRIPT_KIND_INVALID = -EINVAL,
} MigrationScriptKind;

DECLARE_STRING_TABLE_LOOKUP(migration_script_kind, MigrationScriptKind);

typedef enum MigrationFlags {
        MIGRATION_NO_TRANSACTION = 1 << 0,
} MigrationFlags;

typedef struct MigrationScript {
        bool present;
        char *file;          /* shown in messages: "migrations/0001_initial.up.sql" or a real path */
        char *sql;           /* normalised text */
        char checksum[MIGRATION_CHECKSUM_HEX_LEN + 1];
        MigrationFlags flags;
        SqlStatement *statements;
        size_t n_statements;
} MigrationScript;

typedef struct Migration {
        unsigned version;
        char *slug;          /* "initial" */
        char *name;          /* "0001_initial" */
        MigrationScript scripts[_MIGRATION_SCRIPT_KIND_MAX];
} Migration;

typedef struct MigrationSet {
        Migration *migrations;   /* ascending by version */
        size_t n_migrations;
        char *origin;            /* "embedded" or the directory */
        char *snapshot;          /* canonical description of head's schema (schema.snapshot), or NULL */
        char *declared;          /* the declared schema, DDL (schema.sql), or NULL */
} MigrationSet;

/* "0001_initial.up.sql" -> 1, "initial", MIGRATION_UP. -EINVAL if the name does not match. */
int migration_parse_filename(const char *filename, unsigned *ret_version, char **ret_slug,
                             MigrationScriptKind *ret_kind);

/* Normalises data (see above) into a new NUL-terminated string. -EINVAL if data holds a NUL. */
int migration_normalize(const char *data, size_t size, char **ret);

/* SHA-256 hex of the normalised form of data. */
int migration_checksum(const char *data, size_t size, char ret[static MIGRATION_CHECKSUM_HEX_LEN + 1]);

/* Parses the header options of normalised text. On -EINVAL, *error (if given) gets
 * "LINE: reason" (freed by the caller); it is left alone on success. */
int migration_parse_header(const char *text, MigrationScriptKind kind, MigrationFlags *ret_flags, char **error);

/* Reads every migration in dir. On failure returns a negative errno and sets *error (if given)
 * to a one-line message naming the file ("dir/0002_x.up.sql: no matching .down.sql"). */
int migration_set_load_dir(const char *dir, MigrationSet **ret, char **error);

/* The set embedded at build time (the migrations/ directory of the source tree). Runs the same checks as
 * migration_set_load_dir (statement splitting, transaction control), so a broken embedded
 * script is reported, not run. */
int migration_set_load_embedded(MigrationSet **ret, char **error);

/* Builds a set from in-memory scripts (used by the two loaders and by tests). Takes the texts
 * as read from files (not yet normalised). */
typedef struct MigrationSource {
        const char *filename;    /* base name, "0001_initial.up.sql" */
        const char *display;     /* name used in messages */
        const char *data;
        size_t size;
} MigrationSource;
int migration_set_build(const MigrationSource *sources, size_t n, const char *origin, const char *snapshot,
                        MigrationSet **ret, char **error);

MigrationSet *migration_set_free(MigrationSet *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(MigrationSet*, migration_set_free);

const Migration *migration_set_find(const MigrationSet *s, unsigned version);
/* Highest version, 0 for an empty set. */
unsigned migration_set_head(const MigrationSet *s);

/* "Add foo, bar!" -> "add_foo_bar"; at most 48 characters. -EINVAL if nothing is left. */
int migration_slugify(const char *description, char **ret);

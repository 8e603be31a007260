/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The interface of the generated migrations-data.c (written at build time by
 * gen-migrations.py from the migrations/ directory and migrations/schema.snapshot). Only migration.c and
 * the unit tests look at it; everything else uses migration_set_load_embedded(). */

#include <stddef.h>

typedef struct EmbeddedMigrationScript {
        unsigned version;
        unsigned kind;            /* MigrationScriptKind */
        const char *filename;     /* "0001_initial.up.sql" */
        const char *sql;          /* normalised text */
        size_t size;
        const char *checksum;     /* SHA-256 hex of sql, computed by the generator */
        unsigned flags;           /* MigrationFlags, parsed by the generator */
} EmbeddedMigrationScript;

/* Sorted by (version, kind). */
extern const EmbeddedMigrationScript embedded_migration_scripts[];
extern const size_t embedded_migration_scripts_count;
/* migrations/schema.snapshot, or NULL when the source tree has none. */
extern const char *const embedded_schema_snapshot;
/* migrations/schema.sql (the declared schema autogenerate works from), or NULL. */
extern const char *const embedded_declared_schema;

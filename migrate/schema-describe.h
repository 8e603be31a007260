/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A canonical, comparable description of one schema, read from the catalogs: one object per
 * schema, table (and view, matview, foreign table), column, constraint, index, sequence,
 * function/procedure/aggregate, trigger, type (enum, domain, composite, range), policy and rule,
 * each with a definition string (pg_get_*def() output or type/nullability/default/identity for
 * columns), and one "comment" object per comment, named "KIND NAME" after the object it is on
 * ("column stopstart.jobs.id"). Column order, owners, privileges and statistics are left out. Definitions
 * are read with search_path = pg_catalog, so names outside pg_catalog always come qualified.
 *
 * Two descriptions are equal when the schemas would behave the same. The text form (the
 * committed migrations/schema.snapshot) is:
 *
 *     -- head: 0001_initial          metadata lines first ("-- key: value"), other -- lines ignored
 *     -- server: 15
 *     column stopstart.jobs.id       a record: kind, one space, name
 *         bigint not null generated always as identity
 *                                    definition lines, each indented by four spaces
 */

#include <libpq-fe.h>
#include <stddef.h>

#include "macro.h"

typedef struct SchemaObject {
        char *kind;              /* "table", "column", ... (no spaces) */
        char *name;              /* "stopstart.jobs.id" */
        char *definition;        /* may be multi-line; never ends in a newline */
} SchemaObject;

typedef struct SchemaDescription {
        SchemaObject *objects;   /* sorted by (kind, name), byte order */
        size_t n_objects;
        char *head;              /* text form only: "-- head:" value, else NULL */
        int server_major;        /* server major version it was read from (0 if unknown) */
} SchemaDescription;

typedef struct SchemaDifference {
        const char *kind;
        const char *name;
        const char *expected;    /* NULL: the object is not defined by the migrations */
        const char *actual;      /* NULL: the object is missing from the database */
} SchemaDifference;

SchemaDescription *schema_description_free(SchemaDescription *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(SchemaDescription*, schema_description_free);

/* Reads the description of schema from conn (a description with no objects when the schema
 * does not exist). Runs in its own transaction when conn is idle (read only), inside the
 * current one otherwise. On failure *error gets the server's message. */
int schema_describe(PGconn *conn, const char *schema, SchemaDescription **ret, char **error);

/* Text form; head may be NULL. */
int schema_description_format(const SchemaDescription *d, const char *head, char **ret);
int schema_description_parse(const char *text, SchemaDescription **ret, char **error);

/* Objects that differ, are missing or are extra, in (kind, name) order; pointers refer into
 * expected and actual, which must outlive the result. */
int schema_diff(const SchemaDescription *expected, const SchemaDescription *actual,
                SchemaDifference **ret, size_t *ret_n);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Autogenerate: the SQL that turns a schema described by one SchemaDescription into the schema
 * described by another (Alembic's `revision --autogenerate`, from catalog descriptions instead of
 * models). Objects are created, altered or dropped in an order that respects their dependencies:
 * drops from the most dependent (triggers, views, policies, foreign keys) to the least (tables,
 * types, schemas), then creates the other way round.
 *
 * Covered: schemas; tables (persistence, row level security); columns (type and collation,
 * nullability, default, identity; generated columns are re-added); primary key, unique,
 * foreign key, check and exclusion constraints, of tables and of domains; indexes; sequences
 * (not those of identity columns); views and materialized views; functions and procedures,
 * triggers, rules and policies as whole objects; enum, domain, composite and range types;
 * comments. What catalogs cannot decide is written as a comment starting with "-- REVIEW:" at
 * the spot, and counted: a table or column dropped while another with the same definition is
 * added (a rename, which as written loses the data), a column type change (a USING clause may
 * be needed), a new NOT NULL column without a default on an existing table, partitioning or
 * inheritance changes, enum labels removed or reordered, aggregates. */

#include <stddef.h>

#include "schema-describe.h"

/* *ret_sql: statements, each ending in ";\n", with blank lines between groups; "" when the two
 * descriptions are equal. *ret_reviews: the number of "-- REVIEW:" comments in it. */
int schema_autogen(const SchemaDescription *from, const SchemaDescription *to, char **ret_sql,
                   unsigned *ret_reviews);

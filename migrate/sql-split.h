/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Splits a SQL script into top-level statements the way psql does, so each statement can be sent
 * on its own: that is what lets a no-transaction migration run CREATE INDEX CONCURRENTLY (a
 * multi-statement string is one implicit transaction), and what lets an error be reported with
 * the file's line number even when the server gives no position.
 *
 * Understood: -- and nested block comments, '…' and E'…' strings, "…" identifiers, $tag$…$tag$
 * bodies, and psql-style COPY … FROM stdin data blocks terminated by a "\." line (pg_restore
 * emits those). A line starting with a backslash where a statement would start is returned as a
 * psql meta-command (meta = true; pg_dump writes \restrict lines); callers refuse or skip them.
 * Not understood: SQL-standard BEGIN ATOMIC bodies (their inner semicolons split the statement;
 * the server then reports a syntax error). */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef struct SqlStatement {
        size_t offset;      /* first byte of the statement's first token */
        size_t length;      /* up to and including the terminating ';' (if any) */
        unsigned line;      /* 1-based line of offset */
        size_t copy_offset; /* COPY … FROM stdin: the data rows (without the "\." line) */
        size_t copy_length;
        bool copy_in;
        bool meta;          /* a psql backslash command line ("\\restrict KEY"), not SQL */
} SqlStatement;

/* Splits text (NUL-terminated). Empty statements (only blanks and comments) are skipped.
 * Returns -EINVAL for an unterminated string, identifier, comment, dollar body or COPY block,
 * with *ret_error_line set to the line where it started. */
int sql_split(const char *text, SqlStatement **ret, size_t *ret_n, unsigned *ret_error_line);

/* The first keyword of the statement, upper-cased, into buf (e.g. "CREATE"). */
void sql_statement_keyword(const char *text, const SqlStatement *s, unsigned nth, char *buf, size_t size);

/* True for BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK (not ROLLBACK TO), ABORT, PREPARE
 * TRANSACTION, COMMIT/ROLLBACK PREPARED. */
bool sql_statement_is_transaction_control(const char *text, const SqlStatement *s);

/* Translates a 1-based character position reported by the server (PG_DIAG_STATEMENT_POSITION,
 * counted in characters of the UTF-8 statement) into the file's 1-based line number. */
unsigned sql_statement_line_of_position(const char *text, const SqlStatement *s, unsigned position);

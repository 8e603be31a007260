/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Output for every stopstartctl verb: one Table object renders either human columns or JSON
 * (systemd's format-table, in small), so a verb builds its data once.
 *
 *   _cleanup_(table_freep) Table *t = table_new("version", "name", "state", NULL);
 *   table_add_int(t, 1); table_add_string(t, "0001_initial"); table_add_string(t, "applied");
 *   table_set_footer(t, "%zu migrations.", n);
 *   return table_print(t, &arg_output);
 *
 * Human: a header of the upper-cased column names ('_' shown as ' ') unless --no-legend, columns
 * two spaces apart, numbers right-aligned, NULL cells as "-", booleans as yes/no, then the footer
 * (or the empty text when there are no rows) unless --no-legend. JSON: an array of objects whose
 * keys are the column names exactly (the stable field names), with typed values (numbers,
 * true/false, null). A vertical table (table_new_vertical) renders "Label: value" lines and a
 * single JSON object.
 *
 * Human output escapes control characters in cells (text_escape below) and, on a terminal without a
 * pager, ellipsizes the widest columns to fit its width unless --full.
 *
 * Long human output on a terminal goes through a pager (pager_open: $STOPSTART_PAGER, else
 * $SYSTEMD_PAGER, else $PAGER, else "less"; "" or "cat" disables it; never when $TERM is unset or
 * "dumb") unless --no-pager. less gets LESS=FRSXMK ($SYSTEMD_LESS replaces it), as systemd does. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "string-table.h"
#include "utf8.h"

#ifndef _sentinel_
#define _sentinel_ __attribute__((sentinel))
#endif

typedef enum JsonFormat {
        JSON_FORMAT_OFF,
        JSON_FORMAT_PRETTY,
        JSON_FORMAT_SHORT,
        _JSON_FORMAT_MAX,
        _JSON_FORMAT_INVALID = -EINVAL,
} JsonFormat;
DECLARE_STRING_TABLE_LOOKUP(json_format, JsonFormat);

typedef struct OutputFlags {
        JsonFormat json;
        bool legend;             /* header and footer lines in human output */
        bool pager;              /* allow a pager on a terminal */
        bool full;               /* --full: never ellipsize */
        size_t width;            /* human output fits this many columns; 0: the terminal's, when
                                  * stdout is one and no pager runs (as systemctl), else unlimited */
} OutputFlags;

#define OUTPUT_FLAGS_DEFAULT ((OutputFlags) { .json = JSON_FORMAT_OFF, .legend = true, .pager = true })

/* ---- text for a terminal ---------------------------------------------------------------------
 *
 * Names and notes come from OCI and from users: before they reach a terminal, control characters
 * are escaped the way systemd's cescape() does ("\n", "\t", "\x1b"; also DEL, the C1 controls
 * U+0080…U+009F and bytes that are not UTF-8), so that they can neither run escape sequences nor
 * split a row. Printable UTF-8 stays as it is. JSON output is never escaped this way. */

/* Whether s needs text_escape() (a cheap check for the common case). */
bool text_needs_escape(const char *s);
/* A new string with every unsafe character escaped. */
char *text_escape(const char *s);
/* Terminal columns taken by s (valid UTF-8; wide characters count two). */
size_t text_width(const char *s);
/* A new string of at most width columns: s itself, or cut on a character boundary and ended with
 * an ellipsis ("…", or "..." when the locale is not UTF-8). */
char *text_ellipsize(const char *s, size_t width);
/* A name as given, for a one-line message: escaped, at most 120 columns (OCIDs stay whole). */
char *text_for_message(const char *s);

/* The locale's character set is UTF-8 (systemd's is_locale_utf8(): $SYSTEMD_UTF8 decides if set;
 * the plain C locale, unset by the environment, counts as UTF-8). Call setlocale(LC_CTYPE, "")
 * first. */
bool is_locale_utf8(void);
typedef enum Glyph {
        GLYPH_TREE_VERTICAL,     /* "│  " or "|  " */
        GLYPH_TREE_BRANCH,       /* "├─ " or "|- " */
        GLYPH_TREE_RIGHT,        /* "└─ " or "`- " */
        GLYPH_TREE_SPACE,        /* "   " */
        GLYPH_ARROW,             /* "→" or "->" */
        GLYPH_ELLIPSIS,          /* "…" or "..." */
        _GLYPH_MAX,
} Glyph;
const char *glyph(Glyph g);
/* Width of the terminal on stdout: $COLUMNS, else the tty's, else 80. */
size_t terminal_columns(void);

/* Parses the argument of --json[=MODE]: "pretty", "short" or "off"; NULL (bare --json) means
 * pretty on a terminal, short otherwise. */
int parse_json_argument(const char *s, JsonFormat *ret);

typedef struct Table Table;

/* Column names, NULL-terminated: they are the JSON keys. */
Table *table_new(const char *first_column, ...) _sentinel_;
/* Two columns, key and value: add rows with table_add_key() followed by one value cell. */
Table *table_new_vertical(void);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table*, table_free);

/* Cells are appended row by row, left to right. */
int table_add_string(Table *t, const char *s);          /* NULL: null cell */
int table_add_stringf(Table *t, const char *fmt, ...) _printf_(2, 3);
/* JSON text: embedded as a value in JSON output (not as a string), compact in human output. Text
 * that is not JSON is added as a string. */
int table_add_json(Table *t, const char *json_text);
int table_add_int(Table *t, int64_t v);
int table_add_bool(Table *t, bool b);
int table_add_null(Table *t);
/* Vertical tables: starts a row; json_key is the JSON key, label the human one (NULL: json_key). */
int table_add_key(Table *t, const char *json_key, const char *label);

/* Human header text of a column (default: upper-cased name). "" leaves the header blank. */
int table_set_header(Table *t, const char *column, const char *header);
/* Columns shown in human output, in this order (NULL-terminated names); default: all. */
int table_set_display(Table *t, const char *first_column, ...) _sentinel_;
/* Columns that are left out of the JSON (human decoration only). */
int table_hide_from_json(Table *t, const char *column);
int table_set_footer(Table *t, const char *fmt, ...) _printf_(2, 3);
int table_set_empty_text(Table *t, const char *text);

size_t table_get_rows(const Table *t);
/* The table as JSON (array, or object for vertical tables); new reference. */
json_object *table_to_json(const Table *t);
/* Renders to stdout in the form flags ask for. */
int table_print(const Table *t, const OutputFlags *flags);

/* Prints a JSON value in the requested form (pretty/short) on stdout. */
int output_json(json_object *j, const OutputFlags *flags);

/* Starts the pager when stdout is a terminal and flags allow it; pager_close() flushes, closes
 * the pipe and waits. Both are no-ops when no pager runs. */
void pager_open(const OutputFlags *flags);
void pager_close(void);
bool pager_have(void);
/* The pager command pager_open() would run (NULL: none, as with "" or "cat"), from the
 * environment; and whether $TERM rules a pager out. For tests and pager_open(). */
const char *pager_command(void);
bool terminal_is_dumb(void);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

#include "ctl-output.h"
#include "json-util.h"
#include "strv.h"

static const char * const json_format_table[_JSON_FORMAT_MAX] = {
        [JSON_FORMAT_OFF] = "off",
        [JSON_FORMAT_PRETTY] = "pretty",
        [JSON_FORMAT_SHORT] = "short",
};
DEFINE_STRING_TABLE_LOOKUP(json_format, JsonFormat);

int parse_json_argument(const char *s, JsonFormat *ret) {
        JsonFormat f;

        assert(ret);
        if (!s) {
                *ret = isatty(STDOUT_FILENO) ? JSON_FORMAT_PRETTY : JSON_FORMAT_SHORT;
                return 0;
        }
        f = json_format_from_string(s);
        if (f < 0)
                return -EINVAL;
        *ret = f;
        return 0;
}

typedef enum CellType {
        CELL_NULL,
        CELL_STRING,
        CELL_INT,
        CELL_BOOL,
        CELL_JSON,              /* string holds the JSON text; JSON output embeds the value */
} CellType;

typedef struct Cell {
        CellType type;
        char *string;
        int64_t integer;
        bool boolean;
} Cell;

typedef struct Column {
        char *name;
        char *header;
        bool hidden_from_json;
} Column;

struct Table {
        Column *columns;
        size_t n_columns;
        Cell *cells;
        size_t n_cells, allocated;
        bool vertical;
        char **keys;             /* vertical: JSON key per row */
        size_t *display;         /* human column order */
        size_t n_display;
        char *footer;
        char *empty_text;
};

static char *default_header(const char *name) {
        char *h = strdup(name);
        if (h)
                for (char *p = h; *p; p++)
                        *p = *p == '_' ? ' ' : (char) toupper((unsigned char) *p);
        return h;
}

static Table *table_new_columns(char **names) {
        Table *t = new0(Table, 1);
        size_t n = strv_length(names);

        if (!t)
                return NULL;
        t->columns = new0(Column, n);
        t->display = new0(size_t, n);
        if (!t->columns || !t->display)
                return table_free(t);
        for (size_t i = 0; i < n; i++) {
                t->columns[i].name = strdup(names[i]);
                t->columns[i].header = default_header(names[i]);
                t->n_columns++;
                if (!t->columns[i].name || !t->columns[i].header)
                        return table_free(t);
                t->display[i] = i;
        }
        t->n_display = n;
        return t;
}

Table *table_new(const char *first_column, ...) {
        _cleanup_strv_free_ char **names = NULL;
        va_list ap;

        va_start(ap, first_column);
        for (const char *c = first_column; c; c = va_arg(ap, const char*))
                if (strv_extend(&names, c) < 0) {
                        va_end(ap);
                        return NULL;
                }
        va_end(ap);
        if (!names)
                return NULL;
        return table_new_columns(names);
}

Table *table_new_vertical(void) {
        Table *t = table_new("key", "value", NULL);
        if (t)
                t->vertical = true;
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_columns; i++) {
                free(t->columns[i].name);
                free(t->columns[i].header);
        }
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i].string);
        free(t->columns);
        free(t->cells);
        strv_free(t->keys);
        free(t->display);
        free(t->footer);
        free(t->empty_text);
        return mfree(t);
}

static int table_add_cell(Table *t, Cell c) {
        assert(t);
        if (t->n_cells == t->allocated) {
                size_t na = MAX(t->allocated * 2, (size_t) 32);
                Cell *m = realloc(t->cells, na * sizeof(Cell));
                if (!m) {
                        free(c.string);
                        return -ENOMEM;
                }
                t->cells = m;
                t->allocated = na;
        }
        t->cells[t->n_cells++] = c;
        return 0;
}

int table_add_string(Table *t, const char *s) {
        char *d;
        if (!s)
                return table_add_null(t);
        d = strdup(s);
        if (!d)
                return -ENOMEM;
        return table_add_cell(t, (Cell) { .type = CELL_STRING, .string = d });
}

int table_add_stringf(Table *t, const char *fmt, ...) {
        va_list ap;
        char *s;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return table_add_cell(t, (Cell) { .type = CELL_STRING, .string = s });
}

int table_add_json(Table *t, const char *json_text) {
        _cleanup_json_ json_object *j = NULL;
        char *d;

        if (!json_text)
                return table_add_null(t);
        j = json_tokener_parse(json_text);
        if (!j)
                return table_add_string(t, json_text);
        d = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!d)
                return -ENOMEM;
        return table_add_cell(t, (Cell) { .type = CELL_JSON, .string = d });
}

int table_add_int(Table *t, int64_t v) {
        return table_add_cell(t, (Cell) { .type = CELL_INT, .integer = v });
}

int table_add_bool(Table *t, bool b) {
        return table_add_cell(t, (Cell) { .type = CELL_BOOL, .boolean = b });
}

int table_add_null(Table *t) {
        return table_add_cell(t, (Cell) { .type = CELL_NULL });
}

int table_add_key(Table *t, const char *json_key, const char *label) {
        int r;

        assert(t);
        assert(t->vertical);
        assert(t->n_cells % 2 == 0);
        r = strv_extend(&t->keys, json_key);
        if (r < 0)
                return r;
        return table_add_string(t, label ?: json_key);
}

static ssize_t column_index(const Table *t, const char *name) {
        for (size_t i = 0; i < t->n_columns; i++)
                if (streq(t->columns[i].name, name))
                        return (ssize_t) i;
        return -ENOENT;
}

int table_set_header(Table *t, const char *column, const char *header) {
        ssize_t i = column_index(t, column);
        char *h;

        if (i < 0)
                return (int) i;
        h = strdup(header);
        if (!h)
                return -ENOMEM;
        free(t->columns[i].header);
        t->columns[i].header = h;
        return 0;
}

int table_set_display(Table *t, const char *first_column, ...) {
        va_list ap;
        size_t n = 0;
        int r = 0;

        va_start(ap, first_column);
        for (const char *c = first_column; c; c = va_arg(ap, const char*)) {
                ssize_t i = column_index(t, c);
                if (i < 0 || n >= t->n_columns) {
                        r = -EINVAL;
                        break;
                }
                t->display[n++] = (size_t) i;
        }
        va_end(ap);
        if (r < 0)
                return r;
        t->n_display = n;
        return 0;
}

int table_hide_from_json(Table *t, const char *column) {
        ssize_t i = column_index(t, column);
        if (i < 0)
                return (int) i;
        t->columns[i].hidden_from_json = true;
        return 0;
}

int table_set_footer(Table *t, const char *fmt, ...) {
        va_list ap;
        char *s;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        free(t->footer);
        t->footer = s;
        return 0;
}

int table_set_empty_text(Table *t, const char *text) {
        char *s = strdup(text);
        if (!s)
                return -ENOMEM;
        free(t->empty_text);
        t->empty_text = s;
        return 0;
}

size_t table_get_rows(const Table *t) {
        return t->n_columns > 0 ? t->n_cells / t->n_columns : 0;
}

static json_object *cell_to_json(const Cell *c) {
        switch (c->type) {
        case CELL_STRING:
                return json_object_new_string(c->string);
        case CELL_INT:
                return json_object_new_int64(c->integer);
        case CELL_BOOL:
                return json_object_new_boolean(c->boolean);
        case CELL_JSON:
                return json_tokener_parse(c->string);
        default:
                return NULL;
        }
}

json_object *table_to_json(const Table *t) {
        size_t rows = table_get_rows(t);
        json_object *j;

        if (t->vertical) {
                j = json_object_new_object();
                for (size_t r = 0; j && r < rows; r++)
                        json_object_object_add(j, t->keys[r], cell_to_json(&t->cells[r * 2 + 1]));
                return j;
        }

        j = json_object_new_array();
        for (size_t r = 0; j && r < rows; r++) {
                json_object *o = json_object_new_object();
                if (!o)
                        return json_object_unref(j);
                for (size_t c = 0; c < t->n_columns; c++)
                        if (!t->columns[c].hidden_from_json)
                                json_object_object_add(o, t->columns[c].name,
                                                       cell_to_json(&t->cells[r * t->n_columns + c]));
                json_object_array_add(j, o);
        }
        return j;
}


/* ---- text for a terminal --------------------------------------------------------------------------- */

static bool codepoint_is_control(uint32_t c) {
        return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

bool text_needs_escape(const char *s) {
        uint32_t c;

        while (*s) {
                int l = utf8_decode(s, &c);
                if (l < 0 || codepoint_is_control(c))
                        return true;
                s += l;
        }
        return false;
}

static char *escape_bytes(char *out, const unsigned char *p, size_t n) {
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                const char *named = NULL;
                switch (p[i]) {
                case '\a': named = "\\a"; break;
                case '\b': named = "\\b"; break;
                case '\f': named = "\\f"; break;
                case '\n': named = "\\n"; break;
                case '\r': named = "\\r"; break;
                case '\t': named = "\\t"; break;
                case '\v': named = "\\v"; break;
                }
                if (named)
                        out = stpcpy(out, named);
                else {
                        *out++ = '\\';
                        *out++ = 'x';
                        *out++ = hex[p[i] >> 4];
                        *out++ = hex[p[i] & 15];
                }
        }
        return out;
}

char *text_escape(const char *s) {
        char *buf, *out;
        uint32_t c;

        /* At most four output bytes per input byte ("\xNN"). */
        buf = out = malloc(strlen(s) * 4 + 1);
        if (!buf)
                return NULL;
        while (*s) {
                int l = utf8_decode(s, &c);
                if (l < 0)
                        out = escape_bytes(out, (const unsigned char *) s++, 1);
                else if (codepoint_is_control(c)) {
                        out = escape_bytes(out, (const unsigned char *) s, (size_t) l);
                        s += l;
                } else {
                        memcpy(out, s, (size_t) l);
                        out += l;
                        s += l;
                }
        }
        *out = 0;
        return buf;
}

static size_t codepoint_width(uint32_t c) {
        int w;

        if (c < 0x80)
                return 1;
        /* wcwidth() knows wide and combining characters in a UTF-8 locale; elsewhere count one. */
        w = wcwidth((wchar_t) c);
        return w < 0 ? 1 : (size_t) w;
}

size_t text_width(const char *s) {
        size_t w = 0;
        uint32_t c;

        while (*s) {
                int l = utf8_decode(s, &c);
                if (l < 0) {
                        w++;
                        s++;
                        continue;
                }
                w += codepoint_width(c);
                s += l;
        }
        return w;
}

char *text_ellipsize(const char *s, size_t width) {
        const char *ellipsis = glyph(GLYPH_ELLIPSIS);
        size_t ew = text_width(ellipsis), w = 0;
        const char *p = s, *cut = NULL;
        uint32_t c;
        char *out;

        if (text_width(s) <= width)
                return strdup(s);
        if (width <= ew)
                return strndup(ellipsis, width);
        /* The longest prefix, whole characters only, that leaves room for the ellipsis. */
        while (*p) {
                int l = utf8_decode(p, &c);
                size_t cw = l < 0 ? 1 : codepoint_width(c);
                if (l < 0)
                        l = 1;
                if (w + cw > width - ew)
                        break;
                w += cw;
                p += l;
        }
        cut = p;
        out = malloc((size_t) (cut - s) + strlen(ellipsis) + 1);
        if (!out)
                return NULL;
        memcpy(out, s, (size_t) (cut - s));
        strcpy(out + (cut - s), ellipsis);
        return out;
}

char *text_for_message(const char *s) {
        _cleanup_free_ char *e = text_escape(s);
        return e ? text_ellipsize(e, 120) : NULL;
}

static int env_boolean(const char *name) {
        const char *v = getenv(name);

        if (!v)
                return -ENOENT;
        static const char * const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char * const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

bool is_locale_utf8(void) {
        const char *set;
        int b;

        b = env_boolean("SYSTEMD_UTF8");
        if (b >= 0)
                return b;
        set = nl_langinfo(CODESET);
        if (!set || streq(set, "UTF-8"))
                return true;
        /* The C locale that nobody asked for: everything speaks UTF-8 nowadays. Asked for, it is
         * respected. */
        set = setlocale(LC_CTYPE, NULL);
        return !set || ((streq(set, "C") || streq(set, "POSIX")) && !getenv("LC_ALL") && !getenv("LC_CTYPE") &&
                        !getenv("LANG"));
}

const char *glyph(Glyph g) {
        static const char * const utf8[_GLYPH_MAX] = {
                [GLYPH_TREE_VERTICAL] = "│  ",
                [GLYPH_TREE_BRANCH]   = "├─ ",
                [GLYPH_TREE_RIGHT]    = "└─ ",
                [GLYPH_TREE_SPACE]    = "   ",
                [GLYPH_ARROW]         = "→",
                [GLYPH_ELLIPSIS]      = "…",
        };
        static const char * const ascii[_GLYPH_MAX] = {
                [GLYPH_TREE_VERTICAL] = "|  ",
                [GLYPH_TREE_BRANCH]   = "|- ",
                [GLYPH_TREE_RIGHT]    = "`- ",
                [GLYPH_TREE_SPACE]    = "   ",
                [GLYPH_ARROW]         = "->",
                [GLYPH_ELLIPSIS]      = "...",
        };
        assert(g >= 0 && g < _GLYPH_MAX);
        return is_locale_utf8() ? utf8[g] : ascii[g];
}

size_t terminal_columns(void) {
        const char *e = getenv("COLUMNS");
        struct winsize ws = {};

        if (e) {
                char *end;
                unsigned long v;
                errno = 0;
                v = strtoul(e, &end, 10);
                if (errno == 0 && *e && !*end && v > 0 && v < 100000)
                        return (size_t) v;
        }
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0 && ws.ws_col > 0)
                return ws.ws_col;
        return 80;
}

/* The columns human output must fit in; SIZE_MAX: no limit. */
static size_t output_width(const OutputFlags *flags) {
        if (flags->full)
                return SIZE_MAX;
        if (flags->width > 0)
                return flags->width;
        if (pager_have() || !isatty(STDOUT_FILENO))
                return SIZE_MAX;
        return terminal_columns();
}

static const char *cell_text(const Cell *c, char buf[static 32]) {
        switch (c->type) {
        case CELL_STRING:
        case CELL_JSON:
                return c->string;
        case CELL_INT:
                snprintf(buf, 32, "%" PRIi64, c->integer);
                return buf;
        case CELL_BOOL:
                return c->boolean ? "yes" : "no";
        default:
                return "-";
        }
}

static void print_padded(const char *s, size_t width, bool right, bool last) {
        size_t w = text_width(s);
        if (right)
                for (size_t i = w; i < width; i++)
                        fputc(' ', stdout);
        fputs(s, stdout);
        if (!right && !last)
                for (size_t i = w; i < width; i++)
                        fputc(' ', stdout);
}

/* Every cell as it is shown: escaped (strings only: numbers, booleans and "-" are ours). */
static char **render_cells(const Table *t) {
        char **text = new0(char*, t->n_cells + 1);
        char buf[32];

        if (!text)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++) {
                const Cell *c = &t->cells[i];
                text[i] = (c->type == CELL_STRING || c->type == CELL_JSON) ? text_escape(c->string) : strdup(cell_text(c, buf));
                if (!text[i])
                        return strv_free(text);
        }
        return text;
}

/* Replaces text with its ellipsized form when it is wider than width. */
static int fit(char **text, size_t width) {
        char *e;

        if (text_width(*text) <= width)
                return 0;
        e = text_ellipsize(*text, width);
        if (!e)
                return -ENOMEM;
        free(*text);
        *text = e;
        return 0;
}

static int print_vertical(const Table *t, const OutputFlags *flags) {
        size_t rows = table_get_rows(t), width = 0, avail = output_width(flags);
        _cleanup_strv_free_ char **text = render_cells(t);

        if (!text)
                return -ENOMEM;
        for (size_t r = 0; r < rows; r++)
                width = MAX(width, text_width(text[r * 2]));
        for (size_t r = 0; r < rows; r++) {
                char **v = &text[r * 2 + 1];
                /* Keep at least a readable stub of the value when labels are wide. */
                if (avail != SIZE_MAX && fit(v, MAX(avail > width + 2 ? avail - width - 2 : 0, (size_t) 16)) < 0)
                        return -ENOMEM;
                print_padded(text[r * 2], width, true, false);
                /* A list's further values have no label: no colon either, as in systemctl status. */
                fputs(isempty(text[r * 2]) ? "  " : ": ", stdout);
                fputs(*v, stdout);
                fputc('\n', stdout);
        }
        if (flags->legend && t->footer)
                printf("\n%s\n", t->footer);
        return 0;
}

/* Narrows the widest displayed columns, one column at a time, until the line fits avail (or
 * nothing is wider than min_width), as systemd's format-table does on a terminal. */
static void shrink_columns(const Table *t, size_t *width, size_t avail) {
        const size_t min_width = 8;
        size_t total = 0;

        for (size_t k = 0; k < t->n_display; k++)
                total += width[t->display[k]] + (k > 0 ? 2 : 0);
        while (total > avail) {
                size_t widest = SIZE_MAX;
                for (size_t k = 0; k < t->n_display; k++) {
                        size_t c = t->display[k];
                        if (width[c] > min_width && (widest == SIZE_MAX || width[c] > width[widest]))
                                widest = c;
                }
                if (widest == SIZE_MAX)
                        return;
                width[widest]--;
                total--;
        }
}

int table_print(const Table *t, const OutputFlags *flags) {
        size_t rows = table_get_rows(t), avail;
        _cleanup_free_ size_t *width = NULL;
        _cleanup_free_ bool *right = NULL;
        _cleanup_strv_free_ char **text = NULL;
        int r;

        assert(t);
        assert(flags);

        if (flags->json != JSON_FORMAT_OFF) {
                _cleanup_json_ json_object *j = table_to_json(t);
                if (!j)
                        return -ENOMEM;
                return output_json(j, flags);
        }

        if (t->vertical) {
                r = print_vertical(t, flags);
                if (r < 0)
                        return r;
                return fflush(stdout) == 0 ? 0 : -EIO;
        }

        if (rows == 0) {
                if (flags->legend && t->empty_text)
                        printf("%s\n", t->empty_text);
                return fflush(stdout) == 0 ? 0 : -EIO;
        }

        text = render_cells(t);
        width = new0(size_t, t->n_columns);
        right = new0(bool, t->n_columns);
        if (!text || !width || !right)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_columns; c++) {
                bool numeric = false, other = false;
                if (flags->legend)
                        width[c] = text_width(t->columns[c].header);
                for (size_t row = 0; row < rows; row++) {
                        const Cell *cell = &t->cells[row * t->n_columns + c];
                        width[c] = MAX(width[c], text_width(text[row * t->n_columns + c]));
                        if (cell->type == CELL_INT)
                                numeric = true;
                        else if (cell->type != CELL_NULL)
                                other = true;
                }
                right[c] = numeric && !other;
        }
        avail = output_width(flags);
        if (avail != SIZE_MAX)
                shrink_columns(t, width, avail);

        if (flags->legend) {
                for (size_t k = 0; k < t->n_display; k++) {
                        size_t c = t->display[k];
                        _cleanup_free_ char *h = text_ellipsize(t->columns[c].header, width[c]);
                        if (!h)
                                return -ENOMEM;
                        if (k > 0)
                                fputs("  ", stdout);
                        print_padded(h, width[c], right[c], k + 1 == t->n_display);
                }
                fputc('\n', stdout);
        }
        for (size_t row = 0; row < rows; row++) {
                for (size_t k = 0; k < t->n_display; k++) {
                        size_t c = t->display[k];
                        char **cell = &text[row * t->n_columns + c];
                        if (fit(cell, width[c]) < 0)
                                return -ENOMEM;
                        if (k > 0)
                                fputs("  ", stdout);
                        print_padded(*cell, width[c], right[c], k + 1 == t->n_display);
                }
                fputc('\n', stdout);
        }
        if (flags->legend && t->footer)
                printf("\n%s\n", t->footer);
        return fflush(stdout) == 0 ? 0 : -EIO;
}

int output_json(json_object *j, const OutputFlags *flags) {
        int f = flags->json == JSON_FORMAT_PRETTY ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                                  : JSON_C_TO_STRING_PLAIN;
        const char *s = json_object_to_json_string_ext(j, f | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!s)
                return -ENOMEM;
        puts(s);
        return fflush(stdout) == 0 ? 0 : -EIO;
}

static pid_t pager_pid = 0;

bool pager_have(void) {
        return pager_pid > 0;
}

bool terminal_is_dumb(void) {
        const char *term = getenv("TERM");
        return isempty(term) || streq(term, "dumb");
}

const char *pager_command(void) {
        const char *pager = getenv("STOPSTART_PAGER");

        if (!pager)
                pager = getenv("SYSTEMD_PAGER");
        if (!pager)
                pager = getenv("PAGER");
        if (!pager)
                return "less";
        pager += strspn(pager, " \t");
        if (isempty(pager) || streq(pager, "cat"))
                return NULL;
        return pager;
}

void pager_open(const OutputFlags *flags) {
        const char *pager;
        int fds[2];
        pid_t pid;

        /* A dumb terminal cannot run less (it would wait for RETURN even for one line). */
        if (pager_pid > 0 || !flags->pager || !isatty(STDOUT_FILENO) || terminal_is_dumb())
                return;
        pager = pager_command();
        if (!pager)
                return;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return;

        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                safe_close(fds[0]);
                safe_close(fds[1]);
                return;
        }
        if (pid == 0) {
                /* As systemd: -F quit if one screen, -R colours, -S chop long lines, -X keep the
                 * screen, -M long prompt, -K quit on ^C; $SYSTEMD_LESS replaces them. */
                const char *less = getenv("SYSTEMD_LESS");
                (void) setenv("LESS", less ?: "FRSXMK", 1);
                if (is_locale_utf8())
                        (void) setenv("LESSCHARSET", "utf-8", 0);
                if (dup2(fds[0], STDIN_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                if (!streq(pager, "less")) {
                        execl("/bin/sh", "sh", "-c", pager, (char *) NULL);
                        _exit(EXIT_FAILURE);
                }
                execlp("less", "less", (char *) NULL);
                /* No less: copy through, so the output is not lost. */
                execlp("cat", "cat", (char *) NULL);
                _exit(EXIT_FAILURE);
        }

        if (dup2(fds[1], STDOUT_FILENO) < 0) {
                safe_close(fds[0]);
                safe_close(fds[1]);
                return;
        }
        safe_close(fds[0]);
        safe_close(fds[1]);
        /* A pager that quits early must not kill us with SIGPIPE halfway through a migration. */
        (void) signal(SIGPIPE, SIG_IGN);
        pager_pid = pid;
}

void pager_close(void) {
        if (pager_pid <= 0)
                return;
        fflush(stdout);
        (void) fclose(stdout);
        while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        pager_pid = 0;
}

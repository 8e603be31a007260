/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

static const char *cell_text(const Cell *c, char buf[static 32]) {
        switch (c->type) {
        case CELL_STRING:
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

/* Terminal columns taken by s: UTF-8 lead bytes (good enough for the text we print). */
static size_t text_width(const char *s) {
        size_t w = 0;
        for (; *s; s++)
                if (((unsigned char) *s & 0xC0) != 0x80)
                        w++;
        return w;
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

static void print_vertical(const Table *t, const OutputFlags *flags) {
        size_t rows = table_get_rows(t), width = 0;
        char buf[32];

        for (size_t r = 0; r < rows; r++)
                width = MAX(width, text_width(t->cells[r * 2].string));
        for (size_t r = 0; r < rows; r++) {
                const char *v = cell_text(&t->cells[r * 2 + 1], buf);
                print_padded(t->cells[r * 2].string, width, true, false);
                fputs(": ", stdout);
                /* Continuation lines of a multi-line value line up under its first line. */
                for (const char *p = v; *p; ) {
                        const char *e = strchrnul(p, '\n');
                        fwrite(p, 1, (size_t) (e - p), stdout);
                        fputc('\n', stdout);
                        if (!*e)
                                break;
                        p = e + 1;
                        for (size_t i = 0; i < width + 2; i++)
                                fputc(' ', stdout);
                }
                if (!*v)
                        fputc('\n', stdout);
        }
        if (flags->legend && t->footer)
                printf("\n%s\n", t->footer);
}

int table_print(const Table *t, const OutputFlags *flags) {
        size_t rows = table_get_rows(t);
        _cleanup_free_ size_t *width = NULL;
        _cleanup_free_ bool *right = NULL;
        char buf[32];

        assert(t);
        assert(flags);

        if (flags->json != JSON_FORMAT_OFF) {
                _cleanup_json_ json_object *j = table_to_json(t);
                if (!j)
                        return -ENOMEM;
                return output_json(j, flags);
        }

        if (t->vertical) {
                print_vertical(t, flags);
                return fflush(stdout) == 0 ? 0 : -EIO;
        }

        if (rows == 0) {
                if (flags->legend && t->empty_text)
                        printf("%s\n", t->empty_text);
                return fflush(stdout) == 0 ? 0 : -EIO;
        }

        width = new0(size_t, t->n_columns);
        right = new0(bool, t->n_columns);
        if (!width || !right)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_columns; c++) {
                bool numeric = false, other = false;
                if (flags->legend)
                        width[c] = text_width(t->columns[c].header);
                for (size_t r = 0; r < rows; r++) {
                        const Cell *cell = &t->cells[r * t->n_columns + c];
                        width[c] = MAX(width[c], text_width(cell_text(cell, buf)));
                        if (cell->type == CELL_INT)
                                numeric = true;
                        else if (cell->type != CELL_NULL)
                                other = true;
                }
                right[c] = numeric && !other;
        }

        if (flags->legend) {
                for (size_t k = 0; k < t->n_display; k++) {
                        size_t c = t->display[k];
                        if (k > 0)
                                fputs("  ", stdout);
                        print_padded(t->columns[c].header, width[c], right[c], k + 1 == t->n_display);
                }
                fputc('\n', stdout);
        }
        for (size_t r = 0; r < rows; r++) {
                for (size_t k = 0; k < t->n_display; k++) {
                        size_t c = t->display[k];
                        if (k > 0)
                                fputs("  ", stdout);
                        print_padded(cell_text(&t->cells[r * t->n_columns + c], buf), width[c], right[c],
                                     k + 1 == t->n_display);
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

void pager_open(const OutputFlags *flags) {
        const char *pager;
        int fds[2];
        pid_t pid;

        if (pager_pid > 0 || !flags->pager || !isatty(STDOUT_FILENO))
                return;
        pager = getenv("STOPSTART_PAGER") ?: getenv("PAGER");
        if (pager && (isempty(pager) || streq(pager, "cat")))
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
                /* -F quit if one screen, -R colours, -S chop long lines, -X keep the screen,
                 * -M/-K long prompt and quit on ^C; the user's $LESS wins. */
                (void) setenv("LESS", "FRSXMK", 0);
                if (dup2(fds[0], STDIN_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                if (pager) {
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

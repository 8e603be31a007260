/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql-split.h"

static bool ident_char(char c) {
        return isalnum((unsigned char) c) || c == '_' || c == '$' || (unsigned char) c >= 0x80;
}

static bool tag_start_char(char c) {
        return isalpha((unsigned char) c) || c == '_' || (unsigned char) c >= 0x80;
}

/* At text[i] == '$': the length of a dollar-quote tag ("$$", "$body$"), or 0 if this is no tag. */
static size_t dollar_tag_length(const char *text, size_t i) {
        size_t j = i + 1;

        if (i > 0 && ident_char(text[i - 1]))
                return 0;                       /* part of an identifier like a$b */
        if (text[j] == '$')
                return 2;
        if (!tag_start_char(text[j]))
                return 0;                       /* $1 parameter or stray dollar */
        while (text[j] && text[j] != '$') {
                if (!ident_char(text[j]))
                        return 0;
                j++;
        }
        return text[j] == '$' ? j - i + 1 : 0;
}

/* Skips a comment at text[*i], counting lines. Returns 1 if one was skipped, 0 if there is none,
 * -EINVAL for an unterminated block comment. */
static int skip_comment(const char *text, size_t *i, unsigned *line) {
        size_t p = *i;

        if (text[p] == '-' && text[p + 1] == '-') {
                while (text[p] && text[p] != '\n')
                        p++;
                *i = p;
                return 1;
        }
        if (text[p] == '/' && text[p + 1] == '*') {
                unsigned depth = 1, l = *line;
                p += 2;
                while (depth > 0) {
                        if (!text[p])
                                return -EINVAL;
                        if (text[p] == '/' && text[p + 1] == '*') {
                                depth++;
                                p += 2;
                        } else if (text[p] == '*' && text[p + 1] == '/') {
                                depth--;
                                p += 2;
                        } else {
                                if (text[p] == '\n')
                                        l++;
                                p++;
                        }
                }
                *i = p;
                *line = l;
                return 1;
        }
        return 0;
}

static void skip_blanks(const char *text, size_t *i, unsigned *line) {
        while (text[*i] && isspace((unsigned char) text[*i])) {
                if (text[*i] == '\n')
                        (*line)++;
                (*i)++;
        }
}

/* Skips a quoted token starting at text[*i] ('…', E'…', "…" or a dollar body). Returns 1 if one
 * was skipped, 0 if text[*i] starts none, -EINVAL if it is unterminated. */
static int skip_quoted(const char *text, size_t *i, unsigned *line) {
        size_t p = *i;
        unsigned l = *line;
        char c = text[p];

        if (c == '\'' || c == '"') {
                bool backslash = c == '\'' && p > 0 && (text[p - 1] == 'E' || text[p - 1] == 'e') &&
                                 !(p > 1 && ident_char(text[p - 2]));
                p++;
                for (;;) {
                        if (!text[p])
                                return -EINVAL;
                        if (backslash && text[p] == '\\' && text[p + 1]) {
                                if (text[p + 1] == '\n')
                                        l++;
                                p += 2;
                                continue;
                        }
                        if (text[p] == c) {
                                if (text[p + 1] == c) {         /* doubled quote: literal */
                                        p += 2;
                                        continue;
                                }
                                p++;
                                break;
                        }
                        if (text[p] == '\n')
                                l++;
                        p++;
                }
        } else if (c == '$') {
                size_t tl = dollar_tag_length(text, p);
                if (tl == 0)
                        return 0;
                const char *tag = text + p;
                p += tl;
                for (;;) {
                        if (!text[p])
                                return -EINVAL;
                        if (text[p] == '$' && strncmp(text + p, tag, tl) == 0) {
                                p += tl;
                                break;
                        }
                        if (text[p] == '\n')
                                l++;
                        p++;
                }
        } else
                return 0;

        *i = p;
        *line = l;
        return 1;
}

static bool word_at(const char *text, size_t len, size_t at, const char *word) {
        size_t wl = strlen(word);
        if (at + wl > len || strncasecmp(text + at, word, wl) != 0)
                return false;
        if (at > 0 && ident_char(text[at - 1]))
                return false;
        return at + wl == len || !ident_char(text[at + wl]);
}

/* COPY … FROM stdin: the statement is followed by data rows up to a "\." line. */
static bool statement_is_copy_in(const char *text, const SqlStatement *s) {
        char kw[16];
        const char *t = text + s->offset;

        sql_statement_keyword(text, s, 0, kw, sizeof kw);
        if (!streq(kw, "COPY"))
                return false;
        for (size_t i = 0; i + 4 < s->length; i++)
                if (word_at(t, s->length, i, "FROM")) {
                        size_t j = i + 4;
                        while (j < s->length && isspace((unsigned char) t[j]))
                                j++;
                        if (word_at(t, s->length, j, "STDIN"))
                                return true;
                }
        return false;
}

int sql_split(const char *text, SqlStatement **ret, size_t *ret_n, unsigned *ret_error_line) {
        _cleanup_free_ SqlStatement *list = NULL;
        size_t n = 0, allocated = 0, i = 0;
        unsigned line = 1;
        int r;

        assert(text);
        assert(ret);
        assert(ret_n);

        for (;;) {
                SqlStatement s = {};
                unsigned token_line;

                /* Between statements: blanks, comments and empty statements. */
                for (;;) {
                        unsigned l;
                        skip_blanks(text, &i, &line);
                        l = line;
                        r = skip_comment(text, &i, &line);
                        if (r < 0) {
                                if (ret_error_line)
                                        *ret_error_line = l;
                                return r;
                        }
                        if (r > 0)
                                continue;
                        if (text[i] == ';') {
                                i++;
                                continue;
                        }
                        break;
                }
                if (!text[i])
                        break;

                s.offset = i;
                s.line = line;
                if (text[i] == '\\') {
                        s.meta = true;
                        while (text[i] && text[i] != '\n')
                                i++;
                        s.length = i - s.offset;
                        goto append;
                }
                while (text[i]) {
                        token_line = line;
                        if (text[i] == ';') {
                                i++;
                                break;
                        }
                        r = skip_comment(text, &i, &line);
                        if (r == 0)
                                r = skip_quoted(text, &i, &line);
                        if (r < 0) {
                                if (ret_error_line)
                                        *ret_error_line = token_line;
                                return r;
                        }
                        if (r > 0)
                                continue;
                        if (text[i] == '\n')
                                line++;
                        i++;
                }
                s.length = i - s.offset;

                if (statement_is_copy_in(text, &s)) {
                        unsigned copy_line = s.line;
                        /* The data starts on the line after the statement. */
                        while (text[i] && text[i] != '\n')
                                i++;
                        if (text[i] == '\n') {
                                i++;
                                line++;
                        }
                        s.copy_in = true;
                        s.copy_offset = i;
                        for (;;) {
                                if (!text[i]) {
                                        if (ret_error_line)
                                                *ret_error_line = copy_line;
                                        return -EINVAL;
                                }
                                if (text[i] == '\\' && text[i + 1] == '.' &&
                                    (text[i + 2] == '\n' || text[i + 2] == 0) &&
                                    (i == s.copy_offset || text[i - 1] == '\n')) {
                                        s.copy_length = i - s.copy_offset;
                                        i += 2;
                                        break;
                                }
                                if (text[i] == '\n')
                                        line++;
                                i++;
                        }
                }

        append:
                if (n == allocated) {
                        size_t na = MAX(allocated * 2, (size_t) 16);
                        SqlStatement *m = realloc(list, na * sizeof(SqlStatement));
                        if (!m)
                                return -ENOMEM;
                        list = m;
                        allocated = na;
                }
                list[n++] = s;
        }

        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

void sql_statement_keyword(const char *text, const SqlStatement *s, unsigned nth, char *buf, size_t size) {
        size_t i = s->offset, end = s->offset + s->length;
        unsigned line = 0;

        assert(size > 0);
        buf[0] = 0;
        for (unsigned k = 0; k <= nth; k++) {
                size_t o = 0;
                for (;;) {
                        skip_blanks(text, &i, &line);
                        if (i >= end || skip_comment(text, &i, &line) <= 0)
                                break;
                }
                if (i >= end || !isalpha((unsigned char) text[i]))
                        return;
                while (i < end && (isalnum((unsigned char) text[i]) || text[i] == '_')) {
                        if (k == nth && o + 1 < size)
                                buf[o++] = (char) toupper((unsigned char) text[i]);
                        i++;
                }
                if (k == nth)
                        buf[o] = 0;
        }
}

bool sql_statement_is_transaction_control(const char *text, const SqlStatement *s) {
        char a[32], b[32];

        sql_statement_keyword(text, s, 0, a, sizeof a);
        sql_statement_keyword(text, s, 1, b, sizeof b);

        if (streq(a, "BEGIN") || streq(a, "END") || streq(a, "ABORT") || streq(a, "COMMIT"))
                return true;
        if (streq(a, "START") && streq(b, "TRANSACTION"))
                return true;
        if (streq(a, "ROLLBACK"))
                return !streq(b, "TO");
        if (streq(a, "PREPARE") && streq(b, "TRANSACTION"))
                return true;
        return false;
}

unsigned sql_statement_line_of_position(const char *text, const SqlStatement *s, unsigned position) {
        unsigned line = s->line, chars = 0;

        if (position == 0)
                return line;
        for (size_t i = s->offset; i < s->offset + s->length; i++) {
                unsigned char c = (unsigned char) text[i];
                if ((c & 0xC0) != 0x80) {               /* first byte of a character */
                        if (++chars >= position)
                                break;
                }
                if (c == '\n')
                        line++;
        }
        return line;
}

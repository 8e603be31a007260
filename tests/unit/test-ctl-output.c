/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stopstartctl's table renderer: human columns, legend, JSON field names and types. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl-output.h"
#include "json-util.h"
#include "tests.h"

/* Runs table_print with stdout sent to a temporary file and returns what it wrote. */
static char *render(const Table *t, OutputFlags f) {
        FILE *tmp = tmpfile();
        int saved, r;
        long l;
        char *buf;

        ASSERT_NOT_NULL(tmp);
        fflush(stdout);
        saved = dup(STDOUT_FILENO);
        ASSERT_TRUE(saved >= 0);
        ASSERT_TRUE(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
        r = table_print(t, &f);
        fflush(stdout);
        ASSERT_TRUE(dup2(saved, STDOUT_FILENO) >= 0);
        close(saved);
        ASSERT_OK(r);

        l = ftell(tmp);
        ASSERT_TRUE(l >= 0);
        rewind(tmp);
        buf = calloc(1, (size_t) l + 1);
        ASSERT_NOT_NULL(buf);
        ASSERT_EQ(fread(buf, 1, (size_t) l, tmp), l);
        fclose(tmp);
        return buf;
}

static Table *sample(void) {
        Table *t = table_new("version", "name", "applied_at", "ok", NULL);
        ASSERT_NOT_NULL(t);
        ASSERT_OK(table_add_int(t, 1));
        ASSERT_OK(table_add_string(t, "0001_initial"));
        ASSERT_OK(table_add_string(t, "2026-11-23T12:00:00.000Z"));
        ASSERT_OK(table_add_bool(t, true));
        ASSERT_OK(table_add_int(t, 12));
        ASSERT_OK(table_add_stringf(t, "%04d_%s", 12, "später"));
        ASSERT_OK(table_add_null(t));
        ASSERT_OK(table_add_bool(t, false));
        ASSERT_OK(table_set_footer(t, "%d migrations.", 2));
        return t;
}

TEST(human) {
        _cleanup_(table_freep) Table *t = sample();
        _cleanup_free_ char *out = NULL;

        ASSERT_EQ(table_get_rows(t), 2);
        out = render(t, OUTPUT_FLAGS_DEFAULT);
        ASSERT_STREQ(out,
                     "VERSION  NAME          APPLIED AT                OK\n"
                     "      1  0001_initial  2026-11-23T12:00:00.000Z  yes\n"
                     "     12  0012_später   -                         no\n"
                     "\n"
                     "2 migrations.\n");
}

TEST(no_legend_and_display) {
        _cleanup_(table_freep) Table *t = sample();
        _cleanup_free_ char *out = NULL;
        OutputFlags f = OUTPUT_FLAGS_DEFAULT;

        f.legend = false;
        ASSERT_OK(table_set_display(t, "name", "version", NULL));
        ASSERT_OK(table_set_header(t, "name", "MIGRATION"));
        ASSERT_ERR(table_set_display(t, "nope", NULL), EINVAL);
        out = render(t, f);
        ASSERT_STREQ(out,
                     "0001_initial   1\n"
                     "0012_später   12\n");
}

TEST(json) {
        _cleanup_(table_freep) Table *t = sample();
        _cleanup_free_ char *out = NULL;
        _cleanup_json_ json_object *j = NULL;
        OutputFlags f = OUTPUT_FLAGS_DEFAULT;
        json_object *row, *v;

        ASSERT_OK(table_hide_from_json(t, "ok"));
        f.json = JSON_FORMAT_SHORT;
        out = render(t, f);
        ASSERT_STREQ(out, "[{\"version\":1,\"name\":\"0001_initial\",\"applied_at\":\"2026-11-23T12:00:00.000Z\"},"
                          "{\"version\":12,\"name\":\"0012_später\",\"applied_at\":null}]\n");

        f.json = JSON_FORMAT_PRETTY;
        free(out);
        out = render(t, f);
        ASSERT_TRUE(strchr(out, '\n') != strrchr(out, '\n'));   /* several lines */
        j = json_tokener_parse(out);
        ASSERT_NOT_NULL(j);
        ASSERT_EQ(json_object_array_length(j), 2);
        row = json_object_array_get_idx(j, 1);
        ASSERT_TRUE(json_object_object_get_ex(row, "version", &v));
        ASSERT_TRUE(json_object_is_type(v, json_type_int));
        ASSERT_EQ(json_object_get_int(v), 12);
        ASSERT_TRUE(json_object_object_get_ex(row, "applied_at", &v));
        ASSERT_NULL(v);
        ASSERT_TRUE(!json_object_object_get_ex(row, "ok", &v));
}

TEST(empty) {
        _cleanup_(table_freep) Table *t = table_new("a", NULL);
        _cleanup_free_ char *out = NULL;
        OutputFlags f = OUTPUT_FLAGS_DEFAULT;

        ASSERT_OK(table_set_empty_text(t, "No events."));
        out = render(t, f);
        ASSERT_STREQ(out, "No events.\n");
        free(out);
        f.legend = false;
        out = render(t, f);
        ASSERT_STREQ(out, "");
        free(out);
        f.json = JSON_FORMAT_SHORT;
        out = render(t, f);
        ASSERT_STREQ(out, "[]\n");
}

TEST(vertical) {
        _cleanup_(table_freep) Table *t = table_new_vertical();
        _cleanup_free_ char *out = NULL;
        OutputFlags f = OUTPUT_FLAGS_DEFAULT;

        ASSERT_OK(table_add_key(t, "version", "Version"));
        ASSERT_OK(table_add_int(t, 3));
        ASSERT_OK(table_add_key(t, "dirty_version", "Dirty version"));
        ASSERT_OK(table_add_null(t));
        ASSERT_OK(table_add_key(t, "note", NULL));
        ASSERT_OK(table_add_string(t, "two\nlines"));
        out = render(t, f);
        /* A value cannot split a line: a newline in it is shown escaped. */
        ASSERT_STREQ(out,
                     "      Version: 3\n"
                     "Dirty version: -\n"
                     "         note: two\\nlines\n");
        free(out);
        f.json = JSON_FORMAT_SHORT;
        out = render(t, f);
        ASSERT_STREQ(out, "{\"version\":3,\"dirty_version\":null,\"note\":\"two\\nlines\"}\n");
}

TEST(utf8) {
        uint32_t c;

        ASSERT_EQ(utf8_decode("a", &c), 1);
        ASSERT_EQ(c, 'a');
        ASSERT_EQ(utf8_decode("é", &c), 2);
        ASSERT_EQ(c, 0xE9);
        ASSERT_EQ(utf8_decode("€", &c), 3);
        ASSERT_EQ(c, 0x20AC);
        ASSERT_EQ(utf8_decode("😀", &c), 4);
        ASSERT_EQ(c, 0x1F600);
        ASSERT_ERR(utf8_decode("\xC3", &c), EILSEQ);            /* cut short */
        ASSERT_ERR(utf8_decode("\xC0\xAF", &c), EILSEQ);        /* overlong "/" */
        ASSERT_ERR(utf8_decode("\xED\xA0\x80", &c), EILSEQ);    /* surrogate */
        ASSERT_ERR(utf8_decode("\xF4\x90\x80\x80", &c), EILSEQ);/* past U+10FFFF */
        ASSERT_ERR(utf8_decode("\x80", &c), EILSEQ);
        ASSERT_TRUE(utf8_string_is_valid("später €"));
        ASSERT_TRUE(!utf8_string_is_valid("sp\xE4ter"));               /* Latin-1 */
}

TEST(escape) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "web-1", "web-1" },
                { "später 😀", "später 😀" },
                { "\x1b[2J\x1b]0;owned\x07", "\\x1b[2J\\x1b]0;owned\\a" },
                { "two\nrows", "two\\nrows" },
                { "a\tb\rc", "a\\tb\\rc" },
                { "del\x7f", "del\\x7f" },
                { "csi\xC2\x9B" "31m", "csi\\xc2\\x9b31m" },      /* U+009B, the 8-bit CSI */
                { "bad\xE4utf8", "bad\\xe4utf8" },
                { "back\\slash", "back\\slash" },
                { "", "" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *e = text_escape(cases[i].in);
                ASSERT_STREQ(e, cases[i].out);
                ASSERT_EQ(text_needs_escape(cases[i].in), !streq(cases[i].in, cases[i].out));
                ASSERT_TRUE(utf8_string_is_valid(e));
        }
}

TEST(ellipsize) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *long_name = NULL, *m = NULL, *x = NULL;

        ASSERT_OK(setenv("SYSTEMD_UTF8", "1", 1));
        ASSERT_EQ(text_width("später"), 6);
        a = text_ellipsize("web-1", 10);
        ASSERT_STREQ(a, "web-1");
        b = text_ellipsize("abcdefghijkl", 8);
        ASSERT_STREQ(b, "abcdefg…");
        ASSERT_EQ(text_width(b), 8);
        /* Cut on a character boundary, never inside one. */
        c = text_ellipsize("ééééééééééé", 5);
        ASSERT_STREQ(c, "éééé…");
        ASSERT_TRUE(utf8_string_is_valid(c));

        ASSERT_OK(setenv("SYSTEMD_UTF8", "0", 1));
        d = text_ellipsize("abcdefghijkl", 8);
        ASSERT_STREQ(d, "abcde...");
        ASSERT_STREQ(glyph(GLYPH_TREE_RIGHT), "`- ");
        ASSERT_OK(setenv("SYSTEMD_UTF8", "1", 1));
        ASSERT_STREQ(glyph(GLYPH_TREE_RIGHT), "└─ ");

        /* A message echoes a long name in at most 120 columns, still valid UTF-8 (the byte cut
         * "%.76s" made an invalid string of such a name). */
        long_name = malloc(1 + 200 * 2 + 1);
        ASSERT_NOT_NULL(long_name);
        strcpy(long_name, "a");
        for (int i = 0; i < 200; i++)
                strcat(long_name, "é");
        m = text_for_message(long_name);
        ASSERT_TRUE(utf8_string_is_valid(m));
        ASSERT_EQ(text_width(m), 120);
        ASSERT_STREQ(m + strlen(m) - strlen("é…"), "é…");
        x = text_for_message("evil\x1b[2Jname");
        ASSERT_STREQ(x, "evil\\x1b[2Jname");
        ASSERT_OK(unsetenv("SYSTEMD_UTF8"));
}

static Table *names(const char *long_name) {
        Table *t = table_new("name", "state", "id", NULL);
        ASSERT_NOT_NULL(t);
        ASSERT_OK(table_add_string(t, long_name));
        ASSERT_OK(table_add_string(t, "RUNNING"));
        ASSERT_OK(table_add_string(t, "ocid1.instance.oc1..aaaa"));
        ASSERT_OK(table_add_string(t, "tab\there\nnewline"));
        ASSERT_OK(table_add_string(t, "STOPPED"));
        ASSERT_OK(table_add_string(t, "ocid1.instance.oc1..bbbb"));
        return t;
}

TEST(escape_and_ellipsize_cells) {
        char long_name[301];
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *out = NULL, *full = NULL, *json = NULL;
        _cleanup_json_ json_object *j = NULL;
        OutputFlags f = OUTPUT_FLAGS_DEFAULT;

        ASSERT_OK(setenv("SYSTEMD_UTF8", "1", 1));
        memset(long_name, 'x', 300);
        long_name[300] = 0;
        long_name[0] = '\x1b';
        t = names(long_name);

        f.width = 60;
        out = render(t, f);
        /* Every line fits 60 columns; the long name is cut with "…"; control characters escaped. */
        for (char *line = out, *e; *line; line = e + 1) {
                e = strchrnul(line, '\n');
                *e = 0;
                ASSERT_TRUE(text_width(line) <= 60);
                ASSERT_TRUE(!strchr(line, '\x1b') && !strchr(line, '\t'));
                if (!*(e + 1))
                        break;
                *e = '\n';
        }
        ASSERT_TRUE(strstr(out, "\\x1bxxx") != NULL);
        ASSERT_TRUE(strstr(out, "x…  RUNNING") != NULL);
        ASSERT_TRUE(strstr(out, "tab\\there\\nnewline") != NULL);
        ASSERT_TRUE(strstr(out, "ocid1.instance.oc1..aaaa") != NULL);   /* narrow columns stay whole */

        /* --full: whole, however wide. */
        f.full = true;
        full = render(t, f);
        ASSERT_TRUE(strstr(full, long_name + 1) != NULL);
        ASSERT_TRUE(strstr(full, "…") == NULL);

        /* JSON is exact. */
        f.json = JSON_FORMAT_SHORT;
        json = render(t, f);
        j = json_tokener_parse(json);
        ASSERT_NOT_NULL(j);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(json_object_array_get_idx(j, 0), "name")), long_name);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(json_object_array_get_idx(j, 1), "name")),
                     "tab\there\nnewline");
        ASSERT_OK(unsetenv("SYSTEMD_UTF8"));
}

TEST(vertical_ellipsized) {
        _cleanup_(table_freep) Table *t = table_new_vertical();
        _cleanup_free_ char *out = NULL;
        OutputFlags f = OUTPUT_FLAGS_DEFAULT;
        char v[201];

        ASSERT_OK(setenv("SYSTEMD_UTF8", "0", 1));
        memset(v, 'n', 200);
        v[200] = 0;
        ASSERT_OK(table_add_key(t, "name", "Name"));
        ASSERT_OK(table_add_string(t, v));
        f.width = 40;
        out = render(t, f);
        ASSERT_STREQ(out, "Name: nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...\n");
        ASSERT_OK(unsetenv("SYSTEMD_UTF8"));
}

TEST(pager_environment) {
        /* $STOPSTART_PAGER, then $SYSTEMD_PAGER, then $PAGER, then less; "" and "cat": none. */
        ASSERT_OK(unsetenv("STOPSTART_PAGER"));
        ASSERT_OK(unsetenv("SYSTEMD_PAGER"));
        ASSERT_OK(unsetenv("PAGER"));
        ASSERT_STREQ(pager_command(), "less");
        ASSERT_OK(setenv("PAGER", "more", 1));
        ASSERT_STREQ(pager_command(), "more");
        ASSERT_OK(setenv("SYSTEMD_PAGER", "most", 1));
        ASSERT_STREQ(pager_command(), "most");
        ASSERT_OK(setenv("STOPSTART_PAGER", "cat", 1));
        ASSERT_NULL(pager_command());
        ASSERT_OK(setenv("STOPSTART_PAGER", "", 1));
        ASSERT_NULL(pager_command());
        ASSERT_OK(unsetenv("STOPSTART_PAGER"));
        ASSERT_OK(unsetenv("SYSTEMD_PAGER"));
        ASSERT_OK(unsetenv("PAGER"));

        ASSERT_OK(unsetenv("TERM"));
        ASSERT_TRUE(terminal_is_dumb());
        ASSERT_OK(setenv("TERM", "dumb", 1));
        ASSERT_TRUE(terminal_is_dumb());
        ASSERT_OK(setenv("TERM", "xterm-256color", 1));
        ASSERT_TRUE(!terminal_is_dumb());
}

TEST(json_argument) {
        JsonFormat f;

        ASSERT_OK(parse_json_argument("pretty", &f));
        ASSERT_EQ(f, JSON_FORMAT_PRETTY);
        ASSERT_OK(parse_json_argument("short", &f));
        ASSERT_EQ(f, JSON_FORMAT_SHORT);
        ASSERT_OK(parse_json_argument("off", &f));
        ASSERT_EQ(f, JSON_FORMAT_OFF);
        ASSERT_ERR(parse_json_argument("yaml", &f), EINVAL);
        ASSERT_OK(parse_json_argument(NULL, &f));
        ASSERT_EQ(f, isatty(STDOUT_FILENO) ? JSON_FORMAT_PRETTY : JSON_FORMAT_SHORT);

        for (int i = 0; i < _JSON_FORMAT_MAX; i++)
                ASSERT_EQ(json_format_from_string(json_format_to_string(i)), i);
        ASSERT_NULL(json_format_to_string(_JSON_FORMAT_MAX));
}

TEST(pager_off_without_terminal) {
        /* stdout of a test is not a terminal: no pager, nothing to close. */
        OutputFlags f = OUTPUT_FLAGS_DEFAULT;
        pager_open(&f);
        pager_close();
}

int main(void) {
        RUN(human);
        RUN(no_legend_and_display);
        RUN(json);
        RUN(empty);
        RUN(vertical);
        RUN(utf8);
        RUN(escape);
        RUN(ellipsize);
        RUN(escape_and_ellipsize_cells);
        RUN(vertical_ellipsized);
        RUN(pager_environment);
        RUN(json_argument);
        RUN(pager_off_without_terminal);
        return 0;
}

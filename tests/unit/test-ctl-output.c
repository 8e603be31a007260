/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stopstartctl's table renderer: human columns, legend, JSON field names and types. */
#include <stdio.h>
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
        ASSERT_STREQ(out,
                     "      Version: 3\n"
                     "Dirty version: -\n"
                     "         note: two\n"
                     "               lines\n");
        free(out);
        f.json = JSON_FORMAT_SHORT;
        out = render(t, f);
        ASSERT_STREQ(out, "{\"version\":3,\"dirty_version\":null,\"note\":\"two\\nlines\"}\n");
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
        RUN(json_argument);
        RUN(pager_off_without_terminal);
        return 0;
}

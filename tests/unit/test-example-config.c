/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shipped example configuration (systemd/stopstartd.yaml.example) loads, and shows what
 * README promises: every key with its default. Expectations come from the parser's own defaults
 * (an empty file), not from the example's text: a default changed on one side only fails here. */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "strv.h"
#include "tests.h"

static char *example_path(void) {
        char *p = strprintf("%s/systemd/stopstartd.yaml.example", PROJECT_SOURCE_ROOT);
        ASSERT_NOT_NULL(p);
        return p;
}

static char *read_file(const char *path) {
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                TEST_FAIL("%s: %m", path);
        text = calloc(1, 64 * 1024);
        ASSERT_NOT_NULL(text);
        n = fread(text, 1, 64 * 1024 - 1, f);
        ASSERT_TRUE(n > 0 && n < 64 * 1024 - 1);
        fclose(f);
        return TAKE_PTR(text);
}

static Config *load_string(const char *text, const char *name) {
        _cleanup_free_ char *err = NULL;
        Config *c = NULL;

        if (config_load_string(text, name, &c, &err) < 0)
                TEST_FAIL("%s: %s", name, strna(err));
        return c;
}

TEST(example_shows_the_defaults) {
        _cleanup_free_ char *path = example_path();
        _cleanup_(config_freep) Config *ex = NULL, *def = NULL;
        _cleanup_free_ char *err = NULL;

        if (config_load(path, &ex, &err) < 0)
                TEST_FAIL("%s", strna(err));
        def = load_string("", "empty");

        /* Values the example shows are the defaults ... */
        ASSERT_STREQ(ex->oci.config_file, def->oci.config_file);
        ASSERT_STREQ(ex->oci.profile, def->oci.profile);
        ASSERT_EQ(ex->oci.connect_timeout, def->oci.connect_timeout);
        ASSERT_EQ(ex->oci.request_timeout, def->oci.request_timeout);
        ASSERT_EQ(ex->oci.max_attempts, def->oci.max_attempts);
        ASSERT_EQ(ex->oci.retry_max_time, def->oci.retry_max_time);
        ASSERT_EQ(ex->oci.retry_base_delay, def->oci.retry_base_delay);
        ASSERT_EQ(ex->oci.retry_max_delay, def->oci.retry_max_delay);
        ASSERT_EQ(ex->oci.max_response_size, def->oci.max_response_size);
        ASSERT_EQ(ex->discovery.interval, def->discovery.interval);
        ASSERT_EQ(ex->discovery.max_in_flight, def->discovery.max_in_flight);
        ASSERT_TRUE(ex->discovery.rate_limit == def->discovery.rate_limit);
        ASSERT_EQ(ex->discovery.page_size, def->discovery.page_size);
        ASSERT_EQ(ex->discovery.details, def->discovery.details);
        ASSERT_EQ(ex->migrations.allow_reset, def->migrations.allow_reset);
        ASSERT_EQ(ex->migrations.lock_timeout, def->migrations.lock_timeout);
        ASSERT_STREQ(ex->migrations.backup_dir, def->migrations.backup_dir);
        ASSERT_EQ(ex->migrations.keep_backups, def->migrations.keep_backups);
        ASSERT_EQ(ex->migrations.backup_before_upgrade, def->migrations.backup_before_upgrade);
        ASSERT_STREQ(ex->systemd.bus, def->systemd.bus);
        ASSERT_EQ(ex->scheduler.max_parallel_actions, def->scheduler.max_parallel_actions);
        /* ... and the optional ones stay commented out (unset) */
        ASSERT_NULL(ex->oci.endpoint);
        ASSERT_NULL(ex->oci.ca_file);
        ASSERT_NULL(ex->scheduler.time_zone);
        ASSERT_NULL(def->oci.endpoint);
        ASSERT_NULL(def->oci.ca_file);
        ASSERT_NULL(def->scheduler.time_zone);

        /* except two the example fills in: the database is the default one reached over the
         * local socket, and regions names some (the default is every subscribed region) */
        ASSERT_TRUE(strstr(ex->database, def->database) != NULL);
        ASSERT_TRUE(!streq(ex->database, def->database));
        ASSERT_TRUE(strv_length(def->oci.regions) == 0);
        ASSERT_TRUE(strv_length(ex->oci.regions) > 0);
}

TEST(commented_keys_are_valid) {
        /* Each "  # key: value" (or "  #key: value") line the example shows commented out loads
         * once uncommented
         * (prose lines of that shape are refused as unknown keys and skipped). */
        _cleanup_free_ char *path = example_path();
        _cleanup_free_ char *text = read_file(path);
        unsigned valid = 0;

        for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                const char *hash = line + strspn(line, " ");
                _cleanup_free_ char *variant = NULL, *err = NULL;
                _cleanup_(config_freep) Config *c = NULL;
                size_t key_len, mark;

                if (!startswith(hash, "#"))
                        continue;
                mark = startswith(hash, "# ") ? 2 : 1;
                key_len = strspn(hash + mark, "abcdefghijklmnopqrstuvwxyz_");
                if (key_len == 0 || !startswith(hash + mark + key_len, ": ") || hash == line)
                        continue;
                /* the line without its comment mark */
                variant = strdup(text);
                ASSERT_NOT_NULL(variant);
                memmove(variant + (hash - text), variant + (hash - text) + mark,
                        strlen(variant + (hash - text) + mark) + 1);
                if (config_load_string(variant, "variant", &c, &err) >= 0) {
                        valid++;
                        continue;
                }
                if (!strstr(strna(err), "unknown key"))
                        TEST_FAIL("uncommented, \"%.*s\" does not load: %s", (int) strcspn(hash, "\n"), hash, strna(err));
        }
        /* endpoint, ca_file, time_zone */
        ASSERT_TRUE(valid >= 3);
}

int main(void) {
        RUN(example_shows_the_defaults);
        RUN(commented_keys_are_valid);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "config.h"
#include "strv.h"
#include "tests.h"

static char *fixture(const char *name) {
        const char *root = getenv("STOPSTART_SOURCE_ROOT") ?: PROJECT_SOURCE_ROOT;
        char *p = strprintf("%s/tests/fixtures/config/%s", root, name);
        ASSERT_NOT_NULL(p);
        return p;
}

static Config *load_ok(const char *name) {
        _cleanup_free_ char *p = fixture(name), *err = NULL;
        Config *c = NULL;
        int r = config_load(p, &c, &err);
        if (r < 0)
                TEST_FAIL("%s: %d: %s", name, r, strna(err));
        ASSERT_NULL(err);
        return c;
}

TEST(defaults) {
        _cleanup_config_free_ Config *c = NULL;
        _cleanup_free_ char *home = NULL;

        setenv("HOME", "/home/tester", 1);
        c = load_ok("good-empty.yaml");
        ASSERT_STREQ(c->database, CONFIG_DEFAULT_DATABASE);
        ASSERT_STREQ(c->oci.config_file, "/home/tester/.oci/config");
        ASSERT_STREQ(c->oci.profile, "DEFAULT");
        ASSERT_EQ(strv_length(c->oci.regions), 0);
        ASSERT_NULL(c->oci.endpoint);
        ASSERT_NULL(c->oci.ca_file);
        ASSERT_EQ(c->oci.connect_timeout, 10 * USEC_PER_SEC);
        ASSERT_EQ(c->oci.request_timeout, 60 * USEC_PER_SEC);
        ASSERT_EQ(c->oci.max_attempts, 8);
        ASSERT_EQ(c->oci.retry_max_time, 5 * USEC_PER_MINUTE);
        ASSERT_EQ(c->oci.retry_base_delay, USEC_PER_SEC);
        ASSERT_EQ(c->oci.retry_max_delay, 30 * USEC_PER_SEC);
        ASSERT_EQ(c->oci.max_response_size, 64 * 1024 * 1024);
        ASSERT_EQ(c->discovery.interval, 15 * USEC_PER_MINUTE);
        ASSERT_EQ(c->discovery.max_in_flight, 16);
        ASSERT_TRUE(c->discovery.rate_limit == 0);
        ASSERT_EQ(c->discovery.page_size, 100);
        ASSERT_EQ(c->discovery.store_batch, 1000);
        ASSERT_EQ(c->migrations.allow_reset, false);
        ASSERT_EQ(c->migrations.lock_timeout, 60 * USEC_PER_SEC);
        ASSERT_STREQ(c->migrations.backup_dir, "/var/lib/stopstart/backups");
        ASSERT_EQ(c->migrations.keep_backups, 10u);
        ASSERT_EQ(c->migrations.backup_before_upgrade, false);
        ASSERT_STREQ(c->systemd.bus, "user");
        ASSERT_NULL(c->scheduler.time_zone);
        ASSERT_EQ(c->scheduler.max_parallel_actions, 16);
        ASSERT_NOT_NULL(c->path);

        c = config_free(c);
        ASSERT_OK(config_new(&c));
        ASSERT_STREQ(c->database, CONFIG_DEFAULT_DATABASE);
        ASSERT_STREQ(c->systemd.bus, "user");
        ASSERT_NULL(c->path);
}

TEST(full) {
        _cleanup_config_free_ Config *c = NULL;

        setenv("HOME", "/home/tester/", 1);
        c = load_ok("good-full.yaml");
        ASSERT_STREQ(c->database, "host=/run/postgresql dbname=stopstart_test");
        ASSERT_STREQ(c->oci.config_file, "/home/tester//oci/config.test");
        ASSERT_STREQ(c->oci.profile, "TESTING");
        ASSERT_EQ(strv_length(c->oci.regions), 2);
        ASSERT_STREQ(c->oci.regions[0], "us-phoenix-1");
        ASSERT_STREQ(c->oci.regions[1], "eu-frankfurt-1");
        ASSERT_STREQ(c->oci.endpoint, "http://127.0.0.1:8443/{region}"); /* trailing '/' dropped */
        ASSERT_STREQ(c->oci.ca_file, "/etc/ssl/extra-ca.pem");
        ASSERT_EQ(c->oci.connect_timeout, 5 * USEC_PER_SEC);
        ASSERT_EQ(c->oci.request_timeout, 2 * USEC_PER_MINUTE);
        ASSERT_EQ(c->oci.max_attempts, 4);
        ASSERT_EQ(c->oci.retry_max_time, 90 * USEC_PER_SEC);
        ASSERT_EQ(c->oci.retry_base_delay, 250 * USEC_PER_MSEC);
        ASSERT_EQ(c->oci.retry_max_delay, 10 * USEC_PER_SEC);
        ASSERT_EQ(c->oci.max_response_size, 8 * 1024 * 1024);
        ASSERT_EQ(c->discovery.interval, 90 * USEC_PER_MINUTE);
        ASSERT_EQ(c->discovery.max_in_flight, 32);
        ASSERT_TRUE(fabs(c->discovery.rate_limit - 12.5) < 1e-9);
        ASSERT_EQ(c->discovery.page_size, 500);
        ASSERT_EQ(c->migrations.allow_reset, true);
        ASSERT_EQ(c->migrations.lock_timeout, 2 * USEC_PER_MINUTE);
        ASSERT_STREQ(c->migrations.backup_dir, "/home/tester//dumps");
        ASSERT_EQ(c->migrations.keep_backups, 0u);
        ASSERT_EQ(c->migrations.backup_before_upgrade, true);
        ASSERT_STREQ(c->systemd.bus, "unix:path=/run/user/998/systemd/private");
        ASSERT_STREQ(c->scheduler.time_zone, "Asia/Tokyo");
        ASSERT_EQ(c->scheduler.max_parallel_actions, 64);
}

TEST(minimal_and_null_sections) {
        _cleanup_config_free_ Config *a = NULL, *b = NULL, *d = NULL;
        _cleanup_free_ char *dir = fixture("");

        a = load_ok("good-minimal.yaml");
        ASSERT_STREQ(a->database, "postgresql:///stopstart");
        ASSERT_STREQ(a->oci.profile, "DEFAULT");

        b = load_ok("good-null-sections.yaml");
        ASSERT_NULL(b->oci.endpoint);
        ASSERT_NULL(b->oci.ca_file);
        ASSERT_EQ(strv_length(b->oci.regions), 0);
        ASSERT_EQ(b->discovery.max_in_flight, 16);

        d = load_ok("good-block-regions.yaml");
        ASSERT_EQ(strv_length(d->oci.regions), 2);
        ASSERT_STREQ(d->oci.regions[1], "uk-london-1");
        ASSERT_STREQ(d->oci.endpoint, "https://{service}.{region}.oci.example.internal:9443");
        /* relative paths are relative to the YAML file's directory */
        {
                _cleanup_free_ char *want = strprintf("%srelative/oci.conf", dir);
                ASSERT_STREQ(d->oci.config_file, want);
        }
}

TEST(bad_files) {
        _cleanup_free_ char *dirpath = fixture("");
        DIR *d = opendir(dirpath);
        struct dirent *de;
        unsigned n = 0;

        ASSERT_NOT_NULL(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL, *err = NULL, *line = NULL;
                _cleanup_fclose_ FILE *f = NULL;
                Config *c = (Config *) 0x1;
                const char *expect;
                size_t sz = 0;
                ssize_t k;
                int r;

                if (!startswith(de->d_name, "bad-"))
                        continue;
                p = fixture(de->d_name);
                f = fopen(p, "re");
                ASSERT_NOT_NULL(f);
                k = getline(&line, &sz, f);
                ASSERT_TRUE(k > 0);
                line[strcspn(line, "\n")] = 0;
                expect = startswith(line, "# expect: ");
                if (!expect)
                        TEST_FAIL("%s: first line must be '# expect: MESSAGE'", de->d_name);

                r = config_load(p, &c, &err);
                if (r != -EINVAL)
                        TEST_FAIL("%s: expected -EINVAL, got %d", de->d_name, r);
                ASSERT_TRUE(c == (Config *) 0x1); /* ret untouched */
                ASSERT_NOT_NULL(err);
                if (!strstr(err, expect))
                        TEST_FAIL("%s: message\n  %s\ndoes not contain\n  %s", de->d_name, err, expect);
                ASSERT_TRUE(startswith(err, p) != NULL); /* FILE:... */
                ASSERT_TRUE(strchr(err, '\n') == NULL);  /* one line */
                printf("  %s\n", err + strlen(dirpath));
                n++;
        }
        closedir(d);
        ASSERT_TRUE(n >= 25);
}

TEST(io_errors) {
        _cleanup_free_ char *err = NULL;
        Config *c = NULL;

        ASSERT_ERR(config_load("/nonexistent/stopstartd.yaml", &c, &err), ENOENT);
        ASSERT_STREQ(err, "/nonexistent/stopstartd.yaml: cannot open: No such file or directory");
        ASSERT_NULL(c);
        /* a NULL ret_error is fine */
        ASSERT_ERR(config_load("/nonexistent/stopstartd.yaml", &c, NULL), ENOENT);
}

TEST(strings) {
        _cleanup_config_free_ Config *c = NULL;
        _cleanup_free_ char *err = NULL;

        ASSERT_OK(config_load_string("systemd: {bus: system}\n", "inline", &c, &err));
        ASSERT_STREQ(c->systemd.bus, "system");
        c = config_free(c);
        ASSERT_OK(config_load_string("systemd: {bus: \"unix:abstract=x;unix:path=/run/bus\"}\n", "inline", &c, &err));
        ASSERT_STREQ(c->systemd.bus, "unix:abstract=x;unix:path=/run/bus");
        c = config_free(c);
        ASSERT_OK(config_load_string("oci: {profile: X, regions: [ap-tokyo-1]}\n", "inline", &c, &err));
        ASSERT_STREQ(c->oci.profile, "X");
        ASSERT_STREQ(c->oci.regions[0], "ap-tokyo-1");
        c = config_free(c);

        ASSERT_OK(config_load_string("scheduler: {time_zone: America/Sao_Paulo, max_parallel_actions: 4}\n", "inline",
                                     &c, &err));
        ASSERT_STREQ(c->scheduler.time_zone, "America/Sao_Paulo");
        ASSERT_EQ(c->scheduler.max_parallel_actions, 4);
        c = config_free(c);
        ASSERT_ERR(config_load_string("scheduler:\n  time_zone: Mars/Olympus\n", "inline", &c, &err), EINVAL);
        ASSERT_STREQ(err, "inline:2:14: scheduler.time_zone: unknown time zone 'Mars/Olympus' (an IANA name such as "
                          "Europe/Berlin)");
        err = mfree(err);
        ASSERT_ERR(config_load_string("scheduler: {time_zone: ../../etc/passwd}", "inline", &c, &err), EINVAL);
        err = mfree(err);
        ASSERT_ERR(config_load_string("scheduler: {max_parallel_actions: 0}", "inline", &c, &err), EINVAL);
        ASSERT_STREQ(err, "inline:1:35: scheduler.max_parallel_actions: expected an integer between 1 and 1024, got '0'");
        err = mfree(err);
        ASSERT_ERR(config_load_string("scheduler: {parallel: 3}", "inline", &c, &err), EINVAL);
        ASSERT_TRUE(strstr(err, "parallel") != NULL);
        err = mfree(err);

        ASSERT_ERR(config_load_string("oci: {profile: X, profile: Y}\n", "inline", &c, &err), EINVAL);
        ASSERT_STREQ(err, "inline:1:19: duplicate key 'oci.profile' (first set at line 1)");
        err = mfree(err);
        ASSERT_ERR(config_load_string("discovery: {store_batch: 0}", "inline", &c, &err), EINVAL);
        err = mfree(err);
        ASSERT_ERR(config_load_string("discovery: {page_size: 1001}", "inline", &c, &err), EINVAL);
        ASSERT_STREQ(err, "inline:1:24: discovery.page_size: expected an integer between 1 and 1000, got '1001'");
        err = mfree(err);
        /* YAML anchors and aliases resolve like plain values */
        ASSERT_OK(config_load_string("oci: {connect_timeout: &t 3s, request_timeout: *t}", "inline", &c, &err));
        ASSERT_EQ(c->oci.request_timeout, 3 * USEC_PER_SEC);
        c = config_free(c);
        ASSERT_ERR(config_load_string("oci: {endpoint: 'http://h/{region'}", "inline", &c, &err), EINVAL);
        ASSERT_TRUE(strstr(err, "unknown placeholder") != NULL);
        err = mfree(err);
        ASSERT_ERR(config_load_string("oci: {endpoint: 'http://h/}'}", "inline", &c, &err), EINVAL);
        ASSERT_TRUE(strstr(err, "'}' without '{'") != NULL);
}

TEST(helpers) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        uint64_t s;

        setenv("HOME", "/h", 1);
        ASSERT_OK(path_expand_home("~/x", &a));
        ASSERT_STREQ(a, "/h/x");
        ASSERT_OK(path_expand_home("~", &b));
        ASSERT_STREQ(b, "/h");
        ASSERT_OK(path_expand_home("~other/x", &c));
        ASSERT_STREQ(c, "~other/x");
        setenv("HOME", "/", 1);
        ASSERT_OK(path_expand_home("~/y", &d));
        ASSERT_STREQ(d, "/y");

        ASSERT_OK(parse_size("64MiB", &s));
        ASSERT_EQ(s, 64ULL << 20);
        ASSERT_OK(parse_size("10", &s));
        ASSERT_EQ(s, 10);
        ASSERT_OK(parse_size("2 G", &s));
        ASSERT_EQ(s, 2ULL << 30);
        ASSERT_ERR(parse_size("2T", &s), EINVAL);
        ASSERT_ERR(parse_size("-2", &s), EINVAL);
        ASSERT_ERR(parse_size("99999999999999999999", &s), ERANGE);
}

TEST(example_file) {
        _cleanup_config_free_ Config *c = NULL;
        _cleanup_free_ char *err = NULL;
        _cleanup_free_ char *p = strprintf("%s/systemd/stopstartd.yaml.example",
                                           getenv("STOPSTART_SOURCE_ROOT") ?: PROJECT_SOURCE_ROOT);

        /* the shipped example must stay loadable */
        if (config_load(p, &c, &err) < 0)
                TEST_FAIL("%s", strna(err));
        ASSERT_EQ(c->discovery.max_in_flight, 16);
}

int main(void) {
        RUN(defaults);
        RUN(full);
        RUN(minimal_and_null_sections);
        RUN(bad_files);
        RUN(io_errors);
        RUN(strings);
        RUN(helpers);
        RUN(example_file);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The error names and errno values documented in dbus/README.md ("Errors" table) are what both
 * binaries' sd-bus map produces, and the map has no name the table lacks; the daemon's one
 * mapping of -errno to names (daemon/bus/bus-error.c) gives each name for its documented errno.
 * The expectations come from the document, not from the code under test. */
#include <errno.h>
#include <stdio.h>

#include "bus-error.h"
#include "bus-errors.h"
#include "macro.h"
#include "strv.h"
#include "tests.h"

typedef struct Documented {
        char *name;
        char *errno_name;
} Documented;

static Documented documented[64];
static size_t n_documented;

/* Rows "| `org.stopstart.StopStart1.Error.X` | `EXXX` |". */
static void read_readme(void) {
        _cleanup_free_ char *path = strprintf("%s/dbus/README.md", PROJECT_SOURCE_ROOT);
        char line[1024];
        FILE *f;

        ASSERT_NOT_NULL(path);
        f = fopen(path, "re");
        if (!f)
                TEST_FAIL("%s: %m", path);
        while (fgets(line, sizeof line, f)) {
                char name[256], err[64];

                if (sscanf(line, "| `%255[^`]` | `%63[^`]` |", name, err) != 2 ||
                    !startswith(name, SS_ERROR_PREFIX))
                        continue;
                ASSERT_TRUE(n_documented < ELEMENTSOF(documented));
                documented[n_documented].name = strdup(name);
                documented[n_documented].errno_name = strdup(err);
                ASSERT_NOT_NULL(documented[n_documented].name);
                ASSERT_NOT_NULL(documented[n_documented].errno_name);
                n_documented++;
        }
        fclose(f);
        /* a table the parser no longer finds must not pass as "nothing documented" */
        if (n_documented < 5)
                TEST_FAIL("found only %zu error rows in %s", n_documented, path);
}

static int get_errno(const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        sd_bus_error_set(&e, name, "x");
        return sd_bus_error_get_errno(&e);
}

TEST(documented_names_map_to_documented_errno) {
        /* before registering, sd-bus knows none of our names (generic EIO): the map does the work */
        ASSERT_EQ(get_errno(documented[0].name), EIO);

        ASSERT_OK(ss_bus_errors_register());
        ASSERT_OK(ss_bus_errors_register()); /* idempotent */

        for (size_t i = 0; i < n_documented; i++) {
                int e = get_errno(documented[i].name);
                const char *got = strerrorname_np(e);

                if (!got || !streq(got, documented[i].errno_name))
                        TEST_FAIL("%s maps to %s (%d), dbus/README.md says %s", documented[i].name,
                                  strna(got), e, documented[i].errno_name);
        }
}

TEST(map_has_no_undocumented_name) {
        for (const sd_bus_error_map *m = ss_bus_error_map; m->name; m++) {
                bool found = false;

                for (size_t i = 0; i < n_documented && !found; i++)
                        found = streq(documented[i].name, m->name);
                if (!found)
                        TEST_FAIL("%s is in the map but not in dbus/README.md's table", m->name);
        }
}

static int errno_from_name(const char *name) {
        for (int e = 1; e < 200; e++)
                if (streq_ptr(strerrorname_np(e), name))
                        return e;
        TEST_FAIL("unknown errno name %s", name);
}

/* What a handler passes (the domain's -errno, with what it is about) is what a client gets back. */
TEST(daemon_names_each_documented_errno) {
        for (size_t i = 0; i < n_documented; i++) {
                int e = errno_from_name(documented[i].errno_name);
                bool found = false;

                for (BusSubject s = 0; s < _BUS_SUBJECT_MAX && !found; s++)
                        found = streq(bus_error_name(-e, s), documented[i].name);
                if (!found)
                        TEST_FAIL("no subject makes -%s into %s", documented[i].errno_name, documented[i].name);
        }
        /* the same errno, another subject, another name */
        ASSERT_STREQ(bus_error_name(-ENXIO, BUS_SUBJECT_INSTANCE), SS_ERROR_NO_SUCH_INSTANCE);
        ASSERT_STREQ(bus_error_name(-ENXIO, BUS_SUBJECT_COMPARTMENT), SS_ERROR_NO_SUCH_COMPARTMENT);
        ASSERT_STREQ(bus_error_name(-EINVAL, BUS_SUBJECT_CALENDAR_SPEC), SS_ERROR_INVALID_CALENDAR);
        ASSERT_STREQ(bus_error_name(-EINVAL, BUS_SUBJECT_NONE), SS_ERROR_INVALID_CONFIG);
        /* not ours to name */
        ASSERT_STREQ(bus_error_name(-ENOMEM, BUS_SUBJECT_NONE), SD_BUS_ERROR_FAILED);
        ASSERT_STREQ(bus_error_name(-ENXIO, BUS_SUBJECT_NONE), SD_BUS_ERROR_FAILED);
}

TEST(database_outcomes) {
        _cleanup_(sd_bus_error_free) sd_bus_error a = SD_BUS_ERROR_NULL, b = SD_BUS_ERROR_NULL,
                                                  c = SD_BUS_ERROR_NULL, d = SD_BUS_ERROR_NULL;

        ASSERT_EQ(bus_error_errno(&a, -ENOTCONN, BUS_SUBJECT_DATABASE, "no route"), -ENOTCONN);
        ASSERT_STREQ(a.name, SS_ERROR_DATABASE_UNAVAILABLE);
        ASSERT_STREQ(a.message, "The database is not reachable; nothing was changed: no route.");
        /* a statement's other failures are not the API's Busy or TooManyTargets */
        (void) bus_error_errno(&b, -EBUSY, BUS_SUBJECT_DATABASE, "deadlock detected");
        ASSERT_STREQ(b.name, SD_BUS_ERROR_FAILED);
        ASSERT_STREQ(b.message, "Saving failed: deadlock detected");
        (void) bus_error_errno(&c, -EINVAL, BUS_SUBJECT_DATABASE, NULL);
        ASSERT_STREQ(c.name, SS_ERROR_INVALID_CONFIG);
        ASSERT_STREQ(c.message, "The database refused the value.");
        /* a read changes nothing, and says only what the caller did not get */
        _cleanup_(sd_bus_error_free) sd_bus_error r1 = SD_BUS_ERROR_NULL, r2 = SD_BUS_ERROR_NULL;
        ASSERT_EQ(bus_error_errno(&r1, -ENOTCONN, BUS_SUBJECT_DATABASE_READ, "no route"), -ENOTCONN);
        ASSERT_STREQ(r1.name, SS_ERROR_DATABASE_UNAVAILABLE);
        ASSERT_STREQ(r1.message, "The database is not reachable: no route.");
        (void) bus_error_errno(&r2, -EIO, BUS_SUBJECT_DATABASE_READ, "canceling statement");
        ASSERT_STREQ(r2.name, SD_BUS_ERROR_FAILED);
        ASSERT_STREQ(r2.message, "Reading failed: canceling statement");
        /* a message that is not UTF-8 still answers, generically */
        (void) bus_error_errnof(&d, -ENXIO, BUS_SUBJECT_JOB, "Job %s", "\xff");
        ASSERT_STREQ(d.name, SS_ERROR_NO_SUCH_JOB);
        ASSERT_STREQ(d.message, "The request failed.");
}

int main(void) {
        read_readme();
        RUN(documented_names_map_to_documented_errno);
        RUN(map_has_no_undocumented_name);
        ASSERT_OK(ss_bus_errors_register());
        RUN(daemon_names_each_documented_errno);
        RUN(database_outcomes);
        for (size_t i = 0; i < n_documented; i++) {
                free(documented[i].name);
                free(documented[i].errno_name);
        }
        return 0;
}

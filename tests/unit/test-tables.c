/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every enum <-> string table of the tree (string-table.h promises this file): each value has a
 * string, the string maps back to the value, the strings are distinct, non-empty, printable
 * ASCII without spaces (they go on the bus, into JSON, the database and the journal), and
 * anything else is refused. every_table_is_tested greps the source tree for
 * DEFINE_STRING_TABLE_LOOKUP, so a new table without a test here fails. */
#include <ctype.h>
#include <ftw.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "discovery.h"
#include "instance-config.h"
#include "job.h"
#include "leader.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "migrate.h"
#include "migration.h"
#include "oci-client.h"
#include "oci-model.h"
#include "pid1-timer.h"
#include "schedule.h"
#include "strv.h"
#include "test-tables.h"
#include "tests.h"

char **tested = NULL;

void check_wire_string(const char *table, int i, const char *s, int empty_value) {
        if (!s)
                TEST_FAIL("%s: value %d has no string", table, i);
        if (!*s && i != empty_value)
                TEST_FAIL("%s: value %d has an empty string", table, i);
        for (const char *p = s; *p; p++)
                if (!isascii((unsigned char) *p) || !isgraph((unsigned char) *p))
                        TEST_FAIL("%s: value %d: \"%s\" is not printable ASCII without spaces", table, i, s);
}


TEST(shared) {
        CHECK_TABLE(discovery_details, DiscoveryDetails, _DISCOVERY_DETAILS_MAX);
}

TEST(log_levels) {
        /* A one-way table (STOPSTART_LOG_LEVEL): syslog's names, as journalctl -p takes them. */
        static const struct { const char *name; int level; } levels[] = {
                { "emerg", LOG_EMERG }, { "alert", LOG_ALERT }, { "crit", LOG_CRIT }, { "err", LOG_ERR },
                { "warning", LOG_WARNING }, { "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
        };
        for (size_t i = 0; i < ELEMENTSOF(levels); i++)
                ASSERT_EQ(log_level_from_string(levels[i].name), levels[i].level);
        ASSERT_TRUE(log_level_from_string("verbose") < 0);
        ASSERT_TRUE(log_level_from_string("") < 0);
}

TEST(daemon) {
        CHECK_TABLE(config_key, ConfigKey, _CONFIG_KEY_MAX);
        CHECK_TABLE(stop_mode, StopMode, _STOP_MODE_MAX);
        CHECK_TABLE_EMPTY(override_state, OverrideState, _OVERRIDE_STATE_MAX, OVERRIDE_NONE);
        CHECK_TABLE(job_kind, JobKind, _JOB_KIND_MAX);
        CHECK_TABLE(job_state, JobState, _JOB_STATE_MAX);
        CHECK_TABLE_EMPTY(job_result, JobResult, _JOB_RESULT_MAX, JOB_RESULT_NONE);
        CHECK_TABLE(manager_state, ManagerState, _MANAGER_STATE_MAX);
        CHECK_TABLE(leader_role, LeaderRole, _LEADER_ROLE_MAX);
        CHECK_TABLE(db_state, DbState, _DB_STATE_MAX);
        CHECK_TABLE(discovery_phase, DiscoveryPhase, _DISCOVERY_PHASE_MAX);
}

TEST(schedules) {
        CHECK_TABLE(schedule_action, ScheduleAction, _SCHEDULE_ACTION_MAX);
        CHECK_TABLE(target_kind, TargetKind, _TARGET_KIND_MAX);
        CHECK_TABLE(occurrence_state, OccurrenceState, _OCCURRENCE_STATE_MAX);
        CHECK_TABLE(action_state, ActionState, _ACTION_STATE_MAX);
        CHECK_TABLE_EMPTY(skip_reason, SkipReason, _SKIP_REASON_MAX, SKIP_NONE);
        CHECK_TABLE(firing_decision, FiringDecision, _FIRING_DECISION_MAX);
}

TEST(pid1) {
        CHECK_TABLE(pid1_bus_kind, Pid1BusKind, _PID1_BUS_KIND_MAX);
        CHECK_TABLE(pid1_state, Pid1State, _PID1_STATE_MAX);
}

TEST(oci) {
        CHECK_TABLE(oci_error_kind, OciErrorKind, _OCI_ERROR_KIND_MAX);
        CHECK_TABLE(oci_instance_state, OciInstanceState, _OCI_INSTANCE_STATE_MAX);
        CHECK_TABLE(oci_compartment_state, OciCompartmentState, _OCI_COMPARTMENT_STATE_MAX);
        CHECK_TABLE(oci_instance_action, OciInstanceAction, _OCI_ACTION_MAX);
        CHECK_TABLE(oci_service, OciService, _OCI_SERVICE_MAX);
        CHECK_TABLE(oci_access_level, OciAccessLevel, _OCI_ACCESS_LEVEL_MAX);
}

TEST(migrate) {
        CHECK_TABLE(migration_script_kind, MigrationScriptKind, _MIGRATION_SCRIPT_KIND_MAX);
        CHECK_TABLE(migration_state, MigrationState, _MIGRATION_STATE_MAX);
        CHECK_TABLE(migrate_event, MigrateEvent, _MIGRATE_EVENT_MAX);
        CHECK_TABLE(migrate_problem_kind, MigrateProblemKind, _MIGRATE_PROBLEM_KIND_MAX);
        CHECK_TABLE(migrate_drift_method, MigrateDriftMethod, _MIGRATE_DRIFT_METHOD_MAX);
        CHECK_TABLE(migrate_fix, MigrateFix, _MIGRATE_FIX_MAX);
}

/* --- every DEFINE_STRING_TABLE_LOOKUP(name, ...) in the source tree is in `tested` ---------- */

static char **defined = NULL;

static bool is_c_source(const char *name) {
        const char *dot = strrchr(name, '.');
        return dot && (streq(dot, ".c") || streq(dot, ".h"));
}

static int scan_file(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        const char *base = path + ftw->base;
        static const char macro[] = "DEFINE_STRING_TABLE_LOOKUP(";
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        FILE *f;

        if (flag == FTW_D) {
                /* build directories (they hold build.ninja), .git, tests' own sources */
                _cleanup_free_ char *ninja = strprintf("%s/build.ninja", path);
                if (ftw->level > 0 && (base[0] == '.' || access(ninja, F_OK) >= 0 ||
                                       (ftw->level == 1 && streq(base, "tests"))))
                        return FTW_SKIP_SUBTREE;
                return FTW_CONTINUE;
        }
        if (flag != FTW_F || !is_c_source(base))
                return FTW_CONTINUE;
        f = fopen(path, "re");
        if (!f)
                TEST_FAIL("%s: %m", path);
        text = malloc(st->st_size + 1);
        ASSERT_NOT_NULL(text);
        n = fread(text, 1, st->st_size, f);
        fclose(f);
        text[n] = 0;
        for (const char *p = strstr(text, macro); p; p = strstr(p, macro)) {
                const char *name = p + strlen(macro), *end = name;

                p = name;
                while (isalnum((unsigned char) *end) || *end == '_')
                        end++;
                if (end == name || *end != ',')
                        continue;
                if (name - strlen(macro) - text >= 8 && strneq(name - strlen(macro) - 8, "#define ", 8))
                        continue;   /* the macro's own definition */
                _cleanup_free_ char *s = strndup(name, end - name);
                ASSERT_NOT_NULL(s);
                if (!strv_contains(defined, s))
                        ASSERT_OK(strv_extend(&defined, s));
        }
        return FTW_CONTINUE;
}

TEST(every_table_is_tested) {
        ASSERT_EQ(nftw(PROJECT_SOURCE_ROOT, scan_file, 32, FTW_PHYS | FTW_ACTIONRETVAL), 0);
        /* the tree has more than a handful: a broken scan must not pass */
        ASSERT_TRUE(strv_length(defined) >= 20);
        STRV_FOREACH(s, defined)
                if (!strv_contains(tested, *s))
                        TEST_FAIL("string table %s has no round-trip test in %s", *s, __FILE__);
        printf("%zu string tables, all tested\n", strv_length(defined));
}

int main(void) {
        RUN(shared);
        RUN(log_levels);
        RUN(daemon);
        RUN(schedules);
        RUN(pid1);
        RUN(oci);
        RUN(migrate);
        RUN(tables_ctl);
        RUN(every_table_is_tested);
        strv_free(defined);
        strv_free(tested);
        return 0;
}

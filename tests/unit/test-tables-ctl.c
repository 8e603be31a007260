/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stopstartctl's string tables (see test-tables.c). */
#include "ctl-output.h"
#include "ctl-schedule-util.h"
#include "test-tables.h"

void test_tables_ctl(void) {
        CHECK_TABLE(json_format, JsonFormat, _JSON_FORMAT_MAX);
        CHECK_TABLE(schedule_action_kind, ScheduleActionKind, _SCHEDULE_ACTION_MAX);
}

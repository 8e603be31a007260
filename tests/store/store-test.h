/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the store suite's tests share: a connection to the cluster of tests/lib/pgcluster.py run,
 * migrated, and a loop to wait on. */

#include <systemd/sd-event.h>

#include "db.h"
#include "../unit/tests.h"

extern sd_event *event;
extern Db *db;

#define RUN_UNTIL(cond)                                                                 \
        do {                                                                            \
                for (int _i_ = 0; !(cond); _i_++) {                                     \
                        if (_i_ > 6000)                                                 \
                                TEST_FAIL("timeout waiting for %s", #cond);             \
                        ASSERT_OK(sd_event_run(event, 10 * 1000));                      \
                }                                                                       \
        } while (0)

/* The first column of the first row of a statement on db (on d), NULL without rows; fails the
 * test on error. */
char *sql_value(const char *sql);
char *sql_value_on(Db *d, const char *sql);
/* One more connection to the cluster (another daemon's), connected. */
Db *store_test_connect(void);

#define ASSERT_SQL(sql, expected)                                       \
        do {                                                            \
                _cleanup_free_ char *_v_ = sql_value(sql);              \
                ASSERT_STREQ(_v_, expected);                            \
        } while (0)

/* Connects and applies every up migration in order (the schema head). Returns 77 (skip) when not
 * run through pgcluster.py, else 0. */
int store_test_setup(void);
void store_test_teardown(void);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The round-trip check of tests/unit/test-tables.c, shared with test-tables-ctl.c (stopstartctl's
 * tables live in a translation unit of their own: some of their enumerators share names with
 * the daemon's). */
#include "macro.h"
#include "strv.h"
#include "tests.h"

extern char **tested;
void check_wire_string(const char *table, int i, const char *s, int empty_value);

/* empty_value: the one value whose string is "" (the wire's "none"), or -1 */
#define CHECK_TABLE_EMPTY(name, type, max, empty_value)                                         \
        do {                                                                                    \
                for (int _i = 0; _i < (int) (max); _i++) {                                      \
                        const char *_s = name##_to_string((type) _i);                           \
                        check_wire_string(#name, _i, _s, (empty_value));                        \
                        if ((int) name##_from_string(_s) != _i)                                 \
                                TEST_FAIL("%s: \"%s\" maps back to %d, not %d", #name, _s,      \
                                          (int) name##_from_string(_s), _i);                    \
                }                                                                               \
                ASSERT_NULL(name##_to_string((type) (max)));                                    \
                ASSERT_NULL(name##_to_string((type) -1));                                       \
                ASSERT_TRUE((int) name##_from_string(NULL) < 0);                                \
                ASSERT_TRUE((int) name##_from_string("") == (empty_value) ||                    \
                            ((empty_value) < 0 && (int) name##_from_string("") < 0));           \
                ASSERT_TRUE((int) name##_from_string("no such value") < 0);                     \
                if ((max) > 0) {                                                                \
                        /* not a prefix match */                                                \
                        _cleanup_free_ char *_longer = strprintf("%sx", name##_to_string((type) ((max) - 1))); \
                        ASSERT_NOT_NULL(_longer);                                               \
                        ASSERT_TRUE((int) name##_from_string(_longer) < 0);                     \
                }                                                                               \
                ASSERT_OK(strv_extend(&tested, #name));                                         \
        } while (0)
#define CHECK_TABLE(name, type, max) CHECK_TABLE_EMPTY(name, type, max, -1)

void test_tables_ctl(void);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <string.h>
#include <sys/types.h>

#include "macro.h"

/* Enum <-> string tables. Every table gets a round-trip test in tests/unit/test-tables.c. */
static inline ssize_t string_table_lookup(const char * const *table, size_t len, const char *key) {
        if (!key)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (table[i] && streq(table[i], key))
                        return (ssize_t) i;
        return -EINVAL;
}

#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                          \
        const char *name##_to_string(type i) {                                          \
                if ((size_t) i >= ELEMENTSOF(name##_table))                             \
                        return NULL;                                                    \
                return name##_table[i];                                                 \
        }                                                                               \
        type name##_from_string(const char *s) {                                        \
                return (type) string_table_lookup(name##_table, ELEMENTSOF(name##_table), s); \
        }

#define DECLARE_STRING_TABLE_LOOKUP(name, type)                 \
        const char *name##_to_string(type i) _pure_;            \
        type name##_from_string(const char *s) _pure_

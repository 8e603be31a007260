/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reference-counted shared copies of strings that many objects repeat (regions, availability
 * and fault domains, shapes, lifecycle states, compartment ids): 20,000 instances share a few
 * hundred distinct values. */

#include "macro.h"

typedef struct StringPool StringPool;

int string_pool_new(StringPool **ret);
/* Every reference must have been dropped (asserted in debug builds' tests). */
StringPool *string_pool_free(StringPool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(StringPool*, string_pool_free);

/* A new reference to the pooled copy of s (s may be anything; NULL is treated as ""). NULL on OOM. */
const char *string_pool_ref(StringPool *p, const char *s);
/* Drops a reference obtained from string_pool_ref(); NULL is ignored. */
void string_pool_unref(StringPool *p, const char *s);
/* Replaces *field (a pooled reference or NULL) by a reference to value if different: 1 if it
 * changed, 0 if not, -ENOMEM. */
int string_pool_set(StringPool *p, const char **field, const char *value);

/* Distinct strings held. */
size_t string_pool_size(StringPool *p);

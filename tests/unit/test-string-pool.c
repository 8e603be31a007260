/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "string-pool.h"
#include "tests.h"

TEST(refs) {
        _cleanup_(string_pool_freep) StringPool *p = NULL;
        const char *a, *b, *c, *f = NULL;

        ASSERT_OK(string_pool_new(&p));
        a = string_pool_ref(p, "us-phoenix-1");
        b = string_pool_ref(p, "us-phoenix-1");
        c = string_pool_ref(p, NULL);
        ASSERT_TRUE(a == b);
        ASSERT_STREQ(a, "us-phoenix-1");
        ASSERT_STREQ(c, "");
        ASSERT_EQ(string_pool_size(p), 2);
        string_pool_unref(p, a);
        ASSERT_EQ(string_pool_size(p), 2);
        string_pool_unref(p, b);
        ASSERT_EQ(string_pool_size(p), 1);
        string_pool_unref(p, NULL);

        ASSERT_EQ(string_pool_set(p, &f, "RUNNING"), 1);
        ASSERT_EQ(string_pool_set(p, &f, "RUNNING"), 0);
        ASSERT_EQ(string_pool_set(p, &f, "STOPPED"), 1);
        ASSERT_STREQ(f, "STOPPED");
        ASSERT_EQ(string_pool_size(p), 2);
        string_pool_unref(p, f);
        string_pool_unref(p, c);
        ASSERT_EQ(string_pool_size(p), 0);
}

int main(void) {
        RUN(refs);
        return 0;
}

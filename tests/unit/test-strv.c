/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "strv.h"
#include "tests.h"

TEST(extend_join) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *j = NULL;

        ASSERT_EQ(strv_length(l), 0);
        ASSERT_OK(strv_extend(&l, "a"));
        ASSERT_OK(strv_extend(&l, "bc"));
        ASSERT_OK(strv_consume(&l, strdup("d")));
        ASSERT_EQ(strv_length(l), 3);
        ASSERT_TRUE(strv_contains(l, "bc"));
        ASSERT_TRUE(!strv_contains(l, "b"));
        j = strv_join(l, ", ");
        ASSERT_STREQ(j, "a, bc, d");
}

TEST(join_empty) {
        _cleanup_free_ char *j = strv_join(NULL, ",");
        ASSERT_STREQ(j, "");
}

TEST(strprintf) {
        _cleanup_free_ char *s = strprintf("%s-%04d", "x", 7);
        ASSERT_STREQ(s, "x-0007");
}

int main(void) {
        RUN(extend_join);
        RUN(join_empty);
        RUN(strprintf);
        return 0;
}

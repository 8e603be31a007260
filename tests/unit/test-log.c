/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "tests.h"

TEST(levels) {
        ASSERT_EQ(log_level_from_string("debug"), LOG_DEBUG);
        ASSERT_EQ(log_level_from_string("err"), LOG_ERR);
        ASSERT_EQ(log_level_from_string("error"), LOG_ERR);
        ASSERT_EQ(log_level_from_string("3"), 3);
        ASSERT_EQ(log_level_from_string("8"), -EINVAL);
        ASSERT_EQ(log_level_from_string("loud"), -EINVAL);
        ASSERT_EQ(log_level_from_string(NULL), -EINVAL);
}

TEST(returns_negative_errno) {
        log_set_max_level(LOG_EMERG); /* keep the test output clean */
        ASSERT_EQ(log_error_errno(ENOENT, "x"), -ENOENT);
        ASSERT_EQ(log_error_errno(-EBUSY, "x"), -EBUSY);
        ASSERT_EQ(log_debug_errno(0, "x"), 0);
        errno = EPERM;
        (void) log_error_errno(ENOENT, "keeps errno");
        ASSERT_EQ(errno, EPERM);
        log_set_max_level(LOG_INFO);
}

int main(void) {
        RUN(levels);
        RUN(returns_negative_errno);
        return 0;
}

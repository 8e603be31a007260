/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

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

/* What the journal would get: the fields of the last entry, "KEY=value\n" each. */
static char captured[8192];
static int n_captured;

static int capture(const struct iovec *iov, int n) {
        size_t l = 0;

        n_captured++;
        captured[0] = 0;
        for (int i = 0; i < n; i++)
                l += (size_t) snprintf(captured + l, sizeof captured - l, "%.*s\n", (int) iov[i].iov_len,
                                       (const char *) iov[i].iov_base);
        return 0;
}

TEST(journal_fields) {
        const char *fields[] = { "STOPSTART_JOB=17", "STOPSTART_INSTANCE=ocid1.instance.oc1..x", "MESSAGE_ID=abc", NULL };

        log_set_journal_send(capture);
        log_set_program_name("test-log");
        log_fields(LOG_WARNING, fields, "Job %d failed", 17);
        ASSERT_EQ(n_captured, 1);
        ASSERT_TRUE(strstr(captured, "MESSAGE=Job 17 failed\n") != NULL);
        ASSERT_TRUE(strstr(captured, "PRIORITY=4\n") != NULL);
        ASSERT_TRUE(strstr(captured, "SYSLOG_IDENTIFIER=test-log\n") != NULL);
        ASSERT_TRUE(strstr(captured, "CODE_FUNC=test_journal_fields\n") != NULL);
        ASSERT_TRUE(strstr(captured, "STOPSTART_JOB=17\nSTOPSTART_INSTANCE=ocid1.instance.oc1..x\nMESSAGE_ID=abc\n") != NULL);
        ASSERT_TRUE(strstr(captured, "ERRNO=") == NULL);

        /* with an error: ERRNO=, and the negative errno back */
        ASSERT_EQ(log_fields_errno(LOG_ERR, EBUSY, fields, "busy: %m"), -EBUSY);
        ASSERT_TRUE(strstr(captured, "ERRNO=16\n") != NULL);
        ASSERT_TRUE(strstr(captured, "MESSAGE=busy: Device or resource busy\n") != NULL);

        /* below the level: nothing */
        log_fields(LOG_DEBUG, fields, "quiet");
        ASSERT_EQ(n_captured, 2);

        /* not the journal: the plain line, no fields sent */
        log_set_journal_send(NULL);
        log_set_max_level(LOG_EMERG);
        log_fields(LOG_EMERG, fields, "plain");
        ASSERT_EQ(n_captured, 2);
        log_set_max_level(LOG_INFO);
        log_set_program_name(NULL);
}

int main(void) {
        RUN(levels);
        RUN(returns_negative_errno);
        RUN(journal_fields);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tiny test helper: each check prints on failure and aborts the test program with a non-zero
 * exit, so meson reports the file and line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_FAIL(fmt, ...)                                                             \
        do {                                                                            \
                fprintf(stderr, "%s:%d: %s: " fmt "\n", __FILE__, __LINE__, __func__,   \
                        ##__VA_ARGS__);                                                 \
                exit(EXIT_FAILURE);                                                     \
        } while (0)

#define ASSERT_TRUE(expr)                                                               \
        do {                                                                            \
                if (!(expr))                                                            \
                        TEST_FAIL("assertion failed: %s", #expr);                       \
        } while (0)

#define ASSERT_EQ(a, b)                                                                 \
        do {                                                                            \
                long long _a_ = (long long) (a), _b_ = (long long) (b);                 \
                if (_a_ != _b_)                                                         \
                        TEST_FAIL("%s == %s: %lld != %lld", #a, #b, _a_, _b_);          \
        } while (0)

#define ASSERT_OK(expr)                                                                 \
        do {                                                                            \
                long long _r_ = (long long) (expr);                                     \
                if (_r_ < 0)                                                            \
                        TEST_FAIL("%s failed: %lld (%s)", #expr, _r_, strerror((int) -_r_)); \
        } while (0)

#define ASSERT_ERR(expr, err)                                                           \
        do {                                                                            \
                long long _r_ = (long long) (expr);                                     \
                if (_r_ != -(long long) (err))                                          \
                        TEST_FAIL("%s: expected -%s, got %lld", #expr, #err, _r_);      \
        } while (0)

#define ASSERT_STREQ(a, b)                                                              \
        do {                                                                            \
                const char *_a_ = (a), *_b_ = (b);                                      \
                if (!_a_ || !_b_ || strcmp(_a_, _b_) != 0)                              \
                        TEST_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b,                 \
                                  _a_ ?: "(null)", _b_ ?: "(null)");                    \
        } while (0)

#define ASSERT_NULL(p) ASSERT_TRUE((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                                       \
        do {                                                                            \
                test_##name();                                                          \
                printf("ok - %s\n", #name);                                             \
        } while (0)

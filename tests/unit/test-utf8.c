/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "tests.h"
#include "utf8.h"

TEST(validity) {
        ASSERT_TRUE(utf8_string_is_valid(""));
        ASSERT_TRUE(utf8_string_is_valid("plain"));
        ASSERT_TRUE(utf8_string_is_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
        ASSERT_TRUE(!utf8_string_is_valid("caf\xc3"));              /* cut inside 'é' */
        ASSERT_TRUE(!utf8_string_is_valid("\xc0\xaf"));             /* overlong '/' */
        ASSERT_TRUE(!utf8_string_is_valid("\xed\xa0\x80"));         /* a surrogate */
        ASSERT_TRUE(!utf8_string_is_valid("\xf4\x90\x80\x80"));     /* above U+10FFFF */
        ASSERT_TRUE(!utf8_string_is_valid("\xff"));
}

TEST(echo_cuts_on_a_character_boundary) {
        char s[1 + 2 * 100 + 1], buf[UTF8_ECHO_BUF(80)];
        const char *e;

        /* 'a' then 100 × 'é': a byte cut at 76 falls inside an 'é'. */
        s[0] = 'a';
        for (size_t i = 0; i < 100; i++)
                memcpy(s + 1 + 2 * i, "\xc3\xa9", 2);
        s[sizeof s - 1] = 0;
        e = utf8_echo(s, 80, buf);
        ASSERT_TRUE(e == buf);
        ASSERT_TRUE(utf8_string_is_valid(e));
        ASSERT_TRUE(strlen(e) <= 80);
        ASSERT_TRUE(strlen(e) >= 76);
        ASSERT_STREQ(e + strlen(e) - 3, "...");
        ASSERT_EQ(strncmp(e, s, strlen(e) - 3), 0);
}

TEST(echo_escapes) {
        char buf[UTF8_ECHO_BUF(80)];
        const char *clean = "web-1 caf\xc3\xa9";

        ASSERT_TRUE(utf8_echo(clean, 80, buf) == clean);
        ASSERT_STREQ(utf8_echo("a\nb\tc\r\x1b[31m\x7f", 80, buf), "a\\nb\\tc\\r\\x1b[31m\\x7f");
        ASSERT_STREQ(utf8_echo("bad \xc3 byte", 80, buf), "bad \\xc3 byte");
        /* An escape is never cut in half. */
        ASSERT_STREQ(utf8_echo("abcde\x1b", 8, buf), "abcde...");
        ASSERT_STREQ(utf8_echo("12345678", 8, buf), "12345678");
        ASSERT_STREQ(utf8_echo("123456789", 8, buf), "12345...");
}

int main(void) {
        RUN(validity);
        RUN(echo_cuts_on_a_character_boundary);
        RUN(echo_escapes);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Length of the UTF-8 sequence starting at s (1-4), or 0 if s does not start a valid one
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
size_t utf8_char_len(const char *s);

/* Whether the NUL-terminated s is valid UTF-8 (what D-Bus requires of every string). */
bool utf8_string_is_valid(const char *s);

/* The size of the buffer utf8_echo() needs for at most max_bytes of output, "..." included. */
#define UTF8_ECHO_BUF(max_bytes) ((max_bytes) + 1)

/* A caller's string made safe to quote in a message: control characters (and bytes that are not
 * valid UTF-8) become \n, \t, \r or \xNN, and when the result would exceed max_bytes (>= 8) it is
 * cut on a character boundary and ends in "...". Returns s itself when nothing needs changing,
 * else buf (of UTF8_ECHO_BUF(max_bytes) bytes). The result is always valid UTF-8. */
const char *utf8_echo(const char *s, size_t max_bytes, char *buf);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Decodes the character at s: its length in bytes (1-4) and *ret_codepoint, or -EILSEQ when s
 * does not start a valid sequence (overlong forms, surrogates and code points above U+10FFFF
 * are invalid; a NUL stops it). */
int utf8_decode(const char *s, uint32_t *ret_codepoint);
/* The same length, or 0 when invalid. */
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

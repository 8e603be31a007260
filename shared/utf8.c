/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

int utf8_decode(const char *s, uint32_t *ret_codepoint) {
        const unsigned char *p = (const unsigned char *) s;
        uint32_t c;
        int len;

        if (p[0] < 0x80) {
                *ret_codepoint = p[0];
                return 1;
        }
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                len = 2, c = p[0] & 0x1f;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                len = 3, c = p[0] & 0x0f;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                len = 4, c = p[0] & 0x07;
        else
                return -EILSEQ;
        for (int i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)   /* also stops at the NUL */
                        return -EILSEQ;
                c = (c << 6) | (p[i] & 0x3f);
        }
        /* overlong forms, beyond U+10FFFF, surrogates */
        if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
                return -EILSEQ;
        *ret_codepoint = c;
        return len;
}

size_t utf8_char_len(const char *s) {
        uint32_t c;
        int n = utf8_decode(s, &c);
        return n < 0 ? 0 : (size_t) n;
}

bool utf8_string_is_valid(const char *s) {
        for (size_t n; *s; s += n) {
                n = utf8_char_len(s);
                if (n == 0)
                        return false;
        }
        return true;
}

/* The escaped form of the character at s into out (room for 4 bytes + NUL); *ret_in is how many
 * input bytes it stands for. */
static size_t escape_one(const char *s, char out[static 5], size_t *ret_in) {
        unsigned char c = (unsigned char) *s;
        size_t n = utf8_char_len(s);

        if (n == 0 || c < ' ' || c == 0x7f) {
                *ret_in = 1;
                switch (c) {
                case '\n': memcpy(out, "\\n", 3); return 2;
                case '\r': memcpy(out, "\\r", 3); return 2;
                case '\t': memcpy(out, "\\t", 3); return 2;
                default:
                        snprintf(out, 5, "\\x%02x", c);
                        return 4;
                }
        }
        memcpy(out, s, n);
        out[n] = 0;
        *ret_in = n;
        return n;
}

const char *utf8_echo(const char *s, size_t max_bytes, char *buf) {
        size_t total = 0, limit, o = 0;
        bool same = true;
        char e[5];

        for (const char *p = s; *p;) {
                size_t in, out = escape_one(p, e, &in);
                same = same && out == in && memcmp(e, p, in) == 0;
                total += out;
                p += in;
        }
        if (total <= max_bytes) {
                if (same)
                        return s;
                limit = max_bytes;
        } else
                limit = max_bytes - 3;   /* room for "..." */

        for (const char *p = s; *p;) {
                size_t in, out = escape_one(p, e, &in);
                if (o + out > limit)
                        break;
                memcpy(buf + o, e, out);
                o += out;
                p += in;
        }
        memcpy(buf + o, total <= max_bytes ? "" : "...", total <= max_bytes ? 1 : 4);
        return buf;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "utf8.h"

size_t utf8_char_len(const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        unsigned cp;
        size_t n;

        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                n = 2, cp = p[0] & 0x1f;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                n = 3, cp = p[0] & 0x0f;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                n = 4, cp = p[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)   /* also stops at the NUL */
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
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

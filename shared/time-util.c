/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "time-util.h"

usec_t now(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                abort(); /* only fails for invalid clock ids: a programming error */
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

static const struct {
        const char *suffix;
        usec_t usec;
} units[] = {
        { "usec",    1 },
        { "us",      1 },
        { "msec",    USEC_PER_MSEC },
        { "ms",      USEC_PER_MSEC },
        { "seconds", USEC_PER_SEC },
        { "second",  USEC_PER_SEC },
        { "sec",     USEC_PER_SEC },
        { "s",       USEC_PER_SEC },
        { "minutes", USEC_PER_MINUTE },
        { "minute",  USEC_PER_MINUTE },
        { "min",     USEC_PER_MINUTE },
        { "m",       USEC_PER_MINUTE },
        { "hours",   USEC_PER_HOUR },
        { "hour",    USEC_PER_HOUR },
        { "hr",      USEC_PER_HOUR },
        { "h",       USEC_PER_HOUR },
        { "days",    USEC_PER_DAY },
        { "day",     USEC_PER_DAY },
        { "d",       USEC_PER_DAY },
        { "weeks",   USEC_PER_WEEK },
        { "week",    USEC_PER_WEEK },
        { "w",       USEC_PER_WEEK },
};

int parse_timespan(const char *s, usec_t *ret) {
        usec_t total = 0;
        const char *p;
        bool any = false;

        if (!s)
                return -EINVAL;

        p = s;
        for (;;) {
                usec_t whole = 0, frac = 0, frac_div = 1, mult = USEC_PER_SEC, v, fpart;
                bool digits = false;
                size_t k;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p)
                        break;

                for (; isdigit((unsigned char) *p); p++) {
                        digits = true;
                        if (whole > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        whole = whole * 10 + (usec_t) (*p - '0');
                }
                if (*p == '.') {
                        p++;
                        if (!isdigit((unsigned char) *p))
                                return -EINVAL;
                        for (; isdigit((unsigned char) *p); p++) {
                                digits = true;
                                /* more than 9 fraction digits add nothing at µs resolution */
                                if (frac_div < 1000000000ULL) {
                                        frac = frac * 10 + (usec_t) (*p - '0');
                                        frac_div *= 10;
                                }
                        }
                }
                if (!digits)
                        return -EINVAL;

                while (*p == ' ')
                        p++;
                k = 0;
                if (isalpha((unsigned char) *p)) {
                        size_t n = 0;
                        bool found = false;

                        while (isalpha((unsigned char) p[n]))
                                n++;
                        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                                if (strlen(units[i].suffix) == n && strneq(p, units[i].suffix, n)) {
                                        mult = units[i].usec;
                                        found = true;
                                        break;
                                }
                        if (!found)
                                return -EINVAL;
                        k = n;
                } else if (*p || any)
                        /* a bare number (seconds) only on its own: "1 2" or "1 2s" is a typo */
                        return -EINVAL;
                p += k;

                if (whole > UINT64_MAX / mult)
                        return -ERANGE;
                v = whole * mult;
                fpart = (usec_t) ((__uint128_t) frac * mult / frac_div);
                if (fpart > UINT64_MAX - 1 - v)
                        return -ERANGE;
                v += fpart;
                /* UINT64_MAX is USEC_INFINITY: never produce it by accident */
                if (total > UINT64_MAX - 1 - v)
                        return -ERANGE;
                total += v;
                any = true;
        }

        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

char *format_timespan(char *buf, size_t l, usec_t t) {
        static const struct {
                const char *suffix;
                usec_t usec;
        } table[] = {
                { "w",   USEC_PER_WEEK },
                { "d",   USEC_PER_DAY },
                { "h",   USEC_PER_HOUR },
                { "min", USEC_PER_MINUTE },
                { "s",   USEC_PER_SEC },
                { "ms",  USEC_PER_MSEC },
                { "us",  1 },
        };
        char *p = buf;

        assert(buf && l > 0);

        if (t == USEC_INFINITY) {
                snprintf(buf, l, "infinity");
                return buf;
        }
        if (t == 0) {
                snprintf(buf, l, "0");
                return buf;
        }

        *p = 0;
        for (size_t i = 0; i < ELEMENTSOF(table) && t > 0; i++) {
                usec_t n = t / table[i].usec;
                int k;

                if (n == 0)
                        continue;
                t -= n * table[i].usec;
                k = snprintf(p, l, "%s%llu%s", p == buf ? "" : " ", (unsigned long long) n,
                             table[i].suffix);
                if (k < 0 || (size_t) k >= l)
                        break;
                p += k;
                l -= (size_t) k;
        }
        return buf;
}

int format_http_date(char *buf, size_t l, time_t t) {
        static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        struct tm tm;
        int k;

        if (!gmtime_r(&t, &tm))
                return -EINVAL;
        if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
                return -EINVAL;
        k = snprintf(buf, l, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                     months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (k < 0 || (size_t) k >= l)
                return -ENOBUFS;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strv.h"
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
        /* As systemd: a month is 30.44 days, a year 365.25 days; "M" is a month, "m" a minute. */
        { "months",  USEC_PER_MONTH },
        { "month",   USEC_PER_MONTH },
        { "M",       USEC_PER_MONTH },
        { "years",   USEC_PER_YEAR },
        { "year",    USEC_PER_YEAR },
        { "y",       USEC_PER_YEAR },
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
                /* systemd's units, a month 30.44 days and a year 365.25 days as it counts them */
                { "y",     USEC_PER_YEAR },
                { "month", USEC_PER_MONTH },
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

#define TIMESTAMP_USEC_MAX ((usec_t) 253402300799ULL * USEC_PER_SEC) /* 9999-12-31 23:59:59 UTC */

static int midnight(usec_t now_usec, int days, usec_t *ret) {
        time_t t = (time_t) (now_usec / USEC_PER_SEC);
        struct tm tm;

        if (!localtime_r(&t, &tm))
                return -EINVAL;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_mday += days;
        tm.tm_isdst = -1;
        t = mktime(&tm);
        if (t == (time_t) -1 || t < 0)
                return -ERANGE;
        *ret = (usec_t) t * USEC_PER_SEC;
        return 0;
}

static int parse_calendar(const char *s, usec_t *ret) {
        static const char * const formats[] = {
                "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
        };
        char copy[64];
        bool utc = false;
        size_t l;

        l = strlen(s);
        if (l >= sizeof copy)
                return -EINVAL;
        memcpy(copy, s, l + 1);
        if (l > 4 && streq(copy + l - 4, " UTC")) {
                copy[l - 4] = 0;
                utc = true;
        } else if (l > 1 && (copy[l - 1] == 'Z' || copy[l - 1] == 'z')) {
                copy[l - 1] = 0;
                utc = true;
        }

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                struct tm tm = { .tm_isdst = -1 };
                const char *e = strptime(copy, formats[i], &tm);
                time_t t;

                if (!e || *e)
                        continue;
                /* strptime accepts "2026-02-31": mktime would roll it over; refuse instead. */
                int year = tm.tm_year, mon = tm.tm_mon, mday = tm.tm_mday;
                t = utc ? timegm(&tm) : mktime(&tm);
                if (t == (time_t) -1)
                        return -ERANGE;
                if (tm.tm_year != year || tm.tm_mon != mon || tm.tm_mday != mday)
                        return -EINVAL;
                if (t < 0 || (usec_t) t > TIMESTAMP_USEC_MAX / USEC_PER_SEC)
                        return -ERANGE;
                *ret = (usec_t) t * USEC_PER_SEC;
                return 0;
        }
        return -EINVAL;
}

static int parse_relative(const char *s, usec_t now_usec, int sign, usec_t *ret) {
        usec_t span;
        int r;

        r = parse_timespan(s, &span);
        if (r < 0)
                return r;
        if (sign > 0) {
                if (now_usec > TIMESTAMP_USEC_MAX || span > TIMESTAMP_USEC_MAX - now_usec)
                        return -ERANGE;
                *ret = now_usec + span;
        } else {
                if (span > now_usec)
                        return -ERANGE;
                *ret = now_usec - span;
        }
        return 0;
}

int parse_timestamp(const char *s, usec_t now_usec, usec_t *ret) {
        usec_t t = 0;
        const char *e;
        int r = 0;

        if (!s)
                return -EINVAL;
        while (*s == ' ')
                s++;
        if (!*s)
                return -EINVAL;

        if (streq(s, "now"))
                t = now_usec;
        else if (streq(s, "today"))
                r = midnight(now_usec, 0, &t);
        else if (streq(s, "yesterday"))
                r = midnight(now_usec, -1, &t);
        else if (streq(s, "tomorrow"))
                r = midnight(now_usec, 1, &t);
        else if (s[0] == '+' || s[0] == '-')
                r = parse_relative(s + 1, now_usec, s[0] == '+' ? 1 : -1, &t);
        else if ((e = strrchr(s, ' ')) && streq(e, " ago")) {
                char buf[64];
                size_t l = (size_t) (e - s);

                if (l >= sizeof buf)
                        return -EINVAL;
                memcpy(buf, s, l);
                buf[l] = 0;
                r = parse_relative(buf, now_usec, -1, &t);
        } else if (s[0] == '@') {
                unsigned long long v;
                char *end;

                if (!isdigit((unsigned char) s[1]))
                        return -EINVAL;
                errno = 0;
                v = strtoull(s + 1, &end, 10);
                if (*end)
                        return -EINVAL;
                if (errno == ERANGE || v > TIMESTAMP_USEC_MAX / USEC_PER_SEC)
                        return -ERANGE;
                t = (usec_t) v * USEC_PER_SEC;
        } else
                r = parse_calendar(s, &t);
        if (r < 0)
                return r;
        if (t > TIMESTAMP_USEC_MAX)
                return -ERANGE;
        *ret = t;
        return 0;
}

char *format_timestamp(char *buf, size_t l, usec_t t) {
        time_t sec = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        assert(buf && l > 0);
        if (t == 0 || t == USEC_INFINITY || t > TIMESTAMP_USEC_MAX || !localtime_r(&sec, &tm) ||
            strftime(buf, l, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, l, "n/a");
        return buf;
}

char *format_timestamp_relative(char *buf, size_t l, usec_t t, usec_t now_usec) {
        char span[TIMESPAN_MAX];
        usec_t d;
        bool future;

        assert(buf && l > 0);
        if (t == 0 || t == USEC_INFINITY) {
                snprintf(buf, l, "n/a");
                return buf;
        }
        future = t > now_usec;
        d = future ? t - now_usec : now_usec - t;
        if (d < USEC_PER_SEC) {
                snprintf(buf, l, "now");
                return buf;
        }
        /* Two units are enough to read ("2h 5min"), the rest is noise. */
        d -= d % USEC_PER_SEC;
        format_timespan(span, sizeof span, d);
        {
                char *p = strchr(span, ' ');
                if (p && (p = strchr(p + 1, ' ')))
                        *p = 0;
        }
        snprintf(buf, l, future ? "in %s" : "%s ago", span);
        return buf;
}

bool time_zone_is_valid(const char *tz) {
        _cleanup_free_ char *path = NULL;
        const char *dir = getenv("TZDIR") ?: "/usr/share/zoneinfo";
        char magic[4];
        int fd;
        ssize_t n;

        if (isempty(tz) || strlen(tz) > 255 || tz[0] == '/' || strstr(tz, ".."))
                return false;
        for (const char *p = tz; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr("/_+-", *p)))
                        return false;
        path = strprintf("%s/%s", dir, tz);
        if (!path)
                return false;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return false;
        n = read(fd, magic, sizeof magic);
        close(fd);
        return n == (ssize_t) sizeof magic && memcmp(magic, "TZif", 4) == 0;
}

int time_zone_host(char **ret) {
        char buf[PATH_MAX];
        const char *z;
        ssize_t n;

        /* /etc/localtime -> ../usr/share/zoneinfo/Europe/Berlin, as timedatectl reads it. */
        n = readlink("/etc/localtime", buf, sizeof buf - 1);
        if (n > 0) {
                buf[n] = 0;
                z = strstr(buf, "zoneinfo/");
                if (z && time_zone_is_valid(z + strlen("zoneinfo/"))) {
                        *ret = strdup(z + strlen("zoneinfo/"));
                        return *ret ? 0 : -ENOMEM;
                }
        }
        *ret = strdup("UTC");
        return *ret ? 0 : -ENOMEM;
}

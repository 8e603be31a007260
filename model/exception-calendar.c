/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exception-calendar.h"
#include "strv.h"
#include "time-util.h"

ExceptionCalendar *exception_calendar_free(ExceptionCalendar *c) {
        if (!c)
                return NULL;
        free(c->name);
        free(c->description);
        free(c->ranges);
        return mfree(c);
}

int exception_calendar_new(const char *name, ExceptionCalendar **ret) {
        _cleanup_(exception_calendar_freep) ExceptionCalendar *c = NULL;

        if (!exception_calendar_name_is_valid(name))
                return -EINVAL;
        c = new0(ExceptionCalendar, 1);
        if (!c)
                return -ENOMEM;
        c->name = strdup(name);
        c->description = strdup("");
        if (!c->name || !c->description)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

bool exception_calendar_name_is_valid(const char *name) {
        size_t l;

        if (isempty(name))
                return false;
        l = strlen(name);
        if (l > 64)
                return false;
        for (size_t i = 0; i < l; i++) {
                char ch = name[i];
                bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
                if (!alnum && (i == 0 || !strchr("_.-", ch)))
                        return false;
        }
        return true;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned) (y - era * 400);
        unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t) doe - 719468;
}

void civil_to_ymd(civil_day_t days, int *ret_year, int *ret_month, int *ret_day) {
        int64_t z = (int64_t) days + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned) (z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t y = (int64_t) yoe + era * 400;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        unsigned d = doy - (153 * mp + 2) / 5 + 1;
        unsigned m = mp < 10 ? mp + 3 : mp - 9;

        *ret_year = (int) (y + (m <= 2));
        *ret_month = (int) m;
        *ret_day = (int) d;
}

static bool is_leap(int y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int civil_from_ymd(int year, int month, int day, civil_day_t *ret) {
        static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        if (year < CIVIL_YEAR_MIN || year > CIVIL_YEAR_MAX || month < 1 || month > 12 || day < 1)
                return -EINVAL;
        if (day > mdays[month - 1] + (month == 2 && is_leap(year)))
                return -EINVAL;
        *ret = (civil_day_t) days_from_civil(year, (unsigned) month, (unsigned) day);
        return 0;
}

/* Exactly YYYY-MM-DD; returns the characters read or -EINVAL. */
static int parse_date(const char *s, civil_day_t *ret) {
        int y, m, d;

        for (size_t i = 0; i < 10; i++) {
                bool dash = i == 4 || i == 7;
                if (dash ? s[i] != '-' : !(s[i] >= '0' && s[i] <= '9'))
                        return -EINVAL;
        }
        y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        m = (s[5] - '0') * 10 + (s[6] - '0');
        d = (s[8] - '0') * 10 + (s[9] - '0');
        if (civil_from_ymd(y, m, d, ret) < 0)
                return -EINVAL;
        return 10;
}

int exception_range_parse(const char *s, ExceptionRange *ret) {
        ExceptionRange r;

        if (!s || parse_date(s, &r.first_day) < 0)
                return -EINVAL;
        if (s[10] == 0)
                r.last_day = r.first_day;
        else if (s[10] == '.' && s[11] == '.' && parse_date(s + 12, &r.last_day) >= 0 && s[22] == 0) {
                if (r.last_day < r.first_day)
                        return -EINVAL;
        } else
                return -EINVAL;
        *ret = r;
        return 0;
}

char *exception_range_format(const ExceptionRange *r, char *buf, size_t l) {
        int y1, m1, d1, y2, m2, d2;

        civil_to_ymd(r->first_day, &y1, &m1, &d1);
        if (r->first_day == r->last_day)
                snprintf(buf, l, "%04d-%02d-%02d", y1, m1, d1);
        else {
                civil_to_ymd(r->last_day, &y2, &m2, &d2);
                snprintf(buf, l, "%04d-%02d-%02d..%04d-%02d-%02d", y1, m1, d1, y2, m2, d2);
        }
        return buf;
}

static int range_cmp(const void *a, const void *b) {
        const ExceptionRange *x = a, *y = b;
        if (x->first_day != y->first_day)
                return x->first_day < y->first_day ? -1 : 1;
        if (x->last_day != y->last_day)
                return x->last_day < y->last_day ? -1 : 1;
        return 0;
}

static bool calendar_has(const ExceptionCalendar *c, const ExceptionRange *r) {
        return c->n_ranges > 0 && bsearch(r, c->ranges, c->n_ranges, sizeof *r, range_cmp);
}

int exception_calendar_add(ExceptionCalendar *c, const ExceptionRange *ranges, size_t n) {
        ExceptionRange *a;
        size_t added = 0;

        if (n == 0)
                return 0;
        if (c->n_ranges + n > EXCEPTION_CALENDAR_RANGES_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                if (ranges[i].first_day > ranges[i].last_day)
                        return -EINVAL;
        a = reallocarray(c->ranges, c->n_ranges + n, sizeof *a);
        if (!a)
                return -ENOMEM;
        c->ranges = a;
        for (size_t i = 0; i < n; i++) {
                bool dup = calendar_has(c, &ranges[i]);
                /* Also against the ones added in this call (not sorted in yet). */
                for (size_t k = c->n_ranges; !dup && k < c->n_ranges + added; k++)
                        dup = range_cmp(&c->ranges[k], &ranges[i]) == 0;
                if (!dup)
                        c->ranges[c->n_ranges + added++] = ranges[i];
        }
        c->n_ranges += added;
        qsort(c->ranges, c->n_ranges, sizeof *c->ranges, range_cmp);
        return (int) added;
}

int exception_calendar_remove(ExceptionCalendar *c, const ExceptionRange *ranges, size_t n) {
        size_t w = 0, removed = 0;

        for (size_t i = 0; i < c->n_ranges; i++) {
                bool drop = false;
                for (size_t k = 0; !drop && k < n; k++)
                        drop = range_cmp(&c->ranges[i], &ranges[k]) == 0;
                if (drop)
                        removed++;
                else
                        c->ranges[w++] = c->ranges[i];
        }
        c->n_ranges = w;
        return (int) removed;
}

bool exception_calendar_is_closed(const ExceptionCalendar *c, civil_day_t day) {
        /* Sorted by first_day: everything from the first entry starting after day on is out. */
        for (size_t i = 0; i < c->n_ranges && c->ranges[i].first_day <= day; i++)
                if (day <= c->ranges[i].last_day)
                        return true;
        return false;
}

int civil_day_in_zone(uint64_t instant, const char *tz, civil_day_t *ret) {
        _cleanup_free_ char *saved = NULL;
        const char *old;
        time_t t = (time_t) (instant / 1000000);
        struct tm tm;
        bool ok;

        if (!isempty(tz) && !time_zone_is_valid(tz))
                return -EINVAL;
        /* glibc has no localtime for a given zone: switch TZ around the call. The daemon is
         * single-threaded; the host's setting is put back at once. */
        old = getenv("TZ");
        if (old) {
                saved = strdup(old);
                if (!saved)
                        return -ENOMEM;
        }
        if (!isempty(tz)) {
                _cleanup_free_ char *v = strprintf(":%s", tz);
                if (!v || setenv("TZ", v, 1) < 0)
                        return -ENOMEM;
                tzset();
        }
        ok = localtime_r(&t, &tm);
        if (!isempty(tz)) {
                if (saved)
                        (void) setenv("TZ", saved, 1);
                else
                        (void) unsetenv("TZ");
                tzset();
        }
        if (!ok)
                return -ERANGE;
        *ret = (civil_day_t) days_from_civil((int64_t) tm.tm_year + 1900, (unsigned) tm.tm_mon + 1,
                                             (unsigned) tm.tm_mday);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ctl-schedule-util.h"
#include "macro.h"

static const char * const schedule_action_kind_table[_SCHEDULE_ACTION_MAX] = {
        [SCHEDULE_ACTION_START] = "start",
        [SCHEDULE_ACTION_STOP] = "stop",
        [SCHEDULE_ACTION_SOFTSTOP] = "softstop",
        [SCHEDULE_ACTION_REBOOT] = "reboot",
        [SCHEDULE_ACTION_SOFTREBOOT] = "softreboot",
};
DEFINE_STRING_TABLE_LOOKUP(schedule_action_kind, ScheduleActionKind);

static bool has_control_chars(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < ' ' || *p == 0x7f)
                        return true;
        return false;
}

const char *schedule_target_problem(const char *t) {
        const char *v;

        if (isempty(t))
                return "a target must not be empty";
        if (has_control_chars(t))
                return "a target must not contain control characters";
        if ((v = startswith(t, "compartment:")) || (v = startswith(t, "compartment-only:")))
                return isempty(v) ? "expected a compartment OCID or path after the colon" : NULL;
        if ((v = startswith(t, "tag:"))) {
                const char *eq = strchr(v, '=');
                return !eq || eq == v ? "expected tag:KEY=VALUE" : NULL;
        }
        if ((v = startswith(t, "defined-tag:"))) {
                const char *eq = strchr(v, '='), *dot = strchr(v, '.');
                return !eq || !dot || dot == v || dot > eq || dot + 1 == eq ? "expected defined-tag:NAMESPACE.KEY=VALUE"
                                                                             : NULL;
        }
        /* Anything else names an instance; "tag=x" or "compartment/x" are typos worth naming. */
        if (strchr(t, ':') && !startswith(t, "ocid1."))
                return "unknown target kind (want an instance, compartment:, compartment-only:, tag: or defined-tag:)";
        return NULL;
}

static bool parse_date(const char *s, size_t n, struct tm *ret) {
        struct tm tm = {};
        char buf[11];
        const char *end;
        time_t t;

        if (n != 10)
                return false;
        memcpy(buf, s, 10);
        buf[10] = 0;
        for (size_t i = 0; i < 10; i++)
                if ((i == 4 || i == 7) ? buf[i] != '-' : (buf[i] < '0' || buf[i] > '9'))
                        return false;
        end = strptime(buf, "%Y-%m-%d", &tm);
        if (!end || *end)
                return false;
        /* strptime takes 2026-02-30; timegm normalizes it to March: a real date survives. */
        struct tm check = tm;
        t = timegm(&check);
        if (t == (time_t) -1 || check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon ||
            check.tm_year != tm.tm_year)
                return false;
        *ret = tm;
        return true;
}

const char *calendar_entry_problem(const char *e) {
        const char *dots;
        struct tm a, b;

        if (isempty(e))
                return "an entry must not be empty";
        dots = strstr(e, "..");
        if (!dots)
                return parse_date(e, strlen(e), &a) ? NULL : "expected a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD";
        if (!parse_date(e, (size_t) (dots - e), &a) || !parse_date(dots + 2, strlen(dots + 2), &b))
                return "expected a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD";
        if (timegm(&a) > timegm(&b))
                return "the range ends before it starts";
        return NULL;
}

char *format_iso8601(char *buf, size_t l, usec_t t) {
        time_t sec;
        struct tm tm;
        char date[32], zone[16];
        int off;

        if (t == 0 || t == USEC_INFINITY || l < ISO8601_MAX)
                return NULL;
        sec = (time_t) (t / USEC_PER_SEC);
        if (!localtime_r(&sec, &tm) || strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                return NULL;
        /* %z gives "+0100": ISO 8601's extended form wants "+01:00". */
        off = (int) (tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff) / 60 % (100 * 60);
        snprintf(zone, sizeof zone, "%c%02d:%02d", tm.tm_gmtoff < 0 ? '-' : '+', off / 60, off % 60);
        if (t % USEC_PER_SEC)
                snprintf(buf, l, "%s.%06llu%s", date, (unsigned long long) (t % USEC_PER_SEC), zone);
        else
                snprintf(buf, l, "%s%s", date, zone);
        return buf;
}

json_object *json_iso8601(usec_t t) {
        char buf[ISO8601_MAX];

        if (!format_iso8601(buf, sizeof buf, t))
                return NULL;
        return json_object_new_string(buf);
}

int parse_yes_no(const char *v) {
        static const char * const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char * const no[] = { "0", "no", "n", "false", "f", "off" };

        if (!v)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

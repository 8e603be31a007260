/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Microsecond time spans and clocks, as in systemd (sd-event uses the same unit). */
typedef uint64_t usec_t;

#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC  ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY  (24ULL * USEC_PER_HOUR)
#define USEC_PER_WEEK (7ULL * USEC_PER_DAY)
#define USEC_PER_MONTH (2629800ULL * USEC_PER_SEC)   /* 30.44 days, as systemd */
#define USEC_PER_YEAR (31557600ULL * USEC_PER_SEC)   /* 365.25 days, as systemd */

/* Current time of the clock in µs (CLOCK_MONOTONIC, CLOCK_REALTIME, ...). */
usec_t now(clockid_t clock);

/* Parses a time span: one or more "NUMBER[UNIT]" parts, optionally separated by spaces, e.g.
 * "15min", "30s", "1h 30min", "1.5h", "250ms". Units: us/usec, ms/msec, s/sec/second(s),
 * m/min/minute(s), h/hr/hour(s), d/day(s), w/week(s), M/month(s) (30.44 days), y/year(s)
 * (365.25 days), as systemd accepts them. A bare number means seconds.
 * Returns -EINVAL on syntax errors, -ERANGE on overflow. */
int parse_timespan(const char *s, usec_t *ret);

/* Formats a span the way parse_timespan() reads it back ("1h 30min", "250ms", "0").
 * Returns buf. l must be at least TIMESPAN_MAX. */
#define TIMESPAN_MAX 64
char *format_timespan(char *buf, size_t l, usec_t t);

/* Parses a point in time (µs since the epoch) as an operator types it, relative to now (µs):
 *   "now", "today", "yesterday", "tomorrow" (midnight, local time),
 *   "+SPAN" / "-SPAN" / "SPAN ago" (parse_timespan() syntax: "+3d", "-2h", "90min ago"),
 *   "@SECONDS" (since the epoch),
 *   "YYYY-MM-DD", "YYYY-MM-DD HH:MM", "YYYY-MM-DD HH:MM:SS" (a 'T' may replace the space),
 *   local time unless followed by " UTC" or "Z".
 * Returns -EINVAL on anything else, -ERANGE before the epoch or past year 9999. */
int parse_timestamp(const char *s, usec_t now_usec, usec_t *ret);

/* "Mon 2026-11-23 14:05:01 CET" (local time); "n/a" for 0. buf must hold TIMESTAMP_MAX. */
#define TIMESTAMP_MAX 64
char *format_timestamp(char *buf, size_t l, usec_t t);
/* "3min 2s ago" / "in 2h 5min" / "now", relative to now_usec, two most significant units. */
char *format_timestamp_relative(char *buf, size_t l, usec_t t, usec_t now_usec);

/* RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") with fixed English names, independent
 * of the locale. buf must hold HTTP_DATE_MAX bytes. Returns -EINVAL if t cannot be represented. */
#define HTTP_DATE_MAX 30
int format_http_date(char *buf, size_t l, time_t t);

/* Whether tz names a zone of the system's tz database ($TZDIR or /usr/share/zoneinfo: a TZif
 * file), refusing anything that is not a plain relative name (no "..", no leading '/'). */
bool time_zone_is_valid(const char *tz);
/* The host's zone as an IANA name (from the /etc/localtime link), "UTC" when it has none. */
int time_zone_host(char **ret);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Exception calendars (issue 10): named lists of dates and date ranges, such as holidays and
 * freezes. On a closed day a schedule's starts and reboots are skipped; stops still happen (a stop
 * never costs money). Days are civil dates, evaluated in the time zone of the schedule that
 * honours the calendar: 2026-12-25 is closed from 00:00 to 24:00 in Europe/Berlin for a Berlin
 * schedule and in America/Sao_Paulo for a Sao Paulo one.
 *
 * Domain code: no bus, no database. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "time-util.h"   /* time_zone_is_valid() */

/* A civil date as days since 1970-01-01 (proleptic Gregorian; negative before 1970). */
typedef int32_t civil_day_t;

/* One entry: first_day..last_day inclusive (equal for a single date). */
typedef struct ExceptionRange {
        civil_day_t first_day, last_day;
} ExceptionRange;

typedef struct ExceptionCalendar {
        uint64_t id;                    /* database id, 0 until stored */
        char *name;
        char *description;
        ExceptionRange *ranges;         /* sorted by first_day, then last_day; no duplicates */
        size_t n_ranges;
} ExceptionCalendar;

#define EXCEPTION_CALENDAR_RANGES_MAX 10000U
/* Years accepted in dates: wide enough for any plan, narrow enough that every day maps to an
 * instant systemd and PostgreSQL agree on. */
#define CIVIL_YEAR_MIN 1970
#define CIVIL_YEAR_MAX 9999

ExceptionCalendar *exception_calendar_free(ExceptionCalendar *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExceptionCalendar*, exception_calendar_free);
int exception_calendar_new(const char *name, ExceptionCalendar **ret);

/* Calendar names: like schedule names, [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
bool exception_calendar_name_is_valid(const char *name);

/* Y-M-D <-> days since the epoch. civil_from_ymd() returns -EINVAL for an impossible date
 * (2026-02-30) or a year outside CIVIL_YEAR_MIN..MAX. */
int civil_from_ymd(int year, int month, int day, civil_day_t *ret);
void civil_to_ymd(civil_day_t d, int *ret_year, int *ret_month, int *ret_day);

/* "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD" (first <= last). -EINVAL otherwise. */
int exception_range_parse(const char *s, ExceptionRange *ret);
/* The same syntax back; buf must hold EXCEPTION_RANGE_MAX bytes. */
#define EXCEPTION_RANGE_MAX 24
char *exception_range_format(const ExceptionRange *r, char *buf, size_t l);

/* Adds entries (kept sorted, duplicates ignored); returns the number actually added. */
int exception_calendar_add(ExceptionCalendar *c, const ExceptionRange *ranges, size_t n);
/* Removes entries equal to the given ones; returns the number removed. */
int exception_calendar_remove(ExceptionCalendar *c, const ExceptionRange *ranges, size_t n);

/* True if day lies in one of the calendar's entries. */
bool exception_calendar_is_closed(const ExceptionCalendar *c, civil_day_t day) _pure_;

/* The civil date of instant (µs since the epoch) in time zone tz (IANA name; "" or NULL = the
 * host's zone). -EINVAL for an unknown zone. */
int civil_day_in_zone(uint64_t instant, const char *tz, civil_day_t *ret);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* systemd's calendar engine, through `systemd-analyze calendar` (never a parser of our own):
 * validation and normalization of OnCalendar= specs, the next N instants after a base time, and
 * every instant in a range [from, to).
 *
 * A schedule has one or more specs and one IANA time zone. Every function takes the specs as the
 * operator wrote them ("Mon..Fri 19:00") plus the zone ("Europe/Berlin"), and hands systemd the
 * spec with the zone appended ("Mon..Fri 19:00 Europe/Berlin"), exactly what pid1-timer.h puts in
 * the timer's TimersCalendar=. A spec that already names a zone is therefore rejected, as systemd
 * rejects "Mon 19:00 UTC Europe/Berlin".
 *
 * Instants are µs since the epoch (UTC), at second precision: systemd-analyze prints seconds, so
 * sub-second repetitions ("*:*:0/0.25") collapse into one instant per second.
 *
 * The asynchronous calls run systemd-analyze as a child process watched on the caller's sd-event
 * loop (pidfd + pipes), with bounded output and a timeout: the loop never blocks. The *_sync()
 * variants run their own private loop (tests, stopstartctl).
 *
 * Errors are negative errno plus a one-line message:
 *   -EINVAL   a spec (or the zone) systemd rejects; message "Invalid calendar spec 'SPEC'"
 *             naming the spec as given, CalendarResult.invalid_index says which one
 *             (the bus layer maps this to org.stopstart.StopStart1.Error.InvalidCalendar)
 *   -ETIMEDOUT systemd-analyze did not finish in time
 *   -E2BIG    more instants than CALENDAR_MAX_INSTANTS, or more output than allowed
 *   -ENOENT   systemd-analyze is missing
 *   -EIO      unexpected output or exit status */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "time-util.h"

#define CALENDAR_MAX_SPECS        64U      /* per call */
#define CALENDAR_MAX_SPEC_LENGTH  512U     /* bytes, per spec */
#define CALENDAR_MAX_ITERATIONS   10000U   /* n of calendar_next() */
#define CALENDAR_MAX_INSTANTS     20000U   /* instants of calendar_range(): a year of 30 min slots */
#define CALENDAR_DEFAULT_TIMEOUT  (10 * USEC_PER_SEC)

typedef struct CalendarResult {
        int error;               /* 0 or negative errno */
        char *message;           /* one line when error < 0, else NULL */
        int invalid_index;       /* -EINVAL: index of the rejected spec in the input, else -1 */

        /* calendar_validate(): systemd's normalized form of every spec, zone included, e.g.
         * "Mon..Fri *-*-* 19:00:00 Europe/Berlin" (the string PID1 reports in TimersCalendar). */
        char **normalized;       /* NULL-terminated, same order as the input */

        /* calendar_next(), calendar_range(): sorted ascending, duplicates (several specs naming
         * the same instant) removed. */
        usec_t *instants;
        size_t n_instants;
} CalendarResult;

CalendarResult *calendar_result_free(CalendarResult *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(CalendarResult*, calendar_result_free);

/* Called once with the result, which the handler owns (free it with calendar_result_free() or keep
 * it). Not called when the query is cancelled with calendar_query_free(). With ret == NULL the
 * query is floating: it frees itself after the handler returns. */
typedef struct CalendarQuery CalendarQuery;
typedef void (*calendar_handler_t)(CalendarQuery *q, CalendarResult *result, void *userdata);

/* Cancels a running query (its child is killed); NULL is fine. Freeing the query from inside its
 * own handler is fine too. */
CalendarQuery *calendar_query_free(CalendarQuery *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(CalendarQuery*, calendar_query_free);

/* Validates and normalizes specs (NULL-terminated, at least one) in zone. */
int calendar_validate(sd_event *e, char * const *specs, const char *zone,
                      calendar_handler_t handler, void *userdata, CalendarQuery **ret);

/* The first n instants strictly after base, over all specs (their union). Fewer when the specs
 * run out ("Next elapse: never"). */
int calendar_next(sd_event *e, char * const *specs, const char *zone, usec_t base, unsigned n,
                  calendar_handler_t handler, void *userdata, CalendarQuery **ret);

/* Every instant in [from, to), over all specs. */
int calendar_range(sd_event *e, char * const *specs, const char *zone, usec_t from, usec_t to,
                   calendar_handler_t handler, void *userdata, CalendarQuery **ret);

/* The same, synchronously (a private event loop). On failure the result is still returned (with
 * error and message) when ret is given; the return value is result->error. */
int calendar_validate_sync(char * const *specs, const char *zone, CalendarResult **ret);
int calendar_next_sync(char * const *specs, const char *zone, usec_t base, unsigned n, CalendarResult **ret);
int calendar_range_sync(char * const *specs, const char *zone, usec_t from, usec_t to, CalendarResult **ret);

/* "Mon..Fri 19:00" + "Europe/Berlin" -> "Mon..Fri 19:00 Europe/Berlin" (what systemd is given). */
int calendar_spec_with_zone(const char *spec, const char *zone, char **ret);

/* True for a plausible IANA zone name ("Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires"):
 * letters, digits, '/', '_', '-', '+', no leading '/', no "..". Whether systemd knows it is
 * checked by calendar_validate(). */
bool calendar_zone_name_is_valid(const char *zone);

/* The host's zone: $TZ when it names a zone (":Europe/Berlin" or "Europe/Berlin"), else the target
 * of /etc/localtime below .../zoneinfo/, else "UTC". */
int calendar_host_zone(char **ret);

/* Overrides the systemd-analyze binary (tests); NULL restores the default. Not thread-safe. */
void calendar_set_analyze_path(const char *path);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

/* Logging to stderr, journal-friendly: when JOURNAL_STREAM says stderr is the journal, lines carry
 * a <N> syslog priority prefix instead of a program name. Library code logs at debug at most. */

void log_set_max_level(int level);
int log_get_max_level(void);
/* Parses "debug", "info", ..., or a number 0..7. Returns -EINVAL on anything else. */
int log_level_from_string(const char *s);
void log_set_program_name(const char *name);
/* Reads $STOPSTART_LOG_LEVEL and $JOURNAL_STREAM. */
void log_parse_environment(void);

/* Logs and returns -abs(error) (or -EIO for error 0 at error level: callers return it). */
int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...)    log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...)  log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <sys/uio.h>
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

/* Logs and returns -abs(error) (0 for error 0). */
int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

/* The same with journal fields: fields is a NULL-terminated list of "KEY=value" strings (KEY in
 * upper case, e.g. "STOPSTART_JOB=17", "MESSAGE_ID=…"). When stderr is the journal, the entry
 * goes to the journal's native socket with those fields (journalctl STOPSTART_JOB=17 finds it);
 * otherwise the line is printed as log_internal() prints it, without them. */
int log_fields_internal(int level, int error, const char *file, int line, const char *func,
                        const char * const *fields, const char *format, ...) _printf_(7, 8);
#define log_fields_errno(level, error, fields, ...) \
        log_fields_internal((level), (error), __FILE__, __LINE__, __func__, (fields), __VA_ARGS__)
#define log_fields(level, fields, ...) (void) log_fields_errno((level), 0, (fields), __VA_ARGS__)

/* Where journal entries go: sd_journal_sendv() unless a test captures them. NULL restores it.
 * Also makes the log behave as if stderr were the journal (for tests). */
typedef int (*log_journal_send_t)(const struct iovec *iov, int n);
void log_set_journal_send(log_journal_send_t send);

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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "string-table.h"

static int max_level = LOG_INFO;
static const char *program_name = NULL;
static int stderr_is_journal = 0;
static log_journal_send_t journal_send = NULL;

static const char * const log_level_table[] = {
        [LOG_EMERG] = "emerg",
        [LOG_ALERT] = "alert",
        [LOG_CRIT] = "crit",
        [LOG_ERR] = "err",
        [LOG_WARNING] = "warning",
        [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",
        [LOG_DEBUG] = "debug",
};

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_program_name(const char *name) {
        program_name = name;
}

int log_level_from_string(const char *s) {
        ssize_t i = string_table_lookup(log_level_table, ELEMENTSOF(log_level_table), s);
        if (i >= 0)
                return (int) i;
        if (s && streq(s, "error"))
                return LOG_ERR;
        if (s && s[0] >= '0' && s[0] <= '7' && s[1] == 0)
                return s[0] - '0';
        return -EINVAL;
}

void log_parse_environment(void) {
        const char *e = getenv("STOPSTART_LOG_LEVEL");
        if (e) {
                int l = log_level_from_string(e);
                if (l >= 0)
                        max_level = l;
        }

        /* JOURNAL_STREAM=dev:ino names the journal stream; only trust it if it is our stderr. */
        e = getenv("JOURNAL_STREAM");
        if (e) {
                unsigned long long dev, ino;
                struct stat st;
                if (sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
                    (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino)
                        stderr_is_journal = 1;
        }
}

void log_set_journal_send(log_journal_send_t send) {
        journal_send = send;
        stderr_is_journal = !!send;
}

static void log_line(int level, const char *file, int line, const char *func, const char *buf) {
        if (stderr_is_journal)
                fprintf(stderr, "<%i>%s\n", LOG_PRI(level), buf);
        else if (max_level >= LOG_DEBUG)
                fprintf(stderr, "%s%s(%s:%i %s) %s\n", strempty(program_name), program_name ? " " : "", file, line,
                        func, buf);
        else
                fprintf(stderr, "%s%s%s\n", strempty(program_name), program_name ? ": " : "", buf);
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...) {
        int saved_errno = errno;
        int ret = error == 0 ? 0 : -abs(error);

        if (LOG_PRI(level) <= max_level) {
                char buf[4096];
                va_list ap;

                /* %m refers to the error we were handed, not to whatever errno happens to be. */
                errno = abs(error);
                va_start(ap, format);
                vsnprintf(buf, sizeof buf, format, ap);
                va_end(ap);
                log_line(level, file, line, func, buf);
        }

        errno = saved_errno;
        return ret;
}

#define LOG_FIELDS_MAX 16

int log_fields_internal(int level, int error, const char *file, int line, const char *func,
                        const char * const *fields, const char *format, ...) {
        int saved_errno = errno;
        int ret = error == 0 ? 0 : -abs(error);

        if (LOG_PRI(level) <= max_level) {
                char buf[4096], message[4096 + 8], priority[16], code_file[256], code_line[32], code_func[128],
                     ident[64], errno_field[32];
                struct iovec iov[7 + LOG_FIELDS_MAX];
                int n = 0;
                va_list ap;

                errno = abs(error);
                va_start(ap, format);
                vsnprintf(buf, sizeof buf, format, ap);
                va_end(ap);

                if (!stderr_is_journal) {
                        log_line(level, file, line, func, buf);
                        goto finish;
                }

#define FIELD(b, ...) \
                do { snprintf(b, sizeof b, __VA_ARGS__); iov[n++] = (struct iovec) { b, strlen(b) }; } while (0)
                FIELD(message, "MESSAGE=%s", buf);
                FIELD(priority, "PRIORITY=%i", LOG_PRI(level));
                FIELD(code_file, "CODE_FILE=%s", file);
                FIELD(code_line, "CODE_LINE=%i", line);
                FIELD(code_func, "CODE_FUNC=%s", func);
                if (program_name)
                        FIELD(ident, "SYSLOG_IDENTIFIER=%s", program_name);
                if (error != 0)
                        FIELD(errno_field, "ERRNO=%i", abs(error));
#undef FIELD
                for (size_t k = 0; fields && fields[k] && k < LOG_FIELDS_MAX; k++)
                        iov[n++] = (struct iovec) { (void *) fields[k], strlen(fields[k]) };

                /* The journal gone (or full): the line still goes out on stderr. */
                if ((journal_send ?: sd_journal_sendv)(iov, n) < 0)
                        log_line(level, file, line, func, buf);
        }
finish:
        errno = saved_errno;
        return ret;
}

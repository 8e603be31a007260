/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pq-util.h"

char *pq_one_line(const char *message) {
        const char *p = strempty(message);
        char *s = malloc(strlen(p) + 1), *o = s;

        if (!s)
                return NULL;
        for (bool space = false; *p; p++) {
                if (strchr(" \t\n\r\v\f", *p)) {
                        space = o != s;
                        continue;
                }
                if (space)
                        *o++ = ' ';
                space = false;
                *o++ = *p;
        }
        *o = 0;
        return s;
}

void pq_notice_to_log(void *userdata, const char *message) {
        _cleanup_free_ char *s = pq_one_line(message);
        int level = LOG_INFO;

        if (!s)
                return;
        /* The server's severity leads the message ("NOTICE:  ...", "FATAL:  ..."). */
        if (startswith(s, "FATAL:") || startswith(s, "PANIC:") || startswith(s, "ERROR:"))
                level = LOG_WARNING;
        else if (startswith(s, "WARNING:"))
                level = LOG_NOTICE;
        else if (startswith(s, "DEBUG:") || startswith(s, "LOG:"))
                level = LOG_DEBUG;
        log_full(level, "PostgreSQL: %s", s);
}

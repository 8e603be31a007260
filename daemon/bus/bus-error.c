/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-error.h"
#include "log.h"

int bus_error_set(sd_bus_error *error, const char *name, const char *message) {
        if (message && !utf8_string_is_valid(message)) {
                log_debug("Error message for %s is not valid UTF-8; sending a generic one.", name);
                message = NULL;
        }
        return sd_bus_error_set(error, name, message ?: "The request failed.");
}

int bus_error_setf(sd_bus_error *error, const char *name, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return bus_error_set(error, name, s);
}

int bus_reply_error(sd_bus_message *call, const sd_bus_error *e) {
        int r = sd_bus_reply_method_error(call, e);
        if (r >= 0)
                return r;
        log_warning_errno(r, "Failed to send the error %s: %m; sending a generic one.", strna(e ? e->name : NULL));
        return sd_bus_reply_method_errorf(call, SD_BUS_ERROR_FAILED, "The request failed.");
}

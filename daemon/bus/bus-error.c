/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-error.h"
#include "strv.h"
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
        s = vstrprintf(fmt, ap);
        va_end(ap);
        return bus_error_set(error, name, s);
}

const char *bus_error_name(int r, BusSubject subject) {
        static const char * const no_such[_BUS_SUBJECT_MAX] = {
                [BUS_SUBJECT_INSTANCE] = SS_ERROR_NO_SUCH_INSTANCE,
                [BUS_SUBJECT_COMPARTMENT] = SS_ERROR_NO_SUCH_COMPARTMENT,
                [BUS_SUBJECT_JOB] = SS_ERROR_NO_SUCH_JOB,
                [BUS_SUBJECT_SCHEDULE] = SS_ERROR_NO_SUCH_SCHEDULE,
                [BUS_SUBJECT_CALENDAR] = SS_ERROR_NO_SUCH_CALENDAR,
                [BUS_SUBJECT_TARGET] = SS_ERROR_INVALID_TARGET,
        };

        r = -abs(r);
        /* about a statement of ours, only the database's outcomes have names of their own */
        if (subject == BUS_SUBJECT_DATABASE && r != -ENOTCONN && r != -ECANCELED && r != -ECONNRESET && r != -EINVAL)
                return SD_BUS_ERROR_FAILED;
        if (subject == BUS_SUBJECT_DATABASE_READ && r != -ENOTCONN && r != -ECANCELED && r != -ECONNRESET)
                return SD_BUS_ERROR_FAILED;

        switch (r) {
        case -ENXIO:
        case -ENOENT:
                if (subject >= 0 && subject < _BUS_SUBJECT_MAX && no_such[subject])
                        return no_such[subject];
                return SD_BUS_ERROR_FAILED;
        case -ENOTUNIQ:
                return SS_ERROR_AMBIGUOUS_NAME;
        case -EBUSY:
                return SS_ERROR_BUSY;
        case -EINVAL:
                return subject == BUS_SUBJECT_CALENDAR_SPEC ? SS_ERROR_INVALID_CALENDAR :
                       subject == BUS_SUBJECT_TARGET ? SS_ERROR_INVALID_TARGET : SS_ERROR_INVALID_CONFIG;
        case -E2BIG:
                return SS_ERROR_TOO_MANY_TARGETS;
        case -EMSGSIZE:
                return SS_ERROR_TOO_LARGE;
        case -EAGAIN:
                return SS_ERROR_NOT_LEADER;
        case -ENOTCONN:
        case -ECANCELED:
        case -ECONNRESET:
                return SS_ERROR_DATABASE_UNAVAILABLE;
        default:
                return SD_BUS_ERROR_FAILED;
        }
}

int bus_error_errno(sd_bus_error *error, int r, BusSubject subject, const char *message) {
        const char *name = bus_error_name(r, subject);
        _cleanup_free_ char *framed = NULL;

        r = -abs(r);
        if (subject == BUS_SUBJECT_DATABASE) {
                /* the database's own text, framed by what it means for the caller */
                if (r == -ENOTCONN || r == -ECANCELED)
                        framed = strprintf("The database is not reachable; nothing was changed%s%s.",
                                           isempty(message) ? "" : ": ", strempty(message));
                else if (r == -ECONNRESET)
                        message = "The database connection was lost while saving; the daemon reads the outcome "
                                  "back once it has reconnected.";
                else if (r == -EINVAL)
                        message = isempty(message) ? "The database refused the value." : message;
                else
                        framed = strprintf("Saving failed: %s", isempty(message) ? "database error" : message);
                if (framed)
                        message = framed;
        } else if (subject == BUS_SUBJECT_DATABASE_READ) {
                /* nothing was going to change: say what the caller did not get */
                if (r == -ENOTCONN || r == -ECANCELED)
                        framed = strprintf("The database is not reachable%s%s.", isempty(message) ? "" : ": ",
                                           strempty(message));
                else if (r == -ECONNRESET)
                        message = "The database connection was lost while reading; try again.";
                else
                        framed = strprintf("Reading failed: %s", isempty(message) ? "database error" : message);
                if (framed)
                        message = framed;
        }
        if (!message && streq(name, SD_BUS_ERROR_FAILED) && r < 0)
                return sd_bus_error_set_errno(error, r);
        return bus_error_set(error, name, message);
}

int bus_error_errnof(sd_bus_error *error, int r, BusSubject subject, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        s = vstrprintf(fmt, ap);
        va_end(ap);
        return bus_error_errno(error, r, subject, s);
}

int bus_reply_error(sd_bus_message *call, const sd_bus_error *e) {
        int r = sd_bus_reply_method_error(call, e);
        if (r >= 0)
                return r;
        log_warning_errno(r, "Failed to send the error %s: %m; sending a generic one.", strna(e ? e->name : NULL));
        return sd_bus_reply_method_errorf(call, SD_BUS_ERROR_FAILED, "The request failed.");
}

int bus_error_not_leader(sd_bus_error *error, const char *leader) {
        if (isempty(leader))
                return bus_error_errno(error, -EAGAIN, BUS_SUBJECT_NONE,
                                       "This stopstartd is a standby and no daemon leads at the moment; try again "
                                       "in a few seconds.");
        return bus_error_errnof(error, -EAGAIN, BUS_SUBJECT_NONE,
                                "This stopstartd is a standby: the leader %s runs actions; ask it.", leader);
}

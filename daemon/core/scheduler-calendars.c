/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The operator's changes to exception calendars: entries added or removed, a calendar removed
 * (refused while a schedule uses it); stored, then applied to memory. */
#include <stdlib.h>

#include "instance-schedules.h"
#include "manager.h"
#include "scheduler-internal.h"
#include "strv.h"

typedef struct CalCtx {
        Scheduler *s;
        char *name;
        scheduler_done_t handler;
        void *userdata;
} CalCtx;

static CalCtx *cal_ctx_new(Scheduler *s, const char *name, scheduler_done_t handler, void *userdata) {
        CalCtx *c = new0(CalCtx, 1);

        if (!c)
                return NULL;
        *c = (CalCtx) { .s = s, .name = strdup(name), .handler = handler, .userdata = userdata };
        if (!c->name)
                return mfree(c);
        return c;
}

static void cal_ctx_free(CalCtx *c) {
        free(c->name);
        free(c);
}

static void on_calendar_stored(int error, ExceptionCalendar **calendars, size_t n, const char *message,
                               void *userdata) {
        CalCtx *c = userdata;
        Scheduler *s = c->s;

        if (error < 0) {
                SchedulerErrorKind kind = error == -ENOENT ? SCHEDULER_ERROR_NO_SUCH_CALENDAR :
                                          error == -EBUSY ? SCHEDULER_ERROR_INVALID_CONFIG :
                                          scheduler_store_error_kind(error);
                _cleanup_free_ char *msg = NULL;

                if (error == -EBUSY) {
                        /* Name the schedules that still use it. */
                        _cleanup_strv_free_ char **users = NULL;
                        _cleanup_free_ char *joined = NULL;
                        for (size_t i = 0; i < s->n_entries; i++)
                                if (strv_contains(s->entries[i]->schedule->exception_calendars, c->name))
                                        (void) strv_extend(&users, s->entries[i]->schedule->name);
                        joined = strv_join(users, ", ");
                        msg = strprintf("Exception calendar %s is used by %s: remove it from them first.", c->name,
                                        isempty(joined) ? "a schedule" : joined);
                } else if (error == -ENOENT)
                        msg = strprintf("No exception calendar \"%s\".", c->name);
                scheduler_fail(s, c->handler, c->userdata, error, kind, msg ?: message);
                goto finish;
        }
        s->changes++;
        for (size_t i = 0; i < s->n_calendars; i++)
                if (streq(s->calendars[i]->name, c->name)) {
                        exception_calendar_free(s->calendars[i]);
                        s->calendars[i] = s->calendars[--s->n_calendars];
                        break;
                }
        for (size_t i = 0; i < n; i++) {
                ExceptionCalendar **k = realloc(s->calendars, (s->n_calendars + 1) * sizeof(ExceptionCalendar *));
                if (!k) {
                        exception_calendar_free(calendars[i]);
                        continue;
                }
                s->calendars = k;
                s->calendars[s->n_calendars++] = calendars[i];
        }
        free(calendars);
        calendars = NULL;
        n = 0;
        manager_schedules_changed(s->manager);  /* a closed day changes the instances' NextAction */
        if (c->handler)
                c->handler(s, NULL, c->userdata);
finish:
        for (size_t i = 0; i < n; i++)
                exception_calendar_free(calendars[i]);
        free(calendars);
        cal_ctx_free(c);
}

int scheduler_calendar_change(Scheduler *s, const char *name, char * const *entries, bool add, uid_t uid,
                              scheduler_done_t handler, void *userdata) {
        _cleanup_free_ char *actor_buf = NULL;
        _cleanup_free_ ExceptionRange *ranges = NULL;
        StoreActor actor = scheduler_actor(uid, &actor_buf);
        size_t n = strv_length((char **) entries);
        CalCtx *c;
        int r;

        if (!exception_calendar_name_is_valid(name))
                return -EINVAL;
        if (n == 0 || n > EXCEPTION_CALENDAR_RANGES_MAX)
                return -E2BIG;
        ranges = new0(ExceptionRange, n);
        if (!ranges)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = exception_range_parse(entries[i], &ranges[i]);
                if (r < 0)
                        return r;
        }
        if (!add && !scheduler_get_calendar(s, name))
                return -ENOENT;
        c = cal_ctx_new(s, name, handler, userdata);
        if (!c)
                return -ENOMEM;
        r = add ? calendar_store_add(s->manager->db, name, ranges, n, &actor, on_calendar_stored, c)
                : calendar_store_remove_entries(s->manager->db, name, ranges, n, &actor, on_calendar_stored, c);
        if (r < 0)
                cal_ctx_free(c);
        return r;
}

int scheduler_calendar_remove(Scheduler *s, const char *name, uid_t uid, scheduler_done_t handler, void *userdata) {
        _cleanup_free_ char *actor_buf = NULL;
        StoreActor actor = scheduler_actor(uid, &actor_buf);
        CalCtx *c;
        int r;

        if (!scheduler_get_calendar(s, name))
                return -ENOENT;
        c = cal_ctx_new(s, name, handler, userdata);
        if (!c)
                return -ENOMEM;
        r = calendar_store_remove(s->manager->db, name, &actor, on_calendar_stored, c);
        if (r < 0)
                cal_ctx_free(c);
        return r;
}

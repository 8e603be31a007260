/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdlib.h>

#include "bus-error.h"
#include "bus-errors.h"
#include "bus-polkit.h"
#include "bus-dict.h"
#include "instance.h"
#include "instance-schedules.h"
#include "job.h"
#include "json-util.h"
#include "log.h"
#include "manager.h"
#include "schedule-dbus.h"
#include "scheduler.h"
#include "strv.h"
#include "leader.h"

/* ---- errors: the one place scheduler errors become D-Bus names ---------------------------------------- */

int schedule_bus_set_error(sd_bus_error *error, const SchedulerError *e) {
        const char *msg = e->message;

        switch (e->kind) {
        case SCHEDULER_ERROR_INVALID_CALENDAR:
                return bus_error_errno(error, -EINVAL, BUS_SUBJECT_CALENDAR_SPEC, msg ?: "Invalid calendar spec.");
        case SCHEDULER_ERROR_INVALID_TARGET:
                return bus_error_errno(error, -EINVAL, BUS_SUBJECT_TARGET, msg ?: "Invalid target.");
        case SCHEDULER_ERROR_INVALID_CONFIG:
                return bus_error_errno(error, -EINVAL, BUS_SUBJECT_NONE, msg ?: "Invalid schedule.");
        case SCHEDULER_ERROR_NO_SUCH_SCHEDULE:
                return bus_error_errno(error, -ENXIO, BUS_SUBJECT_SCHEDULE, msg ?: "No such schedule.");
        case SCHEDULER_ERROR_NO_SUCH_CALENDAR:
                return bus_error_errno(error, -ENXIO, BUS_SUBJECT_CALENDAR, msg ?: "No such exception calendar.");
        case SCHEDULER_ERROR_TOO_MANY_TARGETS:
                return bus_error_errno(error, -E2BIG, BUS_SUBJECT_TARGET, msg ?: "Too many targets.");
        case SCHEDULER_ERROR_BUSY:
                return bus_error_errno(error, -EBUSY, BUS_SUBJECT_NONE,
                                       msg ?: "Another change of this schedule is in progress.");
        case SCHEDULER_ERROR_DATABASE:
                return bus_error_errno(error, e->error, BUS_SUBJECT_DATABASE, msg);
        default:
                if (msg)
                        return bus_error_errno(error, -EIO, BUS_SUBJECT_NONE, msg);
                return sd_bus_error_set_errno(error, e->error < 0 ? e->error : -EIO);
        }
}

static void reply_error(sd_bus_message *msg, const SchedulerError *e) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        (void) schedule_bus_set_error(&error, e);
        (void) sd_bus_reply_method_error(msg, &error);
}

static int set_error(sd_bus_error *error, int r, SchedulerErrorKind kind, const char *message) {
        SchedulerError e = { .error = r, .kind = kind, .message = message };
        return schedule_bus_set_error(error, &e);
}

static int free_and_strdup_or_enomem(char **p, const char *s) {
        char *d = strdup(s);
        if (!d)
                return -ENOMEM;
        free(*p);
        *p = d;
        return 0;
}

static char **strv_copy_or_null(char * const *l) {
        char **c = NULL;
        STRV_FOREACH(s, l)
                if (strv_extend(&c, *s) < 0)
                        return strv_free(c);
        return c;
}

static Manager *manager_of(ScheduleEntry *e) {
        return e->scheduler->manager;
}

static bool db_ready(Manager *m) {
        return m->db && db_get_state(m->db) == DB_CONNECTED;
}

/* ---- properties ------------------------------------------------------------------------------------- */

static int property_get_action(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        return sd_bus_message_append(reply, "s", schedule_action_to_string(e->schedule->action));
}

static int property_get_strv(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        char **l = streq(property, "Calendars") ? e->schedule->calendars : e->schedule->exception_calendars;
        static char *empty[] = { NULL };
        return sd_bus_message_append_strv(reply, l ?: empty);
}

static int property_get_targets(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        _cleanup_strv_free_ char **l = scheduler_targets_text(e->scheduler, e);
        static char *empty[] = { NULL };

        return sd_bus_message_append_strv(reply, l ?: empty);
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        const char *v = streq(property, "Name") ? e->schedule->name :
                        streq(property, "TimeZone") ? e->schedule->time_zone : e->schedule->window_name;
        return sd_bus_message_append(reply, "s", strempty(v));
}

static int property_get_u64(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        uint64_t v = streq(property, "Id") ? e->schedule->id :
                     streq(property, "ValidFrom") ? e->schedule->valid_from :
                     streq(property, "ValidUntil") ? e->schedule->valid_until :
                     streq(property, "MisfireGraceUSec") ? e->schedule->misfire_grace :
                     streq(property, "NextElapse") ? (e->schedule->enabled ? e->timer.next_elapse : 0) :
                     e->timer.last_trigger;
        return sd_bus_message_append(reply, "t", v);
}

static int property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        return sd_bus_message_append(reply, "b", (int) (streq(property, "Enabled") ? e->schedule->enabled
                                                                                    : e->schedule->enforce));
}

static int property_get_u32(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        uint32_t v = streq(property, "MaxTargets") ? e->schedule->max_targets
                                                   : (uint32_t) scheduler_target_count(e->scheduler, e);
        return sd_bus_message_append(reply, "u", v);
}

/* ---- reading a{sv} options ---------------------------------------------------------------------------- */

static int read_strv_variant(sd_bus_message *m, char ***ret) {
        int r = sd_bus_message_enter_container(m, 'v', "as");
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(m, ret);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static bool strv_is_sane(char **l) {
        STRV_FOREACH(s, l)
                if (strlen(*s) > BUS_STRING_ARG_MAX)
                        return false;
        return strv_length(l) <= SCHEDULE_TARGETS_MAX;
}

/* Reads options into sch (a copy being edited). ret_targets gets "targets" when given (parsing
 * them needs the inventory). create allows "enabled". Refusals: InvalidConfig naming the key. */
static int read_options(sd_bus_message *m, Schedule *sch, bool create, char ***ret_targets, unsigned *ret_keys,
                        sd_bus_error *error) {
        _cleanup_strv_free_ char **seen = NULL;
        unsigned keys = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (strv_contains(seen, key))
                        return bus_error_errnof(error, -EINVAL, BUS_SUBJECT_NONE, "Option \"%s\" given twice.", key);
                if (strlen(key) > 64)
                        return bus_error_errno(error, -EINVAL, BUS_SUBJECT_NONE, "Unknown option.");
                if (strv_extend(&seen, key) < 0)
                        return -ENOMEM;
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;

#define WANT(sig) do { if (!streq(contents, sig)) return bus_error_errnof(error, -EINVAL, BUS_SUBJECT_NONE, \
                        "Option \"%s\" wants type %s, got %s.", key, sig, contents); } while (0)
                if (streq(key, "name")) {
                        const char *v;
                        WANT("s");
                        r = sd_bus_message_read(m, "v", "s", &v);
                        if (r >= 0 && (r = free_and_strdup_or_enomem(&sch->name, v)) < 0)
                                return r;
                } else if (streq(key, "action")) {
                        const char *v;
                        ScheduleAction a;
                        WANT("s");
                        r = sd_bus_message_read(m, "v", "s", &v);
                        if (r < 0)
                                return r;
                        a = schedule_action_from_string(v);
                        if (a < 0)
                                return bus_error_errnof(error, -EINVAL, BUS_SUBJECT_NONE, "Invalid action \"%s\" "
                                                         "(start, stop, softstop, reboot, softreboot).", bus_echo(v));
                        sch->action = a;
                } else if (streq(key, "calendars") || streq(key, "exception_calendars") || streq(key, "targets")) {
                        char **l = NULL;
                        WANT("as");
                        r = read_strv_variant(m, &l);
                        if (r < 0)
                                return r;
                        if (!strv_is_sane(l)) {
                                strv_free(l);
                                return bus_error_errnof(error, -EINVAL, BUS_SUBJECT_NONE,
                                                        "Option \"%s\" is too long.", key);
                        }
                        if (streq(key, "calendars")) {
                                strv_free(sch->calendars);
                                sch->calendars = l;
                        } else if (streq(key, "exception_calendars")) {
                                strv_free(sch->exception_calendars);
                                sch->exception_calendars = l;
                        } else {
                                strv_free(*ret_targets);
                                *ret_targets = l;
                        }
                } else if (streq(key, "time_zone")) {
                        const char *v;
                        WANT("s");
                        r = sd_bus_message_read(m, "v", "s", &v);
                        if (r >= 0 && (r = free_and_strdup_or_enomem(&sch->time_zone, v)) < 0)
                                return r;
                } else if (streq(key, "valid_from") || streq(key, "valid_until") || streq(key, "misfire_grace_usec")) {
                        uint64_t v;
                        WANT("t");
                        r = sd_bus_message_read(m, "v", "t", &v);
                        if (r < 0)
                                return r;
                        if (streq(key, "valid_from"))
                                sch->valid_from = v;
                        else if (streq(key, "valid_until"))
                                sch->valid_until = v;
                        else
                                sch->misfire_grace = v;
                } else if (streq(key, "enforce") || (create && streq(key, "enabled"))) {
                        int v;
                        WANT("b");
                        r = sd_bus_message_read(m, "v", "b", &v);
                        if (r < 0)
                                return r;
                        if (streq(key, "enforce"))
                                sch->enforce = v;
                        else
                                sch->enabled = v;
                } else if (streq(key, "max_targets")) {
                        uint32_t v;
                        WANT("u");
                        r = sd_bus_message_read(m, "v", "u", &v);
                        if (r < 0)
                                return r;
                        sch->max_targets = v;
                } else
                        return bus_error_errnof(error, -EINVAL, BUS_SUBJECT_NONE,
                                                "Unknown option \"%s\".", bus_echo(key));
#undef WANT
                if (r < 0)
                        return r;
                keys++;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (ret_keys)
                *ret_keys = keys;
        return sd_bus_message_exit_container(m);
}

static int set_targets(Scheduler *s, Schedule *sch, char **targets, sd_bus_error *error) {
        _cleanup_free_ char *msg = NULL;
        int r;

        if (strv_length(targets) == 0)
                return bus_error_errno(error, -EINVAL, BUS_SUBJECT_TARGET, "A schedule needs at least one target.");
        r = schedule_set_targets(sch, targets, scheduler_inventory(s), &msg);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return bus_error_errno(error, -EINVAL, BUS_SUBJECT_TARGET, msg ?: "Invalid target.");
        return 0;
}

/* ---- schedule methods ----------------------------------------------------------------------------------- */

static void on_done_reply(Scheduler *s, const SchedulerError *e, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = userdata;

        if (e)
                reply_error(msg, e);
        else
                (void) sd_bus_reply_method_return(msg, NULL);
}

static int check_writable(Manager *m, ScheduleEntry *e, sd_bus_error *error) {
        if (!db_ready(m))
                return bus_error_errno(error, -ENOTCONN, BUS_SUBJECT_DATABASE, m->db ? db_last_error(m->db) : NULL);
        if (e && e->n_writes > 0)
                return set_error(error, -EBUSY, SCHEDULER_ERROR_BUSY, NULL);
        return 0;
}

static int verify(sd_bus_message *message, Manager *m, const char *action, const char *schedule, const char *verb,
                  sd_bus_error *error) {
        const char *details[] = { "schedule", strempty(schedule), "verb", verb, NULL };
        return bus_verify_polkit_async(message, action, details, m->polkit, error);
}

static int method_enable(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        Manager *m = manager_of(e);
        const char *member = sd_bus_message_get_member(message);
        bool enable = streq(member, "Enable");
        int r;

        if (e->schedule->enabled == enable)
                return sd_bus_reply_method_return(message, NULL);   /* nothing to do, nothing to ask */
        r = check_writable(m, e, error);
        if (r < 0)
                return r;
        r = verify(message, m, SS_POLKIT_MANAGE_SCHEDULES, e->schedule->name, enable ? "enable" : "disable", error);
        if (r <= 0)
                return r < 0 ? r : 1;
        sd_bus_message_ref(message);
        r = scheduler_set_enabled(e->scheduler, e, enable, bus_message_sender_uid(message), on_done_reply, message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return set_error(error, r, SCHEDULER_ERROR_DATABASE, NULL);
        }
        return 1;
}

static int method_delete(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        Manager *m = manager_of(e);
        int r;

        r = check_writable(m, e, error);
        if (r < 0)
                return r;
        r = verify(message, m, SS_POLKIT_MANAGE_SCHEDULES, e->schedule->name, "delete", error);
        if (r <= 0)
                return r < 0 ? r : 1;
        sd_bus_message_ref(message);
        r = scheduler_delete(e->scheduler, e, bus_message_sender_uid(message), on_done_reply, message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return set_error(error, r, SCHEDULER_ERROR_DATABASE, NULL);
        }
        return 1;
}

static int method_update(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        Scheduler *s = e->scheduler;
        Manager *m = manager_of(e);
        _cleanup_(schedule_freep) Schedule *copy = NULL, *partner_copy = NULL;
        _cleanup_strv_free_ char **targets = NULL;
        ScheduleEntry *members[2];
        size_t n_members;
        unsigned keys = 0;
        int r;

        r = schedule_copy(e->schedule, &copy);
        if (r < 0)
                return r;
        r = read_options(message, copy, false, &targets, &keys, error);
        if (r < 0)
                return r;
        if (targets) {
                r = set_targets(s, copy, targets, error);
                if (r < 0)
                        return r;
        }
        if (keys == 0)
                return sd_bus_reply_method_return(message, NULL);
        r = check_writable(m, e, error);
        if (r < 0)
                return r;

        /* A window is edited together: what the pair shares goes to the partner too. */
        n_members = scheduler_window_members(s, e, members);
        if (n_members == 2) {
                ScheduleEntry *p = members[0] == e ? members[1] : members[0];
                if (p->n_writes > 0)
                        return set_error(error, -EBUSY, SCHEDULER_ERROR_BUSY, NULL);
                r = schedule_copy(p->schedule, &partner_copy);
                if (r < 0)
                        return r;
                free(partner_copy->time_zone);
                partner_copy->time_zone = strdup(copy->time_zone);
                strv_free(partner_copy->exception_calendars);
                partner_copy->exception_calendars = strv_copy_or_null(copy->exception_calendars);
                partner_copy->valid_from = copy->valid_from;
                partner_copy->valid_until = copy->valid_until;
                partner_copy->misfire_grace = copy->misfire_grace;
                partner_copy->enforce = copy->enforce;
                partner_copy->max_targets = copy->max_targets;
                if (!partner_copy->time_zone || (copy->exception_calendars && !partner_copy->exception_calendars))
                        return -ENOMEM;
                if (targets) {
                        r = set_targets(s, partner_copy, targets, error);
                        if (r < 0)
                                return r;
                }
        }

        r = verify(message, m, SS_POLKIT_MANAGE_SCHEDULES, e->schedule->name, "update", error);
        if (r <= 0)
                return r < 0 ? r : 1;

        Schedule *list[2] = { TAKE_PTR(copy), TAKE_PTR(partner_copy) };
        sd_bus_message_ref(message);
        r = scheduler_update(s, list, list[1] ? 2 : 1, bus_message_sender_uid(message), on_done_reply, message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return set_error(error, r, SCHEDULER_ERROR_OTHER, NULL);
        }
        return 1;
}

static int append_plan(sd_bus_message *reply, const PlanItem *items, size_t n) {
        int r = sd_bus_message_open_container(reply, 'a', "(sss)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(sss)", items[i].instance_id, items[i].act ? "act" : "skip",
                                          strempty(items[i].reason));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static void on_preview(Scheduler *s, const SchedulerError *e, PreviewSlot *slots, size_t n, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = userdata, *reply = NULL;
        int r;

        if (e) {
                reply_error(msg, e);
                return;
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(tssa(sss))");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(reply, 'r', "tssa(sss)");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "tss", slots[i].at, slots[i].run ? "run" : "skip",
                                                  strempty(slots[i].reason));
                if (r >= 0)
                        r = append_plan(reply, slots[i].items, slots[i].n_items);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                (void) sd_bus_reply_method_errno(msg, r, NULL);
        preview_slots_free(slots, n);
}

static int method_preview(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        uint32_t n;
        int r;

        r = sd_bus_message_read(message, "u", &n);
        if (r < 0)
                return r;
        if (n == 0 || n > 1000)
                return bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Preview() takes a count from 1 to 1000.");
        sd_bus_message_ref(message);
        r = scheduler_preview(e->scheduler, e, n, on_preview, message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return set_error(error, r, SCHEDULER_ERROR_OTHER, NULL);
        }
        return 1;
}

static void on_simulate(Scheduler *s, const SchedulerError *e, SimulatedFiring *firings, size_t n_firings,
                        SimulatedHours *hours, size_t n_hours, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = userdata, *reply = NULL;
        int r;

        if (e) {
                reply_error(msg, e);
                return;
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(tsa(ss))");
        for (size_t i = 0; r >= 0 && i < n_firings; i++) {
                r = sd_bus_message_open_container(reply, 'r', "tsa(ss)");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "ts", firings[i].at, firings[i].action);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "(ss)");
                for (size_t k = 0; r >= 0 && k < firings[i].n; k++)
                        r = sd_bus_message_append(reply, "(ss)", firings[i].instance_ids[k], firings[i].desired[k]);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sdd)");
        for (size_t i = 0; r >= 0 && i < n_hours; i++)
                r = sd_bus_message_append(reply, "(sdd)", hours[i].instance_id, hours[i].running, hours[i].always_on);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                (void) sd_bus_reply_method_errno(msg, r, NULL);
}

static int method_simulate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        uint64_t from, to;
        int r;

        r = sd_bus_message_read(message, "tt", &from, &to);
        if (r < 0)
                return r;
        if (from == 0 || to <= from)
                return bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Simulate() wants from > 0 and to > from.");
        if (to - from > 366 * USEC_PER_DAY)
                return bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "A simulated range may span at most a year.");
        sd_bus_message_ref(message);
        r = scheduler_simulate(e->scheduler, e, from, to, on_simulate, message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return set_error(error, r, SCHEDULER_ERROR_OTHER, NULL);
        }
        return 1;
}

static int method_skip_delay(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        Manager *m = manager_of(e);
        bool delay = streq(sd_bus_message_get_member(message), "Delay");
        uint64_t at, by = 0;
        int r;

        r = delay ? sd_bus_message_read(message, "tt", &at, &by) : sd_bus_message_read(message, "t", &at);
        if (r < 0)
                return r;
        if (delay && (by == 0 || by > 30 * USEC_PER_DAY))
                return bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "A delay must be more than 0 and at most 30 days.");
        if (at != 0 && at < manager_now())
                return bus_error_errno(error, -EINVAL, BUS_SUBJECT_NONE, "That occurrence is in the past.");
        r = check_writable(m, NULL, error);
        if (r < 0)
                return r;
        r = verify(message, m, SS_POLKIT_OPERATE, e->schedule->name, delay ? "delay" : "skip", error);
        if (r <= 0)
                return r < 0 ? r : 1;
        sd_bus_message_ref(message);
        r = delay ? scheduler_delay(e->scheduler, e, at, by, bus_message_sender_uid(message), on_done_reply, message)
                  : scheduler_skip(e->scheduler, e, at, bus_message_sender_uid(message), on_done_reply, message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return set_error(error, r, SCHEDULER_ERROR_OTHER, NULL);
        }
        return 1;
}

typedef struct FireReply {
        sd_bus_message *msg;
        PlanItem *plan;
        size_t n_plan;
} FireReply;

static void on_fired(Scheduler *s, const SchedulerError *e, uint32_t job_id, void *userdata) {
        FireReply *f = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (e) {
                reply_error(f->msg, e);
                goto finish;
        }
        path = job_id > 0 ? strprintf("%s/%" PRIu32, SS_BUS_PATH_JOB, job_id) : strdup("/");
        r = path ? sd_bus_message_new_method_return(f->msg, &reply) : -ENOMEM;
        if (r >= 0)
                r = sd_bus_message_append(reply, "o", path);
        if (r >= 0)
                r = append_plan(reply, f->plan, f->n_plan);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                (void) sd_bus_reply_method_errno(f->msg, r, NULL);
finish:
        sd_bus_message_unref(f->msg);
        plan_items_free(f->plan, f->n_plan);
        free(f);
}

static int method_fire(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ScheduleEntry *e = ASSERT_PTR(userdata);
        Manager *m = manager_of(e);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        PlanItem *plan = NULL;
        size_t n_plan = 0;
        FireReply *f;
        int dry_run, r;

        r = sd_bus_message_read(message, "b", &dry_run);
        if (r < 0)
                return r;
        if (!dry_run) {
                r = check_writable(m, NULL, error);
                if (r < 0)
                        return r;
                if (!manager_is_leader(m))
                        return bus_error_not_leader(error, manager_leader(m));
                r = verify(message, m, SS_POLKIT_OPERATE, e->schedule->name, "fire", error);
                if (r <= 0)
                        return r < 0 ? r : 1;
        }
        r = scheduler_plan(e->scheduler, e, manager_now(), &plan, &n_plan);
        if (r < 0)
                return r;
        if (e->schedule->max_targets > 0 && n_plan > e->schedule->max_targets) {
                plan_items_free(plan, n_plan);
                return bus_error_errnof(error, -E2BIG, BUS_SUBJECT_TARGET,
                                         "Schedule %s targets %zu instances, more than its max_targets (%" PRIu32 ").",
                                         e->schedule->name, n_plan, e->schedule->max_targets);
        }
        if (dry_run) {
                r = sd_bus_message_new_method_return(message, &reply);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "o", "/");
                if (r >= 0)
                        r = append_plan(reply, plan, n_plan);
                plan_items_free(plan, n_plan);
                if (r < 0)
                        return r;
                return sd_bus_send(NULL, reply, NULL);
        }
        f = new0(FireReply, 1);
        if (!f) {
                plan_items_free(plan, n_plan);
                return -ENOMEM;
        }
        *f = (FireReply) { .msg = sd_bus_message_ref(message), .plan = plan, .n_plan = n_plan };
        r = scheduler_fire(e->scheduler, e, bus_message_sender_uid(message), on_fired, f);
        if (r < 0) {
                sd_bus_message_unref(f->msg);
                plan_items_free(f->plan, f->n_plan);
                free(f);
                return set_error(error, r, SCHEDULER_ERROR_DATABASE, NULL);
        }
        return 1;
}

/* ---- objects ------------------------------------------------------------------------------------------ */

static int schedule_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                                sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        const char *e = startswith(path, SS_BUS_PATH_SCHEDULE "/");
        ScheduleEntry *entry;
        char *end;
        unsigned long long id;

        if (!m->scheduler || !e || *e < '1' || *e > '9')
                return 0;
        errno = 0;
        id = strtoull(e, &end, 10);
        if (errno != 0 || *end)
                return 0;
        entry = scheduler_get(m->scheduler, id);
        if (!entry)
                return 0;
        *found = entry;
        return 1;
}

static int schedule_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_strv_free_ char **l = NULL;
        size_t n = m->scheduler ? m->scheduler->n_entries : 0;

        l = new0(char *, n + 1);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                l[i] = strdup(m->scheduler->entries[i]->bus_path);
                if (!l[i])
                        return -ENOMEM;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

static const sd_bus_vtable schedule_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "t", property_get_u64, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Action", "s", property_get_action, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Calendars", "as", property_get_strv, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TimeZone", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Targets", "as", property_get_targets, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Enabled", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ValidFrom", "t", property_get_u64, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ValidUntil", "t", property_get_u64, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MisfireGraceUSec", "t", property_get_u64, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Enforce", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExceptionCalendars", "as", property_get_strv, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MaxTargets", "u", property_get_u32, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Window", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NextElapse", "t", property_get_u64, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastTrigger", "t", property_get_u64, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Follows the inventory: read it when needed. */
        SD_BUS_PROPERTY("TargetCount", "u", property_get_u32, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("Enable", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_enable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Disable", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_enable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Delete", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", changes), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Preview", SD_BUS_ARGS("u", count), SD_BUS_RESULT("a(tssa(sss))", occurrences),
                                method_preview, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Simulate", SD_BUS_ARGS("t", from, "t", to),
                                SD_BUS_RESULT("a(tsa(ss))", occurrences, "a(sdd)", instances), method_simulate,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Skip", SD_BUS_ARGS("t", at), SD_BUS_NO_RESULT, method_skip_delay,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Delay", SD_BUS_ARGS("t", at, "t", by), SD_BUS_NO_RESULT, method_skip_delay,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Fire", SD_BUS_ARGS("b", dry_run), SD_BUS_RESULT("o", job, "a(sss)", plan), method_fire,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

const BusObjectImplementation schedule_object = {
        SS_BUS_PATH_SCHEDULE,
        SS_BUS_IFACE_SCHEDULE,
        .fallback_vtables = (const BusObjectVtablePair[]) {
                { schedule_vtable, schedule_object_find },
                {}
        },
        .node_enumerator = schedule_node_enumerator,
};

int schedule_bus_append_managed_objects(sd_bus *bus, sd_bus_message *reply, void *manager, sd_bus_error *error) {
        Manager *m = manager;
        int r;

        if (!m->scheduler)
                return 0;
        for (size_t i = 0; i < m->scheduler->n_entries; i++) {
                ScheduleEntry *e = m->scheduler->entries[i];
                r = sd_bus_message_open_container(reply, 'e', "oa{sa{sv}}");
                if (r >= 0)
                        r = sd_bus_message_append_basic(reply, 'o', e->bus_path);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "{sa{sv}}");
                if (r >= 0)
                        r = bus_append_interface_properties(bus, reply, e->bus_path, SS_BUS_IFACE_SCHEDULE,
                                                            schedule_vtable, e, error);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        return 0;
}

void schedule_bus_emit_changed(sd_bus *bus, const char *path, uint32_t props) {
        static const char * const timer[] = { "NextElapse", "LastTrigger", NULL };
        static const char * const all[] = { "Name", "Action", "Calendars", "TimeZone", "Targets", "Enabled",
                                            "ValidFrom", "ValidUntil", "MisfireGraceUSec", "Enforce",
                                            "ExceptionCalendars", "MaxTargets", "NextElapse", "LastTrigger", NULL };
        int r;

        r = sd_bus_emit_properties_changed_strv(bus, path, SS_BUS_IFACE_SCHEDULE,
                                                (char **) ((props & SCHEDULE_PROP_ALL) ? all : timer));
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for %s: %m", path);
}

/* ---- Manager methods -------------------------------------------------------------------------------- */

static int scheduler_or_error(Manager *m, sd_bus_error *error) {
        if (!m->scheduler || !m->scheduler->loaded)
                return bus_error_errno(error, -ENOTCONN, BUS_SUBJECT_DATABASE, "The schedules are not loaded yet.");
        return 0;
}

static void on_created(Scheduler *s, const SchedulerError *e, const uint64_t *ids, size_t n, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = userdata, *reply = NULL;
        int r;

        if (e) {
                reply_error(msg, e);
                return;
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                ScheduleEntry *entry = scheduler_get(s, ids[i]);
                _cleanup_free_ char *p = strprintf("%s/%" PRIu64, SS_BUS_PATH_SCHEDULE, ids[i]);
                r = p ? sd_bus_message_append(reply, "o", p) : -ENOMEM;
                (void) entry;
        }
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                (void) sd_bus_reply_method_errno(msg, r, NULL);
}

static int read_strv_arg(sd_bus_message *m, char ***ret, sd_bus_error *error) {
        int r = sd_bus_message_read_strv(m, ret);
        if (r < 0)
                return r;
        if (!strv_is_sane(*ret))
                return bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "A list argument is too long.");
        return 0;
}

/* Both creation methods build their schedules here: name, action, specs, zone, targets, options. */
static int build_schedule(Manager *m, const char *name, ScheduleAction action, char **calendars, const char *zone,
                          char **targets, const char *window, Schedule **ret, sd_bus_error *error) {
        _cleanup_(schedule_freep) Schedule *sch = NULL;
        int r;

        r = schedule_new(&sch);
        if (r < 0)
                return r;
        sch->name = strdup(name);
        sch->calendars = strv_copy_or_null(calendars);
        sch->time_zone = strdup(isempty(zone) ? scheduler_default_zone(m->scheduler) : zone);
        sch->window_name = window ? strdup(window) : NULL;
        if (!sch->name || !sch->time_zone || (calendars && !sch->calendars) || (window && !sch->window_name))
                return -ENOMEM;
        sch->action = action;
        sch->enabled = true;
        r = set_targets(m->scheduler, sch, targets, error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(sch);
        return 0;
}

int method_create_schedule(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_(schedule_freep) Schedule *sch = NULL;
        _cleanup_strv_free_ char **calendars = NULL, **targets = NULL, **opt_targets = NULL;
        const char *name, *action_s, *zone;
        ScheduleAction action;
        int r;

        r = scheduler_or_error(m, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "ss", &name, &action_s);
        if (r < 0)
                return r;
        r = read_strv_arg(message, &calendars, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "s", &zone);
        if (r < 0)
                return r;
        r = read_strv_arg(message, &targets, error);
        if (r < 0)
                return r;
        if (strlen(name) > BUS_STRING_ARG_MAX || strlen(zone) > BUS_STRING_ARG_MAX)
                return bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Argument too long.");
        action = schedule_action_from_string(action_s);
        if (action < 0)
                return bus_error_errnof(error, -EINVAL, BUS_SUBJECT_NONE,
                                         "Invalid action \"%s\" (start, stop, softstop, reboot, softreboot).", bus_echo(action_s));
        r = build_schedule(m, name, action, calendars, zone, targets, NULL, &sch, error);
        if (r < 0)
                return r;
        r = read_options(message, sch, true, &opt_targets, NULL, error);
        if (r < 0)
                return r;
        if (opt_targets) {
                r = set_targets(m->scheduler, sch, opt_targets, error);
                if (r < 0)
                        return r;
        }
        r = check_writable(m, NULL, error);
        if (r < 0)
                return r;
        r = verify(message, m, SS_POLKIT_MANAGE_SCHEDULES, name, "create", error);
        if (r <= 0)
                return r < 0 ? r : 1;

        Schedule *list[1] = { TAKE_PTR(sch) };
        sd_bus_message_ref(message);
        r = scheduler_create(m->scheduler, list, 1, bus_message_sender_uid(message), on_created, message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return set_error(error, r, SCHEDULER_ERROR_OTHER, NULL);
        }
        return 1;
}

int method_create_window(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_(schedule_freep) Schedule *up = NULL, *down = NULL;
        _cleanup_strv_free_ char **up_cal = NULL, **down_cal = NULL, **targets = NULL, **opt_targets = NULL;
        _cleanup_free_ char *up_name = NULL, *down_name = NULL;
        const char *name, *zone;
        int r;

        r = scheduler_or_error(m, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "s", &name);
        if (r >= 0)
                r = read_strv_arg(message, &up_cal, error);
        if (r >= 0)
                r = read_strv_arg(message, &down_cal, error);
        if (r >= 0)
                r = sd_bus_message_read(message, "s", &zone);
        if (r >= 0)
                r = read_strv_arg(message, &targets, error);
        if (r < 0)
                return r;
        if (!schedule_window_name_is_valid(name))
                return bus_error_errnof(error, -EINVAL, BUS_SUBJECT_NONE,
                                        "Invalid window name \"%s\".", bus_echo(name));
        up_name = strprintf("%s" SCHEDULE_WINDOW_UP_SUFFIX, name);
        down_name = strprintf("%s" SCHEDULE_WINDOW_DOWN_SUFFIX, name);
        if (!up_name || !down_name)
                return -ENOMEM;
        r = build_schedule(m, up_name, SCHEDULE_ACTION_START, up_cal, zone, targets, name, &up, error);
        if (r < 0)
                return r;
        r = build_schedule(m, down_name, SCHEDULE_ACTION_STOP, down_cal, zone, targets, name, &down, error);
        if (r < 0)
                return r;
        r = read_options(message, up, true, &opt_targets, NULL, error);
        if (r < 0)
                return r;
        /* The options apply to both: copy the shared fields over. */
        down->valid_from = up->valid_from;
        down->valid_until = up->valid_until;
        down->misfire_grace = up->misfire_grace;
        down->enforce = up->enforce;
        down->enabled = up->enabled;
        down->max_targets = up->max_targets;
        strv_free(down->exception_calendars);
        down->exception_calendars = strv_copy_or_null(up->exception_calendars);
        if (up->exception_calendars && !down->exception_calendars)
                return -ENOMEM;
        if (!streq(up->name, up_name) || up->action != SCHEDULE_ACTION_START || !streq(up->time_zone, down->time_zone))
                return bus_error_errno(error, -EINVAL, BUS_SUBJECT_NONE,
                                        "A window's options cannot change its names, actions or zone.");
        if (opt_targets) {
                r = set_targets(m->scheduler, up, opt_targets, error);
                if (r >= 0)
                        r = set_targets(m->scheduler, down, opt_targets, error);
                if (r < 0)
                        return r;
        }
        r = check_writable(m, NULL, error);
        if (r < 0)
                return r;
        r = verify(message, m, SS_POLKIT_MANAGE_SCHEDULES, name, "create-window", error);
        if (r <= 0)
                return r < 0 ? r : 1;

        Schedule *list[2] = { TAKE_PTR(up), TAKE_PTR(down) };
        sd_bus_message_ref(message);
        r = scheduler_create(m->scheduler, list, 2, bus_message_sender_uid(message), on_created, message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return set_error(error, r, SCHEDULER_ERROR_OTHER, NULL);
        }
        return 1;
}

int method_get_schedule(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        ScheduleEntry *e;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        /* right after start-up, "not loaded yet", not "no such schedule" */
        r = scheduler_or_error(m, error);
        if (r < 0)
                return r;
        e = scheduler_find(m->scheduler, name);
        if (!e)
                return bus_error_errnof(error, -ENXIO, BUS_SUBJECT_SCHEDULE, "No schedule \"%s\".", bus_echo(name));
        return sd_bus_reply_method_return(message, "o", e->bus_path);
}

int method_list_schedules(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ossbtt)");
        for (size_t i = 0; r >= 0 && m->scheduler && i < m->scheduler->n_entries; i++) {
                ScheduleEntry *e = m->scheduler->entries[i];
                r = sd_bus_message_append(reply, "(ossbtt)", e->bus_path, e->schedule->name,
                                          schedule_action_to_string(e->schedule->action), (int) e->schedule->enabled,
                                          e->schedule->enabled ? e->timer.next_elapse : (uint64_t) 0,
                                          e->timer.last_trigger);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static void on_occurrences(int error, OccurrenceRow *rows, size_t n, const char *message, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = userdata, *reply = NULL;
        int r;

        if (error < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                (void) bus_error_errno(&e, error, BUS_SUBJECT_DATABASE_READ, message);
                (void) bus_reply_error(msg, &e);
                goto finish;
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(tstssa(ssss))");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(reply, 'r', "tstssa(ssss)");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "tstss", rows[i].id, strempty(rows[i].schedule_name),
                                                  rows[i].scheduled_at, occurrence_state_to_string(rows[i].state),
                                                  strempty(rows[i].reason));
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "(ssss)");
                for (size_t k = 0; r >= 0 && k < rows[i].n_actions; k++) {
                        ActionRow *a = &rows[i].actions[k];
                        r = sd_bus_message_append(reply, "(ssss)", a->instance_id,
                                                  strempty(oci_instance_action_to_string(a->action)),
                                                  action_state_to_string(a->state),
                                                  !isempty(a->reason) ? a->reason : strempty(a->error));
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                (void) sd_bus_reply_method_errno(msg, r, NULL);
finish:
        occurrence_rows_free(rows, n);
}

int method_list_occurrences(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        OccurrenceFilter f = { .state = _OCCURRENCE_STATE_INVALID, .limit = 100, .with_actions = true };
        const char *schedule = NULL, *state = NULL;
        bool limit_given = false;
        int r;

        r = scheduler_or_error(m, error);
        if (r < 0)
                return r;
        const BusDictKey keys[] = {
                { "schedule", 's', &schedule },
                { "since", 't', &f.since },
                { "until", 't', &f.until },
                { "state", 's', &state },
                { "limit", 'u', &f.limit, &limit_given },
        };
        r = bus_read_dict(message, keys, ELEMENTSOF(keys), "filter", error);
        if (r < 0)
                return r;
        if (schedule) {
                ScheduleEntry *e = scheduler_find(m->scheduler, schedule);
                if (!e)
                        return bus_error_errnof(error, -ENXIO, BUS_SUBJECT_SCHEDULE, "No schedule \"%s\".",
                                                bus_echo(schedule));
                f.schedule_id = e->schedule->id;
        }
        if (state) {
                f.state = occurrence_state_from_string(state);
                if (f.state < 0)
                        return bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown state \"%s\".",
                                              bus_echo(state));
        }
        if (limit_given && (f.limit == 0 || f.limit > 10000))
                return bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "limit: 1 to 10000.");
        if (!db_ready(m))
                return bus_error_errno(error, -ENOTCONN, BUS_SUBJECT_DATABASE_READ, m->db ? db_last_error(m->db) : NULL);
        sd_bus_message_ref(message);
        r = occurrence_store_list(m->db, &f, on_occurrences, message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return bus_error_errno(error, r, BUS_SUBJECT_DATABASE_READ, NULL);
        }
        return 1;
}

int method_list_calendars(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sas)");
        for (size_t i = 0; r >= 0 && m->scheduler && i < m->scheduler->n_calendars; i++) {
                ExceptionCalendar *c = m->scheduler->calendars[i];
                r = sd_bus_message_open_container(reply, 'r', "sas");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "s", c->name);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "s");
                for (size_t k = 0; r >= 0 && k < c->n_ranges; k++) {
                        char buf[EXCEPTION_RANGE_MAX];
                        r = sd_bus_message_append(reply, "s", exception_range_format(&c->ranges[k], buf, sizeof buf));
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int calendar_method(sd_bus_message *message, Manager *m, bool add, sd_bus_error *error) {
        _cleanup_strv_free_ char **entries = NULL;
        const char *name;
        int r;

        r = scheduler_or_error(m, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "s", &name);
        if (r >= 0)
                r = sd_bus_message_read_strv(message, &entries);
        if (r < 0)
                return r;
        if (!exception_calendar_name_is_valid(name))
                return bus_error_errnof(error, -EINVAL, BUS_SUBJECT_NONE,
                                        "Invalid calendar name \"%s\".", bus_echo(name));
        if (strv_length(entries) == 0 || strv_length(entries) > EXCEPTION_CALENDAR_RANGES_MAX)
                return bus_error_errno(error, -EINVAL, BUS_SUBJECT_NONE, "Give 1 to 10000 dates or ranges.");
        STRV_FOREACH(e, entries) {
                ExceptionRange range;
                if (exception_range_parse(*e, &range) < 0)
                        return bus_error_errnof(error, -EINVAL, BUS_SUBJECT_NONE,
                                                 "Invalid date \"%s\" (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD).", bus_echo(*e));
        }
        if (!add && !scheduler_get_calendar(m->scheduler, name))
                return bus_error_errnof(error, -ENXIO, BUS_SUBJECT_CALENDAR,
                                        "No exception calendar \"%s\".", bus_echo(name));
        r = check_writable(m, NULL, error);
        if (r < 0)
                return r;
        r = verify(message, m, SS_POLKIT_MANAGE_SCHEDULES, name, add ? "calendar-add" : "calendar-remove-dates", error);
        if (r <= 0)
                return r < 0 ? r : 1;
        sd_bus_message_ref(message);
        r = scheduler_calendar_change(m->scheduler, name, entries, add, bus_message_sender_uid(message), on_done_reply,
                                      message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return set_error(error, r, r == -ENOENT ? SCHEDULER_ERROR_NO_SUCH_CALENDAR : SCHEDULER_ERROR_OTHER, NULL);
        }
        return 1;
}

int method_add_calendar_dates(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return calendar_method(message, ASSERT_PTR(userdata), true, error);
}

int method_remove_calendar_dates(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return calendar_method(message, ASSERT_PTR(userdata), false, error);
}

int method_remove_calendar(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_strv_free_ char **users = NULL;
        const char *name;
        int r;

        r = scheduler_or_error(m, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        if (!scheduler_get_calendar(m->scheduler, name))
                return bus_error_errnof(error, -ENXIO, BUS_SUBJECT_CALENDAR,
                                        "No exception calendar \"%s\".", bus_echo(name));
        for (size_t i = 0; i < m->scheduler->n_entries; i++)
                if (strv_contains(m->scheduler->entries[i]->schedule->exception_calendars, name) &&
                    strv_extend(&users, m->scheduler->entries[i]->schedule->name) < 0)
                        return -ENOMEM;
        if (users) {
                _cleanup_free_ char *joined = strv_join(users, ", ");
                return bus_error_errnof(error, -EINVAL, BUS_SUBJECT_NONE,
                                         "Exception calendar %s is used by %s: remove it from them first.", name,
                                         strna(joined));
        }
        r = check_writable(m, NULL, error);
        if (r < 0)
                return r;
        r = verify(message, m, SS_POLKIT_MANAGE_SCHEDULES, name, "calendar-remove", error);
        if (r <= 0)
                return r < 0 ? r : 1;
        sd_bus_message_ref(message);
        r = scheduler_calendar_remove(m->scheduler, name, bus_message_sender_uid(message), on_done_reply, message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return set_error(error, r, r == -ENOENT ? SCHEDULER_ERROR_NO_SUCH_CALENDAR : SCHEDULER_ERROR_OTHER, NULL);
        }
        return 1;
}

/* ---- the instance's view ---------------------------------------------------------------------------- */

int property_get_instance_schedules(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Instance *i = ASSERT_PTR(userdata);
        _cleanup_free_ ScheduleEntry **l = NULL;
        size_t n = 0;
        int r;

        r = instance_schedules(i, &l, &n, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "o");
        for (size_t k = 0; r >= 0 && k < n; k++)
                r = sd_bus_message_append(reply, "o", l[k]->bus_path);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* The earliest coming firing among the enabled schedules that target the instance. */
int property_get_instance_next_action(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Instance *i = ASSERT_PTR(userdata);
        _cleanup_free_ ScheduleEntry **l = NULL;
        ScheduleEntry *next = NULL;
        int r;

        r = instance_schedules(i, &l, NULL, &next);
        if (r < 0)
                return r;
        if (!next)
                return sd_bus_message_append(reply, "(sto)", "", (uint64_t) 0, "/");
        return sd_bus_message_append(reply, "(sto)", schedule_action_to_string(next->schedule->action),
                                     next->timer.next_elapse, next->bus_path);
}

json_object *schedule_explain_instance(void *manager, void *instance) {
        Manager *m = manager;
        Instance *i = instance;
        _cleanup_free_ ScheduleEntry **l = NULL;
        _cleanup_json_ json_object *a = json_object_new_array();
        size_t n = 0;

        if (!a || !m->scheduler || scheduler_schedules_of(m->scheduler, i, &l, &n) < 0)
                return TAKE_PTR(a);
        for (size_t k = 0; k < n; k++) {
                ScheduleEntry *e = l[k];
                PlanItem *plan = NULL;
                size_t n_plan = 0;
                json_object *o = json_object_new_object(), *selected = NULL;
                const char *decision = NULL, *why = NULL;
                ScheduleCandidate c = {
                        .id = i->id, .display_name = i->display_name, .compartment_id = i->compartment_id,
                        .region = i->region, .lifecycle_state = i->lifecycle_state, .freeform_tags = i->freeform_tags,
                        .defined_tags = i->defined_tags,
                };

                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        break;
                }
                /* Which of the schedule's targets selects the instance. */
                for (size_t t = 0; t < e->schedule->n_targets && !selected; t++)
                        if (schedule_target_matches(&e->schedule->targets[t], &c, scheduler_inventory(m->scheduler))) {
                                _cleanup_free_ char *text = schedule_target_to_string(&e->schedule->targets[t]);
                                selected = json_object_new_string(strempty(text));
                        }
                if (scheduler_plan(m->scheduler, e, e->timer.next_elapse ?: manager_now(), &plan, &n_plan) >= 0)
                        for (size_t p = 0; p < n_plan; p++)
                                if (streq(plan[p].instance_id, i->id)) {
                                        decision = plan[p].act ? "act" : "skip";
                                        why = plan[p].reason;
                                }
                json_object_object_add(o, "schedule", json_object_new_string(e->schedule->name));
                json_object_object_add(o, "object", json_object_new_string(e->bus_path));
                json_object_object_add(o, "action", json_object_new_string(schedule_action_to_string(e->schedule->action)));
                json_object_object_add(o, "enabled", json_object_new_boolean(e->schedule->enabled));
                json_object_object_add(o, "selected_by", selected);
                json_object_object_add(o, "next_elapse", json_object_new_uint64(e->schedule->enabled ? e->timer.next_elapse : 0));
                json_object_object_add(o, "decision", decision ? json_object_new_string(decision) : NULL);
                json_object_object_add(o, "reason", !isempty(why) ? json_object_new_string(why) : NULL);
                plan_items_free(plan, n_plan);
        }
        return TAKE_PTR(a);
}

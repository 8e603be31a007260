/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "schedule.h"
#include "strv.h"
#include "time-util.h"

static const char * const schedule_action_table[_SCHEDULE_ACTION_MAX] = {
        [SCHEDULE_ACTION_START] = "start",
        [SCHEDULE_ACTION_STOP] = "stop",
        [SCHEDULE_ACTION_SOFTSTOP] = "softstop",
        [SCHEDULE_ACTION_REBOOT] = "reboot",
        [SCHEDULE_ACTION_SOFTREBOOT] = "softreboot",
};
DEFINE_STRING_TABLE_LOOKUP(schedule_action, ScheduleAction);

static const char * const target_kind_table[_TARGET_KIND_MAX] = {
        [TARGET_INSTANCE] = "instance",
        [TARGET_COMPARTMENT] = "compartment",
        [TARGET_COMPARTMENT_ONLY] = "compartment-only",
        [TARGET_TAG] = "tag",
        [TARGET_DEFINED_TAG] = "defined-tag",
};
DEFINE_STRING_TABLE_LOOKUP(target_kind, TargetKind);

static const char * const occurrence_state_table[_OCCURRENCE_STATE_MAX] = {
        [OCCURRENCE_PENDING] = "pending",
        [OCCURRENCE_RUNNING] = "running",
        [OCCURRENCE_DONE] = "done",
        [OCCURRENCE_FAILED] = "failed",
        [OCCURRENCE_SKIPPED] = "skipped",
        [OCCURRENCE_MISSED] = "missed",
};
DEFINE_STRING_TABLE_LOOKUP(occurrence_state, OccurrenceState);

static const char * const action_state_table[_ACTION_STATE_MAX] = {
        [ACTION_PENDING] = "pending",
        [ACTION_SENT] = "sent",
        [ACTION_CONFIRMED] = "confirmed",
        [ACTION_SKIPPED] = "skipped",
        [ACTION_FAILED] = "failed",
};
DEFINE_STRING_TABLE_LOOKUP(action_state, ActionState);

static const char * const skip_reason_table[_SKIP_REASON_MAX] = {
        [SKIP_NONE] = "",
        [SKIP_UNMANAGED] = "unmanaged",
        [SKIP_OVERRIDE] = "override",
        [SKIP_CLOSED] = "closed",
        [SKIP_ALREADY] = "already",
        [SKIP_NOT_RUNNING] = "not-running",
        [SKIP_UNAVAILABLE] = "unavailable",
};
DEFINE_STRING_TABLE_LOOKUP(skip_reason, SkipReason);

static const char * const firing_decision_table[_FIRING_DECISION_MAX] = {
        [FIRING_RUN] = "run",
        [FIRING_SKIPPED] = "skipped",
        [FIRING_MISSED] = "missed",
};
DEFINE_STRING_TABLE_LOOKUP(firing_decision, FiringDecision);

/* ---- objects ---------------------------------------------------------------------------------- */

void schedule_target_done(ScheduleTarget *t) {
        if (!t)
                return;
        t->id = mfree(t->id);
        t->tag_namespace = mfree(t->tag_namespace);
        t->tag_key = mfree(t->tag_key);
        t->tag_value = mfree(t->tag_value);
}

void schedule_targets_free(ScheduleTarget *t, size_t n) {
        for (size_t i = 0; t && i < n; i++)
                schedule_target_done(&t[i]);
        free(t);
}

int schedule_new(Schedule **ret) {
        Schedule *s = new0(Schedule, 1);

        if (!s)
                return -ENOMEM;
        s->misfire_grace = SCHEDULE_MISFIRE_GRACE_DEFAULT;
        s->description = strdup("");
        if (!s->description)
                return free(s), -ENOMEM;
        *ret = s;
        return 0;
}

Schedule *schedule_free(Schedule *s) {
        if (!s)
                return NULL;
        free(s->name);
        free(s->description);
        strv_free(s->calendars);
        free(s->time_zone);
        schedule_targets_free(s->targets, s->n_targets);
        strv_free(s->exception_calendars);
        free(s->window_name);
        return mfree(s);
}

static int strdup_or_null(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static char **strv_copy(char * const *l) {
        char **c = new0(char *, strv_length(l) + 1);
        size_t n = 0;

        if (!c)
                return NULL;
        STRV_FOREACH(i, l)
                if (!(c[n++] = strdup(*i)))
                        return strv_free(c);
        return c;
}

static int target_copy(const ScheduleTarget *t, ScheduleTarget *ret) {
        *ret = (ScheduleTarget) { .kind = t->kind };
        if (strdup_or_null(t->id, &ret->id) < 0 || strdup_or_null(t->tag_namespace, &ret->tag_namespace) < 0 ||
            strdup_or_null(t->tag_key, &ret->tag_key) < 0 || strdup_or_null(t->tag_value, &ret->tag_value) < 0) {
                schedule_target_done(ret);
                return -ENOMEM;
        }
        return 0;
}

int schedule_copy(const Schedule *s, Schedule **ret) {
        _cleanup_(schedule_freep) Schedule *c = new0(Schedule, 1);

        if (!c)
                return -ENOMEM;
        *c = (Schedule) {
                .id = s->id, .action = s->action, .enabled = s->enabled, .enabled_since = s->enabled_since,
                .valid_from = s->valid_from, .valid_until = s->valid_until, .misfire_grace = s->misfire_grace,
                .enforce = s->enforce, .max_targets = s->max_targets,
        };
        if (strdup_or_null(s->name, &c->name) < 0 || strdup_or_null(s->description, &c->description) < 0 ||
            strdup_or_null(s->time_zone, &c->time_zone) < 0 || strdup_or_null(s->window_name, &c->window_name) < 0)
                return -ENOMEM;
        if (s->calendars && !(c->calendars = strv_copy(s->calendars)))
                return -ENOMEM;
        if (s->exception_calendars && !(c->exception_calendars = strv_copy(s->exception_calendars)))
                return -ENOMEM;
        if (s->n_targets > 0) {
                c->targets = new0(ScheduleTarget, s->n_targets);
                if (!c->targets)
                        return -ENOMEM;
                for (size_t i = 0; i < s->n_targets; i++) {
                        if (target_copy(&s->targets[i], &c->targets[i]) < 0)
                                return -ENOMEM;
                        c->n_targets = i + 1;
                }
        }
        *ret = TAKE_PTR(c);
        return 0;
}

bool schedule_name_is_valid(const char *name) {
        /* The same rule as exception calendars (and the database's CHECK). */
        return exception_calendar_name_is_valid(name);
}

bool schedule_window_name_is_valid(const char *name) {
        return schedule_name_is_valid(name) && strlen(name) + strlen(SCHEDULE_WINDOW_DOWN_SUFFIX) <= SCHEDULE_NAME_MAX;
}

/* ---- actions ---------------------------------------------------------------------------------- */

OciInstanceAction schedule_action_first(ScheduleAction a, StopMode mode) {
        switch (a) {
        case SCHEDULE_ACTION_START:
                return OCI_ACTION_START;
        case SCHEDULE_ACTION_STOP:
                return mode == STOP_MODE_HARD ? OCI_ACTION_STOP : OCI_ACTION_SOFTSTOP;
        case SCHEDULE_ACTION_SOFTSTOP:
                return OCI_ACTION_SOFTSTOP;
        case SCHEDULE_ACTION_REBOOT:
                return mode == STOP_MODE_HARD ? OCI_ACTION_RESET : OCI_ACTION_SOFTRESET;
        case SCHEDULE_ACTION_SOFTREBOOT:
                return OCI_ACTION_SOFTRESET;
        default:
                return _OCI_ACTION_INVALID;
        }
}

OciInstanceAction schedule_action_fallback(OciInstanceAction first) {
        return first == OCI_ACTION_SOFTSTOP ? OCI_ACTION_STOP :
               first == OCI_ACTION_SOFTRESET ? OCI_ACTION_RESET : _OCI_ACTION_INVALID;
}

OciInstanceState schedule_action_target_state(ScheduleAction a) {
        return a == SCHEDULE_ACTION_STOP || a == SCHEDULE_ACTION_SOFTSTOP ? OCI_INSTANCE_STOPPED : OCI_INSTANCE_RUNNING;
}

bool schedule_action_is_closed_by_calendar(ScheduleAction a) {
        return a == SCHEDULE_ACTION_START || a == SCHEDULE_ACTION_REBOOT || a == SCHEDULE_ACTION_SOFTREBOOT;
}

/* ---- targets ---------------------------------------------------------------------------------- */

static bool has_control_chars(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* OCI: tag keys up to 100 characters, values up to 256, namespaces up to 100; no '.' in a
 * namespace or a defined tag's key (the dot separates them). */
#define TAG_KEY_MAX 100U
#define TAG_VALUE_MAX 256U

static int fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                char *m = NULL;
                va_start(ap, fmt);
                if (vasprintf(&m, fmt, ap) < 0)
                        m = NULL;
                va_end(ap);
                free(*ret_error);
                *ret_error = m;
        }
        return r;
}

static int parse_tag(const char *text, const char *spec, bool defined, ScheduleTarget *t, char **ret_error) {
        const char *eq = strchr(spec, '='), *dot = NULL;
        _cleanup_free_ char *key = NULL;

        if (!eq || eq == spec)
                return fail(ret_error, -EINVAL, "Invalid target \"%s\": expected %s", text,
                            defined ? "defined-tag:NAMESPACE.KEY=VALUE" : "tag:KEY=VALUE");
        key = strndup(spec, (size_t) (eq - spec));
        if (!key)
                return -ENOMEM;
        if (defined) {
                dot = strchr(key, '.');
                if (!dot || dot == key || !dot[1] || strchr(dot + 1, '.'))
                        return fail(ret_error, -EINVAL,
                                    "Invalid target \"%s\": expected defined-tag:NAMESPACE.KEY=VALUE", text);
                if ((size_t) (dot - key) > TAG_KEY_MAX)
                        return fail(ret_error, -EINVAL, "Invalid target \"%s\": tag namespace too long", text);
                t->tag_namespace = strndup(key, (size_t) (dot - key));
                if (!t->tag_namespace)
                        return -ENOMEM;
                t->tag_key = strdup(dot + 1);
        } else
                t->tag_key = strdup(key);
        if (!t->tag_key)
                return -ENOMEM;
        if (strlen(t->tag_key) > TAG_KEY_MAX || strlen(eq + 1) > TAG_VALUE_MAX)
                return fail(ret_error, -EINVAL, "Invalid target \"%s\": tag key or value too long", text);
        t->tag_value = strdup(eq + 1);
        if (!t->tag_value)
                return -ENOMEM;
        t->kind = defined ? TARGET_DEFINED_TAG : TARGET_TAG;
        return 0;
}

int schedule_target_parse(const char *text, const ScheduleInventory *inv, ScheduleTarget *ret, char **ret_error) {
        ScheduleTarget t = {};
        const char *rest, *id = NULL;
        int r;

        if (isempty(text))
                return fail(ret_error, -EINVAL, "Invalid target: empty");
        if (strlen(text) > 1024 || has_control_chars(text))
                return fail(ret_error, -EINVAL, "Invalid target: too long or contains control characters");

        if ((rest = startswith(text, "tag:")) || (rest = startswith(text, "defined-tag:"))) {
                r = parse_tag(text, rest, text[0] == 'd', &t, ret_error);
        } else if ((rest = startswith(text, "compartment:")) || (rest = startswith(text, "compartment-only:"))) {
                bool only = text[strlen("compartment")] == '-';
                if (isempty(rest))
                        r = fail(ret_error, -EINVAL, "Invalid target \"%s\": no compartment given", text);
                else if ((r = inv->find_compartment(inv->userdata, rest, &id)) < 0)
                        r = fail(ret_error, r, "Invalid target \"%s\": no such compartment", text);
                else {
                        t.kind = only ? TARGET_COMPARTMENT_ONLY : TARGET_COMPARTMENT;
                        t.id = strdup(id);
                        r = t.id ? 0 : -ENOMEM;
                }
        } else {
                _cleanup_strv_free_ char **candidates = NULL;

                r = inv->find_instance(inv->userdata, text, &id, &candidates);
                if (r == -ENOTUNIQ) {
                        _cleanup_free_ char *list = strv_join(candidates, ", ");
                        r = fail(ret_error, r, "Invalid target \"%s\": several instances have this name (%s); use the OCID",
                                 text, strna(list));
                }
                else if (r < 0) {
                        /* "kind:…" with a kind we do not know reads better than "no such instance". */
                        size_t k = strspn(text, "abcdefghijklmnopqrstuvwxyz-");
                        if (k > 0 && text[k] == ':' && !startswith(text, "ocid1"))
                                r = fail(ret_error, -EINVAL,
                                         "Invalid target \"%s\": unknown kind \"%.*s\" (instance, compartment:, "
                                         "compartment-only:, tag:, defined-tag:)", text, (int) k, text);
                        else
                                r = fail(ret_error, -ENXIO, "Invalid target \"%s\": no such instance", text);
                } else {
                        t.kind = TARGET_INSTANCE;
                        t.id = strdup(id);
                        r = t.id ? 0 : -ENOMEM;
                }
        }
        if (r < 0) {
                schedule_target_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

char *schedule_target_to_string(const ScheduleTarget *t) {
        switch (t->kind) {
        case TARGET_INSTANCE:
                return strdup(t->id);
        case TARGET_COMPARTMENT:
        case TARGET_COMPARTMENT_ONLY:
                return strprintf("%s:%s", target_kind_to_string(t->kind), t->id);
        case TARGET_TAG:
                return strprintf("tag:%s=%s", t->tag_key, t->tag_value);
        case TARGET_DEFINED_TAG:
                return strprintf("defined-tag:%s.%s=%s", t->tag_namespace, t->tag_key, t->tag_value);
        default:
                return NULL;
        }
}

bool schedule_target_equal(const ScheduleTarget *a, const ScheduleTarget *b) {
        return a->kind == b->kind && streq_ptr(a->id, b->id) && streq_ptr(a->tag_namespace, b->tag_namespace) &&
               streq_ptr(a->tag_key, b->tag_key) && streq_ptr(a->tag_value, b->tag_value);
}

/* Packed "key\0value\0…\0": whether key has value. */
static bool packed_has(const char *packed, const char *ns, const char *key, const char *value) {
        size_t nsl = ns ? strlen(ns) : 0;

        for (const char *k = packed; k && *k;) {
                const char *v = k + strlen(k) + 1;
                bool key_ok = ns ? strneq(k, ns, nsl) && k[nsl] == '.' && streq(k + nsl + 1, key) : streq(k, key);
                if (key_ok && streq(v, value))
                        return true;
                k = v + strlen(v) + 1;
        }
        return false;
}

bool schedule_target_matches(const ScheduleTarget *t, const ScheduleCandidate *c, const ScheduleInventory *inv) {
        switch (t->kind) {
        case TARGET_INSTANCE:
                return streq(c->id, t->id);
        case TARGET_COMPARTMENT:
                return c->compartment_id && inv->in_subtree(inv->userdata, c->compartment_id, t->id);
        case TARGET_COMPARTMENT_ONLY:
                return streq_ptr(c->compartment_id, t->id);
        case TARGET_TAG:
                return packed_has(c->freeform_tags, NULL, t->tag_key, t->tag_value);
        case TARGET_DEFINED_TAG:
                return packed_has(c->defined_tags, t->tag_namespace, t->tag_key, t->tag_value);
        default:
                return false;
        }
}

int schedule_set_targets(Schedule *s, char * const *texts, const ScheduleInventory *inv, char **ret_error) {
        size_t n = strv_length(texts), k = 0;
        ScheduleTarget *l;
        int r;

        if (n == 0)
                return fail(ret_error, -EINVAL, "A schedule needs at least one target.");
        if (n > SCHEDULE_TARGETS_MAX)
                return fail(ret_error, -EINVAL, "Too many targets (at most %u).", SCHEDULE_TARGETS_MAX);
        l = new0(ScheduleTarget, n);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                bool dup = false;
                r = schedule_target_parse(texts[i], inv, &l[k], ret_error);
                if (r < 0) {
                        schedule_targets_free(l, k);
                        return r;
                }
                for (size_t j = 0; j < k && !dup; j++)
                        dup = schedule_target_equal(&l[j], &l[k]);
                if (dup)
                        schedule_target_done(&l[k]);
                else
                        k++;
        }
        schedule_targets_free(s->targets, s->n_targets);
        s->targets = l;
        s->n_targets = k;
        return 0;
}

int schedule_targets_to_strv(const Schedule *s, char ***ret) {
        char **l = new0(char *, s->n_targets + 1);

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_targets; i++)
                if (!(l[i] = schedule_target_to_string(&s->targets[i]))) {
                        strv_free(l);
                        return -ENOMEM;
                }
        *ret = l;
        return 0;
}

typedef struct ResolveContext {
        const Schedule *schedule;
        const ScheduleInventory *inv;
        ScheduleCandidate *list;
        size_t n, allocated;
        int error;
} ResolveContext;

static int resolve_one(const ScheduleCandidate *c, void *userdata) {
        ResolveContext *ctx = userdata;

        for (size_t i = 0; i < ctx->schedule->n_targets; i++) {
                if (!schedule_target_matches(&ctx->schedule->targets[i], c, ctx->inv))
                        continue;
                if (ctx->n == ctx->allocated) {
                        size_t a = MAX(ctx->allocated * 2, 16U);
                        ScheduleCandidate *p = reallocarray(ctx->list, a, sizeof *p);
                        if (!p) {
                                ctx->error = -ENOMEM;
                                return 1;
                        }
                        ctx->list = p;
                        ctx->allocated = a;
                }
                ctx->list[ctx->n++] = *c;
                break;  /* each instance once, however many targets match it */
        }
        return 0;
}

int schedule_resolve(const Schedule *s, const ScheduleInventory *inv, ScheduleCandidate **ret, size_t *ret_n) {
        ResolveContext ctx = { .schedule = s, .inv = inv };

        inv->foreach_instance(inv->userdata, resolve_one, &ctx);
        if (ctx.error < 0) {
                free(ctx.list);
                return ctx.error;
        }
        *ret = ctx.list;
        *ret_n = ctx.n;
        return 0;
}

/* ---- validation ------------------------------------------------------------------------------- */

int schedule_verify(const Schedule *s, char **ret_error) {
        size_t n;

        if (!schedule_name_is_valid(s->name))
                return fail(ret_error, -EINVAL,
                            "Invalid schedule name \"%s\": 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or "
                            "digit.", strna(s->name));
        if (!schedule_action_to_string(s->action))
                return fail(ret_error, -EINVAL, "Invalid action: start, stop, softstop, reboot or softreboot.");
        n = strv_length(s->calendars);
        if (n == 0)
                return fail(ret_error, -EINVAL, "A schedule needs at least one calendar spec.");
        if (n > SCHEDULE_CALENDARS_MAX)
                return fail(ret_error, -EINVAL, "Too many calendar specs (at most %u).", SCHEDULE_CALENDARS_MAX);
        STRV_FOREACH(c, s->calendars) {
                if (isempty(*c) || strlen(*c) > SCHEDULE_CALENDAR_SPEC_MAX || has_control_chars(*c))
                        return fail(ret_error, -EINVAL, "Invalid calendar spec \"%s\".", *c);
                /* as the exception calendars: a repeated value is a mistake, not a wish */
                for (char * const *d = s->calendars; d < c; d++)
                        if (streq(*c, *d))
                                return fail(ret_error, -EINVAL, "Calendar spec \"%s\" given twice.", *c);
        }
        if (!time_zone_is_valid(s->time_zone))
                return fail(ret_error, -EINVAL, "Unknown time zone \"%s\".", strna(s->time_zone));
        if (s->valid_from > 0 && s->valid_until > 0 && s->valid_from >= s->valid_until)
                return fail(ret_error, -EINVAL, "valid_from must be before valid_until.");
        if (s->misfire_grace > SCHEDULE_MISFIRE_GRACE_MAX)
                return fail(ret_error, -EINVAL, "The misfire grace may be at most a week.");
        if (s->misfire_grace < SCHEDULE_MISFIRE_GRACE_MIN)
                return fail(ret_error, -EINVAL, "The misfire grace must be at least 1s (a timer fires a little "
                            "after its instant: every firing would be missed).");
        if (strlen(strempty(s->description)) > SCHEDULE_DESCRIPTION_MAX || has_control_chars(strempty(s->description)))
                return fail(ret_error, -EINVAL, "Invalid description.");
        if (s->n_targets == 0)
                return fail(ret_error, -EINVAL, "A schedule needs at least one target.");
        if (strv_length(s->exception_calendars) > SCHEDULE_EXCEPTIONS_MAX)
                return fail(ret_error, -EINVAL, "Too many exception calendars (at most %u).", SCHEDULE_EXCEPTIONS_MAX);
        STRV_FOREACH(c, s->exception_calendars) {
                if (!exception_calendar_name_is_valid(*c))
                        return fail(ret_error, -EINVAL, "Invalid exception calendar name \"%s\".", *c);
                for (char * const *d = s->exception_calendars; d < c; d++)
                        if (streq(*c, *d))
                                return fail(ret_error, -EINVAL, "Exception calendar \"%s\" given twice.", *c);
        }
        if (s->window_name) {
                const char *suffix = s->action == SCHEDULE_ACTION_START ? SCHEDULE_WINDOW_UP_SUFFIX
                                                                          : SCHEDULE_WINDOW_DOWN_SUFFIX;
                size_t l = strlen(s->window_name);
                if (!schedule_window_name_is_valid(s->window_name))
                        return fail(ret_error, -EINVAL, "Invalid window name \"%s\".", s->window_name);
                if (!(s->action == SCHEDULE_ACTION_START || s->action == SCHEDULE_ACTION_STOP ||
                      s->action == SCHEDULE_ACTION_SOFTSTOP) || !strneq(s->name, s->window_name, l) ||
                    !streq(s->name + l, suffix))
                        return fail(ret_error, -EINVAL,
                                    "A window is the pair %s-up (start) and %s-down (stop or softstop).",
                                    s->window_name, s->window_name);
        }
        return 0;
}

/* ---- decisions -------------------------------------------------------------------------------- */

FiringDecision schedule_decide_firing(const Schedule *s, uint64_t instant, uint64_t now, const char **ret_reason) {
        const char *reason = NULL;
        FiringDecision d = FIRING_SKIPPED;

        /* Disabled wins over missed: a slot that passed while disabled was never due. */
        if (!s->enabled)
                reason = "The schedule is disabled.";
        else if (instant < s->enabled_since)
                reason = "The slot passed while the schedule was disabled.";
        else if (s->valid_from > 0 && instant < s->valid_from)
                reason = "The slot is before the schedule's valid_from.";
        else if (s->valid_until > 0 && instant >= s->valid_until)
                reason = "The slot is after the schedule's valid_until.";
        else if (now > instant && now - instant > s->misfire_grace) {
                d = FIRING_MISSED;
                reason = "Fired later than the misfire grace allows (stopstartd, the host or the service manager "
                         "was down).";
        } else
                d = FIRING_RUN;
        if (ret_reason)
                *ret_reason = reason;
        return d;
}

SkipReason schedule_decide_instance(const Schedule *s, const ScheduleCandidate *c, OciInstanceState state,
                                    const char *closed_by, OciInstanceAction *ret_action) {
        bool in_target, moving_to_target, actionable;

        if (!c->managed)
                return SKIP_UNMANAGED;
        if (c->override_state != OVERRIDE_NONE)
                return SKIP_OVERRIDE;
        if (closed_by && schedule_action_is_closed_by_calendar(s->action))
                return SKIP_CLOSED;

        switch (s->action) {
        case SCHEDULE_ACTION_START:
                in_target = state == OCI_INSTANCE_RUNNING;
                moving_to_target = state == OCI_INSTANCE_STARTING || state == OCI_INSTANCE_PROVISIONING;
                actionable = state == OCI_INSTANCE_STOPPED || state == OCI_INSTANCE_STOPPING;
                break;
        case SCHEDULE_ACTION_STOP:
        case SCHEDULE_ACTION_SOFTSTOP:
                in_target = state == OCI_INSTANCE_STOPPED;
                moving_to_target = state == OCI_INSTANCE_STOPPING;
                actionable = state == OCI_INSTANCE_RUNNING || state == OCI_INSTANCE_STARTING ||
                             state == OCI_INSTANCE_PROVISIONING;
                break;
        case SCHEDULE_ACTION_REBOOT:
        case SCHEDULE_ACTION_SOFTREBOOT:
                /* A reboot has no "already": a running instance is rebooted, a stopped one left so. */
                if (state == OCI_INSTANCE_STOPPED || state == OCI_INSTANCE_STOPPING)
                        return SKIP_NOT_RUNNING;
                in_target = moving_to_target = false;
                actionable = state == OCI_INSTANCE_RUNNING || state == OCI_INSTANCE_STARTING ||
                             state == OCI_INSTANCE_PROVISIONING;
                break;
        default:
                return SKIP_UNAVAILABLE;
        }
        /* Acting on transitions: what is there already stays untouched. With enforce, an instance
         * only on its way there is followed until it arrives (and acted on if it does not). */
        if (in_target || (moving_to_target && !s->enforce))
                return SKIP_ALREADY;
        if (!actionable && !moving_to_target)
                return SKIP_UNAVAILABLE;
        if (ret_action)
                *ret_action = schedule_action_first(s->action, c->stop_mode);
        return SKIP_NONE;
}

char *schedule_skip_reason_text(SkipReason r, const ScheduleCandidate *c, OciInstanceState state,
                                const char *closed_by) {
        const char *st = oci_instance_state_to_string(state) ?: strna(c->lifecycle_state);

        switch (r) {
        case SKIP_UNMANAGED:
                return strdup("unmanaged (managed=no)");
        case SKIP_OVERRIDE:
                return strprintf("override: kept %s", override_state_to_string(c->override_state));
        case SKIP_CLOSED:
                return strprintf("closed by exception calendar %s", strna(closed_by));
        case SKIP_ALREADY:
                return strprintf("already %s", st);
        case SKIP_NOT_RUNNING:
                return strprintf("%s: nothing to reboot", st);
        case SKIP_UNAVAILABLE:
                return strprintf("%s: nothing to act on", st);
        default:
                return strdup("");
        }
}

int schedule_closed_by(const Schedule *s, ExceptionCalendar * const *calendars, size_t n_calendars,
                       uint64_t instant, const char **ret_name) {
        civil_day_t day;
        int r;

        *ret_name = NULL;
        if (n_calendars == 0 || !schedule_action_is_closed_by_calendar(s->action))
                return 0;
        r = civil_day_in_zone(instant, s->time_zone, &day);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_calendars; i++)
                if (calendars[i] && strv_contains(s->exception_calendars, calendars[i]->name) &&
                    exception_calendar_is_closed(calendars[i], day)) {
                        *ret_name = calendars[i]->name;
                        return 1;
                }
        return 0;
}

static int candidate_priority_cmp(const void *a, const void *b) {
        const ScheduleCandidate *x = a, *y = b;

        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        return strcmp(x->id, y->id);
}

size_t schedule_order_by_priority(ScheduleCandidate *c, size_t n, size_t *ret_group_ends) {
        size_t groups = 0;

        if (n == 0)
                return 0;
        qsort(c, n, sizeof *c, candidate_priority_cmp);
        for (size_t i = 1; i <= n; i++)
                if (i == n || c[i].priority != c[i - 1].priority) {
                        if (ret_group_ends)
                                ret_group_ends[groups] = i;
                        groups++;
                }
        return groups;
}

int occurrence_retry_token(uint64_t occurrence_id, const char *instance_id, OciInstanceAction action, char **ret) {
        _cleanup_free_ char *key = NULL;
        const char *a = oci_instance_action_to_string(action);

        if (occurrence_id == 0 || isempty(instance_id) || !a)
                return -EINVAL;
        key = strprintf("stopstart:occurrence:%" PRIu64 ":%s:%s", occurrence_id, instance_id, a);
        if (!key)
                return -ENOMEM;
        return oci_retry_token_from_key(key, ret);
}

void schedule_plan_free(SchedulePlanEntry *e, size_t n) {
        for (size_t i = 0; e && i < n; i++)
                free(e[i].reason);
        free(e);
}

int schedule_plan(const Schedule *s, const ScheduleCandidate *c, size_t n, const char *closed_by,
                  SchedulePlanEntry **ret) {
        SchedulePlanEntry *e = new0(SchedulePlanEntry, n);

        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                OciInstanceState st = oci_instance_state_from_string(c[i].lifecycle_state);
                OciInstanceAction a = schedule_action_first(s->action, c[i].stop_mode);

                e[i].instance_id = c[i].id;
                e[i].skip = schedule_decide_instance(s, &c[i], st, closed_by, &a);
                e[i].action = a;
                e[i].reason = e[i].skip == SKIP_NONE ? strdup("")
                                                    : schedule_skip_reason_text(e[i].skip, &c[i], st, closed_by);
                if (!e[i].reason) {
                        schedule_plan_free(e, n);
                        return -ENOMEM;
                }
        }
        *ret = e;
        return 0;
}

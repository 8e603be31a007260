/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "instance-config.h"
#include "time-util.h"
#include "json-util.h"
#include "strv.h"

static const char * const config_key_table[_CONFIG_KEY_MAX] = {
        [CONFIG_MANAGED] = "managed",
        [CONFIG_STOP_MODE] = "stop_mode",
        [CONFIG_SOFT_STOP_TIMEOUT] = "soft_stop_timeout",
        [CONFIG_PRIORITY] = "priority",
        [CONFIG_NOTE] = "note",
        [CONFIG_OVERRIDE_STATE] = "override_state",
        [CONFIG_OVERRIDE_UNTIL] = "override_until",
};
DEFINE_STRING_TABLE_LOOKUP(config_key, ConfigKey);

static const char * const stop_mode_table[_STOP_MODE_MAX] = {
        [STOP_MODE_SOFT] = "soft",
        [STOP_MODE_HARD] = "hard",
};
DEFINE_STRING_TABLE_LOOKUP(stop_mode, StopMode);

static const char * const override_state_table[_OVERRIDE_STATE_MAX] = {
        [OVERRIDE_NONE] = "",
        [OVERRIDE_RUNNING] = "running",
        [OVERRIDE_STOPPED] = "stopped",
};
DEFINE_STRING_TABLE_LOOKUP(override_state, OverrideState);

static const char config_key_types[_CONFIG_KEY_MAX] = {
        [CONFIG_MANAGED] = 'b',
        [CONFIG_STOP_MODE] = 's',
        [CONFIG_SOFT_STOP_TIMEOUT] = 't',
        [CONFIG_PRIORITY] = 'i',
        [CONFIG_NOTE] = 's',
        [CONFIG_OVERRIDE_STATE] = 's',
        [CONFIG_OVERRIDE_UNTIL] = 't',
};

char config_key_type(ConfigKey k) {
        if (k < 0 || k >= _CONFIG_KEY_MAX)
                return 0;
        return config_key_types[k];
}

static const char *type_name(char t) {
        switch (t) {
        case 'b': return "a boolean (b)";
        case 's': return "a string (s)";
        case 't': return "microseconds (t)";
        case 'i': return "an integer (i)";
        default: return "a value of another type";
        }
}

void instance_config_done(InstanceConfig *c) {
        if (!c)
                return;
        c->note = mfree(c->note);
        c->set = 0;
}

int instance_config_copy(const InstanceConfig *src, InstanceConfig *ret) {
        char *note = NULL;

        if (src->note) {
                note = strdup(src->note);
                if (!note)
                        return -ENOMEM;
        }
        *ret = *src;
        ret->note = note;
        return 0;
}

void instance_config_unset(InstanceConfig *c, ConfigKey k) {
        c->set &= ~CONFIG_KEY_BIT(k);
        switch (k) {
        case CONFIG_MANAGED: c->managed = false; break;
        case CONFIG_STOP_MODE: c->stop_mode = 0; break;
        case CONFIG_SOFT_STOP_TIMEOUT: c->soft_stop_timeout = 0; break;
        case CONFIG_PRIORITY: c->priority = 0; break;
        case CONFIG_NOTE: c->note = mfree(c->note); break;
        case CONFIG_OVERRIDE_STATE: c->override_state = OVERRIDE_NONE; break;
        case CONFIG_OVERRIDE_UNTIL: c->override_until = 0; break;
        default: break;
        }
}

bool instance_config_equal(const InstanceConfig *a, const InstanceConfig *b) {
        if (a->set != b->set)
                return false;
        for (ConfigKey k = 0; k < _CONFIG_KEY_MAX; k++) {
                if (!instance_config_is_set(a, k))
                        continue;
                switch (k) {
                case CONFIG_MANAGED:
                        if (a->managed != b->managed)
                                return false;
                        break;
                case CONFIG_STOP_MODE:
                        if (a->stop_mode != b->stop_mode)
                                return false;
                        break;
                case CONFIG_SOFT_STOP_TIMEOUT:
                        if (a->soft_stop_timeout != b->soft_stop_timeout)
                                return false;
                        break;
                case CONFIG_PRIORITY:
                        if (a->priority != b->priority)
                                return false;
                        break;
                case CONFIG_NOTE:
                        if (!streq_ptr(a->note, b->note))
                                return false;
                        break;
                case CONFIG_OVERRIDE_STATE:
                        if (a->override_state != b->override_state)
                                return false;
                        break;
                case CONFIG_OVERRIDE_UNTIL:
                        if (a->override_until != b->override_until)
                                return false;
                        break;
                default:
                        break;
                }
        }
        return true;
}

static int refuse(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int refuse(char **ret_error, const char *fmt, ...) {
        if (ret_error) {
                va_list ap;
                char *s = NULL;
                va_start(ap, fmt);
                if (vasprintf(&s, fmt, ap) < 0)
                        s = NULL;
                va_end(ap);
                free(*ret_error);
                *ret_error = s;
        }
        return -EINVAL;
}

static bool note_is_valid(const char *s) {
        /* Free text, one or more lines; other control characters only confuse terminals. */
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p < ' ' && *p != '\n' && *p != '\t') || *p == 0x7f)
                        return false;
        return true;
}

int instance_config_set(InstanceConfig *c, const char *key, const ConfigValue *v, uint64_t now, char **ret_error) {
        ConfigKey k;
        char t;

        assert(c);
        assert(key);
        assert(v);

        k = config_key_from_string(key);
        if (k < 0) {
                /* Callers may hand us anything: keep the message short and printable. */
                if (strlen(key) > 64 || !note_is_valid(key) || strchr(key, '\n'))
                        return refuse(ret_error, "Unknown configuration key.");
                return refuse(ret_error, "Unknown configuration key '%s'.", key);
        }

        if (v->type == 's' && v->s && streq(v->s, CONFIG_INHERIT)) {
                if (k == CONFIG_OVERRIDE_STATE || k == CONFIG_OVERRIDE_UNTIL) {
                        instance_config_unset(c, CONFIG_OVERRIDE_STATE);
                        instance_config_unset(c, CONFIG_OVERRIDE_UNTIL);
                } else
                        instance_config_unset(c, k);
                return 0;
        }

        t = config_key_type(k);
        if (v->type != t)
                return refuse(ret_error, "Key '%s' takes %s or the string \"inherit\", not %s.", key, type_name(t),
                              type_name(v->type));

        switch (k) {
        case CONFIG_MANAGED:
                c->managed = v->b;
                break;

        case CONFIG_STOP_MODE: {
                StopMode m = stop_mode_from_string(v->s);
                if (m < 0)
                        return refuse(ret_error, "Key 'stop_mode' takes \"soft\" or \"hard\".");
                c->stop_mode = m;
                break;
        }

        case CONFIG_SOFT_STOP_TIMEOUT:
                if (v->t == 0 || v->t > CONFIG_SOFT_STOP_TIMEOUT_MAX) {
                        char got[TIMESPAN_MAX], max[TIMESPAN_MAX];
                        return refuse(ret_error, "Key 'soft_stop_timeout' takes a duration of more than 0 and at most "
                                      "%s, not %s.", format_timespan(max, sizeof max, CONFIG_SOFT_STOP_TIMEOUT_MAX),
                                      format_timespan(got, sizeof got, v->t));
                }
                c->soft_stop_timeout = v->t;
                break;

        case CONFIG_PRIORITY:
                c->priority = v->i;
                break;

        case CONFIG_NOTE: {
                char *n;
                if (strlen(v->s) > CONFIG_NOTE_MAX)
                        return refuse(ret_error, "Key 'note' takes at most %u bytes.", CONFIG_NOTE_MAX);
                if (!note_is_valid(v->s))
                        return refuse(ret_error, "Key 'note' takes text without control characters.");
                n = strdup(v->s);
                if (!n)
                        return -ENOMEM;
                free(c->note);
                c->note = n;
                break;
        }

        case CONFIG_OVERRIDE_STATE: {
                OverrideState s = override_state_from_string(v->s);
                if (s <= OVERRIDE_NONE)
                        return refuse(ret_error, "Key 'override_state' takes \"running\" or \"stopped\" "
                                      "(\"inherit\" removes the override).");
                c->override_state = s;
                break;
        }

        case CONFIG_OVERRIDE_UNTIL:
                if (v->t <= now)
                        return refuse(ret_error, "Key 'override_until' must lie in the future.");
                if (v->t - now > CONFIG_OVERRIDE_AHEAD_MAX)
                        return refuse(ret_error, "Key 'override_until' lies more than ten years ahead.");
                c->override_until = v->t;
                break;

        default:
                assert(false);
        }

        c->set |= CONFIG_KEY_BIT(k);
        return 0;
}

int instance_config_verify(const InstanceConfig *c, char **ret_error) {
        bool state = instance_config_is_set(c, CONFIG_OVERRIDE_STATE),
             until = instance_config_is_set(c, CONFIG_OVERRIDE_UNTIL);

        if (state && !until)
                return refuse(ret_error, "Key 'override_state' needs 'override_until' (when the override ends).");
        if (until && !state)
                return refuse(ret_error, "Key 'override_until' needs 'override_state' (\"running\" or \"stopped\").");
        return 0;
}

bool instance_config_override_expired(const InstanceConfig *c, uint64_t now) {
        return instance_config_is_set(c, CONFIG_OVERRIDE_UNTIL) && c->override_until <= now;
}

uint64_t instance_config_next_expiry(const InstanceConfig *c) {
        return instance_config_is_set(c, CONFIG_OVERRIDE_UNTIL) ? c->override_until : UINT64_MAX;
}

static void config_copy_key(InstanceConfig *dst, const InstanceConfig *src, ConfigKey k) {
        switch (k) {
        case CONFIG_MANAGED: dst->managed = src->managed; break;
        case CONFIG_STOP_MODE: dst->stop_mode = src->stop_mode; break;
        case CONFIG_SOFT_STOP_TIMEOUT: dst->soft_stop_timeout = src->soft_stop_timeout; break;
        case CONFIG_PRIORITY: dst->priority = src->priority; break;
        case CONFIG_NOTE: dst->note = src->note; break;
        case CONFIG_OVERRIDE_STATE: dst->override_state = src->override_state; break;
        case CONFIG_OVERRIDE_UNTIL: dst->override_until = src->override_until; break;
        default: break;
        }
        dst->set |= CONFIG_KEY_BIT(k);
}

static const InstanceConfig config_defaults = {
        .set = CONFIG_KEYS_ALL & ~CONFIG_KEYS_OVERRIDE,
        .managed = false,
        .stop_mode = STOP_MODE_SOFT,
        .soft_stop_timeout = CONFIG_SOFT_STOP_TIMEOUT_DEFAULT,
        .priority = 0,
        .note = (char *) "",
        .override_state = OVERRIDE_NONE,
        .override_until = 0,
};

void instance_config_resolve(const ConfigLayer *layers, size_t n, uint64_t now, InstanceConfig *ret,
                             int ret_sources[_CONFIG_KEY_MAX]) {
        InstanceConfig r = {
                .note = (char *) "",
        };

        for (ConfigKey k = 0; k < _CONFIG_KEY_MAX; k++) {
                int source = -1;

                for (size_t i = 0; i < n; i++) {
                        const InstanceConfig *c = layers[i].config;
                        if (!c || !instance_config_is_set(c, k))
                                continue;
                        /* The pair lives and dies together: an expired one is as good as unset. */
                        if ((k == CONFIG_OVERRIDE_STATE || k == CONFIG_OVERRIDE_UNTIL) &&
                            instance_config_override_expired(c, now))
                                continue;
                        source = (int) i;
                        config_copy_key(&r, c, k);
                        break;
                }
                if (source < 0 && instance_config_is_set(&config_defaults, k))
                        config_copy_key(&r, &config_defaults, k);
                if (ret_sources)
                        ret_sources[k] = source;
        }

        if (!r.note)
                r.note = (char *) "";
        *ret = r;
}

uint64_t instance_config_hash(const InstanceConfig *c) {
        /* FNV-1a over the values that make up the resolved config. */
        uint64_t h = 0xcbf29ce484222325ULL;
#define MIX(byte) do { h ^= (uint8_t) (byte); h *= 0x100000001b3ULL; } while (0)
#define MIX64(v) do { uint64_t _v_ = (v); for (int _i_ = 0; _i_ < 8; _i_++) MIX(_v_ >> (8 * _i_)); } while (0)
        MIX(c->set);
        MIX(c->managed);
        MIX(c->stop_mode);
        MIX(c->override_state);
        MIX64((uint32_t) c->priority);
        MIX64(c->soft_stop_timeout);
        MIX64(c->override_until);
        for (const char *p = strempty(c->note); *p; p++)
                MIX(*p);
        MIX(0);
#undef MIX64
#undef MIX
        return h;
}

static json_object *config_value_to_json(const InstanceConfig *c, ConfigKey k) {
        switch (k) {
        case CONFIG_MANAGED: return json_object_new_boolean(c->managed);
        case CONFIG_STOP_MODE: return json_object_new_string(strempty(stop_mode_to_string(c->stop_mode)));
        case CONFIG_SOFT_STOP_TIMEOUT: return json_object_new_uint64(c->soft_stop_timeout);
        case CONFIG_PRIORITY: return json_object_new_int(c->priority);
        case CONFIG_NOTE: return json_object_new_string(strempty(c->note));
        case CONFIG_OVERRIDE_STATE: return json_object_new_string(strempty(override_state_to_string(c->override_state)));
        case CONFIG_OVERRIDE_UNTIL: return json_object_new_uint64(c->override_until);
        default: return NULL;
        }
}

json_object *instance_config_to_json(const InstanceConfig *c, bool all_keys) {
        _cleanup_json_ json_object *o = json_object_new_object();
        InstanceConfig filled;

        if (!o)
                return NULL;
        if (all_keys) {
                ConfigLayer l = { .config = c };
                /* now = 0: show the override as stored, even when it is about to end */
                instance_config_resolve(&l, 1, 0, &filled, NULL);
                c = &filled;
        }
        for (ConfigKey k = 0; k < _CONFIG_KEY_MAX; k++) {
                json_object *v;
                if (!all_keys && !instance_config_is_set(c, k))
                        continue;
                v = config_value_to_json(c, k);
                if (!v || json_object_object_add(o, config_key_to_string(k), v) < 0) {
                        json_object_put(v);
                        return NULL;
                }
        }
        return TAKE_PTR(o);
}

int instance_config_explain(const ConfigLayer *layers, size_t n, uint64_t now, char **ret_json) {
        _cleanup_json_ json_object *o = json_object_new_object();
        int sources[_CONFIG_KEY_MAX];
        InstanceConfig eff;
        char *s;

        if (!o)
                return -ENOMEM;
        instance_config_resolve(layers, n, now, &eff, sources);
        for (ConfigKey k = 0; k < _CONFIG_KEY_MAX; k++) {
                json_object *e = json_object_new_object(), *v = config_value_to_json(&eff, k),
                            *src = json_object_new_string(sources[k] >= 0 ? layers[sources[k]].source
                                                                          : CONFIG_SOURCE_DEFAULT);
                if (!e || !v || !src) {
                        json_object_put(e);
                        json_object_put(v);
                        json_object_put(src);
                        return -ENOMEM;
                }
                json_object_object_add(e, "value", v);
                json_object_object_add(e, "source", src);
                if (json_object_object_add(o, config_key_to_string(k), e) < 0) {
                        json_object_put(e);
                        return -ENOMEM;
                }
        }
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        if (!s)
                return -ENOMEM;
        *ret_json = s;
        return 0;
}

void instance_config_sql_free(char *params[static CONFIG_SQL_COLUMNS]) {
        for (size_t i = 0; i < CONFIG_SQL_COLUMNS; i++)
                params[i] = mfree(params[i]);
}

int instance_config_to_sql(const InstanceConfig *c, char *params[static CONFIG_SQL_COLUMNS]) {
        for (ConfigKey k = 0; k < _CONFIG_KEY_MAX; k++) {
                char *s = NULL;

                params[k] = NULL;
                if (!instance_config_is_set(c, k))
                        continue;
                switch (k) {
                case CONFIG_MANAGED: s = strdup(c->managed ? "true" : "false"); break;
                case CONFIG_STOP_MODE: s = strdup(stop_mode_to_string(c->stop_mode)); break;
                case CONFIG_SOFT_STOP_TIMEOUT: s = strprintf("%" PRIu64, c->soft_stop_timeout); break;
                case CONFIG_PRIORITY: s = strprintf("%" PRIi32, c->priority); break;
                case CONFIG_NOTE: s = strdup(strempty(c->note)); break;
                case CONFIG_OVERRIDE_STATE: s = strdup(override_state_to_string(c->override_state)); break;
                case CONFIG_OVERRIDE_UNTIL: s = strprintf("%" PRIu64, c->override_until); break;
                default: break;
                }
                if (!s) {
                        for (ConfigKey j = 0; j < k; j++)
                                params[j] = mfree(params[j]);
                        return -ENOMEM;
                }
                params[k] = s;
        }
        return 0;
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s || !*s || *s == '-')
                return -EBADMSG;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int instance_config_from_sql(const char * const values[static CONFIG_SQL_COLUMNS], InstanceConfig *ret) {
        InstanceConfig c = {};

        for (ConfigKey k = 0; k < _CONFIG_KEY_MAX; k++) {
                const char *v = values[k];
                if (!v)
                        continue;
                switch (k) {
                case CONFIG_MANAGED:
                        if (streq(v, "t") || streq(v, "true"))
                                c.managed = true;
                        else if (streq(v, "f") || streq(v, "false"))
                                c.managed = false;
                        else
                                goto bad;
                        break;
                case CONFIG_STOP_MODE: {
                        StopMode m = stop_mode_from_string(v);
                        if (m < 0)
                                goto bad;
                        c.stop_mode = m;
                        break;
                }
                case CONFIG_SOFT_STOP_TIMEOUT:
                        if (parse_u64(v, &c.soft_stop_timeout) < 0)
                                goto bad;
                        break;
                case CONFIG_PRIORITY: {
                        char *end;
                        long p;
                        errno = 0;
                        p = strtol(v, &end, 10);
                        if (errno != 0 || *end || !*v || p < INT32_MIN || p > INT32_MAX)
                                goto bad;
                        c.priority = (int32_t) p;
                        break;
                }
                case CONFIG_NOTE:
                        c.note = strdup(v);
                        if (!c.note)
                                return -ENOMEM;
                        break;
                case CONFIG_OVERRIDE_STATE: {
                        OverrideState s = override_state_from_string(v);
                        if (s <= OVERRIDE_NONE)
                                goto bad;
                        c.override_state = s;
                        break;
                }
                case CONFIG_OVERRIDE_UNTIL:
                        if (parse_u64(v, &c.override_until) < 0)
                                goto bad;
                        break;
                default:
                        break;
                }
                c.set |= CONFIG_KEY_BIT(k);
        }
        *ret = c;
        return 0;

bad:
        instance_config_done(&c);
        return -EBADMSG;
}

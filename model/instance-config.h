/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Per-instance configuration and compartment defaults (domain code, no sd-bus).
 *
 * Instances and compartments carry the same keys. A key not set on an object is inherited: the
 * instance's own value wins, then the nearest compartment up the tree that sets it, then the
 * built-in default. An override (override_state + override_until) ends by itself: once
 * override_until has passed, the layer counts as not setting it. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "string-table.h"

typedef enum ConfigKey {
        CONFIG_MANAGED,
        CONFIG_STOP_MODE,
        CONFIG_SOFT_STOP_TIMEOUT,
        CONFIG_PRIORITY,
        CONFIG_NOTE,
        CONFIG_OVERRIDE_STATE,
        CONFIG_OVERRIDE_UNTIL,
        _CONFIG_KEY_MAX,
        _CONFIG_KEY_INVALID = -EINVAL,
} ConfigKey;

typedef enum StopMode {
        STOP_MODE_SOFT,
        STOP_MODE_HARD,
        _STOP_MODE_MAX,
        _STOP_MODE_INVALID = -EINVAL,
} StopMode;

typedef enum OverrideState {
        OVERRIDE_NONE,      /* "" */
        OVERRIDE_RUNNING,
        OVERRIDE_STOPPED,
        _OVERRIDE_STATE_MAX,
        _OVERRIDE_STATE_INVALID = -EINVAL,
} OverrideState;

DECLARE_STRING_TABLE_LOOKUP(config_key, ConfigKey);
DECLARE_STRING_TABLE_LOOKUP(stop_mode, StopMode);
DECLARE_STRING_TABLE_LOOKUP(override_state, OverrideState);

#define CONFIG_KEY_BIT(k) (1U << (k))
#define CONFIG_KEYS_ALL ((1U << _CONFIG_KEY_MAX) - 1)
#define CONFIG_KEYS_OVERRIDE (CONFIG_KEY_BIT(CONFIG_OVERRIDE_STATE) | CONFIG_KEY_BIT(CONFIG_OVERRIDE_UNTIL))

#define CONFIG_NOTE_MAX 4096U
#define CONFIG_SOFT_STOP_TIMEOUT_MAX (7ULL * 24 * 3600 * 1000000)        /* a week */
#define CONFIG_OVERRIDE_AHEAD_MAX (10ULL * 366 * 24 * 3600 * 1000000)    /* ten years */
#define CONFIG_SOFT_STOP_TIMEOUT_DEFAULT (5ULL * 60 * 1000000)

/* Keys set on one object. The struct is small on purpose: there is one per instance. */
typedef struct InstanceConfig {
        uint8_t set;                    /* CONFIG_KEY_BIT() per key set here */
        bool managed;
        int8_t stop_mode;               /* StopMode */
        int8_t override_state;          /* OverrideState */
        int32_t priority;
        uint64_t soft_stop_timeout;     /* µs */
        uint64_t override_until;        /* µs since the epoch */
        char *note;                     /* owned, unless the struct is a resolved view */
} InstanceConfig;

/* The D-Bus signature letter of a key's type: 'b', 's', 't' or 'i'. */
char config_key_type(ConfigKey k) _pure_;

void instance_config_done(InstanceConfig *c);
int instance_config_copy(const InstanceConfig *src, InstanceConfig *ret);
bool instance_config_equal(const InstanceConfig *a, const InstanceConfig *b);
static inline bool instance_config_is_set(const InstanceConfig *c, ConfigKey k) {
        return c->set & CONFIG_KEY_BIT(k);
}
void instance_config_unset(InstanceConfig *c, ConfigKey k);

/* A typed value given by a caller. */
typedef struct ConfigValue {
        char type;                      /* 'b', 's', 't', 'i' */
        union {
                bool b;
                const char *s;
                uint64_t t;
                int32_t i;
        };
} ConfigValue;

#define CONFIG_INHERIT "inherit"

/* Sets one key. The string "inherit" (for any key) unsets it; unsetting either override key
 * unsets both. now (µs) is used to refuse an override_until in the past. On a refusal returns
 * -EINVAL (unknown key, wrong type, bad value) and, if ret_error is given, a one-line message;
 * c is then unchanged. */
int instance_config_set(InstanceConfig *c, const char *key, const ConfigValue *v, uint64_t now, char **ret_error);

/* Rules across keys, checked once all keys of a call are applied: override_state and
 * override_until come as a pair. */
int instance_config_verify(const InstanceConfig *c, char **ret_error);

/* True if the override of c is set and over at now. */
bool instance_config_override_expired(const InstanceConfig *c, uint64_t now);

/* One layer of the inheritance chain. */
typedef struct ConfigLayer {
        const InstanceConfig *config;
        const char *source;             /* "instance", "compartment:<OCID>" */
} ConfigLayer;

#define CONFIG_SOURCE_DEFAULT "default"

/* Resolves every key over layers[0] (nearest) … layers[n-1] (farthest), then the built-in
 * defaults. ret gets every key set except the override pair when no layer has a live one; its
 * note points into a layer or a static string (a view: do not instance_config_done() it).
 * ret_sources (optional) gets, per key, the layer index or -1 for the built-in default. */
void instance_config_resolve(const ConfigLayer *layers, size_t n, uint64_t now, InstanceConfig *ret,
                             int ret_sources[_CONFIG_KEY_MAX]);

/* A 64-bit fingerprint of a resolved config, to tell whether an effective value changed. */
uint64_t instance_config_hash(const InstanceConfig *c) _pure_;

/* The keys set on c as a JSON object ({"managed":true,...}; times and durations in µs). With
 * all_keys, keys not set appear with their built-in default, override_state "" and
 * override_until 0 when none (what an effective config shows). */
json_object *instance_config_to_json(const InstanceConfig *c, bool all_keys);

/* Explain: {"key":{"value":…,"source":"instance"|"compartment:<OCID>"|"default"},…}. */
int instance_config_explain(const ConfigLayer *layers, size_t n, uint64_t now, char **ret_json);

/* Database columns, in this order: managed, stop_mode, soft_stop_timeout (µs), priority, note,
 * override_state, override_until (µs since the epoch); NULL = not set. */
#define CONFIG_SQL_COLUMNS 7
/* Fills params with newly allocated strings or NULL. */
int instance_config_to_sql(const InstanceConfig *c, char *params[static CONFIG_SQL_COLUMNS]);
void instance_config_sql_free(char *params[static CONFIG_SQL_COLUMNS]);
/* Parses the columns (as text, NULL = SQL NULL). -EBADMSG on a value we cannot read. */
int instance_config_from_sql(const char * const values[static CONFIG_SQL_COLUMNS], InstanceConfig *ret);

/* The earliest override_until of c that is after now, or UINT64_MAX. */
uint64_t instance_config_next_expiry(const InstanceConfig *c);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-instance configuration: keys, types, validation, inheritance, explain, SQL round trip. */
#include <stdio.h>
#include <stdlib.h>

#include "instance-config.h"
#include "json-util.h"
#include "tests.h"
#include "time-util.h"

#define NOW 1700000000000000ULL   /* 2023-11-14, µs */

static ConfigValue B(bool b) { return (ConfigValue) { .type = 'b', .b = b }; }
static ConfigValue S(const char *s) { return (ConfigValue) { .type = 's', .s = s }; }
static ConfigValue T(uint64_t t) { return (ConfigValue) { .type = 't', .t = t }; }
static ConfigValue I(int32_t i) { return (ConfigValue) { .type = 'i', .i = i }; }

#define SET_OK(c, key, val)                                                     \
        do {                                                                    \
                ConfigValue _v_ = (val);                                        \
                ASSERT_OK(instance_config_set((c), (key), &_v_, NOW, NULL));    \
        } while (0)

/* Refused with a message, and c unchanged. */
#define SET_FAILS(c, key, val, msg_part)                                                        \
        do {                                                                                    \
                ConfigValue _v_ = (val);                                                        \
                InstanceConfig _before_ = {};                                                   \
                _cleanup_free_ char *_e_ = NULL;                                                \
                ASSERT_OK(instance_config_copy((c), &_before_));                                \
                ASSERT_ERR(instance_config_set((c), (key), &_v_, NOW, &_e_), EINVAL);           \
                ASSERT_NOT_NULL(_e_);                                                           \
                if (!strstr(_e_, (msg_part)))                                                   \
                        TEST_FAIL("message \"%s\" lacks \"%s\"", _e_, (msg_part));              \
                ASSERT_TRUE(instance_config_equal((c), &_before_));                             \
                instance_config_done(&_before_);                                                \
        } while (0)

TEST(tables) {
        for (ConfigKey k = 0; k < _CONFIG_KEY_MAX; k++) {
                ASSERT_NOT_NULL(config_key_to_string(k));
                ASSERT_EQ(config_key_from_string(config_key_to_string(k)), k);
                ASSERT_TRUE(config_key_type(k) != 0);
        }
        ASSERT_NULL(config_key_to_string(_CONFIG_KEY_MAX));
        ASSERT_EQ(config_key_from_string("bogus"), _CONFIG_KEY_INVALID);
        ASSERT_EQ(config_key_from_string(NULL), _CONFIG_KEY_INVALID);
        for (StopMode m = 0; m < _STOP_MODE_MAX; m++)
                ASSERT_EQ(stop_mode_from_string(stop_mode_to_string(m)), m);
        ASSERT_NULL(stop_mode_to_string(_STOP_MODE_MAX));
        for (OverrideState s = 0; s < _OVERRIDE_STATE_MAX; s++)
                ASSERT_EQ(override_state_from_string(override_state_to_string(s)), s);
        ASSERT_NULL(override_state_to_string(_OVERRIDE_STATE_MAX));
        ASSERT_EQ(config_key_type(_CONFIG_KEY_MAX), 0);
}

TEST(set_and_validate) {
        InstanceConfig c = {};

        SET_OK(&c, "managed", B(true));
        ASSERT_TRUE(instance_config_is_set(&c, CONFIG_MANAGED));
        ASSERT_TRUE(c.managed);
        SET_OK(&c, "stop_mode", S("hard"));
        ASSERT_EQ(c.stop_mode, STOP_MODE_HARD);
        SET_OK(&c, "soft_stop_timeout", T(90 * 1000000ULL));
        SET_OK(&c, "priority", I(-3));
        SET_OK(&c, "note", S("line one\nline\ttwo"));
        ASSERT_STREQ(c.note, "line one\nline\ttwo");

        SET_FAILS(&c, "bogus", B(true), "Unknown configuration key 'bogus'");
        SET_FAILS(&c, "managed", S("yes"), "takes a boolean (b)");
        SET_FAILS(&c, "managed", I(1), "not an integer (i)");
        SET_FAILS(&c, "stop_mode", S("gentle"), "\"soft\" or \"hard\"");
        SET_FAILS(&c, "stop_mode", B(true), "takes a string");
        SET_FAILS(&c, "soft_stop_timeout", T(0), "more than 0");
        SET_FAILS(&c, "soft_stop_timeout", T(CONFIG_SOFT_STOP_TIMEOUT_MAX + 1), "at most 1w, not 1w 1us");
        /* in the units the user typed (stopstartctl set-config … soft_stop_timeout=+9y), not µs */
        SET_FAILS(&c, "soft_stop_timeout", T(9 * USEC_PER_YEAR), "not 9y.");
        SET_FAILS(&c, "soft_stop_timeout", I(5), "microseconds (t)");
        SET_FAILS(&c, "priority", T(5), "an integer (i)");
        SET_FAILS(&c, "note", S("bell\a"), "control characters");
        SET_FAILS(&c, "override_state", S("paused"), "\"running\" or \"stopped\"");
        SET_FAILS(&c, "override_state", S(""), "\"running\" or \"stopped\"");
        SET_FAILS(&c, "override_until", T(NOW), "in the future");
        SET_FAILS(&c, "override_until", T(NOW + CONFIG_OVERRIDE_AHEAD_MAX + 1), "ten years");

        /* A huge note, and a huge key name that must not end up in the message. */
        char *big = malloc(CONFIG_NOTE_MAX + 2);
        ASSERT_NOT_NULL(big);
        memset(big, 'x', CONFIG_NOTE_MAX + 1);
        big[CONFIG_NOTE_MAX + 1] = 0;
        SET_FAILS(&c, "note", S(big), "at most 4096 bytes");
        SET_FAILS(&c, big, B(true), "Unknown configuration key.");
        big[CONFIG_NOTE_MAX] = 0;
        SET_OK(&c, "note", S(big));
        free(big);

        /* inherit unsets, for every key and type */
        SET_OK(&c, "managed", S("inherit"));
        ASSERT_TRUE(!instance_config_is_set(&c, CONFIG_MANAGED));
        SET_OK(&c, "note", S("inherit"));
        ASSERT_TRUE(!instance_config_is_set(&c, CONFIG_NOTE));
        ASSERT_NULL(c.note);
        SET_OK(&c, "priority", S("inherit"));
        SET_OK(&c, "soft_stop_timeout", S("inherit"));
        SET_OK(&c, "stop_mode", S("inherit"));
        ASSERT_EQ(c.set, 0);
        instance_config_done(&c);
}

TEST(override_pair) {
        InstanceConfig c = {};
        _cleanup_free_ char *e = NULL;

        SET_OK(&c, "override_state", S("running"));
        ASSERT_ERR(instance_config_verify(&c, &e), EINVAL);
        ASSERT_TRUE(strstr(e, "needs 'override_until'") != NULL);
        SET_OK(&c, "override_until", T(NOW + 3600 * 1000000ULL));
        ASSERT_OK(instance_config_verify(&c, NULL));
        ASSERT_TRUE(!instance_config_override_expired(&c, NOW));
        ASSERT_TRUE(instance_config_override_expired(&c, NOW + 3600 * 1000000ULL));
        ASSERT_EQ(instance_config_next_expiry(&c), NOW + 3600 * 1000000ULL);

        /* inherit on either key removes both */
        SET_OK(&c, "override_until", S("inherit"));
        ASSERT_EQ(c.set, 0);
        ASSERT_EQ(instance_config_next_expiry(&c), UINT64_MAX);

        SET_OK(&c, "override_until", T(NOW + 1));
        free(e);
        e = NULL;
        ASSERT_ERR(instance_config_verify(&c, &e), EINVAL);
        ASSERT_TRUE(strstr(e, "needs 'override_state'") != NULL);
        instance_config_done(&c);
}

TEST(resolve_and_explain) {
        InstanceConfig inst = {}, comp = {}, root = {}, eff;
        int src[_CONFIG_KEY_MAX];

        SET_OK(&inst, "note", S("mine"));
        SET_OK(&comp, "managed", B(true));
        SET_OK(&comp, "note", S("from the compartment"));
        SET_OK(&root, "managed", B(false));
        SET_OK(&root, "stop_mode", S("hard"));
        SET_OK(&root, "override_state", S("stopped"));
        SET_OK(&root, "override_until", T(NOW + 10));

        ConfigLayer layers[] = {
                { &inst, "instance" },
                { &comp, "compartment:ocid1.compartment.oc1..a" },
                { &root, "compartment:ocid1.tenancy.oc1..t" },
        };

        instance_config_resolve(layers, 3, NOW, &eff, src);
        ASSERT_TRUE(eff.managed);
        ASSERT_EQ(src[CONFIG_MANAGED], 1);
        ASSERT_STREQ(eff.note, "mine");
        ASSERT_EQ(src[CONFIG_NOTE], 0);
        ASSERT_EQ(eff.stop_mode, STOP_MODE_HARD);
        ASSERT_EQ(src[CONFIG_STOP_MODE], 2);
        ASSERT_EQ(eff.soft_stop_timeout, CONFIG_SOFT_STOP_TIMEOUT_DEFAULT);
        ASSERT_EQ(src[CONFIG_SOFT_STOP_TIMEOUT], -1);
        ASSERT_EQ(eff.override_state, OVERRIDE_STOPPED);
        ASSERT_EQ(src[CONFIG_OVERRIDE_UNTIL], 2);
        uint64_t h1 = instance_config_hash(&eff);

        _cleanup_free_ char *json = NULL;
        ASSERT_OK(instance_config_explain(layers, 3, NOW, &json));
        _cleanup_json_ json_object *j = json_tokener_parse(json);
        ASSERT_NOT_NULL(j);
        json_object *e, *v;
        ASSERT_TRUE(json_object_object_get_ex(j, "managed", &e));
        ASSERT_TRUE(json_object_object_get_ex(e, "source", &v));
        ASSERT_STREQ(json_object_get_string(v), "compartment:ocid1.compartment.oc1..a");
        ASSERT_TRUE(json_object_object_get_ex(j, "priority", &e));
        ASSERT_TRUE(json_object_object_get_ex(e, "source", &v));
        ASSERT_STREQ(json_object_get_string(v), "default");
        ASSERT_TRUE(json_object_object_get_ex(e, "value", &v));
        ASSERT_EQ(json_object_get_int(v), 0);
        ASSERT_EQ(json_object_object_length(j), _CONFIG_KEY_MAX);

        /* Once the override is over, it counts as unset: the pair falls back together. */
        instance_config_resolve(layers, 3, NOW + 10, &eff, src);
        ASSERT_EQ(eff.override_state, OVERRIDE_NONE);
        ASSERT_EQ(eff.override_until, 0);
        ASSERT_EQ(src[CONFIG_OVERRIDE_STATE], -1);
        ASSERT_TRUE(!instance_config_is_set(&eff, CONFIG_OVERRIDE_STATE));
        ASSERT_TRUE(instance_config_hash(&eff) != h1);

        /* No layers at all: built-in defaults. */
        instance_config_resolve(NULL, 0, NOW, &eff, src);
        ASSERT_TRUE(!eff.managed);
        ASSERT_STREQ(eff.note, "");
        for (ConfigKey k = 0; k < _CONFIG_KEY_MAX; k++)
                ASSERT_EQ(src[k], -1);

        instance_config_done(&inst);
        instance_config_done(&comp);
        instance_config_done(&root);
}

TEST(json) {
        InstanceConfig c = {};
        SET_OK(&c, "managed", B(true));
        SET_OK(&c, "soft_stop_timeout", T(1000000));

        _cleanup_json_ json_object *own = instance_config_to_json(&c, false);
        ASSERT_STREQ(json_object_to_json_string_ext(own, JSON_C_TO_STRING_PLAIN),
                     "{\"managed\":true,\"soft_stop_timeout\":1000000}");
        _cleanup_json_ json_object *all = instance_config_to_json(&c, true);
        ASSERT_STREQ(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PLAIN),
                     "{\"managed\":true,\"stop_mode\":\"soft\",\"soft_stop_timeout\":1000000,\"priority\":0,"
                     "\"note\":\"\",\"override_state\":\"\",\"override_until\":0}");
        instance_config_done(&c);
}

TEST(sql_round_trip) {
        InstanceConfig c = {}, back = {};
        char *p[CONFIG_SQL_COLUMNS];

        SET_OK(&c, "managed", B(false));
        SET_OK(&c, "stop_mode", S("soft"));
        SET_OK(&c, "priority", I(INT32_MIN));
        SET_OK(&c, "note", S("n"));
        SET_OK(&c, "override_state", S("running"));
        SET_OK(&c, "override_until", T(NOW + 5));
        ASSERT_OK(instance_config_to_sql(&c, p));
        ASSERT_STREQ(p[CONFIG_MANAGED], "false");
        ASSERT_NULL(p[CONFIG_SOFT_STOP_TIMEOUT]);
        ASSERT_STREQ(p[CONFIG_PRIORITY], "-2147483648");
        ASSERT_OK(instance_config_from_sql((const char * const *) p, &back));
        ASSERT_TRUE(instance_config_equal(&c, &back));
        instance_config_sql_free(p);
        ASSERT_NULL(p[0]);

        /* PostgreSQL's own boolean text */
        const char *row[CONFIG_SQL_COLUMNS] = { "t", "hard", "300000000", "7", NULL, NULL, NULL };
        instance_config_done(&back);
        ASSERT_OK(instance_config_from_sql(row, &back));
        ASSERT_TRUE(back.managed);
        ASSERT_EQ(back.soft_stop_timeout, 300000000ULL);
        ASSERT_EQ(back.set, CONFIG_KEY_BIT(CONFIG_MANAGED) | CONFIG_KEY_BIT(CONFIG_STOP_MODE) |
                            CONFIG_KEY_BIT(CONFIG_SOFT_STOP_TIMEOUT) | CONFIG_KEY_BIT(CONFIG_PRIORITY));

        const char *bad1[CONFIG_SQL_COLUMNS] = { "maybe" };
        const char *bad2[CONFIG_SQL_COLUMNS] = { NULL, NULL, "-5" };
        const char *bad3[CONFIG_SQL_COLUMNS] = { NULL, NULL, NULL, "99999999999" };
        const char *bad4[CONFIG_SQL_COLUMNS] = { NULL, NULL, NULL, NULL, NULL, "" };
        InstanceConfig x;
        ASSERT_ERR(instance_config_from_sql(bad1, &x), EBADMSG);
        ASSERT_ERR(instance_config_from_sql(bad2, &x), EBADMSG);
        ASSERT_ERR(instance_config_from_sql(bad3, &x), EBADMSG);
        ASSERT_ERR(instance_config_from_sql(bad4, &x), EBADMSG);

        instance_config_done(&c);
        instance_config_done(&back);
}

int main(void) {
        RUN(tables);
        RUN(set_and_validate);
        RUN(override_pair);
        RUN(resolve_and_explain);
        RUN(json);
        RUN(sql_round_trip);
        return 0;
}

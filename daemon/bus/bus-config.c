/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "bus-error.h"
#include "bus-polkit.h"
#include "bus-config.h"
#include "effective-config.h"
#include "macro.h"
#include "manager.h"

static int append_value(sd_bus_message *reply, const InstanceConfig *c, ConfigKey k) {
        switch (k) {
        case CONFIG_MANAGED: return sd_bus_message_append(reply, "v", "b", (int) c->managed);
        case CONFIG_STOP_MODE: return sd_bus_message_append(reply, "v", "s", strempty(stop_mode_to_string(c->stop_mode)));
        case CONFIG_SOFT_STOP_TIMEOUT: return sd_bus_message_append(reply, "v", "t", c->soft_stop_timeout);
        case CONFIG_PRIORITY: return sd_bus_message_append(reply, "v", "i", c->priority);
        case CONFIG_NOTE: return sd_bus_message_append(reply, "v", "s", strempty(c->note));
        case CONFIG_OVERRIDE_STATE:
                return sd_bus_message_append(reply, "v", "s", strempty(override_state_to_string(c->override_state)));
        case CONFIG_OVERRIDE_UNTIL: return sd_bus_message_append(reply, "v", "t", c->override_until);
        default: return -EINVAL;
        }
}

int bus_append_config(sd_bus_message *reply, const InstanceConfig *c, bool all_keys) {
        InstanceConfig filled;
        int r;

        if (all_keys) {
                ConfigLayer l = { .config = c };
                instance_config_resolve(&l, 1, 0, &filled, NULL);
                c = &filled;
        }
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        for (ConfigKey k = 0; k < _CONFIG_KEY_MAX; k++) {
                if (!all_keys && !instance_config_is_set(c, k))
                        continue;
                r = sd_bus_message_open_container(reply, 'e', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "s", config_key_to_string(k));
                if (r < 0)
                        return r;
                r = append_value(reply, c, k);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

int bus_read_config_changes(sd_bus_message *m, InstanceConfig *c, uint64_t now, sd_bus_error *error) {
        const unsigned override_pair = (1U << CONFIG_OVERRIDE_STATE) | (1U << CONFIG_OVERRIDE_UNTIL);
        unsigned given = 0, inherited = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                _cleanup_free_ char *msg = NULL;
                const char *key, *contents;
                ConfigValue v = {};
                char type;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;

                v.type = contents[1] == 0 ? contents[0] : '?';
                switch (v.type) {
                case 'b': {
                        int b;
                        r = sd_bus_message_read(m, "b", &b);
                        v.b = b;
                        break;
                }
                case 's':
                        r = sd_bus_message_read(m, "s", &v.s);
                        break;
                case 't':
                        r = sd_bus_message_read(m, "t", &v.t);
                        break;
                case 'i':
                        r = sd_bus_message_read(m, "i", &v.i);
                        break;
                default:
                        r = sd_bus_message_skip(m, contents);
                }
                if (r < 0)
                        return r;

                ConfigKey k = config_key_from_string(key);
                if (k >= 0) {
                        /* The last of two values silently winning is never what the caller meant. */
                        if (given & (1U << k))
                                return bus_error_errnof(error, -EINVAL, BUS_SUBJECT_NONE, "Key '%s' is given twice.",
                                                        config_key_to_string(k));
                        given |= 1U << k;
                        if (v.type == 's' && streq_ptr(v.s, CONFIG_INHERIT))
                                inherited |= 1U << k;
                }

                r = instance_config_set(c, key, &v, now, &msg);
                if (r == -EINVAL)
                        return bus_error_errno(error, -EINVAL, BUS_SUBJECT_NONE, msg ?: "Invalid configuration.");
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        /* "inherit" for one half of the override removes both: with a value for the other half
         * the call would remove the override it appears to set. */
        if ((given & override_pair) == override_pair && (inherited & override_pair) != 0 &&
            (inherited & override_pair) != override_pair)
                return bus_error_errno(error, -EINVAL, BUS_SUBJECT_NONE,
                                       "Keys 'override_state' and 'override_until' contradict each other: \"inherit\" "
                                       "for one of them removes the override the other one sets.");

        {
                _cleanup_free_ char *msg = NULL;
                r = instance_config_verify(c, &msg);
                if (r == -EINVAL)
                        return bus_error_errno(error, -EINVAL, BUS_SUBJECT_NONE, msg ?: "Invalid configuration.");
        }
        return r;
}

static void on_settings_saved(Manager *m, int error, const char *message, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        if (error >= 0) {
                (void) sd_bus_reply_method_return(msg, NULL);
                return;
        }
        if (error == -ENXIO) {
                if (streq_ptr(sd_bus_message_get_interface(msg), SS_BUS_IFACE_COMPARTMENT))
                        (void) bus_error_errno(&e, -ENXIO, BUS_SUBJECT_COMPARTMENT,
                                               "The compartment no longer exists.");
                else
                        (void) bus_error_errno(&e, -ENXIO, BUS_SUBJECT_INSTANCE, "The instance no longer exists.");
        } else
                (void) bus_error_errno(&e, error, BUS_SUBJECT_DATABASE, message);
        (void) bus_reply_error(msg, &e);
}

int bus_method_set_settings(sd_bus_message *message, Manager *m, bool compartment, const char *id,
                            const InstanceConfig *current, unsigned n_writes, sd_bus_error *error) {
        _cleanup_(instance_config_done) InstanceConfig new_config = {};
        const char *kind = compartment ? "compartment" : "instance";
        int r;

        r = instance_config_copy(current, &new_config);
        if (r < 0)
                return r;
        r = bus_read_config_changes(message, &new_config, manager_now(), error);
        if (r < 0)
                return r;

        /* A no-op changes nothing, asks nobody and writes no audit entry. */
        if (instance_config_equal(&new_config, current))
                return sd_bus_reply_method_return(message, NULL);

        if (n_writes > 0)
                return bus_error_errnof(error, -EBUSY, BUS_SUBJECT_NONE,
                                        "Another change of %s %s is being saved; try again.",
                                         kind, id);
        if (!m->db || db_get_state(m->db) != DB_CONNECTED)
                return bus_error_errno(error, -ENOTCONN, BUS_SUBJECT_DATABASE, m->db ? db_last_error(m->db) : NULL);

        const char *details[] = { kind, id, "verb", compartment ? "set-defaults" : "set-config", NULL };
        r = bus_verify_polkit_async(message, SS_POLKIT_CONFIGURE, details, m->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;  /* polkit will call us back */

        sd_bus_message_ref(message);
        r = manager_save_config(m, compartment, id, &new_config, bus_message_sender_uid(message), on_settings_saved,
                                message);
        if (r < 0) {
                sd_bus_message_unref(message);
                return bus_error_errno(error, r, BUS_SUBJECT_DATABASE, NULL);
        }
        return 1;
}

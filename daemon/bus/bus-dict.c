/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <string.h>

#include "bus-dict.h"
#include "bus-error.h"
#include "strv.h"

static const char *type_words(char type) {
        switch (type) {
        case 's': return "a string (s)";
        case 'b': return "a boolean (b)";
        case 't': return "an unsigned 64-bit integer (t)";
        case 'u': return "an unsigned integer (u)";
        default: return "a value of another type";
        }
}

int bus_read_dict(sd_bus_message *m, const BusDictKey *keys, size_t n_keys, const char *what,
                  sd_bus_error *error) {
        uint64_t given = 0;
        int r;

        assert(n_keys <= 64);

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const BusDictKey *k = NULL;
                const char *key, *contents;
                char type, sig[2];
                size_t i;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                for (i = 0; i < n_keys && !k; i++)
                        if (streq(keys[i].key, key))
                                k = &keys[i];
                if (!k) {
                        _cleanup_strv_free_ char **l = NULL;
                        _cleanup_free_ char *known = NULL;
                        for (i = 0; i < n_keys; i++)
                                if (strv_extend(&l, keys[i].key) < 0)
                                        return -ENOMEM;
                        known = strv_join(l, ", ");
                        return bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown %s '%s' (%s).", what,
                                              bus_echo(key), strempty(known));
                }
                i = (size_t) (k - keys);
                if (given & (UINT64_C(1) << i))
                        return bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The %s '%s' is given twice.", what,
                                              k->key);
                given |= UINT64_C(1) << i;

                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                sig[0] = k->type;
                sig[1] = 0;
                if (!streq(contents, sig))
                        return bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The %s '%s' takes %s.", what, k->key,
                                              type_words(k->type));
                switch (k->type) {
                case 's':
                        r = sd_bus_message_read(m, "v", "s", (const char **) k->value);
                        if (r >= 0 && strlen(*(const char **) k->value) > BUS_STRING_ARG_MAX)
                                return bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The %s '%s' is too long.",
                                                      what, k->key);
                        break;
                case 'b':
                        r = sd_bus_message_read(m, "v", "b", (int *) k->value);
                        break;
                case 't':
                        r = sd_bus_message_read(m, "v", "t", (uint64_t *) k->value);
                        break;
                case 'u':
                        r = sd_bus_message_read(m, "v", "u", (uint32_t *) k->value);
                        break;
                default:
                        return -EINVAL;   /* a table of ours names a type we do not read */
                }
                if (r < 0)
                        return r;
                if (k->seen)
                        *k->seen = true;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

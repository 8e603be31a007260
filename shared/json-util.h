/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

#include "macro.h"

static inline json_object *json_object_unref(json_object *j) {
        (void) json_object_put(j);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(json_object*, json_object_unref);
#define _cleanup_json_ _cleanup_(json_object_unrefp)

/* o's member key when it is a string; NULL when absent, null or of another type. */
static inline const char *json_member_string(json_object *o, const char *key) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

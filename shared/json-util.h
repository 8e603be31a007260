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

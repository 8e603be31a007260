/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The snapshot's compartment and instance objects (snapshot-json.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot-json.h"

int json_add_string(json_object *o, const char *key, const char *value) {
        json_object *v = NULL;

        if (value && !(v = json_object_new_string(value)))
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int json_add_tags(json_object *o, const OciTags *tags) {
        json_object *f = oci_tags_freeform_to_json(tags), *t = oci_tags_defined_to_json(tags);

        if (!f || !t || json_object_object_add(o, "freeform_tags", f) < 0) {
                json_object_put(f);
                json_object_put(t);
                return -ENOMEM;
        }
        if (json_object_object_add(o, "defined_tags", t) < 0) {
                json_object_put(t);
                return -ENOMEM;
        }
        return 0;
}

char *snapshot_instance_json(const InstanceFields *f) {
        _cleanup_json_ json_object *o = json_object_new_object();
        const char *s;

        if (!o ||
            json_add_string(o, "id", f->id) < 0 ||
            json_add_string(o, "compartment_id", f->compartment_id) < 0 ||
            json_add_string(o, "region", f->region) < 0 ||
            json_add_string(o, "availability_domain", strempty(f->availability_domain)) < 0 ||
            json_add_string(o, "fault_domain", f->fault_domain) < 0 ||
            json_add_string(o, "shape", f->shape) < 0 ||
            json_add_string(o, "display_name", strempty(f->display_name)) < 0 ||
            json_add_string(o, "lifecycle_state", strempty(f->lifecycle_state)) < 0 ||
            json_add_string(o, "time_created", f->time_created) < 0 ||
            json_add_tags(o, f->tags) < 0)
                return NULL;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        return s ? strdup(s) : NULL;
}

json_object *snapshot_compartment(const char *id, const char *parent_id, const char *name, const char *description,
                                  const char *lifecycle_state, const char *time_created, const OciTags *tags) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o ||
            json_add_string(o, "id", id) < 0 ||
            json_add_string(o, "parent_id", parent_id) < 0 ||
            json_add_string(o, "name", name) < 0 ||
            json_add_string(o, "description", strempty(description)) < 0 ||
            json_add_string(o, "lifecycle_state", lifecycle_state) < 0 ||
            json_add_string(o, "time_created", time_created) < 0 ||
            json_add_tags(o, tags) < 0)
                return NULL;
        return TAKE_PTR(o);
}

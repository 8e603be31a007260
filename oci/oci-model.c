/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "json-util.h"
#include "oci-model.h"
#include "strv.h"

/* ---- string tables ---- */

static const char * const oci_instance_state_table[_OCI_INSTANCE_STATE_MAX] = {
        [OCI_INSTANCE_PROVISIONING]   = "PROVISIONING",
        [OCI_INSTANCE_RUNNING]        = "RUNNING",
        [OCI_INSTANCE_STARTING]       = "STARTING",
        [OCI_INSTANCE_STOPPING]       = "STOPPING",
        [OCI_INSTANCE_STOPPED]        = "STOPPED",
        [OCI_INSTANCE_CREATING_IMAGE] = "CREATING_IMAGE",
        [OCI_INSTANCE_TERMINATING]    = "TERMINATING",
        [OCI_INSTANCE_TERMINATED]     = "TERMINATED",
        [OCI_INSTANCE_MOVING]         = "MOVING",
};
DEFINE_STRING_TABLE_LOOKUP(oci_instance_state, OciInstanceState);

bool oci_instance_state_is_stable(OciInstanceState s) {
        return s == OCI_INSTANCE_RUNNING || s == OCI_INSTANCE_STOPPED || s == OCI_INSTANCE_TERMINATED;
}

static const char * const oci_compartment_state_table[_OCI_COMPARTMENT_STATE_MAX] = {
        [OCI_COMPARTMENT_CREATING] = "CREATING",
        [OCI_COMPARTMENT_ACTIVE]   = "ACTIVE",
        [OCI_COMPARTMENT_INACTIVE] = "INACTIVE",
        [OCI_COMPARTMENT_DELETING] = "DELETING",
        [OCI_COMPARTMENT_DELETED]  = "DELETED",
};
DEFINE_STRING_TABLE_LOOKUP(oci_compartment_state, OciCompartmentState);

static const char * const oci_instance_action_table[_OCI_ACTION_MAX] = {
        [OCI_ACTION_START]     = "START",
        [OCI_ACTION_STOP]      = "STOP",
        [OCI_ACTION_SOFTSTOP]  = "SOFTSTOP",
        [OCI_ACTION_RESET]     = "RESET",
        [OCI_ACTION_SOFTRESET] = "SOFTRESET",
};
DEFINE_STRING_TABLE_LOOKUP(oci_instance_action, OciInstanceAction);

OciInstanceState oci_instance_action_target_state(OciInstanceAction a) {
        switch (a) {
        case OCI_ACTION_START:
        case OCI_ACTION_RESET:
        case OCI_ACTION_SOFTRESET:
                return OCI_INSTANCE_RUNNING;
        case OCI_ACTION_STOP:
        case OCI_ACTION_SOFTSTOP:
                return OCI_INSTANCE_STOPPED;
        default:
                return _OCI_INSTANCE_STATE_INVALID;
        }
}

static const char * const oci_service_table[_OCI_SERVICE_MAX] = {
        [OCI_SERVICE_IDENTITY] = "identity",
        [OCI_SERVICE_IAAS]     = "iaas",
        [OCI_SERVICE_QUERY]    = "query",
};
DEFINE_STRING_TABLE_LOOKUP(oci_service, OciService);

static const char * const oci_access_level_table[_OCI_ACCESS_LEVEL_MAX] = {
        [OCI_ACCESS_ANY]        = "ANY",
        [OCI_ACCESS_ACCESSIBLE] = "ACCESSIBLE",
};
DEFINE_STRING_TABLE_LOOKUP(oci_access_level, OciAccessLevel);

/* ---- regions (docs/oci-api.md Appendix A) ---- */

static const struct {
        const char *name;
        const char *key;         /* lower case */
        const char *domain;
} regions[] = {
        /* oc1 */
        { "ap-chuncheon-1", "yny", "oraclecloud.com" }, { "ap-hyderabad-1", "hyd", "oraclecloud.com" },
        { "ap-melbourne-1", "mel", "oraclecloud.com" }, { "ap-mumbai-1", "bom", "oraclecloud.com" },
        { "ap-osaka-1", "kix", "oraclecloud.com" },     { "ap-seoul-1", "icn", "oraclecloud.com" },
        { "ap-sydney-1", "syd", "oraclecloud.com" },    { "ap-tokyo-1", "nrt", "oraclecloud.com" },
        { "ca-montreal-1", "yul", "oraclecloud.com" },  { "ca-toronto-1", "yyz", "oraclecloud.com" },
        { "eu-amsterdam-1", "ams", "oraclecloud.com" }, { "eu-frankfurt-1", "fra", "oraclecloud.com" },
        { "eu-zurich-1", "zrh", "oraclecloud.com" },    { "me-jeddah-1", "jed", "oraclecloud.com" },
        { "me-dubai-1", "dxb", "oraclecloud.com" },     { "sa-saopaulo-1", "gru", "oraclecloud.com" },
        { "uk-cardiff-1", "cwl", "oraclecloud.com" },   { "uk-london-1", "lhr", "oraclecloud.com" },
        { "us-ashburn-1", "iad", "oraclecloud.com" },   { "us-phoenix-1", "phx", "oraclecloud.com" },
        { "us-sanjose-1", "sjc", "oraclecloud.com" },   { "sa-vinhedo-1", "vcp", "oraclecloud.com" },
        { "sa-santiago-1", "scl", "oraclecloud.com" },  { "il-jerusalem-1", "mtz", "oraclecloud.com" },
        { "eu-marseille-1", "mrs", "oraclecloud.com" }, { "ap-singapore-1", "sin", "oraclecloud.com" },
        { "me-abudhabi-1", "auh", "oraclecloud.com" },  { "eu-milan-1", "lin", "oraclecloud.com" },
        { "eu-stockholm-1", "arn", "oraclecloud.com" }, { "af-johannesburg-1", "jnb", "oraclecloud.com" },
        { "eu-paris-1", "cdg", "oraclecloud.com" },     { "mx-queretaro-1", "qro", "oraclecloud.com" },
        { "eu-madrid-1", "mad", "oraclecloud.com" },    { "us-chicago-1", "ord", "oraclecloud.com" },
        { "mx-monterrey-1", "mty", "oraclecloud.com" }, { "us-saltlake-2", "aga", "oraclecloud.com" },
        { "sa-bogota-1", "bog", "oraclecloud.com" },    { "sa-valparaiso-1", "vap", "oraclecloud.com" },
        { "ap-singapore-2", "xsp", "oraclecloud.com" }, { "me-riyadh-1", "ruh", "oraclecloud.com" },
        { "ap-delhi-1", "onm", "oraclecloud.com" },     { "ap-batam-1", "hsg", "oraclecloud.com" },
        { "eu-madrid-3", "orf", "oraclecloud.com" },    { "eu-turin-1", "nrq", "oraclecloud.com" },
        { "ap-kulai-2", "jbp", "oraclecloud.com" },     { "af-casablanca-1", "lej", "oraclecloud.com" },
        /* oc2, oc3 */
        { "us-langley-1", "lfi", "oraclegovcloud.com" }, { "us-luke-1", "luf", "oraclegovcloud.com" },
        { "us-gov-ashburn-1", "ric", "oraclegovcloud.com" }, { "us-gov-chicago-1", "pia", "oraclegovcloud.com" },
        { "us-gov-phoenix-1", "tus", "oraclegovcloud.com" },
        /* oc4 */
        { "uk-gov-london-1", "ltn", "oraclegovcloud.uk" }, { "uk-gov-cardiff-1", "brs", "oraclegovcloud.uk" },
        /* oc8 */
        { "ap-chiyoda-1", "nja", "oraclecloud8.com" }, { "ap-ibaraki-1", "ukb", "oraclecloud8.com" },
        /* oc9 */
        { "me-dcc-muscat-1", "mct", "oraclecloud9.com" }, { "me-ibri-1", "ibr", "oraclecloud9.com" },
        /* oc10 */
        { "ap-dcc-canberra-1", "wga", "oraclecloud10.com" },
        /* oc14 */
        { "eu-dcc-milan-1", "bgy", "oraclecloud14.com" },  { "eu-dcc-milan-2", "mxp", "oraclecloud14.com" },
        { "eu-dcc-dublin-2", "snn", "oraclecloud14.com" }, { "eu-dcc-rating-2", "dtm", "oraclecloud14.com" },
        { "eu-dcc-rating-1", "dus", "oraclecloud14.com" }, { "eu-dcc-dublin-1", "ork", "oraclecloud14.com" },
        /* oc15 */
        { "ap-dcc-gazipur-1", "dac", "oraclecloud15.com" },
        /* oc19 */
        { "eu-madrid-2", "vll", "oraclecloud.eu" }, { "eu-frankfurt-2", "str", "oraclecloud.eu" },
        /* oc20 */
        { "eu-jovanovac-1", "beg", "oraclecloud20.com" },
        /* oc21 */
        { "me-dcc-doha-1", "doh", "oraclecloud21.com" }, { "me-alrayyan-1", "vve", "oraclecloud21.com" },
        /* oc23 */
        { "us-somerset-1", "ebb", "oraclecloud23.com" }, { "us-thames-1", "ebl", "oraclecloud23.com" },
        /* oc24 */
        { "eu-dcc-zurich-1", "avz", "oraclecloud24.com" }, { "eu-crissier-1", "avf", "oraclecloud24.com" },
        /* oc26 */
        { "me-abudhabi-3", "ahu", "oraclecloud26.com" }, { "me-alain-1", "rba", "oraclecloud26.com" },
        /* oc29 */
        { "me-abudhabi-2", "rkt", "oraclecloud29.com" }, { "me-abudhabi-4", "shj", "oraclecloud29.com" },
        /* oc35 */
        { "ap-seoul-2", "dtz", "oraclecloud35.com" }, { "ap-suwon-1", "dln", "oraclecloud35.com" },
        { "ap-chuncheon-2", "bno", "oraclecloud35.com" },
        /* oc42 */
        { "us-ashburn-2", "yxj", "oraclecloud42.com" }, { "us-newark-1", "pgc", "oraclecloud42.com" },
        /* oc51 */
        { "eu-budapest-1", "jsk", "oraclecloud51.com" },
        /* oc52 */
        { "sa-riodejaneiro-1", "hnw", "oraclecloud52.com" },
};

static ssize_t region_index(const char *s) {
        if (!s)
                return -1;
        for (size_t i = 0; i < ELEMENTSOF(regions); i++)
                if (streq(regions[i].name, s) || strcasecmp(regions[i].key, s) == 0)
                        return (ssize_t) i;
        return -1;
}

const char *oci_region_domain(const char *region) {
        ssize_t i = region_index(region);
        return i >= 0 ? regions[i].domain : "oraclecloud.com";
}

const char *oci_region_normalize(const char *name_or_key) {
        ssize_t i = region_index(name_or_key);
        return i >= 0 ? regions[i].name : NULL;
}

const char *oci_region_key(const char *region) {
        static char keys[ELEMENTSOF(regions)][4];
        ssize_t i = region_index(region);

        if (i < 0)
                return NULL;
        /* upper-case copies, built on first use */
        if (!keys[i][0])
                for (size_t k = 0; k < 3; k++)
                        keys[i][k] = (char) toupper((unsigned char) regions[i].key[k]);
        return keys[i];
}

/* ---- decoding ---- */

typedef struct Dec {
        const char *prefix;      /* "items[3]" or "" */
        char **error;
} Dec;

static int dec_fail(Dec *d, const char *field, const char *fmt, ...) _printf_(3, 4);
static int dec_fail(Dec *d, const char *field, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        if (!d->error)
                return -EBADMSG;
        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        if (!m)
                return -ENOMEM;
        free(*d->error);
        *d->error = strprintf("%s%s%s%s%s", strempty(d->prefix), !isempty(d->prefix) && field ? "." : "",
                              strempty(field), field || !isempty(d->prefix) ? ": " : "", m);
        return *d->error ? -EBADMSG : -ENOMEM;
}

static const char *json_type_name(json_object *j) {
        switch (json_object_get_type(j)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "a boolean";
        case json_type_double:
        case json_type_int:
                return "a number";
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        default:
                return "something else";
        }
}

static int dec_object(Dec *d, json_object *j) {
        if (!json_object_is_type(j, json_type_object))
                return dec_fail(d, NULL, "expected an object, got %s", json_type_name(j));
        return 0;
}

/* A string field. Absent or null: NULL (an error if required). Empty strings are kept. */
static int dec_string(Dec *d, json_object *o, const char *field, bool required, char **ret) {
        json_object *v = NULL;
        const char *s;
        char *c;
        int len;

        if (!json_object_object_get_ex(o, field, &v) || json_object_is_type(v, json_type_null)) {
                if (required)
                        return dec_fail(d, field, "missing");
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return dec_fail(d, field, "expected a string, got %s", json_type_name(v));
        s = json_object_get_string(v);
        len = json_object_get_string_len(v);
        if ((size_t) len != strlen(s))
                return dec_fail(d, field, "contains a NUL character");
        if (required && len == 0)
                return dec_fail(d, field, "is empty");
        c = strdup(s);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

static int dec_bool(Dec *d, json_object *o, const char *field, bool required, bool *ret_present, bool *ret) {
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, field, &v) || json_object_is_type(v, json_type_null)) {
                if (required)
                        return dec_fail(d, field, "missing");
                if (ret_present)
                        *ret_present = false;
                *ret = false;
                return 0;
        }
        if (!json_object_is_type(v, json_type_boolean))
                return dec_fail(d, field, "expected a boolean, got %s", json_type_name(v));
        if (ret_present)
                *ret_present = true;
        *ret = json_object_get_boolean(v);
        return 0;
}

static int dec_int64(Dec *d, json_object *o, const char *field, bool *ret_present, int64_t *ret) {
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, field, &v) || json_object_is_type(v, json_type_null)) {
                *ret_present = false;
                *ret = 0;
                return 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return dec_fail(d, field, "expected an integer, got %s", json_type_name(v));
        errno = 0;
        *ret = json_object_get_int64(v);
        if (errno != 0)
                return dec_fail(d, field, "integer out of range");
        *ret_present = true;
        return 0;
}

void oci_tags_done(OciTags *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->n_freeform; i++) {
                free(t->freeform[i].key);
                free(t->freeform[i].value);
        }
        free(t->freeform);
        for (size_t i = 0; i < t->n_defined; i++) {
                free(t->defined[i].ns);
                free(t->defined[i].key);
                free(t->defined[i].value);
        }
        free(t->defined);
        *t = (OciTags) {};
}

static int tags_append(OciTag **a, size_t *n, const char *ns, const char *key, const char *value, bool is_json) {
        OciTag *m, t = {};

        t.ns = ns ? strdup(ns) : NULL;
        t.key = strdup(key);
        t.value = strdup(value);
        t.value_is_json = is_json;
        if ((ns && !t.ns) || !t.key || !t.value)
                goto oom;
        m = realloc(*a, sizeof(OciTag) * (*n + 1));
        if (!m)
                goto oom;
        m[(*n)++] = t;
        *a = m;
        return 0;
oom:
        free(t.ns);
        free(t.key);
        free(t.value);
        return -ENOMEM;
}

static int dec_tags(Dec *d, json_object *o, OciTags *ret) {
        _cleanup_(oci_tags_done) OciTags t = {};
        json_object *ff = NULL, *df = NULL;
        int r;

        if (json_object_object_get_ex(o, "freeformTags", &ff) && !json_object_is_type(ff, json_type_null)) {
                if (!json_object_is_type(ff, json_type_object))
                        return dec_fail(d, "freeformTags", "expected an object, got %s", json_type_name(ff));
                json_object_object_foreach(ff, k, v) {
                        if (!json_object_is_type(v, json_type_string))
                                return dec_fail(d, "freeformTags", "value of '%s': expected a string, got %s", k,
                                                json_type_name(v));
                        if (strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v))
                                return dec_fail(d, "freeformTags", "value of '%s' contains a NUL character", k);
                        r = tags_append(&t.freeform, &t.n_freeform, NULL, k, json_object_get_string(v), false);
                        if (r < 0)
                                return r;
                }
        }

        if (json_object_object_get_ex(o, "definedTags", &df) && !json_object_is_type(df, json_type_null)) {
                if (!json_object_is_type(df, json_type_object))
                        return dec_fail(d, "definedTags", "expected an object, got %s", json_type_name(df));
                json_object_object_foreach(df, ns, keys) {
                        if (!json_object_is_type(keys, json_type_object))
                                return dec_fail(d, "definedTags", "namespace '%s': expected an object, got %s", ns,
                                                json_type_name(keys));
                        json_object_object_foreach(keys, k, v) {
                                bool is_string = json_object_is_type(v, json_type_string);
                                const char *text = is_string ? json_object_get_string(v)
                                                             : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

                                if (!text)
                                        return -ENOMEM;
                                if (is_string && strlen(text) != (size_t) json_object_get_string_len(v))
                                        return dec_fail(d, "definedTags", "value of '%s.%s' contains a NUL character",
                                                        ns, k);
                                r = tags_append(&t.defined, &t.n_defined, ns, k, text, !is_string);
                                if (r < 0)
                                        return r;
                        }
                }
        }

        *ret = t;
        t = (OciTags) {};
        return 0;
}

json_object *oci_tags_freeform_to_json(const OciTags *t) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        for (size_t i = 0; t && i < t->n_freeform; i++) {
                json_object *v = json_object_new_string(t->freeform[i].value);
                if (!v || json_object_object_add(o, t->freeform[i].key, v) < 0) {
                        json_object_put(v);
                        return NULL;
                }
        }
        return TAKE_PTR(o);
}

json_object *oci_tags_defined_to_json(const OciTags *t) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        for (size_t i = 0; t && i < t->n_defined; i++) {
                const OciTag *tag = t->defined + i;
                json_object *ns = NULL, *v;

                if (!json_object_object_get_ex(o, tag->ns, &ns)) {
                        ns = json_object_new_object();
                        if (!ns || json_object_object_add(o, tag->ns, ns) < 0) {
                                json_object_put(ns);
                                return NULL;
                        }
                }
                v = tag->value_is_json ? json_tokener_parse(tag->value) : json_object_new_string(tag->value);
                if ((!v && !(tag->value_is_json && streq(tag->value, "null"))) ||
                    json_object_object_add(ns, tag->key, v) < 0) {
                        json_object_put(v);
                        return NULL;
                }
        }
        return TAKE_PTR(o);
}

void oci_tenancy_done(OciTenancy *t) {
        if (!t)
                return;
        free(t->id);
        free(t->name);
        free(t->description);
        free(t->home_region_key);
        oci_tags_done(&t->tags);
        *t = (OciTenancy) {};
}

void oci_region_subscription_done(OciRegionSubscription *s) {
        if (!s)
                return;
        free(s->region_key);
        free(s->region_name);
        free(s->status);
        *s = (OciRegionSubscription) {};
}

void oci_compartment_done(OciCompartment *c) {
        if (!c)
                return;
        free(c->id);
        free(c->compartment_id);
        free(c->name);
        free(c->description);
        free(c->lifecycle_state_raw);
        free(c->time_created);
        oci_tags_done(&c->tags);
        *c = (OciCompartment) {};
}

void oci_instance_done(OciInstance *i) {
        if (!i)
                return;
        free(i->id);
        free(i->compartment_id);
        free(i->availability_domain);
        free(i->fault_domain);
        free(i->display_name);
        free(i->region);
        free(i->shape);
        free(i->lifecycle_state_raw);
        free(i->time_created);
        oci_tags_done(&i->tags);
        *i = (OciInstance) {};
}

void oci_resource_summary_done(OciResourceSummary *s) {
        if (!s)
                return;
        free(s->resource_type);
        free(s->identifier);
        free(s->compartment_id);
        free(s->display_name);
        free(s->availability_domain);
        free(s->lifecycle_state);
        free(s->time_created);
        oci_tags_done(&s->tags);
        free(s->shape);
        free(s->fault_domain);
        free(s->region);
        *s = (OciResourceSummary) {};
}

#define DEFINE_ARRAY_FREE(name, type, done)                     \
        type *name(type *a, size_t n) {                         \
                if (!a)                                         \
                        return NULL;                            \
                for (size_t i = 0; i < n; i++)                  \
                        done(a + i);                            \
                return mfree(a);                                \
        }

DEFINE_ARRAY_FREE(oci_region_subscriptions_free, OciRegionSubscription, oci_region_subscription_done)
DEFINE_ARRAY_FREE(oci_compartments_free, OciCompartment, oci_compartment_done)
DEFINE_ARRAY_FREE(oci_instances_free, OciInstance, oci_instance_done)
DEFINE_ARRAY_FREE(oci_resource_summaries_free, OciResourceSummary, oci_resource_summary_done)

static int tenancy_dec(Dec *d, json_object *j, OciTenancy *ret) {
        _cleanup_(oci_tenancy_done) OciTenancy t = {};
        int r;

        if ((r = dec_object(d, j)) < 0 ||
            (r = dec_string(d, j, "id", true, &t.id)) < 0 ||
            (r = dec_string(d, j, "name", true, &t.name)) < 0 ||
            (r = dec_string(d, j, "description", false, &t.description)) < 0 ||
            (r = dec_string(d, j, "homeRegionKey", false, &t.home_region_key)) < 0 ||
            (r = dec_tags(d, j, &t.tags)) < 0)
                return r;
        *ret = t;
        t = (OciTenancy) {};
        return 0;
}

static int region_subscription_dec(Dec *d, json_object *j, OciRegionSubscription *ret) {
        _cleanup_(oci_region_subscription_done) OciRegionSubscription s = {};
        int r;

        if ((r = dec_object(d, j)) < 0 ||
            (r = dec_string(d, j, "regionKey", true, &s.region_key)) < 0 ||
            (r = dec_string(d, j, "regionName", true, &s.region_name)) < 0 ||
            (r = dec_string(d, j, "status", true, &s.status)) < 0 ||
            (r = dec_bool(d, j, "isHomeRegion", true, NULL, &s.is_home_region)) < 0)
                return r;
        *ret = s;
        s = (OciRegionSubscription) {};
        return 0;
}

static int compartment_dec(Dec *d, json_object *j, OciCompartment *ret) {
        _cleanup_(oci_compartment_done) OciCompartment c = {};
        int r;

        if ((r = dec_object(d, j)) < 0 ||
            (r = dec_string(d, j, "id", true, &c.id)) < 0 ||
            (r = dec_string(d, j, "compartmentId", false, &c.compartment_id)) < 0 ||
            (r = dec_string(d, j, "name", true, &c.name)) < 0 ||
            (r = dec_string(d, j, "description", false, &c.description)) < 0 ||
            (r = dec_string(d, j, "lifecycleState", true, &c.lifecycle_state_raw)) < 0 ||
            (r = dec_string(d, j, "timeCreated", true, &c.time_created)) < 0 ||
            (r = dec_bool(d, j, "isAccessible", false, &c.has_is_accessible, &c.is_accessible)) < 0 ||
            (r = dec_int64(d, j, "inactiveStatus", &c.has_inactive_status, &c.inactive_status)) < 0 ||
            (r = dec_tags(d, j, &c.tags)) < 0)
                return r;
        c.lifecycle_state = oci_compartment_state_from_string(c.lifecycle_state_raw);
        *ret = c;
        c = (OciCompartment) {};
        return 0;
}

static int instance_dec(Dec *d, json_object *j, OciInstance *ret) {
        _cleanup_(oci_instance_done) OciInstance i = {};
        int r;

        if ((r = dec_object(d, j)) < 0 ||
            (r = dec_string(d, j, "id", true, &i.id)) < 0 ||
            (r = dec_string(d, j, "compartmentId", true, &i.compartment_id)) < 0 ||
            (r = dec_string(d, j, "availabilityDomain", true, &i.availability_domain)) < 0 ||
            (r = dec_string(d, j, "faultDomain", false, &i.fault_domain)) < 0 ||
            (r = dec_string(d, j, "displayName", false, &i.display_name)) < 0 ||
            (r = dec_string(d, j, "region", true, &i.region)) < 0 ||
            (r = dec_string(d, j, "shape", true, &i.shape)) < 0 ||
            (r = dec_string(d, j, "lifecycleState", true, &i.lifecycle_state_raw)) < 0 ||
            (r = dec_string(d, j, "timeCreated", true, &i.time_created)) < 0 ||
            (r = dec_tags(d, j, &i.tags)) < 0)
                return r;
        i.lifecycle_state = oci_instance_state_from_string(i.lifecycle_state_raw);
        *ret = i;
        i = (OciInstance) {};
        return 0;
}

/* A string member of a free-form object, or NULL when absent or of another type. */
static int lenient_string(json_object *o, const char *field, char **ret) {
        json_object *v = NULL;

        *ret = NULL;
        if (!json_object_object_get_ex(o, field, &v) || !json_object_is_type(v, json_type_string) ||
            strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v))
                return 0;
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

static int resource_summary_dec(Dec *d, json_object *j, OciResourceSummary *ret) {
        _cleanup_(oci_resource_summary_done) OciResourceSummary s = {};
        json_object *ad = NULL;
        int r;

        if ((r = dec_object(d, j)) < 0 ||
            (r = dec_string(d, j, "resourceType", true, &s.resource_type)) < 0 ||
            (r = dec_string(d, j, "identifier", true, &s.identifier)) < 0 ||
            (r = dec_string(d, j, "compartmentId", true, &s.compartment_id)) < 0 ||
            (r = dec_string(d, j, "displayName", false, &s.display_name)) < 0 ||
            (r = dec_string(d, j, "availabilityDomain", false, &s.availability_domain)) < 0 ||
            (r = dec_string(d, j, "lifecycleState", false, &s.lifecycle_state)) < 0 ||
            (r = dec_string(d, j, "timeCreated", false, &s.time_created)) < 0 ||
            (r = dec_tags(d, j, &s.tags)) < 0)
                return r;
        if (json_object_object_get_ex(j, "additionalDetails", &ad) && json_object_is_type(ad, json_type_object) &&
            ((r = lenient_string(ad, "shape", &s.shape)) < 0 ||
             (r = lenient_string(ad, "faultDomain", &s.fault_domain)) < 0 ||
             (r = lenient_string(ad, "region", &s.region)) < 0))
                return r;
        *ret = s;
        s = (OciResourceSummary) {};
        return 0;
}

int oci_tenancy_from_json(json_object *j, OciTenancy *ret, char **ret_error) {
        Dec d = { .prefix = "", .error = ret_error };
        return tenancy_dec(&d, j, ret);
}

int oci_region_subscription_from_json(json_object *j, OciRegionSubscription *ret, char **ret_error) {
        Dec d = { .prefix = "", .error = ret_error };
        return region_subscription_dec(&d, j, ret);
}

int oci_compartment_from_json(json_object *j, OciCompartment *ret, char **ret_error) {
        Dec d = { .prefix = "", .error = ret_error };
        return compartment_dec(&d, j, ret);
}

int oci_instance_from_json(json_object *j, OciInstance *ret, char **ret_error) {
        Dec d = { .prefix = "", .error = ret_error };
        return instance_dec(&d, j, ret);
}

int oci_resource_summary_from_json(json_object *j, OciResourceSummary *ret, char **ret_error) {
        Dec d = { .prefix = "", .error = ret_error };
        return resource_summary_dec(&d, j, ret);
}

static int set_error(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int set_error(char **ret_error, const char *fmt, ...) {
        va_list ap;
        char *m = NULL;

        if (!ret_error)
                return -EBADMSG;
        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        free(*ret_error);
        *ret_error = m;
        return m ? -EBADMSG : -ENOMEM;
}

static void json_tokener_freep(json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

int oci_json_parse(const char *body, size_t size, json_object **ret, char **ret_error) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_json_ json_object *j = NULL;
        enum json_tokener_error e;
        size_t off;

        assert(body || size == 0);
        assert(ret);

        if (size == 0 || strspn(body, " \t\r\n") >= size)
                return set_error(ret_error, "empty body");
        if (size > INT32_MAX)
                return set_error(ret_error, "body too large");
        if (memchr(body, 0, size))
                return set_error(ret_error, "body contains a NUL byte");

        tok = json_tokener_new_ex(64);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        j = json_tokener_parse_ex(tok, body, (int) size);
        e = json_tokener_get_error(tok);
        off = json_tokener_get_parse_end(tok);
        if (e == json_tokener_continue) {
                /* all of body consumed; a top-level number or literal ("null", "42") only ends
                 * at a terminator: feed the end of input explicitly */
                j = json_tokener_parse_ex(tok, "", 1);
                e = json_tokener_get_error(tok);
                off = size;
        }
        if (e == json_tokener_continue || e == json_tokener_error_parse_eof)
                return set_error(ret_error, "truncated JSON (%zu bytes)", size);
        if (e != json_tokener_success)
                return set_error(ret_error, "malformed JSON at byte %zu: %s", off, json_tokener_error_desc(e));
        for (; off < size; off++)
                if (!strchr(" \t\r\n", body[off]))
                        return set_error(ret_error, "garbage after the JSON value at byte %zu", off);
        *ret = TAKE_PTR(j);
        return 0;
}

#define DEFINE_SINGLE_DECODE(name, type, dec, done)                                             \
        int name(const char *body, size_t size, type *ret, char **ret_error) {                 \
                _cleanup_json_ json_object *j = NULL;                                           \
                Dec d = { .prefix = "", .error = ret_error };                                   \
                int r = oci_json_parse(body, size, &j, ret_error);                              \
                if (r < 0)                                                                      \
                        return r;                                                               \
                return dec(&d, j, ret);                                                         \
        }

DEFINE_SINGLE_DECODE(oci_tenancy_decode, OciTenancy, tenancy_dec, oci_tenancy_done)
DEFINE_SINGLE_DECODE(oci_compartment_decode, OciCompartment, compartment_dec, oci_compartment_done)
DEFINE_SINGLE_DECODE(oci_instance_decode, OciInstance, instance_dec, oci_instance_done)

/* Decodes array a into n elements of elem_size each with dec; on failure frees what was made. */
typedef int (*dec_fn_t)(Dec *d, json_object *j, void *ret);

static int decode_array(json_object *a, size_t elem_size, dec_fn_t dec, void (*done)(void *), void **ret,
                        size_t *ret_n, char **ret_error) {
        size_t n = json_object_array_length(a);
        uint8_t *items;

        items = calloc(n ?: 1, elem_size);
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char prefix[32];
                Dec d = { .prefix = prefix, .error = ret_error };
                int r;

                snprintf(prefix, sizeof prefix, "items[%zu]", i);
                r = dec(&d, json_object_array_get_idx(a, i), items + i * elem_size);
                if (r < 0) {
                        for (size_t k = 0; k < i; k++)
                                done(items + k * elem_size);
                        free(items);
                        return r;
                }
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

static int decode_list_body(const char *body, size_t size, bool wrapped, size_t elem_size, dec_fn_t dec,
                            void (*done)(void *), void **ret, size_t *ret_n, char **ret_error) {
        _cleanup_json_ json_object *j = NULL;
        json_object *a = NULL;
        int r;

        r = oci_json_parse(body, size, &j, ret_error);
        if (r < 0)
                return r;
        if (wrapped) {
                if (!json_object_is_type(j, json_type_object))
                        return set_error(ret_error, "expected an object with \"items\", got %s", json_type_name(j));
                if (!json_object_object_get_ex(j, "items", &a))
                        return set_error(ret_error, "items: missing");
        } else
                a = j;
        if (!json_object_is_type(a, json_type_array))
                return set_error(ret_error, "%sexpected an array, got %s", wrapped ? "items: " : "", json_type_name(a));
        return decode_array(a, elem_size, dec, done, ret, ret_n, ret_error);
}

#define DEFINE_LIST_DECODE(name, type, wrapped, dec, done)                                                      \
        static int name##_dec_v(Dec *d, json_object *j, void *ret) {                                            \
                return dec(d, j, ret);                                                                          \
        }                                                                                                       \
        static void name##_done_v(void *p) {                                                                    \
                done(p);                                                                                        \
        }                                                                                                       \
        int name(const char *body, size_t size, type **ret, size_t *ret_n, char **ret_error) {                 \
                return decode_list_body(body, size, wrapped, sizeof(type), name##_dec_v, name##_done_v,         \
                                        (void **) ret, ret_n, ret_error);                                       \
        }

DEFINE_LIST_DECODE(oci_region_subscriptions_decode, OciRegionSubscription, false, region_subscription_dec,
                   oci_region_subscription_done)
DEFINE_LIST_DECODE(oci_compartments_decode, OciCompartment, false, compartment_dec, oci_compartment_done)
DEFINE_LIST_DECODE(oci_instances_decode, OciInstance, false, instance_dec, oci_instance_done)
DEFINE_LIST_DECODE(oci_resource_summaries_decode, OciResourceSummary, true, resource_summary_dec,
                   oci_resource_summary_done)

int oci_error_body_decode(const char *body, size_t size, char **ret_code, char **ret_message) {
        _cleanup_json_ json_object *j = NULL;
        _cleanup_free_ char *code = NULL, *message = NULL;
        Dec d = { .prefix = "" };

        if (body && oci_json_parse(body, size, &j, NULL) >= 0 && json_object_is_type(j, json_type_object)) {
                if (dec_string(&d, j, "code", false, &code) == -ENOMEM ||
                    dec_string(&d, j, "message", false, &message) == -ENOMEM)
                        return -ENOMEM;
        }
        *ret_code = TAKE_PTR(code);
        *ret_message = TAKE_PTR(message);
        return 0;
}

int oci_retry_token_from_key(const char *key, char **ret) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        char *hex;

        if (EVP_Digest(key, strlen(key), md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
                return -EIO;
        hex = malloc(md_len * 2 + 1);
        if (!hex)
                return -ENOMEM;
        for (unsigned i = 0; i < md_len; i++)
                sprintf(hex + 2 * i, "%02x", md[i]);
        *ret = hex;
        return 0;
}

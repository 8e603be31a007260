/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* OCI data as plain C: the objects stopstart reads (tenancy, region subscription, compartment,
 * instance, Resource Search summary), their JSON decoders, the enums with string tables, and the
 * region/realm table (docs/oci-api.md §3-5, Appendix A).
 *
 * Decoders never trust the input: malformed JSON, a missing required field, a wrong type or
 * trailing garbage is -EBADMSG with a one-line reason (ret_error), never a crash. Unknown fields
 * are ignored (the models grow). Unknown lifecycle states are kept as text with the enum set to
 * _INVALID; callers treat them as transitional, as the SDKs do. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "string-table.h"

typedef enum OciInstanceState {
        OCI_INSTANCE_PROVISIONING,
        OCI_INSTANCE_RUNNING,
        OCI_INSTANCE_STARTING,
        OCI_INSTANCE_STOPPING,
        OCI_INSTANCE_STOPPED,
        OCI_INSTANCE_CREATING_IMAGE,
        OCI_INSTANCE_TERMINATING,
        OCI_INSTANCE_TERMINATED,
        OCI_INSTANCE_MOVING,
        _OCI_INSTANCE_STATE_MAX,
        _OCI_INSTANCE_STATE_INVALID = -EINVAL,
} OciInstanceState;
DECLARE_STRING_TABLE_LOOKUP(oci_instance_state, OciInstanceState);
/* RUNNING, STOPPED, TERMINATED; everything else (including unknown values) is transitional. */
bool oci_instance_state_is_stable(OciInstanceState s);

typedef enum OciCompartmentState {
        OCI_COMPARTMENT_CREATING,
        OCI_COMPARTMENT_ACTIVE,
        OCI_COMPARTMENT_INACTIVE,
        OCI_COMPARTMENT_DELETING,
        OCI_COMPARTMENT_DELETED,
        _OCI_COMPARTMENT_STATE_MAX,
        _OCI_COMPARTMENT_STATE_INVALID = -EINVAL,
} OciCompartmentState;
DECLARE_STRING_TABLE_LOOKUP(oci_compartment_state, OciCompartmentState);

typedef enum OciInstanceAction {
        OCI_ACTION_START,
        OCI_ACTION_STOP,
        OCI_ACTION_SOFTSTOP,
        OCI_ACTION_RESET,
        OCI_ACTION_SOFTRESET,
        _OCI_ACTION_MAX,
        _OCI_ACTION_INVALID = -EINVAL,
} OciInstanceAction;
DECLARE_STRING_TABLE_LOOKUP(oci_instance_action, OciInstanceAction);

/* The opc-retry-token of key: hex SHA-256, 64 characters (OCI's maximum). The same key gives the
 * same token, so a request sent again (retried, resumed, by another daemon) is acted on once. */
int oci_retry_token_from_key(const char *key, char **ret);

/* The stable state an action ends in: RUNNING for START/RESET/SOFTRESET, STOPPED for STOP/SOFTSTOP. */
OciInstanceState oci_instance_action_target_state(OciInstanceAction a);

typedef enum OciService {
        OCI_SERVICE_IDENTITY,    /* identity.{region}.oci.{domain}/20160918 */
        OCI_SERVICE_IAAS,        /* iaas.{region}.{domain}/20160918 */
        OCI_SERVICE_QUERY,       /* query.{region}.oci.{domain}/20180409 */
        _OCI_SERVICE_MAX,
        _OCI_SERVICE_INVALID = -EINVAL,
} OciService;
DECLARE_STRING_TABLE_LOOKUP(oci_service, OciService);

typedef enum OciAccessLevel {
        OCI_ACCESS_ANY,
        OCI_ACCESS_ACCESSIBLE,
        _OCI_ACCESS_LEVEL_MAX,
        _OCI_ACCESS_LEVEL_INVALID = -EINVAL,
} OciAccessLevel;
DECLARE_STRING_TABLE_LOOKUP(oci_access_level, OciAccessLevel);

/* ---- regions ---- */

/* The second-level domain of the region's realm ("oraclecloud.com" for oc1). Unknown regions
 * get oc1's, as the SDKs assume. */
const char *oci_region_domain(const char *region);
/* "us-phoenix-1" for "phx", "PHX" or "us-phoenix-1"; NULL if unknown. Instance.region returns
 * short codes for some regions and RegionSubscription has regionKey: this normalises both. */
const char *oci_region_normalize(const char *name_or_key);
/* "PHX" for "us-phoenix-1"; NULL if unknown. */
const char *oci_region_key(const char *region);

/* ---- objects ---- */

typedef struct OciTag {
        char *ns;                /* defined tags: the namespace; freeform tags: NULL */
        char *key;
        char *value;             /* the string value; for a defined tag whose value is not a
                                  * string (number, bool, ...): its JSON text */
        bool value_is_json;
} OciTag;

typedef struct OciTags {
        OciTag *freeform;
        size_t n_freeform;
        OciTag *defined;
        size_t n_defined;
} OciTags;

void oci_tags_done(OciTags *t);
/* {"key":"value",...} and {"ns":{"key":value,...},...}: the shapes OCI uses and the inventory
 * store takes. New references. */
json_object *oci_tags_freeform_to_json(const OciTags *t);
json_object *oci_tags_defined_to_json(const OciTags *t);

typedef struct OciTenancy {
        char *id;                /* required */
        char *name;              /* required */
        char *description;
        char *home_region_key;   /* "PHX" */
        OciTags tags;
} OciTenancy;

typedef struct OciRegionSubscription {
        char *region_key;        /* required, "PHX" */
        char *region_name;       /* required, "us-phoenix-1" */
        char *status;            /* required, "READY" | "IN_PROGRESS" */
        bool is_home_region;     /* required */
} OciRegionSubscription;

typedef struct OciCompartment {
        char *id;                /* required */
        char *compartment_id;    /* parent; may be NULL for the root (tenancy) */
        char *name;              /* required */
        char *description;
        char *lifecycle_state_raw; /* required */
        OciCompartmentState lifecycle_state;
        char *time_created;      /* RFC 3339, required */
        bool has_is_accessible;
        bool is_accessible;
        bool has_inactive_status;
        int64_t inactive_status;
        OciTags tags;
} OciCompartment;

typedef struct OciInstance {
        char *id;                /* required */
        char *compartment_id;    /* required */
        char *availability_domain; /* required */
        char *fault_domain;
        char *display_name;
        char *region;            /* required, as OCI sent it ("phx" or a full name) */
        char *shape;             /* required */
        char *lifecycle_state_raw; /* required */
        OciInstanceState lifecycle_state;
        char *time_created;      /* required */
        OciTags tags;
} OciInstance;

typedef struct OciResourceSummary {
        char *resource_type;     /* required, e.g. "Instance" */
        char *identifier;        /* required, the OCID */
        char *compartment_id;    /* required */
        char *display_name;
        char *availability_domain;
        char *lifecycle_state;   /* text: every resource type has its own values */
        char *time_created;
        OciTags tags;
        /* From additionalDetails (queries with "return allAdditionalFields"; for instances OCI
         * sends the Compute fields). NULL when absent or not a string: that object is free-form
         * and differs per resource type, so it is never a reason to reject a summary. */
        char *shape;
        char *fault_domain;
        char *region;
} OciResourceSummary;

void oci_tenancy_done(OciTenancy *t);
void oci_region_subscription_done(OciRegionSubscription *s);
void oci_compartment_done(OciCompartment *c);
void oci_instance_done(OciInstance *i);
void oci_resource_summary_done(OciResourceSummary *s);

/* Free an array of n objects (and the array). Return NULL. */
OciRegionSubscription *oci_region_subscriptions_free(OciRegionSubscription *a, size_t n);
OciCompartment *oci_compartments_free(OciCompartment *a, size_t n);
OciInstance *oci_instances_free(OciInstance *a, size_t n);
OciResourceSummary *oci_resource_summaries_free(OciResourceSummary *a, size_t n);

/* Decoders from one parsed JSON value. On failure return -EBADMSG (or -ENOMEM), leave ret
 * untouched and set *ret_error (optional) to a reason such as "items[3].lifecycleState: expected
 * a string". */
int oci_tenancy_from_json(json_object *j, OciTenancy *ret, char **ret_error);
int oci_region_subscription_from_json(json_object *j, OciRegionSubscription *ret, char **ret_error);
int oci_compartment_from_json(json_object *j, OciCompartment *ret, char **ret_error);
int oci_instance_from_json(json_object *j, OciInstance *ret, char **ret_error);
int oci_resource_summary_from_json(json_object *j, OciResourceSummary *ret, char **ret_error);

/* Parses a complete response body: exactly one JSON value, nothing but whitespace after it. */
int oci_json_parse(const char *body, size_t size, json_object **ret, char **ret_error);

/* Whole bodies: a single object, a bare array (List*), or {"items":[...]} (Search). */
int oci_tenancy_decode(const char *body, size_t size, OciTenancy *ret, char **ret_error);
int oci_compartment_decode(const char *body, size_t size, OciCompartment *ret, char **ret_error);
int oci_instance_decode(const char *body, size_t size, OciInstance *ret, char **ret_error);
int oci_region_subscriptions_decode(const char *body, size_t size, OciRegionSubscription **ret, size_t *ret_n,
                                    char **ret_error);
int oci_compartments_decode(const char *body, size_t size, OciCompartment **ret, size_t *ret_n, char **ret_error);
int oci_instances_decode(const char *body, size_t size, OciInstance **ret, size_t *ret_n, char **ret_error);
int oci_resource_summaries_decode(const char *body, size_t size, OciResourceSummary **ret, size_t *ret_n,
                                  char **ret_error);

/* An OCI error body {"code": ..., "message": ...}; either may come back NULL. Never fails on
 * bad input (a non-JSON error body just yields NULLs); -ENOMEM only. */
int oci_error_body_decode(const char *body, size_t size, char **ret_code, char **ret_message);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The typed calls of oci-client.h: each builds its path, query and body, and decodes what comes
 * back (oci-model.h) into the objects its handler gets: one object, or pages followed to the
 * end. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "json-util.h"
#include "oci-call.h"
#include "oci-url.h"
#include "strv.h"

/* A server that keeps answering "nothing yet, same page" is broken, not slow. */
#define OCI_MAX_EMPTY_PAGES 100U

int oci_retry_token_new(char **ret) {
        static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        uint8_t raw[32];
        char *t;

        if (getrandom(raw, sizeof raw, 0) != (ssize_t) sizeof raw)
                return -EIO;
        t = malloc(sizeof raw + 1);
        if (!t)
                return -ENOMEM;
        /* 256 % 62 != 0: a small bias, harmless for a uniqueness token */
        for (size_t i = 0; i < sizeof raw; i++)
                t[i] = alnum[raw[i] % (sizeof alnum - 1)];
        t[sizeof raw] = 0;
        *ret = t;
        return 0;
}

OciTenancy *oci_tenancy_free(OciTenancy *t) {
        oci_tenancy_done(t);
        return mfree(t);
}

OciCompartment *oci_compartment_free(OciCompartment *c) {
        oci_compartment_done(c);
        return mfree(c);
}

OciInstance *oci_instance_free(OciInstance *i) {
        oci_instance_done(i);
        return mfree(i);
}

/* One object in the body: decoded into a new Type, handed to the call's handler (with extra
 * arguments, e.g. the ETag), or a bad-response error when it does not decode. */
#define DEFINE_OBJECT_ON_RESPONSE(name, Type, decode, freep, handler_t, ...)                      \
        static void name(OciCall *call, const OciResponse *resp, const OciError *error) {         \
                handler_t h = (handler_t) call->handler;                                          \
                _cleanup_free_ char *reason = NULL, *m = NULL;                                    \
                _cleanup_(freep) Type *o = NULL;                                                  \
                OciError e;                                                                       \
                int r;                                                                            \
                                                                                                  \
                call->finished = true;                                                            \
                if (!error) {                                                                     \
                        o = new0(Type, 1);                                                        \
                        r = o ? decode(resp->body, resp->body_size, o, &reason) : -ENOMEM;        \
                        if (r < 0) {                                                              \
                                o = mfree(o);                                                     \
                                oci_call_bad_response(call, resp, reason, &e, &m);                \
                                error = &e;                                                       \
                        }                                                                         \
                }                                                                                 \
                h(call->client, error ? NULL : TAKE_PTR(o), __VA_ARGS__ error, call->userdata);   \
                oci_call_free(call);                                                              \
        }

DEFINE_OBJECT_ON_RESPONSE(tenancy_on_response, OciTenancy, oci_tenancy_decode, oci_tenancy_freep,
                          oci_tenancy_handler_t)
DEFINE_OBJECT_ON_RESPONSE(compartment_on_response, OciCompartment, oci_compartment_decode, oci_compartment_freep,
                          oci_compartment_handler_t)
DEFINE_OBJECT_ON_RESPONSE(instance_on_response, OciInstance, oci_instance_decode, oci_instance_freep,
                          oci_instance_handler_t, error ? NULL : resp->etag,)

static void region_subscriptions_on_response(OciCall *call, const OciResponse *resp, const OciError *error) {
        oci_region_subscriptions_handler_t h = (oci_region_subscriptions_handler_t) call->handler;
        _cleanup_free_ char *reason = NULL, *m = NULL;
        OciRegionSubscription *items = NULL;
        size_t n = 0;
        OciError e;

        call->finished = true;
        if (!error && oci_region_subscriptions_decode(resp->body, resp->body_size, &items, &n, &reason) < 0) {
                oci_call_bad_response(call, resp, reason, &e, &m);
                error = &e;
        }
        h(call->client, items, n, error, call->userdata);
        oci_call_free(call);
}

/* Pages: the decoders differ, the walk is the same. */
typedef int (*page_decode_t)(const char *body, size_t size, void **ret, size_t *ret_n, char **ret_error);
typedef void (*page_handler_t)(OciClient *c, void *items, size_t n, const char *next_page, const OciError *error,
                               void *userdata);
typedef void *(*page_free_t)(void *items, size_t n);

static void page_on_response(OciCall *call, const OciResponse *resp, const OciError *error, page_decode_t decode,
                             page_free_t free_items) {
        page_handler_t h = (page_handler_t) call->handler;
        _cleanup_free_ char *reason = NULL, *m = NULL, *next = NULL;
        void *items = NULL;
        size_t n = 0;
        OciError e;
        int r;

        if (!error) {
                if (decode(resp->body, resp->body_size, &items, &n, &reason) < 0) {
                        oci_call_bad_response(call, resp, reason, &e, &m);
                        error = &e;
                } else if (resp->next_page && call->page && streq(resp->next_page, call->page) &&
                           (n > 0 || ++call->empty_pages > OCI_MAX_EMPTY_PAGES)) {
                        /* an empty page may point at the same place again (OCI: "keep going"),
                         * a full one must not: its items would come twice; and never forever */
                        free_items(items, n);
                        items = NULL;
                        oci_call_bad_response(call, resp,
                                              n > 0 ? "opc-next-page repeats the page just read"
                                                    : "too many empty pages in a row", &e, &m);
                        n = 0;
                        error = &e;
                } else if (resp->next_page && !(next = strdup(resp->next_page))) {
                        free_items(items, n);
                        items = NULL;
                        n = 0;
                        e = (OciError) { .kind = OCI_ERROR_INTERNAL, .error = -ENOMEM, .operation = call->operation,
                                         .message = "out of memory" };
                        error = &e;
                }
        }

        if (error || !next || !call->all_pages) {
                call->finished = true;
                h(call->client, items, n, error ? NULL : next, error, call->userdata);
                oci_call_free(call);
                return;
        }

        if (n > 0 || !call->page || !streq(next, call->page))
                call->empty_pages = 0;

        /* more to come: this page, then the next request */
        call->in_callback++;
        h(call->client, items, n, next, NULL, call->userdata);
        if (!oci_call_invoke_end(call))
                return;
        free(call->page);
        call->page = TAKE_PTR(next);
        r = oci_call_submit(call);
        if (r < 0) {
                _cleanup_free_ char *msg = strprintf("cannot request the next page: %s", strerror(-r));
                e = (OciError) { .kind = OCI_ERROR_INTERNAL, .error = r, .operation = call->operation,
                                 .message = msg ?: "cannot request the next page" };
                call->finished = true;
                h(call->client, NULL, 0, NULL, &e, call->userdata);
                oci_call_free(call);
        }
}

static int compartments_decode_v(const char *b, size_t s, void **ret, size_t *n, char **err) {
        return oci_compartments_decode(b, s, (OciCompartment **) ret, n, err);
}
static void *compartments_free_v(void *a, size_t n) {
        return oci_compartments_free(a, n);
}
static void compartments_on_response(OciCall *call, const OciResponse *resp, const OciError *error) {
        page_on_response(call, resp, error, compartments_decode_v, compartments_free_v);
}

static int instances_decode_v(const char *b, size_t s, void **ret, size_t *n, char **err) {
        return oci_instances_decode(b, s, (OciInstance **) ret, n, err);
}
static void *instances_free_v(void *a, size_t n) {
        return oci_instances_free(a, n);
}
static void instances_on_response(OciCall *call, const OciResponse *resp, const OciError *error) {
        page_on_response(call, resp, error, instances_decode_v, instances_free_v);
}

static int resources_decode_v(const char *b, size_t s, void **ret, size_t *n, char **err) {
        return oci_resource_summaries_decode(b, s, (OciResourceSummary **) ret, n, err);
}
static void *resources_free_v(void *a, size_t n) {
        return oci_resource_summaries_free(a, n);
}
static void resources_on_response(OciCall *call, const OciResponse *resp, const OciError *error) {
        page_on_response(call, resp, error, resources_decode_v, resources_free_v);
}

int oci_get_tenancy(OciClient *c, const char *region, const char *tenancy_id, oci_tenancy_handler_t handler,
                    void *userdata, OciCall **ret_call) {
        OciCallSpec s = { .operation = "GetTenancy", .method = "GET", .service = OCI_SERVICE_IDENTITY, .region = region };

        if (isempty(tenancy_id))
                return -EINVAL;
        s.path = oci_url_path_with_id("/20160918/tenancies/", tenancy_id, "");
        if (!s.path)
                return -ENOMEM;
        return oci_call_start(c, &s, tenancy_on_response, (void (*)(void)) handler, userdata, ret_call);
}

int oci_list_region_subscriptions(OciClient *c, const char *region, const char *tenancy_id,
                                  oci_region_subscriptions_handler_t handler, void *userdata, OciCall **ret_call) {
        OciCallSpec s = { .operation = "ListRegionSubscriptions", .method = "GET", .service = OCI_SERVICE_IDENTITY,
                       .region = region };

        if (isempty(tenancy_id))
                return -EINVAL;
        s.path = oci_url_path_with_id("/20160918/tenancies/", tenancy_id, "/regionSubscriptions");
        if (!s.path)
                return -ENOMEM;
        return oci_call_start(c, &s, region_subscriptions_on_response, (void (*)(void)) handler, userdata, ret_call);
}

int oci_get_compartment(OciClient *c, const char *region, const char *compartment_id,
                        oci_compartment_handler_t handler, void *userdata, OciCall **ret_call) {
        OciCallSpec s = { .operation = "GetCompartment", .method = "GET", .service = OCI_SERVICE_IDENTITY, .region = region };

        if (isempty(compartment_id))
                return -EINVAL;
        s.path = oci_url_path_with_id("/20160918/compartments/", compartment_id, "");
        if (!s.path)
                return -ENOMEM;
        return oci_call_start(c, &s, compartment_on_response, (void (*)(void)) handler, userdata, ret_call);
}

static int query_add(char ***q, const char *name, const char *value) {
        int r;

        if (!value)
                return 0;
        r = strv_extend(q, name);
        if (r < 0)
                return r;
        return strv_extend(q, value);
}

static int query_add_limit(char ***q, unsigned limit) {
        char buf[16];

        if (limit == 0)
                return 0;
        snprintf(buf, sizeof buf, "%u", limit);
        return query_add(q, "limit", buf);
}

int oci_list_compartments(OciClient *c, const char *region, const OciListCompartmentsParams *params,
                          oci_compartments_handler_t handler, void *userdata, OciCall **ret_call) {
        OciCallSpec s = { .operation = "ListCompartments", .method = "GET", .service = OCI_SERVICE_IDENTITY,
                       .region = region };
        _cleanup_strv_free_ char **q = NULL;
        int r;

        if (!params || isempty(params->compartment_id))
                return -EINVAL;
        if ((r = query_add(&q, "compartmentId", params->compartment_id)) < 0 ||
            (r = query_add(&q, "compartmentIdInSubtree", params->subtree ? "true" : NULL)) < 0 ||
            (r = query_add(&q, "accessLevel", params->access_level >= 0 ? oci_access_level_to_string(params->access_level)
                                                                         : NULL)) < 0 ||
            (r = query_add(&q, "lifecycleState", params->lifecycle_state)) < 0 ||
            (r = query_add_limit(&q, params->limit)) < 0)
                return r;
        s.path = strdup("/20160918/compartments");
        if (!s.path)
                return -ENOMEM;
        s.query = TAKE_PTR(q);
        s.page = params->page;
        s.all_pages = params->all_pages;
        return oci_call_start(c, &s, compartments_on_response, (void (*)(void)) handler, userdata, ret_call);
}

int oci_list_instances(OciClient *c, const char *region, const OciListInstancesParams *params,
                       oci_instances_handler_t handler, void *userdata, OciCall **ret_call) {
        OciCallSpec s = { .operation = "ListInstances", .method = "GET", .service = OCI_SERVICE_IAAS, .region = region };
        _cleanup_strv_free_ char **q = NULL;
        int r;

        if (!params || isempty(params->compartment_id))
                return -EINVAL;
        if ((r = query_add(&q, "compartmentId", params->compartment_id)) < 0 ||
            (r = query_add(&q, "lifecycleState", params->lifecycle_state)) < 0 ||
            (r = query_add_limit(&q, params->limit)) < 0)
                return r;
        s.path = strdup("/20160918/instances");
        if (!s.path)
                return -ENOMEM;
        s.query = TAKE_PTR(q);
        s.page = params->page;
        s.all_pages = params->all_pages;
        return oci_call_start(c, &s, instances_on_response, (void (*)(void)) handler, userdata, ret_call);
}

int oci_get_instance(OciClient *c, const char *region, const char *instance_id, oci_instance_handler_t handler,
                     void *userdata, OciCall **ret_call) {
        OciCallSpec s = { .operation = "GetInstance", .method = "GET", .service = OCI_SERVICE_IAAS, .region = region };

        if (isempty(instance_id))
                return -EINVAL;
        s.path = oci_url_path_with_id("/20160918/instances/", instance_id, "");
        if (!s.path)
                return -ENOMEM;
        return oci_call_start(c, &s, instance_on_response, (void (*)(void)) handler, userdata, ret_call);
}

int oci_instance_action(OciClient *c, const char *region, const char *instance_id, OciInstanceAction action,
                        const char *retry_token, const char *if_match, oci_instance_handler_t handler,
                        void *userdata, OciCall **ret_call) {
        OciCallSpec s = { .operation = "InstanceAction", .method = "POST", .service = OCI_SERVICE_IAAS, .region = region,
                       .if_match = if_match, .body = "" };
        _cleanup_free_ char *generated = NULL;
        const char *a = oci_instance_action_to_string(action);
        int r;

        if (isempty(instance_id) || !a)
                return -EINVAL;
        if (retry_token && (strlen(retry_token) < 1 || strlen(retry_token) > 64))
                return -EINVAL;
        if (!retry_token) {
                r = oci_retry_token_new(&generated);
                if (r < 0)
                        return r;
        }
        s.retry_token = retry_token ?: generated;
        s.path = oci_url_path_with_id("/20160918/instances/", instance_id, "");
        if (!s.path)
                return -ENOMEM;
        r = strv_extend(&s.query, "action");
        if (r >= 0)
                r = strv_extend(&s.query, a);
        if (r < 0) {
                free(s.path);
                strv_free(s.query);
                return r;
        }
        return oci_call_start(c, &s, instance_on_response, (void (*)(void)) handler, userdata, ret_call);
}

int oci_search_resources(OciClient *c, const char *region, const OciSearchParams *params,
                         oci_resources_handler_t handler, void *userdata, OciCall **ret_call) {
        OciCallSpec s = { .operation = "SearchResources", .method = "POST", .service = OCI_SERVICE_QUERY, .region = region,
                       .idempotent = true };
        _cleanup_json_ json_object *body = NULL;
        _cleanup_strv_free_ char **q = NULL;
        const char *text;
        int r;

        if (!params || isempty(params->query) || params->limit > 1000)
                return -EINVAL;
        body = json_object_new_object();
        if (!body ||
            json_object_object_add(body, "type", json_object_new_string("Structured")) < 0 ||
            json_object_object_add(body, "query", json_object_new_string(params->query)) < 0 ||
            json_object_object_add(body, "matchingContextType", json_object_new_string("NONE")) < 0)
                return -ENOMEM;
        text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        s.body = text;
        if ((r = query_add_limit(&q, params->limit)) < 0)
                return r;
        s.path = strdup("/20180409/resources");
        if (!s.path)
                return -ENOMEM;
        s.query = TAKE_PTR(q);
        s.page = params->page;
        s.all_pages = params->all_pages;
        return oci_call_start(c, &s, resources_on_response, (void (*)(void)) handler, userdata, ret_call);
}

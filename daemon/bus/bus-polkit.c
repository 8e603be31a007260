/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/linkhash.h>
#include <stdlib.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "bus-error.h"
#include "bus-polkit.h"
#include "log.h"
#include "strv.h"

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_IFACE "org.freedesktop.PolicyKit1.Authority"

struct PolkitRegistry {
        struct lh_table *queries;       /* sd_bus_message* (the request) → AsyncPolkitQuery* */
        bool trust_privileged;
        size_t n_pending;
};

typedef struct AsyncPolkitQuery {
        PolkitRegistry *registry;
        sd_bus_message *request;
        sd_bus_slot *slot;              /* the CheckAuthorization call while pending */
        char *action;
        char **details;
        int verdict;                    /* 0 = pending, 1 = authorized, negative = refused/failed */
        sd_bus_error error;
        sd_event_source *defer;         /* frees the query once the request ran again */
} AsyncPolkitQuery;

static AsyncPolkitQuery *async_polkit_query_free(AsyncPolkitQuery *q) {
        if (!q)
                return NULL;
        if (q->slot) {
                q->slot = sd_bus_slot_unref(q->slot);
                if (q->registry) {
                        assert(q->registry->n_pending > 0);
                        q->registry->n_pending--;
                }
        }
        if (q->registry && q->request)
                (void) lh_table_delete(q->registry->queries, q->request);
        sd_bus_message_unref(q->request);
        free(q->action);
        strv_free(q->details);
        sd_bus_error_free(&q->error);
        sd_event_source_disable_unref(q->defer);
        return mfree(q);
}

int polkit_registry_new(PolkitRegistry **ret) {
        PolkitRegistry *r = new0(PolkitRegistry, 1);
        if (!r)
                return -ENOMEM;
        r->queries = lh_kptr_table_new(16, NULL);
        if (!r->queries) {
                free(r);
                return -ENOMEM;
        }
        r->trust_privileged = true;
        *ret = r;
        return 0;
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *r) {
        struct lh_entry *e, *tmp;

        if (!r)
                return NULL;
        lh_foreach_safe(r->queries, e, tmp) {
                AsyncPolkitQuery *q = lh_entry_v(e);
                /* Keep the query from touching the table we are walking. */
                q->registry = NULL;
                async_polkit_query_free(q);
        }
        lh_table_free(r->queries);
        return mfree(r);
}

void polkit_registry_set_trust_privileged(PolkitRegistry *r, bool b) {
        r->trust_privileged = b;
}

size_t polkit_registry_pending(PolkitRegistry *r) {
        return r ? r->n_pending : 0;
}

uid_t bus_message_sender_uid(sd_bus_message *m) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;

        if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds) < 0)
                return (uid_t) -1;
        if (sd_bus_creds_get_euid(creds, &uid) < 0)
                return (uid_t) -1;
        return uid;
}

static int sender_is_privileged(sd_bus_message *call) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        /* Never trust what was read from /proc rather than from the bus for authorization. */
        if (sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID)
                return 0;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        return uid == 0 || uid == geteuid();
}

static int append_subject(sd_bus_message *c, sd_bus_message *call) {
        const char *sender = sd_bus_message_get_sender(call);
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        pid_t pid;
        uid_t uid;
        int r;

        if (sender)
                return sd_bus_message_append(c, "(sa{sv})", "system-bus-name", 1, "name", "s", sender);

        /* A direct connection has no bus names: name the peer process instead. */
        r = sd_bus_query_sender_creds(call, SD_BUS_CREDS_PID | SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_pid(creds, &pid);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        return sd_bus_message_append(c, "(sa{sv})", "unix-process", 3, "pid", "u", (uint32_t) pid, "start-time", "t",
                                     (uint64_t) 0, "uid", "i", (int32_t) uid);
}

static int async_polkit_defer(sd_event_source *s, void *userdata) {
        /* Idle: the re-queued request has been dispatched again by now. */
        async_polkit_query_free(userdata);
        return 0;
}

/* Stores the verdict (and its error) in q. Returns < 0 only if the reply cannot be read. */
static int async_polkit_read_reply(sd_bus_message *reply, AsyncPolkitQuery *q) {
        int authorized, challenge, r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                q->verdict = -EACCES;
                /* No polkit on the bus means nobody may be authorized. */
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                           SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_METHOD)) {
                        log_debug("polkit is not available (%s), denying %s.", e->name, q->action);
                        (void) bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Not authorized for %s (polkit is not available).", q->action);
                } else
                        (void) sd_bus_error_copy(&q->error, e);
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                return r;

        if (authorized) {
                q->verdict = 1;
                return 0;
        }
        q->verdict = -EACCES;
        if (challenge)
                (void) bus_error_setf(&q->error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                         "Interactive authentication required for %s.", q->action);
        else
                (void) bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized for %s.", q->action);
        return 0;
}

static int async_polkit_callback(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AsyncPolkitQuery *q = userdata;
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        assert(q->registry->n_pending > 0);
        q->registry->n_pending--;

        r = async_polkit_read_reply(reply, q);
        if (r < 0)
                goto fail;

        r = sd_event_add_defer(sd_bus_get_event(bus), &q->defer, async_polkit_defer, q);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_priority(q->defer, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_description(q->defer, "polkit-query-free");

        r = sd_bus_message_rewind(q->request, true);
        if (r < 0)
                goto fail;
        r = sd_bus_enqueue_for_read(bus, q->request);
        if (r < 0)
                goto fail;
        return 1;

fail:
        log_debug_errno(r, "Processing the polkit reply failed: %m");
        (void) sd_bus_reply_method_errno(q->request, r, NULL);
        async_polkit_query_free(q);
        return 0;
}

int bus_verify_polkit_async(sd_bus_message *call, const char *action, const char * const *details,
                            PolkitRegistry *registry, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *pk = NULL;
        AsyncPolkitQuery *q;
        int r, interactive;

        assert(call);
        assert(action);
        assert(registry);

        /* Second time round: polkit has answered. */
        if (lh_table_lookup_ex(registry->queries, call, (void **) &q)) {
                if (q->verdict == 0)
                        return 0;  /* cannot happen: the request is only re-queued after the reply */
                if (!streq(q->action, action))
                        return -ESTALE;
                if (q->verdict > 0)
                        return 1;
                if (sd_bus_error_is_set(&q->error))
                        (void) sd_bus_error_copy(error, &q->error);
                return q->verdict;
        }

        if (registry->trust_privileged) {
                r = sender_is_privileged(call);
                if (r < 0)
                        return r;
                if (r > 0)
                        return 1;
        }

        interactive = sd_bus_message_get_allow_interactive_authorization(call);
        if (interactive < 0)
                return interactive;

        r = sd_bus_message_new_method_call(sd_bus_message_get_bus(call), &pk, POLKIT_NAME, POLKIT_PATH, POLKIT_IFACE,
                                           "CheckAuthorization");
        if (r < 0)
                return r;
        r = append_subject(pk, call);
        if (r >= 0)
                r = sd_bus_message_append(pk, "s", action);
        if (r >= 0)
                r = sd_bus_message_open_container(pk, 'a', "{ss}");
        for (const char * const *d = details; r >= 0 && d && d[0] && d[1]; d += 2)
                r = sd_bus_message_append(pk, "{ss}", d[0], d[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(pk);
        if (r >= 0)
                r = sd_bus_message_append(pk, "us", (uint32_t) (interactive > 0 ? 1 : 0), "");
        if (r < 0)
                return r;

        q = new0(AsyncPolkitQuery, 1);
        if (!q)
                return -ENOMEM;
        q->request = sd_bus_message_ref(call);
        q->action = strdup(action);
        if (!q->action) {
                async_polkit_query_free(q);
                return -ENOMEM;
        }
        for (const char * const *d = details; d && *d; d++)
                if (strv_extend(&q->details, *d) < 0) {
                        async_polkit_query_free(q);
                        return -ENOMEM;
                }

        /* Interactive authentication may take as long as a human needs. */
        r = sd_bus_call_async(sd_bus_message_get_bus(call), &q->slot, pk, async_polkit_callback, q,
                              interactive > 0 ? UINT64_MAX - 1 : 0);
        if (r < 0) {
                async_polkit_query_free(q);
                return r;
        }
        registry->n_pending++;
        if (lh_table_insert(registry->queries, call, q) < 0) {
                q->registry = registry;
                async_polkit_query_free(q);
                return -ENOMEM;
        }
        q->registry = registry;
        return 0;
}

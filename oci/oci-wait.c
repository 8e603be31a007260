/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Waiting for an instance's lifecycle state (oci-wait.h): GetInstance polled with a growing
 * delay until the state is there, cannot come any more, or the deadline passes. */
#include <errno.h>

#include "oci-call.h"
#include "oci-url.h"
#include "oci-wait.h"
#include "strv.h"

static int on_wait_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void wait_finish(OciCall *call, OciInstance *instance, const char *etag, const OciError *error) {
        oci_instance_handler_t h = (oci_instance_handler_t) call->handler;

        call->finished = true;
        h(call->client, instance, etag, error, call->userdata);
        oci_call_free(call);
}

static void wait_fail(OciCall *call, OciErrorKind kind, const char *message, const OciResponse *resp) {
        OciError e = {
                .kind = kind,
                .error = oci_error_kind_to_errno(kind),
                .operation = "WaitForInstanceState",
                .method = call->method,
                .message = message ?: "failed",
                .request_id = resp ? resp->request_id : NULL,
                .attempts = resp ? resp->attempts : 0,
        };
        wait_finish(call, NULL, NULL, &e);
}

static void wait_on_response(OciCall *call, const OciResponse *resp, const OciError *error) {
        _cleanup_free_ char *reason = NULL, *m = NULL;
        _cleanup_(oci_instance_freep) OciInstance *o = NULL;
        const char *target = oci_instance_state_to_string(call->target);
        usec_t nw;
        OciError e;
        int r;

        if (error) {
                wait_finish(call, NULL, NULL, error);
                return;
        }
        o = new0(OciInstance, 1);
        if (!o) {
                wait_fail(call, OCI_ERROR_INTERNAL, "out of memory", resp);
                return;
        }
        r = oci_instance_decode(resp->body, resp->body_size, o, &reason);
        if (r < 0) {
                o = mfree(o);
                oci_call_bad_response(call, resp, reason, &e, &m);
                wait_finish(call, NULL, NULL, &e);
                return;
        }
        if (o->lifecycle_state == call->target) {
                wait_finish(call, TAKE_PTR(o), resp->etag, NULL);
                return;
        }
        if ((o->lifecycle_state == OCI_INSTANCE_TERMINATED || o->lifecycle_state == OCI_INSTANCE_TERMINATING) &&
            call->target != OCI_INSTANCE_TERMINATED && call->target != OCI_INSTANCE_TERMINATING) {
                m = strprintf("instance %s is %s: it will never be %s", o->id, o->lifecycle_state_raw, target);
                wait_fail(call, OCI_ERROR_UNEXPECTED_STATE, m, resp);
                return;
        }

        nw = now(CLOCK_MONOTONIC);
        if (nw >= call->deadline) {
                char buf[TIMESPAN_MAX];
                m = strprintf("instance %s is still %s, not %s, after %s", o->id, o->lifecycle_state_raw, target,
                              format_timespan(buf, sizeof buf, call->timeout));
                wait_fail(call, OCI_ERROR_TIMEOUT, m, resp);
                return;
        }

        r = sd_event_add_time_relative(oci_client_get_event(call->client), &call->timer, CLOCK_MONOTONIC,
                                       MIN(call->poll_delay, call->deadline - nw), USEC_PER_MSEC, on_wait_timer, call);
        if (r < 0) {
                wait_fail(call, OCI_ERROR_INTERNAL, "cannot arm the poll timer", resp);
                return;
        }
        call->poll_delay = MIN(call->poll_delay * 2, call->poll_max);
}

static int on_wait_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        OciCall *call = userdata;
        int r;

        call->timer = sd_event_source_disable_unref(call->timer);
        r = oci_call_submit(call);
        if (r < 0)
                wait_fail(call, OCI_ERROR_INTERNAL, "cannot poll the instance", NULL);
        return 0;
}

int oci_wait_for_instance_state(OciClient *c, const char *region, const char *instance_id, OciInstanceState target,
                                const OciWaitParams *params, oci_instance_handler_t handler, void *userdata,
                                OciCall **ret_call) {
        OciCallSpec s = { .operation = "GetInstance", .method = "GET", .service = OCI_SERVICE_IAAS, .region = region };
        OciWaitParams p = params ? *params : (OciWaitParams) {};
        OciCall *call = NULL;
        int r;

        if (isempty(instance_id) || !oci_instance_state_to_string(target))
                return -EINVAL;
        if (p.timeout == 0)
                p.timeout = 20 * USEC_PER_MINUTE;
        if (p.poll_initial == 0)
                p.poll_initial = 2 * USEC_PER_SEC;
        if (p.poll_max == 0)
                p.poll_max = 30 * USEC_PER_SEC;
        s.path = oci_url_path_with_id("/20160918/instances/", instance_id, "");
        if (!s.path)
                return -ENOMEM;
        r = oci_call_new(c, &s, wait_on_response, (void (*)(void)) handler, userdata, &call);
        if (r < 0)
                return r;
        call->target = target;
        call->timeout = p.timeout;
        call->deadline = now(CLOCK_MONOTONIC) + p.timeout;
        call->poll_delay = MIN(p.poll_initial, p.poll_max);
        call->poll_max = p.poll_max;
        return oci_call_submit_first(call, ret_call);
}

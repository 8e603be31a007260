/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Waiting on the OCI client (oci-client.h) for an instance to reach a lifecycle state, as a call:
 * cancelled with oci_call_cancel(), ended by one run of its handler. */

#include "oci-client.h"

typedef struct OciWaitParams {
        usec_t timeout;          /* give up after this long (OCI_ERROR_TIMEOUT); 0 = 20 min */
        usec_t poll_initial;     /* first poll delay, doubled after each poll; 0 = 2 s */
        usec_t poll_max;         /* 0 = 30 s */
} OciWaitParams;

/* Polls GetInstance until lifecycleState == target (success, with the instance), the deadline
 * passes (OCI_ERROR_TIMEOUT), the instance can no longer get there (TERMINATING/TERMINATED:
 * OCI_ERROR_UNEXPECTED_STATE), or GetInstance fails for good. The first poll is immediate. */
int oci_wait_for_instance_state(OciClient *c, const char *region, const char *instance_id, OciInstanceState target,
                                const OciWaitParams *params, oci_instance_handler_t handler, void *userdata,
                                OciCall **ret_call);

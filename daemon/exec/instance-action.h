/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a start, stop or reboot job does to its instance: the state machine of one instance
 * action (job.h owns the job around it).
 *
 * check:  GetInstance: never act on stale data. Already there (or on the way): skipped. Moving
 *         between states: wait for the stable one first, then decide again.
 * record: INSERT the action row (job, instance, action) — or find it again when resuming —
 *         before any HTTP call; its retry token is derived from that key.
 * send:   mark it sent, then InstanceAction with the token. OCI acts at most once per token.
 * wait:   poll until the target state. A SOFTSTOP that does not finish within soft_stop_timeout
 *         is escalated to STOP (a second row, its own token).
 * The database steps wait for the database when it is away (nothing is sent to OCI without its
 * row), and are re-sent when an answer is lost: each is idempotent.
 *
 * So instance actions are exactly once: every OCI InstanceAction is a row in stopstart.actions,
 * keyed (job, instance, action) and inserted before the HTTP call; the opc-retry-token is derived
 * from that key, so a retried or resumed request cannot act twice. */

#include "job.h"
#include "oci-model.h"

/* Runs the action of job j (start, stop or reboot of j->target): j goes running, and ends through
 * job_finish(). A resumed job (j->resumed) reads the action rows it left first. -ENOMEM if it
 * could not begin; a job that cannot act at all is finished failed (0). */
int instance_action_run_start(Job *j);
/* Cancels what is in flight (an OCI call; database answers still to come are ignored). */
InstanceActionRun *instance_action_run_free(InstanceActionRun *run);

/* The opc-retry-token of the action (origin, instance, action): hex SHA-256 of the key, 64
 * characters (OCI's maximum). origin is e.g. "job:17". */
int action_retry_token(const char *origin, const char *instance_id, OciInstanceAction action, char **ret);

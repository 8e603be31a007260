/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-object.h"
#include "job.h"

extern const BusObjectImplementation job_object;

void job_emit_changes(Job *j, uint32_t props);

/* Answers the method call userdata (a reference it takes over) with the queued job's path, or
 * with why no job could be queued: the handler Start, Stop, Reboot and Refresh give the Manager. */
void bus_reply_job_queued(Manager *m, Job *j, int error, void *userdata);

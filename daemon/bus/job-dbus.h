/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-object.h"
#include "job.h"

extern const BusObjectImplementation job_object;

void job_emit_changes(Job *j, uint32_t props);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-object.h"
#include "instance.h"

extern const BusObjectImplementation instance_object;

void instance_emit_changes(Instance *i, uint32_t props);

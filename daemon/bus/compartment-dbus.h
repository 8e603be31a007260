/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-object.h"
#include "compartment.h"

extern const BusObjectImplementation compartment_object;

/* Emits the coalesced changes (InterfacesAdded for a new compartment). */
void compartment_emit_changes(Compartment *c, uint32_t props);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What changes the effective configuration while the daemon runs: the own configuration of an
 * instance or the defaults of a compartment saved (SetConfig/SetDefaults), and overrides that end
 * (the expiry timer, the store's write that clears them, the objects marked changed). Writes in
 * flight are counted on their object (n_writes), so a load meanwhile keeps memory as it is. */

#include <stdbool.h>
#include <sys/types.h>

#include "instance-config.h"

typedef struct Manager Manager;

/* Recomputes effective configuration fingerprints of every compartment and instance and marks
 * the ones that changed. */
void manager_update_effective(Manager *m);
/* Re-arms the timer that ends overrides when they expire. */
void manager_schedule_expiry(Manager *m);

/* Saves the complete own configuration of an instance (compartment = false) or the defaults of
 * a compartment, with its audit entry (old -> new, who), in one statement; on success updates
 * memory and announces the change. The handler gets 0, or -ENOTCONN (database away, nothing
 * written), -ECONNRESET (outcome unknown: read back after reconnecting), -ENXIO (the object is
 * gone), -EINVAL (refused by the database), -EIO; message is the database's text. */
typedef void (*manager_config_saved_t)(Manager *m, int error, const char *message, void *userdata);
int manager_save_config(Manager *m, bool compartment, const char *id, const InstanceConfig *config, uid_t uid,
                        manager_config_saved_t handler, void *userdata);

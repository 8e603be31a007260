/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The configuration of instances (stopstart.instance_config) and the defaults of compartments
 * (stopstart.compartment_defaults), with their audit entries: every SQL statement about them
 * (they are read with the inventory, inventory-load.h). */

#include "instance-config.h"
#include "store.h"

typedef enum ConfigOwner {
        CONFIG_OWNER_INSTANCE,          /* an instance's own configuration ("set-config") */
        CONFIG_OWNER_COMPARTMENT,       /* a compartment's defaults ("set-defaults") */
} ConfigOwner;

/* error: 0, -ENOTCONN (database away, nothing written), -ECONNRESET (outcome unknown), -ENXIO
 * (the object is gone: a foreign key), -EINVAL (a constraint refused a value), -EIO; message is
 * the database's text on -EIO/-ENXIO/-EINVAL, else NULL. */
typedef void (*config_store_handler_t)(int error, const char *message, void *userdata);

/* Replaces the complete configuration of id and records old -> new in the audit log, in one
 * statement. Fail-fast. */
int config_store_save(Db *db, ConfigOwner owner, const char *id, const InstanceConfig *old,
                      const InstanceConfig *config, const StoreActor *actor, config_store_handler_t handler,
                      void *userdata);
/* Clears the override of id if it has ended by the database's clock, audited as
 * "override-expired" by stopstartd (nothing when it has not ended). Fail-fast. On failure the
 * handler's message is the database's last error. */
int config_store_expire_override(Db *db, ConfigOwner owner, const char *id, config_store_handler_t handler,
                                 void *userdata);

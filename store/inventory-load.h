/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading the inventory the daemon serves (compartments with their defaults, instances with their
 * configuration and newest finished action job, the regions and the last refresh), and the few
 * writes it makes to instances itself. Rows are read in place (store.h's StoreRows): strings
 * point into the answer, valid during the handler only. */

#include <stdbool.h>
#include <stdint.h>

#include "instance-config.h"
#include "store.h"

/* error: 0, -ECONNRESET, -EIO, -ECANCELED, -EBADMSG (an answer of another shape); message: the
 * database's last error on failure. */
typedef void (*inventory_load_handler_t)(int error, const StoreRows *rows, const char *message, void *userdata);

typedef struct CompartmentRow {
        const char *id;
        const char *parent_id;          /* NULL for the tenancy */
        const char *name, *description, *lifecycle_state;
} CompartmentRow;

typedef struct InstanceRow {
        const char *id, *compartment_id, *region, *availability_domain;
        const char *fault_domain, *shape;       /* "" when not known */
        const char *display_name, *lifecycle_state;
        uint64_t state_observed_at;     /* µs since the epoch */
        const char *freeform_tags;      /* JSON object text */
        const char *defined_tags;       /* JSON object text: {"namespace": {"key": value}} */
        /* the newest finished start/stop/reboot job; last_job_kind NULL: none */
        uint32_t last_job_id;
        const char *last_job_kind, *last_job_result, *last_job_error;
        uint64_t last_job_finished_at;
} InstanceRow;

/* Compartments not deleted, in id order. */
int inventory_load_compartments(Db *db, inventory_load_handler_t handler, void *userdata);
void compartment_row_get(const StoreRows *rows, size_t i, CompartmentRow *ret);
/* Instances not deleted, ordered by display name, then id. */
int inventory_load_instances(Db *db, inventory_load_handler_t handler, void *userdata);
void instance_row_get(const StoreRows *rows, size_t i, InstanceRow *ret);
/* The defaults of a compartment row or the configuration of an instance row: -EBADMSG when the
 * stored values cannot be read, -ENOMEM. */
int compartment_row_defaults(const StoreRows *rows, size_t i, InstanceConfig *ret);
int instance_row_config(const StoreRows *rows, size_t i, InstanceConfig *ret);

typedef struct InventoryMeta {
        char **regions;                 /* names, sorted; owned by the handler (strv_free()) */
        uint64_t last_refresh;          /* end of the newest successful discovery run, 0: never */
} InventoryMeta;
typedef void (*inventory_meta_handler_t)(int error, InventoryMeta *meta, const char *message, void *userdata);
int inventory_load_meta(Db *db, inventory_meta_handler_t handler, void *userdata);

/* What an OCI call just said of an instance's lifecycle state (state_observed_at: now). Kept
 * (store_write()). */
int inventory_store_observed_state(Db *db, const char *instance_id, const char *lifecycle_state);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asynchronous polkit checks for bus method handlers, after systemd's bus-polkit.c:
 *
 *   r = bus_verify_polkit_async(m, SS_POLKIT_OPERATE, details, registry, error);
 *   if (r < 0) return r;      // denied (error set) or failed
 *   if (r == 0) return 1;     // asked polkit: the message is dispatched again once it answers
 *   ... authorized ...
 *
 * The first call sends CheckAuthorization to org.freedesktop.PolicyKit1 without waiting and
 * remembers the request in the registry; when polkit answers, the verdict is stored and the
 * original message is put back into the bus's read queue (sd_bus_enqueue_for_read), so the
 * handler runs again from the start — re-validating everything — and this time gets the verdict.
 * Validate arguments and detect no-ops before calling this, and change nothing before it says 1. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct PolkitRegistry PolkitRegistry;

int polkit_registry_new(PolkitRegistry **ret);
PolkitRegistry *polkit_registry_free(PolkitRegistry *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(PolkitRegistry*, polkit_registry_free);

/* By default callers with euid 0 or the daemon's own euid are authorized without asking
 * polkit (as systemd trusts privileged callers). Tests turn this off to exercise polkit. */
void polkit_registry_set_trust_privileged(PolkitRegistry *r, bool b);

/* Queries waiting for polkit (they keep the daemon busy). */
size_t polkit_registry_pending(PolkitRegistry *r);

/* details: NULL or a NULL-terminated list of key, value, key, value … for polkit rules.
 * Returns 1 if authorized; 0 if a query was sent (return 1 from the handler); -EACCES with
 * error set to AccessDenied or InteractiveAuthorizationRequired if not; other negative errno
 * (error possibly set) on failure. */
int bus_verify_polkit_async(sd_bus_message *call, const char *action, const char * const *details,
                            PolkitRegistry *registry, sd_bus_error *error);

/* The caller's effective uid (for audit); UID_INVALID ((uid_t) -1) when unknown. */
uid_t bus_message_sender_uid(sd_bus_message *m);

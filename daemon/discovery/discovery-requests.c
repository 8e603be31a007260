/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Discovery's OCI calls: each one (all pages of it) is a chain, queued and started while fewer
 * than max_in_flight of discovery's requests are on the wire. The compartment listing is queued
 * first and keeps its slot from page to page, so the pipeline never starves. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "discovery-internal.h"
#include "log.h"

static void chain_free(Chain *c) {
        if (!c)
                return;
        free(c->arg);
        free(c);
}

void chains_drop(Discovery *d, Region *r) {
        Chain *c, *next;

        for (c = TAILQ_FIRST(&d->pending); c; c = next) {
                next = TAILQ_NEXT(c, link);
                if (r && c->region != r)
                        continue;
                TAILQ_REMOVE(&d->pending, c, link);
                if (c->region)
                        c->region->n_chains--;
                chain_free(c);
        }
        for (c = TAILQ_FIRST(&d->active); c; c = next) {
                next = TAILQ_NEXT(c, link);
                if (r && c->region != r)
                        continue;
                TAILQ_REMOVE(&d->active, c, link);
                d->n_active--;
                if (c->call)
                        oci_call_cancel(c->call);
                if (c->region)
                        c->region->n_chains--;
                chain_free(c);
        }
}

int chain_enqueue(Discovery *d, ChainKind kind, Region *r, const char *arg) {
        Chain *c = new0(Chain, 1);

        if (!c)
                return -ENOMEM;
        c->discovery = d;
        c->kind = kind;
        c->region = r;
        if (arg && !(c->arg = strdup(arg))) {
                free(c);
                return -ENOMEM;
        }
        if (r)
                r->n_chains++;
        TAILQ_INSERT_TAIL(&d->pending, c, link);
        return 0;
}

void chain_end(Chain *c) {
        Discovery *d = c->discovery;

        if (c->active) {
                TAILQ_REMOVE(&d->active, c, link);
                d->n_active--;
        } else
                TAILQ_REMOVE(&d->pending, c, link);
        if (c->region)
                c->region->n_chains--;
        chain_free(c);
}

void chain_answered(Chain *c, const char *next_page, const OciError *e) {
        c->discovery->requests++;
        if (e || !next_page) {
                c->call = NULL;
                chain_end(c);
        }
}

static int chain_start(Chain *c) {
        switch (c->kind) {
        case CHAIN_TENANCY:
        case CHAIN_SUBSCRIPTIONS:
        case CHAIN_COMPARTMENTS:
                return tree_chain_start(c);
        case CHAIN_SEARCH:
                return search_chain_start(c);
        case CHAIN_DETAILS:
                return details_chain_start(c);
        }
        return -EINVAL;
}

void discovery_dispatch(Discovery *d) {
        Chain *c;
        int r;

        while (!d->aborted && d->n_active < d->max_in_flight && (c = TAILQ_FIRST(&d->pending))) {
                TAILQ_REMOVE(&d->pending, c, link);
                TAILQ_INSERT_TAIL(&d->active, c, link);
                c->active = true;
                d->n_active++;
                d->max_active = MAX(d->max_active, d->n_active);
                r = chain_start(c);
                if (r < 0) {
                        Region *reg = c->region;

                        c->call = NULL;
                        chain_end(c);
                        if (reg)
                                region_fail(reg, "cannot start a request", NULL, r);
                        else {
                                discovery_set_error(d, r, _OCI_ERROR_KIND_INVALID, "Cannot start a request: %s",
                                                    strerror(-r));
                                discovery_abort(d);
                        }
                }
        }
}

static int on_dispatch(sd_event_source *s, void *userdata) {
        Discovery *d = discovery_ref(userdata);

        discovery_dispatch(d);
        discovery_advance(d);
        discovery_unref(d);
        return 0;
}

/* New requests start from the loop, after the handler that made them returned: a list call
 * queues its next page when its handler returns, and that page is on the critical path (the
 * tree feeds every search), so it goes out ahead of the searches its page just made. */
void discovery_schedule_dispatch(Discovery *d) {
        int r;

        if (!d->dispatch_event) {
                r = sd_event_add_defer(d->event, &d->dispatch_event, on_dispatch, d);
                if (r < 0) {
                        log_debug_errno(r, "Discovery: cannot defer, starting requests now: %m");
                        discovery_dispatch(d);
                        return;
                }
                (void) sd_event_source_set_description(d->dispatch_event, "discovery-dispatch");
        }
        (void) sd_event_source_set_enabled(d->dispatch_event, SD_EVENT_ONESHOT);
}

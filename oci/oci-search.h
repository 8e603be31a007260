/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Resource Search's query language, as discovery uses it: the instances of many compartments
 * in as few queries as fit OCI's length limit. */

#include <stddef.h>

/* bytes per query; OCI refuses much longer ones */
#define OCI_SEARCH_QUERY_MAX_DEFAULT 2048U

/* Search batches: compartment ids joined into Resource Search queries
 * oci_search_instances_prefix + "compartmentId = 'a' || compartmentId = 'b' ..." of at most max
 * bytes (a single id always makes a query, however long). */
extern const char oci_search_instances_prefix[];

typedef struct OciSearchBatch {
        char *buf;               /* the where clause so far */
        size_t len, allocated;
        unsigned n;              /* ids in it */
        size_t max;
} OciSearchBatch;

/* Adds id. When it does not fit any more, the batch so far is returned as a finished query in
 * *ret_query and id starts the next one; otherwise *ret_query is NULL. -EINVAL for an id that
 * cannot be quoted in the query language (anything but letters, digits and ".-_:"). */
int oci_search_batch_add(OciSearchBatch *b, const char *id, char **ret_query);
/* The open batch as a query (NULL if empty), and the batch emptied. */
int oci_search_batch_flush(OciSearchBatch *b, char **ret_query);
void oci_search_batch_done(OciSearchBatch *b);

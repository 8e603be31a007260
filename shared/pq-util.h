/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libpq-fe.h>

#include "macro.h"

/* The application_name stopstartd's connection carries (unless the conninfo sets one), so that
 * `stopstartctl db` can warn before changing the schema under a running daemon. */
#define STOPSTARTD_APPLICATION_NAME "stopstartd"

DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(PGresult*, PQclear);
DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(PGconn*, PQfinish);
#define _cleanup_pqclear_ _cleanup_(PQclearp)
#define _cleanup_pqfinish_ _cleanup_(PQfinishp)

/* libpq's messages end in a newline and continue on lines indented with tabs ("server closed
 * the connection unexpectedly\n\tThis probably means..."): the same text as one line, every run
 * of whitespace one space, none at either end. Allocated; NULL only when out of memory. */
char *pq_one_line(const char *message);

/* A PQnoticeProcessor that sends libpq's notices and the server's asynchronous messages (such
 * as "FATAL: terminating connection due to administrator command") through our logger, one
 * line each, instead of letting libpq print them to stderr. Install with
 * PQsetNoticeProcessor(conn, pq_notice_to_log, NULL). */
void pq_notice_to_log(void *userdata, const char *message);

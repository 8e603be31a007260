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

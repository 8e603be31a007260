/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libpq-fe.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(PGresult*, PQclear);
DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(PGconn*, PQfinish);
#define _cleanup_pqclear_ _cleanup_(PQclearp)
#define _cleanup_pqfinish_ _cleanup_(PQfinishp)

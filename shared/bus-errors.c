/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "bus-errors.h"

const sd_bus_error_map ss_bus_error_map[] = {
        SD_BUS_ERROR_MAP(SS_ERROR_NO_SUCH_INSTANCE, ENXIO),
        SD_BUS_ERROR_MAP(SS_ERROR_NO_SUCH_COMPARTMENT, ENXIO),
        SD_BUS_ERROR_MAP(SS_ERROR_NO_SUCH_JOB, ENXIO),
        SD_BUS_ERROR_MAP(SS_ERROR_AMBIGUOUS_NAME, ENOTUNIQ),
        SD_BUS_ERROR_MAP(SS_ERROR_INVALID_CONFIG, EINVAL),
        SD_BUS_ERROR_MAP(SS_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(SS_ERROR_DATABASE_UNAVAILABLE, ENOTCONN),
        SD_BUS_ERROR_MAP(SS_ERROR_NOT_LEADER, EAGAIN),
        SD_BUS_ERROR_MAP(SS_ERROR_INVALID_CALENDAR, EINVAL),
        SD_BUS_ERROR_MAP(SS_ERROR_NO_SUCH_SCHEDULE, ENXIO),
        SD_BUS_ERROR_MAP(SS_ERROR_INVALID_TARGET, EINVAL),
        SD_BUS_ERROR_MAP(SS_ERROR_TOO_MANY_TARGETS, E2BIG),
        SD_BUS_ERROR_MAP(SS_ERROR_NO_SUCH_CALENDAR, ENXIO),
        SD_BUS_ERROR_MAP(SS_ERROR_TOO_LARGE, EMSGSIZE),
        SD_BUS_ERROR_MAP_END
};

int ss_bus_errors_register(void) {
        /* sd_bus_error_add_map returns 0 when the map is known already. */
        int r = sd_bus_error_add_map(ss_bus_error_map);
        return r < 0 ? r : 0;
}

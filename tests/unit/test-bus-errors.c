/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "bus-errors.h"
#include "macro.h"
#include "tests.h"

TEST(names_map_to_errno) {
        ASSERT_OK(ss_bus_errors_register());
        ASSERT_OK(ss_bus_errors_register()); /* idempotent */

        for (const sd_bus_error_map *m = ss_bus_error_map; m->name; m++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                ASSERT_TRUE(strncmp(m->name, SS_ERROR_PREFIX, strlen(SS_ERROR_PREFIX)) == 0);
                ASSERT_TRUE(m->code > 0);
                sd_bus_error_set(&e, m->name, "x");
                ASSERT_EQ(sd_bus_error_get_errno(&e), m->code);
        }
}

int main(void) {
        RUN(names_map_to_errno);
        return 0;
}

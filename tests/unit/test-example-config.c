/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shipped example configuration stays loadable. */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "strv.h"
#include "tests.h"

int main(void) {
        _cleanup_free_ char *path = strprintf("%s/systemd/stopstartd.yaml.example", getenv("STOPSTART_SOURCE_ROOT"));
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;

        ASSERT_NOT_NULL(path);
        if (config_load(path, &c, &err) < 0)
                TEST_FAIL("%s", strna(err));
        ASSERT_STREQ(c->database, "host=/run/postgresql dbname=stopstart");
        ASSERT_EQ(c->discovery.interval, 15 * USEC_PER_MINUTE);
        ASSERT_EQ(strv_length(c->oci.regions), 2);
        ASSERT_NULL(c->scheduler.time_zone);    /* commented out: the host's zone */
        ASSERT_EQ(c->scheduler.max_parallel_actions, 16);
        printf("ok - example configuration loads\n");
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Times calls to stopstartd on the system bus ($DBUS_SYSTEM_BUS_ADDRESS) without decoding the
 * answers: bench-call [N] [GetManagedObjects|Describe|ListInstances]. Prints one JSON line:
 * {"method":…,"calls":N,"min_ms":…,"median_ms":…,"max_ms":…}. Not a test (tests/bus/bench-daemon.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "macro.h"

static double now_ms(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int n = argc > 1 ? atoi(argv[1]) : 5;
        const char *method = argc > 2 ? argv[2] : "GetManagedObjects";
        const char *iface = streq(method, "GetManagedObjects") ? "org.freedesktop.DBus.ObjectManager"
                                                                : SS_BUS_IFACE_MANAGER;
        double t[100];
        int r;

        if (n < 1 || n > 100) {
                fprintf(stderr, "bench-call: N must be 1..100\n");
                return 2;
        }
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "bench-call: cannot connect to the system bus: %s\n", strerror(-r));
                return 1;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                double t0 = now_ms();

                if (streq(method, "ListInstances"))
                        r = sd_bus_call_method(bus, SS_BUS_NAME, SS_BUS_PATH, iface, method, &error, &reply, "a{sv}", 0);
                else
                        r = sd_bus_call_method(bus, SS_BUS_NAME, SS_BUS_PATH, iface, method, &error, &reply, NULL);
                if (r < 0) {
                        fprintf(stderr, "bench-call: %s: %s\n", method, error.message ?: strerror(-r));
                        return 1;
                }
                t[i] = now_ms() - t0;
        }
        qsort(t, n, sizeof(double), cmp);
        printf("{\"method\":\"%s\",\"calls\":%d,\"min_ms\":%.1f,\"median_ms\":%.1f,\"max_ms\":%.1f}\n", method, n,
               t[0], t[n / 2], t[n - 1]);
        return 0;
}

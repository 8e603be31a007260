/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Built for tests only: trips one sanitizer on purpose, so tests/unit/test-sanitizers.py can prove
 * that a sanitizer report is detected (its own exit code, a report on stderr) in the sanitize
 * build. Never run the faulting modes in a plain build: they are undefined behaviour there. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char *argv[]) {
        const char *mode = argc > 1 ? argv[1] : "";

        if (strcmp(mode, "heap-overflow") == 0) {
                /* volatile: neither the compiler nor UBSan's object-size check can see it coming,
                 * so it is ASan's to report */
                volatile size_t size = 4, i = 4;
                char *p = malloc(size);

                if (!p)
                        return 1;
                p[i] = 1;
                free(p);
        } else if (strcmp(mode, "int-overflow") == 0) {
                volatile int x = INT_MAX;

                x = x + argc;
                printf("%d\n", x);
        } else if (strcmp(mode, "leak") == 0) {
                void * volatile p = malloc(32);

                p = NULL;
                (void) p;
        } else if (strcmp(mode, "clean") != 0) {
                fprintf(stderr, "usage: sanitizer-canary heap-overflow|int-overflow|leak|clean\n");
                return 2;
        }
        /* Only reached when no sanitizer stopped us: exit 1, the most common "expected" failure,
         * which is exactly what a sanitizer report must never look like. */
        return strcmp(mode, "clean") == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A verb table and its dispatcher (systemd's src/shared/verbs.c, in small). */

#include <stdbool.h>

#define VERB_ANY ((unsigned) -1)

typedef enum VerbFlags {
        VERB_DEFAULT = 1 << 0,   /* run when no verb is given */
} VerbFlags;

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args;   /* counting the verb itself */
        VerbFlags flags;
        int (*dispatch)(int argc, char *argv[], void *userdata);
} Verb;

/* Finds argv[0] (or the default verb when argc == 0) in verbs and calls it with argc/argv
 * starting at the verb. Unknown verbs and wrong argument counts print a one-line error and
 * return -EINVAL. what names the table in messages ("command", "db command"). */
int dispatch_verb(int argc, char *argv[], const Verb verbs[], const char *what, void *userdata);

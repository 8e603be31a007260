/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "log.h"
#include "verbs.h"

int dispatch_verb(int argc, char *argv[], const Verb verbs[], const char *what, void *userdata) {
        const Verb *v = NULL;
        char *fake[] = { NULL, NULL };
        unsigned left;

        if (argc <= 0) {
                for (const Verb *i = verbs; i->name; i++)
                        if (i->flags & VERB_DEFAULT) {
                                v = i;
                                break;
                        }
                if (!v)
                        return log_error_errno(EINVAL, "Missing %s; see --help.", what);
                fake[0] = (char *) v->name;
                argv = fake;
                argc = 1;
        } else {
                for (const Verb *i = verbs; i->name; i++)
                        if (streq(i->name, argv[0])) {
                                v = i;
                                break;
                        }
                if (!v)
                        return log_error_errno(EINVAL, "Unknown %s \"%s\"; see --help.", what, argv[0]);
        }

        left = (unsigned) argc;
        if (v->min_args != VERB_ANY && left < v->min_args)
                return log_error_errno(EINVAL, "Too few arguments for \"%s\"; see --help.", v->name);
        if (v->max_args != VERB_ANY && left > v->max_args)
                return log_error_errno(EINVAL, "Too many arguments for \"%s\"; see --help.", v->name);

        return v->dispatch(argc, argv, userdata);
}

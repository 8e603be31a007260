/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pid1-driver BUS: drives daemon/pid1 from tab-separated commands on stdin and prints its
 * callbacks on stdout, one tab-separated line each (for test_pid1.py).
 *
 *   set ID ZONE DESCRIPTION SPEC...   -> done ID ERROR MESSAGE
 *   remove ID                         -> done ID ERROR MESSAGE
 *   reconcile                         -> done - ERROR MESSAGE
 *   get ID                            -> get ID ERROR ACTIVE NEXT LAST
 *   describe                          -> describe DESCRIPTION
 *   start                             (with --no-start: connect only now)
 *   quit
 * callbacks:
 *   state STATE ERROR MESSAGE
 *   fire ID SCHEDULED TRIGGERED CATCH_UP LATENCY   (µs; LATENCY = callback time - SCHEDULED)
 *   changed ID ACTIVE NEXT LAST */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pid1-timer.h"
#include "strv.h"

static sd_event *event;
static Pid1 *pid1;
static char *inbuf;
static size_t inlen;

static void out(const char *fmt, ...) _printf_(1, 2);
static void out(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

static void on_fire(Pid1 *p, const Pid1Firing *f, void *userdata) {
        usec_t n = now(CLOCK_REALTIME);
        out("fire\t%s\t%" PRIu64 "\t%" PRIu64 "\t%d\t%" PRIi64, f->id, f->scheduled, f->triggered, f->catch_up,
            (int64_t) (n - f->scheduled));
}

static void on_changed(Pid1 *p, const char *id, const Pid1TimerInfo *i, void *userdata) {
        out("changed\t%s\t%d\t%" PRIu64 "\t%" PRIu64, id, i->active, i->next_elapse, i->last_trigger);
}

static void on_state(Pid1 *p, Pid1State s, int error, const char *message, void *userdata) {
        out("state\t%s\t%d\t%s", pid1_state_to_string(s), error, strempty(message));
}

static void on_done(Pid1 *p, const char *id, int error, const char *message, void *userdata) {
        out("done\t%s\t%d\t%s", id ?: "-", error, strempty(message));
}

static void command(char *line) {
        _cleanup_strv_free_ char **f = NULL;
        for (char *s = line, *tab; s; s = tab) {
                tab = strchr(s, '\t');
                if (tab)
                        *tab++ = 0;
                if (strv_extend(&f, s) < 0)
                        abort();
        }
        size_t n = strv_length(f);
        int r = 0;
        if (n == 0)
                return;
        if (streq(f[0], "set") && n >= 5)
                r = pid1_timer_set(pid1, f[1], f + 4, f[2], f[3], on_done, NULL);
        else if (streq(f[0], "remove") && n == 2)
                r = pid1_timer_remove(pid1, f[1], on_done, NULL);
        else if (streq(f[0], "reconcile"))
                r = pid1_reconcile(pid1, on_done, NULL);
        else if (streq(f[0], "get") && n == 2) {
                Pid1TimerInfo i = {};
                r = pid1_timer_get(pid1, f[1], &i);
                out("get\t%s\t%d\t%d\t%" PRIu64 "\t%" PRIu64, f[1], r, i.active, i.next_elapse, i.last_trigger);
                return;
        } else if (streq(f[0], "describe")) {
                out("describe\t%s", pid1_get_description(pid1));
                return;
        } else if (streq(f[0], "start")) {
                r = pid1_start(pid1);
        } else if (streq(f[0], "quit")) {
                sd_event_exit(event, 0);
                return;
        } else
                r = -EBADMSG;
        if (r < 0)
                out("done\t%s\t%d\t%s", n > 1 ? f[1] : "-", r, "refused at once");
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        char buf[4096];
        ssize_t l = read(fd, buf, sizeof buf);
        if (l <= 0) {
                sd_event_exit(event, 0);
                return 0;
        }
        inbuf = realloc(inbuf, inlen + (size_t) l + 1);
        memcpy(inbuf + inlen, buf, (size_t) l);
        inlen += (size_t) l;
        inbuf[inlen] = 0;
        char *nl;
        while ((nl = memchr(inbuf, '\n', inlen))) {
                *nl = 0;
                size_t used = (size_t) (nl - inbuf) + 1;
                command(inbuf);
                memmove(inbuf, inbuf + used, inlen - used + 1);
                inlen -= used;
        }
        return 0;
}

int main(int argc, char **argv) {
        if (argc < 2 || argc > 3 || (argc == 3 && !streq(argv[2], "--no-start"))) {
                fprintf(stderr, "usage: pid1-driver system|user|ADDRESS [--no-start]\n");
                return 2;
        }
        log_parse_environment();
        if (sd_event_default(&event) < 0)
                return 1;
        Pid1Handlers h = { .fire = on_fire, .timer_changed = on_changed, .state_changed = on_state };
        int r = pid1_new(event, argv[1], &h, NULL, &pid1);
        if (r < 0) {
                fprintf(stderr, "pid1_new: %s\n", strerror(-r));
                return 1;
        }
        sd_event_source *in = NULL;
        if (sd_event_add_io(event, &in, STDIN_FILENO, EPOLLIN, on_stdin, NULL) < 0)
                return 1;
        out("started\t%s", pid1_get_description(pid1));
        if (argc == 2)
                (void) pid1_start(pid1);
        r = sd_event_loop(event);
        sd_event_source_disable_unref(in);
        pid1 = pid1_free(pid1);
        sd_event_unref(event);
        free(inbuf);
        return r < 0 ? 1 : 0;
}

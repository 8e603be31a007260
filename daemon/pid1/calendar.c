/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "calendar.h"
#include "log.h"
#include "strv.h"

#ifndef SYSTEMD_ANALYZE_PATH
#define SYSTEMD_ANALYZE_PATH "/usr/bin/systemd-analyze"
#endif

#define MAX_STDOUT (16U * 1024 * 1024)
#define MAX_STDERR (64U * 1024)
/* Iterations asked per run when walking a range: ~120 bytes of output each. */
#define RANGE_BATCH 1000U

static char *analyze_path_override = NULL;

void calendar_set_analyze_path(const char *path) {
        free(analyze_path_override);
        analyze_path_override = path ? strdup(path) : NULL;
}

static const char *analyze_path(void) {
        return analyze_path_override ?: SYSTEMD_ANALYZE_PATH;
}

typedef enum QueryMode {
        QUERY_VALIDATE,
        QUERY_NEXT,
        QUERY_RANGE,
} QueryMode;

typedef struct Buffer {
        char *data;
        size_t size, allocated, max;
        bool eof;
} Buffer;

struct CalendarQuery {
        sd_event *event;
        QueryMode mode;
        char **specs;            /* as given */
        char **full;             /* with the zone appended: what systemd sees */
        char *zone;
        int insane;              /* index of a spec that cannot be passed on, or -1 */
        sd_event_source *defer_source;
        bool validating;         /* the current run checks the specs with their zone */
        char **normalized;       /* from the validating run */
        unsigned n;              /* QUERY_NEXT */
        usec_t from, to;         /* QUERY_RANGE; from = base of QUERY_NEXT */
        usec_t base;             /* base of the current run */
        bool *exhausted;         /* per spec: ran out of instants */

        usec_t *instants;        /* collected, unsorted until the end */
        size_t n_instants, allocated;

        calendar_handler_t handler;
        void *userdata;
        bool floating;

        /* the current run of systemd-analyze */
        pid_t pid;
        int pidfd;
        int exit_status;         /* -1 while running */
        Buffer out, err;
        int out_fd, err_fd;
        sd_event_source *out_source, *err_source, *pid_source, *timeout_source;
};

CalendarResult *calendar_result_free(CalendarResult *r) {
        if (!r)
                return NULL;
        free(r->message);
        strv_free(r->normalized);
        free(r->instants);
        return mfree(r);
}

static void query_stop_child(CalendarQuery *q) {
        q->out_source = sd_event_source_disable_unref(q->out_source);
        q->err_source = sd_event_source_disable_unref(q->err_source);
        q->pid_source = sd_event_source_disable_unref(q->pid_source);
        q->timeout_source = sd_event_source_disable_unref(q->timeout_source);
        q->out_fd = safe_close(q->out_fd);
        q->err_fd = safe_close(q->err_fd);
        if (q->pidfd >= 0) {
                if (q->exit_status < 0) {
                        /* still running: kill it and reap it (a dying child takes microseconds) */
                        (void) pidfd_send_signal(q->pidfd, SIGKILL, NULL, 0);
                        siginfo_t si = {};
                        (void) waitid(P_PIDFD, (id_t) q->pidfd, &si, WEXITED);
                }
                q->pidfd = safe_close(q->pidfd);
        }
        q->pid = 0;
        free(q->out.data);
        free(q->err.data);
        q->out = (Buffer) { .max = MAX_STDOUT };
        q->err = (Buffer) { .max = MAX_STDERR };
}

CalendarQuery *calendar_query_free(CalendarQuery *q) {
        if (!q)
                return NULL;
        query_stop_child(q);
        sd_event_unref(q->event);
        strv_free(q->specs);
        strv_free(q->full);
        free(q->zone);
        strv_free(q->normalized);
        sd_event_source_disable_unref(q->defer_source);
        free(q->exhausted);
        free(q->instants);
        return mfree(q);
}

int calendar_spec_with_zone(const char *spec, const char *zone, char **ret) {
        assert(spec);
        assert(ret);
        if (!calendar_zone_name_is_valid(zone))
                return -EINVAL;
        char *s = strprintf("%s %s", spec, zone);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

bool calendar_zone_name_is_valid(const char *zone) {
        if (isempty(zone) || zone[0] == '/' || strlen(zone) > 255 || strstr(zone, ".."))
                return false;
        for (const char *c = zone; *c; c++)
                if (!isalnum((unsigned char) *c) && !strchr("/_-+", *c))
                        return false;
        return true;
}

int calendar_host_zone(char **ret) {
        assert(ret);
        const char *tz = getenv("TZ");
        if (tz) {
                if (tz[0] == ':')
                        tz++;
                if (calendar_zone_name_is_valid(tz)) {
                        char *s = strdup(tz);
                        if (!s)
                                return -ENOMEM;
                        *ret = s;
                        return 0;
                }
        }
        char link[PATH_MAX];
        ssize_t l = readlink("/etc/localtime", link, sizeof link - 1);
        if (l > 0) {
                link[l] = 0;
                const char *z = strstr(link, "zoneinfo/");
                if (z && calendar_zone_name_is_valid(z + strlen("zoneinfo/"))) {
                        char *s = strdup(z + strlen("zoneinfo/"));
                        if (!s)
                                return -ENOMEM;
                        *ret = s;
                        return 0;
                }
        }
        char *s = strdup("UTC");
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static bool spec_is_sane(const char *spec) {
        if (isempty(spec) || strlen(spec) > CALENDAR_MAX_SPEC_LENGTH)
                return false;
        for (const char *c = spec; *c; c++)
                if ((unsigned char) *c < ' ' || *c == 0x7f)
                        return false;
        return true;
}

/* Control characters are replaced for the message: it is one line. */
static char *invalid_spec_message(const char *spec, const char *why) {
        _cleanup_free_ char *clean = strdup(spec);
        if (!clean)
                return NULL;
        for (char *c = clean; *c; c++)
                if ((unsigned char) *c < ' ' || *c == 0x7f)
                        *c = '?';
        return why ? strprintf("Invalid calendar spec '%s': %s", clean, why)
                   : strprintf("Invalid calendar spec '%s'", clean);
}

static void query_finish(CalendarQuery *q, CalendarResult *r);

static CalendarResult *result_new(void) {
        CalendarResult *r = new0(CalendarResult, 1);
        if (r)
                r->invalid_index = -1;
        return r;
}

static void query_fail(CalendarQuery *q, int error, int invalid_index, const char *fmt, ...) _printf_(4, 5);
static void query_fail(CalendarQuery *q, int error, int invalid_index, const char *fmt, ...) {
        CalendarResult *r = result_new();
        if (r) {
                va_list ap;
                va_start(ap, fmt);
                if (vasprintf(&r->message, fmt, ap) < 0)
                        r->message = NULL;
                va_end(ap);
                r->error = error;
                r->invalid_index = invalid_index;
        }
        query_finish(q, r);
}

static void query_fail_invalid(CalendarQuery *q, int i, const char *why) {
        _cleanup_free_ char *m = invalid_spec_message(q->specs[i], why);
        query_fail(q, -EINVAL, i, "%s (time zone %s)", m ?: "Invalid calendar spec", q->zone);
}

static void query_finish(CalendarQuery *q, CalendarResult *r) {
        query_stop_child(q);
        q->defer_source = sd_event_source_disable_unref(q->defer_source);
        /* On OOM there is no result to hand over: the handler gets NULL. */
        calendar_handler_t h = q->handler;
        void *u = q->userdata;
        bool floating = q->floating;
        q->handler = NULL;
        if (h)
                h(q, r, u);
        else
                calendar_result_free(r);
        if (floating)
                calendar_query_free(q);
}

/* ---- parsing the output of systemd-analyze calendar ---- */

/* "Sun 2026-04-05 00:30:00 UTC" -> µs. With utc == false any zone abbreviation is accepted and the
 * wall time is taken as UTC: systemd prints an "(in UTC)" line after it unless the zone is UTC all
 * year (then both are the same). */
static int parse_timestamp_line(const char *s, bool utc, usec_t *ret) {
        int Y, M, D, h, m, sec, n = 0;
        char wday[8], abbrev[16];
        if (sscanf(s, "%7s %d-%d-%d %d:%d:%d %15s%n", wday, &Y, &M, &D, &h, &m, &sec, abbrev, &n) != 8 || n == 0 ||
            s[n] != 0 || (utc && !streq(abbrev, "UTC")))
                return -EIO;
        struct tm tm = {
                .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
                .tm_hour = h, .tm_min = m, .tm_sec = sec,
        };
        time_t t = timegm(&tm);
        if (t < 0)
                return -ERANGE;
        *ret = (usec_t) t * USEC_PER_SEC;
        return 0;
}

typedef struct Block {
        char *normalized;
        usec_t *instants;
        size_t n, allocated;
} Block;

static void blocks_free(Block *b, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(b[i].normalized);
                free(b[i].instants);
        }
        free(b);
}

static int block_add(Block *b, usec_t t) {
        if (b->n == b->allocated) {
                size_t na = MAX(16U, b->allocated * 2);
                usec_t *ni = realloc(b->instants, na * sizeof(usec_t));
                if (!ni)
                        return -ENOMEM;
                b->instants = ni;
                b->allocated = na;
        }
        b->instants[b->n++] = t;
        return 0;
}

/* Splits the output into one Block per spec that was accepted, in order. */
static int parse_output(char *text, Block **ret, size_t *ret_n) {
        Block *blocks = NULL;
        size_t n = 0;
        bool seen_original = false;
        int r = 0;

        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                while (*line == ' ')
                        line++;
                const char *v;
                if ((v = startswith(line, "Original form: ")) ||
                    ((v = startswith(line, "Normalized form: ")) && !seen_original)) {
                        Block *nb = realloc(blocks, (n + 1) * sizeof(Block));
                        if (!nb) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        blocks = nb;
                        blocks[n++] = (Block) {};
                        seen_original = startswith(line, "Original form: ");
                        if (seen_original)
                                continue;
                }
                if (n == 0)
                        continue;
                Block *b = &blocks[n - 1];
                if ((v = startswith(line, "Normalized form: "))) {
                        seen_original = false;
                        free(b->normalized);
                        b->normalized = strdup(v);
                        if (!b->normalized) {
                                r = -ENOMEM;
                                goto fail;
                        }
                } else if ((v = startswith(line, "Next elapse: ")) || (startswith(line, "Iter. #") &&
                                                                       (v = strstr(line, ": ")) && (v += 2))) {
                        if (streq(v, "never"))
                                continue;
                        usec_t t;
                        r = parse_timestamp_line(v, false, &t);
                        if (r < 0)
                                goto fail;
                        r = block_add(b, t);
                        if (r < 0)
                                goto fail;
                } else if ((v = startswith(line, "(in UTC): "))) {
                        /* printed after a local time when TZ is not UTC: the UTC one wins */
                        usec_t t;
                        if (b->n == 0 || parse_timestamp_line(v, true, &t) < 0) {
                                r = -EIO;
                                goto fail;
                        }
                        b->instants[b->n - 1] = t;
                }
                /* "From now:" and anything unknown: ignored */
        }
        for (size_t i = 0; i < n; i++)
                if (!blocks[i].normalized) {
                        r = -EIO;
                        goto fail;
                }
        *ret = blocks;
        *ret_n = n;
        return 0;
fail:
        blocks_free(blocks, n);
        return r;
}

/* ---- running systemd-analyze ---- */

static int query_spawn(CalendarQuery *q);

static int collect(CalendarQuery *q, usec_t t) {
        if (q->n_instants >= CALENDAR_MAX_INSTANTS)
                return -E2BIG;
        if (q->n_instants == q->allocated) {
                size_t na = MAX(64U, q->allocated * 2);
                usec_t *ni = realloc(q->instants, na * sizeof(usec_t));
                if (!ni)
                        return -ENOMEM;
                q->instants = ni;
                q->allocated = na;
        }
        q->instants[q->n_instants++] = t;
        return 0;
}

static int cmp_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

static void sort_unique(CalendarQuery *q) {
        if (q->n_instants == 0)
                return;
        qsort(q->instants, q->n_instants, sizeof(usec_t), cmp_usec);
        size_t k = 1;
        for (size_t i = 1; i < q->n_instants; i++)
                if (q->instants[i] != q->instants[k - 1])
                        q->instants[k++] = q->instants[i];
        q->n_instants = k;
}

/* The stderr line naming a rejected spec: "Failed to parse calendar specification 'X': ..." */
static int find_rejected(CalendarQuery *q) {
        if (!q->err.data)
                return -1;
        for (size_t i = 0; q->full[i]; i++) {
                _cleanup_free_ char *needle = strprintf("calendar specification '%s'", q->full[i]);
                if (needle && strstr(q->err.data, needle))
                        return (int) i;
        }
        return -1;
}

static void first_line(char *s) {
        if (!s)
                return;
        s[strcspn(s, "\n")] = 0;
}

static void query_child_done(CalendarQuery *q) {
        Block *blocks = NULL;
        size_t n_blocks = 0, n_specs = strv_length(q->full);
        int r;

        if (q->exit_status != 0) {
                int i = find_rejected(q);
                if (i >= 0)
                        return query_fail_invalid(q, i, NULL);
                first_line(q->err.data);
                return query_fail(q, -EIO, -1, "systemd-analyze calendar failed (exit status %d): %s",
                                  q->exit_status, strempty(q->err.data));
        }
        if (!q->out.data)
                return query_fail(q, -EIO, -1, "systemd-analyze calendar printed nothing");
        r = parse_output(q->out.data, &blocks, &n_blocks);
        if (r == -ENOMEM)
                return query_finish(q, NULL);
        if (r < 0 || n_blocks != n_specs) {
                blocks_free(blocks, n_blocks);
                return query_fail(q, -EIO, -1, "Unexpected output of systemd-analyze calendar (%zu of %zu specs)",
                                  n_blocks, n_specs);
        }

        if (q->validating) {
                q->normalized = new0(char *, n_blocks + 1);
                if (!q->normalized)
                        goto oom;
                for (size_t i = 0; i < n_blocks; i++)
                        q->normalized[i] = TAKE_PTR(blocks[i].normalized);
                blocks_free(blocks, n_blocks);
                if (q->mode == QUERY_VALIDATE) {
                        CalendarResult *res = result_new();
                        if (!res)
                                goto oom;
                        res->normalized = TAKE_PTR(q->normalized);
                        return query_finish(q, res);
                }
                /* Valid: now the instants, computed in the zone itself (TZ=zone, bare specs): a
                 * spec naming a zone other than the process's makes systemd fork once per
                 * instant, ~17 ms each. */
                q->validating = false;
                query_stop_child(q);
                r = query_spawn(q);
                if (r < 0)
                        return query_fail(q, r, -1, "Cannot run %s: %s", analyze_path(), strerror(-r));
                return;
        }

        /* Every instant up to the horizon is known: the earliest last instant among the specs that
         * did not run out in this batch. */
        unsigned asked = q->mode == QUERY_NEXT ? q->n : RANGE_BATCH;
        usec_t horizon = USEC_INFINITY;
        for (size_t i = 0; i < n_blocks; i++) {
                if (q->exhausted[i])
                        continue;
                if (blocks[i].n < asked)
                        q->exhausted[i] = true;
                else
                        horizon = MIN(horizon, blocks[i].instants[blocks[i].n - 1]);
        }
        for (size_t i = 0; i < n_blocks; i++)
                for (size_t j = 0; j < blocks[i].n; j++) {
                        usec_t t = blocks[i].instants[j];
                        if (t > horizon)
                                continue;
                        if (q->mode == QUERY_RANGE && (t < q->from || t >= q->to))
                                continue;
                        r = collect(q, t);
                        if (r < 0) {
                                blocks_free(blocks, n_blocks);
                                if (r == -ENOMEM)
                                        goto oom;
                                return query_fail(q, r, -1, "More than %u calendar instants", CALENDAR_MAX_INSTANTS);
                        }
                }
        blocks_free(blocks, n_blocks);
        sort_unique(q);

        bool done = horizon == USEC_INFINITY ||
                    (q->mode == QUERY_NEXT ? q->n_instants >= q->n : horizon >= q->to);
        if (!done) {
                /* Instants are printed in whole seconds: everything in the horizon's second is
                 * collected already, continue after it. */
                q->base = horizon + USEC_PER_SEC - 1;
                query_stop_child(q);
                r = query_spawn(q);
                if (r < 0)
                        return query_fail(q, r, -1, "Cannot run %s: %s", analyze_path(), strerror(-r));
                return;
        }
        if (q->mode == QUERY_NEXT && q->n_instants > q->n)
                q->n_instants = q->n;

        CalendarResult *res = result_new();
        if (!res)
                goto oom;
        res->normalized = TAKE_PTR(q->normalized);
        res->instants = TAKE_PTR(q->instants);
        res->n_instants = q->n_instants;
        q->n_instants = q->allocated = 0;
        return query_finish(q, res);
oom:
        query_finish(q, NULL);
}

static void query_maybe_done(CalendarQuery *q) {
        if (q->exit_status >= 0 && q->out.eof && q->err.eof)
                query_child_done(q);
}

static int buffer_read(Buffer *b, int fd) {
        for (;;) {
                char chunk[16384];
                ssize_t l = read(fd, chunk, sizeof chunk);
                if (l < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        return -errno;
                }
                if (l == 0) {
                        b->eof = true;
                        return 0;
                }
                if (b->size + (size_t) l > b->max)
                        return -E2BIG;
                if (b->size + (size_t) l + 1 > b->allocated) {
                        /* geometric growth: a flood of output costs O(n), not O(n²) copies */
                        size_t na = MAX(b->allocated * 2, b->size + (size_t) l + 1);
                        char *nd = realloc(b->data, MAX(na, (size_t) 65536));
                        if (!nd)
                                return -ENOMEM;
                        b->data = nd;
                        b->allocated = MAX(na, (size_t) 65536);
                }
                memcpy(b->data + b->size, chunk, (size_t) l);
                b->size += (size_t) l;
                b->data[b->size] = 0;
        }
}

static int on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CalendarQuery *q = userdata;
        Buffer *b = fd == q->out_fd ? &q->out : &q->err;
        int r = buffer_read(b, fd);
        if (r < 0) {
                if (r == -E2BIG)
                        query_fail(q, r, -1, "systemd-analyze calendar printed more than %zu bytes", b->max);
                else
                        query_fail(q, r, -1, "Reading from systemd-analyze: %s", strerror(-r));
                return 0;
        }
        if (b->eof)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        query_maybe_done(q);
        return 0;
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CalendarQuery *q = userdata;
        siginfo_t si = {};
        if (waitid(P_PIDFD, (id_t) q->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                return 0;
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        q->exit_status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
        /* Whatever is still in the pipes is there now. */
        int r = 0;
        if (!q->out.eof)
                r = buffer_read(&q->out, q->out_fd);
        if (r >= 0 && !q->err.eof)
                r = buffer_read(&q->err, q->err_fd);
        if (r < 0) {
                query_fail(q, r, -1, "Reading from systemd-analyze: %s", strerror(-r));
                return 0;
        }
        /* A grandchild could hold the pipes open: the exit is what counts. */
        q->out.eof = q->err.eof = true;
        query_maybe_done(q);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        CalendarQuery *q = userdata;
        query_fail(q, -ETIMEDOUT, -1, "systemd-analyze calendar did not finish within %s",
                   "10s");
        return 0;
}

static int query_spawn(CalendarQuery *q) {
        _cleanup_close_ int out_r = -1, out_w = -1, err_r = -1, err_w = -1;
        int p[2], r;

        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        out_r = p[0];
        out_w = p[1];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        err_r = p[0];
        err_w = p[1];
        /* The child's ends must block (a non-blocking stdout makes writes fail with EAGAIN). */
        if (fcntl(out_w, F_SETFL, 0) < 0 || fcntl(err_w, F_SETFL, 0) < 0)
                return -errno;

        char iterations[32], base[64];
        snprintf(iterations, sizeof iterations, "--iterations=%u",
                 q->validating ? 1U : q->mode == QUERY_NEXT ? q->n : RANGE_BATCH);
        snprintf(base, sizeof base, "--base-time=@%" PRIu64 ".%06" PRIu64, q->base / USEC_PER_SEC,
                 q->base % USEC_PER_SEC);

        size_t n_specs = strv_length(q->full);
        _cleanup_free_ char **argv = new0(char *, n_specs + 8);
        if (!argv)
                return -ENOMEM;
        size_t k = 0;
        argv[k++] = (char *) "systemd-analyze";
        argv[k++] = (char *) "--no-pager";
        argv[k++] = (char *) "calendar";
        argv[k++] = iterations;
        if (!q->validating)
                argv[k++] = base;
        argv[k++] = (char *) "--"; /* a spec may start with '-' */
        for (size_t i = 0; i < n_specs; i++)
                argv[k++] = q->validating ? q->full[i] : q->specs[i];
        argv[k] = NULL;

        /* Validating: TZ=UTC, the specs carry their zone. Iterating: TZ=zone, bare specs; instants
         * are printed in local time followed by "(in UTC)" lines. C locale: fixed names. */
        _cleanup_free_ char *tz = q->validating ? strdup("TZ=UTC") : strprintf("TZ=:%s", q->zone);
        if (!tz)
                return -ENOMEM;
        char *envp[] = {
                tz, (char *) "LC_ALL=C", (char *) "SYSTEMD_COLORS=0",
                (char *) "SYSTEMD_PAGER=cat", (char *) "SYSTEMD_LOG_LEVEL=err",
                (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL,
        };

        posix_spawn_file_actions_t fa;
        r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return -r;
        r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, out_w, STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, err_w, STDERR_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        posix_spawnattr_t attr;
        if (r == 0)
                r = posix_spawnattr_init(&attr);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&fa);
                return -r;
        }
        /* The daemon may block or ignore signals; the child starts with the defaults. */
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        (void) posix_spawnattr_setsigmask(&attr, &none);
        (void) posix_spawnattr_setsigdefault(&attr, &all);
        (void) posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

        pid_t pid;
        r = posix_spawn(&pid, analyze_path(), &fa, &attr, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return -r;

        q->pid = pid;
        q->exit_status = -1;
        q->pidfd = pidfd_open(pid, 0);
        if (q->pidfd < 0) {
                r = -errno;
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                q->pid = 0;
                return r;
        }
        q->out_fd = TAKE_FD(out_r);
        q->err_fd = TAKE_FD(err_r);
        q->out = (Buffer) { .max = MAX_STDOUT };
        q->err = (Buffer) { .max = MAX_STDERR };

        r = sd_event_add_io(q->event, &q->out_source, q->out_fd, EPOLLIN, on_pipe, q);
        if (r >= 0)
                r = sd_event_add_io(q->event, &q->err_source, q->err_fd, EPOLLIN, on_pipe, q);
        if (r >= 0)
                r = sd_event_add_io(q->event, &q->pid_source, q->pidfd, EPOLLIN, on_pidfd, q);
        if (r >= 0)
                r = sd_event_add_time_relative(q->event, &q->timeout_source, CLOCK_MONOTONIC,
                                               CALENDAR_DEFAULT_TIMEOUT, 0, on_timeout, q);
        if (r < 0) {
                query_stop_child(q);
                return r;
        }
        (void) sd_event_source_set_description(q->pid_source, "systemd-analyze");
        return 0;
}

static int query_new(sd_event *e, QueryMode mode, char * const *specs, const char *zone,
                     calendar_handler_t handler, void *userdata, CalendarQuery **ret) {
        size_t n = strv_length((char **) specs);
        if (!e || n == 0 || n > CALENDAR_MAX_SPECS || !calendar_zone_name_is_valid(zone))
                return -EINVAL;

        _cleanup_(calendar_query_freep) CalendarQuery *q = new0(CalendarQuery, 1);
        if (!q)
                return -ENOMEM;
        q->pidfd = q->out_fd = q->err_fd = -1;
        q->insane = -1;
        q->exit_status = -1;
        q->event = sd_event_ref(e);
        q->mode = mode;
        q->handler = handler;
        q->userdata = userdata;
        q->floating = !ret;
        q->specs = new0(char *, n + 1);
        q->full = new0(char *, n + 1);
        q->exhausted = new0(bool, n);
        q->zone = strdup(zone);
        if (!q->specs || !q->full || !q->exhausted || !q->zone)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                q->specs[i] = strdup(specs[i]);
                if (!q->specs[i])
                        return -ENOMEM;
                int r = calendar_spec_with_zone(specs[i], zone, &q->full[i]);
                if (r < 0)
                        return r;
                if (q->insane < 0 && !spec_is_sane(specs[i]))
                        q->insane = (int) i;
        }
        *ret = TAKE_PTR(q);
        return 0;
}

/* A spec that cannot even be passed on (empty, control characters, too long) is rejected like one
 * systemd rejects, through the handler (from the loop, never re-entrantly). */
static int on_defer_insane(sd_event_source *s, void *userdata) {
        CalendarQuery *q = userdata;
        query_fail_invalid(q, q->insane, isempty(q->specs[q->insane]) ? "empty" :
                           "control characters, or too long");
        return 0;
}

static int query_start(sd_event *e, QueryMode mode, char * const *specs, const char *zone, usec_t base, unsigned n,
                       usec_t to, calendar_handler_t handler, void *userdata, CalendarQuery **ret) {
        CalendarQuery *q = NULL;
        int r;

        r = query_new(e, mode, specs, zone, handler, userdata, &q);
        if (r < 0)
                return r;
        q->floating = !ret;
        q->base = base;
        q->from = base + (mode == QUERY_RANGE ? 1 : 0);
        q->n = n;
        q->to = to;
        q->validating = true;
        if (q->insane >= 0)
                r = sd_event_add_defer(e, &q->defer_source, on_defer_insane, q);
        else
                r = query_spawn(q);
        if (r < 0) {
                calendar_query_free(q);
                return r;
        }
        if (ret)
                *ret = q;
        return 0;
}

int calendar_validate(sd_event *e, char * const *specs, const char *zone,
                      calendar_handler_t handler, void *userdata, CalendarQuery **ret) {
        return query_start(e, QUERY_VALIDATE, specs, zone, 0, 1, 0, handler, userdata, ret);
}

int calendar_next(sd_event *e, char * const *specs, const char *zone, usec_t base, unsigned n,
                  calendar_handler_t handler, void *userdata, CalendarQuery **ret) {
        if (n == 0 || n > CALENDAR_MAX_ITERATIONS)
                return -EINVAL;
        return query_start(e, QUERY_NEXT, specs, zone, base, n, 0, handler, userdata, ret);
}

int calendar_range(sd_event *e, char * const *specs, const char *zone, usec_t from, usec_t to,
                   calendar_handler_t handler, void *userdata, CalendarQuery **ret) {
        if (from == 0 || to <= from)
                return -EINVAL;
        /* instants strictly after the base: start just before from */
        return query_start(e, QUERY_RANGE, specs, zone, from - 1, 0, to, handler, userdata, ret);
}

/* ---- synchronous wrappers ---- */

typedef struct SyncState {
        bool done;
        CalendarResult *result;
} SyncState;

static void on_sync_done(CalendarQuery *q, CalendarResult *result, void *userdata) {
        SyncState *s = userdata;
        s->done = true;
        s->result = result;
}

static int sync_run(int mode, char * const *specs, const char *zone, usec_t a, usec_t b, unsigned n,
                    CalendarResult **ret) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(calendar_query_freep) CalendarQuery *q = NULL;
        SyncState s = {};
        int r;

        r = sd_event_new(&e);
        if (r < 0)
                return r;
        switch (mode) {
        case QUERY_VALIDATE:
                r = calendar_validate(e, specs, zone, on_sync_done, &s, &q);
                break;
        case QUERY_NEXT:
                r = calendar_next(e, specs, zone, a, n, on_sync_done, &s, &q);
                break;
        default:
                r = calendar_range(e, specs, zone, a, b, on_sync_done, &s, &q);
        }
        if (r < 0)
                return r;
        while (!s.done) {
                r = sd_event_run(e, UINT64_MAX);
                if (r < 0)
                        return r;
        }
        if (!s.result)
                return -ENOMEM;
        r = s.result->error;
        if (ret)
                *ret = s.result;
        else
                calendar_result_free(s.result);
        return r;
}

int calendar_validate_sync(char * const *specs, const char *zone, CalendarResult **ret) {
        return sync_run(QUERY_VALIDATE, specs, zone, 0, 0, 1, ret);
}

int calendar_next_sync(char * const *specs, const char *zone, usec_t base, unsigned n, CalendarResult **ret) {
        return sync_run(QUERY_NEXT, specs, zone, base, 0, n, ret);
}

int calendar_range_sync(char * const *specs, const char *zone, usec_t from, usec_t to, CalendarResult **ret) {
        return sync_run(QUERY_RANGE, specs, zone, from, to, 0, ret);
}

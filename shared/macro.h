/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _pure_ __attribute__((pure))
#define _warn_unused_result_ __attribute__((warn_unused_result))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* Hand ownership out of a _cleanup_ variable: returns the pointer and clears the local. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) *_pp_ = &(p);     \
                __typeof__(p) _ptr_ = *_pp_;    \
                *_pp_ = NULL;                   \
                _ptr_;                          \
        })

#define TAKE_FD(fd)                             \
        ({                                      \
                int *_pfd_ = &(fd);             \
                int _fd_ = *_pfd_;              \
                *_pfd_ = -1;                    \
                _fd_;                           \
        })

#define ASSERT_PTR(p)                           \
        ({                                      \
                __typeof__(p) _p_ = (p);        \
                assert(_p_);                    \
                _p_;                            \
        })

/* Generates funcp(type *p) calling func(*p) when set; func must accept what it is given. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                 \
        static inline void func##p(type *p) {                   \
                if (*p)                                         \
                        *p = func(*p);                          \
        }

/* Same, for destructors returning void. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(type, func)            \
        static inline void func##p(type *p) {                   \
                if (*p) {                                       \
                        func(*p);                               \
                        *p = NULL;                              \
                }                                               \
        }

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void freep(void *p) {
        free(*(void **) p);
        *(void **) p = NULL;
}
#define _cleanup_free_ _cleanup_(freep)

#include <unistd.h>
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -1;
}
static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

#include <stdio.h>
static inline FILE *safe_fclose(FILE *f) {
        if (f)
                (void) fclose(f);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(FILE*, safe_fclose);
#define _cleanup_fclose_ _cleanup_(safe_fclosep)

#define new(t, n) ((t *) calloc((n) ?: 1, sizeof(t)))
#define new0(t, n) ((t *) calloc((n) ?: 1, sizeof(t)))

static inline int negative_errno(void) {
        /* errno may be 0 after a failing libc call in odd corners: never return success then. */
        return errno > 0 ? -errno : -EIO;
}

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

/* "-" for no value (NULL or ""), as tables and `show` write it. */
static inline const char *strdash(const char *s) {
        return s && *s ? s : "-";
}

static inline int streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
#define isempty(s) (!(s) || !*(s))

static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

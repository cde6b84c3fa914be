/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The project's own small cleanup header, in the spirit of systemd's
 * macro-fundamental.h: automatic cleanup on scope exit, explicit hand-over of
 * ownership with TAKE_PTR(), and one-line argument checks.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(x)      __attribute__((__cleanup__(x)))
#define _cleanup_free_    _cleanup_(freep)
#define _cleanup_fclose_  _cleanup_(fclosep)
#define _cleanup_close_   _cleanup_(closep)
#define _unused_          __attribute__((__unused__))
#define _printf_(a, b)    __attribute__((__format__(printf, a, b)))
#define _noreturn_        __attribute__((__noreturn__))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand a cleanup-managed pointer over to the caller. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p_ = (p);                                                           \
                (p) = NULL;                                                                        \
                _p_;                                                                               \
        })

#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _fd_ = (fd);                                                                   \
                (fd) = -1;                                                                         \
                _fd_;                                                                              \
        })

#define ASSERT_PTR(p)                                                                              \
        ({                                                                                         \
                __typeof__(p) _q_ = (p);                                                           \
                assert(_q_);                                                                       \
                _q_;                                                                               \
        })

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void fclosep(FILE **f)
{
        if (*f)
                (void)fclose(*f);
}

static inline void closep(int *fd)
{
        if (*fd >= 0)
                (void)close(*fd);
}

/* Defines funcp(type *) that calls func(*p) when *p is set. */
/* type is a type name and cannot be parenthesized, hence the NOLINT. */
#define HC_DEFINE_CLEANUP(type, func)                                                              \
        static inline void func##p(type *p) /* NOLINT(bugprone-macro-parentheses) */          \
        {                                                                                          \
                if (*p)                                                                            \
                        func(*p);                                                                  \
        }

static inline int negative_errno(int e)
{
        return e > 0 ? -e : -5 /* EIO: the call failed without saying why */;
}

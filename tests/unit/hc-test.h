/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A small harness in the spirit of the KVM selftests: each HC_TEST names the
 * behaviour it proves (<module>__<behaviour>); CMake finds the names in the
 * source and registers each as its own ctest entry.  Assertions say what was
 * expected and what was observed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hc_test_register(const char *name, void (*fn)(void));
/* Path of a file under tests/data/. */
const char *hc_test_data(const char *relative);
/* The whole of a file under tests/data/ (fails the test when unreadable); caller frees. */
char *hc_test_read_data(const char *relative);
/* text with the first occurrence of from replaced by to (fails the test when absent); caller frees. */
char *hc_test_edited(const char *text, const char *from, const char *to);
/* Both spellings of noreturn: cppcheck 2.10 understands only the attribute. */
_Noreturn void hc_test_fail(const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4), noreturn));

#define HC_TEST(name)                                                                              \
        static void name(void);                                                                    \
        __attribute__((constructor)) static void register_##name(void)                             \
        {                                                                                          \
                hc_test_register(#name, name);                                                     \
        }                                                                                          \
        static void name(void)

#define HC_ASSERT(cond, ...)                                                                       \
        do {                                                                                       \
                if (!(cond))                                                                       \
                        hc_test_fail(__FILE__, __LINE__, __VA_ARGS__);                             \
        } while (0)

#define HC_ASSERT_STREQ(observed, expected)                                                        \
        do {                                                                                       \
                const char *o_ = (observed), *e_ = (expected);                                     \
                if (!o_ || strcmp(o_, e_) != 0)                                                    \
                        hc_test_fail(__FILE__, __LINE__, "expected \"%s\"; observed \"%s\"", e_,    \
                                     o_ ? o_ : "(null)");                                          \
        } while (0)

#define HC_ASSERT_INTEQ(observed, expected)                                                        \
        do {                                                                                       \
                long long o_ = (long long)(observed), e_ = (long long)(expected);                  \
                if (o_ != e_)                                                                      \
                        hc_test_fail(__FILE__, __LINE__, "%s: expected %lld; observed %lld",        \
                                     #observed, e_, o_);                                           \
        } while (0)

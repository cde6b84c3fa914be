/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The lab checkers' harness (lab-expect, lab-l2-expect): each LAB_TEST names one
 * behaviour and CMake registers it as its own ctest entry; a check that fails
 * is counted and said, and the test carries on, so one run reports every
 * kernel and case that is off, not only the first.
 */
#include "hc-macro.h"

void lab_test_register(const char *name, void (*fn)(void));

#define LAB_TEST(test)                                                                             \
        static void test(void);                                                                    \
        __attribute__((constructor)) static void register_##test(void)                             \
        {                                                                                          \
                lab_test_register(#test, test);                                                    \
        }                                                                                          \
        static void test(void)

/* The test running now, for messages. */
extern const char *lab_current_test;
extern unsigned lab_n_checks;

/* "TEST: FAIL: WHERE: message" on stderr; the running test fails. */
void lab_check_fail(const char *where, const char *fmt, ...) _printf_(2, 3);

#define LAB_CHECK(where, cond, ...)                                                                \
        do {                                                                                       \
                lab_n_checks++;                                                                    \
                if (!(cond))                                                                       \
                        lab_check_fail((where), __VA_ARGS__);                                      \
        } while (0)

/*
 * A checker's main(): "--list" prints the tests; otherwise n_args arguments
 * (named by usage) and optionally one test's name.  setup(argv) loads the
 * inputs (< 0: exit 1), then the one test or all run.  Exit 0 when every
 * check held, 1 when one failed, 2 for a bad command line or unknown test.
 */
int lab_main(int argc, char **argv, const char *name, int n_args, const char *usage,
             int (*setup)(char **argv));

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab-check.h"

#define MAX_TESTS 32

static struct {
        const char *name;
        void (*fn)(void);
} tests[MAX_TESTS];
static size_t n_tests;
static unsigned n_failures;

const char *lab_current_test = "?";
unsigned lab_n_checks;

void lab_test_register(const char *name, void (*fn)(void))
{
        if (n_tests == MAX_TESTS)
                abort();
        tests[n_tests].name = name;
        tests[n_tests++].fn = fn;
}

void lab_check_fail(const char *where, const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "%s: FAIL: %s: ", lab_current_test, where);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        n_failures++;
}

static int run(size_t t)
{
        lab_current_test = tests[t].name;
        n_failures = lab_n_checks = 0;
        tests[t].fn();
        printf("%s: %s (%u checks, %u failed)\n", tests[t].name, n_failures ? "FAIL" : "ok",
               lab_n_checks, n_failures);
        return n_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

int lab_main(int argc, char **argv, const char *name, int n_args, const char *usage,
             int (*setup)(char **argv))
{
        const char *only = argc == n_args + 2 ? argv[n_args + 1] : NULL;
        int rc = EXIT_SUCCESS;

        /* Results and failures interleave in order even when both go to one pipe. */
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc == 2 && strcmp(argv[1], "--list") == 0) {
                for (size_t t = 0; t < n_tests; t++)
                        puts(tests[t].name);
                return EXIT_SUCCESS;
        }
        if (argc < n_args + 1 || argc > n_args + 2) {
                fprintf(stderr, "usage: %s %s [TEST] | --list\n", name, usage);
                return 2;
        }
        if (setup(argv) < 0)
                return EXIT_FAILURE;
        for (size_t t = 0; t < n_tests; t++) {
                if (only && strcmp(only, tests[t].name) != 0)
                        continue;
                if (run(t) != EXIT_SUCCESS)
                        rc = EXIT_FAILURE;
                if (only)
                        return rc;
        }
        if (only) {
                fprintf(stderr, "%s: no test %s (see --list)\n", name, only);
                return 2;
        }
        return rc;
}

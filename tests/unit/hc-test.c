/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "fileio.h"
#include "hc-test.h"

#define MAX_TESTS 256

static struct {
        const char *name;
        void (*fn)(void);
} tests[MAX_TESTS];
static size_t n_tests;
static const char *current = "?";

void hc_test_register(const char *name, void (*fn)(void))
{
        if (n_tests == MAX_TESTS) {
                fprintf(stderr, "too many tests in one binary; raise MAX_TESTS\n");
                abort();
        }
        tests[n_tests].name = name;
        tests[n_tests++].fn = fn;
}

const char *hc_test_data(const char *relative)
{
        static char path[4096];

        snprintf(path, sizeof(path), "%s/%s", HC_TEST_DATA_DIR, relative);
        return path;
}

char *hc_test_read_data(const char *relative)
{
        char *text = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_read_file(hc_test_data(relative), &text, NULL, &err) == 0, "%s", err.text);
        return text;
}

char *hc_test_edited(const char *text, const char *from, const char *to)
{
        const char *at = strstr(text, from);
        char *out;

        HC_ASSERT(at, "fixture lacks \"%s\"", from);
        HC_ASSERT(asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)) > 0, "oom");
        return out;
}

void hc_test_fail(const char *file, int line, const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "%s: FAIL at %s:%d: ", current, file, line);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(1);
}

static void run(size_t i)
{
        current = tests[i].name;
        tests[i].fn();
        printf("%s: PASS\n", tests[i].name);
}

int main(int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "--list") == 0) {
                for (size_t i = 0; i < n_tests; i++)
                        printf("%s\n", tests[i].name);
                return 0;
        }
        for (size_t i = 0; i < n_tests; i++)
                if (argc < 2 || strcmp(argv[1], tests[i].name) == 0)
                        run(i);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replays fuzz corpora without libFuzzer (any compiler), so ctest runs every
 * saved input, crash reproducers included, on each build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
        _cleanup_free_ char *buf = NULL;
        struct hc_error err = {0};
        size_t len = 0;

        if (hc_read_file(path, &buf, &len, &err) < 0) {
                fprintf(stderr, "%s\n", err.text);
                return -1;
        }
        LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
        return 0;
}

static int run_path(const char *path, unsigned *count)
{
        struct dirent **names;
        struct stat st;
        int n, r = 0;

        if (stat(path, &st) < 0) {
                perror(path);
                return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*count)++;
                return run_file(path);
        }
        n = scandir(path, &names, NULL, alphasort);
        if (n < 0)
                return -1;
        for (int i = 0; i < n; i++) {
                char *child;
                if (names[i]->d_name[0] != '.' &&
                    asprintf(&child, "%s/%s", path, names[i]->d_name) >= 0) {
                        r |= run_path(child, count);
                        free(child);
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char **argv)
{
        unsigned count = 0;
        int r = 0;

        for (int i = 1; i < argc; i++)
                r |= run_path(argv[i], &count);
        printf("replayed %u inputs\n", count);
        return r ? 1 : 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Any byte string given to the baseline file reader (what the VM-start path
 * reads on every start) is either a valid baseline or a clean error; an
 * accepted file writes back to text that is accepted again, identically.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "baseline-file.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = malloc(size + 1);
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        struct hc_error err = {0};

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (hc_baseline_file_parse(text, size, "fuzz", &f, &err) == 0) {
                _cleanup_free_ char *again = hc_baseline_file_to_string(f), *third = NULL;
                _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f2 = NULL;
                const struct hc_baseline_pool *p;

                if (!again || hc_baseline_file_parse(again, strlen(again), "again", &f2, &err) != 0)
                        __builtin_trap();
                third = hc_baseline_file_to_string(f2);
                if (!third || strcmp(again, third) != 0)
                        __builtin_trap();
                for (size_t i = 0; i < f->n_pools; i++)
                        if (hc_baseline_file_lookup(f, f->pools[i].pool, &p, &err) < 0 && err.text[0] == '\0')
                                __builtin_trap();
        } else if (err.text[0] == '\0') {
                __builtin_trap(); /* every refusal must say why */
        }
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Any byte string given to the host record reader is either a valid record or a clean error. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = malloc(size + 1);
        _cleanup_(hc_record_freep) struct hc_record *r = NULL;
        struct hc_error err = {0};

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (hc_record_parse(text, size, "fuzz", &r, &err) == 0) {
                /* Whatever was accepted must write back to something accepted again. */
                _cleanup_free_ char *again = hc_record_to_string(r);
                _cleanup_(hc_record_freep) struct hc_record *r2 = NULL;
                if (!again || hc_record_parse(again, strlen(again), "again", &r2, &err) != 0)
                        __builtin_trap();
        } else if (err.text[0] == '\0') {
                __builtin_trap(); /* every refusal must say why */
        }
        return 0;
}

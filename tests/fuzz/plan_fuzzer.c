/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Any byte string given to the shim's plan reader is either a plan or a clean
 * refusal with a message; an accepted plan written back in the documented
 * format reads back identically.  The reader is the shim's own (libc only,
 * hook/shim-plan.c), compiled into this target directly.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../hook/shim-plan.c" // NOLINT(bugprone-suspicious-include): compiled in, as the shim is

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t write_back(const struct hc_shim_plan *p, char *buf, size_t len)
{
        int n = snprintf(buf, len, "hypercall-plan 1\nvm-uuid %s\nvm-name %s\nmode %s\npool %s\ngeneration %" PRIu64
                         "\ndigest %s\n", p->uuid, p->name, p->incoming ? "incoming" : "start", p->pool,
                         p->generation, p->digest);
        size_t o = (size_t)n;

        for (size_t i = 0; i < p->n_regs && o < len; i++)
                o += (size_t)snprintf(buf + o, len - o, "register %s 0x%016" PRIx64 " 0x%" PRIx64 "\n",
                                      p->regs[i].name, p->regs[i].id, p->regs[i].value);
        if (o < len)
                o += (size_t)snprintf(buf + o, len - o, "end\n");
        return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct hc_shim_plan p, q;
        static char again[2 * HC_SHIM_PLAN_MAX_BYTES];
        char err[HC_SHIM_ERR_MAX] = "";
        size_t n;

        if (hc_shim_plan_parse((const char *)data, size, "fuzz", &p, err, sizeof(err)) < 0) {
                if (err[0] == '\0')
                        __builtin_trap(); /* every refusal says why */
                return 0;
        }
        n = write_back(&p, again, sizeof(again));
        if (n != size || memcmp(again, data, size) != 0)
                __builtin_trap(); /* the format is canonical: one text per plan */
        /* The parser zeroes the whole struct (padding included) before filling it. */
        if (hc_shim_plan_parse(again, n, "again", &q, err, sizeof(err)) < 0 ||
            memcmp(&p, &q, sizeof(p)) != 0) // NOLINT(bugprone-suspicious-memory-comparison)
                __builtin_trap();
        return 0;
}

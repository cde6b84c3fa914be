/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes N host records (hypercall.host/v1, the probe's own layout) into DIR
 * for the baseline benchmark: hosts spread over the pools of bench/policies/
 * (web-, db-, batch-, plus a few matching no pool) and over the kernel
 * generations of kvm-abi.md §9 (5.10, 6.1, 6.12, 7.3) with their measured
 * register values.  Deterministic: the same N gives the same files.
 *
 *   gen-records N DIR
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog.h"
#include "record.h"

struct generation {
        const char *release;
        uint64_t psci;
        bool bitmaps, bmap2;
        uint64_t wa[3];
};

static const struct generation generations[] = {
        {"5.10.0-32-arm64", 0x10000, false, false, {2, 0, 1}},
        {"6.1.0-56-arm64", 0x10001, true, false, {2, 0, 1}},
        {"6.12.117+deb12-arm64", 0x10001, true, false, {2, 0, 1}},
        {"7.3.4+deb13-arm64", 0x10003, true, true, {2, 0, 1}},
};

static const char *const prefixes[] = {"web", "web", "web", "db", "batch", "batch", "spare"};

static int fill(struct hc_record *r, size_t i)
{
        /* Legacy hosts only in batch (excluded there); one in 50 elsewhere is 6.1 vs 6.12 mix. */
        const char *prefix = prefixes[i % (sizeof(prefixes) / sizeof(prefixes[0]))];
        const struct generation *g;
        char host[64];
        size_t wa = 0;

        if (strcmp(prefix, "batch") == 0)
                g = &generations[i % 4];
        else if (strcmp(prefix, "db") == 0)
                g = &generations[3];
        else
                g = &generations[1 + i % 2];
        snprintf(host, sizeof(host), "%s-%07zu", prefix, i);
        r->host = strdup(host);
        r->kernel = strdup(g->release);
        r->midr = strdup("0x414fd0c1");
        r->kvm_mode = strdup("nvhe");
        if (!r->host || !r->kernel || !r->midr || !r->kvm_mode)
                return -ENOMEM;
        if (hc_record_set_probed_at(r, 1795514400) < 0)
                return -ENOMEM;
        for (size_t k = 0; k < hc_catalog_count(); k++) {
                const struct hc_register *reg = hc_catalog_get(k);
                struct hc_reg_state *st = &r->regs[k];

                switch (reg->kind) {
                case HC_KIND_PSCI_VERSION:
                        *st = (struct hc_reg_state){.present = true, .value = g->psci};
                        break;
                case HC_KIND_WORKAROUND:
                        *st = (struct hc_reg_state){.present = true, .value = g->wa[wa++ % 3]};
                        break;
                case HC_KIND_BITMAP:
                        if (!g->bitmaps || (!reg->reset_is_max && !g->bmap2))
                                *st = (struct hc_reg_state){.present = false};
                        else if (!reg->reset_is_max)
                                *st = (struct hc_reg_state){.present = true, .value = reg->mask,
                                                            .has_default = true,
                                                            .default_value = reg->reset_value};
                        else
                                *st = (struct hc_reg_state){.present = true, .value = reg->mask};
                        break;
                }
        }
        return 0;
}

int main(int argc, char **argv)
{
        char *end = NULL;
        unsigned long n;

        if (argc != 3 || (n = strtoul(argv[1], &end, 10)) == 0 || *end) {
                fprintf(stderr, "usage: gen-records N DIR\n");
                return 64;
        }
        if (mkdir(argv[2], 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_(hc_record_freep) struct hc_record *r = hc_record_new();
                _cleanup_free_ char *text = NULL, *path = NULL;
                _cleanup_fclose_ FILE *f = NULL;

                if (!r || fill(r, i) < 0 || !(text = hc_record_to_string(r)) ||
                    asprintf(&path, "%s/%s.json", argv[2], r->host) < 0) {
                        fprintf(stderr, "out of memory\n");
                        return 1;
                }
                /* Plain writes: a benchmark fixture needs no fsync per file. */
                f = fopen(path, "we");
                if (!f || fputs(text, f) < 0) {
                        fprintf(stderr, "%s: %s\n", path, strerror(errno));
                        return 1;
                }
        }
        return 0;
}

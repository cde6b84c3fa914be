/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Any byte string given to the vCPU register set reader (hypercall.vcpu-regs/v1)
 * is either a valid set or a clean error; an accepted set writes back to an
 * accepted one, and a VM may always move between two hosts with that same set.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "migration.h"
#include "record.h"
#include "vcpu-regs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool migrates_to_itself(const struct hc_vcpu_regs *v)
{
        _cleanup_(hc_record_freep) struct hc_record *rec = hc_record_new();
        _cleanup_(hc_migration_done) struct hc_migration m = {0};

        if (!rec || !(rec->host = strdup(v->host)) || !(rec->kernel = strdup(v->kernel)))
                return true; /* out of memory: nothing to judge */
        return hc_migration_check_vcpu(rec, v, rec, v, &m) < 0 || m.allowed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = malloc(size + 1);
        _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *r = NULL;
        struct hc_error err = {0};

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (hc_vcpu_regs_parse(text, size, "fuzz", &r, &err) == 0) {
                /* Whatever was accepted must write back to something accepted again. */
                _cleanup_free_ char *again = hc_vcpu_regs_to_string(r);
                _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *r2 = NULL;
                if (!again || hc_vcpu_regs_parse(again, strlen(again), "again", &r2, &err) != 0 ||
                    !migrates_to_itself(r))
                        __builtin_trap();
        } else if (err.text[0] == '\0') {
                __builtin_trap(); /* every refusal must say why */
        }
        return 0;
}

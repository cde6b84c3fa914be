/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Any byte string given to the hook's domain XML reader (the minimal XML
 * parser plus hypercall's metadata) is either read or refused with a
 * message; never a crash, a leak or an unbounded recursion.  A DAC label it
 * finds is then judged as the hook's start path judges it.
 */
#include <stdint.h>
#include <string.h>

#include "domain-meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(hc_domain_meta_freep) struct hc_domain_meta *m = NULL;
        struct hc_error err = {0};

        if (hc_domain_meta_parse((const char *)data, size, "fuzz", &m, &err) < 0) {
                if (err.text[0] == '\0')
                        __builtin_trap();
                return 0;
        }
        if (!m->name || strlen(m->uuid) != 36)
                __builtin_trap();
        if (m->dac_label) {
                uid_t uid;
                gid_t gid;

                if (hc_dac_label_parse(m->dac_label, &uid, &gid) == 0 &&
                    (uid == (uid_t)-1 || gid == (gid_t)-1))
                        __builtin_trap(); /* "unchanged" to fchown(): never an owner */
        }
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Any byte string given to the policy reader is either a valid policy or a
 * clean error with a position; an accepted policy must also survive a
 * baseline computation over a small fixed fleet (its globs and settings are
 * used for real) and serialise canonically.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "baseline.h"
#include "fuzz-fleet.h"
#include "policy.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hc_record_set fleet;

static void load_fleet(void)
{
        struct hc_error err = {0};

        if (fleet.n > 0)
                return;
        for (size_t i = 0; i < FUZZ_FLEET_N; i++)
                if (hc_record_set_add(&fleet, fuzz_fleet_record(i), &err) < 0)
                        __builtin_trap(); /* the fixture itself must be valid */
        if (hc_record_set_sort(&fleet, &err) < 0)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct hc_policy_set set = {0};
        struct hc_policy *p = NULL;
        struct hc_error err = {0};

        load_fleet();
        if (hc_policy_parse((const char *)data, size, "fuzz.yaml", &p, &err) < 0) {
                /* Every refusal must say where and why. */
                if (strncmp(err.text, "fuzz.yaml", 9) != 0)
                        __builtin_trap();
                return 0;
        }
        if (!p->pool || p->n_include == 0)
                __builtin_trap();
        if (hc_policy_set_add(&set, p, &err) < 0)
                __builtin_trap();
        {
                _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
                struct hc_buf canon = {0};
                json_object *doc;

                if (hc_baseline_compute((const struct hc_record *const *)fleet.records, fleet.n,
                                        &set, NULL, FUZZ_NOW, &b, &err) < 0 ||
                    b->n_pools != 1)
                        __builtin_trap();
                doc = hc_baseline_to_json(b);
                if (!doc)
                        __builtin_trap();
                json_object_put(doc);
                if (hc_policy_canonical(p, &canon) < 0)
                        __builtin_trap();
                hc_buf_done(&canon);
        }
        hc_policy_set_done(&set);
        return 0;
}

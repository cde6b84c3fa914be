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
#include "policy.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fleet_json[] = {
        "{\"schema\": \"hypercall.host/v1\", \"host\": \"web-01\", \"kernel\": \"6.1.0-56-arm64\", "
        "\"probed_at\": \"2026-11-24T10:00:00Z\", \"midr\": null, \"kvm_mode\": null, "
        "\"registers\": {\"PSCI_VERSION\": {\"present\": true, \"value\": \"0x10001\"}, "
        "\"SMCCC_ARCH_WORKAROUND_1\": {\"present\": true, \"value\": \"0x2\"}, "
        "\"SMCCC_ARCH_WORKAROUND_2\": {\"present\": true, \"value\": \"0x0\"}, "
        "\"SMCCC_ARCH_WORKAROUND_3\": {\"present\": true, \"value\": \"0x1\"}, "
        "\"STD_BMAP\": {\"present\": true, \"value\": \"0x1\"}, "
        "\"STD_HYP_BMAP\": {\"present\": true, \"value\": \"0x1\"}, "
        "\"VENDOR_HYP_BMAP\": {\"present\": true, \"value\": \"0x3\"}, "
        "\"VENDOR_HYP_BMAP_2\": {\"present\": false}}, \"unknown_firmware_registers\": []}",
        "{\"schema\": \"hypercall.host/v1\", \"host\": \"web-02\", \"kernel\": \"5.10.0-32-arm64\", "
        "\"probed_at\": \"2026-11-24T10:00:00Z\", \"midr\": null, \"kvm_mode\": null, "
        "\"registers\": {\"PSCI_VERSION\": {\"present\": true, \"value\": \"0x10000\"}, "
        "\"SMCCC_ARCH_WORKAROUND_1\": {\"present\": true, \"value\": \"0x0\"}, "
        "\"SMCCC_ARCH_WORKAROUND_2\": {\"present\": true, \"value\": \"0x0\"}, "
        "\"SMCCC_ARCH_WORKAROUND_3\": {\"present\": true, \"value\": \"0x0\"}, "
        "\"STD_BMAP\": {\"present\": false}, \"STD_HYP_BMAP\": {\"present\": false}, "
        "\"VENDOR_HYP_BMAP\": {\"present\": false}, \"VENDOR_HYP_BMAP_2\": {\"present\": false}}, "
        "\"unknown_firmware_registers\": [\"0x6030000000140004\"]}",
        "{\"schema\": \"hypercall.host/v1\", \"host\": \"db-01\", \"kernel\": \"7.3.4+deb13-arm64\", "
        "\"probed_at\": \"2026-11-24T10:00:00Z\", \"midr\": null, \"kvm_mode\": null, "
        "\"registers\": {\"PSCI_VERSION\": {\"present\": true, \"value\": \"0x10003\"}, "
        "\"SMCCC_ARCH_WORKAROUND_1\": {\"present\": true, \"value\": \"0x2\"}, "
        "\"SMCCC_ARCH_WORKAROUND_2\": {\"present\": true, \"value\": \"0x3\"}, "
        "\"SMCCC_ARCH_WORKAROUND_3\": {\"present\": true, \"value\": \"0x2\"}, "
        "\"STD_BMAP\": {\"present\": true, \"value\": \"0x1\"}, "
        "\"STD_HYP_BMAP\": {\"present\": true, \"value\": \"0x1\"}, "
        "\"VENDOR_HYP_BMAP\": {\"present\": true, \"value\": \"0x3\"}, "
        "\"VENDOR_HYP_BMAP_2\": {\"present\": true, \"value\": \"0x3\", \"default\": \"0x0\"}}, "
        "\"unknown_firmware_registers\": []}",
};

static struct hc_record_set fleet;

static void load_fleet(void)
{
        struct hc_error err = {0};

        if (fleet.n > 0)
                return;
        for (size_t i = 0; i < sizeof(fleet_json) / sizeof(fleet_json[0]); i++) {
                struct hc_record *r = NULL;

                if (hc_record_parse(fleet_json[i], strlen(fleet_json[i]), "fleet", &r, &err) < 0 ||
                    hc_record_set_add(&fleet, r, &err) < 0)
                        __builtin_trap(); /* the fixture itself must be valid */
        }
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
                                        &set, NULL, 1795514400, &b, &err) < 0 ||
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

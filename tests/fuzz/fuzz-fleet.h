/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The small fixed fleet the fuzzers that need one compute over: three hosts
 * that differ where policies and migration checks look (a 6.1 host, a
 * pre-5.19 legacy host with an unknown firmware register, a 7.3 host whose
 * VENDOR_HYP_BMAP_2 has a default), all fresh at FUZZ_NOW.
 */
#include <stddef.h>
#include <string.h>

#include "record.h"

#define FUZZ_NOW 1795514400 /* 2026-11-24T10:00:00Z: every record is fresh */

static const char *const fuzz_fleet_json[] = {
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

#define FUZZ_FLEET_N (sizeof(fuzz_fleet_json) / sizeof(fuzz_fleet_json[0]))

/* Record i of the fleet; the fixture itself must be valid, so a refusal aborts. */
static inline struct hc_record *fuzz_fleet_record(size_t i)
{
        struct hc_record *r = NULL;
        struct hc_error err = {0};

        if (hc_record_parse(fuzz_fleet_json[i], strlen(fuzz_fleet_json[i]), "fleet", &r, &err) < 0)
                __builtin_trap();
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QEMU migrates every register KVM lists for a vCPU, not only the firmware
 * ones: a destination kernel that lacks one, or will not take an ID register
 * value, fails the migration after the operator committed to it.  These tests
 * prove the vCPU register set (hypercall.vcpu-regs/v1) reads strictly, and
 * that check-migration judges it as QEMU's cpu_post_load() and KVM do.  The
 * fixtures in tests/data/vcpu/ are real probes of the lab's emulated hosts
 * (-cpu max) under Debian's 6.1, 6.12 and 7.3 kernels; the verdicts they
 * give are the ones QEMU 7.2 gave in the lab (tests/lab, lab-l2-expect).
 */
#include <sys/stat.h>

#include "fleet-fixture.h"
#include "migration.h"
#include "vcpu-regs.h"

static struct hc_vcpu_regs *load(const char *host)
{
        struct hc_vcpu_regs *v = NULL;
        struct hc_error err = {0};
        char rel[64];

        snprintf(rel, sizeof(rel), "vcpu/%s.json", host);
        HC_ASSERT(hc_vcpu_regs_load(hc_test_data(rel), &v, &err) == 0, "%s", err.text);
        return v;
}

/* The registers check-migration names for a VM moving from -> to ("" when allowed). */
static char *verdict(const char *from, const char *to)
{
        _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *fv = load(from), *tv = load(to);
        _cleanup_(hc_record_freep) struct hc_record *fr = fx_host(from, "6.12", "neoverse-n1");
        _cleanup_(hc_record_freep) struct hc_record *tr = fx_host(to, "6.12", "neoverse-n1");
        _cleanup_(hc_migration_done) struct hc_migration m = {0};
        char *out;

        HC_ASSERT(hc_migration_check_vcpu(fr, fv, tr, tv, &m) == 0, "oom");
        HC_ASSERT(m.allowed == (m.n_reasons == 0), "allowed must mean no reasons");
        out = strdup(fx_reason_regs(&m));
        HC_ASSERT(out, "oom");
        return out;
}

HC_TEST(vcpu_regs__real_probe_roundtrips_byte_identical)
{
        _cleanup_free_ char *text = hc_test_read_data("vcpu/lab-6.12-max.json"), *again = NULL;
        _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *v = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_vcpu_regs_parse(text, strlen(text), "lab-6.12-max.json", &v, &err) == 0, "%s",
                  err.text);
        HC_ASSERT_INTEQ(v->n_ids, 269); /* QEMU 7.2's cpreg_vmstate_array_len on this host */
        HC_ASSERT(v->writable_masks &&
                      v->features == (HC_VCPU_PMU_V3 | HC_VCPU_PTRAUTH | HC_VCPU_SVE),
                  "6.12 reports writable masks; QEMU's vCPU has PMU, pointer auth and SVE");
        again = hc_vcpu_regs_to_string(v);
        HC_ASSERT_STREQ(again, text);
}

static const struct {
        const char *from, *to, *error;
} malformed[] = {
    {"hypercall.vcpu-regs/v1", "hypercall.vcpu-regs/v2",
     "bad.json: schema: expected \"hypercall.vcpu-regs/v1\", got \"hypercall.vcpu-regs/v2\""},
    {"\"writable_masks\": true", "\"writable_masks\": 1",
     "bad.json: writable_masks: expected true or false"},
    {"\"writable_masks\": true,", "\"writable_masks\": true, \"extra\": 1,",
     "bad.json: extra: unexpected key"},
    {"\"pmu-v3\"", "\"pmu\"",
     "bad.json: vcpu_features: entry 0: expected \"pmu-v3\", \"ptrauth\" or \"sve\""},
    {"\"ptrauth\"", "\"pmu-v3\"", "bad.json: vcpu_features: entry 1: \"pmu-v3\" twice"},
    {"\"0x6020000000110000\"", "\"0x6020000000110zz0\"",
     "bad.json: registers: entry 0: expected a hex string like \"0x603000000013c039\""},
    {"\"0x6020000000110000\"", "\"0x6030000000100000\"",
     "bad.json: registers: entry 0: 0x6030000000100000 is not a KVM/arm64 register QEMU migrates"},
    {"\"0x6020000000110001\"", "\"0x6020000000110000\"",
     "bad.json: registers: entry 1: expected IDs in ascending order without repeats"},
    {"\"0x603000000013c039\": {", "\"0x603000000013c7ff\": {",
     "bad.json: feature_ids.0x603000000013c7ff: expected the hex ID of a feature ID register"},
    {"\"0x603000000013c039\": {\n      \"value\"", "\"0x603000000013c039\": {\n      \"val\"",
     "bad.json: feature_ids.0x603000000013c039: unexpected key \"val\""},
};

HC_TEST(vcpu_regs__rejects_malformed_with_exact_error)
{
        _cleanup_free_ char *text = hc_test_read_data("vcpu/lab-6.12-max.json");

        for (size_t i = 0; i < ELEMENTSOF(malformed); i++) {
                _cleanup_free_ char *bad = hc_test_edited(text, malformed[i].from, malformed[i].to);
                struct hc_vcpu_regs *v = NULL;
                struct hc_error err = {0};
                int k = hc_vcpu_regs_parse(bad, strlen(bad), "bad.json", &v, &err);

                HC_ASSERT(k < 0 && !v, "case %zu: accepted a malformed register set", i);
                HC_ASSERT(strcmp(err.text, malformed[i].error) == 0,
                          "case %zu: expected error\n  %s\nobserved\n  %s", i, malformed[i].error,
                          err.text);
        }
}

/* Without writable masks (before 6.7) KVM refuses any other ID value, so none may be claimed. */
HC_TEST(vcpu_regs__writable_bits_need_writable_masks)
{
        _cleanup_free_ char *text = hc_test_read_data("vcpu/lab-6.1-max.json");
        _cleanup_free_ char *bad =
            hc_test_edited(text, "\"writable\": \"0x0\"", "\"writable\": \"0xf\"");
        struct hc_vcpu_regs *v = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_vcpu_regs_parse(bad, strlen(bad), "bad.json", &v, &err) < 0 && !v, "accepted");
        HC_ASSERT(strstr(err.text, "writable bits without \"writable_masks\": true"), "observed %s",
                  err.text);
}

/* json-c would keep the second "value": a repeated key is refused where it stands. */
HC_TEST(vcpu_regs__duplicate_key_refused_with_position)
{
        _cleanup_free_ char *text = hc_test_read_data("vcpu/lab-7-max.json");
        _cleanup_free_ char *bad = hc_test_edited(text, "\"value\": \"0x11010211122\",",
                                                  "\"value\": \"0x11010211122\", "
                                                  "\"value\": \"0x0\",");
        struct hc_vcpu_regs *v = NULL;
        struct hc_error err = {0};

        HC_ASSERT_INTEQ(hc_vcpu_regs_parse(bad, strlen(bad), "bad.json", &v, &err), -EINVAL);
        HC_ASSERT(!v, "nothing half-loaded");
        HC_ASSERT_STREQ(err.text, "bad.json:492:33: duplicate key \"value\"");
}

/* Every listed feature ID register needs its value: without it no ID rule can be judged. */
HC_TEST(vcpu_regs__listed_feature_id_without_value_refused)
{
        _cleanup_free_ char *text = hc_test_read_data("vcpu/lab-7-max.json");
        /* Its entry dropped (renaming it to a neighbour's ID would now be a duplicate key). */
        _cleanup_free_ char *bad = hc_test_edited(text,
                                                  "\"0x603000000013c039\": {\n"
                                                  "      \"value\": \"0x11010211122\",\n"
                                                  "      \"writable\": \"0xffffffff0ffff00f\"\n"
                                                  "    },\n",
                                                  "");
        struct hc_vcpu_regs *v = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_vcpu_regs_parse(bad, strlen(bad), "bad.json", &v, &err) < 0 && !v, "accepted");
        HC_ASSERT(strstr(err.text, "not in \"registers\"") ||
                      strstr(err.text, "missing ID_AA64MMFR1_EL1"),
                  "observed %s", err.text);
}

/* A register set lives beside the records as DIR/vcpu/HOST.json; none is not an error, a stranger's
 * is. */
HC_TEST(vcpu_regs__loaded_beside_records_by_host_name)
{
        _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *v = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_vcpu_regs_load_beside(HC_TEST_DATA_DIR, "lab-6.1-max", &v, &err) == 0 && v,
                  "%s", err.text);
        hc_vcpu_regs_free(TAKE_PTR(v));
        HC_ASSERT(hc_vcpu_regs_load_beside(HC_TEST_DATA_DIR, "no-such-host", &v, &err) == 0 && !v,
                  "a host without a register set is judged on firmware registers, not refused");
        HC_ASSERT(hc_vcpu_regs_load_beside(HC_TEST_DATA_DIR "/vcpu/..", "lab-6.1-max", &v, &err) ==
                          0 &&
                      v,
                  "%s", err.text);
}

HC_TEST(vcpu_regs__same_kernel_migrates)
{
        _cleanup_free_ char *a = verdict("lab-6.1-max", "lab-6.1-max"),
                            *b = verdict("lab-7-max", "lab-7-max");

        HC_ASSERT_STREQ(a, "");
        HC_ASSERT_STREQ(b, "");
}

/* 6.12 lists TCR2_EL1, PIRE0_EL1, PIR_EL1 for this CPU; 7.3 does not: QEMU refuses 6.12 -> 7.3. */
HC_TEST(vcpu_regs__register_missing_on_destination_refuses)
{
        _cleanup_free_ char *v = verdict("lab-6.12-max", "lab-7-max");

        HC_ASSERT_STREQ(v, "TCR2_EL1,PIRE0_EL1,PIR_EL1");
}

/* Registers only the destination lists keep its own value: 6.1 -> 7.3 moved in the lab. */
HC_TEST(vcpu_regs__register_only_on_destination_allowed)
{
        _cleanup_free_ char *v = verdict("lab-6.1-max", "lab-7-max");

        HC_ASSERT_STREQ(v, "");
}

/* 6.1's ID_AA64MMFR1_EL1 differs from 6.12's in a bit 6.12 does not let a VMM write: KVM said
 * EINVAL. */
HC_TEST(vcpu_regs__id_value_outside_writable_mask_refuses)
{
        _cleanup_free_ char *v = verdict("lab-6.1-max", "lab-6.12-max");

        HC_ASSERT_STREQ(v, "ID_AA64MMFR1_EL1");
}

/* Firmware registers are the catalog's to judge: VENDOR_HYP_BMAP_2 is not reported twice. */
HC_TEST(vcpu_regs__firmware_registers_left_to_the_catalog)
{
        _cleanup_free_ char *v = verdict("lab-7-max", "lab-6.12-max");

        HC_ASSERT_STREQ(v, "PMMIR_EL1");
}

static struct hc_vcpu_regs *one_id_register(uint64_t id, uint64_t value, uint64_t writable)
{
        struct hc_vcpu_regs *v = hc_vcpu_regs_new();

        HC_ASSERT(v && (v->ids = calloc(1, sizeof(*v->ids))) &&
                      (v->feature_ids = calloc(1, sizeof(*v->feature_ids))),
                  "oom");
        v->host = strdup("x");
        v->ids[v->n_ids++] = id;
        v->feature_ids[v->n_feature_ids++] = (struct hc_feature_id){id, value, writable};
        v->writable_masks = writable != 0;
        return v;
}

static size_t reasons(uint64_t id, uint64_t src, uint64_t dst, uint64_t writable)
{
        _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *fv = one_id_register(id, src, writable);
        _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *tv = one_id_register(id, dst, writable);
        _cleanup_(hc_record_freep) struct hc_record *fr = fx_host("a", "6.12", "neoverse-n1");
        _cleanup_(hc_record_freep) struct hc_record *tr = fx_host("b", "7.3", "neoverse-n1");
        _cleanup_(hc_migration_done) struct hc_migration m = {0};

        HC_ASSERT(hc_migration_check_vcpu(fr, fv, tr, tv, &m) == 0, "oom");
        return m.n_reasons;
}

#define ID_AA64PFR0 0x603000000013c020ULL
#define CLIDR       0x603000000013c801ULL

/* KVM lets a VMM lower a writable ID field (arm64_check_features), never raise it. */
HC_TEST(vcpu_regs__writable_id_field_may_only_be_lower)
{
        HC_ASSERT_INTEQ(reasons(ID_AA64PFR0, 0x1, 0x2, 0xf), 0);
        HC_ASSERT_INTEQ(reasons(ID_AA64PFR0, 0x2, 0x1, 0xf), 1);
}

/* ID_AA64PFR0_EL1.FP is signed: 0xf (-1, no FP) is below 0 and may go to a host with FP. */
HC_TEST(vcpu_regs__signed_id_field_ordered_as_signed)
{
        HC_ASSERT_INTEQ(reasons(ID_AA64PFR0, 0xf0000, 0x00000, 0xf0000), 0);
        HC_ASSERT_INTEQ(reasons(ID_AA64PFR0, 0x00000, 0xf0000, 0xf0000), 1);
}

/* CLIDR_EL1 has its own setter: any value within the writable mask (6.1 -> 7.3 moved with 0x3 vs
 * 0x1). */
HC_TEST(vcpu_regs__cache_geometry_takes_any_writable_value)
{
        HC_ASSERT_INTEQ(reasons(CLIDR, 0x2000023, 0x2000021, 0xffffffff), 0);
        HC_ASSERT_INTEQ(reasons(CLIDR, 0x2000023, 0x2000021, 0x0), 1);
}

/* The catalog names what it knows and spells the rest out, so every reason is readable. */
HC_TEST(vcpu_regs__registers_named_for_messages)
{
        char buf[HC_REG_TEXT_MAX];

        HC_ASSERT_STREQ(hc_reg_text(0x603000000013c039ULL, buf, sizeof(buf)), "ID_AA64MMFR1_EL1");
        HC_ASSERT_STREQ(hc_reg_text(0x603000000013c7fdULL, buf, sizeof(buf)), "S3_0_C15_C15_5");
        HC_ASSERT_STREQ(hc_reg_text(0x6020000000110003ULL, buf, sizeof(buf)),
                        "CCSIDR_EL1[CSSELR=3]");
        HC_ASSERT_STREQ(hc_reg_text(0x6030000000160003ULL, buf, sizeof(buf)), "VENDOR_HYP_BMAP_2");
}

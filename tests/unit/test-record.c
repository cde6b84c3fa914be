/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host records are the contract between the probe, the fleet store and every
 * tool that reads them.  These tests prove that a record round-trips exactly,
 * that "absent" is its own state (a pre-5.19 kernel has no bitmap registers,
 * which is not the same as offering nothing), and that every malformed record
 * is refused whole with a message naming the file and the field.
 */
#include <errno.h>
#include <unistd.h>

#include "fileio.h"
#include "probe.h"
#include "hc-test.h"
#include "record.h"

HC_TEST(record__roundtrips_byte_identical)
{
        _cleanup_free_ char *text = hc_test_read_data("records/web-01.json"), *again = NULL;
        _cleanup_(hc_record_freep) struct hc_record *r = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_record_parse(text, strlen(text), "web-01.json", &r, &err) == 0, "%s", err.text);
        again = hc_record_to_string(r);
        /* Same content; our writer's layout is the canonical one. */
        _cleanup_(hc_record_freep) struct hc_record *r2 = NULL;
        HC_ASSERT(hc_record_parse(again, strlen(again), "again", &r2, &err) == 0, "%s", err.text);
        _cleanup_free_ char *third = hc_record_to_string(r2);
        HC_ASSERT_STREQ(third, again);
        HC_ASSERT_STREQ(r->host, "web-01");
        HC_ASSERT_INTEQ(r->probed_at_unix, 1795514400);
}

HC_TEST(record__pre_5_19_bitmaps_absent_not_zero)
{
        _cleanup_free_ char *text = hc_test_read_data("records/web-01.json");
        _cleanup_free_ char *legacy = NULL;
        _cleanup_(hc_record_freep) struct hc_record *r = NULL;
        struct hc_error err = {0};
        char *t = text, *next;
        const char *names[] = {"\"STD_BMAP\":                {\"present\": true, \"value\": \"0x1\"}",
                               "\"STD_HYP_BMAP\":            {\"present\": true, \"value\": \"0x1\"}",
                               "\"VENDOR_HYP_BMAP\":         {\"present\": true, \"value\": \"0x3\"}"};
        const char *absent[] = {"\"STD_BMAP\": {\"present\": false}",
                                "\"STD_HYP_BMAP\": {\"present\": false}",
                                "\"VENDOR_HYP_BMAP\": {\"present\": false}"};

        text = NULL;
        for (size_t i = 0; i < 3; i++) {
                next = hc_test_edited(t, names[i], absent[i]);
                free(t);
                t = next;
        }
        legacy = t;
        HC_ASSERT(hc_record_parse(legacy, strlen(legacy), "legacy.json", &r, &err) == 0, "%s",
                  err.text);
        HC_ASSERT(hc_record_is_legacy(r), "a record without bitmap registers must be legacy");
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_register *reg = hc_catalog_get(i);
                if (reg->kind == HC_KIND_BITMAP)
                        HC_ASSERT(!r->regs[i].present, "%s must be absent", reg->name);
        }
        _cleanup_free_ char *out = hc_record_to_string(r);
        HC_ASSERT(strstr(out, "\"STD_BMAP\": {\n      \"present\": false\n    }"),
                  "absent must be written as present:false without a value:\n%s", out);
}

HC_TEST(record__default_kept_for_bitmap_with_zero_reset)
{
        _cleanup_free_ char *text = hc_test_read_data("records/web-01.json"), *t = NULL;
        _cleanup_(hc_record_freep) struct hc_record *r = NULL;
        struct hc_error err = {0};
        int i = hc_catalog_find("VENDOR_HYP_BMAP_2");

        t = hc_test_edited(text, "\"VENDOR_HYP_BMAP_2\":       {\"present\": false}",
                   "\"VENDOR_HYP_BMAP_2\": {\"present\": true, \"value\": \"0x3\", \"default\": \"0x0\"}");
        HC_ASSERT(hc_record_parse(t, strlen(t), "7x.json", &r, &err) == 0, "%s", err.text);
        HC_ASSERT(i >= 0 && r->regs[i].present && r->regs[i].value == 0x3 && r->regs[i].has_default &&
                          r->regs[i].default_value == 0,
                  "VENDOR_HYP_BMAP_2 must be present, value 0x3, default 0x0");
}

/* Negative table: each edit of the valid fixture, and the exact error it must give. */
static const struct {
        const char *from, *to, *error;
} malformed[] = {
        {"\"unknown_firmware_registers\": []\n}", "\"unknown_firmware_registers\": [",
         "bad.json:19:1: unexpected end of input: truncated JSON"},
        {"\"schema\": \"hypercall.host/v1\"", "\"schema\": \"hypercall.host/v2\"",
         "bad.json: schema: expected \"hypercall.host/v1\", got \"hypercall.host/v2\""},
        {"\"host\": \"web-01\"", "\"host\": 7", "bad.json: host: expected a string"},
        {"\"host\": \"web-01\"", "\"host\": \"../etc\"",
         "bad.json: host: expected a host name of letters, digits, '.', '-', '_', got \"../etc\""},
        {"\"STD_BMAP\":  ", "\"STD_BMAPX\":",
         "bad.json: registers: unknown register \"STD_BMAPX\""},
        {"    \"VENDOR_HYP_BMAP_2\":       {\"present\": false}\n", "    \"EXTRA\": 1\n",
         "bad.json: registers: unknown register \"EXTRA\""},
        {",\n    \"VENDOR_HYP_BMAP_2\":       {\"present\": false}", "",
         "bad.json: registers: missing register \"VENDOR_HYP_BMAP_2\""},
        {"\"STD_BMAP\":                {\"present\": true, \"value\": \"0x1\"}",
         "\"STD_BMAP\": {\"present\": true, \"value\": \"0x3\"}",
         "bad.json: registers.STD_BMAP: value 0x3: expected bits within mask 0x1"},
        {"\"STD_BMAP\":                {\"present\": true, \"value\": \"0x1\"}",
         "\"STD_BMAP\": {\"present\": true, \"value\": \"1\"}",
         "bad.json: registers.STD_BMAP: value: expected a hex string like \"0x1\", got \"1\""},
        {"\"STD_BMAP\":                {\"present\": true, \"value\": \"0x1\"}",
         "\"STD_BMAP\": {\"present\": true, \"value\": 1}",
         "bad.json: registers.STD_BMAP: value: expected a hex string like \"0x1\", got 1"},
        {"{\"present\": true, \"value\": \"0x10001\"}", "{\"present\": true, \"value\": \"0x10004\"}",
         "bad.json: registers.PSCI_VERSION: value 0x10004: expected a PSCI version KVM knows (0x1, 0x2, 0x10000 to 0x10003)"},
        {"\"SMCCC_ARCH_WORKAROUND_1\": {\"present\": true, \"value\": \"0x2\"}",
         "\"SMCCC_ARCH_WORKAROUND_1\": {\"present\": true, \"value\": \"0x3\"}",
         "bad.json: registers.SMCCC_ARCH_WORKAROUND_1: value 0x3: expected a workaround level from 0 to 2"},
        {"\"SMCCC_ARCH_WORKAROUND_1\": {\"present\": true, \"value\": \"0x2\"}",
         "\"SMCCC_ARCH_WORKAROUND_1\": {\"present\": true}",
         "bad.json: registers.SMCCC_ARCH_WORKAROUND_1: missing \"value\""},
        {"\"VENDOR_HYP_BMAP_2\":       {\"present\": false}",
         "\"VENDOR_HYP_BMAP_2\": {\"present\": false, \"value\": \"0x0\"}",
         "bad.json: registers.VENDOR_HYP_BMAP_2: unexpected key \"value\" for an absent register"},
        {"\"VENDOR_HYP_BMAP_2\":       {\"present\": false}", "\"VENDOR_HYP_BMAP_2\": {}",
         "bad.json: registers.VENDOR_HYP_BMAP_2: expected \"present\": true or false"},
        {"\"kvm_mode\": \"vhe\"", "\"kvm_mode\": \"fast\"",
         "bad.json: kvm_mode: expected null, \"vhe\", \"nvhe\", \"hvhe\" or \"protected\", got \"fast\""},
        {"\"probed_at\": \"2026-11-24T10:00:00Z\"", "\"probed_at\": \"yesterday\"",
         "bad.json: probed_at: expected UTC time like \"2026-11-24T10:00:00Z\", got \"yesterday\""},
        {"\"unknown_firmware_registers\": []", "\"unknown_firmware_registers\": [\"0x6030000000160000\"]",
         "bad.json: unknown_firmware_registers: entry 0: STD_BMAP is a known register, not an unknown one"},
        {"\"unknown_firmware_registers\": []", "\"unknown_firmware_registers\": [\"0x6030000000100000\"]",
         "bad.json: unknown_firmware_registers: entry 0: 0x6030000000100000 is not a firmware register ID"},
        {"\"midr\": \"0x414fd0c1\",", "\"midr\": \"0x414fd0c1\", \"extra\": 1,",
         "bad.json: extra: unexpected key"},
        {"  \"midr\": \"0x414fd0c1\",\n", "", "bad.json: midr: missing"},
        {"\"unknown_firmware_registers\": []\n}", "\"unknown_firmware_registers\": []\n} {}",
         "bad.json:19:3: invalid JSON: unexpected character"},
};

HC_TEST(record__rejects_malformed_with_exact_error)
{
        _cleanup_free_ char *text = hc_test_read_data("records/web-01.json");

        for (size_t i = 0; i < ELEMENTSOF(malformed); i++) {
                _cleanup_free_ char *bad = hc_test_edited(text, malformed[i].from, malformed[i].to);
                struct hc_record *r = NULL;
                struct hc_error err = {0};
                int k = hc_record_parse(bad, strlen(bad), "bad.json", &r, &err);

                HC_ASSERT(k < 0 && !r, "case %zu: accepted a malformed record", i);
                HC_ASSERT(strcmp(err.text, malformed[i].error) == 0,
                          "case %zu: expected error\n  %s\nobserved\n  %s", i, malformed[i].error,
                          err.text);
        }
}

/*
 * json-c keeps the last of two equal keys: without this check a second "STD_BMAP" would
 * silently replace the first.  The error points at the second one, as written.
 */
HC_TEST(record__duplicate_key_refused_with_position)
{
        static const struct {
                const char *from, *to, *error;
        } cases[] = {
            {"\"VENDOR_HYP_BMAP\":  ",
             "\"STD_BMAP\": {\"present\": false},\n    \"VENDOR_HYP_BMAP\":  ",
             "bad.json:15:5: duplicate key \"STD_BMAP\""},
            {"\"kvm_mode\": \"vhe\",", "\"kvm_mode\": \"vhe\", \"host\": \"web-02\",",
             "bad.json:7:22: duplicate key \"host\""},
            {"\"value\": \"0x10001\"}", "\"value\": \"0x10001\", \"value\": \"0x10002\"}",
             "bad.json:9:70: duplicate key \"value\""},
            /* The same key spelled with an escape is the same key to json-c. */
            {"\"VENDOR_HYP_BMAP\":  ",
             "\"\\u0053TD_BMAP\": {\"present\": false},\n    \"VENDOR_HYP_BMAP\":  ",
             "bad.json:15:5: duplicate key \"\\u0053TD_BMAP\""},
        };
        _cleanup_free_ char *text = hc_test_read_data("records/web-01.json");

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *bad = hc_test_edited(text, cases[i].from, cases[i].to);
                struct hc_record *r = NULL;
                struct hc_error err = {0};

                HC_ASSERT_INTEQ(hc_record_parse(bad, strlen(bad), "bad.json", &r, &err), -EINVAL);
                HC_ASSERT(!r, "case %zu: nothing half-loaded", i);
                HC_ASSERT_STREQ(err.text, cases[i].error);
        }
}

HC_TEST(record__save_is_atomic_and_reloads)
{
        _cleanup_free_ char *text = hc_test_read_data("records/web-01.json");
        _cleanup_(hc_record_freep) struct hc_record *r = NULL, *back = NULL;
        struct hc_error err = {0};
        char dir[] = "/tmp/hc-record-XXXXXX", path[64];

        HC_ASSERT(mkdtemp(dir), "mkdtemp");
        snprintf(path, sizeof(path), "%s/web-01.json", dir);
        HC_ASSERT(hc_record_parse(text, strlen(text), "web-01.json", &r, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_record_save(r, path, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_record_load(path, &back, &err) == 0, "%s", err.text);
        HC_ASSERT_STREQ(back->kernel, "6.1.0-56-arm64");
        HC_ASSERT(unlink(path) == 0 && rmdir(dir) == 0, "temp dir must hold only the record");
}

HC_TEST(record__set_refuses_duplicate_host)
{
        _cleanup_free_ char *text = hc_test_read_data("records/web-01.json");
        _cleanup_(hc_record_set_done) struct hc_record_set set = {0};
        struct hc_error err = {0};

        for (int i = 0; i < 2; i++) {
                struct hc_record *r = NULL;
                HC_ASSERT(hc_record_parse(text, strlen(text), i ? "b.json" : "a.json", &r, &err) == 0,
                          "%s", err.text);
                HC_ASSERT(hc_record_set_add(&set, r, &err) == 0, "%s", err.text);
        }
        HC_ASSERT_INTEQ(hc_record_set_sort(&set, &err), -EEXIST);
        HC_ASSERT_STREQ(err.text, "b.json: host \"web-01\" already recorded in a.json");
}

HC_TEST(record__probe_refuses_clearly_off_arm64)
{
#if defined(__aarch64__)
        printf("record__probe_refuses_clearly_off_arm64: skipped: this is an arm64 build host "
               "(the lab tier proves the probe there)\n");
#else
        _cleanup_(hc_record_freep) struct hc_record *r = NULL;
        struct hc_probe_options opts = {0};
        struct hc_error err = {0};

        HC_ASSERT(hc_probe(&opts, &r, &err) < 0 && !r, "probe must fail off arm64");
        HC_ASSERT(strncmp(err.text, "not an arm64 KVM host", 21) == 0, "observed: %s", err.text);
#endif
}

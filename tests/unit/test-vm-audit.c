/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A running VM keeps the register values it started with.  When its pool
 * narrows under it, the operator must learn which hosts it can no longer
 * migrate to before a maintenance drain tries.  These tests prove the audit
 * verdicts: current values, older-but-still-accepted values, a narrowed pool
 * naming the hosts that cannot take the VM and why, and the findings for a
 * vanished pool, an untracked VM, a left-behind plan and an unreadable one.
 */
#include <errno.h>
#include <string.h>

#include "baseline-file.h"
#include "fileio.h"
#include "hc-test.h"
#include "jsonutil.h"
#include "vm-audit.h"

#define UUID "6f1c2a9e-4b7d-4c1e-9a53-0d2e8f7b1c44"

static struct hc_baseline_file *baseline(void)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        struct hc_baseline_file *f = NULL;
        struct hc_error err = {0};
        size_t len;

        HC_ASSERT(hc_read_file(hc_test_data("baseline/computed.json"), &text, &len, &err) == 0, "%s",
                  err.text);
        HC_ASSERT(hc_json_parse(text, len, 32, "computed.json", &doc, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_baseline_file_update(NULL, doc, NULL, 0, 0, &f, NULL, &err) == 0, "%s", err.text);
        return f;
}

/* web-01 offers everything; web-02 lacks trng (STD_BMAP 0x0) and ptp. */
static void records(struct hc_record *out[2])
{
        struct hc_error err = {0};
        int std = hc_catalog_find("STD_BMAP"), ven = hc_catalog_find("VENDOR_HYP_BMAP");

        for (int i = 0; i < 2; i++) {
                HC_ASSERT(hc_record_load(hc_test_data("records/web-01.json"), &out[i], &err) == 0, "%s",
                          err.text);
        }
        free(out[1]->host);
        out[1]->host = strdup("web-02");
        free(out[1]->kernel);
        out[1]->kernel = strdup("5.19.0-old");
        out[1]->regs[std].value = 0x0;
        out[1]->regs[ven].value = 0x1;
}

/* hc_vm_lookup over an array of two records. */
static bool lookup2(const void *userdata, const char *host, struct hc_store_record *out)
{
        struct hc_record *const *recs = userdata;

        for (int i = 0; i < 2; i++)
                if (strcmp(recs[i]->host, host) == 0) {
                        out->rec = *recs[i];
                        return true;
                }
        return false;
}

static void vm_with_pool_values(struct hc_vm_state *vm, const struct hc_baseline_pool *p)
{
        *vm = (struct hc_vm_state){.uuid = UUID, .name = "web-vm", .running = 1, .source = "plan",
                                   .pool = p->pool, .generation = p->generation, .digest = p->digest};
        memcpy(vm->regs, p->regs, sizeof(vm->regs));
}

static const char *str(json_object *o, const char *key)
{
        json_object *v;

        HC_ASSERT(json_object_object_get_ex(o, key, &v), "no %s", key);
        return json_object_get_string(v);
}

HC_TEST(vm_audit__current_values_are_current)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *bf = baseline();
        struct hc_record *recs[2];
        struct hc_vm_state vm;
        enum hc_vm_verdict v;
        json_object *o;

        records(recs);
        vm_with_pool_values(&vm, hc_baseline_file_find(bf, "web"));
        o = hc_vm_audit(&vm, bf, lookup2, recs, &v);
        HC_ASSERT(o, "oom");
        HC_ASSERT_STREQ(hc_vm_verdict_to_string(v), "current");
        HC_ASSERT(!hc_vm_verdict_is_finding(v), "current is no finding");
        HC_ASSERT_STREQ(str(o, "message"), "has pool web's current values (generation 1)");
        json_object_put(o);
        hc_record_free(recs[0]);
        hc_record_free(recs[1]);
}

HC_TEST(vm_audit__narrowed_pool_names_hosts_the_vm_cannot_reach)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *bf = baseline();
        struct hc_record *recs[2];
        struct hc_vm_state vm;
        enum hc_vm_verdict v;
        json_object *o, *cannot, *hosts, *first;
        int std = hc_catalog_find("STD_BMAP");

        records(recs);
        /* Started before web-02 joined: trng was exposed then. */
        vm_with_pool_values(&vm, hc_baseline_file_find(bf, "web"));
        vm.regs[std].value = 0x1;
        vm.digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        o = hc_vm_audit(&vm, bf, lookup2, recs, &v);
        HC_ASSERT(o, "oom");
        HC_ASSERT_STREQ(hc_vm_verdict_to_string(v), "narrowed");
        HC_ASSERT(hc_vm_verdict_is_finding(v), "narrowed is a finding");
        HC_ASSERT_STREQ(str(o, "message"),
                        "pool web narrowed under the VM (generation 1 -> 1): it can migrate to 1 of 2 "
                        "members only");
        json_object_object_get_ex(o, "cannot_migrate_to", &cannot);
        json_object_object_get_ex(cannot, "hosts", &hosts);
        HC_ASSERT_INTEQ(json_object_array_length(hosts), 1);
        first = json_object_array_get_idx(hosts, 0);
        HC_ASSERT_STREQ(str(first, "host"), "web-02");
        HC_ASSERT_STREQ(str(first, "kernel"), "5.19.0-old");
        HC_ASSERT_STREQ(str(first, "reason"), "offers STD_BMAP 0x0, the VM carries 0x1");
        json_object_put(o);
        hc_record_free(recs[0]);
        hc_record_free(recs[1]);
}

HC_TEST(vm_audit__older_values_every_member_accepts_are_compatible)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *bf = baseline();
        struct hc_record *recs[2];
        struct hc_vm_state vm;
        enum hc_vm_verdict v;
        json_object *o;
        int ven = hc_catalog_find("VENDOR_HYP_BMAP");

        records(recs);
        vm_with_pool_values(&vm, hc_baseline_file_find(bf, "web"));
        vm.regs[ven].value = 0x0; /* less than the pool offers now */
        vm.digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        o = hc_vm_audit(&vm, bf, lookup2, recs, &v);
        HC_ASSERT_STREQ(hc_vm_verdict_to_string(v), "compatible");
        json_object_put(o);
        hc_record_free(recs[0]);
        hc_record_free(recs[1]);
}

HC_TEST(vm_audit__findings_for_missing_pool_untracked_stale_unreadable)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *bf = baseline();
        struct hc_vm_state vm;
        enum hc_vm_verdict v;
        json_object *o;

        vm = (struct hc_vm_state){.uuid = UUID, .running = 1, .source = "plan", .pool = "gone",
                                  .generation = 3};
        o = hc_vm_audit(&vm, bf, NULL, NULL, &v);
        HC_ASSERT_STREQ(hc_vm_verdict_to_string(v), "pool-missing");
        HC_ASSERT_STREQ(str(o, "message"), "pool gone is not in the baseline");
        json_object_put(o);

        vm = (struct hc_vm_state){.uuid = UUID, .running = 1};
        o = hc_vm_audit(&vm, bf, NULL, NULL, &v);
        HC_ASSERT_STREQ(hc_vm_verdict_to_string(v), "untracked");
        json_object_put(o);

        vm = (struct hc_vm_state){.uuid = UUID, .running = 0, .source = "plan", .pool = "web"};
        o = hc_vm_audit(&vm, bf, NULL, NULL, &v);
        HC_ASSERT_STREQ(hc_vm_verdict_to_string(v), "stale-plan");
        HC_ASSERT(!hc_vm_verdict_is_finding(v), "a left-behind plan is housekeeping, not a finding");
        json_object_put(o);

        vm = (struct hc_vm_state){.uuid = UUID, .running = -1, .source = "plan",
                                  .error = "x.plan:3: expected \"mode start|incoming\", got \"mode\""};
        o = hc_vm_audit(&vm, bf, NULL, NULL, &v);
        HC_ASSERT_STREQ(hc_vm_verdict_to_string(v), "unreadable");
        HC_ASSERT_STREQ(str(o, "message"),
                        "cannot tell what the VM carries: x.plan:3: expected \"mode start|incoming\", got \"mode\"");
        json_object_put(o);
}

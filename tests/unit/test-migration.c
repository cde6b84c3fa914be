/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A migration fails on the destination, after the operator committed to it,
 * when the VM carries a firmware register the destination cannot take.  These
 * tests prove check-migration judges it the way the destination kernel and
 * QEMU will (kvm-abi.md §8): presence of every carried register, bitmaps as
 * subsets, PSCI known there, workaround levels never dropping (WORKAROUND_2
 * after KVM's mapping), unknown registers present on both sides; that it is
 * directional; and that the pool baseline is what makes members compatible.
 * The expected verdicts are the measured §8 table.
 */
#include "fleet-fixture.h"
#include "migration.h"

static struct hc_migration judge(const struct hc_pool_result *pool, const struct hc_record *from,
                                 const struct hc_record *to)
{
        struct hc_migration m = {0};

        HC_ASSERT(hc_migration_check(pool, from, to, &m) == 0, "oom");
        return m;
}

struct pool_fx {
        struct hc_record_set records;
        struct hc_policy_set policies;
        struct hc_baseline *b;
};

static void pool_fx_done(struct pool_fx *f)
{
        hc_baseline_free(f->b);
        hc_record_set_done(&f->records);
        hc_policy_set_done(&f->policies);
}

static const struct hc_record *rec(const struct pool_fx *f, const char *host)
{
        const struct hc_record *r = hc_record_set_find(&f->records, host);

        HC_ASSERT(r, "no record %s", host);
        return r;
}

HC_TEST(migration__older_to_newer_allowed)
{
        _cleanup_(hc_record_freep) struct hc_record *a = fx_host("a", "6.12", "neoverse-n1");
        _cleanup_(hc_record_freep) struct hc_record *b = fx_host("b", "7.3", "neoverse-n1");
        _cleanup_(hc_record_freep) struct hc_record *c = fx_host("c", "6.1", "neoverse-n1");
        struct hc_migration m1 = judge(NULL, a, b), m2 = judge(NULL, c, a), m3 = judge(NULL, a, c);

        HC_ASSERT(m1.allowed, "6.12 -> 7.3 works as is (§10.3): %s", fx_reason_regs(&m1));
        HC_ASSERT(m2.allowed, "6.1 -> 6.12 ok (§8): %s", fx_reason_regs(&m2));
        HC_ASSERT(m3.allowed, "6.12 -> 6.1 ok (§8): %s", fx_reason_regs(&m3));
        hc_migration_done(&m1);
        hc_migration_done(&m2);
        hc_migration_done(&m3);
}

HC_TEST(migration__newer_to_older_fails_unless_pinned)
{
        _cleanup_(pool_fx_done) struct pool_fx f = {0};
        struct hc_migration unpinned, pinned;

        fx_add(&f.records, fx_host("db-01", "6.12", "neoverse-n1"));
        fx_add(&f.records, fx_host("db-02", "7.3", "neoverse-n1"));
        fx_pool(&f.policies, "db", "db-*", NULL);
        f.b = fx_compute(&f.records, &f.policies);

        unpinned = judge(NULL, rec(&f, "db-02"), rec(&f, "db-01"));
        HC_ASSERT(!unpinned.allowed, "an unpinned 7.3 VM cannot go to 6.12");
        HC_ASSERT_STREQ(fx_reason_regs(&unpinned), "PSCI_VERSION,VENDOR_HYP_BMAP_2");
        HC_ASSERT_STREQ(unpinned.reasons[0].message,
                        "the VM runs PSCI 1.3 (0x10003) but db-01 (6.12.117+deb12-arm64) knows at "
                        "most 1.1 (0x10001)");

        /* Under the pool baseline PSCI is pinned to 1.1; BMAP_2 (0) still travels. */
        pinned = judge(fx_find(f.b, "db"), rec(&f, "db-02"), rec(&f, "db-01"));
        HC_ASSERT(!pinned.allowed, "BMAP_2 is carried and missing on 6.12");
        HC_ASSERT_STREQ(fx_reason_regs(&pinned), "VENDOR_HYP_BMAP_2");
        HC_ASSERT_STREQ(pinned.reasons[0].message,
                        "db-01 (6.12.117+deb12-arm64) has no VENDOR_HYP_BMAP_2; the VM carries it "
                        "(0x0) from db-02 (7.3.4+deb13-arm64) and the destination cannot load it "
                        "(only a QEMU that tolerates a missing register whose value is 0 accepts "
                        "it)");
        hc_migration_done(&unpinned);
        hc_migration_done(&pinned);
}

HC_TEST(migration__legacy_host_is_one_way)
{
        _cleanup_(hc_record_freep) struct hc_record *old = fx_host("old", "5.10", "neoverse-n1");
        _cleanup_(hc_record_freep) struct hc_record *new = fx_host("new", "6.1", "neoverse-n1");
        struct hc_migration up = judge(NULL, old, new), down = judge(NULL, new, old);

        HC_ASSERT(up.allowed, "5.10 -> 6.1 with equal WA levels works: %s", fx_reason_regs(&up));
        HC_ASSERT(!down.allowed, "6.1 -> 5.10 fails: no bitmaps there (§10.2)");
        /* An unpinned 6.1 VM also runs PSCI 1.1, which 5.10 does not know. */
        HC_ASSERT_STREQ(fx_reason_regs(&down), "PSCI_VERSION,STD_BMAP,STD_HYP_BMAP,VENDOR_HYP_BMAP");
        hc_migration_done(&up);
        hc_migration_done(&down);
}

HC_TEST(migration__workaround_level_must_not_drop)
{
        /* -cpu max: 5.10 reads WA3 = 2, newer kernels 0 (§8 footnote 1). */
        _cleanup_(hc_record_freep) struct hc_record *old = fx_host("old", "5.10", "max");
        _cleanup_(hc_record_freep) struct hc_record *new = fx_host("new", "6.12", "max");
        struct hc_migration up = judge(NULL, old, new);

        HC_ASSERT(!up.allowed, "WA3 2 -> 0 must fail");
        HC_ASSERT_STREQ(fx_reason_regs(&up), "SMCCC_ARCH_WORKAROUND_3");
        HC_ASSERT_STREQ(up.reasons[0].message,
                        "the VM carries SMCCC_ARCH_WORKAROUND_3 level 0x2 from old "
                        "(5.10.0-32-arm64) but new (6.12.117+deb12-arm64) is at 0x0, less "
                        "protected");
        hc_migration_done(&up);
}

HC_TEST(migration__workaround2_compared_after_mapping)
{
        _cleanup_(hc_record_freep) struct hc_record *src = fx_host("src", "6.1", "cortex-a76");
        _cleanup_(hc_record_freep) struct hc_record *dst = fx_host("dst", "6.1", "cortex-a76");
        struct hc_migration m;

        fx_set(dst, "SMCCC_ARCH_WORKAROUND_2", 0);
        fx_set(src, "SMCCC_ARCH_WORKAROUND_2", 1); /* UNKNOWN maps to 0 */
        m = judge(NULL, src, dst);
        HC_ASSERT(m.allowed, "WA2 1 maps to 0: %s", fx_reason_regs(&m));
        hc_migration_done(&m);
        fx_set(src, "SMCCC_ARCH_WORKAROUND_2", 2); /* AVAIL maps to 3 */
        m = judge(NULL, src, dst);
        HC_ASSERT_STREQ(fx_reason_regs(&m), "SMCCC_ARCH_WORKAROUND_2");
        hc_migration_done(&m);
        fx_set(dst, "SMCCC_ARCH_WORKAROUND_2", 3);
        m = judge(NULL, src, dst);
        HC_ASSERT(m.allowed, "2 and 3 are one level after mapping: %s", fx_reason_regs(&m));
        hc_migration_done(&m);
}

HC_TEST(migration__bitmap_must_fit_destination_mask)
{
        _cleanup_(pool_fx_done) struct pool_fx f = {0};
        struct hc_record *no_trng = fx_host("web-02", "6.1", "max");
        struct hc_migration free_vm, pooled;

        fx_set(no_trng, "STD_BMAP", 0x0);
        fx_add(&f.records, fx_host("web-01", "6.1", "max"));
        fx_add(&f.records, no_trng);
        fx_pool(&f.policies, "web", "web-*", NULL);
        f.b = fx_compute(&f.records, &f.policies);

        free_vm = judge(NULL, rec(&f, "web-01"), rec(&f, "web-02"));
        HC_ASSERT_STREQ(fx_reason_regs(&free_vm), "STD_BMAP");
        HC_ASSERT_STREQ(free_vm.reasons[0].message,
                        "the VM carries STD_BMAP 0x1 but web-02 (6.1.0-56-arm64) accepts only 0x0: "
                        "trng would be lost");
        pooled = judge(fx_find(f.b, "web"), rec(&f, "web-01"), rec(&f, "web-02"));
        HC_ASSERT(pooled.allowed, "the pool baseline hides trng, so the VM fits: %s",
                  fx_reason_regs(&pooled));
        hc_migration_done(&free_vm);
        hc_migration_done(&pooled);
}

HC_TEST(migration__unknown_register_must_exist_on_destination)
{
        _cleanup_(hc_record_freep) struct hc_record *src = fx_host("src", "7.3", "max");
        _cleanup_(hc_record_freep) struct hc_record *dst = fx_host("dst", "7.3", "max");
        struct hc_migration m;

        src->unknown = calloc(1, sizeof(uint64_t));
        src->unknown[0] = 0x6030000000140004ULL;
        src->n_unknown = 1;
        m = judge(NULL, src, dst);
        HC_ASSERT_STREQ(fx_reason_regs(&m), "0x6030000000140004");
        HC_ASSERT_STREQ(m.reasons[0].message,
                        "dst (7.3.4+deb13-arm64) lacks firmware register 0x6030000000140004, which "
                        "src (7.3.4+deb13-arm64) lists and the VM carries");
        hc_migration_done(&m);
        m = judge(NULL, dst, src);
        HC_ASSERT(m.allowed, "registers only the destination has keep their local value");
        hc_migration_done(&m);
}

HC_TEST(migration__json_shape)
{
        _cleanup_(hc_record_freep) struct hc_record *a = fx_host("a", "6.12", "max");
        _cleanup_(hc_record_freep) struct hc_record *b = fx_host("b", "5.10", "max");
        _cleanup_(json_object_putp) json_object *ok = NULL, *no = NULL;
        struct hc_migration m1 = judge(NULL, a, a), m2 = judge(NULL, a, b);

        ok = hc_migration_to_json("web", "a", "a", &m1);
        no = hc_migration_to_json("web", "a", "b", &m2);
        HC_ASSERT_STREQ(json_object_to_json_string_ext(ok, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                        "{\"schema\":\"hypercall.migration/v1\",\"pool\":\"web\",\"from\":\"a\","
                        "\"to\":\"a\",\"allowed\":true,\"reasons\":[]}");
        HC_ASSERT_STREQ(json_object_to_json_string_ext(
                                json_object_array_get_idx(json_object_object_get(no, "reasons"), 1),
                                JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                        "{\"register\":\"STD_BMAP\",\"message\":\"b (5.10.0-32-arm64) has no "
                        "STD_BMAP; the VM carries it (0x1) from a (6.12.117+deb12-arm64) and the "
                        "destination cannot load it\"}");
        HC_ASSERT_INTEQ(json_object_array_length(json_object_object_get(no, "reasons")), 4);
        hc_migration_done(&m1);
        hc_migration_done(&m2);
}

HC_TEST(migration__matrix_between_kernel_classes_golden)
{
        _cleanup_(pool_fx_done) struct pool_fx f = {0};
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *text = NULL;

        fx_add(&f.records, fx_host("mix-01", "6.1", "neoverse-n1"));
        fx_add(&f.records, fx_host("mix-02", "6.12", "neoverse-n1"));
        fx_add(&f.records, fx_host("mix-03", "6.12", "neoverse-n1"));
        fx_add(&f.records, fx_host("mix-04", "7.3", "neoverse-n1"));
        fx_add(&f.records, fx_host("mix-05", "7.3", "cortex-a53"));
        fx_pool(&f.policies, "mixed", "mix-*", NULL);
        f.b = fx_compute(&f.records, &f.policies);
        o = hc_matrix_to_json(fx_find(f.b, "mixed"), NULL);
        HC_ASSERT(o, "oom");
        HC_ASSERT_INTEQ(json_object_array_length(json_object_object_get(o, "classes")), 4);
        HC_ASSERT_INTEQ(json_object_array_length(json_object_object_get(o, "migrations")), 12);
        text = hc_json_to_text(o);
        fx_golden("golden/matrix-mixed.json", text);
}

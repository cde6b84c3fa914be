/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The baseline is what every new VM in a pool gets, so that it can migrate to
 * any member without losing a service.  Each test proves one merge rule of the
 * issue and kvm-abi.md §8/§10 on hosts with the register values measured on
 * real 5.10, 6.1, 6.12 and 7.3 kernels: bitmaps AND, deny clears, require
 * refuses naming hosts, PSCI takes the lowest version under psci.max, a
 * register is pushed only when every member has it, workaround floors are
 * reported and never pushed, legacy and unknown-register handling, record
 * age, overlapping pools, and byte-identical, digest-identified output.
 */
#include "fleet-fixture.h"

struct fx {
        struct hc_record_set records;
        struct hc_policy_set policies;
        struct hc_baseline *b;
};

static void fx_done(struct fx *f)
{
        hc_baseline_free(f->b);
        hc_record_set_done(&f->records);
        hc_policy_set_done(&f->policies);
}

static char *doc_text(const struct hc_baseline *b)
{
        _cleanup_(json_object_putp) json_object *o = hc_baseline_to_json(b);

        HC_ASSERT(o, "oom");
        return hc_json_to_text(o);
}

#define PSCI "PSCI_VERSION"

HC_TEST(baseline__psci_takes_lowest_version)
{
        _cleanup_(fx_done) struct fx f = {0};

        fx_add(&f.records, fx_host("web-01", "6.12", "cortex-a76"));
        fx_add(&f.records, fx_host("web-02", "7.3", "cortex-a76"));
        fx_pool(&f.policies, "web", "web-*", NULL);
        f.b = fx_compute(&f.records, &f.policies);
        const struct hc_pool_result *p = fx_find(f.b, "web");

        HC_ASSERT(!p->refused, "%s", p->n_errors ? p->errors[0].message : "");
        HC_ASSERT(p->has_value[fx_reg(PSCI)], "PSCI_VERSION is on every member");
        HC_ASSERT_INTEQ(p->value[fx_reg(PSCI)], 0x10001);
}

HC_TEST(baseline__psci_capped_by_policy_max)
{
        _cleanup_(fx_done) struct fx f = {0};

        fx_add(&f.records, fx_host("new-01", "7.3", "max"));
        fx_add(&f.records, fx_host("old-01", "6.1", "max"));
        fx_pool(&f.policies, "new", "new-*", "psci: {max: \"1.0\"}\n");
        fx_pool(&f.policies, "old", "old-*", "psci: {max: \"1.3\"}\n");
        f.b = fx_compute(&f.records, &f.policies);

        HC_ASSERT_INTEQ(fx_find(f.b, "new")->value[fx_reg(PSCI)], 0x10000);
        /* A ceiling above the members' minimum never raises it. */
        HC_ASSERT_INTEQ(fx_find(f.b, "old")->value[fx_reg(PSCI)], 0x10001);
}

HC_TEST(baseline__bitmaps_are_and_of_members)
{
        _cleanup_(fx_done) struct fx f = {0};
        struct hc_record *partial = fx_host("web-02", "6.1", "max");

        fx_set(partial, "STD_BMAP", 0x0);       /* no TRNG offered */
        fx_set(partial, "VENDOR_HYP_BMAP", 0x1); /* no PTP offered */
        fx_add(&f.records, fx_host("web-01", "6.1", "max"));
        fx_add(&f.records, partial);
        fx_add(&f.records, fx_host("web-03", "6.12", "max"));
        fx_pool(&f.policies, "web", "web-*", NULL);
        f.b = fx_compute(&f.records, &f.policies);
        const struct hc_pool_result *p = fx_find(f.b, "web");

        HC_ASSERT(!p->refused, "auto services never refuse");
        HC_ASSERT_INTEQ(p->value[fx_reg("STD_BMAP")], 0x0);
        HC_ASSERT_INTEQ(p->value[fx_reg("STD_HYP_BMAP")], 0x1);
        HC_ASSERT_INTEQ(p->value[fx_reg("VENDOR_HYP_BMAP")], 0x1);
        HC_ASSERT(!fx_service(p, "trng")->exposed, "trng lacking on web-02");
        HC_ASSERT_INTEQ(fx_service(p, "trng")->why, HC_WHY_LACKING);
        HC_ASSERT_STREQ(fx_names(fx_service(p, "trng")->lacking, fx_service(p, "trng")->n_lacking),
                        "web-02");
        HC_ASSERT(fx_service(p, "pv-time")->exposed, "pv-time offered by all");
        HC_ASSERT(fx_service(p, "kvm-features")->exposed, "kvm-features offered by all");
        HC_ASSERT_INTEQ(fx_service(p, "ptp")->why, HC_WHY_LACKING);
}

HC_TEST(baseline__deny_clears_bits_even_when_all_offer_them)
{
        _cleanup_(fx_done) struct fx f = {0};

        fx_add(&f.records, fx_host("web-01", "6.1", "max"));
        fx_add(&f.records, fx_host("web-02", "6.12", "max"));
        fx_pool(&f.policies, "web", "web-*", "services: {ptp: deny, trng: deny}\n");
        f.b = fx_compute(&f.records, &f.policies);
        const struct hc_pool_result *p = fx_find(f.b, "web");

        HC_ASSERT_INTEQ(p->value[fx_reg("VENDOR_HYP_BMAP")], 0x1);
        HC_ASSERT_INTEQ(p->value[fx_reg("STD_BMAP")], 0x0);
        HC_ASSERT_INTEQ(fx_service(p, "ptp")->why, HC_WHY_POLICY);
        HC_ASSERT_INTEQ(fx_service(p, "trng")->why, HC_WHY_POLICY);
        HC_ASSERT(fx_service(p, "kvm-features")->exposed, "kvm-features is auto and offered");
}

HC_TEST(baseline__require_missing_refuses_naming_hosts)
{
        _cleanup_(fx_done) struct fx f = {0};
        struct hc_record *no_pv = fx_host("web-02", "6.12", "cortex-a76");
        _cleanup_free_ char *text = NULL;

        fx_set(no_pv, "STD_HYP_BMAP", 0x0);
        fx_add(&f.records, fx_host("web-01", "6.1", "cortex-a76"));
        fx_add(&f.records, no_pv);
        fx_pool(&f.policies, "web", "web-*", "services: {pv-time: require}\n");
        f.b = fx_compute(&f.records, &f.policies);
        const struct hc_pool_result *p = fx_find(f.b, "web");
        const struct hc_issue *e = fx_issue(p->errors, p->n_errors, "required_service_missing");

        HC_ASSERT(p->refused, "a required service missing on a member refuses the pool");
        HC_ASSERT(e, "no required_service_missing error");
        HC_ASSERT_STREQ(fx_issue_hosts(e), "web-02");
        HC_ASSERT_STREQ(e->message, "pv-time is required by the policy but web-02 "
                                    "(6.12.117+deb12-arm64) lacks it (PV_TIME_FEATURES/PV_TIME_ST "
                                    "(stolen time))");
        HC_ASSERT_INTEQ(fx_service(p, "pv-time")->why, HC_WHY_LACKING);
        /* Nothing is exposed from a refused pool, and it has no registers. */
        HC_ASSERT_INTEQ(fx_service(p, "trng")->why, HC_WHY_REFUSED);
        HC_ASSERT(!fx_service(p, "trng")->exposed, "refused pools expose nothing");
        text = doc_text(f.b);
        HC_ASSERT(!strstr(text, "\"registers\""), "a refused pool has no registers:\n%s", text);
        HC_ASSERT(strstr(text, "\"status\": \"refused\""), "status refused:\n%s", text);
}

HC_TEST(baseline__require_met_exposes_service)
{
        _cleanup_(fx_done) struct fx f = {0};

        fx_add(&f.records, fx_host("web-01", "6.1", "cortex-a76"));
        fx_add(&f.records, fx_host("web-02", "7.3", "cortex-a76"));
        fx_pool(&f.policies, "web", "web-*", "services: {pv-time: require, trng: require}\n");
        f.b = fx_compute(&f.records, &f.policies);
        const struct hc_pool_result *p = fx_find(f.b, "web");

        HC_ASSERT(!p->refused, "every member offers the required services");
        HC_ASSERT(fx_service(p, "pv-time")->exposed && fx_service(p, "trng")->exposed,
                  "required services are exposed");
}

HC_TEST(baseline__register_pushed_only_when_on_every_member)
{
        _cleanup_(fx_done) struct fx f = {0};
        const struct hc_issue *w;

        fx_add(&f.records, fx_host("db-01", "6.12", "neoverse-n1"));
        fx_add(&f.records, fx_host("db-02", "7.3", "neoverse-n1"));
        fx_pool(&f.policies, "db", "db-*", "services: {discover-impl-ver: auto}\n");
        f.b = fx_compute(&f.records, &f.policies);
        const struct hc_pool_result *p = fx_find(f.b, "db");

        HC_ASSERT(!p->refused, "a register missing on some members does not refuse");
        HC_ASSERT(!p->has_value[fx_reg("VENDOR_HYP_BMAP_2")], "BMAP_2 is absent on 6.12");
        HC_ASSERT(p->has_value[fx_reg("VENDOR_HYP_BMAP")], "VENDOR_HYP_BMAP is everywhere");
        HC_ASSERT_INTEQ(fx_service(p, "discover-impl-ver")->why, HC_WHY_LACKING);
        HC_ASSERT_STREQ(fx_names(fx_service(p, "discover-impl-ver")->lacking,
                                 fx_service(p, "discover-impl-ver")->n_lacking),
                        "db-01");
        HC_ASSERT_INTEQ(fx_service(p, "discover-impl-cpus")->why, HC_WHY_POLICY);
        w = fx_issue(p->warnings, p->n_warnings, "register_not_everywhere");
        HC_ASSERT(w, "a partly present register is a warning");
        HC_ASSERT_STREQ(fx_issue_hosts(w), "db-01");
        HC_ASSERT_STREQ(w->message, "VENDOR_HYP_BMAP_2 exists on only 1 of 2 hosts, so it is not "
                                    "pushed; VMs started on hosts that have it carry it and cannot "
                                    "migrate to db-01 (6.12.117+deb12-arm64)");
}

HC_TEST(baseline__workaround_floors_reported_not_pushed)
{
        _cleanup_(fx_done) struct fx f = {0};
        const struct hc_issue *w;
        _cleanup_free_ char *text = NULL;

        fx_add(&f.records, fx_host("web-01", "6.1", "cortex-a53"));  /* 2/3/2 */
        fx_add(&f.records, fx_host("web-02", "6.12", "cortex-a76")); /* 2/0/1 */
        fx_pool(&f.policies, "web", "web-*", NULL);
        f.b = fx_compute(&f.records, &f.policies);
        const struct hc_pool_result *p = fx_find(f.b, "web");

        for (size_t i = 0; i < hc_catalog_count(); i++)
                if (hc_catalog_get(i)->kind == HC_KIND_WORKAROUND)
                        HC_ASSERT(!p->has_value[i] && p->has_floor[i],
                                  "%s: a floor, never a pushed value", hc_catalog_get(i)->name);
        HC_ASSERT_INTEQ(p->floor[fx_reg("SMCCC_ARCH_WORKAROUND_1")], 2);
        HC_ASSERT_INTEQ(p->floor[fx_reg("SMCCC_ARCH_WORKAROUND_2")], 0);
        HC_ASSERT_INTEQ(p->floor[fx_reg("SMCCC_ARCH_WORKAROUND_3")], 1);
        w = fx_issue(p->warnings, p->n_warnings, "workaround_levels_differ");
        HC_ASSERT(w, "mixed levels are a warning (kvm-abi.md §10.4)");
        HC_ASSERT_STREQ(fx_issue_hosts(w), "web-02");
        HC_ASSERT_STREQ(w->message, "SMCCC_ARCH_WORKAROUND_2 levels differ across the pool (floor "
                                    "0x0): VMs started on better-protected hosts cannot migrate to "
                                    "web-02 (6.12.117+deb12-arm64)");
        text = doc_text(f.b);
        HC_ASSERT(strstr(text, "\"workaround_floors\": {\n        \"SMCCC_ARCH_WORKAROUND_1\": "
                               "\"0x2\",\n        \"SMCCC_ARCH_WORKAROUND_2\": \"0x0\",\n        "
                               "\"SMCCC_ARCH_WORKAROUND_3\": \"0x1\"\n      }"),
                  "floors in the document:\n%s", text);
}

HC_TEST(baseline__workaround2_floor_uses_kernel_mapping)
{
        _cleanup_(fx_done) struct fx f = {0};
        struct hc_record *old = fx_host("web-01", "6.1", "cortex-a53");

        /* A v5.3-5.9 style WA2 level 2 (AVAIL) maps to 3 like NOT_REQUIRED; 1 maps to 0. */
        fx_set(old, "SMCCC_ARCH_WORKAROUND_2", 2);
        fx_add(&f.records, old);
        fx_add(&f.records, fx_host("web-02", "6.1", "cortex-a53")); /* WA2 3 */
        fx_pool(&f.policies, "web", "web-*", NULL);
        f.b = fx_compute(&f.records, &f.policies);
        const struct hc_pool_result *p = fx_find(f.b, "web");

        HC_ASSERT_INTEQ(p->floor[fx_reg("SMCCC_ARCH_WORKAROUND_2")], 2);
        HC_ASSERT(!fx_issue(p->warnings, p->n_warnings, "workaround_levels_differ"),
                  "2 and 3 are the same level after KVM's mapping");
}

HC_TEST(baseline__legacy_refuse_names_hosts)
{
        _cleanup_(fx_done) struct fx f = {0};
        const struct hc_issue *e;

        fx_add(&f.records, fx_host("batch-01", "5.10", "cortex-a72"));
        fx_add(&f.records, fx_host("batch-02", "6.1", "cortex-a72"));
        fx_pool(&f.policies, "batch", "batch-*", NULL);
        f.b = fx_compute(&f.records, &f.policies);
        const struct hc_pool_result *p = fx_find(f.b, "batch");

        e = fx_issue(p->errors, p->n_errors, "legacy_hosts");
        HC_ASSERT(p->refused && e, "legacy_hosts defaults to refuse");
        HC_ASSERT_STREQ(fx_issue_hosts(e), "batch-01");
        HC_ASSERT_STREQ(e->message, "batch-01 (5.10.0-32-arm64) has no bitmap registers (kernel "
                                    "before 5.19) and cannot gate services; set legacy_hosts: "
                                    "exclude to leave them out");
        HC_ASSERT_INTEQ(p->n_excluded, 0);
        HC_ASSERT(!fx_issue(p->warnings, p->n_warnings, "register_not_everywhere"),
                  "the legacy error already covers the missing bitmaps");
}

HC_TEST(baseline__legacy_exclude_lists_them_apart)
{
        _cleanup_(fx_done) struct fx f = {0};

        fx_add(&f.records, fx_host("batch-01", "5.10", "cortex-a72"));
        fx_add(&f.records, fx_host("batch-02", "6.1", "cortex-a72"));
        fx_add(&f.records, fx_host("batch-03", "7.3", "cortex-a72"));
        fx_pool(&f.policies, "batch", "batch-*", "legacy_hosts: exclude\n");
        f.b = fx_compute(&f.records, &f.policies);
        const struct hc_pool_result *p = fx_find(f.b, "batch");

        HC_ASSERT(!p->refused, "%s", p->n_errors ? p->errors[0].message : "");
        HC_ASSERT_STREQ(fx_names(p->excluded, p->n_excluded), "batch-01");
        HC_ASSERT_STREQ(fx_names(p->hosts, p->n_hosts), "batch-02,batch-03");
        /* The 5.10 host's PSCI 1.0 no longer lowers the pool. */
        HC_ASSERT_INTEQ(p->value[fx_reg(PSCI)], 0x10001);
        HC_ASSERT(fx_service(p, "trng")->exposed, "trng is on every remaining host");
}

HC_TEST(baseline__only_legacy_members_refuse_as_empty)
{
        _cleanup_(fx_done) struct fx f = {0};
        const struct hc_issue *e;

        fx_add(&f.records, fx_host("batch-01", "5.10", "cortex-a72"));
        fx_pool(&f.policies, "batch", "batch-*", "legacy_hosts: exclude\n");
        fx_pool(&f.policies, "ghost", "ghost-*", NULL);
        f.b = fx_compute(&f.records, &f.policies);

        e = fx_issue(fx_find(f.b, "batch")->errors, fx_find(f.b, "batch")->n_errors, "no_members");
        HC_ASSERT(e, "a pool with nobody left is refused");
        HC_ASSERT_STREQ(e->message, "every member is excluded as a legacy host");
        e = fx_issue(fx_find(f.b, "ghost")->errors, fx_find(f.b, "ghost")->n_errors, "no_members");
        HC_ASSERT(e, "a pool matching no record is refused");
        HC_ASSERT_STREQ(e->message, "no host record matches members.include");
        HC_ASSERT_INTEQ(fx_service(fx_find(f.b, "ghost"), "trng")->why, HC_WHY_REFUSED);
        HC_ASSERT_INTEQ(fx_service(fx_find(f.b, "ghost"), "trng")->n_lacking, 0);
}

HC_TEST(baseline__unknown_registers_refuse_or_warn)
{
        _cleanup_(fx_done) struct fx f = {0};
        struct hc_record *future = fx_host("a-02", "7.3", "max");
        struct hc_record *future2 = fx_host("b-02", "7.3", "max");
        const struct hc_issue *e;

        future->unknown = calloc(1, sizeof(uint64_t));
        future->unknown[0] = 0x6030000000140004ULL;
        future->n_unknown = 1;
        future2->unknown = calloc(1, sizeof(uint64_t));
        future2->unknown[0] = 0x6030000000140004ULL;
        future2->n_unknown = 1;
        fx_add(&f.records, fx_host("a-01", "7.3", "max"));
        fx_add(&f.records, future);
        fx_add(&f.records, fx_host("b-01", "7.3", "max"));
        fx_add(&f.records, future2);
        fx_pool(&f.policies, "a", "a-*", NULL);
        fx_pool(&f.policies, "b", "b-*", "unknown_registers: ignore\n");
        f.b = fx_compute(&f.records, &f.policies);

        e = fx_issue(fx_find(f.b, "a")->errors, fx_find(f.b, "a")->n_errors, "unknown_registers");
        HC_ASSERT(fx_find(f.b, "a")->refused && e, "unknown_registers defaults to refuse");
        HC_ASSERT_STREQ(fx_issue_hosts(e), "a-02");
        HC_ASSERT_STREQ(e->message, "a-02 (7.3.4+deb13-arm64) has firmware registers the catalog "
                                    "does not know (0x6030000000140004); a VM would carry them "
                                    "unchecked; set unknown_registers: ignore to accept that");
        e = fx_issue(fx_find(f.b, "b")->warnings, fx_find(f.b, "b")->n_warnings,
                     "unknown_registers");
        HC_ASSERT(!fx_find(f.b, "b")->refused && e, "ignore lists them as warnings");
        HC_ASSERT_STREQ(fx_issue_hosts(e), "b-02");
}

/*
 * A record dated further in the future than max_record_age (a prober whose
 * clock runs ahead, or ours behind) is stale too: otherwise it would stay
 * fresh until the clock caught up, however long ago its host stopped probing.
 * Skew within max_record_age is tolerated.
 */
HC_TEST(baseline__record_from_the_future_beyond_max_age_is_stale)
{
        _cleanup_(fx_done) struct fx f = {0};
        struct hc_baseline *skewed, *future;
        const struct hc_issue *e;

        fx_add(&f.records, fx_host("web-01", "6.1", "max"));
        fx_pool(&f.policies, "web", "web-*", "max_record_age: 24h\n");
        skewed = fx_compute_at(&f.records, &f.policies, NULL, FX_PROBED_AT_UNIX - 86400);
        future = fx_compute_at(&f.records, &f.policies, NULL, FX_PROBED_AT_UNIX - 86401);

        HC_ASSERT(!fx_find(skewed, "web")->refused, "a record 24h ahead of the clock is within the age");
        e = fx_issue(fx_find(future, "web")->errors, fx_find(future, "web")->n_errors, "stale_records");
        HC_ASSERT(fx_find(future, "web")->refused && e, "more than 24h ahead refuses");
        HC_ASSERT_STREQ(e->message, "the records of web-01 (6.1.0-56-arm64) are dated in the future by more than "
                                    "max_record_age 1d; check the clocks of those hosts and of this one");
        hc_baseline_free(skewed);
        hc_baseline_free(future);
}

HC_TEST(baseline__stale_record_refuses_against_given_now)
{
        _cleanup_(fx_done) struct fx f = {0};
        struct hc_baseline *fresh, *fresh_later, *stale;
        const struct hc_issue *e;

        fx_add(&f.records, fx_host("web-01", "6.1", "max"));
        fx_pool(&f.policies, "web", "web-*", "max_record_age: 24h\n");
        fresh = fx_compute_at(&f.records, &f.policies, NULL, FX_PROBED_AT_UNIX + 3600);
        fresh_later = fx_compute_at(&f.records, &f.policies, NULL, FX_PROBED_AT_UNIX + 86400);
        stale = fx_compute_at(&f.records, &f.policies, NULL, FX_PROBED_AT_UNIX + 86401);

        HC_ASSERT(!fx_find(fresh, "web")->refused, "a 1h-old record is fresh");
        HC_ASSERT(!fx_find(fresh_later, "web")->refused, "exactly 24h old is still fresh");
        e = fx_issue(fx_find(stale, "web")->errors, fx_find(stale, "web")->n_errors,
                     "stale_records");
        HC_ASSERT(fx_find(stale, "web")->refused && e, "older than 24h refuses");
        HC_ASSERT_STREQ(e->message, "the records of web-01 (6.1.0-56-arm64) are older than "
                                    "max_record_age 1d; probe them again");
        /* The clock enters the digest only through the verdicts. */
        HC_ASSERT_STREQ(fresh->digest, fresh_later->digest);
        HC_ASSERT(strcmp(fresh->digest, stale->digest) != 0, "a stale verdict changes the digest");
        hc_baseline_free(fresh);
        hc_baseline_free(fresh_later);
        hc_baseline_free(stale);
}

HC_TEST(baseline__host_in_two_pools_refuses_both)
{
        _cleanup_(fx_done) struct fx f = {0};
        const struct hc_issue *e;

        fx_add(&f.records, fx_host("db-01", "6.1", "max"));
        fx_add(&f.records, fx_host("web-01", "6.1", "max"));
        fx_add(&f.records, fx_host("web-02", "6.1", "max"));
        fx_pool(&f.policies, "web", "web-*", NULL);
        fx_pool(&f.policies, "ones", "*-01", NULL);
        fx_pool(&f.policies, "db", "db-*", NULL);
        f.b = fx_compute(&f.records, &f.policies);

        e = fx_issue(fx_find(f.b, "web")->errors, fx_find(f.b, "web")->n_errors,
                     "host_in_several_pools");
        HC_ASSERT(fx_find(f.b, "web")->refused && e, "web shares web-01 with ones");
        HC_ASSERT_STREQ(fx_issue_hosts(e), "web-01");
        HC_ASSERT_STREQ(e->message, "web-01 (6.1.0-56-arm64) also matches ones; a host belongs to "
                                    "one pool, fix members.include/exclude");
        e = fx_issue(fx_find(f.b, "ones")->errors, fx_find(f.b, "ones")->n_errors,
                     "host_in_several_pools");
        HC_ASSERT(fx_find(f.b, "ones")->refused && e, "ones shares hosts with db and web");
        HC_ASSERT_STREQ(fx_issue_hosts(e), "db-01,web-01");
        HC_ASSERT_STREQ(e->message, "db-01 (6.1.0-56-arm64) and web-01 (6.1.0-56-arm64) also "
                                    "match db, web; a host belongs to one pool, fix "
                                    "members.include/exclude");
        HC_ASSERT(fx_find(f.b, "db")->refused, "db shares db-01 with ones");
}

HC_TEST(baseline__unassigned_hosts_listed_by_name)
{
        _cleanup_(fx_done) struct fx f = {0};
        _cleanup_free_ char *text = NULL;

        fx_add(&f.records, fx_host("db-07", "6.1", "max"));
        fx_add(&f.records, fx_host("web-01", "6.1", "max"));
        fx_add(&f.records, fx_host("web-canary-1", "7.3", "max"));
        fx_add(&f.records, fx_host("ci-01", "6.1", "max"));
        fx_policy(&f.policies, "schema: hypercall.policy/v1\npool: web\nmembers:\n  include: "
                               "[\"web-*\"]\n  exclude: [\"web-canary-*\"]\n");
        f.b = fx_compute(&f.records, &f.policies);

        HC_ASSERT_STREQ(fx_names(f.b->unassigned, f.b->n_unassigned), "ci-01,db-07,web-canary-1");
        HC_ASSERT_STREQ(fx_names(fx_find(f.b, "web")->hosts, fx_find(f.b, "web")->n_hosts),
                        "web-01");
        text = doc_text(f.b);
        HC_ASSERT(strstr(text, "\"unassigned\": [\n    \"ci-01\",\n    \"db-07\",\n    "
                               "\"web-canary-1\"\n  ]\n}\n"),
                  "unassigned last, sorted:\n%s", text);
}

HC_TEST(baseline__every_catalog_service_listed)
{
        _cleanup_(fx_done) struct fx f = {0};
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *pools, *services;

        fx_add(&f.records, fx_host("web-01", "6.1", "max"));
        fx_pool(&f.policies, "web", "web-*", NULL);
        fx_pool(&f.policies, "empty", "nothing-*", NULL);
        f.b = fx_compute(&f.records, &f.policies);
        o = hc_baseline_to_json(f.b);
        HC_ASSERT(json_object_object_get_ex(o, "pools", &pools), "pools");
        HC_ASSERT_INTEQ(json_object_array_length(pools), 2);
        for (size_t i = 0; i < 2; i++) {
                HC_ASSERT(json_object_object_get_ex(json_object_array_get_idx(pools, i),
                                                    "services", &services),
                          "services in every pool, refused or not");
                HC_ASSERT_INTEQ(json_object_object_length(services), hc_service_count());
                for (size_t s = 0; s < hc_service_count(); s++)
                        HC_ASSERT(json_object_object_get_ex(services, hc_service_get(s, NULL)->name,
                                                            NULL),
                                  "service %s missing", hc_service_get(s, NULL)->name);
        }
}

HC_TEST(baseline__issue_example_shape)
{
        _cleanup_(fx_done) struct fx f = {0};
        _cleanup_free_ char *text = NULL;
        struct hc_record *web2 = fx_host("web-02", "6.1", "cortex-a72");

        fx_set(web2, "STD_BMAP", 0x0);
        fx_add(&f.records, fx_host("web-01", "6.1", "cortex-a72"));
        fx_add(&f.records, web2);
        fx_add(&f.records, fx_host("db-07", "6.1", "cortex-a72"));
        fx_pool(&f.policies, "web", "web-*", "services:\n  trng: auto\n  pv-time: require\n"
                                             "  ptp: deny\n");
        f.b = fx_compute(&f.records, &f.policies);
        text = doc_text(f.b);
        fx_golden("golden/baseline-issue-example.json", text);
}

HC_TEST(baseline__output_byte_identical_and_order_independent)
{
        _cleanup_(fx_done) struct fx a = {0};
        _cleanup_(fx_done) struct fx b = {0};
        _cleanup_free_ char *ta = NULL, *ta2 = NULL, *tb = NULL;
        struct hc_baseline *again;

        fx_add(&a.records, fx_host("web-01", "6.1", "max"));
        fx_add(&a.records, fx_host("web-02", "7.3", "max"));
        fx_add(&a.records, fx_host("db-01", "6.12", "max"));
        fx_pool(&a.policies, "web", "web-*", NULL);
        fx_pool(&a.policies, "db", "db-*", NULL);
        /* Same inputs, added in another order. */
        fx_add(&b.records, fx_host("db-01", "6.12", "max"));
        fx_add(&b.records, fx_host("web-02", "7.3", "max"));
        fx_add(&b.records, fx_host("web-01", "6.1", "max"));
        fx_pool(&b.policies, "db", "db-*", NULL);
        fx_pool(&b.policies, "web", "web-*", NULL);

        a.b = fx_compute(&a.records, &a.policies);
        again = fx_compute(&a.records, &a.policies);
        b.b = fx_compute(&b.records, &b.policies);
        ta = doc_text(a.b);
        ta2 = doc_text(again);
        tb = doc_text(b.b);
        HC_ASSERT_STREQ(ta2, ta);
        HC_ASSERT_STREQ(tb, ta);
        hc_baseline_free(again);
}

HC_TEST(baseline__digest_covers_records_and_policy_meaning)
{
        _cleanup_(fx_done) struct fx f = {0};
        struct hc_policy_set commented = {0};
        struct hc_baseline *b1, *b2, *b3, *b4;

        fx_add(&f.records, fx_host("web-01", "6.1", "max"));
        fx_pool(&f.policies, "web", "web-*", NULL);
        fx_policy(&commented, "# a comment\nschema: hypercall.policy/v1\npool:   web\n"
                              "members: {include: [web-*]}\nlegacy_hosts: refuse\n");
        b1 = fx_compute(&f.records, &f.policies);
        b2 = fx_compute(&f.records, &commented);
        HC_ASSERT_STREQ(b2->digest, b1->digest);
        HC_ASSERT(strncmp(b1->digest, "sha256:", 7) == 0 && strlen(b1->digest) == 71,
                  "digest format: %s", b1->digest);
        /* One changed workaround level is a different input. */
        f.records.records[0]->regs[fx_reg("SMCCC_ARCH_WORKAROUND_3")].value = 2;
        b3 = fx_compute(&f.records, &f.policies);
        HC_ASSERT(strcmp(b3->digest, b1->digest) != 0, "record change, same digest");
        /* So is asking for one pool. */
        b4 = fx_compute_at(&f.records, &f.policies, "web", FX_NOW);
        HC_ASSERT(strcmp(b4->digest, b3->digest) != 0, "--pool changes what is printed");
        hc_baseline_free(b1);
        hc_baseline_free(b2);
        hc_baseline_free(b3);
        hc_baseline_free(b4);
        hc_policy_set_done(&commented);
}

HC_TEST(baseline__pool_filter_and_unknown_pool)
{
        _cleanup_(fx_done) struct fx f = {0};
        struct hc_baseline *b = NULL;
        struct hc_error err = {0};

        fx_add(&f.records, fx_host("web-01", "6.1", "max"));
        fx_add(&f.records, fx_host("db-01", "6.1", "max"));
        fx_pool(&f.policies, "web", "web-*", NULL);
        fx_pool(&f.policies, "db", "db-*", NULL);
        f.b = fx_compute_at(&f.records, &f.policies, "web", FX_NOW);
        HC_ASSERT_INTEQ(f.b->n_pools, 1);
        HC_ASSERT_STREQ(f.b->pools[0].policy->pool, "web");
        HC_ASSERT_INTEQ(f.b->n_unassigned, 0);
        HC_ASSERT_INTEQ(hc_baseline_compute((const struct hc_record *const *)f.records.records,
                                            f.records.n, &f.policies, "nope", FX_NOW, &b, &err),
                        -ENOENT);
        HC_ASSERT_STREQ(err.text, "no policy defines pool \"nope\"");
}

/*
 * A pool mixing every measured kernel generation (kvm-abi.md §9): 5.10 is
 * excluded as legacy, 6.1/6.12/7.3 meet at PSCI 1.1 with every bitmap, and
 * BMAP_2 (7.3 only) is left to its default of 0.
 */
HC_TEST(baseline__mixed_kernel_generations_golden)
{
        _cleanup_(fx_done) struct fx f = {0};
        _cleanup_free_ char *text = NULL;

        fx_add(&f.records, fx_host("mix-510", "5.10", "neoverse-n1"));
        fx_add(&f.records, fx_host("mix-61", "6.1", "neoverse-n1"));
        fx_add(&f.records, fx_host("mix-612", "6.12", "neoverse-n1"));
        fx_add(&f.records, fx_host("mix-73", "7.3", "neoverse-n1"));
        fx_add(&f.records, fx_host("strict-510", "5.10", "max"));
        fx_add(&f.records, fx_host("strict-73", "7.3", "max"));
        fx_pool(&f.policies, "mixed", "mix-*", "legacy_hosts: exclude\n");
        fx_pool(&f.policies, "strict", "strict-*", "services: {pv-time: require}\n");
        f.b = fx_compute(&f.records, &f.policies);
        text = doc_text(f.b);
        fx_golden("golden/baseline-mixed-generations.json", text);
}

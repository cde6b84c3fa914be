/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A kernel upgrade or a new host can silently narrow what every VM in a pool
 * sees (field-notes §2.1).  These tests prove the before/after diff behind
 * `what-if` and `check-host`: a host that lacks a service, lowers PSCI or a
 * workaround floor narrows the pool; an equal or better host does not; a
 * legacy host refuses the pool; and the JSON carries the losses by name.
 */
#include "fleet-fixture.h"
#include "whatif.h"

struct wi_fx {
        struct hc_record_set records;
        struct hc_policy_set policies;
        struct hc_pool_result before, after;
        struct hc_pool_diff diff;
};

static void wi_fx_done(struct wi_fx *f)
{
        hc_pool_diff_done(&f->diff);
        hc_pool_result_done(&f->before);
        hc_pool_result_done(&f->after);
        hc_record_set_done(&f->records);
        hc_policy_set_done(&f->policies);
}

/* Pool web over web-01, web-02 (6.1, neoverse-n1), then with candidate added. */
static void try_join(struct wi_fx *f, struct hc_record *candidate)
{
        const struct hc_record *members[3];

        fx_add(&f->records, fx_host("web-01", "6.1", "neoverse-n1"));
        fx_add(&f->records, fx_host("web-02", "6.1", "neoverse-n1"));
        fx_pool(&f->policies, "web", "web-*", NULL);
        members[0] = f->records.records[0];
        members[1] = f->records.records[1];
        HC_ASSERT(hc_pool_compute(f->policies.policies[0], members, 2, FX_NOW, &f->before) == 0,
                  "oom");
        members[2] = candidate;
        HC_ASSERT(hc_pool_compute(f->policies.policies[0], members, 3, FX_NOW, &f->after) == 0,
                  "oom");
        fx_add(&f->records, candidate);
        HC_ASSERT(hc_pool_diff(&f->before, &f->after, &f->diff) == 0, "oom");
}

static const char *subjects(const struct hc_pool_diff *d, bool narrowing_only)
{
        static char buf[1024];
        size_t at = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < d->n && at < sizeof(buf); i++)
                if (!narrowing_only || d->changes[i].narrows)
                        at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%s", at ? "," : "",
                                               d->changes[i].subject);
        return buf;
}

HC_TEST(whatif__equal_host_does_not_narrow)
{
        _cleanup_(wi_fx_done) struct wi_fx f = {0};

        try_join(&f, fx_host("web-03", "6.12", "neoverse-n1"));
        HC_ASSERT(!f.diff.narrows, "a 6.12 host offers what 6.1 does: %s", subjects(&f.diff, true));
        HC_ASSERT_STREQ(subjects(&f.diff, false), "host web-03");
        HC_ASSERT_STREQ(f.diff.changes[0].message,
                        "web-03 (6.12.117+deb12-arm64) joins as member");
}

/* A 7.3 host offers more, but brings VENDOR_HYP_BMAP_2: its VMs could not come back (§10.3). */
HC_TEST(whatif__register_on_only_some_hosts_narrows)
{
        _cleanup_(wi_fx_done) struct wi_fx f = {0};

        try_join(&f, fx_host("web-03", "7.3", "neoverse-n1"));
        HC_ASSERT_STREQ(subjects(&f.diff, true), "VENDOR_HYP_BMAP_2 presence");
        HC_ASSERT_STREQ(f.diff.changes[1].message,
                        "VENDOR_HYP_BMAP_2 would exist on only 1 of 3 hosts: VMs started where it "
                        "exists could not migrate to the others");
}

HC_TEST(whatif__host_lacking_service_narrows)
{
        _cleanup_(wi_fx_done) struct wi_fx f = {0};
        struct hc_record *c = fx_host("web-03", "6.12", "neoverse-n1");

        fx_set(c, "VENDOR_HYP_BMAP", 0x1);
        try_join(&f, c);
        HC_ASSERT(f.diff.narrows, "losing ptp narrows the pool");
        HC_ASSERT_STREQ(subjects(&f.diff, true), "VENDOR_HYP_BMAP,ptp");
        HC_ASSERT_STREQ(f.diff.changes[f.diff.n - 1].message,
                        "ptp would be hidden: lacking on web-03 (6.12.117+deb12-arm64)");
}

HC_TEST(whatif__lower_psci_and_floor_narrow)
{
        _cleanup_(wi_fx_done) struct wi_fx f = {0};
        struct hc_record *c = fx_host("web-03", "7.3", "cortex-a72"); /* WA 0/0/0 */

        fx_set(c, "PSCI_VERSION", 0x10000);
        try_join(&f, c);
        HC_ASSERT_STREQ(subjects(&f.diff, true), "PSCI_VERSION,SMCCC_ARCH_WORKAROUND_1,"
                                                 "SMCCC_ARCH_WORKAROUND_3,VENDOR_HYP_BMAP_2 presence");
}

HC_TEST(whatif__legacy_host_refuses_pool)
{
        _cleanup_(wi_fx_done) struct wi_fx f = {0};
        _cleanup_(json_object_putp) json_object *o = NULL;
        bool may_join = true;

        try_join(&f, fx_host("web-03", "5.10", "neoverse-n1"));
        HC_ASSERT(f.diff.narrows, "a refused pool is the worst narrowing");
        HC_ASSERT_STREQ(f.diff.changes[0].subject, "status");
        o = hc_check_host_to_json(&f.before, &f.after, f.records.records[2], true, &f.diff,
                                  &may_join);
        HC_ASSERT(o && !may_join, "a legacy host may not join a refuse pool");
        HC_ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "schema")),
                        "hypercall.check-host/v1");
        HC_ASSERT(json_object_array_length(json_object_object_get(o, "losses")) >= 1, "losses");
}

HC_TEST(whatif__json_has_before_after_and_changes)
{
        _cleanup_(wi_fx_done) struct wi_fx f = {0};
        _cleanup_(json_object_putp) json_object *o = NULL;
        struct hc_record *c = fx_host("web-03", "6.1", "neoverse-n1");

        fx_set(c, "STD_BMAP", 0x0);
        try_join(&f, c);
        o = hc_what_if_to_json(&f.before, &f.after, &f.diff);
        HC_ASSERT(o, "oom");
        HC_ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "schema")),
                        "hypercall.what-if/v1");
        HC_ASSERT(json_object_get_boolean(json_object_object_get(o, "narrows")), "narrows");
        HC_ASSERT_STREQ(json_object_to_json_string_ext(
                                json_object_array_get_idx(json_object_object_get(o, "changes"), 1),
                                JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                        "{\"subject\":\"STD_BMAP\",\"before\":\"0x1\",\"after\":\"0x0\","
                        "\"narrows\":true,\"message\":\"STD_BMAP 0x1 -> 0x0: new VMs would get "
                        "less than running ones carry\"}");
        HC_ASSERT(json_object_object_get_ex(o, "before", NULL) &&
                          json_object_object_get_ex(o, "after", NULL),
                  "both baselines are shown");
}

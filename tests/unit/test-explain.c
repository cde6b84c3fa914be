/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Operators ask "why can't my VM see TRNG?" and "why is PSCI only 1.1?".
 * These tests prove explain answers with the policy line that decides it and
 * every host that limits it (with its kernel), for hidden, denied, exposed
 * and refused cases, for services and for each register kind, and that an
 * unknown subject lists what can be asked.
 */
#include "explain.h"
#include "fleet-fixture.h"

struct ex_fx {
        struct hc_record_set records;
        struct hc_policy_set policies;
        struct hc_baseline *b;
};

static void ex_fx_done(struct ex_fx *f)
{
        hc_baseline_free(f->b);
        hc_record_set_done(&f->records);
        hc_policy_set_done(&f->policies);
}

static json_object *explain(const struct ex_fx *f, const char *pool, const char *subject)
{
        json_object *o = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_explain(fx_find(f->b, pool), subject, &o, &err) == 0, "%s", err.text);
        return o;
}

static const char *str(json_object *o, const char *key)
{
        json_object *v;

        HC_ASSERT(json_object_object_get_ex(o, key, &v), "no key %s", key);
        return json_object_get_string(v);
}

static const char *plain(json_object *o, const char *key)
{
        json_object *v;

        HC_ASSERT(json_object_object_get_ex(o, key, &v), "no key %s", key);
        return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void web_fleet(struct ex_fx *f)
{
        struct hc_record *web2 = fx_host("web-02", "6.1", "cortex-a72");

        fx_set(web2, "STD_BMAP", 0x0);
        fx_add(&f->records, fx_host("web-01", "7.3", "cortex-a72"));
        fx_add(&f->records, web2);
        fx_add(&f->records, fx_host("web-03", "6.12", "cortex-a76"));
        fx_policy(&f->policies, "schema: hypercall.policy/v1\npool: web\nmembers:\n  include: "
                                "[\"web-*\"]\nservices:\n  trng: auto\n  ptp: deny\n"
                                "psci:\n  max: \"1.3\"\n");
        f->b = fx_compute(&f->records, &f->policies);
}

HC_TEST(explain__hidden_service_names_hosts_and_policy_line)
{
        _cleanup_(ex_fx_done) struct ex_fx f = {0};
        _cleanup_(json_object_putp) json_object *o = NULL;

        web_fleet(&f);
        o = explain(&f, "web", "trng");
        HC_ASSERT_STREQ(str(o, "why"), "lacking");
        HC_ASSERT_STREQ(str(o, "register"), "STD_BMAP");
        HC_ASSERT_STREQ(str(o, "summary"), "trng is hidden in pool web: 1 of 3 hosts lack it: "
                                           "web-02 (6.1.0-56-arm64); the policy says auto "
                                           "(fixture.yaml:6)");
        HC_ASSERT_STREQ(plain(o, "policy"), "[{\"setting\":\"services.trng\",\"value\":\"auto\","
                                            "\"origin\":\"fixture.yaml:6:9\"}]");
        HC_ASSERT_STREQ(plain(o, "limiting"), "[{\"host\":\"web-02\",\"kernel\":\"6.1.0-56-arm64\","
                                              "\"value\":\"0x0\"}]");
}

HC_TEST(explain__denied_service_cites_policy_or_default)
{
        _cleanup_(ex_fx_done) struct ex_fx f = {0};
        _cleanup_(json_object_putp) json_object *ptp = NULL, *dv = NULL;

        web_fleet(&f);
        ptp = explain(&f, "web", "ptp");
        HC_ASSERT_STREQ(str(ptp, "summary"), "ptp is hidden in pool web by the policy: "
                                             "services.ptp: deny (fixture.yaml:7)");
        dv = explain(&f, "web", "discover-impl-ver");
        HC_ASSERT_STREQ(str(dv, "summary"),
                        "discover-impl-ver is hidden in pool web by the policy: "
                        "services.discover-impl-ver: deny (default; it needs VMM support, so it "
                        "is denied unless a policy asks for it)");
        HC_ASSERT_STREQ(plain(dv, "policy"), "[{\"setting\":\"services.discover-impl-ver\","
                                             "\"value\":\"deny\",\"origin\":\"default\"}]");
}

HC_TEST(explain__psci_names_the_hosts_holding_it_down)
{
        _cleanup_(ex_fx_done) struct ex_fx f = {0};
        _cleanup_(json_object_putp) json_object *o = NULL;

        web_fleet(&f);
        o = explain(&f, "web", "PSCI_VERSION");
        HC_ASSERT_STREQ(str(o, "value"), "0x10001");
        HC_ASSERT_STREQ(str(o, "summary"), "PSCI_VERSION is 0x10001 (PSCI 1.1) in pool web: the "
                                           "lowest version among the hosts");
        HC_ASSERT_STREQ(plain(o, "limiting"),
                        "[{\"host\":\"web-02\",\"kernel\":\"6.1.0-56-arm64\",\"value\":\"0x10001\"},"
                        "{\"host\":\"web-03\",\"kernel\":\"6.12.117+deb12-arm64\",\"value\":"
                        "\"0x10001\"}]");
        HC_ASSERT_STREQ(plain(o, "policy"), "[{\"setting\":\"psci.max\",\"value\":\"1.3\","
                                            "\"origin\":\"fixture.yaml:9:8\"}]");
}

HC_TEST(explain__psci_capped_by_policy_says_so)
{
        _cleanup_(ex_fx_done) struct ex_fx f = {0};
        _cleanup_(json_object_putp) json_object *o = NULL;

        fx_add(&f.records, fx_host("new-01", "7.3", "max"));
        fx_pool(&f.policies, "new", "new-*", "psci: {max: \"1.0\"}\n");
        f.b = fx_compute(&f.records, &f.policies);
        o = explain(&f, "new", "PSCI_VERSION");
        HC_ASSERT_STREQ(str(o, "summary"), "PSCI_VERSION is 0x10000 (PSCI 1.0) in pool new: "
                                           "capped by psci.max (fixture.yaml:5)");
        HC_ASSERT_STREQ(plain(o, "limiting"), "[]");
}

HC_TEST(explain__workaround_floor_and_register_absent)
{
        _cleanup_(ex_fx_done) struct ex_fx f = {0};
        _cleanup_(json_object_putp) json_object *wa = NULL, *b2 = NULL;

        web_fleet(&f);
        wa = explain(&f, "web", "SMCCC_ARCH_WORKAROUND_1");
        HC_ASSERT_STREQ(str(wa, "floor"), "0x0");
        HC_ASSERT(!json_object_get_boolean(json_object_object_get(wa, "pushed")),
                  "workarounds are never pushed");
        HC_ASSERT_STREQ(plain(wa, "limiting"),
                        "[{\"host\":\"web-01\",\"kernel\":\"7.3.4+deb13-arm64\",\"value\":\"0x0\"},"
                        "{\"host\":\"web-02\",\"kernel\":\"6.1.0-56-arm64\",\"value\":\"0x0\"}]");
        b2 = explain(&f, "web", "VENDOR_HYP_BMAP_2");
        HC_ASSERT_STREQ(plain(b2, "value"), "null");
        HC_ASSERT_STREQ(plain(b2, "limiting"),
                        "[{\"host\":\"web-02\",\"kernel\":\"6.1.0-56-arm64\",\"value\":\"absent\"},"
                        "{\"host\":\"web-03\",\"kernel\":\"6.12.117+deb12-arm64\",\"value\":"
                        "\"absent\"}]");
}

HC_TEST(explain__refused_pool_says_nothing_is_exposed)
{
        _cleanup_(ex_fx_done) struct ex_fx f = {0};
        _cleanup_(json_object_putp) json_object *o = NULL;

        fx_add(&f.records, fx_host("b-01", "5.10", "max"));
        fx_add(&f.records, fx_host("b-02", "6.1", "max"));
        fx_pool(&f.policies, "b", "b-*", NULL);
        f.b = fx_compute(&f.records, &f.policies);
        o = explain(&f, "b", "pv-time");
        HC_ASSERT_STREQ(str(o, "status"), "refused");
        HC_ASSERT_INTEQ(json_object_array_length(json_object_object_get(o, "errors")), 1);
        HC_ASSERT_STREQ(str(o, "why"), "lacking");
}

HC_TEST(explain__unknown_subject_lists_choices)
{
        _cleanup_(ex_fx_done) struct ex_fx f = {0};
        json_object *o = NULL;
        struct hc_error err = {0};

        web_fleet(&f);
        HC_ASSERT_INTEQ(hc_explain(fx_find(f.b, "web"), "TRNG", &o, &err), -ENOENT);
        HC_ASSERT_STREQ(err.text, "expected a service or register name (trng, pv-time, "
                                  "kvm-features, ptp, discover-impl-ver, discover-impl-cpus, "
                                  "PSCI_VERSION, SMCCC_ARCH_WORKAROUND_1, SMCCC_ARCH_WORKAROUND_2, "
                                  "SMCCC_ARCH_WORKAROUND_3, STD_BMAP, STD_HYP_BMAP, "
                                  "VENDOR_HYP_BMAP, VENDOR_HYP_BMAP_2), got \"TRNG\"");
}

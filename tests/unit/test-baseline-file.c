/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The baseline file is what a VM start reads when it asks "which register
 * values does my pool get?".  These tests prove that the file carries
 * generation numbers that move only when a pool's values move, that a
 * failed computation (a refused pool, a broken policy) keeps the pool's
 * last-known-good values instead of dropping them, that a malformed file is
 * refused whole with a message naming the field, and that a saved file is
 * always one the loader accepts.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "baseline-file.h"
#include "fileio.h"
#include "hc-test.h"
#include "jsonutil.h"
#include "record.h"

#define NOW 1795514400 /* 2026-11-24T10:00:00Z */

static json_object *computed_doc(void)
{
        _cleanup_free_ char *text = NULL;
        struct hc_error err = {0};
        json_object *doc = NULL;
        size_t len;

        HC_ASSERT(hc_read_file(hc_test_data("baseline/computed.json"), &text, &len, &err) == 0, "%s",
                  err.text);
        HC_ASSERT(hc_json_parse(text, len, 32, "computed.json", &doc, &err) == 0, "%s", err.text);
        return doc;
}

static json_object *pool_json(json_object *doc, const char *name)
{
        json_object *pools, *p, *n;

        HC_ASSERT(json_object_object_get_ex(doc, "pools", &pools), "no pools");
        for (size_t i = 0; i < json_object_array_length(pools); i++) {
                p = json_object_array_get_idx(pools, i);
                if (json_object_object_get_ex(p, "pool", &n) &&
                    strcmp(json_object_get_string(n), name) == 0)
                        return p;
        }
        HC_ASSERT(false, "no pool %s", name);
        return NULL;
}

static void set_register(json_object *doc, const char *pool, const char *reg, const char *value)
{
        json_object *regs;

        HC_ASSERT(json_object_object_get_ex(pool_json(doc, pool), "registers", &regs), "no registers");
        json_object_object_add(regs, reg, json_object_new_string(value));
}

/* Turns a computed pool into a refused one, as the engine reports it. */
static void refuse(json_object *doc, const char *pool, const char *message)
{
        json_object *p = pool_json(doc, pool), *errors = json_object_new_array(),
                    *e = json_object_new_object();

        json_object_object_add(p, "status", json_object_new_string("refused"));
        json_object_object_del(p, "registers");
        json_object_object_add(e, "code", json_object_new_string("require-lacking"));
        json_object_object_add(e, "message", json_object_new_string(message));
        json_object_object_add(e, "hosts", json_object_new_array());
        json_object_array_add(errors, e);
        json_object_object_add(p, "errors", errors);
}

static struct hc_baseline_file *update(const struct hc_baseline_file *prev, json_object *doc,
                                       const struct hc_baseline_failure *f, size_t nf,
                                       struct hc_baseline_changes *ch)
{
        struct hc_baseline_file *next = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_baseline_file_update(prev, doc, f, nf, NOW, &next, ch, &err) == 0, "%s",
                  err.text);
        return next;
}

HC_TEST(baseline_file__first_update_is_generation_1)
{
        _cleanup_(json_object_putp) json_object *doc = computed_doc();
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        _cleanup_(hc_baseline_changes_done) struct hc_baseline_changes ch = {0};
        const struct hc_baseline_pool *web;
        struct hc_error err = {0};
        int std = hc_catalog_find("STD_BMAP"), v2 = hc_catalog_find("VENDOR_HYP_BMAP_2");

        f = update(NULL, doc, NULL, 0, &ch);
        HC_ASSERT_INTEQ(f->generation, 1);
        HC_ASSERT_INTEQ(f->n_pools, 2);
        HC_ASSERT_INTEQ(ch.n_changed, 2);
        HC_ASSERT(hc_baseline_file_lookup(f, "web", &web, &err) == 0, "%s", err.text);
        HC_ASSERT_INTEQ(web->generation, 1);
        HC_ASSERT(web->regs[std].present && web->regs[std].value == 0,
                  "web STD_BMAP must be present with 0x0 (trng lacking on web-02)");
        HC_ASSERT(!web->regs[v2].present, "VENDOR_HYP_BMAP_2 is not in the registers: absent");
        HC_ASSERT(strncmp(web->digest, "sha256:", 7) == 0 && strlen(web->digest) == 71,
                  "digest \"%s\"", web->digest);
        HC_ASSERT(web->kept_reason == NULL, "a fresh pool is not held");
}

HC_TEST(baseline_file__roundtrips_through_save_and_load)
{
        _cleanup_(json_object_putp) json_object *doc = computed_doc();
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL, *back = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL;
        char dir[] = "/tmp/hc-bf-XXXXXX", path[64];
        struct hc_error err = {0};

        HC_ASSERT(mkdtemp(dir), "mkdtemp");
        snprintf(path, sizeof(path), "%s/baseline.json", dir);
        f = update(NULL, doc, NULL, 0, NULL);
        HC_ASSERT(hc_baseline_file_save(f, path, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_baseline_file_load(path, &back, &err) == 0, "%s", err.text);
        a = hc_baseline_file_to_string(f);
        b = hc_baseline_file_to_string(back);
        HC_ASSERT_STREQ(b, a);
        HC_ASSERT_STREQ(hc_baseline_file_find(back, "db")->digest, hc_baseline_file_find(f, "db")->digest);
        unlink(path);
        rmdir(dir);
}

HC_TEST(baseline_file__generation_moves_only_with_values)
{
        _cleanup_(json_object_putp) json_object *doc = computed_doc();
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *g1 = NULL, *same = NULL, *g2 = NULL;
        _cleanup_(hc_baseline_changes_done) struct hc_baseline_changes c1 = {0}, c2 = {0};

        g1 = update(NULL, doc, NULL, 0, NULL);
        same = update(g1, doc, NULL, 0, &c1);
        HC_ASSERT_INTEQ(same->generation, 1);
        HC_ASSERT_INTEQ(c1.n_changed, 0);

        set_register(doc, "web", "VENDOR_HYP_BMAP", "0x3");
        g2 = update(same, doc, NULL, 0, &c2);
        HC_ASSERT_INTEQ(g2->generation, 2);
        HC_ASSERT_INTEQ(c2.n_changed, 1);
        HC_ASSERT_STREQ(c2.changed[0], "web");
        HC_ASSERT_INTEQ(hc_baseline_file_find(g2, "web")->generation, 2);
        HC_ASSERT_INTEQ(hc_baseline_file_find(g2, "db")->generation, 1);
        HC_ASSERT(strcmp(hc_baseline_file_find(g2, "web")->digest,
                         hc_baseline_file_find(g1, "web")->digest) != 0,
                  "new values, new digest");
}

HC_TEST(baseline_file__refused_pool_keeps_last_known_good)
{
        _cleanup_(json_object_putp) json_object *doc = computed_doc();
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *g1 = NULL, *held = NULL, *again = NULL;
        _cleanup_(hc_baseline_changes_done) struct hc_baseline_changes c = {0}, c2 = {0};
        const struct hc_baseline_pool *web;
        struct hc_error err = {0};

        g1 = update(NULL, doc, NULL, 0, NULL);
        refuse(doc, "web", "pv-time is required but web-03 lacks it");
        held = update(g1, doc, NULL, 0, &c);
        HC_ASSERT_INTEQ(held->generation, 1);
        HC_ASSERT_INTEQ(c.n_changed, 0);
        HC_ASSERT_INTEQ(c.n_kept, 1);
        HC_ASSERT_STREQ(c.kept[0], "web");
        HC_ASSERT(hc_baseline_file_lookup(held, "web", &web, &err) == 0, "%s", err.text);
        HC_ASSERT_STREQ(web->digest, hc_baseline_file_find(g1, "web")->digest);
        HC_ASSERT_STREQ(web->kept_reason, "pv-time is required but web-03 lacks it");

        /* Still failing on the next round: held, but not newly. */
        again = update(held, doc, NULL, 0, &c2);
        HC_ASSERT_INTEQ(c2.n_kept, 0);
        HC_ASSERT(hc_baseline_file_find(again, "web")->kept_reason, "still held");
}

HC_TEST(baseline_file__refused_pool_without_history_is_written_refused)
{
        _cleanup_(json_object_putp) json_object *doc = computed_doc();
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        _cleanup_(hc_baseline_changes_done) struct hc_baseline_changes c = {0};
        const struct hc_baseline_pool *web = NULL;
        struct hc_error err = {0};

        refuse(doc, "web", "legacy host web-09 (5.15) cannot gate services");
        f = update(NULL, doc, NULL, 0, &c);
        HC_ASSERT_INTEQ(c.n_refused, 1);
        HC_ASSERT_INTEQ(hc_baseline_file_lookup(f, "web", &web, &err), -EPERM);
        HC_ASSERT_STREQ(err.text, "pool web: refused: legacy host web-09 (5.15) cannot gate services");
        HC_ASSERT(web && web->status == HC_POOL_REFUSED, "refused pool returned");
        HC_ASSERT_INTEQ(hc_baseline_file_lookup(f, "nosuch", &web, &err), -ENOENT);
        HC_ASSERT_STREQ(err.text, "pool nosuch: not in the baseline (generation 1)");
}

HC_TEST(baseline_file__broken_policy_keeps_last_known_good)
{
        _cleanup_(json_object_putp) json_object *doc = computed_doc(), *without = NULL;
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *g1 = NULL, *held = NULL, *gone = NULL;
        _cleanup_(hc_baseline_changes_done) struct hc_baseline_changes c = {0}, c2 = {0};
        struct hc_baseline_failure fail = {"db", "db.yaml:3:10: expected a service name"};
        json_object *pools;

        g1 = update(NULL, doc, NULL, 0, NULL);
        /* The engine computed without db (its policy did not load). */
        HC_ASSERT(json_object_deep_copy(doc, &without, NULL) == 0, "copy");
        json_object_object_get_ex(without, "pools", &pools);
        json_object_array_del_idx(pools, 0, 1);
        held = update(g1, without, &fail, 1, &c);
        HC_ASSERT_INTEQ(held->generation, 1);
        HC_ASSERT_INTEQ(c.n_kept, 1);
        HC_ASSERT_STREQ(hc_baseline_file_find(held, "db")->kept_reason, fail.reason);
        HC_ASSERT_INTEQ(held->n_pools, 2);

        /* Removed for good: dropped, generation moves. */
        gone = update(held, without, NULL, 0, &c2);
        HC_ASSERT_INTEQ(gone->n_pools, 1);
        HC_ASSERT_INTEQ(gone->generation, 2);
        HC_ASSERT_INTEQ(c2.n_changed, 1);
        HC_ASSERT_STREQ(c2.changed[0], "db");
}

HC_TEST(baseline_file__rejects_malformed_with_field)
{
        static const struct {
                const char *from, *to, *error;
        } cases[] = {
                {"\"generation\": 1,\n  \"pools\"", "\"generation\": -1,\n  \"pools\"",
                 "b.json: generation: generation: expected a non-negative integer, got -1"},
                {"\"schema\": \"hypercall.baseline/v1\"", "\"schema\": \"hypercall.baseline/v0\"",
                 "b.json: schema: expected \"hypercall.baseline/v1\", got \"hypercall.baseline/v0\""},
                {"\"STD_BMAP\": \"0x0\"", "\"STD_BMAP\": \"0x4\"",
                 "b.json: pools[1] (web): registers.STD_BMAP: expected bits within mask 0x1, got 0x4"},
                {"\"STD_BMAP\": \"0x0\"", "\"SMCCC_ARCH_WORKAROUND_2\": \"0x0\"",
                 "b.json: pools[1] (web): registers: SMCCC_ARCH_WORKAROUND_2 is a workaround level, "
                 "never pushed (expected under workaround_floors)"},
                {"\"STD_BMAP\": \"0x0\"", "\"STD_BMAP\": 0",
                 "b.json: pools[1] (web): registers.STD_BMAP: expected a hex string like \"0x1\", got 0"},
                {"\"status\": \"ok\"", "\"status\": \"fine\"",
                 "b.json: pools[0] (db): status: expected \"ok\" or \"refused\", got \"fine\""},
                {"\"unassigned\"", "\"unassigned_hosts\"", "b.json: unassigned_hosts: unexpected key"},
                {"\"trng\": {\n", "\"rng\": {\n",
                 "b.json: pools[0] (db): services: unknown service \"rng\""},
                {"\"PSCI_VERSION\": \"0x10001\"", "\"PSCI_VERSION\": \"0x10009\"",
                 "b.json: pools[0] (db): registers.PSCI_VERSION: expected a PSCI version KVM knows "
                 "(0x1, 0x2, 0x10000 to 0x10003), got 0x10009"},
        };
        _cleanup_(json_object_putp) json_object *doc = computed_doc();
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        _cleanup_free_ char *good = NULL;
        struct hc_error err = {0};

        f = update(NULL, doc, NULL, 0, NULL);
        good = hc_baseline_file_to_string(f);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *bad = hc_test_edited(good, cases[i].from, cases[i].to);
                struct hc_baseline_file *out = NULL;

                err = (struct hc_error){0};
                HC_ASSERT_INTEQ(hc_baseline_file_parse(bad, strlen(bad), "b.json", &out, &err), -EINVAL);
                HC_ASSERT(out == NULL, "case %zu: nothing half-loaded", i);
                HC_ASSERT_STREQ(err.text, cases[i].error);
        }
}

/* A repeated key is refused before anything else is looked at (json-c would keep the last). */
HC_TEST(baseline_file__duplicate_key_refused_with_position)
{
        _cleanup_(json_object_putp) json_object *doc = computed_doc();
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f =
            update(NULL, doc, NULL, 0, NULL);
        _cleanup_free_ char *good = hc_baseline_file_to_string(f), *bad = NULL;
        struct hc_baseline_file *out = NULL;
        struct hc_error err = {0};

        bad = hc_test_edited(good, "\"generation\": 1,", "\"generation\": 1, \"generation\": 2,");
        HC_ASSERT_INTEQ(hc_baseline_file_parse(bad, strlen(bad), "b.json", &out, &err), -EINVAL);
        HC_ASSERT(out == NULL, "nothing half-loaded");
        HC_ASSERT_STREQ(err.text, "b.json:4:20: duplicate key \"generation\"");
}

HC_TEST(baseline_file__rejects_hand_edited_digest_and_truncation)
{
        _cleanup_(json_object_putp) json_object *doc = computed_doc();
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        _cleanup_free_ char *good = NULL, *bad = NULL;
        struct hc_baseline_file *out = NULL;
        struct hc_error err = {0};
        const char *web_digest;
        char *at;

        f = update(NULL, doc, NULL, 0, NULL);
        good = hc_baseline_file_to_string(f);
        /* A value edited without its digest: the pool no longer says what it is. */
        web_digest = hc_baseline_file_find(f, "web")->digest;
        bad = hc_test_edited(good, "\"VENDOR_HYP_BMAP\": \"0x1\"", "\"VENDOR_HYP_BMAP\": \"0x3\"");
        HC_ASSERT_INTEQ(hc_baseline_file_parse(bad, strlen(bad), "b.json", &out, &err), -EINVAL);
        HC_ASSERT(strstr(err.text, "b.json: pools[1] (web): digest: ") &&
                          strstr(err.text, web_digest) && strstr(err.text, "does not match"),
                  "observed \"%s\"", err.text);
        /* Every proper prefix of the file is refused: a torn write can never load. */
        for (size_t cut = 0; cut + 1 < strlen(good); cut += 7) {
                at = strndup(good, cut);
                HC_ASSERT(hc_baseline_file_parse(at, cut, "b.json", &out, &err) < 0,
                          "prefix of %zu bytes loaded", cut);
                free(at);
        }
}

HC_TEST(baseline_file__rejects_unsorted_computation)
{
        _cleanup_(json_object_putp) json_object *doc = computed_doc();
        struct hc_baseline_file *out = NULL;
        struct hc_error err = {0};
        json_object *pools, *db;

        json_object_object_get_ex(doc, "pools", &pools);
        db = json_object_get(json_object_array_get_idx(pools, 0));
        json_object_array_del_idx(pools, 0, 1);
        json_object_array_add(pools, db);
        HC_ASSERT_INTEQ(hc_baseline_file_update(NULL, doc, NULL, 0, NOW, &out, NULL, &err), -EINVAL);
        HC_ASSERT(out == NULL, "nothing half-built");
        HC_ASSERT_STREQ(err.text, "computed baseline: pools: expected pools sorted by name with no "
                                  "duplicates; \"db\" follows \"web\"");
}

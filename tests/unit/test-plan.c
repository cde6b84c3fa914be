/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plan is the contract between the hook (lib/plan.c writes it) and the
 * shim inside QEMU (hook/shim-plan.c reads it with libc only).  These tests
 * prove that everything the writer produces reads back identically in the
 * shim, that the register IDs come from the catalog, and that every
 * malformed or truncated plan is refused with its file:line and what was
 * expected: a plan the shim cannot trust must stop the VM, never half-apply.
 */
#include <errno.h>

#include "../../hook/shim-plan.c" // NOLINT(bugprone-suspicious-include): compiled in, as the shim is
#include "baseline-file.h"
#include "fileio.h"
#include "hc-test.h"
#include "jsonutil.h"
#include "plan.h"
#include "record.h"

#define UUID "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"

static struct hc_baseline_file *example_baseline(void)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        struct hc_baseline_file *f = NULL;
        struct hc_baseline_changes ch = {0};
        struct hc_error err = {0};
        size_t len = 0;

        HC_ASSERT(hc_read_file(hc_test_data("baseline/computed.json"), &text, &len, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_json_parse(text, len, 32, "computed.json", &doc, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_baseline_file_update(NULL, doc, NULL, 0, 1795514400, &f, &ch, &err) == 0, "%s", err.text);
        hc_baseline_changes_done(&ch);
        return f;
}

static void web_plan(struct hc_plan *p)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = example_baseline();
        const struct hc_baseline_pool *pool = hc_baseline_file_find(f, "web");
        struct hc_error err = {0};

        HC_ASSERT(pool, "the example baseline has pool web");
        HC_ASSERT(hc_plan_from_pool(p, "6F1C2A3B-4D5E-4F60-8A7B-9C0D1E2F3A4B", "web 3", pool, &err) == 0, "%s",
                  err.text);
}

HC_TEST(plan__writer_output_reads_back_in_the_shim)
{
        struct hc_plan p;
        struct hc_shim_plan s;
        char err[HC_SHIM_ERR_MAX] = "";
        _cleanup_free_ char *text = NULL;

        web_plan(&p);
        text = hc_plan_to_text(&p);
        HC_ASSERT(text, "oom");
        HC_ASSERT(hc_shim_plan_parse(text, strlen(text), "web.plan", &s, err, sizeof(err)) == 0, "%s", err);
        HC_ASSERT_STREQ(s.uuid, UUID); /* lowercased by the writer */
        HC_ASSERT_STREQ(s.name, "web 3");
        HC_ASSERT_STREQ(s.pool, "web");
        HC_ASSERT_STREQ(s.digest, p.digest);
        HC_ASSERT_INTEQ(s.incoming, 0);
        HC_ASSERT_INTEQ(s.generation, p.generation);
        HC_ASSERT_INTEQ(s.n_regs, 4);
        for (size_t i = 0; i < s.n_regs; i++) {
                int k = hc_catalog_find(s.regs[i].name);
                HC_ASSERT(k >= 0, "%s is a catalog register", s.regs[i].name);
                HC_ASSERT(s.regs[i].id == hc_catalog_get((size_t)k)->id, "%s carries the catalog's ID",
                          s.regs[i].name);
                HC_ASSERT(s.regs[i].value == p.regs[i].value, "%s value", s.regs[i].name);
        }
        /* Pool web: PSCI 1.1, TRNG hidden, PV time on, KVM features only. */
        HC_ASSERT_STREQ(s.regs[0].name, "PSCI_VERSION");
        HC_ASSERT_INTEQ(s.regs[0].value, 0x10001);
        HC_ASSERT_STREQ(s.regs[1].name, "STD_BMAP");
        HC_ASSERT_INTEQ(s.regs[1].value, 0);
        HC_ASSERT_STREQ(s.regs[3].name, "VENDOR_HYP_BMAP");
        HC_ASSERT_INTEQ(s.regs[3].value, 1);
}

HC_TEST(plan__text_is_the_documented_format)
{
        struct hc_plan p;
        _cleanup_free_ char *text = NULL;
        char expect[1024];

        web_plan(&p);
        text = hc_plan_to_text(&p);
        snprintf(expect, sizeof(expect),
                 "hypercall-plan 1\nvm-uuid " UUID "\nvm-name web 3\nmode start\npool web\ngeneration %llu\n"
                 "digest %s\n"
                 "register PSCI_VERSION 0x6030000000140000 0x10001\n"
                 "register STD_BMAP 0x6030000000160000 0x0\n"
                 "register STD_HYP_BMAP 0x6030000000160001 0x1\n"
                 "register VENDOR_HYP_BMAP 0x6030000000160002 0x1\n"
                 "end\n",
                 (unsigned long long)p.generation, p.digest);
        HC_ASSERT_STREQ(text, expect);
}

HC_TEST(plan__save_is_read_only_for_its_owner_and_remove_is_idempotent)
{
        char dir[] = "/tmp/hc-plan-XXXXXX";
        struct hc_plan p;
        struct hc_error err = {0};
        struct stat st;
        _cleanup_free_ char *path = NULL;

        HC_ASSERT(mkdtemp(dir), "mkdtemp");
        web_plan(&p);
        HC_ASSERT(hc_plan_save(&p, dir, NULL, &err) == 0, "%s", err.text);
        path = hc_plan_path(dir, UUID);
        HC_ASSERT(stat(path, &st) == 0, "%s exists", path);
        HC_ASSERT_INTEQ(st.st_mode & 07777, 0440);
        HC_ASSERT_INTEQ(st.st_uid, geteuid());
        HC_ASSERT_INTEQ(hc_plan_remove(dir, UUID), 0);
        HC_ASSERT(access(path, F_OK) < 0, "plan removed");
        HC_ASSERT_INTEQ(hc_plan_remove(dir, UUID), 0);
        HC_ASSERT(rmdir(dir) == 0, "only the plan was written there");
}

/* With a static DAC label the hook writes the plan root:QEMU's group from birth. */
HC_TEST(plan__save_with_an_owner_writes_the_plan_as_that_owners_0440)
{
        char dir[] = "/tmp/hc-plan-XXXXXX";
        /* As root a group that exists nowhere; otherwise the only owner we may give. */
        struct hc_owner qemu =
            geteuid() == 0 ? (struct hc_owner){0, 4243} : (struct hc_owner){getuid(), getgid()};
        struct hc_plan p;
        struct hc_error err = {0};
        struct stat st;
        _cleanup_free_ char *path = NULL;

        HC_ASSERT(mkdtemp(dir), "mkdtemp");
        web_plan(&p);
        HC_ASSERT(hc_plan_save(&p, dir, &qemu, &err) == 0, "%s", err.text);
        path = hc_plan_path(dir, UUID);
        HC_ASSERT(stat(path, &st) == 0, "%s exists", path);
        HC_ASSERT_INTEQ(st.st_mode & 07777, 0440);
        HC_ASSERT_INTEQ(st.st_uid, qemu.uid);
        HC_ASSERT_INTEQ(st.st_gid, qemu.gid);
        HC_ASSERT_INTEQ(hc_plan_remove(dir, UUID), 0);
        HC_ASSERT(rmdir(dir) == 0, "only the plan was written there (no temp file left)");
}

HC_TEST(plan__workaround_levels_are_never_planned)
{
        struct hc_plan p;
        struct hc_error err = {0};

        web_plan(&p);
        HC_ASSERT(hc_plan_set(&p, "SMCCC_ARCH_WORKAROUND_1", 1, &err) == -EINVAL, "refused");
        HC_ASSERT_STREQ(err.text, "SMCCC_ARCH_WORKAROUND_1 is a workaround level: KVM validates it, it is never set");
        HC_ASSERT(hc_plan_set(&p, "STD_BMAP", 0x2, &err) == 0, "set accepts, save validates");
        HC_ASSERT(hc_plan_save(&p, "/nonexistent", NULL, &err) == -EINVAL,
                  "an out-of-mask value is never written");
        HC_ASSERT_STREQ(err.text, "plan: STD_BMAP: expected bits within mask 0x1");
}

static const char *good =
        "hypercall-plan 1\nvm-uuid " UUID "\nvm-name web-3\nmode incoming\npool web\ngeneration 7\n"
        "digest sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
        "register STD_BMAP 0x6030000000160000 0x0\nend\n";

/* good with the first occurrence of from replaced by to. */
static char *edited(const char *from, const char *to)
{
        const char *at = strstr(good, from);
        char *out;

        HC_ASSERT(at, "fixture lacks \"%s\"", from);
        HC_ASSERT(asprintf(&out, "%.*s%s%s", (int)(at - good), good, to, at + strlen(from)) > 0, "oom");
        return out;
}

HC_TEST(plan__shim_accepts_incoming_mode)
{
        struct hc_shim_plan s;
        char err[HC_SHIM_ERR_MAX] = "";

        HC_ASSERT(hc_shim_plan_parse(good, strlen(good), "p", &s, err, sizeof(err)) == 0, "%s", err);
        HC_ASSERT_INTEQ(s.incoming, 1);
        HC_ASSERT_INTEQ(s.generation, 7);
}

HC_TEST(plan__shim_refuses_malformed_plans_with_line_and_expectation)
{
        static const struct {
                const char *from, *to, *error;
        } cases[] = {
                {"hypercall-plan 1", "hypercall-plan 2", "x.plan:1: expected \"hypercall-plan 1\", got \"hypercall-plan 2\""},
                {"vm-uuid " UUID, "vm-uuid 6F1C2A3B-4D5E-4F60-8A7B-9C0D1E2F3A4B",
                 "x.plan:2: vm-uuid: expected a lowercase UUID, got \"6F1C2A3B-4D5E-4F60-8A7B-9C0D1E2F3A4B\""},
                {"vm-name web-3\n", "", "x.plan:3: expected \"vm-name ...\", got \"mode incoming\""},
                {"mode incoming", "mode paused", "x.plan:4: mode: expected \"start\" or \"incoming\", got \"paused\""},
                {"pool web", "pool we/b", "x.plan:5: pool: expected letters, digits, \"-\", \"_\", \".\", got \"we/b\""},
                {"generation 7", "generation 07", "x.plan:6: generation: expected a decimal number, got \"07\""},
                {"generation 7", "generation 99999999999999999999",
                 "x.plan:6: generation: expected a decimal number, got \"99999999999999999999\""},
                {"digest sha256:0", "digest md5:0",
                 "x.plan:7: digest: expected \"sha256:\" and 64 lowercase hex digits, got \"md5:0123456789abcdef0123456789abcdef0123\""},
                {"0x6030000000160000", "0x60300000160000",
                 "x.plan:8: STD_BMAP: expected an ID \"0x\" and 16 lowercase hex digits, got \"0x60300000160000\""},
                {"0x6030000000160000 0x0", "0x6030000000160000 0x00",
                 "x.plan:8: STD_BMAP: expected a value \"0x\" and lowercase hex digits without leading zeros, got \"0x00\""},
                {"register STD_BMAP 0x6030000000160000 0x0\n",
                 "register STD_BMAP 0x6030000000160000 0x0\nregister STD_BMAP 0x6030000000160001 0x0\n",
                 "x.plan:9: expected each register once, got STD_BMAP again"},
                {"register STD_BMAP 0x6030000000160000 0x0\n",
                 "register STD_BMAP 0x6030000000160000 0x0\nregister OTHER 0x6030000000160000 0x0\n",
                 "x.plan:9: expected each register ID once, got 0x6030000000160000 again (STD_BMAP)"},
                {"register STD_BMAP 0x6030000000160000 0x0", "register STD_BMAP 0x6030000000160000 0x0 extra",
                 "x.plan:8: expected \"register NAME 0xID 0xVALUE\", got \"register STD_BMAP 0x6030000000160000 0x0\""},
                {"register STD_BMAP", "register std_bmap",
                 "x.plan:8: expected a register name (A-Z, 0-9, \"_\"), got \"std_bmap\""},
                {"register", "registers", "x.plan:8: expected \"register ...\" or \"end\", got \"registers STD_BMAP 0x6030000000160000 0x\""},
                {"pool web", "pool web\r", "x.plan:5: expected no control characters, got byte 0x0d at column 9"},
                {"end\n", "end\nregister STD_BMAP 0x6030000000160000 0x0\n",
                 "x.plan:10: expected nothing after \"end\", got \"register STD_BMAP 0x6030000000160000 0x0\""},
                {"end\n", "", "x.plan:9: expected \"end\" (truncated file?), got end of file"},
                {"end\n", "end", "x.plan:9: expected the line to end with a newline (truncated file?), got \"end\""},
                {"digest sha256:", "end\ndigest sha256:", "x.plan:7: expected \"digest ...\", got \"end\""},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = edited(cases[i].from, cases[i].to);
                struct hc_shim_plan s;
                char err[HC_SHIM_ERR_MAX] = "";

                HC_ASSERT(hc_shim_plan_parse(text, strlen(text), "x.plan", &s, err, sizeof(err)) == -EINVAL,
                          "case %zu accepted", i);
                HC_ASSERT_STREQ(err, cases[i].error);
        }
}

HC_TEST(plan__shim_refuses_empty_oversized_and_missing_files)
{
        struct hc_shim_plan s;
        char err[HC_SHIM_ERR_MAX] = "";
        static char big[HC_SHIM_PLAN_MAX_BYTES + 2];

        HC_ASSERT(hc_shim_plan_parse("", 0, "x.plan", &s, err, sizeof(err)) == -EINVAL, "empty");
        HC_ASSERT_STREQ(err, "x.plan: expected a plan, got an empty file");
        memset(big, 'a', sizeof(big) - 1);
        HC_ASSERT(hc_shim_plan_parse(big, sizeof(big) - 1, "x.plan", &s, err, sizeof(err)) == -EINVAL, "big");
        HC_ASSERT_STREQ(err, "x.plan: expected at most 8192 bytes, got 8193");
        HC_ASSERT(hc_shim_plan_load("/nonexistent/x.plan", &s, err, sizeof(err)) == -ENOENT, "missing");
        HC_ASSERT_STREQ(err, "/nonexistent/x.plan: No such file or directory");
}

/*
 * Whoever can write the plan's directory chooses what QEMU sets: the shim
 * (and the <emulator> wrapper, and hypercalld's audit, which read plans
 * through the same function) refuse a plan that is a symbolic link or
 * world-writable, and a plan directory or its parent that is.  The files are
 * real ones in a temporary directory; the expected texts are exact.
 */
HC_TEST(plan__shim_refuses_symlinked_or_world_writable_plan_paths)
{
        char base[] = "/tmp/hc-plan-XXXXXX", vm[64], link_dir[64], plan[160], via_link[160], link_plan[160];
        char err[HC_SHIM_ERR_MAX] = "", expect[512];
        struct hc_shim_plan s;
        struct hc_plan p;
        struct hc_error e = {0};

        HC_ASSERT(mkdtemp(base), "mkdtemp");
        snprintf(vm, sizeof(vm), "%s/vm", base);
        snprintf(link_dir, sizeof(link_dir), "%s/vm-link", base);
        snprintf(plan, sizeof(plan), "%s/" UUID ".plan", vm);
        snprintf(via_link, sizeof(via_link), "%s/" UUID ".plan", link_dir);
        snprintf(link_plan, sizeof(link_plan), "%s/other.plan", vm);
        HC_ASSERT(mkdir(vm, 0755) == 0, "mkdir %s", vm);
        HC_ASSERT(chmod(vm, 0755) == 0, "chmod %s", vm);
        web_plan(&p);
        HC_ASSERT(hc_plan_save(&p, vm, NULL, &e) == 0, "%s", e.text);
        HC_ASSERT(hc_shim_plan_load(plan, &s, err, sizeof(err)) == 0, "the plan as written: %s", err);

        /* The plan itself a symbolic link (to a valid plan). */
        HC_ASSERT(symlink(plan, link_plan) == 0, "symlink");
        HC_ASSERT_INTEQ(hc_shim_plan_load(link_plan, &s, err, sizeof(err)), -ELOOP);
        snprintf(expect, sizeof(expect), "%s: refusing a plan that is a symbolic link", link_plan);
        HC_ASSERT_STREQ(err, expect);
        HC_ASSERT(unlink(link_plan) == 0, "unlink");

        /* The plan world-writable. */
        HC_ASSERT(chmod(plan, 0646) == 0, "chmod");
        HC_ASSERT_INTEQ(hc_shim_plan_load(plan, &s, err, sizeof(err)), -EPERM);
        snprintf(expect, sizeof(expect), "%s: refusing a plan that is world-writable (mode 0646)", plan);
        HC_ASSERT_STREQ(err, expect);
        HC_ASSERT(chmod(plan, 0644) == 0, "chmod");

        /* The plan directory reached through a symbolic link. */
        HC_ASSERT(symlink(vm, link_dir) == 0, "symlink");
        HC_ASSERT_INTEQ(hc_shim_plan_load(via_link, &s, err, sizeof(err)), -ELOOP);
        snprintf(expect, sizeof(expect), "%s: refusing a plan directory that is a symbolic link", link_dir);
        HC_ASSERT_STREQ(err, expect);
        HC_ASSERT(unlink(link_dir) == 0, "unlink");

        /* The plan directory world-writable, even with the sticky bit. */
        HC_ASSERT(chmod(vm, 01777) == 0, "chmod");
        HC_ASSERT_INTEQ(hc_shim_plan_load(plan, &s, err, sizeof(err)), -EPERM);
        snprintf(expect, sizeof(expect), "%s: refusing a plan directory that is world-writable (mode 1777)", vm);
        HC_ASSERT_STREQ(err, expect);
        HC_ASSERT(chmod(vm, 0755) == 0, "chmod");

        /* Its parent world-writable: anyone could rename the plan directory away and make another. */
        HC_ASSERT(chmod(base, 0777) == 0, "chmod");
        HC_ASSERT_INTEQ(hc_shim_plan_load(plan, &s, err, sizeof(err)), -EPERM);
        snprintf(expect, sizeof(expect), "%s: refusing a plan directory's parent that is world-writable (mode 0777)",
                 base);
        HC_ASSERT_STREQ(err, expect);
        HC_ASSERT(chmod(base, 0700) == 0, "chmod");

        HC_ASSERT(hc_shim_plan_load(plan, &s, err, sizeof(err)) == 0, "restored: %s", err);
        HC_ASSERT_INTEQ(hc_plan_remove(vm, UUID), 0);
        HC_ASSERT(rmdir(vm) == 0 && rmdir(base) == 0, "only the plan was written there");
}

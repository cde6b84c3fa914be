/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lab-l2-expect: checks what the nested tier's guests saw (run-nested-tier.sh).
 *
 * Usage: lab-l2-expect NESTED_DIR HYPERCALLCTL MIXED_POLICIES [TEST]   (--list: names)
 *
 * Each L2 run is NESTED_DIR/boots/<boot>/runs/<kernel>.<case>.{meta,serial,stderr}:
 * the run's name says what was started (kernel series, case), so the checks never
 * trust the output to say what it is.  The guest prints one line per SMCCC call
 * ("@@hc-l2 <pass> <vcpu> <CALL> <x0>", guest/hc-l2-guest.c).  Expectations are
 * tables in the style of the kernel's KVM selftests (arm64/hypercalls.c): what a
 * guest must see for a set of firmware register values, which calls each bit gates
 * (kvm-abi.md §4), and the cases with the registers each one's plan sets.  Every
 * LAB_TEST names one behaviour; CMake registers each as its own ctest entry.  A test
 * with no run to apply to fails: a case the tier did not run proves nothing.
 */
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "baseline-file.h"
#include "catalog.h"
#include "hc-macro.h"
#include "lab-check.h"
#include "vcpu-regs.h"

/* ---- what a guest must see ------------------------------------------------------ */

/* The firmware register values a VM runs with; UNSET = the host's own default. */
#define UNSET UINT64_MAX

struct fw_view {
        uint64_t psci, std, std_hyp, vendor;
};

/* Per kernel series: what a new VM gets without a plan (the host maximum). */
struct kernel_expect {
        const char *series;
        bool legacy; /* no bitmap registers: nothing is gated, TRNG and KVM's calls do not exist */
        struct fw_view host;
};

static const struct kernel_expect kernels[] = {
        {"5.10", true, {0x10000, UNSET, UNSET, UNSET}},
        {"6.1", false, {0x10001, 0x1, 0x1, 0x3}},
        {"6.12", false, {0x10001, 0x1, 0x1, 0x3}},
        {"7", false, {0x10003, 0x1, 0x1, 0x3}},
};

/* The calls the guest makes that the registers decide, with their answers (kvm-abi.md §4). */
#define KVM_UID_WORD0 "0xb66fb428"
#define GUEST_CALLS 7
static const char *const guest_calls[GUEST_CALLS] = {
        "SMCCC_VERSION", "PSCI_VERSION", "TRNG_VERSION", "ARCH_FEATURES.PV_TIME_FEATURES",
        "KVM_VENDOR_UID", "KVM_FEATURES", "KVM_PTP",
};

struct guest_expect {
        char v[GUEST_CALLS][24];
};

/*
 * STD bit 0 gates TRNG; STD_HYP bit 0 PV time (ARCH_FEATURES answers 0 when on);
 * VENDOR_HYP bit 0 the KVM UID and KVM_FEATURES (whose x0 is the bitmap itself),
 * bit 1 KVM_PTP.  KVM_PTP's x0 is a clock value: only "ok" (not an error) is compared.
 * A pre-5.19 kernel gates nothing and has no TRNG and no KVM vendor calls.
 */
static void expect_view(const struct kernel_expect *k, const struct fw_view *set, struct guest_expect *e)
{
        struct fw_view v = k->host;

        if (set->psci != UNSET)
                v.psci = set->psci;
        if (set->std != UNSET)
                v.std = set->std;
        if (set->std_hyp != UNSET)
                v.std_hyp = set->std_hyp;
        if (set->vendor != UNSET)
                v.vendor = set->vendor;
        snprintf(e->v[0], sizeof(e->v[0]), "0x10001");
        snprintf(e->v[1], sizeof(e->v[1]), "0x%" PRIx64, v.psci);
        if (k->legacy) {
                snprintf(e->v[2], sizeof(e->v[2]), "-1");
                snprintf(e->v[3], sizeof(e->v[3]), "0x0");
                snprintf(e->v[4], sizeof(e->v[4]), "-1");
                snprintf(e->v[5], sizeof(e->v[5]), "-1");
                snprintf(e->v[6], sizeof(e->v[6]), "-1");
                return;
        }
        snprintf(e->v[2], sizeof(e->v[2]), "%s", v.std & 1 ? "0x10000" : "-1");
        snprintf(e->v[3], sizeof(e->v[3]), "%s", v.std_hyp & 1 ? "0x0" : "-1");
        snprintf(e->v[4], sizeof(e->v[4]), "%s", v.vendor & 1 ? KVM_UID_WORD0 : "-1");
        if (v.vendor & 1)
                snprintf(e->v[5], sizeof(e->v[5]), "0x%" PRIx64, v.vendor);
        else
                snprintf(e->v[5], sizeof(e->v[5]), "-1");
        snprintf(e->v[6], sizeof(e->v[6]), "%s", v.vendor & 2 ? "ok" : "-1");
}

/* The nested tier's cases: what each one's plan sets (run-nested-tier.sh writes the plans). */
struct case_expect {
        const char *name;
        struct fw_view set;
};

#define KEEP {UNSET, UNSET, UNSET, UNSET}
static const struct case_expect cases[] = {
        {"plain", KEEP},   /* no shim, no plan */
        {"passive", KEEP}, /* shim loaded, no -uuid: libvirt's capability probe */
        {"trng-hidden", {UNSET, 0x0, UNSET, UNSET}},
        {"kvm-hidden", {UNSET, UNSET, 0x0, 0x0}},
        {"ptp-hidden", {UNSET, UNSET, UNSET, 0x1}},
        {"psci-0.2", {0x2, UNSET, UNSET, UNSET}},
        {"psci-1.0", {0x10000, UNSET, UNSET, UNSET}},
        {"psci-1.1", {0x10001, UNSET, UNSET, UNSET}},
        {"smp2", {0x10000, 0x0, UNSET, 0x1}},
};

/* ---- runs ------------------------------------------------------------------------ */

struct l2_line {
        unsigned pass, vcpu;
        char call[48], value[48];
};

struct run {
        char *id;     /* "6.12.trng-hidden" */
        char *kernel; /* "6.12" */
        char *name;   /* "trng-hidden" */
        char *dir;    /* .../runs/ */
        int rc;
        double secs;
        struct l2_line *lines;
        size_t n_lines;
        size_t n_l2; /* every "@@hc-l2" line, well-formed or not */
        char *stderr_text;
};

static struct run *runs;
static size_t n_runs;
static const char *nested_dir, *ctl, *mixed_policies;

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;

        if (!f)
                return NULL;
        {
                FILE *m = open_memstream(&buf, &len);
                char chunk[4096];
                size_t n;

                if (!m)
                        abort();
                while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                        fwrite(chunk, 1, n, m);
                fclose(m);
        }
        fclose(f);
        return buf;
}

static void parse_serial(struct run *r, const char *text)
{
        const char *p = text;

        while (p && *p) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                char line[256];
                struct l2_line l = {0};

                snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), p);
                if (strncmp(line, "@@hc-l2 ", 8) == 0) {
                        r->n_l2++;
                        /* Our own guest's line; a malformed one fails the match and is not counted. */
                        if (sscanf(line, "@@hc-l2 %u %u %47s %47s", &l.pass, &l.vcpu, l.call, // NOLINT(cert-err34-c)
                                   l.value) == 4) {
                                r->lines = realloc(r->lines, (r->n_lines + 1) * sizeof(*r->lines));
                                if (!r->lines)
                                        abort();
                                r->lines[r->n_lines++] = l;
                        }
                }
                p = nl ? nl + 1 : NULL;
        }
}

static int load_runs(void)
{
        _cleanup_free_ char *pattern = NULL;
        glob_t g;

        if (asprintf(&pattern, "%s/boots/*/runs/*.meta", nested_dir) < 0)
                abort();
        if (glob(pattern, 0, NULL, &g) != 0) {
                fprintf(stderr, "lab-l2-expect: no runs under %s/boots (did run-nested-tier.sh run?)\n", nested_dir);
                return -ENOENT;
        }
        runs = calloc(g.gl_pathc, sizeof(*runs));
        if (!runs)
                abort();
        for (size_t i = 0; i < g.gl_pathc; i++) {
                struct run *r = &runs[n_runs++];
                const char *meta = g.gl_pathv[i], *base = strrchr(meta, '/') + 1;
                _cleanup_free_ char *text = slurp(meta), *serial_path = NULL, *serial = NULL,
                                    *stderr_path = NULL;
                char *dot;
                const char *kv;

                r->id = strndup(base, strlen(base) - strlen(".meta"));
                r->dir = strndup(meta, (size_t)(base - meta));
                r->rc = -1;
                if (!r->id || !r->dir)
                        abort();
                kv = text ? strstr(text, "kernel=") : NULL;
                r->kernel = kv ? strndup(kv + 7, strcspn(kv + 7, "\n")) : strdup("?");
                kv = text ? strstr(text, "rc=") : NULL;
                if (kv)
                        r->rc = (int)strtol(kv + 3, NULL, 10);
                kv = text ? strstr(text, "secs=") : NULL;
                if (kv)
                        r->secs = strtod(kv + 5, NULL);
                dot = r->id + strlen(r->kernel);
                r->name = strdup(*dot == '.' ? dot + 1 : r->id);
                if (!r->kernel || !r->name || asprintf(&serial_path, "%s%s.serial", r->dir, r->id) < 0 ||
                    asprintf(&stderr_path, "%s%s.stderr", r->dir, r->id) < 0)
                        abort();
                serial = slurp(serial_path);
                parse_serial(r, serial);
                r->stderr_text = slurp(stderr_path);
                if (!r->stderr_text)
                        r->stderr_text = strdup("");
        }
        globfree(&g);
        return 0;
}

static struct run *find_run(const char *kernel, const char *name)
{
        for (size_t i = 0; i < n_runs; i++)
                if (strcmp(runs[i].kernel, kernel) == 0 && strcmp(runs[i].name, name) == 0)
                        return &runs[i];
        return NULL;
}

/* x0 of CALL in pass PASS on VCPU, or NULL. */
static const char *seen(const struct run *r, unsigned pass, unsigned vcpu, const char *call)
{
        for (size_t i = 0; i < r->n_lines; i++)
                if (r->lines[i].pass == pass && r->lines[i].vcpu == vcpu && strcmp(r->lines[i].call, call) == 0)
                        return r->lines[i].value;
        return NULL;
}

/* KVM_PTP's x0 is a clock reading: compare "ok" vs the error code. */
static const char *seen_cmp(const struct run *r, unsigned pass, unsigned vcpu, const char *call)
{
        const char *v = seen(r, pass, vcpu, call);

        if (v && strcmp(call, "KVM_PTP") == 0 && v[0] != '-')
                return "ok";
        return v;
}

static bool has_event(const struct run *r, unsigned pass, unsigned vcpu, const char *what)
{
        for (size_t i = 0; i < r->n_lines; i++)
                if (r->lines[i].pass == pass && r->lines[i].vcpu == vcpu && strcmp(r->lines[i].call, "event") == 0 &&
                    strcmp(r->lines[i].value, what) == 0)
                        return true;
        return false;
}

static unsigned passes(const struct run *r)
{
        unsigned n = 0;

        for (size_t i = 0; i < r->n_lines; i++)
                if (r->lines[i].vcpu == 0 && strcmp(r->lines[i].call, "event") == 0 &&
                    (strcmp(r->lines[i].value, "start") == 0 || strcmp(r->lines[i].value, "unpark") == 0))
                        n++;
        return n;
}

static const struct kernel_expect *kernel_series(const char *series)
{
        for (size_t i = 0; i < ELEMENTSOF(kernels); i++)
                if (strcmp(kernels[i].series, series) == 0)
                        return &kernels[i];
        fprintf(stderr, "lab-l2-expect: no expectation for kernel series %s\n", series);
        exit(EXIT_FAILURE);
}

static const struct kernel_expect *kernel_of(const struct run *r)
{
        return kernel_series(r->kernel);
}

static const struct case_expect *case_of(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (strcmp(cases[i].name, name) == 0)
                        return &cases[i];
        return NULL;
}

/* ---- assertions ------------------------------------------------------------------ */

/* Where a failed check points: the run, or the whole nested tier. */
static const char *where(const struct run *r)
{
        return r ? r->id : nested_dir;
}

#define CHECK(r, cond, ...) LAB_CHECK(where(r), cond, __VA_ARGS__)

static const char *or_none(const char *s)
{
        return s ? s : "(nothing)";
}

/* The run KERNEL.NAME, or a failure saying the tier did not run it. */
static const struct run *need_run(const char *kernel, const char *name)
{
        const struct run *r = find_run(kernel, name);

        CHECK(NULL, r, "no run %s.%s: the tier did not run it", kernel, name);
        return r;
}

/* The run started its guest, which finished every pass it was built for. */
static bool check_ran(const struct run *r, unsigned want_passes)
{
        CHECK(r, r->rc == 0, "expected QEMU to exit 0 after the guest's SYSTEM_OFF, observed rc=%d (%s)", r->rc,
              r->stderr_text);
        CHECK(r, passes(r) == want_passes, "expected %u guest passes, observed %u", want_passes, passes(r));
        return r->rc == 0 && passes(r) == want_passes;
}

/* Every call of pass PASS on VCPU against the expected view. */
static void check_view(const struct run *r, unsigned pass, unsigned vcpu, const struct guest_expect *e,
                       const char *why)
{
        for (size_t c = 0; c < GUEST_CALLS; c++) {
                const char *v = seen_cmp(r, pass, vcpu, guest_calls[c]);

                CHECK(r, v && strcmp(v, e->v[c]) == 0, "pass %u vCPU %u %s: expected %s (%s), observed %s", pass,
                      vcpu, guest_calls[c], e->v[c], why, or_none(v));
        }
}

/* A case on every kernel it ran on: all three passes of vCPU 0 show the case's view. */
static void check_case(const char *name, const char *const *kernel_list, size_t n, const char *why)
{
        const struct case_expect *c = case_of(name);

        if (!c)
                abort();
        for (size_t i = 0; i < n; i++) {
                const struct run *r = need_run(kernel_list[i], name);
                struct guest_expect e = {0};

                if (!r || !check_ran(r, 3))
                        continue;
                expect_view(kernel_of(r), &c->set, &e);
                for (unsigned pass = 1; pass <= 3; pass++)
                        check_view(r, pass, 0, &e, why);
        }
}

/* QEMU stopped before any guest instruction ran, and said why. */
static void check_stopped(const struct run *r, const char *const *needles, size_t n_needles)
{
        CHECK(r, r->rc != 0, "expected QEMU to stop, observed rc=0");
        CHECK(r, r->n_l2 == 0, "expected the guest to print nothing, observed %zu lines (first: %s %s)", r->n_l2,
              r->n_lines ? r->lines[0].call : "", r->n_lines ? r->lines[0].value : "");
        CHECK(r, !strstr(r->stderr_text, "verified"),
              "expected no vCPU to reach its first KVM_RUN, observed the shim's check before it");
        for (size_t i = 0; i < n_needles; i++)
                CHECK(r, strstr(r->stderr_text, needles[i]), "expected the shim to say \"%s\", observed: %s",
                      needles[i], r->stderr_text);
}

static const char *const bitmap_kernels[] = {"6.1", "6.12", "7"};
static const char *const kernels_6[] = {"6.1", "6.12"};

/* ---- tests ----------------------------------------------------------------------- */

/* Without the shim a guest gets everything its host's kernel offers. */
LAB_TEST(lab__guest_sees_every_service_without_a_plan)
{
        check_case("plain", bitmap_kernels, ELEMENTSOF(bitmap_kernels), "host maximum");
}

/* The shim in a process without -uuid (libvirt's capability probe) changes nothing. */
LAB_TEST(lab__shim_without_uuid_leaves_the_guest_at_host_maximum)
{
        check_case("passive", kernels_6, ELEMENTSOF(kernels_6), "shim passive");
}

/* STD_BMAP = 0: TRNG_VERSION is NOT_SUPPORTED, nothing else moves. */
LAB_TEST(lab__guest_sees_trng_hidden_when_plan_clears_it)
{
        check_case("trng-hidden", bitmap_kernels, ELEMENTSOF(bitmap_kernels), "STD_BMAP=0");
}

/* STD_HYP_BMAP = VENDOR_HYP_BMAP = 0: PV time, the KVM UID, KVM_FEATURES and PTP all gone. */
LAB_TEST(lab__guest_sees_pv_time_kvm_features_and_ptp_hidden_when_plan_clears_them)
{
        check_case("kvm-hidden", bitmap_kernels, ELEMENTSOF(bitmap_kernels), "STD_HYP_BMAP=0 VENDOR_HYP_BMAP=0");
}

/* VENDOR_HYP_BMAP = 0x1: KVM_PTP gone and absent from KVM_FEATURES, the UID stays. */
LAB_TEST(lab__guest_sees_ptp_hidden_while_kvm_features_stay)
{
        check_case("ptp-hidden", bitmap_kernels, ELEMENTSOF(bitmap_kernels), "VENDOR_HYP_BMAP=0x1");
}

/* The plan's PSCI version is what PSCI_VERSION returns: 0.2 and 1.0 on 6.x, 1.1 pins a 1.3 host. */
LAB_TEST(lab__guest_psci_version_is_the_plans)
{
        static const char *const k61[] = {"6.1"}, *const k7[] = {"7"};

        check_case("psci-0.2", k61, 1, "PSCI_VERSION=0x2");
        check_case("psci-1.0", kernels_6, ELEMENTSOF(kernels_6), "PSCI_VERSION=0x10000");
        check_case("psci-1.1", k7, 1, "PSCI_VERSION=0x10001 on a PSCI 1.3 host");
}

/* Every managed run that started says what it set and that it checked before the first run. */
LAB_TEST(lab__shim_says_what_it_set_and_verified)
{
        size_t applied = 0;

        for (size_t i = 0; i < n_runs; i++) {
                const struct run *r = &runs[i];

                if (r->rc != 0 || !strstr(r->stderr_text, "hypercall-shim[") || strstr(r->name, "passive"))
                        continue;
                applied++;
                CHECK(r, strstr(r->stderr_text, ": will set "), "expected the shim's status line, observed: %s",
                      r->stderr_text);
                CHECK(r, strstr(r->stderr_text, "set and read back"),
                      "expected \"set and read back N registers\", observed: %s", r->stderr_text);
                if (!strstr(r->name, "mig-from"))
                        CHECK(r, strstr(r->stderr_text, "before the first KVM_RUN"),
                              "expected \"verified N registers before the first KVM_RUN\", observed: %s",
                              r->stderr_text);
        }
        CHECK(NULL, applied > 0, "no managed run started a guest");
}

/* A managed QEMU (-uuid) without a plan stops before the guest runs. */
LAB_TEST(lab__qemu_stops_before_the_guest_runs_without_a_plan)
{
        static const char *const says[] = {"refusing to run VM ", ": no valid plan: /run/hypercall/vm/",
                                           ".plan: No such file or directory"};

        for (size_t i = 0; i < ELEMENTSOF(bitmap_kernels); i++) {
                const struct run *r = need_run(bitmap_kernels[i], "no-plan");

                if (r)
                        check_stopped(r, says, ELEMENTSOF(says));
        }
}

/* A damaged plan (a register value that is not hex) stops QEMU before the guest runs. */
LAB_TEST(lab__qemu_stops_before_the_guest_runs_with_a_corrupt_plan)
{
        static const char *const says[] = {"refusing to run VM ", ": no valid plan: /run/hypercall/vm/", ".plan:8: "};

        for (size_t i = 0; i < ELEMENTSOF(bitmap_kernels); i++) {
                const struct run *r = need_run(bitmap_kernels[i], "corrupt-plan");

                if (r)
                        check_stopped(r, says, ELEMENTSOF(says));
        }
}

/*
 * A 7.x pool's plan (PSCI 1.3, VENDOR_HYP_BMAP_2 = 0) on a 6.x host: the register does
 * not exist there.  QEMU stops at its first KVM_ARM_VCPU_INIT (a host-probing scratch
 * vCPU, which cannot take a PSCI version, so BMAP_2 is what KVM refuses first).
 */
LAB_TEST(lab__qemu_stops_before_the_guest_runs_when_the_plan_asks_what_the_kernel_lacks)
{
        static const char *const says[] = {"stopping before the guest runs: VENDOR_HYP_BMAP_2 (0x6030000000160003) "
                                           "does not exist on this host's kernel (ENOENT), but the plan requires it: "
                                           "this host cannot run pool newest"};

        for (size_t i = 0; i < ELEMENTSOF(kernels_6); i++) {
                const struct run *r = need_run(kernels_6[i], "beyond-kernel");

                if (r)
                        check_stopped(r, says, ELEMENTSOF(says));
        }
}

/* 5.10 has no bitmap registers: it cannot hide TRNG, so a plan that does stops QEMU. */
LAB_TEST(lab__legacy_kernel_cannot_hide_a_service_so_qemu_stops)
{
        static const char *const says[] = {"stopping before the guest runs: STD_BMAP (0x6030000000160000) does not "
                                           "exist on this host's kernel (ENOENT), but the plan requires it"};
        static const char *const k510[] = {"5.10"};
        const struct run *r = need_run("5.10", "trng-hidden");

        if (r)
                check_stopped(r, says, ELEMENTSOF(says));
        check_case("plain", k510, 1, "5.10: nothing gated, no TRNG, no KVM vendor calls");
}

/* The values a guest sees are the same after each of its two PSCI SYSTEM_RESETs. */
LAB_TEST(lab__values_stay_after_guest_reset)
{
        size_t applied = 0;

        for (size_t i = 0; i < n_runs; i++) {
                const struct run *r = &runs[i];

                if (r->rc != 0 || strstr(r->name, "mig-") || strncmp(r->name, "lv-", 3) == 0)
                        continue;
                applied++;
                CHECK(r, passes(r) == 3, "expected 3 passes (2 resets), observed %u", passes(r));
                for (unsigned pass = 1; pass <= 2; pass++)
                        CHECK(r, has_event(r, pass, 0, "system-reset"), "pass %u: expected a SYSTEM_RESET", pass);
                for (unsigned pass = 2; pass <= passes(r); pass++)
                        for (size_t c = 0; c < GUEST_CALLS; c++) {
                                const char *first = seen_cmp(r, 1, 0, guest_calls[c]),
                                           *now = seen_cmp(r, pass, 0, guest_calls[c]);

                                CHECK(r, first && now && strcmp(first, now) == 0,
                                      "%s: expected %s after reset %u (as before it), observed %s", guest_calls[c],
                                      or_none(first), pass - 1, or_none(now));
                        }
        }
        CHECK(NULL, applied > 0, "no run finished its passes");
}

/* With -smp 2 the second vCPU (started with PSCI CPU_ON) sees exactly what the first sees. */
LAB_TEST(lab__second_vcpu_sees_the_same_values)
{
        const struct case_expect *c = case_of("smp2");

        for (size_t i = 0; i < ELEMENTSOF(bitmap_kernels); i++) {
                const struct run *r = need_run(bitmap_kernels[i], "smp2");
                struct guest_expect e = {0};

                if (!r || !check_ran(r, 3))
                        continue;
                expect_view(kernel_of(r), &c->set, &e);
                for (unsigned pass = 1; pass <= 3; pass++) {
                        const char *on = seen(r, pass, 0, "CPU_ON(1)");

                        CHECK(r, on && strcmp(on, "0x0") == 0, "pass %u: expected CPU_ON(1) = 0x0, observed %s", pass,
                              or_none(on));
                        CHECK(r, has_event(r, pass, 1, "done"), "pass %u: expected vCPU 1 to finish", pass);
                        check_view(r, pass, 0, &e, "plan, vCPU 0");
                        check_view(r, pass, 1, &e, "plan, vCPU 1");
                }
        }
}

/* ---- the example fleet ------------------------------------------------------------- */

static const struct hc_baseline_pool *fleet_pool(const struct hc_baseline_file *f, const char *name, struct fw_view *v)
{
        const struct hc_baseline_pool *p = hc_baseline_file_find(f, name);
        static const char *const regs[4] = {"PSCI_VERSION", "STD_BMAP", "STD_HYP_BMAP", "VENDOR_HYP_BMAP"};
        uint64_t *dst[4] = {&v->psci, &v->std, &v->std_hyp, &v->vendor};

        *v = (struct fw_view)KEEP;
        if (!p)
                return NULL;
        for (size_t i = 0; i < 4; i++) {
                int k = hc_catalog_find(regs[i]);

                if (k >= 0 && p->regs[k].present)
                        *dst[i] = p->regs[k].value;
        }
        return p;
}

/* A VM of each example pool, on the pool's newest kernel, sees exactly the pool's services. */
LAB_TEST(lab__fleet_guest_sees_exactly_its_pools_services)
{
        static const struct {
                const char *kernel, *pool;
        } vms[] = {{"6.12", "web"}, {"7", "batch"}, {"7", "db"}};
        _cleanup_free_ char *path = NULL;
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        struct hc_error err = {0};

        if (asprintf(&path, "%s/pools/fleet.baseline.json", nested_dir) < 0)
                abort();
        CHECK(NULL, hc_baseline_file_load(path, &f, &err) == 0, "%s", hc_error_text(&err));
        if (!f)
                return;
        for (size_t i = 0; i < ELEMENTSOF(vms); i++) {
                _cleanup_free_ char *name = NULL;
                const struct run *r;
                struct fw_view v;
                struct guest_expect e = {0};
                const struct hc_baseline_pool *p = fleet_pool(f, vms[i].pool, &v);

                CHECK(NULL, p && p->status == HC_POOL_OK, "pool %s: expected ok in %s", vms[i].pool, path);
                if (asprintf(&name, "fleet-%s", vms[i].pool) < 0)
                        abort();
                r = need_run(vms[i].kernel, name);
                if (!p || !r || !check_ran(r, 3))
                        continue;
                expect_view(kernel_of(r), &v, &e);
                for (unsigned pass = 1; pass <= 3; pass++)
                        check_view(r, pass, 0, &e, "the pool's baseline");
        }
}

/* Pool batch spans 6.12 and 7.x: its VM on the 7.x host gets the 6.12 host's PSCI 1.1, not 1.3. */
LAB_TEST(lab__fleet_vm_on_the_newest_kernel_gets_the_lowest_hosts_psci)
{
        const struct run *own = need_run("7", "plain"), *vm = need_run("7", "fleet-batch");
        const char *host = own ? seen(own, 1, 0, "PSCI_VERSION") : NULL, *got = vm ? seen(vm, 1, 0, "PSCI_VERSION") : NULL;

        if (!own || !vm)
                return;
        CHECK(own, host && strcmp(host, "0x10003") == 0, "expected the 7.x host to offer PSCI 1.3, observed %s",
              or_none(host));
        CHECK(vm, got && strcmp(got, "0x10001") == 0, "expected PSCI 1.1 (batch-01's 6.12 kernel), observed %s",
              or_none(got));
}

/* ---- libvirt ------------------------------------------------------------------------ */

/* Pool web's view on web-03 (6.12), from the fleet's baseline file. */
static bool web_view(struct guest_expect *e)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        struct hc_error err = {0};
        struct fw_view v;
        const struct kernel_expect *k = kernel_series("6.12");

        if (asprintf(&path, "%s/pools/fleet.baseline.json", nested_dir) < 0)
                abort();
        CHECK(NULL, hc_baseline_file_load(path, &f, &err) == 0, "%s", hc_error_text(&err));
        if (!f || !fleet_pool(f, "web", &v))
                return false;
        expect_view(k, &v, e);
        return true;
}

static void check_says(const struct run *r, const char *needle)
{
        CHECK(r, strstr(r->stderr_text, needle), "expected \"%s\", observed: %s", needle, r->stderr_text);
}

/*
 * Installed as an operator would (cmake --install tree, SIGHUP), the wrapper as
 * <emulator> and pool web in the metadata: virsh start runs the hook, which writes
 * the plan; the wrapper execs QEMU with the shim; the guest sees pool web's services.
 */
LAB_TEST(lab__libvirt_start_gives_the_guest_its_pools_services)
{
        const struct run *def = need_run("6.12", "lv-define"), *r = need_run("6.12", "lv-start");
        struct guest_expect e = {0};

        if (def)
                CHECK(def, def->rc == 0, "virsh define: expected rc 0, observed %d: %s", def->rc, def->stderr_text);
        if (!r || !web_view(&e))
                return;
        CHECK(r, r->rc == 0, "virsh start: expected rc 0, observed %d: %s", r->rc, r->stderr_text);
        check_view(r, 1, 0, &e, "pool web through libvirt");
        check_says(r, "fact state: running");
        check_says(r, "fact plan: pool web");
        check_says(r, "/usr/libexec/hypercall/qemu-system-aarch64");
        check_says(r, "verified 4 registers before the first KVM_RUN");
        /* QEMU runs as Debian's libvirt-qemu and reads its plan through the group the hook gave it. */
        check_says(r, "fact qemu-ids: 64055:64055");
        check_says(r, "fact plan-owner: 0:64055 440");
}

/* virsh reset (a new pass, same values), destroy (plan removed), start again (same values). */
LAB_TEST(lab__libvirt_reset_stop_and_restart_keep_the_values)
{
        const struct run *reset = need_run("6.12", "lv-reset"), *stop = need_run("6.12", "lv-stop"),
                         *again = need_run("6.12", "lv-restart");
        struct guest_expect e = {0};

        if (!web_view(&e))
                return;
        if (reset) {
                CHECK(reset, reset->rc == 0, "virsh reset: expected rc 0, observed %d", reset->rc);
                check_view(reset, 2, 0, &e, "pool web after virsh reset");
        }
        if (stop) {
                CHECK(stop, stop->rc == 0, "virsh destroy: expected rc 0, observed %d", stop->rc);
                check_says(stop, "fact plan: none");
                check_says(stop, "fact state: shut off");
        }
        if (again) {
                CHECK(again, again->rc == 0, "virsh start: expected rc 0, observed %d: %s", again->rc,
                      again->stderr_text);
                check_view(again, 1, 0, &e, "pool web after stop and start");
                check_says(again, "fact plan: pool web");
        }
}

/* libvirtd stopped and started again: the hook's reconnect leaves the domain running, same QEMU. */
LAB_TEST(lab__libvirt_reconnect_after_libvirtd_restart_leaves_the_domain_running)
{
        const struct run *r = need_run("6.12", "lv-reconnect");

        if (!r)
                return;
        CHECK(r, r->rc == 0, "expected the domain running under the same QEMU, observed: %s", r->stderr_text);
        check_says(r, "state after the restart: running");
        CHECK(r, r->n_l2 == 0, "expected the guest to go on undisturbed, observed %zu new console lines", r->n_l2);
}

/* A domain naming a pool this host is not in: the hook refuses at prepare, virsh says why. */
LAB_TEST(lab__libvirt_start_refused_with_the_hooks_message)
{
        const struct run *r = need_run("6.12", "lv-foreign-pool");

        if (!r)
                return;
        CHECK(r, r->rc != 0, "expected virsh start to fail, observed rc=0");
        CHECK(r, r->n_l2 == 0, "expected the guest to print nothing, observed %zu lines", r->n_l2);
        check_says(r, "error: Failed to start domain 'web-foreign'");
        check_says(r, "hypercall: VM web-foreign refused: this host (web-03) is not a member of pool \"db\"");
        check_says(r, "fact plan: none");
}

/* A plan from a stale record (7.x values on the 6.12 host): the shim stops QEMU, virsh says why. */
LAB_TEST(lab__libvirt_start_refused_with_the_shims_message)
{
        const struct run *r = need_run("6.12", "lv-stale-plan");

        if (!r)
                return;
        CHECK(r, r->rc != 0, "expected virsh start to fail, observed rc=0");
        CHECK(r, r->n_l2 == 0, "expected the guest to print nothing, observed %zu lines", r->n_l2);
        check_says(r, "error: Failed to start domain 'web-vm'");
        check_says(r, "stopping before the guest runs: VENDOR_HYP_BMAP_2 (0x6030000000160003) does not exist on "
                      "this host's kernel (ENOENT), but the plan requires it: this host cannot run pool web");
        check_says(r, "fact state: shut off");
}

/* ---- migration ----------------------------------------------------------------------- */

struct reg_list {
        uint64_t *ids;
        size_t n;
};

/* The last "kvm-reg-log: KVM_GET_REG_LIST" of a run: the real vCPU's list. */
static struct reg_list last_reg_list(const struct run *r)
{
        struct reg_list l = {0};
        const char *p = r->stderr_text, *last = NULL;

        while ((p = strstr(p, "kvm-reg-log: KVM_GET_REG_LIST ")) != NULL) {
                last = p;
                p++;
        }
        if (!last)
                return l;
        p = last + strlen("kvm-reg-log: KVM_GET_REG_LIST ");
        l.n = strtoull(p, (char **)&p, 10);
        l.ids = calloc(l.n + 1, sizeof(*l.ids));
        if (!l.ids)
                abort();
        for (size_t i = 0; i < l.n; i++)
                l.ids[i] = strtoull(p, (char **)&p, 16);
        return l;
}

static bool list_has(const struct reg_list *l, uint64_t id)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->ids[i] == id)
                        return true;
        return false;
}

static unsigned reg_class(uint64_t id)
{
        return (unsigned)(id >> 16) & 0xfff;
}

/* QEMU's cpreg list, which the stream carries: every listed register but core (0x10) and SVE (0x15). */
static bool in_stream(uint64_t id)
{
        return reg_class(id) != 0x10 && reg_class(id) != 0x15;
}

static bool is_firmware(uint64_t id)
{
        return reg_class(id) == 0x14 || reg_class(id) == 0x16;
}

struct verdict {
        bool ran, migrated;
        unsigned fw_missing, other_missing, fw_refused, other_refused;
        char why[512];
};

static void why_add(struct verdict *v, unsigned *n, const char *fmt, ...) _printf_(3, 4);
static void why_add(struct verdict *v, unsigned *n, const char *fmt, ...)
{
        size_t o = strlen(v->why);
        va_list ap;

        if (++*n > 4)
                return;
        va_start(ap, fmt);
        vsnprintf(v->why + o, sizeof(v->why) - o, fmt, ap);
        va_end(ap);
}

/* Why DEST could not take SOURCE's stream: registers it lacks, values it refused. */
static struct verdict judge(const struct run *src, const struct run *dst)
{
        struct verdict v = {.ran = true};
        struct reg_list s = last_reg_list(src), d = last_reg_list(dst);
        const char *p = dst->stderr_text;
        unsigned n_missing = 0, n_refused = 0;
        char name[48];
        size_t o;

        v.migrated = dst->rc == 0 && has_event(dst, 2, 0, "unpark");
        for (size_t i = 0; i < s.n && d.n; i++)
                if (in_stream(s.ids[i]) && !list_has(&d, s.ids[i])) {
                        if (is_firmware(s.ids[i]))
                                v.fw_missing++;
                        else
                                v.other_missing++;
                        why_add(&v, &n_missing, "%s%s", n_missing ? ", " : "not listed there: ",
                                hc_reg_text(s.ids[i], name, sizeof(name)));
                }
        if (n_missing > 4) {
                o = strlen(v.why);
                snprintf(v.why + o, sizeof(v.why) - o, " and %u more", n_missing - 4);
        }
        while ((p = strstr(p, "kvm-reg-log: KVM_SET_ONE_REG 0x")) != NULL) {
                uint64_t id = strtoull(p + strlen("kvm-reg-log: KVM_SET_ONE_REG "), NULL, 16);
                const char *colon = strstr(p, ": "), *eol = strchr(p, '\n');

                colon = colon ? strstr(colon + 2, ": ") : NULL;
                if (is_firmware(id))
                        v.fw_refused++;
                else
                        v.other_refused++;
                why_add(&v, &n_refused, "%s%s %.*s", v.why[0] && n_refused == 0 ? "; " : n_refused ? ", " : "",
                        hc_reg_text(id, name, sizeof(name)), colon && eol && colon < eol ? (int)(eol - colon - 2) : 0,
                        colon ? colon + 2 : "");
                p++;
        }
        if (!s.n || !d.n) {
                o = strlen(v.why);
                snprintf(v.why + o, sizeof(v.why) - o, "%s(register list missing: source %zu, destination %zu)",
                         o ? " " : "", s.n, d.n);
        }
        free(s.ids);
        free(d.ids);
        return v;
}

/* hypercallctl check-migration for the mixed pool: 0 allowed, 1 refused, else undecided. */
static int predict(const char *from, const char *to)
{
        _cleanup_free_ char *cmd = NULL;
        int status;

        if (asprintf(&cmd,
                     "'%s' check-migration --records '%s/pools/mixed' --policies '%s' --pool mixed --from lab-%s-max "
                     "--to lab-%s-max >/dev/null",
                     ctl, nested_dir, mixed_policies, from, to) < 0)
                abort();
        status = system(cmd);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const struct {
        const char *from, *to;
} directions[] = {
        {"6.1", "6.1"},  {"6.1", "6.12"}, {"6.1", "7"},  {"6.12", "6.1"},
        {"6.12", "6.12"}, {"6.12", "7"},  {"7", "6.1"},  {"7", "6.12"}, {"7", "7"},
};

static const struct run *mig_run(const char *to, const char *from)
{
        _cleanup_free_ char *name = NULL;

        if (asprintf(&name, "mig-from-%s", from) < 0)
                abort();
        return need_run(to, name);
}

/* Every kernel saved a running guest under the pool's plan, and every direction was tried. */
LAB_TEST(lab__migration_streams_saved_and_restored_on_every_kernel_pair)
{
        for (size_t i = 0; i < ELEMENTSOF(bitmap_kernels); i++) {
                const struct run *r = need_run(bitmap_kernels[i], "mig-save");
                struct reg_list l;

                if (!r)
                        continue;
                l = last_reg_list(r);
                CHECK(r, r->rc == 0 && has_event(r, 1, 0, "park") && l.n > 0,
                      "expected a parked guest migrated to a file and QEMU's register list, observed rc=%d", r->rc);
                free(l.ids);
        }
        for (size_t i = 0; i < ELEMENTSOF(directions); i++)
                (void)mig_run(directions[i].to, directions[i].from);
}

/*
 * hypercallctl check-migration, given the probe tier's records and vCPU register
 * sets (pools/mixed/vcpu), must predict every direction: refuse exactly those
 * QEMU refused, whether a firmware register stopped the load or any other
 * register (one the destination kernel does not list, or an ID value it will
 * not take), and allow those where the VM moved.
 */
LAB_TEST(lab__check_migration_predicts_every_outcome)
{
        for (size_t i = 0; i < ELEMENTSOF(directions); i++) {
                const char *from = directions[i].from, *to = directions[i].to;
                const struct run *src = need_run(from, "mig-save"), *dst = mig_run(to, from);
                struct verdict v;
                int p;
                bool fw_blocked;

                if (!src || !dst)
                        continue;
                v = judge(src, dst);
                p = predict(from, to);
                fw_blocked = v.fw_missing || v.fw_refused;
                CHECK(dst, p == 0 || p == 1, "check-migration --from lab-%s-max --to lab-%s-max: exit %d", from, to,
                      p);
                printf("%s: %s -> %s: check-migration %s; observed %s (%s%s)\n", lab_current_test, from, to,
                       p == 0 ? "allows" : p == 1 ? "refuses" : "fails", v.migrated ? "migrated" : "refused by QEMU",
                       fw_blocked ? "firmware: " : v.other_missing || v.other_refused ? "not firmware: " : "",
                       v.why[0] ? v.why : "nothing in the way");
                CHECK(dst, (p == 1) == !v.migrated, "%s -> %s: check-migration %s, but the VM %s (%s)", from, to,
                      p == 1 ? "refuses" : "allows", v.migrated ? "migrated" : "was refused by QEMU", v.why);
                CHECK(dst, v.migrated || fw_blocked || v.other_missing || v.other_refused,
                      "%s -> %s: QEMU refused the stream and no register explains it (%s)", from, to,
                      dst->stderr_text);
        }
}

/* The probe's vCPU register set is exactly the list QEMU's real vCPU migrates, on every kernel. */
LAB_TEST(lab__vcpu_register_set_is_the_list_qemu_migrates)
{
        for (size_t i = 0; i < ELEMENTSOF(bitmap_kernels); i++) {
                const struct run *r = need_run(bitmap_kernels[i], "mig-save");
                _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *v = NULL;
                _cleanup_free_ char *path = NULL;
                struct hc_error err = {0};
                struct reg_list l;
                size_t n = 0, missing = 0;

                if (!r)
                        continue;
                if (asprintf(&path, "%s/pools/mixed/vcpu/lab-%s-max.json", nested_dir, bitmap_kernels[i]) < 0)
                        abort();
                if (hc_vcpu_regs_load(path, &v, &err) < 0) {
                        CHECK(r, false, "%s", hc_error_text(&err));
                        continue;
                }
                l = last_reg_list(r);
                for (size_t j = 0; j < l.n; j++)
                        if (in_stream(l.ids[j])) {
                                n++;
                                missing += !hc_vcpu_regs_has(v, l.ids[j]);
                        }
                CHECK(r, l.n > 0 && n == v->n_ids && missing == 0,
                      "QEMU's vCPU on %s migrates %zu registers, the probe listed %zu (%zu of QEMU's not among them)",
                      bitmap_kernels[i], n, v->n_ids, missing);
                free(l.ids);
        }
}

/* Where nothing stands in the way, the VM moves and its guest keeps the pool's values. */
LAB_TEST(lab__migrated_guest_keeps_the_pools_values)
{
        /* Pool mixed: TRNG denied, PSCI the lowest member's 1.1; the rest as every member offers. */
        static const struct fw_view mixed = {0x10001, 0x0, 0x1, 0x3};
        size_t moved = 0;

        for (size_t i = 0; i < ELEMENTSOF(directions); i++) {
                const char *from = directions[i].from, *to = directions[i].to;
                const struct run *src = need_run(from, "mig-save"), *dst = mig_run(to, from);
                struct guest_expect e = {0};
                struct verdict v;

                if (!src || !dst)
                        continue;
                v = judge(src, dst);
                if (v.fw_missing || v.fw_refused || v.other_missing || v.other_refused) {
                        CHECK(dst, !v.migrated, "expected QEMU to refuse the stream (%s), observed a migrated guest",
                              v.why);
                        continue;
                }
                CHECK(dst, v.migrated, "nothing stands in the way (%s -> %s), expected the guest to resume; rc=%d: %s",
                      from, to, dst->rc, dst->stderr_text);
                if (!v.migrated)
                        continue;
                moved++;
                expect_view(kernel_of(src), &mixed, &e);
                check_view(src, 1, 0, &e, "pool mixed, before the move");
                check_view(dst, 2, 0, &e, "pool mixed, after the move");
        }
        CHECK(NULL, moved > 0, "no direction migrated at all");
}

/* ---- main ------------------------------------------------------------------------ */

static void free_runs(void)
{
        for (size_t i = 0; i < n_runs; i++) {
                free(runs[i].id);
                free(runs[i].kernel);
                free(runs[i].name);
                free(runs[i].dir);
                free(runs[i].lines);
                free(runs[i].stderr_text);
        }
        free(runs);
}

static int setup(char **argv)
{
        nested_dir = argv[1];
        ctl = argv[2];
        mixed_policies = argv[3];
        if (load_runs() < 0)
                return -1;
        atexit(free_runs);
        return 0;
}

int main(int argc, char **argv)
{
        return lab_main(argc, argv, "lab-l2-expect", 3, "NESTED_DIR HYPERCALLCTL MIXED_POLICIES", setup);
}

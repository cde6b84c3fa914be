/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lab-expect: checks the host records that real Debian arm64 kernels produced in
 * the lab tier (run-probe-tier.sh) against the values measured in
 * kvm-abi.md §9, through the project's own reader (hc_record_load()).
 *
 * Usage: lab-expect RECORDS_DIR [TEST]   (no TEST: all; --list: names)
 *
 * Each record is RECORDS_DIR/lab-<series>-<cpu>.json: the file name says what was
 * booted (kernel series 5.10/6.1/6.12/7 and the qemu -cpu model up to the first
 * comma), so the checks never trust the record to say what it is.  Expectations are
 * tables in the style of the kernel's KVM selftest arm64/hypercalls.c: one per
 * kernel (register -> value or absent) and one for the per-CPU workaround levels.
 * Every LAB_TEST names one behaviour; CMake registers each as its own ctest entry.
 * A test with no record to apply to fails: an incomplete matrix proves nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "hc-macro.h"
#include "lab-check.h"
#include "record.h"

/* ---- expectation tables ------------------------------------------------------ */

/* One register as the probe must report it on a kernel. */
struct reg_expect {
        const char *reg; /* catalog name */
        bool present;
        uint64_t value;
        bool has_default; /* a new VM starts below the host maximum */
        uint64_t default_value;
};

#define ABSENT(r)                     {.reg = #r, .present = false}
#define VALUE(r, v)                   {.reg = #r, .present = true, .value = (v)}
#define VALUE_DEFAULT(r, v, d)                                                                     \
        {.reg = #r, .present = true, .value = (v), .has_default = true, .default_value = (d)}

/* 5.10: PSCI 1.0 is KVM_ARM_PSCI_LATEST before 5.18; the bitmaps arrived in 5.19. */
static const struct reg_expect kernel_5_10[] = {
        VALUE(PSCI_VERSION, 0x10000),
        ABSENT(STD_BMAP),
        ABSENT(STD_HYP_BMAP),
        ABSENT(VENDOR_HYP_BMAP),
        ABSENT(VENDOR_HYP_BMAP_2),
};

/* 6.1: PSCI 1.1 (5.18); TRNG, PV time, KVM features + PTP (5.19); no BMAP_2 yet. */
static const struct reg_expect kernel_6_1[] = {
        VALUE(PSCI_VERSION, 0x10001),
        VALUE(STD_BMAP, 0x1),
        VALUE(STD_HYP_BMAP, 0x1),
        VALUE(VENDOR_HYP_BMAP, 0x3),
        ABSENT(VENDOR_HYP_BMAP_2),
};

/* 6.12: as 6.1 (PSCI 1.3 is 6.13, BMAP_2 6.15). */
static const struct reg_expect kernel_6_12[] = {
        VALUE(PSCI_VERSION, 0x10001),
        VALUE(STD_BMAP, 0x1),
        VALUE(STD_HYP_BMAP, 0x1),
        VALUE(VENDOR_HYP_BMAP, 0x3),
        ABSENT(VENDOR_HYP_BMAP_2),
};

/* 7.x: PSCI 1.3; BMAP_2 offers DISCOVER_IMPL_VER/CPUS but a new VM starts at 0. */
static const struct reg_expect kernel_7[] = {
        VALUE(PSCI_VERSION, 0x10003),
        VALUE(STD_BMAP, 0x1),
        VALUE(STD_HYP_BMAP, 0x1),
        VALUE(VENDOR_HYP_BMAP, 0x3),
        VALUE_DEFAULT(VENDOR_HYP_BMAP_2, 0x3, 0x0),
};

struct kernel_expect {
        const char *series;       /* as in the record's file name */
        const char *uname_prefix; /* what `uname -r` of that series starts with */
        bool before_bhb_default;  /* predates "assume unknown CPUs are vulnerable to BHB" */
        const struct reg_expect *regs;
        size_t n_regs;
};

#define KERNEL(s, prefix, old_bhb, table)                                                          \
        {.series = (s), .uname_prefix = (prefix), .before_bhb_default = (old_bhb),                 \
         .regs = (table), .n_regs = ELEMENTSOF(table)}

static const struct kernel_expect kernels[] = {
        KERNEL("5.10", "5.10.", true, kernel_5_10),
        KERNEL("6.1", "6.1.", false, kernel_6_1),
        KERNEL("6.12", "6.12.", false, kernel_6_12),
        KERNEL("7", "7.", false, kernel_7),
};

/*
 * Per CPU model: MIDR as QEMU 7.2 sets it, how KVM comes up by default (VHE needs
 * FEAT_VHE: not on the A53/A57/A72), and WORKAROUND_1/2/3 levels on 5.10 and on
 * 6.1/6.12/7.x.  The two differ only in WA3 of CPUs the 5.10 build does not know
 * (max, a64fx): newer kernels assume an unknown CPU is vulnerable to Spectre-BHB.
 */
struct cpu_expect {
        const char *cpu;
        uint64_t midr;
        const char *kvm_mode;
        uint64_t wa_old[3]; /* 5.10 */
        uint64_t wa[3];     /* 6.1, 6.12, 7.x */
};

static const struct cpu_expect cpus[] = {
        {"a64fx", 0x461f0010, "vhe", {0, 0, 2}, {0, 0, 0}},
        {"cortex-a53", 0x410fd034, "nvhe", {2, 3, 2}, {2, 3, 2}},
        {"cortex-a57", 0x411fd070, "nvhe", {0, 0, 0}, {0, 0, 0}},
        {"cortex-a72", 0x410fd083, "nvhe", {0, 0, 0}, {0, 0, 0}},
        {"cortex-a76", 0x414fd0b1, "vhe", {2, 0, 1}, {2, 0, 1}},
        {"max", 0x000f0510, "vhe", {2, 0, 2}, {2, 0, 0}},
        {"neoverse-n1", 0x414fd0c1, "vhe", {2, 0, 1}, {2, 0, 1}},
};

static const char *const workaround_regs[3] = {
        "SMCCC_ARCH_WORKAROUND_1",
        "SMCCC_ARCH_WORKAROUND_2",
        "SMCCC_ARCH_WORKAROUND_3",
};

/* The tier is only meaningful with every kernel and at least this many CPU models. */
#define MIN_CPUS_PER_KERNEL 3

/* ---- records ------------------------------------------------------------------- */

struct lab_record {
        char *file; /* base name, for messages */
        char *stem; /* file name without .json: the host name the tier passed */
        const struct kernel_expect *kernel;
        const struct cpu_expect *cpu;
        struct hc_record *rec; /* NULL when it failed to load */
        char load_error[HC_ERROR_TEXT_MAX];
};

static struct lab_record *records;
static size_t n_records;
static const char *records_dir;

/* "lab-<series>-<cpu>" -> tables; false if either part is unknown. */
static bool parse_stem(const char *stem, const struct kernel_expect **k, const struct cpu_expect **c)
{
        const char *series, *dash;

        if (strncmp(stem, "lab-", 4) != 0)
                return false;
        series = stem + 4;
        dash = strchr(series, '-');
        if (!dash)
                return false;
        *k = NULL;
        *c = NULL;
        for (size_t i = 0; i < ELEMENTSOF(kernels); i++)
                if (strlen(kernels[i].series) == (size_t)(dash - series) &&
                    strncmp(kernels[i].series, series, (size_t)(dash - series)) == 0)
                        *k = &kernels[i];
        for (size_t i = 0; i < ELEMENTSOF(cpus); i++)
                if (strcmp(cpus[i].cpu, dash + 1) == 0)
                        *c = &cpus[i];
        return *k && *c;
}

static int json_only(const struct dirent *d)
{
        size_t n = strlen(d->d_name);

        return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static int load_records(const char *dir)
{
        struct dirent **list;
        int n = scandir(dir, &list, json_only, alphasort);

        if (n < 0) {
                fprintf(stderr, "lab-expect: %s: %s\n", dir, strerror(errno));
                return -errno;
        }
        records = calloc((size_t)n + 1, sizeof(*records));
        if (!records)
                abort();
        for (int i = 0; i < n; i++) {
                struct lab_record *l = &records[n_records++];
                _cleanup_free_ char *path = NULL;
                struct hc_error err = {0};

                l->file = strdup(list[i]->d_name);
                l->stem = strndup(list[i]->d_name, strlen(list[i]->d_name) - 5);
                if (!l->file || !l->stem || asprintf(&path, "%s/%s", dir, l->file) < 0)
                        abort();
                if (!parse_stem(l->stem, &l->kernel, &l->cpu))
                        snprintf(l->load_error, sizeof(l->load_error),
                                 "file name is not lab-<series>-<cpu>.json with a known series and cpu");
                else if (hc_record_load(path, &l->rec, &err) < 0)
                        snprintf(l->load_error, sizeof(l->load_error), "%s", hc_error_text(&err));
                free(list[i]);
        }
        free(list);
        return 0;
}

/* ---- assertions ---------------------------------------------------------------- */

/* Where a failed check points: the record's file, or the whole directory. */
static const char *where(const struct lab_record *l)
{
        return l ? l->file : records_dir;
}

#define CHECK(l, cond, ...) LAB_CHECK(where(l), cond, __VA_ARGS__)

/* "absent", "0x3" or "0x3 (default 0x0)" */
static const char *state_text(bool present, uint64_t value, bool has_default, uint64_t def,
                              char *buf, size_t len)
{
        char v[HC_HEX_MAX], d[HC_HEX_MAX];

        if (!present)
                snprintf(buf, len, "absent");
        else if (has_default)
                snprintf(buf, len, "%s (default %s)", hc_hex(value, v, sizeof(v)), hc_hex(def, d, sizeof(d)));
        else
                snprintf(buf, len, "%s", hc_hex(value, v, sizeof(v)));
        return buf;
}

static const struct hc_reg_state *reg_state(const struct lab_record *l, const char *name)
{
        int i = hc_catalog_find(name);

        if (i < 0) {
                fprintf(stderr, "lab-expect: table names %s, which the catalog does not know\n", name);
                exit(EXIT_FAILURE);
        }
        return &l->rec->regs[i];
}

/* Compares one register with its expectation: presence, value, default. */
static void check_reg(const struct lab_record *l, const struct reg_expect *e)
{
        const struct hc_reg_state *s;
        char want[64], got[64];
        bool same;

        assert(e); /* every table lists every non-workaround register */
        s = reg_state(l, e->reg);
        same = s->present == e->present &&
                    (!e->present || (s->value == e->value && s->has_default == e->has_default &&
                                     (!e->has_default || s->default_value == e->default_value)));

        CHECK(l, same, "%s (kernel %s, -cpu %s): expected %s, observed %s", e->reg, l->kernel->series,
              l->cpu->cpu, state_text(e->present, e->value, e->has_default, e->default_value, want, sizeof(want)),
              state_text(s->present, s->value, s->has_default, s->default_value, got, sizeof(got)));
}

static const struct reg_expect *kernel_reg(const struct kernel_expect *k, const char *name)
{
        for (size_t i = 0; i < k->n_regs; i++)
                if (strcmp(k->regs[i].reg, name) == 0)
                        return &k->regs[i];
        return NULL;
}

/* Applies fn to every loaded record that matches; fails when none does. */
typedef bool (*record_filter)(const struct lab_record *l);
typedef void (*record_check)(const struct lab_record *l);

static void for_each_record(record_filter filter, record_check fn, const char *what)
{
        size_t applied = 0;

        for (size_t i = 0; i < n_records; i++) {
                const struct lab_record *l = &records[i];

                if (!l->rec || (filter && !filter(l)))
                        continue;
                fn(l);
                applied++;
        }
        CHECK(NULL, applied > 0, "no record %s in the directory: the tier did not boot it", what);
}

static bool is_legacy_kernel(const struct lab_record *l)
{
        return strcmp(l->kernel->series, "5.10") == 0;
}

static bool is_bitmap_kernel(const struct lab_record *l)
{
        return !is_legacy_kernel(l);
}

static bool is_kernel_7(const struct lab_record *l)
{
        return strcmp(l->kernel->series, "7") == 0;
}

static bool is_kernel_6(const struct lab_record *l)
{
        return strncmp(l->kernel->series, "6.", 2) == 0;
}

static bool is_bhb_unknown_cpu(const struct lab_record *l)
{
        return strcmp(l->cpu->cpu, "max") == 0 || strcmp(l->cpu->cpu, "a64fx") == 0;
}

/* ---- tests ---------------------------------------------------------------------- */

/* Every record the tier wrote passes the strict reader, and the matrix is complete. */
LAB_TEST(lab__records_load_and_cover_matrix)
{
        for (size_t i = 0; i < n_records; i++)
                CHECK(&records[i], records[i].rec, "does not load: %s", records[i].load_error);
        for (size_t k = 0; k < ELEMENTSOF(kernels); k++) {
                size_t n = 0;

                for (size_t i = 0; i < n_records; i++)
                        n += records[i].rec && records[i].kernel == &kernels[k];
                CHECK(NULL, n >= MIN_CPUS_PER_KERNEL,
                      "kernel %s: expected records from at least %d CPU models, observed %zu",
                      kernels[k].series, MIN_CPUS_PER_KERNEL, n);
        }
}

static void check_identity(const struct lab_record *l)
{
        char want[HC_HEX_MAX];
        const char *k = l->rec->kernel;

        CHECK(l, strcmp(l->rec->host, l->stem) == 0, "host: expected \"%s\" (hc.host=), observed \"%s\"",
              l->stem, l->rec->host);
        CHECK(l, strncmp(k, l->kernel->uname_prefix, strlen(l->kernel->uname_prefix)) == 0 &&
                         strstr(k, "-arm64"),
              "kernel: expected a Debian arm64 %s* release, observed \"%s\"", l->kernel->uname_prefix, k);
        hc_hex(l->cpu->midr, want, sizeof(want));
        CHECK(l, l->rec->midr && strcmp(l->rec->midr, want) == 0, "midr (-cpu %s): expected %s, observed %s",
              l->cpu->cpu, want, l->rec->midr ?: "null");
}

/* host from --host, kernel from uname, midr from sysfs: the record names what was booted. */
LAB_TEST(lab__record_identity_matches_boot)
{
        for_each_record(NULL, check_identity, "at all");
}

static void check_psci(const struct lab_record *l)
{
        check_reg(l, kernel_reg(l->kernel, "PSCI_VERSION"));
}

/* A fresh VM reports the newest PSCI the kernel implements: 1.0, 1.1, 1.1, 1.3. */
LAB_TEST(lab__psci_version_is_kernel_maximum)
{
        for_each_record(NULL, check_psci, "at all");
}

static void check_bitmaps_absent(const struct lab_record *l)
{
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_register *reg = hc_catalog_get(i);
                const struct reg_expect *e = kernel_reg(l->kernel, reg->name);

                if (reg->kind == HC_KIND_BITMAP)
                        check_reg(l, e);
        }
        CHECK(l, hc_record_is_legacy(l->rec), "hc_record_is_legacy(): expected true on %s, observed false",
              l->kernel->series);
}

/* 5.10 lacks the bitmap class (ENOENT): recorded as absent, never as a zero bitmap. */
LAB_TEST(lab__pre_5_19_bitmaps_absent_not_zero)
{
        for_each_record(is_legacy_kernel, check_bitmaps_absent, "from a 5.10 kernel");
}

static void check_bitmaps_max(const struct lab_record *l)
{
        static const char *const names[] = {"STD_BMAP", "STD_HYP_BMAP", "VENDOR_HYP_BMAP"};

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                check_reg(l, kernel_reg(l->kernel, names[i]));
        CHECK(l, !hc_record_is_legacy(l->rec), "hc_record_is_legacy(): expected false on %s, observed true",
              l->kernel->series);
}

/* 5.19+: STD 0x1 (TRNG), STD_HYP 0x1 (PV time), VENDOR 0x3 (features, PTP), no separate default. */
LAB_TEST(lab__bitmaps_offer_every_service_from_5_19)
{
        for_each_record(is_bitmap_kernel, check_bitmaps_max, "from a 5.19+ kernel");
}

static void check_bmap_2(const struct lab_record *l)
{
        check_reg(l, kernel_reg(l->kernel, "VENDOR_HYP_BMAP_2"));
}

/* 6.1 and 6.12 lack BMAP_2. */
LAB_TEST(lab__vendor_hyp_bmap_2_absent_before_6_15)
{
        for_each_record(is_kernel_6, check_bmap_2, "from a 6.1/6.12 kernel");
}

/* 7.x offers DISCOVER_IMPL_VER/CPUS (0x3) while a new VM starts with 0x0. */
LAB_TEST(lab__vendor_hyp_bmap_2_offers_0x3_default_0x0)
{
        for_each_record(is_kernel_7, check_bmap_2, "from a 7.x kernel");
}

static void check_workarounds(const struct lab_record *l)
{
        const uint64_t *want = l->kernel->before_bhb_default ? l->cpu->wa_old : l->cpu->wa;

        for (size_t i = 0; i < 3; i++) {
                struct reg_expect e = {.reg = workaround_regs[i], .present = true, .value = want[i]};
                check_reg(l, &e);
        }
}

/* WA1/WA2/WA3 are the host's mitigation levels: per CPU model, e.g. a53 2/3/2, n1 2/0/1, a72 0/0/0. */
LAB_TEST(lab__workaround_levels_follow_cpu_model)
{
        for_each_record(NULL, check_workarounds, "at all");
}

/* max and a64fx: WA3 2 on 5.10, 0 from 6.1 (unknown CPUs assumed BHB-vulnerable). */
LAB_TEST(lab__wa3_drops_after_5_10_for_unknown_cpus)
{
        for_each_record(is_bhb_unknown_cpu, check_workarounds, "for -cpu max or a64fx");
        for (size_t i = 0; i < ELEMENTSOF(cpus); i++) {
                const struct hc_reg_state *old = NULL, *new = NULL;
                const struct lab_record *lo = NULL;
                int wa3 = hc_catalog_find("SMCCC_ARCH_WORKAROUND_3");

                if (strcmp(cpus[i].cpu, "max") != 0 && strcmp(cpus[i].cpu, "a64fx") != 0)
                        continue;
                for (size_t j = 0; j < n_records; j++) {
                        const struct lab_record *l = &records[j];

                        if (!l->rec || l->cpu != &cpus[i])
                                continue;
                        if (is_legacy_kernel(l)) {
                                old = &l->rec->regs[wa3];
                                lo = l;
                        } else if (!new) {
                                new = &l->rec->regs[wa3];
                        }
                }
                if (old && new)
                        CHECK(lo, old->value > new->value,
                              "SMCCC_ARCH_WORKAROUND_3 (-cpu %s): expected 5.10 above the newer kernels, "
                              "observed 0x%llx vs 0x%llx", cpus[i].cpu, (unsigned long long)old->value,
                              (unsigned long long)new->value);
        }
}

/* Same CPU model, kernels 6.1/6.12/7.x: identical WA levels (a pool can move VMs freely). */
LAB_TEST(lab__workaround_levels_equal_from_6_1)
{
        size_t compared = 0;

        for (size_t i = 0; i < n_records; i++) {
                const struct lab_record *a = &records[i];

                if (!a->rec || !is_bitmap_kernel(a))
                        continue;
                for (size_t j = i + 1; j < n_records; j++) {
                        const struct lab_record *b = &records[j];

                        if (!b->rec || !is_bitmap_kernel(b) || b->cpu != a->cpu)
                                continue;
                        for (size_t w = 0; w < 3; w++) {
                                uint64_t va = reg_state(a, workaround_regs[w])->value;
                                uint64_t vb = reg_state(b, workaround_regs[w])->value;

                                CHECK(b, va == vb, "%s: expected 0x%llx as on %s, observed 0x%llx",
                                      workaround_regs[w], (unsigned long long)va, a->file,
                                      (unsigned long long)vb);
                        }
                        compared++;
                }
        }
        CHECK(NULL, compared > 0, "no CPU model booted on two of 6.1/6.12/7.x");
}

static void check_no_unknown(const struct lab_record *l)
{
        CHECK(l, l->rec->n_unknown == 0,
              "unknown_firmware_registers: expected none (mainline has no other), observed %zu, first 0x%llx",
              l->rec->n_unknown, l->rec->n_unknown ? (unsigned long long)l->rec->unknown[0] : 0ULL);
}

/* Every firmware-class ID the kernels list is in the catalog. */
LAB_TEST(lab__unknown_firmware_registers_empty)
{
        for_each_record(NULL, check_no_unknown, "at all");
}

static void check_kvm_mode(const struct lab_record *l)
{
        CHECK(l, l->rec->kvm_mode && strcmp(l->rec->kvm_mode, l->cpu->kvm_mode) == 0,
              "kvm_mode (kernel %s, -cpu %s): expected \"%s\", observed \"%s\"", l->kernel->series,
              l->cpu->cpu, l->cpu->kvm_mode, l->rec->kvm_mode ?: "null");
}

/* Default kvm-arm.mode: VHE where the CPU has FEAT_VHE, else nVHE. */
LAB_TEST(lab__kvm_mode_follows_cpu_vhe_support)
{
        for_each_record(NULL, check_kvm_mode, "at all");
}

static void check_full_table(const struct lab_record *l)
{
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_register *reg = hc_catalog_get(i);
                const struct reg_expect *e = kernel_reg(l->kernel, reg->name);

                if (reg->kind == HC_KIND_WORKAROUND)
                        continue;
                CHECK(l, e, "%s: no expectation for kernel %s in lab-expect.c (new catalog register?)",
                      reg->name, l->kernel->series);
                if (e)
                        check_reg(l, e);
        }
        check_workarounds(l);
}

/* The whole record, register by register: nothing in the catalog goes unchecked. */
LAB_TEST(lab__every_catalog_register_as_measured)
{
        for_each_record(NULL, check_full_table, "at all");
}

/* ---- main ------------------------------------------------------------------------ */

static int setup(char **argv)
{
        records_dir = argv[1];
        return load_records(records_dir);
}

int main(int argc, char **argv)
{
        return lab_main(argc, argv, "lab-expect", 1, "RECORDS_DIR", setup);
}

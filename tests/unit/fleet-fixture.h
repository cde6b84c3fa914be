/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Host records for unit tests, built from the values kvm-abi.md §9 measured
 * on Debian kernels 5.10, 6.1, 6.12 and 7.3 with several -cpu models, so a
 * test reads as "a 6.12 cortex-a76 host" rather than as eight hex values.
 * Header-only: each test binary includes it once.
 */
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>

#include "baseline.h"
#include "fileio.h"
#include "hc-test.h"
#include "jsonutil.h"
#include "migration.h"
#include "policy.h"
#include "record.h"

#define FX_PROBED_AT      "2026-11-24T10:00:00Z"
#define FX_PROBED_AT_UNIX 1795514400
#define FX_NOW            (FX_PROBED_AT_UNIX + 3600)

static inline size_t fx_reg(const char *name)
{
        int i = hc_catalog_find(name);

        HC_ASSERT(i >= 0, "catalog lacks %s", name);
        return (size_t)i;
}

static inline void fx_set(struct hc_record *r, const char *name, uint64_t value)
{
        r->regs[fx_reg(name)] = (struct hc_reg_state){.present = true, .value = value};
}

static inline void fx_absent(struct hc_record *r, const char *name)
{
        r->regs[fx_reg(name)] = (struct hc_reg_state){.present = false};
}

/* WA1/WA2/WA3 levels per -cpu model and kernel (§9). */
static inline void fx_workarounds(struct hc_record *r, const char *kernel, const char *cpu)
{
        static const struct {
                const char *cpu;
                unsigned old[3], new[3]; /* 5.10; 6.1, 6.12, 7.3 */
        } levels[] = {
                {"a64fx", {0, 0, 2}, {0, 0, 0}},
                {"cortex-a53", {2, 3, 2}, {2, 3, 2}},
                {"cortex-a57", {0, 0, 0}, {0, 0, 0}},
                {"cortex-a72", {0, 0, 0}, {0, 0, 0}},
                {"cortex-a76", {2, 0, 1}, {2, 0, 1}},
                {"max", {2, 0, 2}, {2, 0, 0}},
                {"neoverse-n1", {2, 0, 1}, {2, 0, 1}},
        };
        static const char *const names[] = {"SMCCC_ARCH_WORKAROUND_1", "SMCCC_ARCH_WORKAROUND_2",
                                            "SMCCC_ARCH_WORKAROUND_3"};

        for (size_t i = 0; i < ELEMENTSOF(levels); i++) {
                if (strcmp(levels[i].cpu, cpu) != 0)
                        continue;
                for (size_t w = 0; w < 3; w++)
                        fx_set(r, names[w],
                               strcmp(kernel, "5.10") == 0 ? levels[i].old[w] : levels[i].new[w]);
                return;
        }
        HC_ASSERT(false, "fixture knows no cpu %s", cpu);
}

/* A host as probed: kernel "5.10", "6.1", "6.12" or "7.3"; cpu a -cpu model of §9. */
static inline struct hc_record *fx_host(const char *host, const char *kernel, const char *cpu)
{
        static const struct {
                const char *kernel, *release;
                uint64_t psci;
                bool bitmaps, bmap2;
        } kernels[] = {
                {"5.10", "5.10.0-32-arm64", 0x10000, false, false},
                {"6.1", "6.1.0-56-arm64", 0x10001, true, false},
                {"6.12", "6.12.117+deb12-arm64", 0x10001, true, false},
                {"7.3", "7.3.4+deb13-arm64", 0x10003, true, true},
        };
        struct hc_record *r = hc_record_new();
        size_t k;

        HC_ASSERT(r, "oom");
        for (k = 0; k < ELEMENTSOF(kernels); k++)
                if (strcmp(kernels[k].kernel, kernel) == 0)
                        break;
        HC_ASSERT(k < ELEMENTSOF(kernels), "fixture knows no kernel %s", kernel);
        r->host = strdup(host);
        r->kernel = strdup(kernels[k].release);
        r->probed_at = strdup(FX_PROBED_AT);
        r->probed_at_unix = FX_PROBED_AT_UNIX;
        r->kvm_mode = strdup("nvhe");
        fx_set(r, "PSCI_VERSION", kernels[k].psci);
        fx_workarounds(r, kernel, cpu);
        if (kernels[k].bitmaps) {
                fx_set(r, "STD_BMAP", 0x1);
                fx_set(r, "STD_HYP_BMAP", 0x1);
                fx_set(r, "VENDOR_HYP_BMAP", 0x3);
        } else {
                fx_absent(r, "STD_BMAP");
                fx_absent(r, "STD_HYP_BMAP");
                fx_absent(r, "VENDOR_HYP_BMAP");
        }
        if (kernels[k].bmap2) {
                fx_set(r, "VENDOR_HYP_BMAP_2", 0x3);
                r->regs[fx_reg("VENDOR_HYP_BMAP_2")].has_default = true;
                r->regs[fx_reg("VENDOR_HYP_BMAP_2")].default_value = 0x0;
        } else {
                fx_absent(r, "VENDOR_HYP_BMAP_2");
        }
        HC_ASSERT(r->host && r->kernel && r->probed_at && r->kvm_mode, "oom");
        return r;
}

static inline void fx_add(struct hc_record_set *set, struct hc_record *r)
{
        struct hc_error err = {0};

        HC_ASSERT(hc_record_set_add(set, r, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_record_set_sort(set, &err) == 0, "%s", err.text);
}

static inline void fx_policy(struct hc_policy_set *set, const char *text)
{
        struct hc_policy *p = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_policy_parse(text, strlen(text), "fixture.yaml", &p, &err) == 0, "%s",
                  err.text);
        HC_ASSERT(hc_policy_set_add(set, p, &err) == 0, "%s", err.text);
        hc_policy_set_sort(set);
}

/* A policy for pool with include glob and extra YAML lines appended. */
static inline void fx_pool(struct hc_policy_set *set, const char *pool, const char *glob,
                    const char *extra)
{
        char text[2048];

        snprintf(text, sizeof(text),
                 "schema: hypercall.policy/v1\npool: %s\nmembers:\n  include: [\"%s\"]\n%s", pool,
                 glob, extra ? extra : "");
        fx_policy(set, text);
}

static inline struct hc_baseline *fx_compute_at(const struct hc_record_set *records,
                                         const struct hc_policy_set *policies, const char *pool,
                                         int64_t now)
{
        struct hc_baseline *b = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_baseline_compute((const struct hc_record *const *)records->records,
                                      records->n, policies, pool, now, &b, &err) == 0,
                  "%s", err.text);
        return b;
}

static inline struct hc_baseline *fx_compute(const struct hc_record_set *records,
                                      const struct hc_policy_set *policies)
{
        return fx_compute_at(records, policies, NULL, FX_NOW);
}

static inline const struct hc_pool_result *fx_find(const struct hc_baseline *b, const char *pool)
{
        const struct hc_pool_result *p = hc_baseline_find(b, pool);

        HC_ASSERT(p, "no pool %s in the result", pool);
        return p;
}

static inline const struct hc_service_result *fx_service(const struct hc_pool_result *p, const char *name)
{
        int s = hc_service_find(name);

        HC_ASSERT(s >= 0, "catalog lacks service %s", name);
        return &p->services[s];
}

/* Host names of a list, comma-separated, for one-line assertions. */
static inline const char *fx_names(const struct hc_record *const *hosts, size_t n)
{
        static char buf[1024];
        size_t at = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n && at < sizeof(buf); i++)
                at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%s", i ? "," : "",
                                       hosts[i]->host);
        return buf;
}

static inline const char *fx_issue_hosts(const struct hc_issue *it)
{
        static char buf[1024];
        size_t at = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < it->n_hosts && at < sizeof(buf); i++)
                at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%s", i ? "," : "",
                                       it->hosts[i]);
        return buf;
}

/* The first issue with this code, or NULL. */
static inline const struct hc_issue *fx_issue(const struct hc_issue *list, size_t n, const char *code)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i].code, code) == 0)
                        return &list[i];
        return NULL;
}

/*
 * Compares text with the golden file tests/data/<rel>.  With HC_UPDATE_GOLDEN=1
 * in the environment the golden file is rewritten instead; on a mismatch the
 * test prints `diff -u golden observed` and fails.
 */
static inline void fx_golden(const char *rel, const char *text)
{
        const char *path = hc_test_data(rel);
        char golden_path[4096], observed[] = "/tmp/hc-golden-XXXXXX";
        _cleanup_free_ char *golden = NULL;
        struct hc_error err = {0};
        const char *update = getenv("HC_UPDATE_GOLDEN");
        char cmd[8300];
        int fd;

        snprintf(golden_path, sizeof(golden_path), "%s", path);
        if (update && strcmp(update, "1") == 0) {
                HC_ASSERT(hc_write_file_atomic(golden_path, text, strlen(text), 0644, &err) == 0,
                          "%s", err.text);
                printf("updated %s\n", golden_path);
                return;
        }
        HC_ASSERT(hc_read_file(golden_path, &golden, NULL, &err) == 0,
                  "%s (run with HC_UPDATE_GOLDEN=1 to create it)", err.text);
        if (strcmp(golden, text) == 0)
                return;
        fd = mkstemp(observed);
        HC_ASSERT(fd >= 0, "mkstemp");
        HC_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write");
        close(fd);
        snprintf(cmd, sizeof(cmd), "diff -u '%s' '%s' >&2", golden_path, observed);
        (void)system(cmd);
        (void)unlink(observed);
        HC_ASSERT(false, "%s differs from the golden file (diff above; HC_UPDATE_GOLDEN=1 "
                         "regenerates it)",
                  rel);
}

/* The registers a migration check names, "A,B" ("" when allowed); valid until the next call. */
static inline const char *fx_reason_regs(const struct hc_migration *m)
{
        static char buf[512];
        size_t at = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < m->n_reasons && at < sizeof(buf); i++)
                at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%s", i ? "," : "", m->reasons[i].reg);
        return buf;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hc-lab-tool: writes, on the build machine, the files the emulated hosts of the
 * nested tier read, through the project's own writers, so every file is exactly
 * what the product would write:
 *
 *   hc-lab-tool baseline COMPUTED.json OUT
 *       `hypercallctl baseline --json` output -> the baseline file hypercalld keeps
 *       (/var/lib/hypercall/baseline.json: generations and per-pool digests added)
 *   hc-lab-tool record RECORD.json HOST OUT
 *       a probed host record under another host name (the lab's matrix records
 *       become the example fleet's hosts); every other field stays as probed
 *   hc-lab-tool plan-pool BASELINE_FILE POOL UUID NAME DIR [incoming]
 *       DIR/<uuid>.plan for a VM of POOL, as the libvirt hook writes it at
 *       `prepare begin` (hc_plan_from_pool); `incoming`: mode incoming, as after an
 *       accepted `migrate begin` with the same values stamped
 *   hc-lab-tool plan-set UUID NAME DIR REGISTER=VALUE...
 *       a plan with exactly these registers (pool "lab", generation 1, the digest
 *       of the register list): the single-service cases of the tier
 *   hc-lab-tool side-by-side RECORD BASELINE_FILE POOL PLAIN_CONSOLE VM_CONSOLE
 *       demo.sh's table: per service, what the host's record offers, what the pool
 *       allows, what a guest saw without hypercall and under it (the consoles of
 *       guest/hc-l2-guest.c, first pass)
 *
 * Exit 0, or 1 with one line on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline-file.h"
#include "catalog.h"
#include "fileio.h"
#include "jsonutil.h"
#include "plan.h"
#include "record.h"
#include "sha256.h"

static int fail(const struct hc_error *err)
{
        fprintf(stderr, "hc-lab-tool: %s\n", err->text);
        return 1;
}

static int cmd_baseline(const char *computed, const char *out)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        struct hc_baseline_changes ch = {0};
        struct hc_error err = {0};
        size_t len = 0;

        /* A fixed clock: the same records give the same file. */
        if (hc_read_file(computed, &text, &len, &err) < 0 || hc_json_parse(text, len, 32, computed, &doc, &err) < 0 ||
            hc_baseline_file_update(NULL, doc, NULL, 0, 1795514400, &f, &ch, &err) < 0 ||
            hc_baseline_file_save(f, out, &err) < 0)
                return fail(&err);
        hc_baseline_changes_done(&ch);
        return 0;
}

static int cmd_record(const char *in, const char *host, const char *out)
{
        _cleanup_(hc_record_freep) struct hc_record *r = NULL;
        struct hc_error err = {0};

        if (hc_record_load(in, &r, &err) < 0)
                return fail(&err);
        free(r->host);
        r->host = strdup(host);
        if (!r->host)
                return hc_error_set(&err, ENOMEM, "out of memory"), fail(&err);
        if (hc_record_save(r, out, &err) < 0)
                return fail(&err);
        return 0;
}

static int cmd_plan_pool(const char *file, const char *pool_name, const char *uuid, const char *name,
                         const char *dir, const char *mode)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        const struct hc_baseline_pool *pool;
        struct hc_error err = {0};
        struct hc_plan p;

        if (hc_baseline_file_load(file, &f, &err) < 0)
                return fail(&err);
        pool = hc_baseline_file_find(f, pool_name);
        if (!pool) {
                hc_error_set(&err, ENOENT, "%s: no pool %s", file, pool_name);
                return fail(&err);
        }
        if (hc_plan_from_pool(&p, uuid, name, pool, &err) < 0)
                return fail(&err);
        if (mode && strcmp(mode, "incoming") == 0)
                p.mode = HC_PLAN_INCOMING;
        else if (mode) {
                hc_error_set(&err, EINVAL, "expected \"incoming\", got \"%s\"", mode);
                return fail(&err);
        }
        if (hc_plan_save(&p, dir, NULL, &err) < 0)
                return fail(&err);
        return 0;
}

static int cmd_plan_set(const char *uuid, const char *name, const char *dir, int n, char **sets)
{
        struct hc_error err = {0};
        uint8_t md[HC_SHA256_DIGEST_SIZE];
        char hex[HC_SHA256_HEX_MAX];
        struct hc_sha256 ctx;
        struct hc_plan p;

        if (hc_plan_init(&p, uuid, name, "lab", &err) < 0)
                return fail(&err);
        hc_sha256_init(&ctx);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *reg = strdup(sets[i]);
                char *eq = reg ? strchr(reg, '=') : NULL, *end = NULL;
                uint64_t value;

                if (!eq) {
                        hc_error_set(&err, EINVAL, "expected REGISTER=VALUE, got \"%s\"", sets[i]);
                        return fail(&err);
                }
                *eq = '\0';
                errno = 0;
                value = strtoull(eq + 1, &end, 0);
                if (errno || !end || *end || end == eq + 1) {
                        hc_error_set(&err, EINVAL, "%s: expected a number, got \"%s\"", reg, eq + 1);
                        return fail(&err);
                }
                if (hc_plan_set(&p, reg, value, &err) < 0)
                        return fail(&err);
                hc_sha256_update(&ctx, sets[i], strlen(sets[i]) + 1);
        }
        hc_sha256_final(&ctx, md);
        p.generation = 1;
        snprintf(p.digest, sizeof(p.digest), "sha256:%s", hc_sha256_hex(md, hex));
        if (hc_plan_save(&p, dir, NULL, &err) < 0)
                return fail(&err);
        return 0;
}

/* x0 of CALL in the first pass of vCPU 0 on a guest console, or "-". */
static const char *guest_saw(const char *console, const char *call, char *buf, size_t len)
{
        _cleanup_fclose_ FILE *f = fopen(console, "re");
        char line[256], c[64], v[64];
        unsigned pass, cpu;

        snprintf(buf, len, "-");
        while (f && fgets(line, sizeof(line), f))
                /* Our own guest's line; a malformed one fails the match. */
                if (sscanf(line, "@@hc-l2 %u %u %63s %63s", &pass, &cpu, c, v) == 4 && // NOLINT(cert-err34-c)
                    pass == 1 && cpu == 0 &&
                    strcmp(c, call) == 0) {
                        /* KVM_PTP answers with a clock reading: only "not an error" matters */
                        snprintf(buf, len, "%s", strcmp(call, "KVM_PTP") == 0 && v[0] != '-' ? "ok" : v);
                        break;
                }
        return buf;
}

/* The guest call that shows a service (guest/hc-l2-guest.c); NULL: the guest cannot observe it. */
static const char *call_of(const char *service)
{
        static const char *const map[][2] = {
                {"trng", "TRNG_VERSION"},
                {"pv-time", "ARCH_FEATURES.PV_TIME_FEATURES"},
                {"kvm-features", "KVM_FEATURES"},
                {"ptp", "KVM_PTP"},
        };

        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(map[i][0], service) == 0)
                        return map[i][1];
        return NULL;
}

static const char *psci_text(uint64_t v, char *buf, size_t len)
{
        snprintf(buf, len, "%u.%u", (unsigned)(v >> 16), (unsigned)(v & 0xffff));
        return buf;
}

static int cmd_side_by_side(const char *record, const char *file, const char *pool_name, const char *plain,
                            const char *vm)
{
        _cleanup_(hc_record_freep) struct hc_record *r = NULL;
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        const struct hc_baseline_pool *pool;
        struct hc_error err = {0};
        char a[64], b[64], c[64], d[64];
        unsigned wrong = 0;
        int k;

        if (hc_record_load(record, &r, &err) < 0 || hc_baseline_file_load(file, &f, &err) < 0)
                return fail(&err);
        pool = hc_baseline_file_find(f, pool_name);
        if (!pool) {
                hc_error_set(&err, ENOENT, "%s: no pool %s", file, pool_name);
                return fail(&err);
        }
        printf("%-20s | %-26s | %-24s | %-22s | %-22s\n", "", "host offers", "pool allows", "guest, no hypercall",
               "guest under hypercall");
        printf("%-20s | %-26s | %-24s | %-22s | %-22s\n", "", r->host, pool_name, "(no hook, no shim)", "(hook+wrapper+shim)");
        printf("---------------------+----------------------------+--------------------------+------------------------+-----------------------\n");
        k = hc_catalog_find("PSCI_VERSION");
        snprintf(a, sizeof(a), "%s", r->regs[k].present ? psci_text(r->regs[k].value, c, sizeof(c)) : "absent");
        snprintf(b, sizeof(b), "%s", pool->regs[k].present ? psci_text(pool->regs[k].value, c, sizeof(c)) : "host's own");
        printf("%-20s | %-26s | %-24s | %-22s | %-22s\n", "PSCI version", a, b, guest_saw(plain, "PSCI_VERSION", c, sizeof(c)),
               guest_saw(vm, "PSCI_VERSION", d, sizeof(d)));
        if (pool->regs[k].present && strtoull(d, NULL, 0) != pool->regs[k].value)
                wrong++;
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_register *reg = hc_catalog_get(i);

                for (size_t s = 0; s < reg->n_services; s++) {
                        const struct hc_service *svc = &reg->services[s];
                        uint64_t bit = 1ULL << svc->bit;
                        json_object *services, *one, *why;
                        const char *call = call_of(svc->name);
                        bool offered = r->regs[i].present && (r->regs[i].value & bit);

                        snprintf(a, sizeof(a), "%s", !r->regs[i].present ? "no (register absent)"
                                                     : offered           ? "yes"
                                                                         : "no");
                        if (pool->regs[i].present && (pool->regs[i].value & bit))
                                snprintf(b, sizeof(b), "exposed");
                        else if (json_object_object_get_ex(pool->json, "services", &services) &&
                                 json_object_object_get_ex(services, svc->name, &one) &&
                                 json_object_object_get_ex(one, "why", &why))
                                snprintf(b, sizeof(b), "hidden (%s)", json_object_get_string(why));
                        else
                                snprintf(b, sizeof(b), "hidden");
                        printf("%-20s | %-26s | %-24s | %-22s | %-22s\n", svc->name, a, b,
                               call ? guest_saw(plain, call, c, sizeof(c)) : "(not observable)",
                               call ? guest_saw(vm, call, d, sizeof(d)) : "(not observable)");
                        /* exposed: the call answers; hidden: NOT_SUPPORTED (-1) */
                        if (call && (strcmp(d, "-") == 0 || (strcmp(b, "exposed") == 0) != (strcmp(d, "-1") != 0)))
                                wrong++;
                }
        }
        printf("\nguest columns: x0 of PSCI_VERSION, TRNG_VERSION, ARCH_FEATURES(PV_TIME_FEATURES), KVM_FEATURES, "
               "KVM_PTP; -1 = NOT_SUPPORTED\n");
        if (wrong)
                printf("the guest under hypercall did NOT see exactly what pool %s allows (%u rows differ)\n", pool_name,
                       wrong);
        else
                printf("the guest under hypercall saw exactly what pool %s allows\n", pool_name);
        return wrong ? 1 : 0;
}

int main(int argc, char **argv)
{
        if (argc == 4 && strcmp(argv[1], "baseline") == 0)
                return cmd_baseline(argv[2], argv[3]);
        if (argc == 5 && strcmp(argv[1], "record") == 0)
                return cmd_record(argv[2], argv[3], argv[4]);
        if ((argc == 7 || argc == 8) && strcmp(argv[1], "plan-pool") == 0)
                return cmd_plan_pool(argv[2], argv[3], argv[4], argv[5], argv[6], argc == 8 ? argv[7] : NULL);
        if (argc >= 5 && strcmp(argv[1], "plan-set") == 0)
                return cmd_plan_set(argv[2], argv[3], argv[4], argc - 5, argv + 5);
        if (argc == 7 && strcmp(argv[1], "side-by-side") == 0)
                return cmd_side_by_side(argv[2], argv[3], argv[4], argv[5], argv[6]);
        fprintf(stderr, "usage: hc-lab-tool baseline COMPUTED OUT | record RECORD HOST OUT |\n"
                        "       plan-pool BASELINE POOL UUID NAME DIR [incoming] |\n"
                        "       plan-set UUID NAME DIR REGISTER=VALUE... |\n"
                        "       side-by-side RECORD BASELINE POOL PLAIN_CONSOLE VM_CONSOLE\n");
        return 64;
}

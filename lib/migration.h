/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Live-migration checks, judged the way the destination kernel and QEMU
 * will (kvm-abi.md §7, §8).  A VM started on the source under a pool's
 * baseline carries every firmware register the source kernel lists: the
 * pool's value where the pool pushes one, else the source's default for a
 * new VM, and for workarounds the source host's level.  On the destination:
 *
 *   presence    each carried register must exist there (else the load fails)
 *   bitmaps     carried value a subset of what the destination accepts
 *   PSCI        carried version known there (at most its newest)
 *   workaround  carried level <= the destination's, in KVM's order
 *               (WORKAROUND_2 after its {0,1} -> 0, {2,3} -> 3 mapping)
 *
 * Firmware registers the catalog does not know must exist on both sides.
 * The check is directional: A -> B says nothing of B -> A.
 */
#include <json-c/json.h>
#include <stdbool.h>

#include "baseline.h"
#include "record.h"

#define HC_MIGRATION_SCHEMA "hypercall.migration/v1"
#define HC_MATRIX_SCHEMA    "hypercall.matrix/v1"

struct hc_migration_reason {
        char *reg;     /* catalog name, or the hex ID of an unknown register */
        char *message; /* one line naming both hosts and their kernels */
};

struct hc_migration {
        bool allowed;
        struct hc_migration_reason *reasons; /* one per failing register, catalog order */
        size_t n_reasons;
};

void hc_migration_done(struct hc_migration *m);

/*
 * Judges a VM started on from under pool (NULL, or a refused pool: nothing
 * pushed, the VM has from's defaults) moving to to.
 */
int hc_migration_check(const struct hc_pool_result *pool, const struct hc_record *from,
                       const struct hc_record *to, struct hc_migration *ret);

struct hc_vcpu_regs;
/*
 * The rest of the VM's CPU state, when both hosts' vCPU register sets are
 * known (vcpu-regs.h), judged as QEMU's cpu_post_load() and KVM will: every
 * register the source lists must be listed on the destination, and each
 * feature ID value must be one the destination's KVM takes.  Appends one
 * reason per failing register to m (after hc_migration_check) and updates
 * m->allowed.
 */
int hc_migration_check_vcpu(const struct hc_record *from, const struct hc_vcpu_regs *fv,
                            const struct hc_record *to, const struct hc_vcpu_regs *tv,
                            struct hc_migration *m);

/*
 * The whole judgement, as check-migration, matrix and CheckMigration give it:
 * hc_migration_check, then hc_migration_check_vcpu when both register sets
 * are known (fv and tv current for their records, or NULL).  On error ret
 * holds nothing.
 */
int hc_migration_judge(const struct hc_pool_result *pool, const struct hc_record *from, const struct hc_vcpu_regs *fv,
                       const struct hc_record *to, const struct hc_vcpu_regs *tv, struct hc_migration *ret);

/* {"schema": "hypercall.migration/v1", "pool", "from", "to", "allowed", "reasons": [...]} */
json_object *hc_migration_to_json(const char *pool, const char *from, const char *to,
                                  const struct hc_migration *m);

/*
 * The migration matrix between the pool's kernel classes: hosts whose
 * firmware registers read the same (same kernel, same workaround levels)
 * and whose vCPU register sets (vs, may be NULL) are the same form one
 * class, named by its kernel (with "#2", "#3" when one kernel shows several
 * classes).  A pair is also judged on the rest of the CPU state where vs
 * knows both sides.  hypercall.matrix/v1:
 *   {"schema", "pool", "status", "classes": [{"class", "kernel", "hosts",
 *    "registers": {name: value | "absent"}}], "migrations": [{"from", "to",
 *    "allowed", "reasons"}]}
 * Every ordered pair of distinct classes appears once.
 */
struct hc_vcpu_set;
json_object *hc_matrix_to_json(const struct hc_pool_result *pool, const struct hc_vcpu_set *vs);

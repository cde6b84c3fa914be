/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The VM audit: does a running VM still match its pool?  A VM keeps the
 * firmware register values it started with (from its plan, or the values
 * stamped into its domain metadata after start) for its whole life,
 * migrations included.  When its pool's baseline later narrows (a host with
 * an older kernel joined), some members can no longer accept those values:
 * the VM can only migrate to the others.  The audit says which.
 *
 * A member accepts a VM's pushed value when it has the register and, for a
 * bitmap, offers every bit of the value; for PSCI, when the version is at
 * most the member's.  Workaround levels are not pushed (they are the host's)
 * and are judged by check-migration, not here.
 *
 * hypercall.audit/v1 (Audit() over D-Bus, `hypercallctl audit --json`):
 *   {"schema", "host", "generation", "libvirt": "connected"|"unavailable: why",
 *    "vms": [{"uuid", "name", "running": true|false|null, "source": "metadata"|"plan"|null,
 *             "pool", "generation", "digest", "verdict", "message",
 *             "registers": {name: hex},
 *             "can_migrate_to": {"count", "hosts": [first 50]},
 *             "cannot_migrate_to": {"count", "hosts": [{"host", "kernel", "reason"}] (first 100)}}],
 *    "findings": N}
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "baseline-file.h"
#include "record.h"
#include "store.h"

enum hc_vm_verdict {
        HC_VM_CURRENT,      /* the VM has the pool's current values */
        HC_VM_COMPATIBLE,   /* older values, but every member still accepts them */
        HC_VM_NARROWED,     /* finding: some members no longer accept the VM's values */
        HC_VM_POOL_MISSING, /* finding: the pool is not in the baseline any more */
        HC_VM_POOL_REFUSED, /* finding: the pool is refused (no last-known-good) */
        HC_VM_UNTRACKED,    /* finding: running, but no plan and no stamp (started outside hypercall) */
        HC_VM_STALE_PLAN,   /* a plan for a VM libvirt does not run (left behind) */
        HC_VM_UNREADABLE,   /* finding: its plan or metadata could not be read */
        _HC_VM_VERDICT_MAX,
};

struct hc_vm_state {
        const char *uuid;
        const char *name;        /* may be NULL */
        int running;             /* 1 running per libvirt, 0 not listed, -1 unknown (no libvirt) */
        const char *source;      /* "metadata" or "plan"; NULL: we know of no values */
        const char *error;       /* non-NULL: the plan or metadata was unreadable, why */
        const char *pool;
        uint64_t generation;
        const char *digest;
        struct hc_pool_reg regs[HC_REG_MAX]; /* the VM's pushed values, catalog-indexed */
};

const char *hc_vm_verdict_to_string(enum hc_vm_verdict v);
bool hc_vm_verdict_is_finding(enum hc_vm_verdict v);

/* Finds a member's record (hc_store_lookup has this shape, with the store as userdata). */
typedef bool (*hc_vm_lookup)(const void *userdata, const char *host, struct hc_store_record *out);

/*
 * Judges one VM against the baseline file and the member records found
 * through lookup.  Returns the VM's entry for the "vms" array (NULL when out
 * of memory) and sets *ret_verdict.
 */
json_object *hc_vm_audit(const struct hc_vm_state *vm, const struct hc_baseline_file *bf,
                         hc_vm_lookup lookup, const void *userdata, enum hc_vm_verdict *ret_verdict);

/*
 * Whether host accepts the value vm carries for catalog register i; on
 * false, why gets one phrase ("lacks STD_BMAP", "offers STD_BMAP 0x0, the VM
 * carries 0x1").
 */
bool hc_vm_host_accepts(const struct hc_record *host, size_t i, uint64_t value, char *why,
                        size_t why_len);

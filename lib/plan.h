/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The per-VM plan: what the libvirt hook decided for one VM and what the
 * QEMU-side shim applies.  The hook writes /run/hypercall/vm/<uuid>.plan at
 * `prepare`; the shim reads it with its own libc-only parser
 * (hook/shim-plan.c), so the format is a small line-based text, not JSON
 * (docs/plan-format.md).  Each register carries its catalog name and its
 * 64-bit KVM ID, so the shim needs no catalog.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "baseline-file.h"
#include "catalog.h"
#include "fileio.h"
#include "hc-error.h"

#define HC_PLAN_DIR      "/run/hypercall/vm"
#define HC_PLAN_MAGIC    "hypercall-plan 1"
/* Read-only for root and QEMU's group, once the hook knows it (docs/plan-format.md). */
#define HC_PLAN_MODE     0440
#define HC_UUID_LEN      36
#define HC_VM_NAME_MAX   255
#define HC_POOL_NAME_MAX 64

enum hc_plan_mode {
        HC_PLAN_START,    /* a fresh start: the shim imposes the pool's values */
        HC_PLAN_INCOMING, /* migration/restore: the values the VM arrives with (stream wins) */
};

struct hc_plan_reg {
        const char *name; /* catalog name (static) */
        uint64_t id;      /* KVM_{GET,SET}_ONE_REG id, from the catalog */
        uint64_t value;
};

struct hc_plan {
        char uuid[HC_UUID_LEN + 1];
        char name[HC_VM_NAME_MAX + 1];
        enum hc_plan_mode mode;
        char pool[HC_POOL_NAME_MAX + 1];
        uint64_t generation;
        char digest[HC_DIGEST_MAX];
        struct hc_plan_reg regs[HC_REG_MAX]; /* catalog order */
        size_t n_regs;
};

/* "6f1c...": 8-4-4-4-12 hex digits; lowercase only when strict. */
bool hc_uuid_valid(const char *s, bool strict_lowercase);
/* A libvirt domain name we can carry: 1..255 bytes, no control characters. */
bool hc_vm_name_valid(const char *s);
/* Letters, digits, "-", "_", "."; 1..64 (the policy reader's rule). */
bool hc_pool_name_valid(const char *s);

/* An empty start plan for VM (uuid, name) in pool; the UUID is lowercased. */
int hc_plan_init(struct hc_plan *p, const char *uuid, const char *name, const char *pool,
                 struct hc_error *err);

/*
 * Fills a start plan for VM (uuid, name) from an "ok" pool of the baseline
 * file: every pushed register present in the pool, in catalog order.
 */
int hc_plan_from_pool(struct hc_plan *p, const char *uuid, const char *name,
                      const struct hc_baseline_pool *pool, struct hc_error *err);

/* Adds (or replaces) a register value by catalog name; workaround registers are refused. */
int hc_plan_set(struct hc_plan *p, const char *reg_name, uint64_t value, struct hc_error *err);

/* The plan's text (docs/plan-format.md); caller frees; NULL when out of memory. */
char *hc_plan_to_text(const struct hc_plan *p);

/* dir/<uuid>.plan; caller frees. */
char *hc_plan_path(const char *dir, const char *uuid);

/*
 * Validates, then writes dir/<uuid>.plan atomically with HC_PLAN_MODE,
 * owned by owner (NULL: the caller; the hook passes root:QEMU's group).
 */
int hc_plan_save(const struct hc_plan *p, const char *dir, const struct hc_owner *owner,
                 struct hc_error *err);

/* Removes dir/<uuid>.plan; a missing file is not an error (idempotent). */
int hc_plan_remove(const char *dir, const char *uuid);

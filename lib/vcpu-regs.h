/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A host's vCPU register set, schema hypercall.vcpu-regs/v1: what a VM's CPU
 * state carries when QEMU migrates it, beyond the firmware registers of the
 * host record.  The host record (hypercall.host/v1) is a closed contract, so
 * this is its companion file, kept beside it as DIR/vcpu/<host>.json:
 *
 *   {"schema": "hypercall.vcpu-regs/v1", "host", "kernel", "probed_at",
 *    "vcpu_features": ["pmu-v3", "ptrauth", "sve"],   the vCPU QEMU's -cpu host builds
 *    "writable_masks": true,                           KVM said which ID bits a VMM may change
 *    "registers": ["0x6030000000130000", ...],         QEMU's cpreg list, ascending
 *    "feature_ids": {"0x603000000013c039": {"value": "0x...", "writable": "0x..."}, ...}}
 *
 * registers: every ID KVM_GET_REG_LIST gives except core and SVE registers.
 * feature_ids: each listed register of the feature ID range, with the value a
 * new VM reads (KVM's limit) and the bits KVM lets a VMM write (all zero when
 * writable_masks is false: kernels before 6.7 refuse any other value).
 * Reading validates everything or loads nothing.
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "hc-error.h"
#include "hc-macro.h"

#define HC_VCPU_REGS_SCHEMA "hypercall.vcpu-regs/v1"
#define HC_VCPU_REGS_SUBDIR "vcpu"

enum {
        HC_VCPU_PMU_V3 = 1u << 0,
        HC_VCPU_PTRAUTH = 1u << 1,
        HC_VCPU_SVE = 1u << 2,
};

struct hc_feature_id {
        uint64_t id;
        uint64_t value;    /* what a new VM reads: the most KVM accepts */
        uint64_t writable; /* bits a VMM may change before the first run */
};

struct hc_vcpu_regs {
        char *host;
        char *kernel;
        char *probed_at;
        int64_t probed_at_unix;
        unsigned features; /* HC_VCPU_* */
        bool writable_masks;
        uint64_t *ids; /* ascending */
        size_t n_ids;
        struct hc_feature_id *feature_ids; /* ascending by id */
        size_t n_feature_ids;
        char *origin;
};

struct hc_vcpu_regs *hc_vcpu_regs_new(void);
struct hc_vcpu_regs *hc_vcpu_regs_free(struct hc_vcpu_regs *v);
HC_DEFINE_CLEANUP(struct hc_vcpu_regs *, hc_vcpu_regs_free)

int hc_vcpu_regs_parse(const char *text, size_t len, const char *origin, struct hc_vcpu_regs **ret,
                       struct hc_error *err);
int hc_vcpu_regs_load(const char *path, struct hc_vcpu_regs **ret, struct hc_error *err);
/* "DIR/vcpu/<host>.json", where a host's set lives beside its record; NULL when out of memory. */
char *hc_vcpu_regs_path(const char *records_dir, const char *host);
/*
 * Loads DIR/vcpu/<host>.json.  0 with *ret NULL when the host has none (an
 * older probe); an error when the file is malformed or names another host.
 */
int hc_vcpu_regs_load_beside(const char *records_dir, const char *host, struct hc_vcpu_regs **ret,
                             struct hc_error *err);

json_object *hc_vcpu_regs_to_json(const struct hc_vcpu_regs *v);
char *hc_vcpu_regs_to_string(const struct hc_vcpu_regs *v);
int hc_vcpu_regs_save(const struct hc_vcpu_regs *v, const char *path, struct hc_error *err);

struct hc_record;
/* v was probed with the record's kernel: a set from before a kernel change is stale. */
bool hc_vcpu_regs_current(const struct hc_vcpu_regs *v, const struct hc_record *r);

bool hc_vcpu_regs_has(const struct hc_vcpu_regs *v, uint64_t id);
const struct hc_feature_id *hc_vcpu_regs_feature_id(const struct hc_vcpu_regs *v, uint64_t id);
/* Same registers and feature ID values and masks (hosts of one class). */
bool hc_vcpu_regs_equal(const struct hc_vcpu_regs *a, const struct hc_vcpu_regs *b);

/* The vCPU register sets found beside a directory of records, sorted by host. */
struct hc_vcpu_set {
        struct hc_vcpu_regs **v;
        size_t n;
};
void hc_vcpu_set_done(struct hc_vcpu_set *s);
/*
 * Loads DIR/vcpu/<host>.json for each of hosts (distinct; only those: a
 * check of two hosts reads two files, however large the fleet); hosts
 * without a current one are left out.
 */
int hc_vcpu_set_load(const char *records_dir, const struct hc_record *const *hosts, size_t n_hosts,
                     struct hc_vcpu_set *ret, struct hc_error *err);
/* NULL when s is NULL or the host has none (a binary search). */
const struct hc_vcpu_regs *hc_vcpu_set_find(const struct hc_vcpu_set *s, const char *host);

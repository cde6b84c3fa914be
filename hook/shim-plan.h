/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The shim's own plan reader: libc only (no json-c, no allocation), because
 * it runs inside QEMU before QEMU's main().  It accepts exactly what
 * lib/plan.c writes (docs/plan-format.md) and rejects everything else with
 * "origin:line: expected ..., got ...".  Never crashes on any input.
 */
#include <stddef.h>
#include <stdint.h>

#define HC_SHIM_PLAN_MAX_BYTES 8192
#define HC_SHIM_PLAN_MAX_REGS  16
#define HC_SHIM_ERR_MAX        512

struct hc_shim_reg {
        char name[48];
        uint64_t id;
        uint64_t value;
};

struct hc_shim_plan {
        char uuid[37];
        char name[256];
        int incoming; /* mode incoming: migration or restore */
        char pool[65];
        uint64_t generation;
        char digest[72];
        size_t n_regs;
        struct hc_shim_reg regs[HC_SHIM_PLAN_MAX_REGS];
};

/* 0, or -EINVAL with err "origin:line: expected ..., got ...". */
int hc_shim_plan_parse(const char *text, size_t len, const char *origin, struct hc_shim_plan *out,
                       char *err, size_t err_len);

/*
 * Whether dir may hold plans: a directory, not a symbolic link, not
 * world-writable, and the same for the directory above it.  Anyone who can
 * write there could choose a VM's plan.  0, or -ELOOP / -ENOTDIR / -EPERM /
 * -errno with err "dir: why".
 */
int hc_shim_plan_dir_check(const char *dir, char *err, size_t err_len);

/*
 * Reads and parses path with open/read only; -errno with err "path: why".
 * Refuses (-ELOOP, -EPERM) a plan that is a symbolic link or world-writable,
 * or whose directory fails hc_shim_plan_dir_check().
 */
int hc_shim_plan_load(const char *path, struct hc_shim_plan *out, char *err, size_t err_len);

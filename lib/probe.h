/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Builds this host's record through /dev/kvm, on a scratch VM that never
 * runs (kvm-abi.md §6).  Must run in the calling process: KVM refuses vCPU
 * ioctls from any process but the VM's creator.
 */
#include "hc-error.h"
#include "record.h"

struct hc_probe_options {
        const char *host;     /* record's host name; NULL: gethostname() */
        const char *kvm_path; /* NULL: /dev/kvm */
        const char *sysfs;    /* NULL: /sys (midr_el1 is read below it) */
};

/*
 * Returns 0 and a validated record, or -errno with err saying, in one line,
 * why this host cannot be probed ("not an arm64 KVM host", "/dev/kvm:
 * permission denied", "KVM without firmware registers", ...).
 */
int hc_probe(const struct hc_probe_options *opts, struct hc_record **ret, struct hc_error *err);

struct hc_vcpu_regs;
/*
 * The register set a VM's CPU state carries when QEMU migrates it, read from a
 * vCPU built like QEMU's "-cpu host" one (PSCI 0.2, plus PMUv3, pointer
 * authentication and SVE where KVM offers them).  identity gives host, kernel
 * and probe time (the record of the same run).
 */
int hc_probe_vcpu_regs(const struct hc_probe_options *opts, const struct hc_record *identity,
                       struct hc_vcpu_regs **ret, struct hc_error *err);

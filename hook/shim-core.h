/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the shim does with a plan, apart from being an ioctl() symbol, so the
 * unit tests can drive it with a simulated kernel: identify a managed QEMU,
 * set and read back every planned register after KVM_ARM_VCPU_INIT, and
 * re-read them before a vCPU's first KVM_RUN.  libc only.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shim-plan.h"

/* The raw ioctl underneath the shim (the next definition, or a fake in tests). */
typedef int (*hc_raw_ioctl_fn)(int fd, unsigned long request, void *arg);

#define HC_SHIM_DEFAULT_PLAN_DIR "/run/hypercall/vm"

enum hc_shim_role {
        HC_SHIM_PASSIVE, /* not QEMU, or QEMU without -uuid (libvirt's capability probe) */
        HC_SHIM_MANAGED, /* QEMU for a VM: a plan is required */
};

/*
 * exe is /proc/self/exe's target, cmdline /proc/self/cmdline (NUL-separated).
 * MANAGED fills uuid (lowercased); a malformed -uuid is MANAGED with uuid ""
 * so the caller fails closed.
 */
enum hc_shim_role hc_shim_identify(const char *exe, const char *cmdline, size_t len, char uuid[37]);

/*
 * The part of the plan a vCPU can take, given the struct kvm_vcpu_init it was
 * initialised with.  KVM accepts PSCI_VERSION 0.2 and later only on a vCPU with
 * KVM_ARM_VCPU_PSCI_0_2 (without it the register is fixed at 0x1): QEMU's scratch
 * vCPUs for host feature probing are initialised without it (measured in the arm64
 * lab: every plan with PSCI_VERSION failed there with EINVAL).  For such a vCPU the
 * PSCI version is left out, so *out has fewer registers; returns true then.  A
 * PSCI 0.1 vCPU offers its guest less than any plan, never more.
 */
bool hc_shim_vcpu_plan(const struct hc_shim_plan *plan, const void *vcpu_init, struct hc_shim_plan *out);

/* Sets every plan register on a vCPU fd just through KVM_ARM_VCPU_INIT, reading each back. */
int hc_shim_apply(const struct hc_shim_plan *plan, int vcpu_fd, hc_raw_ioctl_fn raw, char *err,
                  size_t err_len);

/* Reads every plan register again (before the first KVM_RUN) and compares. */
int hc_shim_verify(const struct hc_shim_plan *plan, int vcpu_fd, hc_raw_ioctl_fn raw, char *err,
                   size_t err_len);

/* "PSCI_VERSION=0x10001 STD_BMAP=0x0 ..." for the audit line. */
void hc_shim_describe(const struct hc_shim_plan *plan, char *buf, size_t len);

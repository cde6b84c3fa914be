/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The few KVM/arm64 ioctl structures the probe needs, defined here so the
 * probe also compiles (and refuses at run time) on x86 build hosts, whose
 * <linux/kvm.h> lacks the arm64 parts.  Layouts are the kernel's uapi.
 * Register IDs are not here: they live in the catalog only.
 */
#include <linux/kvm.h>
#include <stdint.h>

struct hc_kvm_vcpu_init {
        uint32_t target;
        uint32_t features[7];
};

#define HC_KVM_ARM_VCPU_INIT        _IOW(KVMIO, 0xae, struct hc_kvm_vcpu_init)
#define HC_KVM_ARM_PREFERRED_TARGET _IOR(KVMIO, 0xaf, struct hc_kvm_vcpu_init)
#define HC_KVM_ARM_VCPU_PSCI_0_2    2 /* features[0] bit: PSCI 0.2+ for the vCPU */
#define HC_KVM_CAP_ARM_PSCI_0_2     102
#define HC_KVM_CAP_ARM_VM_IPA_SIZE  165
#define HC_KVM_DEFAULT_IPA_BITS     40

/* The vCPU QEMU's "-cpu host" builds, for the register set it migrates (hc_probe_vcpu_regs). */
#define HC_KVM_ARM_VCPU_PMU_V3           3
#define HC_KVM_ARM_VCPU_SVE              4
#define HC_KVM_ARM_VCPU_PTRAUTH_ADDRESS  5
#define HC_KVM_ARM_VCPU_PTRAUTH_GENERIC  6
#define HC_KVM_CAP_ARM_PMU_V3            126
#define HC_KVM_CAP_ARM_SVE               170
#define HC_KVM_CAP_ARM_PTRAUTH_ADDRESS   171
#define HC_KVM_CAP_ARM_PTRAUTH_GENERIC   172
#define HC_KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES 230
#define HC_KVM_ARM_VCPU_FINALIZE         _IOW(KVMIO, 0xc2, int)

/* KVM_ARM_GET_REG_WRITABLE_MASKS (6.7+): which feature ID bits a VMM may write. */
struct hc_reg_mask_range {
        uint64_t addr;
        uint32_t range;
        uint32_t reserved[13];
};
#define HC_KVM_ARM_FEATURE_ID_RANGE        0
#define HC_KVM_ARM_GET_REG_WRITABLE_MASKS _IOR(KVMIO, 0xb6, struct hc_reg_mask_range)

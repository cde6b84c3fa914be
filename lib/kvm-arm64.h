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

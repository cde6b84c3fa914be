/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The register catalog: the only place in hypercall that knows the KVM/arm64
 * firmware pseudo-registers, their IDs, kinds, masks and the services their
 * bits gate.  Everything else asks the catalog by name.  Adding a register is
 * one row in catalog.c; names are API and never renamed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bound on catalog rows, for fixed-size per-register arrays. */
#define HC_REG_MAX 16

enum hc_reg_kind {
        HC_KIND_PSCI_VERSION, /* VM-wide version number, pushed as the pool minimum */
        HC_KIND_WORKAROUND,   /* host mitigation level: validated by KVM, never pushed */
        HC_KIND_BITMAP,       /* VM-wide service bitmap: pushed as the pool AND */
};

struct hc_service {
        const char *name;  /* "trng": the operator's word for the bit */
        unsigned bit;      /* bit in its register */
        bool default_deny; /* hidden unless a policy asks (needs VMM support) */
        const char *gates; /* what the guest loses when the bit is clear */
};

struct hc_register {
        const char *name;        /* "STD_BMAP", as in host records and plans */
        const char *kernel_name; /* "KVM_REG_ARM_STD_BMAP" */
        uint64_t id;             /* KVM_{GET,SET}_ONE_REG id */
        enum hc_reg_kind kind;
        const char *since;       /* first mainline kernel with the register */
        uint64_t mask;           /* bitmaps: bits known today; workarounds: valid levels (bitset) */
        uint64_t reset_value;    /* value of a new VM when not the host maximum */
        bool reset_is_max;       /* a new VM starts with everything the host offers */
        bool level_mapped;       /* WORKAROUND_2: KVM orders levels {0,1} < {2,3} */
        const struct hc_service *services;
        size_t n_services;
};

size_t hc_catalog_count(void);
const struct hc_register *hc_catalog_get(size_t index);
/* Index of the register called name, or -ENOENT. */
int hc_catalog_find(const char *name);
/* Index of the register with this id, or -ENOENT. */
int hc_catalog_find_id(uint64_t id);
/* First register of a kind, or -ENOENT (e.g. the one PSCI_VERSION). */
int hc_catalog_find_kind(enum hc_reg_kind kind);

/* Services, across all registers, in catalog order. */
size_t hc_service_count(void);
/* The n-th service; *ret_reg gets its register index. */
const struct hc_service *hc_service_get(size_t n, size_t *ret_reg);
/* Service by name; returns its ordinal (for hc_service_get) or -ENOENT. */
int hc_service_find(const char *name);

/* KVM_REG_ARM_FW (0x14) and KVM_REG_ARM_FW_FEAT_BMAP (0x16) class IDs. */
bool hc_id_is_firmware(uint64_t id);

/* Whether value is legal for the register; on false, why names what was expected. */
bool hc_value_valid(const struct hc_register *reg, uint64_t value, char *why, size_t why_len);

/* Known PSCI versions, oldest first (0.1, 0.2, 1.0 ...). */
size_t hc_psci_version_count(void);
uint32_t hc_psci_version_get(size_t n);
/* "1.1" <-> 0x10001.  Parsing accepts only versions the catalog knows. */
int hc_psci_parse(const char *s, uint32_t *ret);
void hc_psci_format(uint64_t version, char *buf, size_t len);

/* Order of workaround levels as KVM compares them on a migration destination. */
unsigned hc_workaround_rank(const struct hc_register *reg, uint64_t level);

/* Lowercase hex "0x1f" into buf (at least 19 bytes). */
const char *hc_hex(uint64_t v, char *buf, size_t len);
#define HC_HEX_MAX 19
/* Strict "0x..." hex: lowercase or uppercase digits, no sign, no spaces, <= 16 digits. */
int hc_parse_hex(const char *s, uint64_t *ret);

/*
 * The vCPU's other registers, as far as migration needs them (catalog-sysreg.c).
 * QEMU migrates every register KVM_GET_REG_LIST gives except core and SVE ones
 * (its "cpreg" list); the destination refuses a stream register it lacks and
 * any value its kernel will not take.  Of their values only the feature ID
 * space (op0 3, op1 0/1/3, CRn 0, CRm 0-7) is a property of the host.
 */
#define HC_FEATURE_ID_RANGE_SIZE 192 /* KVM_ARM_FEATURE_ID_RANGE_SIZE: 3 * 8 * 8 */

/* A well-formed KVM/arm64 register ID (KVM_REG_ARM64, a defined size). */
bool hc_id_is_arm64(uint64_t id);
/* The register travels in QEMU's CPU migration state (not core, not SVE). */
bool hc_id_in_cpu_stream(uint64_t id);
/* The register is in KVM's feature ID range; *index (may be NULL) is its slot in the masks. */
bool hc_id_is_feature_id(uint64_t id, size_t *index);
/*
 * KVM judges the writable fields of this feature ID register as feature levels
 * (arm64_check_features: a VMM may only lower them): the op1 0 ID registers and
 * CTR_EL0.  The cache geometry registers (op1 1: CLIDR_EL1 ...) have their own
 * setters, which take any value within the writable mask.
 */
bool hc_feature_id_fields_ordered(uint64_t id);
/* 4-bit fields of a feature ID register that the architecture defines as signed (nibble mask). */
uint16_t hc_feature_id_signed_fields(uint64_t id);
/*
 * The register for messages: the catalog's name, an architectural name
 * ("ID_AA64MMFR1_EL1"), the generic S<op0>_<op1>_C<n>_C<m>_<op2>, or the hex ID.
 */
const char *hc_reg_text(uint64_t id, char *buf, size_t len);
#define HC_REG_TEXT_MAX 40

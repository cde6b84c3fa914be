/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The catalog's second half: what hypercall knows of the vCPU's non-firmware
 * registers.  Only their encoding, a few names for messages and which ID
 * fields are signed; their values come from the host (probe.c).
 */
#include <stdio.h>

#include "catalog.h"
#include "hc-macro.h"

#define ARM64_MASK            0xff00000000000000ULL
#define ARM64                 0x6000000000000000ULL
#define SIZE_MASK             0x00f0000000000000ULL
#define SIZE_MAX_LOG2         8 /* KVM_REG_SIZE_U2048 */
#define CLASS(id)             (((id) >> 16) & 0xfff)
#define CLASS_CORE            0x0010
#define CLASS_SYSREG          0x0013
#define CLASS_SVE             0x0015
#define CLASS_DEMUX           0x0011 /* KVM_REG_ARM_DEMUX: CCSIDR_EL1 per cache, by CSSELR value */
#define SYSREG(id)            ((unsigned)(id)&0xffff)
#define OP0(e)                (((e) >> 14) & 3)
#define OP1(e)                (((e) >> 11) & 7)
#define CRN(e)                (((e) >> 7) & 15)
#define CRM(e)                (((e) >> 3) & 15)
#define OP2(e)                ((e)&7)
#define ENC(o0, o1, n, m, o2) ((o0) << 14 | (o1) << 11 | (n) << 7 | (m) << 3 | (o2))

static const struct {
        unsigned enc;
        const char *name;
        uint16_t signed_fields; /* nibbles whose values are signed (0xf = -1 = absent) */
} sysregs[] = {
    {ENC(3, 0, 0, 0, 0), "MIDR_EL1", 0},
    {ENC(3, 0, 0, 0, 5), "MPIDR_EL1", 0},
    {ENC(3, 0, 0, 0, 6), "REVIDR_EL1", 0},
    {ENC(3, 0, 0, 1, 0), "ID_PFR0_EL1", 0},
    {ENC(3, 0, 0, 1, 1), "ID_PFR1_EL1", 0},
    {ENC(3, 0, 0, 1, 2), "ID_DFR0_EL1", 0},
    {ENC(3, 0, 0, 1, 3), "ID_AFR0_EL1", 0},
    {ENC(3, 0, 0, 1, 4), "ID_MMFR0_EL1", 0},
    {ENC(3, 0, 0, 1, 5), "ID_MMFR1_EL1", 0},
    {ENC(3, 0, 0, 1, 6), "ID_MMFR2_EL1", 0},
    {ENC(3, 0, 0, 1, 7), "ID_MMFR3_EL1", 0},
    {ENC(3, 0, 0, 2, 0), "ID_ISAR0_EL1", 0},
    {ENC(3, 0, 0, 2, 1), "ID_ISAR1_EL1", 0},
    {ENC(3, 0, 0, 2, 2), "ID_ISAR2_EL1", 0},
    {ENC(3, 0, 0, 2, 3), "ID_ISAR3_EL1", 0},
    {ENC(3, 0, 0, 2, 4), "ID_ISAR4_EL1", 0},
    {ENC(3, 0, 0, 2, 5), "ID_ISAR5_EL1", 0},
    {ENC(3, 0, 0, 2, 6), "ID_MMFR4_EL1", 0},
    {ENC(3, 0, 0, 2, 7), "ID_ISAR6_EL1", 0},
    {ENC(3, 0, 0, 3, 0), "MVFR0_EL1", 0},
    {ENC(3, 0, 0, 3, 1), "MVFR1_EL1", 0},
    {ENC(3, 0, 0, 3, 2), "MVFR2_EL1", 0},
    {ENC(3, 0, 0, 3, 4), "ID_PFR2_EL1", 0},
    {ENC(3, 0, 0, 3, 5), "ID_DFR1_EL1", 0},
    {ENC(3, 0, 0, 3, 6), "ID_MMFR5_EL1", 0},
    {ENC(3, 0, 0, 4, 0), "ID_AA64PFR0_EL1", 1u << 4 | 1u << 5}, /* FP, AdvSIMD */
    {ENC(3, 0, 0, 4, 1), "ID_AA64PFR1_EL1", 0},
    {ENC(3, 0, 0, 4, 2), "ID_AA64PFR2_EL1", 0},
    {ENC(3, 0, 0, 4, 4), "ID_AA64ZFR0_EL1", 0},
    {ENC(3, 0, 0, 4, 5), "ID_AA64SMFR0_EL1", 0},
    {ENC(3, 0, 0, 4, 7), "ID_AA64FPFR0_EL1", 0},
    {ENC(3, 0, 0, 5, 0), "ID_AA64DFR0_EL1", 1u << 9}, /* DoubleLock */
    {ENC(3, 0, 0, 5, 1), "ID_AA64DFR1_EL1", 0},
    {ENC(3, 0, 0, 5, 4), "ID_AA64AFR0_EL1", 0},
    {ENC(3, 0, 0, 5, 5), "ID_AA64AFR1_EL1", 0},
    {ENC(3, 0, 0, 6, 0), "ID_AA64ISAR0_EL1", 0},
    {ENC(3, 0, 0, 6, 1), "ID_AA64ISAR1_EL1", 0},
    {ENC(3, 0, 0, 6, 2), "ID_AA64ISAR2_EL1", 0},
    {ENC(3, 0, 0, 6, 3), "ID_AA64ISAR3_EL1", 0},
    {ENC(3, 0, 0, 7, 0), "ID_AA64MMFR0_EL1", 1u << 6 | 1u << 7}, /* TGran64, TGran4 */
    {ENC(3, 0, 0, 7, 1), "ID_AA64MMFR1_EL1", 0},
    {ENC(3, 0, 0, 7, 2), "ID_AA64MMFR2_EL1", 0},
    {ENC(3, 0, 0, 7, 3), "ID_AA64MMFR3_EL1", 0},
    {ENC(3, 0, 0, 7, 4), "ID_AA64MMFR4_EL1", 0},
    {ENC(3, 1, 0, 0, 0), "CCSIDR_EL1", 0},
    {ENC(3, 1, 0, 0, 1), "CLIDR_EL1", 0},
    {ENC(3, 1, 0, 0, 7), "AIDR_EL1", 0},
    {ENC(3, 3, 0, 0, 1), "CTR_EL0", 0},
    {ENC(3, 3, 0, 0, 7), "DCZID_EL0", 0},
    /* Registers that newer kernels list and older ones do not (seen in the lab). */
    {ENC(3, 0, 2, 0, 3), "TCR2_EL1", 0},
    {ENC(3, 0, 9, 14, 6), "PMMIR_EL1", 0},
    {ENC(3, 0, 10, 2, 2), "PIRE0_EL1", 0},
    {ENC(3, 0, 10, 2, 3), "PIR_EL1", 0},
    {ENC(3, 3, 14, 0, 1), "CNTPCT_EL0", 0},
    {ENC(3, 3, 14, 0, 2), "CNTVCT_EL0", 0},
    {ENC(3, 3, 14, 2, 1), "CNTP_CTL_EL0", 0},
    {ENC(3, 3, 14, 2, 2), "CNTP_CVAL_EL0", 0},
    {ENC(3, 3, 14, 3, 1), "CNTV_CTL_EL0", 0},
    {ENC(3, 3, 14, 3, 2), "CNTV_CVAL_EL0", 0},
};

bool hc_id_is_arm64(uint64_t id)
{
        return (id & ARM64_MASK) == ARM64 && ((id & SIZE_MASK) >> 52) <= SIZE_MAX_LOG2;
}

bool hc_id_in_cpu_stream(uint64_t id)
{
        return hc_id_is_arm64(id) && CLASS(id) != CLASS_CORE && CLASS(id) != CLASS_SVE;
}

/* KVM_REG_ARM64 | size | KVM_REG_ARM64_SYSREG | encoding, nothing else set. */
static bool is_sysreg(uint64_t id)
{
        return hc_id_is_arm64(id) &&
               (id & ~(ARM64_MASK | SIZE_MASK | 0xffffULL)) == (uint64_t)CLASS_SYSREG << 16;
}

bool hc_id_is_feature_id(uint64_t id, size_t *index)
{
        unsigned e = SYSREG(id), op1 = OP1(e);

        if (!is_sysreg(id))
                return false;
        if (OP0(e) != 3 || CRN(e) != 0 || CRM(e) > 7 || (op1 != 0 && op1 != 1 && op1 != 3))
                return false;
        if (index) /* KVM_ARM_FEATURE_ID_RANGE_IDX: op1 3 takes slot 2 */
                *index = (size_t)((op1 == 3 ? 2 : op1) << 6 | CRM(e) << 3 | OP2(e));
        return true;
}

bool hc_feature_id_fields_ordered(uint64_t id)
{
        return hc_id_is_feature_id(id, NULL) && OP1(SYSREG(id)) != 1;
}

static int sysreg_find(uint64_t id)
{
        if (!is_sysreg(id))
                return -1;
        for (size_t i = 0; i < ELEMENTSOF(sysregs); i++)
                if (sysregs[i].enc == SYSREG(id))
                        return (int)i;
        return -1;
}

uint16_t hc_feature_id_signed_fields(uint64_t id)
{
        int i = sysreg_find(id);

        return i >= 0 ? sysregs[i].signed_fields : 0;
}

const char *hc_reg_text(uint64_t id, char *buf, size_t len)
{
        int k = hc_catalog_find_id(id), s = sysreg_find(id);
        unsigned e = SYSREG(id);

        if (k >= 0)
                snprintf(buf, len, "%s", hc_catalog_get((size_t)k)->name);
        else if (s >= 0)
                snprintf(buf, len, "%s", sysregs[s].name);
        else if (hc_id_is_arm64(id) && CLASS(id) == CLASS_DEMUX && (id & 0xff00) == 0)
                snprintf(buf, len, "CCSIDR_EL1[CSSELR=%u]", (unsigned)(id & 0xff));
        else if (is_sysreg(id))
                snprintf(buf, len, "S%u_%u_C%u_C%u_%u", OP0(e), OP1(e), CRN(e), CRM(e), OP2(e));
        else
                snprintf(buf, len, "0x%016llx", (unsigned long long)id);
        return buf;
}

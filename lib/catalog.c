/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "hc-macro.h"

/*
 * ID = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | class << 16 | index.  Defined here,
 * not taken from <asm/kvm.h>: the build host's headers are x86's or too old,
 * and the bit counts are hidden from userspace.
 */
#define KVM_REG_ARM64_U64 0x6030000000000000ULL
#define FW_CLASS          0x0014ULL
#define FW_BMAP_CLASS     0x0016ULL
#define CLASS_MASK        0x0fff0000ULL
#define FW_REG(i)         (KVM_REG_ARM64_U64 | FW_CLASS << 16 | (i))
#define FW_BMAP_REG(i)    (KVM_REG_ARM64_U64 | FW_BMAP_CLASS << 16 | (i))

#define SERVICES(...)                                                                              \
        .services = (const struct hc_service[]){__VA_ARGS__},                                      \
        .n_services = sizeof((const struct hc_service[]){__VA_ARGS__}) / sizeof(struct hc_service)

/* Levels: WA1/WA3 0 NOT_AVAIL, 1 AVAIL, 2 NOT_REQUIRED; WA2 as read since 5.10: 0 or 3, older 1, 2. */
#define WA_LEVELS_3 0x7ULL
#define WA_LEVELS_4 0xfULL

static const struct hc_register catalog[] = {
        {.name = "PSCI_VERSION", .kernel_name = "KVM_REG_ARM_PSCI_VERSION", .id = FW_REG(0),
         .kind = HC_KIND_PSCI_VERSION, .since = "4.17", .reset_is_max = true},
        {.name = "SMCCC_ARCH_WORKAROUND_1", .kernel_name = "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1",
         .id = FW_REG(1), .kind = HC_KIND_WORKAROUND, .since = "5.3", .mask = WA_LEVELS_3,
         .reset_is_max = true},
        {.name = "SMCCC_ARCH_WORKAROUND_2", .kernel_name = "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2",
         .id = FW_REG(2), .kind = HC_KIND_WORKAROUND, .since = "5.3", .mask = WA_LEVELS_4,
         .reset_is_max = true, .level_mapped = true},
        {.name = "SMCCC_ARCH_WORKAROUND_3", .kernel_name = "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3",
         .id = FW_REG(3), .kind = HC_KIND_WORKAROUND, .since = "5.17", .mask = WA_LEVELS_3,
         .reset_is_max = true},
        {.name = "STD_BMAP", .kernel_name = "KVM_REG_ARM_STD_BMAP", .id = FW_BMAP_REG(0),
         .kind = HC_KIND_BITMAP, .since = "5.19", .mask = 0x1, .reset_value = 0x1,
         .reset_is_max = true,
         SERVICES({"trng", 0, false, "TRNG_VERSION/FEATURES/GET_UUID/RND32/RND64"})},
        {.name = "STD_HYP_BMAP", .kernel_name = "KVM_REG_ARM_STD_HYP_BMAP", .id = FW_BMAP_REG(1),
         .kind = HC_KIND_BITMAP, .since = "5.19", .mask = 0x1, .reset_value = 0x1,
         .reset_is_max = true,
         SERVICES({"pv-time", 0, false, "PV_TIME_FEATURES/PV_TIME_ST (stolen time)"})},
        {.name = "VENDOR_HYP_BMAP", .kernel_name = "KVM_REG_ARM_VENDOR_HYP_BMAP",
         .id = FW_BMAP_REG(2), .kind = HC_KIND_BITMAP, .since = "5.19", .mask = 0x3,
         .reset_value = 0x3, .reset_is_max = true,
         SERVICES({"kvm-features", 0, false, "VENDOR_HYP_CALL_UID and KVM_FEATURES"},
                  {"ptp", 1, false, "KVM_PTP (ptp_kvm clock)"})},
        {.name = "VENDOR_HYP_BMAP_2", .kernel_name = "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
         .id = FW_BMAP_REG(3), .kind = HC_KIND_BITMAP, .since = "6.15", .mask = 0x3,
         .reset_value = 0x0, .reset_is_max = false,
         SERVICES({"discover-impl-ver", 0, true, "DISCOVER_IMPL_VER (served by the VMM)"},
                  {"discover-impl-cpus", 1, true, "DISCOVER_IMPL_CPUS (served by the VMM)"})},
};

_Static_assert(ELEMENTSOF(catalog) <= HC_REG_MAX, "raise HC_REG_MAX");

/* PSCI versions KVM knows, oldest first: major << 16 | minor. */
static const uint32_t psci_versions[] = {0x1, 0x2, 0x10000, 0x10001, 0x10002, 0x10003};

size_t hc_catalog_count(void)
{
        return ELEMENTSOF(catalog);
}

const struct hc_register *hc_catalog_get(size_t index)
{
        assert(index < ELEMENTSOF(catalog));
        return &catalog[index];
}

int hc_catalog_find(const char *name)
{
        assert(name);
        for (size_t i = 0; i < ELEMENTSOF(catalog); i++)
                if (strcmp(catalog[i].name, name) == 0)
                        return (int)i;
        return -ENOENT;
}

int hc_catalog_find_id(uint64_t id)
{
        for (size_t i = 0; i < ELEMENTSOF(catalog); i++)
                if (catalog[i].id == id)
                        return (int)i;
        return -ENOENT;
}

int hc_catalog_find_kind(enum hc_reg_kind kind)
{
        for (size_t i = 0; i < ELEMENTSOF(catalog); i++)
                if (catalog[i].kind == kind)
                        return (int)i;
        return -ENOENT;
}

size_t hc_service_count(void)
{
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(catalog); i++)
                n += catalog[i].n_services;
        return n;
}

const struct hc_service *hc_service_get(size_t n, size_t *ret_reg)
{
        for (size_t i = 0; i < ELEMENTSOF(catalog); i++) {
                if (n < catalog[i].n_services) {
                        if (ret_reg)
                                *ret_reg = i;
                        return &catalog[i].services[n];
                }
                n -= catalog[i].n_services;
        }
        return NULL;
}

int hc_service_find(const char *name)
{
        const struct hc_service *s;

        assert(name);
        for (size_t n = 0; (s = hc_service_get(n, NULL)); n++)
                if (strcmp(s->name, name) == 0)
                        return (int)n;
        return -ENOENT;
}

bool hc_id_is_firmware(uint64_t id)
{
        uint64_t class = (id & CLASS_MASK) >> 16;

        return (id & 0xff00000000000000ULL) == (KVM_REG_ARM64_U64 & 0xff00000000000000ULL) &&
               (class == FW_CLASS || class == FW_BMAP_CLASS);
}

static bool psci_known(uint64_t v)
{
        for (size_t i = 0; i < ELEMENTSOF(psci_versions); i++)
                if (psci_versions[i] == v)
                        return true;
        return false;
}

bool hc_value_valid(const struct hc_register *reg, uint64_t value, char *why, size_t why_len)
{
        char hex[HC_HEX_MAX];

        assert(reg);
        switch (reg->kind) {
        case HC_KIND_BITMAP:
                if ((value & ~reg->mask) == 0)
                        return true;
                snprintf(why, why_len, "expected bits within mask %s",
                         hc_hex(reg->mask, hex, sizeof(hex)));
                return false;
        case HC_KIND_WORKAROUND:
                if (value < 64 && (reg->mask & (1ULL << value)))
                        return true;
                snprintf(why, why_len, "expected a workaround level from 0 to %d",
                         63 - __builtin_clzll(reg->mask));
                return false;
        case HC_KIND_PSCI_VERSION:
                if (psci_known(value))
                        return true;
                snprintf(why, why_len,
                         "expected a PSCI version KVM knows (0x1, 0x2, 0x10000 to 0x10003)");
                return false;
        }
        return false;
}

size_t hc_psci_version_count(void)
{
        return ELEMENTSOF(psci_versions);
}

uint32_t hc_psci_version_get(size_t n)
{
        assert(n < ELEMENTSOF(psci_versions));
        return psci_versions[n];
}

/* A decimal component of at most three digits; *end is left after it. */
static int parse_component(const char *s, const char **end, unsigned *ret)
{
        unsigned v = 0;
        size_t n = 0;

        while (s[n] >= '0' && s[n] <= '9' && n < 3)
                v = v * 10 + (unsigned)(s[n++] - '0');
        if (n == 0 || (s[n] >= '0' && s[n] <= '9'))
                return -EINVAL;
        *end = s + n;
        *ret = v;
        return 0;
}

int hc_psci_parse(const char *s, uint32_t *ret)
{
        unsigned major, minor;
        const char *p;

        assert(s);
        if (parse_component(s, &p, &major) < 0 || *p != '.' ||
            parse_component(p + 1, &p, &minor) < 0 || *p != '\0')
                return -EINVAL;
        if (!psci_known((uint64_t)major << 16 | minor))
                return -ERANGE;
        if (ret)
                *ret = major << 16 | minor;
        return 0;
}

void hc_psci_format(uint64_t version, char *buf, size_t len)
{
        snprintf(buf, len, "%u.%u", (unsigned)(version >> 16 & 0xffff), (unsigned)(version & 0xffff));
}

unsigned hc_workaround_rank(const struct hc_register *reg, uint64_t level)
{
        assert(reg);
        if (reg->level_mapped)
                return level >= 2 ? 3 : 0;
        return (unsigned)level;
}

const char *hc_hex(uint64_t v, char *buf, size_t len)
{
        snprintf(buf, len, "0x%" PRIx64, v);
        return buf;
}

int hc_parse_hex(const char *s, uint64_t *ret)
{
        uint64_t v = 0;
        size_t n;

        assert(s);
        if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
                return -EINVAL;
        s += 2;
        n = strlen(s);
        if (n == 0 || n > 16)
                return -EINVAL;
        for (; *s; s++) {
                unsigned d;

                if (*s >= '0' && *s <= '9')
                        d = (unsigned)(*s - '0');
                else if (*s >= 'a' && *s <= 'f')
                        d = (unsigned)(*s - 'a' + 10);
                else if (*s >= 'A' && *s <= 'F')
                        d = (unsigned)(*s - 'A' + 10);
                else
                        return -EINVAL;
                v = v << 4 | d;
        }
        if (ret)
                *ret = v;
        return 0;
}

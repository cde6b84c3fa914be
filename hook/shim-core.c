/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kvm-arm64.h"
#include "shim-core.h"

struct one_reg {
        uint64_t id;
        uint64_t addr;
};

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

enum hc_shim_role hc_shim_identify(const char *exe, const char *cmdline, size_t len, char uuid[37])
{
        const char *p = cmdline, *end = cmdline + len;
        bool want_value = false;

        uuid[0] = '\0';
        if (!exe || strncmp(base_name(exe), "qemu-system-", 12) != 0)
                return HC_SHIM_PASSIVE;
        while (p < end) {
                const char *z = memchr(p, '\0', (size_t)(end - p));
                size_t n = z ? (size_t)(z - p) : (size_t)(end - p);

                if (want_value) {
                        bool ok = n == 36;
                        for (size_t i = 0; ok && i < n; i++) {
                                char c = p[i];
                                if (i == 8 || i == 13 || i == 18 || i == 23)
                                        ok = c == '-';
                                else
                                        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                                             (c >= 'A' && c <= 'F');
                        }
                        if (ok) {
                                for (size_t i = 0; i < n; i++)
                                        uuid[i] = (char)(p[i] >= 'A' && p[i] <= 'F' ? p[i] - 'A' + 'a' : p[i]);
                                uuid[n] = '\0';
                        }
                        return HC_SHIM_MANAGED;
                }
                if ((n == 5 && memcmp(p, "-uuid", 5) == 0) || (n == 6 && memcmp(p, "--uuid", 6) == 0))
                        want_value = true;
                p += n + 1;
        }
        return want_value ? HC_SHIM_MANAGED : HC_SHIM_PASSIVE;
}

/* KVM_REG_ARM_PSCI_VERSION: the shim's one register-specific rule (see hc_shim_vcpu_plan). */
#define PSCI_VERSION_REG_ID 0x6030000000140000ULL

bool hc_shim_vcpu_plan(const struct hc_shim_plan *plan, const void *vcpu_init, struct hc_shim_plan *out)
{
        const struct hc_kvm_vcpu_init *init = vcpu_init;
        bool psci_0_2 = init && (init->features[0] & (1u << HC_KVM_ARM_VCPU_PSCI_0_2));

        *out = *plan;
        if (psci_0_2)
                return false;
        out->n_regs = 0;
        for (size_t i = 0; i < plan->n_regs; i++)
                if (plan->regs[i].id != PSCI_VERSION_REG_ID)
                        out->regs[out->n_regs++] = plan->regs[i];
        return out->n_regs != plan->n_regs;
}

static int get_reg(hc_raw_ioctl_fn raw, int fd, uint64_t id, uint64_t *value)
{
        struct one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)value};
        return raw(fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

static int set_reg(hc_raw_ioctl_fn raw, int fd, uint64_t id, uint64_t value)
{
        struct one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)&value};
        return raw(fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

int hc_shim_apply(const struct hc_shim_plan *plan, int vcpu_fd, hc_raw_ioctl_fn raw, char *err,
                  size_t err_len)
{
        for (size_t i = 0; i < plan->n_regs; i++) {
                const struct hc_shim_reg *reg = &plan->regs[i];
                uint64_t now = 0;
                int r;

                r = set_reg(raw, vcpu_fd, reg->id, reg->value);
                switch (r) {
                case 0:
                        break;
                case -ENOENT:
                        snprintf(err, err_len,
                                 "%s (0x%016" PRIx64 ") does not exist on this host's kernel (ENOENT), "
                                 "but the plan requires it: this host cannot run pool %s",
                                 reg->name, reg->id, plan->pool);
                        return r;
                case -EINVAL:
                        snprintf(err, err_len,
                                 "KVM rejected %s=0x%" PRIx64 " (EINVAL): this host's kernel does not offer it; "
                                 "the baseline of pool %s (generation %" PRIu64 ") is stale for this host",
                                 reg->name, reg->value, plan->pool, plan->generation);
                        return r;
                case -EBUSY:
                        snprintf(err, err_len,
                                 "KVM refused to change %s after the VM ran (EBUSY): the value cannot change now",
                                 reg->name);
                        return r;
                default:
                        snprintf(err, err_len, "KVM_SET_ONE_REG %s=0x%" PRIx64 " failed: %s", reg->name,
                                 reg->value, strerror(-r));
                        return r;
                }
                r = get_reg(raw, vcpu_fd, reg->id, &now);
                if (r < 0) {
                        snprintf(err, err_len, "KVM_GET_ONE_REG %s after setting it failed: %s", reg->name,
                                 strerror(-r));
                        return r;
                }
                if (now != reg->value) {
                        snprintf(err, err_len, "%s reads 0x%" PRIx64 " after setting 0x%" PRIx64, reg->name,
                                 now, reg->value);
                        return -EIO;
                }
        }
        return 0;
}

int hc_shim_verify(const struct hc_shim_plan *plan, int vcpu_fd, hc_raw_ioctl_fn raw, char *err,
                   size_t err_len)
{
        for (size_t i = 0; i < plan->n_regs; i++) {
                const struct hc_shim_reg *reg = &plan->regs[i];
                uint64_t now = 0;
                int r = get_reg(raw, vcpu_fd, reg->id, &now);

                if (r < 0) {
                        snprintf(err, err_len, "KVM_GET_ONE_REG %s before the first KVM_RUN failed: %s",
                                 reg->name, strerror(-r));
                        return r;
                }
                if (now != reg->value) {
                        snprintf(err, err_len,
                                 "%s is 0x%" PRIx64 " before the first KVM_RUN, the plan says 0x%" PRIx64
                                 "%s",
                                 reg->name, now, reg->value,
                                 plan->incoming ? " (the VM arrived with other values than it was stamped with)"
                                                : " (changed after KVM_ARM_VCPU_INIT)");
                        return -EIO;
                }
        }
        return 0;
}

void hc_shim_describe(const struct hc_shim_plan *plan, char *buf, size_t len)
{
        size_t o = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < plan->n_regs && o < len; i++) {
                int n = snprintf(buf + o, len - o, "%s%s=0x%" PRIx64, i ? " " : "", plan->regs[i].name,
                                 plan->regs[i].value);
                if (n < 0)
                        break;
                o += (size_t)n;
        }
        if (plan->n_regs == 0)
                snprintf(buf, len, "(no registers)");
}

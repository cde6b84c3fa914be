/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The shim's register logic against a simulated KVM that follows the
 * kernel's rules (kvm-abi.md §3): SET of a bit outside the host's mask is
 * EINVAL, an absent register is ENOENT, a change after the first run is
 * EBUSY.  What this proves: the shim sets and reads back every planned
 * value, fails closed with a message naming the register and the errno's
 * meaning, and notices a value that changed before the first KVM_RUN.
 * The real kernel is exercised by the arm64 lab tier; TCG makes no KVM ioctls.
 * Also: which processes the shim leaves alone (not QEMU, no -uuid).
 */
#include <errno.h>

#include "../../hook/shim-core.c" // NOLINT(bugprone-suspicious-include): compiled in, as the shim is
#include "../../hook/shim-plan.c" // NOLINT(bugprone-suspicious-include): compiled in, as the shim is
#include "hc-macro.h"
#include "hc-test.h"

struct fake_reg {
        uint64_t id, value, mask;
        bool present;
};

static struct {
        struct fake_reg regs[8];
        bool has_run;
        bool no_psci_0_2; /* the vCPU was initialised without KVM_ARM_VCPU_PSCI_0_2 */
        uint64_t lie_on_get; /* non-zero: GET returns this instead */
        unsigned sets, gets;
} kvm;

static void fake_host(void)
{
        memset(&kvm, 0, sizeof(kvm));
        kvm.regs[0] = (struct fake_reg){0x6030000000140000, 0x10001, 0, true}; /* PSCI: max 1.1 */
        kvm.regs[1] = (struct fake_reg){0x6030000000160000, 0x1, 0x1, true};     /* STD_BMAP */
        kvm.regs[2] = (struct fake_reg){0x6030000000160001, 0x1, 0x1, true};     /* STD_HYP_BMAP */
        kvm.regs[3] = (struct fake_reg){0x6030000000160002, 0x3, 0x3, true};     /* VENDOR_HYP_BMAP */
        kvm.regs[4] = (struct fake_reg){0x6030000000160003, 0x0, 0x3, false};    /* BMAP_2: a 6.1 kernel */
}

static int fake_ioctl(int fd, unsigned long request, void *arg)
{
        struct one_reg *r = arg;
        struct fake_reg *reg = NULL;
        uint64_t v;

        (void)fd;
        for (size_t i = 0; i < ELEMENTSOF(kvm.regs); i++)
                if (kvm.regs[i].present && kvm.regs[i].id == r->id)
                        reg = &kvm.regs[i];
        if (!reg) {
                errno = ENOENT;
                return -1;
        }
        if (request == KVM_GET_ONE_REG) {
                kvm.gets++;
                v = kvm.lie_on_get ? kvm.lie_on_get : reg->value;
                /* KVM's ABI carries the buffer address as a __u64. */
                memcpy((void *)(uintptr_t)r->addr, &v, sizeof(v)); // NOLINT(performance-no-int-to-ptr)
                return 0;
        }
        HC_ASSERT(request == KVM_SET_ONE_REG, "only GET/SET_ONE_REG reach the kernel here");
        kvm.sets++;
        memcpy(&v, (void *)(uintptr_t)r->addr, sizeof(v)); // NOLINT(performance-no-int-to-ptr)
        /* PSCI 0.2 and later only on a vCPU with KVM_ARM_VCPU_PSCI_0_2 (kvm-abi.md §2.1). */
        if (!reg->mask && kvm.no_psci_0_2 && v != 0x1) {
                errno = EINVAL;
                return -1;
        }
        if (reg->mask ? (v & ~reg->mask) != 0 : v > reg->value) {
                errno = EINVAL;
                return -1;
        }
        if (kvm.has_run && reg->mask && v != reg->value) { /* bitmaps only; PSCI has no has-run check */
                errno = EBUSY;
                return -1;
        }
        reg->value = v;
        return 0;
}

static void plan_of(struct hc_shim_plan *p, const char *regs)
{
        char text[2048], err[HC_SHIM_ERR_MAX] = "";

        snprintf(text, sizeof(text),
                 "hypercall-plan 1\nvm-uuid 6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\nvm-name web-3\nmode start\n"
                 "pool web\ngeneration 7\n"
                 "digest sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n%send\n",
                 regs);
        HC_ASSERT(hc_shim_plan_parse(text, strlen(text), "t.plan", p, err, sizeof(err)) == 0, "%s", err);
}

#define WEB_REGS                                                                                           \
        "register PSCI_VERSION 0x6030000000140000 0x10000\n"                                               \
        "register STD_BMAP 0x6030000000160000 0x0\n"                                                       \
        "register VENDOR_HYP_BMAP 0x6030000000160002 0x1\n"

/*
 * QEMU's scratch vCPUs (host feature probing) are initialised without PSCI 0.2, and
 * KVM refuses any PSCI version but 0x1 on them: found in the arm64 lab, where every
 * plan with PSCI_VERSION stopped QEMU at its first, scratch, KVM_ARM_VCPU_INIT.
 */
HC_TEST(shim__leaves_psci_version_to_a_vcpu_without_psci_0_2)
{
        struct hc_kvm_vcpu_init scratch = {.target = 0}, real = {.features = {1u << HC_KVM_ARM_VCPU_PSCI_0_2}};
        struct hc_shim_plan p, vp;
        char err[HC_SHIM_ERR_MAX] = "";

        fake_host();
        kvm.no_psci_0_2 = true;
        plan_of(&p, WEB_REGS);
        HC_ASSERT(hc_shim_apply(&p, 7, fake_ioctl, err, sizeof(err)) == -EINVAL,
                  "the whole plan on a PSCI 0.1 vCPU: expected EINVAL");
        fake_host();
        kvm.no_psci_0_2 = true;
        HC_ASSERT(hc_shim_vcpu_plan(&p, &scratch, &vp), "a vCPU without PSCI 0.2: expected a reduced plan");
        HC_ASSERT(vp.n_regs == 2, "expected 2 registers without PSCI_VERSION, got %zu", vp.n_regs);
        for (size_t i = 0; i < vp.n_regs; i++)
                HC_ASSERT(strcmp(vp.regs[i].name, "PSCI_VERSION") != 0, "PSCI_VERSION left in the plan");
        HC_ASSERT(hc_shim_apply(&vp, 7, fake_ioctl, err, sizeof(err)) == 0, "%s", err);
        HC_ASSERT(hc_shim_verify(&vp, 7, fake_ioctl, err, sizeof(err)) == 0, "%s", err);
        HC_ASSERT(kvm.regs[1].value == 0x0 && kvm.regs[3].value == 0x1,
                  "bitmaps: expected STD 0x0 VENDOR 0x1, got 0x%" PRIx64 " 0x%" PRIx64, kvm.regs[1].value,
                  kvm.regs[3].value);
        HC_ASSERT(!hc_shim_vcpu_plan(&p, &real, &vp), "a vCPU with PSCI 0.2: expected the whole plan");
        HC_ASSERT(vp.n_regs == p.n_regs, "expected %zu registers, got %zu", p.n_regs, vp.n_regs);
}

HC_TEST(shim__sets_and_reads_back_every_planned_register)
{
        struct hc_shim_plan p;
        char err[HC_SHIM_ERR_MAX] = "";

        fake_host();
        plan_of(&p, WEB_REGS);
        HC_ASSERT(hc_shim_apply(&p, 7, fake_ioctl, err, sizeof(err)) == 0, "%s", err);
        HC_ASSERT_INTEQ(kvm.sets, 3);
        HC_ASSERT_INTEQ(kvm.gets, 3); /* one read-back per register */
        HC_ASSERT_INTEQ(kvm.regs[0].value, 0x10000);
        HC_ASSERT_INTEQ(kvm.regs[1].value, 0);
        HC_ASSERT_INTEQ(kvm.regs[3].value, 1);
        HC_ASSERT(hc_shim_verify(&p, 7, fake_ioctl, err, sizeof(err)) == 0, "%s", err);
        /* A second vCPU (and a reset, after the run) writes the same values again: allowed. */
        kvm.has_run = true;
        HC_ASSERT(hc_shim_apply(&p, 8, fake_ioctl, err, sizeof(err)) == 0, "%s", err);
}

HC_TEST(shim__bit_the_kernel_lacks_fails_closed_einval)
{
        struct hc_shim_plan p;
        char err[HC_SHIM_ERR_MAX] = "";

        fake_host();
        kvm.regs[1].mask = 0; /* a kernel whose STD_BMAP offers nothing */
        kvm.regs[1].value = 0;
        plan_of(&p, "register STD_BMAP 0x6030000000160000 0x1\n");
        HC_ASSERT(hc_shim_apply(&p, 7, fake_ioctl, err, sizeof(err)) == -EINVAL, "refused");
        HC_ASSERT_STREQ(err, "KVM rejected STD_BMAP=0x1 (EINVAL): this host's kernel does not offer it; the "
                             "baseline of pool web (generation 7) is stale for this host");
}

HC_TEST(shim__register_absent_on_this_kernel_fails_closed_enoent)
{
        struct hc_shim_plan p;
        char err[HC_SHIM_ERR_MAX] = "";

        fake_host();
        plan_of(&p, "register VENDOR_HYP_BMAP_2 0x6030000000160003 0x0\n");
        HC_ASSERT(hc_shim_apply(&p, 7, fake_ioctl, err, sizeof(err)) == -ENOENT, "refused");
        HC_ASSERT_STREQ(err, "VENDOR_HYP_BMAP_2 (0x6030000000160003) does not exist on this host's kernel "
                             "(ENOENT), but the plan requires it: this host cannot run pool web");
}

HC_TEST(shim__change_after_first_run_is_ebusy)
{
        struct hc_shim_plan p;
        char err[HC_SHIM_ERR_MAX] = "";

        fake_host();
        kvm.has_run = true;
        plan_of(&p, WEB_REGS);
        HC_ASSERT(hc_shim_apply(&p, 7, fake_ioctl, err, sizeof(err)) == -EBUSY, "refused");
        HC_ASSERT_STREQ(err, "KVM refused to change STD_BMAP after the VM ran (EBUSY): the value cannot change now");
}

HC_TEST(shim__read_back_mismatch_fails_closed)
{
        struct hc_shim_plan p;
        char err[HC_SHIM_ERR_MAX] = "";

        fake_host();
        kvm.lie_on_get = 0x3;
        plan_of(&p, "register VENDOR_HYP_BMAP 0x6030000000160002 0x1\n");
        HC_ASSERT(hc_shim_apply(&p, 7, fake_ioctl, err, sizeof(err)) == -EIO, "refused");
        HC_ASSERT_STREQ(err, "VENDOR_HYP_BMAP reads 0x3 after setting 0x1");
}

HC_TEST(shim__value_changed_before_first_run_is_caught)
{
        struct hc_shim_plan p;
        char err[HC_SHIM_ERR_MAX] = "";

        fake_host();
        plan_of(&p, WEB_REGS);
        HC_ASSERT(hc_shim_apply(&p, 7, fake_ioctl, err, sizeof(err)) == 0, "%s", err);
        kvm.regs[3].value = 0x3; /* someone wrote the host maximum back after VCPU_INIT */
        HC_ASSERT(hc_shim_verify(&p, 7, fake_ioctl, err, sizeof(err)) == -EIO, "caught");
        HC_ASSERT_STREQ(err, "VENDOR_HYP_BMAP is 0x3 before the first KVM_RUN, the plan says 0x1 (changed after "
                             "KVM_ARM_VCPU_INIT)");
}

HC_TEST(shim__leaves_non_qemu_and_probe_processes_alone)
{
        static const char probe[] = "qemu-system-aarch64\0-S\0-machine\0none,accel=kvm:tcg\0";
        static const char vm[] = "qemu-system-aarch64\0-name\0guest=web-3\0-uuid\0"
                                 "6F1C2A3B-4D5E-4F60-8A7B-9C0D1E2F3A4B\0-S\0";
        static const char bad[] = "qemu-system-aarch64\0-uuid\0not-a-uuid\0";
        char uuid[37];

        HC_ASSERT_INTEQ(hc_shim_identify("/usr/sbin/libvirtd", vm, sizeof(vm) - 1, uuid), HC_SHIM_PASSIVE);
        HC_ASSERT_INTEQ(hc_shim_identify("/usr/bin/qemu-system-aarch64", probe, sizeof(probe) - 1, uuid),
                        HC_SHIM_PASSIVE);
        HC_ASSERT_INTEQ(hc_shim_identify("/usr/bin/qemu-system-aarch64", vm, sizeof(vm) - 1, uuid),
                        HC_SHIM_MANAGED);
        HC_ASSERT_STREQ(uuid, "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b");
        /* A malformed -uuid is managed with no UUID: the caller fails closed. */
        HC_ASSERT_INTEQ(hc_shim_identify("/usr/bin/qemu-system-aarch64", bad, sizeof(bad) - 1, uuid),
                        HC_SHIM_MANAGED);
        HC_ASSERT_STREQ(uuid, "");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/utsname.h>
#include <time.h>

#include "fileio.h"
#include "kvm-arm64.h"
#include "probe.h"
#include "vcpu-regs.h"

struct scratch_vm {
        int kvm, vm, vcpu;
};

static void scratch_vm_done(struct scratch_vm *s)
{
        closep(&s->vcpu);
        closep(&s->vm);
        closep(&s->kvm);
}

static int open_kvm(const char *path, struct scratch_vm *s, struct hc_error *err)
{
        struct utsname u;

        if (uname(&u) < 0)
                return hc_error_set(err, errno, "uname: %s", strerror(errno));
        if (strcmp(u.machine, "aarch64") != 0)
                return hc_error_set(err, EOPNOTSUPP, "not an arm64 KVM host (this machine is %s)",
                                    u.machine);
        s->kvm = open(path, O_RDWR | O_CLOEXEC);
        if (s->kvm < 0 && (errno == EACCES || errno == EPERM))
                return hc_error_set(err, errno, "%s: permission denied", path);
        if (s->kvm < 0)
                return hc_error_set(err, errno, "%s: %s (KVM not enabled on this host?)", path,
                                    strerror(errno));
        if (ioctl(s->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
                return hc_error_set(err, ENOTSUP, "%s: unexpected KVM API version", path);
        return 0;
}

/* Type 0 means a 40-bit IPA space, which fails where the host supports less. */
static int create_vm(struct scratch_vm *s, struct hc_error *err)
{
        int ipa = ioctl(s->kvm, KVM_CHECK_EXTENSION, HC_KVM_CAP_ARM_VM_IPA_SIZE);
        unsigned long type = 0;

        if (ipa > 0 && ipa < HC_KVM_DEFAULT_IPA_BITS)
                type = (unsigned long)ipa;
        s->vm = ioctl(s->kvm, KVM_CREATE_VM, type);
        if (s->vm < 0)
                return hc_error_set(err, errno, "KVM_CREATE_VM: %s", strerror(errno));
        return 0;
}

static int create_vcpu(struct scratch_vm *s, uint32_t features, struct hc_error *err)
{
        struct hc_kvm_vcpu_init init = {0};

        if (ioctl(s->kvm, KVM_CHECK_EXTENSION, HC_KVM_CAP_ARM_PSCI_0_2) <= 0 ||
            ioctl(s->kvm, KVM_CHECK_EXTENSION, KVM_CAP_ONE_REG) <= 0)
                return hc_error_set(err, ENOTSUP, "KVM without firmware registers (no ONE_REG/PSCI 0.2)");
        if (ioctl(s->vm, HC_KVM_ARM_PREFERRED_TARGET, &init) < 0)
                return hc_error_set(err, errno, "KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
        s->vcpu = ioctl(s->vm, KVM_CREATE_VCPU, 0);
        if (s->vcpu < 0)
                return hc_error_set(err, errno, "KVM_CREATE_VCPU: %s", strerror(errno));
        init.features[0] = features;
        if (ioctl(s->vcpu, HC_KVM_ARM_VCPU_INIT, &init) < 0)
                return hc_error_set(err, errno, "KVM_ARM_VCPU_INIT: %s", strerror(errno));
        return 0;
}

static int get_reg(int vcpu, uint64_t id, uint64_t *val)
{
        struct kvm_one_reg r = {.id = id, .addr = (uintptr_t)val};

        return ioctl(vcpu, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

static int set_reg(int vcpu, uint64_t id, uint64_t val)
{
        struct kvm_one_reg r = {.id = id, .addr = (uintptr_t)&val};

        return ioctl(vcpu, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

/* KVM_GET_REG_LIST: asks for the count (E2BIG), then for the list. */
static int get_reg_list(int vcpu, struct kvm_reg_list **ret, struct hc_error *err)
{
        struct kvm_reg_list probe = {.n = 0};
        _cleanup_free_ struct kvm_reg_list *list = NULL;

        if (ioctl(vcpu, KVM_GET_REG_LIST, &probe) == 0 || errno != E2BIG)
                return hc_error_set(err, errno ?: EIO, "KVM_GET_REG_LIST: %s", strerror(errno));
        list = calloc(1, sizeof(*list) + probe.n * sizeof(uint64_t));
        if (!list)
                return hc_error_set(err, ENOMEM, "out of memory");
        list->n = probe.n;
        if (ioctl(vcpu, KVM_GET_REG_LIST, list) < 0)
                return hc_error_set(err, errno, "KVM_GET_REG_LIST: %s", strerror(errno));
        *ret = TAKE_PTR(list);
        return 0;
}

/* Firmware-class IDs from KVM_GET_REG_LIST: known ones mark presence, others are unknown. */
static int list_firmware_registers(int vcpu, struct hc_record *rec, bool *any, struct hc_error *err)
{
        _cleanup_free_ struct kvm_reg_list *list = NULL;
        int k;

        *any = false;
        k = get_reg_list(vcpu, &list, err);
        if (k < 0 || !list)
                return k < 0 ? k : -EIO;
        rec->unknown = calloc(list->n ? list->n : 1, sizeof(uint64_t));
        if (!rec->unknown)
                return hc_error_set(err, ENOMEM, "out of memory");
        for (uint64_t i = 0; i < list->n; i++) {
                int idx;

                if (!hc_id_is_firmware(list->reg[i]))
                        continue;
                *any = true;
                idx = hc_catalog_find_id(list->reg[i]);
                if (idx >= 0)
                        rec->regs[idx].present = true;
                else
                        rec->unknown[rec->n_unknown++] = list->reg[i];
        }
        return 0;
}

/*
 * A bitmap's accepted bits, by test writes of each bit alone on the
 * never-run vCPU: KVM rejects val & ~mask as a whole, so this is exact and
 * finds bits newer than the catalog, and bits a zero default hides.
 */
static int probe_bitmap_mask(int vcpu, uint64_t id, uint64_t *ret, struct hc_error *err)
{
        uint64_t mask = 0;

        for (unsigned b = 0; b < 64; b++) {
                int k = set_reg(vcpu, id, 1ULL << b);
                if (k == 0)
                        mask |= 1ULL << b;
                else if (k != -EINVAL)
                        return hc_error_set(err, -k, "KVM_SET_ONE_REG 0x%016llx bit %u: %s",
                                            (unsigned long long)id, b, strerror(-k));
        }
        *ret = mask;
        return 0;
}

static int read_register(int vcpu, size_t idx, struct hc_reg_state *st, struct hc_error *err)
{
        const struct hc_register *reg = hc_catalog_get(idx);
        uint64_t value, mask = 0;
        int k;

        k = get_reg(vcpu, reg->id, &value);
        if (k == -ENOENT) {
                st->present = false; /* listed or not, the kernel does not serve it */
                return 0;
        }
        if (k < 0)
                return hc_error_set(err, -k, "KVM_GET_ONE_REG %s: %s", reg->name, strerror(-k));
        st->present = true;
        st->value = value;
        if (reg->kind != HC_KIND_BITMAP)
                return 0;
        k = probe_bitmap_mask(vcpu, reg->id, &mask, err);
        if (k < 0)
                return k;
        st->value = mask;
        st->has_default = value != mask;
        st->default_value = value;
        return set_reg(vcpu, reg->id, value) == 0 ? 0 : hc_error_set(err, EIO, "restoring %s failed", reg->name);
}

static char *read_midr(const char *sysfs)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        uint64_t midr;
        char *out;

        if (asprintf(&path, "%s/devices/system/cpu/cpu0/regs/identification/midr_el1", sysfs) < 0)
                return NULL;
        if (hc_read_file(path, &text, NULL, NULL) < 0)
                return NULL;
        text[strcspn(text, "\n")] = '\0';
        if (hc_parse_hex(text, &midr) < 0 || asprintf(&out, "0x%llx", (unsigned long long)midr) < 0)
                return NULL;
        return out;
}

/*
 * KVM says how it initialised only in the kernel log; unknown stays null.
 * Most specific first: "VHE mode initialized" is also the tail of "Hyp nVHE
 * mode initialized", so the plain VHE line is matched with its "]: " prefix.
 */
static char *read_kvm_mode(void)
{
        static const struct {
                const char *needle, *mode;
        } modes[] = {
                {"Protected nVHE mode initialized", "protected"},
                {"Protected hVHE mode initialized", "protected"},
                {"Hyp nVHE mode initialized", "nvhe"},
                {"Hyp hVHE mode initialized", "hvhe"},
                {"Hyp mode initialized", "nvhe"},
                {"]: VHE mode initialized", "vhe"},
        };
        int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
        _cleanup_free_ char *buf = NULL;
        int n;

        if (size <= 0 || !(buf = calloc(1, (size_t)size + 1)))
                return NULL;
        n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
        if (n <= 0)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(modes); i++)
                if (strstr(buf, modes[i].needle))
                        return strdup(modes[i].mode);
        return NULL;
}

static int fill_identity(const struct hc_probe_options *opts, struct hc_record *rec,
                         struct hc_error *err)
{
        struct utsname u;
        char host[256] = "";

        if (uname(&u) < 0)
                return hc_error_set(err, errno, "uname: %s", strerror(errno));
        if (!opts->host && gethostname(host, sizeof(host) - 1) < 0)
                return hc_error_set(err, errno, "gethostname: %s", strerror(errno));
        rec->host = strdup(opts->host ?: host);
        rec->kernel = strdup(u.release);
        if (!rec->host || !rec->kernel || hc_record_set_probed_at(rec, (int64_t)time(NULL)) < 0)
                return hc_error_set(err, ENOMEM, "out of memory");
        rec->midr = read_midr(opts->sysfs ?: "/sys");
        rec->kvm_mode = read_kvm_mode();
        return 0;
}

int hc_probe(const struct hc_probe_options *opts, struct hc_record **ret, struct hc_error *err)
{
        _cleanup_(scratch_vm_done) struct scratch_vm s = {-1, -1, -1};
        _cleanup_(hc_record_freep) struct hc_record *rec = hc_record_new();
        _cleanup_free_ char *text = NULL;
        const char *kvm_path;
        bool any;
        int k;

        assert(opts);
        assert(ret);
        kvm_path = opts->kvm_path ?: "/dev/kvm";
        if (!rec)
                return hc_error_set(err, ENOMEM, "out of memory");
        if ((k = open_kvm(kvm_path, &s, err)) < 0 || (k = create_vm(&s, err)) < 0 ||
            /* PSCI 0.2 only: SVE would make KVM_GET_REG_LIST fail until finalized. */
            (k = create_vcpu(&s, 1u << HC_KVM_ARM_VCPU_PSCI_0_2, err)) < 0 || (k = list_firmware_registers(s.vcpu, rec, &any, err)) < 0)
                return k;
        if (!any)
                return hc_error_set(err, ENOTSUP, "KVM without firmware registers (kernel before 4.17?)");
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                k = read_register(s.vcpu, i, &rec->regs[i], err);
                if (k < 0)
                        return k;
        }
        k = fill_identity(opts, rec, err);
        if (k < 0)
                return k;
        /* Round-trip through the validator: a probe never emits what a reader would refuse. */
        text = hc_record_to_string(rec);
        if (!text)
                return hc_error_set(err, ENOMEM, "out of memory");
        return hc_record_parse(text, strlen(text), "probe result", ret, err);
}

/* ---- the vCPU register set QEMU migrates ------------------------------------------------ */

/* What QEMU 7.2+ "-cpu host" asks KVM_ARM_VCPU_INIT for: every optional feature KVM offers. */
static uint32_t qemu_vcpu_features(int kvm, unsigned *ret_flags)
{
        uint32_t f = 1u << HC_KVM_ARM_VCPU_PSCI_0_2;

        *ret_flags = 0;
        if (ioctl(kvm, KVM_CHECK_EXTENSION, HC_KVM_CAP_ARM_PMU_V3) > 0) {
                f |= 1u << HC_KVM_ARM_VCPU_PMU_V3;
                *ret_flags |= HC_VCPU_PMU_V3;
        }
        if (ioctl(kvm, KVM_CHECK_EXTENSION, HC_KVM_CAP_ARM_PTRAUTH_ADDRESS) > 0 &&
            ioctl(kvm, KVM_CHECK_EXTENSION, HC_KVM_CAP_ARM_PTRAUTH_GENERIC) > 0) {
                f |= 1u << HC_KVM_ARM_VCPU_PTRAUTH_ADDRESS | 1u << HC_KVM_ARM_VCPU_PTRAUTH_GENERIC;
                *ret_flags |= HC_VCPU_PTRAUTH;
        }
        if (ioctl(kvm, KVM_CHECK_EXTENSION, HC_KVM_CAP_ARM_SVE) > 0) {
                f |= 1u << HC_KVM_ARM_VCPU_SVE;
                *ret_flags |= HC_VCPU_SVE;
        }
        return f;
}

static int compare_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

/* The cpreg list (sorted, as QEMU sorts it) and the values of its feature ID registers. */
static int read_stream_registers(int vcpu, struct hc_vcpu_regs *v, struct hc_error *err)
{
        _cleanup_free_ struct kvm_reg_list *list = NULL;
        int k = get_reg_list(vcpu, &list, err);

        if (k < 0 || !list)
                return k < 0 ? k : -EIO;
        v->ids = calloc(list->n + 1, sizeof(*v->ids));
        v->feature_ids = calloc(list->n + 1, sizeof(*v->feature_ids));
        if (!v->ids || !v->feature_ids)
                return hc_error_set(err, ENOMEM, "out of memory");
        for (uint64_t i = 0; i < list->n; i++)
                if (hc_id_in_cpu_stream(list->reg[i]))
                        v->ids[v->n_ids++] = list->reg[i];
        qsort(v->ids, v->n_ids, sizeof(*v->ids), compare_u64);
        for (size_t i = 0; i < v->n_ids; i++) {
                struct hc_feature_id *f = &v->feature_ids[v->n_feature_ids];

                if (!hc_id_is_feature_id(v->ids[i], NULL))
                        continue;
                f->id = v->ids[i];
                k = get_reg(vcpu, f->id, &f->value);
                if (k < 0)
                        return hc_error_set(err, -k, "KVM_GET_ONE_REG 0x%016llx: %s",
                                            (unsigned long long)f->id, strerror(-k));
                v->n_feature_ids++;
        }
        return 0;
}

/* KVM_ARM_GET_REG_WRITABLE_MASKS where the kernel has it (6.7+); else nothing is writable. */
static int read_writable_masks(int vm, struct hc_vcpu_regs *v, struct hc_error *err)
{
        uint64_t masks[HC_FEATURE_ID_RANGE_SIZE] = {0};
        struct hc_reg_mask_range r = {.addr = (uintptr_t)masks, .range = HC_KVM_ARM_FEATURE_ID_RANGE};
        int ranges = ioctl(vm, KVM_CHECK_EXTENSION, HC_KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES);

        if (ranges <= 0 || !(ranges & (1 << HC_KVM_ARM_FEATURE_ID_RANGE)))
                return 0;
        if (ioctl(vm, HC_KVM_ARM_GET_REG_WRITABLE_MASKS, &r) < 0)
                return hc_error_set(err, errno, "KVM_ARM_GET_REG_WRITABLE_MASKS: %s", strerror(errno));
        v->writable_masks = true;
        for (size_t i = 0; i < v->n_feature_ids; i++) {
                size_t slot;

                if (hc_id_is_feature_id(v->feature_ids[i].id, &slot))
                        v->feature_ids[i].writable = masks[slot];
        }
        return 0;
}

static int copy_identity(const struct hc_record *rec, struct hc_vcpu_regs *v, struct hc_error *err)
{
        v->host = strdup(rec->host);
        v->kernel = strdup(rec->kernel);
        v->probed_at = strdup(rec->probed_at);
        v->probed_at_unix = rec->probed_at_unix;
        if (!v->host || !v->kernel || !v->probed_at)
                return hc_error_set(err, ENOMEM, "out of memory");
        return 0;
}

int hc_probe_vcpu_regs(const struct hc_probe_options *opts, const struct hc_record *identity,
                       struct hc_vcpu_regs **ret, struct hc_error *err)
{
        _cleanup_(scratch_vm_done) struct scratch_vm s = {-1, -1, -1};
        _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *v = hc_vcpu_regs_new();
        _cleanup_free_ char *text = NULL;
        int sve = HC_KVM_ARM_VCPU_SVE, k;

        assert(opts);
        assert(identity);
        assert(ret);
        if (!v)
                return hc_error_set(err, ENOMEM, "out of memory");
        if ((k = open_kvm(opts->kvm_path ?: "/dev/kvm", &s, err)) < 0 || (k = create_vm(&s, err)) < 0 ||
            (k = create_vcpu(&s, qemu_vcpu_features(s.kvm, &v->features), err)) < 0)
                return k;
        /* An SVE vCPU lists nothing until its vector lengths are final (QEMU keeps the defaults). */
        if ((v->features & HC_VCPU_SVE) && ioctl(s.vcpu, HC_KVM_ARM_VCPU_FINALIZE, &sve) < 0)
                return hc_error_set(err, errno, "KVM_ARM_VCPU_FINALIZE(SVE): %s", strerror(errno));
        if ((k = read_stream_registers(s.vcpu, v, err)) < 0 || (k = read_writable_masks(s.vm, v, err)) < 0 ||
            (k = copy_identity(identity, v, err)) < 0)
                return k;
        text = hc_vcpu_regs_to_string(v);
        if (!text)
                return hc_error_set(err, ENOMEM, "out of memory");
        return hc_vcpu_regs_parse(text, strlen(text), "probe result", ret, err);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhypercall-shim.so: LD_PRELOADed into QEMU, libc only.
 *
 * Only the QEMU process can set its vCPUs' firmware registers (KVM refuses
 * vCPU ioctls from any other mm), so this library wraps ioctl():
 *  - right after a successful KVM_ARM_VCPU_INIT it sets every register of
 *    the VM's plan with KVM_SET_ONE_REG and reads it back; QEMU then reads
 *    and caches the policy values in its cpreg list (a vCPU initialised
 *    without PSCI 0.2, such as QEMU's host-probing scratch vCPU, cannot take
 *    a PSCI version: it gets the rest of the plan, hc_shim_vcpu_plan());
 *  - before each vCPU's first KVM_RUN it reads them again;
 *  - any failure: one line on stderr (the domain's QEMU log) and QEMU stops
 *    before the guest runs (KVM_ARM_VCPU_INIT fails with EPERM; a failed
 *    check at KVM_RUN exits the process).
 * The constructor decides the role once, before QEMU's seccomp sandbox:
 * not QEMU, or QEMU without -uuid (libvirt's capability probe) -> passive;
 * QEMU with -uuid -> the plan /run/hypercall/vm/<uuid>.plan must load, else
 * the process exits at once (fail closed).  Every ioctl that is not a KVM
 * ioctl of an armed QEMU costs one well-predicted branch.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm-arm64.h"
#include "shim-core.h"

#define SHIM_EXPORT __attribute__((visibility("default")))
#define MAX_TRACKED_FD 4096

static int raw_syscall_ioctl(int fd, unsigned long request, void *arg)
{
        return (int)syscall(SYS_ioctl, fd, request, arg);
}

typedef int (*next_ioctl_fn)(int fd, unsigned long request, ...);

/* Until the constructor has looked up the next ioctl() (another library's constructor may call us first). */
static int early_ioctl(int fd, unsigned long request, ...)
{
        va_list ap;
        void *arg;

        va_start(ap, request);
        arg = va_arg(ap, void *);
        va_end(ap);
        return raw_syscall_ioctl(fd, request, arg);
}

static next_ioctl_fn next_ioctl = early_ioctl;

static int raw_next(int fd, unsigned long request, void *arg)
{
        return next_ioctl(fd, request, arg);
}

static struct {
        int armed;                 /* a managed QEMU with a valid plan */
        int failed;                /* a plan could not be applied: no vCPU may run */
        int pending;               /* vCPUs initialised but not yet through their first KVM_RUN */
        int applied_once, verified_once, no_psci_once;
        pthread_mutex_t lock;
        /* per vCPU fd: first run still to check against 1 = plan, 2 = plan_no_psci */
        unsigned char state[MAX_TRACKED_FD];
        struct hc_shim_plan plan;
        struct hc_shim_plan plan_no_psci; /* for vCPUs without PSCI 0.2 (hc_shim_vcpu_plan) */
} shim = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The ABI marker the <emulator> wrapper checks after dlopen(): this is our shim. */
SHIM_EXPORT const char hypercall_shim_abi[] = "hypercall-shim 1";

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
        char line[1024];
        va_list ap;
        int n;

        n = snprintf(line, sizeof(line), "hypercall-shim[%d]: ", (int)getpid());
        va_start(ap, fmt);
        (void)vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        n = (int)strlen(line);
        line[n++] = '\n';
        (void)!write(STDERR_FILENO, line, (size_t)n);
}

static size_t read_small(const char *path, char *buf, size_t len)
{
        size_t got = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return 0;
        while (got < len) {
                ssize_t n = read(fd, buf + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        close(fd);
        return got;
}

__attribute__((constructor)) static void shim_init(void)
{
        char exe[PATH_MAX] = "", cmdline[65536], uuid[37], path[PATH_MAX], err[HC_SHIM_ERR_MAX];
        char regs[512];
        ssize_t n;
        size_t len;

        next_ioctl_fn next = (next_ioctl_fn)dlsym(RTLD_NEXT, "ioctl");

        if (next)
                next_ioctl = next;
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0)
                exe[n] = '\0';
        /* The <emulator> wrapper dlopen()s us only to prove we load: stay passive there. */
        if (getenv("HYPERCALL_SHIM_LOAD_CHECK"))
                return;
        len = read_small("/proc/self/cmdline", cmdline, sizeof(cmdline));
        if (hc_shim_identify(exe, cmdline, len, uuid) == HC_SHIM_PASSIVE)
                return;
        if (uuid[0] == '\0') {
                say("refusing to run: QEMU was given a malformed -uuid, so its plan cannot be found");
                _exit(1);
        }
        snprintf(path, sizeof(path), "%s/%s.plan", HC_SHIM_DEFAULT_PLAN_DIR, uuid);
        if (hc_shim_plan_load(path, &shim.plan, err, sizeof(err)) < 0) {
                say("refusing to run VM %s: no valid plan: %s", uuid, err);
                _exit(1);
        }
        if (strcmp(shim.plan.uuid, uuid) != 0) {
                say("refusing to run VM %s: %s is for VM %s", uuid, path, shim.plan.uuid);
                _exit(1);
        }
        (void)hc_shim_vcpu_plan(&shim.plan, &(struct hc_kvm_vcpu_init){0}, &shim.plan_no_psci);
        hc_shim_describe(&shim.plan, regs, sizeof(regs));
        say("VM %s (%s): pool %s generation %llu %s, mode %s: will set %s after each KVM_ARM_VCPU_INIT",
            shim.plan.name, uuid, shim.plan.pool, (unsigned long long)shim.plan.generation,
            shim.plan.digest, shim.plan.incoming ? "incoming" : "start", regs);
        __atomic_store_n(&shim.armed, 1, __ATOMIC_RELEASE);
}

static int on_vcpu_init(int fd, unsigned long request, void *arg)
{
        char err[HC_SHIM_ERR_MAX];
        const struct hc_shim_plan *plan;
        struct hc_shim_plan scratch;
        bool no_psci;
        int r = raw_next(fd, request, arg);

        if (r < 0)
                return r;
        pthread_mutex_lock(&shim.lock);
        if (shim.failed) {
                pthread_mutex_unlock(&shim.lock);
                errno = EPERM;
                return -1;
        }
        no_psci = hc_shim_vcpu_plan(&shim.plan, arg, &scratch);
        plan = no_psci ? &shim.plan_no_psci : &shim.plan;
        if (hc_shim_apply(plan, fd, raw_next, err, sizeof(err)) < 0) {
                shim.failed = 1;
                pthread_mutex_unlock(&shim.lock);
                say("VM %s (%s): stopping before the guest runs: %s", shim.plan.name, shim.plan.uuid, err);
                errno = EPERM;
                return -1;
        }
        if (fd >= 0 && fd < MAX_TRACKED_FD) {
                if (!shim.state[fd])
                        __atomic_add_fetch(&shim.pending, 1, __ATOMIC_RELEASE);
                shim.state[fd] = no_psci ? 2 : 1;
        }
        if (no_psci && !shim.no_psci_once) {
                shim.no_psci_once = 1;
                say("VM %s: vCPU fd %d was initialised without PSCI 0.2 (QEMU's host-probing scratch vCPU, "
                    "or a machine with PSCI 0.1): KVM keeps its PSCI_VERSION at 0x1, the other %zu registers are set",
                    shim.plan.name, fd, shim.plan_no_psci.n_regs);
        }
        if (!no_psci && !shim.applied_once) {
                shim.applied_once = 1;
                say("VM %s: set and read back %zu registers on vCPU fd %d", shim.plan.name, plan->n_regs, fd);
        }
        pthread_mutex_unlock(&shim.lock);
        return r;
}

static int on_first_run(int fd)
{
        char err[HC_SHIM_ERR_MAX];

        pthread_mutex_lock(&shim.lock);
        if (shim.failed) {
                pthread_mutex_unlock(&shim.lock);
                say("VM %s: a plan register could not be applied; refusing KVM_RUN", shim.plan.name);
                _exit(1);
        }
        if (fd >= 0 && fd < MAX_TRACKED_FD && shim.state[fd]) {
                const struct hc_shim_plan *plan = shim.state[fd] == 2 ? &shim.plan_no_psci : &shim.plan;

                if (hc_shim_verify(plan, fd, raw_next, err, sizeof(err)) < 0) {
                        say("VM %s (%s): stopping before the guest runs: %s", shim.plan.name, shim.plan.uuid, err);
                        _exit(1);
                }
                shim.state[fd] = 0;
                __atomic_sub_fetch(&shim.pending, 1, __ATOMIC_RELEASE);
                if (!shim.verified_once) {
                        shim.verified_once = 1;
                        say("VM %s: verified %zu registers before the first KVM_RUN", shim.plan.name,
                            plan->n_regs);
                }
        }
        pthread_mutex_unlock(&shim.lock);
        return 0;
}

static __attribute__((noinline)) int kvm_ioctl(int fd, unsigned long request, void *arg)
{
        if (!__atomic_load_n(&shim.armed, __ATOMIC_ACQUIRE))
                return raw_next(fd, request, arg);
        if (request == HC_KVM_ARM_VCPU_INIT)
                return on_vcpu_init(fd, request, arg);
        if (request == KVM_RUN && (__atomic_load_n(&shim.pending, __ATOMIC_ACQUIRE) ||
                                   __atomic_load_n(&shim.failed, __ATOMIC_RELAXED)))
                on_first_run(fd);
        return raw_next(fd, request, arg);
}

SHIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
        va_list ap;
        void *arg;

        va_start(ap, request);
        arg = va_arg(ap, void *);
        va_end(ap);
        if (__builtin_expect(_IOC_TYPE(request) == KVMIO, 0))
                return kvm_ioctl(fd, request, arg);
        return next_ioctl(fd, request, arg);
}

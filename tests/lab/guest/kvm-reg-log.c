/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kvm-reg-log.so: lab instrumentation, LD_PRELOADed into Debian's QEMU inside the
 * emulated hosts next to the shim.  It changes nothing: every ioctl goes on to the
 * next definition.  On stderr it reports
 *   kvm-reg-log: KVM_GET_REG_LIST N ID...      each register list QEMU reads
 *   kvm-reg-log: KVM_SET_ONE_REG ID (NAME) = V: ERRNO   each write KVM refuses
 * (system registers named S<op0>_<op1>_C<n>_C<m>_<op2>).  That is how the nested
 * tier tells why an incoming migration failed: QEMU only says "error while loading
 * state ... 'cpu'", and the cause is either a register the stream carries that the
 * destination kernel does not list, or a value the destination kernel refuses.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

typedef int (*ioctl_fn)(int, unsigned long, ...);

static const char *reg_name(uint64_t id, char *buf, size_t len)
{
        unsigned cls = (unsigned)(id >> 16) & 0xfff, e = (unsigned)id & 0xffff;

        if (cls == 0x13) /* KVM_REG_ARM64_SYSREG */
                snprintf(buf, len, "S%u_%u_C%u_C%u_%u", (e >> 14) & 3, (e >> 11) & 7, (e >> 7) & 15,
                         (e >> 3) & 15, e & 7);
        else if (cls == 0x14)
                snprintf(buf, len, "firmware %u", e);
        else if (cls == 0x16)
                snprintf(buf, len, "firmware bitmap %u", e);
        else
                snprintf(buf, len, "class 0x%x index 0x%x", cls, e);
        return buf;
}

static void print_list(const struct kvm_reg_list *list)
{
        char buf[4096];
        size_t o;
        int saved = errno;

        o = (size_t)snprintf(buf, sizeof(buf), "kvm-reg-log: KVM_GET_REG_LIST %llu", (unsigned long long)list->n);
        for (__u64 i = 0; i < list->n; i++) {
                if (o + 20 >= sizeof(buf)) {
                        (void)!write(STDERR_FILENO, buf, o);
                        o = 0;
                }
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %llx", (unsigned long long)list->reg[i]);
        }
        buf[o++] = '\n';
        (void)!write(STDERR_FILENO, buf, o);
        errno = saved;
}

__attribute__((visibility("default"))) int ioctl(int fd, unsigned long request, ...)
{
        static ioctl_fn next;
        va_list ap;
        void *arg;
        unsigned int cmd;
        int r, saved;

        va_start(ap, request);
        arg = va_arg(ap, void *);
        va_end(ap);
        if (!next)
                next = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
        r = next(fd, request, arg);
        /* QEMU's kvm_vcpu_ioctl() passes the request as an int: _IOWR codes arrive
         * sign-extended.  The kernel looks at 32 bits, so compare those. */
        cmd = (unsigned int)request;
        if (r < 0 && cmd == KVM_SET_ONE_REG) {
                const struct kvm_one_reg *reg = arg;
                uint64_t v = 0;
                char name[48], line[160];
                int n;

                saved = errno;
                if ((reg->id & KVM_REG_SIZE_MASK) == KVM_REG_SIZE_U64)
                        memcpy(&v, (const void *)(uintptr_t)reg->addr, sizeof(v));
                n = snprintf(line, sizeof(line), "kvm-reg-log: KVM_SET_ONE_REG 0x%016" PRIx64 " (%s) = 0x%" PRIx64 ": %s\n",
                             (uint64_t)reg->id, reg_name(reg->id, name, sizeof(name)), v, strerror(saved));
                (void)!write(STDERR_FILENO, line, (size_t)n);
                errno = saved;
        }
        if (r == 0 && cmd == KVM_GET_REG_LIST && ((const struct kvm_reg_list *)arg)->n > 0)
                print_list(arg);
        return r;
}

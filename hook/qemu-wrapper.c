/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hypercall's <emulator> wrapper (the default shim delivery), libc only.
 * Installed as /usr/libexec/hypercall/qemu-system-aarch64; domains name it
 * in <emulator>.  libvirt executes it as the QEMU user, in QEMU's final
 * confinement, with QEMU's argv.  ld.so silently skips an LD_PRELOAD object
 * it cannot open and secure-execution strips it, so before exec this
 * wrapper establishes, in exactly the context ld.so will use, that:
 *   - the VM's plan (/run/hypercall/vm/<uuid>.plan) opens and is well-formed
 *     and is the plan of this VM;
 *   - the shim opens and maps: dlopen() does what ld.so will do, and the
 *     loaded object must export hypercall_shim_abi;
 *   - the exec of the real QEMU will not be a secure-execution transition
 *     (no setuid/setgid bit, no file capabilities).
 * Then it puts the shim first in LD_PRELOAD and execs the real QEMU, argv
 * unchanged (it must exec: libvirt tracks the PID it spawned).  Any failure:
 * one line on stderr (the domain log, shown by `virsh start`) and exit 1.
 * Without -uuid (libvirt's capability probe) it execs QEMU untouched.
 * In a sanitizer build the shim is instrumented: the sanitizer runtimes go
 * before it in LD_PRELOAD (ASan aborts unless its runtime is the first object
 * loaded) and QEMU gets the sanitizer options file (sanitizer-options.c).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "shim-core.h"
#include "shim-plan.h"

#ifndef HC_WRAPPER_SHIM
#define HC_WRAPPER_SHIM "/usr/lib/hypercall/libhypercall-shim.so"
#endif
#ifndef HC_WRAPPER_REAL_QEMU
#define HC_WRAPPER_REAL_QEMU "/usr/bin/qemu-system-aarch64"
#endif
#ifndef HC_WRAPPER_PLAN_DIR
#define HC_WRAPPER_PLAN_DIR HC_SHIM_DEFAULT_PLAN_DIR
#endif

/* Sanitizer builds: what goes before the shim in LD_PRELOAD, and QEMU's sanitizer options. */
#ifdef HC_WRAPPER_SANITIZER_PRELOAD
#define PRELOAD_HEAD HC_WRAPPER_SANITIZER_PRELOAD ":" HC_WRAPPER_SHIM
#else
#define PRELOAD_HEAD HC_WRAPPER_SHIM
#endif

static const char *uuid_for_msgs = "?";

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        fprintf(stderr, "hypercall-qemu: VM %s refused: %s\n", uuid_for_msgs, msg);
        exit(1);
}

/* The real QEMU: HC_WRAPPER_REAL_QEMU, or its dpkg-divert name when the wrapper was installed in its place. */
static const char *real_qemu(void)
{
        static char diverted[PATH_MAX];
        struct stat self, st;

        if (stat("/proc/self/exe", &self) < 0)
                die("cannot stat /proc/self/exe: %s", strerror(errno));
        if (stat(HC_WRAPPER_REAL_QEMU, &st) == 0 && !(st.st_dev == self.st_dev && st.st_ino == self.st_ino))
                return HC_WRAPPER_REAL_QEMU;
        snprintf(diverted, sizeof(diverted), "%s.distrib", HC_WRAPPER_REAL_QEMU);
        if (stat(diverted, &st) == 0 && !(st.st_dev == self.st_dev && st.st_ino == self.st_ino))
                return diverted;
        die("no real QEMU: %s is missing or is this wrapper, and there is no %s", HC_WRAPPER_REAL_QEMU, diverted);
}

static void check_no_secure_exec(const char *qemu)
{
        struct stat st;
        ssize_t n;

        if (stat(qemu, &st) < 0)
                die("cannot stat %s: %s", qemu, strerror(errno));
        if (st.st_mode & (S_ISUID | S_ISGID))
                die("%s is set%s: its exec would run in secure-execution mode and ld.so would drop the shim",
                    qemu, st.st_mode & S_ISUID ? "uid" : "gid");
        n = getxattr(qemu, "security.capability", NULL, 0);
        if (n > 0)
                die("%s has file capabilities: its exec would run in secure-execution mode and ld.so would "
                    "drop the shim", qemu);
}

int main(int argc, char **argv)
{
        char cmdline[65536], uuid[37], plan_path[PATH_MAX], err[HC_SHIM_ERR_MAX];
        const char *qemu = real_qemu(), *old;
        struct hc_shim_plan plan;
        size_t len = 0;
        void *h;
        char *preload;

        (void)argc;
        /* Rebuild a cmdline image from argv, as the shim will see it in QEMU. */
        for (int i = 0; i < argc && len < sizeof(cmdline); i++) {
                size_t n = strlen(argv[i]) + 1;
                if (len + n > sizeof(cmdline))
                        break;
                memcpy(cmdline + len, argv[i], n);
                len += n;
        }
        if (hc_shim_identify("qemu-system-aarch64", cmdline, len, uuid) == HC_SHIM_PASSIVE) {
                execv(qemu, argv);
                die("cannot execute %s: %s", qemu, strerror(errno));
        }
        if (!uuid[0])
                die("QEMU was given a malformed -uuid, so its plan cannot be found");
        uuid_for_msgs = uuid;
        snprintf(plan_path, sizeof(plan_path), "%s/%s.plan", HC_WRAPPER_PLAN_DIR, uuid);
        if (hc_shim_plan_load(plan_path, &plan, err, sizeof(err)) < 0)
                die("no valid plan: %s", err);
        if (strcmp(plan.uuid, uuid) != 0)
                die("%s is the plan of VM %s", plan_path, plan.uuid);
        (void)setenv("HYPERCALL_SHIM_LOAD_CHECK", "1", 1);
        h = dlopen(HC_WRAPPER_SHIM, RTLD_NOW | RTLD_LOCAL);
        (void)unsetenv("HYPERCALL_SHIM_LOAD_CHECK");
        if (!h)
                die("the shim cannot be loaded as the QEMU user (uid %d): %s", (int)getuid(), dlerror());
        if (!dlsym(h, "hypercall_shim_abi"))
                die("%s is not the hypercall shim (no hypercall_shim_abi)", HC_WRAPPER_SHIM);
        check_no_secure_exec(qemu);
        old = getenv("LD_PRELOAD");
        if (old && old[0]) {
                if (asprintf(&preload, "%s:%s", PRELOAD_HEAD, old) < 0)
                        die("out of memory");
        } else {
                preload = strdup(PRELOAD_HEAD);
                if (!preload)
                        die("out of memory");
        }
        if (setenv("LD_PRELOAD", preload, 1) < 0)
                die("cannot set LD_PRELOAD: %s", strerror(errno));
#ifdef HC_WRAPPER_SANITIZER_OPTIONS_FILE
        /* libvirt passes QEMU no sanitizer options; QEMU's own leaks are not the shim's: no leak check. */
        if (setenv("ASAN_OPTIONS", "include_if_exists=" HC_WRAPPER_SANITIZER_OPTIONS_FILE ":detect_leaks=0",
                   1) < 0 ||
            setenv("UBSAN_OPTIONS", "include_if_exists=" HC_WRAPPER_SANITIZER_OPTIONS_FILE, 1) < 0)
                die("cannot set the sanitizer options: %s", strerror(errno));
#endif
        execv(qemu, argv);
        die("cannot execute %s: %s", qemu, strerror(errno));
}

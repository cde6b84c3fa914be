/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The shim decides its role inside every process it is preloaded into from
 * /proc/self/cmdline (hc_shim_identify, hook/shim-core.c, libc only): any
 * byte string, NUL-separated or not, gives PASSIVE with no UUID, or MANAGED
 * with either no UUID (a malformed -uuid: the shim fails closed) or the
 * lowercase form of the first -uuid's value.  The first input byte picks the
 * executable (QEMU, the <emulator> wrapper's view, something else).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "shim-core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool uuid_ok(const char *u)
{
        if (strlen(u) != 36)
                return false;
        for (size_t i = 0; i < 36; i++)
                if (i == 8 || i == 13 || i == 18 || i == 23 ? u[i] != '-'
                                                             : !((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f')))
                        return false;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const exes[] = {"/usr/bin/qemu-system-aarch64", "qemu-system-aarch64", "/usr/bin/bash",
                                           "/usr/bin/qemu-img"};
        const char *exe, *cmdline;
        char uuid[37];
        enum hc_shim_role role;

        if (size == 0)
                return 0;
        exe = exes[data[0] % 4];
        cmdline = (const char *)data + 1;
        memset(uuid, 'x', sizeof(uuid));
        role = hc_shim_identify(exe, cmdline, size - 1, uuid);
        if (role == HC_SHIM_PASSIVE) {
                if (uuid[0] != '\0')
                        __builtin_trap(); /* a passive process has no VM */
                return 0;
        }
        if (data[0] % 4 >= 2)
                __builtin_trap(); /* only QEMU is ever managed */
        if (uuid[0] != '\0' && !uuid_ok(uuid))
                __builtin_trap(); /* a UUID is whole and lowercase, or absent (fail closed) */
        return 0;
}

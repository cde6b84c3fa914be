/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Any byte string given to the hypercalld.conf reader is applied or refused with file:line. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "daemon-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct hcd_config c;
        struct hc_error err = {0};

        if (hcd_config_init(&c) < 0)
                return 0;
        if (hcd_config_parse(&c, (const char *)data, size, "fuzz.conf", &err) < 0) {
                if (strncmp(err.text, "fuzz.conf", 9) != 0)
                        __builtin_trap(); /* every refusal names the file */
        } else if (!c.state_dir || c.state_dir[0] != '/' || !c.policy_dir || c.policy_dir[0] != '/') {
                __builtin_trap(); /* an accepted file leaves paths absolute */
        }
        hcd_config_done(&c);
        return 0;
}

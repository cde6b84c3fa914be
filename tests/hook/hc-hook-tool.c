/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers for the hook tests (tests/hook/run.sh):
 *
 *   hc-hook-tool check-plan FILE    exit 0 when FILE is a whole plan the shim accepts
 *                                   (the shim's own reader, hook/shim-plan.c), else
 *                                   print the shim's refusal and exit 1
 */
#include <stdio.h>
#include <string.h>

#include "shim-plan.h"

int main(int argc, char **argv)
{
        struct hc_shim_plan plan;
        char err[HC_SHIM_ERR_MAX] = "";

        if (argc == 3 && strcmp(argv[1], "check-plan") == 0) {
                if (hc_shim_plan_load(argv[2], &plan, err, sizeof(err)) < 0) {
                        fprintf(stderr, "%s\n", err);
                        return 1;
                }
                printf("%s %s %zu registers\n", plan.uuid, plan.pool, plan.n_regs);
                return 0;
        }
        fprintf(stderr, "usage: hc-hook-tool check-plan FILE\n");
        return 2;
}

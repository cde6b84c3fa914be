/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What-if and host admission: a pool's baseline before and after a change
 * (a host added, removed, or re-probed after a kernel upgrade), as a diff.
 * A change *narrows* the pool when VMs under the old baseline would lose
 * something: a service, PSCI version, a pushed register or bits of it, a
 * workaround floor (a less protected host joins: VMs from the others cannot
 * move to it), a register now on only some hosts (VMs started where it exists
 * cannot move to the others), or the pool becomes refused.
 *
 * hypercall.what-if/v1:
 *   {"schema", "pool", "narrows", "changes": [{"subject", "before", "after",
 *    "narrows", "message"}], "before": <pool>, "after": <pool>}
 * hypercall.check-host/v1:
 *   {"schema", "pool", "host", "kernel", "matches_members", "may_join",
 *    "losses": [{"subject", "before", "after", "message"}], "changes": [...],
 *    "after": <pool>}
 * <pool> is the element of a hypercall.baseline/v1 "pools" array.
 */
#include <json-c/json.h>
#include <stdbool.h>

#include "baseline.h"

#define HC_WHAT_IF_SCHEMA   "hypercall.what-if/v1"
#define HC_CHECK_HOST_SCHEMA "hypercall.check-host/v1"

struct hc_change {
        char *subject; /* "status", "host web-03", a register or a service name */
        char *before;
        char *after;
        bool narrows;
        char *message;
};

struct hc_pool_diff {
        struct hc_change *changes; /* status, hosts, registers, floors, services */
        size_t n;
        bool narrows;
};

void hc_pool_diff_done(struct hc_pool_diff *d);
int hc_pool_diff(const struct hc_pool_result *before, const struct hc_pool_result *after,
                 struct hc_pool_diff *ret);

json_object *hc_what_if_to_json(const struct hc_pool_result *before,
                                const struct hc_pool_result *after, const struct hc_pool_diff *d);

/* may_join: the pool stays ok and nothing narrows. */
json_object *hc_check_host_to_json(const struct hc_pool_result *before,
                                   const struct hc_pool_result *after,
                                   const struct hc_record *host, bool matches_members,
                                   const struct hc_pool_diff *d, bool *ret_may_join);

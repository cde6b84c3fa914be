/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Check commands: may this host join a pool (check-host), may a VM move
 * between two hosts (check-migration).  0 yes, 1 no (the answer is printed),
 * 2 invalid input file, 64 bad command line (including a pool or host name
 * that matches nothing).
 */
#include <errno.h>
#include <string.h>

#include "fleetview.h"
#include "migration.h"
#include "vcpu-regs.h"
#include "whatif.h"

static int cmp_record(const void *a, const void *b)
{
        return strcmp((*(const struct hc_record *const *)a)->host,
                      (*(const struct hc_record *const *)b)->host);
}

static enum hc_exit cmd_check_host(struct hc_invocation *inv)
{
        _cleanup_(hc_fleet_inputs_done) struct hc_fleet_inputs in = {0};
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        _cleanup_(hc_record_freep) struct hc_record *cand = NULL;
        _cleanup_free_ const struct hc_record **members = NULL;
        _cleanup_(hc_pool_result_done) struct hc_pool_result before = {0}, after = {0};
        _cleanup_(hc_pool_diff_done) struct hc_pool_diff d = {0};
        const struct hc_pool_result *pool;
        struct hc_error err = {0};
        json_object *doc;
        size_t n = 0;
        bool may_join = false;
        enum hc_exit e;

        e = hc_fleet_inputs_load(inv, &in);
        e = e ?: hc_fleet_compute(&in, hc_opt_string(inv, "pool"), &b);
        if (e != HC_EXIT_OK)
                return e;
        if (hc_record_load(inv->args[0], &cand, &err) < 0)
                return hc_cli_fail(HC_EXIT_INVALID_INPUT, "%s", hc_error_text(&err));
        pool = &b->pools[0];

        /* The pool as it is, and with the candidate in (replacing a record of the same host). */
        members = calloc(pool->n_members + 1, sizeof(*members));
        if (!members)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
        for (size_t i = 0; i < pool->n_members; i++)
                if (strcmp(pool->members[i]->host, cand->host) != 0)
                        members[n++] = pool->members[i];
        if (hc_pool_compute(pool->policy, pool->members, pool->n_members, in.now, &before) < 0)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
        members[n++] = cand;
        qsort(members, n, sizeof(*members), cmp_record);
        if (hc_pool_compute(pool->policy, members, n, in.now, &after) < 0 ||
            hc_pool_diff(&before, &after, &d) < 0)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
        doc = hc_check_host_to_json(&before, &after, cand, hc_policy_matches(pool->policy, cand->host),
                                    &d, &may_join);
        e = hc_cli_output(inv, doc, hc_print_check_host, may_join ? HC_EXIT_OK : HC_EXIT_NO);
        json_object_put(doc);
        return e;
}

static bool is_member(const struct hc_pool_result *p, const struct hc_record *r)
{
        for (size_t i = 0; i < p->n_hosts; i++)
                if (p->hosts[i] == r)
                        return true;
        return false;
}

static enum hc_exit cmd_check_migration(struct hc_invocation *inv)
{
        _cleanup_(hc_fleet_inputs_done) struct hc_fleet_inputs in = {0};
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        _cleanup_(hc_migration_done) struct hc_migration m = {0};
        _cleanup_(hc_vcpu_set_done) struct hc_vcpu_set vs = {0};
        const char *pool = hc_opt_string(inv, "pool");
        const char *from_name = hc_opt_string(inv, "from"), *to_name = hc_opt_string(inv, "to");
        const struct hc_record *from, *to;
        const struct hc_pool_result *p;
        json_object *doc;
        enum hc_exit e;

        e = hc_fleet_inputs_load(inv, &in);
        e = e ?: hc_fleet_compute(&in, pool, &b);
        if (e != HC_EXIT_OK)
                return e;
        p = &b->pools[0];
        from = hc_record_set_find(&in.records, from_name);
        to = hc_record_set_find(&in.records, to_name);
        if (!from || !to)
                return hc_cli_fail(HC_EXIT_USAGE, "check-migration: no record for host %s in %s",
                                   !from ? from_name : to_name,
                                   hc_opt_string(inv, "records"));
        if (!is_member(p, from))
                return hc_cli_fail(HC_EXIT_USAGE,
                                   "check-migration: --from %s: not a host of pool %s, so no VM "
                                   "runs there under its baseline",
                                   from_name, pool);
        e = hc_fleet_vcpu_load(inv, (const struct hc_record *[]){from, to}, from == to ? 1 : 2, &vs);
        if (e != HC_EXIT_OK)
                return e;
        if (hc_migration_judge(p, from, hc_vcpu_set_find(&vs, from->host), to, hc_vcpu_set_find(&vs, to->host), &m) < 0)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
        doc = hc_migration_to_json(pool, from_name, to_name, &m);
        e = hc_cli_output(inv, doc, hc_print_migration, m.allowed ? HC_EXIT_OK : HC_EXIT_NO);
        json_object_put(doc);
        return e;
}

static const struct hc_opt opts_check_host[] = {
        HC_OPT_POOL(true),
        HC_OPT_RECORDS_DEFAULT,
        HC_OPT_POLICIES_DEFAULT,
        HC_OPT_JSON,
        HC_OPT_END,
};

static const struct hc_opt opts_check_migration[] = {
        HC_OPT_RECORDS(true),
        HC_OPT_POLICIES(true),
        HC_OPT_POOL(true),
        {.name = "from", .type = HC_OT_STRING, .required = true, .arg = "HOST",
         .help = "the host the VM was started on, under the pool's baseline"},
        {.name = "to", .type = HC_OT_STRING, .required = true, .arg = "HOST",
         .help = "the destination host"},
        HC_OPT_JSON,
        HC_OPT_END,
};

const struct hc_cmd hc_cmds_check[] = {
        {.name = "check-host", .handler = cmd_check_host, .opts = opts_check_host,
         .args = "RECORD", .min_args = 1, .max_args = 1,
         .summary = "can this host join a pool without narrowing it",
         .description = "Computes the pool with the host's record in (replacing an older record\n"
                        "of the same host).  Exit 0 when it may join, 1 when VMs in the pool would\n"
                        "lose something or the pool would be refused (listed).  --json prints\n"
                        "hypercall.check-host/v1."},
        {.name = "check-migration", .handler = cmd_check_migration, .opts = opts_check_migration,
         .max_args = 0, .summary = "can a VM move from one host to another",
         .description = "Judges a VM started on --from under the pool's baseline the way the\n"
                        "destination kernel will: every firmware register it carries must exist\n"
                        "on --to, bitmaps within what --to accepts, PSCI version known there,\n"
                        "workaround levels not lower.  Where both hosts have a vCPU register set\n"
                        "(DIR/vcpu/HOST.json, from probe --vcpu-regs), the rest of the CPU state\n"
                        "too, as QEMU and KVM will: every register the source lists must be listed\n"
                        "on --to, each ID register value one its KVM takes.  Directional.  Exit 0 allowed, 1 refused,\n"
                        "2 invalid input, 64 bad command line.  --json prints\n"
                        "hypercall.migration/v1."},
        HC_CMD_END,
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `hypercallctl plan`: the plan a new VM of a pool gets, exactly as the
 * libvirt hook would write it.  From the daemon's baseline file (--baseline,
 * what the hook reads) or computed from records and policies, through the
 * same baseline-file and plan code the hook and hypercalld use.
 */
#include <errno.h>
#include <string.h>

#include "baseline-file.h"
#include "fleetview.h"
#include "jsonutil.h"
#include "plan.h"

#define HC_PLAN_SCHEMA "hypercall.plan/v1"
#define EXAMPLE_UUID   "00000000-0000-4000-8000-000000000000"

/* The baseline file hypercalld would write for these inputs, from scratch (generation 1). */
static enum hc_exit baseline_file_from_inputs(const struct hc_invocation *inv, const char *pool,
                                              struct hc_baseline_file **ret)
{
        _cleanup_(hc_fleet_inputs_done) struct hc_fleet_inputs in = {0};
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        struct hc_baseline_changes changes = {0};
        struct hc_error err = {0};
        enum hc_exit e;
        int k;

        e = hc_fleet_inputs_load(inv, &in);
        if (e == HC_EXIT_OK)
                e = hc_fleet_compute(&in, pool, &b);
        if (e != HC_EXIT_OK)
                return e;
        doc = hc_baseline_to_json(b);
        if (!doc)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
        k = hc_baseline_file_update(NULL, doc, NULL, 0, in.now, ret, &changes, &err);
        hc_baseline_changes_done(&changes);
        return k < 0 ? hc_cli_fail(HC_EXIT_UNDECIDED, "plan: %s", hc_error_text(&err)) : HC_EXIT_OK;
}

static json_object *plan_document(const struct hc_plan *p)
{
        _cleanup_(json_object_putp) json_object *doc = json_object_new_object();
        _cleanup_free_ char *text = hc_plan_to_text(p);
        json_object *regs = json_object_new_object();
        char hex[HC_HEX_MAX];
        int k = 0;

        if (!doc || !regs || !text) {
                json_object_put(regs);
                return NULL;
        }
        k = k ?: hc_json_add_string(doc, "schema", HC_PLAN_SCHEMA);
        k = k ?: hc_json_add_string(doc, "vm_uuid", p->uuid);
        k = k ?: hc_json_add_string(doc, "vm_name", p->name);
        k = k ?: hc_json_add_string(doc, "pool", p->pool);
        k = k ?: hc_json_add(doc, "generation", json_object_new_uint64(p->generation));
        k = k ?: hc_json_add_string(doc, "digest", p->digest);
        k = k ?: hc_json_add(doc, "registers", regs);
        for (size_t i = 0; k == 0 && i < p->n_regs; i++)
                k = hc_json_add_string(regs, p->regs[i].name, hc_hex(p->regs[i].value, hex, sizeof(hex)));
        k = k ?: hc_json_add_string(doc, "text", text);
        return k < 0 ? NULL : TAKE_PTR(doc);
}

static void print_plan(json_object *doc)
{
        json_object *text;

        if (json_object_object_get_ex(doc, "text", &text))
                fputs(json_object_get_string(text), stdout);
}

static enum hc_exit cmd_plan(struct hc_invocation *inv)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *bf = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        const char *pool = hc_opt_string(inv, "pool"), *path = hc_opt_string(inv, "baseline");
        const char *uuid = hc_opt_string(inv, "vm-uuid") ?: EXAMPLE_UUID;
        const char *name = hc_opt_string(inv, "vm-name") ?: "example-vm";
        const struct hc_baseline_pool *bp = NULL;
        struct hc_error err = {0};
        struct hc_plan plan;
        enum hc_exit e;
        int k;

        if (path && (hc_opt_string(inv, "records") || hc_opt_string(inv, "policies")))
                return hc_cli_fail(HC_EXIT_USAGE, "plan: --baseline and --records/--policies are mutually exclusive");
        if (path) {
                k = hc_baseline_file_load(path, &bf, &err);
                if (k < 0)
                        return hc_cli_fail(HC_EXIT_INVALID_INPUT, "%s", hc_error_text(&err));
        } else {
                e = baseline_file_from_inputs(inv, pool, &bf);
                if (e != HC_EXIT_OK)
                        return e;
        }
        k = hc_baseline_file_lookup(bf, pool, &bp, &err);
        if (k == -ENOENT)
                return hc_cli_fail(HC_EXIT_USAGE, "plan: %s", hc_error_text(&err));
        if (k < 0)
                return hc_cli_fail(HC_EXIT_NO, "plan: %s", hc_error_text(&err));
        if (hc_plan_from_pool(&plan, uuid, name, bp, &err) < 0)
                return hc_cli_fail(HC_EXIT_USAGE, "plan: %s", hc_error_text(&err));
        doc = plan_document(&plan);
        return hc_cli_output(inv, doc, print_plan, HC_EXIT_OK);
}

static const struct hc_opt opts_plan[] = {
        HC_OPT_JSON,
        HC_OPT_POOL(true),
        HC_OPT_RECORDS_DEFAULT,
        HC_OPT_POLICIES_DEFAULT,
        {.name = "baseline", .type = HC_OT_STRING, .arg = "FILE",
         .help = "read hypercalld's baseline file (what the hook reads) instead of computing"},
        {.name = "vm-uuid", .type = HC_OT_STRING, .arg = "UUID", .help = "the VM's UUID in the plan"},
        {.name = "vm-name", .type = HC_OT_STRING, .arg = "NAME", .help = "the VM's name in the plan"},
        HC_OPT_END,
};

const struct hc_cmd hc_cmds_plan[] = {
        {.name = "plan", .handler = cmd_plan, .opts = opts_plan, .max_args = 0,
         .summary = "the plan a new VM of a pool gets, as the libvirt hook writes it",
         .description = "Prints the per-VM plan (docs/plan-format.md) that the hook would write for\n"
                        "a new VM of --pool: from --baseline FILE (hypercalld's baseline.json), or\n"
                        "computed from --records and --policies as a first generation.  Exit 1 when\n"
                        "the pool is refused (no VM of it may start), 64 when it does not exist.\n"
                        "--json prints hypercall.plan/v1 (values by register, and the plan text)."},
        HC_CMD_END,
};

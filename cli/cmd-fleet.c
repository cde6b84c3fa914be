/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fleet commands: baseline, explain, what-if, matrix, lint.  Each loads the
 * record and policy directories (a bad file is invalid input: exit 2 with
 * file:line on stderr, nothing on stdout), asks lib/ for a json-c document
 * and hands it to hc_cli_output().  A name on the command line that matches
 * nothing (pool, host, service) is a bad command line (64).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "explain.h"
#include "fileio.h"
#include "fleetview.h"
#include "migration.h"
#include "vcpu-regs.h"
#include "whatif.h"

/* ---- baseline -------------------------------------------------------------------------- */

static enum hc_exit cmd_baseline(struct hc_invocation *inv)
{
        _cleanup_(hc_fleet_inputs_done) struct hc_fleet_inputs in = {0};
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        enum hc_exit e;
        bool refused = false;

        e = hc_fleet_inputs_load(inv, &in);
        if (e != HC_EXIT_OK)
                return e;
        e = hc_fleet_compute(&in, hc_opt_string(inv, "pool"), &b);
        if (e != HC_EXIT_OK)
                return e;
        for (size_t i = 0; i < b->n_pools; i++)
                refused |= b->pools[i].refused;
        doc = hc_baseline_to_json(b);
        return hc_cli_output(inv, doc, hc_print_baseline_table, refused ? HC_EXIT_NO : HC_EXIT_OK);
}

/* ---- explain --------------------------------------------------------------------------- */

static enum hc_exit cmd_explain(struct hc_invocation *inv)
{
        _cleanup_(hc_fleet_inputs_done) struct hc_fleet_inputs in = {0};
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        const char *pool = hc_opt_string(inv, "pool");
        json_object *doc = NULL;
        struct hc_error err = {0};
        enum hc_exit e;

        e = hc_fleet_inputs_load(inv, &in);
        if (e != HC_EXIT_OK)
                return e;
        e = hc_fleet_compute(&in, pool, &b);
        if (e != HC_EXIT_OK)
                return e;
        if (hc_explain(&b->pools[0], inv->args[0], &doc, &err) < 0)
                return hc_cli_fail(HC_EXIT_USAGE, "explain: %s", hc_error_text(&err));
        e = hc_cli_output(inv, doc, hc_print_explain, HC_EXIT_OK);
        json_object_put(doc);
        return e;
}

/* ---- what-if --------------------------------------------------------------------------- */

struct scenario {
        const struct hc_record **v; /* borrowed from the inputs or from loaded */
        size_t n;
        struct hc_record_set loaded; /* records read for --add/--replace, owned */
};

static void scenario_done(struct scenario *s)
{
        free(s->v);
        hc_record_set_done(&s->loaded);
}

static int scenario_find(const struct scenario *s, const char *host)
{
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->v[i]->host, host) == 0)
                        return (int)i;
        return -1;
}

static enum hc_exit scenario_load(struct scenario *s, const char *path, struct hc_record **ret)
{
        struct hc_error err = {0};
        struct hc_record *r = NULL;

        if (hc_record_load(path, &r, &err) < 0)
                return hc_cli_fail(HC_EXIT_INVALID_INPUT, "%s", hc_error_text(&err));
        if (hc_record_set_add(&s->loaded, r, &err) < 0) {
                hc_record_free(r);
                return hc_cli_fail(HC_EXIT_UNDECIDED, "%s", hc_error_text(&err));
        }
        *ret = r;
        return HC_EXIT_OK;
}

static enum hc_exit scenario_put(struct scenario *s, const struct hc_record *r, const char *what)
{
        if (scenario_find(s, r->host) >= 0)
                return hc_cli_fail(HC_EXIT_USAGE,
                                   "what-if: %s: host %s is already in the fleet; use --replace "
                                   "%s=FILE to simulate a new record for it",
                                   what, r->host, r->host);
        s->v[s->n++] = r;
        return HC_EXIT_OK;
}

static int cmp_record(const void *a, const void *b)
{
        return strcmp((*(const struct hc_record *const *)a)->host,
                      (*(const struct hc_record *const *)b)->host);
}

/* The fleet after --remove, --replace and --add, in that order. */
static enum hc_exit scenario_build(const struct hc_invocation *inv, const struct hc_fleet_inputs *in,
                                   struct scenario *s)
{
        char **removes, **replaces, **adds;
        size_t n_rm = hc_opt_list(inv, "remove", &removes);
        size_t n_rp = hc_opt_list(inv, "replace", &replaces);
        size_t n_add = hc_opt_list(inv, "add", &adds);
        enum hc_exit e;

        s->v = calloc(in->records.n + n_rp + n_add + 1, sizeof(*s->v));
        if (!s->v)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
        for (size_t i = 0; i < in->records.n; i++)
                s->v[s->n++] = in->records.records[i];
        for (size_t i = 0; i < n_rm + n_rp; i++) {
                const char *arg = i < n_rm ? removes[i] : replaces[i - n_rm];
                _cleanup_free_ char *host = strndup(arg, strcspn(arg, "="));
                struct hc_record *r = NULL;
                int at;

                if (!host)
                        return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
                if (i >= n_rm && !strchr(arg, '='))
                        return hc_cli_fail(HC_EXIT_USAGE, "what-if: --replace %s: expected HOST=RECORD",
                                           arg);
                at = scenario_find(s, host);
                if (at < 0)
                        return hc_cli_fail(HC_EXIT_USAGE, "what-if: %s %s: no record for host %s",
                                           i < n_rm ? "--remove" : "--replace", arg, host);
                s->v[at] = s->v[--s->n];
                if (i < n_rm)
                        continue;
                e = scenario_load(s, strchr(arg, '=') + 1, &r);
                if (e != HC_EXIT_OK || !r)
                        return e ?: HC_EXIT_UNDECIDED;
                e = scenario_put(s, r, "--replace");
                if (e != HC_EXIT_OK)
                        return e;
        }
        for (size_t i = 0; i < n_add; i++) {
                struct hc_record *r = NULL;

                e = scenario_load(s, adds[i], &r);
                if (e != HC_EXIT_OK || !r)
                        return e ?: HC_EXIT_UNDECIDED;
                e = scenario_put(s, r, "--add");
                if (e != HC_EXIT_OK)
                        return e;
        }
        if (s->n > 1)
                qsort(s->v, s->n, sizeof(*s->v), cmp_record);
        return HC_EXIT_OK;
}

static enum hc_exit cmd_what_if(struct hc_invocation *inv)
{
        _cleanup_(hc_fleet_inputs_done) struct hc_fleet_inputs in = {0};
        _cleanup_(hc_baseline_freep) struct hc_baseline *before = NULL, *after = NULL;
        _cleanup_(scenario_done) struct scenario s = {0};
        _cleanup_(hc_pool_diff_done) struct hc_pool_diff d = {0};
        const char *pool = hc_opt_string(inv, "pool");
        struct hc_error err = {0};
        json_object *doc;
        enum hc_exit e;

        e = hc_fleet_inputs_load(inv, &in);
        e = e ?: hc_fleet_compute(&in, pool, &before);
        e = e ?: scenario_build(inv, &in, &s);
        if (e != HC_EXIT_OK)
                return e;
        if (hc_baseline_compute(s.v, s.n, &in.policies, pool, in.now, &after, &err) < 0)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "%s", hc_error_text(&err));
        if (hc_pool_diff(&before->pools[0], &after->pools[0], &d) < 0)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
        doc = hc_what_if_to_json(&before->pools[0], &after->pools[0], &d);
        e = hc_cli_output(inv, doc, hc_print_what_if, d.narrows ? HC_EXIT_NO : HC_EXIT_OK);
        json_object_put(doc);
        return e;
}

/* ---- matrix ---------------------------------------------------------------------------- */

static enum hc_exit cmd_matrix(struct hc_invocation *inv)
{
        _cleanup_(hc_fleet_inputs_done) struct hc_fleet_inputs in = {0};
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        _cleanup_(hc_vcpu_set_done) struct hc_vcpu_set vs = {0};
        json_object *doc, *migrations;
        bool all = true;
        enum hc_exit e;

        e = hc_fleet_inputs_load(inv, &in);
        e = e ?: hc_fleet_compute(&in, hc_opt_string(inv, "pool"), &b);
        if (e != HC_EXIT_OK)
                return e;
        e = hc_fleet_vcpu_load(inv, b->pools[0].hosts, b->pools[0].n_hosts, &vs);
        if (e != HC_EXIT_OK)
                return e;
        doc = hc_matrix_to_json(&b->pools[0], &vs);
        if (doc && json_object_object_get_ex(doc, "migrations", &migrations))
                for (size_t i = 0; i < json_object_array_length(migrations); i++)
                        all &= json_object_get_boolean(json_object_object_get(
                                json_object_array_get_idx(migrations, i), "allowed"));
        e = hc_cli_output(inv, doc, hc_print_matrix, all ? HC_EXIT_OK : HC_EXIT_NO);
        json_object_put(doc);
        return e;
}

/* ---- lint ------------------------------------------------------------------------------ */

#define HC_LINT_SCHEMA "hypercall.lint/v1"

static void print_lint(json_object *doc)
{
        json_object *files = json_object_object_get(doc, "files");

        for (size_t i = 0; i < json_object_array_length(files); i++) {
                json_object *f = json_object_array_get_idx(files, i);

                printf("ok  %-7s %s\n", json_object_get_string(json_object_object_get(f, "kind")),
                       json_object_get_string(json_object_object_get(f, "file")));
        }
        printf("%zu files valid\n", json_object_array_length(files));
}

static int lint_note(json_object *files, const char *path, const char *kind)
{
        json_object *o = json_object_new_object();

        if (!o || json_object_object_add(o, "file", json_object_new_string(path)) < 0 ||
            json_object_object_add(o, "kind", json_object_new_string(kind)) < 0 ||
            json_object_array_add(files, o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return 0;
}

/*
 * Every *.yaml is read as a policy, every *.json as a host record, in every
 * DIR; pool names and host names must be unique across all of them.  Each
 * problem is one file:line line on stderr; any problem is exit 2.
 */
/* Every JSON file in DIR/vcpu must be a valid vCPU register set; returns the problems found, or -ENOMEM. */
static int lint_vcpu_dir(const char *dir, json_object *files)
{
        _cleanup_free_ char *sub = NULL;
        struct hc_error err = {0};
        char **paths = NULL;
        size_t n = 0;
        int bad = 0;

        if (asprintf(&sub, "%s/%s", dir, HC_VCPU_REGS_SUBDIR) < 0)
                return -ENOMEM;
        if (access(sub, F_OK) < 0)
                return 0;
        if (hc_policy_list_files(sub, ".json", &paths, &n, &err) < 0) {
                fprintf(stderr, "%s\n", hc_error_text(&err));
                return 1;
        }
        for (size_t i = 0; i < n && bad >= 0; i++) {
                _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *v = NULL;

                if (hc_vcpu_regs_load(paths[i], &v, &err) < 0) {
                        fprintf(stderr, "%s\n", hc_error_text(&err));
                        bad++;
                } else if (lint_note(files, paths[i], "vcpu-regs") < 0)
                        bad = -ENOMEM;
        }
        hc_policy_strv_free(paths, n);
        return bad;
}

static enum hc_exit cmd_lint(struct hc_invocation *inv)
{
        _cleanup_(hc_policy_set_done) struct hc_policy_set policies = {0};
        _cleanup_(hc_record_set_done) struct hc_record_set records = {0};
        _cleanup_(json_object_putp) json_object *doc = json_object_new_object();
        json_object *files = json_object_new_array();
        size_t bad = 0;
        struct hc_error err = {0};
        int k;

        if (!doc || !files || json_object_object_add(doc, "schema",
                                                     json_object_new_string(HC_LINT_SCHEMA)) < 0 ||
            json_object_object_add(doc, "files", files) < 0)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
        for (size_t a = 0; a < inv->n_args; a++) {
                static const char *const suffixes[] = {".yaml", ".json"};

                for (size_t s = 0; s < ELEMENTSOF(suffixes); s++) {
                        char **paths = NULL;
                        size_t n = 0;

                        if (hc_policy_list_files(inv->args[a], suffixes[s], &paths, &n, &err) < 0)
                                return hc_cli_fail(HC_EXIT_INVALID_INPUT, "%s", hc_error_text(&err));
                        for (size_t i = 0; i < n; i++) {
                                struct hc_policy *p = NULL;
                                struct hc_record *r = NULL;

                                if (s == 0) {
                                        k = hc_policy_load(paths[i], &p, &err);
                                        if (k >= 0 && (k = hc_policy_set_add(&policies, p, &err)) < 0)
                                                hc_policy_free(p);
                                } else {
                                        k = hc_record_load(paths[i], &r, &err);
                                        if (k >= 0 && (k = hc_record_set_add(&records, r, &err)) < 0)
                                                hc_record_free(r);
                                }
                                if (k == -ENOMEM)
                                        return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
                                if (k < 0) {
                                        fprintf(stderr, "%s\n", hc_error_text(&err));
                                        bad++;
                                } else if (lint_note(files, paths[i], s == 0 ? "policy" : "record") < 0)
                                        return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
                        }
                        hc_policy_strv_free(paths, n);
                }
                k = lint_vcpu_dir(inv->args[a], files);
                if (k < 0)
                        return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
                bad += (size_t)k;
        }
        if (hc_record_set_sort(&records, &err) < 0) {
                fprintf(stderr, "%s\n", hc_error_text(&err));
                bad++;
        }
        if (bad > 0)
                return hc_cli_fail(HC_EXIT_INVALID_INPUT, "lint: %zu problem%s", bad,
                                   bad == 1 ? "" : "s");
        return hc_cli_output(inv, doc, print_lint, HC_EXIT_OK);
}

/* ---- tables ---------------------------------------------------------------------------- */

static const struct hc_opt opts_baseline[] = {
        HC_OPT_RECORDS(true),
        HC_OPT_POLICIES(true),
        HC_OPT_POOL(false),
        HC_OPT_JSON,
        HC_OPT_END,
};

static const struct hc_opt opts_pool_read[] = {
        HC_OPT_POOL(true),
        HC_OPT_RECORDS_DEFAULT,
        HC_OPT_POLICIES_DEFAULT,
        HC_OPT_JSON,
        HC_OPT_END,
};

static const struct hc_opt opts_what_if[] = {
        HC_OPT_POOL(true),
        {.name = "add", .type = HC_OT_LIST, .arg = "RECORD", .help = "a host record joining"},
        {.name = "remove", .type = HC_OT_LIST, .arg = "HOST", .help = "a host leaving"},
        {.name = "replace", .type = HC_OT_LIST, .arg = "HOST=RECORD",
         .help = "HOST re-probed, e.g. after a kernel upgrade"},
        HC_OPT_RECORDS_DEFAULT,
        HC_OPT_POLICIES_DEFAULT,
        HC_OPT_JSON,
        HC_OPT_END,
};

static const struct hc_opt opts_lint[] = {
        HC_OPT_JSON,
        HC_OPT_END,
};

const struct hc_cmd hc_cmds_fleet[] = {
        {.name = "baseline", .handler = cmd_baseline, .opts = opts_baseline, .max_args = 0,
         .summary = "compute each pool's firmware register baseline",
         .description =
                 "For each pool (policies DIR, one *.yaml per pool) over its member records\n"
                 "(records DIR): bitmaps are the AND of the members' values with denied\n"
                 "services cleared, PSCI the lowest version capped by psci.max, workaround\n"
                 "levels reported as floors.  --json prints hypercall.baseline/v1.  Exit 0 when\n"
                 "every pool is ok, 1 when one is refused (still printed), 2 on a bad input file,\n"
                 "64 when --pool names no policy."},
        {.name = "explain", .handler = cmd_explain, .opts = opts_pool_read,
         .args = "SERVICE|REGISTER", .min_args = 1, .max_args = 1,
         .summary = "why a service is hidden or a register has its value",
         .description = "Names the policy setting that decides it (file:line or default) and\n"
                        "every host that limits it, with its kernel.  --json prints\n"
                        "hypercall.explain/v1.  64 for an unknown pool or subject."},
        {.name = "what-if", .handler = cmd_what_if, .opts = opts_what_if, .max_args = 0,
         .summary = "a pool's baseline before and after adding, removing or re-probing hosts",
         .description = "Applies --remove, then --replace, then --add to the fleet and prints the\n"
                        "difference.  Exit 1 when the change narrows the pool (a service, PSCI\n"
                        "version, pushed bits or a workaround floor lost, a register left on only\n"
                        "some hosts, or the pool refused).\n"
                        "--json prints hypercall.what-if/v1."},
        {.name = "matrix", .handler = cmd_matrix, .opts = opts_pool_read, .max_args = 0,
         .summary = "the migration matrix between a pool's kernel classes",
         .description = "Hosts with identical firmware registers form a class; each ordered pair\n"
                        "of classes is judged as check-migration does.  Exit 1 when a direction\n"
                        "is refused.  --json prints hypercall.matrix/v1."},
        {.name = "lint", .handler = cmd_lint, .opts = opts_lint, .args = "DIR...", .min_args = 1,
         .max_args = SIZE_MAX, .summary = "validate policy files and host records",
         .description = "Reads every *.yaml in each DIR as a policy, every *.json as a host\n"
                        "record and every *.json in DIR/vcpu as a vCPU register set, without\n"
                        "computing.  Every problem is printed as a file:line line on stderr and\n"
                        "the exit status is 2; otherwise the files checked are\n"
                        "printed (--json: hypercall.lint/v1)."},
        HC_CMD_END,
};

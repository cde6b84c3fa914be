/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fleetview.h"
#include "strbuf.h"
#include "vcpu-regs.h"

#define MAX_NAMED 8 /* host lists in text output name this many, then "and N more" */

void hc_fleet_inputs_done(struct hc_fleet_inputs *in)
{
        hc_record_set_done(&in->records);
        hc_policy_set_done(&in->policies);
}

enum hc_exit hc_fleet_inputs_load(const struct hc_invocation *inv, struct hc_fleet_inputs *in)
{
        const char *records = hc_opt_string(inv, "records") ?: HC_DEFAULT_RECORDS_DIR;
        const char *policies = hc_opt_string(inv, "policies") ?: HC_DEFAULT_POLICIES_DIR;
        struct hc_error err = {0};

        if (hc_policy_set_load_dir(policies, &in->policies, &err) < 0)
                return hc_cli_fail(HC_EXIT_INVALID_INPUT, "%s", hc_error_text(&err));
        if (hc_record_set_load_dir(records, &in->records, &err) < 0)
                return hc_cli_fail(HC_EXIT_INVALID_INPUT, "%s", hc_error_text(&err));
        in->now = (int64_t)time(NULL);
        return HC_EXIT_OK;
}

enum hc_exit hc_fleet_vcpu_load(const struct hc_invocation *inv, const struct hc_record *const *hosts, size_t n_hosts,
                                struct hc_vcpu_set *ret)
{
        const char *records = hc_opt_string(inv, "records") ?: HC_DEFAULT_RECORDS_DIR;
        _cleanup_(hc_buf_done) struct hc_buf missing = {0};
        struct hc_error err = {0};

        if (hc_vcpu_set_load(records, hosts, n_hosts, ret, &err) < 0)
                return hc_cli_fail(HC_EXIT_INVALID_INPUT, "%s", hc_error_text(&err));
        for (size_t i = 0; i < n_hosts; i++)
                if (!hc_vcpu_set_find(ret, hosts[i]->host) &&
                    hc_buf_printf(&missing, "%s%s", missing.len ? ", " : "", hosts[i]->host) < 0)
                        return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
        if (missing.len)
                fprintf(stderr,
                        "note: no vCPU register set of the record's kernel (%s/%s/HOST.json) for %s: "
                        "judged on firmware registers only\n",
                        records, HC_VCPU_REGS_SUBDIR, missing.data);
        return HC_EXIT_OK;
}

enum hc_exit hc_fleet_compute(const struct hc_fleet_inputs *in, const char *pool,
                              struct hc_baseline **ret)
{
        struct hc_error err = {0};
        int k;

        k = hc_baseline_compute((const struct hc_record *const *)in->records.records,
                                in->records.n, &in->policies, pool, in->now, ret, &err);
        if (k == -ENOENT)
                return hc_cli_fail(HC_EXIT_USAGE, "--pool %s: %s", pool, hc_error_text(&err));
        if (k < 0)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "%s", hc_error_text(&err));
        return HC_EXIT_OK;
}

/* ---- text output ----------------------------------------------------------------------- */

static json_object *member(json_object *o, const char *key)
{
        json_object *v = NULL;

        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *str(json_object *o, const char *key)
{
        json_object *v = member(o, key);

        return v ? json_object_get_string(v) : "-";
}

/* "a, b, c and 5 more" from an array of strings. */
static void print_names(json_object *arr)
{
        size_t n = arr ? json_object_array_length(arr) : 0;

        for (size_t i = 0; i < n && i < MAX_NAMED; i++)
                printf("%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(arr, i)));
        if (n > MAX_NAMED)
                printf(" and %zu more", n - MAX_NAMED);
        if (n == 0)
                printf("none");
}

static void print_values(json_object *obj)
{
        bool first = true;

        json_object_object_foreach(obj, key, val) {
                printf("%s%s %s", first ? "" : ", ", key, json_object_get_string(val));
                first = false;
        }
        if (first)
                printf("none");
}

static void print_issues(json_object *arr, const char *label, const char *indent)
{
        for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
                json_object *e = json_object_array_get_idx(arr, i);

                printf("%s  %-10s %s: %s\n", indent, label, str(e, "code"), str(e, "message"));
        }
}

void hc_print_pool_block(json_object *pool, const char *indent)
{
        json_object *services = member(pool, "services"), *hosts = member(pool, "hosts");
        json_object *excluded = member(pool, "excluded");
        bool any = false;

        printf("%spool %s: %s, %zu host%s (", indent, str(pool, "pool"), str(pool, "status"),
               json_object_array_length(hosts), json_object_array_length(hosts) == 1 ? "" : "s");
        print_names(hosts);
        printf(")\n");
        if (excluded && json_object_array_length(excluded) > 0) {
                printf("%s  %-10s ", indent, "excluded");
                print_names(excluded);
                printf(" (legacy, kernel before 5.19)\n");
        }
        if (member(pool, "registers")) {
                printf("%s  %-10s ", indent, "registers");
                print_values(member(pool, "registers"));
                printf("\n");
        }
        if (member(pool, "workaround_floors")) {
                printf("%s  %-10s ", indent, "floors");
                print_values(member(pool, "workaround_floors"));
                printf("\n");
        }
        printf("%s  %-10s ", indent, "exposed");
        json_object_object_foreach(services, name, s) {
                if (!json_object_get_boolean(member(s, "exposed")))
                        continue;
                printf("%s%s", any ? ", " : "", name);
                any = true;
        }
        printf("%s\n", any ? "" : "none");
        any = false;
        printf("%s  %-10s ", indent, "hidden");
        json_object_object_foreach(services, name2, s2) {
                if (json_object_get_boolean(member(s2, "exposed")))
                        continue;
                printf("%s%s (%s", any ? ", " : "", name2, str(s2, "why"));
                if (member(s2, "lacking")) {
                        printf(": ");
                        print_names(member(s2, "lacking"));
                }
                printf(")");
                any = true;
        }
        printf("%s\n", any ? "" : "none");
        print_issues(member(pool, "errors"), "error", indent);
        print_issues(member(pool, "warnings"), "warning", indent);
}

void hc_print_baseline_table(json_object *doc)
{
        json_object *pools = member(doc, "pools");

        for (size_t i = 0; pools && i < json_object_array_length(pools); i++) {
                hc_print_pool_block(json_object_array_get_idx(pools, i), "");
                printf("\n");
        }
        printf("unassigned: ");
        print_names(member(doc, "unassigned"));
        printf("\ndigest: %s\n", str(doc, "digest"));
}

static void print_rows(json_object *arr, const char *k1, const char *k2, const char *k3)
{
        for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
                json_object *e = json_object_array_get_idx(arr, i);

                printf("  %-28s %-10s %s\n", str(e, k1), str(e, k2), str(e, k3));
        }
}

void hc_print_explain(json_object *doc)
{
        json_object *limiting = member(doc, "limiting"), *errors = member(doc, "errors");

        printf("%s\n", str(doc, "summary"));
        if (json_object_array_length(member(doc, "policy")) > 0) {
                printf("\npolicy:\n");
                print_rows(member(doc, "policy"), "setting", "value", "origin");
        }
        if (limiting && json_object_array_length(limiting) > 0) {
                printf("\nhosts that limit it:\n");
                print_rows(limiting, "host", "value", "kernel");
        }
        if (errors && json_object_array_length(errors) > 0) {
                printf("\npool %s is refused:\n", str(doc, "pool"));
                for (size_t i = 0; i < json_object_array_length(errors); i++)
                        printf("  %s\n", json_object_get_string(json_object_array_get_idx(errors, i)));
        }
}

static void print_changes(json_object *changes)
{
        size_t n = changes ? json_object_array_length(changes) : 0;

        for (size_t i = 0; i < n; i++) {
                json_object *c = json_object_array_get_idx(changes, i);
                json_object *narrows = member(c, "narrows");

                printf("  %s %s\n", !narrows || json_object_get_boolean(narrows) ? "-" : " ",
                       str(c, "message"));
        }
        if (n == 0)
                printf("  no change\n");
}

void hc_print_what_if(json_object *doc)
{
        printf("pool %s: %s\n", str(doc, "pool"),
               json_object_get_boolean(member(doc, "narrows")) ? "the change NARROWS the pool"
                                                               : "the change does not narrow "
                                                                 "the pool");
        printf("\nchanges (- narrows):\n");
        print_changes(member(doc, "changes"));
        printf("\nbefore:\n");
        hc_print_pool_block(member(doc, "before"), "  ");
        printf("\nafter:\n");
        hc_print_pool_block(member(doc, "after"), "  ");
}

void hc_print_check_host(json_object *doc)
{
        bool may = json_object_get_boolean(member(doc, "may_join"));

        printf("%s (%s) %s pool %s\n", str(doc, "host"), str(doc, "kernel"),
               may ? "may join" : "would narrow", str(doc, "pool"));
        if (!json_object_get_boolean(member(doc, "matches_members")))
                printf("note: %s matches no members.include glob of pool %s\n", str(doc, "host"),
                       str(doc, "pool"));
        if (!may) {
                printf("\nwhat VMs in the pool would lose:\n");
                print_changes(member(doc, "losses"));
        }
        printf("\nchanges (- narrows):\n");
        print_changes(member(doc, "changes"));
}

void hc_print_migration(json_object *doc)
{
        json_object *reasons = member(doc, "reasons");

        printf("%s -> %s in pool %s: %s\n", str(doc, "from"), str(doc, "to"), str(doc, "pool"),
               json_object_get_boolean(member(doc, "allowed")) ? "allowed" : "refused");
        for (size_t i = 0; reasons && i < json_object_array_length(reasons); i++) {
                json_object *r = json_object_array_get_idx(reasons, i);

                printf("  %s: %s\n", str(r, "register"), str(r, "message"));
        }
}

void hc_print_matrix(json_object *doc)
{
        json_object *classes = member(doc, "classes"), *migrations = member(doc, "migrations");
        size_t n = classes ? json_object_array_length(classes) : 0;

        printf("pool %s (%s): %zu kernel class%s\n", str(doc, "pool"), str(doc, "status"), n,
               n == 1 ? "" : "es");
        for (size_t i = 0; i < n; i++) {
                json_object *c = json_object_array_get_idx(classes, i);

                printf("  [%zu] %s: ", i + 1, str(c, "class"));
                print_names(member(c, "hosts"));
                printf("\n");
        }
        printf("\nfrom \\ to");
        for (size_t j = 0; j < n; j++)
                printf(" %5zu", j + 1);
        printf("\n");
        for (size_t i = 0; i < n; i++) {
                printf("%9zu", i + 1);
                for (size_t j = 0; j < n; j++) {
                        const char *cell = "-";

                        for (size_t m = 0; i != j && m < json_object_array_length(migrations); m++) {
                                json_object *e = json_object_array_get_idx(migrations, m);
                                const char *from = str(json_object_array_get_idx(classes, i), "class");
                                const char *to = str(json_object_array_get_idx(classes, j), "class");

                                if (strcmp(str(e, "from"), from) == 0 && strcmp(str(e, "to"), to) == 0)
                                        cell = json_object_get_boolean(member(e, "allowed")) ? "ok" : "NO";
                        }
                        printf(" %5s", cell);
                }
                printf("\n");
        }
        for (size_t m = 0; migrations && m < json_object_array_length(migrations); m++) {
                json_object *e = json_object_array_get_idx(migrations, m), *reasons = member(e, "reasons");

                if (json_object_get_boolean(member(e, "allowed")))
                        continue;
                printf("\n%s -> %s:\n", str(e, "from"), str(e, "to"));
                for (size_t r = 0; r < json_object_array_length(reasons); r++)
                        printf("  %s\n", str(json_object_array_get_idx(reasons, r), "message"));
        }
}

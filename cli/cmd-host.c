/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host commands: probe this host, show host records. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "hc-cli.h"
#include "hostview.h"
#include "probe.h"
#include "vcpu-regs.h"
#include "record.h"

#define HC_HOSTS_SCHEMA "hypercall.hosts/v1"

/* The hosts document both `show` and `probe` print: {"schema", "hosts": [record...]}. */
static json_object *hosts_document(struct hc_record *const *records, size_t n)
{
        _cleanup_(json_object_putp) json_object *doc = json_object_new_object();
        json_object *arr = json_object_new_array();

        if (!doc || !arr || json_object_object_add(doc, "schema", json_object_new_string(HC_HOSTS_SCHEMA)) < 0 ||
            json_object_object_add(doc, "hosts", arr) < 0) {
                json_object_put(arr);
                return NULL;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *r = hc_record_to_json(records[i]);
                if (!r || json_object_array_add(arr, r) < 0)
                        return NULL;
        }
        return TAKE_PTR(doc);
}

static void print_probe(json_object *rec)
{
        _cleanup_(json_object_putp) json_object *doc = json_object_new_object();
        json_object *arr = json_object_new_array();

        if (!doc || !arr)
                return;
        json_object_object_add(doc, "hosts", arr);
        json_object_array_add(arr, json_object_get(rec));
        hc_print_hosts_table(doc);
}

static enum hc_exit cmd_probe(struct hc_invocation *inv)
{
        _cleanup_(hc_record_freep) struct hc_record *rec = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        struct hc_probe_options opts = {.host = hc_opt_string(inv, "host")};
        const char *out = hc_opt_string(inv, "output"), *vcpu_out = hc_opt_string(inv, "vcpu-regs");
        struct hc_error err = {0};

        if (hc_probe(&opts, &rec, &err) < 0)
                return hc_cli_fail(HC_EXIT_NO, "probe: %s", hc_error_text(&err));
        if (out && hc_record_save(rec, out, &err) < 0)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "probe: %s", hc_error_text(&err));
        if (vcpu_out) {
                _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *v = NULL;

                if (hc_probe_vcpu_regs(&opts, rec, &v, &err) < 0)
                        return hc_cli_fail(HC_EXIT_NO, "probe: vCPU registers: %s", hc_error_text(&err));
                if (hc_vcpu_regs_save(v, vcpu_out, &err) < 0)
                        return hc_cli_fail(HC_EXIT_UNDECIDED, "probe: %s", hc_error_text(&err));
        }
        /* The probe prints the record itself: it is what `-o FILE` writes. */
        doc = hc_record_to_json(rec);
        return hc_cli_output(inv, doc, print_probe, HC_EXIT_OK);
}

static int load_argument(const char *path, struct hc_record_set *set, struct hc_error *err)
{
        struct hc_record_set dir = {0};
        struct hc_record *r = NULL;
        struct stat st;
        int k;

        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
                k = hc_record_set_load_dir(path, &dir, err);
                for (size_t i = 0; k >= 0 && i < dir.n; i++) {
                        k = hc_record_set_add(set, dir.records[i], err);
                        if (k >= 0)
                                dir.records[i] = NULL;
                }
                for (size_t i = 0; i < dir.n; i++)
                        hc_record_free(dir.records[i]);
                free(dir.records);
                return k;
        }
        k = hc_record_load(path, &r, err);
        if (k < 0)
                return k;
        k = hc_record_set_add(set, r, err);
        if (k < 0)
                hc_record_free(r);
        return k;
}

static enum hc_exit cmd_show(struct hc_invocation *inv)
{
        _cleanup_(hc_record_set_done) struct hc_record_set set = {0};
        _cleanup_(json_object_putp) json_object *doc = NULL;
        struct hc_error err = {0};

        for (size_t i = 0; i < inv->n_args; i++)
                if (load_argument(inv->args[i], &set, &err) < 0)
                        return hc_cli_fail(HC_EXIT_INVALID_INPUT, "%s", hc_error_text(&err));
        if (hc_record_set_sort(&set, &err) < 0)
                return hc_cli_fail(HC_EXIT_INVALID_INPUT, "%s", hc_error_text(&err));
        doc = hosts_document(set.records, set.n);
        return hc_cli_output(inv, doc, hc_print_hosts_table, HC_EXIT_OK);
}

static const struct hc_opt opts_probe[] = {
        HC_OPT_JSON,
        {.name = "output", .short_name = 'o', .type = HC_OT_STRING, .arg = "FILE",
         .help = "also write the record to FILE (atomically)"},
        {.name = "host", .type = HC_OT_STRING, .arg = "NAME",
         .help = "host name for the record (default: this machine's)"},
        {.name = "vcpu-regs", .type = HC_OT_STRING, .arg = "FILE",
         .help = "also write the vCPU register set QEMU migrates (hypercall.vcpu-regs/v1) to FILE"},
        HC_OPT_END,
};

static const struct hc_opt opts_show[] = {
        HC_OPT_JSON,
        HC_OPT_END,
};

const struct hc_cmd hc_cmds_host[] = {
        {.name = "probe", .handler = cmd_probe, .opts = opts_probe, .max_args = 0,
         .summary = "build this host's record through /dev/kvm",
         .description = "Creates a scratch VM that never runs, reads every firmware register the\n"
                        "catalog knows, finds each bitmap's accepted bits by test writes, and\n"
                        "prints the host record (schema hypercall.host/v1). Needs arm64 KVM.\n"
                        "--vcpu-regs FILE also reads the registers a VM's CPU state carries on\n"
                        "migration, from a vCPU built like QEMU's -cpu host one, with the feature\n"
                        "ID values and the bits KVM lets a VMM change; operators keep it beside\n"
                        "the record as DIR/vcpu/HOST.json for check-migration and matrix."},
        {.name = "show", .handler = cmd_show, .opts = opts_show, .args = "FILE|DIR...",
         .min_args = 1, .max_args = SIZE_MAX,
         .summary = "print host records, services by name",
         .description = "Validates and prints host records (files, or directories of *.json).\n"
                        "--json prints {\"schema\": \"hypercall.hosts/v1\", \"hosts\": [...]}."},
        HC_CMD_END,
};

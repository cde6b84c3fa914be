/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Daemon commands: status, audit and reload talk to hypercalld on the
 * system bus (org.hypercall.Hypercall1).  Every other command works on files
 * and needs no daemon.  A daemon that cannot be reached is "could not
 * decide" (255), never a yes or a no.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "bus-api.h"
#include "hc-cli.h"
#include "jsonutil.h"
#include "record.h"


static enum hc_exit bus_connect(sd_bus **ret)
{
        int r = sd_bus_open_system(ret);

        if (r < 0)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "cannot reach the system bus: %s", strerror(-r));
        return HC_EXIT_OK;
}

/* Calls a method returning one JSON string and parses it. */
static enum hc_exit call_json(const char *method, json_object **ret)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        struct hc_error err = {0};
        const char *text;
        enum hc_exit e;
        int r;

        e = bus_connect(&bus);
        if (e != HC_EXIT_OK)
                return e;
        r = sd_bus_call_method(bus, HC_BUS_NAME, HC_BUS_PATH, HC_BUS_INTERFACE, method, &error, &reply, "");
        if (r < 0) {
                e = hc_cli_fail(HC_EXIT_UNDECIDED, "hypercalld: %s", error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                return e;
        }
        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "hypercalld: unexpected reply to %s: %s", method,
                                   strerror(-r));
        if (hc_json_parse(text, strlen(text), 64, method, ret, &err) < 0)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "hypercalld: %s", hc_error_text(&err));
        return HC_EXIT_OK;
}

static const char *str(json_object *o, const char *key)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int64_t num(json_object *o, const char *key)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v))
                return 0;
        return json_object_get_int64(v);
}

static json_object *obj(json_object *o, const char *key)
{
        json_object *v;

        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void print_status(json_object *d)
{
        json_object *host = obj(d, "host"), *cfg = obj(d, "config"), *store = obj(d, "store"),
                    *b = obj(d, "baseline"), *pools = obj(b, "pools"), *audit = obj(d, "audit"),
                    *fails = obj(store, "failures"), *pols = obj(d, "policies");

        printf("hypercalld:  %s (%s %s)\n", str(d, "state") ?: "?", HC_BUS_NAME, str(d, "version") ?: "");
        printf("host:        %s (record: %s)\n", str(host, "name") ?: "?", str(host, "source") ?: "none");
        if (str(host, "note"))
                printf("             %s\n", str(host, "note"));
        if (b)
                printf("baseline:    generation %" PRId64 ", %s\n", num(b, "generation"),
                       str(cfg, "baseline_file") ?: "");
        else
                printf("baseline:    none yet\n");
        printf("store:       %s, %" PRId64 " records", str(store, "location") ?: "?", num(store, "records"));
        if (fails && json_object_array_length(fails))
                printf(", %zu unusable", json_object_array_length(fails));
        printf("\npolicies:    %s, %zu files\n", str(cfg, "policy_directory") ?: "?",
               pols ? json_object_array_length(pols) : 0);
        for (size_t i = 0; pools && i < json_object_array_length(pools); i++) {
                json_object *p = json_object_array_get_idx(pools, i), *lkg = obj(p, "last_known_good");

                printf("%s %-12s %-8s generation %-4" PRId64 " %s\n", i ? "            " : "pools:      ",
                       str(p, "pool") ?: "?", lkg ? "held" : str(p, "status") ?: "?", num(p, "generation"),
                       lkg ? str(lkg, "reason") ?: "" : "");
        }
        for (size_t i = 0; fails && i < json_object_array_length(fails); i++)
                printf("unusable:    %s\n", str(json_object_array_get_idx(fails, i), "error") ?: "?");
        for (size_t i = 0; pols && i < json_object_array_length(pols); i++) {
                const char *e = str(json_object_array_get_idx(pols, i), "error");
                if (e)
                        printf("policy:      %s\n", e);
        }
        if (str(d, "last_error"))
                printf("last error:  %s\n", str(d, "last_error"));
        printf("libvirt:     %s\n", str(d, "libvirt") ?: "?");
        printf("audit:       %" PRId64 " VMs, %" PRId64 " findings%s\n", num(audit, "vms"),
               num(audit, "findings"), num(audit, "findings") ? " (hypercallctl audit)" : "");
}

static enum hc_exit cmd_status(struct hc_invocation *inv)
{
        json_object *doc = NULL;
        enum hc_exit e;

        e = call_json("Describe", &doc);
        if (e != HC_EXIT_OK)
                return e;
        e = hc_cli_output(inv, doc, print_status, HC_EXIT_OK);
        json_object_put(doc);
        return e;
}

static void print_audit(json_object *d)
{
        json_object *vms = obj(d, "vms");

        printf("host %s, baseline generation %" PRId64 ", libvirt %s\n", str(d, "host") ?: "?",
               num(d, "generation"), str(d, "libvirt") ?: "?");
        if (!vms || json_object_array_length(vms) == 0) {
                printf("no VMs\n");
                return;
        }
        printf("%-36s  %-16s %-10s %-12s %s\n", "UUID", "NAME", "POOL", "VERDICT", "MESSAGE");
        for (size_t i = 0; i < json_object_array_length(vms); i++) {
                json_object *v = json_object_array_get_idx(vms, i), *cannot = obj(v, "cannot_migrate_to"),
                            *hosts = obj(cannot, "hosts");

                printf("%-36s  %-16s %-10s %-12s %s\n", str(v, "uuid") ?: "?", str(v, "name") ?: "-",
                       str(v, "pool") ?: "-", str(v, "verdict") ?: "?", str(v, "message") ?: "");
                for (size_t h = 0; hosts && h < json_object_array_length(hosts); h++) {
                        json_object *x = json_object_array_get_idx(hosts, h);
                        printf("%38s cannot migrate to %s (%s): %s\n", "", str(x, "host") ?: "?",
                               str(x, "kernel") ?: "no record", str(x, "reason") ?: "");
                }
                if (hosts && num(cannot, "count") > (int64_t)json_object_array_length(hosts))
                        printf("%38s ... and %" PRId64 " more\n", "",
                               num(cannot, "count") - (int64_t)json_object_array_length(hosts));
        }
        printf("%" PRId64 " finding(s)\n", num(d, "findings"));
}

static enum hc_exit cmd_audit(struct hc_invocation *inv)
{
        json_object *doc = NULL;
        enum hc_exit e;

        e = call_json("Audit", &doc);
        if (e != HC_EXIT_OK)
                return e;
        /* An audit finding is a definite "no" (exit 1); the document is still printed. */
        e = hc_cli_output(inv, doc, print_audit, num(doc, "findings") > 0 ? HC_EXIT_NO : HC_EXIT_OK);
        json_object_put(doc);
        return e;
}

static enum hc_exit cmd_reload(struct hc_invocation *inv)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        enum hc_exit e;
        int r;

        e = bus_connect(&bus);
        if (e != HC_EXIT_OK)
                return e;
        /* Synchronous: returns when the daemon has reloaded (ExecReload= on systemd 252). */
        r = sd_bus_call_method(bus, HC_BUS_NAME, HC_BUS_PATH, HC_BUS_INTERFACE, "Reload", &error, NULL, "b", 0);
        if (r < 0) {
                bool invalid = sd_bus_error_has_name(&error, HC_BUS_ERROR_RELOAD_FAILED);

                e = hc_cli_fail(invalid ? HC_EXIT_INVALID_INPUT : HC_EXIT_UNDECIDED, "reload: %s",
                                error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                return e;
        }
        return HC_EXIT_OK;
}

static const struct hc_opt opts_json[] = {
        HC_OPT_JSON,
        HC_OPT_END,
};

static const struct hc_opt opts_none[] = {
        HC_OPT_END,
};

const struct hc_cmd hc_cmds_daemon[] = {
        {.name = "status", .handler = cmd_status, .opts = opts_json, .max_args = 0,
         .summary = "what hypercalld knows: host, baseline, store, pools, errors",
         .description = "Asks hypercalld (Describe() on the system bus) for its whole state.\n"
                        "--json prints the hypercall.daemon/v1 document. Exit 255 when the daemon\n"
                        "cannot be reached."},
        {.name = "audit", .handler = cmd_audit, .opts = opts_json, .max_args = 0,
         .summary = "running VMs that no longer match their pool, and where they can migrate",
         .description = "Asks hypercalld to audit this host's VMs (plan files and libvirt's running\n"
                        "domains) against the current baseline. A VM whose pool narrowed under it\n"
                        "lists the hosts it can no longer migrate to and why. Exit 1 when there are\n"
                        "findings (the report is still printed), 255 when the daemon cannot be\n"
                        "reached. --json prints the hypercall.audit/v1 document."},
        {.name = "reload", .handler = cmd_reload, .opts = opts_none, .max_args = 0,
         .summary = "make hypercalld re-read its configuration, policies and the store",
         .description = "Calls Reload() and returns when the reload is done (systemd's ExecReload=).\n"
                        "Root only. Exit 2 when the new configuration is invalid (the daemon keeps\n"
                        "the running one), 255 when the daemon cannot be reached or refuses."},
        HC_CMD_END,
};

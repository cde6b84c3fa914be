/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "hostview.h"

/* Value of register name in a record's JSON, or false when absent. */
static bool record_value(json_object *rec, const char *name, uint64_t *ret)
{
        json_object *regs, *reg, *v;

        if (!json_object_object_get_ex(rec, "registers", &regs) ||
            !json_object_object_get_ex(regs, name, &reg) ||
            !json_object_object_get_ex(reg, "present", &v) || !json_object_get_boolean(v) ||
            !json_object_object_get_ex(reg, "value", &v))
                return false;
        return hc_parse_hex(json_object_get_string(v), ret) == 0;
}

static const char *string_member(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "-";
}

static void print_register_columns(json_object *rec)
{
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_register *reg = hc_catalog_get(i);
                char psci[16];
                uint64_t v;

                if (reg->kind == HC_KIND_BITMAP)
                        continue;
                if (!record_value(rec, reg->name, &v))
                        printf(" %-5s", "-");
                else if (reg->kind == HC_KIND_PSCI_VERSION) {
                        hc_psci_format(v, psci, sizeof(psci));
                        printf(" %-5s", psci);
                } else
                        printf(" %-5llu", (unsigned long long)v);
        }
}

static void print_services(json_object *rec)
{
        const struct hc_service *s;
        bool any_bitmap = false, first = true;
        size_t reg;

        for (size_t n = 0; (s = hc_service_get(n, &reg)); n++) {
                uint64_t v;
                if (!record_value(rec, hc_catalog_get(reg)->name, &v))
                        continue;
                any_bitmap = true;
                if (v & (1ULL << s->bit)) {
                        printf("%s%s", first ? " " : ",", s->name);
                        first = false;
                }
        }
        if (!any_bitmap)
                printf(" (pre-5.19 kernel: nothing can be gated)");
        else if (first)
                printf(" (none)");
}

void hc_print_hosts_table(json_object *doc)
{
        json_object *hosts;

        if (!json_object_object_get_ex(doc, "hosts", &hosts))
                return;
        printf("%-14s %-22s", "HOST", "KERNEL");
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_register *reg = hc_catalog_get(i);
                if (reg->kind == HC_KIND_PSCI_VERSION)
                        printf(" %-5s", "PSCI");
                else if (reg->kind == HC_KIND_WORKAROUND)
                        printf(" WA%-3s", reg->name + strlen(reg->name) - 1);
        }
        printf(" SERVICES OFFERED\n");
        for (size_t i = 0; i < json_object_array_length(hosts); i++) {
                json_object *rec = json_object_array_get_idx(hosts, i), *unk;

                printf("%-14s %-22s", string_member(rec, "host"), string_member(rec, "kernel"));
                print_register_columns(rec);
                print_services(rec);
                if (json_object_object_get_ex(rec, "unknown_firmware_registers", &unk) &&
                    json_object_array_length(unk) > 0)
                        printf("  UNKNOWN REGISTERS: %s",
                               json_object_to_json_string_ext(unk, JSON_C_TO_STRING_PLAIN));
                printf("\n");
        }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "jsonutil.h"
#include "vm-audit.h"

#define MAX_CAN_LISTED    50
#define MAX_CANNOT_LISTED 100

static const char *const verdict_names[_HC_VM_VERDICT_MAX] = {
        [HC_VM_CURRENT] = "current",
        [HC_VM_COMPATIBLE] = "compatible",
        [HC_VM_NARROWED] = "narrowed",
        [HC_VM_POOL_MISSING] = "pool-missing",
        [HC_VM_POOL_REFUSED] = "pool-refused",
        [HC_VM_UNTRACKED] = "untracked",
        [HC_VM_STALE_PLAN] = "stale-plan",
        [HC_VM_UNREADABLE] = "unreadable",
};

const char *hc_vm_verdict_to_string(enum hc_vm_verdict v)
{
        return v < _HC_VM_VERDICT_MAX ? verdict_names[v] : "unknown";
}

bool hc_vm_verdict_is_finding(enum hc_vm_verdict v)
{
        return v == HC_VM_NARROWED || v == HC_VM_POOL_MISSING || v == HC_VM_POOL_REFUSED ||
               v == HC_VM_UNTRACKED || v == HC_VM_UNREADABLE;
}

bool hc_vm_host_accepts(const struct hc_record *host, size_t i, uint64_t value, char *why,
                        size_t why_len)
{
        const struct hc_register *reg = hc_catalog_get(i);
        const struct hc_reg_state *st = &host->regs[i];
        char a[HC_HEX_MAX], b[HC_HEX_MAX];

        if (!st->present) {
                snprintf(why, why_len, "lacks %s", reg->name);
                return false;
        }
        switch (reg->kind) {
        case HC_KIND_BITMAP:
                if ((value & ~st->value) == 0)
                        return true;
                snprintf(why, why_len, "offers %s %s, the VM carries %s", reg->name,
                         hc_hex(st->value, a, sizeof(a)), hc_hex(value, b, sizeof(b)));
                return false;
        case HC_KIND_PSCI_VERSION:
                if (value <= st->value)
                        return true;
                snprintf(why, why_len, "offers PSCI %s, the VM carries %s",
                         hc_hex(st->value, a, sizeof(a)), hc_hex(value, b, sizeof(b)));
                return false;
        case HC_KIND_WORKAROUND:
                return true; /* not pushed: judged by check-migration */
        }
        return true;
}

/* Adds v under key, or appends it to the array o when key is NULL; consumes v. */
static int add(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (key ? json_object_object_add(o, key, v) < 0 : json_object_array_add(o, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_str(json_object *o, const char *key, const char *s)
{
        return hc_json_add_string(o, key, s);
}

/* Judges the pool's hosts: names go to the arrays (capped), counts to *n_can, *n_cannot. */
static int judge_members(const struct hc_vm_state *vm, const struct hc_baseline_pool *pool,
                         hc_vm_lookup lookup, const void *userdata, json_object *can_hosts,
                         json_object *cannot_hosts, size_t *n_can, size_t *n_cannot)
{
        json_object *hosts;

        *n_can = *n_cannot = 0;
        if (!json_object_object_get_ex(pool->json, "hosts", &hosts))
                return 0;
        if (vm->digest && strcmp(vm->digest, pool->digest) == 0) {
                /* The pool's current values: every member accepts them by construction. */
                *n_can = json_object_array_length(hosts);
                for (size_t h = 0; h < *n_can && h < MAX_CAN_LISTED; h++)
                        if (add(can_hosts, NULL, json_object_get(json_object_array_get_idx(hosts, h))) < 0)
                                return -ENOMEM;
                return 0;
        }
        for (size_t h = 0; h < json_object_array_length(hosts); h++) {
                const char *name = json_object_get_string(json_object_array_get_idx(hosts, h));
                struct hc_store_record buf;
                const struct hc_record *r = lookup && lookup(userdata, name, &buf) ? &buf.rec : NULL;
                char why[160] = "";
                bool ok = r != NULL;

                if (!r)
                        snprintf(why, sizeof(why), "no record in the store");
                for (size_t i = 0; ok && i < hc_catalog_count(); i++)
                        if (vm->regs[i].present)
                                ok = hc_vm_host_accepts(r, i, vm->regs[i].value, why, sizeof(why));
                if (ok) {
                        if ((*n_can)++ < MAX_CAN_LISTED &&
                            add(can_hosts, NULL, json_object_new_string(name)) < 0)
                                return -ENOMEM;
                        continue;
                }
                if ((*n_cannot)++ < MAX_CANNOT_LISTED) {
                        json_object *e = json_object_new_object();

                        if (!e || add_str(e, "host", name) < 0 ||
                            add_str(e, "kernel", r ? r->kernel : NULL) < 0 || add_str(e, "reason", why) < 0 ||
                            add(cannot_hosts, NULL, e) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* {"count": n, "hosts": arr}; consumes arr. */
static json_object *host_list(size_t n, json_object *arr)
{
        json_object *o = json_object_new_object();

        if (!o || add(o, "count", json_object_new_int64((int64_t)n)) < 0) {
                json_object_put(o);
                json_object_put(arr);
                return NULL;
        }
        if (add(o, "hosts", arr) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static json_object *registers_json(const struct hc_vm_state *vm)
{
        json_object *o = json_object_new_object();
        char hex[HC_HEX_MAX];

        if (!o)
                return NULL;
        for (size_t i = 0; i < hc_catalog_count(); i++)
                if (vm->regs[i].present &&
                    add_str(o, hc_catalog_get(i)->name, hc_hex(vm->regs[i].value, hex, sizeof(hex))) < 0) {
                        json_object_put(o);
                        return NULL;
                }
        return o;
}

json_object *hc_vm_audit(const struct hc_vm_state *vm, const struct hc_baseline_file *bf,
                         hc_vm_lookup lookup, const void *userdata, enum hc_vm_verdict *ret_verdict)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        const struct hc_baseline_pool *pool = NULL;
        enum hc_vm_verdict v;
        char msg[512];

        if (!o || add_str(o, "uuid", vm->uuid) < 0 || add_str(o, "name", vm->name) < 0 ||
            (vm->running < 0 ? json_object_object_add(o, "running", NULL) < 0
                             : add(o, "running", json_object_new_boolean(vm->running)) < 0) ||
            add_str(o, "source", vm->source) < 0 || add_str(o, "pool", vm->pool) < 0)
                return NULL;
        if (vm->source && !vm->error &&
            (add(o, "generation", json_object_new_uint64(vm->generation)) < 0 ||
             add_str(o, "digest", vm->digest) < 0 || add(o, "registers", registers_json(vm)) < 0))
                return NULL;
        if (vm->pool && bf)
                pool = hc_baseline_file_find(bf, vm->pool);

        if (vm->error) {
                v = HC_VM_UNREADABLE;
                snprintf(msg, sizeof(msg), "cannot tell what the VM carries: %s", vm->error);
        } else if (vm->running == 0) {
                v = HC_VM_STALE_PLAN;
                snprintf(msg, sizeof(msg), "a plan for a VM libvirt does not run; left behind");
        } else if (!vm->source) {
                v = HC_VM_UNTRACKED;
                snprintf(msg, sizeof(msg),
                         "running without a plan or stamp: started outside hypercall, its values "
                         "are its host's defaults");
        } else if (!vm->pool || !pool) {
                v = HC_VM_POOL_MISSING;
                snprintf(msg, sizeof(msg), "pool %s is not in the baseline%s", vm->pool ?: "(none)",
                         bf ? "" : " (no baseline yet)");
        } else if (pool->status != HC_POOL_OK) {
                v = HC_VM_POOL_REFUSED;
                snprintf(msg, sizeof(msg), "pool %s is refused; the VM keeps generation %" PRIu64, pool->pool,
                         vm->generation);
        } else {
                _cleanup_(json_object_putp) json_object *can = json_object_new_array(),
                                                        *cannot = json_object_new_array();
                size_t n_can, n_cannot;

                if (!can || !cannot ||
                    judge_members(vm, pool, lookup, userdata, can, cannot, &n_can, &n_cannot) < 0 ||
                    add(o, "can_migrate_to", host_list(n_can, TAKE_PTR(can))) < 0 ||
                    add(o, "cannot_migrate_to", host_list(n_cannot, TAKE_PTR(cannot))) < 0)
                        return NULL;
                if (vm->digest && strcmp(vm->digest, pool->digest) == 0) {
                        v = HC_VM_CURRENT;
                        snprintf(msg, sizeof(msg), "has pool %s's current values (generation %" PRIu64 ")",
                                 pool->pool, pool->generation);
                } else if (n_cannot == 0) {
                        v = HC_VM_COMPATIBLE;
                        snprintf(msg, sizeof(msg),
                                 "carries generation %" PRIu64 " values; pool %s is at generation %" PRIu64
                                 " and every member still accepts them",
                                 vm->generation, pool->pool, pool->generation);
                } else {
                        v = HC_VM_NARROWED;
                        snprintf(msg, sizeof(msg),
                                 "pool %s narrowed under the VM (generation %" PRIu64 " -> %" PRIu64
                                 "): it can migrate to %zu of %zu members only",
                                 pool->pool, vm->generation, pool->generation, n_can, n_can + n_cannot);
                }
        }
        if (add_str(o, "verdict", hc_vm_verdict_to_string(v)) < 0 || add_str(o, "message", msg) < 0)
                return NULL;
        *ret_verdict = v;
        return TAKE_PTR(o);
}

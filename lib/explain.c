/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "explain.h"
#include "strbuf.h"
#include "jsonutil.h"


static json_object *origin_json(const struct hc_policy *p, struct hc_policy_pos pos)
{
        char buf[4200];

        if (pos.line == 0)
                return json_object_new_string("default");
        snprintf(buf, sizeof(buf), "%s:%u:%u", p->origin ? p->origin : "<policy>", pos.line,
                 pos.column);
        return json_object_new_string(buf);
}

static int add_setting(json_object *arr, const struct hc_policy *p, const char *setting,
                       const char *value, struct hc_policy_pos pos)
{
        json_object *o = json_object_new_object();
        int k = o ? 0 : -ENOMEM;

        k = k ?: hc_json_add(o, "setting", json_object_new_string(setting));
        k = k ?: hc_json_add(o, "value", json_object_new_string(value));
        k = k ?: hc_json_add(o, "origin", origin_json(p, pos));
        k = k ?: json_object_array_add(arr, o);
        if (k < 0)
                json_object_put(o);
        return k;
}

static int add_limiting(json_object *arr, const struct hc_record *r, size_t reg)
{
        json_object *o = json_object_new_object();
        char hex[HC_HEX_MAX];
        int k = o ? 0 : -ENOMEM;

        k = k ?: hc_json_add(o, "host", json_object_new_string(r->host));
        k = k ?: hc_json_add(o, "kernel", json_object_new_string(r->kernel ? r->kernel : "unknown"));
        k = k ?: hc_json_add(o, "value",
                     json_object_new_string(r->regs[reg].present
                                                    ? hc_hex(r->regs[reg].value, hex, sizeof(hex))
                                                    : "absent"));
        k = k ?: json_object_array_add(arr, o);
        if (k < 0)
                json_object_put(o);
        return k;
}

static json_object *errors_json(const struct hc_pool_result *p)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < p->n_errors; i++)
                if (json_object_array_add(a, json_object_new_string(p->errors[i].message)) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        return a;
}

static const char *kind_name(enum hc_reg_kind kind)
{
        switch (kind) {
        case HC_KIND_BITMAP:
                return "bitmap";
        case HC_KIND_PSCI_VERSION:
                return "psci-version";
        case HC_KIND_WORKAROUND:
                return "workaround";
        }
        return "unknown";
}

static char *policy_where(const struct hc_policy *p, struct hc_policy_pos pos)
{
        char *s;

        if (pos.line == 0)
                return strdup("default");
        if (asprintf(&s, "%s:%u", p->origin ? p->origin : "<policy>", pos.line) < 0)
                return NULL;
        return s;
}

static int explain_service(const struct hc_pool_result *p, size_t s, json_object *o)
{
        size_t ri;
        const struct hc_service *svc = hc_service_get(s, &ri);
        const struct hc_service_result *sr = &p->services[s];
        enum hc_service_mode mode = p->policy->services[s];
        json_object *policy = NULL, *limiting = NULL;
        _cleanup_free_ char *setting = NULL, *where = NULL, *who = NULL, *summary = NULL;
        int k = 0;

        if (asprintf(&setting, "services.%s", svc->name) < 0)
                return -ENOMEM;
        where = policy_where(p->policy, p->policy->service_pos[s]);
        who = hc_hosts_phrase(sr->lacking, sr->n_lacking, 5);
        if (!where || !who)
                return -ENOMEM;

        k = k ?: hc_json_add(o, "kind", json_object_new_string("service"));
        k = k ?: hc_json_add(o, "register", json_object_new_string(hc_catalog_get(ri)->name));
        k = k ?: hc_json_add(o, "bit", json_object_new_int((int)svc->bit));
        k = k ?: hc_json_add(o, "gates", json_object_new_string(svc->gates));
        k = k ?: hc_json_add(o, "exposed", json_object_new_boolean(sr->exposed));
        if (k == 0 && !sr->exposed)
                k = hc_json_add(o, "why", json_object_new_string(hc_why_to_string(sr->why)));

        switch (sr->why) {
        case HC_WHY_NONE:
                k = k ?: (asprintf(&summary,
                                   "%s is exposed in pool %s: all %zu hosts offer it and the "
                                   "policy says %s (%s)",
                                   svc->name, p->policy->pool, p->n_hosts,
                                   hc_service_mode_to_string(mode), where) < 0
                                  ? -ENOMEM
                                  : 0);
                break;
        case HC_WHY_POLICY:
                k = k ?: (asprintf(&summary, "%s is hidden in pool %s by the policy: %s: deny (%s%s)",
                                   svc->name, p->policy->pool, setting, where,
                                   p->policy->service_pos[s].line == 0 && svc->default_deny
                                           ? "; it needs VMM support, so it is denied unless a "
                                             "policy asks for it"
                                           : "") < 0
                                  ? -ENOMEM
                                  : 0);
                break;
        case HC_WHY_LACKING:
                k = k ?: (asprintf(&summary,
                                   "%s is hidden in pool %s: %zu of %zu hosts lack it: %s; the "
                                   "policy says %s (%s)",
                                   svc->name, p->policy->pool, sr->n_lacking, p->n_hosts, who,
                                   hc_service_mode_to_string(mode), where) < 0
                                  ? -ENOMEM
                                  : 0);
                break;
        case HC_WHY_REFUSED:
                k = k ?: (p->n_hosts > 0
                                  ? asprintf(&summary,
                                             "%s is offered by all %zu hosts, but pool %s is "
                                             "refused, so nothing is exposed: %s",
                                             svc->name, p->n_hosts, p->policy->pool,
                                             p->n_errors ? p->errors[0].message : "")
                                  : asprintf(&summary,
                                             "%s is not exposed: pool %s is refused: %s",
                                             svc->name, p->policy->pool,
                                             p->n_errors ? p->errors[0].message : "")) < 0
                                  ? -ENOMEM
                                  : 0;
                break;
        }
        k = k ?: hc_json_add(o, "summary", json_object_new_string(summary));
        k = k ?: hc_json_add(o, "policy", policy = json_object_new_array());
        k = k ?: add_setting(policy, p->policy, setting, hc_service_mode_to_string(mode),
                             p->policy->service_pos[s]);
        k = k ?: hc_json_add(o, "limiting", limiting = json_object_new_array());
        for (size_t h = 0; h < sr->n_lacking && k == 0; h++)
                k = add_limiting(limiting, sr->lacking[h], ri);
        return k;
}

/* Hosts that hold register i's value down, or lack it. */
static int limiting_hosts(const struct hc_pool_result *p, size_t i, json_object *arr)
{
        const struct hc_register *reg = hc_catalog_get(i);
        uint64_t all = 0, lo = UINT64_MAX, hi = 0;
        size_t n_present = 0;
        int k = 0;

        for (size_t h = 0; h < p->n_hosts; h++) {
                const struct hc_reg_state *st = &p->hosts[h]->regs[i];
                uint64_t rank;

                if (!st->present)
                        continue;
                n_present++;
                all |= st->value;
                rank = reg->kind == HC_KIND_WORKAROUND ? hc_workaround_rank(reg, st->value)
                                                       : st->value;
                lo = rank < lo ? rank : lo;
                hi = rank > hi ? rank : hi;
        }
        for (size_t h = 0; h < p->n_hosts && k == 0; h++) {
                const struct hc_reg_state *st = &p->hosts[h]->regs[i];
                bool limits;

                if (!st->present) {
                        limits = n_present > 0;
                } else if (reg->kind == HC_KIND_BITMAP) {
                        limits = st->value != all;
                } else {
                        uint64_t rank = reg->kind == HC_KIND_WORKAROUND
                                                ? hc_workaround_rank(reg, st->value)
                                                : st->value;
                        limits = lo < hi && rank == lo;
                }
                if (limits)
                        k = add_limiting(arr, p->hosts[h], i);
        }
        return k;
}

static int explain_register(const struct hc_pool_result *p, size_t i, json_object *o)
{
        const struct hc_register *reg = hc_catalog_get(i);
        json_object *policy = NULL, *limiting = NULL;
        _cleanup_free_ char *summary = NULL, *where = NULL;
        char hex[HC_HEX_MAX], ver[16], maxv[16];
        bool pushed = !p->refused && p->has_value[i];
        int k = 0;

        k = k ?: hc_json_add(o, "kind", json_object_new_string("register"));
        k = k ?: hc_json_add(o, "register_kind", json_object_new_string(kind_name(reg->kind)));
        k = k ?: hc_json_add(o, "pushed", json_object_new_boolean(pushed));
        k = k ?: json_object_object_add(o, "value",
                                        pushed ? json_object_new_string(hc_hex(p->value[i], hex,
                                                                               sizeof(hex)))
                                               : NULL);
        if (k == 0 && reg->kind == HC_KIND_WORKAROUND)
                k = json_object_object_add(
                        o, "floor",
                        p->has_floor[i] ? json_object_new_string(hc_hex(p->floor[i], hex,
                                                                        sizeof(hex)))
                                        : NULL);
        k = k ?: hc_json_add(o, "policy", policy = json_object_new_array());
        if (k == 0 && reg->kind == HC_KIND_PSCI_VERSION && p->policy->has_psci_max) {
                hc_psci_format(p->policy->psci_max, maxv, sizeof(maxv));
                k = add_setting(policy, p->policy, "psci.max", maxv, p->policy->psci_max_pos);
        }
        for (size_t s = 0; s < hc_service_count() && k == 0; s++) {
                size_t ri;
                const struct hc_service *svc = hc_service_get(s, &ri);
                char setting[128];

                if (ri != i)
                        continue;
                snprintf(setting, sizeof(setting), "services.%s", svc->name);
                k = add_setting(policy, p->policy, setting,
                                hc_service_mode_to_string(p->policy->services[s]),
                                p->policy->service_pos[s]);
        }
        k = k ?: hc_json_add(o, "limiting", limiting = json_object_new_array());
        k = k ?: limiting_hosts(p, i, limiting);
        if (k < 0)
                return k;

        if (p->refused)
                k = asprintf(&summary, "pool %s is refused, so nothing is pushed: %s",
                             p->policy->pool, p->n_errors ? p->errors[0].message : "");
        else if (reg->kind == HC_KIND_WORKAROUND)
                k = p->has_floor[i]
                            ? asprintf(&summary,
                                       "%s is never pushed (KVM only validates it); the pool's "
                                       "floor is %s: a VM may move only to hosts at or above the "
                                       "level of the host it started on",
                                       reg->name, hc_hex(p->floor[i], hex, sizeof(hex)))
                            : asprintf(&summary,
                                       "%s is never pushed (KVM only validates it); not every "
                                       "host has it, so the pool has no floor",
                                       reg->name);
        else if (!p->has_value[i])
                k = asprintf(&summary,
                             "%s is not pushed in pool %s: not every host has it, so new VMs keep "
                             "each host's default",
                             reg->name, p->policy->pool);
        else if (reg->kind == HC_KIND_PSCI_VERSION) {
                hc_psci_format(p->value[i], ver, sizeof(ver));
                where = policy_where(p->policy, p->policy->psci_max_pos);
                if (!where)
                        return -ENOMEM;
                bool capped = p->policy->has_psci_max && p->policy->psci_max == p->value[i];
                k = asprintf(&summary, "%s is %s (PSCI %s) in pool %s: %s", reg->name,
                             hc_hex(p->value[i], hex, sizeof(hex)), ver, p->policy->pool,
                             capped ? "capped by psci.max" : "the lowest version among the hosts");
                if (k >= 0 && capped) {
                        char *longer;

                        if (asprintf(&longer, "%s (%s)", summary, where) < 0)
                                return -ENOMEM;
                        free(summary);
                        summary = longer;
                }
        } else
                k = asprintf(&summary,
                             "%s is %s in pool %s: the AND of what every host offers, with the "
                             "services the policy denies cleared",
                             reg->name, hc_hex(p->value[i], hex, sizeof(hex)), p->policy->pool);
        if (k < 0) {
                summary = NULL;
                return -ENOMEM;
        }
        return hc_json_add(o, "summary", json_object_new_string(summary));
}

int hc_explain(const struct hc_pool_result *pool, const char *subject, json_object **ret,
               struct hc_error *err)
{
        _cleanup_(json_object_putp) json_object *o = NULL;
        int s = hc_service_find(subject), r = hc_catalog_find(subject), k = 0;

        if (s < 0 && r < 0) {
                struct hc_buf names = {0};

                for (size_t i = 0; i < hc_service_count() && k == 0; i++)
                        k = hc_buf_printf(&names, "%s%s", i ? ", " : "",
                                          hc_service_get(i, NULL)->name);
                for (size_t i = 0; i < hc_catalog_count() && k == 0; i++)
                        k = hc_buf_printf(&names, ", %s", hc_catalog_get(i)->name);
                if (k < 0) {
                        hc_buf_done(&names);
                        return hc_error_set(err, ENOMEM, "out of memory");
                }
                k = hc_error_set(err, ENOENT, "expected a service or register name (%s), got \"%s\"",
                                 names.data, subject);
                hc_buf_done(&names);
                return k;
        }
        o = json_object_new_object();
        k = o ? 0 : -ENOMEM;
        k = k ?: hc_json_add(o, "schema", json_object_new_string(HC_EXPLAIN_SCHEMA));
        k = k ?: hc_json_add(o, "pool", json_object_new_string(pool->policy->pool));
        k = k ?: hc_json_add(o, "status", json_object_new_string(pool->refused ? "refused" : "ok"));
        k = k ?: hc_json_add(o, "subject", json_object_new_string(subject));
        k = k ?: (s >= 0 ? explain_service(pool, (size_t)s, o) : explain_register(pool, (size_t)r, o));
        k = k ?: hc_json_add(o, "errors", errors_json(pool));
        if (k < 0)
                return hc_error_set(err, ENOMEM, "out of memory");
        *ret = TAKE_PTR(o);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "whatif.h"
#include "jsonutil.h"

void hc_pool_diff_done(struct hc_pool_diff *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->changes[i].subject);
                free(d->changes[i].before);
                free(d->changes[i].after);
                free(d->changes[i].message);
        }
        free(d->changes);
        *d = (struct hc_pool_diff){0};
}

static int add_change(struct hc_pool_diff *d, const char *subject, const char *before,
                      const char *after, bool narrows, const char *fmt, ...) _printf_(6, 7);
static int add_change(struct hc_pool_diff *d, const char *subject, const char *before,
                      const char *after, bool narrows, const char *fmt, ...)
{
        struct hc_change c = {.narrows = narrows}, *grown;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&c.message, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        c.subject = strdup(subject);
        c.before = strdup(before);
        c.after = strdup(after);
        grown = c.subject && c.before && c.after
                        ? reallocarray(d->changes, d->n + 1, sizeof(*grown))
                        : NULL;
        if (!grown) {
                free(c.subject);
                free(c.before);
                free(c.after);
                free(c.message);
                return -ENOMEM;
        }
        d->changes = grown;
        d->changes[d->n++] = c;
        d->narrows |= narrows;
        return 0;
}

static const char *role_of(const struct hc_pool_result *p, const char *host)
{
        for (size_t i = 0; i < p->n_hosts; i++)
                if (strcmp(p->hosts[i]->host, host) == 0)
                        return "member";
        for (size_t i = 0; i < p->n_excluded; i++)
                if (strcmp(p->excluded[i]->host, host) == 0)
                        return "excluded";
        return "absent";
}

static const char *kernel_of(const struct hc_record *r)
{
        return r->kernel ? r->kernel : "unknown";
}

static const struct hc_record *find_in(const struct hc_pool_result *p, const char *host)
{
        for (size_t i = 0; i < p->n_members; i++)
                if (strcmp(p->members[i]->host, host) == 0)
                        return p->members[i];
        return NULL;
}

static int diff_hosts(const struct hc_pool_result *a, const struct hc_pool_result *b,
                      struct hc_pool_diff *d)
{
        int k = 0;

        /* Removed or changed role, in a's order, then new ones in b's order. */
        for (size_t i = 0; i < a->n_members && k == 0; i++) {
                const char *h = a->members[i]->host, *ra = role_of(a, h), *rb = role_of(b, h);
                const struct hc_record *nr = find_in(b, h);
                char subject[300];

                snprintf(subject, sizeof(subject), "host %s", h);
                if (strcmp(ra, rb) != 0)
                        k = add_change(d, subject, ra, rb, false, "%s: %s -> %s", h, ra, rb);
                else if (nr && strcmp(kernel_of(nr), kernel_of(a->members[i])) != 0)
                        k = add_change(d, subject, kernel_of(a->members[i]), kernel_of(nr), false,
                                       "%s: kernel %s -> %s", h, kernel_of(a->members[i]),
                                       kernel_of(nr));
        }
        for (size_t i = 0; i < b->n_members && k == 0; i++) {
                const char *h = b->members[i]->host;
                char subject[300];

                if (find_in(a, h))
                        continue;
                snprintf(subject, sizeof(subject), "host %s", h);
                k = add_change(d, subject, "absent", role_of(b, h), false, "%s (%s) joins as %s",
                               h, kernel_of(b->members[i]), role_of(b, h));
        }
        return k;
}

static void value_text(bool has, uint64_t v, char *buf, size_t len)
{
        if (has)
                hc_hex(v, buf, len);
        else
                snprintf(buf, len, "not pushed");
}

static int diff_registers(const struct hc_pool_result *a, const struct hc_pool_result *b,
                          struct hc_pool_diff *d)
{
        char va[HC_HEX_MAX + 16], vb[HC_HEX_MAX + 16];
        int k = 0;

        for (size_t i = 0; i < hc_catalog_count() && k == 0; i++) {
                const struct hc_register *reg = hc_catalog_get(i);
                bool narrows;

                if (reg->kind == HC_KIND_WORKAROUND) {
                        if (a->has_floor[i] == b->has_floor[i] &&
                            (!a->has_floor[i] || a->floor[i] == b->floor[i]))
                                continue;
                        value_text(a->has_floor[i], a->floor[i], va, sizeof(va));
                        value_text(b->has_floor[i], b->floor[i], vb, sizeof(vb));
                        if (!a->has_floor[i])
                                snprintf(va, sizeof(va), "no floor");
                        if (!b->has_floor[i])
                                snprintf(vb, sizeof(vb), "no floor");
                        narrows = a->has_floor[i] &&
                                  (!b->has_floor[i] || hc_workaround_rank(reg, b->floor[i]) <
                                                               hc_workaround_rank(reg, a->floor[i]));
                        k = add_change(d, reg->name, va, vb, narrows,
                                       narrows ? "%s floor %s -> %s: VMs started on the better "
                                                 "protected hosts could not migrate to the new floor"
                                               : "%s floor %s -> %s",
                                       reg->name, va, vb);
                        continue;
                }
                if (a->has_value[i] == b->has_value[i] &&
                    (!a->has_value[i] || a->value[i] == b->value[i]))
                        continue;
                value_text(a->has_value[i], a->value[i], va, sizeof(va));
                value_text(b->has_value[i], b->value[i], vb, sizeof(vb));
                if (!a->has_value[i])
                        narrows = false;
                else if (!b->has_value[i])
                        narrows = true;
                else if (reg->kind == HC_KIND_BITMAP)
                        narrows = (a->value[i] & ~b->value[i]) != 0;
                else
                        narrows = b->value[i] < a->value[i];
                k = add_change(d, reg->name, va, vb, narrows, "%s %s -> %s%s", reg->name, va, vb,
                               narrows ? ": new VMs would get less than running ones carry" : "");
        }
        return k;
}

static size_t count_present(const struct hc_pool_result *p, size_t i)
{
        size_t n = 0;

        for (size_t h = 0; h < p->n_hosts; h++)
                n += p->hosts[h]->regs[i].present;
        return n;
}

/*
 * A register on some hosts but not all travels with VMs started where it
 * exists and fails their migration to the rest (kvm-abi.md §8, the BMAP_2
 * breakage of field-notes §2.1): a change that creates such a split narrows.
 */
static int diff_presence(const struct hc_pool_result *a, const struct hc_pool_result *b,
                         struct hc_pool_diff *d)
{
        int k = 0;

        for (size_t i = 0; i < hc_catalog_count() && k == 0; i++) {
                const struct hc_register *reg = hc_catalog_get(i);
                size_t na = count_present(a, i), nb = count_present(b, i);
                bool split_a = na > 0 && na < a->n_hosts, split_b = nb > 0 && nb < b->n_hosts;
                char subject[128], before[64], after[64];

                if (split_a == split_b || b->n_hosts == 0)
                        continue;
                snprintf(subject, sizeof(subject), "%s presence", reg->name);
                snprintf(before, sizeof(before), "%zu of %zu hosts", na, a->n_hosts);
                snprintf(after, sizeof(after), "%zu of %zu hosts", nb, b->n_hosts);
                k = split_b ? add_change(d, subject, before, after, true,
                                         "%s would exist on only %zu of %zu hosts: VMs started "
                                         "where it exists could not migrate to the others",
                                         reg->name, nb, b->n_hosts)
                            : add_change(d, subject, before, after, false,
                                         "%s would be on %s host: no longer a migration barrier",
                                         reg->name, nb == 0 ? "no" : "every");
        }
        return k;
}

/* Offered to VMs as far as members and policy go (a refused pool is a separate change). */
static bool offered(const struct hc_service_result *sr)
{
        return sr->why == HC_WHY_NONE || sr->why == HC_WHY_REFUSED;
}

static int diff_services(const struct hc_pool_result *a, const struct hc_pool_result *b,
                         struct hc_pool_diff *d)
{
        int k = 0;

        for (size_t s = 0; s < hc_service_count() && k == 0; s++) {
                const struct hc_service *svc = hc_service_get(s, NULL);
                const struct hc_service_result *x = &a->services[s], *y = &b->services[s];
                _cleanup_free_ char *who = NULL;

                if (offered(x) == offered(y))
                        continue;
                if (offered(y)) {
                        k = add_change(d, svc->name, "hidden", "exposed", false,
                                       "%s would be exposed to new VMs", svc->name);
                        continue;
                }
                who = hc_hosts_phrase(y->lacking, y->n_lacking, 5);
                if (!who)
                        return -ENOMEM;
                if (y->why == HC_WHY_POLICY)
                        k = add_change(d, svc->name, "exposed", "hidden", true,
                                       "%s would be hidden by the policy", svc->name);
                else
                        k = add_change(d, svc->name, "exposed", "hidden", true,
                                       "%s would be hidden: lacking on %s", svc->name, who);
        }
        return k;
}

int hc_pool_diff(const struct hc_pool_result *before, const struct hc_pool_result *after,
                 struct hc_pool_diff *ret)
{
        struct hc_pool_diff d = {0};
        int k = 0;

        if (before->refused != after->refused)
                k = after->refused
                            ? add_change(&d, "status", "ok", "refused", true,
                                         "the pool would be refused: %s",
                                         after->n_errors ? after->errors[0].message : "")
                            : add_change(&d, "status", "refused", "ok", false,
                                         "the pool would no longer be refused");
        k = k ?: diff_hosts(before, after, &d);
        k = k ?: diff_registers(before, after, &d);
        k = k ?: diff_presence(before, after, &d);
        k = k ?: diff_services(before, after, &d);
        if (k < 0) {
                hc_pool_diff_done(&d);
                return k;
        }
        *ret = d;
        return 0;
}


static json_object *changes_json(const struct hc_pool_diff *d, bool only_narrowing, bool with_flag)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < d->n; i++) {
                const struct hc_change *c = &d->changes[i];
                json_object *o;
                int k;

                if (only_narrowing && !c->narrows)
                        continue;
                o = json_object_new_object();
                k = o ? 0 : -ENOMEM;
                k = k ?: hc_json_add(o, "subject", json_object_new_string(c->subject));
                k = k ?: hc_json_add(o, "before", json_object_new_string(c->before));
                k = k ?: hc_json_add(o, "after", json_object_new_string(c->after));
                if (with_flag)
                        k = k ?: hc_json_add(o, "narrows", json_object_new_boolean(c->narrows));
                k = k ?: hc_json_add(o, "message", json_object_new_string(c->message));
                k = k ?: json_object_array_add(a, o);
                if (k == 0)
                        continue;
                json_object_put(o);
                json_object_put(a);
                return NULL;
        }
        return a;
}

json_object *hc_what_if_to_json(const struct hc_pool_result *before,
                                const struct hc_pool_result *after, const struct hc_pool_diff *d)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        int k = o ? 0 : -ENOMEM;

        k = k ?: hc_json_add(o, "schema", json_object_new_string(HC_WHAT_IF_SCHEMA));
        k = k ?: hc_json_add(o, "pool", json_object_new_string(after->policy->pool));
        k = k ?: hc_json_add(o, "narrows", json_object_new_boolean(d->narrows));
        k = k ?: hc_json_add(o, "changes", changes_json(d, false, true));
        k = k ?: hc_json_add(o, "before", hc_pool_result_to_json(before));
        k = k ?: hc_json_add(o, "after", hc_pool_result_to_json(after));
        return k == 0 ? TAKE_PTR(o) : NULL;
}

json_object *hc_check_host_to_json(const struct hc_pool_result *before,
                                   const struct hc_pool_result *after,
                                   const struct hc_record *host, bool matches_members,
                                   const struct hc_pool_diff *d, bool *ret_may_join)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        bool may_join = !after->refused && !d->narrows;
        int k = o ? 0 : -ENOMEM;

        (void)before;
        k = k ?: hc_json_add(o, "schema", json_object_new_string(HC_CHECK_HOST_SCHEMA));
        k = k ?: hc_json_add(o, "pool", json_object_new_string(after->policy->pool));
        k = k ?: hc_json_add(o, "host", json_object_new_string(host->host));
        k = k ?: hc_json_add(o, "kernel", json_object_new_string(host->kernel ? host->kernel : "unknown"));
        k = k ?: hc_json_add(o, "matches_members", json_object_new_boolean(matches_members));
        k = k ?: hc_json_add(o, "may_join", json_object_new_boolean(may_join));
        k = k ?: hc_json_add(o, "losses", changes_json(d, true, false));
        k = k ?: hc_json_add(o, "changes", changes_json(d, false, true));
        k = k ?: hc_json_add(o, "after", hc_pool_result_to_json(after));
        if (k < 0)
                return NULL;
        if (ret_may_join)
                *ret_may_join = may_join;
        return TAKE_PTR(o);
}

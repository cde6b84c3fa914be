/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "migration.h"
#include "strbuf.h"
#include "jsonutil.h"
#include "vcpu-regs.h"

void hc_migration_done(struct hc_migration *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n_reasons; i++) {
                free(m->reasons[i].reg);
                free(m->reasons[i].message);
        }
        free(m->reasons);
        *m = (struct hc_migration){0};
}

static int add_reason(struct hc_migration *m, const char *reg, const char *fmt, ...) _printf_(3, 4);
static int add_reason(struct hc_migration *m, const char *reg, const char *fmt, ...)
{
        struct hc_migration_reason *grown, r = {0};
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&r.message, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        r.reg = strdup(reg);
        grown = r.reg ? reallocarray(m->reasons, m->n_reasons + 1, sizeof(*grown)) : NULL;
        if (!grown) {
                free(r.reg);
                free(r.message);
                return -ENOMEM;
        }
        m->reasons = grown;
        m->reasons[m->n_reasons++] = r;
        return 0;
}

/* Names of the services whose bits are in bits, "trng, ptp"; "bits 0x4" for unnamed ones. */
static char *services_in(size_t reg_index, uint64_t bits)
{
        struct hc_buf b = {0};
        uint64_t named = 0;
        char hex[HC_HEX_MAX];
        int k = 0;

        for (size_t s = 0; s < hc_service_count() && k == 0; s++) {
                size_t ri;
                const struct hc_service *svc = hc_service_get(s, &ri);

                if (ri != reg_index || !(bits & (1ULL << svc->bit)))
                        continue;
                named |= 1ULL << svc->bit;
                k = hc_buf_printf(&b, "%s%s", b.len ? ", " : "", svc->name);
        }
        if (k == 0 && (bits & ~named))
                k = hc_buf_printf(&b, "%sbits %s", b.len ? ", " : "",
                                  hc_hex(bits & ~named, hex, sizeof(hex)));
        if (k == 0 && !b.data)
                k = hc_buf_put(&b, "", 0);
        if (k < 0) {
                hc_buf_done(&b);
                return NULL;
        }
        return b.data;
}

static const char *kernel_of(const struct hc_record *r)
{
        return r->kernel ? r->kernel : "kernel unknown";
}

static bool has_unknown(const struct hc_record *r, uint64_t id)
{
        for (size_t i = 0; i < r->n_unknown; i++)
                if (r->unknown[i] == id)
                        return true;
        return false;
}

static int check_register(const struct hc_pool_result *pool, const struct hc_record *from,
                          const struct hc_record *to, size_t i, struct hc_migration *m)
{
        const struct hc_register *reg = hc_catalog_get(i);
        const struct hc_reg_state *dst = &to->regs[i];
        char v_hex[HC_HEX_MAX], d_hex[HC_HEX_MAX], v_ver[16], d_ver[16];
        uint64_t v;

        if (!hc_pool_vm_value(pool, from, i, &v))
                return 0; /* the source kernel lacks it: nothing carried */
        hc_hex(v, v_hex, sizeof(v_hex));
        if (!dst->present)
                return add_reason(m, reg->name,
                                  "%s (%s) has no %s; the VM carries it (%s) from %s (%s) and the "
                                  "destination cannot load it%s",
                                  to->host, kernel_of(to), reg->name, v_hex, from->host,
                                  kernel_of(from),
                                  reg->kind == HC_KIND_BITMAP && v == 0
                                          ? " (only a QEMU that tolerates a missing register "
                                            "whose value is 0 accepts it)"
                                          : "");
        hc_hex(dst->value, d_hex, sizeof(d_hex));
        switch (reg->kind) {
        case HC_KIND_BITMAP:
                if (v & ~dst->value) {
                        _cleanup_free_ char *lost = services_in(i, v & ~dst->value);

                        if (!lost)
                                return -ENOMEM;
                        return add_reason(m, reg->name,
                                          "the VM carries %s %s but %s (%s) accepts only %s: %s "
                                          "would be lost",
                                          reg->name, v_hex, to->host, kernel_of(to), d_hex, lost);
                }
                break;
        case HC_KIND_PSCI_VERSION:
                if (v > dst->value) {
                        hc_psci_format(v, v_ver, sizeof(v_ver));
                        hc_psci_format(dst->value, d_ver, sizeof(d_ver));
                        return add_reason(m, reg->name,
                                          "the VM runs PSCI %s (%s) but %s (%s) knows at most %s "
                                          "(%s)",
                                          v_ver, v_hex, to->host, kernel_of(to), d_ver, d_hex);
                }
                break;
        case HC_KIND_WORKAROUND:
                if (hc_workaround_rank(reg, v) > hc_workaround_rank(reg, dst->value))
                        return add_reason(m, reg->name,
                                          "the VM carries %s level %s from %s (%s) but %s (%s) is "
                                          "at %s, less protected",
                                          reg->name, v_hex, from->host, kernel_of(from), to->host,
                                          kernel_of(to), d_hex);
                break;
        }
        return 0;
}

int hc_migration_check(const struct hc_pool_result *pool, const struct hc_record *from,
                       const struct hc_record *to, struct hc_migration *ret)
{
        struct hc_migration m = {0};
        int k = 0;

        for (size_t i = 0; i < hc_catalog_count() && k == 0; i++)
                k = check_register(pool, from, to, i, &m);
        for (size_t u = 0; u < from->n_unknown && k == 0; u++) {
                char id[32];

                if (has_unknown(to, from->unknown[u]))
                        continue;
                snprintf(id, sizeof(id), "0x%016" PRIx64, from->unknown[u]);
                k = add_reason(&m, id,
                               "%s (%s) lacks firmware register %s, which %s (%s) lists and the "
                               "VM carries",
                               to->host, kernel_of(to), id, from->host, kernel_of(from));
        }
        if (k < 0) {
                hc_migration_done(&m);
                return k;
        }
        m.allowed = m.n_reasons == 0;
        *ret = m;
        return 0;
}


/* ---- the rest of the CPU state ------------------------------------------------------------ */

static int check_listed(const struct hc_record *from, const struct hc_vcpu_regs *fv,
                        const struct hc_record *to, const struct hc_vcpu_regs *tv, struct hc_migration *m)
{
        char name[HC_REG_TEXT_MAX];
        int k = 0;

        /* Firmware registers were judged above, by the catalog's rules. */
        for (size_t i = 0; i < fv->n_ids && k == 0; i++)
                if (!hc_id_is_firmware(fv->ids[i]) && !hc_vcpu_regs_has(tv, fv->ids[i]))
                        k = add_reason(m, hc_reg_text(fv->ids[i], name, sizeof(name)),
                                       "%s (%s) lists %s and the VM's CPU state carries it; %s (%s) does "
                                       "not list it, and QEMU refuses a state with a register the "
                                       "destination lacks",
                                       from->host, kernel_of(from), name, to->host, kernel_of(to));
        return k;
}

/* The field of x at nibble n, signed fields sign-extended (0xf is -1: not implemented). */
static int field_value(uint64_t x, unsigned n, uint16_t signed_fields)
{
        int v = (int)(x >> (4 * n) & 0xf);

        return (signed_fields >> n & 1) && v >= 8 ? v - 16 : v;
}

/*
 * KVM's rule for a feature ID register written before the first run
 * (arm64_check_features since 6.7, plain equality before): bits outside the
 * writable mask must equal the destination's own value; a writable field of
 * an ID register may only be lowered (every field is judged "lower is safe",
 * the rule of nearly all of them), one of a cache geometry register may take
 * any value.
 */
static int check_feature_id(const struct hc_record *from, const struct hc_feature_id *f,
                            const struct hc_record *to, const struct hc_feature_id *g, struct hc_migration *m)
{
        char name[HC_REG_TEXT_MAX], fv[HC_HEX_MAX], gv[HC_HEX_MAX], bits[HC_HEX_MAX];
        uint64_t diff = f->value ^ g->value, fixed = diff & ~g->writable;
        uint16_t sf = hc_feature_id_signed_fields(f->id);

        if (!diff)
                return 0;
        hc_reg_text(f->id, name, sizeof(name));
        hc_hex(f->value, fv, sizeof(fv));
        hc_hex(g->value, gv, sizeof(gv));
        if (fixed)
                return add_reason(m, name,
                                  "the VM carries %s %s from %s (%s); %s (%s) reads %s and lets a VMM "
                                  "change none of the differing bits %s, so KVM refuses the value",
                                  name, fv, from->host, kernel_of(from), to->host, kernel_of(to), gv,
                                  hc_hex(fixed, bits, sizeof(bits)));
        for (unsigned n = 0; n < 16 && hc_feature_id_fields_ordered(f->id); n++) {
                int a = field_value(f->value, n, sf), b = field_value(g->value, n, sf);

                if (a > b)
                        return add_reason(m, name,
                                          "the VM carries %s %s from %s (%s) with bits %u-%u at %d; %s "
                                          "(%s) offers at most %d there, so KVM refuses the value",
                                          name, fv, from->host, kernel_of(from), 4 * n, 4 * n + 3, a,
                                          to->host, kernel_of(to), b);
        }
        return 0;
}

int hc_migration_check_vcpu(const struct hc_record *from, const struct hc_vcpu_regs *fv,
                            const struct hc_record *to, const struct hc_vcpu_regs *tv, struct hc_migration *m)
{
        int k;

        assert(from && fv && to && tv && m);
        k = check_listed(from, fv, to, tv, m);
        for (size_t i = 0; i < fv->n_feature_ids && k == 0; i++) {
                const struct hc_feature_id *g = hc_vcpu_regs_feature_id(tv, fv->feature_ids[i].id);

                if (g)
                        k = check_feature_id(from, &fv->feature_ids[i], to, g, m);
        }
        if (k < 0)
                return k;
        m->allowed = m->n_reasons == 0;
        return 0;
}

int hc_migration_judge(const struct hc_pool_result *pool, const struct hc_record *from, const struct hc_vcpu_regs *fv,
                       const struct hc_record *to, const struct hc_vcpu_regs *tv, struct hc_migration *ret)
{
        int k = hc_migration_check(pool, from, to, ret);

        if (k < 0 || !fv || !tv)
                return k;
        k = hc_migration_check_vcpu(from, fv, to, tv, ret);
        if (k < 0)
                hc_migration_done(ret); /* nothing half-judged reaches the caller */
        return k;
}

static json_object *reasons_json(const struct hc_migration *m)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < m->n_reasons; i++) {
                json_object *r = json_object_new_object();
                int k = r ? 0 : -ENOMEM;

                k = k ?: hc_json_add(r, "register", json_object_new_string(m->reasons[i].reg));
                k = k ?: hc_json_add(r, "message", json_object_new_string(m->reasons[i].message));
                if (k == 0 && json_object_array_add(a, r) == 0)
                        continue;
                json_object_put(r);
                json_object_put(a);
                return NULL;
        }
        return a;
}

json_object *hc_migration_to_json(const char *pool, const char *from, const char *to,
                                  const struct hc_migration *m)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        int k = o ? 0 : -ENOMEM;

        k = k ?: hc_json_add(o, "schema", json_object_new_string(HC_MIGRATION_SCHEMA));
        k = k ?: hc_json_add(o, "pool", json_object_new_string(pool));
        k = k ?: hc_json_add(o, "from", json_object_new_string(from));
        k = k ?: hc_json_add(o, "to", json_object_new_string(to));
        k = k ?: hc_json_add(o, "allowed", json_object_new_boolean(m->allowed));
        k = k ?: hc_json_add(o, "reasons", reasons_json(m));
        return k == 0 ? TAKE_PTR(o) : NULL;
}

/* ---- matrix ---------------------------------------------------------------------------- */

static bool same_firmware(const struct hc_record *a, const struct hc_record *b)
{
        if (strcmp(kernel_of(a), kernel_of(b)) != 0 || a->n_unknown != b->n_unknown)
                return false;
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_reg_state *x = &a->regs[i], *y = &b->regs[i];

                if (x->present != y->present)
                        return false;
                if (x->present && (x->value != y->value || x->has_default != y->has_default ||
                                   (x->has_default && x->default_value != y->default_value)))
                        return false;
        }
        for (size_t u = 0; u < a->n_unknown; u++)
                if (!has_unknown(b, a->unknown[u]))
                        return false;
        return true;
}

struct klass {
        const struct hc_record *rep;
        const struct hc_record **hosts;
        size_t n_hosts;
        char *name;
};

static void classes_free(struct klass *c, size_t n)
{
        for (size_t i = 0; c && i < n; i++) {
                free(c[i].hosts);
                free(c[i].name);
        }
        free(c);
}

static int build_classes(const struct hc_pool_result *pool, const struct hc_vcpu_set *vs, struct klass **ret,
                         size_t *ret_n)
{
        struct klass *c = calloc(pool->n_hosts + 1, sizeof(*c));
        size_t n = 0;

        if (!c)
                return -ENOMEM;
        for (size_t h = 0; h < pool->n_hosts; h++) {
                const struct hc_record *r = pool->hosts[h];
                size_t i;

                for (i = 0; i < n; i++)
                        if (same_firmware(c[i].rep, r) &&
                            hc_vcpu_regs_equal(hc_vcpu_set_find(vs, c[i].rep->host), hc_vcpu_set_find(vs, r->host)))
                                break;
                if (i == n) {
                        c[n].rep = r;
                        c[n].hosts = calloc(pool->n_hosts, sizeof(*c[n].hosts));
                        if (!c[n].hosts)
                                goto oom;
                        n++;
                }
                c[i].hosts[c[i].n_hosts++] = r;
        }
        /* Name by kernel; several classes on one kernel (workaround levels) get #1, #2 ... */
        for (size_t i = 0; i < n; i++) {
                size_t same = 0, nth = 0;

                for (size_t j = 0; j < n; j++)
                        if (strcmp(kernel_of(c[j].rep), kernel_of(c[i].rep)) == 0) {
                                same++;
                                if (j <= i)
                                        nth++;
                        }
                if ((same > 1 ? asprintf(&c[i].name, "%s#%zu", kernel_of(c[i].rep), nth)
                              : asprintf(&c[i].name, "%s", kernel_of(c[i].rep))) < 0) {
                        c[i].name = NULL;
                        goto oom;
                }
        }
        *ret = c;
        *ret_n = n;
        return 0;
oom:
        classes_free(c, n);
        return -ENOMEM;
}

static json_object *class_json(const struct klass *c)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *hosts = NULL, *regs = NULL;
        char hex[HC_HEX_MAX];
        int k = o ? 0 : -ENOMEM;

        k = k ?: hc_json_add(o, "class", json_object_new_string(c->name));
        k = k ?: hc_json_add(o, "kernel", json_object_new_string(kernel_of(c->rep)));
        k = k ?: hc_json_add(o, "hosts", hosts = json_object_new_array());
        for (size_t h = 0; h < c->n_hosts && k == 0; h++)
                k = json_object_array_add(hosts, json_object_new_string(c->hosts[h]->host));
        k = k ?: hc_json_add(o, "registers", regs = json_object_new_object());
        for (size_t i = 0; i < hc_catalog_count() && k == 0; i++) {
                const struct hc_reg_state *st = &c->rep->regs[i];

                k = hc_json_add(regs, hc_catalog_get(i)->name,
                        json_object_new_string(st->present ? hc_hex(st->value, hex, sizeof(hex))
                                                           : "absent"));
        }
        return k == 0 ? TAKE_PTR(o) : NULL;
}

static int check_classes(const struct hc_pool_result *pool, const struct hc_vcpu_set *vs, const struct klass *from,
                         const struct klass *to, struct hc_migration *m)
{
        return hc_migration_judge(pool, from->rep, hc_vcpu_set_find(vs, from->rep->host), to->rep,
                                  hc_vcpu_set_find(vs, to->rep->host), m);
}

json_object *hc_matrix_to_json(const struct hc_pool_result *pool, const struct hc_vcpu_set *vs)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *classes = NULL, *migrations = NULL;
        struct klass *c = NULL;
        size_t n = 0;
        int k = o ? 0 : -ENOMEM;

        k = k ?: build_classes(pool, vs, &c, &n);
        k = k ?: hc_json_add(o, "schema", json_object_new_string(HC_MATRIX_SCHEMA));
        k = k ?: hc_json_add(o, "pool", json_object_new_string(pool->policy->pool));
        k = k ?: hc_json_add(o, "status", json_object_new_string(pool->refused ? "refused" : "ok"));
        k = k ?: hc_json_add(o, "classes", classes = json_object_new_array());
        for (size_t i = 0; i < n && k == 0; i++) {
                json_object *cj = class_json(&c[i]);

                k = cj ? json_object_array_add(classes, cj) : -ENOMEM;
                if (k < 0)
                        json_object_put(cj);
        }
        k = k ?: hc_json_add(o, "migrations", migrations = json_object_new_array());
        for (size_t i = 0; i < n && k == 0; i++)
                for (size_t j = 0; j < n && k == 0; j++) {
                        struct hc_migration m = {0};
                        json_object *e = NULL;

                        if (i == j)
                                continue;
                        k = check_classes(pool, vs, &c[i], &c[j], &m);
                        if (k == 0) {
                                e = json_object_new_object();
                                k = e ? 0 : -ENOMEM;
                                k = k ?: hc_json_add(e, "from", json_object_new_string(c[i].name));
                                k = k ?: hc_json_add(e, "to", json_object_new_string(c[j].name));
                                k = k ?: hc_json_add(e, "allowed", json_object_new_boolean(m.allowed));
                                k = k ?: hc_json_add(e, "reasons", reasons_json(&m));
                                k = k ?: json_object_array_add(migrations, e);
                                if (k < 0)
                                        json_object_put(e);
                        }
                        hc_migration_done(&m);
                }
        classes_free(c, n);
        return k == 0 ? TAKE_PTR(o) : NULL;
}

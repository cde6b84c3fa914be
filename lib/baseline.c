/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Baseline computation.  The merge rules are per register kind, taken from
 * the catalog; nothing here knows a register or service by name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "baseline.h"
#include "strbuf.h"
#include "jsonutil.h"

const char *hc_why_to_string(enum hc_why why)
{
        switch (why) {
        case HC_WHY_POLICY:
                return "policy";
        case HC_WHY_LACKING:
                return "lacking";
        case HC_WHY_REFUSED:
                return "refused";
        case HC_WHY_NONE:
                break;
        }
        return NULL;
}

/* ---- small helpers --------------------------------------------------------------------- */

struct host_list {
        const struct hc_record **v;
        size_t n, cap;
};

static int host_list_add(struct host_list *l, const struct hc_record *r)
{
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                const struct hc_record **grown = reallocarray(l->v, cap, sizeof(*grown));

                if (!grown)
                        return -ENOMEM;
                l->v = grown;
                l->cap = cap;
        }
        l->v[l->n++] = r;
        return 0;
}

char *hc_hosts_phrase(const struct hc_record *const *hosts, size_t n, size_t max_named)
{
        struct hc_buf b = {0};
        int k = 0;

        for (size_t i = 0; i < n && i < max_named && k == 0; i++) {
                const char *sep = i == 0 ? "" : (i + 1 == n && n <= max_named) ? " and " : ", ";

                k = hc_buf_printf(&b, "%s%s (%s)", sep, hosts[i]->host,
                                  hosts[i]->kernel ? hosts[i]->kernel : "kernel unknown");
        }
        if (k == 0 && n > max_named)
                k = hc_buf_printf(&b, " and %zu more", n - max_named);
        if (k == 0 && n == 0)
                k = hc_buf_put(&b, "", 0);
        if (k < 0) {
                hc_buf_done(&b);
                return NULL;
        }
        return b.data;
}

static void issue_done(struct hc_issue *i)
{
        free(i->code);
        free(i->message);
        for (size_t h = 0; h < i->n_hosts; h++)
                free(i->hosts[h]);
        free(i->hosts);
}

static int add_issue(struct hc_issue **list, size_t *n, const char *code,
                     const struct hc_record *const *hosts, size_t n_hosts, const char *fmt, ...)
        _printf_(6, 7);
static int add_issue(struct hc_issue **list, size_t *n, const char *code,
                     const struct hc_record *const *hosts, size_t n_hosts, const char *fmt, ...)
{
        struct hc_issue *grown, it = {0};
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&it.message, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        it.code = strdup(code);
        it.hosts = calloc(n_hosts ? n_hosts : 1, sizeof(char *));
        if (!it.code || !it.hosts)
                goto oom;
        for (size_t h = 0; h < n_hosts; h++) {
                it.hosts[h] = strdup(hosts[h]->host);
                if (!it.hosts[h])
                        goto oom;
                it.n_hosts++;
        }
        grown = reallocarray(*list, *n + 1, sizeof(*grown));
        if (!grown)
                goto oom;
        *list = grown;
        (*list)[(*n)++] = it;
        return 0;
oom:
        issue_done(&it);
        return -ENOMEM;
}

static void format_duration(int64_t s, char *buf, size_t len)
{
        if (s % 86400 == 0)
                snprintf(buf, len, "%" PRId64 "d", s / 86400);
        else if (s % 3600 == 0)
                snprintf(buf, len, "%" PRId64 "h", s / 3600);
        else if (s % 60 == 0)
                snprintf(buf, len, "%" PRId64 "m", s / 60);
        else
                snprintf(buf, len, "%" PRId64 "s", s);
}

/* Probed more than max_record_age ago. */
static bool is_old(const struct hc_policy *p, const struct hc_record *r, int64_t now)
{
        return p->max_record_age > 0 && r->probed_at_unix < now - p->max_record_age;
}

/*
 * Dated more than max_record_age after now: the prober's clock (or ours) is
 * wrong, and such a record would otherwise stay "fresh" until the clock
 * caught up, however long ago its host stopped probing.  Skew within
 * max_record_age is tolerated.
 */
static bool is_from_the_future(const struct hc_policy *p, const struct hc_record *r, int64_t now)
{
        return p->max_record_age > 0 && r->probed_at_unix > now + p->max_record_age;
}

static bool is_stale(const struct hc_policy *p, const struct hc_record *r, int64_t now)
{
        return is_old(p, r, now) || is_from_the_future(p, r, now);
}

/* ---- one pool -------------------------------------------------------------------------- */

void hc_pool_result_done(struct hc_pool_result *p)
{
        if (!p)
                return;
        free(p->members);
        free(p->hosts);
        free(p->excluded);
        for (size_t s = 0; p->services && s < hc_service_count(); s++)
                free(p->services[s].lacking);
        free(p->services);
        for (size_t i = 0; i < p->n_errors; i++)
                issue_done(&p->errors[i]);
        free(p->errors);
        for (size_t i = 0; i < p->n_warnings; i++)
                issue_done(&p->warnings[i]);
        free(p->warnings);
        *p = (struct hc_pool_result){0};
}

#define ISSUE(list, code, hosts, n, ...)                                                           \
        ({                                                                                         \
                int _k_ = 0;                                                                       \
                _cleanup_free_ char *_phrase_ = hc_hosts_phrase((hosts), (n), 5);                  \
                if (!_phrase_)                                                                     \
                        _k_ = -ENOMEM;                                                             \
                else                                                                               \
                        _k_ = add_issue(&p->list, &p->n_##list, (code), (hosts), (n),              \
                                        __VA_ARGS__);                                              \
                _k_;                                                                               \
        })

static int check_legacy(struct hc_pool_result *p)
{
        _cleanup_free_ const struct hc_record **legacy = calloc(p->n_members + 1, sizeof(*legacy));
        size_t n_legacy = 0;

        if (!legacy)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_members; i++) {
                if (hc_record_is_legacy(p->members[i]) &&
                    p->policy->legacy_hosts == HC_LEGACY_EXCLUDE)
                        p->excluded[p->n_excluded++] = p->members[i];
                else
                        p->hosts[p->n_hosts++] = p->members[i];
                if (hc_record_is_legacy(p->members[i]))
                        legacy[n_legacy++] = p->members[i];
        }
        if (n_legacy > 0 && p->policy->legacy_hosts == HC_LEGACY_REFUSE) {
                _cleanup_free_ char *who = hc_hosts_phrase(legacy, n_legacy, 5);

                if (!who)
                        return -ENOMEM;
                return add_issue(&p->errors, &p->n_errors, "legacy_hosts", legacy, n_legacy,
                                 "%s %s no bitmap registers (kernel before 5.19) and cannot gate "
                                 "services; set legacy_hosts: exclude to leave them out",
                                 who, n_legacy == 1 ? "has" : "have");
        }
        return 0;
}

/* One stale_records issue for the records test() picks, worded by why. */
static int stale_issue(struct hc_pool_result *p, int64_t now,
                       bool (*test)(const struct hc_policy *, const struct hc_record *, int64_t), const char *why)
{
        _cleanup_free_ const struct hc_record **stale = calloc(p->n_hosts + 1, sizeof(*stale));
        _cleanup_free_ char *who = NULL;
        size_t n = 0;
        char age[32];

        if (!stale)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_hosts; i++)
                if (test(p->policy, p->hosts[i], now))
                        stale[n++] = p->hosts[i];
        if (n == 0)
                return 0;
        who = hc_hosts_phrase(stale, n, 5);
        if (!who)
                return -ENOMEM;
        format_duration(p->policy->max_record_age, age, sizeof(age));
        return add_issue(&p->errors, &p->n_errors, "stale_records", stale, n, "the records of %s %s %s; %s", who,
                         why, age,
                         test == is_old ? "probe them again" : "check the clocks of those hosts and of this one");
}

static int check_stale(struct hc_pool_result *p, int64_t now)
{
        int k = stale_issue(p, now, is_old, "are older than max_record_age");

        return k < 0 ? k : stale_issue(p, now, is_from_the_future, "are dated in the future by more than max_record_age");
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

static int check_unknown(struct hc_pool_result *p)
{
        _cleanup_free_ const struct hc_record **with = calloc(p->n_hosts + 1, sizeof(*with));
        _cleanup_free_ uint64_t *ids = NULL;
        _cleanup_free_ char *who = NULL;
        struct hc_buf list = {0};
        size_t n = 0, n_ids = 0;
        int k = 0;

        if (!with)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_hosts; i++)
                if (p->hosts[i]->n_unknown > 0) {
                        uint64_t *grown = reallocarray(ids, n_ids + p->hosts[i]->n_unknown,
                                                       sizeof(*ids));
                        if (!grown)
                                return -ENOMEM;
                        ids = grown;
                        memcpy(ids + n_ids, p->hosts[i]->unknown,
                               p->hosts[i]->n_unknown * sizeof(*ids));
                        n_ids += p->hosts[i]->n_unknown;
                        with[n++] = p->hosts[i];
                }
        if (n == 0)
                return 0;
        qsort(ids, n_ids, sizeof(*ids), cmp_u64);
        for (size_t i = 0; i < n_ids && k == 0; i++)
                if (i == 0 || ids[i] != ids[i - 1])
                        k = hc_buf_printf(&list, "%s0x%016" PRIx64, list.len ? ", " : "", ids[i]);
        who = hc_hosts_phrase(with, n, 5);
        if (k < 0 || !who) {
                hc_buf_done(&list);
                return -ENOMEM;
        }
        if (p->policy->unknown_registers == HC_UNKNOWN_REFUSE)
                k = add_issue(&p->errors, &p->n_errors, "unknown_registers", with, n,
                              "%s %s firmware registers the catalog does not know (%s); a VM "
                              "would carry them unchecked; set unknown_registers: ignore to "
                              "accept that",
                              who, n == 1 ? "has" : "have", list.data);
        else
                k = add_issue(&p->warnings, &p->n_warnings, "unknown_registers", with, n,
                              "%s %s firmware registers the catalog does not know (%s); "
                              "ignored by policy, not checked on migration",
                              who, n == 1 ? "has" : "have", list.data);
        hc_buf_done(&list);
        return k;
}

/* Merges register i over the hosts; warns when only some hosts have it. */
static int merge_register(struct hc_pool_result *p, size_t i)
{
        const struct hc_register *reg = hc_catalog_get(i);
        _cleanup_free_ const struct hc_record **lacking = calloc(p->n_hosts + 1, sizeof(*lacking));
        _cleanup_free_ const struct hc_record **low = calloc(p->n_hosts + 1, sizeof(*low));
        size_t n_lacking = 0, n_present = 0, n_low = 0;
        unsigned min_rank = UINT32_MAX, max_rank = 0;
        uint64_t v = 0;
        char hex[HC_HEX_MAX];

        if (!lacking || !low)
                return -ENOMEM;
        for (size_t h = 0; h < p->n_hosts; h++) {
                const struct hc_reg_state *st = &p->hosts[h]->regs[i];

                if (!st->present) {
                        /* A legacy host's missing bitmaps are the legacy_hosts rule's business. */
                        if (!(reg->kind == HC_KIND_BITMAP && hc_record_is_legacy(p->hosts[h])))
                                lacking[n_lacking++] = p->hosts[h];
                        continue;
                }
                switch (reg->kind) {
                case HC_KIND_BITMAP:
                        v = n_present == 0 ? st->value : v & st->value;
                        break;
                case HC_KIND_PSCI_VERSION:
                        v = n_present == 0 || st->value < v ? st->value : v;
                        break;
                case HC_KIND_WORKAROUND: {
                        unsigned rank = hc_workaround_rank(reg, st->value);

                        if (rank < min_rank || (rank == min_rank && st->value < v)) {
                                min_rank = rank;
                                v = st->value;
                        }
                        if (rank > max_rank)
                                max_rank = rank;
                        break;
                }
                }
                n_present++;
        }

        if (n_lacking > 0 && n_present > 0) {
                _cleanup_free_ char *who = hc_hosts_phrase(lacking, n_lacking, 5);

                if (!who)
                        return -ENOMEM;
                return add_issue(&p->warnings, &p->n_warnings, "register_not_everywhere", lacking,
                                 n_lacking,
                                 "%s exists on only %zu of %zu hosts, so it is not %s; VMs started "
                                 "on hosts that have it carry it and cannot migrate to %s",
                                 reg->name, n_present, p->n_hosts,
                                 reg->kind == HC_KIND_WORKAROUND ? "given a floor" : "pushed", who);
        }
        if (n_present != p->n_hosts || n_present == 0)
                return 0;

        switch (reg->kind) {
        case HC_KIND_BITMAP:
                for (size_t s = 0; s < hc_service_count(); s++) {
                        size_t ri;
                        const struct hc_service *svc = hc_service_get(s, &ri);

                        if (ri == i && p->policy->services[s] == HC_SERVICE_DENY)
                                v &= ~(1ULL << svc->bit);
                }
                p->has_value[i] = true;
                p->value[i] = v;
                break;
        case HC_KIND_PSCI_VERSION:
                if (p->policy->has_psci_max && p->policy->psci_max < v)
                        v = p->policy->psci_max;
                p->has_value[i] = true;
                p->value[i] = v;
                break;
        case HC_KIND_WORKAROUND:
                p->has_floor[i] = true;
                p->floor[i] = v;
                if (min_rank == max_rank)
                        break;
                for (size_t h = 0; h < p->n_hosts; h++)
                        if (hc_workaround_rank(reg, p->hosts[h]->regs[i].value) < max_rank)
                                low[n_low++] = p->hosts[h];
                {
                        _cleanup_free_ char *who = hc_hosts_phrase(low, n_low, 5);

                        if (!who)
                                return -ENOMEM;
                        return add_issue(&p->warnings, &p->n_warnings, "workaround_levels_differ",
                                         low, n_low,
                                         "%s levels differ across the pool (floor %s): VMs "
                                         "started on better-protected hosts cannot migrate to %s",
                                         reg->name, hc_hex(v, hex, sizeof(hex)), who);
                }
        }
        return 0;
}

static int merge_services(struct hc_pool_result *p)
{
        size_t n = hc_service_count();

        p->services = calloc(n ? n : 1, sizeof(*p->services));
        if (!p->services)
                return -ENOMEM;
        for (size_t s = 0; s < n; s++) {
                size_t ri;
                const struct hc_service *svc = hc_service_get(s, &ri);
                struct hc_service_result *sr = &p->services[s];
                enum hc_service_mode mode = p->policy->services[s];

                sr->lacking = calloc(p->n_hosts + 1, sizeof(*sr->lacking));
                if (!sr->lacking)
                        return -ENOMEM;
                for (size_t h = 0; h < p->n_hosts; h++) {
                        const struct hc_reg_state *st = &p->hosts[h]->regs[ri];

                        if (!st->present || !(st->value & (1ULL << svc->bit)))
                                sr->lacking[sr->n_lacking++] = p->hosts[h];
                }
                if (mode == HC_SERVICE_DENY)
                        sr->why = HC_WHY_POLICY;
                else if (sr->n_lacking > 0)
                        sr->why = HC_WHY_LACKING;
                else
                        sr->why = HC_WHY_NONE;

                if (mode == HC_SERVICE_REQUIRE && sr->n_lacking > 0) {
                        _cleanup_free_ char *who = hc_hosts_phrase(sr->lacking, sr->n_lacking, 5);

                        if (!who)
                                return -ENOMEM;
                        if (add_issue(&p->errors, &p->n_errors, "required_service_missing",
                                      sr->lacking, sr->n_lacking,
                                      "%s is required by the policy but %s %s it (%s)", svc->name,
                                      who, sr->n_lacking == 1 ? "lacks" : "lack",
                                      svc->gates) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* Marks a pool refused once every rule has had its say; again after more errors. */
static void settle(struct hc_pool_result *p)
{
        p->refused = p->n_errors > 0;
        for (size_t s = 0; s < hc_service_count(); s++) {
                struct hc_service_result *sr = &p->services[s];

                if (p->refused && sr->why == HC_WHY_NONE)
                        sr->why = HC_WHY_REFUSED;
                sr->exposed = sr->why == HC_WHY_NONE;
        }
}

int hc_pool_compute(const struct hc_policy *policy, const struct hc_record *const *members,
                    size_t n_members, int64_t now, struct hc_pool_result *ret)
{
        struct hc_pool_result p = {.policy = policy};
        int k;

        p.members = calloc(n_members + 1, sizeof(*p.members));
        p.hosts = calloc(n_members + 1, sizeof(*p.hosts));
        p.excluded = calloc(n_members + 1, sizeof(*p.excluded));
        if (!p.members || !p.hosts || !p.excluded) {
                k = -ENOMEM;
                goto fail;
        }
        if (n_members > 0)
                memcpy(p.members, members, n_members * sizeof(*members));
        p.n_members = n_members;

        k = check_legacy(&p);
        if (k < 0)
                goto fail;
        if (p.n_hosts == 0) {
                k = add_issue(&p.errors, &p.n_errors, "no_members", NULL, 0, "%s",
                              n_members == 0 ? "no host record matches members.include"
                                             : "every member is excluded as a legacy host");
                if (k < 0)
                        goto fail;
        }
        k = check_stale(&p, now);
        if (k < 0)
                goto fail;
        k = check_unknown(&p);
        if (k < 0)
                goto fail;
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                k = merge_register(&p, i);
                if (k < 0)
                        goto fail;
        }
        k = merge_services(&p);
        if (k < 0)
                goto fail;
        settle(&p);
        *ret = p;
        return 0;
fail:
        hc_pool_result_done(&p);
        return k;
}

bool hc_pool_vm_value(const struct hc_pool_result *p, const struct hc_record *host, size_t i,
                      uint64_t *ret)
{
        const struct hc_reg_state *st = &host->regs[i];

        if (!st->present)
                return false;
        if (p && !p->refused && p->has_value[i])
                *ret = p->value[i];
        else
                *ret = st->has_default ? st->default_value : st->value;
        return true;
}

/* ---- the whole fleet ------------------------------------------------------------------- */

struct hc_baseline *hc_baseline_free(struct hc_baseline *b)
{
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n_pools; i++)
                hc_pool_result_done(&b->pools[i]);
        free(b->pools);
        free(b->unassigned);
        free(b);
        return NULL;
}

const struct hc_pool_result *hc_baseline_find(const struct hc_baseline *b, const char *pool)
{
        for (size_t i = 0; i < b->n_pools; i++)
                if (strcmp(b->pools[i].policy->pool, pool) == 0)
                        return &b->pools[i];
        return NULL;
}

static int record_canonical(const struct hc_record *r, struct hc_buf *b)
{
        char hex[HC_HEX_MAX], dflt[HC_HEX_MAX];
        int k = 0;

        k = k ?: hc_buf_field(b, "record", r->host);
        k = k ?: hc_buf_field(b, "kernel", r->kernel);
        k = k ?: hc_buf_field(b, "probed_at", r->probed_at);
        k = k ?: hc_buf_field(b, "midr", r->midr);
        k = k ?: hc_buf_field(b, "kvm_mode", r->kvm_mode);
        for (size_t i = 0; i < hc_catalog_count() && k == 0; i++) {
                const struct hc_reg_state *st = &r->regs[i];

                if (!st->present)
                        k = hc_buf_printf(b, "reg %s absent\n", hc_catalog_get(i)->name);
                else if (st->has_default)
                        k = hc_buf_printf(b, "reg %s %s default %s\n", hc_catalog_get(i)->name,
                                          hc_hex(st->value, hex, sizeof(hex)),
                                          hc_hex(st->default_value, dflt, sizeof(dflt)));
                else
                        k = hc_buf_printf(b, "reg %s %s\n", hc_catalog_get(i)->name,
                                          hc_hex(st->value, hex, sizeof(hex)));
        }
        for (size_t i = 0; i < r->n_unknown && k == 0; i++)
                k = hc_buf_printf(b, "unknown 0x%016" PRIx64 "\n", r->unknown[i]);
        return k ?: hc_buf_put(b, "end\n", 4);
}

/* Feeds the canonical inputs to the hash in pieces, so 100k records need no big buffer. */
static int compute_digest(struct hc_baseline *out, const struct hc_record *const *records,
                          size_t n_records, const struct hc_policy_set *policies,
                          const char *pool, int64_t now)
{
        struct hc_sha256 ctx;
        struct hc_buf b = {0};
        uint8_t d[HC_SHA256_DIGEST_SIZE];
        char hex[HC_SHA256_HEX_MAX];
        int k = 0;

        hc_sha256_init(&ctx);
        k = hc_buf_printf(&b, HC_BASELINE_SCHEMA "\n");
        if (k == 0 && pool)
                k = hc_buf_field(&b, "pool", pool);
        for (size_t i = 0; i < policies->n && k == 0; i++)
                k = hc_policy_canonical(policies->policies[i], &b);
        for (size_t i = 0; i < n_records && k == 0; i++) {
                k = record_canonical(records[i], &b);
                if (b.len >= 65536) {
                        hc_sha256_update(&ctx, b.data, b.len);
                        b.len = 0;
                }
        }
        for (size_t i = 0; i < policies->n && k == 0; i++) {
                const struct hc_policy *p = policies->policies[i];

                if (p->max_record_age <= 0)
                        continue;
                for (size_t r = 0; r < n_records && k == 0; r++)
                        if (hc_policy_matches(p, records[r]->host) &&
                            is_stale(p, records[r], now))
                                k = hc_buf_printf(&b, "stale %s %s\n", p->pool, records[r]->host);
        }
        if (k == 0) {
                hc_sha256_update(&ctx, b.data, b.len);
                hc_sha256_final(&ctx, d);
                snprintf(out->digest, sizeof(out->digest), "sha256:%s", hc_sha256_hex(d, hex));
        }
        hc_buf_done(&b);
        return k;
}

int hc_baseline_compute(const struct hc_record *const *records, size_t n_records,
                        const struct hc_policy_set *policies, const char *pool, int64_t now,
                        struct hc_baseline **ret, struct hc_error *err)
{
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        _cleanup_free_ struct host_list *members = NULL;   /* per policy */
        _cleanup_free_ size_t *n_pools_of = NULL;          /* per record: how many match */
        _cleanup_free_ bool *also = NULL;                  /* per policy: shares a host */
        size_t np = policies->n;
        int k = 0;

        assert(ret);
        if (pool && !hc_policy_set_find(policies, pool))
                return hc_error_set(err, ENOENT, "no policy defines pool \"%s\"", pool);

        b = calloc(1, sizeof(*b));
        members = calloc(np + 1, sizeof(*members));
        n_pools_of = calloc(n_records + 1, sizeof(*n_pools_of));
        also = calloc(np + 1, sizeof(*also));
        if (!b || !members || !n_pools_of || !also)
                goto oom;
        b->pools = calloc(np + 1, sizeof(*b->pools));
        b->unassigned = calloc(n_records + 1, sizeof(*b->unassigned));
        if (!b->pools || !b->unassigned)
                goto oom;

        /* Membership, by globs on the host name. */
        for (size_t r = 0; r < n_records; r++)
                for (size_t i = 0; i < np; i++)
                        if (hc_policy_matches(policies->policies[i], records[r]->host)) {
                                n_pools_of[r]++;
                                if (host_list_add(&members[i], records[r]) < 0)
                                        goto oom;
                        }
        for (size_t r = 0; r < n_records; r++)
                if (n_pools_of[r] == 0)
                        b->unassigned[b->n_unassigned++] = records[r];

        for (size_t i = 0; i < np && k == 0; i++) {
                const struct hc_policy *pol = policies->policies[i];
                struct hc_pool_result *pr;
                struct host_list shared = {0};
                struct hc_buf others = {0};

                if (pool && strcmp(pol->pool, pool) != 0)
                        continue;
                pr = &b->pools[b->n_pools];
                k = hc_pool_compute(pol, members[i].v, members[i].n, now, pr);
                if (k < 0)
                        break;
                b->n_pools++;

                /* Hosts this pool shares with others refuse it (see baseline.h). */
                for (size_t j = 0; j < np; j++)
                        also[j] = false;
                for (size_t m = 0; m < members[i].n && k == 0; m++) {
                        const struct hc_record *rec = members[i].v[m];
                        bool shared_here = false;

                        for (size_t j = 0; j < np; j++)
                                if (j != i && hc_policy_matches(policies->policies[j], rec->host))
                                        also[j] = shared_here = true;
                        if (shared_here)
                                k = host_list_add(&shared, rec);
                }
                for (size_t j = 0; j < np && k == 0; j++)
                        if (also[j])
                                k = hc_buf_printf(&others, "%s%s", others.len ? ", " : "",
                                                  policies->policies[j]->pool);
                if (k == 0 && shared.n > 0) {
                        _cleanup_free_ char *who = hc_hosts_phrase(shared.v, shared.n, 5);

                        k = who ? add_issue(&pr->errors, &pr->n_errors, "host_in_several_pools",
                                            shared.v, shared.n,
                                            "%s also %s %s; a host belongs to one pool, "
                                            "fix members.include/exclude",
                                            who, shared.n == 1 ? "matches" : "match", others.data)
                                : -ENOMEM;
                        /* The overlap refusal goes first: it is the one to fix first. */
                        if (k == 0 && pr->n_errors > 1) {
                                struct hc_issue last = pr->errors[pr->n_errors - 1];

                                memmove(pr->errors + 1, pr->errors,
                                        (pr->n_errors - 1) * sizeof(*pr->errors));
                                pr->errors[0] = last;
                        }
                }
                free(shared.v);
                hc_buf_done(&others);
                if (k == 0)
                        settle(pr);
        }
        for (size_t i = 0; i < np; i++)
                free(members[i].v);
        if (k < 0)
                goto oom;
        k = compute_digest(b, records, n_records, policies, pool, now);
        if (k < 0)
                goto oom;
        *ret = TAKE_PTR(b);
        return 0;
oom:
        return hc_error_set(err, ENOMEM, "out of memory");
}

/* ---- JSON ------------------------------------------------------------------------------ */

static json_object *host_names(const struct hc_record *const *hosts, size_t n)
{
        json_object *a = json_object_new_array_ext((int)n);

        for (size_t i = 0; a && i < n; i++)
                if (json_object_array_add(a, json_object_new_string(hosts[i]->host)) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        return a;
}


static json_object *issues_json(const struct hc_issue *list, size_t n)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < n; i++) {
                json_object *o = json_object_new_object(), *hosts = json_object_new_array();
                int k = o && hosts ? 0 : -ENOMEM;

                for (size_t h = 0; k == 0 && h < list[i].n_hosts; h++)
                        k = json_object_array_add(hosts, json_object_new_string(list[i].hosts[h]));
                k = k ?: hc_json_add(o, "code", json_object_new_string(list[i].code));
                k = k ?: hc_json_add(o, "message", json_object_new_string(list[i].message));
                if (k == 0) {
                        k = hc_json_add(o, "hosts", hosts);
                        hosts = NULL;
                }
                json_object_put(hosts);
                if (k == 0 && json_object_array_add(a, o) == 0)
                        continue;
                json_object_put(o);
                json_object_put(a);
                return NULL;
        }
        return a;
}

json_object *hc_pool_result_to_json(const struct hc_pool_result *p)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *regs = NULL, *services = NULL, *floors = NULL;
        char hex[HC_HEX_MAX];
        int k = 0;

        if (!o)
                return NULL;
        k = k ?: hc_json_add(o, "pool", json_object_new_string(p->policy->pool));
        k = k ?: hc_json_add(o, "status", json_object_new_string(p->refused ? "refused" : "ok"));
        k = k ?: hc_json_add(o, "hosts", host_names(p->hosts, p->n_hosts));
        k = k ?: hc_json_add(o, "excluded", host_names(p->excluded, p->n_excluded));
        if (k == 0 && !p->refused) {
                k = hc_json_add(o, "registers", regs = json_object_new_object());
                for (size_t i = 0; i < hc_catalog_count() && k == 0; i++)
                        if (p->has_value[i])
                                k = hc_json_add(regs, hc_catalog_get(i)->name,
                                        json_object_new_string(hc_hex(p->value[i], hex, sizeof(hex))));
        }
        k = k ?: hc_json_add(o, "services", services = json_object_new_object());
        for (size_t s = 0; s < hc_service_count() && k == 0; s++) {
                const struct hc_service_result *sr = &p->services[s];
                json_object *so = json_object_new_object();

                k = hc_json_add(services, hc_service_get(s, NULL)->name, so);
                k = k ?: hc_json_add(so, "exposed", json_object_new_boolean(sr->exposed));
                if (k == 0 && !sr->exposed)
                        k = hc_json_add(so, "why", json_object_new_string(hc_why_to_string(sr->why)));
                if (k == 0 && sr->why == HC_WHY_LACKING)
                        k = hc_json_add(so, "lacking", host_names(sr->lacking, sr->n_lacking));
        }
        if (k == 0 && !p->refused) {
                k = hc_json_add(o, "workaround_floors", floors = json_object_new_object());
                for (size_t i = 0; i < hc_catalog_count() && k == 0; i++)
                        if (p->has_floor[i])
                                k = hc_json_add(floors, hc_catalog_get(i)->name,
                                        json_object_new_string(hc_hex(p->floor[i], hex, sizeof(hex))));
        }
        k = k ?: hc_json_add(o, "errors", issues_json(p->errors, p->n_errors));
        k = k ?: hc_json_add(o, "warnings", issues_json(p->warnings, p->n_warnings));
        return k == 0 ? TAKE_PTR(o) : NULL;
}

json_object *hc_baseline_to_json(const struct hc_baseline *b)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *pools = NULL;
        int k = 0;

        if (!o)
                return NULL;
        k = k ?: hc_json_add(o, "schema", json_object_new_string(HC_BASELINE_SCHEMA));
        k = k ?: hc_json_add(o, "digest", json_object_new_string(b->digest));
        k = k ?: hc_json_add(o, "pools", pools = json_object_new_array_ext((int)b->n_pools));
        for (size_t i = 0; i < b->n_pools && k == 0; i++) {
                json_object *p = hc_pool_result_to_json(&b->pools[i]);

                if (!p || json_object_array_add(pools, p) < 0) {
                        json_object_put(p);
                        k = -ENOMEM;
                }
        }
        k = k ?: hc_json_add(o, "unassigned", host_names(b->unassigned, b->n_unassigned));
        return k == 0 ? TAKE_PTR(o) : NULL;
}

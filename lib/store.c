/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fleet store front end: URL parsing, backend selection, the compact record cache. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "store.h"

static const struct hc_store_ops *const backends[] = {
        &hc_store_dir_ops,
};

struct hc_record_class {
        uint64_t hash;
        unsigned refs;
        char *kernel, *midr, *kvm_mode;
        struct hc_reg_state regs[HC_REG_MAX];
        uint64_t *unknown;
        size_t n_unknown;
};

/* ---- classes ------------------------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
        const unsigned char *p = data;

        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
        /* NULL and "" differ: a length prefix of -1 for NULL. */
        int64_t n = s ? (int64_t)strlen(s) : -1;

        h = fnv(h, &n, sizeof(n));
        return s ? fnv(h, s, (size_t)n) : h;
}

static uint64_t class_hash(const struct hc_record *r)
{
        uint64_t h = 0xcbf29ce484222325ULL;

        h = fnv_str(h, r->kernel);
        h = fnv_str(h, r->midr);
        h = fnv_str(h, r->kvm_mode);
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_reg_state *st = &r->regs[i];
                uint64_t v[4] = {st->present, st->present ? st->value : 0, st->has_default,
                                 st->has_default ? st->default_value : 0};

                h = fnv(h, v, sizeof(v));
        }
        h = fnv(h, &r->n_unknown, sizeof(r->n_unknown));
        return r->n_unknown ? fnv(h, r->unknown, r->n_unknown * sizeof(uint64_t)) : h;
}

static bool str_eq(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool class_matches(const struct hc_record_class *k, const struct hc_record *r)
{
        if (!str_eq(k->kernel, r->kernel) || !str_eq(k->midr, r->midr) ||
            !str_eq(k->kvm_mode, r->kvm_mode) || k->n_unknown != r->n_unknown)
                return false;
        if (r->n_unknown && memcmp(k->unknown, r->unknown, r->n_unknown * sizeof(uint64_t)) != 0)
                return false;
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_reg_state *x = &k->regs[i], *y = &r->regs[i];

                if (x->present != y->present || (x->present && x->value != y->value) ||
                    x->has_default != y->has_default || (x->has_default && x->default_value != y->default_value))
                        return false;
        }
        return true;
}

static void class_free(struct hc_record_class *k)
{
        free(k->kernel);
        free(k->midr);
        free(k->kvm_mode);
        free(k->unknown);
        free(k);
}

static struct hc_record_class *class_intern(struct hc_record_cache *c, const struct hc_record *r)
{
        uint64_t h = class_hash(r);
        struct hc_record_class *k, **grown;

        for (size_t i = 0; i < c->n_classes; i++)
                if (c->classes[i]->hash == h && class_matches(c->classes[i], r)) {
                        c->classes[i]->refs++;
                        return c->classes[i];
                }
        k = calloc(1, sizeof(*k));
        if (!k)
                return NULL;
        k->hash = h;
        k->refs = 1;
        k->kernel = r->kernel ? strdup(r->kernel) : NULL;
        k->midr = r->midr ? strdup(r->midr) : NULL;
        k->kvm_mode = r->kvm_mode ? strdup(r->kvm_mode) : NULL;
        memcpy(k->regs, r->regs, sizeof(k->regs));
        if (r->n_unknown) {
                k->unknown = malloc(r->n_unknown * sizeof(uint64_t));
                if (k->unknown)
                        memcpy(k->unknown, r->unknown, r->n_unknown * sizeof(uint64_t));
        }
        k->n_unknown = r->n_unknown;
        grown = reallocarray(c->classes, c->n_classes + 1, sizeof(*grown));
        if ((r->kernel && !k->kernel) || (r->midr && !k->midr) || (r->kvm_mode && !k->kvm_mode) ||
            (r->n_unknown && !k->unknown) || !grown) {
                if (grown)
                        c->classes = grown;
                class_free(k);
                return NULL;
        }
        c->classes = grown;
        c->classes[c->n_classes++] = k;
        return k;
}

void hc_record_cache_release(struct hc_record_cache *c, struct hc_store_entry *e)
{
        struct hc_record_class *k = e->cls;

        e->cls = NULL;
        if (!k || --k->refs > 0)
                return;
        for (size_t i = 0; i < c->n_classes; i++)
                if (c->classes[i] == k) {
                        c->classes[i] = c->classes[--c->n_classes];
                        break;
                }
        class_free(k);
}

int hc_record_cache_fill(struct hc_record_cache *c, struct hc_store_entry *e, const struct hc_record *r)
{
        struct hc_record_class *k = class_intern(c, r);
        bool changed;

        if (!k)
                return -ENOMEM;
        changed = e->cls != k || e->probed_at != r->probed_at_unix;
        hc_record_cache_release(c, e);
        e->cls = k;
        e->probed_at = r->probed_at_unix;
        return changed;
}

int hc_store_entry_set_host(struct hc_store_entry *e, const char *host)
{
        size_t n = strlen(host);

        e->long_name = NULL;
        if (n < sizeof(e->name)) {
                memcpy(e->name, host, n + 1);
                return 0;
        }
        e->name[0] = '\0';
        e->long_name = strdup(host);
        return e->long_name ? 0 : -ENOMEM;
}

void hc_store_entry_done(struct hc_record_cache *c, struct hc_store_entry *e)
{
        free(e->long_name);
        e->long_name = NULL;
        hc_record_cache_release(c, e);
}

void hc_store_failure_done(struct hc_store_failure *f)
{
        free(f->name);
        free(f->host);
        free(f->error);
        *f = (struct hc_store_failure){0};
}

void hc_record_cache_done(struct hc_record_cache *c)
{
        for (size_t i = 0; i < c->n; i++)
                hc_store_entry_done(c, &c->entries[i]);
        for (size_t i = 0; i < c->n_classes; i++)
                class_free(c->classes[i]); /* only when entries were lost on OOM */
        for (size_t i = 0; i < c->n_failures; i++)
                hc_store_failure_done(&c->failures[i]);
        free(c->entries);
        free(c->classes);
        free(c->failures);
        *c = (struct hc_record_cache){0};
}

static int cmp_entry(const void *a, const void *b)
{
        return strcmp(hc_store_entry_host(a), hc_store_entry_host(b));
}

void hc_record_cache_sort(struct hc_record_cache *c)
{
        if (c->n > 1)
                qsort(c->entries, c->n, sizeof(*c->entries), cmp_entry);
}

static int cmp_key(const void *key, const void *e)
{
        return strcmp(key, hc_store_entry_host(e));
}

struct hc_store_entry *hc_record_cache_find(const struct hc_record_cache *c, const char *host)
{
        return c->n ? bsearch(host, c->entries, c->n, sizeof(*c->entries), cmp_key) : NULL;
}

/* ---- records out of the cache -------------------------------------------------------------- */

static void materialize(const struct hc_store_entry *e, struct hc_store_record *out)
{
        const struct hc_record_class *k = e->cls;
        time_t t = (time_t)e->probed_at;
        struct tm tm;

        memset(&out->rec, 0, sizeof(out->rec));
        if (!gmtime_r(&t, &tm) || strftime(out->probed_at, sizeof(out->probed_at), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(out->probed_at, sizeof(out->probed_at), "1970-01-01T00:00:00Z");
        out->rec.host = (char *)hc_store_entry_host(e);
        out->rec.kernel = k->kernel;
        out->rec.probed_at = out->probed_at;
        out->rec.probed_at_unix = e->probed_at;
        out->rec.midr = k->midr;
        out->rec.kvm_mode = k->kvm_mode;
        memcpy(out->rec.regs, k->regs, sizeof(out->rec.regs));
        out->rec.unknown = k->unknown;
        out->rec.n_unknown = k->n_unknown;
}

bool hc_store_lookup(const struct hc_store *s, const char *host, struct hc_store_record *out)
{
        const struct hc_store_entry *e = hc_record_cache_find(&s->cache, host);

        if (!e)
                return false;
        materialize(e, out);
        return true;
}

int hc_store_snapshot(const struct hc_store *s, struct hc_store_snapshot *ret)
{
        const struct hc_record_cache *c = &s->cache;
        struct hc_store_snapshot snap = {0};

        /* Large enough that malloc maps it: the memory goes back to the system when freed. */
        snap.storage = calloc(c->n + 1, sizeof(*snap.storage));
        snap.records = calloc(c->n + 1, sizeof(*snap.records));
        if (!snap.storage || !snap.records) {
                hc_store_snapshot_done(&snap);
                return -ENOMEM;
        }
        for (size_t i = 0; i < c->n; i++) {
                materialize(&c->entries[i], &snap.storage[i]);
                snap.records[i] = &snap.storage[i].rec;
        }
        snap.n = c->n;
        *ret = snap;
        return 0;
}

void hc_store_snapshot_done(struct hc_store_snapshot *snap)
{
        free(snap->storage);
        free(snap->records);
        *snap = (struct hc_store_snapshot){0};
}

/* ---- the front end ------------------------------------------------------------------------- */

int hc_store_open(const char *url, struct hc_store **ret, struct hc_error *err)
{
        _cleanup_(hc_store_freep) struct hc_store *s = NULL;
        const struct hc_store_ops *ops = NULL;
        const char *location = url, *colon;
        int k;

        assert(url);
        assert(ret);
        colon = strchr(url, ':');
        if (url[0] == '/') {
                ops = &hc_store_dir_ops;
        } else if (colon) {
                for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                        if (strlen(backends[i]->scheme) == (size_t)(colon - url) &&
                            strncmp(url, backends[i]->scheme, (size_t)(colon - url)) == 0)
                                ops = backends[i];
                location = colon + 1;
        }
        if (!ops)
                return hc_error_set(err, EINVAL,
                                    "store \"%s\": expected \"dir:/path\" or an absolute path "
                                    "(known backends: dir)",
                                    url);
        s = calloc(1, sizeof(*s));
        if (!s)
                return hc_error_set(err, ENOMEM, "out of memory");
        s->ops = ops;
        if (ops->backend_size) {
                s->backend = calloc(1, ops->backend_size);
                if (!s->backend)
                        /* cppcheck-suppress memleak ; s is freed by its _cleanup_ */
                        return hc_error_set(err, ENOMEM, "out of memory");
        }
        if (asprintf(&s->location, "%s:%s", ops->scheme, location) < 0) {
                s->location = NULL;
                return hc_error_set(err, ENOMEM, "out of memory");
        }
        k = ops->open(s, location, err);
        if (k < 0) {
                /* open failed: the backend cleaned up after itself */
                free(s->backend);
                s->backend = NULL;
                s->ops = NULL;
                return k;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

struct hc_store *hc_store_free(struct hc_store *s)
{
        if (!s)
                return NULL;
        if (s->ops)
                s->ops->close(s);
        hc_record_cache_done(&s->cache);
        free(s->backend);
        free(s->location);
        free(s);
        return NULL;
}

const char *hc_store_scheme(const struct hc_store *s)
{
        return s->location;
}

int hc_store_publish(struct hc_store *s, const struct hc_record *r, struct hc_error *err)
{
        assert(s && r);
        return s->ops->publish(s, r, err);
}

int hc_store_publish_vcpu(struct hc_store *s, const struct hc_vcpu_regs *v, struct hc_error *err)
{
        assert(s);
        assert(v);
        return s->ops->publish_vcpu(s, v, err);
}

int hc_store_load_vcpu(struct hc_store *s, const char *host, struct hc_vcpu_regs **ret, struct hc_error *err)
{
        assert(s);
        assert(host);
        assert(ret);
        return s->ops->load_vcpu(s, host, ret, err);
}

int hc_store_unpublish(struct hc_store *s, const char *host, struct hc_error *err)
{
        assert(s && host);
        return s->ops->unpublish(s, host, err);
}

int hc_store_refresh(struct hc_store *s, bool *changed, struct hc_error *err)
{
        bool dummy;

        assert(s);
        return s->ops->refresh(s, false, changed ?: &dummy, err);
}

int hc_store_rescan(struct hc_store *s, bool *changed, struct hc_error *err)
{
        bool dummy;

        assert(s);
        return s->ops->refresh(s, true, changed ?: &dummy, err);
}

int hc_store_watch_fd(struct hc_store *s)
{
        assert(s);
        return s->ops->watch_fd ? s->ops->watch_fd(s) : -EOPNOTSUPP;
}

int hc_store_watch_drain(struct hc_store *s, bool *relevant)
{
        bool dummy;

        assert(s);
        if (!s->ops->watch_drain)
                return -EOPNOTSUPP;
        return s->ops->watch_drain(s, relevant ?: &dummy);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The fleet store: where every host publishes its record and where the
 * daemon reads everyone else's.  One interface, several backends behind a
 * vtable; the embedded default is a directory of records, one file per host
 * (/var/lib/hypercall/fleet/<host>.json), usable on one host or over a
 * shared filesystem.  A distributed backend (etcd) plugs in as another
 * struct hc_store_ops and keeps its records in the same cache.
 *
 * A store keeps a current view of the fleet in a compact cache: per host its
 * name, its record's age and a pointer to a shared "record class" (kernel,
 * CPU, KVM mode and register values: hosts of one kernel and CPU model share
 * one), so 100k hosts cost a few MiB.  Full hc_record structures exist only
 * when asked for: one host at a time (hc_store_lookup) or the whole fleet for
 * one computation (hc_store_snapshot, freed right after).
 *
 * refresh() brings the cache up to date, re-reading only what changed;
 * watch_fd() is a file descriptor an event loop polls and watch_drain() says
 * whether what woke it concerns the records (and remembers which, so the
 * next refresh looks at those only).  Where a backend cannot watch (a network
 * filesystem does not deliver remote inotify events) callers rescan on a
 * timer too (hc_store_rescan).
 *
 * Nothing here logs; functions return -errno and fill an hc_error.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hc-error.h"
#include "record.h"

struct hc_vcpu_regs;

#define HC_STORE_DEFAULT "/var/lib/hypercall/fleet"

/* An entry of the store that is not a usable record. */
struct hc_store_failure {
        char *name;  /* the entry as the backend names it ("web-03.json") */
        char *host;  /* the host it is for, as far as the name says; may be NULL */
        char *error; /* one line: "/var/lib/hypercall/fleet/web-03.json:4:2: ..." */
};

/* ---- the compact record cache (shared by backends) ---------------------------------------- */

/* What hosts of one kernel and CPU share: everything in a record but host and age. */
struct hc_record_class;
struct hc_record_cache;

#define HC_STORE_HOST_INLINE 40

/*
 * One host in the cache.  Names that fit are stored inline, so the cache is
 * one array and a few shared classes: no small allocation per host that
 * would pin heap pages between recomputations.
 */
struct hc_store_entry {
        char name[HC_STORE_HOST_INLINE]; /* the host, when it fits */
        char *long_name;                 /* the host, when it does not */
        uint64_t identity; /* backend's change detector (dir: hash of inode, size, times) */
        int64_t probed_at;
        struct hc_record_class *cls;
};

static inline const char *hc_store_entry_host(const struct hc_store_entry *e)
{
        return e->long_name ? e->long_name : e->name;
}

/* Sets e's host (e is zeroed or freshly released); 0 or -ENOMEM. */
int hc_store_entry_set_host(struct hc_store_entry *e, const char *host);
/* Frees e's host storage and its class reference. */
void hc_store_entry_done(struct hc_record_cache *c, struct hc_store_entry *e);

struct hc_record_cache {
        struct hc_store_entry *entries; /* sorted by host, unique */
        size_t n, cap;
        struct hc_record_class **classes;
        size_t n_classes;
        struct hc_store_failure *failures; /* sorted by name */
        size_t n_failures;
        uint64_t serial; /* bumped by every change */
};

/* A host's record as the cache hands it out: borrowed strings, valid until the next change. */
struct hc_store_record {
        struct hc_record rec;
        char probed_at[24];
};

/* ---- the interface -------------------------------------------------------------------------- */

struct hc_store;

struct hc_store_ops {
        const char *scheme; /* "dir": selected by "dir:LOCATION", the default for a bare path */
        size_t backend_size; /* bytes of backend state allocated for s->backend */
        int (*open)(struct hc_store *s, const char *location, struct hc_error *err);
        void (*close)(struct hc_store *s);
        /* Stores the record under its host name, atomically replacing an older one. */
        int (*publish)(struct hc_store *s, const struct hc_record *r, struct hc_error *err);
        /* Removes a host's record; -ENOENT when there is none. */
        int (*unpublish)(struct hc_store *s, const char *host, struct hc_error *err);
        /* Stores a host's vCPU register set beside its record (vcpu-regs.h). */
        int (*publish_vcpu)(struct hc_store *s, const struct hc_vcpu_regs *v, struct hc_error *err);
        /* Reads a host's vCPU register set: 0 and *ret NULL when it has none. */
        int (*load_vcpu)(struct hc_store *s, const char *host, struct hc_vcpu_regs **ret, struct hc_error *err);
        /* Updates s->cache; full: look at everything, not only what the watch reported. */
        int (*refresh)(struct hc_store *s, bool full, bool *changed, struct hc_error *err);
        /* A pollable fd (readable when something may have changed), or -EOPNOTSUPP. */
        int (*watch_fd)(struct hc_store *s);
        /* Consumes what woke the fd; *relevant: the records may have changed. */
        int (*watch_drain)(struct hc_store *s, bool *relevant);
};

struct hc_store {
        const struct hc_store_ops *ops;
        char *location;
        struct hc_record_cache cache; /* maintained by the backend */
        void *backend;
};

/*
 * Opens a store by URL: "dir:/path" or a bare absolute path (a directory
 * store).  Unknown schemes are refused naming the known ones.  The cache is
 * empty until the first refresh.
 */
int hc_store_open(const char *url, struct hc_store **ret, struct hc_error *err);
struct hc_store *hc_store_free(struct hc_store *s);
HC_DEFINE_CLEANUP(struct hc_store *, hc_store_free)

/* "dir:/var/lib/hypercall/fleet" */
const char *hc_store_scheme(const struct hc_store *s);

int hc_store_publish(struct hc_store *s, const struct hc_record *r, struct hc_error *err);
int hc_store_unpublish(struct hc_store *s, const char *host, struct hc_error *err);
/*
 * vCPU register sets, for migration checks beyond the firmware registers.
 * Not cached: read on demand, one host at a time (a check-migration).
 */
int hc_store_publish_vcpu(struct hc_store *s, const struct hc_vcpu_regs *v, struct hc_error *err);
int hc_store_load_vcpu(struct hc_store *s, const char *host, struct hc_vcpu_regs **ret, struct hc_error *err);
/*
 * Incremental: only what the watch reported since the last refresh; a full
 * rescan the first time, after a queue overflow, or when nothing watches.
 */
int hc_store_refresh(struct hc_store *s, bool *changed, struct hc_error *err);
/* Full: every entry is looked at (for changes no watch reports). */
int hc_store_rescan(struct hc_store *s, bool *changed, struct hc_error *err);
int hc_store_watch_fd(struct hc_store *s);
int hc_store_watch_drain(struct hc_store *s, bool *relevant);

static inline size_t hc_store_count(const struct hc_store *s)
{
        return s->cache.n;
}

static inline uint64_t hc_store_serial(const struct hc_store *s)
{
        return s->cache.serial;
}

/* Entries that are not usable records, sorted by name. */
static inline const struct hc_store_failure *hc_store_failures(const struct hc_store *s, size_t *ret_n)
{
        *ret_n = s->cache.n_failures;
        return s->cache.failures;
}

/* Fills out with host's record (borrowed, valid until the next refresh or publish); false: none. */
bool hc_store_lookup(const struct hc_store *s, const char *host, struct hc_store_record *out);

/* Every valid record, sorted by host, materialized for one computation. */
struct hc_store_snapshot {
        const struct hc_record **records;
        size_t n;
        struct hc_store_record *storage;
};

/* Valid until the next refresh or publish; free it as soon as the computation is done. */
int hc_store_snapshot(const struct hc_store *s, struct hc_store_snapshot *ret);
void hc_store_snapshot_done(struct hc_store_snapshot *snap);

/* Backends. */
extern const struct hc_store_ops hc_store_dir_ops;

/* ---- helpers for backends ------------------------------------------------------------------ */

void hc_store_failure_done(struct hc_store_failure *f);
void hc_record_cache_done(struct hc_record_cache *c);
/* The entry for host, or NULL. */
struct hc_store_entry *hc_record_cache_find(const struct hc_record_cache *c, const char *host);
/*
 * Makes e describe r (interning its class); e->host is not touched.
 * Returns 1 when e's content changed, 0 when it is the same, -ENOMEM.
 */
int hc_record_cache_fill(struct hc_record_cache *c, struct hc_store_entry *e, const struct hc_record *r);
/* Drops a class reference (entries being removed or refilled). */
void hc_record_cache_release(struct hc_record_cache *c, struct hc_store_entry *e);
/* Sorts entries by host after a backend rebuilt them. */
void hc_record_cache_sort(struct hc_record_cache *c);

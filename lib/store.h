/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The fleet store: where every host publishes its record and where the
 * daemon reads everyone else's.  One interface, several backends behind a
 * vtable; the embedded default is a directory of records, one file per host
 * (/var/lib/hypercall/fleet/<host>.json), usable on one host or over a
 * shared filesystem.  A distributed backend (etcd) plugs in as another
 * struct hc_store_ops.
 *
 * A store keeps a current view of the fleet: the valid records, sorted by
 * host, and the entries it could not use, each with its error.  refresh()
 * brings the view up to date (re-reading only what changed); watch_fd() is
 * a file descriptor an event loop polls, and watch_drain() says whether
 * what woke it concerns the records.  Where a backend cannot watch (a
 * network filesystem does not deliver remote inotify events) callers refresh
 * on a timer too; refresh is cheap when nothing changed.
 *
 * Nothing here logs; functions return -errno and fill an hc_error.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hc-error.h"
#include "record.h"

#define HC_STORE_DEFAULT "/var/lib/hypercall/fleet"

/* An entry of the store that is not a usable record. */
struct hc_store_failure {
        char *name;  /* the entry as the backend names it ("web-03.json") */
        char *host;  /* the host it is for, as far as the name says; may be NULL */
        char *error; /* one line: "/var/lib/hypercall/fleet/web-03.json:4:2: ..." */
};

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
        /* Brings s->view up to date; *changed says whether any record or failure moved. */
        int (*refresh)(struct hc_store *s, bool *changed, struct hc_error *err);
        /* A pollable fd (readable when something may have changed), or -EOPNOTSUPP. */
        int (*watch_fd)(struct hc_store *s);
        /* Consumes what woke the fd; *relevant: the records may have changed. */
        int (*watch_drain)(struct hc_store *s, bool *relevant);
};

struct hc_store_view {
        const struct hc_record **records; /* valid records, sorted by host, unique */
        size_t n_records;
        const struct hc_store_failure *failures; /* sorted by name */
        size_t n_failures;
        uint64_t serial; /* bumped by every refresh that changed something */
};

struct hc_store {
        const struct hc_store_ops *ops;
        char *location;
        struct hc_store_view view; /* maintained by the backend */
        void *backend;
};

/*
 * Opens a store by URL: "dir:/path" or a bare absolute path (a directory
 * store).  Unknown schemes are refused naming the known ones.  The view is
 * empty until the first refresh.
 */
int hc_store_open(const char *url, struct hc_store **ret, struct hc_error *err);
struct hc_store *hc_store_free(struct hc_store *s);
HC_DEFINE_CLEANUP(struct hc_store *, hc_store_free)

/* "dir:/var/lib/hypercall/fleet" */
const char *hc_store_scheme(const struct hc_store *s);

int hc_store_publish(struct hc_store *s, const struct hc_record *r, struct hc_error *err);
int hc_store_unpublish(struct hc_store *s, const char *host, struct hc_error *err);
int hc_store_refresh(struct hc_store *s, bool *changed, struct hc_error *err);
int hc_store_watch_fd(struct hc_store *s);
int hc_store_watch_drain(struct hc_store *s, bool *relevant);

static inline const struct hc_store_view *hc_store_view(const struct hc_store *s)
{
        return &s->view;
}

/* The host's record in the current view, or NULL. */
const struct hc_record *hc_store_find(const struct hc_store *s, const char *host);

/* Backends. */
extern const struct hc_store_ops hc_store_dir_ops;

/* Helpers for backends. */
void hc_store_failure_done(struct hc_store_failure *f);

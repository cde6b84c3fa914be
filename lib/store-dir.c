/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The directory store: one file per host, DIR/<host>.json, each a host
 * record written atomically (temp file + rename), so readers on this host or
 * on another one sharing the filesystem see whole records only.
 *
 * Each file's identity (device, inode, size, mtime, ctime) is remembered as a
 * hash; a file is re-read only when its identity moved.  inotify reports
 * which names changed, so an incremental refresh stats only those; a full
 * rescan (the first refresh, a queue overflow, the periodic rescan for
 * writers on other hosts) stats every *.json.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "vcpu-regs.h"

struct dir_store {
        char *dir;
        int dfd;
        int inotify_fd;
        bool full_needed;
        char **pending; /* names the watch reported since the last refresh */
        size_t n_pending;
};

static void pending_clear(struct dir_store *d)
{
        for (size_t i = 0; i < d->n_pending; i++)
                free(d->pending[i]);
        free(d->pending);
        d->pending = NULL;
        d->n_pending = 0;
}

static void dir_close(struct hc_store *s)
{
        struct dir_store *d = s->backend;

        if (!d)
                return;
        pending_clear(d);
        if (d->inotify_fd >= 0)
                (void)close(d->inotify_fd);
        if (d->dfd >= 0)
                (void)close(d->dfd);
        d->inotify_fd = d->dfd = -1;
        free(d->dir);
        d->dir = NULL;
}

static int dir_open(struct hc_store *s, const char *location, struct hc_error *err)
{
        struct dir_store *d = s->backend;

        d->inotify_fd = d->dfd = -1;
        d->full_needed = true;
        if (location[0] != '/')
                return hc_error_set(err, EINVAL, "store dir:%s: expected an absolute path", location);
        if (mkdir(location, 0755) < 0 && errno != EEXIST)
                return hc_error_at(err, errno, location, 0, 0, "cannot create the store directory: %s",
                                   strerror(errno));
        d->dfd = open(location, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->dfd < 0) {
                int e = errno;
                return hc_error_at(err, e, location, 0, 0, "%s", e == ENOTDIR ? "not a directory" : strerror(e));
        }
        d->dir = strdup(location);
        if (!d->dir) {
                (void)close(d->dfd);
                d->dfd = -1;
                return hc_error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

static void pending_add(struct dir_store *d, const char *name);

static bool host_name_usable(const char *host)
{
        size_t n = strlen(host);

        return n > 0 && n <= 253 && host[0] != '.' && host[0] != '-' &&
               strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

/*
 * A publisher killed mid-write leaves <host>.json.tmp.XXXXXX behind (readers
 * ignore it: not *.json).  Only a host publishes its own record, so its next
 * publish removes what its earlier, killed one left.
 */
static void remove_stale_temps(struct dir_store *d, const char *host)
{
        char prefix[300];
        struct dirent *de;
        DIR *dir;
        int fd;

        snprintf(prefix, sizeof(prefix), "%s.json.tmp.", host);
        fd = openat(d->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        dir = fdopendir(fd);
        if (!dir) {
                (void)close(fd);
                return;
        }
        while ((de = readdir(dir)))
                if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
                        (void)unlinkat(dirfd(dir), de->d_name, 0);
        closedir(dir);
}

static int dir_publish(struct hc_store *s, const struct hc_record *r, struct hc_error *err)
{
        struct dir_store *d = s->backend;
        _cleanup_free_ char *path = NULL;
        int k;

        if (!r->host || !host_name_usable(r->host))
                return hc_error_set(err, EINVAL, "cannot publish a record whose host name is not a "
                                                 "DNS-like name");
        if (asprintf(&path, "%s/%s.json", d->dir, r->host) < 0) {
                path = NULL;
                return hc_error_set(err, ENOMEM, "out of memory");
        }
        remove_stale_temps(d, r->host);
        k = hc_record_save(r, path, err);
        if (k >= 0)
                pending_add(d, strrchr(path, '/') + 1); /* our own write: seen by the next refresh */
        return k;
}

static int dir_unpublish(struct hc_store *s, const char *host, struct hc_error *err)
{
        struct dir_store *d = s->backend;
        _cleanup_free_ char *path = NULL;

        if (!host_name_usable(host))
                return hc_error_set(err, EINVAL, "\"%s\" is not a host name", host);
        if (asprintf(&path, "%s/%s.json", d->dir, host) < 0) {
                path = NULL;
                return hc_error_set(err, ENOMEM, "out of memory");
        }
        if (unlink(path) < 0)
                return hc_error_at(err, errno, path, 0, 0, "cannot remove: %s", strerror(errno));
        pending_add(d, strrchr(path, '/') + 1);
        /* Its vCPU register set goes with it: a later record of the same name is another host. */
        free(path);
        path = hc_vcpu_regs_path(d->dir, host);
        if (!path)
                return hc_error_set(err, ENOMEM, "out of memory");
        if (unlink(path) < 0 && errno != ENOENT)
                return hc_error_at(err, errno, path, 0, 0, "cannot remove: %s", strerror(errno));
        return 0;
}

/* DIR/vcpu/<host>.json: in a subdirectory, which record scans of DIR never look into. */
static int dir_publish_vcpu(struct hc_store *s, const struct hc_vcpu_regs *v, struct hc_error *err)
{
        struct dir_store *d = s->backend;
        _cleanup_free_ char *sub = NULL, *path = NULL;

        if (!host_name_usable(v->host))
                return hc_error_set(err, EINVAL, "\"%s\" is not a host name", v->host);
        path = hc_vcpu_regs_path(d->dir, v->host);
        if (!path || !(sub = strdup(path)))
                return hc_error_set(err, ENOMEM, "out of memory");
        *strrchr(sub, '/') = '\0';
        if (mkdir(sub, 0755) < 0 && errno != EEXIST)
                return hc_error_at(err, errno, sub, 0, 0, "cannot create: %s", strerror(errno));
        return hc_vcpu_regs_save(v, path, err);
}

static int dir_load_vcpu(struct hc_store *s, const char *host, struct hc_vcpu_regs **ret, struct hc_error *err)
{
        struct dir_store *d = s->backend;

        if (!host_name_usable(host))
                return hc_error_set(err, EINVAL, "\"%s\" is not a host name", host);
        return hc_vcpu_regs_load_beside(d->dir, host, ret, err);
}

static bool is_record_name(const char *name)
{
        size_t n = strlen(name);

        return name[0] != '.' && n > 5 && n - 5 <= 253 && strcmp(name + n - 5, ".json") == 0;
}

static uint64_t identity(const struct stat *st)
{
        const uint64_t v[7] = {st->st_dev, st->st_ino, (uint64_t)st->st_size, (uint64_t)st->st_mtim.tv_sec,
                               (uint64_t)st->st_mtim.tv_nsec, (uint64_t)st->st_ctim.tv_sec,
                               (uint64_t)st->st_ctim.tv_nsec};
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                h ^= v[i];
                h *= 0x100000001b3ULL;
                h ^= h >> 29;
        }
        return h | 1; /* never 0: 0 means "not read yet" */
}

/* Reads DIR/name; 0 and *ret, or 0 and *ret_error (a failure), or -ENOMEM. */
static int load_file(struct dir_store *d, const char *name, const char *host, struct hc_record **ret,
                     char **ret_error)
{
        _cleanup_free_ char *path = NULL;
        struct hc_error err = {0};
        struct hc_record *r = NULL;
        int k;

        *ret = NULL;
        *ret_error = NULL;
        if (asprintf(&path, "%s/%s", d->dir, name) < 0)
                return -ENOMEM;
        k = hc_record_load(path, &r, &err);
        if (k == -ENOMEM)
                return k;
        if (k >= 0 && strcmp(r->host, host) != 0) {
                (void)hc_error_field(&err, EINVAL, path, "host",
                                     "expected \"%s\" (a store file is named after its host), got \"%s\"",
                                     host, r->host);
                r = hc_record_free(r);
                k = -EINVAL;
        }
        if (k < 0) {
                *ret_error = strdup(hc_error_text(&err));
                return *ret_error ? 0 : -ENOMEM;
        }
        /* The cache keeps what it needs; the file name is not kept per record. */
        free(r->origin);
        r->origin = NULL;
        *ret = r;
        return 0;
}

/* ---- failures ------------------------------------------------------------------------------ */

static struct hc_store_failure *failure_find(struct hc_record_cache *c, const char *name)
{
        for (size_t i = 0; i < c->n_failures; i++)
                if (strcmp(c->failures[i].name, name) == 0)
                        return &c->failures[i];
        return NULL;
}

static int cmp_failure(const void *a, const void *b)
{
        return strcmp(((const struct hc_store_failure *)a)->name, ((const struct hc_store_failure *)b)->name);
}

/* Sets (error non-NULL, taken) or clears (NULL) the failure for name; returns whether it changed. */
static int failure_set(struct hc_record_cache *c, const char *name, char *error)
{
        struct hc_store_failure *f = failure_find(c, name), *grown;

        if (!error) {
                if (!f)
                        return 0;
                hc_store_failure_done(f);
                *f = c->failures[--c->n_failures];
                if (c->n_failures > 1)
                        qsort(c->failures, c->n_failures, sizeof(*c->failures), cmp_failure);
                return 1;
        }
        if (f) {
                bool same = strcmp(f->error, error) == 0;
                free(f->error);
                f->error = error;
                return !same;
        }
        grown = reallocarray(c->failures, c->n_failures + 1, sizeof(*grown));
        if (!grown) {
                free(error);
                return -ENOMEM;
        }
        c->failures = grown;
        f = &c->failures[c->n_failures];
        *f = (struct hc_store_failure){.name = strdup(name), .host = strndup(name, strlen(name) - 5),
                                       .error = error};
        if (!f->name || !f->host) {
                hc_store_failure_done(f);
                return -ENOMEM;
        }
        c->n_failures++;
        qsort(c->failures, c->n_failures, sizeof(*c->failures), cmp_failure);
        return 1;
}

/* ---- entries ------------------------------------------------------------------------------- */

static int entry_remove(struct hc_record_cache *c, const char *host)
{
        struct hc_store_entry *e = hc_record_cache_find(c, host);
        size_t i;

        if (!e)
                return 0;
        i = (size_t)(e - c->entries);
        hc_store_entry_done(c, e);
        memmove(&c->entries[i], &c->entries[i + 1], (c->n - i - 1) * sizeof(*e));
        c->n--;
        return 1;
}

static int entry_grow(struct hc_record_cache *c)
{
        struct hc_store_entry *grown;
        size_t cap;

        if (c->n < c->cap)
                return 0;
        cap = c->cap ? c->cap * 2 : 64;
        grown = reallocarray(c->entries, cap, sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        c->entries = grown;
        c->cap = cap;
        return 0;
}

/* Looks at one name (incremental refresh); returns 1 when something changed, 0, or -ENOMEM. */
static int refresh_one(struct hc_store *s, const char *name)
{
        struct dir_store *d = s->backend;
        struct hc_record_cache *c = &s->cache;
        _cleanup_free_ char *host = strndup(name, strlen(name) - 5);
        struct hc_store_entry *e;
        struct hc_record *r = NULL;
        char *error = NULL;
        struct stat st;
        uint64_t id;
        int k, changed = 0;

        if (!host)
                return -ENOMEM;
        e = hc_record_cache_find(c, host);
        if (fstatat(d->dfd, name, &st, 0) < 0) {
                /* Gone: no record, no failure. */
                changed = entry_remove(c, host);
                k = failure_set(c, name, NULL);
                return k < 0 ? k : changed || k;
        }
        id = identity(&st);
        if (e && e->identity == id)
                return 0;
        if (!S_ISREG(st.st_mode)) {
                if (asprintf(&error, "%s/%s: not a regular file", d->dir, name) < 0)
                        return -ENOMEM;
        } else {
                k = load_file(d, name, host, &r, &error);
                if (k < 0)
                        return k;
        }
        if (error) {
                changed = entry_remove(c, host);
                k = failure_set(c, name, error);
                return k < 0 ? k : changed || k;
        }
        k = failure_set(c, name, NULL);
        if (k < 0) {
                hc_record_free(r);
                return k;
        }
        changed = k;
        if (!e) {
                if (entry_grow(c) < 0) {
                        hc_record_free(r);
                        return -ENOMEM;
                }
                e = &c->entries[c->n];
                *e = (struct hc_store_entry){0};
                if (hc_store_entry_set_host(e, host) < 0) {
                        hc_record_free(r);
                        return -ENOMEM;
                }
                c->n++;
                changed = 1;
        }
        e->identity = id;
        k = hc_record_cache_fill(c, e, r);
        hc_record_free(r);
        if (k < 0)
                return k;
        if (changed)
                hc_record_cache_sort(c); /* a new host went to the end */
        return changed || k;
}

/* Looks at every *.json (full rescan). */
static int refresh_all(struct hc_store *s, bool *changed, struct hc_error *err)
{
        struct dir_store *d = s->backend;
        struct hc_record_cache *c = &s->cache, next = {0};
        /* Per old entry: still to be seen, moved over as is, or replaced by a re-read. */
        enum { UNSEEN, MOVED, REPLACED };
        unsigned char *taken;
        struct dirent *de;
        DIR *dir;
        int dfd, k = 0;
        bool moved = false;


        dfd = openat(d->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dir = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!dir) {
                int e = errno;
                if (dfd >= 0)
                        (void)close(dfd);
                return hc_error_at(err, e, d->dir, 0, 0, "cannot read the store directory: %s", strerror(e));
        }
        taken = calloc(c->n + 1, 1);
        if (!taken) {
                closedir(dir);
                return hc_error_set(err, ENOMEM, "out of memory");
        }
        /* next shares the class table with c: entries move over with their class references. */
        next.classes = c->classes;
        next.n_classes = c->n_classes;
        while (k >= 0 && (errno = 0, de = readdir(dir))) {
                char host[256];
                struct hc_store_entry *old, *e;
                struct hc_record *r = NULL;
                char *error = NULL;
                struct stat st;
                uint64_t id;

                if (!is_record_name(de->d_name))
                        continue;
                snprintf(host, sizeof(host), "%.*s", (int)(strlen(de->d_name) - 5), de->d_name);
                if (fstatat(dirfd(dir), de->d_name, &st, 0) < 0)
                        continue; /* gone since readdir */
                id = identity(&st);
                old = hc_record_cache_find(c, host);
                if (old && old->identity == id) {
                        k = entry_grow(&next);
                        if (k < 0)
                                break;
                        next.entries[next.n++] = *old; /* host and class reference move over */
                        taken[old - c->entries] = MOVED;
                        continue;
                }
                if (!S_ISREG(st.st_mode)) {
                        if (asprintf(&error, "%s/%s: not a regular file", d->dir, de->d_name) < 0)
                                k = -ENOMEM;
                } else {
                        k = load_file(d, de->d_name, host, &r, &error);
                }
                if (k < 0)
                        break;
                if (error) {
                        struct hc_store_failure *f = failure_find(c, de->d_name);

                        if (!f || strcmp(f->error, error) != 0 || old)
                                moved = true;
                        if (old)
                                taken[old - c->entries] = REPLACED;
                        k = failure_set(&next, de->d_name, error);
                        continue;
                }
                if (failure_find(c, de->d_name))
                        moved = true;
                k = entry_grow(&next);
                if (k < 0) {
                        hc_record_free(r);
                        break;
                }
                e = &next.entries[next.n];
                *e = (struct hc_store_entry){.identity = id};
                if (hc_store_entry_set_host(e, host) < 0) {
                        hc_record_free(r);
                        k = -ENOMEM;
                        break;
                }
                next.n++;
                k = hc_record_cache_fill(&next, e, r);
                hc_record_free(r);
                /* The same content rewritten (a republish of an unchanged record) is no change. */
                if (!old || old->cls != e->cls || old->probed_at != e->probed_at)
                        moved = true;
                if (old)
                        taken[old - c->entries] = REPLACED;
        }
        if (k >= 0 && errno != 0)
                k = -errno;
        closedir(dir);
        c->classes = next.classes;
        c->n_classes = next.n_classes;
        /* Cut short (no memory, readdir failed): hosts not seen yet are kept as they were. */
        for (size_t i = 0; k < 0 && i < c->n; i++)
                if (taken[i] == UNSEEN && entry_grow(&next) >= 0) {
                        next.entries[next.n++] = c->entries[i];
                        taken[i] = MOVED;
                }
        /* Whatever was not taken over is gone (or replaced). */
        for (size_t i = 0; i < c->n; i++)
                if (taken[i] != MOVED) {
                        if (taken[i] == UNSEEN)
                                moved = true; /* gone */
                        hc_store_entry_done(c, &c->entries[i]);
                }
        next.classes = c->classes;
        next.n_classes = c->n_classes;
        if (k < 0) {
                /* Keep what could be read; a later rescan completes it. */
                d->full_needed = true;
                moved = true;
        }
        for (size_t i = 0; i < c->n_failures; i++)
                if (!failure_find(&next, c->failures[i].name))
                        moved = true;
        for (size_t i = 0; i < c->n_failures; i++)
                hc_store_failure_done(&c->failures[i]);
        free(c->failures);
        free(c->entries);
        free(taken);
        next.serial = c->serial;
        *c = next;
        hc_record_cache_sort(c);
        if (moved)
                c->serial++;
        *changed = moved;
        if (k < 0)
                return hc_error_at(err, -k, d->dir, 0, 0, "cannot refresh the store: %s", strerror(-k));
        return 0;
}

static int dir_refresh(struct hc_store *s, bool full, bool *changed, struct hc_error *err)
{
        struct dir_store *d = s->backend;
        int k = 0, any = 0;

        *changed = false;
        /* Without a watch nothing says what changed: look at everything. */
        if (full || d->full_needed || d->inotify_fd < 0) {
                d->full_needed = false;
                pending_clear(d);
                return refresh_all(s, changed, err);
        }
        for (size_t i = 0; i < d->n_pending; i++) {
                bool dup = false;

                for (size_t j = 0; j < i && !dup; j++)
                        dup = strcmp(d->pending[i], d->pending[j]) == 0;
                if (dup)
                        continue;
                k = refresh_one(s, d->pending[i]);
                if (k < 0)
                        break;
                any |= k;
        }
        pending_clear(d);
        if (k < 0) {
                d->full_needed = true;
                return hc_error_at(err, -k, d->dir, 0, 0, "cannot refresh the store: %s", strerror(-k));
        }
        if (any)
                s->cache.serial++;
        *changed = any;
        return 0;
}

static int dir_watch_fd(struct hc_store *s)
{
        struct dir_store *d = s->backend;

        if (d->inotify_fd >= 0)
                return d->inotify_fd;
        d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (d->inotify_fd < 0)
                return -errno;
        if (inotify_add_watch(d->inotify_fd, d->dir,
                              IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB |
                                      IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR) < 0) {
                int e = -errno;

                (void)close(d->inotify_fd);
                d->inotify_fd = -1;
                return e;
        }
        return d->inotify_fd;
}

/* Remembers a name for the next incremental refresh; too many: a full rescan is cheaper. */
static void pending_add(struct dir_store *d, const char *name)
{
        char **grown;

        if (d->full_needed)
                return;
        if (d->n_pending >= 4096) {
                pending_clear(d);
                d->full_needed = true;
                return;
        }
        grown = reallocarray(d->pending, d->n_pending + 1, sizeof(char *));
        if (!grown || !(grown[d->n_pending] = strdup(name))) {
                if (grown)
                        d->pending = grown;
                d->full_needed = true;
                return;
        }
        d->pending = grown;
        d->n_pending++;
}

static int dir_watch_drain(struct hc_store *s, bool *relevant)
{
        struct dir_store *d = s->backend;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

        *relevant = false;
        if (d->inotify_fd < 0)
                return -EBADF;
        for (;;) {
                ssize_t len = read(d->inotify_fd, buf, sizeof(buf));

                if (len < 0 && errno == EINTR)
                        continue;
                if (len < 0 && errno == EAGAIN)
                        return 0;
                if (len < 0)
                        return -errno;
                if (len == 0)
                        return 0;
                for (char *p = buf; p < buf + len;) {
                        const struct inotify_event *ev = (const struct inotify_event *)p;

                        if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                                *relevant = true;
                                d->full_needed = true;
                                pending_clear(d);
                        } else if (ev->len > 0 && is_record_name(ev->name)) {
                                *relevant = true;
                                pending_add(d, ev->name);
                        }
                        p += sizeof(*ev) + ev->len;
                }
        }
}

const struct hc_store_ops hc_store_dir_ops = {
        .scheme = "dir",
        .backend_size = sizeof(struct dir_store),
        .open = dir_open,
        .close = dir_close,
        .publish = dir_publish,
        .unpublish = dir_unpublish,
        .publish_vcpu = dir_publish_vcpu,
        .load_vcpu = dir_load_vcpu,
        .refresh = dir_refresh,
        .watch_fd = dir_watch_fd,
        .watch_drain = dir_watch_drain,
};

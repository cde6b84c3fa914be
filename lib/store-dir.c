/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The directory store: one file per host, DIR/<host>.json, each a host
 * record written atomically (temp file + rename), so readers on this host or
 * on another one sharing the filesystem see whole records only.  A refresh
 * stats every *.json and re-reads only files whose identity (device, inode,
 * size, mtime, ctime) changed; inotify wakes the caller on local changes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

struct dir_entry {
        char *name;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime, ctime;
        struct hc_record *record; /* NULL: failure */
        char *error;
};

struct dir_store {
        char *dir;
        int inotify_fd;
        struct dir_entry *entries; /* sorted by name */
        size_t n_entries;
        const struct hc_record **records;
        struct hc_store_failure *failures;
        size_t n_failures;
};

static void entry_done(struct dir_entry *e)
{
        free(e->name);
        hc_record_free(e->record);
        free(e->error);
        *e = (struct dir_entry){0};
}

static void entries_free(struct dir_entry *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                entry_done(&v[i]);
        free(v);
}

static void view_clear(struct hc_store *s)
{
        struct dir_store *d = s->backend;

        free(d->records);
        for (size_t i = 0; i < d->n_failures; i++)
                hc_store_failure_done(&d->failures[i]);
        free(d->failures);
        d->records = NULL;
        d->failures = NULL;
        d->n_failures = 0;
        s->view.records = NULL;
        s->view.n_records = 0;
        s->view.failures = NULL;
        s->view.n_failures = 0;
}

static void dir_close(struct hc_store *s)
{
        struct dir_store *d = s->backend;

        if (!d)
                return;
        view_clear(s);
        entries_free(d->entries, d->n_entries);
        d->entries = NULL;
        d->n_entries = 0;
        if (d->inotify_fd >= 0)
                (void)close(d->inotify_fd);
        d->inotify_fd = -1;
        free(d->dir);
        d->dir = NULL;
}

static int dir_open(struct hc_store *s, const char *location, struct hc_error *err)
{
        struct dir_store *d = s->backend;
        struct stat st;

        d->inotify_fd = -1;
        if (location[0] != '/')
                return hc_error_set(err, EINVAL, "store dir:%s: expected an absolute path", location);
        if (mkdir(location, 0755) < 0 && errno != EEXIST)
                return hc_error_at(err, errno, location, 0, 0, "cannot create the store directory: %s",
                                   strerror(errno));
        if (stat(location, &st) < 0)
                return hc_error_at(err, errno, location, 0, 0, "%s", strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return hc_error_at(err, ENOTDIR, location, 0, 0, "not a directory");
        d->dir = strdup(location);
        if (!d->dir)
                return hc_error_set(err, ENOMEM, "out of memory");
        return 0;
}

static bool host_name_usable(const char *host)
{
        size_t n = strlen(host);

        return n > 0 && n <= 253 && host[0] != '.' && host[0] != '-' &&
               strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

static int dir_publish(struct hc_store *s, const struct hc_record *r, struct hc_error *err)
{
        struct dir_store *d = s->backend;
        _cleanup_free_ char *path = NULL;

        if (!r->host || !host_name_usable(r->host))
                return hc_error_set(err, EINVAL, "cannot publish a record whose host name is not a "
                                                 "DNS-like name");
        if (asprintf(&path, "%s/%s.json", d->dir, r->host) < 0) {
                path = NULL;
                return hc_error_set(err, ENOMEM, "out of memory");
        }
        return hc_record_save(r, path, err);
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
        return 0;
}

static bool is_record_name(const char *name)
{
        size_t n = strlen(name);

        return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static int cmp_entry_name(const void *a, const void *b)
{
        const struct dir_entry *x = a, *y = b;

        return strcmp(x->name, y->name);
}

static int cmp_record_host(const void *a, const void *b)
{
        const struct hc_record *const *x = a, *const *y = b;

        return strcmp((*x)->host, (*y)->host);
}

static struct dir_entry *find_entry(struct dir_entry *v, size_t n, const char *name)
{
        struct dir_entry key = {.name = (char *)name};

        return n ? bsearch(&key, v, n, sizeof(*v), cmp_entry_name) : NULL;
}

static bool same_file(const struct dir_entry *e, const struct stat *st)
{
        return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
               e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
               e->ctime.tv_sec == st->st_ctim.tv_sec && e->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static bool same_outcome(const struct dir_entry *a, const struct dir_entry *b)
{
        _cleanup_free_ char *x = NULL, *y = NULL;

        if (!a->record != !b->record)
                return false;
        if (!a->record)
                return strcmp(a->error, b->error) == 0;
        x = hc_record_to_string(a->record);
        y = hc_record_to_string(b->record);
        return x && y && strcmp(x, y) == 0;
}

/* Reads one file into e (name and stat already set). */
static int load_entry(struct dir_store *d, struct dir_entry *e)
{
        _cleanup_free_ char *path = NULL, *host = NULL;
        struct hc_error err = {0};
        struct hc_record *r = NULL;
        int k;

        if (asprintf(&path, "%s/%s", d->dir, e->name) < 0)
                return -ENOMEM;
        host = strndup(e->name, strlen(e->name) - 5);
        if (!host)
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
                e->error = strdup(hc_error_text(&err));
                return e->error ? 0 : -ENOMEM;
        }
        e->record = r;
        return 0;
}

static int rebuild_view(struct hc_store *s)
{
        struct dir_store *d = s->backend;
        size_t nr = 0, nf = 0;

        view_clear(s);
        d->records = calloc(d->n_entries + 1, sizeof(*d->records));
        d->failures = calloc(d->n_entries + 1, sizeof(*d->failures));
        if (!d->records || !d->failures)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_entries; i++) {
                struct dir_entry *e = &d->entries[i];
                struct hc_store_failure *f;

                if (e->record) {
                        d->records[nr++] = e->record;
                        continue;
                }
                f = &d->failures[nf++];
                f->name = strdup(e->name);
                f->host = strndup(e->name, strlen(e->name) - 5);
                f->error = strdup(e->error);
                d->n_failures = nf;
                if (!f->name || !f->host || !f->error)
                        return -ENOMEM;
        }
        qsort(d->records, nr, sizeof(*d->records), cmp_record_host);
        s->view.records = d->records;
        s->view.n_records = nr;
        s->view.failures = d->failures;
        s->view.n_failures = nf;
        return 0;
}

static int dir_refresh(struct hc_store *s, bool *changed, struct hc_error *err)
{
        struct dir_store *d = s->backend;
        struct dir_entry *next = NULL;
        size_t n = 0, cap = 0;
        bool moved = false;
        struct dirent *de;
        DIR *dir;
        int k = 0;

        *changed = false;
        dir = opendir(d->dir);
        if (!dir)
                return hc_error_at(err, errno, d->dir, 0, 0, "cannot read the store directory: %s",
                                   strerror(errno));
        while ((errno = 0, de = readdir(dir))) {
                struct stat st;
                struct dir_entry *old, *e;

                if (!is_record_name(de->d_name))
                        continue;
                if (fstatat(dirfd(dir), de->d_name, &st, 0) < 0)
                        continue; /* gone since readdir: the next refresh sees the delete */
                if (n == cap) {
                        struct dir_entry *grown;

                        cap = cap ? cap * 2 : 64;
                        grown = reallocarray(next, cap, sizeof(*next));
                        if (!grown) {
                                k = -ENOMEM;
                                break;
                        }
                        next = grown;
                }
                e = &next[n];
                *e = (struct dir_entry){0};
                e->name = strdup(de->d_name);
                if (!e->name) {
                        k = -ENOMEM;
                        break;
                }
                n++;
                e->dev = st.st_dev;
                e->ino = st.st_ino;
                e->size = st.st_size;
                e->mtime = st.st_mtim;
                e->ctime = st.st_ctim;
                old = find_entry(d->entries, d->n_entries, e->name);
                if (old && same_file(old, &st)) {
                        /* Unchanged: take the parsed result over. */
                        e->record = TAKE_PTR(old->record);
                        e->error = TAKE_PTR(old->error);
                        continue;
                }
                if (!S_ISREG(st.st_mode)) {
                        k = asprintf(&e->error, "%s/%s: not a regular file", d->dir, e->name) < 0
                                            ? -ENOMEM
                                            : 0;
                } else {
                        k = load_entry(d, e);
                }
                if (k < 0)
                        break;
                /* A rewrite with the same content is not a change. */
                if (!old || !(old->record || old->error) || !same_outcome(old, e))
                        moved = true;
        }
        if (k == 0 && errno != 0)
                k = -errno;
        (void)closedir(dir);
        if (k < 0) {
                /* Put back what we borrowed from the old entries: they stay the view. */
                for (size_t i = 0; i < n; i++) {
                        struct dir_entry *old = find_entry(d->entries, d->n_entries, next[i].name);
                        if (old && !old->record && !old->error) {
                                old->record = TAKE_PTR(next[i].record);
                                old->error = TAKE_PTR(next[i].error);
                        }
                }
                entries_free(next, n);
                return hc_error_at(err, -k, d->dir, 0, 0, "cannot refresh the store: %s", strerror(-k));
        }
        if (n > 0)
                qsort(next, n, sizeof(*next), cmp_entry_name);
        /* Entries that vanished. */
        for (size_t i = 0; i < d->n_entries && !moved; i++)
                if (!find_entry(next, n, d->entries[i].name))
                        moved = true;
        entries_free(d->entries, d->n_entries);
        d->entries = next;
        d->n_entries = n;
        k = rebuild_view(s);
        if (k < 0)
                return hc_error_set(err, ENOMEM, "out of memory");
        if (moved)
                s->view.serial++;
        *changed = moved;
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

                        if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
                                *relevant = true;
                        else if (ev->len > 0 && is_record_name(ev->name))
                                *relevant = true;
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
        .refresh = dir_refresh,
        .watch_fd = dir_watch_fd,
        .watch_drain = dir_watch_drain,
};

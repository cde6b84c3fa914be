/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fleet store front end: URL parsing, backend selection, view lookups. */
#include <errno.h>
#include <string.h>

#include "store.h"

static const struct hc_store_ops *const backends[] = {
        &hc_store_dir_ops,
};

void hc_store_failure_done(struct hc_store_failure *f)
{
        free(f->name);
        free(f->host);
        free(f->error);
        *f = (struct hc_store_failure){0};
}

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

int hc_store_unpublish(struct hc_store *s, const char *host, struct hc_error *err)
{
        assert(s && host);
        return s->ops->unpublish(s, host, err);
}

int hc_store_refresh(struct hc_store *s, bool *changed, struct hc_error *err)
{
        bool dummy;

        assert(s);
        return s->ops->refresh(s, changed ?: &dummy, err);
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

const struct hc_record *hc_store_find(const struct hc_store *s, const char *host)
{
        size_t lo = 0, hi = s->view.n_records;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(s->view.records[mid]->host, host);

                if (c == 0)
                        return s->view.records[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "strbuf.h"

void hc_buf_done(struct hc_buf *b)
{
        free(b->data);
        *b = (struct hc_buf){0};
}

static int reserve(struct hc_buf *b, size_t extra)
{
        size_t want, cap;
        char *p;

        if (extra > SIZE_MAX / 2 - b->len)
                return -ENOMEM;
        want = b->len + extra + 1;
        if (want <= b->cap)
                return 0;
        cap = b->cap ? b->cap : 256;
        while (cap < want)
                cap *= 2;
        p = realloc(b->data, cap);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->cap = cap;
        return 0;
}

int hc_buf_put(struct hc_buf *b, const void *data, size_t len)
{
        if (reserve(b, len) < 0)
                return -ENOMEM;
        memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
}

int hc_buf_printf(struct hc_buf *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        if (reserve(b, (size_t)n) < 0)
                return -ENOMEM;
        va_start(ap, fmt);
        (void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
        return 0;
}

int hc_buf_field(struct hc_buf *b, const char *tag, const char *s)
{
        int r;

        if (!s)
                return hc_buf_printf(b, "%s -\n", tag);
        r = hc_buf_printf(b, "%s %zu:", tag, strlen(s));
        if (r < 0)
                return r;
        r = hc_buf_put(b, s, strlen(s));
        if (r < 0)
                return r;
        return hc_buf_put(b, "\n", 1);
}

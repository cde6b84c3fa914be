/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "hc-error.h"

__attribute__((format(printf, 3, 0))) static void append_vformat(struct hc_error *e, size_t at,
                                                               const char *fmt, va_list ap)
{
        if (at >= sizeof(e->text))
                return;
        (void)vsnprintf(e->text + at, sizeof(e->text) - at, fmt, ap);
}

int hc_error_at(struct hc_error *e, int code, const char *file, unsigned line, unsigned column,
                const char *fmt, ...)
{
        va_list ap;
        int n;

        if (!e)
                return -code;
        if (line && column)
                n = snprintf(e->text, sizeof(e->text), "%s:%u:%u: ", file, line, column);
        else if (line)
                n = snprintf(e->text, sizeof(e->text), "%s:%u: ", file, line);
        else
                n = snprintf(e->text, sizeof(e->text), "%s: ", file);
        va_start(ap, fmt);
        append_vformat(e, n < 0 ? 0 : (size_t)n, fmt, ap);
        va_end(ap);
        return -code;
}

int hc_error_field(struct hc_error *e, int code, const char *file, const char *field,
                   const char *fmt, ...)
{
        va_list ap;
        int n;

        if (!e)
                return -code;
        n = snprintf(e->text, sizeof(e->text), "%s: %s: ", file, field);
        va_start(ap, fmt);
        append_vformat(e, n < 0 ? 0 : (size_t)n, fmt, ap);
        va_end(ap);
        return -code;
}

int hc_error_set(struct hc_error *e, int code, const char *fmt, ...)
{
        va_list ap;

        if (!e)
                return -code;
        va_start(ap, fmt);
        append_vformat(e, 0, fmt, ap);
        va_end(ap);
        return -code;
}

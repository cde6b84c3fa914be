/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A growable byte buffer for canonical serialisations (the inputs of a
 * baseline digest).  Functions return 0 or -ENOMEM; after a failure the
 * buffer stays valid and keeps what it had.
 */
#include <stddef.h>
#include <stdint.h>

#include "hc-macro.h"

struct hc_buf {
        char *data; /* NUL-terminated when non-NULL */
        size_t len, cap;
};

void hc_buf_done(struct hc_buf *b);
int hc_buf_put(struct hc_buf *b, const void *data, size_t len);
int hc_buf_printf(struct hc_buf *b, const char *fmt, ...) _printf_(2, 3);
/* "<tag> <len>:<bytes>\n": unambiguous whatever the bytes; s NULL gives "<tag> -\n". */
int hc_buf_field(struct hc_buf *b, const char *tag, const char *s);

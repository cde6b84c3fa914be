/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Input errors as the operator sees them: where (file, line, column or a
 * field path) and what was expected.  Library functions return -errno and
 * fill an hc_error; only the CLI and the daemon print or log it.
 */
#include <stdarg.h>

#include "hc-macro.h"

#define HC_ERROR_TEXT_MAX 1024

struct hc_error {
        char text[HC_ERROR_TEXT_MAX]; /* "file:line:col: message" or "file: field: message" */
};

/* Sets "file:line:column: message" (line/column 0 are left out). Returns -code. */
int hc_error_at(struct hc_error *e, int code, const char *file, unsigned line, unsigned column,
                const char *fmt, ...) _printf_(6, 7);

/* Sets "file: field: message". Returns -code. */
int hc_error_field(struct hc_error *e, int code, const char *file, const char *field,
                   const char *fmt, ...) _printf_(5, 6);

/* Sets "message" (no position). Returns -code. */
int hc_error_set(struct hc_error *e, int code, const char *fmt, ...) _printf_(3, 4);

static inline const char *hc_error_text(const struct hc_error *e)
{
        return e && e->text[0] ? e->text : "unknown error";
}

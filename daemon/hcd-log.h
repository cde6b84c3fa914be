/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * hypercalld's logging: one line per event with its cause.  Under systemd
 * (JOURNAL_STREAM or INVOCATION_ID set) entries go to the journal with
 * sd_journal_send(), structured: MESSAGE, PRIORITY, MESSAGE_ID and
 * HYPERCALL_* fields.  In the foreground they go to stderr as
 * "<level>: message [MESSAGE_ID=... HYPERCALL_POOL=...]", so tests can read them.
 */
#include <stdarg.h>
#include <syslog.h>

#include "hc-macro.h"

enum hcd_log_target {
        HCD_LOG_AUTO,
        HCD_LOG_JOURNAL,
        HCD_LOG_CONSOLE,
};

void hcd_log_set_target(enum hcd_log_target t);
void hcd_log_set_max_level(int priority);
int hcd_log_parse_target(const char *s, enum hcd_log_target *ret);

/*
 * Logs one entry.  mid: a MESSAGE_ID from message-ids.h or NULL; fields: a
 * NULL-terminated list of "HYPERCALL_POOL=web" strings (may be NULL).
 * Returns -abs(error) when error is not 0, else 0: `return hcd_log_errno(...)`.
 */
int hcd_log_full(int priority, int error, const char *mid, const char *const *fields,
                 const char *fmt, ...) _printf_(5, 6);

#define log_debug(...)   hcd_log_full(LOG_DEBUG, 0, NULL, NULL, __VA_ARGS__)
#define log_info(...)    hcd_log_full(LOG_INFO, 0, NULL, NULL, __VA_ARGS__)
#define log_notice(...)  hcd_log_full(LOG_NOTICE, 0, NULL, NULL, __VA_ARGS__)
#define log_warning(...) hcd_log_full(LOG_WARNING, 0, NULL, NULL, __VA_ARGS__)
#define log_error(...)   hcd_log_full(LOG_ERR, 0, NULL, NULL, __VA_ARGS__)
/* The message's %m is strerror(error). */
#define log_error_errno(e, ...)   hcd_log_full(LOG_ERR, (e), NULL, NULL, __VA_ARGS__)
#define log_warning_errno(e, ...) hcd_log_full(LOG_WARNING, (e), NULL, NULL, __VA_ARGS__)
#define log_oom()                 hcd_log_full(LOG_ERR, ENOMEM, NULL, NULL, "Out of memory.")

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "hcd-log.h"

#define MAX_FIELDS 16

static enum hcd_log_target target = HCD_LOG_AUTO;
static int max_level = LOG_INFO;

void hcd_log_set_target(enum hcd_log_target t)
{
        target = t;
}

void hcd_log_set_max_level(int priority)
{
        max_level = priority;
}

int hcd_log_parse_target(const char *s, enum hcd_log_target *ret)
{
        if (strcmp(s, "auto") == 0)
                *ret = HCD_LOG_AUTO;
        else if (strcmp(s, "journal") == 0)
                *ret = HCD_LOG_JOURNAL;
        else if (strcmp(s, "console") == 0)
                *ret = HCD_LOG_CONSOLE;
        else
                return -EINVAL;
        return 0;
}

static bool use_journal(void)
{
        if (target == HCD_LOG_AUTO)
                target = getenv("JOURNAL_STREAM") || getenv("INVOCATION_ID") ? HCD_LOG_JOURNAL
                                                                            : HCD_LOG_CONSOLE;
        return target == HCD_LOG_JOURNAL;
}

static const char *level_name(int priority)
{
        static const char *const names[] = {"emerg", "alert", "crit",  "error",
                                            "warning", "notice", "info", "debug"};

        return priority >= 0 && priority < 8 ? names[priority] : "info";
}

int hcd_log_full(int priority, int error, const char *mid, const char *const *fields,
                 const char *fmt, ...)
{
        int saved = errno, ret = error ? -abs(error) : 0;
        _cleanup_free_ char *msg = NULL, *m_field = NULL, *p_field = NULL, *id_field = NULL,
                           *e_field = NULL;
        struct iovec iov[MAX_FIELDS + 5];
        size_t n = 0;
        va_list ap;

        if (priority > max_level)
                return ret;
        errno = abs(error);
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        errno = saved;
        if (!msg)
                return ret;

        if (!use_journal()) {
                fprintf(stderr, "%s: %s", level_name(priority), msg);
                if (mid || (fields && fields[0])) {
                        const char *sep = "";
                        fputs(" [", stderr);
                        if (mid) {
                                fprintf(stderr, "MESSAGE_ID=%s", mid);
                                sep = " ";
                        }
                        for (size_t i = 0; fields && fields[i]; i++) {
                                fprintf(stderr, "%s%s", sep, fields[i]);
                                sep = " ";
                        }
                        fputc(']', stderr);
                }
                fputc('\n', stderr);
                fflush(stderr);
                return ret;
        }
        if (asprintf(&m_field, "MESSAGE=%s", msg) < 0 || asprintf(&p_field, "PRIORITY=%d", priority) < 0)
                return ret;
        iov[n++] = (struct iovec){m_field, strlen(m_field)};
        iov[n++] = (struct iovec){p_field, strlen(p_field)};
        if (mid && asprintf(&id_field, "MESSAGE_ID=%s", mid) >= 0)
                iov[n++] = (struct iovec){id_field, strlen(id_field)};
        if (error && asprintf(&e_field, "ERRNO=%d", abs(error)) >= 0)
                iov[n++] = (struct iovec){e_field, strlen(e_field)};
        iov[n++] = (struct iovec){(char *)"SYSLOG_IDENTIFIER=hypercalld", strlen("SYSLOG_IDENTIFIER=hypercalld")};
        for (size_t i = 0; fields && fields[i] && i < MAX_FIELDS; i++)
                iov[n++] = (struct iovec){(char *)fields[i], strlen(fields[i])};
        (void)sd_journal_sendv(iov, (int)n);
        return ret;
}

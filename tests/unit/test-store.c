/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fleet store is how each host learns what every other host can offer.
 * These tests prove, on the embedded directory backend, that a published
 * record is seen by the next refresh, that one bad file is reported as a
 * failure for its host without hiding the others (and never crashes the
 * reader), that a file must be named after its host, that a refresh with
 * nothing new reports no change (the daemon recomputes only on real
 * changes), and that inotify wakes the caller for records but not for the
 * temporary files of an atomic write.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "hc-test.h"
#include "store.h"

static char *tmpdir(void)
{
        char *d = strdup("/tmp/hc-store-XXXXXX");

        HC_ASSERT(d && mkdtemp(d), "mkdtemp: %s", strerror(errno));
        return d;
}

static void rmtree(const char *dir)
{
        char *cmd;

        HC_ASSERT(asprintf(&cmd, "rm -rf '%s'", dir) > 0, "oom");
        HC_ASSERT(system(cmd) == 0, "%s", cmd);
        free(cmd);
}

static struct hc_record *record_for(const char *host)
{
        struct hc_record *r = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_record_load(hc_test_data("records/web-01.json"), &r, &err) == 0, "%s", err.text);
        free(r->host);
        r->host = strdup(host);
        return r;
}

static void write_text(const char *dir, const char *name, const char *text)
{
        char path[512];
        struct hc_error err = {0};

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        HC_ASSERT(hc_write_file_atomic(path, text, strlen(text), 0644, &err) == 0, "%s", err.text);
}

HC_TEST(store__published_record_seen_by_refresh)
{
        _cleanup_free_ char *dir = tmpdir();
        _cleanup_(hc_store_freep) struct hc_store *s = NULL;
        _cleanup_(hc_record_freep) struct hc_record *a = record_for("web-02"), *b = record_for("web-01");
        struct hc_error err = {0};
        bool changed;

        HC_ASSERT(hc_store_open(dir, &s, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT(!changed && hc_store_view(s)->n_records == 0, "empty store");
        HC_ASSERT(hc_store_publish(s, a, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_publish(s, b, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT(changed, "two new records are a change");
        HC_ASSERT_INTEQ(hc_store_view(s)->n_records, 2);
        HC_ASSERT_STREQ(hc_store_view(s)->records[0]->host, "web-01");
        HC_ASSERT_STREQ(hc_store_view(s)->records[1]->host, "web-02");
        HC_ASSERT(hc_store_find(s, "web-02") != NULL, "find web-02");
        HC_ASSERT(hc_store_find(s, "web-03") == NULL, "no web-03");

        HC_ASSERT(hc_store_unpublish(s, "web-02", &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT(changed && hc_store_view(s)->n_records == 1, "web-02 gone");
        HC_ASSERT_INTEQ(hc_store_unpublish(s, "web-02", &err), -ENOENT);
        rmtree(dir);
}

HC_TEST(store__unchanged_refresh_reports_no_change)
{
        _cleanup_free_ char *dir = tmpdir();
        _cleanup_(hc_store_freep) struct hc_store *s = NULL;
        _cleanup_(hc_record_freep) struct hc_record *a = record_for("web-01");
        struct hc_error err = {0};
        uint64_t serial;
        bool changed;

        HC_ASSERT(hc_store_open(dir, &s, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_publish(s, a, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0 && changed, "%s", err.text);
        serial = hc_store_view(s)->serial;
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT(!changed, "nothing happened");
        /* Republishing the same record rewrites the file but changes nothing. */
        HC_ASSERT(hc_store_publish(s, a, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT(!changed, "same content is no change");
        HC_ASSERT_INTEQ(hc_store_view(s)->serial, serial);
        rmtree(dir);
}

HC_TEST(store__bad_file_is_a_failure_for_its_host_only)
{
        _cleanup_free_ char *dir = tmpdir();
        _cleanup_(hc_store_freep) struct hc_store *s = NULL;
        _cleanup_(hc_record_freep) struct hc_record *a = record_for("web-01");
        const struct hc_store_view *v;
        struct hc_error err = {0};
        char want[512];
        bool changed;

        HC_ASSERT(hc_store_open(dir, &s, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_publish(s, a, &err) == 0, "%s", err.text);
        write_text(dir, "web-03.json", "{\"schema\": \"hypercall.host/v1\",");
        write_text(dir, "notes.txt", "not a record, not looked at");
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        v = hc_store_view(s);
        HC_ASSERT_INTEQ(v->n_records, 1);
        HC_ASSERT_INTEQ(v->n_failures, 1);
        HC_ASSERT_STREQ(v->failures[0].host, "web-03");
        snprintf(want, sizeof(want), "%s/web-03.json:1:32: unexpected end of input: truncated JSON", dir);
        HC_ASSERT_STREQ(v->failures[0].error, want);
        rmtree(dir);
}

HC_TEST(store__file_must_be_named_after_its_host)
{
        _cleanup_free_ char *dir = tmpdir(), *text = NULL;
        _cleanup_(hc_store_freep) struct hc_store *s = NULL;
        _cleanup_(hc_record_freep) struct hc_record *a = record_for("web-01");
        const struct hc_store_view *v;
        struct hc_error err = {0};
        char want[512];
        bool changed;

        HC_ASSERT(hc_store_open(dir, &s, &err) == 0, "%s", err.text);
        text = hc_record_to_string(a);
        write_text(dir, "web-07.json", text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        v = hc_store_view(s);
        HC_ASSERT_INTEQ(v->n_records, 0);
        HC_ASSERT_INTEQ(v->n_failures, 1);
        snprintf(want, sizeof(want),
                 "%s/web-07.json: host: expected \"web-07\" (a store file is named after its host), "
                 "got \"web-01\"",
                 dir);
        HC_ASSERT_STREQ(v->failures[0].error, want);
        rmtree(dir);
}

HC_TEST(store__inotify_wakes_for_records_not_temp_files)
{
        _cleanup_free_ char *dir = tmpdir();
        _cleanup_(hc_store_freep) struct hc_store *s = NULL;
        _cleanup_(hc_record_freep) struct hc_record *a = record_for("web-01");
        struct hc_error err = {0};
        struct pollfd p;
        bool relevant;
        char path[512];
        int fd;

        HC_ASSERT(hc_store_open(dir, &s, &err) == 0, "%s", err.text);
        fd = hc_store_watch_fd(s);
        HC_ASSERT(fd >= 0, "watch_fd: %s", strerror(-fd));
        /* A stray temp file wakes the fd but is not relevant. */
        snprintf(path, sizeof(path), "%s/web-01.json.tmp.abcdef", dir);
        close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
        p = (struct pollfd){.fd = fd, .events = POLLIN};
        HC_ASSERT(poll(&p, 1, 2000) == 1, "no inotify event for a temp file");
        HC_ASSERT(hc_store_watch_drain(s, &relevant) == 0, "drain");
        HC_ASSERT(!relevant, "a temp file is not a record");
        unlink(path);
        (void)hc_store_watch_drain(s, &relevant);

        HC_ASSERT(hc_store_publish(s, a, &err) == 0, "%s", err.text);
        p = (struct pollfd){.fd = fd, .events = POLLIN};
        HC_ASSERT(poll(&p, 1, 2000) == 1, "no inotify event for a published record");
        HC_ASSERT(hc_store_watch_drain(s, &relevant) == 0, "drain");
        HC_ASSERT(relevant, "a published record is relevant");
        rmtree(dir);
}

HC_TEST(store__unknown_scheme_refused)
{
        struct hc_store *s = NULL;
        struct hc_error err = {0};

        HC_ASSERT_INTEQ(hc_store_open("etcd://10.0.0.1:2379", &s, &err), -EINVAL);
        HC_ASSERT(s == NULL, "nothing opened");
        HC_ASSERT_STREQ(err.text, "store \"etcd://10.0.0.1:2379\": expected \"dir:/path\" or an "
                                  "absolute path (known backends: dir)");
        HC_ASSERT_INTEQ(hc_store_open("dir:relative/path", &s, &err), -EINVAL);
        HC_ASSERT_STREQ(err.text, "store dir:relative/path: expected an absolute path");
}

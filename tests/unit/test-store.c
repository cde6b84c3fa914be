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
#include "vcpu-regs.h"

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
        _cleanup_free_ char *text_in = NULL, *text_out = NULL;
        struct hc_store_snapshot snap = {0};
        struct hc_store_record buf;
        struct hc_error err = {0};
        bool changed;

        HC_ASSERT(hc_store_open(dir, &s, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT(!changed && hc_store_count(s) == 0, "empty store");
        HC_ASSERT(hc_store_publish(s, a, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_publish(s, b, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT(changed, "two new records are a change");
        HC_ASSERT_INTEQ(hc_store_count(s), 2);
        HC_ASSERT(hc_store_snapshot(s, &snap) == 0, "snapshot");
        HC_ASSERT_INTEQ(snap.n, 2);
        HC_ASSERT_STREQ(snap.records[0]->host, "web-01");
        HC_ASSERT_STREQ(snap.records[1]->host, "web-02");
        /* What comes out is the record that went in, byte for byte. */
        text_in = hc_record_to_string(a);
        text_out = hc_record_to_string(snap.records[1]);
        HC_ASSERT_STREQ(text_out, text_in);
        hc_store_snapshot_done(&snap);
        HC_ASSERT(hc_store_lookup(s, "web-02", &buf), "find web-02");
        HC_ASSERT_STREQ(buf.rec.kernel, a->kernel);
        HC_ASSERT(!hc_store_lookup(s, "web-03", &buf), "no web-03");

        HC_ASSERT(hc_store_unpublish(s, "web-02", &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT(changed && hc_store_count(s) == 1, "web-02 gone");
        HC_ASSERT_INTEQ(hc_store_unpublish(s, "web-02", &err), -ENOENT);
        rmtree(dir);
}

/*
 * A host's vCPU register set is stored beside its record (DIR/vcpu/HOST.json),
 * where record scans never look, read back as it went in, and removed with
 * the record: a later record of the same name is another host.
 */
HC_TEST(store__vcpu_set_lives_beside_its_record_and_goes_with_it)
{
        _cleanup_free_ char *dir = tmpdir(), *path = NULL;
        _cleanup_free_ char *text = hc_test_read_data("vcpu/lab-6.1-max.json");
        _cleanup_(hc_store_freep) struct hc_store *s = NULL;
        _cleanup_(hc_record_freep) struct hc_record *a = record_for("lab-6.1-max");
        _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *v = NULL, *back = NULL;
        _cleanup_free_ char *again = NULL;
        struct hc_error err = {0};
        size_t n_failures;
        bool changed;

        HC_ASSERT(hc_vcpu_regs_parse(text, strlen(text), "v.json", &v, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_open(dir, &s, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_publish(s, a, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_publish_vcpu(s, v, &err) == 0, "%s", err.text);
        path = hc_vcpu_regs_path(dir, "lab-6.1-max");
        HC_ASSERT(path && access(path, F_OK) == 0, "no %s", path);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        (void)hc_store_failures(s, &n_failures);
        HC_ASSERT(hc_store_count(s) == 1 && n_failures == 0, "vcpu/ is neither a record nor a failure");
        HC_ASSERT(hc_store_load_vcpu(s, "lab-6.1-max", &back, &err) == 0 && back, "%s", err.text);
        again = hc_vcpu_regs_to_string(back);
        HC_ASSERT_STREQ(again, text);
        hc_vcpu_regs_free(TAKE_PTR(back));
        HC_ASSERT(hc_store_unpublish(s, "lab-6.1-max", &err) == 0, "%s", err.text);
        HC_ASSERT(access(path, F_OK) < 0 && errno == ENOENT, "the register set outlived its record");
        HC_ASSERT(hc_store_load_vcpu(s, "lab-6.1-max", &back, &err) == 0 && !back, "none after unpublish");
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
        serial = hc_store_serial(s);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT(!changed, "nothing happened");
        /* Republishing the same record rewrites the file but changes nothing. */
        HC_ASSERT(hc_store_publish(s, a, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT(!changed, "same content is no change");
        HC_ASSERT(hc_store_rescan(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT(!changed, "same content is no change on a full rescan either");
        HC_ASSERT_INTEQ(hc_store_serial(s), serial);
        rmtree(dir);
}

HC_TEST(store__bad_file_is_a_failure_for_its_host_only)
{
        _cleanup_free_ char *dir = tmpdir();
        _cleanup_(hc_store_freep) struct hc_store *s = NULL;
        _cleanup_(hc_record_freep) struct hc_record *a = record_for("web-01");
        const struct hc_store_failure *f;
        struct hc_error err = {0};
        char want[512];
        size_t n;
        bool changed;

        HC_ASSERT(hc_store_open(dir, &s, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_publish(s, a, &err) == 0, "%s", err.text);
        write_text(dir, "web-03.json", "{\"schema\": \"hypercall.host/v1\",");
        write_text(dir, "notes.txt", "not a record, not looked at");
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        f = hc_store_failures(s, &n);
        HC_ASSERT_INTEQ(hc_store_count(s), 1);
        HC_ASSERT_INTEQ(n, 1);
        HC_ASSERT_STREQ(f[0].host, "web-03");
        snprintf(want, sizeof(want), "%s/web-03.json:1:32: unexpected end of input: truncated JSON", dir);
        HC_ASSERT_STREQ(f[0].error, want);
        rmtree(dir);
}

HC_TEST(store__file_must_be_named_after_its_host)
{
        _cleanup_free_ char *dir = tmpdir(), *text = NULL;
        _cleanup_(hc_store_freep) struct hc_store *s = NULL;
        _cleanup_(hc_record_freep) struct hc_record *a = record_for("web-01");
        const struct hc_store_failure *f;
        struct hc_error err = {0};
        char want[512];
        size_t n;
        bool changed;

        HC_ASSERT(hc_store_open(dir, &s, &err) == 0, "%s", err.text);
        text = hc_record_to_string(a);
        write_text(dir, "web-07.json", text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        f = hc_store_failures(s, &n);
        HC_ASSERT_INTEQ(hc_store_count(s), 0);
        HC_ASSERT_INTEQ(n, 1);
        snprintf(want, sizeof(want),
                 "%s/web-07.json: host: expected \"web-07\" (a store file is named after its host), "
                 "got \"web-01\"",
                 dir);
        HC_ASSERT_STREQ(f[0].error, want);
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

HC_TEST(store__watch_driven_refresh_sees_only_reported_changes)
{
        _cleanup_free_ char *dir = tmpdir();
        _cleanup_(hc_store_freep) struct hc_store *s = NULL;
        _cleanup_(hc_record_freep) struct hc_record *a = record_for("web-01"), *b = record_for("web-02");
        _cleanup_free_ char *text = NULL;
        struct hc_store_record buf;
        struct hc_error err = {0};
        struct pollfd p;
        bool changed, relevant;
        int fd;

        HC_ASSERT(hc_store_open(dir, &s, &err) == 0, "%s", err.text);
        fd = hc_store_watch_fd(s);
        HC_ASSERT(fd >= 0, "watch_fd");
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text); /* first: full */
        HC_ASSERT(hc_store_publish(s, a, &err) == 0, "%s", err.text);
        p = (struct pollfd){.fd = fd, .events = POLLIN};
        HC_ASSERT(poll(&p, 1, 2000) == 1, "no event");
        HC_ASSERT(hc_store_watch_drain(s, &relevant) == 0 && relevant, "relevant");
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0 && changed, "%s", err.text);
        HC_ASSERT(hc_store_lookup(s, "web-01", &buf), "web-01 seen through the watch");
        /* Another writer's change the watch did not report yet (no drain) waits for a full rescan. */
        text = hc_record_to_string(b);
        write_text(dir, "web-02.json", text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT(!changed && !hc_store_lookup(s, "web-02", &buf), "incremental refresh stats only reported names");
        HC_ASSERT(hc_store_rescan(s, &changed, &err) == 0 && changed, "%s", err.text);
        HC_ASSERT(hc_store_lookup(s, "web-02", &buf), "web-02 seen by the rescan");
        /* Another writer's deletion, reported by the watch. */
        (void)hc_store_watch_drain(s, &relevant);
        {
                char path[512];
                snprintf(path, sizeof(path), "%s/web-01.json", dir);
                HC_ASSERT(unlink(path) == 0, "unlink");
        }
        p = (struct pollfd){.fd = fd, .events = POLLIN};
        HC_ASSERT(poll(&p, 1, 2000) == 1, "no event");
        HC_ASSERT(hc_store_watch_drain(s, &relevant) == 0 && relevant, "relevant");
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0 && changed, "%s", err.text);
        HC_ASSERT(!hc_store_lookup(s, "web-01", &buf) && hc_store_count(s) == 1, "web-01 gone");
        rmtree(dir);
}

HC_TEST(store__hosts_of_one_kernel_share_one_class)
{
        _cleanup_free_ char *dir = tmpdir();
        _cleanup_(hc_store_freep) struct hc_store *s = NULL;
        struct hc_error err = {0};
        bool changed;
        int std = hc_catalog_find("STD_BMAP");

        HC_ASSERT(hc_store_open(dir, &s, &err) == 0, "%s", err.text);
        for (int i = 0; i < 50; i++) {
                _cleanup_(hc_record_freep) struct hc_record *r = NULL;
                char host[32];

                snprintf(host, sizeof(host), "web-%02d", i);
                r = record_for(host);
                if (i % 10 == 0)
                        r->regs[std].value = 0; /* an older kernel: a second class */
                HC_ASSERT(hc_record_set_probed_at(r, 1795514400 + i) == 0, "probed_at");
                HC_ASSERT(hc_store_publish(s, r, &err) == 0, "%s", err.text);
        }
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        HC_ASSERT_INTEQ(hc_store_count(s), 50);
        HC_ASSERT_INTEQ(s->cache.n_classes, 2);
        {
                struct hc_store_record buf;
                HC_ASSERT(hc_store_lookup(s, "web-07", &buf), "web-07");
                HC_ASSERT_STREQ(buf.rec.probed_at, "2026-11-24T10:00:07Z");
                HC_ASSERT(buf.rec.regs[std].value == 1, "web-07 offers trng");
                HC_ASSERT(hc_store_lookup(s, "web-10", &buf) && buf.rec.regs[std].value == 0, "web-10 lacks it");
        }
        /* Every web-x0 host gone: its class goes with it. */
        for (int i = 0; i < 50; i += 10) {
                char host[32];
                snprintf(host, sizeof(host), "web-%02d", i);
                HC_ASSERT(hc_store_unpublish(s, host, &err) == 0, "%s", err.text);
        }
        HC_ASSERT(hc_store_rescan(s, &changed, &err) == 0 && changed, "%s", err.text);
        HC_ASSERT_INTEQ(hc_store_count(s), 45);
        HC_ASSERT_INTEQ(s->cache.n_classes, 1);
        rmtree(dir);
}

HC_TEST(store__own_publish_seen_by_next_refresh)
{
        _cleanup_free_ char *dir = tmpdir();
        _cleanup_(hc_store_freep) struct hc_store *s = NULL;
        _cleanup_(hc_record_freep) struct hc_record *a = record_for("web-01");
        struct hc_store_record buf;
        struct hc_error err = {0};
        bool changed;

        HC_ASSERT(hc_store_open(dir, &s, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_watch_fd(s) >= 0, "watch_fd");
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0, "%s", err.text);
        /* No drain: the store knows what it wrote itself. */
        HC_ASSERT(hc_store_publish(s, a, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0 && changed, "%s", err.text);
        HC_ASSERT(hc_store_lookup(s, "web-01", &buf), "own publish seen");
        HC_ASSERT(hc_store_unpublish(s, "web-01", &err) == 0, "%s", err.text);
        HC_ASSERT(hc_store_refresh(s, &changed, &err) == 0 && changed, "%s", err.text);
        HC_ASSERT(!hc_store_lookup(s, "web-01", &buf), "own unpublish seen");
        rmtree(dir);
}

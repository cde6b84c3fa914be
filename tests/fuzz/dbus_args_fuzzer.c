/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The strings an unprivileged D-Bus caller hands hypercalld's read-only
 * methods go straight into lib/: whatever they are, the lib functions the
 * method handlers call answer or refuse, never crash, leak or print raw
 * control bytes.  The first input byte picks the method, the rest is split
 * at NUL bytes into its string arguments (sd-bus gives the handler
 * NUL-terminated strings; its UTF-8 check is not relied on here):
 *
 *   0  Explain(pool, subject)       hc_baseline_compute(pool) + hc_explain(subject)
 *   1  CheckMigration(pool, from, to)
 *                                   hc_store_lookup(from, to) on a real directory
 *                                   store + hc_migration_check + hc_migration_to_json
 *   2  GetPoolBaseline(pool)        hc_baseline_file_find on the daemon's baseline file
 *
 * The fixed side (a three-host fleet published to a store in a temporary
 * directory, two pool policies, the baseline file) is built once, exactly as
 * the daemon builds it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baseline-file.h"
#include "baseline.h"
#include "explain.h"
#include "fuzz-fleet.h"
#include "migration.h"
#include "policy.h"
#include "record.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const policy_yaml[] = { /* sorted by pool, as the daemon loads them */
        "schema: hypercall.policy/v1\npool: db\nmembers:\n  include: [\"db-*\"]\npsci:\n  max: \"1.1\"\n",
        "schema: hypercall.policy/v1\npool: web\nmembers:\n  include: [\"web-*\"]\n"
        "legacy_hosts: exclude\nservices:\n  trng: auto\n  ptp: auto\n",
};

static struct {
        bool ready;
        char dir[64];
        struct hc_store *store;
        struct hc_policy_set policies;
        struct hc_baseline_file *file;
} fx;

static void fixture_done(void)
{
        char path[128];

        for (size_t i = 0; i < FUZZ_FLEET_N; i++) {
                static const char *const hosts[] = {"web-01", "web-02", "db-01"};
                snprintf(path, sizeof(path), "%s/%s.json", fx.dir, hosts[i]);
                (void)unlink(path);
        }
        (void)rmdir(fx.dir);
        hc_store_free(fx.store);
        hc_policy_set_done(&fx.policies);
        hc_baseline_file_free(fx.file);
}

/* The fixture itself must be valid: say why it is not. */
__attribute__((noreturn)) static void fixture_broken(const char *what, const struct hc_error *err)
{
        fprintf(stderr, "dbus_args fuzzer fixture: %s: %s\n", what, err ? err->text : "");
        abort();
}

static void fixture(void)
{
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        struct hc_store_snapshot snap = {0};
        struct hc_error err = {0};
        json_object *doc;
        bool changed;

        if (fx.ready)
                return;
        snprintf(fx.dir, sizeof(fx.dir), "/tmp/hc-fuzz-dbus.XXXXXX");
        if (!mkdtemp(fx.dir) || hc_store_open(fx.dir, &fx.store, &err) < 0)
                fixture_broken("store", &err);
        for (size_t i = 0; i < FUZZ_FLEET_N; i++) {
                _cleanup_(hc_record_freep) struct hc_record *r = fuzz_fleet_record(i);

                if (hc_store_publish(fx.store, r, &err) < 0)
                        fixture_broken("record", &err);
        }
        if (hc_store_rescan(fx.store, &changed, &err) < 0 || hc_store_count(fx.store) != 3)
                fixture_broken("rescan", &err);
        for (size_t i = 0; i < sizeof(policy_yaml) / sizeof(policy_yaml[0]); i++) {
                struct hc_policy *p = NULL;

                if (hc_policy_parse(policy_yaml[i], strlen(policy_yaml[i]), "fixture.yaml", &p, &err) < 0 ||
                    hc_policy_set_add(&fx.policies, p, &err) < 0)
                        fixture_broken("policy", &err);
        }
        if (hc_store_snapshot(fx.store, &snap) < 0 ||
            hc_baseline_compute(snap.records, snap.n, &fx.policies, NULL, FUZZ_NOW, &b, &err) < 0)
                fixture_broken("baseline", &err);
        doc = hc_baseline_to_json(b);
        if (!doc || hc_baseline_file_update(NULL, doc, NULL, 0, FUZZ_NOW, &fx.file, NULL, &err) < 0)
                fixture_broken("baseline file", &err);
        json_object_put(doc);
        hc_store_snapshot_done(&snap);
        fx.ready = true;
        atexit(fixture_done);
}

/* A json-c document must serialise: that is what the daemon sends back. */
static void must_serialise(json_object *doc)
{
        const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!s)
                __builtin_trap();
        for (; *s; s++)
                if ((unsigned char)*s < 0x20)
                        __builtin_trap(); /* control bytes are escaped, never sent raw */
}

static void explain(const char *pool, const char *subject)
{
        _cleanup_(hc_store_snapshot_done) struct hc_store_snapshot snap = {0};
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        struct hc_error err = {0};
        int r;

        if (!hc_policy_set_find(&fx.policies, pool))
                return; /* the daemon answers NoSuchPool before computing */
        if (hc_store_snapshot(fx.store, &snap) < 0 ||
            hc_baseline_compute(snap.records, snap.n, &fx.policies, pool, FUZZ_NOW, &b, &err) < 0)
                __builtin_trap();
        r = hc_explain(hc_baseline_find(b, pool), subject, &doc, &err);
        if (r < 0) {
                if (err.text[0] == '\0')
                        __builtin_trap(); /* UnknownSubject says what would be known */
                return;
        }
        must_serialise(doc);
}

static void check_migration(const char *pool, const char *from_host, const char *to_host)
{
        _cleanup_(hc_store_snapshot_done) struct hc_store_snapshot snap = {0};
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        struct hc_store_record from_buf, to_buf;
        struct hc_migration mig = {0};
        struct hc_error err = {0};
        bool has_from, has_to;

        has_from = hc_store_lookup(fx.store, from_host, &from_buf);
        has_to = hc_store_lookup(fx.store, to_host, &to_buf);
        if (has_from && strcmp(from_buf.rec.host, from_host) != 0)
                __builtin_trap(); /* a lookup finds that host or none */
        if (!has_from || !has_to || !hc_policy_set_find(&fx.policies, pool))
                return;
        if (hc_store_snapshot(fx.store, &snap) < 0 ||
            hc_baseline_compute(snap.records, snap.n, &fx.policies, pool, FUZZ_NOW, &b, &err) < 0 ||
            hc_migration_check(hc_baseline_find(b, pool), &from_buf.rec, &to_buf.rec, &mig) < 0)
                __builtin_trap();
        doc = hc_migration_to_json(pool, from_host, to_host, &mig);
        if (!doc)
                __builtin_trap();
        must_serialise(doc);
        hc_migration_done(&mig);
}

static void get_pool_baseline(const char *pool)
{
        const struct hc_baseline_pool *p = hc_baseline_file_find(fx.file, pool);

        if (!p)
                return;
        if (strcmp(p->pool, pool) != 0)
                __builtin_trap();
        must_serialise(p->json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *arg[3] = {"", "", ""};
        _cleanup_free_ char *copy = NULL;
        size_t n = 0;

        if (size == 0)
                return 0;
        fixture();
        copy = malloc(size);
        if (!copy)
                return 0;
        /* Arguments after the method byte, NUL-separated; the last one ends at the input's end. */
        memcpy(copy, data + 1, size - 1);
        copy[size - 1] = '\0';
        for (char *p = copy; n < 3 && p <= copy + size - 1;) {
                arg[n++] = p;
                p += strlen(p) + 1;
        }
        switch (data[0] % 3) {
        case 0:
                explain(arg[0], arg[1]);
                break;
        case 1:
                check_migration(arg[0], arg[1], arg[2]);
                break;
        default:
                get_pool_baseline(arg[0]);
                break;
        }
        return 0;
}

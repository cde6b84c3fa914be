/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "baseline-file.h"
#include "fileio.h"
#include "jsonutil.h"
#include "record.h"
#include "sha256.h"

#define MAX_DEPTH 16

/* Whether we read the daemon's file (generations required) or a fresh computation. */
enum parse_mode {
        MODE_FILE,
        MODE_COMPUTED,
};

struct hc_baseline_file *hc_baseline_file_free(struct hc_baseline_file *f)
{
        if (!f)
                return NULL;
        free(f->pools);
        json_object_put(f->doc);
        free(f);
        return NULL;
}

void hc_baseline_changes_done(struct hc_baseline_changes *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n_changed; i++)
                free(c->changed[i]);
        for (size_t i = 0; i < c->n_kept; i++)
                free(c->kept[i]);
        for (size_t i = 0; i < c->n_refused; i++)
                free(c->refused[i]);
        free(c->changed);
        free(c->kept);
        free(c->refused);
        *c = (struct hc_baseline_changes){0};
}

static bool pushed(const struct hc_register *reg)
{
        return reg->kind != HC_KIND_WORKAROUND;
}

void hc_baseline_pool_digest(const char *pool, enum hc_pool_status status,
                             const struct hc_pool_reg regs[HC_REG_MAX], char out[HC_DIGEST_MAX])
{
        struct hc_sha256 ctx;
        uint8_t d[HC_SHA256_DIGEST_SIZE];
        char hex[HC_SHA256_HEX_MAX], line[128];
        int n;

        /* "hypercall.pool-values/v1\npool <len>:<name>\nstatus ok\nREG 0x..|-\n..." */
        hc_sha256_init(&ctx);
        n = snprintf(line, sizeof(line), "hypercall.pool-values/v1\npool %zu:", strlen(pool));
        hc_sha256_update(&ctx, line, (size_t)n);
        hc_sha256_update(&ctx, pool, strlen(pool));
        n = snprintf(line, sizeof(line), "\nstatus %s\n", status == HC_POOL_OK ? "ok" : "refused");
        hc_sha256_update(&ctx, line, (size_t)n);
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_register *reg = hc_catalog_get(i);

                if (!pushed(reg))
                        continue;
                if (status == HC_POOL_OK && regs[i].present)
                        n = snprintf(line, sizeof(line), "%s 0x%" PRIx64 "\n", reg->name, regs[i].value);
                else
                        n = snprintf(line, sizeof(line), "%s -\n", reg->name);
                hc_sha256_update(&ctx, line, (size_t)n);
        }
        hc_sha256_final(&ctx, d);
        snprintf(out, HC_DIGEST_MAX, "sha256:%s", hc_sha256_hex(d, hex));
}

static bool digest_valid(const char *s)
{
        return strlen(s) == 7 + 64 && strncmp(s, "sha256:", 7) == 0 &&
               strspn(s + 7, "0123456789abcdef") == 64;
}

/* Non-negative JSON integer as uint64. */
static int get_uint64(json_object *o, const char *key, uint64_t *ret, const char *origin,
                      const char *field, struct hc_error *err)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return hc_error_field(err, EINVAL, origin, field, "%s: missing", key);
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                return hc_error_field(err, EINVAL, origin, field,
                                      "%s: expected a non-negative integer, got %s", key,
                                      json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        *ret = json_object_get_uint64(v);
        return 0;
}

static int check_string_array(json_object *o, const char *key, bool required, const char *origin,
                              const char *field, struct hc_error *err)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v)) {
                if (required)
                        return hc_error_field(err, EINVAL, origin, field, "%s: missing", key);
                return 0;
        }
        if (!json_object_is_type(v, json_type_array))
                return hc_error_field(err, EINVAL, origin, field,
                                      "%s: expected an array of strings", key);
        for (size_t i = 0; i < json_object_array_length(v); i++)
                if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
                        return hc_error_field(err, EINVAL, origin, field,
                                              "%s[%zu]: expected a string", key, i);
        return 0;
}

static int parse_registers(json_object *regs, struct hc_pool_reg out[HC_REG_MAX],
                           const char *origin, const char *field, struct hc_error *err)
{
        if (!json_object_is_type(regs, json_type_object))
                return hc_error_field(err, EINVAL, origin, field,
                                      "registers: expected an object of register name to hex value");
        json_object_object_foreach(regs, name, val)
        {
                const struct hc_register *reg;
                char why[128];
                uint64_t v;
                int i = hc_catalog_find(name);

                if (i < 0)
                        return hc_error_field(err, EINVAL, origin, field,
                                              "registers: unknown register \"%s\"", name);
                reg = hc_catalog_get((size_t)i);
                if (!pushed(reg))
                        return hc_error_field(err, EINVAL, origin, field,
                                              "registers: %s is a workaround level, never pushed "
                                              "(expected under workaround_floors)", name);
                if (!json_object_is_type(val, json_type_string) ||
                    hc_parse_hex(json_object_get_string(val), &v) < 0)
                        return hc_error_field(err, EINVAL, origin, field,
                                              "registers.%s: expected a hex string like \"0x1\", got %s",
                                              name,
                                              json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN));
                if (!hc_value_valid(reg, v, why, sizeof(why)))
                        return hc_error_field(err, EINVAL, origin, field, "registers.%s: %s, got %s",
                                              name, why, json_object_get_string(val));
                out[i].present = true;
                out[i].value = v;
        }
        return 0;
}

static int check_floors(json_object *pool, const char *origin, const char *field,
                        struct hc_error *err)
{
        json_object *floors;

        if (!json_object_object_get_ex(pool, "workaround_floors", &floors))
                return 0;
        if (!json_object_is_type(floors, json_type_object))
                return hc_error_field(err, EINVAL, origin, field,
                                      "workaround_floors: expected an object");
        json_object_object_foreach(floors, name, val)
        {
                int i = hc_catalog_find(name);
                char why[128];
                uint64_t v;

                if (i < 0 || hc_catalog_get((size_t)i)->kind != HC_KIND_WORKAROUND)
                        return hc_error_field(err, EINVAL, origin, field,
                                              "workaround_floors: \"%s\" is not a workaround register",
                                              name);
                if (!json_object_is_type(val, json_type_string) ||
                    hc_parse_hex(json_object_get_string(val), &v) < 0 ||
                    !hc_value_valid(hc_catalog_get((size_t)i), v, why, sizeof(why)))
                        return hc_error_field(err, EINVAL, origin, field,
                                              "workaround_floors.%s: expected a valid hex level, got %s",
                                              name,
                                              json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN));
        }
        return 0;
}

static int check_services(json_object *pool, const char *origin, const char *field,
                          struct hc_error *err)
{
        json_object *svcs, *exposed;

        if (!json_object_object_get_ex(pool, "services", &svcs))
                return 0;
        if (!json_object_is_type(svcs, json_type_object))
                return hc_error_field(err, EINVAL, origin, field, "services: expected an object");
        json_object_object_foreach(svcs, name, val)
        {
                if (hc_service_find(name) < 0)
                        return hc_error_field(err, EINVAL, origin, field,
                                              "services: unknown service \"%s\"", name);
                if (!json_object_is_type(val, json_type_object) ||
                    !json_object_object_get_ex(val, "exposed", &exposed) ||
                    !json_object_is_type(exposed, json_type_boolean))
                        return hc_error_field(err, EINVAL, origin, field,
                                              "services.%s: expected an object with \"exposed\": true|false",
                                              name);
        }
        return 0;
}

/* errors and warnings: arrays of {"code", "message", ...} objects (or, for warnings, strings). */
static int check_messages(json_object *pool, const char *key, bool required, const char *origin,
                          const char *field, struct hc_error *err)
{
        json_object *arr;

        if (!json_object_object_get_ex(pool, key, &arr)) {
                if (required)
                        return hc_error_field(err, EINVAL, origin, field, "%s: missing", key);
                return 0;
        }
        if (!json_object_is_type(arr, json_type_array))
                return hc_error_field(err, EINVAL, origin, field, "%s: expected an array", key);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *m = json_object_array_get_idx(arr, i), *msg;

                if (json_object_is_type(m, json_type_string))
                        continue;
                if (!json_object_is_type(m, json_type_object) ||
                    !json_object_object_get_ex(m, "message", &msg) ||
                    !json_object_is_type(msg, json_type_string))
                        return hc_error_field(err, EINVAL, origin, field,
                                              "%s[%zu]: expected an object with a \"message\" string",
                                              key, i);
        }
        return 0;
}

static int parse_kept(json_object *pool, struct hc_baseline_pool *p, const char *origin,
                      const char *field, struct hc_error *err)
{
        static const char *const keys[] = {"reason", "since"};
        json_object *lkg, *since;

        if (!json_object_object_get_ex(pool, "last_known_good", &lkg))
                return 0;
        if (!json_object_is_type(lkg, json_type_object))
                return hc_error_field(err, EINVAL, origin, field,
                                      "last_known_good: expected an object {\"reason\", \"since\"}");
        if (hc_json_check_keys(lkg, keys, ELEMENTSOF(keys), origin, field, err) < 0)
                return -EINVAL;
        if (hc_json_get_string(lkg, "reason", false, &p->kept_reason, origin, err) < 0)
                return hc_error_field(err, EINVAL, origin, field,
                                      "last_known_good.reason: expected a string");
        if (!json_object_object_get_ex(lkg, "since", &since) ||
            !json_object_is_type(since, json_type_string) ||
            hc_parse_utc_time(json_object_get_string(since), NULL) < 0)
                return hc_error_field(err, EINVAL, origin, field,
                                      "last_known_good.since: expected UTC time like "
                                      "\"2026-11-24T10:00:00Z\"");
        return 0;
}

static int parse_pool(json_object *pool, size_t index, enum parse_mode mode, uint64_t top_gen,
                      struct hc_baseline_pool *p, const char *origin, struct hc_error *err)
{
        static const char *const keys[] = {"pool",     "status",   "hosts",     "excluded",
                                           "registers", "services", "workaround_floors",
                                           "errors",   "warnings", "generation", "digest",
                                           "last_known_good"};
        json_object *regs, *errors;
        const char *status, *digest = NULL;
        char field[64], want[HC_DIGEST_MAX];
        bool has_regs;

        snprintf(field, sizeof(field), "pools[%zu]", index);
        if (!json_object_is_type(pool, json_type_object))
                return hc_error_field(err, EINVAL, origin, field, "expected an object");
        if (hc_json_check_keys(pool, keys, ELEMENTSOF(keys), origin, field, err) < 0)
                return -EINVAL;
        if (hc_json_get_string(pool, "pool", false, &p->pool, origin, err) < 0 || !p->pool || !p->pool[0])
                return hc_error_field(err, EINVAL, origin, field,
                                      "pool: expected a non-empty pool name");
        snprintf(field, sizeof(field), "pools[%zu] (%s)", index, p->pool);
        if (hc_json_get_string(pool, "status", false, &status, origin, err) < 0)
                return hc_error_field(err, EINVAL, origin, field, "status: expected \"ok\" or \"refused\"");
        if (strcmp(status, "ok") == 0)
                p->status = HC_POOL_OK;
        else if (strcmp(status, "refused") == 0)
                p->status = HC_POOL_REFUSED;
        else
                return hc_error_field(err, EINVAL, origin, field,
                                      "status: expected \"ok\" or \"refused\", got \"%s\"", status);

        has_regs = json_object_object_get_ex(pool, "registers", &regs);
        if (p->status == HC_POOL_OK && !has_regs)
                return hc_error_field(err, EINVAL, origin, field, "registers: missing for an ok pool");
        if (p->status == HC_POOL_REFUSED && has_regs)
                return hc_error_field(err, EINVAL, origin, field,
                                      "registers: a refused pool has no registers");
        if (has_regs && parse_registers(regs, p->regs, origin, field, err) < 0)
                return -EINVAL;
        if (check_string_array(pool, "hosts", false, origin, field, err) < 0 ||
            check_string_array(pool, "excluded", false, origin, field, err) < 0 ||
            check_services(pool, origin, field, err) < 0 || check_floors(pool, origin, field, err) < 0 ||
            check_messages(pool, "errors", p->status == HC_POOL_REFUSED, origin, field, err) < 0 ||
            check_messages(pool, "warnings", false, origin, field, err) < 0)
                return -EINVAL;
        if (p->status == HC_POOL_REFUSED &&
            (!json_object_object_get_ex(pool, "errors", &errors) || json_object_array_length(errors) == 0))
                return hc_error_field(err, EINVAL, origin, field,
                                      "errors: a refused pool names at least one error");

        hc_baseline_pool_digest(p->pool, p->status, p->regs, want);
        memcpy(p->digest, want, sizeof(want));
        p->json = pool;
        if (mode == MODE_COMPUTED)
                return 0; /* generation, digest and last_known_good are ours to add */

        if (get_uint64(pool, "generation", &p->generation, origin, field, err) < 0)
                return -EINVAL;
        if (p->generation == 0 || p->generation > top_gen)
                return hc_error_field(err, EINVAL, origin, field,
                                      "generation: expected 1 to the file's generation %" PRIu64
                                      ", got %" PRIu64, top_gen, p->generation);
        if (hc_json_get_string(pool, "digest", false, &digest, origin, err) < 0 || !digest_valid(digest))
                return hc_error_field(err, EINVAL, origin, field,
                                      "digest: expected \"sha256:\" and 64 lowercase hex digits");
        if (strcmp(digest, want) != 0)
                return hc_error_field(err, EINVAL, origin, field,
                                      "digest: %s does not match the pool's values (%s): edited by hand?",
                                      digest, want);
        return parse_kept(pool, p, origin, field, err);
}

/* Validates doc (owned) and builds the file object around it. */
static int from_document(json_object *doc, const char *origin, enum parse_mode mode,
                         struct hc_baseline_file **ret, struct hc_error *err)
{
        static const char *const keys[] = {"schema", "digest", "generation", "pools", "unassigned"};
        _cleanup_(json_object_putp) json_object *owned = doc;
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        json_object *pools;
        const char *schema;
        size_t n;

        if (!json_object_is_type(doc, json_type_object))
                return hc_error_at(err, EINVAL, origin, 0, 0, "expected a JSON object");
        if (hc_json_check_keys(doc, keys, ELEMENTSOF(keys), origin, NULL, err) < 0)
                return -EINVAL;
        if (hc_json_get_string(doc, "schema", false, &schema, origin, err) < 0)
                return -EINVAL;
        if (strcmp(schema, HC_BASELINE_FILE_SCHEMA) != 0)
                return hc_error_field(err, EINVAL, origin, "schema", "expected \"%s\", got \"%s\"",
                                      HC_BASELINE_FILE_SCHEMA, schema);
        f = calloc(1, sizeof(*f));
        if (!f)
                return hc_error_at(err, ENOMEM, origin, 0, 0, "out of memory");
        if (hc_json_get_string(doc, "digest", false, &f->digest, origin, err) < 0)
                return -EINVAL;
        if (!digest_valid(f->digest))
                return hc_error_field(err, EINVAL, origin, "digest",
                                      "expected \"sha256:\" and 64 lowercase hex digits, got \"%s\"",
                                      f->digest);
        if (mode == MODE_FILE) {
                if (get_uint64(doc, "generation", &f->generation, origin, "generation", err) < 0)
                        return -EINVAL;
                if (f->generation == 0)
                        return hc_error_field(err, EINVAL, origin, "generation",
                                              "expected 1 or more, got 0");
        } else if (json_object_object_get_ex(doc, "generation", NULL)) {
                return hc_error_field(err, EINVAL, origin, "generation",
                                      "a computed baseline has no generation");
        }
        if (check_string_array(doc, "unassigned", false, origin, "unassigned", err) < 0)
                return -EINVAL;
        if (!json_object_object_get_ex(doc, "pools", &pools) ||
            !json_object_is_type(pools, json_type_array))
                return hc_error_field(err, EINVAL, origin, "pools", "expected an array of pools");
        n = json_object_array_length(pools);
        f->pools = calloc(n ? n : 1, sizeof(*f->pools));
        if (!f->pools)
                return hc_error_at(err, ENOMEM, origin, 0, 0, "out of memory");
        for (size_t i = 0; i < n; i++) {
                int k = parse_pool(json_object_array_get_idx(pools, i), i, mode, f->generation,
                                   &f->pools[i], origin, err);
                if (k < 0)
                        return k;
                if (i > 0 && strcmp(f->pools[i - 1].pool, f->pools[i].pool) >= 0)
                        return hc_error_field(err, EINVAL, origin, "pools",
                                              "expected pools sorted by name with no duplicates; "
                                              "\"%s\" follows \"%s\"",
                                              f->pools[i].pool, f->pools[i - 1].pool);
                f->n_pools++;
        }
        f->doc = TAKE_PTR(owned);
        *ret = TAKE_PTR(f);
        return 0;
}

int hc_baseline_file_parse(const char *text, size_t len, const char *origin,
                           struct hc_baseline_file **ret, struct hc_error *err)
{
        json_object *doc = NULL;
        int k;

        assert(text);
        assert(ret);
        k = hc_json_parse(text, len, MAX_DEPTH, origin, &doc, err);
        if (k < 0)
                return k;
        return from_document(doc, origin, MODE_FILE, ret, err);
}

int hc_baseline_file_load(const char *path, struct hc_baseline_file **ret, struct hc_error *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int k;

        path = path ?: HC_BASELINE_FILE_PATH;
        k = hc_read_file(path, &text, &len, err);
        if (k < 0)
                return k;
        return hc_baseline_file_parse(text, len, path, ret, err);
}

const struct hc_baseline_pool *hc_baseline_file_find(const struct hc_baseline_file *f,
                                                     const char *name)
{
        size_t lo = 0, hi;

        if (!f || !name)
                return NULL;
        hi = f->n_pools;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(f->pools[mid].pool ?: "", name);

                if (c == 0)
                        return &f->pools[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

int hc_baseline_file_lookup(const struct hc_baseline_file *f, const char *name,
                            const struct hc_baseline_pool **ret, struct hc_error *err)
{
        const struct hc_baseline_pool *p = hc_baseline_file_find(f, name);
        json_object *errors, *first, *msg;

        if (!p)
                return hc_error_set(err, ENOENT, "pool %s: not in the baseline (generation %" PRIu64 ")",
                                    name, f->generation);
        *ret = p;
        if (p->status == HC_POOL_OK)
                return 0;
        if (json_object_object_get_ex(p->json, "errors", &errors) &&
            (first = json_object_array_get_idx(errors, 0)) &&
            json_object_is_type(first, json_type_object) &&
            json_object_object_get_ex(first, "message", &msg))
                return hc_error_set(err, EPERM, "pool %s: refused: %s", name,
                                    json_object_get_string(msg));
        return hc_error_set(err, EPERM, "pool %s: refused", name);
}

char *hc_baseline_file_to_string(const struct hc_baseline_file *f)
{
        assert(f);
        return hc_json_to_text(f->doc);
}

int hc_baseline_file_save(const struct hc_baseline_file *f, const char *path, struct hc_error *err)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *check = NULL;
        _cleanup_free_ char *text = NULL;
        int k;

        path = path ?: HC_BASELINE_FILE_PATH;
        text = hc_baseline_file_to_string(f);
        if (!text)
                return hc_error_at(err, ENOMEM, path, 0, 0, "out of memory");
        /* Never write what we would refuse to read. */
        k = hc_baseline_file_parse(text, strlen(text), path, &check, err);
        if (k < 0)
                return k;
        return hc_write_file_atomic(path, text, strlen(text), 0644, err);
}

/* ---- update -------------------------------------------------------------------------------- */

/* Appends a copy of s, keeping the vector NULL-terminated. */
static int strv_push(char ***v, size_t *n, const char *s)
{
        char **grown = reallocarray(*v, *n + 2, sizeof(char *));
        char *copy;

        if (!grown)
                return -ENOMEM;
        *v = grown;
        (*v)[*n] = NULL;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        (*v)[(*n)++] = copy;
        (*v)[*n] = NULL;
        return 0;
}

static int format_utc(int64_t t, char buf[32])
{
        time_t tt = (time_t)t;
        struct tm tm;

        if (!gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -EINVAL;
        return 0;
}

/* Replaces key in o; consumes v. */
static int set_key(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return -ENOMEM;
        json_object_object_del(o, key);
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *deep_copy(json_object *o)
{
        json_object *copy = NULL;

        if (json_object_deep_copy(o, &copy, NULL) < 0)
                return NULL;
        return copy;
}

/* First error message of a refused computed pool. */
static const char *first_error(json_object *pool)
{
        json_object *errors, *first, *msg;

        if (!json_object_object_get_ex(pool, "errors", &errors))
                return "refused";
        first = json_object_array_get_idx(errors, 0);
        if (json_object_is_type(first, json_type_string))
                return json_object_get_string(first);
        if (first && json_object_object_get_ex(first, "message", &msg))
                return json_object_get_string(msg);
        return "refused";
}

/* prev's entry for a pool, held at last-known-good with reason. */
static json_object *held_entry(const struct hc_baseline_pool *old, const char *reason, int64_t now)
{
        _cleanup_(json_object_putp) json_object *copy = deep_copy(old->json), *lkg = NULL;
        json_object *since_old = NULL, *old_lkg;
        char since[32];

        if (!copy)
                return NULL;
        /* Held since the first failure, not the latest. */
        if (json_object_object_get_ex(old->json, "last_known_good", &old_lkg))
                (void)json_object_object_get_ex(old_lkg, "since", &since_old);
        if (since_old)
                snprintf(since, sizeof(since), "%s", json_object_get_string(since_old));
        else if (format_utc(now, since) < 0)
                return NULL;
        lkg = json_object_new_object();
        if (!lkg || set_key(lkg, "reason", json_object_new_string(reason)) < 0 ||
            set_key(lkg, "since", json_object_new_string(since)) < 0)
                return NULL;
        if (set_key(copy, "last_known_good", TAKE_PTR(lkg)) < 0)
                return NULL;
        return TAKE_PTR(copy);
}

static const struct hc_baseline_failure *find_failure(const struct hc_baseline_failure *failures,
                                                      size_t n, const char *pool)
{
        for (size_t i = 0; i < n; i++)
                if (failures[i].pool && pool && strcmp(failures[i].pool, pool) == 0)
                        return &failures[i];
        return NULL;
}

static int cmp_pool_json(const void *a, const void *b)
{
        json_object *const *x = a, *const *y = b;
        json_object *nx, *ny;

        json_object_object_get_ex(*x, "pool", &nx);
        json_object_object_get_ex(*y, "pool", &ny);
        return strcmp(json_object_get_string(nx), json_object_get_string(ny));
}

int hc_baseline_file_update(const struct hc_baseline_file *prev, json_object *computed,
                            const struct hc_baseline_failure *failures, size_t n_failures,
                            int64_t now, struct hc_baseline_file **ret,
                            struct hc_baseline_changes *changes, struct hc_error *err)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *cur = NULL, *next = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL, *pools = NULL;
        _cleanup_free_ json_object **entries = NULL;
        _cleanup_free_ bool *moved = NULL;
        struct hc_baseline_changes ch = {0};
        const char *origin = "computed baseline";
        size_t n_entries = 0, cap;
        uint64_t gen;
        bool any_change = false;
        int k;

        assert(computed);
        assert(ret);
        /* Validate the computation as a document first; its pools are then read from cur. */
        k = from_document(json_object_get(computed), origin, MODE_COMPUTED, &cur, err);
        if (k < 0)
                return k;
        if (!cur)
                return hc_error_set(err, EINVAL, "%s: no document", origin);

        cap = cur->n_pools + n_failures + 1;
        entries = calloc(cap, sizeof(*entries));
        moved = calloc(cap, sizeof(*moved)); /* per entry: digest differs from prev */
        if (!entries || !moved)
                return hc_error_set(err, ENOMEM, "out of memory");

#define FAIL_OOM()                                                                                 \
        do {                                                                                       \
                for (size_t j_ = 0; j_ < n_entries; j_++)                                          \
                        json_object_put(entries[j_]);                                              \
                hc_baseline_changes_done(&ch);                                                     \
                return hc_error_set(err, ENOMEM, "out of memory");                                 \
        } while (0)

        for (size_t i = 0; i < cur->n_pools; i++) {
                const struct hc_baseline_pool *np = &cur->pools[i];
                const struct hc_baseline_pool *old = prev ? hc_baseline_file_find(prev, np->pool) : NULL;
                const struct hc_baseline_failure *fail = find_failure(failures, n_failures, np->pool);
                json_object *e;

                if (fail && old) {
                        /* The pool's policy failed but an older policy of that name still
                         * computed: the failure wins, keep what the pool had. */
                        e = held_entry(old, fail->reason, now);
                        if (!e)
                                FAIL_OOM();
                        if (!old->kept_reason && strv_push(&ch.kept, &ch.n_kept, np->pool) < 0) {
                                json_object_put(e);
                                FAIL_OOM();
                        }
                } else if (np->status == HC_POOL_REFUSED && old && old->status == HC_POOL_OK) {
                        e = held_entry(old, first_error(np->json), now);
                        if (!e)
                                FAIL_OOM();
                        if (!old->kept_reason && strv_push(&ch.kept, &ch.n_kept, np->pool) < 0) {
                                json_object_put(e);
                                FAIL_OOM();
                        }
                } else {
                        e = deep_copy(np->json);
                        if (!e || set_key(e, "digest", json_object_new_string(np->digest)) < 0) {
                                json_object_put(e);
                                FAIL_OOM();
                        }
                        json_object_object_del(e, "last_known_good");
                        moved[n_entries] = !old || strcmp(old->digest, np->digest) != 0;
                        if (moved[n_entries] && np->status == HC_POOL_REFUSED &&
                            strv_push(&ch.refused, &ch.n_refused, np->pool) < 0) {
                                json_object_put(e);
                                FAIL_OOM();
                        }
                }
                entries[n_entries++] = e;
        }
        /* Failed pools the computation did not see at all: keep prev's entry. */
        for (size_t i = 0; prev && i < n_failures; i++) {
                const struct hc_baseline_pool *old = hc_baseline_file_find(prev, failures[i].pool);
                json_object *e;

                if (!old || hc_baseline_file_find(cur, failures[i].pool))
                        continue;
                if (find_failure(failures, i, failures[i].pool))
                        continue; /* named twice */
                e = held_entry(old, failures[i].reason, now);
                if (!e)
                        FAIL_OOM();
                if (!old->kept_reason && strv_push(&ch.kept, &ch.n_kept, old->pool) < 0) {
                        json_object_put(e);
                        FAIL_OOM();
                }
                entries[n_entries++] = e;
        }

        /* Generation: bump when a pool's values moved, or one appeared or vanished. */
        for (size_t i = 0; i < n_entries; i++) {
                json_object *name;

                json_object_object_get_ex(entries[i], "pool", &name);
                if (moved[i]) {
                        any_change = true;
                        if (strv_push(&ch.changed, &ch.n_changed, json_object_get_string(name)) < 0)
                                FAIL_OOM();
                }
        }
        for (size_t i = 0; prev && i < prev->n_pools; i++) {
                bool still = false;

                for (size_t j = 0; j < n_entries && !still; j++) {
                        json_object *name;

                        json_object_object_get_ex(entries[j], "pool", &name);
                        still = strcmp(json_object_get_string(name) ?: "", prev->pools[i].pool) == 0;
                }
                if (!still) {
                        any_change = true;
                        if (strv_push(&ch.changed, &ch.n_changed, prev->pools[i].pool) < 0)
                                FAIL_OOM();
                }
        }
        gen = prev ? prev->generation + (any_change ? 1 : 0) : 1;
        for (size_t i = 0; i < n_entries; i++) {
                json_object *g;
                uint64_t pool_gen = gen;

                if (!moved[i] && json_object_object_get_ex(entries[i], "pool", &g)) {
                        const struct hc_baseline_pool *old =
                                hc_baseline_file_find(prev, json_object_get_string(g));
                        pool_gen = old->generation;
                }
                if (set_key(entries[i], "generation", json_object_new_uint64(pool_gen)) < 0)
                        FAIL_OOM();
        }
        qsort(entries, n_entries, sizeof(*entries), cmp_pool_json);

        /* The new document: computed's top level, our pools, our generation. */
        pools = json_object_new_array_ext((int)n_entries);
        if (!pools)
                FAIL_OOM();
        for (size_t i = 0; i < n_entries; i++) {
                if (json_object_array_add(pools, entries[i]) < 0) {
                        for (size_t j = i; j < n_entries; j++)
                                json_object_put(entries[j]);
                        n_entries = 0;
                        FAIL_OOM();
                }
        }
        n_entries = 0; /* owned by pools now */
        doc = json_object_new_object();
        if (!doc || set_key(doc, "schema", json_object_new_string(HC_BASELINE_FILE_SCHEMA)) < 0 ||
            set_key(doc, "digest", json_object_new_string(cur->digest)) < 0 ||
            set_key(doc, "generation", json_object_new_uint64(gen)) < 0 ||
            set_key(doc, "pools", TAKE_PTR(pools)) < 0)
                FAIL_OOM();
        {
                json_object *un;

                if (json_object_object_get_ex(cur->doc, "unassigned", &un) &&
                    set_key(doc, "unassigned", deep_copy(un)) < 0)
                        FAIL_OOM();
        }
#undef FAIL_OOM
        k = from_document(TAKE_PTR(doc), "updated baseline", MODE_FILE, &next, err);
        if (k < 0) {
                hc_baseline_changes_done(&ch);
                return k;
        }
        *ret = TAKE_PTR(next);
        if (changes)
                *changes = ch;
        else
                hc_baseline_changes_done(&ch);
        return 0;
}

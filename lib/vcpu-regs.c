/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "fileio.h"
#include "jsonutil.h"
#include "record.h"
#include "vcpu-regs.h"

#define VCPU_JSON_DEPTH 6
/* KVM lists a few hundred; anything near this is not a real vCPU. */
#define VCPU_MAX_REGISTERS 65536

static const char *const vcpu_keys[] = {
    "schema",        "host",           "kernel",    "probed_at",
    "vcpu_features", "writable_masks", "registers", "feature_ids",
};

static const struct {
        unsigned flag;
        const char *name;
} feature_names[] = {
    {HC_VCPU_PMU_V3, "pmu-v3"},
    {HC_VCPU_PTRAUTH, "ptrauth"},
    {HC_VCPU_SVE, "sve"},
};

struct hc_vcpu_regs *hc_vcpu_regs_new(void)
{
        return calloc(1, sizeof(struct hc_vcpu_regs));
}

struct hc_vcpu_regs *hc_vcpu_regs_free(struct hc_vcpu_regs *v)
{
        if (!v)
                return NULL;
        free(v->host);
        free(v->kernel);
        free(v->probed_at);
        free(v->ids);
        free(v->feature_ids);
        free(v->origin);
        free(v);
        return NULL;
}

static int parse_features(struct hc_vcpu_regs *v, json_object *arr, const char *origin,
                          struct hc_error *err)
{
        const char *field = "vcpu_features";

        if (!json_object_is_type(arr, json_type_array))
                return hc_error_field(err, EINVAL, origin, field,
                                      "expected an array of feature names");
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                const char *s =
                    json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";
                size_t f;

                for (f = 0; f < ELEMENTSOF(feature_names); f++)
                        if (strcmp(s, feature_names[f].name) == 0)
                                break;
                if (f == ELEMENTSOF(feature_names))
                        return hc_error_field(
                            err, EINVAL, origin, field,
                            "entry %zu: expected \"pmu-v3\", \"ptrauth\" or \"sve\"", i);
                if (v->features & feature_names[f].flag)
                        return hc_error_field(err, EINVAL, origin, field, "entry %zu: \"%s\" twice",
                                              i, s);
                v->features |= feature_names[f].flag;
        }
        return 0;
}

static int parse_ids(struct hc_vcpu_regs *v, json_object *arr, const char *origin,
                     struct hc_error *err)
{
        const char *field = "registers";
        size_t n;

        if (!json_object_is_type(arr, json_type_array))
                return hc_error_field(err, EINVAL, origin, field, "expected an array of hex IDs");
        n = json_object_array_length(arr);
        if (n > VCPU_MAX_REGISTERS)
                return hc_error_field(err, E2BIG, origin, field, "more than %d registers",
                                      VCPU_MAX_REGISTERS);
        v->ids = calloc(n ? n : 1, sizeof(*v->ids));
        if (!v->ids)
                return hc_error_field(err, ENOMEM, origin, field, "out of memory");
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                uint64_t id;

                if (!json_object_is_type(e, json_type_string) ||
                    hc_parse_hex(json_object_get_string(e), &id) < 0)
                        return hc_error_field(
                            err, EINVAL, origin, field,
                            "entry %zu: expected a hex string like \"0x603000000013c039\"", i);
                if (!hc_id_in_cpu_stream(id))
                        return hc_error_field(
                            err, EINVAL, origin, field,
                            "entry %zu: 0x%016llx is not a KVM/arm64 register QEMU migrates", i,
                            (unsigned long long)id);
                if (i > 0 && id <= v->ids[i - 1])
                        return hc_error_field(
                            err, EINVAL, origin, field,
                            "entry %zu: expected IDs in ascending order without repeats", i);
                v->ids[v->n_ids++] = id;
        }
        return 0;
}

static int parse_feature_id(struct hc_vcpu_regs *v, const char *key, json_object *o,
                            const char *origin, struct hc_error *err)
{
        struct hc_feature_id *f = &v->feature_ids[v->n_feature_ids];
        char field[64];
        int k;

        snprintf(field, sizeof(field), "feature_ids.%.40s", key);
        if (hc_parse_hex(key, &f->id) < 0 || !hc_id_is_feature_id(f->id, NULL))
                return hc_error_field(err, EINVAL, origin, field,
                                      "expected the hex ID of a feature ID register");
        if (!hc_vcpu_regs_has(v, f->id))
                return hc_error_field(err, EINVAL, origin, field, "not in \"registers\"");
        if (!json_object_is_type(o, json_type_object))
                return hc_error_field(err, EINVAL, origin, field,
                                      "expected {\"value\", \"writable\"}");
        k = hc_json_check_keys(o, (const char *const[]){"value", "writable"}, 2, origin, field,
                               err);
        for (int i = 0; i < 2 && k >= 0; i++) {
                k = hc_json_get_hex(o, i ? "writable" : "value", i ? &f->writable : &f->value,
                                    origin, field, err);
                if (k == 0)
                        k = hc_error_field(err, EINVAL, origin, field, "missing \"%s\"",
                                           i ? "writable" : "value");
        }
        if (k < 0)
                return k;
        if (f->writable && !v->writable_masks)
                return hc_error_field(err, EINVAL, origin, field,
                                      "writable bits without \"writable_masks\": true");
        v->n_feature_ids++;
        return 0;
}

static int compare_feature_id(const void *a, const void *b)
{
        const struct hc_feature_id *x = a, *y = b;

        return x->id < y->id ? -1 : x->id > y->id;
}

static int parse_feature_ids(struct hc_vcpu_regs *v, json_object *o, const char *origin,
                             struct hc_error *err)
{
        if (!json_object_is_type(o, json_type_object))
                return hc_error_field(err, EINVAL, origin, "feature_ids", "expected an object");
        v->feature_ids = calloc((size_t)json_object_object_length(o) + 1, sizeof(*v->feature_ids));
        if (!v->feature_ids)
                return hc_error_field(err, ENOMEM, origin, "feature_ids", "out of memory");
        json_object_object_foreach(o, key, val)
        {
                int k = parse_feature_id(v, key, val, origin, err);

                if (k < 0)
                        return k;
        }
        qsort(v->feature_ids, v->n_feature_ids, sizeof(*v->feature_ids), compare_feature_id);
        for (size_t i = 1; i < v->n_feature_ids; i++)
                if (v->feature_ids[i].id == v->feature_ids[i - 1].id)
                        return hc_error_field(err, EINVAL, origin, "feature_ids", "0x%016llx twice",
                                              (unsigned long long)v->feature_ids[i].id);
        for (size_t i = 0; i < v->n_ids; i++) {
                char name[HC_REG_TEXT_MAX];

                if (hc_id_is_feature_id(v->ids[i], NULL) && !hc_vcpu_regs_feature_id(v, v->ids[i]))
                        return hc_error_field(err, EINVAL, origin, "feature_ids",
                                              "missing %s (0x%016llx)",
                                              hc_reg_text(v->ids[i], name, sizeof(name)),
                                              (unsigned long long)v->ids[i]);
        }
        return 0;
}

static int vcpu_regs_from_json(json_object *root, const char *origin, struct hc_vcpu_regs **ret,
                               struct hc_error *err)
{
        static const char *const parts[] = {"vcpu_features", "writable_masks", "registers",
                                            "feature_ids"};
        _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *v = NULL;
        json_object *p[ELEMENTSOF(parts)];
        struct hc_identity id;
        int k;

        if (!json_object_is_type(root, json_type_object))
                return hc_error_at(err, EINVAL, origin, 0, 0, "expected a JSON object");
        v = hc_vcpu_regs_new();
        if (!v)
                return hc_error_at(err, ENOMEM, origin, 0, 0, "out of memory");
        k = hc_json_check_keys(root, vcpu_keys, ELEMENTSOF(vcpu_keys), origin, NULL, err);
        id = (struct hc_identity){&v->host, &v->kernel, &v->probed_at, &v->probed_at_unix};
        k = k < 0 ? k : hc_parse_identity(root, HC_VCPU_REGS_SCHEMA, origin, &id, err);
        for (size_t i = 0; i < ELEMENTSOF(parts) && k >= 0; i++)
                if (!json_object_object_get_ex(root, parts[i], &p[i]))
                        k = hc_error_field(err, EINVAL, origin, parts[i], "missing");
        if (k < 0)
                return k;
        if (!json_object_is_type(p[1], json_type_boolean))
                return hc_error_field(err, EINVAL, origin, "writable_masks",
                                      "expected true or false");
        v->writable_masks = json_object_get_boolean(p[1]);
        k = parse_features(v, p[0], origin, err);
        k = k < 0 ? k : parse_ids(v, p[2], origin, err);
        k = k < 0 ? k : parse_feature_ids(v, p[3], origin, err);
        if (k < 0)
                return k;
        v->origin = strdup(origin);
        if (!v->origin)
                return hc_error_at(err, ENOMEM, origin, 0, 0, "out of memory");
        *ret = TAKE_PTR(v);
        return 0;
}

int hc_vcpu_regs_parse(const char *text, size_t len, const char *origin, struct hc_vcpu_regs **ret,
                       struct hc_error *err)
{
        _cleanup_(json_object_putp) json_object *root = NULL;
        int k;

        assert(text);
        assert(ret);
        origin = origin ?: "<vcpu-regs>";
        k = hc_json_parse(text, len, VCPU_JSON_DEPTH, origin, &root, err);
        return k < 0 ? k : vcpu_regs_from_json(root, origin, ret, err);
}

int hc_vcpu_regs_load(const char *path, struct hc_vcpu_regs **ret, struct hc_error *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int k;

        k = hc_read_file(path, &text, &len, err);
        return k < 0 ? k : hc_vcpu_regs_parse(text, len, path, ret, err);
}

char *hc_vcpu_regs_path(const char *records_dir, const char *host)
{
        char *path;

        return asprintf(&path, "%s/%s/%s.json", records_dir, HC_VCPU_REGS_SUBDIR, host) < 0 ? NULL : path;
}

int hc_vcpu_regs_load_beside(const char *records_dir, const char *host, struct hc_vcpu_regs **ret,
                             struct hc_error *err)
{
        _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *v = NULL;
        _cleanup_free_ char *path = NULL;
        int k;

        assert(records_dir);
        assert(host);
        assert(ret);
        *ret = NULL;
        path = hc_vcpu_regs_path(records_dir, host);
        if (!path)
                return hc_error_at(err, ENOMEM, records_dir, 0, 0, "out of memory");
        if (access(path, F_OK) < 0 && errno == ENOENT)
                return 0;
        k = hc_vcpu_regs_load(path, &v, err);
        if (k < 0 || !v)
                return k < 0 ? k : -EIO;
        if (strcmp(v->host, host) != 0)
                return hc_error_field(err, EINVAL, path, "host",
                                      "expected \"%s\" (the file's name), got \"%s\"", host,
                                      v->host);
        *ret = TAKE_PTR(v);
        return 0;
}

static json_object *hex_string(uint64_t v)
{
        char hex[HC_HEX_MAX];

        return json_object_new_string(hc_hex(v, hex, sizeof(hex)));
}

static json_object *id_string(uint64_t id)
{
        char hex[24];

        snprintf(hex, sizeof(hex), "0x%016llx", (unsigned long long)id);
        return json_object_new_string(hex);
}

static json_object *feature_ids_json(const struct hc_vcpu_regs *v)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        int k = o ? 0 : -ENOMEM;

        for (size_t i = 0; i < v->n_feature_ids && k == 0; i++) {
                const struct hc_feature_id *f = &v->feature_ids[i];
                json_object *e = json_object_new_object();
                char key[24];

                snprintf(key, sizeof(key), "0x%016llx", (unsigned long long)f->id);
                k = e ? 0 : -ENOMEM;
                k = k ?: hc_json_add(e, "value", hex_string(f->value));
                k = k ?: hc_json_add(e, "writable", hex_string(f->writable));
                if (k < 0)
                        json_object_put(e);
                else
                        k = hc_json_add(o, key, e);
        }
        return k == 0 ? TAKE_PTR(o) : NULL;
}

json_object *hc_vcpu_regs_to_json(const struct hc_vcpu_regs *v)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *a = NULL, *ids = NULL;
        int k = o ? 0 : -ENOMEM;

        assert(v);
        k = k ?: hc_json_add(o, "schema", json_object_new_string(HC_VCPU_REGS_SCHEMA));
        k = k ?: hc_json_add_string(o, "host", v->host);
        k = k ?: hc_json_add_string(o, "kernel", v->kernel);
        k = k ?: hc_json_add_string(o, "probed_at", v->probed_at);
        k = k ?: hc_json_add(o, "vcpu_features", a = json_object_new_array());
        for (size_t f = 0; f < ELEMENTSOF(feature_names) && k == 0; f++)
                if (v->features & feature_names[f].flag)
                        k = json_object_array_add(a, json_object_new_string(feature_names[f].name));
        k = k ?: hc_json_add(o, "writable_masks", json_object_new_boolean(v->writable_masks));
        k = k ?: hc_json_add(o, "registers", ids = json_object_new_array_ext((int)v->n_ids));
        for (size_t i = 0; i < v->n_ids && k == 0; i++)
                k = json_object_array_add(ids, id_string(v->ids[i]));
        k = k ?: hc_json_add(o, "feature_ids", feature_ids_json(v));
        return k == 0 ? TAKE_PTR(o) : NULL;
}

char *hc_vcpu_regs_to_string(const struct hc_vcpu_regs *v)
{
        _cleanup_(json_object_putp) json_object *o = hc_vcpu_regs_to_json(v);

        return o ? hc_json_to_text(o) : NULL;
}

int hc_vcpu_regs_save(const struct hc_vcpu_regs *v, const char *path, struct hc_error *err)
{
        _cleanup_free_ char *text = hc_vcpu_regs_to_string(v);

        if (!text)
                return hc_error_at(err, ENOMEM, path, 0, 0, "out of memory");
        return hc_write_file_atomic(path, text, strlen(text), 0644, err);
}

bool hc_vcpu_regs_current(const struct hc_vcpu_regs *v, const struct hc_record *r)
{
        return v && r && r->host && r->kernel && strcmp(v->host, r->host) == 0 &&
               strcmp(v->kernel, r->kernel) == 0;
}

static int compare_id(const void *key, const void *elem)
{
        uint64_t a = *(const uint64_t *)key, b = *(const uint64_t *)elem;

        return a < b ? -1 : a > b;
}

bool hc_vcpu_regs_has(const struct hc_vcpu_regs *v, uint64_t id)
{
        return v->n_ids && bsearch(&id, v->ids, v->n_ids, sizeof(*v->ids), compare_id);
}

const struct hc_feature_id *hc_vcpu_regs_feature_id(const struct hc_vcpu_regs *v, uint64_t id)
{
        struct hc_feature_id key = {.id = id};

        if (!v->n_feature_ids)
                return NULL;
        return bsearch(&key, v->feature_ids, v->n_feature_ids, sizeof(*v->feature_ids),
                       compare_feature_id);
}

bool hc_vcpu_regs_equal(const struct hc_vcpu_regs *a, const struct hc_vcpu_regs *b)
{
        if (!a || !b)
                return a == b;
        if (a->n_ids != b->n_ids || a->n_feature_ids != b->n_feature_ids ||
            a->writable_masks != b->writable_masks)
                return false;
        return (a->n_ids == 0 || memcmp(a->ids, b->ids, a->n_ids * sizeof(*a->ids)) == 0) &&
               (a->n_feature_ids == 0 || memcmp(a->feature_ids, b->feature_ids,
                                                a->n_feature_ids * sizeof(*a->feature_ids)) == 0);
}

void hc_vcpu_set_done(struct hc_vcpu_set *s)
{
        for (size_t i = 0; s && i < s->n; i++)
                hc_vcpu_regs_free(s->v[i]);
        if (s)
                free(s->v);
        if (s)
                *s = (struct hc_vcpu_set){0};
}

static int compare_set_host(const void *a, const void *b)
{
        return strcmp((*(struct hc_vcpu_regs *const *)a)->host,
                      (*(struct hc_vcpu_regs *const *)b)->host);
}

int hc_vcpu_set_load(const char *records_dir, const struct hc_record *const *hosts, size_t n_hosts,
                     struct hc_vcpu_set *ret, struct hc_error *err)
{
        struct hc_vcpu_set s = {.v = calloc(n_hosts + 1, sizeof(*s.v))};
        int k = 0;

        if (!s.v)
                return hc_error_at(err, ENOMEM, records_dir, 0, 0, "out of memory");
        for (size_t i = 0; i < n_hosts && k == 0; i++) {
                k = hc_vcpu_regs_load_beside(records_dir, hosts[i]->host, &s.v[s.n], err);
                if (k == 0 && hc_vcpu_regs_current(s.v[s.n], hosts[i]))
                        s.n++;
                else if (k == 0)
                        s.v[s.n] = hc_vcpu_regs_free(s.v[s.n]);
        }
        qsort(s.v, s.n, sizeof(*s.v), compare_set_host);
        if (k < 0) {
                hc_vcpu_set_done(&s);
                return k;
        }
        *ret = s;
        return 0;
}

const struct hc_vcpu_regs *hc_vcpu_set_find(const struct hc_vcpu_set *s, const char *host)
{
        struct hc_vcpu_regs key = {.host = (char *)host}, *pkey = &key, **found;

        if (!s || s->n == 0)
                return NULL;
        found = bsearch(&pkey, s->v, s->n, sizeof(*s->v), compare_set_host);
        return found ? *found : NULL;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "jsonutil.h"
#include "record.h"

/* Deep enough for a record, shallow enough that hostile nesting cannot exhaust the stack. */
#define RECORD_JSON_DEPTH 8

static const char *const record_keys[] = {
        "schema", "host", "kernel", "probed_at", "midr", "kvm_mode", "registers",
        "unknown_firmware_registers",
};

static const char *const kvm_modes[] = {"vhe", "nvhe", "hvhe", "protected"};

struct hc_record *hc_record_new(void)
{
        return calloc(1, sizeof(struct hc_record));
}

struct hc_record *hc_record_free(struct hc_record *r)
{
        if (!r)
                return NULL;
        free(r->host);
        free(r->kernel);
        free(r->probed_at);
        free(r->midr);
        free(r->kvm_mode);
        free(r->unknown);
        free(r->origin);
        free(r);
        return NULL;
}

bool hc_record_is_legacy(const struct hc_record *r)
{
        assert(r);
        for (size_t i = 0; i < hc_catalog_count(); i++)
                if (hc_catalog_get(i)->kind == HC_KIND_BITMAP && r->regs[i].present)
                        return false;
        return true;
}

int hc_parse_utc_time(const char *s, int64_t *ret)
{
        struct tm tm = {0};
        const char *end;
        time_t t;

        assert(s);
        end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end != '\0' || strlen(s) != 20)
                return -EINVAL;
        t = timegm(&tm);
        if (t == (time_t)-1)
                return -EINVAL;
        if (ret)
                *ret = (int64_t)t;
        return 0;
}

int hc_record_set_probed_at(struct hc_record *r, int64_t unix_time)
{
        time_t t = (time_t)unix_time;
        struct tm tm;
        char buf[32];

        assert(r);
        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -EINVAL;
        free(r->probed_at);
        r->probed_at = strdup(buf);
        if (!r->probed_at)
                return -ENOMEM;
        r->probed_at_unix = unix_time;
        return 0;
}

/* Host names as used in globs and file names: DNS-like, no path separators. */
bool hc_host_name_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

bool hc_text_printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
                        return false;
        return true;
}

static int parse_register(struct hc_record *r, size_t idx, json_object *o, const char *origin,
                          struct hc_error *err)
{
        const struct hc_register *reg = hc_catalog_get(idx);
        struct hc_reg_state *st = &r->regs[idx];
        char field[96], why[128];
        json_object *v;
        int k;

        snprintf(field, sizeof(field), "registers.%s", reg->name);
        if (!json_object_is_type(o, json_type_object))
                return hc_error_field(err, EINVAL, origin, field, "expected an object");
        if (!json_object_object_get_ex(o, "present", &v) || !json_object_is_type(v, json_type_boolean))
                return hc_error_field(err, EINVAL, origin, field,
                                      "expected \"present\": true or false");
        st->present = json_object_get_boolean(v);
        json_object_object_foreach(o, key, val)
        {
                (void)val;
                if (strcmp(key, "present") == 0)
                        continue;
                if (!st->present)
                        return hc_error_field(err, EINVAL, origin, field,
                                              "unexpected key \"%s\" for an absent register", key);
                if (strcmp(key, "value") != 0 &&
                    !(strcmp(key, "default") == 0 && reg->kind == HC_KIND_BITMAP))
                        return hc_error_field(err, EINVAL, origin, field, "unexpected key \"%s\"",
                                              key);
        }
        if (!st->present)
                return 0;
        k = hc_json_get_hex(o, "value", &st->value, origin, field, err);
        if (k < 0)
                return k;
        if (k == 0)
                return hc_error_field(err, EINVAL, origin, field, "missing \"value\"");
        if (!hc_value_valid(reg, st->value, why, sizeof(why)))
                return hc_error_field(err, ERANGE, origin, field, "value %s: %s",
                                      json_object_get_string(json_object_object_get(o, "value")), why);
        k = hc_json_get_hex(o, "default", &st->default_value, origin, field, err);
        if (k < 0)
                return k;
        st->has_default = k > 0;
        if (st->has_default && (st->default_value & ~st->value))
                return hc_error_field(err, ERANGE, origin, field,
                                      "default has bits the host does not offer in value");
        return 0;
}

static int parse_registers(struct hc_record *r, json_object *regs, const char *origin,
                           struct hc_error *err)
{
        if (!json_object_is_type(regs, json_type_object))
                return hc_error_field(err, EINVAL, origin, "registers", "expected an object");
        json_object_object_foreach(regs, key, val)
        {
                (void)val;
                if (hc_catalog_find(key) < 0)
                        return hc_error_field(err, EINVAL, origin, "registers",
                                              "unknown register \"%s\"", key);
        }
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const char *name = hc_catalog_get(i)->name;
                json_object *o;
                int k;

                if (!json_object_object_get_ex(regs, name, &o))
                        return hc_error_field(err, EINVAL, origin, "registers",
                                              "missing register \"%s\"", name);
                k = parse_register(r, i, o, origin, err);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int parse_unknown(struct hc_record *r, json_object *arr, const char *origin,
                         struct hc_error *err)
{
        const char *field = "unknown_firmware_registers";
        size_t n;

        if (!json_object_is_type(arr, json_type_array))
                return hc_error_field(err, EINVAL, origin, field, "expected an array of hex IDs");
        n = json_object_array_length(arr);
        r->unknown = calloc(n ? n : 1, sizeof(uint64_t));
        if (!r->unknown)
                return hc_error_field(err, ENOMEM, origin, field, "out of memory");
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                uint64_t id;

                if (!json_object_is_type(e, json_type_string) ||
                    hc_parse_hex(json_object_get_string(e), &id) < 0)
                        return hc_error_field(err, EINVAL, origin, field,
                                              "entry %zu: expected a hex string like \"0x6030000000140004\"",
                                              i);
                if (!hc_id_is_firmware(id))
                        return hc_error_field(err, EINVAL, origin, field,
                                              "entry %zu: 0x%016llx is not a firmware register ID", i,
                                              (unsigned long long)id);
                if (hc_catalog_find_id(id) >= 0)
                        return hc_error_field(err, EINVAL, origin, field,
                                              "entry %zu: %s is a known register, not an unknown one", i,
                                              hc_catalog_get((size_t)hc_catalog_find_id(id))->name);
                r->unknown[r->n_unknown++] = id;
        }
        return 0;
}

int hc_parse_identity(json_object *root, const char *schema_expected, const char *origin,
                      struct hc_identity *id, struct hc_error *err)
{
        const char *schema = NULL;
        int k;

        k = hc_json_get_string(root, "schema", false, &schema, origin, err);
        if (k < 0)
                return k;
        if (strcmp(schema, schema_expected) != 0)
                return hc_error_field(err, EINVAL, origin, "schema", "expected \"%s\", got \"%s\"",
                                      schema_expected, schema);
        k = hc_json_dup_string(root, "host", false, id->host, origin, err);
        if (k < 0)
                return k;
        if (!hc_host_name_valid(*id->host))
                return hc_error_field(err, EINVAL, origin, "host",
                                      "expected a host name of letters, digits, '.', '-', '_', got \"%s\"",
                                      *id->host);
        k = hc_json_dup_string(root, "kernel", false, id->kernel, origin, err);
        if (k < 0)
                return k;
        if ((*id->kernel)[0] == '\0' || strlen(*id->kernel) > 256 || !hc_text_printable(*id->kernel))
                return hc_error_field(err, EINVAL, origin, "kernel", "expected a kernel release");
        k = hc_json_dup_string(root, "probed_at", false, id->probed_at, origin, err);
        if (k < 0)
                return k;
        if (hc_parse_utc_time(*id->probed_at, id->probed_at_unix) < 0)
                return hc_error_field(err, EINVAL, origin, "probed_at",
                                      "expected UTC time like \"2026-11-24T10:00:00Z\", got \"%s\"",
                                      *id->probed_at);
        return 0;
}

static int parse_identity(struct hc_record *r, json_object *root, const char *origin,
                          struct hc_error *err)
{
        struct hc_identity id = {&r->host, &r->kernel, &r->probed_at, &r->probed_at_unix};

        return hc_parse_identity(root, HC_RECORD_SCHEMA, origin, &id, err);
}

static int parse_hardware(struct hc_record *r, json_object *root, const char *origin,
                          struct hc_error *err)
{
        uint64_t midr;
        bool known = false;
        int k;

        k = hc_json_dup_string(root, "midr", true, &r->midr, origin, err);
        if (k < 0)
                return k;
        if (r->midr && (hc_parse_hex(r->midr, &midr) < 0 || midr > UINT32_MAX))
                return hc_error_field(err, EINVAL, origin, "midr",
                                      "expected null or a 32-bit hex value, got \"%s\"", r->midr);
        k = hc_json_dup_string(root, "kvm_mode", true, &r->kvm_mode, origin, err);
        if (k < 0)
                return k;
        for (size_t i = 0; r->kvm_mode && i < ELEMENTSOF(kvm_modes); i++)
                known = known || strcmp(r->kvm_mode, kvm_modes[i]) == 0;
        if (r->kvm_mode && !known)
                return hc_error_field(err, EINVAL, origin, "kvm_mode",
                                      "expected null, \"vhe\", \"nvhe\", \"hvhe\" or \"protected\", got \"%s\"",
                                      r->kvm_mode);
        return 0;
}

static int record_from_json(json_object *root, const char *origin, struct hc_record **ret,
                            struct hc_error *err)
{
        _cleanup_(hc_record_freep) struct hc_record *r = NULL;
        json_object *v;
        int k;

        if (!json_object_is_type(root, json_type_object))
                return hc_error_at(err, EINVAL, origin, 0, 0, "expected a JSON object");
        k = hc_json_check_keys(root, record_keys, ELEMENTSOF(record_keys), origin, NULL, err);
        if (k < 0)
                return k;
        r = hc_record_new();
        if (!r)
                return hc_error_at(err, ENOMEM, origin, 0, 0, "out of memory");
        k = parse_identity(r, root, origin, err);
        if (k < 0)
                return k;
        k = parse_hardware(r, root, origin, err);
        if (k < 0)
                return k;
        if (!json_object_object_get_ex(root, "registers", &v))
                return hc_error_field(err, EINVAL, origin, "registers", "missing");
        k = parse_registers(r, v, origin, err);
        if (k < 0)
                return k;
        if (!json_object_object_get_ex(root, "unknown_firmware_registers", &v))
                return hc_error_field(err, EINVAL, origin, "unknown_firmware_registers", "missing");
        k = parse_unknown(r, v, origin, err);
        if (k < 0)
                return k;
        r->origin = strdup(origin);
        if (!r->origin)
                return hc_error_at(err, ENOMEM, origin, 0, 0, "out of memory");
        *ret = TAKE_PTR(r);
        return 0;
}

int hc_record_parse(const char *text, size_t len, const char *origin, struct hc_record **ret,
                    struct hc_error *err)
{
        _cleanup_(json_object_putp) json_object *root = NULL;
        int k;

        assert(text);
        assert(ret);
        origin = origin ?: "<record>";
        k = hc_json_parse(text, len, RECORD_JSON_DEPTH, origin, &root, err);
        if (k < 0)
                return k;
        return record_from_json(root, origin, ret, err);
}

int hc_record_load(const char *path, struct hc_record **ret, struct hc_error *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        return hc_read_file(path, &text, &len, err) ?: hc_record_parse(text, len, path, ret, err);
}

static json_object *register_to_json(const struct hc_reg_state *st)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        char hex[HC_HEX_MAX];

        if (!o || json_object_object_add(o, "present", json_object_new_boolean(st->present)) < 0)
                return NULL;
        if (st->present &&
            hc_json_add_string(o, "value", hc_hex(st->value, hex, sizeof(hex))) < 0)
                return NULL;
        if (st->present && st->has_default &&
            hc_json_add_string(o, "default", hc_hex(st->default_value, hex, sizeof(hex))) < 0)
                return NULL;
        return TAKE_PTR(o);
}

json_object *hc_record_to_json(const struct hc_record *r)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *regs, *unknown;
        char hex[HC_HEX_MAX];

        assert(r);
        if (!o || hc_json_add_string(o, "schema", HC_RECORD_SCHEMA) < 0 ||
            hc_json_add_string(o, "host", r->host) < 0 ||
            hc_json_add_string(o, "kernel", r->kernel) < 0 ||
            hc_json_add_string(o, "probed_at", r->probed_at) < 0 ||
            hc_json_add_string(o, "midr", r->midr) < 0 ||
            hc_json_add_string(o, "kvm_mode", r->kvm_mode) < 0)
                return NULL;
        regs = json_object_new_object();
        if (!regs || json_object_object_add(o, "registers", regs) < 0)
                return NULL;
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                json_object *e = register_to_json(&r->regs[i]);
                if (!e || json_object_object_add(regs, hc_catalog_get(i)->name, e) < 0)
                        return NULL;
        }
        unknown = json_object_new_array();
        if (!unknown || json_object_object_add(o, "unknown_firmware_registers", unknown) < 0)
                return NULL;
        for (size_t i = 0; i < r->n_unknown; i++)
                if (json_object_array_add(unknown, json_object_new_string(
                                                           hc_hex(r->unknown[i], hex, sizeof(hex)))) < 0)
                        return NULL;
        return TAKE_PTR(o);
}

char *hc_record_to_string(const struct hc_record *r)
{
        _cleanup_(json_object_putp) json_object *o = hc_record_to_json(r);

        return o ? hc_json_to_text(o) : NULL;
}

int hc_record_save(const struct hc_record *r, const char *path, struct hc_error *err)
{
        _cleanup_free_ char *text = hc_record_to_string(r);

        if (!text)
                return hc_error_at(err, ENOMEM, path, 0, 0, "out of memory");
        return hc_write_file_atomic(path, text, strlen(text), 0644, err);
}

void hc_record_set_done(struct hc_record_set *set)
{
        assert(set);
        for (size_t i = 0; i < set->n; i++)
                hc_record_free(set->records[i]);
        free(set->records);
        set->records = NULL;
        set->n = 0;
}

int hc_record_set_add(struct hc_record_set *set, struct hc_record *r, struct hc_error *err)
{
        struct hc_record **grown;

        assert(set);
        assert(r);
        /* Capacity doubles at powers of two (from 16): 100k adds must not mean 100k reallocs. */
        if (set->n == 0 || (set->n >= 16 && (set->n & (set->n - 1)) == 0)) {
                grown = reallocarray(set->records, set->n ? set->n * 2 : 16,
                                     sizeof(struct hc_record *));
                if (!grown)
                        return hc_error_set(err, ENOMEM, "out of memory");
                set->records = grown;
        }
        set->records[set->n++] = r;
        return 0;
}

static int compare_host(const void *a, const void *b)
{
        const struct hc_record *const *x = a, *const *y = b;

        return strcmp((*x)->host, (*y)->host);
}

int hc_record_set_sort(struct hc_record_set *set, struct hc_error *err)
{
        assert(set);
        if (set->n > 1)
                qsort(set->records, set->n, sizeof(*set->records), compare_host);
        /* Sorted, so a host recorded twice sits next to itself. */
        for (size_t i = 1; i < set->n; i++) {
                const struct hc_record *a = set->records[i - 1], *b = set->records[i];
                if (strcmp(a->host, b->host) == 0)
                        return hc_error_at(err, EEXIST, b->origin ?: b->host, 0, 0,
                                           "host \"%s\" already recorded in %s", b->host,
                                           a->origin ?: "another record");
        }
        return 0;
}

static int compare_key_host(const void *key, const void *elem)
{
        const struct hc_record *const *r = elem;

        return strcmp(key, (*r)->host);
}

const struct hc_record *hc_record_set_find(const struct hc_record_set *set, const char *host)
{
        struct hc_record **found;

        assert(set);
        assert(host);
        if (set->n == 0)
                return NULL;
        found = bsearch(host, set->records, set->n, sizeof(*set->records), compare_key_host);
        return found ? *found : NULL;
}

int hc_record_set_load_dir(const char *dir, struct hc_record_set *ret, struct hc_error *err)
{
        struct hc_record_set set = {0};
        char **paths = NULL;
        size_t n = 0;
        int k;

        assert(dir);
        assert(ret);
        k = hc_list_dir(dir, ".json", &paths, &n);
        if (k == -ENOMEM)
                return hc_error_set(err, ENOMEM, "out of memory");
        if (k < 0)
                return hc_error_at(err, -k, dir, 0, 0, "cannot read directory: %s", strerror(-k));
        for (size_t i = 0; i < n && k >= 0; i++) {
                struct hc_record *r = NULL;

                k = hc_record_load(paths[i], &r, err);
                if (k >= 0 && (k = hc_record_set_add(&set, r, err)) < 0)
                        hc_record_free(r);
        }
        hc_strv_free(paths, n);
        if (k >= 0)
                k = hc_record_set_sort(&set, err);
        if (k < 0) {
                hc_record_set_done(&set);
                return k;
        }
        *ret = set;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "catalog.h"
#include "jsonutil.h"

HC_DEFINE_CLEANUP(json_tokener *, json_tokener_free)

static void offset_to_position(const char *text, size_t offset, unsigned *line, unsigned *col)
{
        *line = 1;
        *col = 1;
        for (size_t i = 0; i < offset; i++) {
                if (text[i] == '\n') {
                        (*line)++;
                        *col = 1;
                } else {
                        (*col)++;
                }
        }
}

/*
 * json-c keeps the last value of a repeated key, so {"a": 1, "a": 2} would read as {"a": 2}
 * without a word.  The text is scanned once more after json-c accepted it (so it is valid
 * JSON): a string followed by ":" is a key, "{" and "}" open and close objects.  The keys
 * of the open objects sit on one stack, a NULL name marking where each object begins.
 */
struct json_key {
        const char *name; /* raw bytes, or owned when the key has escapes */
        size_t len;
        size_t offset; /* of the opening quote */
        bool owned;
};

struct json_keys {
        struct json_key *v;
        size_t n, allocated;
};

/* Drops the keys from index n on. */
static void json_keys_pop(struct json_keys *ks, size_t n)
{
        for (size_t i = n; i < ks->n; i++)
                if (ks->v[i].owned)
                        free((char *)ks->v[i].name);
        ks->n = n;
}

static void json_keys_done(struct json_keys *ks)
{
        json_keys_pop(ks, 0);
        free(ks->v);
}

static int json_keys_push(struct json_keys *ks, struct json_key k)
{
        if (ks->n == ks->allocated) {
                size_t n = ks->allocated ? ks->allocated * 2 : 64;
                struct json_key *grown = reallocarray(ks->v, n, sizeof(*grown));

                if (!grown)
                        return -ENOMEM;
                ks->v = grown;
                ks->allocated = n;
        }
        ks->v[ks->n++] = k;
        return 0;
}

/* A key with escapes compares as json-c stores it: decoded, up to a first NUL. */
static char *decode_key(const char *quoted, size_t len)
{
        _cleanup_(json_tokener_freep) json_tokener *tok = json_tokener_new();
        _cleanup_(json_object_putp) json_object *s = NULL;

        if (!tok)
                return NULL;
        s = json_tokener_parse_ex(tok, quoted, (int)len);
        return s ? strdup(json_object_get_string(s)) : NULL;
}

static bool key_eq(const struct json_key *a, const struct json_key *b)
{
        return a->len == b->len && memcmp(a->name, b->name, a->len) == 0;
}

static int key_cmp(const void *x, const void *y)
{
        const struct json_key *a = x, *b = y;
        int c = memcmp(a->name, b->name, a->len < b->len ? a->len : b->len);

        if (c == 0)
                c = (a->len > b->len) - (a->len < b->len);
        return c ?: (a->offset > b->offset) - (a->offset < b->offset);
}

/*
 * The key of one object (keys[0..n)) that repeats an earlier one, first in the text, or
 * NULL.  Records have a handful of keys per object: compared pairwise; an object with many
 * keys is sorted (the object is closed, its order is no longer needed) so it stays n log n.
 */
static const struct json_key *first_repeat(struct json_key *keys, size_t n)
{
        const struct json_key *found = NULL;

        if (n <= 16) {
                for (size_t j = 1; j < n && !found; j++)
                        for (size_t i = 0; i < j && !found; i++)
                                if (key_eq(&keys[i], &keys[j]))
                                        found = &keys[j];
                return found;
        }
        qsort(keys, n, sizeof(*keys), key_cmp);
        for (size_t i = 1; i < n; i++)
                if (key_eq(&keys[i - 1], &keys[i]) && (!found || keys[i].offset < found->offset))
                        found = &keys[i];
        return found;
}

/*
 * Index of the quote closing the string that opens at text[start] (len if none); *escaped
 * if it has a "\\".  The quote is the opening one: json-c 0.16 takes a key in single quotes
 * even in strict mode (never a value), so {'a': 1, "a": 2} repeats "a" too.
 */
static size_t string_end(const char *text, size_t len, size_t start, bool *escaped)
{
        size_t i = start + 1;

        for (; i < len && text[i] != text[start]; i++)
                if (text[i] == '\\') {
                        *escaped = true;
                        i++;
                }
        return i < len ? i : len;
}

static int check_duplicate_keys(const char *text, size_t len, const char *origin,
                                struct hc_error *err)
{
        _cleanup_(json_keys_done) struct json_keys ks = {0};
        size_t dup_at = SIZE_MAX;
        unsigned line, col;
        bool escaped;

        /* strcspn() skips what is neither a brace nor a quote many bytes at a time (the text
         * is NUL-terminated and has no other NUL: hc_json_parse() checked). */
        for (size_t i = strcspn(text, "{}\"'"); i < len; i += 1 + strcspn(text + i + 1, "{}\"'")) {
                const struct json_key *d;
                struct json_key k = {.offset = i};
                size_t m;

                switch (text[i]) {
                case '{':
                        if (json_keys_push(&ks, (struct json_key){0}) < 0)
                                return hc_error_at(err, ENOMEM, origin, 0, 0, "out of memory");
                        break;
                case '}':
                        for (m = ks.n; m > 0 && ks.v[m - 1].name; m--)
                                ;
                        if (m == 0)
                                return 0; /* unbalanced: json-c accepted the text, cannot be */
                        d = first_repeat(ks.v + m, ks.n - m);
                        if (d && d->offset < dup_at)
                                dup_at = d->offset;
                        json_keys_pop(&ks, m - 1);
                        break;
                case '"':
                case '\'':
                        escaped = false;
                        i = string_end(text, len, i, &escaped);
                        if (i >= len)
                                return 0; /* unterminated: json-c accepted the text, cannot be */
                        m = i + 1 + strspn(text + i + 1, " \t\r\n");
                        if (m >= len || text[m] != ':')
                                break; /* a string value, not a key */
                        k.name = text + k.offset + 1;
                        k.len = i - k.offset - 1;
                        if (escaped) {
                                k.name = decode_key(text + k.offset, i + 1 - k.offset);
                                if (!k.name)
                                        return hc_error_at(err, ENOMEM, origin, 0, 0,
                                                           "out of memory");
                                k.len = strlen(k.name);
                                k.owned = true;
                        }
                        if (json_keys_push(&ks, k) < 0) {
                                if (k.owned)
                                        free((char *)k.name);
                                return hc_error_at(err, ENOMEM, origin, 0, 0, "out of memory");
                        }
                        break;
                default:
                        break;
                }
        }
        if (dup_at == SIZE_MAX)
                return 0;
        /* Named as written, escapes and all: that is what the operator finds in the file. */
        offset_to_position(text, dup_at, &line, &col);
        return hc_error_at(err, EINVAL, origin, line, col, "duplicate key \"%.*s\"",
                           (int)(string_end(text, len, dup_at, &escaped) - dup_at - 1),
                           text + dup_at + 1);
}

int hc_json_parse(const char *text, size_t len, int depth, const char *origin, json_object **ret,
                  struct hc_error *err)
{
        _cleanup_(json_tokener_freep) json_tokener *tok = json_tokener_new_ex(depth);
        json_object *root;
        enum json_tokener_error jerr;
        unsigned line, col;
        size_t end;
        int k;

        assert(text);
        assert(ret);
        if (!tok)
                return hc_error_at(err, ENOMEM, origin, 0, 0, "out of memory");
        if (len > INT32_MAX || memchr(text, '\0', len))
                return hc_error_at(err, EINVAL, origin, 0, 0, "not a JSON text (NUL byte)");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, text, (int)len);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        if (jerr == json_tokener_continue || (!root && jerr == json_tokener_success)) {
                offset_to_position(text, len, &line, &col);
                return hc_error_at(err, EINVAL, origin, line, col,
                                   "unexpected end of input: truncated JSON");
        }
        if (jerr != json_tokener_success) {
                offset_to_position(text, end, &line, &col);
                return hc_error_at(err, EINVAL, origin, line, col, "invalid JSON: %s",
                                   json_tokener_error_desc(jerr));
        }
        end += strspn(text + end, " \t\r\n");
        if (end < len) {
                json_object_put(root);
                offset_to_position(text, end, &line, &col);
                return hc_error_at(err, EINVAL, origin, line, col,
                                   "expected end of input after the JSON document");
        }
        k = check_duplicate_keys(text, len, origin, err);
        if (k < 0) {
                json_object_put(root);
                return k;
        }
        *ret = root;
        return 0;
}

int hc_json_check_keys(json_object *o, const char *const *allowed, size_t n, const char *origin,
                       const char *field, struct hc_error *err)
{
        json_object_object_foreach(o, key, val)
        {
                bool ok = false;

                (void)val;
                for (size_t i = 0; i < n && !ok; i++)
                        ok = strcmp(key, allowed[i]) == 0;
                if (!ok && field)
                        return hc_error_field(err, EINVAL, origin, field, "unexpected key \"%s\"", key);
                if (!ok)
                        return hc_error_field(err, EINVAL, origin, key, "unexpected key");
        }
        return 0;
}

int hc_json_get_string(json_object *o, const char *key, bool nullable, const char **ret,
                       const char *origin, struct hc_error *err)
{
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v))
                return hc_error_field(err, EINVAL, origin, key, "missing");
        if (!v && nullable) {
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return hc_error_field(err, EINVAL, origin, key,
                                      nullable ? "expected a string or null" : "expected a string");
        *ret = json_object_get_string(v);
        return 0;
}

int hc_json_dup_string(json_object *o, const char *key, bool nullable, char **ret,
                       const char *origin, struct hc_error *err)
{
        const char *s = NULL;
        int k;

        k = hc_json_get_string(o, key, nullable, &s, origin, err);
        if (k < 0)
                return k;
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        if (!*ret)
                return hc_error_field(err, ENOMEM, origin, key, "out of memory");
        return 0;
}

int hc_json_get_hex(json_object *o, const char *key, uint64_t *ret, const char *origin,
                    const char *field, struct hc_error *err)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return 0;
        if (!json_object_is_type(v, json_type_string) ||
            hc_parse_hex(json_object_get_string(v), ret) < 0)
                return hc_error_field(err, EINVAL, origin, field,
                                      "%s: expected a hex string like \"0x1\", got %s", key,
                                      json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        return 1;
}

int hc_json_add(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int hc_json_add_string(json_object *o, const char *key, const char *s)
{
        if (!s) /* JSON null: nothing to release if the add fails */
                return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
        return hc_json_add(o, key, json_object_new_string(s));
}

char *hc_json_to_text(json_object *o)
{
        const char *s = json_object_to_json_string_ext(
                o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *out;

        if (!s || asprintf(&out, "%s\n", s) < 0)
                return NULL;
        return out;
}

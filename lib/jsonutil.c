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

int hc_json_parse(const char *text, size_t len, int depth, const char *origin, json_object **ret,
                  struct hc_error *err)
{
        _cleanup_(json_tokener_freep) json_tokener *tok = json_tokener_new_ex(depth);
        json_object *root;
        enum json_tokener_error jerr;
        unsigned line, col;
        size_t end;

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
        json_object *v = NULL;

        if (s) {
                v = json_object_new_string(s);
                if (!v)
                        return -ENOMEM;
        }
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
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

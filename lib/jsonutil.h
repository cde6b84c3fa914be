/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Strict json-c helpers shared by every JSON reader and writer in lib/. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "hc-error.h"

HC_DEFINE_CLEANUP(json_object *, json_object_put)

/*
 * Parses exactly one JSON document (trailing content is an error) with a
 * nesting limit; syntax errors are reported as origin:line:column, and so is a
 * key repeated in one object (json-c alone would keep its last value).  text
 * must be NUL-terminated at len, as hc_read_file() leaves it.
 */
int hc_json_parse(const char *text, size_t len, int depth, const char *origin, json_object **ret,
                  struct hc_error *err);

/* Rejects keys of o not in allowed (field names the object in errors; NULL for the top). */
int hc_json_check_keys(json_object *o, const char *const *allowed, size_t n, const char *origin,
                       const char *field, struct hc_error *err);

/* String member; nullable allows JSON null (*ret = NULL).  Missing is an error. */
int hc_json_get_string(json_object *o, const char *key, bool nullable, const char **ret,
                       const char *origin, struct hc_error *err);
int hc_json_dup_string(json_object *o, const char *key, bool nullable, char **ret,
                       const char *origin, struct hc_error *err);

/* Optional hex-string member: 1 found, 0 missing, -errno malformed.  field prefixes the key. */
int hc_json_get_hex(json_object *o, const char *key, uint64_t *ret, const char *origin,
                    const char *field, struct hc_error *err);

/* Adds member key = v, taking v; -ENOMEM (v released) when v is NULL or the add fails. */
int hc_json_add(json_object *o, const char *key, json_object *v);

/* Adds a string member, or JSON null when s is NULL. */
int hc_json_add_string(json_object *o, const char *key, const char *s);

/* Pretty, stable text ending in a newline; caller frees. */
char *hc_json_to_text(json_object *o);

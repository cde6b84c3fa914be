/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Host records, schema hypercall.host/v1: what one host's kernel can offer a
 * VM (its accept-set).  Reading validates everything or loads nothing.
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "hc-error.h"
#include "jsonutil.h" /* json_object_putp, which record users have always had from here */

#define HC_RECORD_SCHEMA "hypercall.host/v1"

struct hc_reg_state {
        bool present;
        uint64_t value;         /* what the host offers: bitmaps all accepted bits */
        bool has_default;       /* the value a new VM starts with differs from value */
        uint64_t default_value;
};

struct hc_record {
        char *host;
        char *kernel;
        char *probed_at;        /* "2026-11-24T10:00:00Z" as written */
        int64_t probed_at_unix; /* the same, seconds since the epoch */
        char *midr;             /* "0x414fd0c1" or NULL */
        char *kvm_mode;         /* "vhe", "nvhe", "hvhe", "protected" or NULL */
        struct hc_reg_state regs[HC_REG_MAX]; /* indexed like the catalog */
        uint64_t *unknown;      /* firmware-class IDs the catalog does not know */
        size_t n_unknown;
        char *origin;           /* the file it came from, for messages; may be NULL */
};

struct hc_record *hc_record_new(void);
struct hc_record *hc_record_free(struct hc_record *r);
HC_DEFINE_CLEANUP(struct hc_record *, hc_record_free)

/* Parses and validates a record; origin names the input in errors. */
int hc_record_parse(const char *text, size_t len, const char *origin, struct hc_record **ret,
                    struct hc_error *err);
int hc_record_load(const char *path, struct hc_record **ret, struct hc_error *err);

/* The record as JSON in the contract's key order; NULL only when out of memory. */
json_object *hc_record_to_json(const struct hc_record *r);
/* Canonical text of the record (pretty JSON plus newline); caller frees. */
char *hc_record_to_string(const struct hc_record *r);
/* Writes the record atomically (mode 0644). */
int hc_record_save(const struct hc_record *r, const char *path, struct hc_error *err);

/* A kernel before 5.19: none of the bitmap registers exist, so nothing can be gated. */
bool hc_record_is_legacy(const struct hc_record *r);

/* Host names as used in globs and file names: DNS-like, no path separators. */
bool hc_host_name_valid(const char *s);
/* No control characters. */
bool hc_text_printable(const char *s);

/* Where a probe result's identity goes: host, kernel and probe time. */
struct hc_identity {
        char **host;
        char **kernel;
        char **probed_at;
        int64_t *probed_at_unix;
};
/* "schema", "host", "kernel", "probed_at" of a probe result (record or vCPU register set). */
int hc_parse_identity(json_object *root, const char *schema, const char *origin,
                      struct hc_identity *id, struct hc_error *err);

/* Sets probed_at from a time (UTC). */
int hc_record_set_probed_at(struct hc_record *r, int64_t unix_time);
/* Parses "YYYY-MM-DDTHH:MM:SSZ". */
int hc_parse_utc_time(const char *s, int64_t *ret);

/* A set of records, sorted by host name, host names unique. */
struct hc_record_set {
        struct hc_record **records;
        size_t n;
};

void hc_record_set_done(struct hc_record_set *set);
/* Appends, taking ownership; call hc_record_set_sort() after the last add. */
int hc_record_set_add(struct hc_record_set *set, struct hc_record *r, struct hc_error *err);
/* Sorts by host; -EEXIST with err naming both files when a host is recorded twice. */
int hc_record_set_sort(struct hc_record_set *set, struct hc_error *err);
/* Binary search; the set must be sorted. */
const struct hc_record *hc_record_set_find(const struct hc_record_set *set, const char *host);
/*
 * Loads every *.json in dir (sorted by file name), validating each; any bad
 * file fails the whole load with its error, nothing half-loaded.
 */
int hc_record_set_load_dir(const char *dir, struct hc_record_set *ret, struct hc_error *err);

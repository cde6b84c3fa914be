/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Pool policies, schema hypercall.policy/v1: one YAML file per pool, saying
 * which hosts are members and what each firmware service may do.  Reading
 * validates everything or loads nothing; every error says file:line:column
 * and what was expected.  Service names come from the catalog only.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hc-error.h"
#include "strbuf.h"

#define HC_POLICY_SCHEMA "hypercall.policy/v1"

enum hc_service_mode {
        HC_SERVICE_AUTO,    /* exposed only if every member offers it */
        HC_SERVICE_REQUIRE, /* exposed; a member lacking it refuses the pool */
        HC_SERVICE_DENY,    /* never exposed */
};

enum hc_legacy_mode {
        HC_LEGACY_REFUSE,  /* a member without bitmap registers refuses the pool */
        HC_LEGACY_EXCLUDE, /* such members are left out and listed */
};

enum hc_unknown_mode {
        HC_UNKNOWN_REFUSE, /* a member with firmware registers the catalog lacks refuses the pool */
        HC_UNKNOWN_IGNORE, /* they are listed as warnings */
};

/* Where a setting came from: line 0 means the default applied. */
struct hc_policy_pos {
        unsigned line, column;
};

struct hc_policy {
        char *pool;
        char *description; /* NULL when absent */
        char **include;    /* fnmatch(3) globs on host names, at least one */
        size_t n_include;
        char **exclude;
        size_t n_exclude;
        enum hc_service_mode *services; /* indexed like hc_service_get(), hc_service_count() long */
        struct hc_policy_pos *service_pos;
        bool has_psci_max;
        uint32_t psci_max;
        struct hc_policy_pos psci_max_pos;
        enum hc_legacy_mode legacy_hosts;
        struct hc_policy_pos legacy_hosts_pos;
        enum hc_unknown_mode unknown_registers;
        struct hc_policy_pos unknown_registers_pos;
        int64_t max_record_age; /* seconds; 0 when not set */
        struct hc_policy_pos max_record_age_pos;
        struct hc_policy_pos pool_pos;
        char *origin; /* the file it came from, for messages */
};

struct hc_policy *hc_policy_new(void);
struct hc_policy *hc_policy_free(struct hc_policy *p);
HC_DEFINE_CLEANUP(struct hc_policy *, hc_policy_free)

/* Parses and validates one policy document; origin names the input in errors. */
int hc_policy_parse(const char *text, size_t len, const char *origin, struct hc_policy **ret,
                    struct hc_error *err);
int hc_policy_load(const char *path, struct hc_policy **ret, struct hc_error *err);

/* Whether a host name is a member: matches an include glob and no exclude glob. */
bool hc_policy_matches(const struct hc_policy *p, const char *host);

const char *hc_service_mode_to_string(enum hc_service_mode m);
const char *hc_legacy_mode_to_string(enum hc_legacy_mode m);
const char *hc_unknown_mode_to_string(enum hc_unknown_mode m);
/* "24h", "30m", "7d" or "3600s" -> seconds (> 0).  -EINVAL or -ERANGE. */
int hc_parse_duration(const char *s, int64_t *ret);

/*
 * Appends the policy's canonical serialisation to b: every setting, defaults
 * made explicit, in a fixed order, each string length-prefixed.  Comments,
 * layout, key order and the file name do not matter.  0 or -ENOMEM.
 */
int hc_policy_canonical(const struct hc_policy *p, struct hc_buf *b);

/* A set of policies, sorted by pool name, pool names unique. */
struct hc_policy_set {
        struct hc_policy **policies;
        size_t n;
};

void hc_policy_set_done(struct hc_policy_set *set);
/* Appends (taking ownership); -EEXIST with err naming both files when the pool is taken. */
int hc_policy_set_add(struct hc_policy_set *set, struct hc_policy *p, struct hc_error *err);
void hc_policy_set_sort(struct hc_policy_set *set);
const struct hc_policy *hc_policy_set_find(const struct hc_policy_set *set, const char *pool);
/*
 * Loads every *.yaml in dir (sorted by file name); any bad file fails the
 * whole load with its error, nothing half-loaded.
 */
int hc_policy_set_load_dir(const char *dir, struct hc_policy_set *ret, struct hc_error *err);

/* Paths "dir/name" of the regular files in dir whose name ends in suffix, sorted by name. */
int hc_policy_list_files(const char *dir, const char *suffix, char ***ret, size_t *ret_n,
                         struct hc_error *err);
void hc_policy_strv_free(char **v, size_t n);

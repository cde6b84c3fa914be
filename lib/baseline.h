/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The fleet baseline: for each pool, the firmware register values every new
 * VM in it must get so that it can live-migrate to any member without losing
 * a service (kvm-abi.md §8, §10).  Per register kind, over the pool's member
 * records:
 *
 *   bitmaps     AND of the members' values, then the policy's deny bits cleared
 *   PSCI        the lowest member version, capped by psci.max
 *   workaround  not pushed (KVM only validates them); the lowest level is
 *               reported as the pool's floor and feeds the migration matrix
 *
 * A register appears in the result only when every member has it.  A pool is
 * refused, naming the hosts, when a required service is missing, a member is
 * a legacy host (legacy_hosts: refuse), carries firmware registers the catalog
 * does not know (unknown_registers: refuse), has a record older than
 * max_record_age, also matches another pool, or when no host is left.
 *
 * A host matching two pools refuses both: a host belongs to one migration
 * domain, and guessing which would silently widen or narrow the other.  The
 * remaining pools are still computed; the overlap is reported in each.
 *
 * Results borrow the records and policies they were computed from; keep those
 * alive while the result is used.
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "hc-error.h"
#include "policy.h"
#include "record.h"
#include "sha256.h"

#define HC_BASELINE_SCHEMA "hypercall.baseline/v1"
#define HC_BASELINE_DIGEST_MAX (sizeof("sha256:") + 2 * HC_SHA256_DIGEST_SIZE)

/* Why a service is not exposed. */
enum hc_why {
        HC_WHY_NONE,    /* exposed */
        HC_WHY_POLICY,  /* the policy denies it */
        HC_WHY_LACKING, /* some members do not offer it (listed) */
        HC_WHY_REFUSED, /* the pool is refused, so nothing is exposed */
};

/* A refusal or warning: stable code, one-line message, the hosts responsible. */
struct hc_issue {
        char *code;
        char *message;
        char **hosts;
        size_t n_hosts;
};

struct hc_service_result {
        bool exposed;
        enum hc_why why;
        const struct hc_record **lacking; /* members without the bit or its register */
        size_t n_lacking;
};

struct hc_pool_result {
        const struct hc_policy *policy;
        bool refused;
        const struct hc_record **members;  /* every host the globs matched, by name */
        size_t n_members;
        const struct hc_record **hosts;    /* members the baseline is computed over */
        size_t n_hosts;
        const struct hc_record **excluded; /* legacy members left out (legacy_hosts: exclude) */
        size_t n_excluded;
        /* Pushed registers (PSCI, bitmaps), indexed like the catalog. */
        bool has_value[HC_REG_MAX];
        uint64_t value[HC_REG_MAX];
        /* Workaround floors: the lowest level (in KVM's order) among the hosts. */
        bool has_floor[HC_REG_MAX];
        uint64_t floor[HC_REG_MAX];
        struct hc_service_result *services; /* indexed like hc_service_get() */
        struct hc_issue *errors;
        size_t n_errors;
        struct hc_issue *warnings;
        size_t n_warnings;
};

struct hc_baseline {
        char digest[HC_BASELINE_DIGEST_MAX]; /* "sha256:<hex>" */
        struct hc_pool_result *pools; /* sorted by pool name */
        size_t n_pools;
        const struct hc_record **unassigned; /* hosts no pool claims, by name */
        size_t n_unassigned;
};

/*
 * Computes the baseline of every pool (or only pool when not NULL; -ENOENT
 * with err when no policy defines it).  records must be sorted by host and
 * unique (as in a hc_record_set); now is the evaluation time for
 * max_record_age, passed in so results are reproducible.
 *
 * The digest is SHA-256 over this text, so it identifies everything that
 * decides the output and nothing else:
 *
 *   "hypercall.baseline/v1\n"
 *   "pool <len>:<name>\n"                    only when one pool was asked for
 *   for each policy, by pool name:           hc_policy_canonical()
 *   for each record, by host name:           record fields, each length-prefixed:
 *       host, kernel, probed_at, midr, kvm_mode, then per catalog register
 *       "reg <name> absent" or "reg <name> <value> [default <value>]", then
 *       "unknown <id>" per unknown firmware register, "end"
 *   "stale <pool> <host>\n"                  per record older than its pool's
 *                                            max_record_age at `now`, or dated
 *                                            more than max_record_age after it
 *
 * The clock enters only through the staleness verdicts, so running twice over
 * the same files gives the same digest until a record actually goes stale.
 * The record's file name does not enter, nor do comments or layout of the
 * policy files.
 */
int hc_baseline_compute(const struct hc_record *const *records, size_t n_records,
                        const struct hc_policy_set *policies, const char *pool, int64_t now,
                        struct hc_baseline **ret, struct hc_error *err);
struct hc_baseline *hc_baseline_free(struct hc_baseline *b);
HC_DEFINE_CLEANUP(struct hc_baseline *, hc_baseline_free)

const struct hc_pool_result *hc_baseline_find(const struct hc_baseline *b, const char *pool);

/*
 * One pool over an explicit member list (sorted by host, unique), as when a
 * host is tried in a pool it does not yet belong to.  Membership overlaps
 * with other pools are not judged here.
 */
int hc_pool_compute(const struct hc_policy *policy, const struct hc_record *const *members,
                    size_t n_members, int64_t now, struct hc_pool_result *ret);
void hc_pool_result_done(struct hc_pool_result *p);

/* The hypercall.baseline/v1 document; NULL only when out of memory. */
json_object *hc_baseline_to_json(const struct hc_baseline *b);
/* One element of "pools". */
json_object *hc_pool_result_to_json(const struct hc_pool_result *p);

const char *hc_why_to_string(enum hc_why why);

/*
 * The value a VM started on host under this pool carries for register i:
 * the pool's value when it pushes one, else the host's default for a new VM
 * (workarounds: the host's level).  false when the host lacks the register.
 */
bool hc_pool_vm_value(const struct hc_pool_result *p, const struct hc_record *host, size_t i,
                      uint64_t *ret);

/* "db-01 (6.1.0-56-arm64), db-02 (7.3.4+deb13-arm64) and 3 more"; caller frees. */
char *hc_hosts_phrase(const struct hc_record *const *hosts, size_t n, size_t max_named);

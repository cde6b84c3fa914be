/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The baseline file, /var/lib/hypercall/baseline.json: the document the
 * daemon keeps current and the VM-start path reads.  It is the
 * hypercall.baseline/v1 document (see `hypercallctl baseline --json`) with
 * three additions, all written by this module:
 *
 *   top level  "generation": N   bumped each time any pool's values change
 *   per pool   "generation": N   the generation at which this pool's values last changed
 *   per pool   "digest": "sha256:..."
 *                                identifies the pool's pushed values (status and every
 *                                catalog register present/value); equal digests, equal
 *                                values.  A VM's plan stamps it to tell later whether
 *                                the pool moved under the VM.
 *   per pool   "last_known_good": {"reason": "...", "since": "2026-..Z"}   (optional)
 *                                present when the pool's newest computation failed
 *                                (bad policy edit, refused pool): the values are the
 *                                last good ones, the reason says why they were kept.
 *
 * Loading validates the whole document or loads nothing; errors read
 * "path: pools[2].registers.STD_BMAP: expected ...".  Saving is atomic
 * (temp file, fsync, rename): readers see the old or the new file, never a
 * torn one, and a saved file always passes the loader (it is re-read before
 * the rename).
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "hc-error.h"

#define HC_BASELINE_FILE_SCHEMA "hypercall.baseline/v1"
#define HC_BASELINE_FILE_PATH   "/var/lib/hypercall/baseline.json"
#define HC_DIGEST_MAX           (7 + 64 + 1) /* "sha256:" + hex + NUL */

enum hc_pool_status {
        HC_POOL_OK,      /* registers are set: VMs may start with them */
        HC_POOL_REFUSED, /* no registers: VMs in this pool must not start */
};

/* One pushed register of a pool: only non-workaround catalog registers are pushed. */
struct hc_pool_reg {
        bool present; /* false: the register is not present on every member, do not set it */
        uint64_t value;
};

/* What the VM-start path needs of one pool; pointers live as long as the file object. */
struct hc_baseline_pool {
        const char *pool;
        enum hc_pool_status status;
        uint64_t generation;                /* when these values last changed */
        char digest[HC_DIGEST_MAX];         /* "sha256:<hex>" of status + regs */
        struct hc_pool_reg regs[HC_REG_MAX]; /* indexed like the catalog */
        const char *kept_reason;            /* non-NULL: last-known-good values, kept because ... */
        json_object *json;                  /* the pool's object in the document (borrowed) */
};

struct hc_baseline_file {
        uint64_t generation;
        const char *digest;              /* the computation's input digest */
        struct hc_baseline_pool *pools;  /* sorted by name */
        size_t n_pools;
        json_object *doc;                /* the whole validated document, owned */
};

struct hc_baseline_file *hc_baseline_file_free(struct hc_baseline_file *f);
HC_DEFINE_CLEANUP(struct hc_baseline_file *, hc_baseline_file_free)

/* Parses and validates; origin names the input in errors.  The result owns its own copy. */
int hc_baseline_file_parse(const char *text, size_t len, const char *origin,
                           struct hc_baseline_file **ret, struct hc_error *err);
/* Reads path (NULL: HC_BASELINE_FILE_PATH).  -ENOENT when there is no file yet. */
int hc_baseline_file_load(const char *path, struct hc_baseline_file **ret, struct hc_error *err);

/* The pool called name, or NULL. */
const struct hc_baseline_pool *hc_baseline_file_find(const struct hc_baseline_file *f,
                                                     const char *name);

/*
 * The lookup the VM-start path does: 0 and *ret for an "ok" pool; -ENOENT
 * when the file has no such pool; -EPERM when the pool is refused (*ret is
 * still set, its JSON has the errors).  err says which in one line.
 */
int hc_baseline_file_lookup(const struct hc_baseline_file *f, const char *name,
                            const struct hc_baseline_pool **ret, struct hc_error *err);

/* Canonical text (pretty JSON + newline); NULL only when out of memory. */
char *hc_baseline_file_to_string(const struct hc_baseline_file *f);
/* Writes atomically with mode 0644 after re-validating the text it writes. */
int hc_baseline_file_save(const struct hc_baseline_file *f, const char *path, struct hc_error *err);

/* "sha256:<hex>" over a pool's status and pushed registers (the per-pool "digest"). */
void hc_baseline_pool_digest(const char *pool, enum hc_pool_status status,
                             const struct hc_pool_reg regs[HC_REG_MAX], char out[HC_DIGEST_MAX]);

/* A pool whose policy could not be loaded at all in this round: keep what it had. */
struct hc_baseline_failure {
        const char *pool;
        const char *reason;
};

/* What an update changed, for signals and the journal; each list is NULL-terminated. */
struct hc_baseline_changes {
        char **changed; /* pools whose values (digest) changed, or that appeared or vanished */
        size_t n_changed;
        char **kept;    /* pools newly held at last-known-good in this update */
        size_t n_kept;
        char **refused; /* pools now refused with no last-known-good to fall back on */
        size_t n_refused;
};

void hc_baseline_changes_done(struct hc_baseline_changes *c);

/*
 * Builds the next file from a fresh hypercall.baseline/v1 document
 * (computed, borrowed) and the previous file (prev, may be NULL):
 *  - a pool "ok" in computed takes its new values; its generation is the
 *    new top-level generation when its digest changed, otherwise it keeps
 *    its old one;
 *  - a pool "refused" in computed, that was "ok" in prev, keeps prev's
 *    entry with "last_known_good" {"reason": first error's message};
 *  - a pool named in failures (its policy did not load) keeps prev's entry
 *    with "last_known_good" {"reason"}; absent from prev, it is left out;
 *  - a pool in neither (its policy was removed) is dropped.
 * The top-level generation is prev's + 1 when any pool's digest changed or
 * a pool appeared or vanished, else prev's (1 for the first file).  now is
 * the time written as "since" (seconds since the epoch, UTC).
 */
int hc_baseline_file_update(const struct hc_baseline_file *prev, json_object *computed,
                            const struct hc_baseline_failure *failures, size_t n_failures,
                            int64_t now, struct hc_baseline_file **ret,
                            struct hc_baseline_changes *changes, struct hc_error *err);

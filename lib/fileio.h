/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "hc-error.h"

/* Largest input file any parser accepts; bigger is an error, never a truncation. */
#define HC_FILE_MAX (16u * 1024u * 1024u)

/*
 * Reads a whole regular file (refusing directories, FIFOs and devices) into a
 * NUL-terminated buffer.  Returns 0 or -errno with err set to "path: why".
 */
int hc_read_file(const char *path, char **ret, size_t *ret_len, struct hc_error *err);

/* Who a written file belongs to. */
struct hc_owner {
        uid_t uid;
        gid_t gid;
};

/*
 * Paths "dir/name" of the entries in dir whose name ends in suffix (and is longer than it),
 * hidden ones left out, sorted by name (strcmp).  Returns 0 or -errno, setting nothing on
 * error: callers word their own message.  hc_strv_free() releases the list.
 */
int hc_list_dir(const char *dir, const char *suffix, char ***ret, size_t *ret_n);
void hc_strv_free(char **v, size_t n);

/*
 * Replaces path atomically: writes a temp file in the same directory, fsyncs
 * it, renames it over path and fsyncs the directory.  A crash at any point
 * leaves either the old or the new file, never a torn one.  The file belongs
 * to the caller (root, for the hook and the daemon).
 */
int hc_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode,
                         struct hc_error *err);

/*
 * The same, but the file belongs to owner (NULL: the caller).  The temp file
 * gets its mode and then its owner before any byte is written and long
 * before the rename, so path never names the file with another mode or
 * owner, not even for a moment.  Changing the owner needs CAP_CHOWN.
 */
int hc_write_file_atomic_owned(const char *path, const char *data, size_t len, mode_t mode,
                               const struct hc_owner *owner, struct hc_error *err);

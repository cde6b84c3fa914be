/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The atomic writer replaces a file so that its path names the old file or
 * the new one, whole, and (with an owner) only ever with the new file's
 * final owner and mode: the owner and mode are set on the temp file before
 * the rename.  The hook relies on it for plans only QEMU's user may read.
 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "hc-test.h"

/* Entries in dir besides "." and "..". */
static int entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        HC_ASSERT(d, "opendir %s", dir);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

HC_TEST(fileio__owned_write_replaces_the_file_with_its_owner_and_mode)
{
        char dir[] = "/tmp/hc-fileio-XXXXXX", path[64];
        struct hc_owner qemu =
            geteuid() == 0 ? (struct hc_owner){4242, 4243} : (struct hc_owner){getuid(), getgid()};
        struct hc_error err = {0};
        _cleanup_free_ char *text = NULL;
        struct stat st;

        HC_ASSERT(mkdtemp(dir), "mkdtemp");
        snprintf(path, sizeof(path), "%s/f", dir);
        HC_ASSERT(hc_write_file_atomic(path, "old\n", 4, 0644, &err) == 0, "%s", err.text);
        HC_ASSERT(hc_write_file_atomic_owned(path, "new\n", 4, 0400, &qemu, &err) == 0, "%s",
                  err.text);
        HC_ASSERT(stat(path, &st) == 0, "stat");
        HC_ASSERT_INTEQ(st.st_mode & 07777, 0400);
        HC_ASSERT_INTEQ(st.st_uid, qemu.uid);
        HC_ASSERT_INTEQ(st.st_gid, qemu.gid);
        HC_ASSERT(hc_read_file(path, &text, NULL, &err) == 0, "%s", err.text);
        HC_ASSERT_STREQ(text, "new\n");
        HC_ASSERT_INTEQ(entries(dir), 1);
        HC_ASSERT(unlink(path) == 0 && rmdir(dir) == 0, "cleanup");
}

/*
 * An owner the writer may not give (no CAP_CHOWN: as root, the test drops
 * its effective uid for the write) fails the write before the rename: the
 * old file stays, with its owner, and no temp file is left.  Were the owner
 * set after the rename, the new file would be in place with the wrong owner.
 */
HC_TEST(fileio__owned_write_that_cannot_chown_leaves_the_old_file_and_no_temp)
{
        char dir[] = "/tmp/hc-fileio-XXXXXX", path[64], expect[128];
        struct hc_owner other = {4242, 4243};
        struct hc_error err = {0};
        _cleanup_free_ char *text = NULL;
        uid_t me = geteuid();
        int r;

        HC_ASSERT(mkdtemp(dir), "mkdtemp");
        HC_ASSERT(chmod(dir, 0777) == 0, "chmod");
        snprintf(path, sizeof(path), "%s/f", dir);
        HC_ASSERT(hc_write_file_atomic(path, "old\n", 4, 0644, &err) == 0, "%s", err.text);
        if (me == 0)
                HC_ASSERT(setresuid(-1, 65534, -1) == 0, "seteuid(65534): %m");
        r = hc_write_file_atomic_owned(path, "new\n", 4, 0400, &other, &err);
        if (me == 0)
                HC_ASSERT(setresuid(-1, 0, -1) == 0, "seteuid(0): %m");
        HC_ASSERT_INTEQ(r, -EPERM);
        snprintf(expect, sizeof(expect), "%s: cannot write: Operation not permitted", path);
        HC_ASSERT_STREQ(err.text, expect);
        HC_ASSERT(hc_read_file(path, &text, NULL, &err) == 0, "%s", err.text);
        HC_ASSERT_STREQ(text, "old\n");
        HC_ASSERT_INTEQ(entries(dir), 1);
        HC_ASSERT(unlink(path) == 0 && rmdir(dir) == 0, "cleanup");
}

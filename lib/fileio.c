/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

int hc_read_file(const char *path, char **ret, size_t *ret_len, struct hc_error *err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        assert(path);
        assert(ret);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return hc_error_at(err, errno, path, 0, 0, "%s", strerror(errno));
        if (fstat(fd, &st) < 0)
                return hc_error_at(err, errno, path, 0, 0, "%s", strerror(errno));
        if (!S_ISREG(st.st_mode))
                return hc_error_at(err, EINVAL, path, 0, 0, "not a regular file");
        if ((size_t)st.st_size > HC_FILE_MAX)
                return hc_error_at(err, EFBIG, path, 0, 0, "larger than %u bytes", HC_FILE_MAX);
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return hc_error_at(err, ENOMEM, path, 0, 0, "out of memory");
        while (len < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hc_error_at(err, errno, path, 0, 0, "%s", strerror(errno));
                if (n == 0)
                        break; /* shrank while reading: parse what is there, the parser judges */
                len += (size_t)n;
        }
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

void hc_strv_free(char **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

HC_DEFINE_CLEANUP(DIR *, closedir)

int hc_list_dir(const char *dir, const char *suffix, char ***ret, size_t *ret_n)
{
        _cleanup_(closedirp) DIR *d = NULL;
        char **v = NULL;
        size_t n = 0, allocated = 0, ls = strlen(suffix);
        struct dirent *de;
        int k = 0;

        assert(dir);
        assert(ret);
        assert(ret_n);
        d = opendir(dir);
        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d))) {
                size_t l = strlen(de->d_name);

                if (de->d_name[0] == '.' || l <= ls || strcmp(de->d_name + l - ls, suffix) != 0)
                        continue;
                /* Doubling: a fleet store holds 100k records, one realloc each would be slow. */
                if (n == allocated) {
                        char **grown = reallocarray(v, allocated ? allocated * 2 : 16, sizeof(*v));

                        if (!grown) {
                                k = -ENOMEM;
                                break;
                        }
                        v = grown;
                        allocated = allocated ? allocated * 2 : 16;
                }
                if (asprintf(&v[n], "%s/%s", dir, de->d_name) < 0) {
                        k = -ENOMEM;
                        break;
                }
                n++;
        }
        if (k == 0 && errno)
                k = -errno;
        if (k < 0) {
                hc_strv_free(v, n);
                return k;
        }
        /* Same directory prefix on every path: this is the order of the names. */
        if (n > 1)
                qsort(v, n, sizeof(*v), cmp_str);
        *ret = v;
        *ret_n = n;
        return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

static int fsync_parent(const char *path)
{
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int dfd = -1;

        if (!copy)
                return -ENOMEM;
        dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        return fsync(dfd) < 0 ? -errno : 0;
}

int hc_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode,
                         struct hc_error *err)
{
        return hc_write_file_atomic_owned(path, data, len, mode, NULL, err);
}

int hc_write_file_atomic_owned(const char *path, const char *data, size_t len, mode_t mode,
                               const struct hc_owner *owner, struct hc_error *err)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        assert(path);
        assert(data || len == 0);
        if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
                tmp = NULL;
                return hc_error_at(err, ENOMEM, path, 0, 0, "out of memory");
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return hc_error_at(err, errno, path, 0, 0, "cannot create temporary file: %s",
                                   strerror(errno));
        /*
         * Mode first, then owner: mkostemp() made the file 0600 for us, and at
         * no point may anyone but us and the final owner open it.
         */
        r = fchmod(fd, mode) < 0 ? -errno : 0;
        if (r == 0 && owner && fchown(fd, owner->uid, owner->gid) < 0)
                r = -errno;
        if (r == 0)
                r = write_all(fd, data, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && close(TAKE_FD(fd)) < 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlink(tmp);
                return hc_error_at(err, -r, path, 0, 0, "cannot write: %s", strerror(-r));
        }
        r = fsync_parent(path);
        if (r < 0)
                return hc_error_at(err, -r, path, 0, 0, "written, but syncing its directory failed: %s",
                                   strerror(-r));
        return 0;
}

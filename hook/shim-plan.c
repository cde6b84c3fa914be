/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-plan.h"

/* The header lines, in the only order the writer uses. */
static const char *const header_keys[] = {"vm-uuid", "vm-name", "mode", "pool", "generation", "digest"};

__attribute__((format(printf, 5, 6))) static int fail(char *err, size_t err_len, const char *origin,
                                                      unsigned line, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (!err || err_len == 0)
                return -EINVAL;
        n = line ? snprintf(err, err_len, "%s:%u: ", origin, line) : snprintf(err, err_len, "%s: ", origin);
        if (n < 0 || (size_t)n >= err_len)
                return -EINVAL;
        va_start(ap, fmt);
        (void)vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* What we got, quoted and cut, for messages: never prints control bytes raw. */
static const char *shown(const char *s, size_t n, char *buf, size_t buf_len)
{
        size_t o = 0;

        if (n > 40)
                n = 40;
        for (size_t i = 0; i < n && o + 5 < buf_len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20 || c >= 0x7f)
                        o += (size_t)snprintf(buf + o, buf_len - o, "\\x%02x", c);
                else
                        buf[o++] = (char)c;
        }
        buf[o] = '\0';
        return buf;
}

static bool hexdigit(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool parse_uuid(const char *s, size_t n)
{
        if (n != 36)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return false;
                } else if (!hexdigit(s[i])) {
                        return false;
                }
        }
        return true;
}

static bool parse_dec(const char *s, size_t n, uint64_t *ret)
{
        uint64_t v = 0;

        if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        if (v > INT64_MAX)
                return false;
        *ret = v;
        return true;
}

/* "0x" + lowercase digits; exact: fixed 16 digits, else minimal (no leading zeros). */
static bool parse_hex(const char *s, size_t n, bool exact16, uint64_t *ret)
{
        uint64_t v = 0;

        if (n < 3 || s[0] != '0' || s[1] != 'x')
                return false;
        s += 2;
        n -= 2;
        if (exact16 ? n != 16 : (n > 16 || (n > 1 && s[0] == '0')))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!hexdigit(s[i]))
                        return false;
                v = v << 4 | (uint64_t)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
        }
        *ret = v;
        return true;
}

static bool pool_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.';
}

static bool regname_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int hc_shim_plan_parse(const char *text, size_t len, const char *origin, struct hc_shim_plan *out,
                       char *err, size_t err_len)
{
        const char *p = text, *end = text + len;
        unsigned line = 0;
        size_t header = 0;
        bool seen_end = false;
        char got[200];

        memset(out, 0, sizeof(*out));
        if (!origin)
                origin = "plan";
        if (len == 0)
                return fail(err, err_len, origin, 0, "expected a plan, got an empty file");
        if (len > HC_SHIM_PLAN_MAX_BYTES)
                return fail(err, err_len, origin, 0, "expected at most %d bytes, got %zu",
                            HC_SHIM_PLAN_MAX_BYTES, len);
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *val, *sp;
                size_t n, klen, vlen;

                line++;
                if (!nl)
                        return fail(err, err_len, origin, line,
                                    "expected the line to end with a newline (truncated file?), got \"%s\"",
                                    shown(p, (size_t)(end - p), got, sizeof(got)));
                n = (size_t)(nl - p);
                if (seen_end)
                        return fail(err, err_len, origin, line, "expected nothing after \"end\", got \"%s\"",
                                    shown(p, n, got, sizeof(got)));
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                                return fail(err, err_len, origin, line,
                                            "expected no control characters, got byte 0x%02x at column %zu",
                                            (unsigned char)p[i], i + 1);
                if (line == 1) {
                        if (n != strlen("hypercall-plan 1") || memcmp(p, "hypercall-plan 1", n) != 0)
                                return fail(err, err_len, origin, line,
                                            "expected \"hypercall-plan 1\", got \"%s\"", shown(p, n, got, sizeof(got)));
                        p = nl + 1;
                        continue;
                }
                if (n == 3 && memcmp(p, "end", 3) == 0) {
                        if (header < sizeof(header_keys) / sizeof(header_keys[0]))
                                return fail(err, err_len, origin, line, "expected \"%s ...\", got \"end\"",
                                            header_keys[header]);
                        seen_end = true;
                        p = nl + 1;
                        continue;
                }
                sp = memchr(p, ' ', n);
                if (!sp)
                        return fail(err, err_len, origin, line, "expected \"key value\", got \"%s\"",
                                    shown(p, n, got, sizeof(got)));
                klen = (size_t)(sp - p);
                val = sp + 1;
                vlen = n - klen - 1;
                if (header < sizeof(header_keys) / sizeof(header_keys[0])) {
                        const char *want = header_keys[header];
                        if (klen != strlen(want) || memcmp(p, want, klen) != 0)
                                return fail(err, err_len, origin, line, "expected \"%s ...\", got \"%s\"",
                                            want, shown(p, n, got, sizeof(got)));
                        switch (header) {
                        case 0:
                                if (!parse_uuid(val, vlen))
                                        return fail(err, err_len, origin, line,
                                                    "vm-uuid: expected a lowercase UUID, got \"%s\"",
                                                    shown(val, vlen, got, sizeof(got)));
                                memcpy(out->uuid, val, vlen);
                                break;
                        case 1:
                                if (vlen == 0 || vlen >= sizeof(out->name))
                                        return fail(err, err_len, origin, line,
                                                    "vm-name: expected 1 to 255 bytes, got %zu", vlen);
                                memcpy(out->name, val, vlen);
                                break;
                        case 2:
                                if (vlen == 5 && memcmp(val, "start", 5) == 0)
                                        out->incoming = 0;
                                else if (vlen == 8 && memcmp(val, "incoming", 8) == 0)
                                        out->incoming = 1;
                                else
                                        return fail(err, err_len, origin, line,
                                                    "mode: expected \"start\" or \"incoming\", got \"%s\"",
                                                    shown(val, vlen, got, sizeof(got)));
                                break;
                        case 3:
                                if (vlen == 0 || vlen >= sizeof(out->pool))
                                        return fail(err, err_len, origin, line,
                                                    "pool: expected a pool name of 1 to 64 characters, got \"%s\"",
                                                    shown(val, vlen, got, sizeof(got)));
                                for (size_t i = 0; i < vlen; i++)
                                        if (!pool_char(val[i]))
                                                return fail(err, err_len, origin, line,
                                                            "pool: expected letters, digits, \"-\", \"_\", \".\", got \"%s\"",
                                                            shown(val, vlen, got, sizeof(got)));
                                memcpy(out->pool, val, vlen);
                                break;
                        case 4:
                                if (!parse_dec(val, vlen, &out->generation))
                                        return fail(err, err_len, origin, line,
                                                    "generation: expected a decimal number, got \"%s\"",
                                                    shown(val, vlen, got, sizeof(got)));
                                break;
                        case 5: {
                                bool ok = vlen == 71 && memcmp(val, "sha256:", 7) == 0;
                                for (size_t i = 7; ok && i < vlen; i++)
                                        ok = hexdigit(val[i]);
                                if (!ok)
                                        return fail(err, err_len, origin, line,
                                                    "digest: expected \"sha256:\" and 64 lowercase hex digits, got \"%s\"",
                                                    shown(val, vlen, got, sizeof(got)));
                                memcpy(out->digest, val, vlen);
                                break;
                        }
                        }
                        header++;
                        p = nl + 1;
                        continue;
                }
                if (klen != 8 || memcmp(p, "register", 8) != 0)
                        return fail(err, err_len, origin, line, "expected \"register ...\" or \"end\", got \"%s\"",
                                    shown(p, n, got, sizeof(got)));
                {
                        const char *f[3];
                        size_t fl[3], nf = 0, start = 0;
                        struct hc_shim_reg *r;

                        for (size_t i = 0; i <= vlen; i++) {
                                if (i < vlen && val[i] != ' ')
                                        continue;
                                if (nf == 3) {
                                        nf = 4; /* too many fields */
                                        break;
                                }
                                f[nf] = val + start;
                                fl[nf] = i - start;
                                nf++;
                                start = i + 1;
                        }
                        if (nf != 3)
                                return fail(err, err_len, origin, line,
                                            "expected \"register NAME 0xID 0xVALUE\", got \"%s\"",
                                            shown(p, n, got, sizeof(got)));
                        if (out->n_regs >= HC_SHIM_PLAN_MAX_REGS)
                                return fail(err, err_len, origin, line, "expected at most %d registers",
                                            HC_SHIM_PLAN_MAX_REGS);
                        r = &out->regs[out->n_regs];
                        if (fl[0] == 0 || fl[0] >= sizeof(r->name))
                                return fail(err, err_len, origin, line,
                                            "expected a register name of 1 to 47 characters, got \"%s\"",
                                            shown(f[0], fl[0], got, sizeof(got)));
                        for (size_t i = 0; i < fl[0]; i++)
                                if (!regname_char(f[0][i]))
                                        return fail(err, err_len, origin, line,
                                                    "expected a register name (A-Z, 0-9, \"_\"), got \"%s\"",
                                                    shown(f[0], fl[0], got, sizeof(got)));
                        memcpy(r->name, f[0], fl[0]);
                        r->name[fl[0]] = '\0';
                        if (!parse_hex(f[1], fl[1], true, &r->id))
                                return fail(err, err_len, origin, line,
                                            "%s: expected an ID \"0x\" and 16 lowercase hex digits, got \"%s\"",
                                            r->name, shown(f[1], fl[1], got, sizeof(got)));
                        if (!parse_hex(f[2], fl[2], false, &r->value))
                                return fail(err, err_len, origin, line,
                                            "%s: expected a value \"0x\" and lowercase hex digits without leading zeros, got \"%s\"",
                                            r->name, shown(f[2], fl[2], got, sizeof(got)));
                        for (size_t i = 0; i < out->n_regs; i++) {
                                if (strcmp(out->regs[i].name, r->name) == 0)
                                        return fail(err, err_len, origin, line,
                                                    "expected each register once, got %s again", r->name);
                                if (out->regs[i].id == r->id)
                                        return fail(err, err_len, origin, line,
                                                    "expected each register ID once, got 0x%016" PRIx64 " again (%s)",
                                                    r->id, out->regs[i].name);
                        }
                        out->n_regs++;
                }
                p = nl + 1;
        }
        if (!seen_end)
                return fail(err, err_len, origin, line + 1, "expected \"end\" (truncated file?), got end of file");
        return 0;
}

static int check_one_dir(const char *dir, const char *what, char *err, size_t err_len)
{
        struct stat st;
        int e;

        if (lstat(dir, &st) < 0) {
                e = errno;
                (void)fail(err, err_len, dir, 0, "%s", strerror(e));
                return -e;
        }
        if (S_ISLNK(st.st_mode)) {
                (void)fail(err, err_len, dir, 0, "refusing %s that is a symbolic link", what);
                return -ELOOP;
        }
        if (!S_ISDIR(st.st_mode)) {
                (void)fail(err, err_len, dir, 0, "refusing %s that is not a directory", what);
                return -ENOTDIR;
        }
        if (st.st_mode & S_IWOTH) {
                (void)fail(err, err_len, dir, 0, "refusing %s that is world-writable (mode %04o)", what,
                           (unsigned)(st.st_mode & 07777));
                return -EPERM;
        }
        return 0;
}

int hc_shim_plan_dir_check(const char *dir, char *err, size_t err_len)
{
        char parent[4096];
        size_t n = strlen(dir);
        int r;

        while (n > 1 && dir[n - 1] == '/')
                n--;
        if (n >= sizeof(parent))
                return fail(err, err_len, "plan directory", 0, "expected a path of at most %zu bytes",
                            sizeof(parent) - 1);
        r = check_one_dir(dir, "a plan directory", err, err_len);
        if (r < 0)
                return r;
        memcpy(parent, dir, n);
        parent[n] = '\0';
        while (n > 0 && parent[n - 1] != '/')
                n--;
        while (n > 1 && parent[n - 1] == '/')
                n--;
        if (n == 0)
                return 0; /* a relative name: its parent is the working directory, not ours to judge */
        parent[n] = '\0';
        return check_one_dir(parent, "a plan directory's parent", err, err_len);
}

int hc_shim_plan_load(const char *path, struct hc_shim_plan *out, char *err, size_t err_len)
{
        char buf[HC_SHIM_PLAN_MAX_BYTES + 1];
        const char *slash = strrchr(path, '/');
        struct stat st;
        size_t len = 0;
        int fd, e, r;

        if (slash) {
                char dir[4096];
                size_t n = slash == path ? 1 : (size_t)(slash - path);

                if (n >= sizeof(dir))
                        return fail(err, err_len, path, 0, "expected a path of at most %zu bytes", sizeof(dir) - 1);
                memcpy(dir, path, n);
                dir[n] = '\0';
                r = hc_shim_plan_dir_check(dir, err, err_len);
                if (r < 0 && r != -ENOENT) /* missing: the open below names the plan */
                        return r;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0) {
                e = errno;
                if (e == ELOOP)
                        (void)fail(err, err_len, path, 0, "refusing a plan that is a symbolic link");
                else
                        (void)fail(err, err_len, path, 0, "%s", strerror(e));
                return -e;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return fail(err, err_len, path, 0, "expected a regular file");
        }
        if (st.st_mode & S_IWOTH) {
                close(fd);
                (void)fail(err, err_len, path, 0, "refusing a plan that is world-writable (mode %04o)",
                           (unsigned)(st.st_mode & 07777));
                return -EPERM;
        }
        while (len < sizeof(buf)) {
                ssize_t n = read(fd, buf + len, sizeof(buf) - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        e = errno;
                        close(fd);
                        (void)fail(err, err_len, path, 0, "%s", strerror(e));
                        return -e;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        close(fd);
        if (len > HC_SHIM_PLAN_MAX_BYTES)
                return fail(err, err_len, path, 0, "expected at most %d bytes", HC_SHIM_PLAN_MAX_BYTES);
        return hc_shim_plan_parse(buf, len, path, out, err, err_len);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "daemon-config.h"
#include "fileio.h"

#define USEC_PER_SEC 1000000ULL

int hcd_config_set_string(char **dst, const char *src)
{
        char *copy = NULL;

        if (src) {
                copy = strdup(src);
                if (!copy)
                        return -ENOMEM;
        }
        free(*dst);
        *dst = copy;
        return 0;
}

void hcd_config_done(struct hcd_config *c)
{
        free(c->state_dir);
        free(c->policy_dir);
        free(c->store);
        free(c->runtime_dir);
        free(c->plan_dir);
        free(c->record_file);
        free(c->host_name);
        free(c->libvirt_uri);
        *c = (struct hcd_config){0};
}

int hcd_config_init(struct hcd_config *c)
{
        *c = (struct hcd_config){
                .probe = HCD_PROBE_AUTO,
                .probe_interval_usec = 6 * 3600 * USEC_PER_SEC,
                .rescan_interval_usec = 60 * USEC_PER_SEC,
                .settle_usec = 200 * 1000,
                .libvirt_retry_usec = 30 * USEC_PER_SEC,
        };
        if (hcd_config_set_string(&c->state_dir, "/var/lib/hypercall") < 0 ||
            hcd_config_set_string(&c->policy_dir, "/etc/hypercall/policy.d") < 0 ||
            hcd_config_set_string(&c->store, "dir:/var/lib/hypercall/fleet") < 0 ||
            hcd_config_set_string(&c->runtime_dir, "/run/hypercall") < 0 ||
            hcd_config_set_string(&c->plan_dir, "/run/hypercall/vm") < 0 ||
            hcd_config_set_string(&c->libvirt_uri, "qemu:///system") < 0) {
                hcd_config_done(c);
                return -ENOMEM;
        }
        return 0;
}

int hcd_parse_timespan(const char *s, uint64_t *ret_usec)
{
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                {"us", 1},         {"ms", 1000},       {"s", USEC_PER_SEC},
                {"sec", USEC_PER_SEC}, {"m", 60 * USEC_PER_SEC}, {"min", 60 * USEC_PER_SEC},
                {"h", 3600 * USEC_PER_SEC}, {"d", 86400 * USEC_PER_SEC},
        };
        const char *p = s;
        uint64_t n = 0;

        if (!isdigit((unsigned char)*p))
                return -EINVAL;
        for (; isdigit((unsigned char)*p); p++) {
                if (n > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                n = n * 10 + (uint64_t)(*p - '0');
        }
        if (*p == '\0') {
                if (n > UINT64_MAX / USEC_PER_SEC)
                        return -ERANGE;
                *ret_usec = n * USEC_PER_SEC;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcmp(p, units[i].suffix) == 0) {
                        if (n > UINT64_MAX / units[i].usec)
                                return -ERANGE;
                        *ret_usec = n * units[i].usec;
                        return 0;
                }
        return -EINVAL;
}

static char *strip(char *s)
{
        char *end;

        while (*s == ' ' || *s == '\t')
                s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                *--end = '\0';
        return s;
}

static bool printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
                        return false;
        return true;
}

enum key_kind {
        KEY_PATH,      /* absolute path */
        KEY_PATH_OPT,  /* absolute path, or empty for none */
        KEY_STRING,    /* free text, empty for none */
        KEY_TIMESPAN,
        KEY_PROBE,
};

struct key_def {
        const char *name;
        enum key_kind kind;
        size_t offset;
};

#define KEY(n, k, field) {n, k, offsetof(struct hcd_config, field)}
static const struct key_def keys[] = {
        KEY("StateDirectory", KEY_PATH, state_dir),
        KEY("PolicyDirectory", KEY_PATH, policy_dir),
        KEY("Store", KEY_STRING, store),
        KEY("RuntimeDirectory", KEY_PATH, runtime_dir),
        KEY("PlanDirectory", KEY_PATH, plan_dir),
        KEY("RecordFile", KEY_PATH_OPT, record_file),
        KEY("HostName", KEY_STRING, host_name),
        KEY("Probe", KEY_PROBE, probe),
        KEY("ProbeIntervalSec", KEY_TIMESPAN, probe_interval_usec),
        KEY("RescanIntervalSec", KEY_TIMESPAN, rescan_interval_usec),
        KEY("SettleSec", KEY_TIMESPAN, settle_usec),
        KEY("LibvirtURI", KEY_STRING, libvirt_uri),
        KEY("LibvirtRetrySec", KEY_TIMESPAN, libvirt_retry_usec),
};

static int apply(struct hcd_config *c, const struct key_def *k, const char *value,
                 const char *origin, unsigned line, struct hc_error *err)
{
        void *field = (char *)c + k->offset;
        uint64_t usec;
        int r;

        switch (k->kind) {
        case KEY_PATH:
        case KEY_PATH_OPT:
                if (value[0] == '\0' && k->kind == KEY_PATH_OPT)
                        return hcd_config_set_string(field, NULL) < 0
                                       ? hc_error_at(err, ENOMEM, origin, line, 0, "out of memory")
                                       : 0;
                if (value[0] != '/' || strstr(value, "/../") || !printable(value))
                        return hc_error_at(err, EINVAL, origin, line, 0,
                                           "%s=: expected an absolute path%s, got \"%s\"", k->name,
                                           k->kind == KEY_PATH_OPT ? " or nothing" : "", value);
                break;
        case KEY_STRING:
                if (!printable(value))
                        return hc_error_at(err, EINVAL, origin, line, 0,
                                           "%s=: expected printable text", k->name);
                if (value[0] == '\0')
                        return hcd_config_set_string(field, NULL) < 0
                                       ? hc_error_at(err, ENOMEM, origin, line, 0, "out of memory")
                                       : 0;
                break;
        case KEY_TIMESPAN:
                r = hcd_parse_timespan(value, &usec);
                if (r < 0)
                        return hc_error_at(err, EINVAL, origin, line, 0,
                                           "%s=: expected a time span like \"30s\", \"5min\", \"6h\" "
                                           "(units us, ms, s, min, h, d), got \"%s\"",
                                           k->name, value);
                *(uint64_t *)field = usec;
                return 0;
        case KEY_PROBE:
                if (strcmp(value, "auto") == 0)
                        *(enum hcd_probe_mode *)field = HCD_PROBE_AUTO;
                else if (strcmp(value, "yes") == 0)
                        *(enum hcd_probe_mode *)field = HCD_PROBE_YES;
                else if (strcmp(value, "no") == 0)
                        *(enum hcd_probe_mode *)field = HCD_PROBE_NO;
                else
                        return hc_error_at(err, EINVAL, origin, line, 0,
                                           "Probe=: expected auto, yes or no, got \"%s\"", value);
                return 0;
        }
        if (hcd_config_set_string(field, value) < 0)
                return hc_error_at(err, ENOMEM, origin, line, 0, "out of memory");
        return 0;
}

int hcd_config_parse(struct hcd_config *c, const char *text, size_t len, const char *origin,
                     struct hc_error *err)
{
        _cleanup_free_ char *copy = NULL;
        bool in_daemon = false;
        unsigned line = 0;
        char *save = NULL, *cur;

        if (memchr(text, '\0', len))
                return hc_error_at(err, EINVAL, origin, 0, 0, "expected text, found a NUL byte");
        copy = strndup(text, len);
        if (!copy)
                return hc_error_at(err, ENOMEM, origin, 0, 0, "out of memory");
        /* strsep keeps empty lines so line numbers stay right. */
        save = copy;
        while ((cur = strsep(&save, "\n"))) {
                char *l = strip(cur), *eq, *key, *value;
                const struct key_def *k = NULL;

                line++;
                if (l[0] == '\0' || l[0] == '#' || l[0] == ';')
                        continue;
                if (l[0] == '[') {
                        size_t n = strlen(l);
                        if (l[n - 1] != ']')
                                return hc_error_at(err, EINVAL, origin, line, 0,
                                                   "expected a section header like [Daemon]");
                        l[n - 1] = '\0';
                        if (strcmp(l + 1, "Daemon") != 0)
                                return hc_error_at(err, EINVAL, origin, line, 0,
                                                   "unknown section [%s]; expected [Daemon]", l + 1);
                        in_daemon = true;
                        continue;
                }
                eq = strchr(l, '=');
                if (!eq)
                        return hc_error_at(err, EINVAL, origin, line, 0,
                                           "expected Key=Value, a [Section] or a # comment");
                *eq = '\0';
                key = strip(l);
                value = strip(eq + 1);
                if (!in_daemon)
                        return hc_error_at(err, EINVAL, origin, line, 0,
                                           "%s= outside a section; expected it under [Daemon]", key);
                for (size_t i = 0; i < ELEMENTSOF(keys) && !k; i++)
                        if (strcmp(keys[i].name, key) == 0)
                                k = &keys[i];
                if (!k)
                        return hc_error_at(err, EINVAL, origin, line, 0,
                                           "unknown key \"%s\" in [Daemon]; expected one of "
                                           "StateDirectory, PolicyDirectory, Store, RuntimeDirectory, "
                                           "PlanDirectory, RecordFile, HostName, Probe, "
                                           "ProbeIntervalSec, RescanIntervalSec, SettleSec, "
                                           "LibvirtURI, LibvirtRetrySec",
                                           key);
                if (apply(c, k, value, origin, line, err) < 0)
                        return -EINVAL;
        }
        return 0;
}

static int apply_file(struct hcd_config *c, const char *path, bool must_exist, bool *found,
                      struct hc_error *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        *found = false;
        r = hc_read_file(path, &text, &len, err);
        if (r == -ENOENT && !must_exist)
                return 0;
        if (r < 0)
                return r;
        *found = true;
        return hcd_config_parse(c, text, len, path, err);
}

static int strv_add(char ***v, size_t *n, const char *s)
{
        char **grown = reallocarray(*v, *n + 2, sizeof(char *));

        if (!grown)
                return -ENOMEM;
        *v = grown;
        (*v)[*n] = strdup(s);
        if (!(*v)[*n])
                return -ENOMEM;
        (*v)[++*n] = NULL;
        return 0;
}

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

/* Drop-in names (NAME.conf) across the search dirs, unique, sorted; paths of the winners. */
static int collect_dropins(const char *root, const char *const *dirs, size_t n_dirs, char ***ret,
                           size_t *ret_n)
{
        char **names = NULL, **paths = NULL;
        size_t n_names = 0, n_paths = 0;
        int r = 0;

        for (size_t d = 0; d < n_dirs && r >= 0; d++) {
                _cleanup_free_ char *dir = NULL;
                struct dirent *de;
                DIR *dh;

                if (asprintf(&dir, "%s%s/%s.d", root, dirs[d], HCD_CONFIG_NAME) < 0) {
                        dir = NULL;
                        r = -ENOMEM;
                        break;
                }
                dh = opendir(dir);
                if (!dh)
                        continue;
                while ((de = readdir(dh))) {
                        size_t l = strlen(de->d_name);
                        bool seen = false;

                        if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".conf") != 0)
                                continue;
                        for (size_t i = 0; i < n_names && !seen; i++)
                                seen = strcmp(names[i], de->d_name) == 0;
                        if (seen)
                                continue; /* masked by an earlier (higher-priority) directory */
                        if (strv_add(&names, &n_names, de->d_name) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        {
                                _cleanup_free_ char *p = NULL;
                                if (asprintf(&p, "%s/%s", dir, de->d_name) < 0) {
                                        p = NULL;
                                        r = -ENOMEM;
                                        break;
                                }
                                if (strv_add(&paths, &n_paths, p) < 0) {
                                        r = -ENOMEM;
                                        break;
                                }
                        }
                }
                closedir(dh);
        }
        strv_free(names, n_names);
        if (r < 0) {
                strv_free(paths, n_paths);
                return r;
        }
        *ret = paths;
        *ret_n = n_paths;
        return 0;
}

static int cmp_basename(const void *a, const void *b)
{
        const char *x = strrchr(*(char *const *)a, '/'), *y = strrchr(*(char *const *)b, '/');

        return strcmp(x ? x + 1 : *(char *const *)a, y ? y + 1 : *(char *const *)b);
}

int hcd_config_load(struct hcd_config *c, const char *root, const char *path, char ***ret_files,
                    size_t *ret_n, struct hc_error *err)
{
        static const char *const dirs[] = {"/etc/hypercall", "/run/hypercall", "/usr/lib/hypercall"};
        struct hcd_config next;
        char **used = NULL, **dropins = NULL;
        size_t n_used = 0, n_dropins = 0;
        bool found;
        int r;

        r = hcd_config_init(&next);
        if (r < 0)
                return hc_error_set(err, ENOMEM, "out of memory");
        if (path) {
                r = apply_file(&next, path, true, &found, err);
                if (r >= 0 && strv_add(&used, &n_used, path) < 0)
                        r = hc_error_set(err, ENOMEM, "out of memory");
                goto done;
        }
        root = root ?: "";
        for (size_t d = 0; d < ELEMENTSOF(dirs); d++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s%s/%s", root, dirs[d], HCD_CONFIG_NAME) < 0) {
                        p = NULL;
                        r = hc_error_set(err, ENOMEM, "out of memory");
                        goto done;
                }
                r = apply_file(&next, p, false, &found, err);
                if (r < 0)
                        goto done;
                if (found) {
                        if (strv_add(&used, &n_used, p) < 0) {
                                r = hc_error_set(err, ENOMEM, "out of memory");
                                goto done;
                        }
                        break;
                }
        }
        r = collect_dropins(root, dirs, ELEMENTSOF(dirs), &dropins, &n_dropins);
        if (r < 0) {
                r = hc_error_set(err, ENOMEM, "out of memory");
                goto done;
        }
        if (n_dropins > 1)
                qsort(dropins, n_dropins, sizeof(char *), cmp_basename);
        for (size_t i = 0; i < n_dropins; i++) {
                r = apply_file(&next, dropins[i], true, &found, err);
                if (r < 0)
                        goto done;
                if (strv_add(&used, &n_used, dropins[i]) < 0) {
                        r = hc_error_set(err, ENOMEM, "out of memory");
                        goto done;
                }
        }
        r = 0;
done:
        strv_free(dropins, n_dropins);
        if (r < 0) {
                hcd_config_done(&next);
                strv_free(used, n_used);
                return r;
        }
        hcd_config_done(c);
        *c = next;
        if (ret_files) {
                *ret_files = used;
                if (ret_n)
                        *ret_n = n_used;
        } else {
                strv_free(used, n_used);
        }
        return 0;
}

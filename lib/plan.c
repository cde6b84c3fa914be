/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "plan.h"

static bool is_hex(char c, bool strict_lowercase)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
               (!strict_lowercase && c >= 'A' && c <= 'F');
}

bool hc_uuid_valid(const char *s, bool strict_lowercase)
{
        if (!s || strlen(s) != HC_UUID_LEN)
                return false;
        for (size_t i = 0; i < HC_UUID_LEN; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return false;
                } else if (!is_hex(s[i], strict_lowercase)) {
                        return false;
                }
        }
        return true;
}

bool hc_vm_name_valid(const char *s)
{
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > HC_VM_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

bool hc_pool_name_valid(const char *s)
{
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > HC_POOL_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.'))
                        return false;
        }
        return true;
}

static bool digest_valid(const char *s)
{
        if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
                return false;
        for (size_t i = 7; s[i]; i++)
                if (!is_hex(s[i], true))
                        return false;
        return true;
}

static int plan_check(const struct hc_plan *p, struct hc_error *err)
{
        if (!hc_uuid_valid(p->uuid, true))
                return hc_error_set(err, EINVAL, "plan: expected a lowercase UUID, got \"%s\"",
                                    p->uuid);
        if (!hc_vm_name_valid(p->name))
                return hc_error_set(err, EINVAL,
                                    "plan: expected a VM name of 1 to %d bytes without control characters",
                                    HC_VM_NAME_MAX);
        if (!hc_pool_name_valid(p->pool))
                return hc_error_set(err, EINVAL, "plan: expected a pool name, got \"%s\"", p->pool);
        if (!digest_valid(p->digest))
                return hc_error_set(err, EINVAL, "plan: expected a digest \"sha256:<64 hex>\", got \"%s\"",
                                    p->digest);
        if (p->generation > INT64_MAX)
                return hc_error_set(err, ERANGE, "plan: generation out of range");
        for (size_t i = 0; i < p->n_regs; i++) {
                int k = hc_catalog_find(p->regs[i].name);
                char why[128];

                if (k < 0 || hc_catalog_get((size_t)k)->id != p->regs[i].id)
                        return hc_error_set(err, EINVAL, "plan: register %s is not in the catalog",
                                            p->regs[i].name);
                if (!hc_value_valid(hc_catalog_get((size_t)k), p->regs[i].value, why, sizeof(why)))
                        return hc_error_set(err, EINVAL, "plan: %s: %s", p->regs[i].name, why);
        }
        return 0;
}

int hc_plan_init(struct hc_plan *p, const char *uuid, const char *name, const char *pool,
                 struct hc_error *err)
{
        *p = (struct hc_plan){.mode = HC_PLAN_START};
        if (!hc_uuid_valid(uuid, false))
                return hc_error_set(err, EINVAL, "expected a UUID, got \"%s\"", uuid);
        for (size_t i = 0; i <= HC_UUID_LEN; i++)
                p->uuid[i] = (char)(uuid[i] >= 'A' && uuid[i] <= 'F' ? uuid[i] - 'A' + 'a' : uuid[i]);
        if (!hc_vm_name_valid(name))
                return hc_error_set(err, EINVAL,
                                    "expected a VM name of 1 to %d bytes without control characters",
                                    HC_VM_NAME_MAX);
        memcpy(p->name, name, strlen(name) + 1);
        if (!hc_pool_name_valid(pool))
                return hc_error_set(err, EINVAL, "expected a pool name, got \"%s\"", pool);
        memcpy(p->pool, pool, strlen(pool) + 1);
        return 0;
}

int hc_plan_from_pool(struct hc_plan *p, const char *uuid, const char *name,
                      const struct hc_baseline_pool *pool, struct hc_error *err)
{
        int r;

        assert(p);
        assert(pool);
        r = hc_plan_init(p, uuid, name, pool->pool, err);
        if (r < 0)
                return r;
        if (pool->status != HC_POOL_OK)
                return hc_error_set(err, EPERM, "pool %s is refused", pool->pool);
        p->generation = pool->generation;
        memcpy(p->digest, pool->digest, sizeof(p->digest));
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_register *reg = hc_catalog_get(i);

                if (reg->kind == HC_KIND_WORKAROUND || !pool->regs[i].present)
                        continue;
                p->regs[p->n_regs++] =
                        (struct hc_plan_reg){.name = reg->name, .id = reg->id, .value = pool->regs[i].value};
        }
        return plan_check(p, err);
}

int hc_plan_set(struct hc_plan *p, const char *reg_name, uint64_t value, struct hc_error *err)
{
        const struct hc_register *reg;
        size_t at;
        int k;

        assert(p);
        k = hc_catalog_find(reg_name);
        if (k < 0)
                return hc_error_set(err, ENOENT, "register %s is not in the catalog", reg_name);
        reg = hc_catalog_get((size_t)k);
        if (reg->kind == HC_KIND_WORKAROUND)
                return hc_error_set(err, EINVAL, "%s is a workaround level: KVM validates it, it is never set",
                                    reg_name);
        /* Keep catalog order: find the slot, insert or replace. */
        for (at = 0; at < p->n_regs; at++) {
                int j = hc_catalog_find(p->regs[at].name);
                if (j == k) {
                        p->regs[at].value = value;
                        return 0;
                }
                if (j > k)
                        break;
        }
        if (p->n_regs >= HC_REG_MAX)
                return hc_error_set(err, E2BIG, "too many registers");
        memmove(&p->regs[at + 1], &p->regs[at], (p->n_regs - at) * sizeof(p->regs[0]));
        p->regs[at] = (struct hc_plan_reg){.name = reg->name, .id = reg->id, .value = value};
        p->n_regs++;
        return 0;
}

char *hc_plan_to_text(const struct hc_plan *p)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        assert(p);
        f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        fprintf(f, "%s\n", HC_PLAN_MAGIC);
        fprintf(f, "vm-uuid %s\n", p->uuid);
        fprintf(f, "vm-name %s\n", p->name);
        fprintf(f, "mode %s\n", p->mode == HC_PLAN_INCOMING ? "incoming" : "start");
        fprintf(f, "pool %s\n", p->pool);
        fprintf(f, "generation %" PRIu64 "\n", p->generation);
        fprintf(f, "digest %s\n", p->digest);
        for (size_t i = 0; i < p->n_regs; i++)
                fprintf(f, "register %s 0x%016" PRIx64 " 0x%" PRIx64 "\n", p->regs[i].name,
                        p->regs[i].id, p->regs[i].value);
        fprintf(f, "end\n");
        if (ferror(f)) {
                fclose(f);
                free(buf);
                return NULL;
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

char *hc_plan_path(const char *dir, const char *uuid)
{
        char *path;

        if (asprintf(&path, "%s/%s.plan", dir, uuid) < 0)
                return NULL;
        return path;
}

int hc_plan_save(const struct hc_plan *p, const char *dir, const struct hc_owner *owner,
                 struct hc_error *err)
{
        _cleanup_free_ char *text = NULL, *path = NULL;
        int r;

        assert(p);
        assert(dir);
        r = plan_check(p, err);
        if (r < 0)
                return r;
        text = hc_plan_to_text(p);
        path = hc_plan_path(dir, p->uuid);
        if (!text || !path)
                return hc_error_set(err, ENOMEM, "out of memory");
        return hc_write_file_atomic_owned(path, text, strlen(text), HC_PLAN_MODE, owner, err);
}

int hc_plan_remove(const char *dir, const char *uuid)
{
        _cleanup_free_ char *path = NULL;

        if (!hc_uuid_valid(uuid, false))
                return -EINVAL;
        path = hc_plan_path(dir, uuid);
        if (!path)
                return -ENOMEM;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "domain-meta.h"
#include "domxml.h"
#include "plan.h"

struct hc_domain_meta *hc_domain_meta_free(struct hc_domain_meta *m)
{
        if (!m)
                return NULL;
        free(m->name);
        free(m->arch);
        free(m->emulator);
        free(m->ld_preload);
        free(m->pool);
        free(m->dac_label);
        free(m);
        return NULL;
}

__attribute__((format(printf, 4, 5))) static int at(const char *origin, const struct hc_xml_node *n,
                                                     struct hc_error *err, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return hc_error_at(err, EINVAL, origin, n->line, n->column, "%s", msg);
}

/* Only the listed attributes (plus namespace declarations) are allowed. */
static int only_attrs(const char *origin, const struct hc_xml_node *n, const char *const *allowed,
                      size_t n_allowed, struct hc_error *err)
{
        for (size_t i = 0; i < n->n_attrs; i++) {
                const char *a = n->attrs[i].name;
                bool ok = strcmp(a, "xmlns") == 0 || strncmp(a, "xmlns:", 6) == 0;

                for (size_t j = 0; !ok && j < n_allowed; j++)
                        ok = strcmp(a, allowed[j]) == 0;
                if (!ok)
                        return hc_error_at(err, EINVAL, origin, n->attrs[i].line, n->attrs[i].column,
                                           "<%s>: expected only the attributes %s%s%s, got \"%s\"", n->name,
                                           allowed[0], n_allowed > 1 ? " and " : "",
                                           n_allowed > 1 ? allowed[1] : "", a);
        }
        return 0;
}

static char *trimmed(const char *s)
{
        size_t a = 0, b = strlen(s);

        while (s[a] == ' ' || s[a] == '\n' || s[a] == '\t' || s[a] == '\r')
                a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\n' || s[b - 1] == '\t' || s[b - 1] == '\r'))
                b--;
        return strndup(s + a, b - a);
}

static bool only_space(const char *s)
{
        for (; *s; s++)
                if (!(*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r'))
                        return false;
        return true;
}

static int parse_applied(struct hc_domain_meta *m, const struct hc_xml_node *ap, const char *origin,
                         struct hc_error *err)
{
        static const char *const attrs[] = {"generation", "digest"};
        const char *gen = hc_xml_attr(ap, "generation"), *dig = hc_xml_attr(ap, "digest");
        char *end = NULL;
        int r;

        r = only_attrs(origin, ap, attrs, ELEMENTSOF(attrs), err);
        if (r < 0)
                return r;
        if (!gen || !gen[0] || gen[0] == '-' || gen[0] == '+' || (gen[0] == '0' && gen[1]))
                return at(origin, ap, err, "<%s>: expected generation=\"N\" (a decimal number)", ap->name);
        errno = 0;
        m->applied_generation = strtoull(gen, &end, 10);
        if (errno || *end || m->applied_generation > INT64_MAX)
                return at(origin, ap, err, "<%s>: expected generation=\"N\" (a decimal number), got \"%s\"",
                          ap->name, gen);
        if (!dig || strlen(dig) != HC_DIGEST_MAX - 1 || strncmp(dig, "sha256:", 7) != 0 ||
            strspn(dig + 7, "0123456789abcdef") != 64)
                return at(origin, ap, err, "<%s>: expected digest=\"sha256:<64 lowercase hex digits>\", got \"%s\"",
                          ap->name, dig ? dig : "(none)");
        memcpy(m->applied_digest, dig, HC_DIGEST_MAX);
        if (!only_space(ap->text))
                return at(origin, ap, err, "<%s>: expected only <register> elements, got text", ap->name);
        for (const struct hc_xml_node *c = ap->children; c; c = c->next) {
                static const char *const rattrs[] = {"name", "value"};
                const char *name = hc_xml_attr(c, "name"), *value = hc_xml_attr(c, "value");
                char why[160];
                uint64_t v;
                int k;

                if (!c->ns || strcmp(c->ns, HC_XMLNS_VM) != 0 || strcmp(c->local, "register") != 0)
                        return at(origin, c, err, "<%s>: expected only <register> elements, got <%s>", ap->name,
                                  c->name);
                r = only_attrs(origin, c, rattrs, ELEMENTSOF(rattrs), err);
                if (r < 0)
                        return r;
                k = name ? hc_catalog_find(name) : -ENOENT;
                if (k < 0)
                        return at(origin, c, err, "<register>: expected name=\"REGISTER\" from the catalog, got \"%s\"",
                                  name ? name : "(none)");
                if (!value || hc_parse_hex(value, &v) < 0)
                        return at(origin, c, err, "<register name=\"%s\">: expected value=\"0x...\", got \"%s\"", name,
                                  value ? value : "(none)");
                if (!hc_value_valid(hc_catalog_get((size_t)k), v, why, sizeof(why)))
                        return at(origin, c, err, "<register name=\"%s\">: %s", name, why);
                if (m->applied[k].present)
                        return at(origin, c, err, "<register>: expected each register once, got %s again", name);
                m->applied[k] = (struct hc_pool_reg){.present = true, .value = v};
        }
        m->has_applied = true;
        return 0;
}

static int parse_vm(struct hc_domain_meta *m, const struct hc_xml_node *vm, const char *origin,
                    struct hc_error *err)
{
        static const char *const attrs[] = {"pool"};
        const char *pool = hc_xml_attr(vm, "pool");
        int r;

        r = only_attrs(origin, vm, attrs, ELEMENTSOF(attrs), err);
        if (r < 0)
                return r;
        if (!pool || !hc_pool_name_valid(pool))
                return at(origin, vm, err,
                          "<%s>: expected pool=\"NAME\" (letters, digits, \"-\", \"_\", \".\"; up to 64), got \"%s\"",
                          vm->name, pool ? pool : "(none)");
        m->pool = strdup(pool);
        if (!m->pool)
                return hc_error_set(err, ENOMEM, "out of memory");
        if (!only_space(vm->text))
                return at(origin, vm, err, "<%s>: expected no text", vm->name);
        for (const struct hc_xml_node *c = vm->children; c; c = c->next) {
                if (!c->ns || strcmp(c->ns, HC_XMLNS_VM) != 0 || strcmp(c->local, "applied") != 0 ||
                    m->has_applied)
                        return at(origin, c, err, "<%s>: expected at most one <applied> element, got <%s>", vm->name,
                                  c->name);
                r = parse_applied(m, c, origin, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int hc_domain_meta_parse(const char *xml, size_t len, const char *origin, struct hc_domain_meta **ret,
                         struct hc_error *err)
{
        _cleanup_(hc_xml_freep) struct hc_xml_node *root = NULL;
        _cleanup_(hc_domain_meta_freep) struct hc_domain_meta *m = NULL;
        const struct hc_xml_node *n, *os, *type, *devices, *meta, *cmd;
        _cleanup_free_ char *uuid = NULL;
        int r;

        assert(ret);
        if (!origin)
                origin = "domain XML";
        r = hc_xml_parse(xml, len, origin, &root, err);
        if (r < 0)
                return r;
        if (strcmp(root->local, "domain") != 0 || root->ns)
                return at(origin, root, err, "expected the root element <domain>, got <%s>", root->name);
        m = calloc(1, sizeof(*m));
        if (!m)
                return hc_error_set(err, ENOMEM, "out of memory");

        n = hc_xml_child(root, NULL, "name");
        if (!n)
                /* cppcheck-suppress memleak ; m is freed by its _cleanup_ */
                return at(origin, root, err, "<domain>: expected a <name> element");
        m->name = trimmed(n->text);
        if (!m->name)
                /* cppcheck-suppress memleak ; m is freed by its _cleanup_ */
                return hc_error_set(err, ENOMEM, "out of memory");
        if (!hc_vm_name_valid(m->name))
                /* cppcheck-suppress memleak ; m is freed by its _cleanup_ */
                return at(origin, n, err, "<name>: expected 1 to 255 bytes without control characters");

        n = hc_xml_child(root, NULL, "uuid");
        if (!n)
                /* cppcheck-suppress memleak ; m is freed by its _cleanup_ */
                return at(origin, root, err, "<domain>: expected a <uuid> element");
        uuid = trimmed(n->text);
        if (!uuid)
                /* cppcheck-suppress memleak ; m is freed by its _cleanup_ */
                return hc_error_set(err, ENOMEM, "out of memory");
        if (!hc_uuid_valid(uuid, false))
                /* cppcheck-suppress memleak ; m is freed by its _cleanup_ */
                return at(origin, n, err, "<uuid>: expected 8-4-4-4-12 hex digits, got \"%s\"", uuid);
        for (size_t i = 0; i < 36; i++)
                m->uuid[i] = (char)(uuid[i] >= 'A' && uuid[i] <= 'F' ? uuid[i] - 'A' + 'a' : uuid[i]);

        os = hc_xml_child(root, NULL, "os");
        type = hc_xml_child(os, NULL, "type");
        if (type && hc_xml_attr(type, "arch")) {
                m->arch = strdup(hc_xml_attr(type, "arch"));
                if (!m->arch)
                        return hc_error_set(err, ENOMEM, "out of memory");
        }
        devices = hc_xml_child(root, NULL, "devices");
        n = hc_xml_child(devices, NULL, "emulator");
        if (n) {
                m->emulator = trimmed(n->text);
                if (!m->emulator)
                        return hc_error_set(err, ENOMEM, "out of memory");
        }
        cmd = hc_xml_child(root, HC_XMLNS_QEMU, "commandline");
        for (const struct hc_xml_node *c = cmd ? cmd->children : NULL; c; c = c->next) {
                const char *name = hc_xml_attr(c, "name");
                if (!c->ns || strcmp(c->ns, HC_XMLNS_QEMU) != 0 || strcmp(c->local, "env") != 0 || !name ||
                    strcmp(name, "LD_PRELOAD") != 0)
                        continue;
                free(m->ld_preload);
                m->ld_preload = strdup(hc_xml_attr(c, "value") ? hc_xml_attr(c, "value") : "");
                if (!m->ld_preload)
                        return hc_error_set(err, ENOMEM, "out of memory");
        }
        /*
         * The domain's own labels are <domain><seclabel>, one per model; the
         * <seclabel> of a disk or a chardev is a child of that device.  Kept
         * as text: only the hook's start path judges it, so an unusual label
         * on a domain hypercall does not manage never fails its other hooks.
         */
        for (const struct hc_xml_node *c = root->children; c; c = c->next) {
                const char *model = hc_xml_attr(c, "model");
                const struct hc_xml_node *label;

                if (c->ns || strcmp(c->local, "seclabel") != 0 || !model ||
                    strcmp(model, "dac") != 0)
                        continue;
                label = hc_xml_child(c, NULL, "label");
                if (label) {
                        m->dac_label = trimmed(label->text);
                        if (!m->dac_label)
                                return hc_error_set(err, ENOMEM, "out of memory");
                }
                break;
        }
        meta = hc_xml_child(root, NULL, "metadata");
        for (const struct hc_xml_node *c = meta ? meta->children : NULL; c; c = c->next) {
                if (!c->ns || strcmp(c->ns, HC_XMLNS_VM) != 0)
                        continue;
                if (strcmp(c->local, "vm") != 0 || m->pool)
                        return at(origin, c, err, "<metadata>: expected one <vm> element in %s, got <%s>",
                                  HC_XMLNS_VM, c->name);
                r = parse_vm(m, c, origin, err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

/* "+N" with N decimal, no leading zeros, below (uint32_t)-1; *end after it. */
static bool parse_plus_id(const char *s, const char **end, uint32_t *ret)
{
        uint64_t v = 0;
        size_t n = 0;

        if (*s++ != '+')
                return false;
        while (s[n] >= '0' && s[n] <= '9') {
                v = v * 10 + (uint64_t)(s[n] - '0');
                if (++n > 10)
                        return false;
        }
        if (n == 0 || (n > 1 && s[0] == '0') || v >= UINT32_MAX)
                return false; /* (uid_t)-1 means "unchanged" to fchown(): never a real owner */
        *end = s + n;
        *ret = (uint32_t)v;
        return true;
}

int hc_dac_label_parse(const char *label, uid_t *ret_uid, gid_t *ret_gid)
{
        const char *p;
        uint32_t uid, gid;

        assert(ret_uid);
        assert(ret_gid);
        if (!label || !parse_plus_id(label, &p, &uid) || *p++ != ':' ||
            !parse_plus_id(p, &p, &gid) || *p)
                return -EINVAL;
        *ret_uid = (uid_t)uid;
        *ret_gid = (gid_t)gid;
        return 0;
}

char *hc_domain_meta_stamp_xml(const char *pool, uint64_t generation, const char *digest,
                               const struct hc_pool_reg regs[HC_REG_MAX])
{
        _cleanup_free_ char *body = NULL;
        char *out;

        /* Both are validated to characters that need no XML escaping. */
        if (!pool || !hc_pool_name_valid(pool) || !digest || strlen(digest) != HC_DIGEST_MAX - 1 ||
            strncmp(digest, "sha256:", 7) != 0 || strspn(digest + 7, "0123456789abcdef") != 64 ||
            generation > INT64_MAX)
                return NULL;
        body = strdup("");
        for (size_t i = 0; body && i < hc_catalog_count(); i++) {
                char hex[HC_HEX_MAX], *grown;

                if (!regs[i].present)
                        continue;
                if (asprintf(&grown, "%s<register name=\"%s\" value=\"%s\"/>", body,
                             hc_catalog_get(i)->name, hc_hex(regs[i].value, hex, sizeof(hex))) < 0)
                        return NULL;
                free(body);
                body = grown;
        }
        if (!body || asprintf(&out, "<vm pool=\"%s\"><applied generation=\"%llu\" digest=\"%s\">%s</applied></vm>",
                              pool, (unsigned long long)generation, digest, body) < 0)
                return NULL;
        return out;
}

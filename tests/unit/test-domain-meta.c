/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stamp hypercalld writes into a running domain's metadata is what a
 * migration destination's hook reads to learn what the VM carries.  These
 * tests prove that what the writer produces, once libvirt has put it in
 * hypercall's namespace, reads back exactly, and that the writer refuses to
 * produce a stamp from malformed input rather than emit bad XML.
 */
#include <errno.h>

#include "domain-meta.h"
#include "hc-test.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The domain XML libvirt shows after virDomainSetMetadata(key "hypercall"). */
static char *as_libvirt_shows(const char *stamp)
{
        char *prefixed, *xml;
        size_t n = 0;
        const char *s;

        /* libvirt prefixes every element of the stamp with the key. */
        prefixed = calloc(2, strlen(stamp) + 1);
        HC_ASSERT(prefixed, "oom");
        for (s = stamp; *s; s++) {
                prefixed[n++] = *s;
                if (*s == '<' && s[1] != '/') {
                        memcpy(prefixed + n, "hypercall:", 10);
                        n += 10;
                } else if (*s == '<') {
                        prefixed[n++] = *++s;
                        memcpy(prefixed + n, "hypercall:", 10);
                        n += 10;
                }
        }
        /* Declare the namespace on the root element. */
        HC_ASSERT(asprintf(&xml,
                           "<domain type='kvm'><name>web-3</name>"
                           "<uuid>6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b</uuid><metadata>"
                           "<hypercall:vm xmlns:hypercall=\"" HC_XMLNS_VM "\"%s</metadata></domain>",
                           prefixed + strlen("<hypercall:vm")) > 0,
                  "oom");
        free(prefixed);
        return xml;
}

HC_TEST(domain_meta__stamp_reads_back_exactly)
{
        struct hc_pool_reg regs[HC_REG_MAX] = {0};
        _cleanup_(hc_domain_meta_freep) struct hc_domain_meta *m = NULL;
        _cleanup_free_ char *stamp = NULL, *xml = NULL;
        struct hc_error err = {0};
        int psci = hc_catalog_find_kind(HC_KIND_PSCI_VERSION), std = hc_catalog_find("STD_BMAP");

        regs[psci] = (struct hc_pool_reg){.present = true, .value = 0x10001};
        regs[std] = (struct hc_pool_reg){.present = true, .value = 0x0};
        stamp = hc_domain_meta_stamp_xml("web", 7, DIGEST, regs);
        HC_ASSERT(stamp, "a valid stamp was refused");
        xml = as_libvirt_shows(stamp);
        HC_ASSERT(hc_domain_meta_parse(xml, strlen(xml), "domain", &m, &err) == 0, "%s\n%s", err.text, xml);
        HC_ASSERT_STREQ(m->pool, "web");
        HC_ASSERT(m->has_applied, "no <applied> in %s", xml);
        HC_ASSERT_INTEQ(m->applied_generation, 7);
        HC_ASSERT_STREQ(m->applied_digest, DIGEST);
        for (size_t i = 0; i < hc_catalog_count(); i++)
                HC_ASSERT(m->applied[i].present == regs[i].present && m->applied[i].value == regs[i].value,
                          "%s: stamped %d/0x%llx, read %d/0x%llx", hc_catalog_get(i)->name, regs[i].present,
                          (unsigned long long)regs[i].value, m->applied[i].present,
                          (unsigned long long)m->applied[i].value);
}

HC_TEST(domain_meta__stamp_refuses_malformed_pool_or_digest)
{
        struct hc_pool_reg regs[HC_REG_MAX] = {0};

        HC_ASSERT(!hc_domain_meta_stamp_xml("we\"b", 1, DIGEST, regs), "a quote in the pool");
        HC_ASSERT(!hc_domain_meta_stamp_xml("web", 1, "sha256:xyz", regs), "a short digest");
        HC_ASSERT(!hc_domain_meta_stamp_xml(NULL, 1, DIGEST, regs), "no pool");
        HC_ASSERT(!hc_domain_meta_stamp_xml("web", 1, NULL, regs), "no digest");
}

/* The start-begin XML of a domain libvirt 9.0 runs as libvirt-qemu (tests/libvirt), abridged. */
#define STARTED_DOMAIN(seclabels)                                                                  \
        "<domain type='qemu' id='1'><name>lv-probe</name>"                                         \
        "<uuid>6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b</uuid><devices>"                               \
        "<disk type='file' device='disk'><source file='/d.img'><seclabel model='dac'>"             \
        "<label>+1:+1</label></seclabel></source></disk></devices>" seclabels "</domain>"

#define DAC(label)                                                                                 \
        "<seclabel type='dynamic' model='dac' relabel='yes'><label>" label "</label></seclabel>"

HC_TEST(domain_meta__dac_label_comes_from_the_domains_own_dac_seclabel)
{
        static const struct {
                const char *xml, *label;
        } cases[] = {
            {STARTED_DOMAIN(DAC("+999:+995")), "+999:+995"},
            /* A MAC label beside it (AppArmor, SELinux) is not the user; blanks are trimmed. */
            {STARTED_DOMAIN("<seclabel type='dynamic' model='apparmor' relabel='yes'>"
                            "<label>libvirt-6f1c2a3b</label></seclabel>" DAC(" +64055:+64055\n")),
             "+64055:+64055"},
            /* prepare begin: no label yet, and a disk's label is not the domain's. */
            {STARTED_DOMAIN(""), NULL},
            {STARTED_DOMAIN("<seclabel type='dynamic' model='dac' relabel='yes'/>"), NULL},
            /* Kept as written: the hook judges it (names are refused there, not here). */
            {STARTED_DOMAIN(DAC("qemu:kvm")), "qemu:kvm"}};

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(hc_domain_meta_freep) struct hc_domain_meta *m = NULL;
                struct hc_error err = {0};
                int r = hc_domain_meta_parse(cases[i].xml, strlen(cases[i].xml), NULL, &m, &err);

                HC_ASSERT(r == 0, "case %zu: %s", i, err.text);
                if (cases[i].label)
                        HC_ASSERT_STREQ(m->dac_label, cases[i].label);
                else
                        HC_ASSERT(!m->dac_label, "case %zu: label \"%s\"", i, m->dac_label);
        }
}

HC_TEST(domain_meta__dac_label_parse_accepts_only_plus_uid_colon_plus_gid)
{
        static const char *const refused[] = {"",
                                              "+",
                                              "+:+",
                                              "999:995",
                                              "+999:995",
                                              "999:+995",
                                              "+999",
                                              "+999:",
                                              "+999:+",
                                              "+999:+995 ",
                                              " +999:+995",
                                              "+999:+995:+1",
                                              "+0999:+995",
                                              "+999:+00",
                                              "+-1:+995",
                                              "++999:+995",
                                              "+4294967295:+995",
                                              "+999:+4294967295",
                                              "+99999999999:+995",
                                              "qemu:kvm",
                                              "+qemu:+kvm",
                                              "+999:+99a",
                                              "+0x10:+995"};
        uid_t uid = 7;
        gid_t gid = 7;

        HC_ASSERT_INTEQ(hc_dac_label_parse("+999:+995", &uid, &gid), 0);
        HC_ASSERT(uid == 999 && gid == 995, "got %u:%u", (unsigned)uid, (unsigned)gid);
        /* libvirt with user = "root" in qemu.conf (the arm64 lab's libvirt). */
        HC_ASSERT_INTEQ(hc_dac_label_parse("+0:+0", &uid, &gid), 0);
        HC_ASSERT(uid == 0 && gid == 0, "got %u:%u", (unsigned)uid, (unsigned)gid);
        HC_ASSERT_INTEQ(hc_dac_label_parse("+4294967294:+4294967294", &uid, &gid), 0);
        HC_ASSERT(uid == 4294967294u && gid == 4294967294u, "got %u:%u", (unsigned)uid,
                  (unsigned)gid);
        HC_ASSERT_INTEQ(hc_dac_label_parse(NULL, &uid, &gid), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                uid = 7;
                gid = 7;
                HC_ASSERT(hc_dac_label_parse(refused[i], &uid, &gid) == -EINVAL, "accepted \"%s\"",
                          refused[i]);
                HC_ASSERT(uid == 7 && gid == 7, "\"%s\": outputs changed on refusal", refused[i]);
        }
}

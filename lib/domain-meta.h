/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the hook needs of a libvirt domain XML: name, UUID, architecture,
 * emulator, the <qemu:env> LD_PRELOAD (per-domain shim delivery), the DAC
 * security label (the user QEMU runs as) and hypercall's own metadata
 * element (docs/push-path-design.md):
 *
 *   <metadata>
 *     <hypercall:vm xmlns:hypercall="urn:hypercall:vm:1" pool="web">
 *       <hypercall:applied generation="7" digest="sha256:...">   (stamped after start)
 *         <hypercall:register name="STD_BMAP" value="0x0"/>
 *       </hypercall:applied>
 *     </hypercall:vm>
 *   </metadata>
 *
 * Read with the minimal reader in domxml.h.  Everything in hypercall's
 * namespace is validated strictly (unknown attributes or elements, bad
 * register names or values: "origin:line:column: expected ...").
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "baseline-file.h"
#include "catalog.h"
#include "hc-error.h"

#define HC_XMLNS_VM   "urn:hypercall:vm:1"
#define HC_XMLNS_QEMU "http://libvirt.org/schemas/domain/qemu/1.0"

struct hc_domain_meta {
        char *name;
        char uuid[37];       /* lowercased */
        char *arch;          /* <os><type arch=...>, NULL when absent */
        char *emulator;      /* <devices><emulator>, NULL when absent */
        char *ld_preload;    /* <qemu:env name='LD_PRELOAD' value=...>, NULL when absent */
        char *pool;          /* <hypercall:vm pool=...>, NULL when the VM names none */
        char *dac_label;     /* <seclabel model='dac'><label>, as written; NULL when absent */
        bool has_applied;    /* <hypercall:applied> present */
        uint64_t applied_generation;
        char applied_digest[HC_DIGEST_MAX];
        struct hc_pool_reg applied[HC_REG_MAX]; /* indexed like the catalog */
};

struct hc_domain_meta *hc_domain_meta_free(struct hc_domain_meta *m);
HC_DEFINE_CLEANUP(struct hc_domain_meta *, hc_domain_meta_free)

int hc_domain_meta_parse(const char *xml, size_t len, const char *origin, struct hc_domain_meta **ret,
                         struct hc_error *err);

/*
 * The user and group QEMU runs as, from the domain's DAC label.  libvirt
 * writes a dynamic one as "+UID:+GID" (virSecurityDACGenLabel) once it has
 * generated the domain's security labels, which is after the prepare hook
 * and before the start hook.  Exactly that form is accepted: decimal, no
 * leading zeros, below (uid_t)-1.  User or group names (possible in a static
 * label) are refused rather than resolved: the hook must not guess whose
 * passwd database libvirt would use.  0, or -EINVAL.
 */
int hc_dac_label_parse(const char *label, uid_t *ret_uid, gid_t *ret_gid);

/*
 * The stamp hypercalld writes into a running domain's metadata once the VM
 * runs with its plan's values (virDomainSetMetadata with key "hypercall" and
 * HC_XMLNS_VM: libvirt puts every element in that namespace, so the text is
 * unprefixed): <vm pool=".."><applied generation=".." digest="..">
 * <register name=".." value=".."/>...</applied></vm>.  Travels with the
 * domain XML on migration, so the destination knows what arrives.  NULL when
 * pool or digest is malformed, or out of memory.
 */
char *hc_domain_meta_stamp_xml(const char *pool, uint64_t generation, const char *digest,
                               const struct hc_pool_reg regs[HC_REG_MAX]);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the hook needs of a libvirt domain XML: name, UUID, architecture,
 * emulator, the <qemu:env> LD_PRELOAD (per-domain shim delivery) and
 * hypercall's own metadata element (docs/push-path-design.md):
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

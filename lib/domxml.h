/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A careful minimal XML reader for libvirt domain XML, as the hook receives
 * it on stdin.  libvirt's -dev package does not pull in libxml2, so the hook
 * does not use it.  Supported: elements, attributes, text, CDATA, comments,
 * processing instructions and the XML declaration (skipped), the five
 * predefined entities and character references, namespaces (xmlns and
 * xmlns:prefix).  Refused: DOCTYPE (so no external or custom entities),
 * mismatched tags, duplicate attributes, undeclared prefixes, nesting deeper
 * than HC_XML_MAX_DEPTH, more than HC_XML_MAX_NODES elements.  Every error
 * reads "origin:line:column: expected ..., got ...".
 */
#include <stddef.h>

#include "hc-error.h"

#define HC_XML_MAX_DEPTH 64
#define HC_XML_MAX_NODES 100000

struct hc_xml_attr {
        char *name;        /* as written: "pool", "xmlns:hc" */
        char *value;       /* entities decoded */
        unsigned line, column;
};

struct hc_xml_node {
        char *name;        /* as written: "hc:vm" */
        const char *local; /* after the prefix: "vm" */
        const char *ns;    /* namespace URI or NULL (borrowed from the declaring node) */
        struct hc_xml_attr *attrs;
        size_t n_attrs;
        char *text;        /* direct text content, entities decoded; "" when none */
        size_t text_len;
        unsigned line, column;
        struct hc_xml_node *parent, *children, *next;
};

int hc_xml_parse(const char *text, size_t len, const char *origin, struct hc_xml_node **ret,
                 struct hc_error *err);
struct hc_xml_node *hc_xml_free(struct hc_xml_node *n);
HC_DEFINE_CLEANUP(struct hc_xml_node *, hc_xml_free)

/* First child element with this namespace (NULL: none) and local name. */
const struct hc_xml_node *hc_xml_child(const struct hc_xml_node *n, const char *ns, const char *local);
/* Unprefixed attribute value, or NULL. */
const char *hc_xml_attr(const struct hc_xml_node *n, const char *name);

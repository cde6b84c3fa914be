/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "domxml.h"

struct reader {
        const char *p, *end, *origin;
        unsigned line, column;
        size_t nodes;
        struct hc_error *err;
};

static void advance(struct reader *r, size_t n)
{
        for (size_t i = 0; i < n && r->p < r->end; i++, r->p++) {
                if (*r->p == '\n') {
                        r->line++;
                        r->column = 1;
                } else {
                        r->column++;
                }
        }
}

static const char *got_text(const struct reader *r, char *buf, size_t len)
{
        size_t n = 0;

        if (r->p >= r->end)
                return "end of input";
        buf[n++] = '"';
        for (const char *q = r->p; q < r->end && n + 6 < len && q < r->p + 20; q++) {
                unsigned char c = (unsigned char)*q;
                if (c < 0x20 || c == 0x7f)
                        n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
                else
                        buf[n++] = (char)c;
        }
        buf[n++] = '"';
        buf[n] = '\0';
        return buf;
}

__attribute__((format(printf, 2, 3))) static int expected(struct reader *r, const char *fmt, ...)
{
        char what[256], got[128];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return hc_error_at(r->err, EINVAL, r->origin, r->line, r->column, "expected %s, got %s", what,
                           got_text(r, got, sizeof(got)));
}

static bool starts(const struct reader *r, const char *s)
{
        size_t n = strlen(s);
        return (size_t)(r->end - r->p) >= n && memcmp(r->p, s, n) == 0;
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(struct reader *r)
{
        while (r->p < r->end && is_space(*r->p))
                advance(r, 1);
}

static bool name_start(unsigned char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}

static bool name_char(unsigned char c)
{
        return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int read_name(struct reader *r, char **ret)
{
        const char *s = r->p;

        if (r->p >= r->end || !name_start((unsigned char)*r->p))
                return expected(r, "a name");
        while (r->p < r->end && name_char((unsigned char)*r->p))
                advance(r, 1);
        *ret = strndup(s, (size_t)(r->p - s));
        return *ret ? 0 : hc_error_set(r->err, ENOMEM, "out of memory");
}

/* Appends raw bytes, decoding entities, until stop (not included); '<' is illegal in attributes. */
struct buf {
        char *data;
        size_t len, cap;
};

static void buf_done(struct buf *b)
{
        free(b->data);
}

static int buf_put(struct buf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 64;
                char *d;
                while (cap < b->len + n + 1)
                        cap *= 2;
                d = realloc(b->data, cap);
                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

static int put_utf8(struct buf *b, uint32_t cp)
{
        char u[4];
        size_t n;

        if (cp < 0x80) {
                u[0] = (char)cp;
                n = 1;
        } else if (cp < 0x800) {
                u[0] = (char)(0xc0 | cp >> 6);
                u[1] = (char)(0x80 | (cp & 0x3f));
                n = 2;
        } else if (cp < 0x10000) {
                u[0] = (char)(0xe0 | cp >> 12);
                u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
                u[2] = (char)(0x80 | (cp & 0x3f));
                n = 3;
        } else {
                u[0] = (char)(0xf0 | cp >> 18);
                u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
                u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
                u[3] = (char)(0x80 | (cp & 0x3f));
                n = 4;
        }
        return buf_put(b, u, n);
}

static int read_entity(struct reader *r, struct buf *b)
{
        static const struct {
                const char *name;
                char c;
        } predefined[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};

        for (size_t i = 0; i < ELEMENTSOF(predefined); i++)
                if (starts(r, predefined[i].name)) {
                        advance(r, strlen(predefined[i].name));
                        return buf_put(b, &predefined[i].c, 1);
                }
        if (starts(r, "&#")) {
                const char *q = r->p + 2;
                uint32_t cp = 0;
                bool hex = q < r->end && *q == 'x';
                size_t digits = 0;

                if (hex)
                        q++;
                for (; q < r->end && *q != ';' && digits < 8; q++, digits++) {
                        char c = *q;
                        unsigned d;
                        if (c >= '0' && c <= '9')
                                d = (unsigned)(c - '0');
                        else if (hex && c >= 'a' && c <= 'f')
                                d = (unsigned)(c - 'a' + 10);
                        else if (hex && c >= 'A' && c <= 'F')
                                d = (unsigned)(c - 'A' + 10);
                        else
                                return expected(r, "a character reference \"&#N;\" or \"&#xN;\"");
                        cp = cp * (hex ? 16 : 10) + d;
                }
                if (digits == 0 || q >= r->end || *q != ';' || cp == 0 || cp > 0x10ffff ||
                    (cp >= 0xd800 && cp <= 0xdfff) || (cp < 0x20 && cp != 0x9 && cp != 0xa && cp != 0xd))
                        return expected(r, "a character reference to a legal XML character");
                advance(r, (size_t)(q + 1 - r->p));
                return put_utf8(b, cp);
        }
        return expected(r, "an entity (&lt; &gt; &amp; &quot; &apos; or &#N;)");
}

static int read_attr_value(struct reader *r, char **ret)
{
        struct buf b = {0};
        char quote;
        int k;

        if (r->p >= r->end || (*r->p != '"' && *r->p != '\''))
                return expected(r, "a quoted attribute value");
        quote = *r->p;
        advance(r, 1);
        if (buf_put(&b, "", 0) < 0)
                return hc_error_set(r->err, ENOMEM, "out of memory");
        while (r->p < r->end && *r->p != quote) {
                if (*r->p == '<') {
                        free(b.data);
                        return expected(r, "no \"<\" inside an attribute value");
                }
                if (*r->p == '&') {
                        k = read_entity(r, &b);
                        if (k < 0) {
                                free(b.data);
                                return k == -ENOMEM ? hc_error_set(r->err, ENOMEM, "out of memory") : k;
                        }
                        continue;
                }
                if (buf_put(&b, r->p, 1) < 0) {
                        free(b.data);
                        return hc_error_set(r->err, ENOMEM, "out of memory");
                }
                advance(r, 1);
        }
        if (r->p >= r->end) {
                free(b.data);
                return expected(r, "the closing %c of the attribute value", quote);
        }
        advance(r, 1);
        *ret = b.data;
        return 0;
}

static int skip_until(struct reader *r, const char *term, const char *what)
{
        while (r->p < r->end && !starts(r, term))
                advance(r, 1);
        if (r->p >= r->end)
                return expected(r, "%s", what);
        advance(r, strlen(term));
        return 0;
}

/* Skips comments, PIs and whitespace between markup; refuses DOCTYPE. */
static int skip_misc(struct reader *r)
{
        for (;;) {
                skip_space(r);
                if (starts(r, "<!--")) {
                        advance(r, 4);
                        if (skip_until(r, "-->", "the end of the comment \"-->\"") < 0)
                                return -EINVAL;
                } else if (starts(r, "<?")) {
                        if (skip_until(r, "?>", "the end of the processing instruction \"?>\"") < 0)
                                return -EINVAL;
                } else if (starts(r, "<!DOCTYPE") || starts(r, "<!doctype")) {
                        return expected(r, "no DOCTYPE (not accepted in domain XML)");
                } else {
                        return 0;
                }
        }
}

struct hc_xml_node *hc_xml_free(struct hc_xml_node *n)
{
        while (n) {
                struct hc_xml_node *next = n->next;

                hc_xml_free(n->children);
                for (size_t i = 0; i < n->n_attrs; i++) {
                        free(n->attrs[i].name);
                        free(n->attrs[i].value);
                }
                free(n->attrs);
                free(n->name);
                free(n->text);
                free(n);
                n = next;
        }
        return NULL;
}

/* The URI bound to prefix (NULL or "" = default namespace) at node n, or NULL. */
static const char *lookup_ns(const struct hc_xml_node *n, const char *prefix, size_t plen, bool *found)
{
        *found = false;
        for (; n; n = n->parent)
                for (size_t i = 0; i < n->n_attrs; i++) {
                        const char *a = n->attrs[i].name;
                        if (plen == 0 ? strcmp(a, "xmlns") == 0
                                      : (strncmp(a, "xmlns:", 6) == 0 && strlen(a + 6) == plen &&
                                         memcmp(a + 6, prefix, plen) == 0)) {
                                *found = true;
                                return n->attrs[i].value[0] ? n->attrs[i].value : NULL;
                        }
                }
        return NULL;
}

static int resolve_ns(struct reader *r, struct hc_xml_node *n)
{
        const char *colon;
        bool found;

        if (!n->name) /* read_name() failed: unreachable, but the analyzer cannot see expected() < 0 */
                return -EINVAL;
        colon = strchr(n->name, ':');

        if (strncmp(n->name, "xmlns", 5) == 0 && (n->name[5] == '\0' || n->name[5] == ':'))
                return hc_error_at(r->err, EINVAL, r->origin, n->line, n->column,
                                   "expected an element name, got the reserved \"%s\"", n->name);
        if (!colon) {
                n->local = n->name;
                n->ns = lookup_ns(n, NULL, 0, &found);
                return 0;
        }
        if (colon == n->name || !colon[1] || strchr(colon + 1, ':'))
                return hc_error_at(r->err, EINVAL, r->origin, n->line, n->column,
                                   "expected \"prefix:name\", got \"%s\"", n->name);
        n->local = colon + 1;
        if (colon - n->name == 3 && memcmp(n->name, "xml", 3) == 0) {
                n->ns = "http://www.w3.org/XML/1998/namespace";
                return 0;
        }
        n->ns = lookup_ns(n, n->name, (size_t)(colon - n->name), &found);
        if (!n->ns)
                return hc_error_at(r->err, EINVAL, r->origin, n->line, n->column,
                                   "expected a declared namespace prefix, got \"%.*s\" (no xmlns:%.*s)",
                                   (int)(colon - n->name), n->name, (int)(colon - n->name), n->name);
        return 0;
}

static int read_element(struct reader *r, struct hc_xml_node *parent, unsigned depth,
                        struct hc_xml_node **ret)
{
        _cleanup_(hc_xml_freep) struct hc_xml_node *n = NULL;
        struct hc_xml_node **tail;
        _cleanup_(buf_done) struct buf text = {0};
        int k;

        if (depth >= HC_XML_MAX_DEPTH)
                return expected(r, "elements nested at most %d deep", HC_XML_MAX_DEPTH);
        if (++r->nodes > HC_XML_MAX_NODES)
                return expected(r, "at most %d elements", HC_XML_MAX_NODES);
        n = calloc(1, sizeof(*n));
        if (!n)
                return hc_error_set(r->err, ENOMEM, "out of memory");
        n->parent = parent;
        n->line = r->line;
        n->column = r->column;
        advance(r, 1); /* '<' */
        k = read_name(r, &n->name);
        if (k < 0)
                return k;
        for (;;) {
                struct hc_xml_attr a = {0};
                bool spaced = r->p < r->end && is_space(*r->p);

                skip_space(r);
                if (starts(r, "/>") || starts(r, ">"))
                        break;
                if (!spaced)
                        return expected(r, "whitespace, \">\" or \"/>\" after <%s", n->name);
                a.line = r->line;
                a.column = r->column;
                k = read_name(r, &a.name);
                if (k < 0)
                        return k;
                skip_space(r);
                if (r->p >= r->end || *r->p != '=') {
                        free(a.name);
                        return expected(r, "\"=\" after the attribute name");
                }
                advance(r, 1);
                skip_space(r);
                k = read_attr_value(r, &a.value);
                if (k < 0) {
                        free(a.name);
                        return k;
                }
                for (size_t i = 0; i < n->n_attrs; i++)
                        if (strcmp(n->attrs[i].name, a.name) == 0) {
                                k = hc_error_at(r->err, EINVAL, r->origin, a.line, a.column,
                                                "expected each attribute once, got \"%s\" again", a.name);
                                free(a.name);
                                free(a.value);
                                return k;
                        }
                {
                        struct hc_xml_attr *na = realloc(n->attrs, (n->n_attrs + 1) * sizeof(*na));
                        if (!na) {
                                free(a.name);
                                free(a.value);
                                return hc_error_set(r->err, ENOMEM, "out of memory");
                        }
                        n->attrs = na;
                        n->attrs[n->n_attrs++] = a;
                }
        }
        k = resolve_ns(r, n);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n->n_attrs; i++) {
                const char *c = strchr(n->attrs[i].name, ':');
                bool found;
                if (c && strncmp(n->attrs[i].name, "xmlns:", 6) != 0 && strncmp(n->attrs[i].name, "xml:", 4) != 0 &&
                    !lookup_ns(n, n->attrs[i].name, (size_t)(c - n->attrs[i].name), &found))
                        return hc_error_at(r->err, EINVAL, r->origin, n->attrs[i].line, n->attrs[i].column,
                                           "expected a declared namespace prefix on attribute \"%s\"",
                                           n->attrs[i].name);
        }
        if (buf_put(&text, "", 0) < 0)
                return hc_error_set(r->err, ENOMEM, "out of memory");
        if (starts(r, "/>")) {
                advance(r, 2);
                n->text = TAKE_PTR(text.data);
                *ret = TAKE_PTR(n);
                return 0;
        }
        advance(r, 1); /* '>' */
        tail = &n->children;
        for (;;) {
                if (r->p >= r->end)
                        return expected(r, "</%s>", n->name);
                if (starts(r, "</")) {
                        char *close = NULL;
                        unsigned l = r->line, c = r->column;
                        advance(r, 2);
                        k = read_name(r, &close);
                        if (k < 0)
                                return k;
                        if (strcmp(close, n->name) != 0) {
                                k = hc_error_at(r->err, EINVAL, r->origin, l, c,
                                                "expected </%s> (opened at %u:%u), got </%s>", n->name,
                                                n->line, n->column, close);
                                free(close);
                                return k;
                        }
                        free(close);
                        skip_space(r);
                        if (r->p >= r->end || *r->p != '>')
                                return expected(r, "\">\" to close </%s", n->name);
                        advance(r, 1);
                        break;
                }
                if (starts(r, "<!--")) {
                        advance(r, 4);
                        k = skip_until(r, "-->", "the end of the comment \"-->\"");
                        if (k < 0)
                                return k;
                        continue;
                }
                if (starts(r, "<![CDATA[")) {
                        const char *s;
                        advance(r, 9);
                        s = r->p;
                        k = skip_until(r, "]]>", "the end of the CDATA section \"]]>\"");
                        if (k < 0)
                                return k;
                        if (buf_put(&text, s, (size_t)(r->p - 3 - s)) < 0)
                                return hc_error_set(r->err, ENOMEM, "out of memory");
                        continue;
                }
                if (starts(r, "<?")) {
                        k = skip_until(r, "?>", "the end of the processing instruction \"?>\"");
                        if (k < 0)
                                return k;
                        continue;
                }
                if (starts(r, "<!"))
                        return expected(r, "an element, a comment or CDATA");
                if (*r->p == '<') {
                        struct hc_xml_node *child = NULL;
                        k = read_element(r, n, depth + 1, &child);
                        if (k < 0)
                                return k;
                        *tail = child;
                        tail = &child->next;
                        continue;
                }
                if (*r->p == '&') {
                        k = read_entity(r, &text);
                        if (k < 0)
                                return k == -ENOMEM ? hc_error_set(r->err, ENOMEM, "out of memory") : k;
                        continue;
                }
                if (buf_put(&text, r->p, 1) < 0)
                        return hc_error_set(r->err, ENOMEM, "out of memory");
                advance(r, 1);
        }
        n->text_len = text.len;
        n->text = TAKE_PTR(text.data);
        *ret = TAKE_PTR(n);
        return 0;
}

int hc_xml_parse(const char *text, size_t len, const char *origin, struct hc_xml_node **ret,
                 struct hc_error *err)
{
        struct reader r = {.p = text, .end = text + len, .origin = origin ? origin : "XML",
                           .line = 1, .column = 1, .err = err};
        struct hc_xml_node *root = NULL;
        int k;

        assert(ret);
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                r.p += 3;
        if (memchr(text, '\0', len))
                return hc_error_at(err, EINVAL, r.origin, 0, 0, "expected text, got a NUL byte");
        k = skip_misc(&r);
        if (k < 0)
                return k;
        if (r.p >= r.end || *r.p != '<')
                return expected(&r, "the root element");
        k = read_element(&r, NULL, 0, &root);
        if (k < 0)
                return k;
        if (!root) /* unreachable (as above, for the analyzer) */
                return hc_error_at(err, EINVAL, r.origin, 0, 0, "expected the root element");
        k = skip_misc(&r);
        if (k >= 0 && r.p < r.end)
                k = expected(&r, "nothing after the root element </%s>", root->name);
        if (k < 0) {
                hc_xml_free(root);
                return k;
        }
        *ret = root;
        return 0;
}

const struct hc_xml_node *hc_xml_child(const struct hc_xml_node *n, const char *ns, const char *local)
{
        for (const struct hc_xml_node *c = n ? n->children : NULL; c; c = c->next)
                if (strcmp(c->local, local) == 0 &&
                    ((!ns && !c->ns) || (ns && c->ns && strcmp(ns, c->ns) == 0)))
                        return c;
        return NULL;
}

const char *hc_xml_attr(const struct hc_xml_node *n, const char *name)
{
        for (size_t i = 0; i < n->n_attrs; i++)
                if (strcmp(n->attrs[i].name, name) == 0)
                        return n->attrs[i].value;
        return NULL;
}

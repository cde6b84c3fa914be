/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hypercall.policy/v1 reader.  libyaml's event API is walked against a
 * fixed schema: every key is known in advance, so any unexpected structure is
 * an error at once and no nesting is ever skipped or recursed into.  Plain
 * YAML only: anchors, aliases, tags and second documents are refused, so what
 * an operator reads is what hypercall reads.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <string.h>
#include <yaml.h>

#include "catalog.h"
#include "fileio.h"
#include "policy.h"

struct reader {
        yaml_parser_t parser;
        bool parser_ready;
        yaml_event_t event;
        bool have_event;
        const char *origin;
        struct hc_error *err;
        const char *text; /* the input, to place reader (encoding) errors */
        size_t len;
};

static void reader_done(struct reader *r)
{
        if (r->have_event)
                yaml_event_delete(&r->event);
        if (r->parser_ready)
                yaml_parser_delete(&r->parser);
}

static unsigned line_of(const yaml_mark_t *m)
{
        return (unsigned)m->line + 1;
}

static unsigned column_of(const yaml_mark_t *m)
{
        return (unsigned)m->column + 1;
}

static int fail_at(struct reader *r, const yaml_mark_t *m, const char *fmt, ...) _printf_(3, 4);
static int fail_at(struct reader *r, const yaml_mark_t *m, const char *fmt, ...)
{
        char msg[HC_ERROR_TEXT_MAX];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return hc_error_at(r->err, EINVAL, r->origin, line_of(m), column_of(m), "%s", msg);
}

static const char *event_what(const yaml_event_t *e)
{
        switch (e->type) {
        case YAML_MAPPING_START_EVENT:
                return "a mapping";
        case YAML_SEQUENCE_START_EVENT:
                return "a sequence";
        case YAML_SCALAR_EVENT:
                return "a scalar";
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
        case YAML_DOCUMENT_END_EVENT:
        case YAML_STREAM_END_EVENT:
                return "nothing";
        default:
                return "something else";
        }
}

/* Reads the next event, refusing YAML features the schema has no use for. */
static int next(struct reader *r)
{
        const yaml_char_t *anchor = NULL, *tag = NULL;

        if (r->have_event) {
                yaml_event_delete(&r->event);
                r->have_event = false;
        }
        if (!yaml_parser_parse(&r->parser, &r->event)) {
                if (r->parser.error == YAML_MEMORY_ERROR)
                        return hc_error_set(r->err, ENOMEM, "%s: out of memory", r->origin);
                if (r->parser.error == YAML_READER_ERROR) {
                        /* The reader reports a byte offset, not a mark. */
                        yaml_mark_t m = {0};

                        for (size_t i = 0; i < r->parser.problem_offset && i < r->len; i++) {
                                if (r->text[i] == '\n')
                                        m.line++, m.column = 0;
                                else if (((unsigned char)r->text[i] & 0xc0) != 0x80)
                                        m.column++;
                        }
                        return fail_at(r, &m, "invalid YAML: %s",
                                       r->parser.problem ? r->parser.problem : "bad encoding");
                }
                return fail_at(r, &r->parser.problem_mark, "invalid YAML: %s%s%s",
                               r->parser.problem ? r->parser.problem : "syntax error",
                               r->parser.context ? " " : "",
                               r->parser.context ? r->parser.context : "");
        }
        r->have_event = true;

        switch (r->event.type) {
        case YAML_ALIAS_EVENT:
                return fail_at(r, &r->event.start_mark,
                               "expected plain YAML without aliases, got \"*%s\"",
                               (const char *)r->event.data.alias.anchor);
        case YAML_SCALAR_EVENT:
                anchor = r->event.data.scalar.anchor;
                tag = r->event.data.scalar.tag;
                break;
        case YAML_SEQUENCE_START_EVENT:
                anchor = r->event.data.sequence_start.anchor;
                tag = r->event.data.sequence_start.tag;
                break;
        case YAML_MAPPING_START_EVENT:
                anchor = r->event.data.mapping_start.anchor;
                tag = r->event.data.mapping_start.tag;
                break;
        case YAML_DOCUMENT_START_EVENT:
                if (r->event.data.document_start.tag_directives.start !=
                    r->event.data.document_start.tag_directives.end)
                        return fail_at(r, &r->event.start_mark,
                                       "expected plain YAML without tags, got a %%TAG directive");
                break;
        default:
                break;
        }
        if (anchor)
                return fail_at(r, &r->event.start_mark,
                               "expected plain YAML without anchors, got \"&%s\"",
                               (const char *)anchor);
        if (tag)
                return fail_at(r, &r->event.start_mark,
                               "expected plain YAML without tags, got \"%s\"", (const char *)tag);
        return 0;
}

static bool is_plain(const yaml_event_t *e)
{
        return e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static const char *scalar_text(const yaml_event_t *e)
{
        return (const char *)e->data.scalar.value;
}

/* What YAML 1.1 readers (PyYAML) turn into a boolean when unquoted. */
static bool yaml11_boolean(const char *s)
{
        static const char *const words[] = {"y",  "Y",   "yes",  "Yes",  "YES",   "n",     "N",
                                            "no", "No",  "NO",   "true", "True",  "TRUE",  "false",
                                            "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"};

        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strcmp(s, words[i]) == 0)
                        return true;
        return false;
}

static bool yaml_null(const yaml_event_t *e)
{
        const char *s = scalar_text(e);

        return is_plain(e) && (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
                               strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0);
}

/* "got …" for an event that is not what was expected. */
static int fail_got(struct reader *r, const char *expected)
{
        const yaml_event_t *e = &r->event;

        if (e->type != YAML_SCALAR_EVENT)
                return fail_at(r, &e->start_mark, "expected %s, got %s", expected, event_what(e));
        if (yaml_null(e))
                return fail_at(r, &e->start_mark, "expected %s, got %s", expected,
                               scalar_text(e)[0] ? "null" : "nothing");
        return fail_at(r, &e->start_mark, "expected %s, got \"%s\"%s", expected, scalar_text(e),
                       is_plain(e) && yaml11_boolean(scalar_text(e))
                               ? " (YAML 1.1 reads it as a boolean)"
                               : "");
}

/* Reads a scalar that must be a string: not a mapping, sequence, null or bare boolean. */
static int read_string(struct reader *r, const char *expected)
{
        int k = next(r);

        if (k < 0)
                return k;
        if (r->event.type != YAML_SCALAR_EVENT || yaml_null(&r->event) ||
            (is_plain(&r->event) && yaml11_boolean(scalar_text(&r->event))))
                return fail_got(r, expected);
        return 0;
}

static int expect_event(struct reader *r, yaml_event_type_t type, const char *expected)
{
        int k = next(r);

        if (k < 0)
                return k;
        if (r->event.type != type)
                return fail_got(r, expected);
        return 0;
}

static size_t edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

        if (lb >= ELEMENTSOF(row) || la >= 64)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                prev = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t best = prev + (a[i - 1] != b[j - 1]);

                        if (row[j] + 1 < best)
                                best = row[j] + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        tmp = row[j];
                        row[j] = best;
                        prev = tmp;
                }
        }
        return row[lb];
}

/* Closest candidate within a small edit distance, or NULL. */
static const char *closest(const char *got, const char *const *cand, size_t n)
{
        const char *best = NULL;
        size_t best_d = SIZE_MAX, limit = strlen(got) / 3 + 1;

        if (limit > 3)
                limit = 3;
        for (size_t i = 0; i < n; i++) {
                size_t d = edit_distance(got, cand[i]);

                if (d <= limit && d < best_d) {
                        best = cand[i];
                        best_d = d;
                }
        }
        return best;
}

static int fail_unknown_name(struct reader *r, const char *kind, const char *const *names,
                             size_t n)
{
        char list[512] = "";
        size_t at = 0;
        const char *hint = closest(scalar_text(&r->event), names, n);

        for (size_t i = 0; i < n && at < sizeof(list); i++)
                at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s", i ? ", " : "", names[i]);
        if (hint)
                return fail_at(r, &r->event.start_mark,
                               "expected %s (%s), got \"%s\"; did you mean \"%s\"?", kind, list,
                               scalar_text(&r->event), hint);
        return fail_at(r, &r->event.start_mark, "expected %s (%s), got \"%s\"", kind, list,
                       scalar_text(&r->event));
}

static int set_string(char **dst, const char *s)
{
        char *c = strdup(s);

        if (!c)
                return -ENOMEM;
        free(*dst);
        *dst = c;
        return 0;
}

static int fail_oom(struct reader *r)
{
        return hc_error_set(r->err, ENOMEM, "%s: out of memory", r->origin);
}

/*
 * The next key of a mapping whose keys are names[0..n): 1 with its index in *ret, 0 at the
 * end of the mapping, else an error saying expected (not a scalar) or kind (not a name).
 */
static int next_key(struct reader *r, const char *const *names, size_t n, const char *expected,
                    const char *kind, size_t *ret)
{
        int k = next(r);

        if (k < 0)
                return k;
        if (r->event.type == YAML_MAPPING_END_EVENT)
                return 0;
        if (r->event.type != YAML_SCALAR_EVENT)
                return fail_got(r, expected);
        for (size_t i = 0; i < n; i++)
                if (strcmp(scalar_text(&r->event), names[i]) == 0) {
                        *ret = i;
                        return 1;
                }
        return fail_unknown_name(r, kind, names, n);
}

/* ---- values ---------------------------------------------------------------------------- */

static bool valid_pool_name(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

                if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.')))
                        return false;
        }
        return true;
}

/* Why a glob is unusable, or NULL.  glibc's fnmatch() takes a stray "[" literally; we do not. */
static const char *glob_problem(const char *g)
{
        if (g[0] == '\0')
                return "empty";
        for (size_t i = 0; g[i]; i++) {
                if ((unsigned char)g[i] < 0x20 || g[i] == 0x7f)
                        return "a control character";
                if (g[i] == '/')
                        return "\"/\" never occurs in a host name";
                if (g[i] == '\\') {
                        if (g[i + 1] == '\0')
                                return "a trailing backslash";
                        i++;
                        continue;
                }
                if (g[i] == ']')
                        return "\"]\" without \"[\"";
                if (g[i] != '[')
                        continue;
                size_t j = i + 1;
                if (g[j] == '!' || g[j] == '^')
                        j++;
                if (g[j] == ']')
                        j++; /* a leading "]" is a member */
                for (; g[j] && g[j] != ']'; j++) {
                        if (g[j] == '[' && g[j + 1] == ':') {
                                const char *end = strstr(g + j + 2, ":]");
                                if (!end)
                                        return "an unterminated \"[:class:]\"";
                                j = (size_t)(end - g) + 1;
                        } else if (g[j + 1] == '-' && g[j + 2] && g[j + 2] != ']') {
                                if ((unsigned char)g[j + 2] < (unsigned char)g[j])
                                        return "a reversed range";
                                j += 2;
                        }
                }
                if (!g[j])
                        return "an unterminated \"[\"";
                if (j == i + 1 || (j == i + 2 && (g[i + 1] == '!' || g[i + 1] == '^')))
                        return "an empty \"[]\"";
                i = j;
        }
        return NULL;
}

int hc_parse_duration(const char *s, int64_t *ret)
{
        static const struct {
                char unit;
                int64_t seconds;
        } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
        int64_t v = 0;
        size_t i = 0;

        assert(s);
        if (!(s[0] >= '1' && s[0] <= '9'))
                return -EINVAL;
        for (; s[i] >= '0' && s[i] <= '9'; i++) {
                if (v > (INT64_MAX - 9) / 10)
                        return -ERANGE;
                v = v * 10 + (s[i] - '0');
        }
        if (s[i] == '\0' || s[i + 1] != '\0')
                return -EINVAL;
        for (size_t u = 0; u < ELEMENTSOF(units); u++)
                if (units[u].unit == s[i]) {
                        if (v > INT64_MAX / units[u].seconds)
                                return -ERANGE;
                        if (ret)
                                *ret = v * units[u].seconds;
                        return 0;
                }
        return -EINVAL;
}

const char *hc_service_mode_to_string(enum hc_service_mode m)
{
        return m == HC_SERVICE_REQUIRE ? "require" : m == HC_SERVICE_DENY ? "deny" : "auto";
}

const char *hc_legacy_mode_to_string(enum hc_legacy_mode m)
{
        return m == HC_LEGACY_EXCLUDE ? "exclude" : "refuse";
}

const char *hc_unknown_mode_to_string(enum hc_unknown_mode m)
{
        return m == HC_UNKNOWN_IGNORE ? "ignore" : "refuse";
}

/* ---- the document ---------------------------------------------------------------------- */

static struct hc_policy_pos pos_of(const yaml_event_t *e)
{
        return (struct hc_policy_pos){line_of(&e->start_mark), column_of(&e->start_mark)};
}

static int read_globs(struct reader *r, char ***list, size_t *n, bool required)
{
        yaml_mark_t start;
        int k;

        k = expect_event(r, YAML_SEQUENCE_START_EVENT, "a sequence of fnmatch(3) globs");
        if (k < 0)
                return k;
        start = r->event.start_mark;
        for (;;) {
                const char *why;
                char **grown;

                k = next(r);
                if (k < 0)
                        return k;
                if (r->event.type == YAML_SEQUENCE_END_EVENT)
                        break;
                if (r->event.type != YAML_SCALAR_EVENT || yaml_null(&r->event) ||
                    (is_plain(&r->event) && yaml11_boolean(scalar_text(&r->event))))
                        return fail_got(r, "an fnmatch(3) glob on host names");
                why = glob_problem(scalar_text(&r->event));
                if (why)
                        return fail_at(r, &r->event.start_mark,
                                       "expected an fnmatch(3) glob on host names, got \"%s\" (%s)",
                                       scalar_text(&r->event), why);
                grown = reallocarray(*list, *n + 1, sizeof(char *));
                if (!grown)
                        return fail_oom(r);
                *list = grown;
                (*list)[*n] = strdup(scalar_text(&r->event));
                if (!(*list)[*n])
                        return fail_oom(r);
                (*n)++;
        }
        if (required && *n == 0)
                return fail_at(r, &start, "expected at least one fnmatch(3) glob, got []");
        return 0;
}

static int read_members(struct reader *r, struct hc_policy *p)
{
        static const char *const keys[] = {"include", "exclude"};
        bool seen[ELEMENTSOF(keys)] = {false};
        yaml_mark_t start;
        size_t i = 0;
        int k;

        k = expect_event(r, YAML_MAPPING_START_EVENT, "a mapping with include and exclude");
        if (k < 0)
                return k;
        start = r->event.start_mark;
        while ((k = next_key(r, keys, ELEMENTSOF(keys), "a key of members (include, exclude)",
                             "a key of members", &i)) > 0) {
                if (seen[i])
                        return fail_at(r, &r->event.start_mark,
                                       "expected each key once, got \"members.%s\" again", keys[i]);
                seen[i] = true;
                k = i == 0 ? read_globs(r, &p->include, &p->n_include, true)
                           : read_globs(r, &p->exclude, &p->n_exclude, false);
                if (k < 0)
                        return k;
        }
        if (k < 0)
                return k;
        if (!seen[0])
                return fail_at(r, &start, "expected a \"members.include\" key, got none");
        return 0;
}

static int read_services(struct reader *r, struct hc_policy *p)
{
        size_t n = hc_service_count();
        _cleanup_free_ const char **names = calloc(n ? n : 1, sizeof(char *));
        _cleanup_free_ bool *seen = calloc(n ? n : 1, sizeof(bool));
        size_t s = 0;
        int k;

        if (!names || !seen)
                return fail_oom(r);
        for (size_t i = 0; i < n; i++)
                names[i] = hc_service_get(i, NULL)->name;
        k = expect_event(r, YAML_MAPPING_START_EVENT, "a mapping of service: auto|require|deny");
        if (k < 0)
                return k;
        while ((k = next_key(r, names, n, "a service name", "a service name", &s)) > 0) {
                const char *mode;

                if (seen[s])
                        return fail_at(r, &r->event.start_mark,
                                       "expected each service once, got \"%s\" again", names[s]);
                seen[s] = true;
                k = next(r);
                if (k < 0)
                        return k;
                if (r->event.type != YAML_SCALAR_EVENT)
                        return fail_got(r, "auto, require or deny");
                mode = scalar_text(&r->event);
                if (strcmp(mode, "auto") == 0)
                        p->services[s] = HC_SERVICE_AUTO;
                else if (strcmp(mode, "require") == 0)
                        p->services[s] = HC_SERVICE_REQUIRE;
                else if (strcmp(mode, "deny") == 0)
                        p->services[s] = HC_SERVICE_DENY;
                else
                        return fail_got(r, "auto, require or deny");
                p->service_pos[s] = pos_of(&r->event);
        }
        return k;
}

static int psci_expected(char *buf, size_t len)
{
        size_t at = (size_t)snprintf(buf, len, "a PSCI version \"major.minor\" KVM knows (");

        /* Version 0 of the catalog (0.1) exists only without KVM_ARM_VCPU_PSCI_0_2, which
         * QEMU always sets: a ceiling there could never be written. */
        for (size_t i = 1; i < hc_psci_version_count() && at < len; i++) {
                char v[16];

                hc_psci_format(hc_psci_version_get(i), v, sizeof(v));
                at += (size_t)snprintf(buf + at, len - at, "%s%s", i > 1 ? ", " : "", v);
        }
        if (at < len)
                (void)snprintf(buf + at, len - at, ")");
        return 0;
}

/* The next scalar: 0 for "refuse", 1 for other, else an error saying expected. */
static int read_refuse_or(struct reader *r, const char *other, const char *expected)
{
        const char *s;
        int k;

        k = next(r);
        if (k < 0)
                return k;
        s = r->event.type == YAML_SCALAR_EVENT ? scalar_text(&r->event) : "";
        if (strcmp(s, "refuse") == 0)
                return 0;
        if (strcmp(s, other) == 0)
                return 1;
        return fail_got(r, expected);
}

static int read_psci(struct reader *r, struct hc_policy *p)
{
        static const char *const keys[] = {"max"};
        char expected[256];
        uint32_t v;
        size_t i = 0;
        int k;

        (void)psci_expected(expected, sizeof(expected));
        k = expect_event(r, YAML_MAPPING_START_EVENT, "a mapping with max");
        if (k < 0)
                return k;
        while ((k = next_key(r, keys, ELEMENTSOF(keys), "a key of psci (max)", "a key of psci",
                             &i)) > 0) {
                if (p->has_psci_max)
                        return fail_at(r, &r->event.start_mark,
                                       "expected each key once, got \"psci.max\" again");
                k = read_string(r, expected);
                if (k < 0)
                        return k;
                if (hc_psci_parse(scalar_text(&r->event), &v) < 0 || v == hc_psci_version_get(0))
                        return fail_got(r, expected);
                p->has_psci_max = true;
                p->psci_max = v;
                p->psci_max_pos = pos_of(&r->event);
        }
        return k;
}

enum top_key {
        KEY_SCHEMA,
        KEY_POOL,
        KEY_DESCRIPTION,
        KEY_MEMBERS,
        KEY_SERVICES,
        KEY_PSCI,
        KEY_LEGACY,
        KEY_UNKNOWN,
        KEY_MAX_AGE,
        _KEY_COUNT,
};

static const char *const top_keys[_KEY_COUNT] = {
        [KEY_SCHEMA] = "schema",
        [KEY_POOL] = "pool",
        [KEY_DESCRIPTION] = "description",
        [KEY_MEMBERS] = "members",
        [KEY_SERVICES] = "services",
        [KEY_PSCI] = "psci",
        [KEY_LEGACY] = "legacy_hosts",
        [KEY_UNKNOWN] = "unknown_registers",
        [KEY_MAX_AGE] = "max_record_age",
};

static int read_value(struct reader *r, struct hc_policy *p, enum top_key key)
{
        int k;

        switch (key) {
        case KEY_SCHEMA:
                k = read_string(r, "\"" HC_POLICY_SCHEMA "\"");
                if (k < 0)
                        return k;
                if (strcmp(scalar_text(&r->event), HC_POLICY_SCHEMA) != 0)
                        return fail_got(r, "\"" HC_POLICY_SCHEMA "\"");
                return 0;
        case KEY_POOL:
                k = read_string(r, "a pool name (letters, digits, \"-\", \"_\", \".\"; up to 64)");
                if (k < 0)
                        return k;
                if (!valid_pool_name(scalar_text(&r->event)))
                        return fail_got(r, "a pool name (letters, digits, \"-\", \"_\", \".\"; up to 64)");
                p->pool_pos = pos_of(&r->event);
                return set_string(&p->pool, scalar_text(&r->event)) < 0 ? fail_oom(r) : 0;
        case KEY_DESCRIPTION:
                k = read_string(r, "a description string");
                if (k < 0)
                        return k;
                return set_string(&p->description, scalar_text(&r->event)) < 0 ? fail_oom(r) : 0;
        case KEY_MEMBERS:
                return read_members(r, p);
        case KEY_SERVICES:
                return read_services(r, p);
        case KEY_PSCI:
                return read_psci(r, p);
        case KEY_LEGACY:
                k = read_refuse_or(r, "exclude", "refuse or exclude");
                if (k < 0)
                        return k;
                p->legacy_hosts = k ? HC_LEGACY_EXCLUDE : HC_LEGACY_REFUSE;
                p->legacy_hosts_pos = pos_of(&r->event);
                return 0;
        case KEY_UNKNOWN:
                k = read_refuse_or(r, "ignore", "refuse or ignore");
                if (k < 0)
                        return k;
                p->unknown_registers = k ? HC_UNKNOWN_IGNORE : HC_UNKNOWN_REFUSE;
                p->unknown_registers_pos = pos_of(&r->event);
                return 0;
        case KEY_MAX_AGE:
                k = read_string(r, "a duration such as 3600s, 30m, 24h or 7d");
                if (k < 0)
                        return k;
                if (hc_parse_duration(scalar_text(&r->event), &p->max_record_age) < 0)
                        return fail_got(r, "a duration such as 3600s, 30m, 24h or 7d");
                p->max_record_age_pos = pos_of(&r->event);
                return 0;
        case _KEY_COUNT:
                break;
        }
        return -EINVAL;
}

static int read_document(struct reader *r, struct hc_policy *p)
{
        struct hc_policy_pos seen[_KEY_COUNT] = {{0, 0}};
        yaml_mark_t start;
        size_t i = 0;
        int k;

        k = expect_event(r, YAML_STREAM_START_EVENT, "a YAML stream");
        if (k < 0)
                return k;
        k = next(r);
        if (k < 0)
                return k;
        if (r->event.type != YAML_DOCUMENT_START_EVENT)
                return fail_at(r, &r->event.start_mark,
                               "expected a policy mapping (schema: " HC_POLICY_SCHEMA
                               "), got an empty file");
        k = next(r);
        if (k < 0)
                return k;
        if (r->event.type != YAML_MAPPING_START_EVENT)
                return fail_got(r, "a policy mapping (schema: " HC_POLICY_SCHEMA ")");
        start = r->event.start_mark;
        while ((k = next_key(r, top_keys, _KEY_COUNT, "a key", "a policy key", &i)) > 0) {
                if (seen[i].line)
                        return fail_at(r, &r->event.start_mark,
                                       "expected each key once, got \"%s\" again (first at line %u)",
                                       top_keys[i], seen[i].line);
                seen[i] = pos_of(&r->event);
                k = read_value(r, p, (enum top_key)i);
                if (k < 0)
                        return k;
        }
        if (k < 0)
                return k;
        for (enum top_key key = KEY_SCHEMA; key <= KEY_MEMBERS; key++)
                if (key != KEY_DESCRIPTION && !seen[key].line)
                        return fail_at(r, &start, "expected a \"%s\" key, got none", top_keys[key]);

        k = expect_event(r, YAML_DOCUMENT_END_EVENT, "the end of the document");
        if (k < 0)
                return k;
        k = next(r);
        if (k < 0)
                return k;
        if (r->event.type != YAML_STREAM_END_EVENT)
                return fail_at(r, &r->event.start_mark,
                               "expected a single YAML document, got a second one");
        return 0;
}

struct hc_policy *hc_policy_new(void)
{
        size_t n = hc_service_count();
        struct hc_policy *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        p->services = calloc(n ? n : 1, sizeof(*p->services));
        p->service_pos = calloc(n ? n : 1, sizeof(*p->service_pos));
        if (!p->services || !p->service_pos)
                return hc_policy_free(p);
        for (size_t i = 0; i < n; i++)
                p->services[i] = hc_service_get(i, NULL)->default_deny ? HC_SERVICE_DENY
                                                                       : HC_SERVICE_AUTO;
        p->legacy_hosts = HC_LEGACY_REFUSE;
        p->unknown_registers = HC_UNKNOWN_REFUSE;
        return p;
}

void hc_policy_strv_free(char **v, size_t n)
{
        hc_strv_free(v, n);
}

struct hc_policy *hc_policy_free(struct hc_policy *p)
{
        if (!p)
                return NULL;
        free(p->pool);
        free(p->description);
        hc_policy_strv_free(p->include, p->n_include);
        hc_policy_strv_free(p->exclude, p->n_exclude);
        free(p->services);
        free(p->service_pos);
        free(p->origin);
        free(p);
        return NULL;
}

int hc_policy_parse(const char *text, size_t len, const char *origin, struct hc_policy **ret,
                    struct hc_error *err)
{
        _cleanup_(hc_policy_freep) struct hc_policy *p = NULL;
        struct reader r = {.origin = origin ? origin : "<policy>", .err = err, .text = text,
                           .len = len};
        int k;

        assert(text || len == 0);
        assert(ret);
        if (len > HC_FILE_MAX)
                return hc_error_at(err, EFBIG, r.origin, 0, 0, "larger than %u bytes",
                                   HC_FILE_MAX);
        if (memchr(text, '\0', len))
                return hc_error_at(err, EINVAL, r.origin, 0, 0,
                                   "expected UTF-8 text, got a NUL byte");
        p = hc_policy_new();
        if (!p || !(p->origin = strdup(r.origin)))
                return hc_error_set(err, ENOMEM, "%s: out of memory", r.origin);
        if (!yaml_parser_initialize(&r.parser))
                return hc_error_set(err, ENOMEM, "%s: out of memory", r.origin);
        r.parser_ready = true;
        yaml_parser_set_input_string(&r.parser, (const unsigned char *)(text ? text : ""), len);
        yaml_parser_set_encoding(&r.parser, YAML_UTF8_ENCODING);
        k = read_document(&r, p);
        reader_done(&r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(p);
        return 0;
}

int hc_policy_load(const char *path, struct hc_policy **ret, struct hc_error *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        return hc_read_file(path, &text, &len, err) ?: hc_policy_parse(text, len, path, ret, err);
}

bool hc_policy_matches(const struct hc_policy *p, const char *host)
{
        bool in = false;

        for (size_t i = 0; i < p->n_include && !in; i++)
                in = fnmatch(p->include[i], host, 0) == 0;
        for (size_t i = 0; i < p->n_exclude && in; i++)
                in = fnmatch(p->exclude[i], host, 0) != 0;
        return in;
}

int hc_policy_canonical(const struct hc_policy *p, struct hc_buf *b)
{
        size_t n = hc_service_count();
        int k = 0;

        k = k ?: hc_buf_field(b, "policy", p->pool);
        k = k ?: hc_buf_field(b, "description", p->description);
        for (size_t i = 0; i < p->n_include; i++)
                k = k ?: hc_buf_field(b, "include", p->include[i]);
        for (size_t i = 0; i < p->n_exclude; i++)
                k = k ?: hc_buf_field(b, "exclude", p->exclude[i]);
        for (size_t i = 0; i < n; i++)
                k = k ?: hc_buf_printf(b, "service %s %s\n", hc_service_get(i, NULL)->name,
                                       hc_service_mode_to_string(p->services[i]));
        if (p->has_psci_max)
                k = k ?: hc_buf_printf(b, "psci_max 0x%" PRIx32 "\n", p->psci_max);
        else
                k = k ?: hc_buf_printf(b, "psci_max -\n");
        k = k ?: hc_buf_printf(b, "legacy_hosts %s\nunknown_registers %s\nmax_record_age %" PRId64
                               "\nend\n",
                               hc_legacy_mode_to_string(p->legacy_hosts),
                               hc_unknown_mode_to_string(p->unknown_registers), p->max_record_age);
        return k;
}

/* ---- sets ------------------------------------------------------------------------------ */

void hc_policy_set_done(struct hc_policy_set *set)
{
        for (size_t i = 0; set->policies && i < set->n; i++)
                hc_policy_free(set->policies[i]);
        free(set->policies);
        *set = (struct hc_policy_set){0};
}

int hc_policy_set_add(struct hc_policy_set *set, struct hc_policy *p, struct hc_error *err)
{
        struct hc_policy **grown;

        assert(set);
        if (!p || !p->pool)
                return hc_error_set(err, EINVAL, "a policy without a pool name");
        for (size_t i = 0; i < set->n; i++)
                if (strcmp(set->policies[i]->pool, p->pool) == 0)
                        return hc_error_at(err, EEXIST, p->origin, p->pool_pos.line,
                                           p->pool_pos.column,
                                           "pool \"%s\" already defined in %s:%u:%u", p->pool,
                                           set->policies[i]->origin,
                                           set->policies[i]->pool_pos.line,
                                           set->policies[i]->pool_pos.column);
        grown = reallocarray(set->policies, set->n + 1, sizeof(*grown));
        if (!grown)
                return hc_error_set(err, ENOMEM, "out of memory");
        set->policies = grown;
        set->policies[set->n++] = p;
        return 0;
}

static int cmp_policy(const void *a, const void *b)
{
        return strcmp((*(struct hc_policy *const *)a)->pool, (*(struct hc_policy *const *)b)->pool);
}

void hc_policy_set_sort(struct hc_policy_set *set)
{
        if (set->n > 1)
                qsort(set->policies, set->n, sizeof(*set->policies), cmp_policy);
}

const struct hc_policy *hc_policy_set_find(const struct hc_policy_set *set, const char *pool)
{
        for (size_t i = 0; i < set->n; i++)
                if (strcmp(set->policies[i]->pool, pool) == 0)
                        return set->policies[i];
        return NULL;
}

int hc_policy_list_files(const char *dir, const char *suffix, char ***ret, size_t *ret_n,
                         struct hc_error *err)
{
        int k = hc_list_dir(dir, suffix, ret, ret_n);

        if (k == -ENOMEM)
                return hc_error_set(err, ENOMEM, "%s: out of memory", dir);
        if (k < 0)
                return hc_error_set(err, -k, "%s: %s", dir, strerror(-k));
        return 0;
}

int hc_policy_set_load_dir(const char *dir, struct hc_policy_set *ret, struct hc_error *err)
{
        struct hc_policy_set set = {0};
        char **files = NULL;
        size_t n = 0;
        int k;

        k = hc_policy_list_files(dir, ".yaml", &files, &n, err);
        for (size_t i = 0; i < n && k >= 0; i++) {
                struct hc_policy *p = NULL;

                k = hc_policy_load(files[i], &p, err);
                if (k >= 0 && (k = hc_policy_set_add(&set, p, err)) < 0)
                        hc_policy_free(p);
        }
        hc_strv_free(files, n);
        if (k < 0) {
                hc_policy_set_done(&set);
                return k;
        }
        hc_policy_set_sort(&set);
        *ret = set;
        return 0;
}

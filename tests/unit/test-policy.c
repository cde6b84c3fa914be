/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pool policies are what an operator edits by hand and lints with YAML 1.1
 * tools.  These tests prove that a valid file reads exactly as written, that
 * omitted settings take the documented defaults (discover-impl-* denied,
 * legacy hosts and unknown registers refused), and that every mistake an
 * operator can make is refused whole with file:line:column, what was expected
 * and what was found — never half-read, never silently widened.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "hc-test.h"
#include "policy.h"

#define VALID                                                                                      \
        "schema: hypercall.policy/v1\n"                                                            \
        "pool: web\n"                                                                              \
        "description: Web tier\n"                                                                  \
        "members:\n"                                                                               \
        "  include: [\"web-*\", \"edge-0[1-4]\"]\n"                                                \
        "  exclude: [\"web-canary-*\"]\n"                                                          \
        "services:\n"                                                                              \
        "  trng: auto\n"                                                                           \
        "  pv-time: require\n"                                                                     \
        "  ptp: deny\n"                                                                            \
        "psci:\n"                                                                                  \
        "  max: \"1.1\"\n"                                                                         \
        "legacy_hosts: exclude\n"                                                                  \
        "unknown_registers: ignore\n"                                                              \
        "max_record_age: 24h\n"

static struct hc_policy *parse_ok(const char *text)
{
        struct hc_policy *p = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_policy_parse(text, strlen(text), "web.yaml", &p, &err) == 0,
                  "valid policy refused: %s", err.text);
        return p;
}

/* Parses text, which must fail with exactly message. */
static void expect_error(const char *text, const char *message)
{
        struct hc_policy *p = NULL;
        struct hc_error err = {0};
        int k = hc_policy_parse(text, strlen(text), "web.yaml", &p, &err);

        HC_ASSERT(k < 0, "malformed policy accepted; expected \"%s\"", message);
        HC_ASSERT(p == NULL, "a failed parse must not hand out a policy");
        HC_ASSERT_STREQ(err.text, message);
}

static enum hc_service_mode mode_of(const struct hc_policy *p, const char *service)
{
        int s = hc_service_find(service);

        HC_ASSERT(s >= 0, "catalog lacks %s", service);
        return p->services[s];
}

HC_TEST(policy__reads_every_setting_as_written)
{
        _cleanup_(hc_policy_freep) struct hc_policy *p = parse_ok(VALID);

        HC_ASSERT_STREQ(p->pool, "web");
        HC_ASSERT_STREQ(p->description, "Web tier");
        HC_ASSERT_INTEQ(p->n_include, 2);
        HC_ASSERT_STREQ(p->include[1], "edge-0[1-4]");
        HC_ASSERT_INTEQ(p->n_exclude, 1);
        HC_ASSERT_INTEQ(mode_of(p, "trng"), HC_SERVICE_AUTO);
        HC_ASSERT_INTEQ(mode_of(p, "pv-time"), HC_SERVICE_REQUIRE);
        HC_ASSERT_INTEQ(mode_of(p, "ptp"), HC_SERVICE_DENY);
        HC_ASSERT_INTEQ(p->service_pos[hc_service_find("ptp")].line, 10);
        HC_ASSERT(p->has_psci_max, "psci.max lost");
        HC_ASSERT_INTEQ(p->psci_max, 0x10001);
        HC_ASSERT_INTEQ(p->legacy_hosts, HC_LEGACY_EXCLUDE);
        HC_ASSERT_INTEQ(p->unknown_registers, HC_UNKNOWN_IGNORE);
        HC_ASSERT_INTEQ(p->max_record_age, 86400);
}

HC_TEST(policy__omitted_settings_take_documented_defaults)
{
        _cleanup_(hc_policy_freep) struct hc_policy *p = parse_ok(
                "schema: hypercall.policy/v1\npool: db\nmembers:\n  include: [\"db-*\"]\n");

        for (size_t i = 0; i < hc_service_count(); i++) {
                const struct hc_service *s = hc_service_get(i, NULL);

                HC_ASSERT(p->services[i] == (s->default_deny ? HC_SERVICE_DENY : HC_SERVICE_AUTO),
                          "%s: expected %s by default", s->name,
                          s->default_deny ? "deny" : "auto");
                HC_ASSERT_INTEQ(p->service_pos[i].line, 0);
        }
        HC_ASSERT_INTEQ(mode_of(p, "discover-impl-ver"), HC_SERVICE_DENY);
        HC_ASSERT_INTEQ(mode_of(p, "discover-impl-cpus"), HC_SERVICE_DENY);
        HC_ASSERT(!p->has_psci_max, "no psci.max was given");
        HC_ASSERT_INTEQ(p->legacy_hosts, HC_LEGACY_REFUSE);
        HC_ASSERT_INTEQ(p->unknown_registers, HC_UNKNOWN_REFUSE);
        HC_ASSERT_INTEQ(p->max_record_age, 0);
        HC_ASSERT(p->description == NULL, "no description was given");
}

HC_TEST(policy__default_deny_service_can_be_enabled)
{
        _cleanup_(hc_policy_freep) struct hc_policy *p =
                parse_ok("schema: hypercall.policy/v1\npool: db\nmembers: {include: [\"db-*\"]}\n"
                         "services: {discover-impl-ver: auto}\n");

        HC_ASSERT_INTEQ(mode_of(p, "discover-impl-ver"), HC_SERVICE_AUTO);
        HC_ASSERT_INTEQ(mode_of(p, "discover-impl-cpus"), HC_SERVICE_DENY);
}

HC_TEST(policy__membership_uses_include_then_exclude_globs)
{
        _cleanup_(hc_policy_freep) struct hc_policy *p = parse_ok(VALID);

        HC_ASSERT(hc_policy_matches(p, "web-01"), "web-01 matches web-*");
        HC_ASSERT(hc_policy_matches(p, "edge-03"), "edge-03 matches edge-0[1-4]");
        HC_ASSERT(!hc_policy_matches(p, "edge-05"), "edge-05 is outside edge-0[1-4]");
        HC_ASSERT(!hc_policy_matches(p, "web-canary-1"), "excluded by web-canary-*");
        HC_ASSERT(!hc_policy_matches(p, "db-01"), "db-01 matches no include glob");
}

HC_TEST(policy__rejects_on_off_booleans)
{
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "services:\n  trng: on\n",
                     "web.yaml:5:9: expected auto, require or deny, got \"on\" (YAML 1.1 reads "
                     "it as a boolean)");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "services:\n  ptp: off\n",
                     "web.yaml:5:8: expected auto, require or deny, got \"off\" (YAML 1.1 reads "
                     "it as a boolean)");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "services:\n  ptp: \"yes\"\n",
                     "web.yaml:5:8: expected auto, require or deny, got \"yes\"");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "services:\n  ptp: true\n",
                     "web.yaml:5:8: expected auto, require or deny, got \"true\" (YAML 1.1 reads "
                     "it as a boolean)");
}

HC_TEST(policy__unknown_service_suggests_closest_name)
{
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "services:\n  trgn: auto\n",
                     "web.yaml:5:3: expected a service name (trng, pv-time, kvm-features, ptp, "
                     "discover-impl-ver, discover-impl-cpus), got \"trgn\"; did you mean \"trng\"?");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "services:\n  pvtime: deny\n",
                     "web.yaml:5:3: expected a service name (trng, pv-time, kvm-features, ptp, "
                     "discover-impl-ver, discover-impl-cpus), got \"pvtime\"; did you mean "
                     "\"pv-time\"?");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "services:\n  frobnicate: deny\n",
                     "web.yaml:5:3: expected a service name (trng, pv-time, kvm-features, ptp, "
                     "discover-impl-ver, discover-impl-cpus), got \"frobnicate\"");
}

HC_TEST(policy__rejects_unknown_and_duplicate_keys)
{
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "sevrices: {}\n",
                     "web.yaml:4:1: expected a policy key (schema, pool, description, members, "
                     "services, psci, legacy_hosts, unknown_registers, max_record_age), got "
                     "\"sevrices\"; did you mean \"services\"?");
        expect_error("schema: hypercall.policy/v1\npool: web\npool: db\n",
                     "web.yaml:3:1: expected each key once, got \"pool\" again (first at line 2)");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"], "
                     "exclude: [], include: [\"x\"]}\n",
                     "web.yaml:3:41: expected each key once, got \"members.include\" again");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "services: {trng: auto, trng: deny}\n",
                     "web.yaml:4:24: expected each service once, got \"trng\" again");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"], "
                     "includes: []}\n",
                     "web.yaml:3:28: expected a key of members (include, exclude), got "
                     "\"includes\"; did you mean \"include\"?");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "psci: {min: \"1.0\"}\n",
                     "web.yaml:4:8: expected a key of psci (max), got \"min\"; did you mean "
                     "\"max\"?");
}

HC_TEST(policy__requires_schema_pool_and_members)
{
        expect_error("pool: web\nmembers: {include: [\"w*\"]}\n",
                     "web.yaml:1:1: expected a \"schema\" key, got none");
        expect_error("schema: hypercall.policy/v1\nmembers: {include: [\"w*\"]}\n",
                     "web.yaml:1:1: expected a \"pool\" key, got none");
        expect_error("schema: hypercall.policy/v1\npool: web\n",
                     "web.yaml:1:1: expected a \"members\" key, got none");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers:\n  exclude: [\"x\"]\n",
                     "web.yaml:4:3: expected a \"members.include\" key, got none");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: []}\n",
                     "web.yaml:3:20: expected at least one fnmatch(3) glob, got []");
        expect_error("schema: hypercall.policy/v2\n",
                     "web.yaml:1:9: expected \"hypercall.policy/v1\", got \"hypercall.policy/v2\"");
        expect_error("", "web.yaml:1:1: expected a policy mapping (schema: hypercall.policy/v1), "
                         "got an empty file");
        expect_error("- a\n- b\n", "web.yaml:1:1: expected a policy mapping (schema: "
                                   "hypercall.policy/v1), got a sequence");
}

HC_TEST(policy__rejects_bad_globs)
{
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"web-[0-9\"]}\n",
                     "web.yaml:3:21: expected an fnmatch(3) glob on host names, got \"web-[0-9\" "
                     "(an unterminated \"[\")");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers:\n  include: [\"w*\"]\n"
                     "  exclude: [\"web-[]\"]\n",
                     "web.yaml:5:13: expected an fnmatch(3) glob on host names, got \"web-[]\" "
                     "(an unterminated \"[\")");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"web-[9-0]\"]}\n",
                     "web.yaml:3:21: expected an fnmatch(3) glob on host names, got \"web-[9-0]\" "
                     "(a reversed range)");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"\"]}\n",
                     "web.yaml:3:21: expected an fnmatch(3) glob on host names, got \"\" (empty)");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: \"web-*\"}\n",
                     "web.yaml:3:20: expected a sequence of fnmatch(3) globs, got \"web-*\"");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [web\\]}\n",
                     "web.yaml:3:21: expected an fnmatch(3) glob on host names, got \"web\\\" "
                     "(a trailing backslash)");
}

HC_TEST(policy__rejects_bad_psci_max)
{
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "psci:\n  max: \"1.4\"\n",
                     "web.yaml:5:8: expected a PSCI version \"major.minor\" KVM knows (0.2, 1.0, "
                     "1.1, 1.2, 1.3), got \"1.4\"");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "psci:\n  max: \"0.1\"\n",
                     "web.yaml:5:8: expected a PSCI version \"major.minor\" KVM knows (0.2, 1.0, "
                     "1.1, 1.2, 1.3), got \"0.1\"");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "psci:\n  max: 0x10001\n",
                     "web.yaml:5:8: expected a PSCI version \"major.minor\" KVM knows (0.2, 1.0, "
                     "1.1, 1.2, 1.3), got \"0x10001\"");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "psci: \"1.1\"\n",
                     "web.yaml:4:7: expected a mapping with max, got \"1.1\"");
}

HC_TEST(policy__unquoted_psci_max_reads_as_written)
{
        _cleanup_(hc_policy_freep) struct hc_policy *p = parse_ok(
                "schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                "psci: {max: 1.0}\n");

        HC_ASSERT_INTEQ(p->psci_max, 0x10000);
}

HC_TEST(policy__max_record_age_takes_unit_suffixes)
{
        static const struct {
                const char *text;
                int64_t seconds;
        } good[] = {{"30m", 1800}, {"24h", 86400}, {"7d", 604800}, {"3600s", 3600}};
        static const char *const bad[] = {"0h", "24", "h", "1.5h", "-3h", "24H", "1w", "24 h",
                                          "99999999999999999999s", "9999999999999999d"};

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                int64_t v = 0;

                HC_ASSERT(hc_parse_duration(good[i].text, &v) == 0, "%s refused", good[i].text);
                HC_ASSERT_INTEQ(v, good[i].seconds);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                HC_ASSERT(hc_parse_duration(bad[i], NULL) < 0, "%s accepted", bad[i]);
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "max_record_age: 1.5h\n",
                     "web.yaml:4:17: expected a duration such as 3600s, 30m, 24h or 7d, got "
                     "\"1.5h\"");
}

HC_TEST(policy__rejects_invalid_modes)
{
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "legacy_hosts: ignore\n",
                     "web.yaml:4:15: expected refuse or exclude, got \"ignore\"");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "unknown_registers: no\n",
                     "web.yaml:4:20: expected refuse or ignore, got \"no\" (YAML 1.1 reads it as "
                     "a boolean)");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "services:\n  trng: [auto]\n",
                     "web.yaml:5:9: expected auto, require or deny, got a sequence");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "services:\n  trng:\n",
                     "web.yaml:5:8: expected auto, require or deny, got nothing");
        expect_error("schema: hypercall.policy/v1\npool: web/prod\n",
                     "web.yaml:2:7: expected a pool name (letters, digits, \"-\", \"_\", \".\"; "
                     "up to 64), got \"web/prod\"");
        expect_error("schema: hypercall.policy/v1\npool: yes\n",
                     "web.yaml:2:7: expected a pool name (letters, digits, \"-\", \"_\", \".\"; "
                     "up to 64), got \"yes\" (YAML 1.1 reads it as a boolean)");
}

HC_TEST(policy__rejects_anchors_aliases_tags_and_documents)
{
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: &m {include: [\"w*\"]}\n",
                     "web.yaml:3:10: expected plain YAML without anchors, got \"&m\"");
        expect_error("schema: hypercall.policy/v1\npool: &p web\nmembers: {include: [*p]}\n",
                     "web.yaml:2:7: expected plain YAML without anchors, got \"&p\"");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [*p]}\n",
                     "web.yaml:3:21: expected plain YAML without aliases, got \"*p\"");
        expect_error("schema: hypercall.policy/v1\npool: !!str web\n",
                     "web.yaml:2:7: expected plain YAML without tags, got "
                     "\"tag:yaml.org,2002:str\"");
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]}\n"
                     "---\nschema: hypercall.policy/v1\n",
                     "web.yaml:4:1: expected a single YAML document, got a second one");
        expect_error("%TAG ! tag:example.com,2000:\n---\nschema: hypercall.policy/v1\n",
                     "web.yaml:1:1: expected plain YAML without tags, got a %TAG directive");
}

HC_TEST(policy__syntax_errors_carry_position)
{
        expect_error("schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"w*\"]\n",
                     "web.yaml:4:1: invalid YAML: did not find expected ',' or '}' while parsing "
                     "a flow mapping");
        expect_error("schema: hypercall.policy/v1\npool: web: x\n",
                     "web.yaml:2:10: invalid YAML: mapping values are not allowed in this context");
        expect_error("schema: hypercall.policy/v1\n\tpool: web\n",
                     "web.yaml:2:1: invalid YAML: found a tab character that violates indentation "
                     "while scanning a plain scalar");
        expect_error("schema: \"unterminated\n",
                     "web.yaml:2:1: invalid YAML: found unexpected end of stream while scanning "
                     "a quoted scalar");
        expect_error("schema: hypercall.policy/v1\npool: \xff\n",
                     "web.yaml:2:7: invalid YAML: invalid leading UTF-8 octet");
}

HC_TEST(policy__rejects_nul_bytes)
{
        static const char text[] = "schema: hypercall.policy/v1\0pool: web\n";
        struct hc_policy *p = NULL;
        struct hc_error err = {0};

        HC_ASSERT(hc_policy_parse(text, sizeof(text) - 1, "web.yaml", &p, &err) == -EINVAL,
                  "NUL byte accepted");
        HC_ASSERT_STREQ(err.text, "web.yaml: expected UTF-8 text, got a NUL byte");
}

HC_TEST(policy__canonical_form_ignores_layout_and_comments)
{
        _cleanup_(hc_policy_freep) struct hc_policy *a = parse_ok(VALID);
        _cleanup_(hc_policy_freep) struct hc_policy *b = parse_ok(
                "# the web tier\nmax_record_age: 24h\nunknown_registers: ignore\n"
                "legacy_hosts: exclude\npsci: {max: \"1.1\"}\nservices: {ptp: deny, pv-time: "
                "require, trng: auto}\nmembers:\n  exclude: [web-canary-*]\n  include:\n"
                "    - web-*\n    - edge-0[1-4]\ndescription: \"Web tier\"\npool: web\n"
                "schema: hypercall.policy/v1\n");
        _cleanup_(hc_policy_freep) struct hc_policy *c = parse_ok(
                "schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"web-*\"]}\n");
        struct hc_buf ba = {0}, bb = {0}, bc = {0};

        HC_ASSERT(hc_policy_canonical(a, &ba) == 0 && hc_policy_canonical(b, &bb) == 0 &&
                          hc_policy_canonical(c, &bc) == 0,
                  "oom");
        HC_ASSERT_STREQ(bb.data, ba.data);
        HC_ASSERT(strcmp(ba.data, bc.data) != 0, "different policies, same canonical form");
        hc_buf_done(&ba);
        hc_buf_done(&bb);
        hc_buf_done(&bc);
}

static void write_file(const char *dir, const char *name, const char *text)
{
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        HC_ASSERT(f, "cannot create %s", path);
        fputs(text, f);
        fclose(f);
}

static char *make_dir(void)
{
        char *dir = strdup("/tmp/hc-test-policy-XXXXXX");

        HC_ASSERT(dir && mkdtemp(dir), "mkdtemp");
        return dir;
}

static void remove_dir(const char *dir)
{
        char **files = NULL;
        size_t n = 0;
        struct hc_error err = {0};

        if (hc_policy_list_files(dir, "", &files, &n, &err) == 0) {
                for (size_t i = 0; i < n; i++)
                        (void)unlink(files[i]);
                hc_policy_strv_free(files, n);
        }
        (void)rmdir(dir);
}

HC_TEST(policy__dir_loads_yaml_sorted_by_pool)
{
        _cleanup_free_ char *dir = make_dir();
        struct hc_policy_set set = {0};
        struct hc_error err = {0};

        write_file(dir, "10-web.yaml",
                   "schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"web-*\"]}\n");
        write_file(dir, "20-batch.yaml",
                   "schema: hypercall.policy/v1\npool: batch\nmembers: {include: [\"b-*\"]}\n");
        write_file(dir, "README.md", "not a policy\n");
        write_file(dir, "old.yaml.bak", "not: [valid\n");
        HC_ASSERT(hc_policy_set_load_dir(dir, &set, &err) == 0, "%s", err.text);
        HC_ASSERT_INTEQ(set.n, 2);
        HC_ASSERT_STREQ(set.policies[0]->pool, "batch");
        HC_ASSERT_STREQ(set.policies[1]->pool, "web");
        HC_ASSERT(hc_policy_set_find(&set, "web") == set.policies[1], "find web");
        HC_ASSERT(hc_policy_set_find(&set, "db") == NULL, "no db pool");
        hc_policy_set_done(&set);
        remove_dir(dir);
}

HC_TEST(policy__duplicate_pool_names_across_files_name_both)
{
        _cleanup_free_ char *dir = make_dir();
        _cleanup_free_ char *expected = NULL;
        struct hc_policy_set set = {0};
        struct hc_error err = {0};

        write_file(dir, "a.yaml",
                   "schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"web-*\"]}\n");
        write_file(dir, "b.yaml",
                   "schema: hypercall.policy/v1\n\npool:   web\nmembers: {include: [\"w-*\"]}\n");
        HC_ASSERT(hc_policy_set_load_dir(dir, &set, &err) == -EEXIST, "duplicate pool accepted");
        HC_ASSERT(set.n == 0 && set.policies == NULL, "a failed load leaves the set empty");
        HC_ASSERT(asprintf(&expected, "%s/b.yaml:3:9: pool \"web\" already defined in %s/a.yaml:2:7",
                           dir, dir) > 0,
                  "oom");
        HC_ASSERT_STREQ(err.text, expected);
        remove_dir(dir);
}

HC_TEST(policy__one_bad_file_fails_the_whole_directory)
{
        _cleanup_free_ char *dir = make_dir();
        _cleanup_free_ char *expected = NULL;
        struct hc_policy_set set = {0};
        struct hc_error err = {0};

        write_file(dir, "a.yaml",
                   "schema: hypercall.policy/v1\npool: web\nmembers: {include: [\"web-*\"]}\n");
        write_file(dir, "b.yaml", "schema: hypercall.policy/v1\npool: db\nmembers: {include: "
                                  "[\"db-*\"]}\nservices: {trng: off}\n");
        HC_ASSERT(hc_policy_set_load_dir(dir, &set, &err) == -EINVAL, "bad file accepted");
        HC_ASSERT(set.n == 0, "nothing half-loaded");
        HC_ASSERT(asprintf(&expected, "%s/b.yaml:4:18: expected auto, require or deny, got "
                                      "\"off\" (YAML 1.1 reads it as a boolean)",
                           dir) > 0,
                  "oom");
        HC_ASSERT_STREQ(err.text, expected);
        remove_dir(dir);
}

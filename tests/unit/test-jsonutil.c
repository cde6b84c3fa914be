/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hc_json_parse() is the one door every JSON reader goes through (records,
 * the baseline file, the daemon's replies): what it refuses, all of them refuse.
 * These tests pin down which repeated keys are duplicates and where they are reported.
 */
#include <errno.h>

#include "hc-test.h"
#include "jsonutil.h"

static int parse(const char *text, struct hc_error *err)
{
        _cleanup_(json_object_putp) json_object *o = NULL;

        return hc_json_parse(text, strlen(text), 16, "t.json", &o, err);
}

HC_TEST(json__same_key_in_different_objects_accepted)
{
        struct hc_error err = {0};

        HC_ASSERT(parse("{\"a\": {\"x\": 1}, \"b\": {\"x\": 2}, \"c\": [{\"x\": 1}, {\"x\": 2}]}",
                        &err) == 0,
                  "%s", err.text);
        /* A key's text inside a string value is not a key, nor a quote inside a quoted key. */
        HC_ASSERT(parse("{\"s\": \"{\\\"a\\\": 1, \\\"a\\\": 2}\", \"a\": \"a\"}", &err) == 0, "%s",
                  err.text);
        HC_ASSERT(parse("{'a\"': 1, \"a\": 2, \"'a\": 3}", &err) == 0, "%s", err.text);
}

HC_TEST(json__duplicate_key_refused_first_in_text)
{
        static const struct {
                const char *text, *error;
        } cases[] = {
            {"{\"a\": 1, \"a\": 2}", "t.json:1:10: duplicate key \"a\""},
            /* The inner repeat comes first in the text, though its object closes first too. */
            {"{\"a\": 1, \"b\": {\"x\": 1,\n \"x\": 2}, \"a\": 3}",
             "t.json:2:2: duplicate key \"x\""},
            {"{\"a\": 1, \"b\": {\"x\": 1, \"y\": 2}, \"a\": {\"x\": 1, \"x\": 2}}",
             "t.json:1:33: duplicate key \"a\""},
            {"[{}, {\"k\": [], \"k\" : []}]", "t.json:1:16: duplicate key \"k\""},
            /* json-c keeps keys as C strings: "a\u0000b" and "a\u0000c" are both "a". */
            {"{\"a\\u0000b\": 1, \"a\\u0000c\": 2}", "t.json:1:17: duplicate key \"a\\u0000c\""},
            {"{\"q\\\"\": 1, \"\\u0071\\\"\": 2}", "t.json:1:12: duplicate key \"\\u0071\\\"\""},
            /* json-c 0.16 takes single-quoted keys even in strict mode: the same key again. */
            {"{'a': 1, \"a\": 2}", "t.json:1:10: duplicate key \"a\""},
            {"{'a\"{': 1, \"b\": 2, 'a\"{': 3}", "t.json:1:20: duplicate key \"a\"{\""},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct hc_error err = {0};

                HC_ASSERT_INTEQ(parse(cases[i].text, &err), -EINVAL);
                HC_ASSERT_STREQ(err.text, cases[i].error);
        }
}

HC_TEST(json__duplicate_key_among_many_keys_found)
{
        _cleanup_free_ char *text = NULL;
        struct hc_error err = {0};
        size_t n = 0;
        char *t;

        /* 5000 distinct keys, then two repeats: the sorted check, not the pairwise one. */
        text = t = calloc(1, 5000 * 16 + 64);
        HC_ASSERT(text, "oom");
        t += sprintf(t, "{");
        for (int i = 0; i < 5000; i++)
                t += sprintf(t, "\"k%d\": %d, ", i, i);
        n = (size_t)(t - text);
        sprintf(t, "\"k4999\": 0, \"k17\": 0}");
        HC_ASSERT_INTEQ(parse(text, &err), -EINVAL);
        {
                char want[64];

                snprintf(want, sizeof(want), "t.json:1:%zu: duplicate key \"k4999\"", n + 1);
                HC_ASSERT_STREQ(err.text, want);
        }
        sprintf(t, "\"k5000\": 0}");
        HC_ASSERT(parse(text, &err) == 0, "%s", err.text);
}

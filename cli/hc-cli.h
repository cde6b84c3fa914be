/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * hypercallctl's command framework, after virsh: each command is a help
 * record, an option table and a handler; parsing, usage errors and `help`
 * are all driven by the tables.  Handlers build a json-c document and hand
 * it to hc_cli_output(), which prints JSON with --json or a table otherwise.
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "hc-macro.h"

/* Exit status, documented in `hypercallctl help` and the README. */
enum hc_exit {
        HC_EXIT_OK = 0,             /* success; for checks: compatible / may join */
        HC_EXIT_NO = 1,             /* a definite "no": refused, incompatible, would narrow */
        HC_EXIT_INVALID_INPUT = 2,  /* bad input file: file:line error on stderr, no stdout */
        HC_EXIT_USAGE = 64,         /* bad command line (EX_USAGE) */
        HC_EXIT_UNDECIDED = 255,    /* could not decide: daemon unreachable, internal error */
};

enum hc_opt_type {
        HC_OT_BOOL,   /* --flag */
        HC_OT_STRING, /* --name VALUE or --name=VALUE; last one wins */
        HC_OT_LIST,   /* --name VALUE, repeatable */
};

struct hc_opt {
        const char *name;  /* long name without "--" */
        char short_name;   /* 0 for none */
        enum hc_opt_type type;
        bool required;
        const char *arg;   /* placeholder in usage: "DIR", "NAME" */
        const char *help;
};

#define HC_OPT_END {.name = NULL}

/* The same option reads the same everywhere. */
#define HC_OPT_JSON         {.name = "json", .type = HC_OT_BOOL, .help = "print one JSON document"}
#define HC_OPT_RECORDS(req) {.name = "records", .type = HC_OT_STRING, .required = (req), .arg = "DIR", .help = "directory of host records (*.json)"}
#define HC_OPT_POLICIES(req) {.name = "policies", .type = HC_OT_STRING, .required = (req), .arg = "DIR", .help = "directory of pool policies (*.yaml)"}
#define HC_OPT_POOL(req)    {.name = "pool", .type = HC_OT_STRING, .required = (req), .arg = "NAME", .help = "pool name"}

struct hc_invocation;

struct hc_cmd {
        const char *name;
        enum hc_exit (*handler)(struct hc_invocation *inv);
        const struct hc_opt *opts;
        const char *args;        /* positional arguments in usage, e.g. "FILE..." */
        size_t min_args, max_args; /* max_args SIZE_MAX: unbounded */
        const char *summary;     /* one line for `help` */
        const char *description; /* paragraph for `help CMD` */
};

#define HC_CMD_END {.name = NULL}

/* Per-group tables, each terminated by HC_CMD_END. */
extern const struct hc_cmd hc_cmds_host[];
extern const struct hc_cmd hc_cmds_fleet[];
extern const struct hc_cmd hc_cmds_check[];
extern const struct hc_cmd hc_cmds_daemon[];
extern const struct hc_cmd hc_cmds_plan[];

struct hc_invocation {
        const struct hc_cmd *cmd;
        char **args; /* positional arguments */
        size_t n_args;
        /* Parsed values, indexed like cmd->opts. */
        const char **values;
        bool *set;
        char ***lists;
        size_t *list_len;
};

bool hc_opt_bool(const struct hc_invocation *inv, const char *name);
const char *hc_opt_string(const struct hc_invocation *inv, const char *name);
/* Values of a repeatable option, in command-line order. */
size_t hc_opt_list(const struct hc_invocation *inv, const char *name, char ***ret);

/* Prints "hypercallctl: message" on stderr; returns code for `return hc_cli_fail(...)`. */
enum hc_exit hc_cli_fail(enum hc_exit code, const char *fmt, ...) _printf_(2, 3);

/*
 * With --json prints doc as one document; otherwise calls print_table(doc).
 * Returns code, or HC_EXIT_UNDECIDED when doc is NULL (out of memory).  The
 * caller keeps ownership of doc.
 */
enum hc_exit hc_cli_output(const struct hc_invocation *inv, json_object *doc,
                           void (*print_table)(json_object *doc), enum hc_exit code);

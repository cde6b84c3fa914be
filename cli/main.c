/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hypercallctl: the operator's tool.  `hypercallctl help` lists commands;
 * every read command takes --json.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "hc-cli.h"
#include "jsonutil.h"

#ifndef HC_VERSION
#define HC_VERSION "unknown"
#endif

static const struct hc_cmd *const groups[] = {
        hc_cmds_host,
#ifndef HC_PROBE_ONLY
        hc_cmds_fleet,
        hc_cmds_check,
        hc_cmds_plan,
        hc_cmds_daemon,
#endif
};

static const char exit_status_text[] =
        "Exit status:\n"
        "  0    success; for checks: compatible, may join, all pools ok\n"
        "  1    a definite no: pool refused, migration refused, host would narrow a pool,\n"
        "       host cannot be probed (the result or reason is still printed)\n"
        "  2    invalid input: file:line error on stderr, nothing on stdout\n"
        "  64   bad command line\n"
        "  255  could not decide: daemon unreachable or internal error\n";

enum hc_exit hc_cli_fail(enum hc_exit code, const char *fmt, ...)
{
        va_list ap;

        fputs("hypercallctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return code;
}

static const struct hc_cmd *find_command(const char *name)
{
        for (size_t g = 0; g < ELEMENTSOF(groups); g++)
                for (const struct hc_cmd *c = groups[g]; c->name; c++)
                        if (strcmp(c->name, name) == 0)
                                return c;
        return NULL;
}

static int find_option(const struct hc_cmd *cmd, const char *name, char short_name)
{
        for (int i = 0; cmd->opts && cmd->opts[i].name; i++)
                if ((name && strcmp(cmd->opts[i].name, name) == 0) ||
                    (!name && short_name && cmd->opts[i].short_name == short_name))
                        return i;
        return -1;
}

static void print_usage_line(FILE *f, const struct hc_cmd *cmd)
{
        fprintf(f, "hypercallctl %s", cmd->name);
        for (int i = 0; cmd->opts && cmd->opts[i].name; i++) {
                const struct hc_opt *o = &cmd->opts[i];
                char flag[64];

                if (o->short_name)
                        snprintf(flag, sizeof(flag), "-%c", o->short_name);
                else
                        snprintf(flag, sizeof(flag), "--%s", o->name);
                fprintf(f, " %s%s%s%s%s%s", o->required ? "" : "[", flag, o->arg ? " " : "",
                        o->arg ?: "", o->required ? "" : "]", o->type == HC_OT_LIST ? "..." : "");
        }
        if (cmd->args)
                fprintf(f, " %s", cmd->args);
        fputc('\n', f);
}

static void print_command_help(const struct hc_cmd *cmd)
{
        printf("Usage: ");
        print_usage_line(stdout, cmd);
        printf("\n%s\n", cmd->description ?: cmd->summary);
        if (cmd->opts && cmd->opts[0].name)
                printf("\nOptions:\n");
        for (int i = 0; cmd->opts && cmd->opts[i].name; i++) {
                const struct hc_opt *o = &cmd->opts[i];
                char left[64];
                if (o->short_name)
                        snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
                                 o->arg ? " " : "", o->arg ?: "");
                else
                        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
                                 o->arg ?: "");
                printf("  %-26s %s%s\n", left, o->help, o->required ? " (required)" : "");
        }
        printf("\n%s", exit_status_text);
}

static void print_general_help(void)
{
        printf("Usage: hypercallctl COMMAND [OPTIONS] [ARGS]\n\n"
               "Fleet policy for the KVM/arm64 hypercall firmware registers.\n\nCommands:\n");
        for (size_t g = 0; g < ELEMENTSOF(groups); g++)
                for (const struct hc_cmd *c = groups[g]; c->name; c++)
                        printf("  %-16s %s\n", c->name, c->summary);
        printf("  %-16s %s\n", "help [COMMAND]", "show this help, or one command's");
        printf("\n  --version        print the version\n\n%s", exit_status_text);
}

static int invocation_alloc(struct hc_invocation *inv, const struct hc_cmd *cmd, int argc)
{
        size_t n = 0;

        while (cmd->opts && cmd->opts[n].name)
                n++;
        inv->cmd = cmd;
        inv->values = calloc(n + 1, sizeof(*inv->values));
        inv->set = calloc(n + 1, sizeof(*inv->set));
        inv->lists = calloc(n + 1, sizeof(*inv->lists));
        inv->list_len = calloc(n + 1, sizeof(*inv->list_len));
        inv->args = calloc((size_t)argc + 1, sizeof(*inv->args));
        return inv->values && inv->set && inv->lists && inv->list_len && inv->args ? 0 : -ENOMEM;
}

static void invocation_done(struct hc_invocation *inv)
{
        for (size_t i = 0; inv->lists && inv->cmd->opts && inv->cmd->opts[i].name; i++)
                free(inv->lists[i]);
        free(inv->values);
        free(inv->set);
        free(inv->lists);
        free(inv->list_len);
        free(inv->args);
}

static enum hc_exit store_option(struct hc_invocation *inv, int i, const char *value)
{
        const struct hc_opt *o = &inv->cmd->opts[i];
        char **grown;

        inv->set[i] = true;
        if (o->type == HC_OT_STRING)
                inv->values[i] = value;
        if (o->type != HC_OT_LIST)
                return HC_EXIT_OK;
        grown = reallocarray(inv->lists[i], inv->list_len[i] + 1, sizeof(char *));
        if (!grown)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
        inv->lists[i] = grown;
        inv->lists[i][inv->list_len[i]++] = (char *)value;
        return HC_EXIT_OK;
}

static enum hc_exit parse_one_option(struct hc_invocation *inv, int argc, char **argv, int *pos)
{
        const char *arg = argv[*pos], *value = NULL, *eq;
        _cleanup_free_ char *name = NULL;
        int i;

        if (arg[1] == '-') {
                eq = strchr(arg + 2, '=');
                name = eq ? strndup(arg + 2, (size_t)(eq - arg - 2)) : strdup(arg + 2);
                if (!name)
                        return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
                value = eq ? eq + 1 : NULL;
                i = find_option(inv->cmd, name, 0);
        } else {
                i = arg[2] == '\0' ? find_option(inv->cmd, NULL, arg[1]) : -1;
        }
        if (i < 0)
                return hc_cli_fail(HC_EXIT_USAGE, "%s: unknown option '%s'; see 'hypercallctl help %s'",
                                   inv->cmd->name, arg, inv->cmd->name);
        if (inv->cmd->opts[i].type == HC_OT_BOOL) {
                if (value)
                        return hc_cli_fail(HC_EXIT_USAGE, "%s: option --%s takes no value",
                                           inv->cmd->name, inv->cmd->opts[i].name);
                return store_option(inv, i, NULL);
        }
        if (!value) {
                if (*pos + 1 >= argc)
                        return hc_cli_fail(HC_EXIT_USAGE, "%s: option --%s needs a value (%s)",
                                           inv->cmd->name, inv->cmd->opts[i].name,
                                           inv->cmd->opts[i].arg ?: "VALUE");
                value = argv[++*pos];
        }
        return store_option(inv, i, value);
}

static enum hc_exit parse_command_line(struct hc_invocation *inv, int argc, char **argv)
{
        bool options_done = false;
        enum hc_exit e;

        for (int pos = 0; pos < argc; pos++) {
                if (!options_done && strcmp(argv[pos], "--") == 0) {
                        options_done = true;
                } else if (!options_done && argv[pos][0] == '-' && argv[pos][1] != '\0') {
                        e = parse_one_option(inv, argc, argv, &pos);
                        if (e != HC_EXIT_OK)
                                return e;
                } else {
                        inv->args[inv->n_args++] = argv[pos];
                }
        }
        for (int i = 0; inv->cmd->opts && inv->cmd->opts[i].name; i++)
                if (inv->cmd->opts[i].required && !inv->set[i])
                        return hc_cli_fail(HC_EXIT_USAGE, "%s: missing required option --%s",
                                           inv->cmd->name, inv->cmd->opts[i].name);
        if (inv->n_args < inv->cmd->min_args || inv->n_args > inv->cmd->max_args)
                return hc_cli_fail(HC_EXIT_USAGE, "%s: expected %s%s; see 'hypercallctl help %s'",
                                   inv->cmd->name, inv->cmd->args ? "arguments " : "no arguments",
                                   inv->cmd->args ?: "", inv->cmd->name);
        return HC_EXIT_OK;
}

static int option_index(const struct hc_invocation *inv, const char *name)
{
        int i = find_option(inv->cmd, name, 0);

        assert(i >= 0); /* a handler asked for an option its table lacks */
        return i;
}

bool hc_opt_bool(const struct hc_invocation *inv, const char *name)
{
        return inv->set[option_index(inv, name)];
}

const char *hc_opt_string(const struct hc_invocation *inv, const char *name)
{
        return inv->values[option_index(inv, name)];
}

size_t hc_opt_list(const struct hc_invocation *inv, const char *name, char ***ret)
{
        int i = option_index(inv, name);

        *ret = inv->lists[i];
        return inv->list_len[i];
}

enum hc_exit hc_cli_output(const struct hc_invocation *inv, json_object *doc,
                           void (*print_table)(json_object *doc), enum hc_exit code)
{
        _cleanup_free_ char *text = NULL;

        if (!doc)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
        if (find_option(inv->cmd, "json", 0) >= 0 && hc_opt_bool(inv, "json")) {
                text = hc_json_to_text(doc);
                if (!text)
                        return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
                fputs(text, stdout);
        } else {
                print_table(doc);
        }
        if (fflush(stdout) != 0)
                return hc_cli_fail(HC_EXIT_UNDECIDED, "writing output: %s", strerror(errno));
        return code;
}

static enum hc_exit run_command(const struct hc_cmd *cmd, int argc, char **argv)
{
        struct hc_invocation inv = {0};
        enum hc_exit e;

        for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        print_command_help(cmd);
                        return HC_EXIT_OK;
                }
        if (invocation_alloc(&inv, cmd, argc) < 0) {
                invocation_done(&inv);
                return hc_cli_fail(HC_EXIT_UNDECIDED, "out of memory");
        }
        e = parse_command_line(&inv, argc, argv);
        if (e == HC_EXIT_OK)
                e = cmd->handler(&inv);
        invocation_done(&inv);
        return e;
}

static enum hc_exit help(int argc, char **argv)
{
        const struct hc_cmd *cmd;

        if (argc == 0) {
                print_general_help();
                return HC_EXIT_OK;
        }
        cmd = find_command(argv[0]);
        if (!cmd)
                return hc_cli_fail(HC_EXIT_USAGE, "help: unknown command '%s'", argv[0]);
        print_command_help(cmd);
        return HC_EXIT_OK;
}

int main(int argc, char **argv)
{
        const struct hc_cmd *cmd;

        if (argc < 2) {
                print_general_help();
                return HC_EXIT_USAGE;
        }
        if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
            strcmp(argv[1], "-h") == 0)
                return help(argc - 2, argv + 2);
        if (strcmp(argv[1], "--version") == 0) {
                printf("hypercallctl %s\n", HC_VERSION);
                return HC_EXIT_OK;
        }
        cmd = find_command(argv[1]);
        if (!cmd)
                return hc_cli_fail(HC_EXIT_USAGE, "unknown command '%s'; see 'hypercallctl help'",
                                   argv[1]);
        return run_command(cmd, argc - 2, argv + 2);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hypercalld.conf decides where the daemon reads policies and writes the
 * baseline.  These tests prove that defaults apply when no file exists, that
 * /etc masks /usr/lib and drop-ins apply in name order as in systemd, and
 * that a typo or a bad value is refused with file:line and what was expected
 * instead of silently falling back to a default.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon-config.h"
#include "fileio.h"
#include "hc-test.h"

static void put(const char *root, const char *rel, const char *text)
{
        char path[512], cmd[600];
        struct hc_error err = {0};

        snprintf(path, sizeof(path), "%s%s", root, rel);
        snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
        HC_ASSERT(system(cmd) == 0, "%s", cmd);
        HC_ASSERT(hc_write_file_atomic(path, text, strlen(text), 0644, &err) == 0, "%s", err.text);
}

static char *root_dir(void)
{
        char *d = strdup("/tmp/hc-conf-XXXXXX");

        HC_ASSERT(d && mkdtemp(d), "mkdtemp");
        return d;
}

static void rmtree(const char *d)
{
        char cmd[600];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
        HC_ASSERT(system(cmd) == 0, "%s", cmd);
}

HC_TEST(daemon_config__defaults_without_files)
{
        _cleanup_free_ char *root = root_dir();
        struct hcd_config c = {0};
        struct hc_error err = {0};
        char **files = NULL;
        size_t n = 9;

        HC_ASSERT(hcd_config_load(&c, root, NULL, &files, &n, &err) == 0, "%s", err.text);
        HC_ASSERT_INTEQ(n, 0);
        HC_ASSERT_STREQ(c.state_dir, "/var/lib/hypercall");
        HC_ASSERT_STREQ(c.policy_dir, "/etc/hypercall/policy.d");
        HC_ASSERT_STREQ(c.store, "dir:/var/lib/hypercall/fleet");
        HC_ASSERT_STREQ(c.plan_dir, "/run/hypercall/vm");
        HC_ASSERT(c.record_file == NULL, "no record file by default");
        HC_ASSERT_INTEQ(c.probe, HCD_PROBE_AUTO);
        HC_ASSERT_INTEQ(c.settle_usec, 200000);
        free(files);
        hcd_config_done(&c);
        rmtree(root);
}

HC_TEST(daemon_config__etc_masks_usr_lib_and_dropins_apply_in_name_order)
{
        _cleanup_free_ char *root = root_dir();
        struct hcd_config c = {0};
        struct hc_error err = {0};
        char **files = NULL;
        size_t n = 0;

        put(root, "/usr/lib/hypercall/hypercalld.conf", "[Daemon]\nSettleSec=5s\nHostName=vendor\n");
        put(root, "/etc/hypercall/hypercalld.conf", "# admin\n[Daemon]\nHostName=admin\n");
        put(root, "/usr/lib/hypercall/hypercalld.conf.d/10-vendor.conf",
            "[Daemon]\nProbeIntervalSec=1h\nRescanIntervalSec=10s\n");
        put(root, "/usr/lib/hypercall/hypercalld.conf.d/60-masked.conf", "[Daemon]\nProbe=yes\n");
        put(root, "/etc/hypercall/hypercalld.conf.d/60-masked.conf", "[Daemon]\nProbe=no\n");
        put(root, "/etc/hypercall/hypercalld.conf.d/90-admin.conf", "[Daemon]\nRescanIntervalSec=2min\n");
        HC_ASSERT(hcd_config_load(&c, root, NULL, &files, &n, &err) == 0, "%s", err.text);
        HC_ASSERT_INTEQ(n, 4);
        HC_ASSERT_STREQ(c.host_name, "admin");
        HC_ASSERT_INTEQ(c.settle_usec, 200000); /* /usr/lib's main file is masked whole */
        HC_ASSERT_INTEQ(c.probe_interval_usec, 3600ULL * 1000000);
        HC_ASSERT_INTEQ(c.probe, HCD_PROBE_NO);
        HC_ASSERT_INTEQ(c.rescan_interval_usec, 120ULL * 1000000);
        for (size_t i = 0; i < n; i++)
                free(files[i]);
        free(files);
        hcd_config_done(&c);
        rmtree(root);
}

HC_TEST(daemon_config__rejects_malformed_with_line)
{
        static const struct {
                const char *text, *error;
        } cases[] = {
                {"[Daemon]\nPolicyDir=/x\n",
                 "c.conf:2: unknown key \"PolicyDir\" in [Daemon]; expected one of StateDirectory, "
                 "PolicyDirectory, Store, RuntimeDirectory, PlanDirectory, RecordFile, HostName, "
                 "Probe, ProbeIntervalSec, RescanIntervalSec, SettleSec, LibvirtURI, LibvirtRetrySec"},
                {"[Daemon]\n\nStateDirectory=var/lib\n",
                 "c.conf:3: StateDirectory=: expected an absolute path, got \"var/lib\""},
                {"[Daemon]\nSettleSec=fast\n",
                 "c.conf:2: SettleSec=: expected a time span like \"30s\", \"5min\", \"6h\" "
                 "(units us, ms, s, min, h, d), got \"fast\""},
                {"[Daemon]\nProbe=maybe\n", "c.conf:2: Probe=: expected auto, yes or no, got \"maybe\""},
                {"Store=/x\n", "c.conf:1: Store= outside a section; expected it under [Daemon]"},
                {"[Service]\n", "c.conf:1: unknown section [Service]; expected [Daemon]"},
                {"[Daemon\n", "c.conf:1: expected a section header like [Daemon]"},
                {"[Daemon]\njust words\n", "c.conf:2: expected Key=Value, a [Section] or a # comment"},
                {"[Daemon]\nRecordFile=relative.json\n",
                 "c.conf:2: RecordFile=: expected an absolute path or nothing, got \"relative.json\""},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct hcd_config c = {0};
                struct hc_error err = {0};

                HC_ASSERT(hcd_config_init(&c) == 0, "init");
                HC_ASSERT_INTEQ(hcd_config_parse(&c, cases[i].text, strlen(cases[i].text), "c.conf", &err),
                                -EINVAL);
                HC_ASSERT_STREQ(err.text, cases[i].error);
                hcd_config_done(&c);
        }
}

HC_TEST(daemon_config__bad_dropin_leaves_defaults)
{
        _cleanup_free_ char *root = root_dir();
        struct hcd_config c = {0};
        struct hc_error err = {0};
        char want[600];

        HC_ASSERT(hcd_config_init(&c) == 0, "init");
        put(root, "/etc/hypercall/hypercalld.conf", "[Daemon]\nHostName=admin\n");
        put(root, "/etc/hypercall/hypercalld.conf.d/50-bad.conf", "[Daemon]\nSettleSec=-1\n");
        HC_ASSERT_INTEQ(hcd_config_load(&c, root, NULL, NULL, NULL, &err), -EINVAL);
        snprintf(want, sizeof(want),
                 "%s/etc/hypercall/hypercalld.conf.d/50-bad.conf:2: SettleSec=: expected a time span "
                 "like \"30s\", \"5min\", \"6h\" (units us, ms, s, min, h, d), got \"-1\"",
                 root);
        HC_ASSERT_STREQ(err.text, want);
        HC_ASSERT(c.host_name == NULL, "nothing of a failed load applies");
        hcd_config_done(&c);
        rmtree(root);
}

HC_TEST(daemon_config__timespans)
{
        uint64_t u;

        HC_ASSERT(hcd_parse_timespan("200ms", &u) == 0 && u == 200000, "200ms");
        HC_ASSERT(hcd_parse_timespan("30", &u) == 0 && u == 30000000, "30");
        HC_ASSERT(hcd_parse_timespan("5min", &u) == 0 && u == 300000000, "5min");
        HC_ASSERT(hcd_parse_timespan("1d", &u) == 0 && u == 86400000000ULL, "1d");
        HC_ASSERT_INTEQ(hcd_parse_timespan("1.5s", &u), -EINVAL);
        HC_ASSERT_INTEQ(hcd_parse_timespan("", &u), -EINVAL);
        HC_ASSERT_INTEQ(hcd_parse_timespan("99999999999999999999", &u), -ERANGE);
}

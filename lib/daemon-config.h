/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * hypercalld.conf(5): an INI file in systemd's style, one [Daemon] section:
 *
 *   [Daemon]
 *   PolicyDirectory=/etc/hypercall/policy.d
 *   Store=dir:/var/lib/hypercall/fleet
 *   RecordFile=/etc/hypercall/host.json
 *   ProbeIntervalSec=6h
 *
 * Found as in systemd (standard-conf): hypercalld.conf in /etc/hypercall,
 * /run/hypercall or /usr/lib/hypercall, the first one wins; then drop-ins
 * hypercalld.conf.d/NAME.conf from the same three directories, a name in
 * /etc masking the same name in /run and /usr/lib, applied in name order.
 * Later settings override earlier ones.  Every error names file:line and
 * what was expected; an unknown key is an error (a typo must not silently
 * fall back to a default).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hc-error.h"

enum hcd_probe_mode {
        HCD_PROBE_AUTO, /* probe /dev/kvm; without arm64 KVM use RecordFile= or run without a record */
        HCD_PROBE_YES,  /* probe; failing to is an error at start */
        HCD_PROBE_NO,   /* never probe: RecordFile= or no record */
};

struct hcd_config {
        char *state_dir;      /* StateDirectory=: baseline.json lives here */
        char *policy_dir;     /* PolicyDirectory= */
        char *store;          /* Store=: "dir:/path" or a path */
        char *runtime_dir;    /* RuntimeDirectory= */
        char *plan_dir;       /* PlanDirectory=: per-VM plans the start path writes */
        char *record_file;    /* RecordFile=: this host's record when it cannot probe; NULL: none */
        char *host_name;      /* HostName=: NULL: gethostname() */
        enum hcd_probe_mode probe; /* Probe= */
        uint64_t probe_interval_usec;  /* ProbeIntervalSec=: re-probe and republish; 0: never */
        uint64_t rescan_interval_usec; /* RescanIntervalSec=: store/policy rescan on a timer; 0: never */
        uint64_t settle_usec;          /* SettleSec=: quiet time after a change before recomputing */
        char *libvirt_uri;    /* LibvirtURI=: read-only connection for the VM audit; NULL: none */
        uint64_t libvirt_retry_usec;   /* LibvirtRetrySec= */
};

#define HCD_CONFIG_NAME "hypercalld.conf"

/* Fills c with the built-in defaults; 0 or -ENOMEM. */
int hcd_config_init(struct hcd_config *c);
void hcd_config_done(struct hcd_config *c);

/* Applies one file's settings onto c; origin names it in errors. */
int hcd_config_parse(struct hcd_config *c, const char *text, size_t len, const char *origin,
                     struct hc_error *err);

/*
 * Loads the configuration: with path, that file only (it must exist);
 * without, the standard search under root ("" for the real system, a
 * directory for tests).  On error c is left as the defaults plus nothing:
 * all or nothing.  *ret_files (may be NULL) gets the files applied, in order.
 */
int hcd_config_load(struct hcd_config *c, const char *root, const char *path, char ***ret_files,
                    size_t *ret_n, struct hc_error *err);

/* "200ms", "30s", "5min", "6h", "1d"; a bare number is seconds.  -EINVAL or -ERANGE. */
int hcd_parse_timespan(const char *s, uint64_t *ret_usec);

/* Replaces *dst by a copy of src (NULL clears); 0 or -ENOMEM. */
int hcd_config_set_string(char **dst, const char *src);

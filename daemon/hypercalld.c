/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hypercalld: the host daemon on the system D-Bus, modelled on
 * systemd-hostnamed.  It keeps this host's record fresh in the fleet store,
 * keeps the fleet baseline current in /var/lib/hypercall/baseline.json (the
 * file the VM-start path reads), audits running VMs against their pools,
 * answers questions on the bus and tells the journal what changed.
 *
 * Layout, top-down, each layer using only those above it: Context and its
 * destructor → policies → host record → recompute → audit → property
 * getters → method handlers → vtable → bus → sources → run().  Everything
 * that computes lives in lib/; this file is glue.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "baseline-file.h"
#include "baseline.h"
#include "bus-api.h"
#include "daemon-config.h"
#include "explain.h"
#include "hcd-libvirt.h"
#include "hcd-log.h"
#include "jsonutil.h"
#include "message-ids.h"
#include "migration.h"
#include "policy.h"
#include "probe.h"
#include "record.h"
#include "shim-plan.h"
#include "store.h"
#include "vcpu-regs.h"
#include "vm-audit.h"

#ifndef HC_VERSION
#define HC_VERSION "unknown"
#endif

#define USEC_PER_SEC  ((uint64_t)1000000)
#define USEC_PER_MSEC ((uint64_t)1000)
#define AUDIT_SETTLE_USEC (300 * USEC_PER_MSEC)

typedef struct PoolSummary {
        char *pool;
        enum hc_pool_status status;
        bool held; /* last-known-good values kept */
        uint64_t generation;
        char digest[HC_DIGEST_MAX];
} PoolSummary;

typedef struct PolicyFile {
        char *path;
        char *pool;               /* the pool it defines, or defined when it last loaded */
        struct hc_policy *policy; /* NULL: error */
        char *error;
} PolicyFile;

/* A finding already logged: logged again only when it changes. */
typedef struct Reported {
        char uuid[37];
        enum hc_vm_verdict verdict;
        uint64_t generation;
} Reported;

/* Command-line overrides, re-applied over the configuration on every reload. */
typedef struct Overrides {
        const char *config, *config_root, *state_dir, *policy_dir, *store, *record_file, *host,
                *plan_dir, *bus_address, *libvirt_uri;
        bool no_probe;
} Overrides;

typedef struct Context {
        Overrides cli;
        struct hcd_config config;
        char **config_files;
        size_t n_config_files;

        char *host_name;
        char *baseline_path;
        const char *state; /* "starting", "running", "reloading" */

        sd_event *event;
        sd_bus *bus;
        sd_event_source *settle_timer, *rescan_timer, *probe_timer, *libvirt_timer, *audit_timer;
        sd_event_source *watch_io, *store_io;
        int watch_fd; /* inotify on the policy and plan directories */
        int policy_wd, plan_wd;

        struct hc_store *store;
        char *store_url; /* what the store was opened with */
        bool store_errored;

        struct hc_record *host_record;
        char *host_source; /* "probe", "file:PATH" or "none" */
        char *host_note;   /* why this host was not probed */

        PolicyFile *policies;
        size_t n_policies;
        char *policy_dir_error;

        /*
         * The baseline: its text (what baseline_path holds) and a summary for the
         * properties.  The parsed document (a json-c object per host name, ~15 MiB at
         * 100k hosts) exists only while a method or a recomputation needs it.
         */
        char *baseline_text;
        bool have_baseline;
        uint64_t generation;
        char *baseline_digest;
        PoolSummary *pools;
        size_t n_pools;
        char *last_error;    /* the last recomputation's first problem; NULL when clean */
        char **quarantined;  /* store entries already reported unusable */
        size_t n_quarantined;
        uint64_t recomputes;
        uint64_t last_recompute_usec;

        struct hcd_libvirt *libvirt;
        char *libvirt_state;
        json_object *audit;
        unsigned audit_findings;
        Reported *reported;
        size_t n_reported;
} Context;

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

static void policy_files_free(PolicyFile *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].path);
                free(v[i].pool);
                hc_policy_free(v[i].policy);
                free(v[i].error);
        }
        free(v);
}

static void pools_free(PoolSummary *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i].pool);
        free(v);
}

static void context_destroy(Context *c)
{
        c->libvirt = hcd_libvirt_free(c->libvirt);
        c->settle_timer = sd_event_source_disable_unref(c->settle_timer);
        c->rescan_timer = sd_event_source_disable_unref(c->rescan_timer);
        c->probe_timer = sd_event_source_disable_unref(c->probe_timer);
        c->libvirt_timer = sd_event_source_disable_unref(c->libvirt_timer);
        c->audit_timer = sd_event_source_disable_unref(c->audit_timer);
        c->watch_io = sd_event_source_disable_unref(c->watch_io);
        c->store_io = sd_event_source_disable_unref(c->store_io);
        if (c->watch_fd >= 0)
                (void)close(c->watch_fd);
        c->watch_fd = -1;
        c->store = hc_store_free(c->store);
        c->bus = sd_bus_flush_close_unref(c->bus);
        c->event = sd_event_unref(c->event);
        hcd_config_done(&c->config);
        strv_free(c->config_files, c->n_config_files);
        free(c->host_name);
        free(c->baseline_path);
        free(c->store_url);
        hc_record_free(c->host_record);
        free(c->host_source);
        free(c->host_note);
        policy_files_free(c->policies, c->n_policies);
        free(c->policy_dir_error);
        free(c->baseline_text);
        free(c->baseline_digest);
        pools_free(c->pools, c->n_pools);
        free(c->last_error);
        strv_free(c->quarantined, c->n_quarantined);
        free(c->libvirt_state);
        json_object_put(c->audit);
        free(c->reported);
}

static int set_string(char **dst, const char *src)
{
        return hcd_config_set_string(dst, src);
}

/* Takes text (the file's content) and summarizes f, parsed from it. */
static int context_set_baseline(Context *c, const struct hc_baseline_file *f, char *text)
{
        PoolSummary *v = calloc(f->n_pools + 1, sizeof(*v));
        char *digest = strdup(f->digest);

        if (!v || !digest) {
                free(v);
                free(digest);
                free(text);
                return -ENOMEM;
        }
        for (size_t i = 0; i < f->n_pools; i++) {
                v[i] = (PoolSummary){.pool = strdup(f->pools[i].pool), .status = f->pools[i].status,
                                     .held = f->pools[i].kept_reason != NULL,
                                     .generation = f->pools[i].generation};
                memcpy(v[i].digest, f->pools[i].digest, sizeof(v[i].digest));
                if (!v[i].pool) {
                        pools_free(v, i);
                        free(digest);
                        free(text);
                        return -ENOMEM;
                }
        }
        pools_free(c->pools, c->n_pools);
        c->pools = v;
        c->n_pools = f->n_pools;
        free(c->baseline_digest);
        c->baseline_digest = digest;
        free(c->baseline_text);
        c->baseline_text = text;
        c->generation = f->generation;
        c->have_baseline = true;
        return 0;
}

/* The current baseline, parsed for one use (NULL when there is none yet). */
static int context_baseline(Context *c, struct hc_baseline_file **ret)
{
        struct hc_error err = {0};
        int r;

        *ret = NULL;
        if (!c->baseline_text)
                return 0;
        r = hc_baseline_file_parse(c->baseline_text, strlen(c->baseline_text), c->baseline_path, ret, &err);
        if (r < 0)
                log_error("The baseline in memory does not parse (a bug): %s", hc_error_text(&err));
        return r;
}

static uint64_t now_usec(clockid_t clock)
{
        struct timespec ts;

        (void)clock_gettime(clock, &ts);
        return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- configuration ------------------------------------------------------------------------- */

static int context_load_config(Context *c, struct hc_error *err)
{
        struct hcd_config next = {0};
        char **files = NULL;
        size_t n_files = 0;
        int r;

        r = hcd_config_init(&next);
        if (r < 0)
                return hc_error_set(err, ENOMEM, "out of memory");
        r = hcd_config_load(&next, c->cli.config_root, c->cli.config, &files, &n_files, err);
        if (r < 0) {
                hcd_config_done(&next);
                return r;
        }
#define OVERRIDE(field, value)                                                                     \
        do {                                                                                       \
                if ((value) && set_string(&next.field, (value)[0] ? (value) : NULL) < 0)           \
                        r = -ENOMEM;                                                               \
        } while (0)
        OVERRIDE(state_dir, c->cli.state_dir);
        OVERRIDE(policy_dir, c->cli.policy_dir);
        OVERRIDE(store, c->cli.store);
        OVERRIDE(record_file, c->cli.record_file);
        OVERRIDE(host_name, c->cli.host);
        OVERRIDE(plan_dir, c->cli.plan_dir);
        OVERRIDE(libvirt_uri, c->cli.libvirt_uri);
#undef OVERRIDE
        if (c->cli.no_probe)
                next.probe = HCD_PROBE_NO;
        if (r < 0 || !next.state_dir || !next.policy_dir || !next.store || !next.plan_dir) {
                hcd_config_done(&next);
                strv_free(files, n_files);
                return hc_error_set(err, r < 0 ? ENOMEM : EINVAL,
                                    r < 0 ? "out of memory"
                                          : "StateDirectory=, PolicyDirectory=, Store= and "
                                            "PlanDirectory= must not be empty");
        }
        hcd_config_done(&c->config);
        c->config = next;
        strv_free(c->config_files, c->n_config_files);
        c->config_files = files;
        c->n_config_files = n_files;

        free(c->baseline_path);
        if (asprintf(&c->baseline_path, "%s/baseline.json", c->config.state_dir) < 0) {
                c->baseline_path = NULL;
                return hc_error_set(err, ENOMEM, "out of memory");
        }
        free(c->host_name);
        c->host_name = NULL;
        if (c->config.host_name) {
                c->host_name = strdup(c->config.host_name);
        } else {
                char buf[256] = "";
                (void)gethostname(buf, sizeof(buf) - 1);
                c->host_name = strdup(buf[0] ? buf : "localhost");
        }
        if (!c->host_name)
                return hc_error_set(err, ENOMEM, "out of memory");
        return 0;
}

/* ---- policies ------------------------------------------------------------------------------ */

static const PolicyFile *find_policy_file(const PolicyFile *v, size_t n, const char *path)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].path, path) == 0)
                        return &v[i];
        return NULL;
}

/*
 * Re-reads every policy file.  A file that fails keeps the pool name it had
 * when it last loaded, so its pool can be held at last-known-good.  A
 * directory that cannot be read keeps the previous files as they were.
 */
static int context_load_policies(Context *c)
{
        PolicyFile *next = NULL;
        char **paths = NULL;
        size_t n = 0;
        struct hc_error err = {0};
        int r;

        r = hc_policy_list_files(c->config.policy_dir, ".yaml", &paths, &n, &err);
        if (r < 0) {
                if (!c->policy_dir_error || strcmp(c->policy_dir_error, hc_error_text(&err)) != 0)
                        log_error("Cannot read the policy directory, keeping every pool as it is: %s",
                                  hc_error_text(&err));
                (void)set_string(&c->policy_dir_error, hc_error_text(&err));
                return r;
        }
        c->policy_dir_error = (free(c->policy_dir_error), NULL);
        next = calloc(n + 1, sizeof(*next));
        if (!next) {
                hc_policy_strv_free(paths, n);
                return log_oom();
        }
        for (size_t i = 0; i < n; i++) {
                const PolicyFile *old = find_policy_file(c->policies, c->n_policies, paths[i]);
                PolicyFile *p = &next[i];
                struct hc_policy *pol = NULL;

                p->path = strdup(paths[i]);
                err = (struct hc_error){0};
                r = hc_policy_load(paths[i], &pol, &err);
                for (size_t j = 0; r >= 0 && j < i; j++)
                        if (next[j].policy && strcmp(next[j].policy->pool, pol->pool) == 0)
                                r = hc_error_at(&err, EEXIST, paths[i], pol->pool_pos.line,
                                                pol->pool_pos.column,
                                                "pool \"%s\" is already defined in %s", pol->pool,
                                                next[j].path);
                if (r >= 0) {
                        p->policy = pol;
                        p->pool = strdup(pol->pool);
                } else {
                        /* A duplicate names its pool; a broken file keeps its last good one. */
                        if (r == -EEXIST)
                                p->pool = strdup(pol->pool);
                        else if (old && old->pool)
                                p->pool = strdup(old->pool);
                        hc_policy_free(pol);
                        p->error = strdup(hc_error_text(&err));
                        if (!old || !old->error || strcmp(old->error, p->error) != 0) {
                                char f_pool[96];
                                const char *fields[] = {f_pool, NULL};

                                snprintf(f_pool, sizeof(f_pool), "HYPERCALL_POOL=%s", p->pool ?: "");
                                hcd_log_full(LOG_ERR, 0, HC_MID_POOL_REFUSED, p->pool ? fields : NULL,
                                             "Policy %s is invalid, %s: %s", paths[i],
                                             p->pool ? "keeping its pool's last-known-good baseline"
                                                     : "ignoring it",
                                             p->error);
                        }
                }
        }
        hc_policy_strv_free(paths, n);
        policy_files_free(c->policies, c->n_policies);
        c->policies = next;
        c->n_policies = n;
        return 0;
}

/* ---- host record --------------------------------------------------------------------------- */

/* Appends "; "-separated phrases to buf (truncating, never overflowing). */
_printf_(4, 5) static void append_phrase(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (*at >= len)
                return;
        if (*at > 0) {
                n = snprintf(buf + *at, len - *at, "; ");
                *at += n > 0 ? (size_t)n : 0;
                if (*at >= len)
                        return;
        }
        va_start(ap, fmt);
        n = vsnprintf(buf + *at, len - *at, fmt, ap);
        va_end(ap);
        *at += n > 0 ? (size_t)n : 0;
}

static bool records_equal(const struct hc_record *a, const struct hc_record *b)
{
        if (strcmp(a->host, b->host) != 0 || strcmp(a->kernel, b->kernel) != 0 ||
            !!a->midr != !!b->midr || (a->midr && strcmp(a->midr, b->midr) != 0) ||
            !!a->kvm_mode != !!b->kvm_mode || (a->kvm_mode && strcmp(a->kvm_mode, b->kvm_mode) != 0) ||
            a->n_unknown != b->n_unknown)
                return false;
        for (size_t i = 0; i < a->n_unknown; i++)
                if (a->unknown[i] != b->unknown[i])
                        return false;
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_reg_state *x = &a->regs[i], *y = &b->regs[i];

                if (x->present != y->present ||
                    (x->present && (x->value != y->value || x->has_default != y->has_default ||
                                    (x->has_default && x->default_value != y->default_value))))
                        return false;
        }
        return true;
}

/* "kernel 6.1.0 -> 6.12.0; STD_BMAP 0x1 -> 0x0" into buf. */
static void describe_drift(const struct hc_record *old, const struct hc_record *new, char *buf,
                           size_t len)
{
        size_t at = 0;
        char a[HC_HEX_MAX], b[HC_HEX_MAX];

        buf[0] = '\0';
        if (strcmp(old->kernel, new->kernel) != 0)
                append_phrase(buf, len, &at, "kernel %s -> %s", old->kernel, new->kernel);
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_reg_state *x = &old->regs[i], *y = &new->regs[i];

                if (x->present == y->present && (!x->present || x->value == y->value))
                        continue;
                append_phrase(buf, len, &at, "%s %s -> %s", hc_catalog_get(i)->name,
                              x->present ? hc_hex(x->value, a, sizeof(a)) : "absent",
                              y->present ? hc_hex(y->value, b, sizeof(b)) : "absent");
        }
        if (old->n_unknown != new->n_unknown)
                append_phrase(buf, len, &at, "unknown firmware registers %zu -> %zu", old->n_unknown,
                              new->n_unknown);
        if (at == 0)
                append_phrase(buf, len, &at, "hardware identity changed");
}

static void context_schedule_recompute(Context *c);

/*
 * Gets this host's record: a probe through /dev/kvm, else RecordFile=, else
 * none (and says why).  Fails only when Probe=yes and the probe fails, or the
 * record file is unreadable.
 */
static int context_acquire_record(Context *c, struct hc_record **ret, struct hc_error *err)
{
        struct hc_probe_options opts = {.host = c->host_name};
        _cleanup_(hc_record_freep) struct hc_record *r = NULL;
        struct hc_error perr = {0};
        const char *note = NULL;
        char source[4200] = "none";
        char *new_source, *new_note = NULL;
        int k;

        if (c->config.probe != HCD_PROBE_NO) {
                k = hc_probe(&opts, &r, &perr);
                if (k >= 0)
                        snprintf(source, sizeof(source), "probe");
                else if (c->config.probe == HCD_PROBE_YES)
                        return hc_error_set(err, -k, "probe failed (Probe=yes): %s", hc_error_text(&perr));
                else
                        note = hc_error_text(&perr);
        } else {
                note = "probing disabled (Probe=no)";
        }
        if (!r && c->config.record_file) {
                k = hc_record_load(c->config.record_file, &r, err);
                if (k < 0)
                        return k;
                snprintf(source, sizeof(source), "file:%s", c->config.record_file);
        }
        new_source = strdup(source);
        if (note)
                new_note = strdup(note);
        if (!new_source || (note && !new_note)) {
                free(new_source);
                free(new_note);
                return hc_error_set(err, ENOMEM, "out of memory");
        }
        free(c->host_source);
        c->host_source = new_source;
        free(c->host_note);
        c->host_note = new_note;
        *ret = TAKE_PTR(r);
        return 0;
}

/*
 * Publishes the register set a VM's CPU state carries from this host, so
 * check-migration can judge more than the firmware registers, unless the
 * store has the same one already.  Best effort: without it the fleet still
 * works, judged on firmware registers only.
 */
static void context_publish_vcpu_regs(Context *c, const struct hc_record *r)
{
        struct hc_probe_options opts = {.host = c->host_name};
        _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *v = NULL, *published = NULL;
        struct hc_error err = {0};

        if (hc_probe_vcpu_regs(&opts, r, &v, &err) >= 0 &&
            hc_store_load_vcpu(c->store, r->host, &published, &err) >= 0 &&
            hc_vcpu_regs_current(published, r) && hc_vcpu_regs_equal(published, v))
                return;
        if (!v || hc_store_publish_vcpu(c->store, v, &err) < 0)
                log_warning("Cannot publish this host's vCPU register set (migrations to and from it are "
                            "judged on firmware registers only): %s", hc_error_text(&err));
}

/*
 * Probes (or reads the record file) and publishes when the fleet store does
 * not have this record yet, or has an older one (host drift: a kernel
 * upgrade, a firmware change).  *ret_drift says the record changed.
 */
static int context_refresh_host(Context *c, bool *ret_drift, struct hc_error *err)
{
        _cleanup_(hc_record_freep) struct hc_record *r = NULL;
        const struct hc_record *published = NULL;
        struct hc_store_record pub;
        bool relevant = false;
        char old_source[4200];
        bool had_source = c->host_source != NULL;
        char f_host[300], drift[1024];
        const char *fields[] = {f_host, NULL};
        int k;

        *ret_drift = false;
        snprintf(old_source, sizeof(old_source), "%s", c->host_source ?: "");
        k = context_acquire_record(c, &r, err);
        if (k < 0)
                return k;
        if (!r) {
                if (!had_source || strcmp(old_source, "none") != 0)
                        hcd_log_full(LOG_NOTICE, 0, HC_MID_DAEMON_STATE, NULL,
                                     "No host record: %s, and no RecordFile= configured; running "
                                     "without publishing this host (a controller)",
                                     c->host_note ?: "no probe");
                c->host_record = hc_record_free(c->host_record);
                return 0;
        }
        if (c->host_note && (!had_source || strcmp(old_source, c->host_source) != 0))
                hcd_log_full(LOG_NOTICE, 0, HC_MID_DAEMON_STATE, NULL,
                             "Cannot probe this host (%s); using the record in %s",
                             c->host_note, c->config.record_file);
        snprintf(f_host, sizeof(f_host), "HYPERCALL_HOST=%s", r->host);
        for (size_t i = 0; i < r->n_unknown; i++) {
                char f_reg[64];
                const char *ufields[] = {f_host, f_reg, NULL};

                snprintf(f_reg, sizeof(f_reg), "HYPERCALL_REGISTER=0x%016" PRIx64, r->unknown[i]);
                if (!c->host_record || !c->host_record->n_unknown)
                        hcd_log_full(LOG_WARNING, 0, HC_MID_UNKNOWN_REGISTER, ufields,
                                     "Host %s has firmware register 0x%016" PRIx64
                                     " that the catalog does not know (kernel %s)",
                                     r->host, r->unknown[i], r->kernel);
        }

        /* What the store holds for us now (events not yet handled by the loop included). */
        (void)hc_store_watch_drain(c->store, &relevant);
        (void)hc_store_refresh(c->store, NULL, NULL);
        if (relevant)
                context_schedule_recompute(c);
        if (hc_store_lookup(c->store, r->host, &pub))
                published = &pub.rec;
        if (published && records_equal(published, r)) {
                /* Unchanged: republish only to keep the record's age fresh (probes only). */
                bool probed = strcmp(c->host_source, "probe") == 0;
                int64_t age = r->probed_at_unix - published->probed_at_unix;

                if (probed && c->config.probe_interval_usec &&
                    (uint64_t)age * USEC_PER_SEC >= c->config.probe_interval_usec / 2) {
                        k = hc_store_publish(c->store, r, err);
                        if (k < 0)
                                return k;
                        log_debug("Republished this host's record to keep it fresh.");
                }
        } else {
                if (published) {
                        describe_drift(published, r, drift, sizeof(drift));
                        hcd_log_full(LOG_WARNING, 0, HC_MID_HOST_DRIFT, fields,
                                     "Host %s drifted from its published record: %s; publishing the "
                                     "new record",
                                     r->host, drift);
                        *ret_drift = true;
                }
                k = hc_store_publish(c->store, r, err);
                if (k < 0)
                        return k;
                hcd_log_full(LOG_INFO, 0, HC_MID_HOST_PUBLISHED, fields,
                             "Published host %s (kernel %s, %s) to %s", r->host, r->kernel,
                             c->host_source, hc_store_scheme(c->store));
        }
        if (strcmp(c->host_source, "probe") == 0)
                context_publish_vcpu_regs(c, r);
        hc_record_free(c->host_record);
        c->host_record = TAKE_PTR(r);
        return 0;
}

/* ---- recompute ----------------------------------------------------------------------------- */

static bool pool_has_member(const struct hc_baseline_pool *p, const char *host)
{
        json_object *hosts;

        if (!p || !host || !json_object_object_get_ex(p->json, "hosts", &hosts))
                return false;
        for (size_t i = 0; i < json_object_array_length(hosts); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(hosts, i)), host) == 0)
                        return true;
        return false;
}

/*
 * What new VMs lose in the new values compared to the old: "trng hidden;
 * PSCI 0x10001 -> 0x10000".  Returns whether anything narrowed.
 */
static bool describe_narrowing(const struct hc_baseline_pool *old, const struct hc_baseline_pool *new,
                               char *buf, size_t len)
{
        size_t at = 0;
        char a[HC_HEX_MAX], b[HC_HEX_MAX];

        buf[0] = '\0';
        if (!old || old->status != HC_POOL_OK)
                return false;
        if (!new || new->status != HC_POOL_OK) {
                append_phrase(buf, len, &at, "pool %s", new ? "refused" : "removed");
                return true;
        }
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_register *reg = hc_catalog_get(i);
                const struct hc_pool_reg *x = &old->regs[i], *y = &new->regs[i];

                if (!x->present)
                        continue;
                if (!y->present) {
                        append_phrase(buf, len, &at, "%s no longer set", reg->name);
                        continue;
                }
                if (reg->kind == HC_KIND_BITMAP) {
                        for (size_t k = 0; k < reg->n_services; k++) {
                                uint64_t bit = 1ULL << reg->services[k].bit;
                                if ((x->value & bit) && !(y->value & bit))
                                        append_phrase(buf, len, &at, "%s hidden", reg->services[k].name);
                        }
                } else if (reg->kind == HC_KIND_PSCI_VERSION && y->value < x->value) {
                        append_phrase(buf, len, &at, "PSCI %s -> %s", hc_hex(x->value, a, sizeof(a)),
                                      hc_hex(y->value, b, sizeof(b)));
                }
        }
        return at > 0;
}

static const char *pool_state(const struct hc_baseline_pool *p)
{
        if (p->kept_reason)
                return "held";
        return p->status == HC_POOL_OK ? "ok" : "refused";
}

static void context_update_status(Context *c)
{
        size_t ok = 0, held = 0, refused = 0;
        char status[512];

        for (size_t i = 0; i < c->n_pools; i++) {
                if (c->pools[i].held)
                        held++;
                else if (c->pools[i].status == HC_POOL_OK)
                        ok++;
                else
                        refused++;
        }
        if (!c->have_baseline)
                snprintf(status, sizeof(status), "No baseline yet%s%s; host record: %s",
                         c->last_error ? ": " : "", c->last_error ?: "", c->host_source ?: "none");
        else
                snprintf(status, sizeof(status),
                         "Generation %" PRIu64 ": %zu pools ok, %zu held at last-known-good, %zu refused; "
                         "%zu hosts in the store; host record: %s%s%s",
                         c->generation, ok, held, refused,
                         c->store ? hc_store_count(c->store) : 0, c->host_source ?: "none",
                         c->audit_findings ? "; audit findings: " : "",
                         c->audit_findings ? "see hypercallctl audit" : "");
        (void)sd_notifyf(false, "STATUS=%s", status);
}

/* PropertiesChanged for the named properties: context_emit(c, "Generation", "Pools"). */
#define context_emit(c, ...) context_emit_strv((c), (const char *[]){__VA_ARGS__, NULL})

static void context_emit_strv(Context *c, const char **names)
{
        if (!c->bus)
                return;
        (void)sd_bus_emit_properties_changed_strv(c->bus, HC_BUS_PATH, HC_BUS_INTERFACE, (char **)names);
}

static int set_last_error(Context *c, const char *text)
{
        bool same = (!text && !c->last_error) || (text && c->last_error && strcmp(text, c->last_error) == 0);

        if (same)
                return 0;
        (void)set_string(&c->last_error, text);
        context_emit(c, "LastError");
        return 1;
}

/* Reports store entries that became unusable (once each) and returns them as pool failures. */
static int store_failures(Context *c, struct hc_baseline_failure **fail, size_t *n_fail, char ***reasons,
                          size_t *n_reasons)
{
        size_t n_failures;
        const struct hc_store_failure *failures = hc_store_failures(c->store, &n_failures);
        char **now = calloc(n_failures + 1, sizeof(char *));

        if (!now)
                return -ENOMEM;
        for (size_t i = 0; i < n_failures; i++) {
                const struct hc_store_failure *f = &failures[i];
                bool seen = false;

                now[i] = strdup(f->error);
                for (size_t j = 0; j < c->n_quarantined && !seen; j++)
                        seen = strcmp(c->quarantined[j], f->error) == 0;
                if (!seen) {
                        char f_host[300];
                        const char *fields[] = {f_host, NULL};

                        snprintf(f_host, sizeof(f_host), "HYPERCALL_HOST=%s", f->host ?: f->name);
                        hcd_log_full(LOG_WARNING, 0, HC_MID_HOST_QUARANTINED, fields,
                                     "Host %s quarantined: its record is unusable (%s); pools it "
                                     "matches keep their last-known-good baseline",
                                     f->host ?: f->name, f->error);
                }
                /* Every pool whose globs match the host is held. */
                for (size_t p = 0; p < c->n_policies; p++) {
                        struct hc_baseline_failure *grown;
                        char *reason;

                        if (!c->policies[p].policy || !f->host ||
                            !hc_policy_matches(c->policies[p].policy, f->host))
                                continue;
                        if (asprintf(&reason, "record of member %s is unusable: %s", f->host, f->error) < 0)
                                return -ENOMEM;
                        grown = reallocarray(*fail, *n_fail + 1, sizeof(**fail));
                        char **rg = reallocarray(*reasons, *n_reasons + 1, sizeof(char *));
                        if (!grown || !rg) {
                                free(reason);
                                if (grown)
                                        *fail = grown;
                                if (rg)
                                        *reasons = rg;
                                return -ENOMEM;
                        }
                        *fail = grown;
                        *reasons = rg;
                        (*reasons)[(*n_reasons)++] = reason;
                        (*fail)[(*n_fail)++] = (struct hc_baseline_failure){c->policies[p].policy->pool, reason};
                }
        }
        strv_free(c->quarantined, c->n_quarantined);
        c->quarantined = now;
        c->n_quarantined = n_failures;
        return 0;
}

static void log_changes(Context *c, const struct hc_baseline_file *old, const struct hc_baseline_file *new,
                        const struct hc_baseline_changes *ch, bool drift)
{
        for (size_t i = 0; i < ch->n_changed; i++) {
                const struct hc_baseline_pool *o = old ? hc_baseline_file_find(old, ch->changed[i]) : NULL;
                const struct hc_baseline_pool *n = hc_baseline_file_find(new, ch->changed[i]);
                char f_pool[96], f_gen[64], f_digest[128], lost[512];
                const char *fields[] = {f_pool, f_gen, f_digest, NULL};
                bool narrowed = describe_narrowing(o, n, lost, sizeof(lost));

                snprintf(f_pool, sizeof(f_pool), "HYPERCALL_POOL=%s", ch->changed[i]);
                snprintf(f_gen, sizeof(f_gen), "HYPERCALL_BASELINE_GENERATION=%" PRIu64, new->generation);
                snprintf(f_digest, sizeof(f_digest), "HYPERCALL_BASELINE_DIGEST=%s", n ? n->digest : "");
                if (!n)
                        hcd_log_full(LOG_NOTICE, 0, HC_MID_BASELINE_CHANGED, fields,
                                     "Pool %s removed from the baseline at generation %" PRIu64,
                                     ch->changed[i], new->generation);
                else
                        hcd_log_full(LOG_NOTICE, 0, HC_MID_BASELINE_CHANGED, fields,
                                     "Pool %s baseline changed to generation %" PRIu64 " (%s)%s%s",
                                     n->pool, new->generation, !o ? "new pool" : pool_state(n),
                                     narrowed ? ": narrowed, " : "", narrowed ? lost : "");
                if (narrowed) {
                        bool by_us = drift && c->host_record && pool_has_member(n, c->host_record->host);

                        hcd_log_full(by_us ? LOG_CRIT : LOG_WARNING, 0, HC_MID_LOWERING_PROPOSED, fields,
                                     "%sPool %s narrowed at generation %" PRIu64
                                     ": %s; new VMs get less and running VMs may be limited to "
                                     "fewer hosts (hypercallctl audit)",
                                     by_us ? "HOST DRIFT NARROWS A POOL: " : "", ch->changed[i],
                                     new->generation, lost);
                }
        }
        for (size_t i = 0; i < ch->n_kept; i++) {
                const struct hc_baseline_pool *p = hc_baseline_file_find(new, ch->kept[i]);
                char f_pool[96], f_gen[64];
                const char *fields[] = {f_pool, f_gen, NULL};

                snprintf(f_pool, sizeof(f_pool), "HYPERCALL_POOL=%s", ch->kept[i]);
                snprintf(f_gen, sizeof(f_gen), "HYPERCALL_BASELINE_GENERATION=%" PRIu64, p ? p->generation : 0);
                hcd_log_full(LOG_ERR, 0, HC_MID_POOL_REFUSED, fields,
                             "Pool %s cannot be recomputed, keeping its last-known-good baseline "
                             "(generation %" PRIu64 "): %s",
                             ch->kept[i], p ? p->generation : 0, p && p->kept_reason ? p->kept_reason : "?");
        }
        for (size_t i = 0; i < ch->n_refused; i++) {
                const struct hc_baseline_pool *p = hc_baseline_file_find(new, ch->refused[i]);
                struct hc_error err = {0};
                const struct hc_baseline_pool *dummy;
                char f_pool[96], f_gen[64];
                const char *fields[] = {f_pool, f_gen, NULL};

                if (p)
                        (void)hc_baseline_file_lookup(new, p->pool, &dummy, &err);
                snprintf(f_pool, sizeof(f_pool), "HYPERCALL_POOL=%s", ch->refused[i]);
                snprintf(f_gen, sizeof(f_gen), "HYPERCALL_BASELINE_GENERATION=%" PRIu64, new->generation);
                hcd_log_full(LOG_ERR, 0, HC_MID_POOL_REFUSED, fields,
                             "Pool %s refused with no last-known-good baseline; VMs in it cannot start: %s",
                             ch->refused[i], hc_error_text(&err));
        }
}

static void context_schedule_audit(Context *c);

/* Emits BaselineChanged(t generation, as pools). */
static void emit_baseline_changed(Context *c, const struct hc_baseline_changes *ch)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        if (!c->bus)
                return;
        if (sd_bus_message_new_signal(c->bus, &m, HC_BUS_PATH, HC_BUS_INTERFACE, "BaselineChanged") < 0 ||
            sd_bus_message_append(m, "t", c->generation) < 0 ||
            sd_bus_message_append_strv(m, ch->changed) < 0 || sd_bus_send(c->bus, m, NULL) < 0)
                log_warning("Cannot emit BaselineChanged.");
}

/* The policies that take part in this round (valid, not held), borrowed. */
static int compute_set(Context *c, const struct hc_baseline_failure *fail, size_t n_fail,
                       struct hc_policy_set *ret)
{
        struct hc_policy **v = calloc(c->n_policies + 1, sizeof(*v));
        size_t n = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_policies; i++) {
                bool failed = false;

                if (!c->policies[i].policy)
                        continue;
                for (size_t f = 0; f < n_fail && !failed; f++)
                        failed = strcmp(fail[f].pool, c->policies[i].policy->pool) == 0;
                if (!failed)
                        v[n++] = c->policies[i].policy;
        }
        *ret = (struct hc_policy_set){.policies = v, .n = n};
        hc_policy_set_sort(ret);
        return 0;
}

/*
 * One recomputation: policies, store, baseline, file, signals, journal.
 * Failures keep last-known-good values per pool; the file is only ever
 * replaced whole.  Returns 0 even when pools failed (LastError says so);
 * < 0 only when nothing could be computed.
 */
static int context_recompute_one(Context *c, bool drift)
{
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *next = NULL, *prev = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        _cleanup_(hc_baseline_changes_done) struct hc_baseline_changes ch = {0};
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ struct hc_baseline_failure *fail = NULL;
        struct hc_policy_set set = {0};
        char **reasons = NULL, first_problem[HC_ERROR_TEXT_MAX + 64] = "";
        size_t n_fail = 0, n_reasons = 0;
        struct hc_error err = {0};
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        struct hc_store_snapshot snap = {0};
        size_t n_failures, n_records;
        const struct hc_store_failure *failures;
        bool file_changed;
        int r;

        r = context_load_policies(c);
        if (r < 0 && c->policy_dir_error) {
                /* Every known pool is held as it is. */
                for (size_t i = 0; i < c->n_pools; i++) {
                        struct hc_baseline_failure *g = reallocarray(fail, n_fail + 1, sizeof(*fail));
                        if (!g)
                                return log_oom();
                        fail = g;
                        fail[n_fail++] = (struct hc_baseline_failure){c->pools[i].pool, c->policy_dir_error};
                }
                snprintf(first_problem, sizeof(first_problem), "%s", c->policy_dir_error);
        }
        r = hc_store_refresh(c->store, NULL, &err);
        if (r < 0) {
                if (!c->store_errored)
                        log_error("Cannot refresh the fleet store, computing from what it last held: %s",
                                  hc_error_text(&err));
                c->store_errored = true;
                if (!first_problem[0])
                        snprintf(first_problem, sizeof(first_problem), "%s", hc_error_text(&err));
        } else {
                c->store_errored = false;
        }
        for (size_t i = 0; i < c->n_policies; i++) {
                struct hc_baseline_failure *g;

                if (c->policies[i].policy)
                        continue;
                if (!first_problem[0])
                        snprintf(first_problem, sizeof(first_problem), "%s", c->policies[i].error);
                if (!c->policies[i].pool)
                        continue;
                g = reallocarray(fail, n_fail + 1, sizeof(*fail));
                if (!g)
                        return log_oom();
                fail = g;
                fail[n_fail++] = (struct hc_baseline_failure){c->policies[i].pool, c->policies[i].error};
        }
        r = store_failures(c, &fail, &n_fail, &reasons, &n_reasons);
        if (r < 0) {
                strv_free(reasons, n_reasons);
                return log_oom();
        }
        failures = hc_store_failures(c->store, &n_failures);
        if (!first_problem[0] && n_failures)
                snprintf(first_problem, sizeof(first_problem), "%s", failures[0].error);

        r = compute_set(c, fail, n_fail, &set);
        if (r < 0) {
                strv_free(reasons, n_reasons);
                return log_oom();
        }
        /* Full records exist only for this computation: the store keeps a compact cache. */
        r = hc_store_snapshot(c->store, &snap);
        if (r < 0) {
                free(set.policies);
                strv_free(reasons, n_reasons);
                return log_oom();
        }
        n_records = snap.n;
        r = hc_baseline_compute(snap.records, snap.n, &set, NULL, (int64_t)time(NULL), &b, &err);
        free(set.policies);
        if (r < 0) {
                hc_store_snapshot_done(&snap);
                strv_free(reasons, n_reasons);
                log_error("Cannot compute the baseline, keeping every pool as it is: %s", hc_error_text(&err));
                set_last_error(c, hc_error_text(&err));
                return r;
        }
        doc = hc_baseline_to_json(b);
        b = hc_baseline_free(b);
        hc_store_snapshot_done(&snap);
        if (!doc) {
                strv_free(reasons, n_reasons);
                return log_oom();
        }
        r = context_baseline(c, &prev);
        if (r < 0) {
                strv_free(reasons, n_reasons);
                return r;
        }
        r = hc_baseline_file_update(prev, doc, fail, n_fail, (int64_t)time(NULL), &next, &ch, &err);
        strv_free(reasons, n_reasons);
        if (r < 0) {
                log_error("Cannot build the baseline file, keeping the last one: %s", hc_error_text(&err));
                set_last_error(c, hc_error_text(&err));
                return r;
        }
        text = hc_baseline_file_to_string(next);
        if (!text)
                return log_oom();
        file_changed = !c->baseline_text || strcmp(text, c->baseline_text) != 0;
        if (file_changed) {
                r = hc_baseline_file_save(next, c->baseline_path, &err);
                if (r < 0) {
                        log_error("Cannot write the baseline, VMs keep reading the previous one: %s",
                                  hc_error_text(&err));
                        set_last_error(c, hc_error_text(&err));
                        return r;
                }
        }
        for (size_t i = 0; !first_problem[0] && i < next->n_pools; i++)
                if (next->pools[i].status != HC_POOL_OK || next->pools[i].kept_reason) {
                        const struct hc_baseline_pool *dummy;
                        struct hc_error perr = {0};

                        if (next->pools[i].kept_reason)
                                snprintf(first_problem, sizeof(first_problem), "pool %s: %s", next->pools[i].pool,
                                         next->pools[i].kept_reason);
                        else {
                                (void)hc_baseline_file_lookup(next, next->pools[i].pool, &dummy, &perr);
                                snprintf(first_problem, sizeof(first_problem), "%s", hc_error_text(&perr));
                        }
                }

        log_changes(c, prev, next, &ch, drift);
        {
                bool gen_changed = !prev || prev->generation != next->generation;
                bool digest_changed = !prev || strcmp(prev->digest, next->digest) != 0;

                r = context_set_baseline(c, next, TAKE_PTR(text));
                if (r < 0)
                        return log_oom();
                if (gen_changed || ch.n_changed)
                        emit_baseline_changed(c, &ch);
                if (file_changed)
                        context_emit(c, "Generation", "BaselineDigest", "Pools");
                else if (digest_changed)
                        context_emit(c, "BaselineDigest");
        }
        set_last_error(c, first_problem[0] ? first_problem : NULL);
        c->recomputes++;
        c->last_recompute_usec = now_usec(CLOCK_MONOTONIC) - start;
        log_debug("Recomputed in %" PRIu64 " us: generation %" PRIu64 ", %zu records, %zu pools.",
                  c->last_recompute_usec, c->generation, n_records, c->n_pools);
        context_update_status(c);
        context_schedule_audit(c);
        return 0;
}

static int context_recompute(Context *c, bool drift)
{
        int r = context_recompute_one(c, drift);

        /* Everything the round allocated is freed by now: give the pages back. */
        malloc_trim(0);
        return r;
}

/* Loads the file a previous run left, as the last-known-good until the first recomputation. */
static void context_load_cached_baseline(Context *c)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        struct hc_error err = {0};
        DIR *d;
        struct dirent *de;
        int r;

        /* A crash mid-write leaves a temp file beside the real one: remove it. */
        d = opendir(c->config.state_dir);
        while (d && (de = readdir(d)))
                if (strncmp(de->d_name, "baseline.json.tmp.", 18) == 0 &&
                    unlinkat(dirfd(d), de->d_name, 0) == 0)
                        log_info("Removed %s/%s left by an interrupted write.", c->config.state_dir, de->d_name);
        if (d)
                closedir(d);

        r = hc_baseline_file_load(c->baseline_path, &f, &err);
        if (r == -ENOENT)
                return;
        if (r < 0) {
                log_warning("Ignoring the cached baseline, recomputing from scratch: %s", hc_error_text(&err));
                return;
        }
        if (context_set_baseline(c, f, hc_baseline_file_to_string(f)) < 0 || !c->baseline_text) {
                log_oom();
                return;
        }
        log_info("Loaded the cached baseline, generation %" PRIu64 " with %zu pools.", c->generation,
                 c->n_pools);
}

/* ---- VM audit ------------------------------------------------------------------------------ */

typedef struct VmEntry {
        struct hc_vm_state st;
        char uuid[37];
        char *name, *pool, *digest, *error;
        bool stampable; /* a readable start plan: a running VM carries exactly its values */
} VmEntry;

static void vm_entries_free(VmEntry *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].name);
                free(v[i].pool);
                free(v[i].digest);
                free(v[i].error);
        }
        free(v);
}

static VmEntry *vm_entry(VmEntry **v, size_t *n, const char *uuid)
{
        VmEntry *g;

        for (size_t i = 0; i < *n; i++)
                if (strcasecmp((*v)[i].uuid, uuid) == 0)
                        return &(*v)[i];
        g = reallocarray(*v, *n + 1, sizeof(**v));
        if (!g)
                return NULL;
        *v = g;
        g = &(*v)[(*n)++];
        *g = (VmEntry){0};
        snprintf(g->uuid, sizeof(g->uuid), "%s", uuid);
        for (char *p = g->uuid; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
        g->st.running = -1;
        return g;
}

static bool store_lookup(const void *store, const char *host, struct hc_store_record *out)
{
        return hc_store_lookup(store, host, out);
}

static int read_plans(Context *c, VmEntry **v, size_t *n)
{
        DIR *d = opendir(c->config.plan_dir);
        struct dirent *de;

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                struct hc_shim_plan plan;
                char path[4096], err[HC_SHIM_ERR_MAX], uuid[37];
                VmEntry *e;

                if (l != 36 + 5 || strcmp(de->d_name + 36, ".plan") != 0)
                        continue;
                snprintf(uuid, sizeof(uuid), "%.36s", de->d_name);
                snprintf(path, sizeof(path), "%s/%s", c->config.plan_dir, de->d_name);
                e = vm_entry(v, n, uuid);
                if (!e) {
                        closedir(d);
                        return -ENOMEM;
                }
                if (hc_shim_plan_load(path, &plan, err, sizeof(err)) < 0) {
                        e->error = strdup(err);
                        e->st.source = "plan";
                        continue;
                }
                e->st.source = "plan";
                e->stampable = !plan.incoming;
                e->name = strdup(plan.name);
                e->pool = strdup(plan.pool);
                e->digest = strdup(plan.digest);
                e->st.generation = plan.generation;
                for (size_t i = 0; i < plan.n_regs; i++) {
                        int idx = hc_catalog_find(plan.regs[i].name);
                        if (idx >= 0) {
                                e->st.regs[idx].present = true;
                                e->st.regs[idx].value = plan.regs[i].value;
                        }
                }
        }
        closedir(d);
        return 0;
}

static void audit_log_findings(Context *c, json_object *vms)
{
        Reported *now = calloc(json_object_array_length(vms) + 1, sizeof(*now));
        size_t n_now = 0;

        if (!now)
                return;
        for (size_t i = 0; i < json_object_array_length(vms); i++) {
                json_object *vm = json_object_array_get_idx(vms, i), *u, *ve, *me, *po, *na;
                enum hc_vm_verdict verdict = _HC_VM_VERDICT_MAX;
                bool seen = false;

                json_object_object_get_ex(vm, "uuid", &u);
                json_object_object_get_ex(vm, "verdict", &ve);
                for (int k = 0; k < _HC_VM_VERDICT_MAX; k++)
                        if (strcmp(hc_vm_verdict_to_string(k), json_object_get_string(ve)) == 0)
                                verdict = k;
                if (!hc_vm_verdict_is_finding(verdict))
                        continue;
                snprintf(now[n_now].uuid, sizeof(now[n_now].uuid), "%s", json_object_get_string(u));
                now[n_now].verdict = verdict;
                now[n_now].generation = c->generation;
                for (size_t j = 0; j < c->n_reported && !seen; j++)
                        seen = strcmp(c->reported[j].uuid, now[n_now].uuid) == 0 &&
                               c->reported[j].verdict == verdict &&
                               c->reported[j].generation == now[n_now].generation;
                if (!seen) {
                        char f_uuid[64], f_name[300], f_pool[96];
                        const char *fields[] = {f_uuid, f_name, f_pool, NULL};

                        json_object_object_get_ex(vm, "message", &me);
                        json_object_object_get_ex(vm, "pool", &po);
                        json_object_object_get_ex(vm, "name", &na);
                        snprintf(f_uuid, sizeof(f_uuid), "HYPERCALL_VM_UUID=%s", json_object_get_string(u));
                        snprintf(f_name, sizeof(f_name), "HYPERCALL_VM_NAME=%s", na ? json_object_get_string(na) : "");
                        snprintf(f_pool, sizeof(f_pool), "HYPERCALL_POOL=%s", po ? json_object_get_string(po) : "");
                        hcd_log_full(LOG_WARNING, 0, HC_MID_AUDIT_FINDING, fields, "VM %s (%s): %s",
                                     na && json_object_get_string(na) ? json_object_get_string(na) : "?",
                                     json_object_get_string(u), json_object_get_string(me));
                }
                n_now++;
        }
        free(c->reported);
        c->reported = now;
        c->n_reported = n_now;
}

/*
 * A running VM started from a start plan carries exactly the plan's values:
 * the shim set and verified them before the first KVM_RUN, or QEMU would have
 * exited.  Stamp them into the domain's metadata, so that a migration
 * destination (and any later audit) knows what the VM has, whatever becomes
 * of the plan file.  Best effort: a failure is logged and retried on the next
 * audit.
 */
static void stamp_domain(Context *c, const VmEntry *e)
{
        _cleanup_free_ char *xml = NULL, *error = NULL;
        char f_uuid[64], f_name[300], f_pool[96], f_gen[64];
        const char *fields[] = {f_uuid, f_name, f_pool, f_gen, NULL};

        xml = hc_domain_meta_stamp_xml(e->pool, e->st.generation, e->digest, e->st.regs);
        if (!xml) {
                log_warning("VM %s: its plan cannot be stamped (pool or digest malformed)", e->uuid);
                return;
        }
        if (hcd_libvirt_stamp(c->libvirt, e->uuid, xml, &error) < 0) {
                log_warning("VM %s (%s): cannot stamp its values into the domain metadata, will retry: %s",
                            e->name ?: "?", e->uuid, error ?: "?");
                return;
        }
        snprintf(f_uuid, sizeof(f_uuid), "HYPERCALL_VM_UUID=%s", e->uuid);
        snprintf(f_name, sizeof(f_name), "HYPERCALL_VM_NAME=%s", e->name ?: "");
        snprintf(f_pool, sizeof(f_pool), "HYPERCALL_POOL=%s", e->pool);
        snprintf(f_gen, sizeof(f_gen), "HYPERCALL_BASELINE_GENERATION=%llu",
                 (unsigned long long)e->st.generation);
        hcd_log_full(LOG_INFO, 0, HC_MID_VALUES_VERIFIED, fields,
                     "VM %s (%s) runs with pool %s generation %llu values; stamped into its domain metadata",
                     e->name ?: "?", e->uuid, e->pool, (unsigned long long)e->st.generation);
}

/*
 * Audits every VM this host knows of: plan files, plus libvirt's running
 * domains and the values stamped in their metadata.
 */
static int context_audit(Context *c)
{
        _cleanup_(json_object_putp) json_object *doc = json_object_new_object();
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *bf = NULL;
        struct hcd_domain *doms = NULL;
        VmEntry *v = NULL;
        size_t n = 0, n_doms = 0;
        json_object *vms = json_object_new_array();
        _cleanup_free_ char *lv_error = NULL;
        unsigned findings = 0;
        bool libvirt = hcd_libvirt_connected(c->libvirt);
        int r;

        if (!doc || !vms) {
                json_object_put(vms);
                return log_oom();
        }
        r = context_baseline(c, &bf);
        if (r < 0) {
                json_object_put(vms);
                return r;
        }
        r = read_plans(c, &v, &n);
        if (r < 0)
                log_warning_errno(r, "Cannot read plans in %s: %m", c->config.plan_dir);
        if (libvirt) {
                r = hcd_libvirt_list(c->libvirt, &doms, &n_doms, &lv_error);
                if (r < 0) {
                        log_warning("Cannot list libvirt domains, auditing plans only: %s", lv_error ?: "?");
                        libvirt = false;
                }
        }
        for (size_t i = 0; i < n; i++)
                v[i].st.running = libvirt ? 0 : -1;
        for (size_t i = 0; i < n_doms; i++) {
                VmEntry *e = vm_entry(&v, &n, doms[i].uuid);
                const struct hc_domain_meta *m = doms[i].meta;

                if (!e)
                        break;
                e->st.running = 1;
                if (!e->name)
                        e->name = strdup(doms[i].name);
                if (doms[i].meta_error) {
                        free(e->error);
                        e->error = strdup(doms[i].meta_error);
                        e->st.source = "metadata";
                } else if (m && m->has_applied) {
                        /* The stamp after start is what the VM really carries. */
                        free(e->pool);
                        free(e->digest);
                        free(e->error);
                        e->error = NULL;
                        e->pool = m->pool ? strdup(m->pool) : NULL;
                        e->digest = strdup(m->applied_digest);
                        e->st.generation = m->applied_generation;
                        memcpy(e->st.regs, m->applied, sizeof(e->st.regs));
                        e->st.source = "metadata";
                } else {
                        if (m && m->pool && !e->pool)
                                e->pool = strdup(m->pool);
                        if (e->stampable && !e->error)
                                stamp_domain(c, e);
                }
        }
        hcd_domains_free(doms, n_doms);
        for (size_t i = 0; i < n; i++) {
                enum hc_vm_verdict verdict;
                json_object *o;

                v[i].st.uuid = v[i].uuid;
                v[i].st.name = v[i].name;
                v[i].st.pool = v[i].pool;
                v[i].st.digest = v[i].digest;
                v[i].st.error = v[i].error;
                o = hc_vm_audit(&v[i].st, bf, store_lookup, c->store, &verdict);
                if (!o || json_object_array_add(vms, o) < 0) {
                        json_object_put(o);
                        break;
                }
                if (hc_vm_verdict_is_finding(verdict))
                        findings++;
        }
        vm_entries_free(v, n);
        if (json_object_object_add(doc, "schema", json_object_new_string(HC_AUDIT_SCHEMA)) < 0 ||
            hc_json_add_string(doc, "host", c->host_name) < 0 ||
            json_object_object_add(doc, "generation",
                                   c->have_baseline ? json_object_new_uint64(c->generation) : NULL) < 0 ||
            hc_json_add_string(doc, "libvirt", c->libvirt_state) < 0 ||
            json_object_object_add(doc, "vms", vms) < 0 ||
            json_object_object_add(doc, "findings", json_object_new_int64(findings)) < 0)
                return log_oom();
        audit_log_findings(c, vms);
        json_object_put(c->audit);
        c->audit = TAKE_PTR(doc);
        malloc_trim(0);
        if (findings != c->audit_findings) {
                c->audit_findings = findings;
                context_emit(c, "AuditFindings");
                context_update_status(c);
        }
        return 0;
}

static int on_audit_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Context *c = userdata;

        (void)context_audit(c);
        return 0;
}

static void context_schedule_audit(Context *c)
{
        uint64_t when = now_usec(CLOCK_MONOTONIC) + AUDIT_SETTLE_USEC;
        int enabled = SD_EVENT_OFF;

        if (!c->event)
                return;
        if (c->audit_timer) {
                (void)sd_event_source_get_enabled(c->audit_timer, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return;
                (void)sd_event_source_set_time(c->audit_timer, when);
                (void)sd_event_source_set_enabled(c->audit_timer, SD_EVENT_ONESHOT);
                return;
        }
        if (sd_event_add_time(c->event, &c->audit_timer, CLOCK_MONOTONIC, when, 1, on_audit_timer, c) < 0)
                log_warning("Cannot schedule the VM audit.");
}

static int on_libvirt_retry(sd_event_source *s, uint64_t usec, void *userdata);

static void context_libvirt_try(Context *c)
{
        _cleanup_free_ char *error = NULL;
        char state[1024];

        if (!c->libvirt)
                return;
        if (hcd_libvirt_connect(c->libvirt, &error) >= 0) {
                snprintf(state, sizeof(state), "connected to %s", hcd_libvirt_uri(c->libvirt));
                if (!c->libvirt_state || strcmp(c->libvirt_state, state) != 0) {
                        hcd_log_full(LOG_INFO, 0, HC_MID_DAEMON_STATE, NULL, "libvirt: %s", state);
                        (void)set_string(&c->libvirt_state, state);
                        context_emit(c, "LibvirtState");
                }
                context_schedule_audit(c);
                return;
        }
        snprintf(state, sizeof(state), "unavailable: %s", error ?: "?");
        if (!c->libvirt_state || strcmp(c->libvirt_state, state) != 0) {
                hcd_log_full(LOG_WARNING, 0, HC_MID_DAEMON_STATE, NULL,
                             "libvirt is not reachable (%s); auditing VMs from plan files only, "
                             "retrying every %" PRIu64 " s",
                             error ?: "?", c->config.libvirt_retry_usec / USEC_PER_SEC);
                (void)set_string(&c->libvirt_state, state);
                context_emit(c, "LibvirtState");
        }
        if (c->config.libvirt_retry_usec) {
                uint64_t when = now_usec(CLOCK_MONOTONIC) + c->config.libvirt_retry_usec;

                if (c->libvirt_timer) {
                        (void)sd_event_source_set_time(c->libvirt_timer, when);
                        (void)sd_event_source_set_enabled(c->libvirt_timer, SD_EVENT_ONESHOT);
                } else {
                        (void)sd_event_add_time(c->event, &c->libvirt_timer, CLOCK_MONOTONIC, when, 0,
                                                on_libvirt_retry, c);
                }
        }
}

static int on_libvirt_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        context_libvirt_try(userdata);
        return 0;
}

static void on_libvirt_event(void *userdata, bool lost)
{
        Context *c = userdata;

        if (lost) {
                hcd_log_full(LOG_WARNING, 0, HC_MID_DAEMON_STATE, NULL,
                             "Lost the libvirt connection; reconnecting.");
                (void)set_string(&c->libvirt_state, "unavailable: connection lost");
                context_emit(c, "LibvirtState");
                context_libvirt_try(c);
        }
        context_schedule_audit(c);
}

static int context_setup_libvirt(Context *c)
{
        int r;

        c->libvirt = hcd_libvirt_free(c->libvirt);
        c->libvirt_timer = sd_event_source_disable_unref(c->libvirt_timer);
        if (!c->config.libvirt_uri) {
                (void)set_string(&c->libvirt_state, "disabled (LibvirtURI= is empty)");
                return 0;
        }
        r = hcd_libvirt_new(c->config.libvirt_uri, c->event, on_libvirt_event, c, &c->libvirt);
        if (r < 0)
                return log_error_errno(r, "Cannot start libvirt's event loop: %m");
        context_libvirt_try(c);
        return 0;
}

/* ---- Describe ------------------------------------------------------------------------------ */

static json_object *strv_json(char **v, size_t n)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < n; i++)
                if (json_object_array_add(a, json_object_new_string(v[i])) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        return a;
}

/* hypercall.daemon/v1: the whole state, one document. */
static json_object *build_describe(Context *c)
{
        _cleanup_(json_object_putp) json_object *doc = json_object_new_object();
        json_object *host = json_object_new_object(), *cfg = json_object_new_object(),
                    *store = json_object_new_object(), *pols = json_object_new_array(),
                    *fails = json_object_new_array(), *rec = json_object_new_object(),
                    *audit = json_object_new_object();
        size_t n_failures = 0;
        const struct hc_store_failure *failures = c->store ? hc_store_failures(c->store, &n_failures) : NULL;
        _cleanup_free_ char *uri = c->config.libvirt_uri ? hcd_uri_shown(c->config.libvirt_uri) : NULL;
        bool ok;

        ok = doc && host && cfg && store && pols && fails && rec && audit && (uri || !c->config.libvirt_uri);
        ok = ok && json_object_object_add(doc, "schema", json_object_new_string(HC_DAEMON_SCHEMA)) >= 0;
        ok = ok && hc_json_add_string(doc, "version", HC_VERSION) >= 0;
        ok = ok && hc_json_add_string(doc, "state", c->state) >= 0;
        /* host */
        ok = ok && json_object_object_add(doc, "host", host) >= 0;
        if (!ok) {
                json_object_put(host);
                json_object_put(cfg);
                json_object_put(store);
                json_object_put(pols);
                json_object_put(fails);
                json_object_put(rec);
                json_object_put(audit);
                return NULL;
        }
        ok = hc_json_add_string(host, "name", c->host_name) >= 0 &&
             hc_json_add_string(host, "source", c->host_source) >= 0 &&
             hc_json_add_string(host, "note", c->host_note) >= 0 &&
             json_object_object_add(host, "record", c->host_record ? hc_record_to_json(c->host_record) : NULL) >= 0;
        /* config */
        ok = ok && json_object_object_add(doc, "config", cfg) >= 0;
        ok = ok && hc_json_add_string(cfg, "state_directory", c->config.state_dir) >= 0 &&
             hc_json_add_string(cfg, "policy_directory", c->config.policy_dir) >= 0 &&
             hc_json_add_string(cfg, "store", c->config.store) >= 0 &&
             hc_json_add_string(cfg, "plan_directory", c->config.plan_dir) >= 0 &&
             hc_json_add_string(cfg, "record_file", c->config.record_file) >= 0 &&
             hc_json_add_string(cfg, "libvirt_uri", uri) >= 0 &&
             hc_json_add_string(cfg, "baseline_file", c->baseline_path) >= 0 &&
             json_object_object_add(cfg, "files", strv_json(c->config_files, c->n_config_files)) >= 0;
        /* store */
        ok = ok && json_object_object_add(doc, "store", store) >= 0;
        ok = ok && hc_json_add_string(store, "location", c->store ? hc_store_scheme(c->store) : NULL) >= 0 &&
             json_object_object_add(store, "records", json_object_new_int64(c->store ? (int64_t)hc_store_count(c->store) : 0)) >= 0 &&
             json_object_object_add(store, "failures", fails) >= 0;
        for (size_t i = 0; ok && i < n_failures; i++) {
                json_object *f = json_object_new_object();
                ok = f && hc_json_add_string(f, "name", failures[i].name) >= 0 &&
                     hc_json_add_string(f, "host", failures[i].host) >= 0 &&
                     hc_json_add_string(f, "error", failures[i].error) >= 0 &&
                     json_object_array_add(fails, f) >= 0;
                if (!ok)
                        json_object_put(f);
        }
        /* policies */
        ok = ok && json_object_object_add(doc, "policies", pols) >= 0;
        for (size_t i = 0; ok && i < c->n_policies; i++) {
                json_object *p = json_object_new_object();
                ok = p && hc_json_add_string(p, "file", c->policies[i].path) >= 0 &&
                     hc_json_add_string(p, "pool", c->policies[i].pool) >= 0 &&
                     hc_json_add_string(p, "error", c->policies[i].error) >= 0 &&
                     json_object_array_add(pols, p) >= 0;
                if (!ok)
                        json_object_put(p);
        }
        {
                struct hc_baseline_file *bf = NULL;
                json_object *b = NULL;

                if (context_baseline(c, &bf) >= 0 && bf)
                        b = json_object_get(bf->doc);
                hc_baseline_file_free(bf);
                ok = ok && json_object_object_add(doc, "baseline", b) >= 0;
        }
        ok = ok && hc_json_add_string(doc, "last_error", c->last_error) >= 0;
        ok = ok && json_object_object_add(doc, "recompute", rec) >= 0;
        ok = ok && json_object_object_add(rec, "count", json_object_new_uint64(c->recomputes)) >= 0 &&
             json_object_object_add(rec, "last_usec", json_object_new_uint64(c->last_recompute_usec)) >= 0;
        ok = ok && hc_json_add_string(doc, "libvirt", c->libvirt_state) >= 0;
        ok = ok && json_object_object_add(doc, "audit", audit) >= 0;
        {
                json_object *vms = NULL;
                if (c->audit)
                        json_object_object_get_ex(c->audit, "vms", &vms);
                ok = ok && json_object_object_add(audit, "vms", json_object_new_int64(vms ? (int64_t)json_object_array_length(vms) : 0)) >= 0 &&
                     json_object_object_add(audit, "findings", json_object_new_int64(c->audit_findings)) >= 0;
        }
        return ok ? TAKE_PTR(doc) : NULL;
}

/* ---- property getters ---------------------------------------------------------------------- */

static int property_get_string(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error)
{
        Context *c = ASSERT_PTR(userdata);
        const char *s = "";
        _cleanup_free_ char *owned = NULL;

        if (strcmp(property, "HostName") == 0)
                s = c->host_name;
        else if (strcmp(property, "HostRecordSource") == 0)
                s = c->host_source;
        else if (strcmp(property, "HostRecord") == 0 && c->host_record) {
                owned = hc_record_to_string(c->host_record);
                if (!owned)
                        return -ENOMEM;
                s = owned;
        } else if (strcmp(property, "BaselineDigest") == 0)
                s = c->baseline_digest;
        else if (strcmp(property, "LastError") == 0)
                s = c->last_error;
        else if (strcmp(property, "State") == 0)
                s = c->state;
        else if (strcmp(property, "LibvirtState") == 0)
                s = c->libvirt_state;
        else if (strcmp(property, "Store") == 0)
                s = c->store ? hc_store_scheme(c->store) : "";
        else if (strcmp(property, "PolicyDirectory") == 0)
                s = c->config.policy_dir;
        return sd_bus_message_append(reply, "s", s ?: "");
}

static int property_get_generation(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error)
{
        Context *c = ASSERT_PTR(userdata);

        return sd_bus_message_append(reply, "t", c->have_baseline ? c->generation : (uint64_t)0);
}

static int property_get_findings(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *error)
{
        Context *c = ASSERT_PTR(userdata);

        return sd_bus_message_append(reply, "u", c->audit_findings);
}

static int property_get_pools(sd_bus *bus, const char *path, const char *interface,
                              const char *property, sd_bus_message *reply, void *userdata,
                              sd_bus_error *error)
{
        Context *c = ASSERT_PTR(userdata);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ssts)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_pools; i++) {
                const PoolSummary *p = &c->pools[i];

                r = sd_bus_message_append(reply, "(ssts)", p->pool,
                                          p->held ? "held" : p->status == HC_POOL_OK ? "ok" : "refused",
                                          p->generation, p->digest);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* ---- method handlers ----------------------------------------------------------------------- */

/* Mutating methods: the bus policy admits only root, and so do we (defence in depth). */
static int check_root(sd_bus_message *m, const char *action, sd_bus_error *error)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID, &creds);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Cannot tell who is asking to %s.", action);
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                r = sd_bus_creds_get_uid(creds, &uid);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Cannot tell who is asking to %s.", action);
        if (uid != 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root may %s (caller uid %u).", action, (unsigned)uid);
        return 0;
}

static int reply_json(sd_bus_message *m, json_object *doc)
{
        const char *s;

        if (!doc)
                return -ENOMEM;
        s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        return s ? sd_bus_reply_method_return(m, "s", s) : -ENOMEM;
}

static int method_describe(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Context *c = ASSERT_PTR(userdata);
        _cleanup_(json_object_putp) json_object *doc = build_describe(c);
        int r;

        r = reply_json(m, doc);
        json_object_put(TAKE_PTR(doc));
        malloc_trim(0);
        return r;
}

static int method_audit(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Context *c = ASSERT_PTR(userdata);
        int r;

        /* Fresh on request: plans and domains may have moved since the last event. */
        r = context_audit(c);
        if (r < 0)
                return r;
        return reply_json(m, c->audit);
}

static bool name_ok(const char *s, size_t max)
{
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
                        return false;
        return true;
}

static int method_get_pool_baseline(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Context *c = ASSERT_PTR(userdata);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *bf = NULL;
        const struct hc_baseline_pool *p;
        const char *pool, *json;
        char hex[HC_HEX_MAX];
        int r;

        r = sd_bus_message_read(m, "s", &pool);
        if (r < 0)
                return r;
        if (!name_ok(pool, 64))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid pool name: expected 1 to 64 printable characters.");
        r = context_baseline(c, &bf);
        if (r < 0)
                return r;
        if (!bf)
                return sd_bus_error_setf(error, HC_BUS_ERROR_NO_BASELINE, "No baseline has been computed yet%s%s",
                                         c->last_error ? ": " : ".", c->last_error ?: "");
        p = hc_baseline_file_find(bf, pool);
        if (!p)
                return sd_bus_error_setf(error, HC_BUS_ERROR_NO_SUCH_POOL,
                                         "Pool %s is not in the baseline (generation %" PRIu64 ").", pool,
                                         bf->generation);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "sts", pool_state(p), p->generation, p->digest);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{st}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < hc_catalog_count(); i++)
                if (p->status == HC_POOL_OK && p->regs[i].present) {
                        (void)hex;
                        r = sd_bus_message_append(reply, "{st}", hc_catalog_get(i)->name, p->regs[i].value);
                        if (r < 0)
                                return r;
                }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        json = json_object_to_json_string_ext(p->json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = sd_bus_message_append(reply, "s", json ?: "{}");
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Computes one pool from the current inputs, for Explain and CheckMigration. */
/* The result borrows from snap: free it after the result. */
static int compute_pool(Context *c, const char *pool, struct hc_store_snapshot *snap, struct hc_baseline **ret,
                        sd_bus_error *error)
{
        struct hc_policy_set set = {0};
        struct hc_error err = {0};
        int r;

        r = compute_set(c, NULL, 0, &set);
        if (r < 0)
                return r;
        if (!hc_policy_set_find(&set, pool)) {
                free(set.policies);
                return sd_bus_error_setf(error, HC_BUS_ERROR_NO_SUCH_POOL,
                                         "No valid policy defines pool %s in %s.", pool, c->config.policy_dir);
        }
        r = hc_store_snapshot(c->store, snap);
        if (r < 0) {
                free(set.policies);
                return r;
        }
        r = hc_baseline_compute(snap->records, snap->n, &set, pool, (int64_t)time(NULL), ret, &err);
        free(set.policies);
        if (r < 0)
                return sd_bus_error_setf(error, HC_BUS_ERROR_NO_BASELINE, "Cannot compute pool %s: %s", pool,
                                         hc_error_text(&err));
        return 0;
}

static int method_explain(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Context *c = ASSERT_PTR(userdata);
        _cleanup_(hc_store_snapshot_done) struct hc_store_snapshot snap = {0};
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        struct hc_error err = {0};
        const char *pool, *subject;
        int r;

        r = sd_bus_message_read(m, "ss", &pool, &subject);
        if (r < 0)
                return r;
        if (!name_ok(pool, 64) || !name_ok(subject, 64))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid arguments: expected a pool name and a service or register name.");
        r = compute_pool(c, pool, &snap, &b, error);
        if (r < 0)
                return r;
        r = hc_explain(hc_baseline_find(b, pool), subject, &doc, &err);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, HC_BUS_ERROR_UNKNOWN_SUBJECT, "%s", hc_error_text(&err));
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", hc_error_text(&err));
        return reply_json(m, doc);
}

/* A host's vCPU register set from the store, NULL when it has none of its record's kernel. */
static int load_current_vcpu(Context *c, const struct hc_record *r, struct hc_vcpu_regs **ret, sd_bus_error *error)
{
        struct hc_error err = {0};

        if (hc_store_load_vcpu(c->store, r->host, ret, &err) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", hc_error_text(&err));
        if (!hc_vcpu_regs_current(*ret, r))
                *ret = hc_vcpu_regs_free(*ret);
        return 0;
}

static int method_check_migration(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Context *c = ASSERT_PTR(userdata);
        _cleanup_(hc_store_snapshot_done) struct hc_store_snapshot snap = {0};
        _cleanup_(hc_baseline_freep) struct hc_baseline *b = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        _cleanup_(hc_vcpu_regs_freep) struct hc_vcpu_regs *fv = NULL, *tv = NULL;
        struct hc_migration mig = {0};
        struct hc_store_record from_buf, to_buf;
        const struct hc_record *from = NULL, *to = NULL;
        const char *pool, *from_host, *to_host, *json;
        int r;

        r = sd_bus_message_read(m, "sss", &pool, &from_host, &to_host);
        if (r < 0)
                return r;
        if (!name_ok(pool, 64) || !name_ok(from_host, 253) || !name_ok(to_host, 253))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid arguments: expected a pool name and two host names.");
        if (hc_store_lookup(c->store, from_host, &from_buf))
                from = &from_buf.rec;
        if (hc_store_lookup(c->store, to_host, &to_buf))
                to = &to_buf.rec;
        if (!from || !to)
                return sd_bus_error_setf(error, HC_BUS_ERROR_NO_SUCH_HOST, "Host %s has no record in %s.",
                                         !from ? from_host : to_host, hc_store_scheme(c->store));
        r = compute_pool(c, pool, &snap, &b, error);
        if (r < 0)
                return r;
        r = load_current_vcpu(c, from, &fv, error);
        if (r < 0)
                return r;
        r = load_current_vcpu(c, to, &tv, error);
        if (r < 0)
                return r;
        r = hc_migration_judge(hc_baseline_find(b, pool), from, fv, to, tv, &mig);
        if (r < 0)
                return r;
        doc = hc_migration_to_json(pool, from_host, to_host, &mig);
        if (!doc) {
                hc_migration_done(&mig);
                return -ENOMEM;
        }
        json = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = sd_bus_reply_method_return(m, "bs", (int)mig.allowed, json ?: "{}");
        hc_migration_done(&mig);
        return r;
}

static int method_probe_host(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Context *c = ASSERT_PTR(userdata);
        struct hc_error err = {0};
        _cleanup_free_ char *text = NULL;
        bool drift;
        int interactive, r;

        r = sd_bus_message_read(m, "b", &interactive);
        if (r < 0)
                return r;
        r = check_root(m, "probe this host", error);
        if (r < 0)
                return r;
        r = context_refresh_host(c, &drift, &err);
        if (r < 0) {
                log_error("ProbeHost(): %s", hc_error_text(&err));
                return sd_bus_error_setf(error, HC_BUS_ERROR_PROBE_FAILED, "%s", hc_error_text(&err));
        }
        (void)context_recompute(c, drift);
        context_emit(c, "HostRecord", "HostRecordSource");
        if (!c->host_record)
                return sd_bus_reply_method_return(m, "s", "null");
        text = hc_record_to_string(c->host_record);
        if (!text)
                return -ENOMEM;
        return sd_bus_reply_method_return(m, "s", text);
}

static int context_reload(Context *c, struct hc_error *err);

static int method_reload(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Context *c = ASSERT_PTR(userdata);
        struct hc_error err = {0};
        int interactive, r;

        r = sd_bus_message_read(m, "b", &interactive);
        if (r < 0)
                return r;
        r = check_root(m, "reload hypercalld", error);
        if (r < 0)
                return r;
        r = context_reload(c, &err);
        if (r < 0)
                return sd_bus_error_setf(error, HC_BUS_ERROR_RELOAD_FAILED, "%s", hc_error_text(&err));
        return sd_bus_reply_method_return(m, NULL);
}

static bool uuid_ok(const char *s)
{
        static const int dash[] = {8, 13, 18, 23};

        if (strlen(s) != 36)
                return false;
        for (int i = 0; i < 36; i++) {
                bool is_dash = i == dash[0] || i == dash[1] || i == dash[2] || i == dash[3];
                if (is_dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
                        return false;
        }
        return true;
}

static int method_report_vm_refused(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Context *c = ASSERT_PTR(userdata);
        const char *uuid, *name, *pool, *reason;
        int r;

        r = sd_bus_message_read(m, "ssss", &uuid, &name, &pool, &reason);
        if (r < 0)
                return r;
        if (!uuid_ok(uuid))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid VM UUID \"%s\": expected 8-4-4-4-12 hex digits.", uuid);
        if (!name_ok(name, 255) || !name_ok(pool, 64) || !name_ok(reason, 1024))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid arguments: expected a VM name (1-255), a pool (1-64) "
                                         "and a reason (1-1024 printable characters).");
        r = check_root(m, "report a refused VM", error);
        if (r < 0)
                return r;
        /* The hook logged the refusal (HC_MSGID_VM_START_REFUSED); here it becomes a signal. */
        log_debug("VM %s (%s) refused in pool %s: %s", name, uuid, pool, reason);
        r = sd_bus_emit_signal(c->bus, HC_BUS_PATH, HC_BUS_INTERFACE, "VmRefused", "ssss", uuid, name,
                               pool, reason);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, NULL);
}

/* ---- vtable -------------------------------------------------------------------------------- */

static const sd_bus_vtable hypercall_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("HostName", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HostRecord", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HostRecordSource", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Generation", "t", property_get_generation, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BaselineDigest", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Pools", "a(ssts)", property_get_pools, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LibvirtState", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("AuditFindings", "u", property_get_findings, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Store", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PolicyDirectory", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS("Describe", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json), method_describe,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetPoolBaseline", SD_BUS_ARGS("s", pool),
                                SD_BUS_RESULT("s", state, "t", generation, "s", digest, "a{st}", registers,
                                              "s", json),
                                method_get_pool_baseline, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Explain", SD_BUS_ARGS("s", pool, "s", subject), SD_BUS_RESULT("s", json),
                                method_explain, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CheckMigration", SD_BUS_ARGS("s", pool, "s", from, "s", to),
                                SD_BUS_RESULT("b", allowed, "s", json), method_check_migration,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Audit", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json), method_audit,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        /* Mutating: UNPRIVILEGED so that check_root(), not sd-bus, gives the answer. */
        SD_BUS_METHOD_WITH_ARGS("ProbeHost", SD_BUS_ARGS("b", interactive), SD_BUS_RESULT("s", record),
                                method_probe_host, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_ARGS("b", interactive), SD_BUS_NO_RESULT, method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReportVmRefused", SD_BUS_ARGS("s", uuid, "s", name, "s", pool, "s", reason),
                                SD_BUS_NO_RESULT, method_report_vm_refused, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("BaselineChanged", SD_BUS_ARGS("t", generation, "as", pools), 0),
        SD_BUS_SIGNAL_WITH_ARGS("VmRefused", SD_BUS_ARGS("s", uuid, "s", name, "s", pool, "s", reason), 0),
        SD_BUS_VTABLE_END,
};

/* ---- bus ----------------------------------------------------------------------------------- */

static int connect_bus(Context *c)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (c->cli.bus_address) {
                r = sd_bus_new(&bus);
                if (r < 0)
                        return log_error_errno(r, "Failed to allocate a bus: %m");
                r = sd_bus_set_address(bus, c->cli.bus_address);
                if (r < 0)
                        return log_error_errno(r, "Invalid bus address %s: %m", c->cli.bus_address);
                (void)sd_bus_set_bus_client(bus, 1);
                (void)sd_bus_negotiate_creds(bus, 1, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID);
                r = sd_bus_start(bus);
        } else {
                r = sd_bus_open_system(&bus);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = sd_bus_add_object_vtable(bus, NULL, HC_BUS_PATH, HC_BUS_INTERFACE, hypercall_vtable, c);
        if (r < 0)
                return log_error_errno(r, "Failed to register the object: %m");
        r = sd_bus_request_name(bus, HC_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to own %s (is another hypercalld running, or does the "
                                          "bus policy lack the project's policy file?): %m",
                                       HC_BUS_NAME);
        r = sd_bus_attach_event(bus, c->event, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        c->bus = TAKE_PTR(bus);
        return 0;
}

/* ---- sources: watches and timers ------------------------------------------------------------ */

static int on_settle(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)context_recompute(userdata, false);
        return 0;
}

/* A change happened: recompute after SettleSec= (not pushed back by further changes). */
static void context_schedule_recompute(Context *c)
{
        uint64_t when = now_usec(CLOCK_MONOTONIC) + c->config.settle_usec;
        int enabled = SD_EVENT_OFF;

        if (c->settle_timer) {
                (void)sd_event_source_get_enabled(c->settle_timer, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return;
                (void)sd_event_source_set_time(c->settle_timer, when);
                (void)sd_event_source_set_enabled(c->settle_timer, SD_EVENT_ONESHOT);
                return;
        }
        if (sd_event_add_time(c->event, &c->settle_timer, CLOCK_MONOTONIC, when, 1, on_settle, c) < 0)
                log_warning("Cannot schedule a recomputation.");
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n > m && strcmp(s + n - m, suffix) == 0;
}

static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Context *c = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool policy = false, plans = false;

        for (;;) {
                ssize_t len = read(fd, buf, sizeof(buf));

                if (len <= 0)
                        break;
                for (char *p = buf; p < buf + len;) {
                        const struct inotify_event *ev = (const struct inotify_event *)p;

                        if (ev->mask & IN_Q_OVERFLOW)
                                policy = plans = true;
                        else if (ev->wd == c->policy_wd &&
                                 ((ev->len && has_suffix(ev->name, ".yaml") && ev->name[0] != '.') ||
                                  (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))))
                                policy = true;
                        else if (ev->wd == c->plan_wd && ev->len && has_suffix(ev->name, ".plan"))
                                plans = true;
                        p += sizeof(*ev) + ev->len;
                }
        }
        if (policy)
                context_schedule_recompute(c);
        else if (plans)
                context_schedule_audit(c);
        return 0;
}

static int on_store(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Context *c = userdata;
        bool relevant = false;

        if (hc_store_watch_drain(c->store, &relevant) < 0)
                relevant = true;
        if (relevant)
                context_schedule_recompute(c);
        return 0;
}

static int on_rescan(sd_event_source *s, uint64_t usec, void *userdata)
{
        Context *c = userdata;

        /* Covers what inotify cannot see (remote writers on a shared store) and records aging. */
        (void)hc_store_rescan(c->store, NULL, NULL);
        (void)context_recompute(c, false);
        (void)sd_event_source_set_time(s, usec + c->config.rescan_interval_usec);
        return 0;
}

static int on_probe_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Context *c = userdata;
        struct hc_error err = {0};
        bool drift = false;

        if (context_refresh_host(c, &drift, &err) < 0)
                log_error("Periodic probe failed, keeping the published record: %s", hc_error_text(&err));
        else if (drift) {
                (void)context_recompute(c, true);
                context_emit(c, "HostRecord", "HostRecordSource");
        }
        (void)sd_event_source_set_time(s, usec + c->config.probe_interval_usec);
        return 0;
}

static int add_watch(Context *c, const char *dir, uint32_t mask, const char *what)
{
        int wd = inotify_add_watch(c->watch_fd, dir, mask | IN_ONLYDIR);

        if (wd < 0)
                log_warning_errno(errno, "Cannot watch %s %s (%m); changes are seen by the periodic rescan only.",
                                  what, dir);
        return wd;
}

/* (Re)creates the watches, the store and the timers from the configuration. */
static int context_setup_sources(Context *c)
{
        struct hc_error err = {0};
        int r, fd;

        c->watch_io = sd_event_source_disable_unref(c->watch_io);
        if (c->watch_fd >= 0)
                (void)close(c->watch_fd);
        c->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (c->watch_fd < 0)
                return log_error_errno(errno, "inotify_init1() failed: %m");
        (void)mkdir(c->config.plan_dir, 0755);
        c->policy_wd = add_watch(c, c->config.policy_dir,
                                 IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB |
                                         IN_DELETE_SELF | IN_MOVE_SELF,
                                 "the policy directory");
        c->plan_wd = add_watch(c, c->config.plan_dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM,
                               "the plan directory");
        r = sd_event_add_io(c->event, &c->watch_io, c->watch_fd, EPOLLIN, on_watch, c);
        if (r < 0)
                return log_error_errno(r, "Failed to watch directories: %m");

        if (!c->store || !c->store_url || strcmp(c->store_url, c->config.store) != 0) {
                struct hc_store *s = NULL;

                c->store_io = sd_event_source_disable_unref(c->store_io);
                r = hc_store_open(c->config.store, &s, &err);
                if (r < 0)
                        return log_error_errno(r, "Cannot open the fleet store: %s", hc_error_text(&err));
                hc_store_free(c->store);
                c->store = s;
                (void)set_string(&c->store_url, c->config.store);
                fd = hc_store_watch_fd(c->store);
                if (fd < 0)
                        log_warning_errno(fd, "Cannot watch the fleet store (%m); changes are seen by the "
                                              "periodic rescan only.");
                else if ((r = sd_event_add_io(c->event, &c->store_io, fd, EPOLLIN, on_store, c)) < 0)
                        return log_error_errno(r, "Failed to watch the fleet store: %m");
        }

        c->rescan_timer = sd_event_source_disable_unref(c->rescan_timer);
        if (c->config.rescan_interval_usec) {
                r = sd_event_add_time_relative(c->event, &c->rescan_timer, CLOCK_MONOTONIC,
                                               c->config.rescan_interval_usec, 0, on_rescan, c);
                if (r < 0)
                        return log_error_errno(r, "Failed to add the rescan timer: %m");
                (void)sd_event_source_set_enabled(c->rescan_timer, SD_EVENT_ON);
        }
        c->probe_timer = sd_event_source_disable_unref(c->probe_timer);
        if (c->config.probe_interval_usec) {
                r = sd_event_add_time_relative(c->event, &c->probe_timer, CLOCK_MONOTONIC,
                                               c->config.probe_interval_usec, 0, on_probe_timer, c);
                if (r < 0)
                        return log_error_errno(r, "Failed to add the probe timer: %m");
                (void)sd_event_source_set_enabled(c->probe_timer, SD_EVENT_ON);
        }
        return 0;
}

static int context_reload(Context *c, struct hc_error *err)
{
        char *old_uri = c->config.libvirt_uri ? strdup(c->config.libvirt_uri) : NULL;
        bool drift = false;
        int r;

        (void)sd_notify(false, "RELOADING=1\nSTATUS=Reloading configuration, policies and the fleet store");
        c->state = "reloading";
        context_emit(c, "State");
        r = context_load_config(c, err);
        if (r < 0) {
                log_error("Reload failed, keeping the running configuration: %s", hc_error_text(err));
        } else {
                r = context_setup_sources(c);
                if (r < 0)
                        (void)hc_error_set(err, -r, "cannot set up watches or the store (see the journal)");
        }
        if (r >= 0 && (!!old_uri != !!c->config.libvirt_uri ||
                       (old_uri && strcmp(old_uri, c->config.libvirt_uri) != 0)))
                (void)context_setup_libvirt(c);
        free(old_uri);
        if (r >= 0) {
                struct hc_error herr = {0};
                if (context_refresh_host(c, &drift, &herr) < 0)
                        log_error("Cannot refresh this host's record: %s", hc_error_text(&herr));
                (void)hc_store_rescan(c->store, NULL, NULL);
                (void)context_recompute(c, drift);
                context_emit(c, "HostRecord", "HostRecordSource", "Store", "PolicyDirectory");
                hcd_log_full(LOG_INFO, 0, HC_MID_DAEMON_STATE, NULL, "Reloaded.");
        }
        c->state = "running";
        context_emit(c, "State");
        (void)sd_notify(false, "READY=1");
        context_update_status(c);
        return r;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct hc_error err = {0};

        (void)context_reload(userdata, &err);
        return 0;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void help(void)
{
        printf("Usage: hypercalld [OPTIONS]\n\n"
               "The hypercall host daemon: keeps this host's record in the fleet store, the fleet\n"
               "baseline in STATE/baseline.json, audits VMs, and serves %s on the system bus.\n\n"
               "  --config FILE        read only FILE (default: the hypercalld.conf search)\n"
               "  --config-root DIR    search hypercalld.conf under DIR (tests)\n"
               "  --state-dir DIR      StateDirectory=\n"
               "  --policy-dir DIR     PolicyDirectory=\n"
               "  --store URL          Store= (dir:/path or /path)\n"
               "  --record-file FILE   RecordFile= (this host's record when it cannot probe)\n"
               "  --host NAME          HostName=\n"
               "  --plan-dir DIR       PlanDirectory=\n"
               "  --libvirt-uri URI    LibvirtURI= (empty: no libvirt)\n"
               "  --no-probe           Probe=no\n"
               "  --bus-address ADDR   connect to this bus instead of the system bus\n"
               "  --log-target T       auto, journal or console\n"
               "  --log-level L        debug, info, notice, warning, err\n"
               "  --version            print the version\n",
               HC_BUS_NAME);
}

static int parse_argv(Context *c, int argc, char **argv)
{
        enum { ARG_CONFIG = 0x100, ARG_CONFIG_ROOT, ARG_STATE_DIR, ARG_POLICY_DIR, ARG_STORE,
               ARG_RECORD_FILE, ARG_HOST, ARG_PLAN_DIR, ARG_LIBVIRT_URI, ARG_NO_PROBE, ARG_BUS_ADDRESS,
               ARG_LOG_TARGET, ARG_LOG_LEVEL, ARG_VERSION };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {"config", required_argument, NULL, ARG_CONFIG},
                {"config-root", required_argument, NULL, ARG_CONFIG_ROOT},
                {"state-dir", required_argument, NULL, ARG_STATE_DIR},
                {"policy-dir", required_argument, NULL, ARG_POLICY_DIR},
                {"store", required_argument, NULL, ARG_STORE},
                {"record-file", required_argument, NULL, ARG_RECORD_FILE},
                {"host", required_argument, NULL, ARG_HOST},
                {"plan-dir", required_argument, NULL, ARG_PLAN_DIR},
                {"libvirt-uri", required_argument, NULL, ARG_LIBVIRT_URI},
                {"no-probe", no_argument, NULL, ARG_NO_PROBE},
                {"bus-address", required_argument, NULL, ARG_BUS_ADDRESS},
                {"log-target", required_argument, NULL, ARG_LOG_TARGET},
                {"log-level", required_argument, NULL, ARG_LOG_LEVEL},
                {},
        };
        static const char *const levels[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
        enum hcd_log_target t;
        int opt;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("hypercalld %s\n", HC_VERSION);
                        return 0;
                case ARG_CONFIG: c->cli.config = optarg; break;
                case ARG_CONFIG_ROOT: c->cli.config_root = optarg; break;
                case ARG_STATE_DIR: c->cli.state_dir = optarg; break;
                case ARG_POLICY_DIR: c->cli.policy_dir = optarg; break;
                case ARG_STORE: c->cli.store = optarg; break;
                case ARG_RECORD_FILE: c->cli.record_file = optarg; break;
                case ARG_HOST: c->cli.host = optarg; break;
                case ARG_PLAN_DIR: c->cli.plan_dir = optarg; break;
                case ARG_LIBVIRT_URI: c->cli.libvirt_uri = optarg; break;
                case ARG_NO_PROBE: c->cli.no_probe = true; break;
                case ARG_BUS_ADDRESS: c->cli.bus_address = optarg; break;
                case ARG_LOG_TARGET:
                        if (hcd_log_parse_target(optarg, &t) < 0) {
                                fprintf(stderr, "hypercalld: --log-target: expected auto, journal or console, got \"%s\"\n", optarg);
                                return -EINVAL;
                        }
                        hcd_log_set_target(t);
                        break;
                case ARG_LOG_LEVEL: {
                        int found = -1;
                        for (int i = 0; i < (int)ELEMENTSOF(levels); i++)
                                if (strcmp(levels[i], optarg) == 0)
                                        found = i;
                        if (found < 0) {
                                fprintf(stderr, "hypercalld: --log-level: expected debug, info, notice, warning or err, got \"%s\"\n", optarg);
                                return -EINVAL;
                        }
                        hcd_log_set_max_level(found);
                        break;
                }
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "hypercalld: unexpected argument \"%s\"; see --help\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int run(int argc, char **argv)
{
        _cleanup_(context_destroy) Context context = {.watch_fd = -1, .policy_wd = -1, .plan_wd = -1,
                                                     .state = "starting"};
        Context *c = &context;
        struct hc_error err = {0};
        bool drift = false;
        sigset_t mask;
        int r;

        r = parse_argv(c, argc, argv);
        if (r <= 0)
                return r;
        /*
         * Large blocks (a recomputation's snapshot of every record, the baseline text)
         * always get their own mapping and go back to the system when freed; glibc's
         * default would raise the threshold after the first large free and let them
         * fragment the heap.
         */
        (void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        r = context_load_config(c, &err);
        if (r < 0)
                return log_error_errno(r, "Invalid configuration: %s", hc_error_text(&err));
        umask(0022);

        r = sd_event_default(&c->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(c->event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(c->event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(c->event, NULL, SIGHUP, on_sighup, c);
        if (r < 0)
                return log_error_errno(r, "Failed to install signal handlers: %m");
        r = sd_event_set_watchdog(c->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the watchdog, ignoring: %m");

        if (mkdir(c->config.state_dir, 0750) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Cannot create %s: %m", c->config.state_dir);
        r = context_setup_sources(c);
        if (r < 0)
                return r;
        context_load_cached_baseline(c);
        r = context_refresh_host(c, &drift, &err);
        if (r < 0)
                return log_error_errno(r, "Cannot get this host's record: %s", hc_error_text(&err));
        (void)context_recompute(c, drift);

        r = connect_bus(c);
        if (r < 0)
                return r;
        r = context_setup_libvirt(c);
        if (r < 0)
                return r;
        (void)context_audit(c);

        c->state = "running";
        hcd_log_full(LOG_INFO, 0, HC_MID_DAEMON_STATE, NULL,
                     "hypercalld %s running as %s: host %s (record: %s), baseline %s, store %s, policies %s",
                     HC_VERSION, HC_BUS_NAME, c->host_name, c->host_source, c->baseline_path,
                     hc_store_scheme(c->store), c->config.policy_dir);
        (void)sd_notify(false, "READY=1");
        context_update_status(c);

        r = sd_event_loop(c->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        (void)sd_notify(false, "STOPPING=1\nSTATUS=Shutting down");
        return 0;
}

int main(int argc, char **argv)
{
        int r = run(argc, argv);

        return r < 0 ? 1 : 0;
}

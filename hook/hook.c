/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt qemu hook, installed as /etc/libvirt/hooks/qemu.d/hypercall.
 * libvirt runs it as root, synchronously, with the domain's lock held:
 *
 *   hypercall <domain> <op> <subop> <extra>     (domain XML on stdin)
 *
 *  prepare begin      pick the VM's pool, read the last-known-good baseline,
 *                     check the shim's delivery, write /run/hypercall/vm/<uuid>.plan;
 *                     any problem: one line on stderr, exit 1, the VM does not start
 *  start begin        let QEMU read the plan: group QEMU's (from libvirt's DAC
 *                     label, which does not exist yet at prepare), mode 0440
 *  migrate begin,     incoming VM: check that this host can accept the values
 *  restore begin      the VM brings (they arrive in the stream); refuse before QEMU starts
 *  started begin      check that the shim is mapped into QEMU (after the fact; see docs)
 *  stopped, release   remove the plan (idempotent)
 *  reconnect begin    never fails: a failure would kill a running VM
 *
 * It never talks to libvirt (deadlock) or the network; everything it reads
 * is a local file.  Every decision goes to the journal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

#include "baseline-file.h"
#include "bus-api.h"
#include "domain-meta.h"
#include "fileio.h"
#include "hook-ids.h"
#include "plan.h"
#include "record.h"
#include "shim-plan.h"

#ifndef HC_HOOK_BASELINE
#define HC_HOOK_BASELINE "/var/lib/hypercall/baseline.json"
#endif
#ifndef HC_HOOK_HOST_RECORD
#define HC_HOOK_HOST_RECORD "/var/lib/hypercall/host.json"
#endif
#ifndef HC_HOOK_PLAN_DIR
#define HC_HOOK_PLAN_DIR HC_PLAN_DIR
#endif
#ifndef HC_HOOK_SHIM
#define HC_HOOK_SHIM "/usr/lib/hypercall/libhypercall-shim.so"
#endif
#ifndef HC_HOOK_WRAPPER
#define HC_HOOK_WRAPPER "/usr/libexec/hypercall/qemu-system-aarch64"
#endif
#define HC_LIBVIRT_RUN "/run/libvirt/qemu"
#define HOOK_TIMEOUT_SEC 30
#define INCOMING_MARKER_MAX_AGE 300 /* s between migrate/restore begin and prepare */

struct ctx {
        const char *dom, *op, *sub;
        char *xml;
        size_t xml_len;
        struct hc_domain_meta *meta;
        const char *pool;
        uint64_t generation;
        bool gate; /* a failure refuses (prepare, migrate, restore) */
};

static struct ctx *current;

static const char *vm_name(const struct ctx *c)
{
        return c->meta && c->meta->name ? c->meta->name : c->dom;
}

__attribute__((format(printf, 5, 6))) static void journal(int prio, const char *msgid, const struct ctx *c,
                                                          const char *decision, const char *fmt, ...)
{
        char msg[2048];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        /* No journald (a container, the test lab): nothing to do, the decision still stands. */
        (void)sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio, "MESSAGE_ID=%s", msgid,
                              "SYSLOG_IDENTIFIER=hypercall-hook", "HYPERCALL_VM_NAME=%s", vm_name(c),
                              "HYPERCALL_VM_UUID=%s", c->meta ? c->meta->uuid : "",
                              "HYPERCALL_POOL=%s", c->pool ? c->pool : "",
                              "HYPERCALL_BASELINE_GENERATION=%" PRIu64, c->generation,
                              "HYPERCALL_HOOK_OP=%s %s", c->op, c->sub, "HYPERCALL_DECISION=%s", decision,
                              NULL);
}

static int on_report_reply(sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        *(bool *)userdata = true;
        return 0;
}

static uint64_t monotonic_usec(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * Tells hypercalld, so it emits VmRefused on the bus.  Best effort and
 * bounded: no D-Bus activation (a refusal must not start the daemon), half a
 * second at most, and any failure is ignored; the decision already stands.
 * The bound covers the whole exchange: sd_bus_call() and sd_bus_flush() wait
 * without limit for a bus that accepted the connection but never
 * authenticates (a hung dbus-daemon), so the call is asynchronous, driven
 * against our own deadline, and the bus is closed without flushing.
 */
static void report_refusal(const struct ctx *c, const char *why)
{
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint64_t deadline = monotonic_usec() + 500 * 1000;
        bool answered = false;

        if (!c->meta || !c->meta->uuid[0] || sd_bus_open_system(&bus) < 0)
                return;
        if (sd_bus_message_new_method_call(bus, &m, HC_BUS_NAME, HC_BUS_PATH, HC_BUS_INTERFACE,
                                           "ReportVmRefused") < 0 ||
            sd_bus_message_set_auto_start(m, 0) < 0 ||
            sd_bus_message_append(m, "ssss", c->meta->uuid, vm_name(c), c->pool ? c->pool : "-",
                                  why) < 0 ||
            sd_bus_call_async(bus, NULL, m, on_report_reply, &answered, 500 * 1000) < 0)
                return;
        while (!answered) {
                uint64_t now = monotonic_usec();
                int r;

                if (now >= deadline)
                        return;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return;
                if (r == 0 && sd_bus_wait(bus, deadline - now) < 0)
                        return;
        }
}

/* One line on stderr (libvirt shows it as the error), one journal entry, exit 1. */
__attribute__((format(printf, 2, 3), noreturn)) static void refuse(struct ctx *c, const char *fmt, ...)
{
        char why[2048];
        bool incoming = strcmp(c->op, "migrate") == 0 || strcmp(c->op, "restore") == 0;
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        fprintf(stderr, "hypercall: %sVM %s refused: %s\n", incoming ? "incoming " : "", vm_name(c), why);
        journal(LOG_ERR, incoming ? HC_MSGID_VM_INCOMING_REFUSED : HC_MSGID_VM_START_REFUSED, c, "refused",
                "%s %s refused: %s", incoming ? "Incoming VM" : "VM", vm_name(c), why);
        report_refusal(c, why);
        exit(1);
}

static void on_alarm(int sig)
{
        static const char msg[] = "hypercall: hook timed out after 30 s\n";

        (void)sig;
        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        _exit(current && current->gate ? 1 : 0);
}

static int read_stdin(char **ret, size_t *ret_len)
{
        size_t len = 0, cap = 65536;
        char *buf = malloc(cap);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;
                if (len + 1 >= cap) {
                        char *b;
                        if (cap >= HC_FILE_MAX) {
                                free(buf);
                                return -EFBIG;
                        }
                        b = realloc(buf, cap * 2);
                        if (!b) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = b;
                        cap *= 2;
                }
                n = read(STDIN_FILENO, buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        free(buf);
                        return e == EBADF ? (*ret = strdup(""), *ret_len = 0, 0) : -e;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* The fleet's name for this host: the host record's, else the kernel's hostname. */
static void host_name(char *buf, size_t len)
{
        _cleanup_(hc_record_freep) struct hc_record *rec = NULL;

        if (hc_record_load(HC_HOOK_HOST_RECORD, &rec, NULL) == 0 && rec->host) {
                snprintf(buf, len, "%s", rec->host);
                return;
        }
        if (gethostname(buf, len) < 0)
                snprintf(buf, len, "localhost");
        buf[len - 1] = '\0';
}

static bool pool_has_host(const struct hc_baseline_pool *p, const char *host)
{
        json_object *hosts = NULL;

        if (!p->json || !json_object_object_get_ex(p->json, "hosts", &hosts) ||
            !json_object_is_type(hosts, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(hosts); i++) {
                const char *h = json_object_get_string(json_object_array_get_idx(hosts, i));
                if (h && strcmp(h, host) == 0)
                        return true;
        }
        return false;
}

static const char *first_error(const struct hc_baseline_pool *p)
{
        json_object *errors = NULL, *msg = NULL;

        if (p->kept_reason)
                return p->kept_reason;
        if (p->json && json_object_object_get_ex(p->json, "errors", &errors) &&
            json_object_is_type(errors, json_type_array) && json_object_array_length(errors) > 0 &&
            json_object_object_get_ex(json_object_array_get_idx(errors, 0), "message", &msg))
                return json_object_get_string(msg);
        return "no reason recorded";
}

static void parse_domain(struct ctx *c)
{
        struct hc_error err = {0};

        if (hc_domain_meta_parse(c->xml, c->xml_len, "domain XML", &c->meta, &err) < 0)
                refuse(c, "%s", hc_error_text(&err));
        if (strcmp(c->meta->name, c->dom) != 0)
                refuse(c, "domain XML: <name> is \"%s\", but libvirt called the hook for \"%s\"", c->meta->name,
                       c->dom);
}

static bool is_arm64(const struct ctx *c)
{
        return !c->meta->arch || strcmp(c->meta->arch, "aarch64") == 0;
}

/* Loads the baseline and finds the VM's pool: refuses when there is none it may use. */
static const struct hc_baseline_pool *choose_pool(struct ctx *c, struct hc_baseline_file **ret_file)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        const struct hc_baseline_pool *p = NULL;
        struct hc_error err = {0};
        char host[256];
        int r;

        r = hc_baseline_file_load(HC_HOOK_BASELINE, &f, &err);
        if (r == -ENOENT)
                refuse(c, "no baseline at %s (has hypercalld run on this host?)", HC_HOOK_BASELINE);
        if (r < 0)
                refuse(c, "unusable baseline: %s", hc_error_text(&err));
        c->generation = f->generation;
        host_name(host, sizeof(host));
        if (c->meta->pool) {
                p = hc_baseline_file_find(f, c->meta->pool);
                if (!p) {
                        char names[512] = "";
                        size_t o = 0;
                        for (size_t i = 0; i < f->n_pools && o < sizeof(names); i++)
                                o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "",
                                                      f->pools[i].pool);
                        c->pool = c->meta->pool;
                        refuse(c, "pool \"%s\" is not in the baseline (generation %" PRIu64 "; pools: %s)",
                               c->meta->pool, f->generation, f->n_pools ? names : "none");
                }
        } else {
                size_t n = 0;
                char names[512] = "";
                size_t o = 0;
                for (size_t i = 0; i < f->n_pools; i++)
                        if (pool_has_host(&f->pools[i], host)) {
                                p = &f->pools[i];
                                n++;
                                if (o < sizeof(names))
                                        o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", n > 1 ? ", " : "",
                                                              f->pools[i].pool);
                        }
                if (n == 0)
                        refuse(c, "it names no pool (<hypercall:vm pool=\"...\"/> in its metadata) and this host "
                                  "(%s) is in no pool of the baseline", host);
                if (n > 1)
                        refuse(c, "it names no pool and this host (%s) is in %zu pools (%s): name one with "
                                  "<hypercall:vm pool=\"...\"/> in its metadata", host, n, names);
        }
        c->pool = p->pool;
        c->generation = p->generation;
        if (p->status != HC_POOL_OK)
                refuse(c, "pool \"%s\" is refused in baseline generation %" PRIu64 ": %s", p->pool,
                       f->generation, first_error(p));
        if (!pool_has_host(p, host))
                refuse(c, "this host (%s) is not a member of pool \"%s\"", host, p->pool);
        *ret_file = TAKE_PTR(f);
        return p;
}

static bool same_file(const char *a, const char *b)
{
        struct stat sa, sb;

        return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Whether a colon/space separated LD_PRELOAD list names the shim. */
static bool preload_names_shim(const char *list)
{
        size_t n = strlen(HC_HOOK_SHIM);

        for (const char *p = list; *p;) {
                size_t k = strcspn(p, ": ");
                if (k == n && memcmp(p, HC_HOOK_SHIM, n) == 0)
                        return true;
                p += k;
                p += strspn(p, ": ");
        }
        return false;
}

/* The shim must reach this QEMU: the <emulator> wrapper (default) or <qemu:env> LD_PRELOAD. */
static const char *check_delivery(struct ctx *c)
{
        const char *emulator = c->meta->emulator;
        const char *mode;
        struct stat st;

        if (emulator && same_file(emulator, HC_HOOK_WRAPPER))
                mode = "wrapper";
        else if (c->meta->ld_preload && preload_names_shim(c->meta->ld_preload))
                mode = "qemu-env";
        else if (c->meta->ld_preload)
                refuse(c, "the shim is not delivered: <qemu:env name='LD_PRELOAD'> is \"%s\", which does not "
                          "name %s", c->meta->ld_preload, HC_HOOK_SHIM);
        else
                refuse(c, "the shim is not delivered: the emulator %s is not the hypercall wrapper %s and the "
                          "domain has no <qemu:env name='LD_PRELOAD' value='%s'/>",
                       emulator ? emulator : "(none)", HC_HOOK_WRAPPER, HC_HOOK_SHIM);
        if (stat(HC_HOOK_SHIM, &st) < 0)
                refuse(c, "the shim %s is missing: %s", HC_HOOK_SHIM, strerror(errno));
        if (!S_ISREG(st.st_mode))
                refuse(c, "the shim %s is not a regular file", HC_HOOK_SHIM);
        return mode;
}

static char *marker_path(const char *uuid)
{
        char *p;

        return asprintf(&p, "%s/%s.incoming", HC_HOOK_PLAN_DIR, uuid) < 0 ? NULL : p;
}

/*
 * Creates the plan directory if needed, then refuses one that a user other
 * than root could write into (a symbolic link, world-writable, or under a
 * parent that is): QEMU would take its plan from there.  The shim applies
 * the same rule when it reads (hc_shim_plan_dir_check).
 */
static int ensure_plan_dir(char *why, size_t len)
{
        if (mkdir("/run/hypercall", 0755) < 0 && errno != EEXIST)
                return snprintf(why, len, "cannot create /run/hypercall: %s", strerror(errno)), -EIO;
        if (mkdir(HC_HOOK_PLAN_DIR, 0755) < 0 && errno != EEXIST)
                return snprintf(why, len, "cannot create %s: %s", HC_HOOK_PLAN_DIR, strerror(errno)), -EIO;
        return hc_shim_plan_dir_check(HC_HOOK_PLAN_DIR, why, len);
}

/*
 * A hook killed in the middle of hc_write_file_atomic() leaves its temp file
 * (<uuid>.plan.tmp.XXXXXX, <uuid>.incoming.tmp.XXXXXX): the VM's next hook
 * run removes them.  libvirt holds the domain's lock while a hook runs, so no
 * other write for this VM is in flight.
 */
static void remove_stale_temps(const char *uuid)
{
        _cleanup_close_ int dfd = open(HC_HOOK_PLAN_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        char plan[64], incoming[64];
        struct dirent *de;
        DIR *d;

        if (dfd < 0)
                return;
        snprintf(plan, sizeof(plan), "%s.plan.tmp.", uuid);
        snprintf(incoming, sizeof(incoming), "%s.incoming.tmp.", uuid);
        d = fdopendir(TAKE_FD(dfd));
        if (!d)
                return;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, plan, strlen(plan)) == 0 ||
                    strncmp(de->d_name, incoming, strlen(incoming)) == 0)
                        (void)unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
}

/*
 * Who the plan belongs to: root, and QEMU's group, the GID of the domain's
 * DAC label (libvirt runs QEMU with exactly that GID).  Not QEMU's user: an
 * owner may chmod its file and rewrite it, and hypercalld, root without
 * CAP_DAC_OVERRIDE, reads every plan as its owner.  1 with *ret set, 0 when
 * the XML has no DAC label, or a refusal for a label the hook cannot read (a
 * static label naming a user, say).
 */
static int plan_owner(struct ctx *c, struct hc_owner *ret)
{
        uid_t uid;

        if (!c->meta->dac_label)
                return 0;
        if (hc_dac_label_parse(c->meta->dac_label, &uid, &ret->gid) < 0)
                refuse(c, "cannot tell which user QEMU runs as: the DAC seclabel \"%s\" is not %s",
                       c->meta->dac_label, "\"+UID:+GID\"");
        ret->uid = 0;
        return 1;
}

/* A migrate/restore begin accepted this VM a moment ago: consume its marker. */
static bool take_incoming_marker(const char *uuid)
{
        _cleanup_free_ char *path = marker_path(uuid);
        struct stat st;
        bool fresh;

        if (!path || stat(path, &st) < 0)
                return false;
        fresh = time(NULL) - st.st_mtime <= INCOMING_MARKER_MAX_AGE;
        (void)unlink(path);
        return fresh;
}

static int do_prepare(struct ctx *c)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        const struct hc_baseline_pool *p;
        struct hc_plan plan;
        struct hc_error err = {0};
        struct hc_owner owner;
        char why[HC_SHIM_ERR_MAX];
        const char *mode;
        bool incoming, owned;

        parse_domain(c);
        if (!is_arm64(c)) {
                journal(LOG_INFO, HC_MSGID_VM_PLAN_WRITTEN, c, "not-managed",
                        "VM %s is not an aarch64 domain (%s): no firmware registers, no plan", vm_name(c), c->meta->arch);
                return 0;
        }
        owned = plan_owner(c, &owner) > 0;
        incoming = take_incoming_marker(c->meta->uuid);
        p = choose_pool(c, &f);
        mode = check_delivery(c);
        if (!incoming) {
                if (hc_plan_from_pool(&plan, c->meta->uuid, c->meta->name, p, &err) < 0)
                        refuse(c, "cannot build the plan: %s", hc_error_text(&err));
        } else {
                if (hc_plan_init(&plan, c->meta->uuid, c->meta->name, p->pool, &err) < 0)
                        refuse(c, "cannot build the plan: %s", hc_error_text(&err));
                plan.mode = HC_PLAN_INCOMING;
                /* The values the VM arrives with, as stamped; unstamped, the stream alone decides. */
                plan.generation = c->meta->has_applied ? c->meta->applied_generation : p->generation;
                memcpy(plan.digest, c->meta->has_applied ? c->meta->applied_digest : p->digest, HC_DIGEST_MAX);
                for (size_t i = 0; c->meta->has_applied && i < hc_catalog_count(); i++)
                        if (c->meta->applied[i].present && hc_catalog_get(i)->kind != HC_KIND_WORKAROUND &&
                            hc_plan_set(&plan, hc_catalog_get(i)->name, c->meta->applied[i].value, &err) < 0)
                                refuse(c, "cannot build the plan: %s", hc_error_text(&err));
        }
        if (ensure_plan_dir(why, sizeof(why)) < 0)
                refuse(c, "cannot write the plan: %s", why);
        remove_stale_temps(c->meta->uuid);
        /*
         * libvirt generates a dynamic DAC label after this hook: until the
         * start hook hands it over, the plan is root:root 0440, which nobody
         * else can read.  A static label is already here: QEMU's group's
         * from birth.
         */
        if (hc_plan_save(&plan, HC_HOOK_PLAN_DIR, owned ? &owner : NULL, &err) < 0)
                refuse(c, "cannot write the plan: %s", hc_error_text(&err));
        journal(LOG_INFO, HC_MSGID_VM_PLAN_WRITTEN, c, incoming ? "plan-incoming" : "plan-start",
                "VM %s: plan written for pool %s generation %" PRIu64 " (%s, %zu registers, shim via %s)",
                vm_name(c), p->pool, plan.generation, incoming ? "incoming" : "start", plan.n_regs, mode);
        return 0;
}

/*
 * start begin: libvirt has generated the domain's security labels and is
 * about to exec QEMU (or the wrapper) as the DAC label's user and group.
 * The plan becomes root:GID, mode 0440, with fchmod() and then fchown() of
 * the file prepare wrote (root:root 0440): it goes from root's to QEMU's
 * group's in one step and is never readable by anyone else.  No label means
 * the hook cannot know who QEMU will be: the start is refused rather than
 * the plan left unreadable to QEMU or made readable by all.
 */
static int do_start(struct ctx *c)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        struct hc_owner owner;
        char why[HC_SHIM_ERR_MAX];
        struct stat st;
        int r;

        parse_domain(c);
        if (!is_arm64(c))
                return 0;
        path = hc_plan_path(HC_HOOK_PLAN_DIR, c->meta->uuid);
        if (!path)
                refuse(c, "out of memory");
        /* The rule of every write to the plan directory (ensure_plan_dir). */
        r = hc_shim_plan_dir_check(HC_HOOK_PLAN_DIR, why, sizeof(why));
        if (r == -ENOENT)
                return 0; /* no plan directory, no plan: the wrapper and the shim refuse QEMU */
        if (r < 0)
                refuse(c, "cannot let QEMU read the plan: %s", why);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0 && errno == ENOENT)
                return 0; /* nothing to hand over: the wrapper and the shim refuse QEMU */
        if (fd < 0)
                refuse(c, "cannot let QEMU read the plan: %s: %s", path, strerror(errno));
        if (plan_owner(c, &owner) == 0)
                refuse(c, "cannot tell which user QEMU runs as: no DAC seclabel in the domain XML");
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                refuse(c, "cannot let QEMU read the plan: %s: not a regular file", path);
        /* Mode first: a plan left wider by another writer must not become QEMU's as it is. */
        if (fchmod(fd, HC_PLAN_MODE) < 0 || fchown(fd, owner.uid, owner.gid) < 0)
                refuse(c, "cannot let QEMU read the plan: %s: cannot give it to group %u: %s", path,
                       (unsigned)owner.gid, strerror(errno));
        journal(LOG_INFO, HC_MSGID_VM_PLAN_WRITTEN, c, "plan-readable",
                "VM %s: plan is root:%u 0440, readable by QEMU (DAC label %s)", vm_name(c),
                (unsigned)owner.gid, c->meta->dac_label);
        return 0;
}

/* What an incoming VM brings, against this host's record (kvm-abi.md §8). */
static int do_incoming(struct ctx *c)
{
        _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
        _cleanup_(hc_record_freep) struct hc_record *rec = NULL;
        _cleanup_free_ char *marker = NULL;
        const struct hc_baseline_pool *p;
        struct hc_error err = {0};
        char why[HC_SHIM_ERR_MAX];
        int r;

        parse_domain(c);
        if (!is_arm64(c))
                return 0;
        p = choose_pool(c, &f);
        r = hc_record_load(HC_HOOK_HOST_RECORD, &rec, &err);
        if (r == -ENOENT)
                refuse(c, "no host record at %s: cannot check what the VM brings", HC_HOOK_HOST_RECORD);
        if (r < 0)
                refuse(c, "unusable host record: %s", hc_error_text(&err));
        for (size_t i = 0; i < hc_catalog_count(); i++) {
                const struct hc_register *reg = hc_catalog_get(i);
                const struct hc_reg_state *host = &rec->regs[i];
                char hv[HC_HEX_MAX], vv[HC_HEX_MAX], a[16], b[16];
                bool has = c->meta->has_applied ? c->meta->applied[i].present : p->regs[i].present;
                uint64_t v = c->meta->has_applied ? c->meta->applied[i].value : p->regs[i].value;

                if (!has)
                        continue;
                if (!host->present)
                        refuse(c, "it carries %s, which this host's kernel (%s) lacks", reg->name,
                               rec->kernel ? rec->kernel : "unknown");
                switch (reg->kind) {
                case HC_KIND_BITMAP:
                        if (v & ~host->value)
                                refuse(c, "%s=%s has bits this host lacks (this host offers %s)", reg->name,
                                       hc_hex(v, vv, sizeof(vv)), hc_hex(host->value, hv, sizeof(hv)));
                        break;
                case HC_KIND_PSCI_VERSION:
                        if (v > host->value) {
                                hc_psci_format(v, a, sizeof(a));
                                hc_psci_format(host->value, b, sizeof(b));
                                refuse(c, "PSCI %s is newer than this host's %s", a, b);
                        }
                        break;
                case HC_KIND_WORKAROUND:
                        if (hc_workaround_rank(reg, v) > hc_workaround_rank(reg, host->value))
                                refuse(c, "%s level %" PRIu64 " is above this host's level %" PRIu64
                                          " (this host is less mitigated)", reg->name, v, host->value);
                        break;
                }
        }
        r = ensure_plan_dir(why, sizeof(why));
        if (r >= 0)
                remove_stale_temps(c->meta->uuid);
        marker = marker_path(c->meta->uuid);
        if (r < 0 || !marker || hc_write_file_atomic(marker, c->op, strlen(c->op), 0600, &err) < 0)
                refuse(c, "cannot record the incoming VM in %s: %s", HC_HOOK_PLAN_DIR,
                       r < 0 ? why : hc_error_text(&err));
        journal(LOG_INFO, HC_MSGID_VM_INCOMING_ACCEPTED, c, "incoming-accepted",
                "Incoming VM %s (%s) accepted for pool %s: %s", vm_name(c), c->op, p->pool,
                c->meta->has_applied ? "its stamped values fit this host" : "unstamped; the pool's values fit this host");
        return 0;
}

static int read_pid(const char *dom, pid_t *ret)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        char *end = NULL;
        long v;

        if (asprintf(&path, "%s/%s.pid", HC_LIBVIRT_RUN, dom) < 0)
                return -ENOMEM;
        if (hc_read_file(path, &text, NULL, NULL) < 0)
                return -ENOENT;
        v = strtol(text, &end, 10);
        if (v <= 0 || (end && *end && *end != '\n'))
                return -EINVAL;
        *ret = (pid_t)v;
        return 0;
}

/* 1 mapped, 0 not, -errno when the maps cannot be read. */
static int shim_mapped(pid_t pid)
{
        _cleanup_free_ char *path = NULL;
        char real[PATH_MAX];
        const char *want = realpath(HC_HOOK_SHIM, real) ? real : HC_HOOK_SHIM;
        FILE *f;
        char *line = NULL;
        size_t n = 0;
        int found = 0;

        if (asprintf(&path, "/proc/%d/maps", (int)pid) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (getline(&line, &n, f) > 0) {
                char *s = strchr(line, '/');
                if (s) {
                        s[strcspn(s, "\n")] = '\0';
                        if (strcmp(s, want) == 0 || strcmp(s, HC_HOOK_SHIM) == 0) {
                                found = 1;
                                break;
                        }
                }
        }
        free(line);
        fclose(f);
        return found;
}

static bool plan_exists(const char *uuid)
{
        _cleanup_free_ char *path = hc_plan_path(HC_HOOK_PLAN_DIR, uuid);
        return path && access(path, F_OK) == 0;
}

static int do_started(struct ctx *c)
{
        pid_t pid;
        int r;

        parse_domain(c);
        if (!is_arm64(c) || !plan_exists(c->meta->uuid))
                return 0;
        if (read_pid(c->dom, &pid) < 0)
                return 0; /* nothing to check against; the shim's own checks stand */
        r = shim_mapped(pid);
        if (r == 0) {
                fprintf(stderr,
                        "hypercall: VM %s stopped: the shim %s is not loaded in QEMU (pid %d): ld.so skipped "
                        "LD_PRELOAD (wrong path, unreadable by the QEMU user, an LSM denial, or secure-execution)\n",
                        vm_name(c), HC_HOOK_SHIM, (int)pid);
                journal(LOG_ERR, HC_MSGID_VM_SHIM_MISSING, c, "shim-missing",
                        "VM %s: the shim is not loaded in QEMU pid %d; stopping it", vm_name(c), (int)pid);
                return 1;
        }
        return 0;
}

static int do_cleanup(struct ctx *c)
{
        _cleanup_free_ char *marker = NULL;
        struct hc_error err = {0};

        /* Idempotent, and never refuses: stopped/release also run after a refused start. */
        if (hc_domain_meta_parse(c->xml, c->xml_len, "domain XML", &c->meta, &err) < 0)
                return 0;
        (void)hc_plan_remove(HC_HOOK_PLAN_DIR, c->meta->uuid);
        if (strcmp(c->op, "release") == 0) {
                marker = marker_path(c->meta->uuid);
                if (marker)
                        (void)unlink(marker);
                journal(LOG_INFO, HC_MSGID_VM_PLAN_REMOVED, c, "plan-removed", "VM %s released: plan removed",
                        vm_name(c));
        }
        return 0;
}

static int do_reconnect(struct ctx *c)
{
        struct hc_error err = {0};
        pid_t pid = 0;
        int mapped = -1;

        if (hc_domain_meta_parse(c->xml, c->xml_len, "domain XML", &c->meta, &err) < 0) {
                journal(LOG_WARNING, HC_MSGID_VM_RECONNECTED, c, "reconnect-unreadable",
                        "VM %s reconnected; its XML is unreadable (%s), nothing checked", c->dom, hc_error_text(&err));
                return 0;
        }
        c->pool = c->meta->pool;
        if (read_pid(c->dom, &pid) == 0)
                mapped = shim_mapped(pid);
        journal(mapped == 0 ? LOG_WARNING : LOG_INFO, HC_MSGID_VM_RECONNECTED, c, "reconnected",
                "VM %s reconnected (QEMU pid %d): plan %s, shim %s", vm_name(c), (int)pid,
                plan_exists(c->meta->uuid) ? "present" : "absent",
                mapped > 0 ? "loaded" : mapped == 0 ? "NOT loaded" : "unknown");
        return 0;
}

int main(int argc, char **argv)
{
        static struct ctx c; /* static: the SIGALRM handler reaches it through current */
        int r;

        if (argc < 4) {
                fprintf(stderr, "usage: %s DOMAIN OPERATION SUBOPERATION EXTRA (a libvirt qemu hook)\n", argv[0]);
                return 0;
        }
        c.dom = argv[1];
        c.op = argv[2];
        c.sub = argv[3];
        c.gate = strcmp(c.op, "prepare") == 0 || strcmp(c.op, "start") == 0 ||
                 strcmp(c.op, "migrate") == 0 || strcmp(c.op, "restore") == 0;
        current = &c;
        (void)signal(SIGALRM, on_alarm);
        (void)signal(SIGPIPE, SIG_IGN);
        alarm(HOOK_TIMEOUT_SEC);
        r = read_stdin(&c.xml, &c.xml_len);
        if (r < 0) {
                if (!c.gate)
                        return 0;
                refuse(&c, "cannot read the domain XML on stdin: %s", strerror(-r));
        }
        if (strcmp(c.op, "prepare") == 0 && strcmp(c.sub, "begin") == 0)
                r = do_prepare(&c);
        else if (strcmp(c.op, "start") == 0 && strcmp(c.sub, "begin") == 0)
                r = do_start(&c);
        else if ((strcmp(c.op, "migrate") == 0 || strcmp(c.op, "restore") == 0) && strcmp(c.sub, "begin") == 0)
                r = do_incoming(&c);
        else if (strcmp(c.op, "started") == 0 && strcmp(c.sub, "begin") == 0)
                r = do_started(&c);
        else if (strcmp(c.op, "stopped") == 0 || strcmp(c.op, "release") == 0)
                r = do_cleanup(&c);
        else if (strcmp(c.op, "reconnect") == 0)
                r = do_reconnect(&c);
        else
                r = 0;
        hc_domain_meta_free(c.meta);
        free(c.xml);
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "hcd-libvirt.h"

struct hcd_libvirt {
        char *uri;
        char *shown; /* uri without its password: for every message */
        virConnectPtr conn;
        int lifecycle_cb, metadata_cb;
        int efd;
        atomic_bool lost;
        sd_event_source *efd_source;
        hcd_libvirt_cb cb;
        void *userdata;
};

/* The event thread is process-wide: libvirt has one default event loop. */
static pthread_once_t loop_once = PTHREAD_ONCE_INIT;
static int loop_error;

static void silent_errors(void *userdata, virErrorPtr error)
{
        /* Errors are read with virGetLastErrorMessage() where they matter. */
}

static void *event_thread(void *arg)
{
        for (;;)
                if (virEventRunDefaultImpl() < 0)
                        usleep(100 * 1000);
        return NULL;
}

static void start_loop(void)
{
        pthread_attr_t attr;
        pthread_t t;

        virSetErrorFunc(NULL, silent_errors);
        if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
                loop_error = -EIO;
                return;
        }
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* The thread runs for the life of the process, blocked in poll() when idle. */
        if (pthread_create(&t, &attr, event_thread, NULL) != 0)
                loop_error = -EAGAIN;
        pthread_attr_destroy(&attr);
}

void hcd_domains_free(struct hcd_domain *d, size_t n)
{
        for (size_t i = 0; d && i < n; i++) {
                free(d[i].name);
                hc_domain_meta_free(d[i].meta);
                free(d[i].meta_error);
        }
        free(d);
}

static void wake(struct hcd_libvirt *lv)
{
        uint64_t one = 1;

        (void)!write(lv->efd, &one, sizeof(one));
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
        wake(opaque);
        return 0;
}

static void on_metadata(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque)
{
        wake(opaque);
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
        struct hcd_libvirt *lv = opaque;

        atomic_store(&lv->lost, true);
        wake(lv);
}

static int on_efd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct hcd_libvirt *lv = userdata;
        uint64_t v;
        bool lost;

        (void)!read(fd, &v, sizeof(v));
        lost = atomic_exchange(&lv->lost, false);
        if (lost)
                hcd_libvirt_disconnect(lv);
        lv->cb(lv->userdata, lost);
        return 0;
}

int hcd_libvirt_new(const char *uri, sd_event *event, hcd_libvirt_cb cb, void *userdata,
                    struct hcd_libvirt **ret)
{
        struct hcd_libvirt *lv;
        int r;

        pthread_once(&loop_once, start_loop);
        if (loop_error < 0)
                return loop_error;
        lv = calloc(1, sizeof(*lv));
        if (!lv)
                return -ENOMEM;
        lv->lifecycle_cb = lv->metadata_cb = -1;
        lv->cb = cb;
        lv->userdata = userdata;
        lv->uri = strdup(uri);
        lv->shown = hcd_uri_shown(uri);
        lv->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (!lv->uri || !lv->shown || lv->efd < 0) {
                r = lv->uri && lv->shown ? -errno : -ENOMEM;
                hcd_libvirt_free(lv);
                return r;
        }
        r = sd_event_add_io(event, &lv->efd_source, lv->efd, EPOLLIN, on_efd, lv);
        if (r < 0) {
                hcd_libvirt_free(lv);
                return r;
        }
        *ret = lv;
        return 0;
}

void hcd_libvirt_disconnect(struct hcd_libvirt *lv)
{
        if (!lv->conn)
                return;
        if (lv->lifecycle_cb >= 0)
                (void)virConnectDomainEventDeregisterAny(lv->conn, lv->lifecycle_cb);
        if (lv->metadata_cb >= 0)
                (void)virConnectDomainEventDeregisterAny(lv->conn, lv->metadata_cb);
        (void)virConnectUnregisterCloseCallback(lv->conn, on_close);
        lv->lifecycle_cb = lv->metadata_cb = -1;
        (void)virConnectClose(lv->conn);
        lv->conn = NULL;
}

struct hcd_libvirt *hcd_libvirt_free(struct hcd_libvirt *lv)
{
        if (!lv)
                return NULL;
        hcd_libvirt_disconnect(lv);
        sd_event_source_disable_unref(lv->efd_source);
        if (lv->efd >= 0)
                (void)close(lv->efd);
        free(lv->uri);
        free(lv->shown);
        free(lv);
        return NULL;
}

static char *last_error(const char *what)
{
        const char *m = virGetLastErrorMessage();
        char *s;

        if (asprintf(&s, "%s: %s", what, m && *m ? m : "unknown libvirt error") < 0)
                return NULL;
        return s;
}

int hcd_libvirt_connect(struct hcd_libvirt *lv, char **ret_error)
{
        if (lv->conn)
                return 0;
        atomic_store(&lv->lost, false);
        /* Read-write only for the stamp: hypercall's own metadata of running domains. */
        lv->conn = virConnectOpen(lv->uri);
        if (!lv->conn) {
                *ret_error = last_error(lv->shown);
                return -ECONNREFUSED;
        }
        lv->lifecycle_cb = virConnectDomainEventRegisterAny(
                lv->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
                lv, NULL);
        lv->metadata_cb = virConnectDomainEventRegisterAny(
                lv->conn, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                VIR_DOMAIN_EVENT_CALLBACK(on_metadata), lv, NULL);
        if (lv->lifecycle_cb < 0) {
                *ret_error = last_error("cannot subscribe to domain events");
                hcd_libvirt_disconnect(lv);
                return -EIO;
        }
        (void)virConnectRegisterCloseCallback(lv->conn, on_close, lv, NULL);
        (void)virConnectSetKeepAlive(lv->conn, 5, 3);
        return 0;
}

bool hcd_libvirt_connected(const struct hcd_libvirt *lv)
{
        return lv && lv->conn;
}

const char *hcd_libvirt_uri(const struct hcd_libvirt *lv)
{
        return lv->shown;
}

char *hcd_uri_shown(const char *uri)
{
        const char *auth = strstr(uri, "://"), *end, *at = NULL, *colon;
        char *s;

        if (!auth)
                return strdup(uri);
        auth += 3;
        end = auth + strcspn(auth, "/?#");
        for (const char *p = auth; p < end; p++)
                if (*p == '@')
                        at = p;
        colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (!colon)
                return strdup(uri);
        if (asprintf(&s, "%.*s:***%s", (int)(colon - uri), uri, at) < 0)
                return NULL;
        return s;
}

int hcd_libvirt_stamp(struct hcd_libvirt *lv, const char *uuid, const char *xml, char **ret_error)
{
        virDomainPtr dom;
        int r;

        assert(lv);
        assert(uuid);
        assert(xml);
        if (!lv->conn) {
                *ret_error = strdup("not connected");
                return -ENOTCONN;
        }
        dom = virDomainLookupByUUIDString(lv->conn, uuid);
        if (!dom) {
                *ret_error = last_error("cannot find the domain");
                return -ENOENT;
        }
        r = virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, "hypercall", HC_XMLNS_VM,
                                 VIR_DOMAIN_AFFECT_LIVE);
        if (r < 0)
                *ret_error = last_error("cannot stamp the domain's metadata");
        virDomainFree(dom);
        return r < 0 ? -EIO : 0;
}

int hcd_libvirt_list(struct hcd_libvirt *lv, struct hcd_domain **ret, size_t *ret_n,
                     char **ret_error)
{
        virDomainPtr *doms = NULL;
        struct hcd_domain *out;
        int n;

        if (!lv->conn) {
                *ret_error = strdup("not connected");
                return -ENOTCONN;
        }
        n = virConnectListAllDomains(lv->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
        if (n < 0) {
                *ret_error = last_error("cannot list domains");
                return -EIO;
        }
        out = calloc((size_t)n + 1, sizeof(*out));
        if (!out) {
                for (int i = 0; i < n; i++)
                        virDomainFree(doms[i]);
                free(doms);
                return -ENOMEM;
        }
        for (int i = 0; i < n; i++) {
                const char *name = virDomainGetName(doms[i]);
                char *xml;

                (void)virDomainGetUUIDString(doms[i], out[i].uuid);
                out[i].name = strdup(name ?: "");
                xml = virDomainGetXMLDesc(doms[i], 0);
                if (!xml) {
                        out[i].meta_error = last_error("cannot read the domain XML");
                } else {
                        struct hc_error err = {0};
                        char origin[300];

                        snprintf(origin, sizeof(origin), "domain %s", name ?: out[i].uuid);
                        if (hc_domain_meta_parse(xml, strlen(xml), origin, &out[i].meta, &err) < 0)
                                out[i].meta_error = strdup(hc_error_text(&err));
                        free(xml);
                }
                virDomainFree(doms[i]);
        }
        free(doms);
        *ret = out;
        *ret_n = (size_t)n;
        return 0;
}

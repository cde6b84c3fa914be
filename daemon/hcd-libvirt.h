/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's libvirt connection, for the VM audit (which domains run, and
 * the values hypercall stamped into their metadata) and for the stamp itself,
 * the one thing it writes: hypercall's own metadata element of a running
 * domain (the live definition only).
 * libvirt's default event loop (virEventRegisterDefaultImpl) runs on its own
 * thread; domain lifecycle events and a lost connection are handed to the
 * sd-event loop through an eventfd, so every libvirt call the daemon makes
 * and every state change happens on the main thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "domain-meta.h"

struct hcd_libvirt;

struct hcd_domain {
        char uuid[37];
        char *name;
        struct hc_domain_meta *meta; /* NULL when the XML could not be read */
        char *meta_error;            /* why, then */
};

void hcd_domains_free(struct hcd_domain *d, size_t n);

/* on_event runs on the main loop after domain events (lost: the connection closed). */
typedef void (*hcd_libvirt_cb)(void *userdata, bool lost);

int hcd_libvirt_new(const char *uri, sd_event *event, hcd_libvirt_cb cb, void *userdata,
                    struct hcd_libvirt **ret);
struct hcd_libvirt *hcd_libvirt_free(struct hcd_libvirt *lv);

/* Tries to connect; on failure *ret_error says why in one line. */
int hcd_libvirt_connect(struct hcd_libvirt *lv, char **ret_error);
void hcd_libvirt_disconnect(struct hcd_libvirt *lv);
bool hcd_libvirt_connected(const struct hcd_libvirt *lv);
/* The URI as shown in logs and on the bus: a password is "***" (hcd_uri_shown). */
const char *hcd_libvirt_uri(const struct hcd_libvirt *lv);
/* uri with the password of a user:password@ authority replaced by "***"; NULL on OOM. */
char *hcd_uri_shown(const char *uri);

/*
 * Replaces hypercall's metadata element of the running domain uuid with xml
 * (hc_domain_meta_stamp_xml), live definition only: the stamp describes this
 * run, and a cold start gets the pool's values of its day.
 */
int hcd_libvirt_stamp(struct hcd_libvirt *lv, const char *uuid, const char *xml, char **ret_error);

/* Running (active) domains with their metadata; *ret_error on failure. */
int hcd_libvirt_list(struct hcd_libvirt *lv, struct hcd_domain **ret, size_t *ret_n,
                     char **ret_error);

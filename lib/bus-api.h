/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * hypercalld's D-Bus API names, shared by the daemon, hypercallctl and the
 * libvirt hook.  One versioned name is bus name, object path and interface
 * (like org.freedesktop.hostname1); a breaking change gets ...2 alongside.
 * The API is documented in docs/hypercalld.md.
 */
#define HC_BUS_NAME      "org.hypercall.Hypercall1"
#define HC_BUS_PATH      "/org/hypercall/Hypercall1"
#define HC_BUS_INTERFACE "org.hypercall.Hypercall1"

/* Named errors: never a bare Failed. */
#define HC_BUS_ERROR_NO_SUCH_POOL   HC_BUS_INTERFACE ".NoSuchPool"
#define HC_BUS_ERROR_NO_SUCH_HOST   HC_BUS_INTERFACE ".NoSuchHost"
#define HC_BUS_ERROR_POOL_REFUSED   HC_BUS_INTERFACE ".PoolRefused"
#define HC_BUS_ERROR_NO_BASELINE    HC_BUS_INTERFACE ".NoBaseline"
#define HC_BUS_ERROR_PROBE_FAILED   HC_BUS_INTERFACE ".ProbeFailed"
#define HC_BUS_ERROR_RELOAD_FAILED  HC_BUS_INTERFACE ".ReloadFailed"
#define HC_BUS_ERROR_INVALID_POLICY HC_BUS_INTERFACE ".InvalidPolicy"
#define HC_BUS_ERROR_UNKNOWN_SUBJECT HC_BUS_INTERFACE ".UnknownSubject"

/* Schemas of the JSON documents the daemon returns. */
#define HC_DAEMON_SCHEMA "hypercall.daemon/v1" /* Describe() */
#define HC_AUDIT_SCHEMA  "hypercall.audit/v1"  /* Audit() */

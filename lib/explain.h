/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * `explain`: why a service is hidden or a register has its value in a pool —
 * the policy line that decides it and every host that limits it, with its
 * kernel.  One lib function so the CLI and the daemon say the same thing.
 *
 * hypercall.explain/v1, for a service:
 *   {"schema", "pool", "status", "subject", "kind": "service", "register",
 *    "bit", "gates", "exposed", "why" (when hidden), "summary",
 *    "policy": [{"setting", "value", "origin"}], "limiting": [{"host",
 *    "kernel", "value"}], "errors": [pool error messages]}
 * for a register:
 *   {"schema", "pool", "status", "subject", "kind": "register",
 *    "register_kind", "pushed", "value" (pushed value or null), "floor"
 *    (workarounds: the pool's lowest level or null), "summary", "policy",
 *    "limiting", "errors"}
 * "origin" is "file:line:column" or "default".  "limiting" lists the hosts
 * that hold the value down or lack the register or bit, by name.
 */
#include <json-c/json.h>

#include "baseline.h"
#include "hc-error.h"

#define HC_EXPLAIN_SCHEMA "hypercall.explain/v1"

/* subject: a catalog service or register name; -ENOENT with err naming the choices. */
int hc_explain(const struct hc_pool_result *pool, const char *subject, json_object **ret,
               struct hc_error *err);

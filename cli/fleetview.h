/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by the fleet and check commands: loading the record and policy
 * directories (any bad file is invalid input), and printing the fleet
 * documents as readable text for an operator.
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "baseline.h"
#include "hc-cli.h"
#include "policy.h"
#include "record.h"

/* Where the daemon keeps them (hypercalld.conf(5) defaults). */
#define HC_DEFAULT_RECORDS_DIR  "/var/lib/hypercall/fleet"
#define HC_DEFAULT_POLICIES_DIR "/etc/hypercall/policy.d"

#define HC_OPT_RECORDS_DEFAULT                                                                     \
        {.name = "records", .type = HC_OT_STRING, .arg = "DIR",                                    \
         .help = "directory of host records (*.json; default " HC_DEFAULT_RECORDS_DIR ")"}
#define HC_OPT_POLICIES_DEFAULT                                                                    \
        {.name = "policies", .type = HC_OT_STRING, .arg = "DIR",                                   \
         .help = "directory of pool policies (*.yaml; default " HC_DEFAULT_POLICIES_DIR ")"}

struct hc_fleet_inputs {
        struct hc_record_set records;
        struct hc_policy_set policies;
        int64_t now;
};

void hc_fleet_inputs_done(struct hc_fleet_inputs *in);
/* Loads --records and --policies (or their defaults); HC_EXIT_OK or the exit code to return. */
enum hc_exit hc_fleet_inputs_load(const struct hc_invocation *inv, struct hc_fleet_inputs *in);
struct hc_vcpu_set;
/*
 * The vCPU register sets of hosts[] (distinct) beside --records
 * (DIR/vcpu/HOST.json).  Hosts without one are named in a note on stderr:
 * for them only the firmware registers can be judged.
 */
enum hc_exit hc_fleet_vcpu_load(const struct hc_invocation *inv, const struct hc_record *const *hosts, size_t n_hosts,
                                struct hc_vcpu_set *ret);
/* The baseline of the inputs, one pool when pool is set; an exit code on failure. */
enum hc_exit hc_fleet_compute(const struct hc_fleet_inputs *in, const char *pool,
                              struct hc_baseline **ret);

void hc_print_baseline_table(json_object *doc);
void hc_print_pool_block(json_object *pool, const char *indent);
void hc_print_explain(json_object *doc);
void hc_print_what_if(json_object *doc);
void hc_print_check_host(json_object *doc);
void hc_print_matrix(json_object *doc);
void hc_print_migration(json_object *doc);

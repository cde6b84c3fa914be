/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

/* Prints a hypercall.hosts/v1 document as a table, services by catalog name. */
void hc_print_hosts_table(json_object *doc);

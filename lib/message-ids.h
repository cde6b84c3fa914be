/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Journal MESSAGE_IDs of hypercall: one per event class, generated once with
 * `systemd-id128 new`.  They are API: never reused, never changed.  Each has
 * an entry in systemd/hypercall.catalog (`journalctl -x` explains it), and
 * `journalctl MESSAGE_ID=<id>` finds every occurrence.
 *
 * Fields hypercall adds to its entries: HYPERCALL_POOL, HYPERCALL_HOST,
 * HYPERCALL_VM_UUID, HYPERCALL_VM_NAME, HYPERCALL_REGISTER, HYPERCALL_SERVICE,
 * HYPERCALL_BASELINE_GENERATION, HYPERCALL_BASELINE_DIGEST, HYPERCALL_HOSTS.
 */

/* A pool's pushed values changed; new VMs get the new values. */
#define HC_MID_BASELINE_CHANGED   "c4ef6ebe79bb406a8d4b3365b8594f65"
/* A change lowers what a pool offers (a service hidden, PSCI lowered): narrowed. */
#define HC_MID_LOWERING_PROPOSED  "162bfd7097ce423280319f793dec10b3"
/* This host's record was published to the fleet store. */
#define HC_MID_HOST_PUBLISHED     "fc14399469fe4469b2ec4f9baf539a58"
/* A host's record is unusable (unreadable, misnamed) and its pools are held. */
#define HC_MID_HOST_QUARANTINED   "2b5de8675acc48a9be7199b186f93052"
/* A host has a firmware register the catalog does not know. */
#define HC_MID_UNKNOWN_REGISTER   "c6cf4d6e1e824da69411006ac4fcf433"
/*
 * A refused VM start is logged once, by the hook that refuses it
 * (HC_MSGID_VM_START_REFUSED in hook/hook-ids.h); told through
 * ReportVmRefused(), the daemon emits the VmRefused signal without a second
 * journal entry.  a906e0c2479b49ca969797761726ea06 was drafted here for the
 * same event and is retired: never reuse it.
 */
/* The shim verified a VM's values after setting them. */
#define HC_MID_VALUES_VERIFIED    "8764abd9d7344a659dacfdac1a2ad848"
/* An operator override was used for a VM. */
#define HC_MID_OVERRIDE_USED      "4901a8e5ffa144689c775deb2b4909af"
/* The VM audit found a running VM that no longer matches its pool. */
#define HC_MID_AUDIT_FINDING      "b968207a5d9647a79998aa69fc295daa"
/* A pool's computation failed (refused, bad policy): last-known-good kept. */
#define HC_MID_POOL_REFUSED       "0a18e18359f34e0badd92ce52b4e46e6"
/* This host's fresh probe differs from its published record. */
#define HC_MID_HOST_DRIFT         "f36c6e51c6214ee5a7091b0671fa50ed"
/* hypercalld started, reloaded or could not use a facility (libvirt, probe). */
#define HC_MID_DAEMON_STATE       "447c157dbf21497bb7f185236880eb02"

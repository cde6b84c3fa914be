/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Journal MESSAGE_IDs of the push path.  API: never reused, never changed. */
#define HC_MSGID_VM_PLAN_WRITTEN      "0fa540584ab54697a022ba3e0149b5bb"
#define HC_MSGID_VM_START_REFUSED     "ab618607555e48a589ea0cca3fbac74d"
#define HC_MSGID_VM_INCOMING_ACCEPTED "5e93bebd113740d483aa86395d9937b0"
#define HC_MSGID_VM_INCOMING_REFUSED  "07fc620b77304cafade306a522d3f87a"
#define HC_MSGID_VM_RECONNECTED       "d1c86e2df06f4c07b1cf19a7434d07b2"
#define HC_MSGID_VM_PLAN_REMOVED      "5ac945631fec4ed2b48b80d3b545cb0b"
#define HC_MSGID_VM_SHIM_MISSING      "9c30b94bf547433cbc5f2f0888b4baed"

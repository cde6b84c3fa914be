#!/bin/bash
# The main job on the bundled example fleet: set-up, then what each host of
# examples/fleet offers (records probed on real arm64 kernels in the lab), the
# baseline and the plan every pool of policies/ gets, and why; then the whole
# chain for real (tests/lab/demo.sh): emulated arm64 KVM hosts booting Debian
# kernels are probed, the pools computed, and a guest started through libvirt
# with the hook and the shim, showing what the host offers, what the pool
# allows and what the guest saw.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh >/dev/null
ctl=build/cli/hypercallctl

echo "== What each host of the example fleet offers (hypercallctl show examples/fleet)"
"$ctl" show examples/fleet

echo
echo "== The baseline of each example pool (hypercallctl baseline --records examples/fleet --policies policies)"
rc=0
"$ctl" baseline --records examples/fleet --policies policies || rc=$?
[ "$rc" -le 1 ] || exit "$rc"   # 1: a pool is refused, and the output says why

for pool in $(ls policies | sed -n 's/\.yaml$//p'); do
        echo
        echo "== The plan a new VM of pool $pool gets (hypercallctl plan --pool $pool): the hook writes it, the shim applies it"
        "$ctl" plan --records examples/fleet --policies policies --pool "$pool" || true
done

echo
echo "== Why web hides ptp, and which hosts limit it (hypercallctl explain --pool web ptp)"
"$ctl" explain --records examples/fleet --policies policies --pool web ptp

echo
echo "== Where a VM of pool batch may migrate (hypercallctl matrix --pool batch)"
"$ctl" matrix --records examples/fleet --policies policies --pool batch || true

echo
echo "== The whole chain on real KVM: probe the emulated hosts, compute the pools, start guests through libvirt"
bash tests/lab/demo.sh

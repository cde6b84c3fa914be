#!/bin/bash
# The main job on the bundled example fleet: set-up, then show what each host
# of examples/fleet offers (records probed on real arm64 kernels in the lab).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh >/dev/null
ctl=build/cli/hypercallctl

echo "== What each host of the example fleet offers (hypercallctl show examples/fleet)"
"$ctl" show examples/fleet

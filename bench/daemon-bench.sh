#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# hypercalld at 1k, 10k and 100k hosts in its fleet store: resident memory and
# the time of one recomputation (policies re-read, store refreshed, every pool
# computed, baseline file rebuilt and written).  Reports; asserts nothing.
# Goal (issue 5): RSS <= 32 MiB and one recompute <= 1 s at 100k hosts.
#
#   bench/daemon-bench.sh [BUILD_DIR] [N...]     (defaults: build, 1000 10000 100000)
#
# Records come from bench/gen-records (shared with bench/run-bench.sh, kept in
# $HC_BENCH_DIR, default /tmp/hypercall-bench).  Runs as root or not; starts
# its own private dbus-daemon (tests/daemon/lib.sh) and stops exactly what it started.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
[ $# -gt 0 ] && shift
sizes=${*:-1000 10000 100000}
work=${HC_BENCH_DIR:-/tmp/hypercall-bench}
hcd=$build/daemon/hypercalld
gen=$build/bench/gen-records
for tool in "$hcd" "$gen"; do
        [ -x "$tool" ] || { echo "missing $tool: build first (cmake --build --preset default)" >&2; exit 2; }
done
command -v dbus-daemon >/dev/null && command -v busctl >/dev/null && command -v jq >/dev/null ||
        { echo "needs dbus-daemon, busctl and jq" >&2; exit 2; }

mkdir -p "$work"
# shellcheck source=bench/records.sh
. "$src/bench/records.sh"
# The daemon tests' private system-like bus, temporary directory $T and cleanup of exactly
# the processes started (PIDS); on a failure it shows the tail of $T/daemon.log.
export SRC=$src # lib.sh installs the bus policy file from $SRC/systemd
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=tests/daemon/lib.sh
. "$src/tests/daemon/lib.sh"
start_bus

describe() { busctl --system --json=short call org.hypercall.Hypercall1 /org/hypercall/Hypercall1 org.hypercall.Hypercall1 Describe | jq -r '.data[0]'; }
kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$2/status"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

printf '%-8s %10s %14s %14s %12s %10s %10s %10s\n' hosts "start ms" "1st recompute" "recompute ms" "rescan ms" "RSS MiB" "peak MiB" "file KiB"
for n in $sizes; do
        records_dir "$n"
        rm -rf "$T/state" "$T/policy" "$T/plans"
        mkdir -p "$T/state" "$T/policy" "$T/plans"
        cp "$src"/bench/policies/*.yaml "$T/policy/"
        printf '[Daemon]\nSettleSec=10ms\nRescanIntervalSec=1h\nProbeIntervalSec=0\n' >"$T/conf"
        find "$dir" -name "*.json" -print0 | xargs -0 cat >/dev/null # warm page cache, as on a running host
        t0=$(now_ms)
        "$hcd" --config "$T/conf" --log-target=console --log-level=warning --state-dir "$T/state" \
                --policy-dir "$T/policy" --store "$dir" --plan-dir "$T/plans" --no-probe --host bench \
                --libvirt-uri "" 2>"$T/daemon.log" &
        pid=$!
        PIDS+=("$pid")
        until busctl --system status org.hypercall.Hypercall1 >/dev/null 2>&1; do
                kill -0 "$pid" || { cat "$T/daemon.log"; exit 1; }
                sleep 0.02
        done
        t1=$(now_ms)
        first=$(describe | jq '.recompute.last_usec')
        # Three recomputations that change the web pool (ptp denied, then allowed, ...).
        times=()
        for i in 1 2 3; do
                count=$(describe | jq '.recompute.count')
                if grep -q 'ptp: deny' "$T/policy/web.yaml"; then
                        sed 's/ptp: deny/ptp: auto/' "$T/policy/web.yaml" >"$T/w"
                else
                        sed 's/ptp: auto/ptp: deny/' "$T/policy/web.yaml" >"$T/w"
                fi
                mv "$T/w" "$T/policy/web.yaml"
                while [ "$(describe | jq '.recompute.count')" = "$count" ]; do sleep 0.05; done
                times+=("$(describe | jq '.recompute.last_usec')")
        done
        median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
        # Reload(): a full rescan of the store (every file stat'ed, none changed) and a recompute.
        r0=$(now_ms)
        busctl --system call org.hypercall.Hypercall1 /org/hypercall/Hypercall1 org.hypercall.Hypercall1 Reload b false
        r1=$(now_ms)
        rss=$(kib VmRSS "$pid")
        hwm=$(kib VmHWM "$pid")
        size=$(stat -c %s "$T/state/baseline.json")
        awk -v n="$n" -v s="$((t1 - t0))" -v f="$first" -v m="$median" -v q="$((r1 - r0))" -v r="$rss" -v h="$hwm" -v z="$size" 'BEGIN {
                printf "%-8d %10d %14.1f %14.1f %12d %10.1f %10.1f %10.1f\n", n, s, f / 1000, m / 1000, q, r / 1024, h / 1024, z / 1024
        }'
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null || true
done
echo "start: exec to bus name owned (reads every record once); 1st recompute: the one at start;"
echo "recompute: median of 3 after a policy edit (watch-driven store refresh, all pools, file rewrite);"
echo "rescan: Reload() wall time (config, full store rescan, recompute); RSS after all of these; peak: VmHWM."

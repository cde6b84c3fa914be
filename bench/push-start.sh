#!/bin/bash
# virsh start -> running for the tiny TCG aarch64 guest, RUNS (default 30) times each
# without and with hypercall's hook + shim (wrapper delivery), interleaved in one run
# so background load hits both alike.  Uses the libvirt tier's lab (its own
# namespace; stopped at the end).  Goal (issue 6): <= 5 ms added (median).  A third
# series with a no-op hook separates libvirt's own cost of running hooks from ours.
# Usage, as root: bench/push-start.sh [BUILD_DIR]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
RUNS=${RUNS:-30}
export SRC=$ROOT BUILD LAB=/tmp/hypercall-bench-push-start
SHIM_PATH=$(sed -n 's/^HC_SHIM_PATH:INTERNAL=//p' "$BUILD/CMakeCache.txt")
WRAPPER_PATH=$(sed -n 's/^HC_WRAPPER_PATH:INTERNAL=//p' "$BUILD/CMakeCache.txt")
# The bench measures release builds: no sanitizer runtimes in QEMU (tests/libvirt/lab.sh).
SANITIZER_PRELOAD='' SANITIZER_OPTIONS_FILE=''
export SHIM_PATH WRAPPER_PATH SANITIZER_PRELOAD SANITIZER_OPTIONS_FILE
# shellcheck source=../tests/libvirt/lab.sh
. "$ROOT/tests/libvirt/lab.sh"
trap lab_stop EXIT
lab_start >/dev/null
define bench-plain web none
define bench-push web wrapper
hook=$LAB/etc/hooks/qemu.d/hypercall
ms() { echo $(( ($2 - $1) / 1000000 )); }
one() { # DOMAIN -> ms
        local t0 t1
        t0=$(date +%s%N)
        V start "$1" >/dev/null || { echo "start $1 failed" >&2; exit 1; }
        t1=$(date +%s%N)
        [ "$(V domstate "$1")" = running ] || { echo "$1 not running" >&2; exit 1; }
        V destroy "$1" >/dev/null
        ms "$t0" "$t1"
}
# Warm-up: the capability probe and page cache, once each.
mv "$hook" "$LAB/hook.off"; one bench-plain >/dev/null; mv "$LAB/hook.off" "$hook"; one bench-push >/dev/null
# A hook that does nothing: what libvirt itself spends running any hook (fork, exec,
# the domain XML on stdin) at each phase, so the rest is hypercall's own cost.
cp /bin/true "$LAB/hook.noop"
plain=() noop=() push=()
for _ in $(seq "$RUNS"); do
        mv "$hook" "$LAB/hook.off"         # no hook at all (libvirt re-scans qemu.d per call)
        plain+=("$(one bench-plain)")
        cp "$LAB/hook.noop" "$hook"
        noop+=("$(one bench-plain)")
        mv "$LAB/hook.off" "$hook"
        push+=("$(one bench-push)")
done
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{printf "%d | %d | %d | %d", a[1], (NR%2?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2), a[int(NR*0.9+0.5)], a[NR]}'; }
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print (NR%2?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2)}'; }
echo "| virsh start -> running, $RUNS runs each, interleaved | min ms | median ms | p90 ms | max ms |"
echo "|---|---|---|---|---|"
echo "| no hook, plain emulator | $(stats "${plain[@]}") |"
echo "| no-op hook (/bin/true), plain emulator | $(stats "${noop[@]}") |"
echo "| hook + wrapper + shim | $(stats "${push[@]}") |"
mp=$(med "${plain[@]}") mn=$(med "${noop[@]}") mh=$(med "${push[@]}")
awk -v a="$mp" -v n="$mn" -v b="$mh" 'BEGIN{printf "median delta %+d ms (ratio %.3f); of it libvirt running any hook %+d ms, hypercall itself %+d ms\n", b-a, b/a, n-a, b-n}'

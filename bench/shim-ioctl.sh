#!/bin/bash
# Shim ioctl overhead: ns per non-KVM ioctl with and without libhypercall-shim.so,
# ROUNDS interleaved pairs (default 15) of N calls each (default 2,000,000), medians.
# Goal (issue 6): <= 1 % added.  Usage: bench/shim-ioctl.sh [BUILD_DIR]
set -euo pipefail
BUILD=${1:-$(cd "$(dirname "$0")/.." && pwd)/build}
BIN=$BUILD/bench/hc-bench-shim-ioctl
SHIM=$BUILD/hook/libhypercall-shim.so
ROUNDS=${ROUNDS:-15} N=${N:-2000000}
[ -x "$BIN" ] && [ -f "$SHIM" ] || { echo "build first: cmake --build --preset default" >&2; exit 1; }
plain=() shim=()
for _ in $(seq "$ROUNDS"); do
        plain+=("$("$BIN" "$N")")
        shim+=("$(LD_PRELOAD=$SHIM "$BIN" "$N")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
minimum() { printf '%s\n' "$@" | sort -g | head -1; }
mp=$(median "${plain[@]}") ms=$(median "${shim[@]}")
lp=$(minimum "${plain[@]}") ls=$(minimum "${shim[@]}")
echo "| non-KVM ioctl (TCGETS on /dev/null), $ROUNDS x $N calls | min ns/call | median ns/call |"
echo "|---|---|---|"
echo "| no shim | $lp | $mp |"
echo "| LD_PRELOAD shim (passive process) | $ls | $ms |"
awk -v a="$mp" -v b="$ms" -v c="$lp" -v d="$ls" 'BEGIN{printf "overhead: median %+.2f ns (%+.2f %%), min %+.2f ns (%+.2f %%)\n", b-a, (b-a)/a*100, d-c, (d-c)/c*100}'

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Times `hypercallctl baseline --json` over generated fleets of 1k, 10k and
# 100k host records against `cat` of the same files, in the same run, and
# prints the ratio (goal: <= 2x cat, growing linearly).  Nothing here asserts
# a time: it reports.
#
#   bench/run-bench.sh [BUILD_DIR] [N...]        (defaults: build, 1000 10000 100000)
#
# Records are generated once into $HC_BENCH_DIR (default /tmp/hypercall-bench)
# and reused.  Each command runs once to warm the page cache, then REPEAT
# times (default 3); the median is reported.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
[ $# -gt 0 ] && shift
sizes=${*:-1000 10000 100000}
work=${HC_BENCH_DIR:-/tmp/hypercall-bench}
repeat=${REPEAT:-3}
ctl=$build/cli/hypercallctl
gen=$build/bench/gen-records

for tool in "$ctl" "$gen"; do
        [ -x "$tool" ] || { echo "missing $tool: build first (cmake --build --preset default)" >&2; exit 2; }
done
mkdir -p "$work"
# shellcheck source=bench/records.sh
. "$src/bench/records.sh"

now_ns() { date +%s%N; }

# Median wall time in milliseconds of running "$@" REPEAT times (after one warm-up run).
time_ms() {
        "$@" >/dev/null 2>&1 || true
        i=0
        while [ $i -lt "$repeat" ]; do
                t0=$(now_ns)
                "$@" >/dev/null 2>&1 || true
                t1=$(now_ns)
                echo $(( (t1 - t0) / 1000000 ))
                i=$((i + 1))
        done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

cat_all() { find "$1" -maxdepth 1 -name '*.json' -print0 | xargs -0 cat; }
baseline() { "$ctl" baseline --records "$1" --policies "$src/bench/policies" --json; }

printf '%-8s %10s %12s %8s %12s\n' records "cat ms" "baseline ms" ratio "us/record"
for n in $sizes; do
        records_dir "$n"
        c=$(time_ms cat_all "$dir")
        b=$(time_ms baseline "$dir")
        awk -v n="$n" -v c="$c" -v b="$b" 'BEGIN {
                printf "%-8d %10d %12d %8.2f %12.1f\n", n, c, b, (c > 0 ? b / c : 0), b * 1000 / n
        }'
done

#!/bin/bash
# Runs every libFuzzer target for SECONDS (default 20) from its seed corpus.
# New inputs go to a scratch directory, never into the repository's corpora.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=${1:-20}
cd "$ROOT"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for bin in build-fuzz/tests/fuzz/*_fuzzer; do
        name=$(basename "$bin" _fuzzer)
        mkdir -p "$work/$name"
        dict=tests/fuzz/$name.dict
        "$bin" ${dict:+$( [ -f "$dict" ] && echo "-dict=$dict")} -max_total_time="$SECONDS_EACH" \
                -print_final_stats=1 "$work/$name" "tests/fuzz/corpora/$name" 2>"$work/$name.log" ||
                { tail -40 "$work/$name.log"; echo "fuzz: $name FAILED"; exit 1; }
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
        echo "fuzz: $name: $execs executions in ${SECONDS_EACH}s, no crash"
done

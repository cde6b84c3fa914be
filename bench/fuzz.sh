#!/bin/bash
# The long fuzz run: every libFuzzer target (tests/fuzz/*_fuzzer.c) for RUNS
# executions (default 10 million), one after the other, from its seed corpus
# with its dictionary.  Reports, per target, executions, wall time, coverage
# (libFuzzer's cov: edges and ft: features at the end of the run), the corpus
# it grew to and crashes; the table goes to stdout and to OUT (a file,
# default bench/fuzz-results.md under the build directory).  Like every bench,
# it asserts nothing, but its exit status is 1 when any target crashed, so a
# crash is never missed.  A crash leaves its input under ARTIFACTS/<target>/:
# copy it to tests/fuzz/corpora/<target>/ as a regression input with the fix.
#
#   bench/fuzz.sh [RUNS] [TARGET...]       e.g. bench/fuzz.sh 100000 plan record
#
# New corpus inputs go to a scratch directory, never into the repository.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-10000000}
shift || true
cd "$ROOT"
cmake --preset fuzz >/dev/null || exit 2
cmake --build --preset fuzz -j"$(nproc)" >/dev/null || exit 2
OUT=${OUT:-$ROOT/build-fuzz/bench/fuzz-results.md}
ARTIFACTS=${ARTIFACTS:-$ROOT/build-fuzz/bench/fuzz-artifacts}
work=$(mktemp -d /tmp/hc-fuzz-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$OUT")" "$ARTIFACTS"

if [ $# -gt 0 ]; then
        targets=("$@")
else
        targets=()
        for bin in build-fuzz/tests/fuzz/*_fuzzer; do targets+=("$(basename "$bin" _fuzzer)"); done
fi

{
        echo "| target | executions | seconds | exec/s | cov | ft | corpus (seed -> end) | crashes |"
        echo "|---|---:|---:|---:|---:|---:|---|---:|"
} >"$OUT"
cat "$OUT"
failed=0
for name in "${targets[@]}"; do
        bin=build-fuzz/tests/fuzz/${name}_fuzzer
        [ -x "$bin" ] || { echo "fuzz bench: no target $name" >&2; exit 2; }
        mkdir -p "$work/$name" "$ARTIFACTS/$name"
        dict=()
        [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
        seeds=$(find "tests/fuzz/corpora/$name" -type f | wc -l)
        start=$(date +%s)
        # -timeout: an input that runs 25 s is a hang, reported as a crash.
        "$bin" "${dict[@]}" -runs="$RUNS" -timeout=25 -print_final_stats=1 \
                -artifact_prefix="$ARTIFACTS/$name/" "$work/$name" "tests/fuzz/corpora/$name" \
                >"$work/$name.log" 2>&1
        rc=$?
        secs=$(( $(date +%s) - start ))
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log" | tail -1)
        last=$(grep -E '^#[0-9]+' "$work/$name.log" | tail -1)
        cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
        ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
        corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
        crashes=$(find "$ARTIFACTS/$name" -type f | wc -l)
        if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
                crashes="rc=$rc"
        fi
        [ "$rc" -ne 0 ] && { failed=1; cp "$work/$name.log" "$ARTIFACTS/$name.log"; }
        rate=$(( secs > 0 ? ${execs:-0} / secs : 0 ))
        echo "| $name | ${execs:-?} | $secs | $rate | ${cov:-?} | ${ft:-?} | $seeds -> ${corp:-?} | $crashes |" | tee -a "$OUT"
done
echo "fuzz bench: table in $OUT"
exit "$failed"

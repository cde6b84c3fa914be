#!/bin/bash
# clang-tidy (config: .clang-tidy) and cppcheck over every C file the default
# build compiles (lib, cli, daemon, hook, bench and the tests' own C); any
# finding fails.  Needs build/compile_commands.json.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
[ -f build/compile_commands.json ] || { echo "static-analysis: run cmake --preset default first"; exit 1; }
mapfile -t files < <(python3 -c '
import json, sys
for e in json.load(open("build/compile_commands.json")):
    f = e["file"]
    if "/build" not in f:
        print(f)' | sort -u)
echo "static-analysis: clang-tidy on ${#files[@]} files"
run-clang-tidy -quiet -p build -j "$(nproc)" "${files[@]}" >/tmp/hc-clang-tidy.log 2>&1 ||
        { grep -E "warning:|error:" -A3 /tmp/hc-clang-tidy.log | head -60; echo "static-analysis: clang-tidy FAILED"; exit 1; }
echo "static-analysis: cppcheck"
cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
        --inline-suppr --suppress=missingIncludeSystem --std=c11 \
        -I lib -I cli -I hook -I tests/unit "${files[@]}"
echo "static-analysis: clean"

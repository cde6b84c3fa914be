#!/bin/bash
# The whole test suite: set-up, static analysis, then every tier through ctest
# (unit, CLI, fuzz corpus replays, daemon, hook faults, libvirt, the CLI/daemon/
# hook tests again under valgrind, the arm64 lab on real kernels), then a short
# libFuzzer run of every target, then everything but the valgrind and lab tiers
# again under ASan + UBSan (valgrind cannot run ASan binaries), the libvirt tier
# with the instrumented shim in the distribution's QEMU behind the sanitizer
# runtimes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh

echo "== static analysis: clang-tidy (.clang-tidy) and cppcheck over the whole tree"
bash scripts/static-analysis.sh

echo "== ctest (default build): unit, cli, fuzz replays, daemon, hook, libvirt, valgrind tiers"
ctest --preset default -j2

echo "== ctest: the arm64 lab tier (real Debian kernels as emulated KVM hosts)"
ctest --preset lab

echo "== libFuzzer: a short run of every target"
bash scripts/fuzz.sh "${HC_FUZZ_SECONDS:-20}"

echo "== ctest under ASan + UBSan (unit, cli, fuzz replays, daemon, hook, libvirt tiers)"
cmake --preset asan >/dev/null
cmake --build --preset asan -j"$(nproc)"
ctest --preset asan -j2

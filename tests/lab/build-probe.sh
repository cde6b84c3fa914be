#!/bin/bash
# build-probe.sh: cross-build the static arm64 hypercallctl that the lab boots.
#
# Uses the `aarch64` preset (cmake/aarch64-linux-gnu.cmake, HC_PROBE_ONLY, HC_STATIC),
# so the binary in the initramfs is built exactly like a release build, from this
# working tree.  Output: build-aarch64/cli/hypercallctl.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$REPO/build-aarch64/cli/hypercallctl

log() { printf 'build-probe: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The toolchain file finds json-c/libyaml in the sysroot fetch.sh unpacked.
: "${HC_ARM64_SYSROOT:=${HC_LAB_CACHE:-/var/cache/hypercall-lab}/sysroot}"
export HC_ARM64_SYSROOT

build() {
        cd "$REPO"
        cmake --preset aarch64 >/dev/null
        cmake --build --preset aarch64 --target hypercallctl -- -j"$(nproc)" >&2
}

# PID 1 of the emulated host has no loader and no libraries: anything but a
# static aarch64 executable would fail only at boot, so fail here instead.
check_static_arm64() {
        local desc
        desc=$(file -b "$OUT")
        [[ $desc == *"ARM aarch64"* ]] || die "$OUT is not aarch64: $desc"
        [[ $desc == *"statically linked"* ]] || die "$OUT is not static: $desc"
        log "$OUT: $desc"
}

build
[[ -x $OUT ]] || die "$OUT was not built"
check_static_arm64

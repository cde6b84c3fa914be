#!/bin/bash
# build-initramfs.sh: pack the emulated host's whole userland into one initramfs.
#
#   /bin/busybox        busybox-static (arm64) from fetch.sh, applets linked at boot
#   /bin/hypercallctl   the static probe from build-probe.sh (HC_LAB_PROBE= overrides)
#   /init               lab-init.sh: probe once, print the record, power off
#
# Output: $HC_LAB_WORK/initrd.cpio.gz (default build-aarch64/lab/).  One initramfs
# serves every kernel: nothing in it is kernel-specific, and the kernels need no
# modules for /dev/kvm (fetch.sh checks CONFIG_KVM=y).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${HC_LAB_CACHE:-/var/cache/hypercall-lab}
WORK=${HC_LAB_WORK:-$REPO/build-aarch64/lab}
PROBE=${HC_LAB_PROBE:-$REPO/build-aarch64/cli/hypercallctl}
OUT=$WORK/initrd.cpio.gz
# shellcheck source=lib.sh
. "$HERE/lib.sh"

log() { printf 'build-initramfs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

require_static_arm64() {
        local desc
        [[ -f $1 ]] || die "$1 missing (run fetch.sh / build-probe.sh)"
        desc=$(file -bL "$1")
        [[ $desc == *"ARM aarch64"* && $desc == *"statically linked"* ]] ||
                die "$1 is not a static aarch64 executable: $desc"
}

populate() {
        local root=$1
        mkdir -p "$root"/{bin,dev,proc,sys,tmp}
        install -m 0755 "$CACHE/busybox/busybox" "$root/bin/busybox"
        install -m 0755 "$PROBE" "$root/bin/hypercallctl"
        install -m 0755 "$HERE/lab-init.sh" "$root/init"
}

pack() { lab_pack "$1" "$OUT"; }

main() {
        require_static_arm64 "$CACHE/busybox/busybox"
        require_static_arm64 "$PROBE"
        mkdir -p "$WORK"
        ROOTFS=$(mktemp -d "$WORK/.rootfs.XXXXXX")
        trap 'rm -rf "$ROOTFS"' EXIT
        populate "$ROOTFS"
        pack "$ROOTFS"
        log "$OUT ($(du -h "$OUT" | cut -f1), probe $PROBE)"
}

main "$@"

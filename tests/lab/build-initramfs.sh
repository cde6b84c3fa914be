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

# One newc entry (header, NUL-terminated name, padding to 4 bytes) for a node
# without data.  Used for /dev/console: the kernel opens it for PID 1's stdio before
# /init can mount devtmpfs, and cpio can only archive a device node that exists,
# which would need root and mknod.  The kernel accepts concatenated archives.
newc_node() { # name mode(octal) rdev-major rdev-minor
        local name=$1 mode=$(($2)) namesize=$((${#1} + 1)) pad
        printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
                1 "$mode" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
        printf '%s\0' "$name"
        pad=$(((4 - (110 + namesize) % 4) % 4))
        head -c "$pad" /dev/zero
}

newc_trailer() { newc_node 'TRAILER!!!' 0 0 0; }

pack() {
        local root=$1
        {
                (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
                        cpio --quiet -o -H newc -R 0:0 --reproducible)
                newc_node dev/console 020600 5 1
                newc_trailer
        } | gzip -6n >"$OUT.tmp"
        mv "$OUT.tmp" "$OUT"
}

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

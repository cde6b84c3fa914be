#!/bin/bash
# build-userland.sh: what the nested tier runs inside the emulated arm64 hosts.
#
#   build-aarch64-push/         the push path cross-built for arm64 (shim, <emulator>
#                               wrapper, libvirt hook), dynamically linked against
#                               Debian bookworm's arm64 libraries (fetch.sh sysroot)
#   $WORK/push-root/            `cmake --install` of it with DESTDIR, prefix /usr:
#                               exactly the files docs/push-path-design.md installs
#   $WORK/guest/*.elf           the bare-metal L2 guest (guest/hc-l2-guest.c), three builds:
#                               hc-l2-guest.elf (resets twice), -park.elf (migration),
#                               -stay.elf (stays up under libvirt)
#   $WORK/guest/kvm-reg-log.so  lab instrumentation: register lists and refused KVM_SET_ONE_REGs on stderr
#   $WORK/initrd-nested.cpio.gz busybox, the static hypercallctl, Debian's arm64
#                               qemu-system-aarch64 7.2 and its shared-library closure, the
#                               shim, the guests, l1-init.sh as /init, l1-lib.sh
#   $WORK/initrd-libvirt.cpio.gz  the whole unpacked bookworm userland (QEMU + libvirt 9.0,
#                               docs, locales and the 32-bit QEMU left out), the same lab
#                               files, and push-root under /opt/hypercall-install for the
#                               L1 test to install the way an operator does
#
# Needs fetch.sh (cache) and build-probe.sh (static hypercallctl) first.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${HC_LAB_CACHE:-/var/cache/hypercall-lab}
WORK=${HC_LAB_WORK:-$REPO/build-aarch64/lab}
PUSH_BUILD=${HC_LAB_PUSH_BUILD:-$REPO/build-aarch64-push}
PROBE=${HC_LAB_PROBE:-$REPO/build-aarch64/cli/hypercallctl}
USERLAND=$CACHE/userland/root
# shellcheck source=lib.sh
. "$HERE/lib.sh"

log() { printf 'build-userland: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

: "${HC_ARM64_SYSROOT:=$CACHE/sysroot}"
export HC_ARM64_SYSROOT

# The same sources and flags as a release build; only the link is dynamic (HC_STATIC
# off) and only lib/, cli/ and hook/ are built (HC_PROBE_ONLY + HC_LAB_PUSH).  The
# prefix is /usr because the hook and the wrapper compile their install paths in.
build_push() {
        cmake -S "$REPO" -B "$PUSH_BUILD" -DCMAKE_TOOLCHAIN_FILE="$REPO/cmake/aarch64-linux-gnu.cmake" \
                -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DHC_PROBE_ONLY=ON \
                -DHC_LAB_PUSH=ON -DHC_STATIC=OFF -DHC_BUILD_TESTS=OFF -DHC_BUILD_BENCH=OFF >/dev/null
        cmake --build "$PUSH_BUILD" -j"$(nproc)" --target hypercall-shim hypercall-qemu hypercall-hook hypercallctl >&2
        rm -rf "$WORK/push-root"
        DESTDIR=$WORK/push-root cmake --install "$PUSH_BUILD" >/dev/null
        # hypercallctl comes statically linked from build-probe.sh; this one would need json-c
        rm -f "$WORK/push-root/usr/bin/hypercallctl"
        local f
        for f in usr/lib/hypercall/libhypercall-shim.so usr/libexec/hypercall/qemu-system-aarch64 \
                etc/libvirt/hooks/qemu.d/hypercall; do
                [[ -f $WORK/push-root/$f ]] || die "cmake --install did not produce /$f"
        done
        # Links against bookworm's glibc only where Debian's QEMU will load it.
        aarch64-linux-gnu-readelf -d "$WORK/push-root/usr/lib/hypercall/libhypercall-shim.so" |
                grep NEEDED | grep -v 'libc\.so\.6' && die "the shim needs more than libc"
        log "push path: $(cd "$WORK/push-root" && find . -type f | sed 's/^\.//' | tr '\n' ' ')"
}

build_guests() {
        # shellcheck disable=SC2054 # the commas belong to -Wl, options
        local flags=(-std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes
                -ffreestanding -nostdlib -static -no-pie -mgeneral-regs-only -mstrict-align
                -Wl,--build-id=none -Wl,--no-warn-rwx-segments -T "$HERE/guest/hc-l2-guest.ld")
        mkdir -p "$WORK/guest"
        aarch64-linux-gnu-gcc "${flags[@]}" -o "$WORK/guest/hc-l2-guest.elf" "$HERE/guest/hc-l2-guest.c"
        aarch64-linux-gnu-gcc "${flags[@]}" -DHC_GUEST_PARK=4 -o "$WORK/guest/hc-l2-guest-park.elf" \
                "$HERE/guest/hc-l2-guest.c"
        aarch64-linux-gnu-gcc "${flags[@]}" -DHC_GUEST_STAY -o "$WORK/guest/hc-l2-guest-stay.elf" \
                "$HERE/guest/hc-l2-guest.c"
        aarch64-linux-gnu-gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -fPIC -shared \
                -fvisibility=hidden -Wl,--no-undefined -o "$WORK/guest/kvm-reg-log.so" \
                "$HERE/guest/kvm-reg-log.c" -ldl
}

# What both initramfs images carry besides their userland.
lab_files() { # root
        local root=$1
        mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,lab/guest}
        install -m 0755 "$CACHE/busybox/busybox" "$root/bin/busybox"
        install -m 0755 "$PROBE" "$root/bin/hypercallctl"
        install -m 0755 "$HERE/l1-init.sh" "$root/init"
        install -m 0644 "$HERE/l1-lib.sh" "$HERE/l1-libvirt.sh" "$root/lab/"
        install -m 0644 "$WORK"/guest/*.elf "$root/lab/guest/"
        install -m 0644 "$WORK/guest/kvm-reg-log.so" "$root/lab/"
}

nested_initrd() {
        local root lib
        root=$(mktemp -d "$WORK/.nested-root.XXXXXX")
        mkdir -p "$root/usr/bin" "$root/usr/lib/hypercall"
        cp "$USERLAND/usr/bin/qemu-system-aarch64" "$root/usr/bin/"
        while read -r lib; do
                mkdir -p "$root/$(dirname "$lib")"
                cp -L "$USERLAND/$lib" "$root/$lib"
        done < <(lab_closure "$USERLAND" "$USERLAND/usr/bin/qemu-system-aarch64")
        install -m 0644 "$WORK/push-root/usr/lib/hypercall/libhypercall-shim.so" "$root/usr/lib/hypercall/"
        lab_files "$root"
        LAB_GZIP_LEVEL=1 lab_pack "$root" "$WORK/initrd-nested.cpio.gz"
        rm -rf "$root"
        log "$WORK/initrd-nested.cpio.gz ($(du -h "$WORK/initrd-nested.cpio.gz" | cut -f1))"
}

libvirt_initrd() {
        local root
        root=$(mktemp -d "$WORK/.libvirt-root.XXXXXX")
        cp -a "$USERLAND/." "$root/"
        rm -rf "$root"/usr/share/{doc,man,locale,info,lintian,bash-completion,zsh,iso-codes} \
                "$root"/usr/lib/aarch64-linux-gnu/gconv "$root"/usr/bin/qemu-system-arm \
                "$root"/usr/bin/qemu-storage-daemon
        mkdir -p "$root/opt"
        cp -a "$WORK/push-root" "$root/opt/hypercall-install"
        lab_files "$root"
        LAB_GZIP_LEVEL=1 lab_pack "$root" "$WORK/initrd-libvirt.cpio.gz"
        rm -rf "$root"
        log "$WORK/initrd-libvirt.cpio.gz ($(du -h "$WORK/initrd-libvirt.cpio.gz" | cut -f1))"
}

main() {
        [[ -d $USERLAND/usr/bin ]] || die "no userland in $USERLAND (run fetch.sh)"
        [[ -x $PROBE ]] || die "no static hypercallctl at $PROBE (run build-probe.sh)"
        mkdir -p "$WORK"
        build_push
        build_guests
        case ${1:-all} in
        nested) nested_initrd ;;
        libvirt) libvirt_initrd ;;
        all) nested_initrd; libvirt_initrd ;;
        *) die "usage: build-userland.sh [nested|libvirt|all]" ;;
        esac
}

main "$@"

#!/bin/bash
# fetch.sh: download what the arm64 lab tier boots and links against.
#
#   kernels/<version>/{vmlinuz,config}   newest Debian arm64 5.10, 6.1, 6.12 and 7.x kernels
#   kernels/<series>  -> <version>       stable names for the tier (5.10, 6.1, 6.12, 7)
#   busybox/busybox                      busybox-static (bookworm) for the initramfs
#   sysroot/                             arm64 json-c, libyaml and libsystemd -dev trees for the
#                                        cross builds (static probe; dynamic hook, shim, wrapper)
#   userland/root/                       Debian bookworm arm64 qemu-system-arm + libvirt and their
#                                        whole dependency closure, unpacked: the emulated hosts'
#                                        own QEMU 7.2 and libvirtd 9.0 (build-userland.sh)
#
# Everything lands in $HC_LAB_CACHE (default /var/cache/hypercall-lab), never in the
# repository, and a second run touches the network only for what is missing
# (HC_LAB_REFRESH=1 re-resolves the newest kernels).
#
# The host's dpkg is left alone: no `dpkg --add-architecture`.  A private apt state
# tree with APT::Architecture=arm64 resolves and downloads the arm64 packages, and
# `dpkg-deb -x` unpacks them.  The mirror is the one the host's apt already uses
# (override with MIRROR= / SECMIRROR=); the lab needs no other network.
set -euo pipefail

CACHE=${HC_LAB_CACHE:-/var/cache/hypercall-lab}
APT_ROOT=$CACHE/apt
DEBS=$CACHE/debs
SERIES=(5.10 6.1 6.12 7)
# libsystemd-dev for the hook; the rest is libsystemd0's closure, which the linker
# needs to see (-rpath-link) when it links an executable against libsystemd.so.
SYSROOT_PKGS=(libjson-c-dev libjson-c5 libyaml-dev libyaml-0-2 libsystemd-dev libsystemd0
        libcap2 libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1)
# What runs inside the emulated hosts: Debian's own arm64 QEMU and libvirt (bookworm:
# QEMU 7.2, libvirt 9.0), plus the shared libraries of the project's hook.
USERLAND_APT_ROOT=$CACHE/apt-bookworm
USERLAND=$CACHE/userland
USERLAND_PKGS=(qemu-system-arm libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
        libsystemd0 libjson-c5 libyaml-0-2)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
APT_OPTS=()

log() { printf 'fetch: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Package-name pattern of each kernel series.  Debian encodes the ABI in the name,
# so "newest" is the highest version-sorted name that the mirror can deliver.
kernel_pattern() {
        case $1 in
        5.10) echo '^linux-image-5\.10\.0-[0-9]+-arm64$' ;;             # bullseye(-security)
        6.1) echo '^linux-image-6\.1\.0-[0-9]+-arm64$' ;;               # bookworm
        6.12) echo '^linux-image-6\.12\.[0-9]+\+deb12-arm64$' ;;        # bookworm-backports/security
        7) echo '^linux-image-7\.[0-9.]+\+deb13-arm64$' ;;              # trixie-backports
        *) die "unknown kernel series $1" ;;
        esac
}

# Everything already there?  Then stay off the network entirely.
have_everything() {
        local s
        [[ ${HC_LAB_REFRESH:-0} == 1 ]] && return 1
        for s in "${SERIES[@]}"; do
                [[ -f $CACHE/kernels/$s/vmlinuz ]] || return 1
        done
        [[ -x $CACHE/busybox/busybox ]] || return 1
        [[ "$(cat "$CACHE/sysroot/.complete" 2>/dev/null)" == "$(printf '%s\n' "${SYSROOT_PKGS[@]}")" ]] || return 1
        [[ "$(cat "$USERLAND/.complete" 2>/dev/null)" == "$(printf '%s\n' "${USERLAND_PKGS[@]}")" ]] || return 1
}

# URIs of the host's apt sources, deb822 (*.sources) and one-line (*.list) format.
host_uris() {
        local f
        for f in /etc/apt/sources.list.d/*.sources; do
                [[ -f $f ]] && sed -n 's/^[[:space:]]*URIs:[[:space:]]*//p' "$f" | tr ' ' '\n'
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                [[ -f $f ]] && sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' "$f"
        done
        return 0
}

pick_mirrors() {
        local uris
        uris=$(host_uris | sed 's:/*$::')
        MIRROR=${MIRROR:-$(grep -E '/debian$' <<<"$uris" | head -1 || true)}
        SECMIRROR=${SECMIRROR:-$(grep -E '/debian-security$' <<<"$uris" | head -1 || true)}
        [[ -n $MIRROR ]] || die "no .../debian URI in /etc/apt/sources.list*; set MIRROR="
        SECMIRROR=${SECMIRROR:-$MIRROR-security}
        log "mirror $MIRROR, security $SECMIRROR"
}

# A private apt tree: its own sources, state, status and cache, arm64 only.  The
# status file stays empty, so apt believes nothing is installed (and resolves the
# whole dependency closure when asked to install).  Sets the array named by $1 to
# the options that select the tree.  Usage: setup_apt VAR ROOT "URI|suites"...
setup_apt() {
        local -n apt_opts_out=$1
        local root=$2 spec
        shift 2
        mkdir -p "$root"/etc/{sources.list.d,preferences.d,apt.conf.d} \
                "$root"/state/lists/partial "$root"/cache/archives/partial
        : >"$root/state/status"
        : >"$root/etc/sources.list"
        for spec in "$@"; do
                printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n' "${spec%%|*}" "${spec#*|}"
                printf 'Architectures: arm64\nSigned-By: %s\n\n' "$KEYRING"
        done >"$root/etc/sources.list.d/lab-arm64.sources"
        apt_opts_out=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64
                -o "Dir::Etc=$root/etc"
                -o "Dir::Etc::sourcelist=$root/etc/sources.list"
                -o "Dir::Etc::sourceparts=$root/etc/sources.list.d"
                -o "Dir::Etc::preferencesparts=$root/etc/preferences.d"
                -o "Dir::Etc::parts=$root/etc/apt.conf.d"
                -o "Dir::State=$root/state" -o "Dir::State::status=$root/state/status"
                -o "Dir::Cache=$root/cache" -o Acquire::Languages=none
                -o Acquire::Check-Valid-Until=false
                # apt would otherwise drop to _apt, which cannot write into our cache
                -o APT::Sandbox::User=root)
        log "apt-get update (arm64, private tree $root)"
        timeout 600 apt-get -q "${apt_opts_out[@]}" update >"$root/update.log" 2>&1 ||
                { tail -20 "$root/update.log" >&2; die "apt-get update failed"; }
}

# Downloads the first package of "$@" that the mirror delivers (a security pool can
# lag behind its index); prints the .deb path.
download_first() {
        local p deb
        for p in "$@"; do
                deb=$(compgen -G "$DEBS/${p%%/*}_*.deb" | sort -V | tail -1 || true)
                if [[ -z $deb ]]; then
                        (cd "$DEBS" && timeout 900 apt-get -q "${APT_OPTS[@]}" download "$p" >&2) ||
                                { log "could not download $p, trying the next one"; continue; }
                        deb=$(compgen -G "$DEBS/${p%%/*}_*.deb" | sort -V | tail -1)
                fi
                echo "$deb"
                return 0
        done
        return 1
}

kernel_candidates() {
        apt-cache "${APT_OPTS[@]}" search "$(kernel_pattern "$1")" |
                awk '{print $1}' | grep -Ev -- '-(dbg|unsigned)$' | sort -Vr
}

# Unpacks one kernel to kernels/<version>/ and points kernels/<series> at it.
# Trixie-era packaging splits the image: linux-image-<v> is a meta package, the
# image is in linux-binary-<v> (usr/lib/modules/<v>/vmlinuz), the config in linux-base-<v>.
fetch_kernel() {
        local series=$1 deb ver tmp out
        # shellcheck disable=SC2046 # one candidate per word
        deb=$(download_first $(kernel_candidates "$series")) || die "no $series kernel on the mirror"
        ver=$(basename "$deb" | sed 's/^linux-image-//; s/_.*//')
        out=$CACHE/kernels/$ver
        if [[ ! -f $out/vmlinuz ]]; then
                tmp=$(mktemp -d "$CACHE/kernels/.unpack.XXXXXX")
                dpkg-deb -x "$deb" "$tmp/root"
                if ! compgen -G "$tmp/root/boot/vmlinuz-*" >/dev/null; then
                        dpkg-deb -x "$(download_first "linux-binary-$ver")" "$tmp/root"
                        dpkg-deb -x "$(download_first "linux-base-$ver")" "$tmp/root"
                fi
                mkdir -p "$tmp/out"
                cp "$(compgen -G "$tmp/root/boot/vmlinuz-*" || compgen -G "$tmp/root/usr/lib/modules/*/vmlinuz")" "$tmp/out/vmlinuz"
                cp "$(compgen -G "$tmp/root/boot/config-*" || compgen -G "$tmp/root/usr/lib/modules/*/config")" "$tmp/out/config"
                # /dev/kvm must come up without modules: the initramfs carries none
                grep -q '^CONFIG_KVM=y' "$tmp/out/config" || die "$ver: CONFIG_KVM is not built in"
                rm -rf "$out"
                mv "$tmp/out" "$out"
                rm -rf "$tmp"
        fi
        ln -sfn "$ver" "$CACHE/kernels/$series"
        log "kernel $series -> $ver"
}

# bookworm's busybox-static installs /bin/busybox, trixie's /usr/bin/busybox: pin bookworm.
fetch_busybox() {
        local deb tmp
        deb=$(download_first busybox-static/bookworm) || die "no busybox-static"
        tmp=$(mktemp -d "$CACHE/.busybox.XXXXXX")
        dpkg-deb -x "$deb" "$tmp"
        mkdir -p "$CACHE/busybox"
        cp "$(compgen -G "$tmp/bin/busybox" || compgen -G "$tmp/usr/bin/busybox")" "$CACHE/busybox/busybox.new"
        mv "$CACHE/busybox/busybox.new" "$CACHE/busybox/busybox"
        rm -rf "$tmp"
        log "busybox $(basename "$deb")"
}

# Debian's -dev symlinks are absolute (libsystemd.so -> /lib/aarch64-linux-gnu/...):
# inside an unpacked tree they would point at the build machine's files.  Make each
# one relative within the tree.
relink_absolute() { # root
        local link target
        while IFS= read -r -d '' link; do
                target=$(readlink "$link")
                ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$1$target")" "$link"
        done < <(find "$1" -type l -lname '/*' -print0)
}

# The arm64 -dev trees for cmake/aarch64-linux-gnu.cmake.  Bookworm, so the static
# archives match the cross glibc (2.36) of gcc-aarch64-linux-gnu.  Debian's .pc files
# hard-code /usr (json-c.pc even in libdir and includedir, not only in prefix), and
# pkg-config's sysroot prefixing covers only -I/-L flags, not variables.  Rewrite
# every /usr to ${pcfiledir}/../../.. (the .pc files sit in usr/lib/<triplet>/pkgconfig),
# which keeps the tree relocatable: HC_ARM64_SYSROOT may point at a copy.
fetch_sysroot() {
        local p tmp
        tmp=$(mktemp -d "$CACHE/.sysroot.XXXXXX")
        for p in "${SYSROOT_PKGS[@]}"; do
                dpkg-deb -x "$(download_first "$p/bookworm")" "$tmp"
        done
        relink_absolute "$tmp"
        # shellcheck disable=SC2016 # ${pcfiledir} is for pkg-config, not for bash
        sed -i 's#^\([A-Za-z_]*\)=/usr\([/[:space:]]\|$\)#\1=${pcfiledir}/../../..\2#' \
                "$tmp"/usr/lib/aarch64-linux-gnu/pkgconfig/*.pc
        printf '%s\n' "${SYSROOT_PKGS[@]}" >"$tmp/.complete"
        rm -rf "$CACHE/sysroot"
        mv "$tmp" "$CACHE/sysroot"
        log "sysroot $CACHE/sysroot"
}

# The emulated hosts' userland: bookworm only (a private tree of its own, so apt
# never mixes in trixie's newer QEMU), the whole dependency closure of
# USERLAND_PKGS downloaded into userland/debs and unpacked into userland/root.
# build-userland.sh picks what each initramfs needs out of that tree.
fetch_userland() {
        local ul_opts=() tmp d
        setup_apt ul_opts "$USERLAND_APT_ROOT" "$MIRROR|bookworm bookworm-updates" "$SECMIRROR|bookworm-security"
        mkdir -p "$USERLAND/debs/partial"
        log "resolving ${USERLAND_PKGS[*]} (bookworm arm64)"
        timeout 900 apt-get -q -y "${ul_opts[@]}" -o "Dir::Cache::archives=$USERLAND/debs" \
                install -d --no-install-recommends "${USERLAND_PKGS[@]}" >"$USERLAND/download.log" 2>&1 ||
                { tail -20 "$USERLAND/download.log" >&2; die "downloading the userland failed"; }
        tmp=$(mktemp -d "$CACHE/.userland.XXXXXX")
        for d in "$USERLAND"/debs/*.deb; do
                dpkg-deb -x "$d" "$tmp"
        done
        relink_absolute "$tmp"
        rm -rf "$USERLAND/root"
        mv "$tmp" "$USERLAND/root"
        printf '%s\n' "${USERLAND_PKGS[@]}" >"$USERLAND/.complete"
        log "userland: $(find "$USERLAND/debs" -name '*.deb' | wc -l) packages, $(du -sh "$USERLAND/root" | cut -f1) unpacked"
}

main() {
        if have_everything; then
                log "cached in $CACHE ($(cd "$CACHE/kernels" && readlink "${SERIES[@]}" | tr '\n' ' '))"
                return 0
        fi
        command -v dpkg-deb >/dev/null || die "dpkg-deb missing"
        [[ -r $KEYRING ]] || die "$KEYRING missing (debian-archive-keyring)"
        mkdir -p "$CACHE/kernels" "$DEBS"
        pick_mirrors
        setup_apt APT_OPTS "$APT_ROOT" "$MIRROR|bullseye bullseye-updates" "$SECMIRROR|bullseye-security" \
                "$MIRROR|bookworm bookworm-updates bookworm-backports" "$SECMIRROR|bookworm-security" \
                "$MIRROR|trixie trixie-updates trixie-backports"
        local s
        for s in "${SERIES[@]}"; do
                fetch_kernel "$s"
        done
        fetch_busybox
        [[ "$(cat "$CACHE/sysroot/.complete" 2>/dev/null)" == "$(printf '%s\n' "${SYSROOT_PKGS[@]}")" ]] ||
                fetch_sysroot
        [[ "$(cat "$USERLAND/.complete" 2>/dev/null)" == "$(printf '%s\n' "${USERLAND_PKGS[@]}")" ]] ||
                fetch_userland
        log "done: $CACHE ($(du -sh "$CACHE" | cut -f1))"
}

main "$@"

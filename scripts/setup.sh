#!/bin/bash
# Installs every Debian package hypercall needs and builds the default preset.
# Idempotent: a second run only rebuilds what changed.  Run as root.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

package_list() {
        # scripts/packages.txt for the build, tests/lab/host-packages.txt for the arm64 lab.
        cat "$ROOT/scripts/packages.txt" "$ROOT"/tests/*/host-packages.txt 2>/dev/null |
                sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u
}

install_packages() {
        local missing=()
        for p in $(package_list); do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
                        missing+=("$p")
        done
        if [ ${#missing[@]} -eq 0 ]; then
                echo "setup: all packages present"
                return
        fi
        echo "setup: installing ${missing[*]}"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=900 "${missing[@]}"
}

build() {
        cd "$ROOT"
        cmake --preset default >/dev/null
        cmake --build --preset default -j"$(nproc)"
}

install_packages
build

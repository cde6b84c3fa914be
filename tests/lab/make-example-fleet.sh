#!/bin/bash
# make-example-fleet.sh: regenerate examples/fleet/ from real probe runs.
#
# The bundled example fleet is not hand-written: each record is what hypercallctl
# probe printed on an emulated arm64 KVM host of the lab (boot.sh), so the examples
# show what real kernels report.  example-fleet.txt is the fleet; README.md there
# says which kernel and -cpu each host came from.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DEST=${1:-$REPO/examples/fleet}

FLEET=$(sed 's/#.*//' "$HERE/example-fleet.txt")

log() { printf 'example-fleet: %s\n' "$*" >&2; }

main() {
        local host kver cpu
        "$HERE/fetch.sh"
        "$HERE/build-probe.sh"
        "$HERE/build-initramfs.sh"
        # Boot into a scratch directory: the console logs stay out of examples/.
        TMP=$(mktemp -d)
        trap 'rm -rf "$TMP"' EXIT
        while read -r host kver cpu; do
                [[ -n $host ]] || continue
                "$HERE/boot.sh" "$kver" "$cpu" "$host" "$TMP/$host.json" >&2
        done <<<"$FLEET"
        mkdir -p "$DEST"
        mkdir -p "$DEST/vcpu"
        cp "$TMP"/*.json "$DEST/"
        cp "$TMP"/vcpu/*.json "$DEST/vcpu/"
        log "$(find "$TMP" -name '*.json' | wc -l) records in $DEST"
}

main "$@"

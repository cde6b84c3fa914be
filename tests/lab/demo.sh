#!/bin/bash
# demo.sh [HOST...]: the whole product in one run, on real KVM in emulated arm64 hosts.
#
#   1. sets up the lab (fetch.sh: Debian arm64 kernels, QEMU and libvirt, cached in
#      /var/cache/hypercall-lab; cross builds of the probe and the push path)
#   2. probes every host of the example fleet (example-fleet.txt): each is a real
#      Debian kernel booted as a KVM host under TCG, running `hypercallctl probe`
#   3. computes the example pools' baselines from those records (policies/)
#   4. boots each HOST (default: web-03, whose pool hides PTP, and batch-02, a 7.x host
#      whose pool is held to the 6.12 member's PSCI 1.1) with Debian's libvirtd, starts
#      the lab's guest once before hypercall is installed, then installs it as
#      docs/push-path-design.md tells an operator and starts the guest as a domain of
#      HOST's pool: the hook writes the plan, the <emulator> wrapper execs QEMU with
#      the shim
#   5. prints side by side what HOST offers, what its pool allows, and what the guest
#      saw without and with hypercall
#
# About two minutes with a warm cache on 2 cores (the first run downloads ~450 MB).
# Output under build-aarch64/lab/demo (HC_LAB_DEMO).  Exit 0 when every guest under
# hypercall saw exactly what its pool allows.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${HC_LAB_WORK:-$REPO/build-aarch64/lab}
OUT=${HC_LAB_DEMO:-$WORK/demo}
HOSTS=("$@")
((${#HOSTS[@]})) || HOSTS=(web-03 batch-02)
export HC_LAB_WORK=$WORK
# shellcheck source=lib.sh
. "$HERE/lib.sh"

T0=${EPOCHREALTIME/./}
elapsed() { local us=$((${EPOCHREALTIME/./} - T0)); printf '%d.%d' $((us / 1000000)) $((us / 100000 % 10)); }
step() { printf '\n== %s  [%s s]\n' "$*" "$(elapsed)"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

FLEET=$(sed 's/#.*//' "$HERE/example-fleet.txt" | awk 'NF == 3')
for h in "${HOSTS[@]}"; do
        awk -v h="$h" '$1 == h { f = 1 } END { exit !f }' <<<"$FLEET" || die "$h is not in example-fleet.txt"
done

step "Setting up the lab (downloads cached in ${HC_LAB_CACHE:-/var/cache/hypercall-lab})"
"$HERE/fetch.sh" 2>&1 | tail -1
"$HERE/build-probe.sh" 2>&1 | tail -1
"$HERE/build-initramfs.sh" 2>&1 | tail -1
"$HERE/build-userland.sh" libvirt 2>&1 | tail -1
lab_host_tools "$REPO" "$WORK" || die "no host tools"

step "Probing the example fleet: each host a real Debian arm64 kernel under TCG with KVM"
rm -rf "$OUT"
mkdir -p "$OUT/fleet" "$OUT/consoles"
while read -r host kver cpu; do
        line=$("$HERE/boot.sh" "$kver" "$cpu" "$host" "$OUT/consoles/$host.json") ||
                die "probing $host failed: $line"
        mv "$OUT/consoles/$host.json" "$OUT/fleet/"
        printf '  %-10s %s\n' "$host" "$(sed 's/^boot //; s/ host=[^ ]*//; s/ rc=[^ ]*//' <<<"$line")"
done <<<"$FLEET"
echo
"$CTL" show "$OUT/fleet"

step "The example pools' baselines (hypercallctl baseline --records <probed> --policies policies)"
rc=0
"$CTL" baseline --records "$OUT/fleet" --policies "$REPO/policies" | tee "$OUT/baseline.txt" || rc=$?
((rc <= 1)) || die "hypercallctl baseline failed ($rc)"
"$CTL" baseline --records "$OUT/fleet" --policies "$REPO/policies" --json >"$OUT/baseline.computed.json" || true
"$TOOL" baseline "$OUT/baseline.computed.json" "$OUT/baseline.json"

# One host: boot it with libvirt, the guest before and under hypercall, the table.
show_host() { # host
        local host=$1 kver cpu pool runs
        read -r _ kver cpu <<<"$(awk -v h="$host" '$1 == h' <<<"$FLEET")"
        pool=$(awk -v h="$host" '/^pool / { p = $2; sub(/:$/, "", p) } /^pool / && index($0, h) { print p; exit }' \
                "$OUT/baseline.txt")
        [[ -n $pool ]] || die "$host is in no pool of the baseline"
        step "Booting $host ($kver, -cpu $cpu) with Debian's libvirtd; the guest before and under hypercall (pool $pool)"
        mkdir -p "$OUT/$host/job"
        cp "$OUT/baseline.json" "$OUT/$host/job/baseline.json"
        printf 'K=%s LV_POOL=%s LV_MODE=demo\n. /lab/l1-libvirt.sh\n' "$kver" "$pool" >"$OUT/$host/job/job.sh"
        HC_LAB_L1_MEM=2048 "$HERE/boot-l1.sh" "$host" "$kver" "$cpu" "$WORK/initrd-libvirt.cpio.gz" "$OUT/$host/job" \
                "$OUT/$host/boot" | sed 's/^/  /'
        runs=$OUT/$host/boot/runs
        [[ -f $runs/$kver.demo-vm.serial ]] ||
                die "the guest under hypercall printed nothing: $(cat "$runs/$kver.demo-vm.stderr" 2>/dev/null)"
        grep -E 'hypercall-shim|refused' "$runs/$kver.demo-vm.stderr" | sed 's/^/  /' || true

        step "What $host offers, what pool $pool allows, what the guest saw"
        "$TOOL" side-by-side "$OUT/fleet/$host.json" "$OUT/baseline.json" "$pool" "$runs/$kver.demo-plain.serial" \
                "$runs/$kver.demo-vm.serial" | tee "$OUT/$host/side-by-side.txt"
}

rc=0
for h in "${HOSTS[@]}"; do
        show_host "$h" || rc=1
done
printf '\ndemo: done in %s s; everything is under %s\n' "$(elapsed)" "$OUT"
exit $rc

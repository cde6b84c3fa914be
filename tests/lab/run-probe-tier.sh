#!/bin/bash
# run-probe-tier.sh [--no-check]: the arm64 lab tier, end to end.
#
#   1. fetch.sh          kernels, busybox, arm64 sysroot (cached after the first run)
#   2. build-probe.sh    static arm64 hypercallctl (preset aarch64)
#   3. build-initramfs.sh
#   4. boot.sh           every kernel x CPU model, one after the other, one record each
#   5. lab-expect        the records against kvm-abi.md §9 (skipped by --no-check,
#                        which ctest uses: there each check is its own test)
#
# CPU models are chosen for their different workaround levels (WA1/WA2/WA3):
# cortex-a53 2/3/2, neoverse-n1 2/0/1, cortex-a72 0/0/0, cortex-a76 2/0/1 (with
# neoverse-n1 and cortex-a72: every -cpu of example-fleet.txt), and two models 5.10 does
# not know, whose WA3 differs between 5.10 and later kernels (max 2/0/2 -> 2/0/0,
# a64fx 0/0/2 -> 0/0/0).  `max` needs pauth-impdef=on to boot in ~2 s.
#
# Environment: HC_LAB_KERNELS, HC_LAB_CPUS (space-separated) narrow the matrix;
# HC_LAB_RECORDS is where records go (default build-aarch64/lab/records, emptied
# first so no stale record can pass for a new one); HC_LAB_EXPECT is the checker
# binary (default: built from this tree in build-aarch64/lab/host-build).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${HC_LAB_WORK:-$REPO/build-aarch64/lab}
RECORDS=${HC_LAB_RECORDS:-$WORK/records}
read -ra KERNELS <<<"${HC_LAB_KERNELS:-5.10 6.1 6.12 7}"
read -ra CPUS <<<"${HC_LAB_CPUS:-cortex-a53 neoverse-n1 cortex-a72 cortex-a76 a64fx max,pauth-impdef=on}"
export HC_LAB_WORK=$WORK

log() { printf 'tier: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Seconds since the tier started, 0.1 s resolution, without forking `date`.
T0=${EPOCHREALTIME/./}
elapsed() { local us=$((${EPOCHREALTIME/./} - T0)); printf '%d.%d' $((us / 1000000)) $((us / 100000 % 10)); }

prepare() {
        "$HERE/fetch.sh"
        "$HERE/build-probe.sh"
        "$HERE/build-initramfs.sh"
        log "prepared in $(elapsed) s"
}

# lab-<series>-<cpu up to the first comma>: the host name and the record's file name,
# from which lab-expect knows what was booted.
host_name() { local cpu=${2%%,*}; echo "lab-$1-$cpu"; }

# "key=value ..." result line of boot.sh -> one table row.
ROWS=()
FAILED=()
add_row() { # kernel-series cpu result-line status
        local kv=NA boot=NA probe=NA total=NA w
        for w in $3; do
                case $w in
                kver=*) kv=${w#kver=} ;;
                boot_s=*) boot=${w#boot_s=} ;;
                probe_s=*) probe=${w#probe_s=} ;;
                total_s=*) total=${w#total_s=} ;;
                esac
        done
        ROWS+=("$(printf '| %-22s | %-19s | %7s | %8s | %8s | %-4s |' "$kv" "$2" "$boot" "$probe" "$total" "$4")")
}

boot_matrix() {
        local k cpu host line status
        mkdir -p "$RECORDS"
        rm -f "$RECORDS"/*.json "$RECORDS"/*.console "$RECORDS"/vcpu/*.json
        for k in "${KERNELS[@]}"; do
                for cpu in "${CPUS[@]}"; do
                        host=$(host_name "$k" "$cpu")
                        status=ok
                        line=$("$HERE/boot.sh" "$k" "$cpu" "$host" "$RECORDS/$host.json") || status=FAIL
                        [[ $status == ok ]] || FAILED+=("$k/$cpu")
                        log "$line [$status] at $(elapsed) s"
                        add_row "$k" "$cpu" "$line" "$status"
                done
        done
}

print_table() {
        printf '\n| kernel                 | -cpu                | boot s  | probe s  | total s  |      |\n'
        printf '|------------------------|---------------------|---------|----------|----------|------|\n'
        printf '%s\n' "${ROWS[@]}"
        printf '\nboot s: qemu start to /init (host clock); probe s: hypercallctl probe (guest uptime); total s: qemu start to power-off\n\n'
}

# The checker runs on this machine, so it is a host build: a private one under $WORK,
# so the tier neither depends on nor disturbs whatever build/ holds.
find_checker() {
        local dir=$WORK/host-build
        if [[ -n ${HC_LAB_EXPECT:-} ]]; then
                [[ -x $HC_LAB_EXPECT ]] || die "HC_LAB_EXPECT=$HC_LAB_EXPECT is not executable"
                echo "$HC_LAB_EXPECT"
                return
        fi
        log "building lab-expect in $dir"
        mkdir -p "$dir"
        { cmake -S "$REPO" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHC_BUILD_BENCH=OFF &&
                cmake --build "$dir" --target lab-expect -- -j"$(nproc)"; } >"$dir.log" 2>&1 ||
                { tail -30 "$dir.log" >&2; die "building lab-expect failed (full log: $dir.log)"; }
        echo "$dir/tests/lab/lab-expect"
}

main() {
        local check=1
        case ${1:-} in
        --no-check) check=0 ;;
        "") ;;
        *) die "usage: run-probe-tier.sh [--no-check]" ;;
        esac
        prepare
        boot_matrix
        print_table
        log "${#ROWS[@]} boots in $(elapsed) s, records in $RECORDS"
        ((${#FAILED[@]} == 0)) || die "boots failed: ${FAILED[*]} (see $RECORDS/*.console)"
        if ((check)); then
                "$(find_checker)" "$RECORDS"
                log "tier passed in $(elapsed) s"
        fi
}

main "$@"

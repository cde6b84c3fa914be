#!/bin/bash
# run-nested-tier.sh: the product on real KVM inside emulated arm64 hosts.
#
# Each emulated host (L1) is a real Debian arm64 kernel under qemu-system-aarch64 TCG
# with EL2; inside it Debian's own arm64 QEMU 7.2 runs the lab's bare-metal guest
# (L2, guest/hc-l2-guest.c) with -accel kvm, with and without the project's shim and
# plans.  What the guest prints is what a guest of the product sees.  Boots run one
# after another (TCG is CPU-bound):
#
#   l1-5.10     legacy host: no bitmap registers, so a plan that hides TRNG cannot apply
#   l1-6.1      hidden means hidden (TRNG; PV time + KVM features + PTP; PTP), PSCI
#   l1-6.12     lowered, fail closed (no plan, corrupt plan, a 7.x plan), values stay
#   l1-7        across resets and on a second vCPU; the example fleet's pools; a
#               migration source each (stream saved and carried to the next boots)
#   l1-6.1-b    migration destinations for what the other kernels saved
#   l1-6.12-b
#   l1-7-b      (7 -> 7: the control, same kernel on both ends)
#   web-03      the example fleet's web-03 (6.12, neoverse-n1) with Debian's libvirtd:
#               hypercall installed as an operator would (l1-libvirt.sh), a domain of
#               pool web started, reset, stopped, restarted, kept across a libvirtd
#               restart; a foreign pool refused by the hook, a stale plan by the shim
#
# Inputs: the probe tier's records (HC_LAB_RECORDS, default build-aarch64/lab/records):
# they give the example fleet (example-fleet.txt, renamed with hc-lab-tool) and the
# migration pool's hosts (policies/mixed).  Output (HC_LAB_NESTED, default
# build-aarch64/lab/nested): boots/ (consoles, runs/<id>.{serial,stderr,meta},
# streams/), pools/ (records, baselines, plans' inputs), summary.md.  lab-l2-expect
# checks it (one ctest entry per behaviour).
#
# Environment: HC_LAB_CTL / HC_LAB_TOOL  host hypercallctl and hc-lab-tool (default:
# built in build-aarch64/lab/host-build); HC_LAB_NESTED_BOOTS  space-separated boot
# names to run (default all, in the order above).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${HC_LAB_WORK:-$REPO/build-aarch64/lab}
RECORDS=${HC_LAB_RECORDS:-$WORK/records}
OUT=${HC_LAB_NESTED:-$WORK/nested}
NESTED_INITRD=$WORK/initrd-nested.cpio.gz
LIBVIRT_INITRD=$WORK/initrd-libvirt.cpio.gz
read -ra BOOTS <<<"${HC_LAB_NESTED_BOOTS:-l1-5.10 l1-6.1 l1-6.12 l1-7 l1-6.1-b l1-6.12-b l1-7-b web-03}"
export HC_LAB_WORK=$WORK
# shellcheck source=lib.sh
. "$HERE/lib.sh"

log() { printf 'nested: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

T0=${EPOCHREALTIME/./}
elapsed() { local us=$((${EPOCHREALTIME/./} - T0)); printf '%d.%d' $((us / 1000000)) $((us / 100000 % 10)); }

# ---- pools: real probe records -> baseline files --------------------------------

# baseline RECORDS_DIR POLICIES_DIR NAME: pools/NAME.computed.json (hypercallctl's
# document) and pools/NAME.baseline.json (the file hypercalld would keep).
baseline() {
        local rc=0
        "$CTL" baseline --records "$1" --policies "$2" --json >"$OUT/pools/$3.computed.json" || rc=$?
        ((rc <= 1)) || die "hypercallctl baseline for $3 failed ($rc)"
        "$CTL" baseline --records "$1" --policies "$2" >"$OUT/pools/$3.txt" || true
        "$TOOL" baseline "$OUT/pools/$3.computed.json" "$OUT/pools/$3.baseline.json"
}

pools() {
        local host kver cpu src k
        rm -rf "$OUT/pools"
        mkdir -p "$OUT/pools/fleet" "$OUT/pools/mixed" "$OUT/pools/newest"
        # The example fleet, from the matrix records of the same kernel and -cpu.
        while read -r host kver cpu; do
                [[ -n $host ]] || continue
                src=$RECORDS/lab-$kver-${cpu%%,*}.json
                [[ -f $src ]] || die "no probe record $src for $host (run run-probe-tier.sh)"
                "$TOOL" record "$src" "$host" "$OUT/pools/fleet/$host.json"
        done < <(sed 's/#.*//' "$HERE/example-fleet.txt")
        baseline "$OUT/pools/fleet" "$REPO/policies" fleet
        mkdir -p "$OUT/pools/mixed/vcpu"
        for k in 6.1 6.12 7; do
                [[ -f $RECORDS/lab-$k-max.json ]] || die "no probe record lab-$k-max.json (run run-probe-tier.sh)"
                cp "$RECORDS/lab-$k-max.json" "$OUT/pools/mixed/"
                cp "$RECORDS/vcpu/lab-$k-max.json" "$OUT/pools/mixed/vcpu/"
        done
        cp "$RECORDS/lab-7-max.json" "$OUT/pools/newest/"
        baseline "$OUT/pools/mixed" "$HERE/policies/mixed" mixed
        baseline "$OUT/pools/newest" "$HERE/policies/newest" newest
        # web-03's record as it was before a kernel downgrade (7.x): the fleet's
        # baseline for pool web, computed from it, asks what the 6.12 host lacks.
        mkdir -p "$OUT/pools/stale"
        "$TOOL" record "$RECORDS/lab-7-neoverse-n1.json" web-03 "$OUT/pools/stale/web-03.json"
        baseline "$OUT/pools/stale" "$REPO/policies" stale
}

# ---- jobs -----------------------------------------------------------------------

# A stable UUID per VM name, as libvirt would have one per domain.
uuid_of() {
        local h
        h=$(printf '%s' "$1" | sha256sum)
        printf '%s-%s-4%s-8%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:13:3}" "${h:17:3}" "${h:20:12}"
}

job_new() { # boot
        JOB=$OUT/jobs/$1
        rm -rf "$JOB"
        mkdir -p "$JOB/plans" "$JOB/incoming"
        printf '# %s: generated by run-nested-tier.sh\n' "$1" >"$JOB/job.sh"
}

job() { printf '%s\n' "$*" >>"$JOB/job.sh"; }

G=hc-l2-guest.elf
G_PARK=hc-l2-guest-park.elf

# managed ID GUEST PLAN-SOURCE [l2 options]: a VM with -uuid, the shim preloaded and a
# plan: "set REG=V,REG=V", "pool BASELINE POOL", "pool-incoming BASELINE POOL VM",
# "corrupt REG=V", or "none".
managed() {
        local id=$1 guest=$2 src=$3 uuid
        shift 3
        uuid=$(uuid_of "${VM:-$id}")
        local -a how
        read -ra how <<<"$src"
        case ${how[0]} in
        set)
                IFS=, read -ra regs <<<"${how[1]}"
                "$TOOL" plan-set "$uuid" "$id" "$JOB/plans" "${regs[@]}"
                ;;
        corrupt)
                # A plan whose register value is not hex: what a damaged file looks like.
                "$TOOL" plan-set "$uuid" "$id" "$JOB/plans" "${how[1]}"
                sed -i 's/^\(register [A-Z_0-9]* 0x[0-9a-f]*\) 0x[0-9a-f]*$/\1 0xZZ/' "$JOB/plans/$uuid.plan"
                ;;
        pool) "$TOOL" plan-pool "${how[1]}" "${how[2]}" "$uuid" "$id" "$JOB/plans" ;;
        pool-incoming) "$TOOL" plan-pool "${how[1]}" "${how[2]}" "$uuid" "${how[3]}" "$JOB/plans" incoming ;;
        none) ;;
        *) die "managed: unknown plan source $src" ;;
        esac
        if [[ ${how[0]} == none ]]; then
                job "l2 $id $guest shim=1 uuid=$uuid $*"
        else
                job "l2 $id $guest shim=1 uuid=$uuid plan=/lab/plans/$uuid.plan $*"
        fi
}

# The single-service cases every bitmap kernel runs.
services_cases() { # kernel
        local k=$1
        job "l2 $k.plain $G"
        managed "$k.trng-hidden" $G "set STD_BMAP=0"
        managed "$k.kvm-hidden" $G "set STD_HYP_BMAP=0,VENDOR_HYP_BMAP=0"
        managed "$k.ptp-hidden" $G "set VENDOR_HYP_BMAP=0x1"
        # 7.x pins PSCI in its own case (7.psci-1.1); the smp2 case lowers it to 1.0 there too
        [[ $k == 7 ]] || managed "$k.psci-1.0" $G "set PSCI_VERSION=0x10000"
        managed "$k.smp2" $G "set PSCI_VERSION=0x10000,STD_BMAP=0,VENDOR_HYP_BMAP=0x1" smp=2
        managed "$k.no-plan" $G none
        managed "$k.corrupt-plan" $G "corrupt STD_BMAP=0"
}

# Migration: the source saves a parked guest; each destination restores it as the
# same VM (same UUID) with an incoming plan of the pool, as libvirt's migrate hook does.
mig_save() { VM=mig-$1 managed "$1.mig-save" $G_PARK "pool $OUT/pools/mixed.baseline.json mixed" save=1 log=1; }
mig_restore() { # dest source
        local stream
        stream=$(compgen -G "$OUT/boots/*/streams/$2.mig-save.mig" | head -1 || true)
        if [[ -z $stream ]]; then
                log "no stream saved on $2: $1.mig-from-$2 not run"
                return 0
        fi
        cp "$stream" "$JOB/incoming/$2.mig"
        VM=mig-$2 managed "$1.mig-from-$2" $G_PARK \
                "pool-incoming $OUT/pools/mixed.baseline.json mixed $1.mig-from-$2" "incoming=/lab/incoming/$2.mig" log=1
}

gen_job() { # boot
        job_new "$1"
        case $1 in
        l1-5.10)
                job "l2 5.10.plain $G"
                managed 5.10.trng-hidden $G "set STD_BMAP=0"
                ;;
        l1-6.1)
                services_cases 6.1
                job "l2 6.1.passive $G shim=1"
                managed 6.1.psci-0.2 $G "set PSCI_VERSION=0x2"
                managed 6.1.beyond-kernel $G "pool $OUT/pools/newest.baseline.json newest"
                mig_save 6.1
                ;;
        l1-6.12)
                services_cases 6.12
                job "l2 6.12.passive $G shim=1"
                managed 6.12.beyond-kernel $G "pool $OUT/pools/newest.baseline.json newest"
                managed 6.12.fleet-web $G "pool $OUT/pools/fleet.baseline.json web"
                mig_save 6.12
                mig_restore 6.12 6.1
                ;;
        l1-7)
                services_cases 7
                managed 7.psci-1.1 $G "set PSCI_VERSION=0x10001"
                managed 7.fleet-batch $G "pool $OUT/pools/fleet.baseline.json batch"
                managed 7.fleet-db $G "pool $OUT/pools/fleet.baseline.json db"
                mig_save 7
                mig_restore 7 6.1
                mig_restore 7 6.12
                ;;
        l1-6.1-b)
                mig_restore 6.1 6.1
                mig_restore 6.1 6.12
                mig_restore 6.1 7
                ;;
        l1-6.12-b)
                mig_restore 6.12 6.12
                mig_restore 6.12 7
                ;;
        l1-7-b) mig_restore 7 7 ;;
        web-03)
                cp "$OUT/pools/fleet.baseline.json" "$JOB/baseline.json"
                cp "$OUT/pools/stale.baseline.json" "$JOB/baseline-stale.json"
                job "K=6.12 LV_POOL=web LV_FOREIGN=db"
                job ". /lab/l1-libvirt.sh"
                ;;
        *) die "unknown boot $1" ;;
        esac
}

# boot -> "kernel cpu initrd memory": the nested hosts are all -cpu max (fast under
# TCG); web-03 is the example fleet's host, with libvirt's larger userland.
boot_spec() {
        local k
        case $1 in
        web-03) echo "6.12 neoverse-n1 $LIBVIRT_INITRD 2048" ;;
        l1-*)
                k=${1#l1-}
                echo "${k%-b} max,pauth-impdef=on $NESTED_INITRD 1024"
                ;;
        esac
}

# ---- summary --------------------------------------------------------------------

# The value a call returned on vCPU 0 in the guest's first pass, or for a migrated
# guest in the pass after the move ("-" if none).
seen() {
        local pass=1
        [[ $1 != *mig-from* ]] || pass=2
        awk -v c="$2" -v p="$pass" '$2 == p && $3 == 0 && $4 == c { print $5; f = 1; exit } END { if (!f) print "-" }' "$1"
}

summary() {
        local meta id run rc secs serial
        {
                printf '| run | rc | s | PSCI_VERSION | TRNG_VERSION | PV_TIME | KVM_UID | KVM_FEATURES | KVM_PTP | passes | shim / QEMU says |\n'
                printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
                for meta in "$OUT"/boots/*/runs/*.meta; do
                        [[ -f $meta ]] || continue
                        run=${meta%.meta}
                        id=$(basename "$run")
                        rc=$(sed -n 's/^rc=//p' "$meta")
                        secs=$(sed -n 's/^secs=//p' "$meta")
                        serial=$run.serial
                        [[ -f $serial ]] || serial=/dev/null
                        local ptp
                        ptp=$(seen "$serial" KVM_PTP)
                        [[ $ptp == - || $ptp == -* ]] || ptp=ok
                        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$id" "$rc" "$secs" \
                                "$(seen "$serial" PSCI_VERSION)" "$(seen "$serial" TRNG_VERSION)" \
                                "$(seen "$serial" ARCH_FEATURES.PV_TIME_FEATURES)" "$(seen "$serial" KVM_VENDOR_UID)" \
                                "$(seen "$serial" KVM_FEATURES)" "$ptp" \
                                "$(grep -c 'event start\|event unpark' "$serial" || true)" \
                                "$(grep -m1 -E 'stopping|refusing|load of migration failed|error' "$run.stderr" 2>/dev/null | cut -c1-160 | sed 's/|/\\|/g' || true)"
                done
                printf '\nBoots (host clock, seconds): %s\n' "${BOOT_TIMES[*]}"
        } >"$OUT/summary.md"
        cat "$OUT/summary.md"
}

main() {
        local b line status kver cpu initrd mem failed=()
        BOOT_TIMES=()
        "$HERE/fetch.sh"
        "$HERE/build-probe.sh"
        "$HERE/build-userland.sh" all
        lab_host_tools "$REPO" "$WORK" || die "no host tools"
        mkdir -p "$OUT"
        pools
        log "prepared in $(elapsed) s"
        rm -rf "$OUT/boots" "$OUT/jobs"
        for b in "${BOOTS[@]}"; do
                gen_job "$b"
                status=ok
                read -r kver cpu initrd mem <<<"$(boot_spec "$b")"
                line=$(HC_LAB_L1_MEM=$mem "$HERE/boot-l1.sh" "$b" "$kver" "$cpu" "$initrd" "$OUT/jobs/$b" \
                        "$OUT/boots/$b") || status=FAIL
                [[ $status == ok ]] || failed+=("$b")
                log "$line [$status] at $(elapsed) s"
                BOOT_TIMES+=("$b=$(sed -n 's/.*total_s=\([0-9.]*\).*/\1/p' <<<"$line")")
        done
        summary
        log "${#BOOTS[@]} boots in $(elapsed) s; results in $OUT"
        ((${#failed[@]} == 0)) || die "boots failed: ${failed[*]} (see $OUT/boots/*/*.console)"
}

main "$@"

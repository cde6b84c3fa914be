#!/bin/bash
# boot.sh KVER CPU HOSTNAME OUTFILE: boot one emulated arm64 KVM host, save its record.
#
#   KVER      kernel under $HC_LAB_CACHE/kernels: a series (5.10, 6.1, 6.12, 7) or a
#             full version (6.1.0-56-arm64)
#   CPU       qemu -cpu model (cortex-a53, neoverse-n1, ...; use max,pauth-impdef=on,
#             plain `max` emulates QARMA pointer authentication 3-4x slower)
#   HOSTNAME  passed as hc.host=, becomes the record's "host"
#   OUTFILE   the record (hypercall.host/v1 JSON) as the probe printed it; the vCPU
#             register set (hypercall.vcpu-regs/v1) goes to DIR/vcpu/HOSTNAME.json beside it
#
# The host is a real Debian kernel under qemu-system-aarch64 TCG with EL2
# (virtualization=on), so KVM initialises as on hardware and the probe talks to the
# real /dev/kvm.  Next to OUTFILE: <OUTFILE minus .json>.console (console with
# seconds since qemu start per line).  Prints one result line:
#   boot kver=.. cpu=.. host=.. rc=.. boot_s=.. probe_s=.. total_s=..
# boot_s: qemu start to /init; probe_s: the probe command alone, as the guest's
# uptime counted it; total_s: qemu start to power-off.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${HC_LAB_CACHE:-/var/cache/hypercall-lab}
WORK=${HC_LAB_WORK:-$REPO/build-aarch64/lab}
INITRD=${HC_LAB_INITRD:-$WORK/initrd.cpio.gz}
TIMEOUT=${HC_LAB_BOOT_TIMEOUT:-180}   # a good boot takes 2-4 s; a hang must not stall the tier
MARK='@@hc-lab'

log() { printf 'boot: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs qemu and prefixes each console line with the seconds since launch.  Timing
# lines here, on the host, measures what the tier waits for, boot included.
run_qemu() { # kernel append console-file
        local t0 line us
        t0=${EPOCHREALTIME/./}
        timeout --kill-after=5 "$TIMEOUT" qemu-system-aarch64 \
                -M virt,virtualization=on,gic-version=3 -cpu "$CPU" -accel tcg \
                -m 1024 -smp 1 -nographic -no-reboot \
                -kernel "$1" -initrd "$INITRD" -append "$2" </dev/null 2>&1 |
                while IFS= read -r line || [[ -n $line ]]; do
                        us=$((${EPOCHREALTIME/./} - t0))
                        printf '%d.%03d %s\n' $((us / 1000000)) $((us / 1000 % 1000)) "${line%$'\r'}"
                done >"$3"
        return "${PIPESTATUS[0]}"
}

# Host seconds at the first console line carrying this report.
marker_time() { awk -v m="$MARK $1" 'index($0, m) { print $1; exit }' "$CONSOLE"; }
# key=value out of the first report line of that kind.
marker_field() { awk -v m="$MARK $1" -v k="$2=" 'index($0, m) {
        for (i = 1; i <= NF; i++) if (index($i, k) == 1) { print substr($i, length(k) + 1); exit } }' "$CONSOLE"; }

# A document: the lines strictly between NAME-begin and NAME-end, time prefix cut.
extract() {
        awk -v b="$MARK $1-begin" -v e="$MARK $1-end" '
                index($0, e) { inside = 0 }
                inside { sub(/^[0-9]+\.[0-9]+ /, ""); print }
                index($0, b) { inside = 1 }' "$CONSOLE"
}

main() {
        [[ $# -eq 4 ]] || die "usage: boot.sh KVER CPU HOSTNAME OUTFILE"
        KVER=$1 CPU=$2 HOST=$3 OUTFILE=$4
        local kernel=$CACHE/kernels/$KVER/vmlinuz rc=0 t_user t_end up0 up1 probe_rc probe_s
        [[ -f $kernel ]] || die "no kernel $KVER in $CACHE/kernels (run fetch.sh)"
        [[ -f $INITRD ]] || die "no initramfs $INITRD (run build-initramfs.sh)"
        mkdir -p "$(dirname "$OUTFILE")"
        CONSOLE=${OUTFILE%.json}.console
        VCPU_OUT=$(dirname "$OUTFILE")/vcpu/$HOST.json
        rm -f "$OUTFILE" "$VCPU_OUT"

        run_qemu "$kernel" "console=ttyAMA0 panic=-1 hc.host=$HOST" "$CONSOLE" || rc=$?
        t_user=$(marker_time userspace)
        t_end=$(awk 'END { print $1 }' "$CONSOLE")
        up0=$(marker_field probe-start uptime)
        up1=$(marker_field probe-end uptime)
        probe_rc=$(marker_field probe-end rc)
        probe_s=NA
        [[ -n $up0 && -n $up1 ]] && probe_s=$(awk -v a="$up0" -v b="$up1" 'BEGIN { printf "%.2f", b - a }')
        printf 'boot kver=%s cpu=%s host=%s rc=%s boot_s=%s probe_s=%s total_s=%s\n' \
                "$(readlink "$CACHE/kernels/$KVER" || echo "$KVER")" "$CPU" "$HOST" \
                "${probe_rc:-NA}" "${t_user:-NA}" "$probe_s" "${t_end:-NA}"

        ((rc != 124 && rc != 137)) || die "$KVER/$CPU: no power-off within ${TIMEOUT}s (see $CONSOLE)"
        ((rc == 0)) || die "$KVER/$CPU: qemu exited with $rc (see $CONSOLE)"
        [[ -n $t_user ]] || die "$KVER/$CPU: /init never ran (see $CONSOLE)"
        extract record >"$OUTFILE.tmp"
        [[ -s $OUTFILE.tmp ]] || { rm -f "$OUTFILE.tmp"; die "$KVER/$CPU: no record on the console (see $CONSOLE)"; }
        mv "$OUTFILE.tmp" "$OUTFILE"
        # The vCPU register set goes beside it, where check-migration looks (DIR/vcpu/HOST.json).
        mkdir -p "$(dirname "$OUTFILE")/vcpu"
        extract vcpu >"$VCPU_OUT.tmp"
        [[ -s $VCPU_OUT.tmp ]] || { rm -f "$VCPU_OUT.tmp"; die "$KVER/$CPU: no vCPU register set on the console (see $CONSOLE)"; }
        mv "$VCPU_OUT.tmp" "$VCPU_OUT"
        [[ $probe_rc == 0 ]] || die "$KVER/$CPU: probe exited with ${probe_rc:-?} (see $CONSOLE)"
}

main "$@"

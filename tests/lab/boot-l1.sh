#!/bin/bash
# boot-l1.sh NAME KVER CPU INITRD JOBDIR OUTDIR: boot one emulated arm64 KVM host (L1)
# of the nested tier and sort what it reported.
#
#   NAME     this boot's name (file names, host name hc.host=NAME for the probe)
#   KVER     kernel under $HC_LAB_CACHE/kernels (5.10, 6.1, 6.12, 7 or a full version)
#   CPU      qemu -cpu model of the emulated host (max,pauth-impdef=on is the fast one)
#   INITRD   the userland image (build-userland.sh: initrd-nested or initrd-libvirt)
#   JOBDIR   this boot's own files: job.sh and whatever it uses (plans/, incoming/);
#            packed as /lab/... into a second archive appended to INITRD
#   OUTDIR   results:
#              NAME.console                 the console, seconds since qemu start per line
#              NAME.record.json             the host's probe record
#              runs/<ID>.serial / .stderr   per L2 run: the guest's lines, QEMU's output
#              runs/<ID>.meta               kernel=, boot=, rc=, secs= of the run
#              streams/<ID>.mig             a migration stream a save=1 run printed
# Prints one line: boot name=.. kver=.. cpu=.. rc=.. boot_s=.. total_s=..
# Environment: HC_LAB_L1_MEM (MiB, default 1024), HC_LAB_BOOT_TIMEOUT (s, default 600).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${HC_LAB_CACHE:-/var/cache/hypercall-lab}
TIMEOUT=${HC_LAB_BOOT_TIMEOUT:-600}
MEM=${HC_LAB_L1_MEM:-1024}
# shellcheck source=lib.sh
. "$HERE/lib.sh"

log() { printf 'boot-l1: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

run_qemu() { # kernel initrd append console
        local t0 line us
        t0=${EPOCHREALTIME/./}
        timeout --kill-after=5 "$TIMEOUT" qemu-system-aarch64 \
                -M virt,virtualization=on,gic-version=3 -cpu "$CPU" -accel tcg \
                -m "$MEM" -smp 1 -nographic -no-reboot \
                -kernel "$1" -initrd "$2" -append "$3" </dev/null 2>&1 |
                while IFS= read -r line || [[ -n $line ]]; do
                        us=$((${EPOCHREALTIME/./} - t0))
                        printf '%d.%03d %s\n' $((us / 1000000)) $((us / 1000 % 1000)) "${line%$'\r'}"
                done >"$4"
        return "${PIPESTATUS[0]}"
}

# One pass over the console: per-run files, streams (base64 of gzip), the record.
split_console() {
        mkdir -p "$OUTDIR/runs" "$OUTDIR/streams"
        awk -v out="$OUTDIR" -v name="$NAME" -v kver="$KVER" '
                { sub(/^[0-9]+\.[0-9]+ /, "") }
                $1 == "@@hc-serial" || $1 == "@@hc-stderr" || $1 == "@@hc-blob" {
                        ext = $1 == "@@hc-serial" ? "serial" : ($1 == "@@hc-stderr" ? "stderr" : "b64")
                        line = $0
                        sub(/^@@hc-[a-z]+ [^ ]+ ?/, "", line)
                        f = out "/runs/" $2 "." ext
                        if (ext == "b64") f = out "/streams/" $2 ".b64"
                        if (!(f in seen)) { printf "" > f; seen[f] = 1 }
                        print line >> f
                        next
                }
                $1 == "@@hc-run" && $3 == "end" {
                        f = out "/runs/" $2 ".meta"
                        printf "kernel=%s\nboot=%s\n%s\n%s\n", kver, name, $4, $5 > f
                        close(f)
                        for (s in seen) close(s)
                        next
                }
                $1 == "@@hc-l1" && $2 == "blob" && $4 == "end" {
                        f = out "/streams/" $3 ".sha256"
                        sub(/^sha256=/, "", $5)
                        print $5 > f
                        close(f)
                        next
                }
                $1 == "@@hc-l1" && $2 == "record-end" { inrec = 0; close(rec) }
                inrec { print > rec }
                $1 == "@@hc-l1" && $2 == "record-begin" { inrec = 1; rec = out "/" name ".record.json"; printf "" > rec }
        ' "$CONSOLE"
        local b id
        for b in "$OUTDIR"/streams/*.b64; do
                [[ -f $b ]] || continue
                id=$(basename "$b" .b64)
                if ! base64 -d <"$b" | gunzip >"$OUTDIR/streams/$id.mig" ||
                        [[ "$(sha256sum <"$OUTDIR/streams/$id.mig" | cut -d' ' -f1)" != "$(cat "$OUTDIR/streams/$id.sha256" 2>/dev/null)" ]]; then
                        log "$NAME: stream $id arrived damaged"
                        rm -f "$OUTDIR/streams/$id.mig"
                fi
                rm -f "$b"
        done
}

main() {
        [[ $# -eq 6 ]] || die "usage: boot-l1.sh NAME KVER CPU INITRD JOBDIR OUTDIR"
        NAME=$1 KVER=$2 CPU=$3 INITRD=$4 JOBDIR=$5 OUTDIR=$6
        local kernel=$CACHE/kernels/$KVER/vmlinuz rc=0 t_user t_end combined
        [[ -f $kernel ]] || die "no kernel $KVER in $CACHE/kernels (run fetch.sh)"
        [[ -f $INITRD ]] || die "no initramfs $INITRD (run build-userland.sh)"
        [[ -f $JOBDIR/job.sh ]] || die "no $JOBDIR/job.sh"
        mkdir -p "$OUTDIR"
        CONSOLE=$OUTDIR/$NAME.console
        # The job as /lab/..., appended: the kernel unpacks concatenated archives in order.
        combined=$(mktemp "$OUTDIR/.initrd.XXXXXX")
        local stage
        stage=$(mktemp -d "$OUTDIR/.job.XXXXXX")
        mkdir -p "$stage/lab"
        cp -a "$JOBDIR/." "$stage/lab/"
        LAB_GZIP_LEVEL=1 lab_pack "$stage" "$stage.cpio.gz" --no-console
        cat "$INITRD" "$stage.cpio.gz" >"$combined"
        rm -rf "$stage" "$stage.cpio.gz"

        run_qemu "$kernel" "$combined" "console=ttyAMA0 panic=-1 hc.host=$NAME" "$CONSOLE" || rc=$?
        rm -f "$combined"
        t_user=$(awk 'index($0, "@@hc-l1 userspace") { print $1; exit }' "$CONSOLE")
        t_end=$(awk 'END { print $1 }' "$CONSOLE")
        split_console
        printf 'boot name=%s kver=%s cpu=%s rc=%s boot_s=%s total_s=%s\n' "$NAME" \
                "$(readlink "$CACHE/kernels/$KVER" || echo "$KVER")" "$CPU" "$rc" "${t_user:-NA}" "${t_end:-NA}"
        ((rc != 124 && rc != 137)) || die "$NAME: no power-off within ${TIMEOUT}s (see $CONSOLE)"
        ((rc == 0)) || die "$NAME: qemu exited with $rc (see $CONSOLE)"
        [[ -n $t_user ]] || die "$NAME: /init never ran (see $CONSOLE)"
        grep -q '@@hc-l1 job-end' "$CONSOLE" || die "$NAME: the job did not finish (see $CONSOLE)"
}

main "$@"

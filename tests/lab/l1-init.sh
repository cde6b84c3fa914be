#!/bin/busybox sh
# shellcheck shell=dash
# /init of the nested tier's emulated arm64 KVM hosts (L1), packed by
# build-userland.sh; the per-boot part (/lab/job.sh, plans, migration streams)
# arrives as a second archive appended by boot-l1.sh.
#
# It probes the host with the real hypercallctl (the record is what this host
# offers), then runs the job: L2 guests under Debian's QEMU with -accel kvm
# (l1-lib.sh).  Every report line starts with "@@hc-" so kernel messages can
# never be taken for one.  Kernel command line: hc.host=NAME (the record's host
# name), hc.shell (a shell instead of the power-off).

/bin/busybox --install -s /bin 2>/dev/null
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null   # /dev/kvm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run

# shellcheck source=l1-lib.sh
. /lab/l1-lib.sh

say "userspace uptime=$(up)"
say "kernel $(uname -r)"
dmesg | grep -m1 -E 'kvm \[[0-9]+\]: (VHE|Hyp|Protected|nVHE)' | sed 's/^/@@hc-l1 kvm-init /'
dmesg -n 1

host=$(cmdline_value hc.host)
mkdir -p /var/lib/hypercall
if hypercallctl probe --json --host "${host:-l1}" >/var/lib/hypercall/host.json 2>/tmp/probe.err; then
        say "record-begin"
        cat /var/lib/hypercall/host.json
        say "record-end"
else
        sed 's/^/@@hc-l1 probe-error /' /tmp/probe.err
fi

if [ -f /lab/job.sh ]; then
        say "job-begin uptime=$(up)"
        # shellcheck source=/dev/null # written per boot by run-nested-tier.sh or demo.sh
        . /lab/job.sh
        say "job-end uptime=$(up)"
else
        say "no /lab/job.sh"
fi

case " $(cat /proc/cmdline) " in *" hc.shell "*) exec sh ;; esac
say "poweroff uptime=$(up)"
poweroff -f

#!/bin/busybox sh
# shellcheck shell=dash
# /init of the lab's emulated arm64 KVM host (packed by build-initramfs.sh).
#
# Probes KVM once with the real hypercallctl and reports on the console, where
# boot.sh reads it.  Every report line starts with "@@hc-lab " so kernel messages
# and probe diagnostics can never be mistaken for it; the record itself sits
# between the record-begin and record-end lines.
#
# Kernel command line:
#   hc.host=NAME   host name for the record (probe --host)
#   hc.shell       a shell instead of the power-off, for interactive debugging

/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null   # /dev/kvm
mount -t tmpfs tmpfs /tmp

uptime_s() { cut -d' ' -f1 /proc/uptime; }

cmdline_value() { # key: value of key=value on the kernel command line
        # shellcheck disable=SC2013 # the command line is one line of words
        for w in $(cat /proc/cmdline); do
                case $w in "$1"=*) echo "${w#*=}" ;; esac
        done
}

report() { echo "@@hc-lab $*"; }

report "userspace uptime=$(uptime_s)"
report "kernel $(uname -r)"
report "midr $(cat /sys/devices/system/cpu/cpu0/regs/identification/midr_el1 2>/dev/null)"
# How KVM came up (VHE, nVHE, protected): context for a failing record.
dmesg | grep -m1 -E 'kvm \[[0-9]+\]: (VHE|Hyp|Protected|nVHE)' | sed 's/^/@@hc-lab kvm-init /'
# From here on only emergencies reach the console: a late kernel message in the
# middle of the record would corrupt it.
dmesg -n 1

host=$(cmdline_value hc.host)
report "probe-start uptime=$(uptime_s) host=${host:-?}"
if [ -n "$host" ]; then
        hypercallctl probe --json --host "$host" --vcpu-regs /tmp/vcpu.json >/tmp/record.json 2>/tmp/probe.err
else
        hypercallctl probe --json --vcpu-regs /tmp/vcpu.json >/tmp/record.json 2>/tmp/probe.err
fi
rc=$?
report "probe-end uptime=$(uptime_s) rc=$rc"
sed 's/^/@@hc-lab stderr /' /tmp/probe.err
report "record-begin"
cat /tmp/record.json
# keep the end marker on its own line even if the output lacks a final newline
[ -z "$(tail -c1 /tmp/record.json)" ] || echo
report "record-end"
if [ -s /tmp/vcpu.json ]; then
        report "vcpu-begin"
        cat /tmp/vcpu.json
        [ -z "$(tail -c1 /tmp/vcpu.json)" ] || echo
        report "vcpu-end"
fi

case " $(cat /proc/cmdline) " in *" hc.shell "*) exec sh ;; esac
report "poweroff uptime=$(uptime_s)"
poweroff -f

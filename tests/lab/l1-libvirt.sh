# shellcheck shell=dash
# l1-libvirt.sh: the whole push path with libvirt, inside an emulated host booted
# with the libvirt userland (build-userland.sh initrd-libvirt).  Sourced by a job
# after l1-lib.sh, with:
#   K             the kernel series (run names are K.lv-...)
#   LV_MODE       "test" (default: every step below), "demo" (demo.sh: the guest on
#                 this host once before hypercall is installed and once under it), or
#                 "functions" (define the functions only)
#   LV_POOL       the pool the domain names in its metadata (this host must be a member)
#   LV_FOREIGN    a pool this host is not a member of (the hook must refuse it)
#   /lab/baseline.json        the baseline file hypercalld would keep for the fleet
#   /lab/baseline-stale.json  one computed from a stale record of this host (a newer
#                             kernel than it runs now): the shim must refuse it
#
# libvirtd runs as root without systemd, dbus or virtlogd (arm64-lab.md), QEMU as
# libvirt-qemu (uid 64055, in group kvm); hypercall is
# installed as docs/push-path-design.md tells an operator: the `cmake --install` tree
# (/opt/hypercall-install), then SIGHUP to libvirtd, the wrapper as <emulator>, the
# pool in the domain's metadata.  Each step is reported like an L2 run (l1-lib.sh):
#   @@hc-serial ID   the domain's console lines this step produced
#   @@hc-stderr ID   virsh's output, the new lines of the domain's QEMU log, facts
#   @@hc-run ID end rc=N secs=S

LV_UUID=5b0e3c1a-7d2f-4c8e-9a61-2f4d8b7c6e01
LV_FOREIGN_UUID=5b0e3c1a-7d2f-4c8e-9a61-2f4d8b7c6e02
export LIBVIRT_DEFAULT_URI=qemu:///system

lv_setup() {
        # libvirt resolves its built-in default user before it reads qemu.conf
        printf 'root:x:0:0:root:/root:/bin/sh\nlibvirt-qemu:x:64055:64055::/var/lib/libvirt:/bin/false\n' >/etc/passwd
        printf 'root:x:0:\nkvm:x:994:libvirt-qemu\nlibvirt-qemu:x:64055:\nlibvirt:x:995:\n' >/etc/group
        rm -rf /var/run
        ln -s /run /var/run
        mkdir -p /root /run/libvirt /var/lib/libvirt/qemu /var/log/libvirt/qemu /var/cache/libvirt/qemu \
                /etc/libvirt /var/lib/hypercall
        # Debian's config files are in libvirt-daemon-system, which pulls in systemd
        # QEMU runs as Debian's libvirt-qemu with /dev/kvm through group kvm, as on a
        # Debian host (udev's 0660 root:kvm), so the plan's group handover is real.
        chgrp kvm /dev/kvm
        chmod 0660 /dev/kvm
        cat >/etc/libvirt/qemu.conf <<'C'
user = "libvirt-qemu"
group = "libvirt-qemu"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
namespaces = [ ]
cgroup_controllers = [ ]
C
        echo 'log_outputs = "3:stderr"' >/etc/libvirt/libvirtd.conf
}

lv_daemon() {
        libvirtd >>/tmp/libvirtd.log 2>&1 &
        n=0
        while [ ! -S /run/libvirt/libvirt-sock ] && [ $n -lt 240 ]; do
                usleep 250000
                n=$((n + 1))
        done
        say "libvirtd up uptime=$(up) pid=$(pidof libvirtd)"
}

# A domain of the L2 guest that stays up; with a pool, the metadata names it and the
# emulator is hypercall's wrapper; without one, plain QEMU and no metadata.
lv_domain() { # name uuid [pool]
        meta='' emulator=/usr/bin/qemu-system-aarch64
        if [ -n "${3:-}" ]; then
                meta="<metadata><hypercall:vm xmlns:hypercall=\"urn:hypercall:vm:1\" pool=\"$3\"/></metadata>"
                emulator=/usr/libexec/hypercall/qemu-system-aarch64
        fi
        cat >"/tmp/$1.xml" <<X
<domain type='kvm'>
  <name>$1</name>
  <uuid>$2</uuid>
  $meta
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='aarch64' machine='virt'>hvm</type>
    <kernel>/lab/guest/hc-l2-guest-stay.elf</kernel>
  </os>
  <features><gic version='3'/></features>
  <cpu mode='host-passthrough'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$emulator</emulator>
    <serial type='file'><source path='/tmp/$1.console' append='on'/></serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
X
}

lines() { if [ -f "$1" ]; then grep -c '' "$1"; else echo 0; fi; }

# vstep ID DOMAIN WANT_GUEST COMMAND...: one step; WANT_GUEST=1 waits for the guest's
# new pass (its "stay" line) after a successful command.
vstep() {
        id=$1 dom=$2 want=$3
        shift 3
        con=/tmp/$dom.console
        qlog=/var/log/libvirt/qemu/$dom.log
        c0=$(lines "$con")
        l0=$(lines "$qlog")
        t0=$(up)
        say "run $id begin uptime=$t0 $*"
        "$@" >"/tmp/$id.out" 2>&1
        rc=$?
        if [ "$rc" = 0 ] && [ "$want" = 1 ]; then
                n=0
                while ! tail -n +$((c0 + 1)) "$con" 2>/dev/null | grep -q 'event stay' && [ $n -lt 600 ]; do
                        usleep 200000
                        n=$((n + 1))
                done
        fi
        secs=$(secs_since "$t0")
        tail -n +$((c0 + 1)) "$con" 2>/dev/null | tr -d '\r' | sed "s/^/@@hc-serial $id /"
        { cat "/tmp/$id.out"; tail -n +$((l0 + 1)) "$qlog" 2>/dev/null; lv_facts "$dom"; } | sed "s/^/@@hc-stderr $id /"
        echo "@@hc-run $id end rc=$rc secs=$secs"
}

# What the checks look at besides the console: the plan, the domain's state and QEMU's pid.
lv_facts() { # domain
        uuid=$LV_UUID
        [ "$1" = web-vm ] || uuid=$LV_FOREIGN_UUID
        if [ -f "/run/hypercall/vm/$uuid.plan" ]; then
                sed 's/^/fact plan: /' "/run/hypercall/vm/$uuid.plan"
                echo "fact plan-owner: $(stat -c '%u:%g %a' "/run/hypercall/vm/$uuid.plan")"
        else
                echo "fact plan: none"
        fi
        echo "fact state: $(timeout 30 virsh domstate "$1" 2>&1 | head -1)"
        pid=$(cat "/run/libvirt/qemu/$1.pid" 2>/dev/null || echo none)
        echo "fact qemu-pid: $pid"
        [ "$pid" = none ] || echo "fact qemu-ids: $(awk '/^Uid:/ { u = $2 } /^Gid:/ { g = $2 } END { print u ":" g }' "/proc/$pid/status")"
}

# Stop libvirtd, start it again; the domain must still run, under the same QEMU.
lv_restart_daemon() { # domain
        before=$(cat "/run/libvirt/qemu/$1.pid" 2>/dev/null)
        kill "$(pidof libvirtd)"
        n=0
        while pidof libvirtd >/dev/null && [ $n -lt 150 ]; do
                usleep 200000
                n=$((n + 1))
        done
        rm -f /run/libvirt/libvirt-sock
        lv_daemon
        state=$(timeout 60 virsh domstate "$1" 2>&1 | head -1)
        after=$(cat "/run/libvirt/qemu/$1.pid" 2>/dev/null)
        echo "state after the restart: $state; QEMU pid $before before, $after after"
        [ "$state" = running ] && [ -n "$before" ] && [ "$before" = "$after" ] && kill -0 "$after"
}

lv_stale_start() { # domain
        cp /var/lib/hypercall/baseline.json /tmp/baseline.good
        cp /lab/baseline-stale.json /var/lib/hypercall/baseline.json
        timeout 120 virsh start "$1"
        rc=$?
        cp /tmp/baseline.good /var/lib/hypercall/baseline.json
        return $rc
}

# The operator's install (docs/push-path-design.md "Installing"): the files of
# `cmake --install`, then SIGHUP so libvirtd notices the new hook.
lv_install() {
        cp -a /opt/hypercall-install/. /
        kill -HUP "$(pidof libvirtd)"
        sleep 1
        cp /lab/baseline.json /var/lib/hypercall/baseline.json
        say "installed: $(find /opt/hypercall-install -type f | sed 's:^/opt/hypercall-install::' | tr '\n' ' ')"
}

# demo.sh: the same guest on this host before hypercall is installed, then under it.
lv_demo() {
        lv_setup
        lv_daemon
        timeout 300 virsh version >/dev/null 2>&1
        lv_domain plain-vm 5b0e3c1a-7d2f-4c8e-9a61-2f4d8b7c6e03
        vstep "$K.demo-plain" plain-vm 1 sh -c 'timeout 300 virsh define /tmp/plain-vm.xml && timeout 120 virsh start plain-vm'
        timeout 120 virsh destroy plain-vm >/dev/null 2>&1
        lv_install
        lv_domain web-vm "$LV_UUID" "$LV_POOL"
        vstep "$K.demo-vm" web-vm 1 sh -c 'timeout 300 virsh define /tmp/web-vm.xml && timeout 120 virsh start web-vm'
        timeout 120 virsh destroy web-vm >/dev/null 2>&1
}

lv_main() {
        lv_setup
        lv_daemon
        # The socket accepts clients only once the drivers are up: a SIGHUP before that
        # is ignored ("Drivers are not initialized, reload ignored").
        timeout 300 virsh version >/dev/null 2>&1
        say "libvirtd ready uptime=$(up)"
        lv_install
        lv_domain web-vm "$LV_UUID" "$LV_POOL"
        lv_domain web-foreign "$LV_FOREIGN_UUID" "$LV_FOREIGN"
        vstep "$K.lv-define" web-vm 0 sh -c 'timeout 300 virsh define /tmp/web-vm.xml && timeout 300 virsh define /tmp/web-foreign.xml'
        vstep "$K.lv-start" web-vm 1 timeout 300 virsh start web-vm
        vstep "$K.lv-reset" web-vm 1 timeout 120 virsh reset web-vm
        vstep "$K.lv-stop" web-vm 0 timeout 120 virsh destroy web-vm
        vstep "$K.lv-restart" web-vm 1 timeout 120 virsh start web-vm
        vstep "$K.lv-reconnect" web-vm 0 lv_restart_daemon web-vm
        vstep "$K.lv-stop-again" web-vm 0 timeout 120 virsh destroy web-vm
        vstep "$K.lv-foreign-pool" web-foreign 0 timeout 120 virsh start web-foreign
        vstep "$K.lv-stale-plan" web-vm 0 lv_stale_start web-vm
        grep -iE 'error|reload|hook' /tmp/libvirtd.log | grep -vE 'dnsmasq|dbus|DBus|dmidecode|PVR' | head -30 |
                sed 's/^/@@hc-l1 libvirtd: /'
}

case ${LV_MODE:-test} in
test) lv_main ;;
demo) lv_demo ;;
functions) ;; # only the functions, for a job of its own
*) say "l1-libvirt.sh: unknown LV_MODE=$LV_MODE" ;;
esac

#!/bin/bash
# The libvirt hook (hook/hook.c) on the VM start path, against real files and
# real faults: a read-only or full filesystem, kill -9 in the middle of a
# plan write, a plan directory someone else could write, a fleet store that
# never answers.  libvirt is not needed for any of this (tests/libvirt runs
# the hook inside a real libvirtd): the hook is called as libvirt calls it,
# "hypercall DOMAIN prepare begin -" with the domain XML on stdin and
# LC_ALL=C PATH=... as its whole environment.
#
# The hook's paths are compiled in (/var/lib/hypercall, /run/hypercall, the
# shim's install path), so every case runs it in a private mount namespace
# held open by a `sleep` (the holder), where those paths are this test's own
# directories and file systems; nothing on the host changes.  The holder is
# stopped by its PID.  HOOK_RUNNER (e.g. valgrind) prefixes each hook run.
#
# Each test_<name> below is one ctest entry, hook__<name>.  Usage: run.sh NAME
# Needs (from ctest): HOOK, SHIM_SO, SHIM_PATH, HOOKTOOL, TOOL, SRC.
set -euo pipefail
: "${HOOK:?}" "${SHIM_SO:?}" "${SHIM_PATH:?}" "${HOOKTOOL:?}" "${TOOL:?}" "${SRC:?}"

T=$(mktemp -d /tmp/hc-hook-test.XXXXXX)
chmod 0755 "$T"
PIDS=()
HOLDER=
UUID=6f1c2a9e-4b7d-4c1e-9a53-0d2e8f7b1c44
UUID2=0b5e7c1d-2f3a-4b6c-8d9e-0a1b2c3d4e5f
HOST_PATH=/usr/sbin:/usr/bin:/sbin:/bin

cleanup() {
        local rc=$?
        for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
        for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
        rm -rf "$T"
        exit "$rc"
}
trap cleanup EXIT

# shellcheck source=../common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

# The namespace: tmpfs over /run (so /run/hypercall is ours), $T/state bound
# at /var/lib/hypercall, the built shim at its install path.  A missing mount
# point is made on a tmpfs over its nearest existing ancestor (only below
# /var/lib, /usr/local or /opt: the hook needs nothing else from there).
# RUN_SIZE: the size of the /run tmpfs (disk-full tests).
start_holder() {
        [ "$(id -u)" = 0 ] || skip "needs root (mount namespace, bind mounts)"
        unshare -m true 2>/dev/null || skip "cannot create a mount namespace here (unshare -m: not permitted)"
        mkdir -p "$T/state" "$T/shim"
        install -m 0644 "$SRC/tests/hook/data/baseline.json" "$T/state/baseline.json"
        install -m 0644 "$SRC/tests/hook/data/host.json" "$T/state/host.json"
        install -m 0644 "$SHIM_SO" "$T/shim/$(basename "$SHIM_PATH")"
        chmod 0750 "$T/state"
        # shellcheck disable=SC2016
        unshare -m --propagation private sh -c '
                set -e
                T=$1 SHIM_DIR=$2 RUN_SIZE=$3
                at() { # SRC DST: bind SRC at DST, making DST if needed
                        dst=$2 a=$2
                        while [ ! -d "$a" ]; do a=$(dirname "$a"); done
                        if [ "$a" != "$dst" ]; then
                                case $a in /var/lib|/var/lib/*|/usr/local|/usr/local/*|/opt|/opt/*) ;;
                                *) echo "no mount point for $dst below $a" >&2; exit 1 ;; esac
                                mount -t tmpfs -o mode=0755 hc-hook-test "$a"
                                mkdir -p "$dst"
                        fi
                        mount --bind "$1" "$dst"
                }
                mount -t tmpfs -o mode=0755,size=$RUN_SIZE hc-hook-run /run
                mkdir -m 0755 /run/hypercall
                at "$T/state" /var/lib/hypercall
                at "$T/shim" "$SHIM_DIR"
                echo ready >"$T/holder.ready"
                exec sleep infinity
        ' sh "$T" "$(dirname "$SHIM_PATH")" "${RUN_SIZE:-4m}" </dev/null >"$T/holder.log" 2>&1 &
        HOLDER=$!
        PIDS+=("$HOLDER")
        for _ in $(seq 100); do [ -f "$T/holder.ready" ] && return 0; sleep 0.05; done
        fail "the namespace did not come up: $(cat "$T/holder.log")"
}

# Runs a command in the namespace.
ns() { nsenter -t "$HOLDER" -m -- "$@"; }
# A path in the namespace, as the host sees it.
in_ns_path() { echo "/proc/$HOLDER/root$1"; }

# domain_xml NAME UUID POOL: an aarch64 domain delivering the shim with <qemu:env>.
# SECLABEL (environment): <seclabel> elements, as libvirt adds its DAC label
# by start begin (ARCH: the domain's architecture, aarch64 unless set).
domain_xml() {
        cat <<XML
<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$1</name>
  <uuid>$2</uuid>
  <metadata><hypercall:vm xmlns:hypercall='urn:hypercall:vm:1' pool='$3'/></metadata>
  <memory unit='MiB'>128</memory>
  <os><type arch='${ARCH:-aarch64}' machine='virt'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-aarch64</emulator></devices>
  <qemu:commandline><qemu:env name='LD_PRELOAD' value='$SHIM_PATH'/></qemu:commandline>
  ${SECLABEL:-}
</domain>
XML
}

# hook NAME UUID POOL OP: runs the hook as libvirt does; its stderr goes to $T/err, status to $?.
hook() {
        domain_xml "$1" "$2" "$3" >"$T/dom.xml"
        # shellcheck disable=SC2086
        ns env -i LC_ALL=C PATH=$HOST_PATH ${HOOK_RUNNER:-} "$HOOK" "$1" "$4" begin - <"$T/dom.xml" 2>"$T/err"
}

expect_refusal() { # NAME UUID POOL MESSAGE
        if hook "$1" "$2" "$3" prepare; then fail "$1 started; expected: $4"; fi
        grep -qxF "$4" "$T/err" || fail "$1: expected the refusal
  $4
got
  $(cat "$T/err")"
}

plan_file() { in_ns_path "/run/hypercall/vm/$1.plan"; }

no_temp_files() {
        local left
        left=$(ns sh -c 'ls /run/hypercall/vm/ 2>/dev/null | grep "\.tmp\." || true')
        [ -z "$left" ] || fail "temporary files left in /run/hypercall/vm: $left"
}

# libvirt's DAC label for QEMU's user and group (libvirt-qemu's on Debian);
# different numbers, so that a uid used for a gid shows.
QEMU_UID=65534
QEMU_GID=65532
DAC_LABEL="<seclabel type='dynamic' model='dac' relabel='yes'><label>+$QEMU_UID:+$QEMU_GID</label><imagelabel>+$QEMU_UID:+$QEMU_GID</imagelabel></seclabel>"

# owner_mode FILE: "UID:GID MODE" as the host sees it.
owner_mode() { stat -c '%u:%g %a' "$1"; }

# as_qemu CMD...: runs CMD in the namespace as QEMU's user (the wrapper's and the shim's view).
as_qemu() { ns setpriv --reuid "$QEMU_UID" --regid "$QEMU_GID" --clear-groups -- "$@"; }

# The start path's files have the modes the documentation states:
# docs/plan-format.md (plan 0440: root:root after prepare, root:QEMU's group
# from start begin on; directory 0755), the incoming marker 0600, and the
# tmpfiles entries docs/hypercalld.md lists (systemd-tmpfiles itself creates
# them here).
test_files_have_documented_modes() {
        start_holder
        hook web-vm "$UUID" web prepare || fail "prepare: $(cat "$T/err")"
        [ "$(stat -c %a "$(in_ns_path /run/hypercall/vm)")" = 755 ] || fail "plan directory mode $(stat -c %a "$(in_ns_path /run/hypercall/vm)")"
        [ "$(owner_mode "$(plan_file "$UUID")")" = "0:0 440" ] || fail "plan after prepare: $(owner_mode "$(plan_file "$UUID")")"
        SECLABEL=$DAC_LABEL hook web-vm "$UUID" web start || fail "start: $(cat "$T/err")"
        [ "$(owner_mode "$(plan_file "$UUID")")" = "0:$QEMU_GID 440" ] ||
                fail "plan after start: $(owner_mode "$(plan_file "$UUID")")"
        grep -q "^\*\*Mode 0440, root and QEMU's group; directory 0755\.\*\*" "$SRC/docs/plan-format.md" ||
                fail "docs/plan-format.md no longer states 0440 root:QEMU's group / 0755"
        grep -q "^d /run/hypercall/vm  *0755 root root" "$SRC/systemd/tmpfiles-hypercall.conf" || fail "tmpfiles and plan-format.md disagree"
        as_qemu "$HOOKTOOL" check-plan "/run/hypercall/vm/$UUID.plan" | grep -q "^$UUID web " ||
                fail "the shim, as QEMU's user, refuses the plan"
        no_temp_files
        # The incoming marker: only the hook reads it.
        hook web-vm "$UUID" web migrate || fail "migrate: $(cat "$T/err")"
        [ "$(owner_mode "$(in_ns_path "/run/hypercall/vm/$UUID.incoming")")" = "0:0 600" ] ||
                fail "incoming marker: $(owner_mode "$(in_ns_path "/run/hypercall/vm/$UUID.incoming")")"
        # stopped end removes it.
        ns env -i LC_ALL=C PATH=$HOST_PATH "$HOOK" web-vm stopped end - <"$T/dom.xml" || fail "stopped"
        [ ! -e "$(plan_file "$UUID")" ] || fail "plan left after stopped"
        # tmpfiles: what systemd-tmpfiles makes from systemd/tmpfiles-hypercall.conf.
        command -v systemd-tmpfiles >/dev/null || fail "systemd-tmpfiles missing (package systemd)"
        mkdir -p "$T/root"
        systemd-tmpfiles --create --root="$T/root" "$SRC/systemd/tmpfiles-hypercall.conf" ||
                fail "systemd-tmpfiles refused tmpfiles-hypercall.conf"
        local want
        # What docs/hypercalld.md says tmpfiles creates, with the modes of the conf file.
        for want in "/run/hypercall 755" "/run/hypercall/vm 755" "/var/lib/hypercall 750" "/var/lib/hypercall/fleet 755"; do
                set -- $want
                [ "$(stat -c '%a %U' "$T/root$1")" = "$2 root" ] || fail "$1: $(stat -c '%a %U' "$T/root$1"), expected $2 root"
        done
        grep -qF 'creates `/run/hypercall{,/vm}`, `/var/lib/hypercall{,/fleet}`' "$SRC/docs/hypercalld.md" ||
                fail "docs/hypercalld.md no longer lists the tmpfiles directories"
        echo "modes: plan 0440 0:0 after prepare, 0440 0:$QEMU_GID after start; marker 0600 root; plan directory 0755; tmpfiles 0755 0755 0750 0755 as documented"
}

# The plan is readable by QEMU and by root only, never by anyone else, not
# for a moment, and QEMU cannot change it.  libvirt generates the DAC label
# (the user and group QEMU runs as) after prepare begin and before start
# begin (tests/libvirt shows it), so prepare writes the plan root:root 0440,
# and start begin gives it to the label's group with fchmod(0440) then
# fchown(0, GID) on the one file: strace shows no other chmod or chown.  A
# static DAC label is already there at prepare: then the temp file gets mode
# and owner before its first byte and before the rename.  As QEMU's user and
# group the shim's reader accepts it but chmod is refused (not the owner:
# an owner could make it writable and rewrite it); root without capabilities
# (hypercalld: CapabilityBoundingSet= empty) reads it; another user cannot
# open it.
test_plan_is_readable_by_qemu_and_root_only() {
        command -v strace >/dev/null || fail "strace missing (tests/hook/host-packages.txt)"
        start_holder
        local trace=trace=openat,fchmod,fchown,chmod,chown,fchmodat,fchownat,lchown,rename,renameat,renameat2,write
        # (LeakSanitizer cannot run under ptrace.)
        domain_xml web-vm "$UUID" web >"$T/dom.xml"
        ns env -i LC_ALL=C PATH=$HOST_PATH ASAN_OPTIONS=detect_leaks=0 strace -qq -o "$T/prepare.strace" -e "$trace" \
                "$HOOK" web-vm prepare begin - <"$T/dom.xml" 2>"$T/err" || fail "prepare: $(cat "$T/err")"
        [ "$(owner_mode "$(plan_file "$UUID")")" = "0:0 440" ] || fail "plan after prepare: $(owner_mode "$(plan_file "$UUID")")"
        grep -E "chown" "$T/prepare.strace" && fail "prepare (no label yet) gave the plan an owner"
        SECLABEL=$DAC_LABEL domain_xml web-vm "$UUID" web >"$T/dom.xml"
        ns env -i LC_ALL=C PATH=$HOST_PATH ASAN_OPTIONS=detect_leaks=0 strace -qq -o "$T/start.strace" -e "$trace" \
                "$HOOK" web-vm start begin - <"$T/dom.xml" 2>"$T/err" || fail "start: $(cat "$T/err")"
        # The plan opened without following links, then mode, then owner, on that descriptor; nothing else changed.
        grep -vE "/etc/ld\.so|/lib/|/usr/lib|/proc/self|/dev/|/sys/|/var/lib/hypercall|libhypercall|journal" "$T/start.strace" |
                grep -vE '^\+\+\+|^---' | sed -E 's/^[0-9]+ +//; s/ +=  *[0-9-]+.*$/ = N/; s/\(([0-9]+),/(FD,/' >"$T/start.calls"
        printf '%s\n' "openat(AT_FDCWD, \"/run/hypercall/vm/$UUID.plan\", O_RDONLY|O_NOCTTY|O_NOFOLLOW|O_CLOEXEC) = N" \
                "fchmod(FD, 0440) = N" "fchown(FD, 0, $QEMU_GID) = N" >"$T/start.want"
        diff -u "$T/start.want" "$T/start.calls" || fail "start begin did more than open, fchmod 0440, fchown"
        [ "$(owner_mode "$(plan_file "$UUID")")" = "0:$QEMU_GID 440" ] ||
                fail "plan after start: $(owner_mode "$(plan_file "$UUID")")"
        as_qemu "$HOOKTOOL" check-plan "/run/hypercall/vm/$UUID.plan" >"$T/check" 2>&1 ||
                fail "QEMU's user cannot read its plan: $(cat "$T/check")"
        if as_qemu chmod 0666 "/run/hypercall/vm/$UUID.plan" 2>/dev/null; then fail "QEMU's user could chmod its plan"; fi
        if as_qemu sh -c "echo x >>/run/hypercall/vm/$UUID.plan" 2>/dev/null; then fail "QEMU's user could write its plan"; fi
        ns setpriv --bounding-set -all --inh-caps -all -- "$HOOKTOOL" check-plan "/run/hypercall/vm/$UUID.plan" >"$T/check" 2>&1 ||
                fail "root without capabilities (hypercalld) cannot read the plan: $(cat "$T/check")"
        if ns setpriv --reuid 65533 --regid 65533 --clear-groups -- "$HOOKTOOL" check-plan "/run/hypercall/vm/$UUID.plan" \
                >"$T/check" 2>&1; then fail "another user read the plan"; fi
        grep -qxF "/run/hypercall/vm/$UUID.plan: Permission denied" "$T/check" || fail "another user: $(cat "$T/check")"
        # A static label is known at prepare: the plan is born QEMU's user's.
        SECLABEL="<seclabel type='static' model='dac' relabel='no'><label>+$QEMU_UID:+$QEMU_GID</label></seclabel>" \
                domain_xml web-vm "$UUID2" web >"$T/dom.xml"
        ns env -i LC_ALL=C PATH=$HOST_PATH ASAN_OPTIONS=detect_leaks=0 strace -qq -o "$T/static.strace" -e "$trace" \
                "$HOOK" web-vm prepare begin - <"$T/dom.xml" 2>"$T/err" || fail "prepare, static label: $(cat "$T/err")"
        [ "$(owner_mode "$(plan_file "$UUID2")")" = "0:$QEMU_GID 440" ] ||
                fail "plan after prepare with a static label: $(owner_mode "$(plan_file "$UUID2")")"
        # On the temp file's descriptor: fchmod 0440, fchown, the first write, and only then the rename.
        grep -E "$UUID2\.plan\.tmp\.|^(fchmod|fchown|write)\(" "$T/static.strace" |
                grep -vE 'write\(2,' | sed -E 's/\(.*//' | uniq >"$T/static.calls"
        printf '%s\n' openat fchmod fchown write rename >"$T/static.want"
        diff -u "$T/static.want" "$T/static.calls" || fail "the temp file was not given mode and owner before its write and rename: $(cat "$T/static.strace")"
        grep -qE "^fchown\([0-9]+, 0, $QEMU_GID\) += 0" "$T/static.strace" || fail "fchown: $(grep fchown "$T/static.strace")"
        no_temp_files
        echo "plan: 0:0 0440 after prepare; open O_NOFOLLOW, fchmod 0440, fchown 0:$QEMU_GID at start; read by QEMU's user (no chmod, no write) and capability-less root, denied to uid 65533; static label: temp file fchmod+fchown before write and rename"
}

# Without a DAC label the hook cannot know who QEMU will be: start begin
# refuses the start with one line rather than leave the plan unreadable to
# QEMU or make it readable by everyone; a label it cannot read (user names,
# possible in a static label) is refused already at prepare.  Domains
# hypercall does not manage (not aarch64) are left alone as before.
test_start_without_a_dac_label_is_refused() {
        start_holder
        hook web-vm "$UUID" web prepare || fail "prepare: $(cat "$T/err")"
        if hook web-vm "$UUID" web start; then fail "started without a DAC label"; fi
        grep -qxF "hypercall: VM web-vm refused: cannot tell which user QEMU runs as: no DAC seclabel in the domain XML" "$T/err" ||
                fail "no label: $(cat "$T/err")"
        [ "$(owner_mode "$(plan_file "$UUID")")" = "0:0 440" ] || fail "the refused plan changed: $(owner_mode "$(plan_file "$UUID")")"
        # A label libvirt writes without a <label> (an inactive definition's) is no label.
        if SECLABEL="<seclabel type='dynamic' model='dac' relabel='yes'/>" hook web-vm "$UUID" web start; then
                fail "started with an empty DAC label"
        fi
        grep -qxF "hypercall: VM web-vm refused: cannot tell which user QEMU runs as: no DAC seclabel in the domain XML" "$T/err" ||
                fail "empty label: $(cat "$T/err")"
        local bad
        for bad in "qemu:kvm" "+65534" "+-1:+0" "+4294967295:+0" "65534:65534"; do
                if SECLABEL="<seclabel type='dynamic' model='dac'><label>$bad</label></seclabel>" hook web-vm "$UUID" web start; then
                        fail "started with DAC label $bad"
                fi
                grep -qxF "hypercall: VM web-vm refused: cannot tell which user QEMU runs as: the DAC seclabel \"$bad\" is not \"+UID:+GID\"" "$T/err" ||
                        fail "label $bad at start: $(cat "$T/err")"
        done
        [ "$(owner_mode "$(plan_file "$UUID")")" = "0:0 440" ] || fail "a refused start changed the plan: $(owner_mode "$(plan_file "$UUID")")"
        if SECLABEL="<seclabel type='static' model='dac' relabel='no'><label>qemu:kvm</label></seclabel>" hook web-vm "$UUID2" web prepare; then
                fail "prepare accepted a static label with names"
        fi
        grep -qxF "hypercall: VM web-vm refused: cannot tell which user QEMU runs as: the DAC seclabel \"qemu:kvm\" is not \"+UID:+GID\"" "$T/err" ||
                fail "static names at prepare: $(cat "$T/err")"
        [ ! -e "$(plan_file "$UUID2")" ] || fail "a refused prepare wrote a plan"
        # Not managed: an x86_64 domain without any label starts as before, nothing written.
        ARCH=x86_64 hook x86-vm "$UUID2" web prepare || fail "x86_64 prepare: $(cat "$T/err")"
        ARCH=x86_64 hook x86-vm "$UUID2" web start || fail "x86_64 start: $(cat "$T/err")"
        ARCH=x86_64 SECLABEL="<seclabel type='static' model='dac'><label>qemu:kvm</label></seclabel>" hook x86-vm "$UUID2" web start ||
                fail "x86_64 start with a named label: $(cat "$T/err")"
        [ ! -e "$(plan_file "$UUID2")" ] || fail "an unmanaged domain got a plan"
        echo "refused at start: no label, empty label, 5 malformed labels (one line each, plan left root:root 0440); names refused at prepare; x86_64 untouched"
}

# A plan directory someone other than root could write is refused before
# anything is written: a symbolic link, world-writable (even sticky), or a
# world-writable parent.  The VM does not start; nothing lands in the target.
test_refuses_symlinked_or_world_writable_plan_dir() {
        start_holder
        mkdir -m 0777 "$T/elsewhere"
        ns ln -s "$T/elsewhere" /run/hypercall/vm
        expect_refusal web-vm "$UUID" web \
                "hypercall: VM web-vm refused: cannot write the plan: /run/hypercall/vm: refusing a plan directory that is a symbolic link"
        [ -z "$(ls -A "$T/elsewhere")" ] || fail "the hook wrote through the symlink: $(ls -A "$T/elsewhere")"
        ns rm /run/hypercall/vm
        ns mkdir -m 0755 /run/hypercall/vm
        ns chmod 1777 /run/hypercall/vm
        expect_refusal web-vm "$UUID" web \
                "hypercall: VM web-vm refused: cannot write the plan: /run/hypercall/vm: refusing a plan directory that is world-writable (mode 1777)"
        ns chmod 0755 /run/hypercall/vm
        ns chmod 0777 /run/hypercall
        expect_refusal web-vm "$UUID" web \
                "hypercall: VM web-vm refused: cannot write the plan: /run/hypercall: refusing a plan directory's parent that is world-writable (mode 0777)"
        [ ! -e "$(plan_file "$UUID")" ] || fail "a refused start left a plan"
        ns chmod 0755 /run/hypercall
        hook web-vm "$UUID" web prepare || fail "after the fix: $(cat "$T/err")"
        # A symlinked plan file (placed by someone else) is replaced by the hook, never followed.
        ns sh -c "rm /run/hypercall/vm/$UUID.plan && ln -s $T/elsewhere/x /run/hypercall/vm/$UUID.plan"
        hook web-vm "$UUID" web prepare || fail "prepare over a symlinked plan: $(cat "$T/err")"
        [ ! -L "$(plan_file "$UUID")" ] && [ ! -e "$T/elsewhere/x" ] || fail "the hook followed a symlinked plan"
        echo "refused: symlinked plan directory, world-writable (sticky) plan directory, world-writable parent"
}

# /var/lib/hypercall read-only (a read-only root, a full /var remounted ro):
# the hook only reads it, so starts are still decided by the baseline there.
test_read_only_state_dir_still_decides_starts() {
        start_holder
        ns mount -o remount,bind,ro /var/lib/hypercall
        ns sh -c 'touch /var/lib/hypercall/x' 2>/dev/null && fail "the state directory is not read-only"
        hook web-vm "$UUID" web prepare || fail "web start refused on a read-only state directory: $(cat "$T/err")"
        "$HOOKTOOL" check-plan "$(plan_file "$UUID")" >/dev/null || fail "plan not whole"
        expect_refusal db-vm "$UUID2" db \
                "hypercall: VM db-vm refused: pool \"db\" is refused in baseline generation 1: service pv-time is required but db-02 lacks it"
        expect_refusal batch-vm "$UUID2" batch \
                "hypercall: VM batch-vm refused: this host (hc-lab-host) is not a member of pool \"batch\""
        echo "read-only /var/lib/hypercall: web started, db and batch refused, as the baseline says"
}

# /run/hypercall read-only or full: the plan cannot be written, so the VM
# must not start (the shim would refuse it anyway); the message says why, no
# torn plan or temp file is left, and other VMs' plans are untouched.
test_read_only_or_full_run_dir_refuses_cleanly() {
        RUN_SIZE=64k start_holder
        hook web-a "$UUID2" web prepare || fail "first plan: $(cat "$T/err")"
        local before
        before=$(cat "$(plan_file "$UUID2")")
        # Full: fill the 64 KiB tmpfs to the last byte.
        ns sh -c 'dd if=/dev/zero of=/run/hypercall/filler bs=4k 2>/dev/null; true'
        ns sh -c 'echo x >/run/hypercall/probe' 2>/dev/null && fail "the tmpfs is not full"
        expect_refusal web-vm "$UUID" web \
                "hypercall: VM web-vm refused: cannot write the plan: /run/hypercall/vm/$UUID.plan: cannot write: No space left on device"
        [ ! -e "$(plan_file "$UUID")" ] || fail "a plan was left on a full disk"
        no_temp_files
        [ "$(cat "$(plan_file "$UUID2")")" = "$before" ] || fail "another VM's plan changed"
        ns rm /run/hypercall/filler
        hook web-vm "$UUID" web prepare || fail "after freeing space: $(cat "$T/err")"
        # Read-only.
        ns mount -o remount,ro /run
        expect_refusal edge-vm "$UUID2" edge \
                "hypercall: VM edge-vm refused: cannot write the plan: /run/hypercall/vm/$UUID2.plan: cannot create temporary file: Read-only file system"
        [ "$(cat "$(plan_file "$UUID2")")" = "$before" ] || fail "the last good plan changed on a read-only /run"
        echo "full /run: refused with ENOSPC, nothing left; read-only /run: refused with EROFS, last plan intact"
}

# kill -9 of the hook during plan writes.  Odd runs are killed exactly at
# each step of the atomic write in turn, by strace delivering SIGKILL when the
# hook enters that syscall (a real kill -9, at a chosen moment): fchmod of the
# fresh temp file, its write, its fsync, the rename, the directory's fsync.
# Even runs are killed at random moments.  The plan is always the old one or
# the new one, whole; before the rename it is the old one and the temp file
# is left; the next run of the hook for the VM removes the temp file.
test_kill9_never_tears_a_plan() {
        command -v strace >/dev/null || fail "strace missing (tests/hook/host-packages.txt)"
        start_holder
        hook web-vm "$UUID" web prepare || fail "first plan: $(cat "$T/err")"
        local runs=40 steps=(fchmod:1 write:1 fsync:1 rename:1 fsync:2) step sc when old new got pid temps
        local -A seen=()
        for run in $(seq "$runs"); do
                old=$(sed -n 's/^pool //p' "$(plan_file "$UUID")")
                new=$([ "$old" = web ] && echo edge || echo web)
                domain_xml web-vm "$UUID" "$new" >"$T/dom.xml"
                if [ $((run % 2)) = 1 ]; then
                        step=${steps[$(( (run / 2) % ${#steps[@]} ))]}
                        sc=${step%:*} when=${step#*:}
                        # (LeakSanitizer cannot run under ptrace.)
                        ns env -i LC_ALL=C PATH=$HOST_PATH ASAN_OPTIONS=detect_leaks=0 strace -qq -o /dev/null \
                                -e trace="$sc" -e inject="$sc:signal=KILL:when=$when" "$HOOK" web-vm prepare begin - \
                                <"$T/dom.xml" 2>"$T/hook.err" && fail "run $run: the hook survived its kill at $step"
                        temps=$(ls "$(in_ns_path /run/hypercall/vm)" | grep -c "\.tmp\." || true)
                        got=$(sed -n 's/^pool //p' "$(plan_file "$UUID")")
                        case $step in
                        rename:1) [ "$temps" -le 1 ] || fail "run $run: $temps temp files" ;;
                        fsync:2) [ "$got" = "$new" ] && [ "$temps" = 0 ] ||
                                fail "run $run: killed after the rename: expected the new plan and no temp file, got $got and $temps" ;;
                        *) [ "$got" = "$old" ] && [ "$temps" = 1 ] ||
                                fail "run $run: killed at $step before the rename: expected the old plan and its temp file, got $got and $temps" ;;
                        esac
                        seen[$step]=1
                else
                        nsenter -t "$HOLDER" -m -- env -i LC_ALL=C PATH="$HOST_PATH" "$HOOK" web-vm prepare begin - \
                                <"$T/dom.xml" 2>"$T/hook.err" &
                        pid=$!
                        PIDS+=("$pid")
                        sleep "0.00$((RANDOM % 10))"
                        kill -KILL "$pid" 2>/dev/null || true
                        wait "$pid" 2>/dev/null || true
                        temps=$(ls "$(in_ns_path /run/hypercall/vm)" | grep -c "\.tmp\." || true)
                        [ "$temps" -le 1 ] || fail "run $run: temp files pile up: $temps"
                fi
                "$HOOKTOOL" check-plan "$(plan_file "$UUID")" >"$T/check" 2>&1 || fail "run $run: torn plan: $(cat "$T/check")"
                got=$(sed -n 's/^pool //p' "$(plan_file "$UUID")")
                [ "$got" = "$old" ] || [ "$got" = "$new" ] || fail "run $run: pool $got is neither $old nor $new"
        done
        [ "${#seen[@]}" = "${#steps[@]}" ] || fail "not every step was killed: ${!seen[*]}"
        echo "kill -9: $runs runs, $((runs / 2)) at each write step in turn (${steps[*]}), $((runs / 2)) at random moments; every plan whole"
        hook web-vm "$UUID" web prepare || fail "the next start: $(cat "$T/err")"
        no_temp_files
}

# The fleet store and hypercalld may be slow or hung (a shared filesystem
# that stopped answering, a daemon stuck in a recomputation): the start path
# never waits on them.  The store here is real and really hangs: every
# record is a FIFO with no writer, so any open() of it blocks forever (shown
# first with cat); the system bus address names a socket that accepts
# nothing.  The hook decides in well under its 30 s alarm, and strace shows
# it opened nothing in the store and connected to no bus.
test_slow_store_is_never_waited_on() {
        command -v strace >/dev/null || fail "strace missing (tests/hook/host-packages.txt)"
        start_holder
        mkdir -p "$T/state/fleet"
        for h in hc-lab-host web-02 edge-01 batch-01 db-01 db-02; do mkfifo "$T/state/fleet/$h.json"; done
        if timeout 2 cat "$T/state/fleet/web-02.json" >/dev/null 2>&1; then fail "the FIFO store did not hang"; fi
        python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(0); open(sys.argv[2],"w").close(); time.sleep(120)' \
                "$T/bus.sock" "$T/bus.ready" &
        PIDS+=($!)
        for _ in $(seq 100); do [ -f "$T/bus.ready" ] && break; sleep 0.05; done
        domain_xml web-vm "$UUID" web >"$T/dom.xml"
        local start end
        start=$(date +%s%N)
        # (LeakSanitizer cannot run under ptrace: an ASan build checks leaks in the other tests.)
        ns env -i LC_ALL=C PATH=$HOST_PATH DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus.sock" ASAN_OPTIONS=detect_leaks=0 \
                timeout 20 strace -f -qq -e trace=%file,%network -o "$T/strace" "$HOOK" web-vm prepare begin - \
                <"$T/dom.xml" 2>"$T/err" || fail "prepare with a hung store: $(cat "$T/err")"
        end=$(date +%s%N)
        grep -E "fleet" "$T/strace" && fail "the hook looked into the store"
        grep -E "connect\(" "$T/strace" | grep -v '"/run/systemd/journal/socket"' && fail "the hook connected somewhere"
        grep -q "bus.sock" "$T/strace" && fail "the hook touched the bus"
        echo "hung store + silent bus: decided in $(( (end - start) / 1000000 )) ms under strace; files opened:"
        grep -oE '(open|openat|stat|newfstatat|access)\([^"]*"[^"]*"' "$T/strace" | grep -oE '"[^"]*"' |
                grep -vE '^"/(usr/)?lib|^"/etc/ld\.so|^"/proc/self' | sort -u | tr '\n' ' '
        echo
        [ $(( (end - start) / 1000000 )) -lt 10000 ] || fail "the hook took over 10 s"
        # A refusal is reported to hypercalld over the bus (ReportVmRefused), best effort:
        # against the silent bus it gives up after half a second, it does not hang the start.
        domain_xml db-vm "$UUID2" db >"$T/dom.xml"
        start=$(date +%s%N)
        ns env -i LC_ALL=C PATH=$HOST_PATH DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus.sock" "$HOOK" db-vm prepare begin - \
                <"$T/dom.xml" 2>"$T/err" && fail "db-vm started"
        end=$(date +%s%N)
        grep -q 'pool "db" is refused' "$T/err" || fail "refusal: $(cat "$T/err")"
        echo "refused start with the silent bus: $(( (end - start) / 1000000 )) ms"
        [ $(( (end - start) / 1000000 )) -lt 5000 ] || fail "a refused start waited $(( (end - start) / 1000000 )) ms on the bus"
}

# reconnect never fails, whatever is broken (a failing reconnect hook kills
# a running VM): no baseline, no plan directory, read-only /run.
test_reconnect_never_fails_on_faults() {
        start_holder
        rm "$T/state/baseline.json" "$T/state/host.json"
        ns mount -o remount,ro /run
        hook web-vm "$UUID" web reconnect || fail "reconnect failed: $(cat "$T/err")"
        echo "garbage" >"$T/dom.xml"
        ns env -i LC_ALL=C PATH=$HOST_PATH "$HOOK" web-vm reconnect begin - <"$T/dom.xml" 2>"$T/err" ||
                fail "reconnect with unreadable XML failed"
}

name=${1:?usage: run.sh TEST}
declare -F "test_$name" >/dev/null || fail "no test $name"
"test_$name"
echo "hook__$name: PASS"

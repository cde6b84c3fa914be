# shellcheck shell=bash
# The libvirt tier's lab, sourced by test.sh: a private, privileged libvirtd
# (libvirt 9.0, Debian 12) with QEMU TCG aarch64 domains, started as root
# without systemd.  It lives in its own mount + UTS namespace, held open by a
# `sleep` process, so it never touches the host's libvirt state or another
# run's lab:
#   /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt   bound from $LAB
#   /var/cache/libvirt                  a persistent cache (capability probe results)
#   /run/hypercall /var/lib/hypercall   the hook's plan and state directories
#   the shim's and the wrapper's install directories   what `cmake --install` would put there
#   the sanitizer options file's directory   sanitizer builds only (SANITIZER_OPTIONS_FILE)
# Everything the hook and QEMU see is therefore at its production path.
# libvirtd and its QEMUs are stopped by PID (pidfiles written here), never by name.
#
# Settings come from test.sh: LAB, BUILD, SRC, SHIM_PATH, WRAPPER_PATH, and in
# sanitizer builds SANITIZER_PRELOAD and SANITIZER_OPTIONS_FILE (empty otherwise).

HOST_NAME=hc-lab-host
CACHE_DIR=/var/cache/hypercall-tests/libvirt
LAB_PATH=/usr/sbin:/usr/bin:/sbin:/bin
URI="qemu:///system?socket=$LAB/sock/libvirt-sock"
HOOK_INSTALLED=/etc/libvirt/hooks/qemu.d/hypercall

say() { echo "libvirt-lab: $*"; }
die() { echo "libvirt-lab: FAIL: $*" >&2; exit 1; }

V() { timeout 120 virsh -q -c "$URI" "$@"; }

holder_pid() {
        local p
        p=$(cat "$LAB/holder.pid" 2>/dev/null) || return 1
        [ -n "$p" ] && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = sleep ] && echo "$p"
}

libvirtd_pid() {
        local p
        p=$(cat "$LAB/libvirtd.pid" 2>/dev/null) || return 1
        [ -n "$p" ] && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = libvirtd ] && echo "$p"
}

# Run a command inside the lab's mount + UTS namespace.
in_lab() { nsenter -t "$(holder_pid)" -m -u -- "$@"; }

# Where each private directory is bound, "source target" per line.
lab_binds() {
        cat <<BINDS
$LAB/etc /etc/libvirt
$LAB/run /run/libvirt
$LAB/lib /var/lib/libvirt
$LAB/log /var/log/libvirt
$CACHE_DIR /var/cache/libvirt
$LAB/hc-run /run/hypercall
$LAB/hc-state /var/lib/hypercall
$LAB/shim-dir $(dirname "$SHIM_PATH")
$LAB/wrapper-dir $(dirname "$WRAPPER_PATH")
BINDS
        [ -z "$SANITIZER_OPTIONS_FILE" ] || echo "$LAB/sanitizer-etc $(dirname "$SANITIZER_OPTIONS_FILE")"
}

install_push_path() {
        # As docs/push-path-design.md tells an operator: hook, shim, wrapper, then SIGHUP.
        install -D -m 0755 "$BUILD/hook/hypercall-hook" "$LAB/etc/hooks/qemu.d/hypercall"
        install -m 0644 "$BUILD/hook/libhypercall-shim.so" "$LAB/shim-dir/$(basename "$SHIM_PATH")"
        install -m 0755 "$BUILD/hook/hypercall-qemu" "$LAB/wrapper-dir/$(basename "$WRAPPER_PATH")"
}

# Sanitizer builds: the hook, the wrapper and QEMU (with the instrumented shim) read
# SANITIZER_OPTIONS_FILE (hook/sanitizer-options.c), which sends every report to
# $LAB/sanitizer: libvirt drops a hook's stderr when it ignores its exit status,
# and a report from QEMU would only be a line in its log.
sanitizer_setup() {
        [ -n "$SANITIZER_OPTIONS_FILE" ] || return 0
        mkdir -p "$LAB/sanitizer" "$LAB/sanitizer-etc"
        # QEMU writes its reports as the QEMU user.
        chmod 1777 "$LAB/sanitizer"
        chmod 0755 "$LAB/sanitizer-etc"
        echo "halt_on_error=1:log_path=$LAB/sanitizer/report:log_exe_name=1" \
                > "$LAB/sanitizer-etc/$(basename "$SANITIZER_OPTIONS_FILE")"
}

# Fails with every sanitizer report written since the last check.  The ASan
# runtime in QEMU warns once that it cannot follow QEMU's coroutine stack
# switches (makecontext/swapcontext): those warnings are expected, anything
# else is a report.  GCC's UBSan runtime is a separate library whose calls to
# set its report path reach ASan's copy instead, so UBSan reports always go to
# stderr: the QEMU logs (QEMU and the wrapper) and libvirtd's log (which keeps
# a failed hook's stderr, also where libvirt ignores the failure) are searched.
sanitizer_check() {
        local f found="" seen off size new
        [ -n "$SANITIZER_OPTIONS_FILE" ] || return 0
        mkdir -p "$LAB/sanitizer-seen"
        for f in "$LAB"/log/qemu/*.log "$LAB/libvirtd.log"; do
                [ -f "$f" ] || continue
                # Only what was written since the last check (a log's size then).
                seen="$LAB/sanitizer-seen/$(basename "$f")"
                off=$(cat "$seen" 2>/dev/null || echo 0)
                size=$(stat -c %s "$f")
                new=$(tail -c +$((off + 1)) "$f" | head -c $((size - off)) |
                        grep -E "runtime error: |ERROR: [A-Za-z]*Sanitizer|ERROR: Can't open file")
                echo "$size" > "$seen"
                [ -z "$new" ] || found+="
== $f
$new"
        done
        for f in "$LAB"/sanitizer/report.*; do
                [ -f "$f" ] || continue
                grep -qvE "^(==[^ ]+==)?WARNING: ASan doesn't fully support makecontext/swapcontext functions|^(==[^ ]+==)?WARNING: ASan is ignoring requested __asan_handle_no_return: |^False positive error reports may follow$|^For details see https://github.com/google/sanitizers/issues/189$" "$f" ||
                        continue
                found+="
== $f
$(cat "$f")"
                # Each report fails one case, not every later one too.
                mkdir -p "$LAB/sanitizer-reported" && mv "$f" "$LAB/sanitizer-reported/"
        done
        [ -z "$found" ] || die "sanitizer reports:$found"
}

write_fixture_baseline() { # computed.json name
        "$BUILD/tests/libvirt/hc-lab-fixture" baseline "$SRC/tests/libvirt/data/$1" "$LAB/hc-state/baseline.json"
}

lab_start() {
        local p
        [ "$(id -u)" = 0 ] || die "the libvirt tier must run as root (it starts libvirtd and QEMU)"
        for tool in libvirtd virsh qemu-system-aarch64 aarch64-linux-gnu-gcc unshare nsenter uuidgen; do
                command -v "$tool" >/dev/null || die "$tool is missing: run scripts/setup.sh (tests/libvirt/host-packages.txt)"
        done
        # Another ctest run of this same build may own the lab: wait for it.
        for _ in $(seq 600); do holder_pid >/dev/null || break; sleep 1; done
        holder_pid >/dev/null && die "another run holds $LAB for 10 minutes"
        rm -rf "$LAB"
        mkdir -p "$LAB"/{etc/hooks/qemu.d,run,lib,log/qemu,sock,hc-run,hc-state,shim-dir,wrapper-dir,guest,console,ctl} "$CACHE_DIR"
        chmod 0755 "$LAB" "$LAB"/{hc-run,shim-dir,wrapper-dir,guest}
        chmod 0750 "$LAB/hc-state"
        chmod 1777 "$LAB/console"
        # QEMU's user: libvirt resolves its compiled-in default before reading qemu.conf.
        if ! getent passwd libvirt-qemu >/dev/null; then
                getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
                useradd -r -g libvirt-qemu -d /var/lib/libvirt -M -s /usr/sbin/nologin libvirt-qemu
        fi
        aarch64-linux-gnu-gcc -nostdlib -static -Wl,-Ttext=0x40080000 -Wl,--build-id=none \
                -o "$LAB/guest/guest.elf" "$SRC/tests/libvirt/guest.S"
        chmod 0644 "$LAB/guest/guest.elf"
        cat > "$LAB/etc/qemu.conf" <<CONF
user = "libvirt-qemu"
group = "libvirt-qemu"
dynamic_ownership = 0
remember_owner = 0
cgroup_controllers = [ ]
stdio_handler = "file"
CONF
        cat > "$LAB/libvirtd.conf" <<CONF
unix_sock_dir = "$LAB/sock"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
host_uuid = "$(uuidgen)"
log_filters = "3:util 3:rpc 3:object 3:json 3:event 3:remote"
log_outputs = "3:file:$LAB/libvirtd.log"
CONF
        install_push_path
        sanitizer_setup
        "$BUILD/tests/libvirt/hc-lab-fixture" record "$SRC/tests/libvirt/data/host-record.json" "$HOST_NAME" \
                "$LAB/hc-state/host.json"
        write_fixture_baseline computed.json
        # Mount points that do not exist on the host are created (empty) and kept (lab_stop says why).
        : > "$LAB/created-mountpoints"
        while read -r src dst; do
                [ -e "$dst" ] || { mkdir -p "$dst" && echo "$dst" >> "$LAB/created-mountpoints"; }
        done < <(lab_binds)
        local script="hostname $HOST_NAME"
        while read -r src dst; do script+=" && mount --bind '$src' '$dst'"; done < <(lab_binds)
        setsid unshare --mount --uts --propagation private -- /bin/sh -c \
                "$script && echo \$\$ > '$LAB/holder.pid' && exec sleep infinity" \
                </dev/null >"$LAB/holder.log" 2>&1 &
        for _ in $(seq 100); do holder_pid >/dev/null && break; sleep 0.1; done
        holder_pid >/dev/null || die "the lab namespace did not come up: $(cat "$LAB/holder.log")"
        libvirtd_start
        say "libvirtd $(libvirtd_pid) in namespace of $(holder_pid), URI $URI"
}

libvirtd_start() {
        in_lab env -i PATH=$LAB_PATH LC_ALL=C libvirtd -d -f "$LAB/libvirtd.conf" -p "$LAB/libvirtd.pid" \
                </dev/null >/dev/null 2>&1 || die "libvirtd did not start: $(tail -5 "$LAB/libvirtd.log")"
        for _ in $(seq 100); do [ -S "$LAB/sock/libvirt-sock" ] && break; sleep 0.1; done
        # Readiness: the first capabilities call waits for the QEMU probe (cached in $CACHE_DIR).
        V capabilities >/dev/null || die "libvirtd does not answer: $(tail -5 "$LAB/libvirtd.log")"
}

libvirtd_stop() {
        local p
        p=$(libvirtd_pid) || return 0
        kill -TERM "$p"
        for _ in $(seq 100); do [ -d /proc/"$p" ] || break; sleep 0.1; done
        [ -d /proc/"$p" ] && kill -KILL "$p"
        rm -f "$LAB/libvirtd.pid"
}

lab_stop() {
        local p
        if libvirtd_pid >/dev/null; then
                V list --name 2>/dev/null | xargs -r -n1 -P8 timeout 60 virsh -q -c "$URI" destroy >/dev/null 2>&1
                V list --all --name 2>/dev/null | xargs -r -n1 -P8 timeout 60 virsh -q -c "$URI" undefine >/dev/null 2>&1
                libvirtd_stop
        fi
        # QEMUs of this lab that survived (should be none): by PID, from libvirt's pidfiles.
        for f in "$LAB"/run/qemu/*.pid; do
                [ -f "$f" ] || continue
                p=$(cat "$f")
                [ -n "$p" ] && case "$(cat /proc/"$p"/comm 2>/dev/null)" in qemu-system-*) kill -KILL "$p" ;; esac
        done
        if p=$(holder_pid); then kill -TERM "$p"; fi
        for _ in $(seq 50); do holder_pid >/dev/null || break; sleep 0.1; done
        # Mount points this lab created stay (empty): removing a directory detaches the bind
        # mounts on it in every other mount namespace, i.e. in a second lab running at the
        # same time (another build's suite), whose shim and state would vanish mid-test.
        [ "${HC_KEEP_LAB:-0}" = 1 ] || rm -rf "$LAB"
        say "stopped"
}

dom_uuid() { uuidgen --sha1 --namespace @url --name "hypercall-libvirt-tier:$1"; }

# Sanitizer builds: the <qemu:env> delivery must do what the wrapper does (qemu-wrapper.c).
sanitizer_env() {
        [ -n "$SANITIZER_OPTIONS_FILE" ] || return 0
        echo "<qemu:env name='ASAN_OPTIONS' value='include_if_exists=$SANITIZER_OPTIONS_FILE:detect_leaks=0'/>"
        echo "<qemu:env name='UBSAN_OPTIONS' value='include_if_exists=$SANITIZER_OPTIONS_FILE'/>"
}

# domain_xml NAME POOL DELIVERY: POOL "-" for no metadata; DELIVERY wrapper | qemu-env | none | preload=PATH
domain_xml() {
        local name=$1 pool=$2 delivery=$3 emulator=/usr/bin/qemu-system-aarch64 ns="" meta="" cmd=""
        case $delivery in
        wrapper) emulator=$WRAPPER_PATH ;;
        qemu-env) cmd="<qemu:commandline><qemu:env name='LD_PRELOAD' value='${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD:}$SHIM_PATH'/>$(sanitizer_env)</qemu:commandline>" ;;
        preload=*) cmd="<qemu:commandline><qemu:env name='LD_PRELOAD' value='${delivery#preload=}'/></qemu:commandline>" ;;
        none) ;;
        *) die "unknown delivery $delivery" ;;
        esac
        [ -n "$cmd" ] && ns=" xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"
        # STAMP (environment): the <hypercall:applied> element hypercalld stamps after a start.
        [ "$pool" != - ] && meta="<metadata><hypercall:vm xmlns:hypercall='urn:hypercall:vm:1' pool='$pool'>${STAMP:-}</hypercall:vm></metadata>"
        cat <<XML
<domain type='qemu'$ns>
  <name>$name</name>
  <uuid>$(dom_uuid "$name")</uuid>
  $meta
  <memory unit='MiB'>128</memory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='aarch64' machine='virt'>hvm</type><kernel>$LAB/guest/guest.elf</kernel></os>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>cortex-a57</model></cpu>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>$emulator</emulator>
    <serial type='file'><source path='$LAB/console/$name.log'/><target port='0'/></serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
  $cmd
</domain>
XML
}

define() { # NAME POOL DELIVERY
        domain_xml "$@" > "$LAB/ctl/$1.xml"
        V define "$LAB/ctl/$1.xml" >/dev/null || die "cannot define $1"
}

plan_of() { cat "$LAB/hc-run/vm/$(dom_uuid "$1").plan"; }
qemu_pid() { cat "$LAB/run/qemu/$1.pid"; }
qemu_log() { # libvirt may still be writing it when virsh returns
        for _ in $(seq 50); do [ -s "$LAB/log/qemu/$1.log" ] && break; sleep 0.1; done
        cat "$LAB/log/qemu/$1.log"
}

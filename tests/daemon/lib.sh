# shellcheck shell=bash
# Shared set-up for the daemon tests: a private system-like dbus-daemon that
# enforces the project's own policy file, hypercalld in the foreground on
# temporary directories, and cleanup of exactly the processes we started.
#
# Needs (from ctest): HCD (hypercalld), HCTL (hypercallctl), TOOL
# (hcd-test-tool), SRC (the source tree), UNIT (the configured unit file).

set -euo pipefail

BUS_NAME=org.hypercall.Hypercall1
BUS_PATH=/org/hypercall/Hypercall1

T=$(mktemp -d /tmp/hcd-test.XXXXXX)
chmod 0755 "$T" # the unprivileged caller must reach the bus socket
PIDS=()

cleanup() {
        local rc=$?
        for p in "${PIDS[@]}"; do
                kill -TERM "$p" 2>/dev/null || true
        done
        for p in "${PIDS[@]}"; do
                for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$p" 2>/dev/null || true
        done
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
                echo "---- hypercalld output (last 60 lines) ----"
                tail -n 60 "$T/daemon.log" 2>/dev/null || true
        fi
        rm -rf "$T"
        exit "$rc"
}
trap cleanup EXIT

# shellcheck source=../common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

# Writes a bus configuration like the system bus (default deny, root may own)
# that includes only $T/bus/system.d; $1=permissive also allows every call.
write_bus_conf() {
        local extra=""
        if [ "${1:-}" = permissive ]; then
                extra='<allow send_destination="org.hypercall.Hypercall1"/>'
        fi
        mkdir -p "$T/bus/system.d"
        cat >"$T/bus/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus/socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
    $extra
  </policy>
  <includedir>$T/bus/system.d</includedir>
</busconfig>
EOF
        install -m 0644 "$SRC/systemd/org.hypercall.Hypercall1.conf" "$T/bus/system.d/"
}

start_bus() {
        command -v dbus-daemon >/dev/null || fail "dbus-daemon is not installed (tests/daemon/host-packages.txt)"
        write_bus_conf "${1:-}"
        dbus-daemon --config-file="$T/bus/bus.conf" --nofork --nopidfile --print-address=3 \
                3>"$T/bus/address.raw" 2>"$T/bus/log" &
        PIDS+=($!)
        for _ in $(seq 100); do
                [ -s "$T/bus/address.raw" ] && break
                sleep 0.05
        done
        [ -s "$T/bus/address.raw" ] || fail "dbus-daemon did not start: $(cat "$T/bus/log")"
        export DBUS_SYSTEM_BUS_ADDRESS
        DBUS_SYSTEM_BUS_ADDRESS=$(sed 's/,guid=.*//' "$T/bus/address.raw")
}

# The example fleet and policies, copied so tests can edit them.
make_fleet() {
        mkdir -p "$T/state" "$T/fleet" "$T/policy" "$T/plans" "$T/etc"
        cp "$SRC"/examples/fleet/*.json "$T/fleet/"
        cp "$SRC"/tests/daemon/data/policies/*.yaml "$T/policy/"
        cp "$SRC/examples/fleet/web-01.json" "$T/etc/host.json"
}

# Starts hypercalld in the foreground; extra arguments are passed on.
# With NOTIFY=1 it gets a real NOTIFY_SOCKET whose datagrams go to $T/notify.log.
start_daemon() {
        local env=()
        if [ "${NOTIFY:-0}" = 1 ] && [ ! -S "$T/notify.sock" ]; then
                "$TOOL" dgram-listen "$T/notify.sock" "$T/notify.log" &
                PIDS+=($!)
                for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
        fi
        [ "${NOTIFY:-0}" = 1 ] && env+=(NOTIFY_SOCKET="$T/notify.sock")
        [ -n "${WATCHDOG_USEC:-}" ] && env+=(WATCHDOG_USEC="$WATCHDOG_USEC")
        env "${env[@]}" "$HCD" --log-target=console --state-dir "$T/state" --policy-dir "$T/policy" \
                --store "$T/fleet" --plan-dir "$T/plans" --record-file "$T/etc/host.json" --host web-01 \
                --config "$T/hypercalld.conf" --libvirt-uri "${LIBVIRT_URI:-}" "$@" \
                >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
        PIDS+=("$DAEMON_PID")
        wait_for_name
}

write_config() {
        cat >"$T/hypercalld.conf" <<EOF
[Daemon]
SettleSec=50ms
RescanIntervalSec=1h
ProbeIntervalSec=0
LibvirtRetrySec=1h
${1:-}
EOF
}

wait_for_name() {
        for _ in $(seq 200); do
                busctl --system status "$BUS_NAME" >/dev/null 2>&1 && return 0
                kill -0 "$DAEMON_PID" 2>/dev/null || fail "hypercalld exited: $(tail -5 "$T/daemon.log")"
                sleep 0.05
        done
        fail "hypercalld did not take $BUS_NAME within 10 s"
}

stop_daemon() {
        kill -TERM "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null || true
}

call() { busctl --system --json=short call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" "$@"; }
prop() { busctl --system --json=short get-property "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" "$1" | jq -c .data; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" "$@"; }

# Waits until the command succeeds (up to $1 tenths of a second).
eventually() {
        local tenths=$1
        shift
        for _ in $(seq "$tenths"); do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        "$@"
}

# Starts waiting for signal $1 in the background; its output lands in $T/signal.$1.
expect_signal() {
        "$TOOL" wait-signal "$1" "${2:-15}" >"$T/signal.$1" 2>&1 &
        SIGNAL_PID=$!
        PIDS+=("$SIGNAL_PID")
        for _ in $(seq 100); do grep -q ready "$T/signal.$1" && return 0; sleep 0.05; done
        fail "could not subscribe to $1: $(cat "$T/signal.$1")"
}

signal_arrived() {
        wait "$SIGNAL_PID" || fail "no $1 signal: $(cat "$T/signal.$1")"
}

log_has() { grep -q -- "$1" "$T/daemon.log"; }

# write_web_plan UUID NAME VENDOR_HYP_BMAP: the plan the hook writes for a VM of pool
# web started at generation 1 (its digest from the current baseline file).
write_web_plan() {
        cat >"$T/plans/$1.plan" <<EOF
hypercall-plan 1
vm-uuid $1
vm-name $2
mode start
pool web
generation 1
digest $(jq -r '.pools[] | select(.pool == "web") | .digest' "$T/state/baseline.json")
register PSCI_VERSION 0x6030000000140000 0x10001
register STD_BMAP 0x6030000000160000 0x1
register STD_HYP_BMAP 0x6030000000160001 0x1
register VENDOR_HYP_BMAP 0x6030000000160002 $3
end
EOF
}

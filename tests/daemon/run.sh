#!/bin/bash
# hypercalld against real parts: a private dbus-daemon enforcing the project's
# policy file, the daemon in the foreground on temporary directories, busctl
# and sd-bus clients as root and as nobody, a real NOTIFY_SOCKET, libvirt's
# test driver, journald's native protocol in a private mount namespace.
#
# Each test_<name> below is one ctest entry, daemon__<name>; each proves one
# behaviour an operator relies on.  Usage: run.sh NAME
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# READY=1 comes only once the bus name is owned and a baseline is on disk,
# so `systemctl start` returning means the VM-start path can read it.
test_ready_via_notify_socket() {
        start_bus
        make_fleet
        write_config
        NOTIFY=1 WATCHDOG_USEC=400000 start_daemon
        eventually 100 grep -q '^READY=1' "$T/notify.log" || fail "no READY=1: $(cat "$T/notify.log")"
        busctl --system status "$BUS_NAME" >/dev/null || fail "READY=1 before the bus name was owned"
        "$TOOL" check-baseline "$T/state/baseline.json" >/dev/null || fail "READY=1 without a baseline file"
        grep -q '^STATUS=Generation 1: 2 pools ok, 0 held at last-known-good, 0 refused; 9 hosts in the store; host record: file:' \
                "$T/notify.log" || fail "no operator-readable STATUS=: $(cat "$T/notify.log")"
        # READY=1 came after the baseline was written: the file predates the datagram.
        [ "$(grep -c '^READY=1' "$T/notify.log")" = 1 ] || fail "READY=1 sent more than once"
        # WatchdogSec=: the event loop pings at half the interval.
        eventually 30 sh -c "[ \$(grep -c '^WATCHDOG=1' '$T/notify.log') -ge 2 ]" || fail "no WATCHDOG=1 pings"
}

# Anyone may read; properties say what the operator asks first.
test_properties_readable_by_anyone() {
        start_bus
        make_fleet
        write_config
        start_daemon
        [ "$(as_nobody busctl --system --json=short get-property "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" Generation | jq .data)" = 1 ] ||
                fail "nobody cannot read Generation"
        [ "$(prop HostName)" = '"web-01"' ] || fail "HostName $(prop HostName)"
        [ "$(prop HostRecordSource)" = "\"file:$T/etc/host.json\"" ] || fail "HostRecordSource $(prop HostRecordSource)"
        [ "$(prop LastError)" = '""' ] || fail "LastError $(prop LastError)"
        [ "$(prop State)" = '"running"' ] || fail "State $(prop State)"
        [ "$(prop Store)" = "\"dir:$T/fleet\"" ] || fail "Store $(prop Store)"
        prop Pools | jq -e 'length == 2 and .[0][0] == "db" and .[0][1] == "ok" and .[1][0] == "web" and .[1][2] == 1' >/dev/null ||
                fail "Pools $(prop Pools)"
        prop HostRecord | jq -r . | jq -e '.host == "web-01"' >/dev/null || fail "HostRecord is not the record"
        # Introspectable, with every member documented in docs/hypercalld.md.
        local intro
        intro=$(as_nobody busctl --system introspect --xml-interface "$BUS_NAME" "$BUS_PATH")
        for m in Describe GetPoolBaseline Explain CheckMigration Audit ProbeHost Reload ReportVmRefused \
                BaselineChanged VmRefused Generation Pools LastError HostRecord; do
                grep -q "name=\"$m\"" <<<"$intro" || fail "introspection lacks $m"
                grep -q "$m" "$SRC/docs/hypercalld.md" || fail "docs/hypercalld.md does not document $m"
        done
}

# Every method, called as root, answers with its documented shape.
test_every_method_as_root() {
        start_bus
        make_fleet
        write_config
        start_daemon
        local d
        d=$(call Describe | jq -r '.data[0]')
        jq -e '.schema == "hypercall.daemon/v1" and .state == "running" and .host.name == "web-01"
               and .baseline.generation == 1 and (.baseline.pools | length) == 2
               and .store.records == 9 and (.policies | length) == 2' <<<"$d" >/dev/null ||
                fail "Describe: $d"
        # GetPoolBaseline: state, generation, digest, registers, the pool's JSON.
        call GetPoolBaseline s web | jq -e '.data[0] == "ok" and .data[1] == 1
                and (.data[2] | startswith("sha256:")) and .data[3].STD_BMAP == 1
                and .data[3].VENDOR_HYP_BMAP == 3 and (.data[4] | fromjson | .pool) == "web"' >/dev/null ||
                fail "GetPoolBaseline: $(call GetPoolBaseline s web)"
        busctl --system call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" GetPoolBaseline s nosuch 2>"$T/err" &&
                fail "GetPoolBaseline of an unknown pool succeeded"
        grep -q "Pool nosuch is not in the baseline (generation 1)" "$T/err" || fail "NoSuchPool message: $(cat "$T/err")"
        # Explain and CheckMigration answer from lib/ (the same documents as hypercallctl).
        call Explain ss web trng | jq -e '.data[0] | fromjson | .schema == "hypercall.explain/v1" and .subject == "trng"' >/dev/null ||
                fail "Explain: $(call Explain ss web trng)"
        busctl --system call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" Explain ss web nosuch 2>"$T/err" && fail "Explain of nonsense succeeded"
        grep -q "UnknownSubject\|nosuch" "$T/err" || fail "Explain error: $(cat "$T/err")"
        call CheckMigration sss web web-01 web-03 | jq -e '.data[0] == true and (.data[1] | fromjson | .schema) == "hypercall.migration/v1"' >/dev/null ||
                fail "CheckMigration: $(call CheckMigration sss web web-01 web-03)"
        busctl --system call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" CheckMigration sss web web-01 ghost 2>"$T/err" && fail "CheckMigration to a ghost succeeded"
        grep -q "Host ghost has no record" "$T/err" || fail "NoSuchHost: $(cat "$T/err")"
        call Audit | jq -e '.data[0] | fromjson | .schema == "hypercall.audit/v1" and .vms == []' >/dev/null ||
                fail "Audit: $(call Audit)"
        # Mutating methods as root.
        call ProbeHost b false | jq -e '.data[0] | fromjson | .host == "web-01"' >/dev/null || fail "ProbeHost"
        call Reload b false >/dev/null || fail "Reload"
        expect_signal VmRefused
        call ReportVmRefused ssss 6f1c2a9e-4b7d-4c1e-9a53-0d2e8f7b1c44 web-vm web "pv-time required" >/dev/null ||
                fail "ReportVmRefused"
        signal_arrived VmRefused
        grep -q 'STRING "pv-time required"' "$T/signal.VmRefused" || fail "VmRefused args: $(cat "$T/signal.VmRefused")"
        busctl --system call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" ReportVmRefused ssss not-a-uuid x web r 2>"$T/err" &&
                fail "ReportVmRefused accepted a bad UUID"
        grep -q 'Invalid VM UUID "not-a-uuid": expected 8-4-4-4-12 hex digits' "$T/err" || fail "$(cat "$T/err")"
        # SIGTERM: a clean exit, status 0 (under ASan: no leak, no error report).
        kill -TERM "$DAEMON_PID"
        wait "$DAEMON_PID" || fail "hypercalld exited with $? on SIGTERM"
        grep -q "Sanitizer" "$T/daemon.log" && fail "sanitizer report: $(grep -A20 Sanitizer "$T/daemon.log")"
        true
}

# Editing a policy recomputes, rewrites the file with a new generation and
# says so: BaselineChanged, PropertiesChanged, a journal entry.
test_policy_edit_emits_baseline_changed() {
        start_bus
        make_fleet
        write_config
        start_daemon
        expect_signal BaselineChanged
        toggle_ptp
        signal_arrived BaselineChanged
        grep -q 'UINT64 2' "$T/signal.BaselineChanged" || fail "generation 2 expected: $(cat "$T/signal.BaselineChanged")"
        grep -q 'STRING "web"' "$T/signal.BaselineChanged" || fail "pool web expected: $(cat "$T/signal.BaselineChanged")"
        jq -e '.generation == 2 and (.pools[] | select(.pool == "web") | .generation == 2 and .registers.VENDOR_HYP_BMAP == "0x1")
               and (.pools[] | select(.pool == "db") | .generation == 1)' "$T/state/baseline.json" >/dev/null ||
                fail "baseline.json after the edit: $(cat "$T/state/baseline.json")"
        [ "$(prop Generation)" = 2 ] || fail "Generation property $(prop Generation)"
        log_has "Pool web baseline changed to generation 2 (ok): narrowed, ptp hidden \[MESSAGE_ID=c4ef6ebe79bb406a8d4b3365b8594f65 HYPERCALL_POOL=web HYPERCALL_BASELINE_GENERATION=2" ||
                fail "no BASELINE_CHANGED entry"
        log_has "Pool web narrowed at generation 2: ptp hidden.*MESSAGE_ID=162bfd7097ce423280319f793dec10b3" ||
                fail "no narrowing entry"
}

# A broken policy edit keeps the pool's last-known-good values in the file,
# reports the error with file:line, and the next good edit recovers.
test_broken_policy_keeps_last_known_good() {
        start_bus
        make_fleet
        write_config
        start_daemon
        local before
        before=$(jq -c '.pools[] | select(.pool == "web") | {generation, digest, registers}' "$T/state/baseline.json")
        sed -i 's/trng: auto/trng: maybe/' "$T/policy/web.yaml"
        eventually 100 sh -c "busctl --system get-property $BUS_NAME $BUS_PATH $BUS_NAME LastError | grep -q web.yaml" ||
                fail "LastError does not name web.yaml: $(prop LastError)"
        prop LastError | grep -q "web.yaml:7:9: expected auto, require or deny" || fail "LastError lacks the line: $(prop LastError)"
        [ "$(jq -c '.pools[] | select(.pool == "web") | {generation, digest, registers}' "$T/state/baseline.json")" = "$before" ] ||
                fail "web's values moved under a broken policy"
        jq -e '.pools[] | select(.pool == "web") | .last_known_good.reason | test("web.yaml:7:9:")' "$T/state/baseline.json" >/dev/null ||
                fail "no last_known_good in the file: $(cat "$T/state/baseline.json")"
        [ "$(prop Generation)" = 1 ] || fail "generation moved"
        prop Pools | jq -e '.[] | select(.[0] == "web") | .[1] == "held"' >/dev/null || fail "web not held: $(prop Pools)"
        log_has "Policy $T/policy/web.yaml is invalid, keeping its pool's last-known-good baseline: .*web.yaml:7:9:.*MESSAGE_ID=0a18e18359f34e0badd92ce52b4e46e6" ||
                fail "no POOL_REFUSED entry"
        # The db pool is untouched by web's failure.
        jq -e '.pools[] | select(.pool == "db") | has("last_known_good") | not' "$T/state/baseline.json" >/dev/null || fail "db held too"
        # Fixed: web is current again, nothing held, no error.
        sed -i 's/trng: maybe/trng: auto/' "$T/policy/web.yaml"
        eventually 100 sh -c "[ \"\$(busctl --system get-property $BUS_NAME $BUS_PATH $BUS_NAME LastError)\" = 's \"\"' ]" ||
                fail "LastError stuck: $(prop LastError)"
        jq -e '.pools[] | select(.pool == "web") | has("last_known_good") | not' "$T/state/baseline.json" >/dev/null ||
                fail "web still held after the fix"
}

# Unprivileged callers: the bus policy stops mutating calls before the daemon.
test_unprivileged_denied_by_bus_policy() {
        start_bus
        make_fleet
        write_config
        start_daemon
        as_nobody busctl --system call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" Describe >/dev/null || fail "nobody cannot Describe"
        as_nobody busctl --system call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" GetPoolBaseline s web >/dev/null || fail "nobody cannot GetPoolBaseline"
        as_nobody busctl --system call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" Audit >/dev/null || fail "nobody cannot Audit"
        # dbus-send prints the error as sent (busctl rewrites AccessDenied messages).
        for m in "ProbeHost boolean:false" "Reload boolean:false" \
                "ReportVmRefused string:6f1c2a9e-4b7d-4c1e-9a53-0d2e8f7b1c44 string:x string:web string:r"; do
                # shellcheck disable=SC2086
                set -- $m
                as_nobody dbus-send --system --print-reply --dest="$BUS_NAME" "$BUS_PATH" "$BUS_NAME.$1" "${@:2}" \
                        2>"$T/err" >/dev/null && fail "nobody may $m"
                grep -q "org.freedesktop.DBus.Error.AccessDenied: Rejected send message" "$T/err" ||
                        fail "$m: not refused by the bus policy: $(cat "$T/err")"
        done
}

# Defence in depth: even where a bus lets the call through, the daemon
# checks the caller's UID and names the action it refused.
test_unprivileged_denied_by_daemon() {
        start_bus permissive
        make_fleet
        write_config
        start_daemon
        local m
        for m in "Reload boolean:false|reload hypercalld" "ProbeHost boolean:false|probe this host" \
                "ReportVmRefused string:6f1c2a9e-4b7d-4c1e-9a53-0d2e8f7b1c44 string:x string:web string:r|report a refused VM"; do
                # shellcheck disable=SC2086
                set -- ${m%%|*}
                as_nobody dbus-send --system --print-reply --dest="$BUS_NAME" "$BUS_PATH" "$BUS_NAME.$1" "${@:2}" \
                        2>"$T/err" >/dev/null && fail "nobody may ${m%%|*}"
                grep -q "org.freedesktop.DBus.Error.AccessDenied: Only root may ${m#*|} (caller uid 65534)" "$T/err" ||
                        fail "daemon check: $(cat "$T/err")"
        done
        # Nothing happened: the generation and the host record are unchanged.
        [ "$(prop Generation)" = 1 ] || fail "a refused call changed something"
}

# kill -9 of the daemon while it writes the baseline.  Odd runs are killed
# exactly at each step of the atomic write in turn, by strace (attached to the
# running daemon) delivering SIGKILL when it enters that syscall: fchmod of the
# fresh temp file, its fsync, the rename, the directory's fsync.  Even runs are
# killed at random moments.  The baseline is always the old generation or the
# new one, whole; before the rename the temp file is left, and the next start
# removes it.
test_kill9_never_tears_baseline() {
        command -v strace >/dev/null || fail "strace missing (tests/daemon/host-packages.txt)"
        start_bus
        make_fleet
        write_config "SettleSec=1ms"
        # A bigger fleet makes each write longer: 3000 more web hosts.
        "$TOOL" clone-record "$T/fleet/web-01.json" "$T/fleet" 3000
        local runs=20 steps=(fchmod:1 fsync:1 rename:1 fsync:2) step sc when before after temps tracer
        local -A seen=()
        for run in $(seq "$runs"); do
                start_daemon
                before=$(jq .generation "$T/state/baseline.json")
                if [ $((run % 2)) = 1 ]; then
                        step=${steps[$(( (run / 2) % ${#steps[@]} ))]}
                        sc=${step%:*} when=${step#*:}
                        strace -qq -o /dev/null -f -p "$DAEMON_PID" -e trace="$sc" \
                                -e inject="$sc:signal=KILL:when=$when" &
                        tracer=$!
                        eventually 50 grep -Eq "^TracerPid:[[:space:]]*[1-9]" "/proc/$DAEMON_PID/status" ||
                                fail "run $run: strace did not attach"
                        toggle_ptp
                        wait "$DAEMON_PID" 2>/dev/null || true
                        wait "$tracer" 2>/dev/null || true
                        temps=$(find "$T/state" -name 'baseline.json.tmp.*' | wc -l)
                        after=$(jq .generation "$T/state/baseline.json")
                        case $step in
                        fsync:2) [ "$after" = $((before + 1)) ] && [ "$temps" = 0 ] ||
                                fail "run $run: killed after the rename: expected generation $((before + 1)) and no temp file, got $after and $temps" ;;
                        *) [ "$after" = "$before" ] && [ "$temps" = 1 ] ||
                                fail "run $run: killed at $step before the rename: expected generation $before and its temp file, got $after and $temps" ;;
                        esac
                        seen[$step]=1
                else
                        toggle_ptp
                        sleep "0.0$((RANDOM % 10))"
                        kill -KILL "$DAEMON_PID"
                        wait "$DAEMON_PID" 2>/dev/null || true
                fi
                "$TOOL" check-baseline "$T/state/baseline.json" >/dev/null 2>"$T/err" ||
                        fail "run $run: torn or invalid baseline after kill -9: $(cat "$T/err")"
                after=$(jq .generation "$T/state/baseline.json")
                [ "$after" = "$before" ] || [ "$after" = $((before + 1)) ] ||
                        fail "run $run: generation $before became $after: neither old nor new"
        done
        [ "${#seen[@]}" = "${#steps[@]}" ] || fail "not every step was killed: ${!seen[*]}"
        echo "kill -9: $runs runs, $((runs / 2)) at each write step in turn (${steps[*]}), $((runs / 2)) at random moments; every baseline whole"
        # The next start cleans up what an interrupted write left.
        start_daemon
        ls "$T/state"/baseline.json.tmp.* >/dev/null 2>&1 && fail "temp files left after a clean start"
        true
}

toggle_ptp() {
        if grep -q 'ptp: auto' "$T/policy/web.yaml"; then
                sed 's/ptp: auto/ptp: deny/' "$T/policy/web.yaml" >"$T/web.yaml.new"
        else
                sed 's/ptp: deny/ptp: auto/' "$T/policy/web.yaml" >"$T/web.yaml.new"
        fi
        mv "$T/web.yaml.new" "$T/policy/web.yaml"
}

# A record published to the store that narrows a pool recomputes it and
# warns; the audit names the hosts a running VM can no longer reach.
test_store_change_narrows_pool_and_audit_names_hosts() {
        start_bus
        make_fleet
        write_config
        start_daemon
        # A VM started at generation 1 with trng exposed.
        local uuid=6f1c2a9e-4b7d-4c1e-9a53-0d2e8f7b1c44
        write_web_plan "$uuid" web-vm 0x3
        call Audit | jq -e '.data[0] | fromjson | .vms[0].verdict == "current"' >/dev/null || fail "audit before: $(call Audit)"
        expect_signal BaselineChanged
        jq '.host = "web-05" | .kernel = "5.19.0-old" | .registers.STD_BMAP.value = "0x0"' "$T/fleet/web-01.json" >"$T/web-05.json"
        mv "$T/web-05.json" "$T/fleet/web-05.json"
        signal_arrived BaselineChanged
        log_has "Pool web narrowed at generation 2: trng hidden" || fail "no narrowing warning"
        eventually 50 sh -c "busctl --system get-property $BUS_NAME $BUS_PATH $BUS_NAME AuditFindings | grep -q 'u 1'" ||
                fail "AuditFindings $(prop AuditFindings)"
        local a
        a=$(call Audit | jq -r '.data[0]')
        jq -e '.vms[0].verdict == "narrowed" and .vms[0].cannot_migrate_to.count == 1
               and .vms[0].cannot_migrate_to.hosts[0].host == "web-05"
               and .vms[0].cannot_migrate_to.hosts[0].reason == "offers STD_BMAP 0x0, the VM carries 0x1"
               and .vms[0].can_migrate_to.count == 4 and .findings == 1' <<<"$a" >/dev/null || fail "audit after: $a"
        log_has "VM web-vm ($uuid): pool web narrowed under the VM (generation 1 -> 2): it can migrate to 4 of 5 members only.*MESSAGE_ID=b968207a5d9647a79998aa69fc295daa" ||
                fail "no AUDIT_FINDING entry"
}

# Host drift: the host's record changed (kernel upgrade); the daemon
# publishes the new record, recomputes, and says loudly that it narrows web.
test_host_drift_publishes_and_warns() {
        start_bus
        make_fleet
        write_config
        start_daemon
        jq '.kernel = "6.1.0-99-arm64" | .registers.VENDOR_HYP_BMAP.value = "0x1"' "$SRC/examples/fleet/web-01.json" >"$T/etc/host.json"
        call ProbeHost b true >/dev/null || fail "ProbeHost"
        log_has "Host web-01 drifted from its published record: kernel 6.1.0-56-arm64 -> 6.1.0-99-arm64; VENDOR_HYP_BMAP 0x3 -> 0x1.*MESSAGE_ID=f36c6e51c6214ee5a7091b0671fa50ed" ||
                fail "no HOST_DRIFT entry"
        jq -e '.kernel == "6.1.0-99-arm64"' "$T/fleet/web-01.json" >/dev/null || fail "new record not published"
        log_has "crit: HOST DRIFT NARROWS A POOL: Pool web narrowed at generation 2: ptp hidden" || fail "no loud narrowing warning"
        jq -e '.pools[] | select(.pool == "web") | .registers.VENDOR_HYP_BMAP == "0x1"' "$T/state/baseline.json" >/dev/null ||
                fail "baseline not recomputed"
}

# SIGHUP reloads: RELOADING=1, then READY=1 again.
test_sighup_reloads() {
        start_bus
        make_fleet
        write_config
        NOTIFY=1 start_daemon
        eventually 50 grep -q '^READY=1' "$T/notify.log" || fail "no READY=1"
        kill -HUP "$DAEMON_PID"
        eventually 50 grep -q '^RELOADING=1' "$T/notify.log" || fail "no RELOADING=1: $(cat "$T/notify.log")"
        eventually 50 sh -c "[ \$(grep -c '^READY=1' '$T/notify.log') -ge 2 ]" || fail "no READY=1 after reload"
        log_has "Reloaded." || fail "no reload entry"
        # A reload with a broken config keeps running on the old one and says where.
        echo "Bogus=1" >>"$T/hypercalld.conf"
        busctl --system call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" Reload b false 2>"$T/err" && fail "Reload with a bad config succeeded"
        grep -q "hypercalld.conf:7: unknown key \"Bogus\"" "$T/err" || fail "ReloadFailed message: $(cat "$T/err")"
        [ "$(prop State)" = '"running"' ] || fail "not running after a failed reload"
}

# Without libvirtd the daemon says so and keeps going.
test_libvirt_unavailable_keeps_going() {
        start_bus
        make_fleet
        write_config
        LIBVIRT_URI="qemu:///system?socket=$T/no-libvirtd.sock" start_daemon
        prop LibvirtState | grep -q '"unavailable: ' || fail "LibvirtState $(prop LibvirtState)"
        log_has "libvirt is not reachable (.*); auditing VMs from plan files only" || fail "no libvirt warning"
        call Audit | jq -e '.data[0] | fromjson | .libvirt | startswith("unavailable")' >/dev/null || fail "audit libvirt state"
        [ "$(prop Generation)" = 1 ] || fail "no baseline without libvirt"
}

# The audit through the libvirt API: libvirt's test driver runs two domains,
# one stamped by hypercall at generation 1 with trng, one never stamped.
test_audit_reads_libvirt_domains() {
        start_bus
        make_fleet
        write_config
        cat >"$T/node.xml" <<EOF
<node>
  <domain type="test">
    <name>web-vm</name>
    <uuid>6f1c2a9e-4b7d-4c1e-9a53-0d2e8f7b1c44</uuid>
    <memory>65536</memory>
    <os><type arch="aarch64">hvm</type></os>
    <metadata>
      <hypercall:vm xmlns:hypercall="urn:hypercall:vm:1" pool="web">
        <hypercall:applied generation="1" digest="sha256:0000000000000000000000000000000000000000000000000000000000000000">
          <hypercall:register name="PSCI_VERSION" value="0x10001"/>
          <hypercall:register name="STD_BMAP" value="0x1"/>
          <hypercall:register name="STD_HYP_BMAP" value="0x1"/>
          <hypercall:register name="VENDOR_HYP_BMAP" value="0x3"/>
        </hypercall:applied>
      </hypercall:vm>
    </metadata>
  </domain>
  <domain type="test">
    <name>stray</name>
    <uuid>11111111-2222-3333-4444-555555555555</uuid>
    <memory>65536</memory>
    <os><type arch="aarch64">hvm</type></os>
  </domain>
</node>
EOF
        jq '.host = "web-05" | .registers.STD_BMAP.value = "0x0"' "$T/fleet/web-01.json" >"$T/fleet/web-05.json"
        LIBVIRT_URI="test://$T/node.xml" start_daemon
        prop LibvirtState | grep -q "connected to test://" || fail "LibvirtState $(prop LibvirtState)"
        local a
        a=$(call Audit | jq -r '.data[0]')
        jq -e '.libvirt | startswith("connected")' <<<"$a" >/dev/null || fail "audit: $a"
        jq -e '.vms[] | select(.name == "web-vm") | .running == true and .source == "metadata" and .verdict == "narrowed"
               and .cannot_migrate_to.hosts[0].host == "web-05"' <<<"$a" >/dev/null || fail "web-vm: $a"
        jq -e '.vms[] | select(.name == "stray") | .verdict == "untracked"' <<<"$a" >/dev/null || fail "stray: $a"
        [ "$(prop AuditFindings)" = 2 ] || fail "AuditFindings $(prop AuditFindings)"
        kill -TERM "$DAEMON_PID"
        wait "$DAEMON_PID" || fail "hypercalld exited with $? on SIGTERM (libvirt connected)"
        grep -q "Sanitizer" "$T/daemon.log" && fail "sanitizer report: $(grep -A20 Sanitizer "$T/daemon.log")"
        true
}

# journald gets structured entries: MESSAGE_ID and HYPERCALL_* fields, read
# from journald's own socket (in a private mount namespace).
test_journal_entries_are_structured() {
        command -v unshare >/dev/null || fail "unshare missing (util-linux)"
        unshare -m true 2>/dev/null || skip "cannot create a mount namespace here (unshare -m: not permitted)"
        start_bus
        make_fleet
        write_config
        touch "$T/journal.log"
        unshare -m sh -c '
                mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal || exit 1
                "$0" dgram-listen /run/systemd/journal/socket "$1/journal.log" &
                echo $! >"$1/listener.pid"
                for i in $(seq 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
                exec "$2" --log-target=journal --state-dir "$1/state" --policy-dir "$1/policy" \
                        --store "$1/fleet" --plan-dir "$1/plans" --record-file "$1/etc/host.json" \
                        --host web-01 --config "$1/hypercalld.conf" --libvirt-uri ""
        ' "$TOOL" "$T" "$HCD" >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
        PIDS+=("$DAEMON_PID")
        wait_for_name
        # The listener lives in the namespace, not under us: stop it by its PID too.
        PIDS+=("$(cat "$T/listener.pid")")
        eventually 50 grep -q "MESSAGE_ID=c4ef6ebe79bb406a8d4b3365b8594f65" "$T/journal.log" || fail "no BASELINE_CHANGED: $(cat "$T/journal.log")"
        awk 'BEGIN{RS="\n--\n"} /MESSAGE_ID=c4ef6ebe79bb406a8d4b3365b8594f65/ && /HYPERCALL_POOL=web/' "$T/journal.log" |
                grep -q "^HYPERCALL_BASELINE_GENERATION=1$" || fail "entry lacks its fields: $(cat "$T/journal.log")"
        grep -q "^PRIORITY=5$" "$T/journal.log" || fail "no PRIORITY"
        grep -q "^SYSLOG_IDENTIFIER=hypercalld$" "$T/journal.log" || fail "no SYSLOG_IDENTIFIER"
        # Every MESSAGE_ID we send is in the catalog.
        for id in $(grep -o 'MESSAGE_ID=[0-9a-f]*' "$T/journal.log" | sort -u | cut -d= -f2); do
                grep -q "^-- $id$" "$SRC/systemd/hypercall.catalog" || fail "MESSAGE_ID $id is not in hypercall.catalog"
        done
}

# Configuration errors are refused at start with file:line.
test_bad_config_refused_with_line() {
        start_bus
        make_fleet
        printf '[Daemon]\nSettleSec=soon\n' >"$T/hypercalld.conf"
        if "$HCD" --log-target=console --config "$T/hypercalld.conf" --state-dir "$T/state" >"$T/out" 2>&1; then
                fail "started with a bad config"
        fi
        grep -q "hypercalld.conf:2: SettleSec=: expected a time span" "$T/out" || fail "$(cat "$T/out")"
}

# The unit passes systemd-analyze verify with no output at all, and the
# catalog file is accepted by journalctl.
test_unit_verifies() {
        command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (package systemd)"
        mkdir -p "$T/unit"
        sed -e "s|^ExecStart=.*|ExecStart=$HCD|" -e "s|^ExecReload=.*|ExecReload=$HCTL reload|" "$UNIT" \
                >"$T/unit/hypercalld.service"
        local out
        out=$(systemd-analyze verify --man=no "$T/unit/hypercalld.service" 2>&1) || fail "verify failed: $out"
        [ -z "$out" ] || fail "systemd-analyze verify printed: $out"
        grep -q '^Type=notify$' "$UNIT" && grep -q '^BusName=org.hypercall.Hypercall1$' "$UNIT" &&
                grep -q '^DeviceAllow=/dev/kvm rw$' "$UNIT" || fail "unit lacks Type/BusName/DeviceAllow"
        # The catalog compiles, and lists every MESSAGE_ID of lib/message-ids.h.
        mkdir -p "$T/root/usr/lib/systemd/catalog"
        cp "$SRC/systemd/hypercall.catalog" "$T/root/usr/lib/systemd/catalog/"
        journalctl --root="$T/root" --update-catalog || fail "journalctl rejects hypercall.catalog"
        journalctl --root="$T/root" --list-catalog >"$T/catalog.list"
        for id in $(sed -n 's/^#define HC_MID_[A-Z_]* *"\([0-9a-f]*\)"/\1/p' "$SRC/lib/message-ids.h"); do
                grep -q "^$id " "$T/catalog.list" || fail "MESSAGE_ID $id has no catalog entry"
        done
}

# hypercallctl status, audit and reload talk to the daemon; unreachable is 255.
test_hypercallctl_talks_to_daemon() {
        start_bus
        make_fleet
        write_config
        "$HCTL" status >"$T/out" 2>&1 && fail "status without a daemon succeeded"
        [ "$("$HCTL" status >/dev/null 2>&1; echo $?)" = 255 ] || fail "status without a daemon must exit 255"
        start_daemon
        "$HCTL" status >"$T/out" || fail "status: $(cat "$T/out")"
        grep -q "generation 1" "$T/out" || fail "status output: $(cat "$T/out")"
        "$HCTL" status --json | jq -e '.schema == "hypercall.daemon/v1"' >/dev/null || fail "status --json"
        "$HCTL" audit --json | jq -e '.schema == "hypercall.audit/v1"' >/dev/null || fail "audit --json"
        "$HCTL" audit >/dev/null || fail "audit without findings must exit 0"
        "$HCTL" reload || fail "reload"
        as_nobody "$HCTL" status >/dev/null || fail "status as nobody"
        as_nobody "$HCTL" reload 2>"$T/err" && fail "reload as nobody succeeded"
        grep -q "hypercallctl: reload: Rejected send message" "$T/err" || fail "reload as nobody: $(cat "$T/err")"
        [ "$(as_nobody "$HCTL" reload >/dev/null 2>&1; echo $?)" = 255 ] || fail "refused reload must exit 255"
}

# Starts hypercalld with its state directory on a tmpfs of $1 bytes, in a
# private mount namespace (nothing on the host is mounted); the state
# directory is reached from outside as $STATE (/proc/PID/root/...).
start_daemon_on_small_state() {
        command -v unshare >/dev/null || fail "unshare missing (util-linux)"
        unshare -m true 2>/dev/null || skip "cannot create a mount namespace here (unshare -m: not permitted)"
        # shellcheck disable=SC2016
        unshare -m --propagation private sh -c '
                mount -t tmpfs -o size=$1,mode=0750 hc-state "$2/state" || exit 1
                shift 2
                exec "$@"
        ' sh "$1" "$T" "$HCD" --log-target=console --state-dir "$T/state" --policy-dir "$T/policy" \
                --store "$T/fleet" --plan-dir "$T/plans" --record-file "$T/etc/host.json" --host web-01 \
                --config "$T/hypercalld.conf" --libvirt-uri "" >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
        PIDS+=("$DAEMON_PID")
        wait_for_name
        STATE=/proc/$DAEMON_PID/root$T/state
}

in_daemon_ns() { nsenter -t "$DAEMON_PID" -m -- "$@"; }

web_entry() { jq -c '.pools[] | select(.pool == "web") | {generation, digest, registers}' "$STATE/baseline.json"; }

# The state directory fills up, then turns read-only: each recomputation
# that cannot be written says so (log and LastError, with the errno), leaves
# the previous baseline whole and in force (the file, Generation, no temp
# file), and the first recomputation after the fault clears (the rescan
# timer, nobody intervenes) writes the new one.
test_full_or_read_only_state_dir_keeps_last_good_baseline() {
        start_bus
        make_fleet
        write_config "RescanIntervalSec=1s"
        start_daemon_on_small_state 256k
        local before
        before=$(web_entry)
        [ "$(prop Generation)" = 1 ] || fail "no generation 1"
        # Full.
        in_daemon_ns sh -c "dd if=/dev/zero of=$T/state/filler bs=4k 2>/dev/null; true"
        toggle_ptp
        eventually 100 sh -c "busctl --system get-property $BUS_NAME $BUS_PATH $BUS_NAME LastError | grep -q 'No space left on device'" ||
                fail "LastError does not say the disk is full: $(prop LastError)"
        log_has "Cannot write the baseline, VMs keep reading the previous one: .*No space left on device" ||
                fail "no log line for the full disk"
        "$TOOL" check-baseline "$STATE/baseline.json" >/dev/null || fail "baseline torn on a full disk"
        [ "$(web_entry)" = "$before" ] || fail "web's values moved although nothing could be written"
        [ "$(prop Generation)" = 1 ] || fail "Generation moved to $(prop Generation) without a file"
        ls "$STATE" | grep -q '\.tmp\.' && fail "temp file left on the full disk: $(ls "$STATE")"
        in_daemon_ns rm "$T/state/filler"
        eventually 100 sh -c "jq -e '.generation == 2' '$STATE/baseline.json'" || fail "no recovery after freeing space"
        eventually 50 sh -c "[ \"\$(busctl --system get-property $BUS_NAME $BUS_PATH $BUS_NAME LastError)\" = 's \"\"' ]" ||
                fail "LastError stuck: $(prop LastError)"
        before=$(web_entry)
        # Read-only.
        in_daemon_ns mount -o remount,ro "$T/state"
        toggle_ptp
        eventually 100 sh -c "busctl --system get-property $BUS_NAME $BUS_PATH $BUS_NAME LastError | grep -q 'Read-only file system'" ||
                fail "LastError does not say read-only: $(prop LastError)"
        [ "$(web_entry)" = "$before" ] || fail "web's values moved on a read-only state directory"
        [ "$(prop Generation)" = 2 ] || fail "Generation moved on a read-only state directory"
        in_daemon_ns mount -o remount,rw "$T/state"
        eventually 100 sh -c "jq -e '.generation == 3' '$STATE/baseline.json'" || fail "no recovery after remounting rw"
        echo "full state directory (ENOSPC) and read-only (EROFS): generation held, file whole, recovered by the rescan timer"
}

# clock_jump_holds_web OFFSET REASON BEFORE: after the daemon's clock jumps by
# OFFSET, web is held at last-known-good (values BEFORE unchanged) for REASON,
# said in LastError, Pools and the baseline file; db (no max_record_age) is not.
clock_jump_holds_web() {
        echo "$1" >"$T/faketime"
        eventually 100 sh -c "busctl --system get-property $BUS_NAME $BUS_PATH $BUS_NAME LastError | grep -q '$2'" ||
                fail "clock $1: LastError: $(prop LastError)"
        [ "$(jq -c '.pools[] | select(.pool == "web") | {generation, digest, registers}' "$T/state/baseline.json")" = "$3" ] ||
                fail "clock $1: web's values moved when its records went stale"
        jq -e --arg r "$2" '.pools[] | select(.pool == "web") | .last_known_good.reason | contains($r)' \
                "$T/state/baseline.json" >/dev/null || fail "clock $1: web not held at last-known-good: $(cat "$T/state/baseline.json")"
        jq -e '.pools[] | select(.pool == "db") | has("last_known_good") | not' "$T/state/baseline.json" >/dev/null ||
                fail "clock $1: db (no max_record_age) was held too"
        prop Pools | jq -e '.[] | select(.[0] == "web") | .[1] == "held"' >/dev/null || fail "clock $1: Pools: $(prop Pools)"
}

# Clock jumps against max_record_age.  CLOCK_REALTIME cannot be namespaced
# (time namespaces cover only MONOTONIC and BOOTTIME), setting the host's
# clock would disturb everything else on the machine, and hypercalld has no
# "now" injection point, so libfaketime moves the daemon's wall clock, read
# from a file on every call: a real running daemon whose time(2) jumps.  Its
# monotonic clock and timers (the rescan timer) stay real, as on a real jump
# (hc-real-timerfd.so undoes libfaketime's shifting of timerfd expiries).
test_clock_jumps_against_max_record_age() {
        local lib
        lib=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketimeMT\.so\.1$' | head -1)
        [ -n "$lib" ] || fail "libfaketime missing (tests/daemon/host-packages.txt: faketime)"
        start_bus
        make_fleet
        # Records fresh now, whenever the test runs; web refuses records older than 30 days.
        local now f
        now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        for f in "$T"/fleet/*.json "$T/etc/host.json"; do
                jq --arg t "$now" '.probed_at = $t' "$f" >"$f.new" && mv "$f.new" "$f"
        done
        echo "max_record_age: 30d" >>"$T/policy/web.yaml"
        write_config "RescanIntervalSec=1s"
        echo "+0" >"$T/faketime"
        : "${REAL_TIMERFD:?}"
        # Under ASan the sanitizer runtime must come first in the link order: not with preloads.
        export LD_PRELOAD="$REAL_TIMERFD $lib" FAKETIME_TIMESTAMP_FILE=$T/faketime FAKETIME_NO_CACHE=1 \
                FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
        start_daemon
        unset LD_PRELOAD FAKETIME_TIMESTAMP_FILE FAKETIME_NO_CACHE FAKETIME_DONT_FAKE_MONOTONIC
        local before
        before=$(jq -c '.pools[] | select(.pool == "web") | {generation, digest, registers}' "$T/state/baseline.json")
        jq -e '.pools[] | select(.pool == "web") | has("last_known_good") | not' "$T/state/baseline.json" >/dev/null ||
                fail "web held at start"
        # Forward 60 days: every web record is now older than 30 days.
        clock_jump_holds_web "+60d" "older than max_record_age 30d" "$before"
        # Back to the real time: current again, same values.
        echo "+0" >"$T/faketime"
        eventually 100 sh -c "jq -e '.pools[] | select(.pool == \"web\") | has(\"last_known_good\") | not' '$T/state/baseline.json'" ||
                fail "web still held after the clock came back"
        [ "$(prop Generation)" = 1 ] || fail "the round trip moved the generation to $(prop Generation)"
        # Back 10 days: the records are from the future, within max_record_age: nothing is held.
        echo "-10d" >"$T/faketime"
        sleep 3
        jq -e '.pools[] | select(.pool == "web") | has("last_known_good") | not' "$T/state/baseline.json" >/dev/null ||
                fail "a backward jump within max_record_age held web"
        # Back 400 days: dated further in the future than max_record_age: stale, web held, db untouched.
        clock_jump_holds_web "-400d" "dated in the future by more than max_record_age 30d" "$before"
        [ "$(prop Generation)" = 1 ] || fail "a backward jump moved the generation"
        echo "clock +60d: web held at last-known-good (stale records), db untouched; back to now: current, generation 1; -10d: nothing held; -400d: web held (records from the future), db untouched"
}

# No secret reaches the log, the properties or Describe(): a password in
# LibvirtURI= (libvirt accepts user:password@ in the authority) is shown
# as user:***@ everywhere an operator or an unprivileged caller can read.
test_no_secret_in_logs_or_properties() {
        start_bus
        make_fleet
        write_config
        LIBVIRT_URI="qemu+tcp://admin:hunter2@127.0.0.1:1/system" start_daemon
        eventually 50 sh -c "busctl --system get-property $BUS_NAME $BUS_PATH $BUS_NAME LibvirtState | grep -q unavailable" ||
                fail "LibvirtState $(prop LibvirtState)"
        local d
        d=$(as_nobody busctl --system --json=short call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" Describe | jq -r '.data[0]')
        grep -q hunter2 "$T/daemon.log" && fail "the password is in the log: $(grep hunter2 "$T/daemon.log")"
        prop LibvirtState | grep -q hunter2 && fail "the password is in LibvirtState: $(prop LibvirtState)"
        grep -q hunter2 <<<"$d" && fail "the password is in Describe(): $d"
        jq -e '.config.libvirt_uri == "qemu+tcp://admin:***@127.0.0.1:1/system"' <<<"$d" >/dev/null ||
                fail "Describe() config.libvirt_uri: $(jq .config.libvirt_uri <<<"$d")"
        prop LibvirtState | grep -qF 'admin:***@127.0.0.1' || fail "LibvirtState does not name the URI: $(prop LibvirtState)"
}

# A running VM started from a start plan is stamped: the daemon writes the
# plan's values into the domain's live metadata (libvirt's test driver), so
# a migration destination knows what arrives; the next audit reads the stamp.
test_running_vm_from_start_plan_is_stamped() {
        start_bus
        make_fleet
        write_config
        local uuid=7a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d a
        cat >"$T/node.xml" <<EOF
<node>
  <domain type="test">
    <name>planned-vm</name>
    <uuid>$uuid</uuid>
    <memory>65536</memory>
    <os><type arch="aarch64">hvm</type></os>
  </domain>
</node>
EOF
        LIBVIRT_URI="test://$T/node.xml" start_daemon
        write_web_plan "$uuid" planned-vm 0x1
        call Audit >/dev/null
        a=$(call Audit | jq -r '.data[0]')
        jq -e '.vms[] | select(.uuid == "'"$uuid"'") | .source == "metadata" and .running == true' <<<"$a" >/dev/null ||
                fail "the second audit does not read the stamp: $a"
        log_has "VM planned-vm ($uuid) runs with pool web generation 1 values; stamped into its domain metadata.*MESSAGE_ID=8764abd9d7344a659dacfdac1a2ad848" ||
                fail "no VALUES_VERIFIED entry: $(tail -5 "$T/daemon.log")"
        [ "$(grep -c "stamped into its domain metadata" "$T/daemon.log")" = 1 ] || fail "stamped more than once"
}

# The hook tells hypercalld about a refused start (ReportVmRefused), and the
# daemon turns it into the VmRefused signal.  The hook runs for real, in a
# mount namespace whose /var/lib/hypercall is empty, so it refuses for want of
# a baseline; the private bus stands in for the system bus.
test_hook_refusal_becomes_vm_refused_signal() {
        start_bus
        make_fleet
        write_config
        start_daemon
        local hook uuid=3c4d5e6f-7a8b-4c9d-8e1f-2a3b4c5d6e7f out
        hook=$(dirname "$HCD")/../hook/hypercall-hook
        [ -x "$hook" ] || fail "no hook binary at $hook"
        expect_signal VmRefused
        out=$(unshare --mount --propagation private -- sh -c \
                'mkdir -p /var/lib/hypercall && mount -t tmpfs tmpfs /var/lib/hypercall && exec "$0" refused-vm prepare begin -' \
                "$hook" 2>&1 <<EOF
<domain type='kvm'>
  <name>refused-vm</name>
  <uuid>$uuid</uuid>
  <os><type arch='aarch64' machine='virt'>hvm</type></os>
  <metadata><hypercall:vm xmlns:hypercall="urn:hypercall:vm:1" pool="web"/></metadata>
</domain>
EOF
        ) && fail "the hook accepted a VM with no baseline: $out"
        grep -q "hypercall: VM refused-vm refused: no baseline" <<<"$out" || fail "hook said: $out"
        signal_arrived VmRefused
        grep -q "$uuid" "$T/signal.VmRefused" || fail "VmRefused without the VM: $(cat "$T/signal.VmRefused")"
        grep -q "no baseline" "$T/signal.VmRefused" || fail "VmRefused without the reason: $(cat "$T/signal.VmRefused")"
}

# Reading is not changing: every property is read-only on the bus, so a
# Properties.Set from an unprivileged caller fails even where the bus policy
# lets the call through (permissive bus), and nothing moves.
test_unprivileged_cannot_set_properties() {
        start_bus permissive
        make_fleet
        write_config
        start_daemon
        local p before after
        before=$(call Describe | jq -c '.data[0] | fromjson | {baseline, host: .host.name}')
        for p in "Generation t 7" "HostName s evil" "State s reloading" "PolicyDirectory s /tmp" "LastError s x"; do
                set -- $p
                as_nobody busctl --system set-property "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" "$1" "$2" "$3" \
                        2>"$T/err" && fail "nobody set $1"
                grep -q "Property '$1' is not writable" "$T/err" || fail "set $1: $(cat "$T/err")"
                busctl --system set-property "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" "$1" "$2" "$3" 2>/dev/null &&
                        fail "even root may not set $1: it is read-only"
        done
        after=$(call Describe | jq -c '.data[0] | fromjson | {baseline, host: .host.name}')
        [ "$before" = "$after" ] || fail "a refused Set changed the state"
        [ "$(prop HostName)" = '"web-01"' ] || fail "HostName moved"
}

# kill -9 while the daemon publishes this host's record to the store (a
# probe found a new kernel): the store file is the old record or the new one,
# whole, never torn or gone; the next start reads every record (no store
# failure) and republishes the new one.  Half the kills land exactly
# mid-write, half at random moments.
test_kill9_never_tears_a_store_record() {
        start_bus
        make_fleet
        write_config
        local runs=16 mid=0 old new got killer
        for run in $(seq "$runs"); do
                start_daemon
                old=$(jq -r .kernel "$T/fleet/web-01.json")
                new="6.1.0-$run-arm64"
                jq --arg k "$new" '.kernel = $k' "$SRC/examples/fleet/web-01.json" >"$T/etc/host.json.new"
                mv "$T/etc/host.json.new" "$T/etc/host.json"
                if [ $((run % 2)) = 1 ]; then
                        : >"$T/killer" # not the last run's "ready": the redirection below happens in the child
                        "$TOOL" kill-on-create "$T/fleet" web-01.json.tmp. "$DAEMON_PID" 20 >"$T/killer" 2>&1 &
                        killer=$!
                        eventually 50 grep -q ready "$T/killer" || fail "killer not ready"
                        busctl --system call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" ProbeHost b false >/dev/null 2>&1 &
                        wait "$killer" || fail "run $run: no publish to kill: $(cat "$T/killer")"
                else
                        busctl --system call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" ProbeHost b false >/dev/null 2>&1 &
                        sleep "0.0$((RANDOM % 10))"
                        kill -KILL "$DAEMON_PID"
                fi
                wait "$DAEMON_PID" 2>/dev/null || true
                # The next publish removes what a killed one left: at most one temp file at a time.
                case $(ls "$T/fleet" | grep -c '^web-01\.json\.tmp\.') in
                0) ;;
                1) mid=$((mid + 1)) ;;
                *) fail "run $run: temp files pile up: $(ls "$T/fleet" | grep tmp)" ;;
                esac
                [ -f "$T/fleet/web-01.json" ] || fail "run $run: the record is gone"
                got=$(jq -r .kernel "$T/fleet/web-01.json") || fail "run $run: torn record: $(cat "$T/fleet/web-01.json")"
                [ "$got" = "$old" ] || [ "$got" = "$new" ] || fail "run $run: kernel $got is neither $old nor $new"
        done
        echo "kill -9 during publish: $runs runs, $mid killed mid-write; every record whole"
        # A record is small: on a loaded machine the write may finish before the kill lands.
        [ "$mid" -ge 1 ] || fail "no kill of $runs landed mid-write"
        start_daemon
        call Describe | jq -e '.data[0] | fromjson | .store.failures == [] and .store.records == 9' >/dev/null ||
                fail "the next start sees store failures: $(call Describe | jq -r '.data[0]' | jq .store)"
        eventually 50 sh -c "jq -e '.kernel == \"$new\"' '$T/fleet/web-01.json'" || fail "the new record was not republished"
        ls "$T/fleet" | grep -q '\.tmp\.' && fail "temp files left after the next publish: $(ls "$T/fleet")"
        true
}

# CheckMigration judges the rest of the CPU state where the store has both
# hosts' current vCPU register sets (STORE/vcpu/HOST.json, real lab probes),
# answering exactly what hypercallctl check-migration answers from the same
# directory; without the sets, or with one from another kernel than the
# record, only the firmware registers are judged.
test_check_migration_judges_vcpu_register_sets() {
        start_bus
        make_fleet
        mkdir -p "$T/fleet/vcpu"
        cp "$SRC"/examples/fleet/vcpu/*.json "$T/fleet/vcpu/"
        write_config
        start_daemon
        local from to daemon ctl
        for pair in "web-01 web-03" "web-03 web-01"; do
                read -r from to <<<"$pair"
                daemon=$(call CheckMigration sss web "$from" "$to" | jq -c '.data[1] | fromjson')
                # exit 1 is a refusal, not a failure of the command
                ctl=$({ "$HCTL" check-migration --records "$T/fleet" --policies "$T/policy" --pool web \
                        --from "$from" --to "$to" --json 2>/dev/null || true; } | jq -c .)
                [ "$daemon" = "$ctl" ] || fail "$from -> $to: daemon says $daemon, hypercallctl $ctl"
        done
        # 6.12 lists registers 6.1 does not (the lab saw QEMU refuse this direction).
        call CheckMigration sss web web-03 web-01 | jq -e '.data[0] == false and
                ([.data[1] | fromjson | .reasons[].register] | any(. == "CNTPCT_EL0"))' >/dev/null ||
                fail "web-03 -> web-01 with register sets: $(call CheckMigration sss web web-03 web-01)"
        # A set from before a kernel change is stale: judged on firmware registers only.
        jq '.kernel = "6.12.0-1-arm64"' "$SRC/examples/fleet/vcpu/web-01.json" >"$T/fleet/vcpu/web-01.json"
        call CheckMigration sss web web-03 web-01 | jq -e '.data[0] == true' >/dev/null ||
                fail "a stale register set was used: $(call CheckMigration sss web web-03 web-01)"
        # An unreadable one is an error, not a silent firmware-only answer.
        echo '{"schema": "hypercall.vcpu-regs/v1"' >"$T/fleet/vcpu/web-01.json"
        busctl --system call "$BUS_NAME" "$BUS_PATH" "$BUS_NAME" CheckMigration sss web web-03 web-01 2>"$T/err" &&
                fail "CheckMigration with a torn register set succeeded"
        grep -q "vcpu/web-01.json" "$T/err" || fail "error does not name the file: $(cat "$T/err")"
        true
}

name=${1:?usage: run.sh TEST}
declare -F "test_$name" >/dev/null || fail "no test $name"
"test_$name"
echo "daemon__$name: PASS"

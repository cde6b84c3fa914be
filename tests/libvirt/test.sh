#!/bin/bash
# The libvirt tier (ctest label "libvirt"): the hook, the shim and its delivery
# in a real libvirtd 9.0 with real QEMU 7.2 aarch64 domains under TCG.
#
# What it proves, case by case (run one: test.sh CASE; the lab itself:
# test.sh setup / test.sh cleanup, which ctest runs as fixtures):
#   start_*        a start finds its plan, the shim mapped into QEMU and its
#                  status line in the QEMU log, with each delivery
#   refuse_*       each refusal, with the exact message `virsh start` shows
#   shim_*         the fail-closed paths that ld.so and a missing plan open up
#   stop/reconnect the plan is gone after stop; a libvirtd restart leaves VMs running
#   incoming_*     migrate/restore verdicts from XML recorded from libvirt
#   parallel_50    50 domains started at once all get their own pool's plan
# TCG makes no KVM ioctls, so the shim's KVM_SET_ONE_REG work cannot happen
# here: these tests prove the gate, the plan and the delivery; the arm64 lab
# tier proves the register writes on real KVM.
set -uo pipefail
: "${LAB:?}" "${BUILD:?}" "${SRC:?}" "${SHIM_PATH:?}" "${WRAPPER_PATH:?}"
SANITIZER_PRELOAD=${SANITIZER_PRELOAD:-} SANITIZER_OPTIONS_FILE=${SANITIZER_OPTIONS_FILE:-}
# shellcheck source=lab.sh
. "$SRC/tests/libvirt/lab.sh"

expect_eq() { # what observed expected
        [ "$2" = "$3" ] || die "$1: expected
  $3
observed
  $2"
}

# The wrapper's refusal is its stderr, which lands in the domain's QEMU log;
# virsh shows it too unless libvirt first sees the monitor connection fail
# (a race a loaded machine loses), so refusals are looked for in both.
expect_has() { # what haystack needle
        grep -qF -- "$3" <<<"$2" || die "$1: expected to find
  $3
in
$2"
}

# The error line virsh shows for a hook refusal at PHASE.
hook_error() { # NAME PHASE MESSAGE
        echo "error: Hook script execution failed: internal error: Child process (LC_ALL=C PATH=$LAB_PATH $HOOK_INSTALLED $1 $2 begin -) unexpected exit status 1: $3"
}

start_fails() { # NAME -> stderr of the failed virsh start
        local out
        if out=$(V start "$1" 2>&1); then echo "virsh start $1 succeeded, expected a refusal"; return 1; fi
        echo "$out"
}

expect_shut_off_failed() {
        expect_eq "$1 state" "$(V domstate --reason "$1")" "shut off (failed)"
        [ ! -e "$LAB/hc-run/vm/$(dom_uuid "$1").plan" ] || die "$1: a refused start left a plan behind"
}

check_running_with_plan() { # NAME POOL DELIVERY
        local name=$1 pool=$2 plan pid maps log
        expect_eq "$name state" "$(V domstate --reason "$name")" "running (booted)"
        plan=$(plan_of "$name") || die "$name: no plan in /run/hypercall/vm"
        expect_has "$name plan" "$plan" "vm-uuid $(dom_uuid "$name")"
        expect_has "$name plan" "$plan" "pool $pool"
        expect_has "$name plan" "$plan" "mode start"
        # Readable by root and QEMU only (docs/plan-format.md): the start hook gave it to the DAC label's group.
        expect_eq "$name plan owner and mode" "$(stat -c '%u:%g %a' "$LAB/hc-run/vm/$(dom_uuid "$name").plan")" \
                "0:$(id -g libvirt-qemu) 440"
        pid=$(qemu_pid "$name")
        maps=$(cat /proc/"$pid"/maps)
        expect_has "$name: shim mapped into QEMU pid $pid" "$maps" "$SHIM_PATH"
        log=$(qemu_log "$name")
        expect_has "$name QEMU log" "$log" "]: VM $name ($(dom_uuid "$name")): pool $pool generation"
        expect_has "$name QEMU log" "$log" "will set PSCI_VERSION="
        # Under TCG the guest runs without KVM: its banner shows the start was real.
        for _ in $(seq 50); do grep -q "guest code ran" "$LAB/console/$name.log" 2>/dev/null && break; sleep 0.1; done
        expect_has "$name console" "$(cat "$LAB/console/$name.log")" "guest code ran"
}

case_start_wrapper() {
        define lv-wrap web wrapper
        V start lv-wrap >/dev/null || die "start lv-wrap: $(qemu_log lv-wrap | tail -3)"
        check_running_with_plan lv-wrap web
        expect_has "plan registers" "$(plan_of lv-wrap)" "register STD_BMAP 0x6030000000160000 0x0"
        expect_has "plan registers" "$(plan_of lv-wrap)" "register VENDOR_HYP_BMAP 0x6030000000160002 0x1"
        # The wrapper adds no taint: the domain log has no "tainted" line.
        ! grep -q tainted "$LAB/log/qemu/lv-wrap.log" || die "wrapper delivery tainted the domain"
        V destroy lv-wrap >/dev/null
        [ ! -e "$LAB/hc-run/vm/$(dom_uuid lv-wrap).plan" ] || die "plan still there after destroy"
        say "start_wrapper: plan, shim mapped, status line, no taint; plan gone after stop"
}

# The plan is readable by QEMU and root only: libvirt's DAC label (the user
# and group QEMU runs as) is not in the XML at prepare begin and is at start
# begin (a recorder hook keeps both), so the plan is root:root 0440 after
# prepare and root:libvirt-qemu 0440 by the time QEMU, running as
# libvirt-qemu, reads it: the wrapper accepted it and the shim's status line
# names its values.  Root without capabilities (hypercalld) reads it too.
case_plan_readable_by_qemu_and_root_only() {
        local uuid qemu_ids
        uuid=$(dom_uuid lv-owner)
        qemu_ids="0:$(id -g libvirt-qemu)"
        cat > "$LAB/etc/hooks/qemu.d/00-test-record-start" <<EOS
#!/bin/sh
case "\$2 \$3" in
"prepare begin") cat > "$LAB/ctl/owner-prepare.xml" ;;
"start begin") cat > "$LAB/ctl/owner-start.xml"; stat -c '%u:%g %a' "/run/hypercall/vm/$uuid.plan" > "$LAB/ctl/owner-after-prepare" 2>&1 ;;
*) cat >/dev/null ;;
esac
EOS
        chmod 0755 "$LAB/etc/hooks/qemu.d/00-test-record-start"
        # A hook after ours sees what QEMU will find.
        cat > "$LAB/etc/hooks/qemu.d/zz-test-record-start" <<EOS
#!/bin/sh
cat >/dev/null
[ "\$2 \$3" = "start begin" ] && stat -c '%u:%g %a' "/run/hypercall/vm/$uuid.plan" > "$LAB/ctl/owner-after-start"
exit 0
EOS
        chmod 0755 "$LAB/etc/hooks/qemu.d/zz-test-record-start"
        define lv-owner web wrapper
        V start lv-owner >/dev/null || { rm -f "$LAB"/etc/hooks/qemu.d/*-test-record-start; die "start lv-owner: $(qemu_log lv-owner | tail -3)"; }
        rm -f "$LAB"/etc/hooks/qemu.d/*-test-record-start
        ! grep -q "model='dac'" "$LAB/ctl/owner-prepare.xml" || die "prepare begin already carries a DAC label: $(grep -A2 seclabel "$LAB/ctl/owner-prepare.xml")"
        expect_has "start begin XML" "$(cat "$LAB/ctl/owner-start.xml")" "<label>+$(id -u libvirt-qemu):+$(id -g libvirt-qemu)</label>"
        expect_eq "plan after prepare (ours ran before the recorder's start begin)" "$(cat "$LAB/ctl/owner-after-prepare")" "0:0 440"
        expect_eq "plan after our start begin" "$(cat "$LAB/ctl/owner-after-start")" "$qemu_ids 440"
        check_running_with_plan lv-owner web
        expect_eq "QEMU's user" "$(awk '/^Uid:/ {print $2}' /proc/"$(qemu_pid lv-owner)"/status)" "$(id -u libvirt-qemu)"
        expect_eq "QEMU's group" "$(awk '/^Gid:/ {print $2}' /proc/"$(qemu_pid lv-owner)"/status)" "$(id -g libvirt-qemu)"
        setpriv --bounding-set -all --inh-caps -all -- cat "$LAB/hc-run/vm/$uuid.plan" >/dev/null ||
                die "root without capabilities (hypercalld) cannot read the plan"
        V destroy lv-owner >/dev/null
        [ ! -e "$LAB/hc-run/vm/$uuid.plan" ] || die "plan still there after destroy"
        say "plan_readable_by_qemu_and_root_only: no DAC label at prepare, +UID:+GID at start; plan 0:0 0440, then $qemu_ids 0440; QEMU (uid $(id -u libvirt-qemu)) and capability-less root read it"
}

case_start_qemu_env() {
        define lv-env edge qemu-env
        V start lv-env >/dev/null || die "start lv-env: $(qemu_log lv-env | tail -3)"
        check_running_with_plan lv-env edge
        expect_has "plan registers" "$(plan_of lv-env)" "register STD_HYP_BMAP 0x6030000000160001 0x0"
        expect_has "taint" "$(qemu_log lv-env)" "is tainted: custom-argv"
        V destroy lv-env >/dev/null
        [ ! -e "$LAB/hc-run/vm/$(dom_uuid lv-env).plan" ] || die "plan still there after destroy"
        say "start_qemu_env: plan, shim mapped, status line (tainted custom-argv as documented)"
}

case_start_host_only_pool() {
        write_fixture_baseline computed-one-pool.json
        define lv-nopool - wrapper
        V start lv-nopool >/dev/null || { write_fixture_baseline computed.json; die "start lv-nopool failed"; }
        write_fixture_baseline computed.json
        check_running_with_plan lv-nopool web
        V destroy lv-nopool >/dev/null
        # With two pools holding this host, a VM that names none is refused.
        local out
        out=$(start_fails lv-nopool)
        expect_has "ambiguous pool" "$out" "$(hook_error lv-nopool prepare "hypercall: VM lv-nopool refused: it names no pool and this host ($HOST_NAME) is in 2 pools (edge, web): name one with <hypercall:vm pool=\"...\"/> in its metadata")"
        expect_shut_off_failed lv-nopool
        say "start_host_only_pool: the host's only pool is used; two pools are refused"
}

case_refuse_missing_baseline() {
        define lv-nobase web wrapper
        mv "$LAB/hc-state/baseline.json" "$LAB/hc-state/baseline.json.away"
        local out
        out=$(start_fails lv-nobase)
        mv "$LAB/hc-state/baseline.json.away" "$LAB/hc-state/baseline.json"
        expect_has "missing baseline" "$out" "$(hook_error lv-nobase prepare "hypercall: VM lv-nobase refused: no baseline at /var/lib/hypercall/baseline.json (has hypercalld run on this host?)")"
        expect_shut_off_failed lv-nobase
        say "refuse_missing_baseline: exact message"
}

case_refuse_refused_pool() {
        define lv-db db wrapper
        local out
        out=$(start_fails lv-db)
        expect_has "refused pool" "$out" "$(hook_error lv-db prepare "hypercall: VM lv-db refused: pool \"db\" is refused in baseline generation 1: service pv-time is required but db-02 lacks it")"
        expect_shut_off_failed lv-db
        say "refuse_refused_pool: exact message"
}

case_refuse_unknown_pool() {
        define lv-nosuch nosuch wrapper
        local out
        out=$(start_fails lv-nosuch)
        expect_has "unknown pool" "$out" "$(hook_error lv-nosuch prepare "hypercall: VM lv-nosuch refused: pool \"nosuch\" is not in the baseline (generation 1; pools: batch, db, edge, web)")"
        expect_shut_off_failed lv-nosuch
        say "refuse_unknown_pool: exact message"
}

case_refuse_not_member() {
        define lv-batch batch wrapper
        local out
        out=$(start_fails lv-batch)
        expect_has "non-member" "$out" "$(hook_error lv-batch prepare "hypercall: VM lv-batch refused: this host ($HOST_NAME) is not a member of pool \"batch\"")"
        expect_shut_off_failed lv-batch
        say "refuse_not_member: exact message"
}

case_refuse_not_delivered() {
        local out
        define lv-plain web none
        out=$(start_fails lv-plain)
        expect_has "no delivery" "$out" "$(hook_error lv-plain prepare "hypercall: VM lv-plain refused: the shim is not delivered: the emulator /usr/bin/qemu-system-aarch64 is not the hypercall wrapper $WRAPPER_PATH and the domain has no <qemu:env name='LD_PRELOAD' value='$SHIM_PATH'/>")"
        expect_shut_off_failed lv-plain
        define lv-wrongpath web preload=/opt/nowhere/libhypercall-shim.so
        out=$(start_fails lv-wrongpath)
        expect_has "wrong path" "$out" "$(hook_error lv-wrongpath prepare "hypercall: VM lv-wrongpath refused: the shim is not delivered: <qemu:env name='LD_PRELOAD'> is \"/opt/nowhere/libhypercall-shim.so\", which does not name $SHIM_PATH")"
        expect_shut_off_failed lv-wrongpath
        mv "$LAB/shim-dir/$(basename "$SHIM_PATH")" "$LAB/shim-dir/away.so"
        define lv-noshim web wrapper
        out=$(start_fails lv-noshim)
        mv "$LAB/shim-dir/away.so" "$LAB/shim-dir/$(basename "$SHIM_PATH")"
        expect_has "shim missing" "$out" "$(hook_error lv-noshim prepare "hypercall: VM lv-noshim refused: the shim $SHIM_PATH is missing: No such file or directory")"
        expect_shut_off_failed lv-noshim
        say "refuse_not_delivered: no delivery, wrong LD_PRELOAD path, shim file missing"
}

case_shim_unreadable() {
        # The shim exists but the QEMU user cannot read it: ld.so would skip it silently.
        local so="$LAB/shim-dir/$(basename "$SHIM_PATH")" out
        chmod 0600 "$so"
        define lv-unread-w web wrapper
        out=$(start_fails lv-unread-w)
        define lv-unread-e web qemu-env
        local out2
        out2=$(start_fails lv-unread-e) || { chmod 0644 "$so"; die "$out2"; }
        chmod 0644 "$so"
        # Default delivery: the wrapper proves, as the QEMU user, that the shim loads, before exec.
        expect_has "wrapper refusal" "$out
$(qemu_log lv-unread-w)" "hypercall-qemu: VM $(dom_uuid lv-unread-w) refused: the shim cannot be loaded as the QEMU user (uid $(id -u libvirt-qemu)): $SHIM_PATH: cannot open shared object file: Permission denied"
        ! grep -q "guest code ran" "$LAB/console/lv-unread-w.log" 2>/dev/null || die "lv-unread-w: the guest ran"
        # <qemu:env>: ld.so skipped the shim and QEMU started; only the started hook can see it.
        expect_has "ld.so skipped it" "$(qemu_log lv-unread-e)" "ERROR: ld.so: object '$SHIM_PATH' from LD_PRELOAD cannot be preloaded"
        expect_has "started refusal" "$out2" "$(hook_error lv-unread-e started "hypercall: VM lv-unread-e stopped: the shim $SHIM_PATH is not loaded in QEMU (pid")"
        expect_eq "lv-unread-e state" "$(V domstate --reason lv-unread-e)" "shut off (failed)"
        say "shim_unreadable: wrapper refuses before exec; <qemu:env> is caught after start by the started hook"
}

case_shim_secure_execution() {
        # A setgid QEMU: its exec is secure-execution, ld.so drops LD_PRELOAD entries with a '/'.
        local real=/usr/bin/qemu-system-aarch64 copy="$LAB/qemu-setgid" out out2
        cp "$real" "$copy"
        chmod 2755 "$copy"
        in_lab mount --bind "$copy" "$real" || die "cannot bind the setgid QEMU"
        define lv-secure-w web wrapper
        out=$(start_fails lv-secure-w)
        define lv-secure-e web qemu-env
        out2=$(start_fails lv-secure-e)
        in_lab umount "$real"
        expect_has "wrapper refusal" "$out
$(qemu_log lv-secure-w)" "hypercall-qemu: VM $(dom_uuid lv-secure-w) refused: $real is setgid: its exec would run in secure-execution mode and ld.so would drop the shim"
        expect_has "started refusal" "$out2" "$(hook_error lv-secure-e started "hypercall: VM lv-secure-e stopped: the shim $SHIM_PATH is not loaded in QEMU (pid")"
        say "shim_secure_execution: wrapper refuses a setgid QEMU; <qemu:env> stripped and caught by the started hook"
}

# A test-only hook that breaks the plan between prepare and QEMU's exec (start begin).
install_plan_breaker() {
        cat > "$LAB/etc/hooks/qemu.d/zz-test-break-plan" <<EOS
#!/bin/sh
cat >/dev/null
[ "\$2 \$3" = "start begin" ] || exit 0
[ -f "$LAB/ctl/break-\$1" ] || exit 0
plan=/run/hypercall/vm/\$(cat "$LAB/ctl/break-\$1").plan
case \$(cat "$LAB/ctl/mode-\$1") in
remove) rm -f "\$plan" ;;
corrupt) printf 'hypercall-plan 1\nvm-uuid nope\n' > "\$plan" ;;
esac
EOS
        chmod 0755 "$LAB/etc/hooks/qemu.d/zz-test-break-plan"
}

case_shim_no_plan() {
        local out
        install_plan_breaker
        define lv-noplan-e web qemu-env
        dom_uuid lv-noplan-e > "$LAB/ctl/break-lv-noplan-e"; echo remove > "$LAB/ctl/mode-lv-noplan-e"
        out=$(start_fails lv-noplan-e)
        expect_has "shim refusal" "$out" "hypercall-shim["
        expect_has "shim refusal" "$out" "]: refusing to run VM $(dom_uuid lv-noplan-e): no valid plan: /run/hypercall/vm/$(dom_uuid lv-noplan-e).plan: No such file or directory"
        ! grep -q "guest code ran" "$LAB/console/lv-noplan-e.log" 2>/dev/null || die "lv-noplan-e: the guest ran"
        define lv-badplan-w web wrapper
        dom_uuid lv-badplan-w > "$LAB/ctl/break-lv-badplan-w"; echo corrupt > "$LAB/ctl/mode-lv-badplan-w"
        out=$(start_fails lv-badplan-w)
        expect_has "wrapper refusal" "$out
$(qemu_log lv-badplan-w)" "hypercall-qemu: VM $(dom_uuid lv-badplan-w) refused: no valid plan: /run/hypercall/vm/$(dom_uuid lv-badplan-w).plan:2: vm-uuid: expected a lowercase UUID, got \"nope\""
        rm -f "$LAB/etc/hooks/qemu.d/zz-test-break-plan"
        say "shim_no_plan: the shim (and the wrapper) refuse a managed QEMU without a valid plan; the guest never ran"
}

WEB_STAMP="<hypercall:applied generation='1' digest='sha256:$(printf '3%.0s' $(seq 64))'>\
<hypercall:register name='PSCI_VERSION' value='0x10001'/>\
<hypercall:register name='STD_BMAP' value='0x0'/>\
<hypercall:register name='STD_HYP_BMAP' value='0x1'/>\
<hypercall:register name='VENDOR_HYP_BMAP' value='0x1'/>\
<hypercall:register name='SMCCC_ARCH_WORKAROUND_1' value='0x2'/>\
</hypercall:applied>"

# A test-only hook (runs before ours) that keeps the XML libvirt passes to restore/migrate begin.
install_recorder() {
        cat > "$LAB/etc/hooks/qemu.d/00-test-record" <<EOS
#!/bin/sh
case "\$2 \$3" in
"restore begin"|"migrate begin") cat > "$LAB/ctl/recorded-\$2-\$1.xml" ;;
*) cat >/dev/null ;;
esac
EOS
        chmod 0755 "$LAB/etc/hooks/qemu.d/00-test-record"
}

case_incoming_restore() {
        local plan
        install_recorder
        STAMP=$WEB_STAMP define lv-restore web wrapper
        V start lv-restore >/dev/null || die "start lv-restore"
        rm -f "$LAB/ctl/lv-restore.save"
        V save lv-restore "$LAB/ctl/lv-restore.save" >/dev/null || die "save lv-restore"
        [ ! -e "$LAB/hc-run/vm/$(dom_uuid lv-restore).plan" ] || die "plan left after save"
        V restore "$LAB/ctl/lv-restore.save" >/dev/null || die "restore lv-restore: $(qemu_log lv-restore | tail -3)"
        rm -f "$LAB/etc/hooks/qemu.d/00-test-record"
        expect_eq "lv-restore state" "$(V domstate --reason lv-restore)" "running (restored)"
        [ -s "$LAB/ctl/recorded-restore-lv-restore.xml" ] || die "restore begin got no XML"
        plan=$(plan_of lv-restore)
        expect_has "restored plan" "$plan" "mode incoming"
        expect_has "restored plan" "$plan" "digest sha256:$(printf '3%.0s' $(seq 64))"
        expect_has "restored plan" "$plan" "register VENDOR_HYP_BMAP 0x6030000000160002 0x1"
        ! grep -q WORKAROUND <<<"$plan" || die "a workaround level was planned"
        expect_has "shim mapped" "$(cat /proc/"$(qemu_pid lv-restore)"/maps)" "$SHIM_PATH"
        expect_has "shim status" "$(qemu_log lv-restore)" "mode incoming: will set PSCI_VERSION=0x10001"
        V destroy lv-restore >/dev/null
        ! grep -q "tainted" "$LAB/log/qemu/lv-restore.log" || die "the restore tainted the domain"
        say "incoming_restore: restore begin accepted, prepare wrote an incoming plan of the stamped values, no taint"
}

# Runs our hook as libvirt would, inside the lab: XML on stdin, stderr + status out.
run_hook() { # NAME OP XMLFILE
        in_lab env -i LC_ALL=C PATH=$LAB_PATH "$HOOK_INSTALLED" "$1" "$2" begin - < "$3" 2>&1
        echo "status=$?"
}

case_incoming_verdicts() {
        local rec="$LAB/ctl/recorded-restore-lv-verdict.xml" out v
        install_recorder
        STAMP=$WEB_STAMP define lv-verdict web wrapper
        V start lv-verdict >/dev/null || die "start lv-verdict"
        V save lv-verdict "$LAB/ctl/lv-verdict.save" >/dev/null || die "save"
        V restore "$LAB/ctl/lv-verdict.save" >/dev/null || die "restore"
        V destroy lv-verdict >/dev/null
        rm -f "$LAB/etc/hooks/qemu.d/00-test-record"
        [ -s "$rec" ] || die "no recorded XML"
        grep -q "<hypercall:register name=\"STD_BMAP\" value=\"0x0\"/>" "$rec" || die "recorded XML lacks the stamp: $(cat "$rec")"
        variant() { sed "s|<hypercall:register name=\"STD_BMAP\" value=\"0x0\"/>|$1|" "$rec" > "$LAB/ctl/v.xml"; }
        for op in migrate restore; do
                out=$(run_hook lv-verdict $op "$rec")
                expect_eq "$op: stamp fits this host" "$out" "status=0"
                rm -f "$LAB/hc-run/vm/$(dom_uuid lv-verdict).incoming"
        done
        variant '<hypercall:register name="STD_BMAP" value="0x0"/><hypercall:register name="VENDOR_HYP_BMAP_2" value="0x1"/>'
        expect_eq "BMAP_2 on a 6.1 host" "$(run_hook lv-verdict migrate "$LAB/ctl/v.xml")" "hypercall: incoming VM lv-verdict refused: it carries VENDOR_HYP_BMAP_2, which this host's kernel (6.1.0-56-arm64) lacks
status=1"
        variant '<hypercall:register name="STD_BMAP" value="0x0"/><hypercall:register name="SMCCC_ARCH_WORKAROUND_3" value="0x2"/>'
        expect_eq "WA3 above host" "$(run_hook lv-verdict migrate "$LAB/ctl/v.xml")" "hypercall: incoming VM lv-verdict refused: SMCCC_ARCH_WORKAROUND_3 level 2 is above this host's level 1 (this host is less mitigated)
status=1"
        sed 's|name="PSCI_VERSION" value="0x10001"|name="PSCI_VERSION" value="0x10003"|' "$rec" > "$LAB/ctl/v.xml"
        expect_eq "PSCI too new" "$(run_hook lv-verdict restore "$LAB/ctl/v.xml")" "hypercall: incoming VM lv-verdict refused: PSCI 1.3 is newer than this host's 1.1
status=1"
        variant '<hypercall:register name="STD_BMAP" value="0x2"/>'
        v=$(run_hook lv-verdict migrate "$LAB/ctl/v.xml")
        expect_has "malformed stamp" "$v" "hypercall: incoming VM lv-verdict refused: domain XML:"
        expect_has "malformed stamp" "$v" ": <register name=\"STD_BMAP\">: expected bits within mask 0x1
status=1"
        sed 's|pool="web"|pool="nosuch"|' "$rec" > "$LAB/ctl/v.xml"
        expect_eq "unknown pool" "$(run_hook lv-verdict migrate "$LAB/ctl/v.xml")" "hypercall: incoming VM lv-verdict refused: pool \"nosuch\" is not in the baseline (generation 1; pools: batch, db, edge, web)
status=1"
        mv "$LAB/hc-state/host.json" "$LAB/hc-state/host.json.away"
        v=$(run_hook lv-verdict migrate "$rec")
        mv "$LAB/hc-state/host.json.away" "$LAB/hc-state/host.json"
        expect_eq "no host record" "$v" "hypercall: incoming VM lv-verdict refused: no host record at /var/lib/hypercall/host.json: cannot check what the VM brings
status=1"
        # Unstamped (started before hypercalld stamped it): judged by the pool's values.
        sed '/<hypercall:applied/,/<\/hypercall:applied>/d' "$rec" > "$LAB/ctl/v.xml"
        expect_eq "unstamped" "$(run_hook lv-verdict migrate "$LAB/ctl/v.xml")" "status=0"
        rm -f "$LAB/hc-run/vm/$(dom_uuid lv-verdict).incoming"
        # Nothing on stdout ever: no XML rewrite, no hook-script taint.
        [ -z "$(in_lab env -i LC_ALL=C PATH=$LAB_PATH "$HOOK_INSTALLED" lv-verdict migrate begin - < "$rec" 2>/dev/null)" ] || die "the hook printed XML"
        rm -f "$LAB/hc-run/vm/$(dom_uuid lv-verdict).incoming"
        say "incoming_verdicts: recorded XML accepted; BMAP_2, WA3, PSCI, malformed stamp, unknown pool, no record refused"
}

case_reconnect() {
        define lv-recon web wrapper
        V start lv-recon >/dev/null || die "start lv-recon"
        local pid
        pid=$(qemu_pid lv-recon)
        libvirtd_stop
        libvirtd_start
        for _ in $(seq 50); do [ "$(V domstate --reason lv-recon 2>/dev/null)" = "running (booted)" ] && break; sleep 0.1; done
        expect_eq "lv-recon after libvirtd restart" "$(V domstate --reason lv-recon)" "running (booted)"
        expect_eq "same QEMU" "$(qemu_pid lv-recon)" "$pid"
        [ -d /proc/"$pid" ] || die "QEMU $pid died"
        [ -e "$LAB/hc-run/vm/$(dom_uuid lv-recon).plan" ] || die "reconnect removed the plan"
        V destroy lv-recon >/dev/null
        say "reconnect: VM kept running across a libvirtd restart, plan kept"
}

case_parallel_50() {
        local n pool fail=0
        for n in $(seq -w 1 50); do
                pool=web; [ $((10#$n % 2)) = 0 ] && pool=edge
                domain_xml "lv-par-$n" "$pool" wrapper > "$LAB/ctl/lv-par-$n.xml"
                V define "$LAB/ctl/lv-par-$n.xml" >/dev/null || die "define lv-par-$n"
        done
        seq -w 1 50 | xargs -P 50 -I{} sh -c "timeout 300 virsh -q -c '$URI' start lv-par-{} >/dev/null 2>'$LAB/ctl/par-{}.err' || echo lv-par-{} >> '$LAB/ctl/par-failed'"
        [ -s "$LAB/ctl/par-failed" ] && die "starts failed: $(cat "$LAB/ctl/par-failed") $(cat "$LAB"/ctl/par-*.err)"
        for n in $(seq -w 1 50); do
                pool=web; [ $((10#$n % 2)) = 0 ] && pool=edge
                check_running_with_plan "lv-par-$n" "$pool" || fail=1
                expect_has "lv-par-$n plan name" "$(plan_of "lv-par-$n")" "vm-name lv-par-$n"
        done
        seq -w 1 50 | xargs -P 10 -I{} timeout 120 virsh -q -c "$URI" destroy lv-par-{} >/dev/null
        for n in $(seq -w 1 50); do
                [ ! -e "$LAB/hc-run/vm/$(dom_uuid "lv-par-$n").plan" ] || die "lv-par-$n plan left after destroy"
                V undefine "lv-par-$n" >/dev/null
        done
        say "parallel_50: 50 domains started at once, each with its own pool's plan; all plans gone after stop"
}

case=${1:?usage: test.sh setup|cleanup|CASE}
case $case in
setup) lab_start ;;
cleanup)
        # The last reports (QEMUs destroyed by the stop) are still checked; the lab is gone after.
        HC_KEEP_LAB=1 lab_stop
        rc=0; (sanitizer_check) || rc=1
        [ "${HC_KEEP_LAB:-0}" = 1 ] || rm -rf "$LAB"
        exit $rc
        ;;
*)
        holder_pid >/dev/null && libvirtd_pid >/dev/null || die "the lab is not running (ctest fixture libvirt_lab)"
        # A sanitizer report fails the case that caused it, and is shown even when the
        # case failed first (a QEMU halted by ASan is only a failed start).
        rc=0; ("case_$case") || rc=1
        sanitizer_check
        exit $rc
        ;;
esac

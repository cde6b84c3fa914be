# shellcheck shell=dash
# l1-lib.sh: what a job (/lab/job.sh) inside an emulated host calls.  busybox sh.
#
#   l2 ID GUEST [uuid=U] [plan=FILE] [shim=1] [log=1] [smp=N] [save=1] [incoming=FILE]
#       runs /lab/guest/GUEST under Debian's qemu-system-aarch64 with -accel kvm:
#       uuid=U     a managed VM, as libvirt starts one (-uuid U -name guest=ID)
#       plan=FILE  installed as /run/hypercall/vm/U.plan first (else no plan at all)
#       shim=1     LD_PRELOAD=/usr/lib/hypercall/libhypercall-shim.so
#       log=1      also preload /lab/kvm-reg-log.so: QEMU's register lists and every
#                  KVM_SET_ONE_REG the kernel refuses, on stderr (why a migration failed)
#       smp=N      N vCPUs
#       save=1     migration source: once the guest parks, migrate it (live: a
#                  stopped source would arrive paused) to a file and quit, through QMP
#                  on a FIFO; the stream is printed (gzip | base64)
#       incoming=FILE  migration destination: -incoming "exec:cat FILE"
#   Reports, in this order: the guest's serial lines, QEMU's stdout/stderr, the end:
#       @@hc-serial ID <line>      @@hc-stderr ID <line>
#       @@hc-run ID end rc=N secs=S
#   and for save=1 the stream between @@hc-blob ID begin / end.

SHIM=/usr/lib/hypercall/libhypercall-shim.so
# A write to the monitor FIFO of a QEMU that already exited must fail, not kill the job.
trap "" PIPE
PLAN_DIR=/run/hypercall/vm
L2_TIMEOUT=${L2_TIMEOUT:-180}

say() { echo "@@hc-l1 $*"; }
up() { cut -d' ' -f1 /proc/uptime; }

cmdline_value() { # key: value of key=value on the kernel command line
        # shellcheck disable=SC2013 # the command line is one line of words
        for w in $(cat /proc/cmdline); do
                case $w in "$1"=*) echo "${w#*=}" ;; esac
        done
}

secs_since() { awk -v a="$1" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }'; }

# Waits (0.2 s steps) until FILE contains TEXT; 1 after LIMIT seconds or once
# process PID is gone.
wait_for() { # file text limit pid
        n=0
        while ! grep -q "$2" "$1" 2>/dev/null; do
                n=$((n + 1))
                [ "$n" -le $(($3 * 5)) ] && kill -0 "$4" 2>/dev/null || return 1
                usleep 200000
        done
}

# Source side of a migration: QMP on a FIFO, so this shell can drive QEMU.
qmp() { echo "$1" >&3; }

save_run() { # id qemu-args...
        id=$1
        shift
        mkfifo "/tmp/$id.qmp"
        # shellcheck disable=SC2086 # $preload is empty or one word
        env $preload "$@" -qmp stdio <"/tmp/$id.qmp" >"/tmp/$id.out" 2>&1 &
        qpid=$!
        exec 3>"/tmp/$id.qmp"
        qmp '{"execute": "qmp_capabilities"}'
        if wait_for "/tmp/$id.serial" "event park" 120 "$qpid"; then
                qmp "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:cat > /tmp/$id.mig\"}}"
                n=0
                while [ $n -lt 300 ] && kill -0 "$qpid" 2>/dev/null; do
                        qmp '{"execute": "query-migrate"}'
                        usleep 200000
                        grep -qE '"status": "(completed|failed)"' "/tmp/$id.out" && break
                        n=$((n + 1))
                done
        elif kill -0 "$qpid" 2>/dev/null; then
                echo "l1-lib: the guest never parked" >>"/tmp/$id.out"
        fi
        qmp '{"execute": "quit"}'
        exec 3>&-
        wait "$qpid"
        return $?
}

l2() { # id guest [key=value...]
        id=$1 guest=$2
        shift 2
        uuid='' plan='' preload='' smp=1 save='' incoming=''
        for kv in "$@"; do
                case $kv in
                uuid=*) uuid=${kv#uuid=} ;;
                plan=*) plan=${kv#plan=} ;;
                shim=1) preload=LD_PRELOAD=$SHIM${preload:+:${preload#LD_PRELOAD=}} ;;
                log=1) preload=${preload:-LD_PRELOAD=}${preload:+:}/lab/kvm-reg-log.so ;;
                smp=*) smp=${kv#smp=} ;;
                save=1) save=1 ;;
                incoming=*) incoming=${kv#incoming=} ;;
                *) say "run $id bad option $kv" ;;
                esac
        done
        rm -rf "$PLAN_DIR"
        mkdir -p "$PLAN_DIR"
        [ -n "$plan" ] && cp "$plan" "$PLAN_DIR/$uuid.plan"
        set -- qemu-system-aarch64 -M virt,gic-version=3 -accel kvm -cpu host -m 64 -smp "$smp" \
                -display none -nodefaults -no-user-config -kernel "/lab/guest/$guest" \
                -serial "file:/tmp/$id.serial"
        [ -n "$uuid" ] && set -- "$@" -uuid "$uuid" -name "guest=$id"
        [ -n "$incoming" ] && set -- "$@" -incoming "exec:cat $incoming"
        : >"/tmp/$id.serial"
        t0=$(up)
        say "run $id begin uptime=$t0 ${preload:+$preload }$*"
        if [ -n "$save" ]; then
                save_run "$id" timeout "$L2_TIMEOUT" "$@"
                rc=$?
        else
                # shellcheck disable=SC2086 # $preload is empty or one word
                env $preload timeout "$L2_TIMEOUT" "$@" </dev/null >"/tmp/$id.out" 2>&1
                rc=$?
        fi
        secs=$(secs_since "$t0")
        tr -d '\r' <"/tmp/$id.serial" | sed "s/^/@@hc-serial $id /"
        sed "s/^/@@hc-stderr $id /" "/tmp/$id.out"
        if [ -n "$save" ] && [ -s "/tmp/$id.mig" ]; then
                say "blob $id begin bytes=$(stat -c %s "/tmp/$id.mig")"
                gzip -c "/tmp/$id.mig" | base64 | sed "s/^/@@hc-blob $id /"
                say "blob $id end sha256=$(sha256sum "/tmp/$id.mig" | cut -d' ' -f1)"
        fi
        echo "@@hc-run $id end rc=$rc secs=$secs"
        rm -f "/tmp/$id.serial" "/tmp/$id.out" "/tmp/$id.qmp" "/tmp/$id.mig"
}

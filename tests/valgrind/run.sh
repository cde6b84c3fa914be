#!/bin/bash
# run.sh NAME COMMAND...: runs one test with the valgrind wrappers (see
# CMakeLists.txt), then fails if valgrind logged anything for it.  Logs go
# to $VG_LOG_DIR_BASE/NAME (the hook, whose environment is emptied, logs to
# $VG_LOG_DIR_BASE itself and is attributed by time).
set -uo pipefail
name=$1
shift
: "${VG_LOG_DIR_BASE:?}"
export VG_LOG_DIR=$VG_LOG_DIR_BASE/$name
rm -rf "$VG_LOG_DIR"
mkdir -p "$VG_LOG_DIR"
# Tests run some commands as nobody (unprivileged D-Bus callers): they log here too.
chmod 1777 "$VG_LOG_DIR_BASE" "$VG_LOG_DIR"
touch "$VG_LOG_DIR/.start"
"$@"
rc=$?
found=0
while IFS= read -r -d '' log; do
        [ -s "$log" ] || continue
        found=1
        echo "---- valgrind: $log ----"
        head -60 "$log"
done < <(find "$VG_LOG_DIR" "$VG_LOG_DIR_BASE" -maxdepth 1 -name '*.log' -newer "$VG_LOG_DIR/.start" -print0)
n=$(find "$VG_LOG_DIR" "$VG_LOG_DIR_BASE" -maxdepth 1 -name '*.log' -newer "$VG_LOG_DIR/.start" | wc -l)
echo "valgrind: $n processes checked"
[ "$found" = 0 ] || { echo "FAIL: valgrind reported errors"; exit 1; }
[ "$n" -gt 0 ] || [ "$rc" = 77 ] || { echo "FAIL: no process ran under valgrind"; exit 1; }
exit "$rc"

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Golden tests of hypercallctl's fleet and check commands on the bundled
# example fleet (real lab probe records in examples/fleet/, policies in
# policies/): the exact stdout, stderr and exit status of each command line an
# operator or a script relies on.  Each case is one ctest entry, cli__<case>.
#
#   cli-golden.sh HYPERCALLCTL SOURCE_DIR CASE
#
# A case's expectation is tests/data/golden/cli/<case>.txt: "exit N", then the
# stdout and stderr sections.  HC_UPDATE_GOLDEN=1 rewrites it from the current
# output; on a mismatch the diff is printed and the case fails.
set -u

ctl=$1
src=$2
case_name=$3
cd "$src" || exit 2

R="--records examples/fleet --policies policies"
D=tests/data/cli

run_case() {
        case $1 in
        baseline_example_json)         $ctl baseline $R --json ;;
        baseline_example_text)         $ctl baseline $R ;;
        baseline_one_pool)             $ctl baseline $R --pool db --json ;;
        baseline_mixed_kernels)        $ctl baseline --records examples/fleet --policies $D/policies-mixed --json ;;
        baseline_refused_exits_1)      $ctl baseline --records examples/fleet --policies $D/policies-refuse --json ;;
        baseline_bad_policy_exits_2)   $ctl baseline --records examples/fleet --policies $D/policies-bad --json ;;
        baseline_missing_dir_exits_2)  $ctl baseline --records examples/nonexistent --policies policies ;;
        baseline_unknown_pool_exits_64) $ctl baseline $R --pool nope --json ;;
        baseline_missing_option_exits_64) $ctl baseline --records examples/fleet --json ;;
        explain_register_not_everywhere)     $ctl explain --pool all $R --policies $D/policies-mixed VENDOR_HYP_BMAP_2 ;;
        explain_denied_service_json)   $ctl explain --pool web $R ptp --json ;;
        explain_psci_capped)           $ctl explain --pool db $R PSCI_VERSION ;;
        explain_unknown_subject_exits_64) $ctl explain --pool web $R trgn ;;
        check_migration_allowed)       $ctl check-migration $R --pool web --from web-01 --to web-04 --json ;;
        check_migration_refused)       $ctl check-migration $R --pool batch --from batch-02 --to batch-01 --json ;;
        check_migration_to_legacy)     $ctl check-migration $R --pool batch --from batch-01 --to legacy-01 ;;
        check_migration_legacy_to_new) $ctl check-migration --records examples/fleet --policies $D/policies-refuse --pool all --from legacy-01 --to web-01 --json ;;
        check_migration_firmware_only_without_vcpu_sets) $ctl check-migration --records tests/data/records --policies $D/policies-mixed --pool all --from web-01 --to web-01 ;;
        check_migration_no_host_exits_64) $ctl check-migration $R --pool web --from web-01 --to web-99 ;;
        check_migration_not_member_exits_64) $ctl check-migration $R --pool web --from db-01 --to web-01 ;;
        check_host_may_join)           $ctl check-host $D/records/web-05-612.json --pool web $R ;;
        check_host_legacy_narrows)     $ctl check-host $D/records/web-05-legacy.json --pool web $R --json ;;
        check_host_duplicate_key_exits_2) $ctl check-host $D/records/web-05-duplicate-key.json --pool web $R ;;
        what_if_kernel_upgrade)        $ctl what-if --pool web --replace web-03=$D/records/web-03-upgraded-73.json $R ;;
        what_if_add_and_remove_json)   $ctl what-if --pool web --remove web-01 --add $D/records/web-05-612.json $R --json ;;
        what_if_add_existing_exits_64) $ctl what-if --pool web --add examples/fleet/web-01.json $R ;;
        matrix_batch)                  $ctl matrix --pool batch $R ;;
        matrix_mixed_json)             $ctl matrix --pool all --records examples/fleet --policies $D/policies-mixed --json ;;
        lint_example_ok)               $ctl lint policies examples/fleet ;;
        lint_bad_exits_2)              $ctl lint $D/policies-bad examples/fleet ;;
        plan_web_as_the_hook_writes_it) $ctl plan $R --pool web --vm-uuid 6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b --vm-name web-3 ;;
        plan_db_json)                  $ctl plan $R --pool db --json ;;
        plan_refused_pool_exits_1)     $ctl plan --records examples/fleet --policies $D/policies-refuse --pool all ;;
        plan_unknown_pool_exits_64)    $ctl plan $R --pool nope ;;
        plan_missing_baseline_exits_2) $ctl plan --pool web --baseline examples/nonexistent.json ;;
        *) echo "no such case: $1" >&2; return 99 ;;
        esac
}

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# Byte-identical output across runs is itself a case.
if [ "$case_name" = baseline_byte_identical ]; then
        run_case baseline_example_json > "$tmp/1" 2>&1
        run_case baseline_example_json > "$tmp/2" 2>&1
        if ! cmp -s "$tmp/1" "$tmp/2"; then
                diff -u "$tmp/1" "$tmp/2"
                echo "FAIL: two runs of baseline --json differ" >&2
                exit 1
        fi
        echo "baseline --json is byte-identical across runs"
        exit 0
fi

run_case "$case_name" > "$tmp/stdout" 2> "$tmp/stderr"
status=$?
[ $status -eq 99 ] && exit 2
{
        echo "exit $status"
        echo "--- stdout"
        cat "$tmp/stdout"
        echo "--- stderr"
        cat "$tmp/stderr"
} > "$tmp/observed"

golden=tests/data/golden/cli/$case_name.txt
if [ "${HC_UPDATE_GOLDEN:-0}" = 1 ]; then
        cp "$tmp/observed" "$golden"
        echo "updated $golden"
        exit 0
fi
if [ ! -f "$golden" ]; then
        echo "FAIL: $golden missing (HC_UPDATE_GOLDEN=1 creates it)" >&2
        cat "$tmp/observed"
        exit 1
fi
if ! cmp -s "$golden" "$tmp/observed"; then
        diff -u "$golden" "$tmp/observed"
        echo "FAIL: output differs from $golden (HC_UPDATE_GOLDEN=1 regenerates it)" >&2
        exit 1
fi
echo "$case_name: matches $golden"

# shellcheck shell=bash
# What every shell test tier shares (sourced by tests/hook/run.sh and
# tests/daemon/lib.sh): how a test fails, and how it skips.  77 is the exit
# status ctest's SKIP_RETURN_CODE maps to "skipped".

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

skip() {
        echo "SKIP: $*"
        exit 77
}

# shellcheck shell=sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The generated fleets the benchmarks share: records_dir N sets dir to
# $work/records-N, generating it with $gen (bench/gen-records) the first time.
# .complete marks a whole one, so an interrupted generation is redone.
# shellcheck disable=SC2154 # work and gen are set by the sourcing benchmark
records_dir() {
        dir=$work/records-$1
        if [ ! -f "$dir/.complete" ]; then
                rm -rf "$dir"
                "$gen" "$1" "$dir"
                touch "$dir/.complete"
        fi
}

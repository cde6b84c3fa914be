#!/bin/bash
# man-pages.sh HYPERCALLCTL HYPERCALLD SRC: the man pages say what the programs do.
# Every hypercallctl command's usage line (from COMMAND --help) is in the SYNOPSIS of
# hypercallctl(1), every hypercalld option in hypercalld(8), and groff formats both
# without a warning.
set -euo pipefail
ctl=$1 hcd=$2 src=$3
fail() { echo "man pages: $*" >&2; exit 1; }
# The pages spell a hyphen \- (a real minus in the output); compare the plain text.
plain() { sed 's/\\-/-/g' "$1"; }
page=$(plain "$src/man/hypercallctl.1")
commands=$("$ctl" help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
[ -n "$commands" ] || fail "no commands in hypercallctl help"
for c in $commands; do
        [ "$c" = help ] && usage="hypercallctl help [COMMAND]" ||
                usage=$("$ctl" "$c" --help | sed -n '1s/^Usage: //p')
        grep -qxF "$usage" <<<"$page" || fail "hypercallctl(1) lacks the usage line of $c: $usage"
        grep -qxF ".B $c" <<<"$page" || fail "hypercallctl(1) does not describe $c under COMMANDS"
done
page=$(plain "$src/man/hypercalld.8")
for o in $("$hcd" --help | grep -oE '^  --[a-z-]+'); do
        grep -qE "^\.BI? $o( |$)" <<<"$page" || fail "hypercalld(8) does not describe $o"
done
for f in "$src/man/hypercallctl.1" "$src/man/hypercalld.8"; do
        out=$(groff -man -ww -z "$f" 2>&1) || fail "groff failed on $f: $out"
        [ -z "$out" ] || fail "groff warns on $f: $out"
done
echo "man pages: $(wc -w <<<"$commands") commands and $("$hcd" --help | grep -cE '^  --') daemon options documented"

# shellcheck shell=bash
# lib.sh: helpers the lab scripts share (sourced, never run).
#
#   lab_pack ROOT OUT [--no-console]   ROOT as a gzip'ed newc archive; with /dev/console
#                                      unless told not to (an archive appended to another)
#   lab_closure ROOT FILE...           the shared libraries FILE... need inside ROOT
#                                      (DT_NEEDED, transitively) and the dynamic loader,
#                                      as paths relative to ROOT, one per line
#   lab_host_tools REPO WORK           sets CTL and TOOL: the build machine's hypercallctl
#                                      and hc-lab-tool (HC_LAB_CTL / HC_LAB_TOOL from ctest,
#                                      else a private build in WORK/host-build)

# One newc entry (header, NUL-terminated name, padding to 4 bytes) for a node
# without data.  Used for /dev/console: the kernel opens it for PID 1's stdio before
# /init can mount devtmpfs, and cpio can only archive a device node that exists,
# which would need root and mknod.  The kernel accepts concatenated archives.
lab_newc_node() { # name mode(octal) rdev-major rdev-minor
        local name=$1 mode=$(($2)) namesize=$((${#1} + 1)) pad
        printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
                1 "$mode" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
        printf '%s\0' "$name"
        pad=$(((4 - (110 + namesize) % 4) % 4))
        head -c "$pad" /dev/zero
}

lab_pack() { # root out [--no-console]
        local root=$1 out=$2 console=1
        [[ ${3:-} == --no-console ]] && console=0
        {
                (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
                        cpio --quiet -o -H newc -R 0:0 --reproducible)
                ((console == 0)) || lab_newc_node dev/console 020600 5 1
                lab_newc_node 'TRAILER!!!' 0 0 0
        } | gzip -"${LAB_GZIP_LEVEL:-6}"n >"$out.tmp"
        mv "$out.tmp" "$out"
}

# Debian bookworm arm64 is not usr-merged: libraries live in /lib and /usr/lib.
lab_closure() { # root file...
        local root=$1 f n d found
        shift
        local -a todo=("$@")
        local -A seen=()
        while ((${#todo[@]})); do
                f=${todo[-1]}
                unset 'todo[-1]'
                while read -r n; do
                        [[ -n ${seen[$n]:-} ]] && continue
                        found=
                        for d in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu lib usr/lib; do
                                if [[ -e $root/$d/$n ]]; then
                                        found=$d/$n
                                        break
                                fi
                        done
                        [[ -n $found ]] || { printf 'lab_closure: %s needs %s, not in %s\n' "$f" "$n" "$root" >&2; return 1; }
                        seen[$n]=$found
                        todo+=("$root/$found")
                done < <(aarch64-linux-gnu-readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
        done
        printf '%s\n' "${seen[@]}" lib/ld-linux-aarch64.so.1 | LC_ALL=C sort -u
}

# A private host build, so the lab neither depends on nor disturbs whatever build/ holds.
lab_host_tools() { # repo work
        local dir=$2/host-build
        if [[ -n ${HC_LAB_CTL:-} && -n ${HC_LAB_TOOL:-} ]]; then
                CTL=$HC_LAB_CTL TOOL=$HC_LAB_TOOL
        else
                mkdir -p "$dir"
                { cmake -S "$1" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHC_BUILD_BENCH=OFF &&
                        cmake --build "$dir" --target hypercallctl hc-lab-tool -- -j"$(nproc)"; } >"$dir.log" 2>&1 ||
                        { tail -30 "$dir.log" >&2; printf 'host build failed (full log: %s)\n' "$dir.log" >&2; return 1; }
                CTL=$dir/cli/hypercallctl TOOL=$dir/tests/lab/hc-lab-tool
        fi
        [[ -x $CTL && -x $TOOL ]] || { printf 'no host tools (%s, %s)\n' "$CTL" "$TOOL" >&2; return 1; }
}

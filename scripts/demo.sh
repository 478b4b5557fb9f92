#!/bin/bash
# The README's main job: build libshbuf and its tool, then stream a generated
# 256 MiB file from one 'shbuf cat' provider process to a separate 'shbuf cat'
# client process through each compiled backend, check that the copy is
# byte-identical (sha256sum), and show the throughput next to a pipe's
# ('cat file | cat > out', same file, from the page cache, timed the same way).
#
# Usage: scripts/demo.sh            (from anywhere; as root on a fresh Debian
#                                    machine it installs what the build needs)
# Environment: BUILD_DIR (default: build, under the repository)
#              DEMO_MIB  (default: 256) size of the generated file
#
# Exits non-zero if anything fails or a checksum differs.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-build}
case $build in
/*) ;;
*) build=$root/$build ;;
esac
mib=${DEMO_MIB:-256}

say() {
        printf '==> %s\n' "$*"
}

die() {
        printf 'demo: %s\n' "$*" >&2
        exit 1
}

# --- what the build needs -------------------------------------------------
# Installs cmake, gcc, make, pkg-config and check from Debian's packages when
# they are missing (needs root or sudo then).
"$root/scripts/deps.sh"

# --- build ----------------------------------------------------------------
say "building into $build"
cmake -S "$root" -B "$build" >"$build.configure.log" 2>&1 ||
        { cat "$build.configure.log" >&2; die "configuring failed"; }
rm -f "$build.configure.log"
cmake --build "$build" -j2 >/dev/null 2>"$build.errors.log" ||
        { cat "$build.errors.log" >&2; die "building failed"; }
rm -f "$build.errors.log"
shbuf=$build/tools/shbuf
[ -x "$shbuf" ] || die "no $shbuf after the build"

# --- the data ---------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/shbuf-demo.XXXXXX")
pids=()
cleanup() {
        local p
        for p in "${pids[@]}"; do
                kill "$p" 2>/dev/null || true
        done
        wait 2>/dev/null || true
        if [ -s "$work/key" ]; then
                "$shbuf" rm "$(cat "$work/key")" 2>/dev/null || true
        fi
        rm -rf "$work"
}
trap cleanup EXIT

say "generating a ${mib} MiB file"
head -c "${mib}M" /dev/urandom >"$work/in"
want=$(sha256sum <"$work/in" | cut -d' ' -f1)
cat "$work/in" >/dev/null # into the page cache, for every run alike

now_ns() {
        date +%s%N
}

# rate SECONDS_NS: MiB/s of the file.
rate() {
        awk -v ns="$1" -v mib="$mib" 'BEGIN { printf "%.0f", mib / (ns / 1e9) }'
}

rows=()
failed=0

# row NAME NS OUTPUT: check OUTPUT's checksum and add a table row.
row() {
        local got ok
        got=$(sha256sum <"$3" | cut -d' ' -f1)
        if [ "$got" = "$want" ]; then
                ok=ok
        else
                ok=DIFFERS
                failed=1
        fi
        rows+=("$(printf '%-16s %8.3f s %9s MiB/s   %s' "$1" "$(awk -v ns="$2" 'BEGIN { print ns / 1e9 }')" \
                "$(rate "$2")" "$ok")")
        rm -f "$3"
}

say "pipe: cat file | cat > out"
t0=$(now_ns)
cat "$work/in" | cat >"$work/out"
t1=$(now_ns)
row pipe $((t1 - t0)) "$work/out"

for backend in $("$shbuf" --backends); do
        say "shbuf ($backend): 'shbuf cat --create' and 'shbuf cat --key' as two commands"
        rm -f "$work/key"
        t0=$(now_ns)
        # The provider writes the file into a new buffer and the key to a file;
        # the client, a separate command, attaches with that key.
        "$shbuf" cat --create --backend "$backend" --size 4M --key-file "$work/key" <"$work/in" &
        provider=$!
        pids=("$provider")
        for _ in $(seq 400); do
                [ -s "$work/key" ] && break
                sleep 0.005
        done
        [ -s "$work/key" ] || die "the $backend provider did not publish its key"
        client_rc=0
        "$shbuf" cat --key-file "$work/key" >"$work/out" || client_rc=$?
        provider_rc=0
        wait "$provider" || provider_rc=$?
        t1=$(now_ns)
        pids=()
        [ "$client_rc" -eq 0 ] || { echo "demo: the $backend client failed ($client_rc)" >&2; failed=1; }
        [ "$provider_rc" -eq 0 ] || { echo "demo: the $backend provider failed ($provider_rc)" >&2; failed=1; }
        row "shbuf ($backend)" $((t1 - t0)) "$work/out"
done

echo
printf '%-16s %10s %15s   %s\n' "transport" "time" "throughput" "sha256"
for r in "${rows[@]}"; do
        echo "$r"
done
echo "(${mib} MiB of random data from the page cache, into a file in $(dirname "$work"))"
if [ "$failed" -ne 0 ]; then
        echo "demo: FAILED" >&2
        exit 1
fi

#!/bin/sh
# The CTest fixture around the whole suite: nothing may leak.
#
#   ipc-leak-check.sh setup   LOG           truncate the record and note what exists
#   ipc-leak-check.sh cleanup LOG [PROBE]   fail if a test left IPC objects behind
#
# Every test process appends "pid N" (processes that made IPC objects) and
# "key N" (keys the library chose for key-0 buffers) to LOG. Tests use the keys
# 0x5B000000 | (pid & 0xffff) << 8 | n, so the objects of a test are: those
# under its logged keys, those in the key range of a logged pid that has
# exited, IPC_PRIVATE segments such a pid created, and the POSIX objects named
# /dev/shm/shbuf-<8 hex digits of such a key>-... (and /dev/mqueue/ likewise,
# when mounted; PROBE, tests/mq-probe.c, looks the queues up by name where it
# is not). Whatever is found is reported, removed (so one failure does not
# leave the machine dirty), and makes the check fail.
#
# Needs only sh, awk and the kernel's /proc/sysvipc files (and PROBE for the
# POSIX queues where /dev/mqueue is not mounted).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
prog=ipc-leak-check
mode=${1:-}
log=${2:-}
probe=${3:-}
if [ -z "$mode" ] || [ -z "$log" ]; then
        echo "$prog: usage: $0 setup|cleanup LOG" >&2
        exit 2
fi

# All objects in the test key range, one "kind key id" line each.
range_objects() {
        for kind in shm sem msg; do
                f=/proc/sysvipc/$kind
                [ -r "$f" ] || continue
                awk -v kind="$kind" 'NR > 1 && $1 >= 1526726656 && $1 <= 1543503871 {
                        printf "%s 0x%08x %s\n", kind, $1, $2 }' "$f"
        done
        for d in /dev/shm /dev/mqueue; do
                [ -d "$d" ] || continue
                for p in "$d"/shbuf-5[bB]??????-*; do
                        [ -e "$p" ] && echo "file $p -"
                done
        done
}

case "$mode" in
setup)
        : >"$log" || {
                echo "$prog: cannot write $log" >&2
                exit 1
        }
        range_objects >"$log.before"
        if [ -s "$log.before" ]; then
                # Not ours to remove: perhaps another run is going on. Say so,
                # so that a real leak of an earlier run does not go unnoticed.
                echo "$prog: note: objects in the test key range exist before the tests:"
                sed 's/^/  /' "$log.before"
        fi
        echo "$prog: recording IPC objects of the tests in $log"
        exit 0
        ;;
cleanup) ;;
*)
        echo "$prog: unknown mode '$mode'" >&2
        exit 2
        ;;
esac

if [ ! -r "$log" ]; then
        echo "$prog: $log is missing: the setup test did not run" >&2
        exit 1
fi

# Keys and pids that belong to the tests. A pid that is still alive is not
# ours any more (the tests have all finished), so its range is left alone.
pids=""
for pid in $(awk '$1 == "pid" { print $2 }' "$log" | sort -un); do
        # A zombie is as dead as it gets; only a running pid is somebody else.
        state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$pid/stat" 2>/dev/null)
        if [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]; then
                echo "$prog: note: pid $pid is alive again (reused?); not looking at its keys"
                continue
        fi
        pids="$pids $pid"
done
keys=$(awk '$1 == "key" { print $2 }' "$log" | sort -un)

leaks=$(mktemp) || exit 1
trap 'rm -f "$leaks"' EXIT

for kind in shm sem msg; do
        f=/proc/sysvipc/$kind
        [ -r "$f" ] || continue
        awk -v kind="$kind" -v pids="$pids" -v keys="$keys" '
                BEGIN {
                        n = split(pids, p, " ")
                        for (i = 1; i <= n; i++) {
                                mine[p[i] % 65536] = 1
                                creator[p[i]] = 1
                        }
                        n = split(keys, kk, /[ \n]/)
                        for (i = 1; i <= n; i++)
                                key[kk[i]] = 1
                }
                NR == 1 { next }
                {
                        k = $1 + 0; id = $2
                        hit = (k in key)
                        if (k >= 1526726656 && k <= 1543503871 && ((int(k / 256) % 65536) in mine))
                                hit = 1
                        # IPC_PRIVATE data segments: column 5 is the creator pid.
                        if (kind == "shm" && k == 0 && ($5 in creator))
                                hit = 1
                        if (hit)
                                printf "%s 0x%08x %s\n", kind, k, id
                }' "$f" >>"$leaks"
done

hexes=""
for k in $keys; do
        hexes="$hexes $(printf '%08x' "$k")"
done
for pid in $pids; do
        hexes="$hexes $(printf '5b%04x' $((pid % 65536)))"
done
for d in /dev/shm /dev/mqueue; do
        [ -d "$d" ] || continue
        for h in $hexes; do
                for p in "$d"/shbuf-"$h"*-*; do
                        [ -e "$p" ] && echo "file $p -" >>"$leaks"
                done
        done
done
if [ ! -d /dev/mqueue ]; then
        if [ -n "$probe" ] && [ -x "$probe" ]; then
                # Every queue name of a logged key, and of each key in a
                # logged pid's range (a 6-digit prefix: 256 keys).
                for h in $hexes; do
                        echo "$h"
                done | awk '{
                        n = length($1) == 8 ? 1 : 256
                        for (i = 0; i < n; i++) {
                                k = n == 1 ? $1 : sprintf("%s%02x", $1, i)
                                printf "/shbuf-%s-p\n/shbuf-%s-c\n", k, k
                        }
                }' | "$probe" | sed 's/^/mq /; s/$/ -/' >>"$leaks"
        else
                echo "$prog: note: /dev/mqueue is not mounted; POSIX queues cannot be listed"
        fi
fi

if [ ! -s "$leaks" ]; then
        # Objects in the range that nobody logged: another run, or a test
        # that forgot to log. Worth a note, not a failure.
        range_objects | grep -vxF -f "$log.before" 2>/dev/null | sed "s/^/$prog: note: unattributed: /"
        echo "$prog: no IPC objects left behind"
        exit 0
fi

echo "$prog: the tests left IPC objects behind:" >&2
sort -u "$leaks" | while read -r kind key id; do
        echo "  $kind $key $id" >&2
        case "$kind" in
        shm) ipcrm -m "$id" 2>/dev/null ;;
        sem) ipcrm -s "$id" 2>/dev/null ;;
        msg) ipcrm -q "$id" 2>/dev/null ;;
        file) rm -f "$key" ;;
        mq) "$probe" -u "$key" ;;
        esac
done
echo "$prog: removed them" >&2
exit 1

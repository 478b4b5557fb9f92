#!/bin/sh
# The CTest fixture around the whole suite: nothing may leak.
#
#   ipc-leak-check.sh setup   LOG OBJECTS   truncate the record and note what exists
#   ipc-leak-check.sh cleanup LOG OBJECTS   fail if a test left IPC objects behind
#
# Every test process appends "pid N" (processes that made IPC objects) and
# "key N" (keys the library chose for key-0 buffers) to LOG. OBJECTS is
# shbuf-test-objects (tests/util/test-objects.c): it knows, from the tests'
# descriptions of the backends, which objects belong to the logged pids and
# keys. Whatever is found is reported, removed (so one failure does not
# leave the machine dirty), and makes the check fail.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
prog=ipc-leak-check
mode=${1:-}
log=${2:-}
objects=${3:-}
if [ -z "$mode" ] || [ -z "$log" ] || [ ! -x "$objects" ]; then
        echo "$prog: usage: $0 setup|cleanup LOG OBJECTS" >&2
        exit 2
fi

case "$mode" in
setup)
        : >"$log" || {
                echo "$prog: cannot write $log" >&2
                exit 1
        }
        "$objects" range >"$log.before"
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

leaks=$(mktemp) || exit 1
trap 'rm -f "$leaks"' EXIT
"$objects" leaks "$log" >"$leaks"
case $? in
0)
        # Objects in the range that nobody logged: another run, or a test
        # that forgot to log. Worth a note, not a failure.
        "$objects" range | grep -vxF -f "$log.before" 2>/dev/null | sed "s/^/$prog: note: unattributed: /"
        echo "$prog: no IPC objects left behind"
        exit 0
        ;;
1) ;;
*) exit 1 ;;
esac

echo "$prog: the tests left IPC objects behind:" >&2
sed 's/^/  /' "$leaks" >&2
"$objects" leaks "$log" -r >/dev/null
echo "$prog: removed them" >&2
exit 1

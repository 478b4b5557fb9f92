#!/bin/bash
# 'shbuf gc' removes a buffer whose provider was killed with SIGKILL and
# leaves a live one alone; --dry-run only lists.
source "$(dirname "$0")/lib.sh"

mkfifo "$TMP/fifo"
exec 3<>"$TMP/fifo"
"$SHBUF" cat --create --size 4K --key-file "$TMP/dead" <"$TMP/fifo" 3>&- &
dead_pid=$!
PIDS+=("$dead_pid")
"$SHBUF" cat --create --size 4K --key-file "$TMP/live" <"$TMP/fifo" 3>&- &
live_pid=$!
PIDS+=("$live_pid")
wait_file "$TMP/dead"
wait_file "$TMP/live"
dead=$(cat "$TMP/dead")
live=$(cat "$TMP/live")
add_key "$dead"
add_key "$live"
kill -9 "$dead_pid"
wait "$dead_pid" 2>/dev/null

"$SHBUF" ls -n -r -o KEY,PROVIDER,PALIVE | grep -qix "$dead $dead_pid no" || fail "killed provider not shown dead"

note "gc --dry-run lists and keeps"
"$SHBUF" gc --dry-run >"$TMP/dry" || fail "gc --dry-run failed"
grep -qi "^would remove $dead " "$TMP/dry" || fail "dry run does not list the stale buffer: $(cat "$TMP/dry")"
grep -qi "$live" "$TMP/dry" && fail "dry run lists the live buffer"
"$SHBUF" info "$dead" >/dev/null || fail "dry run removed the stale buffer"

note "gc removes the stale buffer only"
"$SHBUF" gc >"$TMP/gc" || fail "gc failed"
grep -qi "^removed $dead " "$TMP/gc" || fail "gc output: $(cat "$TMP/gc")"
grep -qi "$live" "$TMP/gc" && fail "gc claims to have removed the live buffer"
expect_fail "stale buffer gone" "no such buffer" "$SHBUF" info "$dead"
"$SHBUF" info "$live" | grep -q "^Provider: *pid $live_pid, alive$" || fail "live buffer touched"
if [ "${SHBUF_BACKEND:-}" = sysv ] || ipcs -m | grep -qi "^$live "; then
        ipcs | grep -qi "^$dead " && fail "ipcs still shows the stale buffer's key"
fi

expect_fail "gc extra argument" "unexpected argument" "$SHBUF" gc now

note "the live buffer still streams"
exec 3>&-
"$SHBUF" cat --key "$live" >/dev/null || fail "draining the live buffer"
wait "$live_pid" || fail "live provider exit status"
true

#!/bin/bash
# The leak check around the suite (tests/ipc-leak-check.sh) must find, and
# remove, what a killed test process left behind: the objects under a key it
# logged, the SysV data segment (key 0) of a pid it logged, and the POSIX
# shared memory objects and message queues. The second argument is
# shbuf-test-objects, which knows the objects from the backends'
# descriptions (tests/util/).
source "$(dirname "$0")/lib.sh"
OBJECTS=$2
CHECK=$(dirname "$0")/../ipc-leak-check.sh
log=$TMP/leak.log

sh "$CHECK" setup "$log" "$OBJECTS" >/dev/null || fail "setup of a private log"

note "a provider killed with its buffer"
"$SHBUF" cat --create --size 4K --key-file "$TMP/k" </dev/zero 2>/dev/null &
p=$!
PIDS+=("$p")
wait_file "$TMP/k"
key=$(cat "$TMP/k")
add_key "$key"
kill -9 "$p"
wait "$p" 2>/dev/null
line=$(printf 'pid %d\nkey %d' "$p" "$key")
echo "$line" >>"$log"
# The suite's own check removes it too, should this test stop half-way.
[ -n "${SHBUF_TEST_LOG:-}" ] && echo "$line" >>"$SHBUF_TEST_LOG"
"$SHBUF" info "$key" >/dev/null 2>&1 || fail "the dead provider's buffer is not there"

note "the check reports it and removes it"
out=$(sh "$CHECK" cleanup "$log" "$OBJECTS" 2>&1)
rc=$?
[ "$rc" -eq 1 ] || fail "cleanup exit status $rc, expected 1: $out"
hex=$(printf '%08x' "$key")
case "$SHBUF_BACKEND" in
sysv) want="shm 0x$hex|sem 0x$hex|msg 0x$hex|shm 0x00000000" ;;
posix) want="file /dev/shm/shbuf-$hex-ctl|file /dev/shm/shbuf-$hex-data|queue /shbuf-$hex-p|queue /shbuf-$hex-c" ;;
*) fail "unknown backend '$SHBUF_BACKEND'" ;;
esac
IFS='|' read -ra wanted <<<"$want"
for w in "${wanted[@]}"; do
        grep -qE "^  $w( |\$)" <<<"$out" || fail "the check did not report '$w': $out"
done

note "nothing is left"
"$SHBUF" info "$key" >/dev/null 2>&1 && fail "the buffer is still there"
awk -v pid="$p" 'NR > 1 && $5 == pid { found = 1 } END { exit !found }' /proc/sysvipc/shm &&
        fail "a SysV segment of pid $p is still there"
"$OBJECTS" leaks "$log" >"$TMP/left" || fail "objects of the killed provider are still there: $(cat "$TMP/left")"
true

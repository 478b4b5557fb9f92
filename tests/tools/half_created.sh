#!/bin/bash
# A creator killed half-way through a create: while it lives, 'shbuf ls'
# shows its buffer as creating, rm refuses it and gc leaves it; once it is
# dead, ls shows it as half-created, info says so, gc removes every object
# it made, and the key can be used again.
#
#   half_created.sh SHBUF STOP_LIB OBJECTS
#
# STOP_LIB (tests/tools/stop-creator.c) is preloaded into the creator and
# stops it at the call SHBUF_TEST_STOP names. OBJECTS is shbuf-test-objects,
# which knows every backend's objects (tests/util/).
source "$(dirname "$0")/lib.sh"
stoplib=${2:?usage: $0 path/to/shbuf path/to/stop-creator.so path/to/shbuf-test-objects}
objects=${3:?usage: $0 path/to/shbuf path/to/stop-creator.so path/to/shbuf-test-objects}

backend=${SHBUF_BACKEND:-$("$SHBUF" --backends | head -1)}
case "$backend" in
posix) stop=posix-data ;; # reserving the data object's memory: the long part
sysv) stop=sysv-queue ;;  # control segment and semaphore set made, no queue yet
*) fail "unknown backend $backend" ;;
esac
# A key of the tests' range (0x5B......), from this shell's pid.
key=$(printf '0x5b%04x%02x' $(($$ & 0xffff)) 0xc1)
add_key "$key"
creator=
# Whatever a failure left (shbuf rm cannot remove what it does not know):
# the objects under the key, and the creator's private data segment.
extra_cleanup() {
        # shellcheck disable=SC2086 # no creator: no argument
        "$objects" key "$key" $creator -r >/dev/null 2>&1
}

row() {
        "$SHBUF" ls -n -r -o KEY,BACKEND,STATE,PROVIDER,PALIVE | grep -i "^$key "
}

# The sanitizers' runtime wants to be loaded first; the stop library is.
SHBUF_TEST_STOP=$stop LD_PRELOAD=$stoplib ASAN_OPTIONS=verify_asan_link_order=0:${ASAN_OPTIONS:-} \
        "$SHBUF" cat --create --backend "$backend" --key "$key" --size 1M </dev/null &
creator=$!
PIDS+=("$creator")

note "a creator at work: listed as creating, left alone"
line=
for i in $(seq 200); do
        line=$(row)
        [ -n "$line" ] && break
        sleep 0.05
done
[ "$line" = "$key $backend creating $creator yes" ] || fail "ls while the creator works: '$line'"
"$SHBUF" ls --json | python3 -c '
import json, sys
key = sys.argv[1]
e = [e for e in json.load(sys.stdin)["shbuf"] if e["key"] == key]
assert len(e) == 1 and e[0]["state"] == "creating" and e[0]["size"] == 1048576 and e[0]["used"] is None, e
' "$key" || fail "ls --json while the creator works"
expect_fail "rm while creating" "$key: being created by pid $creator" "$SHBUF" rm "$key"
"$SHBUF" gc --dry-run >"$TMP/gc" || fail "gc --dry-run"
grep -qi "$key" "$TMP/gc" && fail "gc would remove a buffer being created: $(cat "$TMP/gc")"

kill -9 "$creator"
wait "$creator" 2>/dev/null

note "its creator killed: half-created, and gc removes it"
line=$(row)
[ "$line" = "$key $backend half-created $creator no" ] || fail "ls after the creator died: '$line'"
expect_fail "info" "$key: half-created, its creator (pid $creator) died" "$SHBUF" info "$key"
"$SHBUF" gc --dry-run >"$TMP/gc" || fail "gc --dry-run"
grep -qix "would remove $key ($backend, 1M, half-created by $creator)" "$TMP/gc" ||
        fail "gc --dry-run: $(cat "$TMP/gc")"
"$SHBUF" gc >"$TMP/gc" || fail "gc"
grep -qix "removed $key ($backend, 1M, half-created by $creator)" "$TMP/gc" || fail "gc: $(cat "$TMP/gc")"
[ -z "$(row)" ] || fail "still listed after gc: $(row)"
left=$("$objects" key "$key" "$creator") || fail "objects of the half-created buffer are left after gc: $left"

note "the key is free again"
printf hello | "$SHBUF" cat --create --backend "$backend" --key "$key" --size 4K &
prov=$!
PIDS+=("$prov")
for i in $(seq 200); do
        [ -n "$(row)" ] && break
        sleep 0.05
done
[ "$("$SHBUF" cat --key "$key")" = hello ] || fail "streaming through the key again"
wait "$prov" || fail "the new provider's exit status"
true

#!/bin/bash
# 'shbuf rm' on live buffers: both 'cat' sides must exit 1 with a message,
# promptly, whether they are idle or streaming. And rm's error paths.
source "$(dirname "$0")/lib.sh"

# check_exit NAME PID: PID exited 1 and its stderr file says why.
check_exit() {
        local rc
        wait "$2"
        rc=$?
        [ "$rc" -eq 1 ] || fail "$1: exit status $rc, expected 1 (124 = hung)"
        # The side that looks last may find its peer already gone.
        grep -Eq "was removed|went away" "$TMP/$1.err" || fail "$1: message: $(cat "$TMP/$1.err")"
}

note "idle: provider waits on its stdin, client waits for data"
mkfifo "$TMP/fifo"
exec 3<>"$TMP/fifo"
timeout 20 "$SHBUF" cat --create --key-file "$TMP/k1" <"$TMP/fifo" 2>"$TMP/p1.err" 3>&- &
p=$!
PIDS+=("$p")
wait_file "$TMP/k1"
key=$(cat "$TMP/k1")
add_key "$key"
timeout 20 "$SHBUF" cat --key "$key" >/dev/null 2>"$TMP/c1.err" 3>&- &
c=$!
PIDS+=("$c")
sleep 0.5
"$SHBUF" rm -v "$key" | grep -qix "removed $key" || fail "rm -v output"
check_exit c1 "$c"
check_exit p1 "$p"
exec 3>&-

note "streaming: data flowing from /dev/zero"
timeout 20 "$SHBUF" cat --create --size 256K --key-file "$TMP/k2" </dev/zero 2>"$TMP/p2.err" &
p=$!
PIDS+=("$p")
wait_file "$TMP/k2"
key=$(cat "$TMP/k2")
add_key "$key"
timeout 20 "$SHBUF" cat --key "$key" 2>"$TMP/c2.err" >/dev/null &
c=$!
PIDS+=("$c")
sleep 0.5
"$SHBUF" rm "$key" || fail "rm of a streaming buffer (provider: $(cat "$TMP/p2.err"); client: $(cat "$TMP/c2.err"))"
check_exit c2 "$c"
check_exit p2 "$p"

note "reverse direction: the client writes"
timeout 20 "$SHBUF" cat --create --read --key-file "$TMP/k3" >/dev/null 2>"$TMP/p3.err" &
p=$!
PIDS+=("$p")
wait_file "$TMP/k3"
key=$(cat "$TMP/k3")
add_key "$key"
timeout 20 "$SHBUF" cat --write --key "$key" </dev/zero 2>"$TMP/c3.err" &
c=$!
PIDS+=("$c")
sleep 0.5
"$SHBUF" rm "$key" || fail "rm of a reverse buffer (provider: $(cat "$TMP/p3.err"); client: $(cat "$TMP/c3.err"))"
check_exit c3 "$c"
check_exit p3 "$p"

note "errors"
expect_fail "rm unknown" "0x7ffffffd: no such buffer" "$SHBUF" rm 0x7ffffffd
expect_fail "rm bad key" "invalid key '12x'" "$SHBUF" rm 12x
expect_fail "rm no key" "no key given" "$SHBUF" rm
expect_fail "rm bad option" "unrecognized option '--force'" "$SHBUF" rm --force 1
expect_fail "rm unknown backend" "invalid key or unknown backend" "$SHBUF" rm --backend nope 0x7ffffffd
true

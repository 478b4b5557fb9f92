#!/bin/bash
# Error paths of 'shbuf cat': bad options, missing or busy buffers, a peer
# killed mid-stream, signals, write errors.
source "$(dirname "$0")/lib.sh"

note "usage errors"
expect_fail "no role" "no buffer given" "$SHBUF" cat
expect_fail "read and write" "exclude each other" "$SHBUF" cat --create --read --write
expect_fail "bad size" "invalid size '12Q'" "$SHBUF" cat --create --size 12Q
expect_fail "huge size" "invalid size" "$SHBUF" cat --create --size 99999999999999999999
expect_fail "tiny size" "at least 16 bytes" "$SHBUF" cat --create --size 8
expect_fail "bad mode" "invalid mode '0999'" "$SHBUF" cat --create --mode 0999
expect_fail "bad key" "invalid key '-5'" "$SHBUF" cat --key -5
expect_fail "size for client" "need --create" "$SHBUF" cat --key 1 --size 1M
expect_fail "missing argument" "option '--key' needs an argument" "$SHBUF" cat --key
expect_fail "operand" "unexpected argument 'x'" "$SHBUF" cat --create x
expect_fail "unknown backend" "unknown backend 'nope'" "$SHBUF" cat --create --backend nope </dev/null
expect_fail "no key file" "cannot read a key from" "$SHBUF" cat --key-file "$TMP/none"
"$SHBUF" cat --help | grep -q -- '--key-file' || fail "cat --help"

note "missing buffer"
expect_fail "unknown key" "no buffer with key 0x7ffffffc" "$SHBUF" cat --key 0x7ffffffc

note "busy buffer, taken key"
mkfifo "$TMP/fifo"
exec 3<>"$TMP/fifo"
"$SHBUF" cat --create --size 4K --key-file "$TMP/k" <"$TMP/fifo" 2>"$TMP/p.err" 3>&- &
p=$!
PIDS+=("$p")
wait_file "$TMP/k"
key=$(cat "$TMP/k")
add_key "$key"
"$SHBUF" cat --key "$key" >"$TMP/out" 2>"$TMP/c.err" 3>&- &
c=$!
PIDS+=("$c")
printf 'x' >&3
for i in $(seq 100); do
        [ -s "$TMP/out" ] && break
        sleep 0.05
done
expect_fail "second client" "already has a client" "$SHBUF" cat --key "$key"
expect_fail "taken key" "key $key is taken" "$SHBUF" cat --create --key "$key" </dev/null

note "provider killed mid-stream: the client fails, promptly"
kill -9 "$p"
wait "$p" 2>/dev/null
timeout 10 tail --pid="$c" -f /dev/null || fail "client hangs after its provider died"
wait "$c"
rc=$?
[ "$rc" -eq 1 ] || fail "client exit status $rc after its provider died"
grep -q "provider of buffer $key (pid $p) went away" "$TMP/c.err" || fail "client message: $(cat "$TMP/c.err")"
"$SHBUF" rm "$key" || fail "removing the dead provider's buffer"
exec 3>&-

note "client killed mid-stream: the writing provider fails"
timeout 20 "$SHBUF" cat --create --size 64K --key-file "$TMP/k2" </dev/zero 2>"$TMP/p2.err" &
p=$!
PIDS+=("$p")
wait_file "$TMP/k2"
key=$(cat "$TMP/k2")
add_key "$key"
"$SHBUF" cat --key "$key" >/dev/null &
c=$!
PIDS+=("$c")
sleep 0.3
kill -9 "$c"
wait "$p"
rc=$?
[ "$rc" -eq 1 ] || fail "provider exit status $rc after its client died (124 = hung)"
grep -q "client of buffer $key (pid $c) went away" "$TMP/p2.err" || fail "provider message: $(cat "$TMP/p2.err")"
expect_fail "provider removed its buffer" "no such buffer" "$SHBUF" info "$key"

note "SIGTERM: the provider leaves and removes its buffer"
"$SHBUF" cat --create --size 4K --key-file "$TMP/k3" </dev/zero 2>"$TMP/p3.err" &
p=$!
PIDS+=("$p")
wait_file "$TMP/k3"
key=$(cat "$TMP/k3")
add_key "$key"
sleep 0.2
kill -TERM "$p"
wait "$p"
rc=$?
[ "$rc" -eq 1 ] || fail "exit status $rc after SIGTERM"
grep -q "interrupted by signal" "$TMP/p3.err" || fail "SIGTERM message: $(cat "$TMP/p3.err")"
expect_fail "SIGTERM removed the buffer" "no such buffer" "$SHBUF" info "$key"

note "write error on stdout"
"$SHBUF" cat --create --key-file "$TMP/k4" </etc/services &
p=$!
PIDS+=("$p")
wait_file "$TMP/k4"
key=$(cat "$TMP/k4")
add_key "$key"
"$SHBUF" cat --key "$key" >/dev/full 2>"$TMP/err"
[ $? -eq 1 ] || fail "client to /dev/full: exit status"
grep -q "write error: No space left on device" "$TMP/err" || fail "client to /dev/full: $(cat "$TMP/err")"
wait "$p"
[ $? -eq 1 ] || fail "provider exit status when its reader failed"

true

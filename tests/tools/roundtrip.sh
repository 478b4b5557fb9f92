#!/bin/bash
# Byte-identical round trips through 'shbuf cat', both directions, the
# backend chosen by SHBUF_BACKEND (set by CTest), with a 64 MiB random file,
# odd ring sizes that make frames wrap, and an empty input.
source "$(dirname "$0")/lib.sh"

backend=${SHBUF_BACKEND:-}
head -c 64M /dev/urandom >"$TMP/in" || fail "cannot make the input"

# run_pair NAME PROVIDER_ARGS CLIENT_ARGS INPUT: provider and client as two
# separate commands; the writing side reads INPUT, the reading side writes
# $TMP/NAME.out. Both must exit 0.
run_pair() {
        local name=$1 pargs=$2 cargs=$3 input=$4 kf="$TMP/$1.key" p c prc crc
        if [[ $pargs == *--read* ]]; then
                timeout 60 "$SHBUF" cat --create --key-file "$kf" $pargs >"$TMP/$name.out" &
        else
                timeout 60 "$SHBUF" cat --create --key-file "$kf" $pargs <"$input" &
        fi
        p=$!
        PIDS+=("$p")
        wait_file "$kf"
        add_key "$(cat "$kf")"
        if [[ $pargs == *--read* ]]; then
                timeout 60 "$SHBUF" cat --key-file "$kf" $cargs <"$input"
        else
                timeout 60 "$SHBUF" cat --key-file "$kf" $cargs >"$TMP/$name.out"
        fi
        crc=$?
        wait "$p"
        prc=$?
        [ "$crc" -eq 0 ] || fail "$name: client exit status $crc"
        [ "$prc" -eq 0 ] || fail "$name: provider exit status $prc"
        cmp -s "$input" "$TMP/$name.out" || fail "$name: output differs from input"
        if [ -n "$backend" ]; then
                "$SHBUF" info "$(cat "$kf")" >/dev/null 2>&1 && fail "$name: buffer still there after the stream"
        fi
        note "$name ok"
}

note "provider writes, client reads, 64 MiB"
run_pair p2c "" "" "$TMP/in"
note "provider reads, client writes, 64 MiB"
run_pair c2p "--read" "--write" "$TMP/in"

head -c 300001 "$TMP/in" >"$TMP/small"
for size in 16 17 4099 65536; do
        run_pair "ring$size" "--size $size" "" "$TMP/small"
done
run_pair empty "" "" /dev/null

# The backend actually used is the one CTest asked for.
if [ -n "$backend" ]; then
        kf="$TMP/b.key"
        "$SHBUF" cat --create --key-file "$kf" --size 4K </dev/null &
        p=$!
        PIDS+=("$p")
        wait_file "$kf"
        add_key "$(cat "$kf")"
        "$SHBUF" ls -n -r -o KEY,BACKEND | grep -qix "$(cat "$kf") $backend" || fail "buffer not made by $backend"
        "$SHBUF" cat --key-file "$kf" >/dev/null || fail "draining the backend check buffer"
        wait "$p" || fail "backend check provider failed"
fi

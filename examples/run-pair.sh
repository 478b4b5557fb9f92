#!/bin/sh
# Runs a writer example and a reader example as two unrelated processes, the
# way they are meant to be used: the writer creates a buffer and prints its
# key, the reader attaches with that key and checks every byte. Fails if
# either fails, if the reader used another backend than SHBUF_BACKEND names,
# or if the writer does not finish once the reader is done.
#
#   run-pair.sh WRITER READER BYTES
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
prog=run-pair
if [ $# -ne 3 ]; then
        echo "$prog: usage: $0 WRITER READER BYTES" >&2
        exit 2
fi
writer=$1
reader=$2
bytes=$3

dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT

# Records what the IPC leak check (tests/ipc-leak-check.sh) should look at.
note() {
        if [ -n "${SHBUF_TEST_LOG:-}" ]; then
                echo "$1" >>"$SHBUF_TEST_LOG"
        fi
}

"$writer" "$bytes" >"$dir/key" 2>"$dir/writer.err" &
wpid=$!
note "pid $wpid"

# Stops the writer the way a user would: SIGTERM makes it free its buffer.
stop_writer() {
        kill -TERM "$wpid" 2>/dev/null
        wait "$wpid"
        cat "$dir/writer.err" >&2
}

# The key line, once the writer has created the buffer (10 s at most).
tries=0
while ! grep -q '^[0-9][0-9]*$' "$dir/key"; do
        if ! kill -0 "$wpid" 2>/dev/null || [ $tries -ge 100 ]; then
                echo "$prog: $writer printed no key" >&2
                stop_writer
                exit 1
        fi
        sleep 0.1
        tries=$((tries + 1))
done
key=$(head -n 1 "$dir/key")
note "key $key"
echo "$prog: $writer made buffer $key"

"$reader" "$key" "$bytes" >"$dir/reader.out"
rrc=$?
cat "$dir/reader.out"
if [ $rrc -ne 0 ]; then
        echo "$prog: $reader failed with status $rrc" >&2
        stop_writer
        exit 1
fi

# The reader took everything: the writer must notice and exit by itself.
tries=0
while kill -0 "$wpid" 2>/dev/null; do
        if [ $tries -ge 100 ]; then
                echo "$prog: $writer did not finish within 10 s after the reader" >&2
                stop_writer
                exit 1
        fi
        sleep 0.1
        tries=$((tries + 1))
done
wait "$wpid"
wrc=$?
if [ $wrc -ne 0 ]; then
        cat "$dir/writer.err" >&2
        echo "$prog: $writer failed with status $wrc" >&2
        exit 1
fi

if ! grep -q "read $bytes bytes through the" "$dir/reader.out"; then
        echo "$prog: $reader did not report $bytes bytes" >&2
        exit 1
fi
if [ -n "${SHBUF_BACKEND:-}" ] && ! grep -q "through the $SHBUF_BACKEND backend" "$dir/reader.out"; then
        echo "$prog: SHBUF_BACKEND is $SHBUF_BACKEND but $reader used another backend" >&2
        exit 1
fi
echo "$prog: ok"

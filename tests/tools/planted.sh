#!/bin/bash
# A FIFO planted under a buffer's name (/dev/shm/shbuf-KKKKKKKK-ctl, which
# anybody can make) must not hang shbuf: ls, info, rm, gc and cat return at
# once, say what is there, and leave it alone; ls --json reports it as
# skipped. A FIFO given as cat's key file is refused, not waited on.
source "$(dirname "$0")/lib.sh"

grep -qx posix <("$SHBUF" --backends) || { echo "SKIP: no posix backend"; exit 0; }

# A key of the tests' range (0x5B......), from this shell's pid.
key=$(printf '0x5b%04x%02x' $(($$ & 0xffff)) 0xf1)
fifo=/dev/shm/shbuf-${key#0x}-ctl
extra_cleanup() {
        # Let whoever still waits for a writer go, then remove it.
        if [ -p "$fifo" ]; then
                : 1<>"$fifo"
                rm -f "$fifo"
        fi
}
mkfifo -m 0600 "$fifo" || fail "mkfifo $fifo"

# Every command gets 20 s: one that waits for the FIFO's writer hangs.
t() {
        timeout 20 "$@"
}

note "ls returns; --json lists the FIFO as skipped"
t "$SHBUF" ls --json >"$TMP/json"
rc=$?
[ "$rc" -eq 0 ] || fail "ls --json: exit status $rc (124: it hung)"
python3 - "$TMP/json" "$key" "$fifo" <<'PY' || fail "ls --json: $(cat "$TMP/json")"
import json, sys
path, key, fifo = sys.argv[1:]
doc = json.load(open(path))
assert not [e for e in doc["shbuf"] if e["key"] == key], doc["shbuf"]
skipped = [e for e in doc["skipped"] if e["key"] == key]
assert len(skipped) == 1, doc["skipped"]
e = skipped[0]
assert e["backend"] == "posix" and e["name"] == fifo and "FIFO" in e["reason"], e
PY
t "$SHBUF" ls -n -r -o KEY >"$TMP/ls" || fail "ls: exit status $?"
grep -qix "$key" "$TMP/ls" && fail "ls lists the FIFO as a buffer"

note "info, rm, gc and cat say what is there and leave it"
expect_fail "info" "$key: not a shbuf ($fifo: a FIFO" t "$SHBUF" info "$key"
expect_fail "rm" "$key: not a shbuf ($fifo: a FIFO" t "$SHBUF" rm "$key"
t "$SHBUF" gc --dry-run >"$TMP/gc" || fail "gc --dry-run: exit status $?"
grep -qi "$key" "$TMP/gc" && fail "gc would remove the FIFO: $(cat "$TMP/gc")"
expect_fail "cat client" "$key is not a shbuf" t "$SHBUF" cat --key "$key"
expect_fail "cat create" "key $key is taken" t "$SHBUF" cat --create --backend posix --key "$key" </dev/null
[ -p "$fifo" ] || fail "the planted FIFO was touched"

note "a FIFO as the key file"
mkfifo "$TMP/kf"
expect_fail "cat --key-file FIFO" "cannot read a key from $TMP/kf" t "$SHBUF" cat --key-file "$TMP/kf"
true

#!/bin/bash
# 'shbuf ls' in all its formats and 'shbuf info' on a live buffer with a
# provider and a client attached, and their error paths.
source "$(dirname "$0")/lib.sh"

mkfifo "$TMP/fifo"
exec 3<>"$TMP/fifo" # keeps the provider's stdin open and idle
"$SHBUF" cat --create --size 64K --key-file "$TMP/kf" <"$TMP/fifo" 3>&- &
prov=$!
PIDS+=("$prov")
wait_file "$TMP/kf"
key=$(cat "$TMP/kf")
add_key "$key"
"$SHBUF" cat --key "$key" >"$TMP/out" 3>&- &
cli=$!
PIDS+=("$cli")
printf 'hello' >&3
# The client has attached once it received the first frame.
for i in $(seq 100); do
        [ -s "$TMP/out" ] && break
        sleep 0.05
done
[ "$(cat "$TMP/out")" = hello ] || fail "client did not receive the first bytes"

note "ls --json parses and shows both live pids"
"$SHBUF" ls --json >"$TMP/json" || fail "ls --json failed"
python3 -m json.tool "$TMP/json" >/dev/null || fail "ls --json is not JSON: $(cat "$TMP/json")"
python3 - "$TMP/json" "$key" "$prov" "$cli" "${SHBUF_BACKEND:-}" <<'PY' || fail "ls --json content"
import json, sys
path, key, prov, cli, backend = sys.argv[1:]
doc = json.load(open(path))
assert isinstance(doc["skipped"], list), doc
entries = [e for e in doc["shbuf"] if e["key"] == key]
assert len(entries) == 1, entries
e = entries[0]
assert e["provider"] == int(prov) and e["palive"] is True, e
assert e["client"] == int(cli) and e["calive"] is True, e
assert e["size"] == 65536 and e["mode"] == "0600", e
assert e["used"] == 0 and e["use%"] == 0, e
assert e["state"] == "ready", e
assert not backend or e["backend"] == backend, e
PY

note "table, --noheadings, --raw, -o, --bytes"
"$SHBUF" ls >"$TMP/table" || fail "ls failed"
head -1 "$TMP/table" | grep -q '^KEY *BACKEND *STATE *SIZE *USED *USE% *BACKLOG *PROVIDER *PALIVE *CLIENT *CALIVE *MODE *OWNER$' ||
        fail "ls headings: $(head -1 "$TMP/table")"
grep -qi "^$key .* $prov yes .* $cli yes .*0600 root$" "$TMP/table" || fail "ls line: $(cat "$TMP/table")"
"$SHBUF" ls -n | grep -q '^KEY' && fail "--noheadings printed headings"
"$SHBUF" ls -r -o KEY,SIZE,PROVIDER | grep -qix "$key 64K $prov" || fail "--raw -o line"
"$SHBUF" ls -r -b -o KEY,SIZE | grep -qix "$key 65536" || fail "--bytes"
"$SHBUF" ls -r -o +UID | head -1 | grep -q ' OWNER UID$' || fail "-o +UID"
"$SHBUF" ls --help | grep -q RECOVERIES || fail "ls --help lists no columns"
expect_fail "unknown column" "unknown column 'NOPE'" "$SHBUF" ls -o KEY,NOPE
expect_fail "unknown backend" "unknown backend 'nope'" "$SHBUF" ls --backend nope
expect_fail "extra argument" "unexpected argument" "$SHBUF" ls extra
"$SHBUF" ls -n -r -o KEY --backend "$("$SHBUF" ls -n -r -o KEY,BACKEND | grep -i "^$key " | cut -d' ' -f2)" |
        grep -qix "$key" || fail "ls --backend"

note "info"
"$SHBUF" info "$key" >"$TMP/info" || fail "info failed"
grep -qi "^Key: *$key$" "$TMP/info" || fail "info key"
grep -q "^Provider: *pid $prov, alive$" "$TMP/info" || fail "info provider: $(cat "$TMP/info")"
grep -q "^Client: *pid $cli, attached, alive$" "$TMP/info" || fail "info client"
grep -q "^Status block: *valid$" "$TMP/info" || fail "info status"
grep -q "^  write_count: *[1-9]" "$TMP/info" || fail "info write_count"
grep -q "^  read_count: *[1-9]" "$TMP/info" || fail "info read_count"
expect_fail "info unknown key" "0x7ffffffe: no such buffer" "$SHBUF" info 0x7ffffffe
expect_fail "info bad key" "invalid key 'zz'" "$SHBUF" info zz
expect_fail "info no key" "no key given" "$SHBUF" info
# Several keys: shows the good one, fails for the bad one.
"$SHBUF" info "$key" 0x7ffffffe >"$TMP/info2" 2>"$TMP/err" && fail "info with an unknown key exited 0"
grep -qi "^Key: *$key$" "$TMP/info2" || fail "info of two keys skipped the good one"

note "end of stream"
exec 3>&-
wait "$cli" || fail "client exit status $?"
wait "$prov" || fail "provider exit status $?"
[ "$(cat "$TMP/out")" = hello ] || fail "client output: $(od -c "$TMP/out" | head)"
"$SHBUF" info "$key" >/dev/null 2>&1 && fail "buffer left after a clean end"
true

#!/bin/bash
# The dispatcher: help, version, backends, unknown commands and options,
# and write errors on stdout.
source "$(dirname "$0")/lib.sh"

"$SHBUF" --help | grep -q '^ shbuf \[options\] <command>' || fail "--help"
"$SHBUF" -h >/dev/null || fail "-h"
"$SHBUF" --version | grep -q '^shbuf from libshbuf [0-9]' || fail "--version"
"$SHBUF" --backends >"$TMP/b" || fail "--backends"
[ -s "$TMP/b" ] || fail "--backends printed nothing"
grep -qvx 'sysv\|posix' "$TMP/b" && fail "--backends: unexpected line in $(cat "$TMP/b")"
for cmd in cat ls info rm gc bench; do
        "$SHBUF" "$cmd" --help | grep -q "^ shbuf $cmd" || fail "$cmd --help"
done

expect_fail "no command" "no command given" "$SHBUF"
expect_fail "unknown command" "unknown command 'frob'" "$SHBUF" frob
expect_fail "unknown option" "unrecognized option '--frob'" "$SHBUF" --frob
expect_fail "unknown short option" "invalid option '-z'" "$SHBUF" -z ls

note "write errors on stdout"
# expect_full DESCRIPTION CMD...: CMD writing to a full device exits 1 and says so.
expect_full() {
        local what=$1 rc
        shift
        "$@" >/dev/full 2>"$TMP/err"
        rc=$?
        [ "$rc" -eq 1 ] || fail "$what: exit status $rc, expected 1"
        grep -q "write error" "$TMP/err" || fail "$what: stderr '$(cat "$TMP/err")'"
}
expect_full "--help" "$SHBUF" --help
expect_full "--backends" "$SHBUF" --backends
expect_full "ls" "$SHBUF" ls
expect_full "ls --json" "$SHBUF" ls --json
expect_full "gc --help" "$SHBUF" gc --help
expect_full "info --help" "$SHBUF" info --help
true

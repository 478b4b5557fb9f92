# Shared helpers of the shbuf(1) tests. Source it with the tool's path as $1.
#
# Every script registers what it starts (pids) and makes (keys); the EXIT
# trap kills the processes, removes the buffers and the scratch folder, and
# fails the test if one of its keys is still there (ipcs, shbuf ls).

set -u
SHBUF=${1:?usage: $0 path/to/shbuf}
"$SHBUF" --version >/dev/null || { echo "FAIL: cannot run $SHBUF" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/shbuf-tooltest.XXXXXX")
PIDS=()
KEYS=()
FAILED=0

fail() {
        echo "FAIL: $*" >&2
        FAILED=1
        exit 1
}

note() {
        echo "--- $*"
}

cleanup() {
        local rc=$? p k left
        for p in "${PIDS[@]}"; do
                kill -9 "$p" 2>/dev/null
        done
        for p in "${PIDS[@]}"; do
                wait "$p" 2>/dev/null
        done
        for k in "${KEYS[@]}"; do
                "$SHBUF" rm "$k" 2>/dev/null
        done
        if declare -F extra_cleanup >/dev/null; then
                extra_cleanup
        fi
        left=""
        for k in "${KEYS[@]}"; do
                if "$SHBUF" ls -n -r -o KEY | grep -qix "$k"; then
                        left="$left $k"
                fi
                if ipcs | grep -qi "^$k "; then
                        left="$left $k(ipcs)"
                fi
        done
        rm -rf "$TMP"
        if [ -n "$left" ]; then
                echo "FAIL: IPC objects left behind:$left" >&2
                exit 1
        fi
        if [ "$rc" -eq 0 ] && [ "$FAILED" -eq 0 ]; then
                echo "PASS"
        fi
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_file FILE: wait up to 10 s for a key file written by 'cat --key-file'.
wait_file() {
        local i
        for i in $(seq 200); do
                [ -s "$1" ] && return 0
                sleep 0.05
        done
        fail "no key file $1 after 10 s"
}

# key_of FILE: the key in FILE, registered for cleanup (in the caller's shell).
add_key() {
        KEYS+=("$1")
}

# expect_fail DESCRIPTION PATTERN CMD...: CMD must exit 1 with one stderr
# line matching PATTERN.
expect_fail() {
        local what=$1 pattern=$2 rc
        shift 2
        "$@" >"$TMP/expect-fail.out" 2>"$TMP/err"
        rc=$?
        [ "$rc" -eq 1 ] || fail "$what: exit status $rc, expected 1 (stderr: $(cat "$TMP/err"))"
        grep -q -- "$pattern" "$TMP/err" || fail "$what: stderr '$(cat "$TMP/err")' does not match '$pattern'"
        [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "$what: more than one line on stderr: $(cat "$TMP/err")"
}

#!/bin/sh
# End-to-end test of `shbuf bench`: the quick run's JSON report is complete and
# well formed, command-line errors are reported, and a library that corrupts
# data is caught instead of producing a number. Ratios are not asserted: the
# machines are noisy.
#
# Usage: bench_test.sh SHBUF [CC]
#   SHBUF  the shbuf program (run as "SHBUF bench ...")
#   CC     optional C compiler; with it, a preloaded shim corrupts one
#          shbuf_write() and the benchmark must fail
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

prog=bench_test
shbuf=${1:?usage: bench_test.sh SHBUF [CC]}
cc=${2:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/shbuf-bench-test.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

fail() {
        echo "$prog: $*" >&2
        exit 1
}

# Bench directories that exist before we start are not ours to judge.
ls -d /tmp/shbuf-bench-?????? 2>/dev/null | sort >"$work/tmp-before"

# --- usage errors: exit status 2 and a one-line message naming the program
for args in "--rounds 0" "--rounds x" "--only X9" "--backend nosuch" "--frobnicate"; do
        # shellcheck disable=SC2086
        "$shbuf" bench $args >"$work/out" 2>"$work/err"
        rc=$?
        [ "$rc" -eq 2 ] || fail "'bench $args' exited with $rc, expected 2"
        grep -q '^shbuf bench: ' "$work/err" || fail "'bench $args' printed no error naming the program"
        [ "$(wc -l <"$work/err")" -eq 1 ] || fail "'bench $args' printed more than one error line"
done
"$shbuf" bench --help >"$work/out" 2>&1 || fail "bench --help failed"
grep -q -- '--quick' "$work/out" || fail "bench --help does not mention --quick"

# --- the table: a goal with nothing to measure runs instantly
"$shbuf" bench --quick --only L5 >"$work/table" 2>"$work/err" || fail "bench --only L5 failed: $(cat "$work/err")"
grep -q '^Summary: ' "$work/table" || fail "the table has no summary line"
grep -q '^L5 ' "$work/table" || fail "the table has no L5 row"

# --- the quick run, as JSON
start=$(date +%s)
"$shbuf" bench --quick --json >"$work/report.json" 2>"$work/err"
rc=$?
took=$(($(date +%s) - start))
[ "$rc" -eq 0 ] || fail "bench --quick --json exited with $rc: $(cat "$work/err")"
python3 -m json.tool "$work/report.json" >/dev/null || fail "the report is not valid JSON"
[ "$took" -le 30 ] || echo "$prog: warning: the quick run took ${took} s (goal: under 30 s)" >&2

python3 - "$work/report.json" <<'EOF' || exit 1
import json, math, sys

def bad(msg):
    print("bench_test: " + msg, file=sys.stderr)
    sys.exit(1)

def no_constant(name):
    bad("the report contains %s, which is not a JSON number" % name)

with open(sys.argv[1]) as f:
    rep = json.load(f, parse_constant=no_constant)

def walk(x, path):
    if isinstance(x, float) and not math.isfinite(x):
        bad("%s is not finite" % path)
    if isinstance(x, dict):
        for k, v in x.items():
            walk(v, path + "." + k)
    if isinstance(x, list):
        for i, v in enumerate(x):
            walk(v, "%s[%d]" % (path, i))
walk(rep, "report")

ids = ["T1", "T2", "T3", "T4", "T5", "T6", "L1", "L2", "L3", "L4", "L5", "L6"]
for key in ["tool", "mode", "rounds", "backends", "measurements", "goals", "summary", "syscall_counting"]:
    if key not in rep:
        bad("the report has no '%s'" % key)
if rep["mode"] != "quick":
    bad("mode is %r, expected 'quick'" % rep["mode"])
rounds = rep["rounds"]
if not isinstance(rounds, int) or rounds < 3:
    bad("a quick run needs at least 3 rounds, the report says %r" % rounds)
if not rep["backends"]:
    bad("no backends in the report")

for gid in ids:
    st = rep["summary"].get(gid)
    if st not in ("pass", "fail", "n/a"):
        bad("summary of %s is %r (expected pass, fail or n/a)" % (gid, st))
    if not any(g["id"] == gid for g in rep["goals"]):
        bad("no goal row for %s" % gid)

def stats(obj, where, n=None):
    for k in ("median", "min", "max", "rounds"):
        if k not in obj:
            bad("%s has no %s" % (where, k))
    if n is not None and len(obj["rounds"]) != n:
        bad("%s has %d rounds, expected %d" % (where, len(obj["rounds"]), n))
    vals = [v for v in obj["rounds"] if v is not None]
    if vals and not (obj["min"] <= obj["median"] <= obj["max"]):
        bad("%s: min <= median <= max does not hold" % where)

names = set()
for m in rep["measurements"]:
    where = "measurement " + m.get("name", "?")
    names.add(m["name"])
    if m.get("error") is not None:
        bad("%s failed: %s" % (where, m["error"]))
    if m.get("verified") is not True:
        bad("%s was not verified" % where)
    n = 1 if m["kind"] == "idle" else rounds
    stats(m["value"], where, n)
    if None in m["value"]["rounds"]:
        bad("%s is missing a round" % where)
    if m["kind"] != "idle" and not m["value"]["median"] > 0:
        bad("%s: the median is not positive" % where)
    if m["kind"] == "stream":
        for side in ("producer", "consumer"):
            if side not in m:
                bad("%s has no %s figures" % (where, side))
            for k in ("syscalls_per_mib", "context_switches_per_mib", "cpu_us_per_mib"):
                stats(m[side][k], "%s %s %s" % (where, side, k), rounds)
    if m["kind"] == "pingpong":
        stats(m["p99_us"], where + " p99", rounds)
        if m["p99_us"]["median"] < m["value"]["median"]:
            bad("%s: p99 below the median" % where)
    if m["kind"] == "idle":
        for k in ("seconds", "voluntary_switches", "involuntary_switches"):
            if not isinstance(m["idle"].get(k), (int, float)):
                bad("%s has no idle %s" % (where, k))

# Same-run baselines and one candidate of each kind per backend.
for base in ("pipe@64K", "fifo@64K", "socketpair@64K", "memcpy@1M", "memcpy@64K", "ring@64K", "pipe@4K", "ring@4K",
             "pingpong/pipe", "pingpong/pipe+poll"):
    if base not in names:
        bad("baseline %s is missing" % base)
for be in rep["backends"]:
    for v in ("copy/wait", "copy/poll", "zc/wait"):
        for size in ("64K", "4K"):
            if "%s/%s@%s" % (be, v, size) not in names:
                bad("candidate %s/%s@%s is missing" % (be, v, size))
    for c in ("%s/fill+sum/copy@64K", "%s/fill+sum/zc@64K", "pingpong/%s/wait", "pingpong/%s/poll",
              "idle/%s/wait", "idle/%s/poll"):
        if c % be not in names:
            bad("candidate %s is missing" % (c % be))

# Beside the copying goals, the naive ring held to the same goal: what a bare
# ring's copying reaches in this run.
for gid, base in (("T2", "memcpy@1M"), ("T3", "socketpair@64K"), ("T4", "pipe@4K")):
    if not any(g["id"] == gid and g["candidate"] and g["candidate"].startswith("ring@") and g["baseline"] == base
               and g["info"] for g in rep["goals"]):
        bad("no info row of %s for the naive ring against %s" % (gid, base))

for g in rep["goals"]:
    where = "goal %s %s %s" % (g["id"], g.get("candidate"), g.get("metric"))
    if g["status"] not in ("pass", "fail", "n/a"):
        bad("%s has status %r" % (where, g["status"]))
    if g["status"] in ("pass", "fail"):
        stats(g["value"], where)
        if g["value"]["median"] is None:
            bad("%s was judged without a median" % where)
        if g["id"] not in ("L6",) and len(g["value"]["rounds"]) != rounds:
            bad("%s has %d per-round values, expected %d" % (where, len(g["value"]["rounds"]), rounds))
    if g["op"] not in (">=", "<="):
        bad("%s has op %r" % (where, g["op"]))
EOF

# --- a library that corrupts data must not produce a number
if [ -n "$cc" ]; then
        cat >"$work/corrupt.c" <<'EOF'
/* Flips one byte of the 40th shbuf_write() of each process. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

long shbuf_write(void *sb, const unsigned char *buf, unsigned long n) {
        static long (*real)(void *, const unsigned char *, unsigned long);
        static unsigned long calls;
        static unsigned char copy[1 << 16];
        if (!real)
                real = (long (*)(void *, const unsigned char *, unsigned long)) dlsym(RTLD_NEXT, "shbuf_write");
        if (++calls == 40 && n > 8 && n <= sizeof(copy)) {
                memcpy(copy, buf, n);
                copy[n - 1] ^= 0x40;
                buf = copy;
        }
        return real(sb, buf, n);
}
EOF
        if "$cc" -shared -fPIC -o "$work/corrupt.so" "$work/corrupt.c" -ldl 2>"$work/err"; then
                LD_PRELOAD="$work/corrupt.so" "$shbuf" bench --quick --rounds 1 --only T1 >"$work/out" 2>"$work/err"
                rc=$?
                [ "$rc" -ne 0 ] || fail "corrupted data went unnoticed (exit status 0)"
                grep -q 'mismatch' "$work/err" || fail "corrupted data was not reported as a mismatch: $(cat "$work/err")"
        else
                echo "$prog: could not build the corrupting shim, skipping that part: $(cat "$work/err")" >&2
        fi
fi

# --- nothing left behind: the private FIFO directories are gone
ls -d /tmp/shbuf-bench-?????? 2>/dev/null | sort >"$work/tmp-after"
new=$(comm -13 "$work/tmp-before" "$work/tmp-after")
[ -z "$new" ] || fail "temporary directories left behind: $new"
echo "$prog: ok (quick run took ${took} s)"
exit 0

#!/bin/sh
# End-to-end test of `shbuf bench`: the quick run's JSON report is complete
# and well formed (every transport at every size, or a line saying why it
# was skipped), the tables are there, command-line errors are reported, the
# repository's scripts read the report, and a library that corrupts data is
# caught instead of producing a number. No ratio or speed is asserted: the
# machines are noisy, and judging goals is scripts/bench-check.py's job.
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
scripts=$(cd "$(dirname "$0")/../../scripts" && pwd)
# The scripts share a module; no bytecode for it in the source tree.
export PYTHONDONTWRITEBYTECODE=1
work=$(mktemp -d "${TMPDIR:-/tmp}/shbuf-bench-test.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

fail() {
        echo "$prog: $*" >&2
        exit 1
}

# The bench's private directories go under $TMPDIR: ours is empty, so
# whatever is there at the end is ours. Boost's queues go to /dev/shm, which
# another bench on the machine may use at the same time: what exists
# before we start is not ours to judge, nor what goes away a moment later.
export TMPDIR=$work/tmp
mkdir "$TMPDIR" || exit 1
leftovers() {
        ls -d "$TMPDIR"/* /dev/shm/shbuf-bench-* 2>/dev/null | sort
}
leftovers >"$work/before"

# --- usage errors: exit status 1 and one line naming the program
for args in "--rounds 0" "--rounds x" "--rounds 1K" "--size 12" "--size 64,x" "--transport nosuch" \
        "--backend nosuch" "--frobnicate" "extra"; do
        # shellcheck disable=SC2086
        "$shbuf" bench $args >"$work/out" 2>"$work/err"
        rc=$?
        [ "$rc" -eq 1 ] || fail "'bench $args' exited with $rc, expected 1"
        grep -q '^shbuf bench: ' "$work/err" || fail "'bench $args' printed no error naming the program"
        [ "$(wc -l <"$work/err")" -eq 1 ] || fail "'bench $args' printed more than one error line"
done
"$shbuf" bench --help >"$work/out" 2>&1 || fail "bench --help failed"
for word in --quick --json --transport --size; do
        grep -q -- "$word" "$work/out" || fail "bench --help does not mention $word"
done
# The installed tool measures; goals live in the repository's scripts.
if grep -Eqi '\b(goal|issue|[PSTL][0-9])\b' "$work/out"; then
        fail "bench --help names goals or issues: $(grep -Ei '\b(goal|issue|[PSTL][0-9])\b' "$work/out")"
fi

# --- the tables, on a small run
"$shbuf" bench --quick --rounds 1 --transport pipe,shbuf --size 64 >"$work/table" 2>"$work/err" ||
        fail "a small table run failed: $(cat "$work/err")"
for section in '^Messages per second' '^GB/s' '^Round trips of 64 bytes' '^Transports' '^pipe ' '^shbuf-'; do
        grep -q "$section" "$work/table" || fail "the table has no line matching '$section'"
done
if grep -Eqi '\b(goal|issue|pass|fail)\b' "$work/table"; then
        fail "the table judges: $(grep -Ei '\b(goal|issue|pass|fail)\b' "$work/table" | head -1)"
fi

# --- the quick run, as JSON
start=$(date +%s)
"$shbuf" bench --quick --json >"$work/report.json" 2>"$work/err"
rc=$?
took=$(($(date +%s) - start))
[ "$rc" -eq 0 ] || fail "bench --quick --json exited with $rc: $(cat "$work/err")"
[ "$took" -le 30 ] || echo "$prog: warning: the quick run took ${took} s (meant to be under 30 s)" >&2

python3 - "$work/report.json" <<'EOF' || exit 1
import json, math, sys

KNOWN = ["shbuf", "shbuf-zc", "ring", "pipe", "pipe-sized", "vmsplice", "fifo", "socketpair",
         "zmq-pushpull", "zmq-pair", "boost-mq", "nng-pipeline"]
SIZES = [64, 256, 1024, 4096, 65536, 1048576]
WAITS = ["wait", "select", "spin"]


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
for key in ("tool", "format", "mode", "rounds", "date", "machine", "backends", "syscall_counting", "params",
            "transports", "skipped", "throughput", "latency"):
    if key not in rep:
        bad("the report has no '%s'" % key)
if rep["tool"] != "shbuf bench" or rep["format"] != 2 or rep["mode"] != "quick":
    bad("tool, format or mode is wrong: %r %r %r" % (rep["tool"], rep["format"], rep["mode"]))
rounds = rep["rounds"]
if not isinstance(rounds, int) or rounds < 3:
    bad("a quick run has at least 3 rounds, the report says %r" % rounds)
if not rep["backends"]:
    bad("no backends in the report")
for key in ("cpus", "cpu", "kernel"):
    if key not in rep["machine"]:
        bad("machine has no %s" % key)
for key in ("warmup_s", "window_s", "round_trips", "round_trip_bytes", "sizes"):
    if key not in rep["params"]:
        bad("params has no %s" % key)
if rep["params"]["sizes"] != SIZES:
    bad("the sizes are %r, expected %r" % (rep["params"]["sizes"], SIZES))

# Every transport is either measured or skipped, with a reason.
built = {t["name"]: t for t in rep["transports"]}
skipped = {s["name"]: s for s in rep["skipped"]}
for t in rep["transports"]:
    for key in ("title", "built", "latency"):
        if key not in t:
            bad("transport %s has no %s" % (t.get("name"), key))
for s in rep["skipped"]:
    if not s.get("reason"):
        bad("skipped transport %s gives no reason" % s.get("name"))
for name in KNOWN:
    if (name in built) == (name in skipped):
        bad("transport %s is %s" % (name, "both measured and skipped" if name in built else "neither measured nor skipped"))
extra = set(built) | set(skipped)
extra -= set(KNOWN)
if extra:
    bad("unknown transports in the report: %s (update this test)" % ", ".join(sorted(extra)))


def stats(obj, where, allow_null=False):
    for k in ("median", "min", "max", "rounds"):
        if k not in obj:
            bad("%s has no %s" % (where, k))
    if len(obj["rounds"]) != rounds:
        bad("%s has %d rounds, expected %d" % (where, len(obj["rounds"]), rounds))
    vals = [v for v in obj["rounds"] if v is not None]
    if not allow_null and len(vals) != rounds:
        bad("%s is missing a round" % where)
    if vals and not (obj["min"] <= obj["median"] <= obj["max"]):
        bad("%s: min <= median <= max does not hold" % where)


def expect_common(m, where):
    for key in ("name", "transport", "backend", "wait", "size", "capacity", "config", "verified", "error"):
        if key not in m:
            bad("%s has no %s" % (where, key))
    if m["error"] is not None:
        bad("%s failed: %s" % (where, m["error"]))
    if m["verified"] is not True:
        bad("%s was not verified" % where)
    if not m["config"]:
        bad("%s does not say how it was configured" % where)


def names_of(transport, kind):
    if transport not in ("shbuf", "shbuf-zc"):
        return [transport]
    if kind == "throughput":
        return ["%s-%s" % (transport, b) for b in rep["backends"]]
    return ["%s-%s-%s" % (transport, b, w) for b in rep["backends"] for w in WAITS]


tp = {(m["name"], m["size"]): m for m in rep["throughput"]}
for tr in built:
    for name in names_of(tr, "throughput"):
        for size in SIZES:
            m = tp.pop((name, size), None)
            where = "%s at %d bytes" % (name, size)
            if m is None:
                bad("%s is missing" % where)
            expect_common(m, where)
            stats(m["msgs_per_s"], where + " msgs_per_s")
            stats(m["gb_per_s"], where + " gb_per_s")
            if not m["msgs_per_s"]["median"] > 0:
                bad("%s: the median is not positive" % where)
            for side in ("producer", "consumer"):
                if side not in m:
                    bad("%s has no %s figures" % (where, side))
                for k in ("syscalls_per_msg", "context_switches_per_msg", "cpu_us_per_msg"):
                    # System calls are null where perf cannot count them.
                    stats(m[side][k], "%s %s %s" % (where, side, k), allow_null=k == "syscalls_per_msg")
if tp:
    bad("unexpected throughput rows: %s" % sorted(tp))

lat = {m["name"]: m for m in rep["latency"]}
for tr, t in built.items():
    if not t["latency"]:
        continue
    for name in names_of(tr, "latency"):
        m = lat.pop(name, None)
        if m is None:
            bad("round trips of %s are missing" % name)
        expect_common(m, name)
        for k in ("median_us", "p99_us", "p999_us"):
            stats(m[k], "%s %s" % (name, k))
        if not (m["median_us"]["median"] <= m["p99_us"]["median"] <= m["p999_us"]["median"]):
            bad("%s: median <= p99 <= p99.9 does not hold" % name)
        cdf = m.get("cdf")
        if not cdf or any(len(p) != 2 or p[1] is None for p in cdf):
            bad("%s has no complete distribution" % name)
        if [p[0] for p in cdf] != sorted(p[0] for p in cdf) or cdf[0][0] != 0 or cdf[-1][0] != 1:
            bad("%s: the distribution's quantiles do not run from 0 to 1" % name)
if lat:
    bad("unexpected latency rows: %s" % sorted(lat))
EOF

# --- the repository's scripts read it
python3 "$scripts/bench-check.py" "$work/report.json" >"$work/check" 2>"$work/err"
rc=$?
[ "$rc" -le 1 ] || fail "bench-check.py could not read the report: $(cat "$work/err")"
for id in S1 S2 S3 S4 P1 P2 P3 P4 P5; do
        grep -q "^Summary:.* $id \(pass\|fail\|error\)" "$work/check" || fail "bench-check.py gives no verdict for $id"
done
python3 "$scripts/bench-tables.py" "$work/report.json" >"$work/tables" || fail "bench-tables.py failed"
grep -q '^| libshbuf (copying API) ÷ |' "$work/tables" || fail "bench-tables.py printed no comparison table"
if command -v gnuplot >/dev/null 2>&1; then
        sh "$scripts/bench-plot.sh" "$work/report.json" "$work/plot" >/dev/null || fail "bench-plot.sh failed"
        for f in throughput latency; do
                [ -s "$work/plot-$f.png" ] || fail "bench-plot.sh made no $f picture"
        done
else
        echo "$prog: gnuplot is not installed, the pictures are not tried"
fi

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
                LD_PRELOAD="$work/corrupt.so" "$shbuf" bench --quick --rounds 1 --transport shbuf --size 4K \
                        --no-latency >"$work/out" 2>"$work/err"
                rc=$?
                [ "$rc" -ne 0 ] || fail "corrupted data went unnoticed (exit status 0)"
                grep -q 'mismatch' "$work/err" || fail "corrupted data was not reported as a mismatch: $(cat "$work/err")"
        else
                echo "$prog: could not build the corrupting shim, skipping that part: $(cat "$work/err")" >&2
        fi
fi

# --- nothing left behind: private directories, Boost's queues in /dev/shm
leftovers >"$work/after"
new=$(comm -13 "$work/before" "$work/after")
if [ -n "$new" ]; then
        sleep 2
        leftovers >"$work/after"
        new=$(comm -13 "$work/before" "$work/after")
fi
[ -z "$new" ] || fail "left behind: $new"
echo "$prog: ok (quick run took ${took} s)"
exit 0

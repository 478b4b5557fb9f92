#!/bin/sh
# Plot a `shbuf bench --json` report: two PNG pictures.
#
# Usage: scripts/bench-plot.sh REPORT.json [PREFIX]
#
#   PREFIX-throughput.png  messages per second (left) and GB/s (right)
#                          against the message size, log-log, one line per
#                          transport (median over the rounds)
#   PREFIX-latency.png     the distribution of 64-byte round trips, one
#                          line per transport: the share of round trips
#                          that took at most x microseconds (x logarithmic)
#
# PREFIX defaults to REPORT without ".json". Needs python3 and gnuplot
# (Debian: apt-get install gnuplot-nox).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu

prog=bench-plot
[ $# -ge 1 ] && [ $# -le 2 ] || {
        echo "usage: $prog REPORT.json [PREFIX]" >&2
        exit 2
}
report=$1
prefix=${2:-${report%.json}}
[ -r "$report" ] || {
        echo "$prog: cannot read $report" >&2
        exit 1
}
command -v gnuplot >/dev/null 2>&1 || {
        echo "$prog: gnuplot is not installed (Debian: apt-get install gnuplot-nox)" >&2
        exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-plot.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# Python reads the report and writes the data and the gnuplot script.
PYTHONPATH="$(dirname "$0")${PYTHONPATH:+:$PYTHONPATH}" python3 - "$report" "$work" "$prefix" <<'EOF'
import sys

from bench_report import load, size_text

report, work, prefix = sys.argv[1:4]
rep = load(report, "bench-plot")


def style(name):
    """Line colour, dash type and width: libshbuf stands out (the POSIX
    backend dash-dotted), the naive ring is the dashed limit, the kernel's
    IPC greys and browns, the libraries warm colours."""
    if name.startswith("shbuf"):
        colour = "#1b9e77" if name.startswith("shbuf-zc") else "#1f3fbf"
        for k, c in (("select", "#5aa0e6"), ("spin", "#0b7a3e")):
            if name.endswith("-" + k):
                colour = c
        return colour, 4 if "-posix" in name else 1, 3
    table = {
        "ring": ("#000000", 2, 2),
        "pipe": ("#9e9e9e", 1, 1.5),
        "pipe-sized": ("#616161", 1, 1.5),
        "vmsplice": ("#424242", 3, 1.5),
        "fifo": ("#bdbdbd", 3, 1.5),
        "socketpair": ("#8d6e63", 1, 1.5),
        "zmq-pushpull": ("#e53935", 1, 2),
        "zmq-pair": ("#ef9a9a", 3, 2),
        "boost-mq": ("#fb8c00", 1, 2),
        "nng-pipeline": ("#8e24aa", 1, 2),
    }
    return table.get(name, ("#26a69a", 1, 1.5))


def gp_str(s):
    """A gnuplot string: double-quoted, newlines as \\n, no quotes inside."""
    return '"%s"' % s.replace("\\", "/").replace('"', "'").replace("\n", "\\n")


title = "shbuf bench, %s run of %s, %d rounds, %d CPUs (%s)" % (
    rep["mode"], rep["date"], rep["rounds"], rep["machine"]["cpus"], rep["machine"]["cpu"])

# --- throughput against message size
names, series = [], {}
for m in rep.get("throughput", []):
    if m["name"] not in series:
        names.append(m["name"])
        series[m["name"]] = []
    v = m["msgs_per_s"]["median"]
    if not m.get("error") and v:
        series[m["name"]].append((m["size"], v, v * m["size"] / 1e9))
plots = []
for i, name in enumerate(names):
    path = "%s/tp%d.dat" % (work, i)
    with open(path, "w") as f:
        for size, msgs, gbs in sorted(series[name]):
            f.write("%d %g %g\n" % (size, msgs, gbs))
    plots.append((path, name) + style(name))

sizes = sorted({s for v in series.values() for s, _, _ in v})


gp = []
if plots:
    xtics = ", ".join('"%s" %d' % (size_text(s), s) for s in sizes)
    gp += [
        'set terminal pngcairo noenhanced size 1400,650 font "sans,10"',
        "set output %s" % gp_str(prefix + "-throughput.png"),
        "set multiplot layout 1,2 title %s" % gp_str(title + ("\nnot built: %s" % ", ".join(
            s["name"] for s in rep.get("skipped", [])) if rep.get("skipped") else "")),
        "set logscale xy",
        "set grid xtics ytics mxtics mytics lc rgb '#dddddd'",
        "set xtics (%s)" % xtics,
        "set xrange [%g:%g]" % (sizes[0] / 1.4, sizes[-1] * 1.4),
        "set xlabel 'message size'",
    ]
    # One key, beside the right-hand panel.
    for col, ylabel, key in ((2, "messages per second (median over the rounds)", "unset key"),
                             (3, "GB/s (10^9 bytes/s)", "set key outside right top")):
        gp.append("set ylabel %s" % gp_str(ylabel))
        gp.append(key)
        gp.append("plot " + ", \\\n     ".join(
            "%s using 1:%d with linespoints lw %g dt %d pt 7 ps 0.6 lc rgb %s title %s" % (
                gp_str(p), col, width, dash, gp_str(colour), gp_str(name))
            for p, name, colour, dash, width in plots))
    gp.append("unset multiplot")
    gp.append("reset")

# --- latency distribution
lat = []
for i, m in enumerate(rep.get("latency", [])):
    if m.get("error"):
        continue
    pts = [(us, q) for q, us in m["cdf"] if us is not None and us > 0]
    if not pts:
        continue
    path = "%s/lat%d.dat" % (work, i)
    with open(path, "w") as f:
        for us, q in pts:
            f.write("%g %g\n" % (us, q))
    med = m["median_us"]["median"]
    lat.append((path, "%s (median %.3g us)" % (m["name"], med)) + style(m["name"]))
if lat:
    gp += [
        'set terminal pngcairo noenhanced size 1200,700 font "sans,10"',
        "set output %s" % gp_str(prefix + "-latency.png"),
        "set title %s" % gp_str("%d-byte round trips: the share that took at most x (each point: the "
                                "median over the rounds of one percentile)\n%s" % (
                                    rep["params"]["round_trip_bytes"], title)),
        "set logscale x",
        "set grid xtics ytics mxtics lc rgb '#dddddd'",
        "set xlabel 'round trip, microseconds'",
        "set ylabel 'share of round trips'",
        "set yrange [0:1]",
        "set key outside right top",
        "plot " + ", \\\n     ".join(
            "%s using 1:2 with linespoints lw %g dt %d pt 7 ps 0.5 lc rgb %s title %s" % (
                gp_str(p), width, dash, gp_str(colour), gp_str(name))
            for p, name, colour, dash, width in lat),
    ]
if not gp:
    sys.exit("bench-plot: the report has nothing to plot")
with open(work + "/plot.gp", "w") as f:
    f.write("\n".join(gp) + "\n")
with open(work + "/outputs", "w") as f:
    f.write(" ".join(o for o, have in ((prefix + "-throughput.png", plots), (prefix + "-latency.png", lat)) if have))
EOF

gnuplot "$work/plot.gp" || {
        echo "$prog: gnuplot failed" >&2
        exit 1
}
echo "$prog: wrote $(cat "$work/outputs")"

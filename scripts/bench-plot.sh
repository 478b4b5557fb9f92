#!/bin/sh
# Plot a `shbuf bench --json` report: one PNG with the per-goal figures.
#
# Usage: scripts/bench-plot.sh REPORT.json [OUT.png]
#
# Top panel: every ratio goal (T1-T5, L1-L4) - the median ratio as a bar, the
# min-max over rounds as an error bar, each round as a dot and the goal as a
# red dash (bars meant to be above it for ">=" goals, below it for "<=").
# Beside T2-T4, a grey bar holds the naive ring to the same goal: what a
# bare ring's copying reaches on that machine in that run.
# Bottom panel: the absolute goals (T6 system calls and context switches per
# MiB, L6 idle CPU and wake-ups) the same way. Needs python3 and gnuplot
# (Debian: apt-get install gnuplot-nox).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu

prog=bench-plot
[ $# -ge 1 ] && [ $# -le 2 ] || {
        echo "usage: $prog REPORT.json [OUT.png]" >&2
        exit 2
}
report=$1
out=${2:-${report%.json}.png}
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

python3 - "$report" "$work" <<'EOF'
import json, math, sys

rep = json.load(open(sys.argv[1]))
work = sys.argv[2]

def short(name):
    return (name or "-").replace("pingpong/", "pp/")

def bare_ring(g):
    return bool(g.get("info")) and g["backend"] == "-" and (g["candidate"] or "").startswith("ring@")

def label(g):
    text = "%s %s" % (g["id"], short(g["candidate"]))
    if g.get("baseline"):
        text += " / " + short(g["baseline"])
    elif g["id"] in ("T6", "L6", "L4"):
        text += " " + {"T6": "sys" if "system" in g["metric"] else "ctx",
                       "L6": "cpu" if "CPU" in g["metric"] else "wake",
                       "L4": "p99/med"}[g["id"]]
    return text

ratio_ids = {"T1", "T2", "T3", "T4", "T5", "L1", "L2", "L3", "L4"}
order = ["T1", "T2", "T3", "T4", "T5", "T6", "L1", "L2", "L3", "L4", "L5", "L6"]
panels = {"ratio": [], "abs": []}
# Grouped by goal id; the report's order is kept within a goal.
for g in sorted(rep["goals"], key=lambda g: order.index(g["id"]) if g["id"] in order else 99):
    if (g.get("info") and not bare_ring(g)) or g["status"] not in ("pass", "fail"):
        continue
    panels["ratio" if g["id"] in ratio_ids else "abs"].append(g)

for name, rows in panels.items():
    with open("%s/%s.dat" % (work, name), "w") as bars, open("%s/%s-rounds.dat" % (work, name), "w") as dots:
        for i, g in enumerate(rows):
            v = g["value"]
            # Log axes cannot show 0: the absolute panel shows 0 as 0.01.
            fix = lambda x: max(x, 0.01) if x is not None else 0.01
            bars.write('%d "%s" %g %g %g %g %d\n' % (i, label(g), fix(v["median"]), fix(v["min"]),
                                                      fix(v["max"]), fix(g["goal"]),
                                                      2 if bare_ring(g) else 1 if g["status"] == "pass" else 0))
            for r in v["rounds"]:
                if r is not None:
                    dots.write("%d %g\n" % (i, fix(r)))
    with open("%s/%s.n" % (work, name), "w") as f:
        f.write(str(len(rows)))

title = "shbuf bench (%s, %d rounds, %s) - %s" % (rep["mode"], rep["rounds"], ", ".join(rep["backends"]),
                                                    rep.get("date", ""))
with open(work + "/title", "w") as f:
    f.write(title.replace('"', "'"))
EOF

nratio=$(cat "$work/ratio.n")
nabs=$(cat "$work/abs.n")
if [ "$nratio" -eq 0 ] && [ "$nabs" -eq 0 ]; then
        echo "$prog: the report has no judged goals to plot" >&2
        exit 1
fi
width=$(((nratio > nabs ? nratio : nabs) * 45 + 200))
[ "$width" -ge 900 ] || width=900

cat >"$work/plot.gp" <<EOF
set terminal pngcairo noenhanced size $width,1300 font "sans,9"
set output "$out"
set multiplot layout 2,1 title "$(cat "$work/title")"
set style fill solid 0.6 border -1
set boxwidth 0.6
set logscale y
set grid ytics
set xtics rotate by 45 right nomirror
set key top left
set bmargin 16
set lmargin 16
bar(p) = (p > 1.5) ? 0x9e9e9e : (p > 0.5) ? 0x4caf50 : 0xe53935
EOF
if [ "$nratio" -gt 0 ]; then
        cat >>"$work/plot.gp" <<EOF
set title "Ratio goals: median bar, min-max over rounds, dots = rounds, red dash = goal, grey = the naive ring held to the goal"
set ylabel "ratio (candidate / baseline)"
set xrange [-0.7:$nratio - 0.3]
plot "$work/ratio.dat" using 1:3:(bar(\$7)):xtic(2) with boxes lc rgb variable notitle, \
     "" using 1:3:4:5 with yerrorbars lc rgb "black" pt -1 notitle, \
     "$work/ratio-rounds.dat" using 1:2 with points pt 7 ps 0.4 lc rgb "#333333" title "rounds", \
     "$work/ratio.dat" using (\$1-0.35):6:(0.7):(0) with vectors nohead lw 3 lc rgb "red" title "goal"
EOF
else
        echo 'set multiplot next' >>"$work/plot.gp"
fi
if [ "$nabs" -gt 0 ]; then
        cat >>"$work/plot.gp" <<EOF
set title "Absolute goals: T6 per MiB (worse side), L6 while blocked (0 shown as 0.01)"
set ylabel "value (lower is better)"
set xrange [-0.7:$nabs - 0.3]
plot "$work/abs.dat" using 1:3:(bar(\$7)):xtic(2) with boxes lc rgb variable notitle, \
     "" using 1:3:4:5 with yerrorbars lc rgb "black" pt -1 notitle, \
     "$work/abs-rounds.dat" using 1:2 with points pt 7 ps 0.4 lc rgb "#333333" title "rounds", \
     "$work/abs.dat" using (\$1-0.35):6:(0.7):(0) with vectors nohead lw 3 lc rgb "red" title "goal"
EOF
fi
echo 'unset multiplot' >>"$work/plot.gp"

gnuplot "$work/plot.gp" || {
        echo "$prog: gnuplot failed" >&2
        exit 1
}
echo "$prog: wrote $out"

#!/usr/bin/env python3
"""Check the project's performance goals against a `shbuf bench --json` report.

Usage: scripts/bench-check.py [--markdown] REPORT.json

The benchmark only measures; the goals live here, in the repository. Every
goal is a ratio between two transports measured in the same run: for each
timed round, the candidate's figure over the baseline's figure of that same
round, so noise that hits a whole round hits both. A goal row passes when
the median of those per-round ratios meets the goal and the worst round
reaches 80% of it (for "<= g": the worst round is at most g / 0.8). A goal
passes when all its rows pass, on every backend in the report.

Goals:

  S1  copying API / naive ring, 64-byte messages            >= 0.5 (target 0.8)
  S2  copying API / naive ring, 256 B and 1 KiB              >= 0.8
  S3  copying API / naive ring, 4 KiB and 64 KiB             >= 0.9
  S4  zero-copy API / naive ring, 4 KiB and 64 KiB           >= 1.0
  P1  copying API / the best of pipe (sized), socketpair, ZeroMQ,
      Boost.Interprocess and NNG, at each size 64 B..64 KiB  >= 2
  P2  zero-copy API / vmsplice() pipe, 64 KiB                >= 2
  P3  the copying and zero-copy APIs against the naive ring: S1-S4
  P4  64-byte round trip with shbuf_wait() / a pipe's         <= 1.1
      and / the best peer's (socketpair, ZeroMQ, Boost, NNG)  <= 1
  P5  64-byte round trip with the opt-in spin / a pipe's      <= 0.1

The goals want at least 5 rounds (a full run); with fewer the verdicts are
printed but marked indicative. A peer that was not built is left out of
"the best of", and said so.

Exit status: 0 when every goal passes, 1 when one fails or could not be
judged (a measurement failed or is missing), 2 for a bad command line or
report.

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import math
import sys

from bench_report import load, median, size_text

PROG = "bench-check"
MIN_ROUNDS = 5

THROUGHPUT_PEERS = ["pipe-sized", "socketpair", "zmq-pushpull", "zmq-pair", "boost-mq", "nng-pipeline"]
LATENCY_PEERS = ["socketpair", "zmq-pushpull", "zmq-pair", "boost-mq", "nng-pipeline"]

# id, candidate transport, baseline (a transport, or a list: the best of
# them in each round), sizes, op, goal, target, what
GOALS = [
    ("S1", "shbuf", "ring", [64], ">=", 0.5, 0.8, "copying API / naive ring"),
    ("S2", "shbuf", "ring", [256, 1024], ">=", 0.8, None, "copying API / naive ring"),
    ("S3", "shbuf", "ring", [4096, 65536], ">=", 0.9, None, "copying API / naive ring"),
    ("S4", "shbuf-zc", "ring", [4096, 65536], ">=", 1.0, None, "zero-copy API / naive ring"),
    ("P1", "shbuf", THROUGHPUT_PEERS, [64, 256, 1024, 4096, 65536], ">=", 2.0, None,
     "copying API / best peer"),
    ("P2", "shbuf-zc", "vmsplice", [65536], ">=", 2.0, None, "zero-copy API / vmsplice pipe"),
    ("P4", "wait", "pipe", None, "<=", 1.1, None, "shbuf_wait round trip / pipe"),
    ("P4", "wait", LATENCY_PEERS, None, "<=", 1.0, None, "shbuf_wait round trip / best peer"),
    ("P5", "spin", "pipe", None, "<=", 0.1, None, "spinning round trip / pipe"),
]
ORDER = ["S1", "S2", "S3", "S4", "P1", "P2", "P3", "P4", "P5"]


def die(msg):
    print("%s: %s" % (PROG, msg), file=sys.stderr)
    sys.exit(2)


def num(v):
    if v is None or not math.isfinite(v):
        return "-"
    return "%.3g" % v


class Report:
    def __init__(self, rep):
        self.rep = rep
        self.rounds = rep["rounds"]
        self.built = {t["name"] for t in rep["transports"]}
        self.throughput = {(m["name"], m["size"]): m for m in rep.get("throughput", [])}
        self.latency = {m["name"]: m for m in rep.get("latency", [])}

    def stream(self, name, size):
        return self.throughput.get((name, size))

    def rtt(self, name):
        return self.latency.get(name)


def per_round(m, key):
    """The per-round values of a figure, or an error text."""
    if m is None:
        return None, "not measured"
    if m.get("error"):
        return None, "%s failed: %s" % (m["name"], m["error"])
    return m[key]["rounds"], None


class Row:
    def __init__(self, gid, backend, what, size, op, goal, target):
        self.gid, self.backend, self.what, self.size = gid, backend, what, size
        self.op, self.goal, self.target = op, goal, target
        self.ratios, self.note, self.status, self.target_met = [], "", "n/a", None
        self.med = self.min = self.max = None

    def judge(self):
        vals = [v for v in self.ratios if v is not None and math.isfinite(v)]
        if not vals or len(vals) != len(self.ratios):
            self.status = "error"
            if not self.note:
                self.note = "a round is missing"
            return
        self.med, self.min, self.max = median(vals), min(vals), max(vals)
        self.status = "pass" if meets(self.op, self.med, self.min, self.max, self.goal) else "fail"
        if self.target is not None:
            self.target_met = meets(self.op, self.med, self.min, self.max, self.target)


def meets(op, med, lo, hi, goal):
    if op == ">=":
        return med >= goal and lo >= 0.8 * goal
    return med <= goal and hi <= goal / 0.8


def ratio_rows(rep, gid, cand, base, sizes, op, goal, target, what):
    rows = []
    bases = base if isinstance(base, list) else [base]
    missing = [b for b in bases if b not in rep.built]
    for be in rep.rep["backends"]:
        for size in sizes or [None]:
            row = Row(gid, be, what, size, op, goal, target)
            rows.append(row)
            if size is None:  # a round trip
                c, key = rep.rtt("shbuf-%s-%s" % (be, cand)), "median_us"
                b = [rep.rtt(x) for x in bases if x in rep.built]
            else:
                c, key = rep.stream("%s-%s" % (cand, be), size), "msgs_per_s"
                b = [rep.stream(x, size) for x in bases if x in rep.built]
            cv, err = per_round(c, key)
            bvs = []
            for m in b:
                v, e = per_round(m, key)
                err = err or e
                bvs.append(v)
            if not b and not err:
                err = "no baseline was built (%s)" % ", ".join(bases)
            if err:
                row.status, row.note = "error", err
                continue
            if len(bases) > 1:
                row.note = "best of %s" % ", ".join(x for x in bases if x in rep.built)
                if missing:
                    row.note += "; not built: %s" % ", ".join(missing)
            for r in range(rep.rounds):
                vals = [v[r] for v in bvs]
                if cv[r] is None or any(v is None for v in vals):
                    row.ratios.append(None)
                    continue
                # The best peer of the round: most messages, or the
                # shortest round trip.
                best = max(vals) if size is not None else min(vals)
                row.ratios.append(cv[r] / best if best else None)
            row.judge()
    return rows


def check(rep):
    rows = []
    for gid, cand, base, sizes, op, goal, target, what in GOALS:
        rows += ratio_rows(rep, gid, cand, base, sizes, op, goal, target, what)
    summary = {}
    for gid in ORDER:
        mine = [r for r in rows if r.gid == gid]
        if gid == "P3":
            mine = [r for r in rows if r.gid in ("S1", "S2", "S3", "S4")]
        st = [r.status for r in mine]
        summary[gid] = ("error" if "error" in st else "fail" if "fail" in st else "pass" if st else "n/a")
    return rows, summary


def print_text(rep, rows, summary):
    print("Goals of %s run of %s (%d rounds%s); pass = the median of the per-round ratios meets the goal and "
          "the worst round reaches 80%% of it" % (rep.rep["mode"], rep.rep["date"], rep.rounds,
                                                   "" if rep.rounds >= MIN_ROUNDS else
                                                   ", fewer than %d: indicative only" % MIN_ROUNDS))
    fmt = "%-3s %-6s %-36s %-8s %-22s %-12s %s"
    print(fmt % ("id", "backend", "measure", "size", "median [min-max]", "goal", "result"))
    for r in rows:
        goal = "%s %g" % (r.op, r.goal) + (" (%g)" % r.target if r.target is not None else "")
        result = r.status
        if r.target_met is not None:
            result += ", target %s" % ("met" if r.target_met else "missed")
        if r.note:
            result += "  (%s)" % r.note
        span = "%s [%s-%s]" % (num(r.med), num(r.min), num(r.max)) if r.med is not None else "-"
        print(fmt % (r.gid, r.backend, r.what, size_text(r.size) if r.size else "64 B rtt", span, goal, result))
    print("\nSummary: " + ", ".join("%s %s" % (k, v) for k, v in summary.items()))


def print_markdown(rep, rows, summary):
    print("| goal | backend | measure | size | median (min–max) | goal | result |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        goal = "%s %g" % ("≥" if r.op == ">=" else "≤", r.goal)
        if r.target is not None:
            goal += " (target %g)" % r.target
        span = "%s (%s–%s)" % (num(r.med), num(r.min), num(r.max)) if r.med is not None else "–"
        result = r.status + (", " + r.note if r.note and r.status == "error" else "")
        print("| %s | %s | %s | %s | %s | %s | %s |" % (r.gid, r.backend, r.what,
                                                        size_text(r.size) if r.size else "64 B round trip",
                                                        span, goal, result))
    print()
    print("Summary (%d rounds%s): %s." % (rep.rounds, "" if rep.rounds >= MIN_ROUNDS else ", indicative only",
                                          ", ".join("%s %s" % (k, v) for k, v in summary.items())))


def main():
    args = sys.argv[1:]
    markdown = "--markdown" in args
    args = [a for a in args if a != "--markdown"]
    if len(args) != 1 or args[0].startswith("-"):
        die("usage: bench-check.py [--markdown] REPORT.json")
    raw = load(args[0], PROG)
    rep = Report(raw)
    rows, summary = check(rep)
    (print_markdown if markdown else print_text)(rep, rows, summary)
    sys.exit(0 if all(v == "pass" for v in summary.values()) else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Markdown tables from a `shbuf bench --json` report, for docs/benchmarks.md.

Usage: scripts/bench-tables.py REPORT.json

Prints three tables: messages per second (and GB/s from 4 KiB on) per
transport and message size; how many times the messages per second of
libshbuf's copying API each other transport's are, per size (the median of
the per-round ratios; "a–b" when the backends differ); and the 64-byte
round trips. Goals are not judged here (scripts/bench-check.py does).

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import sys

from bench_report import load, median, size_text


def rate(v):
    if v is None:
        return "–"
    if v >= 1e6:
        return "%.3g M" % (v / 1e6)
    if v >= 1e3:
        return "%.3g k" % (v / 1e3)
    return "%.3g" % v


def num(v):
    if v is None:
        return "–"
    return "%.0f" % v if v >= 1000 else "%.3g" % v


def times(v):
    return "%.0f" % v if v >= 10 else "%.2g" % v


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench-tables.py REPORT.json")
    rep = load(sys.argv[1], "bench-tables")

    tp = {(m["name"], m["size"]): m for m in rep["throughput"]}
    names = list(dict.fromkeys(m["name"] for m in rep["throughput"]))
    sizes = rep["params"]["sizes"]

    if names:
        print("| transport | " + " | ".join(size_text(s) for s in sizes) + " |")
        print("|---|" + "---|" * len(sizes))
        for n in names:
            cells = []
            for s in sizes:
                m = tp.get((n, s))
                if not m or m.get("error"):
                    cells.append("error" if m else "")
                    continue
                cell = rate(m["msgs_per_s"]["median"])
                if s >= 4096:
                    cell += " (%s GB/s)" % num(m["gb_per_s"]["median"])
                cells.append(cell)
            print("| %s | %s |" % (n, " | ".join(cells)))
        print()

        # libshbuf's copying API against each of the others.
        mine = ["shbuf-%s" % b for b in rep["backends"]]
        print("| libshbuf (copying API) ÷ | " + " | ".join(size_text(s) for s in sizes) + " |")
        print("|---|" + "---|" * len(sizes))
        for n in names:
            if n.startswith("shbuf"):
                continue
            cells = []
            for s in sizes:
                base = tp.get((n, s))
                ratios = []
                for c in mine:
                    m = tp.get((c, s))
                    if not m or not base or m.get("error") or base.get("error"):
                        continue
                    per = [a / b if a is not None and b else None
                           for a, b in zip(m["msgs_per_s"]["rounds"], base["msgs_per_s"]["rounds"])]
                    r = median(per)
                    if r is not None:
                        ratios.append(r)
                if not ratios:
                    cells.append("–")
                elif times(min(ratios)) == times(max(ratios)):
                    cells.append(times(ratios[0]) + "×")
                else:
                    cells.append("%s–%s×" % (times(min(ratios)), times(max(ratios))))
            print("| %s | %s |" % (n, " | ".join(cells)))
        print()

    if rep["latency"]:
        print("| %d-byte round trip | median µs | p99 µs | p99.9 µs |" % rep["params"]["round_trip_bytes"])
        print("|---|---|---|---|")
        for m in rep["latency"]:
            if m.get("error"):
                print("| %s | error | | |" % m["name"])
                continue
            print("| %s | %s | %s | %s |" % (m["name"], num(m["median_us"]["median"]), num(m["p99_us"]["median"]),
                                             num(m["p999_us"]["median"])))
        print()

    for s in rep.get("skipped", []):
        print("Not measured: %s (%s)." % (s["name"], s["reason"]))


if __name__ == "__main__":
    main()

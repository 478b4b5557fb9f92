#!/usr/bin/env python3
"""Markdown tables from a `shbuf bench --json` report, for docs/benchmarks.md.

Usage: scripts/bench-tables.py REPORT.json

Prints the measurements (median and min-max over the timed rounds, with the
worse side's system calls and context switches per MiB for streams), then
the goal rows as the benchmark judged them, then the summary line.

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import json
import sys


def num(v):
    """Three significant digits, integers from 1000 up; '-' when unmeasured."""
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return "%d" % round(v)
    return "%.3g" % v


def span(s):
    return "%s–%s" % (num(s["min"]), num(s["max"]))


def worse_side(m, key):
    meds = [m[side][key]["median"] for side in ("producer", "consumer") if m.get(side)]
    meds = [v for v in meds if v is not None]
    return max(meds) if meds else None


def measurements(rep):
    print("| measurement | unit | median | min–max | syscalls/MiB | ctx switches/MiB |")
    print("|---|---|---|---|---|---|")
    for m in rep["measurements"]:
        v = m["value"]
        if m["kind"] == "stream":
            extra = "%s | %s" % (num(worse_side(m, "syscalls_per_mib")),
                                 num(worse_side(m, "context_switches_per_mib")))
        else:
            extra = "| "
        if m.get("error"):
            print("| %s | %s | error: %s | | |" % (m["name"], m["unit"], m["error"]))
            continue
        print("| %s | %s | %s | %s | %s |" % (m["name"], m["unit"], num(v["median"]), span(v), extra))


def goals(rep):
    print("| id | backend | candidate | baseline | metric | median | min–max | goal | result |")
    print("|---|---|---|---|---|---|---|---|---|")
    for g in rep["goals"]:
        v = g["value"]
        goal = "%s %s" % ("≥" if g["op"] == ">=" else "≤", num(g["goal"]))
        if g.get("target") is not None:
            goal += " (target %s)" % num(g["target"])
        result = g["status"]
        if g.get("target_met") is not None and g["status"] in ("pass", "fail"):
            result += ", target %s" % ("met" if g["target_met"] else "missed")
        if g.get("info"):
            result = "info (%s)" % g["status"]
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            g["id"], g["backend"], g.get("candidate") or "–", g.get("baseline") or "–", g["metric"],
            num(v["median"]) if v else "-", span(v) if v and v["median"] is not None else "-", goal,
            result))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench-tables.py REPORT.json")
    with open(sys.argv[1]) as f:
        rep = json.load(f)
    measurements(rep)
    print()
    goals(rep)
    print()
    print("Summary: " + ", ".join("%s %s" % (k, s) for k, s in rep["summary"].items()) + ".")


if __name__ == "__main__":
    main()

"""What the bench scripts share: reading a `shbuf bench --json` report and
the few helpers every one of them formats it with.

Imported by scripts/bench-check.py, scripts/bench-tables.py and
scripts/bench-plot.sh (which puts this folder on the path).

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import json
import math
import sys

FORMAT = 2


def load(path, prog):
    """The report at path; exits with status 2 and a message naming prog
    when it cannot be read or is not a report of this shbuf bench."""
    try:
        with open(path) as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        print("%s: cannot read %s: %s" % (prog, path, e), file=sys.stderr)
        sys.exit(2)
    if not isinstance(rep, dict) or rep.get("tool") != "shbuf bench" or rep.get("format") != FORMAT:
        print("%s: %s is not a report of this shbuf bench (format %d)" % (prog, path, FORMAT), file=sys.stderr)
        sys.exit(2)
    return rep


def size_text(n):
    """64 B, 4 KiB, 1 MiB."""
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return "%d MiB" % (n >> 20)
    if n >= 1024 and n % 1024 == 0:
        return "%d KiB" % (n >> 10)
    return "%d B" % n


def median(vals):
    """The median of the finite values, None when there are none."""
    vals = sorted(v for v in vals if v is not None and math.isfinite(v))
    if not vals:
        return None
    k = len(vals)
    return vals[k // 2] if k % 2 else (vals[k // 2 - 1] + vals[k // 2]) / 2

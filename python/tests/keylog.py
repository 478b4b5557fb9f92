"""The key log of the Python tests, for the leak check around the suite.

SPDX-License-Identifier: LGPL-2.1-or-later
"""

import os
from typing import Set

import shbuf

# Keys this process made buffers under.
keys_used: Set[int] = set()


def used(key: int) -> None:
    """Note a key a buffer was made under: for the test's own final check,
    and for the CTest leak check (tests/ipc-leak-check.sh), which looks once
    every test has finished under the keys in $SHBUF_TEST_LOG, and at the SysV
    data segments that the pids logged there made, and so also catches what a
    run killed by its time-out left behind."""
    keys_used.add(key)
    path = os.environ.get("SHBUF_TEST_LOG")
    if path:
        # One short write with O_APPEND: lines of parallel tests never mix.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, b"pid %d\nkey %d\n" % (os.getpid(), key))
        finally:
            os.close(fd)


def assert_none_left() -> None:
    """Fail if a buffer is still there under one of the keys used."""
    left = []
    for key in sorted(keys_used):
        try:
            b = shbuf.open(key)
        except FileNotFoundError:
            continue
        b.close()
        left.append(key)
    if left:
        raise AssertionError("buffers left behind under keys %s" % left)

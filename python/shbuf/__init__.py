# The package `shbuf`: the extension module shbuf._shbuf (shbufmodule.c,
# typed in _shbuf.pyi), re-exported, and the types of its values.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
from typing import Literal, TypedDict

from shbuf import _shbuf
from shbuf._shbuf import (
    DEFAULT_SIZE,
    VERSION_NUMBER,
    Buffer,
    backends,
    create,
    default_backend,
    open,
)
from shbuf._shbuf import __version__ as __version__

#: A backend's name, as create() and open() take it.
BackendName = Literal["sysv", "posix"]


class Status(TypedDict):
    """A snapshot of the shared status block, as Buffer.status() returns it."""

    read_idx: int
    length: int
    backlog: int
    backlog_target: int
    write_count: int
    read_count: int
    ignore_read_inc: bool
    ignore_write_inc: bool


__doc__ = _shbuf.__doc__
__all__ = [
    "DEFAULT_SIZE",
    "VERSION_NUMBER",
    "BackendName",
    "Buffer",
    "Status",
    "backends",
    "create",
    "default_backend",
    "open",
]

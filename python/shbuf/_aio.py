"""The coroutines behind Buffer.wait_async(), read_async() and write_async().

They wait on the buffer's select descriptor (Buffer.fileno()) with
loop.add_reader(): no thread and no polling. The descriptor becomes readable
when the other side commits after this side found nothing to do, when it
notifies, and when it goes away; Buffer.post_select() then drains it, or
raises BrokenPipeError for a peer that is gone.

SPDX-License-Identifier: LGPL-2.1-or-later
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Dict, Optional, Set, Tuple

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

    from shbuf import Buffer

# add_reader() keeps one callback per descriptor and loop, and a second call
# replaces the first. So every coroutine waiting on one descriptor in one loop
# (a read_async() and a write_async() on the same buffer, say) shares one
# registration: the futures to wake, under (loop, descriptor).
_Key = Tuple[asyncio.AbstractEventLoop, int]
_waiters: Dict[_Key, Set["asyncio.Future[bool]"]] = {}


def _wake(key: _Key) -> None:
    # Called by the loop when the descriptor is readable: wake every waiter
    # once. Each of them calls post_select(), which drains the descriptor.
    loop, fd = key
    loop.remove_reader(fd)
    for fut in _waiters.pop(key, ()):
        if not fut.done():
            fut.set_result(True)


def _time_out(fut: "asyncio.Future[bool]") -> None:
    if not fut.done():
        fut.set_result(False)


async def _readable(buf: Buffer, timeout: Optional[float]) -> bool:
    """True once buf's select descriptor is readable, False after timeout
    seconds; cancelling the caller removes the registration."""
    if timeout is not None and not timeout >= 0:
        raise ValueError("timeout must be a non-negative number or None")
    loop = asyncio.get_running_loop()
    fd = buf.fileno()  # starts the notifier on the first call
    key = (loop, fd)
    fut: asyncio.Future[bool] = loop.create_future()
    waiters = _waiters.get(key)
    if waiters is None:
        waiters = _waiters[key] = set()
        loop.add_reader(fd, _wake, key)
    waiters.add(fut)
    timer = None if timeout is None else loop.call_later(timeout, _time_out, fut)
    try:
        return await fut
    finally:
        if timer is not None:
            timer.cancel()
        waiters.discard(fut)
        if not waiters and _waiters.get(key) is waiters:
            del _waiters[key]
            loop.remove_reader(fd)


async def wait_async(buf: Buffer, timeout: Optional[float] = None) -> bool:
    buf.fileno()
    if not buf.connected:
        # The descriptor tells of a peer that goes away while it is watched,
        # not of one that had gone before; post_select() tells of both, as
        # wait() does. A provider whose client has not come yet waits.
        buf.post_select()
    woken = await _readable(buf, timeout)
    if woken:
        buf.post_select()  # BrokenPipeError when the other side is gone
    return woken


async def read_async(buf: Buffer, n: int = -1) -> bytes:
    # Notification goes on before the first look: a commit between a look
    # and fileno() would otherwise send no wake-up.
    buf.fileno()
    while True:
        data = buf.read(n)
        if data or n == 0:
            return data
        await wait_async(buf)


async def write_async(buf: Buffer, data: ReadableBuffer) -> None:
    buf.fileno()
    with memoryview(data) as view, view.cast("B") as rest:
        while rest:
            written = buf.write(rest)
            rest = rest[written:]
            if rest and not written:
                await wait_async(buf)

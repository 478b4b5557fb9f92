"""Every function, class, attribute and constant of shbuf, used once.

test_types.py checks this program with `mypy --strict` (against the package's
types, _shbuf.pyi and py.typed) and then runs it, so the types are those of
calls that work. The annotations state what each call gives back: mypy
fails if the package's types say otherwise.

SPDX-License-Identifier: LGPL-2.1-or-later
"""

import asyncio
import errno
import selectors
from typing import List, Optional

import shbuf
from keylog import assert_none_left, used


def module_level() -> None:
    version: str = shbuf.__version__
    number: int = shbuf.VERSION_NUMBER
    size: int = shbuf.DEFAULT_SIZE
    names: List[str] = shbuf.backends()
    default: str = shbuf.default_backend()
    assert version.count(".") == 2 and number > 0 and size > 0 and default in names


def copying(p: shbuf.Buffer, c: shbuf.Buffer) -> None:
    n: int = p.write(b"hello")
    n += p.write(bytearray(b", "))
    n += p.write(memoryview(b"world"))
    first: bytes = c.read(5)
    into = bytearray(2)
    got: int = c.readinto(into)
    rest: bytes = c.read()
    assert (n, first + into + rest, got) == (12, b"hello, world", 2)


def zero_copy(p: shbuf.Buffer, c: shbuf.Buffer) -> None:
    w: memoryview = p.write_view()
    w[:3] = b"abc"
    w.release()
    p.commit_write(3)
    r: memoryview = c.read_view()
    assert bytes(r) == b"abc"
    r.release()
    c.commit_read(3)
    empty: bool = c.is_empty()
    full: bool = p.is_full()
    assert empty and not full


def state(p: shbuf.Buffer, c: shbuf.Buffer) -> None:
    key: int = p.key
    size: int = p.size
    backend: str = p.backend
    provider: bool = p.is_provider
    connected: bool = c.connected
    closed: bool = c.closed
    assert key == c.key and size == 4096 and backend == c.backend
    assert provider and not c.is_provider and connected and not closed
    st: shbuf.Status = p.status()
    length: int = st["length"]
    ignored: bool = st["ignore_write_inc"]
    assert length == 0 and not ignored and st["read_idx"] >= 0 and st["backlog"] >= 0
    assert st["backlog_target"] >= 0 and st["write_count"] >= st["read_count"]
    assert not st["ignore_read_inc"]
    p.reset()
    p.reset(zero=True)
    p.access(0o600)
    p.set_spin(0)
    p.set_busy_spin(20)


def waiting(p: shbuf.Buffer, c: shbuf.Buffer) -> None:
    c.is_empty()
    woken: bool = c.wait(0.01)  # may be spurious
    p.notify()
    assert c.wait(timeout=5) and woken in (True, False)
    fd: int = c.fileno()
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        p.write(b"x")
        if sel.select(5):
            c.post_select()
    assert c.read() == b"x"


async def asynchronous(p: shbuf.Buffer, c: shbuf.Buffer) -> None:
    c.is_empty()
    woken: bool = await c.wait_async(timeout=0.01)
    await p.write_async(b"async")
    data: bytes = await c.read_async()
    more: bytes = await c.read_async(0)
    # A wake-up may be spurious: woken is True or False.
    assert woken in (True, False) and data == b"async" and more == b""


def errors(key: int) -> None:
    try:
        shbuf.open(key)
    except FileNotFoundError as e:
        code: Optional[int] = e.errno
        assert code == errno.ENOENT and getattr(e, "key") == key


def main() -> None:
    module_level()
    backend: shbuf.BackendName = "posix" if shbuf.default_backend() == "posix" else "sysv"
    with shbuf.create(0, 4096, None, 0o600) as p:
        used(p.key)
        c = shbuf.open(p.key, backend=None)
        with c:
            copying(p, c)
            zero_copy(p, c)
            state(p, c)
            waiting(p, c)
            asyncio.run(asynchronous(p, c))
        c.close()
    errors(p.key)
    named = shbuf.create(size=100, backend=backend, mode=0o640, key=0)
    used(named.key)
    named.close()
    assert named.closed
    assert_none_left()
    print("typing_check: every call worked")


if __name__ == "__main__":
    main()

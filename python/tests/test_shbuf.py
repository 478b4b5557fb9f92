"""Tests of the Python module shbuf, run once per backend by CTest.

The environment names the backend under test (SHBUF_BACKEND) and the C peer
used for the cross-language tests (SHBUF_C_PEER). Every buffer is made with
an automatic key (or a key just freed by this process) and closed in a
cleanup, and the module checks at the end that none of the keys it used is
still in the system.
"""

import asyncio
import errno
import gc
import importlib.metadata
import os
import re
import resource
import selectors
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import unittest

import shbuf
from keylog import assert_none_left, used

BACKEND = os.environ.get("SHBUF_BACKEND") or shbuf.default_backend()
C_PEER = os.environ.get("SHBUF_C_PEER")

# Same generator as c_peer.c: a pseudo-random table whose length is prime.
PATTERN_LEN = 65521
STREAM_BYTES = 64 * 1024 * 1024
STREAM_RING = 1024 * 1024


def pattern(seed):
    x = (seed * 2654435761 + 1) & 0xFFFFFFFF
    out = bytearray(PATTERN_LEN)
    for i in range(PATTERN_LEN):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x >> 24
    return bytes(out)


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def tearDownModule():
    assert_none_left()


class Base(unittest.TestCase):
    def create(self, **kw):
        b = shbuf.create(**kw)
        used(b.key)
        self.addCleanup(b.close)
        return b

    def open(self, key, **kw):
        b = shbuf.open(key, **kw)
        self.addCleanup(b.close)
        return b

    def pair(self, size=4096):
        p = self.create(size=size)
        return p, self.open(p.key)

    def assertGone(self, key):
        with self.assertRaises(FileNotFoundError):
            shbuf.open(key).close()


class TestModule(Base):
    def test_keys_are_logged_for_the_leak_check(self):
        # What a killed run leaves is found only under the keys and pids
        # logged in $SHBUF_TEST_LOG (tests/ipc-leak-check.sh).
        log = "/tmp/shbuf-pytest-%d.log" % os.getpid()
        old = os.environ.get("SHBUF_TEST_LOG")
        os.environ["SHBUF_TEST_LOG"] = log
        try:
            b = self.create(size=100)
        finally:
            if old is None:
                del os.environ["SHBUF_TEST_LOG"]
            else:
                os.environ["SHBUF_TEST_LOG"] = old
        try:
            with open(log) as f:
                lines = f.read().splitlines()
        finally:
            os.unlink(log)
        self.assertIn("key %d" % b.key, lines)
        self.assertIn("pid %d" % os.getpid(), lines)
        if old:  # the suite's own log still gets it: log it there too
            used(b.key)

    def test_backends(self):
        names = shbuf.backends()
        self.assertIsInstance(names, list)
        self.assertIn(BACKEND, names)
        self.assertEqual(names[0], shbuf.default_backend())
        self.assertTrue(set(names) <= {"sysv", "posix"})

    def test_docstrings(self):
        for obj in (shbuf, shbuf.create, shbuf.open, shbuf.backends, shbuf.Buffer):
            self.assertTrue(obj.__doc__, obj)
        for name in ("close", "status", "write", "read", "readinto", "read_view", "write_view",
                     "commit_read", "commit_write", "wait", "notify", "fileno", "post_select",
                     "set_spin", "set_busy_spin", "wait_async", "read_async", "write_async",
                     "key", "size", "backend", "is_provider", "connected"):
            self.assertTrue(getattr(shbuf.Buffer, name).__doc__, name)

    def test_version_has_one_source(self):
        # The project's version is in the top CMakeLists.txt; both builds
        # take it from there (CMake itself, and setup.py for pip).
        m = re.match(r"(\d+)\.(\d+)\.(\d+)$", shbuf.__version__)
        self.assertTrue(m, shbuf.__version__)
        major, minor, patch = map(int, m.groups())
        self.assertEqual(shbuf.VERSION_NUMBER, major * 10000 + minor * 100 + patch)
        top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "CMakeLists.txt")
        if os.path.exists(top):
            with open(top) as f:
                project = re.search(r"project\(libshbuf\s+VERSION\s+([0-9.]+)", f.read())
            self.assertEqual(shbuf.__version__, project.group(1))
        if os.environ.get("SHBUF_PROJECT_VERSION"):
            self.assertEqual(shbuf.__version__, os.environ["SHBUF_PROJECT_VERSION"])
        # Installed by pip: the distribution says the same.
        try:
            dist = importlib.metadata.distribution("shbuf")
        except importlib.metadata.PackageNotFoundError:
            return
        init = os.path.realpath(str(dist.locate_file("shbuf/__init__.py")))
        if init == os.path.realpath(shbuf.__file__):
            self.assertEqual(dist.version, shbuf.__version__)

    def test_buffer_cannot_be_made_directly(self):
        with self.assertRaises(TypeError):
            shbuf.Buffer()


class TestLifetime(Base):
    def test_attributes(self):
        p = self.create(size=12345)
        self.assertGreater(p.key, 0)
        self.assertEqual(p.size, 12345)
        self.assertEqual(p.backend, BACKEND)
        self.assertTrue(p.is_provider)
        self.assertFalse(p.closed)
        self.assertIn(str(p.key), repr(p))
        c = self.open(p.key)
        self.assertEqual((c.key, c.size, c.backend), (p.key, 12345, BACKEND))
        self.assertFalse(c.is_provider)

    def test_default_size(self):
        self.assertEqual(self.create().size, shbuf.DEFAULT_SIZE)

    def test_named_backend(self):
        p = self.create(size=100, backend=BACKEND)
        self.assertEqual(p.backend, BACKEND)
        self.assertEqual(self.open(p.key, backend=BACKEND).backend, BACKEND)

    def test_explicit_key_and_exists(self):
        p = self.create(size=100)
        key = p.key
        p.close()
        self.assertGone(key)
        p = self.create(key=key, size=100)
        self.assertEqual(p.key, key)
        with self.assertRaises(FileExistsError) as cm:
            shbuf.create(key=key, size=100)
        self.assertEqual(cm.exception.errno, errno.EEXIST)
        self.assertEqual(cm.exception.key, key)
        self.assertIn(str(key), str(cm.exception))

    def test_open_missing(self):
        p = self.create(size=100)
        key = p.key
        p.close()
        with self.assertRaises(FileNotFoundError) as cm:
            shbuf.open(key)
        self.assertEqual(cm.exception.errno, errno.ENOENT)
        self.assertIn(str(key), str(cm.exception))
        self.assertEqual(cm.exception.key, key)

    def test_open_busy(self):
        p, c = self.pair()
        with self.assertRaises(OSError) as cm:
            shbuf.open(p.key)
        self.assertEqual(cm.exception.errno, errno.EBUSY)
        c.close()
        self.open(p.key)  # the client detached: a new one may attach

    def test_bad_arguments(self):
        for kw in ({"size": 0}, {"size": -1}, {"key": -1}, {"mode": 0o1000}, {"mode": -1},
                   {"backend": "nope"}):
            with self.assertRaises(ValueError, msg=kw):
                shbuf.create(**kw)
        with self.assertRaises(ValueError) as cm:
            shbuf.open(1, backend="nope")
        self.assertIn("nope", str(cm.exception))
        with self.assertRaises(TypeError):
            shbuf.open("1")
        with self.assertRaises(TypeError):
            shbuf.create(size="big")
        with self.assertRaises(ValueError):
            shbuf.open(-5)

    def test_context_manager(self):
        with shbuf.create(size=100) as p:
            used(p.key)
            self.assertFalse(p.closed)
            with shbuf.open(p.key) as c:
                self.assertTrue(c.connected)
            self.assertTrue(c.closed)
        self.assertTrue(p.closed)
        self.assertGone(p.key)
        with self.assertRaises(ValueError):
            with p:
                pass

    def test_closed_buffer(self):
        p = self.create(size=100)
        key = p.key
        p.close()
        p.close()  # harmless
        self.assertTrue(p.closed)
        self.assertEqual((p.key, p.size, p.backend), (key, 100, BACKEND))
        self.assertIn("closed", repr(p))
        calls = [p.status, p.read, p.read_view, p.write_view, p.wait, p.notify, p.fileno,
                 p.post_select, p.is_empty, p.is_full, p.reset, lambda: p.write(b"x"),
                 lambda: p.readinto(bytearray(1)), lambda: p.commit_read(0),
                 lambda: p.commit_write(0), lambda: p.access(0o600), lambda: p.connected,
                 lambda: p.set_spin(0), lambda: p.set_busy_spin(0)]
        for call in calls:
            with self.assertRaises(ValueError):
                call()

    def test_client_close_keeps_buffer(self):
        p, c = self.pair()
        p.write(b"kept")
        c.close()
        self.assertFalse(p.connected)
        with self.open(p.key) as c2:
            self.assertEqual(c2.read(), b"kept")

    def test_unclosed_warns(self):
        p = shbuf.create(size=100)
        key = p.key
        used(key)
        with self.assertWarns(ResourceWarning):
            del p
            gc.collect()
        self.assertGone(key)

    @unittest.skipUnless(hasattr(os, "fork"), "needs fork()")
    def test_fork_child_refuses_handle(self):
        p = self.create(size=100)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                p.write(b"x")
            except RuntimeError:
                code = 0
            except BaseException:
                code = 2
            p.close()  # must not remove the parent's buffer
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertEqual(p.write(b"y"), 1)  # still there, still ours
        self.open(p.key)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to switch to another user")
    def test_permission_error(self):
        p = self.create(size=100, mode=0o600)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            result = b"?"
            try:
                os.setgid(65534)
                os.setuid(65534)
                shbuf.open(p.key)
                result = b"opened"
            except PermissionError as e:
                result = b"PermissionError %d %s" % (e.errno, str(e).encode())
            except BaseException as e:
                result = repr(e).encode()
            os.write(w, result)
            os._exit(0)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            result = f.read().decode()
        os.waitpid(pid, 0)
        self.assertTrue(result.startswith("PermissionError %d" % errno.EACCES), result)
        self.assertIn(str(p.key), result)


class TestIO(Base):
    def test_status(self):
        p, c = self.pair(size=100)
        st = p.status()
        self.assertEqual(set(st), {"read_idx", "length", "backlog", "backlog_target", "write_count",
                                   "read_count", "ignore_read_inc", "ignore_write_inc"})
        self.assertEqual((st["length"], st["write_count"], st["read_count"]), (0, 0, 0))
        self.assertEqual(p.write(b"0123456789"), 10)
        st = c.status()
        self.assertEqual((st["read_idx"], st["length"], st["write_count"]), (0, 10, 1))
        self.assertEqual(c.read(4), b"0123")
        st = p.status()
        self.assertEqual((st["read_idx"], st["length"], st["read_count"]), (4, 6, 1))
        self.assertIs(st["ignore_read_inc"], False)

    def test_connected(self):
        p = self.create(size=100)
        self.assertFalse(p.connected)
        c = self.open(p.key)
        self.assertTrue(p.connected)
        self.assertTrue(c.connected)
        c.close()
        self.assertFalse(p.connected)

    def test_write_read(self):
        p, c = self.pair(size=100)
        self.assertTrue(c.is_empty())
        self.assertEqual(c.read(), b"")
        self.assertEqual(p.write(b""), 0)
        self.assertEqual(p.write(b"a" * 70), 70)
        self.assertEqual(p.write(bytearray(b"b" * 50)), 30)  # only 30 fit
        self.assertTrue(p.is_full())
        self.assertEqual(p.write(b"c"), 0)
        self.assertEqual(c.read(60), b"a" * 60)
        self.assertEqual(c.read(), b"a" * 10 + b"b" * 30)
        # Across the wrap: the ring's read index is now 0 after exactly S bytes;
        # make it wrap in the middle.
        self.assertEqual(p.write(b"x" * 70), 70)
        self.assertEqual(c.read(70), b"x" * 70)
        data = bytes(range(60))
        self.assertEqual(p.write(memoryview(data)), 60)
        self.assertEqual(c.read(1000), data)
        with self.assertRaises(TypeError):
            p.write("text")
        with self.assertRaises(TypeError):
            c.read("3")

    def test_readinto(self):
        p, c = self.pair(size=100)
        p.write(b"hello world")
        buf = bytearray(5)
        self.assertEqual(c.readinto(buf), 5)
        self.assertEqual(buf, b"hello")
        big = bytearray(100)
        self.assertEqual(c.readinto(memoryview(big)[10:]), 6)
        self.assertEqual(big[10:16], b" world")
        self.assertEqual(c.readinto(big), 0)
        with self.assertRaises(TypeError):
            c.readinto(b"read-only")

    def test_large_copies_release_gil(self):
        # Copies above the no-GIL threshold take the other code path.
        p, c = self.pair(size=1 << 20)
        data = os.urandom(1 << 20)
        self.assertEqual(p.write(data), len(data))
        self.assertEqual(c.read(), data)
        self.assertEqual(p.write(data), len(data))
        out = bytearray(len(data))
        self.assertEqual(c.readinto(out), len(data))
        self.assertEqual(out, data)

    def test_views(self):
        p, c = self.pair(size=100)
        w = p.write_view()
        self.assertEqual(len(w), 100)
        self.assertFalse(w.readonly)
        w[:5] = b"abcde"
        p.commit_write(5)
        r = c.read_view()
        self.assertTrue(r.readonly)
        self.assertEqual(bytes(r), b"abcde")
        with self.assertRaises(TypeError):
            r[0] = 1
        c.commit_read(2)
        self.assertEqual(bytes(c.read_view()), b"cde")
        self.assertEqual(len(p.write_view()), 95)
        with self.assertRaises(ValueError):
            c.commit_read(4)
        with self.assertRaises(ValueError):
            p.commit_write(98)  # 97 bytes are free, across the wrap
        with self.assertRaises(ValueError):
            p.commit_write(-1)
        c.commit_read(3)
        self.assertEqual(len(c.read_view()), 0)
        # Read index 5, empty: the free space runs to the ring's end, then wraps.
        w = p.write_view()
        self.assertEqual(len(w), 95)
        w[:] = b"z" * 95
        p.commit_write(95)
        w = p.write_view()
        self.assertEqual(len(w), 5)  # the rest, at the start of the ring
        w[:] = b"12345"
        p.commit_write(5)
        self.assertTrue(p.is_full())
        self.assertEqual(len(p.write_view()), 0)
        r = c.read_view()
        self.assertEqual(bytes(r), b"z" * 95)  # up to the ring's end only
        c.commit_read(95)
        self.assertEqual(bytes(c.read_view()), b"12345")

    def test_view_after_close_raises(self):
        p, c = self.pair(size=100)
        p.write(b"data")
        r = c.read_view()
        w = c.write_view()
        c.close()
        with self.assertRaises(ValueError):
            r[0]
        with self.assertRaises(ValueError):
            bytes(w)
        with self.assertRaises(ValueError):
            w[0] = 1
        # The provider's own views, through a with block.
        with self.assertRaises(ValueError):
            with p:
                v = p.write_view()
            v.tobytes()

    def test_close_refused_while_memory_is_exported(self):
        p = self.create(size=100)
        w = p.write_view()
        part = w[10:20]  # shares w's export, so releasing w does not free it
        with self.assertRaises(BufferError):
            p.close()
        self.assertFalse(p.closed)
        with self.assertRaises(ValueError):
            w[0]  # the view handed out was released anyway
        part[:] = b"x" * 10  # the slice still works: the memory is still there
        p.commit_write(20)
        del part
        p.close()
        self.assertTrue(p.closed)

    def test_close_refused_for_derived_memoryview(self):
        p = self.create(size=100)
        exported = memoryview(p.write_view().obj)  # a second export of the same region
        with self.assertRaises(BufferError):
            p.close()
        exported.release()
        p.close()
        self.assertGone(p.key)

    def test_reset_zero_access(self):
        p, c = self.pair(size=100)
        p.write(b"abc")
        p.reset()
        self.assertTrue(c.is_empty())
        self.assertEqual(p.status()["write_count"], 1)
        p.write(b"abc")
        c.read()
        p.reset(zero=True)
        self.assertEqual(bytes(p.write_view()), bytes(100))
        p.access(0o640)
        with self.assertRaises(ValueError):
            p.access(-1)


class TestWaiting(Base):
    def test_wait_timeout(self):
        p, c = self.pair()
        p.is_empty()  # this thread has looked at the status
        t = time.monotonic()
        self.assertFalse(p.wait(0.2))
        self.assertGreaterEqual(time.monotonic() - t, 0.19)
        self.assertFalse(p.wait(0))
        with self.assertRaises(ValueError):
            p.wait(-1)
        with self.assertRaises(TypeError):
            p.wait("1")
        c.write(b"x")
        self.assertTrue(p.wait(5))

    def waiter(self, buf, timeout=5, until_error=False):
        result = {}

        def run():
            buf.is_empty()
            ready.set()
            try:
                result["value"] = buf.wait(timeout)
                while until_error:  # wake-ups may be spurious
                    buf.wait(timeout)
            except BaseException as e:
                result["error"] = e

        ready = threading.Event()
        t = threading.Thread(target=run)
        t.start()
        ready.wait(5)  # not forever if the thread failed before it
        time.sleep(0.05)  # let it block
        return t, result

    def test_wait_woken_by_write(self):
        p, c = self.pair()
        t, result = self.waiter(c)
        start = time.monotonic()
        p.write(b"wake")  # runs while the other thread waits: the GIL is free
        t.join(5)
        self.assertEqual(result, {"value": True})
        self.assertLess(time.monotonic() - start, 2)

    def test_notify(self):
        p, c = self.pair()
        t, result = self.waiter(p)
        c.notify()
        t.join(5)
        self.assertEqual(result, {"value": True})

    def test_broken_pipe(self):
        p, c = self.pair()
        t, result = self.waiter(c, until_error=True)
        key = p.key
        p.close()
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertIsInstance(result.get("error"), BrokenPipeError)
        self.assertIn(str(key), str(result["error"]))
        c.is_empty()  # this thread has looked, so its wait does not return at once
        with self.assertRaises(BrokenPipeError):
            c.wait(1)

    def test_close_while_another_thread_waits(self):
        p, c = self.pair()
        t, result = self.waiter(p, timeout=0.5)
        p.close()  # returns at once; the handle goes when the wait returns
        self.assertTrue(p.closed)
        t.join(5)
        self.assertIsInstance(result.get("error"), ValueError)
        self.assertGone(p.key)

    def interrupt_wait(self, buf, sig):
        class Alarm(Exception):
            pass

        def handler(signum, frame):
            raise Alarm()

        old = signal.signal(sig, handler)
        try:
            timer = threading.Timer(0.2, os.kill, (os.getpid(), sig))
            timer.start()
            start = time.monotonic()
            with self.assertRaises(Alarm):
                buf.wait()
            self.assertLess(time.monotonic() - start, 5)
            timer.join()
        finally:
            signal.signal(sig, old)

    def test_wait_interrupted_by_signal(self):
        p, c = self.pair()
        p.is_empty()
        self.interrupt_wait(p, signal.SIGUSR1)

    def test_wait_interrupted_by_signal_with_notifier(self):
        p, c = self.pair()
        p.fileno()
        p.is_empty()
        self.interrupt_wait(p, signal.SIGUSR1)

    def test_keyboard_interrupt(self):
        p, c = self.pair()
        p.is_empty()
        timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        with self.assertRaises(KeyboardInterrupt):
            p.wait()
        timer.join()

    def test_wait_survives_signal_without_exception(self):
        p, c = self.pair()
        p.is_empty()
        seen = []
        old = signal.signal(signal.SIGUSR1, lambda s, f: seen.append(s))
        try:
            threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGUSR1)).start()
            threading.Timer(0.4, c.notify).start()
            self.assertTrue(p.wait(5))
            self.assertEqual(seen, [signal.SIGUSR1])
        finally:
            signal.signal(signal.SIGUSR1, old)

    def test_set_spin_arguments(self):
        p, c = self.pair()
        for name in ("set_spin", "set_busy_spin"):
            for buf in (p, c):
                setter = getattr(buf, name)
                for usec in (0, 50, 100000, True):
                    self.assertIsNone(setter(usec), (name, usec))
                # 2**32 would wrap to 0 in the C unsigned, 2**32 + 1 to 1.
                for usec in (-1, 100001, 2**32, 2**32 + 1):
                    with self.assertRaises(ValueError, msg=(name, usec)) as cm:
                        setter(usec)
                    self.assertIn(str(usec), str(cm.exception))
                    if usec < 0:
                        self.assertIn("negative", str(cm.exception))
                with self.assertRaises(OverflowError, msg=name):
                    setter(2**64)
                for usec in (1.0, "1", None, b"1"):
                    with self.assertRaises(TypeError, msg=(name, usec)):
                        setter(usec)
                with self.assertRaises(TypeError, msg=name):
                    setter()
        c.close()
        for setter in (c.set_spin, c.set_busy_spin):
            with self.assertRaises(ValueError) as cm:
                setter(10)
            self.assertIn("closed", str(cm.exception))

    def idle_wait_cost(self, buf, timeout=0.3):
        # What a wait that times out costs this thread: CPU time, and the
        # times it was switched out involuntarily. A spin holds its CPU
        # (CPU time), or, when the peer last ran on this CPU (here: the
        # same thread), yields it at every turn, which on a loaded machine
        # shows as involuntary switches instead; a sleep shows as neither.
        buf.is_empty()  # a look at both directions: the wait is for either
        def now():
            ru = resource.getrusage(resource.RUSAGE_THREAD)
            return time.thread_time(), ru.ru_nivcsw
        cpu0, inv0 = now()
        self.assertFalse(buf.wait(timeout))
        cpu1, inv1 = now()
        return cpu1 - cpu0, inv1 - inv0

    def assertSpins(self, buf, tries=3):
        # The spins below last 100 ms: a tenth of a CPU or a few yields
        # that let another task run show it; the best of a few tries counts.
        costs = [self.idle_wait_cost(buf) for _ in range(tries)]
        self.assertTrue(any(cpu > 0.01 or switched >= 3 for cpu, switched in costs),
                        "no spin in (CPU s, involuntary switches) %r" % costs)

    def assertSleeps(self, buf, tries=3):
        costs = [self.idle_wait_cost(buf) for _ in range(tries)]
        self.assertTrue(any(cpu < 0.004 and switched <= 1 for cpu, switched in costs),
                        "spun in (CPU s, involuntary switches) %r" % costs)

    def test_set_spin_spins_before_sleeping(self):
        # Even an idle peer gets the unconditional spin (100 ms here) before
        # the wait sleeps; 0 turns it off again.
        p, c = self.pair()
        c.set_spin(100000)
        self.assertSpins(c)
        c.set_spin(0)
        self.assertSleeps(c)
        c.set_busy_spin(100000)  # never spins for an idle peer
        self.assertSleeps(c)

    def test_set_busy_spin_spins_for_a_transfer_under_way(self):
        p, c = self.pair()
        c.set_spin(0)  # whatever SHBUF_SPIN_US says: only the busy spin counts here
        w = p.write_view()  # the provider's write is under way until it commits
        c.set_busy_spin(100000)
        self.assertSpins(c)
        c.set_busy_spin(0)
        self.assertSleeps(c)
        w[:4] = b"done"
        p.commit_write(4)
        self.assertTrue(c.wait(5))
        self.assertEqual(c.read(), b"done")

    def test_wait_woken_by_write_with_spin(self):
        for spin, busy_spin in ((100000, 100000), (100000, 0), (0, 100000), (50, 20)):
            p, c = self.pair()
            c.set_spin(spin)
            c.set_busy_spin(busy_spin)
            t, result = self.waiter(c)
            start = time.monotonic()
            p.write(b"wake")
            t.join(5)
            self.assertEqual(result, {"value": True}, (spin, busy_spin))
            self.assertLess(time.monotonic() - start, 2)
            self.assertEqual(c.read(), b"wake")
            p.close()
            c.close()

    def drain(self, buf, sel):
        # Wake-ups may be spurious (shbuf.open() itself notifies the
        # provider): consume them until the descriptor stays quiet.
        for _ in range(20):
            if not sel.select(0.2):
                return
            buf.post_select()
        self.fail("the select descriptor never goes quiet")

    def test_selectors(self):
        p, c = self.pair()
        fd = p.fileno()
        self.assertIsInstance(fd, int)
        self.assertEqual(p.fileno(), fd)
        with selectors.DefaultSelector() as sel:
            sel.register(p, selectors.EVENT_READ)
            self.drain(p, sel)
            self.assertEqual(sel.select(0.1), [])
            c.write(b"ping")
            events = sel.select(5)
            self.assertEqual([k.fileobj for k, _ in events], [p])
            p.post_select()
            self.assertEqual(p.read(), b"ping")
            self.drain(p, sel)
            c.close()
            self.assertEqual(len(sel.select(5)), 1)
            with self.assertRaises(BrokenPipeError):
                p.post_select()
            self.assertEqual(len(sel.select(0)), 1)  # it stays readable

    def test_post_select_needs_fileno(self):
        p = self.create(size=100)
        with self.assertRaises(ValueError):
            p.post_select()

    def test_asyncio_add_reader(self):
        p, c = self.pair()

        async def main():
            loop = asyncio.get_running_loop()
            got = loop.create_future()

            def readable():
                p.post_select()
                data = p.read()
                if data and not got.done():
                    got.set_result(data)

            loop.add_reader(p.fileno(), readable)
            try:
                loop.call_later(0.05, c.write, b"async")
                return await asyncio.wait_for(got, 5)
            finally:
                loop.remove_reader(p.fileno())

        self.assertEqual(asyncio.run(main()), b"async")


@unittest.skipUnless(C_PEER and os.access(C_PEER, os.X_OK), "SHBUF_C_PEER does not name the C peer")
class TestCrossLanguage(Base):
    """64 MiB through a 1 MiB ring between this process and the C peer."""

    SEED = 20240611

    @classmethod
    def setUpClass(cls):
        table = pattern(cls.SEED)
        cls.big = table * (STREAM_RING // PATTERN_LEN + 2)

    def expected(self, off, n):
        s = off % PATTERN_LEN
        return memoryview(self.big)[s:s + n]

    def py_write(self, buf, zero_copy):
        off, deadline = 0, time.monotonic() + 50
        while off < STREAM_BYTES:
            if zero_copy:
                v = buf.write_view()
                n = min(len(v), STREAM_BYTES - off)
                if n:
                    v[:n] = self.expected(off, n)
                    buf.commit_write(n)
                v.release()
            else:
                n = buf.write(self.expected(off, min(STREAM_RING, STREAM_BYTES - off)))
            off += n
            if n == 0:
                buf.wait(1)
                self.assertLess(time.monotonic(), deadline, "writer stalled at %d" % off)

    def py_read(self, buf, zero_copy):
        off, deadline = 0, time.monotonic() + 50
        chunk = bytearray(STREAM_RING)
        while off < STREAM_BYTES:
            if zero_copy:
                v = buf.read_view()
                n = min(len(v), STREAM_BYTES - off)
                ok = v[:n].tobytes() == self.expected(off, n)
                v.release()
                if n:
                    buf.commit_read(n)
            else:
                n = buf.readinto(memoryview(chunk)[:STREAM_BYTES - off])
                ok = chunk[:n] == self.expected(off, n)
            self.assertTrue(ok, "wrong data in %d bytes at offset %d" % (n, off))
            off += n
            if n == 0:
                buf.wait(1)
                self.assertLess(time.monotonic(), deadline, "reader stalled at %d" % off)
        self.assertTrue(buf.is_empty())

    def run_peer(self, *args):
        proc = subprocess.Popen([C_PEER, *map(str, args)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(self.stop_peer, proc)
        return proc

    def stop_peer(self, proc):
        # SIGTERM lets the peer free its buffer; SIGKILL only if it hangs.
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def finish(self, proc):
        try:
            proc.wait(60)
        finally:
            err = proc.stderr.read().decode(errors="replace")
        self.assertEqual(proc.returncode, 0, err)

    def stream(self, buf, proc, py_writes, zero_copy):
        try:
            (self.py_write if py_writes else self.py_read)(buf, zero_copy)
        except Exception as e:
            buf.close()  # the peer hears of it and gives up
            self.stop_peer(proc)
            err = proc.stderr.read().decode(errors="replace").strip()
            raise AssertionError("%s; c_peer said: %s" % (e, err or "nothing")) from e
        except BaseException:
            buf.close()
            self.stop_peer(proc)
            raise
        self.finish(proc)

    def python_provider(self, py_writes, zero_copy):
        with shbuf.create(size=STREAM_RING) as buf:
            used(buf.key)
            proc = self.run_peer("open", buf.key, "read" if py_writes else "write", STREAM_BYTES,
                                 self.SEED)
            self.stream(buf, proc, py_writes, zero_copy)

    def c_provider(self, py_writes, zero_copy):
        proc = self.run_peer("create", STREAM_RING, "read" if py_writes else "write", STREAM_BYTES,
                             self.SEED)
        line = proc.stdout.readline()
        if not line:
            proc.wait(10)
            self.fail("c_peer made no buffer: " + proc.stderr.read().decode(errors="replace"))
        key = int(line)
        used(key)
        with shbuf.open(key) as buf:
            self.assertEqual(buf.backend, BACKEND)
            self.stream(buf, proc, py_writes, zero_copy)

    def test_python_provider_writes_c_client_reads(self):
        self.python_provider(py_writes=True, zero_copy=False)

    def test_python_provider_reads_c_client_writes(self):
        self.python_provider(py_writes=False, zero_copy=True)

    def test_c_provider_writes_python_client_reads(self):
        self.c_provider(py_writes=False, zero_copy=False)

    def test_c_provider_reads_python_client_writes(self):
        self.c_provider(py_writes=True, zero_copy=True)

    def test_c_peer_detects_corruption(self):
        # The check above must be able to fail: a wrong seed is caught.
        with shbuf.create(size=STREAM_RING) as buf:
            used(buf.key)
            proc = self.run_peer("open", buf.key, "read", 1000, self.SEED + 1)
            buf.write(self.expected(0, 1000))
            proc.wait(30)
            self.assertEqual(proc.returncode, 1)
            self.assertIn(b"wrong byte at offset", proc.stderr.read())


class TestLeaks(Base):
    CYCLES = 10000

    def cycle(self, i, size, backend):
        b = shbuf.create(size=size, backend=backend)
        if i % 100 == 0:
            used(b.key)
            c = shbuf.open(b.key)
            b.write(b"abc")
            v = c.read_view()
            c.commit_read(len(v))
            b.status()
            b.fileno()
            c.close()
            with self.assertRaises(ValueError):
                v[0]
        b.close()

    def test_create_close_cycles(self):
        size = int("4096")  # a fresh object, whose count we can watch
        backend = BACKEND + ""
        for i in range(200):  # warm up caches and free lists
            self.cycle(i, size, backend)
        gc.collect()
        tracemalloc.start()
        try:
            fds = open_fds()
            objects = len(gc.get_objects())
            refs = (sys.getrefcount(size), sys.getrefcount(backend), sys.getrefcount(shbuf.Buffer))
            traced = tracemalloc.get_traced_memory()[0]
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            for i in range(self.CYCLES):
                self.cycle(i, size, backend)
            gc.collect()
            self.assertEqual(open_fds(), fds)
            self.assertLess(len(gc.get_objects()) - objects, 100)
            self.assertEqual((sys.getrefcount(size), sys.getrefcount(backend),
                              sys.getrefcount(shbuf.Buffer)), refs)
            self.assertLess(tracemalloc.get_traced_memory()[0] - traced, 64 * 1024)
            self.assertLess(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss, 16 * 1024)
        finally:
            tracemalloc.stop()


if __name__ == "__main__":
    unittest.main()

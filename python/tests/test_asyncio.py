"""Tests of the asyncio methods: wait_async(), read_async(), write_async().

In one process, and between two asyncio programs in separate processes
(examples/asyncio_stream.py) with a 64 MiB stream. Run once per backend
(SHBUF_BACKEND) like test_shbuf.py.
"""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

import shbuf
from keylog import assert_none_left, used

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
STREAM = os.path.join(EXAMPLES, "asyncio_stream.py")


def tearDownModule():
    assert_none_left()


class Base(unittest.TestCase):
    def pair(self, size=4096):
        p = shbuf.create(size=size)
        used(p.key)
        self.addCleanup(p.close)
        c = shbuf.open(p.key)
        self.addCleanup(c.close)
        return p, c

    def run_async(self, coro, timeout=30):
        async def bounded():
            return await asyncio.wait_for(coro, timeout)

        return asyncio.run(bounded())


class TestInProcess(Base):
    def test_stream(self):
        p, c = self.pair(size=4096)
        data = os.urandom(1 << 20)

        async def recv():
            out = bytearray()
            while len(out) < len(data):
                out += await c.read_async(len(data) - len(out))
            return bytes(out)

        async def main():
            return await asyncio.gather(p.write_async(data), recv())

        self.assertEqual(self.run_async(main()), [None, data])

    def test_two_waiters_on_one_descriptor(self):
        # add_reader() keeps one callback per descriptor: both coroutines
        # must still be woken, each once.
        p, c = self.pair()

        async def main():
            c.is_empty()
            asyncio.get_running_loop().call_later(0.05, p.write, b"both")
            woken = await asyncio.gather(c.wait_async(timeout=5), c.wait_async(timeout=5))
            return woken, await c.read_async()

        self.assertEqual(self.run_async(main()), ([True, True], b"both"))

    def test_write_async_takes_any_buffer(self):
        p, c = self.pair(size=64)
        import array
        data = array.array("i", range(100))  # items wider than a byte, more than the ring

        async def main():
            out = bytearray()

            async def recv():
                while len(out) < 400:
                    out.extend(await c.read_async())

            await asyncio.gather(p.write_async(data), recv())
            return bytes(out)

        self.assertEqual(self.run_async(main()), data.tobytes())

    def test_read_async_zero_and_arguments(self):
        p, c = self.pair()
        self.assertEqual(self.run_async(c.read_async(0)), b"")
        p.write(b"abcdef")
        self.assertEqual(self.run_async(c.read_async(2)), b"ab")
        self.assertEqual(self.run_async(c.read_async(n=-1)), b"cdef")
        with self.assertRaises(ValueError):
            self.run_async(c.wait_async(-1))
        with self.assertRaises(TypeError):
            self.run_async(p.write_async("text"))

    def test_wait_async_times_out_idle_without_cpu(self):
        # No thread and no busy loop: an idle wait costs next to no CPU.
        p, c = self.pair()
        c.is_empty()
        threads = threading.active_count()

        async def main():
            start = time.process_time()
            woken = await c.wait_async(timeout=0.5)
            return woken, time.process_time() - start, threading.active_count()

        woken, cpu, during = self.run_async(main())
        self.assertFalse(woken)
        self.assertLess(cpu, 0.1)
        self.assertEqual(during, threads)

    def test_wait_async_woken_by_commit_and_notify(self):
        p, c = self.pair()

        async def main():
            loop = asyncio.get_running_loop()
            c.is_empty()
            loop.call_later(0.05, p.write, b"x")
            first = await c.wait_async(timeout=5)
            loop.call_later(0.05, p.notify)
            c.read()
            second = await c.wait_async(timeout=5)
            return first, second

        self.assertEqual(self.run_async(main()), (True, True))

    def test_cancel(self):
        p, c = self.pair()

        async def main():
            loop = asyncio.get_running_loop()
            for coro in (c.wait_async(), c.read_async()):
                task = asyncio.ensure_future(coro)
                await asyncio.sleep(0.05)
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await task
                # The reader registration went with the task.
                self.assertFalse(loop.remove_reader(c.fileno()))
            # And the buffer still works.
            loop.call_later(0.05, p.write, b"after")
            return await c.read_async()

        self.assertEqual(self.run_async(main()), b"after")

    def test_cancel_write_async_leaves_a_prefix(self):
        p, c = self.pair(size=100)

        async def main():
            task = asyncio.ensure_future(p.write_async(b"y" * 1000))
            await asyncio.sleep(0.05)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task

        self.run_async(main())
        self.assertEqual(c.read(), b"y" * 100)

    def test_broken_pipe_while_waiting(self):
        for peer_leaves in ("provider", "client"):
            with self.subTest(peer_leaves):
                p, c = self.pair()
                waiter, leaver = (c, p) if peer_leaves == "provider" else (p, c)

                async def main():
                    asyncio.get_running_loop().call_later(0.05, leaver.close)
                    await waiter.read_async()

                with self.assertRaises(BrokenPipeError):
                    self.run_async(main())

    def test_broken_pipe_when_gone_before(self):
        # The peer left before this side ever enabled notification: the data
        # it wrote still comes, then BrokenPipeError, as wait() says.
        p, c = self.pair()
        p.write(b"last words")
        p.close()

        async def main():
            data = await c.read_async()
            with self.assertRaises(BrokenPipeError):
                await c.read_async()
            with self.assertRaises(BrokenPipeError):
                await c.write_async(b"x" * 5000)
            return data

        self.assertEqual(self.run_async(main()), b"last words")

    def test_provider_waits_for_its_first_client(self):
        p = shbuf.create(size=100)
        used(p.key)
        self.addCleanup(p.close)
        clients = []

        def attach():
            c = shbuf.open(p.key)
            clients.append(c)
            c.write(b"hello")

        async def main():
            asyncio.get_running_loop().call_later(0.2, attach)
            return await p.read_async()

        self.assertEqual(self.run_async(main()), b"hello")
        clients[0].close()

    def test_closed_buffer(self):
        p, c = self.pair()
        c.close()
        for coro in (c.wait_async(), c.read_async(), c.write_async(b"x")):
            with self.assertRaises(ValueError):
                self.run_async(coro)


class TestTwoPrograms(unittest.TestCase):
    """examples/asyncio_stream.py: a sender and a receiver, two processes."""

    def start_sender(self, nbytes, seed):
        proc = subprocess.Popen([sys.executable, STREAM, "send", str(nbytes), str(seed)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.stop, proc)
        line = proc.stdout.readline()
        if not line:
            proc.wait(10)
            self.fail("the sender made no buffer: " + proc.stderr.read())
        key = int(line)
        used(key)
        return proc, key

    def stop(self, proc):
        if proc.poll() is None:
            proc.terminate()  # the sender closes its buffer on SIGTERM
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for f in (proc.stdout, proc.stderr):
            if f:
                f.close()

    def test_64_mib_stream(self):
        total = 64 * 1024 * 1024
        sender, key = self.start_sender(total, 19)
        receiver = subprocess.run([sys.executable, STREAM, "receive", str(key)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertEqual(receiver.returncode, 0, receiver.stderr)
        sent_out, sent_err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 0, sent_err)
        self.assertRegex(receiver.stdout, r"^%d bytes sha256 [0-9a-f]{64}\n$" % total)
        self.assertEqual(receiver.stdout, sent_out)

    def test_receiver_hears_of_a_stopped_sender(self):
        # A stream too big for the ring and nobody reading: the sender waits
        # in write_async(), SIGTERM cancels it, it closes its buffer, and the
        # receiver gets the data that was there, then BrokenPipeError.
        sender, key = self.start_sender(64 * 1024 * 1024, 5)
        with shbuf.open(key) as buf:
            time.sleep(0.2)
            sender.send_signal(signal.SIGTERM)
            self.assertEqual(sender.wait(10), 1)
            self.assertIn("stopped by a signal", sender.stderr.read())

            async def drain():
                n = 0
                while True:
                    n += len(await buf.read_async())

            with self.assertRaises(BrokenPipeError):
                asyncio.run(asyncio.wait_for(drain(), 10))


if __name__ == "__main__":
    unittest.main()

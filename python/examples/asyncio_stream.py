#!/usr/bin/env python3
"""Stream bytes between two asyncio programs through a shared buffer.

    asyncio_stream.py send BYTES [SEED]   create a buffer, print its key on a
                                          line of stdout, send BYTES bytes
    asyncio_stream.py receive KEY         attach to KEY and receive them

The sender writes an 8-byte length, then BYTES pseudo-random bytes made from
SEED, with `await buf.write_async(...)`; the receiver reads with
`await buf.read_async(...)`. Neither blocks its event loop: both wait on the
buffer's select descriptor through loop.add_reader(). Each prints
"BYTES bytes sha256 HEX" at the end, so the two lines can be compared.

A side whose peer goes away gets BrokenPipeError and exits 1; SIGTERM or
SIGINT cancel the sender's task, which closes (and so removes) its buffer.
"""

import argparse
import asyncio
import hashlib
import random
import signal
import struct
import sys

import shbuf

CHUNK = 256 * 1024
HEADER = struct.Struct("<Q")


async def send(total: int, seed: int) -> int:
    rng = random.Random(seed)
    digest = hashlib.sha256()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with shbuf.create(size=1 << 20) as buf:
        print(buf.key, flush=True)  # the receiver's argument
        await buf.write_async(HEADER.pack(total))
        left = total
        while left:
            chunk = rng.randbytes(min(CHUNK, left))
            digest.update(chunk)
            await buf.write_async(chunk)
            left -= len(chunk)
        # Closing the provider's end removes the buffer: first let the
        # receiver take everything. It may close its end as soon as it has.
        while not buf.is_empty():
            try:
                await buf.wait_async()
            except BrokenPipeError:
                if not buf.is_empty():
                    raise
    print("%d bytes sha256 %s" % (total, digest.hexdigest()))
    return 0


async def receive(key: int) -> int:
    digest = hashlib.sha256()
    with shbuf.open(key) as buf:
        header = b""
        while len(header) < HEADER.size:
            header += await buf.read_async(HEADER.size - len(header))
        (total,) = HEADER.unpack(header)
        got = 0
        try:
            while got < total:
                data = await buf.read_async(min(CHUNK, total - got))
                digest.update(data)
                got += len(data)
        except BrokenPipeError:
            print("asyncio_stream: the sender went away after %d of %d bytes" % (got, total),
                  file=sys.stderr)
            return 1
    print("%d bytes sha256 %s" % (got, digest.hexdigest()))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_send = sub.add_parser("send")
    p_send.add_argument("bytes", type=int)
    p_send.add_argument("seed", type=int, nargs="?", default=1)
    p_receive = sub.add_parser("receive")
    p_receive.add_argument("key", type=int)
    args = parser.parse_args()
    try:
        if args.command == "send":
            return asyncio.run(send(args.bytes, args.seed))
        return asyncio.run(receive(args.key))
    except asyncio.CancelledError:
        print("asyncio_stream: stopped by a signal", file=sys.stderr)
        return 1
    except OSError as e:
        print("asyncio_stream: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

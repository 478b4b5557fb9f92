#!/usr/bin/env python3
"""Stream a file from Python to a C consumer through a shared buffer.

The provider is this Python program; the consumer is `shbuf cat`, a C
program that attaches by key and writes the stream to stdout. `shbuf cat`
frames its stream (a header of magic 0x31434253 and payload length, both
native uint32; an empty frame ends it) and each frame must be committed at
once, so a frame is written only when all of it fits.

    to_shbuf_cat.py INPUT OUTPUT [SHBUF_TOOL]
"""
import struct
import subprocess
import sys

import shbuf

MAGIC = 0x31434253


def main() -> int:
    src_path, out_path = sys.argv[1], sys.argv[2]
    tool = sys.argv[3] if len(sys.argv) > 3 else "shbuf"
    with shbuf.create(size=1 << 20) as buf, open(src_path, "rb") as src:
        with open(out_path, "wb") as out:
            consumer = subprocess.Popen([tool, "cat", "--key", str(buf.key)], stdout=out)
        while True:
            chunk = src.read(buf.size // 4)
            frame = struct.pack("=II", MAGIC, len(chunk)) + chunk
            # A frame goes in with one commit: wait until all of it fits.
            while buf.size - buf.status()["length"] < len(frame):
                buf.wait()  # sleeps until the consumer reads; BrokenPipeError if it died
            buf.write(frame)
            if not chunk:  # the empty frame ends the stream
                break
        while not buf.is_empty():  # let the consumer drain the ring
            buf.wait()
    return consumer.wait()


if __name__ == "__main__":
    sys.exit(main())

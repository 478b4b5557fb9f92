#!/usr/bin/env python3
"""Stream float32 audio blocks between two processes, zero copy, with NumPy.

    numpy_samples.py [BLOCKS]               the provider: starts the consumer
    numpy_samples.py --consume KEY BLOCKS   the consumer (started by the provider)

The provider computes BLOCKS blocks of FRAMES stereo float32 frames (a sine
on each channel) straight into the ring: numpy.frombuffer() over
write_view() is an array whose memory is the shared memory itself, and
numpy.sin(..., out=that_array) writes the samples there. The consumer looks
at them the same way, numpy.frombuffer() over read_view(), with no copy
either. Both sides checksum the samples as they pass (the CRC-32 of their
bytes, and their energy, the sum of their squares); the consumer prints its
checksums and the provider compares them with its own. Exit status 0 when
they match.

A block may be split where the ring wraps around: both sides work on
whole frames of the contiguous span the view offers, and the ring's size is
a multiple of a frame, so a frame never straddles the end.
"""

import math
import subprocess
import sys
import zlib
from typing import Tuple

import numpy as np
import numpy.typing as npt

import shbuf

RATE = 48000
CHANNELS = 2
FRAMES = 1024  # frames per block
FRAME_BYTES = CHANNELS * np.dtype(np.float32).itemsize
# One sine per channel: 440 Hz on the left, 660 Hz on the right.
OMEGA = 2 * np.pi * np.array([440.0, 660.0]) / RATE
RING = 256 * FRAMES * FRAME_BYTES  # a multiple of FRAME_BYTES


def frames_view(view: memoryview, frames: int) -> "npt.NDArray[np.float32]":
    """The first `frames` frames of view as a (frames, CHANNELS) array that
    shares view's memory (numpy.frombuffer never copies)."""
    a = np.frombuffer(view, dtype=np.float32, count=frames * CHANNELS)
    return a.reshape(frames, CHANNELS)


def energy(samples: "npt.NDArray[np.float32]") -> float:
    """The sum of the squared samples: a checksum computed through the array."""
    return float(np.einsum("ij,ij->", samples, samples, dtype=np.float64))


def produce(blocks: int) -> Tuple[int, int, float]:
    """Create the buffer, start the consumer, send the blocks; returns the
    exit status, and this side's CRC-32 and energy."""
    total = blocks * FRAMES
    crc, acc = 0, 0.0
    with shbuf.create(size=RING) as buf:
        print(buf.key, flush=True)  # for a test that watches for leaks
        consumer = subprocess.Popen([sys.executable, __file__, "--consume", str(buf.key), str(blocks)],
                                    stdout=subprocess.PIPE, text=True)
        try:
            done = 0
            while done < total:
                view = buf.write_view()
                n = min(total - done, len(view) // FRAME_BYTES)
                if n == 0:
                    view.release()
                    buf.wait()  # the ring is full: sleep until the consumer reads
                    continue
                samples = frames_view(view, n)
                assert samples.base is not None and not samples.flags.owndata  # no copy
                t = np.arange(done, done + n, dtype=np.float64)
                np.sin(np.outer(t, OMEGA), out=samples)  # computed into the ring
                acc += energy(samples)
                crc = zlib.crc32(view[:n * FRAME_BYTES], crc)
                del samples  # the array holds an export of the view
                view.release()
                buf.commit_write(n * FRAME_BYTES)
                done += n
            out, _ = consumer.communicate(timeout=60)
        except BaseException:
            consumer.kill()
            consumer.wait()
            raise
    if consumer.returncode != 0:
        return consumer.returncode, crc, acc
    theirs = out.split()
    # The CRC-32 must match exactly; the energies only nearly, since the two sides
    # may add in different chunks where the ring wrapped.
    ok = (int(theirs[0]) == total and int(theirs[1]) == crc
          and math.isclose(float(theirs[2]), acc, rel_tol=1e-9))
    print("%d frames, crc32 %08x, energy %.3f: %s" % (total, crc, acc,
                                                   "checksums match" if ok else "MISMATCH: " + out))
    return (0 if ok else 1), crc, acc


def consume(key: int, blocks: int) -> int:
    total = blocks * FRAMES
    crc, acc, done = 0, 0.0, 0
    with shbuf.open(key) as buf:
        while done < total:
            view = buf.read_view()
            n = min(total - done, len(view) // FRAME_BYTES)
            if n == 0:
                view.release()
                buf.wait()  # BrokenPipeError if the provider died
                continue
            samples = frames_view(view, n)
            acc += energy(samples)
            crc = zlib.crc32(view[:n * FRAME_BYTES], crc)
            del samples
            view.release()
            buf.commit_read(n * FRAME_BYTES)
            done += n
    print(done, crc, repr(acc))
    return 0


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--consume":
        return consume(int(sys.argv[2]), int(sys.argv[3]))
    if len(sys.argv) > 2:
        print("usage: numpy_samples.py [BLOCKS]", file=sys.stderr)
        return 2
    status, _, _ = produce(int(sys.argv[1]) if len(sys.argv) == 2 else 1000)
    return status


if __name__ == "__main__":
    sys.exit(main())

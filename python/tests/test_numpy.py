"""NumPy over the shared memory, with no copy: examples/numpy_samples.py.

Skipped, with the reason, when this interpreter cannot import NumPy (Debian's
package python3-numpy serves Debian's interpreter, /usr/bin/python3). Run
once per backend (SHBUF_BACKEND) like test_shbuf.py.
"""

import importlib.util
import os
import re
import subprocess
import sys
import unittest

import shbuf
from keylog import assert_none_left, used

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples",
                       "numpy_samples.py")
HAVE_NUMPY = importlib.util.find_spec("numpy") is not None
WHY = ("NumPy is not importable by %s: install Debian's package python3-numpy (scripts/deps.sh "
       "does), and run the tests with Debian's interpreter, /usr/bin/python3" % sys.executable)

if HAVE_NUMPY:
    import numpy as np


def tearDownModule():
    assert_none_left()


@unittest.skipUnless(HAVE_NUMPY, WHY)
class TestNumpy(unittest.TestCase):
    def test_arrays_are_the_shared_memory(self):
        p = shbuf.create(size=4096)
        used(p.key)
        self.addCleanup(p.close)
        c = shbuf.open(p.key)
        self.addCleanup(c.close)
        view = p.write_view()
        out = np.frombuffer(view, dtype=np.float32, count=256)
        self.assertFalse(out.flags.owndata)
        self.assertTrue(out.flags.writeable)
        out[:] = np.linspace(-1, 1, 256, dtype=np.float32)
        # What the array wrote is in the ring: the view shows it.
        self.assertEqual(bytes(view[:1024]), out.tobytes())
        del out
        view.release()
        p.commit_write(1024)
        view = c.read_view()
        got = np.frombuffer(view, dtype=np.float32)
        self.assertFalse(got.flags.owndata)
        self.assertFalse(got.flags.writeable)  # read_view() is read-only
        np.testing.assert_array_equal(got, np.linspace(-1, 1, 256, dtype=np.float32))
        # An array still made from a view keeps the buffer open.
        with self.assertRaises(BufferError):
            c.close()
        del got
        view.release()
        c.commit_read(1024)

    def test_example_streams_checksummed_blocks(self):
        # 4000 blocks of 1024 stereo frames: 31 MiB through a 2 MiB ring.
        r = subprocess.run([sys.executable, EXAMPLE, "4000"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        key = r.stdout.split("\n", 1)[0]
        if key.isdigit():
            used(int(key))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, re.compile(r"^4096000 frames, crc32 [0-9a-f]{8}, .*checksums match$",
                                              re.M))


if __name__ == "__main__":
    unittest.main()

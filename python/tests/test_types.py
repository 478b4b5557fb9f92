"""The package's types, checked with mypy (Debian's package `mypy`).

`mypy --strict` on the examples and on typing_check.py, a program that uses
the whole API and that is then run; and mypy.stubtest, which compares
_shbuf.pyi with the extension module that this interpreter imports, so that
the two cannot drift apart.

mypy finds the package as MYPYPATH says (CTest: the build tree), else as
this interpreter has it installed, which then also checks that pip installed
the types (py.typed, PEP 561). Skipped, with the reason, when this
interpreter cannot import mypy.
"""

import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

import shbuf

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")
HAVE_MYPY = importlib.util.find_spec("mypy") is not None
HAVE_NUMPY = importlib.util.find_spec("numpy") is not None


def missing(what, package):
    return ("%s is not importable by %s: install Debian's package %s (scripts/deps.sh does), "
            "and run the tests with Debian's interpreter, /usr/bin/python3" % (what, sys.executable,
                                                                            package))


@unittest.skipUnless(HAVE_MYPY, missing("mypy", "mypy"))
class TestTypes(unittest.TestCase):
    def setUp(self):
        cache = tempfile.TemporaryDirectory(prefix="shbuf-mypy-")
        self.addCleanup(cache.cleanup)
        self.cache = cache.name

    def run_mypy(self, *files):
        # The cache goes to a temporary folder, not beside the sources.
        cmd = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", self.cache,
               "--python-executable", sys.executable, *files]
        r = subprocess.run(cmd, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=300)
        self.assertEqual(r.returncode, 0, "mypy --strict %s (shbuf from %s):\n%s" % (
            " ".join(files), os.environ.get("MYPYPATH") or "site-packages", r.stdout))

    def test_examples(self):
        self.run_mypy(os.path.join(EXAMPLES, "to_shbuf_cat.py"),
                      os.path.join(EXAMPLES, "asyncio_stream.py"))

    @unittest.skipUnless(HAVE_NUMPY, missing("NumPy", "python3-numpy"))
    def test_numpy_example(self):
        self.run_mypy(os.path.join(EXAMPLES, "numpy_samples.py"))

    def test_whole_api_program(self):
        self.run_mypy("typing_check.py", "keylog.py")
        r = subprocess.run([sys.executable, "typing_check.py"], cwd=HERE, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("every call worked", r.stdout)

    def test_stub_matches_module(self):
        r = subprocess.run([sys.executable, "-m", "mypy.stubtest", "shbuf._shbuf"], cwd=self.cache,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, "stubtest of %s:\n%s" % (shbuf.__file__, r.stdout))

    def test_package_is_typed(self):
        pkg = os.path.dirname(shbuf.__file__)
        for name in ("py.typed", "_shbuf.pyi"):
            self.assertTrue(os.path.isfile(os.path.join(pkg, name)), "%s has no %s" % (pkg, name))


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env bash
# The pip route of the Python package, as the README's Python section gives
# it: a fresh virtual environment of Debian's interpreter, made with
# --system-site-packages so that Debian's setuptools (and NumPy and mypy, for
# the tests) are found there; `pip install --no-build-isolation ./python`;
# the package's whole test suite (python/tests) against the installed copy,
# once per backend; `pip uninstall shbuf`; and nothing left behind: no file
# of the package in the environment, no IPC object of the tests (the leak
# check of the CTest suite, tests/ipc-leak-check.sh).
#
# With BUILD_DIR naming a CMake build of this tree, the cross-language tests
# use its C peer, and the route is taken a second time with the library
# installed from that build (cmake --install into a temporary prefix) and
# found with pkg-config (SHBUF_PYTHON_LIBRARY=pkg-config).
#
#   scripts/test-python-pip.sh
#   BUILD_DIR=build scripts/test-python-pip.sh     (scripts/test.sh does so)
#
# Debian's interpreter on purpose: Debian's python3-setuptools, python3-numpy
# and mypy serve /usr/bin/python3 only, and the python3 first on PATH may be
# another one (pyenv's). SHBUF_PIP_PYTHON names another interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh python3-dev python3-venv python3-setuptools python3-wheel python3-numpy mypy

python=${SHBUF_PIP_PYTHON:-/usr/bin/python3}
build=${BUILD_DIR:-}
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
export PYTHONDONTWRITEBYTECODE=1
tmp=$(mktemp -d /tmp/shbuf-pip.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The leak check knows the backends' objects through shbuf-test-objects:
# the build's, or one built here.
peer="" objects=""
if [ -n "$build" ]; then
  [ -x "$build/python/shbuf_c_peer" ] && peer=$(realpath "$build/python/shbuf_c_peer")
  [ -x "$build/tests/shbuf-test-objects" ] && objects=$(realpath "$build/tests/shbuf-test-objects")
fi
if [ -z "$objects" ]; then
  if ! { cmake -S . -B "$tmp/objects-build" >"$tmp/objects.log" 2>&1 &&
    cmake --build "$tmp/objects-build" --target shbuf-test-objects >>"$tmp/objects.log" 2>&1; }; then
    cat "$tmp/objects.log"
    echo "FAIL: building shbuf-test-objects for the leak check"
    exit 1
  fi
  objects=$tmp/objects-build/tests/shbuf-test-objects
fi
log=$tmp/ipc-test.log
sh tests/ipc-leak-check.sh setup "$log" "$objects"

# route NAME [VAR=VALUE...]: install with pip (VAR=VALUE in pip's
# environment), run the test suite per backend, uninstall, check.
route() {
  local name=$1; shift
  local venv=$tmp/venv-$name
  echo "=== pip ($name): $python -m venv --system-site-packages; pip install --no-build-isolation ./python"
  "$python" -m venv --system-site-packages "$venv"
  env "$@" "$venv/bin/pip" install --no-build-isolation --no-index ./python >"$tmp/pip.log" 2>&1 ||
    { cat "$tmp/pip.log"; echo "FAIL: pip install ($name)"; return 1; }
  local where backends
  where=$(cd / && "$venv/bin/python" -c 'import shbuf; print(shbuf.__file__)')
  case $where in
    "$venv"/*) echo "ok: shbuf $(cd / && "$venv/bin/python" -c 'import shbuf; print(shbuf.__version__)') installed in $where" ;;
    *) echo "FAIL: the environment imports shbuf from $where"; return 1 ;;
  esac
  backends=$(cd / && "$venv/bin/python" -c 'import shbuf; print(" ".join(shbuf.backends()))')
  for b in $backends; do
    echo "=== pip ($name): python/tests on the $b backend"
    (cd python/tests && SHBUF_BACKEND=$b SHBUF_TEST_LOG=$log SHBUF_C_PEER=$peer \
      "$venv/bin/python" -m unittest discover -s . -v) >"$tmp/unittest.log" 2>&1 ||
      { cat "$tmp/unittest.log"; echo "FAIL: python/tests ($name, $b)"; return 1; }
    # NumPy and mypy were installed above: their tests must have run.
    if grep -E "(NumPy|mypy) is not importable" "$tmp/unittest.log"; then
      echo "FAIL: tests skipped although scripts/deps.sh installed what they need"; return 1
    fi
    grep -E "^(Ran [0-9]+ tests|OK)" "$tmp/unittest.log"
  done
  "$venv/bin/pip" uninstall -y shbuf >"$tmp/pip.log" 2>&1 ||
    { cat "$tmp/pip.log"; echo "FAIL: pip uninstall ($name)"; return 1; }
  local left
  left=$(find "$venv" -iname '*shbuf*')
  if [ -n "$left" ]; then
    echo "FAIL: pip uninstall shbuf left behind:"; echo "$left"; return 1
  fi
  echo "ok: pip uninstall shbuf removed everything"
}

route tree
if [ -n "$build" ]; then
  cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; exit 1; }
  route pkg-config SHBUF_PYTHON_LIBRARY=pkg-config PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
fi

sh tests/ipc-leak-check.sh cleanup "$log" "$objects"
echo "=== pip route passed"

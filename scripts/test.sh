#!/usr/bin/env bash
# Builds libshbuf and runs its whole test suite: the default build (both
# backends) under CTest, then the Python package installed with pip
# (scripts/test-python-pip.sh), then each single-backend build, the build
# with the plain-POSIX platform layer, then checks that the default backend
# follows the backends built and that a default naming a disabled or unknown
# backend is refused at configure time, then the
# AddressSanitizer+UBSan, ThreadSanitizer and libFuzzer builds
# (scripts/test-sanitizers.sh). The soak (ctest -L soak) is left out.
#
#   scripts/test.sh            everything
#   BUILD_DIR=dir scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# NumPy and mypy for the Python module's tests (python/tests).
scripts/deps.sh python3-numpy mypy

build=${BUILD_DIR:-build}
jobs=2

# configure_and_test DIR CMAKE_ARGS... -- CTEST_ARGS...
configure_and_test() {
  local dir=$1; shift
  local cmake_args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do cmake_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  echo "=== $dir: cmake ${cmake_args[*]}"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHBUF_WERROR=ON "${cmake_args[@]}" \
    >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j"$jobs"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" -LE soak "$@"
}

configure_and_test "$build"
# The Python package as pip installs it, against this build's C peer and,
# installed, its library.
BUILD_DIR=$build scripts/test-python-pip.sh
# Either backend alone: the library builds and passes everything. The
# default backend is the first one built: nothing else is needed.
configure_and_test "$build-sysv-only" -DSHBUF_WITH_POSIX=OFF
configure_and_test "$build-posix-only" -DSHBUF_WITH_SYSV=OFF
# The core's plain-POSIX platform layer (no futex, pidfd, epoll, membarrier),
# what a port starts from: the whole suite again.
configure_and_test "$build-os-posix" -DSHBUF_OS=posix

echo "=== -DSHBUF_WITH_SYSV=OFF alone: configured above, and the default backend is posix"
# What CMake resolved, and what the library built from it answers: the
# tool lists the compiled backends, default first (shbuf_backends()).
grep -q "libshbuf backends: posix (default posix)" "$build-posix-only.configure.log" ||
  { cat "$build-posix-only.configure.log"; echo "FAIL: the configure output names another default"; exit 1; }
backends=$("$build-posix-only/tools/shbuf" --backends | tr '\n' ' ')
[ "$backends" = "posix " ] || { echo "FAIL: the posix-only build's backends, default first: $backends"; exit 1; }
echo "ok: -DSHBUF_WITH_SYSV=OFF builds posix alone, as the default"

echo "=== a default naming a disabled or unknown backend must not configure"
for bad in "-DSHBUF_WITH_POSIX=OFF -DSHBUF_DEFAULT_BACKEND=posix" "-DSHBUF_WITH_SYSV=OFF -DSHBUF_DEFAULT_BACKEND=sysv" \
           "-DSHBUF_DEFAULT_BACKEND=nosuch"; do
  rm -rf "$build-bad"
  # shellcheck disable=SC2086
  if cmake -S . -B "$build-bad" $bad >"$build-bad.log" 2>&1; then
    echo "FAIL: configuring with $bad succeeded"; exit 1
  fi
  grep -q "SHBUF_DEFAULT_BACKEND is" "$build-bad.log" || { cat "$build-bad.log"; echo "FAIL: no clear message"; exit 1; }
  echo "ok: $bad refused: $(grep -m1 -o "SHBUF_DEFAULT_BACKEND is.*" "$build-bad.log")"
done
rm -rf "$build-bad" "$build-bad.log"

BUILD_PREFIX=$build scripts/test-sanitizers.sh
echo "=== all test runs passed"

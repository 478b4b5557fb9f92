#!/usr/bin/env bash
# Builds libshbuf with the sanitizers and runs the tests that matter under
# each:
#
#   1. AddressSanitizer + UndefinedBehaviorSanitizer (gcc): the reliability
#      tests (crashed and hostile peers, limits, leaks, threads), the API
#      tests and the stream tests (shortened), with LeakSanitizer on.
#   2. ThreadSanitizer (gcc): the threads test and the stream tests.
#   3. The libFuzzer target (clang, ASan + UBSan), for SHBUF_FUZZ_SECONDS
#      (default 60).
#
#   scripts/test-sanitizers.sh              all three
#   scripts/test-sanitizers.sh asan tsan    only these (asan, tsan, fuzz)
#   BUILD_PREFIX=dir scripts/test-sanitizers.sh   build dirs dir-asan, dir-tsan, dir-fuzz
#
# The soak (label "soak") never runs here.
set -euo pipefail
cd "$(dirname "$0")/.."
prog=test-sanitizers

# clang for the fuzzer; Debian's clang only recommends the runtimes that
# hold libFuzzer and the sanitizers, and deps.sh skips recommendations.
scripts/deps.sh clang libclang-rt-14-dev

prefix=${BUILD_PREFIX:-build}
jobs=2
fuzz_seconds=${SHBUF_FUZZ_SECONDS:-60}
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(asan tsan fuzz)

configure_and_build() {
  local dir=$1; shift
  echo "=== $dir: cmake $*"
  mkdir -p "$dir"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir/configure.log" 2>&1 ||
    { cat "$dir/configure.log"; echo "$prog: configuring $dir failed" >&2; return 1; }
  cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1 ||
    { tail -50 "$dir/build.log"; echo "$prog: building $dir failed" >&2; return 1; }
}

run_asan() {
  local dir=$prefix-asan
  configure_and_build "$dir" -DSHBUF_SANITIZE=address,undefined -DSHBUF_WERROR=ON
  echo "=== $dir: ctest -L 'reliability|api|stream|unit'"
  # The stream tests move 256 MiB per case by default; 32 MiB is plenty to
  # find memory errors. The reliability tests scale themselves down.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  SHBUF_STREAM_MIB=32 \
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" -L 'reliability|api|stream|unit' -LE soak
}

run_tsan() {
  local dir=$prefix-tsan
  configure_and_build "$dir" -DSHBUF_SANITIZE=thread -DSHBUF_WERROR=ON
  echo "=== $dir: ctest -L 'threads|stream'"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  SHBUF_STREAM_MIB=32 \
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" -L 'threads|stream' -LE soak
}

run_fuzz() {
  local dir=$prefix-fuzz
  # The whole project is compiled with clang and the fuzzer's coverage
  # instrumentation (it builds, tools and Python module included); only the
  # fuzz test runs.
  CC=clang configure_and_build "$dir" -DSHBUF_SANITIZE=address,undefined,fuzzer-no-link -DSHBUF_FUZZ=ON -DSHBUF_WERROR=ON \
    -DSHBUF_FUZZ_SECONDS="$fuzz_seconds"
  echo "=== $dir: ctest -L fuzz (${fuzz_seconds} s)"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir "$dir" --output-on-failure -L fuzz
}

start=$(date +%s)
for part in "${parts[@]}"; do
  t0=$(date +%s)
  case "$part" in
  asan) run_asan ;;
  tsan) run_tsan ;;
  fuzz) run_fuzz ;;
  *) echo "$prog: unknown part '$part' (asan, tsan, fuzz)" >&2; exit 2 ;;
  esac
  echo "=== $part passed in $(($(date +%s) - t0)) s"
done
echo "=== sanitizer runs passed in $(($(date +%s) - start)) s"

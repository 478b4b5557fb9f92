#!/bin/sh
# Installs libshbuf (its runtime and devel components) into a temporary
# prefix and builds programs against the installation the ways its users
# do: pkg-config (shared and --static), find_package(shbuf) (shbuf::shbuf
# and shbuf::shbuf_static), and the per-backend pkg-config modules and
# shbuf::<backend> targets, which must fix the backend at compile time.
# Each program moves bytes through a buffer of every compiled backend.
#
#   install-test.sh BUILD_DIR LIBDIR INCLUDEDIR "BACKENDS" CC CMAKE
#
# LIBDIR and INCLUDEDIR are CMAKE_INSTALL_LIBDIR and CMAKE_INSTALL_INCLUDEDIR.
# The prefix is a fresh folder under BUILD_DIR, removed at the end unless
# SHBUF_KEEP_INSTALL_TEST is set.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
prog=install-test
if [ $# -ne 6 ]; then
        echo "$prog: usage: $0 BUILD_DIR LIBDIR INCLUDEDIR BACKENDS CC CMAKE" >&2
        exit 2
fi
build=$1
libdir=$2
includedir=$3
backends=$4
cc=$5
cmake=$6
here=$(cd "$(dirname "$0")" && pwd)

case "$libdir$includedir" in
/*)
        # Absolute install folders would put files outside the temporary prefix.
        echo "$prog: skipped: CMAKE_INSTALL_LIBDIR or CMAKE_INSTALL_INCLUDEDIR is absolute"
        exit 77
        ;;
esac
for tool in pkg-config readelf; do
        if ! command -v $tool >/dev/null 2>&1; then
                echo "$prog: $tool is missing (scripts/deps.sh installs it)" >&2
                exit 1
        fi
done

tmp=$(mktemp -d "$build/install-test.XXXXXX") || exit 1
if [ -z "${SHBUF_KEEP_INSTALL_TEST:-}" ]; then
        trap 'rm -rf "$tmp"' EXIT
else
        echo "$prog: keeping $tmp"
fi
prefix=$tmp/prefix
failures=0

fail() {
        echo "$prog: FAIL: $*" >&2
        failures=$((failures + 1))
}

# Records what the IPC leak check (tests/ipc-leak-check.sh) should look at.
note() {
        if [ -n "${SHBUF_TEST_LOG:-}" ]; then
                echo "$1" >>"$SHBUF_TEST_LOG"
        fi
}

# run NAME EXE BACKEND_ENV EXPECT_BACKEND EXPECT_COMPILE_TIME
# Runs EXE with SHBUF_BACKEND=BACKEND_ENV against the installed shared
# library and checks the backend it reports.
run() {
        name=$1 exe=$2 env_backend=$3 expect=$4 expect_ct=$5
        SHBUF_BACKEND=$env_backend LD_LIBRARY_PATH=$prefix/$libdir "$exe" >"$tmp/out" 2>&1 &
        pid=$!
        note "pid $pid"
        wait $pid
        rc=$?
        key=$(sed -n 's/^key=//p' "$tmp/out")
        [ -n "$key" ] && note "key $key"
        line=$(grep '^backend=' "$tmp/out")
        if [ $rc -ne 0 ]; then
                fail "$name (SHBUF_BACKEND=$env_backend) exited with $rc: $(cat "$tmp/out")"
        elif [ "${line%% *}" != "backend=$expect" ] || ! echo "$line" | grep -q " compile-time=$expect_ct "; then
                fail "$name (SHBUF_BACKEND=$env_backend): expected backend=$expect compile-time=$expect_ct, got: $line"
        else
                echo "ok: $name (SHBUF_BACKEND=$env_backend): $line"
        fi
}

# linkage NAME EXE shared|static: the program uses the library it should.
linkage() {
        name=$1 exe=$2 kind=$3
        needed=$(readelf -d "$exe" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(libshbuf[^]]*\)\].*/\1/p')
        if [ "$kind" = shared ]; then
                [ "$needed" = libshbuf.so.0 ] || fail "$name needs '$needed', not libshbuf.so.0"
                where=$(LD_LIBRARY_PATH=$prefix/$libdir ldd "$exe" | sed -n 's/.*libshbuf.so.0 => \([^ ]*\).*/\1/p')
                case "$where" in
                "$prefix"/*) ;;
                *) fail "$name loads libshbuf.so.0 from '$where', not from the installation" ;;
                esac
        elif [ -n "$needed" ]; then
                fail "$name is linked with libshbuf.a but needs $needed"
        fi
}

other_backend() {
        for b in $backends; do
                if [ "$b" != "$1" ]; then
                        echo "$b"
                        return
                fi
        done
        echo "$1"
}

# Only the library's components: the tool and the Python module are not
# needed to build against libshbuf, and are tested in their own folders.
echo "=== install the runtime and devel components into $prefix"
for component in runtime devel; do
        if ! "$cmake" --install "$build" --prefix "$prefix" --component $component >"$tmp/install.log" 2>&1; then
                cat "$tmp/install.log" >&2
                echo "$prog: cmake --install --component $component failed" >&2
                exit 1
        fi
done
expected="$libdir/libshbuf.so.0 $libdir/libshbuf.so $libdir/libshbuf.a $includedir/libshbuf/shbuf.h
$libdir/pkgconfig/shbuf.pc $libdir/cmake/shbuf/shbufConfig.cmake $libdir/cmake/shbuf/shbufConfigVersion.cmake
$libdir/cmake/shbuf/shbufTargets.cmake"
for b in $backends; do
        expected="$expected $libdir/pkgconfig/shbuf-$b.pc"
done
for f in $expected; do
        [ -e "$prefix/$f" ] || fail "not installed: $f"
done
for b in sysv posix; do
        case " $backends " in
        *" $b "*) ;;
        *) [ -e "$prefix/$libdir/pkgconfig/shbuf-$b.pc" ] && fail "shbuf-$b.pc installed, but $b is not built" ;;
        esac
done
soname=$(readelf -d "$prefix/$libdir/libshbuf.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libshbuf.so.0 ] || fail "installed library has soname '$soname'"

echo "=== pkg-config"
PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
export PKG_CONFIG_PATH
pc_backends=$(pkg-config --variable=backends shbuf)
[ "$pc_backends" = "$backends" ] || fail "shbuf.pc lists backends '$pc_backends', expected '$backends'"
pc_libdir=$(pkg-config --variable=libdir shbuf)
[ "$pc_libdir" = "$prefix/$libdir" ] || fail "shbuf.pc has libdir '$pc_libdir', expected '$prefix/$libdir'"
# shellcheck disable=SC2046
if "$cc" -Wall -Wextra -Wpedantic -Werror -DCONSUMER_SHORT_INCLUDE $(pkg-config --cflags shbuf) \
        "$here/consumer.c" -o "$tmp/pc-shared" $(pkg-config --libs shbuf) 2>"$tmp/cc.log"; then
        linkage pc-shared "$tmp/pc-shared" shared
        for b in $backends; do
                run pc-shared "$tmp/pc-shared" "$b" "$b" none
        done
else
        fail "pkg-config shared build: $(cat "$tmp/cc.log")"
fi
# shellcheck disable=SC2046
if "$cc" -static -Wall -Wextra -Wpedantic -Werror $(pkg-config --cflags --static shbuf) \
        "$here/consumer.c" -o "$tmp/pc-static" $(pkg-config --libs --static shbuf) 2>"$tmp/cc.log"; then
        linkage pc-static "$tmp/pc-static" static
        for b in $backends; do
                run pc-static "$tmp/pc-static" "$b" "$b" none
        done
else
        fail "pkg-config static build: $(cat "$tmp/cc.log")"
fi
for b in $backends; do
        # shellcheck disable=SC2046
        if "$cc" -Wall -Wextra -Wpedantic -Werror $(pkg-config --cflags "shbuf-$b") "$here/consumer.c" \
                -o "$tmp/pc-$b" $(pkg-config --libs "shbuf-$b") 2>"$tmp/cc.log"; then
                # The environment names another backend: the compile-time choice must win.
                run "pc-$b" "$tmp/pc-$b" "$(other_backend "$b")" "$b" "$b"
        else
                fail "pkg-config shbuf-$b build: $(cat "$tmp/cc.log")"
        fi
done

echo "=== find_package(shbuf)"
if "$cmake" -S "$here/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$tmp/cmake.log" 2>&1 &&
        "$cmake" --build "$tmp/consumer" >>"$tmp/cmake.log" 2>&1; then
        grep "shbuf .* from" "$tmp/cmake.log"
        linkage cmake-shared "$tmp/consumer/consumer-shared" shared
        linkage cmake-static "$tmp/consumer/consumer-static" static
        for b in $backends; do
                run cmake-shared "$tmp/consumer/consumer-shared" "$b" "$b" none
                run cmake-static "$tmp/consumer/consumer-static" "$b" "$b" none
                run "cmake-$b" "$tmp/consumer/consumer-$b" "$(other_backend "$b")" "$b" "$b"
        done
else
        cat "$tmp/cmake.log" >&2
        fail "the CMake consumer did not build"
fi

if [ $failures -ne 0 ]; then
        echo "$prog: $failures check(s) failed" >&2
        exit 1
fi
echo "$prog: all checks passed"

#!/bin/sh
# ABI hygiene of the built libraries:
#  - libshbuf.so has the soname SONAME;
#  - it exports exactly the functions the public header marks SHBUF_EXPORT,
#    each under a LIBSHBUF_* version node, and nothing else (internal
#    shbuf__* names, helpers, or symbols that leak from the C library);
#  - libshbuf.a defines no global symbol outside the shbuf_ name space, so
#    static linking cannot clash with the application's names.
#
#   check-exports.sh SHARED_LIB STATIC_LIB HEADER SONAME
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
prog=check-exports
if [ $# -ne 4 ]; then
        echo "$prog: usage: $0 SHARED_LIB STATIC_LIB HEADER SONAME" >&2
        exit 2
fi
lib=$1
archive=$2
header=$3
want_soname=$4
for tool in nm readelf awk; do
        if ! command -v $tool >/dev/null 2>&1; then
                echo "$prog: $tool is missing" >&2
                exit 1
        fi
done

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
        echo "$prog: FAIL: $*" >&2
        failures=$((failures + 1))
}

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != "$want_soname" ]; then
        fail "$lib has soname '$soname', expected '$want_soname'"
else
        echo "ok: soname $soname"
fi

# The API: names declared with SHBUF_EXPORT, once comments and preprocessor
# lines are gone (the header's prose mentions functions too).
awk '
        {
                line = $0; out = ""
                while (line != "") {
                        if (incomment) {
                                i = index(line, "*/")
                                if (i == 0) { line = ""; break }
                                line = substr(line, i + 2); incomment = 0
                        } else {
                                i = index(line, "/*")
                                if (i == 0) { out = out line; line = ""; break }
                                out = out substr(line, 1, i - 1); line = substr(line, i + 2); incomment = 1
                        }
                }
                if (out !~ /^[ \t]*#/)
                        printf "%s ", out
        }' "$header" | tr ';' '\n' | grep 'SHBUF_EXPORT' |
        sed -n 's/.*[^A-Za-z0-9_]\(shbuf_[A-Za-z0-9_]*\)[ \t]*(.*/\1/p' | sort -u >"$tmp/api"
if [ ! -s "$tmp/api" ]; then
        fail "found no SHBUF_EXPORT declarations in $header"
fi

# What the library exports. The version node itself shows up as an absolute
# symbol; the linker's own markers would be tolerated, should a toolchain add them.
nm -D --defined-only "$lib" >"$tmp/nm" || {
        fail "nm -D failed on $lib"
        exit 1
}
: >"$tmp/exported"
while read -r _addr type sym; do
        name=${sym%%@*}
        version=${sym#"$name"}
        version=${version#@}
        version=${version#@}
        case "$name" in
        LIBSHBUF_*)
                [ "$type" = A ] || fail "version node $name has type $type"
                continue
                ;;
        _init | _fini | __bss_start | _edata | _end) continue ;;
        shbuf__*) fail "internal symbol exported: $sym" ;;
        shbuf_*) ;;
        *) fail "symbol outside the API exported: $sym" ;;
        esac
        case "$version" in
        LIBSHBUF_*) ;;
        *) fail "$name is exported without a LIBSHBUF_* version ('$version')" ;;
        esac
        echo "$name" >>"$tmp/exported"
done <"$tmp/nm"
sort -u -o "$tmp/exported" "$tmp/exported"

for name in $(comm -23 "$tmp/exported" "$tmp/api"); do
        fail "$name is exported but not declared SHBUF_EXPORT in the header"
done
for name in $(comm -13 "$tmp/exported" "$tmp/api"); do
        fail "$name is declared SHBUF_EXPORT but not exported"
done
echo "ok: checked $(wc -l <"$tmp/exported") exported functions against $(wc -l <"$tmp/api") declarations"

nm --defined-only --extern-only "$archive" | awk 'NF == 3 && $3 !~ /^shbuf_/ { print $3 }' >"$tmp/foreign"
if [ -s "$tmp/foreign" ]; then
        fail "libshbuf.a defines global symbols outside the shbuf_ name space: $(sort -u "$tmp/foreign" | tr '\n' ' ')"
fi

if [ $failures -ne 0 ]; then
        echo "$prog: $failures check(s) failed" >&2
        exit 1
fi
echo "$prog: all checks passed"

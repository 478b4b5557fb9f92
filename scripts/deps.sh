#!/usr/bin/env bash
# Installs what building and testing libshbuf needs, from Debian's packages,
# and only what is missing. Needs root (or sudo) when something is missing.
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have_cmd cmake || need+=(cmake)
have_cmd cc || need+=(gcc)
have_cmd make || need+=(make)
have_cmd pkg-config || need+=(pkg-config)
have_pkg check || need+=(check)
have_cmd python3 || need+=(python3)
# Headers for the Python module; without them it is skipped, with a message.
python3 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  2>/dev/null || need+=(python3-dev)
# What `shbuf bench` measures libshbuf against: built in when present,
# reported as skipped when not. The Boost.Interprocess helper is C++.
for p in libzmq3-dev libnng-dev libboost-dev g++; do
  have_pkg "$p" || need+=("$p")
done
# Extra packages a caller asks for (e.g. clang for the fuzzer).
for p in "$@"; do
  have_pkg "$p" || need+=("$p")
done

if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

#!/bin/sh
# Installs the Debian 12 packages finsam builds and tests with, if missing.
# Used by ./finsam-demo and ./finsam-test; safe to run again.
set -e
PKGS="build-essential cmake pkg-config git tzdata ca-certificates
      libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler
      liblmdb-dev lmdb-utils libsodium-dev libjansson-dev libinih-dev
      libcsv-dev libmicrohttpd-dev libsystemd-dev clang libclang-rt-dev
      python3 python3-zmq python3-protobuf protobuf-compiler python3-numpy python3-scipy
      chromium"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "finsam: installing Debian packages:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
  $SUDO apt-get update -qq && $SUDO apt-get install -y --no-install-recommends $missing
}

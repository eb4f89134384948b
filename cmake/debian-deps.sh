#!/bin/sh
# Installs the Debian 12 packages finsam needs, if missing; safe to run again.
# Usage: cmake/debian-deps.sh [build|test|runtime|all]...   (default: build test)
#   build    compilers, -dev packages, protoc-c, help2man, dpkg-dev (cpack)
#   test     what the test suite runs on top: Python, clang, chromium, git ...
#   runtime  the shared libraries the binaries run with (a site gets these
#            from the .deb packages' Depends:, see docs/install.md)
#   print    with a list name: print the packages and install nothing
# The lists are cmake/deps-build.txt, deps-test.txt and deps-runtime.txt.
# ./finsam-demo and ./finsam-test call it without arguments.
set -e
here=$(dirname "$0")
print=""
lists=""
for a in "$@"; do
  case "$a" in
    build|test|runtime) lists="$lists $a" ;;
    all) lists="$lists build test runtime" ;;
    print) print=1 ;;
    *) echo "usage: $0 [print] [build|test|runtime|all]..." >&2; exit 64 ;;
  esac
done
[ -n "$lists" ] || lists="build test"

PKGS=""
for l in $lists; do
  PKGS="$PKGS $(sed -e 's/#.*//' "$here/deps-$l.txt")"
done
if [ -n "$print" ]; then
  printf '%s\n' $PKGS
  exit 0
fi
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

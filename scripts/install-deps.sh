#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what fredck needs to build and test, from Debian 12's packages.
#   install-deps.sh           what building and the test suite need
#   install-deps.sh --fuzz    also clang and its libFuzzer runtime, for the
#                             fuzz targets (scripts/test.sh asks for them)
set -eu

PACKAGES="gcc make autoconf automake pkgconf libjansson-dev linux-libc-dev \
	zlib1g-dev libbz2-dev liblzma-dev libzstd-dev libxxhash-dev \
	bats bats-support bats-assert jq groff-base python3-jsonschema \
	gzip bzip2 xz-utils zstd lzop strace binutils python3 qemu-utils tmux"
if [ "${1:-}" = --fuzz ]; then
	PACKAGES="$PACKAGES clang libclang-rt-14-dev"
fi

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
else
	SUDO="sudo"
fi
echo "install-deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing

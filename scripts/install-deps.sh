#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what fredck needs to build and test, from Debian 12's packages.
#   install-deps.sh             what building and the test suite need
#   install-deps.sh --fuzz      also clang and its libFuzzer runtime, for the
#                               fuzz targets (scripts/test.sh asks for them)
#   install-deps.sh --deb       also what building the Debian package, linting
#                               it and running its autopkgtests need
#                               (scripts/build-deb.sh, tests/cli/package.bats)
#   install-deps.sh --list-build  print the packages building needs, one per
#                               line, and install nothing
# The options combine.
set -eu

# Building.  debian/control's Build-Depends lists the same packages, less
# gcc and make (build-essential); tests/cli/package.bats keeps them equal.
BUILD_PACKAGES="gcc make autoconf automake pkgconf libjansson-dev linux-libc-dev \
	zlib1g-dev libbz2-dev liblzma-dev libzstd-dev libxxhash-dev liblzo2-dev"
# The test suite (zsh and fish: tests/cli/completion.bats completes in them;
# pigz and pbzip2: recompress.bats keeps the prefix of their multi-block output).
TEST_PACKAGES="bats bats-support bats-assert jq groff-base python3-jsonschema \
	gzip bzip2 xz-utils zstd lzop strace binutils python3 qemu-utils tmux zsh fish \
	pigz pbzip2"

PACKAGES="$BUILD_PACKAGES $TEST_PACKAGES"
for arg in "$@"; do
	case $arg in
	--fuzz) PACKAGES="$PACKAGES clang libclang-rt-14-dev" ;;
	--deb) PACKAGES="$PACKAGES dpkg-dev debhelper lintian autopkgtest debootstrap" ;;
	--list-build)
		# shellcheck disable=SC2086 # a list of words
		printf '%s\n' $BUILD_PACKAGES
		exit 0
		;;
	*)
		echo "install-deps: unknown option $arg" >&2
		exit 16
		;;
	esac
done

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
# shellcheck disable=SC2086 # a list of words
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing

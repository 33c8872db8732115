#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The first README command: install the dependencies, build, and run
# fredck's main job on the bundled broken example.  Exits 0 when
# everything behaved as expected.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
sh scripts/build.sh

FREDCK=_build/fredck
EXAMPLE=examples/broken-vm
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

run() { # expected-status command...
	want=$1
	shift
	echo
	echo "\$ $*"
	set +e
	"$@"
	got=$?
	set -e
	echo "(exit status $got, expected $want)"
	if [ "$got" -ne "$want" ]; then
		echo "quickstart: unexpected exit status" >&2
		exit 1
	fi
}

run 4 "$FREDCK" check "$EXAMPLE"
run 1 "$FREDCK" repair "$EXAMPLE" -o "$WORK/repaired-vm"
run 0 "$FREDCK" check "$WORK/repaired-vm"
echo
echo "quickstart: all as expected (check 4, repair 1, check of the repaired copy 0)"

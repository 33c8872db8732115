#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# golden.sh [--update] BUILDDIR: what operators see, byte for byte (issue 16,
# item 6; e2fsck's expect files).  A fixed set of inputs (kvm-dir fixtures
# clean and at risk, Firecracker and Cloud Hypervisor snapshots made by the
# generators, one malformed file) goes through inspect, check (plain, -q,
# -v), repair --dry-run, diff and explain, in text and in JSON (-p); each
# command's standard output, standard error and exit status are compared
# with tests/golden/NAME.out.  A difference is printed (diff -u) and exits 1;
# --update rewrites the files instead, so that a change to the output is a
# visible diff in review.  QEMU streams are left out: the bytes QEMU saves
# differ between its versions and machines.
#
# Normalised: the tool's version in JSON (a release must not churn them).
# GOLDEN_DIR: where the expected files are (default: beside this script).
set -u
update=false
if [ "${1:-}" = --update ]; then
	update=true
	shift
fi
build=${1:?usage: golden.sh [--update] BUILDDIR}
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
expected=${GOLDEN_DIR:-$here}
fredck=$build/fredck
work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT

# The inputs, named as the golden files show them.
cd "$work" || exit 2
for f in clean pf-lost-cap db-stale-bs nm-unrecoverable multi; do
	cp -R "$top/tests/fixtures/kvm/$f" "$f" || exit 2
done
"$build/tests/fc/mkfcsnap" v1.12 fc-pf.snap -e 14 >/dev/null || exit 2
"$build/tests/fc/mkfcsnap" v1.0 fc-db.snap -e 1 >/dev/null || exit 2
"$build/tests/chv/chv-gen" --layout=v39 chv clean pf >/dev/null || exit 2
head -c 3000 fc-pf.snap >cut.snap
INPUTS=(clean pf-lost-cap db-stale-bs nm-unrecoverable multi fc-pf.snap fc-db.snap chv cut.snap)

# run NAME ARGS...: append "$ fredck ARGS", stdout, stderr and the exit status to NAME.out.
run() {
	local name=$1 rc
	shift
	{
		printf '$ fredck %s\n' "$*"
		"$fredck" "$@" >"$work/.out" 2>"$work/.err"
		rc=$?
		sed -e 's/"version": "[^"]*"/"version": "VERSION"/' "$work/.out"
		sed -e 's/^/stderr: /' "$work/.err"
		printf '[exit %d]\n\n' "$rc"
	} >>"$work/.golden/$name.out"
}

mkdir "$work/.golden"
for i in "${INPUTS[@]}"; do
	run inspect inspect "$i"
	run inspect-json inspect -p "$i"
	run check check "$i"
	run check-quiet check -q "$i"
	run check-verbose check -v "$i"
	run check-json check -p "$i"
	run dry-run repair --dry-run "$i"
	run dry-run-json repair --dry-run -p "$i"
done
for pair in "pf-lost-cap clean" "multi clean" "fc-pf.snap fc-db.snap" "chv fc-pf.snap" "clean cut.snap"; do
	# shellcheck disable=SC2086
	run diff diff $pair
	# shellcheck disable=SC2086
	run diff-json diff -p $pair
done
run explain explain
run explain explain FK101 FK201 FK302
run explain-json explain -p FK101

status=0
for f in "$work"/.golden/*.out; do
	name=$(basename "$f")
	if $update; then
		cp "$f" "$expected/$name"
	elif ! diff -u "$expected/$name" "$f"; then
		echo "golden.sh: $name differs (run tests/golden/golden.sh --update BUILDDIR if meant)" >&2
		status=1
	fi
done
exit $status

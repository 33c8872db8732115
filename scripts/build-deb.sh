#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Build fredck's Debian package from a clean export of this tree, lint it,
# and run its autopkgtests (debian/tests/control) against the installed
# package:
#   1. export the tree (git's tracked and unignored files; without git, the
#      tree less _build*/) to $OUT/fredck-VERSION;
#   2. install the build dependencies of debian/control (apt-get build-dep,
#      from the machine's own apt sources) and dpkg-dev, lintian,
#      autopkgtest;
#   3. dpkg-source -b (the native source package), then
#      dpkg-buildpackage -us -uc -b;
#   4. lintian --pedantic on the source and binary packages: any tag not
#      overridden fails;
#   5. autopkgtest with autopkgtest-virt-null (needs root: it installs the
#      package on this machine, and removes it again afterwards if it was
#      not installed before); skipped with the reason where it cannot run.
# The packages, logs and test results are left in $OUT.  Exit status 0 when
# every step that ran passed.
#
# Environment:
#   FREDCK_DEB_OUT          output directory (default _build-deb)
#   FREDCK_DEB_AUTOPKGTEST  0 to skip the autopkgtests
#   FREDCK_DEB_TESTS        the autopkgtests to run, by name (default: all
#                           of debian/tests/control)
#   FREDCK_DEB_CHROOT       build, lint and test in a copy of this chroot
#                           instead, e.g. the Debian 13 chroot that
#                           scripts/install-qemu-peers.sh makes,
#                           /var/cache/fredck/chroots/trixie (root only;
#                           the copy's apt sources are the chroot's own;
#                           the results go to $OUT/SUITE/)
#   DEB_BUILD_OPTIONS       passed on (nocheck: no unit tests in the build)
set -eu
cd "$(dirname "$0")/.."
TOP=$PWD
OUT=${FREDCK_DEB_OUT:-$TOP/_build-deb}
say() { echo "build-deb: $*"; }
die() { say "$*" >&2; exit 1; }

[ -f debian/control ] ||
	die "no debian/ here: the release tarball does not carry it; build from a git checkout"

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo -n"
else
	SUDO=none
fi
# apt-get waits for another apt-get or dpkg rather than failing at once.
APT="apt-get -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends"

# Wait (up to 10 minutes) until no dpkg run is half done: dpkg keeps its
# journal in /var/lib/dpkg/updates while it works.
wait_for_dpkg() {
	n=0
	while [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ] && [ "$n" -lt 120 ]; do
		sleep 5
		n=$((n + 1))
	done
}

installed() { # PACKAGE
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# Run this script again inside a copy of the chroot DIR, on the export:
# the copy's own apt sources give the build dependencies and tools, and the
# chroot the QEMU tests use is left as it was.
build_in_chroot() { # DIR
	[ "$(id -u)" -eq 0 ] || die "FREDCK_DEB_CHROOT needs root (chroot, mount)"
	[ -x "$1/usr/bin/apt-get" ] || die "$1 is not a Debian chroot (no /usr/bin/apt-get)"
	# shellcheck disable=SC1091 # the chroot's, read at run time
	suite=$(. "$1/etc/os-release" && echo "${VERSION_CODENAME:-unknown}")
	root=$OUT/root-$suite
	say "copying $1 ($suite) to $root"
	cp -a --one-file-system "$1" "$root"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# The QEMU peers' chroots keep no documentation (dpkg path-exclude):
	# the package's own files must all be there to be checked.
	rm -f "$root/etc/dpkg/dpkg.cfg.d/01-fredck-nodoc"
	mkdir -p "$root/build"
	mv "$SRC" "$root/build/"
	trap 'unmount_under "$OUT"' EXIT
	mount -t proc proc "$root/proc"
	# Terminals for the tests that run fredck on one (script(1)).
	mount --bind /dev/pts "$root/dev/pts"
	{
		chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
			FREDCK_DEB_OUT=/build/out FREDCK_DEB_TESTS="${FREDCK_DEB_TESTS:-}" \
			FREDCK_DEB_AUTOPKGTEST="${FREDCK_DEB_AUTOPKGTEST:-1}" \
			DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-}" \
			sh -c "cd /build/fredck-$VERSION && sh scripts/build-deb.sh" 2>&1 &&
			echo 0 >"$OUT/chroot.status" || echo $? >"$OUT/chroot.status"
	} | sed "s/^build-deb:/build-deb: $suite:/"
	rc=$(cat "$OUT/chroot.status")
	unmount_under "$OUT"
	mkdir -p "$OUT/$suite"
	cp -a "$root/build/out/." "$OUT/$suite/" 2>/dev/null || true
	return "$rc"
}

# --- 1. a clean export -------------------------------------------------------
case $OUT in /*) ;; *) OUT=$TOP/$OUT ;; esac
# A chroot's /proc under DIR, left mounted by an interrupted run.
unmount_under() { # DIR
	awk -v d="$1/" 'index($2 "/", d) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
unmount_under "$OUT"
rm -rf --one-file-system "$OUT"
mkdir -p "$OUT"
SRC=$OUT/fredck
mkdir -p "$SRC"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked files as they are now, and new files not yet committed
	# (unless ignored); a tracked file deleted in the tree is left out.
	# shellcheck disable=SC2016 # the inner sh expands $f
	git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do if [ -e "$f" ] || [ -L "$f" ]; then printf "%s\0" "$f"; fi; done' _ |
		tar --null -T - -cf - | tar -xf - -C "$SRC"
else
	tar --exclude='./_build*' --exclude=./.git -cf - . | tar -xf - -C "$SRC"
fi
# The version of debian/changelog's first entry (dpkg-dev may not be here yet).
VERSION=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$SRC/debian/changelog")
mv "$SRC" "$OUT/fredck-$VERSION"
SRC=$OUT/fredck-$VERSION
say "exported the tree to $SRC (version $VERSION)"

if [ -n "${FREDCK_DEB_CHROOT:-}" ]; then
	build_in_chroot "$FREDCK_DEB_CHROOT"
	exit $?
fi

# --- 2. the tools and the build dependencies ---------------------------------
tools=""
for p in dpkg-dev lintian autopkgtest; do
	installed "$p" || tools="$tools $p"
done
# apt-get build-dep DIR reads DIR/debian/control: the build dependencies
# are listed once.  It resolves them from this machine's apt sources.
if ! (cd "$SRC" && dpkg-checkbuilddeps) >/dev/null 2>&1 || [ -n "$tools" ]; then
	[ "$SUDO" != none ] || die "not root and no sudo: cannot install the build dependencies$tools"
	say "installing the build dependencies (apt-get build-dep)${tools:+ and$tools}"
	# shellcheck disable=SC2086 # lists of words
	{ $SUDO apt-get -qq update &&
		DEBIAN_FRONTEND=noninteractive $SUDO $APT build-dep "$SRC"; } >"$OUT/apt.log" 2>&1 ||
		{ tail -20 "$OUT/apt.log"; die "apt-get build-dep failed ($OUT/apt.log)"; }
	if [ -n "$tools" ]; then
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive $SUDO $APT install $tools >>"$OUT/apt.log" 2>&1 ||
			say "could not install$tools: the steps that need them are skipped ($OUT/apt.log)"
	fi
fi

# --- 3. the source and binary packages ---------------------------------------
start=$(date +%s)
(cd "$OUT" && dpkg-source -b "fredck-$VERSION") >"$OUT/source.log" 2>&1 ||
	{ tail -20 "$OUT/source.log"; die "dpkg-source -b failed ($OUT/source.log)"; }
if ! (cd "$SRC" && dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1; then
	tail -40 "$OUT/build.log"
	die "dpkg-buildpackage failed ($OUT/build.log)"
fi
say "built in $(($(date +%s) - start)) s: $(cd "$OUT" && echo ./*.deb ./*.dsc)"

status=0
# --- 4. lintian --------------------------------------------------------------
if command -v lintian >/dev/null 2>&1; then
	changes=$(ls "$OUT"/*.changes)
	# Every tag counts, pedantic and experimental ones too; the overrides
	# (each with its reason) are in debian/source/lintian-overrides and
	# debian/fredck.lintian-overrides.
	start=$(date +%s)
	if lintian --pedantic --display-experimental --info \
		--fail-on error,warning,info,pedantic,experimental \
		"$OUT/fredck_$VERSION.dsc" "$changes" >"$OUT/lintian.log" 2>&1; then
		say "lintian --pedantic: clean ($(($(date +%s) - start)) s)"
	else
		cat "$OUT/lintian.log"
		say "lintian --pedantic: tags above ($OUT/lintian.log)"
		status=1
	fi
else
	say "lintian skipped: not installed"
fi

# --- 5. autopkgtest ----------------------------------------------------------
if [ "${FREDCK_DEB_AUTOPKGTEST:-1}" = 0 ]; then
	say "autopkgtest skipped: FREDCK_DEB_AUTOPKGTEST=0"
elif ! command -v autopkgtest >/dev/null 2>&1; then
	say "autopkgtest skipped: autopkgtest is not installed"
elif [ "$(id -u)" -ne 0 ]; then
	say "autopkgtest skipped: autopkgtest-virt-null installs the package on this machine and needs root"
else
	was_installed=no
	installed fredck && was_installed=yes
	# Exit status 2: some test was skipped; 0: all passed.
	start=$(date +%s)
	# autopkgtest does not wait for another dpkg or apt-get on this
	# machine (it refuses while /var/lib/dpkg/updates holds files): wait
	# for it, and try again when the testbed could not be set up (16, 20).
	for try in 1 2 3; do
		wait_for_dpkg
		rm -rf "$OUT/autopkgtest"
		set +e
		# shellcheck disable=SC2046 # one --test-name per word
		autopkgtest --output-dir "$OUT/autopkgtest" \
			$(for t in ${FREDCK_DEB_TESTS:-}; do echo "--test-name=$t"; done) \
			"$OUT"/fredck_*.deb "$OUT/fredck_$VERSION.dsc" \
			-- null </dev/null >"$OUT/autopkgtest.log" 2>&1
		rc=$?
		set -e
		[ "$rc" -ge 16 ] || break
		say "autopkgtest: the testbed failed (exit status $rc, try $try of 3): $(grep -m1 'ERROR' "$OUT/autopkgtest.log" || true)"
		sleep 20
	done
	sed 's/^/build-deb:   /' "$OUT/autopkgtest/summary" 2>/dev/null || true
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]; then
		say "autopkgtest: passed (exit status $rc, $(($(date +%s) - start)) s)"
	else
		# The TAP of the tests that failed, with bats's account of why.
		for f in "$OUT"/autopkgtest/*-stdout; do
			[ -f "$f" ] && awk '/^not ok/ { on = 1; print; next } on && /^#/ { print; next } { on = 0 }' "$f" |
				head -n 60
		done
		tail -n 10 "$OUT/autopkgtest.log"
		say "autopkgtest: failed (exit status $rc, $OUT/autopkgtest.log)"
		status=1
	fi
	if [ "$was_installed" = no ] && installed fredck; then
		dpkg --purge fredck >/dev/null
	fi
fi
exit "$status"

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Build fredck's Debian package from a clean export of this tree, lint it,
# and run its autopkgtests (debian/tests/control) against the package
# installed in a throwaway root:
#   1. export the tree (git's tracked and unignored files; without git, the
#      tree less _build*/) to $OUT/fredck-VERSION;
#   2. install the build dependencies of debian/control (apt-get build-dep)
#      and dpkg-dev, lintian: on this machine, from its own apt sources; or,
#      with FREDCK_DEB_CHROOT, in a throwaway overlay of that chroot, from
#      the chroot's apt sources (the chroot itself is never written to);
#   3. dpkg-source -b (the native source package), then
#      dpkg-buildpackage -us -uc -b, in the same place;
#   4. lintian --pedantic (the same place's lintian: the release's own) on
#      the source and binary packages: any tag not overridden fails;
#   5. autopkgtest -- chroot, in another throwaway overlay of a root of the
#      release the package was built for (root only): the FREDCK_DEB_CHROOT
#      chroot, or for this machine's build a minimal debootstrap root of
#      this machine's release (--variant=minbase, made once and kept in
#      $FREDCK_DEB_ROOTS).  The testbed starts with nothing of the build:
#      autopkgtest installs the package and each test's Depends into it,
#      and it is discarded afterwards.  Nothing is installed on this
#      machine for the tests.
# The packages, logs and test results are left in $OUT.  Exit status 0 when
# every step that ran passed.
#
# Environment:
#   FREDCK_DEB_OUT          output directory (default _build-deb)
#   FREDCK_DEB_AUTOPKGTEST  0 to skip the autopkgtests
#   FREDCK_DEB_TESTS        the autopkgtests to run, by name (default: all
#                           of debian/tests/control)
#   FREDCK_DEB_CHROOT       build, lint and test in throwaway overlays of
#                           this Debian chroot instead of on this machine,
#                           e.g. the Debian 13 chroot of the QEMU peers,
#                           /var/cache/fredck/chroots/trixie (root only)
#   FREDCK_DEB_ROOTS        where the minimal roots for testing this
#                           machine's build are kept (default
#                           /var/cache/fredck/roots)
#   FREDCK_APT_CACHE        where the .debs apt downloads into the throwaway
#                           roots are kept for the next run, one directory
#                           per release (default /var/cache/fredck/apt)
#   FREDCK_DEB_CACHE        debootstrap's package cache (default
#                           /var/cache/fredck/debs, shared with
#                           scripts/install-qemu-peers.sh)
#   FREDCK_DEBIAN_MIRROR    the archive to debootstrap from (default: the
#                           one this machine's apt uses)
#   DEB_BUILD_OPTIONS       passed on (nocheck: no unit tests in the build)
set -eu
# As root, the whole run is in a private mount namespace: the overlays,
# /proc and /dev of the throwaway roots vanish with it, however it ends,
# and no other process sees them.
if [ "$(id -u)" -eq 0 ] && [ -z "${FREDCK_DEB_PRIVATE_MOUNTS:-}" ] &&
	command -v unshare >/dev/null 2>&1 && unshare -m --propagation private true 2>/dev/null; then
	FREDCK_DEB_PRIVATE_MOUNTS=1 exec unshare -m --propagation private sh "$0" "$@"
fi

cd "$(dirname "$0")/.."
TOP=$PWD
OUT=${FREDCK_DEB_OUT:-$TOP/_build-deb}
case $OUT in /*) ;; *) OUT=$TOP/$OUT ;; esac
CHROOT=${FREDCK_DEB_CHROOT:-}
ROOTS=${FREDCK_DEB_ROOTS:-/var/cache/fredck/roots}
APT_CACHE=${FREDCK_APT_CACHE:-/var/cache/fredck/apt}
DEBS=${FREDCK_DEB_CACHE:-/var/cache/fredck/debs}
say() { echo "build-deb: $*"; }
die() { say "$*" >&2; exit 1; }
since() { echo "$(($(date +%s) - $1)) s"; }

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

installed() { # PACKAGE
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# The codename of the Debian release in ROOT (/ for this machine).
codename() { # ROOT
	# shellcheck disable=SC1090,SC1091 # os-release, read at run time
	(. "$1/etc/os-release" && echo "${VERSION_CODENAME:-}")
}

# --- throwaway roots ---------------------------------------------------------
# Unmount everything mounted under DIR (deepest first): a run interrupted
# outside a private mount namespace may have left some.
unmount_under() { # DIR
	awk -v d="$1/" 'index($2 "/", d) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# Make DIR/root a throwaway copy of the Debian root LOWER: an overlay whose
# writable layer is DIR/upper (LOWER is never written to), or where
# overlayfs is missing a copy (reflinked where the file system can).  Its
# /proc and /dev are mounted, resolv.conf is this machine's, and the .debs
# apt downloaded into earlier roots of the same release are put back.
throwaway_root() { # LOWER DIR
	mkdir -p "$2/upper" "$2/work" "$2/root"
	# The .debs of earlier runs, linked into the writable layer before it
	# is mounted (a link cannot cross into the overlay): no copying.
	suite=$(codename "$1")
	archives=$2/upper/var/cache/apt/archives
	if [ -n "$suite" ] && [ -d "$APT_CACHE/$suite" ]; then
		mkdir -p "$archives"
		for deb in "$APT_CACHE/$suite"/*.deb; do
			[ -f "$deb" ] && { ln "$deb" "$archives/" 2>/dev/null || cp "$deb" "$archives/"; }
		done
	fi
	if ! mount -t overlay fredck-deb -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" \
		"$2/root" 2>/dev/null; then
		say "no overlayfs here: copying $1"
		rm -rf "$2/root"
		cp -a --reflink=auto --one-file-system "$1" "$2/root"
		if [ -d "$archives" ]; then
			mv "$archives"/*.deb "$2/root/var/cache/apt/archives/" 2>/dev/null || true
		fi
	fi
	mount -t proc proc "$2/root/proc"
	# /dev with its /dev/pts (tests run fredck on a terminal) and /dev/shm.
	mount --rbind /dev "$2/root/dev"
	cp /etc/resolv.conf "$2/root/etc/resolv.conf"
	# The QEMU peers' chroots keep no documentation (dpkg path-exclude):
	# the package's man pages and examples must be installed to be checked.
	rm -f "$2/root/etc/dpkg/dpkg.cfg.d/01-fredck-nodoc"
	# A root thrown away after the run need not survive a crash: dpkg
	# skips its fsyncs (as sbuild and pbuilder do).
	echo force-unsafe-io >"$2/root/etc/dpkg/dpkg.cfg.d/02-fredck-unsafe-io"
}

# Keep the .debs apt downloaded into DIR/root for the next run, then
# unmount DIR/root and remove all but the logs.  Each is linked (copied
# where it cannot be) under a temporary name, then renamed: a concurrent
# run never sees half a file.
discard_root() { # DIR
	suite=$(codename "$1/root")
	unmount_under "$1"
	# The overlay's new files are in its writable layer; a copy's in it.
	archives=$1/upper/var/cache/apt/archives
	[ -d "$archives" ] || archives=$1/root/var/cache/apt/archives
	if [ -n "$suite" ] && mkdir -p "$APT_CACHE/$suite" 2>/dev/null; then
		for deb in "$archives"/*.deb; do
			[ -f "$deb" ] || continue
			to=$APT_CACHE/$suite/$(basename "$deb")
			[ ! -f "$to" ] || continue
			if ln "$deb" "$to.tmp.$$" 2>/dev/null || cp "$deb" "$to.tmp.$$"; then
				mv "$to.tmp.$$" "$to" || rm -f "$to.tmp.$$"
			fi
		done
	fi
	rm -rf --one-file-system "$1/root" "$1/upper" "$1/work"
}

# The minimal root of this machine's release, for testing the package built
# here: debootstrap --variant=minbase, made once and kept in $ROOTS; one
# maker at a time.  Prints its directory; fails with the reason.
minimal_root() { # SUITE
	dir=$ROOTS/$1
	if [ -x "$dir/usr/bin/apt-get" ]; then
		echo "$dir"
		return 0
	fi
	command -v debootstrap >/dev/null 2>&1 ||
		{ echo "debootstrap is not installed (sh scripts/install-deps.sh --deb)"; return 1; }
	# shellcheck source=debian-mirror.sh
	. "$TOP/scripts/debian-mirror.sh"
	mirror=${FREDCK_DEBIAN_MIRROR:-$(apt_debian_mirror | head -n 1)}
	[ -n "$mirror" ] ||
		{ echo "no Debian archive in this machine's apt sources (set FREDCK_DEBIAN_MIRROR)"; return 1; }
	apt_proxy_for_debootstrap
	mkdir -p "$ROOTS" "$DEBS" || { echo "cannot create $ROOTS"; return 1; }
	(
		flock -w 900 9 || true
		[ -x "$dir/usr/bin/apt-get" ] && exit 0
		unmount_under "$dir.new"
		rm -rf --one-file-system "$dir.new"
		start=$(date +%s)
		if debootstrap --variant=minbase --cache-dir="$DEBS" "$1" "$dir.new" "$mirror" \
			>"$OUT/debootstrap-$1.log" 2>&1; then
			mv "$dir.new" "$dir"
			say "made $dir (debootstrap --variant=minbase $1, $(since "$start"))" >&2
		else
			unmount_under "$dir.new"
			rm -rf --one-file-system "$dir.new"
			echo "debootstrap --variant=minbase $1 failed: $(grep '^E:' "$OUT/debootstrap-$1.log" | tail -n 1)"
			exit 1
		fi
	) 9>"$ROOTS/.lock" || return 1
	echo "$dir"
}

# --- 1. a clean export -------------------------------------------------------
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

# --- 2. where it is built, and the build dependencies ------------------------
# inside CMD...: run CMD where the package is built, in the directory that
# holds the export ($OUT here, /build in a chroot).
if [ -n "$CHROOT" ]; then
	[ "$(id -u)" -eq 0 ] || die "FREDCK_DEB_CHROOT needs root (chroot, mount)"
	[ -x "$CHROOT/usr/bin/apt-get" ] || die "$CHROOT is not a Debian chroot (no /usr/bin/apt-get)"
	SUITE=$(codename "$CHROOT")
	BUILD_ROOT=$OUT/build-root
	say "building in a throwaway overlay of $CHROOT ($SUITE)"
	throwaway_root "$CHROOT" "$BUILD_ROOT"
	mkdir -p "$BUILD_ROOT/root/build"
	mv "$SRC" "$BUILD_ROOT/root/build/"
	ln -s "$BUILD_ROOT/root/build/fredck-$VERSION" "$SRC"
	inside() {
		chroot "$BUILD_ROOT/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-}" \
			sh -c 'cd /build && "$@"' sh "$@"
	}
	start=$(date +%s)
	# shellcheck disable=SC2086 # $APT is words
	{ inside apt-get -qq update && inside $APT build-dep "./fredck-$VERSION" &&
		inside $APT install dpkg-dev lintian; } >"$OUT/apt.log" 2>&1 ||
		{ tail -20 "$OUT/apt.log"; die "apt-get in the $SUITE root failed ($OUT/apt.log)"; }
	say "$SUITE: build dependencies and lintian installed ($(since "$start"))"
else
	SUITE=$(codename /)
	BUILD_ROOT=""
	inside() { (cd "$OUT" && "$@"); }
	tools=""
	for p in dpkg-dev lintian; do
		installed "$p" || tools="$tools $p"
	done
	# apt-get build-dep DIR reads DIR/debian/control: the build
	# dependencies are listed once.
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
fi

# --- 3. the source and binary packages ---------------------------------------
start=$(date +%s)
inside dpkg-source -b "fredck-$VERSION" >"$OUT/source.log" 2>&1 ||
	{ tail -20 "$OUT/source.log"; die "dpkg-source -b failed ($OUT/source.log)"; }
if ! inside sh -c "cd fredck-$VERSION && dpkg-buildpackage -us -uc -b" >"$OUT/build.log" 2>&1; then
	tail -40 "$OUT/build.log"
	die "dpkg-buildpackage failed ($OUT/build.log)"
fi
if [ -n "$BUILD_ROOT" ]; then
	cp "$BUILD_ROOT"/root/build/fredck*_* "$OUT/"
fi
say "built for $SUITE in $(since "$start"): $(cd "$OUT" && echo ./*.deb ./*.dsc)"

status=0
# --- 4. lintian --------------------------------------------------------------
if inside sh -c 'command -v lintian' >/dev/null 2>&1; then
	# Every tag counts, pedantic and experimental ones too; the overrides
	# (each with its reason) are in debian/source/lintian-overrides and
	# debian/fredck.lintian-overrides.
	start=$(date +%s)
	# shellcheck disable=SC2016 # the inner sh expands $1
	if inside sh -c 'lintian --pedantic --display-experimental --info \
		--fail-on error,warning,info,pedantic,experimental "$1" ./*.changes' sh \
		"fredck_$VERSION.dsc" >"$OUT/lintian.log" 2>&1; then
		say "lintian --pedantic ($(inside lintian --version)): clean ($(since "$start"))"
	else
		cat "$OUT/lintian.log"
		say "lintian --pedantic: tags above ($OUT/lintian.log)"
		status=1
	fi
else
	say "lintian skipped: not installed"
fi
if [ -n "$BUILD_ROOT" ]; then
	rm -f "$SRC"
	discard_root "$BUILD_ROOT"
fi

# --- 5. autopkgtest, in a throwaway root -------------------------------------
testbed=""
if [ "${FREDCK_DEB_AUTOPKGTEST:-1}" = 0 ]; then
	why="FREDCK_DEB_AUTOPKGTEST=0"
elif ! command -v autopkgtest >/dev/null 2>&1; then
	why="autopkgtest is not installed (sh scripts/install-deps.sh --deb)"
elif [ "$(id -u)" -ne 0 ]; then
	why="the throwaway root needs root (chroot, mount)"
elif [ -n "$CHROOT" ]; then
	testbed=$CHROOT
elif [ -z "$SUITE" ]; then
	why="this machine names no release (VERSION_CODENAME in /etc/os-release) to debootstrap"
elif ! testbed=$(minimal_root "$SUITE"); then
	why="no $SUITE root: $testbed"
	testbed=""
fi
if [ -z "$testbed" ]; then
	say "autopkgtest skipped: $why"
	exit "$status"
fi

start=$(date +%s)
say "autopkgtest: the $SUITE package in a throwaway overlay of $testbed"
throwaway_root "$testbed" "$OUT/testbed"
# Nothing of the caller's environment reaches the tests (autopkgtest
# passes it on into the testbed: a test runner's temporary directories,
# say, which do not exist there), but a proxy.
set -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8
for var in http_proxy https_proxy no_proxy; do
	eval "value=\${$var:-}"
	[ -z "$value" ] || set -- "$@" "$var=$value"
done
set +e
# Exit status 2: some test was skipped; 0: all passed.  The testbed's apt
# lists are fetched first (the roots keep none).
# shellcheck disable=SC2046 # one --test-name per word
"$@" autopkgtest --output-dir "$OUT/autopkgtest" --setup-commands 'apt-get -qq update' \
	$(for t in ${FREDCK_DEB_TESTS:-}; do echo "--test-name=$t"; done) \
	"$OUT"/fredck_*.deb "$OUT/fredck_$VERSION.dsc" \
	-- chroot "$OUT/testbed/root" </dev/null >"$OUT/autopkgtest.log" 2>&1
rc=$?
set -e
discard_root "$OUT/testbed"
sed 's/^/build-deb:   /' "$OUT/autopkgtest/summary" 2>/dev/null || true
if [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]; then
	say "autopkgtest: passed in a $SUITE root (exit status $rc, $(since "$start"))"
else
	# The TAP of the tests that failed, with bats's account of why.
	for f in "$OUT"/autopkgtest/*-stdout; do
		[ -f "$f" ] && awk '/^not ok/ { on = 1; print; next } on && /^#/ { print; next } { on = 0 }' "$f" |
			head -n 60
	done
	tail -n 10 "$OUT/autopkgtest.log"
	say "autopkgtest: failed in a $SUITE root (exit status $rc, $OUT/autopkgtest.log)"
	status=1
fi
exit "$status"

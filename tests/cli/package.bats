#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package (debian/, scripts/build-deb.sh): its build dependencies
# are install-deps.sh's, the hook it installs is the README's, and it builds
# from a clean export of the tree, for Debian 12 on this machine and for
# Debian 13 in a throwaway overlay of the trixie chroot of the QEMU peers;
# each release's lintian --pedantic finds nothing, the package holds every
# file a user needs, and its autopkgtests pass against /usr/bin/fredck
# installed in a throwaway root of the same release (autopkgtest -- chroot:
# an overlay of a minimal Debian 12 root, kept in /var/cache/fredck/roots,
# or of the trixie chroot, which stays as it was).
#
# Measured on two cores shared with other work (load 4-9): the file takes
# 6 min 20 s to 9 min, 2 min 40 s of it CPU time (Debian 12: build 47 s,
# lintian 16 s, autopkgtests 89 s; Debian 13: build dependencies and
# lintian 48 s, build 42 s, lintian 13 s, autopkgtests 95 s); each
# build-deb.sh step prints its time into the log.  A fresh machine also pays once for the Debian 12 root
# (debootstrap --variant=minbase, about a minute); apt's downloads are kept
# in /var/cache/fredck/apt for the next run.  FREDCK_TEST_PACKAGE=1 adds the
# "cli" autopkgtest (the BATS tests that need no build tree, on the
# installed fredck: about two minutes more per release).  The release
# tarball does not carry debian/: from it, these tests report skipped.

load test_helper

require_debian_dir() {
	[ -f "$TOP_SRCDIR/debian/control" ] ||
		skip "no debian/ in $TOP_SRCDIR (the release tarball does not carry it)"
}

# The package names of debian/control's Build-Depends, one per line,
# sorted: comments, versions, architecture lists and build profiles dropped.
build_depends() {
	awk '/^#/ { next }
	     /^Build-Depends:/ { on = 1; sub(/^Build-Depends:/, ""); print; next }
	     on && /^[ \t]/ { print; next }
	     { on = 0 }' "$TOP_SRCDIR/debian/control" |
		tr ',' '\n' | sed -e 's/[([<].*//' -e 's/[[:space:]]//g' | grep -v '^$' | LC_ALL=C sort
}

@test "package: Build-Depends are install-deps.sh's build packages, less gcc and make" {
	require_debian_dir
	run -0 sh "$TOP_SRCDIR/scripts/install-deps.sh" --list-build
	local want
	want=$(grep -vxE 'gcc|make' <<<"$output" | LC_ALL=C sort)
	[ -n "$want" ] || fail "install-deps.sh --list-build printed no package"
	run build_depends
	assert_output "$(printf '%s\n' debhelper-compat "$want" | LC_ALL=C sort)"
}

@test "package: the libvirt hook installed as an example is the README's, byte for byte" {
	local hook=$TOP_SRCDIR/examples/libvirt-hook/qemu
	[ -f "$hook" ] || fail "$hook is missing"
	# The README's block: from its "    #!/bin/sh" to the first empty line.
	run awk '$0 == "    #!/bin/sh" { on = 1 } on && $0 == "" { exit } on { print substr($0, 5) }' \
		"$TOP_SRCDIR/README.md"
	[ -n "$output" ] || fail "no hook (a block starting '    #!/bin/sh') in README.md"
	assert_output "$(cat "$hook")"
	run -0 sh -n "$hook"
}

@test "package: the BATS files the cli autopkgtest runs exist" {
	require_debian_dir
	local f missing=""
	for f in $(grep -oE '[a-z_]+\.bats' "$TOP_SRCDIR/debian/tests/cli"); do
		[ -f "$TOP_SRCDIR/tests/cli/$f" ] || missing+=" $f"
	done
	assert_equal "${missing# }" ""
}

# The files of the package that `dpkg-deb -c DEB` lists, without "./".
deb_files() {
	dpkg-deb -c "$1" | awk '{ print $6 }' | sed 's|^\./|/|'
}

# Skip unless this run can build the package (tools, and root or sudo for
# the build dependencies); a sanitizer build leaves it to the plain one.
require_deb_build() {
	require_debian_dir
	if grep -q '^SAN_CFLAGS = -fsanitize' "${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/Makefile" 2>/dev/null; then
		skip "a sanitizer build: the package is built from the sources with Debian's flags, once, by the plain make check"
	fi
	local tool
	for tool in dpkg-buildpackage dh lintian; do
		command -v "$tool" >/dev/null ||
			skip "$tool is not installed (sh scripts/install-deps.sh --deb)"
	done
	if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
		skip "not root and no sudo: build-deb.sh cannot install the build dependencies"
	fi
}

# build_deb [VAR=VALUE...]: scripts/build-deb.sh into $WORK/deb, with the
# autopkgtests "example", "installed" and "qemu" (FREDCK_TEST_PACKAGE=1:
# all, "cli" too).  Nothing of make check's environment reaches the build
# or the autopkgtests: no jobserver, no build-tree fredck.
build_deb() {
	local tests="example installed qemu"
	[ "${FREDCK_TEST_PACKAGE:-0}" = 1 ] && tests=""
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u FREDCK -u TOP_SRCDIR -u TOP_BUILDDIR \
		-u BASH_COMPLETION_DIR -u ZSH_COMPLETION_DIR -u FISH_COMPLETION_DIR -u GROFF FREDCK_DEB_OUT="$WORK/deb" FREDCK_DEB_TESTS="$tests" \
		DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" "$@" sh "$TOP_SRCDIR/scripts/build-deb.sh"
	echo "$output"
	# Each step's time, in the TAP stream (as comments) even when the test
	# passes.
	grep '^build-deb: ' <<<"$output" | sed 's/^/# /' >&3
	assert_success
}

# The autopkgtests build-deb.sh ran in a throwaway root of SUITE passed.
# Prints (for a skip) why they did not run, if they did not.
autopkgtests_passed() { # SUITE
	local why
	why=$(sed -n 's/^build-deb: autopkgtest skipped: //p' <<<"$output")
	if [ -n "$why" ]; then
		echo "the autopkgtests did not run: $why"
		return 0
	fi
	assert_line --partial "autopkgtest: passed in a $1 root"
	assert_line --regexp "example +PASS"
	assert_line --regexp "installed +PASS"
	# The testbed has its release's QEMU (the test Depends on it).
	assert_line --regexp "qemu +PASS"
	[ "${FREDCK_TEST_PACKAGE:-0}" != 1 ] || assert_line --regexp "cli +PASS"
}

# The package in $WORK/deb holds every file a user needs, the examples are
# the bundled ones, and both man pages render with man -l without a
# warning.
package_is_complete() {
	local deb page warnings
	deb=$(find "$WORK/deb" -maxdepth 1 -name 'fredck_*_amd64.deb')
	[ -f "$deb" ] || fail "no fredck_*_amd64.deb in $WORK/deb: $(ls "$WORK/deb")"
	run deb_files "$deb"
	assert_line /usr/bin/fredck
	assert_line /usr/share/man/man1/fredck.1.gz
	assert_line /usr/share/man/man5/fredck-formats.5.gz
	assert_line /usr/share/bash-completion/completions/fredck
	assert_line /usr/share/zsh/vendor-completions/_fredck
	assert_line /usr/share/fish/vendor_completions.d/fredck.fish
	assert_line /usr/share/doc/fredck/copyright
	assert_line /usr/share/doc/fredck/changelog.gz
	assert_line /usr/share/doc/fredck/README.md.gz
	assert_line /usr/share/doc/fredck/examples/libvirt-hook/qemu
	assert_line /usr/share/doc/fredck/examples/broken-vm/vcpu1/events
	# The installed example is the bundled one.
	mkdir "$WORK/root"
	dpkg-deb -x "$deb" "$WORK/root"
	run -0 diff -r "$TOP_SRCDIR/examples/broken-vm" "$WORK/root/usr/share/doc/fredck/examples/broken-vm"
	run -0 cmp "$TOP_SRCDIR/examples/libvirt-hook/qemu" "$WORK/root/usr/share/doc/fredck/examples/libvirt-hook/qemu"
	run -0 cmp "$TOP_SRCDIR/cli/_fredck" "$WORK/root/usr/share/zsh/vendor-completions/_fredck"
	run -0 cmp "$TOP_SRCDIR/cli/fredck.fish" "$WORK/root/usr/share/fish/vendor_completions.d/fredck.fish"
	command -v man >/dev/null || return 0
	for page in "$WORK"/root/usr/share/man/man1/fredck.1.gz "$WORK"/root/usr/share/man/man5/fredck-formats.5.gz; do
		warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		assert_equal "$warnings" ""
	done
}

@test "package: the Debian 12 package (this machine's build): lintian --pedantic clean, autopkgtests pass in a throwaway Debian 12 root" {
	require_deb_build
	[ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = bookworm ] ||
		skip "this machine is not Debian 12 (bookworm): the Debian 13 test builds in the trixie chroot"
	build_deb
	assert_line --partial "built for bookworm"
	assert_line --partial "lintian --pedantic (Lintian v2.116"
	assert_line --regexp "lintian --pedantic .*: clean"
	local skipped
	skipped=$(autopkgtests_passed bookworm)
	package_is_complete
	[ -z "$skipped" ] || skip "$skipped"
}

@test "package: the Debian 13 package, built in a throwaway overlay of the trixie chroot: its lintian clean, autopkgtests pass in another" {
	require_deb_build
	local chroots=${FREDCK_CHROOTS:-/var/cache/fredck/chroots}
	local root=$chroots/trixie
	if [ ! -x "$root/usr/bin/apt-get" ]; then
		[ ! -s "$root.failed" ] || skip "no Debian 13 chroot: it could not be built: $(head -n 1 "$root.failed")"
		skip "no Debian 13 chroot at $root (sh scripts/install-qemu-peers.sh)"
	fi
	[ "$(id -u)" -eq 0 ] || skip "building in the trixie chroot needs root (chroot, mount)"
	# The QEMU tests run the chroot's QEMU: it must be as it was after.
	local before
	before=$(find "$root" -xdev -newer "$root/var/lib/dpkg/status" 2>/dev/null | head -n 5; md5sum "$root/var/lib/dpkg/status")
	build_deb FREDCK_DEB_CHROOT="$root"
	assert_line --partial "built for trixie"
	assert_line --regexp "lintian --pedantic \(Lintian v2\.1[2-9][0-9].*\): clean"
	assert_equal "$(find "$root" -xdev -newer "$root/var/lib/dpkg/status" 2>/dev/null | head -n 5; md5sum "$root/var/lib/dpkg/status")" "$before"
	local skipped
	skipped=$(autopkgtests_passed trixie)
	package_is_complete
	[ -z "$skipped" ] || skip "$skipped"
}

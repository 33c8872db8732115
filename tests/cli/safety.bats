#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Repair never writes through the input: symlinks inside and to a kvm-dir.

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	FREDCK=${FREDCK:-$TOP_SRCDIR/_build/fredck}
	FIXTURES="$TOP_SRCDIR/tests/fixtures/kvm"
	cd "$BATS_TEST_TMPDIR"
	# vm/vcpu1 is a symlink to a directory outside the kvm-dir.
	mkdir -p vm store
	cp -R "$FIXTURES/multi/vcpu0" vm/
	cp -R "$FIXTURES/multi/vcpu1" store/
	chmod -R u+w vm store
	ln -s "$BATS_TEST_TMPDIR/store/vcpu1" vm/vcpu1
	sha256sum store/vcpu1/* >store.sum
}

@test "safety: repair -o never writes through a vcpuN symlink of the input" {
	run "$FREDCK" repair vm -o out
	assert_equal "$status" 1
	run sha256sum -c store.sum
	assert_success
	[ -d out/vcpu1 ] && [ ! -L out/vcpu1 ]
	run "$FREDCK" check out
	assert_equal "$status" 0
}

@test "safety: repair --in-place never writes through a vcpuN symlink of the input" {
	run "$FREDCK" repair vm --in-place
	assert_equal "$status" 1
	run sha256sum -c store.sum
	assert_success
	[ -L vm.orig/vcpu1 ]
	[ -d vm/vcpu1 ] && [ ! -L vm/vcpu1 ]
	run "$FREDCK" check vm
	assert_equal "$status" 0
}

@test "safety: a symlink given as the input is repaired at its target, the link kept" {
	mkdir real
	cp -R "$FIXTURES/pf-lost-cap/." real/
	chmod -R u+w real
	ln -s real link
	run "$FREDCK" repair link --in-place
	assert_equal "$status" 1
	[ -L link ]
	[ -d real.orig ]
	run "$FREDCK" check link
	assert_equal "$status" 0
	run "$FREDCK" check real.orig
	assert_equal "$status" 4
}

@test "safety: -o inside the input is refused before anything is written" {
	mkdir in
	cp -R "$FIXTURES/pf-lost-cap/." in/
	find in -type f | sort | xargs sha256sum >in.sum
	run "$FREDCK" repair in -o in/out
	assert_equal "$status" 12
	assert_output --partial "output inside the input"
	run sha256sum -c in.sum
	assert_success
	[ ! -e in/out ]
	run find in -name '.*fredck-*'
	assert_output ""
}

@test "safety: modes survive a restrictive umask (directories and rewritten events)" {
	mkdir in
	cp -R "$FIXTURES/pf-lost-cap/." in/
	chmod 0775 in/vcpu0
	chmod 0664 in/vcpu0/events
	umask 077
	run "$FREDCK" repair in -o out
	assert_equal "$status" 1
	assert_equal "$(stat -c %a out/vcpu0)" 775
	assert_equal "$(stat -c %a out/vcpu0/events)" 664
}

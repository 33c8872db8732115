#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The second README command: the whole test suite.
#   1. make check in _build/ (C unit tests, BATS CLI tests, real-kernel
#      oracle where /dev/kvm exists), warnings as errors;
#   2. the same suite built with AddressSanitizer and UBSan (_build-san/),
#      but for SAN_SKIP below (counted as skipped, the reason printed);
#   3. the fuzz smoke: every libFuzzer target for FUZZ_SECONDS (30) from its
#      seeds, in _build-fuzz (clang, ASan, UBSan);
#   4. make distcheck (the release tarball builds and passes the unit tests
#      and DIST_TESTS), and the tarball carries every file git tracks but
#      those DIST_OMIT names.
# The suite runs whole once; stages 2 and 4 repeat it for what they add
# (memory errors; the tarball), so that the run stays well under 45 minutes
# on two cores.
# Under the sanitizers any report fails the stage, whether or not the test
# that caused it looked at the exit status: reports go to files, and a
# file left behind is a failure.
# Ends with one line "N passed, N failed, N skipped" over all three.
set -u
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh --fuzz --deb >/dev/null
# Real QEMU: Debian 12's, and Debian 13 / unstable chroots where they can be
# built; tests of a peer that could not be installed report skipped.
sh scripts/install-qemu-peers.sh
sh scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }

status=0
summaries=""

# Count the results of one make check run from its .trs files.
count() { # dir
	find "$1" -name '*.trs' -exec cat {} + 2>/dev/null |
		awk '/^:test-result: PASS/ {p++} /^:test-result: XFAIL/ {p++}
		     /^:test-result: (FAIL|XPASS|ERROR)/ {f++} /^:test-result: SKIP/ {s++}
		     END {printf "%d %d %d\n", p, f, s}'
}

stage() { # name dir command...
	name=$1
	dir=$2
	shift 2
	echo "== $name"
	stage_status=0
	if ! "$@"; then
		status=1
		stage_status=1
		for log in $(find "$dir" -name '*.log' -newer configure 2>/dev/null); do
			grep -q '^not ok\|^ERROR\|^FAIL' "$log" 2>/dev/null && {
				echo "--- $log"
				tail -40 "$log"
			}
		done
	fi
	counted=$(count "$dir")
	# A stage that failed with no failed test (a build error) is a failure too.
	if [ "$stage_status" -ne 0 ] && [ "$(echo "$counted" | awk '{print $2}')" -eq 0 ]; then
		counted="$(echo "$counted" | awk '{print $1, 1, $3}')"
	fi
	summaries="$summaries $counted"
}

stage "make check" _build make -C _build -j"$(nproc)" check

mkdir -p _build-san
if [ ! -f _build-san/Makefile ]; then
	(cd _build-san && ../configure --quiet --enable-werror --enable-sanitizers)
fi
# The crash tests' kill points were all tried by the first pass: the
# repeats try one in 8 (tests/cli/crash.bats).
export FREDCK_CRASH_STRIDE=8
# Reports of sanitised runs, one file per process, in DIR/san-report.*.
sanitizer_reports() { # dir
	if ls "$1"/san-report.* >/dev/null 2>&1; then
		echo "--- sanitizer reports in $1:"
		head -n 60 "$1"/san-report.*
		summaries="$summaries 0 1 0"
		status=1
	fi
}

# Not repeated under the sanitizers: the first stage ran them, and their
# code runs under the same sanitizers elsewhere -- the 1,000 bit flips of
# differential.bats are what fuzz_filter asserts on every input of the fuzz
# smoke; vcpus.bats's 262,145 sections are the hash table the other QEMU
# tests fill; progress.bats draws the progress line under tmux.
SAN_SKIP="tests/cli/differential.bats tests/cli/vcpus.bats tests/cli/progress.bats"
san_tests=""
for t in $(make -s -C _build-san print-tests | tail -n 1); do
	case " $SAN_SKIP " in
	*" $t "*) ;;
	*) san_tests="$san_tests $t" ;;
	esac
done
san_skipped=0
for t in $SAN_SKIP; do
	san_skipped=$((san_skipped + $(grep -c '^@test' "$t")))
done

rm -f _build-san/san-report.*
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$PWD/_build-san/san-report \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$PWD/_build-san/san-report \
	stage "make check (ASan, UBSan)" _build-san make -C _build-san -j"$(nproc)" check \
	TESTS="$san_tests"
sanitizer_reports _build-san
echo "skipped under the sanitizers, $san_skipped tests (the first stage ran them): $SAN_SKIP"
summaries="$summaries 0 0 $san_skipped"

mkdir -p _build-fuzz
if [ ! -f _build-fuzz/Makefile ]; then
	(cd _build-fuzz && ../configure --quiet --enable-werror --enable-fuzz CC=clang)
fi
stage "fuzz smoke (libFuzzer, ASan, UBSan)" _build-fuzz \
	make -C _build-fuzz -j"$(nproc)" check TESTS=tests/fuzz/smoke.bats

# distcheck removes its tree on success: it counts as one test.  It builds
# the tarball in a read-only source tree and runs the unit tests and these
# there (the whole suite ran in the first stage); what the tarball must
# carry is checked against git below.
DIST_TESTS="tests/cli/usage.bats tests/cli/check.bats tests/cli/repair.bats"
DIST_TESTS="$DIST_TESTS tests/cli/man.bats tests/cli/layout.bats tests/cli/qemu.bats"
echo "== make distcheck"
if make -C _build -j"$(nproc)" distcheck \
	TESTS="$(make -s -C _build print-unit-tests | tail -n 1) $DIST_TESTS" >_build/distcheck.out 2>&1; then
	summaries="$summaries 1 0 0"
else
	tail -60 _build/distcheck.out
	summaries="$summaries 0 1 0"
	status=1
fi

# Every file git tracks is in the tarball (every test, its data and
# helpers), but these: notes and benchmarks for the repository only, and
# the Debian packaging (a distribution packages the tarball its own way).
DIST_OMIT='^(\.gitignore|m4/\.keep|bench/.*|tests/fuzz/RESULTS\.md|debian/.*|scripts/build-deb\.sh)$'
echo "== the tarball's files"
tarball=$(ls _build/fredck-*.tar.gz 2>/dev/null | head -n 1)
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "skipped: not a git checkout, nothing to compare the tarball with"
	summaries="$summaries 0 0 1"
elif [ -z "$tarball" ]; then
	echo "no tarball in _build (make distcheck makes it)"
	summaries="$summaries 0 1 0"
	status=1
else
	git ls-files | grep -Ev "$DIST_OMIT" | LC_ALL=C sort >_build/dist-git.txt
	tar tzf "$tarball" | sed 's|^[^/]*/||' | grep -v '/$' | LC_ALL=C sort >_build/dist-tar.txt
	missing=$(LC_ALL=C comm -23 _build/dist-git.txt _build/dist-tar.txt)
	if [ -z "$missing" ]; then
		summaries="$summaries 1 0 0"
	else
		echo "tracked by git but not in $tarball (EXTRA_DIST?):"
		echo "$missing"
		summaries="$summaries 0 1 0"
		status=1
	fi
fi

echo "$summaries" | awk '{for (i = 1; i <= NF; i += 3) {p += $i; f += $(i+1); s += $(i+2)}
	printf "%d passed, %d failed, %d skipped\n", p, f, s}'
[ "$status" -eq 0 ]

# SPDX-License-Identifier: GPL-2.0-or-later
# Shared helpers of the CLI's BATS tests (tests/cli/*.bats).
#
# make check sets FREDCK and TOP_SRCDIR (Makefile.am's AM_TESTS_ENVIRONMENT);
# by hand, from the source tree:
#   bats tests/cli/*.bats
# uses the _build/ tree beside the sources.  Every test works on copies of
# the fixtures in $WORK (under $BATS_TEST_TMPDIR): tests/fixtures is never
# written.

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
FREDCK=${FREDCK:-$TOP_SRCDIR/_build/fredck}
FIXTURES=${FIXTURES:-$TOP_SRCDIR/tests/fixtures/kvm}
export TOP_SRCDIR FREDCK FIXTURES

# setup_file's start in a file that makes QEMU streams: QEMU_PATCH and the
# peer functions (tests/qemu/qemu-peer.sh) for every test; QEMU_SKIP says
# why PEER's QEMU cannot run (empty when it can), and the status is then 1,
# so that setup_file stops making streams: qemu_setup_file debian12 || return 0
qemu_setup_file() { # PEER
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_SRCDIR/_build/tests/qemu/qemu-patch}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	QEMU_SKIP=$(qemu_peer_skip_reason "$1")
	export QEMU_SKIP
	[ -z "$QEMU_SKIP" ]
}

# Every fixture the suite knows (tests/fixtures/kvm/NAME).
ALL_FIXTURES=(pf-lost-cap pf-lost-nocap pf-pending-nopayload pf-pending-payload
	db-exact db-exact-nocap db-bs-tf db-stale-bs db-bd db-bt db-raw-payload
	nm-xfd nm-ts nm-noamx nm-unrecoverable nested clean gp-injected nofred
	sregs-legacy fred-msrs-missing multi)

# Each test works in $WORK, a directory of its own under $BATS_TEST_TMPDIR
# (where bats keeps files of its own, such as run --separate-stderr's).
setup() {
	[ -x "$FREDCK" ] || fail "FREDCK=$FREDCK is not an executable: build it first (make fredck)"
	WORK=$BATS_TEST_TMPDIR/work
	mkdir -p "$WORK" || fail "cannot make $WORK"
	cd "$WORK" || fail "cannot cd to $WORK"
}

# fixture NAME [COPY]: copy tests/fixtures/kvm/NAME to $WORK/COPY (default
# NAME) and print the copy's path.
fixture() {
	local name=$1 copy=${2:-$1}
	if [ ! -d "$FIXTURES/$name" ]; then
		echo "fixture $name is missing from $FIXTURES" >&2
		return 1
	fi
	rm -rf "${WORK:?}/$copy"
	cp -R "$FIXTURES/$name" "$WORK/$copy" || return 1
	echo "$WORK/$copy"
}

# fixtures NAME...: copy each fixture (as fixture does) and print the copies'
# paths, one per line; "all" stands for every fixture of ALL_FIXTURES.
fixtures() {
	local name
	[ "$*" = all ] && set -- "${ALL_FIXTURES[@]}"
	for name in "$@"; do
		fixture "$name" || return 1
	done
}

# tree_sum DIR: every entry of DIR (type, mode, path) and the sha256 of every
# regular file, paths relative to DIR, in a stable order.
tree_sum() {
	(
		cd "$1" || exit 1
		find . -printf '%y %m %p\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
	)
}

# leftovers DIR: the temporary trees fredck may leave in DIR (.NAME.fredck-*).
leftovers() {
	find "$1" -maxdepth 1 -name '.*.fredck-*' -printf '%f\n'
}

# assert_no_leftovers DIR...: no .NAME.fredck-* temporary tree in any DIR.
assert_no_leftovers() {
	local d left
	for d in "$@"; do
		left=$(leftovers "$d")
		[ -z "$left" ] || fail "temporary trees left in $d: $left"
	done
}

# ---- raw bytes ------------------------------------------------------------

# peek_u8 FILE OFFSET: the byte at OFFSET, decimal.
peek_u8() {
	od -An -tu1 -j "$2" -N1 "$1" | tr -d ' \n'
}

# peek_u32 FILE OFFSET: a little-endian u32, decimal.
peek_u32() {
	od -An -tu4 --endian=little -j "$2" -N4 "$1" | tr -d ' \n'
}

# peek_u64 FILE OFFSET: a little-endian u64 as fredck prints it, "0x%016x".
peek_u64() {
	printf '0x%s\n' "$(od -An -tx8 --endian=little -j "$2" -N8 "$1" | tr -d ' \n')"
}

# poke FILE OFFSET HEXBYTES: overwrite bytes at OFFSET ("ff00" writes 2 bytes).
poke() {
	local file=$1 off=$2 hex=$3 esc
	esc=$(sed 's/../\\x&/g' <<<"$hex")
	# shellcheck disable=SC2059
	printf "$esc" | dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}

# le_hex VALUE BYTES: VALUE as BYTES little-endian bytes, in hex.
le_hex() {
	local v=$1 n=$2 i out=
	for ((i = 0; i < n; i++)); do
		out+=$(printf '%02x' $(((v >> (8 * i)) & 0xff)))
	done
	echo "$out"
}

# poke_u32 FILE OFFSET VALUE, poke_u64 FILE OFFSET VALUE: little-endian.
poke_u32() {
	poke "$1" "$2" "$(le_hex "$3" 4)"
}
poke_u64() {
	poke "$1" "$2" "$(le_hex "$3" 8)"
}

# msr_entry FILE INDEX: the byte offset of the entry for MSR INDEX in a
# struct kvm_msrs file (its data is 8 bytes further); fails if absent.
msr_entry() {
	local file=$1 index=$(($2)) n i
	n=$(peek_u32 "$file" 0)
	for ((i = 0; i < n; i++)); do
		if [ "$(peek_u32 "$file" $((8 + 16 * i)))" = "$index" ]; then
			echo $((8 + 16 * i))
			return 0
		fi
	done
	return 1
}

# changed_offsets A B: the 0-based offsets at which two files of the same
# size differ, one per line (cmp -l counts from 1).
changed_offsets() {
	cmp -l "$1" "$2" | awk '{ print $1 - 1 }'
}

# expand_offsets SPEC...: "0 3 20-23" into one offset per line.
expand_offsets() {
	local s
	for s in "$@"; do
		if [[ $s == *-* ]]; then
			seq "${s%-*}" "${s#*-}"
		else
			echo "$s"
		fi
	done
}

# assert_changed_within A B SPEC...: A and B differ only at the offsets SPEC
# allows ("0 3 20-23 55 56-63"), and they do differ.
assert_changed_within() {
	local a=$1 b=$2 changed extra
	shift 2
	[ "$(stat -c %s "$a")" = "$(stat -c %s "$b")" ] || fail "$a and $b differ in size"
	changed=$(changed_offsets "$a" "$b")
	[ -n "$changed" ] || fail "$b is identical to $a"
	extra=$(comm -23 <(sort -u <<<"$changed") <(expand_offsets "$@" | sort -u))
	[ -z "$extra" ] || fail "$b differs from $a at offsets outside [$*]: $(tr '\n' ' ' <<<"$extra")"
}

# assert_only_events_differ IN OUT: the same entries, every file but
# vcpuN/events byte-identical.
assert_only_events_differ() {
	local in=$1 out=$2 f
	diff <(cd "$in" && find . | LC_ALL=C sort) <(cd "$out" && find . | LC_ALL=C sort) ||
		fail "$out does not hold the same files as $in"
	while IFS= read -r f; do
		case "$f" in
		./vcpu*/events) ;;
		*) cmp -s "$in/$f" "$out/$f" || fail "$f differs between $in and $out" ;;
		esac
	done < <(cd "$in" && find . -type f)
}

# inode FILE
inode() {
	stat -c %i "$1"
}

# fixture_value DIR KEY: the value of KEY in DIR/FIXTURE.
fixture_value() {
	sed -n "s/^$2=//p" "$1/FIXTURE"
}

# ---- JSON -------------------------------------------------------------------

# jqo FILTER: jq -r FILTER over $output (the last run's stdout).
jqo() {
	jq -r "$1" <<<"$output"
}

# vcpu N FILTER: jq -r over .inputs[0].vcpus[] with index N, in $output.
vcpu() {
	jq -r ".inputs[0].vcpus[] | select(.index == $1) | $2" <<<"$output"
}

# per_input FILTER: for each input in $output, "NAME: " and FILTER applied to
# its vCPU 0, one line each (NAME: the last component of the input's path).
per_input() {
	jq -r ".inputs[] | \"\(.path | split(\"/\") | last): \(.vcpus[0] | $1)\"" <<<"$output"
}

# lines_of SUFFIX NAME...: "NAME: SUFFIX" for each NAME, one per line (what
# per_input prints when every input gives SUFFIX).
lines_of() {
	local suffix=$1 name
	shift
	for name in "$@"; do
		echo "$name: $suffix"
	done
}

# check_json NAME [OPTION...]: copy fixture NAME and run fredck check --json on
# it (status and output as run sets them; stderr apart).
check_json() {
	local name=$1 dir
	shift
	dir=$(fixture "$name") || fail "no fixture $name"
	run --separate-stderr "$FREDCK" check --json "$@" "$dir"
	jq -e '.inputs[0]' <<<"$output" >/dev/null || fail "check --json gave no JSON: $output $stderr"
	assert_valid_json
}

# assert_valid_json [--ndjson]: $output (a document, or NDJSON records)
# validates against schema/fredck.schema.json (tests/schema/validate.py).
assert_valid_json() {
	local why
	why=$(printf '%s\n' "$output" | python3 "$TOP_SRCDIR/tests/schema/validate.py" "$@" 2>&1) ||
		fail "the JSON does not validate against schema/fredck.schema.json: $why"
}

# codes N: the finding codes of vCPU N in $output, space-separated, "-" if none.
codes() {
	local c
	c=$(vcpu "$1" '[.findings[].code] | join(" ")')
	echo "${c:--}"
}

# ---- stderr -----------------------------------------------------------------

# assert_stderr_contains TEXT...: every TEXT appears in $stderr (run
# --separate-stderr).
assert_stderr_contains() {
	local t
	for t in "$@"; do
		[[ "$stderr" == *"$t"* ]] || fail "stderr lacks '$t': $stderr"
	done
}

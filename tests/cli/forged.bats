#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The forged-section attack of issue 14, on real QEMU: a guest puts a copy of
# a `cpu` section into its own device state, and fredck must never take it
# for a vCPU.
#
# The guest (tests/qemu/ide-park.s, assembled here) is a boot sector that
# asks its IDE disk for 16 sectors with READ MULTIPLE and halts without
# reading them: QEMU then migrates the drive's 128 KiB PIO buffer inside the
# `ide` section, and the disk's sectors 1-16 hold a `cpu` section copied from
# a real stream of the same QEMU (vCPU 1, patched at risk: FRED, #PF
# injected), its instance id changed to 7, its footer and the header of the
# section that followed it included.  Each stream is saved with and without
# QEMU's device description (suppress-vmdesc); a reader that finds cpu
# sections by their 17-byte header sees 3 vCPUs, and a filter that repairs
# "vCPU 7" writes bytes inside the IDE buffer (issue 14, item 1).
#
# What is asserted, for each QEMU peer here (7.2, and 10.0, 11.1 where their
# chroots are; see tests/qemu/README.md, "The forged-section guest"):
#   - the saved `ide` section carries the forged bytes (checked with Perl,
#     independently of fredck);
#   - check FILE and check - (a pipe) report only vCPUs 0 and 1, never 7,
#     with and without a description (exit 0: nothing real is at risk);
#     without one, each vCPU carries the note FK304;
#   - repair - -o - of the described stream repairs nothing: its output
#     loads in the same QEMU, or it fails loudly (exit 8, no end-of-file
#     marker, QEMU refuses it); the same through QEMU's own exec: migration;
#   - without a description, repair (with or without --force) repairs
#     nothing: the output is the input and loads;
#   - the second attack (twice.bin): the planted bytes also close the ide
#     section and reopen it, so that without a description the device
#     state reads two ways: check (file, pipe) and the filter refuse it
#     (exit 8, no complete stream), never naming vCPU 7; with the
#     description it reads vCPUs 0 and 1 only.

bats_require_minimum_version 1.5.0

# --- What fredck says where the issue leaves the words open. -------------
# check of a stream without description says the cpu sections were located
# by a scan (of their footers):
SCAN_NOTE_RE='scan'        # an ERE (grep -Ei) the note matches
# ---------------------------------------------------------------------------

SMP=2                # real vCPUs: 0 and 1
FORGED=7             # the forged section's instance id
PEERS="debian12 trixie sid"
# The guest is parked: vCPU 0 halted in the boot sector (0000:7c00-7dff).
PARKED='EIP=00007[cd][0-9a-f]{2} .*HLT=1'

# build_peer PEER DIR: the disk and the two attack streams of PEER in DIR.
build_peer() {
	local peer=$1 d=$2 shape=(--machine pc --smp "$SMP" --mem 64)
	# A real stream of this QEMU; vCPU 1 patched at risk, as qemu.bats does.
	qemu_make_stream "$peer" "$d/base.bin" "${shape[@]}" || return 1
	"$QEMU_PATCH" "$d/base.bin" "$d/risk.bin" 1 'cr4=|0x1000000a0' efer=0xd01 \
		cr0=0x80050033 exception_nr=14 cr2=0x7f3a1c2e5008 >/dev/null || return 1
	# vCPU 1's section, header to footer (7e + its section id), then the
	# next section's header if one follows (04 ...), as the real stream has
	# it: a reader that took the forged section goes on as after vCPU 1.
	# Instance id 1 -> 7.
	FORGED=$FORGED perl -0777 -ne '
		/\x04(....)\x03cpu\x00\x00\x00\x01\x00\x00\x00\x0c/s or die "no vCPU 1 header\n";
		my ($h, $sid) = ($-[0], $1);
		my $f = index($_, "\x7e$sid", $h + 17 + 1817);
		$f > 0 or die "no footer for vCPU 1\n";
		my $e = $f + 5;
		my $n = substr($_, $e, 1) eq "\x04" ? 1 + 4 + 1 + ord(substr($_, $e + 5, 1)) + 8 : 0;
		my $sec = substr($_, $h, $e + $n - $h);
		substr($sec, 9, 4) = pack("N", $ENV{FORGED});
		print $sec;
	' "$d/risk.bin" >"$d/forged.sec" || return 1
	[ "$(stat -c %s "$d/forged.sec")" -le 8192 ] || {
		echo "the forged section is longer than the 16 sectors read" >&2
		return 1
	}
	# The disk: the boot sector, then the forged bytes from sector 1; 1 MiB.
	cat "$S/boot.bin" "$d/forged.sec" >"$d/disk.img" && truncate -s 1M "$d/disk.img" || return 1
	qemu_make_stream "$peer" "$d/desc.bin" "${shape[@]}" --drive "$d/disk.img" \
		--run-until "$PARKED" || return 1
	qemu_make_stream "$peer" "$d/nodesc.bin" "${shape[@]}" --drive "$d/disk.img" \
		--run-until "$PARKED" --suppress-vmdesc || return 1
	# The second attack (twice.bin): the planted bytes also close the ide
	# section (7e + its section id) before the forged cpu section and
	# reopen it after (a copy of its real header), so that the device state
	# reads two ways to its end: the real one, and one with vCPU 7.
	perl -0777 -e '
		my ($s, $sec) = map { open(my $f, "<", $_) or die "$_: $!\n"; local $/; <$f> } @ARGV;
		my $i = index($s, "\x100000:00:01.1/ide");
		$i > 5 && substr($s, $i - 5, 1) eq "\x04" or die "no ide section header\n";
		my $hdr = substr($s, $i - 5, 1 + 4 + 1 + 16 + 8);
		my $sid = substr($hdr, 1, 4);
		my $csid = substr($sec, 1, 4);
		my $f = index($sec, "\x7e$csid", 17 + 1817);
		$f > 0 or die "no footer in the forged section\n";
		print "\x7e$sid", substr($sec, 0, $f + 5), $hdr;
	' "$d/nodesc.bin" "$d/forged.sec" >"$d/twice.sec" || return 1
	[ "$(stat -c %s "$d/twice.sec")" -le 8192 ] || return 1
	cat "$S/boot.bin" "$d/twice.sec" >"$d/disk2.img" && truncate -s 1M "$d/disk2.img" || return 1
	qemu_make_stream "$peer" "$d/twice.bin" "${shape[@]}" --drive "$d/disk2.img" \
		--run-until "$PARKED" --suppress-vmdesc || return 1
	qemu_make_stream "$peer" "$d/twice-desc.bin" "${shape[@]}" --drive "$d/disk2.img" \
		--run-until "$PARKED" || return 1
}

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	export TOP_SRCDIR
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_SRCDIR/_build/tests/qemu/qemu-patch}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	S=$BATS_FILE_TMPDIR
	local peer tools=""
	if ! command -v as >/dev/null || ! command -v ld >/dev/null; then
		tools="the guest needs as and ld (binutils; scripts/install-deps.sh)"
	elif ! command -v perl >/dev/null; then
		tools="needs perl"
	elif [ ! -x "$QEMU_PATCH" ]; then
		tools="QEMU_PATCH=$QEMU_PATCH is not built (make check builds it)"
	elif ! as --32 -o "$S/ide-park.o" "$TOP_SRCDIR/tests/qemu/ide-park.s" 2>"$S/as.err" ||
		! ld -m elf_i386 -Ttext=0x7c00 -e _start --oformat=binary \
			-o "$S/boot.bin" "$S/ide-park.o" 2>>"$S/as.err"; then
		# binutils is there, so this is a failure, not a skip.
		for peer in $PEERS; do cp "$S/as.err" "$S/$peer.err"; done
		return 0
	fi
	for peer in $PEERS; do
		if [ -n "$tools" ]; then
			echo "$tools" >"$S/$peer.skip"
			continue
		fi
		qemu_peer_skip_reason "$peer" >"$S/$peer.skip"
		[ -s "$S/$peer.skip" ] && continue
		mkdir -p "$S/$peer"
		build_peer "$peer" "$S/$peer" >"$S/$peer.log" 2>&1 || cp "$S/$peer.log" "$S/$peer.err"
	done
}

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	FREDCK=${FREDCK:-$TOP_SRCDIR/_build/fredck}
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	S=$BATS_FILE_TMPDIR
	W=$BATS_TEST_TMPDIR
}

# use_peer PEER: skip (with the reason) when PEER is not here; fail when its
# streams could not be made; else D is its directory.
use_peer() {
	PEER=$1
	[ ! -e "$S/$PEER.err" ] || fail "$PEER: the attack streams could not be made: $(cat "$S/$PEER.err")"
	[ ! -s "$S/$PEER.skip" ] || skip "$(cat "$S/$PEER.skip")"
	D=$S/$PEER
}

# load_args KIND: qemu_load_stream's options for a stream of KIND.
load_args() {
	LOAD=(--machine pc --smp "$SMP" --mem 64 --drive "$D/disk.img")
	[ "$1" = desc ] || LOAD+=(--suppress-vmdesc)
}

# complete FILE: does FILE end as a whole QEMU stream does: a section footer
# (7e + section id) then the end-of-file marker 00, last (suppress-vmdesc),
# or followed by 06, a be32 length and that many bytes of JSON ('{' first)?
complete() {
	perl -0777 -ne '
		my $L = length;
		exit 0 if $L >= 6 && substr($_, -1) eq "\x00" && substr($_, -6, 1) eq "\x7e";
		my $p = $L;
		while ($p > 0 && $L - $p < (1 << 24) && ($p = rindex($_, "\x00\x06", $p - 1)) >= 5) {
			my $n = unpack("N", substr($_, $p + 2, 4));
			exit 0 if $p + 6 + $n == $L && substr($_, $p + 6, 1) eq "{" &&
				substr($_, $p - 5, 1) eq "\x7e";
		}
		exit 1;
	' "$1"
}

# no_ghost TEXT [WHAT]: TEXT (fredck's report) names no vCPU beyond the
# real ones and counts no more vCPUs than -smp; WHAT (the exit status, what
# QEMU made of the output) goes into the failure message.
no_ghost() {
	local n what=${2:+$2; }
	if grep -Eq "vCPU ([$SMP-9]|[1-9][0-9]+)\b" <<<"$1"; then
		fail "${what}fredck reports a vCPU that does not exist (the stream has $SMP): $(grep -E 'vCPU|vCPUs' <<<"$1" | head -5)"
	fi
	for n in $(grep -Eo '[0-9]+ vCPUs' <<<"$1" | grep -Eo '^[0-9]+'); do
		[ "$n" -le "$SMP" ] || fail "${what}fredck counts $n vCPUs (the stream has $SMP): $(grep -E 'vCPUs' <<<"$1" | head -3)"
	done
	if grep -Eq "\"index\": *([$SMP-9]|[1-9][0-9]+)\b" <<<"$1"; then
		fail "${what}fredck's JSON has a vCPU index beyond $((SMP - 1))"
	fi
}

# qemu_verdict FILE KIND: load FILE in PEER; LOADED its exit status, VERDICT
# QEMU's words on one line.
qemu_verdict() {
	load_args "$2"
	run qemu_load_stream "$PEER" "$1" "${LOAD[@]}"
	LOADED=$status
	VERDICT=$(grep -v 'warning:' <<<"$output" | head -n 3 | tr '\n' ' ')
}

# check_real PEER KIND file|pipe: check -j FILE / check -j - <FILE reports
# vCPUs 0 and 1 only (exit 0); without a description it may refuse (exit
# 8, naming no vCPU), and when it reads the stream it says it scanned.
check_real() {
	local kind=$2 how=$3 f idx st js
	use_peer "$1"
	f=$D/$kind.bin
	if [ "$how" = file ]; then
		run "$FREDCK" check -j "$f"
	else
		run bash -c '"$1" check -j - <"$2"' _ "$FREDCK" "$f"
	fi
	st=$status js=$output
	idx=$(jq -r '[.inputs[0].vcpus[]?.index | tostring] | join(",")' <<<"$js" 2>/dev/null)
	case "$st" in
	0) [ "$idx" = 0,1 ] || fail "check ($how): exit 0, vCPUs [$idx] (the stream has vCPUs 0,1)" ;;
	*) fail "check ($how) of $kind.bin: exit $st, vCPUs [$idx] (the stream has vCPUs 0,1, none at risk: expected exit 0): $js" ;;
	esac
	no_ghost "$js"
	if [ "$kind" = nodesc ]; then
		jq -e '[.inputs[0].vcpus[] | [.findings[].code] | index("FK304") != null] | all' <<<"$js" \
			>/dev/null || fail "check ($how): a vCPU located without a description lacks FK304: $js"
	fi
	# The text report: the same, and the scan said.
	if [ "$how" = file ]; then
		run "$FREDCK" check "$f"
	else
		run bash -c '"$1" check - <"$2"' _ "$FREDCK" "$f"
	fi
	assert_equal "$status" "$st"
	no_ghost "$output"
	if [ "$kind" = nodesc ] && [ "$st" = 0 ]; then
		grep -Eqi -- "$SCAN_NOTE_RE" <<<"$output" ||
			fail "check ($how) of a stream without description found its cpu sections by a scan and does not say so (/$SCAN_NOTE_RE/): $output"
	fi
}

# filter_loud PEER: repair - -o - of the described stream: nothing repaired,
# and the output loads in QEMU, or exit 8 with no complete stream.
filter_loud() {
	local st err ctx
	use_peer "$1"
	run bash -c '"$1" repair - -o - <"$2" >"$3" 2>"$4"' _ "$FREDCK" "$D/desc.bin" "$W/out.bin" "$W/err"
	st=$status err=$(cat "$W/err")
	qemu_verdict "$W/out.bin" desc
	ctx="repair - -o -: exit $st; QEMU on its output: $VERDICT"
	no_ghost "$err" "$ctx"
	case "$st" in
	0) [ "$LOADED" -eq 0 ] || fail "$ctx (exit 0, so it must load)" ;;
	8)
		! complete "$W/out.bin" || fail "$ctx: a complete stream after exit 8"
		[ "$LOADED" -ne 0 ] || fail "$ctx: exit 8 but QEMU loads the output"
		;;
	*) fail "$ctx (nothing is at risk: 0, or 8 failing loudly): $err" ;;
	esac
}

# passes_unchanged PEER file|filter: repair of the stream without description,
# with and without --force, finds nothing at risk (the real vCPUs are not;
# the planted vCPU 7 is no vCPU): exit 0, the output is the input byte for
# byte (nothing inserted into the ide section), and it loads in QEMU.
passes_unchanged() {
	local how=$2 force st err ctx
	use_peer "$1"
	for force in "" --force; do
		rm -f "$W/out.bin"
		if [ "$how" = file ]; then
			run --separate-stderr "$FREDCK" repair $force "$D/nodesc.bin" -o "$W/out.bin"
			st=$status err="$output$stderr"
		else
			run bash -c '"$1" repair $2 - -o - <"$3" >"$4" 2>"$5"' _ "$FREDCK" "$force" \
				"$D/nodesc.bin" "$W/out.bin" "$W/err"
			st=$status err=$(cat "$W/err")
		fi
		ctx="repair $force ($how, no description): exit $st"
		[ "$st" -eq 0 ] || fail "$ctx; expected 0 (vCPUs 0 and 1 are not at risk): $err"
		no_ghost "$err" "$ctx"
		cmp -s "$D/nodesc.bin" "$W/out.bin" || fail "$ctx: the output differs from the input"
	done
	qemu_verdict "$W/out.bin" nodesc
	[ "$LOADED" -eq 0 ] || fail "$ctx: the unchanged output does not load: $VERDICT"
}

# twice_refused PEER file|pipe|filter: the stream whose device state reads
# two ways (no description): check (a file, a pipe) and repair --force
# through the filter refuse it (exit 8, saying why), name no vCPU 7, and the
# filter leaves no complete stream, which QEMU refuses.
twice_refused() {
	local how=$2 st out
	use_peer "$1"
	case "$how" in
	file) run --separate-stderr "$FREDCK" check "$D/twice.bin" ;;
	pipe) run --separate-stderr bash -c '"$1" check - <"$2"' _ "$FREDCK" "$D/twice.bin" ;;
	filter)
		run --separate-stderr bash -c '"$1" repair --force - -o - <"$2" >"$3"' _ "$FREDCK" \
			"$D/twice.bin" "$W/out.bin"
		;;
	esac
	st=$status out="$output$stderr"
	[ "$st" -eq 8 ] || fail "$how: exit $st; expected 8 (two readings): $out"
	grep -q 'more than one way' <<<"$out" || fail "$how: the refusal does not say why: $out"
	no_ghost "$out" "$how: exit $st"
	if [ "$how" = filter ]; then
		! complete "$W/out.bin" || fail "filter: a complete stream after exit 8"
		qemu_verdict "$W/out.bin" nodesc
		[ "$LOADED" -ne 0 ] || fail "filter: exit 8 but QEMU loads the output"
	fi
}

# twice PEER: the second attack as QEMU saved it: the planted bytes sit at
# the start of the PIO buffer, inside the ide section, whose real footer
# comes after them; the description, where QEMU wrote one, still makes
# check read vCPUs 0 and 1 only, and repair --force -o writes nothing.
twice() {
	local st
	use_peer "$1"
	run perl -0777 -e '
		my ($s, $sec) = map { open(my $f, "<", $_) or die "$_: $!\n"; local $/; <$f> } @ARGV;
		my $i = index($s, "\x100000:00:01.1/ide");
		my $sid = substr($s, $i - 4, 4);
		my $p = index($s, $sec);
		$p > $i or die "the planted bytes are not in the stream after the ide header\n";
		my $f = index($s, "\x7e$sid", $p + length $sec);
		$f > 0 or die "no real ide footer after the planted bytes\n";
		print "planted at $p, ide footer at $f\n";
	' "$D/twice.bin" "$D/twice.sec"
	assert_success
	check_real "$1" twice-desc file
	run --separate-stderr "$FREDCK" repair --force "$D/twice.bin" -o "$W/out.bin"
	st=$status
	[ "$st" -eq 8 ] || fail "repair --force -o: exit $st; expected 8: $output$stderr"
	[ ! -e "$W/out.bin" ] || fail "repair --force -o: exit 8 but an output was written"
}

# through_exec PEER: QEMU migrates through the filter (exec:), as a libvirt
# hook would; the state is saved whole (loads) or the failure is loud.
through_exec() {
	local made st ctx
	use_peer "$1"
	printf '#!/bin/sh\n"%s" repair - -o - 2>"%s"\necho $? >"%s"\n' \
		"$FREDCK" "$W/via.err" "$W/via.rc" >"$W/filter.sh"
	chmod +x "$W/filter.sh"
	run qemu_make_stream "$PEER" "$W/via.bin" --machine pc --smp "$SMP" --mem 64 \
		--drive "$D/disk.img" --run-until "$PARKED" --via "$W/filter.sh"
	made=$status
	[ -s "$W/via.rc" ] || fail "the filter did not run: $output"
	st=$(cat "$W/via.rc")
	ctx="migrate exec:fredck repair - -o -: fredck exit $st, migration ${made/#0/completed}"
	if [ -e "$W/via.bin" ]; then
		qemu_verdict "$W/via.bin" desc
		ctx="$ctx; QEMU on the saved state: $VERDICT"
	fi
	no_ghost "$(cat "$W/via.err")" "$ctx"
	case "$st" in
	0) [ "$made" -eq 0 ] && [ "$LOADED" -eq 0 ] || fail "$ctx (exit 0, so it must load)" ;;
	8)
		if [ -e "$W/via.bin" ]; then
			! complete "$W/via.bin" || fail "$ctx: a complete stream after exit 8"
			[ "$LOADED" -ne 0 ] || fail "$ctx: exit 8 but QEMU loads the saved state"
		fi
		;;
	*) fail "$ctx (0, or 8 failing loudly): $(cat "$W/via.err")" ;;
	esac
}

# carried PEER: the ide section of both streams carries the forged section
# at the start of the PIO buffer, and the stream holds three `cpu` headers
# (0, 1 and the forged 7).  Read with Perl, not fredck.
carried() {
	local kind
	use_peer "$1"
	for kind in desc nodesc; do
		run perl -0777 -e '
			my ($s, $sec) = map { open(my $f, "<", $_) or die "$_: $!\n"; local $/; <$f> } @ARGV;
			my $i = index($s, "0000:00:01.1/ide");
			$i > 6 && substr($s, $i - 1, 1) eq "\x10" && substr($s, $i - 6, 1) eq "\x04"
				or die "no ide section header\n";
			my $sid = substr($s, $i - 5, 4);
			my $p = index($s, "\x05\x13ide_drive/pio_state", $i);
			$p > 0 or die "no ide_drive/pio_state subsection: the command is not parked\n";
			my $buf = $p + 2 + 19 + 4 + 4;   # name, version, req_nb_sectors
			substr($s, $buf, length $sec) eq $sec
				or die "the PIO buffer at $buf does not start with the forged section\n";
			my $foot = index($s, "\x7e$sid", $i);
			$foot > $buf + length $sec or die "the ide section ends before the forged bytes\n";
			my @inst;
			push @inst, unpack("N", $1) while $s =~ /\x04....\x03cpu(....)\x00\x00\x00\x0c/gs;
			printf "ide section at %d, PIO buffer at %d, forged section %d bytes, its footer at %d; cpu headers: %s\n",
				$i - 6, $buf, length $sec, $foot, join(" ", @inst);
		' "$D/$kind.bin" "$D/forged.sec"
		assert_success
		assert_output --partial "cpu headers: 0 1 $FORGED"
		# The helper the filter tests rely on: QEMU's own stream is
		# complete, a prefix of it is not.
		complete "$D/$kind.bin" || fail "complete() does not recognise QEMU's $kind stream"
		head -c -4096 "$D/$kind.bin" >"$W/cut.bin"
		! complete "$W/cut.bin" || fail "complete() takes a cut $kind stream for a whole one"
	done
}

# --- QEMU 7.2 (Debian 12) -------------------------------------------------
@test "forged/debian12: the parked guest's ide section carries the forged cpu section, with and without description" {
	carried debian12
}
@test "forged/debian12, described: check FILE reports vCPUs 0 and 1 only" {
	check_real debian12 desc file
}
@test "forged/debian12, described: check - (pipe) reports vCPUs 0 and 1 only" {
	check_real debian12 desc pipe
}
@test "forged/debian12, described: repair - -o - repairs no ghost; its output loads, or exit 8 and no end-of-file marker" {
	filter_loud debian12
}
@test "forged/debian12, described: migrate exec:fredck repair - -o - saves a loadable state or fails loudly" {
	through_exec debian12
}
@test "forged/debian12, no description: check FILE reports vCPUs 0 and 1 only, each with FK304" {
	check_real debian12 nodesc file
}
@test "forged/debian12, no description: check - reports vCPUs 0 and 1 only, each with FK304" {
	check_real debian12 nodesc pipe
}
@test "forged/debian12, no description: repair FILE -o OUT, with and without --force, repairs nothing; the copy is the input and loads" {
	passes_unchanged debian12 file
}
@test "forged/debian12, no description: repair - -o - with and without --force repairs nothing; the stream passes unchanged and loads" {
	passes_unchanged debian12 filter
}
@test "forged/debian12, read two ways: the planted bytes are in the ide section; described, check reads vCPUs 0 and 1; repair --force FILE -o OUT refuses, writes nothing" {
	twice debian12
}
@test "forged/debian12, read two ways, no description: check FILE refuses (exit 8), no vCPU 7" {
	twice_refused debian12 file
}
@test "forged/debian12, read two ways, no description: check - refuses (exit 8), no vCPU 7" {
	twice_refused debian12 pipe
}
@test "forged/debian12, read two ways, no description: repair --force - -o - fails loudly: exit 8, no complete stream, QEMU refuses it" {
	twice_refused debian12 filter
}

# --- QEMU 10.0 (Debian 13 chroot) ------------------------------------------
@test "forged/trixie: the parked guest's ide section carries the forged cpu section, with and without description" {
	carried trixie
}
@test "forged/trixie, described: check FILE reports vCPUs 0 and 1 only" {
	check_real trixie desc file
}
@test "forged/trixie, described: check - (pipe) reports vCPUs 0 and 1 only" {
	check_real trixie desc pipe
}
@test "forged/trixie, described: repair - -o - repairs no ghost; its output loads, or exit 8 and no end-of-file marker" {
	filter_loud trixie
}
@test "forged/trixie, described: migrate exec:fredck repair - -o - saves a loadable state or fails loudly" {
	through_exec trixie
}
@test "forged/trixie, no description: check FILE reports vCPUs 0 and 1 only, each with FK304" {
	check_real trixie nodesc file
}
@test "forged/trixie, no description: check - reports vCPUs 0 and 1 only, each with FK304" {
	check_real trixie nodesc pipe
}
@test "forged/trixie, no description: repair FILE -o OUT, with and without --force, repairs nothing; the copy is the input and loads" {
	passes_unchanged trixie file
}
@test "forged/trixie, no description: repair - -o - with and without --force repairs nothing; the stream passes unchanged and loads" {
	passes_unchanged trixie filter
}
@test "forged/trixie, read two ways: the planted bytes are in the ide section; described, check reads vCPUs 0 and 1; repair --force FILE -o OUT refuses, writes nothing" {
	twice trixie
}
@test "forged/trixie, read two ways, no description: check FILE refuses (exit 8), no vCPU 7" {
	twice_refused trixie file
}
@test "forged/trixie, read two ways, no description: check - refuses (exit 8), no vCPU 7" {
	twice_refused trixie pipe
}
@test "forged/trixie, read two ways, no description: repair --force - -o - fails loudly: exit 8, no complete stream, QEMU refuses it" {
	twice_refused trixie filter
}

# --- QEMU 11.1 (Debian unstable chroot) -------------------------------------
@test "forged/sid: the parked guest's ide section carries the forged cpu section, with and without description" {
	carried sid
}
@test "forged/sid, described: check FILE reports vCPUs 0 and 1 only" {
	check_real sid desc file
}
@test "forged/sid, described: check - (pipe) reports vCPUs 0 and 1 only" {
	check_real sid desc pipe
}
@test "forged/sid, described: repair - -o - repairs no ghost; its output loads, or exit 8 and no end-of-file marker" {
	filter_loud sid
}
@test "forged/sid, described: migrate exec:fredck repair - -o - saves a loadable state or fails loudly" {
	through_exec sid
}
@test "forged/sid, no description: check FILE reports vCPUs 0 and 1 only, each with FK304" {
	check_real sid nodesc file
}
@test "forged/sid, no description: check - reports vCPUs 0 and 1 only, each with FK304" {
	check_real sid nodesc pipe
}
@test "forged/sid, no description: repair FILE -o OUT, with and without --force, repairs nothing; the copy is the input and loads" {
	passes_unchanged sid file
}
@test "forged/sid, no description: repair - -o - with and without --force repairs nothing; the stream passes unchanged and loads" {
	passes_unchanged sid filter
}
@test "forged/sid, read two ways: the planted bytes are in the ide section; described, check reads vCPUs 0 and 1; repair --force FILE -o OUT refuses, writes nothing" {
	twice sid
}
@test "forged/sid, read two ways, no description: check FILE refuses (exit 8), no vCPU 7" {
	twice_refused sid file
}
@test "forged/sid, read two ways, no description: check - refuses (exit 8), no vCPU 7" {
	twice_refused sid pipe
}
@test "forged/sid, read two ways, no description: repair --force - -o - fails loudly: exit 8, no complete stream, QEMU refuses it" {
	twice_refused sid filter
}

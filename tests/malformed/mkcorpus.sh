#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mkcorpus.sh OUTDIR KVMDIR_BASE [QEMU_STREAM [NODESC_STREAM LIBVIRT_RAW LIBVIRT_GZIP]]
#
# The systematic malformed-input corpus (issue 6): every case is a copy of
# a good input broken in one way that no loader accepts.  Writes the cases
# under OUTDIR and one manifest line per case to OUTDIR/manifest:
#   FORMAT <TAB> CASE <TAB> PATH [<TAB> file]
# where "file" marks a case whose error can only name a file (one that is
# missing): no offset or field exists for it.
# tests/cli/corpus.bats runs fredck on each: exit 8, an error naming the
# file, the byte offset and the field, no output, no change, bounded time
# and memory.  Offsets are found by scanning the bytes, not by fredck.
#
#   kvm-dir  KVMDIR_BASE (a kvm-dir with vcpu0 holding events, regs,
#            sregs2, debugregs, xcrs, msrs; tests/fixtures/kvm/pf-lost-cap)
#            and, beside it, the fixtures "multi" and "nested";
#   qemu     QEMU_STREAM (real QEMU, 2 vCPUs, with a description, vCPU 0
#            at risk) and NODESC_STREAM (the same without description);
#   libvirt  LIBVIRT_RAW and LIBVIRT_GZIP (mklibvirt.sh images of it);
#   firecracker  state files of releases v1.6, v1.7, v1.10 and v1.14 (and
#            of every release for the schema cases) written by $MKFCSNAP
#            (tests/fc/mkfcsnap), when that is set;
#   cloud-hypervisor  snapshot directories of both layout families (v53,
#            v29) written by $CHV_GEN (tests/chv/chv-gen), when that is set.
set -eu
out=$1 kvm=$2 qemu=${3:-} nodesc=${4:-} lvraw=${5:-} lvgz=${6:-}
mkdir -p "$out"
: >"$out/manifest"
n=0

add() { # FORMAT CASE PATH [file|offset [FIELD]]: FIELD, when given, must be the one named
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-offset}" "${5:-}" >>"$out/manifest"
}

size() { stat -c %s "$1"; }

byte_at() { # FILE OFFSET: decimal
	od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '
}

poke_hex() { # FILE OFFSET HEXBYTES ("00ff...")
	local esc
	esc=$(printf '%s' "$3" | sed 's/../\\x&/g')
	# shellcheck disable=SC2059
	printf "$esc" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

be32_hex() { printf '%08x' "$(($1 & 0xffffffff))"; }
le32_hex() {
	local v=$(($1 & 0xffffffff))
	printf '%02x%02x%02x%02x' $((v & 255)) $((v >> 8 & 255)) $((v >> 16 & 255)) $((v >> 24 & 255))
}

# A copy of file SRC with the bit BIT of byte OFF flipped: into DST.
flip_file() { # SRC OFF BIT DST
	cp "$1" "$4"
	poke_hex "$4" "$2" "$(printf '%02x' $(($(byte_at "$1" "$2") ^ (1 << $3))))"
}

# Deterministic "random" offsets: COUNT of them in [LO, HI).
random_offsets() { # COUNT LO HI SEED
	awk -v n="$1" -v lo="$2" -v hi="$3" -v s="$4" \
		'BEGIN {srand(s); for (i = 0; i < n; i++) print lo + int(rand() * (hi - lo))}' | sort -nu
}

# ---- kvm-dir ------------------------------------------------------------

kvm_case() { # NAME: a fresh copy of the base as OUT/kvm-dir/NAME; prints its path
	local d="$out/kvm-dir/$1"
	rm -rf "$d"
	mkdir -p "$out/kvm-dir"
	cp -r "$kvm" "$d"
	echo "$d"
}

kvm_truncations() { # FILE STEP
	local f=$1 step=$2 full cut d
	full=$(size "$kvm/vcpu0/$f")
	for ((cut = 0; cut < full; cut += step)); do
		d=$(kvm_case "$f-cut-$cut")
		truncate -s "$cut" "$d/vcpu0/$f"
		add kvm-dir "vcpu0/$f truncated to $cut bytes" "$d"
	done
	for extra in 1 4096; do
		d=$(kvm_case "$f-long-$extra")
		truncate -s $((full + extra)) "$d/vcpu0/$f"
		add kvm-dir "vcpu0/$f $extra bytes too long" "$d"
	done
}

kvm_flips() { # FILE OFFSET FIRST_BIT LAST_BIT WHAT
	local b d
	for ((b = $3; b <= $4; b++)); do
		d=$(kvm_case "$1-$2-bit$b")
		flip_file "$kvm/vcpu0/$1" $(($2 + b / 8)) $((b % 8)) "$d/vcpu0/$1"
		add kvm-dir "vcpu0/$1 $5: bit $b flipped" "$d"
	done
}

make_kvmdir_cases() {
	local d base
	kvm_truncations events 1
	kvm_truncations regs 8
	kvm_truncations sregs2 16
	kvm_truncations debugregs 8
	kvm_truncations xcrs 8
	kvm_truncations msrs 4
	# struct kvm_vcpu_events: exception.nr (byte 1) to a vector >= 32;
	# flags (u32 at 20) bits the kernel does not know (0x80 and up).
	kvm_flips events 1 5 7 exception.nr
	kvm_flips events 20 7 31 flags
	# struct kvm_msrs: nmsrs (u32 at 0) no longer matching the entries.
	kvm_flips msrs 0 0 31 nmsrs
	# struct kvm_xcrs: nr_xcrs (u32 at 0) above 16.
	kvm_flips xcrs 0 5 31 nr_xcrs
	# struct kvm_debugregs: flags (u64 at 48) must be 0; DR6/DR7 above 32 bits.
	kvm_flips debugregs 48 0 15 flags
	kvm_flips debugregs 32 32 39 dr6
	kvm_flips debugregs 40 32 39 dr7
	# struct kvm_sregs2: flags (u64 at 280) beyond PDPTRS_VALID.
	kvm_flips sregs2 280 1 31 flags
	# Missing parts of a vCPU: its events, all of it (an empty vcpu1/).
	base=$(dirname "$kvm")
	for f in events; do
		d=$(kvm_case "no-$f")
		rm "$d/vcpu0/$f"
		add kvm-dir "vcpu0/$f missing" "$d" file
	done
	d="$out/kvm-dir/multi-empty-vcpu1"
	rm -rf "$d" && cp -r "$base/multi" "$d" && rm -f "$d"/vcpu1/*
	add kvm-dir "vcpu1/ empty" "$d" file
	d="$out/kvm-dir/multi-vcpu2-events-cut"
	rm -rf "$d" && cp -r "$base/multi" "$d" && truncate -s 10 "$d/vcpu2/events"
	add kvm-dir "vcpu2/events truncated" "$d"
	# struct kvm_nested_state: format (u16 at 2), size (u32 at 4).
	for v in 0002 00ff ffff; do
		d="$out/kvm-dir/nested-format-$v"
		rm -rf "$d" && cp -r "$base/nested" "$d" && poke_hex "$d/vcpu0/nested" 2 "$v"
		add kvm-dir "vcpu0/nested format 0x$v" "$d"
	done
	for v in 00000000 7f000000 ffffffff; do
		d="$out/kvm-dir/nested-size-$v"
		rm -rf "$d" && cp -r "$base/nested" "$d" && poke_hex "$d/vcpu0/nested" 4 "$v"
		add kvm-dir "vcpu0/nested size 0x$v (LE bytes)" "$d"
	done
}

# ---- QEMU ---------------------------------------------------------------

# The description: its offset (06, be32 length, JSON to the end), or the size.
vmdesc_offset() {
	perl -0777 -ne '
		my $n = length($_); my $at = $n;
		for (my $i = $n - 6; $i >= 0; $i--) {
			if (substr($_, $i, 1) eq "\x06" && substr($_, $i + 5, 1) eq "{" &&
			    unpack("N", substr($_, $i + 1, 4)) == $n - $i - 5) { $at = $i; last }
		}
		print $at' "$1"
}

# Offsets in FILE where the Perl regex RE matches (grep would stop at the
# newline byte 0x0a, a valid section id).
offsets() { # FILE RE
	RE=$2 perl -0777 -ne \
		'my $re = $ENV{RE}; while (/$re/sg) { print $-[0], "\n"; pos() = $-[0] + 1 }' "$1"
}
# Section footers: 7e, a small section id, then a section type.
footers() { offsets "$1" '\x7e\x00\x00\x00[\x00-\x40][\x00-\x08]'; }
# FULL section headers: 04, a small id, an idstr length and a printable name.
full_headers() { offsets "$1" '\x04\x00\x00\x00[\x01-\x40][\x01-\x40][a-zA-Z0-9]'; }
# vCPU N's cpu section header.
cpu_header() { # FILE N
	offsets "$1" "\\x04\\x00\\x00\\x00[\\x01-\\x40]\\x03cpu\\x00\\x00\\x00\\x$(printf '%02x' "$2")\\x00\\x00\\x00\\x0c" |
		head -1
}

qemu_case() { # NAME SRC: a copy; prints its path
	local f="$out/qemu/$1"
	mkdir -p "$out/qemu"
	cp "$2" "$f"
	echo "$f"
}

qemu_cut() { # SRC CUT WHY
	local f="$out/qemu/cut-$(basename "$1")-$2"
	mkdir -p "$out/qemu"
	head -c "$2" "$1" >"$f"
	add qemu "truncated at byte $2 ($3)" "$f"
}

qemu_flips() { # SRC OFFSET FIRST_BIT LAST_BIT WHAT
	local b f
	mkdir -p "$out/qemu"
	for ((b = $3; b <= $4; b++)); do
		f="$out/qemu/flip-$(basename "$1")-$2-$b"
		flip_file "$1" $(($2 + b / 8)) $((b % 8)) "$f"
		add qemu "$5: bit $b of byte $(($2 + b / 8)) flipped" "$f"
	done
}

make_qemu_cases() {
	local src vd off cut i f c0 c1 foot fo
	for src in "$qemu" "$nodesc"; do
		vd=$(vmdesc_offset "$src")
		for off in $(footers "$src"); do
			[ "$off" -lt "$vd" ] || continue
			qemu_cut "$src" "$off" "at a section footer"
			qemu_cut "$src" $((off + 5)) "after a section footer"
		done
		for off in $(random_offsets 40 48 "$vd" 11); do
			qemu_cut "$src" "$off" "random point"
		done
	done
	src=$qemu
	vd=$(vmdesc_offset "$src")
	for ((cut = 0; cut < 48; cut++)); do
		qemu_cut "$src" "$cut" "header and configuration"
	done
	for cut in $((vd + 1)) $((vd + 2)) $((vd + 3)) $((vd + 4)) $((vd + 5)) \
		$(random_offsets 10 $((vd + 6)) "$(size "$src")" 13); do
		qemu_cut "$src" "$cut" "inside the device description"
	done
	qemu_flips "$src" 0 0 31 "magic"
	qemu_flips "$src" 4 0 31 "version"
	# The footers of both cpu sections: their section id.
	for i in 0 1; do
		c0=$(cpu_header "$src" "$i")
		foot=""
		for fo in $(footers "$src"); do
			if [ "$fo" -gt "$c0" ]; then foot=$fo; break; fi
		done
		qemu_flips "$src" $((foot + 1)) 0 31 "cpu $i section footer id"
	done
	# The type byte of the first sections after the configuration.
	for off in $(full_headers "$src" | head -5); do
		qemu_flips "$src" "$off" 0 7 "section type"
	done
	# idstr lengths of FULL sections set to 0 and 255.
	for off in $(full_headers "$src" | head -10); do
		for v in 00 ff; do
			f=$(qemu_case "idlen-$off-$v" "$src")
			poke_hex "$f" $((off + 5)) "$v"
			add qemu "idstr length 0x$v in the section at byte $off" "$f"
		done
	done
	# The description length: past the end, one too many, zero.
	for v in 7fffffff $(printf '%08x' $(($(size "$src") - vd - 4))) 00000000; do
		f=$(qemu_case "vmdesc-len-$v" "$src")
		poke_hex "$f" $((vd + 1)) "$v"
		add qemu "description length 0x$v" "$f"
	done
	# The RAM size list: a total far beyond the blocks; a block name of length 0.
	off=$(offsets "$src" '\x01\x00\x00\x00[\x01-\x40]\x03ram\x00\x00\x00\x00\x00\x00\x00[\x04-\x09]' | head -1)
	f=$(qemu_case "ram-total" "$src")
	poke_hex "$f" $((off + 16)) "7fffffffff000004"
	add qemu "RAM total size far beyond its blocks" "$f"
	f=$(qemu_case "ram-block-name" "$src")
	poke_hex "$f" $((off + 24)) "00"
	add qemu "RAM block name of length 0" "$f"
	# The configuration's machine-type length.
	f=$(qemu_case "config-len" "$src")
	poke_hex "$f" 9 "0000ffff"
	add qemu "configuration length 0xffff" "$f"
	# env.exception_nr (main field at 1165 of cpu 0) out of the kernel's range.
	c0=$(cpu_header "$src" 0)
	for v in fffffffe 00000020 00000002 7fffffff 80000000; do
		f=$(qemu_case "exception-nr-$v" "$src")
		poke_hex "$f" $((c0 + 17 + 1165)) "$v"
		add qemu "env.exception_nr 0x$v" "$f"
	done
	# A second cpu section for vCPU 1: its bytes repeated after it.
	c1=$(cpu_header "$src" 1)
	for fo in $(footers "$src"); do
		if [ "$fo" -gt "$c1" ]; then foot=$fo; break; fi
	done
	f="$out/qemu/cpu1-twice"
	{ head -c $((foot + 5)) "$src"; tail -c +$((c1 + 1)) "$src" | head -c $((foot + 5 - c1));
	  tail -c +$((foot + 6)) "$src"; } >"$f"
	add qemu "cpu section of vCPU 1 twice" "$f"
}

make_qemu_subsection_cases() { # PATCHER
	local f
	for src in "$qemu" "$nodesc"; do
		f="$out/qemu/sub-twice-$(basename "$src")"
		"$1" "$src" "$f" 0 '+sub:cpu/msr_xfd=00000000000400000000000000040000' \
			'+sub:cpu/msr_xfd=00000000000000000000000000000000'
		add qemu "cpu/msr_xfd twice in cpu 0" "$f"
	done
}

# ---- Firecracker ----------------------------------------------------------

# MKFCSNAP (tests/fc/mkfcsnap) writes each release's state file; -L says
# where the vCPU states and each vCPU's kvm_vcpu_events lie.  Damage
# behind a recomputed CRC ("recrc") reaches the structure walk; damage
# without it must be caught by the checksum.

fc_case() { # NAME SRC [recrc]: a copy; prints its path
	local f="$out/firecracker/$1"
	mkdir -p "$out/firecracker"
	cp "$2" "$f"
	echo "$f"
}

fc_cut() { # SRC CUT RECRC WHY
	local f="$out/firecracker/cut-$(basename "$1")-$2-$3"
	mkdir -p "$out/firecracker"
	head -c "$2" "$1" >"$f"
	[ "$3" = no ] || "$MKFCSNAP" recrc "$f"
	add firecracker "truncated at byte $2 (CRC $([ "$3" = no ] && echo kept || echo recomputed); $4)" "$f"
}

fc_flips() { # SRC OFFSET FIRST_BIT LAST_BIT RECRC WHAT
	local b f
	mkdir -p "$out/firecracker"
	for ((b = $3; b <= $4; b++)); do
		f="$out/firecracker/flip-$(basename "$1")-$2-$b-$5"
		flip_file "$1" $(($2 + b / 8)) $((b % 8)) "$f"
		[ "$5" = no ] || "$MKFCSNAP" recrc "$f"
		add firecracker "$6: bit $b of byte $(($2 + b / 8)) flipped (CRC $([ "$5" = no ] && echo kept || echo recomputed))" "$f"
	done
}

make_firecracker_cases() {
	local rel src layout vcpus after size e0 e1 off
	for rel in v1.6 v1.7 v1.10 v1.14; do
		src="$out/firecracker-base-$rel"
		mkdir -p "$out/firecracker"
		layout=$("$MKFCSNAP" -e 14 -L "$rel" "$src")
		vcpus=$(awk '$1 == "vcpus" {print $2}' <<<"$layout")
		after=$(awk '$1 == "after" {print $2}' <<<"$layout")
		e0=$(awk '$1 == "events" && $2 == 0 {print $3}' <<<"$layout")
		e1=$(awk '$1 == "events" && $2 == 1 {print $3}' <<<"$layout")
		size=$(size "$src")
		# The checksum: any cut, any flipped byte it covers, its own bytes.
		for off in 0 4 8 16 "$vcpus" "$e0" "$e1" "$after" $((size - 8)) $((size - 1)) \
			$(random_offsets 6 1 "$size" 29); do
			fc_cut "$src" "$off" no "the checksum no longer matches"
		done
		fc_flips "$src" $((size - 8)) 0 7 no "CRC trailer"
		fc_flips "$src" "$e0" 0 7 no "events (the CRC covers them)"
		# The magic and the header.
		fc_flips "$src" 0 0 15 no "magic"
		# Behind a valid CRC: cuts at the structures, and in them.
		for off in $((vcpus + 4)) $((vcpus + 8)) "$e0" $((e0 + 32)) "$e1" $((e1 + 63)) \
			$((after - 1)) $(random_offsets 8 "$vcpus" "$after" 31); do
			fc_cut "$src" "$off" yes "inside the vCPU states"
		done
		# The vCPU count (the u64 before the states): other counts, same bytes.
		fc_flips "$src" "$vcpus" 0 3 yes "vCPU count"
		# kvm_vcpu_events the kernel would reject: vector >= 32, unknown flags.
		fc_flips "$src" $((e1 + 1)) 5 7 yes "exception.nr of vCPU 1 (its #PF)"
		fc_flips "$src" $((e1 + 20)) 7 15 yes "flags of vCPU 1"
		rm -f "$src"
	done
	make_firecracker_schema_cases
}

fc_poke64() { # SRC OFFSET VALUE WHY FIELD: a copy with the u64 at OFFSET set, CRC recomputed
	local f="$out/firecracker/u64-$(basename "$1")-$2-$3"
	cp "$1" "$f"
	poke_hex "$f" "$2" "$(printf '%016x' "$3" | sed 's/\(..\)/\1 /g' | awk '{for (i = NF; i > 0; i--) printf "%s", $i}')"
	"$MKFCSNAP" recrc "$f"
	add firecracker "$4 (CRC recomputed)" "$f" offset "$5"
}

fc_poke32() { # SRC OFFSET VALUE WHY FIELD
	local f="$out/firecracker/u32-$(basename "$1")-$2-$3"
	cp "$1" "$f"
	poke_hex "$f" "$2" "$(le32_hex "$3")"
	"$MKFCSNAP" recrc "$f"
	add firecracker "$4 (CRC recomputed)" "$f" offset "$5"
}

fc_resize() { # SRC BYTES WHY FIELD: BYTES (1 or -1) more before the CRC trailer, CRC recomputed
	local f="$out/firecracker/resize-$(basename "$1")-$2" body
	body=$(($(size "$1") - 8))
	if [ "$2" -gt 0 ]; then
		{ head -c "$body" "$1"; printf '\0'; head -c 8 /dev/zero; } >"$f"
	else
		{ head -c $((body - 1)) "$1"; head -c 8 /dev/zero; } >"$f"
	fi
	"$MKFCSNAP" recrc "$f"
	add firecracker "$3 (CRC recomputed)" "$f" offset "$4"
}

# For every release (each versionize data version, each bincode tag): the
# vCPU count +1 and +2, a cpuid and an MSR entry count of 2^40, and a kvm
# structure's length changed by one each way, behind a valid CRC.  Bincode
# from v1.8 has a u64 byte length before each kvm structure (vm_state.
# pitstate and vCPU 1's lapic are changed); v1.7 and versionize have none,
# so there the length of a kvm structure is its own count: kvm_cpuid2.nent.
make_firecracker_schema_cases() {
	local rel src layout vcpus cpuid1 msrs1 nent1 pit lapic1 d msrs
	for rel in v0.23 v0.24 v0.25 v1.0 v1.1 v1.2 v1.3 v1.4 v1.5 v1.6 $("$MKFCSNAP" tags | cut -d' ' -f1); do
		src="$out/firecracker-schema-$rel"
		layout=$("$MKFCSNAP" -e 14 -L "$rel" "$src")
		vcpus=$(awk '$1 == "vcpus" {print $2}' <<<"$layout")
		cpuid1=$(awk '$1 == "cpuid" && $2 == 1 {print $3}' <<<"$layout")
		msrs1=$(awk '$1 == "msrs" && $2 == 1 {print $3}' <<<"$layout")
		nent1=$(awk '$1 == "nent" && $2 == 1 {print $3}' <<<"$layout")
		pit=$(awk '$1 == "kvmlen" && $2 == "vm_state.pitstate" {print $3}' <<<"$layout")
		lapic1=$(awk '$1 == "kvmlen" && $2 == "vcpu_states[1].lapic" {print $3}' <<<"$layout")
		fc_poke64 "$src" "$vcpus" 3 "$rel: vCPU count 2 -> 3" "(vcpu_states"
		fc_poke64 "$src" "$vcpus" 4 "$rel: vCPU count 2 -> 4" "(vcpu_states"
		fc_poke64 "$src" "$cpuid1" $((1 << 40)) "$rel: vCPU 1 cpuid entry count 2^40" \
			"(vcpu_states[1].cpuid)"
		case $rel in
		v0.2[345] | v1.[01]) msrs=msrs ;; # versionize VcpuState 1 and 2: one Msrs
		*) msrs="saved_msrs[0]" ;;
		esac
		fc_poke64 "$src" "$msrs1" $((1 << 40)) "$rel: vCPU 1 MSR entry count 2^40" \
			"(vcpu_states[1].$msrs)"
		if [ -n "$pit" ]; then
			for d in 1 -1; do
				fc_poke64 "$src" "$pit" $((112 + d)) "$rel: vm_state.pitstate length $((112 + d))" \
					"(vm_state.pitstate)"
				fc_poke64 "$src" "$lapic1" $((1024 + d)) "$rel: vCPU 1 lapic length $((1024 + d))" \
					"(vcpu_states[1].lapic)"
			done
		else
			fc_poke32 "$src" "$nent1" 4 "$rel: vCPU 1 kvm_cpuid2.nent 3 -> 4" "(vcpu_states[1].cpuid)"
			fc_poke32 "$src" "$nent1" 2 "$rel: vCPU 1 kvm_cpuid2.nent 3 -> 2" "(vcpu_states[1].cpuid)"
		fi
		# Bincode is walked to the trailer: a byte more or less before it is malformed.
		case $rel in
		v1.[7-9].* | v1.1[0-4].*)
			fc_resize "$src" 1 "$rel: a byte more before the checksum" "(end of state)"
			fc_resize "$src" -1 "$rel: a byte less before the checksum" ""
			;;
		esac
		rm -f "$src"
	done
}

# ---- Cloud Hypervisor ------------------------------------------------------

# CHV_GEN (tests/chv/chv-gen) writes snapshot directories as Cloud
# Hypervisor's serializer does; --replace/--with edits vCPU 0's state text
# (a #PF) before it is encoded, in either layout family.

chv_make() { # NAME LAYOUT [chv-gen options...]: a snapshot directory; prints its path
	local d="$out/cloud-hypervisor/$1" layout=$2
	shift 2
	rm -rf "$d"
	mkdir -p "$out/cloud-hypervisor"
	"$CHV_GEN" --layout="$layout" "$@" "$d" pf clean >/dev/null
	echo "$d"
}

chv_inner() { # LAYOUT WHY FROM TO
	local d
	d=$(chv_make "inner-$1-$(printf '%s' "$3$4" | md5sum | cut -c1-12)" "$1" --replace="$3" --with="$4")
	add cloud-hypervisor "$1: $2" "$d"
}

make_chv_cases() {
	local layout base size off f b c ch
	for layout in v53 v29; do
		base=$(chv_make "base-$layout" "$layout")
		size=$(size "$base/state.json")
		for off in $(random_offsets 30 1 "$size" 37); do
			f=$(chv_make "cut-$layout-$off" "$layout")
			truncate -s "$off" "$f/state.json"
			add cloud-hypervisor "$layout: state.json truncated at byte $off" "$f"
		done
		# A bit of a structural character ({}[]:,"), anywhere in the
		# file, such that it becomes no character of a number (a ',' that
		# turns '.' joins two numbers into one).
		c=0
		for off in $(random_offsets 400 0 "$size" 41); do
			ch=$(od -An -c -j "$off" -N1 "$base/state.json" | tr -d ' ')
			case "$ch" in '{' | '}' | '[' | ']' | ':' | ',' | '"') ;; *) continue ;; esac
			b=$(((off * 7) % 8))
			case "$(printf "\\$(printf '%03o' $(($(byte_at "$base/state.json" "$off") ^ (1 << b))))")" in
			[0-9.eE+-]) b=$(((b + 3) % 8)) ;;
			esac
			f=$(chv_make "flip-$layout-$off" "$layout")
			flip_file "$base/state.json" "$off" "$b" "$f/state.json.new"
			mv "$f/state.json.new" "$f/state.json"
			add cloud-hypervisor "$layout: bit $b of '$ch' at byte $off flipped" "$f"
			c=$((c + 1))
			[ "$c" -lt 30 ] || break
		done
		for m in regs sregs vcpu_events msrs xcrs; do
			chv_inner "$layout" "member $m missing" "\"$m\":" "\"${m}_gone\":"
		done
		chv_inner "$layout" "member regs twice" '"regs":' '"regs":[0],"regs":'
		chv_inner "$layout" "an MSR value as a string" '"data":7000000000' '"data":"7000000000"'
		chv_inner "$layout" "an MSR value above 2^64" '"data":7000000000' '"data":18446744073709551616'
		chv_inner "$layout" "an MSR value negative" '"data":7000000000' '"data":-7000000000'
		chv_inner "$layout" "an MSR index as a string" '"index":16,' '"index":"16",'
	done
	# v39 and later: the structures as arrays of byte values.
	for v in 256 -14 '"14"' 1.5 14e0 null true '[14]' '{}'; do
		chv_inner v53 "vcpu_events byte 1 is $v" '"vcpu_events":[1,14' "\"vcpu_events\":[1,$v"
	done
	chv_inner v53 "vcpu_events of 63 bytes" '"vcpu_events":[1,14,' '"vcpu_events":[1,'
	chv_inner v53 "vcpu_events of 65 bytes" '"vcpu_events":[1,14,' '"vcpu_events":[1,14,14,'
	chv_inner v53 "vcpu_events an object" '"vcpu_events":[1,14,' '"vcpu_events":{},"x":[1,14,'
	# v29 to v38: the structures as objects with named fields.
	for v in 256 -14 '"14"' 1.5 null '[14]'; do
		chv_inner v29 "exception.nr is $v" '"injected":1,"nr":14' "\"injected\":1,\"nr\":$v"
	done
	chv_inner v29 "exception.error_code missing" '"error_code":2' '"errcode":2'
	chv_inner v29 "exception.nr twice" '"nr":14,' '"nr":14,"nr":0,'
	chv_inner v29 "an events flag the kernel does not know" '"flags":13' '"flags":4096'
	chv_inner v29 "rip negative" '"rip":' '"rip":-'
}

# ---- libvirt ------------------------------------------------------------

lv_cut() { # SRC CUT WHY
	local f="$out/libvirt/cut-$(basename "$1")-$2"
	mkdir -p "$out/libvirt"
	head -c "$2" "$1" >"$f"
	add libvirt "truncated at byte $2 ($3)" "$f"
}

lv_case() { # NAME SRC
	local f="$out/libvirt/$1"
	mkdir -p "$out/libvirt"
	cp "$2" "$f"
	echo "$f"
}

make_libvirt_cases() {
	local off f v b xml_end data_len
	for ((off = 0; off < 92; off += 4)); do
		lv_cut "$lvraw" "$off" "in the header"
	done
	data_len=$(od -An -tu4 -j 20 -N4 "$lvraw" | tr -d ' ')
	for off in 100 400 $((92 + data_len - 10)) $((92 + data_len)); do
		lv_cut "$lvraw" "$off" "in the XML, cookie or padding"
	done
	for off in $(random_offsets 12 $((92 + data_len + 8)) "$(size "$lvraw")" 17); do
		lv_cut "$lvraw" "$off" "in the stream"
	done
	for off in $(random_offsets 12 100 "$(size "$lvgz")" 19); do
		lv_cut "$lvgz" "$off" "in the gzip data"
	done
	for b in $(seq 0 31) $(seq 96 127); do
		f="$out/libvirt/magic-bit$b"
		flip_file "$lvraw" $((b / 8)) $((b % 8)) "$f"
		add libvirt "magic: bit $b flipped" "$f"
	done
	for b in $(seq 0 31); do
		f="$out/libvirt/version-bit$b"
		flip_file "$lvraw" $((16 + b / 8)) $((b % 8)) "$f"
		add libvirt "version: bit $b flipped" "$f"
	done
	for v in 4294967295 $(($(size "$lvraw") - 91)) $(($(size "$lvraw") * 2)); do
		f=$(lv_case "data-len-$v" "$lvraw")
		poke_hex "$f" 20 "$(le32_hex "$v")"
		add libvirt "data_len $v" "$f"
	done
	for v in 7 8 100 4294967295; do
		f=$(lv_case "format-$v" "$lvraw")
		poke_hex "$f" 28 "$(le32_hex "$v")"
		add libvirt "compression format $v" "$f"
	done
	f=$(lv_case "format-gzip-but-raw" "$lvraw")
	poke_hex "$f" 28 "$(le32_hex 1)"
	add libvirt "says gzip, holds a raw stream" "$f"
	for v in 4294967295 $((data_len + 1)); do
		f=$(lv_case "cookie-offset-$v" "$lvraw")
		poke_hex "$f" 32 "$(le32_hex "$v")"
		add libvirt "cookieOffset $v" "$f"
	done
	# The gzip data: its magic, and single bytes in the deflate body.
	xml_end=$((92 + $(od -An -tu4 -j 20 -N4 "$lvgz" | tr -d ' ')))
	f=$(lv_case "gzip-magic" "$lvgz")
	poke_hex "$f" "$xml_end" "1f8c"
	add libvirt "gzip magic broken" "$f"
	for off in $(random_offsets 10 $((xml_end + 20)) $(($(size "$lvgz") - 8)) 23); do
		f=$(lv_case "gzip-body-$off" "$lvgz")
		poke_hex "$f" "$off" "$(printf '%02x' $(($(byte_at "$lvgz" "$off") ^ 0xff)))"
		add libvirt "gzip data byte $off inverted" "$f"
	done
}

make_kvmdir_cases
[ -z "${MKFCSNAP:-}" ] || make_firecracker_cases
[ -z "${CHV_GEN:-}" ] || make_chv_cases
if [ -n "$qemu" ]; then
	make_qemu_cases
	[ -z "${QEMU_PATCH:-}" ] || make_qemu_subsection_cases "$QEMU_PATCH"
	make_libvirt_cases
fi
cut -f1 "$out/manifest" | sort | uniq -c | awk '{printf "%s %s\n", $2, $1}'
